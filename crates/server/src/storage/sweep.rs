//! The background sweeps every server runs at start and then every [`SWEEP_INTERVAL`]: audio no
//! voiceprint points at, and the retention of recordings and audit entries. Every instance
//! sharing the storage runs them; they are idempotent.
//!
//! An upload writes its blob before the row that refers to it, and a deletion removes the row
//! before the blob, so a process killed in between leaves a blob without a row (never a row
//! without its audio). Such blobs are deleted once older than the grace period, which protects
//! uploads in flight in other processes sharing the storage: their blob exists before their row.
//! The sweep repeats rather than running only at start because the instance that crashed is
//! usually back within the grace period, when its orphans are still too young to go.

use std::time::{Duration, SystemTime};

use crate::storage::blobs::BlobStore;
use crate::storage::check::Inventory;
use crate::storage::database::Store;
use crate::storage::privacy::{expire_audio, expire_audit};

/// How often a server runs the sweeps (also once at start).
const SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// What the sweeps remove, from the server's settings.
pub struct Sweeps {
    /// `--orphan-audio-grace`.
    pub orphan_grace: Duration,
    /// `--audio-retention-days` (none: keep recordings).
    pub audio_retention_days: Option<u32>,
    /// `--audit-retention-days` (0: keep entries).
    pub audit_retention_days: u32,
}

/// Runs the sweeps now, in the background so that a large store does not delay the start, and
/// then every [`SWEEP_INTERVAL`]. A failed sweep is logged and tried again next time.
pub fn spawn(store: Store, blobs: BlobStore, sweeps: Sweeps) {
    tokio::spawn(async move {
        loop {
            match remove_orphan_audio(&store, &blobs, sweeps.orphan_grace).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "deleted audio files no voiceprint refers to"),
                Err(err) => tracing::warn!(err = format!("{err:#}"), "could not sweep orphan audio files"),
            }
            if let Some(days) = sweeps.audio_retention_days {
                match expire_audio(&store, &blobs, days).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, days, "deleted recordings past the audio retention"),
                    Err(err) => tracing::warn!(err = format!("{err:#}"), "could not apply the audio retention"),
                }
            }
            if sweeps.audit_retention_days > 0 {
                let days = sweeps.audit_retention_days;
                match expire_audit(&store, days).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, days, "deleted audit entries past their retention"),
                    Err(err) => tracing::warn!(err = format!("{err:#}"), "could not apply the audit retention"),
                }
            }
            tokio::time::sleep(SWEEP_INTERVAL).await;
        }
    });
}

/// Deletes the stored audio that no recording refers to and that is older than `grace`;
/// returns how many files.
async fn remove_orphan_audio(store: &Store, blobs: &BlobStore, grace: Duration) -> anyhow::Result<usize> {
    let inventory = Inventory::take(store, blobs).await?;
    let cutoff = SystemTime::now() - grace;
    let orphans: Vec<&str> =
        inventory.orphans().filter(|(_, modified)| *modified <= cutoff).map(|(key, _)| key.as_str()).collect();
    for key in &orphans {
        blobs.delete(key).await?;
    }
    Ok(orphans.len())
}
