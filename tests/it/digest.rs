//! One edition end to end: the real binary sends the bundled samples through
//! a real SMTP server started in the test; every received message is parsed
//! with a MIME parser (mail-parser) and checked: headers, both parts, links,
//! escaping, non-ASCII, line lengths, the deterministic Message-ID; then a
//! second `herald send` sends nothing. Also `preview` (--explain, eml, html),
//! `send --dry-run` and `send --test-to`. On SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::time::Duration;

use herald::testing::{at, daily};
use mail_parser::{MessageParser, MimeHeaders};
use predicates::prelude::*;

use crate::support::smtp::{Policy, Received, Reply, SmtpSink};
use crate::support::{Settings, TestEnv, stdout_of};

const NOW: &str = "2026-03-10T07:00:00Z";
const DATE: &str = "2026-03-10";

const HOSTILE: &str = r#"[
  {"title": "<script>alert(1)</script>", "url": "https://news.example.com/world/hostile-1", "section": "world",
   "summary": "Summary with <b>markup</b> & more", "author": "Mallory", "published_at": "2026-03-10T06:30:00Z", "votes": 5000},
  {"title": "\"><img src=x onerror=alert(1)>", "url": "https://news.example.com/world/hostile-2", "section": "world",
   "author": "Mallory", "published_at": "2026-03-10T06:20:00Z", "votes": 4000}
]"#;

fn examples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

/// The env with the bundled samples and two hostile stories imported, and
/// a fresh SMTP server to send to.
fn setup(env: &TestEnv) -> SmtpSink {
    let hostile = env.write("hostile.json", HOSTILE);
    for (what, file) in [
        ("stories", examples().join("stories.json")),
        ("stories", hostile),
        ("subscribers", examples().join("subscribers.csv")),
    ] {
        env.herald(&[what, "import", file.to_str().unwrap()])
            .assert()
            .success();
    }
    SmtpSink::start()
}

/// Mail to `sink`, from a site whose name, URL and feedback id the
/// headers are checked against.
fn settings(sink: &SmtpSink) -> Settings {
    Settings::smtp(sink)
        .set("HERALD_SITE__PUBLIC_URL", "https://news.example.com")
        .set("HERALD_SITE__NAME", "Example News")
        .set("HERALD_MAIL__FEEDBACK_ID", "daily:digest:example-news")
}

/// How many ledger rows of the edition `key` are in each status.
async fn statuses(env: &TestEnv, key: &str) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for row in env.ledger(key).await {
        *counts.entry(row.status).or_default() += 1;
    }
    counts
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn by_recipient<'a>(messages: &'a [Received], rcpt: &str) -> &'a Received {
    messages
        .iter()
        .find(|m| m.rcpt_to == [rcpt])
        .unwrap_or_else(|| panic!("no message for {rcpt}"))
}

both_backends! {
    async fn an_edition_over_real_smtp(env: &TestEnv) {
        let sink = setup(env);
        let mail = settings(&sink);
        // Preview (before the send) shows the Message-ID the send will use.
        let out = env.herald(&["preview", "maya@example.com", "--date", DATE, "--now", NOW, "--format", "eml"]).envs(mail.vars())
            .output()
            .unwrap();
        let eml = stdout_of(&out);
        env.herald(&["send", "--date", DATE, "--now", NOW]).envs(mail.vars()).assert().success();
        assert_eq!(statuses(env, "daily-2026-03-10").await, counts(&[("sent", 7)]));
        let messages = sink.wait_for(7, Duration::from_secs(10));
        assert_eq!(messages.len(), 7);

        let mut ids = Vec::new();
        for m in &messages {
            assert_eq!(m.mail_from, "digest@example.com");
            for line in m.data.split(|&b| b == b'\n') {
                assert!(line.len() <= 1000, "a line over 998 octets");
            }
            let parsed = MessageParser::default().parse(&m.data).expect("parses as MIME");
            let from = parsed.from().unwrap().first().unwrap();
            assert_eq!(from.name(), Some("Herald Digest"));
            assert_eq!(from.address(), Some("digest@example.com"));
            assert_eq!(parsed.to().unwrap().first().unwrap().address(), Some(m.rcpt_to[0].as_str()));
            // The catalog isolates the date and the headline (FSI … PDI).
            assert!(parsed.subject().unwrap().replace(['\u{2068}', '\u{2069}'], "").starts_with("Your daily digest, 10 March 2026: "));
            assert!(parsed.date().is_some());
            let id = parsed.message_id().unwrap().to_owned();
            assert!(id.starts_with("daily-2026-03-10.") && id.ends_with("@example.com"), "{id}");
            ids.push(id);
            assert_eq!(parsed.header_raw("Precedence").map(str::trim), Some("bulk"));
            assert_eq!(parsed.header_raw("List-Unsubscribe-Post").map(str::trim), Some("List-Unsubscribe=One-Click"));
            assert_eq!(parsed.header_raw("Feedback-ID").map(str::trim), Some("daily:digest:example-news"));
            let list_id = parsed.header_raw("List-Id").unwrap().trim();
            assert_eq!(list_id, "Example News <digest.news.example.com>");
            let unsub = parsed.header_raw("List-Unsubscribe").unwrap().replace(['\r', '\n'], "");
            let https = unsub.split(['<', '>']).find(|p| p.starts_with("https://")).expect("https link");
            assert!(https.starts_with("https://news.example.com/unsubscribe/"), "{unsub}");
            assert_eq!(https.len(), "https://news.example.com/unsubscribe/".len() + 32);
            assert!(unsub.contains("<mailto:unsubscribe@example.com?subject=unsubscribe%20"), "{unsub}");

            // multipart/alternative: text first, HTML last.
            let ct = parsed.root_part().content_type().unwrap();
            assert_eq!((ct.ctype(), ct.subtype()), ("multipart", Some("alternative")));
            assert_eq!(parsed.parts.len(), 3);
            assert_eq!(parsed.parts[1].content_type().unwrap().subtype(), Some("plain"));
            assert_eq!(parsed.parts[2].content_type().unwrap().subtype(), Some("html"));
            let text = parsed.body_text(0).unwrap();
            let html = parsed.body_html(0).unwrap();
            assert!(html.contains(https), "the HTML footer carries the same unsubscribe link");
            assert!(text.contains(https), "the text footer carries the same unsubscribe link");
            for line in text.lines() {
                assert!(line.chars().count() < 78 || line.starts_with("https://"), "a text line of 78 or more: {line:?}");
            }
            assert!(html.contains(&https.replace("/unsubscribe/", "/preferences/")));
            assert!(html.contains("1 Example Street, Springfield"));
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 7, "Message-IDs are distinct");

        // An all-topics subscriber gets the hostile stories, escaped.
        let maya = by_recipient(&messages, "maya@example.com");
        let parsed = MessageParser::default().parse(&maya.data).unwrap();
        let html = parsed.body_html(0).unwrap();
        let text = parsed.body_text(0).unwrap();
        assert!(!html.contains("<script>") && !html.contains("<img src=x"), "hostile title became markup");
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<b>markup</b>"));
        assert!(text.contains("<script>alert(1)</script>"), "the text part shows the title as written");
        // Nothing in it is right-to-left: the subject has no isolates.
        assert!(parsed.subject().unwrap().ends_with(": <script>alert(1)</script>"));
        assert_eq!(parsed.to().unwrap().first().unwrap().name(), Some("Maya Patel"));

        // Non-ASCII survives into the To name, subject and both parts.
        let leila = by_recipient(&messages, "leila@example.org");
        let parsed = MessageParser::default().parse(&leila.data).unwrap();
        assert_eq!(parsed.to().unwrap().first().unwrap().name(), Some("ليلى حداد"));
        let text = parsed.body_text(0).unwrap();
        assert!(text.contains("Hello \u{2068}ليلى حداد\u{2069},"), "{text}");
        // The HTML part may carry it as character references (7bit).
        let html = parsed.body_html(0).unwrap();
        assert!(html_escape::decode_html_entities(&html).contains("ليلى حداد"), "{html}");
        // Leila follows world and culture only.
        assert!(text.contains("Museum returns looted bronzes"));
        assert!(!text.contains("Football: United"));
        let kenji = by_recipient(&messages, "kenji@example.jp");
        let parsed = MessageParser::default().parse(&kenji.data).unwrap();
        assert_eq!(parsed.to().unwrap().first().unwrap().name(), Some("佐藤 健二"));
        // Kenji follows science and technology: his top story is the
        // breach (455 votes, 189 comments, 19 hours old), not the younger
        // trees story (244 votes, 36 comments, 6 hours old) the old
        // age-decay formula put first; both are in his window.
        assert!(parsed.subject().unwrap().contains("Tech firm admits breach"), "{:?}", parsed.subject());

        let maya_id = MessageParser::default().parse(&maya.data).unwrap().message_id().unwrap().to_owned();
        assert!(eml.contains(&format!("Message-ID: <{maya_id}>")), "preview and send agree on the Message-ID:\n{eml}");

        // The mailto: half of List-Unsubscribe, as a mail server would pipe it.
        let unsub = MessageParser::default().parse(&maya.data).unwrap().header_raw("List-Unsubscribe").unwrap().replace(['\r', '\n'], "");
        let token = unsub.split("unsubscribe%20").nth(1).unwrap().split('>').next().unwrap().to_owned();
        let request = format!("From: Maya <maya@example.com>\r\nTo: unsubscribe@example.com\r\nSubject: unsubscribe {token}\r\n\r\n\r\n");
        env.herald(&["unsubscribe-mail", "-"]).write_stdin(request).assert().success();
        assert_eq!(env.show("maya@example.com")["status"], "unsubscribed");
        env.herald(&["unsubscribe-mail", "-"])
            .write_stdin("Subject: please stop\r\n\r\nthanks\r\n")
            .assert()
            .code(1)
            .stderr(predicate::str::contains("no unsubscribe token"));

        // Again: nothing new is sent, nothing is received.
        env.herald(&["send", "--date", DATE, "--now", NOW]).envs(mail.vars()).assert().success();
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(sink.messages().len(), 7);
        assert_eq!(statuses(env, "daily-2026-03-10").await, counts(&[("sent", 7)]));

        // The next day, with no new stories, everyone still subscribed is skipped.
        env.herald(&["send", "--date", "2026-03-11", "--now", "2026-03-11T07:00:00Z"]).envs(mail.vars())
            .assert()
            .success();
        assert_eq!(statuses(env, "daily-2026-03-11").await, counts(&[("skipped", 6)]));
    }

    async fn preview_dry_run_and_test_send(env: &TestEnv) {
        let sink = setup(env);
        let mail = settings(&sink);
        // --explain lists every candidate with its score and verdict.
        let out = env.herald(&["preview", "leila@example.org", "--date", DATE, "--now", NOW, "--explain"]).envs(mail.vars())
            .output()
            .unwrap();
        let text = stdout_of(&out);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("SCORE") && text.contains("PERIOD") && text.contains("EXPOSURE") && text.contains("VERDICT"));
        assert!(text.contains("score = (E + m·2 h) / (exposure + 2 h) / m, where E = votes + 2·comments"), "{text}");
        assert!(text.contains("period 0: 2026-03-09 07:00 to 2026-03-10 07:00, m = "), "{text}");
        assert!(text.contains("picked"));
        assert!(text.contains("left out: section not among the subscriber's topics"));
        assert!(text.replace(['\u{2068}', '\u{2069}'], "").contains("Subject: Your daily digest, 10 March 2026"));
        let html_file = env.path("leila.html");
        env.herald(&["preview", "leila@example.org", "--date", DATE, "--now", NOW, "--format", "html", "--out", html_file.to_str().unwrap()]).envs(mail.vars())
            .assert()
            .success();
        assert!(std::fs::read_to_string(&html_file).unwrap().contains("<!DOCTYPE html>"));

        let dry = env.engine(&mail).await.dry_run(daily(DATE), at(NOW)).await.unwrap();
        assert_eq!((dry.sent, dry.skipped), (7, 0), "{dry:?}");
        env.herald(&["send", "--date", DATE, "--now", NOW, "--dry-run"]).envs(mail.vars()).assert().success();
        env.herald(&["send", "--date", DATE, "--now", NOW, "--test-to", "editor@example.com", "--as", "maya@example.com"]).envs(mail.vars())
            .assert()
            .success();
        let got = sink.wait_for(1, Duration::from_secs(5));
        assert_eq!(got.len(), 1, "dry run sent nothing, the test send one message");
        assert_eq!(got[0].rcpt_to, ["editor@example.com"]);
        let parsed = MessageParser::default().parse(&got[0].data).unwrap();
        assert!(parsed.subject().unwrap().starts_with("[TEST] Your daily digest"));
        // Neither recorded anything: the real send still goes to all seven.
        assert_eq!(statuses(env, "daily-2026-03-10").await, counts(&[]));
        env.herald(&["send", "--date", DATE, "--now", NOW]).envs(mail.vars()).assert().success();
        assert_eq!(statuses(env, "daily-2026-03-10").await, counts(&[("sent", 7)]));
        assert_eq!(sink.wait_for(8, Duration::from_secs(10)).len(), 8);
    }

    async fn a_permanent_rejection_fails_and_a_transient_one_defers(env: &TestEnv) {
        let sink = setup(env);
        let mail = settings(&sink);
        sink.set_policy(
            Policy::new()
                .on_rcpt("maya@example.com", Reply::Code(550))
                .on_rcpt("kenji@example.jp", Reply::Code(450)),
        );
        env.herald(&["send", "--date", DATE, "--now", NOW])
            .envs(mail.vars())
            .assert()
            .code(4); // A deferred row remains: finished, rows remain (over 3, some failed).
        assert_eq!(
            statuses(env, "daily-2026-03-10").await,
            counts(&[("sent", 5), ("deferred", 1), ("failed", 1)])
        );
        assert_eq!(sink.wait_for(5, Duration::from_secs(10)).len(), 5);
    }
}
