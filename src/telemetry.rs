//! Logging: the only place that knows the log format. Logs go to stderr so
//! that stdout stays clean for tables, CSV and JSON; the level comes from
//! `RUST_LOG` (default `info`); colour only on a terminal and without
//! `NO_COLOR`. Callers log with structured fields and never
//! put secrets, message bodies or whole addresses into a log line.

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        // rustls-platform-verifier logs every refused certificate at error
        // level; the SMTP client and the feed fetcher report it themselves,
        // naming the setting to change.
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,rustls_platform_verifier=off"))
        // async-imap traces every line it sends and reads: the IMAP LOGIN
        // with its password, and whole bounce messages. Never shown.
        .add_directive("async_imap=off".parse().expect("a valid directive"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
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
