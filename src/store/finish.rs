//! Recording outcomes on the ledger, on a connection the run holds
//! ([`Ledger`]): one group commit finishes a batch of claimed rows with
//! `UPDATE … FROM (VALUES …)` (one statement per 500 rows) and, in the same
//! transaction, counts bounces and clears them.
//! Only rows still `sending` under the recording run are touched, so a row
//! another run took over (after this one was judged dead) is not
//! overwritten.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use sqlx::pool::PoolConnection;
use sqlx::{Postgres, QueryBuilder, Sqlite};

use super::bounces::record_event;
use super::{Pool, Store, now, with_pool};
use crate::domain::{BounceRules, Category, EventAction, NewEvent, Outcome, Source, fingerprint};

/// Where one run's ledger writes (the recorder's group commits) go: a
/// connection held for the run when the pool can spare one, else one
/// borrowed per commit. sqlx pings a pooled connection whenever it goes
/// back to the pool: on SQLite one more round trip to the connection's
/// thread, and a task, for every commit, thousands a second during a send
/// (held, sends of 20,000 digests ran 3-8% faster, interleaved with the
/// pooled form). At most half the pool is held this way, so the other
/// queries of concurrent runs (claims, loads, heartbeats) always find
/// connections.
pub struct Ledger {
    store: Store,
    held: Option<Conn>,
}

enum Conn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

/// Runs `$body` with `$conn` bound to the connection of the concrete
/// backend (as `with_pool!` does for the pool).
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Conn::Sqlite($c) => $body,
            Conn::Postgres($c) => $body,
        }
    };
}

impl Store {
    /// The ledger writer of one run (see [`Ledger`]).
    pub async fn ledger(&self) -> anyhow::Result<Ledger> {
        let max = with_pool!(self, pool => pool.options().get_max_connections());
        let holders = &self.ledgers_held;
        let spare = holders
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                ((n + 1) * 2 <= max).then_some(n + 1)
            })
            .is_ok();
        let held = match spare {
            false => None,
            true => match self.connection().await {
                Ok(conn) => Some(conn),
                Err(e) => {
                    holders.fetch_sub(1, Ordering::AcqRel);
                    return Err(e);
                }
            },
        };
        Ok(Ledger {
            store: self.clone(),
            held,
        })
    }

    async fn connection(&self) -> anyhow::Result<Conn> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => Conn::Sqlite(pool.acquire().await?),
            Pool::Postgres(pool) => Conn::Postgres(pool.acquire().await?),
        })
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        if self.held.take().is_some() {
            self.store.ledgers_held.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl Ledger {
    /// Records how deliveries claimed by run `run_id` ended, in one
    /// transaction. Only rows still in `sending` under that run are
    /// touched, so a row another run took over is not overwritten with
    /// stale news.
    ///
    /// A permanent refusal is recorded as a bounce event of source `smtp`
    /// and applied to the subscriber by `rules` (a hard refusal counts
    /// towards a threshold, a policy block changes nothing); a delivery
    /// resets the bounce count.
    pub async fn finish(
        &mut self,
        results: &[(i64, i64, Outcome)],
        run_id: i64,
        rules: &BounceRules,
    ) -> anyhow::Result<()> {
        if results.is_empty() {
            return Ok(());
        }
        let at = now();
        let refusals = refusal_events(results, at);
        let cleared = bounces_cleared(results);
        let rows: Vec<FinishRow> = results.iter().map(|(id, _, o)| FinishRow::new(*id, o)).collect();
        let mut borrowed = None;
        let conn = match &mut self.held {
            Some(conn) => conn,
            None => borrowed.insert(self.store.connection().await?),
        };
        with_conn!(conn, conn => {
            // One statement per chunk; a transaction only when subscribers
            // change too. Group commits are what keep the ledger in step
            // with the relay, so each one costs as few round trips as it can.
            if refusals.is_empty() && cleared.is_empty() && rows.len() <= FINISH_ROWS_PER_STATEMENT {
                finish_statement(&rows, at, run_id).build().execute(&mut **conn).await?;
                return Ok(());
            }
            let mut tx = sqlx::Connection::begin(&mut **conn).await?;
            let mut touched = std::collections::HashSet::new();
            for chunk in rows.chunks(FINISH_ROWS_PER_STATEMENT) {
                let mut qb = finish_statement(chunk, at, run_id);
                qb.push(" RETURNING deliveries.id");
                let ids: Vec<i64> = qb.build_query_scalar().fetch_all(&mut *tx).await?;
                touched.extend(ids);
            }
            // The relay's refusals are events like any bounce report, applied
            // to the subscriber in the same transaction as the ledger; only
            // for rows this run still held (a row re-claimed by another
            // run after this one was judged dead is that run's news).
            for ev in refusals.iter().filter(|e| e.delivery_id.is_some_and(|d| touched.contains(&d))) {
                let _ = record_event!(tx, ev, rules);
            }
            if !cleared.is_empty() {
                let mut qb = QueryBuilder::new("UPDATE subscribers SET bounce_count = 0 WHERE bounce_count > 0 AND id IN (");
                let mut sep = qb.separated(", ");
                for id in &cleared {
                    sep.push_bind(*id);
                }
                qb.push(")");
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}

/// The relay's permanent refusals among `results`, as bounce events of
/// source `smtp` at `at`.
fn refusal_events(results: &[(i64, i64, Outcome)], at: DateTime<Utc>) -> Vec<NewEvent> {
    results
        .iter()
        .filter_map(|(delivery, subscriber, o)| match o {
            Outcome::Failed {
                refusal: Some(r),
                error,
                ..
            } => Some(NewEvent {
                at,
                source: Source::Smtp,
                category: r.category,
                status: r.status.clone(),
                reason: r.reason.clone(),
                diagnostic: error.clone(),
                subscriber_id: Some(*subscriber),
                delivery_id: Some(*delivery),
                edition_id: None,
                recipient: None,
                report_key: None,
                // A vague code (5.0.0) is no firmer than none.
                firm: r.status.as_deref().is_some_and(|c| !c.ends_with(".0.0")),
                act: true,
            }),
            _ => None,
        })
        .collect()
}

/// The subscribers a delivery among `results` clears of their bounces.
fn bounces_cleared(results: &[(i64, i64, Outcome)]) -> Vec<i64> {
    results
        .iter()
        .filter(|(_, _, o)| {
            matches!(
                o,
                Outcome::Sent {
                    clears_bounces: true,
                    ..
                }
            )
        })
        .map(|(_, s, _)| *s)
        .collect()
}

/// Rows per `UPDATE … FROM (VALUES …)` in [`Store::finish`]: 8 parameters
/// each, well under SQLite's limit of 32,766.
const FINISH_ROWS_PER_STATEMENT: usize = 500;

/// One outcome as the columns it writes.
struct FinishRow<'a> {
    id: i64,
    status: &'static str,
    message_id: Option<&'a str>,
    story_ids: String,
    sent_at: Option<DateTime<Utc>>,
    error: Option<&'a str>,
    retry_at: Option<DateTime<Utc>>,
    window_end: Option<DateTime<Utc>>,
}

impl<'a> FinishRow<'a> {
    fn new(id: i64, outcome: &'a Outcome) -> Self {
        let mut row = FinishRow {
            id,
            status: outcome.status().as_str(),
            message_id: None,
            story_ids: String::new(),
            sent_at: None,
            error: None,
            retry_at: None,
            window_end: None,
        };
        match outcome {
            Outcome::Sent {
                message_id,
                story_ids,
                at,
                window_end,
                ..
            } => {
                let ids: Vec<String> = story_ids.iter().map(i64::to_string).collect();
                row.message_id = Some(message_id);
                row.story_ids = ids.join(",");
                row.sent_at = Some(*at);
                row.window_end = Some(*window_end);
            }
            Outcome::Skipped { reason } => row.error = Some(reason),
            Outcome::Deferred {
                message_id,
                error,
                retry_at,
            } => {
                row.message_id = message_id.as_deref();
                row.error = Some(error);
                row.retry_at = Some(*retry_at);
            }
            Outcome::Failed {
                message_id, error, ..
            } => {
                row.message_id = message_id.as_deref();
                row.error = Some(error);
            }
        }
        row
    }
}

/// `UPDATE deliveries … FROM (VALUES …)`: the outcomes of many rows in one
/// statement (both backends name a `VALUES` list's columns `column1`,
/// `column2`, …). Only rows still in `sending` under `run_id` are touched.
fn finish_statement<DB>(rows: &[FinishRow<'_>], at: DateTime<Utc>, run_id: i64) -> QueryBuilder<DB>
where
    DB: sqlx::Database,
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> &'t str: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<&'t str>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<DateTime<Utc>>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> DateTime<Utc>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    let mut qb = QueryBuilder::new(
        "UPDATE deliveries SET status = v.column2, message_id = COALESCE(v.column3, deliveries.message_id), \
         story_ids = v.column4, sent_at = v.column5, last_error = v.column6, next_attempt_at = v.column7, \
         window_end = v.column8, lease_until = NULL, updated_at = ",
    );
    qb.push_bind(at).push(" FROM (");
    qb.push_values(rows, |mut b, r| {
        b.push_bind(r.id)
            .push_bind(r.status)
            .push_bind(r.message_id)
            .push_bind(r.story_ids.as_str())
            .push_bind(r.sent_at)
            .push_bind(r.error)
            .push_bind(r.retry_at)
            .push_bind(r.window_end);
    });
    qb.push(
        ") AS v WHERE deliveries.id = v.column1 AND deliveries.status = 'sending' AND deliveries.run_id = ",
    )
    .push_bind(run_id);
    qb
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DatabaseConfig, DatabaseUrl};

    async fn open(dir: &tempfile::TempDir, max_connections: u32) -> Store {
        let url = format!("sqlite://{}/herald-{max_connections}.db", dir.path().display());
        Store::connect(&DatabaseConfig {
            url: DatabaseUrl::parse(&url).unwrap(),
            max_connections,
        })
        .await
        .unwrap()
    }

    /// Ledgers hold at most half the pool; the others borrow a connection
    /// per commit; a dropped ledger gives its slot back.
    #[tokio::test]
    async fn ledgers_hold_at_most_half_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir, 5).await;
        let a = store.ledger().await.unwrap();
        let b = store.ledger().await.unwrap();
        let mut c = store.ledger().await.unwrap();
        assert!(a.held.is_some() && b.held.is_some());
        assert!(c.held.is_none(), "a third would leave the others one connection");
        c.finish(&[], 1, &BounceRules::default()).await.unwrap();
        drop(a);
        assert!(store.ledger().await.unwrap().held.is_some());

        let single = open(&dir, 1).await;
        assert!(single.ledger().await.unwrap().held.is_none());
        assert_eq!(single.ledgers_held.load(Ordering::Acquire), 0);
    }
}
