//! Unsubscribing: the page a subscriber's link opens (GET, which shows the
//! choices and changes nothing, since mail scanners prefetch links) and the
//! POST behind it, which is both RFC 8058 one-click
//! (`List-Unsubscribe=One-Click`, form-urlencoded or multipart) and the
//! page's buttons (`action=unsubscribe|weekly|pause`). Answers are short
//! pages in the subscriber's language, never redirects.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};

use super::form::Fields;
use super::page::{Form, Page, Text};
use super::{AppState, Reply, subscriber};
use crate::domain::{Frequency, SubscriberStatus};
use crate::metrics::Unsubscribe;

/// How long "pause" stops the digest.
const PAUSE_DAYS: i64 = 14;

/// GET: shows the choices; changes nothing.
pub(super) async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Page, Reply> {
    let s = subscriber(&state, &token).await?;
    let locale = s.locale.as_ref();
    if s.status == SubscriberStatus::Unsubscribed {
        return Ok(Page::new(
            StatusCode::OK,
            "page-unsubscribed-title",
            Text::new("page-unsubscribed-already-message").arg("email", s.email.as_str()),
        )
        .in_locale(locale));
    }
    let form = Form::Unsubscribe {
        action_url: state.links.unsubscribe(&s.token),
        email: s.email.as_str().to_owned(),
        offer_weekly: s.frequency == Frequency::Daily,
    };
    let message = Text::new("page-unsubscribe-message")
        .arg("frequency", s.frequency.as_str())
        .arg("email", s.email.as_str());
    Ok(Page::new(StatusCode::OK, "page-unsubscribe-title", message)
        .with_form(form)
        .in_locale(locale))
}

/// POST: one-click, or a choice from the page. The body is read before the
/// token is looked up, so a body that is not a form is a 400 whatever the
/// token.
pub(super) async fn submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Page, Reply> {
    let fields = Fields::parse(&headers, body)
        .await
        .map_err(|e| Page::bad_request(e.key()))?;
    let one_click = fields.contains("List-Unsubscribe", "One-Click");
    let action = fields.get("action");
    let s = subscriber(&state, &token).await?;
    let locale = s.locale.as_ref();
    let email = s.email.as_str();
    let page = if one_click || action == "unsubscribe" {
        state
            .store
            .set_status(s.id, SubscriberStatus::Unsubscribed)
            .await?;
        tracing::info!(subscriber_id = s.id, one_click, "unsubscribed");
        state.metrics.unsubscribe(if one_click {
            Unsubscribe::OneClick
        } else {
            Unsubscribe::Page
        });
        Page::new(
            StatusCode::OK,
            "page-unsubscribed-title",
            Text::new("page-unsubscribed-message").arg("email", email),
        )
    } else if action == "pause" {
        let until = crate::store::now() + chrono::Duration::days(PAUSE_DAYS);
        state.store.pause_until(s.id, until).await?;
        let lang = state.catalogs.resolve(locale).lang;
        let message = Text::new("page-paused-message")
            .arg("email", email)
            .arg("date", crate::i18n::format::date(&lang, until.date_naive()));
        Page::new(StatusCode::OK, "page-paused-title", message)
    } else if action == "weekly" {
        state.store.set_frequency(s.id, Frequency::Weekly).await?;
        Page::new(
            StatusCode::OK,
            "page-weekly-title",
            Text::new("page-weekly-message").arg("email", email),
        )
    } else {
        Page::bad_request("page-unsubscribe-invalid")
    };
    let ok = page.status.is_success();
    let page = page.in_locale(locale);
    if ok { Ok(page) } else { Err(page.into()) }
}
