//! Double opt-in: the signup form (`/subscribe`) and its POST, which stores a
//! pending subscriber and mails a confirmation link, then the link's page
//! (`/confirm/{token}`: a button, since a GET alone changes nothing) and its
//! POST, which activates. A signup answers the same whether or not the
//! address was known, and the mail goes out in the background, so neither
//! the page nor its timing tells. Rate limits per client IP and per address
//! and a honeypot field keep bots from using it to send mail.

use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::StatusCode;

use super::form::Fields;
use super::page::{Form, Page};
use super::{AppState, MAX_BODY, Reply, subscriber};
use crate::domain::{
    Frequency, HeaderSafe, NewSubscriber, Subscriber, SubscriberEmail, SubscriberStatus, Topics,
};

/// How long a confirmation link stays valid.
const CONFIRM_VALID_HOURS: i64 = 48;

/// GET /subscribe: the form.
pub(super) async fn page(State(state): State<AppState>) -> Page {
    let form = Form::Subscribe {
        action_url: format!("{}/subscribe", state.links.base()),
    };
    Page::new(
        StatusCode::OK,
        "Get the digest",
        "The top stories, in your inbox once a day.",
    )
    .with_form(form)
}

/// POST /subscribe. Everything after the per-IP limit answers "check your
/// inbox", whatever happened.
pub(super) async fn submit(State(state): State<AppState>, req: Request) -> Result<Page, Reply> {
    let ip = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string());
    let headers = req.headers().clone();
    let body = axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|_| {
            Page::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                "That request was too large.",
            )
        })?;
    let fields = Fields::parse(&headers, body).await.map_err(Page::bad_request)?;
    if state.per_ip.check_key(&ip).is_err() {
        return Err(Page::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Please try again later.",
        )
        .into());
    }
    let done = Page::new(
        StatusCode::OK,
        "Check your inbox",
        "If this address can receive our digest, a message with a confirmation link is on its way. The link is valid for 48 hours.",
    );
    // A filled honeypot is a bot: answer as usual, do nothing.
    if !fields.get("website").is_empty() {
        return Ok(done);
    }
    let email = SubscriberEmail::parse(fields.get("email")).map_err(|_| {
        Page::new(
            StatusCode::BAD_REQUEST,
            "Check the address",
            "That does not look like an email address.",
        )
    })?;
    let name = HeaderSafe::parse(fields.get("name"), 200).unwrap_or_default();
    let topics = Topics::parse(fields.get("topics"), ',').unwrap_or_default();
    if state
        .per_address
        .check_key(&email.as_str().to_ascii_lowercase())
        .is_err()
    {
        return Ok(done);
    }
    // An address that bounced hard or complained is not mailed at a
    // stranger's request; the answer is the same, so it reveals nothing.
    if state.store.suppression(&email.fingerprint()).await?.is_some() {
        tracing::info!("signup for a suppressed address: no confirmation sent");
        return Ok(done);
    }
    let new = NewSubscriber {
        email,
        name,
        status: SubscriberStatus::Pending,
        timezone: state.default_timezone,
        frequency: Frequency::Daily,
        send_hour: state.default_send_hour,
        topics,
        locale: None,
    };
    if let Some(s) = state.store.signup(&new).await? {
        send_confirmation(&state, s);
    }
    Ok(done)
}

/// Mails the confirmation link in the background, when mail is set up; a
/// failure is logged, since the visitor has had their answer.
fn send_confirmation(state: &AppState, s: Subscriber) {
    let Some((mailer, composer)) = state.mail.clone() else {
        return;
    };
    let url = state.links.confirm(&s.token);
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

/// The pending subscriber a confirmation link names, if the link is still
/// valid; otherwise the page that says why not.
async fn confirmable(state: &AppState, token: &str) -> Result<Subscriber, Reply> {
    let s = subscriber(state, token).await?;
    if s.status == SubscriberStatus::Active {
        let message = format!("{} already gets our digest.", s.email);
        return Err(Page::new(StatusCode::OK, "Already confirmed", message).into());
    }
    let sent = state.store.confirm_sent_at(s.id).await?;
    let fresh = sent.is_some_and(|t| chrono::Utc::now() - t < chrono::Duration::hours(CONFIRM_VALID_HOURS));
    if s.status != SubscriberStatus::Pending || !fresh {
        return Err(Page::new(
            StatusCode::GONE,
            "Link expired",
            "This confirmation link has expired. Sign up again to get a new one.",
        )
        .into());
    }
    Ok(s)
}

/// GET /confirm/{token}: a confirm button.
pub(super) async fn confirm_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Page, Reply> {
    let s = confirmable(&state, &token).await?;
    let form = Form::Confirm {
        action_url: state.links.confirm(&s.token),
    };
    let message = format!("Confirm that {} wants the {} digest.", s.email, state.site_name);
    Ok(Page::new(StatusCode::OK, "Confirm your subscription", message).with_form(form))
}

/// POST /confirm/{token}: activates.
pub(super) async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> Result<Page, Reply> {
    let s = confirmable(&state, &token).await?;
    state.store.confirm(s.id).await?;
    Ok(Page::new(
        StatusCode::OK,
        "You are subscribed",
        format!("{} will get our digest.", s.email),
    ))
}
