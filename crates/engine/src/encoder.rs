//! The speaker encoder: preprocessed 16 kHz samples → partial windows → mel → LSTM → linear +
//! ReLU → L2-normalised window embeddings → their normalised mean (Resemblyzer's
//! `embed_utterance`).
//!
//! [`Encoder::embed_batch`] puts the windows of all its utterances through the LSTM together:
//! the recurrent step is a matrix product with one row per window, and more rows run nearer
//! the CPU's peak. The server batches concurrent requests into one call for that reason. It
//! takes the utterances in turn and runs each full pass as soon as its windows are there, so
//! besides the embeddings it holds one utterance and one pass, however many utterances come.

use std::path::Path;

use crate::constants::{EMBEDDING_SIZE, HIDDEN, MIN_SPEECH_SECONDS, N_MELS, PARTIAL_N_FRAMES, SAMPLE_RATE};
use crate::kernels::Isa;
use crate::lstm::{Lstm, Precision};
use crate::mel::MelSpectrogram;
use crate::model::{ModelError, Weights};
use crate::windows;

/// Windows run through the LSTM together at most: enough rows for the recurrent products to run
/// near peak, while the time-major input (25 KB per window) and the LSTM's buffers stay small.
const MAX_WINDOWS_PER_PASS: usize = 64;

/// A speaker embedding: 256 values, L2-normalised (all zeros only in the degenerate case where
/// every window's ReLU output was zero).
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding(pub [f32; EMBEDDING_SIZE]);

impl Embedding {
    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }
}

/// Why an utterance could not be embedded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// Less than [`MIN_SPEECH_SECONDS`] of audio remained after silence trimming.
    #[error("not enough speech: {seconds:.2} s after removing silence, at least 1 s is needed")]
    NotEnoughSpeech { seconds: f32 },
}

/// Cosine similarity; for the normalised embeddings this is their dot product. 0 when either
/// vector is zero.
pub fn cosine(a: &Embedding, b: &Embedding) -> f32 {
    let dot: f32 = a.0.iter().zip(&b.0).map(|(x, y)| x * y).sum();
    let norms = norm(&a.0) * norm(&b.0);
    if norms > 0.0 {
        dot / norms
    } else {
        0.0
    }
}

/// The loaded model. Immutable after load, so `Send + Sync`: share one in an `Arc`.
#[derive(Debug)]
pub struct Encoder {
    lstm: Lstm,
    linear_weight: Vec<f32>,
    linear_bias: Vec<f32>,
    mel: MelSpectrogram,
}

impl Encoder {
    /// Loads the model file at `path`. A file that cannot be read is [`ModelError::Read`] with
    /// the io error as its source ([`ModelError::is_not_found`] tells a missing file).
    pub fn load(path: &Path) -> Result<Encoder, ModelError> {
        Ok(Encoder::from_weights(&Weights::load(path)?))
    }

    /// Loads a model file already in memory.
    pub fn from_bytes(bytes: &[u8]) -> Result<Encoder, ModelError> {
        Ok(Encoder::from_weights(&Weights::from_bytes(bytes)?))
    }

    /// Prepares the weights for the fastest kernels of this CPU that are accurate: see
    /// [`Precision::fastest_on`].
    pub fn from_weights(weights: &Weights) -> Encoder {
        let isa = Isa::detect();
        Encoder::with_kernels(weights, isa, Precision::fastest_on(isa))
    }

    /// Prepares the weights for the given instruction set and precision (for tests and
    /// benchmarks: [`Precision::F32`] is the reference; the instruction sets come from
    /// `voxprint_engine::bench::Isa::available`).
    #[doc(hidden)]
    pub fn with_kernels(weights: &Weights, isa: Isa, precision: Precision) -> Encoder {
        Encoder {
            lstm: Lstm::new(&weights.layers, isa, precision),
            linear_weight: weights.linear_weight.clone(),
            linear_bias: weights.linear_bias.clone(),
            mel: MelSpectrogram::new(),
        }
    }

    /// The instruction set and precision the encoder runs with.
    pub fn kernels(&self) -> (crate::kernels::IsaKind, Precision) {
        (self.lstm.isa().kind(), self.lstm.precision())
    }

    /// Embeds one preprocessed utterance (16 kHz mono, see [`crate::preprocess`]).
    pub fn embed(&self, samples_16k: &[f32]) -> Result<Embedding, EngineError> {
        self.embed_batch([samples_16k]).pop().unwrap_or(Err(EngineError::NotEnoughSpeech { seconds: 0.0 }))
    }

    /// Embeds several utterances, running all their windows through the LSTM together. The
    /// results are in the order of `utterances`, which are taken one at a time.
    pub fn embed_batch<U: AsRef<[f32]>>(
        &self,
        utterances: impl IntoIterator<Item = U>,
    ) -> Vec<Result<Embedding, EngineError>> {
        self.embed_batch_at_least(utterances, MIN_SPEECH_SECONDS)
    }

    /// Embeds an utterance of any length, as the reference does: shorter ones are zero-padded
    /// to one window. Embeddings of less than a second of speech are unreliable, which is why
    /// [`Encoder::embed`] refuses them; this exists for comparisons with the reference.
    pub fn embed_any_length(&self, samples_16k: &[f32]) -> Embedding {
        match self.embed_batch_at_least([samples_16k], 0.0).pop() {
            Some(Ok(e)) => e,
            _ => Embedding([0.0; EMBEDDING_SIZE]),
        }
    }

    /// [`Encoder::embed_batch`] with another floor than [`MIN_SPEECH_SECONDS`]: for callers that
    /// judge short inputs themselves (diarization windows, live streams), which are zero-padded
    /// to one window as [`Encoder::embed_any_length`] does.
    pub fn embed_batch_at_least<U: AsRef<[f32]>>(
        &self,
        utterances: impl IntoIterator<Item = U>,
        min_seconds: f32,
    ) -> Vec<Result<Embedding, EngineError>> {
        // Mel frames of the windows not yet embedded, in window order; the embeddings of the
        // others; and each utterance's window range. Passes are cut every MAX_WINDOWS_PER_PASS
        // windows of the whole batch, as if all frames were there at once.
        let window_len = PARTIAL_N_FRAMES * N_MELS;
        let pass_len = MAX_WINDOWS_PER_PASS * window_len;
        let mut frames: Vec<f32> = Vec::new();
        let mut window_embeddings = Vec::new();
        let mut spans: Vec<Result<std::ops::Range<usize>, EngineError>> = Vec::new();
        let mut n_windows = 0;
        let mut mel = Vec::new();
        for samples in utterances {
            let samples = samples.as_ref();
            let seconds = samples.len() as f32 / SAMPLE_RATE as f32;
            if seconds < min_seconds {
                spans.push(Err(EngineError::NotEnoughSpeech { seconds }));
                continue;
            }
            let plan = windows::plan(samples.len());
            let needed = plan.starts.last().map_or(0, |s| s + PARTIAL_N_FRAMES);
            mel.clear();
            self.mel.compute(samples, plan.padded_len, needed, &mut mel);
            for &start in &plan.starts {
                frames.extend_from_slice(&mel[start * N_MELS..(start + PARTIAL_N_FRAMES) * N_MELS]);
            }
            spans.push(Ok(n_windows..n_windows + plan.starts.len()));
            n_windows += plan.starts.len();
            let full = frames.len() / pass_len * pass_len;
            window_embeddings.extend(self.embed_windows(&frames[..full], full / window_len));
            frames.drain(..full);
        }
        window_embeddings.extend(self.embed_windows(&frames, frames.len() / window_len));
        spans
            .into_iter()
            .map(|span| {
                let span = span?;
                let mut mean = [0f32; EMBEDDING_SIZE];
                for e in &window_embeddings[span.clone()] {
                    for (m, v) in mean.iter_mut().zip(e) {
                        *m += v;
                    }
                }
                normalize(&mut mean);
                Ok(Embedding(mean))
            })
            .collect()
    }

    /// Normalised embeddings of `count` windows whose mel frames (160 × 40 each) are
    /// concatenated in `frames`; non-finite values count as 0.
    fn embed_windows(&self, frames: &[f32], count: usize) -> Vec<[f32; EMBEDDING_SIZE]> {
        let mut out = Vec::with_capacity(count);
        let mut input = Vec::new();
        let window_len = PARTIAL_N_FRAMES * N_MELS;
        for first in (0..count).step_by(MAX_WINDOWS_PER_PASS) {
            let batch = (count - first).min(MAX_WINDOWS_PER_PASS);
            // Time-major: frame t of window w at row t · batch + w.
            input.clear();
            for t in 0..PARTIAL_N_FRAMES {
                for w in first..first + batch {
                    let frame = &frames[w * window_len + t * N_MELS..][..N_MELS];
                    input.extend(frame.iter().map(|&v| if v.is_finite() { v } else { 0.0 }));
                }
            }
            let hidden = self.lstm.forward(&input, PARTIAL_N_FRAMES, batch);
            out.extend(hidden.chunks_exact(HIDDEN).map(|h| self.project(h)));
        }
        out
    }

    /// Linear 256 → 256, ReLU, L2 normalisation.
    fn project(&self, h: &[f32]) -> [f32; EMBEDDING_SIZE] {
        let mut e = [0f32; EMBEDDING_SIZE];
        for ((v, row), b) in e.iter_mut().zip(self.linear_weight.chunks_exact(HIDDEN)).zip(&self.linear_bias) {
            *v = (row.iter().zip(h).map(|(w, x)| w * x).sum::<f32>() + b).max(0.0);
        }
        normalize(&mut e);
        e
    }
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

/// Scales to unit length; a zero (or non-finite) vector becomes all zeros rather than NaN.
fn normalize(v: &mut [f32]) {
    let n = norm(v);
    let scale = if n > 0.0 && n.is_finite() { 1.0 / n } else { 0.0 };
    for x in v {
        *x *= scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(values: &[(usize, f32)]) -> Embedding {
        let mut e = [0f32; EMBEDDING_SIZE];
        for &(i, v) in values {
            e[i] = v;
        }
        normalize(&mut e);
        Embedding(e)
    }

    #[test]
    fn cosine_of_known_vectors() {
        let a = unit(&[(0, 1.0)]);
        let b = unit(&[(0, 1.0), (1, 1.0)]);
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-6);
        assert!((cosine(&a, &b) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(cosine(&unit(&[(0, 1.0)]), &unit(&[(1, 1.0)])), 0.0);
        assert_eq!(cosine(&a, &Embedding([0.0; EMBEDDING_SIZE])), 0.0);
    }

    #[test]
    fn normalize_never_makes_nan() {
        let mut zero = [0f32; 4];
        normalize(&mut zero);
        assert_eq!(zero, [0.0; 4]);
        let mut v = [3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
    }
}
