//! Endpoints 5–9 through HTTP against the real binary, with the real speaker model.

mod common;

use common::{audio_form, blob_count, clip, features_path, pcm_of, wav_of, Api, TestServer};
use reqwest::multipart::{Form, Part};
use serde_json::{json, Value};


#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn enroll_list_download_update_delete() {
    let (server, clock) = TestServer::start_with_clock(&[]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("office").await;
    let recording = clip("flite-awb", 1);
    let created = api
        .post_form(&features_path(&group), audio_form(recording.clone(), &[("name", "Alan"), ("desc", "the boss")]))
        .await;
    let id = created.ok()["id"].as_str().unwrap().to_owned();

    let listed = api.get(&features_path(&group)).await;
    let data = listed.ok();
    assert_eq!(data["total"], 1);
    let item = &data["items"][0];
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["group_id"], group.as_str());
    assert_eq!((item["name"].as_str(), item["desc"].as_str()), (Some("Alan"), Some("the boss")));
    assert!(item["icon_url"].as_str().unwrap().starts_with(&server.base_url));
    assert_eq!(item["user_info"]["name"], "admin");
    assert_eq!(item["created_at"], item["updated_at"]);
    assert_eq!(api.list_groups("").await.ok()["items"][0]["feature_count"], 1);

    // The audio link needs no token, gives the exact bytes, and refuses tampering.
    let audio_url = item["audio_url"].as_str().unwrap().to_owned();
    let download = reqwest::get(&audio_url).await.unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.headers()["content-type"], "audio/wav");
    assert_eq!(download.bytes().await.unwrap().as_ref(), recording.as_slice());
    let tampered = audio_url.replace("expires=", "expires=9");
    let refused = Api::new(&server, "").send(reqwest::Client::new().get(&tampered)).await;
    refused.err(4101, 403);
    let unsigned = audio_url.split('?').next().unwrap().to_owned();
    Api::new(&server, "").send(reqwest::Client::new().get(&unsigned)).await.err(4101, 403);

    // Rename without a file, as multipart and as JSON (the SDKs send either).
    let path = format!("{}/{id}", features_path(&group));
    clock.advance(1);
    api.put_form(&path, Form::new().text("name", "Alan T.")).await.ok();
    api.put_json(&path, json!({ "desc": "still the boss" })).await.ok();
    let item = api.get(&features_path(&group)).await.ok()["items"][0].clone();
    assert_eq!((item["name"].as_str(), item["desc"].as_str()), (Some("Alan T."), Some("still the boss")));
    assert!(item["updated_at"].as_i64() > item["created_at"].as_i64());

    // A new file replaces audio (and embedding); the old link stops working.
    let replacement = clip("flite-awb", 2);
    api.put_form(&path, audio_form(replacement.clone(), &[])).await.ok();
    let new_url = api.get(&features_path(&group)).await.ok()["items"][0]["audio_url"].as_str().unwrap().to_owned();
    assert_eq!(reqwest::get(&new_url).await.unwrap().bytes().await.unwrap().as_ref(), replacement.as_slice());
    assert_eq!(reqwest::get(&audio_url).await.unwrap().status(), 403, "old link refused after replacement");

    api.delete(&path).await.ok();
    assert_eq!(api.get(&features_path(&group)).await.ok()["total"], 0);
    assert_eq!(api.list_groups("").await.ok()["items"][0]["feature_count"], 0);
    assert_eq!(reqwest::get(&new_url).await.unwrap().status(), 403);
    api.delete(&path).await.err(4200, 404);
    assert_eq!(blob_count(&server), 0, "no audio left behind");
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn identify_ranks_the_speaker_first_and_follows_changes() {
    let server = TestServer::start(&[]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("door").await;
    assert!(api.identify(&group, clip("flite-rms", 2), None).await.is_empty(), "empty group, empty list");

    let awb = api.enroll(&group, "awb", clip("flite-awb", 1)).await;
    let slt = api.enroll(&group, "slt", clip("flite-slt", 1)).await;
    let ked = api.enroll(&group, "ked", clip("festival-ked", 1)).await;
    let scores = api.identify(&group, clip("flite-slt", 3), None).await;
    assert_eq!(scores.len(), 3);
    assert_eq!(scores[0].feature_id.to_string(), slt);
    assert_eq!(scores[0].feature_name, "slt");
    let values: Vec<f64> = scores.iter().map(|s| s.score).collect();
    assert!(values.windows(2).all(|w| w[0] >= w[1]), "best first: {values:?}");
    assert!(values.iter().all(|v| (0.0..=100.0).contains(v)), "{values:?}");

    let top = api.identify(&group, clip("festival-ked", 4), Some(1)).await;
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].feature_id.to_string(), ked);

    // Changes are seen by the very next identification (the cache is versioned).
    api.delete(&format!("{}/{slt}", features_path(&group))).await.ok();
    let after_delete = api.identify(&group, clip("flite-slt", 3), None).await;
    assert!(after_delete.iter().all(|s| s.feature_id.to_string() != slt));
    assert_eq!(after_delete.len(), 2);
    api.put_form(&format!("{}/{awb}", features_path(&group)), audio_form(clip("flite-slt", 1), &[("name", "now slt")]))
        .await
        .ok();
    let after_update = api.identify(&group, clip("flite-slt", 4), None).await;
    assert_eq!(after_update[0].feature_id.to_string(), awb);
    assert_eq!(after_update[0].feature_name, "now slt");
}

/// Asserts the answer's decision fields: `threshold` is the server's, and every item is
/// `matched` exactly when its score reaches it. Returns the items.
fn decided(data: &Value, threshold: f64) -> &Vec<Value> {
    assert_eq!(data["threshold"].as_f64(), Some(threshold), "{data}");
    let items = data["feature_score_list"].as_array().expect("feature_score_list");
    for item in items {
        let score = item["score"].as_f64().unwrap();
        assert_eq!(item["matched"].as_bool(), Some(score >= threshold), "{item}");
    }
    items
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn identify_reports_the_configured_threshold_and_matched() {
    let server = TestServer::start(&["--match-threshold", "55.5"]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("decided").await;
    let empty = api.identify_data(&group, clip("flite-slt", 3), &[]).await;
    assert!(decided(&empty, 55.5).is_empty(), "an empty group still reports the threshold");

    api.enroll(&group, "awb", clip("flite-awb", 1)).await;
    let slt = api.enroll(&group, "slt", clip("flite-slt", 1)).await;
    let both = api.identify_data(&group, clip("flite-slt", 3), &[]).await;
    let items = decided(&both, 55.5);
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["feature_id"], slt.as_str());
    let top = api.identify_data(&group, clip("flite-slt", 3), &[("top_k", "1")]).await;
    assert_eq!(decided(&top, 55.5), &items[..1], "top_k cuts the list, not the decision");
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn thresholds_zero_and_hundred_accept_all_and_none() {
    for (threshold, flag) in [(0.0, "0"), (100.0, "100")] {
        let server = TestServer::start(&["--match-threshold", flag]);
        let api = Api::new(&server, &server.admin_token);
        let group = api.create_group("extremes").await;
        api.enroll(&group, "awb", clip("flite-awb", 1)).await;
        api.enroll(&group, "slt", clip("flite-slt", 1)).await;
        let data = api.identify_data(&group, clip("flite-awb", 3), &[]).await;
        let items = decided(&data, threshold);
        assert_eq!(items.len(), 2);
        let matched = items.iter().filter(|item| item["matched"] == true).count();
        // Only a perfect 100 reaches the top threshold, and another recording never scores it.
        let expected = if threshold == 0.0 { 2 } else { 0 };
        assert_eq!(matched, expected, "threshold {flag}: {data}");
    }
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn raw_pcm_is_accepted_with_its_rate_and_channels() {
    let server = TestServer::start(&[]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("pcm").await;
    let wav = clip("flite-kal16", 1);
    let pcm = wav[44..].to_vec(); // the corpus is canonical 44-byte-header PCM WAV
    let form = Form::new()
        .part("file", Part::bytes(pcm.clone()).file_name("clip.pcm"))
        .text("name", "kal")
        .text("sample_rate", "16000")
        .text("channel", "1");
    let id = api.post_form(&features_path(&group), form).await.ok()["id"].as_str().unwrap().to_owned();
    let item = api.get(&features_path(&group)).await.ok()["items"][0].clone();
    let download = reqwest::get(item["audio_url"].as_str().unwrap()).await.unwrap();
    assert!(download.headers()["content-type"].to_str().unwrap().starts_with("audio/L16"));
    assert_eq!(download.bytes().await.unwrap().as_ref(), pcm.as_slice());
    let probe = clip("flite-kal16", 2)[44..].to_vec();
    let data = api.identify_data(&group, probe, &[("sample_rate", "16000")]).await;
    assert_eq!(data["feature_score_list"][0]["feature_id"], id.as_str());
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn bad_uploads_get_the_coze_file_errors() {
    let server = TestServer::start(&["--max-audio-bytes", "300000"]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("errors").await;
    let create = features_path(&group);
    let identify = format!("/v1/audio/voiceprint_groups/{group}/speaker_identify");
    let good = clip("flite-awb", 1);

    let no_file = api.post_form(&create, Form::new().text("name", "x")).await;
    assert!(no_file.err(4300, 400).contains("file"));
    api.post_form(&create, audio_form(Vec::new(), &[("name", "x")])).await.err(4300, 400);
    let two = audio_form(good.clone(), &[("name", "x")]).part("file", Part::bytes(good.clone()).file_name("b.wav"));
    api.post_form(&create, two).await.err(4301, 400);
    let big = vec![0u8; 400_000];
    let too_large = api.post_form(&create, audio_form(big, &[("name", "x")])).await;
    assert!(too_large.err(4302, 413).contains("300000"));
    let png = [b"\x89PNG\r\n\x1a\n".as_slice(), &[0u8; 2000]].concat();
    api.post_form(&create, audio_form(png, &[("name", "x")])).await.err(4303, 415);
    let corrupt = good[..50].to_vec(); // a WAV header cut short
    api.post_form(&create, audio_form(corrupt, &[("name", "x")])).await.err(4304, 400);
    let silence = wav_of(&vec![0i16; 16000 * 3], 16000);
    let quiet = api.post_form(&create, audio_form(silence, &[("name", "x")])).await;
    assert!(quiet.err(4304, 400).contains("speech"), "{:?}", quiet.body);
    let too_short = wav_of(&pcm_of(&good)[..12000], 16000);
    assert!(api.post_form(&create, audio_form(too_short, &[("name", "x")])).await.err(4304, 400).contains("speech"));

    for (field, value) in [("sample_rate", "7999"), ("sample_rate", "abc"), ("channel", "3"), ("channel", "0")] {
        let reply = api.post_form(&create, audio_form(good.clone(), &[("name", "x"), (field, value)])).await;
        assert!(reply.err(4000, 400).contains(field));
    }
    for value in ["0", "-1", "two"] {
        let reply = api.post_form(&identify, audio_form(good.clone(), &[("top_k", value)])).await;
        assert!(reply.err(4000, 400).contains("top_k"));
    }
    api.post_form(&create, audio_form(good.clone(), &[])).await.err(4000, 400);
    api.post_json(&create, json!({ "name": "x" })).await.err(4300, 400);
    let wrong_type = api.send(api.request(reqwest::Method::POST, &create).header("content-type", "text/plain").body("x")).await;
    wrong_type.err(4000, 400);
    assert_eq!(api.get(&create).await.ok()["total"], 0, "nothing stored by failed requests");
    assert_eq!(blob_count(&server), 0);
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn voiceprint_quota_holds_under_concurrency() {
    let server = TestServer::start(&["--max-voiceprints-per-group", "3"]);
    let api = std::sync::Arc::new(Api::new(&server, &server.admin_token));
    let group = api.create_group("quota").await;
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let (api, group) = (api.clone(), group.clone());
            tokio::spawn(async move {
                let form = audio_form(clip("flite-rms", 1 + i % 7), &[("name", &format!("v{i}"))]);
                api.post_form(&features_path(&group), form).await
            })
        })
        .collect();
    assert_eq!(common::count_quota_race(attempts).await, 3);
    assert_eq!(api.get(&features_path(&group)).await.ok()["total"], 3);
    assert_eq!(blob_count(&server), 3, "refused uploads leave no audio behind");
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn only_the_creator_changes_a_voiceprint_and_groups_take_theirs_along() {
    let server = TestServer::start(&[]);
    let common::Cast { admin, mate, outsider, .. } = server.cast();

    let group = admin.create_group("shared").await;
    let id = admin.enroll(&group, "mine", clip("flite-awb", 1)).await;
    let path = format!("{}/{id}", features_path(&group));
    assert!(mate.put_form(&path, Form::new().text("name", "x")).await.err(4101, 403).contains("creator"));
    mate.delete(&path).await.err(4101, 403);
    assert_eq!(mate.get(&features_path(&group)).await.ok()["total"], 1, "teammates may list");
    outsider.get(&features_path(&group)).await.err(4200, 404);
    outsider.delete(&path).await.err(4200, 404);
    outsider.post_form(&features_path(&group), audio_form(clip("flite-awb", 2), &[("name", "x")])).await.err(4200, 404);
    let identify = format!("/v1/audio/voiceprint_groups/{group}/speaker_identify");
    outsider.post_form(&identify, audio_form(clip("flite-awb", 2), &[])).await.err(4200, 404);
    let other_group = admin.create_group("other").await;
    admin.delete(&format!("{}/{id}", features_path(&other_group))).await.err(4200, 404);

    let (_, reader_token) = server.new_user(&server.default_team(), "reader", "listVoiceprintFeature");
    let reader = Api::new(&server, &reader_token);
    reader.get(&features_path(&group)).await.ok();
    let msg = reader.post_form(&identify, audio_form(clip("flite-awb", 2), &[])).await.err(4101, 403).to_owned();
    assert!(msg.contains("identifyInVoiceprintGroup"), "{msg}");

    admin.enroll(&group, "second", clip("flite-rms", 1)).await;
    assert_eq!(blob_count(&server), 2);
    let total_before = admin.list_groups("").await.ok()["total"].as_i64().unwrap();
    admin.delete(&format!("/v1/audio/voiceprint_groups/{group}")).await.ok();
    assert_eq!(blob_count(&server), 0, "deleting a group deletes its voiceprints' audio");
    assert_eq!(admin.list_groups("").await.ok()["total"], total_before - 1, "the team's count follows the cascade");
    admin.get(&features_path(&group)).await.err(4200, 404);
}


#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn audio_links_expire() {
    let (server, clock) = TestServer::start_with_clock(&["--audio-url-ttl", "1"]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("ttl").await;
    api.enroll(&group, "awb", clip("flite-awb", 1)).await;
    let url = api.get(&features_path(&group)).await.ok()["items"][0]["audio_url"].as_str().unwrap().to_owned();
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 200);
    clock.advance(2);
    let expired = Api::new(&server, "").send(reqwest::Client::new().get(&url)).await;
    assert!(expired.err(4101, 403).contains("expired"));
}

/// A fixture of the audio crate's tests (`crates/audio/tests/data`, made by its `make.sh` from
/// `testdata/corpus/flite-slt/02.wav`).
fn audio_fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../audio/tests/data").join(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn opus_voice_messages_and_browser_recordings_enroll_and_identify() {
    let server = TestServer::start(&[]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("opus").await;
    let voice_message = audio_fixture("mono16k.opus");
    let slt = api.enroll(&group, "slt", voice_message.clone()).await;
    api.enroll(&group, "awb", clip("flite-awb", 1)).await;
    api.enroll(&group, "rms", clip("flite-rms", 1)).await;

    let item = api.get(&features_path(&group)).await.ok()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["id"] == slt.as_str())
        .unwrap()
        .clone();
    let download = reqwest::get(item["audio_url"].as_str().unwrap()).await.unwrap();
    assert_eq!(download.headers()["content-type"], "audio/ogg");
    assert_eq!(download.bytes().await.unwrap().as_ref(), voice_message.as_slice(), "stored byte for byte");

    // Another utterance of the same voice finds the voiceprint enrolled from Opus, and the same
    // voice recorded by Chromium's MediaRecorder (WebM) is identified as it is.
    for (probe, what) in [(clip("flite-slt", 3), "WAV"), (audio_fixture("mono-chromium.webm"), "WebM/Opus")] {
        let scores = api.identify(&group, probe, None).await;
        assert_eq!(scores[0].feature_id.to_string(), slt, "{what}: {scores:?}");
        assert!(scores[0].matched, "{what}: {scores:?}");
    }
}
