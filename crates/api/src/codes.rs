//! The `code` of the Coze envelope. The server pairs each with an HTTP status (in its
//! `http/error.rs`); clients decide on the code.

/// Success.
pub const OK: i64 = 0;
/// A parameter is malformed, out of range or missing (also: a quota is reached).
pub const INVALID_PARAMETER: i64 = 4000;
/// This token made too many requests; retry after the `Retry-After` seconds.
pub const RATE_LIMITED: i64 = 4008;
/// The server is overloaded or its storage is unavailable for now; retry after `Retry-After`.
pub const OVERLOADED: i64 = 4009;
/// No token, or an unknown, revoked or expired one.
pub const UNAUTHENTICATED: i64 = 4100;
/// The token lacks the permission, or the caller may not act on the resource.
pub const FORBIDDEN: i64 = 4101;
/// No such resource (or one of another team, which is never revealed).
pub const NOT_FOUND: i64 = 4200;
/// No file was uploaded, or an empty one.
pub const EMPTY_FILE: i64 = 4300;
/// More than one file in one request.
pub const TOO_MANY_FILES: i64 = 4301;
/// The file is larger than the limit.
pub const FILE_TOO_LARGE: i64 = 4302;
/// The file is not audio of a supported format.
pub const UNSUPPORTED_FILE: i64 = 4303;
/// Corrupt or truncated audio, or too little speech in it.
pub const INVALID_FILE: i64 = 4304;
/// A fault of the server's; the logid finds it in the server's log.
pub const INTERNAL: i64 = 5000;

/// Whether a request answered with `code` may succeed if sent again later unchanged.
pub fn retry_later(code: i64) -> bool {
    matches!(code, RATE_LIMITED | OVERLOADED)
}
