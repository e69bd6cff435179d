//! The subscriber-facing HTTP endpoints served by `herald run`:
//! RFC 8058 one-click unsubscribe (POST) and its confirmation page (GET,
//! which never changes anything: mail scanners prefetch links), a health
//! check and Prometheus metrics. `app(state)` builds the router so tests can
//! drive it with `oneshot`. Internal errors are logged and answered with a
//! generic page; request bodies are size-limited; tokens are checked by the
//! store in constant time. The URL's token is the only credential: it is
//! unguessable (160 random bits), so a cross-site form cannot forge it, which
//! is what makes the one-click POST safe without a CSRF token.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tera::{Context, Tera};

use crate::config::Config;
use crate::domain::{Frequency, Subscriber, SubscriberStatus, Token};
use crate::metrics::Metrics;
use crate::store::Store;

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
        })
    }
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/unsubscribe/{token}", get(unsubscribe_page).post(unsubscribe))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// A page, or a failure that must not leak details.
enum Reply {
    Page {
        status: StatusCode,
        title: &'static str,
        message: String,
        form: Option<Subscriber>,
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
            form: Some(s),
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
