//! A fault of the sender's own setup is nobody's bounce: against a real
//! SMTP server in the test, `tls=required` without STARTTLS, 530
//! (authentication required) at MAIL FROM, 554 "Relay access denied" at
//! every RCPT and 552 "message size exceeds" at the end of every DATA each
//! stop `herald send` at once with an error naming the setting to check,
//! and leave every subscriber active with no bounce counted, edition after
//! edition; a 550 "user unknown" for one recipient still bounces only that
//! recipient. The same for TLS: a relay whose certificate no trust store
//! vouches for stops the run naming `mail.smtp_ca_file`, and is delivered
//! to once that file names its CA (STARTTLS and smtps), or with
//! `tls=opportunistic-unverified`. On SQLite and PostgreSQL.

use std::process::Command;

use crate::support::smtp::{Offer, Policy, Reply, SmtpSink, Stage, TlsMode};
use crate::support::tls::TestCa;
use crate::support::{TestEnv, stdout_of};

const NOW: &str = "2026-03-10T07:00:00Z";
const DATE: &str = "2026-03-10";

/// One story and three daily subscribers reader0@example.com….
fn seed(env: &TestEnv) {
    let story = env.write(
        "story.jsonl",
        "{\"title\": \"Council approves night buses\", \"url\": \"https://news.example.com/a\", \"published_at\": \"2026-03-10T06:00:00Z\", \"votes\": 10}\n",
    );
    env.herald(&["stories", "import", story.to_str().unwrap()])
        .assert()
        .success();
    let csv = "email,name\nreader0@example.com,Reader 0\nreader1@example.com,Reader 1\nreader2@example.com,Reader 2\n";
    let file = env.write("subscribers.csv", csv);
    env.herald(&["subscribers", "import", file.to_str().unwrap()])
        .assert()
        .success();
}

/// `herald send` of the test edition against the sink at `port`, with
/// `tls` as the smtp_url's tls parameter.
fn send(env: &TestEnv, port: u16, tls: &str) -> (Option<i32>, String) {
    send_to(env, &format!("smtp://127.0.0.1:{port}?tls={tls}"), &[])
}

/// `herald send` of the test edition to `url`, with extra variables.
fn send_to(env: &TestEnv, url: &str, vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd: Command = env.herald_std(&["send", "--date", DATE, "--now", NOW]);
    cmd.envs(vars.iter().copied());
    cmd.env("HERALD_MAIL__TRANSPORT", "smtp")
        .env("HERALD_MAIL__SMTP_URL", url)
        .env("HERALD_DELIVERY__CONNECT_TIMEOUT", "2")
        .env("HERALD_DELIVERY__COMMAND_TIMEOUT", "2")
        .env("HERALD_DELIVERY__RETRY_BASE", "0.2")
        .env("HERALD_DELIVERY__LINGER", "5");
    let out = cmd.output().unwrap();
    let text = format!("{}{}", stdout_of(&out), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

/// (email, status, bounce_count) of every subscriber.
fn subscribers(env: &TestEnv) -> Vec<(String, String, u64)> {
    let out = env
        .herald(&["subscribers", "list", "--format", "json"])
        .output()
        .unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    rows.iter()
        .map(|r| {
            (
                r["email"].as_str().unwrap().to_owned(),
                r["status"].as_str().unwrap().to_owned(),
                r["bounce_count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The statuses of the test edition's ledger rows.
fn ledger_statuses(env: &TestEnv) -> Vec<String> {
    let out = env
        .herald(&[
            "deliveries",
            "list",
            "--edition",
            "daily-2026-03-10",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    rows.iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

/// Three editions' worth of attempts against a relay that refuses the
/// setup: each stops with an error naming `setting`, nothing is sent or
/// charged, and every row goes back to the queue.
fn stops_without_charging(env: &TestEnv, sink: &SmtpSink, tls: &str, setting: &str) {
    seed(env);
    for attempt in 1..=3 {
        let (code, out) = send(env, sink.port, tls);
        assert_eq!(code, Some(1), "attempt {attempt}: {out}");
        assert!(
            out.contains(setting),
            "attempt {attempt} names {setting:?}: {out}"
        );
        assert!(out.contains("nothing was charged to any subscriber"), "{out}");
        for (email, status, bounces) in subscribers(env) {
            assert_eq!(
                (status.as_str(), bounces),
                ("active", 0),
                "{email} after attempt {attempt}"
            );
        }
        let statuses = ledger_statuses(env);
        assert_eq!(statuses.len(), 3, "{statuses:?}");
        assert!(
            statuses.iter().all(|s| s == "queued"),
            "rows go back to the queue: {statuses:?}"
        );
    }
    assert!(sink.messages().is_empty(), "nothing was accepted");
}

both_backends! {
    fn tls_required_without_starttls_stops_the_run(env: &TestEnv) {
        let sink = SmtpSink::start();
        stops_without_charging(env, &sink, "required", "tls=required");
    }

    fn authentication_required_stops_the_run(env: &TestEnv) {
        let sink = SmtpSink::start_with(
            Policy::new().rule(Stage::Mail, "*", Reply::Text(530, "5.7.0 Authentication required")),
        );
        stops_without_charging(env, &sink, "none", "mail.smtp_url");
    }

    fn relay_access_denied_stops_the_run(env: &TestEnv) {
        let sink = SmtpSink::start_with(
            Policy::new().on_rcpt("*", Reply::Text(554, "5.7.1 <reader0@example.com>: Relay access denied")),
        );
        stops_without_charging(env, &sink, "none", "does not relay for Herald");
    }

    fn message_too_big_for_the_relay_stops_the_run(env: &TestEnv) {
        let sink = SmtpSink::start_with(
            Policy::new().on_data("*", Reply::Text(552, "5.3.4 Message size exceeds fixed limit")),
        );
        stops_without_charging(env, &sink, "none", "digest.max_html_bytes");
    }

    fn an_unknown_user_bounces_only_that_recipient(env: &TestEnv) {
        seed(env);
        let sink = SmtpSink::start_with(Policy::new().on_rcpt(
            "reader1@example.com",
            Reply::Text(550, "5.1.1 <reader1@example.com>: Recipient address rejected: User unknown in relay recipient table"),
        ));
        let (code, out) = send(env, sink.port, "none");
        assert_eq!(code, Some(3), "a finished run with a recipient failed exits 3, not 1 (a run that failed): {out}");
        assert!(out.contains("sent 2"), "{out}");
        let got = subscribers(env);
        for (email, status, bounces) in got {
            // A 5.1.1 is firm evidence: bounces.hard_threshold (1) applies.
            let expected = if email == "reader1@example.com" { ("bounced", 1) } else { ("active", 0) };
            assert_eq!((status.as_str(), bounces), expected, "{email}");
        }
        assert_eq!(sink.messages().len(), 2);
    }

    fn an_untrusted_certificate_stops_the_run_naming_the_ca_file(env: &TestEnv) {
        let ca = TestCa::new("untrusted");
        let sink = tls_sink(TlsMode::StartTls, &ca);
        stops_without_charging(env, &sink, "opportunistic", "mail.smtp_ca_file");
        let (_, out) = send(env, sink.port, "required");
        assert_eq!(out.matches("stopping the run").count(), 1, "one error, not one per subscriber: {out}");
        assert!(out.contains("certificate is not trusted: UnknownIssuer"), "{out}");
    }

    fn with_its_ca_in_smtp_ca_file_the_relay_gets_every_digest(env: &TestEnv) {
        seed(env);
        let ca = TestCa::new("private");
        let ca_file = env.write("relay-ca.pem", &ca.ca_pem);
        let vars = [("HERALD_MAIL__SMTP_CA_FILE", ca_file.to_str().unwrap())];
        let starttls = tls_sink(TlsMode::StartTls, &ca);
        let (code, out) = send_to(env, &format!("smtp://127.0.0.1:{}?tls=required", starttls.port), &vars);
        assert_eq!(code, Some(0), "{out}");
        assert_eq!(starttls.messages().len(), 3, "{out}");
        // Over smtps, the next edition.
        let implicit = tls_sink(TlsMode::Implicit, &ca);
        let mut cmd = env.herald_std(&["send", "--date", "2026-03-11", "--now", "2026-03-11T07:00:00Z"]);
        cmd.env("HERALD_MAIL__TRANSPORT", "smtp")
            .env("HERALD_MAIL__SMTP_URL", format!("smtps://127.0.0.1:{}", implicit.port))
            .env("HERALD_MAIL__SMTP_CA_FILE", &ca_file)
            .env("HERALD_DELIVERY__CONNECT_TIMEOUT", "2")
            .env("HERALD_DELIVERY__COMMAND_TIMEOUT", "2");
        let story = env.write(
            "story2.jsonl",
            "{\"title\": \"Tram line opens\", \"url\": \"https://news.example.com/b\", \"published_at\": \"2026-03-11T06:00:00Z\", \"votes\": 10}\n",
        );
        env.herald(&["stories", "import", story.to_str().unwrap()]).assert().success();
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}{}", stdout_of(&out), String::from_utf8_lossy(&out.stderr));
        assert_eq!(implicit.messages().len(), 3);
    }

    fn opportunistic_unverified_accepts_the_certificate_the_relay_shows(env: &TestEnv) {
        seed(env);
        let ca = TestCa::new("snakeoil");
        let sink = tls_sink(TlsMode::StartTls, &ca);
        let (code, out) = send(env, sink.port, "opportunistic-unverified");
        assert_eq!(code, Some(0), "{out}");
        assert_eq!(sink.messages().len(), 3);
        assert!(ledger_statuses(env).iter().all(|s| s == "sent"));
    }
}

/// A sink that speaks TLS (`mode`) with the certificate `ca` signed.
fn tls_sink(mode: TlsMode, ca: &TestCa) -> SmtpSink {
    SmtpSink::start_offering(
        Offer {
            tls: Some((mode, ca.server.clone())),
            ..Offer::default()
        },
        Policy::new(),
    )
}
