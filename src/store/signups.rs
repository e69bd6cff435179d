//! The double opt-in side of the `subscribers` table: a web signup (a new
//! or unsubscribed address becomes pending, with at most one confirmation
//! mail an hour), its confirmation, and the purge of signups never
//! confirmed. Everything else about subscribers is in `subscribers`.

use chrono::{DateTime, Utc};

use super::{AddOutcome, Store, now, with_pool};
use crate::domain::{NewSubscriber, Subscriber, SubscriberStatus};

impl Store {
    /// A signup from the web form: creates a pending subscriber when the
    /// address is new, makes an unsubscribed one pending again, leaves
    /// everyone else alone. Returns the subscriber when a confirmation mail
    /// should go out now (pending, and none sent in the last hour), having
    /// recorded that it is being sent.
    pub async fn signup(&self, new: &NewSubscriber) -> anyhow::Result<Option<Subscriber>> {
        let at = now();
        let existing = match self.insert_subscriber(new).await? {
            AddOutcome::Added(s) => *s,
            AddOutcome::AlreadyExists(s) => *s,
        };
        if existing.status == SubscriberStatus::Unsubscribed {
            self.set_status(existing.id, SubscriberStatus::Pending).await?;
        } else if existing.status != SubscriberStatus::Pending {
            return Ok(None);
        }
        let claimed = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE subscribers SET confirm_sent_at = $1 WHERE id = $2 AND status = 'pending' \
                 AND (confirm_sent_at IS NULL OR confirm_sent_at < $3)",
            )
            .bind(at)
            .bind(existing.id)
            .bind(at - chrono::Duration::hours(1))
            .execute(pool)
            .await?
            .rows_affected()
        });
        if claimed == 0 {
            return Ok(None);
        }
        self.find_subscriber(&existing.email).await
    }

    /// When the confirmation mail of a pending subscriber went out.
    pub async fn confirm_sent_at(&self, id: i64) -> anyhow::Result<Option<DateTime<Utc>>> {
        Ok(with_pool!(self, pool => {
            sqlx::query_scalar("SELECT confirm_sent_at FROM subscribers WHERE id = $1")
                .bind(id)
                .fetch_one(pool)
                .await?
        }))
    }

    /// Activates a pending subscriber (double opt-in confirmed).
    pub async fn confirm(&self, id: i64) -> anyhow::Result<()> {
        let at = now();
        with_pool!(self, pool => {
            sqlx::query(
                "UPDATE subscribers SET status = 'active', confirmed_at = $1, updated_at = $1 \
                 WHERE id = $2 AND status = 'pending'",
            )
            .bind(at)
            .bind(id)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Erases pending signups created before `before`; returns how many.
    pub async fn purge_unconfirmed(&self, before: DateTime<Utc>) -> anyhow::Result<u64> {
        Ok(with_pool!(self, pool => {
            sqlx::query("DELETE FROM subscribers WHERE status = 'pending' AND created_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
