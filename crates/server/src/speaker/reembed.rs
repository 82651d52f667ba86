//! Brings every voiceprint up to the current scoring version from its stored audio, each of its
//! recordings (samples) in turn (`voxprint admin reembed`, and `serve` in the background at
//! start).
//!
//! A voiceprint stored by an older version (or by an instance that predates condition sets)
//! has only its single embedding; scoring still uses it, less robustly, until this has run.
//! Each refresh is written only if the voiceprint still has the recording that was read, so a
//! concurrent replacement or deletion is never undone. Running it again is safe: voiceprints
//! already current are not read.

use bytes::Bytes;
use voxprint_audio::RawPcm;

use crate::storage::check::read_verified;
use crate::storage::blobs::BlobStore;
use crate::speaker::workers::{EmbedFailure, Embedded, Embedder, Purpose};
use crate::speaker::recording::raw_pcm_of;
use crate::speaker::scoring::{embedding_to_bytes, SCORING_VERSION};
use crate::storage::database::Store;

#[derive(Debug, Default)]
pub struct Outcome {
    /// Recordings brought up to date.
    pub refreshed: usize,
    /// Recordings replaced or deleted while being refreshed: their newer data stands.
    pub superseded: usize,
    /// One line per recording that could not be refreshed (audio missing, not retained, damaged
    /// or no longer embeddable); they keep being scored as before.
    pub failed: Vec<String>,
}

pub async fn run(store: &Store, blobs: &BlobStore, embedder: &Embedder) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::default();
    for stale in store.stale_voiceprints(SCORING_VERSION).await? {
        if stale.audio_key.is_empty() {
            outcome.failed.push(format!(
                "{} {}: recording not retained (--audio-retention-days); re-enroll it to bring it up to date",
                stale.kind, stale.id
            ));
            continue;
        }
        let audio = match read_verified(blobs, &stale.audio_key, &stale.audio_sha256).await {
            Ok(audio) => audio,
            Err(err) => {
                outcome.failed.push(format!("{} {}: {err:#}", stale.kind, stale.id));
                continue;
            }
        };
        let embedded = match embed_when_free(embedder, audio, raw_pcm_of(&stale.audio_content_type)).await {
            Ok(embedded) => embedded,
            Err(err) => {
                outcome.failed.push(format!("{} {}: cannot embed its audio: {err:?}", stale.kind, stale.id));
                continue;
            }
        };
        let written = store
            .refresh_scoring(
                &stale,
                &embedding_to_bytes(&embedded.embedding),
                &embedding_to_bytes(&embedded.conditions),
                SCORING_VERSION,
            )
            .await?;
        if written {
            outcome.refreshed += 1;
        } else {
            outcome.superseded += 1;
        }
    }
    Ok(outcome)
}

/// Embeds for an enrollment, waiting while the workers are saturated: requests come first.
async fn embed_when_free(embedder: &Embedder, audio: Bytes, raw: RawPcm) -> Result<Embedded, EmbedFailure> {
    loop {
        match embedder.embed(audio.clone(), raw, Purpose::Enrollment).await {
            Err(EmbedFailure::Overloaded) => tokio::time::sleep(std::time::Duration::from_secs(1)).await,
            result => return result,
        }
    }
}
