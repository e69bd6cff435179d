//! `herald subscribers …`: add, remove, unsubscribe, show, list, export and
//! import subscribers. The rules (defaults, upsert by address, what removal
//! deletes) live in `config`, `import` and the store; this turns arguments
//! into calls, prints a table, CSV or JSON, and sets the exit status.

use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::ingest;
use super::output::{JsonArray, print_table, table};
use crate::cli::{AddArgs, ExportFormat, ListFormat, ShowFormat, SubscribersCommand};
use crate::config::Config;
use crate::domain::{Locale, NewSubscriber, Subscriber, SubscriberEmail, SubscriberStatus, SubscriberUpdate};
use crate::import::{SUBSCRIBER_COLUMNS, escape_cell, read_subscribers_csv};
use crate::store::{AddOutcome, Store, UpsertCounts};

const PAGE: i64 = 1000;

pub async fn run(config: &Config, store: &Store, cmd: SubscribersCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        SubscribersCommand::Add(args) => add(config, store, args).await,
        SubscribersCommand::Remove { email } => remove(store, &email).await,
        SubscribersCommand::Unsubscribe { email } => unsubscribe(store, &email).await,
        SubscribersCommand::Show { email, format } => show(store, &email, format).await,
        SubscribersCommand::List { status, format } => {
            let stdout = std::io::stdout().lock();
            write_list(store, status, format, BufWriter::new(stdout)).await?;
            Ok(ExitCode::SUCCESS)
        }
        SubscribersCommand::Export { format, out } => export(store, format, out.as_deref()).await,
        SubscribersCommand::Import {
            file,
            dry_run,
            allow_suppressed,
        } => import(config, store, &file, dry_run, allow_suppressed).await,
    }
}

async fn remove(store: &Store, email: &SubscriberEmail) -> anyhow::Result<ExitCode> {
    if store.remove_subscriber(email).await? {
        println!("removed {email} and their personal data");
        Ok(ExitCode::SUCCESS)
    } else {
        anyhow::bail!("no subscriber with address {email}")
    }
}

async fn unsubscribe(store: &Store, email: &SubscriberEmail) -> anyhow::Result<ExitCode> {
    match store.unsubscribe(email).await? {
        Some(_) => {
            println!("unsubscribed {email}");
            Ok(ExitCode::SUCCESS)
        }
        None => anyhow::bail!("no subscriber with address {email}"),
    }
}

async fn show(store: &Store, email: &SubscriberEmail, format: ShowFormat) -> anyhow::Result<ExitCode> {
    let s = store
        .find_subscriber(email)
        .await?
        .with_context(|| format!("no subscriber with address {email}"))?;
    let events = store.list_bounce_events(None, None, Some(s.id), 100).await?;
    let suppression = store.suppression(&s.email.fingerprint()).await?;
    match format {
        ShowFormat::Json => {
            let mut v = serde_json::to_value(&s)?;
            v["bounces"] = serde_json::to_value(&events)?;
            v["suppressed"] = suppression.as_ref().map(|(reason, _)| reason.clone()).into();
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        ShowFormat::Text => {
            print_details(&s);
            if let Some((reason, since)) = &suppression {
                println!("suppressed:   yes ({reason}, since {})", since.format("%Y-%m-%d"));
            }
            if events.is_empty() {
                println!("bounces:      none recorded");
            } else {
                println!("\nbounces and complaints (newest first):");
                let mut out = std::io::stdout().lock();
                super::output::print_table(&mut out, &super::bounces::events_table(&events))?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Every subscriber as CSV or JSON, to a file (with a count on stderr) or
/// to stdout.
async fn export(store: &Store, format: ExportFormat, out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let format = match format {
        ExportFormat::Csv => ListFormat::Csv,
        ExportFormat::Json => ListFormat::Json,
    };
    match out {
        Some(path) => {
            let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
            let n = write_list(store, None, format, BufWriter::new(file)).await?;
            eprintln!("exported {n} subscriber(s) to {}", path.display());
        }
        None => {
            write_list(store, None, format, BufWriter::new(std::io::stdout().lock())).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `subscribers import`: a CSV of subscribers upserted by address (or, on a
/// dry run, only counted). Any rejected record makes the exit status 1.
async fn import(
    config: &Config,
    store: &Store,
    file: &Path,
    dry_run: bool,
    allow_suppressed: bool,
) -> anyhow::Result<ExitCode> {
    let input = ingest::open_input(file)?;
    let defaults = config.subscribers.defaults();
    let reader = input.reader;
    let name = input.name.clone();
    let suppressed = std::cell::Cell::new(0u64);
    let mut summary = ingest::run(
        &input.name,
        input.progress,
        move |sink| read_subscribers_csv(reader, sink),
        // One key per person: `Dup@` and `dup@` in one batch are one row.
        |u: &SubscriberUpdate| u.email.key(),
        async |batch: &[SubscriberUpdate]| {
            let kept = unsuppressed(store, batch, allow_suppressed, dry_run, &name).await?;
            suppressed.set(suppressed.get() + (batch.len() - kept.len()) as u64);
            let batch = &kept[..];
            if dry_run {
                let emails: Vec<&SubscriberEmail> = batch.iter().map(|u| &u.email).collect();
                let known: HashSet<String> = store.existing_emails(&emails).await?;
                Ok(UpsertCounts {
                    inserted: (batch.len() - known.len()) as u64,
                    updated: known.len() as u64,
                })
            } else {
                store.upsert_subscribers(batch, defaults).await
            }
        },
    )
    .await?;
    summary.rejected += suppressed.get();
    let prefix = if dry_run {
        "dry run, nothing written: would have "
    } else {
        ""
    };
    println!(
        "{prefix}imported {}, updated {}, rejected {}",
        summary.imported, summary.updated, summary.rejected
    );
    Ok(if summary.rejected > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The records of `batch` whose address is not suppressed (all of them
/// with `allow`, which also lifts their suppression unless on a dry run);
/// each suppressed one is reported as rejected.
async fn unsuppressed(
    store: &Store,
    batch: &[SubscriberUpdate],
    allow: bool,
    dry_run: bool,
    input: &str,
) -> anyhow::Result<Vec<SubscriberUpdate>> {
    let prints: Vec<String> = batch.iter().map(|u| u.email.fingerprint()).collect();
    let hits = store.suppressed(&prints).await?;
    if hits.is_empty() {
        return Ok(batch.to_vec());
    }
    if allow {
        if !dry_run {
            let lifted: Vec<String> = hits.into_iter().collect();
            store.lift_suppressions(&lifted).await?;
        }
        return Ok(batch.to_vec());
    }
    let mut kept = Vec::with_capacity(batch.len());
    for (u, print) in batch.iter().zip(&prints) {
        if hits.contains(print) {
            eprintln!(
                "rejected: {input}: {}: the address is suppressed (it bounced hard or complained); --allow-suppressed imports it",
                u.email
            );
        } else {
            kept.push(u.clone());
        }
    }
    Ok(kept)
}

async fn add(config: &Config, store: &Store, args: AddArgs) -> anyhow::Result<ExitCode> {
    if let Some((reason, since)) = store.suppression(&args.email.fingerprint()).await? {
        if !args.allow_suppressed {
            let why = if reason == "complaint" {
                "complained (reported the digest as spam)"
            } else {
                "bounced hard"
            };
            anyhow::bail!(
                "{} is suppressed: it {why} on {}; --allow-suppressed adds it anyway",
                args.email,
                since.format("%Y-%m-%d")
            );
        }
        store.lift_suppressions(&[args.email.fingerprint()]).await?;
    }
    let new = NewSubscriber {
        email: args.email,
        name: args.name.unwrap_or_default(),
        status: if args.pending {
            SubscriberStatus::Pending
        } else {
            SubscriberStatus::Active
        },
        timezone: args.timezone.unwrap_or(config.subscribers.default_timezone),
        frequency: args.frequency,
        send_hour: args.send_hour.unwrap_or(config.subscribers.default_send_hour),
        topics: args.topics.unwrap_or_default(),
        locale: args.locale,
    };
    match store.insert_subscriber(&new).await? {
        AddOutcome::Added(s) => {
            println!(
                "added {} ({}, {} at {:02}:00 {})",
                s.email,
                s.status,
                s.frequency,
                s.send_hour.get(),
                s.timezone
            );
            Ok(ExitCode::SUCCESS)
        }
        AddOutcome::AlreadyExists(s) => {
            anyhow::bail!(
                "{} is already a subscriber (status {}); nothing changed",
                s.email,
                s.status
            )
        }
    }
}

fn print_details(s: &Subscriber) {
    let ts = |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339());
    let topics = if s.topics.is_empty() {
        "(all)".to_owned()
    } else {
        s.topics.join(',')
    };
    println!("email:           {}", s.email);
    println!(
        "name:            {}",
        if s.name.is_empty() { "-" } else { &s.name }
    );
    println!("status:          {}", s.status);
    println!("frequency:       {}", s.frequency);
    println!("send hour:       {:02}:00 {}", s.send_hour.get(), s.timezone);
    println!("topics:          {topics}");
    match &s.locale {
        Some(locale) => println!("locale:          {locale}"),
        None => println!("locale:          (the site's, site.locale)"),
    }
    println!("created at:      {}", s.created_at.to_rfc3339());
    println!("confirmed at:    {}", ts(s.confirmed_at));
    println!("unsubscribed at: {}", ts(s.unsubscribed_at));
}

/// Writes every subscriber (optionally of one status) page by page; returns
/// how many were written.
async fn write_list(
    store: &Store,
    status: Option<SubscriberStatus>,
    format: ListFormat,
    mut out: impl Write,
) -> anyhow::Result<u64> {
    let n = match format {
        ListFormat::Table => write_table(store, status, &mut out).await?,
        ListFormat::Csv => write_csv(store, status, &mut out).await?,
        ListFormat::Json => {
            let mut arr = JsonArray::new(&mut out)?;
            let n = for_each(store, status, |s| arr.push(s)).await?;
            arr.finish()?;
            n
        }
    };
    out.flush()?;
    Ok(n)
}

async fn write_table(
    store: &Store,
    status: Option<SubscriberStatus>,
    mut out: impl Write,
) -> anyhow::Result<u64> {
    // An aligned table needs every width first; people list thousands, not
    // millions, so one table is fine here.
    let mut t = table(&[
        "email",
        "name",
        "status",
        "frequency",
        "send_hour",
        "timezone",
        "topics",
    ]);
    let n = for_each(store, status, |s| {
        t.add_row(vec![
            s.email.to_string(),
            s.name.clone(),
            s.status.to_string(),
            s.frequency.to_string(),
            s.send_hour.to_string(),
            s.timezone.to_string(),
            s.topics.join(','),
        ]);
        Ok(())
    })
    .await?;
    print_table(&mut out, &t)?;
    Ok(n)
}

/// The CSV `subscribers import` reads (same columns, topics joined by `;`).
/// A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab or
/// CR first: names and addresses are anyone's input) gets a leading `'`,
/// which the import takes off again.
async fn write_csv(store: &Store, status: Option<SubscriberStatus>, out: impl Write) -> anyhow::Result<u64> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(SUBSCRIBER_COLUMNS)?;
    let n = for_each(store, status, |s| {
        let hour = s.send_hour.to_string();
        let topics = s.topics.join(';');
        let locale = s.locale.as_ref().map(Locale::tag).unwrap_or_default();
        let cells = [
            s.email.as_str(),
            &s.name,
            s.timezone.name(),
            s.frequency.as_str(),
            &hour,
            &topics,
            s.status.as_str(),
            &locale,
        ];
        w.write_record(cells.map(escape_cell).iter().map(|c| c.as_bytes()))?;
        Ok(())
    })
    .await?;
    w.flush()?;
    Ok(n)
}

/// Calls `each` on every subscriber (optionally of one status) in id order,
/// reading `PAGE` rows at a time so that an export of millions streams;
/// returns how many there were.
async fn for_each(
    store: &Store,
    status: Option<SubscriberStatus>,
    mut each: impl FnMut(&Subscriber) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let mut after = 0;
    let mut n = 0u64;
    loop {
        let page = store.list_subscribers(status, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for s in &page {
            each(s)?;
            n += 1;
        }
    }
    Ok(n)
}
