//! The OpenAPI document: served and printed alike, every operation routed, and the contract of
//! the Coze voiceprint API as docs/api.md writes it down in its `contract` blocks.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{TestServer, BIN};
use serde_json::Value;

fn ours_from_cli() -> Value {
    let output = std::process::Command::new(BIN).arg("openapi").output().unwrap();
    assert!(output.status.success());
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn served_and_printed_documents_agree_and_every_operation_is_routed() {
    let server = TestServer::start(&[]);
    let served: Value = reqwest::get(server.url("/openapi.json")).await.unwrap().json().await.unwrap();
    assert_eq!(served, ours_from_cli());
    let http = reqwest::Client::new();
    let mut operations = 0;
    for (path, item) in served["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{group_id}", "1").replace("{feature_id}", "2").replace("{sample_id}", "3");
            let request = http.request(method.to_uppercase().parse().unwrap(), server.url(&concrete));
            let body: Value = request.send().await.unwrap().json().await.unwrap();
            assert_eq!(body["code"], 4100, "{method} {path} is served (it asks for a token): {body}");
            operations += 1;
        }
    }
    assert_eq!(operations, 16, "Coze's nine and Voxprint's seven");
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

/// What docs/api.md says about one operation: a fenced block with the info string `contract`,
/// one `key: value` line per item, lists comma-separated and `-` for an empty one.
struct Contract {
    /// The method in lower case, a space and the path: "put /v1/audio/voiceprint_groups/{group_id}".
    operation: String,
    permission: String,
    path: BTreeSet<String>,
    query: BTreeSet<String>,
    body: BTreeSet<String>,
    /// Coze's response fields, as `field_paths` writes them.
    response: BTreeSet<String>,
    /// The response fields Voxprint adds (marked `x-voxprint-extension` in ours).
    extensions: BTreeSet<String>,
}

impl Contract {
    /// Parses the lines between the fences.
    fn parse(block: &str) -> Contract {
        let mut items = BTreeMap::new();
        for line in block.lines() {
            let (key, value) = line.split_once(':').unwrap_or_else(|| panic!("not `key: value`: {line:?} in {block:?}"));
            assert!(items.insert(key.trim(), value.trim()).is_none(), "`{key}` twice in {block:?}");
        }
        let mut take = |key: &str| items.remove(key).unwrap_or_else(|| panic!("no `{key}` line in {block:?}"));
        let contract = Contract {
            operation: take("operation").to_owned(),
            permission: take("permission").to_owned(),
            path: list(take("path")),
            query: list(take("query")),
            body: list(take("body")),
            response: list(take("response")),
            extensions: list(take("extensions")),
        };
        assert!(items.is_empty(), "unknown lines {items:?} in {block:?}");
        contract
    }
}

/// A comma-separated list; `-` is the empty one.
fn list(value: &str) -> BTreeSet<String> {
    if value == "-" {
        return BTreeSet::new();
    }
    value.split(',').map(|item| item.trim().to_owned()).collect()
}

/// Every `contract` block of the Markdown text, in order.
fn contracts(markdown: &str) -> Vec<Contract> {
    markdown
        .split("```contract\n")
        .skip(1)
        .map(|rest| {
            let (block, _) = rest.split_once("\n```").unwrap_or_else(|| panic!("unclosed contract block: {rest:.80}"));
            Contract::parse(block)
        })
        .collect()
}

#[test]
fn matches_the_contract_in_docs_api_md() {
    let ours = ours_from_cli();
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md");
    let text = std::fs::read_to_string(&doc).unwrap_or_else(|err| panic!("reading {}: {err}", doc.display()));
    let mut compared = BTreeSet::new();
    let (mut our_extensions, mut documented_extensions) = (BTreeSet::new(), BTreeSet::new());
    for contract in contracts(&text) {
        let where_ = format!("docs/api.md, {}", contract.operation);
        let (method, path) = contract.operation.split_once(' ').unwrap_or_else(|| panic!("{where_}: not `method path`"));
        let our_op = &ours["paths"][path][method];
        assert!(our_op.is_object(), "{where_}: missing from ours");
        assert_eq!(our_op["x-coze-permission"], contract.permission, "{where_}: permission");
        assert_eq!(names(&our_op["parameters"], "path"), contract.path, "{where_}: path parameters");
        assert_eq!(names(&our_op["parameters"], "query"), contract.query, "{where_}: query parameters");
        // A WebSocket's "body" is its first message and its "response" the events it sends.
        let websocket = &our_op["x-websocket"];
        let our_body = if websocket.is_object() { fields(&ours, &websocket["client"]).coze } else { body_fields(our_op) };
        assert_eq!(our_body, contract.body, "{where_}: body fields");
        let our_response = if websocket.is_object() {
            &websocket["server"]
        } else {
            &our_op["responses"]["200"]["content"]["application/json"]["schema"]
        };
        let our_fields = fields(&ours, our_response);
        assert_eq!(our_fields.coze, contract.response, "{where_}: response fields");
        // Extra response fields only where the document lists them ("Voxprint extensions").
        our_extensions.extend(our_fields.extensions.iter().map(|field| format!("{}: {field}", contract.operation)));
        documented_extensions.extend(contract.extensions.iter().map(|field| format!("{}: {field}", contract.operation)));
        assert!(compared.insert(contract.operation.clone()), "{where_}: a second block for the same operation");
    }
    assert_eq!(compared.len(), 16, "Coze's nine endpoints and Voxprint's seven compared: {compared:?}");
    let all_ours: BTreeSet<String> = ours["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |method| format!("{method} {path}")))
        .collect();
    assert_eq!(compared, all_ours, "every operation of ours has its contract block");
    assert_eq!(our_extensions, documented_extensions, "extension fields");
}
