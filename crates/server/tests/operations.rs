//! Operating the server: health, readiness, metrics, logs, overload and rate limiting.

mod common;

use common::{audio_form, clip, testdata, Api, TestServer};


#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn health_readiness_and_metrics() {
    let server = TestServer::start(&[]);
    let http = reqwest::Client::new();
    for (path, body) in [("/healthz", "ok\n"), ("/readyz", "ready\n")] {
        let response = http.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.text().await.unwrap(), body);
    }
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("metrics").await;
    api.enroll(&group, "awb", clip("flite-awb", 1)).await;
    api.identify(&group, clip("flite-awb", 2), None).await;
    api.identify(&group, clip("flite-awb", 3), None).await;
    api.get("/nowhere").await.err(4200, 404);

    let text = http.get(server.url("/metrics")).send().await.unwrap().text().await.unwrap();
    let value = |series: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(series))
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(value(r#"voxprint_http_requests_total{code="200",method="POST",route="/v1/audio/voiceprint_groups"}"#), 1.0);
    assert_eq!(
        value(r#"voxprint_http_requests_total{code="200",method="POST",route="/v1/audio/voiceprint_groups/{group_id}/speaker_identify"}"#),
        2.0
    );
    assert_eq!(value(r#"voxprint_http_requests_total{code="404",method="GET",route="unmatched"}"#), 1.0);
    assert!(text.contains("voxprint_http_request_duration_seconds_bucket"));
    assert_eq!(value("voxprint_enrollments_total"), 1.0);
    assert_eq!(value("voxprint_identifications_total"), 2.0);
    assert_eq!(value("voxprint_embedding_seconds_count"), 3.0);
    assert!(value("voxprint_audio_seconds_total") > 5.0, "three clips of 2-5 s");
    assert_eq!(value("voxprint_embedding_cache_misses_total"), 1.0);
    assert_eq!(value("voxprint_embedding_cache_hits_total"), 1.0);
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn json_logs_carry_the_logid_of_each_request() {
    let (server, log) = TestServer::start_logging(&["--log-format", "json"]);
    let api = Api::new(&server, &server.admin_token);
    let reply = api.list_groups("").await;
    let logid = reply.logid_header.clone().unwrap();
    let mut found = None;
    for _ in 0..50 {
        let text = std::fs::read_to_string(&log).unwrap();
        found = text.lines().find(|line| line.contains(&logid)).map(str::to_owned);
        if found.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let line: serde_json::Value = serde_json::from_str(&found.expect("a log line with the logid")).unwrap();
    assert_eq!(line["span"]["logid"], logid.as_str());
    assert_eq!(line["span"]["path"], "/v1/audio/voiceprint_groups");
    assert_eq!(line["fields"]["status"], 200);
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn a_token_over_its_rate_gets_4008_with_retry_after() {
    let (server, clock) = TestServer::start_with_clock(&["--rate-limit", "1", "--rate-limit-burst", "3"]);
    let api = Api::new(&server, &server.admin_token);
    for _ in 0..3 {
        api.list_groups("").await.ok();
    }
    let limited = api.list_groups("").await;
    assert!(limited.err(4008, 429).contains("too many requests"));
    let response = api.request(reqwest::Method::GET, "/v1/audio/voiceprint_groups").send().await.unwrap();
    assert_eq!(response.headers()["retry-after"], "1");
    let (_, other_token) = server.new_user(&server.default_team(), "other", "all");
    Api::new(&server, &other_token).list_groups("").await.ok();
    clock.advance(2);
    api.list_groups("").await.ok();
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn a_full_embedding_queue_answers_4009_instead_of_queueing_without_limit() {
    let server = TestServer::start(&["--embed-workers", "1", "--embed-queue", "1"]);
    let api = std::sync::Arc::new(Api::new(&server, &server.admin_token));
    let group = api.create_group("busy").await;
    api.enroll(&group, "awb", clip("flite-awb", 1)).await;
    let path = format!("/v1/audio/voiceprint_groups/{group}/speaker_identify");
    let attempts: Vec<_> = (0..12)
        .map(|_| {
            let (api, path) = (api.clone(), path.clone());
            tokio::spawn(async move {
                let response = api.request(reqwest::Method::POST, &path).multipart(audio_form(clip("flite-awb", 2), &[])).send().await.unwrap();
                let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
                let body: serde_json::Value = response.json().await.unwrap();
                (body["code"].as_i64().unwrap(), retry_after)
            })
        })
        .collect();
    let mut codes = Vec::new();
    for attempt in attempts {
        let (code, retry_after) = attempt.await.unwrap();
        if code == 4009 {
            assert_eq!(retry_after.as_deref(), Some("1"));
        }
        codes.push(code);
    }
    assert!(codes.iter().all(|code| *code == 0 || *code == 4009), "{codes:?}");
    assert!(codes.contains(&4009), "some requests are turned away: {codes:?}");
    assert!(codes.contains(&0), "the others are served: {codes:?}");
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn a_request_over_the_time_limit_gets_4009() {
    // One worker, a 1 s limit, and 40 identifications of an 11.6 s clip at once: at the
    // engine's ~100× realtime the last ones wait several seconds.
    let server = TestServer::start(&["--embed-workers", "1", "--embed-queue", "100", "--request-timeout", "1"]);
    let api = std::sync::Arc::new(Api::new(&server, &server.admin_token));
    let group = api.create_group("slow").await;
    let long_clip = testdata("parity/18-flite-awb-16k-mono-long.wav");
    let path = format!("/v1/audio/voiceprint_groups/{group}/speaker_identify");
    let attempts: Vec<_> = (0..40)
        .map(|_| {
            let (api, path, long_clip) = (api.clone(), path.clone(), long_clip.clone());
            tokio::spawn(async move { api.post_form(&path, audio_form(long_clip, &[])).await })
        })
        .collect();
    let mut timed_out = 0;
    for attempt in attempts {
        let reply = attempt.await.unwrap();
        if reply.code() == 4009 {
            timed_out += 1;
        } else {
            reply.ok();
        }
    }
    assert!(timed_out > 0, "with 40 long clips queued on one worker some exceed 1 s");
}
