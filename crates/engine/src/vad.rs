//! Trimming of long silences with WebRTC's voice activity detector, as the reference does it
//! (Resemblyzer's `trim_long_silences`).
//!
//! The VAD is the WebRTC code itself (the `webrtc-vad` crate bundles libfvad, the same C
//! sources that Python's `webrtcvad` wraps), in mode 3, over 30 ms frames of int16 samples.
//! Its flags are smoothed by a moving average of width 8 and rounded (so at least 5 of 8 voiced
//! frames, since numpy rounds 0.5 to 0), then dilated by 3 frames each side: pauses shorter than
//! about 6 frames survive, longer ones and leading/trailing silence go.

use webrtc_vad::{SampleRate, Vad, VadMode};

use crate::constants::{INT16_MAX, VAD_MAX_SILENCE_LENGTH, VAD_MOVING_AVERAGE_WIDTH, VAD_WINDOW_SAMPLES};

/// Keeps the samples of the frames judged voiced; drops the tail that does not fill a frame.
/// Silence only gives an empty result.
pub fn trim_long_silences(wav: &[f32]) -> Vec<f32> {
    let keep = speech_mask(wav);
    wav.chunks_exact(VAD_WINDOW_SAMPLES).zip(keep).filter(|(_, k)| *k).flat_map(|(f, _)| f.iter().copied()).collect()
}

/// Which frames of [`VAD_WINDOW_SAMPLES`] (30 ms) are speech, smoothed and dilated as
/// [`trim_long_silences`] keeps them; a tail that does not fill a frame has no entry.
pub fn speech_mask(wav: &[f32]) -> Vec<bool> {
    let flags = voice_flags(wav.chunks_exact(VAD_WINDOW_SAMPLES));
    dilate(&smooth(&flags), VAD_MAX_SILENCE_LENGTH / 2)
}

/// The VAD's decision for each frame, with one detector carried across the frames (it adapts).
fn voice_flags<'a>(frames: impl Iterator<Item = &'a [f32]>) -> Vec<bool> {
    let mut vad = Vad::new_with_rate_and_mode(SampleRate::Rate16kHz, VadMode::VeryAggressive);
    let mut pcm = [0i16; VAD_WINDOW_SAMPLES];
    frames
        .map(|frame| {
            for (p, &s) in pcm.iter_mut().zip(frame) {
                *p = to_int16(s);
            }
            // Only a frame of the wrong length is an error; these are all 480 samples.
            vad.is_voice_segment(&pcm).unwrap_or(false)
        })
        .collect()
}

/// The reference's `np.round(wav * 32767).astype(np.int16)`: rounds half to even in f32, and
/// like numpy's cast on x86 wraps values beyond the int16 range (after an increase of volume a
/// loud sample can exceed full scale).
fn to_int16(sample: f32) -> i16 {
    let v = (sample * INT16_MAX).round_ties_even();
    if v.abs() < 2_147_483_648.0 { v as i32 as i16 } else { 0 }
}

/// Moving average of width 8 (3 frames before, 4 after, zeros beyond the ends), rounded.
fn smooth(flags: &[bool]) -> Vec<bool> {
    let width = VAD_MOVING_AVERAGE_WIDTH;
    let before = (width - 1) / 2;
    (0..flags.len())
        .map(|i| {
            let lo = i.saturating_sub(before);
            let hi = (i + width - before).min(flags.len());
            let voiced = flags[lo..hi].iter().filter(|&&f| f).count();
            // round(voiced / 8) with ties to even: 4/8 rounds to 0.
            2 * voiced > width
        })
        .collect()
}

/// Binary dilation with a centred structuring element of `2 * radius + 1` ones.
fn dilate(mask: &[bool], radius: usize) -> Vec<bool> {
    (0..mask.len())
        .map(|i| mask[i.saturating_sub(radius)..(i + radius + 1).min(mask.len())].iter().any(|&m| m))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_and_tiny_inputs_give_nothing() {
        assert!(trim_long_silences(&[]).is_empty());
        assert!(trim_long_silences(&[0.0; 479]).is_empty());
        assert!(trim_long_silences(&vec![0.0; 16_000 * 3]).is_empty());
    }

    #[test]
    fn smoothing_needs_five_of_eight() {
        let f = |bits: &str| bits.chars().map(|c| c == '1').collect::<Vec<_>>();
        // Frame 3 sees frames 0..=7: four voiced → rounds to 0; five → 1.
        assert!(!smooth(&f("11110000"))[3]);
        assert!(smooth(&f("11111000"))[3]);
        // Near the ends the zero padding counts as unvoiced.
        assert_eq!(smooth(&f("11111")), f("11110")); // checked against numpy
    }

    #[test]
    fn dilation_fills_short_gaps() {
        let f = |bits: &str| bits.chars().map(|c| c == '1').collect::<Vec<_>>();
        assert_eq!(dilate(&f("0000000100000000"), 3), f("0000111111100000"));
        assert_eq!(dilate(&f("1000000"), 3), f("1111000"));
        assert!(dilate(&[], 3).is_empty());
    }

    #[test]
    fn int16_conversion_rounds_to_even_and_wraps() {
        assert_eq!(to_int16(0.0), 0);
        assert_eq!(to_int16(1.0), 32767);
        assert_eq!(to_int16(-1.0), -32767);
        assert_eq!(to_int16(0.5 / 32767.0), 0);
        assert_eq!(to_int16(1.5 / 32767.0), 2);
        assert_eq!(to_int16(32768.0 / 32767.0), -32768); // wraps like numpy
        assert_eq!(to_int16(f32::INFINITY), 0);
    }

    #[test]
    fn loud_tone_is_voice_and_output_is_whole_frames() {
        let n = 16_000 * 2 + 100;
        let wav: Vec<f32> = (0..n)
            .map(|i| {
                let t = i as f32 / 16_000.0;
                0.3 * (2.0 * std::f32::consts::PI * 220.0 * t).sin() * (1.0 + (2.0 * std::f32::consts::PI * 3.0 * t).sin())
            })
            .collect();
        let out = trim_long_silences(&wav);
        assert_eq!(out.len() % VAD_WINDOW_SAMPLES, 0);
        assert!(out.len() <= n - 100);
    }
}
