//! Several `voxprint serve` instances on one storage, as behind a load balancer: every rule holds
//! across them. Runs on whichever deployment the harness is set to — two processes sharing the
//! SQLite file and blob directory, or two on one PostgreSQL database and S3 prefix.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{audio_form, count_quota_race, features_path, clip, Api, Storage, TestServer};
use serde_json::json;


/// Two instances on one fresh storage (the second starts once the first has bootstrapped).
fn two_instances(extra_args: &[&str]) -> (tempfile::TempDir, Storage, TestServer, TestServer) {
    let temp = tempfile::tempdir().unwrap();
    let storage = Storage::fresh(temp.path());
    let a = TestServer::start_on(&storage, extra_args);
    let b = TestServer::start_on(&storage, extra_args);
    (temp, storage, a, b)
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn voiceprint_quota_holds_across_instances() {
    let (_temp, _storage, a, b) = two_instances(&[]);
    let apis = [Arc::new(Api::new(&a, &a.admin_token)), Arc::new(Api::new(&b, &b.admin_token))];
    let group = apis[0].create_group("crowded").await;
    let clips: Vec<Vec<u8>> = (1..=7).map(|n| clip("flite-rms", n)).collect();
    let attempts = (0..40)
        .map(|i| {
            let (api, path, clip) = (apis[i % 2].clone(), features_path(&group), clips[i % clips.len()].clone());
            tokio::spawn(async move { api.post_form(&path, audio_form(clip, &[("name", &format!("v{i}"))])).await })
        })
        .collect();
    assert_eq!(count_quota_race(attempts).await, 10);
    for api in &apis {
        let listed = api.get(&format!("{}?page_size=100", features_path(&group))).await;
        assert_eq!(listed.ok()["total"], 10);
        assert_eq!(listed.ok()["items"].as_array().unwrap().len(), 10);
        let counted = api.list_groups(&format!("group_id={group}")).await;
        assert_eq!(counted.ok()["items"][0]["feature_count"], 10, "the group's count, kept by the database");
    }
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn group_quota_holds_across_instances() {
    let (_temp, _storage, a, b) = two_instances(&["--max-groups-per-user", "5"]);
    let apis = [Arc::new(Api::new(&a, &a.admin_token)), Arc::new(Api::new(&b, &b.admin_token))];
    let attempts = (0..20)
        .map(|i| {
            let api = apis[i % 2].clone();
            tokio::spawn(async move { api.post_json("/v1/audio/voiceprint_groups", json!({ "name": format!("g{i}") })).await })
        })
        .collect();
    assert_eq!(count_quota_race(attempts).await, 5);
    assert_eq!(apis[1].list_groups("").await.ok()["total"], 5);
}

/// Identifies `probe` on `api` until `accept` holds for the scores, for at most one second.
async fn within_one_second(api: &Api, group: &str, probe: &[u8], accept: impl Fn(&[voxprint_api::FeatureScore]) -> bool) -> Duration {
    let start = Instant::now();
    loop {
        let scores = api.identify(group, probe.to_vec(), None).await;
        if accept(&scores) {
            return start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(1), "not seen within 1 s: {scores:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn enrollments_and_deletions_reach_the_other_instance_within_a_second() {
    let (_temp, _storage, a, b) = two_instances(&[]);
    let (on_a, on_b) = (Api::new(&a, &a.admin_token), Api::new(&b, &b.admin_token));
    let group = on_a.create_group("door").await;
    let awb = on_a.enroll(&group, "awb", clip("flite-awb", 1)).await;
    let probe = clip("flite-slt", 3);
    // B caches the group's embeddings now, with awb only.
    assert_eq!(on_b.identify(&group, probe.clone(), None).await.len(), 1);

    let slt = on_a.enroll(&group, "slt", clip("flite-slt", 1)).await;
    let seen = within_one_second(&on_b, &group, &probe, |scores| {
        scores.first().is_some_and(|best| best.feature_id.to_string() == slt)
    })
    .await;
    eprintln!("enrollment on A scored on B after {seen:?}");

    // A caches both now; delete slt through B.
    assert_eq!(on_a.identify(&group, probe.clone(), None).await.len(), 2);
    on_b.delete(&format!("{}/{slt}", features_path(&group))).await.ok();
    let gone = within_one_second(&on_a, &group, &probe, |scores| {
        scores.len() == 1 && scores[0].feature_id.to_string() == awb
    })
    .await;
    eprintln!("deletion on B stopped scoring on A after {gone:?}");
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn instances_starting_together_share_one_schema_and_one_admin() {
    let temp = tempfile::tempdir().unwrap();
    let storage = Storage::fresh(temp.path());
    let starts: Vec<_> = (0..2)
        .map(|_| {
            let storage = storage.clone();
            std::thread::spawn(move || TestServer::start_on(&storage, &[]))
        })
        .collect();
    let servers: Vec<TestServer> = starts.into_iter().map(|start| start.join().expect("instance started")).collect();
    let printed_tokens = servers.iter().filter(|s| s.first_start_stdout.iter().any(|line| line.starts_with("pat_"))).count();
    assert_eq!(printed_tokens, 1, "exactly one instance bootstrapped");
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap().count() as i64;
    assert_eq!(storage.query_int("SELECT COUNT(*) FROM _sqlx_migrations"), migrations, "each migration applied once");
    assert_eq!(storage.query_int("SELECT COUNT(*) FROM _sqlx_migrations WHERE success"), migrations);
    assert_eq!(storage.query_int("SELECT COUNT(*) FROM bootstrap"), 1);
    assert_eq!(storage.query_int("SELECT COUNT(*) FROM teams"), 1);
    assert_eq!(storage.query_int("SELECT COUNT(*) FROM users"), 1);
    assert_eq!(storage.query_int("SELECT COUNT(*) FROM tokens"), 1);
    for server in &servers {
        Api::new(server, &server.admin_token).list_groups("").await.ok();
    }
}

/// `voxprint admin check` on the storage: voiceprints, audio files, damaged, orphans.
fn check(storage: &Storage) -> String {
    common::admin_output(storage, &["check"])
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn racing_changes_on_both_instances_leave_no_stray_audio() {
    let (_temp, storage, a, b) = two_instances(&[]);
    let apis = [Arc::new(Api::new(&a, &a.admin_token)), Arc::new(Api::new(&b, &b.admin_token))];

    // Six replacements of one voiceprint's recording at once: one recording remains, and each
    // replaced one is deleted by the request that replaced it.
    let group = apis[0].create_group("replaced").await;
    let voiceprint = apis[0].enroll(&group, "v", clip("flite-awb", 1)).await;
    let replacements: Vec<_> = (0..6)
        .map(|i| {
            let (api, path, clip) = (apis[i % 2].clone(), format!("{}/{voiceprint}", features_path(&group)), clip("flite-awb", 2 + i as u32));
            tokio::spawn(async move { api.put_form(&path, audio_form(clip, &[])).await })
        })
        .collect();
    for replacement in replacements {
        replacement.await.unwrap().ok();
    }
    assert_eq!(check(&storage), "voiceprints\t1\nrecordings\t1\naudio files\t1\ndamaged recordings\t0\norphan audio files\t0\nrecordings not retained\t0\n");

    // A group deleted while enrollments into it run on both instances: each enrollment commits
    // before the deletion (and goes with it) or finds the group gone; no audio stays behind.
    let doomed = apis[1].create_group("doomed").await;
    let enrollments: Vec<_> = (0..8)
        .map(|i| {
            let (api, path, clip) = (apis[i % 2].clone(), features_path(&doomed), clip("flite-slt", 1 + (i % 7) as u32));
            tokio::spawn(async move { api.post_form(&path, audio_form(clip, &[("name", &format!("v{i}"))])).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(50)).await;
    apis[0].delete(&format!("/v1/audio/voiceprint_groups/{doomed}")).await.ok();
    for enrollment in enrollments {
        let reply = enrollment.await.unwrap();
        assert!(reply.code() == 0 || reply.code() == 4200, "{:?}", reply.body);
    }
    assert_eq!(check(&storage), "voiceprints\t1\nrecordings\t1\naudio files\t1\ndamaged recordings\t0\norphan audio files\t0\nrecordings not retained\t0\n");
}
