//! Verification ("is this recording the voiceprint's speaker?") and comparison ("are these two
//! recordings the same speaker?"), on speaker_identify's calibrated scale and threshold.

use voxprint_api::{Comparison, Verification};

use super::voiceprints::Upload;
use super::{Actor, Voxprint};
use crate::domain::Id;
use crate::error::ApiError;
use crate::speaker::quality_gate::describe;
use crate::speaker::scoring;
use crate::speaker::workers::Purpose;

impl Voxprint {
    /// The voiceprint's score for the recording, and the decision. Anyone of the voiceprint's
    /// team may verify, as anyone may identify in its group.
    pub async fn verify(
        &self,
        actor: Actor,
        group_id: Id,
        feature_id: Id,
        upload: Upload,
    ) -> Result<Verification, ApiError> {
        self.visible_voiceprint(actor, group_id, feature_id).await?;
        let probe = self.embedder.embed(upload.bytes, upload.raw, Purpose::Probe).await?;
        let group = self.speakers.group(&self.store, group_id.0).await?;
        let score = group.score_of(feature_id.0, &probe.embedding).ok_or_else(|| {
            // Deleted between the check and the scoring, or its stored embedding is unusable.
            ApiError::NotFound(format!("voiceprint {feature_id} not found in voiceprint group {group_id}"))
        })?;
        self.metrics.verifications.inc();
        let threshold = self.settings.match_threshold;
        Ok(Verification { score, threshold, matched: score >= threshold })
    }

    /// The score of the second recording against the first, as if the first were enrolled, with
    /// both recordings' quality measures. Nothing is stored.
    pub async fn compare(&self, first: Upload, second: Upload) -> Result<Comparison, ApiError> {
        let (enrolled, probe) = tokio::join!(
            self.embedder.embed(first.bytes, first.raw, Purpose::Enrollment),
            self.embedder.embed(second.bytes, second.raw, Purpose::Probe),
        );
        let enrolled = enrolled.map_err(|err| ApiError::from(err).about_upload("file"))?;
        let probe = probe.map_err(|err| ApiError::from(err).about_upload("file2"))?;
        let score = scoring::score(&enrolled.conditions, &probe.embedding);
        self.metrics.comparisons.inc();
        let threshold = self.settings.match_threshold;
        Ok(Comparison {
            score,
            threshold,
            matched: score >= threshold,
            quality: describe(&enrolled.quality),
            quality2: describe(&probe.quality),
        })
    }
}
