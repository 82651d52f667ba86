//! Does a recording contain human speech at all? Refuses silence, steady tones and stationary
//! noise (including random bytes read as PCM, which is full-scale white noise) before they are
//! embedded: the encoder maps any input to some voice-like embedding, so without this check
//! noise scores against every voiceprint and can even be enrolled as one.
//!
//! The decision rests on the syllabic energy modulation, the cue that generalises best:
//! speech is a train of syllables at 2–8 per second, so its energy in the bands where voices
//! carry most of their power (0.3–3.4 kHz, which every channel down to the telephone keeps)
//! rises and falls by 20 dB and more between 10 ms frames, whatever the language, voice,
//! recording level or microphone. Stationary noise of any colour and level varies by a dB or
//! two once smoothed over 50 ms, and a steady tone not at all. Taking the best of three bands
//! keeps the cue strong under broadband noise: white noise spreads its power over 8 kHz, so in
//! the 0.3–1 kHz band, where voiced speech is strongest, speech mixed at 5 dB SNR still stands
//! well above it. Reverberation smears the dips but does not fill them at 2–8 Hz.
//!
//! Periodicity in the pitch range was considered and left out: a tone is periodic too, and at
//! 5 dB SNR or over a telephone channel pitch tracking on 25 ms frames misses many voiced
//! frames, so it would add false refusals of real speech, which are far worse than accepting an
//! odd non-speech recording.

use crate::spectrogram::{bin_of, Spectrogram};

/// Below this level (dBFS of the loudest 25 ms frame) a recording is silence.
const SILENCE_DBFS: f32 = -70.0;
/// Least syllabic modulation (dB) for speech; measured values are in the module tests.
const MIN_MODULATION_DB: f32 = 5.0;
/// How far (dB) the strongest frequency must stand above its surroundings (±500 Hz) for a
/// recording that is not speech to be described as a tone rather than noise: a sine stands
/// 60 dB and more above the window's sidelobes, noise of any colour a few dB.
const TONE_PROMINENCE_DB: f32 = 40.0;
/// Band levels are counted from this far (dB) below the loudest frame: a band that carries
/// nothing (a tone's spectral leakage, a channel's stop band) must not look modulated.
const BAND_RANGE_DB: f32 = 50.0;
/// Recordings shorter than this many frames (0.3 s) are too short to judge; they are left to
/// the encoder's "not enough speech".
const MIN_FRAMES: usize = 30;
/// Bands where speech carries its power on every channel, telephone included.
const BANDS_HZ: [(f32, f32); 3] = [(300.0, 1000.0), (1000.0, 2000.0), (2000.0, 3400.0)];
/// Frames averaged before measuring the modulation: 50 ms, which keeps 2–8 Hz and removes
/// most of the frame-to-frame fluctuation of noise.
const SMOOTHING_FRAMES: usize = 5;
/// The lowest power counted, about the quantisation noise of 16-bit audio.
pub(crate) const POWER_FLOOR: f32 = 1e-10;

/// What a recording sounds like, as far as the detector can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sound {
    Speech,
    /// Digital silence or nearly so.
    Silence,
    /// A steady tone: most of the power at one frequency.
    Tone,
    /// Stationary noise (hiss, hum, random data).
    SteadyNoise,
}

/// The measurements the decision is made from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cues {
    /// Level of the loudest frame, dBFS.
    pub loudest_dbfs: f32,
    /// Syllabic modulation: the spread (90th − 10th percentile, dB) of the smoothed frame
    /// power, in the band where it is largest.
    pub modulation_db: f32,
    /// How far the strongest frequency of the average spectrum stands above the median of its
    /// surroundings (±500 Hz), dB.
    pub tone_prominence_db: f32,
}

/// Whether the recording whose spectrogram this is contains speech.
pub fn detect(spectrogram: &Spectrogram) -> Sound {
    if spectrogram.n_frames() < MIN_FRAMES {
        return Sound::Speech;
    }
    let cues = cues(spectrogram);
    if cues.loudest_dbfs < SILENCE_DBFS {
        Sound::Silence
    } else if cues.modulation_db >= MIN_MODULATION_DB {
        Sound::Speech
    } else if cues.tone_prominence_db >= TONE_PROMINENCE_DB {
        Sound::Tone
    } else {
        Sound::SteadyNoise
    }
}

/// Measures the detector's cues.
pub fn cues(spectrogram: &Spectrogram) -> Cues {
    let loudest_dbfs = db(spectrogram.frames().map(|f| f.iter().sum::<f32>()).fold(0.0, f32::max));
    let modulation_db = BANDS_HZ
        .iter()
        .map(|&(low, high)| modulation_db(&spectrogram.band_power(low, high), loudest_dbfs - BAND_RANGE_DB))
        .fold(0.0, f32::max);
    Cues { loudest_dbfs, modulation_db, tone_prominence_db: tone_prominence_db(spectrogram) }
}

/// Spread of the smoothed power of one band over the recording, in dB, counting levels from
/// `floor_db`.
fn modulation_db(power: &[f32], floor_db: f32) -> f32 {
    if power.len() < SMOOTHING_FRAMES {
        return 0.0;
    }
    let mut levels: Vec<f32> = power
        .windows(SMOOTHING_FRAMES)
        .map(|w| db(w.iter().sum::<f32>() / SMOOTHING_FRAMES as f32).max(floor_db))
        .collect();
    levels.sort_by(f32::total_cmp);
    percentile(&levels, 0.9) - percentile(&levels, 0.1)
}

fn tone_prominence_db(spectrogram: &Spectrogram) -> f32 {
    let mut mean = vec![0f32; crate::spectrogram::N_BINS];
    for frame in spectrogram.frames() {
        for (m, p) in mean.iter_mut().zip(frame) {
            *m += p;
        }
    }
    let Some(peak) = mean.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map(|(k, _)| k) else {
        return 0.0;
    };
    let reach = bin_of(500.0);
    let mut around = mean[peak.saturating_sub(reach)..(peak + reach + 1).min(mean.len())].to_vec();
    around.sort_by(f32::total_cmp);
    db(mean[peak]) - db(percentile(&around, 0.5))
}

/// A power in dB (of full scale, for sample powers), floored at [`POWER_FLOOR`].
pub(crate) fn db(power: f32) -> f32 {
    10.0 * power.max(POWER_FLOOR).log10()
}

/// The `q` quantile of sorted values (nearest rank); 0 for none.
pub(crate) fn percentile(sorted: &[f32], q: f32) -> f32 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f32 * q).round() as usize]
}
