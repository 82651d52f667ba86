//! Opens what the storage flags name: the database and the audio blob store.

pub mod blobs;
pub mod check;
pub mod database;
pub mod id_generator;
pub mod migrate_data;
pub mod private_files;
pub mod readiness;
pub mod sweep;

use anyhow::Context;

use crate::serve::ADMIN_TOKEN_FILE;
use crate::storage::blobs::BlobStore;
use crate::cli::StorageArgs;
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

/// The audio store; for S3, checked to be reachable now rather than at the first upload.
pub async fn open_blobs(storage: &StorageArgs) -> anyhow::Result<BlobStore> {
    BlobStore::open(storage.blob_store.as_deref(), &storage.data_dir).await
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
