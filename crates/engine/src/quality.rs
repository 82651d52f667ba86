//! How usable a recording is for speaker recognition: how much speech, how noisy, how much of
//! the spectrum, how clipped. Cheap estimates from the shared spectrogram, meant to tell a
//! person what to fix in an enrollment recording, not laboratory measurements.

use crate::spectrogram::{Spectrogram, BIN_HZ, HOP_SECONDS, N_BINS};
use crate::speech::{db, POWER_FLOOR};

/// Share of the quietest frames taken as the noise floor: corpus clips are silence-trimmed,
/// yet the pauses between words fill about this much of them.
const NOISE_SHARE: f32 = 0.1;
/// A frame is speech when it stands this far above the noise floor…
const SPEECH_ABOVE_NOISE_DB: f32 = 3.0;
/// …and no further than this below the loudest frame (room tone in clean recordings).
const SPEECH_BELOW_PEAK_DB: f32 = 45.0;
/// Bandwidth is read in bands of this many bins (250 Hz).
const BAND_BINS: usize = 8;
/// A band counts towards the bandwidth when its speech power stands this far above its noise…
const BAND_ABOVE_NOISE_DB: f32 = 6.0;
/// …and no further than this below the strongest band.
const BAND_BELOW_PEAK_DB: f32 = 50.0;
/// A sample at or beyond this magnitude is at full scale.
const FULL_SCALE: f32 = 0.999;
/// Full-scale samples count as clipped only in runs at least this long: a waveform that merely
/// touches full scale on a peak is fine, a flattened one is not.
const CLIPPED_RUN: u64 = 3;

/// Quality measures of a recording.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quality {
    /// Seconds of frames that stand clearly above the noise floor.
    pub speech_seconds: f32,
    /// Power of the recording over its noise floor (the quietest frames), in dB.
    pub snr_db: f32,
    /// Highest frequency the speech reaches above the noise, in Hz; never more than half the
    /// original sample rate.
    pub bandwidth_hz: f32,
    /// Fraction of samples clipped at full scale.
    pub clipping: f32,
}

/// Measures a recording: `clipping` is [`Clipping::fraction`] of it as decoded (mixed down, at
/// its `sample_rate`), `spectrogram` is of it at 16 kHz.
pub fn measure(clipping: f32, sample_rate: u32, spectrogram: &Spectrogram) -> Quality {
    let powers: Vec<f32> = spectrogram.frames().map(|f| f.iter().sum()).collect();
    let mut sorted = powers.clone();
    sorted.sort_by(f32::total_cmp);
    let quiet = ((sorted.len() as f32 * NOISE_SHARE).ceil() as usize).clamp(1, sorted.len().max(1));
    let noise = (sorted.iter().take(quiet).sum::<f32>() / quiet as f32).max(POWER_FLOOR);
    let mean = powers.iter().sum::<f32>() / powers.len().max(1) as f32;
    let loudest = sorted.last().copied().unwrap_or(0.0);
    let threshold = (noise * from_db(SPEECH_ABOVE_NOISE_DB)).max(loudest * from_db(-SPEECH_BELOW_PEAK_DB));
    let speech: Vec<usize> = (0..powers.len()).filter(|&i| powers[i] >= threshold && powers[i] > POWER_FLOOR).collect();
    let quietest: Vec<usize> = {
        let mut order: Vec<usize> = (0..powers.len()).collect();
        order.sort_by(|&a, &b| powers[a].total_cmp(&powers[b]));
        order.truncate(quiet);
        order
    };
    Quality {
        speech_seconds: speech.len() as f32 * HOP_SECONDS,
        // At least −20 dB: below that "mostly noise" is all there is to say.
        snr_db: db((mean - noise).max(noise / 100.0)) - db(noise),
        bandwidth_hz: bandwidth_hz(spectrogram, &speech, &quietest).min(sample_rate as f32 / 2.0),
        clipping,
    }
}

/// Upper edge of the highest 250 Hz band where the speech frames' mean power stands above the
/// noise frames' and is within reach of the strongest band.
fn bandwidth_hz(spectrogram: &Spectrogram, speech: &[usize], noise: &[usize]) -> f32 {
    let band_means = |frames: &[usize]| -> Vec<f32> {
        let mut sums = vec![0f32; N_BINS.div_ceil(BAND_BINS)];
        for &f in frames {
            for (k, p) in spectrogram.frame(f).iter().enumerate() {
                sums[k / BAND_BINS] += p;
            }
        }
        sums.iter().map(|s| s / frames.len().max(1) as f32).collect()
    };
    let (speech, noise) = (band_means(speech), band_means(noise));
    let strongest = speech.iter().copied().fold(0.0, f32::max);
    if strongest <= POWER_FLOOR {
        return 0.0;
    }
    let reached = speech
        .iter()
        .zip(&noise)
        .rposition(|(&s, &n)| s >= (n * from_db(BAND_ABOVE_NOISE_DB)).max(strongest * from_db(-BAND_BELOW_PEAK_DB)));
    reached.map_or(0.0, |band| ((band + 1) * BAND_BINS) as f32 * BIN_HZ)
}

/// Counts the samples in runs of at least [`CLIPPED_RUN`] at full scale, over a recording that
/// arrives in pieces: clipping is judged on the samples as decoded, before resampling smooths
/// the flattened peaks, yet the decoded recording is never held whole.
#[derive(Debug, Clone, Default)]
pub struct Clipping {
    samples: u64,
    clipped: u64,
    /// Length of the full-scale run the last piece ended in.
    run: u64,
}

impl Clipping {
    /// The next piece of the mono recording, in [-1, 1].
    pub fn push(&mut self, mono: &[f32]) {
        self.samples += mono.len() as u64;
        for &s in mono {
            if s.abs() >= FULL_SCALE {
                self.run += 1;
            } else {
                if self.run >= CLIPPED_RUN {
                    self.clipped += self.run;
                }
                self.run = 0;
            }
        }
    }

    /// Fraction of the samples so far that are clipped.
    pub fn fraction(&self) -> f32 {
        if self.samples == 0 {
            return 0.0;
        }
        let last_run = if self.run >= CLIPPED_RUN { self.run } else { 0 };
        (self.clipped + last_run) as f32 / self.samples as f32
    }
}

fn from_db(db: f32) -> f32 {
    10f32.powf(db / 10.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_runs_are_counted_across_pieces() {
        let mut clipping = Clipping::default();
        clipping.push(&[0.5, 1.0, -1.0]);
        clipping.push(&[1.0, 0.2, 1.0, 1.0]);
        clipping.push(&[0.0; 3]);
        // The run of three spans two pieces; the run of two is too short.
        assert_eq!(clipping.fraction(), 3.0 / 10.0);
        clipping.push(&[-1.0; 3]);
        assert_eq!(clipping.fraction(), 6.0 / 13.0, "a run at the end counts");
        assert_eq!(Clipping::default().fraction(), 0.0);
    }
}
