//! Authentication: `Authorization: Bearer pat_…` → the calling user, their team and the
//! permissions of the token. Looked up on every request, so a revocation or an expiry takes
//! effect on the very next call.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderValue;
use axum::http::request::Parts;

use super::error::ApiError;
use super::AppState;
use crate::domain::token;
use crate::domain::{Permission, PermissionSet};
use crate::error::Fault;
use crate::storage::database::now_seconds;

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub team_id: i64,
    permissions: PermissionSet,
    /// Identifies the token (for limits per token) without being the secret.
    pub token_hash: Vec<u8>,
    /// The token's ID, for the audit trail.
    pub token_id: i64,
}

impl Caller {
    /// The caller as the service layer knows them.
    pub fn actor(&self) -> crate::service::Actor {
        crate::service::Actor { user_id: self.user_id, team_id: self.team_id }
    }

    /// Refuses with 4101 naming the permission when the token does not hold it.
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if self.permissions.contains(permission) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "the token lacks the permission `{}` needed by this endpoint; create a token that includes it",
                permission.name()
            )))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
            ApiError::Unauthenticated("missing Authorization header; send `Authorization: Bearer <token>`".into())
        })?;
        authenticate(state, bearer_token(header)?).await
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(header: &HeaderValue) -> Result<&str, ApiError> {
    match header.to_str().unwrap_or("").split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => Ok(rest.trim()),
        _ => Err(ApiError::Unauthenticated("the Authorization header must be `Bearer <token>`".into())),
    }
}

/// The caller holding this token secret, if it is valid and within its rate limit. Also for
/// tokens that arrive otherwise than in a header (a live stream's first message).
pub async fn authenticate(state: &AppState, secret: &str) -> Result<Caller, ApiError> {
    let invalid = || ApiError::Unauthenticated("the token is invalid, revoked or expired".into());
    if !token::looks_like_token(secret) {
        return Err(invalid());
    }
    let hash = token::hash(secret);
    let record = state.voxprint.store.find_token(&hash).await?.ok_or_else(invalid)?;
    if !token::hashes_equal(&record.token_hash, &hash) || record.revoked_at.is_some() {
        return Err(invalid());
    }
    if record.expires_at.is_some_and(|expires_at| expires_at <= now_seconds()) {
        return Err(invalid());
    }
    if let Err(wait) = state.limiter.check(&hash) {
        let retry_after_secs = wait.as_secs_f64().ceil().max(1.0) as u64;
        return Err(ApiError::RateLimited {
            msg: format!("too many requests with this token; retry in {retry_after_secs} s"),
            retry_after_secs,
        });
    }
    let permissions = PermissionSet::parse(&record.permissions)
        .map_err(|err| ApiError::Internal(Fault::new("reading the token's stored permissions", err)))?;
    let caller = Caller {
        user_id: record.user_id,
        team_id: record.team_id,
        permissions,
        token_hash: hash,
        token_id: record.token_id,
    };
    super::audit::note_caller(&caller);
    Ok(caller)
}
