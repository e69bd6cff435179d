//! Queries on `editions` and `deliveries`: the delivery ledger. One row per
//! (edition, subscriber), guarded by a unique key, moves through
//! queued → sending (claimed by a run, see `runs`) → sent | skipped |
//! deferred | failed. Claims are atomic: PostgreSQL uses `FOR UPDATE SKIP LOCKED`,
//! SQLite serializes writers.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::QueryBuilder;

use super::{Backend, Store, now, with_pool};
use crate::domain::{Claim, DeliveryStatus, Edition, Frequency, History, StatusCounts, Subscriber};

/// When rows of an edition may next become claimable (see
/// [`Store::next_due`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextDue {
    /// The earliest retry time of a deferred row, on this machine's clock
    /// (the engine wrote it).
    pub retry_at: Option<DateTime<Utc>>,
    /// How long until the earliest live run that holds rows would be dead
    /// if it stopped renewing now, on the database's clock.
    pub held_expires_in: Option<chrono::Duration>,
}

/// Where a run's next claim of queued rows starts (see [`Store::claim`]):
/// after the last queued row it claimed, or from the first when its last
/// claim found fewer queued rows than it asked for. One per run and
/// edition; it only saves reading dead index entries, so a cursor that is
/// behind costs time, never a row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClaimCursor {
    after: i64,
}

impl ClaimCursor {
    /// Moves past the queued rows of a claim of `limit`. A queued row has
    /// never been attempted, so its claim is its first attempt; a row
    /// claimed again (deferred, or taken over from a dead run) has more.
    fn advance(&mut self, claims: &[Claim], limit: i64) {
        let fresh = claims.iter().filter(|c| c.attempts == 1);
        let last = fresh.clone().map(|c| c.delivery_id).max();
        self.after = match last {
            Some(last) if fresh.count() as i64 >= limit => last,
            _ => 0,
        };
    }
}

/// Where [`Store::unclaim`] puts the rows a run gives up.
#[derive(Debug, Clone, Copy)]
enum Unclaimed<'a> {
    /// Back in the queue (shutdown, a setup fault, a pause).
    Queued,
    /// Deferred until `retry_at`, with the reason (after an outage).
    Deferred {
        retry_at: DateTime<Utc>,
        reason: &'a str,
    },
}

/// An edition's ledger, read back for a summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerState {
    pub counts: StatusCounts,
    /// The earliest retry time of a deferred row.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Queued rows the guard holds (a paused edition or domain).
    pub paused: i64,
}

/// A delivery row, for `deliveries list`.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub edition: String,
    pub email: String,
    pub status: String,
    pub attempts: i32,
    pub message_id: Option<String>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// The id of an edition, creating it on first use. An edition whose
    /// rows the retention pass folded into counts is refused: its ledger no
    /// longer says who had it, so sending it again would send it twice.
    pub async fn ensure_edition(&self, edition: &Edition) -> anyhow::Result<i64> {
        let date = edition.date.format("%Y-%m-%d").to_string();
        let at = now();
        let id: i64 = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO editions (frequency, edition_date, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (frequency, edition_date) DO NOTHING",
            )
            .bind(edition.frequency.as_str())
            .bind(&date)
            .bind(at)
            .execute(pool)
            .await?;
            sqlx::query_scalar("SELECT id FROM editions WHERE frequency = $1 AND edition_date = $2")
                .bind(edition.frequency.as_str())
                .bind(&date)
                .fetch_one(pool)
                .await?
        });
        if let Some(at) = self.edition_pruned_at(id).await? {
            anyhow::bail!(
                "edition {edition} cannot be sent: its delivery rows were folded into counts on {} (delivery.retention), so the ledger no longer knows who received it",
                at.date_naive()
            );
        }
        Ok(id)
    }

    /// Queues the edition for every active subscriber of its frequency (or
    /// only those in `only`) who has no row for it yet; returns how many
    /// rows were added. The unique key makes this safe to repeat.
    pub async fn enqueue(
        &self,
        edition_id: i64,
        frequency: Frequency,
        only: Option<&[i64]>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<u64> {
        let at = super::now();
        // The address's domain (already lower-cased by SubscriberEmail).
        let domain_of_email = match self.backend() {
            Backend::Sqlite => "substr(email, instr(email, '@') + 1)",
            Backend::Postgres => "split_part(email, '@', 2)",
        };
        let mut added = 0;
        let chunks: Vec<Option<&[i64]>> = match only {
            None => vec![None],
            Some(ids) => ids.chunks(super::ROWS_PER_STATEMENT).map(Some).collect(),
        };
        for chunk in chunks {
            added += with_pool!(self, pool => {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO deliveries (edition_id, subscriber_id, domain, status, created_at, updated_at) SELECT ",
                );
                qb.push_bind(edition_id)
                    .push(", id, ")
                    .push(domain_of_email)
                    .push(", 'queued', ")
                    .push_bind(at)
                    .push(", ")
                    .push_bind(at)
                    .push(" FROM subscribers WHERE ");
                push_receives(&mut qb, frequency, now);
                if let Some(ids) = chunk {
                    qb.push(" AND id IN (");
                    let mut sep = qb.separated(", ");
                    for id in ids {
                        sep.push_bind(*id);
                    }
                    qb.push(")");
                }
                qb.push(" ORDER BY id ON CONFLICT (edition_id, subscriber_id) DO NOTHING");
                qb.build().execute(pool).await?.rows_affected()
            });
        }
        Ok(added)
    }

    /// The subscribers `enqueue` would queue for an edition of `frequency`
    /// at `now`, a page of `limit` after id `after`: for a dry run.
    pub async fn receiving(
        &self,
        frequency: Frequency,
        now: DateTime<Utc>,
        after: i64,
        limit: i64,
    ) -> anyhow::Result<Vec<Subscriber>> {
        let rows = with_pool!(self, pool => {
            let mut qb = QueryBuilder::new(format!("SELECT {} FROM subscribers WHERE ", super::subscribers::COLUMNS));
            push_receives(&mut qb, frequency, now);
            qb.push(" AND id > ").push_bind(after).push(" ORDER BY id LIMIT ").push_bind(limit);
            qb.build_query_as::<super::subscribers::SubscriberRow>().fetch_all(pool).await?
        });
        rows.into_iter()
            .map(super::subscribers::SubscriberRow::into_domain)
            .collect()
    }

    /// Atomically claims up to `limit` rows that are due for run `run_id`:
    /// queued, deferred whose retry time has come, or sending under a run
    /// that is no longer live (stopped, or silent for longer than
    /// `timeout` on the database's clock). Claims of live runs are never
    /// taken, however long they last. A row claimed before runs existed
    /// (no run, a lease) is free once its lease expired. Returns up to
    /// `limit` rows of each kind (queued, due for a retry, held by a dead
    /// run, held under a lease).
    ///
    /// The kinds are separate subqueries so that each reads one short
    /// index range in order: with a single `OR` over the statuses both
    /// SQLite and PostgreSQL scanned and sorted every row of the edition on
    /// every claim, which made an edition's claims quadratic in its size.
    /// Every claim and every finish moves a row out of the range it was
    /// found in and leaves a dead index entry behind until (auto)vacuum, so
    /// no kind reads from the start of a range that churns:
    /// - queued rows are read after `cursor` (the last queued id this run
    ///   claimed), where the claims of every run have gone before; the
    ///   cursor starts again from the first id whenever a claim finds fewer
    ///   queued rows than asked (rows released by a run, or held by a pause
    ///   that has ended, are behind it), so nothing is left behind;
    /// - held rows are found from the runs that are no longer live, each
    ///   looked up in the `(edition_id, run_id, id)` index of `sending` rows
    ///   (`deliveries_held`), so the live runs' churn is never read (the
    ///   retention pass prunes old runs, which keeps that list short).
    pub async fn claim(
        &self,
        edition_id: i64,
        limit: i64,
        run_id: i64,
        timeout: std::time::Duration,
        cursor: &mut ClaimCursor,
    ) -> anyhow::Result<Vec<Claim>> {
        let at = now();
        let sql = self.claim_sql(limit);
        let rows: Vec<(i64, i64, i32, DateTime<Utc>)> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(run_id)
                .bind(at)
                .bind(edition_id)
                .bind(limit)
                .bind(timeout.as_secs_f64())
                .bind(cursor.after)
                .fetch_all(pool)
                .await?
        });
        let mut claims: Vec<Claim> = rows
            .into_iter()
            .map(|(delivery_id, subscriber_id, attempts, queued_at)| Claim {
                delivery_id,
                subscriber_id,
                attempts: attempts.into(),
                queued_at,
            })
            .collect();
        claims.sort_by_key(|c| c.delivery_id);
        cursor.advance(&claims, limit);
        Ok(claims)
    }

    /// The claim's statement (see [`Store::claim`]): `$1` the run, `$2` the
    /// time, `$3` the edition, `$4` the limit (PostgreSQL only), `$5` the
    /// heartbeat timeout in seconds, `$6` the cursor.
    fn claim_sql(&self, limit: i64) -> String {
        let unpaused_held = unpaused("$3", "d");
        let unpaused = unpaused("$3", "deliveries");
        let cutoff = self.db_cutoff("$5");
        let dead = format!("(r.stopped_at IS NOT NULL OR r.heartbeat_at < {cutoff})");
        // SQLite plans a `LIMIT` given as a parameter with its bound value
        // and so prepares the statement again whenever it is bound (every
        // claim); the limit is the same for every claim of a run, so it is
        // written into the statement (an integer, cached once per run).
        let lim = match self.backend() {
            Backend::Postgres => "$4".to_owned(),
            Backend::Sqlite => limit.to_string(),
        };
        // PostgreSQL estimates the edition's `sending` rows from its
        // statistics, which do not count the dead entries, and would walk
        // them from the deliveries side: the LATERAL subquery makes it
        // start from the runs. SQLite leaves no dead entries behind.
        let (lock, orphan) = match self.backend() {
            Backend::Postgres => (
                " FOR UPDATE SKIP LOCKED",
                format!(
                    "SELECT o.id FROM runs r CROSS JOIN LATERAL (SELECT d.id FROM deliveries d \
                     WHERE d.edition_id = $3 AND d.status = 'sending' AND d.run_id = r.id AND {unpaused_held} \
                     ORDER BY d.id LIMIT {lim} FOR UPDATE SKIP LOCKED) o WHERE {dead} ORDER BY o.id LIMIT {lim}"
                ),
            ),
            Backend::Sqlite => (
                "",
                format!(
                    "SELECT d.id FROM runs r JOIN deliveries d ON d.run_id = r.id \
                     AND d.edition_id = $3 AND d.status = 'sending' WHERE {dead} AND {unpaused_held} \
                     ORDER BY d.id LIMIT {lim}"
                ),
            ),
        };
        // The UPDATE joins the picked ids by primary key: written as
        // `id IN (…) OR id IN (…)`, PostgreSQL could not use the key for the
        // outer UPDATE and scanned the whole ledger (every edition's rows)
        // on every claim.
        format!(
            "WITH fresh AS (SELECT id FROM deliveries WHERE edition_id = $3 AND status = 'queued' AND id > $6 \
               AND {unpaused} ORDER BY id LIMIT {lim}{lock}), \
             retry AS (SELECT id FROM deliveries WHERE edition_id = $3 AND status = 'deferred' \
               AND next_attempt_at <= $2 AND {unpaused} ORDER BY id LIMIT {lim}{lock}), \
             orphan AS ({orphan}), \
             leased AS (SELECT id FROM deliveries WHERE edition_id = $3 AND status = 'sending' AND run_id IS NULL \
               AND (lease_until IS NULL OR lease_until < $2) AND {unpaused} ORDER BY id LIMIT {lim}{lock}), \
             picked AS (SELECT id AS pick FROM fresh UNION ALL SELECT id FROM retry \
               UNION ALL SELECT id FROM orphan UNION ALL SELECT id FROM leased) \
             UPDATE deliveries SET status = 'sending', run_id = $1, lease_until = NULL, attempts = attempts + 1, updated_at = $2 \
             FROM picked WHERE deliveries.id = picked.pick \
             RETURNING id, subscriber_id, attempts, created_at"
        )
    }

    /// Subscribers by id (for claimed rows).
    pub async fn subscribers_by_id(&self, ids: &[i64]) -> anyhow::Result<HashMap<i64, Subscriber>> {
        let mut out = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(super::ROWS_PER_STATEMENT) {
            for s in self.subscribers_where_id_in(chunk).await? {
                out.insert(s.id, s);
            }
        }
        Ok(out)
    }

    /// What each subscriber was sent in digests selected since `since`: the
    /// selection time of the latest one of this frequency (where the next
    /// window starts) and every story id.
    pub async fn histories(
        &self,
        subscriber_ids: &[i64],
        frequency: Frequency,
        since: DateTime<Utc>,
    ) -> anyhow::Result<HashMap<i64, History>> {
        let mut out: HashMap<i64, History> = HashMap::with_capacity(subscriber_ids.len());
        for chunk in subscriber_ids.chunks(super::ROWS_PER_STATEMENT) {
            let rows: Vec<(i64, Option<DateTime<Utc>>, String, String)> = with_pool!(self, pool => {
                let mut qb = QueryBuilder::new(
                    "SELECT d.subscriber_id, d.window_end, d.story_ids, e.frequency FROM deliveries d \
                     JOIN editions e ON e.id = d.edition_id WHERE d.status = 'sent' AND d.window_end >= ",
                );
                qb.push_bind(since).push(" AND d.subscriber_id IN (");
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(*id);
                }
                qb.push(")");
                qb.build_query_as().fetch_all(pool).await?
            });
            for (subscriber_id, window_end, story_ids, freq) in rows {
                let h = out.entry(subscriber_id).or_default();
                if freq == frequency.as_str() {
                    h.last_sent_at = h.last_sent_at.max(window_end);
                }
                h.sent_story_ids
                    .extend(story_ids.split(',').filter_map(|id| id.parse::<i64>().ok()));
            }
        }
        Ok(out)
    }

    /// Puts rows run `run_id` claimed but never attempted back in the
    /// queue (on shutdown, a setup fault or a pause), undoing their claim.
    /// Rows another run has taken since are left alone.
    pub async fn release(&self, delivery_ids: &[i64], run_id: i64) -> anyhow::Result<()> {
        self.unclaim(delivery_ids, run_id, Unclaimed::Queued).await
    }

    /// Records rows run `run_id` claimed but never attempted as deferred
    /// until `retry_at`, with `reason` (the run stopped because the relay
    /// refused everything): not an attempt, so the count is undone.
    pub async fn defer_unsent(
        &self,
        delivery_ids: &[i64],
        run_id: i64,
        retry_at: DateTime<Utc>,
        reason: &str,
    ) -> anyhow::Result<()> {
        self.unclaim(delivery_ids, run_id, Unclaimed::Deferred { retry_at, reason })
            .await
    }

    /// Gives up run `run_id`'s unattempted claims of `delivery_ids` (those
    /// still `sending` under it), undoing the attempt count, in statements
    /// of at most `ROWS_PER_STATEMENT` ids.
    async fn unclaim(&self, delivery_ids: &[i64], run_id: i64, to: Unclaimed<'_>) -> anyhow::Result<()> {
        let at = now();
        for chunk in delivery_ids.chunks(super::ROWS_PER_STATEMENT) {
            with_pool!(self, pool => {
                let mut qb = QueryBuilder::new(
                    "UPDATE deliveries SET lease_until = NULL, attempts = attempts - 1, updated_at = ",
                );
                qb.push_bind(at);
                match to {
                    Unclaimed::Queued => {
                        qb.push(", status = 'queued'");
                    }
                    Unclaimed::Deferred { retry_at, reason } => {
                        qb.push(", status = 'deferred', next_attempt_at = ")
                            .push_bind(retry_at)
                            .push(", last_error = ")
                            .push_bind(reason);
                    }
                }
                qb.push(" WHERE status = 'sending' AND run_id = ")
                    .push_bind(run_id)
                    .push(" AND id IN (");
                let mut sep = qb.separated(", ");
                for id in chunk {
                    sep.push_bind(*id);
                }
                qb.push(")");
                qb.build().execute(pool).await?;
            });
        }
        Ok(())
    }

    /// When the next row of the edition may become claimable for run
    /// `run_id`: the earliest retry time of a deferred row (or lease expiry
    /// of a row claimed before runs existed), and how long until the
    /// earliest live run holding rows would be judged dead if it went
    /// silent now (its heartbeat plus `timeout`, measured on the database's
    /// clock). Rows the guard holds (a paused edition or domain) never
    /// become claimable, so they are not counted; nor are the run's own.
    pub async fn next_due(
        &self,
        edition_id: i64,
        run_id: i64,
        timeout: std::time::Duration,
    ) -> anyhow::Result<NextDue> {
        let unpaused = unpaused("$1", "deliveries");
        let retry_sql = format!(
            "SELECT MIN(CASE WHEN status = 'deferred' THEN next_attempt_at ELSE lease_until END) \
             FROM deliveries WHERE edition_id = $1 AND {unpaused} AND (status = 'deferred' \
               OR (status = 'sending' AND run_id IS NULL))"
        );
        // From the edition's few `sending` rows to their runs by key: the
        // runs table keeps every run that ever was.
        let held_sql = format!(
            "SELECT MIN(r.heartbeat_at), MIN({}) FROM deliveries JOIN runs r ON r.id = deliveries.run_id \
             WHERE deliveries.edition_id = $1 AND deliveries.status = 'sending' AND r.stopped_at IS NULL \
             AND r.id <> $2 AND {unpaused}",
            self.db_now()
        );
        type Held = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);
        let (retry_at, (heartbeat, db_now)): (Option<DateTime<Utc>>, Held) = with_pool!(self, pool => {
            let retry = sqlx::query_scalar(sqlx::AssertSqlSafe(retry_sql))
                .bind(edition_id)
                .fetch_one(pool)
                .await?;
            let held = sqlx::query_as(sqlx::AssertSqlSafe(held_sql))
                .bind(edition_id)
                .bind(run_id)
                .fetch_one(pool)
                .await?;
            (retry, held)
        });
        let timeout = chrono::Duration::from_std(timeout).unwrap_or(chrono::Duration::seconds(30));
        Ok(NextDue {
            retry_at,
            // The claim compares whole seconds with `<`: a run is dead one
            // second after heartbeat + timeout.
            held_expires_in: heartbeat
                .zip(db_now)
                .map(|(h, n)| h + timeout + chrono::Duration::seconds(1) - n),
        })
    }

    /// The edition's ledger as a summary reads it back: rows by status,
    /// the earliest retry time of a deferred row, and how many queued rows
    /// the guard holds.
    pub async fn ledger_state(&self, edition_id: i64) -> anyhow::Result<LedgerState> {
        let counts = self.edition_counts(edition_id).await?;
        let paused_sql = format!(
            "SELECT COUNT(*) FROM deliveries WHERE edition_id = $1 AND status = 'queued' AND NOT {}",
            unpaused("$1", "deliveries")
        );
        let (next_attempt_at, paused): (Option<DateTime<Utc>>, i64) = with_pool!(self, pool => {
            let next = sqlx::query_scalar(
                "SELECT MIN(next_attempt_at) FROM deliveries WHERE edition_id = $1 AND status = 'deferred'",
            )
            .bind(edition_id)
            .fetch_one(pool)
            .await?;
            let paused = sqlx::query_scalar(sqlx::AssertSqlSafe(paused_sql))
                .bind(edition_id)
                .fetch_one(pool)
                .await?;
            (next, paused)
        });
        Ok(LedgerState {
            counts,
            next_attempt_at,
            paused,
        })
    }

    /// Rows still to do in editions created since `since`: the queue
    /// depth (older editions cannot have any left once `delivery.max_age`
    /// has passed, and bounding them keeps this on the work index).
    pub async fn pending_total(&self, since: DateTime<Utc>) -> anyhow::Result<i64> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM deliveries WHERE edition_id IN (SELECT id FROM editions WHERE created_at >= $1) \
                 AND status IN ('queued', 'deferred', 'sending')",
            )
            .bind(since)
            .fetch_one(pool)
            .await?
        }))
    }

    /// Rows of the edition still to do (queued, deferred or sending).
    pub async fn pending_count(&self, edition_id: i64) -> anyhow::Result<i64> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM deliveries WHERE edition_id = $1 AND status IN ('queued', 'deferred', 'sending')",
            )
            .bind(edition_id)
            .fetch_one(pool)
            .await?
        }))
    }

    /// Puts an edition's failed rows back in the queue; returns how many.
    pub async fn retry_failed(&self, edition: &Edition) -> anyhow::Result<u64> {
        let date = edition.date.format("%Y-%m-%d").to_string();
        let at = now();
        Ok(with_pool!(self, pool => {
            sqlx::query(
                "UPDATE deliveries SET status = 'queued', attempts = 0, next_attempt_at = NULL, lease_until = NULL, \
                 created_at = $1, updated_at = $1 WHERE status = 'failed' AND edition_id = \
                 (SELECT id FROM editions WHERE frequency = $2 AND edition_date = $3)",
            )
            .bind(at)
            .bind(edition.frequency.as_str())
            .bind(&date)
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    /// Records `skipped` rows (with `reason`) for those of `subscriber_ids`
    /// who have no row for the edition yet; returns how many were added.
    pub async fn skip_unserved(
        &self,
        edition_id: i64,
        subscriber_ids: &[i64],
        reason: &str,
    ) -> anyhow::Result<u64> {
        let at = now();
        let mut added = 0;
        for chunk in subscriber_ids.chunks(super::ROWS_PER_STATEMENT) {
            added += with_pool!(self, pool => {
                let mut qb = QueryBuilder::new(
                    "INSERT INTO deliveries (edition_id, subscriber_id, status, last_error, created_at, updated_at) ",
                );
                qb.push_values(chunk, |mut b, id| {
                    b.push_bind(edition_id)
                        .push_bind(*id)
                        .push_bind("skipped")
                        .push_bind(reason)
                        .push_bind(at)
                        .push_bind(at);
                });
                qb.push(" ON CONFLICT (edition_id, subscriber_id) DO NOTHING");
                qb.build().execute(pool).await?.rows_affected()
            });
        }
        Ok(added)
    }

    /// Counts of an edition's rows by status, folded ones included.
    pub async fn edition_counts(&self, edition_id: i64) -> anyhow::Result<StatusCounts> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT status, COUNT(*) FROM deliveries WHERE edition_id = $1 GROUP BY status")
                .bind(edition_id)
                .fetch_all(pool)
                .await?
        });
        // The rows the retention pass folded away count as they were.
        let mut counts = self.folded_counts(edition_id).await?;
        for (status, n) in rows {
            let status: DeliveryStatus = status
                .parse()
                .map_err(|e| anyhow::anyhow!("deliveries of edition {edition_id}: column status: {e}"))?;
            counts.add(status, n);
        }
        Ok(counts)
    }

    /// Delivery rows for operators, newest edition first.
    pub async fn list_deliveries(
        &self,
        edition: Option<&Edition>,
        status: Option<DeliveryStatus>,
        limit: i64,
    ) -> anyhow::Result<Vec<DeliveryRow>> {
        let rows: Vec<DeliveryRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT d.id, e.frequency || '-' || e.edition_date AS edition, s.email, d.status, d.attempts, \
                 d.message_id, d.last_error, d.sent_at, d.updated_at \
                 FROM deliveries d JOIN editions e ON e.id = d.edition_id JOIN subscribers s ON s.id = d.subscriber_id \
                 WHERE ($1 IS NULL OR e.frequency || '-' || e.edition_date = $1) AND ($2 IS NULL OR d.status = $2) \
                 ORDER BY e.edition_date DESC, d.id LIMIT $3",
            )
            .bind(edition.map(Edition::key))
            .bind(status.map(DeliveryStatus::as_str))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }
}

/// The condition that a row of `deliveries` is not held by the guard:
/// its edition (numbered by the placeholder `edition`) is not paused, nor
/// its recipient's domain in that edition.
fn unpaused(edition: &str, table: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM edition_pauses p WHERE p.edition_id = {edition} \
         AND p.resumed_at IS NULL AND (p.domain = '' OR p.domain = {table}.domain))"
    )
}

/// Who receives an edition of `frequency` at `now`: active, of that
/// frequency, and not paused. The one statement of that rule, for
/// `enqueue` and `receiving` alike.
fn push_receives<DB>(qb: &mut QueryBuilder<DB>, frequency: Frequency, now: DateTime<Utc>)
where
    DB: sqlx::Database,
    for<'q> &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> DateTime<Utc>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    qb.push("status = 'active' AND frequency = ")
        .push_bind(frequency.as_str())
        .push(" AND (paused_until IS NULL OR paused_until <= ")
        .push_bind(now)
        .push(")");
}
