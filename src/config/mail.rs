//! The `mail` section: sender and reply addresses, the transport, the SMTP
//! relay ([`SmtpUrl`]), its password and its private CA
//! (`mail.smtp_ca_file`), the list headers' addresses and the DKIM keys
//! ([`DkimKey`]: one, or one RSA and one Ed25519 for dual signing), each
//! checked at load. Reads the password, CA and key files the section names;
//! builds no transport (that is `crate::mail`).

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use super::ConfigError;
use super::check::Check;
use super::dkim::DkimAlgorithm;
use super::dkim::DkimKey;
use super::raw::{RawDkim, RawDkimKeys, RawMail};
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
    /// The DKIM keys to sign with: none, one, or one RSA and one Ed25519
    /// (RFC 8463 dual signing); each message carries one signature per key.
    pub dkim: Vec<DkimConfig>,
}

/// DKIM signing settings; the key is read and parsed at load by the
/// library that signs with it.
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
            dkim: dkim_keys(raw.dkim.as_ref(), c)?,
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

/// `mail.dkim`: a table, or an array of at most two tables holding one RSA
/// and one Ed25519 key (two keys of one algorithm would only double the
/// signing cost: receivers need one signature per algorithm).
fn dkim_keys(raw: Option<&RawDkimKeys>, c: &Check) -> Result<Vec<DkimConfig>, ConfigError> {
    let raw: &[RawDkim] = match raw {
        None => &[],
        Some(RawDkimKeys::One(d)) => std::slice::from_ref(d),
        Some(RawDkimKeys::Many(v)) => v,
    };
    if raw.len() > 2 {
        return Err(c.bad(
            "mail.dkim",
            format!(
                "names {} keys; expected at most two, one RSA and one Ed25519",
                raw.len()
            ),
        ));
    }
    let keys = raw
        .iter()
        .map(|d| DkimConfig::from_raw(d, c))
        .collect::<Result<Vec<_>, _>>()?;
    if let [a, b] = keys.as_slice()
        && a.key.algorithm() == b.key.algorithm()
    {
        let name = match a.key.algorithm() {
            DkimAlgorithm::Rsa => "RSA",
            DkimAlgorithm::Ed25519 => "Ed25519",
        };
        return Err(c.bad(
            "mail.dkim.key_file",
            format!(
                "{} and {} are both {name} keys; two keys must be one RSA and one Ed25519",
                a.key_file.display(),
                b.key_file.display()
            ),
        ));
    }
    Ok(keys)
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
