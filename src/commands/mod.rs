//! One thin async function per admin command: load what it needs (config,
//! store), call the library, print the result. Output for people goes to
//! stdout as aligned tables, for scripts as CSV or JSON; diagnostics go to
//! stderr. Business rules live in the library modules, not here.

mod demo;
mod ingest;
mod output;
mod send;
mod stories;
mod subscribers;

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::config::{Config, Overrides};
use crate::store::Store;

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        config_path: cli.config.clone(),
        database_url: cli.database_url.clone(),
    };
    match cli.command {
        Command::Demo(args) => demo::run(&overrides, args).await,
        Command::Config(ConfigCommand::Check) => {
            let config = Config::load(&overrides)?;
            match &config.source_file {
                Some(path) => println!(
                    "# configuration OK: defaults + {} + environment + flags\n",
                    path.display()
                ),
                None => println!("# configuration OK: defaults + environment + flags\n"),
            }
            print!("{}", config.to_redacted_toml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            let config = Config::load(&overrides)?;
            let store = Store::connect(&config.database).await?;
            let applied = store.migrate().await?;
            println!("applied {applied} migration(s) to {}", config.database.url);
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Send(args) => {
            let (config, store) = open(&overrides).await?;
            let code = send::send(&config, store.clone(), args).await;
            store.close().await;
            code
        }
        Command::Preview(args) => {
            let (config, store) = open(&overrides).await?;
            let code = send::preview(&config, store.clone(), args).await;
            store.close().await;
            code
        }
        Command::Subscribers(cmd) => {
            let (config, store) = open(&overrides).await?;
            let code = subscribers::run(&config, &store, cmd).await;
            store.close().await;
            code
        }
        Command::Stories(cmd) => {
            let (_config, store) = open(&overrides).await?;
            let code = stories::run(&store, cmd).await;
            store.close().await;
            code
        }
    }
}

/// Loads the configuration and opens the migrated store.
async fn open(overrides: &Overrides) -> anyhow::Result<(Config, Store)> {
    let config = Config::load(overrides)?;
    let store = Store::open(&config.database)
        .await
        .with_context(|| format!("opening the store at {}", config.database.url))?;
    Ok((config, store))
}
