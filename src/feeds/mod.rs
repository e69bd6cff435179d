//! Feed ingestion: fetch the registered RSS, Atom and JSON feeds (several at
//! once), turn their entries into stories and upsert them by canonical URL,
//! and record each feed's outcome. One bad feed never stops the others: its
//! error is recorded and the run goes on; a bad entry is skipped with a log
//! line; a fetch that works but yields no story from a non-empty document
//! is recorded with a warning. HTTP lives in `fetch`, the mapping rules
//! (pure) in `entries`, SQL in the store.

pub mod entries;
pub mod fetch;

use std::sync::Arc;

use futures_util::StreamExt;
use serde::Serialize;

use crate::config::Config;
use crate::domain::{FetchResult, text};
use crate::store::{Feed, Store, UpsertCounts};
use entries::Source;
use fetch::{Fetched, Fetcher};

/// How one feed's fetch went.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum FeedOutcome {
    Updated {
        entries: usize,
        inserted: u64,
        updated: u64,
        unchanged: u64,
        skipped: usize,
        /// Undated entries kept out (see `entries::Source::first_fetch`).
        held: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        warning: Option<String>,
    },
    NotModified,
    Failed {
        error: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedReport {
    pub id: i64,
    pub url: String,
    #[serde(flatten)]
    pub outcome: FeedOutcome,
}

/// Fetches feeds, `feeds.concurrency` at a time.
pub struct Ingester {
    store: Store,
    fetcher: Arc<Fetcher>,
    concurrency: usize,
    summary_chars: usize,
}

impl Ingester {
    pub fn new(config: &Config, store: Store) -> anyhow::Result<Ingester> {
        let user_agent = format!(
            "Herald/{} (+{})",
            env!("CARGO_PKG_VERSION"),
            config.site.public_url
        );
        Ok(Ingester {
            store,
            fetcher: Arc::new(Fetcher::new(&config.feeds, &user_agent)?),
            concurrency: config.feeds.concurrency,
            summary_chars: config.feeds.summary_chars,
        })
    }

    /// Fetches every registered feed.
    pub async fn fetch_all(&self) -> anyhow::Result<Vec<FeedReport>> {
        let feeds = self.store.list_feeds().await?;
        Ok(self.fetch(feeds).await)
    }

    /// Fetches the given feeds; the reports come back in the same order.
    /// Never fails: each feed's failure, store errors included, is in its
    /// report.
    pub async fn fetch(&self, feeds: Vec<Feed>) -> Vec<FeedReport> {
        let started = std::time::Instant::now();
        let mut reports: Vec<(usize, FeedReport)> = futures_util::stream::iter(feeds.into_iter().enumerate())
            .map(|(i, feed)| async move { (i, self.fetch_one(feed).await) })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        reports.sort_by_key(|(i, _)| *i);
        let failed = reports
            .iter()
            .filter(|(_, r)| matches!(r.outcome, FeedOutcome::Failed { .. }))
            .count();
        tracing::info!(
            feeds = reports.len(),
            failed,
            seconds = started.elapsed().as_secs_f64(),
            "feeds fetched"
        );
        reports.into_iter().map(|(_, r)| r).collect()
    }

    /// Fetches one feed. Never fails: a store error or a panic in the
    /// parser (feed-rs has unwraps a hostile feed can reach) is this feed's
    /// failure, recorded as such, and the other feeds go on.
    async fn fetch_one(&self, feed: Feed) -> FeedReport {
        let outcome = match self.try_fetch_one(&feed).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::error!(feed_id = feed.id, feed = %redacted(&feed.url), error = %format!("{e:#}"), "feed failed");
                let error = "internal error while processing this feed; see the log".to_owned();
                let _ = self
                    .store
                    .record_fetch(feed.id, &FetchResult::Failed { error: error.clone() })
                    .await;
                FeedOutcome::Failed { error }
            }
        };
        FeedReport {
            id: feed.id,
            url: feed.url,
            outcome,
        }
    }

    /// Fetches, parses and stores one feed: each step either hands its
    /// result to the next or ends with the feed's outcome.
    async fn try_fetch_one(&self, feed: &Feed) -> anyhow::Result<FeedOutcome> {
        let fetched = self
            .fetcher
            .fetch(&feed.url, feed.etag.as_deref(), feed.last_modified.as_deref())
            .await;
        let (body, etag, last_modified) = match fetched {
            Ok(Fetched::NotModified) => return self.not_modified(feed).await,
            Ok(Fetched::Body {
                bytes,
                url,
                etag,
                last_modified,
                content_type,
            }) => (
                Body {
                    bytes,
                    url,
                    content_type,
                },
                etag,
                last_modified,
            ),
            Err(error) => return self.failed(feed, error).await,
        };
        let parsed = match self.parse(feed, body).await? {
            Ok(parsed) => parsed,
            Err(error) => return self.failed(feed, error).await,
        };
        self.save(feed, parsed, etag, last_modified).await
    }

    async fn not_modified(&self, feed: &Feed) -> anyhow::Result<FeedOutcome> {
        self.store
            .record_fetch(feed.id, &FetchResult::NotModified)
            .await?;
        tracing::debug!(feed_id = feed.id, feed = %redacted(&feed.url), "not modified");
        Ok(FeedOutcome::NotModified)
    }

    /// Parses and maps a body off the async thread (it is CPU work). The
    /// inner error is the feed's failure: it is not a feed, or the parser
    /// panicked on it.
    async fn parse(&self, feed: &Feed, body: Body) -> anyhow::Result<Result<Parsed, String>> {
        let (kind, section, summary_chars) = (feed.kind, feed.section.clone(), self.summary_chars);
        // No earlier fetch found an entry: this one may meet years of
        // undated archive (see `entries::Source::first_fetch`).
        let first_fetch = feed.last_success_at.is_none() || feed.item_count == 0;
        let held = self.store.held_entries(feed.id).await?;
        let parsed = tokio::task::spawn_blocking(move || {
            let Body {
                bytes,
                url,
                content_type,
            } = body;
            let document = entries::parse(&bytes, content_type.as_deref(), &url)?;
            let source = Source {
                url: &url,
                kind,
                section: &section,
                summary_chars,
                fetched_at: crate::store::now(),
                first_fetch,
                held: &held,
            };
            Ok(Parsed::new(document, &source))
        })
        .await;
        match parsed {
            Ok(parsed) => Ok(parsed),
            Err(e) if e.is_panic() => Ok(Err(
                "the feed parser crashed on this feed (malformed input)".into()
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Upserts a feed's stories and records the fetch with the validators
    /// for the next conditional GET.
    async fn save(
        &self,
        feed: &Feed,
        parsed: Parsed,
        etag: Option<String>,
        last_modified: Option<String>,
    ) -> anyhow::Result<FeedOutcome> {
        let Parsed {
            title,
            entries: entry_count,
            mapped,
            warning,
        } = parsed;
        for why in &mapped.skipped {
            tracing::warn!(feed_id = feed.id, feed = %redacted(&feed.url), "skipped {}", clean_error(why));
        }
        let warning = warning.map(|w| clean_error(&w));
        if let Some(warning) = &warning {
            tracing::warn!(feed_id = feed.id, feed = %redacted(&feed.url), warning = %warning, "feed fetched with a warning");
        }
        if !mapped.held.is_empty() {
            tracing::info!(
                feed_id = feed.id,
                feed = %redacted(&feed.url),
                held = mapped.held.len(),
                "undated entries of a first fetch held back"
            );
        }
        let counts: UpsertCounts = self.store.upsert_feed_items(&mapped.items).await?;
        self.store.hold_entries(feed.id, &mapped.held).await?;
        let result = FetchResult::Fetched {
            title,
            etag,
            last_modified,
            item_count: entry_count as i64,
            warning: warning.clone(),
        };
        self.store.record_fetch(feed.id, &result).await?;
        let unchanged = mapped.items.len() as u64 - counts.inserted - counts.updated;
        tracing::info!(
            feed_id = feed.id,
            feed = %redacted(&feed.url),
            entries = entry_count,
            inserted = counts.inserted,
            updated = counts.updated,
            unchanged,
            skipped = mapped.skipped.len(),
            held = mapped.held.len(),
            "feed fetched"
        );
        Ok(FeedOutcome::Updated {
            entries: entry_count,
            inserted: counts.inserted,
            updated: counts.updated,
            unchanged,
            skipped: mapped.skipped.len(),
            held: mapped.held.len(),
            warning,
        })
    }

    /// Records a feed's failure. The text may quote the feed (feed-rs puts
    /// what it could not parse in its messages): it is cleaned first.
    async fn failed(&self, feed: &Feed, error: String) -> anyhow::Result<FeedOutcome> {
        let error = clean_error(&error);
        tracing::warn!(feed_id = feed.id, feed = %redacted(&feed.url), error = %error, "feed failed");
        self.store
            .record_fetch(feed.id, &FetchResult::Failed { error: error.clone() })
            .await?;
        Ok(FeedOutcome::Failed { error })
    }
}

/// A fetched body, with what decoding it needs.
struct Body {
    bytes: Vec<u8>,
    /// Where it came from, after redirects.
    url: url::Url,
    content_type: Option<String>,
}

/// A feed body read and mapped: the feed's title, how many entries it
/// had (items left out before parsing included), the stories made of them,
/// and what the fetch found wrong.
struct Parsed {
    title: String,
    entries: usize,
    mapped: entries::Mapped,
    warning: Option<String>,
}

impl Parsed {
    /// Maps a parsed feed; the extras pass reads the body it was parsed from.
    fn new(mut document: entries::Document, source: &Source<'_>) -> Parsed {
        let extras = entries::item_extras(&document.body);
        let feed = &document.feed;
        let mut mapped = entries::map_feed(feed, &extras, source);
        let entries = feed.entries.len() + document.skipped.len();
        let mut skipped = std::mem::take(&mut document.skipped);
        skipped.append(&mut mapped.skipped);
        mapped.skipped = skipped;
        let warning = warning(&document, &extras, &mapped);
        Parsed {
            title: entries::feed_title(feed),
            entries,
            mapped,
            warning,
        }
    }
}

/// A warning for a fetch that worked but yields no story from a
/// non-empty document: no entries read (from how many `item` or `entry`
/// elements it has), or every entry skipped (with the first reason).
fn warning(
    document: &entries::Document,
    extras: &[entries::ItemExtras],
    mapped: &entries::Mapped,
) -> Option<String> {
    let entries = document.feed.entries.len();
    if entries == 0 && mapped.skipped.is_empty() {
        return Some(if extras.is_empty() {
            format!("0 entries: the feed has no items (read as {})", document.encoding)
        } else {
            format!(
                "0 entries read from {} item or entry elements: this kind of feed is not understood",
                extras.len()
            )
        });
    }
    if mapped.items.is_empty() && !mapped.skipped.is_empty() {
        return Some(format!(
            "every entry was skipped ({}; first: {})",
            mapped.skipped.len(),
            mapped.skipped[0]
        ));
    }
    None
}

/// Text that came from outside, made safe to store, log and print: control
/// characters (newlines, ANSI escapes, NUL) become spaces, at most 300
/// characters.
fn clean_error(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    text::cut(&text::collapse(&cleaned), 300)
}

/// A feed URL for logs: private feeds carry credentials in the user info or
/// the query string, so both are left out.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            let query = u.query().is_some();
            u.set_query(None);
            let mut s = String::from(u);
            if query {
                s.push_str("?…");
            }
            s
        }
        Err(_) => "(unparsable URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_urls_are_safe_to_log() {
        assert_eq!(
            clean_error("bad\n\u{1b}[31mversion\u{0}: x"),
            "bad [31mversion : x"
        );
        assert!(clean_error(&"long ".repeat(200)).chars().count() <= 300);
        assert_eq!(
            redacted("https://user:secret@feeds.example.com/private.xml?token=abc"),
            "https://feeds.example.com/private.xml?…"
        );
    }
}
