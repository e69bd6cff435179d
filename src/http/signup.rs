//! Double opt-in: the signup form (`/subscribe`) and its POST, which records
//! a signup apart from the subscribers (the store's `signups`) and mails a
//! confirmation link, then the link's page (`/confirm/{token}`: a button,
//! since a GET alone changes nothing) and its POST, which makes the reader
//! an active subscriber. Until that POST nothing of an existing subscriber
//! changes, so a stranger's signup cannot undo anyone's unsubscribe. A
//! signup answers the same whether or not the address was known, and the
//! mail goes out in the background, so neither the page nor its timing
//! tells; a suppressed address gets no mail at all. Rate limits per client
//! address (behind `http.trusted_proxies`, the forwarded one) and per
//! address, and a honeypot field, keep bots from using it to send mail.
//! The reader's time zone comes from the hidden `tz` field the pages'
//! script fills from the browser, else from the zone picker (`timezone`),
//! else `subscribers.default_timezone`; the confirmation page shows it and
//! the send hour, to check or change before confirming.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};

use super::form::Fields;
use super::page::{Form, Page};
use super::{AppState, MAX_BODY, Reply};
use crate::domain::{
    Frequency, HeaderSafe, Invalid, NewSubscriber, SendHour, SubscriberEmail, SubscriberStatus, TimeZone,
    Token, Topics,
};
use crate::metrics::Signup as Outcome;
use crate::store::Signup;

/// Sections the signup page offers to tick.
const SECTIONS_OFFERED: i64 = 12;

/// How long a confirmation link stays valid.
const CONFIRM_VALID_HOURS: i64 = 48;

/// GET /subscribe: the form.
pub(super) async fn page(State(state): State<AppState>) -> Result<Page, Reply> {
    let form = Form::Subscribe {
        action_url: state.links.subscribe(),
        timezone: state.default_timezone.name().to_owned(),
        sections: state.store.sections(SECTIONS_OFFERED).await?,
    };
    Ok(Page::new(
        StatusCode::OK,
        "Get the digest",
        "The top stories, in your inbox once a day or once a week.",
    )
    .with_form(form))
}

/// The zone a signup form sends: the browser's (the hidden `tz` field),
/// when it is a zone; else the picker's; else the default. A picked zone
/// that is not one is the error.
fn signup_zone(fields: &Fields, default: TimeZone) -> Result<TimeZone, Invalid> {
    if let Ok(tz) = TimeZone::parse(fields.get("tz")) {
        return Ok(tz);
    }
    match fields.get("timezone").trim() {
        "" => Ok(default),
        picked => TimeZone::parse(picked),
    }
}

/// POST /subscribe. Everything after the per-client limit answers "check your
/// inbox", whatever happened.
pub(super) async fn submit(State(state): State<AppState>, req: Request) -> Result<Page, Reply> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    let client = state.proxies.client(peer, req.headers());
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
    // No address at all (not served by `serve`): one shared key.
    let key = client.map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), super::limit::ip_key);
    if !state.per_ip.allow(&key) {
        state.metrics.signup(Outcome::RateLimited);
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
        state.metrics.signup(Outcome::Honeypot);
        return Ok(done);
    }
    let email = SubscriberEmail::parse(fields.get("email")).map_err(|_| {
        state.metrics.signup(Outcome::Invalid);
        Page::new(
            StatusCode::BAD_REQUEST,
            "Check the address",
            "That does not look like an email address.",
        )
    })?;
    let name = HeaderSafe::parse(fields.get("name"), 200).unwrap_or_default();
    let topics = Topics::parse(&fields.all("topics").collect::<Vec<_>>().join(","), ',').unwrap_or_default();
    let check = |m: String| Page::new(StatusCode::BAD_REQUEST, "Please check the form", m);
    let timezone =
        signup_zone(&fields, state.default_timezone).map_err(|e| check(format!("Time zone: {e}")))?;
    let frequency = match fields.get("frequency") {
        "" => Frequency::Daily,
        f => f.parse().map_err(|e: Invalid| check(format!("How often: {e}")))?,
    };
    if !state
        .per_address
        .allow(&super::limit::address_key(&state.address_hasher, &email.key()))
    {
        state.metrics.signup(Outcome::RateLimited);
        return Ok(done);
    }
    // An address that bounced hard or complained is not mailed at a
    // stranger's request; the answer is the same, so it reveals nothing.
    if state.store.suppression(&email.fingerprint()).await?.is_some() {
        tracing::info!("signup for a suppressed address: no confirmation sent");
        state.metrics.signup(Outcome::Suppressed);
        return Ok(done);
    }
    let new = NewSubscriber {
        email,
        name,
        status: SubscriberStatus::Pending,
        timezone,
        frequency,
        send_hour: state.default_send_hour,
        topics,
        locale: None,
    };
    if let Some(s) = state.store.signup(&new).await? {
        send_confirmation(&state, s);
    }
    state.metrics.signup(Outcome::Requested);
    Ok(done)
}

/// Mails the confirmation link in the background, when mail is set up; a
/// failure is logged, since the visitor has had their answer.
fn send_confirmation(state: &AppState, s: Signup) {
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
            tracing::warn!(signup_id = s.id, error = %format!("{e:#}"), "confirmation mail not sent");
        }
    });
}

/// The signup a confirmation link names, if the link is still valid;
/// otherwise the page that says why not. A link already used finds no
/// signup (it is deleted on confirming).
async fn confirmable(state: &AppState, token: &str) -> Result<Signup, Reply> {
    let unknown = || {
        Page::new(
            StatusCode::NOT_FOUND,
            "Link not valid",
            "This confirmation link is not valid, or it was used already. If you have not confirmed yet, sign up again to get a new one.",
        )
    };
    let token = Token::parse(token).map_err(|_| unknown())?;
    let s = state.store.find_signup(&token).await?.ok_or_else(unknown)?;
    let fresh = chrono::Utc::now() - s.confirm_sent_at < chrono::Duration::hours(CONFIRM_VALID_HOURS);
    if !fresh {
        return Err(Page::new(
            StatusCode::GONE,
            "Link expired",
            "This confirmation link has expired. Sign up again to get a new one.",
        )
        .into());
    }
    Ok(s)
}

/// GET /confirm/{token}: the time zone and hour to check, and a confirm
/// button.
pub(super) async fn confirm_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Page, Reply> {
    let s = confirmable(&state, &token).await?;
    let form = Form::Confirm {
        action_url: state.links.confirm(&s.token),
        timezone: s.timezone.name().to_owned(),
        send_hour: s.send_hour.get(),
    };
    let message = format!("Confirm that {} wants the {} digest.", s.email, state.site_name);
    Ok(Page::new(StatusCode::OK, "Confirm your subscription", message).with_form(form))
}

/// POST /confirm/{token}: makes the reader an active subscriber with the
/// signup's choices (an unsubscribed reader comes back, by their own act),
/// the time zone and hour as the form sends them (a body without them,
/// such as a bare POST, keeps the signup's).
pub(super) async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Page, Reply> {
    let fields = if headers.contains_key(header::CONTENT_TYPE) {
        Fields::parse(&headers, body).await.map_err(Page::bad_request)?
    } else {
        Fields::default()
    };
    let mut signup = confirmable(&state, &token).await?;
    let check = |m: String| Page::new(StatusCode::BAD_REQUEST, "Please check the form", m);
    let raw = fields.get("timezone");
    if !raw.is_empty() {
        signup.timezone = TimeZone::parse(raw).map_err(|e| check(format!("Time zone: {e}")))?;
    }
    let raw = fields.get("send_hour");
    if !raw.is_empty() {
        signup.send_hour = SendHour::parse(raw).map_err(|e| check(format!("Hour: {e}")))?;
    }
    let s = state.store.confirm_signup(&signup).await?;
    state.metrics.signup(Outcome::Confirmed);
    Ok(Page::new(
        StatusCode::OK,
        "You are subscribed",
        format!(
            "{} will get our {} digest at {:02}:00 {}.",
            s.email,
            s.frequency,
            s.send_hour.get(),
            s.timezone
        ),
    ))
}
