//! One edition end to end: the real binary sends the bundled samples through
//! a real SMTP server started in the test; every received message is parsed
//! with a MIME parser (mail-parser) and checked: headers, both parts, links,
//! escaping, non-ASCII, line lengths, the deterministic Message-ID; then a
//! second `herald send` sends nothing. Also `preview` (--explain, eml, html),
//! `send --dry-run` and `send --test-to`. On SQLite and PostgreSQL.

mod helpers;

use std::time::Duration;

use helpers::smtp::{Received, SmtpSink};
use helpers::{TestEnv, stdout_of};
use mail_parser::{MessageParser, MimeHeaders};
use predicates::prelude::*;

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

/// The env with samples imported and the mail settings pointing at `sink`.
fn setup(env: &TestEnv) -> SmtpSink {
    env.herald(&[
        "stories",
        "import",
        examples().join("stories.json").to_str().unwrap(),
    ])
    .assert()
    .success();
    let hostile = env.write("hostile.json", HOSTILE);
    env.herald(&["stories", "import", hostile.to_str().unwrap()])
        .assert()
        .success();
    env.herald(&[
        "subscribers",
        "import",
        examples().join("subscribers.csv").to_str().unwrap(),
    ])
    .assert()
    .success();
    SmtpSink::start()
}

fn with_mail(env: &TestEnv, sink: &SmtpSink, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = env.herald(args);
    cmd.env("HERALD_MAIL__TRANSPORT", "smtp")
        .env("HERALD_MAIL__SMTP_URL", format!("smtp://127.0.0.1:{}", sink.port))
        .env("HERALD_SITE__PUBLIC_URL", "https://news.example.com")
        .env("HERALD_SITE__NAME", "Example News")
        .env("HERALD_MAIL__FEEDBACK_ID", "daily:digest:example-news")
        .env("HERALD_DELIVERY__LINGER", "0");
    cmd
}

fn by_recipient<'a>(messages: &'a [Received], rcpt: &str) -> &'a Received {
    messages
        .iter()
        .find(|m| m.rcpt_to == [rcpt])
        .unwrap_or_else(|| panic!("no message for {rcpt}"))
}

both_backends! {
    fn an_edition_over_real_smtp(env: &TestEnv) {
        let sink = setup(env);
        // Preview (before the send) shows the Message-ID the send will use.
        let out = with_mail(env, &sink, &["preview", "maya@example.com", "--date", DATE, "--now", NOW, "--format", "eml"])
            .output()
            .unwrap();
        let eml = stdout_of(&out);
        let out = with_mail(env, &sink, &["send", "--date", DATE, "--now", NOW]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout_of(&out).contains("daily-2026-03-10: sent 7, skipped 0"), "{}", stdout_of(&out));
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
            assert!(parsed.subject().unwrap().starts_with("Your daily digest, 10 March 2026: "));
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
        assert!(parsed.subject().unwrap().ends_with("<script>alert(1)</script>"));
        assert_eq!(parsed.to().unwrap().first().unwrap().name(), Some("Maya Patel"));

        // Non-ASCII survives into the To name, subject and both parts.
        let leila = by_recipient(&messages, "leila@example.org");
        let parsed = MessageParser::default().parse(&leila.data).unwrap();
        assert_eq!(parsed.to().unwrap().first().unwrap().name(), Some("ليلى حداد"));
        let text = parsed.body_text(0).unwrap();
        assert!(text.contains("Hello ليلى حداد"));
        assert!(parsed.body_html(0).unwrap().contains("ليلى حداد"));
        // Leila follows world and culture only.
        assert!(text.contains("Museum returns looted bronzes"));
        assert!(!text.contains("Football: United"));
        let kenji = by_recipient(&messages, "kenji@example.jp");
        let parsed = MessageParser::default().parse(&kenji.data).unwrap();
        assert_eq!(parsed.to().unwrap().first().unwrap().name(), Some("佐藤 健二"));
        assert!(parsed.subject().unwrap().contains("Researchers map the oldest trees") || parsed.subject().unwrap().contains("comet"));

        let maya_id = MessageParser::default().parse(&maya.data).unwrap().message_id().unwrap().to_owned();
        assert!(eml.contains(&format!("Message-ID: <{maya_id}>")), "preview and send agree on the Message-ID:\n{eml}");

        // The mailto: half of List-Unsubscribe, as a mail server would pipe it.
        let unsub = MessageParser::default().parse(&maya.data).unwrap().header_raw("List-Unsubscribe").unwrap().replace(['\r', '\n'], "");
        let token = unsub.split("unsubscribe%20").nth(1).unwrap().split('>').next().unwrap().to_owned();
        let request = format!("From: Maya <maya@example.com>\r\nTo: unsubscribe@example.com\r\nSubject: unsubscribe {token}\r\n\r\n\r\n");
        env.herald(&["unsubscribe-mail", "-"])
            .write_stdin(request)
            .assert()
            .success()
            .stdout(predicate::str::contains("unsubscribed maya@example.com"));
        env.herald(&["subscribers", "show", "maya@example.com"])
            .assert()
            .stdout(predicate::str::contains("unsubscribed"));
        env.herald(&["unsubscribe-mail", "-"])
            .write_stdin("Subject: please stop\r\n\r\nthanks\r\n")
            .assert()
            .code(1)
            .stderr(predicate::str::contains("no unsubscribe token"));

        // Again: nothing new is sent, nothing is received.
        with_mail(env, &sink, &["send", "--date", DATE, "--now", NOW])
            .assert()
            .success()
            .stdout(predicate::str::contains("sent 0, skipped 0"));
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(sink.messages().len(), 7);

        // The next day, with no new stories, everyone still subscribed is skipped.
        with_mail(env, &sink, &["send", "--date", "2026-03-11", "--now", "2026-03-11T07:00:00Z"])
            .assert()
            .success()
            .stdout(predicate::str::contains("sent 0, skipped 6 (nothing new)"));
    }

    fn preview_dry_run_and_test_send(env: &TestEnv) {
        let sink = setup(env);
        // --explain lists every candidate with its score and verdict.
        let out = with_mail(env, &sink, &["preview", "leila@example.org", "--date", DATE, "--now", NOW, "--explain"])
            .output()
            .unwrap();
        let text = stdout_of(&out);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("SCORE") && text.contains("VERDICT"));
        assert!(text.contains("picked"));
        assert!(text.contains("left out: section not among the subscriber's topics"));
        assert!(text.contains("Subject: Your daily digest, 10 March 2026"));
        let html_file = env.path("leila.html");
        with_mail(env, &sink, &["preview", "leila@example.org", "--date", DATE, "--now", NOW, "--format", "html", "--out", html_file.to_str().unwrap()])
            .assert()
            .success();
        assert!(std::fs::read_to_string(&html_file).unwrap().contains("<!DOCTYPE html>"));

        with_mail(env, &sink, &["send", "--date", DATE, "--now", NOW, "--dry-run"])
            .assert()
            .success()
            .stdout(predicate::str::contains("would send 7, skipped 0"));
        with_mail(env, &sink, &["send", "--date", DATE, "--now", NOW, "--test-to", "editor@example.com", "--as", "maya@example.com"])
            .assert()
            .success()
            .stdout(predicate::str::contains("as a test"));
        let got = sink.wait_for(1, Duration::from_secs(5));
        assert_eq!(got.len(), 1, "dry run sent nothing, the test send one message");
        assert_eq!(got[0].rcpt_to, ["editor@example.com"]);
        let parsed = MessageParser::default().parse(&got[0].data).unwrap();
        assert!(parsed.subject().unwrap().starts_with("[TEST] Your daily digest"));
        // Neither recorded anything: the real send still goes to all seven.
        with_mail(env, &sink, &["send", "--date", DATE, "--now", NOW])
            .assert()
            .success()
            .stdout(predicate::str::contains("sent 7, skipped 0"));
        assert_eq!(sink.wait_for(8, Duration::from_secs(10)).len(), 8);
    }

    fn a_permanent_rejection_fails_and_a_transient_one_defers(env: &TestEnv) {
        let sink = setup(env);
        sink.set_policy(
            helpers::smtp::Policy::new()
                .on_rcpt("maya@example.com", helpers::smtp::Reply::Code(550))
                .on_rcpt("kenji@example.jp", helpers::smtp::Reply::Code(450)),
        );
        let out = with_mail(env, &sink, &["send", "--date", DATE, "--now", NOW]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "a failed delivery makes the exit status 1");
        assert!(stdout_of(&out).contains("sent 5, skipped 0 (nothing new), deferred 1, failed 1"), "{}", stdout_of(&out));
        assert_eq!(sink.wait_for(5, Duration::from_secs(10)).len(), 5);
    }
}
