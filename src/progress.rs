//! Progress of a long run: a bar with rate and ETA when stderr is a
//! terminal, otherwise a log line every few seconds. Knows nothing about
//! what is being counted beyond delivery outcomes.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::domain::{Outcome, Tally};

const LOG_EVERY: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Progress {
    inner: Arc<Inner>,
}

struct Inner {
    bar: ProgressBar,
    tty: bool,
    label: String,
    total: u64,
    started: Instant,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    done: u64,
    tally: Tally,
    last_log: Option<Instant>,
}

impl Progress {
    pub fn new(total: u64, label: String) -> Progress {
        let tty = std::io::stderr().is_terminal();
        let bar = if tty {
            ProgressBar::new(total)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template("{msg} {bar:30} {pos}/{len} ({per_sec}, eta {eta})")
                .expect("valid template"),
        );
        bar.set_message(label.clone());
        Progress {
            inner: Arc::new(Inner {
                bar,
                tty,
                label,
                total,
                started: Instant::now(),
                state: Mutex::new(State::default()),
            }),
        }
    }

    pub fn record(&self, outcome: &Outcome) {
        let i = &self.inner;
        let mut s = i.state.lock().expect("not poisoned");
        s.done += 1;
        s.tally.add(outcome);
        if i.tty {
            i.bar.inc(1);
            return;
        }
        let now = Instant::now();
        if s.last_log.is_none_or(|t| now - t >= LOG_EVERY) && now - i.started >= LOG_EVERY {
            s.last_log = Some(now);
            let secs = (now - i.started).as_secs_f64();
            let rate = s.done as f64 / secs;
            let eta = if rate > 0.0 {
                i.total.saturating_sub(s.done) as f64 / rate
            } else {
                0.0
            };
            tracing::info!(
                edition = %i.label,
                done = s.done,
                total = i.total,
                sent = s.tally.sent,
                skipped = s.tally.skipped,
                retries = s.tally.retries,
                failed = s.tally.failed,
                rate = format!("{rate:.0}/s"),
                eta = format!("{eta:.0}s"),
                "progress"
            );
        }
    }

    pub fn finish(&self) {
        self.inner.bar.finish_and_clear();
    }
}
