//! Reading a feed body into feed-rs's model, with what feed-rs needs done
//! first: the bytes decoded to UTF-8 (`decode`), JSON Feed loosened
//! (`json`), and two roots it would not recognise made ones it does: RSS
//! 0.90 (`http://my.netscape.com/rdf/simple/0.9/`, laid out like RSS 1.0)
//! is read as RSS 1.0, and an `<rss>` whose `version` is missing or
//! neither 0.91, 0.92 nor 2.0 (0.93, 0.94, 2.0.1…) as RSS 2.0. Dates are
//! read by `dates`; a time without an offset is taken at the offset the
//! feed's other dates carry, when they all carry the same one, else UTC.
//! Pure: no IO, and no mapping into stories (that is the parent module).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use chrono::FixedOffset;
use feed_rs::model::Feed;
use quick_xml::events::{BytesStart, Event};

use super::{dates, decode, json};

const RSS_090_NS: &str = "http://my.netscape.com/rdf/simple/0.9/";
const RSS_10_NS: &str = "http://purl.org/rss/1.0/";

/// A feed read: the model, the body it was read from (UTF-8; for JSON Feed
/// the loosened JSON, whose items are the entries one for one), and the
/// items left out before feed-rs saw them.
#[derive(Debug)]
pub struct Document {
    pub feed: Feed,
    pub body: Vec<u8>,
    pub skipped: Vec<String>,
    /// The encoding the body was read in and how it was chosen, e.g.
    /// "windows-1252 from the XML declaration".
    pub encoding: String,
}

/// Parses a feed body (RSS 0.90, 0.9x, 1.0, 2.0, Atom or JSON Feed 1.0 and
/// 1.1). `content_type` is the response's header, for its charset.
pub fn parse(body: &[u8], content_type: Option<&str>, base: &url::Url) -> Result<Document, String> {
    let tld = match base.host() {
        Some(url::Host::Domain(host)) => host.rsplit('.').next(),
        _ => None,
    };
    let decoded = decode::decode(body, content_type.and_then(decode::charset_of), tld);
    let encoding = format!("{} {}", decoded.encoding.name(), decoded.how);
    let (body, skipped, root) = if decoded.text.trim_start().starts_with('{') {
        let loose = json::loosen(&decoded.text).map_err(|e| format!("not a valid JSON Feed: {e}"))?;
        (loose.body, loose.skipped, None)
    } else {
        let (text, root) = fix_root(&decoded.text);
        (text.into_bytes(), Vec::new(), root)
    };
    let feed = read_with_dates(&body, base).map_err(|e| match (&e, root) {
        (
            feed_rs::parser::ParseFeedError::ParseError(feed_rs::parser::ParseErrorKind::NoFeedRoot),
            Some(root),
        ) => {
            format!("not a valid RSS, Atom or JSON feed: the root element is <{root}>, not rss, RDF or feed")
        }
        _ => format!("not a valid RSS, Atom or JSON feed: {e}"),
    })?;
    Ok(Document {
        feed,
        body,
        skipped,
        encoding,
    })
}

/// The offsets the dates of one parse carried, and how many had none.
#[derive(Default)]
struct Offsets {
    seen: BTreeSet<i32>,
    naive: usize,
}

/// Parses with naive times at UTC, and again at the feed's own offset if
/// it has naive times and all its other dates agree on one offset.
fn read_with_dates(body: &[u8], base: &url::Url) -> Result<Feed, feed_rs::parser::ParseFeedError> {
    let utc = FixedOffset::east_opt(0).expect("zero offset");
    let offsets = Arc::new(Mutex::new(Offsets::default()));
    let feed = read(body, base, utc, Some(offsets.clone()))?;
    let own = {
        let o = offsets.lock().unwrap_or_else(|e| e.into_inner());
        match (o.naive, o.seen.len(), o.seen.first()) {
            (1.., 1, Some(&secs)) if secs != 0 => FixedOffset::east_opt(secs),
            _ => None,
        }
    };
    match own {
        Some(offset) => read(body, base, offset, None),
        None => Ok(feed),
    }
}

fn read(
    body: &[u8],
    base: &url::Url,
    naive_at: FixedOffset,
    record: Option<Arc<Mutex<Offsets>>>,
) -> Result<Feed, feed_rs::parser::ParseFeedError> {
    feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .timestamp_parser(move |text| {
            let date = dates::parse(text, naive_at)?;
            if let Some(record) = &record {
                let mut o = record.lock().unwrap_or_else(|e| e.into_inner());
                match date.offset {
                    Some(offset) => {
                        o.seen.insert(offset.local_minus_utc());
                    }
                    None => o.naive += 1,
                }
            }
            Some(date.at)
        })
        .build()
        .parse(body)
}

/// The text with its root element made one feed-rs recognises (see the
/// module comment), and the root's name; unchanged when it is neither
/// case or cannot be read.
fn fix_root(text: &str) -> (String, Option<String>) {
    let mut reader = quick_xml::Reader::from_str(text);
    loop {
        let before = reader.buffer_position() as usize;
        let (start, empty) = match reader.read_event() {
            Ok(Event::Start(e)) => (e, false),
            Ok(Event::Empty(e)) => (e, true),
            Ok(Event::Eof) | Err(_) => return (text.to_owned(), None),
            Ok(_) => continue,
        };
        let end = reader.buffer_position() as usize;
        let name = start.name().as_ref().to_owned();
        let Some(tag) = text.get(before..end).filter(|t| t.starts_with('<')) else {
            return (text.to_owned(), Some(name));
        };
        let local = start.local_name();
        let fixed = match local.as_ref() {
            "RDF" if tag.contains(RSS_090_NS) => Some(tag.replace(RSS_090_NS, RSS_10_NS)),
            "rss" => rss_as_20(&start, empty),
            _ => None,
        };
        return match fixed {
            Some(fixed) => (format!("{}{fixed}{}", &text[..before], &text[end..]), Some(name)),
            None => (text.to_owned(), Some(name)),
        };
    }
}

/// An `<rss>` start tag with `version="2.0"`, unless feed-rs knows its
/// version already.
fn rss_as_20(start: &BytesStart<'_>, empty: bool) -> Option<String> {
    let mut attrs = String::new();
    for attr in start.attributes().with_checks(false).flatten() {
        let key = attr.key.as_ref();
        let value = &attr.value;
        if key == "version" {
            if matches!(value.trim(), "2.0" | "0.91" | "0.92") {
                return None;
            }
            continue;
        }
        let quote = if value.contains('"') { '\'' } else { '"' };
        attrs.push_str(&format!(" {key}={quote}{value}{quote}"));
    }
    let name = start.name().as_ref().to_owned();
    Some(format!(
        "<{name}{attrs} version=\"2.0\"{}>",
        if empty { "/" } else { "" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> url::Url {
        url::Url::parse("https://feeds.example.com/f.xml").unwrap()
    }

    #[test]
    fn rss_090_and_odd_rss_versions_are_read() {
        let rss090 = r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://my.netscape.com/rdf/simple/0.9/">
<channel><title>Old</title><link>https://old.example.com/</link><description>d</description></channel>
<item><title>One</title><link>https://old.example.com/1</link></item>
<item><title>Two</title><link>https://old.example.com/2</link></item>
</rdf:RDF>"#;
        let doc = parse(rss090.as_bytes(), None, &base()).unwrap();
        assert_eq!(doc.feed.entries.len(), 2);
        assert_eq!(doc.feed.entries[1].links[0].href, "https://old.example.com/2");
        for version in ["", " version=\"0.94\"", " version='2.0.1'"] {
            let rss = format!(
                "<rss{version} xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><channel><title>T</title>\
                 <item><title>A</title><link>https://x.example/a</link></item></channel></rss>"
            );
            let doc = parse(rss.as_bytes(), None, &base()).unwrap();
            assert_eq!(doc.feed.entries.len(), 1, "{version}");
        }
        let e = parse(b"<html><body>hi</body></html>", None, &base()).unwrap_err();
        assert_eq!(
            e,
            "not a valid RSS, Atom or JSON feed: the root element is <html>, not rss, RDF or feed"
        );
    }

    #[test]
    fn naive_times_follow_the_feeds_offset() {
        let rss = r#"<rss version="2.0"><channel><title>T</title>
<lastBuildDate>Sat, 16 Dec 2023 15:00:00 +0100</lastBuildDate>
<item><title>A</title><link>https://x.example/a</link><pubDate>2023-12-16 14:02:33</pubDate></item>
<item><title>B</title><link>https://x.example/b</link><pubDate>Sat, 16 Dec 2023 12:00:00 +0100</pubDate></item>
</channel></rss>"#;
        let doc = parse(rss.as_bytes(), None, &base()).unwrap();
        let a = doc.feed.entries[0].published.unwrap();
        assert_eq!(a.to_rfc3339(), "2023-12-16T13:02:33+00:00");
        // Offsets that disagree: UTC.
        let mixed = rss.replace("12:00:00 +0100", "12:00:00 +0200");
        let doc = parse(mixed.as_bytes(), None, &base()).unwrap();
        assert_eq!(
            doc.feed.entries[0].published.unwrap().to_rfc3339(),
            "2023-12-16T14:02:33+00:00"
        );
    }
}
