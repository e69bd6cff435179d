//! Logging: the only place that knows the log format. Logs go to stderr so
//! that stdout stays clean for tables, CSV and JSON; the level comes from
//! `RUST_LOG` (default `info`); colour only on a terminal and without
//! `NO_COLOR`. Under systemd, when `JOURNAL_STREAM` says stderr is the
//! journal, records go to journald instead, with priorities and fields
//! (`journalctl -u herald -p warning`). On a terminal, records are written
//! through `progress::LogWriter`, which clears the progress bars for each
//! line and redraws them after, so the two never tear. Callers log with
//! structured fields and never put secrets, message bodies or whole
//! addresses into a log line.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

pub fn init(format: LogFormat) {
    if let Some(journald) = journald() {
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        let _ = tracing_subscriber::registry()
            .with(filter())
            .with(journald)
            .try_init();
        return;
    }
    let filter = filter();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Around the progress bars: a record is written with them cleared.
        .with_writer(|| crate::progress::LogWriter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()) && !no_color())
        .with_target(false);
    // A second init (in tests) is harmless; ignore the error it returns.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// <https://no-color.org>: `NO_COLOR` set and not empty turns colour off.
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// `RUST_LOG`, else Herald's default levels.
fn filter() -> EnvFilter {
    EnvFilter::try_from_default_env()
        // rustls-platform-verifier logs every refused certificate at error
        // level; the SMTP client and the feed fetcher report it themselves,
        // naming the setting to change.
        // tokio-cron-scheduler logs its internals at info on every start
        // ("Uninited", "Job creator created" once per job).
        .unwrap_or_else(|_| {
            EnvFilter::new("info,sqlx=warn,rustls_platform_verifier=off,tokio_cron_scheduler=warn")
        })
        // async-imap traces every line it sends and reads: the IMAP LOGIN
        // with its password, and whole bounce messages. Never shown.
        .add_directive("async_imap=off".parse().expect("a valid directive"))
}

/// The journald layer, when stderr is the journal: systemd sets
/// `JOURNAL_STREAM` to the device and inode of the stream it connected to
/// stderr, so a matching stderr means records can go to journald with their
/// priority (error 3, warn 4, info 6, debug and trace 7) and fields, instead
/// of as plain lines at one priority. Else (a terminal, a pipe, a file, or
/// no journald socket) none.
fn journald() -> Option<tracing_journald::Layer> {
    use std::os::fd::AsFd as _;
    use std::os::unix::fs::MetadataExt as _;
    let stream = std::env::var("JOURNAL_STREAM").ok()?;
    let (dev, ino) = stream.split_once(':')?;
    let (dev, ino): (u64, u64) = (dev.parse().ok()?, ino.parse().ok()?);
    let stderr = std::fs::File::from(std::io::stderr().as_fd().try_clone_to_owned().ok()?);
    let meta = stderr.metadata().ok()?;
    if (meta.dev(), meta.ino()) != (dev, ino) {
        return None;
    }
    let priorities = tracing_journald::PriorityMappings {
        info: tracing_journald::Priority::Informational,
        debug: tracing_journald::Priority::Debug,
        ..tracing_journald::PriorityMappings::new()
    };
    tracing_journald::layer().ok().map(|l| {
        l.with_syslog_identifier("herald".to_owned())
            .with_priority_mappings(priorities)
    })
}
