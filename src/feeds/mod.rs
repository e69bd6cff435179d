//! Feed ingestion: fetch the registered RSS, Atom and JSON feeds (several at
//! once), turn their entries into stories and upsert them by canonical URL,
//! and record each feed's outcome. One bad feed never stops the others: its
//! error is recorded and the run goes on; a bad entry is skipped with a log
//! line. HTTP lives in `fetch`, the mapping rules (pure) in `entries`, SQL
//! in the store.

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
        let (bytes, url, etag, last_modified) = match fetched {
            Ok(Fetched::NotModified) => return self.not_modified(feed).await,
            Ok(Fetched::Body {
                bytes,
                url,
                etag,
                last_modified,
            }) => (bytes, url, etag, last_modified),
            Err(error) => return self.failed(feed, error).await,
        };
        let parsed = match self.parse(feed, bytes, url).await? {
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
    async fn parse(
        &self,
        feed: &Feed,
        bytes: Vec<u8>,
        url: url::Url,
    ) -> anyhow::Result<Result<Parsed, String>> {
        let (kind, section, summary_chars) = (feed.kind, feed.section.clone(), self.summary_chars);
        let parsed = tokio::task::spawn_blocking(move || {
            let parsed = entries::parse(&bytes, &url)?;
            let source = Source {
                url: &url,
                kind,
                section: &section,
                summary_chars,
                fetched_at: crate::store::now(),
            };
            Ok(Parsed::new(&parsed, &bytes, &source))
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
        } = parsed;
        for why in &mapped.skipped {
            tracing::warn!(feed_id = feed.id, feed = %redacted(&feed.url), "skipped {}", clean_error(why));
        }
        let counts: UpsertCounts = self.store.upsert_feed_items(&mapped.items).await?;
        let result = FetchResult::Fetched {
            title,
            etag,
            last_modified,
            item_count: entry_count as i64,
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
            "feed fetched"
        );
        Ok(FeedOutcome::Updated {
            entries: entry_count,
            inserted: counts.inserted,
            updated: counts.updated,
            unchanged,
            skipped: mapped.skipped.len(),
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

/// A feed body read and mapped: the feed's title, how many entries it
/// had, and the stories made of them.
struct Parsed {
    title: String,
    entries: usize,
    mapped: entries::Mapped,
}

impl Parsed {
    /// Maps a parsed feed; `body` is what it was parsed from, for the
    /// extras pass.
    fn new(feed: &feed_rs::model::Feed, body: &[u8], source: &Source<'_>) -> Parsed {
        let extras = entries::item_extras(body);
        let title = feed
            .title
            .as_ref()
            .map(|t| entries::plain_text(&t.content))
            .unwrap_or_default();
        Parsed {
            title,
            entries: feed.entries.len(),
            mapped: entries::map_feed(feed, &extras, source),
        }
    }
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
