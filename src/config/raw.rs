//! The raw, layered form of the configuration: exactly the keys an operator
//! may write, as serde structs. Every struct denies unknown fields so a typo
//! stops the start. Values here are unchecked (numbers may be negative,
//! strings anything); the sections turn them into typed values. Secrets have
//! no field here, only the paths of files that hold them, so this form can be
//! printed.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub(super) use super::webhooks::RawWebhooks;

/// A duration in seconds, written as a number (`90`, `0.5`) or as a span
/// humantime reads (`30s`, `5m`, `2h`, `1h 30m`, `1d`). The sections check
/// the range; figment's error names the key and the layer.
pub(super) fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    struct Seconds;
    impl serde::de::Visitor<'_> for Seconds {
        type Value = f64;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a duration: seconds (a number) or a span such as 30s, 5m, 2h")
        }

        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<f64, E> {
            Ok(v as f64)
        }

        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<f64, E> {
            Ok(v)
        }

        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<f64, E> {
            let t = v.trim();
            if let Ok(n) = t.parse::<f64>() {
                return Ok(n);
            }
            humantime::parse_duration(t)
                .map(|d| d.as_secs_f64())
                .map_err(|e| {
                    E::custom(format!(
                        "{v:?} is not a duration ({e}); expected seconds or a span such as 30s, 5m, 2h"
                    ))
                })
        }
    }
    d.deserialize_any(Seconds)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub database: RawDatabase,
    pub mail: RawMail,
    pub site: RawSite,
    pub subscribers: RawSubscribers,
    pub digest: RawDigest,
    pub delivery: RawDelivery,
    pub schedule: RawSchedule,
    pub http: RawHttp,
    pub feeds: RawFeeds,
    pub bounces: super::bounces::RawBounces,
    pub guard: super::bounces::RawGuard,
    pub webhooks: RawWebhooks,
    pub archive: super::archive::RawArchive,
    pub metrics: RawMetrics,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMetrics {
    pub listen: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFeeds {
    pub schedule: String,
    #[serde(deserialize_with = "seconds")]
    pub timeout: f64,
    pub max_bytes: i64,
    pub max_redirects: i64,
    pub summary_chars: i64,
    pub concurrency: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSchedule {
    pub tick: String,
    #[serde(deserialize_with = "seconds")]
    pub grace: f64,
    pub weekly_day: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    pub listen: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_token_file: Option<PathBuf>,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    pub forwarded_header: String,
    pub header_timeout: f64,
    pub request_timeout: f64,
    pub max_connections: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    pub concurrency: i64,
    pub rate_per_second: i64,
    #[serde(deserialize_with = "seconds")]
    pub connect_timeout: f64,
    #[serde(deserialize_with = "seconds")]
    pub command_timeout: f64,
    pub max_attempts: i64,
    #[serde(deserialize_with = "seconds")]
    pub max_age: f64,
    #[serde(deserialize_with = "seconds")]
    pub retry_base: f64,
    #[serde(deserialize_with = "seconds")]
    pub retry_max: f64,
    #[serde(deserialize_with = "seconds")]
    pub linger: f64,
    pub bounce_threshold: i64,
    #[serde(deserialize_with = "seconds")]
    pub heartbeat: f64,
    #[serde(deserialize_with = "seconds")]
    pub heartbeat_timeout: f64,
    #[serde(deserialize_with = "seconds")]
    pub outage_limit: f64,
    /// Removed: read only so that an old configuration that names it gets
    /// a clear message instead of "unknown key".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<f64>,
    #[serde(deserialize_with = "seconds")]
    pub shutdown_timeout: f64,
    pub retention: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDigest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub templates_dir: Option<PathBuf>,
    pub comment_weight: f64,
    /// Removed with the "hot" formula: read only so that an old
    /// configuration that names it gets a clear message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gravity: Option<f64>,
    pub exposure_hours: f64,
    pub prior_hours: f64,
    pub period_hours: f64,
    pub max_stories: i64,
    pub max_blog_posts: i64,
    pub max_per_author: i64,
    pub max_html_bytes: i64,
    pub summary_chars: i64,
    pub story_languages: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDkim {
    pub domain: String,
    pub selector: String,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    pub url: String,
    pub max_connections: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMail {
    pub from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    pub transport: String,
    pub outbox_dir: PathBuf,
    pub smtp_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_password_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp_ca_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsubscribe_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dkim: Option<RawDkimKeys>,
}

/// `mail.dkim`: one table, or an array of tables (`[[mail.dkim]]`) for dual
/// signing.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum RawDkimKeys {
    One(RawDkim),
    Many(Vec<RawDkim>),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSite {
    pub name: String,
    pub postal_address: String,
    pub public_url: String,
    pub locale: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSubscribers {
    pub default_timezone: String,
    pub default_send_hour: i64,
}
