//! Endpoints 5–8: enroll, update, list and delete the voiceprints of a group
//! (`service/voiceprints.rs`). The enroll answer adds the recording's quality measures and
//! warnings to Coze's `{id}`.

use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use voxprint_api::{Enrolled, Feature, Page as ListPage};

use super::auth::Caller;
use super::envelope::{Done, Success};
use super::error::ApiError;
use super::groups::GroupPath;
use super::upload::UploadForm;
use super::views::user_info;
use super::{audio, query_values, AppState, BaseUrl};
use crate::domain::{Description, Id, Name, Page, Permission};
use crate::service::voiceprints::{Changes, Upload};
use crate::storage::database::VoiceprintView;

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    GroupPath(group_id): GroupPath,
    mut form: UploadForm,
) -> Result<Success<Enrolled>, ApiError> {
    caller.require(Permission::CreateVoiceprintFeature)?;
    // A missing group is reported before anything about the form.
    state.voxprint.visible_group(caller.actor(), group_id).await?;
    let name = Name::parse(form.text("name").ok_or_else(|| ApiError::InvalidParameter("name is required".into()))?)?;
    let desc = Description::parse(form.text("desc").unwrap_or(""))?;
    let raw = form.raw_pcm()?;
    let file = form.require_file()?;
    let upload = Upload { bytes: file.bytes, raw };
    let (id, quality) = state.voxprint.enroll(caller.actor(), group_id, &name, &desc, upload).await?;
    super::audit::note_created(id.0);
    Ok(Success(Enrolled { id, quality }))
}

pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    FeaturePath { group_id, feature_id }: FeaturePath,
    mut form: UploadForm,
) -> Result<Done, ApiError> {
    caller.require(Permission::UpdateVoiceprintFeature)?;
    let name = form.text("name").map(Name::parse).transpose()?;
    let desc = form.text("desc").map(Description::parse).transpose()?;
    let raw = form.raw_pcm()?;
    let recording = form.file.take().map(|file| Upload { bytes: file.bytes, raw });
    if name.is_none() && desc.is_none() && recording.is_none() {
        return Err(ApiError::InvalidParameter("nothing to update: give `name`, `desc` and/or a new `file`".into()));
    }
    state.voxprint.update_voiceprint(caller.actor(), group_id, feature_id, Changes { name, desc, recording }).await?;
    Ok(Done)
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    BaseUrl(base_url): BaseUrl,
    GroupPath(group_id): GroupPath,
    RawQuery(raw): RawQuery,
) -> Result<Success<ListPage<Feature>>, ApiError> {
    caller.require(Permission::ListVoiceprintFeature)?;
    let [page_num, page_size] = query_values(raw.as_deref(), ["page_num", "page_size"]);
    let page = Page::parse(page_num.as_deref(), page_size.as_deref())?;
    let (rows, total) = state.voxprint.list_voiceprints(caller.actor(), group_id, page).await?;
    let items = rows.into_iter().map(|row| feature(&state, &base_url, row)).collect();
    Ok(Success(ListPage { items, total }))
}

fn feature(state: &AppState, base_url: &str, row: VoiceprintView) -> Feature {
    Feature {
        id: Id(row.id),
        group_id: Id(row.group_id),
        name: row.name,
        desc: row.description,
        icon_url: format!("{base_url}{}", super::assets::VOICEPRINT_ICON_PATH),
        audio_url: audio::signed_url(state, base_url, row.id, &row.audio_key),
        user_info: user_info(base_url, row.creator_id, row.creator_name, row.creator_nickname, row.creator_avatar_url),
        created_at: row.created_at,
        updated_at: row.updated_at,
        sample_count: row.sample_count,
    }
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    FeaturePath { group_id, feature_id }: FeaturePath,
) -> Result<Done, ApiError> {
    caller.require(Permission::DeleteVoiceprintFeature)?;
    state.voxprint.delete_voiceprint(caller.actor(), group_id, feature_id).await?;
    Ok(Done)
}

/// The `{group_id}/features/{feature_id}` path segments, parsed.
pub struct FeaturePath {
    pub group_id: Id,
    pub feature_id: Id,
}

impl<S: Send + Sync> FromRequestParts<S> for FeaturePath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<FeaturePath, ApiError> {
        let Path((group, feature)) = Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|err| ApiError::InvalidParameter(format!("invalid path: {err}")))?;
        Ok(FeaturePath { group_id: Id::parse(&group, "group_id")?, feature_id: Id::parse(&feature, "feature_id")? })
    }
}
