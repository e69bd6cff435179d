//! Unit tests of the parser: what a report carries besides its findings
//! (id, return paths, Message-IDs), the decisions between kinds, and
//! hostile input. The corpus of real shapes is tests/fixtures/bounces, read
//! by tests/it/bounce_corpus.rs. These call `read` rather than `parse`, so a
//! panic fails the test instead of being caught.

use super::*;

fn corpus() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bounces")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(corpus().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn all_fixtures() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for dir in std::fs::read_dir(corpus()).unwrap() {
        let dir = dir.unwrap().path();
        if dir.is_dir() {
            for f in std::fs::read_dir(&dir).unwrap() {
                let f = f.unwrap().path();
                out.push((f.display().to_string(), std::fs::read(&f).unwrap()));
            }
        }
    }
    out.sort();
    out
}

const DSN: &str = "From: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r
To: bounces+7-abc@bounces.example.com\r
Delivered-To: Bounces+7-ABC@bounces.example.com\r
X-Original-To: bounces+7-abc@bounces.example.com\r
Message-ID: <report-1@mx.example.net>\r
Subject: Undelivered Mail Returned to Sender\r
MIME-Version: 1.0\r
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r
\r
--b\r
Content-Type: text/plain\r
\r
<a@x.example>: host mx.x.example said: 550 5.1.1 no such user\r
\r
--b\r
Content-Type: message/delivery-status\r
\r
Reporting-MTA: dns; mx.example.net\r
X-Postfix-Sender: rfc822; bounces+7-abc@bounces.example.com\r
\r
Final-Recipient: rfc822; A@X.example\r
Action: failed\r
Status: 5.0.0\r
\r
--b\r
Content-Type: message/rfc822\r
\r
Return-Path: <bounces+7-abc@bounces.example.com>\r
Message-ID: <orig-1@news.example.com>\r
To: a@x.example\r
Subject: hello\r
\r
body\r
--b--\r
";

#[test]
fn a_dsn_carries_its_id_return_paths_and_the_original_message_id() {
    let r = read(DSN.as_bytes());
    assert_eq!(r.kind, ReportType::Bounce);
    assert_eq!(r.id.as_deref(), Some("report-1@mx.example.net"));
    assert_eq!(r.return_paths, ["bounces+7-abc@bounces.example.com"]);
    assert_eq!(r.message_ids, ["orig-1@news.example.com"]);
    let f = &r.findings[0];
    assert_eq!(f.recipient.as_deref(), Some("a@x.example"));
    // No Diagnostic-Code: the human part's words for the recipient decide
    // the vague status.
    assert_eq!((f.category, f.status.as_deref()), (Category::Hard, Some("5.1.1")));
    assert_eq!(
        f.diagnostic.as_deref(),
        Some("host mx.x.example said: 550 5.1.1 no such user")
    );
}

#[test]
fn without_a_quoted_original_the_report_s_references_name_it() {
    let raw = "From: Someone <someone@example.org>\nTo: bounces+1-x@b.example\nSubject: Auto: hi\nAuto-Submitted: auto-replied\nIn-Reply-To: <orig-2@news.example.com>\nReferences: <a@b.example> <orig-2@news.example.com>\n\nAway.\n";
    let r = read(raw.as_bytes());
    assert_eq!(r.kind, ReportType::AutoReply);
    assert_eq!(r.message_ids, ["orig-2@news.example.com", "a@b.example"]);
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].recipient, None);
}

#[test]
fn kinds() {
    let kind = |raw: &str| read(raw.as_bytes()).kind;
    // A bounce's subject from an ordinary sender, naming nothing: not a bounce.
    assert_eq!(
        kind("From: shop@shop.example\nSubject: Delivery failed for your order\n\nSorry.\n"),
        ReportType::None
    );
    // The same subject naming a failed recipient and a reply: a bounce.
    assert_eq!(
        kind("From: gw@relay.example\nSubject: Undeliverable: hi\n\n<a@x.example>: 550 5.1.1 user unknown\n"),
        ReportType::Bounce
    );
    // A mail system's automatic reply that reports no failure.
    assert_eq!(
        kind(
            "From: postmaster@example.org\nAuto-Submitted: auto-replied\nSubject: Re: your note\n\nThanks, we read every message.\n"
        ),
        ReportType::AutoReply
    );
    // Exim's X-Failed-Recipients alone is enough.
    let r = read(
        b"From: robot@relay.example\nX-Failed-Recipients: Gone@X.example\nSubject: problem\n\nno details\n",
    );
    assert_eq!(r.kind, ReportType::Bounce);
    assert_eq!(r.findings[0].recipient.as_deref(), Some("gone@x.example"));
    // A person forwarding a bounce is not a bounce.
    assert_eq!(
        kind("From: boss@example.org\nSubject: Fwd: Undelivered Mail Returned to Sender\n\nsee below\n"),
        ReportType::None
    );
    assert_eq!(kind(""), ReportType::None);
}

#[test]
fn every_fixture_survives_truncation_and_corruption() {
    // A deterministic generator, so a failure can be reproduced.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for (name, raw) in all_fixtures() {
        let step = (raw.len() / 40).max(1);
        for end in (0..raw.len()).step_by(step) {
            let _ = read(&raw[..end]);
        }
        for _ in 0..40 {
            let mut bytes = raw.clone();
            for _ in 0..8 {
                let i = (next() as usize) % bytes.len();
                bytes[i] = match next() % 4 {
                    0 => b'\n',
                    1 => b'-',
                    2 => 0xff,
                    _ => next() as u8,
                };
            }
            let r = read(&bytes);
            assert!(!r.findings.is_empty(), "{name}: a report without findings");
        }
    }
}

#[test]
fn hostile_input() {
    let huge_line = format!(
        "From: MAILER-DAEMON@x.example\nSubject: failure notice\n\n<a@x.example>:\n{}\n",
        "x".repeat(2_000_000)
    );
    let r = read(huge_line.as_bytes());
    assert!(
        r.findings[0]
            .diagnostic
            .as_ref()
            .is_none_or(|d| d.chars().count() <= MAX_DIAGNOSTIC)
    );

    let mut nested = String::new();
    for i in 0..500 {
        nested.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\n\n--b{i}\n"
        ));
    }
    let _ = read(nested.as_bytes());

    let mut rfc822 = String::from(
        "From: MAILER-DAEMON@x.example\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"o\"\n\n--o\n",
    );
    for _ in 0..200 {
        rfc822.push_str("Content-Type: message/rfc822\n\n");
    }
    let _ = read(rfc822.as_bytes());

    let many = format!(
        "From: MAILER-DAEMON@x.example\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n--b\nContent-Type: message/delivery-status\n\n{}--b--\n",
        "Final-Recipient: rfc822; a@x.example\nAction: failed\n\n".repeat(5000)
    );
    let r = read(many.as_bytes());
    assert_eq!(r.findings.len(), 5000);

    for raw in [
        &b"\xff\xfe\x00\x00"[..],
        b"\r\n\r\n\r\n",
        b"From:\n\n",
        b"Content-Type: multipart/report; boundary=\"\"\n\n--\n--\n",
        b"Content-Type: message/delivery-status\n\nFinal-Recipient: ;\nAction:\nStatus: 5.\n",
        b"Content-Type: message/feedback-report\n\nFeedback-Type:\n",
        b"From: MAILER-DAEMON@x\nSubject: Undeliverable\n\n<@>:\n<a@b.c>\n(reason:\n----- The following addresses had permanent fatal errors -----\n",
        b"From: MAILER-DAEMON@x\n\nDiagnostic information for administrators:\n\na@b.example\n",
        "Subject: =?utf-8?q?=C3?=\nFrom: \u{202e}mailer-daemon@x.example\n\n\u{0}\u{fffd}é<é@é.é>:\u{0}".as_bytes(),
    ] {
        let r = read(raw);
        assert!(!r.findings.is_empty());
    }
}

#[test]
fn a_complaint_names_the_complainant_and_the_original_sender() {
    let r = read(&fixture("arf/yahoo-abuse.eml"));
    assert_eq!(r.kind, ReportType::Complaint);
    assert!(
        r.return_paths.iter().any(|p| p.starts_with("bounces+1001-")),
        "{:?}",
        r.return_paths
    );
    assert_eq!(r.findings[0].recipient.as_deref(), Some("complainer@yahoo.com"));
    assert_eq!(r.findings[0].category, Category::Complaint);
}

#[test]
fn diagnostics_are_one_line() {
    for (name, raw) in all_fixtures() {
        for f in read(&raw).findings {
            if let Some(d) = f.diagnostic {
                assert!(
                    !d.contains(['\n', '\r', '\t']) && d.chars().count() <= MAX_DIAGNOSTIC,
                    "{name}: {d:?}"
                );
            }
            assert!(
                !f.reason.is_empty() && f.reason.len() <= 80,
                "{name}: {:?}",
                f.reason
            );
            if let Some(r) = f.recipient {
                assert_eq!(r, r.to_lowercase(), "{name}");
                assert!(!r.contains(['<', '>', ';']), "{name}: {r}");
            }
        }
    }
}
