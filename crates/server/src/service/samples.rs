//! A voiceprint's recordings (samples): add, list and remove, in the same write order as an
//! enrollment (the audio first, then the row; a failed row deletes the audio again). Only the
//! voiceprint's creator may change them, as for an update; its team may list them.

use voxprint_api::Quality;

use super::voiceprints::Upload;
use super::{Actor, Voxprint};
use crate::domain::Id;
use crate::error::ApiError;
use crate::storage::database::{SampleView, StoreError};

impl Voxprint {
    /// Adds a recording to the voiceprint: the sample's ID and the recording's quality.
    pub async fn add_sample(
        &self,
        actor: Actor,
        group_id: Id,
        feature_id: Id,
        upload: Upload,
    ) -> Result<(Id, Quality), ApiError> {
        self.owned_voiceprint(actor, group_id, feature_id, "add a sample to").await?;
        let sample_id = self.ids.next();
        let recording = self.store_recording(group_id.0, feature_id.0, sample_id, upload).await?;
        if let Err(err) = self.store.add_sample(feature_id.0, recording.stored(), self.settings.samples).await {
            self.blobs.delete_all_logged(&[recording.key]).await;
            return Err(err.into());
        }
        self.metrics.enrollments.inc();
        Ok((Id(sample_id), recording.quality))
    }

    /// The voiceprint's recordings, oldest first.
    pub async fn list_samples(&self, actor: Actor, group_id: Id, feature_id: Id) -> Result<Vec<SampleView>, ApiError> {
        self.visible_voiceprint(actor, group_id, feature_id).await?;
        Ok(self.store.list_samples(feature_id.0).await?)
    }

    /// Removes one recording, then its audio; the last one stays (4000).
    pub async fn delete_sample(
        &self,
        actor: Actor,
        group_id: Id,
        feature_id: Id,
        sample_id: Id,
    ) -> Result<(), ApiError> {
        self.owned_voiceprint(actor, group_id, feature_id, "delete a sample of").await?;
        let key = self.store.delete_sample(feature_id.0, sample_id.0).await.map_err(|err| match err {
            StoreError::NotFound("sample") => {
                ApiError::NotFound(format!("sample {sample_id} not found in voiceprint {feature_id}"))
            }
            other => other.into(),
        })?;
        self.blobs.delete_all_logged(&[key]).await;
        Ok(())
    }
}
