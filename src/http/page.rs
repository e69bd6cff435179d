//! The one page renderer. A handler answers with a [`Page`] (a status, a
//! title, a message and at most one form); `Page` becomes a response that
//! carries the page unrendered, and the router's last layer renders it with
//! [`Pages::render`]: `page.html` (from `templates`, compiled once, HTML
//! autoescaped) with the headers every page reached through a secret link
//! needs. Handlers never build HTML or set these headers themselves.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tera::{Context, Tera};

use super::AppState;
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
    /// The signup form.
    Subscribe { action_url: String },
    /// The button that confirms a signup.
    Confirm { action_url: String },
    /// Frequency, hour, time zone and sections, filled in.
    Preferences {
        action_url: String,
        frequency: String,
        send_hour: String,
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
    fn context(&self, site_name: &str) -> Context {
        let mut ctx = Context::new();
        ctx.insert("site_name", site_name);
        ctx.insert("title", self.title);
        ctx.insert("message", &self.message);
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
            Form::Subscribe { action_url } | Form::Confirm { action_url } => {
                ctx.insert("action_url", action_url);
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
                ctx.insert("send_hour", send_hour);
                ctx.insert("timezone", timezone);
                ctx.insert("topics", topics);
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

/// The response carries the page in its extensions, for [`render_layer`]:
/// rendering needs the templates and the site name, which live in the state.
impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// The compiled page templates and the site name every page shows.
pub struct Pages {
    tera: Tera,
    site_name: String,
}

impl Pages {
    /// Compiles the page templates and renders each kind of page once, so
    /// that a broken template stops the start with its file rather than
    /// failing a subscriber's request.
    pub fn new(sources: &TemplateSources, site_name: String) -> anyhow::Result<Pages> {
        let mut tera = Tera::new();
        for (name, text) in &sources.files {
            tera.add_raw_template(name, text)
                .map_err(|e| anyhow::anyhow!("template {name} ({}): {e}", sources.origin))?;
        }
        let pages = Pages { tera, site_name };
        for page in samples() {
            pages
                .tera
                .render(TEMPLATE, &page.context(&pages.site_name))
                .map_err(|e| anyhow::anyhow!("checking {TEMPLATE} ({}): {e}", sources.origin))?;
        }
        Ok(pages)
    }

    /// Renders `page` with the security headers. A page that fails to
    /// render is an internal error: logged, and answered with the generic
    /// page (or, should that fail too, a line of text).
    pub fn render(&self, page: &Page) -> Response {
        let (status, body) = match self.tera.render(TEMPLATE, &page.context(&self.site_name)) {
            Ok(body) => (page.status, body),
            Err(e) => {
                tracing::error!(error = %e, title = page.title, "rendering a page failed");
                let body = self
                    .tera
                    .render(TEMPLATE, &Page::internal().context(&self.site_name))
                    .unwrap_or_else(|_| "Something went wrong.".to_owned());
                (StatusCode::INTERNAL_SERVER_ERROR, body)
            }
        };
        let mut response =
            (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
        secure(response.headers_mut());
        response
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
        }),
        page(Form::Confirm {
            action_url: action_url(),
        }),
        page(Form::Preferences {
            action_url: action_url(),
            frequency: "daily".into(),
            send_hour: "7".into(),
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

/// Headers for pages reached through secret links: never cached, never
/// sent on as a referrer, never framed, and no scripts.
fn secure(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages() -> Pages {
        Pages::new(&TemplateSources::builtin_pages(), "Daily <News>".into()).unwrap()
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
        let err = Pages::new(&sources, "News".into()).err().unwrap().to_string();
        assert!(
            err.contains("page.html") && err.contains("/etc/herald/templates/pages"),
            "{err}"
        );
    }
}
