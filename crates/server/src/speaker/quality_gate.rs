//! Is a recording good enough to enroll? The limits under which an enrollment is refused
//! (configurable, see `voxprint serve --help`) and the warnings that tell a person what to fix
//! in one that is accepted. A voiceprint made from a poor recording mismatches its own speaker
//! for as long as it exists, so enrollment is stricter than identification, which only needs
//! speech at all.

use voxprint_engine::Quality;

/// Below this much speech (seconds) an accepted enrollment is warned about: the encoder
/// averages 1.6 s windows, and a voiceprint from one or two of them is fragile.
const WARN_SPEECH_SECONDS: f32 = 2.0;
/// Below this SNR (dB) an accepted enrollment is warned about.
const WARN_SNR_DB: f32 = 20.0;
/// Below this bandwidth (Hz) an accepted enrollment is warned about: the telephone band ends
/// at 3.4 kHz, wideband speech reaches 7 kHz and more.
const WARN_BANDWIDTH_HZ: f32 = 4500.0;
/// Above this fraction of clipped samples an accepted enrollment is warned about.
const WARN_CLIPPING: f32 = 0.001;

/// The limits under which an enrollment is refused.
#[derive(Debug, Clone, Copy)]
pub struct EnrollmentLimits {
    pub min_speech_seconds: f32,
    pub min_snr_db: f32,
    pub max_clipping: f32,
}

impl EnrollmentLimits {
    /// The `quality` of an enrollment answer for an acceptable recording: the measures, rounded,
    /// and what to fix; or why it is refused.
    pub fn check(&self, quality: &Quality) -> Result<voxprint_api::Quality, String> {
        let Quality { speech_seconds, snr_db, clipping, .. } = *quality;
        if speech_seconds < self.min_speech_seconds {
            return Err(format!(
                "enrollment refused: only {speech_seconds:.1} s of speech, at least {} s are needed; record the person speaking for longer",
                self.min_speech_seconds
            ));
        }
        if snr_db < self.min_snr_db {
            return Err(format!(
                "enrollment refused: background noise is too high (SNR {snr_db:.0} dB, at least {} dB is needed); record in a quieter place or closer to the microphone",
                self.min_snr_db
            ));
        }
        if clipping > self.max_clipping {
            return Err(format!(
                "enrollment refused: the recording is clipped ({:.1} % of samples at full scale, at most {} % is allowed); record at a lower volume",
                clipping * 100.0,
                self.max_clipping * 100.0
            ));
        }
        Ok(describe(quality))
    }
}

/// A recording's measures, rounded, and what would make it a better enrollment, whether or not
/// it could be enrolled (compare reports them for both its recordings).
pub fn describe(quality: &Quality) -> voxprint_api::Quality {
    let Quality { speech_seconds, snr_db, bandwidth_hz, clipping } = *quality;
    let mut warnings = Vec::new();
    if speech_seconds < WARN_SPEECH_SECONDS {
        warnings.push(format!("only {speech_seconds:.1} s of speech: record 3 s or more for reliable identification"));
    }
    if snr_db < WARN_SNR_DB {
        warnings.push(format!("background noise is high (SNR {snr_db:.0} dB): record in a quieter place"));
    } else if bandwidth_hz < WARN_BANDWIDTH_HZ {
        // Under noise the measured bandwidth is where speech sinks into the noise, so it is
        // only a sign of a narrow channel when the recording is clean.
        warnings.push(format!(
            "the recording carries sound only up to {:.1} kHz (telephone or a low-quality codec): record with a better microphone or in a better format",
            bandwidth_hz / 1000.0
        ));
    }
    if clipping > WARN_CLIPPING {
        warnings.push(format!(
            "the recording is clipped ({:.1} % of samples at full scale): record at a lower volume",
            clipping * 100.0
        ));
    }
    voxprint_api::Quality {
        speech_seconds: round(speech_seconds, 2),
        snr_db: round(snr_db, 1),
        bandwidth_hz: round(bandwidth_hz, 0),
        clipping: round(clipping, 4),
        warnings,
    }
}

fn round(value: f32, decimals: i32) -> f32 {
    let scale = 10f32.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use voxprint_audio::RawPcm;
    use voxprint_engine::{quality, Spectrogram};

    use super::*;

    /// The defaults of `voxprint serve`.
    fn defaults() -> EnrollmentLimits {
        use clap::Parser;
        let cli = crate::cli::Cli::parse_from(["voxprint", "serve"]);
        let crate::cli::Command::Serve(args) = cli.command else { unreachable!("parsed serve") };
        args.enrollment_limits()
    }

    fn measure(path: &Path) -> Quality {
        let recording = crate::speaker::recording::decode(&std::fs::read(path).unwrap(), RawPcm::default()).unwrap();
        quality::measure(recording.clipping, recording.sample_rate, &Spectrogram::new(&recording.wav_16k))
    }

    fn clips(dir: &Path) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        found.sort();
        found
    }

    #[test]
    fn every_clean_and_15_db_corpus_clip_enrolls_with_the_defaults() {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus");
        let limits = defaults();
        let mut voices: Vec<PathBuf> =
            clips(&corpus).into_iter().filter(|p| p.is_dir() && !p.ends_with("degraded")).collect();
        voices.extend(clips(&corpus.join("degraded/noise15db")));
        let mut checked = 0;
        for voice in voices {
            for clip in clips(&voice) {
                let quality = measure(&clip);
                if let Err(refusal) = limits.check(&quality) {
                    panic!("{}: {refusal} ({quality:?})", clip.display());
                }
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked} clips");
    }

    #[test]
    fn refusals_and_warnings_say_what_to_fix() {
        let limits = EnrollmentLimits { min_speech_seconds: 1.2, min_snr_db: 10.0, max_clipping: 0.01 };
        let good = Quality { speech_seconds: 3.5, snr_db: 40.0, bandwidth_hz: 7750.0, clipping: 0.0 };
        assert!(limits.check(&good).unwrap().warnings.is_empty());
        let short = Quality { speech_seconds: 1.0, ..good };
        assert!(limits.check(&short).unwrap_err().contains("speaking for longer"));
        let noisy = Quality { snr_db: 6.0, ..good };
        assert!(limits.check(&noisy).unwrap_err().contains("quieter place"));
        let clipped = Quality { clipping: 0.05, ..good };
        assert!(limits.check(&clipped).unwrap_err().contains("lower volume"));
        let fair = Quality { speech_seconds: 1.5, snr_db: 14.0, bandwidth_hz: 3500.0, clipping: 0.002 };
        let warnings = limits.check(&fair).unwrap().warnings;
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        let narrow = Quality { bandwidth_hz: 3500.0, ..good };
        assert!(limits.check(&narrow).unwrap().warnings[0].contains("3.5 kHz"));
    }
}
