//! Shared back-pressure for the sending workers of one run: each 421 or 450
//! reply halves the number of workers allowed to send and pauses them
//! (250 ms doubling, at most 30 s); every 100 successes win one level back.
//! [`Outage`] notices a relay that refuses everything: only transient
//! failures, no success, for longer than `delivery.outage_limit`, after
//! which the run gives up. They only count and wait; they never send or
//! record.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

pub(super) struct Throttle {
    workers: usize,
    level: AtomicU32,
    successes: AtomicU32,
    paused_until: std::sync::Mutex<Option<Instant>>,
}

impl Throttle {
    pub(super) fn new(workers: usize) -> Self {
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

    /// Waits while worker `index` is paused or held back; returns early when
    /// `stop` or `no_more_jobs` fires.
    pub(super) async fn wait_turn(
        &self,
        index: usize,
        stop: &CancellationToken,
        no_more_jobs: &CancellationToken,
    ) {
        loop {
            let pause = self
                .paused_until
                .lock()
                .expect("not poisoned")
                .and_then(|t| t.checked_duration_since(Instant::now()));
            let wait = match pause {
                Some(p) => p,
                None if index < self.allowed() => return,
                None => Duration::from_millis(100),
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.cancelled() => return,
                _ = no_more_jobs.cancelled() => return,
            }
        }
    }

    pub(super) fn slow_down(&self) {
        let level = (self.level.fetch_add(1, Ordering::Relaxed) + 1).min(16);
        self.successes.store(0, Ordering::Relaxed);
        let pause = Duration::from_millis(250u64 << level.min(7)).min(Duration::from_secs(30));
        *self.paused_until.lock().expect("not poisoned") = Some(Instant::now() + pause);
        tracing::warn!(level, allowed_workers = self.allowed(), pause = ?pause, "relay asked to slow down (421/450)");
    }

    pub(super) fn success(&self) {
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

/// Whether the relay has refused everything for too long. A success ends
/// an outage; the first transient failure after a success (or at the
/// start) begins one.
pub(super) struct Outage {
    limit: Duration,
    since: std::sync::Mutex<Option<Instant>>,
    /// Fired once the outage has lasted `limit`: the run stops claiming and
    /// sending, and leaves what it holds deferred.
    pub gave_up: CancellationToken,
}

impl Outage {
    pub(super) fn new(limit: Duration) -> Self {
        Outage {
            limit,
            since: std::sync::Mutex::new(None),
            gave_up: CancellationToken::new(),
        }
    }

    pub(super) fn success(&self) {
        *self.since.lock().expect("not poisoned") = None;
    }

    /// Counts a transient failure; returns whether the run gives up.
    pub(super) fn transient(&self) -> bool {
        self.since
            .lock()
            .expect("not poisoned")
            .get_or_insert_with(Instant::now);
        self.check()
    }

    /// Whether the outage has lasted `limit` (firing `gave_up` if so).
    pub(super) fn check(&self) -> bool {
        let since = *self.since.lock().expect("not poisoned");
        if since.is_some_and(|t| t.elapsed() >= self.limit) && !self.gave_up.is_cancelled() {
            tracing::warn!(limit = ?self.limit, "the relay refused every message for delivery.outage_limit; the run stops and leaves the rest deferred");
            self.gave_up.cancel();
        }
        self.gave_up.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_on_throttle_and_recovers_after_successes() {
        let t = Throttle::new(8);
        assert_eq!(t.allowed(), 8);
        t.slow_down();
        assert_eq!(t.allowed(), 4);
        t.slow_down();
        assert_eq!(t.allowed(), 2);
        for _ in 0..100 {
            t.success();
        }
        assert_eq!(t.allowed(), 4);
    }

    #[test]
    fn an_outage_ends_with_a_success_and_gives_up_after_the_limit() {
        let o = Outage::new(Duration::from_millis(50));
        assert!(!o.transient());
        o.success();
        assert!(!o.transient());
        std::thread::sleep(Duration::from_millis(60));
        assert!(o.check(), "50 ms of nothing but refusals");
        assert!(o.gave_up.is_cancelled());
    }
}
