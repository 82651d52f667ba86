//! The Coze response envelope and the request's logid.
//!
//! Every response, success or failure, is `{"code", "msg", "data"?, "detail": {"logid"}}` and
//! carries the same logid in the `X-Tt-Logid` header. The logid is made by `assign_logid`
//! before any extractor runs and kept in a task-local, so every response built while serving
//! the request — by a handler, an extractor's rejection or the fallback — can include it.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tracing::Instrument;
use voxprint_api::{codes, Detail, Envelope};

use crate::clock::{now_seconds, Utc};

tokio::task_local! {
    static LOGID: String;
}

pub const LOGID_HEADER: &str = "x-tt-logid";

/// Middleware: gives the request a logid, serves it inside the logid's scope and a tracing span
/// carrying it (so every log line of the request names it), logs the outcome, and sets the
/// `X-Tt-Logid` header on whatever comes back.
pub async fn assign_logid(request: Request, next: Next) -> Response {
    let logid = new_logid();
    let span = tracing::info_span!("request", logid = %logid, method = %request.method(), path = %request.uri().path());
    let started = std::time::Instant::now();
    let mut response = LOGID.scope(logid.clone(), next.run(request)).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::info!(status = response.status().as_u16(), millis = started.elapsed().as_millis() as u64, "answered")
    });
    if let Ok(value) = HeaderValue::from_str(&logid) {
        response.headers_mut().insert(LOGID_HEADER, value);
    }
    response
}

/// Runs work that outlives its request (a live stream after the upgrade) under the request's
/// logid, so that its log lines and its answers carry the logid the client was given.
pub async fn with_logid<F: std::future::Future>(logid: String, work: F) -> F::Output {
    let span = tracing::info_span!("stream", logid = %logid);
    LOGID.scope(logid, work).instrument(span).await
}

/// The logid of the request being served ("" outside a request).
pub fn current_logid() -> String {
    LOGID.try_with(Clone::clone).unwrap_or_default()
}

/// Coze-style logid: UTC time to the second, then 16 random hex digits.
pub(super) fn new_logid() -> String {
    let mut random = [0u8; 8];
    let _ = getrandom::fill(&mut random);
    let t = Utc::from_unix(now_seconds());
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{}",
        t.year,
        t.month,
        t.day,
        t.hour,
        t.minute,
        t.second,
        hex::encode_upper(random)
    )
}

/// A successful response with `data`.
pub struct Success<T>(pub T);

impl<T: Serialize> IntoResponse for Success<T> {
    fn into_response(self) -> Response {
        with_code(Json(envelope(codes::OK, Some(self.0), String::new(), current_logid())).into_response(), codes::OK)
    }
}

/// A successful response without `data` (update and delete).
pub struct Done;

impl IntoResponse for Done {
    fn into_response(self) -> Response {
        with_code(Json(envelope::<()>(codes::OK, None, String::new(), current_logid())).into_response(), codes::OK)
    }
}

/// A failed response; used by `ApiError` only.
pub fn failure(status: StatusCode, code: i64, msg: String) -> Response {
    with_code((status, Json(failure_body(code, msg, current_logid()))).into_response(), code)
}

/// `response` marked with its Coze code, for the audit trail.
fn with_code(mut response: Response, code: i64) -> Response {
    response.extensions_mut().insert(super::audit::CozeCode(code));
    response
}

/// The envelope of a failure.
pub(super) fn failure_body(code: i64, msg: String, logid: String) -> Envelope<()> {
    envelope(code, None, msg, logid)
}

fn envelope<T>(code: i64, data: Option<T>, msg: String, logid: String) -> Envelope<T> {
    Envelope { code, data, detail: Detail { logid }, msg }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logid_shape() {
        let logid = new_logid();
        assert_eq!(logid.len(), 30);
        assert!(logid.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(logid, new_logid());
    }
}
