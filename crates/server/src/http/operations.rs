//! Operating the server: liveness and readiness, Prometheus metrics, and the middleware that
//! measures every request and bounds how long one may take.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::AppState;

/// Liveness: the process is up and serving HTTP.
pub async fn healthz() -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/plain")], "ok\n")
}

/// Readiness: the storage accepts writes (see `readiness.rs`; the model was loaded before the
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

/// The OpenAPI document (see `openapi.rs`).
pub async fn openapi() -> impl IntoResponse {
    axum::Json(crate::openapi::document())
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render())
}

/// Counts the request and its latency under its route pattern (not the raw path, which would
/// make one series per ID).
pub async fn track_metrics(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", |path| path.as_str()).to_owned();
    let method = request.method().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let metrics = &state.metrics;
    metrics.http_duration.with_label_values(&[&route, &method]).observe(started.elapsed().as_secs_f64());
    metrics.http_requests.with_label_values(&[&route, &method, response.status().as_str()]).inc();
    response
}

/// Answers 4009 when a request takes longer than the configured limit, instead of holding the
/// connection open indefinitely.
pub async fn time_limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let limit = state.settings.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Overloaded(format!(
            "the request did not finish within {} s; the server is overloaded, retry in a moment",
            limit.as_secs()
        ))
        .into_response(),
    }
}
