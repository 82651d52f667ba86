//! From decoded samples to the encoder's input, as Resemblyzer's `preprocess_wav` does it:
//! mono, 16 kHz, volume raised to −30 dBFS, long silences trimmed.
//!
//! Each step is public so that callers (and benchmarks) can run or time them apart.

use crate::constants::{AUDIO_NORM_TARGET_DBFS, INT16_MAX};
use crate::{augment, resample, vad};

/// Interleaved samples in [-1, 1] with `channels` channels at `sample_rate` → preprocessed
/// 16 kHz mono samples, ready for [`crate::Encoder::embed`]. Non-finite samples count as
/// silence. Silence, or a zero channel count or rate, gives an empty result.
pub fn preprocess(samples: &[f32], channels: usize, sample_rate: u32) -> Vec<f32> {
    finish(resample::to_16k(&to_mono(samples, channels), sample_rate))
}

/// An enrollment's encoder inputs from its 16 kHz mono recording: the recording preprocessed as
/// [`preprocess`] does, then the recording under each simulated condition of
/// [`crate::augment::CONDITIONS`] (seeded by `seed`), preprocessed alike. Each is made when it
/// is taken, so that an encoder taking them in turn holds one or two recordings' worth, not
/// ten.
pub fn with_conditions(wav_16k: Vec<f32>, seed: u64) -> impl Iterator<Item = Vec<f32>> {
    (0..=augment::CONDITIONS.len()).map(move |index| match index {
        0 => finish(wav_16k.clone()),
        _ => finish(augment::degrade(&wav_16k, seed, index - 1)),
    })
}

/// The last two steps, on 16 kHz mono samples: volume, then silence trimming.
pub fn finish(mut wav: Vec<f32>) -> Vec<f32> {
    normalize_volume(&mut wav);
    vad::trim_long_silences(&wav)
}

/// Averages the channels of interleaved samples (librosa's `to_mono`); a trailing partial
/// frame is dropped, non-finite samples become 0.
pub fn to_mono(samples: &[f32], channels: usize) -> Vec<f32> {
    let finite = |s: f32| if s.is_finite() { s } else { 0.0 };
    match channels {
        0 => Vec::new(),
        1 => samples.iter().map(|&s| finite(s)).collect(),
        n => samples.chunks_exact(n).map(|frame| frame.iter().map(|&s| finite(s)).sum::<f32>() / n as f32).collect(),
    }
}

/// Scales `wav` so that its RMS on the int16 scale is −30 dBFS, only ever upwards: quiet
/// recordings are raised, loud ones left alone. Silence is left alone too.
pub fn normalize_volume(wav: &mut [f32]) {
    if wav.is_empty() {
        return;
    }
    let mean_square = wav.iter().map(|&s| f64::from(s * INT16_MAX).powi(2)).sum::<f64>() / wav.len() as f64;
    let rms = mean_square.sqrt();
    if !(rms > 0.0 && rms.is_finite()) {
        return;
    }
    let change_db = f64::from(AUDIO_NORM_TARGET_DBFS) - 20.0 * (rms / f64::from(INT16_MAX)).log10();
    if change_db < 0.0 {
        return;
    }
    let gain = 10f64.powf(change_db / 20.0) as f32;
    for s in wav {
        *s *= gain;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mono_average_and_bad_samples() {
        assert_eq!(to_mono(&[0.5, 0.25, -1.0, 1.0, 0.3], 2), vec![0.375, 0.0]);
        assert_eq!(to_mono(&[f32::NAN, f32::INFINITY, 0.5], 1), vec![0.0, 0.0, 0.5]);
        assert!(to_mono(&[0.1, 0.2], 0).is_empty());
    }

    #[test]
    fn volume_is_only_raised() {
        let mut quiet = vec![0.001f32; 100];
        normalize_volume(&mut quiet);
        let dbfs = 20.0 * (f64::from(quiet[0])).log10();
        assert!((dbfs + 30.0).abs() < 1e-3, "{dbfs}");
        let mut loud = vec![0.5f32; 100];
        normalize_volume(&mut loud);
        assert_eq!(loud[0], 0.5);
        let mut silent = vec![0.0f32; 100];
        normalize_volume(&mut silent);
        assert_eq!(silent[0], 0.0);
        normalize_volume(&mut []);
    }

    #[test]
    fn degenerate_inputs_give_nothing() {
        assert!(preprocess(&[], 1, 16_000).is_empty());
        assert!(preprocess(&[0.3; 1000], 1, 0).is_empty());
        assert!(preprocess(&[f32::NAN; 48_000], 2, 44_100).is_empty());
        assert!(preprocess(&vec![0.0; 48_000], 1, 48_000).is_empty());
    }
}
