//! The OpenAPI 3 document of the voiceprint API, built from the same permissions, limits and
//! error codes the server enforces. Served at `/openapi.json`, printed by `voxprint openapi`.
//!
//! Each endpoint is one row of `ENDPOINTS`; a test checks every row against the router (each
//! path and method is served) and against the Coze voiceprint API as docs/api.md writes it down
//! (same paths, methods, permissions, parameters and response fields; Voxprint's extra response
//! fields are marked `x-voxprint-extension`).

use serde_json::{json, Map, Value};

use voxprint_api::limits::{DEFAULT_PAGE_SIZE, MAX_DESC_CHARS, MAX_NAME_CHARS, MAX_PAGE_SIZE};

use crate::domain::Permission;

/// A query, path or form parameter.
#[derive(Clone, Copy)]
struct Param {
    name: &'static str,
    kind: Kind,
    required: bool,
    description: &'static str,
}

#[derive(Clone, Copy)]
enum Kind {
    /// A decimal ID or free text.
    Text,
    Integer,
    /// An uploaded audio file.
    File,
    Name,
    Description,
    PageNum,
    PageSize,
}

enum Body {
    None,
    Json(&'static [Param]),
    Multipart(&'static [Param]),
    /// The request is upgraded to a WebSocket: no body and no 200, but messages, described in
    /// `x-websocket` (the client's first message and the server's events).
    WebSocket,
}

struct Endpoint {
    method: &'static str,
    path: &'static str,
    operation_id: &'static str,
    summary: &'static str,
    permission: Permission,
    query: &'static [Param],
    body: Body,
    /// The schema of `data` in a successful response, if there is one.
    data: Option<&'static str>,
}

/// What every name must be, appended to the descriptions of name fields (see `domain/text.rs`).
macro_rules! name_rules {
    () => {
        " Surrounding whitespace is trimmed; then 1–20 characters, at least one of them visible (not only \
         invisible or formatting characters such as U+200B or U+FEFF), with no control characters and no \
         bidirectional embedding, override or isolate controls (U+202A–U+202E, U+2066–U+2069)."
    };
}

const fn param(name: &'static str, kind: Kind, required: bool, description: &'static str) -> Param {
    Param { name, kind, required, description }
}

const PAGE: [Param; 2] = [
    param("page_num", Kind::PageNum, false, "Page number, from 1."),
    param("page_size", Kind::PageSize, false, "Items per page."),
];
const GROUP_FIELDS: [Param; 2] = [
    param("name", Kind::Name, true, concat!("Group name.", name_rules!())),
    param("desc", Kind::Description, false, "Description."),
];
const GROUP_UPDATE_FIELDS: [Param; 2] = [
    param("name", Kind::Name, false, concat!("New group name.", name_rules!())),
    param("desc", Kind::Description, false, "New description."),
];
const PCM_FIELDS_NOTE: &str = "Sample rate of raw 16-bit PCM uploads, 8000–48000 (default 16000); other formats carry their own.";
const FEATURE_FIELDS: [Param; 5] = [
    param("file", Kind::File, true, "The recording: WAV, raw 16-bit little-endian PCM, MP3, FLAC, OGG Vorbis, M4A/AAC or Opus (in Ogg or WebM, as voice messages and browsers record it); at most 4 MiB by default and 120 s of audio; one speaker, at least 1 s of speech."),
    param("name", Kind::Name, true, concat!("Voiceprint name.", name_rules!())),
    param("desc", Kind::Description, false, "Description."),
    param("sample_rate", Kind::Integer, false, PCM_FIELDS_NOTE),
    param("channel", Kind::Integer, false, "Channels of raw PCM uploads, 1 or 2 (default 1)."),
];
const FEATURE_UPDATE_FIELDS: [Param; 5] = [
    param("file", Kind::File, false, "A new recording; replaces audio and embedding at once."),
    param("name", Kind::Name, false, concat!("New voiceprint name.", name_rules!())),
    param("desc", Kind::Description, false, "New description."),
    param("sample_rate", Kind::Integer, false, PCM_FIELDS_NOTE),
    param("channel", Kind::Integer, false, "Channels of raw PCM uploads, 1 or 2 (default 1)."),
];
const IDENTIFY_FIELDS: [Param; 4] = [
    param("file", Kind::File, true, "The recording to identify (same formats as enrollment)."),
    param("top_k", Kind::Integer, false, "Keep the k best voiceprints (default: all)."),
    param("sample_rate", Kind::Integer, false, PCM_FIELDS_NOTE),
    param("channel", Kind::Integer, false, "Channels of raw PCM uploads, 1 or 2 (default 1)."),
];
const VERIFY_FIELDS: [Param; 3] = [
    param("file", Kind::File, true, "The recording to verify (same formats as enrollment)."),
    param("sample_rate", Kind::Integer, false, PCM_FIELDS_NOTE),
    param("channel", Kind::Integer, false, "Channels of raw PCM uploads, 1 or 2 (default 1)."),
];
const COMPARE_FIELDS: [Param; 6] = [
    param("file", Kind::File, true, "The first recording (same formats as enrollment); it is treated as the enrolled one."),
    param("file2", Kind::File, true, "The second recording."),
    param("sample_rate", Kind::Integer, false, PCM_FIELDS_NOTE),
    param("channel", Kind::Integer, false, "Channels of raw PCM uploads, 1 or 2 (default 1)."),
    param("sample_rate2", Kind::Integer, false, "Sample rate of `file2` if it is raw PCM (default: `sample_rate`)."),
    param("channel2", Kind::Integer, false, "Channels of `file2` if it is raw PCM (default: `channel`)."),
];
const SAMPLE_FIELDS: [Param; 3] = [
    param("file", Kind::File, true, "Another recording of the voiceprint's speaker (same formats and enrollment limits as enrollment)."),
    param("sample_rate", Kind::Integer, false, PCM_FIELDS_NOTE),
    param("channel", Kind::Integer, false, "Channels of raw PCM uploads, 1 or 2 (default 1)."),
];
const DIARIZE_FIELDS: [Param; 4] = [
    param("file", Kind::File, true, "The recording (same formats as enrollment; up to --diarize-max-seconds, default 30 minutes, and --diarize-max-bytes, default 100 MiB)."),
    param("max_speakers", Kind::Integer, false, "Find at most this many speakers, 1 to 100 (default: as many as the clustering finds)."),
    param("sample_rate", Kind::Integer, false, PCM_FIELDS_NOTE),
    param("channel", Kind::Integer, false, "Channels of raw PCM uploads, 1 or 2 (default 1)."),
];
const LIST_GROUPS_QUERY: [Param; 5] = [
    PAGE[0],
    PAGE[1],
    param("name", Kind::Text, false, "Literal prefix of the group name (`%`, `_` and `\\` are plain characters)."),
    param("user_id", Kind::Text, false, "Only groups created by this user; may only be the caller's own ID."),
    param("group_id", Kind::Text, false, "Only this group."),
];

const GROUPS: &str = "/v1/audio/voiceprint_groups";
const GROUP: &str = "/v1/audio/voiceprint_groups/{group_id}";
const FEATURES: &str = "/v1/audio/voiceprint_groups/{group_id}/features";
const FEATURE: &str = "/v1/audio/voiceprint_groups/{group_id}/features/{feature_id}";
const IDENTIFY: &str = "/v1/audio/voiceprint_groups/{group_id}/speaker_identify";
const VERIFY: &str = "/v1/audio/voiceprint_groups/{group_id}/features/{feature_id}/verify";
const COMPARE: &str = "/v1/audio/voiceprints/compare";
const SAMPLES: &str = "/v1/audio/voiceprint_groups/{group_id}/features/{feature_id}/samples";
const SAMPLE: &str = "/v1/audio/voiceprint_groups/{group_id}/features/{feature_id}/samples/{sample_id}";
const DIARIZE: &str = "/v1/audio/voiceprint_groups/{group_id}/speaker_diarize";
const STREAM: &str = "/v1/audio/voiceprint_groups/{group_id}/speaker_stream";

/// Coze's nine endpoints, then Voxprint's own.
const ENDPOINTS: [Endpoint; 16] = [
    Endpoint { method: "post", path: GROUPS, operation_id: "createVoiceprintGroup", summary: "Create a voiceprint group", permission: Permission::CreateVoiceprintGroup, query: &[], body: Body::Json(&GROUP_FIELDS), data: Some("CreatedId") },
    Endpoint { method: "get", path: GROUPS, operation_id: "listVoiceprintGroup", summary: "List the voiceprint groups of the caller's team, newest first", permission: Permission::ListVoiceprintGroup, query: &LIST_GROUPS_QUERY, body: Body::None, data: Some("VoicePrintGroupList") },
    Endpoint { method: "put", path: GROUP, operation_id: "updateVoiceprintGroup", summary: "Update a voiceprint group (creator only)", permission: Permission::UpdateVoiceprintGroup, query: &[], body: Body::Json(&GROUP_UPDATE_FIELDS), data: None },
    Endpoint { method: "delete", path: GROUP, operation_id: "deleteVoiceprintGroup", summary: "Delete a voiceprint group and its voiceprints (creator only)", permission: Permission::DeleteVoiceprintGroup, query: &[], body: Body::None, data: None },
    Endpoint { method: "post", path: FEATURES, operation_id: "createVoiceprintFeature", summary: "Enroll a voiceprint from a recording", permission: Permission::CreateVoiceprintFeature, query: &[], body: Body::Multipart(&FEATURE_FIELDS), data: Some("CreatedVoiceprint") },
    Endpoint { method: "put", path: FEATURE, operation_id: "updateVoiceprintFeature", summary: "Update a voiceprint (creator only)", permission: Permission::UpdateVoiceprintFeature, query: &[], body: Body::Multipart(&FEATURE_UPDATE_FIELDS), data: None },
    Endpoint { method: "get", path: FEATURES, operation_id: "listVoiceprintFeature", summary: "List a group's voiceprints, newest first", permission: Permission::ListVoiceprintFeature, query: &PAGE, body: Body::None, data: Some("VoicePrintGroupFeatureList") },
    Endpoint { method: "delete", path: FEATURE, operation_id: "deleteVoiceprintFeature", summary: "Delete a voiceprint (creator only)", permission: Permission::DeleteVoiceprintFeature, query: &[], body: Body::None, data: None },
    Endpoint { method: "post", path: IDENTIFY, operation_id: "identifyInVoiceprintGroup", summary: "Score a recording against every voiceprint of the group, best first", permission: Permission::IdentifyInVoiceprintGroup, query: &[], body: Body::Multipart(&IDENTIFY_FIELDS), data: Some("SpeakerIdentifyData") },
    Endpoint { method: "post", path: VERIFY, operation_id: "verifyVoiceprint", summary: "Voxprint: is the recording this voiceprint's speaker?", permission: Permission::VerifyVoiceprint, query: &[], body: Body::Multipart(&VERIFY_FIELDS), data: Some("Verification") },
    Endpoint { method: "post", path: COMPARE, operation_id: "compareVoiceprints", summary: "Voxprint: are two recordings the same speaker? Nothing is stored", permission: Permission::CompareVoiceprints, query: &[], body: Body::Multipart(&COMPARE_FIELDS), data: Some("Comparison") },
    Endpoint { method: "post", path: SAMPLES, operation_id: "addVoiceprintSample", summary: "Voxprint: add a recording to a voiceprint (creator only)", permission: Permission::UpdateVoiceprintFeature, query: &[], body: Body::Multipart(&SAMPLE_FIELDS), data: Some("CreatedVoiceprint") },
    Endpoint { method: "get", path: SAMPLES, operation_id: "listVoiceprintSamples", summary: "Voxprint: the recordings a voiceprint is made from, oldest first", permission: Permission::ListVoiceprintFeature, query: &[], body: Body::None, data: Some("SampleList") },
    Endpoint { method: "post", path: DIARIZE, operation_id: "diarizeVoiceprintGroup", summary: "Voxprint: who spoke when in a recording, named after the group's voiceprints", permission: Permission::DiarizeVoiceprintGroup, query: &[], body: Body::Multipart(&DIARIZE_FIELDS), data: Some("Diarization") },
    Endpoint { method: "get", path: STREAM, operation_id: "streamVoiceprintGroup", summary: "Voxprint: who is speaking now, on a live stream (WebSocket)", permission: Permission::StreamVoiceprintGroup, query: &[], body: Body::WebSocket, data: None },
    Endpoint { method: "delete", path: SAMPLE, operation_id: "deleteVoiceprintSample", summary: "Voxprint: remove a recording from a voiceprint; the last one stays (creator only)", permission: Permission::UpdateVoiceprintFeature, query: &[], body: Body::None, data: None },
];

/// Every error code the API answers with, its HTTP status and meaning.
pub const ERROR_CODES: [(u32, u16, &str); 12] = [
    (4000, 400, "invalid request parameter (format, range, missing field, quota reached); HTTP 405 for a method the path does not serve, 408 for an upload that did not arrive within the time limit, 414 or 431 for a URL or headers too large"),
    (4008, 429, "this token is rate-limited; retry after `Retry-After` seconds"),
    (4009, 503, "server overloaded, request over its time limit, or storage temporarily unable to write or unreachable; retry after `Retry-After` seconds"),
    (4100, 401, "authentication invalid: no, unknown, revoked or expired token"),
    (4101, 403, "the token lacks the permission, or the caller may not act on the resource"),
    (4200, 404, "resource not found (also for resources of another team)"),
    (4300, 400, "uploaded file is empty or missing"),
    (4301, 400, "more than one file uploaded"),
    (4302, 413, "file larger than the limit"),
    (4303, 415, "file type not supported"),
    (4304, 400, "file invalid: corrupt, truncated, longer than 120 s (speaker_diarize: --diarize-max-seconds), no speech, too little speech, or (enrollment) too poor to enroll"),
    (5000, 500, "internal server error (quote the logid)"),
];

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for endpoint in &ENDPOINTS {
        let item = paths.entry(endpoint.path).or_insert_with(|| json!({}));
        item[endpoint.method] = operation(endpoint);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Voxprint voiceprint API (Coze-compatible)",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Voiceprint groups, voiceprints and speaker identification, compatible with the Coze voiceprint API. Every response is the envelope {code, msg, data?, detail: {logid}}; the logid is also in the X-Tt-Logid header. IDs are decimal strings, times Unix seconds.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "A personal access token, `pat_…`." } },
            "schemas": schemas(),
        },
        "security": [{ "bearer": [] }],
    })
}

fn operation(endpoint: &Endpoint) -> Value {
    let mut parameters: Vec<Value> = path_params(endpoint.path)
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[0-9]+$" } }))
        .collect();
    parameters.extend(endpoint.query.iter().map(|p| {
        json!({ "name": p.name, "in": "query", "required": p.required, "description": p.description, "schema": schema_of(p.kind) })
    }));
    let mut success = json!({
        "type": "object",
        "required": ["code", "msg", "detail"],
        "properties": {
            "code": { "type": "integer", "enum": [0] },
            "msg": { "type": "string" },
            "detail": { "$ref": "#/components/schemas/ResponseDetail" },
        },
    });
    if let Some(data) = endpoint.data {
        success["properties"]["data"] = json!({ "$ref": format!("#/components/schemas/{data}") });
        success["required"].as_array_mut().expect("array").push(json!("data"));
    }
    let mut operation = json!({
        "operationId": endpoint.operation_id,
        "summary": endpoint.summary,
        "description": format!("Needs the token permission `{}`.", endpoint.permission.name()),
        "x-coze-permission": endpoint.permission.name(),
        "parameters": parameters,
        "responses": {
            "200": { "description": "Success", "content": { "application/json": { "schema": success } } },
            "default": { "description": "A failure: see the error codes in components.schemas.Error", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
        },
    });
    if let Body::WebSocket = endpoint.body {
        operation["responses"] = json!({
            "101": { "description": "Switching Protocols: the live stream. The client sends `x-websocket.client` as its first text message (the token too, when it can send neither the Authorization header nor the subprotocol `bearer.<token>` beside `voxprint`), then binary frames of 16-bit little-endian PCM of at most a second each, and may end with the text {\"event\": \"end\"}; the server sends `x-websocket.server` events as text." },
            "default": operation["responses"]["default"].clone(),
        });
        operation["x-websocket"] = json!({
            "subprotocol": "voxprint",
            "client": { "$ref": "#/components/schemas/StreamStart" },
            "server": { "$ref": "#/components/schemas/StreamEvent" },
        });
    }
    let body = match &endpoint.body {
        Body::None | Body::WebSocket => None,
        Body::Json(fields) => Some(("application/json", *fields)),
        Body::Multipart(fields) => Some(("multipart/form-data", *fields)),
    };
    if let Some((content_type, fields)) = body {
        let properties: Map<String, Value> = fields
            .iter()
            .map(|f| {
                let mut schema = schema_of(f.kind);
                schema["description"] = json!(f.description);
                (f.name.to_owned(), schema)
            })
            .collect();
        let required: Vec<&str> = fields.iter().filter(|f| f.required).map(|f| f.name).collect();
        operation["requestBody"] = json!({
            "required": true,
            "content": { content_type: { "schema": { "type": "object", "properties": properties, "required": required } } },
        });
    }
    operation
}

fn path_params(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
}

fn schema_of(kind: Kind) -> Value {
    match kind {
        Kind::Text => json!({ "type": "string" }),
        Kind::Integer => json!({ "type": "integer" }),
        Kind::File => json!({ "type": "string", "format": "binary" }),
        Kind::Name => json!({ "type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS }),
        Kind::Description => json!({ "type": "string", "maxLength": MAX_DESC_CHARS }),
        Kind::PageNum => json!({ "type": "integer", "minimum": 1, "default": 1 }),
        Kind::PageSize => json!({ "type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE }),
    }
}

/// Marks a property as a Voxprint extension: a field Coze does not have, which the SDKs ignore.
/// The contract test leaves these out of Coze's fields, and checks they are the ones docs/api.md
/// lists.
fn extension(mut schema: Value) -> Value {
    schema["x-voxprint-extension"] = json!(true);
    schema
}

fn schemas() -> Value {
    let id = json!({ "type": "string", "pattern": "^[0-9]+$" });
    let time = json!({ "type": "integer", "description": "Unix seconds" });
    let quality = json!({ "type": "object", "description": "What the recording was like, and what to fix for a better voiceprint.", "properties": {
        "speech_seconds": { "type": "number" },
        "snr_db": { "type": "number", "description": "Estimated signal-to-noise ratio." },
        "bandwidth_hz": { "type": "number", "description": "Highest frequency the speech reaches above the noise." },
        "clipping": { "type": "number", "description": "Fraction of samples flattened at full scale." },
        "warnings": { "type": "array", "items": { "type": "string" } },
    } });
    let mut nullable_quality = quality.clone();
    nullable_quality["nullable"] = json!(true);
    nullable_quality["description"] = json!("The recording's measures; null for recordings stored before Voxprint kept them.");
    let score = json!({ "type": "number", "minimum": 0, "maximum": 100, "description": "Calibrated similarity, on speaker_identify's scale." });
    let threshold = json!({ "type": "number", "minimum": 0, "maximum": 100, "description": "The server's decision threshold on score (--match-threshold)." });
    let matched = json!({ "type": "boolean", "description": "score ≥ threshold: the same speaker." });
    let codes: Vec<u32> = ERROR_CODES.iter().map(|(code, _, _)| *code).collect();
    let code_table: Vec<String> =
        ERROR_CODES.iter().map(|(code, status, meaning)| format!("{code} (HTTP {status}): {meaning}")).collect();
    json!({
        "ResponseDetail": { "type": "object", "properties": { "logid": { "type": "string" } } },
        "Error": {
            "type": "object",
            "description": code_table.join("; "),
            "required": ["code", "msg", "detail"],
            "properties": {
                "code": { "type": "integer", "enum": codes },
                "msg": { "type": "string", "description": "What was wrong and how to fix it." },
                "detail": { "$ref": "#/components/schemas/ResponseDetail" },
            },
        },
        "CreatedId": { "type": "object", "properties": { "id": id } },
        "CreatedVoiceprint": { "type": "object", "properties": {
            "id": id,
            "quality": extension(quality.clone()),
        } },
        "UserInfo": { "type": "object", "properties": {
            "id": id, "name": { "type": "string" }, "nickname": { "type": "string" }, "avatar_url": { "type": "string", "format": "uri" },
        } },
        "VoicePrintGroup": { "type": "object", "properties": {
            "id": id, "name": { "type": "string" }, "desc": { "type": "string" },
            "icon_url": { "type": "string", "format": "uri" },
            "user_info": { "$ref": "#/components/schemas/UserInfo" },
            "created_at": time, "updated_at": time,
            "feature_count": { "type": "integer", "description": "Voiceprints in the group now." },
        } },
        "VoicePrintGroupList": { "type": "object", "properties": {
            "items": { "type": "array", "items": { "$ref": "#/components/schemas/VoicePrintGroup" } },
            "total": { "type": "integer", "description": "All matching groups, not only this page." },
        } },
        "VoicePrintGroupFeature": { "type": "object", "properties": {
            "id": id, "group_id": id, "name": { "type": "string" }, "desc": { "type": "string" },
            "icon_url": { "type": "string", "format": "uri" },
            "audio_url": { "type": "string", "format": "uri", "description": "Signed link to the uploaded recording; needs no token; expires. Served with the content type of the format detected from its bytes (raw PCM: `audio/L16;rate=…;channels=…`)." },
            "user_info": { "$ref": "#/components/schemas/UserInfo" },
            "created_at": time, "updated_at": time,
            "sample_count": extension(json!({ "type": "integer", "description": "How many recordings the voiceprint is made from." })),
        } },
        "VoicePrintGroupFeatureList": { "type": "object", "properties": {
            "items": { "type": "array", "items": { "$ref": "#/components/schemas/VoicePrintGroupFeature" } },
            "total": { "type": "integer" },
        } },
        "FeatureScore": { "type": "object", "properties": {
            "feature_id": id, "feature_name": { "type": "string" }, "feature_desc": { "type": "string" },
            "score": { "type": "number", "minimum": 0, "maximum": 100, "description": "Calibrated similarity (multi-condition voiceprints, cohort-normalised); higher = more alike; one threshold for every recording condition." },
            "matched": extension(json!({ "type": "boolean", "description": "score ≥ threshold: this voiceprint could be the speaker." })),
        } },
        "SpeakerIdentifyData": { "type": "object", "properties": {
            "feature_score_list": { "type": "array", "items": { "$ref": "#/components/schemas/FeatureScore" } },
            "threshold": extension(json!({ "type": "number", "minimum": 0, "maximum": 100, "description": "The server's decision threshold on score (--match-threshold); present even for an empty list." })),
        } },
        "Verification": { "type": "object", "properties": { "score": score, "threshold": threshold, "matched": matched } },
        "Comparison": { "type": "object", "properties": {
            "score": score, "threshold": threshold, "matched": matched,
            "quality": quality, "quality2": quality,
        } },
        "Sample": { "type": "object", "properties": {
            "id": id,
            "audio_url": { "type": "string", "format": "uri", "description": "Signed link to the recording; needs no token; expires." },
            "quality": nullable_quality,
            "created_at": time,
        } },
        "Diarization": { "type": "object", "properties": {
            "segments": { "type": "array", "items": { "$ref": "#/components/schemas/Segment" }, "description": "Stretches of speech by one speaker, in time order." },
            "speakers": { "type": "array", "items": { "$ref": "#/components/schemas/SpeakerSummary" }, "description": "Each speaker heard, in order of first appearance." },
            "threshold": threshold,
        } },
        "Segment": { "type": "object", "properties": {
            "start": { "type": "number", "description": "Seconds from the start of the recording." },
            "end": { "type": "number", "description": "Seconds from the start of the recording." },
            "feature_id": { "type": "string", "nullable": true, "description": "The voiceprint the speaker matched, or null." },
            "feature_name": { "type": "string", "nullable": true },
            "label": { "type": "string", "description": "The voiceprint's name, or speaker_1, speaker_2, … for a speaker who matched none (consistent within the recording)." },
            "score": { "type": "number", "nullable": true, "minimum": 0, "maximum": 100, "description": "The speaker's score against the named voiceprint, or the nearest one when unnamed; null when the group has no voiceprints." },
        } },
        "SpeakerSummary": { "type": "object", "properties": {
            "label": { "type": "string" },
            "feature_id": { "type": "string", "nullable": true },
            "feature_name": { "type": "string", "nullable": true },
            "speech_seconds": { "type": "number", "description": "Total length of the speaker's segments." },
        } },
        "StreamStart": { "type": "object", "properties": {
            "sample_rate": { "type": "integer", "minimum": 8000, "maximum": 48000, "description": "Of the PCM frames (default 16000)." },
            "channel": { "type": "integer", "minimum": 1, "maximum": 2, "description": "Interleaved channels of the PCM frames (default 1)." },
            "token": { "type": "string", "description": "The token, only when the client can send neither the Authorization header nor the subprotocol." },
        } },
        "StreamEvent": { "type": "object", "required": ["event", "time"], "description": "Which fields come depends on the event.", "properties": {
            "event": { "type": "string", "enum": ["ready", "speech_start", "speaker", "speech_end", "error"] },
            "time": { "type": "number", "description": "Seconds of the stream's audio the event is about." },
            "threshold": { "type": "number", "description": "ready: the threshold `matched` is decided on." },
            "feature_id": { "type": "string", "nullable": true, "description": "speaker: the voiceprint speaking, or null for nobody enrolled." },
            "feature_name": { "type": "string", "nullable": true, "description": "speaker: its name, or null." },
            "score": { "type": "number", "nullable": true, "minimum": 0, "maximum": 100, "description": "speaker: the best voiceprint's score; null when the group has none." },
            "matched": { "type": "boolean", "description": "speaker: score ≥ threshold." },
            "code": { "type": "integer", "description": "error: the Coze code; the server then closes." },
            "msg": { "type": "string", "description": "error: what went wrong." },
        } },
        "SampleList": { "type": "object", "properties": {
            "items": { "type": "array", "items": { "$ref": "#/components/schemas/Sample" } },
            "total": { "type": "integer" },
        } },
    })
}
