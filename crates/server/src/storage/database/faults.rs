//! Storage faults on the database side: which failures mean "the database cannot write or
//! cannot be reached right now" (so the request may be retried), and the pool setting that keeps
//! a connection spoiled by a failed transaction from being handed out again.

use std::borrow::Cow;
use std::time::Duration;

use sqlx::pool::{PoolConnectionMetadata, PoolOptions};
use sqlx::{Connection, Database};

/// Whether `err` says the database is out of service for now rather than that the request or
/// our code is wrong: a full, read-only or failing disk, a lost or restarting PostgreSQL server,
/// no connection to be had in time. Nothing is wrong with the request, so a retry may succeed.
pub(super) fn is_unavailable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() => {
            db.code().and_then(|code| code.parse::<i32>().ok()).is_some_and(sqlite_unavailable)
        }
        sqlx::Error::Database(db) => db.code().is_some_and(postgres_unavailable),
        _ => false,
    }
}

/// SQLite result codes (the primary code, the low byte of the extended one) for a database
/// that cannot write now: SQLITE_BUSY (5: another process held the write lock past the busy
/// timeout), SQLITE_READONLY (8), SQLITE_IOERR (10), SQLITE_FULL (13), SQLITE_CANTOPEN (14).
pub(super) fn sqlite_unavailable(extended_code: i32) -> bool {
    matches!(extended_code & 0xff, 5 | 8 | 10 | 13 | 14)
}

/// PostgreSQL SQLSTATEs for a server that cannot serve now: class 08 (connection exception),
/// 53 (insufficient resources: disk full, out of memory, too many connections), 57P01–57P03
/// (shutting down, crashed, starting up), 58 (system and I/O errors) and 25006 (a read-only
/// server, such as a standby during a failover).
fn postgres_unavailable(sqlstate: Cow<'_, str>) -> bool {
    ["08", "53", "58"].iter().any(|class| sqlstate.starts_with(class))
        || ["57P01", "57P02", "57P03", "25006"].contains(&sqlstate.as_ref())
}

/// Pool settings both backends share. sqlx returns a connection to the pool even when its
/// COMMIT or ROLLBACK failed, and then still counts it inside a transaction. SQLite, for one,
/// ends the transaction by itself on SQLITE_FULL or SQLITE_IOERR, so the ROLLBACK sqlx sends
/// next fails ("no transaction is active") and the count stays at 1 for good: every later
/// `BEGIN` on that connection failed with "attempted to call begin_with at non-zero transaction
/// depth", long after the disk had room again. So a connection is checked before it is handed
/// out, after the pool's own ping on its return has flushed any rollback still queued on it,
/// and closed (a fresh one is opened in its place) if it is still counted inside a transaction.
///
/// sqlx's own ping before each hand-out is replaced by one only for a connection idle for
/// `ping_after_idle` or longer: a connection returned moments ago passed the ping on its
/// return, and pinging again cost a round trip per statement. A server lost while the
/// connection sat idle (a PostgreSQL restart takes longer than that) is still found before
/// the connection is used. `None` never pings (an in-process SQLite connection cannot be lost).
pub(super) fn pool_options<DB: Database>(ping_after_idle: Option<Duration>) -> PoolOptions<DB> {
    PoolOptions::new().test_before_acquire(false).before_acquire(
        move |connection: &mut DB::Connection, meta: PoolConnectionMetadata| {
            Box::pin(async move {
                if connection.is_in_transaction() {
                    tracing::warn!("closing a database connection left inside a failed transaction");
                    return Ok(false);
                }
                if ping_after_idle.is_some_and(|limit| meta.idle_for >= limit) {
                    connection.ping().await?;
                }
                Ok(true)
            })
        },
    )
}

#[cfg(test)]
mod tests {
    use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};
    use sqlx::Sqlite;

    use super::*;

    /// A one-connection pool on a fresh database file, with the shared settings.
    async fn one_connection_pool(dir: &std::path::Path) -> SqlitePool {
        let options = SqliteConnectOptions::new().filename(dir.join("test.db")).create_if_missing(true);
        pool_options::<Sqlite>(None).max_connections(1).connect_with(options).await.unwrap()
    }

    #[tokio::test]
    async fn a_connection_whose_transaction_ended_under_sqlx_is_not_reused() {
        let dir = tempfile::tempdir().unwrap();
        let pool = one_connection_pool(dir.path()).await;
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
        // What SQLite does by itself on SQLITE_FULL or SQLITE_IOERR: the transaction ends, and
        // the ROLLBACK sqlx sends when `tx` is dropped then fails.
        sqlx::query("ROLLBACK").execute(&mut *tx).await.unwrap();
        drop(tx);
        // Without the check, the same connection came back still counted inside a transaction.
        let tx = pool.begin_with("BEGIN IMMEDIATE").await.expect("a clean connection");
        tx.commit().await.unwrap();
    }

    #[test]
    fn classifies_full_read_only_and_lost_storage_as_unavailable() {
        assert!(sqlite_unavailable(13)); // SQLITE_FULL
        assert!(sqlite_unavailable(8 | (1 << 8))); // SQLITE_READONLY_RECOVERY
        assert!(sqlite_unavailable(10 | (3 << 8))); // SQLITE_IOERR_WRITE
        assert!(!sqlite_unavailable(19 | (8 << 8))); // SQLITE_CONSTRAINT_UNIQUE
        assert!(!sqlite_unavailable(1)); // SQLITE_ERROR
        for sqlstate in ["08006", "53100", "57P01", "57P03", "58030", "25006"] {
            assert!(postgres_unavailable(sqlstate.into()), "{sqlstate}");
        }
        for sqlstate in ["23505", "40001", "42P01", "57014"] {
            assert!(!postgres_unavailable(sqlstate.into()), "{sqlstate}");
        }
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(is_unavailable(&sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into())));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
    }
}
