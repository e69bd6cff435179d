//! The delivery engine: for one edition, queue every due subscriber in the
//! ledger, then run a pipeline until the edition is done:
//!
//! - the claimer ([`claimer`]) takes batches of due rows, and selects,
//!   renders and composes their digests on blocking threads;
//! - `delivery.concurrency` workers ([`worker`]) each keep one SMTP session
//!   and send one message at a time, under an optional rate cap, slowing
//!   down together ([`throttle`]) when the relay answers 421 or 450;
//! - the recorder ([`recorder`]) writes outcomes to the ledger in group
//!   commits and only then lets a worker end its next message (moved to
//!   the relay meanwhile, all but DATA's terminating line), so after a
//!   crash at most one message per worker can have been delivered but not
//!   recorded.
//!
//! Transient failures are retried with exponential backoff and jitter
//! ([`retry`], pure); a recipient's permanent refusal fails at once and
//! counts towards the bounce threshold. A fault of Herald's own setup (the
//! relay's TLS, authentication, relaying, the message size) stops the run
//! with a [`SetupFault`] and is charged to no subscriber. On shutdown the
//! claimer stops, in-flight sends finish (within
//! `delivery.shutdown_timeout`) and unsent claims go back to the queue.
//! [`preview`] looks without sending. "Claim, send, record" lives only
//! here; SQL stays in the store and lettre in `mail`.

mod claimer;
mod preview;
mod recorder;
mod retry;
mod runs;
mod throttle;
mod worker;

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

pub use preview::Preview;
pub use retry::RetryPolicy;
pub use runs::Identity;

use crate::bounce::Verp;
use crate::bounce::guard::{Guard, PolicyStreaks};
use crate::config::{Config, DeliveryConfig, GuardConfig};
use crate::domain::{BounceRules, Claim, Edition, Outcome, Subscriber, Tally};
use crate::mail::{Composer, Email, Mailer, Outgoing, Unsealed};
use crate::metrics::Metrics;
use crate::progress::Progress;
use crate::render::{Limits, Recipient, Rendered, Renderer, Site};
use crate::select::{Pool, Rules};
use crate::store::{HeldBy, Store, StoryFilter};
use crate::templates::TemplateSources;

/// Rows claimed per round trip to the store, per sending worker: enough
/// to amortize the round trip, few enough that several processes on one
/// edition share the work.
const CLAIM_PER_WORKER: usize = 16;
/// Upper bound on outcomes queued for the recorder.
const RECORD_QUEUE: usize = 1000;

/// What a run did, and where the edition stands when it ends: every row of
/// the edition is accounted for in [`Ledger`], read back from the store.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// The run (this process's registration) that did the work; 0 for a
    /// dry run.
    pub run_id: i64,
    /// What this run sent, skipped and failed.
    pub sent: u64,
    pub skipped: u64,
    /// Rows of the edition still waiting for a retry (status `deferred`)
    /// when the run ended.
    pub deferred: u64,
    pub failed: u64,
    /// Transient failures met during the run (each one deferred a row).
    pub retries: u64,
    /// The guard paused the whole edition (`herald editions resume`).
    pub paused: bool,
    /// Recipient domains of the edition the guard paused.
    pub paused_domains: u64,
    /// Rows still queued when the run ended: held by a pause.
    pub held: u64,
    /// Why the run stopped before nothing was left to do, if it did.
    pub stopped: Option<Stopped>,
    /// The edition's rows when the run ended.
    pub ledger: Ledger,
}

/// Why a run ended before the edition was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stopped {
    /// The relay refused everything for `delivery.outage_limit`; the rows
    /// this run held were left deferred.
    Outage,
    /// SIGTERM or Ctrl-C; unsent claims went back to the queue.
    Shutdown,
}

/// Every row of an edition, by where it stands, as the store has them.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Ledger {
    pub total: u64,
    pub sent: u64,
    pub skipped: u64,
    pub failed: u64,
    pub deferred: u64,
    /// The earliest retry time of a deferred row.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Waiting to be claimed, `paused` of them held by the guard.
    pub queued: u64,
    pub paused: u64,
    /// Claimed by other live runs, listed in `held_by`.
    pub held: u64,
    pub held_by: Vec<HeldBy>,
    /// Claimed by runs that are gone (or this run's sends still unrecorded
    /// when it ended): free for the next run.
    pub abandoned: u64,
}

impl Ledger {
    /// Reads the edition's rows; claims of run `me` and of dead runs count
    /// as abandoned, those of other live runs as held.
    pub async fn read(
        store: &Store,
        edition_id: i64,
        me: i64,
        timeout: std::time::Duration,
    ) -> anyhow::Result<Ledger> {
        // The counts and the runs holding rows are two reads: another run
        // finishing its last rows between them would show its rows as
        // `sending` with no run holding them (abandoned). So the counts are
        // read again after the runs until they agree (a few tries: rows
        // settle once the other runs end).
        let mut state = store.ledger_state(edition_id).await?;
        let mut held_by;
        let mut tries = 0;
        loop {
            held_by = store.held_by(edition_id, timeout).await?;
            let again = store.ledger_state(edition_id).await?;
            tries += 1;
            if again == state || tries == 5 {
                break;
            }
            state = again;
        }
        let c = &state.counts;
        let n = |v: i64| v.max(0) as u64;
        let held_by: Vec<HeldBy> = held_by.into_iter().filter(|h| h.live && h.run_id != me).collect();
        let held = held_by.iter().map(|h| n(h.rows)).sum::<u64>();
        Ok(Ledger {
            total: n(c.queued + c.sending + c.sent + c.skipped + c.deferred + c.failed),
            sent: n(c.sent),
            skipped: n(c.skipped),
            failed: n(c.failed),
            deferred: n(c.deferred),
            next_attempt_at: state.next_attempt_at,
            queued: n(c.queued),
            paused: n(state.paused),
            held,
            held_by,
            // Rows claimed before runs existed have no run: abandoned too.
            abandoned: n(c.sending).saturating_sub(held),
        })
    }

    /// Rows not yet final: queued (paused or not), deferred, or claimed.
    pub fn remaining(&self) -> u64 {
        self.queued + self.deferred + self.held + self.abandoned
    }
}

/// How a finished run stands, for the exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Every row is final and none failed.
    Done,
    /// Every row is final; some recipients failed permanently.
    SomeFailed,
    /// Rows remain: deferred, queued (e.g. paused by the guard) or held by
    /// another run.
    RowsRemain,
}

impl RunSummary {
    pub fn new(tally: Tally, still_deferred: u64) -> RunSummary {
        RunSummary {
            sent: tally.sent,
            skipped: tally.skipped,
            deferred: still_deferred,
            failed: tally.failed,
            retries: tally.retries,
            ..RunSummary::default()
        }
    }

    /// Rows remaining win over failures: the edition is not done yet.
    pub fn verdict(&self) -> Verdict {
        if self.ledger.remaining() > 0 {
            Verdict::RowsRemain
        } else if self.ledger.failed > 0 {
            Verdict::SomeFailed
        } else {
            Verdict::Done
        }
    }
}

/// The relay refused Herald's own setup, the same for every subscriber:
/// the run stopped and nothing was recorded against anyone.
#[derive(Debug, Clone, thiserror::Error)]
#[error("delivery stopped, nothing was charged to any subscriber: {message}; check {setting}")]
pub struct SetupFault {
    /// The setting to check.
    pub setting: &'static str,
    pub message: String,
}

/// Everything needed to turn ledger rows into sent digests.
pub struct Engine {
    store: Store,
    renderer: Arc<Renderer>,
    composer: Arc<Composer>,
    mailer: Mailer,
    rules: Rules,
    delivery: DeliveryConfig,
    metrics: Arc<Metrics>,
    /// What refusals do to subscribers.
    bounce_rules: BounceRules,
    guard: GuardConfig,
    /// `mail.return_path`; the key comes from the store on the first run.
    return_path: Option<String>,
    verp: tokio::sync::OnceCell<Option<Verp>>,
    /// This process's run, registered on the first edition it sends (and
    /// again if it was lost).
    run: tokio::sync::Mutex<Option<Arc<runs::Registered>>>,
}

/// A composed message waiting for a worker; on a rendering thread, before
/// it is sealed, the message is an [`Unsealed`] one.
#[derive(Debug)]
struct Job<M = Email> {
    claim: Claim,
    /// The recipient's domain, for the guard's policy-block runs.
    domain: String,
    message_id: String,
    story_ids: Vec<i64>,
    window_end: DateTime<Utc>,
    clears_bounces: bool,
    email: M,
}

impl<M> Job<M> {
    /// This job carrying `message` instead of its own, and its own.
    fn replace_message<N>(self, message: N) -> (Job<N>, M) {
        let job = Job {
            claim: self.claim,
            domain: self.domain,
            message_id: self.message_id,
            story_ids: self.story_ids,
            window_end: self.window_end,
            clears_bounces: self.clears_bounces,
            email: message,
        };
        (job, self.email)
    }
}

/// An outcome on its way to the ledger; `ack` is answered once it is
/// committed.
struct Record {
    delivery_id: i64,
    subscriber_id: i64,
    /// The recipient's domain when a message was sent; empty otherwise.
    domain: String,
    outcome: Outcome,
    ack: Option<oneshot::Sender<()>>,
}

/// What the claimer hands on: a message to send, or an outcome decided
/// without sending (nothing new, unsubscribed, a rendering failure).
enum Prepared {
    Send(Box<Job>),
    Done(Record),
}

impl Engine {
    /// Builds the engine from the configuration: templates are compiled and
    /// checked, the transport is set up once.
    pub fn new(config: &Config, store: Store) -> anyhow::Result<Engine> {
        let sources = TemplateSources::load(config.digest.templates_dir.as_deref())?;
        let site = Site::from_config(&config.site);
        // max_html_bytes counts the HTML part's octets on the wire.
        let renderer = Renderer::new(&sources, site, Limits::from_config(&config.digest))?
            .with_html_fits(crate::mail::html_fits);
        let composer = Composer::new(&config.mail, config.site.name.as_str(), &config.site.public_url)?;
        let mailer = Mailer::new(&config.mail, &config.delivery)?;
        let rules = config.digest.rules();
        Ok(Engine {
            store,
            renderer: Arc::new(renderer),
            composer: Arc::new(composer),
            mailer,
            rules,
            delivery: config.delivery.clone(),
            metrics: config.metrics.clone(),
            bounce_rules: bounce_rules(config),
            guard: config.guard,
            return_path: config.mail.return_path.clone(),
            verp: tokio::sync::OnceCell::new(),
            run: tokio::sync::Mutex::new(None),
        })
    }

    /// The VERP address builder, when `mail.return_path` is set (its key
    /// is the store's, shared by every instance).
    pub async fn verp(&self) -> anyhow::Result<Option<Verp>> {
        let verp = self
            .verp
            .get_or_try_init(|| async {
                match &self.return_path {
                    None => Ok::<_, anyhow::Error>(None),
                    Some(template) => {
                        let key = self
                            .store
                            .secret(VERP_SECRET)
                            .await
                            .context("loading the VERP key")?;
                        Ok(Some(Verp::new(template, &key)))
                    }
                }
            })
            .await?;
        Ok(verp.clone())
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The transport and composer, for the HTTP side's confirmation mail.
    pub fn mail(&self) -> (Mailer, Arc<Composer>) {
        (self.mailer.clone(), self.composer.clone())
    }

    /// The ranked stories an edition can draw from: everything published in
    /// the longest possible window (two periods) up to `now`.
    pub async fn pool(&self, edition: &Edition, now: DateTime<Utc>) -> anyhow::Result<Pool> {
        let filter = StoryFilter {
            since: Some(now - edition.frequency.period() * 2),
            until: Some(now + Duration::seconds(1)),
            kind: None,
            limit: 100_000,
        };
        let stories = self
            .store
            .list_stories(&filter)
            .await
            .context("loading the edition's stories")?;
        Ok(Pool::rank(stories, now, &self.rules))
    }

    /// This process's run: registered (and its heartbeat started) on first
    /// use, and again when the previous registration was lost.
    async fn registered(&self) -> anyhow::Result<Arc<runs::Registered>> {
        let mut slot = self.run.lock().await;
        if let Some(r) = slot.as_ref().filter(|r| !r.lost.is_cancelled()) {
            return Ok(r.clone());
        }
        let r = Arc::new(
            runs::Registered::start(
                &self.store,
                self.delivery.heartbeat,
                self.delivery.heartbeat_timeout,
            )
            .await
            .context("registering this run in the store")?,
        );
        *slot = Some(r.clone());
        Ok(r)
    }

    /// Marks this process's run stopped (a clean exit): whatever it still
    /// holds is free for other runs at once.
    pub async fn stop(&self) -> anyhow::Result<()> {
        if let Some(r) = self.run.lock().await.take() {
            r.stop(&self.store).await.context("marking the run stopped")?;
        }
        Ok(())
    }

    /// Hands unsent claims of run `run_id` back: to the queue, or, once the
    /// run has given up on the relay, deferred until the first retry time.
    async fn give_back(&self, ids: &[i64], run_id: i64, outage: &throttle::Outage) -> anyhow::Result<()> {
        if outage.gave_up.is_cancelled() {
            let retry_at = crate::store::now()
                + Duration::from_std(self.delivery.retry_base).unwrap_or(Duration::seconds(60));
            self.store
                .defer_unsent(
                    ids,
                    run_id,
                    retry_at,
                    "not attempted: the relay refused every message for delivery.outage_limit",
                )
                .await
        } else {
            self.store.release(ids, run_id).await
        }
    }

    /// Sends an edition to every active subscriber of its frequency (or to
    /// `only` those) who has not had it yet, until nothing is left that is
    /// due within `delivery.linger`, `shutdown` is cancelled, or the relay
    /// has refused everything for `delivery.outage_limit`. Safe to run
    /// again and from several processes at once: claims name this
    /// process's run and are never taken while it lives. A [`SetupFault`]
    /// stops the run and is returned as the error.
    pub async fn run_edition(
        &self,
        edition: Edition,
        now: DateTime<Utc>,
        only: Option<&[i64]>,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<RunSummary> {
        let started = Instant::now();
        let run = self.registered().await?;
        let run_id = run.id;
        runs::reap(&self.store, run_id).await?;
        let edition_id = self.store.ensure_edition(&edition).await?;
        let queued = self
            .store
            .enqueue(edition_id, edition.frequency, only, now)
            .await?;
        let pending = self.store.pending_count(edition_id).await?;
        let pool = Arc::new(self.pool(&edition, now).await?);
        tracing::info!(edition = %edition, run = run_id, queued, pending, stories = pool.ranked.len(), "edition started");
        let blocks = Arc::new(self.renderer.edition(pool, edition));
        let progress = Progress::new(pending.max(0) as u64, edition.key());

        let pipeline = Pipeline::start(self, edition_id, run_id, progress.clone(), shutdown);
        let watcher = pipeline.stop_when(run.lost.clone());
        let outage = pipeline.crew.outage.clone();
        let claim_run = claimer::Run {
            engine: self,
            edition_id,
            run_id,
            outage: outage.clone(),
            edition,
            blocks,
            now,
            jobs: pipeline.jobs.clone(),
            records: pipeline.records.clone(),
            in_flight: pipeline.crew.in_flight.clone(),
            halt: pipeline.crew.halt.clone(),
            held: pipeline.crew.held.clone(),
            said_waiting: std::sync::atomic::AtomicBool::new(false),
        };
        let claimed = claim_run.claim_all().await;
        drop(claim_run);
        let finished = pipeline.finish(self, run_id, shutdown).await;
        watcher.abort();
        progress.finish();
        let (tally, released) = finished?;
        claimed?;
        if run.lost.is_cancelled() {
            anyhow::bail!(
                "run {run_id} stopped: its heartbeat was not renewed within delivery.heartbeat_timeout, so other runs may take its claims"
            );
        }
        let summary = self
            .summarize(edition_id, run_id, tally, &outage, shutdown)
            .await?;
        if summary.paused || summary.paused_domains > 0 {
            tracing::warn!(edition = %edition, held = summary.held, "the guard holds part of the edition; see `herald editions show`");
        }
        log_finished(&edition, &summary, released, started.elapsed().as_secs_f64());
        Ok(summary)
    }

    /// A finished run's summary: its tally, every row of the edition as
    /// the ledger has it now (deferred, held by the guard or by other
    /// runs), the guard's pauses, and why the run stopped early, if it did.
    async fn summarize(
        &self,
        edition_id: i64,
        run_id: i64,
        tally: Tally,
        outage: &throttle::Outage,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<RunSummary> {
        let ledger = Ledger::read(&self.store, edition_id, run_id, self.delivery.heartbeat_timeout).await?;
        let mut summary = RunSummary::new(tally, ledger.deferred);
        summary.run_id = run_id;
        for p in self.store.pauses(edition_id).await? {
            if p.resumed_at.is_none() {
                if p.domain.is_empty() {
                    summary.paused = true;
                } else {
                    summary.paused_domains += 1;
                }
            }
        }
        summary.held = ledger.paused;
        // Decided last: a shutdown during the reads above still counts.
        summary.stopped = if outage.gave_up.is_cancelled() {
            Some(Stopped::Outage)
        } else if shutdown.is_cancelled() {
            Some(Stopped::Shutdown)
        } else {
            None
        };
        summary.ledger = ledger;
        Ok(summary)
    }

    /// Records `skipped` rows for those of `subscriber_ids` who have no row
    /// for the edition yet (their digest is too late); returns how many.
    pub async fn skip_late(
        &self,
        edition: &Edition,
        subscriber_ids: &[i64],
        reason: &str,
    ) -> anyhow::Result<u64> {
        let edition_id = self.store.ensure_edition(edition).await?;
        self.store.skip_unserved(edition_id, subscriber_ids, reason).await
    }

    /// Sets the queue-depth gauge: rows queued, deferred or in flight among
    /// editions young enough to still be sent at `now`.
    pub async fn update_queue_depth(&self, now: DateTime<Utc>) -> anyhow::Result<i64> {
        let since =
            now - Duration::from_std(self.delivery.max_age).unwrap_or(Duration::days(30)) - Duration::days(2);
        let depth = self.store.pending_total(since).await?;
        self.metrics.set_queue_depth(depth);
        Ok(depth)
    }

    /// Composes a subscriber's message as the engine sends it.
    pub fn compose(&self, s: &Subscriber, rendered: &Rendered, message_id: &str) -> anyhow::Result<Email> {
        self.composer.seal(compose(
            &self.composer,
            &self.renderer,
            s,
            rendered,
            message_id,
            None,
        )?)
    }

    /// Composes a test copy of a subscriber's message for `to`: the subject
    /// is marked "[TEST]" and the subscriber's own address is left out.
    pub fn compose_test(
        &self,
        s: &Subscriber,
        rendered: &Rendered,
        message_id: &str,
        to: &str,
    ) -> anyhow::Result<Email> {
        let subject = format!("[TEST] {}", rendered.subject);
        let unsubscribe_url = self.renderer.links().unsubscribe(&s.token);
        self.composer.compose(&Outgoing {
            to_email: to,
            to_name: "",
            subject: &subject,
            ..outgoing(s, rendered, message_id, &unsubscribe_url)
        })
    }

    /// Sends one message on its own session (a test send).
    pub async fn send_one(&self, email: &Email) -> anyhow::Result<()> {
        self.mailer.send(email).await.map_err(anyhow::Error::from)
    }
}

/// What the guard holds back in this run: the whole edition, or some
/// recipient domains. Set by the recorder when it pauses, refreshed from
/// the store by the claimer before each claim (a pause from the intake or
/// another process), and read by the workers before each message, so that
/// rows already claimed go back to the queue instead of out.
#[derive(Debug, Default)]
struct Held {
    edition: std::sync::atomic::AtomicBool,
    domains: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl Held {
    fn holds(&self, domain: &str) -> bool {
        self.edition.load(std::sync::atomic::Ordering::Acquire)
            || self.domains.lock().expect("not poisoned").contains(domain)
    }

    fn hold(&self, domain: &str) {
        if domain.is_empty() {
            self.edition.store(true, std::sync::atomic::Ordering::Release);
        } else {
            self.domains
                .lock()
                .expect("not poisoned")
                .insert(domain.to_owned());
        }
    }

    /// The pauses in force, as the store has them.
    fn set(&self, pauses: &[crate::store::Pause]) {
        let live = pauses.iter().filter(|p| p.resumed_at.is_none());
        let mut domains = self.domains.lock().expect("not poisoned");
        domains.clear();
        let mut edition = false;
        for p in live {
            if p.domain.is_empty() {
                edition = true;
            } else {
                domains.insert(p.domain.clone());
            }
        }
        self.edition.store(edition, std::sync::atomic::Ordering::Release);
    }
}

/// The log line of a finished run (the daemon's record of every edition).
fn log_finished(edition: &Edition, summary: &RunSummary, released: usize, secs: f64) {
    let l = &summary.ledger;
    tracing::info!(
        edition = %edition,
        run = summary.run_id,
        sent = summary.sent,
        skipped = summary.skipped,
        failed = summary.failed,
        retries = summary.retries,
        released,
        rows = l.total,
        rows_sent = l.sent,
        rows_failed = l.failed,
        rows_deferred = l.deferred,
        next_attempt_at = ?l.next_attempt_at,
        rows_queued = l.queued,
        rows_paused = l.paused,
        rows_held = l.held,
        held_by = ?l.held_by.iter().map(|h| (h.run_id, h.host.as_str(), h.pid, h.until)).collect::<Vec<_>>(),
        rows_abandoned = l.abandoned,
        stopped = ?summary.stopped,
        seconds = secs,
        rate = summary.sent as f64 / secs.max(1e-9),
        "edition finished"
    );
}

/// The workers and the recorder of one run, and the channels between them.
struct Pipeline {
    jobs: mpsc::Sender<Box<Job>>,
    records: mpsc::Sender<Record>,
    crew: Arc<worker::Crew>,
    workers: Vec<tokio::task::JoinHandle<()>>,
    recorder: tokio::task::JoinHandle<anyhow::Result<Tally>>,
}

impl Pipeline {
    /// Halts the claimer and stops the workers when the run is `lost` (others
    /// may be taking its claims) or has given up on the relay.
    fn stop_when(&self, lost: CancellationToken) -> tokio::task::JoinHandle<()> {
        let (halt, stop) = (self.crew.halt.clone(), self.crew.stop.clone());
        let gave_up = self.crew.outage.gave_up.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = lost.cancelled() => {}
                _ = gave_up.cancelled() => {}
            }
            halt.cancel();
            stop.cancel();
        })
    }

    fn start(
        engine: &Engine,
        edition_id: i64,
        run_id: i64,
        progress: Progress,
        shutdown: &CancellationToken,
    ) -> Pipeline {
        let concurrency = engine.delivery.concurrency;
        // Room for a whole claimed batch, so that the workers keep sending
        // while the claimer renders the next one (with a quarter batch the
        // workers waited for rendering: 15% slower at concurrency 4).
        let (jobs, job_rx) = mpsc::channel::<Box<Job>>(concurrency * CLAIM_PER_WORKER);
        let (records, record_rx) = mpsc::channel::<Record>(RECORD_QUEUE);
        let in_flight = Arc::new(AtomicU64::new(0));
        let held = Arc::new(Held::default());
        let waiting = Arc::new(recorder::Waiting::default());
        let recorder = tokio::spawn(
            recorder::Recorder {
                store: engine.store.clone(),
                records: record_rx,
                edition_id,
                run_id,
                rules: engine.bounce_rules,
                guard: Guard::new(engine.store.clone(), engine.guard, engine.metrics.clone()),
                streaks: PolicyStreaks::new(engine.guard.domain_policy_blocks),
                judge_due: false,
                last_judged: None,
                held: held.clone(),
                in_flight: in_flight.clone(),
                progress,
                metrics: engine.metrics.clone(),
                waiting: waiting.clone(),
            }
            .run(),
        );
        let crew = Arc::new(worker::Crew {
            jobs: Mutex::new(job_rx),
            throttle: throttle::Throttle::new(concurrency),
            outage: Arc::new(throttle::Outage::new(engine.delivery.outage_limit)),
            limiter: engine
                .delivery
                .rate_per_second
                .and_then(NonZeroU32::new)
                .map(|n| governor::RateLimiter::direct(governor::Quota::per_second(n))),
            retry: RetryPolicy::new(&engine.delivery),
            stop: CancellationToken::new(),
            no_more_jobs: CancellationToken::new(),
            halt: shutdown.child_token(),
            metrics: engine.metrics.clone(),
            in_flight,
            fault: std::sync::Mutex::new(None),
            returned: std::sync::Mutex::new(Vec::new()),
            held,
            waiting,
        });
        let workers = (0..concurrency)
            .map(|index| {
                tokio::spawn(
                    worker::Worker {
                        index,
                        session: engine.mailer.session(),
                        records: records.clone(),
                        crew: crew.clone(),
                    }
                    .run(),
                )
            })
            .collect();
        Pipeline {
            jobs,
            records,
            crew,
            workers,
            recorder,
        }
    }

    /// Lets the workers finish (on shutdown within
    /// `delivery.shutdown_timeout`), waits for the recorder, and hands back
    /// claims no worker sent (deferred once the run gave up on the relay).
    /// Returns the tally and how many rows went back; a setup fault met by
    /// a worker is the error.
    async fn finish(
        self,
        engine: &Engine,
        run_id: i64,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<(Tally, usize)> {
        let Pipeline {
            jobs,
            records,
            crew,
            workers,
            recorder,
        } = self;
        drop(jobs);
        // Workers held back by the throttle must wake up to see the end.
        crew.no_more_jobs.cancel();
        if shutdown.is_cancelled() || crew.outage.gave_up.is_cancelled() {
            // Stop taking new messages; those in flight get the timeout.
            crew.stop.cancel();
            let joined = futures_util::future::join_all(workers);
            if tokio::time::timeout(engine.delivery.shutdown_timeout, joined)
                .await
                .is_err()
            {
                tracing::warn!(
                    "in-flight sends did not finish within delivery.shutdown_timeout; their rows are free once this run stops"
                );
            }
        } else {
            futures_util::future::join_all(workers).await;
        }
        drop(records);
        let tally = recorder.await.context("the recorder task panicked")??;
        // Rows the workers handed back (a pause, a setup fault) go back to
        // the queue; rows still waiting for a worker are given back.
        let back = std::mem::take(&mut *crew.returned.lock().expect("not poisoned"));
        let mut waiting = Vec::new();
        {
            let mut rx = crew.jobs.lock().await;
            while let Ok(job) = rx.try_recv() {
                waiting.push(job.claim.delivery_id);
            }
        }
        if !back.is_empty() {
            engine.store.release(&back, run_id).await?;
        }
        if !waiting.is_empty() {
            engine.give_back(&waiting, run_id, &crew.outage).await?;
        }
        if let Some(fault) = crew.fault.lock().expect("not poisoned").take() {
            return Err(fault.into());
        }
        Ok((tally, back.len() + waiting.len()))
    }
}

/// Composes a subscriber's digest as the engine sends it, to be sealed
/// (signed) by [`Composer::seal`].
fn compose(
    composer: &Composer,
    renderer: &Renderer,
    s: &Subscriber,
    rendered: &Rendered,
    message_id: &str,
    return_path: Option<&str>,
) -> anyhow::Result<Unsealed> {
    let unsubscribe_url = renderer.links().unsubscribe(&s.token);
    composer.compose_unsealed(&Outgoing {
        return_path,
        ..outgoing(s, rendered, message_id, &unsubscribe_url)
    })
}

/// The name of the VERP key in the store's secrets.
pub const VERP_SECRET: &str = "verp";

/// The thresholds of `delivery` and `bounces`, as the store applies them.
pub fn bounce_rules(config: &Config) -> BounceRules {
    BounceRules {
        smtp_threshold: config.delivery.bounce_threshold,
        hard_threshold: config.bounces.hard_threshold,
        soft_limit: config.bounces.soft_limit,
        soft_window: Duration::from_std(config.bounces.soft_window).unwrap_or(Duration::days(30)),
    }
}

/// The message for `s`, as the digest goes to them.
fn outgoing<'a>(
    s: &'a Subscriber,
    rendered: &'a Rendered,
    message_id: &'a str,
    unsubscribe_url: &'a str,
) -> Outgoing<'a> {
    Outgoing {
        to_email: s.email.as_str(),
        to_name: &s.name,
        subject: &rendered.subject,
        html: &rendered.html,
        text: &rendered.text,
        message_id,
        unsubscribe_url,
        token: &s.token,
        return_path: None,
    }
}

fn recipient(s: &Subscriber) -> Recipient<'_> {
    Recipient {
        name: &s.name,
        email: s.email.as_str(),
        token: &s.token,
        locale: s.locale.as_ref(),
    }
}
