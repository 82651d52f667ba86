//! The speech detector and the quality measures on real speech (every clip of
//! `testdata/corpus`, clean and degraded, and further degradations made here) and on signals
//! that are not speech. Run with `--nocapture` to see the measured cues and their margins.

use std::path::{Path, PathBuf};

use voxprint_engine::preprocess::to_mono;
use voxprint_engine::speech::{self, Cues};
use voxprint_engine::{quality, resample, Quality, Sound, Spectrogram};

const RATE: u32 = 16_000;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus")
}

/// Mono samples in [-1, 1] and the sample rate of a 16-bit WAV.
fn read_wav(path: &Path) -> (Vec<f32>, u32) {
    let mut reader = hound::WavReader::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    let samples: Vec<f32> = reader.samples::<i16>().map(|s| f32::from(s.unwrap()) / 32768.0).collect();
    (to_mono(&samples, usize::from(spec.channels)), spec.sample_rate)
}

/// Every `NN.wav` under `dir`, recursively, sorted.
fn wavs(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(wavs(&path));
        } else if path.extension().is_some_and(|e| e == "wav") {
            found.push(path);
        }
    }
    found.sort();
    found
}

/// The clean clips: `<voice>/NN.wav`, not the degraded ones.
fn clean_clips() -> Vec<PathBuf> {
    wavs(&corpus()).into_iter().filter(|p| !p.components().any(|c| c.as_os_str() == "degraded")).collect()
}

fn analyse(mono: &[f32], rate: u32) -> (Sound, Cues, Quality) {
    let spectrogram = Spectrogram::new(&resample::to_16k(mono, rate));
    let mut clipping = quality::Clipping::default();
    clipping.push(mono);
    (
        speech::detect(&spectrogram),
        speech::cues(&spectrogram),
        quality::measure(clipping.fraction(), rate, &spectrogram),
    )
}

/// A seeded xorshift generator: uniform and Gaussian samples.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }

    fn gauss(&mut self) -> f32 {
        let (u, v) = (self.uniform().max(1e-9), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f32::consts::PI * v).cos()
    }
}

#[derive(Clone, Copy, Debug)]
enum Colour {
    White,
    Pink,
    Brown,
}

/// Stationary noise of RMS 1: white, pink (Kellet's filter) or brown (leaky integrator).
fn noise(colour: Colour, n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    let mut b = [0f32; 7];
    let mut out: Vec<f32> = (0..n)
        .map(|_| {
            let w = rng.gauss();
            match colour {
                Colour::White => w,
                Colour::Pink => {
                    b[0] = 0.99886 * b[0] + w * 0.0555179;
                    b[1] = 0.99332 * b[1] + w * 0.0750759;
                    b[2] = 0.96900 * b[2] + w * 0.153852;
                    b[3] = 0.86650 * b[3] + w * 0.3104856;
                    b[4] = 0.55000 * b[4] + w * 0.5329522;
                    b[5] = -0.7616 * b[5] - w * 0.0168980;
                    let pink = b[..6].iter().sum::<f32>() + b[6] + w * 0.5362;
                    b[6] = w * 0.115926;
                    pink
                }
                Colour::Brown => {
                    b[0] = 0.998 * b[0] + w;
                    b[0]
                }
            }
        })
        .collect();
    let rms = (out.iter().map(|s| s * s).sum::<f32>() / n as f32).sqrt();
    out.iter_mut().for_each(|s| *s /= rms);
    out
}

fn rms(x: &[f32]) -> f32 {
    (x.iter().map(|s| s * s).sum::<f32>() / x.len().max(1) as f32).sqrt()
}

/// `speech` with noise mixed in at `snr_db` against the whole clip's power (as the corpus'
/// `add_noise.py` does).
fn with_noise(speech: &[f32], colour: Colour, snr_db: f32, seed: u64) -> Vec<f32> {
    let level = rms(speech) / 10f32.powf(snr_db / 20.0);
    speech.iter().zip(noise(colour, speech.len(), seed)).map(|(s, n)| s + level * n).collect()
}

/// Room reverberation: a sparse impulse response decaying by 60 dB in `rt60` seconds.
fn reverberate(speech: &[f32], rt60: f32, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed);
    let length = (rt60 * RATE as f32) as usize;
    let mut taps = vec![(0usize, 1.0f32)];
    taps.extend((0..300).map(|_| {
        let delay = (rng.uniform() * length as f32) as usize + 1;
        let gain = 0.25 * rng.gauss() * 10f32.powf(-3.0 * delay as f32 / length as f32);
        (delay, gain)
    }));
    let mut out = vec![0f32; speech.len() + length + 1];
    for &(delay, gain) in &taps {
        for (o, s) in out[delay..].iter_mut().zip(speech) {
            *o += gain * s;
        }
    }
    let peak = out.iter().fold(0f32, |m, s| m.max(s.abs()));
    out.iter_mut().for_each(|s| *s *= 0.5 / peak);
    out
}

/// G.711 μ-law encoding and decoding (8-bit), the telephone codec.
fn mu_law(samples: &[f32]) -> Vec<f32> {
    const MU: f32 = 255.0;
    samples
        .iter()
        .map(|&s| {
            let s = s.clamp(-1.0, 1.0);
            let code = (s.signum() * (1.0 + MU * s.abs()).ln() / (1.0 + MU).ln() * 127.0).round() / 127.0;
            code.signum() * ((1.0 + MU).powf(code.abs()) - 1.0) / MU
        })
        .collect()
}

fn tone(hz: f32, amplitude: f32, seconds: f32) -> Vec<f32> {
    let n = (seconds * RATE as f32) as usize;
    (0..n).map(|i| amplitude * (2.0 * std::f32::consts::PI * hz * i as f32 / RATE as f32).sin()).collect()
}

/// Every kind of real speech the detector must accept, with a label.
fn speech_cases() -> Vec<(String, Vec<f32>, u32)> {
    let mut cases = Vec::new();
    for (i, path) in wavs(&corpus()).into_iter().enumerate() {
        let label = path.strip_prefix(corpus()).unwrap().display().to_string();
        let (mono, rate) = read_wav(&path);
        if label.contains("telephone") {
            cases.push((format!("{label} μ-law"), mu_law(&mono), rate));
        }
        if rate == RATE && !label.contains("degraded") && label.ends_with("01.wav") {
            for colour in [Colour::White, Colour::Pink, Colour::Brown] {
                cases.push((format!("{label} {colour:?} 5 dB"), with_noise(&mono, colour, 5.0, i as u64 + 1), rate));
            }
            cases.push((format!("{label} reverb 0.6 s"), reverberate(&mono, 0.6, i as u64 + 1), rate));
            let far = with_noise(&reverberate(&mono, 0.6, i as u64 + 1), Colour::Pink, 10.0, i as u64 + 7);
            cases.push((format!("{label} far field"), far, rate));
        }
        cases.push((label, mono, rate));
    }
    cases
}

/// Signals that are not speech, with a label and what the detector should call them.
fn non_speech_cases() -> Vec<(String, Vec<f32>, Sound)> {
    let n = 4 * RATE as usize;
    let mut cases = vec![
        ("digital silence".to_owned(), vec![0.0; n], Sound::Silence),
        (
            "near silence (−80 dBFS hiss)".to_owned(),
            noise(Colour::White, n, 3).iter().map(|s| s * 1e-4).collect(),
            Sound::Silence,
        ),
        ("tone 440 Hz".to_owned(), tone(440.0, 0.5, 4.0), Sound::Tone),
        ("tone 1 kHz".to_owned(), tone(1000.0, 0.5, 4.0), Sound::Tone),
        ("tone 100 Hz, quiet".to_owned(), tone(100.0, 0.01, 4.0), Sound::Tone),
    ];
    let mut rng = Rng(99);
    let random: Vec<f32> = (0..25_000).map(|_| ((rng.uniform() * 65536.0) as i32 - 32768) as f32 / 32768.0).collect();
    cases.push(("50 KB of random bytes as 16-bit PCM".to_owned(), random, Sound::SteadyNoise));
    for colour in [Colour::White, Colour::Pink, Colour::Brown] {
        for level in [0.001f32, 0.03, 0.3] {
            let signal = noise(colour, n, 11).iter().map(|s| (s * level).clamp(-1.0, 1.0)).collect();
            cases.push((format!("{colour:?} noise, RMS {level}"), signal, Sound::SteadyNoise));
        }
    }
    cases
}

#[test]
fn refuses_what_is_not_speech() {
    let mut failures = Vec::new();
    let mut most = 0f32;
    for (label, signal, expected) in non_speech_cases() {
        let (sound, cues, _) = analyse(&signal, RATE);
        eprintln!("{label:45} {sound:?} {cues:?}");
        if expected != Sound::Silence {
            most = most.max(cues.modulation_db);
        }
        if sound != expected {
            failures.push(format!("{label}: {sound:?}, expected {expected:?} ({cues:?})"));
        }
    }
    eprintln!("largest modulation of a non-speech signal: {most:.1} dB");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn accepts_all_speech() {
    let mut failures = Vec::new();
    let mut least = (f32::INFINITY, String::new());
    for (label, signal, rate) in speech_cases() {
        let (sound, cues, quality) = analyse(&signal, rate);
        eprintln!("{label:50} {:5.1} dB mod  {quality:?}", cues.modulation_db);
        if cues.modulation_db < least.0 {
            least = (cues.modulation_db, label.clone());
        }
        if sound != Sound::Speech {
            failures.push(format!("{label}: {sound:?} ({cues:?})"));
        }
    }
    eprintln!("smallest modulation of speech: {:.1} dB ({})", least.0, least.1);
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn snr_estimate_within_5_db() {
    let mut worst = (0f32, String::new());
    for (i, path) in clean_clips().into_iter().filter(|p| p.ends_with("01.wav")).enumerate() {
        let (speech, rate) = read_wav(&path);
        for colour in [Colour::White, Colour::Pink] {
            for snr in [5.0f32, 10.0, 15.0, 20.0] {
                let (_, _, quality) = analyse(&with_noise(&speech, colour, snr, i as u64 + 3), rate);
                let error = quality.snr_db - snr;
                if error.abs() > worst.0.abs() {
                    worst = (error, format!("{} {colour:?} {snr} dB", path.display()));
                }
            }
        }
    }
    eprintln!("largest SNR error: {:+.1} dB ({})", worst.0, worst.1);
    assert!(worst.0.abs() <= 5.0, "SNR estimate off by {:+.1} dB on {}", worst.0, worst.1);
}

#[test]
fn bandwidth_follows_the_channel() {
    for path in clean_clips() {
        let (mono, rate) = read_wav(&path);
        let (_, _, quality) = analyse(&mono, rate);
        assert!(quality.bandwidth_hz >= 5000.0, "{}: {quality:?}", path.display());
    }
    for path in wavs(&corpus().join("degraded/telephone")) {
        let (mono, rate) = read_wav(&path);
        let (_, _, quality) = analyse(&mono, rate);
        assert!((3000.0..=4000.0).contains(&quality.bandwidth_hz), "{}: {quality:?}", path.display());
    }
}

#[test]
fn clipping_counts_flattened_runs_only() {
    let (mono, rate) = read_wav(&corpus().join("flite-slt/01.wav"));
    assert_eq!(analyse(&mono, rate).2.clipping, 0.0);
    let peak = mono.iter().fold(0f32, |m, s| m.max(s.abs()));
    let touching: Vec<f32> = mono.iter().map(|s| s / peak).collect();
    assert!(analyse(&touching, rate).2.clipping < 0.0005);
    let overdriven: Vec<f32> = mono.iter().map(|s| (s * 8.0 / peak).clamp(-1.0, 1.0)).collect();
    let clipping = analyse(&overdriven, rate).2.clipping;
    assert!(clipping > 0.02, "{clipping}");
}

#[test]
fn silence_measures_without_failing() {
    for signal in [vec![], vec![0.0; 100], vec![0.0; 32_000]] {
        let (_, _, quality) = analyse(&signal, RATE);
        assert!(quality.snr_db.is_finite() && quality.speech_seconds == 0.0, "{quality:?}");
    }
}
