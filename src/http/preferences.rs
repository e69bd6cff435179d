//! A subscriber's preferences (`/preferences/{token}`): the form, filled in
//! with what is stored, and its POST, which validates every field with the
//! domain's parsers and says what is wrong in the field's own words, in
//! the subscriber's language (the domain's English reason goes to the
//! log). The hour, the time zone and the language are pickers (the
//! signup's zone list, grouped by region; the shipped catalogs, each named
//! in its own language, or the site's language), so a reader chooses
//! rather than types. The page is in the subscriber's language; after a
//! change of language, the answer is in the new one.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};

use super::form::Fields;
use super::page::{Form, Page, Text};
use super::{AppState, Reply, lang, subscriber};
use crate::domain::{Frequency, Invalid, Locale, SendHour, TimeZone, Topics};

/// GET: the form.
pub(super) async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Page, Reply> {
    let s = subscriber(&state, &token).await?;
    let form = Form::Preferences {
        action_url: state.links.preferences(&s.token),
        frequency: s.frequency.to_string(),
        send_hour: s.send_hour.get(),
        timezone: s.timezone.name().to_owned(),
        topics: s.topics.join(','),
        locale: s.locale.clone(),
    };
    let message = Text::new("page-preferences-message").arg("email", s.email.as_str());
    Ok(Page::new(StatusCode::OK, "page-preferences-title", message)
        .with_form(form)
        .in_locale(s.locale.as_ref()))
}

/// POST: saves all five fields, or none.
pub(super) async fn submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Page, Reply> {
    let fields = Fields::parse(&headers, body)
        .await
        .map_err(|e| Page::bad_request(e.key()))?;
    let s = subscriber(&state, &token).await?;
    let Choice {
        frequency,
        hour,
        tz,
        topics,
        locale,
    } = Choice::parse(&fields, &state, s.locale.as_ref()).map_err(|(field, reason, why)| {
        tracing::debug!(field, reason = %why, "preferences not saved");
        Page::invalid_field(field, reason).in_locale(s.locale.as_ref())
    })?;
    state
        .store
        .set_preferences(s.id, frequency, hour, tz, &topics, locale.as_ref())
        .await?;
    let message = Text::new("page-preferences-saved-message")
        .arg("email", s.email.as_str())
        .arg("frequency", frequency.as_str())
        .arg("time", format!("{:02}:00", hour.get()))
        .arg("timezone", tz.name());
    Ok(Page::new(StatusCode::OK, "page-preferences-saved-title", message).in_locale(locale.as_ref()))
}

/// The form's fields, validated.
struct Choice {
    frequency: Frequency,
    hour: SendHour,
    tz: TimeZone,
    topics: Topics,
    /// `None`: the site's language.
    locale: Option<Locale>,
}

/// A field that is wrong: the catalog keys of its label and of what is
/// wrong, and the domain's reason (for the log).
type Wrong = (&'static str, &'static str, String);

impl Choice {
    /// The first field that is wrong is the error, named as the form names it.
    fn parse(fields: &Fields, state: &AppState, current: Option<&Locale>) -> Result<Choice, Wrong> {
        let frequency: Frequency = fields.get("frequency").parse().map_err(|e: Invalid| {
            (
                "page-preferences-frequency",
                "page-reason-frequency",
                e.to_string(),
            )
        })?;
        let hour = SendHour::parse(fields.get("send_hour"))
            .map_err(|e| ("page-preferences-hour", "page-reason-hour", e.to_string()))?;
        let tz = TimeZone::parse(fields.get("timezone"))
            .map_err(|e| ("page-preferences-timezone", "page-reason-timezone", e.to_string()))?;
        let topics = Topics::parse(fields.get("topics"), ',')
            .map_err(|e| ("page-preferences-topics", "page-reason-topics", e.to_string()))?;
        // A form without the field (a site's own page.html from before
        // it) keeps the stored language.
        let locale = match fields.all("locale").next().map(str::trim) {
            None => current.cloned(),
            Some("") => None,
            Some(raw) => Some(lang::supported(&state.catalogs, raw).ok_or_else(|| {
                (
                    "page-preferences-language",
                    "page-reason-language",
                    format!("{raw:?}: no catalog serves it"),
                )
            })?),
        };
        Ok(Choice {
            frequency,
            hour,
            tz,
            topics,
            locale,
        })
    }
}
