//! The guard: per edition, the hard-bounce and complaint rates as they
//! happen, and runs of policy blocks per recipient domain. When a rate
//! passes its limit (after `guard.min_sample` messages) the edition is
//! paused; when one domain answers with `guard.domain_policy_blocks`
//! policy blocks in a row, that domain is. A pause holds until an operator
//! resumes it (`herald editions resume`); after a resume only what happens
//! later is judged. [`judge`] and [`PolicyStreaks`] are pure; [`Guard`]
//! reads the counts and writes the pauses through the store.

use std::collections::HashMap;
use std::sync::Arc;

use crate::config::GuardConfig;
use crate::metrics::Metrics;
use crate::store::{GuardCounts, Store};

/// Why an edition must pause, if it must: one line an operator
/// understands.
pub fn judge(c: &GuardCounts, config: &GuardConfig) -> Option<String> {
    if c.sent < config.min_sample || c.sent == 0 {
        return None;
    }
    let rate = |n: u64| n as f64 / c.sent as f64;
    if rate(c.complaint) > config.complaint_rate {
        return Some(format!(
            "complaint rate {:.2}% ({} complaints for {} messages) is over guard.complaint_rate {:.2}%",
            rate(c.complaint) * 100.0,
            c.complaint,
            c.sent,
            config.complaint_rate * 100.0
        ));
    }
    if rate(c.hard) > config.bounce_rate {
        return Some(format!(
            "hard-bounce rate {:.2}% ({} hard bounces for {} messages) is over guard.bounce_rate {:.2}%",
            rate(c.hard) * 100.0,
            c.hard,
            c.sent,
            config.bounce_rate * 100.0
        ));
    }
    None
}

/// Policy blocks in a row, per recipient domain, as one run sees them.
#[derive(Debug, Default)]
pub struct PolicyStreaks {
    limit: u32,
    runs: HashMap<String, u32>,
}

impl PolicyStreaks {
    /// `limit` 0 turns the check off.
    pub fn new(limit: u32) -> Self {
        PolicyStreaks {
            limit,
            runs: HashMap::new(),
        }
    }

    /// Counts one answer from `domain`; true when this policy block makes
    /// the run reach the limit (the run then starts again from zero).
    pub fn observe(&mut self, domain: &str, policy_block: bool) -> bool {
        if self.limit == 0 {
            return false;
        }
        if !policy_block {
            self.runs.remove(domain);
            return false;
        }
        let run = self.runs.entry(domain.to_owned()).or_insert(0);
        *run += 1;
        if *run >= self.limit {
            self.runs.remove(domain);
            return true;
        }
        false
    }
}

/// The guard's IO side.
#[derive(Clone)]
pub struct Guard {
    store: Store,
    config: GuardConfig,
    metrics: Arc<Metrics>,
}

impl Guard {
    pub fn new(store: Store, config: GuardConfig, metrics: Arc<Metrics>) -> Guard {
        Guard {
            store,
            config,
            metrics,
        }
    }

    pub fn config(&self) -> &GuardConfig {
        &self.config
    }

    /// Judges an edition after new bounces or complaints; pauses it when a
    /// rate is over its limit. Returns the reason when it paused it now.
    pub async fn check_edition(&self, edition_id: i64) -> anyhow::Result<Option<String>> {
        let pauses = self.store.pauses(edition_id).await?;
        let whole = pauses.iter().find(|p| p.domain.is_empty());
        if whole.is_some_and(|p| p.resumed_at.is_none()) {
            return Ok(None);
        }
        let since = whole.and_then(|p| p.resumed_at);
        let counts = self.store.guard_counts(edition_id, None, since).await?;
        let Some(reason) = judge(&counts, &self.config) else {
            return Ok(None);
        };
        self.pause(edition_id, "", &reason).await
    }

    /// After a policy bounce reported later (a DSN or a webhook): when the
    /// latest `guard.domain_policy_blocks` reports about the domain's
    /// recipients in this edition are all policy blocks, the domain pauses.
    /// (During a send the run counts the relay's own replies instead.)
    pub async fn check_domain(&self, edition_id: i64, domain: &str) -> anyhow::Result<Option<String>> {
        let n = self.config.domain_policy_blocks;
        if n == 0 || domain.is_empty() {
            return Ok(None);
        }
        let latest = self.store.latest_categories(edition_id, domain, n.into()).await?;
        if latest.len() < n as usize || latest.iter().any(|c| c != "policy") {
            return Ok(None);
        }
        let reason = format!(
            "the latest {n} reports about {domain} recipients are policy blocks (guard.domain_policy_blocks)"
        );
        self.pause(edition_id, domain, &reason).await
    }

    /// Pauses one domain of an edition (`""`: the whole edition).
    pub async fn pause(&self, edition_id: i64, domain: &str, reason: &str) -> anyhow::Result<Option<String>> {
        if !self.store.pause_edition(edition_id, domain, reason).await? {
            return Ok(None);
        }
        self.metrics.guard_paused(domain.is_empty());
        if domain.is_empty() {
            tracing::error!(
                edition_id,
                reason,
                "the guard paused the edition; resume it with `herald editions resume`"
            );
        } else {
            tracing::error!(
                edition_id,
                domain,
                reason,
                "the guard paused one domain of the edition; resume it with `herald editions resume --domain`"
            );
        }
        Ok(Some(reason.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> GuardConfig {
        GuardConfig {
            complaint_rate: 0.003,
            bounce_rate: 0.05,
            min_sample: 100,
            domain_policy_blocks: 3,
        }
    }

    fn counts(sent: u64, hard: u64, complaint: u64) -> GuardCounts {
        GuardCounts {
            sent,
            hard,
            complaint,
            ..GuardCounts::default()
        }
    }

    #[test]
    fn rates_are_judged_only_after_the_sample() {
        assert_eq!(judge(&counts(99, 50, 50), &config()), None);
        assert_eq!(
            judge(&counts(1000, 50, 3), &config()),
            None,
            "5% and 0.3% are at, not over"
        );
        let r = judge(&counts(1000, 0, 4), &config()).unwrap();
        assert!(
            r.contains("complaint rate 0.40%") && r.contains("4 complaints for 1000"),
            "{r}"
        );
        let r = judge(&counts(1000, 51, 0), &config()).unwrap();
        assert!(r.contains("hard-bounce rate 5.10%"), "{r}");
    }

    #[test]
    fn a_domain_pauses_after_a_run_of_policy_blocks() {
        let mut s = PolicyStreaks::new(3);
        assert!(!s.observe("a.example", true));
        assert!(!s.observe("a.example", true));
        assert!(!s.observe("a.example", false), "a delivery breaks the run");
        assert!(!s.observe("a.example", true));
        assert!(!s.observe("b.example", true));
        assert!(!s.observe("a.example", true));
        assert!(s.observe("a.example", true));
        assert!(!PolicyStreaks::new(0).observe("a.example", true));
    }
}
