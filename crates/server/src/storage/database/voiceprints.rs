//! Voiceprints: their primary recording's blob key and the speaker embedding computed from it,
//! under a per-group quota (further recordings are in `samples.rs`). Every change moves the
//! group's `voiceprints_version` in the same transaction, which is how every process's
//! embedding cache learns it is stale.
//!
//! **Lock order.** Every transaction that changes a group's voiceprints or samples moves the
//! version first, which takes the group row's lock, and only then touches voiceprint and sample
//! rows. Writers of one group thus queue on one lock and can never hold each other's rows in
//! opposite orders (PostgreSQL would abort one of them as a deadlock).

use super::{now_seconds, try_with_tx, with_pool, Param, Result, Store, StoreError};

/// In the transaction `$tx`, moves the version of the group of voiceprint `$voiceprint_id`
/// (taking the group's lock first, see the module doc); leaves the calling method with
/// `NotFound` if there is no such voiceprint. A voiceprint never changes groups, so the group
/// read before the lock is the one it is in after it.
macro_rules! lock_group_of {
    ($tx:ident, $voiceprint_id:expr) => {{
        let group: Option<(i64,)> = sqlx::query_as("SELECT group_id FROM voiceprints WHERE id = $1")
            .bind($voiceprint_id)
            .fetch_optional(&mut *$tx)
            .await?;
        let (group_id,) = group.ok_or(StoreError::NotFound("voiceprint"))?;
        sqlx::query(BUMP_GROUP_VERSION).bind(group_id).execute(&mut *$tx).await?;
    }};
}
pub(super) use lock_group_of;

pub struct NewVoiceprint<'a> {
    pub id: i64,
    pub group_id: i64,
    pub creator_id: i64,
    pub name: &'a str,
    pub description: &'a str,
    pub audio: StoredAudio<'a>,
}

/// The recording as stored: where the blob is, its embedding, and its condition set for the
/// current scoring version (see `speaker/scoring.rs`); as a sample, its ID, milliseconds of
/// speech and quality measures (JSON).
pub struct StoredAudio<'a> {
    pub sample_id: i64,
    pub speech_millis: i64,
    pub quality: &'a str,
    pub key: &'a str,
    pub content_type: &'a str,
    pub sha256: &'a [u8],
    pub embedding: &'a [u8],
    pub conditions: &'a [u8],
    pub scoring_version: i64,
}

/// A voiceprint with its creator, as the list endpoint shows it. The field order is that of
/// [`VOICEPRINT_PAGE_COLUMNS`].
#[derive(Debug, serde::Deserialize)]
pub struct VoiceprintView {
    pub id: i64,
    pub group_id: i64,
    pub name: String,
    pub description: String,
    pub audio_key: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub sample_count: i64,
    pub creator_id: i64,
    pub creator_name: String,
    pub creator_nickname: String,
    pub creator_avatar_url: String,
}

/// The values of one voiceprint of a page, in the order of [`VoiceprintView`]'s fields; the page
/// travels as one JSON array of these (see `GROUP_PAGE_COLUMNS` for why).
const VOICEPRINT_PAGE_COLUMNS: &str = "v.id, v.group_id, v.name, v.description, v.audio_key, v.created_at, v.updated_at,
     1 + (SELECT COUNT(*) FROM voiceprint_samples s WHERE s.voiceprint_id = v.id), u.id, u.name, u.nickname, u.avatar_url";

/// Who a voiceprint belongs to and where its audio is.
#[derive(Debug, sqlx::FromRow)]
pub struct VoiceprintOwner {
    pub group_id: i64,
    pub creator_id: i64,
    pub team_id: i64,
    pub audio_key: String,
    pub audio_content_type: String,
}

/// A stored recording (a voiceprint's primary one or a further sample) with its embedding and
/// condition set as stored, for consistency checks.
#[derive(Debug, sqlx::FromRow)]
pub struct AudioRecord {
    /// "voiceprint" or "sample": what `id` names.
    pub kind: String,
    pub id: i64,
    pub sample_id: i64,
    pub audio_key: String,
    pub audio_sha256: Vec<u8>,
    pub embedding: Vec<u8>,
    pub conditions: Vec<u8>,
}

/// One voiceprint's embedding and condition set (empty until computed), for scoring, and
/// those of its further samples.
#[derive(Debug, sqlx::FromRow)]
pub struct EnrolledEmbedding {
    pub id: i64,
    pub sample_id: i64,
    pub name: String,
    pub description: String,
    pub embedding: Vec<u8>,
    pub conditions: Vec<u8>,
    #[sqlx(skip)]
    pub samples: Vec<SampleEmbedding>,
}

/// A further sample's embedding and condition set.
#[derive(Debug, sqlx::FromRow)]
pub struct SampleEmbedding {
    pub voiceprint_id: i64,
    pub sample_id: i64,
    pub embedding: Vec<u8>,
    pub conditions: Vec<u8>,
}

/// A recording whose scoring data is older than the current version: where its audio is.
#[derive(Debug, sqlx::FromRow)]
pub struct StaleVoiceprint {
    /// "voiceprint" (its primary recording) or "sample": what `id` names.
    pub kind: String,
    pub id: i64,
    pub sample_id: i64,
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
        let (embedding, conditions) = self.seal_recording(&voiceprint.audio)?;
        try_with_tx!(self, write, |tx| {
            let group_exists =
                sqlx::query(BUMP_GROUP_VERSION).bind(voiceprint.group_id).execute(&mut *tx).await?.rows_affected();
            if group_exists == 0 {
                return Err(StoreError::NotFound("voiceprint group"));
            }
            let inserted = sqlx::query(
                "INSERT INTO voiceprints (id, group_id, creator_id, name, description, audio_key, audio_content_type,
                                          audio_sha256, embedding, created_at, updated_at, conditions, scoring_version,
                                          primary_sample_id, sample_created_at, speech_millis, quality)
                 SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $12, $13, $14, $10, $15, $16
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
            .bind(&embedding)
            .bind(now)
            .bind(max_per_group)
            .bind(&conditions)
            .bind(voiceprint.audio.scoring_version)
            .bind(voiceprint.audio.sample_id)
            .bind(voiceprint.audio.speech_millis)
            .bind(voiceprint.audio.quality)
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
    /// the same statement, and the further samples deleted (Coze's update makes a voiceprint of
    /// that one recording). Returns the blob keys no row refers to any more.
    pub async fn update_voiceprint(
        &self,
        voiceprint_id: i64,
        name: Option<&str>,
        description: Option<&str>,
        audio: Option<StoredAudio<'_>>,
    ) -> Result<Vec<String>> {
        let sealed = audio.as_ref().map(|audio| self.seal_recording(audio)).transpose()?;
        try_with_tx!(self, write, |tx| {
            lock_group_of!(tx, voiceprint_id);
            // Read under the group's lock, so that of two concurrent replacements each learns the
            // key the other replaced, and no blob is left behind unreferenced.
            let previous: Option<(String,)> = sqlx::query_as("SELECT audio_key FROM voiceprints WHERE id = $1")
                .bind(voiceprint_id)
                .fetch_optional(&mut *tx)
                .await?;
            let (previous_key,) = previous.ok_or(StoreError::NotFound("voiceprint"))?;
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
                    scoring_version = COALESCE($10, scoring_version),
                    primary_sample_id = COALESCE($11, primary_sample_id),
                    sample_created_at = COALESCE($12, sample_created_at),
                    speech_millis = COALESCE($13, speech_millis),
                    quality = COALESCE($14, quality)
                 WHERE id = $1",
            )
            .bind(voiceprint_id)
            .bind(name)
            .bind(description)
            .bind(audio.as_ref().map(|a| a.key))
            .bind(audio.as_ref().map(|a| a.content_type))
            .bind(audio.as_ref().map(|a| a.sha256))
            .bind(sealed.as_ref().map(|(embedding, _)| embedding))
            .bind(now_seconds())
            .bind(sealed.as_ref().map(|(_, conditions)| conditions))
            .bind(audio.as_ref().map(|a| a.scoring_version))
            .bind(audio.as_ref().map(|a| a.sample_id))
            .bind(audio.as_ref().map(|_| now_seconds()))
            .bind(audio.as_ref().map(|a| a.speech_millis))
            .bind(audio.as_ref().map(|a| a.quality))
            .execute(&mut *tx)
            .await?;
            let mut unreferenced = Vec::new();
            if audio.is_some() {
                unreferenced.push(previous_key);
                let samples: Vec<(String,)> =
                    sqlx::query_as("DELETE FROM voiceprint_samples WHERE voiceprint_id = $1 RETURNING audio_key")
                        .bind(voiceprint_id)
                        .fetch_all(&mut *tx)
                        .await?;
                unreferenced.extend(samples.into_iter().map(|(key,)| key));
            }
            tx.commit().await?;
            Ok(unreferenced)
        })
    }

    /// Deletes the voiceprint and its samples; returns their blob keys so the caller can delete
    /// the audio.
    pub async fn delete_voiceprint(&self, voiceprint_id: i64) -> Result<Vec<String>> {
        try_with_tx!(self, write, |tx| {
            lock_group_of!(tx, voiceprint_id);
            let samples: Vec<(String,)> =
                sqlx::query_as("DELETE FROM voiceprint_samples WHERE voiceprint_id = $1 RETURNING audio_key")
                    .bind(voiceprint_id)
                    .fetch_all(&mut *tx)
                    .await?;
            let deleted: Option<(String,)> =
                sqlx::query_as("DELETE FROM voiceprints WHERE id = $1 RETURNING audio_key")
                    .bind(voiceprint_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            let (audio_key,) = deleted.ok_or(StoreError::NotFound("voiceprint"))?;
            tx.commit().await?;
            Ok(std::iter::once(audio_key).chain(samples.into_iter().map(|(key,)| key)).collect())
        })
    }

    /// One page of a group's voiceprints, newest first, and the number of all of them, from
    /// one statement as one row, like [`Store::list_groups`].
    pub async fn list_voiceprints(&self, group_id: i64, limit: i64, offset: i64) -> Result<(Vec<VoiceprintView>, i64)> {
        // LIMIT and OFFSET are written into the statement rather than bound, as in
        // `list_groups`: a rebound LIMIT makes SQLite compile the statement again.
        let page_sql = |rows: String| {
            format!(
                "SELECT {rows} AS page, COALESCE((SELECT voiceprint_count FROM voiceprint_groups WHERE id = $1), 0) AS total
                 FROM (SELECT * FROM voiceprints v WHERE v.group_id = $1
                       ORDER BY v.created_at DESC, v.id DESC LIMIT {limit} OFFSET {offset}) v
                 JOIN users u ON u.id = v.creator_id"
            )
        };
        self.read_page(page_sql, VOICEPRINT_PAGE_COLUMNS, "v.created_at DESC, v.id DESC", &[Param::Int(group_id)]).await
    }

    /// Where every recording (primary or further sample) is and what it must hash to, for the
    /// orphan sweep, the storage check and `migrate-data`.
    pub async fn audio_records(&self) -> Result<Vec<AudioRecord>> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT 'voiceprint' AS kind, id, primary_sample_id AS sample_id, audio_key, audio_sha256,
                        embedding, conditions
                 FROM voiceprints
                 UNION ALL
                 SELECT 'sample' AS kind, id, id AS sample_id, audio_key, audio_sha256, embedding, conditions
                 FROM voiceprint_samples
                 ORDER BY kind DESC, id",
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

    /// Every embedding of the group, each voiceprint's samples with it, and the version they
    /// belong to, read in one snapshot.
    pub async fn group_embeddings(&self, group_id: i64) -> Result<(i64, Vec<EnrolledEmbedding>)> {
        try_with_tx!(self, snapshot, |tx| {
            let (version,): (i64,) = sqlx::query_as("SELECT voiceprints_version FROM voiceprint_groups WHERE id = $1")
                .bind(group_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or(StoreError::NotFound("voiceprint group"))?;
            let embeddings: Vec<EnrolledEmbedding> = sqlx::query_as(
                "SELECT id, primary_sample_id AS sample_id, name, description, embedding, conditions
                 FROM voiceprints WHERE group_id = $1 ORDER BY id",
            )
            .bind(group_id)
            .fetch_all(&mut *tx)
            .await?;
            let samples: Vec<SampleEmbedding> = sqlx::query_as(
                "SELECT s.voiceprint_id, s.id AS sample_id, s.embedding, s.conditions
                 FROM voiceprint_samples s JOIN voiceprints v ON v.id = s.voiceprint_id
                 WHERE v.group_id = $1 ORDER BY s.voiceprint_id, s.id",
            )
            .bind(group_id)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            // Opening sealed values of a large group takes a few hundred milliseconds of CPU: not
            // on the runtime's threads.
            let store = self.clone();
            let embeddings = tokio::task::spawn_blocking(move || store.opened_group(embeddings, samples))
                .await
                .map_err(std::io::Error::other)??;
            Ok((version, embeddings))
        })
    }
}

impl Store {
    /// The recording's embedding and condition set as they are stored (see `data_keys.rs`).
    pub(super) fn seal_recording(&self, audio: &StoredAudio<'_>) -> Result<(Vec<u8>, Vec<u8>)> {
        Ok((
            self.seal("embedding", audio.sample_id, audio.embedding)?,
            self.seal("conditions", audio.sample_id, audio.conditions)?,
        ))
    }

    /// The group's voiceprints with their values opened, each with its opened samples.
    fn opened_group(
        &self,
        mut embeddings: Vec<EnrolledEmbedding>,
        samples: Vec<SampleEmbedding>,
    ) -> Result<Vec<EnrolledEmbedding>> {
        for enrolled in &mut embeddings {
            self.open_in_place(enrolled.sample_id, &mut enrolled.embedding, &mut enrolled.conditions)?;
        }
        for mut sample in samples {
            self.open_in_place(sample.sample_id, &mut sample.embedding, &mut sample.conditions)?;
            if let Ok(index) = embeddings.binary_search_by_key(&sample.voiceprint_id, |v| v.id) {
                embeddings[index].samples.push(sample);
            }
        }
        Ok(embeddings)
    }

    /// Replaces a recording's stored embedding and condition set by their plain form.
    fn open_in_place(&self, sample_id: i64, embedding: &mut Vec<u8>, conditions: &mut Vec<u8>) -> Result<()> {
        for (what, value) in [("embedding", embedding), ("conditions", conditions)] {
            if let std::borrow::Cow::Owned(plain) = self.unseal(what, sample_id, value)? {
                *value = plain;
            }
        }
        Ok(())
    }
}

/// Moves the group's change counter (see the module doc). Being an UPDATE, it also holds the
/// group row's lock until commit.
pub(super) const BUMP_GROUP_VERSION: &str =
    "UPDATE voiceprint_groups SET voiceprints_version = voiceprints_version + 1 WHERE id = $1";

impl Store {
    /// Recordings (primary or further samples) whose scoring data was made for an older
    /// version than `version`.
    pub async fn stale_voiceprints(&self, version: i64) -> Result<Vec<StaleVoiceprint>> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT 'voiceprint' AS kind, id, primary_sample_id AS sample_id, audio_key, audio_content_type,
                        audio_sha256
                 FROM voiceprints WHERE scoring_version < $1
                 UNION ALL
                 SELECT 'sample' AS kind, id, id AS sample_id, audio_key, audio_content_type, audio_sha256
                 FROM voiceprint_samples WHERE scoring_version < $1
                 ORDER BY kind DESC, id",
            )
            .bind(version)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Stores a re-computed embedding and condition set of the recording `stale` names, unless it
    /// was deleted or replaced (its checksum changed) meanwhile: then the newer data stands.
    /// Returns whether the row was updated.
    pub async fn refresh_scoring(
        &self,
        stale: &StaleVoiceprint,
        embedding: &[u8],
        conditions: &[u8],
        version: i64,
    ) -> Result<bool> {
        let embedding = self.seal("embedding", stale.sample_id, embedding)?;
        let conditions = self.seal("conditions", stale.sample_id, conditions)?;
        let (group_of, update) = if stale.kind == "sample" {
            (
                "SELECT v.group_id FROM voiceprint_samples s JOIN voiceprints v ON v.id = s.voiceprint_id
                 WHERE s.id = $1",
                "UPDATE voiceprint_samples SET embedding = $3, conditions = $4, scoring_version = $5
                 WHERE id = $1 AND audio_sha256 = $2",
            )
        } else {
            (
                "SELECT group_id FROM voiceprints WHERE id = $1",
                "UPDATE voiceprints SET embedding = $3, conditions = $4, scoring_version = $5
                 WHERE id = $1 AND audio_sha256 = $2",
            )
        };
        try_with_tx!(self, write, |tx| {
            // The group's lock first (see the module doc).
            let group: Option<(i64,)> = sqlx::query_as(group_of).bind(stale.id).fetch_optional(&mut *tx).await?;
            let Some((group_id,)) = group else {
                return Ok(false);
            };
            sqlx::query(BUMP_GROUP_VERSION).bind(group_id).execute(&mut *tx).await?;
            let updated = sqlx::query(update)
                .bind(stale.id)
                .bind(&stale.audio_sha256)
                .bind(&embedding)
                .bind(&conditions)
                .bind(version)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if updated == 0 {
                return Ok(false); // rolls the version back with the rest
            }
            tx.commit().await?;
            Ok(true)
        })
    }
}
