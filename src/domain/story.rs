//! Stories: [`Story`] as stored, [`NewStory`] as validated at an import
//! boundary (its language, if known, a [`Locale`]), [`StoryKind`] (news
//! article or blog post) and [`HttpUrl`], an absolute http(s) URL. Pure;
//! no IO.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{HeaderSafe, Invalid, Locale};

/// A news article or a blog post; the digest shows them in two sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoryKind {
    Story,
    Blog,
}

impl StoryKind {
    pub const ALL: [StoryKind; 2] = [StoryKind::Story, StoryKind::Blog];

    pub fn as_str(self) -> &'static str {
        match self {
            StoryKind::Story => "story",
            StoryKind::Blog => "blog",
        }
    }
}

impl FromStr for StoryKind {
    type Err = Invalid;
    fn from_str(raw: &str) -> Result<Self, Invalid> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "story" => Ok(StoryKind::Story),
            "blog" => Ok(StoryKind::Blog),
            _ => Err(Invalid::new(format!(
                "{raw:?} is not a kind; expected story or blog"
            ))),
        }
    }
}

impl fmt::Display for StoryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An absolute `http` or `https` URL with a host, at most 2,048 characters,
/// in the normalized form the `url` crate serializes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpUrl(String);

impl HttpUrl {
    pub const MAX_LEN: usize = 2048;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(Invalid::new("is empty; expected an http or https URL"));
        }
        let url =
            url::Url::parse(trimmed).map_err(|e| Invalid::new(format!("{trimmed:?} is not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Invalid::new(format!(
                "{trimmed:?} has scheme {:?}; only http and https are allowed",
                url.scheme()
            )));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Invalid::new(format!("{trimmed:?} has no host")));
        }
        let s = String::from(url);
        if s.len() > Self::MAX_LEN {
            return Err(Invalid::new(format!(
                "is {} characters long; at most {} allowed",
                s.len(),
                Self::MAX_LEN
            )));
        }
        Ok(HttpUrl(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for HttpUrl {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// A story to insert or update, fully validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewStory {
    pub kind: StoryKind,
    pub title: HeaderSafe,
    pub url: HttpUrl,
    pub summary: String,
    pub author: HeaderSafe,
    pub section: HeaderSafe,
    pub image_url: Option<HttpUrl>,
    pub published_at: DateTime<Utc>,
    pub votes: i64,
    pub comments: i64,
    /// The story's language, when its source says; none: the site's
    /// language (`site.locale`), whatever it is when a digest is made.
    pub lang: Option<Locale>,
}

/// A story as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Story {
    pub id: i64,
    pub kind: StoryKind,
    pub title: String,
    pub url: String,
    pub summary: String,
    pub author: String,
    pub section: String,
    pub image_url: Option<String>,
    pub published_at: DateTime<Utc>,
    pub votes: i64,
    pub comments: i64,
    pub updated_at: DateTime<Utc>,
    /// See [`NewStory::lang`].
    pub lang: Option<Locale>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_http() {
        assert!(HttpUrl::parse("https://news.example.com/a?b=1").is_ok());
        assert!(HttpUrl::parse("javascript:alert(1)").is_err());
        assert!(HttpUrl::parse("ftp://example.com/x").is_err());
        assert!(HttpUrl::parse("/relative").is_err());
        assert!(HttpUrl::parse("").is_err());
        assert_eq!(
            HttpUrl::parse("HTTPS://Example.com").unwrap().as_str(),
            "https://example.com/"
        );
    }
}
