//! Subscribers: [`Subscriber`] as stored, [`NewSubscriber`] and
//! [`SubscriberUpdate`] as validated at a boundary, the defaults an import
//! fills in, and the values a subscriber chooses ([`Frequency`],
//! [`SubscriberStatus`], [`TimeZone`], [`SendHour`], [`Topics`]; the
//! language is a [`Locale`]). Pure; no IO.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{HeaderSafe, Invalid, Locale, SubscriberEmail, Token};

/// Where a subscriber stands. Only `Active` subscribers receive digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriberStatus {
    /// Signed up, has not confirmed yet (double opt-in).
    Pending,
    /// Receives digests.
    Active,
    /// Asked to stop; kept so that an import does not silently resubscribe.
    Unsubscribed,
    /// Too many permanent delivery failures.
    Bounced,
}

impl SubscriberStatus {
    pub const ALL: [SubscriberStatus; 4] = [
        SubscriberStatus::Pending,
        SubscriberStatus::Active,
        SubscriberStatus::Unsubscribed,
        SubscriberStatus::Bounced,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SubscriberStatus::Pending => "pending",
            SubscriberStatus::Active => "active",
            SubscriberStatus::Unsubscribed => "unsubscribed",
            SubscriberStatus::Bounced => "bounced",
        }
    }
}

/// How often a subscriber gets a digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Frequency {
    Daily,
    Weekly,
}

impl Frequency {
    pub const ALL: [Frequency; 2] = [Frequency::Daily, Frequency::Weekly];

    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
        }
    }
}

macro_rules! str_enum {
    ($ty:ty, $what:literal, [$($variant:expr),+]) => {
        impl FromStr for $ty {
            type Err = Invalid;
            fn from_str(raw: &str) -> Result<Self, Invalid> {
                let wanted = raw.trim().to_ascii_lowercase();
                [$($variant),+]
                    .into_iter()
                    .find(|v| v.as_str() == wanted)
                    .ok_or_else(|| {
                        let names: Vec<&str> = [$($variant.as_str()),+].to_vec();
                        Invalid::new(format!(
                            "{raw:?} is not a {}; expected one of: {}",
                            $what,
                            names.join(", ")
                        ))
                    })
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

str_enum!(
    SubscriberStatus,
    "status",
    [
        SubscriberStatus::Pending,
        SubscriberStatus::Active,
        SubscriberStatus::Unsubscribed,
        SubscriberStatus::Bounced
    ]
);
str_enum!(Frequency, "frequency", [Frequency::Daily, Frequency::Weekly]);

/// An IANA time zone such as `Europe/Lisbon`, checked against the tz database
/// compiled into the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        chrono_tz::Tz::from_str(trimmed).map(TimeZone).map_err(|_| {
            Invalid::new(format!(
                "{trimmed:?} is not an IANA time zone; expected a name like Europe/Lisbon or America/New_York"
            ))
        })
    }

    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for TimeZone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// The local hour (0–23) at which a subscriber wants their digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct SendHour(u8);

impl SendHour {
    pub fn new(hour: i64) -> Result<Self, Invalid> {
        if (0..=23).contains(&hour) {
            Ok(SendHour(hour as u8))
        } else {
            Err(Invalid::new(format!(
                "{hour} is out of range; expected an hour from 0 to 23"
            )))
        }
    }

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        let hour: i64 = trimmed.parse().map_err(|_| {
            Invalid::new(format!(
                "{trimmed:?} is not a number; expected an hour from 0 to 23"
            ))
        })?;
        Self::new(hour)
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

impl fmt::Display for SendHour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The sections a subscriber follows; empty means all. Each topic is trimmed,
/// non-empty, at most 64 characters, without `,` or `;` (the list
/// separators) or control characters. Order is kept, duplicates dropped
/// (case-insensitively).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Topics(Vec<String>);

impl Topics {
    /// Parses a list separated by `separator` (`,` on the command line and in
    /// storage, `;` in CSV files).
    pub fn parse(raw: &str, separator: char) -> Result<Self, Invalid> {
        let mut topics: Vec<String> = Vec::new();
        for part in raw.split(separator) {
            let topic = part.trim();
            if topic.is_empty() {
                continue;
            }
            if topic.contains([',', ';']) || topic.chars().any(char::is_control) {
                return Err(Invalid::new(format!(
                    "topic {topic:?} contains a separator or control character"
                )));
            }
            if topic.chars().count() > 64 {
                return Err(Invalid::new(format!(
                    "topic {topic:?} is longer than 64 characters"
                )));
            }
            if !topics.iter().any(|t| t.eq_ignore_ascii_case(topic)) {
                topics.push(topic.to_owned());
            }
        }
        Ok(Topics(topics))
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The list joined with `separator`, the inverse of [`Topics::parse`].
    pub fn join(&self, separator: char) -> String {
        self.0.join(&separator.to_string())
    }

    /// Whether a story in `section` belongs in this subscriber's digest.
    pub fn includes(&self, section: &str) -> bool {
        self.0.is_empty() || self.0.iter().any(|t| t.eq_ignore_ascii_case(section))
    }
}

/// A subscriber as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Subscriber {
    pub id: i64,
    pub email: SubscriberEmail,
    pub name: String,
    pub status: SubscriberStatus,
    pub timezone: TimeZone,
    pub frequency: Frequency,
    pub send_hour: SendHour,
    pub topics: Topics,
    #[serde(skip)]
    pub token: Token,
    pub created_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub unsubscribed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// Consecutive permanent refusals of the address (reset by a delivery).
    pub bounce_count: u32,
    /// No digest is queued before this instant ("pause for two weeks").
    pub paused_until: Option<DateTime<Utc>>,
    /// The language of their digest and pages; `None`: the site's
    /// (`site.locale`), whatever it is at the time.
    pub locale: Option<Locale>,
}

impl Serialize for SubscriberEmail {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A subscriber to create (admin add, import, signup), fully validated.
#[derive(Debug, Clone)]
pub struct NewSubscriber {
    pub email: SubscriberEmail,
    pub name: HeaderSafe,
    pub status: SubscriberStatus,
    pub timezone: TimeZone,
    pub frequency: Frequency,
    pub send_hour: SendHour,
    pub topics: Topics,
    /// `None`: the site's language.
    pub locale: Option<Locale>,
}

/// The fields an import row sets on a subscriber; `None` means "not given":
/// a new subscriber gets the default, an existing one keeps its value.
#[derive(Debug, Clone)]
pub struct SubscriberUpdate {
    pub email: SubscriberEmail,
    pub name: Option<HeaderSafe>,
    pub status: Option<SubscriberStatus>,
    pub timezone: Option<TimeZone>,
    pub frequency: Option<Frequency>,
    pub send_hour: Option<SendHour>,
    pub topics: Option<Topics>,
    pub locale: Option<Locale>,
}

/// Values given to a new subscriber when an import row leaves them out.
#[derive(Debug, Clone, Copy)]
pub struct SubscriberDefaults {
    pub timezone: TimeZone,
    pub send_hour: SendHour,
    pub frequency: Frequency,
    pub status: SubscriberStatus,
}

impl SubscriberUpdate {
    /// The subscriber this row creates when no one has its address yet.
    pub fn with_defaults(&self, d: SubscriberDefaults) -> NewSubscriber {
        NewSubscriber {
            email: self.email.clone(),
            name: self.name.clone().unwrap_or_default(),
            status: self.status.unwrap_or(d.status),
            timezone: self.timezone.unwrap_or(d.timezone),
            frequency: self.frequency.unwrap_or(d.frequency),
            send_hour: self.send_hour.unwrap_or(d.send_hour),
            topics: self.topics.clone().unwrap_or_default(),
            locale: self.locale.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_enums_and_ranges() {
        assert_eq!("Weekly".parse::<Frequency>().unwrap(), Frequency::Weekly);
        assert!(
            "monthly"
                .parse::<Frequency>()
                .unwrap_err()
                .0
                .contains("daily, weekly")
        );
        assert_eq!(
            "bounced".parse::<SubscriberStatus>().unwrap(),
            SubscriberStatus::Bounced
        );
        assert!(SendHour::parse("24").is_err());
        assert!(SendHour::parse("-1").is_err());
        assert!(SendHour::parse("seven").is_err());
        assert_eq!(SendHour::parse(" 7 ").unwrap().get(), 7);
        assert!(TimeZone::parse("Mars/Olympus").is_err());
        assert_eq!(
            TimeZone::parse("Asia/Kathmandu").unwrap().name(),
            "Asia/Kathmandu"
        );
    }

    #[test]
    fn topics_round_trip() {
        let t = Topics::parse(" World; tech;;world ", ';').unwrap();
        assert_eq!(t.as_slice(), ["World", "tech"]);
        assert_eq!(Topics::parse(&t.join(','), ',').unwrap(), t);
        assert!(t.includes("TECH"));
        assert!(!t.includes("sport"));
        assert!(Topics::default().includes("anything"));
    }
}
