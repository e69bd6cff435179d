//! The recorder: the one task of a run that writes outcomes to the ledger.
//! It gathers outcomes into one group commit until a worker waits for an
//! acknowledgement (or a few milliseconds pass), then acknowledges each of
//! them, so a worker never ends its next message (DATA's terminating line,
//! after which the relay delivers) before the ledger has the last one. It
//! decides nothing; it counts what it wrote into the run's [`Tally`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use tokio::sync::mpsc;

use super::Record;
use crate::bounce::guard::{Guard, PolicyStreaks};
use crate::domain::{BounceRules, Category, Outcome, Source, Tally};
use crate::metrics::Metrics;
use crate::progress::Progress;
use crate::store::Store;

/// How often, at most, the guard judges the edition during a run.
const GUARD_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Most outcomes written in one group commit.
const MAX_BATCH: usize = 1000;

/// Longest an outcome waits for others to share its commit when no worker
/// is waiting for it (rows decided without sending, a worker still writing
/// its next message).
const GATHER_FOR: std::time::Duration = std::time::Duration::from_millis(5);

/// The workers waiting for an acknowledgement, told to the recorder: while
/// none is, a commit can wait for more outcomes at no cost. Committing each
/// outcome as it came gave 1.3 rows per commit at concurrency 4, and the
/// commits were most of the store's share of a send.
#[derive(Default)]
pub(super) struct Waiting {
    count: std::sync::atomic::AtomicUsize,
    changed: tokio::sync::Notify,
}

impl Waiting {
    /// Waits for `acked`, counted as waiting meanwhile.
    pub(super) async fn wait(
        &self,
        acked: tokio::sync::oneshot::Receiver<()>,
    ) -> Result<(), tokio::sync::oneshot::error::RecvError> {
        struct Counted<'a>(&'a Waiting);
        impl Drop for Counted<'_> {
            fn drop(&mut self) {
                self.0.count.fetch_sub(1, Ordering::AcqRel);
            }
        }
        self.count.fetch_add(1, Ordering::AcqRel);
        let _counted = Counted(self);
        self.changed.notify_one();
        acked.await
    }

    fn any(&self) -> bool {
        self.count.load(Ordering::Acquire) > 0
    }
}

pub(super) struct Recorder {
    pub store: Store,
    pub records: mpsc::Receiver<Record>,
    pub edition_id: i64,
    /// The run whose claims these are: only its rows are finished.
    pub run_id: i64,
    pub rules: BounceRules,
    /// Judges the edition after refusals, and pauses it or a domain.
    pub guard: Guard,
    pub streaks: PolicyStreaks,
    /// A hard refusal came since the guard last judged the edition.
    pub judge_due: bool,
    pub last_judged: Option<std::time::Instant>,
    /// Told of every pause this recorder makes, for the workers.
    pub held: Arc<super::Held>,
    /// Claimed rows not yet recorded or released, shared with the claimer.
    pub in_flight: Arc<AtomicU64>,
    pub progress: Progress,
    pub metrics: Arc<Metrics>,
    /// Workers waiting for an acknowledgement.
    pub waiting: Arc<Waiting>,
}

impl Recorder {
    /// Runs until every sender of records is gone.
    pub(super) async fn run(mut self) -> anyhow::Result<Tally> {
        let mut tally = Tally::default();
        let mut batch: Vec<Record> = Vec::with_capacity(256);
        let mut ledger = self.store.ledger().await.context("a connection for the ledger")?;
        while let Some(first) = self.records.recv().await {
            batch.push(first);
            self.gather(&mut batch).await;
            let rows: Vec<(i64, i64, Outcome)> = batch
                .iter()
                .map(|r| (r.delivery_id, r.subscriber_id, r.outcome.clone()))
                .collect();
            ledger
                .finish(&rows, self.run_id, &self.rules)
                .await
                .context("recording delivery outcomes")?;
            self.watch(&batch).await?;
            for r in batch.drain(..) {
                tally.add(&r.outcome);
                self.progress.record(&r.outcome);
                self.metrics.record(&r.outcome);
                if let Outcome::Failed { error, .. } | Outcome::Deferred { error, .. } = &r.outcome {
                    tracing::debug!(delivery_id = r.delivery_id, status = %r.outcome.status(), error = %error, "delivery not completed");
                }
                if let Some(ack) = r.ack {
                    let _ = ack.send(());
                }
            }
            self.in_flight.fetch_sub(rows.len() as u64, Ordering::AcqRel);
        }
        if self.judge_due {
            self.judge_now().await?;
        }
        Ok(tally)
    }

    /// Adds to `batch` what comes before a worker waits for an
    /// acknowledgement, the batch is full, [`GATHER_FOR`] has passed or the
    /// senders are gone. A worker counts as waiting once its outcome is
    /// handed on, so the outcome it waits for is in the batch.
    async fn gather(&mut self, batch: &mut Vec<Record>) {
        let until = tokio::time::Instant::now() + GATHER_FOR;
        loop {
            while batch.len() < MAX_BATCH {
                match self.records.try_recv() {
                    Ok(r) => batch.push(r),
                    Err(_) => break,
                }
            }
            if batch.len() >= MAX_BATCH || self.waiting.any() {
                return;
            }
            tokio::select! {
                r = self.records.recv() => match r {
                    Some(r) => batch.push(r),
                    None => return,
                },
                () = self.waiting.changed.notified() => {}
                () = tokio::time::sleep_until(until) => return,
            }
        }
    }

    /// Counts the batch's refusals and lets the guard judge: a run of
    /// policy blocks pauses that domain, a hard-bounce rate over the limit
    /// the edition.
    async fn watch(&mut self, batch: &[Record]) -> anyhow::Result<()> {
        let mut judge = false;
        for r in batch {
            let refusal = match &r.outcome {
                Outcome::Failed {
                    refusal: Some(refusal),
                    ..
                } => Some(refusal.category),
                Outcome::Sent { .. } => None,
                _ => continue,
            };
            if let Some(category) = refusal {
                self.metrics.bounce(Source::Smtp, category);
                judge |= category == Category::Hard;
                if category == Category::Policy
                    && let Outcome::Failed { error, .. } = &r.outcome
                {
                    // The sender's problem, not the subscriber's: said to the
                    // operator, charged to no one.
                    tracing::warn!(domain = %r.domain, error = %error, "the recipient's server refused the message for policy reasons (blocklist, content, rate or authentication)");
                }
            }
            if !r.domain.is_empty() && self.streaks.observe(&r.domain, refusal == Some(Category::Policy)) {
                let limit = self.guard.config().domain_policy_blocks;
                let reason = format!(
                    "{} answered {limit} messages in a row with policy blocks (guard.domain_policy_blocks)",
                    r.domain
                );
                self.guard.pause(self.edition_id, &r.domain, &reason).await?;
                self.held.hold(&r.domain);
            }
        }
        self.judge_due |= judge;
        // Each judgement counts the edition's rows, so at most one every
        // GUARD_EVERY (and one more when the run ends): not one per batch.
        if self.judge_due && self.last_judged.is_none_or(|t| t.elapsed() >= GUARD_EVERY) {
            self.judge_now().await?;
        }
        Ok(())
    }

    async fn judge_now(&mut self) -> anyhow::Result<()> {
        self.judge_due = false;
        self.last_judged = Some(std::time::Instant::now());
        if self.guard.check_edition(self.edition_id).await?.is_some() {
            self.held.hold("");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker counts as waiting from the moment it waits until its
    /// acknowledgement comes, or its wait is dropped; the recorder is woken
    /// when one starts.
    #[tokio::test]
    async fn a_worker_is_waiting_until_acknowledged_or_gone() {
        let waiting = Arc::new(Waiting::default());
        assert!(!waiting.any());
        let (ack, acked) = tokio::sync::oneshot::channel();
        let w = waiting.clone();
        let worker = tokio::spawn(async move { w.wait(acked).await });
        waiting.changed.notified().await;
        assert!(waiting.any());
        ack.send(()).unwrap();
        assert!(worker.await.unwrap().is_ok());
        assert!(!waiting.any());

        let (_ack, acked) = tokio::sync::oneshot::channel::<()>();
        let w = waiting.clone();
        let worker = tokio::spawn(async move { w.wait(acked).await });
        waiting.changed.notified().await;
        assert!(waiting.any());
        worker.abort();
        let _ = worker.await;
        assert!(!waiting.any(), "a dropped wait is not counted");
    }
}
