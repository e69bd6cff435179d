//! Runs, claims and honest summaries, with the real binary against the real
//! test SMTP server: a relay slower than `delivery.heartbeat_timeout` gets
//! every digest once; `kill -9` at several points and an immediate restart
//! finish the edition without waiting for any timeout; of two live
//! processes one is killed and the survivor takes over its rows; a relay
//! answering 421 for good ends the run after `delivery.outage_limit` with
//! the rows deferred; and a run with held, deferred, failed and sent rows
//! says so alike in its text, its JSON and its exit status; `send --due
//! --format json`; a tick that skips an edition still running instead of
//! waiting for it; and the removed `delivery.lease`. On SQLite and
//! PostgreSQL.

use std::collections::HashMap;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use herald::domain::Frequency;
use herald::testing::{at, daily};

use crate::delivery::{
    DATE, EDITION, NOW, received_per_recipient, run, seed, send, settings, spawn, status_counts,
};
use crate::support::smtp::{Policy, Received, Reply, SmtpSink};
use crate::support::{Settings, TestEnv, block_on, stdout_of, wait_until};

/// `herald send --format json` for the test edition.
fn send_json(env: &TestEnv, settings: &Settings) -> Command {
    let mut cmd = send(env, settings);
    cmd.args(["--format", "json"]);
    cmd
}

/// The one edition of a `send --format json` output, and the exit status.
fn summary_of(out: &Output) -> (Option<i32>, serde_json::Value) {
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}): {}\n{}",
            stdout_of(out),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(
        v["exit_status"].as_i64().map(|c| c as i32),
        out.status.code(),
        "the JSON's exit status is the process's: {v}"
    );
    assert_eq!(v["editions"].as_array().map(Vec::len), Some(1), "{v}");
    (out.status.code(), v["editions"][0].clone())
}

fn per_recipient(messages: &[Received]) -> HashMap<String, usize> {
    let mut per = HashMap::new();
    for m in messages {
        for r in &m.rcpt_to {
            *per.entry(r.clone()).or_default() += 1;
        }
    }
    per
}

fn kill_9(child: &mut Child) {
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

both_backends! {
    fn a_relay_slower_than_the_heartbeat_timeout_gets_every_digest_once(env: &TestEnv) {
        let n = 6;
        seed(env, n);
        // Two seconds a message against a one-second timeout: with leases
        // that were not renewed, rows were claimed again while being sent.
        let sink = SmtpSink::start_with(Policy::new().delay_each(Duration::from_secs(2)));
        let settings = settings(sink.port)
            .set("HERALD_DELIVERY__HEARTBEAT_TIMEOUT", "1")
            .set("HERALD_DELIVERY__COMMAND_TIMEOUT", "10")
            .set("HERALD_DELIVERY__CONCURRENCY", "2");
        let a = spawn(send_json(env, &settings));
        wait_until("the first run's claims", Duration::from_secs(10), || {
            status_counts(env).get("sending").copied().unwrap_or(0) > 0
        });
        let b = spawn(send_json(env, &settings));
        let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
        let per = received_per_recipient(&sink);
        assert_eq!(per.len(), n, "{per:?}");
        assert!(per.values().all(|&c| c == 1), "a digest went out twice: {per:?}");
        let ((ca, a), (cb, b)) = (summary_of(&a), summary_of(&b));
        assert_eq!((ca, cb), (Some(0), Some(0)), "{a}\n{b}");
        assert_eq!(a["run"]["sent"].as_u64().unwrap() + b["run"]["sent"].as_u64().unwrap(), n as u64, "{a}\n{b}");
        for s in [&a, &b] {
            assert_eq!((s["rows"]["total"].as_u64(), s["rows"]["sent"].as_u64()), (Some(n as u64), Some(n as u64)), "{s}");
            assert_eq!(s["rows"]["held"], 0, "{s}");
        }
        assert_eq!(status_counts(env).get("sent"), Some(&n));
    }

    fn kill_9_at_several_points_then_an_immediate_restart_finishes_without_waiting(env: &TestEnv) {
        let n = 80;
        seed(env, n);
        let sink = SmtpSink::start();
        // The default heartbeat timeout (30 s) and a linger longer than it:
        // a restart that waited for the dead run to time out would show.
        let base = settings(sink.port)
            .set("HERALD_DELIVERY__HEARTBEAT", "5")
            .set("HERALD_DELIVERY__HEARTBEAT_TIMEOUT", "30")
            .set("HERALD_DELIVERY__LINGER", "60");
        for (day, kill_after) in [(10, 1), (11, 25), (12, 50)] {
            let date = format!("2026-03-{day}");
            let now = format!("{date}T07:00:00Z");
            if day > 10 {
                let story = env.write("day.jsonl", &format!(
                    "{{\"title\": \"News of the {day}th\", \"url\": \"https://news.example.com/{day}\", \"published_at\": \"{date}T06:00:00Z\"}}\n"
                ));
                env.herald(&["stories", "import", story.to_str().unwrap()]).assert().success();
            }
            let cmd = |s: &Settings| {
                let mut c = env.herald_std(&["send", "--date", &date, "--now", &now]);
                c.envs(s.vars());
                c
            };
            let before = sink.messages().len();
            let mut child = spawn(cmd(&base.clone().set("HERALD_DELIVERY__RATE_PER_SECOND", "20")));
            wait_until("messages before the kill", Duration::from_secs(20), || sink.messages().len() >= before + kill_after);
            kill_9(&mut child);
            let killed_at = sink.messages().len() - before;
            assert!(killed_at < n, "the edition finished before the kill");
            let started = Instant::now();
            let (code, out) = run(cmd(&base));
            let took = started.elapsed();
            assert_eq!(code, Some(0), "killed after {kill_after}: {out}");
            assert!(took < Duration::from_secs(15), "the restart waited: {took:?}\n{out}");
            let messages = sink.messages();
            let per = per_recipient(&messages[before..]);
            assert_eq!(per.len(), n, "killed after {kill_after}: every subscriber received the digest");
            let duplicates: usize = per.values().map(|&c| c - 1).sum();
            eprintln!("killed after {killed_at} messages: the restart took {took:?}, {duplicates} duplicate(s)");
            assert!(duplicates <= 4, "killed after {kill_after}: {duplicates} duplicates, more than the dead run's concurrency (4)");
            let rows = block_on(env.ledger(&format!("daily-{date}")));
            assert!(rows.iter().all(|r| r.status == "sent"), "killed after {kill_after}: {rows:?}");
        }
    }

    fn of_two_live_runs_one_is_killed_and_the_survivor_takes_over_its_rows(env: &TestEnv) {
        let n = 150;
        seed(env, n);
        let sink = SmtpSink::start();
        // Takeover by the dead process's pid, not by the (long) timeout.
        let settings = settings(sink.port)
            .set("HERALD_DELIVERY__RATE_PER_SECOND", "60")
            .set("HERALD_DELIVERY__CONCURRENCY", "2")
            .set("HERALD_DELIVERY__HEARTBEAT", "1")
            .set("HERALD_DELIVERY__HEARTBEAT_TIMEOUT", "30")
            .set("HERALD_DELIVERY__LINGER", "60");
        let mut a = spawn(send(env, &settings));
        let b = spawn(send_json(env, &settings));
        wait_until("both runs sending", Duration::from_secs(20), || sink.messages().len() >= 40);
        let so_far = per_recipient(&sink.messages());
        assert!(so_far.values().all(|&c| c == 1), "two live runs sent one digest twice: {so_far:?}");
        kill_9(&mut a);
        let killed = Instant::now();
        let held = status_counts(env).get("sending").copied().unwrap_or(0);
        let b = b.wait_with_output().unwrap();
        eprintln!("the survivor finished {:?} after the kill; {held} rows were sending then", killed.elapsed());
        assert!(killed.elapsed() < Duration::from_secs(20), "the survivor waited for the timeout");
        let (code, s) = summary_of(&b);
        assert_eq!(code, Some(0), "{s}");
        assert_eq!((s["rows"]["sent"].as_u64(), s["rows"]["held"].as_u64(), s["rows"]["abandoned"].as_u64()), (Some(n as u64), Some(0), Some(0)), "{s}");
        let per = received_per_recipient(&sink);
        assert_eq!(per.len(), n, "every subscriber received the digest");
        let duplicates: usize = per.values().map(|&c| c - 1).sum();
        assert!(duplicates <= 2, "{duplicates} duplicates, more than the dead run's concurrency (2); {held} rows were sending at the kill");
        assert_eq!(status_counts(env).get("sent"), Some(&n));
    }

    fn a_relay_answering_421_for_good_ends_the_run_with_the_rows_deferred(env: &TestEnv) {
        let n = 5;
        seed(env, n);
        let sink = SmtpSink::start_with(Policy::new().on_rcpt("*", Reply::Code(421)));
        let settings = settings(sink.port)
            .set("HERALD_DELIVERY__OUTAGE_LIMIT", "2")
            .set("HERALD_DELIVERY__MAX_ATTEMPTS", "100")
            .set("HERALD_DELIVERY__LINGER", "60");
        let started = Instant::now();
        let out = send_json(env, &settings).output().unwrap();
        let took = started.elapsed();
        let (code, s) = summary_of(&out);
        assert_eq!(code, Some(4), "{s}");
        assert!(took < Duration::from_secs(20), "the run went on for {took:?}");
        assert_eq!(s["run"]["stopped"], "outage", "{s}");
        assert_eq!(s["verdict"], "rows_remain", "{s}");
        assert_eq!((s["rows"]["deferred"].as_u64(), s["rows"]["sent"].as_u64()), (Some(n as u64), Some(0)), "{s}");
        let next: chrono::DateTime<chrono::Utc> = s["rows"]["next_attempt_at"].as_str().expect("a next attempt time").parse().unwrap();
        assert!(next > chrono::Utc::now() - chrono::Duration::seconds(60), "{s}");
        assert_eq!(status_counts(env).get("deferred"), Some(&n), "nothing is left sending or queued");
        // Said in the text too.
        let (code, text) = run(send(env, &settings.set("HERALD_DELIVERY__LINGER", "0")));
        assert_eq!(code, Some(4), "{text}");
        assert!(text.contains(&format!("deferred {n} (next attempt ")), "{text}");
        assert!(sink.messages().is_empty());
    }

    fn held_deferred_failed_and_sent_rows_agree_in_text_json_and_exit_status(env: &TestEnv) {
        seed(env, 6);
        // Another machine's live run holds the first two rows.
        let (run_id, claimed) = block_on(async {
            let store = env.store().await;
            let edition = store.ensure_edition(&daily(DATE)).await.unwrap();
            store.enqueue(edition, Frequency::Daily, None, at(NOW)).await.unwrap();
            let run_id = store.register_run("other-host", 4242, "boot:1").await.unwrap();
            let claimed = store
                .claim(edition, 2, run_id, Duration::from_secs(30), &mut Default::default())
                .await
                .unwrap();
            store.close().await;
            (run_id, claimed.len())
        });
        assert_eq!(claimed, 2);
        let sink = SmtpSink::start_with(
            Policy::new()
                .on_rcpt("reader2@example.com", Reply::Code(550))
                .on_rcpt("reader3@example.com", Reply::Code(450)),
        );
        // The other run never renews: the timeout outlasts the test. The
        // deferred row is not due again during it.
        let settings = settings(sink.port)
            .set("HERALD_DELIVERY__HEARTBEAT_TIMEOUT", "60")
            .set("HERALD_DELIVERY__RETRY_BASE", "600")
            .set("HERALD_DELIVERY__RETRY_MAX", "600")
            .set("HERALD_DELIVERY__LINGER", "0");
        let (code, s) = summary_of(&send_json(env, &settings).output().unwrap());
        assert_eq!(code, Some(4), "{s}");
        assert_eq!(s["verdict"], "rows_remain", "{s}");
        let r = &s["rows"];
        let counts: Vec<Option<u64>> = ["total", "sent", "failed", "deferred", "held", "queued", "abandoned"]
            .iter()
            .map(|k| r[*k].as_u64())
            .collect();
        assert_eq!(counts, [6, 2, 1, 1, 2, 0, 0].map(Some), "{s}");
        assert_eq!((s["run"]["sent"].as_u64(), s["run"]["failed"].as_u64(), s["run"]["retries"].as_u64()), (Some(2), Some(1), Some(1)), "{s}");
        let holder = &r["held_by"][0];
        assert_eq!((holder["run_id"].as_i64(), holder["host"].as_str(), holder["pid"].as_i64(), holder["rows"].as_i64()), (Some(run_id), Some("other-host"), Some(4242), Some(2)), "{s}");
        let until = holder["until"].as_str().expect("until when");
        let next = r["next_attempt_at"].as_str().expect("the deferred row's next attempt");

        // The text of the same edition says the same, with the same status.
        let (code, text) = run(send(env, &settings));
        assert_eq!(code, Some(4), "{text}");
        let until_text = chrono::DateTime::parse_from_rfc3339(until).unwrap().to_rfc3339();
        let next_text = chrono::DateTime::parse_from_rfc3339(next).unwrap().to_rfc3339();
        for line in [
            format!("all 6 rows of the edition: sent 2, skipped 0, failed 1, deferred 1 (next attempt {next_text}), queued 0 (0 paused by the guard), held by other runs 2, abandoned 0"),
            format!("2 row(s) held by live run {run_id} (host other-host, pid 4242) until at least {until_text}"),
        ] {
            assert!(text.contains(&line), "missing {line:?} in:\n{text}");
        }
        // `editions show` names the holder too.
        let shown: serde_json::Value = env.json(&["editions", "show", EDITION, "--format", "json"]);
        assert_eq!((shown["runs"][0]["run_id"].as_i64(), shown["runs"][0]["live"].as_bool()), (Some(run_id), Some(true)), "{shown}");
        assert_eq!(shown["deliveries"]["sending"], 2, "{shown}");
        let show = stdout_of(&env.herald(&["editions", "show", EDITION]).output().unwrap());
        assert!(show.contains(&format!("2 row(s) held by live run {run_id} (host other-host, pid 4242)")), "{show}");
    }
}

both_backends! {
    async fn a_tick_skips_an_edition_this_process_is_still_sending(env: &TestEnv) {
        seed(env, 3);
        // Six seconds of sending: the edition is still running when the
        // next tick comes.
        let sink = SmtpSink::start_with(Policy::new().delay_each(Duration::from_secs(2)));
        let settings = settings(sink.port)
            .set("HERALD_DELIVERY__COMMAND_TIMEOUT", "10")
            .set("HERALD_DELIVERY__CONCURRENCY", "1");
        let engine = env.engine(&settings).await;
        let store = env.store().await;
        let rules = env.config(&settings).schedule.rules();
        let running = herald::daemon::Running::default();
        let shutdown = tokio_util::sync::CancellationToken::new();
        let first = herald::daemon::tick(&store, &engine, &rules, at(NOW), &shutdown, &running);
        let second = async {
            sink.wait_for_async(1, Duration::from_secs(10)).await;
            let started = Instant::now();
            let tick = herald::daemon::tick(&store, &engine, &rules, at(NOW), &shutdown, &running).await;
            (tick, started.elapsed())
        };
        let (first, (second, took)) = tokio::join!(first, second);
        let second = second.expect("the second tick runs");
        assert!(second.editions.is_empty(), "the running edition was not run twice: {second:?}");
        assert!(took < Duration::from_secs(2), "the second tick waited for the first: {took:?}");
        let first = first.expect("the first tick runs");
        assert_eq!(first.editions.len(), 1);
        assert_eq!((first.editions[0].1.sent, first.editions[0].1.ledger.sent), (3, 3), "{first:?}");
        assert_eq!(sink.messages().len(), 3);
        engine.stop().await.unwrap();
    }
}

#[test]
fn a_configuration_naming_the_removed_lease_says_what_replaced_it() {
    let env = TestEnv::sqlite();
    let out = env
        .herald(&["config", "check"])
        .env("HERALD_DELIVERY__LEASE", "300")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("delivery.lease")
            && err.contains("was removed")
            && err.contains("delivery.heartbeat_timeout"),
        "{err}"
    );
    let out = env
        .herald(&["config", "check"])
        .env("HERALD_DELIVERY__HEARTBEAT", "10")
        .env("HERALD_DELIVERY__HEARTBEAT_TIMEOUT", "10")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("delivery.heartbeat_timeout") && err.contains("longer than the heartbeat"),
        "{err}"
    );
}

both_backends! {
    fn send_due_prints_one_json_object_for_the_tick(env: &TestEnv) {
        seed(env, 3);
        let sink = SmtpSink::start_with(Policy::new().on_rcpt("reader1@example.com", Reply::Code(550)));
        let mut cmd = env.herald_std(&["send", "--due", "--now", NOW, "--format", "json"]);
        cmd.envs(settings(sink.port).vars());
        let out = cmd.output().unwrap();
        let (code, s) = summary_of(&out);
        assert_eq!(code, Some(3), "every row final, one failed: {s}");
        assert_eq!((s["edition"].as_str(), s["verdict"].as_str()), (Some(EDITION), Some("some_failed")), "{s}");
        assert_eq!((s["rows"]["sent"].as_u64(), s["rows"]["failed"].as_u64(), s["rows"]["total"].as_u64()), (Some(2), Some(1), Some(3)), "{s}");
    }
}
