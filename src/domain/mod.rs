//! Validated domain types: every value that enters Herald from outside (a
//! CSV cell, a JSON field, a CLI flag, a config value) is parsed into one of
//! these types once, at the boundary, so the rest of the code never re-checks
//! it. This module does no IO and knows nothing about SQL, HTTP or mail.

use chrono::{DateTime, SubsecRound, Utc};

mod bounce;
mod delivery;
mod edition;
mod email;
mod feed;
mod links;
mod locale;
mod story;
mod subscriber;
pub mod text;
mod token;

pub use bounce::{BounceEvent, BounceRules, Category, EventAction, NewEvent, Refusal, ReportType, Source};
pub use delivery::{Claim, DeliveryStatus, History, Outcome, StatusCounts, Tally};
pub use edition::Edition;
pub use email::{SubscriberEmail, fingerprint};
pub use feed::{FeedItem, FetchResult};
pub use links::Links;
pub use locale::{Language, Locale};
pub use story::{HttpUrl, NewStory, Story, StoryKind};
pub use subscriber::{
    Frequency, NewSubscriber, SendHour, Subscriber, SubscriberDefaults, SubscriberStatus, SubscriberUpdate,
    TimeZone, Topics,
};
pub use text::HeaderSafe;
pub use token::Token;

/// The reason a value was rejected, worded to follow "field: " in a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

impl Invalid {
    pub fn new(msg: impl Into<String>) -> Self {
        Invalid(msg.into())
    }
}

/// An RFC 3339 timestamp, stored in UTC to the second.
pub fn timestamp(raw: &str) -> Result<DateTime<Utc>, Invalid> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(0))
        .map_err(|e| {
            Invalid::new(format!(
                "{raw:?} is not an RFC 3339 timestamp ({e}); expected e.g. 2026-03-10T07:30:00Z"
            ))
        })
}
