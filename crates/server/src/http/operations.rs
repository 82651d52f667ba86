//! Operating the server: liveness and readiness, Prometheus metrics, and the middleware that
//! measures every request and bounds how long one may take.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::observed_body::{BodyObserver, ObservedBody};
use super::AppState;

/// Liveness: the process is up and serving HTTP.
pub async fn healthz() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/plain")], "ok\n")
}

/// Readiness: the storage accepts writes (see `storage/readiness.rs`; the model was loaded before the
/// server started listening).
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.readiness.check().await {
        Ok(()) => ([(CONTENT_TYPE, "text/plain")], "ready\n").into_response(),
        Err(reason) => {
            (StatusCode::SERVICE_UNAVAILABLE, [(CONTENT_TYPE, "text/plain")], format!("not ready: {reason}\n"))
                .into_response()
        }
    }
}

/// The OpenAPI document (see `openapi.rs` beside this file).
pub async fn openapi() -> impl IntoResponse {
    axum::Json(crate::http::openapi::document())
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], state.voxprint.metrics.render())
}

/// Counts the request and its latency under its route pattern (not the raw path, which would
/// make one series per ID).
pub async fn track_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |path| path.as_str()).to_owned();
    let method = request.method().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let metrics = &state.voxprint.metrics;
    metrics.http_duration.with_label_values(&[&route, &method]).observe(started.elapsed().as_secs_f64());
    metrics.http_requests.with_label_values(&[&route, &method, response.status().as_str()]).inc();
    response
}

/// Bounds how long a request may take: past the limit it is answered with 4009 (the server
/// was too slow), or with 4000 and status 408 when the server was waiting for the client's
/// upload at that moment, so a slow connection is not reported as an overloaded server.
pub async fn time_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    // Diarization takes long recordings (larger uploads, longer work) and has its own limit.
    let route = request.extensions().get::<MatchedPath>().map(|path| path.as_str());
    let limit = match route {
        Some(route) if route.ends_with("/speaker_diarize") => state.settings.diarize_timeout,
        _ => state.settings.request_timeout,
    };
    let upload = UploadWatch::default();
    let request = request.map(|body| ObservedBody::wrap(body, upload.clone()));
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) if upload.is_waiting() => ApiError::UploadTimeout(format!(
            "the upload did not arrive within {} s; send it over a faster connection, or a shorter recording",
            limit.as_secs()
        ))
        .into_response(),
        Err(_) => ApiError::Overloaded(format!(
            "the request did not finish within {} s; the server is overloaded, retry in a moment",
            limit.as_secs()
        ))
        .into_response(),
    }
}

/// Whether the server is waiting for more of the request body from the client.
#[derive(Clone, Default)]
struct UploadWatch(Arc<AtomicBool>);

impl UploadWatch {
    fn is_waiting(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl BodyObserver for UploadWatch {
    fn polled(&mut self, waiting: bool) {
        self.0.store(waiting, Ordering::Relaxed);
    }
}
