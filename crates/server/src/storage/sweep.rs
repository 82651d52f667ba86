//! Removes audio that no voiceprint points at.
//!
//! An upload writes its blob before the row that refers to it, so a process killed between the
//! two leaves a blob without a row (never a row without its audio). At start, blobs older than
//! the grace period and unknown to the database are deleted. The grace period protects uploads
//! in flight in other processes sharing the storage: their blob exists before their row.

use std::time::{Duration, SystemTime};

use crate::storage::check::Inventory;
use crate::storage::blobs::BlobStore;
use crate::storage::database::Store;

pub async fn remove_orphan_audio(store: &Store, blobs: &BlobStore, grace: Duration) -> anyhow::Result<usize> {
    let inventory = Inventory::take(store, blobs).await?;
    let cutoff = SystemTime::now() - grace;
    let orphans: Vec<&str> =
        inventory.orphans().filter(|(_, modified)| *modified <= cutoff).map(|(key, _)| key.as_str()).collect();
    for key in &orphans {
        blobs.delete(key).await?;
    }
    Ok(orphans.len())
}
