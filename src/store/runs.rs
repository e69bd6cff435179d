//! Queries on `runs`: the processes that send. A run registers, renews its
//! heartbeat and stops here, always on the database's clock
//! (`CURRENT_TIMESTAMP` in SQLite's text form, `now()` on PostgreSQL), so
//! that whether a run is alive is judged by one clock and not by each
//! machine's. Whether a process on this host still exists is the engine's
//! question (it reads `/proc`); this file only records the answer. A run is
//! *live* when it has not stopped and its heartbeat is no older than the
//! timeout the caller passes (`delivery.heartbeat_timeout`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Backend, Store, with_pool};

/// A run still registered as running on one host, for the liveness check.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OpenRun {
    pub id: i64,
    pub pid: i64,
    pub start_marker: String,
}

/// Rows of an edition in `sending` under one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HeldBy {
    pub run_id: i64,
    pub host: String,
    pub pid: i64,
    pub rows: i64,
    /// Whether the run is live (not stopped, heartbeat within the timeout):
    /// its claims are respected. A dead run's rows are free for the next
    /// claim.
    pub live: bool,
    /// When the run's claims become free if it goes silent now: its last
    /// heartbeat plus the timeout.
    pub until: DateTime<Utc>,
}

impl Store {
    /// The database's current time, whole seconds, as an SQL expression.
    pub(super) fn db_now(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now')",
            Backend::Postgres => "date_trunc('second', now())",
        }
    }

    /// The database's current time minus the seconds bound at `$param`, as
    /// an SQL expression: the oldest heartbeat of a live run.
    pub(super) fn db_cutoff(&self, param: &str) -> String {
        match self.backend() {
            Backend::Sqlite => {
                format!("strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-' || {param} || ' seconds')")
            }
            Backend::Postgres => format!("(date_trunc('second', now()) - make_interval(secs => {param}))"),
        }
    }

    /// Registers a run of process `pid` on `host`; returns its id.
    pub async fn register_run(&self, host: &str, pid: u32, start_marker: &str) -> anyhow::Result<i64> {
        let now = self.db_now();
        let sql = format!(
            "INSERT INTO runs (host, pid, start_marker, started_at, heartbeat_at) \
             VALUES ($1, $2, $3, {now}, {now}) RETURNING id"
        );
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(host)
                .bind(i64::from(pid))
                .bind(start_marker)
                .fetch_one(pool)
                .await?
        }))
    }

    /// Renews the heartbeat of run `id`. Returns false when the run had
    /// already stopped or gone silent for longer than `timeout`: other runs
    /// may have taken its claims, so it must not send any more.
    pub async fn renew_run(&self, id: i64, timeout: Duration) -> anyhow::Result<bool> {
        let sql = format!(
            "UPDATE runs SET heartbeat_at = {} WHERE id = $1 AND stopped_at IS NULL AND heartbeat_at >= {}",
            self.db_now(),
            self.db_cutoff("$2")
        );
        let n = with_pool!(self, pool => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(timeout.as_secs_f64())
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Marks runs stopped: a clean exit, or runs whose process is gone.
    pub async fn stop_runs(&self, ids: &[i64]) -> anyhow::Result<()> {
        let now = self.db_now();
        for id in ids {
            let sql = format!("UPDATE runs SET stopped_at = {now} WHERE id = $1 AND stopped_at IS NULL");
            with_pool!(self, pool => {
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(*id).execute(pool).await?;
            });
        }
        Ok(())
    }

    /// Runs on `host` other than `except` that have not stopped.
    pub async fn open_runs_on(&self, host: &str, except: i64) -> anyhow::Result<Vec<OpenRun>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, pid, start_marker FROM runs WHERE host = $1 AND stopped_at IS NULL AND id <> $2",
            )
            .bind(host)
            .bind(except)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Who holds the edition's rows in `sending`, run by run, judged live
    /// or not with `timeout` on the database's clock.
    pub async fn held_by(&self, edition_id: i64, timeout: Duration) -> anyhow::Result<Vec<HeldBy>> {
        let sql = format!(
            "SELECT r.id, r.host, r.pid, COUNT(*), \
             CASE WHEN r.stopped_at IS NULL AND r.heartbeat_at >= {} THEN 1 ELSE 0 END, r.heartbeat_at \
             FROM deliveries d JOIN runs r ON r.id = d.run_id \
             WHERE d.edition_id = $1 AND d.status = 'sending' \
             GROUP BY r.id, r.host, r.pid, r.stopped_at, r.heartbeat_at ORDER BY r.id",
            self.db_cutoff("$2")
        );
        let rows: Vec<(i64, String, i64, i64, i32, DateTime<Utc>)> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(edition_id)
                .bind(timeout.as_secs_f64())
                .fetch_all(pool)
                .await?
        });
        let timeout = chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::seconds(30));
        Ok(rows
            .into_iter()
            .map(|(run_id, host, pid, rows, live, heartbeat_at)| HeldBy {
                run_id,
                host,
                pid,
                rows,
                live: live == 1,
                until: heartbeat_at + timeout,
            })
            .collect())
    }
}
