//! Persistent state: teams, users, tokens, voiceprint groups and voiceprints.
//!
//! Every rule that must hold across processes (quotas, the single bootstrap admin, unique ID
//! nodes) is enforced here by the database inside one statement or transaction — never by a
//! check in process memory — so it holds with many `voxprint` processes on one database.
//! Backend differences stay inside this module.
//!
//! Two backends: SQLite (embedded, the default) and PostgreSQL (many instances). Queries are
//! written once, with `$N` parameters that both understand, and compiled once per backend by
//! the `with_pool!`/`try_with_tx!` macros below, so each runs with native types and no
//! runtime translation layer. On SQLite the reads every request makes (the token) and the list
//! pages run the same SQL text through `sqlite_reads`, on the calling thread.
//!
//! Counts shown to clients (a team's groups, a group's voiceprints) are kept in their parent's
//! row by triggers (migration 0006), so that they stay exact without a scan per request.

mod accounts;
mod audit;
mod data_keys;
mod faults;
mod groups;
mod privacy;
mod samples;
mod sqlite_reads;
pub mod transfer;
mod voiceprints;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};

pub use audit::AuditEntry;
pub use data_keys::{RecordingTable, SealedRecording};
pub use groups::{GroupFilter, GroupOwner, GroupView, NewGroup};
pub use samples::{SampleAudio, SampleLimits, SampleView};
use sqlite_reads::SqliteReads;
pub use voiceprints::{AudioRecord, NewVoiceprint, StaleVoiceprint, StoredAudio, VoiceprintOwner, VoiceprintView};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the user already owns {limit} voiceprint groups, the most allowed")]
    GroupQuota { limit: i64 },
    #[error("the voiceprint group already holds {limit} voiceprints, the most allowed")]
    VoiceprintQuota { limit: i64 },
    #[error("the voiceprint already has {limit} samples, the most allowed")]
    SampleQuota { limit: i64 },
    #[error(
        "the voiceprint's samples already hold {stored_seconds:.1} s of speech, at most {limit_seconds} s are allowed"
    )]
    SampleSpeechQuota { limit_seconds: f64, stored_seconds: f64 },
    #[error("a voiceprint keeps at least one sample")]
    LastSample,
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The database cannot write or cannot be reached for now (see `faults::is_unavailable`);
    /// a retry later may succeed.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] BoxError),
    #[error("database error: {0}")]
    Database(#[source] BoxError),
    #[error("{0}")]
    Config(String),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Sealed(#[from] crate::storage::encryption::SealError),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> StoreError {
        if faults::is_unavailable(&err) {
            StoreError::Unavailable(Box::new(err))
        } else {
            StoreError::Database(Box::new(err))
        }
    }
}

/// A driver's error (sqlx's, or rusqlite's for the reads of `sqlite_reads`).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub use crate::clock::now_seconds;

pub type Result<T> = std::result::Result<T, StoreError>;

/// The open connection pool of one of the two backends.
#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// On the embedded database, where its hottest reads run (see `sqlite_reads`).
    sqlite_reads: Option<Arc<SqliteReads>>,
    /// With encryption at rest: what seals and opens the embeddings (see `data_keys.rs`).
    keyring: Option<Arc<crate::storage::encryption::Keyring>>,
}

/// A value bound to a query built at run time, or to a read of `sqlite_reads`.
#[derive(Clone, Copy)]
enum Param<'a> {
    Int(i64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// Binds `params` to the sqlx `query` in order.
macro_rules! bind_all {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for param in $params {
            query = match *param {
                $crate::storage::database::Param::Int(value) => query.bind(value),
                $crate::storage::database::Param::Text(value) => query.bind(value),
                $crate::storage::database::Param::Blob(value) => query.bind(value),
            };
        }
        query
    }};
}

/// Evaluates `$body` with `$pool` bound to the concrete pool; the body is compiled once for
/// each backend. The body is inlined, not a closure: a `?` or `return` in it leaves the calling
/// method.
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.pool {
            $crate::storage::database::Pool::Sqlite($pool) => $body,
            $crate::storage::database::Pool::Postgres($pool) => $body,
        }
    };
}

/// Evaluates `$body` with `$tx` an open transaction of the kind `$kind`:
/// - `write`: may write. SQLite takes its write lock at `BEGIN IMMEDIATE` (it cannot upgrade a
///   read transaction once another process committed); PostgreSQL runs READ COMMITTED and
///   relies on row locks (see `Dialect::FOR_NO_KEY_UPDATE`).
/// - `snapshot`: reads several statements from one consistent snapshot.
///
/// The body must commit; dropping the transaction rolls it back. Named `try_` because it
/// returns from the calling method like `?`: a failure to open the transaction is returned as
/// its `Err`, and a `?` or `return` in the inlined body leaves the calling method too.
macro_rules! try_with_tx {
    ($store:expr, $kind:ident, |$tx:ident| $body:expr) => {
        match &$store.pool {
            $crate::storage::database::Pool::Sqlite(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool.begin_with(<sqlx::Sqlite as $crate::storage::database::Dialect>::$kind).await?;
                $body
            }
            $crate::storage::database::Pool::Postgres(pool) => {
                #[allow(unused_mut)]
                let mut $tx = pool.begin_with(<sqlx::Postgres as $crate::storage::database::Dialect>::$kind).await?;
                $body
            }
        }
    };
}

use {try_with_tx, with_pool};

/// The little SQL that differs between the backends.
trait Dialect: sqlx::Database {
    /// Opens a transaction that may write.
    #[allow(non_upper_case_globals)]
    const write: &'static str;
    /// Opens a read-only transaction whose statements all see one snapshot.
    #[allow(non_upper_case_globals)]
    const snapshot: &'static str;
    /// Appended to a SELECT to hold the rows until commit, so that concurrent transactions
    /// counting the same rows take turns. Empty on SQLite, where `write` already serialises
    /// every writer. (NO KEY UPDATE: foreign-key checks of other inserts need not wait.)
    const FOR_NO_KEY_UPDATE: &'static str;
    /// Makes writers of `data_keys` take turns until commit (SQLite's `write` already does).
    const LOCK_DATA_KEYS: &'static str;
    /// An aggregate whose value is the text of one JSON array holding, for each row in `order`,
    /// the array of `values`; `[]` when there are no rows.
    fn json_rows(values: &str, order: &str) -> String;
}

impl Dialect for sqlx::Sqlite {
    const write: &'static str = "BEGIN IMMEDIATE";
    const snapshot: &'static str = "BEGIN";
    const FOR_NO_KEY_UPDATE: &'static str = "";
    const LOCK_DATA_KEYS: &'static str = "SELECT 1";
    fn json_rows(values: &str, order: &str) -> String {
        format!("json_group_array(json_array({values}) ORDER BY {order})")
    }
}

impl Dialect for sqlx::Postgres {
    const write: &'static str = "BEGIN";
    const snapshot: &'static str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
    const FOR_NO_KEY_UPDATE: &'static str = "FOR NO KEY UPDATE";
    const LOCK_DATA_KEYS: &'static str = "LOCK TABLE data_keys IN EXCLUSIVE MODE";
    fn json_rows(values: &str, order: &str) -> String {
        format!("COALESCE(json_agg(json_build_array({values}) ORDER BY {order}), '[]')::text")
    }
}

/// [`Dialect::json_rows`] for the backend of `pool`.
fn json_rows<DB: Dialect>(_pool: &sqlx::Pool<DB>, values: &str, order: &str) -> String {
    DB::json_rows(values, order)
}

/// The row-lock clause for the backend of `tx` (see `Dialect::FOR_NO_KEY_UPDATE`).
fn for_no_key_update<DB: Dialect>(_tx: &sqlx::Transaction<'_, DB>) -> &'static str {
    DB::FOR_NO_KEY_UPDATE
}

/// The file name of the embedded database inside the data directory.
pub const SQLITE_FILE: &str = "voxprint.db";

/// How many connections one process keeps to PostgreSQL at most.
pub const DEFAULT_POSTGRES_CONNECTIONS: u32 = 16;

/// How long a request waits for a PostgreSQL connection, reconnecting meanwhile, before it is
/// answered "storage unavailable, retry": long enough to ride out a quick server restart, short
/// enough that clients are not left hanging through a real outage.
const POSTGRES_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// A PostgreSQL connection idle this long is pinged before it is used again (see
/// `faults::pool_options`).
const POSTGRES_PING_AFTER_IDLE: Duration = Duration::from_secs(1);

impl Store {
    /// Opens the database — PostgreSQL when `database_url` is given, else the embedded SQLite
    /// file under `data_dir` — and applies pending migrations.
    pub async fn open(data_dir: &Path, database_url: Option<&str>, max_connections: u32) -> Result<Store> {
        match database_url {
            None => Store::open_sqlite(data_dir).await,
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Store::open_postgres(url, max_connections).await
            }
            Some(_) => Err(StoreError::Config(
                "the database URL must start with postgres:// or postgresql:// (leave it out for the embedded SQLite database)".into(),
            )),
        }
    }

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
        // sqlx's migrator takes no lock on SQLite, and switching a new file to WAL fails at once
        // with "database is locked" (no busy wait) while another process does the same. This file
        // lock makes processes starting together connect and migrate one after the other.
        let lock =
            crate::storage::private_files::open_or_create(&data_dir.join(format!("{SQLITE_FILE}.migrate-lock")))?;
        let lock =
            tokio::task::spawn_blocking(move || lock.lock().map(|()| lock)).await.map_err(std::io::Error::other)??;
        let pool = faults::pool_options::<sqlx::Sqlite>(None)
            .max_connections(8)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        drop(lock);
        Ok(Store { pool: Pool::Sqlite(pool), sqlite_reads: Some(Arc::new(SqliteReads::new(path))), keyring: None })
    }

    /// Connects to PostgreSQL and applies pending migrations. sqlx's migrator holds an advisory
    /// lock while it works, so instances starting together apply each migration once.
    async fn open_postgres(url: &str, max_connections: u32) -> Result<Store> {
        let options = PgConnectOptions::from_str(url)?;
        // One direct connection first: the pool retries failed connections until its timeout
        // and then reports only that it timed out, hiding why (refused, password, no database).
        sqlx::Connection::close(<sqlx::PgConnection as sqlx::Connection>::connect_with(&options).await?).await?;
        let pool = faults::pool_options::<sqlx::Postgres>(Some(POSTGRES_PING_AFTER_IDLE))
            .max_connections(max_connections.max(1))
            .acquire_timeout(POSTGRES_ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Store { pool: Pool::Postgres(pool), sqlite_reads: None, keyring: None })
    }

    /// The named secret shared by every process on this database, created with `generate` by
    /// whichever process asks first.
    pub async fn shared_secret(&self, name: &str, generate: impl FnOnce() -> Vec<u8>) -> Result<Vec<u8>> {
        let generated = generate();
        let (value,): (Vec<u8>,) = with_pool!(self, |pool| {
            sqlx::query("INSERT INTO server_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(&generated)
                .execute(pool)
                .await?;
            sqlx::query_as("SELECT value FROM server_secrets WHERE name = $1").bind(name).fetch_one(pool).await?
        });
        Ok(value)
    }

    /// One page of a list and its total, from the one-row statement `page_sql(rows)`: `rows` is
    /// the [`Dialect::json_rows`] aggregate of `values` in `order`, the total its second column.
    /// On SQLite it runs through `sqlite_reads`.
    async fn read_page<T: serde::de::DeserializeOwned>(
        &self,
        page_sql: impl Fn(String) -> String,
        values: &str,
        order: &str,
        params: &[Param<'_>],
    ) -> Result<(Vec<T>, i64)> {
        let (page, total) = match &self.sqlite_reads {
            Some(reads) => reads.page(&page_sql(<sqlx::Sqlite as Dialect>::json_rows(values, order)), params)?,
            None => with_pool!(self, |pool| {
                let sql = page_sql(json_rows(pool, values, order));
                bind_all!(sqlx::query_as(sqlx::AssertSqlSafe(sql)), params).fetch_one(pool).await?
            }),
        };
        let rows = serde_json::from_str(&page).map_err(|err| StoreError::Database(Box::new(err)))?;
        Ok((rows, total))
    }

    /// Commits a one-row write, for readiness checks: a read would still pass on a full or
    /// read-only disk.
    pub async fn probe_write(&self) -> Result<()> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO storage_probe (singleton, probed_at) VALUES (1, $1)
                 ON CONFLICT (singleton) DO UPDATE SET probed_at = excluded.probed_at",
            )
            .bind(now_seconds())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Leases an ID-generator node number for this process (see `storage/id_generator.rs`).
    pub async fn lease_id_node(&self) -> Result<i64> {
        let (lease,): (i64,) = with_pool!(self, |pool| {
            sqlx::query_as("INSERT INTO id_nodes (started_at) VALUES ($1) RETURNING id")
                .bind(now_seconds())
                .fetch_one(pool)
                .await?
        });
        Ok(lease)
    }
}
