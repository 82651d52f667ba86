//! A JSON body extractor whose every failure is a 4000 that says what to fix: wrong content
//! type, body too large, malformed JSON, or a field of the wrong type (named by its path).

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use http_body_util::BodyExt;
use axum::http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// JSON request bodies of this API are tiny (a name and a description); anything larger is a
/// mistake or an attack.
pub const MAX_JSON_BODY_BYTES: usize = 64 * 1024;

pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        let content_type = request.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if essence != "application/json" && !(essence.starts_with("application/") && essence.ends_with("+json")) {
            return Err(ApiError::InvalidParameter(format!(
                "the request body must be JSON with Content-Type: application/json (got {:?})",
                content_type
            )));
        }
        let bytes = read_limited(request.into_body(), MAX_JSON_BODY_BYTES).await?;
        let deserializer = &mut serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(deserializer).map_err(|err| {
            let path = err.path().to_string();
            let inner = err.into_inner();
            if inner.is_data() && path != "." {
                ApiError::InvalidParameter(format!("invalid field `{path}`: {inner}"))
            } else {
                ApiError::InvalidParameter(format!("the request body is not valid JSON for this endpoint: {inner}"))
            }
        })?;
        Ok(JsonBody(value))
    }
}

/// Reads a body of at most `limit` bytes. A larger one is refused with 4000, but only after it
/// was read to its end (as far as the route's body limit lets it): a client still sending when
/// the answer comes would otherwise see a reset connection instead of the answer.
pub async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let mut body = body;
    let mut collected = Vec::new();
    let mut too_large = false;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else { break };
        if let Some(data) = frame.data_ref() {
            too_large |= collected.len() + data.len() > limit;
            if !too_large {
                collected.extend_from_slice(data);
            }
        }
    }
    if too_large {
        return Err(ApiError::InvalidParameter(format!(
            "the request body is larger than {} KiB",
            limit / 1024
        )));
    }
    Ok(Bytes::from(collected))
}
