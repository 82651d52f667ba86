//! Keeping biometric data no longer than needed: what the retention sweeps of `storage::sweep`
//! remove (recordings after `--audio-retention-days`, audit entries after
//! `--audit-retention-days`) and the erasure of a user or a voiceprint (`voxprint admin
//! erase-user`, `erase-voiceprint`).
//!
//! Rows go first, blobs second, as everywhere else: once a row no longer names a blob, nothing
//! serves it, and a blob left behind by a crash is an orphan that the orphan sweep removes.

use crate::storage::blobs::BlobStore;
use crate::storage::database::{now_seconds, AuditEntry, Store, StoreError};
use crate::storage::id_generator::IdGenerator;

const DAY_SECONDS: i64 = 86_400;

/// Deletes the recordings uploaded more than `days` days ago, keeping their embeddings;
/// returns how many.
pub async fn expire_audio(store: &Store, blobs: &BlobStore, days: u32) -> anyhow::Result<usize> {
    let keys = store.expire_audio(now_seconds() - i64::from(days) * DAY_SECONDS).await?;
    blobs.delete_all_logged(&keys).await;
    Ok(keys.len())
}

/// Deletes the audit entries written more than `days` days ago; returns how many.
pub async fn expire_audit(store: &Store, days: u32) -> anyhow::Result<u64> {
    Ok(store.forget_audit_before(now_seconds() - i64::from(days) * DAY_SECONDS).await?)
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
