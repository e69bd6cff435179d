//! Progress of a long run: a bar with rate and ETA when stderr is a
//! terminal, otherwise a log line every few seconds. Knows nothing about
//! what is being counted beyond delivery outcomes.
//!
//! It also owns the one thing the bars and the log lines share: the
//! terminal. Every bar drawn on stderr is a member of one process-wide
//! [`MultiProgress`] (a process has one stderr, so this is its only
//! global), and the log writer ([`LogWriter`], which `telemetry` gives
//! tracing) writes each record with the bars cleared and redraws them
//! after, so a log line always prints whole above the bars. When stderr is
//! not a terminal (a pipe, a file, the journal under systemd) no bar is
//! drawn and log lines go straight to stderr.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::domain::{Outcome, Tally};

const LOG_EVERY: Duration = Duration::from_secs(5);

/// The bars on stderr; see the module's paragraph.
static BARS: LazyLock<MultiProgress> = LazyLock::new(MultiProgress::new);

/// Whether stderr is a terminal, so that bars are drawn. Under systemd,
/// when `JOURNAL_STREAM` names stderr, stderr is the journal's socket and
/// this is false.
pub fn on_terminal() -> bool {
    static TTY: LazyLock<bool> = LazyLock::new(|| std::io::stderr().is_terminal());
    *TTY
}

/// A bar drawn among the others on stderr when it is a terminal; else a
/// hidden one (whose updates cost next to nothing).
pub fn bar(bar: ProgressBar) -> ProgressBar {
    if on_terminal() {
        BARS.add(bar)
    } else {
        ProgressBar::hidden()
    }
}

/// Runs `f`, which prints to stderr, with the bars cleared; redraws them
/// after.
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    if on_terminal() { BARS.suspend(f) } else { f() }
}

/// Stderr for tracing's records (`MakeWriter` through `|| LogWriter`):
/// each record is written whole while the bars are cleared.
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // tracing's fmt layer hands over one whole record per write_all.
        suspend(|| std::io::stderr().lock().write_all(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

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
        let tty = on_terminal();
        let bar = bar(ProgressBar::new(total));
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
        if self.inner.tty {
            BARS.remove(&self.inner.bar);
        }
    }
}
