//! A voiceprint's further recordings ("samples"). The voiceprint's own row holds its primary
//! recording; `voiceprint_samples` the others. Adding or removing one moves the group's
//! `voiceprints_version`, first, like every other change to what a voiceprint is scored from
//! (see the lock order in `voiceprints.rs`).

use super::voiceprints::{lock_group_of, BUMP_GROUP_VERSION};
use super::{now_seconds, try_with_tx, with_pool, Result, Store, StoreError};
use crate::storage::database::StoredAudio;

/// How many recordings a voiceprint may be made from, and how much speech they may hold.
#[derive(Debug, Clone, Copy)]
pub struct SampleLimits {
    pub max_samples: i64,
    pub max_speech_millis: i64,
}

/// One recording of a voiceprint, as the sample list shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct SampleView {
    pub id: i64,
    /// The ID its download link is made for: the voiceprint's for the primary recording (which
    /// the voiceprint's `audio_url` serves), the sample's own otherwise.
    pub link_id: i64,
    pub audio_key: String,
    /// JSON, or '' when unknown.
    pub quality: String,
    pub created_at: i64,
}

/// Where a further sample's audio is, for its download link.
#[derive(Debug, sqlx::FromRow)]
pub struct SampleAudio {
    pub audio_key: String,
    pub audio_content_type: String,
}

impl Store {
    /// Adds a recording to the voiceprint unless that would pass `limits`. The group row is
    /// locked first (by moving its version), so concurrent additions count one after another.
    pub async fn add_sample(&self, voiceprint_id: i64, audio: StoredAudio<'_>, limits: SampleLimits) -> Result<()> {
        let now = now_seconds();
        let (embedding, conditions) = self.seal_recording(&audio)?;
        try_with_tx!(self, write, |tx| {
            lock_group_of!(tx, voiceprint_id);
            // Read under the group's lock: the voiceprint may have gone meanwhile.
            let totals: Option<(i64, i64)> = sqlx::query_as(
                "SELECT 1 + (SELECT COUNT(*) FROM voiceprint_samples WHERE voiceprint_id = v.id),
                        CAST(v.speech_millis + (SELECT COALESCE(SUM(speech_millis), 0) FROM voiceprint_samples
                                                WHERE voiceprint_id = v.id) AS BIGINT)
                 FROM voiceprints v WHERE v.id = $1",
            )
            .bind(voiceprint_id)
            .fetch_optional(&mut *tx)
            .await?;
            let (count, speech_millis) = totals.ok_or(StoreError::NotFound("voiceprint"))?;
            if count >= limits.max_samples {
                return Err(StoreError::SampleQuota { limit: limits.max_samples });
            }
            if speech_millis + audio.speech_millis > limits.max_speech_millis {
                return Err(StoreError::SampleSpeechQuota {
                    limit_seconds: limits.max_speech_millis as f64 / 1000.0,
                    stored_seconds: speech_millis as f64 / 1000.0,
                });
            }
            sqlx::query(
                "INSERT INTO voiceprint_samples (id, voiceprint_id, audio_key, audio_content_type, audio_sha256,
                                                 embedding, conditions, scoring_version, speech_millis, quality,
                                                 created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(audio.sample_id)
            .bind(voiceprint_id)
            .bind(audio.key)
            .bind(audio.content_type)
            .bind(audio.sha256)
            .bind(&embedding)
            .bind(&conditions)
            .bind(audio.scoring_version)
            .bind(audio.speech_millis)
            .bind(audio.quality)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE voiceprints SET updated_at = $2 WHERE id = $1")
                .bind(voiceprint_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Every recording of the voiceprint, oldest first, the primary among them.
    pub async fn list_samples(&self, voiceprint_id: i64) -> Result<Vec<SampleView>> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT primary_sample_id AS id, id AS link_id, audio_key, quality, sample_created_at AS created_at
                 FROM voiceprints WHERE id = $1
                 UNION ALL
                 SELECT id, id AS link_id, audio_key, quality, created_at
                 FROM voiceprint_samples WHERE voiceprint_id = $1
                 ORDER BY created_at, id",
            )
            .bind(voiceprint_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Removes one recording of the voiceprint and returns its blob key. Removing the primary
    /// one promotes the oldest further sample in its place; the last one cannot be removed.
    pub async fn delete_sample(&self, voiceprint_id: i64, sample_id: i64) -> Result<String> {
        try_with_tx!(self, write, |tx| {
            lock_group_of!(tx, voiceprint_id);
            let voiceprint: Option<(i64, String)> =
                sqlx::query_as("SELECT primary_sample_id, audio_key FROM voiceprints WHERE id = $1")
                    .bind(voiceprint_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let (primary_sample_id, primary_key) = voiceprint.ok_or(StoreError::NotFound("voiceprint"))?;
            let removed_key = if sample_id == primary_sample_id {
                let successor: Option<(i64,)> = sqlx::query_as(
                    "SELECT id FROM voiceprint_samples WHERE voiceprint_id = $1 ORDER BY created_at, id LIMIT 1",
                )
                .bind(voiceprint_id)
                .fetch_optional(&mut *tx)
                .await?;
                let (successor,) = successor.ok_or(StoreError::LastSample)?;
                sqlx::query(
                    "UPDATE voiceprints SET
                        (primary_sample_id, audio_key, audio_content_type, audio_sha256, embedding, conditions,
                         scoring_version, speech_millis, quality, sample_created_at) =
                        (SELECT id, audio_key, audio_content_type, audio_sha256, embedding, conditions,
                                scoring_version, speech_millis, quality, created_at
                         FROM voiceprint_samples WHERE id = $2),
                        updated_at = $3
                     WHERE id = $1",
                )
                .bind(voiceprint_id)
                .bind(successor)
                .bind(now_seconds())
                .execute(&mut *tx)
                .await?;
                sqlx::query("DELETE FROM voiceprint_samples WHERE id = $1").bind(successor).execute(&mut *tx).await?;
                primary_key
            } else {
                let deleted: Option<(String,)> = sqlx::query_as(
                    "DELETE FROM voiceprint_samples WHERE id = $1 AND voiceprint_id = $2 RETURNING audio_key",
                )
                .bind(sample_id)
                .bind(voiceprint_id)
                .fetch_optional(&mut *tx)
                .await?;
                let (key,) = deleted.ok_or(StoreError::NotFound("sample"))?;
                sqlx::query("UPDATE voiceprints SET updated_at = $2 WHERE id = $1")
                    .bind(voiceprint_id)
                    .bind(now_seconds())
                    .execute(&mut *tx)
                    .await?;
                key
            };
            tx.commit().await?;
            Ok(removed_key)
        })
    }

    /// Where a further sample's audio is; `None` if there is no such sample.
    pub async fn sample_audio(&self, sample_id: i64) -> Result<Option<SampleAudio>> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as("SELECT audio_key, audio_content_type FROM voiceprint_samples WHERE id = $1")
                .bind(sample_id)
                .fetch_optional(pool)
                .await?
        }))
    }
}
