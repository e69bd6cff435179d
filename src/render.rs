//! Rendering: turns a selected digest into a subject, an HTML part and a text
//! part with Tera. Templates are compiled and checked once ([`Renderer::new`]);
//! the story blocks of an edition are rendered once and shared by every
//! subscriber ([`EditionBlocks`]), so per subscriber only a small context
//! changes. No IO: template text comes from `templates`, data from the caller.
//! Everything from a story or a subscriber is escaped by Tera's HTML
//! autoescaping (`.html` templates); summaries are plain text, cut to
//! `digest.summary_chars` here for both parts. The first item of a digest is
//! its lead (`lead` in `story.html`: the large image); its block is rendered
//! once more in that form. Two filters keep lines short: `wrap` for the text
//! part (never breaks a URL) and `lines` for HTML source (breaks only at
//! spaces, where a line break renders as a space).

use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use chrono::NaiveDate;
use serde::Serialize;
use tera::{Context, Kwargs, State, Tera};

use crate::domain::{Edition, Frequency, Links, Locale, Story, Token, text};
use crate::i18n::Catalogs;
use crate::select::{Digest, Pool};
use crate::templates::TemplateSources;

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
    site: Site,
    links: Links,
    limits: Limits,
    /// Whether an HTML part fits `max_html_bytes`; the caller that knows
    /// the transfer encoding (`mail::html_fits`) counts what goes on the
    /// wire. By default, the rendered bytes.
    html_fits: fn(&str, usize) -> bool,
}

/// The per-edition cache of rendered story blocks (HTML and text), filled
/// on first use and shared across threads.
pub struct EditionBlocks {
    pool: Arc<Pool>,
    edition: Edition,
    date_label: String,
    /// Per story: its HTML and text blocks.
    blocks: Vec<OnceLock<Result<(String, String), String>>>,
    /// Per story: its HTML block as a digest's lead.
    leads: Vec<OnceLock<Result<String, String>>>,
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

/// "10 March 2021".
pub fn date_label(date: NaiveDate) -> String {
    date.format("%-d %B %Y").to_string()
}

impl Renderer {
    /// Compiles the templates and renders a sample digest, so that a syntax
    /// error or a broken variable stops the start with the file and line.
    pub fn new(sources: &TemplateSources, mut site: Site, limits: Limits) -> anyhow::Result<Renderer> {
        let mut tera = Tera::new();
        tera.register_filter("wrap", wrap_filter);
        tera.register_filter("lines", lines_filter);
        crate::templates::register_i18n(&mut tera, Arc::new(Catalogs::builtin(&site.locale)?));
        for (name, text) in &sources.files {
            tera.add_raw_template(name, text)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .with_context(|| format!("template {name} ({})", sources.origin))?;
        }
        site.url = site.url.trim_end_matches('/').to_owned();
        let renderer = Renderer {
            tera,
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

    /// Prepares the shared story blocks for one edition.
    pub fn edition(&self, pool: Arc<Pool>, edition: Edition) -> EditionBlocks {
        let n = pool.ranked.len();
        EditionBlocks {
            pool,
            edition,
            date_label: date_label(edition.date),
            blocks: (0..n).map(|_| OnceLock::new()).collect(),
            leads: (0..n).map(|_| OnceLock::new()).collect(),
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
        let (mut ctx, subject) = self.context(blocks, digest, to, medium)?;
        let html = self.render_template("digest.html", &ctx)?;
        let (top_text, blog_text) = self.text_blocks(blocks, digest)?;
        ctx.insert("top_stories", &top_text);
        ctx.insert("blog_posts", &blog_text);
        let text = normalize_text(&self.render_template("digest.txt", &ctx)?);
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
        digest: &Digest,
        to: Recipient<'_>,
        medium: Medium,
    ) -> anyhow::Result<(Context, String)> {
        let lead = digest.items().next();
        let mut top_html = Vec::with_capacity(digest.top_stories.len());
        let mut blog_html = Vec::with_capacity(digest.blog_posts.len());
        for &i in &digest.top_stories {
            top_html.push(self.html_block(blocks, i, lead == Some(i))?);
        }
        for &i in &digest.blog_posts {
            blog_html.push(self.html_block(blocks, i, lead == Some(i))?);
        }
        let first = lead.map(|i| blocks.pool.get(i).story.title.as_str());
        let frequency = blocks.edition.frequency.as_str();

        let mut ctx = Context::new();
        ctx.insert("site", &self.site);
        // The language functions read it; the story blocks, shared by the
        // edition's readers, are rendered without it (the site's language).
        if let Some(locale) = to.locale {
            ctx.insert(crate::templates::LOCALE_VARIABLE, &locale.tag());
        }
        ctx.insert("frequency", frequency);
        ctx.insert("date", &blocks.edition.date.to_string());
        ctx.insert("date_label", &blocks.date_label);
        // A subject shows its first 60 or so characters; past 100 a headline
        // only makes the header longer.
        ctx.insert("top_headline", &text::cut(first.unwrap_or(""), 100));
        let subject = text::collapse(&self.render_template("subject.txt", &ctx)?);
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
        ctx.insert("preheader", &preheader(&blocks.pool, digest));
        ctx.insert("top_stories", &top_html);
        ctx.insert("blog_posts", &blog_html);
        Ok((ctx, subject))
    }

    fn text_blocks<'b>(
        &self,
        blocks: &'b EditionBlocks,
        digest: &Digest,
    ) -> anyhow::Result<(Vec<&'b str>, Vec<&'b str>)> {
        let text = |ids: &[usize]| -> anyhow::Result<Vec<&'b str>> {
            ids.iter().map(|&i| Ok(self.block(blocks, i)?.1)).collect()
        };
        Ok((text(&digest.top_stories)?, text(&digest.blog_posts)?))
    }

    fn html_block<'b>(&self, blocks: &'b EditionBlocks, i: usize, lead: bool) -> anyhow::Result<&'b str> {
        if !lead {
            return Ok(self.block(blocks, i)?.0);
        }
        let cell = blocks.leads[i].get_or_init(|| {
            self.render_template("story.html", &self.story_context(blocks, i, true))
                .map_err(|e| format!("{e:#}"))
        });
        cell.as_deref().map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Story `i`'s regular HTML block and its text block.
    fn block<'b>(&self, blocks: &'b EditionBlocks, i: usize) -> anyhow::Result<(&'b str, &'b str)> {
        let cell = blocks.blocks[i].get_or_init(|| {
            let ctx = self.story_context(blocks, i, false);
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

    fn story_context(&self, blocks: &EditionBlocks, i: usize, lead: bool) -> Context {
        let mut ctx = Context::new();
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

    fn self_check(&self) -> anyhow::Result<()> {
        let (blocks, digest) = self.sample();
        let token = Token::generate();
        self.render_once(&blocks, &digest, sample_reader(&token), Medium::Mail)?;
        self.render_once(&blocks, &digest, sample_reader(&token), Medium::Web)?;
        Ok(())
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

/// `{{ text | wrap(width=72) }}`, for the text part: see [`wrap`].
fn wrap_filter(s: &str, kwargs: Kwargs, _: &State) -> String {
    wrap(s, width_of(&kwargs, 72), Long::Split)
}

/// `{{ text | lines(width=100) }}`, for HTML source: breaks at spaces only,
/// so a line break renders as the space it replaces and text written
/// without spaces (Chinese, Japanese) is never split.
fn lines_filter(s: &str, kwargs: Kwargs, _: &State) -> String {
    wrap(s, width_of(&kwargs, 100), Long::Keep)
}

fn width_of(kwargs: &Kwargs, default: i64) -> usize {
    kwargs
        .get::<i64>("width")
        .ok()
        .flatten()
        .unwrap_or(default)
        .clamp(20, 200) as usize
}

/// What [`wrap`] does with a word wider than the line that is not a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Long {
    /// Cut it into pieces as wide as the line (plain text: a run of CJK
    /// text has no spaces to break at).
    Split,
    /// Keep it whole, on a line of its own.
    Keep,
}

/// Wraps `text` into lines at most `width` columns wide (display width, so
/// a CJK character counts two), breaking at whitespace and keeping the
/// line breaks it has. A URL is never broken: one that does not fit on the
/// current line starts the next, and one wider than the line stands on a
/// line of its own. Other words wider than the line are split or kept as
/// `long` says.
pub fn wrap(text: &str, width: usize, long: Long) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / width.max(1) + 1);
    for (n, paragraph) in text.lines().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let mut line = Line {
            out: &mut out,
            col: 0,
            width,
        };
        for word in paragraph.split_whitespace() {
            let w = display_width(word);
            if w <= width || long == Long::Keep || is_url(word) {
                line.push(word, w);
            } else {
                let mut piece = String::new();
                let mut piece_w = 0;
                for c in word.chars() {
                    let cw = display_width(c.encode_utf8(&mut [0; 4]));
                    if piece_w + cw > width && !piece.is_empty() {
                        line.push(&piece, piece_w);
                        piece.clear();
                        piece_w = 0;
                    }
                    piece.push(c);
                    piece_w += cw;
                }
                line.push(&piece, piece_w);
            }
        }
    }
    out
}

/// The line [`wrap`] is filling.
struct Line<'a> {
    out: &'a mut String,
    col: usize,
    width: usize,
}

impl Line<'_> {
    /// Adds a word `w` columns wide, on this line if it fits, else on the
    /// next. A word wider than the line fills it, so the next word starts a
    /// new one.
    fn push(&mut self, word: &str, w: usize) {
        if self.col > 0 {
            if self.col + 1 + w > self.width {
                self.out.push('\n');
                self.col = 0;
            } else {
                self.out.push(' ');
                self.col += 1;
            }
        }
        self.out.push_str(word);
        self.col += w;
    }
}

fn display_width(s: &str) -> usize {
    textwrap::core::display_width(s)
}

/// A word a mail reader turns into a link: broken, it would no longer work.
fn is_url(word: &str) -> bool {
    word.contains("://") || word.starts_with("www.") || word.starts_with("mailto:")
}

/// Trims trailing blanks on every line and squeezes runs of blank lines
/// that template tags leave behind, so the text part reads cleanly.
fn normalize_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank_run = 0;
    for line in s.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The hidden preview line mail clients show after the subject. The
/// subject carries the lead's headline, so this names the next two and how
/// many more follow: "Also: A · B, and 12 more". Each headline is cut to
/// 70 characters.
fn preheader(pool: &Pool, digest: &Digest) -> String {
    let mut titles = digest
        .items()
        .skip(1)
        .map(|i| text::cut(&pool.get(i).story.title, 70));
    let named: Vec<String> = titles.by_ref().take(2).collect();
    let more = titles.count();
    if named.is_empty() {
        return String::new();
    }
    let mut out = format!("Also: {}", named.join(" · "));
    if more > 0 {
        out.push_str(&format!(", and {more} more"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_normalization_squeezes_blank_lines() {
        assert_eq!(normalize_text("\n\na  \n\n\n\nb\n"), "a\n\nb\n");
    }

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
        let (mut ctx, _) = r.context(&blocks, &digest, to, Medium::Web).unwrap();
        ctx.insert("view_url", url);
        let html = r.render_template("digest.html", &ctx).unwrap();
        assert!(
            html.contains(r#"href="https://news.example.com/view/T/daily-2026-03-10?a=1&amp;b=2" style="color:#0b57d0;text-decoration:underline;">View in browser</a>"#),
            "{html}"
        );
        let (top, blog) = r.text_blocks(&blocks, &digest).unwrap();
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
        assert_eq!(
            preheader(&pool, &digest(vec![0, 1, 2, 3, 4])),
            "Also: Second · Third, and 2 more"
        );
        assert_eq!(preheader(&pool, &digest(vec![0, 1, 2])), "Also: Second · Third");
        assert_eq!(preheader(&pool, &digest(vec![0, 1])), "Also: Second");
        assert_eq!(preheader(&pool, &digest(vec![0])), "");
    }

    #[test]
    fn wrapping_never_breaks_a_url() {
        let long = format!(
            "https://news.example.com/world/2026/03/10/{}",
            "a-long-slug".repeat(8)
        );
        let text =
            format!("Read the council's full statement at {long} before the meeting on Tuesday evening.");
        let wrapped = wrap(&text, 72, Long::Split);
        assert_eq!(
            wrapped,
            format!("Read the council's full statement at\n{long}\nbefore the meeting on Tuesday evening.")
        );
        // A URL that fits stays on its line; one that does not moves whole
        // to the next (never split at a hyphen or a slash).
        assert_eq!(
            wrap("see https://x.io/a-b for more", 72, Long::Split),
            "see https://x.io/a-b for more"
        );
        let url = "https://news.example.com/world/2026/03/10/city-council-approves-bus";
        let wrapped = wrap(
            &format!("Council votes 31-9 to keep night routes: {url}"),
            72,
            Long::Split,
        );
        assert_eq!(
            wrapped,
            format!("Council votes 31-9 to keep night routes:\n{url}")
        );
        for line in wrap(&text.repeat(5), 72, Long::Split).lines() {
            assert!(line.chars().count() <= 72 || line == long, "{line:?}");
        }
    }

    #[test]
    fn wrapping_splits_other_long_words_in_text_and_keeps_them_in_html() {
        let word = "x".repeat(100);
        assert_eq!(
            wrap(&word, 72, Long::Split),
            format!("{}\n{}", "x".repeat(72), "x".repeat(28))
        );
        assert_eq!(
            wrap(&format!("a {word} b"), 72, Long::Keep),
            format!("a\n{word}\nb")
        );
        // CJK characters are two columns wide: 36 to a 72-column line.
        let cjk = "漢".repeat(50);
        assert_eq!(
            wrap(&cjk, 72, Long::Split),
            format!("{}\n{}", "漢".repeat(36), "漢".repeat(14))
        );
        assert_eq!(
            wrap(&cjk, 72, Long::Keep),
            cjk,
            "no break where none renders as a space"
        );
        // Line breaks already there are kept; runs of spaces become one.
        assert_eq!(wrap("one  two\nthree", 72, Long::Split), "one two\nthree");
        assert_eq!(wrap("", 72, Long::Split), "");
    }
}
