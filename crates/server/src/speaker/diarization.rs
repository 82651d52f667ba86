//! Who spoke when in an upload (the method is `voxprint_engine::diarize`'s): the recording is
//! decoded, checked for speech and cut into windows on a blocking thread; the windows are
//! embedded by the shared embedding workers a chunk at a time, so that a long recording takes
//! its turn with everyone else's requests instead of holding the workers; then the windows are
//! clustered into speakers. Naming the speakers is the service's (`service/diarize.rs`).

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use voxprint_audio::RawPcm;
use voxprint_engine::constants::{SAMPLE_RATE, VAD_WINDOW_SAMPLES};
use voxprint_engine::diarize::{self, Turn, Window, MIN_WINDOW_SPEECH_SAMPLES};
use voxprint_engine::{preprocess, speech, vad, Embedding, Sound, Spectrogram};

use super::recording;
use super::workers::{EmbedFailure, Embedder};

/// Windows sent to the workers at once: a pass of the encoder's batch size, so that a worker
/// that takes one chunk runs it near peak, yet other requests wait at most one pass for it.
const WINDOWS_PER_CHUNK: usize = 64;
/// Chunks of one recording in the workers' queue at once: two, so that a lone diarization keeps
/// two workers busy, while a queue shared with other requests still takes them in turn.
const CHUNKS_IN_FLIGHT: usize = 2;
/// The speech detector judges the recording in blocks of this many seconds: a long recording
/// may be speech in places and only noise in others, and the noise must not become a speaker.
const SPEECH_CHECK_SECONDS: usize = 30;
/// How long to wait before offering a chunk again when the workers' queue is full.
const FULL_QUEUE_PAUSE: Duration = Duration::from_millis(20);

/// `--diarize-cluster-threshold`'s default, chosen on the development voices of
/// `scripts/bench-diarize.sh --tune`.
pub const DEFAULT_CLUSTER_THRESHOLD: f32 = 0.65;

/// Settings fixed at start (`--diarize-*`).
#[derive(Debug, Clone, Copy)]
pub struct DiarizationSettings {
    /// Longest recording accepted, seconds.
    pub max_seconds: u32,
    /// Least cosine similarity at which two clusters of windows are one speaker.
    pub cluster_threshold: f32,
}

/// A diarized recording: the turns, and each speaker's embedding (indexed by `Turn::speaker`).
pub struct Diarized {
    pub turns: Vec<Turn>,
    pub speakers: Vec<Embedding>,
    pub audio_seconds: f32,
}

/// Diarizations at once: `running` are processed, as many again wait their turn, more are
/// refused as overload.
pub struct Admission {
    admitted: Arc<Semaphore>,
    running: Arc<Semaphore>,
}

/// A diarization's place: held until it is answered.
pub struct Slot {
    _admitted: OwnedSemaphorePermit,
    _running: OwnedSemaphorePermit,
}

impl Admission {
    pub fn new(running: usize) -> Admission {
        let running = running.max(1);
        Admission { admitted: Arc::new(Semaphore::new(2 * running)), running: Arc::new(Semaphore::new(running)) }
    }

    /// Waits for a place, or `None` at once when the queue is full.
    pub async fn enter(&self) -> Option<Slot> {
        let admitted = self.admitted.clone().try_acquire_owned().ok()?;
        let running = self.running.clone().acquire_owned().await.ok()?;
        Some(Slot { _admitted: admitted, _running: running })
    }
}

/// Diarizes an upload; `max_speakers` caps the number of speakers.
pub async fn diarize(
    embedder: &Embedder,
    audio: Bytes,
    raw: RawPcm,
    settings: DiarizationSettings,
    max_speakers: Option<usize>,
) -> Result<Diarized, EmbedFailure> {
    let prepared = blocking(move || prepare(&audio, raw, settings.max_seconds)).await??;
    let prepared = Arc::new(prepared);
    let min_seconds = MIN_WINDOW_SPEECH_SAMPLES as f32 / SAMPLE_RATE as f32;
    let embed_chunk = |range: Range<usize>| {
        let prepared = prepared.clone();
        async move {
            let windows = &prepared.windows[range.clone()];
            let inputs = || windows.iter().map(|window| diarize::window_input(&prepared.wav, &prepared.speech, window));
            loop {
                match embedder.embed_windows(inputs().collect(), min_seconds).await {
                    Err(EmbedFailure::Overloaded) => tokio::time::sleep(FULL_QUEUE_PAUSE).await,
                    other => break other.map(|embeddings| (range, embeddings)),
                }
            }
        }
    };
    let count = prepared.windows.len();
    let ranges = (0..count).step_by(WINDOWS_PER_CHUNK).map(|start| start..(start + WINDOWS_PER_CHUNK).min(count));
    let mut chunks = futures_util::stream::iter(ranges).map(embed_chunk).buffered(CHUNKS_IN_FLIGHT);
    let mut embedded: Vec<(Window, Embedding)> = Vec::with_capacity(count);
    while let Some(result) = chunks.next().await {
        let (range, embeddings) = result?;
        let windows = prepared.windows[range].iter().cloned();
        embedded.extend(windows.zip(embeddings).filter_map(|(window, embedding)| Some((window, embedding?))));
    }
    drop(chunks);
    if embedded.is_empty() {
        return Err(EmbedFailure::NotEnoughSpeech { seconds: prepared.speech_seconds() });
    }
    let audio_seconds = prepared.audio_seconds;
    let threshold = settings.cluster_threshold;
    blocking(move || {
        let (windows, embeddings): (Vec<Window>, Vec<Embedding>) = embedded.into_iter().unzip();
        let labels = diarize::cluster(&embeddings, threshold, max_speakers);
        let speaker_count = labels.iter().max().map_or(0, |&m| m + 1);
        let speakers = (0..speaker_count)
            .map(|s| diarize::centroid(embeddings.iter().zip(&labels).filter(|(_, &l)| l == s).map(|(e, _)| e)))
            .collect();
        let turns = diarize::turns(&prepared.speech, &windows, &labels);
        Diarized { turns, speakers, audio_seconds }
    })
    .await
}

/// A decoded recording with its speech mask and the windows to embed.
struct Prepared {
    wav: Vec<f32>,
    speech: Vec<bool>,
    windows: Vec<Window>,
    audio_seconds: f32,
}

impl Prepared {
    fn speech_seconds(&self) -> f32 {
        (self.speech.iter().filter(|&&s| s).count() * VAD_WINDOW_SAMPLES) as f32 / SAMPLE_RATE as f32
    }
}

fn prepare(audio: &[u8], raw: RawPcm, max_seconds: u32) -> Result<Prepared, EmbedFailure> {
    let recording = recording::decode_at_most(audio, raw, max_seconds).map_err(EmbedFailure::Decode)?;
    let mut wav = recording.wav_16k;
    preprocess::normalize_volume(&mut wav);
    let mut speech = vad::speech_mask(&wav);
    let block = SPEECH_CHECK_SECONDS * SAMPLE_RATE as usize;
    let mut heard = None;
    for (index, samples) in wav.chunks(block).enumerate() {
        let sound = speech::detect(&Spectrogram::new(samples));
        if sound != Sound::Speech {
            let frames = block / VAD_WINDOW_SAMPLES;
            speech.iter_mut().skip(index * frames).take(frames).for_each(|s| *s = false);
        }
        heard = match (heard, sound) {
            (Some(Sound::Speech), _) | (_, Sound::Speech) => Some(Sound::Speech),
            (None, other) => Some(other),
            (earlier, _) => earlier,
        };
    }
    match heard {
        Some(Sound::Speech) | None => {}
        Some(other) => return Err(EmbedFailure::NoSpeech(other)),
    }
    let windows = diarize::plan_windows(&speech, wav.len());
    Ok(Prepared { wav, speech, windows, audio_seconds: recording.seconds })
}

/// Runs CPU-bound work off the async runtime.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, EmbedFailure> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| EmbedFailure::Internal("the diarization failed (a worker panicked)".into()))
}
