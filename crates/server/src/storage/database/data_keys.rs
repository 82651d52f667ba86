//! The wrapped data keys of encryption at rest (see `storage/encryption.rs`), and the sealed
//! columns as `rotate-key` walks them. Embeddings are sealed and opened on their way in and out
//! of the other modules' statements, with [`Store::seal`] and [`Store::unseal`].

use std::borrow::Cow;
use std::sync::Arc;

use super::{now_seconds, try_with_tx, with_pool, Dialect, Result, Store, StoreError};
use crate::storage::encryption::{self, embedding_identity, Keyring, MasterKey, WrappedKey};

/// One recording's sealed columns, as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct SealedRecording {
    pub id: i64,
    pub sample_id: i64,
    pub embedding: Vec<u8>,
    pub conditions: Vec<u8>,
}

/// The two tables whose rows hold a recording's embedding and condition set.
#[derive(Debug, Clone, Copy)]
pub enum RecordingTable {
    /// A voiceprint's primary recording.
    Voiceprints,
    /// Its further samples.
    Samples,
}

impl RecordingTable {
    pub const ALL: [RecordingTable; 2] = [RecordingTable::Voiceprints, RecordingTable::Samples];

    fn name(self) -> &'static str {
        match self {
            RecordingTable::Voiceprints => "voiceprints",
            RecordingTable::Samples => "voiceprint_samples",
        }
    }

    fn sample_id(self) -> &'static str {
        match self {
            RecordingTable::Voiceprints => "primary_sample_id",
            RecordingTable::Samples => "id",
        }
    }
}

impl Store {
    /// This store with the keyring that seals and opens its embeddings.
    pub fn with_keyring(mut self, keyring: Option<Arc<Keyring>>) -> Store {
        self.keyring = keyring;
        self
    }

    pub fn keyring(&self) -> Option<&Arc<Keyring>> {
        self.keyring.as_ref()
    }

    /// A recording's embedding or condition set (`what`) as it is to be stored: sealed when
    /// encryption is on.
    pub(super) fn seal(&self, what: &str, sample_id: i64, plain: &[u8]) -> Result<Vec<u8>> {
        Ok(encryption::seal_if(self.keyring.as_deref(), &embedding_identity(what, sample_id), plain)?)
    }

    /// The plain form of a stored embedding or condition set (`what`).
    pub fn unseal<'a>(&self, what: &str, sample_id: i64, stored: &'a [u8]) -> Result<Cow<'a, [u8]>> {
        Ok(encryption::open_if(self.keyring.as_deref(), &embedding_identity(what, sample_id), stored)?)
    }

    /// Every wrapped data key.
    pub async fn data_keys(&self) -> Result<Vec<WrappedKey>> {
        let rows: Vec<(i64, String, Vec<u8>)> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT number, master_key_id, wrapped FROM data_keys ORDER BY number, master_key_id")
                .fetch_all(pool)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(number, master_key_id, wrapped)| WrappedKey { number: number as u32, master_key_id, wrapped })
            .collect())
    }

    /// Creates data key 1 under `master` unless the storage has a data key already (another
    /// process starting at the same moment may have made it, under whatever key it was given).
    pub async fn create_first_data_key(&self, master: &MasterKey) -> Result<()> {
        let (_, wrapped) = master.new_data_key(1).map_err(|err| StoreError::Config(format!("{err:#}")))?;
        try_with_tx!(self, write, |tx| {
            // Processes starting together take turns here (SQLite's write transaction already
            // serialises them).
            sqlx::query(lock_data_keys(&tx)).execute(&mut *tx).await?;
            sqlx::query(
                "INSERT INTO data_keys (id, number, master_key_id, wrapped, created_at)
                 SELECT $4, 1, $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM data_keys)",
            )
            .bind(&master.id)
            .bind(&wrapped)
            .bind(now_seconds())
            .bind(format!("1/{}", master.id))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    /// Adds wrapped data keys, in one transaction; a key already wrapped under the same master
    /// key is left as it is.
    pub async fn add_data_keys(&self, keys: &[WrappedKey]) -> Result<()> {
        let now = now_seconds();
        try_with_tx!(self, write, |tx| {
            for key in keys {
                sqlx::query(
                    "INSERT INTO data_keys (id, number, master_key_id, wrapped, created_at) VALUES ($5, $1, $2, $3, $4)
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(i64::from(key.number))
                .bind(&key.master_key_id)
                .bind(&key.wrapped)
                .bind(now)
                .bind(format!("{}/{}", key.number, key.master_key_id))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    /// When data key `number` was first stored.
    pub async fn data_key_created_at(&self, number: u32) -> Result<Option<i64>> {
        let row: Option<(Option<i64>,)> = with_pool!(self, |pool| {
            sqlx::query_as("SELECT MIN(created_at) FROM data_keys WHERE number = $1")
                .bind(i64::from(number))
                .fetch_optional(pool)
                .await?
        });
        Ok(row.and_then(|(at,)| at))
    }

    /// Removes every data key but `number`, and every wrapping of it but the one under
    /// `master_key_id`: the end of a rotation.
    pub async fn retire_data_keys(&self, number: u32, master_key_id: &str) -> Result<u64> {
        Ok(with_pool!(self, |pool| {
            sqlx::query("DELETE FROM data_keys WHERE number <> $1 OR master_key_id <> $2")
                .bind(i64::from(number))
                .bind(master_key_id)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Up to `limit` recordings of `table` with IDs above `after`, in ID order.
    pub async fn sealed_recordings(
        &self,
        table: RecordingTable,
        after: i64,
        limit: i64,
    ) -> Result<Vec<SealedRecording>> {
        let sql = format!(
            "SELECT id, {} AS sample_id, embedding, conditions FROM {} WHERE id > $1 ORDER BY id LIMIT $2",
            table.sample_id(),
            table.name()
        );
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(after).bind(limit).fetch_all(pool).await?
        }))
    }

    /// Stores `recording`'s values sealed anew, unless the row changed since it was read (a
    /// newer write was sealed with the newest key anyway). The plain values do not change, so
    /// the group's version stays, and no cache reloads. Returns whether the row was updated.
    pub async fn reseal_recording(
        &self,
        table: RecordingTable,
        recording: &SealedRecording,
        embedding: &[u8],
        conditions: &[u8],
    ) -> Result<bool> {
        let sql = format!(
            "UPDATE {} SET embedding = $2, conditions = $3 WHERE id = $1 AND embedding = $4 AND conditions = $5",
            table.name()
        );
        Ok(with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(recording.id)
                .bind(embedding)
                .bind(conditions)
                .bind(&recording.embedding)
                .bind(&recording.conditions)
                .execute(pool)
                .await?
                .rows_affected()
                == 1
        }))
    }
}

/// The statement that makes concurrent first-key creations take turns on the backend of `tx`.
fn lock_data_keys<DB: Dialect>(_tx: &sqlx::Transaction<'_, DB>) -> &'static str {
    DB::LOCK_DATA_KEYS
}
