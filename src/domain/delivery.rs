//! The delivery ledger's vocabulary: a row's [`DeliveryStatus`], a
//! [`Claim`] on a row, the [`Outcome`] of one attempt, a subscriber's recent
//! [`History`], and the [`Tally`] of outcomes that summaries, progress and
//! metrics all count with. Pure values; the store keeps them, the engine
//! decides them.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::Invalid;

/// Where a ledger row stands: queued → sending (claimed by a run) →
/// sent | skipped | deferred (waiting for a retry) | failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    Queued,
    Sending,
    Sent,
    Skipped,
    Deferred,
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 6] = [
        DeliveryStatus::Queued,
        DeliveryStatus::Sending,
        DeliveryStatus::Sent,
        DeliveryStatus::Skipped,
        DeliveryStatus::Deferred,
        DeliveryStatus::Failed,
    ];

    /// The name stored in `deliveries.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Queued => "queued",
            DeliveryStatus::Sending => "sending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Skipped => "skipped",
            DeliveryStatus::Deferred => "deferred",
            DeliveryStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryStatus {
    type Err = Invalid;

    fn from_str(raw: &str) -> Result<Self, Invalid> {
        let wanted = raw.trim().to_ascii_lowercase();
        DeliveryStatus::ALL
            .into_iter()
            .find(|s| s.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = DeliveryStatus::ALL.iter().map(|s| s.as_str()).collect();
                Invalid::new(format!(
                    "{raw:?} is not a delivery status; expected one of: {}",
                    names.join(", ")
                ))
            })
    }
}

/// How many rows of an edition are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub queued: i64,
    pub sending: i64,
    pub sent: i64,
    pub skipped: i64,
    pub deferred: i64,
    pub failed: i64,
}

impl StatusCounts {
    /// Adds `n` rows of `status`.
    pub fn add(&mut self, status: DeliveryStatus, n: i64) {
        *self.get_mut(status) += n;
    }

    pub fn get(&self, status: DeliveryStatus) -> i64 {
        match status {
            DeliveryStatus::Queued => self.queued,
            DeliveryStatus::Sending => self.sending,
            DeliveryStatus::Sent => self.sent,
            DeliveryStatus::Skipped => self.skipped,
            DeliveryStatus::Deferred => self.deferred,
            DeliveryStatus::Failed => self.failed,
        }
    }

    fn get_mut(&mut self, status: DeliveryStatus) -> &mut i64 {
        match status {
            DeliveryStatus::Queued => &mut self.queued,
            DeliveryStatus::Sending => &mut self.sending,
            DeliveryStatus::Sent => &mut self.sent,
            DeliveryStatus::Skipped => &mut self.skipped,
            DeliveryStatus::Deferred => &mut self.deferred,
            DeliveryStatus::Failed => &mut self.failed,
        }
    }
}

/// A delivery row claimed for sending.
#[derive(Debug, Clone)]
pub struct Claim {
    pub delivery_id: i64,
    pub subscriber_id: i64,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// When the row was queued (retries stop `delivery.max_age` after it).
    pub queued_at: DateTime<Utc>,
}

/// How one attempt at a claimed delivery ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Sent {
        message_id: String,
        story_ids: Vec<i64>,
        at: DateTime<Utc>,
        /// The `now` the digest was selected at: the subscriber's next
        /// window starts here.
        window_end: DateTime<Utc>,
        /// The subscriber had permanent refusals before: this delivery
        /// resets their bounce count.
        clears_bounces: bool,
    },
    Skipped {
        reason: String,
    },
    /// A transient failure: the row waits for a retry at `retry_at`.
    Deferred {
        message_id: Option<String>,
        error: String,
        retry_at: DateTime<Utc>,
    },
    Failed {
        message_id: Option<String>,
        error: String,
        /// The relay refused this recipient, judged like a bounce (hard
        /// counts towards a threshold, policy never charges the
        /// subscriber); `None` for a failure that is Herald's own (attempts
        /// or age used up).
        refusal: Option<super::Refusal>,
    },
}

impl Outcome {
    /// The status the row takes.
    pub fn status(&self) -> DeliveryStatus {
        match self {
            Outcome::Sent { .. } => DeliveryStatus::Sent,
            Outcome::Skipped { .. } => DeliveryStatus::Skipped,
            Outcome::Deferred { .. } => DeliveryStatus::Deferred,
            Outcome::Failed { .. } => DeliveryStatus::Failed,
        }
    }
}

/// Outcomes counted as they happen. `retries` counts [`Outcome::Deferred`]
/// attempts (one row can be deferred several times); how many rows are
/// still waiting is a [`StatusCounts`] question.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub sent: u64,
    pub skipped: u64,
    pub retries: u64,
    pub failed: u64,
}

impl Tally {
    pub fn add(&mut self, outcome: &Outcome) {
        match outcome.status() {
            DeliveryStatus::Sent => self.sent += 1,
            DeliveryStatus::Skipped => self.skipped += 1,
            DeliveryStatus::Deferred => self.retries += 1,
            DeliveryStatus::Failed => self.failed += 1,
            DeliveryStatus::Queued | DeliveryStatus::Sending => {}
        }
    }
}

/// What a subscriber has received lately (within two periods).
#[derive(Debug, Clone, Default)]
pub struct History {
    /// When their latest digest of this frequency was sent.
    pub last_sent_at: Option<DateTime<Utc>>,
    /// Every story sent to them in that time.
    pub sent_story_ids: HashSet<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip() {
        for s in DeliveryStatus::ALL {
            assert_eq!(s.as_str().parse::<DeliveryStatus>().unwrap(), s);
        }
        assert!("lost".parse::<DeliveryStatus>().is_err());
    }
}
