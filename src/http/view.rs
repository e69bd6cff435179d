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

use super::page::{Page, csp, secure};
use super::{AppState, Reply, subscriber};
use crate::domain::{Edition, StoryKind};
use crate::render::{Recipient, date_label};
use crate::select::{Digest, Pool, Scored};
use crate::store::Delivered;

/// GET: the digest as sent, or a page saying why not.
pub(super) async fn page(
    State(state): State<AppState>,
    Path((token, edition)): Path<(String, String)>,
) -> Result<Response, Reply> {
    let s = subscriber(&state, &token).await?;
    let edition: Edition = edition.parse().map_err(|_| Page::not_found())?;
    let story_ids = match state.store.delivered(s.id, &edition).await? {
        Delivered::Sent { story_ids, .. } if !story_ids.is_empty() => story_ids,
        Delivered::Pruned => return Err(expired(&state, &edition).into()),
        _ => return Err(not_sent(&edition).into()),
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

/// A link to an edition this subscriber did not receive.
fn not_sent(edition: &Edition) -> Page {
    Page::new(
        StatusCode::NOT_FOUND,
        "Digest not found",
        format!(
            "We have no digest of {} for this address. The link may be incomplete: try copying the whole link from the email.",
            date_label(edition.date)
        ),
    )
}

/// A link older than the ledger keeps.
fn expired(state: &AppState, edition: &Edition) -> Page {
    let archive = if state.archive.enabled {
        " Its stories are still in the archive."
    } else {
        ""
    };
    Page::new(
        StatusCode::GONE,
        "No longer online",
        format!(
            "Sorry, the digest of {} is no longer kept online: we keep each reader's digests for {} days.{archive}",
            date_label(edition.date),
            state.retention_days
        ),
    )
}
