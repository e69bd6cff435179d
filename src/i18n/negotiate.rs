//! Accept-Language (RFC 9110 §12.5.4) read into the tags a visitor accepts,
//! best first. Which catalog serves a tag is Fluent's negotiation, in
//! `Catalogs`; this only orders the header's tags by weight, since
//! fluent-langneg's own reader keeps the header's order and ignores `q`
//! (so `q=0`, "not acceptable", would be chosen).

use crate::domain::Locale;

/// At most this many tags are read from one header.
const MAX_TAGS: usize = 32;

/// The acceptable tags of an Accept-Language value, by descending weight
/// (ties in header order); `*`, `q=0` and tags that do not parse are left
/// out.
pub fn parse_accept_language(header: &str) -> Vec<Locale> {
    let mut weighted: Vec<(u16, usize, Locale)> = Vec::new();
    for (i, item) in header.split(',').take(MAX_TAGS).enumerate() {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        if tag.is_empty() || tag == "*" {
            continue;
        }
        let mut weight = 1000u16;
        for param in parts {
            if let Some((k, v)) = param.split_once('=')
                && k.trim().eq_ignore_ascii_case("q")
            {
                weight = parse_weight(v.trim()).unwrap_or(0);
            }
        }
        if weight == 0 {
            continue;
        }
        if let Ok(locale) = Locale::parse(tag) {
            weighted.push((weight, i, locale));
        }
    }
    weighted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    weighted.into_iter().map(|(_, _, l)| l).collect()
}

/// A qvalue ("0", "0.5", "1.000") in thousandths; `None` when malformed.
fn parse_weight(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole = match int {
        "0" => 0,
        "1" => 1000,
        _ => return None,
    };
    let thousandths: u16 = format!("{frac:0<3}").parse().ok()?;
    let w = whole + thousandths;
    (w <= 1000).then_some(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_order_the_tags() {
        let tags = |h: &str| {
            parse_accept_language(h)
                .into_iter()
                .map(|l| l.tag())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            tags("fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5"),
            ["fr-CH", "fr", "en", "de"]
        );
        assert_eq!(tags("en;q=0.5, ar"), ["ar", "en"]);
        assert_eq!(tags("en;q=0.5, fr;q=0.5"), ["en", "fr"], "ties keep their order");
        assert_eq!(tags("en;q=0, fr;q=bad, de;q=1.5, es;Q=0.2"), ["es"]);
        assert_eq!(parse_weight("0.123"), Some(123));
        assert_eq!(parse_weight("1.000"), Some(1000));
        assert_eq!(parse_weight("1.001"), None);
    }
}
