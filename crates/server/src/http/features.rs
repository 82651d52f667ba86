//! Endpoints 5–8: enroll, update, list and delete the voiceprints of a group.
//!
//! A recording is embedded first (the expensive, fallible part), then its bytes are stored
//! under a fresh blob key, then the row is written in one transaction. If the row cannot be
//! written the new blob is deleted; a replaced blob is deleted only after the row points at
//! its successor. So a failed request leaves nothing half-written behind.
//!
//! A recording for a voiceprint must also pass the enrollment limits (`speaker/quality_gate.rs`); the
//! enroll answer adds its quality measures and warnings to Coze's `{id}`.

use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::auth::Caller;
use super::envelope::{Done, Success};
use super::error::ApiError;
use super::groups::{visible_group, GroupPath};
use super::upload::{UploadForm, UploadedFile};
use super::views::UserInfo;
use super::{audio, query_values, AppState, BaseUrl};
use crate::domain::{Description, Id, Name, Page, Permission};
use crate::speaker::workers::Purpose;
use crate::speaker::quality_gate::QualityReport;
use crate::speaker::scoring::{embedding_to_bytes, SCORING_VERSION};
use crate::storage::database::{NewVoiceprint, StoredAudio, VoiceprintOwner, VoiceprintView};

pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    GroupPath(group_id): GroupPath,
    mut form: UploadForm,
) -> Result<Success<Enrolled>, ApiError> {
    caller.require(Permission::CreateVoiceprintFeature)?;
    visible_group(&state, &caller, group_id).await?;
    let name = Name::parse(form.text("name").ok_or_else(|| ApiError::InvalidParameter("name is required".into()))?)?;
    let desc = Description::parse(form.text("desc").unwrap_or(""))?;
    let raw = form.raw_pcm()?;
    let file = form.require_file()?;
    let id = state.ids.next();
    let recording = Recording::prepare(&state, group_id.0, id, file, raw).await?;
    let voiceprint = NewVoiceprint {
        id,
        group_id: group_id.0,
        creator_id: caller.user_id,
        name: name.as_str(),
        description: desc.as_str(),
        audio: recording.stored(),
    };
    if let Err(err) = state.store.create_voiceprint(voiceprint, state.settings.max_voiceprints_per_group).await {
        state.blobs.delete_all_logged(&[recording.key]).await;
        return Err(err.into());
    }
    state.metrics.enrollments.inc();
    Ok(Success(Enrolled { id: Id(id), quality: recording.quality }))
}

/// Endpoint 5's `data`: Coze's `{id}` and the recording's quality.
#[derive(Serialize)]
pub struct Enrolled {
    id: Id,
    quality: QualityReport,
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
    let file = form.file.take();
    if name.is_none() && desc.is_none() && file.is_none() {
        return Err(ApiError::InvalidParameter("nothing to update: give `name`, `desc` and/or a new `file`".into()));
    }
    owned_voiceprint(&state, &caller, group_id, feature_id, "update").await?;
    let recording = match file {
        Some(file) => Some(Recording::prepare(&state, group_id.0, feature_id.0, file, raw).await?),
        None => None,
    };
    let updated = state
        .store
        .update_voiceprint(
            feature_id.0,
            name.as_ref().map(Name::as_str),
            desc.as_ref().map(Description::as_str),
            recording.as_ref().map(Recording::stored),
        )
        .await;
    match (updated, recording) {
        (Ok(previous_key), Some(_)) => {
            state.metrics.enrollments.inc();
            state.blobs.delete_all_logged(&[previous_key]).await
        }
        (Ok(_), None) => {}
        (Err(err), recording) => {
            if let Some(recording) = recording {
                state.blobs.delete_all_logged(&[recording.key]).await;
            }
            return Err(err.into());
        }
    }
    Ok(Done)
}

#[derive(Serialize)]
pub struct FeatureList {
    items: Vec<FeatureItem>,
    total: i64,
}

#[derive(Serialize)]
struct FeatureItem {
    id: Id,
    group_id: Id,
    name: String,
    desc: String,
    icon_url: String,
    audio_url: String,
    user_info: UserInfo,
    created_at: i64,
    updated_at: i64,
}

pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    BaseUrl(base_url): BaseUrl,
    GroupPath(group_id): GroupPath,
    RawQuery(raw): RawQuery,
) -> Result<Success<FeatureList>, ApiError> {
    caller.require(Permission::ListVoiceprintFeature)?;
    let [page_num, page_size] = query_values(raw.as_deref(), ["page_num", "page_size"]);
    let page = Page::parse(page_num.as_deref(), page_size.as_deref())?;
    visible_group(&state, &caller, group_id).await?;
    let (rows, total) = state.store.list_voiceprints(group_id.0, page.size, page.offset()).await?;
    let items = rows.into_iter().map(|row| FeatureItem::new(&state, &base_url, row)).collect();
    Ok(Success(FeatureList { items, total }))
}

impl FeatureItem {
    fn new(state: &AppState, base_url: &str, row: VoiceprintView) -> FeatureItem {
        FeatureItem {
            id: Id(row.id),
            group_id: Id(row.group_id),
            name: row.name,
            desc: row.description,
            icon_url: format!("{base_url}{}", super::assets::VOICEPRINT_ICON_PATH),
            audio_url: audio::signed_url(state, base_url, row.id, &row.audio_key),
            user_info: UserInfo::new(
                base_url,
                row.creator_id,
                row.creator_name,
                row.creator_nickname,
                row.creator_avatar_url,
            ),
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    FeaturePath { group_id, feature_id }: FeaturePath,
) -> Result<Done, ApiError> {
    caller.require(Permission::DeleteVoiceprintFeature)?;
    owned_voiceprint(&state, &caller, group_id, feature_id, "delete").await?;
    let audio_key = state.store.delete_voiceprint(feature_id.0).await?;
    state.blobs.delete_all_logged(&[audio_key]).await;
    Ok(Done)
}

/// The voiceprint, if it is in that group of the caller's team (4200 otherwise); 4101 unless
/// the caller created it.
async fn owned_voiceprint(
    state: &AppState,
    caller: &Caller,
    group_id: Id,
    feature_id: Id,
    action: &str,
) -> Result<VoiceprintOwner, ApiError> {
    let owner = state.store.voiceprint_owner(feature_id.0).await?;
    let owner = match owner {
        Some(owner) if owner.group_id == group_id.0 && owner.team_id == caller.team_id => owner,
        _ => {
            visible_group(state, caller, group_id).await?;
            return Err(ApiError::NotFound(format!(
                "voiceprint {feature_id} not found in voiceprint group {group_id}"
            )));
        }
    };
    if owner.creator_id != caller.user_id {
        return Err(ApiError::Forbidden(format!("only the creator of voiceprint {feature_id} may {action} it")));
    }
    Ok(owner)
}

/// An uploaded recording, embedded, found good enough to enroll and stored under a fresh blob
/// key.
struct Recording {
    key: String,
    content_type: String,
    sha256: Vec<u8>,
    embedding: Vec<u8>,
    conditions: Vec<u8>,
    quality: QualityReport,
}

impl Recording {
    async fn prepare(
        state: &AppState,
        group_id: i64,
        voiceprint_id: i64,
        file: UploadedFile,
        raw: voxprint_audio::RawPcm,
    ) -> Result<Recording, ApiError> {
        let embedded = state.embedder.embed(file.bytes.clone(), raw, Purpose::Enrollment).await?;
        let quality = state.settings.enrollment.check(&embedded.quality).map_err(ApiError::InvalidFile)?;
        let content_type = audio::content_type(embedded.format, raw);
        let mut nonce = [0u8; 6];
        getrandom::fill(&mut nonce).map_err(|err| ApiError::Internal(err.to_string()))?;
        let key = format!("voiceprints/{group_id}/{voiceprint_id}-{}.{}", hex::encode(nonce), embedded.format.name());
        let sha256 = Sha256::digest(&file.bytes).to_vec();
        state.blobs.put(&key, file.bytes).await.map_err(|err| ApiError::audio_storage("storing audio", err))?;
        Ok(Recording {
            key,
            content_type,
            sha256,
            embedding: embedding_to_bytes(&embedded.embedding),
            conditions: embedding_to_bytes(&embedded.conditions),
            quality,
        })
    }

    fn stored(&self) -> StoredAudio<'_> {
        StoredAudio {
            key: &self.key,
            content_type: &self.content_type,
            sha256: &self.sha256,
            embedding: &self.embedding,
            conditions: &self.conditions,
            scoring_version: SCORING_VERSION,
        }
    }
}

/// The `{group_id}/features/{feature_id}` path segments, parsed.
pub struct FeaturePath {
    group_id: Id,
    feature_id: Id,
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
