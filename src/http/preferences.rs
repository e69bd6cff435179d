//! A subscriber's preferences (`/preferences/{token}`): the form, filled in
//! with what is stored, and its POST, which validates every field with the
//! domain's parsers and says what is wrong in the field's own words. The
//! hour and the time zone are pickers (the signup's zone list, grouped by
//! region), so a reader chooses rather than types.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};

use super::form::Fields;
use super::page::{Form, Page};
use super::{AppState, Reply, subscriber};
use crate::domain::{Frequency, Invalid, SendHour, TimeZone, Topics};

/// GET: the form.
pub(super) async fn page(State(state): State<AppState>, Path(token): Path<String>) -> Result<Page, Reply> {
    let s = subscriber(&state, &token).await?;
    let form = Form::Preferences {
        action_url: state.links.preferences(&s.token),
        frequency: s.frequency.to_string(),
        send_hour: s.send_hour.get(),
        timezone: s.timezone.name().to_owned(),
        topics: s.topics.join(','),
    };
    let message = format!("Preferences for {}.", s.email);
    Ok(Page::new(StatusCode::OK, "Your digest", message).with_form(form))
}

/// POST: saves all four fields, or none.
pub(super) async fn submit(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Page, Reply> {
    let fields = Fields::parse(&headers, body).await.map_err(Page::bad_request)?;
    let s = subscriber(&state, &token).await?;
    let Choice {
        frequency,
        hour,
        tz,
        topics,
    } = Choice::parse(&fields).map_err(|m| Page::new(StatusCode::BAD_REQUEST, "Please check the form", m))?;
    state
        .store
        .set_preferences(s.id, frequency, hour, tz, &topics)
        .await?;
    let message = format!(
        "{} will get the {frequency} digest at {:02}:00 {tz}.",
        s.email,
        hour.get()
    );
    Ok(Page::new(StatusCode::OK, "Saved", message))
}

/// The form's fields, validated.
struct Choice {
    frequency: Frequency,
    hour: SendHour,
    tz: TimeZone,
    topics: Topics,
}

impl Choice {
    /// The first field that is wrong is the error, named as the form names it.
    fn parse(fields: &Fields) -> Result<Choice, String> {
        let frequency: Frequency = fields
            .get("frequency")
            .parse()
            .map_err(|e: Invalid| format!("Frequency: {e}"))?;
        let hour = SendHour::parse(fields.get("send_hour")).map_err(|e| format!("Hour: {e}"))?;
        let tz = TimeZone::parse(fields.get("timezone")).map_err(|e| format!("Time zone: {e}"))?;
        let topics = Topics::parse(fields.get("topics"), ',').map_err(|e| format!("Sections: {e}"))?;
        Ok(Choice {
            frequency,
            hour,
            tz,
            topics,
        })
    }
}
