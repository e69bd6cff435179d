//! `herald run` end to end, as a child process: a tick every 2 seconds, a
//! real SMTP server in the test, the HTTP port on a free port. A due
//! subscriber gets the digest; a GET of the unsubscribe link changes
//! nothing; the RFC 8058 one-click POST unsubscribes; /metrics counts the
//! send; /healthz answers; the feed job fetches a registered feed on its
//! schedule; `POST /api/stories` takes stories with the bearer token;
//! SIGTERM exits 0. Also `send --due` (one tick).

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{Timelike, Utc};
use mail_parser::MessageParser;

use crate::support::http::Http;
use crate::support::smtp::SmtpSink;
use crate::support::{Settings, TestEnv, block_on, wait_until};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
    let stories: Vec<serde_json::Value> = env.json(&["stories", "list", "--format", "json"]);
    stories
        .iter()
        .map(|s| s["url"].as_str().unwrap().to_owned())
        .collect()
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
    let metrics_port = free_port();
    let api_token = "daemon-test-token-0123456789";
    let settings = Settings::smtp(&sink)
        .set("HERALD_FEEDS__SCHEDULE", "*/2 * * * * *")
        .set("HERALD_HTTP__API_TOKEN", api_token)
        .set("HERALD_SCHEDULE__TICK", "*/2 * * * * *")
        .set("HERALD_HTTP__LISTEN", format!("127.0.0.1:{port}"))
        .set("HERALD_METRICS__LISTEN", format!("127.0.0.1:{metrics_port}"))
        .set("HERALD_SITE__PUBLIC_URL", format!("http://127.0.0.1:{port}"));
    let mut child = env
        .herald_std(&["run"])
        .envs(settings.vars())
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

    let http = Http::new(port);
    let page = http.get(&path);
    assert_eq!(page.status, 200);
    // As a reader reads it: without the isolates around the address.
    let text = page.body.replace(['\u{2068}', '\u{2069}'], "");
    assert!(text.contains("Unsubscribe due@example.com"), "{}", page.body);
    assert_eq!(
        env.show("due@example.com")["status"],
        "active",
        "a GET never changes anything"
    );

    let done = http.post_form(&path, "List-Unsubscribe=One-Click");
    assert_eq!(done.status, 200, "one-click answers 200, never a redirect");
    assert!(done.body.contains("You are unsubscribed"));
    assert_eq!(env.show("due@example.com")["status"], "unsubscribed");

    // Metrics on their own listener only.
    assert_eq!(
        http.get("/metrics").status,
        404,
        "the public listener shows no metrics"
    );
    let metrics = Http::new(metrics_port).get("/metrics");
    assert_eq!(metrics.status, 200);
    let body = metrics.body;
    assert!(
        body.contains("herald_deliveries_total{outcome=\"sent\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("herald_smtp_send_duration_seconds_bucket"),
        "{body}"
    );
    assert!(body.contains("herald_last_tick_timestamp_seconds"), "{body}");
    assert!(body.contains("herald_last_tick_duration_seconds"), "{body}");
    assert!(body.contains("herald_queue_depth 0"), "{body}");
    assert!(
        body.contains("herald_unsubscribes_total{via=\"one_click\"} 1"),
        "{body}"
    );
    assert!(body.contains("herald_build_info{"), "{body}");
    let health = http.get("/healthz");
    assert_eq!(health.status, 200);
    assert!(health.body.starts_with("ok: last tick "), "{}", health.body);
    assert_eq!(http.get("/readyz").status, 200);

    // The feed job has run on its schedule.
    wait_until("the feed job", Duration::from_secs(20), || {
        story_urls(&env).contains(&"https://wire.example.com/ferry".to_owned())
    });
    // Stories pushed by the site.
    let story = r#"[{"title": "Tram line opens", "url": "https://news.example.com/tram", "published_at": "2026-03-10T07:00:00Z", "votes": 3}]"#;
    let imported = http.post_json("/api/stories", Some(api_token), story);
    assert_eq!(imported.status, 200, "{}", imported.body);
    let summary: serde_json::Value = serde_json::from_str(&imported.body).unwrap();
    assert_eq!(summary["imported"], 1, "{summary}");
    assert_eq!(http.post_json("/api/stories", None, story).status, 401);
    assert!(story_urls(&env).contains(&"https://news.example.com/tram".to_owned()));

    assert!(
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let mut status = None;
    wait_until("herald run to stop on SIGTERM", Duration::from_secs(20), || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    assert_eq!(status.unwrap().code(), Some(0));
}

#[test]
fn send_due_does_one_tick() {
    let env = TestEnv::sqlite();
    seed_due(&env);
    let sink = SmtpSink::start();
    let settings = Settings::smtp(&sink);
    let edition = format!("daily-{}", Utc::now().date_naive());
    // The later subscriber's hour may have passed today more than
    // schedule.grace ago (then the tick records their digest as skipped,
    // which is right): what matters is that only the due one is sent.
    let sent = || -> Vec<String> {
        let rows = block_on(env.ledger(&edition));
        rows.into_iter()
            .filter(|r| r.status != "skipped" || r.email != "later@example.com")
            .map(|r| format!("{} {}", r.email, r.status))
            .collect()
    };
    env.herald(&["send", "--due"])
        .envs(settings.vars())
        .assert()
        .success();
    assert_eq!(
        sent(),
        ["due@example.com sent"],
        "only the due subscriber is queued"
    );
    assert_eq!(sink.messages().len(), 1);
    env.herald(&["send", "--due"])
        .envs(settings.vars())
        .assert()
        .success();
    assert_eq!(sent(), ["due@example.com sent"]);
    assert_eq!(sink.messages().len(), 1, "overlapping or repeated runs are safe");
}

/// An outage past `schedule.grace`, through `send --due` (one tick each):
/// the subscriber whose digest is exactly `grace` late still gets it; the
/// one whose digest is later is recorded as skipped, and their next digest
/// reaches back over the skipped day and holds its best story next to
/// today's.
#[test]
fn after_an_outage_the_next_digest_holds_the_skipped_days_best() {
    let env = TestEnv::sqlite();
    let mut lines = String::new();
    let mut add = |slug: &str, title: &str, at: &str, votes: i64| {
        lines.push_str(&format!(
            "{{\"title\": \"{title}\", \"url\": \"https://news.example.com/{slug}\", \"published_at\": \"{at}\", \"votes\": {votes}}}\n"
        ));
    };
    add("before", "Ferry timetable changes", "2026-03-08T05:00:00Z", 30);
    // The day the outage skips (after the 8 March digests), and the next,
    // whose ordinary stories come out in the evening and overnight: young
    // at the next digest, as the old age-decay formula liked them.
    let days = [
        (
            "2026-03-08",
            "2026-03-08T09:30:00Z",
            60,
            12,
            "Otters return to the river",
            "2026-03-08T15:00:00Z",
        ),
        (
            "2026-03-09",
            "2026-03-09T20:00:00Z",
            30,
            20,
            "Council approves night buses",
            "2026-03-09T18:00:00Z",
        ),
    ];
    for (day, first, every, n, best, best_at) in days {
        let first = chrono::DateTime::parse_from_rfc3339(first).unwrap();
        for k in 0..n {
            let at = (first + chrono::Duration::minutes(every * k))
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            add(
                &format!("{day}-{k}"),
                &format!("Ordinary story {k} of {day}"),
                &at,
                30 + 3 * k,
            );
        }
        add(&format!("{day}-best"), best, best_at, 600);
    }
    let stories = env.write("stories.jsonl", &lines);
    env.herald(&["stories", "import", stories.to_str().unwrap()])
        .assert()
        .success();
    for (email, hour) in [("seven@example.com", "7"), ("eight@example.com", "8")] {
        env.herald(&[
            "subscribers",
            "add",
            email,
            "--timezone",
            "UTC",
            "--send-hour",
            hour,
        ])
        .assert()
        .success();
    }
    let sink = SmtpSink::start();
    let settings = Settings::smtp(&sink);
    let tick = |now: &str| {
        env.herald(&["send", "--due", "--now", now])
            .envs(settings.vars())
            .assert()
            .success();
    };
    let statuses = |edition: &str| -> Vec<String> {
        let mut rows: Vec<String> = block_on(env.ledger(edition))
            .into_iter()
            .map(|r| format!("{} {}", r.email, r.status))
            .collect();
        rows.sort();
        rows
    };
    tick("2026-03-08T08:00:00Z");
    assert_eq!(
        statuses("daily-2026-03-08"),
        ["eight@example.com sent", "seven@example.com sent"]
    );
    // Down from 06:00 to 14:00 on the 9th: 08:00's digest is exactly
    // schedule.grace (6 h) late and goes out; 07:00's is 7 h late.
    tick("2026-03-09T14:00:00Z");
    assert_eq!(
        statuses("daily-2026-03-09"),
        ["eight@example.com sent", "seven@example.com skipped"]
    );
    tick("2026-03-10T07:00:00Z");
    assert_eq!(statuses("daily-2026-03-10"), ["seven@example.com sent"]);
    let messages = sink.messages();
    let last = messages
        .iter()
        .rev()
        .find(|m| m.rcpt_to == ["seven@example.com"])
        .expect("the 10 March digest");
    let parsed = MessageParser::default().parse(&last.data).unwrap();
    let text = parsed.body_text(0).unwrap();
    assert!(
        text.contains("Otters return to the river"),
        "the skipped day's best:\n{text}"
    );
    assert!(
        text.contains("Council approves night buses"),
        "today's best:\n{text}"
    );
    assert!(
        !text.contains("Ferry timetable changes"),
        "sent on the 8th:\n{text}"
    );
}
