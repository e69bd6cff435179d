//! Turning a parsed feed into stories: pure code, no IO. This module owns
//! the mapping rules (plain-text title and summary, summary cut, date,
//! author, section, language, and which extras belong to which entry) and
//! skips an
//! entry with a reason rather than failing the feed. Its rooms: `parse`
//! reads the body with feed-rs after `decode` has made it UTF-8 and `json`
//! has loosened a JSON Feed; `dates` reads the dates feeds write; `links`
//! picks and canonicalises an entry's URL and image; `html` makes text
//! plain; and `extras` is the small XML pass for what feed-rs does not
//! keep (`slash:comments`, `thr:total`, item-level `media:thumbnail`).

mod dates;
mod decode;
mod extras;
mod html;
mod json;
mod links;
mod parse;

use std::collections::HashSet;

use chrono::Datelike;
use chrono::{DateTime, SubsecRound, Utc};
use feed_rs::model::{Entry, Feed, FeedType, Text};

use crate::domain::text::cut;
use crate::domain::text::{MAX_AUTHOR, MAX_SECTION, MAX_TITLE};
use crate::domain::{FeedItem, HeaderSafe, HttpUrl, Locale, NewStory, StoryKind};
pub use extras::{ItemExtras, item_extras};
pub use html::plain_text;
pub use links::canonical_url;
pub use parse::{Document, parse};

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
    /// after the feed's first fetch (a date in the future, or before 1995,
    /// counts as none).
    pub fetched_at: DateTime<Utc>,
    /// No earlier fetch of this feed found entries. Its undated entries
    /// may be years old, so they are dated at the feed's own date
    /// (`lastBuildDate`, `updated`), or held back when it has none, never
    /// at `fetched_at`.
    pub first_fetch: bool,
    /// URLs of undated entries held back at the first fetch: they stay
    /// held while they have no date.
    pub held: &'a HashSet<String>,
}

/// The stories of a feed, one reason per entry that had to be skipped, and
/// the undated entries held back (see [`Source::first_fetch`]).
#[derive(Debug, Default)]
pub struct Mapped {
    pub items: Vec<FeedItem>,
    pub skipped: Vec<String>,
    pub held: Vec<HttpUrl>,
}

/// What became of one entry that could be read.
enum Mapping {
    Story(FeedItem),
    Held(HttpUrl),
}

/// Maps every entry; `extras` holds what the XML pass found for each entry
/// in document order (see [`item_extras`]). Entries are keyed by canonical
/// URL; a second entry with the same URL is skipped.
pub fn map_feed(feed: &Feed, extras: &[ItemExtras], source: &Source<'_>) -> Mapped {
    let mut out = Mapped::default();
    // RSS says nothing about whether a title is HTML; Atom and JSON Feed do.
    let rss = is_rss(feed);
    let feed_title = feed_title(feed);
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
    let feed_date = feed
        .updated
        .or(feed.published)
        .filter(|d| believable(*d, source.fetched_at))
        .map(|d| d.trunc_subsecs(0));
    let feed_lang = language(feed.language.as_deref());
    let mut seen = HashSet::new();
    for (i, entry) in feed.entries.iter().enumerate() {
        let context = Context {
            extras: extras.get(i).unwrap_or(&none),
            feed_author: &feed_author,
            feed_date,
            feed_lang: feed_lang.as_ref(),
            rss,
        };
        match map_entry(entry, &context, source) {
            Ok(Mapping::Held(url)) => out.held.push(url),
            Ok(Mapping::Story(item)) => {
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

/// The feed's own title, as text.
pub fn feed_title(feed: &Feed) -> String {
    feed.title
        .as_ref()
        .map(|t| title_text(t, is_rss(feed)))
        .unwrap_or_default()
}

fn is_rss(feed: &Feed) -> bool {
    matches!(feed.feed_type, FeedType::RSS0 | FeedType::RSS1 | FeedType::RSS2)
}

/// What an entry's mapping needs from the feed around it.
struct Context<'a> {
    extras: &'a ItemExtras,
    feed_author: &'a str,
    /// The feed's own date, if believable: the date of undated entries at
    /// its first fetch.
    feed_date: Option<DateTime<Utc>>,
    /// The feed's language (RSS `<language>` or `dc:language`, the Atom
    /// root's `xml:lang`, JSON Feed's `language`), if it is a tag.
    feed_lang: Option<&'a Locale>,
    rss: bool,
}

/// A language as a feed writes it, if it is a BCP 47 tag. A feed's odd
/// value (`English`) is no language rather than a reason to skip entries.
fn language(raw: Option<&str>) -> Option<Locale> {
    Locale::parse(raw?).ok()
}

fn describe(entry: &Entry) -> String {
    entry
        .links
        .first()
        .map(|l| l.href.clone())
        .or_else(|| entry.title.as_ref().map(|t| cut(&plain_text(&t.content), 60)))
        .unwrap_or_else(|| format!("id {}", entry.id))
}

/// One entry as a story (or held back), or why it cannot be one: the
/// first check that fails (link, then title, author, section) is the
/// reason given.
fn map_entry(entry: &Entry, cx: &Context<'_>, source: &Source<'_>) -> Result<Mapping, String> {
    let (extras, rss) = (cx.extras, cx.rss);
    let link = links::entry_link(entry).ok_or("has no http(s) link")?;
    let url = canonical_url(link, source.url)?;
    let title = title(entry, rss)?;
    let summary = summary(entry, rss, source.summary_chars);
    let author = author(entry, cx.feed_author)?;
    let section = section(entry, source)?;
    let date = date(entry, source.fetched_at);
    let published_at = match date {
        Some(d) => d,
        None if source.held.contains(url.as_str()) => return Ok(Mapping::Held(url)),
        None if source.first_fetch => match cx.feed_date {
            Some(d) => d,
            None => return Ok(Mapping::Held(url)),
        },
        None => source.fetched_at,
    }
    .trunc_subsecs(0);
    Ok(Mapping::Story(FeedItem {
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
            // The entry's own language wins over the feed's.
            lang: language(extras.lang.as_deref()).or_else(|| cx.feed_lang.cloned()),
        },
        dated: date.is_some(),
        counted: extras.comments.is_some(),
    }))
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

/// A title as plain text, decoded once: an RSS title is HTML only when it
/// reads as HTML ([`html::looks_like_html`]), so `Vec&lt;T&gt;` stays
/// `Vec<T>`; an Atom or JSON Feed title is what it declares.
fn title_text(t: &Text, rss: bool) -> String {
    if rss && !html::looks_like_html(&t.content) {
        html::collapse(&t.content)
    } else {
        text(t, rss)
    }
}

fn title(entry: &Entry, rss: bool) -> Result<HeaderSafe, String> {
    let raw = entry
        .title
        .as_ref()
        .map(|t| title_text(t, rss))
        .unwrap_or_default();
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
/// placeholder (Go's zero time, the epoch) is no date: after the feed's
/// first fetch the entry keeps the time it was first seen, so that it
/// neither looks new at every fetch nor sinks out of sight.
fn date(entry: &Entry, fetched_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    entry
        .published
        .or(entry.updated)
        .filter(|d| believable(*d, fetched_at))
}

fn believable(d: DateTime<Utc>, fetched_at: DateTime<Utc>) -> bool {
    d <= fetched_at && d.year() >= 1995
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
