//! Teams, users and tokens, and the first-start bootstrap.

use super::{now_seconds, try_with_tx, with_pool, Param, Result, Store, StoreError};
use crate::domain::PermissionSet;
use crate::storage::id_generator::IdGenerator;
use crate::domain::token;

#[derive(Debug, sqlx::FromRow)]
pub struct TeamRow {
    pub id: i64,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub team_id: i64,
    pub name: String,
    pub nickname: String,
    pub avatar_url: String,
    pub created_at: i64,
}

#[derive(Debug, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub permissions: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// What authentication needs to know about a presented token.
#[derive(Debug, sqlx::FromRow)]
pub struct TokenRecord {
    pub token_id: i64,
    pub token_hash: Vec<u8>,
    pub user_id: i64,
    pub team_id: i64,
    pub permissions: String,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Created by the first start only.
pub struct BootstrapAdmin {
    pub team_id: i64,
    pub user_id: i64,
    pub token: String,
}

impl Store {
    /// Creates the default team, an admin user and an all-permission token, exactly once per
    /// database: the `bootstrap` row is inserted first, inside the same transaction, so of two
    /// processes starting at once only one creates anything. Returns `None` on later starts.
    pub async fn bootstrap(&self, ids: &IdGenerator) -> Result<Option<BootstrapAdmin>> {
        let now = now_seconds();
        let (team_id, user_id, token_id) = (ids.next(), ids.next(), ids.next());
        let token = token::generate().map_err(|err| StoreError::Io(std::io::Error::other(err)))?;
        let created = try_with_tx!(self, write, |tx| {
            let claimed = sqlx::query(
                "INSERT INTO bootstrap (singleton, team_id, admin_id, created_at) VALUES (1, $1, $2, $3)
                 ON CONFLICT (singleton) DO NOTHING",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 1 {
                sqlx::query("INSERT INTO teams (id, name, created_at) VALUES ($1, 'Default team', $2)")
                    .bind(team_id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO users (id, team_id, name, nickname, avatar_url, created_at)
                     VALUES ($1, $2, 'admin', 'Administrator', '', $3)",
                )
                .bind(user_id)
                .bind(team_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                sqlx::query(INSERT_TOKEN)
                    .bind(token_id)
                    .bind(user_id)
                    .bind(&token.hash[..])
                    .bind(PermissionSet::all().to_names())
                    .bind(now)
                    .bind(None::<i64>)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            claimed == 1
        });
        if !created {
            return Ok(None);
        }
        Ok(Some(BootstrapAdmin { team_id, user_id, token: token.secret }))
    }

    pub async fn create_team(&self, ids: &IdGenerator, name: &str) -> Result<i64> {
        let id = ids.next();
        with_pool!(self, |pool| {
            sqlx::query("INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(name)
                .bind(now_seconds())
                .execute(pool)
                .await?;
        });
        Ok(id)
    }

    pub async fn list_teams(&self) -> Result<Vec<TeamRow>> {
        Ok(with_pool!(self, |pool| sqlx::query_as("SELECT id, name, created_at FROM teams ORDER BY id").fetch_all(pool).await?))
    }

    pub async fn create_user(
        &self,
        ids: &IdGenerator,
        team_id: i64,
        name: &str,
        nickname: &str,
        avatar_url: &str,
    ) -> Result<i64> {
        let id = ids.next();
        let inserted = with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO users (id, team_id, name, nickname, avatar_url, created_at)
                 SELECT $1, id, $3, $4, $5, $6 FROM teams WHERE id = $2",
            )
            .bind(id)
            .bind(team_id)
            .bind(name)
            .bind(nickname)
            .bind(avatar_url)
            .bind(now_seconds())
            .execute(pool)
            .await?
            .rows_affected()
        });
        if inserted == 0 {
            return Err(StoreError::NotFound("team"));
        }
        Ok(id)
    }

    pub async fn user(&self, user_id: i64) -> Result<UserRow> {
        with_pool!(self, |pool| {
            sqlx::query_as("SELECT id, team_id, name, nickname, avatar_url, created_at FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(pool)
                .await?
        })
        .ok_or(StoreError::NotFound("user"))
    }

    pub async fn list_users(&self, team_id: Option<i64>) -> Result<Vec<UserRow>> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, team_id, name, nickname, avatar_url, created_at FROM users
                 WHERE $1 IS NULL OR team_id = $1 ORDER BY id",
            )
            .bind(team_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Stores a new token for `user_id`; returns its ID and the secret (shown once).
    pub async fn create_token(
        &self,
        ids: &IdGenerator,
        user_id: i64,
        permissions: PermissionSet,
        expires_at: Option<i64>,
    ) -> Result<(i64, String)> {
        let token = token::generate().map_err(|err| StoreError::Io(std::io::Error::other(err)))?;
        let id = ids.next();
        let inserted = with_pool!(self, |pool| {
            sqlx::query(INSERT_TOKEN_OF_EXISTING_USER)
                .bind(id)
                .bind(user_id)
                .bind(&token.hash[..])
                .bind(permissions.to_names())
                .bind(now_seconds())
                .bind(expires_at)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if inserted == 0 {
            return Err(StoreError::NotFound("user"));
        }
        Ok((id, token.secret))
    }

    pub async fn list_tokens(&self, user_id: i64) -> Result<Vec<TokenRow>> {
        Ok(with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, permissions, created_at, expires_at, revoked_at FROM tokens
                 WHERE user_id = $1 ORDER BY id",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Marks a token revoked; every later request with it is refused. Revoking twice is fine.
    pub async fn revoke_token(&self, token_id: i64) -> Result<()> {
        let updated = with_pool!(self, |pool| {
            sqlx::query("UPDATE tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
                .bind(token_id)
                .bind(now_seconds())
                .execute(pool)
                .await?
                .rows_affected()
        });
        if updated == 0 {
            return Err(StoreError::NotFound("token"));
        }
        Ok(())
    }

    pub async fn find_token(&self, hash: &[u8]) -> Result<Option<TokenRecord>> {
        const SQL: &str =
            "SELECT t.id AS token_id, t.token_hash, t.user_id, u.team_id, t.permissions, t.expires_at, t.revoked_at
             FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1";
        if let Some(reads) = &self.sqlite_reads {
            let record = |row: &rusqlite::Row<'_>| {
                Ok(TokenRecord {
                    token_id: row.get(0)?,
                    token_hash: row.get(1)?,
                    user_id: row.get(2)?,
                    team_id: row.get(3)?,
                    permissions: row.get(4)?,
                    expires_at: row.get(5)?,
                    revoked_at: row.get(6)?,
                })
            };
            return reads.query_row(SQL, &[Param::Blob(hash)], record);
        }
        Ok(with_pool!(self, |pool| sqlx::query_as(SQL).bind(hash).fetch_optional(pool).await?))
    }
}

const INSERT_TOKEN: &str = "INSERT INTO tokens (id, user_id, token_hash, permissions, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6)";

/// Inserts nothing when the user does not exist, so the caller can answer "not found" without a
/// separate (racy) lookup.
const INSERT_TOKEN_OF_EXISTING_USER: &str = "INSERT INTO tokens (id, user_id, token_hash, permissions, created_at, expires_at)
     SELECT $1, id, $3, $4, $5, $6 FROM users WHERE id = $2";
