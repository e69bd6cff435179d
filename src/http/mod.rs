//! The HTTP endpoints served by `herald run`, one file per flow:
//! `unsubscribe` (RFC 8058 one-click POST and its page; a GET never changes
//! anything, as mail scanners prefetch links), `signup` (double opt-in and
//! confirmation), `preferences`, `view` ("view in browser": the digest a
//! subscriber received), `archive` (the public archive and its Atom feed,
//! when `archive.enabled`), `ops` (health and readiness; the metrics
//! router of the separate `metrics.listen`, so `/metrics` is never public),
//! `api` (`POST /api/stories` for the site, behind a bearer token) and
//! `webhooks` (`POST /webhooks/{provider}`: bounces and complaints from
//! SES, SendGrid, Mailgun and Postmark, each verified its own way).
//! `form` reads form bodies, `page` renders every HTML answer (in the
//! language `lang` chooses) and `zones` holds the time-zone picker's list
//! and its inline script. This file
//! holds the shared state, the router (`app(state)`, so tests drive it with
//! `oneshot`) and `Reply`, which lets handlers use `?`: an internal error
//! is logged and answered with a generic page, never its details. No SQL:
//! the store does that.
//!
//! Hardening, here and in three rooms: `serve` is the listener (a
//! connection limit, a header timeout that also ends idle keep-alive
//! connections); the router bounds every request's time (body upload
//! included) and body size, and gives every response, the framework's own
//! 404, 405, 408 and 413 included, the security headers pages carry;
//! `proxy` finds the client behind `http.trusted_proxies`; `limit` holds
//! the signup rate limits with bounded memory.
//!
//! The token in a subscriber's URL is the only credential: an unguessable
//! value (160 random bits after a 32-bit time prefix) that the store finds
//! by index equality (`WHERE token = $1`) and then confirms with a
//! constant-time comparison. A cross-site form cannot know it, which is what
//! makes the one-click POST safe without a CSRF token. The API's bearer
//! token is compared in constant time too (SHA-256 of both sides, then
//! `subtle`; `api`).

mod api;
mod archive;
mod form;
mod lang;
mod limit;
mod ops;
mod page;
mod preferences;
mod proxy;
mod serve;
mod signup;
mod unsubscribe;
mod view;
mod webhooks;
mod zones;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::timeout::TimeoutLayer;

use self::page::{Page, Pages, SiteView};
use crate::config::{ArchiveConfig, Config};
use crate::domain::{Links, SendHour, Subscriber, TimeZone, Token};
use crate::i18n::Catalogs;
use crate::mail::{Composer, Mailer};
use crate::metrics::Metrics;
use crate::render::{Renderer, Site};
use crate::select::Rules;
use crate::store::Store;
use crate::templates::TemplateSources;

pub use ops::metrics_app;
pub use page::SnippetOptions;
pub use serve::{Limits, serve};
pub use webhooks::{Aws, Webhooks};

/// Largest request body the subscriber pages accept.
const MAX_BODY: usize = 16 * 1024;

/// Signups accepted per client IP address per hour.
const SIGNUPS_PER_IP_PER_HOUR: u32 = 20;

/// Signups accepted per email address per hour.
const SIGNUPS_PER_ADDRESS_PER_HOUR: u32 = 3;

/// Keys each signup limiter holds at most (see `limit`): measured, 50,000
/// keys take about 3 MB in either limiter.
const LIMITER_KEYS: usize = 50_000;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    store: Store,
    metrics: Arc<Metrics>,
    pages: Arc<Pages>,
    /// The catalogs the pages and the confirmation mail are written from.
    catalogs: Arc<Catalogs>,
    site_name: String,
    /// Links under `site.public_url`.
    links: Links,
    mail: Option<(Mailer, Arc<Composer>)>,
    default_timezone: TimeZone,
    default_send_hour: SendHour,
    per_ip: Arc<limit::Limiter<IpAddr>>,
    per_address: Arc<limit::Limiter<u64>>,
    /// Hashes addresses into `per_address` keys.
    address_hasher: std::hash::RandomState,
    /// Who the client is behind a trusted proxy.
    proxies: proxy::Proxies,
    /// The most a request may take, body upload included.
    request_timeout: Duration,
    /// The bearer token of `POST /api/stories`, if the API is enabled.
    api_token: Option<Arc<str>>,
    /// The provider webhooks and the intake they feed, if set up.
    webhooks: Option<Arc<Webhooks>>,
    /// The digest templates, for "view in browser".
    renderer: Arc<Renderer>,
    /// The ranking rules, for the archive's generic digest.
    rules: Rules,
    archive: ArchiveConfig,
    /// The archive's generic digests, selected lately.
    archive_memo: Arc<archive::Memo>,
    /// `delivery.retention`, which the view's "no longer kept" page names.
    retention_days: i64,
}

impl AppState {
    /// Compiles the page templates (from `digest.templates_dir/pages/` when
    /// that folder exists) and sets up the rate limits (swept of old keys
    /// every minute, when called on a Tokio runtime).
    pub fn new(store: Store, metrics: Arc<Metrics>, config: &Config) -> anyhow::Result<AppState> {
        let sources = TemplateSources::load_pages(config.digest.templates_dir.as_deref())?;
        let site_name = config.site.name.to_string();
        let per_ip = Arc::new(limit::Limiter::per_hour(SIGNUPS_PER_IP_PER_HOUR, LIMITER_KEYS));
        let per_address = Arc::new(limit::Limiter::per_hour(
            SIGNUPS_PER_ADDRESS_PER_HOUR,
            LIMITER_KEYS,
        ));
        limit::sweep_on_schedule(&[&per_ip]);
        limit::sweep_on_schedule(&[&per_address]);
        let links = Links::new(config.site.public_url.as_str());
        let site = SiteView {
            name: site_name.clone(),
            links: links.clone(),
            archive: config.archive.enabled,
        };
        let catalogs = Arc::new(Catalogs::builtin(&config.site.locale)?);
        let digest_sources = TemplateSources::load(config.digest.templates_dir.as_deref())?;
        let renderer = Renderer::new(
            &digest_sources,
            Site::from_config(&config.site),
            crate::render::Limits::from_config(&config.digest),
        )?;
        Ok(AppState {
            store,
            metrics,
            pages: Arc::new(Pages::new(&sources, site, catalogs.clone())?),
            catalogs,
            site_name,
            links,
            mail: None,
            default_timezone: config.subscribers.default_timezone,
            default_send_hour: config.subscribers.default_send_hour,
            per_ip,
            per_address,
            address_hasher: std::hash::RandomState::new(),
            proxies: proxy::Proxies::new(config.http.trusted_proxies.clone(), config.http.forwarded_header),
            request_timeout: config.http.request_timeout,
            api_token: config.http.api_token().map(Arc::from),
            webhooks: None,
            renderer: Arc::new(renderer),
            rules: config.digest.rules(),
            archive: config.archive,
            archive_memo: Arc::default(),
            retention_days: config.delivery.retention.num_days(),
        })
    }

    /// Lets signups send their confirmation mail.
    pub fn with_mail(mut self, mailer: Mailer, composer: Arc<Composer>) -> AppState {
        self.mail = Some((mailer, composer));
        self
    }

    /// Turns on `POST /webhooks/{provider}` for the providers `webhooks`
    /// has configured; without this every provider answers 404.
    pub fn with_webhooks(mut self, webhooks: Webhooks) -> AppState {
        self.webhooks = Some(Arc::new(webhooks));
        self
    }
}

/// The signup box `herald form` prints: a form posting to
/// `site.public_url`/subscribe, its time zone preset to
/// `subscribers.default_timezone`.
pub fn signup_snippet(config: &Config, options: &SnippetOptions) -> anyhow::Result<String> {
    let sources = TemplateSources::load_pages(config.digest.templates_dir.as_deref())?;
    let links = Links::new(config.site.public_url.as_str());
    let site = SiteView {
        name: config.site.name.to_string(),
        links: links.clone(),
        archive: config.archive.enabled,
    };
    let catalogs = Arc::new(Catalogs::builtin(&config.site.locale)?);
    Pages::new(&sources, site, catalogs)?.snippet(
        &links.subscribe(),
        config.subscribers.default_timezone.name(),
        options,
    )
}

/// The router. Its outermost layers bound each request's time and give
/// every response the security headers, whoever made it.
pub fn app(state: AppState) -> Router {
    let webhook_limit = state
        .webhooks
        .as_ref()
        .map_or(webhooks::DEFAULT_MAX_BODY, |w| w.max_body());
    Router::new()
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe::page).post(unsubscribe::submit),
        )
        .route("/subscribe", get(signup::page).post(signup::submit))
        .route(
            "/confirm/{token}",
            get(signup::confirm_page).post(signup::confirm),
        )
        .route(
            "/preferences/{token}",
            get(preferences::page).post(preferences::submit),
        )
        .route("/view/{token}/{edition}", get(view::page))
        .route("/archive", get(archive::index))
        .route("/archive/feed.xml", get(archive::feed))
        .route("/archive/{edition}", get(archive::edition))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            page::render_layer,
        ))
        // After the layers above, so that this route's own body limit
        // applies and its JSON answers are not pages.
        .route(
            "/api/stories",
            post(api::stories).layer(DefaultBodyLimit::max(api::MAX_BODY)),
        )
        .route(
            "/webhooks/{provider}",
            post(webhooks::receive).layer(DefaultBodyLimit::max(webhook_limit)),
        )
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.request_timeout,
        ))
        .layer(axum::middleware::map_response(secure_headers))
        .with_state(state)
}

/// The headers every page carries (`page` sets them on pages), added to
/// any response that lacks them: JSON answers, and the framework's 404,
/// 405, 408 and 413. A header a handler set is kept.
async fn secure_headers(mut response: Response) -> Response {
    const HEADERS: [(header::HeaderName, &str); 5] = [
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        ),
    ];
    let h = response.headers_mut();
    for (name, value) in HEADERS {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// An answer that ends a flow early: a page (a bad link, a bad form), or an
/// internal error, which is logged and answered with the generic page.
#[derive(Debug)]
enum Reply {
    Page(Page),
    Internal(anyhow::Error),
}

impl From<Page> for Reply {
    fn from(page: Page) -> Self {
        Reply::Page(page)
    }
}

impl From<anyhow::Error> for Reply {
    fn from(e: anyhow::Error) -> Self {
        Reply::Internal(e)
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        match self {
            Reply::Page(page) => page.into_response(),
            Reply::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "request failed");
                Page::internal().into_response()
            }
        }
    }
}

/// The subscriber a link's token names; a malformed or unknown token is the
/// "link not valid" page.
async fn subscriber(state: &AppState, token: &str) -> Result<Subscriber, Reply> {
    let token = Token::parse(token).map_err(|_| Page::not_found())?;
    state
        .store
        .find_by_token(&token)
        .await?
        .ok_or_else(|| Page::not_found().into())
}

/// A JSON answer that no cache keeps (the story API and the webhooks).
fn json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(body).unwrap_or_default(),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
