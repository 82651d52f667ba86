//! Voiceprint groups: creation under a per-user quota, the team's list with its filters, update, delete.

use super::voiceprints::BUMP_GROUP_VERSION;
use super::{for_no_key_update, now_seconds, try_with_tx, with_pool, Param, Result, Store, StoreError};

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

/// A group with its creator, as the list endpoint shows it. The field order is that of
/// [`GROUP_PAGE_COLUMNS`].
#[derive(Debug, serde::Deserialize)]
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

/// The values of one group of a page, in the order of [`GroupView`]'s fields (serde reads a
/// struct from a JSON array in field order).
///
/// A page travels from the database as one JSON array of these rows rather than as rows: the
/// SQLite driver copies every value of every row and hands each row across threads, which took
/// half the CPU time of a 200-group page.
const GROUP_PAGE_COLUMNS: &str = "g.id, g.name, g.description, g.created_at, g.updated_at, g.voiceprint_count,
     u.id, u.name, u.nickname, u.avatar_url";

/// Who a group belongs to, for authorization.
#[derive(Debug, sqlx::FromRow)]
pub struct GroupOwner {
    pub team_id: i64,
    pub creator_id: i64,
}

/// The list filters as SQL over `voiceprint_groups g`, with the values to bind in order. Only
/// the filters given appear: a generic `($2 IS NULL OR …)` form defeats PostgreSQL's plan
/// estimates (it then computes every group's voiceprint count before taking a page). The same
/// text serves the page and a filtered count, so `total` counts exactly what the pages hold.
/// The name prefix is compared literally, by characters (`substr`/`length` count characters
/// on both backends), so `%`, `_` and `\` are plain text and Chinese works.
fn group_filter<'a>(filter: &GroupFilter<'a>) -> (String, Vec<Param<'a>>) {
    let mut params = vec![Param::Int(filter.team_id)];
    let mut sql = String::from("g.team_id = $1");
    if let Some(creator_id) = filter.creator_id {
        params.push(Param::Int(creator_id));
        sql += &format!(" AND g.creator_id = ${}", params.len());
    }
    if let Some(group_id) = filter.group_id {
        params.push(Param::Int(group_id));
        sql += &format!(" AND g.id = ${}", params.len());
    }
    if let Some(prefix) = filter.name_prefix {
        params.push(Param::Text(prefix));
        sql += &format!(" AND substr(g.name, 1, length(${n})) = ${n}", n = params.len());
    }
    (sql, params)
}

impl Store {
    /// Inserts the group unless its creator already owns `max_per_user` groups. The count and
    /// the insert run in one write transaction that first locks the creator's row (on SQLite the
    /// write lock does it), so concurrent requests from any number of processes take turns and
    /// cannot exceed the quota.
    pub async fn create_group(&self, group: NewGroup<'_>, max_per_user: i64) -> Result<()> {
        let now = now_seconds();
        let inserted = try_with_tx!(self, write, |tx| {
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
        const SQL: &str = "SELECT team_id, creator_id FROM voiceprint_groups WHERE id = $1";
        if let Some(reads) = &self.sqlite_reads {
            let owner = |row: &rusqlite::Row<'_>| Ok(GroupOwner { team_id: row.get(0)?, creator_id: row.get(1)? });
            return reads.query_row(SQL, &[Param::Int(group_id)], owner);
        }
        Ok(with_pool!(self, |pool| sqlx::query_as(SQL).bind(group_id).fetch_optional(pool).await?))
    }

    /// One page of groups, newest first (creation time, then ID), and the number of all matches.
    /// The page is cut from the groups alone before users are joined and voiceprints counted,
    /// so the work per request follows the page size, not the team's size. The page and the
    /// count come from one statement and one snapshot, as a single row: the page as one JSON
    /// array built by the database (see [`Dialect::json_rows`]) and the count beside it.
    pub async fn list_groups(&self, filter: &GroupFilter<'_>) -> Result<(Vec<GroupView>, i64)> {
        let (condition, params) = group_filter(filter);
        // LIMIT and OFFSET are written into the statement, not bound: SQLite plans with the
        // values bound to a LIMIT, so rebinding one expires the statement and every execution
        // compiled it anew (a quarter of the list's CPU time in a profile). They are integers,
        // and each page size and offset keeps its own cached statement.
        let (limit, offset) = (filter.limit, filter.offset);
        // Without filters the team's count is read from its row (kept by the database, see
        // migration 0006) rather than counted; a filtered total is counted, over the same text
        // as the page.
        let unfiltered = filter.creator_id.is_none() && filter.group_id.is_none() && filter.name_prefix.is_none();
        let total = if unfiltered {
            "COALESCE((SELECT group_count FROM teams WHERE id = $1), 0)".to_string()
        } else {
            format!("(SELECT COUNT(*) FROM voiceprint_groups g WHERE {condition})")
        };
        let page_sql = |rows: String| {
            format!(
                "SELECT {rows} AS page, {total} AS total
                 FROM (SELECT * FROM voiceprint_groups g WHERE {condition}
                       ORDER BY g.created_at DESC, g.id DESC LIMIT {limit} OFFSET {offset}) g
                 JOIN users u ON u.id = g.creator_id"
            )
        };
        self.read_page(page_sql, GROUP_PAGE_COLUMNS, "g.created_at DESC, g.id DESC", &params).await
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
        try_with_tx!(self, write, |tx| {
            // The group row's lock first: an enrollment racing this deletion then either
            // commits before the keys are read or finds the group gone, never leaving audio
            // that no row refers to.
            let found = sqlx::query(BUMP_GROUP_VERSION).bind(group_id).execute(&mut *tx).await?.rows_affected();
            if found == 0 {
                return Err(StoreError::NotFound("voiceprint group"));
            }
            let keys: Vec<(String,)> = sqlx::query_as(
                "SELECT audio_key FROM voiceprints WHERE group_id = $1
                 UNION ALL
                 SELECT s.audio_key FROM voiceprint_samples s JOIN voiceprints v ON v.id = s.voiceprint_id
                 WHERE v.group_id = $1",
            )
            .bind(group_id)
            .fetch_all(&mut *tx)
            .await?;
            sqlx::query("DELETE FROM voiceprint_groups WHERE id = $1").bind(group_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(keys.into_iter().map(|(key,)| key).collect())
        })
    }
}
