//! Upgrading stored voiceprints to the current scoring (condition sets): `voxprint admin reembed`
//! and the same refresh that `serve` runs in the background at start, on whichever deployment the
//! harness is set to. A voiceprint from before condition sets is simulated by emptying its set
//! and its scoring version in the database.

mod common;

use std::time::{Duration, Instant};

use common::{admin_output, audio_form, clip, features_path, testdata, Api, Storage, TestServer, BIN};

/// Bytes of a complete condition set: 10 rows of 256 f32 (speaker/scoring.rs).
const SET_BYTES: i64 = 10 * 256 * 4;

/// What an old version left: one embedding, no condition set, for a voiceprint's first recording
/// and its further samples. Valid SQL on both backends.
const DOWNGRADE: &str = "UPDATE voiceprints SET conditions = embedding, scoring_version = 0";
const DOWNGRADE_SAMPLES: &str = "UPDATE voiceprint_samples SET conditions = embedding, scoring_version = 0";

fn downgrade(storage: &Storage) {
    storage.execute_sql(DOWNGRADE);
    storage.execute_sql(DOWNGRADE_SAMPLES);
}

/// The samples of a WAV file's `data` chunk: raw PCM.
fn pcm_of(wav: &[u8]) -> Vec<u8> {
    let at = wav.windows(4).position(|w| w == b"data").expect("a data chunk") + 8;
    wav[at..].to_vec()
}

/// Voiceprint ID → score for one identification.
async fn scores(api: &Api, group: &str, probe: Vec<u8>) -> Vec<(String, f64)> {
    api.identify(group, probe, None)
        .await
        .iter()
        .map(|item| (item.feature_id.to_string(), item.score))
        .collect()
}

/// The same voiceprints, ranked alike, with the same scores up to the encoder's batching noise.
fn assert_same(after: &[(String, f64)], before: &[(String, f64)]) {
    assert_eq!(after.len(), before.len());
    for ((id_after, after), (id_before, before)) in after.iter().zip(before) {
        assert_eq!(id_after, id_before, "{after:?} vs {before:?}");
        assert!((after - before).abs() < 0.05, "{after} vs {before}");
    }
}

/// Recordings (first ones and further samples) with a current condition set.
fn current_sets(storage: &Storage) -> i64 {
    ["voiceprints", "voiceprint_samples"]
        .iter()
        .map(|table| {
            storage.query_int(&format!(
                "SELECT COUNT(*) FROM {table} WHERE scoring_version = 1 AND length(conditions) = {SET_BYTES}"
            ))
        })
        .sum()
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn reembed_restores_the_condition_sets_from_the_stored_audio() {
    let temp = tempfile::tempdir().unwrap();
    let storage = Storage::fresh(temp.path());
    let server = TestServer::start_on(&storage, &[]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("upgrade").await;
    for voice in ["flite-awb", "flite-slt", "festival-ked"] {
        api.enroll(&group, voice, clip(voice, 1)).await;
    }
    // Raw PCM at 8 kHz: re-embedding must read it back at its own rate.
    let pcm = pcm_of(&testdata("corpus/degraded/telephone/festival-cs-dita/02.wav"));
    let form = audio_form(pcm, &[("name", "dita"), ("sample_rate", "8000")]);
    let dita = api.post_form(&features_path(&group), form).await.ok()["id"].as_str().unwrap().to_owned();
    let sample = clip("festival-cs-dita", 3);
    api.post_form(&format!("{}/{dita}/samples", features_path(&group)), audio_form(sample, &[])).await.ok();
    assert_eq!(current_sets(&storage), 5, "enrollments and samples store a complete condition set");
    let probe = || clip("flite-slt", 3);
    let before = scores(&api, &group, probe()).await;
    server.stop();

    downgrade(&storage);
    assert_eq!(current_sets(&storage), 0);
    let out = admin_output(&storage, &["reembed"]);
    assert!(out.contains("refreshed\t5") && out.contains("not refreshed\t0"), "{out}");
    assert_eq!(current_sets(&storage), 5);
    let again = admin_output(&storage, &["reembed"]);
    assert!(again.contains("refreshed\t0"), "a second run has nothing to do: {again}");

    // The same recordings give the same voiceprints, so the same scores.
    let server = TestServer::start_on(&storage, &[]);
    let api = Api::new(&server, &server.admin_token);
    assert_same(&scores(&api, &group, probe()).await, &before);
    server.stop();

    // `serve` refreshes in the background, without a command; meanwhile it answers.
    downgrade(&storage);
    let server = TestServer::start_on(&storage, &[]);
    let api = Api::new(&server, &server.admin_token);
    let stale = scores(&api, &group, probe()).await;
    assert_eq!(stale.len(), 4, "voiceprints without a set are still scored");
    let deadline = Instant::now() + Duration::from_secs(60);
    while current_sets(&storage) < 5 {
        assert!(Instant::now() < deadline, "serve did not refresh the voiceprints");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_same(&scores(&api, &group, probe()).await, &before);
    server.stop();
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn reembed_lists_a_voiceprint_whose_audio_is_damaged_and_keeps_it() {
    let temp = tempfile::tempdir().unwrap();
    let storage = Storage::fresh(temp.path());
    let server = TestServer::start_on(&storage, &[]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("damaged").await;
    let id = api.enroll(&group, "awb", clip("flite-awb", 1)).await;
    api.enroll(&group, "slt", clip("flite-slt", 1)).await;
    server.stop();

    storage.execute_sql(DOWNGRADE);
    storage.execute_sql(&format!("UPDATE voiceprints SET audio_sha256 = embedding WHERE id = {id}"));
    let output = std::process::Command::new(BIN)
        .args(["admin", "reembed"])
        .args(storage.args())
        .env("VOXPRINT_LOG", "warn")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(!output.status.success(), "a voiceprint that could not be refreshed fails the command");
    assert!(stdout.contains("refreshed\t1") && stdout.contains("not refreshed\t1"), "{stdout}");
    assert!(stderr.contains(&format!("voiceprint {id}")) && stderr.contains("checksum"), "{stderr}");

    // It stays, scored from its single embedding.
    let server = TestServer::start_on(&storage, &[]);
    let api = Api::new(&server, &server.admin_token);
    let ranked = scores(&api, &group, clip("flite-awb", 2)).await;
    assert_eq!(ranked.len(), 2);
    assert_eq!(ranked[0].0, id, "the old voiceprint still identifies its speaker");
    server.stop();
}
