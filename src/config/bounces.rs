//! The `bounces` and `guard` sections and `mail.return_path`: how Herald
//! hears bounces and complaints (the VERP template, the IMAP mailbox it
//! reads), what it does about them (thresholds), and when it stops an
//! edition (the guard's rates). Checked at load; reads the IMAP password
//! from the environment or its file, and the IMAP server's CA certificates
//! from their file. Opens no connection.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::check::Check;
use super::values::CaFile;
use crate::domain::SubscriberEmail;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBounces {
    pub hard_threshold: i64,
    pub soft_limit: i64,
    #[serde(deserialize_with = "super::raw::seconds")]
    pub soft_window: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap_password_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap_ca_file: Option<PathBuf>,
    pub imap_mailbox: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imap_move_to: Option<String>,
    pub imap_schedule: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGuard {
    pub complaint_rate: f64,
    pub bounce_rate: f64,
    pub min_sample: i64,
    pub domain_policy_blocks: i64,
}

/// What Herald does with bounces, and where it reads them.
#[derive(Debug, Clone)]
pub struct BouncesConfig {
    /// Hard bounces backed by a report or an enhanced status code after
    /// which an address is bounced (a bare SMTP 5xx counts towards
    /// `delivery.bounce_threshold` instead).
    pub hard_threshold: u32,
    /// Soft bounces within `soft_window` that bounce an address.
    pub soft_limit: u32,
    pub soft_window: Duration,
    pub imap: Option<ImapConfig>,
}

/// The bounce mailbox the daemon reads.
#[derive(Debug, Clone)]
pub struct ImapConfig {
    /// `imaps://user@host[:port]` (or `imap://…` for STARTTLS).
    pub url: url::Url,
    pub password: SecretString,
    /// The CA certificates that sign the server's certificate, from
    /// `bounces.imap_ca_file` (a private CA); unset: the public web roots.
    pub ca: Option<CaFile>,
    pub mailbox: String,
    /// Where processed messages go; unset: they stay, flagged \Seen and
    /// $HeraldProcessed.
    pub move_to: Option<String>,
    /// When the daemon reads it (cron with seconds).
    pub schedule: String,
}

impl ImapConfig {
    /// The password, for the IMAP client only.
    pub fn password(&self) -> &str {
        self.password.expose_secret()
    }

    /// The user name of the URL, percent-decoded (checked at load).
    pub fn user(&self) -> String {
        decoded_user(&self.url).unwrap_or_default()
    }

    /// The host as the URL gives it (an IPv6 address without brackets).
    pub fn host(&self) -> String {
        match self.url.host() {
            Some(url::Host::Ipv6(a)) => a.to_string(),
            Some(h) => h.to_string(),
            None => String::new(),
        }
    }

    /// The port of the URL, else 993 for `imaps` and 143 for `imap`.
    pub fn port(&self) -> u16 {
        self.url
            .port()
            .unwrap_or(if self.implicit_tls() { 993 } else { 143 })
    }

    /// `imaps`: TLS from the first byte; `imap`: STARTTLS, always required.
    pub fn implicit_tls(&self) -> bool {
        self.url.scheme() == "imaps"
    }
}

fn decoded_user(url: &url::Url) -> Option<String> {
    percent_encoding::percent_decode_str(url.username())
        .decode_utf8()
        .ok()
        .map(|u| u.into_owned())
}

/// When an edition is paused instead of pushing on.
#[derive(Debug, Clone, Copy)]
pub struct GuardConfig {
    /// Complaints per message sent (0.003 is Gmail's and Yahoo's 0.3%).
    pub complaint_rate: f64,
    /// Hard bounces per message sent.
    pub bounce_rate: f64,
    /// Messages an edition must have sent before its rates are judged.
    pub min_sample: u64,
    /// Policy blocks in a row from one domain that pause it (0: off).
    pub domain_policy_blocks: u32,
}

impl BouncesConfig {
    pub(super) fn from_raw(r: &RawBounces, c: &Check) -> Result<Self, ConfigError> {
        let imap = match r.imap_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw_url) => Some(ImapConfig::from_raw(raw_url, r, c)?),
        };
        Ok(BouncesConfig {
            hard_threshold: c.count("bounces.hard_threshold", r.hard_threshold, 100)? as u32,
            soft_limit: c.count("bounces.soft_limit", r.soft_limit, 1000)? as u32,
            soft_window: c.seconds("bounces.soft_window", r.soft_window, 3600.0, 365.0 * 86400.0)?,
            imap,
        })
    }
}

impl ImapConfig {
    fn from_raw(raw_url: &str, r: &RawBounces, c: &Check) -> Result<Self, ConfigError> {
        let url = url::Url::parse(raw_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "imap" | "imaps") && u.host_str().is_some())
            .ok_or_else(|| {
                c.bad(
                    "bounces.imap_url",
                    format!("{raw_url:?} is not an IMAP URL; expected e.g. imaps://bounces@imap.example.com"),
                )
            })?;
        if url.username().is_empty() {
            return Err(c.bad(
                "bounces.imap_url",
                "names no user; expected imaps://USER@host (the password comes from HERALD_BOUNCES__IMAP_PASSWORD or bounces.imap_password_file)",
            ));
        }
        if decoded_user(&url).is_none_or(|u| u.contains(['\r', '\n'])) {
            return Err(c.bad(
                "bounces.imap_url",
                "names a user that is not UTF-8 text on one line",
            ));
        }
        if !url.path().trim_matches('/').is_empty() || url.query().is_some() {
            return Err(c.bad(
                "bounces.imap_url",
                "has a path or query; expected imaps://USER@host[:port] (the folder is bounces.imap_mailbox)",
            ));
        }
        if url.password().is_some() {
            return Err(c.bad(
                "bounces.imap_url",
                "holds a password; set HERALD_BOUNCES__IMAP_PASSWORD or bounces.imap_password_file instead",
            ));
        }
        let password = c
            .secret(
                "HERALD_BOUNCES__IMAP_PASSWORD",
                "bounces.imap_password_file",
                r.imap_password_file.as_deref(),
            )?
            .ok_or_else(|| {
                c.bad(
                    "bounces.imap_url",
                    "is set but no password is: set HERALD_BOUNCES__IMAP_PASSWORD or bounces.imap_password_file",
                )
            })?;
        let mailbox = r.imap_mailbox.trim();
        if mailbox.is_empty() || mailbox.contains(['\r', '\n', '"']) {
            return Err(c.bad("bounces.imap_mailbox", "expected a mailbox name, e.g. INBOX"));
        }
        let move_to = match r.imap_move_to.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(m) if m.contains(['\r', '\n', '"']) || m == mailbox => {
                return Err(c.bad(
                    "bounces.imap_move_to",
                    format!("{m:?} is not a usable folder; expected another mailbox, e.g. Processed"),
                ));
            }
            Some(m) => Some(m.to_owned()),
        };
        let ca = match &r.imap_ca_file {
            None => None,
            Some(file) => {
                Some(CaFile::read(file, "the IMAP server").map_err(|m| c.bad("bounces.imap_ca_file", m))?)
            }
        };
        Ok(ImapConfig {
            url,
            password,
            ca,
            mailbox: mailbox.to_owned(),
            move_to,
            schedule: c.cron("bounces.imap_schedule", &r.imap_schedule, "0 */5 * * * *")?,
        })
    }
}

impl GuardConfig {
    pub(super) fn from_raw(g: &RawGuard, c: &Check) -> Result<Self, ConfigError> {
        Ok(GuardConfig {
            complaint_rate: c.number("guard.complaint_rate", g.complaint_rate, 0.0, 1.0)?,
            bounce_rate: c.number("guard.bounce_rate", g.bounce_rate, 0.0, 1.0)?,
            min_sample: c.count("guard.min_sample", g.min_sample, 100_000_000)? as u64,
            domain_policy_blocks: c.count_or_zero(
                "guard.domain_policy_blocks",
                g.domain_policy_blocks,
                100_000,
            )? as u32,
        })
    }
}

/// Checks `mail.return_path`: one `{id}` in the local part, and a valid
/// address once it is filled in.
pub(super) fn return_path(raw: Option<&str>, c: &Check) -> Result<Option<String>, ConfigError> {
    let Some(t) = raw.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let bad = |m: &str| {
        c.bad(
            "mail.return_path",
            format!("{t:?} {m}; expected e.g. bounces+{{id}}@bounces.example.com"),
        )
    };
    if t.matches("{id}").count() != 1 {
        return Err(bad("must hold {id} exactly once"));
    }
    match t.split_once('@') {
        Some((local, _)) if local.contains("{id}") => {}
        _ => return Err(bad("must hold {id} in the part before @")),
    }
    let sample = t.replace("{id}", "123456789-0123456789abcdef");
    SubscriberEmail::parse(&sample).map_err(|e| bad(&format!("is not an address once filled in ({e})")))?;
    Ok(Some(t.to_owned()))
}
