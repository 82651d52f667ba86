//! Voxprint: the messages of a live stream (`GET …/speaker_stream`, a WebSocket). The client
//! sends [`StreamStart`] as its first text message, then binary frames of 16-bit
//! little-endian PCM (at most a second each), and may end with the text `{"event": "end"}`
//! ([`END_MESSAGE`]); the server sends [`StreamEvent`]s as text.

use serde::{Deserialize, Serialize};

use crate::Id;

/// The subprotocol a server selects; a browser, which cannot set headers, offers
/// `bearer.<token>` beside it.
pub const STREAM_SUBPROTOCOL: &str = "voxprint";
/// The prefix of the subprotocol that carries a token.
pub const TOKEN_SUBPROTOCOL_PREFIX: &str = "bearer.";
/// The text message that ends a stream cleanly.
pub const END_MESSAGE: &str = r#"{"event":"end"}"#;

/// The first message: the PCM's format (Coze's defaults: 16000 Hz, mono), and the token when
/// the client could send it neither as a header nor as a subprotocol.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StreamStart {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// What the server sends; `time` is seconds of the stream's audio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum StreamEvent {
    /// The first message was accepted; `threshold` is the one `matched` is decided on.
    Ready { time: f64, threshold: f64 },
    SpeechStart { time: f64 },
    /// Who is speaking, about every 0.5 s of speech: the group's best voiceprint when it reaches
    /// the threshold (`matched`), else `null`s with the best score; `score` is `null` when the
    /// group has no voiceprints.
    Speaker { time: f64, feature_id: Option<Id>, feature_name: Option<String>, score: Option<f64>, matched: bool },
    SpeechEnd { time: f64 },
    /// The stream is refused or ends early, with the Coze code; the server then closes.
    Error { time: f64, code: i64, msg: String },
}
