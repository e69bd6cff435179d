//! Builders for the records tests and benchmarks are made of: stories,
//! subscribers, the site, the ranking rules and an edition, each with
//! plausible defaults so that a test names only the fields it is about
//! (`story(3).blog().votes(40).build()`). Compiled only for this crate's own
//! unit tests and, through the `test-support` feature, for the integration
//! tests and benches (Cargo.toml enables it with a dev-dependency on the
//! crate itself); never part of a release build. No IO, no store: a record
//! built here has not been validated against one, and the ids are whatever
//! the test says.

use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::Edition;
use crate::domain::Locale;
use crate::domain::{
    Frequency, HeaderSafe, NewSubscriber, SendHour, Story, StoryKind, Subscriber, SubscriberEmail,
    SubscriberStatus, TimeZone, Token, Topics,
};
use crate::render::{Limits, Site};
use crate::select::{Languages, Rules};

/// The instant the fixtures are set around: the morning of the
/// 2026-03-10 edition.
pub const NOW: &str = "2026-03-10T07:00:00Z";

/// The built-in `digest` ranking rules (config/herald.toml).
pub const RULES: Rules = Rules {
    comment_weight: 2.0,
    exposure_hours: 6.0,
    prior_hours: 2.0,
    period_hours: 24.0,
    max_stories: 10,
    max_blog_posts: 5,
    max_per_author: 3,
    languages: Languages::All,
};

/// The built-in `digest` size limits (config/herald.toml).
pub const LIMITS: Limits = Limits {
    max_html_bytes: 100_000,
    summary_chars: 160,
};

/// An RFC 3339 instant; panics on a malformed literal, which is a bug in
/// the test.
pub fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339)
        .unwrap_or_else(|e| panic!("{rfc3339:?} is not RFC 3339: {e}"))
        .with_timezone(&Utc)
}

/// The daily edition of `date` (YYYY-MM-DD).
pub fn daily(date: &str) -> Edition {
    Edition {
        frequency: Frequency::Daily,
        date: NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .unwrap_or_else(|e| panic!("{date:?} is not a YYYY-MM-DD date: {e}")),
    }
}

/// The site every rendering fixture uses.
pub fn site() -> Site {
    Site {
        name: "Example News".into(),
        postal_address: "1 Example Street, Springfield".into(),
        url: "https://news.example.com".into(),
        locale: Locale::parse("en").expect("a tag"),
    }
}

/// A story with id `id`: a news story titled "Story {id}" at
/// `https://news.example.com/{id}`, published at [`NOW`] minus an hour, no
/// votes, comments, author, section, summary or image.
pub fn story(id: i64) -> StoryBuilder {
    let published_at = at(NOW) - chrono::Duration::hours(1);
    StoryBuilder(Story {
        id,
        kind: StoryKind::Story,
        title: format!("Story {id}"),
        url: format!("https://news.example.com/{id}"),
        summary: String::new(),
        author: String::new(),
        section: String::new(),
        image_url: None,
        published_at,
        votes: 0,
        comments: 0,
        updated_at: published_at,
        lang: None,
    })
}

/// A [`Story`] under construction; [`StoryBuilder::build`] finishes it.
#[derive(Debug, Clone)]
pub struct StoryBuilder(Story);

impl StoryBuilder {
    pub fn build(self) -> Story {
        self.0
    }

    pub fn blog(self) -> Self {
        self.kind(StoryKind::Blog)
    }

    pub fn kind(mut self, kind: StoryKind) -> Self {
        self.0.kind = kind;
        self
    }

    pub fn title(mut self, title: &str) -> Self {
        self.0.title = title.into();
        self
    }

    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.0.url = url.into();
        self
    }

    pub fn summary(mut self, summary: &str) -> Self {
        self.0.summary = summary.into();
        self
    }

    pub fn author(mut self, author: impl Into<String>) -> Self {
        self.0.author = author.into();
        self
    }

    pub fn section(mut self, section: &str) -> Self {
        self.0.section = section.into();
        self
    }

    pub fn image(mut self, url: impl Into<String>) -> Self {
        self.0.image_url = Some(url.into());
        self
    }

    /// Sets the publication time, and the update time with it.
    pub fn published(mut self, at: DateTime<Utc>) -> Self {
        self.0.published_at = at;
        self.0.updated_at = at;
        self
    }

    /// Sets the update time alone (after [`StoryBuilder::published`]).
    pub fn updated(mut self, at: DateTime<Utc>) -> Self {
        self.0.updated_at = at;
        self
    }

    pub fn votes(mut self, votes: i64) -> Self {
        self.0.votes = votes;
        self
    }

    pub fn comments(mut self, comments: i64) -> Self {
        self.0.comments = comments;
        self
    }

    /// Sets the story's language; panics on a malformed tag.
    pub fn lang(mut self, tag: &str) -> Self {
        self.0.lang = Some(Locale::parse(tag).unwrap_or_else(|e| panic!("{tag:?}: {e}")));
        self
    }
}

/// An active daily subscriber at `email`, id 1, no name, UTC, 07:00, every
/// topic, a fresh random token, created 2026-01-01.
pub fn subscriber(email: &str) -> SubscriberBuilder {
    let created = at("2026-01-01T00:00:00Z");
    SubscriberBuilder(Subscriber {
        id: 1,
        email: SubscriberEmail::parse(email).unwrap_or_else(|e| panic!("{email:?}: {e}")),
        name: String::new(),
        status: SubscriberStatus::Active,
        timezone: TimeZone::parse("UTC").expect("UTC is a time zone"),
        frequency: Frequency::Daily,
        send_hour: SendHour::new(7).expect("7 is an hour"),
        topics: Topics::default(),
        token: Token::generate(),
        created_at: created,
        confirmed_at: None,
        unsubscribed_at: None,
        updated_at: created,
        bounce_count: 0,
        paused_until: None,
        locale: None,
    })
}

/// A [`Subscriber`] under construction; [`SubscriberBuilder::build`]
/// finishes it, [`SubscriberBuilder::new_subscriber`] gives the record to
/// insert instead.
#[derive(Debug, Clone)]
pub struct SubscriberBuilder(Subscriber);

impl SubscriberBuilder {
    pub fn build(self) -> Subscriber {
        self.0
    }

    /// The fields a store insert takes (id, token and times are the store's).
    pub fn new_subscriber(self) -> NewSubscriber {
        let s = self.0;
        NewSubscriber {
            name: HeaderSafe::parse(&s.name, usize::MAX).unwrap_or_else(|e| panic!("{:?}: {e}", s.name)),
            email: s.email,
            status: s.status,
            timezone: s.timezone,
            frequency: s.frequency,
            send_hour: s.send_hour,
            topics: s.topics,
            locale: s.locale,
        }
    }

    pub fn id(mut self, id: i64) -> Self {
        self.0.id = id;
        self
    }

    pub fn name(mut self, name: &str) -> Self {
        self.0.name = name.into();
        self
    }

    pub fn timezone(mut self, zone: &str) -> Self {
        self.0.timezone = TimeZone::parse(zone).unwrap_or_else(|e| panic!("{zone:?}: {e}"));
        self
    }

    pub fn send_hour(mut self, hour: i64) -> Self {
        self.0.send_hour = SendHour::new(hour).unwrap_or_else(|e| panic!("{hour}: {e}"));
        self
    }

    /// Comma-separated, as on the command line; "" is every topic.
    pub fn topics(mut self, topics: &str) -> Self {
        self.0.topics = Topics::parse(topics, ',').unwrap_or_else(|e| panic!("{topics:?}: {e}"));
        self
    }

    /// A BCP 47 tag, e.g. "ar".
    pub fn locale(mut self, tag: &str) -> Self {
        self.0.locale = Some(Locale::parse(tag).unwrap_or_else(|e| panic!("{tag:?}: {e}")));
        self
    }

    /// A fixed token (32 URL-safe base64 characters), for snapshots.
    pub fn token(mut self, token: &str) -> Self {
        self.0.token = Token::parse(token).unwrap_or_else(|e| panic!("{token:?}: {e}"));
        self
    }
}
