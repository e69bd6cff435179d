//! The sending workers of a run: `delivery.concurrency` of them, each with
//! its own SMTP session, one message at a time, under the optional rate cap
//! and the shared [`Throttle`]. A worker turns the relay's answer into an
//! [`Outcome`] and hands it to the recorder; it moves its next message to
//! the relay meanwhile, but ends it (the terminating `.` line, after which
//! the relay delivers) only once the recorder has acknowledged the last
//! one, so at most one message per worker is ever delivered and not yet in
//! the ledger. After a refusal it waits for the record before anything
//! else, so a pause the guard makes on that refusal holds its next message.
//! A fault of Herald's own setup ([`SendError::Setup`]) is nobody's
//! outcome: the worker hands the row back, records the fault for the run and
//! halts it. When the relay has refused everything for
//! `delivery.outage_limit` ([`Outage`]), the workers stop too and the run
//! leaves its unsent claims deferred. Workers never touch the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use chrono::Utc;
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::retry::RetryPolicy;
use super::throttle::{Outage, Throttle};
use super::{Job, Record, SetupFault};
use crate::domain::Outcome;
use crate::mail::{SendError, Session};
use crate::metrics::Metrics;

/// What the workers of one run share.
pub(super) struct Crew {
    pub jobs: Mutex<mpsc::Receiver<Box<Job>>>,
    pub throttle: Throttle,
    pub outage: Arc<Outage>,
    pub limiter: Option<governor::DefaultDirectRateLimiter>,
    pub retry: RetryPolicy,
    /// Stop taking messages (shutdown, or a setup fault).
    pub stop: CancellationToken,
    /// The claimer is done: workers held back by the throttle wake up.
    pub no_more_jobs: CancellationToken,
    /// Stops the claimer: fired on a setup fault.
    pub halt: CancellationToken,
    pub metrics: Arc<Metrics>,
    pub in_flight: Arc<AtomicU64>,
    /// The first setup fault met, and the rows handed back because of it.
    pub fault: std::sync::Mutex<Option<SetupFault>>,
    pub returned: std::sync::Mutex<Vec<i64>>,
    /// What the guard holds back: such a job goes back to the queue.
    pub held: Arc<super::Held>,
    /// Told to the recorder: who waits for an acknowledgement.
    pub waiting: Arc<super::recorder::Waiting>,
}

impl Crew {
    /// Hands a claimed row back to the queue unsent and unrecorded.
    fn give_back(&self, delivery_id: i64) {
        self.returned.lock().expect("not poisoned").push(delivery_id);
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

pub(super) struct Worker {
    pub index: usize,
    pub session: Session,
    pub records: mpsc::Sender<Record>,
    pub crew: Arc<Crew>,
}

impl Worker {
    pub(super) async fn run(mut self) {
        // The recorder's acknowledgement of the last outcome handed on: the
        // next message is ended only once it has come. Outcomes are written
        // in the order they are handed on, so the last one acknowledged
        // means every earlier one is in the ledger too.
        let mut unrecorded: Option<oneshot::Receiver<()>> = None;
        while let Some(job) = self.next_job().await {
            let (delivery_id, subscriber_id) = (job.claim.delivery_id, job.claim.subscriber_id);
            if self.crew.held.holds(&job.domain) {
                // Paused by the guard since it was claimed: back to the
                // queue, unsent and uncharged.
                self.crew.give_back(delivery_id);
                continue;
            }
            let domain = job.domain.clone();
            let Some(outcome) = self.send(*job, &mut unrecorded).await else {
                continue;
            };
            let delivered = matches!(outcome, Outcome::Sent { .. });
            let (ack, acked) = oneshot::channel();
            let record = Record {
                delivery_id,
                subscriber_id,
                domain,
                outcome,
                ack: Some(ack),
            };
            if self.records.send(record).await.is_err() {
                break;
            }
            if delivered {
                unrecorded = Some(acked);
            } else {
                // A refusal may make the guard pause its domain or the
                // edition: the recorder has judged it once this comes, so
                // the next message is checked against that.
                let _ = self.crew.waiting.wait(acked).await;
                unrecorded = None;
            }
        }
        if let Some(acked) = unrecorded {
            let _ = self.crew.waiting.wait(acked).await;
        }
        self.session.close().await;
    }

    async fn next_job(&self) -> Option<Box<Job>> {
        let crew = &self.crew;
        crew.throttle
            .wait_turn(self.index, &crew.stop, &crew.no_more_jobs)
            .await;
        let mut rx = crew.jobs.lock().await;
        tokio::select! {
            biased;
            _ = crew.stop.cancelled() => None,
            job = rx.recv() => job,
        }
    }

    /// Sends one message, ending it only once `unrecorded` (the last
    /// outcome's acknowledgement) has come; `None` when the row was handed
    /// back unrecorded.
    async fn send(&mut self, job: Job, unrecorded: &mut Option<oneshot::Receiver<()>>) -> Option<Outcome> {
        let crew = &self.crew;
        if let Some(limiter) = &crew.limiter {
            limiter.until_ready().await;
        }
        let started = Instant::now();
        let mut result = self.session.begin(&job.email).await;
        let mut spent = started.elapsed();
        if result.is_ok() {
            if let Some(acked) = unrecorded.take()
                && crew.waiting.wait(acked).await.is_err()
            {
                // The recorder is gone, the last outcome perhaps with it:
                // this message is not delivered, and the run stops.
                self.session.abandon();
                crew.give_back(job.claim.delivery_id);
                crew.stop.cancel();
                return None;
            }
            let ending = Instant::now();
            result = self.session.end(&job.email).await;
            spent += ending.elapsed();
        }
        crew.metrics.observe_send(spent);
        let outcome = match result {
            Ok(()) => {
                crew.throttle.success();
                crew.outage.success();
                Outcome::Sent {
                    message_id: job.message_id,
                    story_ids: job.story_ids,
                    at: crate::store::now(),
                    window_end: job.window_end,
                    clears_bounces: job.clears_bounces,
                }
            }
            Err(SendError::Rejected { refusal, message }) => Outcome::Failed {
                message_id: Some(job.message_id),
                error: format!("permanent failure: {message}"),
                refusal: Some(refusal),
            },
            Err(e @ SendError::Transient { .. }) => {
                if e.is_throttle() {
                    crew.throttle.slow_down();
                }
                if crew.outage.transient() {
                    // The relay has refused everything for too long: no
                    // more claims and no more messages in this run.
                    crew.halt.cancel();
                    crew.stop.cancel();
                }
                let jitter = rand::random::<f64>();
                crew.retry
                    .after_transient(&job.claim, Utc::now(), jitter, job.message_id, e.to_string())
            }
            Err(SendError::Setup { setting, message }) => {
                self.hand_back(job.claim.delivery_id, SetupFault { setting, message });
                return None;
            }
        };
        Some(outcome)
    }

    /// Gives the row back unrecorded and halts the run: a fault of the setup
    /// would fail every subscriber alike.
    fn hand_back(&self, delivery_id: i64, fault: SetupFault) {
        let crew = &self.crew;
        crew.give_back(delivery_id);
        let mut first = crew.fault.lock().expect("not poisoned");
        if first.is_none() {
            tracing::error!(setting = fault.setting, error = %fault.message, "the relay refused Herald's setup; stopping the run");
            *first = Some(fault);
        }
        crew.halt.cancel();
        crew.stop.cancel();
    }
}
