//! `herald init [--dir D]`: a first install in one step. Writes the
//! commented configuration (the built-in defaults, every key explained) to
//! D/config/herald.toml, where Herald finds it when run from D, and creates
//! the store it names, migrated. It never overwrites a configuration file.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::InitArgs;
use crate::config::{Config, DEFAULT_CONFIG_PATH, DEFAULTS_TOML, Overrides};
use crate::store::Store;

pub async fn run(overrides: &Overrides, args: InitArgs) -> anyhow::Result<ExitCode> {
    if overrides.config_path.is_some() {
        return Err(crate::config::ConfigError(format!(
            "herald init writes DIR/{DEFAULT_CONFIG_PATH} (--dir, default: the working directory); it does not take --config or $HERALD_CONFIG"
        ))
        .into());
    }
    std::fs::create_dir_all(&args.dir).with_context(|| format!("cannot create {}", args.dir.display()))?;
    let dir =
        std::path::absolute(&args.dir).with_context(|| format!("cannot resolve {}", args.dir.display()))?;
    let file = dir.join(DEFAULT_CONFIG_PATH);
    if file.exists() {
        anyhow::bail!(
            "{} already exists and is left as it is; edit it, or remove it to start again",
            file.display()
        );
    }
    std::fs::create_dir_all(file.parent().expect("a folder"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let header = "# Written by `herald init`. Run herald from the folder above config/, where\n\
                  # it finds this file; relative paths below (the store, the outbox) are\n\
                  # relative to that folder too.\n#\n";
    std::fs::write(&file, format!("{header}{DEFAULTS_TOML}"))
        .with_context(|| format!("cannot write {}", file.display()))?;
    // Relative paths in the configuration (sqlite://herald.db, the outbox)
    // mean "in D", as they will when herald runs from D.
    std::env::set_current_dir(&dir).with_context(|| format!("cannot enter {}", dir.display()))?;
    let config = Config::load(&Overrides {
        config_path: Some(file.clone()),
        database_url: overrides.database_url.clone(),
        metrics_file: None,
    })?;
    let store = Store::open(&config.database)
        .await
        .with_context(|| format!("creating the store at {}", config.database.url))?;
    store.close().await;
    println!("wrote {}", file.display());
    println!("store {} ready", config.database.url);
    println!(
        "next: edit it (mail.from, site.*, mail.transport), then run `herald config check` in {}",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
