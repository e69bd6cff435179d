//! Every section but `mail` (which has its own file): the typed settings and
//! one `from_raw` each, turning the raw serde form into checked values
//! through [`Check`], plus the small values other modules build from a
//! section (`ScheduleConfig::rules`, `SubscribersConfig::defaults`) so they
//! are built in one place. Reads only the API token file.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::ConfigError;
use super::check::Check;
use super::raw::{
    RawDatabase, RawDelivery, RawDigest, RawFeeds, RawHttp, RawSchedule, RawSite, RawSubscribers,
};
use super::values::DatabaseUrl;
use crate::domain::SubscriberDefaults;
use crate::domain::{Frequency, HeaderSafe, Locale, SendHour, SubscriberStatus, TimeZone};
use crate::schedule::ScheduleRules;

#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    pub url: DatabaseUrl,
    pub max_connections: u32,
}

#[derive(Debug, Clone)]
pub struct SiteConfig {
    pub name: HeaderSafe,
    pub postal_address: String,
    pub public_url: url::Url,
    /// The default language; a catalog serves it (checked at load).
    pub locale: Locale,
}

#[derive(Debug, Clone)]
pub struct SubscribersConfig {
    pub default_timezone: TimeZone,
    pub default_send_hour: SendHour,
}

#[derive(Debug, Clone)]
pub struct DigestConfig {
    pub templates_dir: Option<PathBuf>,
    pub comment_weight: f64,
    pub exposure_hours: f64,
    pub prior_hours: f64,
    pub period_hours: f64,
    pub max_stories: usize,
    pub max_blog_posts: usize,
    pub max_per_author: usize,
    pub max_html_bytes: usize,
    /// Longest summary a digest shows, in characters (cut at a word
    /// boundary with an ellipsis), in both parts.
    pub summary_chars: usize,
    /// `digest.story_languages`, with the site's language it falls back on.
    pub story_languages: crate::select::Languages,
}

/// The range of `digest.summary_chars`: a summary cut shorter than about
/// one line reads as a broken one; a longer one than a few short
/// paragraphs turns the digest into the article.
pub const MIN_SUMMARY_CHARS: i64 = 40;
pub const MAX_SUMMARY_CHARS: i64 = 1000;

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
    /// How often a run renews its heartbeat in the store.
    pub heartbeat: Duration,
    /// How long a run may stay silent before its claims are free: the most
    /// clock and latency slack between machines that Herald trusts.
    pub heartbeat_timeout: Duration,
    /// How long the relay may refuse everything (transient failures only,
    /// no success) before the run stops and leaves its rows deferred.
    pub outage_limit: Duration,
    pub shutdown_timeout: Duration,
    /// How long delivery rows are kept before the retention pass folds
    /// them into their edition's counts (whole days, at least
    /// [`MIN_RETENTION_DAYS`]).
    pub retention: chrono::Duration,
}

/// The shortest `delivery.retention`, in days: longer than two weekly
/// periods, the furthest back a subscriber's history (and so "never repeat
/// a story") reads.
pub const MIN_RETENTION_DAYS: i64 = 15;

/// When the daemon sends.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    /// Cron with seconds, checked with the scheduler's own parser.
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
    /// Peers whose forwarded-client header is believed (addresses are
    /// single-address networks).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The header those proxies maintain.
    pub forwarded_header: ForwardedHeader,
    /// From a connection's first byte (or the end of its last response) to
    /// the end of the next request's headers.
    pub header_timeout: Duration,
    /// From the end of the headers to the end of the response, body
    /// reading included.
    pub request_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
}

/// The header a trusted proxy writes the client's address into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, …` (nginx, Caddy, most).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

impl ForwardedHeader {
    /// The header's name, lower-case.
    pub fn name(self) -> &'static str {
        match self {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
        }
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

impl DatabaseConfig {
    pub(super) fn from_raw(raw: &RawDatabase, c: &Check) -> Result<Self, ConfigError> {
        if raw.max_connections == 0 {
            return Err(c.bad(
                "database.max_connections",
                "0 is out of range; expected at least 1",
            ));
        }
        Ok(DatabaseConfig {
            url: DatabaseUrl::parse(&raw.url).map_err(|m| c.bad("database.url", m))?,
            max_connections: raw.max_connections,
        })
    }
}

impl SiteConfig {
    pub(super) fn from_raw(raw: &RawSite, c: &Check) -> Result<Self, ConfigError> {
        let name = HeaderSafe::parse(&raw.name, 100)
            .map_err(|e| c.bad("site.name", format!("{:?} {e}", raw.name)))?;
        let postal_address = raw.postal_address.trim();
        if postal_address.is_empty() {
            return Err(c.bad(
                "site.postal_address",
                "is empty; bulk mail must carry a postal address",
            ));
        }
        let public_url = url::Url::parse(&raw.public_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                c.bad(
                    "site.public_url",
                    format!(
                        "{:?} is not an absolute http(s) URL; expected e.g. https://news.example.com",
                        raw.public_url
                    ),
                )
            })?;
        let locale = Locale::parse(&raw.locale).map_err(|e| c.bad("site.locale", e.to_string()))?;
        crate::i18n::Catalogs::builtin(&locale).map_err(|e| c.bad("site.locale", e.to_string()))?;
        Ok(SiteConfig {
            name,
            postal_address: postal_address.to_owned(),
            public_url,
            locale,
        })
    }
}

impl SubscribersConfig {
    pub(super) fn from_raw(raw: &RawSubscribers, c: &Check) -> Result<Self, ConfigError> {
        Ok(SubscribersConfig {
            default_timezone: TimeZone::parse(&raw.default_timezone)
                .map_err(|e| c.bad("subscribers.default_timezone", e.to_string()))?,
            default_send_hour: SendHour::new(raw.default_send_hour)
                .map_err(|e| c.bad("subscribers.default_send_hour", e.to_string()))?,
        })
    }

    /// What an import gives a new subscriber whose row leaves a value out:
    /// this section's zone and hour, a daily digest, active.
    pub fn defaults(&self) -> SubscriberDefaults {
        SubscriberDefaults {
            timezone: self.default_timezone,
            send_hour: self.default_send_hour,
            frequency: Frequency::Daily,
            status: SubscriberStatus::Active,
        }
    }
}

impl DigestConfig {
    /// The ranking and size rules `select` applies, built from this section.
    pub fn rules(&self) -> crate::select::Rules {
        crate::select::Rules {
            comment_weight: self.comment_weight,
            exposure_hours: self.exposure_hours,
            prior_hours: self.prior_hours,
            period_hours: self.period_hours,
            max_stories: self.max_stories,
            max_blog_posts: self.max_blog_posts,
            max_per_author: self.max_per_author,
            languages: self.story_languages,
        }
    }

    /// The site's section comes first: `theirs_first` needs its language.
    pub(super) fn from_raw(d: &RawDigest, site: &SiteConfig, c: &Check) -> Result<Self, ConfigError> {
        if d.gravity.is_some() {
            return Err(c.bad(
                "digest.gravity",
                "was removed with the age-decay (\"hot\") ranking: stories are now ranked on their \
                 engagement rate within each period (digest.exposure_hours, digest.prior_hours, \
                 digest.period_hours; see the README's Ranking section); delete digest.gravity",
            ));
        }
        Ok(DigestConfig {
            templates_dir: d.templates_dir.clone(),
            comment_weight: c.number("digest.comment_weight", d.comment_weight, 0.0, 100.0)?,
            exposure_hours: c.number("digest.exposure_hours", d.exposure_hours, 1.0, 720.0)?,
            prior_hours: c.number("digest.prior_hours", d.prior_hours, 0.0, 168.0)?,
            period_hours: c.number("digest.period_hours", d.period_hours, 1.0, 168.0)?,
            max_stories: c.count("digest.max_stories", d.max_stories, 100)?,
            max_blog_posts: c.count_or_zero("digest.max_blog_posts", d.max_blog_posts, 100)?,
            max_per_author: c.count("digest.max_per_author", d.max_per_author, 100)?,
            max_html_bytes: c.count("digest.max_html_bytes", d.max_html_bytes, 10_000_000)?,
            summary_chars: summary_chars(d.summary_chars, c)?,
            story_languages: story_languages(&d.story_languages, site, c)?,
        })
    }
}

/// `digest.story_languages`: `"all"` or `"theirs_first"`.
fn story_languages(raw: &str, site: &SiteConfig, c: &Check) -> Result<crate::select::Languages, ConfigError> {
    use crate::select::Languages;
    match raw.trim().to_ascii_lowercase().as_str() {
        "all" => Ok(Languages::All),
        "theirs_first" => Ok(Languages::TheirsFirst {
            site: site.locale.primary_language(),
        }),
        _ => Err(c.bad(
            "digest.story_languages",
            format!(
                "{raw:?} is not a choice; expected {}",
                Languages::NAMES.map(|n| format!("{n:?}")).join(" or ")
            ),
        )),
    }
}

/// `digest.summary_chars`, from [`MIN_SUMMARY_CHARS`] to [`MAX_SUMMARY_CHARS`].
fn summary_chars(n: i64, c: &Check) -> Result<usize, ConfigError> {
    if (MIN_SUMMARY_CHARS..=MAX_SUMMARY_CHARS).contains(&n) {
        Ok(n as usize)
    } else {
        Err(c.bad(
            "digest.summary_chars",
            format!("{n} is out of range; expected {MIN_SUMMARY_CHARS} to {MAX_SUMMARY_CHARS} characters"),
        ))
    }
}

impl DeliveryConfig {
    pub(super) fn from_raw(r: &RawDelivery, c: &Check) -> Result<Self, ConfigError> {
        const DAY: f64 = 86400.0;
        if r.lease.is_some() {
            return Err(c.bad(
                "delivery.lease",
                "was removed: a claim now lasts as long as its run renews its heartbeat \
                 (delivery.heartbeat), and a silent run's claims are free after delivery.heartbeat_timeout; \
                 delete delivery.lease",
            ));
        }
        let heartbeat = c.seconds("delivery.heartbeat", r.heartbeat, 0.05, 3600.0)?;
        let heartbeat_timeout = c.seconds("delivery.heartbeat_timeout", r.heartbeat_timeout, 1.0, DAY)?;
        if heartbeat_timeout <= heartbeat {
            return Err(c.bad(
                "delivery.heartbeat_timeout",
                format!(
                    "{} s is not more than delivery.heartbeat ({} s); expected a timeout longer than the heartbeat, \
                     so that a live run is never taken for a dead one",
                    r.heartbeat_timeout, r.heartbeat
                ),
            ));
        }
        Ok(DeliveryConfig {
            concurrency: c.count("delivery.concurrency", r.concurrency, 256)?,
            rate_per_second: match c.count_or_zero(
                "delivery.rate_per_second",
                r.rate_per_second,
                1_000_000,
            )? {
                0 => None,
                n => Some(n as u32),
            },
            connect_timeout: c.seconds("delivery.connect_timeout", r.connect_timeout, 0.1, 600.0)?,
            command_timeout: c.seconds("delivery.command_timeout", r.command_timeout, 0.1, 3600.0)?,
            max_attempts: c.count("delivery.max_attempts", r.max_attempts, 100)? as u32,
            max_age: c.seconds("delivery.max_age", r.max_age, 1.0, 30.0 * DAY)?,
            retry_base: c.seconds("delivery.retry_base", r.retry_base, 0.01, DAY)?,
            retry_max: c.seconds("delivery.retry_max", r.retry_max, 0.01, 7.0 * DAY)?,
            linger: c.seconds("delivery.linger", r.linger, 0.0, DAY)?,
            bounce_threshold: c.count("delivery.bounce_threshold", r.bounce_threshold, 100)? as u32,
            heartbeat,
            heartbeat_timeout,
            outage_limit: c.seconds("delivery.outage_limit", r.outage_limit, 0.1, DAY)?,
            shutdown_timeout: c.seconds("delivery.shutdown_timeout", r.shutdown_timeout, 0.0, 3600.0)?,
            retention: retention(r.retention, c)?,
        })
    }
}

/// `delivery.retention`, in days. Shorter than two weekly periods would fold
/// rows that a weekly subscriber's history still reads, and a story could be
/// sent to them twice.
fn retention(days: i64, c: &Check) -> Result<chrono::Duration, ConfigError> {
    const MAX: i64 = 36_500;
    if (MIN_RETENTION_DAYS..=MAX).contains(&days) {
        Ok(chrono::Duration::days(days))
    } else {
        Err(c.bad(
            "delivery.retention",
            format!(
                "{days} is out of range; expected {MIN_RETENTION_DAYS} to {MAX} days (more than two weekly periods: \
                 \"never repeat a story\" reads the deliveries of the last 14 days)"
            ),
        ))
    }
}

impl ScheduleConfig {
    pub(super) fn from_raw(sc: &RawSchedule, c: &Check) -> Result<Self, ConfigError> {
        Ok(ScheduleConfig {
            tick: c.cron("schedule.tick", &sc.tick, "0 */5 * * * *")?,
            grace: c.seconds("schedule.grace", sc.grace, 60.0, 7.0 * 86400.0)?,
            weekly_day: sc.weekly_day.parse().map_err(|_| {
                c.bad(
                    "schedule.weekly_day",
                    format!("{:?} is not a day; expected e.g. monday", sc.weekly_day),
                )
            })?,
        })
    }

    /// The rules `schedule::due_for` applies, built from this section.
    pub fn rules(&self) -> ScheduleRules {
        ScheduleRules {
            // `grace` is at most seven days (checked at load), so the
            // conversion cannot fail; the fallback is the default.
            grace: chrono::Duration::from_std(self.grace).unwrap_or(chrono::Duration::hours(6)),
            weekly_day: self.weekly_day,
        }
    }
}

impl HttpConfig {
    /// The API token, for the HTTP module's constant-time check only.
    pub fn api_token(&self) -> Option<&str> {
        self.api_token.as_ref().map(|s| s.expose_secret())
    }

    pub(super) fn from_raw(raw: &RawHttp, c: &Check) -> Result<Self, ConfigError> {
        let listen = raw.listen.parse().map_err(|_| {
            c.bad(
                "http.listen",
                format!("{:?} is not an address; expected e.g. 127.0.0.1:8080", raw.listen),
            )
        })?;
        let api_token = c.secret(
            "HERALD_HTTP__API_TOKEN",
            "http.api_token_file",
            raw.api_token_file.as_deref(),
        )?;
        if let Some(token) = &api_token
            && token.expose_secret().len() < 16
        {
            return Err(c.bad(
                "http.api_token",
                format!(
                    "is {} characters long; expected at least 16 (e.g. from `openssl rand -hex 32`)",
                    token.expose_secret().len()
                ),
            ));
        }
        let mut trusted_proxies = Vec::with_capacity(raw.trusted_proxies.len());
        for (i, p) in raw.trusted_proxies.iter().enumerate() {
            let net = p
                .trim()
                .parse::<ipnet::IpNet>()
                .or_else(|_| p.trim().parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    c.bad(
                        &format!("http.trusted_proxies[{i}]"),
                        format!("{p:?} is not an IP address or CIDR network; expected e.g. 127.0.0.1, ::1 or 10.0.0.0/8"),
                    )
                })?;
            trusted_proxies.push(net.trunc());
        }
        let forwarded_header = match raw.forwarded_header.to_ascii_lowercase().as_str() {
            "x-forwarded-for" => ForwardedHeader::XForwardedFor,
            "forwarded" => ForwardedHeader::Forwarded,
            other => {
                return Err(c.bad(
                    "http.forwarded_header",
                    format!("{other:?} is not a header Herald reads; expected \"x-forwarded-for\" or \"forwarded\""),
                ));
            }
        };
        Ok(HttpConfig {
            listen,
            api_token,
            trusted_proxies,
            forwarded_header,
            header_timeout: c.seconds("http.header_timeout", raw.header_timeout, 1.0, 600.0)?,
            request_timeout: c.seconds("http.request_timeout", raw.request_timeout, 1.0, 3600.0)?,
            max_connections: c.count("http.max_connections", raw.max_connections, 1_000_000)?,
        })
    }
}

impl FeedsConfig {
    pub(super) fn from_raw(f: &RawFeeds, c: &Check) -> Result<Self, ConfigError> {
        Ok(FeedsConfig {
            schedule: c.cron("feeds.schedule", &f.schedule, "0 */15 * * * *")?,
            timeout: c.seconds("feeds.timeout", f.timeout, 0.1, 600.0)?,
            max_bytes: c.count("feeds.max_bytes", f.max_bytes, 1_000_000_000)? as u64,
            max_redirects: c.count_or_zero("feeds.max_redirects", f.max_redirects, 20)?,
            summary_chars: c.count("feeds.summary_chars", f.summary_chars, 2000)?,
            concurrency: c.count("feeds.concurrency", f.concurrency, 256)?,
        })
    }
}
