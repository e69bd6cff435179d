//! What Herald hears back after the relay said 250: the kind of a report,
//! the category a failure falls into, and where the news came from. Pure
//! names; the parsing and the acting live in `crate::bounce`.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use super::Invalid;

/// What a failure says about the address, and so what Herald does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// The address is dead: no such user, no such domain or a null MX, a
    /// mailbox moved or disabled. Counts towards the bounce threshold.
    Hard,
    /// Mailbox full, over quota, greylisting, timeouts, temporary errors.
    /// Only a long run of them bounces the address.
    Soft,
    /// The sender is the problem: blocked, spam or content rejection, rate
    /// limits, authentication or DMARC failure, relaying denied. Never
    /// changes the subscriber; surfaced to the operator.
    Policy,
    /// An ARF report or a provider's complaint event: unsubscribe at once.
    Complaint,
    /// Not a failure report: auto-replies, delivery notices, anything else.
    None,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Hard,
        Category::Soft,
        Category::Policy,
        Category::Complaint,
        Category::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Hard => "hard",
            Category::Soft => "soft",
            Category::Policy => "policy",
            Category::Complaint => "complaint",
            Category::None => "none",
        }
    }
}

/// What kind of message a report is (`bounces inspect`'s `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportType {
    /// A delivery status notification or a non-standard bounce.
    Bounce,
    /// An ARF feedback report or a provider's complaint event.
    Complaint,
    /// An RFC 3834 automatic reply (vacation, out of office).
    AutoReply,
    /// Anything else.
    None,
}

impl ReportType {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportType::Bounce => "bounce",
            ReportType::Complaint => "complaint",
            ReportType::AutoReply => "auto_reply",
            ReportType::None => "none",
        }
    }
}

/// Where a bounce or complaint reached Herald.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The relay's reply during Herald's own SMTP session.
    Smtp,
    /// A message given to `herald bounces ingest` (a file, a Maildir, a pipe).
    Mail,
    /// The bounce mailbox the daemon reads over IMAP.
    Imap,
    Ses,
    Sendgrid,
    Mailgun,
    Postmark,
}

impl Source {
    pub const ALL: [Source; 7] = [
        Source::Smtp,
        Source::Mail,
        Source::Imap,
        Source::Ses,
        Source::Sendgrid,
        Source::Mailgun,
        Source::Postmark,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Smtp => "smtp",
            Source::Mail => "mail",
            Source::Imap => "imap",
            Source::Ses => "ses",
            Source::Sendgrid => "sendgrid",
            Source::Mailgun => "mailgun",
            Source::Postmark => "postmark",
        }
    }
}

/// The relay's permanent refusal of one recipient during a send, judged
/// like a bounce report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub category: Category,
    /// The enhanced status code, when the reply carried one.
    pub status: Option<String>,
    pub reason: String,
}

/// What a failure does to a subscriber, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct BounceRules {
    /// Hard bounces without firm evidence (an SMTP 5xx with no enhanced
    /// code) that bounce an address: `delivery.bounce_threshold`.
    pub smtp_threshold: u32,
    /// Hard bounces with firm evidence (a report, an enhanced code):
    /// `bounces.hard_threshold`.
    pub hard_threshold: u32,
    /// Soft bounces within `soft_window` that bounce an address.
    pub soft_limit: u32,
    pub soft_window: chrono::Duration,
}

impl Default for BounceRules {
    fn default() -> Self {
        BounceRules {
            smtp_threshold: 3,
            hard_threshold: 1,
            soft_limit: 5,
            soft_window: chrono::Duration::days(30),
        }
    }
}

/// One bounce or complaint to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub at: DateTime<Utc>,
    pub source: Source,
    pub category: Category,
    pub status: Option<String>,
    pub reason: String,
    pub diagnostic: String,
    pub subscriber_id: Option<i64>,
    pub delivery_id: Option<i64>,
    pub edition_id: Option<i64>,
    /// The failed recipient, when the report names one: its domain is
    /// kept, and its fingerprint suppressed after a hard bounce or a
    /// complaint even when no subscriber has it (any more).
    pub recipient: Option<String>,
    /// Source, report id and recipient: the same report is recorded once.
    pub report_key: Option<String>,
    /// The evidence is firm (a report, or an enhanced status code), so a
    /// hard bounce counts against `hard_threshold`.
    pub firm: bool,
    /// Whether the event may change the subscriber: false for a report
    /// matched only by the address it names while VERP is on (a forged
    /// bounce must not unsubscribe anyone).
    pub act: bool,
}

/// What recording an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventAction {
    /// Recorded only (policy, none, an unmatched or untrusted report).
    None,
    /// Counted towards a threshold not yet reached.
    Counted,
    /// The subscriber is now bounced.
    Bounced,
    /// The subscriber is now unsubscribed (a complaint).
    Unsubscribed,
    /// Seen before: nothing recorded.
    Duplicate,
}

impl EventAction {
    pub fn as_str(self) -> &'static str {
        match self {
            EventAction::None => "",
            EventAction::Counted => "counted",
            EventAction::Bounced => "bounced",
            EventAction::Unsubscribed => "unsubscribed",
            EventAction::Duplicate => "duplicate",
        }
    }
}

/// A recorded event, as `bounces list` and `subscribers show` print it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BounceEvent {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub source: String,
    pub category: String,
    pub status: Option<String>,
    pub reason: String,
    pub diagnostic: String,
    /// The subscriber's address, while they exist.
    pub email: Option<String>,
    /// The edition key, e.g. `daily-2026-03-10`.
    pub edition: Option<String>,
    pub delivery_id: Option<i64>,
    pub domain: String,
    pub action: String,
}

macro_rules! name_enum {
    ($t:ty, $all:expr, $what:literal) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $t {
            type Err = Invalid;

            fn from_str(s: &str) -> Result<Self, Invalid> {
                $all.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
                    let names: Vec<&str> = $all.iter().map(|c| c.as_str()).collect();
                    Invalid::new(format!(
                        concat!("{:?} is not a ", $what, "; expected one of {}"),
                        s,
                        names.join(", ")
                    ))
                })
            }
        }
    };
}

name_enum!(Category, Category::ALL, "bounce category");
name_enum!(Source, Source::ALL, "bounce source");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), c);
        }
        for s in Source::ALL {
            assert_eq!(s.as_str().parse::<Source>().unwrap(), s);
        }
        assert!("bad".parse::<Category>().unwrap_err().0.contains("hard, soft"));
    }
}
