//! The server's local files are readable by its own account only: created so, and tightened at
//! start where an older version left them readable by every local user (the database holds the
//! key that signs `audio_url`s). On the scale-out deployment only the data directory and the
//! admin token are local.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::{clip, Api, Storage, TestServer};

const TIGHTENED: &str = "made private data readable by this account only";

/// Every directory and file under `root` (itself included), with its permission bits.
fn modes_under(root: &Path) -> Vec<(PathBuf, u32)> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        let metadata = std::fs::symlink_metadata(&path).unwrap();
        if metadata.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|entry| entry.unwrap().path()));
        }
        found.push((path, metadata.permissions().mode() & 0o777));
    }
    found
}

/// Asserts that directories are 0700 and files 0600 under the data directory, and that the
/// files of the deployment are there to be checked.
fn assert_private(storage: &Storage) {
    let modes = modes_under(&storage.data_dir);
    for (path, mode) in &modes {
        let expected = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(*mode, expected, "{} is {mode:o}", path.display());
    }
    let present = |name: &str| modes.iter().any(|(path, _)| path.ends_with(name));
    assert!(present("admin-token"));
    if storage.database_url.is_none() {
        assert!(present("voxprint.db") && present("voxprint.db-wal") && present("voxprint.db-shm"), "{modes:?}");
    }
    if storage.blob_store.is_none() {
        let audio = modes.iter().filter(|(path, _)| path.starts_with(storage.data_dir.join("blobs/voiceprints")));
        assert!(audio.filter(|(path, _)| path.is_file()).count() == 1, "{modes:?}");
    }
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn data_files_are_created_private_and_loose_ones_tightened_at_start() {
    let temp = tempfile::tempdir().unwrap();
    let storage = Storage::fresh(&temp.path().join("data"));
    let log = temp.path().join("server.log");
    let server = TestServer::start_on_logging(&storage, &[], &log);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("private").await;
    api.enroll(&group, "Alan", clip("flite-awb", 1)).await;
    assert_private(&storage);
    assert!(!std::fs::read_to_string(&log).unwrap().contains(TIGHTENED), "created private, nothing to tighten");
    server.stop();

    // What older versions left: everything readable by all, directories listable.
    for (path, _) in modes_under(&storage.data_dir) {
        let loose = if path.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(loose)).unwrap();
    }
    let server = TestServer::start_on_logging(&storage, &[], &log);
    assert_private(&storage);
    let logged = std::fs::read_to_string(&log).unwrap();
    let line = logged.lines().find(|line| line.contains(TIGHTENED)).unwrap_or_else(|| panic!("{logged}"));
    assert!(line.contains(&storage.data_dir.join("admin-token").display().to_string()), "{line}");
    if storage.database_url.is_none() {
        assert!(line.contains("voxprint.db") && line.contains("the audio store ("), "{line}");
    }
    assert_eq!(logged.lines().filter(|line| line.contains(TIGHTENED)).count(), 1, "{logged}");
    Api::new(&server, &server.admin_token).list_groups("").await.ok();
}
