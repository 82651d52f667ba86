//! Readiness (`/readyz`): an instance is ready when its storage accepts writes. A ping passes on
//! a full or read-only disk, so the probe writes: it commits one row to the database and stores,
//! then deletes, a small blob in the audio store. Its outcome is kept for [`PROBE_INTERVAL`], so
//! however often a load balancer polls, the storage sees at most one probe per interval.

use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::Mutex;

use crate::storage::blobs::BlobStore;
use crate::storage::database::Store;

/// How long a probe's outcome is reused.
const PROBE_INTERVAL: Duration = Duration::from_secs(2);

/// How long a probe may take before the storage counts as unavailable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The blob the probe writes and deletes. One fixed key, so a probe cut off between the two
/// leaves at most this blob, which the next probe deletes.
const PROBE_KEY: &str = "readiness/probe";

pub struct Readiness {
    store: Store,
    blobs: BlobStore,
    last: Mutex<Option<Probe>>,
}

struct Probe {
    at: Instant,
    outcome: Result<(), String>,
}

impl Readiness {
    pub fn new(store: Store, blobs: BlobStore) -> Readiness {
        Readiness { store, blobs, last: Mutex::new(None) }
    }

    /// Ok if the storage accepted a write in the last [`PROBE_INTERVAL`] (probing now if no probe
    /// is that recent), otherwise why not. Concurrent callers wait for the one probe under way.
    pub async fn check(&self) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some(probe) = last.as_ref().filter(|probe| probe.at.elapsed() < PROBE_INTERVAL) {
            return probe.outcome.clone();
        }
        let outcome = tokio::time::timeout(PROBE_TIMEOUT, self.probe()).await.unwrap_or_else(|_| {
            Err(format!("the storage did not complete a write within {} s", PROBE_TIMEOUT.as_secs()))
        });
        let was_ready = last.as_ref().map(|probe| probe.outcome.is_ok());
        match &outcome {
            Err(reason) if was_ready != Some(false) => tracing::warn!(%reason, "not ready"),
            Ok(()) if was_ready == Some(false) => tracing::info!("ready again: the storage accepts writes"),
            _ => {}
        }
        *last = Some(Probe { at: Instant::now(), outcome: outcome.clone() });
        outcome
    }

    async fn probe(&self) -> Result<(), String> {
        self.store.probe_write().await.map_err(|err| format!("the database cannot write: {err}"))?;
        let cannot = |err: std::io::Error| format!("the audio store cannot write: {err}");
        self.blobs.put(PROBE_KEY, Bytes::from_static(b"ready")).await.map_err(cannot)?;
        self.blobs.delete(PROBE_KEY).await.map_err(cannot)
    }
}
