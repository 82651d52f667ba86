//! Who is speaking now, on a live stream: 16-bit PCM as it arrives → 16 kHz mono → speech
//! activity frame by frame → at intervals, the last stretch of speech to embed. Pure state:
//! the WebSocket handler (`http/stream.rs`) feeds it, embeds what it asks for and sends events.
//!
//! - **Speech start** when 5 of the last 8 frames (30 ms each) are voiced, as enrollment's
//!   smoothing judges speech; its time is the first of those frames.
//! - **Speech end** once [`END_FRAMES`] frames (0.51 s) in a row hold at most two voiced ones,
//!   so the short pauses within a sentence do not end it.
//! - **Who:** the first embedding after [`FIRST_UPDATE_SAMPLES`] (0.8 s) of speech, then one every
//!   [`UPDATE_SAMPLES`] (0.5 s), of the last [`WINDOW_SAMPLES`] (1.6 s, the encoder's window) of
//!   speech since it started. A change of speaker without a pause moves the window's majority
//!   within 0.8 s and the next update reports it.

use std::collections::VecDeque;

use voxprint_engine::constants::{SAMPLE_RATE, VAD_WINDOW_SAMPLES};
use voxprint_engine::diarize::WINDOW_SAMPLES;
use voxprint_engine::preprocess::normalize_volume;
use voxprint_engine::resample::To16k;
use voxprint_engine::vad::LiveVad;

/// Frames the start decision looks at, and how many of them must be voiced.
const START_FRAMES: usize = 8;
const START_VOICED: usize = 5;
/// Frames in a row with at most [`END_MAX_VOICED`] voiced ones that end speech.
const END_FRAMES: usize = 17;
const END_MAX_VOICED: usize = 2;
/// Speech before the first embedding of an utterance.
const FIRST_UPDATE_SAMPLES: usize = 12_800;
/// Speech between later embeddings.
const UPDATE_SAMPLES: usize = 8_000;

/// What the stream's audio asks of the handler, in stream order; times in seconds of audio
/// since the stream began.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    SpeechStart {
        time: f64,
    },
    /// Embed this (the last stretch of speech, volume raised) and report who it is.
    Identify {
        time: f64,
        input: Vec<f32>,
    },
    SpeechEnd {
        time: f64,
    },
}

/// One stream's state.
pub struct LiveSpeaker {
    channels: usize,
    /// A sample split across frames (odd byte) or a frame across channels waits here.
    leftover: Vec<u8>,
    resampler: To16k,
    vad: LiveVad,
    /// 16 kHz frames decided so far.
    frames: u64,
    /// The last frames with their decisions: the start decision's and the pre-roll.
    recent: VecDeque<(bool, Vec<f32>)>,
    in_speech: bool,
    /// Frames since speech started in a row with their decisions, for the end decision.
    tail: VecDeque<bool>,
    /// The speech since it started, at most one window's worth.
    speech: VecDeque<f32>,
    speech_samples: usize,
    next_update: usize,
    /// End of the last voiced frame, for the end's time.
    last_voiced_end: u64,
}

impl LiveSpeaker {
    /// A stream of 16-bit little-endian PCM at `sample_rate` with `channels` interleaved.
    pub fn new(sample_rate: u32, channels: u16) -> LiveSpeaker {
        LiveSpeaker {
            channels: usize::from(channels.max(1)),
            leftover: Vec::new(),
            resampler: To16k::new(sample_rate),
            vad: LiveVad::default(),
            frames: 0,
            recent: VecDeque::with_capacity(START_FRAMES + 1),
            in_speech: false,
            tail: VecDeque::with_capacity(END_FRAMES + 1),
            speech: VecDeque::with_capacity(WINDOW_SAMPLES),
            speech_samples: 0,
            next_update: FIRST_UPDATE_SAMPLES,
            last_voiced_end: 0,
        }
    }

    /// Seconds of audio decided so far.
    pub fn time(&self) -> f64 {
        self.frames as f64 * VAD_WINDOW_SAMPLES as f64 / f64::from(SAMPLE_RATE)
    }

    /// Takes the next bytes of the stream.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Step> {
        self.leftover.extend_from_slice(bytes);
        let frame_bytes = 2 * self.channels;
        let whole = self.leftover.len() / frame_bytes * frame_bytes;
        let mono: Vec<f32> = self.leftover[..whole]
            .chunks_exact(frame_bytes)
            .map(|frame| {
                let sum: f32 =
                    frame.chunks_exact(2).map(|s| f32::from(i16::from_le_bytes([s[0], s[1]])) / 32768.0).sum();
                sum / self.channels as f32
            })
            .collect();
        self.leftover.drain(..whole);
        self.resampler.push(&mono);
        let samples = self.resampler.take();
        let mut steps = Vec::new();
        for (voiced, frame) in self.vad.push(&samples) {
            self.frame(voiced, frame, &mut steps);
        }
        steps
    }

    /// The stream has ended: ends speech in progress.
    pub fn finish(&mut self) -> Vec<Step> {
        let mut steps = Vec::new();
        if self.in_speech {
            self.end_speech(&mut steps);
        }
        steps
    }

    fn frame(&mut self, voiced: bool, samples: Vec<f32>, steps: &mut Vec<Step>) {
        self.frames += 1;
        if voiced {
            self.last_voiced_end = self.frames;
        }
        self.recent.push_back((voiced, samples));
        if self.recent.len() > START_FRAMES {
            self.recent.pop_front();
        }
        if !self.in_speech {
            if self.recent.iter().filter(|(v, _)| *v).count() >= START_VOICED {
                self.in_speech = true;
                let first = self.frames - self.recent.len() as u64;
                steps.push(Step::SpeechStart { time: seconds(first) });
                // The frames that decided it are the utterance's first.
                let pre_roll: Vec<f32> = self.recent.iter().flat_map(|(_, s)| s.iter().copied()).collect();
                self.tail.clear();
                self.speech.clear();
                self.speech_samples = 0;
                self.next_update = FIRST_UPDATE_SAMPLES;
                self.add_speech(&pre_roll, steps);
            }
            return;
        }
        self.tail.push_back(voiced);
        if self.tail.len() > END_FRAMES {
            self.tail.pop_front();
        }
        if self.tail.len() == END_FRAMES && self.tail.iter().filter(|&&v| v).count() <= END_MAX_VOICED {
            self.end_speech(steps);
            return;
        }
        let samples = self.recent.back().map(|(_, s)| s.clone()).unwrap_or_default();
        self.add_speech(&samples, steps);
    }

    fn add_speech(&mut self, samples: &[f32], steps: &mut Vec<Step>) {
        self.speech.extend(samples);
        while self.speech.len() > WINDOW_SAMPLES {
            self.speech.pop_front();
        }
        self.speech_samples += samples.len();
        if self.speech_samples >= self.next_update {
            self.next_update = self.speech_samples + UPDATE_SAMPLES;
            let mut input: Vec<f32> = self.speech.iter().copied().collect();
            normalize_volume(&mut input);
            steps.push(Step::Identify { time: self.time(), input });
        }
    }

    fn end_speech(&mut self, steps: &mut Vec<Step>) {
        self.in_speech = false;
        self.recent.clear();
        steps.push(Step::SpeechEnd { time: seconds(self.last_voiced_end) });
    }
}

fn seconds(frames: u64) -> f64 {
    frames as f64 * VAD_WINDOW_SAMPLES as f64 / f64::from(SAMPLE_RATE)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 16-bit PCM of a syllable-modulated tone (which the VAD takes for voice) for `voiced`
    /// seconds, then silence for `silent` seconds, at `rate`, in `channels`.
    fn pcm(voiced: f32, silent: f32, rate: u32, channels: usize) -> Vec<u8> {
        let n_voiced = (voiced * rate as f32) as usize;
        let n = n_voiced + (silent * rate as f32) as usize;
        let mut out = Vec::new();
        for i in 0..n {
            let t = i as f32 / rate as f32;
            let value = if i < n_voiced {
                0.3 * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
                    * (1.2 + (2.0 * std::f32::consts::PI * 4.0 * t).sin())
            } else {
                0.0
            };
            for _ in 0..channels {
                out.extend_from_slice(&((value * 32767.0) as i16).to_le_bytes());
            }
        }
        out
    }

    fn run(speaker: &mut LiveSpeaker, bytes: &[u8], piece: usize) -> Vec<Step> {
        let mut steps = Vec::new();
        for chunk in bytes.chunks(piece) {
            steps.extend(speaker.push(chunk));
        }
        steps
    }

    #[test]
    fn speech_is_started_identified_every_half_second_and_ended() {
        let mut speaker = LiveSpeaker::new(16_000, 1);
        let steps = run(&mut speaker, &[pcm(3.0, 1.0, 16_000, 1), pcm(2.0, 1.0, 16_000, 1)].concat(), 3_201);
        let kinds: Vec<&str> = steps
            .iter()
            .map(|s| match s {
                Step::SpeechStart { .. } => "start",
                Step::Identify { .. } => "who",
                Step::SpeechEnd { .. } => "end",
            })
            .collect();
        // Each utterance: its start, an identification at 0.8 s then every 0.5 s (the last may
        // fall in the half second of silence that ends it), its end.
        let utterances: Vec<&[&str]> = kinds.split(|k| *k == "end").filter(|u| !u.is_empty()).collect();
        assert_eq!(utterances.len(), 2, "{kinds:?}");
        for (utterance, speech) in utterances.iter().zip([3.0f64, 2.0]) {
            let updates = 1 + ((speech - 0.8) / 0.5).floor() as usize;
            assert_eq!(utterance[0], "start", "{kinds:?}");
            assert!(utterance[1..].iter().all(|k| *k == "who"), "{kinds:?}");
            assert!((updates..=updates + 1).contains(&(utterance.len() - 1)), "{kinds:?}");
        }
        assert_eq!(kinds.last(), Some(&"end"));
        let second_start = kinds.iter().rposition(|k| *k == "start").unwrap();
        let Step::SpeechStart { time } = steps[0] else { unreachable!() };
        assert!(time < 0.2, "{time}");
        let Step::Identify { time, ref input } = steps[1] else { unreachable!() };
        assert!((time - 0.8).abs() < 0.1 && input.len() >= 12_800, "0.8 s into speech: {time} {}", input.len());
        let Step::Identify { ref input, .. } = steps[5] else { unreachable!() };
        assert_eq!(input.len(), WINDOW_SAMPLES, "the last 1.6 s");
        // The end is the last voiced frame's (the tone's last syllable may fade before 3 s).
        let Step::SpeechEnd { time } = steps[second_start - 1] else { unreachable!() };
        assert!(time > 2.6 && time <= 3.05, "{time}");
        let Step::SpeechStart { time } = steps[second_start] else { unreachable!() };
        assert!((time - 4.0).abs() < 0.15, "{time}");
        assert!(speaker.finish().is_empty(), "already ended");
    }

    #[test]
    fn any_rate_channels_and_split_samples_give_the_same_times() {
        let mut mono = LiveSpeaker::new(16_000, 1);
        let reference = run(&mut mono, &pcm(2.0, 0.0, 16_000, 1), 4_000);
        let mut stereo = LiveSpeaker::new(48_000, 2);
        let steps = run(&mut stereo, &pcm(2.0, 0.0, 48_000, 2), 999); // odd: samples split
        let times = |steps: &[Step]| -> Vec<f64> {
            steps
                .iter()
                .map(|s| match s {
                    Step::SpeechStart { time } | Step::SpeechEnd { time } | Step::Identify { time, .. } => *time,
                })
                .collect()
        };
        assert_eq!(steps.len(), reference.len());
        for (a, b) in times(&steps).iter().zip(times(&reference)) {
            assert!((a - b).abs() < 0.1, "{a} vs {b}");
        }
        let ended = stereo.finish();
        assert!(matches!(ended[..], [Step::SpeechEnd { .. }]), "the stream ends mid-speech");
    }

    #[test]
    fn silence_asks_for_nothing() {
        let mut speaker = LiveSpeaker::new(8_000, 1);
        assert!(run(&mut speaker, &pcm(0.0, 3.0, 8_000, 1), 1_600).is_empty());
        assert!((speaker.time() - 3.0).abs() < 0.05);
    }
}
