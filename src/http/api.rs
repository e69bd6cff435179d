//! `POST /api/stories`: the site pushes stories and popularity updates
//! (votes, comments) in the JSON `herald stories import` reads (every field
//! of a story record, its `lang` included), and gets the
//! import summary back as JSON. Guarded by a bearer token compared in
//! constant time (SHA-256 of both sides, then `subtle`), checked on the
//! headers before a byte of the body is read, so a stranger cannot make
//! Herald buffer anything; answers 404 when no token is configured. The records go through `import::run`, the batching
//! core the CLI uses, so valid items are written even when others are
//! rejected; a URL repeated in one body is one story. Internal errors are
//! logged and answered with a bare JSON 500.

use anyhow::Context;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{AppState, json};
use crate::domain::NewStory;
use crate::import::{self, Batching, Outcome, Record, Rejection, Repeats, StoryFormat, Writer, read_stories};
use crate::store::UpsertCounts;

/// Largest request body `POST /api/stories` accepts.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// Rejections listed in a response (the count is always complete).
const MAX_LISTED: usize = 100;

/// One story per URL in the body, the last copy winning: the answer counts
/// each story once. The body limit bounds the batch, so it is the whole body
/// and one transaction.
const BATCHING: Batching = Batching {
    rows: usize::MAX,
    repeats: Repeats::Replace,
};

/// The answer: the import summary, the first rejections and, when the body
/// stopped parsing, why.
#[derive(Debug, Serialize)]
struct Answer {
    imported: u64,
    updated: u64,
    unchanged: u64,
    rejected: u64,
    rejections: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
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

pub async fn stories(State(state): State<AppState>, req: Request) -> Response {
    let Some(expected) = state.api_token.as_deref() else {
        return error(StatusCode::NOT_FOUND, "not found");
    };
    if !authorized(req.headers(), expected) {
        let mut r = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        // The body is never read: hyper closes the connection after this
        // answer rather than drain it.
        return r;
    }
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is larger than {MAX_BODY} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return too_large();
    }
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(body) => body,
        // A chunked body that grew past the limit, or one cut off.
        Err(_) => return too_large(),
    };
    let parse = move |sink: &mut dyn FnMut(Record<NewStory>) -> bool| {
        let mut reader = std::io::Cursor::new(body);
        // A JSON array or JSON Lines; anything else is read as JSON, so that
        // what is wrong with it is said in JSON terms.
        let format = match StoryFormat::sniff(&mut reader).unwrap_or(StoryFormat::Json) {
            StoryFormat::Csv => StoryFormat::Json,
            format => format,
        };
        read_stories(reader, format, sink)
    };
    let mut writer = Stories {
        state: &state,
        rejections: Vec::new(),
    };
    let outcome = match import::run(parse, BATCHING, &mut writer).await {
        Ok(outcome) => outcome,
        Err(e) => return internal(e.context("POST /api/stories")),
    };
    let Outcome { summary: s, parsed } = outcome;
    tracing::info!(
        imported = s.imported,
        updated = s.updated,
        unchanged = s.unchanged,
        rejected = s.rejected,
        "stories received over the API"
    );
    let status = if parsed.is_err() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let answer = Answer {
        imported: s.imported,
        updated: s.updated,
        unchanged: s.unchanged,
        rejected: s.rejected,
        rejections: writer.rejections,
        error: parsed.err().map(|e| format!("{e:#}")),
    };
    json(status, &answer)
}

/// The API's [`Writer`]: upserts by URL and keeps the first rejections for
/// the answer.
struct Stories<'a> {
    state: &'a AppState,
    rejections: Vec<String>,
}

impl Writer<NewStory> for Stories<'_> {
    fn key(&self, story: &NewStory) -> String {
        story.url.as_str().to_owned()
    }

    async fn write(&mut self, batch: &[NewStory]) -> anyhow::Result<UpsertCounts> {
        self.state
            .store
            .upsert_stories(batch)
            .await
            .context("writing stories")
    }

    fn rejected(&mut self, rejection: Rejection) {
        if self.rejections.len() < MAX_LISTED {
            self.rejections.push(rejection.to_string());
        }
    }
}

/// A JSON 500 that logs the cause and shows none of it.
fn internal(e: anyhow::Error) -> Response {
    tracing::error!(error = %format!("{e:#}"), "API request failed");
    error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}
