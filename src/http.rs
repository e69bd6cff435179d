//! The subscriber-facing HTTP endpoints served by `herald run`:
//! RFC 8058 one-click unsubscribe (POST) and its confirmation page (GET,
//! which never changes anything: mail scanners prefetch links), a health
//! check, Prometheus metrics, and `POST /api/stories` for the site (in
//! `api`, behind a bearer token). `app(state)` builds the router so tests can
//! drive it with `oneshot`. Internal errors are logged and answered with a
//! generic page; request bodies are size-limited; tokens are checked by the
//! store in constant time. The URL's token is the only credential: it is
//! unguessable (160 random bits), so a cross-site form cannot forge it, which
//! is what makes the one-click POST safe without a CSRF token.

mod api;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tera::{Context, Tera};

use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Config;
use crate::domain::{
    Frequency, HeaderSafe, NewSubscriber, SendHour, Subscriber, SubscriberEmail, SubscriberStatus, TimeZone,
    Token, Topics,
};
use crate::mail::{Composer, Mailer};
use crate::metrics::Metrics;
use crate::store::Store;

/// How long a confirmation link stays valid.
const CONFIRM_VALID_HOURS: i64 = 48;

/// Largest request body accepted.
const MAX_BODY: usize = 16 * 1024;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    store: Store,
    metrics: Arc<Metrics>,
    pages: Arc<Tera>,
    site_name: String,
    public_url: String,
    mail: Option<(Mailer, Arc<Composer>)>,
    default_timezone: TimeZone,
    default_send_hour: SendHour,
    per_ip: Arc<DefaultKeyedRateLimiter<String>>,
    per_address: Arc<DefaultKeyedRateLimiter<String>>,
    /// The bearer token of `POST /api/stories`, if the API is enabled.
    api_token: Option<Arc<str>>,
}

impl AppState {
    pub fn new(store: Store, metrics: Arc<Metrics>, config: &Config) -> anyhow::Result<AppState> {
        let mut tera = Tera::new();
        tera.add_raw_template("page.html", include_str!("../templates/pages/page.html"))
            .map_err(|e| anyhow::anyhow!("templates/pages/page.html: {e}"))?;
        Ok(AppState {
            store,
            metrics,
            pages: Arc::new(tera),
            site_name: config.site.name.to_string(),
            public_url: config.site.public_url.as_str().trim_end_matches('/').to_owned(),
            mail: None,
            default_timezone: config.subscribers.default_timezone,
            default_send_hour: config.subscribers.default_send_hour,
            per_ip: Arc::new(RateLimiter::keyed(Quota::per_hour(
                NonZeroU32::new(20).expect("non-zero"),
            ))),
            per_address: Arc::new(RateLimiter::keyed(Quota::per_hour(
                NonZeroU32::new(3).expect("non-zero"),
            ))),
            api_token: config.http.api_token().map(Arc::from),
        })
    }

    /// Lets signups send their confirmation mail.
    pub fn with_mail(mut self, mailer: Mailer, composer: Arc<Composer>) -> AppState {
        self.mail = Some((mailer, composer));
        self
    }
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/unsubscribe/{token}", get(unsubscribe_page).post(unsubscribe))
        .route("/subscribe", get(subscribe_page).post(subscribe))
        .route("/confirm/{token}", get(confirm_page).post(confirm))
        .route("/preferences/{token}", get(preferences_page).post(preferences))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        // After the layer above, so that this route's own limit applies.
        .route(
            "/api/stories",
            axum::routing::post(api::stories).layer(DefaultBodyLimit::max(api::MAX_BODY)),
        )
        .with_state(state)
}

/// A page, or a failure that must not leak details.
enum Reply {
    Page {
        status: StatusCode,
        title: &'static str,
        message: String,
        form: Option<Box<Subscriber>>,
    },
    Internal(anyhow::Error),
}

impl AppState {
    fn render(&self, reply: Reply, token: Option<&str>) -> Response {
        let (status, title, message, form) = match reply {
            Reply::Page {
                status,
                title,
                message,
                form,
            } => (status, title, message, form),
            Reply::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Please try again in a few minutes.".to_owned(),
                    None,
                )
            }
        };
        let mut ctx = Context::new();
        ctx.insert("site_name", &self.site_name);
        ctx.insert("title", title);
        ctx.insert("message", &message);
        ctx.insert("show_unsubscribe", &form.is_some());
        ctx.insert("kind", "");
        if let (Some(s), Some(token)) = (&form, token) {
            ctx.insert("email", s.email.as_str());
            ctx.insert("offer_weekly", &(s.frequency == Frequency::Daily));
            ctx.insert("action_url", &format!("{}/unsubscribe/{token}", self.public_url));
        }
        let body = self.pages.render("page.html", &ctx).unwrap_or_else(|e| {
            tracing::error!(error = %e, "rendering a page failed");
            "Something went wrong.".to_owned()
        });
        let mut response =
            (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
        secure(response.headers_mut());
        response
    }
}

/// Headers for pages reached through secret links.
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

fn not_found() -> Reply {
    Reply::Page {
        status: StatusCode::NOT_FOUND,
        title: "Link not valid",
        message: "This link is not valid. It may be incomplete: try copying the whole link from the email."
            .into(),
        form: None,
    }
}

async fn find(state: &AppState, token: &str) -> Result<Subscriber, Reply> {
    let token = Token::parse(token).map_err(|_| not_found())?;
    match state.store.find_by_token(&token).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(not_found()),
        Err(e) => Err(Reply::Internal(e)),
    }
}

/// GET: shows the choices; changes nothing.
async fn unsubscribe_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let reply = match find(&state, &token).await {
        Err(r) => r,
        Ok(s) if s.status == SubscriberStatus::Unsubscribed => Reply::Page {
            status: StatusCode::OK,
            title: "You are unsubscribed",
            message: format!("{} no longer receives our digest.", s.email),
            form: None,
        },
        Ok(s) => Reply::Page {
            status: StatusCode::OK,
            title: "Unsubscribe?",
            message: format!("Stop sending the {} digest to {}?", s.frequency, s.email),
            form: Some(Box::new(s)),
        },
    };
    state.render(reply, Some(&token))
}

/// POST: RFC 8058 one-click (`List-Unsubscribe=One-Click`, form-urlencoded
/// or multipart) or the page's buttons (`action=unsubscribe|weekly`).
/// Answers 200 with a short page, never a redirect.
async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = match form_fields(&headers, body).await {
        Ok(f) => f,
        Err(message) => {
            let reply = Reply::Page {
                status: StatusCode::BAD_REQUEST,
                title: "Bad request",
                message,
                form: None,
            };
            return state.render(reply, None);
        }
    };
    let one_click = fields
        .iter()
        .any(|(k, v)| k == "List-Unsubscribe" && v == "One-Click");
    let action = fields
        .iter()
        .find(|(k, _)| k == "action")
        .map(|(_, v)| v.as_str());
    let s = match find(&state, &token).await {
        Ok(s) => s,
        Err(r) => return state.render(r, None),
    };
    let reply = if one_click || action == Some("unsubscribe") {
        match state.store.set_status(s.id, SubscriberStatus::Unsubscribed).await {
            Ok(()) => {
                tracing::info!(subscriber_id = s.id, one_click, "unsubscribed");
                Reply::Page {
                    status: StatusCode::OK,
                    title: "You are unsubscribed",
                    message: format!(
                        "{} will not receive our digest any more. Sorry to see you go.",
                        s.email
                    ),
                    form: None,
                }
            }
            Err(e) => Reply::Internal(e),
        }
    } else if action == Some("pause") {
        let until = crate::store::now() + chrono::Duration::days(14);
        match state.store.pause_until(s.id, until).await {
            Ok(()) => simple(
                StatusCode::OK,
                "Paused for two weeks",
                format!(
                    "{} will get no digest until {}.",
                    s.email,
                    until.format("%-d %B %Y")
                ),
            ),
            Err(e) => Reply::Internal(e),
        }
    } else if action == Some("weekly") {
        match state.store.set_frequency(s.id, Frequency::Weekly).await {
            Ok(()) => Reply::Page {
                status: StatusCode::OK,
                title: "Weekly it is",
                message: format!("{} will get one digest a week from now on.", s.email),
                form: None,
            },
            Err(e) => Reply::Internal(e),
        }
    } else {
        Reply::Page {
            status: StatusCode::BAD_REQUEST,
            title: "Bad request",
            message: "Expected List-Unsubscribe=One-Click or a choice from the unsubscribe page.".into(),
            form: None,
        }
    };
    state.render(reply, None)
}

/// The fields of a form-urlencoded or multipart/form-data body.
/// A form field's value, empty when absent.
fn field_of<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

async fn form_fields(headers: &HeaderMap, body: Bytes) -> Result<Vec<(String, String)>, String> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/x-www-form-urlencoded" => Ok(url::form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()),
        "multipart/form-data" => {
            let boundary = multer::parse_boundary(content_type)
                .map_err(|_| "multipart body without a boundary".to_owned())?;
            let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
            let mut multipart = multer::Multipart::new(stream, boundary);
            let mut fields = Vec::new();
            while let Some(field) = multipart
                .next_field()
                .await
                .map_err(|_| "malformed multipart body".to_owned())?
            {
                let name = field.name().unwrap_or("").to_owned();
                let value = field
                    .text()
                    .await
                    .map_err(|_| "malformed multipart body".to_owned())?;
                fields.push((name, value));
            }
            Ok(fields)
        }
        _ => Err("Expected a form (application/x-www-form-urlencoded or multipart/form-data).".into()),
    }
}

async fn healthz(State(state): State<AppState>) -> Response {
    if state.store.ping().await {
        (StatusCode::OK, "ok\n").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "store unreachable\n").into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

fn simple(status: StatusCode, title: &'static str, message: impl Into<String>) -> Reply {
    Reply::Page {
        status,
        title,
        message: message.into(),
        form: None,
    }
}

impl AppState {
    /// A page with one of the forms of `templates/pages/page.html`.
    fn form_page(
        &self,
        kind: &str,
        title: &str,
        message: &str,
        action_url: &str,
        extra: &[(&str, String)],
    ) -> Response {
        let mut ctx = Context::new();
        ctx.insert("site_name", &self.site_name);
        ctx.insert("title", title);
        ctx.insert("message", message);
        ctx.insert("kind", kind);
        ctx.insert("show_unsubscribe", &false);
        ctx.insert("action_url", action_url);
        for (k, v) in extra {
            ctx.insert(k.to_string(), v);
        }
        match self.pages.render("page.html", &ctx) {
            Ok(body) => {
                let mut r = (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    body,
                )
                    .into_response();
                secure(r.headers_mut());
                r
            }
            Err(e) => self.render(Reply::Internal(anyhow::anyhow!("rendering {kind}: {e}")), None),
        }
    }
}

async fn subscribe_page(State(state): State<AppState>) -> Response {
    let action = format!("{}/subscribe", state.public_url);
    state.form_page(
        "subscribe",
        "Get the digest",
        "The top stories, in your inbox once a day.",
        &action,
        &[],
    )
}

/// POST /subscribe: double opt-in. The answer is the same whether or not the
/// address was known, and the mail goes out in the background so that the
/// response time does not tell either.
async fn subscribe(State(state): State<AppState>, req: axum::extract::Request) -> Response {
    let ip = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return state.render(
                simple(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Too large",
                    "That request was too large.",
                ),
                None,
            );
        }
    };
    let fields = match form_fields(&headers, body).await {
        Ok(f) => f,
        Err(m) => return state.render(simple(StatusCode::BAD_REQUEST, "Bad request", m), None),
    };
    let field = |name: &str| field_of(&fields, name);
    let done = simple(
        StatusCode::OK,
        "Check your inbox",
        "If this address can receive our digest, a message with a confirmation link is on its way. The link is valid for 48 hours.",
    );
    if state.per_ip.check_key(&ip).is_err() {
        return state.render(
            simple(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many requests",
                "Please try again later.",
            ),
            None,
        );
    }
    // A filled honeypot is a bot: answer as usual, do nothing.
    if !field("website").is_empty() {
        return state.render(done, None);
    }
    let email = match SubscriberEmail::parse(field("email")) {
        Ok(e) => e,
        Err(_) => {
            return state.render(
                simple(
                    StatusCode::BAD_REQUEST,
                    "Check the address",
                    "That does not look like an email address.",
                ),
                None,
            );
        }
    };
    let name = HeaderSafe::parse(field("name"), 200).unwrap_or_default();
    let topics = Topics::parse(field("topics"), ',').unwrap_or_default();
    if state
        .per_address
        .check_key(&email.as_str().to_ascii_lowercase())
        .is_err()
    {
        return state.render(done, None);
    }
    let new = NewSubscriber {
        email,
        name,
        status: SubscriberStatus::Pending,
        timezone: state.default_timezone,
        frequency: Frequency::Daily,
        send_hour: state.default_send_hour,
        topics,
    };
    match state.store.signup(&new).await {
        Ok(Some(s)) => {
            if let Some((mailer, composer)) = state.mail.clone() {
                let url = format!("{}/confirm/{}", state.public_url, s.token);
                let site = state.site_name.clone();
                tokio::spawn(async move {
                    let sent = match composer.compose_confirmation(s.email.as_str(), &site, &url) {
                        Ok(email) => mailer.send(&email).await.map_err(anyhow::Error::from),
                        Err(e) => Err(e),
                    };
                    if let Err(e) = sent {
                        tracing::warn!(subscriber_id = s.id, error = %format!("{e:#}"), "confirmation mail not sent");
                    }
                });
            }
            state.render(done, None)
        }
        Ok(None) => state.render(done, None),
        Err(e) => state.render(Reply::Internal(e), None),
    }
}

async fn confirmable(state: &AppState, token: &str) -> Result<Subscriber, Reply> {
    let s = find(state, token).await?;
    if s.status == SubscriberStatus::Active {
        return Err(simple(
            StatusCode::OK,
            "Already confirmed",
            format!("{} already gets our digest.", s.email),
        ));
    }
    let sent = state.store.confirm_sent_at(s.id).await.map_err(Reply::Internal)?;
    let fresh = sent.is_some_and(|t| chrono::Utc::now() - t < chrono::Duration::hours(CONFIRM_VALID_HOURS));
    if s.status != SubscriberStatus::Pending || !fresh {
        return Err(simple(
            StatusCode::GONE,
            "Link expired",
            "This confirmation link has expired. Sign up again to get a new one.",
        ));
    }
    Ok(s)
}

/// GET: a confirm button (a GET alone changes nothing).
async fn confirm_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match confirmable(&state, &token).await {
        Ok(s) => {
            let action = format!("{}/confirm/{token}", state.public_url);
            let message = format!("Confirm that {} wants the {} digest.", s.email, state.site_name);
            state.form_page("confirm", "Confirm your subscription", &message, &action, &[])
        }
        Err(r) => state.render(r, None),
    }
}

async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let reply = match confirmable(&state, &token).await {
        Ok(s) => match state.store.confirm(s.id).await {
            Ok(()) => simple(
                StatusCode::OK,
                "You are subscribed",
                format!("{} will get our digest.", s.email),
            ),
            Err(e) => Reply::Internal(e),
        },
        Err(r) => r,
    };
    state.render(reply, None)
}

async fn preferences_page(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    match find(&state, &token).await {
        Ok(s) => {
            let action = format!("{}/preferences/{token}", state.public_url);
            let message = format!("Preferences for {}.", s.email);
            state.form_page(
                "preferences",
                "Your digest",
                &message,
                &action,
                &[
                    ("frequency", s.frequency.to_string()),
                    ("send_hour", s.send_hour.to_string()),
                    ("timezone", s.timezone.to_string()),
                    ("topics", s.topics.join(',')),
                ],
            )
        }
        Err(r) => state.render(r, None),
    }
}

async fn preferences(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = match form_fields(&headers, body).await {
        Ok(f) => f,
        Err(m) => return state.render(simple(StatusCode::BAD_REQUEST, "Bad request", m), None),
    };
    let field = |name: &str| field_of(&fields, name);
    let s = match find(&state, &token).await {
        Ok(s) => s,
        Err(r) => return state.render(r, None),
    };
    let parsed = (|| -> Result<_, String> {
        let frequency: Frequency = field("frequency")
            .parse()
            .map_err(|e: crate::domain::Invalid| format!("Frequency: {e}"))?;
        let hour = SendHour::parse(field("send_hour")).map_err(|e| format!("Hour: {e}"))?;
        let tz = TimeZone::parse(field("timezone")).map_err(|e| format!("Time zone: {e}"))?;
        let topics = Topics::parse(field("topics"), ',').map_err(|e| format!("Sections: {e}"))?;
        Ok((frequency, hour, tz, topics))
    })();
    let reply = match parsed {
        Err(m) => simple(StatusCode::BAD_REQUEST, "Please check the form", m),
        Ok((frequency, hour, tz, topics)) => match state
            .store
            .set_preferences(s.id, frequency, hour, tz, &topics)
            .await
        {
            Ok(()) => simple(
                StatusCode::OK,
                "Saved",
                format!(
                    "{} will get the {frequency} digest at {:02}:00 {tz}.",
                    s.email,
                    hour.get()
                ),
            ),
            Err(e) => Reply::Internal(e),
        },
    };
    state.render(reply, None)
}
