//! `herald demo`: a self-contained run on the bundled sample data, so a new
//! user sees Herald work with one command and no setup: it imports the
//! samples, sends one daily edition with the file transport into
//! DIR/outbox and writes an HTML preview. The samples are
//! compiled into the binary; their dates are shifted so the newest story was
//! published an hour ago, keeping the demo meaningful whenever it runs.

use std::process::ExitCode;

use anyhow::Context;
use chrono::Duration;

use crate::cli::DemoArgs;
use crate::config::{Config, DatabaseUrl, Overrides, Transport};
use crate::deliver::Engine;
use crate::domain::Edition;
use crate::domain::{Frequency, NewStory, SubscriberStatus, SubscriberUpdate};
use crate::import::{Record, StoryFormat, read_stories, read_subscribers_csv};
use crate::store::Store;

const SAMPLE_STORIES: &[u8] = include_bytes!("../../examples/stories.json");
const SAMPLE_SUBSCRIBERS: &[u8] = include_bytes!("../../examples/subscribers.csv");

pub async fn run(overrides: &Overrides, args: DemoArgs) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(overrides)?;
    std::fs::create_dir_all(&args.dir).with_context(|| format!("cannot create {}", args.dir.display()))?;
    let db_path = args.dir.join("herald.db");
    config.database.url =
        DatabaseUrl::parse(&format!("sqlite://{}", db_path.display())).map_err(|m| anyhow::anyhow!(m))?;
    let store = Store::open(&config.database).await?;

    let stories = sample_stories()?;
    let story_counts = store.upsert_stories(&stories).await?;
    let subscribers = sample_subscribers()?;
    let sub_counts = store
        .upsert_subscribers(&subscribers, config.subscribers.defaults())
        .await?;

    println!("Herald demo: store at {}", db_path.display());
    println!(
        "sample data: stories imported {}, updated {}; subscribers imported {}, updated {}",
        story_counts.inserted, story_counts.updated, sub_counts.inserted, sub_counts.updated
    );

    // One daily edition, written as .eml files into DIR/outbox.
    config.mail.transport = Transport::File;
    config.mail.outbox_dir = args.dir.join("outbox");
    let engine = Engine::new(&config, store.clone())?;
    let now = chrono::Utc::now();
    let edition = Edition {
        frequency: Frequency::Daily,
        date: now.date_naive(),
    };
    // An HTML preview of the first active subscriber's digest, taken before
    // the send (afterwards their stories count as already sent).
    let first = store
        .list_subscribers(Some(SubscriberStatus::Active), 0, 1)
        .await?
        .into_iter()
        .next()
        .context("no active sample subscriber")?;
    let preview_path = args.dir.join("preview.html");
    if let Some(r) = engine.preview(&first, edition, now).await?.rendered {
        std::fs::write(&preview_path, r.html)
            .with_context(|| format!("cannot write {}", preview_path.display()))?;
    }
    let started = std::time::Instant::now();
    let summary = engine
        .run_edition(edition, now, None, &crate::shutdown::on_signal())
        .await;
    engine.stop().await?;
    let summary = summary?;
    super::send::print_summary(&edition, &summary, started.elapsed(), false);

    println!("\nmessages:     {}/*.eml", config.mail.outbox_dir.display());
    println!(
        "HTML preview: {} (as {} would see it on a first digest)",
        preview_path.display(),
        first.email
    );
    println!("sending again for the same edition sends nothing new: cargo run --release -- demo");
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

/// The bundled stories, moved in time so the newest is an hour old.
pub fn sample_stories() -> anyhow::Result<Vec<NewStory>> {
    let mut stories = Vec::new();
    read_stories(SAMPLE_STORIES, StoryFormat::Json, |r: Record<NewStory>| {
        if let Ok((_, s)) = r {
            stories.push(s);
        }
        true
    })?;
    let newest = stories
        .iter()
        .map(|s| s.published_at)
        .max()
        .context("no sample stories")?;
    let shift = crate::store::now() - Duration::hours(1) - newest;
    for s in &mut stories {
        s.published_at += shift;
    }
    Ok(stories)
}

pub fn sample_subscribers() -> anyhow::Result<Vec<SubscriberUpdate>> {
    let mut subscribers = Vec::new();
    read_subscribers_csv(SAMPLE_SUBSCRIBERS, |r: Record<SubscriberUpdate>| {
        if let Ok((_, s)) = r {
            subscribers.push(s);
        }
        true
    })?;
    Ok(subscribers)
}
