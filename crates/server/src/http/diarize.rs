//! Who spoke when in a recording (a Voxprint extension, `service/diarize.rs`): segments by
//! speaker, named after the group's voiceprints where they match.

use axum::extract::State;
use voxprint_api::Diarization;

use super::auth::Caller;
use super::envelope::Success;
use super::error::ApiError;
use super::groups::GroupPath;
use super::upload::{optional_integer, LongUploadForm};
use super::AppState;
use crate::domain::Permission;
use crate::service::voiceprints::Upload;

/// Most speakers `max_speakers` may ask for: more than a recording of this length could hold.
const MAX_SPEAKERS: i64 = 100;

pub async fn diarize(
    State(state): State<AppState>,
    caller: Caller,
    GroupPath(group_id): GroupPath,
    LongUploadForm(mut form): LongUploadForm,
) -> Result<Success<Diarization>, ApiError> {
    caller.require(Permission::DiarizeVoiceprintGroup)?;
    let max_speakers = optional_integer(form.text("max_speakers"), "max_speakers", 1, MAX_SPEAKERS)?;
    let raw = form.raw_pcm()?;
    let file = form.require_file()?;
    let upload = Upload { bytes: file.bytes, raw };
    let max_speakers = max_speakers.map(|m| m as usize);
    Ok(Success(state.voxprint.diarize(caller.actor(), group_id, upload, max_speakers).await?))
}
