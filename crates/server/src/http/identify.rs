//! Endpoint 9: who of this group is speaking? The upload is embedded once and scored against
//! every voiceprint of the group (see `speaker/scoring.rs` for the cache and the score).
//!
//! Beyond Coze, the answer carries the open-set decision, so that clients need not know the
//! threshold: `threshold` (the server's `--match-threshold`) and, per item, `matched`.

use axum::extract::State;
use serde::Serialize;

use super::auth::Caller;
use super::envelope::Success;
use super::error::ApiError;
use super::groups::{visible_group, GroupPath};
use super::upload::{optional_integer, UploadForm};
use super::AppState;
use crate::domain::{Id, Permission};
use crate::speaker::workers::Purpose;

#[derive(Serialize)]
pub struct Identification {
    feature_score_list: Vec<FeatureScore>,
    /// Voxprint extension: the decision threshold on `score`, present even when `top_k` cut the
    /// list or the group is empty.
    threshold: f64,
}

#[derive(Serialize)]
struct FeatureScore {
    feature_id: Id,
    feature_name: String,
    feature_desc: String,
    score: f64,
    /// Voxprint extension: `score >= threshold`, i.e. this could be the speaker.
    matched: bool,
}

pub async fn identify(
    State(state): State<AppState>,
    caller: Caller,
    GroupPath(group_id): GroupPath,
    mut form: UploadForm,
) -> Result<Success<Identification>, ApiError> {
    caller.require(Permission::IdentifyInVoiceprintGroup)?;
    visible_group(&state, &caller, group_id).await?;
    let top_k = optional_integer(form.text("top_k"), "top_k", 1, i64::from(u32::MAX))?;
    let raw = form.raw_pcm()?;
    let file = form.require_file()?;
    let probe = state.embedder.embed(file.bytes, raw, Purpose::Probe).await?;
    let group = state.speakers.group(&state.store, group_id.0).await?;
    state.metrics.identifications.inc();
    let limit = top_k.map_or(usize::MAX, |k| k as usize);
    let threshold = state.settings.match_threshold;
    let feature_score_list = group
        .rank(&probe.embedding)
        .into_iter()
        .take(limit)
        .map(|found| FeatureScore {
            feature_id: Id(found.voiceprint.id),
            feature_name: found.voiceprint.name.clone(),
            feature_desc: found.voiceprint.description.clone(),
            score: found.score,
            matched: found.score >= threshold,
        })
        .collect();
    Ok(Success(Identification { feature_score_list, threshold }))
}
