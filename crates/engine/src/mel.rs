//! Mel power spectrogram as librosa computes it for the reference (`melspectrogram` with
//! n_fft 400, hop 160, a periodic Hann window, centred frames padded with zeros, 40 Slaney
//! mel bands with Slaney area normalisation over 0–8000 Hz, power 2, no log).
//!
//! The filterbank and the FFT plan are built once and shared; each band is stored as the short
//! run of FFT bins where it is non-zero.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

use crate::constants::{HOP_LENGTH, MEL_FMAX, N_FFT, N_MELS, SAMPLE_RATE};

/// Number of FFT bins of one frame.
const N_BINS: usize = N_FFT / 2 + 1;

/// One mel band: its weights over the bins `first_bin..first_bin + weights.len()`.
#[derive(Debug, Clone)]
struct Band {
    first_bin: usize,
    weights: Vec<f32>,
}

/// Precomputed window, filterbank and FFT plan. `Send + Sync`; build once.
pub struct MelSpectrogram {
    window: Vec<f32>,
    bands: Vec<Band>,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl std::fmt::Debug for MelSpectrogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MelSpectrogram").field("bands", &self.bands.len()).finish()
    }
}

impl Default for MelSpectrogram {
    fn default() -> Self {
        Self::new()
    }
}

impl MelSpectrogram {
    pub fn new() -> Self {
        let window = (0..N_FFT)
            .map(|n| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / N_FFT as f64).cos()) as f32)
            .collect();
        let bands = filterbank()
            .into_iter()
            .map(|row| {
                let first = row.iter().position(|&w| w != 0.0).unwrap_or(0);
                let last = row.iter().rposition(|&w| w != 0.0).map_or(first, |l| l + 1);
                Band { first_bin: first, weights: row[first..last].to_vec() }
            })
            .collect();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        MelSpectrogram { window, bands, fft }
    }

    /// Computes the first `n_frames` frames of the mel spectrogram of `signal` zero-extended to
    /// `padded_len` samples, as rows of [`N_MELS`] values appended to `out`.
    ///
    /// Frame `f` is centred on sample `f * 160`, so it reads samples `f*160 - 200 ..
    /// f*160 + 200`, zero outside `0..padded_len` (and past the end of `signal`).
    pub fn compute(&self, signal: &[f32], padded_len: usize, n_frames: usize, out: &mut Vec<f32>) {
        let available = signal.len().min(padded_len);
        let mut frame = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0f32; N_BINS];
        out.reserve(n_frames * N_MELS);
        for f in 0..n_frames {
            let centre = f * HOP_LENGTH;
            for (n, slot) in frame.iter_mut().enumerate() {
                let index = (centre + n).checked_sub(N_FFT / 2);
                *slot = match index {
                    Some(i) if i < available => signal[i] * self.window[n],
                    _ => 0.0,
                };
            }
            // The lengths come from the plan itself, so processing cannot fail.
            if self.fft.process_with_scratch(&mut frame, &mut spectrum, &mut scratch).is_err() {
                unreachable!("realfft buffers made by its own plan");
            }
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = c.re * c.re + c.im * c.im;
            }
            out.extend(self.bands.iter().map(|band| {
                band.weights
                    .iter()
                    .zip(&power[band.first_bin..])
                    .map(|(w, p)| w * p)
                    .sum::<f32>()
            }));
        }
    }
}

/// Slaney's mel scale: linear below 1 kHz, logarithmic above (librosa `htk=False`).
fn hz_to_mel(hz: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_mel = 1000.0 / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if hz >= 1000.0 {
        min_log_mel + (hz / 1000.0).ln() / logstep
    } else {
        hz / f_sp
    }
}

fn mel_to_hz(mel: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_mel = 1000.0 / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if mel >= min_log_mel {
        1000.0 * (logstep * (mel - min_log_mel)).exp()
    } else {
        f_sp * mel
    }
}

/// librosa's `filters.mel(sr=16000, n_fft=400, n_mels=40, norm="slaney")`, including its
/// rounding: triangles computed in f64 and stored as f32, then scaled in f64 and stored again.
fn filterbank() -> Vec<Vec<f32>> {
    let sr = f64::from(SAMPLE_RATE);
    let fft_freqs: Vec<f64> = (0..N_BINS).map(|k| k as f64 * (sr / 2.0) / (N_BINS - 1) as f64).collect();
    let (mel_min, mel_max) = (hz_to_mel(0.0), hz_to_mel(MEL_FMAX));
    let mel_f: Vec<f64> = (0..N_MELS + 2)
        .map(|i| mel_to_hz(mel_min + (mel_max - mel_min) * i as f64 / (N_MELS + 1) as f64))
        .collect();
    (0..N_MELS)
        .map(|m| {
            let (lo, centre, hi) = (mel_f[m], mel_f[m + 1], mel_f[m + 2]);
            let enorm = 2.0 / (hi - lo);
            fft_freqs
                .iter()
                .map(|&f| {
                    let lower = (f - lo) / (centre - lo);
                    let upper = (hi - f) / (hi - centre);
                    let w = lower.min(upper).max(0.0) as f32;
                    (f64::from(w) * enorm) as f32
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values printed by librosa 0.11 `filters.mel(sr=16000, n_fft=400, n_mels=40)`.
    #[test]
    fn filterbank_matches_librosa() {
        let fb = filterbank();
        let expect = [
            (0, 1, 0.007390209473669529),
            (0, 2, 0.012404520995914936),
            (39, 190, 0.0012151539558544755),
            (39, 199, 0.00012151539704063907),
            (30, 100, 0.0004932810552418232),
            (5, 9, 0.0),
        ];
        for (m, k, v) in expect {
            let got = f64::from(fb[m][k]);
            assert!((got - v).abs() <= 1e-7 * v.abs().max(1e-3), "[{m}][{k}] = {got}, librosa {v}");
        }
        let total: f64 = fb.iter().flatten().map(|&w| f64::from(w)).sum();
        assert!((total - 0.9994971752166748).abs() < 1e-5, "sum {total}");
        let span = |m: usize| {
            (fb[m].iter().position(|&w| w != 0.0).unwrap(), fb[m].iter().rposition(|&w| w != 0.0).unwrap())
        };
        assert_eq!(span(0), (1, 3));
        assert_eq!(span(20), (41, 47));
        assert_eq!(span(39), (172, 199));
    }

    #[test]
    fn silence_has_zero_energy_and_frames_are_counted() {
        let mel = MelSpectrogram::new();
        let mut out = Vec::new();
        mel.compute(&[], 1600, 11, &mut out);
        assert_eq!(out.len(), 11 * N_MELS);
        assert!(out.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn a_tone_lands_in_its_band() {
        // 1 kHz = bin 25; Slaney mel of 1 kHz is 15, band centres are spaced ~0.87 mel apart.
        let signal: Vec<f32> = (0..1600).map(|n| (2.0 * std::f32::consts::PI * 1000.0 * n as f32 / 16000.0).sin()).collect();
        let mel = MelSpectrogram::new();
        let mut out = Vec::new();
        mel.compute(&signal, signal.len(), 5, &mut out);
        let frame = &out[2 * N_MELS..3 * N_MELS];
        let loudest = (0..N_MELS).max_by(|&a, &b| frame[a].total_cmp(&frame[b])).unwrap();
        let centre_hz = |m: usize| mel_to_hz(hz_to_mel(MEL_FMAX) * (m + 1) as f64 / (N_MELS + 1) as f64);
        assert!((centre_hz(loudest) - 1000.0).abs() < 100.0, "band {loudest}");
    }
}
