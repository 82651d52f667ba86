//! The queries behind audio retention (`--audio-retention-days`) and erasure (`voxprint admin
//! erase-user`, `erase-voiceprint`); the order of their steps is in `storage/privacy.rs`.

use super::{now_seconds, try_with_tx, with_pool, Result, Store, StoreError};

impl Store {
    /// Forgets the audio of every recording uploaded before `cutoff` (Unix seconds): its key
    /// becomes empty, so nothing serves or re-reads it, while its embedding stays. Returns the
    /// keys whose blobs can now be deleted.
    pub async fn expire_audio(&self, cutoff: i64) -> Result<Vec<String>> {
        try_with_tx!(self, write, |tx| {
            let keys: Vec<(String,)> = sqlx::query_as(
                "SELECT audio_key FROM voiceprints WHERE sample_created_at < $1 AND audio_key <> ''
                 UNION ALL
                 SELECT audio_key FROM voiceprint_samples WHERE created_at < $1 AND audio_key <> ''",
            )
            .bind(cutoff)
            .fetch_all(&mut *tx)
            .await?;
            sqlx::query("UPDATE voiceprints SET audio_key = '' WHERE sample_created_at < $1 AND audio_key <> ''")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE voiceprint_samples SET audio_key = '' WHERE created_at < $1 AND audio_key <> ''")
                .bind(cutoff)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(keys.into_iter().map(|(key,)| key).collect())
        })
    }

    /// The groups `user_id` created, each with how many voiceprints it holds.
    pub async fn groups_created_by(&self, user_id: i64) -> Result<Vec<(i64, i64)>> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as("SELECT id, voiceprint_count FROM voiceprint_groups WHERE creator_id = $1 ORDER BY id")
                .bind(user_id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// The voiceprints `user_id` created, in whatever group.
    pub async fn voiceprints_created_by(&self, user_id: i64) -> Result<Vec<i64>> {
        let rows: Vec<(i64,)> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT id FROM voiceprints WHERE creator_id = $1 ORDER BY id")
                .bind(user_id)
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Revokes every active token of the user and replaces the user's name, nickname and avatar
    /// by placeholders; returns the IDs of the tokens revoked now. The row stays, so that the
    /// IDs in the audit trail keep naming someone, but no longer a person.
    pub async fn retire_user(&self, user_id: i64) -> Result<Vec<i64>> {
        let now = now_seconds();
        try_with_tx!(self, write, |tx| {
            let renamed = sqlx::query("UPDATE users SET name = $2, nickname = $2, avatar_url = '' WHERE id = $1")
                .bind(user_id)
                .bind(format!("erased-{user_id}"))
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if renamed == 0 {
                return Err(StoreError::NotFound("user"));
            }
            let revoked: Vec<(i64,)> = sqlx::query_as(
                "UPDATE tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL RETURNING id",
            )
            .bind(user_id)
            .bind(now)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(revoked.into_iter().map(|(id,)| id).collect())
        })
    }

    /// The team of a user; `None` if there is no such user.
    pub async fn team_of_user(&self, user_id: i64) -> Result<Option<i64>> {
        let row: Option<(i64,)> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT team_id FROM users WHERE id = $1").bind(user_id).fetch_optional(pool).await?
        });
        Ok(row.map(|(team,)| team))
    }
}
