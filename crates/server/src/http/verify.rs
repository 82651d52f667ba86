//! Verification and comparison (Voxprint extensions, `service/verify.rs`): "is this the
//! voiceprint's speaker?" and "are these two recordings the same speaker?", answered on
//! speaker_identify's calibrated scale with the server's threshold.

use axum::extract::State;
use voxprint_api::{Comparison, Verification};

use super::auth::Caller;
use super::envelope::Success;
use super::error::ApiError;
use super::features::FeaturePath;
use super::upload::UploadForm;
use super::AppState;
use crate::domain::Permission;
use crate::service::voiceprints::Upload;

pub async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    FeaturePath { group_id, feature_id }: FeaturePath,
    mut form: UploadForm,
) -> Result<Success<Verification>, ApiError> {
    caller.require(Permission::VerifyVoiceprint)?;
    let raw = form.raw_pcm()?;
    let file = form.require_file()?;
    let upload = Upload { bytes: file.bytes, raw };
    Ok(Success(state.voxprint.verify(caller.actor(), group_id, feature_id, upload).await?))
}

pub async fn compare(
    State(state): State<AppState>,
    caller: Caller,
    mut form: UploadForm,
) -> Result<Success<Comparison>, ApiError> {
    caller.require(Permission::CompareVoiceprints)?;
    let (raw, raw2) = (form.raw_pcm()?, form.raw_pcm2()?);
    let file = form.require_file()?;
    let file2 = form
        .file2
        .take()
        .ok_or_else(|| ApiError::EmptyFile("no second recording: send it as the multipart field `file2`".into()))?;
    let first = Upload { bytes: file.bytes, raw };
    let second = Upload { bytes: file2.bytes, raw: raw2 };
    Ok(Success(state.voxprint.compare(first, second).await?))
}
