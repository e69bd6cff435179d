//! Shared back-pressure for the sending workers of one run: each 421 or 450
//! reply halves the number of workers allowed to send and pauses them
//! (250 ms doubling, at most 30 s); every 100 successes win one level back.
//! It only counts and waits; it never sends or records.

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
}
