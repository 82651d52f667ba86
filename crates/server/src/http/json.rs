//! JSON request bodies: one JSON object. Every failure is a 4000 that says what to fix in the
//! API's terms: wrong content type, body too large, malformed JSON, data after the value, not an
//! object, a field given twice, or a field of the wrong kind (named).

use std::collections::HashSet;
use std::fmt;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use http_body_util::BodyExt;
use serde::de::{Deserialize, Deserializer, Error as _, IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use super::error::ApiError;

/// JSON request bodies of this API are tiny (a name and a description); anything larger is a
/// mistake or an attack.
pub const MAX_JSON_BODY_BYTES: usize = 64 * 1024;

/// The fields of a request body that is a JSON object.
pub struct JsonObject(Map<String, Value>);

impl JsonObject {
    /// The string field `name`; absent or null is `None`.
    pub fn text(&self, name: &str) -> Result<Option<&str>, ApiError> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text)),
            Some(other) => Err(invalid_field(name, "a string", other)),
        }
    }

    pub fn into_fields(self) -> Map<String, Value> {
        self.0
    }
}

/// 4000 for the field `name` holding `got` where `expected` was needed.
pub fn invalid_field(name: &str, expected: &str, got: &Value) -> ApiError {
    ApiError::InvalidParameter(format!("invalid field `{name}`: expected {expected}, got {}", kind_of(got)))
}

/// The kind of a JSON value, as the API's messages name it.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
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
        parse_object(&read_limited(request.into_body(), MAX_JSON_BODY_BYTES).await?).map(JsonObject)
    }
}

/// The body's one JSON value, which must be an object with each field once.
fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = Value::deserialize(&mut deserializer)
        .map_err(|err| ApiError::InvalidParameter(format!("the request body is not valid JSON: {err}")))?;
    deserializer.end().map_err(|err| {
        ApiError::InvalidParameter(format!(
            "the request body must be one JSON value with nothing after it, but more follows at line {} column {}",
            err.line(),
            err.column()
        ))
    })?;
    let Value::Object(object) = value else {
        return Err(ApiError::InvalidParameter(format!(
            "the request body must be a JSON object, got {}",
            kind_of(&value)
        )));
    };
    // `Value` keeps the last of repeated fields; refuse them instead, as neither reading is sure
    // to be what the client meant.
    serde_json::Deserializer::from_slice(bytes)
        .deserialize_map(UniqueFields)
        .map_err(|err| ApiError::InvalidParameter(err.to_string()))?;
    Ok(object)
}

/// Checks that no field of a JSON object is given twice.
struct UniqueFields;

impl<'de> Visitor<'de> for UniqueFields {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(name) = map.next_key::<String>()? {
            if !seen.insert(name.clone()) {
                return Err(A::Error::custom(format_args!("the field `{name}` is given twice")));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(body: &str) -> String {
        match parse_object(body.as_bytes()) {
            Err(ApiError::InvalidParameter(msg)) => msg,
            other => panic!("{body}: expected a 4000, got {:?}", other.map(|_| "an object")),
        }
    }

    #[test]
    fn one_object_and_nothing_after_it() {
        assert_eq!(parse_object(br#" {"name":"x"} "#).unwrap()["name"], "x");
        assert!(refusal(r#"{"name":"x"} xx"#).contains("nothing after it, but more follows at line 1 column 14"));
        assert!(refusal(r#"{"name":"x"}{}"#).contains("nothing after it"));
        assert!(refusal(r#"{"name": "#).starts_with("the request body is not valid JSON: EOF"));
        assert_eq!(refusal("[1,2]"), "the request body must be a JSON object, got an array");
        assert_eq!(refusal("\"x\""), "the request body must be a JSON object, got a string");
        assert_eq!(refusal("null"), "the request body must be a JSON object, got null");
        assert!(refusal(r#"{"name":"a","desc":"","name":"b"}"#).starts_with("the field `name` is given twice"));
    }

    #[test]
    fn fields_are_named_with_what_they_should_be() {
        let object = JsonObject(parse_object(br#"{"name":1,"desc":null,"tags":["x"]}"#).unwrap());
        match object.text("name") {
            Err(ApiError::InvalidParameter(msg)) => {
                assert_eq!(msg, "invalid field `name`: expected a string, got a number")
            }
            other => panic!("{:?}", other),
        }
        assert_eq!(object.text("desc").unwrap(), None);
        assert_eq!(object.text("absent").unwrap(), None);
    }
}
