//! Turning a parsed feed into stories: pure code, no IO. Owns the mapping
//! rules (canonical URL, plain-text title and summary, summary cut, date,
//! author, section, image, comment count) and the small XML pass that
//! reads what feed-rs does not keep: `slash:comments`, `thr:total`, and
//! item-level `media:thumbnail`.

use chrono::Datelike;
use chrono::{DateTime, SubsecRound, Utc};
use feed_rs::model::{Entry, Feed, FeedType, Link, Text};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use crate::domain::text::{self, cut};
use crate::domain::text::{MAX_AUTHOR, MAX_SECTION, MAX_TITLE};
use crate::domain::{FeedItem, HeaderSafe, HttpUrl, NewStory, StoryKind};

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

/// Parses a feed body (RSS 0.9x, 1.0, 2.0, Atom or JSON Feed).
pub fn parse(body: &[u8], base: &url::Url) -> Result<Feed, String> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .build();
    match parser.parse(body) {
        Ok(feed) => Ok(feed),
        // feed-rs reads JSON Feed with strict types: one item with a
        // numeric id (which JSON Feed 1.1 tells readers to accept) or an
        // odd attachment would sink the whole feed. Loosen and retry.
        Err(e) => match loosen_json_feed(body) {
            Some(loose) => parser.parse(loose.as_slice()),
            None => Err(e),
        }
        .map_err(|e| format!("not a valid RSS, Atom or JSON feed: {e}")),
    }
}

/// A JSON Feed with ids made strings and, in each item, non-string tags and
/// attachments without a string `url` and `mime_type` dropped; `None` when
/// the body is not a JSON object.
fn loosen_json_feed(body: &[u8]) -> Option<Vec<u8>> {
    use serde_json::Value;
    if !body.trim_ascii_start().starts_with(b"{") {
        return None;
    }
    let mut feed: Value = serde_json::from_slice(body).ok()?;
    for item in feed.get_mut("items")?.as_array_mut()? {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        if let Some(id) = item.get("id").filter(|v| v.is_number()).map(|v| v.to_string()) {
            item.insert("id".into(), Value::String(id));
        }
        if let Some(Value::Array(tags)) = item.get_mut("tags") {
            tags.retain(Value::is_string);
        }
        if let Some(Value::Array(attachments)) = item.get_mut("attachments") {
            attachments.retain(|a| a["url"].is_string() && a["mime_type"].is_string());
        }
    }
    serde_json::to_vec(&feed).ok()
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

fn map_entry(
    entry: &Entry,
    extras: &ItemExtras,
    feed_author: &str,
    rss: bool,
    source: &Source<'_>,
) -> Result<FeedItem, String> {
    // Plain text stays as written (an Atom title "Vec<T> vs Box<T>" keeps
    // its brackets); HTML, and anything from RSS, is stripped.
    let text = |t: &Text| {
        if !rss && t.content_type.essence().to_string() == "text/plain" {
            collapse(&t.content)
        } else {
            plain_text(&t.content)
        }
    };
    let link = entry_link(entry).ok_or("has no http(s) link")?;
    let url = canonical_url(link, source.url)?;
    let raw_title = entry.title.as_ref().map(text).unwrap_or_default();
    if raw_title.is_empty() {
        return Err("has no title".into());
    }
    let title =
        HeaderSafe::parse(&cut(&raw_title, MAX_TITLE), MAX_TITLE).map_err(|e| format!("title {e}"))?;
    let summary = entry
        .summary
        .as_ref()
        .map(text)
        .or_else(|| {
            entry
                .content
                .as_ref()
                .and_then(|c| c.body.as_deref())
                .map(plain_text)
        })
        .unwrap_or_default();
    let summary = cut(&summary, source.summary_chars);
    let author = entry
        .authors
        .first()
        .and_then(person_name)
        .unwrap_or_else(|| feed_author.to_owned());
    let author =
        HeaderSafe::parse(&cut(&author, MAX_AUTHOR), MAX_AUTHOR).map_err(|e| format!("author {e}"))?;
    let section = if source.section.is_empty() {
        entry
            .categories
            .first()
            .map(|c| plain_text(c.label.as_deref().unwrap_or(&c.term)))
            .unwrap_or_default()
    } else {
        source.section.to_owned()
    };
    let section =
        HeaderSafe::parse(&cut(&section, MAX_SECTION), MAX_SECTION).map_err(|e| format!("category {e}"))?;
    // A date in the future or a placeholder (Go's zero time, the epoch)
    // is no date: the entry keeps the time it was first seen, so that it
    // neither looks new at every fetch nor sinks out of sight.
    let date = entry
        .published
        .or(entry.updated)
        .filter(|d| *d <= source.fetched_at && d.year() >= 1995);
    let published_at = date.unwrap_or(source.fetched_at).trunc_subsecs(0);
    Ok(FeedItem {
        story: NewStory {
            kind: source.kind,
            title,
            url,
            summary,
            author,
            section,
            image_url: image(entry, source.url).or_else(|| {
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

/// The entry's page: its first link that is a page (not comments, a
/// comments feed, `self`, `replies` or an attachment), else a
/// permalink-looking id. Nothing else: a story must not point at an mp3.
fn entry_link(entry: &Entry) -> Option<&str> {
    let page = |l: &&Link| {
        l.target.is_none()
            && l.rel.as_deref().is_none_or(|r| r == "alternate")
            && l.media_type.as_deref().is_none_or(|t| t.contains("html"))
    };
    entry
        .links
        .iter()
        .find(page)
        .map(|l| l.href.as_str())
        .or_else(|| {
            (entry.id.starts_with("http://") || entry.id.starts_with("https://")).then_some(entry.id.as_str())
        })
}

/// Query parameters that only track the reader and never select content.
const TRACKING: &[&str] = &[
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid",
    "_hsenc", "_hsmi", "mkt_tok", "ref_src",
];

/// The URL a story is known by: resolved against the feed, http or https
/// only, without a fragment or tracking parameters (`utm_*` and the click
/// ids in [`TRACKING`]); every other parameter is kept as it was written.
pub fn canonical_url(raw: &str, base: &url::Url) -> Result<HttpUrl, String> {
    let mut url = base
        .join(raw.trim())
        .map_err(|e| format!("link {raw:?} is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "link {raw:?} has scheme {:?}; only http and https are kept",
            url.scheme()
        ));
    }
    url.set_fragment(None);
    if let Some(query) = url.query() {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| {
                let key = pair.split('=').next().unwrap_or_default().to_ascii_lowercase();
                !key.is_empty() && !key.starts_with("utm_") && !TRACKING.contains(&key.as_str())
            })
            .collect();
        let kept = kept.join("&");
        url.set_query((!kept.is_empty()).then_some(kept.as_str()));
    }
    HttpUrl::parse(url.as_str()).map_err(|e| format!("link {e}"))
}

/// HTML (or text with entities) as one line of plain text: tags removed
/// (the content of `script` and `style` too) by ammonia, entities decoded,
/// whitespace runs collapsed. Block boundaries become spaces.
pub fn plain_text(html: &str) -> String {
    if !html.contains(['<', '&']) {
        return collapse(html);
    }
    let spaced = space_blocks(html);
    let cleaned = ammonia::Builder::empty().clean(&spaced).to_string();
    collapse(&html_escape::decode_html_entities(&cleaned))
}

/// Whitespace collapsed, control characters dropped.
fn collapse(s: &str) -> String {
    text::collapse(s).chars().filter(|c| !c.is_control()).collect()
}

/// Puts a space before block-level tags so that `<p>One</p><p>Two</p>`
/// reads "One Two", not "OneTwo".
fn space_blocks(html: &str) -> String {
    const BLOCKS: &[&str] = &[
        "p",
        "br",
        "div",
        "li",
        "ul",
        "ol",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "tr",
        "td",
        "th",
        "table",
        "hr",
        "pre",
        "figure",
        "figcaption",
        "section",
        "article",
        "dd",
        "dt",
    ];
    let mut out = String::with_capacity(html.len() + 16);
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let tag = &rest[at + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if BLOCKS.contains(&name.as_str()) {
            out.push(' ');
        }
        out.push('<');
        rest = tag;
    }
    out.push_str(rest);
    out
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

/// The first image the entry carries (Media RSS thumbnail or content, an
/// image enclosure, JSON Feed's image), if its URL is http(s).
fn image(entry: &Entry, base: &url::Url) -> Option<HttpUrl> {
    let candidates = entry.media.iter().flat_map(|m| {
        m.thumbnails.iter().map(|t| t.image.uri.as_str()).chain(
            m.content
                .iter()
                .filter(|c| {
                    c.content_type
                        .as_ref()
                        .is_some_and(|t| t.ty().as_str().eq_ignore_ascii_case("image"))
                })
                .filter_map(|c| c.url.as_ref().map(|u| u.as_str())),
        )
    });
    for raw in candidates {
        if let Ok(url) = base.join(raw)
            && let Ok(url) = HttpUrl::parse(url.as_str())
        {
            return Some(url);
        }
    }
    None
}

const SLASH_NS: &str = "http://purl.org/rss/1.0/modules/slash/";
const THREAD_NS: &str = "http://purl.org/syndication/thread/1.0";
const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";

/// What an item says beyond feed-rs's model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemExtras {
    /// `slash:comments`, else `thr:total`, else a `replies` link's
    /// `thr:count`.
    pub comments: Option<i64>,
    /// An item-level `media:thumbnail` (feed-rs keeps thumbnails only
    /// next to `media:content`), else an image `enclosure`.
    pub image: Option<String>,
}

/// The extras of each `item` (RSS) or `entry` (Atom), in document order.
/// Empty when the body is not XML (JSON Feed has no such fields) or cannot
/// be read.
pub fn item_extras(body: &[u8]) -> Vec<ItemExtras> {
    if body.trim_ascii_start().starts_with(b"{") {
        return json_feed_extras(body);
    }
    let mut reader = quick_xml::reader::NsReader::from_reader(body);
    let mut buf = Vec::new();
    let mut counts: Vec<ItemExtras> = Vec::new();
    // Depth of the open item, and whether we are inside a count element.
    let mut depth = 0usize;
    let mut item_depth: Option<usize> = None;
    let mut in_count = false;
    loop {
        let event = match reader.read_resolved_event_into(&mut buf) {
            Ok((ns, event)) => {
                let ns = match ns {
                    ResolveResult::Bound(n) => Some(n.as_ref().to_owned()),
                    _ => None,
                };
                (ns, event.into_owned())
            }
            Err(_) => return Vec::new(),
        };
        match event {
            (_, Event::Eof) => break,
            (ns, Event::Start(e)) => {
                depth += 1;
                let local = e.local_name();
                let local = local.as_ref();
                if item_depth.is_none() && (local == "item" || local == "entry") {
                    item_depth = Some(depth);
                    counts.push(ItemExtras::default());
                } else if item_depth.is_some() {
                    in_count = matches!(
                        (ns.as_deref(), local),
                        (Some(SLASH_NS), "comments") | (Some(THREAD_NS), "total")
                    );
                    image_of(&reader, &e, ns.as_deref(), counts.last_mut());
                }
            }
            (ns, Event::Empty(e)) => {
                if item_depth.is_some() {
                    image_of(&reader, &e, ns.as_deref(), counts.last_mut());
                }
                // <link rel="replies" thr:count="12" …/>
                if item_depth.is_some() && e.local_name().as_ref() == "link" {
                    let mut replies = false;
                    let mut count = None;
                    for attr in e.attributes().flatten() {
                        let (ns, local) = reader.resolver().resolve_attribute(attr.key);
                        let value = attr.value.trim().to_owned();
                        match (ns, local.as_ref()) {
                            (ResolveResult::Unbound, "rel") => replies = value == "replies",
                            (ResolveResult::Bound(n), "count") if n.as_ref() == THREAD_NS => {
                                count = value.parse::<i64>().ok().filter(|n| *n >= 0);
                            }
                            _ => {}
                        }
                    }
                    if replies
                        && let (Some(n), Some(slot)) = (count, counts.last_mut())
                        && slot.comments.is_none()
                    {
                        slot.comments = Some(n);
                    }
                }
            }
            (_, Event::Text(t)) if in_count => {
                let text: &str = t.as_ref();
                if let (Ok(n), Some(slot)) = (text.trim().parse::<i64>(), counts.last_mut())
                    && n >= 0
                {
                    // slash:comments wins over thr:total: take the first.
                    slot.comments.get_or_insert(n);
                }
            }
            (_, Event::End(_)) => {
                if item_depth == Some(depth) {
                    item_depth = None;
                }
                in_count = false;
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        buf.clear();
    }
    counts
}

/// JSON Feed's `image` (else `banner_image`) of each item, which feed-rs
/// does not keep.
fn json_feed_extras(body: &[u8]) -> Vec<ItemExtras> {
    let Ok(feed) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let Some(items) = feed.get("items").and_then(|i| i.as_array()) else {
        return Vec::new();
    };
    items
        .iter()
        .map(|item| ItemExtras {
            comments: None,
            image: ["image", "banner_image"]
                .iter()
                .find_map(|k| item.get(*k).and_then(|v| v.as_str()))
                .map(str::to_owned),
        })
        .collect()
}

/// Records `<media:thumbnail url=…>` or `<enclosure type="image/…" url=…>`
/// as the item's image unless it has one.
fn image_of<R>(
    reader: &quick_xml::reader::NsReader<R>,
    e: &quick_xml::events::BytesStart<'_>,
    ns: Option<&str>,
    slot: Option<&mut ItemExtras>,
) {
    let Some(slot) = slot.filter(|s| s.image.is_none()) else {
        return;
    };
    let local = e.local_name();
    let thumbnail = ns == Some(MEDIA_NS) && local.as_ref() == "thumbnail";
    let enclosure = ns.is_none() && local.as_ref() == "enclosure";
    if !thumbnail && !enclosure {
        return;
    }
    let mut url = None;
    let mut is_image = thumbnail;
    for attr in e.attributes().flatten() {
        let (_, name) = reader.resolver().resolve_attribute(attr.key);
        match name.as_ref() {
            "url" => url = Some(attr.value.trim().to_owned()),
            "type" => is_image |= attr.value.trim().starts_with("image/"),
            _ => {}
        }
    }
    if is_image {
        slot.image = url;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> url::Url {
        url::Url::parse("https://news.example.com/feeds/main.xml").unwrap()
    }

    #[test]
    fn canonical_urls_drop_tracking_and_fragments_only() {
        let c = |raw: &str| canonical_url(raw, &base()).map(|u| u.as_str().to_owned());
        assert_eq!(
            c("https://news.example.com/a?id=7&utm_source=rss&UTM_Medium=x#top").unwrap(),
            "https://news.example.com/a?id=7"
        );
        assert_eq!(
            c("/b?utm_campaign=z&fbclid=1").unwrap(),
            "https://news.example.com/b"
        );
        assert_eq!(
            c("c/d?q=a%20b&page=2").unwrap(),
            "https://news.example.com/feeds/c/d?q=a%20b&page=2"
        );
        assert!(c("javascript:alert(1)").is_err());
        assert!(c("mailto:x@example.com").is_err());
    }

    #[test]
    fn plain_text_strips_tags_and_decodes_entities() {
        assert_eq!(plain_text("<p>One &amp; two</p><p>Three</p>"), "One & two Three");
        assert_eq!(plain_text("Caf&eacute; &#8220;Zo&euml;&#8221;"), "Café “Zoë”");
        assert_eq!(
            plain_text("<script>alert(1)</script>Safe <b>bold</b>"),
            "Safe bold"
        );
        assert_eq!(plain_text("x &lt; y"), "x < y");
        assert_eq!(plain_text("  a \n\t b  "), "a b");
    }

    #[test]
    fn cut_stops_at_a_word() {
        assert_eq!(cut("short", 10), "short");
        assert_eq!(cut("the quick brown fox jumps", 12), "the quick…");
        assert_eq!(cut("abcdefghijklmnop", 5), "abcd…");
        assert!(cut(&"word ".repeat(100), 300).chars().count() <= 300);
    }

    #[test]
    fn extras_follow_document_order() {
        let rss = br#"<rss xmlns:slash="http://purl.org/rss/1.0/modules/slash/"><channel>
            <item><title>a</title><slash:comments>12</slash:comments></item>
            <item><title>b</title></item>
            <item><title>c</title><comments>http://x/c</comments><slash:comments> 3 </slash:comments></item>
            </channel></rss>"#;
        let comments = |body: &[u8]| {
            item_extras(body)
                .into_iter()
                .map(|e| e.comments)
                .collect::<Vec<_>>()
        };
        assert_eq!(comments(rss), vec![Some(12), None, Some(3)]);
        let atom =
            br#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
            <entry><title>a</title><thr:total>5</thr:total></entry>
            <entry><title>b</title><link rel="replies" href="http://x" thr:count="9"/></entry>
            </feed>"#;
        assert_eq!(comments(atom), vec![Some(5), Some(9)]);
        assert!(item_extras(b"{\"version\": \"https://jsonfeed.org/version/1.1\"}").is_empty());
        let json = br#"{"items": [{"id": "1", "image": "/a.png"}, {"id": "2"}]}"#;
        let images: Vec<_> = item_extras(json).into_iter().map(|e| e.image).collect();
        assert_eq!(images, vec![Some("/a.png".to_owned()), None]);
    }
}
