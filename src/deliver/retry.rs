//! Retry arithmetic, pure: after a transient failure, whether to try again
//! and when (exponential backoff with jitter), or to give up because
//! `delivery.max_attempts` or `delivery.max_age` is reached. The clock and
//! the jitter are arguments, so every case is a plain unit test.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, SubsecRound, Utc};

use crate::config::DeliveryConfig;
use crate::domain::{Claim, Outcome};

/// The `delivery.*` settings that decide retries.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub max_age: StdDuration,
    pub base: StdDuration,
    pub max: StdDuration,
}

impl RetryPolicy {
    pub fn new(d: &DeliveryConfig) -> RetryPolicy {
        RetryPolicy {
            max_attempts: d.max_attempts,
            max_age: d.max_age,
            base: d.retry_base,
            max: d.retry_max,
        }
    }

    /// Exponential backoff with jitter: `base · 2^(attempts-1)`, capped at
    /// `max`, then scaled by a factor in [0.5, 1.5) drawn from `jitter` ∈
    /// [0, 1).
    pub fn backoff(&self, attempts: i64, jitter: f64) -> StdDuration {
        let exp = attempts.saturating_sub(1).clamp(0, 30) as i32;
        let raw = self.base.as_secs_f64() * 2f64.powi(exp);
        StdDuration::from_secs_f64(raw.min(self.max.as_secs_f64()) * (0.5 + jitter))
    }

    /// Decides between another try and giving up after a transient failure
    /// of `claim`'s attempt at `now`.
    pub fn after_transient(
        &self,
        claim: &Claim,
        now: DateTime<Utc>,
        jitter: f64,
        message_id: String,
        error: String,
    ) -> Outcome {
        let too_old = now - claim.queued_at >= Duration::from_std(self.max_age).unwrap_or(Duration::MAX);
        if claim.attempts >= i64::from(self.max_attempts) || too_old {
            let why = if too_old {
                "delivery.max_age reached"
            } else {
                "delivery.max_attempts reached"
            };
            return Outcome::Failed {
                message_id: Some(message_id),
                error: format!("gave up after {} attempt(s), {why}: {error}", claim.attempts),
                refusal: None,
            };
        }
        let delay = self.backoff(claim.attempts, jitter);
        let at = now + Duration::from_std(delay).unwrap_or(Duration::hours(1));
        // Stored timestamps are whole seconds: rounded up, so a retry is
        // never early.
        let retry_at = if at.timestamp_subsec_nanos() > 0 {
            at.trunc_subsecs(0) + Duration::seconds(1)
        } else {
            at
        };
        Outcome::Deferred {
            message_id: Some(message_id),
            error,
            retry_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DeliveryStatus;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 3,
            max_age: StdDuration::from_secs(86400),
            base: StdDuration::from_secs(60),
            max: StdDuration::from_secs(3600),
        }
    }

    fn claim(attempts: i64, queued_at: DateTime<Utc>) -> Claim {
        Claim {
            delivery_id: 1,
            subscriber_id: 1,
            attempts,
            queued_at,
        }
    }

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let p = policy();
        assert_eq!(p.backoff(1, 0.5), StdDuration::from_secs(60));
        assert_eq!(p.backoff(2, 0.5), StdDuration::from_secs(120));
        assert_eq!(p.backoff(3, 0.5), StdDuration::from_secs(240));
        assert_eq!(p.backoff(20, 0.5), StdDuration::from_secs(3600));
        assert_eq!(p.backoff(1, 0.0), StdDuration::from_secs(30));
        assert!(p.backoff(1, 0.999) < StdDuration::from_secs(90));
    }

    #[test]
    fn defers_until_attempts_or_age_run_out() {
        let p = policy();
        let now = "2026-03-10T07:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let queued = now - Duration::minutes(5);
        match p.after_transient(&claim(1, queued), now, 0.5, "<m>".into(), "450".into()) {
            Outcome::Deferred { retry_at, .. } => assert_eq!(retry_at, now + Duration::seconds(60)),
            other => panic!("expected a retry, got {other:?}"),
        }
        let spent = p.after_transient(&claim(3, queued), now, 0.5, "<m>".into(), "450".into());
        assert_eq!(spent.status(), DeliveryStatus::Failed);
        assert!(
            matches!(&spent, Outcome::Failed { error, refusal: None, .. } if error.contains("max_attempts"))
        );
        let old = p.after_transient(
            &claim(1, now - Duration::days(2)),
            now,
            0.5,
            "<m>".into(),
            "450".into(),
        );
        assert!(matches!(&old, Outcome::Failed { error, .. } if error.contains("max_age")));
    }
}
