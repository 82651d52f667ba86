//! Connection handling: idle and slow clients cannot hold the server, shutdown has a deadline,
//! and what the HTTP layer refuses by itself is still a Coze envelope.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{audio_form, clip, Api, TestServer};
use serde_json::Value;

fn address(server: &TestServer) -> String {
    server.base_url.trim_start_matches("http://").to_owned()
}

/// Lets this test process hold more sockets than the usual soft limit of 1024.
fn raise_own_open_files_limit(wanted: u64) {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain calls on a struct we own.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = wanted.max(limit.rlim_cur);
        limit.rlim_max = limit.rlim_max.max(limit.rlim_cur);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0, "raise the test's open-files limit to {wanted}");
    }
}

/// Reads until the server closes the connection (or `limit` passes); returns what came and
/// whether it closed.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + limit;
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        stream.set_read_timeout(Some(left.max(Duration::from_millis(1)))).unwrap();
        match stream.read(&mut buffer) {
            Ok(0) => return (received, true),
            Ok(n) => received.extend_from_slice(&buffer[..n]),
            Err(err) if err.kind() == ErrorKind::ConnectionReset => return (received, true),
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(err) => panic!("read: {err}"),
        }
    }
    (received, false)
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn a_flood_of_idle_connections_does_not_lock_out_clients() {
    // Under the usual service limit of 1024 open files, more idle connections than that.
    let server = TestServer::start_with_open_files_limit(1024, &[]);
    raise_own_open_files_limit(4096);
    let address = address(&server);
    let mut idle = Vec::new();
    for _ in 0..1100 {
        idle.push(TcpStream::connect(&address).expect("connect"));
    }
    // Give the server time to accept them all (and run out of room).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let api = Api::new(&server, &server.admin_token);
    let started = Instant::now();
    let reply = tokio::time::timeout(Duration::from_secs(5), api.get("/v1/users/me")).await.expect("an answer");
    reply.ok();
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(1), "a normal request was answered after {waited:?}");
    let metrics = reqwest::get(server.url("/metrics")).await.unwrap().text().await.unwrap();
    let evicted = metrics
        .lines()
        .find(|line| line.starts_with("voxprint_http_connections_closed_total{reason=\"evicted\"}"))
        .and_then(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .expect("evictions are counted");
    assert!(evicted > 0, "idle connections made room: {metrics}");
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn slow_and_idle_connections_are_closed_after_their_timeouts() {
    let server = TestServer::start(&["--header-read-timeout", "1", "--idle-timeout", "3"]);
    let address = address(&server);
    let started = Instant::now();
    // Slow headers: one byte every 200 ms, as a slowloris client sends them.
    let slow: Vec<_> = (0..20)
        .map(|_| {
            let address = address.clone();
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(address).unwrap();
                let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
                for byte in request {
                    if stream.write_all(&[*byte]).is_err() {
                        return started.elapsed();
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                panic!("a request trickled over {:?} was read to its end", started.elapsed());
            })
        })
        .collect();
    let mut idle = TcpStream::connect(&address).unwrap();
    for thread in slow {
        let cut_after = thread.join().unwrap();
        // Cut at the 1 s header timeout (the write that notices comes one byte later).
        assert!(cut_after >= Duration::from_millis(900), "cut too early: {cut_after:?}");
        assert!(cut_after < Duration::from_millis(2500), "cut after {cut_after:?}");
    }
    let (received, closed) = read_until_closed(&mut idle, Duration::from_secs(6));
    assert!(closed && received.is_empty(), "an idle connection is closed without an answer");
    let idle_for = started.elapsed();
    assert!(idle_for >= Duration::from_millis(2900) && idle_for < Duration::from_secs(5), "idle for {idle_for:?}");
    // A keep-alive connection between requests obeys the idle timeout too, not the header one.
    let mut keep_alive = TcpStream::connect(&address).unwrap();
    keep_alive.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let answered = Instant::now();
    let (received, closed) = read_until_closed(&mut keep_alive, Duration::from_secs(6));
    assert!(String::from_utf8_lossy(&received).starts_with("HTTP/1.1 200"), "answered first");
    assert!(closed && answered.elapsed() >= Duration::from_millis(2900), "kept alive for the idle timeout");
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn sigterm_finishes_requests_in_flight_and_exits_within_the_deadline() {
    let mut server = TestServer::start(&["--shutdown-timeout", "3"]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("shutdown").await;
    let address = address(&server);
    // A client that never finishes its request headers…
    let mut half_sent = TcpStream::connect(&address).unwrap();
    half_sent.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Never-Ends: ").unwrap();
    // …one whose upload never finishes (a request in flight that cannot complete)…
    let mut stalled = TcpStream::connect(&address).unwrap();
    let path = format!("/v1/audio/voiceprint_groups/{group}/speaker_identify");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n",
        server.admin_token
    );
    stalled.write_all(head.as_bytes()).unwrap();
    // …and an enrollment, which takes a while but finishes.
    let enrollment = {
        let api = Api::new(&server, &server.admin_token);
        let path = format!("/v1/audio/voiceprint_groups/{group}/features");
        tokio::spawn(async move { api.post_form(&path, audio_form(clip("flite-awb", 1), &[("name", "awb")])).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let stopping = Instant::now();
    server.terminate();
    let (received, closed) = read_until_closed(&mut half_sent, Duration::from_secs(2));
    assert!(closed && received.is_empty(), "a half-sent request is closed at once");
    enrollment.await.unwrap().ok();
    let status = tokio::task::spawn_blocking(move || server.wait_for_exit(Duration::from_secs(8))).await.unwrap();
    let took = stopping.elapsed();
    assert!(status.success(), "exits cleanly: {status:?}");
    assert!(took < Duration::from_millis(4500), "stopped within the 3 s deadline: {took:?}");
    assert!(took >= Duration::from_millis(2500), "the stalled upload had its 3 s: {took:?}");
    drop(stalled);
}

/// Sends raw bytes and returns the parsed answer: status, logid header and JSON body.
fn raw_exchange(address: &str, request: &[u8]) -> (u16, String, Value) {
    let mut stream = TcpStream::connect(address).unwrap();
    let _ = stream.write_all(request);
    let (received, _) = read_until_closed(&mut stream, Duration::from_secs(5));
    let text = String::from_utf8(received).expect("a text answer");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("an HTTP answer: {text:?}"));
    let status = head[9..12].parse().unwrap();
    let logid = head
        .lines()
        .find_map(|line| line.strip_prefix("x-tt-logid: "))
        .unwrap_or_else(|| panic!("a logid header: {head}"))
        .to_owned();
    let body = serde_json::from_str(body).unwrap_or_else(|_| panic!("a JSON body: {text:?}"));
    (status, logid, body)
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn requests_the_http_layer_refuses_get_a_coze_envelope() {
    let server = TestServer::start(&[]);
    let address = address(&server);
    let many_headers: String = (0..150).map(|i| format!("X-H{i}: v\r\n")).collect();
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"NOT HTTP AT ALL\r\n\r\n".to_vec(), 400),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Name: y\r\n\r\n".to_vec(), 400),
        (format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000)).into_bytes(), 414),
        (format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many_headers}\r\n").into_bytes(), 431),
        (format!("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "a".repeat(100_000)).into_bytes(), 431),
    ];
    for (request, expected) in cases {
        let (status, logid, body) = raw_exchange(&address, &request);
        let shown = String::from_utf8_lossy(&request[..request.len().min(40)]).into_owned();
        // A URL past 64 KiB may also be refused as too large a head: either is a clear answer.
        assert!(status == expected || (expected == 414 && status == 431), "{shown}: {status}");
        assert_eq!(body["code"], 4000, "{shown}: {body}");
        assert!(!body["msg"].as_str().unwrap().is_empty());
        assert_eq!(body["detail"]["logid"], logid.as_str());
    }
    // The server is unharmed.
    Api::new(&server, &server.admin_token).get("/v1/users/me").await.ok();
}

#[tokio::test]
#[ignore = "needs the speaker model (`voxprint model fetch`); scripts/test.sh runs it"]
async fn a_slow_upload_is_reported_as_a_timeout_not_as_overload() {
    let server = TestServer::start(&["--request-timeout", "1"]);
    let api = Api::new(&server, &server.admin_token);
    let group = api.create_group("slow upload").await;
    let mut stream = TcpStream::connect(address(&server)).unwrap();
    let head = format!(
        "POST /v1/audio/voiceprint_groups/{group}/speaker_identify HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n\
         --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n\r\nRIFF",
        server.admin_token
    );
    stream.write_all(head.as_bytes()).unwrap();
    let (received, _) = read_until_closed(&mut stream, Duration::from_secs(5));
    let text = String::from_utf8(received).unwrap();
    assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
    let body: Value = serde_json::from_str(text.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert_eq!(body["code"], 4000, "{body}");
    assert!(body["msg"].as_str().unwrap().contains("upload did not arrive"), "{body}");
}
