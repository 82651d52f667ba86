//! Strict input: a JSON body is one object and nothing after it, every refusal names the field
//! and what it must be (never an internal type), and names must show something and read in the
//! order they are stored — through the API and `voxprint admin` alike.

mod common;

use common::{audio_form, clip, features_path, Api, TestServer};
use reqwest::Method;
use serde_json::json;

const GROUPS: &str = "/v1/audio/voiceprint_groups";

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn json_bodies_are_one_object_and_refusals_name_the_field() {
    let server = TestServer::start(&[]);
    let api = Api::new(&server, &server.admin_token);
    let post = |body: &str| api.request(Method::POST, GROUPS).header("content-type", "application/json").body(body.to_owned());
    for (body, expected) in [
        (r#"{"name":"x"} xx"#, "the request body must be one JSON value with nothing after it, but more follows at line 1 column 14"),
        (r#"{"name":"x"}{"name":"y"}"#, "the request body must be one JSON value with nothing after it, but more follows at line 1 column 13"),
        ("[1,2]", "the request body must be a JSON object, got an array"),
        ("\"x\"", "the request body must be a JSON object, got a string"),
        (r#"{"name":42}"#, "invalid field `name`: expected a string, got a number"),
        (r#"{"name":"x","desc":{"a":1}}"#, "invalid field `desc`: expected a string, got an object"),
    ] {
        assert_eq!(api.send(post(body)).await.err(4000, 400), expected, "{body}");
    }
    let twice = api.send(post(r#"{"name":"a","name":"b"}"#)).await;
    assert!(twice.err(4000, 400).starts_with("the field `name` is given twice"), "{twice:?}");
    assert_eq!(api.list_groups("").await.ok()["total"], 0, "nothing was created");

    let group = api.create_group("kept").await;
    let renamed = api.put_json(&format!("{GROUPS}/{group}"), json!({ "desc": ["x"] })).await;
    assert_eq!(renamed.err(4000, 400), "invalid field `desc`: expected a string, got an array");
    // The JSON form of the upload endpoints (the SDKs send it to rename a voiceprint).
    let features = api.request(Method::POST, &features_path(&group)).header("content-type", "application/json");
    let nested = api.send(features.body(r#"{"name":{"first":"A"}}"#)).await;
    assert_eq!(nested.err(4000, 400), "invalid field `name`: expected a string or a number, got an object");
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn names_must_show_something_and_hold_no_direction_overrides() {
    let server = TestServer::start(&[]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("room").await;
    let voiceprint = api.enroll(&group, "Alan", clip("flite-awb", 1)).await;
    let feature = format!("{}/{voiceprint}", features_path(&group));
    let invisible = ["\u{200B}", "\u{FEFF}", "\u{2060}\u{200D}", "\u{200F}", "\u{3164}", " \u{115F}\u{1160} ", "\u{FFA0}", "\u{180E}"];
    for name in invisible {
        let created = api.post_json(GROUPS, json!({ "name": name })).await;
        assert!(created.err(4000, 400).starts_with("name must contain a visible character"), "{name:?}: {created:?}");
        let renamed = api.put_json(&format!("{GROUPS}/{group}"), json!({ "name": name })).await;
        renamed.err(4000, 400);
        let enrolled = api.post_form(&features_path(&group), audio_form(clip("flite-awb", 2), &[("name", name)])).await;
        enrolled.err(4000, 400);
        api.put_form(&feature, reqwest::multipart::Form::new().text("name", name)).await.err(4000, 400);
    }
    for name in ["Alan\u{202E}gnp.exe", "\u{2066}Bob\u{2069}", "x\u{202A}y"] {
        let created = api.post_json(GROUPS, json!({ "name": name })).await;
        assert!(created.err(4000, 400).contains("bidirectional"), "{name:?}: {created:?}");
        let renamed = api.put_form(&feature, reqwest::multipart::Form::new().text("name", name)).await;
        assert!(renamed.err(4000, 400).contains("bidirectional"), "{name:?}: {renamed:?}");
    }
    // Invisible characters among visible ones stay allowed: a joiner in an emoji, a mark
    // ordering mixed Hebrew and digits.
    api.create_group("👩\u{200D}💻 team").await;
    api.create_group("שלום\u{200F} 2").await;
    let items = api.list_groups("").await.ok()["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 3);
    assert_eq!(api.get(&features_path(&group)).await.ok()["items"][0]["name"], "Alan");

    let team = server.default_team();
    for (args, expected) in [
        (vec!["create-team", "--name", "\u{200B}\u{FEFF}"], "--name must contain a visible character"),
        (vec!["create-user", "--team", &team, "--name", "\u{3164}"], "--name must contain a visible character"),
        (vec!["create-user", "--team", &team, "--name", "eve", "--nickname", "ad\u{202E}nim"], "--nickname must not contain bidirectional"),
    ] {
        let output = std::process::Command::new(common::BIN)
            .arg("admin")
            .args(&args)
            .args(server.storage.args())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success() && stderr.contains(expected), "{args:?}: {stderr}");
    }
    let users = common::admin_output(&server.storage, &["list-users"]);
    assert_eq!(users.lines().count(), 1, "{users}");
    assert_eq!(common::admin_output(&server.storage, &["list-teams"]).lines().count(), 1);
}
