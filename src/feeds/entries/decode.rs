//! A feed body's bytes as UTF-8 text, before any parser sees them. The
//! encoding is, in order: a byte-order mark; else the charset the feed
//! declares (the HTTP `Content-Type` charset, the XML declaration's
//! `encoding`) when the bytes are valid in it; else UTF-8 when they are
//! valid UTF-8; else chardetng's guess (with the feed host's top-level
//! domain as a hint). The XML declaration of the text handed on says
//! nothing of an encoding any more, so the parsers read it as the UTF-8 it
//! now is. Pure: no IO, no parsing beyond the declaration.

use encoding_rs::{Encoding, UTF_8};

/// A body decoded, and how its encoding was chosen.
#[derive(Debug)]
pub struct Decoded {
    pub text: String,
    pub encoding: &'static Encoding,
    pub how: How,
}

/// Where the encoding came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    Bom,
    HttpCharset,
    XmlDeclaration,
    /// Nothing usable was declared: valid UTF-8, or chardetng's guess.
    Detected,
}

impl std::fmt::Display for How {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            How::Bom => "from its byte-order mark",
            How::HttpCharset => "from the HTTP charset",
            How::XmlDeclaration => "from the XML declaration",
            How::Detected => "detected",
        })
    }
}

/// Decodes `body`. `http_charset` is the `charset` parameter of the
/// response's `Content-Type`; `tld` the last label of the feed's host.
pub fn decode(body: &[u8], http_charset: Option<&str>, tld: Option<&str>) -> Decoded {
    if let Some((encoding, bom)) = Encoding::for_bom(body) {
        let (text, _) = encoding.decode_without_bom_handling(&body[bom..]);
        return Decoded {
            text: without_encoding_declaration(&text),
            encoding,
            how: How::Bom,
        };
    }
    let declared = [
        (
            http_charset.and_then(|l| Encoding::for_label(l.trim().as_bytes())),
            How::HttpCharset,
        ),
        (xml_declared_encoding(body), How::XmlDeclaration),
    ];
    // Without a BOM, a body whose declaration could be read as ASCII is
    // not UTF-16 whatever it says: `output_encoding` makes such a label
    // UTF-8 (the WHATWG rule).
    let valid: Vec<(&'static Encoding, How, String)> = declared
        .into_iter()
        .filter_map(|(e, how)| Some((e?, how)))
        .map(|(e, how)| (e.output_encoding(), how))
        .filter_map(|(e, how)| {
            let text = e.decode_without_bom_handling_and_without_replacement(body)?;
            Some((e, how, text.into_owned()))
        })
        .collect();
    // Two declarations that disagree and both decode: valid UTF-8 with
    // non-ASCII in it is almost never an accident, so a UTF-8 declaration
    // wins; otherwise the HTTP charset (RFC 7303).
    let chosen = valid
        .iter()
        .position(|(e, _, _)| *e == UTF_8)
        .or(if valid.is_empty() { None } else { Some(0) });
    if let Some(i) = chosen {
        let (encoding, how, text) = valid.into_iter().nth(i).expect("index from position");
        return Decoded {
            text: without_encoding_declaration(&text),
            encoding,
            how,
        };
    }
    let encoding = if std::str::from_utf8(body).is_ok() {
        UTF_8
    } else {
        let mut detector = chardetng::EncodingDetector::new();
        detector.feed(body, true);
        let tld = tld
            .map(str::to_ascii_lowercase)
            .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        detector.guess(tld.as_deref().map(str::as_bytes), true)
    };
    let (text, _) = encoding.decode_without_bom_handling(body);
    Decoded {
        text: without_encoding_declaration(&text),
        encoding,
        how: How::Detected,
    }
}

/// The `charset` parameter of a `Content-Type` value, unquoted.
pub fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches(|c| c == '"' || c == '\''))
            .filter(|v| !v.is_empty())
    })
}

/// The encoding named by an XML declaration at the start of the body
/// (ASCII bytes), if the label is one encoding_rs knows.
fn xml_declared_encoding(body: &[u8]) -> Option<&'static Encoding> {
    let decl = declaration(body)?;
    let (start, end) = encoding_value(&body[decl.clone()])?;
    Encoding::for_label(&body[decl.start + start..decl.start + end])
}

/// The byte range of `<?xml … ?>` if the body (after whitespace) starts
/// with one.
fn declaration(body: &[u8]) -> Option<std::ops::Range<usize>> {
    let start = body.len() - body.trim_ascii_start().len();
    let rest = &body[start..];
    if !rest.starts_with(b"<?xml") || !rest.get(5).is_some_and(u8::is_ascii_whitespace) {
        return None;
    }
    let end = rest[..rest.len().min(1024)].windows(2).position(|w| w == b"?>")?;
    Some(start..start + end + 2)
}

/// The range of the `encoding` pseudo-attribute's value inside a
/// declaration, and of the whole attribute (leading space included).
fn encoding_attribute(decl: &[u8]) -> Option<(usize, usize, usize, usize)> {
    let at = decl.windows(8).position(|w| w == b"encoding")?;
    let mut i = at + 8;
    let skip_ws = |i: &mut usize| {
        while decl.get(*i).is_some_and(u8::is_ascii_whitespace) {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if decl.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    skip_ws(&mut i);
    let quote = *decl.get(i).filter(|q| **q == b'"' || **q == b'\'')?;
    let value_start = i + 1;
    let value_end = value_start + decl[value_start..].iter().position(|b| *b == quote)?;
    let mut attr_start = at;
    while attr_start > 0 && decl[attr_start - 1].is_ascii_whitespace() {
        attr_start -= 1;
    }
    Some((attr_start, value_start, value_end, value_end + 1))
}

fn encoding_value(decl: &[u8]) -> Option<(usize, usize)> {
    encoding_attribute(decl).map(|(_, start, end, _)| (start, end))
}

/// The text with the `encoding` pseudo-attribute removed from its XML
/// declaration, if it has one.
fn without_encoding_declaration(text: &str) -> String {
    let bytes = text.as_bytes();
    let Some(decl) = declaration(bytes) else {
        return text.to_owned();
    };
    let Some((attr_start, _, _, attr_end)) = encoding_attribute(&bytes[decl.clone()]) else {
        return text.to_owned();
    };
    // The attribute is ASCII inside an ASCII declaration: char boundaries.
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..decl.start + attr_start]);
    out.push_str(&text[decl.start + attr_end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations_are_trusted_when_the_bytes_fit_them() {
        // "Café" in ISO-8859-1, declared in the prolog.
        let latin1 = b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><title>Caf\xe9</title></rss>";
        let d = decode(latin1, None, None);
        assert_eq!((d.how, d.encoding.name()), (How::XmlDeclaration, "windows-1252"));
        assert_eq!(d.text, "<?xml version=\"1.0\"?><rss><title>Café</title></rss>");
        // Declared UTF-8 but the bytes are not: detection.
        let lying =
            b"<?xml version='1.0' encoding='utf-8'?><rss><title>Caf\xe9 cr\xe8me br\xfbl\xe9e</title></rss>";
        let d = decode(lying, None, Some("fr"));
        assert_eq!(d.how, How::Detected);
        assert!(d.text.contains("Café crème brûlée"), "{}", d.text);
        // The HTTP charset, and a UTF-8 declaration that the bytes bear out
        // beats an HTTP charset that would also decode them.
        let d = decode("<rss>Zoë</rss>".as_bytes(), Some("iso-8859-1"), None);
        assert_eq!(d.how, How::HttpCharset);
        let both = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss>Zoë</rss>";
        let d = decode(both.as_bytes(), Some("iso-8859-1"), None);
        assert_eq!((d.how, d.text.contains("Zoë")), (How::XmlDeclaration, true));
        // A UTF-16 label on ASCII bytes means UTF-8.
        let d = decode(b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss/>", None, None);
        assert_eq!(d.encoding, UTF_8);
        assert_eq!(d.text, "<?xml version=\"1.0\"?><rss/>");
    }

    #[test]
    fn boms_win_and_undeclared_bytes_are_guessed() {
        let mut utf16 = vec![0xff, 0xfe];
        for u in "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss>Ωμέγα</rss>".encode_utf16() {
            utf16.extend(u.to_le_bytes());
        }
        let d = decode(&utf16, Some("iso-8859-1"), None);
        assert_eq!(
            (d.how, d.text.as_str()),
            (How::Bom, "<?xml version=\"1.0\"?><rss>Ωμέγα</rss>")
        );
        let d = decode(b"\xef\xbb\xbf<rss>x</rss>", None, None);
        assert_eq!((d.how, d.text.as_str()), (How::Bom, "<rss>x</rss>"));
        // KOI8-R without any declaration.
        let (koi8, _, _) = encoding_rs::KOI8_R.encode(
            "<rss><channel><title>Новости дня</title><item><title>Москва и область: погода на неделю</title></item></channel></rss>",
        );
        let d = decode(&koi8, None, Some("ru"));
        // KOI8-U, a superset of KOI8-R: the same Russian letters.
        assert_eq!(d.how, How::Detected);
        assert!(d.encoding.name().starts_with("KOI8"), "{}", d.encoding.name());
        assert!(d.text.contains("Москва и область"), "{}", d.text);
    }

    #[test]
    fn content_type_charsets() {
        assert_eq!(charset_of("text/xml; charset=\"KOI8-R\""), Some("KOI8-R"));
        assert_eq!(charset_of("application/rss+xml;Charset=utf-8;q=1"), Some("utf-8"));
        assert_eq!(charset_of("application/rss+xml"), None);
    }
}
