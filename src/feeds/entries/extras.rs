//! What an item says that feed-rs's model drops: a comment count
//! (`slash:comments`, `thr:total`, a `replies` link's `thr:count`), an
//! item-level image (`media:thumbnail`, an image `enclosure`, JSON Feed's
//! `image`) and an item-level language (an Atom `<entry xml:lang>`, an RSS
//! item's `dc:language`, a JSON Feed 1.1 item's `language`). A second, small pass over the body with quick-xml (or
//! serde_json for JSON Feed), pure and forgiving: a body it cannot read
//! yields no extras, never an error. Matching extras to entries is the
//! parent module's job.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

const SLASH_NS: &str = "http://purl.org/rss/1.0/modules/slash/";
const THREAD_NS: &str = "http://purl.org/syndication/thread/1.0";
const MEDIA_NS: &str = "http://search.yahoo.com/mrss/";
const DC_NS: &str = "http://purl.org/dc/elements/1.1/";

/// What an item says beyond feed-rs's model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemExtras {
    /// `slash:comments`, else `thr:total`, else a `replies` link's
    /// `thr:count`.
    pub comments: Option<i64>,
    /// An item-level `media:thumbnail` (feed-rs keeps thumbnails only
    /// next to `media:content`), else an image `enclosure`.
    pub image: Option<String>,
    /// The item's own language as written (not checked here): the
    /// `xml:lang` of the `entry` or `item` element, else its
    /// `dc:language`. feed-rs keeps only the feed's (and an Atom
    /// `content`'s, which is not the entry's).
    pub lang: Option<String>,
}

/// The extras of each `item` (RSS) or `entry` (Atom), in document order.
/// Empty when the body is not XML (JSON Feed has no such fields) or cannot
/// be read.
pub fn item_extras(body: &[u8]) -> Vec<ItemExtras> {
    if body.trim_ascii_start().starts_with(b"{") {
        return json_feed_extras(body);
    }
    let mut reader = NsReader::from_reader(body);
    let mut buf = Vec::new();
    let mut pass = Pass::default();
    loop {
        // The namespace borrows the reader: own it before going on.
        let (ns, event) = match reader.read_resolved_event_into(&mut buf) {
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
            Event::Eof => break,
            Event::Start(e) => pass.start(&reader, ns.as_deref(), &e),
            Event::Empty(e) => pass.empty(&reader, ns.as_deref(), &e),
            Event::Text(t) if pass.in_count => pass.count(t.as_ref()),
            Event::Text(t) if pass.in_language => pass.language(t.as_ref()),
            Event::End(_) => pass.end(),
            _ => {}
        }
        buf.clear();
    }
    pass.items
}

/// Where the XML pass is, and what it has found so far.
#[derive(Default)]
struct Pass {
    /// One per item seen so far; the open item, if any, is the last.
    items: Vec<ItemExtras>,
    /// Depth of the current element.
    depth: usize,
    /// Depth of the open item.
    item_depth: Option<usize>,
    /// Whether we are inside a count element of the open item.
    in_count: bool,
    /// Whether we are inside the open item's `dc:language`.
    in_language: bool,
}

impl Pass {
    fn start<R>(&mut self, reader: &NsReader<R>, ns: Option<&str>, e: &BytesStart<'_>) {
        self.depth += 1;
        let local = e.local_name();
        let local = local.as_ref();
        if self.item_depth.is_none() && (local == "item" || local == "entry") {
            self.item_depth = Some(self.depth);
            self.items.push(ItemExtras {
                lang: xml_lang(e),
                ..ItemExtras::default()
            });
        } else if self.item_depth.is_some() {
            self.in_count = matches!(
                (ns, local),
                (Some(SLASH_NS), "comments") | (Some(THREAD_NS), "total")
            );
            self.in_language = ns == Some(DC_NS) && local == "language";
            image_of(reader, e, ns, self.items.last_mut());
        }
    }

    fn empty<R>(&mut self, reader: &NsReader<R>, ns: Option<&str>, e: &BytesStart<'_>) {
        if self.item_depth.is_none() {
            return;
        }
        let Some(slot) = self.items.last_mut() else {
            return;
        };
        image_of(reader, e, ns, Some(&mut *slot));
        // <link rel="replies" thr:count="12" …/>
        if e.local_name().as_ref() == "link"
            && let Some(n) = replies_count(reader, e)
            && slot.comments.is_none()
        {
            slot.comments = Some(n);
        }
    }

    /// The text of a count element.
    fn count(&mut self, text: &str) {
        if let (Ok(n), Some(slot)) = (text.trim().parse::<i64>(), self.items.last_mut())
            && n >= 0
        {
            // slash:comments wins over thr:total: take the first.
            slot.comments.get_or_insert(n);
        }
    }

    /// The text of the open item's `dc:language`, unless its `xml:lang`
    /// said already.
    fn language(&mut self, text: &str) {
        if let Some(slot) = self.items.last_mut()
            && slot.lang.is_none()
            && !text.trim().is_empty()
        {
            slot.lang = Some(text.trim().to_owned());
        }
    }

    fn end(&mut self) {
        if self.item_depth == Some(self.depth) {
            self.item_depth = None;
        }
        self.in_count = false;
        self.in_language = false;
        self.depth = self.depth.saturating_sub(1);
    }
}

/// The `thr:count` of a `<link rel="replies">`, if the link is one and the
/// count is a number of at least zero.
fn replies_count<R>(reader: &NsReader<R>, e: &BytesStart<'_>) -> Option<i64> {
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
    count.filter(|_| replies)
}

/// An element's own `xml:lang`, if not empty.
fn xml_lang(e: &BytesStart<'_>) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == "xml:lang")
        .map(|a| a.value.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// JSON Feed's `image` (else `banner_image`) and `language` (1.1) of each
/// item, which feed-rs does not keep.
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
            lang: item
                .get("language")
                .and_then(|v| v.as_str())
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty()),
        })
        .collect()
}

/// Records `<media:thumbnail url=…>` or `<enclosure type="image/…" url=…>`
/// as the item's image unless it has one.
fn image_of<R>(reader: &NsReader<R>, e: &BytesStart<'_>, ns: Option<&str>, slot: Option<&mut ItemExtras>) {
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

    #[test]
    fn item_languages_from_each_format() {
        let langs = |body: &[u8]| item_extras(body).into_iter().map(|e| e.lang).collect::<Vec<_>>();
        let atom = br#"<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
            <entry xml:lang="ar"><title xml:lang="fr">a</title></entry>
            <entry><title>b</title><content xml:lang="de">c</content></entry>
            <entry xml:lang=" "><title>c</title></entry>
            </feed>"#;
        assert_eq!(langs(atom), vec![Some("ar".to_owned()), None, None]);
        let rss = br#"<rss xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><language>en</language>
            <item><title>a</title><dc:language> fr-CA </dc:language></item>
            <item><title>b</title><language>ar</language></item>
            <item xml:lang="es"><title>c</title><dc:language>fr</dc:language></item>
            </channel></rss>"#;
        assert_eq!(
            langs(rss),
            vec![Some("fr-CA".to_owned()), None, Some("es".to_owned())],
            "dc:language in its namespace only; xml:lang first"
        );
        let json = br#"{"language": "en", "items": [{"id": "1", "language": "ar"}, {"id": "2", "language": 3}, {"id": "3"}]}"#;
        assert_eq!(langs(json), vec![Some("ar".to_owned()), None, None]);
    }

    #[test]
    fn item_images_and_reply_counts_need_the_right_markup() {
        let rss = br#"<rss xmlns:media="http://search.yahoo.com/mrss/"><channel>
            <item><media:thumbnail url=" /t.png "/><enclosure type="image/jpeg" url="/e.jpg"/></item>
            <item><enclosure type="audio/mpeg" url="/a.mp3"/><thumbnail url="/no-namespace.png"/></item>
            <item><enclosure type="image/png" url="/e.png"/></item>
            </channel></rss>"#;
        let images: Vec<_> = item_extras(rss).into_iter().map(|e| e.image).collect();
        assert_eq!(
            images,
            vec![Some("/t.png".to_owned()), None, Some("/e.png".to_owned())]
        );
        let atom =
            br#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0">
            <entry><link href="http://x" thr:count="4"/></entry>
            <entry><link rel="replies" href="http://x" thr:count="-1"/></entry>
            <entry><thr:total>2</thr:total><link rel="replies" href="http://x" thr:count="7"/></entry>
            </feed>"#;
        let comments: Vec<_> = item_extras(atom).into_iter().map(|e| e.comments).collect();
        assert_eq!(comments, vec![None, None, Some(2)]);
        assert!(item_extras(b"<rss><channel><item></channel>").is_empty());
    }
}
