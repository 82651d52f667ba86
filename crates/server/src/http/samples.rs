//! A voiceprint's recordings (Voxprint extension, `service/samples.rs`): add one, list them
//! with their quality and download links, remove one.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use voxprint_api::{Enrolled, Page as ListPage, Quality, Sample};

use super::auth::Caller;
use super::envelope::{Done, Success};
use super::error::ApiError;
use super::features::FeaturePath;
use super::upload::UploadForm;
use super::{audio, AppState, BaseUrl};
use crate::domain::{Id, Permission};
use crate::service::voiceprints::Upload;

pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    FeaturePath { group_id, feature_id }: FeaturePath,
    mut form: UploadForm,
) -> Result<Success<Enrolled>, ApiError> {
    caller.require(Permission::UpdateVoiceprintFeature)?;
    let raw = form.raw_pcm()?;
    let file = form.require_file()?;
    let upload = Upload { bytes: file.bytes, raw };
    let (id, quality) = state.voxprint.add_sample(caller.actor(), group_id, feature_id, upload).await?;
    super::audit::note_created(id.0);
    Ok(Success(Enrolled { id, quality }))
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    BaseUrl(base_url): BaseUrl,
    FeaturePath { group_id, feature_id }: FeaturePath,
) -> Result<Success<ListPage<Sample>>, ApiError> {
    caller.require(Permission::ListVoiceprintFeature)?;
    let rows = state.voxprint.list_samples(caller.actor(), group_id, feature_id).await?;
    let items: Vec<Sample> = rows
        .into_iter()
        .map(|row| Sample {
            id: Id(row.id),
            audio_url: audio::signed_url(&state, &base_url, row.link_id, &row.audio_key),
            // Recordings stored before their measures were kept have none ('').
            quality: serde_json::from_str::<Quality>(&row.quality).ok(),
            created_at: row.created_at,
        })
        .collect();
    let total = items.len() as i64;
    Ok(Success(ListPage { items, total }))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    SamplePath { group_id, feature_id, sample_id }: SamplePath,
) -> Result<Done, ApiError> {
    caller.require(Permission::UpdateVoiceprintFeature)?;
    state.voxprint.delete_sample(caller.actor(), group_id, feature_id, sample_id).await?;
    Ok(Done)
}

/// The `{group_id}/features/{feature_id}/samples/{sample_id}` path segments, parsed.
pub struct SamplePath {
    group_id: Id,
    feature_id: Id,
    sample_id: Id,
}

impl<S: Send + Sync> FromRequestParts<S> for SamplePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<SamplePath, ApiError> {
        let Path((group, feature, sample)) =
            Path::<(String, String, String)>::from_request_parts(parts, state)
                .await
                .map_err(|err| ApiError::InvalidParameter(format!("invalid path: {err}")))?;
        Ok(SamplePath {
            group_id: Id::parse(&group, "group_id")?,
            feature_id: Id::parse(&feature, "feature_id")?,
            sample_id: Id::parse(&sample, "sample_id")?,
        })
    }
}
