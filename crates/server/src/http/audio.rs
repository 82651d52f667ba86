//! Downloads of uploaded recordings through signed, expiring links (see `service/signing.rs`), and the
//! content types recordings are served with.

use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use crate::speaker::recording::{content_type, raw_pcm_of};

use super::error::ApiError;
use super::{query_values, AppState};
use crate::domain::Id;
use crate::storage::database::now_seconds;

pub const AUDIO_PATH: &str = "/v1/audio/voiceprint_audio";

/// The answer for a recording deleted by the audio retention.
const NOT_RETAINED: &str = "recording not retained: this server deletes recordings some days after upload (--audio-retention-days); the voiceprint itself is kept and still identifies";

/// An absolute link to a recording, valid for the configured time: `id` is the voiceprint's for
/// its primary recording, a sample's for a further one.
pub fn signed_url(state: &AppState, base_url: &str, id: i64, blob_key: &str) -> String {
    let expires = now_seconds() + state.settings.audio_url_ttl_seconds;
    let signature = state.signer.sign(id, blob_key, expires);
    format!("{base_url}{AUDIO_PATH}/{id}?expires={expires}&signature={signature}")
}

pub async fn download(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let refused = || {
        ApiError::Forbidden(
            "this audio link is invalid or has expired; list the voiceprints again for a fresh one".into(),
        )
    };
    let id = Id::parse(&raw_id, "recording ID").map_err(|_| refused())?;
    let [expires, signature] = query_values(query.as_deref(), ["expires", "signature"]);
    let (Some(expires), Some(signature)) = (expires.and_then(|e| e.parse::<i64>().ok()), signature) else {
        return Err(refused());
    };
    let (audio_key, audio_content_type) = match state.voxprint.store.voiceprint_owner(id.0).await? {
        Some(owner) => (owner.audio_key, owner.audio_content_type),
        None => {
            let sample = state.voxprint.store.sample_audio(id.0).await?.ok_or_else(refused)?;
            (sample.audio_key, sample.audio_content_type)
        }
    };
    if expires < now_seconds() || !state.signer.verify(id.0, &audio_key, expires, &signature) {
        return Err(refused());
    }
    if audio_key.is_empty() {
        return Err(ApiError::NotFound(NOT_RETAINED.into()));
    }
    let bytes = state.voxprint.blobs.get(&audio_key).await.map_err(|err| ApiError::audio_storage("reading audio", err))?;
    let content_type = HeaderValue::from_str(&served_content_type(&bytes, &audio_content_type))
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    Ok(([(CONTENT_TYPE, content_type), (CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"))], bytes)
        .into_response())
}

/// The content type a stored recording is served with: detected from its bytes again, since
/// rows written by older versions hold whatever audio type the client declared; only raw PCM's
/// rate and channels come from the stored type.
fn served_content_type(bytes: &[u8], stored: &str) -> String {
    match voxprint_audio::detect(bytes) {
        Ok(format) => content_type(format, raw_pcm_of(stored)),
        Err(_) => "application/octet-stream".into(),
    }
}


#[cfg(test)]
mod tests {
    use voxprint_audio::{Format, RawPcm};

    use super::*;

    #[test]
    fn raw_pcm_parameters_survive_in_the_content_type() {
        let raw = RawPcm { sample_rate: 8000, channels: 2 };
        let stored = content_type(Format::Pcm, raw);
        assert_eq!(stored, "audio/L16;rate=8000;channels=2");
        assert_eq!(raw_pcm_of(&stored), raw);
        assert_eq!(raw_pcm_of("audio/wav"), RawPcm::default());
        assert_eq!(served_content_type(&[1, 2, 3, 4], &stored), stored);
    }

    #[test]
    fn served_type_is_the_detected_format_whatever_was_stored() {
        let wav = [b"RIFF".as_slice(), &36u32.to_le_bytes(), b"WAVEfmt "].concat();
        assert_eq!(served_content_type(&wav, "audio/html"), "audio/wav");
        assert_eq!(served_content_type(b"fLaC\0\0\0\x22", "text/html"), "audio/flac");
        assert_eq!(
            served_content_type(b"<html><script>alert(1)</script></html>", "audio/wav"),
            "application/octet-stream"
        );
    }
}
