//! What the reader-facing pages read: one subscriber's ledger row for an
//! edition ("view in browser"), the editions the public archive lists and
//! the site's sections (the signup box's topics). Only SQL; the pages
//! decide what to show.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Store, with_pool};
use crate::domain::{Edition, Frequency};

/// What the ledger says about one subscriber and one edition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    /// Sent: the story ids recorded on the row, best first.
    Sent {
        story_ids: Vec<i64>,
        sent_at: Option<DateTime<Utc>>,
    },
    /// The retention pass folded the edition's rows into counts: the ledger
    /// no longer says what anyone received.
    Pruned,
    /// No such edition, no row for this subscriber, or a row not sent.
    Missing,
}

/// An edition the archive shows: at least one digest of it went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Archived {
    pub edition: Edition,
    /// The instant the archive selects the edition's stories as of: when
    /// it was first queued, but never after the end of its date (UTC), so
    /// that an edition sent late (`herald send --date`) still shows its
    /// own day's stories.
    pub as_of: DateTime<Utc>,
}

/// An edition with at least one sent delivery, live or folded into counts.
const WAS_SENT: &str = "(EXISTS (SELECT 1 FROM deliveries d WHERE d.edition_id = e.id AND d.status = 'sent') \
     OR EXISTS (SELECT 1 FROM edition_totals t WHERE t.edition_id = e.id AND t.status = 'sent' AND t.count > 0))";

impl Store {
    /// The ledger row of `subscriber_id` for `edition`.
    pub async fn delivered(&self, subscriber_id: i64, edition: &Edition) -> anyhow::Result<Delivered> {
        let date = edition.date.format("%Y-%m-%d").to_string();
        type Row = (
            Option<DateTime<Utc>>,
            Option<String>,
            Option<String>,
            Option<DateTime<Utc>>,
        );
        let row: Option<Row> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT e.pruned_at, d.status, d.story_ids, d.sent_at FROM editions e \
                 LEFT JOIN deliveries d ON d.edition_id = e.id AND d.subscriber_id = $1 \
                 WHERE e.frequency = $2 AND e.edition_date = $3",
            )
            .bind(subscriber_id)
            .bind(edition.frequency.as_str())
            .bind(&date)
            .fetch_optional(pool)
            .await?
        });
        Ok(match row {
            None => Delivered::Missing,
            Some((_, Some(status), Some(ids), sent_at)) if status == "sent" => Delivered::Sent {
                story_ids: ids.split(',').filter_map(|id| id.parse().ok()).collect(),
                sent_at,
            },
            Some((Some(_), None, _, _)) => Delivered::Pruned,
            Some(_) => Delivered::Missing,
        })
    }

    /// The archive's editions, newest first (by date, then daily before
    /// weekly), at most `limit`.
    pub async fn archived_editions(&self, limit: i64) -> anyhow::Result<Vec<Archived>> {
        let rows: Vec<(String, String, DateTime<Utc>)> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT e.frequency, e.edition_date, e.created_at FROM editions e WHERE {WAS_SENT} \
                 ORDER BY e.edition_date DESC, e.frequency ASC LIMIT $1"
            )))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(archived).collect()
    }

    /// One edition of the archive, if it went out.
    pub async fn archived_edition(&self, edition: &Edition) -> anyhow::Result<Option<Archived>> {
        let date = edition.date.format("%Y-%m-%d").to_string();
        let row: Option<(String, String, DateTime<Utc>)> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT e.frequency, e.edition_date, e.created_at FROM editions e \
                 WHERE e.frequency = $1 AND e.edition_date = $2 AND {WAS_SENT}"
            )))
            .bind(edition.frequency.as_str())
            .bind(&date)
            .fetch_optional(pool)
            .await?
        });
        row.map(archived).transpose()
    }

    /// The stories' sections, most used first, at most `limit`.
    pub async fn sections(&self, limit: i64) -> anyhow::Result<Vec<String>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT section FROM stories WHERE section <> '' GROUP BY section \
                 ORDER BY COUNT(*) DESC, section ASC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }
}

fn archived((frequency, date, created_at): (String, String, DateTime<Utc>)) -> anyhow::Result<Archived> {
    let bad = |what: String| anyhow::anyhow!("table editions: {what}");
    let frequency: Frequency = frequency
        .parse()
        .map_err(|e| bad(format!("column frequency: {e}")))?;
    let date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .map_err(|_| bad(format!("column edition_date: {date:?} is not a date")))?;
    let end_of_date = date
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or(created_at);
    Ok(Archived {
        edition: Edition { frequency, date },
        as_of: created_at.min(end_of_date),
    })
}
