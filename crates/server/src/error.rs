//! The failures of an API request, in the API's own terms: each variant is one kind of answer
//! (a bad parameter, not found, overloaded, a fault of ours…) with its message. Storage, decoding
//! and embedding errors become one here; `http/error.rs` alone turns a variant into a code and
//! an HTTP status.

use voxprint_audio::DecodeError;
use voxprint_engine::Sound;

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
    StorageUnavailable(Fault),
    /// 4008: this token made too many requests; retry after the given seconds.
    RateLimited { msg: String, retry_after_secs: u64 },
    /// 404 for a path that is no route at all; code 4200 in the envelope.
    NoRoute(String),
    /// 405: a known path with a method it does not serve; code 4000 in the envelope.
    MethodNotAllowed(String),
    /// 5000: a fault of ours; the detail is logged, never sent.
    Internal(Fault),
}

impl ApiError {
    /// The same failure, its message naming the upload it concerns (compare takes two files).
    pub fn about_upload(self, field: &str) -> ApiError {
        match self {
            ApiError::EmptyFile(msg) => ApiError::EmptyFile(format!("{field}: {msg}")),
            ApiError::UnsupportedFile(msg) => ApiError::UnsupportedFile(format!("{field}: {msg}")),
            ApiError::InvalidFile(msg) => ApiError::InvalidFile(format!("{field}: {msg}")),
            other => other,
        }
    }
}

/// What went wrong inside the server: what it was doing, and the error with its causes, kept
/// typed until `http/error.rs` logs the whole chain once under the request's logid.
#[derive(Debug)]
pub struct Fault {
    context: String,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl Fault {
    /// `context` says what was being done ("storing audio"); `source` is why it failed.
    pub fn new(context: impl Into<String>, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Fault {
        Fault { context: context.into(), source: source.into() }
    }
}

impl std::fmt::Display for Fault {
    /// The context, then each cause in turn, leaving out a cause whose text is already there
    /// (sqlx and object_store repeat their sources in their own messages).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut line = self.context.clone();
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self.source.as_ref());
        while let Some(err) = cause {
            let text = err.to_string();
            if !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            cause = err.source();
        }
        f.write_str(&line)
    }
}

impl ApiError {
    /// A failed read or write of stored audio (`action` says which): 4009 when the storage is
    /// unavailable for now, otherwise a fault of ours.
    pub fn audio_storage(action: &str, err: std::io::Error) -> ApiError {
        if crate::storage::blobs::is_unavailable(&err) {
            ApiError::StorageUnavailable(Fault::new(action, err))
        } else {
            ApiError::Internal(Fault::new(action, err))
        }
    }
}

impl From<voxprint_api::InvalidId> for ApiError {
    fn from(err: voxprint_api::InvalidId) -> ApiError {
        ApiError::InvalidParameter(err.0)
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
            StoreError::SampleQuota { limit } => ApiError::InvalidParameter(format!(
                "sample quota reached: a voiceprint may be made from at most {limit} recordings; delete a sample first"
            )),
            StoreError::SampleSpeechQuota { limit_seconds, stored_seconds } => ApiError::InvalidParameter(format!(
                "sample quota reached: a voiceprint's recordings may hold at most {limit_seconds} s of speech together, and its samples already hold {stored_seconds:.1} s; delete a sample or upload a shorter recording"
            )),
            StoreError::LastSample => ApiError::InvalidParameter(
                "a voiceprint keeps at least one sample: add another recording first, or delete the voiceprint".into(),
            ),
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            err @ StoreError::Unavailable(_) => ApiError::StorageUnavailable(Fault::new("the database", err)),
            StoreError::Sealed(err) if err.is_transient() => ApiError::StorageUnavailable(Fault::new("the database", err)),
            other => ApiError::Internal(Fault::new("the database", other)),
        }
    }
}

impl From<EmbedFailure> for ApiError {
    fn from(failure: EmbedFailure) -> ApiError {
        match failure {
            EmbedFailure::Decode(DecodeError::Empty) => ApiError::EmptyFile("the uploaded file is empty".into()),
            EmbedFailure::Decode(err @ DecodeError::Unsupported { .. }) => ApiError::UnsupportedFile(format!(
                "{err}; upload WAV, raw 16-bit PCM, MP3, FLAC, OGG Vorbis, M4A/AAC or Opus (Ogg or WebM)"
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
            EmbedFailure::Internal(detail) => ApiError::Internal(Fault::new("embedding", detail)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error that, like sqlx's, repeats its source in its own message.
    #[derive(Debug)]
    struct Wrapper(std::io::Error);

    impl std::fmt::Display for Wrapper {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "database unavailable: {}", self.0)
        }
    }

    impl std::error::Error for Wrapper {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn a_fault_names_its_context_and_every_cause_once() {
        let disk_full = std::io::Error::other("No space left on device");
        let fault = Fault::new("storing audio", Wrapper(disk_full));
        assert_eq!(fault.to_string(), "storing audio: database unavailable: No space left on device");
        let nested = Fault::new("embedding", "the speaker engine panicked");
        assert_eq!(nested.to_string(), "embedding: the speaker engine panicked");
    }

    #[test]
    fn keys_not_reread_are_a_storage_outage_and_a_value_that_does_not_open_is_a_fault() {
        use crate::storage::encryption::SealError;
        let stale = StoreError::Sealed(SealError::Stale("embedding 1".into(), 12));
        assert!(matches!(ApiError::from(stale), ApiError::StorageUnavailable(_)));
        let tampered = StoreError::Sealed(SealError::Tampered("embedding 1".into()));
        assert!(matches!(ApiError::from(tampered), ApiError::Internal(_)));
    }
}
