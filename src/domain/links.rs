//! The one place that knows Herald's public link paths: where a subscriber
//! unsubscribes, changes preferences and confirms a signup, under
//! `site.public_url`. The digest, the mail headers and the HTTP pages all
//! build their links here, so a path changes in one line (the router in
//! `http` serves the same paths).

use super::Token;

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
    }
}
