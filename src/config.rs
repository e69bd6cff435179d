//! Configuration: layers the built-in defaults (`config/herald.toml`, compiled
//! in), a TOML file, `HERALD_<SECTION>__<KEY>` environment variables and
//! command-line flags, then validates the result once into a typed [`Config`].
//! Secrets are read here from the environment or from files named in the
//! configuration and kept in [`SecretString`]s; nothing else in Herald reads
//! the environment. This module does no logging of values.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::{HeaderSafe, SendHour, SubscriberEmail, TimeZone};

/// The defaults: the commented example file shipped in `config/`.
pub const DEFAULTS_TOML: &str = include_str!("../config/herald.toml");

/// Where the file layer is looked up when neither `--config` nor
/// `HERALD_CONFIG` names one.
pub const DEFAULT_CONFIG_PATH: &str = "config/herald.toml";

/// Environment variables that hold secrets: read directly into
/// [`SecretString`]s, never merged into the layered (printable) data.
const SECRET_ENV: &[(&str, &str)] = &[
    ("HERALD_MAIL__SMTP_PASSWORD", "mail.smtp_password"),
    ("HERALD_HTTP__API_TOKEN", "http.api_token"),
];

/// A configuration problem: the process exits with status 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// What the command line contributes to the configuration.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--config PATH`.
    pub config_path: Option<PathBuf>,
    /// `--database-url URL`.
    pub database_url: Option<String>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseConfig,
    pub mail: MailConfig,
    pub site: SiteConfig,
    pub subscribers: SubscribersConfig,
    pub digest: DigestConfig,
    pub delivery: DeliveryConfig,
    pub schedule: ScheduleConfig,
    pub http: HttpConfig,
    pub feeds: FeedsConfig,
    /// Which file, if any, was layered over the defaults.
    pub source_file: Option<PathBuf>,
    raw: RawConfig,
}

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: DatabaseUrl,
    pub max_connections: u32,
}

/// A database URL; `Display` hides any password it carries.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.starts_with("sqlite:") || raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            Ok(DatabaseUrl(raw.to_owned()))
        } else {
            Err(format!(
                "{:?} is not a supported database URL; expected sqlite://PATH or postgres://USER@HOST/DB",
                redact_url(raw)
            ))
        }
    }

    /// The URL including any password, for the database driver only.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_postgres(&self) -> bool {
        self.0.starts_with("postgres")
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact_url(&self.0))
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// Replaces the password of `scheme://user:password@host…` with `[redacted]`.
pub fn redact_url(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://") else {
        return raw.to_owned();
    };
    let rest = &raw[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].find(':') {
            Some(colon) => format!(
                "{}{}:[redacted]{}",
                &raw[..scheme_end + 3],
                &authority[..colon],
                &raw[scheme_end + 3 + at..]
            ),
            None => raw.to_owned(),
        },
        None => raw.to_owned(),
    }
}

/// A mailbox as written in the configuration: `Name <addr>` or `addr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<HeaderSafe>,
    pub email: SubscriberEmail,
}

impl Mailbox {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let (name, addr) = match (raw.rfind('<'), raw.ends_with('>')) {
            (Some(open), true) => (
                Some(raw[..open].trim().trim_matches('"')),
                &raw[open + 1..raw.len() - 1],
            ),
            _ => (None, raw),
        };
        let email = SubscriberEmail::parse(addr).map_err(|e| format!("address {e}"))?;
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => Some(HeaderSafe::parse(n, 200).map_err(|e| format!("display name {e}"))?),
            None => None,
        };
        Ok(Mailbox { name, email })
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} <{}>", self.email),
            None => write!(f, "{}", self.email),
        }
    }
}

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
    pub smtp_url: url::Url,
    pub smtp_password: Option<SecretString>,
    pub feedback_id: Option<HeaderSafe>,
    pub unsubscribe_address: SubscriberEmail,
    pub dkim: Option<DkimConfig>,
}

/// DKIM signing settings; the key is read at start and held as a secret.
#[derive(Debug, Clone)]
pub struct DkimConfig {
    pub domain: String,
    pub selector: String,
    pub key_file: PathBuf,
    pub key_pem: SecretString,
}

/// When the daemon sends.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub tick: String,
    pub grace: Duration,
    pub weekly_day: chrono::Weekday,
}

#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub listen: std::net::SocketAddr,
    /// The bearer token `POST /api/stories` requires; unset disables the
    /// endpoint.
    pub api_token: Option<SecretString>,
}

impl HttpConfig {
    /// The API token, for the HTTP module's constant-time check only.
    pub fn api_token(&self) -> Option<&str> {
        self.api_token.as_ref().map(|s| s.expose_secret())
    }
}

/// How Herald pulls RSS, Atom and JSON feeds.
#[derive(Debug, Clone)]
pub struct FeedsConfig {
    /// When the daemon fetches every feed (cron with seconds).
    pub schedule: String,
    /// Whole-request limit for one feed, connection included.
    pub timeout: Duration,
    pub max_bytes: u64,
    pub max_redirects: usize,
    pub summary_chars: usize,
    /// Feeds fetched at once.
    pub concurrency: usize,
}

/// How the delivery engine sends.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    pub concurrency: usize,
    pub rate_per_second: Option<u32>,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    pub max_attempts: u32,
    pub max_age: Duration,
    pub retry_base: Duration,
    pub retry_max: Duration,
    pub linger: Duration,
    pub bounce_threshold: u32,
    pub lease: Duration,
    pub shutdown_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct DigestConfig {
    pub templates_dir: Option<PathBuf>,
    pub comment_weight: f64,
    pub gravity: f64,
    pub max_stories: usize,
    pub max_blog_posts: usize,
    pub max_per_author: usize,
    pub max_html_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct SiteConfig {
    pub name: HeaderSafe,
    pub postal_address: String,
    pub public_url: url::Url,
}

#[derive(Debug, Clone)]
pub struct SubscribersConfig {
    pub default_timezone: TimeZone,
    pub default_send_hour: SendHour,
}

// The raw, layered form: exactly the keys an operator may write. Every
// struct denies unknown fields so a typo stops the start.

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    database: RawDatabase,
    mail: RawMail,
    site: RawSite,
    subscribers: RawSubscribers,
    digest: RawDigest,
    delivery: RawDelivery,
    schedule: RawSchedule,
    http: RawHttp,
    feeds: RawFeeds,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFeeds {
    schedule: String,
    timeout: f64,
    max_bytes: i64,
    max_redirects: i64,
    summary_chars: i64,
    concurrency: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchedule {
    tick: String,
    grace: f64,
    weekly_day: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    api_token_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    concurrency: i64,
    rate_per_second: i64,
    connect_timeout: f64,
    command_timeout: f64,
    max_attempts: i64,
    max_age: f64,
    retry_base: f64,
    retry_max: f64,
    linger: f64,
    bounce_threshold: i64,
    lease: f64,
    shutdown_timeout: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDigest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    templates_dir: Option<PathBuf>,
    comment_weight: f64,
    gravity: f64,
    max_stories: i64,
    max_blog_posts: i64,
    max_per_author: i64,
    max_html_bytes: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDkim {
    domain: String,
    selector: String,
    key_file: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: String,
    max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMail {
    from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reply_to: Option<String>,
    transport: String,
    outbox_dir: PathBuf,
    smtp_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    smtp_password_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    feedback_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unsubscribe_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dkim: Option<RawDkim>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSite {
    name: String,
    postal_address: String,
    public_url: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubscribers {
    default_timezone: String,
    default_send_hour: i64,
}

impl Config {
    /// Loads the layers from the process environment.
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(overrides, &env)
    }

    /// Loads the layers with an explicit environment (for tests).
    pub fn load_from(overrides: &Overrides, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let env_var = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());

        let file = match (&overrides.config_path, env_var("HERALD_CONFIG")) {
            (Some(path), _) => Some(path.clone()),
            (None, Some(path)) if !path.is_empty() => Some(PathBuf::from(path)),
            _ => Some(PathBuf::from(DEFAULT_CONFIG_PATH)).filter(|p| p.is_file()),
        };

        let mut figment = Figment::new().merge(Toml::string(DEFAULTS_TOML));
        if let Some(path) = &file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError(format!("cannot read config file {}: {e}", path.display())))?;
            check_no_inline_secrets(path, &text)?;
            // `Toml::file` would skip a missing file silently; reading it
            // ourselves makes a typo in --config an error. Naming the file
            // keeps its path in error messages.
            figment = figment.merge(Toml::file_exact(path));
        }
        for (name, value) in env {
            let Some(rest) = name.strip_prefix("HERALD_") else {
                continue;
            };
            if !rest.contains("__") || SECRET_ENV.iter().any(|(secret, _)| secret == name) {
                continue;
            }
            let key = rest.to_ascii_lowercase().replace("__", ".");
            figment = figment.merge(Layer::new(
                format!("environment variable {name}"),
                &key,
                value.parse().expect("infallible"),
            ));
        }
        if let Some(url) = &overrides.database_url {
            figment = figment.merge(Layer::new(
                "--database-url flag".into(),
                "database.url",
                url.as_str().into(),
            ));
        }

        let raw: RawConfig = figment
            .extract()
            .map_err(|e| ConfigError(describe_figment_error(e)))?;
        let where_ = |key: &str| -> String {
            figment
                .find_metadata(key)
                .map(|m| match &m.source {
                    Some(src) => format!(" (from {src})"),
                    None => format!(" (from {})", m.name),
                })
                .unwrap_or_default()
        };
        let bad = |key: &str, msg: String| ConfigError(format!("config key {key}{}: {msg}", where_(key)));

        let database = DatabaseConfig {
            url: DatabaseUrl::parse(&raw.database.url).map_err(|m| bad("database.url", m))?,
            max_connections: match raw.database.max_connections {
                0 => {
                    return Err(bad(
                        "database.max_connections",
                        "0 is out of range; expected at least 1".into(),
                    ));
                }
                n => n,
            },
        };

        let from = Mailbox::parse(&raw.mail.from).map_err(|m| {
            bad(
                "mail.from",
                format!("{:?}: {m}; expected \"Name <address>\"", raw.mail.from),
            )
        })?;
        let reply_to = match &raw.mail.reply_to {
            Some(r) if !r.trim().is_empty() => Some(Mailbox::parse(r).map_err(|m| {
                bad(
                    "mail.reply_to",
                    format!("{r:?}: {m}; expected \"Name <address>\""),
                )
            })?),
            _ => None,
        };
        let transport = match raw.mail.transport.as_str() {
            "file" => Transport::File,
            "smtp" => Transport::Smtp,
            other => {
                return Err(bad(
                    "mail.transport",
                    format!("{other:?} is not a transport; expected \"file\" or \"smtp\""),
                ));
            }
        };
        let smtp_url = url::Url::parse(&raw.mail.smtp_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "smtp" | "smtps") && u.host_str().is_some())
            .ok_or_else(|| {
                bad(
                    "mail.smtp_url",
                    format!(
                        "{:?} is not an SMTP URL; expected smtp://host[:port] or smtps://host[:port]",
                        redact_url(&raw.mail.smtp_url)
                    ),
                )
            })?;
        if smtp_url.password().is_some() {
            return Err(bad(
                "mail.smtp_url",
                "contains a password; set HERALD_MAIL__SMTP_PASSWORD or mail.smtp_password_file instead"
                    .into(),
            ));
        }
        let smtp_password = match (
            env_var("HERALD_MAIL__SMTP_PASSWORD"),
            &raw.mail.smtp_password_file,
        ) {
            (Some(p), _) if !p.is_empty() => Some(SecretString::from(p)),
            (_, Some(path)) => Some(read_secret_file(path).map_err(|m| bad("mail.smtp_password_file", m))?),
            _ => None,
        };
        let feedback_id = match &raw.mail.feedback_id {
            Some(f) if !f.trim().is_empty() => {
                Some(HeaderSafe::parse(f, 200).map_err(|e| bad("mail.feedback_id", format!("{f:?} {e}")))?)
            }
            _ => None,
        };
        let unsubscribe_address = match &raw.mail.unsubscribe_address {
            Some(a) => SubscriberEmail::parse(a).map_err(|e| {
                bad(
                    "mail.unsubscribe_address",
                    format!("{e}; expected an email address"),
                )
            })?,
            None => SubscriberEmail::parse(&format!("unsubscribe@{}", from.email.domain()))
                .map_err(|e| bad("mail.from", format!("cannot derive the unsubscribe address: {e}")))?,
        };
        let dkim = match &raw.mail.dkim {
            None => None,
            Some(d) => {
                let label = |s: &str, key: &str| -> Result<String, ConfigError> {
                    let ok = !s.is_empty()
                        && s.split('.').all(|part| {
                            !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        });
                    if ok {
                        Ok(s.to_ascii_lowercase())
                    } else {
                        Err(bad(
                            key,
                            format!("{s:?} is not a DNS name; expected e.g. example.com"),
                        ))
                    }
                };
                let key_pem = std::fs::read_to_string(&d.key_file).map_err(|e| {
                    bad(
                        "mail.dkim.key_file",
                        format!("cannot read {}: {e}", d.key_file.display()),
                    )
                })?;
                if !key_pem.contains("-----BEGIN") {
                    return Err(bad(
                        "mail.dkim.key_file",
                        format!("{} is not a PEM private key", d.key_file.display()),
                    ));
                }
                Some(DkimConfig {
                    domain: label(&d.domain, "mail.dkim.domain")?,
                    selector: label(&d.selector, "mail.dkim.selector")?,
                    key_file: d.key_file.clone(),
                    key_pem: SecretString::from(key_pem),
                })
            }
        };
        let mail = MailConfig {
            feedback_id,
            unsubscribe_address,
            dkim,
            from,
            reply_to,
            transport,
            outbox_dir: raw.mail.outbox_dir.clone(),
            smtp_url,
            smtp_password,
        };

        let site = SiteConfig {
            name: HeaderSafe::parse(&raw.site.name, 100)
                .map_err(|e| bad("site.name", format!("{:?} {e}", raw.site.name)))?,
            postal_address: {
                let a = raw.site.postal_address.trim();
                if a.is_empty() {
                    return Err(bad(
                        "site.postal_address",
                        "is empty; bulk mail must carry a postal address".into(),
                    ));
                }
                a.to_owned()
            },
            public_url: url::Url::parse(&raw.site.public_url)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                .ok_or_else(|| {
                    bad(
                        "site.public_url",
                        format!(
                            "{:?} is not an absolute http(s) URL; expected e.g. https://news.example.com",
                            raw.site.public_url
                        ),
                    )
                })?,
        };

        let subscribers = SubscribersConfig {
            default_timezone: TimeZone::parse(&raw.subscribers.default_timezone)
                .map_err(|e| bad("subscribers.default_timezone", e.to_string()))?,
            default_send_hour: SendHour::new(raw.subscribers.default_send_hour)
                .map_err(|e| bad("subscribers.default_send_hour", e.to_string()))?,
        };

        let d = &raw.digest;
        let positive = |key: &str, v: i64, max: i64| -> Result<usize, ConfigError> {
            if (1..=max).contains(&v) {
                Ok(v as usize)
            } else {
                Err(bad(key, format!("{v} is out of range; expected 1 to {max}")))
            }
        };
        let digest = DigestConfig {
            templates_dir: d.templates_dir.clone(),
            comment_weight: match d.comment_weight {
                w if w.is_finite() && (0.0..=100.0).contains(&w) => w,
                w => {
                    return Err(bad(
                        "digest.comment_weight",
                        format!("{w} is out of range; expected 0 to 100"),
                    ));
                }
            },
            gravity: match d.gravity {
                g if g.is_finite() && (0.0..=10.0).contains(&g) => g,
                g => {
                    return Err(bad(
                        "digest.gravity",
                        format!("{g} is out of range; expected 0 to 10"),
                    ));
                }
            },
            max_stories: positive("digest.max_stories", d.max_stories, 100)?,
            max_blog_posts: match d.max_blog_posts {
                0 => 0,
                n => positive("digest.max_blog_posts", n, 100)?,
            },
            max_per_author: positive("digest.max_per_author", d.max_per_author, 100)?,
            max_html_bytes: positive("digest.max_html_bytes", d.max_html_bytes, 10_000_000)?,
        };

        let r = &raw.delivery;
        let seconds = |key: &str, v: f64, min: f64, max: f64| -> Result<Duration, ConfigError> {
            if v.is_finite() && (min..=max).contains(&v) {
                Ok(Duration::from_secs_f64(v))
            } else {
                Err(bad(
                    key,
                    format!("{v} is out of range; expected {min} to {max} seconds"),
                ))
            }
        };
        let delivery = DeliveryConfig {
            concurrency: positive("delivery.concurrency", r.concurrency, 256)?,
            rate_per_second: match r.rate_per_second {
                0 => None,
                n => Some(positive("delivery.rate_per_second", n, 1_000_000)? as u32),
            },
            connect_timeout: seconds("delivery.connect_timeout", r.connect_timeout, 0.1, 600.0)?,
            command_timeout: seconds("delivery.command_timeout", r.command_timeout, 0.1, 3600.0)?,
            max_attempts: positive("delivery.max_attempts", r.max_attempts, 100)? as u32,
            max_age: seconds("delivery.max_age", r.max_age, 1.0, 30.0 * 86400.0)?,
            retry_base: seconds("delivery.retry_base", r.retry_base, 0.01, 86400.0)?,
            retry_max: seconds("delivery.retry_max", r.retry_max, 0.01, 7.0 * 86400.0)?,
            linger: seconds("delivery.linger", r.linger, 0.0, 86400.0)?,
            bounce_threshold: positive("delivery.bounce_threshold", r.bounce_threshold, 100)? as u32,
            lease: seconds("delivery.lease", r.lease, 0.5, 86400.0)?,
            shutdown_timeout: seconds("delivery.shutdown_timeout", r.shutdown_timeout, 0.0, 3600.0)?,
        };

        let cron = |key: &str, expr: &str, example: &str| -> Result<String, ConfigError> {
            let fields = expr.split_whitespace().count();
            if !(6..=7).contains(&fields) {
                return Err(bad(
                    key,
                    format!(
                        "{expr:?} has {fields} fields; expected a cron expression with seconds, e.g. {example:?}"
                    ),
                ));
            }
            Ok(expr.to_owned())
        };
        let sc = &raw.schedule;
        cron("schedule.tick", &sc.tick, "0 */5 * * * *")?;
        let schedule = ScheduleConfig {
            tick: sc.tick.clone(),
            grace: seconds("schedule.grace", sc.grace, 60.0, 7.0 * 86400.0)?,
            weekly_day: sc.weekly_day.parse().map_err(|_| {
                bad(
                    "schedule.weekly_day",
                    format!("{:?} is not a day; expected e.g. monday", sc.weekly_day),
                )
            })?,
        };
        let http = HttpConfig {
            listen: raw.http.listen.parse().map_err(|_| {
                bad(
                    "http.listen",
                    format!(
                        "{:?} is not an address; expected e.g. 127.0.0.1:8080",
                        raw.http.listen
                    ),
                )
            })?,
            api_token: match (env_var("HERALD_HTTP__API_TOKEN"), &raw.http.api_token_file) {
                (Some(t), _) if !t.is_empty() => Some(SecretString::from(t)),
                (_, Some(path)) => Some(read_secret_file(path).map_err(|m| bad("http.api_token_file", m))?),
                _ => None,
            },
        };
        if let Some(token) = http.api_token()
            && token.len() < 16
        {
            return Err(bad(
                "http.api_token",
                format!(
                    "is {} characters long; expected at least 16 (e.g. from `openssl rand -hex 32`)",
                    token.len()
                ),
            ));
        }
        let f = &raw.feeds;
        let feeds = FeedsConfig {
            schedule: cron("feeds.schedule", &f.schedule, "0 */15 * * * *")?,
            timeout: seconds("feeds.timeout", f.timeout, 0.1, 600.0)?,
            max_bytes: positive("feeds.max_bytes", f.max_bytes, 1_000_000_000)? as u64,
            max_redirects: match f.max_redirects {
                0 => 0,
                n => positive("feeds.max_redirects", n, 20)?,
            },
            summary_chars: positive("feeds.summary_chars", f.summary_chars, 2000)?,
            concurrency: positive("feeds.concurrency", f.concurrency, 256)?,
        };

        // Keep only the redacted URL in the printable copy.
        let mut raw = raw;
        raw.database.url = database.url.to_string();
        Ok(Config {
            database,
            mail,
            site,
            subscribers,
            digest,
            delivery,
            schedule,
            http,
            feeds,
            source_file: file,
            raw,
        })
    }

    /// The effective configuration as TOML, with secrets and passwords
    /// redacted, for `herald config check`.
    pub fn to_redacted_toml(&self) -> String {
        let mut out = toml::to_string_pretty(&self.raw).unwrap_or_else(|e| format!("# cannot print: {e}\n"));
        if self.mail.dkim.is_some() {
            out.push_str("\n# mail.dkim key loaded from mail.dkim.key_file (value redacted)\n");
        }
        if self.mail.smtp_password.is_some() {
            out.push_str("\n# mail.smtp_password is set (value redacted)\n");
        }
        if self.http.api_token.is_some() {
            out.push_str("\n# http.api_token is set (value redacted)\n");
        }
        out
    }
}

impl MailConfig {
    /// The SMTP password, for the mail transport only.
    pub fn smtp_password(&self) -> Option<&str> {
        self.smtp_password.as_ref().map(|s| s.expose_secret())
    }
}

fn read_secret_file(path: &Path) -> Result<SecretString, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let first = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if first.is_empty() {
        return Err(format!(
            "{} is empty; expected the secret on its first line",
            path.display()
        ));
    }
    Ok(SecretString::from(first.to_owned()))
}

/// A secret written straight into the file gets a precise message instead of
/// a generic "unknown key".
fn check_no_inline_secrets(path: &Path, text: &str) -> Result<(), ConfigError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        ConfigError(format!(
            "config file {}: {}",
            path.display(),
            e.to_string().trim_end()
        ))
    })?;
    for (env, key) in SECRET_ENV {
        let (section, field) = key.split_once('.').expect("secret keys are section.key");
        if table.get(section).and_then(|s| s.get(field)).is_some() {
            return Err(ConfigError(format!(
                "config file {}: key {key} holds a secret and is not allowed in a file; set {env} or {key}_file",
                path.display()
            )));
        }
    }
    Ok(())
}

/// One value from the environment or the command line, named after where it
/// came from so that an error can point at it.
struct Layer {
    name: String,
    dict: Dict,
}

impl Layer {
    fn new(name: String, dotted_key: &str, value: Value) -> Self {
        let mut value = value;
        for part in dotted_key.rsplit('.') {
            let mut dict = Dict::new();
            dict.insert(part.to_owned(), value);
            value = Value::from(dict);
        }
        let dict = value.into_dict().expect("built as a dict");
        Layer { name, dict }
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

fn describe_figment_error(e: figment::Error) -> String {
    let mut out = Vec::new();
    for err in e {
        let key = if err.path.is_empty() {
            String::new()
        } else {
            format!("config key {}: ", err.path.join("."))
        };
        let source = match (&err.metadata,) {
            (Some(m),) => match &m.source {
                Some(src) => format!(" (in {src})"),
                None => format!(" (in {})", m.name),
            },
            _ => String::new(),
        };
        let what = match &err.kind {
            figment::error::Kind::UnknownField(field, expected) => {
                format!("unknown key {field:?}; expected one of: {}", expected.join(", "))
            }
            other => other.to_string(),
        };
        out.push(format!("{key}{what}{source}"));
    }
    out.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::load_from(
            &Overrides {
                config_path: Some(PathBuf::from("config/herald.toml")),
                database_url: None,
            },
            &env,
        )
    }

    #[test]
    fn defaults_are_valid() {
        let c = load(&[]).unwrap();
        assert_eq!(c.database.url.expose(), "sqlite://herald.db");
        assert_eq!(c.mail.transport, Transport::File);
        assert_eq!(c.subscribers.default_send_hour.get(), 7);
        assert!(c.mail.reply_to.is_none());
    }

    #[test]
    fn env_overrides_and_errors_name_key() {
        let c = load(&[("HERALD_DATABASE__MAX_CONNECTIONS", "9")]).unwrap();
        assert_eq!(c.database.max_connections, 9);
        let e = load(&[("HERALD_DATABASE__MAX_CONNECTIONS", "many")])
            .unwrap_err()
            .0;
        assert!(
            e.contains("database.max_connections") && e.contains("many"),
            "{e}"
        );
        let e = load(&[("HERALD_DATABASE__URLX", "x")]).unwrap_err().0;
        assert!(e.contains("urlx"), "{e}");
        let e = load(&[("HERALD_SUBSCRIBERS__DEFAULT_SEND_HOUR", "25")])
            .unwrap_err()
            .0;
        assert!(
            e.contains("subscribers.default_send_hour") && e.contains("25"),
            "{e}"
        );
        assert!(e.contains("HERALD_SUBSCRIBERS__DEFAULT_SEND_HOUR"), "{e}");
    }

    #[test]
    fn secrets_are_redacted() {
        let c = load(&[
            ("HERALD_MAIL__SMTP_PASSWORD", "hunter2"),
            ("HERALD_DATABASE__URL", "postgres://u:pw@db/herald"),
        ])
        .unwrap();
        assert_eq!(c.mail.smtp_password(), Some("hunter2"));
        let printed = format!("{}\n{:?}", c.to_redacted_toml(), c);
        assert!(
            !printed.contains("hunter2") && !printed.contains("pw@"),
            "{printed}"
        );
        assert!(printed.contains("postgres://u:[redacted]@db/herald"), "{printed}");
    }

    #[test]
    fn redacts_only_passwords() {
        assert_eq!(redact_url("postgres://a@h/d"), "postgres://a@h/d");
        assert_eq!(redact_url("postgres://a:b@h/d"), "postgres://a:[redacted]@h/d");
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }
}
