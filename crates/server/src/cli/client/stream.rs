//! `voxprint client stream`: a recording, or raw PCM from standard input, sent to
//! `speaker_stream` at real-time pace, with the server's events printed as they come.

use std::io::Read;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use voxprint_api::stream::{StreamEvent, StreamStart, END_MESSAGE};
use voxprint_api::Error;

/// Audio sent per message: 100 ms.
const MESSAGE_SECONDS: f64 = 0.1;
/// Longest recording file streamed (they are decoded whole first).
const MAX_FILE_SECONDS: u32 = 4 * 3600;

/// Where the audio comes from.
pub enum Source<'a> {
    /// Any supported audio file.
    File(&'a Path),
    /// Raw 16-bit little-endian PCM on standard input, in this format.
    Stdin { sample_rate: u32, channels: u16 },
}

/// Streams the source and prints the events: one line each, or their JSON with `json`. An
/// error event is printed to stderr and fails the command.
pub async fn stream(base_url: &str, token: &str, group: &str, source: Source<'_>, json: bool) -> Result<ExitCode, Error> {
    let url = format!("{}/v1/audio/voiceprint_groups/{group}/speaker_stream", base_url.trim_end_matches('/'));
    let url = url.replacen("http://", "ws://", 1);
    let mut request = url.as_str().into_client_request().map_err(|err| Error::Local(format!("{url}: {err}")))?;
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| Error::Local("the token is not valid text".into()))?;
    request.headers_mut().insert("Authorization", bearer);
    let (socket, _) = tokio_tungstenite::connect_async(request).await.map_err(|err| Error::Local(refusal(&url, err)))?;
    let (mut outgoing, mut incoming) = socket.split();

    let (sample_rate, channels, mut audio) = open(source)?;
    let start = StreamStart { sample_rate: Some(sample_rate), channel: Some(channels), token: None };
    let first = serde_json::to_string(&start).expect("serialisable");
    outgoing.send(Message::text(first)).await.map_err(|err| Error::Local(format!("sending: {err}")))?;

    let message_bytes = ((sample_rate as f64 * MESSAGE_SECONDS) as usize).max(1) * usize::from(channels) * 2;
    let sender = tokio::spawn(async move {
        let began = Instant::now();
        let mut sent = 0usize;
        // A blocking read, off the runtime: standard input may wait on a live source.
        while let Some(chunk) = tokio::task::block_in_place(|| audio.next_chunk(message_bytes)) {
            sent += 1;
            let due = began + Duration::from_secs_f64(MESSAGE_SECONDS * sent as f64);
            if outgoing.send(Message::binary(chunk)).await.is_err() {
                return;
            }
            tokio::time::sleep_until(due.into()).await;
        }
        let _ = outgoing.send(Message::text(END_MESSAGE)).await;
    });

    let mut status = ExitCode::SUCCESS;
    while let Some(message) = incoming.next().await {
        let Ok(Message::Text(text)) = message else { continue };
        let Ok(event) = serde_json::from_str::<StreamEvent>(text.as_str()) else { continue };
        if let StreamEvent::Error { code, msg, .. } = &event {
            eprintln!("error {code}: {msg}");
            status = ExitCode::FAILURE;
        }
        if json {
            println!("{text}");
        } else {
            print_event(&event);
        }
    }
    sender.abort();
    Ok(status)
}

/// The audio to send, in 16-bit little-endian PCM.
enum Audio {
    Decoded { bytes: Vec<u8>, position: usize },
    Stdin(std::io::Stdin),
}

impl Audio {
    /// The next `size` bytes (fewer at the end), or `None` when the audio has ended.
    fn next_chunk(&mut self, size: usize) -> Option<Vec<u8>> {
        match self {
            Audio::Decoded { bytes, position } => {
                let chunk = bytes.get(*position..(*position + size).min(bytes.len()))?.to_vec();
                *position += chunk.len();
                (!chunk.is_empty()).then_some(chunk)
            }
            Audio::Stdin(stdin) => {
                let mut chunk = vec![0u8; size];
                let mut filled = 0;
                while filled < size {
                    match stdin.lock().read(&mut chunk[filled..]) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => filled += n,
                    }
                }
                chunk.truncate(filled);
                (!chunk.is_empty()).then_some(chunk)
            }
        }
    }
}

/// The source's format and its audio: a file decoded (mixed down to mono past two channels,
/// which is all a stream takes), or standard input as it comes.
fn open(source: Source) -> Result<(u32, u16, Audio), Error> {
    match source {
        Source::Stdin { sample_rate, channels } => Ok((sample_rate, channels, Audio::Stdin(std::io::stdin()))),
        Source::File(path) => {
            let bytes =
                std::fs::read(path).map_err(|err| Error::Local(format!("cannot read {}: {err}", path.display())))?;
            let mut collected = Collected::default();
            voxprint_audio::decode_into_at_most(&bytes, voxprint_audio::RawPcm::default(), &mut collected, MAX_FILE_SECONDS)
                .map_err(|err| Error::Local(format!("{}: {err}", path.display())))?;
            let channels = if collected.channels <= 2 { collected.channels } else { 1 };
            let samples: Vec<f32> = if collected.channels <= 2 {
                collected.samples
            } else {
                voxprint_engine::preprocess::to_mono(&collected.samples, usize::from(collected.channels))
            };
            let pcm = samples.iter().flat_map(|s| ((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes()).collect();
            Ok((collected.sample_rate, channels, Audio::Decoded { bytes: pcm, position: 0 }))
        }
    }
}

/// A decoded file, whole.
#[derive(Default)]
struct Collected {
    sample_rate: u32,
    channels: u16,
    samples: Vec<f32>,
}

impl voxprint_audio::Sink for Collected {
    fn start(&mut self, sample_rate: u32, channels: u16) {
        (self.sample_rate, self.channels) = (sample_rate, channels);
    }

    fn samples(&mut self, interleaved: &[f32]) {
        self.samples.extend_from_slice(interleaved);
    }
}

/// One line per event: the stream time, then what happened.
fn print_event(event: &StreamEvent) {
    match event {
        StreamEvent::Ready { threshold, .. } => println!("{:>8.2}  ready (threshold {threshold})", 0.0),
        StreamEvent::SpeechStart { time } => println!("{time:>8.2}  speech starts"),
        StreamEvent::SpeechEnd { time } => println!("{time:>8.2}  speech ends"),
        StreamEvent::Speaker { time, feature_name: Some(name), feature_id, score, .. } => {
            let id = feature_id.map(|id| id.to_string()).unwrap_or_default();
            println!("{time:>8.2}  speaking: {name} ({id}), score {:.2}", score.unwrap_or(0.0));
        }
        StreamEvent::Speaker { time, score, .. } => match score {
            Some(score) => println!("{time:>8.2}  speaking: not enrolled (best score {score:.2})"),
            None => println!("{time:>8.2}  speaking: not enrolled (the group has no voiceprints)"),
        },
        StreamEvent::Error { time, code, msg } => println!("{time:>8.2}  error {code}: {msg}"),
    }
}

/// A refused handshake as the server put it: its envelope's code and message when it sent one.
fn refusal(url: &str, err: tokio_tungstenite::tungstenite::Error) -> String {
    if let tokio_tungstenite::tungstenite::Error::Http(response) = &err {
        let body = response.body().as_deref().unwrap_or_default();
        if let Ok(envelope) = serde_json::from_slice::<serde_json::Value>(body) {
            if let (Some(code), Some(msg)) = (envelope["code"].as_i64(), envelope["msg"].as_str()) {
                return format!("error {code}: {msg}");
            }
        }
    }
    format!("cannot open the stream at {url}: {err}")
}
