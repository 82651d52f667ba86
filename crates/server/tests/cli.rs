//! The command line: the model commands, and `serve` refusing to start without a model, with
//! storage it cannot use or with settings out of range.

mod common;

use std::process::Command;

use common::BIN;

#[test]
fn serve_without_a_model_refuses_with_one_line_naming_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--model"])
        .arg(dir.path().join("missing.vxm"))
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|line| !line.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(lines[0].contains("voxprint model fetch"), "{stderr}");
}

#[test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
fn model_fetch_is_idempotent() {
    let output = Command::new(BIN).args(["model", "fetch"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("already present"), "the test script fetched it before: {stdout}");
}

#[test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
fn embed_prints_one_json_line_per_file() {
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/corpus");
    let same_a = format!("{corpus}/flite-awb/01.wav");
    let same_b = format!("{corpus}/flite-awb/02.wav");
    let other = format!("{corpus}/festival-ked/01.wav");
    let output = Command::new(BIN).args(["embed", "--json", &same_a, &same_b, &other]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["file"], same_a.as_str());
    let vectors: Vec<Vec<f64>> = lines
        .iter()
        .map(|line| line["embedding"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect())
        .collect();
    assert!(vectors.iter().all(|v| v.len() == 256));
    let norm: f64 = vectors[0].iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-3, "L2-normalised: {norm}");
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    assert!(dot(&vectors[0], &vectors[1]) > dot(&vectors[0], &vectors[2]), "same voice is closer");

    let bad = Command::new(BIN).args(["embed", &same_a, "/nonexistent.wav"]).output().unwrap();
    assert!(!bad.status.success());
    assert_eq!(String::from_utf8_lossy(&bad.stdout).lines().count(), 1, "the good file is still printed");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("/nonexistent.wav"));
}

#[test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
fn serve_refuses_storage_it_cannot_use_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let serve = |flags: &[&str]| {
        let output = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(flags)
            .env("AWS_ACCESS_KEY_ID", "nobody")
            .env("AWS_SECRET_ACCESS_KEY", "nothing")
            .env("AWS_REGION", "nowhere")
            .output()
            .unwrap();
        assert!(!output.status.success(), "{flags:?} started");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    // Nothing listens on port 1: refused at once, with the cause, and without the password.
    let refused = serve(&["--database-url", "postgres://vp:s3cret@127.0.0.1:1/voxprint"]);
    assert!(refused.contains("cannot open the database postgres://vp:***@127.0.0.1:1/voxprint"), "{refused}");
    assert!(refused.contains("Connection refused") && !refused.contains("s3cret"), "{refused}");
    let other = serve(&["--database-url", "mysql://db/voxprint"]);
    assert!(other.contains("must start with postgres://"), "{other}");
    let ftp = serve(&["--blob-store", "ftp://audio"]);
    assert!(ftp.contains("unsupported audio storage") && ftp.contains("s3://BUCKET"), "{ftp}");
}

#[test]
fn serve_refuses_a_match_threshold_outside_0_to_100() {
    let dir = tempfile::tempdir().unwrap();
    let serve = |flags: &[&str], env: Option<&str>| {
        let mut command = Command::new(BIN);
        command.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(dir.path()).args(flags);
        match env {
            Some(value) => command.env("VOXPRINT_MATCH_THRESHOLD", value),
            None => command.env_remove("VOXPRINT_MATCH_THRESHOLD"),
        };
        let output = command.output().unwrap();
        assert!(!output.status.success(), "{flags:?} {env:?} started");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    for bad in ["150", "-1", "abc", "NaN"] {
        let refused = serve(&["--match-threshold", bad], None);
        assert!(refused.contains(&format!("invalid value '{bad}' for '--match-threshold")), "{refused}");
        assert!(refused.contains("must be a number from 0 to 100"), "{refused}");
    }
    let from_env = serve(&[], Some("100.5"));
    assert!(from_env.contains("invalid value '100.5'") && from_env.contains("from 0 to 100"), "{from_env}");
    assert!(!dir.path().join("voxprint.db").exists(), "refused before touching the storage");
}
