//! Languages: the message catalogs (Project Fluent, one bundle per locale,
//! with CLDR plural rules), which catalog serves a subscriber's or a
//! visitor's locale (negotiation), and localized dates, numbers and text
//! direction (`format`, ICU4X). Owns `locales/`, compiled into the binary
//! (`catalog`); `herald locales check` (`check`) compares the catalogs with
//! each other and with the keys Herald and its templates use (`keys`). No
//! IO beyond reading a catalog folder it is pointed at; it renders no
//! template and knows nothing of HTTP or mail.
//!
//! Plurals select on `PLURAL($count)`, the CLDR category from ICU4X (see
//! `format::plural_category` for why not Fluent's own selection on a
//! number).
//!
//! A message is formatted with Fluent's default isolation: every
//! placeable (a name, a headline, a number) is wrapped in Unicode isolates
//! (FSI … PDI), so that a right-to-left name in an English sentence, or a
//! Latin headline in an Arabic one, neither reorders the words around it
//! nor is reordered by them, in the text part as in the HTML part.

pub mod catalog;
pub mod check;
pub mod format;
pub mod keys;
mod negotiate;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

pub use format::Direction;
pub use negotiate::parse_accept_language;

use crate::domain::Locale;

/// First Strong Isolate: opens a run whose direction is that of its first
/// strong character.
pub const FSI: char = '\u{2068}';
/// Pop Directional Isolate: closes it.
pub const PDI: char = '\u{2069}';

/// `text` as one isolated run (FSI … PDI), for a field of the text part
/// whose direction is not known (a headline, an author, a section).
pub fn isolate(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut out = String::with_capacity(text.len() + 6);
    out.push(FSI);
    out.push_str(text);
    out.push(PDI);
    out
}

/// `text` without its isolates when they cannot change how it reads: a
/// left-to-right document whose text has no right-to-left character. A
/// mail's Subject is shown in inbox lists, notifications and watches whose
/// fonts may lack the isolates (drawn as boxes there); an English subject
/// with English headlines needs none, one with an Arabic headline keeps
/// them, and a right-to-left document always does.
pub fn without_needless_isolates(text: &str, dir: Direction) -> std::borrow::Cow<'_, str> {
    // ASCII text (most lines of an English text part) has no isolate.
    let bytes = text.as_bytes();
    if dir == Direction::Rtl
        || text.is_ascii()
        || !memchr::memchr_iter(0xE2, bytes).any(|i| is_isolate(&bytes[i..]))
        || text.chars().any(right_to_left)
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for i in memchr::memchr_iter(0xE2, bytes) {
        if is_isolate(&bytes[i..]) {
            // Both ends are character boundaries: E2 leads a character.
            out.push_str(&text[from..i]);
            from = i + 3;
        }
    }
    out.push_str(&text[from..]);
    std::borrow::Cow::Owned(out)
}

/// [`without_needless_isolates`] for each line of `text` (a plain-text
/// reader takes each line as a paragraph); the text as it is when it has
/// no isolate at all.
pub fn without_needless_isolates_per_line(text: &str, dir: Direction) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    if dir == Direction::Rtl || !memchr::memchr_iter(0xE2, bytes).any(|i| is_isolate(&bytes[i..])) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(&without_needless_isolates(line, dir));
    }
    std::borrow::Cow::Owned(out)
}

/// Whether `rest` starts with an isolate (U+2066..U+2069: E2 81 A6..A9 in
/// UTF-8).
fn is_isolate(rest: &[u8]) -> bool {
    rest.len() >= 3 && rest[0] == 0xE2 && rest[1] == 0x81 && (0xA6..=0xA9).contains(&rest[2])
}

/// Whether `c` is of a right-to-left script (Hebrew, Arabic, Syriac,
/// Thaana, N'Ko, Samaritan, Mandaic and their presentation forms, and the
/// historic scripts of the supplementary planes), or an explicit
/// right-to-left mark.
fn right_to_left(c: char) -> bool {
    matches!(c,
        '\u{0590}'..='\u{08FF}'
        | '\u{200F}'
        | '\u{202B}'
        | '\u{202E}'
        | '\u{2067}'
        | '\u{FB1D}'..='\u{FDFF}'
        | '\u{FE70}'..='\u{FEFF}'
        | '\u{10800}'..='\u{10FFF}'
        | '\u{1E800}'..='\u{1EFFF}')
}

/// One argument of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg<'a> {
    Text(&'a str),
    Int(i64),
    Float(f64),
}

/// Why a message could not be formatted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("no catalog has the message {key:?}")]
    Missing { key: String },
    #[error("message {key:?} ({locale}): {detail}")]
    Format {
        key: String,
        locale: String,
        detail: String,
    },
}

/// Every catalog, parsed, and the site's default locale.
pub struct Catalogs {
    /// In load order: the reference (English) first.
    catalogs: Vec<Catalog>,
    /// The index of the site's catalog in `catalogs`.
    default: usize,
    /// The site's own tag (`ar-JO`), which may be more precise than its
    /// catalog's (`ar`).
    site: Locale,
    /// [`Catalogs::resolve_tag`]'s answers by tag: templates ask for the
    /// document's language at every `t()`, `dir()` and `start()`, and
    /// negotiating it each time was 3% of a send.
    by_tag: Memo<(usize, Locale, Direction)>,
    /// Formatted messages by catalog, language, key and arguments: most of
    /// a digest's messages ("Unsubscribe", the heading with the date) are
    /// the same for every reader of a language.
    formatted: Memo<String>,
}

/// A small concurrent cache that forgets everything when it is full, so a
/// message with a reader's name in it costs a slot for a while, not memory
/// for the whole run.
struct Memo<V> {
    map: std::sync::Mutex<std::collections::HashMap<String, V, foldhash::fast::RandomState>>,
}

impl<V: Clone> Memo<V> {
    /// Entries kept before the cache is cleared.
    const CAPACITY: usize = 1024;

    fn new() -> Self {
        Memo {
            map: std::sync::Mutex::new(std::collections::HashMap::default()),
        }
    }

    fn get(&self, key: &str) -> Option<V> {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    fn put(&self, key: String, value: V) {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= Self::CAPACITY {
            map.clear();
        }
        map.insert(key, value);
    }
}

struct Catalog {
    locale: Locale,
    langid: LanguageIdentifier,
    bundle: FluentBundle<FluentResource>,
    /// Message ids, for `check` and `has`.
    ids: Vec<String>,
}

/// The catalog chosen for a wanted locale, and how to name the result.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    /// The tag the document is in: the wanted tag when its catalog is of
    /// the same language (`ar-JO` with the `ar` catalog), else the
    /// catalog's own tag (an `es` subscriber reading the English fallback
    /// gets `en`).
    pub lang: Locale,
    pub dir: Direction,
    index: usize,
    _catalogs: std::marker::PhantomData<&'a Catalogs>,
}

impl Catalogs {
    /// The catalogs compiled into the binary, with `site` as the default.
    pub fn builtin(site: &Locale) -> anyhow::Result<Catalogs> {
        Catalogs::from_sources(catalog::builtin(), site)
    }

    /// Parses catalogs; the first is the reference. `site` must be served
    /// by one of them (same language).
    pub fn from_sources(sources: Vec<catalog::LocaleSources>, site: &Locale) -> anyhow::Result<Catalogs> {
        let mut catalogs = Vec::with_capacity(sources.len());
        for s in sources {
            let langid: LanguageIdentifier = s
                .locale
                .icu()
                .id
                .to_string()
                .parse()
                .map_err(|e| anyhow::anyhow!("locale {}: {e}", s.locale))?;
            let mut bundle = FluentBundle::new_concurrent(vec![langid.clone()]);
            bundle.set_formatter(Some(format::fluent_number));
            let plural_locale = s.locale.clone();
            bundle
                .add_function("PLURAL", move |positional, _| match positional.first() {
                    Some(FluentValue::Number(n)) => format::plural_category(&plural_locale, n.value).into(),
                    _ => FluentValue::Error,
                })
                .map_err(|e| anyhow::anyhow!("locale {}: {e}", s.locale))?;
            let mut ids = Vec::new();
            for source in &s.files {
                let resource = catalog::parse(source)?;
                ids.extend(check::message_ids(&resource));
                bundle.add_resource(resource).map_err(|errors| {
                    anyhow::anyhow!(
                        "{}: {}",
                        source.origin,
                        errors
                            .iter()
                            .map(|e| e.to_string())
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                })?;
            }
            catalogs.push(Catalog {
                locale: s.locale,
                langid,
                bundle,
                ids,
            });
        }
        let mut c = Catalogs {
            catalogs,
            default: 0,
            site: site.clone(),
            by_tag: Memo::new(),
            formatted: Memo::new(),
        };
        c.default = c.serving(site).ok_or_else(|| {
            anyhow::anyhow!(
                "no catalog for {site}; Herald has catalogs for {}",
                c.available().map(|l| l.tag()).collect::<Vec<_>>().join(", ")
            )
        })?;
        Ok(c)
    }

    /// The locales there are catalogs for, the reference first.
    pub fn available(&self) -> impl Iterator<Item = &Locale> {
        self.catalogs.iter().map(|c| &c.locale)
    }

    /// The site's locale (`site.locale`).
    pub fn site(&self) -> &Locale {
        &self.site
    }

    /// The catalog a locale is served by: the best match among the
    /// catalogs (`fr-CA` → `fr`), else the site's.
    pub fn resolve(&self, wanted: Option<&Locale>) -> Resolved<'_> {
        let wanted = wanted.unwrap_or(&self.site);
        let index = self.serving(wanted).unwrap_or(self.default);
        let catalog = &self.catalogs[index];
        let lang = if catalog.locale.language() == wanted.language() {
            wanted.clone()
        } else if index == self.default && catalog.locale.language() == self.site.language() {
            self.site.clone()
        } else {
            catalog.locale.clone()
        };
        Resolved {
            dir: format::direction(&lang),
            lang,
            index,
            _catalogs: std::marker::PhantomData,
        }
    }

    /// [`Self::resolve`] of a tag as text (a template's `locale`
    /// variable); absent or malformed: the site's. Remembered per tag.
    pub fn resolve_tag(&self, tag: Option<&str>) -> Resolved<'_> {
        let Some(tag) = tag else {
            return self.resolve(None);
        };
        if let Some((index, lang, dir)) = self.by_tag.get(tag) {
            return Resolved {
                lang,
                dir,
                index,
                _catalogs: std::marker::PhantomData,
            };
        }
        let resolved = self.resolve(Locale::parse(tag).ok().as_ref());
        self.by_tag.put(
            tag.to_owned(),
            (resolved.index, resolved.lang.clone(), resolved.dir),
        );
        resolved
    }

    /// The locale for a new subscriber who sent `accept_language` (the
    /// header's value): their first acceptable tag that a catalog serves,
    /// kept as they sent it (`fr-CA`, so dates follow their region);
    /// `None` when no catalog serves any, and the site's language applies.
    pub fn negotiate(&self, accept_language: &str) -> Option<Locale> {
        parse_accept_language(accept_language)
            .into_iter()
            .find(|l| self.serving(l).is_some())
    }

    /// Formats message `key` for `resolved`, falling back to the site's
    /// catalog, then the reference, when the chosen one lacks it.
    pub fn message(
        &self,
        resolved: &Resolved<'_>,
        key: &str,
        args: &[(&str, Arg<'_>)],
    ) -> Result<String, MessageError> {
        let memo_key = memo_key(resolved, key, args);
        if let Some(text) = self.formatted.get(&memo_key) {
            return Ok(text);
        }
        let text = self.format(resolved, key, args)?;
        self.formatted.put(memo_key, text.clone());
        Ok(text)
    }

    fn format(
        &self,
        resolved: &Resolved<'_>,
        key: &str,
        args: &[(&str, Arg<'_>)],
    ) -> Result<String, MessageError> {
        let order = [resolved.index, self.default, 0];
        let Some(catalog) = order
            .iter()
            .map(|&i| &self.catalogs[i])
            .find(|c| c.bundle.has_message(key))
        else {
            return Err(MessageError::Missing { key: key.to_owned() });
        };
        let message = catalog.bundle.get_message(key).expect("has_message said so");
        let Some(pattern) = message.value() else {
            return Err(MessageError::Format {
                key: key.to_owned(),
                locale: catalog.locale.tag(),
                detail: "the message has attributes only, no value".into(),
            });
        };
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            let v = match value {
                Arg::Text(s) => FluentValue::from(*s),
                Arg::Int(n) => FluentValue::from(*n),
                Arg::Float(x) => FluentValue::from(*x),
            };
            fluent_args.set(*name, v);
        }
        let mut errors = Vec::new();
        let text = format::with_number_locale(&resolved.lang, || {
            catalog
                .bundle
                .format_pattern(pattern, Some(&fluent_args), &mut errors)
                .into_owned()
        });
        if let Some(e) = errors.first() {
            return Err(MessageError::Format {
                key: key.to_owned(),
                locale: catalog.locale.tag(),
                detail: e.to_string(),
            });
        }
        Ok(text)
    }

    /// Whether the catalog of `locale` itself (no fallback) has `key`.
    pub fn has(&self, locale: &Locale, key: &str) -> bool {
        self.catalogs
            .iter()
            .find(|c| &c.locale == locale)
            .is_some_and(|c| c.ids.iter().any(|id| id == key))
    }

    /// The catalog that serves `wanted`, if any does.
    fn serving(&self, wanted: &Locale) -> Option<usize> {
        let wanted: LanguageIdentifier = wanted.icu().id.to_string().parse().ok()?;
        let available: Vec<&LanguageIdentifier> = self.catalogs.iter().map(|c| &c.langid).collect();
        let found = fluent_langneg::negotiate_languages(
            &[wanted],
            &available,
            None,
            fluent_langneg::NegotiationStrategy::Lookup,
        );
        let first: &LanguageIdentifier = *found.first()?;
        self.catalogs.iter().position(|c| &c.langid == first)
    }
}

/// What a formatted message depends on, as one string: each part
/// length-prefixed, so no two lists of arguments give the same key.
fn memo_key(resolved: &Resolved<'_>, key: &str, args: &[(&str, Arg<'_>)]) -> String {
    use std::fmt::Write as _;
    let mut k = String::with_capacity(64);
    // The tag ends at the space (a tag has none), the key at its length.
    let _ = write!(k, "{} {} {}:{key}", resolved.index, resolved.lang, key.len());
    for (name, value) in args {
        let _ = write!(k, "{}:{name}", name.len());
        let _ = match value {
            Arg::Text(s) => write!(k, "t{}:{s}", s.len()),
            Arg::Int(n) => write!(k, "i{n};"),
            Arg::Float(x) => write!(k, "f{};", x.to_bits()),
        };
    }
    k
}

impl Resolved<'_> {
    /// The `lang` attribute's value.
    pub fn tag(&self) -> String {
        self.lang.tag()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needless_isolates_go_from_left_to_right_text_only() {
        let en = "Your daily digest, \u{2068}1 March\u{2069}: \u{2068}Rain\u{2069}";
        assert_eq!(
            without_needless_isolates(en, Direction::Ltr),
            "Your daily digest, 1 March: Rain"
        );
        let mixed = "Your daily digest: \u{2068}مرحبا!\u{2069}";
        assert_eq!(without_needless_isolates(mixed, Direction::Ltr), mixed);
        let ar = "\u{2068}Herald\u{2069} ملخصك";
        assert_eq!(without_needless_isolates(ar, Direction::Rtl), ar);
    }

    #[test]
    fn the_per_line_clean_up_matches_cleaning_each_line() {
        let line_by_line = |text: &str, dir| -> String {
            text.split_inclusive('\n')
                .map(|l| without_needless_isolates(l, dir).into_owned())
                .collect()
        };
        let texts = [
            "plain ASCII\nlines\n",
            "By \u{2068}Ana\u{2069} · 3 votes\n\u{2068}Rain\u{2069} again\n",
            "By \u{2068}Ana\u{2069}\nBy \u{2068}مرحبا\u{2069}\n\u{2068}Rain\u{2069}",
            "no isolates but ملخصك here\n",
        ];
        for text in texts {
            for dir in [Direction::Ltr, Direction::Rtl] {
                assert_eq!(
                    without_needless_isolates_per_line(text, dir),
                    line_by_line(text, dir),
                    "{text:?} {dir:?}"
                );
            }
        }
        let mixed = without_needless_isolates_per_line(texts[2], Direction::Ltr);
        assert_eq!(
            mixed, "By Ana\nBy \u{2068}مرحبا\u{2069}\nRain",
            "only the line with Arabic keeps them"
        );
    }

    /// The memo answers what formatting would, for each language and
    /// argument list apart, also across a clearing when it is full; tags
    /// resolve as their locales do.
    #[test]
    fn remembered_messages_are_the_formatted_ones() {
        let c = catalogs();
        for round in 0..3 {
            for tag in ["en", "fr", "ar-JO"] {
                let r = c.resolve_tag(Some(tag));
                let direct = c.resolve(Some(&l(tag)));
                assert_eq!(
                    (r.index, r.lang.tag(), r.dir),
                    (direct.index, direct.lang.tag(), direct.dir)
                );
                for n in 0..(Memo::<String>::CAPACITY as i64 / 2 + 7) {
                    let args = [("count", Arg::Int(n))];
                    let remembered = c.message(&r, "story-comments", &args).unwrap();
                    assert_eq!(
                        remembered,
                        c.format(&r, "story-comments", &args).unwrap(),
                        "{tag} {n} round {round}"
                    );
                }
            }
        }
        // Same text, different argument names or values: different keys.
        let r = c.resolve_tag(Some("en"));
        let a = memo_key(&r, "k", &[("ab", Arg::Text("c"))]);
        let b = memo_key(&r, "k", &[("a", Arg::Text("bc"))]);
        assert_ne!(a, b);
        assert!(c.formatted.map.lock().unwrap().len() <= Memo::<String>::CAPACITY);
        // A malformed tag is the site's language, as an absent one.
        assert_eq!(
            c.resolve_tag(Some("not a tag!")).lang.tag(),
            c.resolve_tag(None).lang.tag()
        );
    }

    fn l(tag: &str) -> Locale {
        Locale::parse(tag).unwrap()
    }

    fn catalogs() -> Catalogs {
        Catalogs::builtin(&l("en")).unwrap()
    }

    fn comments(c: &Catalogs, tag: &str, n: i64) -> String {
        let r = c.resolve(Some(&l(tag)));
        c.message(&r, "story-comments", &[("count", Arg::Int(n))])
            .unwrap()
            .replace([FSI, PDI], "")
            // The catalogs keep a count with its noun (a no-break space).
            .replace('\u{a0}', " ")
    }

    #[test]
    fn arabic_has_six_plural_forms() {
        let c = catalogs();
        let forms: Vec<String> = [0, 1, 2, 3, 11, 100]
            .iter()
            .map(|&n| comments(&c, "ar", n))
            .collect();
        assert_eq!(
            forms,
            [
                "لا تعليقات",
                "تعليق واحد",
                "تعليقان",
                "3 تعليقات",
                "11 تعليقًا",
                "100 تعليق",
            ]
        );
        // The categories go by n % 100: 103 is "few" again, 111 "many", 102 "other"
        // (only 2 itself is "two").
        assert_eq!(comments(&c, "ar", 103), "103 تعليقات");
        assert_eq!(comments(&c, "ar", 102), "102 تعليق");
        assert_eq!(comments(&c, "ar", 111), "111 تعليقًا");
        assert_eq!(comments(&c, "ar", 99), "99 تعليقًا");
    }

    #[test]
    fn english_and_french_plurals() {
        let c = catalogs();
        assert_eq!(comments(&c, "en", 0), "0 comments");
        assert_eq!(comments(&c, "en", 1), "1 comment");
        assert_eq!(comments(&c, "en", 2), "2 comments");
        assert_eq!(comments(&c, "en", 1234), "1,234 comments", "grouped digits");
        // French: 0 and 1 are singular.
        assert_eq!(comments(&c, "fr", 0), "0 commentaire");
        assert_eq!(comments(&c, "fr", 1), "1 commentaire");
        assert_eq!(comments(&c, "fr", 2), "2 commentaires");
        assert_eq!(comments(&c, "fr", 1234), "1\u{202f}234 commentaires");
        // Digits follow the subscriber's tag, not only the catalog's.
        assert_eq!(comments(&c, "ar-u-nu-arab", 3), "٣ تعليقات");
    }

    #[test]
    fn placeables_are_isolated() {
        let c = catalogs();
        let r = c.resolve(Some(&l("en")));
        let text = c
            .message(&r, "digest-greeting-named", &[("name", Arg::Text("رنا"))])
            .unwrap();
        assert!(text.contains("\u{2068}رنا\u{2069}"), "{text:?}");
        assert_eq!(isolate("abc"), "\u{2068}abc\u{2069}");
        assert_eq!(isolate(""), "");
    }

    #[test]
    fn resolution_falls_back_to_the_site_and_keeps_a_precise_tag() {
        let c = Catalogs::builtin(&l("ar-JO")).unwrap();
        let r = c.resolve(None);
        assert_eq!((r.tag(), r.dir), ("ar-JO".to_owned(), Direction::Rtl));
        let r = c.resolve(Some(&l("fr-CA")));
        assert_eq!((r.tag(), r.dir), ("fr-CA".to_owned(), Direction::Ltr));
        // No Spanish catalog: the site's (Arabic), named as the site is.
        let r = c.resolve(Some(&l("es")));
        assert_eq!(r.tag(), "ar-JO");
        let text = c.message(&r, "digest-section-top", &[]).unwrap();
        assert_eq!(text, "أبرز الأخبار");
        assert!(matches!(
            c.message(&r, "no-such-key", &[]),
            Err(MessageError::Missing { .. })
        ));
        let err = c.message(&r, "story-comments", &[]).unwrap_err();
        assert!(
            matches!(err, MessageError::Format { .. }),
            "a missing argument: {err}"
        );
    }

    #[test]
    fn a_site_locale_without_a_catalog_is_refused() {
        let err = Catalogs::builtin(&l("es")).err().unwrap().to_string();
        assert!(
            err.contains("no catalog for es") && err.contains("en, ar, fr"),
            "{err}"
        );
    }

    #[test]
    fn signup_negotiates_from_accept_language() {
        let c = catalogs();
        let tag = |h: &str| c.negotiate(h).map(|l| l.tag());
        assert_eq!(tag("fr-CA,fr;q=0.9,en;q=0.8").as_deref(), Some("fr-CA"));
        assert_eq!(tag("de-DE,de;q=0.9,ar;q=0.5").as_deref(), Some("ar"));
        assert_eq!(
            tag("de;q=0.9, en-GB;q=0.95").as_deref(),
            Some("en-GB"),
            "by weight, not order"
        );
        assert_eq!(tag("ar;q=0, fr;q=0.1").as_deref(), Some("fr"), "q=0 is refused");
        assert_eq!(tag("de, es"), None);
        assert_eq!(tag("*"), None);
        assert_eq!(tag(""), None);
        assert_eq!(tag("🙂, en"), Some("en".to_owned()), "a bad tag is skipped");
    }
}
