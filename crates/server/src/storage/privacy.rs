//! Keeping biometric data no longer than needed: the retention sweeps (recordings after
//! `--audio-retention-days`, audit entries after `--audit-retention-days`) and the erasure of a
//! user or a voiceprint (`voxprint admin erase-user`, `erase-voiceprint`).
//!
//! Rows go first, blobs second, as everywhere else: once a row no longer names a blob, nothing
//! serves it, and a blob left behind by a crash is an orphan that the start-up sweep removes.

use std::time::Duration;

use crate::storage::blobs::BlobStore;
use crate::storage::database::{now_seconds, AuditEntry, Store, StoreError};
use crate::storage::id_generator::IdGenerator;

/// How often a server runs the retention sweeps (also once at start).
const SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

const DAY_SECONDS: i64 = 86_400;

/// Runs the retention sweeps now and then every [`SWEEP_INTERVAL`]. Every instance runs them;
/// they are idempotent.
pub fn spawn_retention_sweeps(store: Store, blobs: BlobStore, audio_days: Option<u32>, audit_days: u32) {
    tokio::spawn(async move {
        loop {
            if let Some(days) = audio_days {
                match expire_audio(&store, &blobs, days).await {
                    Ok(0) => {}
                    Ok(removed) => tracing::info!(removed, days, "deleted recordings past the audio retention"),
                    Err(err) => tracing::warn!(err = format!("{err:#}"), "could not apply the audio retention"),
                }
            }
            if audit_days > 0 {
                let cutoff = now_seconds() - i64::from(audit_days) * DAY_SECONDS;
                match store.forget_audit_before(cutoff).await {
                    Ok(0) => {}
                    Ok(removed) => {
                        tracing::info!(removed, days = audit_days, "deleted audit entries past their retention")
                    }
                    Err(err) => tracing::warn!(%err, "could not apply the audit retention"),
                }
            }
            tokio::time::sleep(SWEEP_INTERVAL).await;
        }
    });
}

/// Deletes the recordings uploaded more than `days` days ago, keeping their embeddings;
/// returns how many.
pub async fn expire_audio(store: &Store, blobs: &BlobStore, days: u32) -> anyhow::Result<usize> {
    let keys = store.expire_audio(now_seconds() - i64::from(days) * DAY_SECONDS).await?;
    blobs.delete_all_logged(&keys).await;
    Ok(keys.len())
}

/// What an erasure removed.
#[derive(Debug, Default)]
pub struct Erased {
    pub groups: usize,
    pub voiceprints: usize,
    /// Recordings (primary and further samples) whose audio and embeddings went.
    pub recordings: usize,
    pub tokens: usize,
}

/// Removes every group the user created (with all its voiceprints), every voiceprint they
/// created elsewhere, with their recordings and embeddings, revokes their tokens and replaces
/// their names; `report` hears one line per thing removed. Run again after an interruption, it
/// removes what is left.
pub async fn erase_user(
    store: &Store,
    blobs: &BlobStore,
    ids: &IdGenerator,
    user_id: i64,
    mut report: impl FnMut(String),
) -> anyhow::Result<Erased> {
    let team_id = store.team_of_user(user_id).await?.ok_or(StoreError::NotFound("user"))?;
    let mut erased = Erased::default();
    for (group_id, voiceprints) in store.groups_created_by(user_id).await? {
        let keys = match store.delete_group(group_id).await {
            Err(StoreError::NotFound(_)) => continue, // deleted meanwhile
            deleted => deleted?,
        };
        blobs.delete_all_logged(&keys).await;
        report(format!("removed group {group_id} with {voiceprints} voiceprints and {} recordings", keys.len()));
        erased.groups += 1;
        erased.voiceprints += voiceprints as usize;
        erased.recordings += keys.len();
    }
    for voiceprint_id in store.voiceprints_created_by(user_id).await? {
        if let Some(recordings) = remove_voiceprint(store, blobs, voiceprint_id).await? {
            report(format!("removed voiceprint {voiceprint_id} and its {recordings} recordings"));
            erased.voiceprints += 1;
            erased.recordings += recordings;
        }
    }
    for token_id in store.retire_user(user_id).await? {
        report(format!("revoked token {token_id}"));
        erased.tokens += 1;
    }
    record_admin(store, ids, Some(team_id), "erase_user", &format!("user={user_id}")).await?;
    Ok(erased)
}

/// Removes one voiceprint with its recordings and embeddings; returns how many recordings.
pub async fn erase_voiceprint(
    store: &Store,
    blobs: &BlobStore,
    ids: &IdGenerator,
    voiceprint_id: i64,
) -> anyhow::Result<usize> {
    let owner = store.voiceprint_owner(voiceprint_id).await?.ok_or(StoreError::NotFound("voiceprint"))?;
    let recordings = remove_voiceprint(store, blobs, voiceprint_id).await?.ok_or(StoreError::NotFound("voiceprint"))?;
    record_admin(store, ids, Some(owner.team_id), "erase_voiceprint", &format!("feature={voiceprint_id}")).await?;
    Ok(recordings)
}

/// Deletes the voiceprint's rows, then its audio; `None` if it was already gone.
async fn remove_voiceprint(store: &Store, blobs: &BlobStore, voiceprint_id: i64) -> anyhow::Result<Option<usize>> {
    let keys = match store.delete_voiceprint(voiceprint_id).await {
        Err(StoreError::NotFound(_)) => return Ok(None),
        deleted => deleted?,
    };
    blobs.delete_all_logged(&keys).await;
    Ok(Some(keys.len()))
}

/// The audit entry of something `voxprint admin` did (client `cli`, no user or token). For an
/// erasure it holds only that it happened and whom it concerned.
pub async fn record_admin(
    store: &Store,
    ids: &IdGenerator,
    team_id: Option<i64>,
    action: &str,
    resources: &str,
) -> anyhow::Result<()> {
    let entry = AuditEntry {
        at: now_seconds(),
        team_id,
        user_id: None,
        token_id: None,
        action: action.to_owned(),
        resources: resources.to_owned(),
        code: 0,
        logid: String::new(),
        client: "cli".to_owned(),
    };
    store.append_audit(ids, &entry).await?;
    Ok(())
}
