//! The OpenAPI document: served and printed alike, every operation routed, and the same
//! contract as Coze's own specs in ../shared/reference/coze-openapi.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{TestServer, BIN};
use serde_json::Value;

fn ours_from_cli() -> Value {
    let output = std::process::Command::new(BIN).arg("openapi").output().unwrap();
    assert!(output.status.success());
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
async fn served_and_printed_documents_agree_and_every_operation_is_routed() {
    let server = TestServer::start(&[]);
    let served: Value = reqwest::get(server.url("/openapi.json")).await.unwrap().json().await.unwrap();
    assert_eq!(served, ours_from_cli());
    let http = reqwest::Client::new();
    let mut operations = 0;
    for (path, item) in served["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{group_id}", "1").replace("{feature_id}", "2");
            let request = http.request(method.to_uppercase().parse().unwrap(), server.url(&concrete));
            let body: Value = request.send().await.unwrap().json().await.unwrap();
            assert_eq!(body["code"], 4100, "{method} {path} is served (it asks for a token): {body}");
            operations += 1;
        }
    }
    assert_eq!(operations, 9);
}

/// Resolves a local `$ref` within `doc`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(doc, doc.pointer(pointer).unwrap_or_else(|| panic!("dangling {reference}")))
        }
        None => schema,
    }
}

/// Property paths of a schema, following `$ref`s and array items: "items[].user_info.id", …
/// Coze's fields go to `coze`; those marked `x-voxprint-extension` (extra fields the SDKs
/// ignore) go to `extensions`.
struct Fields {
    coze: BTreeSet<String>,
    extensions: BTreeSet<String>,
}

fn field_paths(doc: &Value, schema: &Value, prefix: &str, out: &mut Fields) {
    let schema = resolve(doc, schema);
    if let Some(items) = schema.get("items") {
        field_paths(doc, items, &format!("{prefix}[]"), out);
    }
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties {
            let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
            if property["x-voxprint-extension"] == true {
                out.extensions.insert(path);
                continue;
            }
            out.coze.insert(path.clone());
            field_paths(doc, property, &path, out);
        }
    }
}

fn fields(doc: &Value, schema: &Value) -> Fields {
    let mut fields = Fields { coze: BTreeSet::new(), extensions: BTreeSet::new() };
    field_paths(doc, schema, "", &mut fields);
    fields
}

fn names(params: &Value, location: &str) -> BTreeSet<String> {
    params
        .as_array()
        .map(|params| {
            params.iter().filter(|p| p["in"] == location).map(|p| p["name"].as_str().unwrap().to_owned()).collect()
        })
        .unwrap_or_default()
}

fn body_fields(operation: &Value) -> BTreeSet<String> {
    operation["requestBody"]["content"]
        .as_object()
        .map(|content| {
            content
                .values()
                .flat_map(|media| media["schema"]["properties"].as_object().unwrap().keys().cloned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn matches_the_coze_specs() {
    let ours = ours_from_cli();
    let reference_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/coze-openapi");
    let entries = std::fs::read_dir(&reference_dir)
        .unwrap_or_else(|err| panic!("the Coze specs must be beside the repository at {}: {err}", reference_dir.display()));
    let mut compared = 0;
    let mut extensions = BTreeSet::new();
    for entry in entries.flatten().filter(|e| e.path().extension().is_some_and(|x| x == "yaml")) {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let theirs: Value = serde_yaml::from_str(&text).unwrap();
        for (their_path, item) in theirs["paths"].as_object().unwrap() {
            // Coze writes path parameters as `:name`.
            let path = their_path
                .split('/')
                .map(|s| s.strip_prefix(':').map_or(s.to_owned(), |name| format!("{{{name}}}")))
                .collect::<Vec<_>>()
                .join("/");
            for (method, their_op) in item.as_object().unwrap() {
                let where_ = format!("{} {method} {path}", entry.file_name().to_string_lossy());
                let our_op = &ours["paths"][&path][method];
                assert!(our_op.is_object(), "{where_}: missing from ours");
                assert_eq!(our_op["x-coze-permission"], their_op["x-coze-permission"], "{where_}: permission");
                for location in ["path", "query"] {
                    assert_eq!(names(&our_op["parameters"], location), names(&their_op["parameters"], location), "{where_}: {location} parameters");
                }
                assert_eq!(body_fields(our_op), body_fields(their_op), "{where_}: body fields");
                let their_response = &their_op["responses"]["200"]["content"]["application/json"]["schema"];
                let our_response = &our_op["responses"]["200"]["content"]["application/json"]["schema"];
                let (their_fields, our_fields) = (fields(&theirs, their_response), fields(&ours, our_response));
                assert_eq!(our_fields.coze, their_fields.coze, "{where_}: response fields");
                extensions.extend(our_fields.extensions.into_iter().map(|field| format!("{method} {path}: {field}")));
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 9, "all nine endpoints compared");
    // Extra response fields only where ../shared/reference/API.md ("Voxprint extensions") has them.
    let identify = "post /v1/audio/voiceprint_groups/{group_id}/speaker_identify";
    let enroll = "post /v1/audio/voiceprint_groups/{group_id}/features";
    let expected = [
        format!("{enroll}: data.quality"),
        format!("{identify}: data.feature_score_list[].matched"),
        format!("{identify}: data.threshold"),
    ];
    assert_eq!(extensions, BTreeSet::from(expected));
}
