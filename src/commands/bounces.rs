//! `herald bounces …`: reading bounce and complaint messages from files,
//! directories, Maildirs and standard input (`ingest` acts on them through
//! the intake, `inspect` only shows what the parser makes of them), and
//! listing recorded events. Parsing, mapping and acting are the library's.

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::output::{JsonArray, print_table, table};
use crate::bounce::intake::{Accepted, Intake};
use crate::cli::{BouncesCommand, ShowFormat, TableOrJson};
use crate::config::Config;
use crate::domain::text::cut;
use crate::domain::{BounceEvent, Category, Source};
use crate::store::Store;

/// Exit status for a pipe transport when the store cannot take the message
/// now: Postfix and sendmail keep it queued and try again (sysexits
/// EX_TEMPFAIL).
const EX_TEMPFAIL: u8 = 75;

/// Whether `cmd` is `ingest` with `-` among its paths.
pub fn reads_stdin(cmd: &BouncesCommand) -> bool {
    matches!(cmd, BouncesCommand::Ingest { paths, .. } if paths.iter().any(|p| p.as_os_str() == "-"))
}

/// `ingest -` as a pipe transport's or a procmail rule's command: the
/// message exists only on standard input, and pipe(8) keeps it and tries
/// again on EX_TEMPFAIL alone (any other failing status bounces it, and a
/// bounce of a bounce is lost). So every failure, a store that cannot be
/// opened, a configuration that cannot be read, exits 75, after saying why.
pub fn tempfail_on_error(result: anyhow::Result<ExitCode>) -> ExitCode {
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(EX_TEMPFAIL)
    })
}

pub async fn run(config: &Config, store: &Store, cmd: BouncesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BouncesCommand::Ingest {
            paths,
            recipient,
            remove,
            format,
        } => ingest(config, store, &paths, recipient.as_deref(), remove, format).await,
        BouncesCommand::List {
            since,
            category,
            limit,
            format,
        } => list(store, since, category, limit, format).await,
        BouncesCommand::Inspect { .. } => unreachable!("inspect needs no store; see inspect()"),
    }
}

/// One message found under the paths given; a file is read only when its
/// turn comes, so a large Maildir is never held in memory at once.
struct Found {
    /// The path as given or found (`-` for standard input).
    name: String,
    /// Standard input's bytes, or `None` for the file at `name`.
    stdin: Option<Vec<u8>>,
    /// A Maildir message still in new/ or unseen in cur/: moved (or
    /// removed) once processed.
    maildir: Option<PathBuf>,
}

/// Every message under `paths`, in order; what cannot be read is named in
/// the returned errors and skipped.
fn collect(
    paths: &[PathBuf],
    mut each: impl FnMut(Found) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<String>> {
    let mut unreadable = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let mut raw = Vec::new();
            std::io::stdin()
                .read_to_end(&mut raw)
                .context("reading the message from standard input")?;
            each(Found {
                name: "-".into(),
                stdin: Some(raw),
                maildir: None,
            })?;
            continue;
        }
        if path.is_dir() {
            let maildir = path.join("new").is_dir() || path.join("cur").is_dir();
            let dirs: Vec<PathBuf> = if maildir {
                vec![path.join("new"), path.join("cur")]
            } else {
                vec![path.clone()]
            };
            for dir in dirs {
                if !dir.is_dir() {
                    continue;
                }
                let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
                    Ok(entries) => entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.is_file())
                        .collect(),
                    Err(e) => {
                        unreadable.push(format!("{}: {e}", dir.display()));
                        continue;
                    }
                };
                files.sort();
                for file in files {
                    let in_cur = dir.ends_with("cur");
                    if maildir && in_cur && seen(&file) {
                        continue;
                    }
                    each(Found {
                        name: file.display().to_string(),
                        stdin: None,
                        maildir: maildir.then(|| file.clone()),
                    })?;
                }
            }
            continue;
        }
        each(Found {
            name: path.display().to_string(),
            stdin: None,
            maildir: None,
        })?;
    }
    Ok(unreadable)
}

impl Found {
    /// The message's bytes; the error names the file.
    fn read(&mut self) -> Result<Vec<u8>, String> {
        match self.stdin.take() {
            Some(raw) => Ok(raw),
            None => std::fs::read(&self.name).map_err(|e| format!("{}: {e}", self.name)),
        }
    }
}

/// A Maildir file already flagged seen (`:2,…S…`): processed before.
fn seen(file: &Path) -> bool {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.rsplit_once(":2,")
        .is_some_and(|(_, flags)| flags.contains('S'))
}

/// Moves a processed Maildir message to cur/ flagged seen, or removes it.
fn done_with(file: &Path, remove: bool) -> anyhow::Result<()> {
    if remove {
        return std::fs::remove_file(file).with_context(|| format!("removing {}", file.display()));
    }
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let (base, flags) = name.rsplit_once(":2,").unwrap_or((name, ""));
    let mut flags: Vec<char> = flags.chars().chain(['S']).collect();
    flags.sort_unstable();
    flags.dedup();
    let flags: String = flags.into_iter().collect();
    let maildir = file
        .parent()
        .and_then(Path::parent)
        .context("a Maildir message outside new/ or cur/")?;
    let target = maildir.join("cur").join(format!("{base}:2,{flags}"));
    std::fs::rename(file, &target)
        .with_context(|| format!("moving {} to {}", file.display(), target.display()))
}

async fn ingest(
    config: &Config,
    store: &Store,
    paths: &[PathBuf],
    recipient: Option<&str>,
    remove: bool,
    format: ShowFormat,
) -> anyhow::Result<ExitCode> {
    let intake = Intake::open(config, store.clone(), config.metrics.clone()).await?;
    let mut found = Vec::new();
    let mut unreadable = collect(paths, |f| {
        found.push(f);
        Ok(())
    })?;
    let mut total = Accepted::default();
    let mut messages = 0usize;
    for mut f in found {
        let raw = match f.read() {
            Ok(raw) => raw,
            Err(e) => {
                unreadable.push(e);
                continue;
            }
        };
        let mut report = crate::bounce::parse(&raw);
        if let Some(r) = recipient {
            report.return_paths.insert(0, r.to_owned());
        }
        let accepted = match intake.accept(&report, Source::Mail, crate::store::now()).await {
            Ok(a) => a,
            Err(e) => {
                // The message stays where it is; a pipe transport retries.
                eprintln!("herald: {}: {e:#}", f.name);
                return Ok(ExitCode::from(EX_TEMPFAIL));
            }
        };
        if let Some(file) = &f.maildir {
            done_with(file, remove)?;
        }
        messages += 1;
        total.add(&accepted);
    }
    for u in &unreadable {
        eprintln!("herald: cannot read {u}");
    }
    match format {
        ShowFormat::Json => {
            let mut v = serde_json::to_value(total)?;
            v["messages"] = messages.into();
            v["unreadable"] = unreadable.len().into();
            println!("{v}");
        }
        ShowFormat::Text => println!(
            "{messages} message(s): {} event(s) recorded ({} bounced, {} unsubscribed, {} unmatched), {} already seen, {} not a bounce",
            total.recorded,
            total.bounced,
            total.unsubscribed,
            total.unmatched,
            total.duplicates,
            total.ignored
        ),
    }
    Ok(if unreadable.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `bounces inspect`: no store, no configuration, nothing changed.
pub fn inspect(paths: &[PathBuf], format: ShowFormat) -> anyhow::Result<ExitCode> {
    let mut out = BufWriter::new(std::io::stdout().lock());
    let mut failed = Vec::new();
    let mut unreadable = collect(paths, |mut f| {
        let raw = match f.read() {
            Ok(raw) => raw,
            Err(e) => {
                failed.push(e);
                return Ok(());
            }
        };
        let report = crate::bounce::parse(&raw);
        for finding in &report.findings {
            match format {
                ShowFormat::Json => {
                    let line = serde_json::json!({
                        "file": f.name,
                        "type": report.kind.as_str(),
                        "recipient": finding.recipient,
                        "category": finding.category.as_str(),
                        "status": finding.status,
                        "reason": finding.reason,
                    });
                    writeln!(out, "{line}")?;
                }
                ShowFormat::Text => writeln!(
                    out,
                    "{}: {} {} {} {} — {}",
                    f.name,
                    report.kind.as_str(),
                    finding.category,
                    finding.status.as_deref().unwrap_or("-"),
                    finding.recipient.as_deref().unwrap_or("-"),
                    finding.reason
                )?,
            }
        }
        Ok(())
    })?;
    unreadable.extend(failed);
    out.flush()?;
    for u in &unreadable {
        eprintln!("herald: cannot read {u}");
    }
    Ok(if unreadable.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn list(
    store: &Store,
    since: Option<chrono::DateTime<chrono::Utc>>,
    category: Option<Category>,
    limit: u32,
    format: TableOrJson,
) -> anyhow::Result<ExitCode> {
    let events = store
        .list_bounce_events(since, category, None, limit.into())
        .await?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    match format {
        TableOrJson::Json => {
            let mut arr = JsonArray::new(&mut out)?;
            for e in &events {
                arr.push(e)?;
            }
            arr.finish()?;
        }
        TableOrJson::Table => print_table(&mut out, &events_table(&events))?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The events as a table (also under `subscribers show`).
pub fn events_table(events: &[BounceEvent]) -> comfy_table::Table {
    let mut t = table(&[
        "received", "source", "category", "status", "email", "edition", "action", "reason",
    ]);
    for e in events {
        t.add_row(vec![
            e.received_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            e.source.clone(),
            e.category.clone(),
            e.status.clone().unwrap_or_else(|| "-".into()),
            e.email.clone().unwrap_or_else(|| format!("(@{})", e.domain)),
            e.edition.clone().unwrap_or_else(|| "-".into()),
            if e.action.is_empty() {
                "-".into()
            } else {
                e.action.clone()
            },
            cut(&e.reason, 50),
        ]);
    }
    t
}
