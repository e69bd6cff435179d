//! Unsubscribing: the page a subscriber's link opens (GET, which shows the
//! choices and changes nothing, since mail scanners prefetch links) and the
//! POST behind it, which is both RFC 8058 one-click
//! (`List-Unsubscribe=One-Click`, form-urlencoded or multipart) and the
//! page's buttons (`action=unsubscribe|weekly|pause`). Answers are short
//! pages, never redirects.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};

use super::form::Fields;
use super::page::{Form, Page};
use super::{AppState, Reply, subscriber};
use crate::domain::{Frequency, SubscriberStatus};
use crate::metrics::Unsubscribe;

/// How long "pause" stops the digest.
const PAUSE_DAYS: i64 = 14;

/// GET: shows the choices; changes nothing.
pub(super) async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Page, Reply> {
    let s = subscriber(&state, &token).await?;
    if s.status == SubscriberStatus::Unsubscribed {
        return Ok(Page::new(
            StatusCode::OK,
            "You are unsubscribed",
            format!("{} no longer receives our digest.", s.email),
        ));
    }
    let form = Form::Unsubscribe {
        action_url: state.links.unsubscribe(&s.token),
        email: s.email.as_str().to_owned(),
        offer_weekly: s.frequency == Frequency::Daily,
    };
    let message = format!("Stop sending the {} digest to {}?", s.frequency, s.email);
    Ok(Page::new(StatusCode::OK, "Unsubscribe?", message).with_form(form))
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
    let fields = Fields::parse(&headers, body).await.map_err(Page::bad_request)?;
    let one_click = fields.contains("List-Unsubscribe", "One-Click");
    let action = fields.get("action");
    let s = subscriber(&state, &token).await?;
    if one_click || action == "unsubscribe" {
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
        let message = format!(
            "{} will not receive our digest any more. Sorry to see you go.",
            s.email
        );
        Ok(Page::new(StatusCode::OK, "You are unsubscribed", message))
    } else if action == "pause" {
        let until = crate::store::now() + chrono::Duration::days(PAUSE_DAYS);
        state.store.pause_until(s.id, until).await?;
        let message = format!(
            "{} will get no digest until {}.",
            s.email,
            until.format("%-d %B %Y")
        );
        Ok(Page::new(StatusCode::OK, "Paused for two weeks", message))
    } else if action == "weekly" {
        state.store.set_frequency(s.id, Frequency::Weekly).await?;
        let message = format!("{} will get one digest a week from now on.", s.email);
        Ok(Page::new(StatusCode::OK, "Weekly it is", message))
    } else {
        Err(
            Page::bad_request("Expected List-Unsubscribe=One-Click or a choice from the unsubscribe page.")
                .into(),
        )
    }
}
