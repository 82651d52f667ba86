//! The audit trail's table (see `http/audit.rs` for what is recorded, and migration 0008): rows
//! are appended, read by `voxprint admin audit`, and deleted only once older than the retention.

use super::{with_pool, Result, Store};
use crate::storage::id_generator::IdGenerator;

/// One entry of the audit trail.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct AuditEntry {
    /// Unix seconds.
    pub at: i64,
    /// Who acted: absent for a request without a valid token, and for `voxprint admin`.
    pub team_id: Option<i64>,
    pub user_id: Option<i64>,
    pub token_id: Option<i64>,
    /// What was done, such as `create_voiceprint` or `speaker_identify`.
    pub action: String,
    /// The IDs it concerned, as `name=ID` pairs separated by spaces (e.g. `group=… feature=…`).
    pub resources: String,
    /// The Coze code of the answer: 0 for success.
    pub code: i64,
    pub logid: String,
    /// The client's IP address and port as the server saw them, or `cli`.
    pub client: String,
}

impl Store {
    pub async fn append_audit(&self, ids: &IdGenerator, entry: &AuditEntry) -> Result<()> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO audit_log (id, at, team_id, user_id, token_id, action, resources, code, logid, client)
                 VALUES ($10, $1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(entry.at)
            .bind(entry.team_id)
            .bind(entry.user_id)
            .bind(entry.token_id)
            .bind(&entry.action)
            .bind(&entry.resources)
            .bind(entry.code)
            .bind(&entry.logid)
            .bind(&entry.client)
            .bind(ids.next())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The entries from `since` (Unix seconds) on, of one user or all, oldest first.
    pub async fn audit_entries(&self, since: i64, user_id: Option<i64>) -> Result<Vec<AuditEntry>> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT at, team_id, user_id, token_id, action, resources, code, logid, client FROM audit_log
                 WHERE at >= $1 AND ($2 IS NULL OR user_id = $2) ORDER BY at, id",
            )
            .bind(since)
            .bind(user_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Deletes the entries older than `cutoff` (Unix seconds); returns how many.
    pub async fn forget_audit_before(&self, cutoff: i64) -> Result<u64> {
        Ok(with_pool!(self, |pool| {
            sqlx::query("DELETE FROM audit_log WHERE at < $1").bind(cutoff).execute(pool).await?.rows_affected()
        }))
    }
}
