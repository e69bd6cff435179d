//! Queries on the `stories` table.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use super::{Store, bad_row, now, with_pool};
use crate::domain::{FeedItem, Locale, NewStory, Story, StoryKind};

/// What an upsert did, row by row.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct UpsertCounts {
    pub inserted: u64,
    pub updated: u64,
}

/// Which stories `list_stories` returns, newest first.
#[derive(Debug, Clone, Default)]
pub struct StoryFilter {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub kind: Option<StoryKind>,
    pub limit: i64,
}

const COLUMNS: &str = "id, kind, title, url, summary, author, section, image_url, published_at, \
                       votes, comments, updated_at, lang";
const INSERT_COLUMNS: &str = "kind, title, url, summary, author, section, image_url, \
                              published_at, votes, comments, updated_at, lang";

#[derive(sqlx::FromRow)]
struct StoryRow {
    id: i64,
    kind: String,
    title: String,
    url: String,
    summary: String,
    author: String,
    section: String,
    image_url: Option<String>,
    published_at: DateTime<Utc>,
    votes: i64,
    comments: i64,
    updated_at: DateTime<Utc>,
    lang: Option<String>,
}

impl StoryRow {
    fn into_domain(self) -> anyhow::Result<Story> {
        Ok(Story {
            id: self.id,
            kind: self
                .kind
                .parse()
                .map_err(|e| bad_row("stories", self.id, "kind", e))?,
            title: self.title,
            url: self.url,
            summary: self.summary,
            author: self.author,
            section: self.section,
            image_url: self.image_url,
            published_at: self.published_at,
            votes: self.votes,
            comments: self.comments,
            updated_at: self.updated_at,
            lang: self
                .lang
                .as_deref()
                .map(Locale::parse)
                .transpose()
                .map_err(|e| bad_row("stories", self.id, "lang", e))?,
        })
    }

    /// Whether writing `new` over this row would change anything.
    fn differs_from(&self, new: &NewStory) -> bool {
        self.kind != new.kind.as_str()
            || self.title != new.title.as_str()
            || self.summary != new.summary
            || self.author != new.author.as_str()
            || self.section != new.section.as_str()
            || self.image_url.as_deref() != new.image_url.as_ref().map(|u| u.as_str())
            || self.published_at != new.published_at
            || self.votes != new.votes
            || self.comments != new.comments
            || self.lang.as_deref() != new.lang.as_ref().map(Locale::tag).as_deref()
    }
}

impl Store {
    /// Inserts or updates a batch of stories by url in one transaction. URLs
    /// in `batch` must be distinct. A row whose fields are all equal is not
    /// written at all.
    pub async fn upsert_stories(&self, batch: &[NewStory]) -> anyhow::Result<UpsertCounts> {
        self.upsert(batch, |_, _, _| {}).await
    }

    /// Upserts entries read from a feed. A feed knows less than the site:
    /// votes are kept from the stored row, and so are the comment count,
    /// the publication time and the language when the entry has none (an
    /// undated entry keeps the time it was first seen). Refetching an
    /// unchanged feed writes nothing.
    pub async fn upsert_feed_items(&self, items: &[FeedItem]) -> anyhow::Result<UpsertCounts> {
        let batch: Vec<NewStory> = items.iter().map(|i| i.story.clone()).collect();
        self.upsert(&batch, |i, old, new| {
            new.votes = old.votes;
            if !items[i].counted {
                new.comments = old.comments;
            }
            if !items[i].dated {
                new.published_at = old.published_at;
            }
            if new.lang.is_none() {
                // A tag another program wrote badly is read (and reported)
                // with the row; here it is simply not kept.
                new.lang = old.lang.as_deref().and_then(|t| Locale::parse(t).ok());
            }
        })
        .await
    }

    /// The upsert behind both: `merge(index in batch, stored row, new)`
    /// adjusts a story that already exists before it is compared and written.
    async fn upsert(
        &self,
        batch: &[NewStory],
        merge: impl Fn(usize, &StoryRow, &mut NewStory),
    ) -> anyhow::Result<UpsertCounts> {
        if batch.is_empty() {
            return Ok(UpsertCounts::default());
        }
        let at = now();
        let begin = self.begin_write();
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(begin).await?;
            let mut counts = UpsertCounts::default();
            for (n, chunk) in batch.chunks(super::ROWS_PER_STATEMENT).enumerate() {
                let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM stories WHERE url IN ("));
                let mut sep = qb.separated(", ");
                for s in chunk {
                    sep.push_bind(s.url.as_str());
                }
                qb.push(")");
                let rows: Vec<StoryRow> = qb.build_query_as().fetch_all(&mut *tx).await?;
                let existing: HashMap<String, StoryRow> =
                    rows.into_iter().map(|r| (r.url.clone(), r)).collect();
                let mut writes: Vec<NewStory> = Vec::with_capacity(chunk.len());
                for (j, s) in chunk.iter().enumerate() {
                    match existing.get(s.url.as_str()) {
                        None => {
                            counts.inserted += 1;
                            writes.push(s.clone());
                        }
                        Some(old) => {
                            let mut s = s.clone();
                            merge(n * super::ROWS_PER_STATEMENT + j, old, &mut s);
                            if old.differs_from(&s) {
                                counts.updated += 1;
                                writes.push(s);
                            }
                        }
                    }
                }
                if !writes.is_empty() {
                    let mut qb = QueryBuilder::new(format!("INSERT INTO stories ({INSERT_COLUMNS}) "));
                    qb.push_values(&writes, |mut b, s| {
                        b.push_bind(s.kind.as_str())
                            .push_bind(s.title.as_str())
                            .push_bind(s.url.as_str())
                            .push_bind(s.summary.as_str())
                            .push_bind(s.author.as_str())
                            .push_bind(s.section.as_str())
                            .push_bind(s.image_url.as_ref().map(|u| u.as_str()))
                            .push_bind(s.published_at)
                            .push_bind(s.votes)
                            .push_bind(s.comments)
                            .push_bind(at)
                            .push_bind(s.lang.as_ref().map(Locale::tag));
                    });
                    qb.push(
                        " ON CONFLICT (url) DO UPDATE SET kind = excluded.kind, title = excluded.title, \
                         summary = excluded.summary, author = excluded.author, section = excluded.section, \
                         image_url = excluded.image_url, published_at = excluded.published_at, \
                         votes = excluded.votes, comments = excluded.comments, updated_at = excluded.updated_at, \
                         lang = excluded.lang",
                    );
                    qb.build().execute(&mut *tx).await?;
                }
            }
            tx.commit().await?;
            Ok(counts)
        })
    }

    /// Which of `urls` are already stored (for dry-run imports).
    pub async fn existing_story_urls(
        &self,
        urls: &[&str],
    ) -> anyhow::Result<std::collections::HashSet<String>> {
        if urls.is_empty() {
            return Ok(Default::default());
        }
        let mut found = std::collections::HashSet::new();
        for chunk in urls.chunks(super::ROWS_PER_STATEMENT) {
            let page: Vec<String> = with_pool!(self, pool => {
                let mut qb = QueryBuilder::new("SELECT url FROM stories WHERE url IN (");
                let mut sep = qb.separated(", ");
                for u in chunk {
                    sep.push_bind(*u);
                }
                qb.push(")");
                qb.build_query_scalar().fetch_all(pool).await?
            });
            found.extend(page);
        }
        Ok(found)
    }

    /// The stories with these ids, in no particular order; ids that name
    /// no story are left out.
    pub async fn stories_by_id(&self, ids: &[i64]) -> anyhow::Result<Vec<Story>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(super::ROWS_PER_STATEMENT) {
            let rows: Vec<StoryRow> = with_pool!(self, pool => {
                let mut qb = QueryBuilder::new(format!("SELECT {COLUMNS} FROM stories WHERE id IN ("));
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(*id);
                }
                qb.push(")");
                qb.build_query_as().fetch_all(pool).await?
            });
            for row in rows {
                out.push(row.into_domain()?);
            }
        }
        Ok(out)
    }

    /// Stories newest first, filtered by publication time and kind.
    pub async fn list_stories(&self, filter: &StoryFilter) -> anyhow::Result<Vec<Story>> {
        let rows: Vec<StoryRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM stories \
                 WHERE ($1 IS NULL OR published_at >= $1) AND ($2 IS NULL OR published_at < $2) \
                 AND ($3 IS NULL OR kind = $3) \
                 ORDER BY published_at DESC, id DESC LIMIT $4"
            )))
            .bind(filter.since)
            .bind(filter.until)
            .bind(filter.kind.map(StoryKind::as_str))
            .bind(filter.limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(StoryRow::into_domain).collect()
    }
}
