//! Composition: the digest's headers (From, To and Reply-To with plain
//! display names where they are ASCII, List-Id, List-Unsubscribe with
//! one-click, Precedence, Auto-Submitted, Feedback-ID), a multipart body in
//! the cheapest 7-bit-safe transfer encoding, the deterministic Message-ID,
//! the confirmation mail, and the DKIM signatures over the serialized bytes
//! (`super::dkim`). Pure: it builds bytes and sends nothing.

use std::time::SystemTime;

use anyhow::Context;
use base64::Engine as _;
use lettre::Message;
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use sha2::{Digest as _, Sha256};

use self::encoding::Encoding;
use super::Email;
use super::dkim::Signer;
use crate::config::{self, MailConfig};
use crate::domain::{Edition, Token};

mod encoding;

pub use encoding::html_fits;

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
    /// The envelope sender (a VERP address naming this delivery); `None`:
    /// the address of From.
    pub return_path: Option<&'a str>,
}

/// The confirmation mail's words, in the reader's language.
#[derive(Debug, Clone)]
pub struct Confirmation {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Builds messages with the site's headers and optional DKIM signature.
pub struct Composer {
    from: Mailbox,
    reply_to: Option<Mailbox>,
    list_id: String,
    feedback_id: Option<String>,
    unsubscribe_address: String,
    message_id_domain: String,
    dkim: Option<Signer>,
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
        // Every configured key signs (one RSA and one Ed25519 at most);
        // the keys were checked by aws-lc-rs at load.
        let dkim = Signer::new(&mail.dkim);
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

    /// The Message-ID of one subscriber's copy of one edition:
    /// `<edition.subscriber.hash@domain>`. The same on every attempt, so a
    /// resend after a crash is recognisably the same message; the edition
    /// and subscriber let a bounce that quotes it find its delivery, and the
    /// hash, derived from the secret token, makes it unguessable (the
    /// intake compares it with the one on the ledger).
    pub fn message_id(&self, edition: &Edition, subscriber_id: i64, token: &Token) -> String {
        let mut h = Sha256::new();
        h.update(edition.key().as_bytes());
        h.update([0]);
        h.update(token.as_str().as_bytes());
        let digest = h.finalize();
        format!(
            "<{}.{}.{}@{}>",
            edition.key(),
            subscriber_id,
            hex::encode(&digest[..12]),
            self.message_id_domain
        )
    }

    /// The double opt-in message, written by the caller in the reader's
    /// language (subject, text and HTML parts); this adds the headers.
    pub fn compose_confirmation(&self, to: &str, letter: &Confirmation) -> anyhow::Result<Email> {
        let address: lettre::Address = to.parse().with_context(|| format!("recipient {to}"))?;
        let envelope = lettre::address::Envelope::new(Some(self.from.email.clone()), vec![address.clone()])
            .context("the envelope")?;
        let message = Message::builder()
            .header(FromField::new(&self.from))
            .header(ToField::new(&Mailbox::new(None, address)))
            .envelope(envelope.clone())
            // No header may carry a line break, whatever the catalog says.
            .subject(letter.subject.replace(['\r', '\n'], " "))
            .date(SystemTime::now())
            .header(AutoSubmitted("auto-generated".into()))
            .multipart(
                MultiPart::alternative()
                    .singlepart(part(ContentType::TEXT_PLAIN, &letter.text))
                    .singlepart(part(ContentType::TEXT_HTML, &letter.html)),
            )
            .context("composing the confirmation")?;
        self.finish(envelope, &message)
    }

    /// A digest's message, signed when DKIM is configured.
    pub fn compose(&self, o: &Outgoing<'_>) -> anyhow::Result<Email> {
        self.seal(self.compose_unsealed(o)?)
    }

    /// A digest's message before signing: [`Composer::seal`] finishes it.
    /// A rendering thread composes its whole chunk first and seals it
    /// after, so the signatures run back to back (a signature right after
    /// a render costs more CPU: the two evict each other from the caches).
    pub fn compose_unsealed(&self, o: &Outgoing<'_>) -> anyhow::Result<Unsealed> {
        let address: lettre::Address = o
            .to_email
            .parse()
            .with_context(|| format!("recipient {}", o.to_email))?;
        let name = (!o.to_name.is_empty()).then(|| o.to_name.to_owned());
        let mailto = format!(
            "mailto:{}?subject=unsubscribe%20{}",
            self.unsubscribe_address, o.token
        );
        // The envelope only: Return-Path is written by the final MTA.
        let sender: lettre::Address = match o.return_path {
            Some(return_path) => return_path
                .parse()
                .with_context(|| format!("return path {return_path}"))?,
            None => self.from.email.clone(),
        };
        let envelope =
            lettre::address::Envelope::new(Some(sender), vec![address.clone()]).context("the envelope")?;
        let mut builder = Message::builder()
            .header(FromField::new(&self.from))
            .envelope(envelope.clone())
            .header(ToField::new(&Mailbox::new(name, address)))
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
            builder = builder.header(ReplyToField::new(r));
        }
        if let Some(f) = &self.feedback_id {
            builder = builder.header(FeedbackId(f.clone()));
        }
        let body = MultiPart::alternative()
            .singlepart(part(ContentType::TEXT_PLAIN, o.text))
            .singlepart(part(ContentType::TEXT_HTML, o.html));
        let message = builder.multipart(body).context("composing the message")?;
        Ok(Unsealed {
            envelope,
            bytes: message.formatted(),
        })
    }

    fn finish(&self, envelope: lettre::address::Envelope, message: &Message) -> anyhow::Result<Email> {
        self.seal(Unsealed {
            envelope,
            bytes: message.formatted(),
        })
    }

    /// The message in wire format, signed when DKIM is configured: the
    /// signature covers the very bytes that are sent.
    pub fn seal(&self, message: Unsealed) -> anyhow::Result<Email> {
        let Unsealed { envelope, bytes } = message;
        let bytes = match &self.dkim {
            None => bytes,
            Some(signer) => {
                let now = SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                signer.sign(&bytes, now).context("DKIM signing")?
            }
        };
        Ok(Email::from_parts(envelope, bytes))
    }
}

/// A composed message not yet signed (see [`Composer::compose_unsealed`]).
pub struct Unsealed {
    envelope: lettre::address::Envelope,
    bytes: Vec<u8>,
}

/// A part in a 7-bit-safe transfer encoding ([`encoding`]), so that a relay
/// without 8BITMIME takes every message as it is. lettre's own chooser
/// switches away from 7bit at 76-character lines, so the choice is made
/// there.
fn part(content_type: ContentType, text: &str) -> SinglePart {
    use lettre::message::header::ContentTransferEncoding as Cte;
    let encoded = if content_type == ContentType::TEXT_HTML {
        encoding::html(text)
    } else {
        encoding::text(text)
    };
    let cte = match encoded.encoding {
        Encoding::SevenBit => Cte::SevenBit,
        Encoding::QuotedPrintable => Cte::QuotedPrintable,
        Encoding::Base64 => Cte::Base64,
    };
    SinglePart::builder()
        .header(content_type)
        .body(Body::dangerous_pre_encoded(encoded.body, cte))
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
    if s.is_ascii() {
        return if is_atoms(s) {
            s.to_owned()
        } else {
            format!("\"{}\"", s.replace(['\\', '"'], ""))
        };
    }
    encoded_words(s).join(" ")
}

/// A mailbox as a header value: `address`, or `name <address>` with the
/// display name as atoms when it is atext and spaces (`Liam O'Brien`), a
/// quoted string when it is other ASCII (`"Smith, John"`, `"Ana \"Bee\"
/// Smith"`), and RFC 2047 encoded words only when it is not ASCII (lettre
/// encodes any name with a quote or comma, which spam filters score and
/// some clients show raw). Control characters, CR and LF included, become
/// spaces: nothing can break out of the header.
fn mailbox_value(m: &Mailbox) -> String {
    let address: &str = m.email.as_ref();
    let name: String = m
        .name
        .as_deref()
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let name = name.trim();
    if name.is_empty() {
        return address.to_owned();
    }
    if !name.is_ascii() {
        // Folded between words, so each line stays near 78 characters.
        return format!("{} <{address}>", encoded_words(name).join("\r\n "));
    }
    if is_atoms(name) {
        return format!("{name} <{address}>");
    }
    let mut quoted = String::with_capacity(name.len() + 8);
    quoted.push('"');
    for c in name.chars() {
        if matches!(c, '\\' | '"') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    format!("{quoted} <{address}>")
}

/// Whether `s` is a phrase of atoms: atext and single spaces between them.
fn is_atoms(s: &str) -> bool {
    !s.starts_with(' ')
        && !s.ends_with(' ')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ' ' || "!#$%&'*+-/=?^_`{|}~".contains(c))
}

/// `s` as RFC 2047 "B" encoded words of at most 75 characters: 45 bytes of
/// UTF-8 become 60 of base64, plus the 12 of "=?utf-8?b??=". Split on char
/// boundaries.
fn encoded_words(s: &str) -> Vec<String> {
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
        .collect()
}

/// From, To and Reply-To with the value [`mailbox_value`] writes. lettre
/// reads the mailbox back from the raw form (its own `Display`) when it
/// checks that From is there.
macro_rules! mailbox_header {
    ($ty:ident, $name:literal) => {
        #[derive(Debug, Clone)]
        struct $ty {
            raw: String,
            encoded: String,
        }

        impl $ty {
            fn new(m: &Mailbox) -> $ty {
                $ty {
                    raw: m.to_string(),
                    encoded: mailbox_value(m),
                }
            }
        }

        impl Header for $ty {
            fn name() -> HeaderName {
                HeaderName::new_from_ascii_str($name)
            }

            fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                let m: Mailbox = s.parse()?;
                Ok($ty::new(&m))
            }

            fn display(&self) -> HeaderValue {
                HeaderValue::dangerous_new_pre_encoded(Self::name(), self.raw.clone(), self.encoded.clone())
            }
        }
    };
}

mailbox_header!(FromField, "From");
mailbox_header!(ToField, "To");
mailbox_header!(ReplyToField, "Reply-To");

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

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain-ASCII names are atoms or a quoted string, never encoded
    /// words; other names are encoded words; no control character gets
    /// through.
    #[test]
    fn display_names_are_atoms_quoted_strings_or_encoded_words() {
        let address: lettre::Address = "reader@example.com".parse().unwrap();
        let value =
            |name: Option<&str>| mailbox_value(&Mailbox::new(name.map(str::to_owned), address.clone()));
        assert_eq!(value(None), "reader@example.com");
        assert_eq!(value(Some("  ")), "reader@example.com");
        assert_eq!(value(Some("Liam O'Brien")), "Liam O'Brien <reader@example.com>");
        assert_eq!(value(Some("Smith, John")), "\"Smith, John\" <reader@example.com>");
        assert_eq!(
            value(Some("Ana \"Bee\" Smith")),
            "\"Ana \\\"Bee\\\" Smith\" <reader@example.com>"
        );
        assert_eq!(value(Some("J. R. \\ Q")), "\"J. R. \\\\ Q\" <reader@example.com>");
        assert_eq!(
            value(Some("Evil\r\nBcc: x@example.org")),
            "\"Evil  Bcc: x@example.org\" <reader@example.com>"
        );
        let zoe = value(Some("Zoë Laurent"));
        assert_eq!(zoe, "=?utf-8?b?Wm/DqyBMYXVyZW50?= <reader@example.com>");
        let long = value(Some(&"Зоя ".repeat(20)));
        assert!(long.is_ascii() && long.contains("?=\r\n =?utf-8?b?"), "{long}");
        assert!(long.lines().all(|l| l.len() <= 78), "{long}");
        // lettre reads every form back (it checks From that way).
        for name in ["Liam O'Brien", "Smith, John", "Ana \"Bee\" Smith", "Zoë Laurent"] {
            let m = Mailbox::new(Some(name.to_owned()), address.clone());
            let parsed: Mailbox = m.to_string().parse().unwrap();
            assert_eq!(parsed.name.as_deref(), Some(name));
        }
    }
}
