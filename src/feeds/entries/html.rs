//! Text from feeds made plain: HTML (or text with entities) becomes one line
//! of text, with block boundaries kept as spaces and control characters
//! dropped; and the test of whether text that does not say what it is (an
//! RSS title) is HTML at all. Pure; it knows nothing of entries, limits or
//! cutting, which the parent module applies afterwards.

use crate::domain::text;

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

/// Whether text of unknown type (RSS says nothing of its titles) reads as
/// HTML: it has a closing tag or an entity reference, and every tag in it
/// is a common formatting element (or `script` and `style`, whose content
/// is then dropped). So `<b>Big</b> news`, `<script>…</script>Storm` and
/// `Tom &amp; Jerry` (escaped twice) are HTML, while `Vec<T> versus
/// Box<dyn Error>` or `The <script> tag considered harmful` (no closing
/// tag) are text, kept as written.
pub fn looks_like_html(s: &str) -> bool {
    const ELEMENTS: &[&str] = &[
        "a",
        "abbr",
        "acronym",
        "article",
        "b",
        "bdi",
        "bdo",
        "big",
        "blockquote",
        "br",
        "cite",
        "code",
        "del",
        "dfn",
        "div",
        "em",
        "figcaption",
        "figure",
        "font",
        "footer",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "i",
        "img",
        "ins",
        "kbd",
        "li",
        "mark",
        "nobr",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "samp",
        "script",
        "section",
        "small",
        "span",
        "strike",
        "strong",
        "style",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "time",
        "tr",
        "tt",
        "u",
        "ul",
        "var",
        "wbr",
    ];
    let mut closing_tag = false;
    let mut rest = s;
    while let Some(at) = rest.find('<') {
        let after = &rest[at + 1..];
        let (closing, name_at) = match after.strip_prefix('/') {
            Some(n) => (true, n),
            None => (false, after),
        };
        let name: String = name_at
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            if !ELEMENTS.contains(&name.as_str()) {
                return false;
            }
            closing_tag |= closing;
        }
        rest = after;
    }
    closing_tag || has_entity(s)
}

/// An `&name;`, `&#123;` or `&#x1F;` reference.
fn has_entity(s: &str) -> bool {
    s.match_indices('&').any(|(at, _)| {
        let after = &s[at + 1..];
        let body = after
            .strip_prefix('#')
            .map_or(after, |n| n.strip_prefix(['x', 'X']).unwrap_or(n));
        let len = body.chars().take_while(|c| c.is_ascii_alphanumeric()).count();
        len > 0 && body[len..].starts_with(';')
    })
}

/// Whitespace collapsed, control characters dropped.
pub(super) fn collapse(s: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn only_text_that_reads_as_html_is_html() {
        for html in [
            "<b>Big</b> news",
            "Tom &amp; Jerry",
            "Caf&#233;",
            "line<br>break</p>",
            "&#x2019;",
            "<script>x</script>",
        ] {
            assert!(looks_like_html(html), "{html}");
        }
        for text in [
            "Vec<T> versus Box<dyn Error>",
            "The <script> tag considered harmful",
            "AT&T earnings",
            "a < b && c > d",
            "Plain",
            "<b>not closed",
            "x &; y",
        ] {
            assert!(!looks_like_html(text), "{text}");
        }
    }
}
