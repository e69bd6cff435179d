//! "View in browser" (`GET /view/{token}/{edition}`): the digest a
//! subscriber received, rendered again from what their ledger row records
//! (the story ids, best first) with the same templates and size limit as
//! the mail, so the page shows the same stories in the same order. Stories
//! are read as they are now: a later vote count or a corrected title shows
//! the current text. The token is the credential, as on the other token
//! pages (the store confirms it in constant time), and the answer carries
//! the same headers, plus `noindex`. An edition whose rows the retention
//! pass folded into counts says so; nothing here writes.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::page::{Page, Text, csp, secure};
use super::{AppState, Reply, subscriber};
use crate::domain::{Edition, Locale, StoryKind};
use crate::render::Recipient;
use crate::select::{Digest, Pool, Scored};
use crate::store::Delivered;

/// GET: the digest as sent, or a page saying why not.
pub(super) async fn page(
    State(state): State<AppState>,
    Path((token, edition)): Path<(String, String)>,
) -> Result<Response, Reply> {
    let s = subscriber(&state, &token).await?;
    let locale = s.locale.clone();
    let edition: Edition = edition
        .parse()
        .map_err(|_| Page::not_found().in_locale(locale.as_ref()))?;
    let story_ids = match state.store.delivered(s.id, &edition).await? {
        Delivered::Sent { story_ids, .. } if !story_ids.is_empty() => story_ids,
        Delivered::Pruned => return Err(expired(&state, &edition, locale.as_ref()).into()),
        _ => return Err(not_sent(&state, &edition, locale.as_ref()).into()),
    };
    let mut stories = state.store.stories_by_id(&story_ids).await?;
    // The ledger's order is the digest's (best first); a story deleted
    // since is left out.
    stories.sort_by_key(|st| story_ids.iter().position(|id| *id == st.id));
    let mut digest = Digest::default();
    for (i, story) in stories.iter().enumerate() {
        match story.kind {
            StoryKind::Story => digest.top_stories.push(i),
            StoryKind::Blog => digest.blog_posts.push(i),
        }
    }
    let pool = Pool {
        ranked: stories
            .into_iter()
            .map(|story| Scored { story, score: 0.0 })
            .collect(),
    };
    let renderer = state.renderer.clone();
    let html = tokio::task::spawn_blocking(move || {
        let blocks = renderer.edition(Arc::new(pool), edition);
        let to = Recipient {
            name: &s.name,
            email: s.email.as_str(),
            token: &s.token,
            locale: s.locale.as_ref(),
        };
        renderer.render_web(&blocks, &digest, to).map(|r| r.html)
    })
    .await
    .map_err(anyhow::Error::from)??;
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    let h = response.headers_mut();
    secure(h);
    h.insert(header::CONTENT_SECURITY_POLICY, csp(true));
    Ok(response)
}

/// The edition's date in the reader's language.
fn date(state: &AppState, edition: &Edition, locale: Option<&Locale>) -> String {
    crate::i18n::format::date(&state.catalogs.resolve(locale).lang, edition.date)
}

/// A link to an edition this subscriber did not receive.
fn not_sent(state: &AppState, edition: &Edition, locale: Option<&Locale>) -> Page {
    Page::new(
        StatusCode::NOT_FOUND,
        "page-view-missing-title",
        Text::new("page-view-missing-message").arg("date", date(state, edition, locale)),
    )
    .in_locale(locale)
}

/// A link older than the ledger keeps.
fn expired(state: &AppState, edition: &Edition, locale: Option<&Locale>) -> Page {
    let key = if state.archive.enabled {
        "page-view-expired-archive-message"
    } else {
        "page-view-expired-message"
    };
    Page::new(
        StatusCode::GONE,
        "page-view-expired-title",
        Text::new(key)
            .arg("date", date(state, edition, locale))
            .arg("days", state.retention_days),
    )
    .in_locale(locale)
}
