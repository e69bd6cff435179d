//! Mail: the only module that imports lettre. It composes a rendered digest
//! into a standards-clean message (multipart/alternative, List-Unsubscribe
//! with one-click, deterministic Message-ID, optional DKIM) and hands it to
//! a transport: SMTP, or `.eml` files in an outbox directory. Failures are
//! classified as transient or permanent so the engine can retry or give up.
//! It knows nothing about the store or the schedule.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm, DkimSigningKey,
};
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};
use sha2::{Digest as _, Sha256};

use crate::config::{self, DeliveryConfig, MailConfig, Security, Transport};
use crate::domain::Edition;
use crate::domain::Token;

/// Why a message was not accepted.
///
/// Only [`SendError::Rejected`] is about the recipient. A fault of the
/// sender's own setup (the relay's address or TLS, authentication, the
/// envelope sender, a relay that refuses to relay or takes no message of
/// this size) would be the same for every subscriber, so it is
/// [`SendError::Setup`]: the engine stops the run and charges no one.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: 4xx replies, connection errors, timeouts.
    /// `throttle` is set for 421 and 450, which ask the sender to slow down.
    #[error("transient failure: {message}")]
    Transient { throttle: bool, message: String },
    /// A permanent refusal of this one recipient: a 5xx reply to its RCPT,
    /// or at the end of DATA of its single-recipient message.
    #[error("permanent failure: {0}")]
    Rejected(String),
    /// A permanent fault of Herald's own setup, the same for every
    /// recipient; `setting` names what to check.
    #[error("{message}; check {setting}")]
    Setup { setting: &'static str, message: String },
}

impl SendError {
    pub fn is_throttle(&self) -> bool {
        matches!(self, SendError::Transient { throttle: true, .. })
    }
}

/// One message to compose.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub to_email: &'a str,
    pub to_name: &'a str,
    pub subject: &'a str,
    pub html: &'a str,
    pub text: &'a str,
    pub message_id: &'a str,
    pub unsubscribe_url: &'a str,
    /// The token, for the mailto: unsubscribe subject line.
    pub token: &'a Token,
}

/// A composed (and, when configured, signed) message ready to send, already
/// in wire format: serializing happens where it was composed (on a
/// rendering thread), not on the async runtime that sends it.
#[derive(Debug, Clone)]
pub struct Email {
    envelope: lettre::address::Envelope,
    bytes: Vec<u8>,
}

impl Email {
    fn new(message: &Message) -> Email {
        Email {
            envelope: message.envelope().clone(),
            bytes: message.formatted(),
        }
    }

    /// The message in wire format (CRLF line endings), as an .eml file holds it.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.bytes.clone()
    }
}

/// Builds messages with the site's headers and optional DKIM signature.
pub struct Composer {
    from: Mailbox,
    reply_to: Option<Mailbox>,
    list_id: String,
    feedback_id: Option<String>,
    unsubscribe_address: String,
    message_id_domain: String,
    dkim: Option<DkimConfig>,
}

impl Composer {
    pub fn new(mail: &MailConfig, site_name: &str, site_url: &url::Url) -> anyhow::Result<Composer> {
        let from = to_mailbox(&mail.from).context("mail.from")?;
        let reply_to = mail
            .reply_to
            .as_ref()
            .map(to_mailbox)
            .transpose()
            .context("mail.reply_to")?;
        let host = site_url.host_str().unwrap_or("localhost");
        // RFC 2919: List-Id is a phrase and a dot-atom under a domain the
        // sender controls.
        let list_id = format!("{} <digest.{}>", list_id_phrase(site_name), host);
        let dkim = match &mail.dkim {
            None => None,
            Some(d) => {
                let key = signing_key(&d.key)
                    .with_context(|| format!("mail.dkim.key_file {}", d.key_file.display()))?;
                let headers = [
                    "From",
                    "To",
                    "Subject",
                    "Date",
                    "Message-ID",
                    "List-Id",
                    "List-Unsubscribe",
                    "List-Unsubscribe-Post",
                ]
                .into_iter()
                .map(HeaderName::new_from_ascii_str)
                .collect();
                // Relaxed/relaxed, and Content-Type left unsigned: with
                // lettre 0.11 simple header canonicalization and a signed
                // multipart Content-Type both produced signatures that
                // failed verification.
                let canonicalization = DkimCanonicalization {
                    header: DkimCanonicalizationType::Relaxed,
                    body: DkimCanonicalizationType::Relaxed,
                };
                Some(DkimConfig::new(
                    d.selector.clone(),
                    d.domain.clone(),
                    key,
                    headers,
                    canonicalization,
                ))
            }
        };
        Ok(Composer {
            from,
            reply_to,
            list_id,
            feedback_id: mail.feedback_id.as_ref().map(|f| f.as_str().to_owned()),
            unsubscribe_address: mail.unsubscribe_address.to_string(),
            message_id_domain: mail.from.email.domain().to_owned(),
            dkim,
        })
    }

    /// The Message-ID of one subscriber's copy of one edition: the same on
    /// every attempt, so a resend after a crash is recognisably the same
    /// message, and derived from the secret token so it reveals nothing.
    pub fn message_id(&self, edition: &Edition, token: &Token) -> String {
        let mut h = Sha256::new();
        h.update(edition.key().as_bytes());
        h.update([0]);
        h.update(token.as_str().as_bytes());
        let digest = h.finalize();
        format!(
            "<{}.{}@{}>",
            edition.key(),
            hex::encode(&digest[..12]),
            self.message_id_domain
        )
    }

    /// The double opt-in message: one link, valid 48 hours.
    pub fn compose_confirmation(
        &self,
        to: &str,
        site_name: &str,
        confirm_url: &str,
    ) -> anyhow::Result<Email> {
        let address: lettre::Address = to.parse().with_context(|| format!("recipient {to}"))?;
        let text = format!(
            "Someone, probably you, asked to get the {site_name} digest at this address.\n\n\
             To confirm, open this link within 48 hours:\n{confirm_url}\n\n\
             If it wasn't you, ignore this message: nothing will be sent.\n"
        );
        let html = format!(
            "<!DOCTYPE html><html><body style=\"font-family:sans-serif\">\n<p>Someone, probably you, asked to get the {} digest at this address.</p>\n<p><a href=\"{}\">Confirm your subscription</a> (valid 48 hours).</p>\n<p>If it wasn't you, ignore this message: nothing will be sent.</p>\n</body></html>\n",
            escape(site_name),
            escape(confirm_url)
        );
        let mut message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(None, address))
            .subject(format!("Confirm your {site_name} digest subscription"))
            .date(SystemTime::now())
            .header(AutoSubmitted("auto-generated".into()))
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, &text))
                    .singlepart(part(ContentType::TEXT_HTML, &html)),
            )
            .context("composing the confirmation")?;
        if let Some(dkim) = &self.dkim {
            message.sign(dkim);
        }
        Ok(Email::new(&message))
    }

    pub fn compose(&self, o: &Outgoing<'_>) -> anyhow::Result<Email> {
        let address: lettre::Address = o
            .to_email
            .parse()
            .with_context(|| format!("recipient {}", o.to_email))?;
        let name = (!o.to_name.is_empty()).then(|| o.to_name.to_owned());
        let mailto = format!(
            "mailto:{}?subject=unsubscribe%20{}",
            self.unsubscribe_address, o.token
        );
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(name, address))
            .subject(o.subject)
            .date(SystemTime::now())
            .message_id(Some(o.message_id.to_owned()))
            .header(ListId(self.list_id.clone()))
            .header(ListUnsubscribe(format!("<{}>, <{mailto}>", o.unsubscribe_url)))
            .header(ListUnsubscribePost("List-Unsubscribe=One-Click".into()))
            // RFC 2369: a digest cannot be posted to.
            .header(ListPost("NO".into()))
            .header(Precedence("bulk".into()))
            .header(AutoSubmitted("auto-generated".into()));
        if let Some(r) = &self.reply_to {
            builder = builder.reply_to(r.clone());
        }
        if let Some(f) = &self.feedback_id {
            builder = builder.header(FeedbackId(f.clone()));
        }
        let body = MultiPart::alternative()
            .singlepart(part(ContentType::TEXT_PLAIN, o.text))
            .singlepart(part(ContentType::TEXT_HTML, o.html));
        let mut message = builder.multipart(body).context("composing the message")?;
        if let Some(dkim) = &self.dkim {
            message.sign(dkim);
        }
        Ok(Email::new(&message))
    }
}

/// A text part in the cheapest valid encoding: 7bit when it is ASCII, 8bit
/// when it is UTF-8, both only when every line fits in 998 octets (RFC 5322);
/// base64 otherwise. lettre's own chooser switches away from 7bit/8bit at
/// 76-character lines and its quoted-printable costs far more CPU, so the
/// check is done here.
fn part(content_type: ContentType, text: &str) -> SinglePart {
    use lettre::message::header::ContentTransferEncoding as Cte;
    let fits = !text.contains(['\0', '\r']) && text.split('\n').all(|line| line.len() <= 998);
    let body = if fits {
        let mut wire = Vec::with_capacity(text.len() + text.len() / 40);
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(line.as_bytes());
        }
        let encoding = if text.is_ascii() {
            Cte::SevenBit
        } else {
            Cte::EightBit
        };
        Body::dangerous_pre_encoded(wire, encoding)
    } else {
        Body::new_with_encoding(text.to_owned(), Cte::Base64).expect("base64 encodes anything")
    };
    SinglePart::builder().header(content_type).body(body)
}

/// HTML-escapes text for the small confirmation message (the digest itself
/// is escaped by Tera).
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn to_mailbox(m: &config::Mailbox) -> anyhow::Result<Mailbox> {
    let address: lettre::Address = m.email.as_str().parse().context("address")?;
    Ok(Mailbox::new(
        m.name.as_ref().map(|n| n.as_str().to_owned()),
        address,
    ))
}

/// A List-Id phrase (RFC 2919, RFC 5322 `phrase`): as is when it is atext
/// and spaces, quoted when it is other ASCII, and one or more RFC 2047
/// encoded words when it is not ASCII (encoded words may not sit inside a
/// quoted string).
fn list_id_phrase(s: &str) -> String {
    use base64::Engine;
    if s.is_ascii() {
        let atext = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || "!#$%&'*+-/=?^_`{|}~".contains(c));
        return if atext {
            s.to_owned()
        } else {
            format!("\"{}\"", s.replace(['\\', '"'], ""))
        };
    }
    // Encoded words are at most 75 characters: 45 bytes of UTF-8 become 60
    // of base64, plus the 12 of "=?utf-8?b??=". Split on char boundaries.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in s.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    words
        .iter()
        .map(|w| {
            format!(
                "=?utf-8?b?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// lettre's signing key for a key the configuration has already parsed
/// (`config::DkimKey` hands over the one form lettre reads for each
/// algorithm, so this fails only if that contract breaks).
fn signing_key(key: &config::DkimKey) -> anyhow::Result<DkimSigningKey> {
    let algorithm = match key.algorithm() {
        config::DkimAlgorithm::Rsa => DkimSigningAlgorithm::Rsa,
        config::DkimAlgorithm::Ed25519 => DkimSigningAlgorithm::Ed25519,
    };
    DkimSigningKey::new(key.signer_input(), algorithm).map_err(|e| anyhow::anyhow!("{key} key: {e}"))
}

macro_rules! raw_header {
    ($ty:ident, $name:literal) => {
        #[derive(Debug, Clone)]
        struct $ty(String);

        impl Header for $ty {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }

            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok($ty(s.to_owned()))
            }

            fn display(&self) -> HeaderValue {
                HeaderValue::new(Self::name(), self.0.clone())
            }
        }
    };
}

/// List-Id carries a phrase this module has already encoded.
#[derive(Debug, Clone)]
struct ListId(String);

impl Header for ListId {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Id")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListId(s.to_owned()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::dangerous_new_pre_encoded(Self::name(), self.0.clone(), self.0.clone())
    }
}

raw_header!(ListUnsubscribe, "List-Unsubscribe");
raw_header!(ListUnsubscribePost, "List-Unsubscribe-Post");
raw_header!(ListPost, "List-Post");
raw_header!(Precedence, "Precedence");
raw_header!(AutoSubmitted, "Auto-Submitted");
raw_header!(FeedbackId, "Feedback-ID");

/// Where messages go. Cheap to clone; each sending worker opens its own
/// [`Session`].
#[derive(Clone)]
pub enum Mailer {
    File(AsyncFileTransport<Tokio1Executor>),
    Smtp(Arc<SmtpSettings>),
}

/// How to reach the SMTP relay: `mail.smtp_url` (parsed at load) and the
/// delivery timeouts.
#[derive(Debug)]
pub struct SmtpSettings {
    host: String,
    port: u16,
    security: Security,
    credentials: Option<Credentials>,
    connect_timeout: Duration,
    command_timeout: Duration,
}

impl Mailer {
    /// Builds the configured transport once.
    pub fn new(mail: &MailConfig, delivery: &DeliveryConfig) -> anyhow::Result<Mailer> {
        match mail.transport {
            Transport::File => Mailer::file(&mail.outbox_dir),
            Transport::Smtp => {
                let url = &mail.smtp_url;
                // The configuration refuses a password without a user at
                // load, so a password here always has a user to go with.
                let credentials = match (url.user(), mail.smtp_password()) {
                    (Some(user), Some(password)) => {
                        Some(Credentials::new(user.to_owned(), password.to_owned()))
                    }
                    _ => None,
                };
                Ok(Mailer::Smtp(Arc::new(SmtpSettings {
                    host: url.host().to_owned(),
                    port: url.port(),
                    security: url.security(),
                    credentials,
                    connect_timeout: delivery.connect_timeout,
                    command_timeout: delivery.command_timeout,
                })))
            }
        }
    }

    /// A file transport into `dir` (created if missing).
    pub fn file(dir: &Path) -> anyhow::Result<Mailer> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create outbox {}", dir.display()))?;
        Ok(Mailer::File(AsyncFileTransport::new(dir)))
    }

    /// A sending session: one SMTP connection, opened on first use and kept
    /// for the messages that follow.
    pub fn session(&self) -> Session {
        Session {
            mailer: self.clone(),
            conn: None,
        }
    }

    /// Sends one message on a fresh session (for one-off sends).
    pub async fn send(&self, email: &Email) -> Result<(), SendError> {
        let mut session = self.session();
        let result = session.send(email).await;
        session.close().await;
        result
    }
}

/// One worker's connection to the relay.
pub struct Session {
    mailer: Mailer,
    conn: Option<AsyncSmtpConnection>,
}

impl Session {
    pub async fn send(&mut self, email: &Email) -> Result<(), SendError> {
        let settings = match &self.mailer {
            Mailer::File(t) => {
                return t
                    .send_raw(&email.envelope, &email.bytes)
                    .await
                    .map(drop)
                    .map_err(|e| SendError::Transient {
                        throttle: false,
                        message: format!("writing the outbox: {e}"),
                    });
            }
            Mailer::Smtp(settings) => settings.clone(),
        };
        if self.conn.as_ref().is_none_or(AsyncSmtpConnection::has_broken) {
            self.conn = Some(settings.connect().await?);
        }
        let conn = self.conn.as_mut().expect("connected above");
        let result = tokio::time::timeout(settings.command_timeout, transaction(conn, email)).await;
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => {
                // After a refused transaction the session state is unknown
                // (lettre does not RSET): start the next message afresh.
                self.abort().await;
                Err(e)
            }
            Err(_) => {
                self.abort().await;
                Err(SendError::Transient {
                    throttle: false,
                    message: format!(
                        "timed out after {:?} (delivery.command_timeout)",
                        settings.command_timeout
                    ),
                })
            }
        }
    }

    /// Says QUIT if connected.
    pub async fn close(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), conn.quit()).await;
        }
    }

    async fn abort(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), conn.abort()).await;
        }
    }
}

/// One mail transaction (MAIL, RCPT, DATA, the message), command by
/// command, so that each refusal is classified by where it came: lettre's
/// `send` does the same steps but does not say which one failed.
async fn transaction(conn: &mut AsyncSmtpConnection, email: &Email) -> Result<(), SendError> {
    use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
    use lettre::transport::smtp::extension::{Extension, MailBodyParameter, MailParameter};

    let mut options = Vec::new();
    if !email.bytes.is_ascii() {
        if !conn.server_info().supports_feature(Extension::EightBitMime) {
            return Err(SendError::Setup {
                setting: "mail.smtp_url (use a relay that offers 8BITMIME)",
                message: "the relay does not offer 8BITMIME, and digests are UTF-8".to_owned(),
            });
        }
        options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
    }
    let non_ascii = |a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii();
    if email.envelope.from().is_some_and(non_ascii) || email.envelope.to().iter().any(non_ascii) {
        if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
            // The address, not the setup: other recipients still go.
            return Err(SendError::Transient {
                throttle: false,
                message: "the address is not ASCII and the relay does not offer SMTPUTF8".to_owned(),
            });
        }
        options.push(MailParameter::SmtpUtfEight);
    }
    let from = email.envelope.from().cloned();
    conn.command(Mail::new(from, options))
        .await
        .map_err(|e| classify(Stage::MailFrom, &e))?;
    for to in email.envelope.to() {
        conn.command(Rcpt::new(to.clone(), Vec::new()))
            .await
            .map_err(|e| classify(Stage::Rcpt, &e))?;
    }
    conn.command(Data).await.map_err(|e| classify(Stage::Data, &e))?;
    conn.message(&email.bytes)
        .await
        .map_err(|e| classify(Stage::EndOfData, &e))?;
    Ok(())
}

impl SmtpSettings {
    /// Opens a connection with TCP_NODELAY: lettre's own connector leaves
    /// Nagle's algorithm on, which stalls every message about 40 ms at the
    /// end of DATA (measured: 22 messages/s per connection on loopback).
    async fn connect(&self) -> Result<AsyncSmtpConnection, SendError> {
        let mut conn = tokio::time::timeout(self.connect_timeout, self.open())
            .await
            .map_err(|_| SendError::Transient {
                throttle: false,
                message: format!(
                    "connecting to {}:{} timed out after {:?} (delivery.connect_timeout)",
                    self.host, self.port, self.connect_timeout
                ),
            })??;
        if let Some(credentials) = &self.credentials {
            tokio::time::timeout(
                self.command_timeout,
                conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials),
            )
            .await
            .map_err(|_| self.transient("authentication timed out at", &"delivery.command_timeout"))?
            .map_err(|e| self.at(classify(Stage::Auth, &e)))?;
        }
        Ok(conn)
    }

    /// TCP (or implicit TLS), the greeting, EHLO and STARTTLS.
    async fn open(&self) -> Result<AsyncSmtpConnection, SendError> {
        let hello = ClientId::default();
        if self.security == Security::Implicit {
            return AsyncSmtpConnection::connect_tokio1(
                (self.host.as_str(), self.port),
                Some(self.command_timeout),
                &hello,
                Some(self.tls()?),
                None,
            )
            .await
            .map_err(|e| self.at(classify(Stage::Greeting, &e)));
        }
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| self.transient("cannot connect to", &e))?;
        stream
            .set_nodelay(true)
            .map_err(|e| self.transient("TCP_NODELAY on", &e))?;
        let mut conn = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &hello)
            .await
            .map_err(|e| self.at(classify(Stage::Greeting, &e)))?;
        let offers_tls = conn.can_starttls();
        match self.security {
            Security::Required if !offers_tls => Err(SendError::Setup {
                setting: "mail.smtp_url (tls=required)",
                message: format!("{}:{} does not offer STARTTLS", self.host, self.port),
            }),
            Security::Required | Security::Opportunistic if offers_tls => {
                conn.starttls(self.tls()?, &hello)
                    .await
                    .map_err(|e| self.at(classify(Stage::Tls, &e)))?;
                Ok(conn)
            }
            _ => Ok(conn),
        }
    }

    fn tls(&self) -> Result<TlsParameters, SendError> {
        TlsParameters::new(self.host.clone()).map_err(|e| SendError::Setup {
            setting: "mail.smtp_url (its host name)",
            message: format!("TLS setup for {}:{}: {e}", self.host, self.port),
        })
    }

    fn transient(&self, what: &str, e: &dyn std::fmt::Display) -> SendError {
        SendError::Transient {
            throttle: false,
            message: format!("{what} {}:{}: {e}", self.host, self.port),
        }
    }

    /// Names the relay in an error from the connection's set-up.
    fn at(&self, e: SendError) -> SendError {
        let relay = format!("{}:{}", self.host, self.port);
        match e {
            SendError::Transient { throttle, message } => SendError::Transient {
                throttle,
                message: format!("connecting to {relay}: {message}"),
            },
            SendError::Setup { setting, message } => SendError::Setup {
                setting,
                message: format!("{relay}: {message}"),
            },
            SendError::Rejected(message) => SendError::Rejected(format!("{relay}: {message}")),
        }
    }
}

/// Where in the SMTP conversation a reply came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The greeting and EHLO (and, for smtps, the TLS handshake).
    Greeting,
    Tls,
    Auth,
    MailFrom,
    Rcpt,
    /// The DATA command itself.
    Data,
    /// The reply after the message's final dot.
    EndOfData,
}

/// Sorts a lettre error into retry, the recipient's refusal, or a fault of
/// the setup. 421 and 450 also ask the engine to slow down.
fn classify(stage: Stage, e: &lettre::transport::smtp::Error) -> SendError {
    let code = e.status().map(|c| c.to_string());
    if e.is_permanent() {
        let code = code.as_deref().and_then(|c| c.parse().ok()).unwrap_or(500);
        return permanent(stage, code, &e.to_string());
    }
    if e.is_tls() {
        return SendError::Setup {
            setting: "mail.smtp_url (the relay's certificate must be valid for its host name)",
            message: format!("TLS handshake failed: {e}"),
        };
    }
    SendError::Transient {
        throttle: matches!(code.as_deref(), Some("421" | "450")),
        message: e.to_string(),
    }
}

/// The decision for a 5xx reply. Before the recipient is named (greeting,
/// TLS, AUTH, MAIL FROM) and at the DATA command, a refusal cannot be
/// about one recipient. At RCPT and at the end of DATA (Herald sends one
/// recipient per transaction) it is the recipient's, unless the reply says
/// what every recipient would hear: authentication required, relaying
/// denied, the client or sender refused, the message too big.
fn permanent(stage: Stage, code: u16, text: &str) -> SendError {
    let setup = |setting: &'static str| SendError::Setup {
        setting,
        message: format!("the relay refused {}: {text}", stage.describe()),
    };
    let lower = text.to_ascii_lowercase();
    let enhanced = enhanced_status(&lower);
    let wants_auth = code == 530 || enhanced == Some("5.7.0") || AUTH_WORDS.iter().any(|w| lower.contains(w));
    match stage {
        Stage::Greeting => return setup("mail.smtp_url (the relay refuses Herald's connection)"),
        Stage::Tls => return setup("mail.smtp_url (tls=)"),
        Stage::Auth => return setup(AUTH_SETTING),
        Stage::MailFrom if wants_auth => return setup(AUTH_SETTING),
        Stage::MailFrom => return setup("mail.from (the envelope sender) and the relay's sender rules"),
        Stage::Data => return setup("mail.smtp_url (the relay refuses DATA)"),
        Stage::Rcpt | Stage::EndOfData => {}
    }
    // 5.1.x (addressing) and 5.2.x (mailbox) are about this recipient.
    if enhanced.is_some_and(|c| c.starts_with("5.1.") || c.starts_with("5.2.")) {
        return SendError::Rejected(text.to_owned());
    }
    if wants_auth {
        return setup(AUTH_SETTING);
    }
    if RELAY_WORDS.iter().any(|w| lower.contains(w)) {
        return setup(
            "mail.smtp_url: the relay does not relay for Herald (set a user and password, or allow this host on the relay)",
        );
    }
    if lower.contains("client host rejected") || lower.contains("sender address rejected") {
        return setup("mail.from and the relay's client and sender rules");
    }
    if enhanced == Some("5.3.4") || SIZE_WORDS.iter().any(|w| lower.contains(w)) {
        return setup("digest.max_html_bytes and the relay's message size limit");
    }
    SendError::Rejected(text.to_owned())
}

const AUTH_SETTING: &str =
    "the user in mail.smtp_url and the SMTP password (HERALD_MAIL__SMTP_PASSWORD or mail.smtp_password_file)";

/// How relays say that authentication is needed (Postfix, Exim, Exchange,
/// Gmail, SES).
const AUTH_WORDS: &[&str] = &[
    "authentication required",
    "authentication is required",
    "must authenticate",
    "not authenticated",
    "authenticate first",
    "auth required",
    "client was not authenticated",
];

/// How relays say that they do not relay for this client: Postfix
/// ("Relay access denied"), Exim ("relay not permitted"), Sendmail
/// ("Relaying denied"), Exchange ("Unable to relay"), qmail ("not in my
/// list of allowed rcpthosts").
const RELAY_WORDS: &[&str] = &[
    "relay access denied",
    "relaying denied",
    "relay denied",
    "relay not permitted",
    "relaying not permitted",
    "relay not allowed",
    "relaying not allowed",
    "unable to relay",
    "we do not relay",
    "allowed rcpthosts",
];

/// How relays say the message is too big (RFC 1870 and common wording).
const SIZE_WORDS: &[&str] = &[
    "message size exceeds",
    "message too big",
    "message too large",
    "message is too large",
    "exceeds size limit",
    "size limit exceeded",
    "exceeded maximum message size",
];

impl Stage {
    fn describe(self) -> &'static str {
        match self {
            Stage::Greeting => "the connection",
            Stage::Tls => "STARTTLS",
            Stage::Auth => "authentication",
            Stage::MailFrom => "MAIL FROM",
            Stage::Rcpt => "the recipient",
            Stage::Data => "DATA",
            Stage::EndOfData => "the message",
        }
    }
}

/// The RFC 3463 enhanced status code in a reply, e.g. "5.7.1".
fn enhanced_status(text: &str) -> Option<&str> {
    text.split(|c: char| c.is_whitespace() || c == ':' || c == '(' || c == ')')
        .find(|word| {
            let mut parts = word.split('.');
            let class = parts.next();
            let rest: Vec<&str> = parts.collect();
            matches!(class, Some("2" | "4" | "5"))
                && rest.len() == 2
                && rest
                    .iter()
                    .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
        })
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::pkcs8::{EncodePrivateKey as _, KeypairBytes};
    use rsa::pkcs1::LineEnding;
    use rsa::pkcs8::EncodePrivateKey as _;

    use super::*;

    /// Every key form the configuration accepts becomes a lettre key.
    #[test]
    fn every_accepted_key_form_signs() {
        let rsa = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).expect("RSA keygen");
        let ed25519 = KeypairBytes {
            secret_key: rand::random(),
            public_key: None,
        };
        let pems = [
            rsa::pkcs1::EncodeRsaPrivateKey::to_pkcs1_pem(&rsa, LineEnding::LF)
                .unwrap()
                .to_string(),
            rsa.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
            ed25519.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        ];
        for pem in pems {
            let key = config::DkimKey::parse(&pem).unwrap();
            signing_key(&key).unwrap_or_else(|e| panic!("{key}: {e:#}"));
        }
    }

    fn kind(e: SendError) -> &'static str {
        match e {
            SendError::Transient { .. } => "transient",
            SendError::Rejected(_) => "rejected",
            SendError::Setup { .. } => "setup",
        }
    }

    #[test]
    fn only_replies_about_one_recipient_are_the_recipients() {
        let cases = [
            (
                Stage::Rcpt,
                550,
                "5.1.1 <a@b>: Recipient address rejected: User unknown in relay recipient table",
                "rejected",
            ),
            (Stage::Rcpt, 552, "5.2.2 <a@b>: Mailbox full", "rejected"),
            (
                Stage::EndOfData,
                554,
                "5.7.1 Message rejected as spam by the recipient",
                "rejected",
            ),
            (Stage::Rcpt, 554, "5.7.1 <a@b>: Relay access denied", "setup"),
            (Stage::Rcpt, 550, "relay not permitted", "setup"),
            (
                Stage::Rcpt,
                550,
                "5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
                "setup",
            ),
            (
                Stage::Rcpt,
                553,
                "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
                "setup",
            ),
            (Stage::Rcpt, 530, "5.7.0 Authentication required", "setup"),
            (
                Stage::Rcpt,
                554,
                "5.7.1 <unknown[10.0.0.1]>: Client host rejected: Access denied",
                "setup",
            ),
            (
                Stage::EndOfData,
                552,
                "5.3.4 Message size exceeds fixed limit",
                "setup",
            ),
            (
                Stage::EndOfData,
                552,
                "Message size exceeds maximum permitted",
                "setup",
            ),
            (
                Stage::MailFrom,
                553,
                "5.7.1 Sender address rejected: not owned by user",
                "setup",
            ),
            (Stage::MailFrom, 530, "5.7.0 Authentication required", "setup"),
            (Stage::Greeting, 554, "No SMTP service here", "setup"),
            (
                Stage::Auth,
                535,
                "5.7.8 Authentication credentials invalid",
                "setup",
            ),
            (Stage::Data, 554, "5.5.1 Error: no valid recipients", "setup"),
        ];
        for (stage, code, text, expected) in cases {
            assert_eq!(
                kind(permanent(stage, code, text)),
                expected,
                "{stage:?} {code} {text}"
            );
        }
        match permanent(Stage::MailFrom, 530, "5.7.0 Authentication required") {
            SendError::Setup { setting, .. } => assert_eq!(setting, AUTH_SETTING),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn finds_enhanced_status_codes() {
        assert_eq!(
            enhanced_status("permanent error (554): 5.7.1 <a@b>: relay"),
            Some("5.7.1")
        );
        assert_eq!(enhanced_status("550 user unknown"), None);
        assert_eq!(enhanced_status("at 10.0.0.1"), None);
    }
}
