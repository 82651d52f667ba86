//! Turns uploaded audio into speaker embeddings on dedicated worker threads.
//!
//! Decoding, preprocessing and the encoder are CPU-bound, so they run off the async runtime on
//! one worker per core. A worker that wakes up takes every job waiting (up to `MAX_BATCH`) and
//! runs their windows through the LSTM together: under concurrent load the recurrent matrix
//! products get more rows, which is where the encoder gets its speed. The queue is bounded; a
//! full queue is reported as overload instead of letting latency grow without limit.
//!
//! Besides uploads, the workers embed prepared windows (diarization, live streams): a caller
//! with many windows sends them a chunk or two at a time, so that its work interleaves with
//! everyone else's in the queue's order instead of holding the workers.

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::oneshot;
use voxprint_audio::{DecodeError, Format, RawPcm};
use voxprint_engine::constants::SAMPLE_RATE;
use voxprint_engine::{preprocess, quality, speech, Embedding, Encoder, EngineError, Quality, Sound, Spectrogram};

use crate::metrics::Metrics;
use crate::speaker::{recording, scoring};

const MAX_BATCH: usize = 16;

/// An utterance's embedding and what was learnt about the audio on the way.
pub struct Embedded {
    pub embedding: Vec<f32>,
    /// For an enrollment, the condition set (`scoring::condition_set`); empty for a probe.
    pub conditions: Vec<f32>,
    pub format: Format,
    /// Length of the decoded recording.
    pub audio_seconds: f32,
    pub quality: Quality,
}

#[derive(Debug)]
pub enum EmbedFailure {
    Decode(DecodeError),
    /// The speech detector found none; what the recording sounds like instead.
    NoSpeech(Sound),
    NotEnoughSpeech { seconds: f32 },
    Overloaded,
    Internal(String),
}

/// What a recording is embedded for: an enrollment also gets its condition set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Probe,
    Enrollment,
}

enum Job {
    Upload(Upload),
    Windows(Windows),
}

struct Upload {
    audio: Bytes,
    raw: RawPcm,
    purpose: Purpose,
    reply: oneshot::Sender<Result<Embedded, EmbedFailure>>,
}

/// Prepared encoder inputs ([`voxprint_engine::diarize::window_input`]), each embedded on its
/// own; `None` for one with less speech than `min_seconds`.
struct Windows {
    inputs: Vec<Vec<f32>>,
    min_seconds: f32,
    reply: oneshot::Sender<Vec<Option<Embedding>>>,
}

#[derive(Clone)]
pub struct Embedder {
    queue: SyncSender<Job>,
    metrics: Arc<Metrics>,
}

impl Embedder {
    pub fn start(encoder: Arc<Encoder>, workers: usize, queue_capacity: usize, metrics: Arc<Metrics>) -> Embedder {
        let (queue, jobs) = mpsc::sync_channel(queue_capacity);
        let jobs = Arc::new(Mutex::new(jobs));
        for index in 0..workers.max(1) {
            let (encoder, jobs) = (encoder.clone(), jobs.clone());
            std::thread::Builder::new()
                .name(format!("embedder-{index}"))
                .spawn(move || work(&encoder, &jobs))
                .expect("spawn embedding worker");
        }
        Embedder { queue, metrics }
    }

    pub async fn embed(&self, audio: Bytes, raw: RawPcm, purpose: Purpose) -> Result<Embedded, EmbedFailure> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Upload(Upload { audio, raw, purpose, reply }))?;
        let started = std::time::Instant::now();
        let result = answer.await.unwrap_or_else(|_| Err(EmbedFailure::Internal("an embedding worker failed".into())));
        if let Ok(embedded) = &result {
            // Queueing included: what a caller waits for an embedding.
            self.metrics.embedding_seconds.observe(started.elapsed().as_secs_f64());
            self.metrics.audio_seconds.inc_by(f64::from(embedded.audio_seconds));
        }
        result
    }

    /// Embeds prepared windows, each on its own; `None` for one with less than `min_seconds` of
    /// audio. A full queue is [`EmbedFailure::Overloaded`].
    pub async fn embed_windows(
        &self,
        inputs: Vec<Vec<f32>>,
        min_seconds: f32,
    ) -> Result<Vec<Option<Embedding>>, EmbedFailure> {
        let (reply, answer) = oneshot::channel();
        self.submit(Job::Windows(Windows { inputs, min_seconds, reply }))?;
        answer.await.map_err(|_| EmbedFailure::Internal("an embedding worker failed".into()))
    }

    fn submit(&self, job: Job) -> Result<(), EmbedFailure> {
        match self.queue.try_send(job) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(EmbedFailure::Overloaded),
            Err(TrySendError::Disconnected(_)) => Err(EmbedFailure::Internal("embedding workers stopped".into())),
        }
    }
}

fn work(encoder: &Encoder, jobs: &Mutex<Receiver<Job>>) {
    loop {
        let batch = {
            let Ok(jobs) = jobs.lock() else { return };
            let Ok(first) = jobs.recv() else { return };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            batch
        };
        let (mut uploads, mut windows) = (Vec::new(), Vec::new());
        for job in batch {
            match job {
                Job::Upload(upload) => uploads.push(upload),
                Job::Windows(job) => windows.push(job),
            }
        }
        if !uploads.is_empty() {
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| embed_batch(encoder, &uploads)));
            match outcome {
                Ok(results) => {
                    for (job, result) in uploads.into_iter().zip(results) {
                        let _ = job.reply.send(result);
                    }
                }
                Err(_) => {
                    for job in uploads {
                        let _ = job.reply.send(Err(EmbedFailure::Internal("the speaker engine panicked".into())));
                    }
                }
            }
        }
        if !windows.is_empty() {
            // A panic drops the replies, which their callers see as a failed worker.
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| embed_windows(encoder, windows)));
        }
    }
}

/// Runs every window of the jobs through the encoder together; each job's floor is applied to
/// its own inputs before.
fn embed_windows(encoder: &Encoder, jobs: Vec<Windows>) {
    let long_enough = |job: &Windows, input: &Vec<f32>| input.len() as f32 / SAMPLE_RATE as f32 >= job.min_seconds;
    let usable = jobs.iter().flat_map(|job| job.inputs.iter().filter(move |input| long_enough(job, input)));
    let mut embeddings = encoder.embed_batch_at_least(usable, 0.0).into_iter();
    for job in jobs {
        let mine: Vec<Option<Embedding>> = job
            .inputs
            .iter()
            .map(|input| if long_enough(&job, input) { embeddings.next().and_then(Result::ok) } else { None })
            .collect();
        let _ = job.reply.send(mine);
    }
}

/// A decoded recording, ready for the encoder: one preprocessed utterance for a probe, the
/// recording and its simulated conditions for an enrollment (made as the encoder takes them).
struct Prepared {
    utterances: Box<dyn Iterator<Item = Vec<f32>>>,
    /// How many `utterances` yields.
    count: usize,
    format: Format,
    audio_seconds: f32,
    quality: Quality,
}

/// Decodes and preprocesses each job, then embeds every usable utterance in one encoder pass.
fn embed_batch(encoder: &Encoder, batch: &[Upload]) -> Vec<Result<Embedded, EmbedFailure>> {
    let mut prepared: Vec<Result<Prepared, EmbedFailure>> =
        batch.iter().map(|job| prepare(&job.audio, job.raw, job.purpose)).collect();
    let usable = prepared.iter_mut().filter_map(|p| p.as_mut().ok()).flat_map(|p| p.utterances.by_ref());
    let mut embeddings = encoder.embed_batch(usable).into_iter();
    prepared
        .into_iter()
        .zip(batch)
        .map(|(prepared, job)| {
            let Prepared { count, format, audio_seconds, quality, .. } = prepared?;
            let mine: Vec<_> = embeddings.by_ref().take(count).collect();
            if mine.len() < count {
                return Err(EmbedFailure::Internal("the encoder returned too few embeddings".into()));
            }
            let to_failure = |EngineError::NotEnoughSpeech { seconds }| EmbedFailure::NotEnoughSpeech { seconds };
            let (embedding, conditions) = match job.purpose {
                Purpose::Probe => {
                    let embedding = mine.into_iter().next().expect("one utterance").map_err(to_failure)?;
                    (embedding.as_slice().to_vec(), Vec::new())
                }
                Purpose::Enrollment => {
                    let conditions = scoring::condition_set(mine).map_err(to_failure)?;
                    (conditions[..scoring::EMBEDDING_DIM].to_vec(), conditions)
                }
            };
            Ok(Embedded { embedding, conditions, format, audio_seconds, quality })
        })
        .collect()
}

/// Decodes a recording to 16 kHz mono, refuses it unless it contains speech, measures its
/// quality and preprocesses it as [`voxprint_engine::preprocess`] does (for an enrollment, also
/// under each simulated condition), step by step so that the detector and the measures share
/// the 16 kHz signal and its spectrogram.
fn prepare(audio: &[u8], raw: RawPcm, purpose: Purpose) -> Result<Prepared, EmbedFailure> {
    let recording = recording::decode(audio, raw).map_err(EmbedFailure::Decode)?;
    // The spectrogram takes 1.6 times the samples' memory: gone before the encoder's inputs come.
    let quality = {
        let spectrogram = Spectrogram::new(&recording.wav_16k);
        match speech::detect(&spectrogram) {
            Sound::Speech => {}
            other => return Err(EmbedFailure::NoSpeech(other)),
        }
        quality::measure(recording.clipping, recording.sample_rate, &spectrogram)
    };
    let (utterances, count): (Box<dyn Iterator<Item = Vec<f32>>>, usize) = match purpose {
        Purpose::Probe => (Box::new(std::iter::once(preprocess::finish(recording.wav_16k))), 1),
        Purpose::Enrollment => {
            (Box::new(scoring::condition_inputs(recording.wav_16k, audio)), scoring::CONDITION_ROWS)
        }
    };
    Ok(Prepared { utterances, count, format: recording.format, audio_seconds: recording.seconds, quality })
}
