//! `herald form`: prints the signup box, the HTML form a site pastes into
//! its pages (a Drupal block, a WordPress widget), to stdout. The sections
//! come from `--sections`, else with `--topics` from the stored stories;
//! the rendering is `http`'s, so the box and the `/subscribe` page are the
//! same form.

use std::process::ExitCode;

use crate::cli::FormArgs;
use crate::config::{Config, Overrides};
use crate::http::{SnippetOptions, signup_snippet};

/// Sections offered when they come from the store.
const STORED_SECTIONS: i64 = 12;

pub async fn run(overrides: &Overrides, args: FormArgs) -> anyhow::Result<ExitCode> {
    let sections = match (args.sections, args.topics) {
        (Some(list), _) => list.as_slice().to_vec(),
        (None, true) => {
            let (_, store) = super::open(overrides).await?;
            let sections = store.sections(STORED_SECTIONS).await?;
            store.close().await;
            if sections.is_empty() {
                eprintln!("no story has a section yet: the box offers no topics (name them with --sections)");
            }
            sections
        }
        (None, false) => Vec::new(),
    };
    let config = Config::load(overrides)?;
    let options = SnippetOptions {
        sections,
        frequency: args.frequency,
        locale: args.locale,
    };
    print!("{}", signup_snippet(&config, &options)?);
    Ok(ExitCode::SUCCESS)
}
