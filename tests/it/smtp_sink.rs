//! The test SMTP server of `support::smtp` against a real client
//! (lettre) and a raw socket: messages arrive with their envelope and body,
//! the policy's codes reach the client as permanent or transient failures,
//! hang-ups are hang-ups, and the server stops when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::transport::smtp::Error as SmtpError;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::support::smtp::{Policy, Reply, SmtpSink};

const WAIT: Duration = Duration::from_secs(5);

/// Plain SMTP to the sink, the way herald's tests will point it there.
fn transport(sink: &SmtpSink) -> AsyncSmtpTransport<Tokio1Executor> {
    AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(sink.port)
        .timeout(Some(WAIT))
        .build()
}

fn message(to: &[&str], subject: &str, body: &str) -> Message {
    let mut builder = Message::builder()
        .from("Herald <digest@news.example>".parse().unwrap())
        .subject(subject)
        .header(ContentType::TEXT_PLAIN);
    for address in to {
        builder = builder.to(address.parse().unwrap());
    }
    builder.body(body.to_owned()).unwrap()
}

async fn send(sink: &SmtpSink, to: &[&str]) -> Result<(), SmtpError> {
    let email = message(to, "Your digest", "Top stories\r\n");
    transport(sink).send(email).await.map(|_| ())
}

fn code(err: &SmtpError) -> Option<u16> {
    err.status().map(u16::from)
}

#[tokio::test]
async fn two_messages_arrive_with_their_envelope_and_body() {
    let sink = SmtpSink::start();
    let smtp = transport(&sink);

    let first = message(
        &["ana@example.com"],
        "First digest",
        "Top stories for Ana\r\n.a line that starts with a dot\r\n",
    );
    let second = message(
        &["kenji@example.jp", "Leila <leila@example.org>"],
        "Second digest",
        "Science for two\r\n",
    );
    let reply = smtp.send(first).await.expect("the first message is accepted");
    assert_eq!(u16::from(reply.code()), 250);
    smtp.send(second).await.expect("the second message is accepted");

    let got = sink.wait_for_async(2, WAIT).await;
    assert_eq!(got.len(), 2, "{got:?}");

    assert_eq!(got[0].mail_from, "digest@news.example");
    assert_eq!(got[0].rcpt_to, ["ana@example.com"]);
    let text = got[0].text();
    assert!(text.contains("From: Herald <digest@news.example>\r\n"), "{text}");
    assert!(text.contains("To: ana@example.com\r\n"), "{text}");
    assert!(text.contains("Subject: First digest\r\n"), "{text}");
    assert!(
        text.contains("\r\n\r\nTop stories for Ana\r\n.a line that starts with a dot\r\n"),
        "the body, dot-unstuffed: {text}"
    );
    // lettre ends DATA with "\r\n.\r\n" even after a body that ends in
    // CRLF; the sink keeps all but the "." line.
    assert!(text.ends_with("dot\r\n\r\n"), "no final '.' line: {text:?}");

    assert_eq!(got[1].mail_from, "digest@news.example");
    assert_eq!(got[1].rcpt_to, ["kenji@example.jp", "leila@example.org"]);
    let text = got[1].text();
    assert!(text.contains("Subject: Second digest\r\n"), "{text}");
    assert!(text.contains("\r\n\r\nScience for two\r\n"), "{text}");

    assert_eq!(sink.messages(), got);
}

#[tokio::test]
async fn refusals_at_rcpt_are_permanent_for_5xx_and_transient_for_4xx() {
    let sink = SmtpSink::start_with(
        Policy::new()
            .on_rcpt("gone@example.com", Reply::Code(550))
            .on_rcpt("full@example.com", Reply::Code(450)),
    );

    let err = send(&sink, &["gone@example.com"]).await.unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert_eq!(code(&err), Some(550));

    let err = send(&sink, &["FULL@example.com"]).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(code(&err), Some(450));

    send(&sink, &["ana@example.com"])
        .await
        .expect("others are accepted");
    let got = sink.wait_for_async(1, WAIT).await;
    assert_eq!(got.len(), 1, "refused messages are not recorded: {got:?}");
    assert_eq!(got[0].rcpt_to, ["ana@example.com"]);
}

#[tokio::test]
async fn refusals_at_end_of_data_and_a_transient_one_that_clears() {
    let sink = SmtpSink::start_with(
        Policy::new()
            .on_data("bounce@example.com", Reply::Code(550))
            .on_data("later@example.com", Reply::Code(450))
            .times(1),
    );

    let err = send(&sink, &["bounce@example.com"]).await.unwrap_err();
    assert!(err.is_permanent(), "{err}");
    assert_eq!(code(&err), Some(550));

    let err = send(&sink, &["later@example.com"]).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(code(&err), Some(450));
    assert!(sink.messages().is_empty());

    send(&sink, &["later@example.com"])
        .await
        .expect("the 450 rule fired its one time");
    let got = sink.wait_for_async(1, WAIT).await;
    assert_eq!(got[0].rcpt_to, ["later@example.com"]);
}

#[tokio::test]
async fn hang_ups_and_421_close_the_connection() {
    let sink = SmtpSink::start_with(
        Policy::new()
            .on_rcpt("hangup@example.com", Reply::Drop)
            .on_data("crash@example.com", Reply::Drop)
            .on_rcpt("closing@example.com", Reply::Code(421)),
    );

    for to in ["hangup@example.com", "crash@example.com"] {
        let err = send(&sink, &[to]).await.unwrap_err();
        assert!(
            !err.is_permanent() && !err.is_transient() && err.status().is_none(),
            "a hang-up is no SMTP reply: {err}"
        );
    }
    let err = send(&sink, &["closing@example.com"]).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert_eq!(code(&err), Some(421));
    assert!(sink.messages().is_empty());

    send(&sink, &["ana@example.com"])
        .await
        .expect("the sink still works");
    assert_eq!(sink.wait_for_async(1, WAIT).await.len(), 1);
}

/// A raw client, to see the replies and check that the session goes on
/// after a refused DATA (mailin alone would stay in its DATA state).
struct Raw {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Raw {
    fn connect(sink: &SmtpSink) -> Raw {
        let stream = TcpStream::connect(sink.addr()).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let writer = stream.try_clone().unwrap();
        let mut raw = Raw {
            reader: BufReader::new(stream),
            writer,
        };
        assert!(raw.reply().starts_with("220 "));
        raw
    }

    /// The last line of the next (possibly multi-line) reply.
    fn reply(&mut self) -> String {
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            if line.as_bytes().get(3) != Some(&b'-') {
                return line;
            }
        }
    }

    fn say(&mut self, line: &str) -> String {
        self.writer.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        self.reply()
    }

    fn write(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).unwrap();
    }
}

#[test]
fn the_session_goes_on_after_a_refused_data() {
    let sink = SmtpSink::start_with(Policy::new().on_data("*", Reply::Code(554)).times(1));
    let mut raw = Raw::connect(&sink);
    assert!(raw.say("EHLO client.test").starts_with("250 "));

    assert!(raw.say("MAIL FROM:<a@example.com>").starts_with("250 "));
    assert!(raw.say("RCPT TO:<b@example.com>").starts_with("250 "));
    assert!(raw.say("DATA").starts_with("354 "));
    raw.write("Subject: one\r\n\r\nrefused\r\n");
    assert!(raw.say(".").starts_with("554 "));

    assert!(raw.say("RSET").starts_with("250 "));
    assert!(raw.say("MAIL FROM:<a@example.com>").starts_with("250 "));
    assert!(raw.say("RCPT TO:<b@example.com>").starts_with("250 "));
    assert!(raw.say("RCPT TO:<c@example.com>").starts_with("250 "));
    assert!(raw.say("DATA").starts_with("354 "));
    raw.write("Subject: two\r\n\r\n..dot-stuffed\r\nend\r\n");
    assert!(raw.say(".").starts_with("250 "));
    assert!(raw.say("QUIT").starts_with("221 "));

    let got = sink.wait_for(1, WAIT);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].mail_from, "a@example.com");
    assert_eq!(got[0].rcpt_to, ["b@example.com", "c@example.com"]);
    assert_eq!(got[0].data, b"Subject: two\r\n\r\n.dot-stuffed\r\nend\r\n");
}

#[test]
fn dropping_the_sink_stops_the_server() {
    let sink = SmtpSink::start();
    let addr = sink.addr();
    let mut open = Raw::connect(&sink);
    drop(sink);

    let mut rest = Vec::new();
    let read = open.reader.read_to_end(&mut rest);
    assert!(
        matches!(read, Ok(0)) || read.is_err(),
        "an open connection is closed: {read:?} {rest:?}"
    );
    assert!(
        TcpStream::connect(&addr).is_err(),
        "nothing listens on {addr} any more"
    );
}
