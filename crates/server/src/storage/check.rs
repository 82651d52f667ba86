//! The storage check (`voxprint admin check`): every recording of every voiceprint has its whole
//! audio and a complete embedding, every stored audio file belongs to a recording and, with
//! encryption at rest, every recording is stored sealed. Its pieces also serve the orphan sweep
//! at start and `migrate-data`.

use std::collections::HashSet;
use std::time::SystemTime;

use anyhow::{ensure, Context};
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::storage::blobs::BlobStore;
use crate::storage::encryption::sealed_with;
use crate::speaker::scoring::EMBEDDING_DIM;
use crate::storage::database::{AudioRecord, Store};

/// The stored audio and the voiceprints' records of it, read blobs first and rows second: a
/// voiceprint committed in between is then seen, and its blob never taken for an orphan.
pub struct Inventory {
    pub records: Vec<AudioRecord>,
    /// Every stored blob with its last modification time.
    pub stored: Vec<(String, SystemTime)>,
}

impl Inventory {
    pub async fn take(store: &Store, blobs: &BlobStore) -> anyhow::Result<Inventory> {
        let stored = blobs.list().await?;
        let records = store.audio_records().await?;
        Ok(Inventory { records, stored })
    }

    /// Stored audio no voiceprint refers to (a crash leaves these; so, for a moment, does an
    /// upload in flight), with its last modification time.
    pub fn orphans(&self) -> impl Iterator<Item = &(String, SystemTime)> {
        let referenced: HashSet<&str> = self.records.iter().map(|record| record.audio_key.as_str()).collect();
        self.stored.iter().filter(move |(key, _)| !referenced.contains(key.as_str()))
    }
}

/// The audio under `key`, checked against the SHA-256 its voiceprint stores.
pub async fn read_verified(blobs: &BlobStore, key: &str, sha256: &[u8]) -> anyhow::Result<Bytes> {
    let stored = blobs.get_stored(key).await.with_context(|| format!("cannot read audio {key}"))?;
    verify_stored(blobs, key, stored, sha256)
}

/// `stored`, the bytes under `key`, opened and checked against the SHA-256 of the recording.
pub fn verify_stored(blobs: &BlobStore, key: &str, stored: Bytes, sha256: &[u8]) -> anyhow::Result<Bytes> {
    let bytes = blobs.open_stored(key, stored).with_context(|| format!("cannot read audio {key}"))?;
    ensure!(Sha256::digest(&bytes).as_slice() == sha256, "audio {key} does not match its voiceprint's checksum");
    Ok(bytes)
}

pub struct Report {
    pub voiceprints: usize,
    /// Every voiceprint's recordings: its primary one and its further samples.
    pub recordings: usize,
    pub audio_files: usize,
    /// Recordings whose audio the retention deleted (their embeddings stay).
    pub not_retained: usize,
    /// One line per recording whose audio is missing or damaged or whose embedding is short.
    pub damaged: Vec<String>,
    /// Stored audio no voiceprint refers to (the orphan sweep removes these once older than
    /// `--orphan-audio-grace`).
    pub orphans: Vec<String>,
    /// With encryption at rest: recordings whose audio or embedding is stored unencrypted
    /// (from before encryption was turned on; `rotate-key` seals them).
    pub unencrypted: Vec<String>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.damaged.is_empty() && self.orphans.is_empty() && self.unencrypted.is_empty()
    }
}

/// Reads every recording back, opens it and compares it with the checksum stored beside it.
pub async fn check(store: &Store, blobs: &BlobStore) -> anyhow::Result<Report> {
    let inventory = Inventory::take(store, blobs).await?;
    let mut damaged = Vec::new();
    let mut unencrypted = Vec::new();
    let mut not_retained = 0;
    for record in &inventory.records {
        let name = format!("{} {}", record.kind, record.id);
        let mut sealed = [&record.embedding, &record.conditions].map(|value| sealed_with(value).is_some()).to_vec();
        let audio = if record.audio_key.is_empty() {
            not_retained += 1;
            Ok(())
        } else {
            match blobs.get_stored(&record.audio_key).await {
                Ok(stored) => {
                    sealed.push(sealed_with(&stored).is_some());
                    verify_stored(blobs, &record.audio_key, stored, &record.audio_sha256).map(drop)
                }
                Err(err) => Err(anyhow::Error::new(err).context(format!("cannot read audio {}", record.audio_key))),
            }
        };
        let problem = audio.and_then(|()| {
            let embedding = store.unseal("embedding", record.sample_id, &record.embedding)?;
            store.unseal("conditions", record.sample_id, &record.conditions)?;
            ensure!(
                embedding.len() == EMBEDDING_DIM * 4,
                "embedding has {} bytes, not {}",
                embedding.len(),
                EMBEDDING_DIM * 4
            );
            Ok(())
        });
        if let Err(problem) = problem {
            damaged.push(format!("{name}: {problem:#}"));
        }
        if store.keyring().is_some() && sealed.contains(&false) {
            unencrypted.push(name);
        }
    }
    let orphans = inventory.orphans().map(|(key, _)| key.clone()).collect();
    let voiceprints = inventory.records.iter().filter(|record| record.kind == "voiceprint").count();
    Ok(Report {
        voiceprints,
        recordings: inventory.records.len(),
        audio_files: inventory.stored.len(),
        not_retained,
        damaged,
        orphans,
        unencrypted,
    })
}
