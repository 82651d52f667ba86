//! Who spoke when, the engine's part: where a recording has speech, which windows of it to
//! embed, how the windows' embeddings group into speakers, and the turns that follow. Naming a
//! speaker (scoring its centroid against enrolled voiceprints) is the caller's.
//!
//! The method, step by step:
//! 1. **Speech.** WebRTC's VAD over 30 ms frames, smoothed and dilated as for enrollment
//!    ([`crate::vad::speech_mask`]).
//! 2. **Windows.** One window every [`STEP_SAMPLES`] (0.5 s) whose centre is speech; it is
//!    embedded from the speech frames within [`WINDOW_SAMPLES`] (1.6 s, the encoder's own
//!    window) around its centre and speaks for the 0.5 s around that centre. Boundaries are
//!    therefore placed within ±0.25 s, the collar diarization is scored with.
//! 3. **Clustering.** Agglomerative, average linkage on cosine similarity, merging while the
//!    most similar pair of clusters is at least the threshold (and, with a speaker count limit,
//!    until it is met).
//! 4. **Clean-up.** Clusters of fewer than [`MIN_CLUSTER_WINDOWS`] windows (mostly windows
//!    that straddle a change of speaker or overlap) join the nearest larger one; each window is
//!    then moved to the speaker whose centroid it is nearest ([`REFINEMENT_PASSES`] times:
//!    average linkage can chain a few windows into the wrong cluster); a lone window between
//!    two of another speaker takes theirs (no real turn is 0.5 s long).
//! 5. **Turns.** Each speech frame takes the speaker of the window whose centre is nearest.

use crate::constants::{HOP_LENGTH, PARTIAL_N_FRAMES, VAD_WINDOW_SAMPLES};
use crate::preprocess::normalize_volume;
use crate::Embedding;

/// Samples of a window: the encoder's window, 1.6 s at 16 kHz.
pub const WINDOW_SAMPLES: usize = PARTIAL_N_FRAMES * HOP_LENGTH;
/// Samples between window centres (0.5 s): each window speaks for this much of the recording.
pub const STEP_SAMPLES: usize = 8_000;
/// Least speech in a window for it to be embedded (0.5 s); less makes an unreliable embedding.
pub const MIN_WINDOW_SPEECH_SAMPLES: usize = 8_000;
/// Clusters with fewer windows (1.5 s of speech) are absorbed by the nearest larger one.
const MIN_CLUSTER_WINDOWS: usize = 3;
/// Times each window is moved to its nearest centroid after clustering.
const REFINEMENT_PASSES: usize = 2;
/// Turns shorter than this (0.2 s) are not turns of their own (see [`turns`]).
const MIN_TURN_SAMPLES: usize = 3_200;
/// A speech frame farther than this from every embedded window's centre (1 s) gets no
/// speaker: it is an isolated blip too short to embed.
const MAX_FRAME_DISTANCE_SAMPLES: usize = 16_000;

/// A window to embed, in samples of the 16 kHz recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub centre: usize,
    /// The span it is embedded from (before the non-speech frames are left out).
    pub start: usize,
    pub end: usize,
}

/// A stretch of speech by one speaker, in samples; `speaker` indexes the clusters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turn {
    pub start: usize,
    pub end: usize,
    pub speaker: usize,
}

/// The windows to embed, given the recording's speech mask (one flag per 30 ms frame) and its
/// length: one per step whose centre frame is speech and which holds enough speech.
pub fn plan_windows(speech: &[bool], n_samples: usize) -> Vec<Window> {
    let mut windows = Vec::new();
    let mut centre = STEP_SAMPLES / 2;
    while centre < n_samples {
        let start = centre.saturating_sub(WINDOW_SAMPLES / 2);
        let end = (centre + WINDOW_SAMPLES / 2).min(n_samples);
        if is_speech(speech, centre) && speech_samples(speech, start, end) >= MIN_WINDOW_SPEECH_SAMPLES {
            windows.push(Window { centre, start, end });
        }
        centre += STEP_SAMPLES;
    }
    windows
}

/// The encoder's input for a window: its speech frames, volume raised as for a probe.
pub fn window_input(wav: &[f32], speech: &[bool], window: &Window) -> Vec<f32> {
    let mut input = Vec::with_capacity(window.end - window.start);
    let first = window.start / VAD_WINDOW_SAMPLES;
    let last = window.end.div_ceil(VAD_WINDOW_SAMPLES).min(speech.len());
    for frame in (first..last).filter(|&frame| speech[frame]) {
        let from = (frame * VAD_WINDOW_SAMPLES).max(window.start);
        let to = ((frame + 1) * VAD_WINDOW_SAMPLES).min(window.end).min(wav.len());
        input.extend_from_slice(&wav[from..to]);
    }
    normalize_volume(&mut input);
    input
}

fn is_speech(speech: &[bool], sample: usize) -> bool {
    speech.get(sample / VAD_WINDOW_SAMPLES).copied().unwrap_or(false)
}

fn speech_samples(speech: &[bool], start: usize, end: usize) -> usize {
    let last = end.div_ceil(VAD_WINDOW_SAMPLES).min(speech.len());
    (start / VAD_WINDOW_SAMPLES..last).filter(|&frame| speech[frame]).count() * VAD_WINDOW_SAMPLES
}

/// The speaker of each window (indices from 0, in order of first appearance), from the windows'
/// embeddings in time order. `threshold` is the least cosine similarity at which two clusters
/// are one speaker; `max_speakers`, when given, merges further until at most that many remain.
pub fn cluster(embeddings: &[Embedding], threshold: f32, max_speakers: Option<usize>) -> Vec<usize> {
    let mut speakers = agglomerate(embeddings, threshold, max_speakers.map(|m| m.max(1)));
    absorb_small_clusters(embeddings, &mut speakers);
    for _ in 0..REFINEMENT_PASSES {
        let centroids = centroids(embeddings, &speakers);
        for (speaker, embedding) in speakers.iter_mut().zip(embeddings) {
            *speaker = nearest(&centroids, embedding).unwrap_or(*speaker);
        }
    }
    for i in 1..speakers.len().saturating_sub(1) {
        if speakers[i - 1] == speakers[i + 1] && speakers[i] != speakers[i - 1] {
            speakers[i] = speakers[i - 1];
        }
    }
    renumber(&mut speakers);
    speakers
}

/// Average-linkage agglomerative clustering on cosine similarity. Keeps, for each cluster, its
/// most similar other cluster, so that a merge costs O(n) unless it invalidates those: about
/// O(n²) in all, with the similarities in one triangular matrix (26 MB for 30 minutes).
fn agglomerate(embeddings: &[Embedding], threshold: f32, max_speakers: Option<usize>) -> Vec<usize> {
    let n = embeddings.len();
    let mut parent: Vec<usize> = (0..n).collect();
    if n < 2 {
        return parent;
    }
    let index = |i: usize, j: usize| {
        let (i, j) = if i < j { (i, j) } else { (j, i) };
        i * n - i * (i + 1) / 2 + (j - i - 1)
    };
    let mut similarity = vec![0f32; n * (n - 1) / 2];
    for i in 0..n {
        for j in i + 1..n {
            similarity[index(i, j)] = dot(&embeddings[i].0, &embeddings[j].0);
        }
    }
    let mut active = vec![true; n];
    let mut size = vec![1usize; n];
    let best_of = |i: usize, active: &[bool], similarity: &[f32]| {
        (0..n).filter(|&j| j != i && active[j]).map(|j| (j, similarity[index(i, j)])).max_by(|a, b| a.1.total_cmp(&b.1))
    };
    let mut best: Vec<Option<(usize, f32)>> = (0..n).map(|i| best_of(i, &active, &similarity)).collect();
    let mut clusters = n;
    while clusters > 1 {
        let Some((a, (b, value))) = (0..n)
            .filter(|&i| active[i])
            .filter_map(|i| best[i].map(|b| (i, b)))
            .max_by(|x, y| x.1 .1.total_cmp(&y.1 .1))
        else {
            break;
        };
        let over_limit = max_speakers.is_some_and(|max| clusters > max);
        if value < threshold && !over_limit {
            break;
        }
        // b joins a; a's similarity to every other cluster becomes the size-weighted mean.
        for k in (0..n).filter(|&k| active[k] && k != a && k != b) {
            let merged = (size[a] as f32 * similarity[index(a, k)] + size[b] as f32 * similarity[index(b, k)])
                / (size[a] + size[b]) as f32;
            similarity[index(a, k)] = merged;
        }
        active[b] = false;
        size[a] += size[b];
        parent[b] = a;
        clusters -= 1;
        best[b] = None;
        best[a] = best_of(a, &active, &similarity);
        for k in (0..n).filter(|&k| active[k] && k != a) {
            match best[k] {
                Some((j, _)) if j == a || j == b => best[k] = best_of(k, &active, &similarity),
                Some((_, v)) if similarity[index(k, a)] > v => best[k] = Some((a, similarity[index(k, a)])),
                _ => {}
            }
        }
    }
    (0..n)
        .map(|mut i| {
            while parent[i] != i {
                i = parent[i];
            }
            i
        })
        .collect()
}

/// Moves the windows of clusters smaller than [`MIN_CLUSTER_WINDOWS`] to the nearest larger
/// cluster, when there is one.
fn absorb_small_clusters(embeddings: &[Embedding], speakers: &mut [usize]) {
    let count = |label: usize, speakers: &[usize]| speakers.iter().filter(|&&s| s == label).count();
    let small: Vec<bool> = speakers.iter().map(|&s| count(s, speakers) < MIN_CLUSTER_WINDOWS).collect();
    if small.iter().all(|&s| s) {
        return;
    }
    let large: Vec<usize> = speakers.iter().zip(&small).filter(|(_, &s)| !s).map(|(&l, _)| l).collect();
    let centroids: Vec<(usize, [f32; 256])> = {
        let all = centroids(embeddings, speakers);
        all.into_iter().filter(|(label, _)| large.contains(label)).collect()
    };
    for ((speaker, embedding), is_small) in speakers.iter_mut().zip(embeddings).zip(&small) {
        if *is_small {
            *speaker = nearest(&centroids, embedding).unwrap_or(*speaker);
        }
    }
}

/// Each cluster label with its centroid (the mean of its embeddings, which for GE2E's
/// normalised embeddings points the way the speaker's utterance embedding does).
fn centroids(embeddings: &[Embedding], speakers: &[usize]) -> Vec<(usize, [f32; 256])> {
    let mut sums: Vec<(usize, [f32; 256])> = Vec::new();
    for (&speaker, embedding) in speakers.iter().zip(embeddings) {
        let position = match sums.iter().position(|(label, _)| *label == speaker) {
            Some(position) => position,
            None => {
                sums.push((speaker, [0.0; 256]));
                sums.len() - 1
            }
        };
        for (s, v) in sums[position].1.iter_mut().zip(&embedding.0) {
            *s += v;
        }
    }
    for (_, sum) in &mut sums {
        normalise(sum);
    }
    sums
}

/// The normalised mean of embeddings: a speaker's embedding from its windows.
pub fn centroid<'a>(embeddings: impl IntoIterator<Item = &'a Embedding>) -> Embedding {
    let mut sum = [0f32; 256];
    for embedding in embeddings {
        for (s, v) in sum.iter_mut().zip(&embedding.0) {
            *s += v;
        }
    }
    normalise(&mut sum);
    Embedding(sum)
}

fn nearest(centroids: &[(usize, [f32; 256])], embedding: &Embedding) -> Option<usize> {
    centroids.iter().max_by(|a, b| dot(&a.1, &embedding.0).total_cmp(&dot(&b.1, &embedding.0))).map(|(l, _)| *l)
}

/// Labels 0, 1, … in order of first appearance.
fn renumber(speakers: &mut [usize]) {
    let mut seen: Vec<usize> = Vec::new();
    for speaker in speakers.iter_mut() {
        *speaker = match seen.iter().position(|&s| s == *speaker) {
            Some(position) => position,
            None => {
                seen.push(*speaker);
                seen.len() - 1
            }
        };
    }
}

/// The turns: each speech frame takes the speaker of the window whose centre is nearest
/// (within [`MAX_FRAME_DISTANCE_SAMPLES`]); consecutive frames of one speaker make a turn.
/// A turn shorter than [`MIN_TURN_SAMPLES`] joins the turn it touches, or is left out when it
/// touches none (a blip in a pause).
pub fn turns(speech: &[bool], windows: &[Window], speakers: &[usize]) -> Vec<Turn> {
    let mut tidy: Vec<Turn> = Vec::new();
    let raw = frame_turns(speech, windows, speakers);
    for (index, turn) in raw.iter().enumerate() {
        let short = turn.end - turn.start < MIN_TURN_SAMPLES;
        match tidy.last_mut() {
            Some(last) if last.end == turn.start && (short || last.speaker == turn.speaker) => last.end = turn.end,
            _ if short => {
                // Joins the next turn if it touches it; otherwise it is a blip.
                if let Some(next) = raw.get(index + 1).filter(|next| next.start == turn.end) {
                    tidy.push(Turn { start: turn.start, end: turn.end, speaker: next.speaker });
                }
            }
            _ => tidy.push(turn.clone()),
        }
    }
    tidy
}

fn frame_turns(speech: &[bool], windows: &[Window], speakers: &[usize]) -> Vec<Turn> {
    let mut turns: Vec<Turn> = Vec::new();
    let mut next = 0; // the first window whose centre is not before the frame's
    for (frame, _) in speech.iter().enumerate().filter(|(_, &s)| s) {
        let (start, end) = (frame * VAD_WINDOW_SAMPLES, (frame + 1) * VAD_WINDOW_SAMPLES);
        let middle = start + VAD_WINDOW_SAMPLES / 2;
        while next < windows.len() && windows[next].centre < middle {
            next += 1;
        }
        let candidates = [next.checked_sub(1), (next < windows.len()).then_some(next)];
        let Some(window) = candidates.into_iter().flatten().min_by_key(|&w| windows[w].centre.abs_diff(middle)) else {
            continue;
        };
        if windows[window].centre.abs_diff(middle) > MAX_FRAME_DISTANCE_SAMPLES {
            continue;
        }
        let speaker = speakers[window];
        match turns.last_mut() {
            Some(last) if last.end == start && last.speaker == speaker => last.end = end,
            _ => turns.push(Turn { start, end, speaker }),
        }
    }
    turns
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A unit embedding near axis `axis`, tilted a little towards axis `tilt_axis`.
    fn voice(axis: usize, tilt_axis: usize, tilt: f32) -> Embedding {
        let mut v = [0f32; 256];
        v[axis] = 1.0;
        v[tilt_axis] += tilt;
        normalise(&mut v);
        Embedding(v)
    }

    #[test]
    fn windows_sit_on_speech_and_need_half_a_second_of_it() {
        // 4 s: speech from 1 s to 3 s (frames of 480 samples).
        let n = 64_000;
        let speech: Vec<bool> =
            (0..n / VAD_WINDOW_SAMPLES).map(|f| (16_000..48_000).contains(&(f * VAD_WINDOW_SAMPLES))).collect();
        let windows = plan_windows(&speech, n);
        let centres: Vec<usize> = windows.iter().map(|w| w.centre).collect();
        assert_eq!(centres, vec![20_000, 28_000, 36_000, 44_000]);
        assert!(windows.iter().all(|w| w.end - w.start <= WINDOW_SAMPLES));
        let wav: Vec<f32> = (0..n).map(|i| if (16_000..48_000).contains(&i) { 0.1 } else { 0.0 }).collect();
        let input = window_input(&wav, &speech, &windows[0]);
        assert!(input.len() >= MIN_WINDOW_SPEECH_SAMPLES && input.iter().all(|&s| s > 0.0), "speech frames only");
        assert!(plan_windows(&[false; 100], 48_000).is_empty());
    }

    #[test]
    fn two_voices_make_two_speakers_and_the_threshold_decides() {
        let mut embeddings = Vec::new();
        for i in 0..6 {
            embeddings.push(voice(0, 2 + i, 0.2));
        }
        for i in 0..6 {
            embeddings.push(voice(1, 2 + i, 0.2));
        }
        assert_eq!(cluster(&embeddings, 0.5, None), [vec![0; 6], vec![1; 6]].concat());
        assert_eq!(cluster(&embeddings, -1.0, None), vec![0; 12], "any similarity merges");
        assert_eq!(cluster(&embeddings, 0.5, Some(1)), vec![0; 12], "the speaker limit merges");
    }

    #[test]
    fn a_cluster_too_small_joins_the_nearest_larger_one() {
        let mut embeddings = vec![voice(0, 2, 0.2); 6];
        embeddings.push(voice(0, 9, 0.9)); // similarity 0.73 to the others
        assert_eq!(cluster(&embeddings, 0.9, None), vec![0; 7]);
        let few = [voice(0, 2, 0.2), voice(1, 2, 0.2)];
        assert_eq!(cluster(&few, 0.9, None), vec![0, 1], "with no larger cluster, small ones stay");
    }

    #[test]
    fn a_lone_window_takes_its_neighbours_speaker() {
        let mut embeddings: Vec<Embedding> = (0..5).map(|i| voice(0, 3 + i, 0.1)).collect();
        embeddings.extend((0..5).map(|i| voice(1, 3 + i, 0.1)));
        embeddings.insert(2, voice(1, 20, 0.1));
        let speakers = cluster(&embeddings, 0.5, None);
        assert_eq!(speakers[2], 0);
        assert!(cluster(&[], 0.5, None).is_empty());
        assert_eq!(cluster(&[voice(0, 1, 0.1)], 0.5, None), vec![0]);
    }

    #[test]
    fn turns_follow_the_nearest_window_and_skip_silence() {
        let n = 64_000;
        let speech: Vec<bool> = (0..n / VAD_WINDOW_SAMPLES).map(|f| f * VAD_WINDOW_SAMPLES < 40_000).collect();
        let windows = plan_windows(&speech, n);
        let speakers: Vec<usize> = windows.iter().map(|w| usize::from(w.centre > 20_000)).collect();
        let turns = turns(&speech, &windows, &speakers);
        assert_eq!(turns.len(), 2, "{turns:?}");
        assert_eq!((turns[0].start, turns[0].speaker, turns[1].speaker), (0, 0, 1));
        assert!(turns[0].end.abs_diff(24_000) <= VAD_WINDOW_SAMPLES, "midway between centres 20000 and 28000");
        assert!(turns[1].end <= 40_320);
    }

    #[test]
    fn short_turns_join_their_neighbour_or_go() {
        // Speech 0–2 s, a 90 ms blip at 2.49 s, speech 3–5 s; windows of speaker 0 before 2.5 s.
        let n = 96_000;
        let blip = |f: usize| (2_490..2_580).contains(&(f * VAD_WINDOW_SAMPLES * 1_000 / 16_000));
        let speech: Vec<bool> = (0..n / VAD_WINDOW_SAMPLES)
            .map(|f| f * VAD_WINDOW_SAMPLES < 32_000 || blip(f) || (48_000..80_000).contains(&(f * VAD_WINDOW_SAMPLES)))
            .collect();
        let windows = plan_windows(&speech, n);
        let speakers: Vec<usize> = windows.iter().map(|w| usize::from(w.centre > 40_000)).collect();
        let found = turns(&speech, &windows, &speakers);
        assert_eq!(found.iter().map(|t| t.speaker).collect::<Vec<_>>(), vec![0, 1], "the blip is gone: {found:?}");
        // A short flip inside a turn joins it.
        let mut flipped = speakers.clone();
        flipped[2] = 1; // the window at 2.0 s… whose frames touch speaker 0's on both sides
        let found = turns(&speech, &windows, &flipped);
        assert!(found.iter().all(|t| t.end - t.start >= MIN_TURN_SAMPLES), "{found:?}");
    }

    #[test]
    fn centroid_is_normalised() {
        let c = centroid(&[voice(0, 1, 0.0), voice(1, 0, 0.0)]);
        assert!((c.0[0] - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
    }
}
