//! What answers tell browsers: recordings are served as the format detected from their bytes,
//! never as the type a client declared (`audio/html` must not come back as a page), and every
//! answer carries `X-Content-Type-Options: nosniff`.

mod common;

use std::collections::HashMap;

use common::{clip, features_path, Api, TestServer};
use reqwest::multipart::{Form, Part};
use reqwest::Method;

/// The voiceprints of the group by ID, with the content type their `audio_url` serves.
async fn download_types(api: &Api, group: &str) -> HashMap<String, String> {
    let mut types = HashMap::new();
    for item in api.get(&features_path(group)).await.ok()["items"].as_array().unwrap() {
        let download = reqwest::get(item["audio_url"].as_str().unwrap()).await.unwrap();
        assert_eq!(download.status(), 200);
        assert_eq!(download.headers()["x-content-type-options"], "nosniff");
        let content_type = download.headers()["content-type"].to_str().unwrap().to_owned();
        types.insert(item["id"].as_str().unwrap().to_owned(), content_type);
    }
    types
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn downloads_carry_the_type_detected_from_the_bytes() {
    let server = TestServer::start(&[]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("types").await;
    let declared = |bytes: Vec<u8>, mime: &str| Part::bytes(bytes).file_name("clip.html").mime_str(mime).unwrap();
    let wav = Form::new().part("file", declared(clip("flite-awb", 1), "audio/html")).text("name", "wav");
    let wav_id = api.post_form(&features_path(&group), wav).await.ok()["id"].as_str().unwrap().to_owned();
    let pcm = clip("flite-kal16", 1)[44..].to_vec(); // the corpus is canonical 44-byte-header PCM WAV
    let pcm = Form::new().part("file", declared(pcm, "text/html")).text("name", "pcm").text("sample_rate", "16000");
    let pcm_id = api.post_form(&features_path(&group), pcm).await.ok()["id"].as_str().unwrap().to_owned();
    let types = download_types(&api, &group).await;
    assert_eq!(types[&wav_id], "audio/wav");
    assert_eq!(types[&pcm_id], "audio/L16;rate=16000;channels=1");

    // Rows stored by older versions hold the type the client declared: served by the bytes too.
    let stored = format!("UPDATE voiceprints SET audio_content_type = 'audio/html' WHERE id = {wav_id}");
    assert_eq!(server.storage.execute_sql(&stored), 1);
    assert_eq!(download_types(&api, &group).await[&wav_id], "audio/wav");
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn every_answer_says_nosniff() {
    let server = TestServer::start(&[]);
    let api = Api::new(&server, &server.admin_token);
    let anonymous = reqwest::Client::new();
    let groups = "/v1/audio/voiceprint_groups";
    let requests = [
        anonymous.get(server.url("/healthz")),
        anonymous.get(server.url("/readyz")),
        anonymous.get(server.url("/metrics")),
        anonymous.get(server.url("/openapi.json")),
        anonymous.get(server.url("/console")),
        anonymous.get(server.url("/assets/avatar.svg")),
        anonymous.get(server.url(groups)),
        anonymous.get(server.url("/v1/audio/voiceprint_audio/1?expires=1&signature=00")),
        anonymous.get(server.url("/v1/nothing/here")),
        api.request(Method::GET, groups),
        api.request(Method::PATCH, groups),
        api.request(Method::POST, groups).header("content-type", "application/json").body("{"),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        let (status, url) = (response.status(), response.url().path().to_owned());
        assert_eq!(response.headers().get("x-content-type-options").map(|v| v.as_bytes()), Some(&b"nosniff"[..]), "{status} {url}");
    }
}
