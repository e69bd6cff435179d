//! Queries of the return path: `bounce_events` (one row per report and
//! recipient, recorded once), what an event does to its subscriber (the
//! thresholds of [`BounceRules`], applied in the same transaction as the
//! event), `suppressions` (fingerprints of addresses that bounced hard or
//! complained), the guard's `edition_pauses`, the per-edition counts the
//! guard judges, and the store's own `secrets`. The rules are the caller's;
//! this file only applies them.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;

use super::{Store, now, with_pool};
use crate::domain::{BounceEvent, BounceRules, Category, EventAction, NewEvent, fingerprint};

/// A delivery a report was mapped to.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Target {
    pub delivery_id: i64,
    pub subscriber_id: i64,
    pub edition_id: i64,
    pub email: String,
    pub message_id: Option<String>,
}

/// An edition's (or one of its domains') counts, as the guard judges them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct GuardCounts {
    /// Messages the relay took or refused (ledger rows `sent` or `failed`):
    /// the denominator of every rate.
    pub sent: u64,
    pub hard: u64,
    pub soft: u64,
    pub policy: u64,
    pub complaint: u64,
}

impl GuardCounts {
    fn add(&mut self, category: &str, n: i64) {
        let n = n.max(0) as u64;
        match category {
            "hard" => self.hard += n,
            "soft" => self.soft += n,
            "policy" => self.policy += n,
            "complaint" => self.complaint += n,
            _ => {}
        }
    }
}

/// A pause the guard (or an operator) put on an edition or one domain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, sqlx::FromRow)]
pub struct Pause {
    /// Empty for the whole edition.
    pub domain: String,
    pub reason: String,
    pub paused_at: DateTime<Utc>,
    pub resumed_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    id: i64,
    received_at: DateTime<Utc>,
    source: String,
    category: String,
    status: Option<String>,
    reason: String,
    diagnostic: String,
    email: Option<String>,
    edition: Option<String>,
    delivery_id: Option<i64>,
    domain: String,
    action: String,
}

/// Records one event and applies it to its subscriber, inside the
/// transaction `$tx`; evaluates to the [`EventAction`]. A macro because the
/// body must be compiled for each backend's transaction type (as
/// `with_pool!` does for pools).
macro_rules! record_event {
    ($tx:expr, $ev:expr, $rules:expr) => {{
        let ev: &NewEvent = $ev;
        let rules: &BounceRules = $rules;
        let domain = ev
            .recipient
            .as_deref()
            .and_then(|r| r.rsplit_once('@'))
            .map(|(_, d)| d.to_ascii_lowercase())
            .unwrap_or_default();
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO bounce_events (received_at, source, category, status, reason, diagnostic, \
             subscriber_id, delivery_id, edition_id, domain, report_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             COALESCE($9, (SELECT edition_id FROM deliveries WHERE id = $8)), \
             COALESCE(NULLIF($10, ''), (SELECT domain FROM deliveries WHERE id = $8), ''), $11) \
             ON CONFLICT (report_key) DO NOTHING RETURNING id",
        )
        .bind(ev.at)
        .bind(ev.source.as_str())
        .bind(ev.category.as_str())
        .bind(ev.status.as_deref())
        .bind(&ev.reason)
        .bind(&ev.diagnostic)
        .bind(ev.subscriber_id)
        .bind(ev.delivery_id)
        .bind(ev.edition_id)
        .bind(&domain)
        .bind(ev.report_key.as_deref())
        .fetch_optional(&mut *$tx)
        .await?;
        match inserted {
            None => EventAction::Duplicate,
            Some(event_id) => {
                // Each change is one conditional statement on the row as it
                // is now (an unsubscribe or another report may have landed
                // since): nobody is brought back, nothing is counted twice.
                let mut action = EventAction::None;
                let mut suppress: Option<(String, &'static str)> = None;
                match (ev.act, ev.category, ev.subscriber_id) {
                    (true, Category::Hard, Some(id)) => {
                        let threshold = if ev.firm { rules.hard_threshold } else { rules.smtp_threshold };
                        let counted: Option<(String, i32)> = sqlx::query_as(
                            "UPDATE subscribers SET bounce_count = bounce_count + 1, updated_at = $1 WHERE id = $2 \
                             RETURNING email, bounce_count",
                        )
                        .bind(ev.at)
                        .bind(id)
                        .fetch_optional(&mut *$tx)
                        .await?;
                        if let Some((email, count)) = counted {
                            action = EventAction::Counted;
                            if count as i64 >= threshold as i64 {
                                let changed = sqlx::query(
                                    "UPDATE subscribers SET status = 'bounced', updated_at = $1 \
                                     WHERE id = $2 AND status IN ('active', 'pending')",
                                )
                                .bind(ev.at)
                                .bind(id)
                                .execute(&mut *$tx)
                                .await?
                                .rows_affected();
                                if changed > 0 {
                                    action = EventAction::Bounced;
                                }
                                suppress = Some((fingerprint(&email), "hard"));
                            }
                        }
                    }
                    (true, Category::Soft, Some(id)) => {
                        let since = ev.at - rules.soft_window;
                        let changed = sqlx::query(
                            "UPDATE subscribers SET status = 'bounced', updated_at = $1 \
                             WHERE id = $2 AND status IN ('active', 'pending') AND \
                             (SELECT COUNT(*) FROM bounce_events WHERE subscriber_id = $2 AND category = 'soft' \
                              AND received_at >= $3) >= $4",
                        )
                        .bind(ev.at)
                        .bind(id)
                        .bind(since)
                        .bind(rules.soft_limit as i64)
                        .execute(&mut *$tx)
                        .await?
                        .rows_affected();
                        action = if changed > 0 { EventAction::Bounced } else { EventAction::Counted };
                    }
                    (true, Category::Complaint, Some(id)) => {
                        let changed: Option<String> = sqlx::query_scalar(
                            "UPDATE subscribers SET status = 'unsubscribed', unsubscribed_at = $1, \
                             unsubscribe_reason = $2, updated_at = $1 WHERE id = $3 AND status <> 'unsubscribed' \
                             RETURNING email",
                        )
                        .bind(ev.at)
                        .bind(format!("complaint ({})", ev.source))
                        .bind(id)
                        .fetch_optional(&mut *$tx)
                        .await?;
                        if changed.is_some() {
                            action = EventAction::Unsubscribed;
                        }
                        let email: Option<String> = match changed {
                            Some(e) => Some(e),
                            None => {
                                sqlx::query_scalar("SELECT email FROM subscribers WHERE id = $1")
                                    .bind(id)
                                    .fetch_optional(&mut *$tx)
                                    .await?
                            }
                        };
                        suppress = email.map(|e| (fingerprint(&e), "complaint"));
                    }
                    // No subscriber (unknown, or erased since): the address
                    // is still suppressed on firm evidence, so a later
                    // import cannot bring it back.
                    (true, Category::Hard, None) if ev.firm => {
                        suppress = ev.recipient.as_deref().map(|r| (fingerprint(r), "hard"));
                    }
                    (true, Category::Complaint, None) => {
                        suppress = ev.recipient.as_deref().map(|r| (fingerprint(r), "complaint"));
                    }
                    _ => {}
                }
                if let Some((hash, reason)) = suppress {
                    sqlx::query(
                        "INSERT INTO suppressions (address_hash, reason, created_at) VALUES ($1, $2, $3) \
                         ON CONFLICT (address_hash) DO NOTHING",
                    )
                    .bind(hash)
                    .bind(reason)
                    .bind(ev.at)
                    .execute(&mut *$tx)
                    .await?;
                }
                if action != EventAction::None {
                    sqlx::query("UPDATE bounce_events SET action = $1 WHERE id = $2")
                        .bind(action.as_str())
                        .bind(event_id)
                        .execute(&mut *$tx)
                        .await?;
                }
                action
            }
        }
    }};
}
pub(super) use record_event;

impl Store {
    /// Records events and applies them to their subscribers, in one
    /// transaction; one action per event, in order.
    pub async fn record_events(
        &self,
        events: &[NewEvent],
        rules: &BounceRules,
    ) -> anyhow::Result<Vec<EventAction>> {
        let mut actions = Vec::with_capacity(events.len());
        if events.is_empty() {
            return Ok(actions);
        }
        with_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            for ev in events {
                actions.push(record_event!(tx, ev, rules));
            }
            tx.commit().await?;
        });
        Ok(actions)
    }

    /// A secret the store keeps for all instances sharing it (the VERP
    /// key): 32 random bytes made on first use.
    pub async fn secret(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        let fresh = hex::encode(rand::random::<[u8; 32]>());
        let value: String = with_pool!(self, pool => {
            sqlx::query("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(&fresh)
                .execute(pool)
                .await?;
            sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await?
        });
        hex::decode(value).map_err(|e| anyhow::anyhow!("secrets row {name}: column value: {e}"))
    }

    /// The delivery with this id.
    pub async fn target_by_delivery(&self, delivery_id: i64) -> anyhow::Result<Option<Target>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT d.id AS delivery_id, d.subscriber_id, d.edition_id, s.email, d.message_id \
                 FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id WHERE d.id = $1",
            )
            .bind(delivery_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// The delivery of one subscriber's copy of an edition.
    pub async fn target_by_edition(
        &self,
        edition_key: &str,
        subscriber_id: i64,
    ) -> anyhow::Result<Option<Target>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT d.id AS delivery_id, d.subscriber_id, d.edition_id, s.email, d.message_id \
                 FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id JOIN editions e ON e.id = d.edition_id \
                 WHERE e.frequency || '-' || e.edition_date = $1 AND d.subscriber_id = $2",
            )
            .bind(edition_key)
            .bind(subscriber_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// The latest delivery to an address, or `None` when no subscriber has
    /// it or nothing was sent to them yet (then `subscriber_by_address`).
    pub async fn target_by_address(&self, email: &str) -> anyhow::Result<Option<Target>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT d.id AS delivery_id, d.subscriber_id, d.edition_id, s.email, d.message_id \
                 FROM subscribers s JOIN deliveries d ON d.subscriber_id = s.id \
                 WHERE s.email_key = $1 AND d.sent_at IS NOT NULL ORDER BY d.sent_at DESC, d.id DESC LIMIT 1",
            )
            .bind(email_key(email))
            .fetch_optional(pool)
            .await?
        }))
    }

    /// The id of the subscriber with this address (case-insensitive).
    pub async fn subscriber_by_address(&self, email: &str) -> anyhow::Result<Option<i64>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM subscribers WHERE email_key = $1")
                .bind(email_key(email))
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Which of these fingerprints are on the suppression list.
    pub async fn suppressed(&self, fingerprints: &[String]) -> anyhow::Result<HashSet<String>> {
        let mut found = HashSet::new();
        for chunk in fingerprints.chunks(super::ROWS_PER_STATEMENT) {
            let rows: Vec<String> = with_pool!(self, pool => {
                let mut qb = QueryBuilder::new("SELECT address_hash FROM suppressions WHERE address_hash IN (");
                let mut sep = qb.separated(", ");
                for f in chunk {
                    sep.push_bind(f.as_str());
                }
                qb.push(")");
                qb.build_query_scalar().fetch_all(pool).await?
            });
            found.extend(rows);
        }
        Ok(found)
    }

    /// Takes addresses off the suppression list (an operator's decision).
    pub async fn lift_suppressions(&self, fingerprints: &[String]) -> anyhow::Result<u64> {
        let mut n = 0;
        for chunk in fingerprints.chunks(super::ROWS_PER_STATEMENT) {
            n += with_pool!(self, pool => {
                let mut qb = QueryBuilder::new("DELETE FROM suppressions WHERE address_hash IN (");
                let mut sep = qb.separated(", ");
                for f in chunk {
                    sep.push_bind(f.as_str());
                }
                qb.push(")");
                qb.build().execute(pool).await?.rows_affected()
            });
        }
        Ok(n)
    }

    /// Why an address is suppressed ("hard" or "complaint"), if it is.
    pub async fn suppression(&self, fingerprint: &str) -> anyhow::Result<Option<(String, DateTime<Utc>)>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as("SELECT reason, created_at FROM suppressions WHERE address_hash = $1")
                .bind(fingerprint)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Recorded events, newest first.
    pub async fn list_bounce_events(
        &self,
        since: Option<DateTime<Utc>>,
        category: Option<Category>,
        subscriber_id: Option<i64>,
        limit: i64,
    ) -> anyhow::Result<Vec<BounceEvent>> {
        let rows: Vec<EventRow> = with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT b.id, b.received_at, b.source, b.category, b.status, b.reason, b.diagnostic, s.email, \
                 e.frequency || '-' || e.edition_date AS edition, b.delivery_id, b.domain, b.action \
                 FROM bounce_events b LEFT JOIN subscribers s ON s.id = b.subscriber_id \
                 LEFT JOIN editions e ON e.id = b.edition_id \
                 WHERE ($1 IS NULL OR b.received_at >= $1) AND ($2 IS NULL OR b.category = $2) \
                 AND ($3 IS NULL OR b.subscriber_id = $3) \
                 ORDER BY b.received_at DESC, b.id DESC LIMIT $4",
            )
            .bind(since)
            .bind(category.map(Category::as_str))
            .bind(subscriber_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| BounceEvent {
                id: r.id,
                received_at: r.received_at,
                source: r.source,
                category: r.category,
                status: r.status,
                reason: r.reason,
                diagnostic: r.diagnostic,
                email: r.email,
                edition: r.edition,
                delivery_id: r.delivery_id,
                domain: r.domain,
                action: r.action,
            })
            .collect())
    }

    /// What the guard judges for an edition (or one of its domains): the
    /// messages sent and the events by category, counting only what
    /// happened at or after `since` (the last resume) when given.
    pub async fn guard_counts(
        &self,
        edition_id: i64,
        domain: Option<&str>,
        since: Option<DateTime<Utc>>,
    ) -> anyhow::Result<GuardCounts> {
        let (sent, rows): (i64, Vec<(String, i64)>) = with_pool!(self, pool => {
            let sent: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM deliveries WHERE edition_id = $1 AND status IN ('sent', 'failed') \
                 AND ($2 IS NULL OR domain = $2) AND ($3 IS NULL OR COALESCE(sent_at, updated_at) >= $3)",
            )
            .bind(edition_id)
            .bind(domain)
            .bind(since)
            .fetch_one(pool)
            .await?;
            // Rows the retention pass folded away count for the whole
            // edition; by domain or since a resume they are not known.
            let folded: i64 = if domain.is_none() && since.is_none() {
                sqlx::query_scalar(
                    "SELECT CAST(COALESCE(SUM(count), 0) AS BIGINT) FROM edition_totals \
                     WHERE edition_id = $1 AND status IN ('sent', 'failed')",
                )
                .bind(edition_id)
                .fetch_one(pool)
                .await?
            } else {
                0
            };
            let sent = sent + folded;
            // Events by when their message went out, so that a late report
            // about a message sent before a resume is not judged after it.
            let rows = sqlx::query_as(
                "SELECT b.category, COUNT(*) FROM bounce_events b LEFT JOIN deliveries d ON d.id = b.delivery_id \
                 WHERE b.edition_id = $1 AND ($2 IS NULL OR b.domain = $2) \
                 AND ($3 IS NULL OR COALESCE(d.sent_at, d.updated_at, b.received_at) >= $3) GROUP BY b.category",
            )
            .bind(edition_id)
            .bind(domain)
            .bind(since)
            .fetch_all(pool)
            .await?;
            (sent, rows)
        });
        let mut counts = GuardCounts {
            sent: sent.max(0) as u64,
            ..GuardCounts::default()
        };
        for (category, n) in rows {
            counts.add(&category, n);
        }
        Ok(counts)
    }

    /// An edition's counts for every recipient domain that had a message
    /// sent or an event, busiest first.
    pub async fn guard_counts_by_domain(
        &self,
        edition_id: i64,
    ) -> anyhow::Result<Vec<(String, GuardCounts)>> {
        type Counted = (Vec<(String, i64)>, Vec<(String, String, i64)>);
        let (sent, events): Counted = with_pool!(self, pool => {
            let sent = sqlx::query_as(
                "SELECT domain, COUNT(*) FROM deliveries WHERE edition_id = $1 AND status IN ('sent', 'failed') GROUP BY domain",
            )
            .bind(edition_id)
            .fetch_all(pool)
            .await?;
            let events = sqlx::query_as(
                "SELECT domain, category, COUNT(*) FROM bounce_events WHERE edition_id = $1 GROUP BY domain, category",
            )
            .bind(edition_id)
            .fetch_all(pool)
            .await?;
            (sent, events)
        });
        let mut by: std::collections::BTreeMap<String, GuardCounts> = Default::default();
        for (domain, n) in sent {
            by.entry(domain).or_default().sent = n.max(0) as u64;
        }
        for (domain, category, n) in events {
            by.entry(domain).or_default().add(&category, n);
        }
        let mut list: Vec<(String, GuardCounts)> = by.into_iter().collect();
        list.sort_by_key(|(_, c)| std::cmp::Reverse(c.sent + c.hard + c.policy));
        Ok(list)
    }

    /// The categories of the latest `n` reports about one domain's
    /// recipients in an edition, newest first (for the guard's run of
    /// policy blocks when the relay said 250 and the blocks came back as
    /// reports).
    pub async fn latest_categories(
        &self,
        edition_id: i64,
        domain: &str,
        n: i64,
    ) -> anyhow::Result<Vec<String>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT category FROM bounce_events WHERE edition_id = $1 AND domain = $2 \
                 ORDER BY id DESC LIMIT $3",
            )
            .bind(edition_id)
            .bind(domain)
            .bind(n)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Pauses an edition (`domain` empty) or one domain of it; false when
    /// it already was paused.
    pub async fn pause_edition(&self, edition_id: i64, domain: &str, reason: &str) -> anyhow::Result<bool> {
        let at = now();
        let n = with_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO edition_pauses (edition_id, domain, reason, paused_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (edition_id, domain) DO UPDATE SET reason = excluded.reason, \
                 paused_at = excluded.paused_at, resumed_at = NULL WHERE edition_pauses.resumed_at IS NOT NULL",
            )
            .bind(edition_id)
            .bind(domain)
            .bind(reason)
            .bind(at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Lifts the pauses of an edition: every one, or only `domain`'s
    /// (empty: the edition-wide one). Returns how many were lifted.
    pub async fn resume_edition(&self, edition_id: i64, domain: Option<&str>) -> anyhow::Result<u64> {
        let at = now();
        Ok(with_pool!(self, pool => {
            sqlx::query(
                "UPDATE edition_pauses SET resumed_at = $1 WHERE edition_id = $2 AND resumed_at IS NULL \
                 AND ($3 IS NULL OR domain = $3)",
            )
            .bind(at)
            .bind(edition_id)
            .bind(domain)
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    /// Every pause of an edition, current and lifted.
    pub async fn pauses(&self, edition_id: i64) -> anyhow::Result<Vec<Pause>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT domain, reason, paused_at, resumed_at FROM edition_pauses WHERE edition_id = $1 ORDER BY domain",
            )
            .bind(edition_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Pauses in force: (editions, domains).
    pub async fn active_pauses(&self) -> anyhow::Result<(i64, i64)> {
        Ok(with_pool!(self, pool => {
            sqlx::query_as(
                "SELECT COALESCE(SUM(CASE WHEN domain = '' THEN 1 ELSE 0 END), 0), \
                 COALESCE(SUM(CASE WHEN domain <> '' THEN 1 ELSE 0 END), 0) \
                 FROM edition_pauses WHERE resumed_at IS NULL",
            )
            .fetch_one(pool)
            .await?
        }))
    }

    /// The id of an edition by its key, without creating it.
    pub async fn edition_id(&self, edition_key: &str) -> anyhow::Result<Option<i64>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM editions WHERE frequency || '-' || edition_date = $1")
                .bind(edition_key)
                .fetch_optional(pool)
                .await?
        }))
    }
}

/// The unique key of the subscriber with this address, as
/// `EmailAddress::key` makes it (ASCII letters folded): a report's address
/// is found through the unique index, not by scanning every row.
fn email_key(email: &str) -> String {
    crate::domain::SubscriberEmail::parse(email)
        .map(|e| e.key())
        .unwrap_or_else(|_| email.trim().to_ascii_lowercase())
}
