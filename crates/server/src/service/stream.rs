//! Live streams (speaker_stream): how many may run, per token and on the instance, and who of a
//! group a stretch of live speech is. The WebSocket and the audio's state are `http/stream.rs`'s
//! and `speaker/live.rs`'s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use voxprint_engine::constants::SAMPLE_RATE;
use voxprint_engine::diarize::MIN_WINDOW_SPEECH_SAMPLES;

use super::Voxprint;
use crate::domain::Id;
use crate::error::ApiError;
use crate::speaker::workers::EmbedFailure;

/// Limits of live streams, fixed at start (`--max-streams*`, `--stream-*`).
#[derive(Debug, Clone, Copy)]
pub struct StreamSettings {
    pub max_streams: usize,
    pub max_streams_per_token: usize,
    /// A stream that sends no audio for this long is closed; also the wait for its first message.
    pub idle_timeout: std::time::Duration,
    /// A stream is closed after this long.
    pub max_duration: std::time::Duration,
}

/// The streams open now, in all and per token.
#[derive(Default)]
pub struct OpenStreams {
    by_token: Mutex<HashMap<Vec<u8>, usize>>,
}

/// A stream's place; freed when dropped.
pub struct StreamSlot {
    streams: Arc<OpenStreams>,
    token_hash: Vec<u8>,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut by_token = self.streams.lock();
        if let Some(count) = by_token.get_mut(&self.token_hash) {
            *count -= 1;
            if *count == 0 {
                by_token.remove(&self.token_hash);
            }
        }
    }
}

impl OpenStreams {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, usize>> {
        self.by_token.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Who a stretch of live speech is.
pub enum LiveAnswer {
    /// The group's best voiceprint for it, and whether it reaches the threshold.
    Best { feature_id: Id, feature_name: String, score: f64, matched: bool },
    NoVoiceprints,
    /// No answer this time: the workers were too busy, or the speech too short to embed. The
    /// next update comes half a second later.
    Skipped,
}

impl Voxprint {
    /// A place for a new stream of this token, or 4009 when the instance or the token has as
    /// many as it may.
    pub fn open_stream(&self, token_hash: &[u8]) -> Result<StreamSlot, ApiError> {
        let limits = self.settings.streams;
        let mut by_token = self.streams.lock();
        if by_token.values().sum::<usize>() >= limits.max_streams {
            return Err(ApiError::Overloaded(format!(
                "the server has its most live streams open ({}); retry later",
                limits.max_streams
            )));
        }
        let count = by_token.entry(token_hash.to_vec()).or_default();
        if *count >= limits.max_streams_per_token {
            return Err(ApiError::Overloaded(format!(
                "this token has its most live streams open ({}); close one first",
                limits.max_streams_per_token
            )));
        }
        *count += 1;
        Ok(StreamSlot { streams: self.streams.clone(), token_hash: token_hash.to_vec() })
    }

    /// Who of the group the speech is (prepared by `speaker::live`).
    pub async fn identify_live(&self, group_id: Id, speech: Vec<f32>) -> Result<LiveAnswer, ApiError> {
        let min_seconds = MIN_WINDOW_SPEECH_SAMPLES as f32 / SAMPLE_RATE as f32;
        let embedding = match self.embedder.embed_windows(vec![speech], min_seconds).await {
            Ok(mut embeddings) => embeddings.pop().flatten(),
            Err(EmbedFailure::Overloaded) => None,
            Err(other) => return Err(other.into()),
        };
        let Some(embedding) = embedding else { return Ok(LiveAnswer::Skipped) };
        let group = self.speakers.group(&self.store, group_id.0).await?;
        let threshold = self.settings.match_threshold;
        self.metrics.stream_updates.inc();
        Ok(match group.rank(&embedding.0).into_iter().next() {
            Some(best) => LiveAnswer::Best {
                feature_id: Id(best.voiceprint.id),
                feature_name: best.voiceprint.name.clone(),
                score: best.score,
                matched: best.score >= threshold,
            },
            None => LiveAnswer::NoVoiceprints,
        })
    }
}
