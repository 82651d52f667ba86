//! Reading the multipart forms of the voiceprint endpoints: one audio `file` plus text fields
//! (compare also takes a second recording, `file2`).
//!
//! Limits are checked while streaming, so an oversized upload is refused (4302) as soon as it
//! passes the limit, without buffering it. Updates without a file may also come as JSON or as
//! a URL-encoded form (the Coze SDKs send those when no file is given).

use std::collections::HashMap;

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::StatusCode;
use bytes::{Bytes, BytesMut};
use voxprint_audio::RawPcm;

use super::error::ApiError;
use super::json::{invalid_field, read_limited, JsonObject, MAX_JSON_BODY_BYTES};
use super::AppState;
use crate::domain::InvalidInput;

/// Text fields longer than this are refused: names and descriptions are at most 500 characters.
const MAX_FIELD_BYTES: usize = 8 * 1024;

pub struct UploadedFile {
    pub bytes: Bytes,
}

/// The parsed form: at most one `file` (and one `file2`), and the text fields by name (first
/// value wins).
pub struct UploadForm {
    pub file: Option<UploadedFile>,
    pub file2: Option<UploadedFile>,
    fields: HashMap<String, String>,
}

impl UploadForm {
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// The recording, required: 4300 when missing or empty.
    pub fn require_file(&mut self) -> Result<UploadedFile, ApiError> {
        let file = self.file.take().ok_or_else(|| {
            ApiError::EmptyFile("no audio uploaded: send the recording as the multipart field `file`".into())
        })?;
        Ok(file)
    }

    /// `sample_rate` and `channel`, which describe raw PCM uploads (defaults 16000 and 1).
    pub fn raw_pcm(&self) -> Result<RawPcm, ApiError> {
        let sample_rate = optional_integer(self.text("sample_rate"), "sample_rate", 8000, 48000)?.unwrap_or(16000);
        let channels = optional_integer(self.text("channel"), "channel", 1, 2)?.unwrap_or(1);
        Ok(RawPcm { sample_rate: sample_rate as u32, channels: channels as u16 })
    }

    /// `sample_rate2` and `channel2`, which describe `file2` when it is raw PCM; `sample_rate`
    /// and `channel` when absent.
    pub fn raw_pcm2(&self) -> Result<RawPcm, ApiError> {
        let first = self.raw_pcm()?;
        let sample_rate = optional_integer(self.text("sample_rate2"), "sample_rate2", 8000, 48000)?;
        let channels = optional_integer(self.text("channel2"), "channel2", 1, 2)?;
        Ok(RawPcm {
            sample_rate: sample_rate.map_or(first.sample_rate, |rate| rate as u32),
            channels: channels.map_or(first.channels, |channels| channels as u16),
        })
    }
}

/// Parses an optional integer field within `min..=max`; 4000 naming the field otherwise.
pub fn optional_integer(text: Option<&str>, name: &str, min: i64, max: i64) -> Result<Option<i64>, ApiError> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(None) };
    match text.parse::<i64>() {
        Ok(value) if (min..=max).contains(&value) => Ok(Some(value)),
        _ => Err(InvalidInput(format!("{name} must be an integer from {min} to {max}, got {text:?}")).into()),
    }
}

impl FromRequest<AppState> for UploadForm {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<UploadForm, ApiError> {
        UploadForm::read(request, state, state.settings.max_audio_bytes).await
    }
}

/// An [`UploadForm`] whose file may be as large as a long recording (`--diarize-max-bytes`).
pub struct LongUploadForm(pub UploadForm);

impl FromRequest<AppState> for LongUploadForm {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<LongUploadForm, ApiError> {
        Ok(LongUploadForm(UploadForm::read(request, state, state.settings.max_diarize_bytes).await?))
    }
}

impl UploadForm {
    async fn read(request: Request, state: &AppState, max_file_bytes: usize) -> Result<UploadForm, ApiError> {
        let content_type = request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.as_str() {
            "multipart/form-data" => {
                let multipart = Multipart::from_request(request, state).await.map_err(|err| {
                    ApiError::InvalidParameter(format!("malformed multipart/form-data request: {}", err.body_text()))
                })?;
                read_multipart(multipart, max_file_bytes).await
            }
            "application/json" => {
                let object = JsonObject::from_request(request, state).await?;
                let mut fields = HashMap::new();
                for (key, value) in object.into_fields() {
                    match value {
                        serde_json::Value::String(text) => fields.insert(key, text),
                        serde_json::Value::Number(number) => fields.insert(key, number.to_string()),
                        serde_json::Value::Null => None,
                        other => return Err(invalid_field(&key, "a string or a number", &other)),
                    };
                }
                Ok(UploadForm { file: None, file2: None, fields })
            }
            "application/x-www-form-urlencoded" => {
                let bytes = read_limited(request.into_body(), MAX_JSON_BODY_BYTES).await?;
                let mut fields = HashMap::new();
                for (key, value) in form_urlencoded::parse(&bytes) {
                    fields.entry(key.into_owned()).or_insert_with(|| value.into_owned());
                }
                Ok(UploadForm { file: None, file2: None, fields })
            }
            _ => Err(ApiError::InvalidParameter(format!(
                "send the recording as multipart/form-data with the field `file` (got Content-Type {content_type:?})"
            ))),
        }
    }
}

async fn read_multipart(mut multipart: Multipart, max_file_bytes: usize) -> Result<UploadForm, ApiError> {
    let result = read_fields(&mut multipart, max_file_bytes).await;
    if result.is_err() {
        // Read what the client is still sending (up to the route's body limit) before answering,
        // so that it receives the error instead of a reset connection.
        while let Ok(Some(mut field)) = multipart.next_field().await {
            while let Ok(Some(_)) = field.chunk().await {}
        }
    }
    result
}

async fn read_fields(multipart: &mut Multipart, max_file_bytes: usize) -> Result<UploadForm, ApiError> {
    let too_large = || {
        ApiError::FileTooLarge(format!(
            "the file is larger than the limit of {} bytes ({:.1} MB)",
            max_file_bytes,
            max_file_bytes as f64 / 1_048_576.0
        ))
    };
    let malformed = |err: axum::extract::multipart::MultipartError| {
        if err.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::InvalidParameter(format!("malformed multipart/form-data request: {}", err.body_text()))
        }
    };
    let (mut file, mut file2): (Option<UploadedFile>, Option<UploadedFile>) = (None, None);
    let mut fields = HashMap::new();
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or("").to_owned();
        let slot = if name == "file2" {
            Some(&mut file2)
        } else if name == "file" || field.file_name().is_some() {
            Some(&mut file)
        } else {
            None
        };
        if let Some(slot) = slot {
            if slot.is_some() {
                return Err(ApiError::TooManyFiles(format!(
                    "upload exactly one file as `{}`: this request has more than one",
                    if name == "file2" { "file2" } else { "file" }
                )));
            }
            let mut bytes = BytesMut::new();
            while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                if bytes.len() + chunk.len() > max_file_bytes {
                    return Err(too_large());
                }
                bytes.extend_from_slice(&chunk);
            }
            if bytes.is_empty() {
                return Err(ApiError::EmptyFile("the uploaded file is empty".into()));
            }
            *slot = Some(UploadedFile { bytes: bytes.freeze() });
        } else {
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(malformed)? {
                if value.len() + chunk.len() > MAX_FIELD_BYTES {
                    return Err(ApiError::InvalidParameter(format!("field `{name}` is longer than {MAX_FIELD_BYTES} bytes")));
                }
                value.extend_from_slice(&chunk);
            }
            let value = String::from_utf8(value)
                .map_err(|_| ApiError::InvalidParameter(format!("field `{name}` is not valid UTF-8 text")))?;
            fields.entry(name).or_insert(value);
        }
    }
    Ok(UploadForm { file, file2, fields })
}
