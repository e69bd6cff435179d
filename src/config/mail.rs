//! The `mail` section: sender and reply addresses, the transport, the SMTP
//! relay ([`SmtpUrl`]), its password and its private CA
//! (`mail.smtp_ca_file`), the list headers' addresses and the DKIM key
//! ([`DkimKey`]), each checked at load. Reads the password, CA and key files
//! the section names; builds no transport (that is `crate::mail`).

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::ConfigError;
use super::check::Check;
use super::dkim::DkimKey;
use super::raw::{RawDkim, RawMail};
use super::smtp::SmtpUrl;
use super::values::{CaFile, Mailbox};
use crate::domain::{HeaderSafe, SubscriberEmail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    File,
    Smtp,
}

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub from: Mailbox,
    pub reply_to: Option<Mailbox>,
    pub transport: Transport,
    pub outbox_dir: PathBuf,
    pub smtp_url: SmtpUrl,
    pub smtp_password: Option<SecretString>,
    /// `mail.smtp_ca_file`: CA certificates trusted for the relay's
    /// certificate besides the OS trust store.
    pub smtp_ca: Option<CaFile>,
    pub feedback_id: Option<HeaderSafe>,
    pub unsubscribe_address: SubscriberEmail,
    /// The VERP envelope sender template (`bounces+{id}@…`); unset: the
    /// envelope sender is `from`'s address.
    pub return_path: Option<String>,
    pub dkim: Option<DkimConfig>,
}

/// DKIM signing settings; the key is read and parsed at load and held as a
/// secret.
#[derive(Debug, Clone)]
pub struct DkimConfig {
    pub domain: String,
    pub selector: String,
    pub key_file: PathBuf,
    pub key: DkimKey,
}

impl MailConfig {
    /// The SMTP password, for the mail transport only.
    pub fn smtp_password(&self) -> Option<&str> {
        self.smtp_password.as_ref().map(|s| s.expose_secret())
    }

    pub(super) fn from_raw(raw: &RawMail, c: &Check) -> Result<MailConfig, ConfigError> {
        let from = mailbox(c, "mail.from", &raw.from)?;
        let reply_to = match &raw.reply_to {
            Some(r) if !r.trim().is_empty() => Some(mailbox(c, "mail.reply_to", r)?),
            _ => None,
        };
        let transport = match raw.transport.as_str() {
            "file" => Transport::File,
            "smtp" => Transport::Smtp,
            other => {
                return Err(c.bad(
                    "mail.transport",
                    format!("{other:?} is not a transport; expected \"file\" or \"smtp\""),
                ));
            }
        };
        let smtp_url = SmtpUrl::parse(&raw.smtp_url).map_err(|m| c.bad("mail.smtp_url", m))?;
        let smtp_password = c.secret(
            "HERALD_MAIL__SMTP_PASSWORD",
            "mail.smtp_password_file",
            raw.smtp_password_file.as_deref(),
        )?;
        // Only the SMTP transport logs in: with the file transport a
        // password is harmless, and the defaults name no user.
        if transport == Transport::Smtp && smtp_password.is_some() && smtp_url.user().is_none() {
            return Err(c.bad(
                "mail.smtp_url",
                format!("an SMTP password is set but {smtp_url} names no user (smtp://USER@host)"),
            ));
        }
        let smtp_ca = match &raw.smtp_ca_file {
            None => None,
            Some(file) => {
                Some(CaFile::read(file, "the SMTP relay").map_err(|m| c.bad("mail.smtp_ca_file", m))?)
            }
        };
        let feedback_id = match &raw.feedback_id {
            Some(f) if !f.trim().is_empty() => {
                Some(HeaderSafe::parse(f, 200).map_err(|e| c.bad("mail.feedback_id", format!("{f:?} {e}")))?)
            }
            _ => None,
        };
        Ok(MailConfig {
            unsubscribe_address: unsubscribe_address(c, raw, &from)?,
            return_path: super::bounces::return_path(raw.return_path.as_deref(), c)?,
            dkim: raw
                .dkim
                .as_ref()
                .map(|d| DkimConfig::from_raw(d, c))
                .transpose()?,
            from,
            reply_to,
            transport,
            outbox_dir: raw.outbox_dir.clone(),
            smtp_url,
            smtp_password,
            smtp_ca,
            feedback_id,
        })
    }
}

impl DkimConfig {
    fn from_raw(d: &RawDkim, c: &Check) -> Result<DkimConfig, ConfigError> {
        let text = std::fs::read_to_string(&d.key_file).map_err(|e| {
            c.bad(
                "mail.dkim.key_file",
                format!("cannot read {}: {e}", d.key_file.display()),
            )
        })?;
        let key = DkimKey::parse(&text)
            .map_err(|m| c.bad("mail.dkim.key_file", format!("{} {m}", d.key_file.display())))?;
        Ok(DkimConfig {
            domain: dns_name(c, "mail.dkim.domain", &d.domain)?,
            selector: dns_name(c, "mail.dkim.selector", &d.selector)?,
            key_file: d.key_file.clone(),
            key,
        })
    }
}

fn mailbox(c: &Check, key: &str, raw: &str) -> Result<Mailbox, ConfigError> {
    Mailbox::parse(raw).map_err(|m| c.bad(key, format!("{raw:?}: {m}; expected \"Name <address>\"")))
}

/// `mail.unsubscribe_address`, else `unsubscribe@` and the domain of From.
fn unsubscribe_address(c: &Check, raw: &RawMail, from: &Mailbox) -> Result<SubscriberEmail, ConfigError> {
    match &raw.unsubscribe_address {
        Some(a) => SubscriberEmail::parse(a).map_err(|e| {
            c.bad(
                "mail.unsubscribe_address",
                format!("{e}; expected an email address"),
            )
        }),
        None => SubscriberEmail::parse(&format!("unsubscribe@{}", from.email.domain()))
            .map_err(|e| c.bad("mail.from", format!("cannot derive the unsubscribe address: {e}"))),
    }
}

/// A DNS name (a DKIM domain or selector), lower-cased.
fn dns_name(c: &Check, key: &str, s: &str) -> Result<String, ConfigError> {
    let ok = !s.is_empty()
        && s.split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    if ok {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(c.bad(key, format!("{s:?} is not a DNS name; expected e.g. example.com")))
    }
}
