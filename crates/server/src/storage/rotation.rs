//! `voxprint admin rotate-key`: re-encrypts every recording and embedding under a new master
//! key, while servers keep serving, and can be run again to finish after an interruption.
//!
//! 1. A new data key is made, wrapped under the new master key and under the current one, and
//!    every existing data key is wrapped under the new master key too. From here on a server
//!    holding either master key opens everything.
//! 2. It waits `ROTATION_WAIT` (25 s) after the new key was stored. Every process that seals
//!    (servers, `admin reembed`) rereads the data keys every 5 s and refuses to seal once its
//!    last reread is 15 s old, so from then on every new value is sealed with the new data key,
//!    and the values sealed with an older one just before have had 10 s to reach the storage.
//! 3. Every embedding, condition set and audio blob not sealed with the new data key (sealed
//!    with an older one, or stored unencrypted) is opened and sealed again; passes repeat until
//!    one finds nothing left.
//! 4. The old data keys and the new key's wrapping under the old master key are removed: only
//!    the new master key opens the storage now, and servers started with the old one are refused.
//!
//! The state is the `data_keys` table itself, so a second run with the same key files resumes at
//! step 2 (its step 1 finds the new data key already there) or finds the rotation complete.
//! With the same key file as current and new, it seals what is still unencrypted.
//!
//! Not covered: a value sealed with an old data key that takes longer than those 10 s to be
//! stored (a process frozen between sealing a recording and writing its row) and lands after
//! step 4 would not open. The passes of step 3 re-seal whatever appears before, and the rotation
//! gives up rather than retire a key while such values keep appearing.

use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;

use crate::storage::blobs::BlobStore;
use crate::storage::database::{RecordingTable, Store};
use crate::storage::encryption::{embedding_identity, sealed_with, Keyring, MasterKey, WrappedKey, ROTATION_WAIT};

/// What a rotation did.
pub struct Rotation {
    /// The data key everything is sealed with now.
    pub data_key: u32,
    /// Embeddings and condition sets sealed anew, counted by recording.
    pub recordings: usize,
    /// Audio blobs sealed anew.
    pub audio: usize,
}

/// How many recordings one read of the database brings.
const PAGE: i64 = 500;

/// After this many passes still find values sealed with old keys, something keeps writing with
/// them (a server that cannot reread the data keys): give up rather than retire keys in use.
const MAX_PASSES: usize = 5;

/// Runs the rotation (see the module doc). `blobs` is the audio store without a keyring;
/// `progress` hears one line per step.
pub async fn rotate(
    store: &Store,
    blobs: BlobStore,
    current: Option<MasterKey>,
    new: MasterKey,
    progress: impl Fn(String),
) -> anyhow::Result<Rotation> {
    let target = prepare_data_key(store, current.as_ref(), &new).await?;
    let keyring = std::sync::Arc::new(Keyring::new(new));
    keyring.install(&store.data_keys().await?).context("the storage's data keys are damaged")?;
    let new_id = keyring.master().id.clone();
    progress(format!("data key {target} is wrapped under master key {new_id}"));

    // Never longer than the full wait, whatever the clock of the process that stored the key.
    let full_wait = ROTATION_WAIT.as_secs() as i64;
    let created_at = store.data_key_created_at(target).await?.unwrap_or(0);
    let wait = (created_at + full_wait - crate::storage::database::now_seconds()).min(full_wait);
    if wait > 0 {
        progress(format!("waiting {wait} s for running servers to learn the new data key"));
        tokio::time::sleep(Duration::from_secs(wait as u64)).await;
    }

    let store = store.clone().with_keyring(Some(keyring.clone()));
    let blobs = blobs.with_keyring(Some(keyring.clone()));
    let mut total = Rotation { data_key: target, recordings: 0, audio: 0 };
    for pass in 1..=MAX_PASSES {
        let recordings = reseal_recordings(&store, &keyring, target).await?;
        let audio = reseal_audio(&store, &blobs, target).await?;
        progress(format!("pass {pass}: {recordings} embeddings and {audio} audio files sealed with data key {target}"));
        total.recordings += recordings;
        total.audio += audio;
        if recordings + audio == 0 {
            let retired = store.retire_data_keys(target, &new_id).await?;
            progress(format!("retired {retired} old data key wrappings"));
            return Ok(total);
        }
    }
    bail!(
        "values sealed with old data keys keep appearing after {MAX_PASSES} passes: is a server running that cannot reach the database? Run rotate-key again once it is stopped"
    )
}

/// Step 1: the number of the data key to seal everything with, made and wrapped unless a
/// previous run already did.
async fn prepare_data_key(store: &Store, current: Option<&MasterKey>, new: &MasterKey) -> anyhow::Result<u32> {
    let rows = store.data_keys().await?;
    let newest = rows.iter().map(|row| row.number).max();
    if let Some(newest) = newest {
        if rows.iter().any(|row| row.number == newest && row.master_key_id == new.id) {
            return Ok(newest); // made by a previous run (or by a server started with the new key)
        }
    }
    let existing = match current {
        Some(current) => {
            let mine: Vec<&WrappedKey> = rows.iter().filter(|row| row.master_key_id == current.id).collect();
            if mine.is_empty() && !rows.is_empty() {
                bail!(
                    "wrong current key: --encryption-key-file holds master key {}, which wraps none of this storage's data keys",
                    current.id
                );
            }
            mine.into_iter()
                .map(|row| current.unwrap(row.number, &row.wrapped))
                .collect::<anyhow::Result<Vec<_>>>()
                .context("the storage's data keys are damaged")?
        }
        None if rows.is_empty() => Vec::new(),
        None => bail!(
            "the storage is encrypted: give its current key with --encryption-key-file (or VOXPRINT_ENCRYPTION_KEY_FILE)"
        ),
    };
    let (fresh, wrapped) = new.new_data_key(newest.unwrap_or(0) + 1)?;
    let mut additions = vec![WrappedKey { number: fresh.number, master_key_id: new.id.clone(), wrapped }];
    for key in existing.iter().chain(std::iter::once(&fresh)) {
        if let Some(current) = current {
            additions.push(WrappedKey {
                number: key.number,
                master_key_id: current.id.clone(),
                wrapped: current.wrap(key)?,
            });
        }
        additions.push(WrappedKey { number: key.number, master_key_id: new.id.clone(), wrapped: new.wrap(key)? });
    }
    store.add_data_keys(&additions).await?;
    Ok(fresh.number)
}

/// Seals every embedding and condition set anew that is not sealed with `target`; returns how
/// many recordings it changed.
async fn reseal_recordings(store: &Store, keyring: &Keyring, target: u32) -> anyhow::Result<usize> {
    let mut resealed = 0;
    for table in RecordingTable::ALL {
        let mut after = 0;
        loop {
            let page = store.sealed_recordings(table, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            for recording in &page {
                if [&recording.embedding, &recording.conditions].iter().all(|value| sealed_with(value) == Some(target))
                {
                    continue;
                }
                let mut sealed = Vec::new();
                for (what, value) in [("embedding", &recording.embedding), ("conditions", &recording.conditions)] {
                    let identity = embedding_identity(what, recording.sample_id);
                    let plain =
                        keyring.open(&identity, value).with_context(|| format!("{table:?} row {}", recording.id))?;
                    sealed.push(keyring.seal(&identity, &plain)?);
                }
                if store.reseal_recording(table, recording, &sealed[0], &sealed[1]).await? {
                    resealed += 1;
                }
            }
        }
    }
    Ok(resealed)
}

/// Seals every recording's audio anew that is not sealed with `target`; returns how many. A
/// blob deleted meanwhile is skipped (one deleted between the read and the write comes back as
/// an orphan, which the orphan sweep removes).
async fn reseal_audio(store: &Store, blobs: &BlobStore, target: u32) -> anyhow::Result<usize> {
    let mut resealed = 0;
    for record in store.audio_records().await?.into_iter().filter(|record| !record.audio_key.is_empty()) {
        let stored = match blobs.get_stored(&record.audio_key).await {
            Ok(stored) => stored,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(anyhow::Error::new(err).context(format!("cannot read audio {}", record.audio_key))),
        };
        if sealed_with(&stored) == Some(target) {
            continue;
        }
        let plain: Bytes =
            crate::storage::check::verify_stored(blobs, &record.audio_key, stored, &record.audio_sha256)?;
        blobs
            .put(&record.audio_key, plain)
            .await
            .with_context(|| format!("cannot store audio {}", record.audio_key))?;
        resealed += 1;
    }
    Ok(resealed)
}
