//! `POST /api/stories`: the site pushes stories and popularity updates
//! (votes, comments) in the JSON `herald stories import` reads, and gets the
//! import summary back as JSON. Guarded by a bearer token compared in
//! constant time; answers 404 when no token is configured. Valid items are
//! written even when others are rejected, as the CLI does.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::AppState;
use crate::domain::NewStory;
use crate::import::{StoryFormat, read_stories};

/// Largest request body `POST /api/stories` accepts.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// Rejections listed in a response (the count is always complete).
const MAX_LISTED: usize = 100;

#[derive(Debug, Default, Serialize)]
struct Summary {
    imported: u64,
    updated: u64,
    unchanged: u64,
    rejected: u64,
    rejections: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn json(status: StatusCode, body: &impl Serialize) -> Response {
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(body).unwrap_or_default(),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn error(status: StatusCode, message: &str) -> Response {
    json(status, &serde_json::json!({ "error": message }))
}

/// Whether the request carries `Authorization: Bearer <expected>`. Both
/// sides are hashed first so the comparison takes the same time whatever
/// the lengths.
fn authorized(headers: &HeaderMap, expected: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token)
    else {
        return false;
    };
    let (a, b) = (
        Sha256::digest(given.trim().as_bytes()),
        Sha256::digest(expected.as_bytes()),
    );
    a.ct_eq(&b).into()
}

pub async fn stories(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(expected) = state.api_token.as_deref() else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    if !authorized(&headers, expected) {
        let mut r = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    // Parse on a blocking thread: a body may hold thousands of stories.
    let parsed = tokio::task::spawn_blocking(move || {
        let mut reader = std::io::Cursor::new(body);
        let format = StoryFormat::sniff(&mut reader).unwrap_or(StoryFormat::Json);
        let format = if format == StoryFormat::Csv {
            StoryFormat::Json
        } else {
            format
        };
        let mut summary = Summary::default();
        // Later items win over earlier ones with the same URL.
        let mut stories: Vec<NewStory> = Vec::new();
        let mut by_url: HashMap<String, usize> = HashMap::new();
        let result = read_stories(reader, format, |record| {
            match record {
                Ok((_, story)) => match by_url.get(story.url.as_str()) {
                    Some(&i) => stories[i] = story,
                    None => {
                        by_url.insert(story.url.as_str().to_owned(), stories.len());
                        stories.push(story);
                    }
                },
                Err(rejection) => {
                    summary.rejected += 1;
                    if summary.rejections.len() < MAX_LISTED {
                        summary.rejections.push(rejection.to_string());
                    }
                }
            }
            true
        });
        if let Err(e) = result {
            summary.error = Some(format!("{e:#}"));
        }
        (summary, stories)
    })
    .await;
    let (mut summary, stories) = match parsed {
        Ok(p) => p,
        Err(e) => return state.internal(anyhow::anyhow!("the parser thread failed: {e}")),
    };
    for chunk in stories.chunks(crate::store::ROWS_PER_STATEMENT) {
        match state.store.upsert_stories(chunk).await {
            Ok(counts) => {
                summary.imported += counts.inserted;
                summary.updated += counts.updated;
                summary.unchanged += chunk.len() as u64 - counts.inserted - counts.updated;
            }
            Err(e) => return state.internal(e.context("POST /api/stories: writing stories")),
        }
    }
    tracing::info!(
        imported = summary.imported,
        updated = summary.updated,
        unchanged = summary.unchanged,
        rejected = summary.rejected,
        "stories received over the API"
    );
    let status = if summary.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    json(status, &summary)
}

impl AppState {
    /// A JSON 500 that logs the cause and shows none of it.
    fn internal(&self, e: anyhow::Error) -> Response {
        tracing::error!(error = %format!("{e:#}"), "API request failed");
        error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}
