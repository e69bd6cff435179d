//! Ledger retention (`delivery.retention`): the delivery rows of editions
//! older than the retention are folded into per-edition, per-status counts
//! (`edition_totals`) and deleted, in bounded batches, each batch's fold and
//! delete in one transaction, so neither backend holds its write lock for
//! long and an interrupted pass leaves consistent counts behind (the next
//! pass carries on). The editions themselves, their pauses and their bounce
//! events stay; a bounce event loses only its `delivery_id` (the foreign
//! key sets it to NULL). Runs that ended before the retention and that no
//! delivery row names any more are deleted after the rows. How old is too old is the caller's (`now` and the
//! retention are passed in); this file only applies it.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::{Store, now, with_pool};
use crate::domain::{DeliveryStatus, StatusCounts};

/// Rows folded and deleted per transaction: large enough that a million-row
/// edition takes a few hundred statements, small enough that one
/// transaction holds SQLite's write lock (and PostgreSQL's row locks) for
/// tens of milliseconds, not seconds.
pub const PRUNE_BATCH: i64 = 5000;

/// One edition the retention pass folded (or, in a dry run, would fold).
#[derive(Debug, Clone, Serialize)]
pub struct PrunedEdition {
    /// The edition's key, e.g. `daily-2026-03-10`.
    pub edition: String,
    /// Delivery rows removed (in a dry run: that would be removed).
    pub rows: u64,
}

/// What one retention pass did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneReport {
    /// The oldest edition date kept: editions dated before it are folded.
    pub cutoff: Option<NaiveDate>,
    pub editions: Vec<PrunedEdition>,
    /// Runs deleted (in a dry run: that would be): ended before the
    /// retention and named by no delivery row any more.
    pub runs: u64,
}

impl PruneReport {
    /// Delivery rows removed in all.
    pub fn rows(&self) -> u64 {
        self.editions.iter().map(|e| e.rows).sum()
    }
}

impl Store {
    /// Folds and deletes the delivery rows of every edition dated more than
    /// `retention` before `now` whose rows have all been quiet (not updated,
    /// no digest selected) for `retention` as well; with `dry_run`, only
    /// counts them. Unfinished rows (queued, sending, deferred) are folded
    /// as they are: by then they are far past `delivery.max_age` and would
    /// never be sent. Safe to repeat and to run from several processes:
    /// each batch deletes only the rows it counts.
    ///
    /// The quiet condition is what keeps "never repeat a story" whole: the
    /// histories read only rows whose digest was selected within two
    /// periods (at most 14 days), and the retention is longer than that
    /// (checked at configuration load), so an edition sent late (a manual
    /// `herald send --date` of an old date) keeps its rows until its own
    /// digests leave every window.
    pub async fn prune_ledger(
        &self,
        retention: Duration,
        now: DateTime<Utc>,
        dry_run: bool,
    ) -> anyhow::Result<PruneReport> {
        self.prune_ledger_in_batches(retention, now, dry_run, PRUNE_BATCH)
            .await
    }

    /// [`Store::prune_ledger`] with `batch` rows per transaction (the tests
    /// use small batches to cross batch boundaries with a few rows).
    pub async fn prune_ledger_in_batches(
        &self,
        retention: Duration,
        now: DateTime<Utc>,
        dry_run: bool,
        batch: i64,
    ) -> anyhow::Result<PruneReport> {
        let batch = batch.max(1);
        let quiet_since = now - retention;
        let cutoff = quiet_since.date_naive();
        let mut report = PruneReport {
            cutoff: Some(cutoff),
            editions: Vec::new(),
            runs: 0,
        };
        for (edition_id, edition) in self.prunable_editions(cutoff, quiet_since).await? {
            let rows = if dry_run {
                self.delivery_rows(edition_id).await?
            } else {
                let rows = self.fold_edition(edition_id, batch).await?;
                tracing::info!(edition = %edition, rows, "delivery rows folded into the edition's counts (delivery.retention)");
                rows
            };
            report.editions.push(PrunedEdition { edition, rows });
        }
        // After the rows: the runs that sent them are free only then.
        report.runs = self.prune_runs(quiet_since, dry_run).await?;
        if report.runs > 0 && !dry_run {
            tracing::info!(runs = report.runs, "runs that ended before the retention removed");
        }
        Ok(report)
    }

    /// Deletes (with `dry_run`, counts) the runs that stopped, or last
    /// renewed their heartbeat, before `ended_before` and that no delivery
    /// row names: one row per process that ever sent would otherwise be
    /// kept for ever, and the claim reads the runs that are not live.
    async fn prune_runs(&self, ended_before: DateTime<Utc>, dry_run: bool) -> anyhow::Result<u64> {
        let condition = "COALESCE(stopped_at, heartbeat_at) < $1 \
             AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.run_id = runs.id)";
        Ok(with_pool!(self, pool => {
            if dry_run {
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM runs WHERE {condition}")))
                    .bind(ended_before)
                    .fetch_one(pool)
                    .await?;
                n as u64
            } else {
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM runs WHERE {condition}")))
                    .bind(ended_before)
                    .execute(pool)
                    .await?
                    .rows_affected()
            }
        }))
    }

    /// When the retention pass folded the edition's rows, if it did.
    pub async fn edition_pruned_at(&self, edition_id: i64) -> anyhow::Result<Option<DateTime<Utc>>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar::<_, Option<DateTime<Utc>>>("SELECT pruned_at FROM editions WHERE id = $1")
                .bind(edition_id)
                .fetch_optional(pool)
                .await?
                .flatten()
        }))
    }

    /// The folded counts of an edition (zero for an edition never pruned).
    pub(super) async fn folded_counts(&self, edition_id: i64) -> anyhow::Result<StatusCounts> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT status, count FROM edition_totals WHERE edition_id = $1")
                .bind(edition_id)
                .fetch_all(pool)
                .await?
        });
        let mut counts = StatusCounts::default();
        for (status, n) in rows {
            let status: DeliveryStatus = status
                .parse()
                .map_err(|e| anyhow::anyhow!("edition_totals of edition {edition_id}: column status: {e}"))?;
            counts.add(status, n);
        }
        Ok(counts)
    }

    /// Editions dated before `cutoff` that still have delivery rows, none of
    /// them touched since `quiet_since`, oldest first, with their keys.
    async fn prunable_editions(
        &self,
        cutoff: NaiveDate,
        quiet_since: DateTime<Utc>,
    ) -> anyhow::Result<Vec<(i64, String)>> {
        let cutoff = cutoff.format("%Y-%m-%d").to_string();
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT e.id, e.frequency || '-' || e.edition_date FROM editions e \
                 WHERE e.edition_date < $1 \
                 AND EXISTS (SELECT 1 FROM deliveries d WHERE d.edition_id = e.id) \
                 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.edition_id = e.id \
                   AND (d.updated_at >= $2 OR d.window_end >= $2)) \
                 ORDER BY e.edition_date, e.id",
            )
            .bind(cutoff)
            .bind(quiet_since)
            .fetch_all(pool)
            .await?
        }))
    }

    async fn delivery_rows(&self, edition_id: i64) -> anyhow::Result<u64> {
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE edition_id = $1")
                .bind(edition_id)
                .fetch_one(pool)
                .await?
        });
        Ok(n.max(0) as u64)
    }

    /// Folds one edition's rows, status by status, `batch` at a time;
    /// returns how many rows went. Each batch walks the `(edition_id,
    /// status, id)` index from the last id it deleted, so no batch rereads
    /// what an earlier one removed.
    async fn fold_edition(&self, edition_id: i64, batch: i64) -> anyhow::Result<u64> {
        let mut total = 0u64;
        for status in DeliveryStatus::ALL {
            let mut after = 0i64;
            loop {
                let ids = self.fold_batch(edition_id, status, after, batch).await?;
                let Some(last) = ids.iter().copied().max() else {
                    break;
                };
                total += ids.len() as u64;
                after = last;
                if (ids.len() as i64) < batch {
                    break;
                }
            }
        }
        let at = now();
        with_pool!(self, pool => {
            sqlx::query("UPDATE editions SET pruned_at = COALESCE(pruned_at, $1) WHERE id = $2")
                .bind(at)
                .bind(edition_id)
                .execute(pool)
                .await?;
        });
        Ok(total)
    }

    /// One transaction: deletes up to `batch` rows of `status` with an
    /// id above `after` and adds them to the edition's counts. The status is
    /// checked again by the delete itself, so a row that another process
    /// moved on in between is left for its own status's batches.
    async fn fold_batch(
        &self,
        edition_id: i64,
        status: DeliveryStatus,
        after: i64,
        batch: i64,
    ) -> anyhow::Result<Vec<i64>> {
        let begin = self.begin_write();
        Ok(with_pool!(self, pool => {
            let mut tx = pool.begin_with(begin).await?;
            let ids: Vec<i64> = sqlx::query_scalar(
                "DELETE FROM deliveries WHERE status = $2 AND id IN (SELECT id FROM deliveries \
                 WHERE edition_id = $1 AND status = $2 AND id > $3 ORDER BY id LIMIT $4) RETURNING id",
            )
            .bind(edition_id)
            .bind(status.as_str())
            .bind(after)
            .bind(batch)
            .fetch_all(&mut *tx)
            .await?;
            if !ids.is_empty() {
                sqlx::query(
                    "INSERT INTO edition_totals (edition_id, status, count) VALUES ($1, $2, $3) \
                     ON CONFLICT (edition_id, status) DO UPDATE SET count = edition_totals.count + excluded.count",
                )
                .bind(edition_id)
                .bind(status.as_str())
                .bind(ids.len() as i64)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            ids
        }))
    }
}
