//! Endpoints 1–4 through HTTP against the real binary.

mod common;

use std::collections::HashSet;

use common::{Api, TestServer};
use reqwest::Method;
use serde_json::json;

const GROUPS: &str = "/v1/audio/voiceprint_groups";

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn create_list_update_delete_round_trip() {
    let (server, clock) = TestServer::start_with_clock(&[]);
    let api = Api::new(&server, &server.admin_token);

    let created = api.post_json(GROUPS, json!({ "name": "Front door", "desc": "device 7" })).await;
    let id = created.ok()["id"].as_str().unwrap().to_owned();
    assert!(id.bytes().all(|b| b.is_ascii_digit()), "id {id}");
    assert_eq!(created.logid_header.as_deref(), created.body["detail"]["logid"].as_str());

    let listed = api.list_groups("").await;
    let data = listed.ok();
    assert_eq!(data["total"], 1);
    let item = &data["items"][0];
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["name"], "Front door");
    assert_eq!(item["desc"], "device 7");
    assert_eq!(item["feature_count"], 0);
    assert_eq!(item["created_at"], item["updated_at"]);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((item["created_at"].as_i64().unwrap() - now).abs() < 60, "created_at is Unix seconds: {item}");
    let icon_url = item["icon_url"].as_str().unwrap();
    assert!(icon_url.starts_with(&server.base_url), "absolute icon URL: {icon_url}");
    let icon = reqwest::get(icon_url).await.unwrap();
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    let user = &item["user_info"];
    assert_eq!(user["name"], "admin");
    assert!(user["id"].is_string() && user["nickname"].is_string());
    assert!(user["avatar_url"].as_str().unwrap().starts_with("http"));

    clock.advance(1);
    api.put_json(&format!("{GROUPS}/{id}"), json!({ "name": "Back door" })).await.ok();
    let after = api.list_groups(&format!("group_id={id}")).await;
    let item = &after.ok()["items"][0];
    assert_eq!(item["name"], "Back door");
    assert_eq!(item["desc"], "device 7", "desc untouched when absent");
    assert!(item["updated_at"].as_i64() > item["created_at"].as_i64(), "update moves updated_at: {item}");

    api.put_json(&format!("{GROUPS}/{id}"), json!({ "desc": "" })).await.ok();
    assert_eq!(api.list_groups("").await.ok()["items"][0]["desc"], "");

    let deleted = api.delete(&format!("{GROUPS}/{id}")).await;
    deleted.ok();
    assert!(deleted.body.get("data").is_none(), "delete has no data: {:?}", deleted.body);
    assert_eq!(api.list_groups("").await.ok()["total"], 0);
    api.delete(&format!("{GROUPS}/{id}")).await.err(4200, 404);
    api.put_json(&format!("{GROUPS}/{id}"), json!({ "name": "x" })).await.err(4200, 404);
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn pages_are_newest_first_stable_and_complete() {
    let server = TestServer::start(&[]);
    let api = Api::new(&server, &server.admin_token);
    let mut created = Vec::new();
    for i in 0..25 {
        created.push(api.create_group(&format!("group {i:02}")).await);
    }
    let mut seen = Vec::new();
    for page in 1..=3 {
        let reply = api.list_groups(&format!("page_num={page}&page_size=10")).await;
        let data = reply.ok();
        assert_eq!(data["total"], 25);
        let items = data["items"].as_array().unwrap();
        assert_eq!(items.len(), if page < 3 { 10 } else { 5 });
        seen.extend(items.iter().map(|item| item["id"].as_str().unwrap().to_owned()));
    }
    created.reverse();
    assert_eq!(seen, created, "newest first, each group exactly once");
    let beyond = api.list_groups("page_num=4&page_size=10").await;
    assert_eq!(beyond.ok()["items"].as_array().unwrap().len(), 0);
    assert_eq!(beyond.ok()["total"], 25);
    let default_page = api.list_groups("").await;
    assert_eq!(default_page.ok()["items"].as_array().unwrap().len(), 10, "page_size defaults to 10");
    let all = api.list_groups("page_size=200").await;
    assert_eq!(all.ok()["items"].as_array().unwrap().len(), 25);
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn page_parameters_are_validated() {
    let server = TestServer::start(&[]);
    let api = Api::new(&server, &server.admin_token);
    for (query, parameter) in [
        ("page_num=0", "page_num"),
        ("page_num=-2", "page_num"),
        ("page_num=abc", "page_num"),
        ("page_size=0", "page_size"),
        ("page_size=201", "page_size"),
        ("page_size=1.5", "page_size"),
        ("group_id=abc", "group_id"),
    ] {
        let msg = api.list_groups(query).await.err(4000, 400).to_owned();
        assert!(msg.contains(parameter), "{query}: {msg}");
    }
    api.list_groups("coze_account_id=123&page_size=200").await.ok();
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn name_filter_is_a_literal_prefix() {
    let server = TestServer::start(&[]);
    let api = Api::new(&server, &server.admin_token);
    let created = ["声纹组一", "声纹组二", "声音", "100% sure", "100 percent", "a_b", "axb", "back\\slash", "Alpha", "alpha"];
    for name in created.into_iter().chain(["say \"hi\" 🎙"]) {
        api.create_group(name).await;
    }
    let names = |reply: common::Reply| -> HashSet<String> {
        reply.ok()["items"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap().to_owned()).collect()
    };
    let set = |names: &[&str]| -> HashSet<String> { names.iter().map(|n| n.to_string()).collect() };
    assert_eq!(names(api.list_groups("name=%E5%A3%B0%E7%BA%B9").await), set(&["声纹组一", "声纹组二"]));
    assert_eq!(names(api.list_groups("name=%E5%A3%B0").await), set(&["声纹组一", "声纹组二", "声音"]));
    assert_eq!(names(api.list_groups("name=100%25").await), set(&["100% sure"]));
    assert_eq!(names(api.list_groups("name=%25").await), set(&[]));
    assert_eq!(names(api.list_groups("name=a_").await), set(&["a_b"]));
    assert_eq!(names(api.list_groups("name=_").await), set(&[]));
    assert_eq!(names(api.list_groups("name=back%5C").await), set(&["back\\slash"]));
    assert_eq!(names(api.list_groups("name=Al").await), set(&["Alpha"]));
    // Pages travel from the database as JSON: quotes and characters outside the BMP survive.
    assert_eq!(names(api.list_groups("name=say").await), set(&["say \"hi\" 🎙"]));
    let reply = api.list_groups("name=%E5%A3%B0%E7%BA%B9&page_size=1").await;
    assert_eq!(reply.ok()["total"], 2, "total counts all matches, not the page");
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn user_and_group_filters_respect_the_team() {
    let server = TestServer::start(&[]);
    let common::Cast { admin, mate, mate_id, outsider } = server.cast();

    let admin_group = admin.create_group("admin's").await;
    let mate_group = mate.create_group("mate's").await;
    let outsider_group = outsider.create_group("outsider's").await;

    assert_eq!(admin.list_groups("").await.ok()["total"], 2, "the whole team, not the other team");
    let mine = mate.list_groups(&format!("user_id={mate_id}")).await;
    assert_eq!(mine.ok()["total"], 1);
    assert_eq!(mine.ok()["items"][0]["id"], mate_group.as_str());
    assert_eq!(mine.ok()["items"][0]["user_info"]["id"], mate_id.as_str());
    let msg = mate.list_groups("user_id=12345").await.err(4101, 403).to_owned();
    assert!(msg.contains("user_id"), "{msg}");

    let one = admin.list_groups(&format!("group_id={admin_group}")).await;
    assert_eq!(one.ok()["total"], 1);
    assert_eq!(one.ok()["items"][0]["id"], admin_group.as_str());
    let hidden = admin.list_groups(&format!("group_id={outsider_group}")).await;
    assert_eq!(hidden.ok()["total"], 0, "another team's group is invisible");
    assert_eq!(outsider.list_groups("").await.ok()["total"], 1);
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn only_the_creator_may_change_a_group_and_other_teams_see_nothing() {
    let server = TestServer::start(&[]);
    let common::Cast { admin, mate, outsider, .. } = server.cast();

    let group = admin.create_group("mine").await;
    let path = format!("{GROUPS}/{group}");
    assert!(mate.put_json(&path, json!({ "name": "stolen" })).await.err(4101, 403).contains("creator"));
    assert!(mate.delete(&path).await.err(4101, 403).contains("creator"));
    let outsider_msg = outsider.put_json(&path, json!({ "name": "stolen" })).await.err(4200, 404).to_owned();
    outsider.delete(&path).await.err(4200, 404);
    let missing_msg = outsider.delete(&format!("{GROUPS}/1234")).await.err(4200, 404).to_owned();
    assert_eq!(
        outsider_msg.replace(&group, "ID"),
        missing_msg.replace("1234", "ID"),
        "another team's group looks exactly like a missing one"
    );
    assert_eq!(admin.list_groups("").await.ok()["items"][0]["name"], "mine");
    admin.put_json(&path, json!({ "name": "still mine" })).await.ok();
    admin.delete(&path).await.ok();
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn names_and_descriptions_are_validated() {
    let server = TestServer::start(&[]);
    let api = Api::new(&server, &server.admin_token);
    let twenty_chinese = "声纹".repeat(10);
    api.create_group(&twenty_chinese).await;
    api.create_group(&"n".repeat(20)).await;
    for (body, needle) in [
        (json!({}), "name is required"),
        (json!({ "name": "" }), "name"),
        (json!({ "name": "   " }), "whitespace"),
        (json!({ "name": "n".repeat(21) }), "at most 20"),
        (json!({ "name": format!("{twenty_chinese}组") }), "at most 20"),
        (json!({ "name": 42 }), "name"),
        (json!({ "name": null }), "name is required"),
        (json!({ "name": "ok", "desc": "d".repeat(501) }), "at most 500"),
        (json!({ "name": "ok", "desc": ["x"] }), "desc"),
        (json!({ "name": "line\nbreak" }), "control"),
    ] {
        let reply = api.post_json(GROUPS, body.clone()).await;
        let msg = reply.err(4000, 400);
        assert!(msg.contains(needle), "{body}: {msg}");
    }
    let id = api.create_group("valid").await;
    let path = format!("{GROUPS}/{id}");
    api.put_json(&path, json!({})).await.err(4000, 400);
    api.put_json(&path, json!({ "name": " " })).await.err(4000, 400);
    api.put_json(&path, json!({ "desc": "描".repeat(501) })).await.err(4000, 400);
    api.put_json(&path, json!({ "desc": "描".repeat(500) })).await.ok();
    api.put_json(&format!("{GROUPS}/not-a-number"), json!({ "name": "x" })).await.err(4000, 400);
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn malformed_requests_get_4000_and_unknown_routes_404() {
    let server = TestServer::start(&[]);
    let api = Api::new(&server, &server.admin_token);
    let post = || api.request(Method::POST, GROUPS);
    let wrong_type = api.send(post().header("content-type", "text/plain").body(r#"{"name":"x"}"#)).await;
    assert!(wrong_type.err(4000, 400).contains("Content-Type"));
    let no_type = api.send(post().body(r#"{"name":"x"}"#)).await;
    no_type.err(4000, 400);
    let bad_json = api.send(post().header("content-type", "application/json").body("{\"name\": ")).await;
    assert!(bad_json.err(4000, 400).contains("JSON"));
    let not_object = api.send(post().header("content-type", "application/json").body("[1,2]")).await;
    not_object.err(4000, 400);
    let huge = format!(r#"{{"name":"x","desc":"{}"}}"#, "a".repeat(200_000));
    let oversized = api.send(post().header("content-type", "application/json").body(huge)).await;
    assert!(oversized.err(4000, 400).contains("larger"));
    let invalid_utf8 = api.send(post().header("content-type", "application/json").body(vec![b'{', 0xff, b'}'])).await;
    invalid_utf8.err(4000, 400);

    let unknown = api.get("/v1/nothing/here").await;
    assert!(unknown.err(4200, 404).contains("/v1/nothing/here"));
    assert_eq!(unknown.logid_header.as_deref(), unknown.body["detail"]["logid"].as_str());
    let wrong_method = api.send(api.request(Method::PATCH, GROUPS)).await;
    wrong_method.err(4000, 405);
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn group_quota_holds_under_concurrency() {
    let server = TestServer::start(&["--max-groups-per-user", "5"]);
    let api = std::sync::Arc::new(Api::new(&server, &server.admin_token));
    let attempts: Vec<_> = (0..20)
        .map(|i| {
            let api = api.clone();
            tokio::spawn(async move { api.post_json(GROUPS, json!({ "name": format!("g{i}") })).await })
        })
        .collect();
    assert_eq!(common::count_quota_race(attempts).await, 5);
    assert_eq!(api.list_groups("").await.ok()["total"], 5);
    let team = server.default_team();
    let (_, other_token) = server.new_user(&team, "other", "all");
    Api::new(&server, &other_token).create_group("quota is per user").await;
}
