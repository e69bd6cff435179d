//! Herald's own SMTP client against the real SMTP server of the tests, with
//! and without PIPELINING and 8BITMIME: what arrives is byte for byte the
//! .eml the outbox writes (dot-stuffing done once and undone by the
//! server), pipelined commands go out in one write and are not when the
//! server does not offer it, a refused recipient under pipelining is that
//! recipient's and the connection is reset (RSET) and kept, and
//! `config check --connect` reports what the relay offers and how TLS went.
//! The TLS faults of a run are in `setup_faults`.

use std::time::Duration;

use herald::domain::Token;
use herald::mail::{Composer, Mailer, Outgoing, SendError};
use herald::testing::{at, daily};
use tokio_util::sync::CancellationToken;

use crate::support::smtp::{Offer, Policy, Reply, SmtpSink, TlsMode};
use crate::support::tls::TestCa;
use crate::support::{Settings, TestEnv, stdout_of};

const DATE: &str = "2026-03-10";
const NOW: &str = "2026-03-10T07:00:00Z";
const WAIT: Duration = Duration::from_secs(10);

/// A text that exercises the wire form: lines that start with dots (one
/// alone, as the terminator would be), a line of 1,200 characters (which
/// makes composition choose base64) only when `long` is set, and `extra`.
pub(crate) fn text(long: bool, extra: &str) -> String {
    let mut t = String::from("Top stories\n.\n.a line that starts with a dot\n..two dots\nend.\n");
    if long {
        t.push_str(&"x".repeat(1200));
        t.push('\n');
    }
    t.push_str(extra);
    t
}

/// Messages composed as the engine composes them, for `to`.
pub(crate) fn compose(env: &TestEnv, to: &str, text: &str) -> herald::mail::Email {
    let config = env.config(&Settings::default());
    let site = url::Url::parse("https://news.example.com/").unwrap();
    let composer = Composer::new(&config.mail, "News", &site).expect("the composer builds");
    let token = Token::generate();
    let html = format!("<p>{}</p>", text.replace('\n', "<br>\n"));
    composer
        .compose(&Outgoing {
            to_email: to,
            to_name: "Reader",
            subject: "Your digest",
            html: &html,
            text,
            message_id: &format!("<{}@example.com>", rand::random::<u64>()),
            unsubscribe_url: "https://news.example.com/u/x",
            token: &token,
            return_path: None,
        })
        .expect("the message composes")
}

/// The SMTP mailer of `env`'s configuration with `settings`.
fn mailer(env: &TestEnv, settings: &Settings) -> Mailer {
    let config = env.config(settings);
    Mailer::smtp(&config.mail, &config.delivery)
}

fn offer(pipelining: bool, eight_bit_mime: bool) -> Offer {
    Offer {
        pipelining,
        eight_bit_mime,
        tls: None,
    }
}

#[tokio::test]
async fn pipelined_messages_arrive_as_the_outbox_writes_them() {
    let env = TestEnv::sqlite();
    let sink = SmtpSink::start();
    let emails = [
        compose(&env, "ana@example.com", &text(false, "")),
        compose(&env, "bo@example.com", &text(true, "")),
        compose(&env, "cy@example.com", &text(false, "Caf\u{e9} cr\u{e8}me\n")),
    ];
    let mut session = mailer(&env, &Settings::smtp(&sink)).session();
    for email in &emails {
        session.send(email).await.expect("the sink accepts it");
    }
    session.close().await;
    let got = sink.wait_for_async(3, WAIT).await;

    let outbox = env.path("outbox");
    let file = Mailer::file(&outbox).unwrap();
    for (email, received) in emails.iter().zip(&got) {
        let before: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        file.send(email).await.expect("the outbox takes it");
        let eml = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| !before.contains(p))
            .expect("a new .eml file");
        let written = std::fs::read(&eml).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&received.data),
            String::from_utf8_lossy(&written),
            "what arrived is the .eml"
        );
        assert_eq!(received.data, email.to_bytes());
        assert_eq!(
            received.body_8bit,
            !written.is_ascii(),
            "BODY=8BITMIME only for 8-bit bytes"
        );
    }
    assert!(
        got[0].text().contains("\r\n.a line that starts with a dot\r\n"),
        "{}",
        got[0].text()
    );
    assert!(got[0].text().contains("\r\n..two dots\r\n"));
    assert_eq!(
        sink.pipelined_reads(),
        3,
        "MAIL, RCPT and DATA in one write per message"
    );
    assert_eq!(sink.connections(), 1, "one session, one connection");
}

#[tokio::test]
async fn without_8bitmime_an_ascii_message_is_delivered_and_an_8bit_one_is_a_setup_fault() {
    let env = TestEnv::sqlite();
    let sink = SmtpSink::start_offering(offer(true, false), Policy::new());
    let mailer = mailer(&env, &Settings::smtp(&sink));
    let ascii = compose(&env, "ana@example.com", &text(false, ""));
    assert!(ascii.to_bytes().is_ascii());
    mailer
        .send(&ascii)
        .await
        .expect("an ASCII message needs no 8BITMIME");
    let got = sink.wait_for_async(1, WAIT).await;
    assert_eq!(got[0].data, ascii.to_bytes());
    assert!(!got[0].body_8bit);

    // Composition may make this 7-bit (quoted-printable or base64); only a
    // message that still has 8-bit bytes must be refused, before MAIL.
    let accented = compose(&env, "bo@example.com", &text(false, "Caf\u{e9}\n"));
    let result = mailer.send(&accented).await;
    if accented.to_bytes().is_ascii() {
        result.expect("a 7-bit message goes to a relay without 8BITMIME");
        assert_eq!(sink.wait_for_async(2, WAIT).await.len(), 2);
    } else {
        match result {
            Err(SendError::Setup { setting, message }) => {
                assert!(
                    setting.contains("8BITMIME") && message.contains("8BITMIME"),
                    "{setting}: {message}"
                );
            }
            other => panic!("expected a setup fault, got {other:?}"),
        }
        assert_eq!(sink.messages().len(), 1);
    }
}

/// Runs the test edition in process into `sink`, one worker.
async fn run_edition(env: &TestEnv, sink: &SmtpSink) -> herald::deliver::RunSummary {
    let settings = Settings::smtp(sink)
        .set("HERALD_DELIVERY__CONCURRENCY", "1")
        .set("HERALD_DELIVERY__CONNECT_TIMEOUT", "2")
        .set("HERALD_DELIVERY__COMMAND_TIMEOUT", "2");
    let engine = env.engine(&settings).await;
    engine
        .run_edition(daily(DATE), at(NOW), None, &CancellationToken::new())
        .await
        .expect("the edition runs")
}

both_backends! {
    async fn without_pipelining_every_digest_goes_command_by_command(env: &TestEnv) {
        env.seed_readers(4);
        let sink = SmtpSink::start_offering(offer(false, true), Policy::new());
        let summary = run_edition(env, &sink).await;
        assert_eq!((summary.sent, summary.failed, summary.deferred), (4, 0, 0), "{summary:?}");
        let got = sink.wait_for_async(4, WAIT).await;
        let mut to: Vec<String> = got.iter().flat_map(|m| m.rcpt_to.clone()).collect();
        to.sort();
        assert_eq!(to, ["reader0@example.com", "reader1@example.com", "reader2@example.com", "reader3@example.com"]);
        assert!(got.iter().all(|m| m.text().contains("Council approves night buses")));
        assert_eq!(sink.pipelined_reads(), 0, "no command waited on another's reply");
    }

    async fn a_refused_recipient_under_pipelining_is_the_recipients_and_the_connection_is_kept(env: &TestEnv) {
        env.seed_readers(3);
        let sink = SmtpSink::start_with(Policy::new().on_rcpt(
            "reader1@example.com",
            Reply::Text(550, "5.1.1 <reader1@example.com>: Recipient address rejected: User unknown"),
        ));
        let summary = run_edition(env, &sink).await;
        assert_eq!((summary.sent, summary.failed), (2, 1), "{summary:?}");
        let rows = env.ledger("daily-2026-03-10").await;
        let refused = rows.iter().find(|r| r.email == "reader1@example.com").unwrap();
        assert_eq!(refused.status, "failed");
        assert!(refused.last_error.as_deref().unwrap().contains("550 5.1.1"), "{refused:?}");
        assert_eq!(env.show("reader1@example.com")["status"], "bounced");
        assert_eq!(env.show("reader0@example.com")["status"], "active");
        assert_eq!(sink.messages().len(), 2);
        assert!(sink.pipelined_reads() >= 3, "{}", sink.pipelined_reads());
        assert_eq!(sink.connections(), 1, "RSET after the refusal, not a new connection");
    }
}

/// `herald config check --connect` against `url`, with extra variables.
fn connect_check(env: &TestEnv, url: &str, vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = env.herald_std(&["config", "check", "--connect"]);
    cmd.env("HERALD_MAIL__SMTP_URL", url)
        .env("HERALD_DELIVERY__CONNECT_TIMEOUT", "2")
        .env("HERALD_DELIVERY__COMMAND_TIMEOUT", "2");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!("{}{}", stdout_of(&out), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

#[test]
fn config_check_connect_reports_what_the_relay_offers() {
    let env = TestEnv::sqlite();
    let ca = TestCa::new("connect");
    let ca_file = env.write("ca.pem", &ca.ca_pem);
    let sink = SmtpSink::start_offering(
        Offer {
            pipelining: true,
            eight_bit_mime: false,
            tls: Some((TlsMode::StartTls, ca.server.clone())),
        },
        Policy::new(),
    );
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    let ca_var = [("HERALD_MAIL__SMTP_CA_FILE", ca_file.to_str().unwrap())];
    let (code, out) = connect_check(&env, &url, &ca_var);
    assert_eq!(code, Some(0), "{out}");
    for line in [
        "STARTTLS:    yes",
        "PIPELINING:  yes",
        "8BITMIME:    no",
        "SMTPUTF8:    no",
        "SIZE:        not offered",
        "certificate: verified against the OS trust store and mail.smtp_ca_file",
        "no mail sent",
    ] {
        assert!(out.contains(line), "{line:?} in {out}");
    }
    assert!(out.contains("TLS:         TLSv1_3"), "{out}");

    let (code, out) = connect_check(&env, &format!("{url}?tls=opportunistic-unverified"), &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("certificate: not verified"), "{out}");

    // The certificate's CA is in no trust store: the Setup message, exit 1.
    let (code, out) = connect_check(&env, &url, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("not trusted") && out.contains("check mail.smtp_ca_file"),
        "{out}"
    );

    let plain = SmtpSink::start_offering(offer(false, true), Policy::new());
    let (code, out) = connect_check(&env, &format!("smtp://127.0.0.1:{}?tls=none", plain.port), &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("TLS:         none")
            && out.contains("PIPELINING:  no")
            && out.contains("8BITMIME:    yes"),
        "{out}"
    );
    assert!(
        sink.messages().is_empty() && plain.messages().is_empty(),
        "no mail was sent"
    );
    drop(plain);

    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, out) = connect_check(&env, &format!("smtp://127.0.0.1:{closed}?tls=none"), &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("cannot connect"), "{out}");
}
