//! The audit trail of the API: one entry per write, identification, verification, comparison,
//! diarization, live stream and audio download, whatever its outcome, stored in the database
//! (`audit_log`, read with `voxprint admin audit`).
//!
//! [`record`] is a middleware: it knows the route, its path IDs, the client's address (see
//! `client_address`) and, once the handler has answered, the Coze code ([`CozeCode`], set where
//! the envelope is built). The caller and the IDs a request creates are only known inside the
//! handler, which notes them in a task-local ([`note_caller`], [`note_created`]). Nothing else
//! is taken from the request: no audio, no embeddings, no names, and never the token itself
//! (only its ID).

use std::cell::RefCell;

use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::auth::Caller;
use super::client_address::ClientAddress;
use super::AppState;
use crate::storage::database::{now_seconds, AuditEntry};

/// The Coze code a response carries (0 for success), for the audit trail.
#[derive(Debug, Clone, Copy)]
pub struct CozeCode(pub i64);

/// What the handler learnt that the middleware cannot see.
#[derive(Default)]
struct Note {
    caller: Option<(i64, i64, i64)>,
    created: Option<i64>,
}

tokio::task_local! {
    static NOTE: RefCell<Note>;
}

/// Records who made the request being served (no effect outside an audited request).
pub fn note_caller(caller: &Caller) {
    let _ = NOTE.try_with(|note| note.borrow_mut().caller = Some((caller.team_id, caller.user_id, caller.token_id)));
}

/// Records the ID of what the request created.
pub fn note_created(id: i64) {
    let _ = NOTE.try_with(|note| note.borrow_mut().created = Some(id));
}

/// The audited action of a route, by method and route pattern; `None` for reads of lists and
/// everything else that changes and reveals nothing biometric.
fn action_of(method: &Method, route: &str) -> Option<&'static str> {
    const GROUPS: &str = "/v1/audio/voiceprint_groups";
    const GROUP: &str = "/v1/audio/voiceprint_groups/{group_id}";
    const FEATURES: &str = "/v1/audio/voiceprint_groups/{group_id}/features";
    const FEATURE: &str = "/v1/audio/voiceprint_groups/{group_id}/features/{feature_id}";
    const SAMPLES: &str = "/v1/audio/voiceprint_groups/{group_id}/features/{feature_id}/samples";
    const SAMPLE: &str = "/v1/audio/voiceprint_groups/{group_id}/features/{feature_id}/samples/{sample_id}";
    Some(match (method.as_str(), route) {
        ("POST", GROUPS) => "create_group",
        ("PUT", GROUP) => "update_group",
        ("DELETE", GROUP) => "delete_group",
        ("POST", FEATURES) => "create_voiceprint",
        ("PUT", FEATURE) => "update_voiceprint",
        ("DELETE", FEATURE) => "delete_voiceprint",
        ("POST", SAMPLES) => "add_sample",
        ("DELETE", SAMPLE) => "delete_sample",
        ("POST", "/v1/audio/voiceprint_groups/{group_id}/speaker_identify") => "speaker_identify",
        ("POST", "/v1/audio/voiceprint_groups/{group_id}/features/{feature_id}/verify") => "verify_voiceprint",
        ("POST", "/v1/audio/voiceprints/compare") => "compare_voiceprints",
        ("POST", "/v1/audio/voiceprint_groups/{group_id}/speaker_diarize") => "speaker_diarize",
        ("GET", "/v1/audio/voiceprint_groups/{group_id}/speaker_stream") => "speaker_stream",
        ("GET", route) if route.starts_with(super::audio::AUDIO_PATH) => "download_audio",
        _ => return None,
    })
}

/// Middleware: serves the request and, for an audited route, appends its entry. A failure to
/// append is logged and does not fail the answer, which is already decided.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map(|path| path.as_str().to_owned());
    let Some(action) = route.as_deref().and_then(|route| action_of(request.method(), route)) else {
        return next.run(request).await;
    };
    let peer = request.extensions().get::<ClientAddress>().copied();
    let client = state.settings.trusted_proxies.describe(peer, request.headers());
    let (mut parts, body) = request.into_parts();
    let params = RawPathParams::from_request_parts(&mut parts, &state).await.ok();
    let mut resources: Vec<String> = params
        .iter()
        .flat_map(|params| params.iter())
        .map(|(name, value)| format!("{}={value}", name.strip_suffix("_id").unwrap_or(name)))
        .collect();
    let request = Request::from_parts(parts, body);
    let (response, note) = NOTE
        .scope(RefCell::default(), async {
            let response = next.run(request).await;
            (response, NOTE.with(|note| note.take()))
        })
        .await;
    if let Some(id) = note.created {
        resources.push(format!("created={id}"));
    }
    let code = response.extensions().get::<CozeCode>().map_or(0, |code| code.0);
    let (team_id, user_id, token_id) = note.caller.map_or((None, None, None), |(t, u, k)| (Some(t), Some(u), Some(k)));
    let entry = AuditEntry {
        at: now_seconds(),
        team_id,
        user_id,
        token_id,
        action: action.to_owned(),
        resources: resources.join(" "),
        code,
        logid: super::envelope::current_logid(),
        client,
    };
    append(&state, &entry).await;
    response
}

/// Appends `entry`; a failure is logged and counted, not returned.
async fn append(state: &AppState, entry: &AuditEntry) {
    if let Err(err) = state.voxprint.store.append_audit(&state.voxprint.ids, entry).await {
        state.voxprint.metrics.audit_failures.inc();
        tracing::error!(%err, action = entry.action, "could not append to the audit trail");
    }
}

/// Appends the entry of something a live stream did after its request was answered (its caller
/// authenticates in its first message, after the upgrade).
pub async fn append_for_stream(state: &AppState, caller: &Caller, group_id: i64, code: i64, client: String) {
    let entry = AuditEntry {
        at: now_seconds(),
        team_id: Some(caller.team_id),
        user_id: Some(caller.user_id),
        token_id: Some(caller.token_id),
        action: "speaker_stream".to_owned(),
        resources: format!("group={group_id}"),
        code,
        logid: super::envelope::current_logid(),
        client,
    };
    append(state, &entry).await;
}
