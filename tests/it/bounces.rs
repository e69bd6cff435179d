//! The return path end to end, on SQLite and PostgreSQL: an edition sent
//! with a VERP envelope sender to the test's SMTP server, then what comes
//! back: a DSN to one VERP address through `herald bounces ingest -`
//! (the subscriber bounces, no one else changes; ingesting it again
//! changes nothing; a forged tag changes nothing), an ARF complaint that
//! quotes the Message-ID (unsubscribed, suppressed even after erasure, and
//! refused by a later import), the relay's own refusals judged by category
//! during the send, and the guard pausing an edition that a stream of
//! complaints pushes over the limit, then resuming it without duplicates.

use std::io::Write;
use std::process::Stdio;

use herald::testing::{at, daily};
use tokio_util::sync::CancellationToken;

use crate::support::smtp::{Policy, Received, Reply, SmtpSink};
use crate::support::{Settings, TestEnv, stdout_of};

const NOW: &str = "2026-03-10T07:00:00Z";
const DATE: &str = "2026-03-10";
const EDITION: &str = "daily-2026-03-10";

fn settings(sink: &SmtpSink) -> Settings {
    Settings::smtp(sink).set("HERALD_MAIL__RETURN_PATH", "bounces+{id}@bounces.example.com")
}

async fn run_edition(env: &TestEnv, settings: &Settings) -> herald::deliver::RunSummary {
    env.engine(settings)
        .await
        .run_edition(daily(DATE), at(NOW), None, &CancellationToken::new())
        .await
        .expect("the edition runs")
}

fn to(m: &Received) -> &str {
    &m.rcpt_to[0]
}

fn header(m: &Received, name: &str) -> String {
    let text = m.text();
    let prefix = format!("{name}: ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
        .unwrap_or_else(|| panic!("no {name} header in {text}"))
}

/// `herald bounces ingest -` with `message` on standard input.
fn ingest(env: &TestEnv, settings: &Settings, message: &str) -> (bool, String) {
    let mut cmd = env.herald_std(&["bounces", "ingest", "-"]);
    cmd.envs(settings.vars())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child.stdin.take().unwrap().write_all(message.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!("{}{}", stdout_of(&out), String::from_utf8_lossy(&out.stderr)),
    )
}

/// A DSN as Postfix writes it, for `rcpt`, sent to the envelope sender
/// `return_path`, quoting the original's headers.
fn postfix_dsn(return_path: &str, rcpt: &str, status: &str, diagnostic: &str, message_id: &str) -> String {
    // Each DSN its own id, as Postfix's queue ids are.
    let report_id = format!("{:x}", sha_like(return_path, message_id));
    format!(
        "Return-Path: <>\r\n\
         Delivered-To: {return_path}\r\n\
         From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         To: {return_path}\r\n\
         Auto-Submitted: auto-replied\r\n\
         Message-Id: <20260310070102.{report_id}@mx.example.net>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"B1\"\r\n\
         \r\n\
         --B1\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n\
         This is the mail system at host mx.example.net.\r\n\
         \r\n\
         I'm sorry to have to inform you that your message could not\r\n\
         be delivered to one or more recipients.\r\n\
         \r\n\
         <{rcpt}>: host mail.example.com[192.0.2.25] said: {diagnostic}\r\n\
         \r\n\
         --B1\r\n\
         Content-Type: message/delivery-status\r\n\
         \r\n\
         Reporting-MTA: dns; mx.example.net\r\n\
         Arrival-Date: Tue, 10 Mar 2026 07:01:00 +0000 (UTC)\r\n\
         \r\n\
         Final-Recipient: rfc822; {rcpt}\r\n\
         Original-Recipient: rfc822;{rcpt}\r\n\
         Action: failed\r\n\
         Status: {status}\r\n\
         Remote-MTA: dns; mail.example.com\r\n\
         Diagnostic-Code: smtp; {diagnostic}\r\n\
         \r\n\
         --B1\r\n\
         Content-Type: text/rfc822-headers\r\n\
         \r\n\
         Return-Path: <{return_path}>\r\n\
         From: Herald Digest <digest@example.com>\r\n\
         To: <{rcpt}>\r\n\
         Subject: Your daily digest\r\n\
         Message-ID: {message_id}\r\n\
         \r\n\
         --B1--\r\n"
    )
}

fn sha_like(a: &str, b: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (a, b).hash(&mut h);
    h.finish()
}

/// An ARF complaint report (RFC 5965) as a feedback loop sends it: to the
/// site's own feedback address, not VERP, quoting the original.
fn arf_complaint(rcpt: &str, message_id: &str, report_id: &str) -> String {
    format!(
        "From: Feedback Loop <fbl@feedback.example.net>\r\n\
         To: fbl@example.com\r\n\
         Subject: FW: Your daily digest\r\n\
         Message-ID: <{report_id}@feedback.example.net>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=feedback-report; boundary=\"F1\"\r\n\
         \r\n\
         --F1\r\n\
         Content-Type: text/plain\r\n\
         \r\n\
         This is an email abuse report for an email message received from IP 192.0.2.10.\r\n\
         \r\n\
         --F1\r\n\
         Content-Type: message/feedback-report\r\n\
         \r\n\
         Feedback-Type: abuse\r\n\
         User-Agent: ExampleFBL/1.0\r\n\
         Version: 1\r\n\
         Original-Mail-From: <bounces+1-00@bounces.example.com>\r\n\
         Original-Rcpt-To: <{rcpt}>\r\n\
         Arrival-Date: Tue, 10 Mar 2026 07:02:00 +0000\r\n\
         Source-IP: 192.0.2.10\r\n\
         \r\n\
         --F1\r\n\
         Content-Type: message/rfc822\r\n\
         \r\n\
         From: Herald Digest <digest@example.com>\r\n\
         To: <{rcpt}>\r\n\
         Subject: Your daily digest\r\n\
         Message-ID: {message_id}\r\n\
         \r\n\
         The digest.\r\n\
         \r\n\
         --F1--\r\n"
    )
}

fn status_of(env: &TestEnv, email: &str) -> String {
    env.show(email)["status"].as_str().unwrap().to_owned()
}

both_backends! {
    async fn a_dsn_to_a_verp_address_bounces_that_subscriber_only(env: &TestEnv) {
        env.seed_readers(3);
        let sink = SmtpSink::start();
        let settings = settings(&sink);
        let summary = run_edition(env, &settings).await;
        assert_eq!(summary.sent, 3, "{summary:?}");
        let messages = sink.wait_for(3, std::time::Duration::from_secs(5));
        let senders: std::collections::HashSet<&str> = messages.iter().map(|m| m.mail_from.as_str()).collect();
        assert_eq!(senders.len(), 3, "one VERP envelope sender per delivery: {senders:?}");
        let m = messages.iter().find(|m| to(m) == "reader1@example.com").unwrap();
        assert!(m.mail_from.starts_with("bounces+") && m.mail_from.ends_with("@bounces.example.com"), "{}", m.mail_from);
        assert!(!m.text().contains("bounces+"), "the VERP address is envelope only");

        // A forged tag names nothing: nobody changes.
        let forged = m.mail_from.replacen('-', "-f", 1);
        let dsn = postfix_dsn(&forged, "reader1@example.com", "5.1.1", "550 5.1.1 <reader1@example.com>: Recipient address rejected: User unknown", "<forged@example.com>");
        let (ok, out) = ingest(env, &settings, &dsn);
        assert!(ok, "{out}");
        assert_eq!(status_of(env, "reader1@example.com"), "active", "{out}");

        let message_id = header(m, "Message-ID");
        let dsn = postfix_dsn(&m.mail_from, "reader1@example.com", "5.1.1", "550 5.1.1 <reader1@example.com>: Recipient address rejected: User unknown", &message_id);
        let (ok, out) = ingest(env, &settings, &dsn);
        assert!(ok, "{out}");
        assert!(out.contains("1 bounced"), "{out}");
        assert_eq!(status_of(env, "reader1@example.com"), "bounced");
        assert_eq!(status_of(env, "reader0@example.com"), "active");
        assert_eq!(status_of(env, "reader2@example.com"), "active");

        // The same DSN again (a pipe transport retried): recorded once.
        let (ok, out) = ingest(env, &settings, &dsn);
        assert!(ok && out.contains("1 already seen"), "{out}");
        let events: Vec<serde_json::Value> = env.json(&["bounces", "list", "--format", "json", "--category", "hard"]);
        let hard: Vec<_> = events.iter().filter(|e| e["source"] == "mail" && e["action"] == "bounced").collect();
        assert_eq!(hard.len(), 1, "{events:?}");
        // The forged one is kept for the operator, acted on by no one and
        // counted in no edition.
        let forged: Vec<_> = events.iter().filter(|e| e["action"] == "").collect();
        assert_eq!(forged.len(), 1, "{events:?}");
        assert_eq!(forged[0]["edition"], serde_json::Value::Null);
        assert_eq!(forged[0]["email"], serde_json::Value::Null);
        assert_eq!(hard[0]["email"], "reader1@example.com");
        assert_eq!(hard[0]["edition"], EDITION);
        assert_eq!(hard[0]["status"], "5.1.1");
        assert_eq!(hard[0]["action"], "bounced");
        let shown = env.show("reader1@example.com");
        assert_eq!(shown["bounces"].as_array().unwrap().len(), 1, "the forged one is tied to no one: {shown}");
        assert_eq!(shown["suppressed"], "hard");

        // A bounced address is not mailed again, and an import does not
        // bring it back once it is erased.
        env.herald(&["subscribers", "remove", "reader1@example.com"]).assert().success();
        let events: Vec<serde_json::Value> = env.json(&["bounces", "list", "--format", "json"]);
        assert_eq!(events.len(), 2, "the events stay for the rates: {events:?}");
        assert!(
            events.iter().all(|e| e["email"].is_null() && !e["diagnostic"].as_str().unwrap().contains("reader1")),
            "erasure leaves no trace of the address: {events:?}"
        );
        let file = env.write("again.csv", "email\nreader1@example.com\nreader9@example.com\n");
        let out = env.herald(&["subscribers", "import", file.to_str().unwrap()]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "a rejected row fails the import");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("reader1@example.com") && err.contains("suppressed"), "{err}");
        assert!(stdout_of(&out).contains("imported 1, updated 0, rejected 1"), "{}", stdout_of(&out));
        env.herald(&["subscribers", "import", "--allow-suppressed", file.to_str().unwrap()]).assert().success();
        assert_eq!(status_of(env, "reader1@example.com"), "active");
    }

    async fn a_complaint_quoting_the_message_id_unsubscribes_at_once(env: &TestEnv) {
        env.seed_readers(2);
        let sink = SmtpSink::start();
        let settings = settings(&sink);
        run_edition(env, &settings).await;
        let messages = sink.wait_for(2, std::time::Duration::from_secs(5));
        let m = messages.iter().find(|m| to(m) == "reader0@example.com").unwrap();
        let message_id = header(m, "Message-ID");
        let (ok, out) = ingest(env, &settings, &arf_complaint("reader0@example.com", &message_id, "r1"));
        assert!(ok && out.contains("1 unsubscribed"), "{out}");
        assert_eq!(status_of(env, "reader0@example.com"), "unsubscribed");
        assert_eq!(status_of(env, "reader1@example.com"), "active");
        assert_eq!(env.show("reader0@example.com")["suppressed"], "complaint");

        // A report naming an address only, by mail while VERP is on, is
        // recorded but changes no one (anyone can mail one).
        let (ok, out) = ingest(env, &settings, &arf_complaint("reader1@example.com", "<unknown@example.com>", "r2"));
        assert!(ok && out.contains("1 unmatched"), "{out}");
        assert_eq!(status_of(env, "reader1@example.com"), "active");

        let out = env.herald(&["subscribers", "add", "reader0@example.com"]).output().unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("complained"), "{}", String::from_utf8_lossy(&out.stderr));
    }

    async fn the_relays_refusals_are_judged_by_category(env: &TestEnv) {
        env.seed_readers(4);
        let sink = SmtpSink::start_with(
            Policy::new()
                .on_rcpt("reader0@example.com", Reply::Text(550, "5.1.1 <reader0@example.com>: Recipient address rejected: User unknown"))
                .on_rcpt("reader1@example.com", Reply::Text(552, "5.2.2 <reader1@example.com>: mailbox full"))
                .on_rcpt("reader2@example.com", Reply::Text(550, "5.7.1 Message rejected as spam by content filter")),
        );
        let summary = run_edition(env, &settings(&sink)).await;
        assert_eq!((summary.sent, summary.failed), (1, 3), "{summary:?}");
        assert_eq!(status_of(env, "reader0@example.com"), "bounced", "a 5.1.1 is firm: hard_threshold 1");
        assert_eq!(status_of(env, "reader1@example.com"), "active", "a full mailbox is soft");
        assert_eq!(status_of(env, "reader2@example.com"), "active", "a policy block is the sender's problem");
        let events: Vec<serde_json::Value> = env.json(&["bounces", "list", "--format", "json"]);
        let cat = |email: &str| {
            events.iter().find(|e| e["email"] == email).map(|e| e["category"].as_str().unwrap().to_owned())
        };
        assert_eq!(cat("reader0@example.com").as_deref(), Some("hard"));
        assert_eq!(cat("reader1@example.com").as_deref(), Some("soft"));
        assert_eq!(cat("reader2@example.com").as_deref(), Some("policy"));
        let show = env.herald(&["editions", "show", EDITION]).output().unwrap();
        let text = stdout_of(&show);
        assert!(text.contains("hard 1") && text.contains("soft 1") && text.contains("policy 1"), "{text}");
        assert!(text.contains("example.com"), "{text}");
        let v: serde_json::Value = env.json(&["editions", "show", EDITION, "--format", "json"]);
        assert_eq!((v["bounces"]["sent"].as_u64(), v["bounces"]["hard"].as_u64()), (Some(4), Some(1)), "{v}");
        assert_eq!(v["bounces"]["hard_rate"].as_f64(), Some(0.25), "{v}");
        assert_eq!(v["deliveries"]["failed"].as_u64(), Some(3), "{v}");
        assert_eq!(v["domains"][0]["domain"], "example.com", "{v}");
    }

    async fn complaints_over_the_rate_pause_the_edition_until_resumed(env: &TestEnv) {
        env.seed_readers(30);
        let sink = SmtpSink::start();
        let settings = settings(&sink)
            .set("HERALD_GUARD__MIN_SAMPLE", "5")
            .set("HERALD_DELIVERY__CONCURRENCY", "1");
        // The first part of the edition goes out.
        let only: Vec<i64> = (1..=10).collect();
        let engine = env.engine(&settings).await;
        let first = engine
            .run_edition(daily(DATE), at(NOW), Some(&only), &CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(first.sent, 10, "{first:?}");
        let messages = sink.wait_for(10, std::time::Duration::from_secs(5));
        // One complaint in ten messages is far over 0.3%: the guard pauses.
        let m = &messages[0];
        let (ok, out) = ingest(env, &settings, &arf_complaint(to(m), &header(m, "Message-ID"), "g1"));
        assert!(ok, "{out}");
        let show = stdout_of(&env.herald(&["editions", "show", EDITION]).output().unwrap());
        assert!(show.contains("PAUSED the edition") && show.contains("complaint rate"), "{show}");

        // The rest of the edition is held: nothing is sent.
        let mut send = env.herald_std(&["send", "--date", DATE, "--now", NOW]);
        send.envs(settings.vars());
        let out = send.output().unwrap();
        let text = stdout_of(&out);
        assert_eq!(out.status.code(), Some(4), "finished, rows remain: {text}");
        assert!(text.contains("PAUSED by the guard") && text.contains("20 message(s) held"), "{text}");
        assert!(text.contains("queued 20 (20 paused by the guard)"), "{text}");
        assert_eq!(sink.messages().len(), 10);

        // Resumed: the rest goes out, and nobody gets a second copy.
        env.herald(&["editions", "resume", EDITION]).assert().success();
        let mut send = env.herald_std(&["send", "--date", DATE, "--now", NOW]);
        send.envs(settings.vars());
        let out = send.output().unwrap();
        assert!(out.status.success(), "{}", stdout_of(&out));
        let all = sink.wait_for(30, std::time::Duration::from_secs(10));
        let mut rcpts: Vec<&str> = all.iter().map(to).collect();
        rcpts.sort_unstable();
        let before = rcpts.len();
        rcpts.dedup();
        assert_eq!(before, rcpts.len(), "a duplicate was sent");
        assert_eq!(rcpts.len(), 30, "everyone once: {rcpts:?}");
    }
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bounces")
        .join(name)
}

#[test]
fn inspect_prints_one_json_line_per_report_and_recipient() {
    let env = TestEnv::sqlite_without_store();
    let multi = fixture("rfc3464/multi-recipient.eml");
    let normal = fixture("none/reader-reply.eml");
    let missing = env.path("missing.eml");
    let out = env
        .herald_std(&[
            "bounces",
            "inspect",
            "--format",
            "json",
            multi.to_str().unwrap(),
            normal.to_str().unwrap(),
            missing.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "an unreadable file fails the run");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("missing.eml"),
        "the file is named"
    );
    let lines: Vec<serde_json::Value> = stdout_of(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "three recipients, then the non-report: {lines:?}");
    assert_eq!(lines[0]["file"], multi.to_str().unwrap());
    assert_eq!(lines[0]["type"], "bounce");
    assert_eq!(lines[0]["recipient"], "arathib@vnet.example.com");
    assert_eq!(lines[0]["category"], "hard");
    assert_eq!(lines[0]["status"], "5.1.1");
    assert_eq!(lines[1]["category"], "soft");
    assert_eq!(lines[3]["type"], "none");
    assert_eq!(lines[3]["category"], "none");
    assert_eq!(lines[3]["recipient"], serde_json::Value::Null);
    for l in &lines {
        let keys: Vec<&String> = l.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 6, "{l}");
    }
    // No store was created: inspect changes nothing.
    assert!(!env.path("herald.db").exists());
}

both_backends! {
    async fn a_maildir_is_ingested_once_and_its_messages_moved_to_cur(env: &TestEnv) {
        env.seed_readers(2);
        let sink = SmtpSink::start();
        let settings = settings(&sink);
        run_edition(env, &settings).await;
        let messages = sink.wait_for(2, std::time::Duration::from_secs(5));
        let m = messages.iter().find(|m| to(m) == "reader0@example.com").unwrap();
        let maildir = env.path("Maildir");
        for sub in ["new", "cur", "tmp"] {
            std::fs::create_dir_all(maildir.join(sub)).unwrap();
        }
        let dsn = postfix_dsn(&m.mail_from, "reader0@example.com", "5.1.1", "550 5.1.1 user unknown", &header(m, "Message-ID"));
        std::fs::write(maildir.join("new/1700000000.1.host"), dsn).unwrap();
        std::fs::copy(fixture("autoreply/rfc3834-vacation.eml"), maildir.join("new/1700000001.2.host")).unwrap();
        // Read by a person already: flagged seen, left alone.
        std::fs::write(maildir.join("cur/1699999999.0.host:2,S"), "Subject: old\r\n\r\nseen\r\n").unwrap();
        let mut cmd = env.herald_std(&["bounces", "ingest", "--format", "json", maildir.to_str().unwrap()]);
        cmd.envs(settings.vars());
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let summary: serde_json::Value = serde_json::from_str(stdout_of(&out).trim()).unwrap();
        assert_eq!((summary["messages"].as_u64(), summary["bounced"].as_u64(), summary["ignored"].as_u64()), (Some(2), Some(1), Some(1)), "{summary}");
        assert_eq!(status_of(env, "reader0@example.com"), "bounced");
        assert_eq!(status_of(env, "reader1@example.com"), "active");
        let new: Vec<_> = std::fs::read_dir(maildir.join("new")).unwrap().collect();
        assert!(new.is_empty(), "processed messages leave new/");
        let mut cur: Vec<String> = std::fs::read_dir(maildir.join("cur")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        cur.sort();
        assert_eq!(cur, ["1699999999.0.host:2,S", "1700000000.1.host:2,S", "1700000001.2.host:2,S"]);
        // A second run finds nothing to do.
        let mut cmd = env.herald_std(&["bounces", "ingest", "--format", "json", maildir.to_str().unwrap()]);
        cmd.envs(settings.vars());
        let summary: serde_json::Value = serde_json::from_str(stdout_of(&cmd.output().unwrap()).trim()).unwrap();
        assert_eq!(summary["messages"].as_u64(), Some(0), "{summary}");
    }

    async fn a_long_run_of_soft_bounces_bounces_the_address(env: &TestEnv) {
        env.seed_readers(1);
        let sink = SmtpSink::start();
        let settings = settings(&sink).set("HERALD_BOUNCES__SOFT_LIMIT", "3");
        run_edition(env, &settings).await;
        let m = sink.wait_for(1, std::time::Duration::from_secs(5)).remove(0);
        for i in 0..3 {
            // Three distinct reports (each DSN its own id) of a full mailbox.
            let dsn = postfix_dsn(&m.mail_from, "reader0@example.com", "5.2.2", &format!("552 5.2.2 mailbox full ({i})"), &header(&m, "Message-ID"))
                .replace("Message-Id: <20260310070102.", &format!("Message-Id: <{i}.20260310070102."));
            let (ok, out) = ingest(env, &settings, &dsn);
            assert!(ok, "{out}");
            let expected = if i < 2 { "active" } else { "bounced" };
            assert_eq!(status_of(env, "reader0@example.com"), expected, "after {} soft bounce(s): {out}", i + 1);
        }
        assert_eq!(env.show("reader0@example.com")["suppressed"], serde_json::Value::Null, "a soft run does not suppress");
    }
}

both_backends! {
    async fn a_run_of_policy_blocks_pauses_that_domain(env: &TestEnv) {
        env.seed_readers(8);
        // During the send: the relay's own 5.7.1 answers, one after another.
        let sink = SmtpSink::start_with(
            Policy::new().on_rcpt("*", Reply::Text(550, "5.7.1 Service unavailable; client host blocked using zen.spamhaus.org")),
        );
        let settings = settings(&sink)
            .set("HERALD_GUARD__DOMAIN_POLICY_BLOCKS", "3")
            .set("HERALD_DELIVERY__CONCURRENCY", "1");
        let summary = run_edition(env, &settings).await;
        assert_eq!(summary.failed, 3, "three blocks, then the domain is held: {summary:?}");
        assert_eq!(summary.paused_domains, 1, "{summary:?}");
        assert_eq!(summary.held, 5, "{summary:?}");
        let show = stdout_of(&env.herald(&["editions", "show", EDITION]).output().unwrap());
        assert!(show.contains("PAUSED domain example.com") && show.contains("policy 3"), "{show}");
        for i in 0..8 {
            assert_eq!(status_of(env, &format!("reader{i}@example.com")), "active", "policy blocks charge no one");
        }
        env.herald(&["editions", "resume", EDITION, "--domain", "example.com"]).assert().success();
        assert!(stdout_of(&env.herald(&["editions", "show", EDITION]).output().unwrap()).contains("paused: no"));
    }

    async fn policy_bounces_reported_later_pause_that_domain(env: &TestEnv) {
        env.seed_readers(4);
        let sink = SmtpSink::start();
        let settings = settings(&sink).set("HERALD_GUARD__DOMAIN_POLICY_BLOCKS", "3");
        run_edition(env, &settings).await;
        let messages = sink.wait_for(4, std::time::Duration::from_secs(5));
        for m in &messages[..3] {
            let dsn = postfix_dsn(&m.mail_from, to(m), "5.7.1", "554 5.7.1 Message rejected as spam by content filter", &header(m, "Message-ID"));
            let (ok, out) = ingest(env, &settings, &dsn);
            assert!(ok, "{out}");
        }
        let show = stdout_of(&env.herald(&["editions", "show", EDITION]).output().unwrap());
        assert!(show.contains("PAUSED domain example.com") && show.contains("latest 3 reports"), "{show}");
    }
}
