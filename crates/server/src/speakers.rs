//! Scoring a probe against a group's voiceprints, with a per-group embedding matrix cache.
//!
//! The cache is checked against the group's `voiceprints_version` (one indexed read) on every
//! identification, so a voiceprint enrolled, replaced or deleted through any process sharing
//! the database is scored — or no longer scored — on the very next request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// The decision threshold on `score` that README.md recommends: a best score below it means
/// "none of the enrolled speakers". Measured in tests/identification_accuracy.rs (keep in step).
pub const RECOMMENDED_THRESHOLD: f64 = 79.0;

/// Dimension of the speaker embeddings.
pub const EMBEDDING_DIM: usize = 256;

/// Groups kept in memory at most; past that an arbitrary one is dropped (it reloads on use).
const MAX_CACHED_GROUPS: usize = 10_000;

/// A group's enrolled voiceprints as one row-major matrix.
pub struct GroupMatrix {
    version: i64,
    pub voiceprints: Vec<VoiceprintLabel>,
    matrix: Vec<f32>,
}

pub struct VoiceprintLabel {
    pub id: i64,
    pub name: String,
    pub description: String,
}

/// A voiceprint's similarity to the probe.
pub struct Match<'a> {
    pub voiceprint: &'a VoiceprintLabel,
    pub score: f64,
}

impl GroupMatrix {
    /// Every voiceprint with its score, best first; ties by ID for a stable order.
    pub fn rank(&self, probe: &[f32]) -> Vec<Match<'_>> {
        let mut matches: Vec<Match<'_>> = self
            .voiceprints
            .iter()
            .zip(self.matrix.chunks_exact(EMBEDDING_DIM))
            .map(|(voiceprint, row)| Match { voiceprint, score: score_from_cosine(dot(row, probe)) })
            .collect();
        matches.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.voiceprint.id.cmp(&b.voiceprint.id)));
        matches
    }
}

/// The API's `score` (0–100) from the cosine similarity of two L2-normalised embeddings:
/// `100 × max(cosine, 0)`, rounded to two decimals. Monotonic, so thresholds on either scale
/// are equivalent; negative similarities (never seen between speech clips) clamp to 0.
pub fn score_from_cosine(cosine: f32) -> f64 {
    let clamped = f64::from(cosine).clamp(0.0, 1.0);
    (clamped * 10_000.0).round() / 100.0
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Embeddings are stored as 256 little-endian f32.
pub fn embedding_to_bytes(embedding: &[f32]) -> Vec<u8> {
    embedding.iter().flat_map(|value| value.to_le_bytes()).collect()
}

fn embedding_from_bytes(bytes: &[u8]) -> Option<impl Iterator<Item = f32> + '_> {
    (bytes.len() == EMBEDDING_DIM * 4)
        .then(|| bytes.chunks_exact(4).map(|chunk| f32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])))
}

pub struct EmbeddingCache {
    groups: Mutex<HashMap<i64, Arc<GroupMatrix>>>,
    metrics: Arc<Metrics>,
}

impl EmbeddingCache {
    pub fn new(metrics: Arc<Metrics>) -> EmbeddingCache {
        EmbeddingCache { groups: Mutex::new(HashMap::new()), metrics }
    }

    /// The group's current matrix: the cached one if its version is still the stored one,
    /// otherwise freshly loaded.
    pub async fn group(&self, store: &Store, group_id: i64) -> Result<Arc<GroupMatrix>, StoreError> {
        let version = store.group_version(group_id).await?.ok_or(StoreError::NotFound("voiceprint group"))?;
        if let Some(cached) = self.lock().get(&group_id) {
            if cached.version == version {
                self.metrics.cache_hits.inc();
                return Ok(cached.clone());
            }
        }
        self.metrics.cache_misses.inc();
        let (version, rows) = store.group_embeddings(group_id).await?;
        let mut voiceprints = Vec::with_capacity(rows.len());
        let mut matrix = Vec::with_capacity(rows.len() * EMBEDDING_DIM);
        for row in rows {
            let Some(values) = embedding_from_bytes(&row.embedding) else {
                tracing::error!(voiceprint = row.id, "stored embedding has the wrong size; skipped");
                continue;
            };
            matrix.extend(values);
            voiceprints.push(VoiceprintLabel { id: row.id, name: row.name, description: row.description });
        }
        let loaded = Arc::new(GroupMatrix { version, voiceprints, matrix });
        let mut groups = self.lock();
        if groups.len() >= MAX_CACHED_GROUPS {
            if let Some(evicted) = groups.keys().next().copied() {
                groups.remove(&evicted);
            }
        }
        groups.insert(group_id, loaded.clone());
        Ok(loaded)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Arc<GroupMatrix>>> {
        self.groups.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_is_monotonic_and_bounded() {
        assert_eq!(score_from_cosine(1.0), 100.0);
        assert_eq!(score_from_cosine(0.8123), 81.23);
        assert_eq!(score_from_cosine(-0.3), 0.0);
        assert_eq!(score_from_cosine(1.2), 100.0);
        assert!(score_from_cosine(0.5) < score_from_cosine(0.51));
    }

    #[test]
    fn ranks_best_first() {
        let mut a = vec![0.0; EMBEDDING_DIM];
        a[0] = 1.0;
        let mut b = vec![0.0; EMBEDDING_DIM];
        b[1] = 1.0;
        let matrix = GroupMatrix {
            version: 1,
            voiceprints: vec![
                VoiceprintLabel { id: 1, name: "a".into(), description: String::new() },
                VoiceprintLabel { id: 2, name: "b".into(), description: String::new() },
            ],
            matrix: [a, b.clone()].concat(),
        };
        let ranked = matrix.rank(&b);
        assert_eq!(ranked[0].voiceprint.id, 2);
        assert_eq!(ranked[0].score, 100.0);
        assert_eq!(ranked[1].score, 0.0);
    }

    #[test]
    fn embedding_bytes_round_trip() {
        let embedding: Vec<f32> = (0..EMBEDDING_DIM).map(|i| i as f32 / 7.0).collect();
        let bytes = embedding_to_bytes(&embedding);
        assert_eq!(embedding_from_bytes(&bytes).unwrap().collect::<Vec<_>>(), embedding);
        assert!(embedding_from_bytes(&bytes[1..]).is_none());
    }
}
