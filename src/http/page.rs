//! The one page renderer. A handler answers with a [`Page`] (a status, a
//! title, a message and at most one form); `Page` becomes a response that
//! carries the page unrendered, and the router's last layer renders it with
//! [`Pages::render`]: `page.html` (from `templates`, compiled once, HTML
//! autoescaped) with the headers every page reached through a secret link
//! needs. The archive's pages and feed ([`Pages::public`]) and the signup
//! box ([`Pages::snippet`]) come from the same templates, all sharing
//! `layout.html`. Handlers never build HTML or set these headers themselves.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tera::{Context, Tera};

use super::AppState;
use super::zones;
use crate::domain::Links;
use crate::templates::TemplateSources;

/// The template every page is rendered from. Its `.html` suffix turns on
/// Tera's autoescaping.
const TEMPLATE: &str = "page.html";

/// One HTML answer, before rendering.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    pub form: Form,
}

/// The form a page shows under its message, with what it needs. Each
/// `action_url` carries the subscriber's token where the flow has one.
#[derive(Debug, Clone, Default)]
pub enum Form {
    #[default]
    None,
    /// The signup form: the zone picker preset to `timezone`, and the
    /// sections to tick (none: no choice shown).
    Subscribe {
        action_url: String,
        timezone: String,
        sections: Vec<String>,
    },
    /// The time zone and hour to check, and the button that confirms.
    Confirm {
        action_url: String,
        timezone: String,
        send_hour: u8,
    },
    /// Frequency, hour, time zone and sections, filled in.
    Preferences {
        action_url: String,
        frequency: String,
        send_hour: u8,
        timezone: String,
        topics: String,
    },
    /// Unsubscribe, pause and (for a daily subscriber) the weekly switch.
    Unsubscribe {
        action_url: String,
        email: String,
        offer_weekly: bool,
    },
}

/// What `herald form` puts in the signup box.
#[derive(Debug, Clone, Default)]
pub struct SnippetOptions {
    /// Sections to offer as checkboxes (empty: no topics choice).
    pub sections: Vec<String>,
    /// Offer daily or weekly.
    pub frequency: bool,
}

/// One `<option>` of the hour picker.
#[derive(Serialize)]
struct Hour {
    value: u8,
    label: String,
}

impl Page {
    /// A page with a message and no form.
    pub fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> Page {
        Page {
            status,
            title,
            message: message.into(),
            form: Form::None,
        }
    }

    pub fn with_form(self, form: Form) -> Page {
        Page { form, ..self }
    }

    /// A link whose token is malformed or unknown.
    pub fn not_found() -> Page {
        Page::new(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This link is not valid. It may be incomplete: try copying the whole link from the email.",
        )
    }

    /// A body that could not be used; `message` says why.
    pub fn bad_request(message: impl Into<String>) -> Page {
        Page::new(StatusCode::BAD_REQUEST, "Bad request", message)
    }

    /// What every internal error answers: no detail of the cause.
    pub fn internal() -> Page {
        Page::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong",
            "Please try again in a few minutes.",
        )
    }

    /// The template's variables. Only the chosen form's variables are set;
    /// the template reads them only inside that form.
    fn context(&self, site: &SiteView) -> Context {
        let mut ctx = site.context();
        ctx.insert("title", self.title);
        ctx.insert("message", &self.message);
        // Every page here is reached through a secret link or is a form's
        // answer: none is for search engines.
        ctx.insert("noindex", &true);
        let kind = match &self.form {
            Form::None | Form::Unsubscribe { .. } => "",
            Form::Subscribe { .. } => "subscribe",
            Form::Confirm { .. } => "confirm",
            Form::Preferences { .. } => "preferences",
        };
        ctx.insert("kind", kind);
        ctx.insert("show_unsubscribe", &matches!(self.form, Form::Unsubscribe { .. }));
        match &self.form {
            Form::None => {}
            Form::Subscribe {
                action_url,
                timezone,
                sections,
            } => {
                ctx.insert("action_url", action_url);
                ctx.insert("show_name", &true);
                ctx.insert("show_frequency", &true);
                ctx.insert("sections", sections);
                pickers(&mut ctx, timezone, None);
            }
            Form::Confirm {
                action_url,
                timezone,
                send_hour,
            } => {
                ctx.insert("action_url", action_url);
                pickers(&mut ctx, timezone, Some(*send_hour));
            }
            Form::Preferences {
                action_url,
                frequency,
                send_hour,
                timezone,
                topics,
            } => {
                ctx.insert("action_url", action_url);
                ctx.insert("frequency", frequency);
                ctx.insert("topics", topics);
                pickers(&mut ctx, timezone, Some(*send_hour));
            }
            Form::Unsubscribe {
                action_url,
                email,
                offer_weekly,
            } => {
                ctx.insert("action_url", action_url);
                ctx.insert("email", email);
                ctx.insert("offer_weekly", offer_weekly);
            }
        }
        ctx
    }
}

/// The zone picker (preset to `timezone`), the inline script, and the hour
/// picker when there is an hour to show.
fn pickers(ctx: &mut Context, timezone: &str, send_hour: Option<u8>) {
    ctx.insert("regions", zones::regions());
    ctx.insert("timezone", timezone);
    ctx.insert("script", zones::TZ_SCRIPT);
    if let Some(hour) = send_hour {
        let hours: Vec<Hour> = (0..24)
            .map(|h| Hour {
                value: h,
                label: format!("{h:02}:00"),
            })
            .collect();
        ctx.insert("hours", &hours);
        ctx.insert("send_hour", &hour);
    }
}

/// What every page shows of the site: its name, its home, and the archive
/// link when the archive is on.
#[derive(Debug, Clone)]
pub struct SiteView {
    pub name: String,
    pub links: Links,
    pub archive: bool,
}

impl SiteView {
    fn context(&self) -> Context {
        let mut ctx = Context::new();
        ctx.insert("site_name", &self.name);
        ctx.insert("site_url", self.links.base());
        if self.archive {
            ctx.insert("archive_url", &self.links.archive());
        }
        ctx
    }
}

/// The response carries the page in its extensions, for [`render_layer`]:
/// rendering needs the templates and the site name, which live in the state.
impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// The compiled page templates and the site every page shows.
pub struct Pages {
    tera: Tera,
    site: SiteView,
}

/// A public page (the archive), rendered: what the handler needs to answer
/// it, conditional requests included.
pub struct Public {
    pub content_type: &'static str,
    pub body: String,
}

impl Pages {
    /// Compiles the page templates and renders each kind of page once, so
    /// that a broken template stops the start with its file rather than
    /// failing a subscriber's request.
    pub fn new(sources: &TemplateSources, site: SiteView) -> anyhow::Result<Pages> {
        let mut tera = Tera::new();
        tera.add_raw_templates(sources.files.iter().map(|(name, text)| (*name, text.as_str())))
            .map_err(|e| anyhow::anyhow!("page templates ({}): {e}", sources.origin))?;
        let pages = Pages { tera, site };
        for page in samples() {
            pages
                .tera
                .render(TEMPLATE, &page.context(&pages.site))
                .map_err(|e| anyhow::anyhow!("checking {TEMPLATE} ({}): {e}", sources.origin))?;
        }
        pages
            .snippet(
                "https://news.example.com/subscribe",
                "UTC",
                &SnippetOptions {
                    sections: vec!["world".into()],
                    frequency: true,
                },
            )
            .map_err(|e| anyhow::anyhow!("checking snippet.html ({}): {e:#}", sources.origin))?;
        Ok(pages)
    }

    /// Renders `page` with the security headers. A page that fails to
    /// render is an internal error: logged, and answered with the generic
    /// page (or, should that fail too, a line of text).
    pub fn render(&self, page: &Page) -> Response {
        let (status, body) = match self.tera.render(TEMPLATE, &page.context(&self.site)) {
            Ok(body) => (page.status, body),
            Err(e) => {
                tracing::error!(error = %e, title = page.title, "rendering a page failed");
                let body = self
                    .tera
                    .render(TEMPLATE, &Page::internal().context(&self.site))
                    .unwrap_or_else(|_| "Something went wrong.".to_owned());
                (StatusCode::INTERNAL_SERVER_ERROR, body)
            }
        };
        let mut response =
            (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
        secure(response.headers_mut());
        response
    }

    /// The signup box `herald form` prints: the signup form on its own,
    /// posting to `action_url`, with no external script or style.
    pub fn snippet(
        &self,
        action_url: &str,
        timezone: &str,
        options: &SnippetOptions,
    ) -> anyhow::Result<String> {
        let mut ctx = self.site.context();
        ctx.insert("action_url", action_url);
        ctx.insert("sections", &options.sections);
        ctx.insert("show_frequency", &options.frequency);
        ctx.insert("show_name", &false);
        pickers(&mut ctx, timezone, None);
        self.tera
            .render("snippet.html", &ctx)
            .map_err(|e| anyhow::anyhow!("rendering snippet.html: {e}"))
    }

    /// Renders one of the public templates (`archive.html`,
    /// `archive_edition.html`, `feed.xml`) over the site's variables and
    /// `vars`.
    pub fn public(&self, template: &'static str, vars: Context) -> anyhow::Result<Public> {
        let mut ctx = self.site.context();
        ctx.extend(vars);
        let body = self
            .tera
            .render(template, &ctx)
            .map_err(|e| anyhow::anyhow!("rendering {template}: {e}"))?;
        let content_type = if template.ends_with(".xml") {
            "application/atom+xml; charset=utf-8"
        } else {
            "text/html; charset=utf-8"
        };
        Ok(Public { content_type, body })
    }
}

/// One page of each kind, for the check at start.
fn samples() -> [Page; 5] {
    let action_url = || "https://news.example.com/x".to_owned();
    let page = |form| Page::new(StatusCode::OK, "Sample", "A sample page.").with_form(form);
    [
        Page::internal(),
        page(Form::Subscribe {
            action_url: action_url(),
            timezone: "UTC".into(),
            sections: vec!["world".into()],
        }),
        page(Form::Confirm {
            action_url: action_url(),
            timezone: "UTC".into(),
            send_hour: 7,
        }),
        page(Form::Preferences {
            action_url: action_url(),
            frequency: "daily".into(),
            send_hour: 7,
            timezone: "UTC".into(),
            topics: String::new(),
        }),
        page(Form::Unsubscribe {
            action_url: action_url(),
            email: "ana@example.com".into(),
            offer_weekly: true,
        }),
    ]
}

/// The router's layer that renders the page a handler answered with; other
/// responses (JSON, plain text, axum's own rejections) pass unchanged.
pub async fn render_layer(State(state): State<AppState>, mut response: Response) -> Response {
    match response.extensions_mut().remove::<Page>() {
        Some(page) => state.pages.render(&page),
        None => response,
    }
}

/// The Content-Security-Policy of every page: no source but the page
/// itself, inline styles, and the one inline script by its hash. `img_src`
/// widens it for "view in browser", whose digest shows the stories' images.
pub(super) fn csp(img_src: bool) -> HeaderValue {
    let images = if img_src {
        "img-src https: http: data:; "
    } else {
        ""
    };
    let policy = format!(
        "default-src 'none'; {images}style-src 'unsafe-inline'; script-src {}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        zones::script_hash()
    );
    HeaderValue::from_str(&policy).expect("a policy of ASCII text")
}

/// Headers for pages reached through secret links: never cached, never
/// sent on as a referrer, never framed, never indexed, and no script but
/// the time-zone one.
pub(super) fn secure(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
    common(h);
    h.insert(header::CONTENT_SECURITY_POLICY, csp(false));
}

/// The headers every page shares, public ones included.
pub(super) fn common(h: &mut HeaderMap) {
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(name: &str) -> SiteView {
        SiteView {
            name: name.into(),
            links: Links::new("https://x.example"),
            archive: false,
        }
    }

    fn pages() -> Pages {
        Pages::new(&TemplateSources::builtin_pages(), site("Daily <News>")).unwrap()
    }

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn every_page_is_escaped_and_carries_the_security_headers() {
        let page = Page::new(StatusCode::GONE, "Link expired", "<script>alert(1)</script>");
        let response = pages().render(&page);
        assert_eq!(response.status(), StatusCode::GONE);
        let h = response.headers();
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        let html = body(response).await;
        assert!(html.contains("&lt;script&gt;alert(1)"), "{html}");
        assert!(html.contains("Daily &lt;News&gt;"), "{html}");
        assert!(!html.contains("<form"), "no form asked for: {html}");
    }

    #[tokio::test]
    async fn a_form_shows_only_its_own_fields() {
        let page = Page::new(StatusCode::OK, "Unsubscribe?", "Stop?").with_form(Form::Unsubscribe {
            action_url: "https://x.example/unsubscribe/t".into(),
            email: "ana@example.com".into(),
            offer_weekly: false,
        });
        let html = body(pages().render(&page)).await;
        assert!(html.contains("Unsubscribe ana@example.com"), "{html}");
        assert!(
            html.contains("action=\"https://x.example/unsubscribe/t\""),
            "{html}"
        );
        assert!(!html.contains("weekly digest"), "a weekly subscriber: {html}");
        assert!(!html.contains("name=\"email\""), "not the signup form: {html}");
    }

    #[test]
    fn a_template_that_does_not_compile_stops_the_start() {
        let sources = TemplateSources {
            origin: "/etc/herald/templates/pages".into(),
            files: vec![("page.html", "{% if title %}".into())],
        };
        let err = Pages::new(&sources, site("News")).err().unwrap().to_string();
        assert!(
            err.contains("page.html") && err.contains("/etc/herald/templates/pages"),
            "{err}"
        );
    }
}
