//! The validator every section's `from_raw` uses: it knows where each value
//! came from, so one call turns "this value is wrong, and why" into a
//! [`ConfigError`] that names the key, the layer and what was expected.
//! Range checks for counts, numbers and durations, and cron expressions, are
//! here so every section words them the same way. No IO beyond reading the
//! secret files the configuration names.

use std::path::Path;
use std::time::Duration;

use figment::Figment;
use secrecy::SecretString;

use super::ConfigError;
use super::layers;

/// The key/value/layer helpers for one load.
pub(super) struct Check<'a> {
    figment: &'a Figment,
    env: &'a [(String, String)],
}

impl<'a> Check<'a> {
    pub fn new(figment: &'a Figment, env: &'a [(String, String)]) -> Self {
        Check { figment, env }
    }

    /// `config key KEY (from LAYER): MESSAGE`.
    pub fn bad(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError(format!(
            "config key {key}{}: {}",
            layers::origin(self.figment, key),
            message.into()
        ))
    }

    /// A count from 1 to `max`.
    pub fn count(&self, key: &str, v: i64, max: i64) -> Result<usize, ConfigError> {
        if (1..=max).contains(&v) {
            Ok(v as usize)
        } else {
            Err(self.bad(key, format!("{v} is out of range; expected 1 to {max}")))
        }
    }

    /// A count from 1 to `max`, or 0 (meaning "none" or "off").
    pub fn count_or_zero(&self, key: &str, v: i64, max: i64) -> Result<usize, ConfigError> {
        match v {
            0 => Ok(0),
            n => self.count(key, n, max),
        }
    }

    /// A finite number from `min` to `max`.
    pub fn number(&self, key: &str, v: f64, min: f64, max: f64) -> Result<f64, ConfigError> {
        if v.is_finite() && (min..=max).contains(&v) {
            Ok(v)
        } else {
            Err(self.bad(key, format!("{v} is out of range; expected {min} to {max}")))
        }
    }

    /// A duration given in seconds, from `min` to `max`.
    pub fn seconds(&self, key: &str, v: f64, min: f64, max: f64) -> Result<Duration, ConfigError> {
        if v.is_finite() && (min..=max).contains(&v) {
            Ok(Duration::from_secs_f64(v))
        } else {
            Err(self.bad(
                key,
                format!("{v} is out of range; expected {min} to {max} seconds"),
            ))
        }
    }

    /// A cron expression with seconds, checked by the parser
    /// tokio-cron-scheduler uses, set up as `Job::new_async` sets it up, so
    /// an expression that passes here is one the daemon can schedule.
    pub fn cron(&self, key: &str, expr: &str, example: &str) -> Result<String, ConfigError> {
        croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Required)
            .dom_and_dow(true)
            .build()
            .parse(expr)
            .map_err(|e| {
                self.bad(
                    key,
                    format!(
                        "{expr:?} is not a cron expression ({}); expected one with seconds (sec min hour day month weekday), e.g. {example:?}",
                        e.to_string().trim_end_matches('.')
                    ),
                )
            })?;
        Ok(expr.to_owned())
    }

    /// A secret from `env_name`, else from the file at `file_key`.
    pub fn secret(
        &self,
        env_name: &str,
        file_key: &str,
        file: Option<&Path>,
    ) -> Result<Option<SecretString>, ConfigError> {
        layers::secret(self.env, env_name, file).map_err(|m| self.bad(file_key, m))
    }
}
