//! `voxprint client …` against a real server, black-box: output, errors and exit statuses.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{TestServer, BIN};
use serde_json::Value;

fn corpus(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus").join(file)
}

/// `voxprint client --url … --token … ARGS`, without the environment variables of the caller.
fn client(server: &TestServer, args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("client")
        .args(["--url", &server.base_url, "--token", &server.admin_token])
        .args(args)
        .env_remove("VOXPRINT_URL")
        .env_remove("VOXPRINT_TOKEN")
        .output()
        .expect("run voxprint client")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs the client with `--json`, asserts success and parses standard output.
fn json(server: &TestServer, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let output = client(server, &all);
    assert!(output.status.success(), "{args:?} failed: {}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("not JSON: {}", text(&output.stdout)))
}

fn id_of(created: &Value) -> String {
    created["id"].as_str().expect("string id").to_owned()
}

fn names(items: &Value) -> Vec<&str> {
    items.as_array().expect("array").iter().map(|item| item["name"].as_str().unwrap()).collect()
}

#[test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
fn groups_are_created_listed_updated_and_deleted() {
    let server = TestServer::start(&[]);
    let a = id_of(&json(&server, &["groups", "create", "--name", "Front door", "--desc", "device 7"]));
    let b = id_of(&json(&server, &["groups", "create", "--name", "Front hall"]));
    let c = id_of(&json(&server, &["groups", "create", "--name", "Back door"]));
    // A teammate's group: listed by default, not with --mine.
    let (_, mate_token) = server.new_user(&server.default_team(), "mate", "all");
    let mate = Command::new(BIN)
        .args(["client", "--url", &server.base_url, "--token", &mate_token, "groups", "create", "--name", "Mate's"])
        .output()
        .unwrap();
    assert!(mate.status.success(), "{}", text(&mate.stderr));

    // Every page is fetched: 4 groups one per page.
    let all = json(&server, &["groups", "list", "--page-size", "1"]);
    assert_eq!(all.as_array().unwrap().len(), 4, "{all}");
    let mine = json(&server, &["groups", "list", "--mine", "--page-size", "2"]);
    assert_eq!(names(&mine), ["Back door", "Front hall", "Front door"], "newest first: {mine}");
    let front = json(&server, &["groups", "list", "--name", "Front"]);
    assert_eq!(names(&front), ["Front hall", "Front door"]);
    let door = &front[1];
    assert_eq!(door["id"], a.as_str());
    assert_eq!(door["desc"], "device 7");
    assert_eq!(door["feature_count"], 0);

    // Human output: a header and aligned columns.
    let table = client(&server, &["groups", "list", "--name", "Front"]);
    assert!(table.status.success());
    let table = text(&table.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("ID") && lines[0].contains("NAME"), "{table}");
    let name_column = lines[0].find("NAME").unwrap();
    assert_eq!(lines[1].find("Front hall"), Some(name_column), "{table}");
    assert_eq!(lines[2].find("Front door"), Some(name_column), "{table}");

    assert_eq!(json(&server, &["groups", "update", &a, "--name", "Side door", "--desc", ""]), Value::Null);
    let updated = json(&server, &["groups", "list", "--name", "Side"]);
    assert_eq!(updated[0]["id"], a.as_str());
    assert_eq!(updated[0]["desc"], "");

    let deleted = client(&server, &["groups", "delete", &b]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    assert_eq!(text(&deleted.stdout).trim(), format!("deleted group {b}"));
    let left = json(&server, &["groups", "list", "--mine"]);
    let ids: Vec<&str> = left.as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [c.as_str(), a.as_str()]);

    // Plain create prints the ID alone.
    let plain = client(&server, &["groups", "create", "--name", "Plain"]);
    let id = text(&plain.stdout);
    assert!(!id.trim().is_empty() && id.trim().bytes().all(|b| b.is_ascii_digit()), "{id}");
}

#[test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
fn voiceprints_are_enrolled_listed_identified_and_deleted() {
    let server = TestServer::start(&[]);
    let group = id_of(&json(&server, &["groups", "create", "--name", "Voices"]));
    let voices = ["flite-awb", "festival-ked", "flite-rms"];
    let mut ids = Vec::new();
    for voice in voices {
        let file = corpus(&format!("{voice}/01.wav"));
        let created = json(&server, &["features", "create", "--group", &group, "--name", voice, file.to_str().unwrap()]);
        ids.push(id_of(&created));
    }
    let listed = json(&server, &["features", "list", "--group", &group]);
    let mut listed_names = names(&listed);
    listed_names.sort();
    assert_eq!(listed_names, ["festival-ked", "flite-awb", "flite-rms"]);
    assert!(listed.as_array().unwrap().iter().all(|f| f["group_id"] == group.as_str()));

    let probe = corpus("festival-ked/03.wav");
    let identified = json(&server, &["identify", "--group", &group, probe.to_str().unwrap()]);
    let scores = identified["feature_score_list"].as_array().expect("feature_score_list");
    assert_eq!(scores.len(), 3);
    assert_eq!(scores[0]["feature_id"], ids[1].as_str(), "{identified}");
    assert_eq!(scores[0]["feature_name"], "festival-ked");
    let top1 = json(&server, &["identify", "--group", &group, probe.to_str().unwrap(), "--top-k", "1"]);
    assert_eq!(top1["feature_score_list"].as_array().unwrap().len(), 1);
    let threshold = identified["threshold"].as_f64().expect("threshold");
    assert!(scores.iter().all(|s| s["matched"] == (s["score"].as_f64().unwrap() >= threshold)), "{identified}");
    let table = client(&server, &["identify", "--group", &group, probe.to_str().unwrap()]);
    let table = text(&table.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].contains("MATCHED"), "{table}");
    assert!(lines[1].contains("festival-ked"), "{table}");
    // The same probe scores the same: the table and its last line agree with the JSON decision.
    let matched_column = lines[0].find("MATCHED").unwrap();
    for (line, score) in lines[1..=3].iter().zip(scores) {
        let cell = if score["matched"] == true { "yes" } else { "no" };
        assert_eq!(line[matched_column..].split_whitespace().next(), Some(cell), "{table}");
    }
    let best = scores[0]["score"].as_f64().unwrap();
    let verdict = if scores[0]["matched"] == true {
        format!("best match: festival-ked ({best:.2} ≥ threshold {threshold})")
    } else {
        format!("no enrolled speaker matched (best {best:.2} < threshold {threshold})")
    };
    assert_eq!(lines.last(), Some(&verdict.as_str()), "{table}");
    assert_eq!(lines.len(), 5, "header, three scores, verdict: {table}");

    // Update: rename and replace the recording.
    let new_audio = corpus("flite-awb/02.wav");
    let args = ["features", "update", "--group", &group, &ids[0], "--name", "awb", "--file", new_audio.to_str().unwrap()];
    assert_eq!(json(&server, &args), Value::Null);
    let listed = json(&server, &["features", "list", "--group", &group]);
    assert!(names(&listed).contains(&"awb"), "{listed}");

    let deleted = client(&server, &["features", "delete", "--group", &group, &ids[2]]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    let listed = json(&server, &["features", "list", "--group", &group]);
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let table = text(&client(&server, &["features", "list", "--group", &group]).stdout);
    assert_eq!(table.lines().count(), 3, "{table}");
}

#[test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
fn verify_compare_and_samples_from_the_command_line() {
    let server = TestServer::start(&[]);
    let group = id_of(&json(&server, &["groups", "create", "--name", "Voices"]));
    let path = |file: &str| corpus(file).to_str().unwrap().to_owned();
    let awb = id_of(&json(&server, &["features", "create", "--group", &group, "--name", "awb", &path("flite-awb/01.wav")]));

    let verified = json(&server, &["verify", "--group", &group, &awb, &path("flite-awb/03.wav")]);
    assert_eq!(verified["matched"], true, "{verified}");
    let table = text(&client(&server, &["verify", "--group", &group, &awb, &path("flite-slt/03.wav")]).stdout);
    assert!(table.starts_with("different speaker (") && table.contains("< threshold 50)"), "{table}");

    let compared = json(&server, &["compare", &path("flite-awb/01.wav"), &path("flite-awb/04.wav")]);
    assert_eq!(compared["matched"], true, "{compared}");
    assert!(compared["quality2"]["speech_seconds"].as_f64().unwrap() > 1.0, "{compared}");
    let table = text(&client(&server, &["compare", &path("flite-awb/01.wav"), &path("festival-ked/04.wav")]).stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("different speaker"), "{table}");
    assert!(lines[1].contains("flite-awb/01.wav: ") && lines[1].contains("s of speech, SNR"), "{table}");

    let added = json(&server, &["samples", "add", "--group", &group, &awb, &path("flite-awb/02.wav")]);
    let sample = id_of(&added);
    assert!(added["quality"]["speech_seconds"].as_f64().unwrap() > 1.0, "{added}");
    let listed = json(&server, &["samples", "list", "--group", &group, &awb]);
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [awb.as_str(), sample.as_str()]);
    let table = text(&client(&server, &["features", "list", "--group", &group]).stdout);
    assert!(table.lines().next().unwrap().contains("SAMPLES") && table.lines().nth(1).unwrap().contains("  2  "), "{table}");
    let deleted = client(&server, &["samples", "delete", "--group", &group, &awb, &awb]);
    assert!(deleted.status.success(), "{}", text(&deleted.stderr));
    let last = client(&server, &["samples", "delete", "--group", &group, &awb, &sample]);
    assert!(!last.status.success());
    assert!(text(&last.stderr).starts_with("error 4000: a voiceprint keeps at least one sample"), "{}", text(&last.stderr));
    assert_eq!(json(&server, &["samples", "list", "--group", &group, &awb]).as_array().unwrap().len(), 1);
}

#[test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
fn enroll_dir_enrolls_each_file_and_reports_failures() {
    let server = TestServer::start(&[]);
    let group = id_of(&json(&server, &["groups", "create", "--name", "Batch"]));
    let dir = tempfile::tempdir().unwrap();
    let long_name = "a-speaker-with-a-very-long-name.wav";
    std::fs::copy(corpus("flite-awb/01.wav"), dir.path().join("b-awb.wav")).unwrap();
    std::fs::copy(corpus("festival-ked/01.wav"), dir.path().join("a-ked.wav")).unwrap();
    std::fs::copy(corpus("flite-rms/01.wav"), dir.path().join(long_name)).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "these are not audio: speaker list\n".repeat(50)).unwrap();
    std::fs::create_dir(dir.path().join("subdir")).unwrap();
    std::fs::copy(corpus("flite-slt/01.wav"), dir.path().join("subdir/skipped.wav")).unwrap();

    let output = client(&server, &["enroll-dir", dir.path().to_str().unwrap(), "--group", &group, "--json"]);
    assert!(!output.status.success(), "one file failed, so the status is non-zero");
    let results: Value = serde_json::from_slice(&output.stdout).expect("JSON results");
    let results = results.as_array().unwrap();
    let files: Vec<&str> = results.iter().map(|r| r["file"].as_str().unwrap()).collect();
    assert_eq!(files, ["a-ked.wav", long_name, "b-awb.wav", "notes.txt"], "sorted by name, not recursive");
    assert!(results[..3].iter().all(|r| r["id"].is_string() && r.get("code").is_none()), "{results:?}");
    assert_eq!(results[3]["code"], 4303, "{results:?}");
    assert!(results[3].get("id").is_none());
    assert!(!results[3]["msg"].as_str().unwrap().is_empty());

    let listed = json(&server, &["features", "list", "--group", &group]);
    let mut enrolled = names(&listed);
    enrolled.sort();
    assert_eq!(enrolled, ["a-ked", "a-speaker-with-a-ver", "b-awb"], "stems, cut to 20 characters");

    // The human summary: one row per file, the error with its code; no progress bar off a terminal.
    let again = tempfile::tempdir().unwrap();
    std::fs::write(again.path().join("junk.bin"), [0u8, 1, 2, 3].repeat(100)).unwrap();
    std::fs::copy(corpus("flite-slt/01.wav"), again.path().join("slt.wav")).unwrap();
    let output = client(&server, &["enroll-dir", again.path().to_str().unwrap(), "--group", &group]);
    assert!(!output.status.success());
    let table = text(&output.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("FILE") && lines[0].contains("RESULT"), "{table}");
    assert!(lines[1].starts_with("junk.bin") && lines[1].contains("error 43"), "{table}");
    assert!(lines[2].starts_with("slt.wav"), "{table}");
    let id = lines[2].split_whitespace().nth(1).unwrap();
    assert!(id.bytes().all(|b| b.is_ascii_digit()), "{table}");
    assert_eq!(text(&output.stderr).trim(), "1 of 2 files failed");
}

#[test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
fn api_errors_print_code_message_and_logid_and_fail() {
    let server = TestServer::start(&[]);
    let output = client(&server, &["groups", "delete", "123456789"]);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = text(&output.stderr);
    assert!(stderr.starts_with("error 4200: "), "{stderr}");
    let logid = stderr.trim().rsplit_once("(logid ").map(|(_, rest)| rest.trim_end_matches(')')).unwrap_or("");
    assert!(!logid.is_empty(), "{stderr}");

    let output = client(&server, &["groups", "create", "--name", &"x".repeat(21), "--json"]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).starts_with("error 4000: "), "{}", text(&output.stderr));

    let bad_token = Command::new(BIN)
        .args(["client", "--url", &server.base_url, "--token", "pat_nope", "groups", "list"])
        .output()
        .unwrap();
    assert!(!bad_token.status.success());
    assert!(text(&bad_token.stderr).starts_with("error 4100: "), "{}", text(&bad_token.stderr));

    let no_token = Command::new(BIN)
        .args(["client", "--url", &server.base_url, "groups", "list"])
        .env_remove("VOXPRINT_TOKEN")
        .output()
        .unwrap();
    assert!(!no_token.status.success());
    assert!(text(&no_token.stderr).contains("VOXPRINT_TOKEN"), "{}", text(&no_token.stderr));

    // A server that is not there: the message names the URL.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let unreachable = Command::new(BIN).args(["client", "--url", &url, "--token", "pat_x", "groups", "list"]).output().unwrap();
    assert!(!unreachable.status.success());
    let stderr = text(&unreachable.stderr);
    assert!(stderr.contains(&format!("could not reach {url}")), "{stderr}");
}

#[test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
fn url_and_token_come_from_the_environment() {
    let server = TestServer::start(&[]);
    let run = |args: &[&str]| {
        Command::new(BIN)
            .arg("client")
            .args(args)
            .env("VOXPRINT_URL", &server.base_url)
            .env("VOXPRINT_TOKEN", &server.admin_token)
            .output()
            .unwrap()
    };
    let created = run(&["--json", "groups", "create", "--name", "From env"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let id = serde_json::from_slice::<Value>(&created.stdout).unwrap()["id"].as_str().unwrap().to_owned();
    let listed = run(&["groups", "list", "--json"]);
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["name"], "From env");
}

#[test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
fn diarize_prints_segments_speakers_and_rttm() {
    let server = TestServer::start(&[]);
    let group = id_of(&json(&server, &["groups", "create", "--name", "Meeting"]));
    let path = |file: &str| corpus(file).to_str().unwrap().to_owned();
    let awb = id_of(&json(&server, &["features", "create", "--group", &group, "--name", "awb", &path("flite-awb/01.wav")]));
    // awb for about 8 s, half a second of silence, then ked (not enrolled).
    let mut samples: Vec<i16> = Vec::new();
    for file in ["flite-awb/02.wav", "flite-awb/03.wav", "flite-awb/04.wav", "", "festival-ked/02.wav", "festival-ked/03.wav"] {
        if file.is_empty() {
            samples.extend(std::iter::repeat_n(0, 8_000));
        } else {
            samples.extend(common::pcm_of(&std::fs::read(corpus(file)).unwrap()));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let meeting = dir.path().join("team meeting.wav");
    std::fs::write(&meeting, common::wav_of(&samples, 16_000)).unwrap();
    let meeting = meeting.to_str().unwrap();

    let result = json(&server, &["diarize", "--group", &group, meeting]);
    let labels: Vec<&str> = result["speakers"].as_array().unwrap().iter().map(|s| s["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["awb", "speaker_1"], "{result}");
    assert_eq!(result["speakers"][0]["feature_id"], awb.as_str());

    let table = text(&client(&server, &["diarize", "--group", &group, meeting]).stdout);
    let first = table.lines().nth(1).unwrap();
    assert!(first.contains("awb") && first.contains(&awb), "{table}");
    assert!(table.contains("(not enrolled)"), "{table}");

    let rttm = text(&client(&server, &["diarize", "--group", &group, "--rttm", meeting]).stdout);
    let lines: Vec<Vec<&str>> = rttm.lines().map(|l| l.split(' ').collect()).collect();
    assert!(!lines.is_empty() && lines.iter().all(|f| f.len() == 10 && f[0] == "SPEAKER" && f[1] == "team_meeting"), "{rttm}");
    assert_eq!((lines[0][7], lines.last().unwrap()[7]), ("awb", "speaker_1"), "{rttm}");
    let duration: f64 = lines[0][4].parse().unwrap();
    assert!(duration > 6.0, "{rttm}");
}

#[test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
fn stream_prints_live_events_from_a_file_and_from_standard_input() {
    let server = TestServer::start(&[]);
    let group = id_of(&json(&server, &["groups", "create", "--name", "Live"]));
    let path = |file: &str| corpus(file).to_str().unwrap().to_owned();
    json(&server, &["features", "create", "--group", &group, "--name", "awb", &path("flite-awb/01.wav")]);

    // A file, at real-time pace: about 2.6 s.
    let started = std::time::Instant::now();
    let output = client(&server, &["stream", "--group", &group, &path("flite-awb/02.wav")]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(started.elapsed().as_secs_f64() > 2.0, "sent at real-time pace, not at once");
    let lines = text(&output.stdout);
    assert!(lines.lines().next().unwrap().contains("ready (threshold 50)"), "{lines}");
    assert!(lines.contains("speech starts") && lines.contains("speaking: awb (") && lines.contains("speech ends"), "{lines}");

    // Raw PCM on standard input, as JSON lines.
    let pcm = common::pcm_of(&std::fs::read(corpus("festival-ked/02.wav")).unwrap());
    let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut child = Command::new(BIN)
        .args(["client", "--url", &server.base_url, "--token", &server.admin_token, "--json"])
        .args(["stream", "--group", &group, "-", "--sample-rate", "16000"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let events: Vec<Value> = text(&output.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let speakers: Vec<&Value> = events.iter().filter(|e| e["event"] == "speaker").collect();
    assert!(!speakers.is_empty() && speakers.iter().all(|e| e["matched"] == false && e["feature_id"].is_null()), "{events:?}");

    // A refusal is printed as the envelope's code and message, and fails the command.
    let output = client(&server, &["stream", "--group", "123", &path("flite-awb/02.wav")]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("4200: voiceprint group 123 not found"), "{}", text(&output.stderr));
}
