//! Queries on `feeds`: the sources `herald feeds` manages and what their
//! last fetch learned (conditional-GET validators, last success, last error
//! or warning, item count), and `feed_held_entries`, the undated entries a
//! feed's first fetch held back. Fetching and parsing live in
//! `crate::feeds`, not here.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Store, bad_row, now, with_pool};
use crate::domain::{FetchResult, HeaderSafe, HttpUrl, StoryKind};

/// A registered feed.
#[derive(Debug, Clone, Serialize)]
pub struct Feed {
    pub id: i64,
    pub url: String,
    pub kind: StoryKind,
    /// Section given to its stories; empty: the entry's first category.
    pub section: String,
    /// The feed's own title, from the last successful fetch.
    pub title: String,
    #[serde(skip)]
    pub etag: Option<String>,
    #[serde(skip)]
    pub last_modified: Option<String>,
    pub last_fetched_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// What the last successful fetch found wrong (0 entries from a
    /// non-empty document, every entry skipped).
    pub last_warning: Option<String>,
    /// Entries in the last successful fetch.
    pub item_count: i64,
    pub created_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, url, kind, section, title, etag, last_modified, last_fetched_at, \
                       last_success_at, last_error, last_warning, item_count, created_at";

#[derive(sqlx::FromRow)]
struct FeedRow {
    id: i64,
    url: String,
    kind: String,
    section: String,
    title: String,
    etag: Option<String>,
    last_modified: Option<String>,
    last_fetched_at: Option<DateTime<Utc>>,
    last_success_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    last_warning: Option<String>,
    item_count: i64,
    created_at: DateTime<Utc>,
}

impl FeedRow {
    fn into_domain(self) -> anyhow::Result<Feed> {
        Ok(Feed {
            id: self.id,
            kind: self
                .kind
                .parse()
                .map_err(|e| bad_row("feeds", self.id, "kind", e))?,
            url: self.url,
            section: self.section,
            title: self.title,
            etag: self.etag,
            last_modified: self.last_modified,
            last_fetched_at: self.last_fetched_at,
            last_success_at: self.last_success_at,
            last_error: self.last_error,
            last_warning: self.last_warning,
            item_count: self.item_count,
            created_at: self.created_at,
        })
    }
}

impl Store {
    /// Registers a feed (kind `story` and no section unless given), or
    /// changes the kind or section of one already registered at `url`
    /// (only those given). A change forgets the conditional-GET validators,
    /// so the next fetch reads the whole feed again and applies it. Returns
    /// the feed and whether it is new.
    pub async fn add_feed(
        &self,
        url: &HttpUrl,
        kind: Option<StoryKind>,
        section: Option<&HeaderSafe>,
    ) -> anyhow::Result<(Feed, bool)> {
        let at = now();
        let existing = self.feed_by_url(url.as_str()).await?;
        if let Some(old) = &existing {
            let kind = kind.unwrap_or(old.kind);
            let section = section.map_or(old.section.as_str(), |s| s.as_str());
            if kind != old.kind || section != old.section {
                with_pool!(self, pool => {
                    sqlx::query(
                        "UPDATE feeds SET kind = $1, section = $2, etag = NULL, last_modified = NULL, \
                         updated_at = $3 WHERE id = $4",
                    )
                    .bind(kind.as_str())
                    .bind(section)
                    .bind(at)
                    .bind(old.id)
                    .execute(pool)
                    .await?;
                });
            }
        } else {
            with_pool!(self, pool => {
                sqlx::query(
                    "INSERT INTO feeds (url, kind, section, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
                     ON CONFLICT (url) DO NOTHING",
                )
                .bind(url.as_str())
                .bind(kind.unwrap_or(StoryKind::Story).as_str())
                .bind(section.map_or("", |s| s.as_str()))
                .bind(at)
                .execute(pool)
                .await?;
            });
        }
        let feed = self
            .feed_by_url(url.as_str())
            .await?
            .ok_or_else(|| anyhow::anyhow!("feed {url} vanished right after it was added"))?;
        Ok((feed, existing.is_none()))
    }

    pub async fn list_feeds(&self) -> anyhow::Result<Vec<Feed>> {
        let rows: Vec<FeedRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM feeds ORDER BY id")))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(FeedRow::into_domain).collect()
    }

    pub async fn feed_by_url(&self, url: &str) -> anyhow::Result<Option<Feed>> {
        let row: Option<FeedRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM feeds WHERE url = $1")))
                .bind(url)
                .fetch_optional(pool)
                .await?
        });
        row.map(FeedRow::into_domain).transpose()
    }

    pub async fn feed_by_id(&self, id: i64) -> anyhow::Result<Option<Feed>> {
        let row: Option<FeedRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM feeds WHERE id = $1")))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(FeedRow::into_domain).transpose()
    }

    /// Forgets a feed; the stories it brought stay. Returns whether it existed.
    pub async fn remove_feed(&self, id: i64) -> anyhow::Result<bool> {
        let n = with_pool!(self, pool => {
            sqlx::query("DELETE FROM feeds WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Records how a fetch of feed `id` ended.
    pub async fn record_fetch(&self, id: i64, result: &FetchResult) -> anyhow::Result<()> {
        let at = now();
        with_pool!(self, pool => {
            match result {
                FetchResult::Fetched { title, etag, last_modified, item_count, warning } => {
                    sqlx::query(
                        "UPDATE feeds SET title = $1, etag = $2, last_modified = $3, item_count = $4, \
                         last_fetched_at = $5, last_success_at = $5, last_error = NULL, last_warning = $6, \
                         updated_at = $5 WHERE id = $7",
                    )
                    .bind(title)
                    .bind(etag)
                    .bind(last_modified)
                    .bind(*item_count)
                    .bind(at)
                    .bind(warning)
                    .bind(id)
                    .execute(pool)
                    .await?;
                }
                FetchResult::NotModified => {
                    sqlx::query(
                        "UPDATE feeds SET last_fetched_at = $1, last_success_at = $1, last_error = NULL, \
                         updated_at = $1 WHERE id = $2",
                    )
                    .bind(at)
                    .bind(id)
                    .execute(pool)
                    .await?;
                }
                FetchResult::Failed { error } => {
                    sqlx::query(
                        "UPDATE feeds SET last_fetched_at = $1, last_error = $2, updated_at = $1 WHERE id = $3",
                    )
                    .bind(at)
                    .bind(error)
                    .bind(id)
                    .execute(pool)
                    .await?;
                }
            }
        });
        Ok(())
    }

    /// The URLs of feed `id`'s held-back entries.
    pub async fn held_entries(&self, id: i64) -> anyhow::Result<HashSet<String>> {
        let urls: Vec<(String,)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT url FROM feed_held_entries WHERE feed_id = $1")
                .bind(id)
                .fetch_all(pool)
                .await?
        });
        Ok(urls.into_iter().map(|(u,)| u).collect())
    }

    /// Remembers undated entries of feed `id` held back at its first
    /// fetch (already held ones are left as they are).
    pub async fn hold_entries(&self, id: i64, urls: &[HttpUrl]) -> anyhow::Result<()> {
        if urls.is_empty() {
            return Ok(());
        }
        let at = now();
        with_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for url in urls {
                sqlx::query(
                    "INSERT INTO feed_held_entries (feed_id, url, held_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (feed_id, url) DO NOTHING",
                )
                .bind(id)
                .bind(url.as_str())
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
