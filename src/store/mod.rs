//! The store: the only module that speaks SQL. It owns the connection pool,
//! the embedded migrations and one file per table family. The same queries
//! run on SQLite and PostgreSQL (both accept `$1` placeholders); where the
//! dialects differ, the function branches on [`Backend`]. Rows are turned
//! into domain types here, so callers never see a column. It does not
//! validate business rules beyond what the schema enforces, and it never
//! logs personal data.

mod bounces;
mod deliveries;
mod feeds;
mod finish;
mod pages;
mod retention;
mod runs;
mod signups;
mod stories;
mod subscribers;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, SqlitePool};

use crate::config::DatabaseConfig;

pub use bounces::{GuardCounts, Pause, Target};
pub use deliveries::{ClaimCursor, DeliveryRow, LedgerState, NextDue};
pub use feeds::Feed;
pub use finish::Ledger;
pub use pages::{Archived, Delivered};
pub use retention::{PRUNE_BATCH, PruneReport, PrunedEdition};
pub use runs::{HeldBy, OpenRun};
pub use signups::Signup;
pub use stories::{StoryFilter, UpsertCounts};
pub use subscribers::AddOutcome;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Rows per multi-row statement: well under SQLite's 32,766 and
/// PostgreSQL's 65,535 bind parameters at 13 columns a row.
pub const ROWS_PER_STATEMENT: usize = 1000;

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle on the database; cheap to clone (it wraps a pool).
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// Connections held by runs' ledgers ([`Ledger`]).
    ledgers_held: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

#[derive(Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the concrete pool, so one piece of
/// query code serves both backends (it is compiled once per backend).
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($pool) => $body,
            $crate::store::Pool::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

impl Store {
    /// Connects (creating a SQLite file when missing) without migrating.
    pub async fn connect(config: &DatabaseConfig) -> anyhow::Result<Store> {
        let url = config.url.expose();
        let pool = if config.url.is_postgres() {
            let options = PgConnectOptions::from_str(url)
                .with_context(|| format!("invalid database URL {}", config.url))?;
            let pool = PgPoolOptions::new()
                .max_connections(config.max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
                .with_context(|| format!("cannot connect to {}", config.url))?;
            Pool::Postgres(pool)
        } else {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| format!("invalid database URL {}", config.url))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30))
                // 2 MiB of page cache per connection (SQLite's default);
                // large imports raise it on their own connection. Every
                // pooled connection keeps its cache, so this times
                // `max_connections` bounds the store's memory: a send's
                // working set is a few hot pages (claims, the ledger's
                // commits and its index ends walk forward together), so a
                // larger cache only fills up. Peak RSS of a send from
                // 10,000 to 1,000,000 subscribers grew 23% with 4 MiB and
                // 13% with 2 MiB, at the same rate.
                .pragma("cache_size", "-2048");
            let pool = SqlitePoolOptions::new()
                .max_connections(config.max_connections)
                // sqlx pings an idle connection before every acquire by
                // default: a round trip to the connection's thread per
                // query, for a local file that cannot hang up. Without it,
                // sends were 4% faster (every ledger commit is a query).
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await
                .with_context(|| format!("cannot open {}", config.url))?;
            Pool::Sqlite(pool)
        };
        Ok(Store {
            pool,
            ledgers_held: Default::default(),
        })
    }

    /// Connects and applies any pending migrations: what every command does
    /// before touching data.
    pub async fn open(config: &DatabaseConfig) -> anyhow::Result<Store> {
        let store = Store::connect(config).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the embedded migrations for this backend; returns how many
    /// were newly applied.
    pub async fn migrate(&self) -> anyhow::Result<usize> {
        let before = self.applied_migrations().await.unwrap_or(0);
        match &self.pool {
            Pool::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Pool::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        }
        .context("applying database migrations")?;
        Ok(self.applied_migrations().await?.saturating_sub(before))
    }

    async fn applied_migrations(&self) -> anyhow::Result<usize> {
        let n: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await?
        });
        Ok(n as usize)
    }

    /// The statement that opens a transaction which reads before it writes.
    /// On SQLite a plain `BEGIN` takes the write lock only at the first
    /// write, and if another connection wrote in between, the upgrade fails
    /// at once with SQLITE_BUSY (the busy timeout does not apply);
    /// `BEGIN IMMEDIATE` takes it up front, waiting as long as the busy
    /// timeout allows.
    fn begin_write(&self) -> &'static str {
        match self.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The SQLite file `config` names, when it does not exist: the commands
    /// that must not create a store by accident (all but `migrate`, `init`
    /// and `demo`) check this before [`Store::open`]. None for PostgreSQL
    /// and in-memory databases.
    pub fn missing_file(config: &DatabaseConfig) -> Option<std::path::PathBuf> {
        if config.url.is_postgres() {
            return None;
        }
        let url = config.url.expose();
        let options = SqliteConnectOptions::from_str(url).ok()?;
        let path = options.get_filename();
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        (!in_memory && !path.exists())
            .then(|| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
    }

    /// Whether the database answers; for health checks.
    pub async fn ping(&self) -> bool {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.is_ok())
    }

    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }
}

/// The current time as stored: UTC, whole seconds (so that SQLite's text
/// timestamps have one fixed width and sort correctly).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// Builds the error for a row that the schema allowed but the domain rejects
/// (for example a time zone written into the table by another program).
fn bad_row(table: &str, id: i64, column: &str, e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("{table} row id {id}: column {column}: {e}")
}
