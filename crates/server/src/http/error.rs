//! The one place where a failure becomes a Coze error code and an HTTP status.
//!
//! Handlers, extractors and the service layer return [`ApiError`] (`crate::error`); its
//! `IntoResponse` here writes the Coze envelope (`code`, `msg`, `detail.logid`). Unexpected
//! failures are logged with the logid and answered with 5000 without internals, so a caller can
//! quote the logid and an operator can find it.

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use voxprint_api::codes;

use super::envelope;
pub use crate::error::ApiError;

/// The envelope code and HTTP status of a failure.
fn code_and_status(error: &ApiError) -> (i64, StatusCode) {
    match error {
        ApiError::InvalidParameter(_) => (codes::INVALID_PARAMETER, StatusCode::BAD_REQUEST),
        ApiError::Unauthenticated(_) => (codes::UNAUTHENTICATED, StatusCode::UNAUTHORIZED),
        ApiError::Forbidden(_) => (codes::FORBIDDEN, StatusCode::FORBIDDEN),
        ApiError::NotFound(_) => (codes::NOT_FOUND, StatusCode::NOT_FOUND),
        ApiError::EmptyFile(_) => (codes::EMPTY_FILE, StatusCode::BAD_REQUEST),
        ApiError::TooManyFiles(_) => (codes::TOO_MANY_FILES, StatusCode::BAD_REQUEST),
        ApiError::FileTooLarge(_) => (codes::FILE_TOO_LARGE, StatusCode::PAYLOAD_TOO_LARGE),
        ApiError::UnsupportedFile(_) => (codes::UNSUPPORTED_FILE, StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ApiError::InvalidFile(_) => (codes::INVALID_FILE, StatusCode::BAD_REQUEST),
        ApiError::Overloaded(_) | ApiError::StorageUnavailable(_) => {
            (codes::OVERLOADED, StatusCode::SERVICE_UNAVAILABLE)
        }
        ApiError::RateLimited { .. } => (codes::RATE_LIMITED, StatusCode::TOO_MANY_REQUESTS),
        ApiError::UploadTimeout(_) => (codes::INVALID_PARAMETER, StatusCode::REQUEST_TIMEOUT),
        ApiError::NoRoute(_) => (codes::NOT_FOUND, StatusCode::NOT_FOUND),
        ApiError::MethodNotAllowed(_) => (codes::INVALID_PARAMETER, StatusCode::METHOD_NOT_ALLOWED),
        ApiError::Internal(_) => (codes::INTERNAL, StatusCode::INTERNAL_SERVER_ERROR),
    }
}

/// Seconds a client is asked to wait before retrying after a storage fault: an outage or a full
/// disk rarely clears within a second.
const STORAGE_RETRY_AFTER_SECS: u64 = 5;

impl ApiError {
    /// The envelope's code and message (logging what the message leaves out): for answers that
    /// are not HTTP responses, such as a live stream's error event.
    pub fn into_code_and_message(self) -> (i64, String) {
        let (code, _) = code_and_status(&self);
        let msg = match self {
            ApiError::RateLimited { msg, .. } => msg,
            ApiError::Internal(detail) => {
                tracing::error!(logid = %envelope::current_logid(), %detail, "internal error");
                "internal server error; quote the logid when reporting it".to_owned()
            }
            ApiError::StorageUnavailable(detail) => {
                tracing::warn!(logid = %envelope::current_logid(), %detail, "storage unavailable");
                "the storage is temporarily unable to write or unreachable (disk full or read-only, or the \
                 database or audio store down); retry in a moment"
                    .to_owned()
            }
            ApiError::InvalidParameter(msg)
            | ApiError::Unauthenticated(msg)
            | ApiError::Forbidden(msg)
            | ApiError::NotFound(msg)
            | ApiError::NoRoute(msg)
            | ApiError::MethodNotAllowed(msg)
            | ApiError::EmptyFile(msg)
            | ApiError::TooManyFiles(msg)
            | ApiError::FileTooLarge(msg)
            | ApiError::UnsupportedFile(msg)
            | ApiError::InvalidFile(msg)
            | ApiError::Overloaded(msg)
            | ApiError::UploadTimeout(msg) => msg,
        };
        (code, msg)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (_, status) = code_and_status(&self);
        let retry_after = match &self {
            ApiError::Overloaded(_) => Some(1),
            ApiError::StorageUnavailable(_) => Some(STORAGE_RETRY_AFTER_SECS),
            ApiError::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        };
        let (code, msg) = self.into_code_and_message();
        let mut response = envelope::failure(status, code, msg);
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
