//! The hottest reads of the embedded database, run on the calling thread.
//!
//! sqlx runs each SQLite connection on a thread of its own: a statement is sent to that thread,
//! its rows come back one message at a time, and the pool pings the connection when it is
//! returned, so a one-row read costs four thread wakeups. Profiled under load, those handoffs
//! were a third of the CPU time of a list request, more than SQLite spent executing it.
//!
//! The reads made by every request (the token), and the list pages, therefore run here on
//! plain connections of their own, inline. That is safe for an async task because a reader in
//! WAL mode never waits for a writer: it reads the last committed snapshot, and the statements
//! here take tens of microseconds, less than a handoff to another thread would. Writes and
//! multi-statement transactions stay with sqlx.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, Row};

use super::{Param, Result, StoreError};

/// Connections for reads on one database file, opened on first use and kept for reuse. At most
/// as many are open as reads ever ran at once: one per thread that runs requests.
pub(super) struct SqliteReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteReads {
    pub(super) fn new(path: PathBuf) -> SqliteReads {
        SqliteReads { path, idle: Mutex::new(Vec::new()) }
    }

    /// The first row of `sql` with `params` bound to its `$N` placeholders, mapped by `map`;
    /// `None` when there is no row.
    pub(super) fn query_row<T>(
        &self,
        sql: &str,
        params: &[Param<'_>],
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<Option<T>> {
        let connection = self.take()?;
        let row = run(&connection, sql, params, map)?;
        // Returned only after success: a connection that failed is closed rather than reused.
        self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(connection);
        Ok(row)
    }

    /// The page of a list statement that returns one row: the page as the JSON text of
    /// [`super::Dialect::json_rows`], and the total.
    pub(super) fn page(&self, sql: &str, params: &[Param<'_>]) -> Result<(String, i64)> {
        self.query_row(sql, params, |row| Ok((row.get(0)?, row.get(1)?)))?
            .ok_or(StoreError::Database(Box::new(rusqlite::Error::QueryReturnedNoRows)))
    }

    /// An idle connection, or a new one when all are in use.
    fn take(&self) -> Result<Connection> {
        if let Some(connection) = self.idle.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).pop() {
            return Ok(connection);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(&self.path, flags)?;
        // The same wait as the pool's for the rare moments a reader must wait (a WAL recovery).
        connection.busy_timeout(Duration::from_secs(30))?;
        // Reads only, enforced by SQLite: a write through here would bypass the write lock
        // discipline of the pool (`BEGIN IMMEDIATE`).
        connection.pragma_update(None, "query_only", true)?;
        // Each page size and offset of a list is a statement of its own (see `list_groups`).
        connection.set_prepared_statement_cache_capacity(64);
        Ok(connection)
    }
}

/// Runs `sql` on `connection` from its statement cache. Placeholders are `$N`, as in the
/// queries sqlx runs: SQLite numbers them by first appearance, so each is bound by its name.
fn run<T>(
    connection: &Connection,
    sql: &str,
    params: &[Param<'_>],
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    let mut statement = connection.prepare_cached(sql)?;
    for index in 1..=statement.parameter_count() {
        let position = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|number| number.parse::<usize>().ok())
            .and_then(|number| number.checked_sub(1))
            .filter(|&position| position < params.len())
            .ok_or(rusqlite::Error::InvalidParameterCount(index, params.len()))?;
        match params[position] {
            Param::Int(value) => statement.raw_bind_parameter(index, value)?,
            Param::Text(value) => statement.raw_bind_parameter(index, value)?,
            Param::Blob(value) => statement.raw_bind_parameter(index, value)?,
        }
    }
    let mut rows = statement.raw_query();
    rows.next()?.map(map).transpose()
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> StoreError {
        let unavailable = match &err {
            rusqlite::Error::SqliteFailure(failure, _) => super::faults::sqlite_unavailable(failure.extended_code),
            _ => false,
        };
        if unavailable {
            StoreError::Unavailable(Box::new(err))
        } else {
            StoreError::Database(Box::new(err))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_numbered_placeholders_by_name_and_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reads.db");
        let writer = Connection::open(&path).unwrap();
        writer.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (a INTEGER, b TEXT, c BLOB);").unwrap();
        writer.execute("INSERT INTO t VALUES (1, 'one', x'01'), (2, 'two', x'02')", []).unwrap();
        let reads = SqliteReads::new(path);
        // `$2` appears first, and `$1` twice: each must get its own value.
        let sql = "SELECT a, b FROM t WHERE c = $2 AND (a = $1 OR $1 = 0)";
        let row = |row: &Row<'_>| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?));
        let found = reads.query_row(sql, &[Param::Int(2), Param::Blob(&[2])], row).unwrap();
        assert_eq!(found, Some((2, "two".to_string())));
        assert_eq!(reads.query_row(sql, &[Param::Int(1), Param::Blob(&[2])], row).unwrap(), None);
        // A commit made elsewhere is seen by the next read on the kept connection.
        writer.execute("INSERT INTO t VALUES (3, 'three', x'03')", []).unwrap();
        let three = reads.query_row("SELECT b FROM t WHERE b = $1", &[Param::Text("three")], |row| row.get(0));
        assert_eq!(three.unwrap(), Some("three".to_string()));
        assert!(reads.query_row("SELECT a FROM t WHERE a = $2", &[Param::Int(1)], |row| row.get::<_, i64>(0)).is_err());
        let write = reads.query_row("DELETE FROM t RETURNING a", &[], |row| row.get::<_, i64>(0));
        assert!(write.is_err_and(|err| err.to_string().contains("readonly")), "a write must be refused");
        assert_eq!(reads.query_row("SELECT COUNT(*) FROM t", &[], |row| row.get::<_, i64>(0)).unwrap(), Some(3));
    }
}
