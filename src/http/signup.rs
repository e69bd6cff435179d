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
//!
//! Languages: the form's pages are in the visitor's language (`lang`). The
//! signup's language is the form's `lang` field when a catalog serves it,
//! else the best served tag of Accept-Language, else none (the site's);
//! the confirmation mail is written in it, and its link carries it
//! (`?lang=`: the `signups` table has no column for it), so the
//! confirmation page is in it too and confirming stores it as the
//! subscriber's `locale`.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};

use super::form::Fields;
use super::lang::{self, Visitor};
use super::page::{Form, Page, Text};
use super::{AppState, MAX_BODY, Reply};
use crate::domain::{
    Frequency, HeaderSafe, Invalid, Locale, NewSubscriber, SendHour, SubscriberEmail, SubscriberStatus,
    TimeZone, Token, Topics,
};
use crate::i18n::{Catalogs, MessageError};
use crate::mail::Confirmation;
use crate::metrics::Signup as Outcome;
use crate::store::Signup;

/// Sections the signup page offers to tick.
const SECTIONS_OFFERED: i64 = 12;

/// How long a confirmation link stays valid.
const CONFIRM_VALID_HOURS: i64 = 48;

/// GET /subscribe: the form, in the visitor's language.
pub(super) async fn page(State(state): State<AppState>, visitor: Visitor) -> Result<Page, Reply> {
    let form = Form::Subscribe {
        action_url: state.links.subscribe(),
        timezone: state.default_timezone.name().to_owned(),
        sections: state.store.sections(SECTIONS_OFFERED).await?,
        lang: visitor
            .explicit
            .then(|| visitor.locale.as_ref().map(Locale::tag))
            .flatten(),
    };
    Ok(
        Page::new(StatusCode::OK, "page-signup-title", "page-signup-message")
            .with_form(form)
            .in_locale(visitor.locale.as_ref()),
    )
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
    let fields = read_form(&headers, req).await?;
    // The reader's language: the form's, else the browser's; `None`, the
    // site's. The answers below are in it.
    let locale = lang::visitor(&state.catalogs, Some(fields.get("lang")), &headers);
    let answer = |page: Page| page.in_locale(locale.as_ref());
    // No address at all (not served by `serve`): one shared key.
    let key = client.map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), super::limit::ip_key);
    if !state.per_ip.allow(&key) {
        state.metrics.signup(Outcome::RateLimited);
        return Err(answer(Page::new(
            StatusCode::TOO_MANY_REQUESTS,
            "page-too-many-title",
            "page-too-many-message",
        ))
        .into());
    }
    let done = answer(Page::new(
        StatusCode::OK,
        "page-signup-done-title",
        Text::new("page-signup-done-message").arg("hours", CONFIRM_VALID_HOURS),
    ));
    // A filled honeypot is a bot: answer as usual, do nothing.
    if !fields.get("website").is_empty() {
        state.metrics.signup(Outcome::Honeypot);
        return Ok(done);
    }
    let new = new_subscriber(&state, &fields, locale.clone()).map_err(|p| answer(*p))?;
    if !state.per_address.allow(&super::limit::address_key(
        &state.address_hasher,
        &new.email.key(),
    )) {
        state.metrics.signup(Outcome::RateLimited);
        return Ok(done);
    }
    // An address that bounced hard or complained is not mailed at a
    // stranger's request; the answer is the same, so it reveals nothing.
    if state.store.suppression(&new.email.fingerprint()).await?.is_some() {
        tracing::info!("signup for a suppressed address: no confirmation sent");
        state.metrics.signup(Outcome::Suppressed);
        return Ok(done);
    }
    if let Some(s) = state.store.signup(&new).await? {
        send_confirmation(&state, s, new.locale);
    }
    state.metrics.signup(Outcome::Requested);
    Ok(done)
}

/// The signup form's fields, from a body of at most [`MAX_BODY`] bytes.
async fn read_form(headers: &HeaderMap, req: Request) -> Result<Fields, Page> {
    let body = axum::body::to_bytes(req.into_body(), MAX_BODY)
        .await
        .map_err(|_| {
            Page::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "page-too-large-title",
                "page-too-large-message",
            )
        })?;
    Fields::parse(headers, body)
        .await
        .map_err(|e| Page::bad_request(e.key()))
}

/// The pending subscriber a signup form asks for, in `locale`: the address
/// must be one (else the page says so); a name that could not go in a header
/// and topics that are not a list are dropped; a time zone or frequency
/// that is not one is the page naming that field. The page is in the
/// site's language; the caller puts it in the reader's.
fn new_subscriber(
    state: &AppState,
    fields: &Fields,
    locale: Option<Locale>,
) -> Result<NewSubscriber, Box<Page>> {
    let email = SubscriberEmail::parse(fields.get("email")).map_err(|_| {
        state.metrics.signup(Outcome::Invalid);
        Box::new(Page::new(
            StatusCode::BAD_REQUEST,
            "page-signup-bad-address-title",
            "page-signup-bad-address-message",
        ))
    })?;
    let name = HeaderSafe::parse(fields.get("name"), 200).unwrap_or_default();
    let topics = Topics::parse(&fields.all("topics").collect::<Vec<_>>().join(","), ',').unwrap_or_default();
    let check = |field: &'static str, reason: &'static str, e: Invalid| {
        tracing::debug!(field, reason = %e, "signup refused");
        Box::new(Page::invalid_field(field, reason))
    };
    let timezone = signup_zone(fields, state.default_timezone)
        .map_err(|e| check("page-preferences-timezone", "page-reason-timezone", e))?;
    let frequency = match fields.get("frequency") {
        "" => Frequency::Daily,
        f => f
            .parse()
            .map_err(|e: Invalid| check("page-signup-frequency", "page-reason-frequency", e))?,
    };
    Ok(NewSubscriber {
        email,
        name,
        status: SubscriberStatus::Pending,
        timezone,
        frequency,
        send_hour: state.default_send_hour,
        topics,
        locale,
    })
}

/// The confirmation link: the signup's token, and its language when it
/// has one.
fn confirm_url(state: &AppState, token: &Token, locale: Option<&Locale>) -> String {
    let url = state.links.confirm(token);
    match locale {
        // A tag is letters, digits and hyphens: nothing to escape.
        Some(l) => format!("{url}?lang={}", l.tag()),
        None => url,
    }
}

/// The confirmation mail's subject and parts in `locale` (`None`: the
/// site's language).
pub fn confirmation_letter(
    catalogs: &Catalogs,
    locale: Option<&Locale>,
    site: &str,
    url: &str,
) -> Result<Confirmation, MessageError> {
    let r = catalogs.resolve(locale);
    let hours = CONFIRM_VALID_HOURS;
    let t = |key: &'static str| {
        Text::new(key)
            .arg("site", site)
            .arg("hours", hours)
            .format(catalogs, &r)
    };
    let (intro, action_text, action_html, validity, ignore) = (
        t("confirm-mail-intro")?,
        t("confirm-mail-action-text")?,
        t("confirm-mail-action-html")?,
        t("confirm-mail-validity")?,
        t("confirm-mail-ignore")?,
    );
    let text = format!("{intro}\n\n{action_text}\n{url}\n\n{ignore}\n");
    let e = |s: &str| html_escape::encode_text(s).into_owned();
    let html = format!(
        "<!DOCTYPE html><html lang=\"{lang}\" dir=\"{dir}\"><body style=\"font-family:sans-serif\">\n<p>{}</p>\n<p><a href=\"{}\">{}</a> {}</p>\n<p>{}</p>\n</body></html>\n",
        e(&intro),
        html_escape::encode_double_quoted_attribute(url),
        e(&action_html),
        e(&validity),
        e(&ignore),
        lang = r.tag(),
        dir = r.dir.as_str(),
    );
    Ok(Confirmation {
        subject: t("confirm-mail-subject")?,
        text,
        html,
    })
}

/// Mails the confirmation link in the background, when mail is set up; a
/// failure is logged, since the visitor has had their answer.
fn send_confirmation(state: &AppState, s: Signup, locale: Option<Locale>) {
    let Some((mailer, composer)) = state.mail.clone() else {
        return;
    };
    let url = confirm_url(state, &s.token, locale.as_ref());
    let letter = confirmation_letter(&state.catalogs, locale.as_ref(), &state.site_name, &url);
    tokio::spawn(async move {
        let sent = match letter
            .map_err(anyhow::Error::from)
            .and_then(|letter| composer.compose_confirmation(s.email.as_str(), &letter))
        {
            Ok(email) => mailer.send(&email).await.map_err(anyhow::Error::from),
            Err(e) => Err(e),
        };
        if let Err(e) = sent {
            tracing::warn!(signup_id = s.id, error = %format!("{e:#}"), "confirmation mail not sent");
        }
    });
}

/// The signup a confirmation link names, if the link is still valid;
/// otherwise the page that says why not (in `locale`). A link already used
/// finds no signup (it is deleted on confirming).
async fn confirmable(state: &AppState, token: &str, locale: Option<&Locale>) -> Result<Signup, Reply> {
    let unknown = || {
        Page::new(
            StatusCode::NOT_FOUND,
            "page-not-found-title",
            "page-confirm-unknown-message",
        )
        .in_locale(locale)
    };
    let token = Token::parse(token).map_err(|_| unknown())?;
    let s = state.store.find_signup(&token).await?.ok_or_else(unknown)?;
    let fresh = chrono::Utc::now() - s.confirm_sent_at < chrono::Duration::hours(CONFIRM_VALID_HOURS);
    if !fresh {
        return Err(Page::new(
            StatusCode::GONE,
            "page-confirm-expired-title",
            "page-confirm-expired-message",
        )
        .in_locale(locale)
        .into());
    }
    Ok(s)
}

/// GET /confirm/{token}: the time zone and hour to check, and a confirm
/// button; in the link's language.
pub(super) async fn confirm_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    visitor: Visitor,
) -> Result<Page, Reply> {
    let s = confirmable(&state, &token, visitor.locale.as_ref()).await?;
    // The form posts back to the link as it came, its language included.
    let explicit = visitor.locale.as_ref().filter(|_| visitor.explicit);
    let form = Form::Confirm {
        action_url: confirm_url(&state, &s.token, explicit),
        timezone: s.timezone.name().to_owned(),
        send_hour: s.send_hour.get(),
    };
    let message = Text::new("page-confirm-message")
        .arg("email", s.email.as_str())
        .arg("site", state.site_name.as_str());
    Ok(Page::new(StatusCode::OK, "page-confirm-title", message)
        .with_form(form)
        .in_locale(visitor.locale.as_ref()))
}

/// POST /confirm/{token}: makes the reader an active subscriber with the
/// signup's choices (an unsubscribed reader comes back, by their own act),
/// the time zone and hour as the form sends them (a body without them,
/// such as a bare POST, keeps the signup's), and the link's language.
pub(super) async fn confirm(
    State(state): State<AppState>,
    Path(token): Path<String>,
    visitor: Visitor,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Page, Reply> {
    let shown = visitor.locale.as_ref();
    let fields = if headers.contains_key(header::CONTENT_TYPE) {
        Fields::parse(&headers, body)
            .await
            .map_err(|e| Page::bad_request(e.key()).in_locale(shown))?
    } else {
        Fields::default()
    };
    let mut signup = confirmable(&state, &token, shown).await?;
    let check = |field: &'static str, reason: &'static str, e: Invalid| {
        tracing::debug!(field, reason = %e, "confirmation refused");
        Page::invalid_field(field, reason).in_locale(shown)
    };
    let raw = fields.get("timezone");
    if !raw.is_empty() {
        signup.timezone = TimeZone::parse(raw)
            .map_err(|e| check("page-preferences-timezone", "page-reason-timezone", e))?;
    }
    let raw = fields.get("send_hour");
    if !raw.is_empty() {
        signup.send_hour =
            SendHour::parse(raw).map_err(|e| check("page-preferences-hour", "page-reason-hour", e))?;
    }
    let locale = visitor.locale.as_ref().filter(|_| visitor.explicit);
    let s = state.store.confirm_signup(&signup, locale).await?;
    state.metrics.signup(Outcome::Confirmed);
    let message = Text::new("page-confirmed-message")
        .arg("email", s.email.as_str())
        .arg("frequency", s.frequency.as_str())
        .arg("time", format!("{:02}:00", s.send_hour.get()))
        .arg("timezone", s.timezone.name());
    Ok(Page::new(StatusCode::OK, "page-confirmed-title", message).in_locale(s.locale.as_ref().or(shown)))
}
