//! Composition: the digest's headers (From, List-Id, List-Unsubscribe with
//! one-click, Precedence, Auto-Submitted, Feedback-ID), a multipart body in
//! the cheapest valid transfer encoding, the deterministic Message-ID, the
//! confirmation mail, and the DKIM signature. Pure: it builds bytes and
//! sends nothing.

use std::time::SystemTime;

use anyhow::Context;
use lettre::Message;
use lettre::message::dkim::{
    DkimCanonicalization, DkimCanonicalizationType, DkimConfig, DkimSigningAlgorithm, DkimSigningKey,
};
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};
use sha2::{Digest as _, Sha256};

use super::Email;
use crate::config::{self, MailConfig};
use crate::domain::{Edition, Token};

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
        let mut builder = Message::builder().from(self.from.clone());
        if let Some(return_path) = o.return_path {
            // The envelope only: Return-Path is written by the final MTA.
            let sender: lettre::Address = return_path
                .parse()
                .with_context(|| format!("return path {return_path}"))?;
            let envelope = lettre::address::Envelope::new(Some(sender), vec![address.clone()])
                .context("the envelope")?;
            builder = builder.envelope(envelope);
        }
        let mut builder = builder
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
}
