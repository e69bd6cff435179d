//! The HTML escaping of the digest's `.html` templates: Tera's five
//! characters (`&`, `<`, `>`, `"`, `'`, written as Tera writes them), and,
//! in a value that is mostly ASCII, every character outside ASCII as a
//! numeric character reference (`é` as `&#233;`), which every HTML reader
//! decodes to the same character. A digest in a language written in Latin
//! letters then comes out of rendering as pure ASCII, so the mail part
//! takes it as it is (`7bit`) instead of scanning it for where a reference
//! may go (that scan was a tenth of a send's CPU). A value mostly in another
//! script (Cyrillic, Greek, CJK) stays UTF-8: references would triple its
//! size, where the part's base64 adds a third. Pure; it writes only to the
//! output Tera gives it.

use std::io::{self, Write};

use crate::domain::text;

/// Tera's escape function for the digest's HTML (see the module comment).
pub(super) fn escape_html(input: &str, out: &mut dyn Write) -> io::Result<()> {
    let bytes = input.as_bytes();
    let references = !input.is_ascii() && mostly_ascii(bytes);
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let entity: &[u8] = match b {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            b'"' => b"&quot;",
            b'\'' => b"&#39;",
            0x80.. if references => {
                out.write_all(&bytes[copied..i])?;
                // `i` is on a character boundary: every step moves by whole
                // characters.
                let c = input[i..].chars().next().expect("a character starts here");
                out.write_all(text::numeric_reference(c).as_bytes())?;
                i += c.len_utf8();
                copied = i;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        };
        out.write_all(&bytes[copied..i])?;
        out.write_all(entity)?;
        i += 1;
        copied = i;
    }
    out.write_all(&bytes[copied..])
}

/// Whether at most half of the characters of `bytes` (UTF-8) are outside
/// ASCII: a name or a sentence in French, German or Polish, a count
/// between isolates and a no-break space before "votes", not a word in Russian or
/// Japanese (whose text is mostly letters outside ASCII, spaces apart).
fn mostly_ascii(bytes: &[u8]) -> bool {
    // A character starts at every byte that is not a continuation byte
    // (10xxxxxx); one outside ASCII starts at a byte from 0xC0.
    let chars = bytes.iter().filter(|&&b| (b as i8) >= -0x40).count();
    let wide = bytes.iter().filter(|&&b| b >= 0xC0).count();
    wide * 2 <= chars
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        escape_html(s, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The five characters as Tera writes them; mostly-ASCII values with
    /// references, other scripts as they are; either way the same text
    /// once an HTML reader decodes it.
    #[test]
    fn escapes_markup_and_writes_references_where_they_cost_little() {
        assert_eq!(escaped(""), "");
        assert_eq!(escaped("plain"), "plain");
        assert_eq!(
            escaped(r#"<a href="x">Tom & Jerry's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
        assert_eq!(escaped("Élodie Marchand"), "&#201;lodie Marchand");
        assert_eq!(escaped("Café <b> — 🎉"), "Caf&#233; &lt;b&gt; &#8212; &#127881;");
        assert_eq!(escaped("Зоя & Пётр"), "Зоя &amp; Пётр");
        assert_eq!(escaped("東京"), "東京");
        // Half exactly still takes references; more does not.
        assert_eq!(escaped("abéé"), "ab&#233;&#233;");
        assert_eq!(escaped("aéé"), "aéé");
        assert_eq!(
            escaped("\u{2068}854\u{2069}\u{a0}votes"),
            "&#8296;854&#8297;&#160;votes"
        );
        for s in [
            "Élodie",
            "naïve café",
            "Łódź & Kraków",
            "Зоя",
            "a\u{2068}b\u{2069}",
        ] {
            let html = escaped(s);
            assert_eq!(decode(&html), s, "{html}");
        }
    }

    /// What an HTML reader makes of the escaped text (the entities written
    /// above and decimal references only).
    fn decode(html: &str) -> String {
        let mut out = String::new();
        let mut rest = html;
        while let Some(at) = rest.find('&') {
            out.push_str(&rest[..at]);
            let end = rest[at..].find(';').unwrap() + at;
            let name = &rest[at + 1..end];
            match name {
                "amp" => out.push('&'),
                "lt" => out.push('<'),
                "gt" => out.push('>'),
                "quot" => out.push('"'),
                _ => out.push(char::from_u32(name.trim_start_matches('#').parse().unwrap()).unwrap()),
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        out
    }
}
