//! The one page renderer. A handler answers with a [`Page`] (a status, a
//! title, a message and at most one form, the texts as catalog keys with
//! their arguments, and the page's locale when the handler knows it);
//! `Page` becomes a response that carries the page unrendered, and the
//! router's last layer renders it with [`Pages::render`]: the texts
//! formatted from the catalogs in the page's locale (else the visitor's,
//! which the layer reads from the request: `lang`, then Accept-Language;
//! else the site's), then `page.html` (from `templates`, compiled once,
//! HTML autoescaped, with the language functions of `templates`) with the
//! headers every page reached through a secret link needs. The archive's
//! pages and feed ([`Pages::public`]) and the signup box
//! ([`Pages::snippet`]) come from the same templates, all sharing
//! `layout.html`. Handlers never build HTML or set these headers themselves.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tera::{Context, Tera};

use super::AppState;
use super::zones;
use crate::domain::{Links, Locale};
use crate::i18n::{Arg, Catalogs, MessageError, Resolved};
use crate::templates::{LOCALE_VARIABLE, TemplateSources};

/// The template every page is rendered from. Its `.html` suffix turns on
/// Tera's autoescaping.
const TEMPLATE: &str = "page.html";

/// The catalog key that names a catalog's language in that language
/// ("English", "العربية", "Français"): what the language picker shows.
pub const LANGUAGE_NAME: &str = "language-name";

/// A text of a page: a catalog key and its arguments, formatted when the
/// page is rendered, in the page's language.
#[derive(Debug, Clone)]
pub struct Text {
    pub key: &'static str,
    args: Vec<(&'static str, Value)>,
}

/// One argument of a [`Text`].
#[derive(Debug, Clone)]
pub enum Value {
    Str(String),
    Int(i64),
    /// Another text, formatted in the same language first (a field's
    /// label, a reason).
    Text(Text),
}

impl Text {
    pub fn new(key: &'static str) -> Text {
        Text {
            key,
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, name: &'static str, value: impl Into<Value>) -> Text {
        self.args.push((name, value.into()));
        self
    }

    /// The text in `resolved`'s language.
    pub fn format(&self, catalogs: &Catalogs, resolved: &Resolved<'_>) -> Result<String, MessageError> {
        let mut nested: Vec<(&str, String)> = Vec::new();
        for (name, value) in &self.args {
            if let Value::Text(t) = value {
                nested.push((name, t.format(catalogs, resolved)?));
            }
        }
        let args: Vec<(&str, Arg<'_>)> = self
            .args
            .iter()
            .map(|(name, value)| {
                let arg = match value {
                    Value::Str(s) => Arg::Text(s),
                    Value::Int(n) => Arg::Int(*n),
                    Value::Text(_) => Arg::Text(
                        nested
                            .iter()
                            .find(|(n, _)| n == name)
                            .map_or("", |(_, s)| s.as_str()),
                    ),
                };
                (*name, arg)
            })
            .collect();
        catalogs.message(resolved, self.key, &args)
    }
}

impl From<&'static str> for Text {
    fn from(key: &'static str) -> Text {
        Text::new(key)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(s)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(s.to_owned())
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Int(n)
    }
}

impl From<Text> for Value {
    fn from(t: Text) -> Value {
        Value::Text(t)
    }
}

/// One HTML answer, before rendering.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: StatusCode,
    pub title: Text,
    pub message: Text,
    pub form: Form,
    /// The page's language; `None`: the visitor's, else the site's.
    pub locale: Option<Locale>,
}

/// The form a page shows under its message, with what it needs. Each
/// `action_url` carries the subscriber's token where the flow has one.
#[derive(Debug, Clone, Default)]
pub enum Form {
    #[default]
    None,
    /// The signup form: the zone picker preset to `timezone`, and the
    /// sections to tick (none: no choice shown); `lang`, when the page's
    /// language was asked for (`?lang=`), goes on with the form.
    Subscribe {
        action_url: String,
        timezone: String,
        sections: Vec<String>,
        lang: Option<String>,
    },
    /// The time zone and hour to check, and the button that confirms.
    Confirm {
        action_url: String,
        timezone: String,
        send_hour: u8,
    },
    /// Frequency, hour, time zone, sections and language, filled in
    /// (`locale`: the subscriber's; `None`, the site's).
    Preferences {
        action_url: String,
        frequency: String,
        send_hour: u8,
        timezone: String,
        topics: String,
        locale: Option<Locale>,
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
    /// The box's language (`None`: the site's); when given, the box sends
    /// it as the reader's language.
    pub locale: Option<Locale>,
}

/// One `<option>` of the hour picker.
#[derive(Serialize)]
struct Hour {
    value: u8,
    label: String,
}

/// One `<optgroup>` of the zone picker, named in the page's language.
#[derive(Serialize)]
struct Region {
    name: String,
    zones: &'static [zones::Zone],
}

/// One `<option>` of the language picker: a catalog, named in its own
/// language (with its `lang` and `dir`, so it is read and shaped right in a
/// page of another language).
#[derive(Serialize)]
struct LanguageChoice {
    value: String,
    label: String,
    lang: String,
    dir: &'static str,
    selected: bool,
}

impl Page {
    /// A page with a message and no form.
    pub fn new(status: StatusCode, title: &'static str, message: impl Into<Text>) -> Page {
        Page {
            status,
            title: Text::new(title),
            message: message.into(),
            form: Form::None,
            locale: None,
        }
    }

    pub fn with_form(self, form: Form) -> Page {
        Page { form, ..self }
    }

    /// The page in `locale` (`None`: the visitor's, else the site's).
    pub fn in_locale(self, locale: Option<&Locale>) -> Page {
        Page {
            locale: locale.cloned(),
            ..self
        }
    }

    /// A link whose token is malformed or unknown.
    pub fn not_found() -> Page {
        Page::new(
            StatusCode::NOT_FOUND,
            "page-not-found-title",
            "page-not-found-message",
        )
    }

    /// A body that could not be used; `message` says why.
    pub fn bad_request(message: impl Into<Text>) -> Page {
        Page::new(StatusCode::BAD_REQUEST, "page-bad-request-title", message)
    }

    /// A field of a form that is wrong: its label and what is wrong.
    pub fn invalid_field(field: &'static str, reason: &'static str) -> Page {
        Page::new(
            StatusCode::BAD_REQUEST,
            "page-preferences-invalid-title",
            Text::new("page-preferences-invalid-field")
                .arg("field", Text::new(field))
                .arg("reason", Text::new(reason)),
        )
    }

    /// What every internal error answers: no detail of the cause.
    pub fn internal() -> Page {
        Page::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "page-internal-title",
            "page-internal-message",
        )
    }

    /// The template's variables. Only the chosen form's variables are set;
    /// the template reads them only inside that form.
    fn context(&self, pages: &Pages, resolved: &Resolved<'_>) -> Result<Context, MessageError> {
        let catalogs = &pages.catalogs;
        let mut ctx = pages.site.context(resolved);
        ctx.insert("title", &self.title.format(catalogs, resolved)?);
        ctx.insert("message", &self.message.format(catalogs, resolved)?);
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
                lang,
            } => {
                ctx.insert("action_url", action_url);
                ctx.insert("show_name", &true);
                ctx.insert("show_frequency", &true);
                ctx.insert("sections", sections);
                ctx.insert("lang_field", lang);
                pickers(&mut ctx, catalogs, resolved, timezone, None)?;
            }
            Form::Confirm {
                action_url,
                timezone,
                send_hour,
            } => {
                ctx.insert("action_url", action_url);
                pickers(&mut ctx, catalogs, resolved, timezone, Some(*send_hour))?;
            }
            Form::Preferences {
                action_url,
                frequency,
                send_hour,
                timezone,
                topics,
                locale,
            } => {
                ctx.insert("action_url", action_url);
                ctx.insert("frequency", frequency);
                ctx.insert("topics", topics);
                ctx.insert("languages", &languages(catalogs, locale.as_ref())?);
                let site = catalogs.resolve(None);
                let site_name = Text::new(LANGUAGE_NAME).format(catalogs, &site)?;
                ctx.insert("site_language", &site_name);
                ctx.insert("site_language_selected", &locale.is_none());
                pickers(&mut ctx, catalogs, resolved, timezone, Some(*send_hour))?;
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
        Ok(ctx)
    }
}

/// The catalogs as choices, each named in its own language; the one that
/// serves `current` is selected, and its value is `current` itself, so a
/// reader of `ar-JO` who saves keeps `ar-JO`.
fn languages(catalogs: &Catalogs, current: Option<&Locale>) -> Result<Vec<LanguageChoice>, MessageError> {
    let mut out = Vec::new();
    for locale in catalogs.available() {
        let own = catalogs.resolve(Some(locale));
        let selected = current.is_some_and(|c| c.language() == locale.language());
        let value = match current {
            Some(c) if selected => c.tag(),
            _ => locale.tag(),
        };
        out.push(LanguageChoice {
            value,
            label: Text::new(LANGUAGE_NAME).format(catalogs, &own)?,
            lang: locale.tag(),
            dir: own.dir.as_str(),
            selected,
        });
    }
    Ok(out)
}

/// The zone picker (preset to `timezone`, its regions named in the page's
/// language), the inline script, and the hour picker when there is an hour
/// to show.
fn pickers(
    ctx: &mut Context,
    catalogs: &Catalogs,
    resolved: &Resolved<'_>,
    timezone: &str,
    send_hour: Option<u8>,
) -> Result<(), MessageError> {
    let mut regions = Vec::new();
    for r in zones::regions() {
        regions.push(Region {
            name: Text::new(r.key).format(catalogs, resolved)?,
            zones: &r.zones,
        });
    }
    ctx.insert("regions", &regions);
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
    Ok(())
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
    fn context(&self, resolved: &Resolved<'_>) -> Context {
        let mut ctx = Context::new();
        ctx.insert(LOCALE_VARIABLE, &resolved.tag());
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

/// The compiled page templates, the catalogs and the site every page shows.
pub struct Pages {
    tera: Tera,
    site: SiteView,
    catalogs: Arc<Catalogs>,
}

/// A public page (the archive), rendered: what the handler needs to answer
/// it, conditional requests included.
pub struct Public {
    pub content_type: &'static str,
    pub body: String,
}

impl Pages {
    /// Compiles the page templates and renders each kind of page once in
    /// every catalog's language, so that a broken template or a missing
    /// message stops the start with its file rather than failing a
    /// subscriber's request.
    pub fn new(sources: &TemplateSources, site: SiteView, catalogs: Arc<Catalogs>) -> anyhow::Result<Pages> {
        let mut tera = Tera::new();
        crate::templates::register_i18n(&mut tera, catalogs.clone());
        tera.add_raw_templates(sources.files.iter().map(|(name, text)| (*name, text.as_str())))
            .map_err(|e| anyhow::anyhow!("page templates ({}): {e}", sources.origin))?;
        let pages = Pages { tera, site, catalogs };
        let locales: Vec<Locale> = pages.catalogs.available().cloned().collect();
        for locale in &locales {
            let resolved = pages.catalogs.resolve(Some(locale));
            for page in samples() {
                let ctx = page
                    .context(&pages, &resolved)
                    .map_err(|e| anyhow::anyhow!("checking {TEMPLATE} ({locale}): {e}"))?;
                pages.tera.render(TEMPLATE, &ctx).map_err(|e| {
                    anyhow::anyhow!("checking {TEMPLATE} ({}, {locale}): {e}", sources.origin)
                })?;
            }
            pages
                .snippet(
                    "https://news.example.com/subscribe",
                    "UTC",
                    &SnippetOptions {
                        sections: vec!["world".into()],
                        frequency: true,
                        locale: Some(locale.clone()),
                    },
                )
                .map_err(|e| {
                    anyhow::anyhow!("checking snippet.html ({}, {locale}): {e:#}", sources.origin)
                })?;
        }
        Ok(pages)
    }

    /// Renders `page` with the security headers, in its locale, else
    /// `visitor`, else the site's. A page that fails to render is an
    /// internal error: logged, and answered with the generic page (or,
    /// should that fail too, a line of text).
    pub fn render(&self, page: &Page, visitor: Option<&Locale>) -> Response {
        let resolved = self.catalogs.resolve(page.locale.as_ref().or(visitor));
        let rendered = page
            .context(self, &resolved)
            .map_err(|e| e.to_string())
            .and_then(|ctx| self.tera.render(TEMPLATE, &ctx).map_err(|e| e.to_string()));
        let (status, body) = match rendered {
            Ok(body) => (page.status, body),
            Err(e) => {
                tracing::error!(error = %e, title = page.title.key, "rendering a page failed");
                let body = Page::internal()
                    .context(self, &resolved)
                    .ok()
                    .and_then(|ctx| self.tera.render(TEMPLATE, &ctx).ok())
                    .unwrap_or_else(|| "Something went wrong.".to_owned());
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
        let resolved = self.catalogs.resolve(options.locale.as_ref());
        let mut ctx = self.site.context(&resolved);
        ctx.insert("action_url", action_url);
        ctx.insert("sections", &options.sections);
        ctx.insert("show_frequency", &options.frequency);
        ctx.insert("show_name", &false);
        ctx.insert("lang_field", &options.locale.as_ref().map(Locale::tag));
        pickers(&mut ctx, &self.catalogs, &resolved, timezone, None)?;
        self.tera
            .render("snippet.html", &ctx)
            .map_err(|e| anyhow::anyhow!("rendering snippet.html: {e}"))
    }

    /// Renders one of the public templates (`archive.html`,
    /// `archive_edition.html`, `feed.xml`) over the site's variables and
    /// `vars`, in `resolved`'s language.
    pub fn public(
        &self,
        template: &'static str,
        resolved: &Resolved<'_>,
        vars: Context,
    ) -> anyhow::Result<Public> {
        let mut ctx = self.site.context(resolved);
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
fn samples() -> [Page; 6] {
    let action_url = || "https://news.example.com/x".to_owned();
    let page = |form| {
        Page::new(
            StatusCode::OK,
            "page-signup-title",
            Text::new("page-confirm-message")
                .arg("email", "ana@example.com")
                .arg("site", "News"),
        )
        .with_form(form)
    };
    [
        Page::internal(),
        Page::invalid_field("page-preferences-timezone", "page-reason-timezone"),
        page(Form::Subscribe {
            action_url: action_url(),
            timezone: "UTC".into(),
            sections: vec!["world".into()],
            lang: Some("ar".into()),
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
            locale: None,
        }),
        page(Form::Unsubscribe {
            action_url: action_url(),
            email: "ana@example.com".into(),
            offer_weekly: true,
        }),
    ]
}

/// The router's layer that renders the page a handler answered with, in
/// the visitor's language when the handler did not set one; other
/// responses (JSON, plain text, axum's own rejections) pass unchanged.
pub async fn render_layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let visitor = super::lang::Visitor::from_parts(&state.catalogs, request.uri(), request.headers());
    let mut response = next.run(request).await;
    match response.extensions_mut().remove::<Page>() {
        Some(page) => {
            let mut response = state.pages.render(&page, visitor.locale.as_ref());
            response
                .headers_mut()
                .insert(header::VARY, HeaderValue::from_static("Accept-Language"));
            response
        }
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

    fn catalogs() -> Arc<Catalogs> {
        Arc::new(Catalogs::builtin(&Locale::parse("en").unwrap()).unwrap())
    }

    fn pages() -> Pages {
        Pages::new(
            &TemplateSources::builtin_pages(),
            site("Daily <News>"),
            catalogs(),
        )
        .unwrap()
    }

    async fn body(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn every_page_is_escaped_and_carries_the_security_headers() {
        let page = Page::new(
            StatusCode::GONE,
            "page-confirm-expired-title",
            Text::new("page-paused-message")
                .arg("email", "<script>alert(1)</script>")
                .arg("date", "1 May"),
        );
        let response = pages().render(&page, None);
        assert_eq!(response.status(), StatusCode::GONE);
        let h = response.headers();
        assert_eq!(h[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        let html = body(response).await;
        assert!(html.contains("&lt;script&gt;alert(1)"), "{html}");
        assert!(html.contains("Daily &lt;News&gt;"), "{html}");
        assert!(html.contains("Link expired"), "{html}");
        assert!(!html.contains("<form"), "no form asked for: {html}");
    }

    #[tokio::test]
    async fn a_form_shows_only_its_own_fields() {
        let page = Page::new(StatusCode::OK, "page-unsubscribe-title", "page-too-many-message").with_form(
            Form::Unsubscribe {
                action_url: "https://x.example/unsubscribe/t".into(),
                email: "ana@example.com".into(),
                offer_weekly: false,
            },
        );
        let html = body(pages().render(&page, None)).await;
        assert!(
            html.contains("Unsubscribe \u{2068}ana@example.com\u{2069}"),
            "{html}"
        );
        assert!(
            html.contains("action=\"https://x.example/unsubscribe/t\""),
            "{html}"
        );
        assert!(!html.contains("weekly digest"), "a weekly subscriber: {html}");
        assert!(!html.contains("name=\"email\""), "not the signup form: {html}");
    }

    #[tokio::test]
    async fn the_page_is_in_its_locale_else_the_visitors() {
        let ar = Locale::parse("ar").unwrap();
        let fr = Locale::parse("fr").unwrap();
        let p = pages();
        let html = body(p.render(&Page::not_found(), Some(&fr))).await;
        assert!(html.contains(r#"<html lang="fr" dir="ltr">"#), "{html}");
        assert!(html.contains("Lien non valide"), "{html}");
        let html = body(p.render(&Page::not_found().in_locale(Some(&ar)), Some(&fr))).await;
        assert!(html.contains(r#"<html lang="ar" dir="rtl">"#), "{html}");
        assert!(html.contains("رابط غير صالح"), "{html}");
    }

    #[test]
    fn a_template_that_does_not_compile_stops_the_start() {
        let sources = TemplateSources {
            origin: "/etc/herald/templates/pages".into(),
            files: vec![("page.html", "{% if title %}".into())],
        };
        let err = Pages::new(&sources, site("News"), catalogs())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("page.html") && err.contains("/etc/herald/templates/pages"),
            "{err}"
        );
    }
}
