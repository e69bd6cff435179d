//! The delivery engine under failure, against a real SMTP server in the
//! test: 4xx replies retried, 5xx failing and bouncing subscribers, a
//! connection dropped mid-DATA, a server that never answers (these in
//! process, reading the run's summary and the ledger), then what needs
//! processes: `kill -9` in the middle of an edition, two processes on one
//! edition, and a graceful shutdown on SIGTERM. On SQLite and PostgreSQL.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use herald::testing::{at, daily};
use tokio_util::sync::CancellationToken;

use crate::support::smtp::{Policy, Reply, SmtpSink};
use crate::support::{Settings, TestEnv, block_on, stdout_of, wait_until};

pub(crate) const NOW: &str = "2026-03-10T07:00:00Z";
pub(crate) const DATE: &str = "2026-03-10";
pub(crate) const EDITION: &str = "daily-2026-03-10";

/// Imports one story and `n` daily subscribers reader0@example.com….
pub(crate) fn seed(env: &TestEnv, n: usize) {
    let story = env.write(
        "story.jsonl",
        "{\"title\": \"Council approves night buses\", \"url\": \"https://news.example.com/a\", \"section\": \"world\", \"author\": \"Marta\", \"published_at\": \"2026-03-10T06:00:00Z\", \"votes\": 10}\n\
         {\"title\": \"Comet visible tonight\", \"url\": \"https://news.example.com/b\", \"section\": \"science\", \"author\": \"Sven\", \"published_at\": \"2026-03-10T05:00:00Z\", \"votes\": 20}\n",
    );
    env.herald(&["stories", "import", story.to_str().unwrap()])
        .assert()
        .success();
    let mut csv = String::from("email,name\n");
    for i in 0..n {
        csv.push_str(&format!("reader{i}@example.com,Reader {i}\n"));
    }
    let file = env.write("subscribers.csv", &csv);
    env.herald(&["subscribers", "import", file.to_str().unwrap()])
        .assert()
        .success();
}

/// Mail to the server on `port`, with retries, heartbeats and timeouts short
/// enough for a test, and a linger that waits for the retries.
pub(crate) fn settings(port: u16) -> Settings {
    Settings::smtp_port(port)
        .set("HERALD_DELIVERY__RETRY_BASE", "0.2")
        .set("HERALD_DELIVERY__RETRY_MAX", "0.5")
        .set("HERALD_DELIVERY__LINGER", "10")
        .set("HERALD_DELIVERY__HEARTBEAT", "0.2")
        .set("HERALD_DELIVERY__HEARTBEAT_TIMEOUT", "2")
        .set("HERALD_DELIVERY__CONNECT_TIMEOUT", "2")
        .set("HERALD_DELIVERY__COMMAND_TIMEOUT", "2")
}

/// Runs the daily edition of `date` at `now` in process, to its end.
async fn run_edition(
    env: &TestEnv,
    settings: &Settings,
    date: &str,
    now: &str,
) -> herald::deliver::RunSummary {
    let engine = env.engine(settings).await;
    engine
        .run_edition(daily(date), at(now), None, &CancellationToken::new())
        .await
        .expect("the edition runs")
}

/// `herald send` for the test edition, as a child process.
pub(crate) fn send(env: &TestEnv, settings: &Settings) -> Command {
    let mut cmd = env.herald_std(&["send", "--date", DATE, "--now", NOW]);
    cmd.envs(settings.vars());
    cmd
}

pub(crate) fn run(mut cmd: Command) -> (Option<i32>, String) {
    let out = cmd.output().unwrap();
    let text = format!("{}{}", stdout_of(&out), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

pub(crate) fn status_counts(env: &TestEnv) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for row in block_on(env.ledger(EDITION)) {
        *counts.entry(row.status).or_default() += 1;
    }
    counts
}

pub(crate) fn received_per_recipient(sink: &SmtpSink) -> HashMap<String, usize> {
    let mut per = HashMap::new();
    for m in sink.messages() {
        for r in &m.rcpt_to {
            *per.entry(r.clone()).or_default() += 1;
        }
    }
    per
}

pub(crate) fn spawn(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

both_backends! {
    async fn transient_failures_are_retried_until_delivered(env: &TestEnv) {
        seed(env, 5);
        let sink = SmtpSink::start_with(
            Policy::new()
                .on_rcpt("reader1@example.com", Reply::Code(450)).times(2)
                .on_data("reader2@example.com", Reply::Drop).times(1)
                .on_rcpt("reader3@example.com", Reply::Code(421)).times(1),
        );
        let summary = run_edition(env, &settings(sink.port), DATE, NOW).await;
        assert_eq!((summary.sent, summary.skipped, summary.deferred, summary.failed, summary.retries), (5, 0, 0, 0, 4), "{summary:?}");
        let per = received_per_recipient(&sink);
        assert_eq!(per.len(), 5);
        assert!(per.values().all(|&n| n == 1), "{per:?}");
        let rows = env.ledger(EDITION).await;
        let r1 = rows.iter().find(|r| r.email == "reader1@example.com").unwrap();
        assert_eq!(r1.status, "sent");
        assert_eq!(r1.attempts, 3);
    }

    fn a_run_waiting_for_retries_sleeps_and_says_so_once(env: &TestEnv) {
        seed(env, 3);
        let sink = SmtpSink::start_with(Policy::new().on_rcpt("reader1@example.com", Reply::Code(450)).times(3));
        let mut cmd = send(env, &settings(sink.port));
        cmd.env("RUST_LOG", "info");
        let (code, out) = run(cmd);
        assert_eq!(code, Some(0), "{out}");
        assert!(out.contains("sent 3"), "{out}");
        let said = out.matches("waiting for deferred deliveries").count();
        assert_eq!(said, 1, "one line for the wait, not a busy loop: {out}");
    }

    async fn permanent_failures_fail_and_bounce_after_the_threshold(env: &TestEnv) {
        seed(env, 3);
        let sink = SmtpSink::start_with(Policy::new().on_rcpt("reader0@example.com", Reply::Code(550)));
        let settings = settings(sink.port).set("HERALD_DELIVERY__BOUNCE_THRESHOLD", "2");
        let summary = run_edition(env, &settings, DATE, NOW).await;
        assert_eq!((summary.sent, summary.skipped, summary.deferred, summary.failed, summary.retries), (2, 0, 0, 1, 0), "{summary:?}");
        let rows = env.ledger(EDITION).await;
        let r0 = rows.iter().find(|r| r.email == "reader0@example.com").unwrap();
        assert_eq!(r0.status, "failed");
        assert_eq!(r0.attempts, 1, "a permanent failure is not retried");
        assert!(r0.last_error.as_deref().unwrap().contains("550"));
        assert_eq!(env.show("reader0@example.com")["status"], "active", "one bounce is below the threshold");

        // The operator retries the edition: the second permanent failure
        // reaches the threshold.
        env.herald(&["deliveries", "retry", "--edition", EDITION]).assert().success();
        let rows = env.ledger(EDITION).await;
        let r0 = rows.iter().find(|r| r.email == "reader0@example.com").unwrap();
        assert_eq!(r0.status, "queued", "the failed row is queued again");
        let summary = run_edition(env, &settings, DATE, NOW).await;
        assert_eq!(summary.failed, 1, "{summary:?}");
        assert_eq!(env.show("reader0@example.com")["status"], "bounced");

        // A bounced subscriber is not queued for the next edition.
        let story = env.write("next.jsonl", "{\"title\": \"Next day\", \"url\": \"https://news.example.com/next\", \"published_at\": \"2026-03-11T06:00:00Z\"}\n");
        env.herald(&["stories", "import", story.to_str().unwrap()]).assert().success();
        let summary = run_edition(env, &settings, "2026-03-11", "2026-03-11T07:00:00Z").await;
        assert_eq!((summary.sent, summary.skipped, summary.failed), (2, 0, 0), "{summary:?}");
    }

    async fn a_server_that_never_answers_times_out(env: &TestEnv) {
        seed(env, 2);
        // Accepts connections and says nothing.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = std::thread::spawn(move || {
            let mut conns = Vec::new();
            for c in listener.incoming().take(2) {
                conns.push(c);
            }
            std::thread::sleep(Duration::from_secs(5));
        });
        let started = Instant::now();
        let settings = settings(port)
            .set("HERALD_DELIVERY__CONNECT_TIMEOUT", "0.5")
            .set("HERALD_DELIVERY__MAX_ATTEMPTS", "1");
        let summary = run_edition(env, &settings, DATE, NOW).await;
        assert!(started.elapsed() < Duration::from_secs(5), "the connect timeout was not honoured");
        assert_eq!(summary.failed, 2, "{summary:?}");
        let rows = env.ledger(EDITION).await;
        assert!(rows.iter().all(|r| r.last_error.as_deref().unwrap().contains("timed out")), "{rows:?}");
        drop(held);
    }
    fn kill_9_mid_edition_then_restart_delivers_everyone(env: &TestEnv) {
        let n = 200;
        seed(env, n);
        let sink = SmtpSink::start();
        // Slow enough to be killed in the middle.
        let mut child = spawn(send(env, &settings(sink.port).set("HERALD_DELIVERY__RATE_PER_SECOND", "100")));
        wait_until("the first messages", Duration::from_secs(20), || sink.messages().len() >= 30);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let before = sink.messages().len();
        assert!(before < n, "the edition finished before the kill");
        // Rows left in `sending` wait for their lease (2 s) to expire; the
        // restarted run lingers for them.
        let (code, out) = run(send(env, &settings(sink.port)));
        assert_eq!(code, Some(0), "{out}");
        let per = received_per_recipient(&sink);
        assert_eq!(per.len(), n, "every subscriber received the digest");
        let duplicates: usize = per.values().map(|&c| c - 1).sum();
        assert!(duplicates <= 4, "{duplicates} duplicates, more than the concurrency (4)");
        let counts = status_counts(env);
        assert_eq!(counts.get("sent"), Some(&n), "{counts:?}");
    }

    fn two_processes_share_an_edition(env: &TestEnv) {
        let n = 300;
        seed(env, n);
        let sink = SmtpSink::start();
        let limited = settings(sink.port).set("HERALD_DELIVERY__RATE_PER_SECOND", "150");
        let a = spawn(send(env, &limited));
        let b = spawn(send(env, &limited));
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        assert!(a.status.success() && b.status.success(), "{}\n{}", String::from_utf8_lossy(&a.stderr), String::from_utf8_lossy(&b.stderr));
        let per = received_per_recipient(&sink);
        assert_eq!(per.len(), n);
        assert!(per.values().all(|&c| c == 1), "someone got two copies");
        let sent = |o: &std::process::Output| -> usize {
            let s = stdout_of(o);
            let i = s.find(": sent ").unwrap() + 7;
            s[i..].split(',').next().unwrap().parse().unwrap()
        };
        let (sa, sb) = (sent(&a), sent(&b));
        assert_eq!(sa + sb, n);
        assert!(sa > 0 && sb > 0, "the work was not shared: {sa} and {sb}");
    }

    fn sigterm_finishes_in_flight_and_leaves_the_rest_queued(env: &TestEnv) {
        let n = 200;
        seed(env, n);
        let sink = SmtpSink::start();
        let child = spawn(send(env, &settings(sink.port).set("HERALD_DELIVERY__RATE_PER_SECOND", "100")));
        wait_until("the first messages", Duration::from_secs(20), || sink.messages().len() >= 20);
        let pid = child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let out = child.wait_with_output().unwrap();
        // Stopped with rows still queued: finished, rows remain.
        assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout_of(&out).contains("stopped by a signal"), "{}", stdout_of(&out));
        let received = sink.messages().len();
        assert!(received < n, "the edition finished before SIGTERM");
        let counts = status_counts(env);
        assert_eq!(counts.get("sending"), None, "nothing is left half-recorded: {counts:?}");
        assert_eq!(counts.get("sent").copied().unwrap_or(0), received, "every message received is recorded as sent");
        assert_eq!(counts.get("queued").copied().unwrap_or(0), n - received);
        // The next run sends the rest, and nothing twice.
        let (code, out) = run(send(env, &settings(sink.port)));
        assert_eq!(code, Some(0), "{out}");
        let per = received_per_recipient(&sink);
        assert_eq!(per.len(), n);
        assert!(per.values().all(|&c| c == 1));
    }
}
