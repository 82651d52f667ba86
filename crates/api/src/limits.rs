//! The API's fixed limits, in one place: the server enforces them, the client and the tests
//! rely on them. Limits an operator can change (quotas, upload size) are the server's flags;
//! their defaults are here.

/// `page_size` when absent.
pub const DEFAULT_PAGE_SIZE: i64 = 10;
/// The largest `page_size`.
pub const MAX_PAGE_SIZE: i64 = 200;
/// The longest group or voiceprint name, in characters (Unicode scalar values).
pub const MAX_NAME_CHARS: usize = 20;
/// The longest description, in characters.
pub const MAX_DESC_CHARS: usize = 500;
/// Default quota: voiceprint groups one user may own.
pub const DEFAULT_MAX_GROUPS_PER_USER: i64 = 1000;
/// Default quota: voiceprints in one group.
pub const DEFAULT_MAX_VOICEPRINTS_PER_GROUP: i64 = 10;
/// Default quota: recordings one voiceprint is made from.
pub const DEFAULT_MAX_SAMPLES_PER_VOICEPRINT: i64 = 10;
/// Default quota: seconds of speech in all of one voiceprint's recordings together.
pub const DEFAULT_MAX_SAMPLE_SECONDS_PER_VOICEPRINT: f64 = 300.0;
/// Default largest audio upload, in bytes (Coze's 4 MB).
pub const DEFAULT_MAX_AUDIO_BYTES: u64 = 4 * 1024 * 1024;
