//! Text from feeds made plain: HTML (or text with entities) becomes one line
//! of text, with block boundaries kept as spaces and control characters
//! dropped. Pure; it knows nothing of entries, limits or cutting, which the
//! parent module applies afterwards.

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
}
