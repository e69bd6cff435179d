//! The delivery engine: for one edition, queue every due subscriber in the
//! ledger, then run a pipeline until the edition is done:
//!
//! - the claimer takes batches of due rows from the store (atomically, so
//!   several processes can share an edition), loads their subscribers and
//!   histories, and renders and composes the digests on blocking threads
//!   (every core, without stalling the async runtime);
//! - `delivery.concurrency` workers each keep one SMTP connection and send
//!   one message at a time, under an optional rate cap, slowing down together
//!   when the relay answers 421 or 450;
//! - the recorder writes outcomes to the ledger in group commits and only
//!   then lets a worker take its next message, so after a crash at most one
//!   message per worker can have been sent but not recorded.
//!
//! Transient failures are retried with exponential backoff and jitter;
//! permanent ones fail at once and count towards the bounce threshold. On
//! shutdown the claimer stops, in-flight sends finish (within
//! `delivery.shutdown_timeout`) and unsent claims go back to the queue.
//! "Claim, send, record" lives only here; SQL stays in the store and lettre
//! in `mail`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration as StdDuration, Instant};

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::{Config, DeliveryConfig};
use crate::domain::{Subscriber, SubscriberStatus};
use crate::mail::{Composer, Email, Mailer, Outgoing, SendError};
use crate::render::{EditionBlocks, Recipient, Rendered, Renderer, Site};
use crate::select::{self, Digest, Edition, History, Pool, Rules, Verdict};
use crate::store::{Claim, Outcome, Store, StoryFilter};
use crate::templates::TemplateSources;

/// Rows claimed per round trip to the store, per sending worker: enough
/// to amortize the round trip, few enough that several processes on one
/// edition share the work.
const CLAIM_PER_WORKER: usize = 16;
/// Upper bound on outcomes queued for the recorder.
const RECORD_QUEUE: usize = 1000;

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    pub sent: u64,
    pub skipped: u64,
    /// Rows of the edition still waiting for a retry when the run ended.
    pub deferred: u64,
    pub failed: u64,
    /// Transient failures met during the run (each one deferred a row).
    pub retries: u64,
}

impl RunSummary {
    fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Sent { .. } => self.sent += 1,
            Outcome::Skipped { .. } => self.skipped += 1,
            Outcome::Deferred { .. } => self.retries += 1,
            Outcome::Failed { .. } => self.failed += 1,
        }
    }
}

/// Everything needed to turn ledger rows into sent digests.
pub struct Engine {
    pub store: Store,
    pub renderer: Arc<Renderer>,
    pub composer: Arc<Composer>,
    pub mailer: Mailer,
    pub rules: Rules,
    pub delivery: DeliveryConfig,
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// One subscriber's digest, selected and rendered, not sent.
pub struct Preview {
    pub pool: Arc<Pool>,
    pub digest: Digest,
    pub verdicts: Vec<(usize, Verdict)>,
    pub rendered: Option<Rendered>,
    pub message_id: String,
}

/// A composed message waiting for a worker.
struct Job {
    delivery_id: i64,
    subscriber_id: i64,
    attempts: i64,
    queued_at: DateTime<Utc>,
    message_id: String,
    story_ids: Vec<i64>,
    window_end: DateTime<Utc>,
    clears_bounces: bool,
    email: Email,
}

/// An outcome on its way to the ledger; `ack` is answered once it is
/// committed.
struct Record {
    delivery_id: i64,
    subscriber_id: i64,
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
        let site = Site {
            name: config.site.name.to_string(),
            postal_address: config.site.postal_address.clone(),
            url: config.site.public_url.to_string(),
        };
        let renderer = Renderer::new(&sources, site, config.digest.max_html_bytes)?;
        let composer = Composer::new(&config.mail, config.site.name.as_str(), &config.site.public_url)?;
        let mailer = Mailer::new(&config.mail, &config.delivery)?;
        let d = &config.digest;
        let rules = Rules {
            comment_weight: d.comment_weight,
            gravity: d.gravity,
            max_stories: d.max_stories,
            max_blog_posts: d.max_blog_posts,
            max_per_author: d.max_per_author,
        };
        Ok(Engine {
            store,
            renderer: Arc::new(renderer),
            composer: Arc::new(composer),
            mailer,
            rules,
            delivery: config.delivery.clone(),
            metrics: Arc::new(crate::metrics::Metrics::new()),
        })
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

    /// Sends an edition to every active subscriber of its frequency (or to
    /// `only` those) who has not had it yet, until nothing is left that is
    /// due within `delivery.linger` or `shutdown` is cancelled. Safe to run
    /// again and from several processes at once.
    pub async fn run_edition(
        &self,
        edition: Edition,
        now: DateTime<Utc>,
        only: Option<&[i64]>,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<RunSummary> {
        let started = Instant::now();
        let edition_id = self.store.ensure_edition(&edition).await?;
        let queued = self.store.enqueue(edition_id, edition.frequency, only).await?;
        let pending = self.store.pending_count(edition_id).await?;
        let pool = Arc::new(self.pool(&edition, now).await?);
        tracing::info!(edition = %edition.key(), queued, pending, stories = pool.ranked.len(), "edition started");
        let blocks = Arc::new(self.renderer.edition(pool, edition));

        let concurrency = self.delivery.concurrency;
        // Room for a whole claimed batch, so that the workers keep sending
        // while the claimer renders the next one (with a quarter batch the
        // workers waited for rendering: 15% slower at concurrency 4).
        let (job_tx, job_rx) = mpsc::channel::<Box<Job>>(concurrency * CLAIM_PER_WORKER);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (record_tx, record_rx) = mpsc::channel::<Record>(RECORD_QUEUE);
        let in_flight = Arc::new(AtomicU64::new(0));
        let progress = crate::progress::Progress::new(pending.max(0) as u64, edition.key());

        let recorder = tokio::spawn(record(
            self.store.clone(),
            record_rx,
            self.delivery.bounce_threshold,
            in_flight.clone(),
            progress.clone(),
            self.metrics.clone(),
        ));
        let throttle = Arc::new(Throttle::new(concurrency));
        let limiter = self
            .delivery
            .rate_per_second
            .and_then(NonZeroU32::new)
            .map(|n| Arc::new(governor::RateLimiter::direct(governor::Quota::per_second(n))));
        let stop_sending = CancellationToken::new();
        let no_more_jobs = CancellationToken::new();
        let mut workers = Vec::with_capacity(concurrency);
        for index in 0..concurrency {
            workers.push(tokio::spawn(work(
                index,
                self.mailer.session(),
                job_rx.clone(),
                record_tx.clone(),
                throttle.clone(),
                limiter.clone(),
                self.delivery.clone(),
                stop_sending.clone(),
                no_more_jobs.clone(),
                self.metrics.clone(),
            )));
        }

        let claimed = self
            .claim_loop(
                edition_id, &edition, &blocks, now, &job_tx, &record_tx, &in_flight, shutdown,
            )
            .await;
        drop(job_tx);
        // Workers held back by the throttle must wake up to see the end.
        no_more_jobs.cancel();

        // On shutdown, stop taking new messages; give those in flight
        // `shutdown_timeout` to finish.
        if shutdown.is_cancelled() {
            stop_sending.cancel();
        }
        let joined = futures_join_all(workers);
        if shutdown.is_cancelled() {
            if tokio::time::timeout(self.delivery.shutdown_timeout, joined)
                .await
                .is_err()
            {
                tracing::warn!(
                    "in-flight sends did not finish within delivery.shutdown_timeout; their leases will expire"
                );
            }
        } else {
            joined.await;
        }
        drop(record_tx);
        let mut summary = recorder.await.context("the recorder task panicked")??;
        summary.deferred = self
            .store
            .edition_counts(edition_id)
            .await?
            .get("deferred")
            .copied()
            .unwrap_or(0)
            .max(0) as u64;
        // Claimed messages no worker took go back to the queue.
        let leftovers: Vec<i64> = {
            let mut rx = job_rx.lock().await;
            let mut ids = Vec::new();
            while let Ok(job) = rx.try_recv() {
                ids.push(job.delivery_id);
            }
            ids
        };
        if !leftovers.is_empty() {
            self.store.release(&leftovers).await?;
        }
        claimed?;
        progress.finish();
        let secs = started.elapsed().as_secs_f64();
        tracing::info!(
            edition = %edition.key(),
            sent = summary.sent,
            skipped = summary.skipped,
            deferred = summary.deferred,
            failed = summary.failed,
            retries = summary.retries,
            released = leftovers.len(),
            seconds = secs,
            rate = summary.sent as f64 / secs.max(1e-9),
            "edition finished"
        );
        Ok(summary)
    }

    #[allow(clippy::too_many_arguments)]
    async fn claim_loop(
        &self,
        edition_id: i64,
        edition: &Edition,
        blocks: &Arc<EditionBlocks>,
        now: DateTime<Utc>,
        job_tx: &mpsc::Sender<Box<Job>>,
        record_tx: &mpsc::Sender<Record>,
        in_flight: &AtomicU64,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let linger = Duration::from_std(self.delivery.linger).unwrap_or_default();
        let lease = Duration::from_std(self.delivery.lease).unwrap_or_default();
        while !shutdown.is_cancelled() {
            let batch = (self.delivery.concurrency * CLAIM_PER_WORKER).min(RECORD_QUEUE) as i64;
            let claims = self.store.claim(edition_id, batch, Utc::now() + lease).await?;
            if claims.is_empty() {
                // Outcomes still on their way may defer rows: wait for them
                // before deciding whether anything is left.
                if in_flight.load(Ordering::Acquire) > 0 {
                    tokio::time::sleep(StdDuration::from_millis(20)).await;
                    continue;
                }
                match self.store.next_retry(edition_id).await? {
                    Some(at) if at <= Utc::now() + linger => {
                        let wait =
                            (at - Utc::now()).to_std().unwrap_or_default() + StdDuration::from_millis(5);
                        tracing::info!(retry_in = ?wait, "waiting for deferred deliveries or expiring leases");
                        tokio::select! {
                            _ = tokio::time::sleep(wait) => continue,
                            _ = shutdown.cancelled() => break,
                        }
                    }
                    _ => break,
                }
            }
            in_flight.fetch_add(claims.len() as u64, Ordering::AcqRel);
            let prepared = self.prepare(blocks, edition, claims, now).await?;
            let mut prepared = prepared.into_iter();
            for p in prepared.by_ref() {
                match p {
                    Prepared::Done(r) => record_tx.send(r).await.context("the recorder stopped")?,
                    Prepared::Send(job) => {
                        let id = job.delivery_id;
                        tokio::select! {
                            sent = job_tx.send(job) => sent.context("the workers stopped")?,
                            _ = shutdown.cancelled() => {
                                self.store.release(&[id]).await?;
                                in_flight.fetch_sub(1, Ordering::AcqRel);
                                break;
                            }
                        }
                    }
                }
            }
            // Anything not handed on because of shutdown goes back.
            let rest: Vec<i64> = prepared
                .map(|p| match p {
                    Prepared::Send(job) => job.delivery_id,
                    Prepared::Done(r) => r.delivery_id,
                })
                .collect();
            if !rest.is_empty() {
                self.store.release(&rest).await?;
                in_flight.fetch_sub(rest.len() as u64, Ordering::AcqRel);
            }
        }
        Ok(())
    }

    /// Loads what a batch of claims needs, then selects, renders and
    /// composes on blocking threads, one chunk per core.
    async fn prepare(
        &self,
        blocks: &Arc<EditionBlocks>,
        edition: &Edition,
        claims: Vec<Claim>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<Prepared>> {
        let ids: Vec<i64> = claims.iter().map(|c| c.subscriber_id).collect();
        let subscribers = Arc::new(self.store.subscribers_by_id(&ids).await?);
        let histories = Arc::new(
            self.store
                .histories(&ids, edition.frequency, now - edition.frequency.period() * 2)
                .await?,
        );
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let chunk = claims.len().div_ceil(cores).max(1);
        let mut tasks = Vec::new();
        let mut claims = claims.into_iter().peekable();
        while claims.peek().is_some() {
            let part: Vec<Claim> = claims.by_ref().take(chunk).collect();
            let (blocks, subscribers, histories) = (blocks.clone(), subscribers.clone(), histories.clone());
            let (renderer, composer, rules) = (self.renderer.clone(), self.composer.clone(), self.rules);
            let edition = *edition;
            tasks.push(tokio::task::spawn_blocking(move || {
                part.into_iter()
                    .map(|claim| {
                        let s = subscribers.get(&claim.subscriber_id);
                        let history = s.and_then(|s| histories.get(&s.id));
                        prepare_one(
                            &renderer, &composer, &rules, &blocks, &edition, claim, s, history, now,
                        )
                    })
                    .collect::<Vec<_>>()
            }));
        }
        let mut out = Vec::new();
        for t in tasks {
            out.extend(t.await.context("a rendering thread panicked")?);
        }
        Ok(out)
    }

    /// Composes a subscriber's message; `test_to` replaces the recipient and
    /// marks the subject "[TEST]".
    pub fn compose(
        &self,
        s: &Subscriber,
        rendered: &Rendered,
        message_id: &str,
        test_to: Option<&str>,
    ) -> anyhow::Result<Email> {
        compose(&self.composer, &self.renderer, s, rendered, message_id, test_to)
    }

    /// Renders and counts an edition without sending or recording anything.
    pub async fn dry_run(&self, edition: Edition, now: DateTime<Utc>) -> anyhow::Result<RunSummary> {
        let pool = Arc::new(self.pool(&edition, now).await?);
        let blocks = self.renderer.edition(pool.clone(), edition);
        let mut summary = RunSummary::default();
        let mut after = 0;
        loop {
            let page = self
                .store
                .list_subscribers(Some(SubscriberStatus::Active), after, 1000)
                .await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            // As `enqueue` would: this frequency, and not paused.
            let page: Vec<&Subscriber> = page
                .iter()
                .filter(|s| s.frequency == edition.frequency && s.paused_until.is_none_or(|p| p <= now))
                .collect();
            let ids: Vec<i64> = page.iter().map(|s| s.id).collect();
            let histories = self
                .store
                .histories(&ids, edition.frequency, now - edition.frequency.period() * 2)
                .await?;
            for s in page {
                let history = histories.get(&s.id).cloned().unwrap_or_default();
                let digest = select::select(&pool, s, &history, now, &self.rules);
                if digest.is_empty() {
                    summary.skipped += 1;
                    continue;
                }
                match self.renderer.render(&blocks, &digest, recipient(s)) {
                    Ok(_) => summary.sent += 1,
                    Err(e) => {
                        tracing::warn!(subscriber_id = s.id, error = %format!("{e:#}"), "rendering failed");
                        summary.failed += 1;
                    }
                }
            }
        }
        Ok(summary)
    }

    /// Selects and renders one subscriber's digest, recording nothing.
    pub async fn preview(
        &self,
        s: &Subscriber,
        edition: Edition,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Preview> {
        let pool = Arc::new(self.pool(&edition, now).await?);
        let histories = self
            .store
            .histories(&[s.id], edition.frequency, now - edition.frequency.period() * 2)
            .await?;
        let history = histories.get(&s.id).cloned().unwrap_or_default();
        let (digest, verdicts) = select::explain(&pool, s, &history, now, &self.rules);
        let rendered = if digest.is_empty() {
            None
        } else {
            let blocks = self.renderer.edition(pool.clone(), edition);
            Some(self.renderer.render(&blocks, &digest, recipient(s))?)
        };
        let message_id = self.composer.message_id(&edition, &s.token);
        Ok(Preview {
            pool,
            digest,
            verdicts,
            rendered,
            message_id,
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn prepare_one(
    renderer: &Renderer,
    composer: &Composer,
    rules: &Rules,
    blocks: &EditionBlocks,
    edition: &Edition,
    claim: Claim,
    s: Option<&Subscriber>,
    history: Option<&History>,
    now: DateTime<Utc>,
) -> Prepared {
    let done = |outcome| {
        Prepared::Done(Record {
            delivery_id: claim.delivery_id,
            subscriber_id: claim.subscriber_id,
            outcome,
            ack: None,
        })
    };
    let s = match s {
        Some(s) if s.status == SubscriberStatus::Active => s,
        Some(s) => {
            return done(Outcome::Skipped {
                reason: format!("subscriber is {}", s.status),
            });
        }
        None => {
            return done(Outcome::Skipped {
                reason: "subscriber removed".into(),
            });
        }
    };
    let empty = History::default();
    let digest = select::select(blocks.pool(), s, history.unwrap_or(&empty), now, rules);
    if digest.is_empty() {
        return done(Outcome::Skipped {
            reason: "nothing new".into(),
        });
    }
    let message_id = composer.message_id(edition, &s.token);
    let failed = |what: &str, e: anyhow::Error| Outcome::Failed {
        message_id: Some(message_id.clone()),
        error: format!("{what}: {e:#}"),
        bounce: false,
    };
    let rendered = match renderer.render(blocks, &digest, recipient(s)) {
        Ok(r) => r,
        Err(e) => return done(failed("rendering", e)),
    };
    let email = match compose(composer, renderer, s, &rendered, &message_id, None) {
        Ok(m) => m,
        Err(e) => return done(failed("composing", e)),
    };
    Prepared::Send(Box::new(Job {
        delivery_id: claim.delivery_id,
        subscriber_id: claim.subscriber_id,
        attempts: claim.attempts,
        queued_at: claim.queued_at,
        message_id,
        story_ids: rendered.story_ids,
        window_end: digest.window_end,
        clears_bounces: s.bounce_count > 0,
        email,
    }))
}

fn compose(
    composer: &Composer,
    renderer: &Renderer,
    s: &Subscriber,
    rendered: &Rendered,
    message_id: &str,
    test_to: Option<&str>,
) -> anyhow::Result<Email> {
    let subject = match test_to {
        Some(_) => format!("[TEST] {}", rendered.subject),
        None => rendered.subject.clone(),
    };
    let unsubscribe_url = crate::render::unsubscribe_url(&renderer.site().url, &s.token);
    composer.compose(&Outgoing {
        to_email: test_to.unwrap_or(s.email.as_str()),
        to_name: if test_to.is_some() { "" } else { &s.name },
        subject: &subject,
        html: &rendered.html,
        text: &rendered.text,
        message_id,
        unsubscribe_url: &unsubscribe_url,
        token: &s.token,
    })
}

/// One sending worker: one SMTP session, one message at a time; waits for
/// each outcome to be committed before taking the next message.
#[allow(clippy::too_many_arguments)]
async fn work(
    index: usize,
    mut session: crate::mail::Session,
    jobs: Arc<Mutex<mpsc::Receiver<Box<Job>>>>,
    records: mpsc::Sender<Record>,
    throttle: Arc<Throttle>,
    limiter: Option<Arc<governor::DefaultDirectRateLimiter>>,
    delivery: DeliveryConfig,
    stop: CancellationToken,
    no_more_jobs: CancellationToken,
    metrics: Arc<crate::metrics::Metrics>,
) {
    loop {
        throttle.wait_turn(index, &stop, &no_more_jobs).await;
        let job = {
            let mut rx = jobs.lock().await;
            tokio::select! {
                biased;
                _ = stop.cancelled() => None,
                job = rx.recv() => job,
            }
        };
        let Some(job) = job else { break };
        if let Some(limiter) = &limiter {
            limiter.until_ready().await;
        }
        let started = Instant::now();
        let result = session.send(&job.email).await;
        metrics.observe_send(started.elapsed());
        let outcome = match result {
            Ok(()) => {
                throttle.success();
                Outcome::Sent {
                    message_id: job.message_id,
                    story_ids: job.story_ids,
                    at: crate::store::now(),
                    window_end: job.window_end,
                    clears_bounces: job.clears_bounces,
                }
            }
            Err(e @ SendError::Permanent(_)) => Outcome::Failed {
                message_id: Some(job.message_id),
                error: e.to_string(),
                bounce: true,
            },
            Err(e @ SendError::Transient { .. }) => {
                if e.is_throttle() {
                    throttle.slow_down();
                }
                after_transient(
                    job.attempts,
                    job.queued_at,
                    Utc::now(),
                    &delivery,
                    job.message_id,
                    e.to_string(),
                )
            }
        };
        let (ack, acked) = oneshot::channel();
        let record = Record {
            delivery_id: job.delivery_id,
            subscriber_id: job.subscriber_id,
            outcome,
            ack: Some(ack),
        };
        if records.send(record).await.is_err() {
            break;
        }
        // The ledger has it before this worker sends again: the bound on
        // duplicates after a crash.
        let _ = acked.await;
    }
    session.close().await;
}

/// Decides between another try and giving up after a transient failure.
pub fn after_transient(
    attempts: i64,
    queued_at: DateTime<Utc>,
    now: DateTime<Utc>,
    d: &DeliveryConfig,
    message_id: String,
    error: String,
) -> Outcome {
    let too_old = now - queued_at >= Duration::from_std(d.max_age).unwrap_or(Duration::MAX);
    if attempts >= i64::from(d.max_attempts) || too_old {
        let why = if too_old {
            "delivery.max_age reached"
        } else {
            "delivery.max_attempts reached"
        };
        return Outcome::Failed {
            message_id: Some(message_id),
            error: format!("gave up after {attempts} attempt(s), {why}: {error}"),
            bounce: false,
        };
    }
    let delay = backoff(attempts, d.retry_base, d.retry_max, rand::random::<f64>());
    Outcome::Deferred {
        message_id: Some(message_id),
        error,
        retry_at: now + Duration::from_std(delay).unwrap_or(Duration::hours(1)),
    }
}

/// Exponential backoff with jitter: `base · 2^(attempts-1)`, capped at
/// `max`, then scaled by a factor in [0.5, 1.5) drawn from `jitter` ∈ [0, 1).
pub fn backoff(attempts: i64, base: StdDuration, max: StdDuration, jitter: f64) -> StdDuration {
    let exp = attempts.saturating_sub(1).clamp(0, 30) as i32;
    let raw = base.as_secs_f64() * 2f64.powi(exp);
    StdDuration::from_secs_f64(raw.min(max.as_secs_f64()) * (0.5 + jitter))
}

/// Writes outcomes to the ledger in group commits, then acknowledges them.
async fn record(
    store: Store,
    mut rx: mpsc::Receiver<Record>,
    bounce_threshold: u32,
    in_flight: Arc<AtomicU64>,
    progress: crate::progress::Progress,
    metrics: Arc<crate::metrics::Metrics>,
) -> anyhow::Result<RunSummary> {
    let mut summary = RunSummary::default();
    let mut batch: Vec<Record> = Vec::with_capacity(256);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < 1000 {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let rows: Vec<(i64, i64, Outcome)> = batch
            .iter()
            .map(|r| (r.delivery_id, r.subscriber_id, r.outcome.clone()))
            .collect();
        store
            .finish(&rows, bounce_threshold)
            .await
            .context("recording delivery outcomes")?;
        for r in batch.drain(..) {
            summary.count(&r.outcome);
            progress.record(&r.outcome);
            metrics.record(&r.outcome);
            if let Outcome::Failed { error, .. } | Outcome::Deferred { error, .. } = &r.outcome {
                tracing::debug!(delivery_id = r.delivery_id, status = r.outcome.status(), error = %error, "delivery not completed");
            }
            if let Some(ack) = r.ack {
                let _ = ack.send(());
            }
        }
        in_flight.fetch_sub(rows.len() as u64, Ordering::AcqRel);
    }
    Ok(summary)
}

/// Shared back-pressure from 421/450 replies: each one halves the number of
/// workers allowed to send and pauses them (250 ms doubling, at most 30 s);
/// every 100 successes win one level back.
struct Throttle {
    workers: usize,
    level: AtomicU32,
    successes: AtomicU32,
    paused_until: std::sync::Mutex<Option<Instant>>,
}

impl Throttle {
    fn new(workers: usize) -> Self {
        Throttle {
            workers,
            level: AtomicU32::new(0),
            successes: AtomicU32::new(0),
            paused_until: std::sync::Mutex::new(None),
        }
    }

    fn allowed(&self) -> usize {
        (self.workers >> self.level.load(Ordering::Relaxed).min(16)).max(1)
    }

    /// Waits while this worker is paused or held back; returns early when
    /// the run stops or no more jobs will come.
    async fn wait_turn(&self, index: usize, stop: &CancellationToken, no_more_jobs: &CancellationToken) {
        loop {
            let pause = self
                .paused_until
                .lock()
                .expect("not poisoned")
                .and_then(|t| t.checked_duration_since(Instant::now()));
            let wait = match pause {
                Some(p) => p,
                None if index < self.allowed() => return,
                None => StdDuration::from_millis(100),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.cancelled() => return,
                _ = no_more_jobs.cancelled() => return,
            }
        }
    }

    fn slow_down(&self) {
        let level = (self.level.fetch_add(1, Ordering::Relaxed) + 1).min(16);
        self.successes.store(0, Ordering::Relaxed);
        let pause = StdDuration::from_millis(250u64 << level.min(7)).min(StdDuration::from_secs(30));
        *self.paused_until.lock().expect("not poisoned") = Some(Instant::now() + pause);
        tracing::warn!(level, allowed_workers = self.allowed(), pause = ?pause, "relay asked to slow down (421/450)");
    }

    fn success(&self) {
        if self.level.load(Ordering::Relaxed) == 0 {
            return;
        }
        if self.successes.fetch_add(1, Ordering::Relaxed) + 1 >= 100 {
            self.successes.store(0, Ordering::Relaxed);
            let _ = self
                .level
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |l| l.checked_sub(1));
        }
    }
}

async fn futures_join_all(handles: Vec<tokio::task::JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

fn recipient(s: &Subscriber) -> Recipient<'_> {
    Recipient {
        name: &s.name,
        email: s.email.as_str(),
        token: &s.token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        let base = StdDuration::from_secs(60);
        let max = StdDuration::from_secs(3600);
        assert_eq!(backoff(1, base, max, 0.5), StdDuration::from_secs(60));
        assert_eq!(backoff(2, base, max, 0.5), StdDuration::from_secs(120));
        assert_eq!(backoff(3, base, max, 0.5), StdDuration::from_secs(240));
        assert_eq!(backoff(20, base, max, 0.5), StdDuration::from_secs(3600));
        assert_eq!(backoff(1, base, max, 0.0), StdDuration::from_secs(30));
        assert!(backoff(1, base, max, 0.999) < StdDuration::from_secs(90));
    }
}
