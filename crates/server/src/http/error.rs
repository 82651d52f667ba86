//! The one place where a failure becomes a Coze error code and an HTTP status.
//!
//! Handlers and extractors return `ApiError`; its `IntoResponse` writes the Coze envelope
//! (`code`, `msg`, `detail.logid`). Unexpected failures are logged with the logid and answered
//! with 5000 without internals, so a caller can quote the logid and an operator can find it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::envelope;
use crate::domain::InvalidInput;
use crate::store::StoreError;

#[derive(Debug)]
pub enum ApiError {
    /// 4000: a parameter is malformed, out of range or missing.
    InvalidParameter(String),
    /// 4100: no token, or an unknown, revoked or expired one.
    Unauthenticated(String),
    /// 4101: the token lacks the permission, or the caller may not act on the resource.
    Forbidden(String),
    /// 4200: no such resource (or one of another team, which must not be revealed).
    NotFound(String),
    /// 404 for a path that is no route at all; code 4200 in the envelope.
    NoRoute(String),
    /// 405: a known path with a method it does not serve; code 4000 in the envelope.
    MethodNotAllowed(String),
    /// 5000: a fault of ours; the detail is logged, never sent.
    Internal(String),
}

impl ApiError {
    fn code_and_status(&self) -> (u32, StatusCode) {
        match self {
            ApiError::InvalidParameter(_) => (4000, StatusCode::BAD_REQUEST),
            ApiError::Unauthenticated(_) => (4100, StatusCode::UNAUTHORIZED),
            ApiError::Forbidden(_) => (4101, StatusCode::FORBIDDEN),
            ApiError::NotFound(_) => (4200, StatusCode::NOT_FOUND),
            ApiError::NoRoute(_) => (4200, StatusCode::NOT_FOUND),
            ApiError::MethodNotAllowed(_) => (4000, StatusCode::METHOD_NOT_ALLOWED),
            ApiError::Internal(_) => (5000, StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

impl From<InvalidInput> for ApiError {
    fn from(err: InvalidInput) -> ApiError {
        ApiError::InvalidParameter(err.0)
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        match err {
            StoreError::GroupQuota { limit } => ApiError::InvalidParameter(format!(
                "voiceprint group quota reached: a user may own at most {limit} groups; delete one first"
            )),
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code_and_status();
        let msg = match self {
            ApiError::Internal(detail) => {
                tracing::error!(logid = %envelope::current_logid(), %detail, "internal error");
                "internal server error; quote the logid when reporting it".to_owned()
            }
            ApiError::InvalidParameter(msg)
            | ApiError::Unauthenticated(msg)
            | ApiError::Forbidden(msg)
            | ApiError::NotFound(msg)
            | ApiError::NoRoute(msg)
            | ApiError::MethodNotAllowed(msg) => msg,
        };
        envelope::failure(status, code, msg)
    }
}
