//! `herald generate man|completions --dir D` (hidden): the man pages
//! (clap_mangen: herald.1 and herald-SUBCOMMAND.1 for each subcommand,
//! nested ones too) and the bash, zsh and fish completions (clap_complete),
//! from the same command tree as `--help`, for the Debian package.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

use crate::cli::{Cli, Generated};

pub fn run(what: Generated, dir: &Path) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut cmd = Cli::command().version(env!("CARGO_PKG_VERSION"));
    match what {
        Generated::Man => {
            clap_mangen::generate_to(cmd, dir)
                .with_context(|| format!("writing the man pages into {}", dir.display()))?;
            println!("wrote the man pages into {}", dir.display());
        }
        Generated::Completions => {
            use clap_complete::Shell;
            for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
                let path = clap_complete::generate_to(shell, &mut cmd, "herald", dir)
                    .with_context(|| format!("writing the {shell} completions into {}", dir.display()))?;
                println!("wrote {}", path.display());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
