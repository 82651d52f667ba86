//! The HTTP API: routing, shared state and the pieces every handler uses.
//!
//! A request flows: `envelope::assign_logid` → `auth::Caller` (token → user, team,
//! permissions) → parsing into domain types → the store → an `envelope::Success`/`Done`, or an
//! `error::ApiError` that `error.rs` alone turns into a Coze code and HTTP status.

mod assets;
pub mod audio;
mod audit;
mod auth;
mod client_address;
mod connection_io;
pub mod connections;
mod diarize;
mod envelope;
mod error;
mod features;
mod groups;
mod identify;
mod json;
mod observed_body;
pub mod openapi;
mod operations;
pub mod ratelimit;
mod samples;
mod stream;
mod upload;
mod users;
mod verify;
mod views;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::header::{HOST, X_CONTENT_TYPE_OPTIONS};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use axum::Router;

use crate::service::signing::UrlSigner;
use crate::service::Voxprint;
use crate::storage::readiness::Readiness;
pub use client_address::TrustedProxies;
pub use error::ApiError;
use ratelimit::RateLimiter;

/// Settings of the HTTP layer, fixed at start (the service's are in `service::Settings`).
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// Base of absolute URLs in responses; `None` = taken from the request's Host header.
    pub public_url: Option<String>,
    /// Largest accepted audio upload, in bytes.
    pub max_audio_bytes: usize,
    /// Largest upload speaker_diarize accepts (long recordings), in bytes.
    pub max_diarize_bytes: usize,
    /// How long an `audio_url` stays valid.
    pub audio_url_ttl_seconds: i64,
    /// How long a request may take before it is answered with 4009.
    pub request_timeout: std::time::Duration,
    /// The same for speaker_diarize.
    pub diarize_timeout: std::time::Duration,
    /// Whose `X-Forwarded-For` names the client in the audit trail.
    pub trusted_proxies: TrustedProxies,
}

/// What the handlers share: the service, and what only HTTP needs (links, limits, readiness).
#[derive(Clone)]
pub struct AppState {
    pub voxprint: Voxprint,
    pub settings: Arc<ApiSettings>,
    pub signer: UrlSigner,
    pub limiter: Arc<RateLimiter>,
    pub readiness: Arc<Readiness>,
    /// Turns true when the server stops: live streams end.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}

pub fn router(state: AppState) -> Router {
    // Uploads may be as large as the audio limit plus the multipart framing and text fields;
    // past that the stream is cut and the request answered with 4302.
    let upload_limit = DefaultBodyLimit::max(state.settings.max_audio_bytes + 64 * 1024);
    let uploads = Router::new()
        .route("/v1/audio/voiceprint_groups/{group_id}/features", post(features::create).get(features::list))
        .route(
            "/v1/audio/voiceprint_groups/{group_id}/features/{feature_id}",
            put(features::update).delete(features::delete),
        )
        .route("/v1/audio/voiceprint_groups/{group_id}/speaker_identify", post(identify::identify))
        .route("/v1/audio/voiceprint_groups/{group_id}/features/{feature_id}/verify", post(verify::verify))
        .route(
            "/v1/audio/voiceprint_groups/{group_id}/features/{feature_id}/samples",
            post(samples::add).get(samples::list),
        )
        .route(
            "/v1/audio/voiceprint_groups/{group_id}/features/{feature_id}/samples/{sample_id}",
            delete(samples::delete),
        )
        .layer(upload_limit);
    // Compare takes two recordings, each up to the audio limit.
    let compare = Router::new()
        .route("/v1/audio/voiceprints/compare", post(verify::compare))
        .layer(DefaultBodyLimit::max(2 * state.settings.max_audio_bytes + 64 * 1024));
    // Diarization takes long recordings.
    let diarize = Router::new()
        .route("/v1/audio/voiceprint_groups/{group_id}/speaker_diarize", post(diarize::diarize))
        .layer(DefaultBodyLimit::max(state.settings.max_diarize_bytes + 64 * 1024));
    Router::new()
        .route("/v1/audio/voiceprint_groups", get(groups::list).post(groups::create))
        .route("/v1/audio/voiceprint_groups/{group_id}", put(groups::update).delete(groups::delete))
        .merge(uploads)
        .merge(compare)
        .merge(diarize)
        .route("/v1/audio/voiceprint_groups/{group_id}/speaker_stream", get(stream::stream))
        .route("/v1/users/me", get(users::me))
        .route(&format!("{}/{{feature_id}}", audio::AUDIO_PATH), get(audio::download))
        .route(assets::VOICEPRINT_ICON_PATH, get(assets::voiceprint_icon))
        .route("/console", get(assets::console))
        .route("/console/", get(assets::console))
        .route(assets::CONSOLE_SCRIPT_PATH, get(assets::console_script))
        .route(assets::CONSOLE_STYLES_PATH, get(assets::console_styles))
        .route(assets::GROUP_ICON_PATH, get(assets::group_icon))
        .route(assets::AVATAR_PATH, get(assets::avatar))
        .route("/healthz", get(operations::healthz))
        .route("/readyz", get(operations::readyz))
        .route("/metrics", get(operations::metrics))
        .route("/openapi.json", get(operations::openapi))
        .fallback(no_route)
        .method_not_allowed_fallback(method_not_allowed)
        // Inner to outer: the time limit, the metrics (which see the matched route), the audit
        // trail, the logid.
        .layer(axum::middleware::from_fn_with_state(state.clone(), operations::time_limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), operations::track_metrics))
        .layer(axum::middleware::from_fn_with_state(state.clone(), audit::record))
        .with_state(state)
        .layer(axum::middleware::from_fn(envelope::assign_logid))
        .layer(axum::middleware::map_response(no_sniffing))
}

/// Every answer is to be taken as the content type it declares: a browser must not render a
/// stored recording or an error as a page whatever bytes it holds.
async fn no_sniffing(mut response: Response) -> Response {
    response.headers_mut().insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

async fn no_route(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::NoRoute(format!("no such endpoint: {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::MethodNotAllowed(format!("method {method} is not allowed on {}", uri.path()))
}

/// The values of the named query parameters, in the order asked: the last non-empty occurrence
/// wins (an empty value counts as absent), and other parameters are ignored (the Node SDK adds
/// its own).
pub fn query_values<const N: usize>(raw: Option<&str>, names: [&str; N]) -> [Option<String>; N] {
    let mut values = [const { None }; N];
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        if value.is_empty() {
            continue;
        }
        if let Some(index) = names.iter().position(|name| *name == key) {
            values[index] = Some(value.into_owned());
        }
    }
    values
}

/// The absolute base URL for links in responses (icons, avatars, audio).
pub struct BaseUrl(pub String);

impl FromRequestParts<AppState> for BaseUrl {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<BaseUrl, ApiError> {
        if let Some(url) = &state.settings.public_url {
            return Ok(BaseUrl(url.clone()));
        }
        // Only a well-formed host[:port] is echoed into URLs.
        let host = parts
            .headers
            .get(HOST)
            .and_then(|value| value.to_str().ok())
            .filter(|host| !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
            .unwrap_or("localhost");
        Ok(BaseUrl(format!("http://{host}")))
    }
}
