//! Simulated recording conditions for multi-condition enrollment.
//!
//! GE2E embeddings move with the recording condition: a noisy or telephone probe of a person
//! lands far from that person's clean enrollment. Embedding the enrollment again under
//! simulated conditions — noise of three colours at two levels, a reverberant room, a distant
//! talker, a telephone band, a low-bitrate codec's band limit — gives each voiceprint an
//! embedding near wherever its probes may land, and the scorer compares a probe with the
//! nearest one. The simulations are deliberately simple and generic (no recorded noises or
//! rooms), so they stand for kinds of conditions rather than for particular recordings.
//!
//! Everything is deterministic for a given `seed`, so re-embedding a stored recording gives the
//! same voiceprint.

use std::sync::Arc;

use realfft::RealFftPlanner;

use crate::constants::SAMPLE_RATE;

/// The simulated conditions, in the order of a condition set. Index 0 of a voiceprint's
/// condition set is the clean recording itself, so a set has `CONDITIONS.len() + 1` rows.
pub const CONDITIONS: [Condition; 9] = [
    Condition::Noise(Colour::White, 10.0),
    Condition::Noise(Colour::Pink, 10.0),
    Condition::Noise(Colour::Brown, 10.0),
    Condition::Noise(Colour::White, 5.0),
    Condition::Noise(Colour::Pink, 5.0),
    Condition::Room { rt60: 0.5 },
    Condition::FarField { rt60: 0.8, snr_db: 10.0 },
    Condition::Telephone,
    Condition::Codec,
];

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Colour {
    White,
    Pink,
    Brown,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Condition {
    /// Stationary noise of a colour at an SNR in dB (against the whole clip's RMS).
    Noise(Colour, f32),
    /// A room: an exponentially decaying diffuse tail with this reverberation time (s).
    Room { rt60: f32 },
    /// A distant talker: a livelier room plus pink noise.
    FarField { rt60: f32, snr_db: f32 },
    /// 300–3400 Hz and 8-bit μ-law, as on a telephone line.
    Telephone,
    /// The 4 kHz band limit of a low-bitrate codec.
    Codec,
}

/// Condition `index` of [`CONDITIONS`] applied to `samples` (16 kHz mono, before
/// preprocessing). One at a time: each result is as large as the recording.
pub fn degrade(samples: &[f32], seed: u64, index: usize) -> Vec<f32> {
    let mut random = Random::new(seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut out = apply(CONDITIONS[index], samples, &mut random);
    limit_peak(&mut out);
    out
}

fn apply(condition: Condition, samples: &[f32], random: &mut Random) -> Vec<f32> {
    match condition {
        Condition::Noise(colour, snr_db) => add_noise(samples, colour, snr_db, random),
        Condition::Room { rt60 } => reverberate(samples, rt60, random),
        Condition::FarField { rt60, snr_db } => {
            add_noise(&reverberate(samples, rt60, random), Colour::Pink, snr_db, random)
        }
        Condition::Telephone => mu_law(&filter(samples, &TELEPHONE_BAND)),
        Condition::Codec => filter(samples, &CODEC_LOWPASS),
    }
}

fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / samples.len() as f64).sqrt() as f32
}

fn add_noise(samples: &[f32], colour: Colour, snr_db: f32, random: &mut Random) -> Vec<f32> {
    let white: Vec<f32> = (0..samples.len()).map(|_| random.gaussian()).collect();
    let noise = match colour {
        Colour::White => white,
        // Paul Kellet's economy filter: −3 dB per octave within ±0.5 dB over the speech band.
        Colour::Pink => iir(
            &white,
            &[0.049_922_035, -0.095_993_537, 0.050_612_699, -0.004_408_786],
            &[-2.494_956_002, 2.017_265_875, -0.522_189_400],
        ),
        // Leaky integration: −6 dB per octave above a few hertz.
        Colour::Brown => iir(&white, &[1.0], &[-0.995]),
    };
    let gain = rms(samples) / rms(&noise).max(1e-12) / 10f32.powf(snr_db / 20.0);
    samples.iter().zip(&noise).map(|(s, n)| s + n * gain).collect()
}

/// Direct-form filter: `b` feed-forward, `a` feedback without its leading 1.
fn iir(x: &[f32], b: &[f64], a: &[f64]) -> Vec<f32> {
    let mut y = vec![0.0f64; x.len()];
    for n in 0..x.len() {
        let mut acc = 0.0;
        for (k, bk) in b.iter().enumerate().take(n + 1) {
            acc += bk * f64::from(x[n - k]);
        }
        for (k, ak) in a.iter().enumerate().take(n) {
            acc -= ak * y[n - k - 1];
        }
        y[n] = acc;
    }
    y.into_iter().map(|v| v as f32).collect()
}

/// Second-order sections `[b0, b1, b2, a0, a1, a2]` (SciPy's `sos` layout, a0 = 1).
type Sections = [[f64; 6]; 4];

/// 4th-order Butterworth band-pass, 300–3400 Hz at 16 kHz.
const TELEPHONE_BAND: Sections = [
    [
        0.042_132_646_204_475_94,
        0.084_265_292_408_951_88,
        0.042_132_646_204_475_94,
        1.0,
        -0.391_127_902_412_522,
        0.090_875_909_889_604_96,
    ],
    [1.0, 2.0, 1.0, 1.0, -0.377_050_658_452_821_1, 0.510_904_156_652_309_7],
    [1.0, -2.0, 1.0, 1.0, -1.769_041_649_621_499, 0.785_312_086_114_395_3],
    [1.0, -2.0, 1.0, 1.0, -1.909_350_295_098_037_7, 0.923_142_920_867_933_7],
];

/// 8th-order Butterworth low-pass at 4 kHz (16 kHz sampling).
const CODEC_LOWPASS: Sections = [
    [0.009_267_285_584_088_77, 0.018_534_571_168_177_54, 0.009_267_285_584_088_77, 1.0, 0.0, 0.009_700_556_535_263_622],
    [1.0, 2.0, 1.0, 1.0, 0.0, 0.092_019_210_455_573_1],
    [1.0, 2.0, 1.0, 1.0, 0.0, 0.285_702_154_455_405_7],
    [1.0, 2.0, 1.0, 1.0, 0.0, 0.673_513_677_715_991_7],
];

fn filter(x: &[f32], sections: &Sections) -> Vec<f32> {
    let mut y: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    for &[b0, b1, b2, _, a1, a2] in sections {
        let (mut z1, mut z2) = (0.0, 0.0);
        for v in &mut y {
            let input = *v;
            let output = b0 * input + z1;
            z1 = b1 * input - a1 * output + z2;
            z2 = b2 * input - a2 * output;
            *v = output;
        }
    }
    y.into_iter().map(|v| v as f32).collect()
}

/// 8-bit μ-law (G.711) quantisation relative to the clip's peak.
fn mu_law(x: &[f32]) -> Vec<f32> {
    const MU: f32 = 255.0;
    let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak <= 0.0 {
        return x.to_vec();
    }
    x.iter()
        .map(|&v| {
            let y = v / peak;
            let code = (y.signum() * (MU * y.abs()).ln_1p() / MU.ln_1p() * 127.0).round() / 127.0;
            code.signum() * ((1.0 + MU).powf(code.abs()) - 1.0) / MU * peak
        })
        .collect()
}

/// Convolution with a synthetic room response: a direct path, then Gaussian noise decaying
/// by 60 dB over `rt60` seconds. Loudness is kept.
fn reverberate(x: &[f32], rt60: f32, random: &mut Random) -> Vec<f32> {
    let len = (rt60 * SAMPLE_RATE as f32) as usize;
    let mut response: Vec<f32> =
        (0..len).map(|i| random.gaussian() * (-6.9 * i as f32 / SAMPLE_RATE as f32 / rt60).exp()).collect();
    let tail_peak = response.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if let Some(direct) = response.first_mut() {
        *direct = 2.0 * tail_peak;
    }
    let mut wet = convolve(x, &response);
    wet.truncate(x.len());
    let gain = rms(x) / rms(&wet).max(1e-12);
    wet.iter_mut().for_each(|v| *v *= gain);
    wet
}

/// Linear convolution by FFT.
fn convolve(x: &[f32], h: &[f32]) -> Vec<f32> {
    if x.is_empty() || h.is_empty() {
        return Vec::new();
    }
    let n = (x.len() + h.len() - 1).next_power_of_two();
    let mut planner = RealFftPlanner::<f32>::new();
    let (forward, inverse): (Arc<_>, Arc<_>) = (planner.plan_fft_forward(n), planner.plan_fft_inverse(n));
    let spectrum = |signal: &[f32]| {
        let mut input = vec![0.0f32; n];
        input[..signal.len()].copy_from_slice(signal);
        let mut output = forward.make_output_vec();
        forward.process(&mut input, &mut output).expect("realfft buffers made by its own plan");
        output
    };
    // The product overwrites the signal's spectrum, and the response's is gone before the output
    // comes: on a long recording each of these buffers is tens of MB.
    let mut product = spectrum(x);
    let response = spectrum(h);
    product.iter_mut().zip(&response).for_each(|(p, q)| *p *= q);
    drop(response);
    let mut out = inverse.make_output_vec();
    inverse.process(&mut product, &mut out).expect("realfft buffers made by its own plan");
    let scale = 1.0 / n as f32;
    out.truncate(x.len() + h.len() - 1);
    out.iter_mut().for_each(|v| *v *= scale);
    out
}

/// Scales a clip down so its peak stays below full scale, as a recorder's limiter would.
fn limit_peak(x: &mut [f32]) {
    let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    if peak > 0.99 {
        let gain = 0.99 / peak;
        x.iter_mut().for_each(|v| *v *= gain);
    }
}

/// SplitMix64 with Box–Muller: small, seedable, the same on every platform.
struct Random {
    state: u64,
    spare: Option<f32>,
}

impl Random {
    fn new(seed: u64) -> Random {
        Random { state: seed, spare: None }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    fn gaussian(&mut self) -> f32 {
        if let Some(spare) = self.spare.take() {
            return spare;
        }
        let radius = (-2.0 * self.uniform().ln()).sqrt();
        let angle = 2.0 * std::f64::consts::PI * self.uniform();
        self.spare = Some((radius * angle.sin()) as f32);
        (radius * angle.cos()) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(hz: f32, seconds: f32) -> Vec<f32> {
        (0..(seconds * SAMPLE_RATE as f32) as usize)
            .map(|i| 0.3 * (2.0 * std::f32::consts::PI * hz * i as f32 / SAMPLE_RATE as f32).sin())
            .collect()
    }

    #[test]
    fn every_condition_keeps_length_and_is_deterministic() {
        let clip = tone(220.0, 1.0);
        let all = |seed| (0..CONDITIONS.len()).map(|index| degrade(&clip, seed, index)).collect::<Vec<_>>();
        let first = all(7);
        assert!(first.iter().all(|c| c.len() == clip.len() && c.iter().all(|v| v.is_finite() && v.abs() <= 0.99)));
        assert_eq!(first, all(7));
        assert_ne!(first[0], degrade(&clip, 8, 0), "the seed changes the noise");
    }

    #[test]
    fn noise_is_added_at_the_asked_snr() {
        let clip = tone(220.0, 2.0);
        let noisy = add_noise(&clip, Colour::Pink, 10.0, &mut Random::new(1));
        let noise: Vec<f32> = noisy.iter().zip(&clip).map(|(a, b)| a - b).collect();
        let snr = 20.0 * (rms(&clip) / rms(&noise)).log10();
        assert!((snr - 10.0).abs() < 0.01, "{snr}");
    }

    #[test]
    fn telephone_band_removes_low_and_high_tones() {
        let kept = rms(&filter(&tone(1000.0, 1.0), &TELEPHONE_BAND)[4000..]);
        let low = rms(&filter(&tone(100.0, 1.0), &TELEPHONE_BAND)[4000..]);
        let high = rms(&filter(&tone(6000.0, 1.0), &TELEPHONE_BAND)[4000..]);
        assert!(kept > 0.2 && low < 0.02 && high < 0.01, "{kept} {low} {high}");
        let above = rms(&filter(&tone(6000.0, 1.0), &CODEC_LOWPASS)[4000..]);
        assert!(above < 0.01, "{above}");
    }

    #[test]
    fn convolution_matches_the_direct_sum() {
        let x = [1.0, 2.0, -1.0, 0.5];
        let h = [0.5, -0.25, 1.0];
        let direct: Vec<f32> = (0..x.len() + h.len() - 1)
            .map(|n| (0..h.len()).filter(|&k| n >= k && n - k < x.len()).map(|k| h[k] * x[n - k]).sum())
            .collect();
        let fast = convolve(&x, &h);
        assert!(fast.iter().zip(&direct).all(|(a, b)| (a - b).abs() < 1e-5), "{fast:?} vs {direct:?}");
    }
}
