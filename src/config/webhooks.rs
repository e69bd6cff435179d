//! The `webhooks` section: which provider webhooks `herald run` answers
//! (`POST /webhooks/ses|sendgrid|mailgun|postmark`) and what each needs to
//! authenticate a call: the SNS topics SES publishes to, SendGrid's public
//! key (parsed at load), Mailgun's signing key and Postmark's basic-auth
//! credentials (secrets, from the environment or a file). A provider with
//! nothing configured is off. Reads only the secret files it names;
//! verifies nothing itself (that is `crate::http`).

use std::path::PathBuf;

use base64::Engine as _;
use p256::ecdsa::VerifyingKey;
use p256::pkcs8::DecodePublicKey as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::check::Check;

/// The raw `[webhooks]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWebhooks {
    pub max_body_bytes: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ses_topic_arns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sendgrid_public_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mailgun_signing_key_file: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postmark_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postmark_password_file: Option<PathBuf>,
}

/// The environment variables that hold this section's secrets, and the
/// keys they stand for (for `layers`' list of secrets).
pub(super) const SECRET_ENV: [(&str, &str); 2] = [
    (
        "HERALD_WEBHOOKS__MAILGUN_SIGNING_KEY",
        "webhooks.mailgun_signing_key",
    ),
    ("HERALD_WEBHOOKS__POSTMARK_PASSWORD", "webhooks.postmark_password"),
];

/// The provider webhooks; each is off (its route answers 404) unless its
/// field is set.
#[derive(Debug, Clone)]
pub struct WebhooksConfig {
    /// Largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// Amazon SES through SNS: the topics whose messages are accepted.
    /// Empty: off.
    pub ses_topic_arns: Vec<String>,
    /// SendGrid's signed event webhook: the verification key.
    pub sendgrid_public_key: Option<VerifyingKey>,
    /// Mailgun's HTTP webhook signing key.
    pub mailgun_signing_key: Option<SecretString>,
    /// Postmark: the basic-auth credentials put in the webhook's URL.
    pub postmark: Option<PostmarkAuth>,
}

/// The user and password Postmark sends with each webhook call.
#[derive(Debug, Clone)]
pub struct PostmarkAuth {
    pub user: String,
    pub password: SecretString,
}

/// Shortest secret accepted (as for `http.api_token`).
const MIN_SECRET: usize = 16;

impl WebhooksConfig {
    /// The Mailgun signing key, for the HTTP module's HMAC only.
    pub fn mailgun_signing_key(&self) -> Option<&str> {
        self.mailgun_signing_key.as_ref().map(|s| s.expose_secret())
    }

    /// Lines for the redacted configuration printout: which secrets are set.
    pub(super) fn redaction_notes(&self) -> String {
        let mut out = String::new();
        if self.mailgun_signing_key.is_some() {
            out.push_str("\n# webhooks.mailgun_signing_key is set (value redacted)\n");
        }
        if self.postmark.is_some() {
            out.push_str("\n# webhooks.postmark_password is set (value redacted)\n");
        }
        out
    }

    pub(super) fn from_raw(raw: &RawWebhooks, c: &Check) -> Result<Self, ConfigError> {
        let max_body_bytes = c.count("webhooks.max_body_bytes", raw.max_body_bytes, 64 << 20)?;
        let ses_topic_arns = raw
            .ses_topic_arns
            .iter()
            .map(|arn| {
                topic_arn(arn).ok_or_else(|| {
                    c.bad(
                        "webhooks.ses_topic_arns",
                        format!(
                            "{arn:?} is not an SNS topic ARN; expected e.g. arn:aws:sns:us-east-1:123456789012:herald-bounces"
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let sendgrid_public_key = match raw.sendgrid_public_key.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(sendgrid_key(text).map_err(|m| c.bad("webhooks.sendgrid_public_key", m))?),
        };
        let mailgun_signing_key = c.secret(
            "HERALD_WEBHOOKS__MAILGUN_SIGNING_KEY",
            "webhooks.mailgun_signing_key_file",
            raw.mailgun_signing_key_file.as_deref(),
        )?;
        if let Some(key) = &mailgun_signing_key {
            long_enough(c, "webhooks.mailgun_signing_key", key)?;
        }
        let password = c.secret(
            "HERALD_WEBHOOKS__POSTMARK_PASSWORD",
            "webhooks.postmark_password_file",
            raw.postmark_password_file.as_deref(),
        )?;
        let user = raw
            .postmark_user
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty());
        let postmark = match (user, password) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(c.bad(
                    "webhooks.postmark_user",
                    "is set but no password is; set HERALD_WEBHOOKS__POSTMARK_PASSWORD or webhooks.postmark_password_file",
                ));
            }
            (None, Some(_)) => {
                return Err(c.bad(
                    "webhooks.postmark_user",
                    "is not set but a Postmark password is; set both or neither",
                ));
            }
            (Some(user), Some(password)) => {
                if user.contains(':') || user.chars().any(char::is_control) {
                    return Err(c.bad(
                        "webhooks.postmark_user",
                        format!("{user:?} cannot be a basic-auth user name (no ':' or control characters)"),
                    ));
                }
                long_enough(c, "webhooks.postmark_password", &password)?;
                Some(PostmarkAuth {
                    user: user.to_owned(),
                    password,
                })
            }
        };
        Ok(WebhooksConfig {
            max_body_bytes,
            ses_topic_arns,
            sendgrid_public_key,
            mailgun_signing_key,
            postmark,
        })
    }
}

fn long_enough(c: &Check, key: &str, secret: &SecretString) -> Result<(), ConfigError> {
    let n = secret.expose_secret().chars().count();
    if n < MIN_SECRET {
        return Err(c.bad(
            key,
            format!("is {n} characters long; expected at least {MIN_SECRET}"),
        ));
    }
    Ok(())
}

/// `arn:PARTITION:sns:REGION:ACCOUNT:NAME`, as SNS writes it in TopicArn.
fn topic_arn(arn: &str) -> Option<String> {
    let arn = arn.trim();
    let parts: Vec<&str> = arn.split(':').collect();
    let [prefix, partition, service, region, account, name] = parts.as_slice() else {
        return None;
    };
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let name = name.strip_suffix(".fifo").unwrap_or(name);
    let name_ok = (1..=256).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (*prefix == "arn"
        && partition.starts_with("aws")
        && *service == "sns"
        && region_ok
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && name_ok)
        .then(|| arn.to_owned())
}

/// SendGrid's verification key as its settings page shows it: the base64
/// of a DER SubjectPublicKeyInfo of a P-256 key (PEM armour tolerated).
fn sendgrid_key(text: &str) -> Result<VerifyingKey, String> {
    let b64: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| {
            "is not base64; expected the key as SendGrid shows it (MFkwEwYHKoZIzj0CAQYI…)".to_owned()
        })?;
    VerifyingKey::from_public_key_der(&der).map_err(|_| {
        "is not a P-256 public key (DER SubjectPublicKeyInfo); expected the key as SendGrid shows it"
            .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(env: &[(&str, &str)]) -> Result<super::super::Config, ConfigError> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        super::super::Config::load_from(
            &super::super::Overrides {
                config_path: Some(PathBuf::from("config/herald.toml")),
                database_url: None,
                metrics_file: None,
            },
            &env,
        )
    }

    #[test]
    fn every_provider_is_off_by_default() {
        let w = load(&[]).unwrap().webhooks;
        assert_eq!(w.max_body_bytes, 1 << 20);
        assert!(w.ses_topic_arns.is_empty() && w.sendgrid_public_key.is_none());
        assert!(w.mailgun_signing_key.is_none() && w.postmark.is_none());
    }

    #[test]
    fn providers_from_the_environment_and_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let key_file = dir.path().join("mailgun");
        std::fs::write(&key_file, "key-0123456789abcdef0123\n").unwrap();
        let key_file = key_file.to_str().unwrap();
        let c = load(&[
            (
                "HERALD_WEBHOOKS__SES_TOPIC_ARNS",
                "[\"arn:aws:sns:us-east-1:123456789012:a\", \"arn:aws:sns:eu-west-1:123456789012:b\"]",
            ),
            ("HERALD_WEBHOOKS__MAILGUN_SIGNING_KEY_FILE", key_file),
            ("HERALD_WEBHOOKS__POSTMARK_USER", "postmark"),
            ("HERALD_WEBHOOKS__POSTMARK_PASSWORD", "correct horse battery"),
            ("HERALD_WEBHOOKS__MAX_BODY_BYTES", "4096"),
        ])
        .unwrap();
        let w = &c.webhooks;
        assert_eq!(
            w.ses_topic_arns,
            [
                "arn:aws:sns:us-east-1:123456789012:a",
                "arn:aws:sns:eu-west-1:123456789012:b"
            ]
        );
        assert_eq!(w.mailgun_signing_key(), Some("key-0123456789abcdef0123"));
        let postmark = w.postmark.as_ref().unwrap();
        assert_eq!(postmark.user, "postmark");
        assert_eq!(postmark.password.expose_secret(), "correct horse battery");
        assert_eq!(w.max_body_bytes, 4096);
        let printed = format!("{}\n{:?}", c.to_redacted_toml(), c);
        assert!(
            !printed.contains("correct horse") && !printed.contains("key-0123456789abcdef0123"),
            "{printed}"
        );
        assert!(
            printed.contains("# webhooks.postmark_password is set (value redacted)"),
            "{printed}"
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        let e = load(&[("HERALD_WEBHOOKS__SES_TOPIC_ARNS", "[\"my-topic\"]")])
            .unwrap_err()
            .0;
        assert!(
            e.contains("webhooks.ses_topic_arns") && e.contains("\"my-topic\" is not an SNS topic ARN"),
            "{e}"
        );
        let e = load(&[("HERALD_WEBHOOKS__SENDGRID_PUBLIC_KEY", "AAAA")])
            .unwrap_err()
            .0;
        assert!(
            e.contains("webhooks.sendgrid_public_key") && e.contains("not a P-256 public key"),
            "{e}"
        );
        let e = load(&[("HERALD_WEBHOOKS__MAILGUN_SIGNING_KEY", "short")])
            .unwrap_err()
            .0;
        assert!(
            e.contains("webhooks.mailgun_signing_key") && e.contains("at least 16"),
            "{e}"
        );
        assert!(!e.contains("short"), "{e}");
        let e = load(&[("HERALD_WEBHOOKS__POSTMARK_USER", "postmark")])
            .unwrap_err()
            .0;
        assert!(
            e.contains("webhooks.postmark_user") && e.contains("no password"),
            "{e}"
        );
        let e = load(&[("HERALD_WEBHOOKS__POSTMARK_PASSWORD", "correct horse battery")])
            .unwrap_err()
            .0;
        assert!(
            e.contains("webhooks.postmark_user") && e.contains("set both or neither"),
            "{e}"
        );
        let e = load(&[
            ("HERALD_WEBHOOKS__POSTMARK_USER", "post:mark"),
            ("HERALD_WEBHOOKS__POSTMARK_PASSWORD", "correct horse battery"),
        ])
        .unwrap_err()
        .0;
        assert!(e.contains("basic-auth user name"), "{e}");
        let e = load(&[("HERALD_WEBHOOKS__MAX_BODY_BYTES", "0")]).unwrap_err().0;
        assert!(e.contains("webhooks.max_body_bytes"), "{e}");
    }

    #[test]
    fn topic_arns_are_checked() {
        for good in [
            "arn:aws:sns:us-east-1:123456789012:herald-bounces",
            "arn:aws-cn:sns:cn-north-1:123456789012:Herald_Bounces",
            "arn:aws:sns:eu-west-1:123456789012:events.fifo",
        ] {
            assert_eq!(topic_arn(good).as_deref(), Some(good));
        }
        for bad in [
            "",
            "herald-bounces",
            "arn:aws:sqs:us-east-1:123456789012:q",
            "arn:aws:sns:us-east-1:1234:x",
            "arn:aws:sns:us-east-1:123456789012:",
            "arn:aws:sns:us-east-1:123456789012:a:b",
            "arn:aws:sns:US-EAST-1:123456789012:x",
        ] {
            assert_eq!(topic_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_sendgrid_key_is_a_p256_spki() {
        use p256::pkcs8::EncodePublicKey as _;
        let signing = p256::ecdsa::SigningKey::from_slice(&[7; 32]).unwrap();
        let der = signing.verifying_key().to_public_key_der().unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_bytes());
        assert_eq!(&sendgrid_key(&b64).unwrap(), signing.verifying_key());
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n{}\n-----END PUBLIC KEY-----\n",
            &b64[..40],
            &b64[40..]
        );
        assert_eq!(&sendgrid_key(&pem).unwrap(), signing.verifying_key());
        assert!(sendgrid_key("not base64!").unwrap_err().contains("not base64"));
        assert!(
            sendgrid_key("AAAA")
                .unwrap_err()
                .contains("not a P-256 public key")
        );
    }
}
