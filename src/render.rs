//! Rendering: turns a selected digest into a subject, an HTML part and a text
//! part with Tera. Templates are compiled and checked once ([`Renderer::new`]);
//! the story blocks of an edition are rendered once and shared by every
//! subscriber ([`EditionBlocks`]), so per subscriber only a small context
//! changes. No IO: template text comes from `templates`, data from the caller.
//! Everything from a story or a subscriber is escaped by Tera's HTML
//! autoescaping (`.html` templates); summaries are plain text.

use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use chrono::NaiveDate;
use serde::Serialize;
use tera::{Context, Kwargs, State, Tera};

use crate::domain::{Edition, Frequency, Links, Story, Token};
use crate::select::{Digest, Pool};
use crate::templates::TemplateSources;

/// The site details every digest shows.
#[derive(Debug, Clone, Serialize)]
pub struct Site {
    pub name: String,
    pub postal_address: String,
    /// The public base URL, without a trailing slash.
    pub url: String,
}

/// Who a digest is for: the parts of a subscriber rendering needs.
#[derive(Debug, Clone, Copy)]
pub struct Recipient<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub token: &'a Token,
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

/// Compiled templates plus the site details.
pub struct Renderer {
    tera: Tera,
    site: Site,
    links: Links,
    max_html_bytes: usize,
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
    blocks: Vec<OnceLock<Result<(String, String), String>>>,
}

#[derive(Serialize)]
struct StoryView<'a> {
    title: &'a str,
    url: &'a str,
    summary: &'a str,
    author: &'a str,
    section: &'a str,
    image_url: Option<&'a str>,
    votes: i64,
    comments: i64,
    kind: &'static str,
}

impl<'a> From<&'a Story> for StoryView<'a> {
    fn from(s: &'a Story) -> Self {
        StoryView {
            title: &s.title,
            url: &s.url,
            summary: &s.summary,
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
    pub fn new(sources: &TemplateSources, mut site: Site, max_html_bytes: usize) -> anyhow::Result<Renderer> {
        let mut tera = Tera::new();
        tera.register_filter("wrap", wrap_filter);
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
            max_html_bytes,
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
        let blocks = (0..pool.ranked.len()).map(|_| OnceLock::new()).collect();
        EditionBlocks {
            pool,
            edition,
            date_label: date_label(edition.date),
            blocks,
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
        let mut digest = digest.clone();
        let mut dropped = 0;
        loop {
            let rendered = self.render_once(blocks, &digest, to)?;
            if (self.html_fits)(&rendered.html, self.max_html_bytes) || digest.len() <= 1 {
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
    ) -> anyhow::Result<Rendered> {
        let mut top_html = Vec::with_capacity(digest.top_stories.len());
        let mut top_text = Vec::with_capacity(digest.top_stories.len());
        let mut blog_html = Vec::with_capacity(digest.blog_posts.len());
        let mut blog_text = Vec::with_capacity(digest.blog_posts.len());
        for &i in &digest.top_stories {
            let (h, t) = self.block(blocks, i)?;
            top_html.push(h);
            top_text.push(t);
        }
        for &i in &digest.blog_posts {
            let (h, t) = self.block(blocks, i)?;
            blog_html.push(h);
            blog_text.push(t);
        }
        let first = digest
            .items()
            .next()
            .map(|i| blocks.pool.get(i).story.title.as_str());
        let frequency = blocks.edition.frequency.as_str();

        let mut ctx = Context::new();
        ctx.insert("site", &self.site);
        ctx.insert("frequency", frequency);
        ctx.insert("date_label", &blocks.date_label);
        ctx.insert("top_headline", &first.unwrap_or(""));
        let subject = crate::domain::text::collapse(&self.render_template("subject.txt", &ctx)?);
        ctx.insert("subject", &subject);
        ctx.insert("name", to.name);
        ctx.insert("email", to.email);
        ctx.insert("unsubscribe_url", &self.links.unsubscribe(to.token));
        ctx.insert("preferences_url", &self.links.preferences(to.token));
        ctx.insert("preheader", &preheader(&blocks.pool, digest));
        ctx.insert("top_stories", &top_html);
        ctx.insert("blog_posts", &blog_html);
        let html = self.render_template("digest.html", &ctx)?;
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

    fn block<'b>(&self, blocks: &'b EditionBlocks, i: usize) -> anyhow::Result<(&'b str, &'b str)> {
        let cell = blocks.blocks[i].get_or_init(|| {
            let mut ctx = Context::new();
            ctx.insert("story", &StoryView::from(&blocks.pool.get(i).story));
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

    fn render_template(&self, name: &str, ctx: &Context) -> anyhow::Result<String> {
        self.tera
            .render(name, ctx)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .with_context(|| format!("rendering template {name}"))
    }

    fn self_check(&self) -> anyhow::Result<()> {
        // A fixed instant: the check is about the templates, not the clock.
        let now = chrono::DateTime::from_timestamp(1_773_126_000, 0).expect("a valid instant");
        let story = Story {
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
        };
        let mut blog = story.clone();
        blog.kind = crate::domain::StoryKind::Blog;
        blog.id = 2;
        blog.image_url = None;
        let pool = Pool {
            ranked: vec![
                crate::select::Scored { story, score: 1.0 },
                crate::select::Scored {
                    story: blog,
                    score: 0.5,
                },
            ],
        };
        let edition = Edition {
            frequency: Frequency::Daily,
            date: now.date_naive(),
        };
        let blocks = self.edition(Arc::new(pool), edition);
        let digest = Digest {
            top_stories: vec![0],
            blog_posts: vec![1],
            window_start: now,
            window_end: now,
        };
        let token = Token::generate();
        self.render_once(
            &blocks,
            &digest,
            Recipient {
                name: "Sample Reader",
                email: "reader@example.com",
                token: &token,
            },
        )?;
        Ok(())
    }
}

/// `{{ text | wrap(width=72) }}`: wraps at word boundaries without breaking
/// words (so long URLs stay whole).
fn wrap_filter(s: &str, kwargs: Kwargs, _: &State) -> String {
    let width = kwargs
        .get::<i64>("width")
        .ok()
        .flatten()
        .unwrap_or(72)
        .clamp(20, 200) as usize;
    let options = textwrap::Options::new(width).break_words(false);
    textwrap::fill(s, options)
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

/// The hidden preview line shown by mail clients after the subject: the
/// first headlines, cut at about 140 characters.
fn preheader(pool: &Pool, digest: &Digest) -> String {
    let mut out = String::new();
    for i in digest.items() {
        let title = &pool.get(i).story.title;
        if !out.is_empty() {
            if out.chars().count() + title.chars().count() > 140 {
                break;
            }
            out.push_str(" · ");
        }
        out.push_str(title);
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
        let r = Renderer::new(&TemplateSources::builtin(), site, 100_000).unwrap();
        assert_eq!(r.site().url, "https://x.example");
    }

    #[test]
    fn a_template_error_names_file_and_line() {
        let mut sources = TemplateSources::builtin();
        sources.files[0].1 = "<p>\n{% if %}\n</p>".into();
        let err = format!(
            "{:#}",
            Renderer::new(&sources, crate::testing::site(), 100_000)
                .err()
                .unwrap()
        );
        assert!(err.contains("digest.html") && err.contains('2'), "{err}");
    }
}
