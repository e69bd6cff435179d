//! Configuration: layers the built-in defaults (`config/herald.toml`, compiled
//! in), a TOML file, `HERALD_<SECTION>__<KEY>` environment variables and
//! command-line flags, then validates every value once into a typed
//! [`Config`]: a value that loads is one the rest of Herald can use, so
//! `herald config check` catches every mistake and names the key and the
//! layer it came from. Secrets are read here from the environment or from
//! files named in the configuration and kept in [`SecretString`](secrecy::SecretString)s; nothing
//! else in Herald reads the environment. This module does no logging of
//! values.
//!
//! The rooms: `raw` (the serde structs), `layers` (file, environment,
//! flags; secrets), `check` (the validator each section uses), `values`,
//! `smtp` and `dkim` (value types), and one `from_raw` per section in
//! `mail`, `webhooks` and `sections`.

mod archive;
mod bounces;
mod check;
mod dkim;
mod layers;
mod mail;
mod raw;
mod sections;
mod smtp;
mod values;
mod webhooks;

use std::path::PathBuf;

pub use archive::ArchiveConfig;
pub use bounces::{BouncesConfig, GuardConfig, ImapConfig};
pub use dkim::{DkimAlgorithm, DkimKey, DkimKeyPair, KeyFormat};
pub use mail::{DkimConfig, MailConfig, Transport};
pub use sections::{
    DatabaseConfig, DeliveryConfig, DigestConfig, FeedsConfig, ForwardedHeader, HttpConfig, ScheduleConfig,
    SiteConfig, SubscribersConfig,
};
pub use smtp::{Security, SmtpUrl};
pub use values::{CaFile, DatabaseUrl, Mailbox, redact_url};
pub use webhooks::{PostmarkAuth, WebhooksConfig};

use check::Check;
use raw::RawConfig;

/// The defaults: the commented example file shipped in `config/`.
pub const DEFAULTS_TOML: &str = include_str!("../../config/herald.toml");

/// Where the file layer is looked up, in this order, when neither
/// `--config` nor `HERALD_CONFIG` names one: relative to the working
/// directory, then the packaged location.
pub const DEFAULT_CONFIG_PATH: &str = "config/herald.toml";
pub const SYSTEM_CONFIG_PATH: &str = "/etc/herald/herald.toml";

/// The searched locations, in order, with what each is called.
pub fn search_paths() -> Vec<(PathBuf, FileOrigin)> {
    vec![
        (PathBuf::from(DEFAULT_CONFIG_PATH), FileOrigin::WorkingDir),
        (PathBuf::from(SYSTEM_CONFIG_PATH), FileOrigin::System),
    ]
}

/// The configuration file layered over the defaults, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    pub path: PathBuf,
    pub origin: FileOrigin,
}

/// Why a configuration file was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOrigin {
    /// `--config PATH`.
    Flag,
    /// `$HERALD_CONFIG`.
    Env,
    /// `./config/herald.toml`.
    WorkingDir,
    /// `/etc/herald/herald.toml`.
    System,
}

impl std::fmt::Display for FileOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileOrigin::Flag => "named by --config",
            FileOrigin::Env => "named by $HERALD_CONFIG",
            FileOrigin::WorkingDir => "found in the working directory",
            FileOrigin::System => "found in /etc/herald",
        })
    }
}

/// Where Herald looks for a configuration file, for messages: the search
/// order in words.
pub const SEARCH_ORDER: &str = "--config, $HERALD_CONFIG, ./config/herald.toml, /etc/herald/herald.toml";

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
    /// `--metrics-file PATH`: where a command writes its metrics when done.
    pub metrics_file: Option<PathBuf>,
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
    pub bounces: BouncesConfig,
    pub guard: GuardConfig,
    pub webhooks: WebhooksConfig,
    /// `metrics.listen`: where `herald run` serves `/metrics`, apart from
    /// the public listener; `None` when "off".
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Which file, if any, was layered over the defaults, and how it was
    /// found.
    pub source_file: Option<ConfigFile>,
    /// The process's metrics, shared by everything built from this
    /// configuration (the engine, the intake, the feeds, the HTTP state),
    /// so that one exposition, or one `--metrics-file`, covers them all.
    /// Not a setting: created empty at load.
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    pub archive: ArchiveConfig,
    /// The printable copy: the raw form with the database URL redacted.
    raw: RawConfig,
}

impl Config {
    /// Loads the layers from the process environment.
    pub fn load(overrides: &Overrides) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(overrides, &env)
    }

    /// Loads the layers with an explicit environment (for tests), then
    /// checks each section in file order, so the first bad value reported
    /// is the first in the file.
    pub fn load_from(overrides: &Overrides, env: &[(String, String)]) -> Result<Config, ConfigError> {
        let layers = layers::load(overrides, env)?;
        let c = Check::new(&layers.figment, env);
        let mut raw = layers.raw;
        let database = DatabaseConfig::from_raw(&raw.database, &c)?;
        let mail = MailConfig::from_raw(&raw.mail, &c)?;
        let site = SiteConfig::from_raw(&raw.site, &c)?;
        let subscribers = SubscribersConfig::from_raw(&raw.subscribers, &c)?;
        let digest = DigestConfig::from_raw(&raw.digest, &site, &c)?;
        let config = Config {
            mail,
            site,
            subscribers,
            digest,
            delivery: DeliveryConfig::from_raw(&raw.delivery, &c)?,
            schedule: ScheduleConfig::from_raw(&raw.schedule, &c)?,
            http: HttpConfig::from_raw(&raw.http, &c)?,
            feeds: FeedsConfig::from_raw(&raw.feeds, &c)?,
            bounces: BouncesConfig::from_raw(&raw.bounces, &c)?,
            guard: GuardConfig::from_raw(&raw.guard, &c)?,
            webhooks: WebhooksConfig::from_raw(&raw.webhooks, &c)?,
            metrics_listen: metrics_listen(&raw.metrics.listen, &c)?,
            archive: ArchiveConfig::from_raw(&raw.archive, &c)?,
            source_file: layers.file,
            metrics: std::sync::Arc::new(crate::metrics::Metrics::new()),
            raw: {
                // Keep only the redacted URL in the printable copy.
                raw.database.url = database.url.to_string();
                raw
            },
            database,
        };
        Ok(config)
    }

    /// The effective configuration as TOML, with secrets and passwords
    /// redacted, for `herald config check`.
    pub fn to_redacted_toml(&self) -> String {
        let mut out = toml::to_string_pretty(&self.raw).unwrap_or_else(|e| format!("# cannot print: {e}\n"));
        for dkim in &self.mail.dkim {
            out.push_str(&format!(
                "\n# mail.dkim key: {} from {} (value redacted)\n",
                dkim.key,
                dkim.key_file.display()
            ));
        }
        if self.mail.smtp_password.is_some() {
            out.push_str("\n# mail.smtp_password is set (value redacted)\n");
        }
        if self.http.api_token.is_some() {
            out.push_str("\n# http.api_token is set (value redacted)\n");
        }
        out.push_str(&self.webhooks.redaction_notes());
        out
    }
}

/// `metrics.listen`: an address, or "off".
fn metrics_listen(listen: &str, c: &Check) -> Result<Option<std::net::SocketAddr>, ConfigError> {
    if listen.trim() == "off" {
        return Ok(None);
    }
    listen.parse().map(Some).map_err(|_| {
        c.bad(
            "metrics.listen",
            format!("{listen:?} is not an address; expected e.g. 127.0.0.1:9464, or \"off\""),
        )
    })
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
                metrics_file: None,
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
    fn digest_summary_chars_is_a_checked_count() {
        assert_eq!(load(&[]).unwrap().digest.summary_chars, 160);
        let c = load(&[("HERALD_DIGEST__SUMMARY_CHARS", "400")]).unwrap();
        assert_eq!(c.digest.summary_chars, 400);
        for bad in ["39", "1001", "0"] {
            let e = load(&[("HERALD_DIGEST__SUMMARY_CHARS", bad)]).unwrap_err().0;
            assert!(
                e.starts_with("config key digest.summary_chars (from environment variable HERALD_DIGEST__SUMMARY_CHARS): ")
                    && e.contains(&format!("{bad} is out of range; expected 40 to 1000 characters")),
                "{e}"
            );
        }
    }

    #[test]
    fn digest_story_languages_is_a_choice_with_the_sites_language() {
        use crate::select::Languages;
        assert_eq!(load(&[]).unwrap().digest.rules().languages, Languages::All);
        let c = load(&[
            ("HERALD_DIGEST__STORY_LANGUAGES", "theirs_first"),
            ("HERALD_SITE__LOCALE", "ar-JO"),
        ])
        .unwrap();
        let site = crate::domain::Locale::parse("ar").unwrap().primary_language();
        assert_eq!(c.digest.rules().languages, Languages::TheirsFirst { site });
        let e = load(&[("HERALD_DIGEST__STORY_LANGUAGES", "mine")]).unwrap_err().0;
        assert!(
            e.starts_with("config key digest.story_languages (from environment variable HERALD_DIGEST__STORY_LANGUAGES): ")
                && e.contains("\"mine\" is not a choice; expected \"all\" or \"theirs_first\""),
            "{e}"
        );
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
    fn bad_smtp_url_parameters_name_the_key_and_layer() {
        let e = load(&[("HERALD_MAIL__SMTP_URL", "smtp://relay.example.com?tls=bogus")])
            .unwrap_err()
            .0;
        assert!(
            e.starts_with("config key mail.smtp_url (from environment variable HERALD_MAIL__SMTP_URL): ")
                && e.contains("tls=bogus is not understood"),
            "{e}"
        );
        let e = load(&[("HERALD_MAIL__SMTP_URL", "smtp://relay.example.com?port=587")])
            .unwrap_err()
            .0;
        assert!(
            e.contains("mail.smtp_url") && e.contains("unknown parameter \"port\""),
            "{e}"
        );
        let c = load(&[(
            "HERALD_MAIL__SMTP_URL",
            "smtps://me%40example.com@relay.example.com",
        )])
        .unwrap();
        assert_eq!(c.mail.smtp_url.security(), Security::Implicit);
        assert_eq!(c.mail.smtp_url.user(), Some("me@example.com"));
    }

    #[test]
    fn a_password_without_a_user_is_refused_for_smtp_only() {
        let password = ("HERALD_MAIL__SMTP_PASSWORD", "hunter2");
        assert!(load(&[password]).is_ok(), "the file transport does not log in");
        let e = load(&[password, ("HERALD_MAIL__TRANSPORT", "smtp")])
            .unwrap_err()
            .0;
        assert!(e.contains("mail.smtp_url") && e.contains("names no user"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
        let c = load(&[
            password,
            ("HERALD_MAIL__TRANSPORT", "smtp"),
            ("HERALD_MAIL__SMTP_URL", "smtp://digest@relay.example.com"),
        ])
        .unwrap();
        assert_eq!(c.mail.smtp_url.user(), Some("digest"));
    }

    #[test]
    fn ranking_keys_are_checked_and_gravity_is_gone() {
        let c = load(&[]).unwrap();
        assert_eq!(
            (
                c.digest.exposure_hours,
                c.digest.prior_hours,
                c.digest.period_hours
            ),
            (6.0, 2.0, 24.0)
        );
        let c = load(&[("HERALD_DIGEST__PRIOR_HOURS", "0")]).unwrap();
        assert_eq!(c.digest.prior_hours, 0.0);
        for (var, key, value) in [
            ("HERALD_DIGEST__EXPOSURE_HOURS", "digest.exposure_hours", "0.5"),
            ("HERALD_DIGEST__PRIOR_HOURS", "digest.prior_hours", "-1"),
            ("HERALD_DIGEST__PERIOD_HOURS", "digest.period_hours", "200"),
        ] {
            let e = load(&[(var, value)]).unwrap_err().0;
            assert!(
                e.contains(&format!("config key {key} (from environment variable {var})"))
                    && e.contains("is out of range"),
                "{e}"
            );
        }
        let e = load(&[("HERALD_DIGEST__GRAVITY", "1.8")]).unwrap_err().0;
        assert!(
            e.contains("digest.gravity") && e.contains("was removed") && e.contains("delete digest.gravity"),
            "{e}"
        );
    }

    #[test]
    fn cron_expressions_are_checked_by_the_schedulers_parser() {
        let e = load(&[("HERALD_SCHEDULE__TICK", "*/5 * * * *")]).unwrap_err().0;
        assert!(
            e.contains("schedule.tick (from environment variable HERALD_SCHEDULE__TICK)")
                && e.contains("\"*/5 * * * *\" is not a cron expression")
                && e.contains("e.g. \"0 */5 * * * *\""),
            "{e}"
        );
        // Six fields, so counting fields would let these through.
        for bad in ["0 */5 * * * frobday", "0 61 * * * *", "0 0 25 * * *"] {
            let e = load(&[("HERALD_FEEDS__SCHEDULE", bad)]).unwrap_err().0;
            assert!(
                e.contains("feeds.schedule") && e.contains("e.g. \"0 */15 * * * *\""),
                "{bad}: {e}"
            );
            assert!(!e.ends_with('.'), "{e}");
        }
        let c = load(&[("HERALD_SCHEDULE__TICK", "0 0 7 * * MON-FRI")]).unwrap();
        assert_eq!(c.schedule.tick, "0 0 7 * * MON-FRI");
    }

    #[test]
    fn the_imap_mailbox_is_checked_at_load() {
        let url = ("HERALD_BOUNCES__IMAP_URL", "imap://bounce%2Bbox@imap.example.com");
        let password = ("HERALD_BOUNCES__IMAP_PASSWORD", "imap-secret-value");
        let c = load(&[url, password]).unwrap();
        let imap = c.bounces.imap.as_ref().unwrap();
        assert_eq!(
            (
                imap.user().as_str(),
                imap.host().as_str(),
                imap.port(),
                imap.implicit_tls()
            ),
            ("bounce+box", "imap.example.com", 143, false)
        );
        assert_eq!(imap.password(), "imap-secret-value");
        assert!(imap.ca.is_none());
        let printed = format!("{}\n{:?}", c.to_redacted_toml(), c);
        assert!(!printed.contains("imap-secret-value"), "{printed}");

        let imaps = load(&[("HERALD_BOUNCES__IMAP_URL", "imaps://b@[::1]"), password]).unwrap();
        let imaps = imaps.bounces.imap.unwrap();
        assert_eq!((imaps.host().as_str(), imaps.port()), ("::1", 993));

        let e = load(&[url]).unwrap_err().0;
        assert!(e.contains("HERALD_BOUNCES__IMAP_PASSWORD"), "{e}");
        let e = load(&[
            ("HERALD_BOUNCES__IMAP_URL", "imaps://b@imap.example.com/INBOX"),
            password,
        ])
        .unwrap_err()
        .0;
        assert!(
            e.contains("bounces.imap_url") && e.contains("bounces.imap_mailbox"),
            "{e}"
        );

        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let ca_var = ("HERALD_BOUNCES__IMAP_CA_FILE", ca.to_str().unwrap());
        let e = load(&[url, password, ca_var]).unwrap_err().0;
        assert!(
            e.contains("bounces.imap_ca_file (from environment variable HERALD_BOUNCES__IMAP_CA_FILE)")
                && e.contains("cannot read"),
            "{e}"
        );
        std::fs::write(&ca, "no certificate here\n").unwrap();
        let e = load(&[url, password, ca_var]).unwrap_err().0;
        assert!(e.contains("holds no certificate"), "{e}");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = load(&[url, password, ca_var]).unwrap_err().0;
        assert!(
            e.contains("bounces.imap_ca_file") && e.contains("not usable as a CA"),
            "{e}"
        );
    }

    #[test]
    fn the_smtp_ca_file_is_read_at_load_and_errors_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("relay-ca.pem");
        let var = ("HERALD_MAIL__SMTP_CA_FILE", ca.to_str().unwrap());
        let e = load(&[var]).unwrap_err().0;
        assert!(
            e.contains("mail.smtp_ca_file (from environment variable HERALD_MAIL__SMTP_CA_FILE)")
                && e.contains("cannot read"),
            "{e}"
        );
        std::fs::write(&ca, "no certificate here\n").unwrap();
        let e = load(&[var]).unwrap_err().0;
        assert!(
            e.contains("mail.smtp_ca_file")
                && e.contains("holds no certificate")
                && e.contains("the SMTP relay"),
            "{e}"
        );
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let e = load(&[var]).unwrap_err().0;
        assert!(
            e.contains("mail.smtp_ca_file") && e.contains("not usable as a CA"),
            "{e}"
        );
        let c = load(&[]).unwrap();
        assert!(c.mail.smtp_ca.is_none());
    }

    #[test]
    fn the_dkim_key_is_parsed_at_load_and_described() {
        use rsa::pkcs8::EncodePrivateKey as _;
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("dkim.pem");
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        std::fs::write(
            &key_file,
            key.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap().as_bytes(),
        )
        .unwrap();
        let path = key_file.to_str().unwrap();
        let dkim = [
            ("HERALD_MAIL__DKIM__DOMAIN", "example.com"),
            ("HERALD_MAIL__DKIM__SELECTOR", "herald"),
            ("HERALD_MAIL__DKIM__KEY_FILE", path),
        ];
        let c = load(&dkim).unwrap();
        let printed = c.to_redacted_toml();
        assert!(
            printed.contains(&format!(
                "# mail.dkim key: RSA 2048-bit (PKCS#8) from {path} (value redacted)"
            )),
            "{printed}"
        );
        assert!(!printed.contains("PRIVATE KEY"), "{printed}");
        std::fs::write(&key_file, "not a key").unwrap();
        let e = load(&dkim).unwrap_err().0;
        assert!(
            e.contains("mail.dkim.key_file (from environment variable HERALD_MAIL__DKIM__KEY_FILE)")
                && e.contains("is not a PEM private key"),
            "{e}"
        );
    }

    /// `[[mail.dkim]]` takes one RSA and one Ed25519 key, each described;
    /// two of one algorithm, or three keys, are refused naming the key.
    #[test]
    fn two_dkim_keys_are_one_rsa_and_one_ed25519() {
        use ed25519_dalek::pkcs8::EncodePrivateKey as _;
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        let dir = tempfile::tempdir().unwrap();
        let rsa_file = dir.path().join("rsa.pem");
        let ed_file = dir.path().join("ed.pem");
        let rsa = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        std::fs::write(
            &rsa_file,
            rsa.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap().as_bytes(),
        )
        .unwrap();
        let ed = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: rand::random(),
            public_key: None,
        };
        std::fs::write(
            &ed_file,
            ed.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap().as_bytes(),
        )
        .unwrap();
        let table = |selector: &str, file: &std::path::Path| {
            format!(
                "[[mail.dkim]]\ndomain = \"example.com\"\nselector = \"{selector}\"\nkey_file = \"{}\"\n",
                file.display()
            )
        };
        let load_file = |text: String| {
            let path = dir.path().join("herald.toml");
            std::fs::write(&path, text).unwrap();
            Config::load_from(
                &Overrides {
                    config_path: Some(path),
                    database_url: None,
                    metrics_file: None,
                },
                &[],
            )
        };
        let c = load_file(table("rsa", &rsa_file) + &table("ed", &ed_file)).unwrap();
        let algorithms: Vec<_> = c
            .mail
            .dkim
            .iter()
            .map(|d| (d.selector.as_str(), d.key.algorithm()))
            .collect();
        assert_eq!(
            algorithms,
            [("rsa", DkimAlgorithm::Rsa), ("ed", DkimAlgorithm::Ed25519)]
        );
        let printed = c.to_redacted_toml();
        for line in [
            format!(
                "# mail.dkim key: RSA 2048-bit (PKCS#1) from {} (value redacted)",
                rsa_file.display()
            ),
            format!(
                "# mail.dkim key: Ed25519 (PKCS#8) from {} (value redacted)",
                ed_file.display()
            ),
        ] {
            assert!(printed.contains(&line), "{line} not in\n{printed}");
        }

        let e = load_file(table("a", &rsa_file) + &table("b", &rsa_file))
            .unwrap_err()
            .0;
        assert!(
            e.contains("mail.dkim.key_file") && e.contains("are both RSA keys"),
            "{e}"
        );
        let e = load_file(table("a", &rsa_file) + &table("b", &ed_file) + &table("c", &ed_file))
            .unwrap_err()
            .0;
        assert!(e.contains("mail.dkim") && e.contains("names 3 keys"), "{e}");
    }

    #[test]
    fn durations_take_seconds_or_spans_and_errors_name_the_key() {
        let c = load(&[
            ("HERALD_DELIVERY__LINGER", "5m"),
            ("HERALD_DELIVERY__HEARTBEAT_TIMEOUT", "1m 30s"),
            ("HERALD_SCHEDULE__GRACE", "2h"),
            ("HERALD_FEEDS__TIMEOUT", "30s"),
            ("HERALD_DELIVERY__CONNECT_TIMEOUT", "7"),
        ])
        .unwrap();
        assert_eq!(c.delivery.linger, std::time::Duration::from_secs(300));
        assert_eq!(c.delivery.heartbeat_timeout, std::time::Duration::from_secs(90));
        assert_eq!(c.schedule.grace, std::time::Duration::from_secs(7200));
        assert_eq!(c.feeds.timeout, std::time::Duration::from_secs(30));
        assert_eq!(c.delivery.connect_timeout, std::time::Duration::from_secs(7));
        let e = load(&[("HERALD_DELIVERY__LINGER", "5 parsecs")]).unwrap_err().0;
        assert!(
            e.contains("config key delivery.linger")
                && e.contains("\"5 parsecs\" is not a duration")
                && e.contains("30s, 5m, 2h")
                && e.contains("HERALD_DELIVERY__LINGER"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("herald.toml");
        std::fs::write(
            &file,
            "[bounces]\nsoft_window = \"30d\"\n[delivery]\nretry_base = \"1m\"\n",
        )
        .unwrap();
        let c = Config::load_from(
            &Overrides {
                config_path: Some(file),
                database_url: None,
                metrics_file: None,
            },
            &[],
        )
        .unwrap();
        assert_eq!(c.delivery.retry_base, std::time::Duration::from_secs(60));
        assert_eq!(c.bounces.soft_window, std::time::Duration::from_secs(30 * 86400));
    }
}
