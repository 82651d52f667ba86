//! Placement of the partial windows over an utterance (Resemblyzer's `compute_partial_slices`).
//!
//! The encoder sees fixed 1.6 s windows (160 mel frames) that overlap: one starts every 77
//! frames (1.3 windows per second). The utterance embedding is the mean of their embeddings.

use crate::constants::{HOP_LENGTH, PARTIAL_MIN_COVERAGE, PARTIAL_N_FRAMES, PARTIAL_RATE, SAMPLE_RATE};

/// Where the partial windows of an utterance lie, in mel frames.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowPlan {
    /// First mel frame of each window; every window is [`PARTIAL_N_FRAMES`] long.
    pub starts: Vec<usize>,
    /// Number of samples the signal must have before the mel is computed: the utterance is
    /// zero-padded up to the last window's end when it is shorter (and left as is otherwise).
    pub padded_len: usize,
}

/// Frames between window starts: `round(16000 / 1.3 / 160)` = 77.
pub fn frame_step() -> usize {
    (f64::from(SAMPLE_RATE) / PARTIAL_RATE / HOP_LENGTH as f64).round() as usize
}

/// Plans the windows of an utterance of `n_samples` 16 kHz samples.
///
/// There is always at least one window, even for an empty utterance: the reference pads it.
pub fn plan(n_samples: usize) -> WindowPlan {
    let step = frame_step();
    let n_frames = (n_samples + 1).div_ceil(HOP_LENGTH);
    let steps = (n_frames + step + 1).saturating_sub(PARTIAL_N_FRAMES).max(1);
    let mut starts: Vec<usize> = (0..steps).step_by(step).collect();
    if starts.len() > 1 {
        let last = starts[starts.len() - 1];
        let window_samples = PARTIAL_N_FRAMES * HOP_LENGTH;
        let covered = n_samples as f64 - (last * HOP_LENGTH) as f64;
        if covered / (window_samples as f64) < PARTIAL_MIN_COVERAGE {
            starts.pop();
        }
    }
    let last_end = (starts[starts.len() - 1] + PARTIAL_N_FRAMES) * HOP_LENGTH;
    WindowPlan { starts, padded_len: n_samples.max(last_end) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_step_is_77() {
        assert_eq!(frame_step(), 77);
    }

    #[test]
    fn empty_and_short_utterances_get_one_window() {
        for n in [0, 1, 16_000, 25_600] {
            let p = plan(n);
            assert_eq!(p.starts, vec![0], "n = {n}");
            assert_eq!(p.padded_len, 25_600.max(n));
        }
    }

    #[test]
    fn starts_follow_the_reference() {
        // 10 s: n_frames = 1001, steps = 1001 - 160 + 77 + 1 = 919 → starts 0, 77, …, 847 (12);
        // the last covers (160000 - 847*160) / 25600 = 0.96 of its samples and stays.
        let p = plan(160_000);
        assert_eq!(p.starts.len(), 12);
        assert_eq!(p.starts[11], 847);
        assert_eq!(p.padded_len, (847 + 160) * 160);
        // 2 s: n_frames = 201, steps = 119 → starts 0, 77; the second covers
        // (32000 - 12320) / 25600 = 0.77 ≥ 0.75 and stays.
        assert_eq!(plan(32_000).starts, vec![0, 77]);
        // 1.9 s: the second would cover (30400 - 12320) / 25600 = 0.71 < 0.75: dropped.
        let p = plan(30_400);
        assert_eq!(p.starts, vec![0]);
        assert_eq!(p.padded_len, 30_400);
    }
}
