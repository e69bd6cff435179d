//! Rendering: turns a selected digest into a subject, an HTML part and a text
//! part with Tera, in the reader's language. Templates are compiled and
//! checked once ([`Renderer::new`]); the story blocks of an edition are
//! rendered once per language its readers read in and shared by every
//! subscriber of that language ([`EditionBlocks`]), so per subscriber only a
//! small context changes. No IO: template text comes from `templates`, data from the caller.
//! Everything from a story or a subscriber is escaped by Tera's HTML
//! autoescaping (`.html` templates, with [`escape`]'s function: mostly-ASCII
//! values come out as ASCII, references for the rest); summaries are plain text, cut to
//! `digest.summary_chars` here for both parts. The first item of a digest is
//! its lead (`lead` in `story.html`: the large image); its block is rendered
//! once more in that form. Two filters ([`layout`]) keep lines short: `wrap` for the text
//! part (never breaks a URL) and `lines` for HTML source (breaks only at
//! spaces, where a line break renders as a space).

use std::sync::{Arc, OnceLock, RwLock};

use anyhow::Context as _;
use chrono::NaiveDate;
use serde::Serialize;
use tera::{Context, Tera};

use crate::domain::{Edition, Frequency, Links, Locale, Story, Token, text};
use crate::i18n::{Arg, Catalogs, Resolved};
use crate::select::{Digest, Pool};
use crate::templates::TemplateSources;

mod escape;
mod layout;

pub use layout::{Long, wrap};
use layout::{lines_filter, normalize_text, underline_filter, wrap_filter};

/// The site details every digest shows.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    pub name: String,
    pub postal_address: String,
    /// The public base URL, without a trailing slash.
    pub url: String,
    /// The site's language (`site.locale`): what the language functions
    /// (`templates::register_i18n`) use where a subscriber has none.
    pub locale: Locale,
}

/// Who a digest is for: the parts of a subscriber rendering needs.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub token: &'a Token,
    /// Their language; `None`: the site's.
    pub locale: Option<&'a Locale>,
}

/// A rendered digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Items dropped to fit `max_html_bytes`.
    pub dropped: usize,
    /// The story ids actually in the digest, best first.
    pub story_ids: Vec<i64>,
}

impl EditionBlocks {
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// What bounds a digest's size.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Lower-ranked items are dropped until the HTML part fits.
    pub max_html_bytes: usize,
    /// Summaries are cut to this many characters, at a word boundary.
    pub summary_chars: usize,
}

impl Site {
    pub fn from_config(site: &crate::config::SiteConfig) -> Self {
        Site {
            name: site.name.to_string(),
            postal_address: site.postal_address.clone(),
            url: site.public_url.to_string(),
            locale: site.locale.clone(),
        }
    }
}

impl Limits {
    pub fn from_config(digest: &crate::config::DigestConfig) -> Self {
        Limits {
            max_html_bytes: digest.max_html_bytes,
            summary_chars: digest.summary_chars,
        }
    }
}

/// Where a digest is read: in the mail, or on the "view in browser" page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Medium {
    Mail,
    Web,
}

/// Compiled templates plus the site details.
pub struct Renderer {
    tera: Tera,
    /// The catalogs the templates' language functions read, for what
    /// `render` writes itself (the preheader, the date label).
    catalogs: Arc<Catalogs>,
    site: Site,
    links: Links,
    limits: Limits,
    /// Whether an HTML part fits `max_html_bytes`; the caller that knows
    /// the transfer encoding (`mail::html_fits`) counts what goes on the
    /// wire. By default, the rendered bytes.
    html_fits: fn(&str, usize) -> bool,
}

/// The per-edition cache of rendered story blocks (HTML and text), filled
/// on first use and shared across threads: one set per language the
/// edition's readers read in (a story block carries translated counts and
/// the mirrored layout of a right-to-left language), made when the first
/// reader of that language is rendered, so a mixed edition renders each
/// story once per language, never once per reader.
pub struct EditionBlocks {
    pool: Arc<Pool>,
    edition: Edition,
    /// The languages seen so far (a handful: a linear search is the fastest).
    languages: RwLock<Vec<Arc<LanguageBlocks>>>,
}

/// An edition's story blocks in one language.
struct LanguageBlocks {
    /// The document's language (`Resolved::tag`): `en`, `ar-JO`, `fr-CA`.
    tag: String,
    /// The edition's date, as that language writes it.
    date_label: String,
    /// Per story: its HTML and text blocks.
    blocks: Vec<OnceLock<Result<(String, String), String>>>,
    /// Per story: its HTML block as a digest's lead.
    leads: Vec<OnceLock<Result<String, String>>>,
}

impl EditionBlocks {
    /// The blocks in `resolved`'s language, made empty on first use.
    fn language(&self, resolved: &Resolved<'_>) -> Arc<LanguageBlocks> {
        let tag = resolved.tag();
        let find = |languages: &[Arc<LanguageBlocks>]| languages.iter().find(|l| l.tag == tag).cloned();
        if let Some(found) = find(&self.languages.read().unwrap_or_else(|e| e.into_inner())) {
            return found;
        }
        let mut languages = self.languages.write().unwrap_or_else(|e| e.into_inner());
        if let Some(found) = find(&languages) {
            return found;
        }
        let n = self.pool.ranked.len();
        let made = Arc::new(LanguageBlocks {
            date_label: crate::i18n::format::date(&resolved.lang, self.edition.date),
            tag,
            blocks: (0..n).map(|_| OnceLock::new()).collect(),
            leads: (0..n).map(|_| OnceLock::new()).collect(),
        });
        languages.push(made.clone());
        made
    }

    /// The languages whose blocks have been made, in order of first use.
    pub fn languages(&self) -> Vec<String> {
        let languages = self.languages.read().unwrap_or_else(|e| e.into_inner());
        languages.iter().map(|l| l.tag.clone()).collect()
    }

    /// How many story blocks (regular and lead) have been rendered, over
    /// every language: what the cache saved is readers × stories minus this.
    pub fn rendered_blocks(&self) -> usize {
        let languages = self.languages.read().unwrap_or_else(|e| e.into_inner());
        languages
            .iter()
            .map(|l| {
                l.blocks.iter().filter(|b| b.get().is_some()).count()
                    + l.leads.iter().filter(|b| b.get().is_some()).count()
            })
            .sum()
    }
}

#[derive(Serialize)]
struct StoryView<'a> {
    title: &'a str,
    url: &'a str,
    /// Cut to `digest.summary_chars`, whitespace collapsed.
    summary: String,
    author: &'a str,
    section: &'a str,
    image_url: Option<&'a str>,
    votes: i64,
    comments: i64,
    kind: &'static str,
}

impl<'a> StoryView<'a> {
    fn new(s: &'a Story, limits: &Limits) -> Self {
        StoryView {
            title: &s.title,
            url: &s.url,
            summary: text::cut(&text::collapse(&s.summary), limits.summary_chars),
            author: &s.author,
            section: &s.section,
            image_url: s.image_url.as_deref(),
            votes: s.votes,
            comments: s.comments,
            kind: s.kind.as_str(),
        }
    }
}

/// "10 March 2021", in English; a digest's date label is in its reader's
/// language (`i18n::format::date`).
pub fn date_label(date: NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

impl Renderer {
    /// Compiles the templates and renders a sample digest, so that a syntax
    /// error or a broken variable stops the start with the file and line.
    pub fn new(sources: &TemplateSources, mut site: Site, limits: Limits) -> anyhow::Result<Renderer> {
        let mut tera = Tera::new();
        tera.set_escape_fn(escape::escape_html);
        tera.register_filter("wrap", wrap_filter);
        tera.register_filter("lines", lines_filter);
        tera.register_filter("underline", underline_filter);
        let catalogs = Arc::new(Catalogs::builtin(&site.locale)?);
        crate::templates::register_i18n(&mut tera, catalogs.clone());
        for (name, text) in &sources.files {
            tera.add_raw_template(name, text)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("template {name} ({})", sources.origin))?;
        }
        site.url = site.url.trim_end_matches('/').to_owned();
        let renderer = Renderer {
            tera,
            catalogs,
            links: Links::new(&site.url),
            site,
            limits,
            html_fits: |html, max| html.len() <= max,
        };
        renderer
            .self_check()
            .with_context(|| format!("checking the templates ({})", sources.origin))?;
        Ok(renderer)
    }

    /// Counts `max_html_bytes` with `fits` (the size on the wire, with the
    /// part's transfer encoding) instead of the rendered bytes.
    pub fn with_html_fits(self, fits: fn(&str, usize) -> bool) -> Renderer {
        Renderer {
            html_fits: fits,
            ..self
        }
    }

    pub fn site(&self) -> &Site {
        &self.site
    }

    /// The site's public links (built once, from `site.url`).
    pub fn links(&self) -> &Links {
        &self.links
    }

    /// Prepares the shared story blocks for one edition (rendered on first
    /// use, per language).
    pub fn edition(&self, pool: Arc<Pool>, edition: Edition) -> EditionBlocks {
        EditionBlocks {
            pool,
            edition,
            languages: RwLock::new(Vec::new()),
        }
    }

    /// Renders one subscriber's digest. When the HTML part would exceed
    /// `max_html_bytes`, the lowest-ranked items are dropped until it fits.
    pub fn render(
        &self,
        blocks: &EditionBlocks,
        digest: &Digest,
        to: Recipient<'_>,
    ) -> anyhow::Result<Rendered> {
        self.render_as(blocks, digest, to, Medium::Mail)
    }

    /// Renders one subscriber's digest for "view in browser": the same
    /// templates, context and size limit as the mail, except that
    /// `view_url` is empty (the page does not link to itself) and
    /// `web_view` is true.
    pub fn render_web(
        &self,
        blocks: &EditionBlocks,
        digest: &Digest,
        to: Recipient<'_>,
    ) -> anyhow::Result<Rendered> {
        self.render_as(blocks, digest, to, Medium::Web)
    }

    fn render_as(
        &self,
        blocks: &EditionBlocks,
        digest: &Digest,
        to: Recipient<'_>,
        medium: Medium,
    ) -> anyhow::Result<Rendered> {
        let mut digest = digest.clone();
        let mut dropped = 0;
        loop {
            let rendered = self.render_once(blocks, &digest, to, medium)?;
            if (self.html_fits)(&rendered.html, self.limits.max_html_bytes) || digest.len() <= 1 {
                if dropped > 0 {
                    tracing::info!(
                        edition = %blocks.edition.key(),
                        dropped,
                        kept = digest.len(),
                        "digest over the HTML size limit; dropped the lowest-ranked items"
                    );
                }
                return Ok(Rendered { dropped, ..rendered });
            }
            digest.drop_lowest();
            dropped += 1;
        }
    }

    fn render_once(
        &self,
        blocks: &EditionBlocks,
        digest: &Digest,
        to: Recipient<'_>,
        medium: Medium,
    ) -> anyhow::Result<Rendered> {
        let resolved = self.catalogs.resolve(to.locale);
        let language = blocks.language(&resolved);
        let (mut ctx, subject) = self.context(blocks, &language, &resolved, digest, to, medium)?;
        let html = self.render_template("digest.html", &ctx)?;
        let (top_text, blog_text) = self.text_blocks(blocks, &language, digest)?;
        ctx.insert("top_stories", &top_text);
        ctx.insert("blog_posts", &blog_text);
        let text = normalize_text(&self.render_template("digest.txt", &ctx)?);
        // The wrap balances isolates per line, and a plain-text reader
        // takes each line as a paragraph: a line with nothing
        // right-to-left in a left-to-right digest needs none (they only
        // cost octets, and push an English text part to base64).
        let cleaned = match crate::i18n::without_needless_isolates_per_line(&text, resolved.dir) {
            std::borrow::Cow::Owned(cleaned) => Some(cleaned),
            std::borrow::Cow::Borrowed(_) => None,
        };
        let text = cleaned.unwrap_or(text);
        let story_ids = digest.items().map(|i| blocks.pool.get(i).story.id).collect();
        Ok(Rendered {
            subject,
            html,
            text,
            dropped: 0,
            story_ids,
        })
    }

    /// The context of one subscriber's digest, with the HTML story blocks
    /// (the text ones come from [`Self::text_blocks`]), and the subject.
    fn context(
        &self,
        blocks: &EditionBlocks,
        language: &LanguageBlocks,
        resolved: &Resolved<'_>,
        digest: &Digest,
        to: Recipient<'_>,
        medium: Medium,
    ) -> anyhow::Result<(Context, String)> {
        let lead = digest.items().next();
        let mut top_html = Vec::with_capacity(digest.top_stories.len());
        let mut blog_html = Vec::with_capacity(digest.blog_posts.len());
        for &i in &digest.top_stories {
            top_html.push(self.html_block(blocks, language, i, lead == Some(i))?);
        }
        for &i in &digest.blog_posts {
            blog_html.push(self.html_block(blocks, language, i, lead == Some(i))?);
        }
        let first = lead.map(|i| blocks.pool.get(i).story.title.as_str());
        let frequency = blocks.edition.frequency.as_str();

        let mut ctx = Context::new();
        ctx.insert("site", &self.site);
        // The language functions read it: the document's language (the
        // reader's, or the site's when no catalog serves theirs), as the
        // story blocks of this language were rendered in.
        ctx.insert(crate::templates::LOCALE_VARIABLE, &language.tag);
        ctx.insert("frequency", frequency);
        ctx.insert("date", &blocks.edition.date.to_string());
        ctx.insert("date_label", &language.date_label);
        // A subject shows its first 60 or so characters; past 100 a headline
        // only makes the header longer.
        ctx.insert("top_headline", &text::cut(first.unwrap_or(""), 100));
        let subject = text::collapse(&self.render_template("subject.txt", &ctx)?);
        let subject = crate::i18n::without_needless_isolates(&subject, resolved.dir).into_owned();
        ctx.insert("subject", &subject);
        ctx.insert("name", to.name);
        ctx.insert("email", to.email);
        ctx.insert("unsubscribe_url", &self.links.unsubscribe(to.token));
        ctx.insert("preferences_url", &self.links.preferences(to.token));
        // The mail links to its web view; the web view to nothing.
        if medium == Medium::Mail {
            ctx.insert("view_url", &self.links.view(to.token, &blocks.edition));
        }
        ctx.insert("web_view", &(medium == Medium::Web));
        ctx.insert("preheader", &self.preheader(&blocks.pool, resolved, digest)?);
        ctx.insert("top_stories", &top_html);
        ctx.insert("blog_posts", &blog_html);
        Ok((ctx, subject))
    }

    fn text_blocks<'b>(
        &self,
        blocks: &EditionBlocks,
        language: &'b LanguageBlocks,
        digest: &Digest,
    ) -> anyhow::Result<(Vec<&'b str>, Vec<&'b str>)> {
        let text = |ids: &[usize]| -> anyhow::Result<Vec<&'b str>> {
            ids.iter()
                .map(|&i| Ok(self.block(blocks, language, i)?.1))
                .collect()
        };
        Ok((text(&digest.top_stories)?, text(&digest.blog_posts)?))
    }

    fn html_block<'b>(
        &self,
        blocks: &EditionBlocks,
        language: &'b LanguageBlocks,
        i: usize,
        lead: bool,
    ) -> anyhow::Result<&'b str> {
        if !lead {
            return Ok(self.block(blocks, language, i)?.0);
        }
        let cell = language.leads[i].get_or_init(|| {
            self.render_template("story.html", &self.story_context(blocks, language, i, true))
                .map_err(|e| format!("{e:#}"))
        });
        cell.as_deref().map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Story `i`'s regular HTML block and its text block, in `language`.
    fn block<'b>(
        &self,
        blocks: &EditionBlocks,
        language: &'b LanguageBlocks,
        i: usize,
    ) -> anyhow::Result<(&'b str, &'b str)> {
        let cell = language.blocks[i].get_or_init(|| {
            let ctx = self.story_context(blocks, language, i, false);
            let html = self
                .render_template("story.html", &ctx)
                .map_err(|e| format!("{e:#}"))?;
            let text = self
                .render_template("story.txt", &ctx)
                .map_err(|e| format!("{e:#}"))?;
            Ok((html, text.trim().to_owned()))
        });
        match cell {
            Ok((h, t)) => Ok((h.as_str(), t.as_str())),
            Err(e) => Err(anyhow::anyhow!("{e}")),
        }
    }

    fn story_context(
        &self,
        blocks: &EditionBlocks,
        language: &LanguageBlocks,
        i: usize,
        lead: bool,
    ) -> Context {
        let mut ctx = Context::new();
        ctx.insert(crate::templates::LOCALE_VARIABLE, &language.tag);
        ctx.insert("story", &StoryView::new(&blocks.pool.get(i).story, &self.limits));
        ctx.insert("lead", &lead);
        ctx
    }

    fn render_template(&self, name: &str, ctx: &Context) -> anyhow::Result<String> {
        self.tera
            .render(name, ctx)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("rendering template {name}"))
    }

    /// Renders the sample in every language there is a catalog for, for
    /// the mail and for the web view.
    fn self_check(&self) -> anyhow::Result<()> {
        let (blocks, digest) = self.sample();
        let token = Token::generate();
        for locale in self.catalogs.available() {
            let to = Recipient {
                locale: Some(locale),
                ..sample_reader(&token)
            };
            for medium in [Medium::Mail, Medium::Web] {
                self.render_once(&blocks, &digest, to, medium)
                    .with_context(|| format!("in {locale}"))?;
            }
        }
        Ok(())
    }

    /// The hidden preview line mail clients show after the subject. The
    /// subject carries the lead's headline, so this names the next two and
    /// how many more follow: "Also: A · B, and 12 more". Each headline is
    /// cut to 70 characters and isolated (FSI … PDI), so a right-to-left
    /// one between left-to-right ones keeps its place.
    fn preheader(&self, pool: &Pool, resolved: &Resolved<'_>, digest: &Digest) -> anyhow::Result<String> {
        let (named, more) = preheader_titles(pool, digest);
        if named.is_empty() {
            return Ok(String::new());
        }
        let titles = named
            .iter()
            .map(|t| crate::i18n::isolate(t))
            .collect::<Vec<_>>()
            .join(" · ");
        let message = if more > 0 {
            self.catalogs.message(
                resolved,
                "digest-preheader-more",
                &[("titles", Arg::Text(&titles)), ("count", Arg::Int(more as i64))],
            )
        } else {
            self.catalogs
                .message(resolved, "digest-preheader", &[("titles", Arg::Text(&titles))])
        };
        Ok(message?)
    }

    /// A digest that takes every branch of the built-in templates: a lead
    /// with an image, a story with a thumbnail, a blog post without one.
    /// The check renders it for the mail and for the web view (no `view_url`).
    fn sample(&self) -> (EditionBlocks, Digest) {
        // A fixed instant: the check is about the templates, not the clock.
        let now = chrono::DateTime::from_timestamp(1_773_126_000, 0).expect("a valid instant");
        let lead = Story {
            id: 1,
            kind: crate::domain::StoryKind::Story,
            title: "Sample <title> & \"quotes\"".into(),
            url: "https://example.com/sample".into(),
            summary: "A sample summary.".into(),
            author: "Sample Author".into(),
            section: "world".into(),
            image_url: Some("https://example.com/sample.jpg".into()),
            published_at: now,
            votes: 1,
            comments: 1,
            updated_at: now,
            lang: None,
        };
        let second = Story {
            id: 2,
            url: "https://example.com/second".into(),
            ..lead.clone()
        };
        let blog = Story {
            id: 3,
            kind: crate::domain::StoryKind::Blog,
            url: "https://example.com/blog".into(),
            image_url: None,
            ..lead.clone()
        };
        let ranked = [lead, second, blog]
            .into_iter()
            .zip([1.0, 0.8, 0.5])
            .map(|(story, score)| crate::select::Scored { story, score })
            .collect();
        let edition = Edition {
            frequency: Frequency::Daily,
            date: now.date_naive(),
        };
        let blocks = self.edition(Arc::new(Pool { ranked }), edition);
        let digest = Digest {
            top_stories: vec![0, 1],
            blog_posts: vec![2],
            window_start: now,
            window_end: now,
            first: Vec::new(),
        };
        (blocks, digest)
    }
}

fn sample_reader(token: &Token) -> Recipient<'_> {
    Recipient {
        name: "Sample Reader",
        email: "reader@example.com",
        token,
        locale: None,
    }
}

/// The preheader's headlines: the two after the lead's, each cut to 70
/// characters, and how many more items follow them.
fn preheader_titles(pool: &Pool, digest: &Digest) -> (Vec<String>, usize) {
    let mut titles = digest
        .items()
        .skip(1)
        .map(|i| text::cut(&pool.get(i).story.title, 70));
    let named: Vec<String> = titles.by_ref().take(2).collect();
    (named, titles.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_templates_compile() {
        // A trailing slash on the site URL is dropped, so links never get "//".
        let site = Site {
            url: "https://x.example/".into(),
            ..crate::testing::site()
        };
        let r = Renderer::new(&TemplateSources::builtin(), site, crate::testing::LIMITS).unwrap();
        assert_eq!(r.site().url, "https://x.example");
    }

    #[test]
    fn a_template_error_names_file_and_line() {
        let mut sources = TemplateSources::builtin();
        sources.files[0].1 = "<p>\n{% if %}\n</p>".into();
        let err = format!(
            "{:#}",
            Renderer::new(&sources, crate::testing::site(), crate::testing::LIMITS)
                .err()
                .unwrap()
        );
        assert!(err.contains("digest.html") && err.contains('2'), "{err}");
    }

    #[test]
    fn a_site_template_speaks_the_readers_language() {
        let mut sources = TemplateSources::builtin();
        for (name, text) in &mut sources.files {
            if *name == "subject.txt" {
                *text = r#"{{ t(key="digest-subject", frequency=frequency, date=format_date(date=date)) }} ({{ lang() }}, {{ dir() }})"#.into();
            }
        }
        let site = Site {
            locale: Locale::parse("ar-JO").unwrap(),
            ..crate::testing::site()
        };
        let r = Renderer::new(&sources, site, crate::testing::LIMITS).unwrap();
        let (blocks, digest) = r.sample();
        let token = Token::generate();
        let fr = Locale::parse("fr").unwrap();
        let subject = |locale: Option<&Locale>| {
            let to = Recipient {
                locale,
                ..sample_reader(&token)
            };
            r.render_once(&blocks, &digest, to, Medium::Mail)
                .unwrap()
                .subject
                .replace(['\u{2068}', '\u{2069}'], "")
        };
        assert_eq!(
            subject(Some(&fr)),
            "Votre lettre quotidienne du 10 mars 2026 (fr, ltr)"
        );
        assert_eq!(
            subject(None),
            "نشرتك اليومية، 10 آذار 2026 (ar-JO, rtl)",
            "the site's"
        );
    }

    fn renderer() -> Renderer {
        Renderer::new(
            &TemplateSources::builtin(),
            crate::testing::site(),
            crate::testing::LIMITS,
        )
        .unwrap()
    }

    #[test]
    fn view_in_browser_appears_only_with_a_view_url() {
        let r = renderer();
        let (blocks, digest) = r.sample();
        let token = Token::generate();
        let to = sample_reader(&token);
        // The web view itself has no view_url.
        let without = r.render_once(&blocks, &digest, to, Medium::Web).unwrap();
        assert!(!without.html.contains("View in browser"), "{}", without.html);
        assert!(!without.text.contains("View in browser"), "{}", without.text);
        // The mail links to the subscriber's own view of the edition.
        let mail = r.render_once(&blocks, &digest, to, Medium::Mail).unwrap();
        let own = r.links().view(&token, &blocks.edition);
        assert!(own.contains(&format!("/view/{token}/")), "{own}");
        assert!(mail.html.contains(&format!("href=\"{own}\"")), "{}", mail.html);
        assert!(
            mail.text.contains(&format!("\nView in browser:\n{own}\n")),
            "{}",
            mail.text
        );

        let url = "https://news.example.com/view/T/daily-2026-03-10?a=1&b=2";
        let resolved = r.catalogs.resolve(None);
        let language = blocks.language(&resolved);
        let (mut ctx, _) = r
            .context(&blocks, &language, &resolved, &digest, to, Medium::Web)
            .unwrap();
        ctx.insert("view_url", url);
        let html = r.render_template("digest.html", &ctx).unwrap();
        assert!(
            html.contains(r#"href="https://news.example.com/view/T/daily-2026-03-10?a=1&amp;b=2" style="color:#0b57d0;text-decoration:underline;">View in browser</a>"#),
            "{html}"
        );
        let (top, blog) = r.text_blocks(&blocks, &language, &digest).unwrap();
        ctx.insert("top_stories", &top);
        ctx.insert("blog_posts", &blog);
        let text = normalize_text(&r.render_template("digest.txt", &ctx).unwrap());
        assert!(text.contains(&format!("\nView in browser:\n{url}\n")), "{text}");
    }

    #[test]
    fn only_the_lead_carries_the_large_image() {
        let r = renderer();
        let (blocks, digest) = r.sample();
        let token = Token::generate();
        let html = r
            .render_once(&blocks, &digest, sample_reader(&token), Medium::Mail)
            .unwrap()
            .html;
        assert_eq!(html.matches(r#"width="552""#).count(), 1, "{html}");
        assert_eq!(html.matches(r#"class="thumb""#).count(), 1, "{html}");
        let lead = html.find(r#"width="552""#).unwrap();
        let second = html.find("https://example.com/second").unwrap();
        assert!(lead < second, "the large image belongs to the first story");
    }

    #[test]
    fn the_preheader_names_the_next_headlines_not_the_subjects() {
        let story = |id: i64, title: &str| crate::select::Scored {
            story: crate::testing::story(id).title(title).build(),
            score: 1.0,
        };
        let pool = Pool {
            ranked: ["Lead", "Second", "Third", "Fourth", "Fifth"]
                .iter()
                .zip(1..)
                .map(|(t, id)| story(id, t))
                .collect(),
        };
        let now = chrono::DateTime::from_timestamp(1_773_126_000, 0).unwrap();
        let digest = |top: Vec<usize>| Digest {
            top_stories: top,
            blog_posts: vec![],
            window_start: now,
            window_end: now,
            first: Vec::new(),
        };
        let r = renderer();
        let preheader = |tag: &str, top: Vec<usize>| {
            let locale = Locale::parse(tag).unwrap();
            let resolved = r.catalogs.resolve(Some(&locale));
            r.preheader(&pool, &resolved, &digest(top))
                .unwrap()
                .replace(['\u{2068}', '\u{2069}'], "")
        };
        assert_eq!(
            preheader("en", vec![0, 1, 2, 3, 4]),
            "Also: Second · Third, and 2 more"
        );
        assert_eq!(preheader("en", vec![0, 1, 2]), "Also: Second · Third");
        assert_eq!(preheader("en", vec![0, 1]), "Also: Second");
        assert_eq!(preheader("en", vec![0]), "");
        assert_eq!(
            preheader("fr", vec![0, 1, 2, 3]),
            "Également\u{a0}: Second · Third, et 1\u{a0}autre"
        );
        assert_eq!(
            preheader("ar", vec![0, 1, 2, 3, 4]),
            "وأيضًا: Second · Third، وخبران آخران"
        );
    }
}
