//! Turning a parsed feed into stories: pure code, no IO. This module owns
//! the mapping rules (plain-text title and summary, summary cut, date,
//! author, section, and which extras belong to which entry) and skips an
//! entry with a reason rather than failing the feed. Its rooms: `parse`
//! reads the body with feed-rs (loosening JSON Feed where feed-rs is
//! strict), `links` picks and canonicalises an entry's URL and image,
//! `html` makes text plain, and `extras` is the small XML pass for what
//! feed-rs does not keep (`slash:comments`, `thr:total`, item-level
//! `media:thumbnail`).

mod extras;
mod html;
mod links;
mod parse;

use chrono::Datelike;
use chrono::{DateTime, SubsecRound, Utc};
use feed_rs::model::{Entry, Feed, FeedType, Text};

use crate::domain::text::cut;
use crate::domain::text::{MAX_AUTHOR, MAX_SECTION, MAX_TITLE};
use crate::domain::{FeedItem, HeaderSafe, HttpUrl, NewStory, StoryKind};
pub use extras::{ItemExtras, item_extras};
pub use html::plain_text;
pub use links::canonical_url;
pub use parse::parse;

/// What the mapping needs to know about the feed an entry came from.
pub struct Source<'a> {
    /// Where the feed was fetched from (after redirects): the base for
    /// relative links.
    pub url: &'a url::Url,
    pub kind: StoryKind,
    /// The section given at `feeds add`; empty: the entry's first category.
    pub section: &'a str,
    pub summary_chars: usize,
    /// When the entry was fetched: the publication time of undated entries
    /// (a date in the future, or before 1995, counts as none).
    pub fetched_at: DateTime<Utc>,
}

/// The stories of a feed, and one reason per entry that had to be skipped.
#[derive(Debug, Default)]
pub struct Mapped {
    pub items: Vec<FeedItem>,
    pub skipped: Vec<String>,
}

/// Maps every entry; `extras` holds what the XML pass found for each entry
/// in document order (see [`item_extras`]). Entries are keyed by canonical
/// URL; a second entry with the same URL is skipped.
pub fn map_feed(feed: &Feed, extras: &[ItemExtras], source: &Source<'_>) -> Mapped {
    let mut out = Mapped::default();
    let feed_title = feed
        .title
        .as_ref()
        .map(|t| plain_text(&t.content))
        .unwrap_or_default();
    let feed_author = feed
        .authors
        .first()
        .and_then(person_name)
        .unwrap_or_else(|| feed_title.clone());
    // Extras are matched by position; if the XML pass saw a different
    // number of entries, trust none of them.
    let extras = if extras.len() == feed.entries.len() {
        extras
    } else {
        &[]
    };
    let none = ItemExtras::default();
    // RSS says nothing about whether a title is HTML; Atom and JSON Feed do.
    let rss = matches!(feed.feed_type, FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2);
    let mut seen = std::collections::HashSet::new();
    for (i, entry) in feed.entries.iter().enumerate() {
        match map_entry(entry, extras.get(i).unwrap_or(&none), &feed_author, rss, source) {
            Ok(item) => {
                if seen.insert(item.story.url.as_str().to_owned()) {
                    out.items.push(item);
                } else {
                    out.skipped.push(format!(
                        "entry {} ({}): same URL as an earlier entry",
                        i + 1,
                        item.story.url
                    ));
                }
            }
            Err(why) => out
                .skipped
                .push(format!("entry {} ({}): {why}", i + 1, describe(entry))),
        }
    }
    out
}

fn describe(entry: &Entry) -> String {
    entry
        .links
        .first()
        .map(|l| l.href.clone())
        .or_else(|| entry.title.as_ref().map(|t| cut(&plain_text(&t.content), 60)))
        .unwrap_or_else(|| format!("id {}", entry.id))
}

/// One entry as a story, or why it cannot be one: the first check that
/// fails (link, then title, author, section) is the reason given.
fn map_entry(
    entry: &Entry,
    extras: &ItemExtras,
    feed_author: &str,
    rss: bool,
    source: &Source<'_>,
) -> Result<FeedItem, String> {
    let link = links::entry_link(entry).ok_or("has no http(s) link")?;
    let url = canonical_url(link, source.url)?;
    let title = title(entry, rss)?;
    let summary = summary(entry, rss, source.summary_chars);
    let author = author(entry, feed_author)?;
    let section = section(entry, source)?;
    let date = date(entry, source.fetched_at);
    let published_at = date.unwrap_or(source.fetched_at).trunc_subsecs(0);
    Ok(FeedItem {
        story: NewStory {
            kind: source.kind,
            title,
            url,
            summary,
            author,
            section,
            image_url: links::image(entry, source.url).or_else(|| {
                let raw = extras.image.as_deref()?;
                HttpUrl::parse(source.url.join(raw).ok()?.as_str()).ok()
            }),
            published_at,
            votes: 0,
            comments: extras.comments.unwrap_or(0),
        },
        dated: date.is_some(),
        counted: extras.comments.is_some(),
    })
}

/// A title or summary as plain text. Plain text stays as written (an Atom
/// title "Vec<T> vs Box<T>" keeps its brackets); HTML, and anything from
/// RSS, is stripped.
fn text(t: &Text, rss: bool) -> String {
    if !rss && t.content_type.essence().to_string() == "text/plain" {
        html::collapse(&t.content)
    } else {
        plain_text(&t.content)
    }
}

fn title(entry: &Entry, rss: bool) -> Result<HeaderSafe, String> {
    let raw = entry.title.as_ref().map(|t| text(t, rss)).unwrap_or_default();
    if raw.is_empty() {
        return Err("has no title".into());
    }
    HeaderSafe::parse(&cut(&raw, MAX_TITLE), MAX_TITLE).map_err(|e| format!("title {e}"))
}

/// The entry's summary, else the text of its content, cut at a word.
fn summary(entry: &Entry, rss: bool, chars: usize) -> String {
    let summary = entry
        .summary
        .as_ref()
        .map(|t| text(t, rss))
        .or_else(|| {
            entry
                .content
                .as_ref()
                .and_then(|c| c.body.as_deref())
                .map(plain_text)
        })
        .unwrap_or_default();
    cut(&summary, chars)
}

/// The entry's first author, else the feed's.
fn author(entry: &Entry, feed_author: &str) -> Result<HeaderSafe, String> {
    let author = entry
        .authors
        .first()
        .and_then(person_name)
        .unwrap_or_else(|| feed_author.to_owned());
    HeaderSafe::parse(&cut(&author, MAX_AUTHOR), MAX_AUTHOR).map_err(|e| format!("author {e}"))
}

/// The section given at `feeds add`, else the entry's first category.
fn section(entry: &Entry, source: &Source<'_>) -> Result<HeaderSafe, String> {
    let section = if source.section.is_empty() {
        entry
            .categories
            .first()
            .map(|c| plain_text(c.label.as_deref().unwrap_or(&c.term)))
            .unwrap_or_default()
    } else {
        source.section.to_owned()
    };
    HeaderSafe::parse(&cut(&section, MAX_SECTION), MAX_SECTION).map_err(|e| format!("category {e}"))
}

/// The entry's date, if it has a believable one. A date in the future or a
/// placeholder (Go's zero time, the epoch) is no date: the entry keeps the
/// time it was first seen, so that it neither looks new at every fetch nor
/// sinks out of sight.
fn date(entry: &Entry, fetched_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    entry
        .published
        .or(entry.updated)
        .filter(|d| *d <= fetched_at && d.year() >= 1995)
}

/// A person's display name: RSS writes "jane@example.com (Jane Doe)".
fn person_name(p: &feed_rs::model::Person) -> Option<String> {
    let raw = p.name.as_deref().map(plain_text).filter(|n| !n.is_empty())?;
    if raw.contains('@')
        && let (Some(open), Some(close)) = (raw.find('('), raw.rfind(')'))
        && open < close
    {
        let inner = raw[open + 1..close].trim();
        if !inner.is_empty() {
            return Some(inner.to_owned());
        }
    }
    Some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_stops_at_a_word() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("the quick brown fox jumps", 12), "the quick…");
        assert_eq!(cut("abcdefghijklmnop", 5), "abcd…");
        assert!(cut(&"word ".repeat(100), 300).chars().count() <= 300);
    }
}
