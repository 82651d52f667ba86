//! Who is speaking now (a Voxprint extension): `GET …/speaker_stream` upgraded to a WebSocket.
//!
//! The client authenticates with the `Authorization` header, or, since browsers cannot set
//! headers on a WebSocket, with the subprotocol `bearer.<token>` (beside `voxprint`, which the
//! server selects: the token is never echoed) or a `"token"` in its first message. Never in the
//! URL, which ends up in logs. The first message is JSON text, `{"sample_rate": 16000,
//! "channel": 1}`; then binary frames of 16-bit little-endian PCM, at most a second each. The
//! server answers `ready`, then `speech_start`, `speaker` (about every 0.5 s of speech),
//! `speech_end`, and `error` (with a Coze code) before it closes. Text `{"event": "end"}` ends
//! the stream cleanly. `time` is seconds of the stream's audio.
//!
//! A stream is limited per token and per instance, closed after `--stream-idle-timeout`
//! without audio and after `--stream-max-seconds`, and read no faster than real time (a client
//! that sends ahead is slowed down, so one stream cannot take the embedding workers from
//! everyone else). A client that stops reading its events is dropped.

use std::time::{Duration, Instant};

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::Extension;
use axum::http::header::{AUTHORIZATION, SEC_WEBSOCKET_PROTOCOL};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;
use voxprint_api::stream::{StreamEvent, StreamStart, STREAM_SUBPROTOCOL, TOKEN_SUBPROTOCOL_PREFIX};
use voxprint_audio::{MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};

use super::audit;
use super::auth::{authenticate, bearer_token, Caller};
use super::client_address::ClientAddress;
use super::envelope;
use super::error::ApiError;
use super::groups::GroupPath;
use super::AppState;
use crate::domain::{Id, Permission};
use crate::service::stream::{LiveAnswer, StreamSlot};
use crate::speaker::live::{LiveSpeaker, Step};

/// Most channels a stream may have (Coze's PCM: mono or stereo).
const MAX_CHANNELS: u16 = 2;
/// Largest message accepted: a second of 48 kHz stereo and some; larger is refused by the
/// WebSocket layer itself, a frame over a second of the stream's own format by [`serve`].
const MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// How far the stream's audio may run ahead of the wall clock before reading slows down.
const MAX_LEAD: Duration = Duration::from_secs(2);
/// How long sending an event may take before the client counts as gone.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn stream(
    State(state): State<AppState>,
    GroupPath(group_id): GroupPath,
    headers: HeaderMap,
    client: Option<Extension<ClientAddress>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let client = state.settings.trusted_proxies.describe(client.map(|Extension(peer)| peer), &headers);
    // A header or subprotocol token is checked before the upgrade, so that a bad one is an
    // ordinary HTTP error; a token in the first message is checked after it.
    let token = match headers.get(AUTHORIZATION) {
        Some(header) => Some(bearer_token(header)?.to_owned()),
        None => subprotocol_token(&headers),
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        // Not a WebSocket at all: answered as any endpoint is, a missing token first.
        Err(rejection) => {
            let Some(token) = token else {
                return Err(ApiError::Unauthenticated(
                    "missing Authorization header; send `Authorization: Bearer <token>`".into(),
                ));
            };
            admit(&state, group_id, &token).await?;
            return Err(ApiError::InvalidParameter(format!(
                "speaker_stream is a WebSocket endpoint: connect with `Upgrade: websocket` ({})",
                rejection.body_text()
            )));
        }
    };
    let caller = match token {
        Some(token) => Some(admit(&state, group_id, &token).await?),
        None => None,
    };
    // The stream keeps the handshake's logid (in its X-Tt-Logid header) for its log lines and
    // its error events.
    let logid = envelope::current_logid();
    Ok(upgrade
        .protocols([STREAM_SUBPROTOCOL])
        .max_message_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| envelope::with_logid(logid, run(state, group_id, caller, client, socket))))
}

/// The token of a `bearer.<token>` subprotocol, if one is offered.
fn subprotocol_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .find_map(|protocol| protocol.trim().strip_prefix(TOKEN_SUBPROTOCOL_PREFIX).map(str::to_owned))
}

/// The caller of a token, if it may stream in the group, with a place for the stream.
async fn admit(state: &AppState, group_id: Id, token: &str) -> Result<(Caller, StreamSlot), ApiError> {
    let caller = authenticate(state, token).await?;
    caller.require(Permission::StreamVoiceprintGroup)?;
    state.voxprint.visible_group(caller.actor(), group_id).await?;
    let slot = state.voxprint.open_stream(&caller.token_hash)?;
    Ok((caller, slot))
}

/// Why a stream ends early.
enum Ending {
    /// Refused: the error event's code and message.
    Refused { code: i64, msg: String },
    /// The client left or stopped reading; nothing more can be sent.
    Gone,
}

impl From<ApiError> for Ending {
    fn from(err: ApiError) -> Ending {
        let (code, msg) = err.into_code_and_message();
        Ending::Refused { code, msg }
    }
}

fn invalid(msg: impl Into<String>) -> Ending {
    Ending::Refused { code: voxprint_api::codes::INVALID_PARAMETER, msg: msg.into() }
}

/// What a stream sends.
struct Events {
    socket: WebSocket,
}

impl Events {
    /// Sends an event; `false` when the client is gone or not reading.
    async fn send(&mut self, event: StreamEvent) -> bool {
        let Ok(text) = serde_json::to_string(&event) else { return false };
        let text = Message::Text(text.into());
        matches!(tokio::time::timeout(SEND_TIMEOUT, self.socket.send(text)).await, Ok(Ok(())))
    }

    async fn close(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame { code, reason: reason.chars().take(100).collect::<String>().into() };
        let _ = tokio::time::timeout(SEND_TIMEOUT, self.socket.send(Message::Close(Some(frame)))).await;
    }
}

async fn run(state: AppState, group_id: Id, admitted: Option<(Caller, StreamSlot)>, client: String, socket: WebSocket) {
    let metrics = state.voxprint.metrics.clone();
    metrics.streams_open.inc();
    metrics.streams.inc();
    let mut events = Events { socket };
    let mut time = 0.0;
    match serve(&state, group_id, admitted, client, &mut events, &mut time).await {
        Ok(()) => events.close(1000, "end of stream").await,
        Err(Ending::Refused { code, msg }) => {
            let sent = events.send(StreamEvent::Error { time: round(time), code, msg: msg.clone() }).await;
            if sent {
                // 1008: policy violation, for every refusal; 1011 for the server's own failures.
                events.close(if code >= 5000 { 1011 } else { 1008 }, &msg).await;
            }
        }
        Err(Ending::Gone) => {}
    }
    metrics.streams_open.dec();
}

/// Runs a stream until it ends; `time` follows the stream's audio.
async fn serve(
    state: &AppState,
    group_id: Id,
    admitted: Option<(Caller, StreamSlot)>,
    client: String,
    events: &mut Events,
    time: &mut f64,
) -> Result<(), Ending> {
    let limits = state.voxprint.settings.streams;
    let first = match tokio::time::timeout(limits.idle_timeout, events.socket.recv()).await {
        Err(_) => return Err(invalid("no first message: send {\"sample_rate\": 16000, \"channel\": 1} first")),
        Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return Ok(()),
        Ok(Some(Ok(message))) => message,
    };
    let Message::Text(text) = first else {
        return Err(invalid("the first message must be JSON text: {\"sample_rate\": 16000, \"channel\": 1}"));
    };
    let start: StreamStart = serde_json::from_str(text.as_str())
        .map_err(|err| invalid(format!("the first message is not {{\"sample_rate\": …, \"channel\": …}}: {err}")))?;
    let sample_rate = start.sample_rate.unwrap_or(16_000);
    let channels = start.channel.unwrap_or(1);
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&sample_rate) {
        return Err(invalid(format!(
            "sample_rate must be from {MIN_SAMPLE_RATE} to {MAX_SAMPLE_RATE}, got {sample_rate}"
        )));
    }
    if !(1..=MAX_CHANNELS).contains(&channels) {
        return Err(invalid(format!("channel must be 1 or 2, got {channels}")));
    }
    let _admitted = match (admitted, start.token) {
        (Some(admitted), _) => admitted,
        (None, Some(token)) => {
            // Authenticated after the upgrade, which the audit trail recorded without a caller.
            let admitted = admit(state, group_id, &token).await?;
            audit::append_for_stream(state, &admitted.0, group_id.0, voxprint_api::codes::OK, client).await;
            admitted
        }
        (None, None) => {
            return Err(ApiError::Unauthenticated(
                "no token: send the Authorization header, the subprotocol bearer.<token>, or \"token\" in the first message"
                    .into(),
            )
            .into())
        }
    };
    let threshold = state.voxprint.settings.match_threshold;
    if !events.send(StreamEvent::Ready { time: 0.0, threshold }).await {
        return Err(Ending::Gone);
    }

    let max_frame = sample_rate as usize * usize::from(channels) * 2;
    let mut live = LiveSpeaker::new(sample_rate, channels);
    let started = Instant::now();
    let mut stop = state.shutdown.clone();
    loop {
        let message = tokio::select! {
            received = tokio::time::timeout(limits.idle_timeout, events.socket.recv()) => match received {
                Err(_) => return Err(invalid(format!("no audio for {} s", limits.idle_timeout.as_secs()))),
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return Ok(()),
                Ok(Some(Ok(message))) => message,
            },
            () = tokio::time::sleep_until((started + limits.max_duration).into()) => {
                return Err(invalid(format!("the stream reached its longest, {} s", limits.max_duration.as_secs())));
            }
            _ = stop.wait_for(|stopping| *stopping) => {
                return Err(ApiError::Overloaded("the server is shutting down; reconnect".into()).into());
            }
        };
        let steps = match message {
            Message::Binary(bytes) if bytes.len() > max_frame => {
                return Err(invalid(format!(
                    "a frame of {} bytes is more than a second of audio ({max_frame} bytes at {sample_rate} Hz, {channels} channel(s))",
                    bytes.len()
                )));
            }
            Message::Binary(bytes) => live.push(&bytes),
            Message::Text(text) => match serde_json::from_str::<Value>(text.as_str()) {
                Ok(value) if value["event"] == "end" => {
                    report(state, group_id, live.finish(), events).await?;
                    return Ok(());
                }
                _ => return Err(invalid("after the first message, send binary PCM frames, or {\"event\": \"end\"}")),
            },
            _ => continue, // pings and pongs are answered by the WebSocket layer
        };
        *time = live.time();
        report(state, group_id, steps, events).await?;
        // No faster than real time: the stream's audio may lead the clock by MAX_LEAD at most.
        let lead = Duration::from_secs_f64(*time).saturating_sub(started.elapsed());
        if lead > MAX_LEAD {
            tokio::time::sleep(lead - MAX_LEAD).await;
        }
    }
}

/// Turns the audio's steps into events: identifying the speech where asked.
async fn report(state: &AppState, group_id: Id, steps: Vec<Step>, events: &mut Events) -> Result<(), Ending> {
    for step in steps {
        let event = match step {
            Step::SpeechStart { time } => StreamEvent::SpeechStart { time: round(time) },
            Step::SpeechEnd { time } => StreamEvent::SpeechEnd { time: round(time) },
            Step::Identify { time, input } => match state.voxprint.identify_live(group_id, input).await {
                Ok(LiveAnswer::Best { feature_id, feature_name, score, matched }) => StreamEvent::Speaker {
                    time: round(time),
                    feature_id: matched.then_some(feature_id),
                    feature_name: matched.then_some(feature_name),
                    score: Some(score),
                    matched,
                },
                Ok(LiveAnswer::NoVoiceprints) => StreamEvent::Speaker {
                    time: round(time),
                    feature_id: None,
                    feature_name: None,
                    score: None,
                    matched: false,
                },
                Ok(LiveAnswer::Skipped) | Err(ApiError::Overloaded(_)) => continue,
                Err(err) => return Err(err.into()),
            },
        };
        if !events.send(event).await {
            return Err(Ending::Gone);
        }
    }
    Ok(())
}

/// Times to the millisecond.
fn round(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}
