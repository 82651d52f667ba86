//! The one place where a failure becomes a Coze error code and an HTTP status.
//!
//! Handlers and extractors return `ApiError`; its `IntoResponse` writes the Coze envelope
//! (`code`, `msg`, `detail.logid`). Unexpected failures are logged with the logid and answered
//! with 5000 without internals, so a caller can quote the logid and an operator can find it.

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use voxprint_audio::DecodeError;
use voxprint_engine::Sound;
use axum::response::{IntoResponse, Response};

use super::envelope;
use crate::domain::InvalidInput;
use crate::speaker::workers::EmbedFailure;
use crate::storage::database::StoreError;

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
    /// 4300: no file, or an empty one.
    EmptyFile(String),
    /// 4301: more than one file in one request.
    TooManyFiles(String),
    /// 4302: the file is larger than the limit.
    FileTooLarge(String),
    /// 4303: the file is not audio of a supported format.
    UnsupportedFile(String),
    /// 4304: corrupt or truncated audio, or too little speech in it.
    InvalidFile(String),
    /// 4009: too much work queued, or the request ran out of time; retry after a moment.
    Overloaded(String),
    /// 4000 with 408: the client's upload did not arrive within the request time limit.
    UploadTimeout(String),
    /// 4009 too: the storage cannot write or cannot be reached for now (a full or read-only
    /// disk, a database or S3 outage); the detail is logged, never sent.
    StorageUnavailable(String),
    /// 4008: this token made too many requests; retry after the given seconds.
    RateLimited { msg: String, retry_after_secs: u64 },
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
            ApiError::EmptyFile(_) => (4300, StatusCode::BAD_REQUEST),
            ApiError::TooManyFiles(_) => (4301, StatusCode::BAD_REQUEST),
            ApiError::FileTooLarge(_) => (4302, StatusCode::PAYLOAD_TOO_LARGE),
            ApiError::UnsupportedFile(_) => (4303, StatusCode::UNSUPPORTED_MEDIA_TYPE),
            ApiError::InvalidFile(_) => (4304, StatusCode::BAD_REQUEST),
            ApiError::Overloaded(_) | ApiError::StorageUnavailable(_) => (4009, StatusCode::SERVICE_UNAVAILABLE),
            ApiError::RateLimited { .. } => (4008, StatusCode::TOO_MANY_REQUESTS),
            ApiError::UploadTimeout(_) => (4000, StatusCode::REQUEST_TIMEOUT),
            ApiError::NoRoute(_) => (4200, StatusCode::NOT_FOUND),
            ApiError::MethodNotAllowed(_) => (4000, StatusCode::METHOD_NOT_ALLOWED),
            ApiError::Internal(_) => (5000, StatusCode::INTERNAL_SERVER_ERROR),
        }
    }
}

/// Seconds a client is asked to wait before retrying after a storage fault: an outage or a full
/// disk rarely clears within a second.
const STORAGE_RETRY_AFTER_SECS: u64 = 5;

impl ApiError {
    /// A failed read or write of stored audio (`action` says which): 4009 when the storage is
    /// unavailable for now, otherwise a fault of ours.
    pub fn audio_storage(action: &str, err: std::io::Error) -> ApiError {
        let detail = format!("{action}: {err}");
        if crate::storage::blobs::is_unavailable(&err) {
            ApiError::StorageUnavailable(detail)
        } else {
            ApiError::Internal(detail)
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
            StoreError::VoiceprintQuota { limit } => ApiError::InvalidParameter(format!(
                "voiceprint quota reached: a group may hold at most {limit} voiceprints; delete one first"
            )),
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            err @ StoreError::Unavailable(_) => ApiError::StorageUnavailable(err.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<EmbedFailure> for ApiError {
    fn from(failure: EmbedFailure) -> ApiError {
        match failure {
            EmbedFailure::Decode(DecodeError::Empty) => ApiError::EmptyFile("the uploaded file is empty".into()),
            EmbedFailure::Decode(err @ DecodeError::Unsupported { .. }) => ApiError::UnsupportedFile(format!(
                "{err}; upload WAV, raw 16-bit PCM, MP3, FLAC, OGG Vorbis or M4A/AAC"
            )),
            EmbedFailure::Decode(err @ DecodeError::Corrupt { .. }) => ApiError::InvalidFile(err.to_string()),
            EmbedFailure::NoSpeech(sound) => {
                let heard = match sound {
                    Sound::Silence => "it is silent",
                    Sound::Tone => "it sounds like a steady tone",
                    // Raw PCM that is really other data (a wrong format, random bytes) sounds
                    // like noise too.
                    Sound::SteadyNoise | Sound::Speech => "it sounds like steady noise, or is not audio at all",
                };
                ApiError::InvalidFile(format!(
                    "no speech found in the recording: {heard}; upload a recording of one person speaking"
                ))
            }
            EmbedFailure::NotEnoughSpeech { seconds } => ApiError::InvalidFile(format!(
                "not enough speech: {seconds:.2} s remain after removing silence, at least 1 s is needed"
            )),
            EmbedFailure::Overloaded => {
                ApiError::Overloaded("the server is busy embedding other recordings; retry in a moment".into())
            }
            EmbedFailure::Internal(detail) => ApiError::Internal(detail),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code_and_status();
        let retry_after = match &self {
            ApiError::Overloaded(_) => Some(1),
            ApiError::StorageUnavailable(_) => Some(STORAGE_RETRY_AFTER_SECS),
            ApiError::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        };
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
        let mut response = envelope::failure(status, code, msg);
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
