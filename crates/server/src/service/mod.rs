//! The voiceprint operations behind the API, independent of HTTP: who may see and change which
//! group and voiceprint, and in which order audio and rows are written and undone. The HTTP
//! handlers parse a request into domain types, check the token's permission, call one operation
//! here and shape its result into the API's response type.

pub mod diarize;
pub mod groups;
pub mod identify;
pub mod samples;
pub mod signing;
pub mod stream;
pub mod verify;
pub mod voiceprints;

use std::sync::Arc;

use crate::metrics::Metrics;
use crate::speaker::diarization::{Admission, DiarizationSettings};
use stream::{OpenStreams, StreamSettings};
use crate::speaker::quality_gate::EnrollmentLimits;
use crate::speaker::scoring::EmbeddingCache;
use crate::speaker::workers::Embedder;
use crate::storage::blobs::BlobStore;
use crate::storage::database::{SampleLimits, Store};
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
    /// How many recordings a voiceprint may be made from.
    pub samples: SampleLimits,
    /// speaker_identify's decision threshold on `score` (`--match-threshold`).
    pub match_threshold: f64,
    /// When an enrollment is too poor to accept.
    pub enrollment: EnrollmentLimits,
    pub diarization: DiarizationSettings,
    pub streams: StreamSettings,
}

/// What the operations work with: the storage, the embedding workers and the scoring cache.
#[derive(Clone)]
pub struct Voxprint {
    pub store: Store,
    pub blobs: BlobStore,
    pub ids: Arc<IdGenerator>,
    pub embedder: Embedder,
    pub speakers: Arc<EmbeddingCache>,
    /// Diarizations in progress and waiting.
    pub diarizations: Arc<Admission>,
    /// Live streams open now.
    pub streams: Arc<OpenStreams>,
    pub metrics: Arc<Metrics>,
    pub settings: Arc<Settings>,
}

/// The access rules, without HTTP: on a real embedded store, with an untrained encoder (these
/// operations never embed), so they need no model file.
#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use voxprint_engine::model::format::NamedTensor;
    use voxprint_engine::model::{expected_tensors, Weights};
    use voxprint_engine::Encoder;

    use super::*;
    use crate::domain::{Description, Id, Name, Page};
    use crate::error::ApiError;
    use crate::service::groups::ListFilter;

    async fn voxprint(dir: &std::path::Path, max_groups_per_user: i64) -> Voxprint {
        let tensors: HashMap<String, NamedTensor> = expected_tensors()
            .into_iter()
            .map(|(name, shape)| {
                let data = vec![0.0; shape.iter().product()];
                (name, NamedTensor { shape, data })
            })
            .collect();
        let encoder = Arc::new(Encoder::from_weights(&Weights::from_tensors(tensors).unwrap()));
        let metrics = Arc::new(Metrics::new());
        let store = Store::open_sqlite(dir).await.unwrap();
        Voxprint {
            ids: Arc::new(IdGenerator::new(store.lease_id_node().await.unwrap())),
            store,
            blobs: BlobStore::directory(dir.join("audio")),
            embedder: Embedder::start(encoder, 1, 1, metrics.clone()),
            speakers: Arc::new(EmbeddingCache::new(metrics.clone(), crate::speaker::scoring::DEFAULT_CACHE_BYTES)),
            diarizations: Arc::new(Admission::new(1)),
            streams: Arc::default(),
            metrics,
            settings: Arc::new(Settings {
                max_groups_per_user,
                max_voiceprints_per_group: 10,
                samples: SampleLimits { max_samples: 10, max_speech_millis: 300_000 },
                match_threshold: 50.0,
                enrollment: EnrollmentLimits { min_speech_seconds: 1.2, min_snr_db: 10.0, max_clipping: 0.01 },
                diarization: DiarizationSettings { max_seconds: 60, cluster_threshold: 0.65 },
                streams: StreamSettings {
                    max_streams: 2,
                    max_streams_per_token: 1,
                    idle_timeout: std::time::Duration::from_secs(10),
                    max_duration: std::time::Duration::from_secs(60),
                },
            }),
        }
    }

    async fn user_of(voxprint: &Voxprint, team_id: i64, name: &str) -> Actor {
        let user_id = voxprint.store.create_user(&voxprint.ids, team_id, name, name, "").await.unwrap();
        Actor { user_id, team_id }
    }

    fn name(text: &str) -> Name {
        Name::parse(text).unwrap()
    }

    fn page() -> Page {
        Page::parse(None, None).unwrap()
    }

    #[tokio::test]
    async fn only_the_creator_changes_a_group_and_other_teams_never_see_it() {
        let dir = tempfile::tempdir().unwrap();
        let voxprint = voxprint(dir.path(), 10).await;
        let (team, other_team) = (
            voxprint.store.create_team(&voxprint.ids, "t").await.unwrap(),
            voxprint.store.create_team(&voxprint.ids, "u").await.unwrap(),
        );
        let (alice, bob, carol) = (
            user_of(&voxprint, team, "alice").await,
            user_of(&voxprint, team, "bob").await,
            user_of(&voxprint, other_team, "carol").await,
        );
        let group = voxprint.create_group(alice, &name("door"), &Description::parse("").unwrap()).await.unwrap();

        assert!(voxprint.visible_group(bob, group).await.is_ok(), "a team mate sees the group");
        let refused = voxprint.update_group(bob, group, Some(&name("mine")), None).await;
        assert!(matches!(refused, Err(ApiError::Forbidden(msg)) if msg.contains("only the creator")));
        assert!(matches!(voxprint.delete_group(bob, group).await, Err(ApiError::Forbidden(_))));
        for attempt in [
            voxprint.visible_group(carol, group).await.map(drop),
            voxprint.update_group(carol, group, Some(&name("x")), None).await,
            voxprint.delete_group(carol, group).await,
            voxprint.delete_voiceprint(carol, group, Id(1)).await,
        ] {
            assert!(matches!(attempt, Err(ApiError::NotFound(msg)) if msg.contains("voiceprint group")));
        }
        let listed = |actor, only_own| {
            let filter = ListFilter { only_own, group_id: None, name_prefix: None, page: page() };
            let voxprint = voxprint.clone();
            async move { voxprint.list_groups(actor, filter).await.unwrap().1 }
        };
        assert_eq!((listed(bob, false).await, listed(bob, true).await, listed(carol, false).await), (1, 0, 0));

        let missing = voxprint.delete_voiceprint(alice, group, Id(1)).await;
        assert!(matches!(missing, Err(ApiError::NotFound(msg)) if msg.contains("voiceprint 1 not found")));
        voxprint.update_group(alice, group, Some(&name("front door")), None).await.unwrap();
        voxprint.delete_group(alice, group).await.unwrap();
        assert!(matches!(voxprint.visible_group(alice, group).await, Err(ApiError::NotFound(_))));
    }

    #[tokio::test]
    async fn the_group_quota_is_per_user() {
        let dir = tempfile::tempdir().unwrap();
        let voxprint = voxprint(dir.path(), 2).await;
        let team = voxprint.store.create_team(&voxprint.ids, "t").await.unwrap();
        let (alice, bob) = (user_of(&voxprint, team, "alice").await, user_of(&voxprint, team, "bob").await);
        let desc = Description::parse("").unwrap();
        for n in 0..2 {
            voxprint.create_group(alice, &name(&format!("g{n}")), &desc).await.unwrap();
        }
        let over = voxprint.create_group(alice, &name("g2"), &desc).await;
        assert!(matches!(over, Err(ApiError::InvalidParameter(msg)) if msg.contains("at most 2 groups")));
        voxprint.create_group(bob, &name("g0"), &desc).await.unwrap();
    }
}
