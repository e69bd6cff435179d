//! Where template text comes from. The digest templates are the copies
//! compiled into the binary (the files in `templates/`), or a directory named
//! by `digest.templates_dir` so that a site can brand its digest. The pages
//! the HTTP server answers with are the compiled-in copies of
//! `templates/pages/`, or that directory's `pages/` folder when it has one
//! (a site that brands only its digest keeps the built-in pages). This is the
//! only module that reads template files; `render` and `http` receive their
//! text and compile it.
//!
//! It also gives every Tera instance Herald's language functions
//! ([`register_i18n`]), so the built-in templates and a site's own can
//! call the catalogs: `t(key=..., count=...)`, `format_date`,
//! `format_number`, `lang()`, `dir()`, `start()`, `end()` and the `isolate`
//! filter. They read the `locale` variable of the context (a BCP 47 tag;
//! absent: the site's).

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use tera::{Error, Kwargs, State, Tera, TeraResult, Value};

use crate::i18n::{self, Arg, Catalogs, Resolved};

/// The templates a digest needs, by name.
pub const NAMES: [&str; 5] = [
    "digest.html",
    "digest.txt",
    "subject.txt",
    "story.html",
    "story.txt",
];

/// The page templates `http` renders, by name: the shared layout, the
/// pages of the subscriber flows, the archive and its feed, the signup box
/// and the pieces they include.
pub const PAGE_NAMES: [&str; 10] = [
    "layout.html",
    "page.html",
    "signup_form.html",
    "zone_picker.html",
    "hour_picker.html",
    "snippet.html",
    "archive.html",
    "archive_edition.html",
    "archive_story.html",
    "feed.xml",
];

/// The text of every template of a set, and where it came from (for messages).
#[derive(Debug, Clone)]
pub struct TemplateSources {
    pub origin: String,
    pub files: Vec<(&'static str, String)>,
}

impl TemplateSources {
    /// The built-in digest templates.
    pub fn builtin() -> Self {
        TemplateSources {
            origin: "built-in templates".into(),
            files: vec![
                ("digest.html", include_str!("../templates/digest.html").into()),
                ("digest.txt", include_str!("../templates/digest.txt").into()),
                ("subject.txt", include_str!("../templates/subject.txt").into()),
                ("story.html", include_str!("../templates/story.html").into()),
                ("story.txt", include_str!("../templates/story.txt").into()),
            ],
        }
    }

    /// Reads all five templates from `dir`; a missing one is an error.
    pub fn from_dir(dir: &Path) -> anyhow::Result<Self> {
        Self::read(dir, &NAMES)
    }

    /// The configured directory, or the built-in copies.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Self> {
        match dir {
            Some(dir) => Self::from_dir(dir),
            None => Ok(Self::builtin()),
        }
    }

    /// The built-in page templates.
    pub fn builtin_pages() -> Self {
        TemplateSources {
            origin: "built-in page templates".into(),
            files: vec![
                (
                    "layout.html",
                    include_str!("../templates/pages/layout.html").into(),
                ),
                ("page.html", include_str!("../templates/pages/page.html").into()),
                (
                    "signup_form.html",
                    include_str!("../templates/pages/signup_form.html").into(),
                ),
                (
                    "zone_picker.html",
                    include_str!("../templates/pages/zone_picker.html").into(),
                ),
                (
                    "hour_picker.html",
                    include_str!("../templates/pages/hour_picker.html").into(),
                ),
                (
                    "snippet.html",
                    include_str!("../templates/pages/snippet.html").into(),
                ),
                (
                    "archive.html",
                    include_str!("../templates/pages/archive.html").into(),
                ),
                (
                    "archive_edition.html",
                    include_str!("../templates/pages/archive_edition.html").into(),
                ),
                (
                    "archive_story.html",
                    include_str!("../templates/pages/archive_story.html").into(),
                ),
                ("feed.xml", include_str!("../templates/pages/feed.xml").into()),
            ],
        }
    }

    /// The page templates: those in `pages/` inside the configured
    /// directory when that folder exists, the built-in copy of each one it
    /// leaves out (so a site that replaced `page.html` before the layout,
    /// the archive and the signup box existed keeps working); else the
    /// built-in copies.
    pub fn load_pages(dir: Option<&Path>) -> anyhow::Result<Self> {
        let builtin = Self::builtin_pages();
        let pages = match dir.map(|d| d.join("pages")) {
            Some(pages) if pages.is_dir() => pages,
            _ => return Ok(builtin),
        };
        let mut files = Vec::with_capacity(builtin.files.len());
        for (name, text) in builtin.files {
            let path = pages.join(name);
            let text = match std::fs::read_to_string(&path) {
                Ok(own) => own,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => text,
                Err(e) => {
                    return Err(
                        anyhow::Error::new(e).context(format!("cannot read template {}", path.display()))
                    );
                }
            };
            files.push((name, text));
        }
        Ok(TemplateSources {
            origin: pages.display().to_string(),
            files,
        })
    }

    /// Reads the named templates from `dir`; a missing one is an error.
    fn read(dir: &Path, names: &[&'static str]) -> anyhow::Result<Self> {
        let mut files = Vec::with_capacity(names.len());
        for &name in names {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read template {}", path.display()))?;
            files.push((name, text));
        }
        Ok(TemplateSources {
            origin: dir.display().to_string(),
            files,
        })
    }
}

/// The context variable the language functions read the locale from.
pub const LOCALE_VARIABLE: &str = "locale";

/// Registers the language functions and filters on `tera`:
///
/// - `t(key="story-comments", count=3, ...)`: the message in the context's
///   locale, every other argument passed to it (numbers stay numbers, for
///   plurals); escaped like any value in an `.html` template;
/// - `format_date(date="2026-12-01")`: "1 December 2026", "1 décembre
///   2026", "1 ديسمبر 2026" (an RFC 3339 timestamp's date part is used too);
/// - `format_number(number=12345)`: the locale's digits and grouping;
/// - `lang()`, `dir()`: the `lang` and `dir` attributes of the document
///   ("ar-JO", "rtl"); `start()`, `end()`: "left"/"right", mirrored for
///   right-to-left, for inline styles;
/// - `{{ story.title | isolate }}`: the text between FSI and PDI, for
///   mixed-direction fields of the text part.
pub fn register_i18n(tera: &mut Tera, catalogs: Arc<Catalogs>) {
    let c = catalogs.clone();
    tera.register_function("t", move |kwargs: Kwargs, state: &State| -> TeraResult<String> {
        let resolved = resolve(&c, state);
        let key = kwargs.must_get::<&str>("key")?;
        let mut args: Vec<(&str, Arg<'_>)> = Vec::new();
        for (name, value) in kwargs.iter() {
            let Some(name) = name.as_str() else { continue };
            if name == "key" {
                continue;
            }
            args.push((name, arg(name, value)?));
        }
        c.message(&resolved, key, &args).map_err(Error::message)
    });
    let c = catalogs.clone();
    tera.register_function(
        "format_date",
        move |kwargs: Kwargs, state: &State| -> TeraResult<String> {
            let raw = kwargs.must_get::<&str>("date")?;
            let day = raw
                .get(..10)
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .ok_or_else(|| {
                    Error::message(format!(
                        "format_date: {raw:?} is not a date (expected YYYY-MM-DD)"
                    ))
                })?;
            Ok(i18n::format::date(&resolve(&c, state).lang, day))
        },
    );
    let c = catalogs.clone();
    tera.register_function(
        "format_number",
        move |kwargs: Kwargs, state: &State| -> TeraResult<String> {
            let value = kwargs
                .get::<Value>("number")?
                .ok_or_else(|| Error::message("format_number: the number argument is missing"))?;
            let lang = resolve(&c, state).lang;
            let formatted = match (value.as_i64(), value.as_f64(), value.as_str()) {
                (Some(n), _, _) => Some(i18n::format::integer(&lang, n)),
                (None, Some(x), _) => i18n::format::number(&lang, &x.to_string()),
                (None, None, Some(s)) => i18n::format::number(&lang, s),
                _ => None,
            };
            formatted.ok_or_else(|| Error::message(format!("format_number: {value} is not a number")))
        },
    );
    let c = catalogs.clone();
    tera.register_function("lang", move |_: Kwargs, state: &State| resolve(&c, state).tag());
    let c = catalogs.clone();
    tera.register_function("dir", move |_: Kwargs, state: &State| {
        resolve(&c, state).dir.as_str()
    });
    let c = catalogs.clone();
    tera.register_function("start", move |_: Kwargs, state: &State| {
        resolve(&c, state).dir.start()
    });
    let c = catalogs;
    tera.register_function("end", move |_: Kwargs, state: &State| {
        resolve(&c, state).dir.end()
    });
    tera.register_filter("isolate", |s: &str, _: Kwargs, _: &State| i18n::isolate(s));
}

/// The catalog for the context's `locale` (a tag; absent or malformed: the
/// site's).
fn resolve<'c>(catalogs: &'c Catalogs, state: &State) -> Resolved<'c> {
    let tag = state.get::<Value>(LOCALE_VARIABLE).ok().flatten();
    catalogs.resolve_tag(tag.as_ref().and_then(Value::as_str))
}

fn arg<'v>(name: &str, value: &'v Value) -> TeraResult<Arg<'v>> {
    if let Some(n) = value.as_i64() {
        Ok(Arg::Int(n))
    } else if let Some(x) = value.as_f64() {
        Ok(Arg::Float(x))
    } else if let Some(s) = value.as_str() {
        Ok(Arg::Text(s))
    } else if value.is_none() || value.is_undefined() {
        Ok(Arg::Text(""))
    } else {
        Err(Error::message(format!(
            "t: argument {name} is a {}; expected a string or a number",
            value.name()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Locale;

    #[test]
    fn pages_come_from_a_pages_folder_only_when_there_is_one() {
        let dir = tempfile::tempdir().unwrap();
        let builtin = TemplateSources::builtin_pages();
        let loaded = TemplateSources::load_pages(Some(dir.path())).unwrap();
        assert_eq!(loaded.origin, builtin.origin, "no pages/ folder: built-in pages");
        assert_eq!(loaded.files, builtin.files);
        assert_eq!(TemplateSources::load_pages(None).unwrap().files, builtin.files);

        let pages = dir.path().join("pages");
        std::fs::create_dir(&pages).unwrap();
        std::fs::write(pages.join("page.html"), "<h1>{{ title }}</h1>").unwrap();
        let loaded = TemplateSources::load_pages(Some(dir.path())).unwrap();
        assert_eq!(loaded.files.len(), PAGE_NAMES.len());
        assert_eq!(
            loaded.files[1],
            ("page.html", "<h1>{{ title }}</h1>".to_owned()),
            "the site's own"
        );
        assert_eq!(
            loaded.files[0], builtin.files[0],
            "the built-in copy of what it leaves out"
        );
        std::fs::create_dir(pages.join("layout.html")).unwrap();
        let err = TemplateSources::load_pages(Some(dir.path())).unwrap_err();
        assert!(format!("{err:#}").contains("layout.html"), "{err:#}");
        std::fs::remove_dir(pages.join("layout.html")).unwrap();
        assert_eq!(loaded.origin, pages.display().to_string());
    }

    fn tera(site: &str) -> Tera {
        let mut tera = Tera::new();
        let site = Locale::parse(site).unwrap();
        register_i18n(&mut tera, Arc::new(Catalogs::builtin(&site).unwrap()));
        tera
    }

    fn render(tera: &mut Tera, name: &str, text: &str, locale: Option<&str>) -> String {
        tera.add_raw_template(name, text).unwrap();
        let mut ctx = tera::Context::new();
        if let Some(l) = locale {
            ctx.insert(LOCALE_VARIABLE, l);
        }
        ctx.insert("name", "<Rana>");
        ctx.insert("n", &11);
        tera.render(name, &ctx)
            .unwrap()
            .replace(['\u{2068}', '\u{2069}'], "")
    }

    #[test]
    fn templates_call_the_catalogs_in_the_context_locale() {
        let mut t = tera("en");
        let page = r#"<html lang="{{ lang() }}" dir="{{ dir() }}" style="text-align:{{ start() }}">{{ t(key="story-comments", count=n) }} | {{ t(key="digest-greeting-named", name=name) }} | {{ format_date(date="2026-12-01T07:00:00Z") }} | {{ format_number(number=12345) }}</html>"#;
        // A count and its noun are joined by a no-break space (U+00A0).
        assert_eq!(
            render(&mut t, "a.html", page, None),
            r#"<html lang="en" dir="ltr" style="text-align:left">11 comments | Hello &lt;Rana&gt;, | 1 December 2026 | 12,345</html>"#,
            "the site's locale, and escaped"
        );
        assert_eq!(
            render(&mut t, "b.html", page, Some("ar")),
            r#"<html lang="ar" dir="rtl" style="text-align:right">11 تعليقًا | مرحبًا &lt;Rana&gt;، | 1 ديسمبر 2026 | 12,345</html>"#
        );
        assert_eq!(
            render(&mut t, "c.html", page, Some("fr-CA")),
            "<html lang=\"fr-CA\" dir=\"ltr\" style=\"text-align:left\">11\u{a0}commentaires | Bonjour &lt;Rana&gt;, | 1 décembre 2026 | 12\u{a0}345</html>"
        );
    }

    #[test]
    fn the_text_part_isolates_fields() {
        let mut t = tera("en");
        let mut ctx = tera::Context::new();
        ctx.insert("author", "رنا الصباغ");
        t.add_raw_template(
            "s.txt",
            "world · {{ author | isolate }} · {{ t(key=\"story-votes\", count=150) }}",
        )
        .unwrap();
        assert_eq!(
            t.render("s.txt", &ctx).unwrap(),
            "world · \u{2068}رنا الصباغ\u{2069} · \u{2068}150\u{2069}\u{a0}votes"
        );
    }

    #[test]
    fn a_bad_call_is_a_render_error_naming_it() {
        let mut t = tera("en");
        for (text, expected) in [
            (r#"{{ t(key="no-such-key") }}"#, "no-such-key"),
            (r#"{{ t(key="story-comments") }}"#, "story-comments"),
            (r#"{{ format_date(date="yesterday") }}"#, "yesterday"),
            (r#"{{ format_number(number="many") }}"#, "many"),
        ] {
            t.add_raw_template("x.html", text).unwrap();
            let err = t.render("x.html", &tera::Context::new()).unwrap_err();
            let chain = format!("{err:?}");
            assert!(chain.contains(expected), "{text}: {chain}");
        }
    }
}
