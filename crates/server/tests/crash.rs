//! Killing the server with SIGKILL during enrollments loses nothing and leaves nothing
//! half-written: after a restart every voiceprint has its audio and every audio file a voiceprint.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::{audio_form, features_path, testdata, Api, TestServer};

fn blob_files(data_dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![data_dir.join("blobs")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if entry.path().is_dir() {
                pending.push(entry.path());
            } else {
                found.push(entry.path());
            }
        }
    }
    found
}

#[tokio::test]
async fn sigkill_during_enrollments_leaves_no_half_written_voiceprint() {
    let temp = tempfile::tempdir().unwrap();
    let clips: Vec<Vec<u8>> = (1..=7).map(|n| testdata(&format!("corpus/flite-rms/{n:02}.wav"))).collect();
    let server = TestServer::start_on(temp.path(), &[]);
    let token = server.admin_token.clone();
    let api = std::sync::Arc::new(Api::new(&server, &token));
    let group = api.create_group("crash").await;
    let attempts: Vec<_> = (0..10)
        .map(|i| {
            let (api, group, clip) = (api.clone(), group.clone(), clips[i % clips.len()].clone());
            tokio::spawn(async move {
                let form = audio_form(clip, &[("name", &format!("v{i}"))]);
                api.send_fallible(api.request(reqwest::Method::POST, &features_path(&group)).multipart(form)).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(120)).await;
    server.stop(); // SIGKILL, in the middle of the enrollments
    for attempt in attempts {
        let _ = attempt.await.unwrap();
    }
    // An audio file without a voiceprint, as a crash between the two writes would leave.
    let planted = temp.path().join(format!("blobs/voiceprints/{group}/1-0123456789ab.wav"));
    std::fs::create_dir_all(planted.parent().unwrap()).unwrap();
    std::fs::write(&planted, &clips[0]).unwrap();

    let server = TestServer::start_on(temp.path(), &["--orphan-audio-grace", "0"]);
    let api = Api::new(&server, &token);
    let deadline = Instant::now() + Duration::from_secs(10);
    while planted.exists() {
        assert!(Instant::now() < deadline, "the orphan audio file was not removed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let listed = api.get(&format!("{}?page_size=200", features_path(&group))).await;
    let items = listed.ok()["items"].as_array().unwrap().clone();
    assert_eq!(blob_files(temp.path()).len(), items.len(), "one audio file per voiceprint, no more");
    let uploaded: HashSet<&[u8]> = clips.iter().map(Vec::as_slice).collect();
    for item in &items {
        let audio = reqwest::get(item["audio_url"].as_str().unwrap()).await.unwrap();
        assert_eq!(audio.status(), 200);
        assert!(uploaded.contains(audio.bytes().await.unwrap().as_ref()), "whole, byte-exact audio");
    }
    eprintln!("{} of 10 enrollments were committed before the kill", items.len());
}
