//! `herald stories …`: import stories from a file or stdin, and list them.
//! Parsing and batching are `crate::import` (through `ingest`, which opens
//! the input and shows progress); this picks the format, prints the summary
//! or the table, and sets the exit status.

use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use super::ingest;
use super::output::{json_array, print_table, table};
use crate::cli::{StoriesCommand, TableOrJson};
use crate::domain::NewStory;
use crate::domain::text::cut;
use crate::import::{StoryFormat, read_stories};
use crate::store::{Store, StoryFilter, UpsertCounts};

pub async fn run(store: &Store, cmd: StoriesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        StoriesCommand::Import {
            file,
            format,
            dry_run,
        } => import_file(store, &file, format, dry_run).await,
        StoriesCommand::List {
            since,
            kind,
            limit,
            format,
        } => {
            let filter = StoryFilter {
                since,
                until: None,
                kind,
                limit: limit.into(),
            };
            list(store, &filter, format).await
        }
    }
}

/// `stories import`: the format comes from `--format`, else the file's
/// extension, else (for stdin only) a look at the first bytes. Any
/// rejected record makes the exit status 1.
async fn import_file(
    store: &Store,
    file: &Path,
    format: Option<StoryFormat>,
    dry_run: bool,
) -> anyhow::Result<ExitCode> {
    let mut input = ingest::open_input(file)?;
    let format = match format.or_else(|| StoryFormat::from_extension(file)) {
        Some(f) => f,
        None if file.as_os_str() == "-" => StoryFormat::sniff(&mut input.reader)?,
        None => anyhow::bail!(
            "cannot tell the format of {} from its extension; pass --format json, jsonl or csv",
            file.display()
        ),
    };
    let summary = import(store, input, format, dry_run).await?;
    let prefix = if dry_run {
        "dry run, nothing written: would have "
    } else {
        ""
    };
    println!(
        "{prefix}imported {}, updated {}, rejected {} ({} unchanged)",
        summary.imported, summary.updated, summary.rejected, summary.unchanged
    );
    Ok(if summary.rejected > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

async fn list(store: &Store, filter: &StoryFilter, format: TableOrJson) -> anyhow::Result<ExitCode> {
    let stories = store.list_stories(filter).await?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    match format {
        TableOrJson::Json => json_array(&mut out, &stories)?,
        TableOrJson::Table => {
            let mut t = table(&[
                "published",
                "kind",
                "votes",
                "comments",
                "lang",
                "section",
                "title",
                "url",
            ]);
            for s in &stories {
                t.add_row(vec![
                    s.published_at.format("%Y-%m-%d %H:%M").to_string(),
                    s.kind.to_string(),
                    s.votes.to_string(),
                    s.comments.to_string(),
                    s.lang.as_ref().map(|l| l.tag()).unwrap_or_default(),
                    s.section.clone(),
                    cut(&s.title, 60),
                    s.url.clone(),
                ]);
            }
            print_table(&mut out, &t)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Streams stories from `input` into the store (or only counts them).
pub async fn import(
    store: &Store,
    input: ingest::Input,
    format: StoryFormat,
    dry_run: bool,
) -> anyhow::Result<ingest::Summary> {
    let reader = input.reader;
    ingest::run(
        &input.name,
        input.progress,
        move |sink| read_stories(reader, format, sink),
        |s: &NewStory| s.url.as_str().to_owned(),
        async |batch: &[NewStory]| {
            if dry_run {
                let urls: Vec<&str> = batch.iter().map(|s| s.url.as_str()).collect();
                let known: HashSet<String> = store.existing_story_urls(&urls).await?;
                Ok(UpsertCounts {
                    inserted: (batch.len() - known.len()) as u64,
                    updated: known.len() as u64,
                })
            } else {
                store.upsert_stories(batch).await
            }
        },
    )
    .await
}
