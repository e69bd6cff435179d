//! The claimer of a run: takes batches of due ledger rows (atomically, so
//! several processes can share an edition), loads their subscribers and
//! histories, then selects, renders and composes each digest on blocking
//! threads (every core, without stalling the async runtime) and hands the
//! messages to the workers; one batch renders while the next is claimed
//! and the last waits for the workers. Rows decided without sending
//! (nothing new, no longer active, a rendering failure) go straight to the
//! recorder. Every claim names the run; rows of live runs are never taken,
//! rows of dead ones are (other runs of this host whose process is gone are
//! marked stopped first). On shutdown or a setup fault it stops and hands unsent
//! claims back; when the relay has refused everything for
//! `delivery.outage_limit` it stops and leaves them deferred.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration as StdDuration;

use anyhow::Context;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{CLAIM_PER_WORKER, Engine, Job, Prepared, RECORD_QUEUE, Record};
use crate::bounce::Verp;
use crate::domain::{Claim, Edition, History, Outcome, Subscriber, SubscriberStatus};
use crate::mail::{Composer, Unsealed};
use crate::render::{EditionBlocks, Renderer};
use crate::select::{self, Rules};
use crate::store::ClaimCursor;

/// One run of one edition, as the claimer sees it.
pub(super) struct Run<'a> {
    pub engine: &'a Engine,
    pub edition_id: i64,
    /// The run every claim names.
    pub run_id: i64,
    pub outage: Arc<super::throttle::Outage>,
    pub edition: Edition,
    pub blocks: Arc<EditionBlocks>,
    /// The instant digests are selected for.
    pub now: DateTime<Utc>,
    pub jobs: mpsc::Sender<Box<Job>>,
    pub records: mpsc::Sender<Record>,
    /// Claimed rows not yet recorded or released.
    pub in_flight: Arc<AtomicU64>,
    /// Shutdown, or a setup fault met by a worker.
    pub halt: CancellationToken,
    /// The guard's pauses, refreshed before each claim for the workers.
    pub held: Arc<super::Held>,
    /// The wait for retries has been logged once already.
    pub said_waiting: std::sync::atomic::AtomicBool,
}

impl Run<'_> {
    /// Claims and prepares until nothing is left that is due within
    /// `delivery.linger`, or the run is halted.
    pub(super) async fn claim_all(&self) -> anyhow::Result<()> {
        let delivery = &self.engine.delivery;
        let batch = (delivery.concurrency * CLAIM_PER_WORKER).min(RECORD_QUEUE) as i64;
        let store = &self.engine.store;
        let mut cursor = ClaimCursor::default();
        // The batch rendering while the next is claimed and loaded, and
        // while this one waits for room on the job channel: the rendering
        // threads never wait for the store or for the workers.
        let mut rendering: Option<Rendering> = None;
        while !self.halt.is_cancelled() {
            self.held.set(&store.pauses(self.edition_id).await?);
            let started = std::time::Instant::now();
            let claims = store
                .claim(
                    self.edition_id,
                    batch,
                    self.run_id,
                    delivery.heartbeat_timeout,
                    &mut cursor,
                )
                .await?;
            // The scale bench parses these two fields.
            tracing::debug!(
                claimed = claims.len(),
                claim_ms = started.elapsed().as_secs_f64() * 1000.0,
                "claim"
            );
            if claims.is_empty() {
                if let Some(r) = rendering.take() {
                    self.hand_on(r.finish().await?).await?;
                    continue;
                }
                if self.wait_for_more().await? {
                    continue;
                }
                break;
            }
            self.in_flight.fetch_add(claims.len() as u64, Ordering::AcqRel);
            let next = self.prepare(claims).await?;
            if let Some(r) = rendering.replace(next) {
                self.hand_on(r.finish().await?).await?;
            }
        }
        match rendering {
            // Halted with a batch rendered: handed on or given back.
            Some(r) => self.hand_on(r.finish().await?).await,
            None => Ok(()),
        }
    }

    /// Nothing was claimable: waits for outcomes still on their way (they
    /// may defer rows), for the next retry, or for another live run's
    /// claims to become free should it die, when that is due within
    /// `delivery.linger`. Returns whether to claim again.
    async fn wait_for_more(&self) -> anyhow::Result<bool> {
        if self.outage.check() {
            self.halt.cancel();
            return Ok(false);
        }
        if self.in_flight.load(Ordering::Acquire) > 0 {
            tokio::time::sleep(StdDuration::from_millis(20)).await;
            return Ok(true);
        }
        let engine = self.engine;
        // A run of this host whose process is gone frees its claims now,
        // not after its heartbeat times out.
        if super::runs::reap(&engine.store, self.run_id).await? > 0 {
            return Ok(true);
        }
        let linger = engine.delivery.linger;
        let next = engine
            .store
            .next_due(self.edition_id, self.run_id, engine.delivery.heartbeat_timeout)
            .await?;
        let retry = next.retry_at.map(|at| {
            // The claim compares with the store's clock, whole seconds:
            // a row due at 12:00:00.7 is claimable from 12:00:01, so
            // wait for that second instead of polling until it comes.
            let at = if at.timestamp_subsec_nanos() > 0 {
                at.trunc_subsecs(0) + Duration::seconds(1)
            } else {
                at
            };
            (at - Utc::now()).to_std().unwrap_or_default() + StdDuration::from_millis(5)
        });
        // A live run renews its claims: look again every second (it may
        // finish, or die) for as long as it would be dead within the linger.
        let held = next
            .held_expires_in
            .map(|d| d.to_std().unwrap_or_default())
            .filter(|d| *d <= linger)
            .map(|d| d.min(StdDuration::from_secs(1)));
        let wait = match (retry.filter(|d| *d <= linger), held) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => return Ok(false),
        };
        if !self.said_waiting.swap(true, Ordering::AcqRel) {
            tracing::info!(retry_in = ?wait, "waiting for deferred deliveries or rows held by another run");
        } else {
            tracing::debug!(retry_in = ?wait, "waiting for deferred deliveries or rows held by another run");
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => Ok(true),
            _ = self.halt.cancelled() => Ok(false),
        }
    }

    /// Passes messages to the workers and decided rows to the recorder; once
    /// halted, hands the rest back to the queue.
    async fn hand_on(&self, prepared: Vec<Prepared>) -> anyhow::Result<()> {
        let mut prepared = prepared.into_iter();
        let mut back = Vec::new();
        for p in prepared.by_ref() {
            match p {
                Prepared::Done(r) => self.records.send(r).await.context("the recorder stopped")?,
                Prepared::Send(job) => {
                    let id = job.claim.delivery_id;
                    tokio::select! {
                        sent = self.jobs.send(job) => sent.context("the workers stopped")?,
                        _ = self.halt.cancelled() => {
                            back.push(id);
                            break;
                        }
                    }
                }
            }
        }
        back.extend(prepared.map(|p| match p {
            Prepared::Send(job) => job.claim.delivery_id,
            Prepared::Done(r) => r.delivery_id,
        }));
        if !back.is_empty() {
            self.engine.give_back(&back, self.run_id, &self.outage).await?;
            self.in_flight.fetch_sub(back.len() as u64, Ordering::AcqRel);
        }
        Ok(())
    }

    /// Loads what a batch of claims needs, then starts selecting,
    /// rendering and composing on blocking threads, one chunk per core.
    async fn prepare(&self, claims: Vec<Claim>) -> anyhow::Result<Rendering> {
        let store = &self.engine.store;
        let frequency = self.edition.frequency;
        let ids: Vec<i64> = claims.iter().map(|c| c.subscriber_id).collect();
        let subscribers = store.subscribers_by_id(&ids).await?;
        let histories = store
            .histories(&ids, frequency, self.now - frequency.period() * 2)
            .await?;
        let kit = Arc::new(Kit {
            verp: self.engine.verp().await?,
            renderer: self.engine.renderer.clone(),
            composer: self.engine.composer.clone(),
            rules: self.engine.rules,
            blocks: self.blocks.clone(),
            edition: self.edition,
            now: self.now,
            subscribers,
            histories,
        });
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let chunk = claims.len().div_ceil(cores).max(1);
        let mut tasks = Vec::new();
        let mut claims = claims.into_iter().peekable();
        while claims.peek().is_some() {
            let part: Vec<Claim> = claims.by_ref().take(chunk).collect();
            let kit = kit.clone();
            tasks.push(tokio::task::spawn_blocking(move || kit.prepare_chunk(part)));
        }
        Ok(Rendering { tasks })
    }
}

/// A batch on the rendering threads.
struct Rendering {
    tasks: Vec<tokio::task::JoinHandle<Vec<Prepared>>>,
}

impl Rendering {
    /// The batch's messages and decided rows, in claim order.
    async fn finish(self) -> anyhow::Result<Vec<Prepared>> {
        let mut out = Vec::new();
        for t in self.tasks {
            out.extend(t.await.context("a rendering thread panicked")?);
        }
        Ok(out)
    }
}

/// Everything a rendering thread needs for a batch of claims.
struct Kit {
    verp: Option<Verp>,
    renderer: Arc<Renderer>,
    composer: Arc<Composer>,
    rules: Rules,
    blocks: Arc<EditionBlocks>,
    edition: Edition,
    now: DateTime<Utc>,
    subscribers: std::collections::HashMap<i64, Subscriber>,
    histories: std::collections::HashMap<i64, History>,
}

impl Kit {
    /// Prepares a chunk of claims in claim order: every digest is selected,
    /// rendered and composed first, then all are sealed (signed) one after
    /// another, which costs less CPU than signing each right after its
    /// render.
    fn prepare_chunk(&self, claims: Vec<Claim>) -> Vec<Prepared> {
        let drafted: Vec<Drafted> = claims.into_iter().map(|c| self.draft(c)).collect();
        drafted
            .into_iter()
            .map(|d| match d {
                Drafted::Done(p) => p,
                Drafted::Draft(d) => seal(*d, &self.composer),
            })
            .collect()
    }

    /// Selects, renders and composes one claim's digest, or decides its
    /// outcome without sending.
    fn draft(&self, claim: Claim) -> Drafted {
        let done = |outcome| {
            Drafted::Done(Prepared::Done(Record {
                delivery_id: claim.delivery_id,
                subscriber_id: claim.subscriber_id,
                domain: String::new(),
                outcome,
                ack: None,
            }))
        };
        let s = match self.subscribers.get(&claim.subscriber_id) {
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
        let history = self.histories.get(&s.id).unwrap_or(&empty);
        let digest = select::select(self.blocks.pool(), s, history, self.now, &self.rules);
        if digest.is_empty() {
            return done(Outcome::Skipped {
                reason: "nothing new".into(),
            });
        }
        let message_id = self.composer.message_id(&self.edition, s.id, &s.token);
        let failed = |what: &str, e: anyhow::Error| Outcome::Failed {
            message_id: Some(message_id.clone()),
            error: format!("{what}: {e:#}"),
            refusal: None,
        };
        let return_path = self.verp.as_ref().map(|v| v.address(claim.delivery_id));
        let rendered = match self.renderer.render(&self.blocks, &digest, super::recipient(s)) {
            Ok(r) => r,
            Err(e) => return done(failed("rendering", e)),
        };
        let unsealed = match super::compose(
            &self.composer,
            &self.renderer,
            s,
            &rendered,
            &message_id,
            return_path.as_deref(),
        ) {
            Ok(m) => m,
            Err(e) => return done(failed("composing", e)),
        };
        Drafted::Draft(Box::new(Job {
            domain: s.email.domain().to_owned(),
            message_id,
            story_ids: rendered.story_ids,
            window_end: digest.window_end,
            clears_bounces: s.bounce_count > 0,
            email: unsealed,
            claim,
        }))
    }
}

/// A claim as [`Kit::draft`] leaves it.
enum Drafted {
    Done(Prepared),
    Draft(Box<Job<Unsealed>>),
}

/// Seals a drafted job's message: the job for a worker, or a failure.
fn seal(draft: Job<Unsealed>, composer: &Composer) -> Prepared {
    let (job, unsealed) = draft.replace_message(());
    match composer.seal(unsealed) {
        Ok(email) => Prepared::Send(Box::new(job.replace_message(email).0)),
        Err(e) => Prepared::Done(Record {
            delivery_id: job.claim.delivery_id,
            subscriber_id: job.claim.subscriber_id,
            domain: String::new(),
            outcome: Outcome::Failed {
                message_id: Some(job.message_id),
                error: format!("composing: {e:#}"),
                refusal: None,
            },
            ack: None,
        }),
    }
}
