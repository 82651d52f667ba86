//! Endpoint 9: who of this group is speaking? (`service/identify.rs`)
//!
//! Beyond Coze, the answer carries the open-set decision, so that clients need not know the
//! threshold: `threshold` (the server's `--match-threshold`) and, per item, `matched`.

use axum::extract::State;
use voxprint_api::Identification;

use super::auth::Caller;
use super::envelope::Success;
use super::error::ApiError;
use super::groups::GroupPath;
use super::upload::{optional_integer, UploadForm};
use super::AppState;
use crate::domain::Permission;
use crate::service::voiceprints::Upload;

pub async fn identify(
    State(state): State<AppState>,
    caller: Caller,
    GroupPath(group_id): GroupPath,
    mut form: UploadForm,
) -> Result<Success<Identification>, ApiError> {
    caller.require(Permission::IdentifyInVoiceprintGroup)?;
    // A missing group is reported before anything about the form.
    state.voxprint.visible_group(caller.actor(), group_id).await?;
    let top_k = optional_integer(form.text("top_k"), "top_k", 1, i64::from(u32::MAX))?;
    let raw = form.raw_pcm()?;
    let file = form.require_file()?;
    let upload = Upload { bytes: file.bytes, raw };
    let identification = state.voxprint.identify(caller.actor(), group_id, upload, top_k.map(|k| k as usize)).await?;
    Ok(Success(identification))
}
