//! The daemon: one scheduler tick (who is due now, then the delivery engine
//! for each due edition), the periodic jobs on tokio-cron-scheduler, and
//! `herald run`, which also serves the subscriber-facing HTTP endpoints.
//! When subscribers are due is decided by `schedule` (pure); sending is the
//! engine's; reading the bounce mailbox is `bounce::imap`'s and judging its
//! messages `bounce::parse`'s and the intake's; this module only wires them
//! to a clock and a scheduler. Under systemd (`Type=notify`) it says READY
//! once the scheduler and the listeners are up and STOPPING on shutdown,
//! and feeds the watchdog from a scheduler job while ticks keep time, so a
//! hung scheduler gets the daemon restarted.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use tokio_cron_scheduler::{Job, JobScheduler};
use tokio_util::sync::CancellationToken;

use crate::bounce::imap::{Limits, read_mailbox};
use crate::bounce::intake::Intake;
use crate::config::{Config, ImapConfig};
use crate::deliver::{Engine, RunSummary};
use crate::domain::SubscriberStatus;
use crate::domain::{Edition, Source};
use crate::schedule::{Due, ScheduleRules, due_for};
use crate::store::Store;

/// Unconfirmed signups older than this are erased.
const PENDING_TTL_DAYS: i64 = 7;

/// The editions this process is sending right now. A tick skips them (the
/// run still going has them in hand) and goes on with the others, so a
/// stuck edition never holds up the next tick.
#[derive(Debug, Default, Clone)]
pub struct Running(Arc<std::sync::Mutex<HashSet<String>>>);

impl Running {
    /// Marks `key` running until the guard is dropped; `None` when it
    /// already runs.
    fn start(&self, key: String) -> Option<RunningGuard> {
        let mut set = self.0.lock().expect("not poisoned");
        set.insert(key.clone()).then(|| RunningGuard {
            running: self.clone(),
            key,
        })
    }

    fn is_empty(&self) -> bool {
        self.0.lock().expect("not poisoned").is_empty()
    }
}

struct RunningGuard {
    running: Running,
    key: String,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        self.running.0.lock().expect("not poisoned").remove(&self.key);
    }
}

/// What one tick did.
#[derive(Debug, Default, Clone)]
pub struct TickSummary {
    pub editions: Vec<(Edition, RunSummary)>,
    /// Digests more than `schedule.grace` late, skipped.
    pub skipped_late: u64,
}

/// One tick at `now`: every active subscriber whose local send time has
/// come (within the grace period) gets their edition; digests later than
/// that are recorded as skipped. The due editions run side by side; one
/// that `running` says this process is still sending is skipped. Safe to
/// run from several places at once.
pub async fn tick(
    store: &Store,
    engine: &Engine,
    rules: &ScheduleRules,
    now: DateTime<Utc>,
    shutdown: &CancellationToken,
    running: &Running,
) -> anyhow::Result<TickSummary> {
    let started = std::time::Instant::now();
    engine.metrics().tick(Utc::now());
    let (due, late) = due_editions(store, now, rules).await?;
    let mut summary = TickSummary {
        skipped_late: skip_late(engine, late).await?,
        ..TickSummary::default()
    };
    let mut runs = Vec::new();
    for (edition, ids, late_by) in due.into_values() {
        if shutdown.is_cancelled() {
            break;
        }
        let Some(guard) = running.start(edition.key()) else {
            tracing::info!(edition = %edition.key(), "this process is still sending the edition; the tick goes on with the others");
            continue;
        };
        if late_by > Duration::minutes(30) {
            tracing::info!(edition = %edition.key(), subscribers = ids.len(), late_by = %late_by, "catching up");
        }
        runs.push(async move {
            let result = engine.run_edition(edition, now, Some(&ids), shutdown).await;
            drop(guard);
            (edition, result)
        });
    }
    let mut failed = None;
    for (edition, result) in futures_util::future::join_all(runs).await {
        match result {
            Ok(s) => summary.editions.push((edition, s)),
            Err(e) => {
                tracing::error!(edition = %edition.key(), error = %format!("{e:#}"), "the edition's run failed");
                failed.get_or_insert(e);
            }
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    engine.update_queue_depth(now).await?;
    let (editions, domains) = store.active_pauses().await?;
    engine.metrics().set_guard_paused(editions, domains);
    engine.metrics().tick_finished(started.elapsed());
    Ok(summary)
}

/// An edition's place in a tick's maps: editions run in frequency and date
/// order.
type EditionKey = (String, chrono::NaiveDate);

/// The due editions: their subscribers and how late the latest is.
type DueEditions = BTreeMap<EditionKey, (Edition, Vec<i64>, Duration)>;

/// The editions whose digests are too late: their subscribers.
type LateEditions = BTreeMap<EditionKey, (Edition, Vec<i64>)>;

/// The editions due at `now` (their subscribers and how late the latest
/// is) and those too late, from every active subscriber, a page at a time.
async fn due_editions(
    store: &Store,
    now: DateTime<Utc>,
    rules: &ScheduleRules,
) -> anyhow::Result<(DueEditions, LateEditions)> {
    let mut due = DueEditions::new();
    let mut late = LateEditions::new();
    let mut after = 0;
    loop {
        let page = store
            .list_subscribers(Some(SubscriberStatus::Active), after, 1000)
            .await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for s in &page {
            match due_for(s, now, rules) {
                Due::Send { edition, late_by, .. } => {
                    let e = due
                        .entry((edition.frequency.to_string(), edition.date))
                        .or_insert((edition, Vec::new(), late_by));
                    e.1.push(s.id);
                    e.2 = e.2.max(late_by);
                }
                Due::TooLate { edition, .. } => late
                    .entry((edition.frequency.to_string(), edition.date))
                    .or_insert((edition, Vec::new()))
                    .1
                    .push(s.id),
                Due::NotYet => {}
            }
        }
    }
    Ok((due, late))
}

/// Records the too-late digests as skipped; how many were.
async fn skip_late(engine: &Engine, late: LateEditions) -> anyhow::Result<u64> {
    let mut total = 0;
    for (edition, ids) in late.into_values() {
        let skipped = engine
            .skip_late(
                &edition,
                &ids,
                "more than schedule.grace late; stories roll into the next digest",
            )
            .await?;
        if skipped > 0 {
            tracing::warn!(edition = %edition.key(), skipped, "digests too late after downtime were skipped");
            total += skipped;
        }
    }
    Ok(total)
}

/// `herald run`: the scheduler (ticks, purges, feeds, retention) plus the
/// HTTP server, until SIGTERM or Ctrl-C.
pub async fn run(config: Config, store: Store, engine: Engine) -> anyhow::Result<()> {
    let engine = Arc::new(engine);
    warn_if_open_files_short(&config);
    let shutdown = crate::shutdown::on_signal();
    let server = serve_http(&config, &store, &engine, &shutdown).await?;
    let metrics_server = serve_metrics(&config, &store, &engine, &shutdown).await?;

    let mut scheduler = JobScheduler::new().await.context("starting the scheduler")?;
    // Ticks may overlap: each edition runs once at a time in this process
    // (`Running`), and other processes are kept apart by the ledger.
    let running = Running::default();
    let tick = tick_job(&config, &store, &engine, &shutdown, &running)?;
    scheduler.add(tick).await.context("adding the tick job")?;
    scheduler
        .add(purge_job(&store)?)
        .await
        .context("adding the purge job")?;
    scheduler
        .add(feeds_job(&config, &store)?)
        .await
        .context("adding the feeds job")?;
    scheduler
        .add(retention_job(&config, &store)?)
        .await
        .context("adding the retention job")?;
    if let Some(imap) = &config.bounces.imap {
        let intake = Intake::open(&config, store.clone(), engine.metrics().clone()).await?;
        scheduler
            .add(imap_job(imap, intake)?)
            .await
            .context("adding the bounce mailbox job")?;
    }
    if let Some(every) = sd_notify::watchdog_enabled() {
        scheduler
            .add(watchdog_job(every, engine.metrics().clone())?)
            .await
            .context("adding the watchdog job")?;
    }
    scheduler.start().await.context("starting the scheduler")?;
    engine
        .metrics()
        .scheduler_started(&config.schedule.tick, Utc::now())?;
    engine.metrics().set_ready(true);
    notify(&[sd_notify::NotifyState::Ready]);

    shutdown.cancelled().await;
    engine.metrics().set_ready(false);
    notify(&[
        sd_notify::NotifyState::Stopping,
        sd_notify::NotifyState::Status("finishing in-flight sends"),
    ]);
    let _ = scheduler.shutdown().await;
    // Let running editions finish their in-flight sends, then stop the run
    // so that anything it still holds is free at once.
    let _ = tokio::time::timeout(config.delivery.shutdown_timeout, async {
        while !running.is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await;
    if let Err(e) = engine.stop().await {
        tracing::error!(error = %format!("{e:#}"), "marking the run stopped failed");
    }
    for server in std::iter::once(server).chain(metrics_server) {
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "HTTP server error"),
            Err(e) => tracing::error!(error = %e, "HTTP server task failed"),
        }
    }
    tracing::info!("herald stopped");
    Ok(())
}

/// Binds `http.listen` and serves the subscriber pages until shutdown.
async fn serve_http(
    config: &Config,
    store: &Store,
    engine: &Engine,
    shutdown: &CancellationToken,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let listener = tokio::net::TcpListener::bind(config.http.listen)
        .await
        .with_context(|| format!("cannot listen on {} (http.listen)", config.http.listen))?;
    let local = listener.local_addr()?;
    let (mailer, composer) = engine.mail();
    let intake = Intake::open(config, store.clone(), engine.metrics().clone()).await?;
    let state = crate::http::AppState::new(store.clone(), engine.metrics().clone(), config)?
        .with_mail(mailer, composer)
        .with_webhooks(crate::http::Webhooks::new(&config.webhooks, intake)?);
    let limits = crate::http::Limits::from_config(&config.http);
    let server = tokio::spawn(crate::http::serve(
        listener,
        crate::http::app(state),
        limits,
        shutdown.clone(),
    ));
    tracing::info!(listen = %local, tick = %config.schedule.tick, feeds = %config.feeds.schedule, "herald is running");
    Ok(server)
}

/// Binds `metrics.listen` (unless "off") and serves `/metrics` there until
/// shutdown.
async fn serve_metrics(
    config: &Config,
    store: &Store,
    engine: &Engine,
    shutdown: &CancellationToken,
) -> anyhow::Result<Option<tokio::task::JoinHandle<std::io::Result<()>>>> {
    let Some(addr) = config.metrics_listen else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} (metrics.listen)"))?;
    let local = listener.local_addr()?;
    let app = crate::http::metrics_app(store.clone(), engine.metrics().clone());
    let stop = shutdown.clone();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
    });
    tracing::info!(listen = %local, "metrics are served");
    Ok(Some(server))
}

/// Files besides the connections: listeners, the log, journald, sd_notify,
/// DNS, the binary's own.
const OTHER_OPEN_FILES: u64 = 32;

/// The open files the daemon may hold at once under `config`: one per HTTP
/// connection (`http.max_connections`), three per store connection
/// (SQLite's file, WAL and shared memory; one socket for PostgreSQL), one
/// per SMTP connection and per feed fetch, and [`OTHER_OPEN_FILES`].
pub fn open_files_needed(config: &Config) -> u64 {
    config.http.max_connections as u64
        + 3 * u64::from(config.database.max_connections)
        + config.delivery.concurrency as u64
        + config.feeds.concurrency as u64
        + OTHER_OPEN_FILES
}

/// The warning for an open-file limit (the soft `RLIMIT_NOFILE`) that
/// `config` does not fit under; none when it fits or there is no limit.
pub fn open_files_warning(config: &Config, limit: Option<u64>) -> Option<String> {
    let needed = open_files_needed(config);
    let limit = limit.filter(|&l| l < needed)?;
    Some(format!(
        "the open-file limit is {limit}, but http.max_connections ({}) with database.max_connections ({}), \
         delivery.concurrency ({}) and feeds.concurrency ({}) can hold {needed} files: \
         lower http.max_connections or raise the limit (LimitNOFILE= in herald.service, ulimit -n)",
        config.http.max_connections,
        config.database.max_connections,
        config.delivery.concurrency,
        config.feeds.concurrency,
    ))
}

/// Logs [`open_files_warning`] for this process's limit: past it, the
/// listener cannot accept connections (EMFILE) while it is full.
fn warn_if_open_files_short(config: &Config) {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    if let Some(warning) = open_files_warning(config, limit) {
        tracing::warn!("{warning}");
    }
}

/// Tells systemd (`Type=notify`); nothing without `$NOTIFY_SOCKET`.
fn notify(state: &[sd_notify::NotifyState]) {
    if let Err(e) = sd_notify::notify(state) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// `WATCHDOG=1` three times per `WatchdogSec=`, from the scheduler's own
/// loop and only while ticks keep time: if the scheduler hangs, or no tick
/// has started for a period and a minute, systemd restarts the daemon.
fn watchdog_job(every: std::time::Duration, metrics: Arc<crate::metrics::Metrics>) -> anyhow::Result<Job> {
    let period = (every / 3).max(std::time::Duration::from_secs(1));
    Job::new_repeated_async(period, move |_, _| {
        let metrics = metrics.clone();
        Box::pin(async move {
            match metrics.tick_health(Utc::now()) {
                crate::metrics::TickHealth::Overdue { due, .. } => {
                    tracing::error!(due = %due, "a tick is overdue; not feeding the watchdog")
                }
                _ => notify(&[sd_notify::NotifyState::Watchdog]),
            }
        })
    })
    .map_err(|e| anyhow::anyhow!("watchdog job: {e}"))
}

/// The scheduler tick on `schedule.tick`. Ticks may overlap; an edition
/// still running from an earlier tick is skipped by the later one.
fn tick_job(
    config: &Config,
    store: &Store,
    engine: &Arc<Engine>,
    shutdown: &CancellationToken,
    running: &Running,
) -> anyhow::Result<Job> {
    let rules = config.schedule.rules();
    let (store, engine, shutdown, running) =
        (store.clone(), engine.clone(), shutdown.clone(), running.clone());
    Job::new_async(config.schedule.tick.as_str(), move |_, _| {
        let (store, engine, shutdown, running) =
            (store.clone(), engine.clone(), shutdown.clone(), running.clone());
        Box::pin(async move {
            match tick(&store, &engine, &rules, Utc::now(), &shutdown, &running).await {
                // Each edition's run logged its own line ("edition
                // finished", every row of the ledger); this counts the tick.
                Ok(t) if t.editions.is_empty() => tracing::debug!("tick: nothing due"),
                Ok(t) => tracing::info!(
                    editions = t.editions.len(),
                    sent = t.editions.iter().map(|(_, s)| s.sent).sum::<u64>(),
                    skipped_late = t.skipped_late,
                    "tick"
                ),
                Err(e) => tracing::error!(error = %format!("{e:#}"), "tick failed"),
            }
        })
    })
    .map_err(|e| anyhow::anyhow!("schedule.tick {:?}: {e}", config.schedule.tick))
}

/// Hourly: erases signups left unconfirmed for `PENDING_TTL_DAYS`.
fn purge_job(store: &Store) -> anyhow::Result<Job> {
    let store = store.clone();
    Job::new_async("0 17 * * * *", move |_, _| {
        let store = store.clone();
        Box::pin(async move {
            match store
                .purge_unconfirmed(Utc::now() - Duration::days(PENDING_TTL_DAYS))
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "unconfirmed signups erased"),
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "purging unconfirmed signups failed")
                }
            }
        })
    })
    .map_err(|e| anyhow::anyhow!("purge job: {e}"))
}

/// Daily at 03:41 UTC: the ledger's retention pass (`delivery.retention`).
/// Several daemons may run it at once: each batch deletes only what it
/// counts. Skipped while the previous pass still runs.
fn retention_job(config: &Config, store: &Store) -> anyhow::Result<Job> {
    let (store, retention) = (store.clone(), config.delivery.retention);
    let pruning = Arc::new(tokio::sync::Mutex::new(()));
    Job::new_async("0 41 3 * * *", move |_, _| {
        let (store, pruning) = (store.clone(), pruning.clone());
        Box::pin(async move {
            let Ok(_guard) = pruning.try_lock() else {
                tracing::info!("previous retention pass still running; skipping this one");
                return;
            };
            match store.prune_ledger(retention, Utc::now(), false).await {
                Ok(r) if r.editions.is_empty() => tracing::debug!("retention pass: nothing to fold"),
                Ok(r) => tracing::info!(editions = r.editions.len(), rows = r.rows(), "retention pass"),
                Err(e) => tracing::error!(error = %format!("{e:#}"), "the retention pass failed"),
            }
        })
    })
    .map_err(|e| anyhow::anyhow!("retention job: {e}"))
}

/// Reads the bounce mailbox on `bounces.imap_schedule`: each message is
/// parsed and handed to the intake, and marked processed on the server only
/// once the intake has taken it. Skipped while the previous read still runs.
fn imap_job(imap: &ImapConfig, intake: Intake) -> anyhow::Result<Job> {
    let imap = Arc::new(imap.clone());
    let intake = Arc::new(intake);
    let reading = Arc::new(tokio::sync::Mutex::new(()));
    let schedule = imap.schedule.clone();
    Job::new_async(schedule.as_str(), move |_, _| {
        let (imap, intake, reading) = (imap.clone(), intake.clone(), reading.clone());
        Box::pin(async move {
            let Ok(_guard) = reading.try_lock() else {
                tracing::info!("previous bounce mailbox read still running; skipping this one");
                return;
            };
            let read = read_mailbox(&imap, &Limits::default(), |raw| {
                let intake = intake.clone();
                async move {
                    // Parsing is CPU work (MIME, up to 1 MiB): a blocking thread.
                    let report = tokio::task::spawn_blocking(move || crate::bounce::parse(&raw))
                        .await
                        .context("parsing a bounce message")?;
                    intake.accept(&report, Source::Imap, crate::store::now()).await?;
                    Ok(())
                }
            })
            .await;
            match read {
                Ok(s) if s.failed > 0 => {
                    tracing::warn!(
                        seen = s.seen,
                        processed = s.processed,
                        failed = s.failed,
                        "bounce mailbox read"
                    )
                }
                Ok(s) if s.seen > 0 => {
                    tracing::info!(
                        seen = s.seen,
                        processed = s.processed,
                        failed = s.failed,
                        "bounce mailbox read"
                    )
                }
                Ok(_) => tracing::debug!("bounce mailbox read: nothing new"),
                Err(e) => tracing::error!(error = %format!("{e:#}"), "reading the bounce mailbox failed"),
            }
        })
    })
    .map_err(|e| anyhow::anyhow!("bounces.imap_schedule {schedule:?}: {e}"))
}

/// Feed fetching on `feeds.schedule`; skipped while the previous fetch
/// still runs.
fn feeds_job(config: &Config, store: &Store) -> anyhow::Result<Job> {
    let ingester = Arc::new(crate::feeds::Ingester::new(config, store.clone())?);
    let fetching = Arc::new(tokio::sync::Mutex::new(()));
    let metrics = config.metrics.clone();
    Job::new_async(config.feeds.schedule.as_str(), move |_, _| {
        let (ingester, fetching, metrics) = (ingester.clone(), fetching.clone(), metrics.clone());
        Box::pin(async move {
            let Ok(_guard) = fetching.try_lock() else {
                tracing::info!("previous feed fetch still running; skipping this one");
                return;
            };
            // Feed failures are recorded per feed; only a store
            // failure ends up here.
            match ingester.fetch_all().await {
                Ok(reports) => metrics.feed_fetches(&reports),
                Err(e) => tracing::error!(error = %format!("{e:#}"), "fetching feeds failed"),
            }
        })
    })
    .map_err(|e| anyhow::anyhow!("feeds.schedule {:?}: {e}", config.feeds.schedule))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::config::Overrides;

    fn config(env: &[(&str, &str)]) -> Config {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let overrides = Overrides {
            config_path: Some(PathBuf::from("config/herald.toml")),
            database_url: None,
            metrics_file: None,
        };
        Config::load_from(&overrides, &env).unwrap()
    }

    #[test]
    fn the_open_file_limit_must_hold_the_configured_connections() {
        // 512 HTTP + 3 × 5 store + 4 SMTP + 8 feeds + 32.
        let c = config(&[]);
        assert_eq!(open_files_needed(&c), 571);
        assert_eq!(open_files_warning(&c, Some(571)), None);
        assert_eq!(open_files_warning(&c, None), None, "no limit");
        // A shell's usual soft limit is 1024; systemd's own default is too.
        let big = config(&[("HERALD_HTTP__MAX_CONNECTIONS", "2000")]);
        let warning = open_files_warning(&big, Some(1024)).expect("a warning");
        assert!(
            warning.starts_with("the open-file limit is 1024, but http.max_connections (2000)")
                && warning.contains("can hold 2059 files")
                && warning.contains("LimitNOFILE="),
            "{warning}"
        );
        assert_eq!(
            open_files_warning(&big, Some(65536)),
            None,
            "herald.service's LimitNOFILE"
        );
    }
}
