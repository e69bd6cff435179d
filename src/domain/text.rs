//! Text rules shared by every boundary: [`HeaderSafe`] (no CR, LF or other
//! control characters, and no bidirectional overrides or isolates, for
//! anything that may reach a mail header), the
//! longest accepted names, titles, authors, sections and summaries, and the
//! one `collapse` (whitespace runs to one space), `cut` (at a word
//! boundary, with an ellipsis) and `numeric_reference` (the one spelling of
//! an HTML character reference, which rendering and the mail parts both
//! write). Pure; no IO.

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
/// header line, and none of the bidirectional embedding, override and
/// isolate controls (U+202A–U+202E, U+2066–U+2069), which reorder what a
/// mail client shows (`\u{202E}moc.knab` displayed as a bank's name). The
/// implicit marks LRM, RLM and ALM (U+200E, U+200F, U+061C) are allowed:
/// they only nudge neutral characters next to them, cannot reverse a run,
/// and appear in ordinary right-to-left names. Surrounding whitespace is
/// trimmed.
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
        if let Some(c) = raw.chars().find(|&c| is_bidi_control(c)) {
            return Err(Invalid::new(format!(
                "contains the bidirectional control U+{:04X}, which can make a mail client show text reordered",
                c as u32
            )));
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

/// The explicit bidirectional formatting characters: embeddings and
/// overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI, FSI, PDI).
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
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

/// The HTML numeric character reference for `c` (`é` as `&#233;`), in
/// decimal, on the stack.
pub fn numeric_reference(c: char) -> NumericReference {
    let mut buf = [0u8; 10];
    let mut n = u32::from(c);
    let mut k = buf.len() - 1;
    buf[k] = b';';
    loop {
        k -= 1;
        buf[k] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf[k - 2..k].copy_from_slice(b"&#");
    NumericReference { buf, start: k - 2 }
}

/// What [`numeric_reference`] writes: at most `&#1114111;`, ten bytes.
pub struct NumericReference {
    buf: [u8; 10],
    start: usize,
}

impl NumericReference {
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[self.start..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_references_are_decimal() {
        for c in ['\0', 'a', 'é', '\u{a0}', '—', '\u{2066}', '🎉', char::MAX] {
            assert_eq!(
                numeric_reference(c).as_bytes(),
                format!("&#{};", u32::from(c)).as_bytes()
            );
        }
    }

    #[test]
    fn rejects_line_breaks() {
        assert!(HeaderSafe::parse("Ana\r\nBcc: x@y.com", 100).is_err());
        assert!(HeaderSafe::parse("Ana\nB", 100).is_err());
        assert!(HeaderSafe::parse("Ana\rB", 100).is_err());
        assert!(HeaderSafe::parse("a\u{0}b", 100).is_err());
        assert_eq!(HeaderSafe::parse("  Zoë  ", 100).unwrap().as_str(), "Zoë");
        assert!(HeaderSafe::parse("abcd", 3).is_err());
    }

    #[test]
    fn rejects_bidi_overrides_and_isolates_but_not_marks() {
        for c in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
            '\u{2069}',
        ] {
            let err = HeaderSafe::parse(&format!("Invoice {c}fdp.exe"), 100).unwrap_err();
            assert!(err.0.contains(&format!("U+{:04X}", c as u32)), "{err}");
        }
        let rtl = "\u{5E9}\u{5DC}\u{5D5}\u{5DD}\u{200F} (Shalom)";
        assert_eq!(HeaderSafe::parse(rtl, 100).unwrap().as_str(), rtl);
    }
}
