//! `herald locales check`: loads the catalogs (built in, or a folder) and
//! the templates (built in, `digest.templates_dir`, or a folder), hands
//! them to `i18n::check`, prints one line per problem and sets the exit
//! status. The rules live in `i18n::check`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::config::{Config, Overrides};
use crate::i18n::catalog;
use crate::i18n::check::{self, Template};
use crate::templates::TemplateSources;

pub fn check(
    overrides: &Overrides,
    dir: Option<&Path>,
    templates: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let catalogs = match dir {
        Some(dir) => catalog::from_dir(dir)?,
        None => catalog::builtin(),
    };
    // The configured templates folder only when none is named: a
    // configuration is not needed to check the built-in catalogs.
    let templates = match templates {
        Some(dir) => Some(dir),
        None => Config::load(overrides).ok().and_then(|c| c.digest.templates_dir),
    };
    let digest = TemplateSources::load(templates.as_deref())?;
    let pages = TemplateSources::load_pages(templates.as_deref())?;
    let origin = |set: &TemplateSources, name: &str| format!("{} ({})", name, set.origin);
    let names: Vec<(String, &str)> = digest
        .files
        .iter()
        .map(|(n, t)| (origin(&digest, n), t.as_str()))
        .chain(pages.files.iter().map(|(n, t)| (origin(&pages, n), t.as_str())))
        .collect();
    let texts: Vec<Template<'_>> = names.iter().map(|(n, t)| Template { name: n, text: t }).collect();
    let report = check::check(&catalogs, &texts)?;
    for p in &report.problems {
        println!("{p}");
    }
    println!(
        "{} catalog(s) ({}), {} key(s) used, {} problem(s)",
        report.locales.len(),
        report.locales.join(", "),
        report.keys_used,
        report.problems.len()
    );
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
