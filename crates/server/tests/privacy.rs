//! Biometric privacy on the deployment under test: the audit trail (one entry per audited
//! request, with its actor, and nothing secret), its retention, the audio retention
//! (`--audio-retention-days`), and the erasure of a user or a voiceprint.

mod common;

use serde_json::Value;

use common::{admin_output, admin_run, audio_form, clip, features_path, upload, Api, Storage, TestClock, TestServer};

/// The audit trail as `voxprint admin audit --json` prints it, with extra arguments.
fn audit(storage: &Storage, args: &[&str]) -> Vec<Value> {
    let mut command = vec!["audit", "--json"];
    command.extend_from_slice(args);
    admin_output(storage, &command).lines().map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// The (action, user, code, resources) of each entry.
fn summary(entries: &[Value]) -> Vec<(String, Option<i64>, i64, String)> {
    entries
        .iter()
        .map(|entry| {
            (
                entry["action"].as_str().unwrap().to_owned(),
                entry["user_id"].as_i64(),
                entry["code"].as_i64().unwrap(),
                entry["resources"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn entry(action: &str, user: Option<i64>, code: i64, resources: String) -> (String, Option<i64>, i64, String) {
    (action.to_owned(), user, code, resources)
}

/// `serve` flags: those that make it follow `clock`, then `extra`.
fn with_clock(clock: &TestClock, extra: &[&str]) -> Vec<String> {
    clock.args().into_iter().chain(extra.iter().map(|arg| arg.to_string())).collect()
}

/// How many recordings (blobs) the store holds.
fn stored_recordings(storage: &Storage) -> usize {
    storage.stored_blobs().iter().filter(|(key, _)| key.starts_with("voiceprints/")).count()
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn every_audited_request_leaves_one_entry_naming_its_actor_and_nothing_secret() {
    let temp = tempfile::tempdir().unwrap();
    let storage = Storage::fresh(&temp.path().join("data"));
    let clock = TestClock::new();
    let args = with_clock(&clock, &["--audit-retention-days", "1"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = TestServer::start_on(&storage, &args);
    let cast = server.cast();
    let mate_id: i64 = cast.mate_id.parse().unwrap();
    let mate_token_id: i64 =
        admin_output(&storage, &["list-tokens", "--user", &cast.mate_id]).split('\t').next().unwrap().parse().unwrap();

    // Reads of lists are not audited; everything below is, failures included.
    cast.mate.list_groups("").await.ok();
    let group = cast.mate.create_group("door").await;
    let awb = cast.mate.enroll(&group, "awb", clip("flite-awb", 1)).await;
    let sample = cast.mate.client.add_sample(&group, &awb, &upload(clip("flite-awb", 2))).await.unwrap().id.to_string();
    let identified = cast
        .mate
        .post_form(
            &format!("/v1/audio/voiceprint_groups/{group}/speaker_identify"),
            audio_form(clip("flite-awb", 3), &[]),
        )
        .await;
    identified.ok();
    cast.mate.client.verify(&group, &awb, &upload(clip("flite-awb", 3))).await.unwrap();
    cast.mate.client.compare(&upload(clip("flite-awb", 3)), &upload(clip("flite-slt", 3))).await.unwrap();
    cast.outsider.delete(&format!("/v1/audio/voiceprint_groups/{group}")).await.err(4200, 404);
    let anonymous = reqwest::Client::new()
        .post(server.url(&format!("/v1/audio/voiceprint_groups/{group}/speaker_identify")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let audio_url =
        cast.mate.get(&features_path(&group)).await.ok()["items"][0]["audio_url"].as_str().unwrap().to_owned();
    assert_eq!(reqwest::get(&audio_url).await.unwrap().status(), 200);
    cast.mate.client.delete_sample(&group, &awb, &sample).await.unwrap();
    cast.mate.delete(&format!("{}/{awb}", features_path(&group))).await.ok();
    cast.mate.delete(&format!("/v1/audio/voiceprint_groups/{group}")).await.ok();

    // The accounts the cast needed were made by `voxprint admin`, which is audited too.
    let (cli, entries): (Vec<Value>, Vec<Value>) = audit(&storage, &[]).into_iter().partition(|e| e["client"] == "cli");
    let cli_actions: Vec<&str> = cli.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(cli_actions, ["create_user", "create_token", "create_team", "create_user", "create_token"]);
    assert_eq!(cli[0]["resources"], format!("user={}", cast.mate_id));
    let (group_r, feature_r) = (format!("group={group}"), format!("group={group} feature={awb}"));
    let mate = Some(mate_id);
    let outsider =
        entries.iter().find(|e| e["action"] == "delete_group" && e["code"] != 0).map(|e| e["user_id"].as_i64());
    assert_eq!(
        summary(&entries),
        [
            entry("create_group", mate, 0, format!("created={group}")),
            entry("create_voiceprint", mate, 0, format!("{group_r} created={awb}")),
            entry("add_sample", mate, 0, format!("{feature_r} created={sample}")),
            entry("speaker_identify", mate, 0, group_r.clone()),
            entry("verify_voiceprint", mate, 0, feature_r.clone()),
            entry("compare_voiceprints", mate, 0, String::new()),
            entry("delete_group", outsider.flatten(), 4200, group_r.clone()),
            entry("speaker_identify", None, 4100, group_r.clone()),
            entry("download_audio", None, 0, format!("feature={awb}")),
            entry("delete_sample", mate, 0, format!("{feature_r} sample={sample}")),
            entry("delete_voiceprint", mate, 0, feature_r.clone()),
            entry("delete_group", mate, 0, group_r.clone()),
        ]
    );
    assert_ne!(outsider.flatten(), mate, "the outsider's refused attempt names the outsider");
    let identify_entry = &entries[3];
    assert_eq!(identify_entry["token_id"].as_i64(), Some(mate_token_id));
    assert_eq!(identify_entry["team_id"].as_i64().map(|team| team.to_string()), Some(server.default_team()));
    assert_eq!(identify_entry["logid"].as_str(), identified.logid_header.as_deref());
    assert!(identify_entry["client"].as_str().unwrap().starts_with("127.0.0.1:"), "{identify_entry}");
    let everything = admin_output(&storage, &["audit", "--json"]);
    for secret in [cast.mate.token.as_str(), "pat_", "awb"] {
        assert!(!everything.contains(secret), "the audit trail holds {secret:?}");
    }

    // Filters, and the table form: nine tab-separated columns, `-` where there is nothing.
    assert_eq!(audit(&storage, &["--user", &cast.mate_id]).len(), 9);
    assert!(audit(&storage, &["--since", "2999-01-01"]).is_empty());
    let table = admin_output(&storage, &["audit", "--since", "2000-01-01T00:00:00Z"]);
    let anonymous_row =
        table.lines().find(|line| line.contains("\tspeaker_identify\t") && line.contains("\t4100\t")).unwrap();
    let columns: Vec<&str> = anonymous_row.split('\t').collect();
    assert_eq!(columns.len(), 9, "{anonymous_row}");
    assert_eq!(&columns[1..4], ["-", "-", "-"], "{anonymous_row}");
    let bad = admin_run(&storage, &["audit", "--since", "yesterday"]);
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM-DD"));

    // Append-only: the database itself refuses to change an entry.
    let changed =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| storage.execute_sql("UPDATE audit_log SET code = 0")));
    assert!(changed.is_err(), "an audit entry was changed");

    // Live streams: a token in the header is known at the upgrade; one sent in the first message
    // is checked after the upgrade, which was recorded without a caller, and gets its own entry.
    let live = cast.mate.create_group("live").await;
    let wav = temp.path().join("probe.wav");
    std::fs::write(&wav, clip("flite-awb", 2)).unwrap();
    let streamed = std::process::Command::new(common::BIN)
        .args(["client", "--url", &server.base_url, "--token", &cast.mate.token, "stream", "--group", &live])
        .arg(&wav)
        .output()
        .unwrap();
    assert!(streamed.status.success(), "{}", String::from_utf8_lossy(&streamed.stderr));
    {
        use futures_util::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let url =
            format!("{}/v1/audio/voiceprint_groups/{live}/speaker_stream", server.base_url.replacen("http", "ws", 1));
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let start = serde_json::json!({"sample_rate": 16000, "channel": 1, "token": cast.mate.token});
        socket.send(Message::Text(start.to_string().into())).await.unwrap();
        let ready = socket.next().await.unwrap().unwrap();
        assert!(ready.to_text().unwrap().contains("ready"), "{ready:?}");
        socket.close(None).await.unwrap();
    }
    let streams: Vec<_> =
        summary(&audit(&storage, &[])).into_iter().filter(|(action, ..)| action == "speaker_stream").collect();
    let live_r = format!("group={live}");
    assert_eq!(
        streams,
        [
            entry("speaker_stream", mate, 0, live_r.clone()),
            entry("speaker_stream", None, 0, live_r.clone()),
            entry("speaker_stream", mate, 0, live_r)
        ]
    );

    // Retention: two days later, a server's start-up sweep removes the entries older than one.
    server.stop();
    clock.advance(2 * 86_400);
    let server = TestServer::start_on(&storage, &args);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !audit(&storage, &[]).is_empty() {
        assert!(std::time::Instant::now() < deadline, "old audit entries were kept");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    Api::new(&server, &server.admin_token).create_group("later").await;
    assert_eq!(summary(&audit(&storage, &[]))[0].0, "create_group");

    // Behind a reverse proxy: `X-Forwarded-For` names the client only when the peer is one of
    // `--trusted-proxies`; from anyone else it is ignored, since anyone can send it.
    let forwarded_client = |server: &TestServer| {
        let request = reqwest::Client::new()
            .post(server.url("/v1/audio/voiceprint_groups"))
            .bearer_auth(&server.admin_token)
            .header("x-forwarded-for", "198.51.100.7, 203.0.113.9")
            .json(&serde_json::json!({"name": "proxied"}))
            .send();
        async {
            assert_eq!(request.await.unwrap().status(), 200);
            audit(&storage, &[]).last().unwrap()["client"].as_str().unwrap().to_owned()
        }
    };
    let client = forwarded_client(&server).await;
    assert!(client.starts_with("127.0.0.1:"), "{client}");
    server.stop();
    let trusting = with_clock(&clock, &["--trusted-proxies", "10.0.0.0/8,127.0.0.1"]);
    let server = TestServer::start_on(&storage, &trusting.iter().map(String::as_str).collect::<Vec<_>>());
    let client = forwarded_client(&server).await;
    assert!(client.starts_with("203.0.113.9 via 127.0.0.1:"), "{client}");
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn recordings_past_their_retention_go_and_their_voiceprints_still_identify() {
    let temp = tempfile::tempdir().unwrap();
    let storage = Storage::fresh(&temp.path().join("data"));
    let clock = TestClock::new();
    let args = with_clock(&clock, &["--audio-retention-days", "1"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = TestServer::start_on(&storage, &args);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("door").await;
    let awb = api.enroll(&group, "awb", clip("flite-awb", 1)).await;
    let slt = api.enroll(&group, "slt", clip("flite-slt", 1)).await;
    api.client.add_sample(&group, &slt, &upload(clip("flite-slt", 2))).await.unwrap();
    assert_eq!(stored_recordings(&storage), 3);

    // Two days on, one more enrollment; the next start's sweep deletes the three older ones.
    clock.advance(2 * 86_400);
    let rms = api.enroll(&group, "rms", clip("flite-rms", 1)).await;
    server.stop();
    let server = TestServer::start_on(&storage, &args);
    let api = Api::new(&server, &server.admin_token);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while stored_recordings(&storage) != 1 {
        assert!(std::time::Instant::now() < deadline, "{} recordings still stored", stored_recordings(&storage));
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    for (voice, id) in [("flite-awb", &awb), ("flite-slt", &slt), ("flite-rms", &rms)] {
        let ranked = api.identify(&group, clip(voice, 3), Some(1)).await;
        assert_eq!(ranked[0].feature_id.to_string(), *id, "{voice} after the sweep");
    }
    let listed = api.get(&features_path(&group)).await.ok().clone();
    for item in listed["items"].as_array().unwrap() {
        let url = item["audio_url"].as_str().unwrap();
        let answer = reqwest::get(url).await.unwrap();
        if item["id"] == rms.as_str() {
            assert!(answer.bytes().await.unwrap().starts_with(b"RIFF"), "a recent recording is kept");
        } else {
            assert_eq!(answer.status(), 404);
            let body: Value = answer.json().await.unwrap();
            assert_eq!(body["code"], 4200);
            assert!(body["msg"].as_str().unwrap().contains("recording not retained"), "{body}");
        }
    }
    let check = admin_output(&storage, &["check"]);
    assert!(check.contains("damaged recordings\t0\norphan audio files\t0\nrecordings not retained\t3\n"), "{check}");

    // A scoring upgrade cannot refresh what has no audio: reembed names those recordings.
    storage.execute_sql("UPDATE voiceprints SET scoring_version = 0");
    storage.execute_sql("UPDATE voiceprint_samples SET scoring_version = 0");
    let reembed = admin_run(&storage, &["reembed"]);
    let (out, err) = (String::from_utf8_lossy(&reembed.stdout), String::from_utf8_lossy(&reembed.stderr));
    assert!(!reembed.status.success(), "{out}");
    assert!(out.contains("refreshed\t1\n") && out.contains("not refreshed\t3"), "{out}");
    for id in [&awb, &slt] {
        assert!(err.contains(&format!("not refreshed: voiceprint {id}: recording not retained")), "{err}");
    }
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn erasing_a_user_or_a_voiceprint_leaves_nothing_of_it() {
    let temp = tempfile::tempdir().unwrap();
    let storage = Storage::fresh(&temp.path().join("data"));
    let server = TestServer::start_on(&storage, &[]);
    let cast = server.cast();
    // The mate's own group (two voiceprints, one with a sample), and a voiceprint the mate
    // enrolled in the admin's group, beside the admin's own.
    let own = cast.mate.create_group("mine").await;
    cast.mate.enroll(&own, "awb", clip("flite-awb", 1)).await;
    let slt = cast.mate.enroll(&own, "slt", clip("flite-slt", 1)).await;
    cast.mate.client.add_sample(&own, &slt, &upload(clip("flite-slt", 2))).await.unwrap();
    let shared = cast.admin.create_group("shared").await;
    cast.mate.enroll(&shared, "rms", clip("flite-rms", 1)).await;
    let kept = cast.admin.enroll(&shared, "kal", clip("flite-kal16", 1)).await;
    assert_eq!(stored_recordings(&storage), 5);

    let erased = admin_output(&storage, &["erase-user", &cast.mate_id]);
    assert!(erased.contains(&format!("removed group {own} with 2 voiceprints and 3 recordings")), "{erased}");
    assert!(
        erased.ends_with(&format!(
            "erased user {}: 1 groups, 3 voiceprints, 4 recordings removed; 1 tokens revoked\n",
            cast.mate_id
        )),
        "{erased}"
    );
    cast.mate.list_groups("").await.err(4100, 401);
    assert_eq!(stored_recordings(&storage), 1);
    let mate = &cast.mate_id;
    for table in ["voiceprint_groups", "voiceprints"] {
        assert_eq!(storage.query_int(&format!("SELECT COUNT(*) FROM {table} WHERE creator_id = {mate}")), 0, "{table}");
    }
    assert_eq!(storage.query_int("SELECT COUNT(*) FROM voiceprint_samples"), 0);
    assert_eq!(
        storage.query_int(&format!("SELECT COUNT(*) FROM users WHERE id = {mate} AND name = 'erased-{mate}'")),
        1
    );
    let users = admin_output(&storage, &["list-users"]);
    assert!(!users.contains("\tmate\t"), "{users}");
    let check = admin_output(&storage, &["check"]);
    assert!(
        check.contains("voiceprints\t1\nrecordings\t1\naudio files\t1\ndamaged recordings\t0\norphan audio files\t0\n"),
        "{check}"
    );
    let ranked = cast.admin.identify(&shared, clip("flite-rms", 3), None).await;
    assert_eq!(ranked.iter().map(|score| score.feature_id.to_string()).collect::<Vec<_>>(), [kept.as_str()]);

    // Running it again finds nothing left; an unknown user is named.
    let again = admin_output(&storage, &["erase-user", &cast.mate_id]);
    assert!(again.contains("0 groups, 0 voiceprints, 0 recordings removed; 0 tokens revoked"), "{again}");
    let unknown = admin_run(&storage, &["erase-user", "12345"]);
    assert!(!unknown.status.success() && String::from_utf8_lossy(&unknown.stderr).contains("user not found"));

    let erased = admin_output(&storage, &["erase-voiceprint", &kept]);
    assert!(erased.contains(&format!("erased voiceprint {kept}: 1 recordings removed")), "{erased}");
    assert_eq!(stored_recordings(&storage), 0);
    assert!(admin_output(&storage, &["check"]).contains("voiceprints\t0\nrecordings\t0\naudio files\t0\n"));

    // The audit trail keeps the fact of each erasure, and whom it concerned, nothing more.
    let entries = audit(&storage, &[]);
    let erasures: Vec<_> = entries.iter().filter(|e| e["action"].as_str().unwrap().starts_with("erase_")).collect();
    assert_eq!(erasures.len(), 3);
    assert_eq!(erasures[0]["resources"], format!("user={mate}"));
    assert_eq!(erasures[2]["resources"], format!("feature={kept}"));
    assert!(erasures.iter().all(|e| e["client"] == "cli" && e["user_id"].is_null() && e["code"] == 0));
}
