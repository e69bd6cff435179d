//! Ledger retention (`delivery.retention`) on SQLite and PostgreSQL: the
//! rows of an old edition are folded into its counts and deleted, in
//! batches, while a recent edition keeps every row; `editions show` reports
//! the same counts and rates before and after, and says the details were
//! pruned; the bounce events of pruned deliveries are still listed; a
//! second pass changes nothing; a pruned edition cannot be sent again; an
//! old edition whose digests were selected lately keeps its rows, so "never
//! repeat a story" holds; runs that ended before the retention and sent
//! none of the rows kept are removed; `editions prune --dry-run` removes nothing; a
//! retention under the minimum is refused naming the key.
//!
//! The store stamps `updated_at` with the wall clock, so each pass runs at
//! a `now` computed from today, far enough ahead that the test's rows are
//! as old as it needs them to be.

use chrono::{DateTime, Duration, Utc};
use herald::testing::{at, daily};
use tokio_util::sync::CancellationToken;

use crate::support::smtp::{Policy, Reply, SmtpSink};
use crate::support::{Settings, TestEnv, stdout_of};

const OLD: &str = "2026-03-10";
const OLD_EDITION: &str = "daily-2026-03-10";
const OLD_NOW: &str = "2026-03-10T07:00:00Z";

fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// Imports one story published at `at`, with its own URL.
fn import_story(env: &TestEnv, url: &str, at: DateTime<Utc>) {
    let file = env.write(
        "story-more.jsonl",
        &format!(
            "{{\"title\": \"Story {url}\", \"url\": \"https://news.example.com/{url}\", \"published_at\": \"{}\", \"votes\": 10}}\n",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
    );
    env.herald(&["stories", "import", file.to_str().unwrap()])
        .assert()
        .success();
}

async fn send(
    env: &TestEnv,
    settings: &Settings,
    date: &str,
    now: DateTime<Utc>,
) -> herald::deliver::RunSummary {
    env.engine(settings)
        .await
        .run_edition(daily(date), now, None, &CancellationToken::new())
        .await
        .expect("the edition runs")
}

fn show(env: &TestEnv, edition: &str) -> serde_json::Value {
    env.json(&["editions", "show", edition, "--format", "json"])
}

both_backends! {
    async fn old_editions_are_folded_recent_ones_kept(env: &TestEnv) {
        env.seed_readers(5);
        let sink = SmtpSink::start_with(Policy::new().on_rcpt(
            "reader0@example.com",
            Reply::Text(550, "5.1.1 <reader0@example.com>: Recipient address rejected: User unknown"),
        ));
        let settings = Settings::smtp(&sink);
        let summary = send(env, &settings, OLD, at(OLD_NOW)).await;
        assert_eq!((summary.sent, summary.failed), (4, 1), "{summary:?}");

        // A recent edition: dated 10 days before the pass.
        let pass_at = Utc::now() + days(100);
        let recent_now = pass_at - days(10);
        let recent_date = recent_now.date_naive().to_string();
        let recent_edition = format!("daily-{recent_date}");
        import_story(env, "recent", recent_now - Duration::hours(1));
        let summary = send(env, &settings, &recent_date, recent_now).await;
        assert_eq!(summary.sent, 4, "{summary:?}");

        let before = show(env, OLD_EDITION);
        let recent_before = show(env, &recent_edition);
        let events_before: Vec<serde_json::Value> = env.json(&["bounces", "list", "--format", "json"]);
        assert_eq!(events_before.len(), 1, "{events_before:?}");
        assert!(events_before[0]["delivery_id"].is_i64(), "{events_before:?}");

        // Batches of 2 rows: the 4 sent rows take two full batches and an
        // empty one, the failed row one short batch.
        let store = env.store().await;
        let report = store
            .prune_ledger_in_batches(days(90), pass_at, false, 2)
            .await
            .expect("the retention pass runs");
        let folded: Vec<(String, u64)> = report.editions.iter().map(|e| (e.edition.clone(), e.rows)).collect();
        assert_eq!(folded, vec![(OLD_EDITION.to_owned(), 5)]);
        // Both runs ended long before; only the old edition's no longer
        // has a row naming it.
        assert_eq!(report.runs, 1, "{report:?}");
        assert!(env.ledger(OLD_EDITION).await.is_empty(), "the old edition's rows are gone");
        // reader0 bounced in the old edition, so the recent one has 4 rows.
        assert_eq!(env.ledger(&recent_edition).await.len(), 4, "the recent edition keeps its rows");

        let after = show(env, OLD_EDITION);
        assert_eq!(after["deliveries"], before["deliveries"], "{after}");
        assert_eq!(after["bounces"], before["bounces"], "{after}");
        assert_eq!((after["deliveries"]["sent"].as_i64(), after["deliveries"]["failed"].as_i64()), (Some(4), Some(1)));
        assert!(after["pruned_at"].is_string(), "{after}");
        assert!(before["pruned_at"].is_null(), "{before}");
        assert_eq!(show(env, &recent_edition), recent_before);
        let text = stdout_of(&env.herald(&["editions", "show", OLD_EDITION]).output().unwrap());
        assert!(text.contains("delivery details pruned after 90 days"), "{text}");
        assert!(text.contains("sent 4") && text.contains("failed 1"), "{text}");

        // The bounce event stays, with its edition and subscriber, without
        // the delivery row it named.
        let events: Vec<serde_json::Value> = env.json(&["bounces", "list", "--format", "json"]);
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["email"], "reader0@example.com", "{events:?}");
        assert_eq!(events[0]["edition"], OLD_EDITION, "{events:?}");
        assert_eq!(events[0]["category"], "hard", "{events:?}");
        assert!(events[0]["delivery_id"].is_null(), "{events:?}");

        // A second pass finds nothing and changes nothing.
        let again = store.prune_ledger(days(90), pass_at, false).await.unwrap();
        assert!(again.editions.is_empty() && again.runs == 0, "{again:?}");
        assert_eq!(show(env, OLD_EDITION)["deliveries"], before["deliveries"]);

        // The pruned edition cannot be sent again: nobody would be known to
        // have had it.
        let err = env
            .engine(&settings)
            .await
            .run_edition(daily(OLD), at(OLD_NOW), None, &CancellationToken::new())
            .await
            .expect_err("a pruned edition is refused");
        assert!(format!("{err:#}").contains("delivery.retention"), "{err:#}");
        assert_eq!(sink.messages().len(), 8, "nothing more was sent");
        store.close().await;
    }

    async fn an_edition_selected_lately_keeps_its_rows_and_no_story_repeats(env: &TestEnv) {
        env.seed_readers(2);
        let sink = SmtpSink::start();
        let settings = Settings::smtp(&sink);
        // An old edition sent late: its date is long past, its digests were
        // selected at t0 (well after every row's wall-clock updated_at), at
        // 20:00, and the next edition goes out twelve hours later.
        let t0 = (Utc::now() + days(100))
            .date_naive()
            .and_hms_opt(20, 0, 0)
            .unwrap()
            .and_utc();
        let t1 = t0 + Duration::hours(12);
        import_story(env, "late", t0 - Duration::hours(2));
        let summary = send(env, &settings, OLD, t0).await;
        assert_eq!(summary.sent, 2, "{summary:?}");
        let sent_first = sink.messages().len();

        // At t1, with the shortest retention, the old edition's date is far
        // past the cutoff but its digests are in every subscriber's history
        // (their window starts at t0): kept.
        let store = env.store().await;
        let report = store.prune_ledger(days(15), t1, false).await.unwrap();
        assert!(report.editions.is_empty(), "{report:?}");
        assert_eq!(env.ledger(OLD_EDITION).await.len(), 2);

        // The story, published ten hours before t1, is within one period:
        // only the history keeps it out of the next digest (nothing else is
        // new, so that digest is skipped).
        let next = t1.date_naive().to_string();
        let summary = send(env, &settings, &next, t1).await;
        assert_eq!((summary.sent, summary.skipped), (0, 2), "{summary:?}");
        assert_eq!(sink.messages().len(), sent_first);

        // Once those digests are older than the retention, the rows go; the
        // history reads only the last two periods, so nothing else changes.
        let report = store.prune_ledger(days(15), t0 + days(16), false).await.unwrap();
        let pruned: Vec<&str> = report.editions.iter().map(|e| e.edition.as_str()).collect();
        assert_eq!(pruned, vec![OLD_EDITION]);
        store.close().await;
    }

    async fn prune_command_dry_run_changes_nothing(env: &TestEnv) {
        env.seed_readers(3);
        let sink = SmtpSink::start();
        send(env, &Settings::smtp(&sink), OLD, at(OLD_NOW)).await;
        let pass_at = (Utc::now() + days(100)).to_rfc3339();

        let dry = env.herald(&["editions", "prune", "--dry-run", "--now", &pass_at]).output().unwrap();
        assert!(dry.status.success(), "{}", String::from_utf8_lossy(&dry.stderr));
        let text = stdout_of(&dry);
        assert!(text.contains(&format!("{OLD_EDITION}: would fold 3 delivery rows")), "{text}");
        assert_eq!(env.ledger(OLD_EDITION).await.len(), 3, "a dry run removes nothing");

        let v: serde_json::Value = env.json(&["editions", "prune", "--now", &pass_at, "--format", "json"]);
        assert_eq!(v["rows"], 3, "{v}");
        assert_eq!(v["editions"][0]["edition"], OLD_EDITION, "{v}");
        assert!(env.ledger(OLD_EDITION).await.is_empty());
        assert_eq!(show(env, OLD_EDITION)["deliveries"]["sent"], 3);

        let v: serde_json::Value = env.json(&["editions", "prune", "--now", &pass_at, "--format", "json"]);
        assert_eq!(v["rows"], 0, "a second pass removes nothing: {v}");
    }
}

#[test]
fn a_retention_under_the_minimum_is_refused_naming_the_key() {
    let env = TestEnv::sqlite();
    let out = env
        .herald(&["config", "check"])
        .env("HERALD_DELIVERY__RETENTION", "14")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("delivery.retention") && err.contains("expected 15 to"),
        "{err}"
    );
    let ok = env
        .herald(&["config", "check"])
        .env("HERALD_DELIVERY__RETENTION", "15")
        .output()
        .unwrap();
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
}
