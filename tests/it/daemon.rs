//! `herald run` end to end, as a child process: a tick every 2 seconds, a
//! real SMTP server in the test, the HTTP port on a free port. A due
//! subscriber gets the digest; a GET of the unsubscribe link changes
//! nothing; the RFC 8058 one-click POST unsubscribes; /metrics counts the
//! send; /healthz answers; the feed job fetches a registered feed on its
//! schedule; `POST /api/stories` takes stories with the bearer token;
//! SIGTERM exits 0. Also `send --due` (one tick).

mod helpers;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{Timelike, Utc};
use helpers::TestEnv;
use helpers::smtp::SmtpSink;
use mail_parser::MessageParser;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.1 client: (status, body).
fn request(port: u16, method: &str, path: &str, content_type: Option<&str>, body: &str) -> (u16, String) {
    request_with(port, method, path, content_type, "", body)
}

fn request_with(
    port: u16,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    extra_headers: &str,
    body: &str,
) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        req.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    req.push_str(extra_headers);
    req.push_str("\r\n");
    req.push_str(body);
    stream.write_all(req.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn seed_due(env: &TestEnv) {
    let now = Utc::now();
    let published = (now - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let stories = env.write(
        "stories.jsonl",
        &format!("{{\"title\": \"Council approves night buses\", \"url\": \"https://news.example.com/a\", \"published_at\": \"{published}\", \"votes\": 10}}\n"),
    );
    env.herald(&["stories", "import", stories.to_str().unwrap()])
        .assert()
        .success();
    let hour = now.hour().to_string();
    env.herald(&[
        "subscribers",
        "add",
        "due@example.com",
        "--timezone",
        "UTC",
        "--send-hour",
        &hour,
    ])
    .assert()
    .success();
    // Not due: their hour is 12 hours away.
    let other = ((now.hour() + 12) % 24).to_string();
    env.herald(&[
        "subscribers",
        "add",
        "later@example.com",
        "--timezone",
        "UTC",
        "--send-hour",
        &other,
    ])
    .assert()
    .success();
}

/// Serves one JSON Feed on every connection, from a thread; returns the port.
fn serve_feed() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = r#"{"version": "https://jsonfeed.org/version/1.1", "title": "Wire",
                "items": [{"id": "1", "url": "https://wire.example.com/ferry", "title": "Ferry resumes",
                "date_published": "2026-03-10T06:00:00Z"}]}"#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/feed+json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

fn story_urls(env: &TestEnv) -> Vec<String> {
    let out = env
        .herald(&["stories", "list", "--format", "json"])
        .output()
        .unwrap();
    let v: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    v.iter().map(|s| s["url"].as_str().unwrap().to_owned()).collect()
}

fn status_of(env: &TestEnv, email: &str) -> String {
    let out = env
        .herald(&["subscribers", "show", email, "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["status"].as_str().unwrap().to_owned()
}

#[test]
fn the_daemon_sends_serves_and_stops_cleanly() {
    let env = TestEnv::sqlite();
    seed_due(&env);
    let feed_port = serve_feed();
    env.herald(&["feeds", "add", &format!("http://127.0.0.1:{feed_port}/feed.json")])
        .assert()
        .success();
    let sink = SmtpSink::start();
    let port = free_port();
    let api_token = "daemon-test-token-0123456789";
    let mut child = env
        .herald_std(&["run"])
        .env("HERALD_FEEDS__SCHEDULE", "*/2 * * * * *")
        .env("HERALD_HTTP__API_TOKEN", api_token)
        .env("HERALD_MAIL__TRANSPORT", "smtp")
        .env(
            "HERALD_MAIL__SMTP_URL",
            format!("smtp://127.0.0.1:{}?tls=none", sink.port),
        )
        .env("HERALD_SCHEDULE__TICK", "*/2 * * * * *")
        .env("HERALD_HTTP__LISTEN", format!("127.0.0.1:{port}"))
        .env("HERALD_SITE__PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("HERALD_DELIVERY__LINGER", "0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();

    let got = sink.wait_for(1, Duration::from_secs(30));
    assert_eq!(got[0].rcpt_to, ["due@example.com"]);
    // Another tick or two: still one message (the ledger remembers).
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        sink.messages().len(),
        1,
        "the not-yet-due subscriber got nothing, the due one got one"
    );

    let parsed = MessageParser::default().parse(&got[0].data).unwrap();
    let header = parsed
        .header_raw("List-Unsubscribe")
        .unwrap()
        .replace(['\r', '\n'], "");
    let link = header
        .split(['<', '>'])
        .find(|p| p.starts_with("http://"))
        .unwrap()
        .to_owned();
    let path = link
        .trim_start_matches(&format!("http://127.0.0.1:{port}"))
        .to_owned();

    let (status, body) = request(port, "GET", &path, None, "");
    assert_eq!(status, 200);
    assert!(body.contains("Unsubscribe due@example.com"), "{body}");
    assert_eq!(
        status_of(&env, "due@example.com"),
        "active",
        "a GET never changes anything"
    );

    let (status, body) = request(
        port,
        "POST",
        &path,
        Some("application/x-www-form-urlencoded"),
        "List-Unsubscribe=One-Click",
    );
    assert_eq!(status, 200, "one-click answers 200, never a redirect");
    assert!(body.contains("You are unsubscribed"));
    assert_eq!(status_of(&env, "due@example.com"), "unsubscribed");

    let (status, body) = request(port, "GET", "/metrics", None, "");
    assert_eq!(status, 200);
    assert!(body.contains("herald_digests_sent_total 1"), "{body}");
    assert!(body.contains("herald_smtp_send_seconds_bucket"), "{body}");
    assert!(body.contains("herald_last_tick_timestamp_seconds"), "{body}");
    assert!(body.contains("herald_queue_depth 0"), "{body}");
    let (status, _) = request(port, "GET", "/healthz", None, "");
    assert_eq!(status, 200);

    // The feed job has run on its schedule.
    let start = Instant::now();
    while !story_urls(&env).contains(&"https://wire.example.com/ferry".to_owned()) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the feed was never fetched"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Stories pushed by the site.
    let story = r#"[{"title": "Tram line opens", "url": "https://news.example.com/tram", "published_at": "2026-03-10T07:00:00Z", "votes": 3}]"#;
    let auth = format!("Authorization: Bearer {api_token}\r\n");
    let (status, body) = request_with(
        port,
        "POST",
        "/api/stories",
        Some("application/json"),
        &auth,
        story,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"imported\":1"), "{body}");
    let (status, _) = request(port, "POST", "/api/stories", Some("application/json"), story);
    assert_eq!(status, 401);
    assert!(story_urls(&env).contains(&"https://news.example.com/tram".to_owned()));

    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "herald run did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
}

#[test]
fn send_due_does_one_tick() {
    let env = TestEnv::sqlite();
    seed_due(&env);
    let sink = SmtpSink::start();
    let run = || {
        env.herald(&["send", "--due"])
            .env("HERALD_MAIL__TRANSPORT", "smtp")
            .env(
                "HERALD_MAIL__SMTP_URL",
                format!("smtp://127.0.0.1:{}?tls=none", sink.port),
            )
            .env("HERALD_DELIVERY__LINGER", "0")
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("sent 1, skipped 0"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("sent 0"),
        "overlapping or repeated runs are safe"
    );
    assert_eq!(sink.messages().len(), 1);
}
