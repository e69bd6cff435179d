//! The `herald` binary: parse the command line, start logging, hand off to
//! `commands::run`, and turn its outcome into an exit status (0 success,
//! 1 failure, 2 usage or configuration error). Nothing else lives here.

use std::process::ExitCode;

use clap::Parser;

use herald::cli::Cli;
use herald::config::ConfigError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    herald::telemetry::init(cli.log_format);
    let runtime = match tokio::runtime::Runtime::new() {
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
