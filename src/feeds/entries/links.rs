//! Which URLs an entry contributes: the page a story points at, in its
//! canonical form (the key stories are upserted by), and its image. Pure:
//! it resolves against the feed's URL but never fetches anything.

use feed_rs::model::{Entry, Link};

use crate::domain::HttpUrl;

/// The entry's page: its first link that is a page (not comments, a
/// comments feed, `self`, `replies` or an attachment), else a
/// permalink-looking id. Nothing else: a story must not point at an mp3.
pub(super) fn entry_link(entry: &Entry) -> Option<&str> {
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

/// The first image the entry carries (Media RSS thumbnail or content, an
/// image enclosure, JSON Feed's image), if its URL is http(s).
pub(super) fn image(entry: &Entry, base: &url::Url) -> Option<HttpUrl> {
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
}
