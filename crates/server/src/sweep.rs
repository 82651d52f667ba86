//! Removes audio that no voiceprint points at.
//!
//! An upload writes its blob before the row that refers to it, so a process killed between the
//! two leaves a blob without a row (never a row without its audio). At start, blobs older than
//! the grace period and unknown to the database are deleted. The grace period protects uploads
//! in flight in other processes sharing the storage: their blob exists before their row.

use std::time::{Duration, SystemTime};

use crate::blobs::BlobStore;
use crate::store::Store;

pub async fn remove_orphan_audio(store: &Store, blobs: &BlobStore, grace: Duration) -> anyhow::Result<usize> {
    // Blobs first, rows second: a row committed in between is then seen, never its blob missed.
    let stored = blobs.list().await?;
    let referenced: std::collections::HashSet<String> =
        store.audio_records().await?.into_iter().map(|record| record.audio_key).collect();
    let cutoff = SystemTime::now() - grace;
    let orphans: Vec<String> = stored
        .into_iter()
        .filter(|(key, modified)| !referenced.contains(key) && *modified <= cutoff)
        .map(|(key, _)| key)
        .collect();
    for key in &orphans {
        blobs.delete(key).await?;
    }
    Ok(orphans.len())
}
