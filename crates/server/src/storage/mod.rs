//! Opens what the storage flags name: the database and the audio blob store.

pub mod blobs;
pub mod check;
pub mod database;
pub mod encryption;
pub mod id_generator;
pub mod migrate_data;
pub mod privacy;
pub mod private_files;
pub mod readiness;
pub mod rotation;
pub mod sweep;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use crate::serve::ADMIN_TOKEN_FILE;
use crate::storage::blobs::BlobStore;
use crate::cli::StorageArgs;
use encryption::{Keyring, MasterKey, WrappedKey};
use private_files::PrivateData;
use crate::storage::database::{Store, SQLITE_FILE};

/// The database: PostgreSQL with `--database-url`, else SQLite in the data directory.
/// Migrations are applied on the way. First the data directory, the embedded database and the
/// directory audio store are made private (see `private_files.rs` beside this file).
pub async fn open_store(storage: &StorageArgs) -> anyhow::Result<Store> {
    let url = storage.database_url.as_deref();
    let data_dir = storage.data_dir.clone();
    let database = url.is_none().then(|| data_dir.join(SQLITE_FILE));
    let audio_dir = BlobStore::directory_root(storage.blob_store.as_deref(), &data_dir);
    tokio::task::spawn_blocking(move || {
        let own_files = [SQLITE_FILE, ADMIN_TOKEN_FILE];
        private_files::secure(&PrivateData { data_dir: &data_dir, own_files: &own_files, database, audio_dir })
    })
    .await?
    .with_context(|| format!("cannot make the data directory {} private", storage.data_dir.display()))?;
    Store::open(&storage.data_dir, url, storage.database_connections)
        .await
        .with_context(|| match url {
            Some(url) => format!("cannot open the database {}", redact_password(url)),
            None => format!("cannot open the storage in {}", storage.data_dir.display()),
        })
}

/// The database and the audio store, with the keyring of `--encryption-key-file` when the
/// storage is encrypted (see [`unlock`]): what every command that reads or writes recordings
/// and embeddings opens. For S3, the bucket is checked to be reachable now rather than at the
/// first upload.
pub async fn open_sealed(storage: &StorageArgs) -> anyhow::Result<(Store, BlobStore)> {
    let store = open_store(storage).await?;
    let keyring = unlock(&store, storage.encryption_key_file.as_deref()).await?;
    let blobs = BlobStore::open(storage.blob_store.as_deref(), &storage.data_dir).await?;
    Ok((store.with_keyring(keyring.clone()), blobs.with_keyring(keyring)))
}

/// The keyring of the master key in `key_file`. Refuses a storage that is encrypted when no key
/// is given, and a key that wraps none of the storage's data keys; the first start with a key
/// creates the first data key.
pub async fn unlock(store: &Store, key_file: Option<&Path>) -> anyhow::Result<Option<Arc<Keyring>>> {
    let mut rows = store.data_keys().await?;
    let masters = |rows: &[WrappedKey]| {
        let mut ids: Vec<&str> = rows.iter().map(|row| row.master_key_id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.join(", ")
    };
    let Some(path) = key_file else {
        anyhow::ensure!(
            rows.is_empty(),
            "the storage is encrypted (under master key {}): give its key file with --encryption-key-file or VOXPRINT_ENCRYPTION_KEY_FILE",
            masters(&rows)
        );
        return Ok(None);
    };
    let master = MasterKey::read(path)?;
    if rows.is_empty() {
        store.create_first_data_key(&master).await?;
        rows = store.data_keys().await?;
    }
    anyhow::ensure!(
        rows.iter().any(|row| row.master_key_id == master.id),
        "wrong encryption key: {} holds master key {}, but this storage is encrypted under master key {}",
        path.display(),
        master.id,
        masters(&rows)
    );
    let keyring = Keyring::new(master);
    keyring.install(&rows).context("the storage's data keys are damaged")?;
    Ok(Some(Arc::new(keyring)))
}

/// With encryption at rest: keeps rereading the data keys, now and every `KEY_REFRESH_INTERVAL`,
/// so that this process seals with a key `rotate-key` added; while the rereads fail, it refuses
/// to seal (see `Keyring::seal`) rather than seal with a key a rotation may be retiring. For
/// every process that seals for longer than a moment: servers, `admin reembed`.
pub fn refresh_keys(store: &Store) {
    let Some(keyring) = store.keyring().cloned() else { return };
    let store = store.clone();
    tokio::spawn(async move {
        loop {
            let began = std::time::Instant::now();
            match store.data_keys().await {
                Ok(rows) => {
                    if let Err(err) = keyring.reread(&rows, began) {
                        tracing::warn!(err = format!("{err:#}"), "could not open a new data key");
                    }
                }
                Err(err) => tracing::warn!(%err, "could not reread the data keys"),
            }
            tokio::time::sleep(encryption::KEY_REFRESH_INTERVAL).await;
        }
    });
}

/// The URL with its password replaced, for error messages and logs.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let (authority, path) = rest.split_once('/').map_or((rest, None), |(a, p)| (a, Some(p)));
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    match path {
        Some(path) => format!("{scheme}://{authority}/{path}"),
        None => format!("{scheme}://{authority}"),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_password;

    #[test]
    fn hides_only_the_password() {
        assert_eq!(redact_password("postgres://vp:s3cret@db:5432/voxprint"), "postgres://vp:***@db:5432/voxprint");
        assert_eq!(redact_password("postgres://vp@db/voxprint"), "postgres://vp@db/voxprint");
        assert_eq!(redact_password("postgres://db"), "postgres://db");
        assert_eq!(redact_password("postgres://a:b:c@db/x?sslmode=require"), "postgres://a:***@db/x?sslmode=require");
    }
}
