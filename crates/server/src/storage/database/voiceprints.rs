//! Voiceprints: a recording's blob key and the speaker embedding computed from it, under a
//! per-group quota. Every change moves the group's `voiceprints_version` in the same
//! transaction, which is how every process's embedding cache learns it is stale.

use super::{for_no_key_update, now_seconds, with_pool, try_with_tx, Result, Store, StoreError};

pub struct NewVoiceprint<'a> {
    pub id: i64,
    pub group_id: i64,
    pub creator_id: i64,
    pub name: &'a str,
    pub description: &'a str,
    pub audio: StoredAudio<'a>,
}

/// The recording as stored: where the blob is, its embedding, and its condition set for the
/// current scoring version (see `speaker/scoring.rs`).
pub struct StoredAudio<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    pub sha256: &'a [u8],
    pub embedding: &'a [u8],
    pub conditions: &'a [u8],
    pub scoring_version: i64,
}

/// A voiceprint with its creator, as the list endpoint shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct VoiceprintView {
    pub id: i64,
    pub group_id: i64,
    pub name: String,
    pub description: String,
    pub audio_key: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub creator_id: i64,
    pub creator_name: String,
    pub creator_nickname: String,
    pub creator_avatar_url: String,
}

/// Who a voiceprint belongs to and where its audio is.
#[derive(Debug, sqlx::FromRow)]
pub struct VoiceprintOwner {
    pub group_id: i64,
    pub creator_id: i64,
    pub team_id: i64,
    pub audio_key: String,
    pub audio_content_type: String,
}

/// A voiceprint's stored audio and the size of its embedding, for consistency checks.
#[derive(Debug, sqlx::FromRow)]
pub struct AudioRecord {
    pub id: i64,
    pub audio_key: String,
    pub audio_sha256: Vec<u8>,
    pub embedding_bytes: i64,
}

/// One voiceprint's embedding and condition set (empty until computed), for scoring.
#[derive(Debug, sqlx::FromRow)]
pub struct EnrolledEmbedding {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub embedding: Vec<u8>,
    pub conditions: Vec<u8>,
}

/// A voiceprint whose scoring data is older than the current version: where its audio is.
#[derive(Debug, sqlx::FromRow)]
pub struct StaleVoiceprint {
    pub id: i64,
    pub audio_key: String,
    pub audio_content_type: String,
    pub audio_sha256: Vec<u8>,
}

impl Store {
    /// Inserts the voiceprint unless its group is gone or already holds `max_per_group`
    /// voiceprints. The group's version is moved first: that takes the group row's lock, so
    /// concurrent creations in the group (from any number of processes) count one after another
    /// and cannot exceed the quota. A refused insert rolls the version back with the rest.
    pub async fn create_voiceprint(&self, voiceprint: NewVoiceprint<'_>, max_per_group: i64) -> Result<()> {
        let now = now_seconds();
        try_with_tx!(self, write, |tx| {
            let group_exists =
                sqlx::query(BUMP_GROUP_VERSION).bind(voiceprint.group_id).execute(&mut *tx).await?.rows_affected();
            if group_exists == 0 {
                return Err(StoreError::NotFound("voiceprint group"));
            }
            let inserted = sqlx::query(
                "INSERT INTO voiceprints (id, group_id, creator_id, name, description, audio_key, audio_content_type,
                                          audio_sha256, embedding, created_at, updated_at, conditions, scoring_version)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $12, $13
                 WHERE (SELECT COUNT(*) FROM voiceprints WHERE group_id = $2) < $11",
            )
            .bind(voiceprint.id)
            .bind(voiceprint.group_id)
            .bind(voiceprint.creator_id)
            .bind(voiceprint.name)
            .bind(voiceprint.description)
            .bind(voiceprint.audio.key)
            .bind(voiceprint.audio.content_type)
            .bind(voiceprint.audio.sha256)
            .bind(voiceprint.audio.embedding)
            .bind(now)
            .bind(max_per_group)
            .bind(voiceprint.audio.conditions)
            .bind(voiceprint.audio.scoring_version)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                return Err(StoreError::VoiceprintQuota { limit: max_per_group });
            }
            tx.commit().await?;
            Ok(())
        })
    }

    pub async fn voiceprint_owner(&self, voiceprint_id: i64) -> Result<Option<VoiceprintOwner>> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT v.group_id, v.creator_id, g.team_id, v.audio_key, v.audio_content_type
                 FROM voiceprints v JOIN voiceprint_groups g ON g.id = v.group_id WHERE v.id = $1",
            )
            .bind(voiceprint_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Changes the given fields; with `audio`, the recording and its embedding are replaced in
    /// the same statement. Returns the blob key the row pointed at before.
    pub async fn update_voiceprint(
        &self,
        voiceprint_id: i64,
        name: Option<&str>,
        description: Option<&str>,
        audio: Option<StoredAudio<'_>>,
    ) -> Result<String> {
        try_with_tx!(self, write, |tx| {
            // Locked, so that of two concurrent replacements each learns the key the other
            // replaced, and no blob is left behind unreferenced.
            let select =
                format!("SELECT audio_key, group_id FROM voiceprints WHERE id = $1 {}", for_no_key_update(&tx));
            let previous: Option<(String, i64)> =
                sqlx::query_as(sqlx::AssertSqlSafe(select)).bind(voiceprint_id).fetch_optional(&mut *tx).await?;
            let (previous_key, group_id) = previous.ok_or(StoreError::NotFound("voiceprint"))?;
            sqlx::query(
                "UPDATE voiceprints SET
                    name = COALESCE($2, name),
                    description = COALESCE($3, description),
                    audio_key = COALESCE($4, audio_key),
                    audio_content_type = COALESCE($5, audio_content_type),
                    audio_sha256 = COALESCE($6, audio_sha256),
                    embedding = COALESCE($7, embedding),
                    updated_at = $8,
                    conditions = COALESCE($9, conditions),
                    scoring_version = COALESCE($10, scoring_version)
                 WHERE id = $1",
            )
            .bind(voiceprint_id)
            .bind(name)
            .bind(description)
            .bind(audio.as_ref().map(|a| a.key))
            .bind(audio.as_ref().map(|a| a.content_type))
            .bind(audio.as_ref().map(|a| a.sha256))
            .bind(audio.as_ref().map(|a| a.embedding))
            .bind(now_seconds())
            .bind(audio.as_ref().map(|a| a.conditions))
            .bind(audio.as_ref().map(|a| a.scoring_version))
            .execute(&mut *tx)
            .await?;
            sqlx::query(BUMP_GROUP_VERSION).bind(group_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(previous_key)
        })
    }

    /// Deletes the voiceprint; returns its blob key so the caller can delete the audio.
    pub async fn delete_voiceprint(&self, voiceprint_id: i64) -> Result<String> {
        try_with_tx!(self, write, |tx| {
            let deleted: Option<(String, i64)> =
                sqlx::query_as("DELETE FROM voiceprints WHERE id = $1 RETURNING audio_key, group_id")
                    .bind(voiceprint_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let (audio_key, group_id) = deleted.ok_or(StoreError::NotFound("voiceprint"))?;
            sqlx::query(BUMP_GROUP_VERSION).bind(group_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(audio_key)
        })
    }

    /// One page of a group's voiceprints, newest first, and the number of all of them.
    pub async fn list_voiceprints(&self, group_id: i64, limit: i64, offset: i64) -> Result<(Vec<VoiceprintView>, i64)> {
        try_with_tx!(self, snapshot, |tx| {
            let items = sqlx::query_as(
                "SELECT v.id, v.group_id, v.name, v.description, v.audio_key, v.created_at, v.updated_at,
                        u.id AS creator_id, u.name AS creator_name, u.nickname AS creator_nickname,
                        u.avatar_url AS creator_avatar_url
                 FROM voiceprints v JOIN users u ON u.id = v.creator_id
                 WHERE v.group_id = $1
                 ORDER BY v.created_at DESC, v.id DESC
                 LIMIT $2 OFFSET $3",
            )
            .bind(group_id)
            .bind(limit)
            .bind(offset)
            .fetch_all(&mut *tx)
            .await?;
            let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM voiceprints WHERE group_id = $1")
                .bind(group_id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok((items, total))
        })
    }

    /// Where every voiceprint's audio is and what it must hash to, for the orphan sweep and the
    /// storage check.
    pub async fn audio_records(&self) -> Result<Vec<AudioRecord>> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, audio_key, audio_sha256, CAST(length(embedding) AS BIGINT) AS embedding_bytes
                 FROM voiceprints ORDER BY id",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    /// The group's change counter (see the module doc); `None` if the group is gone.
    pub async fn group_version(&self, group_id: i64) -> Result<Option<i64>> {
        let row: Option<(i64,)> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT voiceprints_version FROM voiceprint_groups WHERE id = $1")
                .bind(group_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|(version,)| version))
    }

    /// Every embedding of the group with the version they belong to, read in one snapshot.
    pub async fn group_embeddings(&self, group_id: i64) -> Result<(i64, Vec<EnrolledEmbedding>)> {
        try_with_tx!(self, snapshot, |tx| {
            let (version,): (i64,) = sqlx::query_as("SELECT voiceprints_version FROM voiceprint_groups WHERE id = $1")
                .bind(group_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("voiceprint group"))?;
            let embeddings = sqlx::query_as(
                "SELECT id, name, description, embedding, conditions FROM voiceprints WHERE group_id = $1 ORDER BY id",
            )
            .bind(group_id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok((version, embeddings))
        })
    }
}

/// Moves the group's change counter (see the module doc). Being an UPDATE, it also holds the
/// group row's lock until commit.
pub(super) const BUMP_GROUP_VERSION: &str =
    "UPDATE voiceprint_groups SET voiceprints_version = voiceprints_version + 1 WHERE id = $1";

impl Store {
    /// Voiceprints whose scoring data was made for an older version than `version`.
    pub async fn stale_voiceprints(&self, version: i64) -> Result<Vec<StaleVoiceprint>> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as("SELECT id, audio_key, audio_content_type, audio_sha256 FROM voiceprints WHERE scoring_version < $1 ORDER BY id")
                .bind(version)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Stores a re-computed embedding and condition set, unless the voiceprint was deleted or
    /// its recording replaced (its checksum changed) meanwhile: then the newer data stands.
    /// Returns whether the row was updated.
    pub async fn refresh_scoring(
        &self,
        voiceprint_id: i64,
        audio_sha256: &[u8],
        embedding: &[u8],
        conditions: &[u8],
        version: i64,
    ) -> Result<bool> {
        try_with_tx!(self, write, |tx| {
            let group: Option<(i64,)> = sqlx::query_as(
                "UPDATE voiceprints SET embedding = $3, conditions = $4, scoring_version = $5
                 WHERE id = $1 AND audio_sha256 = $2 RETURNING group_id",
            )
            .bind(voiceprint_id)
            .bind(audio_sha256)
            .bind(embedding)
            .bind(conditions)
            .bind(version)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((group_id,)) = group else {
                return Ok(false);
            };
            sqlx::query(BUMP_GROUP_VERSION).bind(group_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(true)
        })
    }
}
