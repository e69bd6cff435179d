//! The `herald` binary: parse the command line, start logging, hand off to
//! `commands::run`, and turn its outcome into an exit status (0 success,
//! 1 failure, 2 usage or configuration error; `send` itself returns 3 when
//! a finished run left some recipients failed and 4 when rows remain;
//! `bounces ingest -` says 75 for any failure, for a pipe transport).
//! Nothing else lives here.

use std::process::ExitCode;

use clap::Parser;

use herald::cli::Cli;
use herald::config::ConfigError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    herald::telemetry::init(cli.log_format);
    // One async thread: Herald's async work is IO and hand-offs between
    // tasks (SMTP sessions, the recorder, the HTTP server), which a single
    // thread does without cross-thread wake-ups; rendering runs on the
    // blocking pool, one thread per core. Measured on 2 cores, 100,000
    // digests at concurrency 4: 4,900 messages/s against 4,500 with the
    // multi-threaded scheduler, with less CPU.
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(herald::commands::run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.downcast_ref::<ConfigError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
