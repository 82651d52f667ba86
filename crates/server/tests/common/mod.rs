//! Black-box test harness: starts the real `voxprint` binary on a free port with a temporary
//! data directory and talks HTTP to it.
//!
//! The deployment under test comes from the environment (see `scripts/test.sh`): by default
//! the embedded one, SQLite and a blob directory; with `VOXPRINT_TEST_DEPLOYMENT=scale-out`,
//! PostgreSQL and S3 — every storage then gets a new database on the server that
//! `VOXPRINT_TEST_POSTGRES` (an admin URL) names and a new prefix in the bucket that
//! `VOXPRINT_TEST_S3_BUCKET` names (reached through the usual AWS_* variables).
#![allow(dead_code)] // each test file uses a different part of the harness

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use voxprint_api::FeatureScore;

pub const BIN: &str = env!("CARGO_BIN_EXE_voxprint");

/// Where a server keeps its data: a data directory, and in the scale-out deployment a database
/// and a blob prefix of its own. Clones share them; the database is dropped with the last clone.
#[derive(Clone)]
pub struct Storage {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub blob_store: Option<String>,
    /// Environment variables that the server and `voxprint admin` get on top of the test's own,
    /// such as the AWS_* settings of an S3 service of the test's own.
    pub env: Vec<(String, String)>,
    _database: Option<Arc<ScratchDatabase>>,
}

impl Storage {
    /// An empty storage of the deployment under test, with its data directory at `data_dir`.
    pub fn fresh(data_dir: &Path) -> Storage {
        match std::env::var("VOXPRINT_TEST_DEPLOYMENT").as_deref() {
            Err(_) | Ok("embedded") => Storage::embedded(data_dir),
            Ok("scale-out") => Storage::scale_out(data_dir),
            Ok(other) => panic!("VOXPRINT_TEST_DEPLOYMENT must be embedded or scale-out, not {other:?}"),
        }
    }

    /// Whether the harness runs the scale-out deployment: tests of one deployment's own faults
    /// run only under it.
    pub fn scale_out_under_test() -> bool {
        std::env::var("VOXPRINT_TEST_DEPLOYMENT").as_deref() == Ok("scale-out")
    }

    /// SQLite and a blob directory, both in `data_dir`.
    pub fn embedded(data_dir: &Path) -> Storage {
        Storage {
            data_dir: data_dir.to_path_buf(),
            database_url: None,
            blob_store: None,
            env: Vec::new(),
            _database: None,
        }
    }

    /// A new database on the test PostgreSQL server and a new prefix in the test S3 bucket.
    pub fn scale_out(data_dir: &Path) -> Storage {
        let name = unique_name();
        let database = ScratchDatabase::create(&name);
        Storage {
            data_dir: data_dir.to_path_buf(),
            database_url: Some(database.url.clone()),
            blob_store: Some(s3_blob_store(&name)),
            env: Vec::new(),
            _database: Some(Arc::new(database)),
        }
    }

    /// The storage flags of `voxprint serve` and `voxprint admin`.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["--data-dir".into(), self.data_dir.clone().into()];
        if let Some(url) = &self.database_url {
            args.extend(["--database-url".into(), url.into()]);
        }
        if let Some(blobs) = &self.blob_store {
            args.extend(["--blob-store".into(), blobs.into()]);
        }
        args
    }

    /// Runs one SQL statement on the database, bypassing the server (to set up states the API
    /// cannot reach, such as an expired token). Returns the rows affected.
    pub fn execute_sql(&self, statement: &str) -> u64 {
        let (statement, url, sqlite) =
            (sqlx::AssertSqlSafe(statement.to_owned()), self.sqlx_url(), self.database_url.is_none());
        on_runtime(async move {
            if sqlite {
                sqlx::query(statement)
                    .execute(&sqlx::SqlitePool::connect(&url).await.unwrap())
                    .await
                    .unwrap()
                    .rows_affected()
            } else {
                sqlx::query(statement)
                    .execute(&sqlx::PgPool::connect(&url).await.unwrap())
                    .await
                    .unwrap()
                    .rows_affected()
            }
        })
    }

    /// The one integer a query returns, such as a count.
    pub fn query_int(&self, query: &str) -> i64 {
        let (query, url, sqlite) =
            (sqlx::AssertSqlSafe(query.to_owned()), self.sqlx_url(), self.database_url.is_none());
        on_runtime(async move {
            if sqlite {
                sqlx::query_scalar(query).fetch_one(&sqlx::SqlitePool::connect(&url).await.unwrap()).await.unwrap()
            } else {
                sqlx::query_scalar(query).fetch_one(&sqlx::PgPool::connect(&url).await.unwrap()).await.unwrap()
            }
        })
    }

    fn sqlx_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite:{}", self.data_dir.join("voxprint.db").display()),
        }
    }
}

impl Storage {
    /// Writes an audio blob straight into the blob store, bypassing the server: what a crash
    /// between storing the audio and committing its row leaves behind.
    pub fn plant_blob(&self, key: &str, bytes: Vec<u8>) {
        match self.s3_location(key) {
            None => {
                let path = self.data_dir.join("blobs").join(key);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, bytes).unwrap();
            }
            Some((bucket, path)) => on_runtime(async move {
                use object_store::ObjectStoreExt;
                bucket.put(&path, bytes.into()).await.expect("plant blob in S3");
            }),
        }
    }

    /// Whether the blob store holds `key`.
    pub fn has_blob(&self, key: &str) -> bool {
        match self.s3_location(key) {
            None => self.data_dir.join("blobs").join(key).exists(),
            Some((bucket, path)) => on_runtime(async move {
                use object_store::ObjectStoreExt;
                match bucket.head(&path).await {
                    Ok(_) => true,
                    Err(object_store::Error::NotFound { .. }) => false,
                    Err(err) => panic!("S3 head {path}: {err}"),
                }
            }),
        }
    }

    /// Every blob in the store, keyed as the database keys it, with its bytes as stored.
    pub fn stored_blobs(&self) -> Vec<(String, Vec<u8>)> {
        match self.s3_location("x") {
            None => {
                let root = self.data_dir.join("blobs");
                let mut found = Vec::new();
                let mut pending = vec![root.clone()];
                while let Some(dir) = pending.pop() {
                    let Ok(entries) = std::fs::read_dir(&dir) else { continue };
                    for entry in entries {
                        let path = entry.unwrap().path();
                        if path.is_dir() {
                            pending.push(path);
                        } else {
                            let key = path.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
                            // A file deleted since the listing is no longer stored.
                            let Ok(bytes) = std::fs::read(&path) else { continue };
                            found.push((key, bytes));
                        }
                    }
                }
                found
            }
            Some((bucket, probe)) => on_runtime(async move {
                use futures_util::TryStreamExt;
                use object_store::{ObjectStore, ObjectStoreExt};
                let prefix = object_store::path::Path::from(probe.as_ref().strip_suffix("/x").unwrap());
                let objects: Vec<_> = bucket.list(Some(&prefix)).try_collect().await.expect("list S3");
                let mut found = Vec::new();
                for object in objects {
                    let bytes = match bucket.get(&object.location).await {
                        Ok(found) => found.bytes().await.unwrap(),
                        Err(object_store::Error::NotFound { .. }) => continue, // deleted since the listing
                        Err(err) => panic!("S3 get {}: {err}", object.location),
                    };
                    let key = object.location.as_ref().strip_prefix(&format!("{prefix}/")).unwrap().to_owned();
                    found.push((key, bytes.to_vec()));
                }
                found
            }),
        }
    }

    /// This storage as seen by processes given the master key in `key_file` (`None`: no key).
    pub fn with_key(&self, key_file: Option<&Path>) -> Storage {
        let mut storage = self.clone();
        storage.env.retain(|(name, _)| name != "VOXPRINT_ENCRYPTION_KEY_FILE");
        if let Some(path) = key_file {
            storage.env.push(("VOXPRINT_ENCRYPTION_KEY_FILE".into(), path.display().to_string()));
        }
        storage
    }

    /// The S3 bucket (from the AWS_* environment, like the server) and object path of `key`.
    fn s3_location(&self, key: &str) -> Option<(object_store::aws::AmazonS3, object_store::path::Path)> {
        let spec = self.blob_store.as_deref()?.strip_prefix("s3://").expect("s3:// blob store");
        let (bucket, prefix) = spec.split_once('/').unwrap_or((spec, ""));
        let client = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_virtual_hosted_style_request(false)
            .with_allow_http(true)
            .build()
            .expect("S3 settings from the environment");
        Some((client, object_store::path::Path::from(format!("{prefix}/{key}"))))
    }
}

/// A database of its own on the test PostgreSQL server, dropped when no longer used.
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

/// A new prefix in the test S3 bucket.
pub fn s3_blob_store(name: &str) -> String {
    let bucket = std::env::var("VOXPRINT_TEST_S3_BUCKET")
        .expect("VOXPRINT_TEST_S3_BUCKET (and AWS_*) name the test S3 bucket; scripts/test.sh starts one");
    format!("s3://{bucket}/{name}")
}

impl ScratchDatabase {
    /// A new, empty database named `name`.
    pub fn create(name: &str) -> ScratchDatabase {
        let admin_url = std::env::var("VOXPRINT_TEST_POSTGRES")
            .expect("VOXPRINT_TEST_POSTGRES names the test PostgreSQL server; scripts/test.sh starts one");
        let admin_url = admin_url.as_str();
        let statement = format!("CREATE DATABASE {name}");
        let url = admin_url.to_owned();
        on_runtime(async move {
            use sqlx::Connection;
            let mut admin = sqlx::PgConnection::connect(&url).await.expect("VOXPRINT_TEST_POSTGRES reachable");
            sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut admin).await.expect("create database");
        });
        let (base, _) = admin_url.rsplit_once('/').expect("VOXPRINT_TEST_POSTGRES ends in /<database>");
        ScratchDatabase { admin_url: admin_url.to_owned(), name: name.to_owned(), url: format!("{base}/{name}") }
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let url = self.admin_url.clone();
        on_runtime(async move {
            use sqlx::Connection;
            if let Ok(mut admin) = sqlx::PgConnection::connect(&url).await {
                let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&mut admin).await;
            }
        });
    }
}

/// Runs a future to completion on a runtime of its own, on a thread of its own, so that it works
/// from synchronous code and from inside the tests' own runtime alike.
fn on_runtime<T: Send + 'static>(future: impl std::future::Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || tokio::runtime::Runtime::new().unwrap().block_on(future))
        .join()
        .expect("database helper")
}

/// A name no other storage of this test run has (lower case, a valid SQL identifier).
pub fn unique_name() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("vp_{}_{}_{nanos}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The clock of a server started with [`TestServer::start_with_clock`]: a file holding how many
/// seconds the server's clock runs ahead, which the server reads at every reading of its clock.
pub struct TestClock {
    path: PathBuf,
    ahead: std::cell::Cell<u64>,
    _dir: tempfile::TempDir,
}

impl TestClock {
    /// A clock at the real time, for servers started with [`TestClock::args`].
    pub fn new() -> TestClock {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("clock");
        std::fs::write(&path, "0").expect("write the test clock");
        TestClock { path, ahead: std::cell::Cell::new(0), _dir: dir }
    }

    /// The `serve` flags that make a server follow this clock.
    pub fn args(&self) -> [String; 2] {
        ["--test-clock-file".into(), self.path.to_str().expect("UTF-8 temp path").into()]
    }

    /// Moves the server's clock `seconds` forward, at once.
    pub fn advance(&self, seconds: u64) {
        self.ahead.set(self.ahead.get() + seconds);
        // Renamed into place, so that the server never reads a half-written number.
        let temp = self.path.with_extension("tmp");
        std::fs::write(&temp, self.ahead.get().to_string()).expect("write the test clock");
        std::fs::rename(&temp, &self.path).expect("move the test clock");
    }
}

pub struct TestServer {
    child: Child,
    pub base_url: String,
    pub admin_token: String,
    pub storage: Storage,
    pub first_start_stdout: Vec<String>,
    _temp: Option<tempfile::TempDir>,
}

impl TestServer {
    /// A server on a fresh storage.
    pub fn start(extra_args: &[&str]) -> TestServer {
        let temp = tempfile::tempdir().expect("temp dir");
        let mut server = TestServer::start_on(&Storage::fresh(temp.path()), extra_args);
        server._temp = Some(temp);
        server
    }

    /// A server on a fresh storage whose clock the test moves forward with the returned
    /// [`TestClock`] instead of sleeping (`serve --test-clock-file`).
    pub fn start_with_clock(extra_args: &[&str]) -> (TestServer, TestClock) {
        let clock = TestClock::new();
        let path = clock.path.to_str().expect("UTF-8 temp path").to_owned();
        let args: Vec<&str> =
            ["--test-clock-file", path.as_str()].into_iter().chain(extra_args.iter().copied()).collect();
        (TestServer::start(&args), clock)
    }

    /// A server on a fresh storage whose log (standard error) goes to the returned file, with
    /// `VOXPRINT_LOG` at `info`.
    pub fn start_logging(extra_args: &[&str]) -> (TestServer, PathBuf) {
        let temp = tempfile::tempdir().expect("temp dir");
        let log = temp.path().join("server.log");
        let storage = Storage::fresh(&temp.path().join("data"));
        let mut server = TestServer::start_on_logging(&storage, extra_args, &log);
        server._temp = Some(temp);
        (server, log)
    }

    /// A server on an existing storage (kept by the caller) whose log goes to `log`, with
    /// `VOXPRINT_LOG` at `info`.
    pub fn start_on_logging(storage: &Storage, extra_args: &[&str], log: &Path) -> TestServer {
        let stderr = std::fs::File::create(log).expect("log file");
        TestServer::spawn(storage, extra_args, "info", Stdio::from(stderr))
    }

    /// A server on an existing storage (kept by the caller).
    pub fn start_on(storage: &Storage, extra_args: &[&str]) -> TestServer {
        TestServer::spawn(storage, extra_args, "warn", Stdio::inherit())
    }

    /// A server on a fresh storage, started under `prlimit --nofile=LIMIT` (soft and hard), as
    /// a service manager's default limit would start it.
    pub fn start_with_open_files_limit(limit: u32, extra_args: &[&str]) -> TestServer {
        let temp = tempfile::tempdir().expect("temp dir");
        let mut command = Command::new("prlimit");
        command.arg(format!("--nofile={limit}")).arg("--").arg(BIN);
        let storage = Storage::fresh(temp.path());
        let mut server = TestServer::spawn_with(command, &storage, extra_args, "warn", Stdio::inherit());
        server._temp = Some(temp);
        server
    }

    fn spawn(storage: &Storage, extra_args: &[&str], log_level: &str, stderr: Stdio) -> TestServer {
        TestServer::spawn_with(Command::new(BIN), storage, extra_args, log_level, stderr)
    }

    fn spawn_with(
        mut command: Command,
        storage: &Storage,
        extra_args: &[&str],
        log_level: &str,
        stderr: Stdio,
    ) -> TestServer {
        let mut child = command
            .arg("serve")
            .args(["--listen", "127.0.0.1:0"])
            .args(storage.args())
            .args(extra_args)
            .envs(storage.env.iter().map(|(name, value)| (name, value)))
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
        // Of instances starting together, the one that bootstrapped writes the token just after
        // its commit, which the others may already be listening past.
        let token_file = storage.data_dir.join("admin-token");
        let admin_token = loop {
            match std::fs::read_to_string(&token_file) {
                Ok(token) if !token.trim().is_empty() => break token.trim().to_owned(),
                _ if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
                other => panic!("no admin token in {}: {other:?}", token_file.display()),
            }
        };
        TestServer { child, base_url, admin_token, storage: storage.clone(), first_start_stdout: seen, _temp: None }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// Runs `voxprint admin …` on this server's storage; returns the last line of stdout.
    pub fn admin(&self, args: &[&str]) -> String {
        admin(&self.storage, args)
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
        let users = admin_output(&self.storage, &["list-users"]);
        let admin_row = users.lines().find(|line| line.split('\t').nth(2) == Some("admin")).expect("admin row");
        admin_row.split('\t').nth(1).unwrap().to_owned()
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The server's process ID, to read its /proc entries.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM, as a service manager stopping the server would.
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit by itself; panics after `timeout`.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit within {timeout:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
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
pub fn admin_output(storage: &Storage, args: &[&str]) -> String {
    let output = admin_run(storage, args);
    assert!(output.status.success(), "admin {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// Runs `voxprint admin …` and returns what it did, failing or not.
pub fn admin_run(storage: &Storage, args: &[&str]) -> std::process::Output {
    storage.command(&[&["admin"], args].concat()).output().expect("run voxprint admin")
}

impl Storage {
    /// `voxprint ARGS…` on this storage: its flags and environment, and `VOXPRINT_LOG=warn`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .args(self.args())
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .env("VOXPRINT_LOG", "warn");
        command
    }
}

/// Runs `voxprint serve` on `storage`, which must refuse to start; returns its standard error.
pub fn serve_refused(storage: &Storage) -> String {
    let mut output = storage
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run voxprint serve");
    let deadline = Instant::now() + Duration::from_secs(60);
    while output.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = output.kill();
            panic!("serve started (it should have refused)");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = output.wait_with_output().unwrap();
    assert!(!output.status.success(), "serve exited successfully (it should have refused)");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn admin(storage: &Storage, args: &[&str]) -> String {
    admin_output(storage, args).lines().last().unwrap_or("").trim().to_owned()
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

/// Utterance `n` of one voice of the test corpus (`testdata/corpus/<voice>/<nn>.wav`).
pub fn clip(voice: &str, n: u32) -> Vec<u8> {
    testdata(&format!("corpus/{voice}/{n:02}.wav"))
}

/// The samples of a canonical 44-byte-header 16-bit mono WAV.
pub fn pcm_of(wav: &[u8]) -> Vec<i16> {
    wav[44..].chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

/// A 16-bit mono WAV of `samples`.
pub fn wav_of(samples: &[i16], rate: u32) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for sample in samples {
        out.extend_from_slice(&sample.to_le_bytes());
    }
    out
}

/// An upload of a file for the typed client.
pub fn upload(bytes: Vec<u8>) -> voxprint_api::Audio {
    voxprint_api::Audio { bytes, file_name: "clip.wav".into(), sample_rate: None, channel: None }
}

/// How many audio files the server's blob store holds, by `voxprint admin check`.
pub fn blob_count(server: &TestServer) -> usize {
    let report = admin_output(&server.storage, &["check"]);
    let line = report.lines().find_map(|line| line.strip_prefix("audio files\t")).expect("audio files line");
    line.parse().unwrap()
}

/// A multipart form with `file` and text fields.
pub fn audio_form(file: Vec<u8>, fields: &[(&str, &str)]) -> reqwest::multipart::Form {
    let mut form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(file).file_name("clip.wav"));
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    form
}

/// A caller of one server with one token: the shared typed client (`voxprint_api::Client`, as
/// the CLI uses it, answering 4008/4009 at once) for the usual calls, and raw requests whose
/// status, headers and JSON the tests inspect on the wire.
pub struct Api {
    pub client: voxprint_api::Client,
    pub base_url: String,
    pub token: String,
}

impl Api {
    pub fn new(server: &TestServer, token: &str) -> Api {
        let client = voxprint_api::Client::new(&server.base_url, token).expect("client").without_retries();
        Api { client, base_url: server.base_url.clone(), token: token.to_owned() }
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
        self.client.request(method, path)
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
        let enrolled = self.client.create_feature(group, name, None, &upload(file)).await;
        enrolled.unwrap_or_else(|err| panic!("enroll {name}: {err}")).id.to_string()
    }

    /// speaker_identify with `file`, keeping the best `top_k`; returns the feature_score_list,
    /// best first.
    pub async fn identify(&self, group: &str, file: Vec<u8>, top_k: Option<u32>) -> Vec<FeatureScore> {
        let identified = self.client.identify(group, &upload(file), top_k).await;
        identified.unwrap_or_else(|err| panic!("identify in {group}: {err}")).feature_score_list
    }

    /// speaker_identify with `file` and form fields; returns the whole `data` as sent on the
    /// wire (with Voxprint's `threshold`).
    pub async fn identify_data(&self, group: &str, file: Vec<u8>, fields: &[(&str, &str)]) -> Value {
        let path = format!("/v1/audio/voiceprint_groups/{group}/speaker_identify");
        self.post_form(&path, audio_form(file, fields)).await.ok().clone()
    }

    /// Creates a group and returns its ID.
    pub async fn create_group(&self, name: &str) -> String {
        let created = self.client.create_group(name, None).await;
        created.unwrap_or_else(|err| panic!("create group {name}: {err}")).id.to_string()
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
