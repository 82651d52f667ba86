//! The storage check (`voxprint admin check`, and the last step of `migrate-data`): every
//! voiceprint has its whole audio and a complete embedding, and every stored audio file belongs
//! to a voiceprint.

use std::collections::HashSet;

use sha2::{Digest, Sha256};

use crate::blobs::BlobStore;
use crate::speakers::EMBEDDING_DIM;
use crate::store::Store;

pub struct Report {
    pub voiceprints: usize,
    pub audio_files: usize,
    /// One line per voiceprint whose audio is missing or damaged or whose embedding is short.
    pub damaged: Vec<String>,
    /// Stored audio no voiceprint refers to (a crash leaves these; the start-up sweep removes
    /// them once older than `--orphan-audio-grace`).
    pub orphans: Vec<String>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.damaged.is_empty() && self.orphans.is_empty()
    }
}

/// Reads every voiceprint's audio back and compares it with the checksum stored beside it.
pub async fn check(store: &Store, blobs: &BlobStore) -> anyhow::Result<Report> {
    // Blobs first, rows second, as in the sweep: a voiceprint committed in between is then
    // seen, never reported as an orphan.
    let stored = blobs.list().await?;
    let records = store.audio_records().await?;
    let mut damaged = Vec::new();
    for record in &records {
        let problem = match blobs.get(&record.audio_key).await {
            Err(err) => Some(format!("audio {} unreadable: {err}", record.audio_key)),
            Ok(bytes) if Sha256::digest(&bytes).as_slice() != record.audio_sha256 => {
                Some(format!("audio {} does not match its checksum", record.audio_key))
            }
            Ok(_) if record.embedding_bytes != (EMBEDDING_DIM * 4) as i64 => {
                Some(format!("embedding has {} bytes, not {}", record.embedding_bytes, EMBEDDING_DIM * 4))
            }
            Ok(_) => None,
        };
        if let Some(problem) = problem {
            damaged.push(format!("voiceprint {}: {problem}", record.id));
        }
    }
    let referenced: HashSet<&str> = records.iter().map(|record| record.audio_key.as_str()).collect();
    let orphans = stored.iter().filter(|(key, _)| !referenced.contains(key.as_str())).map(|(key, _)| key.clone()).collect();
    Ok(Report { voiceprints: records.len(), audio_files: stored.len(), damaged, orphans })
}
