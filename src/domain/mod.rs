//! Validated domain types: every value that enters Herald from outside (a
//! CSV cell, a JSON field, a CLI flag, a config value) is parsed into one of
//! these types once, at the boundary, so the rest of the code never re-checks
//! it. This module does no IO and knows nothing about SQL, HTTP or mail.

mod delivery;
mod edition;
mod email;
mod feed;
mod story;
mod subscriber;
pub mod text;
mod token;

pub use delivery::{Claim, DeliveryStatus, History, Outcome, StatusCounts, Tally};
pub use edition::Edition;
pub use email::SubscriberEmail;
pub use feed::{FeedItem, FetchResult};
pub use story::{HttpUrl, NewStory, Story, StoryKind};
pub use subscriber::{
    Frequency, NewSubscriber, SendHour, Subscriber, SubscriberStatus, SubscriberUpdate, TimeZone, Topics,
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
