//! The voiceprint operations behind the API, independent of HTTP: who may see and change which
//! group and voiceprint, and in which order audio and rows are written and undone. The HTTP
//! handlers parse a request into domain types, check the token's permission, call one operation
//! here and shape its result into the API's response type.

pub mod groups;
pub mod identify;
pub mod signing;
pub mod voiceprints;

use std::sync::Arc;

use crate::metrics::Metrics;
use crate::speaker::quality_gate::EnrollmentLimits;
use crate::speaker::scoring::EmbeddingCache;
use crate::speaker::workers::Embedder;
use crate::storage::blobs::BlobStore;
use crate::storage::database::Store;
use crate::storage::id_generator::IdGenerator;

/// Who is acting: a user of a team, whose token the HTTP layer has checked for the permission.
#[derive(Debug, Clone, Copy)]
pub struct Actor {
    pub user_id: i64,
    pub team_id: i64,
}

/// Rules fixed at start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_groups_per_user: i64,
    pub max_voiceprints_per_group: i64,
    /// speaker_identify's decision threshold on `score` (`--match-threshold`).
    pub match_threshold: f64,
    /// When an enrollment is too poor to accept.
    pub enrollment: EnrollmentLimits,
}

/// What the operations work with: the storage, the embedding workers and the scoring cache.
#[derive(Clone)]
pub struct Voxprint {
    pub store: Store,
    pub blobs: BlobStore,
    pub ids: Arc<IdGenerator>,
    pub embedder: Embedder,
    pub speakers: Arc<EmbeddingCache>,
    pub metrics: Arc<Metrics>,
    pub settings: Arc<Settings>,
}
