//! Persistent state: teams, users, tokens, voiceprint groups and voiceprints.
//!
//! Every rule that must hold across processes (quotas, the single bootstrap admin, unique ID
//! nodes) is enforced here by the database inside one statement or transaction — never by a
//! check in process memory — so it holds with many `voxprint` processes on one database.
//! Backend differences stay inside this module.

mod accounts;
mod groups;
mod voiceprints;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use groups::{GroupFilter, GroupOwner, GroupView, NewGroup};
pub use voiceprints::{NewVoiceprint, StoredAudio, VoiceprintOwner, VoiceprintView};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the user already owns {limit} voiceprint groups, the most allowed")]
    GroupQuota { limit: i64 },
    #[error("the voiceprint group already holds {limit} voiceprints, the most allowed")]
    VoiceprintQuota { limit: i64 },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

pub use crate::clock::now_seconds;

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

/// The file name of the embedded database inside the data directory.
pub const SQLITE_FILE: &str = "voxprint.db";

impl Store {
    /// Opens (creating if needed) the embedded database under `data_dir` and applies pending
    /// migrations. Safe while other processes use the same file (WAL, busy timeout).
    pub async fn open_sqlite(data_dir: &Path) -> Result<Store> {
        std::fs::create_dir_all(data_dir)?;
        let path = data_dir.join(SQLITE_FILE);
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // NORMAL with WAL: a committed transaction survives a process crash; only a power
            // failure can lose the last transactions, never corrupt the file.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Store { pool })
    }

    /// A transaction that takes the write lock at its start. SQLite cannot upgrade a read
    /// transaction to a write one after another process committed (it fails at once, without
    /// waiting), so every transaction that writes must start this way.
    async fn write_tx(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }

    /// The named secret shared by every process on this database, created with `generate` by
    /// whichever process asks first.
    pub async fn shared_secret(&self, name: &str, generate: impl FnOnce() -> Vec<u8>) -> Result<Vec<u8>> {
        sqlx::query("INSERT INTO server_secrets (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(generate())
            .execute(&self.pool)
            .await?;
        let (value,): (Vec<u8>,) = sqlx::query_as("SELECT value FROM server_secrets WHERE name = ?1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        Ok(value)
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Leases an ID-generator node number for this process (see `ids.rs`).
    pub async fn lease_id_node(&self) -> Result<i64> {
        let (lease,): (i64,) = sqlx::query_as("INSERT INTO id_nodes (started_at) VALUES (?1) RETURNING id")
            .bind(now_seconds())
            .fetch_one(&self.pool)
            .await?;
        Ok(lease)
    }

}
