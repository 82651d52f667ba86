//! `voxprint migrate-data`: copies an embedded deployment (SQLite + audio directory) into
//! PostgreSQL and, with `--blob-store`, its audio into another blob store — every row with its
//! ID, every audio file byte-exact — then verifies both sides row by row and file by file.
//!
//! Idempotent: rows already on the target are kept (never overwritten) and audio already there
//! with the right checksum is not uploaded again, so an interrupted run is finished by running
//! it again. Stop the servers on the source first; the target's servers may start afterwards.
//!
//! An encrypted source is copied as it is stored, data keys included, so the copy is encrypted
//! under the same master key; the key is needed only to verify the audio's checksums.

use anyhow::{bail, ensure, Context};
use sha2::{Digest, Sha256};

use crate::storage::check::read_verified;
use crate::storage::blobs::BlobStore;
use crate::cli::MigrateDataArgs;
use crate::storage::redact_password;
use crate::storage::database::transfer::{Row, Table, Value, TABLES};
use crate::storage::database::{Store, SQLITE_FILE};

pub async fn run(args: &MigrateDataArgs) -> anyhow::Result<()> {
    ensure!(
        args.from.join(SQLITE_FILE).is_file(),
        "{} holds no Voxprint database ({SQLITE_FILE}); --from takes the data directory of an embedded deployment",
        args.from.display()
    );
    // The target first: a URL that is not PostgreSQL's is refused before anything is opened.
    let target = Store::open(&args.from, Some(&args.to), 4)
        .await
        .with_context(|| format!("cannot open --to {}", redact_password(&args.to)))?;
    let source = Store::open_sqlite(&args.from).await.with_context(|| format!("cannot open {}", args.from.display()))?;
    ensure!(
        args.encryption_key_file.is_none() || !source.data_keys().await?.is_empty(),
        "{} is not encrypted: copy it without --encryption-key-file, then encrypt the copy with `voxprint admin rotate-key`",
        args.from.display()
    );
    let keyring = crate::storage::unlock(&source, args.encryption_key_file.as_deref())
        .await
        .with_context(|| format!("cannot open the encrypted source {}", args.from.display()))?;

    for table in TABLES {
        let rows = source.read_table(table).await?;
        let inserted = target.insert_missing_rows(table, &rows).await?;
        let checksum = verify_rows(table, &rows, &target.read_table(table).await?)?;
        println!("{:<18} {:>6} rows, {:>6} copied now, sha256 {}", table.name, rows.len(), inserted, &checksum[..16]);
    }

    let source_blobs = BlobStore::directory(args.from.join("blobs")).with_keyring(keyring.clone());
    let records = source.audio_records().await?;
    let audio: Vec<(&str, &[u8])> = records
        .iter()
        .filter(|record| !record.audio_key.is_empty()) // not retained
        .map(|record| (record.audio_key.as_str(), record.audio_sha256.as_slice()))
        .collect();
    match &args.blob_store {
        Some(spec) => {
            let target_blobs = BlobStore::open(Some(spec), &args.from).await?.with_keyring(keyring);
            let copied = copy_audio(&source_blobs, &target_blobs, &audio).await?;
            println!("audio              {:>6} files, {:>6} copied now, every checksum verified on the target", audio.len(), copied);
        }
        None => {
            for (key, sha) in &audio {
                read_verified(&source_blobs, key, sha).await?;
            }
            println!(
                "audio              {:>6} files verified in place; not copied (no --blob-store): serve with --blob-store {}",
                audio.len(),
                args.from.join("blobs").display()
            );
        }
    }
    println!("migration verified: the target holds every row and audio file of {}", args.from.display());
    Ok(())
}

/// Every source row must be on the target, identical (same key, same values). Returns the
/// SHA-256 of the source rows, which then is also that of their copies.
fn verify_rows(table: &Table, source: &[Row], target: &[Row]) -> anyhow::Result<String> {
    let on_target: std::collections::HashMap<&Value, &Row> = target.iter().map(|row| (&row[0], row)).collect();
    let mut checksum = Sha256::new();
    for row in source {
        match on_target.get(&row[0]) {
            None => bail!("{}: row {:?} is missing on the target after copying", table.name, row[0]),
            Some(copy) if *copy != row => bail!(
                "{}: row {:?} differs on the target; it held other data before the migration (migrate into an empty database)",
                table.name,
                row[0]
            ),
            Some(_) => hash_row(&mut checksum, row),
        }
    }
    Ok(hex::encode(checksum.finalize()))
}

/// A length-prefixed encoding of every value, so different rows never hash alike by accident.
fn hash_row(checksum: &mut Sha256, row: &Row) {
    for value in row {
        let (tag, bytes): (u8, Vec<u8>) = match value {
            Value::Int(None) => (0, Vec::new()),
            Value::Int(Some(int)) => (1, int.to_le_bytes().to_vec()),
            Value::Text(text) => (2, text.as_bytes().to_vec()),
            Value::Blob(blob) => (3, blob.clone()),
        };
        checksum.update([tag]);
        checksum.update((bytes.len() as u64).to_le_bytes());
        checksum.update(&bytes);
    }
}

/// Uploads each audio file the target lacks (or holds damaged), as stored (sealed or not), then
/// reads every one back from the target and checks it against the voiceprint's checksum.
/// Returns how many were uploaded.
async fn copy_audio(source: &BlobStore, target: &BlobStore, audio: &[(&str, &[u8])]) -> anyhow::Result<usize> {
    let mut copied = 0;
    for (key, sha) in audio {
        if read_verified(target, key, sha).await.is_err() {
            read_verified(source, key, sha).await?;
            let stored = source.get_stored(key).await.with_context(|| format!("cannot read audio {key}"))?;
            target.put_stored(key, stored).await.with_context(|| format!("cannot store audio {key} on the target"))?;
            copied += 1;
        }
        read_verified(target, key, sha).await.context("after copying")?;
    }
    Ok(copied)
}
