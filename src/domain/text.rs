//! Text rules shared by every boundary: [`HeaderSafe`] (no CR, LF or other
//! control characters, for anything that may reach a mail header), the
//! longest accepted names, titles, authors, sections and summaries, and the
//! one `collapse` (whitespace runs to one space) and `cut` (at a word
//! boundary, with an ellipsis). Pure; no IO.

use std::fmt;

use super::Invalid;

/// Longest accepted values, in characters.
pub const MAX_NAME: usize = 200;
pub const MAX_TITLE: usize = 500;
pub const MAX_AUTHOR: usize = 200;
pub const MAX_SECTION: usize = 64;
pub const MAX_SUMMARY: usize = 10_000;

/// Text that may end up in a mail header (a subscriber's name, a story
/// title): no CR, LF or other control characters, so it can never start a new
/// header line. Surrounding whitespace is trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeaderSafe(String);

impl HeaderSafe {
    pub fn parse(raw: &str, max_chars: usize) -> Result<Self, Invalid> {
        if raw.contains(['\r', '\n']) {
            return Err(Invalid::new(
                "contains a line break (CR or LF); it may end up in a mail header",
            ));
        }
        if let Some(c) = raw.chars().find(|c| c.is_control() && *c != '\t') {
            return Err(Invalid::new(format!("contains the control character {c:?}")));
        }
        let trimmed = raw.trim();
        let n = trimmed.chars().count();
        if n > max_chars {
            return Err(Invalid::new(format!(
                "is {n} characters long; at most {max_chars} allowed"
            )));
        }
        Ok(HeaderSafe(trimmed.replace('\t', " ")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for HeaderSafe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Runs of whitespace (line breaks included) become one space; the ends
/// are trimmed.
pub fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cuts `text` to at most `max` characters, at a word boundary when there
/// is one in the second half, marking the cut with an ellipsis.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut end = text
        .char_indices()
        .nth(max.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i);
    if let Some(space) = text[..end].rfind(char::is_whitespace)
        && text[..space].chars().count() >= max / 2
    {
        end = space;
    }
    let head = text[..end].trim_end_matches(|c: char| c.is_whitespace() || ",;:-–—".contains(c));
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_line_breaks() {
        assert!(HeaderSafe::parse("Ana\r\nBcc: x@y.com", 100).is_err());
        assert!(HeaderSafe::parse("Ana\nB", 100).is_err());
        assert!(HeaderSafe::parse("Ana\rB", 100).is_err());
        assert!(HeaderSafe::parse("a\u{0}b", 100).is_err());
        assert_eq!(HeaderSafe::parse("  Zoë  ", 100).unwrap().as_str(), "Zoë");
        assert!(HeaderSafe::parse("abcd", 3).is_err());
    }
}
