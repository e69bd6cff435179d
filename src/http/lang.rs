//! Which language a page is in. A subscriber's page (unsubscribe,
//! preferences, "view in browser") is in the subscriber's locale; a public
//! page (signup, confirmation, archive, errors) in the visitor's: a `lang`
//! field (query or form) when a catalog serves it, else the best tag of
//! `Accept-Language` that a catalog serves, else `site.locale` (`None`
//! here). Every tag is parsed at this boundary into a `domain::Locale`; an
//! unknown, malformed or hostile value is ignored, never an error. No
//! rendering, no store.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri, header};

use super::AppState;
use crate::domain::Locale;
use crate::i18n::Catalogs;

/// The longest `lang` value or `Accept-Language` header read; longer ones
/// are ignored whole (real ones are a few dozen bytes).
const MAX_INPUT: usize = 1024;

/// `raw` as a tag a catalog serves (`fr-CA` with the `fr` catalog), else
/// `None`.
pub fn supported(catalogs: &Catalogs, raw: &str) -> Option<Locale> {
    if raw.len() > MAX_INPUT {
        return None;
    }
    let wanted = Locale::parse(raw).ok()?;
    let resolved = catalogs.resolve(Some(&wanted));
    (resolved.lang.language() == wanted.language()).then_some(wanted)
}

/// The locale `Accept-Language` asks for, if a catalog serves one of its
/// tags.
pub fn accepted(catalogs: &Catalogs, headers: &HeaderMap) -> Option<Locale> {
    let value = headers.get(header::ACCEPT_LANGUAGE)?.to_str().ok()?;
    if value.len() > MAX_INPUT {
        return None;
    }
    catalogs.negotiate(value)
}

/// The `lang` query parameter of `uri`, if there is one.
pub fn query_lang(uri: &Uri) -> Option<String> {
    let query = uri.query()?;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "lang")
        .map(|(_, v)| v.into_owned())
}

/// The visitor's locale: `lang` (a field or the query) when served, else
/// Accept-Language, else `None` (the site's).
pub fn visitor(catalogs: &Catalogs, lang: Option<&str>, headers: &HeaderMap) -> Option<Locale> {
    lang.and_then(|l| supported(catalogs, l))
        .or_else(|| accepted(catalogs, headers))
}

/// The visitor's locale from the request's query `lang` and its
/// Accept-Language, for handlers of public pages; and whether it came from
/// the query (`explicit`), so a form can carry it on.
#[derive(Debug, Clone, Default)]
pub struct Visitor {
    pub locale: Option<Locale>,
    pub explicit: bool,
}

impl Visitor {
    pub fn from_parts(catalogs: &Catalogs, uri: &Uri, headers: &HeaderMap) -> Visitor {
        let from_query = query_lang(uri).and_then(|l| supported(catalogs, &l));
        match from_query {
            Some(l) => Visitor {
                locale: Some(l),
                explicit: true,
            },
            None => Visitor {
                locale: accepted(catalogs, headers),
                explicit: false,
            },
        }
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Visitor::from_parts(&state.catalogs, &parts.uri, &parts.headers))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn catalogs() -> Catalogs {
        Catalogs::builtin(&Locale::parse("en").unwrap()).unwrap()
    }

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_str(accept).unwrap());
        h
    }

    #[test]
    fn a_served_lang_wins_then_accept_language_then_nothing() {
        let c = catalogs();
        let tag = |lang: Option<&str>, accept: &str| visitor(&c, lang, &headers(accept)).map(|l| l.tag());
        assert_eq!(tag(Some("fr"), "ar").as_deref(), Some("fr"));
        assert_eq!(
            tag(Some("es"), "ar-JO,ar;q=0.9").as_deref(),
            Some("ar-JO"),
            "es: no catalog"
        );
        assert_eq!(tag(Some("<script>"), "de").as_deref(), None);
        assert_eq!(tag(None, "de, es;q=0.5"), None);
        let huge = format!("{}, ar", "x".repeat(5000));
        assert_eq!(tag(None, &huge), None, "too long: ignored whole");
        assert_eq!(supported(&c, &"a".repeat(5000)), None);
        assert_eq!(supported(&c, "FR-ca").map(|l| l.tag()).as_deref(), Some("fr-CA"));
    }

    #[test]
    fn the_query_lang_is_explicit() {
        let c = catalogs();
        let uri: Uri = "/subscribe?x=1&lang=ar".parse().unwrap();
        let v = Visitor::from_parts(&c, &uri, &headers("fr"));
        assert_eq!((v.locale.map(|l| l.tag()), v.explicit), (Some("ar".into()), true));
        let uri: Uri = "/subscribe?lang=zz-Junk-".parse().unwrap();
        let v = Visitor::from_parts(&c, &uri, &headers("fr"));
        assert_eq!(
            (v.locale.map(|l| l.tag()), v.explicit),
            (Some("fr".into()), false)
        );
    }
}
