//! The one place that knows Herald's public link paths: where a subscriber
//! unsubscribes, changes preferences, confirms a signup and reads a digest
//! in the browser, and where the public archive lives, under
//! `site.public_url`. The digest, the mail headers and the HTTP pages all
//! build their links here, so a path changes in one line (the router in
//! `http` serves the same paths).

use super::{Edition, Token};

/// Links under the site's public URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// The public URL without a trailing slash.
    base: String,
}

impl Links {
    pub fn new(public_url: &str) -> Links {
        Links {
            base: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The public URL without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// One-click unsubscribe (RFC 8058 POST) and its page (GET).
    pub fn unsubscribe(&self, token: &Token) -> String {
        format!("{}/unsubscribe/{token}", self.base)
    }

    pub fn preferences(&self, token: &Token) -> String {
        format!("{}/preferences/{token}", self.base)
    }

    /// The double opt-in link of the confirmation mail.
    pub fn confirm(&self, token: &Token) -> String {
        format!("{}/confirm/{token}", self.base)
    }

    /// "View in browser": the digest of `edition` as this subscriber got it.
    pub fn view(&self, token: &Token, edition: &Edition) -> String {
        format!("{}/view/{token}/{edition}", self.base)
    }

    /// The signup page (and where the signup box posts).
    pub fn subscribe(&self) -> String {
        format!("{}/subscribe", self.base)
    }

    /// The public archive's list of editions.
    pub fn archive(&self) -> String {
        format!("{}/archive", self.base)
    }

    /// One edition in the public archive.
    pub fn archive_edition(&self, edition: &Edition) -> String {
        format!("{}/archive/{edition}", self.base)
    }

    /// The archive's Atom feed.
    pub fn archive_feed(&self) -> String {
        format!("{}/archive/feed.xml", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_sit_under_the_base_without_a_double_slash() {
        let token = Token::generate();
        let links = Links::new("https://news.example.com/");
        assert_eq!(
            links.unsubscribe(&token),
            format!("https://news.example.com/unsubscribe/{token}")
        );
        assert_eq!(
            links.preferences(&token),
            format!("https://news.example.com/preferences/{token}")
        );
        assert_eq!(
            links.confirm(&token),
            format!("https://news.example.com/confirm/{token}")
        );
        let edition: Edition = "daily-2026-03-10".parse().unwrap();
        assert_eq!(
            links.view(&token, &edition),
            format!("https://news.example.com/view/{token}/daily-2026-03-10")
        );
        assert_eq!(
            links.archive_edition(&edition),
            "https://news.example.com/archive/daily-2026-03-10"
        );
        assert_eq!(links.archive_feed(), "https://news.example.com/archive/feed.xml");
        assert_eq!(links.subscribe(), "https://news.example.com/subscribe");
    }
}
