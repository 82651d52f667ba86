//! Strict input: a JSON body is one object and nothing after it, and every refusal names the
//! field and what it must be (never an internal type).

mod common;

use common::{features_path, Api, TestServer};
use reqwest::Method;
use serde_json::json;

const GROUPS: &str = "/v1/audio/voiceprint_groups";

#[tokio::test]
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
