//! Where uploaded audio lives, byte-exact: a directory (the default, under the data dir) or a
//! bucket of any S3-compatible service (AWS S3, Garage, MinIO…), chosen by [`BlobStore::open`].
//!
//! Both backends write a blob whole or not at all: the directory writes a temporary file, flushes
//! it to disk and renames it into place (and removes it again if any step fails, a full disk
//! included); S3 stores an object with one PUT, which S3 makes visible atomically. So a reader
//! (or a restart after a crash) sees either the whole blob or none. Keys are never reused: a
//! replaced recording gets a new key, and the old blob is deleted only after the database row
//! points at the new one.
//!
//! With encryption at rest, every blob is sealed on its way in and opened on its way out, bound
//! to its key (see `encryption.rs`).
//!
//! A failure that a later retry may get past — a full or read-only disk, an S3 service out of
//! reach — is told apart by [`is_unavailable`].

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::client::{HttpError, HttpErrorKind};
use object_store::list::{PaginatedListOptions, PaginatedListResult, PaginatedListStore};
use object_store::{ObjectStoreExt, PutPayload, RetryConfig};

use crate::storage::encryption::{self, audio_identity, Keyring};
use crate::storage::private_files;

/// The forms [`BlobStore::open`] accepts, for its error messages.
const ACCEPTED_SPECS: &str = "a directory path, s3://BUCKET or s3://BUCKET/PREFIX";

/// How long one S3 operation keeps retrying a service it cannot reach before it fails (the
/// client's default allows three minutes, holding the request as long).
const S3_RETRY_TIMEOUT: Duration = Duration::from_secs(5);

/// Whether a failed blob operation failed because the storage cannot write or cannot be reached
/// for now (a full, read-only or over-quota disk; an S3 service that refuses connections or
/// does not answer), rather than because of the request or a bug: a retry later may succeed.
pub fn is_unavailable(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        ErrorKind::StorageFull
            | ErrorKind::ReadOnlyFilesystem
            | ErrorKind::QuotaExceeded
            | ErrorKind::NotConnected
            | ErrorKind::TimedOut
    )
}

#[derive(Clone)]
pub struct BlobStore {
    backend: Backend,
    keyring: Option<Arc<Keyring>>,
}

#[derive(Debug, Clone)]
enum Backend {
    Directory(PathBuf),
    S3(S3Bucket),
}

impl BlobStore {
    pub fn directory(root: PathBuf) -> BlobStore {
        BlobStore { backend: Backend::Directory(root), keyring: None }
    }

    /// This store with the keyring that seals and opens its blobs.
    pub fn with_keyring(mut self, keyring: Option<Arc<Keyring>>) -> BlobStore {
        self.keyring = keyring;
        self
    }

    /// Opens the audio store named by `spec`: none for `data_dir/blobs`, a directory path, or
    /// `s3://BUCKET[/PREFIX]` with the connection settings in the usual AWS_* environment
    /// variables (see [`S3Bucket::open`]). An S3 bucket is checked at once, so a misconfigured
    /// server refuses to start instead of failing on the first upload.
    pub async fn open(spec: Option<&str>, data_dir: &Path) -> anyhow::Result<BlobStore> {
        if let Some(root) = BlobStore::directory_root(spec, data_dir) {
            return Ok(BlobStore::directory(root));
        }
        let spec = spec.unwrap_or_default();
        let Some(location) = spec.strip_prefix("s3://") else {
            anyhow::bail!("unsupported audio storage {spec:?}: expected {ACCEPTED_SPECS}");
        };
        let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
        let bucket = S3Bucket::open(AmazonS3Builder::from_env(), bucket, prefix.trim_end_matches('/')).await?;
        Ok(BlobStore { backend: Backend::S3(bucket), keyring: None })
    }

    /// The directory that [`BlobStore::open`] stores the audio in for `spec`; `None` when `spec`
    /// names no directory (S3, or a form `open` refuses).
    pub fn directory_root(spec: Option<&str>, data_dir: &Path) -> Option<PathBuf> {
        match spec {
            None => Some(data_dir.join("blobs")),
            Some(spec) if spec.is_empty() || spec.contains("://") => None,
            Some(spec) => Some(PathBuf::from(spec)),
        }
    }

    /// Stores `bytes` under `key` whole or not at all (see the module doc), sealed when
    /// encryption is on.
    pub async fn put(&self, key: &str, bytes: Bytes) -> std::io::Result<()> {
        let stored = match &self.keyring {
            Some(keyring) => Bytes::from(keyring.seal(&audio_identity(key), &bytes)?),
            None => bytes,
        };
        self.put_stored(key, stored).await
    }

    /// The blob's bytes, opened when sealed; a missing blob is an error of kind `NotFound` on
    /// either backend, one that does not open is `InvalidData`.
    pub async fn get(&self, key: &str) -> std::io::Result<Bytes> {
        let stored = self.get_stored(key).await?;
        self.open_stored(key, stored)
    }

    /// The plain form of `stored`, the bytes stored under `key`.
    pub fn open_stored(&self, key: &str, stored: Bytes) -> std::io::Result<Bytes> {
        match encryption::open_if(self.keyring.as_deref(), &audio_identity(key), &stored) {
            Ok(std::borrow::Cow::Borrowed(_)) => Ok(stored),
            Ok(std::borrow::Cow::Owned(plain)) => Ok(Bytes::from(plain)),
            Err(err) => Err(std::io::Error::new(ErrorKind::InvalidData, err)),
        }
    }

    /// Whether blobs are sealed on their way in.
    pub fn is_encrypted(&self) -> bool {
        self.keyring.is_some()
    }

    /// Stores `bytes` under `key` as they are (sealed already, or deliberately plain). The
    /// directory runs its blocking file I/O on a blocking thread.
    pub async fn put_stored(&self, key: &str, bytes: Bytes) -> std::io::Result<()> {
        match &self.backend {
            Backend::Directory(root) => {
                let path = path_in(root, key)?;
                tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
                    .await
                    .map_err(std::io::Error::other)?
            }
            Backend::S3(bucket) => bucket.put(key, bytes).await,
        }
    }

    /// The blob's bytes as stored, sealed or not.
    pub async fn get_stored(&self, key: &str) -> std::io::Result<Bytes> {
        match &self.backend {
            Backend::Directory(root) => Ok(Bytes::from(tokio::fs::read(path_in(root, key)?).await?)),
            Backend::S3(bucket) => bucket.get(key).await,
        }
    }

    /// Deletes the blob; a missing one is not an error (deletion is retried by sweeps).
    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        let deleted = match &self.backend {
            Backend::Directory(root) => tokio::fs::remove_file(path_in(root, key)?).await,
            Backend::S3(bucket) => bucket.delete(key).await,
        };
        match deleted {
            Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(err),
            _ => Ok(()),
        }
    }

    /// Deletes blobs whose rows are gone, logging failures instead of failing the request that
    /// already committed (an orphan blob wastes space but loses nothing). An empty key names a
    /// recording whose audio was not retained: there is nothing to delete.
    pub async fn delete_all_logged(&self, keys: &[String]) {
        for key in keys.iter().filter(|key| !key.is_empty()) {
            if let Err(err) = self.delete(key).await {
                tracing::warn!(%key, %err, "could not delete an audio blob");
            }
        }
    }

    /// Every stored blob (and, in a directory, leftover temporary file) with its last
    /// modification time: what the orphan sweep compares with the database.
    pub async fn list(&self) -> std::io::Result<Vec<(String, SystemTime)>> {
        match &self.backend {
            Backend::Directory(root) => {
                let root = root.clone();
                tokio::task::spawn_blocking(move || list_directory(&root)).await.map_err(std::io::Error::other)?
            }
            Backend::S3(bucket) => bucket.list().await,
        }
    }
}

/// A bucket of an S3-compatible service and the key prefix under which this server's blobs live
/// (empty: the whole bucket), so one bucket can serve several servers or other data.
#[derive(Debug, Clone)]
struct S3Bucket {
    client: AmazonS3,
    prefix: String,
}

impl S3Bucket {
    /// Connects with `settings` (in production `AmazonS3Builder::from_env()`, which reads
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION or
    /// AWS_DEFAULT_REGION, AWS_ENDPOINT_URL or AWS_ENDPOINT, AWS_ENDPOINT_URL_S3 and
    /// AWS_ALLOW_HTTP), then lists one key to prove the endpoint, the credentials and the bucket.
    async fn open(settings: AmazonS3Builder, bucket: &str, prefix: &str) -> anyhow::Result<S3Bucket> {
        anyhow::ensure!(!bucket.is_empty(), "the audio storage s3:// names no bucket: expected {ACCEPTED_SPECS}");
        if !prefix.is_empty() {
            check_key(prefix).with_context(|| format!("invalid key prefix in s3://{bucket}/{prefix}"))?;
        }
        let endpoint = settings
            .get_config_value(&AmazonS3ConfigKey::S3Endpoint)
            .or_else(|| settings.get_config_value(&AmazonS3ConfigKey::Endpoint));
        // Path-style requests (ENDPOINT/BUCKET/KEY): Garage and MinIO on a plain endpoint need
        // them, and AWS still accepts them.
        let mut settings = settings
            .with_bucket_name(bucket)
            .with_virtual_hosted_style_request(false)
            .with_retry(RetryConfig { retry_timeout: S3_RETRY_TIMEOUT, max_retries: 5, ..RetryConfig::default() });
        // An endpoint written as http:// is a deliberate choice (a service on the same host or
        // network), so it needs no second switch in AWS_ALLOW_HTTP.
        if endpoint.as_deref().is_some_and(|url| url.starts_with("http://")) {
            settings = settings.with_allow_http(true);
        }
        let endpoint = endpoint.unwrap_or_else(|| "the AWS endpoint of the region".to_owned());
        let client =
            settings.build().with_context(|| format!("invalid S3 settings for bucket {bucket:?} at {endpoint}"))?;
        let bucket_store = S3Bucket { client, prefix: prefix.to_owned() };
        bucket_store
            .list_page(Some(1), None)
            .await
            .with_context(|| format!("cannot list S3 bucket {bucket:?} at {endpoint} (check the AWS_* settings)"))?;
        Ok(bucket_store)
    }

    async fn put(&self, key: &str, bytes: Bytes) -> std::io::Result<()> {
        self.client.put(&self.location_of(key)?, PutPayload::from(bytes)).await.map_err(s3_error)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> std::io::Result<Bytes> {
        let found = self.client.get(&self.location_of(key)?).await.map_err(s3_error)?;
        found.bytes().await.map_err(s3_error)
    }

    async fn delete(&self, key: &str) -> std::io::Result<()> {
        self.client.delete(&self.location_of(key)?).await.map_err(s3_error)
    }

    /// Every object under the prefix, keyed relative to it like the database's keys.
    async fn list(&self) -> std::io::Result<Vec<(String, SystemTime)>> {
        let under_prefix = format!("{}/", self.prefix);
        let mut found = Vec::new();
        let mut page_token = None;
        loop {
            let page = self.list_page(None, page_token).await.map_err(s3_error)?;
            for object in page.result.objects {
                let key = object.location.as_ref();
                let relative = if self.prefix.is_empty() { Some(key) } else { key.strip_prefix(&under_prefix) };
                if let Some(relative) = relative {
                    found.push((relative.to_owned(), object.last_modified.into()));
                }
            }
            page_token = page.page_token;
            if page_token.is_none() {
                return Ok(found);
            }
        }
    }

    /// One ListObjectsV2 request under the prefix (with no delimiter, so keys at every depth).
    async fn list_page(
        &self,
        max_keys: Option<usize>,
        page_token: Option<String>,
    ) -> object_store::Result<PaginatedListResult> {
        let prefix = (!self.prefix.is_empty()).then(|| format!("{}/", self.prefix));
        let options = PaginatedListOptions { max_keys, page_token, ..Default::default() };
        self.client.list_paginated(prefix.as_deref(), options).await
    }

    fn location_of(&self, key: &str) -> std::io::Result<object_store::path::Path> {
        check_key(key)?;
        Ok(if self.prefix.is_empty() { key.into() } else { format!("{}/{key}", self.prefix).into() })
    }
}

/// An S3 failure as an I/O error. One where the service could not be reached, the request
/// broke off or timed out, after the client's retries, becomes `NotConnected` or `TimedOut`,
/// which [`is_unavailable`] recognises; a missing object stays `NotFound`.
fn s3_error(err: object_store::Error) -> std::io::Error {
    let transport = std::iter::successors(Some(&err as &(dyn std::error::Error + 'static)), |cause| cause.source())
        .find_map(|cause| cause.downcast_ref::<HttpError>().map(HttpError::kind));
    match transport {
        Some(HttpErrorKind::Timeout) => std::io::Error::new(ErrorKind::TimedOut, err),
        Some(HttpErrorKind::Connect | HttpErrorKind::Request | HttpErrorKind::Interrupted) => {
            std::io::Error::new(ErrorKind::NotConnected, err)
        }
        _ => err.into(),
    }
}

/// Keys are generated by the server (`voiceprints/<group>/<id>-<random>.<ext>`); refuse
/// anything that could leave the directory root or the bucket prefix all the same.
fn check_key(key: &str) -> std::io::Result<()> {
    let safe = !key.is_empty()
        && !key.starts_with('/')
        && key.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b));
    if !safe {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("invalid blob key {key:?}")));
    }
    Ok(())
}

fn path_in(root: &Path, key: &str) -> std::io::Result<PathBuf> {
    check_key(key)?;
    Ok(root.join(key))
}

fn list_directory(root: &Path) -> std::io::Result<Vec<(String, SystemTime)>> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        for entry in entries {
            let entry = entry?;
            let metadata = entry.metadata()?;
            if metadata.is_dir() {
                pending.push(entry.path());
            } else if let Ok(relative) = entry.path().strip_prefix(root) {
                found.push((relative.to_string_lossy().into_owned(), metadata.modified()?));
            }
        }
    }
    Ok(found)
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore").field("backend", &self.backend).field("encrypted", &self.keyring.is_some()).finish()
    }
}

/// Writes a temporary file, flushes it and renames it to `path`; on failure, whatever was
/// written is removed again, so a full disk leaves no partial or temporary file behind.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().ok_or_else(|| std::io::Error::other("blob path has no parent"))?;
    private_files::create_dir_all(dir)?;
    let (temp, mut file) = tempfile_in(dir)?;
    let renamed = file.write_all(bytes).and_then(|()| file.sync_all()).and_then(|()| std::fs::rename(&temp, path));
    drop(file);
    if let Err(err) = renamed {
        remove_after_failure(&temp);
        return Err(err);
    }
    // Make the rename itself durable. If that fails the caller will not refer to the blob, so
    // it goes too rather than stay as an orphan.
    std::fs::File::open(dir).and_then(|dir| dir.sync_all()).inspect_err(|_| remove_after_failure(path))
}

fn remove_after_failure(path: &Path) {
    if let Err(err) = std::fs::remove_file(path) {
        tracing::warn!(path = %path.display(), %err, "could not remove a partly written audio file");
    }
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(std::io::Error::other)?;
    let path = dir.join(format!(".tmp-{}", hex::encode(random)));
    let file = private_files::create_new_file(&path)?;
    Ok((path, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::directory(dir.path().to_path_buf());
        blobs.put("voiceprints/1/2-ab.wav", Bytes::from_static(b"RIFF")).await.unwrap();
        assert_eq!(blobs.get("voiceprints/1/2-ab.wav").await.unwrap(), Bytes::from_static(b"RIFF"));
        blobs.delete("voiceprints/1/2-ab.wav").await.unwrap();
        blobs.delete("voiceprints/1/2-ab.wav").await.unwrap();
        assert!(blobs.get("voiceprints/1/2-ab.wav").await.is_err());
    }

    #[tokio::test]
    async fn refuses_keys_that_escape_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::directory(dir.path().to_path_buf());
        for key in ["../x", "a/../../x", "/etc/passwd", "", "a//b", "a b"] {
            assert!(blobs.get(key).await.is_err(), "{key}");
        }
    }

    #[tokio::test]
    async fn open_defaults_to_the_data_dir_and_takes_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let default = BlobStore::open(None, dir.path()).await.unwrap();
        default.put("a/b.wav", Bytes::from_static(b"x")).await.unwrap();
        assert!(dir.path().join("blobs/a/b.wav").is_file());
        let elsewhere = dir.path().join("audio");
        let explicit = BlobStore::open(elsewhere.to_str(), dir.path()).await.unwrap();
        explicit.put("a/b.wav", Bytes::from_static(b"x")).await.unwrap();
        assert!(elsewhere.join("a/b.wav").is_file());
    }

    #[tokio::test]
    async fn open_names_the_accepted_forms() {
        for spec in ["", "ftp://host/x", "s3://", "s3:///prefix", "s3://bucket/a/../b"] {
            let err = BlobStore::open(Some(spec), Path::new(".")).await.unwrap_err();
            assert!(format!("{err:#}").contains("s3://"), "{spec}: {err:#}");
        }
    }

    /// The bucket named by VOXPRINT_TEST_S3_BUCKET, with the AWS_* settings that
    /// `scripts/garage.sh start` prints. Without it the S3 tests fail rather than pass unrun,
    /// like the PostgreSQL tests; `scripts/test.sh` starts a Garage and sets it.
    fn test_bucket() -> String {
        std::env::var("VOXPRINT_TEST_S3_BUCKET")
            .expect("VOXPRINT_TEST_S3_BUCKET (and AWS_*) name the test S3 bucket; scripts/test.sh starts one")
    }

    #[tokio::test]
    #[ignore = "needs S3 (VOXPRINT_TEST_S3_BUCKET, scripts/garage.sh); scripts/test.sh runs it"]
    async fn s3_round_trip_list_and_delete() {
        let bucket = test_bucket();
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).unwrap();
        let spec = format!("s3://{bucket}/test-{}", hex::encode(random));
        let blobs = BlobStore::open(Some(&spec), Path::new("unused"))
            .await
            .unwrap_or_else(|err| panic!("VOXPRINT_TEST_S3_BUCKET is set but {spec} is unusable: {err:#}"));
        let key = "voiceprints/1/2-ab.wav";
        blobs.put(key, Bytes::from_static(b"RIFF")).await.unwrap();
        assert_eq!(blobs.get(key).await.unwrap(), Bytes::from_static(b"RIFF"));
        let listed = blobs.list().await.unwrap();
        assert_eq!(listed.iter().map(|(key, _)| key.as_str()).collect::<Vec<_>>(), [key]);
        let age = SystemTime::now().duration_since(listed[0].1).unwrap_or_default();
        assert!(age < std::time::Duration::from_secs(300), "last modified {age:?} ago");
        blobs.delete(key).await.unwrap();
        blobs.delete(key).await.unwrap();
        assert_eq!(blobs.get(key).await.unwrap_err().kind(), std::io::ErrorKind::NotFound);
        assert!(blobs.list().await.unwrap().is_empty());
        assert_eq!(blobs.get("../x").await.unwrap_err().kind(), std::io::ErrorKind::InvalidInput);
    }

    #[tokio::test]
    #[ignore = "needs S3 (VOXPRINT_TEST_S3_BUCKET, scripts/garage.sh); scripts/test.sh runs it"]
    async fn s3_open_refuses_a_wrong_secret() {
        let bucket = test_bucket();
        let settings = AmazonS3Builder::from_env().with_secret_access_key("wrong");
        let err = S3Bucket::open(settings, &bucket, "").await.expect_err("opened with a wrong secret key");
        let message = format!("{err:#}");
        let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
        assert!(message.contains(&bucket) && message.contains(&endpoint), "{message}");
        // Refused by the service itself (not unreachable): 403, whatever its error code.
        assert!(message.contains("403 Forbidden"), "{message}");
    }
}
