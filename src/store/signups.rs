//! Double opt-in: the `signups` table, where a web signup waits for its
//! emailed link to be confirmed (at most one per address, with at most one
//! confirmation mail an hour), the confirmation that turns it into an
//! active subscriber, and the purge of signups never confirmed.
//!
//! A signup never touches the `subscribers` table: a stranger who types
//! someone's address into the form changes nothing of theirs (an
//! unsubscribed reader stays unsubscribed, their history stays). Only the
//! confirmation, which needs the link sent to that address, does: the
//! reader's own act. Everything else about subscribers is in `subscribers`.

use chrono::{DateTime, Utc};

use super::subscribers::{COLUMNS, SubscriberRow};
use super::{Store, bad_row, now, with_pool};
use crate::domain::{
    Frequency, HeaderSafe, Locale, NewSubscriber, SendHour, Subscriber, SubscriberEmail, SubscriberStatus,
    TimeZone, Token, Topics,
};

/// A signup waiting for confirmation, with what the reader chose in the
/// form; its token is the one in the confirmation link.
#[derive(Debug, Clone)]
pub struct Signup {
    pub id: i64,
    pub email: SubscriberEmail,
    pub name: HeaderSafe,
    pub timezone: TimeZone,
    pub frequency: Frequency,
    pub send_hour: SendHour,
    pub topics: Topics,
    pub token: Token,
    pub created_at: DateTime<Utc>,
    /// When its last confirmation mail went out.
    pub confirm_sent_at: DateTime<Utc>,
}

const SIGNUP_COLUMNS: &str =
    "id, email, name, timezone, frequency, send_hour, topics, token, created_at, confirm_sent_at";

#[derive(sqlx::FromRow)]
struct SignupRow {
    id: i64,
    email: String,
    name: String,
    timezone: String,
    frequency: String,
    send_hour: i32,
    topics: String,
    token: String,
    created_at: DateTime<Utc>,
    confirm_sent_at: DateTime<Utc>,
}

impl SignupRow {
    fn into_domain(self) -> anyhow::Result<Signup> {
        let id = self.id;
        let bad = |col: &str, e: crate::domain::Invalid| bad_row("signups", id, col, e);
        Ok(Signup {
            id,
            email: SubscriberEmail::parse(&self.email).map_err(|e| bad("email", e))?,
            name: HeaderSafe::parse(&self.name, crate::domain::text::MAX_NAME).map_err(|e| bad("name", e))?,
            timezone: TimeZone::parse(&self.timezone).map_err(|e| bad("timezone", e))?,
            frequency: self.frequency.parse().map_err(|e| bad("frequency", e))?,
            send_hour: SendHour::new(self.send_hour.into()).map_err(|e| bad("send_hour", e))?,
            topics: Topics::parse(&self.topics, ',').map_err(|e| bad("topics", e))?,
            token: Token::parse(&self.token).map_err(|e| bad("token", e))?,
            created_at: self.created_at,
            confirm_sent_at: self.confirm_sent_at,
        })
    }
}

impl Store {
    /// A signup from the web form. Nothing happens for an address that is
    /// an active subscriber already. Otherwise the signup is recorded (or,
    /// when one is waiting already, refreshed with the form's latest
    /// choices) and returned when a confirmation mail should go out now:
    /// none went out for it in the last hour. The returned signup's
    /// `confirm_sent_at` is now, as recorded.
    pub async fn signup(&self, new: &NewSubscriber) -> anyhow::Result<Option<Signup>> {
        if let Some(s) = self.find_subscriber(&new.email).await?
            && s.status == SubscriberStatus::Active
        {
            return Ok(None);
        }
        let at = now();
        let key = new.email.key();
        let (timezone, topics) = (new.timezone.name(), new.topics.join(','));
        let token = Token::generate();
        let claimed = with_pool!(self, pool => {
            let inserted = sqlx::query(
                "INSERT INTO signups (email, email_key, name, timezone, frequency, send_hour, topics, token, \
                 created_at, confirm_sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                 ON CONFLICT (email_key) DO NOTHING",
            )
            .bind(new.email.as_str())
            .bind(&key)
            .bind(new.name.as_str())
            .bind(timezone)
            .bind(new.frequency.as_str())
            .bind(i32::from(new.send_hour.get()))
            .bind(&topics)
            .bind(token.as_str())
            .bind(at)
            .execute(pool)
            .await?
            .rows_affected();
            if inserted == 1 {
                1
            } else {
                // Waiting already: a new mail (valid 48 hours from now, same
                // link) only when the last one is more than an hour old.
                sqlx::query(
                    "UPDATE signups SET email = $1, name = $2, timezone = $3, frequency = $4, send_hour = $5, \
                     topics = $6, confirm_sent_at = $7 WHERE email_key = $8 AND confirm_sent_at < $9",
                )
                .bind(new.email.as_str())
                .bind(new.name.as_str())
                .bind(timezone)
                .bind(new.frequency.as_str())
                .bind(i32::from(new.send_hour.get()))
                .bind(&topics)
                .bind(at)
                .bind(&key)
                .bind(at - chrono::Duration::hours(1))
                .execute(pool)
                .await?
                .rows_affected()
            }
        });
        if claimed == 0 {
            return Ok(None);
        }
        self.find_signup_by_key(&key).await
    }

    /// The signup waiting for `email` (any spelling), if there is one.
    pub async fn find_signup_for(&self, email: &SubscriberEmail) -> anyhow::Result<Option<Signup>> {
        self.find_signup_by_key(&email.key()).await
    }

    async fn find_signup_by_key(&self, key: &str) -> anyhow::Result<Option<Signup>> {
        let row: Option<SignupRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {SIGNUP_COLUMNS} FROM signups WHERE email_key = $1")))
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        row.map(SignupRow::into_domain).transpose()
    }

    /// The signup a confirmation link's token names. Found through the
    /// unique index, then compared in constant time, like subscribers'.
    pub async fn find_signup(&self, token: &Token) -> anyhow::Result<Option<Signup>> {
        let row: Option<SignupRow> = with_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {SIGNUP_COLUMNS} FROM signups WHERE token = $1")))
                .bind(token.as_str())
                .fetch_optional(pool)
                .await?
        });
        let found = row.map(SignupRow::into_domain).transpose()?;
        Ok(found.filter(|s| s.token.ct_matches(token)))
    }

    /// Confirms `signup` (the link was followed): in one transaction, the
    /// subscriber at its address becomes active with the signup's choices,
    /// or is created so, and the signup is deleted. An existing row keeps
    /// its spelling of the address, its token and its history; a name is
    /// replaced only by a non-empty one, a language only by one given.
    /// `locale` is the reader's language, which the confirmation link
    /// carries (`signups` has no column for it). Returns the subscriber.
    pub async fn confirm_signup(
        &self,
        signup: &Signup,
        locale: Option<&Locale>,
    ) -> anyhow::Result<Subscriber> {
        let at = now();
        let key = signup.email.key();
        let (timezone, topics) = (signup.timezone.name(), signup.topics.join(','));
        let tag = locale.map(Locale::tag);
        let row: SubscriberRow = with_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_write()).await?;
            let updated = sqlx::query(
                "UPDATE subscribers SET status = 'active', confirmed_at = $1, unsubscribed_at = NULL, updated_at = $1, \
                 name = CASE WHEN $2 = '' THEN name ELSE $2 END, timezone = $3, frequency = $4, send_hour = $5, \
                 topics = $6, locale = COALESCE($8, locale) WHERE email_key = $7",
            )
            .bind(at)
            .bind(signup.name.as_str())
            .bind(timezone)
            .bind(signup.frequency.as_str())
            .bind(i32::from(signup.send_hour.get()))
            .bind(&topics)
            .bind(&key)
            .bind(&tag)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if updated == 0 {
                sqlx::query(
                    "INSERT INTO subscribers (email, email_key, name, status, timezone, frequency, send_hour, topics, \
                     token, created_at, confirmed_at, updated_at, locale) \
                     VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $9, $9, $9, $10)",
                )
                .bind(signup.email.as_str())
                .bind(&key)
                .bind(signup.name.as_str())
                .bind(timezone)
                .bind(signup.frequency.as_str())
                .bind(i32::from(signup.send_hour.get()))
                .bind(&topics)
                .bind(Token::generate().as_str())
                .bind(at)
                .bind(&tag)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query("DELETE FROM signups WHERE id = $1")
                .bind(signup.id)
                .execute(&mut *tx)
                .await?;
            let row = sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM subscribers WHERE email_key = $1"
            )))
            .bind(&key)
            .fetch_one(&mut *tx)
            .await?;
            tx.commit().await?;
            row
        });
        row.into_domain()
    }

    /// The purge of what was never confirmed: signups whose last mail went
    /// out before `before`, and subscribers created before then and still pending that were never
    /// confirmed and never unsubscribed (added with `--pending` or imported
    /// so). A row that was ever confirmed or unsubscribed is never
    /// purged, whatever its status. Returns how many rows went.
    pub async fn purge_unconfirmed(&self, before: DateTime<Utc>) -> anyhow::Result<u64> {
        Ok(with_pool!(self, pool => {
            let signups = sqlx::query("DELETE FROM signups WHERE confirm_sent_at < $1")
                .bind(before)
                .execute(pool)
                .await?
                .rows_affected();
            let pending = sqlx::query(
                "DELETE FROM subscribers WHERE status = 'pending' AND confirmed_at IS NULL \
                 AND unsubscribed_at IS NULL AND created_at < $1",
            )
            .bind(before)
            .execute(pool)
            .await?
            .rows_affected();
            signups + pending
        }))
    }
}
