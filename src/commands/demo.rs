//! `herald demo`: a self-contained run on the bundled sample data, so a new
//! user sees Herald work with one command and no setup. The samples are
//! compiled into the binary; their dates are shifted so the newest story was
//! published an hour ago, keeping the demo meaningful whenever it runs.

use std::io::BufWriter;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Duration;

use crate::cli::{DemoArgs, ListFormat};
use crate::config::{Config, DatabaseUrl, Overrides};
use crate::domain::{Frequency, NewStory, SubscriberStatus, SubscriberUpdate};
use crate::import::{Record, StoryFormat, read_stories, read_subscribers_csv};
use crate::store::{Store, StoryFilter, SubscriberDefaults};

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
    let defaults = SubscriberDefaults {
        timezone: config.subscribers.default_timezone,
        send_hour: config.subscribers.default_send_hour,
        frequency: Frequency::Daily,
        status: SubscriberStatus::Active,
    };
    let sub_counts = store.upsert_subscribers(&subscribers, defaults).await?;

    println!("Herald demo: store at {}", db_path.display());
    println!(
        "stories: imported {}, updated {}; subscribers: imported {}, updated {}\n",
        story_counts.inserted, story_counts.updated, sub_counts.inserted, sub_counts.updated
    );
    let newest = store
        .list_stories(&StoryFilter {
            limit: 10,
            ..Default::default()
        })
        .await?;
    println!("Newest stories:");
    let mut t = super::output::table(&["published", "kind", "votes", "comments", "section", "title"]);
    for s in &newest {
        t.add_row(vec![
            s.published_at.format("%Y-%m-%d %H:%M").to_string(),
            s.kind.to_string(),
            s.votes.to_string(),
            s.comments.to_string(),
            s.section.clone(),
            super::output::ellipsize(&s.title, 60),
        ]);
    }
    super::output::print_table(&mut std::io::stdout().lock(), &t)?;
    println!("\nSubscribers:");
    super::subscribers::list(
        &store,
        None,
        ListFormat::Table,
        BufWriter::new(std::io::stdout().lock()),
    )
    .await?;
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
