//! Mail: the only module that imports lettre. It composes a rendered digest
//! into a standards-clean message (multipart/alternative, List-Unsubscribe
//! with one-click, deterministic Message-ID, optional DKIM) and hands it to
//! a transport: SMTP, or `.eml` files in an outbox directory. Failures are
//! classified as transient or permanent so the engine can retry or give up.
//! It knows nothing about the store or the schedule.

use std::path::Path;
use std::time::SystemTime;

use anyhow::Context;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm, DkimSigningKey,
};
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use sha2::{Digest as _, Sha256};

use crate::config::{self, MailConfig, Transport};
use crate::domain::Token;
use crate::select::Edition;

/// Why a message was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: 4xx replies, connection errors, timeouts.
    #[error("transient failure: {0}")]
    Transient(String),
    /// Never worth retrying: 5xx replies, an address the relay rejects.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

impl SendError {
    pub fn is_permanent(&self) -> bool {
        matches!(self, SendError::Permanent(_))
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

/// A composed (and, when configured, signed) message ready to send.
#[derive(Debug, Clone)]
pub struct Email(Message);

impl Email {
    /// The message in wire format (CRLF line endings), as an .eml file holds it.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.formatted()
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
                let key = signing_key(d.key_pem.expose_secret())
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
        Ok(Email(message))
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

/// Reads a DKIM private key: RSA as PKCS#1 PEM ("BEGIN RSA PRIVATE KEY"),
/// Ed25519 as PKCS#8 PEM ("BEGIN PRIVATE KEY", as `openssl genpkey
/// -algorithm ed25519` writes it).
fn signing_key(pem: &str) -> anyhow::Result<DkimSigningKey> {
    use base64::Engine;
    if pem.contains("BEGIN RSA PRIVATE KEY") {
        return DkimSigningKey::new(pem, DkimSigningAlgorithm::Rsa)
            .map_err(|e| anyhow::anyhow!("invalid RSA key: {e}"));
    }
    if pem.contains("BEGIN PRIVATE KEY") {
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .context("invalid PEM base64")?;
        // PKCS#8 for Ed25519: the algorithm OID 1.3.101.112 (06 03 2b 65 70)
        // at offset 7, then the 32-byte private key wrapped in two OCTET
        // STRING headers (04 22 04 20) at offset 12.
        // Both the 48-byte form (openssl) and the 83-byte form with the
        // public key appended (ring, ed25519-dalek) hold the seed there.
        if der.len() >= 48
            && der[7..12] == [0x06, 0x03, 0x2b, 0x65, 0x70]
            && der[12..16] == [0x04, 0x22, 0x04, 0x20]
        {
            let seed = base64::engine::general_purpose::STANDARD.encode(&der[16..48]);
            return DkimSigningKey::new(&seed, DkimSigningAlgorithm::Ed25519)
                .map_err(|e| anyhow::anyhow!("invalid Ed25519 key: {e}"));
        }
        anyhow::bail!(
            "a PKCS#8 key that is not Ed25519; for RSA give a PKCS#1 key (openssl rsa -in key.pem -traditional)"
        );
    }
    anyhow::bail!("not a PEM private key (expected BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY)")
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
raw_header!(Precedence, "Precedence");
raw_header!(AutoSubmitted, "Auto-Submitted");
raw_header!(FeedbackId, "Feedback-ID");

/// Where messages go.
#[derive(Clone)]
pub enum Mailer {
    File(AsyncFileTransport<Tokio1Executor>),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl Mailer {
    /// Builds the configured transport once; SMTP connections are pooled
    /// and reused across messages.
    pub fn new(mail: &MailConfig) -> anyhow::Result<Mailer> {
        match mail.transport {
            Transport::File => Mailer::file(&mail.outbox_dir),
            Transport::Smtp => {
                let url = mail.smtp_url.as_str();
                let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .with_context(|| format!("mail.smtp_url {}", config::redact_url(url)))?;
                if let Some(password) = mail.smtp_password() {
                    let user = percent_decode(mail.smtp_url.username());
                    builder = builder.credentials(Credentials::new(user, password.to_owned()));
                }
                Ok(Mailer::Smtp(builder.build()))
            }
        }
    }

    /// A file transport into `dir` (created if missing).
    pub fn file(dir: &Path) -> anyhow::Result<Mailer> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create outbox {}", dir.display()))?;
        Ok(Mailer::File(AsyncFileTransport::new(dir)))
    }

    pub async fn send(&self, email: &Email) -> Result<(), SendError> {
        let message = &email.0;
        match self {
            Mailer::File(t) => t
                .send(message.clone())
                .await
                .map(drop)
                .map_err(|e| SendError::Transient(format!("writing the outbox: {e}"))),
            Mailer::Smtp(t) => t.send(message.clone()).await.map(drop).map_err(|e| {
                if e.is_permanent() {
                    SendError::Permanent(e.to_string())
                } else {
                    SendError::Transient(e.to_string())
                }
            }),
        }
    }
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}
