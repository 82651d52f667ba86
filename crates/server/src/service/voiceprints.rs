//! Voiceprints: enroll, update, list and delete, in the order that leaves nothing half-written.
//!
//! A recording is embedded first (the expensive, fallible part) and must pass the enrollment
//! limits (`speaker/quality_gate.rs`); then its bytes are stored under a fresh blob key, then the
//! row is written in one transaction. If the row cannot be written the new blob is deleted; a
//! replaced blob is deleted only after the row points at its successor.

use sha2::{Digest, Sha256};
use voxprint_api::Quality;
use voxprint_audio::RawPcm;

use super::{Actor, Voxprint};
use crate::domain::{Description, Id, Name, Page};
use crate::error::{ApiError, Fault};
use crate::speaker::recording::content_type;
use crate::speaker::scoring::{embedding_to_bytes, SCORING_VERSION};
use crate::speaker::workers::Purpose;
use crate::storage::database::{NewVoiceprint, StoredAudio, VoiceprintOwner, VoiceprintView};

/// An uploaded recording: its bytes and, for raw PCM, their rate and channels.
pub struct Upload {
    pub bytes: bytes::Bytes,
    pub raw: RawPcm,
}

/// What an update changes; at least one of them.
pub struct Changes {
    pub name: Option<Name>,
    pub desc: Option<Description>,
    pub recording: Option<Upload>,
}

impl Voxprint {
    /// Enrolls a voiceprint in a group of the actor's team: its ID and the recording's quality.
    pub async fn enroll(
        &self,
        actor: Actor,
        group_id: Id,
        name: &Name,
        desc: &Description,
        upload: Upload,
    ) -> Result<(Id, Quality), ApiError> {
        self.visible_group(actor, group_id).await?;
        let id = self.ids.next();
        let recording = self.store_recording(group_id.0, id, id, upload).await?;
        let voiceprint = NewVoiceprint {
            id,
            group_id: group_id.0,
            creator_id: actor.user_id,
            name: name.as_str(),
            description: desc.as_str(),
            audio: recording.stored(),
        };
        if let Err(err) = self.store.create_voiceprint(voiceprint, self.settings.max_voiceprints_per_group).await {
            self.blobs.delete_all_logged(&[recording.key]).await;
            return Err(err.into());
        }
        self.metrics.enrollments.inc();
        Ok((Id(id), recording.quality))
    }

    /// Changes a voiceprint's name, description and/or recording; only its creator may.
    pub async fn update_voiceprint(
        &self,
        actor: Actor,
        group_id: Id,
        feature_id: Id,
        changes: Changes,
    ) -> Result<(), ApiError> {
        self.owned_voiceprint(actor, group_id, feature_id, "update").await?;
        let recording = match changes.recording {
            Some(upload) => Some(self.store_recording(group_id.0, feature_id.0, self.ids.next(), upload).await?),
            None => None,
        };
        let updated = self
            .store
            .update_voiceprint(
                feature_id.0,
                changes.name.as_ref().map(Name::as_str),
                changes.desc.as_ref().map(Description::as_str),
                recording.as_ref().map(StoredRecording::stored),
            )
            .await;
        match (updated, recording) {
            (Ok(unreferenced), Some(_)) => {
                self.metrics.enrollments.inc();
                self.blobs.delete_all_logged(&unreferenced).await
            }
            (Ok(_), None) => {}
            (Err(err), recording) => {
                if let Some(recording) = recording {
                    self.blobs.delete_all_logged(&[recording.key]).await;
                }
                return Err(err.into());
            }
        }
        Ok(())
    }

    /// One page of a group's voiceprints, and how many it holds.
    pub async fn list_voiceprints(
        &self,
        actor: Actor,
        group_id: Id,
        page: Page,
    ) -> Result<(Vec<VoiceprintView>, i64), ApiError> {
        self.visible_group(actor, group_id).await?;
        Ok(self.store.list_voiceprints(group_id.0, page.size, page.offset()).await?)
    }

    /// Deletes a voiceprint, then its recordings; only its creator may.
    pub async fn delete_voiceprint(&self, actor: Actor, group_id: Id, feature_id: Id) -> Result<(), ApiError> {
        self.owned_voiceprint(actor, group_id, feature_id, "delete").await?;
        let audio_keys = self.store.delete_voiceprint(feature_id.0).await?;
        self.blobs.delete_all_logged(&audio_keys).await;
        Ok(())
    }

    /// The voiceprint, if it is in that group of the actor's team; 4200 otherwise, naming the
    /// group when that is what is missing.
    pub(super) async fn visible_voiceprint(
        &self,
        actor: Actor,
        group_id: Id,
        feature_id: Id,
    ) -> Result<VoiceprintOwner, ApiError> {
        match self.store.voiceprint_owner(feature_id.0).await? {
            Some(owner) if owner.group_id == group_id.0 && owner.team_id == actor.team_id => Ok(owner),
            _ => {
                self.visible_group(actor, group_id).await?;
                Err(ApiError::NotFound(format!("voiceprint {feature_id} not found in voiceprint group {group_id}")))
            }
        }
    }

    /// The voiceprint, as [`Self::visible_voiceprint`]; 4101 unless the actor created it.
    pub(super) async fn owned_voiceprint(
        &self,
        actor: Actor,
        group_id: Id,
        feature_id: Id,
        action: &str,
    ) -> Result<VoiceprintOwner, ApiError> {
        let owner = self.visible_voiceprint(actor, group_id, feature_id).await?;
        if owner.creator_id != actor.user_id {
            return Err(ApiError::Forbidden(format!("only the creator of voiceprint {feature_id} may {action} it")));
        }
        Ok(owner)
    }

    /// Embeds the upload, checks it is good enough to enroll, and stores its bytes under a
    /// fresh blob key, as sample `sample_id` of the voiceprint.
    pub(super) async fn store_recording(
        &self,
        group_id: i64,
        voiceprint_id: i64,
        sample_id: i64,
        upload: Upload,
    ) -> Result<StoredRecording, ApiError> {
        let Upload { bytes, raw } = upload;
        let embedded = self.embedder.embed(bytes.clone(), raw, Purpose::Enrollment).await?;
        let quality = self.settings.enrollment.check(&embedded.quality).map_err(ApiError::InvalidFile)?;
        let content_type = content_type(embedded.format, raw);
        let mut nonce = [0u8; 6];
        getrandom::fill(&mut nonce).map_err(|err| ApiError::Internal(Fault::new("drawing a blob key", err)))?;
        let key = format!("voiceprints/{group_id}/{voiceprint_id}-{}.{}", hex::encode(nonce), embedded.format.name());
        let quality_json = serde_json::to_string(&quality)
            .map_err(|err| ApiError::Internal(Fault::new("recording the quality measures", err)))?;
        let sha256 = Sha256::digest(&bytes).to_vec();
        self.blobs.put(&key, bytes).await.map_err(|err| ApiError::audio_storage("storing audio", err))?;
        Ok(StoredRecording {
            sample_id,
            speech_millis: (embedded.quality.speech_seconds * 1000.0).round() as i64,
            quality_json,
            key,
            content_type,
            sha256,
            embedding: embedding_to_bytes(&embedded.embedding),
            conditions: embedding_to_bytes(&embedded.conditions),
            quality,
        })
    }
}

/// An uploaded recording, embedded, found good enough to enroll and stored under a fresh blob
/// key, waiting for its row.
pub(super) struct StoredRecording {
    sample_id: i64,
    speech_millis: i64,
    quality_json: String,
    pub(super) key: String,
    content_type: String,
    sha256: Vec<u8>,
    embedding: Vec<u8>,
    conditions: Vec<u8>,
    pub(super) quality: Quality,
}

impl StoredRecording {
    pub(super) fn stored(&self) -> StoredAudio<'_> {
        StoredAudio {
            sample_id: self.sample_id,
            speech_millis: self.speech_millis,
            quality: &self.quality_json,
            key: &self.key,
            content_type: &self.content_type,
            sha256: &self.sha256,
            embedding: &self.embedding,
            conditions: &self.conditions,
            scoring_version: SCORING_VERSION,
        }
    }
}
