//! Scoring a probe against a group's voiceprints, with a per-group embedding cache.
//!
//! **The score.** Each voiceprint holds its recording's embedding and the embeddings of that
//! recording under simulated conditions (noise, rooms, telephone, codec; see
//! `voxprint_engine::augment`): its *condition set*. A probe's similarity to a voiceprint is its
//! highest cosine with any row of the set, so that a noisy or telephone probe meets the
//! enrollment in a similar condition. Degraded probes also come closer to everybody, though; so
//! the similarity is lowered by part of the probe's mean similarity to its nearest voices in a
//! built-in cohort of other speakers (probe-side score normalisation: a probe that resembles
//! everyone proves less). A logistic curve centred on the decision threshold maps the result
//! onto 0–100. Every constant here was chosen on the development voices of
//! `scripts/bench-accuracy.sh`, never on the voices it reports on.
//!
//! **Several recordings.** A voiceprint made from several recordings (samples) is scored from
//! the centroid of each row of their condition sets: the mean of the recordings' clean
//! embeddings, of their noisy ones, and so on. GE2E's own speaker model is such a centroid, and
//! it keeps one row per condition (a union of every recording's rows would give a stranger one
//! more chance to come close with each sample). The mean of unit vectors is shorter than they
//! are; a unit-length centroid would raise every similarity, strangers' too, and break the
//! calibration made with one recording per voiceprint. So the mean is lengthened only part of
//! the way: divided by its length to the power [`CENTROID_LENGTHENING`].
//!
//! **The cache.** A group's rows are checked against the group's `voiceprints_version` (one
//! indexed read) on every identification, so a voiceprint enrolled, replaced or deleted through
//! any process sharing the database is scored — or no longer scored — on the very next request.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use voxprint_engine::{augment, Embedding, Encoder, EngineError};

use crate::metrics::Metrics;
use crate::storage::database::{Store, StoreError};

/// The decision threshold on `score`: a best score below it means "none of the enrolled
/// speakers". It is the centre of the calibration curve.
pub const RECOMMENDED_THRESHOLD: f64 = 50.0;

/// Dimension of the speaker embeddings.
pub const EMBEDDING_DIM: usize = voxprint_engine::constants::EMBEDDING_SIZE;

/// Rows of a complete condition set: the recording, then each simulated condition.
pub const CONDITION_ROWS: usize = augment::CONDITIONS.len() + 1;

/// Version of what scoring needs stored with a voiceprint (its condition set). A voiceprint
/// stored under a lower version is brought up to date from its audio by `admin reembed`
/// (which `serve` also runs at start); until then it is scored from its one embedding.
pub const SCORING_VERSION: i64 = 1;

/// Probe-side normalisation: how many of the cohort's voices nearest to the probe are
/// averaged, and how much of that mean is taken off the similarity.
const COHORT_NEAREST: usize = 6;
const COHORT_WEIGHT: f32 = 0.75;

/// How far a voiceprint's centroid of several recordings is lengthened towards unit length
/// (see the module doc): 0 keeps the plain mean (the mean of the similarities), 1 makes it a
/// unit vector. Of 0, 0.25, … 1, 0.75 is the largest that keeps the development voices'
/// strangers accepted at the threshold within the 1 % it was calibrated for (0.9 %; unit
/// length: 1.7 %), with three recordings per voiceprint (`scripts/accuracy/samples.py`).
const CENTROID_LENGTHENING: f32 = 0.75;

/// The calibration curve: `score = 100 / (1 + exp(-(evidence - CENTRE) / SCALE))`. CENTRE is
/// where 1 % of strangers' best evidence lies above it on the development voices, over all
/// conditions together; SCALE is the inverse slope of a logistic regression of same-voice
/// against stranger trials on the evidence (`scripts/accuracy/calibrate.py`).
const CALIBRATION_CENTRE: f64 = 0.3158;
const CALIBRATION_SCALE: f64 = 0.0186;

/// The built-in cohort: condition sets of the development voices, made by
/// `scripts/bench-accuracy.sh --calibrate`: little-endian f32 rows of [`EMBEDDING_DIM`],
/// [`CONDITION_ROWS`] rows per voice. It belongs to the model and to [`SCORING_VERSION`].
static COHORT: LazyLock<Vec<f32>> =
    LazyLock::new(|| floats_from_bytes(include_bytes!("../../assets/cohort-v1.f32")).collect());

/// Memory the cached group matrices may take by default (`--embedding-cache-mb`): about
/// 100,000 voiceprints of ten condition rows.
pub const DEFAULT_CACHE_BYTES: usize = 1 << 30;

/// A group's enrolled voiceprints: their condition sets in one row-major matrix.
pub struct GroupMatrix {
    version: i64,
    pub voiceprints: Vec<VoiceprintLabel>,
    /// Each voiceprint's rows of `matrix`.
    rows: Vec<std::ops::Range<usize>>,
    matrix: Vec<f32>,
}

pub struct VoiceprintLabel {
    pub id: i64,
    pub name: String,
    pub description: String,
}

/// A voiceprint's score for the probe.
pub struct Match<'a> {
    pub voiceprint: &'a VoiceprintLabel,
    pub score: f64,
}

impl GroupMatrix {
    /// Heap memory this matrix holds: its rows, its labels and their ranges.
    fn bytes(&self) -> usize {
        let labels: usize = self
            .voiceprints
            .iter()
            .map(|v| std::mem::size_of::<VoiceprintLabel>() + v.name.len() + v.description.len())
            .sum();
        std::mem::size_of::<GroupMatrix>()
            + self.matrix.len() * std::mem::size_of::<f32>()
            + self.rows.len() * std::mem::size_of::<std::ops::Range<usize>>()
            + labels
    }

    /// The score of one voiceprint of the group for the probe; `None` if it is not in the group.
    pub fn score_of(&self, voiceprint_id: i64, probe: &[f32]) -> Option<f64> {
        let index = self.voiceprints.iter().position(|voiceprint| voiceprint.id == voiceprint_id)?;
        let rows = &self.rows[index];
        Some(score(&self.matrix[rows.start * EMBEDDING_DIM..rows.end * EMBEDDING_DIM], probe))
    }

    /// Every voiceprint with its score, best first; ties by ID for a stable order. Sorted by the
    /// evidence itself: near 0 and 100 the rounded scores of different voiceprints can be equal.
    pub fn rank(&self, probe: &[f32]) -> Vec<Match<'_>> {
        let cohort = cohort_similarity(probe);
        let mut ranked: Vec<(f64, &VoiceprintLabel)> = self
            .voiceprints
            .iter()
            .zip(&self.rows)
            .map(|(voiceprint, rows)| {
                let set = &self.matrix[rows.start * EMBEDDING_DIM..rows.end * EMBEDDING_DIM];
                (evidence(best_similarity(set, probe), cohort), voiceprint)
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.id.cmp(&b.1.id)));
        ranked.into_iter().map(|(evidence, voiceprint)| Match { voiceprint, score: calibrated_score(evidence) }).collect()
    }
}

/// The score of a probe against a condition set (one voiceprint's rows), on the API's scale.
pub fn score(set: &[f32], probe: &[f32]) -> f64 {
    calibrated_score(evidence(best_similarity(set, probe), cohort_similarity(probe)))
}

/// The probe's highest cosine with any row of a condition set.
fn best_similarity(set: &[f32], probe: &[f32]) -> f32 {
    set.chunks_exact(EMBEDDING_DIM).map(|row| dot(row, probe)).fold(f32::MIN, f32::max)
}

/// The mean of the probe's best similarities to the [`COHORT_NEAREST`] cohort voices nearest it.
fn cohort_similarity(probe: &[f32]) -> f32 {
    let mut nearest: Vec<f32> =
        COHORT.chunks_exact(CONDITION_ROWS * EMBEDDING_DIM).map(|set| best_similarity(set, probe)).collect();
    nearest.sort_by(|a, b| b.total_cmp(a));
    nearest.truncate(COHORT_NEAREST);
    if nearest.is_empty() {
        return 0.0;
    }
    nearest.iter().sum::<f32>() / nearest.len() as f32
}

/// A voiceprint's evidence for the probe: its best similarity, less the cohort's share.
fn evidence(similarity: f32, cohort: f32) -> f64 {
    f64::from(similarity) - f64::from(COHORT_WEIGHT) * f64::from(cohort)
}

/// The API's `score` (0–100, two decimals) from the evidence: increasing, centred on
/// [`RECOMMENDED_THRESHOLD`].
fn calibrated_score(evidence: f64) -> f64 {
    let score = 100.0 / (1.0 + (-(evidence - CALIBRATION_CENTRE) / CALIBRATION_SCALE).exp());
    (score * 100.0).round() / 100.0
}

/// Vectorised (eight lanes, FMA where the CPU has it): a group of 10,000 voiceprints is
/// 100,000 rows to score per identification.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    voxprint_engine::dot(a, b)
}

/// The seed of a recording's simulated conditions: its content, so that embedding the same
/// upload again (`admin reembed`) gives the same condition set.
pub fn condition_seed(audio: &[u8]) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(audio);
    u64::from_le_bytes(digest[..8].try_into().expect("a SHA-256 digest has 32 bytes"))
}

/// The encoder inputs of an enrollment from its decoded 16 kHz mono recording, made as they are
/// taken: the recording preprocessed, then the recording under each simulated condition.
pub fn condition_inputs(wav_16k: Vec<f32>, audio: &[u8]) -> impl Iterator<Item = Vec<f32>> {
    voxprint_engine::preprocess::with_conditions(wav_16k, condition_seed(audio))
}

/// The condition set (see [`condition_set`]) of a recording decoded to 16 kHz mono.
pub fn embed_conditions(encoder: &Encoder, wav_16k: Vec<f32>, audio: &[u8]) -> Result<Vec<f32>, EngineError> {
    condition_set(encoder.embed_batch(condition_inputs(wav_16k, audio)))
}

/// Flat rows from the embeddings of [`condition_inputs`]: the recording's own first (its
/// failure is the enrollment's), then each condition's; a condition that left too little
/// speech repeats the first row.
pub fn condition_set(embeddings: Vec<Result<Embedding, EngineError>>) -> Result<Vec<f32>, EngineError> {
    let mut embeddings = embeddings.into_iter();
    let clean = embeddings.next().unwrap_or(Err(EngineError::NotEnoughSpeech { seconds: 0.0 }))?;
    let mut set = clean.as_slice().to_vec();
    for degraded in embeddings {
        set.extend_from_slice(degraded.as_ref().unwrap_or(&clean).as_slice());
    }
    Ok(set)
}

/// Embeddings are stored as little-endian f32, row after row.
pub fn embedding_to_bytes(embedding: &[f32]) -> Vec<u8> {
    embedding.iter().flat_map(|value| value.to_le_bytes()).collect()
}

fn floats_from_bytes(bytes: &[u8]) -> impl Iterator<Item = f32> + '_ {
    bytes.chunks_exact(4).map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]))
}

/// A voiceprint's rows for scoring from the stored rows of each of its recordings (see the
/// module doc): one recording's rows as they are; for several, the centroid of each row when
/// every recording has a complete condition set, else of their clean embeddings alone.
/// `None` when no recording has usable rows.
fn voiceprint_rows(recordings: &[(&[u8], &[u8])]) -> Option<Vec<f32>> {
    let sets: Vec<&[u8]> =
        recordings.iter().filter_map(|(embedding, conditions)| scoring_rows(embedding, Some(conditions))).collect();
    match sets.as_slice() {
        [] => None,
        [one] => Some(floats_from_bytes(one).collect()),
        several => {
            let row_bytes = if several.iter().all(|set| set.len() == CONDITION_ROWS * EMBEDDING_DIM * 4) {
                CONDITION_ROWS * EMBEDDING_DIM * 4
            } else {
                EMBEDDING_DIM * 4
            };
            let mut mean = vec![0f32; row_bytes / 4];
            for set in several {
                for (total, value) in mean.iter_mut().zip(floats_from_bytes(&set[..row_bytes])) {
                    *total += value / several.len() as f32;
                }
            }
            for row in mean.chunks_exact_mut(EMBEDDING_DIM) {
                let length = row.iter().map(|v| v * v).sum::<f32>().sqrt();
                if length > 0.0 {
                    let scale = length.powf(-CENTROID_LENGTHENING);
                    row.iter_mut().for_each(|v| *v *= scale);
                }
            }
            Some(mean)
        }
    }
}

/// A stored recording's rows for scoring: its condition set when it has a complete one, else
/// its single embedding; `None` when even that has the wrong size.
fn scoring_rows<'a>(embedding: &'a [u8], conditions: Option<&'a [u8]>) -> Option<&'a [u8]> {
    match conditions {
        Some(set) if set.len() == CONDITION_ROWS * EMBEDDING_DIM * 4 => Some(set),
        _ => (embedding.len() == EMBEDDING_DIM * 4).then_some(embedding),
    }
}

/// The group matrices in memory, least recently used dropped first once they would take more
/// than the budget: bounded by memory, since one group of 10,000 voiceprints takes as much as
/// a thousand groups of ten.
pub struct EmbeddingCache {
    groups: Mutex<CachedGroups>,
    budget_bytes: usize,
    metrics: Arc<Metrics>,
}

#[derive(Default)]
struct CachedGroups {
    entries: HashMap<i64, CachedGroup>,
    bytes: usize,
    /// Counts uses, to tell the least recently used entry.
    clock: u64,
}

struct CachedGroup {
    matrix: Arc<GroupMatrix>,
    bytes: usize,
    last_used: u64,
}

impl CachedGroups {
    /// The cached matrix of the group if it is at `version`, marked as just used.
    fn get(&mut self, group_id: i64, version: i64) -> Option<Arc<GroupMatrix>> {
        let entry = self.entries.get_mut(&group_id).filter(|entry| entry.matrix.version == version)?;
        self.clock += 1;
        entry.last_used = self.clock;
        Some(entry.matrix.clone())
    }

    /// Keeps `matrix` unless it alone exceeds the budget, dropping the least recently used
    /// entries until it fits.
    fn insert(&mut self, group_id: i64, matrix: Arc<GroupMatrix>, budget_bytes: usize) {
        if let Some(old) = self.entries.remove(&group_id) {
            self.bytes -= old.bytes;
        }
        let bytes = matrix.bytes();
        if bytes > budget_bytes {
            tracing::warn!(
                group_id,
                bytes,
                budget_bytes,
                "a voiceprint group is larger than the embedding cache (--embedding-cache-mb); it is reloaded on every identification"
            );
            return;
        }
        while self.bytes + bytes > budget_bytes {
            let Some((&oldest, _)) = self.entries.iter().min_by_key(|(_, entry)| entry.last_used) else { break };
            let evicted = self.entries.remove(&oldest).expect("the key was just found");
            self.bytes -= evicted.bytes;
        }
        self.clock += 1;
        self.bytes += bytes;
        self.entries.insert(group_id, CachedGroup { matrix, bytes, last_used: self.clock });
    }
}

impl EmbeddingCache {
    pub fn new(metrics: Arc<Metrics>, budget_bytes: usize) -> EmbeddingCache {
        EmbeddingCache { groups: Mutex::default(), budget_bytes, metrics }
    }

    /// The group's current matrix: the cached one if its version is still the stored one,
    /// otherwise freshly loaded.
    pub async fn group(&self, store: &Store, group_id: i64) -> Result<Arc<GroupMatrix>, StoreError> {
        let version = store.group_version(group_id).await?.ok_or(StoreError::NotFound("voiceprint group"))?;
        if let Some(cached) = self.lock().get(group_id, version) {
            self.metrics.cache_hits.inc();
            return Ok(cached);
        }
        self.metrics.cache_misses.inc();
        let (version, rows) = store.group_embeddings(group_id).await?;
        let mut voiceprints = Vec::with_capacity(rows.len());
        let mut ranges = Vec::with_capacity(rows.len());
        let mut matrix = Vec::with_capacity(rows.len() * CONDITION_ROWS * EMBEDDING_DIM);
        for row in rows {
            let recordings: Vec<(&[u8], &[u8])> = std::iter::once((&row.embedding[..], &row.conditions[..]))
                .chain(row.samples.iter().map(|sample| (&sample.embedding[..], &sample.conditions[..])))
                .collect();
            let Some(set) = voiceprint_rows(&recordings) else {
                tracing::error!(voiceprint = row.id, "stored embeddings have the wrong size; skipped");
                continue;
            };
            let start = matrix.len() / EMBEDDING_DIM;
            matrix.extend(set);
            ranges.push(start..matrix.len() / EMBEDDING_DIM);
            voiceprints.push(VoiceprintLabel { id: row.id, name: row.name, description: row.description });
        }
        let loaded = Arc::new(GroupMatrix { version, voiceprints, rows: ranges, matrix });
        let mut groups = self.lock();
        groups.insert(group_id, loaded.clone(), self.budget_bytes);
        self.metrics.cache_bytes.set(groups.bytes as i64);
        Ok(loaded)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CachedGroups> {
        self.groups.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(index: usize) -> Vec<f32> {
        let mut v = vec![0.0; EMBEDDING_DIM];
        v[index] = 1.0;
        v
    }

    #[test]
    fn score_is_monotonic_bounded_and_centred_on_the_threshold() {
        assert_eq!(calibrated_score(CALIBRATION_CENTRE), RECOMMENDED_THRESHOLD);
        let mut last = -1.0;
        for step in -100..=100 {
            let score = calibrated_score(evidence(step as f32 / 100.0, 0.4));
            assert!((0.0..=100.0).contains(&score) && score >= last, "{score} after {last}");
            last = score;
        }
        assert!(evidence(0.9, 0.3) > evidence(0.9, 0.8), "a probe like everyone proves less");
    }

    /// A group of voiceprints 1 and 2 whose condition sets are these rows of `rows`.
    fn two_voiceprints(sets: [std::ops::Range<usize>; 2], rows: &[Vec<f32>]) -> GroupMatrix {
        let label = |id, name: &str| VoiceprintLabel { id, name: name.into(), description: String::new() };
        let voiceprints = vec![label(1, "a"), label(2, "b")];
        GroupMatrix { version: 1, voiceprints, rows: sets.to_vec(), matrix: rows.concat() }
    }

    #[test]
    fn a_voiceprint_is_scored_by_its_nearest_condition() {
        // 1: a set whose second row is the probe's direction; 2: one embedding.
        let matrix = two_voiceprints([0..2, 2..3], &[unit(0), unit(1), unit(2)]);
        let ranked = matrix.rank(&unit(1));
        assert_eq!(ranked[0].voiceprint.id, 1);
        assert!(ranked[0].score > ranked[1].score);
    }

    #[test]
    fn the_ranking_follows_the_evidence_where_rounded_scores_tie() {
        // Both far above the threshold (rounded scores 100), the second voiceprint nearer.
        let near: Vec<f32> = unit(1).iter().zip(unit(0)).map(|(a, b)| 0.99 * a + 0.14 * b).collect();
        let matrix = two_voiceprints([0..1, 1..2], &[near, unit(1)]);
        let ranked = matrix.rank(&unit(1));
        assert_eq!(ranked[0].score, ranked[1].score, "both saturate");
        assert_eq!(ranked[0].voiceprint.id, 2, "the nearer one first, not the lower ID");
    }

    #[test]
    fn condition_sets_fall_back_to_the_first_row() {
        let clean = Embedding([0.5; EMBEDDING_DIM]);
        let other = Embedding([0.25; EMBEDDING_DIM]);
        let set = condition_set(vec![Ok(clean.clone()), Err(EngineError::NotEnoughSpeech { seconds: 0.5 }), Ok(other)])
            .unwrap();
        assert_eq!(set.len(), 3 * EMBEDDING_DIM);
        assert_eq!(&set[EMBEDDING_DIM..2 * EMBEDDING_DIM], clean.as_slice());
        assert!(condition_set(vec![Err(EngineError::NotEnoughSpeech { seconds: 0.5 })]).is_err());
    }

    #[test]
    fn stored_rows_prefer_a_complete_condition_set() {
        let one = embedding_to_bytes(&unit(3));
        let set = embedding_to_bytes(&unit(4).repeat(CONDITION_ROWS));
        assert_eq!(scoring_rows(&one, Some(&set)), Some(&set[..]));
        assert_eq!(scoring_rows(&one, Some(&set[4..])), Some(&one[..]), "a damaged set is not used");
        assert_eq!(scoring_rows(&one, None), Some(&one[..]));
        assert_eq!(scoring_rows(&one[1..], None), None);
        assert_eq!(floats_from_bytes(&one).collect::<Vec<_>>(), unit(3));
    }

    #[test]
    fn several_recordings_are_scored_from_their_centroid() {
        let set = |rows: &[Vec<f32>]| embedding_to_bytes(&rows.concat());
        let (a, b) = (unit(0).repeat(CONDITION_ROWS), unit(1).repeat(CONDITION_ROWS));
        let (a, b) = (set(&[a]), set(&[b]));
        let one = voiceprint_rows(&[(&[], &a)]).unwrap();
        assert_eq!(one, floats_from_bytes(&a).collect::<Vec<_>>(), "one recording is used as stored");
        let two = voiceprint_rows(&[(&[], &a), (&[], &b)]).unwrap();
        assert_eq!(two.len(), CONDITION_ROWS * EMBEDDING_DIM, "one row per condition, not one per recording");
        // The mean (0.5, 0.5) has length 1/√2; it is lengthened by (1/√2)^-0.75, not up to 1.
        let lengthened = 0.5 * std::f32::consts::FRAC_1_SQRT_2.powf(-CENTROID_LENGTHENING);
        assert!((two[0] - lengthened).abs() < 1e-6 && (two[1] - lengthened).abs() < 1e-6, "{:?}", &two[..2]);
        assert!(lengthened > 0.5 && lengthened < std::f32::consts::FRAC_1_SQRT_2);
        // A recording without a condition set (stored before them): the clean embeddings alone.
        let single = embedding_to_bytes(&unit(1));
        let mixed = voiceprint_rows(&[(&[], &a), (&single, &[])]).unwrap();
        assert_eq!(mixed.len(), EMBEDDING_DIM);
        assert!((mixed[0] - lengthened).abs() < 1e-6 && (mixed[1] - lengthened).abs() < 1e-6);
        assert!(voiceprint_rows(&[(&[1, 2], &[])]).is_none(), "nothing usable");
    }

    #[test]
    fn the_cache_keeps_to_its_memory_budget_dropping_the_least_recently_used() {
        let matrix = |voiceprints: usize| {
            let rows: Vec<Vec<f32>> = (0..voiceprints).map(unit).collect();
            Arc::new(GroupMatrix {
                version: 1,
                voiceprints: (0..voiceprints as i64)
                    .map(|id| VoiceprintLabel { id, name: String::new(), description: String::new() })
                    .collect(),
                rows: (0..voiceprints).map(|i| i..i + 1).collect(),
                matrix: rows.concat(),
            })
        };
        let (small, large) = (matrix(2), matrix(20));
        assert!(large.bytes() > 20 * EMBEDDING_DIM * 4, "the rows are counted");
        let budget = 2 * small.bytes() + small.bytes() / 2;
        let mut groups = CachedGroups::default();
        groups.insert(1, small.clone(), budget);
        groups.insert(2, small.clone(), budget);
        assert!(groups.get(1, 1).is_some(), "cached");
        assert!(groups.get(1, 2).is_none(), "another version is not served");
        groups.insert(3, small.clone(), budget);
        // Three do not fit: 2, used least recently, is dropped; 1 was just used.
        assert!(groups.get(2, 1).is_none());
        assert!(groups.get(1, 1).is_some() && groups.get(3, 1).is_some());
        assert_eq!(groups.bytes, 2 * small.bytes());
        // A group larger than the whole budget is not cached and drops nothing.
        groups.insert(4, large.clone(), budget);
        assert!(groups.get(4, 1).is_none());
        assert_eq!(groups.entries.len(), 2);
        // Replacing an entry counts its bytes once.
        groups.insert(1, small.clone(), budget);
        assert_eq!(groups.bytes, 2 * small.bytes());
        assert!(groups.bytes <= budget);
    }

    #[test]
    fn the_built_in_cohort_is_whole() {
        assert!(!COHORT.is_empty());
        assert_eq!(COHORT.len() % (CONDITION_ROWS * EMBEDDING_DIM), 0);
    }
}
