//! Voiceprint groups: creation under a per-user quota, the seed's list query, update, delete.

use super::{for_no_key_update, now_seconds, with_pool, with_tx, Result, Store, StoreError};

pub struct NewGroup<'a> {
    pub id: i64,
    pub team_id: i64,
    pub creator_id: i64,
    pub name: &'a str,
    pub description: &'a str,
}

/// The list endpoint's filters; `team_id` is always the caller's team.
pub struct GroupFilter<'a> {
    pub team_id: i64,
    pub creator_id: Option<i64>,
    pub group_id: Option<i64>,
    pub name_prefix: Option<&'a str>,
    pub limit: i64,
    pub offset: i64,
}

/// A group with its creator, as the list endpoint shows it.
#[derive(Debug, sqlx::FromRow)]
pub struct GroupView {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub feature_count: i64,
    pub creator_id: i64,
    pub creator_name: String,
    pub creator_nickname: String,
    pub creator_avatar_url: String,
}

#[derive(sqlx::FromRow)]
struct GroupPageRow {
    #[sqlx(flatten)]
    group: GroupView,
    total: i64,
}

/// Who a group belongs to, for authorization.
#[derive(Debug, sqlx::FromRow)]
pub struct GroupOwner {
    pub team_id: i64,
    pub creator_id: i64,
}

/// The filter shared by the page query and the count, so `total` always counts exactly what
/// the pages hold. The name prefix is compared literally, by characters (`substr`/`length`
/// count characters in SQLite), so `%`, `_` and `\` are plain text and Chinese works.
const GROUP_FILTER: &str = "g.team_id = $1
    AND ($2 IS NULL OR g.creator_id = $2)
    AND ($3 IS NULL OR g.id = $3)
    AND ($4 IS NULL OR substr(g.name, 1, length($4)) = $4)";

impl Store {
    /// Inserts the group unless its creator already owns `max_per_user` groups. The count and
    /// the insert run in one write transaction that first locks the creator's row (on SQLite the
    /// write lock does it), so concurrent requests from any number of processes take turns and
    /// cannot exceed the quota.
    pub async fn create_group(&self, group: NewGroup<'_>, max_per_user: i64) -> Result<()> {
        let now = now_seconds();
        let inserted = with_tx!(self, write, |tx| {
            let lock = format!("SELECT id FROM users WHERE id = $1 {}", for_no_key_update(&tx));
            sqlx::query(sqlx::AssertSqlSafe(lock)).bind(group.creator_id).execute(&mut *tx).await?;
            let inserted = sqlx::query(
                "INSERT INTO voiceprint_groups (id, team_id, creator_id, name, description, created_at, updated_at)
                 SELECT $1, $2, $3, $4, $5, $6, $6
                 WHERE (SELECT COUNT(*) FROM voiceprint_groups WHERE creator_id = $3) < $7",
            )
            .bind(group.id)
            .bind(group.team_id)
            .bind(group.creator_id)
            .bind(group.name)
            .bind(group.description)
            .bind(now)
            .bind(max_per_user)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            inserted
        });
        if inserted == 0 {
            return Err(StoreError::GroupQuota { limit: max_per_user });
        }
        Ok(())
    }

    pub async fn group_owner(&self, group_id: i64) -> Result<Option<GroupOwner>> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as("SELECT team_id, creator_id FROM voiceprint_groups WHERE id = $1")
                .bind(group_id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// One page of groups, newest first (creation time, then ID), and the number of all matches.
    /// The count rides along in the page query (both backends evaluate the uncorrelated subquery once),
    /// so both come from one statement and one snapshot; only an empty page needs a second query.
    pub async fn list_groups(&self, filter: &GroupFilter<'_>) -> Result<(Vec<GroupView>, i64)> {
        let page_sql = format!(
            "SELECT g.id, g.name, g.description, g.created_at, g.updated_at,
                    (SELECT COUNT(*) FROM voiceprints v WHERE v.group_id = g.id) AS feature_count,
                    u.id AS creator_id, u.name AS creator_name, u.nickname AS creator_nickname,
                    u.avatar_url AS creator_avatar_url,
                    (SELECT COUNT(*) FROM voiceprint_groups g WHERE {GROUP_FILTER}) AS total
             FROM voiceprint_groups g JOIN users u ON u.id = g.creator_id
             WHERE {GROUP_FILTER}
             ORDER BY g.created_at DESC, g.id DESC
             LIMIT $5 OFFSET $6"
        );
        let count_sql = format!("SELECT COUNT(*) FROM voiceprint_groups g WHERE {GROUP_FILTER}");
        with_pool!(self, |pool| {
            let rows: Vec<GroupPageRow> = sqlx::query_as(sqlx::AssertSqlSafe(page_sql))
                .bind(filter.team_id)
                .bind(filter.creator_id)
                .bind(filter.group_id)
                .bind(filter.name_prefix)
                .bind(filter.limit)
                .bind(filter.offset)
                .fetch_all(pool)
                .await?;
            let total = match rows.first() {
                Some(row) => row.total,
                None => {
                    let (total,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(count_sql))
                        .bind(filter.team_id)
                        .bind(filter.creator_id)
                        .bind(filter.group_id)
                        .bind(filter.name_prefix)
                        .fetch_one(pool)
                        .await?;
                    total
                }
            };
            Ok((rows.into_iter().map(|row| row.group).collect(), total))
        })
    }

    /// Changes the given fields and moves `updated_at`.
    pub async fn update_group(&self, group_id: i64, name: Option<&str>, description: Option<&str>) -> Result<()> {
        let updated = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE voiceprint_groups
                 SET name = COALESCE($2, name), description = COALESCE($3, description), updated_at = $4
                 WHERE id = $1",
            )
            .bind(group_id)
            .bind(name)
            .bind(description)
            .bind(now_seconds())
            .execute(pool)
            .await?
            .rows_affected()
        });
        if updated == 0 {
            return Err(StoreError::NotFound("voiceprint group"));
        }
        Ok(())
    }

    /// Deletes the group; its voiceprints go with it (foreign key cascade). Returns their blob
    /// keys, for the caller to delete the audio once the rows are gone.
    pub async fn delete_group(&self, group_id: i64) -> Result<Vec<String>> {
        with_tx!(self, write, |tx| {
            let keys: Vec<(String,)> = sqlx::query_as("SELECT audio_key FROM voiceprints WHERE group_id = $1")
                .bind(group_id)
                .fetch_all(&mut *tx)
                .await?;
            let deleted = sqlx::query("DELETE FROM voiceprint_groups WHERE id = $1")
                .bind(group_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if deleted == 0 {
                return Err(StoreError::NotFound("voiceprint group"));
            }
            tx.commit().await?;
            Ok(keys.into_iter().map(|(key,)| key).collect())
        })
    }
}
