//! The short-time power spectrum that the quality measures and the speech detector share:
//! 25 ms Hann frames every 10 ms of 16 kHz audio, computed once per recording.

use realfft::RealFftPlanner;

use crate::constants::SAMPLE_RATE;

/// Frame length: 25 ms.
const FRAME: usize = 400;
/// Hop: 10 ms.
pub const HOP_SECONDS: f32 = 0.01;
const HOP: usize = 160;
/// FFT size (the frame zero-padded): bins are 31.25 Hz apart.
const N_FFT: usize = 512;
/// Bins of one frame's spectrum, 0 Hz to 8 kHz.
pub const N_BINS: usize = N_FFT / 2 + 1;
/// Width of one bin in Hz.
pub const BIN_HZ: f32 = SAMPLE_RATE as f32 / N_FFT as f32;

/// Power per frame and bin of a 16 kHz recording. Each frame's bins sum to its
/// window-weighted mean square, so a frame's power is on the scale of the samples' power
/// (1.0 for a full-scale square wave, 0.5 for a full-scale sine).
#[derive(Debug, Clone)]
pub struct Spectrogram {
    power: Vec<f32>,
}

impl Spectrogram {
    /// The spectrogram of 16 kHz mono samples; the tail that does not fill a frame is left out.
    /// Non-finite samples count as silence.
    pub fn new(wav: &[f32]) -> Spectrogram {
        let n_frames = if wav.len() < FRAME { 0 } else { (wav.len() - FRAME) / HOP + 1 };
        let window: Vec<f32> = (0..FRAME)
            .map(|n| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / FRAME as f64).cos()) as f32)
            .collect();
        let window_power: f32 = window.iter().map(|w| w * w).sum();
        let scale = 1.0 / (N_FFT as f32 * window_power);
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(N_FFT);
        let mut frame = fft.make_input_vec();
        let mut spectrum = fft.make_output_vec();
        let mut scratch = fft.make_scratch_vec();
        let mut power = Vec::with_capacity(n_frames * N_BINS);
        for f in 0..n_frames {
            let samples = &wav[f * HOP..f * HOP + FRAME];
            for ((slot, &s), w) in frame.iter_mut().zip(samples).zip(&window) {
                *slot = if s.is_finite() { s * w } else { 0.0 };
            }
            frame[FRAME..].fill(0.0);
            // The buffers come from the plan itself, so processing cannot fail.
            if fft.process_with_scratch(&mut frame, &mut spectrum, &mut scratch).is_err() {
                unreachable!("realfft buffers made by its own plan");
            }
            power.extend(spectrum.iter().enumerate().map(|(k, c)| {
                // One-sided: every bin but DC and Nyquist stands for two.
                let sides = if k == 0 || k == N_BINS - 1 { 1.0 } else { 2.0 };
                sides * scale * (c.re * c.re + c.im * c.im)
            }));
        }
        Spectrogram { power }
    }

    pub fn n_frames(&self) -> usize {
        self.power.len() / N_BINS
    }

    /// The power of each bin of frame `index`.
    pub fn frame(&self, index: usize) -> &[f32] {
        &self.power[index * N_BINS..(index + 1) * N_BINS]
    }

    pub fn frames(&self) -> impl Iterator<Item = &[f32]> {
        self.power.chunks_exact(N_BINS)
    }

    /// Each frame's power summed over the bins of `low_hz..high_hz`.
    pub fn band_power(&self, low_hz: f32, high_hz: f32) -> Vec<f32> {
        let (lo, hi) = (bin_of(low_hz), bin_of(high_hz).max(bin_of(low_hz) + 1).min(N_BINS));
        self.frames().map(|frame| frame[lo..hi].iter().sum()).collect()
    }
}

/// The bin whose centre is nearest `hz`, within the spectrum.
pub fn bin_of(hz: f32) -> usize {
    ((hz / BIN_HZ).round().max(0.0) as usize).min(N_BINS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sine_keeps_its_power_in_its_bin() {
        let wav: Vec<f32> =
            (0..16_000).map(|i| 0.5 * (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16_000.0).sin()).collect();
        let spectrogram = Spectrogram::new(&wav);
        assert_eq!(spectrogram.n_frames(), (16_000 - 400) / 160 + 1);
        let frame = spectrogram.frame(10);
        let total: f32 = frame.iter().sum();
        assert!((total - 0.125).abs() < 0.01, "{total}");
        let near: f32 = frame[bin_of(1000.0) - 2..=bin_of(1000.0) + 2].iter().sum();
        assert!(near / total > 0.99);
    }

    #[test]
    fn short_and_bad_input() {
        assert_eq!(Spectrogram::new(&[0.1; 399]).n_frames(), 0);
        let spectrogram = Spectrogram::new(&[f32::NAN; 800]);
        assert!(spectrogram.frames().flatten().all(|&p| p == 0.0));
    }
}
