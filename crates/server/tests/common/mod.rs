//! Black-box test harness: starts the real `voxprint` binary on a free port with a temporary
//! data directory and talks HTTP to it.
#![allow(dead_code)] // each test file uses a different part of the harness

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_voxprint");

pub struct TestServer {
    child: Child,
    pub base_url: String,
    pub admin_token: String,
    pub data_dir: PathBuf,
    pub first_start_stdout: Vec<String>,
    _temp: Option<tempfile::TempDir>,
}

impl TestServer {
    /// A server on a fresh data directory.
    pub fn start(extra_args: &[&str]) -> TestServer {
        let temp = tempfile::tempdir().expect("temp dir");
        let data_dir = temp.path().to_path_buf();
        let mut server = TestServer::start_on(&data_dir, extra_args);
        server._temp = Some(temp);
        server
    }

    /// A server on a fresh data directory whose log (standard error) goes to the returned file,
    /// with `VOXPRINT_LOG` at `info`.
    pub fn start_logging(extra_args: &[&str]) -> (TestServer, PathBuf) {
        let temp = tempfile::tempdir().expect("temp dir");
        let log = temp.path().join("server.log");
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut server = TestServer::spawn(&temp.path().join("data"), extra_args, "info", Stdio::from(stderr));
        server._temp = Some(temp);
        (server, log)
    }

    /// A server on an existing data directory (kept by the caller).
    pub fn start_on(data_dir: &Path, extra_args: &[&str]) -> TestServer {
        TestServer::spawn(data_dir, extra_args, "warn", Stdio::inherit())
    }

    fn spawn(data_dir: &Path, extra_args: &[&str], log_level: &str, stderr: Stdio) -> TestServer {
        let mut child = Command::new(BIN)
            .arg("serve")
            .args(["--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra_args)
            .env("VOXPRINT_LOG", log_level)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn voxprint");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        let base_url = loop {
            assert!(Instant::now() < deadline, "server did not start; stdout so far: {seen:?}");
            let line = lines.next().expect("server exited before listening").expect("read stdout");
            if let Some(url) = line.strip_prefix("voxprint listening on ") {
                break url.trim().to_owned();
            }
            seen.push(line);
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let admin_token = std::fs::read_to_string(data_dir.join("admin-token")).expect("admin-token").trim().to_owned();
        TestServer { child, base_url, admin_token, data_dir: data_dir.to_path_buf(), first_start_stdout: seen, _temp: None }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Runs `voxprint admin …` on this server's storage; returns the last line of stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        admin(&self.data_dir, args)
    }

    /// A new user in `team` with a token holding `permissions`; returns (user ID, token).
    pub fn new_user(&self, team: &str, name: &str, permissions: &str) -> (String, String) {
        let user = self.admin(&["create-user", "--team", team, "--name", name]);
        let token = self.admin(&["create-token", "--user", &user, "--permissions", permissions]);
        (user, token)
    }

    /// The admin, a teammate (`mate`) and a user of another team (`outsider`), each with an
    /// all-permission token: the cast of the ownership and visibility tests.
    pub fn cast(&self) -> Cast {
        let team = self.default_team();
        let (mate_id, mate_token) = self.new_user(&team, "mate", "all");
        let other_team = self.admin(&["create-team", "--name", "Other"]);
        let (_, outsider_token) = self.new_user(&other_team, "outsider", "all");
        Cast {
            admin: Api::new(self, &self.admin_token),
            mate: Api::new(self, &mate_token),
            mate_id,
            outsider: Api::new(self, &outsider_token),
        }
    }

    /// The team of the bootstrap admin.
    pub fn default_team(&self) -> String {
        let users = admin_output(&self.data_dir, &["list-users"]);
        let admin_row = users.lines().find(|line| line.split('\t').nth(2) == Some("admin")).expect("admin row");
        admin_row.split('\t').nth(1).unwrap().to_owned()
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Cast {
    pub admin: Api,
    pub mate: Api,
    pub mate_id: String,
    pub outsider: Api,
}

/// Runs `voxprint admin …` and returns its whole stdout; panics with stderr on failure.
pub fn admin_output(data_dir: &Path, args: &[&str]) -> String {
    let output = Command::new(BIN)
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env("VOXPRINT_LOG", "warn")
        .output()
        .expect("run voxprint admin");
    assert!(output.status.success(), "admin {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

pub fn admin(data_dir: &Path, args: &[&str]) -> String {
    admin_output(data_dir, args).lines().last().unwrap_or("").trim().to_owned()
}

/// A response: HTTP status, the `X-Tt-Logid` header and the JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub logid_header: Option<String>,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or_else(|| panic!("no code in {}", self.body))
    }

    pub fn msg(&self) -> &str {
        self.body["msg"].as_str().unwrap_or("")
    }

    /// Asserts success and returns `data`.
    pub fn ok(&self) -> &Value {
        assert_eq!((self.status, self.code()), (200, 0), "expected success, got {:?}", self);
        &self.body["data"]
    }

    /// Asserts a failure with this code and status.
    pub fn err(&self, code: i64, status: u16) -> &str {
        assert_eq!((self.code(), self.status), (code, status), "unexpected reply {:?}", self);
        self.msg()
    }
}

/// A file of the checked-in test audio (`testdata/…`).
pub fn testdata(path: &str) -> Vec<u8> {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(path);
    std::fs::read(&full).unwrap_or_else(|err| panic!("{}: {err}", full.display()))
}

/// A multipart form with `file` and text fields.
pub fn audio_form(file: Vec<u8>, fields: &[(&str, &str)]) -> reqwest::multipart::Form {
    let mut form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(file).file_name("clip.wav"));
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    form
}

pub struct Api {
    http: reqwest::Client,
    pub base_url: String,
    pub token: String,
}

impl Api {
    pub fn new(server: &TestServer, token: &str) -> Api {
        Api { http: reqwest::Client::new(), base_url: server.base_url.clone(), token: token.to_owned() }
    }

    /// Sends without asserting that a response arrives (the server may be killed meanwhile).
    pub async fn send_fallible(&self, request: reqwest::RequestBuilder) -> Option<u16> {
        request.send().await.ok().map(|response| response.status().as_u16())
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("HTTP request");
        let status = response.status().as_u16();
        let logid_header = response.headers().get("x-tt-logid").map(|v| v.to_str().unwrap().to_owned());
        let bytes = response.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("non-JSON body (status {status}): {}", String::from_utf8_lossy(&bytes)));
        Reply { status, logid_header, body }
    }

    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{}", self.base_url, path)).bearer_auth(&self.token)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post_json(&self, path: &str, body: Value) -> Reply {
        self.send(self.request(reqwest::Method::POST, path).json(&body)).await
    }

    pub async fn put_json(&self, path: &str, body: Value) -> Reply {
        self.send(self.request(reqwest::Method::PUT, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.request(reqwest::Method::DELETE, path)).await
    }

    pub async fn post_form(&self, path: &str, form: reqwest::multipart::Form) -> Reply {
        self.send(self.request(reqwest::Method::POST, path).multipart(form)).await
    }

    pub async fn put_form(&self, path: &str, form: reqwest::multipart::Form) -> Reply {
        self.send(self.request(reqwest::Method::PUT, path).multipart(form)).await
    }

    /// Enrolls `file` as voiceprint `name` in the group; returns its ID.
    pub async fn enroll(&self, group: &str, name: &str, file: Vec<u8>) -> String {
        let reply = self.post_form(&features_path(group), audio_form(file, &[("name", name)])).await;
        reply.ok()["id"].as_str().expect("string id").to_owned()
    }

    /// speaker_identify with `file`; returns the feature_score_list.
    pub async fn identify(&self, group: &str, file: Vec<u8>, fields: &[(&str, &str)]) -> Vec<serde_json::Value> {
        let path = format!("/v1/audio/voiceprint_groups/{group}/speaker_identify");
        let reply = self.post_form(&path, audio_form(file, fields)).await;
        reply.ok()["feature_score_list"].as_array().expect("feature_score_list").clone()
    }

    /// Creates a group and returns its ID.
    pub async fn create_group(&self, name: &str) -> String {
        let reply = self.post_json("/v1/audio/voiceprint_groups", serde_json::json!({ "name": name })).await;
        reply.ok()["id"].as_str().expect("string id").to_owned()
    }

    pub async fn list_groups(&self, query: &str) -> Reply {
        self.get(&format!("/v1/audio/voiceprint_groups?{query}")).await
    }
}

/// Awaits racing requests; each must succeed or be refused for the quota. Returns the successes.
pub async fn count_quota_race(attempts: Vec<tokio::task::JoinHandle<Reply>>) -> usize {
    let mut successes = 0;
    for attempt in attempts {
        let reply = attempt.await.unwrap();
        if reply.code() == 0 {
            successes += 1;
        } else {
            assert!(reply.err(4000, 400).contains("quota"), "{:?}", reply.body);
        }
    }
    successes
}

pub fn features_path(group: &str) -> String {
    format!("/v1/audio/voiceprint_groups/{group}/features")
}
