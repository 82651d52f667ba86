//! Identification: who of a group is speaking in a recording. The upload is embedded once and
//! scored against every voiceprint of the group (`speaker/scoring.rs` holds the cache and the
//! score).

use voxprint_api::{FeatureScore, Identification};

use super::voiceprints::Upload;
use super::{Actor, Voxprint};
use crate::domain::Id;
use crate::error::ApiError;
use crate::speaker::workers::Purpose;

impl Voxprint {
    /// Every voiceprint of the group with its score, best first, cut to the best `top_k`; and
    /// the decision threshold.
    pub async fn identify(
        &self,
        actor: Actor,
        group_id: Id,
        upload: Upload,
        top_k: Option<usize>,
    ) -> Result<Identification, ApiError> {
        self.visible_group(actor, group_id).await?;
        let probe = self.embedder.embed(upload.bytes, upload.raw, Purpose::Probe).await?;
        let group = self.speakers.group(&self.store, group_id.0).await?;
        self.metrics.identifications.inc();
        let threshold = self.settings.match_threshold;
        // On a blocking thread: scoring a group of 10,000 voiceprints streams 100 MB of rows
        // (several milliseconds), which would hold up every request on this runtime thread.
        let feature_score_list = tokio::task::spawn_blocking(move || {
            group
                .rank(&probe.embedding)
                .into_iter()
                .take(top_k.unwrap_or(usize::MAX))
                .map(|found| FeatureScore {
                    feature_id: Id(found.voiceprint.id),
                    feature_name: found.voiceprint.name.clone(),
                    feature_desc: found.voiceprint.description.clone(),
                    score: found.score,
                    matched: found.score >= threshold,
                })
                .collect()
        })
        .await
        .map_err(|err| ApiError::Internal(crate::error::Fault::new("scoring the voiceprints", err)))?;
        Ok(Identification { feature_score_list, threshold })
    }
}
