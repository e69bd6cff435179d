//! `herald send` and `herald preview`: one edition sent (or dry-run, or sent
//! once to a test address), the editions due now sent as the scheduler
//! would, and one subscriber's digest previewed (with `--explain`, why each
//! story was taken or left out). The engine selects, renders and sends;
//! this picks the edition, prints and sets the exit status.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;

use crate::cli::{PreviewArgs, PreviewFormat, SendArgs};
use crate::config::Config;
use crate::deliver::{Engine, Preview, RunSummary};
use crate::domain::{Edition, Subscriber, SubscriberEmail};
use crate::store::Store;

pub async fn send(config: &Config, store: Store, args: SendArgs) -> anyhow::Result<ExitCode> {
    let engine = Engine::new(config, store.clone())?;
    let now = args.now.unwrap_or_else(Utc::now);
    if args.due {
        return send_due(config, &store, &engine, now).await;
    }
    let edition = Edition {
        frequency: args.frequency.unwrap_or(crate::domain::Frequency::Daily),
        date: args.date.unwrap_or_else(|| now.date_naive()),
    };
    if let (Some(to), Some(who)) = (&args.test_to, &args.as_subscriber) {
        return send_test(&store, &engine, edition, now, to, who).await;
    }
    let started = std::time::Instant::now();
    let summary = if args.dry_run {
        engine.dry_run(edition, now).await?
    } else {
        let shutdown = crate::shutdown::on_signal();
        engine.run_edition(edition, now, None, &shutdown).await?
    };
    print_summary(&edition, &summary, started.elapsed(), args.dry_run);
    Ok(
        if summary.failed > 0 || summary.paused || summary.paused_domains > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// `send --due`: one scheduler tick at `now`, as `herald run` would do it.
async fn send_due(
    config: &Config,
    store: &Store,
    engine: &Engine,
    now: chrono::DateTime<Utc>,
) -> anyhow::Result<ExitCode> {
    let rules = config.schedule.rules();
    let started = std::time::Instant::now();
    let tick = crate::daemon::tick(store, engine, &rules, now, &crate::shutdown::on_signal()).await?;
    if tick.editions.is_empty() {
        println!("nobody is due at {}", now.to_rfc3339());
    }
    let mut failed = 0;
    for (edition, summary) in &tick.editions {
        print_summary(edition, summary, started.elapsed(), false);
        failed += summary.failed;
        if summary.paused || summary.paused_domains > 0 {
            failed += 1;
        }
    }
    if tick.skipped_late > 0 {
        println!(
            "skipped {} digest(s) more than schedule.grace late",
            tick.skipped_late
        );
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

pub fn print_summary(edition: &Edition, s: &RunSummary, elapsed: std::time::Duration, dry_run: bool) {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { s.sent as f64 / secs } else { 0.0 };
    let what = if dry_run {
        "dry run, nothing sent or recorded: would send"
    } else {
        "sent"
    };
    println!(
        "{}: {what} {}, skipped {} (nothing new), deferred {}, failed {}, retried {} in {secs:.1} s ({rate:.0} messages/s)",
        edition.key(),
        s.sent,
        s.skipped,
        s.deferred,
        s.failed,
        s.retries
    );
    if s.paused || s.paused_domains > 0 {
        let what = if s.paused {
            "the edition".to_owned()
        } else {
            format!("{} recipient domain(s)", s.paused_domains)
        };
        println!(
            "{}: PAUSED by the guard: {what}, {} message(s) held; see `herald editions show {}`, then `herald editions resume {}`",
            edition.key(),
            s.held,
            edition.key(),
            edition.key()
        );
    }
}

async fn send_test(
    store: &Store,
    engine: &Engine,
    edition: Edition,
    now: chrono::DateTime<Utc>,
    to: &SubscriberEmail,
    who: &SubscriberEmail,
) -> anyhow::Result<ExitCode> {
    let s = store
        .find_subscriber(who)
        .await?
        .with_context(|| format!("no subscriber with address {who}"))?;
    let preview = engine.preview(&s, edition, now).await?;
    let rendered = preview
        .rendered
        .with_context(|| format!("{who} has nothing new for {}; nothing sent", edition.key()))?;
    let email = engine.compose_test(&s, &rendered, &preview.message_id, to.as_str())?;
    engine
        .send_one(&email)
        .await
        .context("sending the test message")?;
    println!(
        "sent {who}'s {} digest to {to} as a test ({} items); nothing recorded",
        edition.key(),
        preview.digest.len()
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn preview(config: &Config, store: Store, args: PreviewArgs) -> anyhow::Result<ExitCode> {
    let engine = Engine::new(config, store.clone())?;
    let s = store
        .find_subscriber(&args.email)
        .await?
        .with_context(|| format!("no subscriber with address {}", args.email))?;
    let now = args.now.unwrap_or_else(Utc::now);
    let edition = Edition {
        frequency: s.frequency,
        date: args.date.unwrap_or_else(|| now.date_naive()),
    };
    let p = engine.preview(&s, edition, now).await?;
    let mut out: Box<dyn Write> = match &args.out {
        Some(path) => Box::new(
            std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    };
    if args.explain {
        explain(&mut out, &s, &edition, &p)?;
    }
    match &p.rendered {
        None => writeln!(
            out,
            "{} has nothing new for {}: no digest would be sent",
            s.email,
            edition.key()
        )?,
        Some(r) => match args.format {
            PreviewFormat::Html => out.write_all(r.html.as_bytes())?,
            PreviewFormat::Text => {
                writeln!(out, "Subject: {}\n", r.subject)?;
                out.write_all(r.text.as_bytes())?;
            }
            PreviewFormat::Eml => {
                let email = engine.compose(&s, r, &p.message_id)?;
                out.write_all(&email.to_bytes())?;
            }
        },
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `preview --explain`: the edition's window, then every candidate story
/// with its score and why it was taken or left out.
fn explain(out: &mut impl Write, s: &Subscriber, edition: &Edition, p: &Preview) -> anyhow::Result<()> {
    writeln!(
        out,
        "{} for {} ({}, topics: {}), window {} to {}",
        edition.key(),
        s.email,
        s.timezone,
        if s.topics.is_empty() {
            "all".to_owned()
        } else {
            s.topics.join(',')
        },
        p.digest.window_start.to_rfc3339(),
        p.digest.window_end.to_rfc3339()
    )?;
    let mut t = super::output::table(&[
        "score",
        "kind",
        "section",
        "author",
        "published",
        "title",
        "verdict",
    ]);
    for (i, verdict) in &p.verdicts {
        let sc = p.pool.get(*i);
        t.add_row(vec![
            format!("{:.4}", sc.score),
            sc.story.kind.to_string(),
            sc.story.section.clone(),
            sc.story.author.clone(),
            sc.story.published_at.format("%Y-%m-%d %H:%M").to_string(),
            crate::domain::text::cut(&sc.story.title, 50),
            verdict.describe().to_owned(),
        ]);
    }
    super::output::print_table(out, &t)?;
    writeln!(out)?;
    Ok(())
}
