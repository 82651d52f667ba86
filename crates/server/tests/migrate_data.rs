//! `voxprint migrate-data`: an embedded deployment copied into PostgreSQL and S3 keeps every ID,
//! token, voiceprint and recording (samples included); the copy is verified; running it again changes nothing; a
//! target that already holds other data is refused.

mod common;

use std::process::Command;

use common::{features_path, clip, Api, ScratchDatabase, Storage, TestServer, BIN};


fn migrate(from: &std::path::Path, to: &Storage) -> std::process::Output {
    Command::new(BIN)
        .args(["migrate-data", "--from"])
        .arg(from)
        .args(["--to", to.database_url.as_deref().unwrap(), "--blob-store", to.blob_store.as_deref().unwrap()])
        .env("VOXPRINT_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
#[ignore = "needs the speaker model, PostgreSQL and S3 (scripts/postgres.sh, scripts/garage.sh); scripts/test.sh runs it"]
async fn an_embedded_deployment_moves_to_postgres_and_s3_intact() {
    // The source: an embedded deployment with two teams, tokens (one revoked) and voiceprints.
    let source_dir = tempfile::tempdir().unwrap();
    let source = Storage::embedded(source_dir.path());
    let server = TestServer::start_on(&source, &[]);
    let cast = server.cast();
    let group = cast.admin.create_group("front door").await;
    let mate_group = cast.mate.create_group("lab").await;
    let awb = cast.admin.enroll(&group, "awb", clip("flite-awb", 1)).await;
    let slt = cast.admin.enroll(&group, "slt", clip("flite-slt", 1)).await;
    cast.mate.enroll(&mate_group, "rms", clip("flite-rms", 1)).await;
    let sample = cast.admin.client.add_sample(&group, &slt, &common::upload(clip("flite-slt", 2))).await.unwrap().id.to_string();
    let (revoked_user, revoked_token) = server.new_user(&server.default_team(), "leaver", "all");
    let tokens = common::admin_output(&source, &["list-tokens", "--user", &revoked_user]);
    server.admin(&["revoke-token", "--token-id", tokens.split('\t').next().unwrap()]);
    let groups_before = cast.admin.list_groups("").await.ok().clone();
    let voiceprints_before = cast.admin.get(&features_path(&group)).await.ok().clone();
    let (admin_token, mate_token, outsider_token) = (cast.admin.token.clone(), cast.mate.token.clone(), cast.outsider.token.clone());
    let source_url = server.base_url.clone();
    server.stop();

    // The target: a new PostgreSQL database and S3 prefix (or directory).
    let target_dir = tempfile::tempdir().unwrap();
    let target = Storage::scale_out(target_dir.path());
    let first = migrate(source_dir.path(), &target);
    let report = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{report}{}", String::from_utf8_lossy(&first.stderr));
    assert!(report.contains("migration verified"), "{report}");
    assert!(report.lines().any(|l| l.starts_with("voiceprints") && l.contains(" 3 rows,") && l.contains(" 3 copied now")), "{report}");
    assert!(report.lines().any(|l| l.starts_with("voiceprint_samples") && l.contains(" 1 rows,")), "{report}");
    assert!(report.lines().any(|l| l.starts_with("audio") && l.contains(" 4 files,") && l.contains(" 4 copied now")), "{report}");

    // Again: nothing left to copy, everything verified again.
    let second = migrate(source_dir.path(), &target);
    let again = String::from_utf8_lossy(&second.stdout);
    assert!(second.status.success(), "{again}{}", String::from_utf8_lossy(&second.stderr));
    assert!(again.lines().filter(|l| l.contains("copied now")).all(|l| l.contains(" 0 copied now")), "{again}");
    // Same rows, same checksums.
    let checksums = |text: &str| text.lines().filter_map(|l| l.split("sha256 ").nth(1).map(str::to_owned)).collect::<Vec<_>>();
    assert_eq!(checksums(&report), checksums(&again));

    // Serve the target: the copied bootstrap means no new admin; the old tokens work as before.
    std::fs::write(target_dir.path().join("admin-token"), &admin_token).unwrap();
    let server = TestServer::start_on(&target, &[]);
    assert!(server.first_start_stdout.iter().all(|line| !line.contains("pat_")), "no second bootstrap");
    let admin = Api::new(&server, &admin_token);
    // The same listing, but for absolute links, which name the server that answers.
    let expected_groups = groups_before.to_string().replace(&source_url, &server.base_url);
    assert_eq!(admin.list_groups("").await.ok().to_string(), expected_groups);
    let voiceprints_after = admin.get(&features_path(&group)).await.ok().clone();
    let ids = |listing: &serde_json::Value| {
        listing["items"].as_array().unwrap().iter().map(|item| item["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(ids(&voiceprints_after), ids(&voiceprints_before));
    for item in voiceprints_after["items"].as_array().unwrap() {
        let voice = if item["id"] == awb.as_str() { "flite-awb" } else { "flite-slt" };
        let audio = reqwest::get(item["audio_url"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
        assert_eq!(audio.as_ref(), clip(voice, 1).as_slice(), "byte-exact audio of {voice}");
    }
    let samples = admin.client.list_samples(&group, &slt).await.unwrap();
    assert_eq!(samples.iter().map(|s| s.id.to_string()).collect::<Vec<_>>(), [slt.clone(), sample]);
    let audio = reqwest::get(&samples[1].audio_url).await.unwrap().bytes().await.unwrap();
    assert_eq!(audio.as_ref(), clip("flite-slt", 2).as_slice(), "byte-exact audio of the sample");
    let scores = admin.identify(&group, clip("flite-slt", 3), None).await;
    assert_eq!(scores[0].feature_id.to_string(), slt, "embeddings came along: {scores:?}");
    Api::new(&server, &mate_token).get(&features_path(&mate_group)).await.ok();
    Api::new(&server, &outsider_token).get(&features_path(&group)).await.err(4200, 404);
    Api::new(&server, &revoked_token).list_groups("").await.err(4100, 401);
    let check = common::admin_output(&target, &["check"]);
    assert!(check.contains("voiceprints\t3\nrecordings\t4\naudio files\t4\ndamaged recordings\t0\norphan audio files\t0"), "{check}");
}

#[tokio::test]
#[ignore = "needs the speaker model, PostgreSQL and S3 (scripts/postgres.sh, scripts/garage.sh); scripts/test.sh runs it"]
async fn an_encrypted_deployment_moves_encrypted_under_the_same_key() {
    let source_dir = tempfile::tempdir().unwrap();
    let key = source_dir.path().join("master.key");
    std::fs::write(&key, "5f".repeat(32)).unwrap();
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let source = Storage::embedded(&source_dir.path().join("data")).with_key(Some(&key));
    let server = TestServer::start_on(&source, &[]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("door").await;
    let awb = api.enroll(&group, "awb", clip("flite-awb", 1)).await;
    server.stop();

    let target_dir = tempfile::tempdir().unwrap();
    let target = Storage::scale_out(target_dir.path());
    let refused = migrate(&source.data_dir, &target);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is encrypted") && stderr.contains("--encryption-key-file"), "{stderr}");
    let copied = Command::new(BIN)
        .args(["migrate-data", "--from"])
        .arg(&source.data_dir)
        .args(["--to", target.database_url.as_deref().unwrap(), "--blob-store", target.blob_store.as_deref().unwrap()])
        .arg("--encryption-key-file")
        .arg(&key)
        .env("VOXPRINT_LOG", "warn")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&copied.stdout);
    assert!(copied.status.success(), "{report}{}", String::from_utf8_lossy(&copied.stderr));
    assert!(report.lines().any(|l| l.starts_with("data_keys") && l.contains(" 1 rows,")), "{report}");
    let blobs = target.stored_blobs();
    assert_eq!(blobs.len(), 1);
    assert!(blobs[0].1.starts_with(b"\0VXSEAL1"), "the copy stays sealed");

    assert!(common::serve_refused(&target).contains("the storage is encrypted"));
    std::fs::copy(source.data_dir.join("admin-token"), target.data_dir.join("admin-token")).unwrap();
    let server = TestServer::start_on(&target.with_key(Some(&key)), &[]);
    let ranked = Api::new(&server, &server.admin_token).identify(&group, clip("flite-awb", 2), Some(1)).await;
    assert_eq!(ranked[0].feature_id.to_string(), awb);
}

#[tokio::test]
#[ignore = "needs the speaker model, PostgreSQL and S3 (scripts/postgres.sh, scripts/garage.sh); scripts/test.sh runs it"]
async fn a_target_holding_other_data_is_refused() {
    let source_dir = tempfile::tempdir().unwrap();
    let source = Storage::embedded(source_dir.path());
    TestServer::start_on(&source, &[]).stop();
    // A target whose first start bootstrapped an admin of its own.
    let target_dir = tempfile::tempdir().unwrap();
    let target = Storage::scale_out(target_dir.path());
    TestServer::start_on(&target, &[]).stop();
    let refused = migrate(source_dir.path(), &target);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("differs on the target") && stderr.contains("empty database"), "{stderr}");
}

#[test]
#[ignore = "needs the speaker model, PostgreSQL and S3 (scripts/postgres.sh, scripts/garage.sh); scripts/test.sh runs it"]
fn bad_sources_and_targets_are_named() {
    let empty = tempfile::tempdir().unwrap();
    let database = ScratchDatabase::create(&common::unique_name());
    let output = Command::new(BIN).args(["migrate-data", "--from"]).arg(empty.path()).args(["--to", &database.url]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("holds no Voxprint database"));
}
