//! Tokens and permissions through HTTP against the real binary.

mod common;

use common::{Api, TestServer};
use serde_json::json;

const GROUPS: &str = "/v1/audio/voiceprint_groups";

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn missing_malformed_and_unknown_tokens_get_4100() {
    let server = TestServer::start(&[]);
    let http = reqwest::Client::new();
    let anonymous = Api::new(&server, "");
    let no_header = anonymous.send(http.get(server.url(GROUPS))).await;
    assert!(no_header.err(4100, 401).contains("Authorization"));
    let basic = anonymous.send(http.get(server.url(GROUPS)).header("authorization", "Basic abc")).await;
    assert!(basic.err(4100, 401).contains("Bearer"));
    let forged = format!("pat_{}", "0".repeat(64));
    for token in ["pat_short", forged.as_str(), "not-a-token"] {
        Api::new(&server, token).list_groups("").await.err(4100, 401);
    }
    let lowercase_scheme = anonymous
        .send(http.get(server.url(GROUPS)).header("authorization", format!("bearer {}", server.admin_token)))
        .await;
    lowercase_scheme.ok();
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn users_me_names_the_tokens_user() {
    let server = TestServer::start(&[]);
    let (user, token) = server.new_user(&server.default_team(), "ada", "listVoiceprintGroup");
    let me = Api::new(&server, &token).get("/v1/users/me").await;
    let data = me.ok();
    assert_eq!(data["user_id"], user.as_str());
    assert_eq!(data["user_name"], "ada");
    assert!(data["avatar_url"].as_str().unwrap().starts_with("http"));
    Api::new(&server, "pat_nope").get("/v1/users/me").await.err(4100, 401);
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn a_token_needs_the_endpoints_permission() {
    let server = TestServer::start(&[]);
    let team = server.default_team();
    let (_, list_only) = server.new_user(&team, "reader", "listVoiceprintGroup");
    let reader = Api::new(&server, &list_only);
    reader.list_groups("").await.ok();
    let msg = reader.post_json(GROUPS, json!({ "name": "x" })).await.err(4101, 403).to_owned();
    assert!(msg.contains("createVoiceprintGroup"), "{msg}");
    let group = Api::new(&server, &server.admin_token).create_group("g").await;
    let msg = reader.put_json(&format!("{GROUPS}/{group}"), json!({ "name": "y" })).await.err(4101, 403).to_owned();
    assert!(msg.contains("updateVoiceprintGroup"), "{msg}");
    let msg = reader.delete(&format!("{GROUPS}/{group}")).await.err(4101, 403).to_owned();
    assert!(msg.contains("deleteVoiceprintGroup"), "{msg}");

    let (_, create_only) = server.new_user(&team, "writer", "createVoiceprintGroup");
    let msg = Api::new(&server, &create_only).list_groups("").await.err(4101, 403).to_owned();
    assert!(msg.contains("listVoiceprintGroup"), "{msg}");
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn revocation_and_expiry_take_effect_on_the_next_request() {
    let server = TestServer::start(&[]);
    let team = server.default_team();
    let user = server.admin(&["create-user", "--team", &team, "--name", "temp"]);
    let token = server.admin(&["create-token", "--user", &user, "--expires-in-days", "1"]);
    let api = Api::new(&server, &token);
    api.list_groups("").await.ok();

    let tokens = common::admin_output(&server.storage, &["list-tokens", "--user", &user]);
    let row: Vec<&str> = tokens.lines().next().unwrap().split('\t').collect();
    let token_id = row[0];
    assert!(row[3].parse::<i64>().is_ok(), "expiry listed: {row:?}");
    assert_eq!(row[4], "active");

    // Move the expiry into the past straight in the database: the server must refuse at once.
    let token_id: i64 = token_id.parse().unwrap();
    assert_eq!(server.storage.execute_sql(&format!("UPDATE tokens SET expires_at = 1 WHERE id = {token_id}")), 1);
    api.list_groups("").await.err(4100, 401);

    let second = server.admin(&["create-token", "--user", &user]);
    let api = Api::new(&server, &second);
    api.list_groups("").await.ok();
    let second_id = common::admin_output(&server.storage, &["list-tokens", "--user", &user])
        .lines()
        .last()
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_owned();
    server.admin(&["revoke-token", "--token-id", &second_id]);
    api.list_groups("").await.err(4100, 401);
    let listing = common::admin_output(&server.storage, &["list-tokens", "--user", &user]);
    assert!(listing.lines().last().unwrap().contains("revoked"), "{listing}");
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn first_start_bootstraps_once_and_later_starts_reuse_everything() {
    let temp = tempfile::tempdir().unwrap();
    let storage = common::Storage::fresh(temp.path());
    let first = TestServer::start_on(&storage, &[]);
    let token = first.admin_token.clone();
    assert!(token.starts_with("pat_") && token.len() == 68, "{token}");
    assert!(first.first_start_stdout.iter().any(|line| line.trim() == token), "token printed once at first start");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(temp.path().join("admin-token")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let group = Api::new(&first, &token).create_group("kept").await;
    first.stop();

    let second = TestServer::start_on(&storage, &[]);
    assert!(second.first_start_stdout.iter().all(|line| !line.contains("pat_")), "no new token: {:?}", second.first_start_stdout);
    assert_eq!(second.admin_token, token);
    let reply = Api::new(&second, &token).list_groups("").await;
    assert_eq!(reply.ok()["items"][0]["id"], group.as_str());
    assert_eq!(common::admin_output(&storage, &["list-teams"]).lines().count(), 1);
}

#[tokio::test]
async fn admin_commands_print_ids_and_rows() {
    let temp = tempfile::tempdir().unwrap();
    let dir = &common::Storage::fresh(temp.path());
    let team = common::admin(dir, &["create-team", "--name", "Research"]);
    assert!(team.parse::<i64>().is_ok(), "{team}");
    let teams = common::admin_output(dir, &["list-teams"]);
    assert!(teams.lines().any(|line| line.starts_with(&format!("{team}\tResearch"))), "{teams}");
    let user = common::admin(dir, &["create-user", "--team", &team, "--name", "ada", "--nickname", "Ada L."]);
    let users = common::admin_output(dir, &["list-users", "--team", &team]);
    assert!(users.starts_with(&format!("{user}\t{team}\tada\tAda L.")), "{users}");
    let token = common::admin(dir, &["create-token", "--user", &user, "--permissions", "listVoiceprintGroup"]);
    assert!(token.starts_with("pat_"), "{token}");
    let bad = std::process::Command::new(common::BIN)
        .args(["admin", "create-token", "--user", &user, "--permissions", "listVoiceprintGroups"])
        .args(dir.args())
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown permission"));
    let orphan = std::process::Command::new(common::BIN)
        .args(["admin", "create-user", "--team", "42", "--name", "x"])
        .args(dir.args())
        .output()
        .unwrap();
    assert!(!orphan.status.success());
    assert!(String::from_utf8_lossy(&orphan.stderr).contains("team not found"));
}
