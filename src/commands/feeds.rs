//! `herald feeds …`: register, list, remove and fetch feeds. The fetching
//! itself is `crate::feeds`; this only parses arguments and prints.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use super::output::{json_array, print_table, table};
use crate::cli::{FeedsCommand, TableOrJson};
use crate::config::Config;
use crate::domain::text::cut;
use crate::domain::{HeaderSafe, HttpUrl, StoryKind};
use crate::feeds::{FeedOutcome, Ingester};
use crate::store::{Feed, Store};

pub async fn run(config: &Config, store: &Store, cmd: FeedsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        FeedsCommand::Add { url, kind, section } => add(store, &url, kind, section.as_ref()).await,
        FeedsCommand::List { format } => list(store, format).await,
        FeedsCommand::Remove { feed } => remove(store, &feed).await,
        FeedsCommand::Fetch { feed, format } => fetch(config, store, feed.as_deref(), format).await,
    }
}

async fn add(
    store: &Store,
    url: &HttpUrl,
    kind: Option<StoryKind>,
    section: Option<&HeaderSafe>,
) -> anyhow::Result<ExitCode> {
    let (feed, created) = store.add_feed(url, kind, section).await?;
    let what = if created { "added" } else { "updated" };
    let section = if feed.section.is_empty() {
        "sections from its categories".to_owned()
    } else {
        format!("section {}", feed.section)
    };
    println!("{what} feed {}: {} ({}, {section})", feed.id, feed.url, feed.kind);
    Ok(ExitCode::SUCCESS)
}

async fn list(store: &Store, format: TableOrJson) -> anyhow::Result<ExitCode> {
    let feeds = store.list_feeds().await?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    match format {
        TableOrJson::Json => json_array(&mut out, &feeds)?,
        TableOrJson::Table => {
            print_table(&mut out, &feeds_table(&feeds))?;
            if feeds.is_empty() {
                writeln!(out, "no feeds yet; add one with `herald feeds add URL`")?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn feeds_table(feeds: &[Feed]) -> comfy_table::Table {
    let mut t = table(&[
        "id",
        "kind",
        "section",
        "items",
        "last success",
        "last error",
        "warning",
        "url",
    ]);
    let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or("never".to_owned(), |t| t.format("%Y-%m-%d %H:%M").to_string())
    };
    for f in feeds {
        t.add_row(vec![
            f.id.to_string(),
            f.kind.to_string(),
            f.section.clone(),
            f.item_count.to_string(),
            when(f.last_success_at),
            cut(f.last_error.as_deref().unwrap_or("-"), 48),
            cut(f.last_warning.as_deref().unwrap_or("-"), 60),
            f.url.clone(),
        ]);
    }
    t
}

async fn remove(store: &Store, key: &str) -> anyhow::Result<ExitCode> {
    let found = find(store, key).await?;
    store.remove_feed(found.id).await?;
    println!("removed feed {}: {} (its stories stay)", found.id, found.url);
    Ok(ExitCode::SUCCESS)
}

/// Fetches one feed or all; fails (exit 1) if any feed failed.
async fn fetch(
    config: &Config,
    store: &Store,
    key: Option<&str>,
    format: TableOrJson,
) -> anyhow::Result<ExitCode> {
    let feeds = match key {
        Some(key) => vec![find(store, key).await?],
        None => store.list_feeds().await?,
    };
    if feeds.is_empty() {
        println!("no feeds to fetch; add one with `herald feeds add URL`");
        return Ok(ExitCode::SUCCESS);
    }
    let reports = Ingester::new(config, store.clone())?.fetch(feeds).await;
    let mut out = BufWriter::new(std::io::stdout().lock());
    match format {
        TableOrJson::Json => json_array(&mut out, &reports)?,
        TableOrJson::Table => {
            for r in &reports {
                writeln!(out, "feed {} {}: {}", r.id, r.url, describe(&r.outcome))?;
            }
        }
    }
    out.flush()?;
    let failed = reports
        .iter()
        .filter(|r| matches!(r.outcome, FeedOutcome::Failed { .. }))
        .count();
    Ok(if failed > 0 {
        eprintln!("{failed} of {} feeds failed", reports.len());
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// One feed's outcome in words, for the table output of `feeds fetch`.
fn describe(outcome: &FeedOutcome) -> String {
    match outcome {
        FeedOutcome::Updated {
            entries,
            inserted,
            updated,
            unchanged,
            skipped,
            held,
            warning,
        } => {
            let mut line = format!(
                "{entries} entries: {inserted} new, {updated} updated, {unchanged} unchanged, {skipped} skipped"
            );
            if *held > 0 {
                line.push_str(&format!(", {held} undated held back"));
            }
            if let Some(warning) = warning {
                line.push_str(&format!("; warning: {warning}"));
            }
            line
        }
        FeedOutcome::NotModified => "not modified".to_owned(),
        FeedOutcome::Failed { error } => format!("failed: {error}"),
    }
}

/// A feed by id or URL.
async fn find(store: &Store, key: &str) -> anyhow::Result<Feed> {
    let found = match key.trim().parse::<i64>() {
        Ok(id) => store.feed_by_id(id).await?,
        Err(_) => match crate::domain::HttpUrl::parse(key) {
            Ok(url) => store.feed_by_url(url.as_str()).await?,
            Err(_) => None,
        },
    };
    found.ok_or_else(|| anyhow::anyhow!("no feed with id or URL {key:?}; see `herald feeds list`"))
}
