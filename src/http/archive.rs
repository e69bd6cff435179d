//! The public archive, served only when `archive.enabled`: `/archive`
//! lists the editions that went out, newest first, with their dates and
//! lead headlines; `/archive/{edition}` shows an edition's generic digest;
//! `/archive/feed.xml` is the list as an Atom feed (RFC 4287). The generic
//! digest is what `select` picks for a reader of every section with no
//! history, from the stories as of the moment the edition was first
//! queued (at the latest the end of its date): it is built from stories and the edition alone, so no name,
//! address or token can reach these pages, and it outlives the ledger's
//! retention. The answers are public and cacheable: an ETag (a hash of the
//! body) and a Last-Modified, and 304 to a matching conditional request.
//! The pages are in the visitor's language (`lang`, else Accept-Language,
//! with `Vary: Accept-Language`, else the site's); the feed in the site's.
//! A generic digest, once selected, is kept for [`FRESH`] ([`Memo`]): the
//! list and the feed show `archive.editions` of them, and a request should
//! not read and rank every one's stories again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use tera::Context;

use super::lang::Visitor;
use super::page::{Page, Public, Text, common, csp};
use super::{AppState, Reply};
use crate::domain::{
    Edition, Frequency, History, SendHour, Story, Subscriber, SubscriberEmail, SubscriberStatus, TimeZone,
    Token, Topics,
};
use crate::i18n::{Catalogs, Resolved};
use crate::select::{self, Pool};
use crate::store::{Archived, StoryFilter};

/// How long a cache may keep an archive answer without asking again.
const MAX_AGE_SECONDS: u32 = 300;

/// Headlines per edition on the list and in the feed.
const HEADLINES: usize = 3;

/// How long a generic digest is served from the [`Memo`] before it is
/// selected again (a story's votes or title may have changed since): well
/// inside the [`MAX_AGE_SECONDS`] a cache is allowed anyway.
const FRESH: Duration = Duration::from_secs(60);

/// GET /archive.
pub(super) async fn index(
    State(state): State<AppState>,
    visitor: Visitor,
    headers: HeaderMap,
) -> Result<Response, Reply> {
    if !state.archive.enabled {
        return Err(not_found().into());
    }
    let r = state.catalogs.resolve(visitor.locale.as_ref());
    let editions = digests(&state).await?;
    let mut modified = None;
    let list: Vec<ListItem> = editions
        .iter()
        .map(|d| {
            modified = modified.max(Some(d.modified));
            Ok(ListItem {
                url: state.links.archive_edition(&d.edition),
                date: d.edition.date.to_string(),
                date_label: crate::i18n::format::date(&r.lang, d.edition.date),
                frequency_label: frequency_label(&state.catalogs, &r, d.edition.frequency)?,
                headlines: d
                    .stories
                    .iter()
                    .take(HEADLINES)
                    .map(|s| s.title.clone())
                    .collect(),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let mut vars = Context::new();
    let title = Text::new("page-archive-title")
        .format(&state.catalogs, &r)
        .map_err(anyhow::Error::from)?;
    vars.insert("title", &title);
    vars.insert("editions", &list);
    vars.insert("feed_url", &state.links.archive_feed());
    vars.insert("subscribe_url", &state.links.subscribe());
    let page = state.pages.public("archive.html", &r, vars)?;
    Ok(cached(&headers, page, modified))
}

/// GET /archive/{edition}.
pub(super) async fn edition(
    State(state): State<AppState>,
    Path(key): Path<String>,
    visitor: Visitor,
    headers: HeaderMap,
) -> Result<Response, Reply> {
    if !state.archive.enabled {
        return Err(not_found().into());
    }
    let r = state.catalogs.resolve(visitor.locale.as_ref());
    let edition: Edition = key.parse().map_err(|_| not_found())?;
    let archived = state
        .store
        .archived_edition(&edition)
        .await?
        .ok_or_else(not_found)?;
    let d = generic(&state, archived).await?;
    let (top, blogs): (Vec<&Story>, Vec<&Story>) = d
        .stories
        .iter()
        .partition(|s| s.kind == crate::domain::StoryKind::Story);
    let mut vars = Context::new();
    vars.insert("title", &edition_title(&state.catalogs, &r, &edition)?);
    vars.insert(
        "frequency_label",
        &frequency_label(&state.catalogs, &r, edition.frequency)?,
    );
    vars.insert("date", &edition.date.to_string());
    vars.insert("date_label", &crate::i18n::format::date(&r.lang, edition.date));
    vars.insert("top_stories", &items(top));
    vars.insert("blog_posts", &items(blogs));
    vars.insert("feed_url", &state.links.archive_feed());
    vars.insert("subscribe_url", &state.links.subscribe());
    let page = state.pages.public("archive_edition.html", &r, vars)?;
    Ok(cached(&headers, page, Some(d.modified)))
}

/// GET /archive/feed.xml.
pub(super) async fn feed(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Reply> {
    if !state.archive.enabled {
        return Err(not_found().into());
    }
    let r = state.catalogs.resolve(None);
    let editions = digests(&state).await?;
    let updated = editions.iter().map(|d| d.modified).max();
    let entries: Vec<FeedEntry> = editions
        .iter()
        .map(|d| {
            let headlines: Vec<&str> = d.stories.iter().map(|s| s.title.as_str()).collect();
            Ok(FeedEntry {
                title: edition_title(&state.catalogs, &r, &d.edition)?,
                url: state.links.archive_edition(&d.edition),
                updated: rfc3339(d.modified),
                summary: headlines
                    .iter()
                    .take(HEADLINES)
                    .copied()
                    .collect::<Vec<_>>()
                    .join(" · "),
                content: entry_html(&d.stories),
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let mut vars = Context::new();
    vars.insert("editions", &entries);
    vars.insert("feed_url", &state.links.archive_feed());
    // The feed's own id and alternate link: the archive page (set by the
    // site's context only when the archive is on, as it is here).
    vars.insert("archive_url", &state.links.archive());
    // A feed with no entry yet is as old as the Unix epoch: nothing changed.
    vars.insert("updated", &rfc3339(updated.unwrap_or_default()));
    let page = state.pages.public("feed.xml", &r, vars)?;
    Ok(cached(&headers, page, updated))
}

/// The generic digests selected in the last [`FRESH`], by edition and the
/// instant they were selected as of. Its keys are editions the store
/// archives, so it holds at most as many digests as there are editions; a
/// stale one is dropped when the next is put in.
#[derive(Default)]
pub(super) struct Memo {
    digests: Mutex<HashMap<Archived, (Instant, Arc<EditionDigest>)>>,
}

impl Memo {
    /// The digest kept for `key`, if selected less than [`FRESH`] before
    /// `now`.
    fn get(&self, key: &Archived, now: Instant) -> Option<Arc<EditionDigest>> {
        let digests = self
            .digests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        digests
            .get(key)
            .filter(|(at, _)| now.saturating_duration_since(*at) < FRESH)
            .map(|(_, d)| d.clone())
    }

    /// Keeps `digest`, selected at `now`, and drops the stale ones.
    fn put(&self, key: Archived, digest: Arc<EditionDigest>, now: Instant) {
        let mut digests = self
            .digests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        digests.retain(|_, (at, _)| now.saturating_duration_since(*at) < FRESH);
        digests.insert(key, (now, digest));
    }
}

/// One edition with its generic digest.
pub(super) struct EditionDigest {
    edition: Edition,
    /// Top stories, then blog posts.
    stories: Vec<Story>,
    /// The latest of the edition's queueing and its stories' updates.
    modified: DateTime<Utc>,
}

#[derive(Serialize)]
struct ListItem {
    url: String,
    date: String,
    date_label: String,
    frequency_label: String,
    headlines: Vec<String>,
}

#[derive(Serialize)]
struct StoryItem<'a> {
    title: &'a str,
    url: &'a str,
    summary: &'a str,
    author: &'a str,
    section: &'a str,
}

impl<'a> From<&'a Story> for StoryItem<'a> {
    fn from(s: &'a Story) -> Self {
        StoryItem {
            title: &s.title,
            url: &s.url,
            summary: &s.summary,
            author: &s.author,
            section: &s.section,
        }
    }
}

#[derive(Serialize)]
struct FeedEntry {
    title: String,
    url: String,
    updated: String,
    summary: String,
    /// HTML, escaped once more by the template, as `type="html"` wants.
    content: String,
}

fn items(list: Vec<&Story>) -> Vec<StoryItem<'_>> {
    list.into_iter().map(StoryItem::from).collect()
}

fn not_found() -> Page {
    Page::new(
        StatusCode::NOT_FOUND,
        "page-no-such-page-title",
        "page-no-such-page-message",
    )
}

/// "Daily digest", "Weekly digest", in `r`'s language.
fn frequency_label(c: &Catalogs, r: &Resolved<'_>, f: Frequency) -> anyhow::Result<String> {
    Ok(Text::new("page-archive-frequency")
        .arg("frequency", f.as_str())
        .format(c, r)?)
}

/// "Daily digest, 10 March 2026", in `r`'s language.
fn edition_title(c: &Catalogs, r: &Resolved<'_>, e: &Edition) -> anyhow::Result<String> {
    Ok(Text::new("page-archive-edition-title")
        .arg("frequency", e.frequency.as_str())
        .arg("date", crate::i18n::format::date(&r.lang, e.date))
        .format(c, r)?)
}

/// The archive's editions with their generic digests.
async fn digests(state: &AppState) -> anyhow::Result<Vec<Arc<EditionDigest>>> {
    let limit = i64::try_from(state.archive.editions).unwrap_or(i64::MAX);
    let mut out = Vec::new();
    for archived in state.store.archived_editions(limit).await? {
        out.push(generic(state, archived).await?);
    }
    Ok(out)
}

/// What a reader of every section, new to the digest, got in `archived`,
/// from the [`Memo`] when it was selected lately.
async fn generic(state: &AppState, archived: Archived) -> anyhow::Result<Arc<EditionDigest>> {
    if let Some(d) = state.archive_memo.get(&archived, Instant::now()) {
        return Ok(d);
    }
    let d = Arc::new(select_generic(state, archived).await?);
    state.archive_memo.put(archived, d.clone(), Instant::now());
    Ok(d)
}

/// The generic digest of `archived`: selection as the engine does it, as
/// of the edition's instant ([`Archived::as_of`]).
async fn select_generic(state: &AppState, archived: Archived) -> anyhow::Result<EditionDigest> {
    let now = archived.as_of;
    let frequency = archived.edition.frequency;
    let filter = StoryFilter {
        since: Some(now - frequency.period() * 2),
        until: Some(now + chrono::Duration::seconds(1)),
        kind: None,
        limit: 100_000,
    };
    let stories = state.store.list_stories(&filter).await?;
    let pool = Arc::new(Pool::rank(stories, now, &state.rules));
    let digest = select::select(
        &pool,
        &everyone(frequency),
        &History::default(),
        now,
        &state.rules,
    );
    // Top stories first, then blog posts, each best first: the lead
    // headlines are news.
    let stories: Vec<Story> = digest
        .top_stories
        .iter()
        .chain(&digest.blog_posts)
        .map(|&i| pool.get(i).story.clone())
        .collect();
    let modified = stories
        .iter()
        .map(|s| s.updated_at)
        .fold(archived.as_of, DateTime::max);
    Ok(EditionDigest {
        edition: archived.edition,
        stories,
        modified,
    })
}

/// The reader the generic digest is selected for: every section, no
/// history. Only `select` sees it; nothing of it is rendered.
fn everyone(frequency: Frequency) -> Subscriber {
    let epoch = DateTime::<Utc>::default();
    Subscriber {
        id: 0,
        email: SubscriberEmail::parse("archive@example.invalid").expect("a valid address"),
        name: String::new(),
        status: SubscriberStatus::Active,
        timezone: TimeZone::parse("UTC").expect("UTC is a time zone"),
        frequency,
        send_hour: SendHour::new(0).expect("0 is an hour"),
        topics: Topics::default(),
        token: Token::generate(),
        created_at: epoch,
        confirmed_at: None,
        unsubscribed_at: None,
        updated_at: epoch,
        bounce_count: 0,
        paused_until: None,
        locale: None,
    }
}

/// An entry's content: the headlines as a linked list.
fn entry_html(stories: &[Story]) -> String {
    let mut out = String::from("<ul>");
    for s in stories {
        out.push_str("<li><a href=\"");
        out.push_str(&html_escape::encode_double_quoted_attribute(&s.url));
        out.push_str("\">");
        out.push_str(&html_escape::encode_text(&s.title));
        out.push_str("</a></li>");
    }
    out.push_str("</ul>");
    out
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The answer to a public GET: 304 when the request's `If-None-Match`
/// names this body's ETag (or, without one, when `If-Modified-Since` is not
/// older than `modified`), else the body; both with the caching headers.
fn cached(request: &HeaderMap, page: Public, modified: Option<DateTime<Utc>>) -> Response {
    let digest = Sha256::digest(page.body.as_bytes());
    let etag = format!("\"{}\"", hex::encode(&digest[..16]));
    let not_modified = match request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        Some(tags) => tags
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == etag || t == "*"),
        None => modified.is_some_and(|m| {
            request
                .get(header::IF_MODIFIED_SINCE)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
                .is_some_and(|since| m.timestamp() <= since.timestamp())
        }),
    };
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, page.content_type)],
            page.body,
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&etag).expect("hex is a header value"),
    );
    if let Some(m) = modified {
        let date = m.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        h.insert(
            header::LAST_MODIFIED,
            HeaderValue::from_str(&date).expect("a date is a header value"),
        );
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_str(&format!("public, max-age={MAX_AGE_SECONDS}")).expect("ASCII"),
    );
    // The pages follow Accept-Language.
    h.insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    common(h);
    h.insert(header::CONTENT_SECURITY_POLICY, csp(false));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archived(day: u32) -> Archived {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 3, day).unwrap();
        Archived {
            edition: Edition {
                frequency: Frequency::Daily,
                date,
            },
            as_of: date.and_hms_opt(6, 0, 0).unwrap().and_utc(),
        }
    }

    fn digest(a: Archived) -> Arc<EditionDigest> {
        Arc::new(EditionDigest {
            edition: a.edition,
            stories: Vec::new(),
            modified: a.as_of,
        })
    }

    #[test]
    fn the_memo_serves_a_digest_while_fresh_and_drops_stale_ones() {
        let memo = Memo::default();
        let (a, b) = (archived(10), archived(11));
        let t0 = Instant::now();
        assert!(memo.get(&a, t0).is_none());
        let kept = digest(a);
        memo.put(a, kept.clone(), t0);
        let got = memo
            .get(&a, t0 + FRESH - Duration::from_millis(1))
            .expect("fresh");
        assert!(Arc::ptr_eq(&got, &kept));
        assert!(memo.get(&a, t0 + FRESH).is_none(), "stale after FRESH");
        // The same edition queued at another instant is another digest.
        let moved = Archived {
            as_of: a.as_of + chrono::Duration::hours(1),
            ..a
        };
        assert!(memo.get(&moved, t0).is_none());

        memo.put(b, digest(b), t0 + FRESH);
        assert_eq!(memo.digests.lock().unwrap().len(), 1, "the stale one was dropped");
        assert!(memo.get(&b, t0 + FRESH).is_some());
    }
}
