//! Encryption at rest (`--encryption-key-file`), on the deployment under test: nothing stored
//! holds a recording or an embedding in plain form; a storage refuses to start without its key
//! or with another; `admin rotate-key` re-encrypts under a new key while a server serves, and
//! finishes when run again after an interruption; a storage encrypted later has its earlier
//! recordings sealed by the same command; `reembed` works on sealed recordings.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::{admin_output, admin_run, clip, serve_refused, Api, Storage, TestServer};

/// The first bytes of every sealed value (see `storage/encryption.rs`).
const SEALED: &[u8] = b"\0VXSEAL1";

/// A key file of 32 random bytes in hex, as `openssl rand -hex 32` writes.
fn key_file(dir: &Path, name: &str) -> PathBuf {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, format!("{}\n", hex::encode(key))).unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    path
}

/// Asserts that every stored blob and every stored embedding and condition set is sealed:
/// no blob holds a RIFF header, and each value starts with the sealed header.
fn assert_nothing_plain(storage: &Storage, recordings: i64) {
    let blobs = storage.stored_blobs();
    assert_eq!(blobs.len() as i64, recordings, "{:?}", blobs.iter().map(|(key, _)| key).collect::<Vec<_>>());
    for (key, bytes) in &blobs {
        assert!(bytes.starts_with(SEALED), "{key} is not sealed");
        assert!(!bytes.windows(4).any(|window| window == b"RIFF" || window == b"WAVE"), "{key} holds a WAV header");
    }
    let sealed = |table: &str, column: &str| {
        let starts_sealed = match storage.database_url {
            None => format!("substr({column}, 1, 8) = X'{}'", hex::encode(SEALED)),
            Some(_) => format!("substring({column} from 1 for 8) = '\\x{}'::bytea", hex::encode(SEALED)),
        };
        storage.query_int(&format!("SELECT COUNT(*) FROM {table} WHERE {starts_sealed}"))
    };
    let rows =
        storage.query_int("SELECT (SELECT COUNT(*) FROM voiceprints) + (SELECT COUNT(*) FROM voiceprint_samples)");
    assert_eq!(rows, recordings);
    for column in ["embedding", "conditions"] {
        assert_eq!(sealed("voiceprints", column) + sealed("voiceprint_samples", column), recordings, "{column}");
    }
    // 256 floats sealed: 1024 bytes and the header, nonce and tag.
    assert_eq!(storage.query_int("SELECT COUNT(*) FROM voiceprints WHERE length(embedding) <> 1076"), 0);
}

/// `admin check` on `storage` passes and finds every recording encrypted.
fn assert_check_clean(storage: &Storage, recordings: usize) {
    let report = admin_output(storage, &["check"]);
    assert!(report.contains(&format!("recordings\t{recordings}\n")), "{report}");
    assert!(report.contains("damaged recordings\t0") && report.contains("unencrypted recordings\t0"), "{report}");
}

/// Identifies each `(voice, feature_id)` by another clip of the voice: the enrolled one ranks
/// first.
async fn assert_identified(api: &Api, group: &str, enrolled: &[(&str, &str)]) {
    for (voice, id) in enrolled {
        let ranked = api.identify(group, clip(voice, 3), Some(3)).await;
        assert_eq!(ranked[0].feature_id.to_string(), *id, "{voice}: {ranked:?}");
    }
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn an_encrypted_storage_holds_no_plaintext_and_rotates_its_key_while_serving() {
    let temp = tempfile::tempdir().unwrap();
    let (key_a, key_b) = (key_file(temp.path(), "a.key"), key_file(temp.path(), "b.key"));
    let plain = Storage::fresh(&temp.path().join("data"));
    let (with_a, with_b) = (plain.with_key(Some(&key_a)), plain.with_key(Some(&key_b)));

    let server = TestServer::start_on(&with_a, &[]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("door").await;
    let awb = api.enroll(&group, "awb", clip("flite-awb", 1)).await;
    let slt = api.enroll(&group, "slt", clip("flite-slt", 1)).await;
    api.client.add_sample(&group, &slt, &common::upload(clip("flite-slt", 2))).await.unwrap();
    assert_identified(&api, &group, &[("flite-awb", &awb), ("flite-slt", &slt)]).await;
    let audio_url =
        api.get(&common::features_path(&group)).await.ok()["items"][0]["audio_url"].as_str().unwrap().to_owned();
    let served = reqwest::get(&audio_url).await.unwrap().bytes().await.unwrap();
    assert!(served.starts_with(b"RIFF"), "audio_url serves the recording as uploaded");
    server.stop();
    assert_nothing_plain(&plain, 3);
    assert_check_clean(&with_a, 3);

    // Without the key, or with another, nothing starts.
    let refused = serve_refused(&plain);
    assert!(refused.contains("the storage is encrypted") && refused.contains("--encryption-key-file"), "{refused}");
    let refused = serve_refused(&with_b);
    assert!(refused.contains("wrong encryption key"), "{refused}");
    let check = admin_run(&plain, &["check"]);
    assert!(!check.status.success() && String::from_utf8_lossy(&check.stderr).contains("encrypted"));

    // Rotation to B while a server with A serves. The first run is interrupted while it waits
    // for servers to learn the new data key; both keys then open the storage.
    let server = TestServer::start_on(&with_a, &[]);
    let api = Api::new(&server, &server.admin_token);
    let mut rotation = rotate_key(&with_a, &key_b);
    let mut stderr = BufReader::new(rotation.stderr.take().unwrap()).lines();
    let waiting = stderr.find(|line| line.as_ref().unwrap().starts_with("waiting"));
    assert!(waiting.is_some(), "rotate-key never waited for the servers");
    rotation.kill().unwrap();
    rotation.wait().unwrap();
    assert_identified(&api, &group, &[("flite-awb", &awb)]).await;
    let during = TestServer::start_on(&with_b, &[]);
    assert_identified(&Api::new(&during, &during.admin_token), &group, &[("flite-slt", &slt)]).await;
    during.stop();

    // Run again: it finishes, while the server with A keeps enrolling and identifying.
    let rotation = rotate_key(&with_a, &key_b);
    let rms = api.enroll(&group, "rms", clip("flite-rms", 1)).await;
    let finished = rotation.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&finished.stdout);
    assert!(finished.status.success(), "{report}{}", String::from_utf8_lossy(&finished.stderr));
    assert!(report.contains("rotation complete"), "{report}");
    assert_identified(&api, &group, &[("flite-awb", &awb), ("flite-slt", &slt), ("flite-rms", &rms)]).await;
    server.stop();

    // Only B opens the storage now; everything is sealed under it.
    let refused = serve_refused(&with_a);
    assert!(refused.contains("wrong encryption key"), "{refused}");
    assert_nothing_plain(&plain, 4);
    assert_check_clean(&with_b, 4);
    let server = TestServer::start_on(&with_b, &[]);
    let api = Api::new(&server, &server.admin_token);
    assert_identified(&api, &group, &[("flite-awb", &awb), ("flite-slt", &slt), ("flite-rms", &rms)]).await;
    // A third run finds nothing left to do.
    let again = admin_output(&with_a, &["rotate-key", "--new-key-file", key_b.to_str().unwrap()]);
    assert!(again.contains("embeddings re-encrypted\t0") && again.contains("audio files re-encrypted\t0"), "{again}");
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn recordings_stored_before_encryption_are_sealed_by_rotate_key() {
    let temp = tempfile::tempdir().unwrap();
    let key = key_file(temp.path(), "a.key");
    let plain = Storage::fresh(&temp.path().join("data"));
    let with_key = plain.with_key(Some(&key));
    let server = TestServer::start_on(&plain, &[]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("door").await;
    let awb = api.enroll(&group, "awb", clip("flite-awb", 1)).await;
    server.stop();
    assert!(plain.stored_blobs()[0].1.starts_with(b"RIFF"));

    // Turned on: the earlier recording still serves, new ones are sealed, the check names the
    // earlier one until rotate-key seals it.
    let server = TestServer::start_on(&with_key, &[]);
    let api = Api::new(&server, &server.admin_token);
    let slt = api.enroll(&group, "slt", clip("flite-slt", 1)).await;
    assert_identified(&api, &group, &[("flite-awb", &awb), ("flite-slt", &slt)]).await;
    let check = admin_run(&with_key, &["check"]);
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(!check.status.success() && report.contains("unencrypted recordings\t1"), "{report}");
    assert!(String::from_utf8_lossy(&check.stderr).contains(&format!("unencrypted: voiceprint {awb}")));
    let sealed = admin_output(&with_key, &["rotate-key", "--new-key-file", key.to_str().unwrap()]);
    assert!(
        sealed.contains("embeddings re-encrypted\t1") && sealed.contains("audio files re-encrypted\t1"),
        "{sealed}"
    );
    assert_identified(&api, &group, &[("flite-awb", &awb), ("flite-slt", &slt)]).await;
    server.stop();
    assert_nothing_plain(&plain, 2);
    assert_check_clean(&with_key, 2);

    // reembed reads the sealed audio and stores sealed embeddings; without the key it refuses.
    plain.execute_sql("UPDATE voiceprints SET scoring_version = 0");
    let refused = admin_run(&plain, &["reembed"]);
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("the storage is encrypted"));
    let refreshed = admin_output(&with_key, &["reembed"]);
    assert!(refreshed.contains("refreshed\t2\n"), "{refreshed}");
    assert_nothing_plain(&plain, 2);
    assert_check_clean(&with_key, 2);
    let server = TestServer::start_on(&with_key, &[]);
    assert_identified(&Api::new(&server, &server.admin_token), &group, &[("flite-awb", &awb), ("flite-slt", &slt)]).await;
}

/// Starts `admin rotate-key` from the storage's key to `new_key`, with its output piped.
fn rotate_key(storage: &Storage, new_key: &Path) -> std::process::Child {
    storage
        .command(&["admin", "rotate-key", "--new-key-file", new_key.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}
