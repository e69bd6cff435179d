//! `herald send` and `herald preview`: one edition sent (or dry-run, or sent
//! once to a test address), the editions due now sent as the scheduler
//! would, and one subscriber's digest previewed (with `--explain`, why each
//! story was taken or left out). The engine selects, renders and sends;
//! this picks the edition, prints the summary (text, or one JSON object
//! with `--format json`) and sets the exit status: 0 every row of the
//! edition is final and none failed, 3 finished but some recipients failed
//! permanently, 4 finished with rows remaining (deferred, queued behind the
//! guard, or held by another live run); errors are 1 and configuration
//! faults 2 (`main.rs`).

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::Utc;

use crate::cli::{PreviewArgs, PreviewFormat, SendArgs, ShowFormat};
use crate::config::Config;
use crate::deliver::{Engine, Preview, RunSummary, Stopped, Verdict};
use crate::domain::{Edition, Subscriber, SubscriberEmail};
use crate::store::Store;

/// The exit status of a finished run (see the module docs).
pub fn exit_status(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Done => 0,
        Verdict::SomeFailed => 3,
        Verdict::RowsRemain => 4,
    }
}

pub async fn send(config: &Config, store: Store, args: SendArgs) -> anyhow::Result<ExitCode> {
    let engine = Engine::new(config, store.clone())?;
    let now = args.now.unwrap_or_else(Utc::now);
    if args.due {
        let result = send_due(config, &store, &engine, now, args.format).await;
        engine.stop().await?;
        return result;
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
        let result = engine.run_edition(edition, now, None, &shutdown).await;
        // Stopped whatever the outcome: what this run holds is free at once.
        engine.stop().await?;
        result?
    };
    let status = if args.dry_run {
        0
    } else {
        exit_status(summary.verdict())
    };
    match args.format {
        ShowFormat::Text => print_summary(&edition, &summary, started.elapsed(), args.dry_run),
        ShowFormat::Json => {
            let json = serde_json::json!({
                "editions": [summary_json(&edition, &summary, started.elapsed(), args.dry_run)],
                "skipped_late": 0,
                "exit_status": status,
            });
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    Ok(ExitCode::from(status))
}

/// `send --due`: one scheduler tick at `now`, as `herald run` would do it.
/// The exit status is the worst of the editions' (4 over 3 over 0).
async fn send_due(
    config: &Config,
    store: &Store,
    engine: &Engine,
    now: chrono::DateTime<Utc>,
    format: ShowFormat,
) -> anyhow::Result<ExitCode> {
    let rules = config.schedule.rules();
    let started = std::time::Instant::now();
    let tick = crate::daemon::tick(
        store,
        engine,
        &rules,
        now,
        &crate::shutdown::on_signal(),
        &crate::daemon::Running::default(),
    )
    .await?;
    let worst = tick
        .editions
        .iter()
        .map(|(_, s)| s.verdict())
        .max()
        .unwrap_or(Verdict::Done);
    let status = exit_status(worst);
    match format {
        ShowFormat::Json => {
            let editions: Vec<serde_json::Value> = tick
                .editions
                .iter()
                .map(|(e, s)| summary_json(e, s, started.elapsed(), false))
                .collect();
            let json = serde_json::json!({
                "editions": editions,
                "skipped_late": tick.skipped_late,
                "exit_status": status,
            });
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        ShowFormat::Text => {
            if tick.editions.is_empty() {
                println!("nobody is due at {}", now.to_rfc3339());
            }
            for (edition, summary) in &tick.editions {
                print_summary(edition, summary, started.elapsed(), false);
            }
            if tick.editions.len() > 1 {
                let sum = |f: fn(&RunSummary) -> u64| tick.editions.iter().map(|(_, s)| f(s)).sum::<u64>();
                println!(
                    "total of {} editions: sent {}, skipped {}, failed {}, retried {}; rows left: deferred {}, queued {}, held by other runs {}, abandoned {}",
                    tick.editions.len(),
                    sum(|s| s.sent),
                    sum(|s| s.skipped),
                    sum(|s| s.failed),
                    sum(|s| s.retries),
                    sum(|s| s.ledger.deferred),
                    sum(|s| s.ledger.queued),
                    sum(|s| s.ledger.held),
                    sum(|s| s.ledger.abandoned),
                );
            }
            if tick.skipped_late > 0 {
                println!(
                    "skipped {} digest(s) more than schedule.grace late",
                    tick.skipped_late
                );
            }
        }
    }
    Ok(ExitCode::from(status))
}

/// One edition's summary as JSON (the schema is in the README).
pub fn summary_json(
    edition: &Edition,
    s: &RunSummary,
    elapsed: std::time::Duration,
    dry_run: bool,
) -> serde_json::Value {
    let verdict = match s.verdict() {
        Verdict::Done => "done",
        Verdict::SomeFailed => "some_failed",
        Verdict::RowsRemain => "rows_remain",
    };
    serde_json::json!({
        "edition": edition.key(),
        "dry_run": dry_run,
        "run": {
            "id": s.run_id,
            "sent": s.sent,
            "skipped": s.skipped,
            "failed": s.failed,
            "retries": s.retries,
            "seconds": elapsed.as_secs_f64(),
            "stopped": s.stopped,
        },
        "rows": s.ledger,
        "guard": {"edition_paused": s.paused, "paused_domains": s.paused_domains},
        "verdict": if dry_run { "dry_run" } else { verdict },
    })
}

pub fn print_summary(edition: &Edition, s: &RunSummary, elapsed: std::time::Duration, dry_run: bool) {
    let key = edition.key();
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { s.sent as f64 / secs } else { 0.0 };
    let what = if dry_run {
        "dry run, nothing sent or recorded: would send"
    } else {
        "sent"
    };
    println!(
        "{key}: {what} {}, skipped {} (nothing new), deferred {}, failed {}, retried {} in {secs:.1} s ({rate:.0} messages/s)",
        s.sent, s.skipped, s.deferred, s.failed, s.retries
    );
    if dry_run {
        return;
    }
    let l = &s.ledger;
    let next = l
        .next_attempt_at
        .map(|t| format!(" (next attempt {})", t.to_rfc3339()))
        .unwrap_or_default();
    println!(
        "{key}: all {} rows of the edition: sent {}, skipped {}, failed {}, deferred {}{next}, queued {} ({} paused by the guard), held by other runs {}, abandoned {}",
        l.total, l.sent, l.skipped, l.failed, l.deferred, l.queued, l.paused, l.held, l.abandoned
    );
    for h in &l.held_by {
        println!(
            "{key}: {} row(s) held by live run {} (host {}, pid {}) until at least {}",
            h.rows,
            h.run_id,
            h.host,
            h.pid,
            h.until.to_rfc3339()
        );
    }
    if l.abandoned > 0 {
        println!(
            "{key}: {} row(s) claimed by runs that are gone or unrecorded at shutdown: the next run sends them",
            l.abandoned
        );
    }
    match s.stopped {
        Some(Stopped::Outage) => println!(
            "{key}: STOPPED: the relay refused every message for delivery.outage_limit; {} row(s) left deferred{next}",
            l.deferred
        ),
        Some(Stopped::Shutdown) => println!("{key}: stopped by a signal; the next run goes on"),
        None => {}
    }
    if s.paused || s.paused_domains > 0 {
        let what = if s.paused {
            "the edition".to_owned()
        } else {
            format!("{} recipient domain(s)", s.paused_domains)
        };
        println!(
            "{key}: PAUSED by the guard: {what}, {} message(s) held; see `herald editions show {key}`, then `herald editions resume {key}`",
            s.held,
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

/// `preview --explain`: the edition's window, the ranking's formula and
/// periods, the language preference when `digest.story_languages` is
/// `theirs_first` (and whether it changed the order), then every candidate
/// story with its score's parts, its language and why it was taken or left
/// out, in the order the selection considered them.
fn explain(out: &mut impl Write, s: &Subscriber, edition: &Edition, p: &Preview) -> anyhow::Result<()> {
    explain_rules(out, s, edition, p)?;
    explain_verdicts(out, p)?;
    writeln!(out)?;
    Ok(())
}

/// Whom and which window `p` is for, the score's formula with the
/// configured values, each period's rate and how the reader's language
/// orders the digest.
fn explain_rules(out: &mut impl Write, s: &Subscriber, edition: &Edition, p: &Preview) -> anyhow::Result<()> {
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
    let r = &p.rules;
    writeln!(
        out,
        "score = (E + m·{prior} h) / (exposure + {prior} h) / m, where E = votes + {w}·comments, \
         exposure = the age saturating at {exp} h, m = the period's average rate (E per hour of exposure)",
        prior = r.prior_hours,
        w = r.comment_weight,
        exp = r.exposure_hours,
    )?;
    let now = p.digest.window_end;
    let mut periods: Vec<(u32, f64)> = p.parts.iter().map(|x| (x.period, x.period_rate)).collect();
    periods.sort_by_key(|&(n, _)| n);
    periods.dedup_by_key(|&mut (n, _)| n);
    for (n, rate) in periods {
        let period = chrono::Duration::seconds((r.period_hours * 3600.0).round() as i64);
        let end = now - period * n as i32;
        if end <= p.digest.window_start {
            continue;
        }
        writeln!(
            out,
            "period {n}: {} to {}, m = {rate:.2}/h",
            (end - period).format("%Y-%m-%d %H:%M"),
            end.format("%Y-%m-%d %H:%M"),
        )?;
    }
    if let (Some(theirs), Some(site)) = (r.languages.reader(s), r.languages.site()) {
        writeln!(
            out,
            "languages: theirs first (digest.story_languages): stories in {theirs} (a story without a lang \
             counts as {site}, the site's) come before the others, each group in score order; {}",
            if p.digest.reordered() {
                "this changes the digest's order, and the candidates are listed in the order considered"
            } else {
                "this digest keeps the score's order"
            },
        )?;
    }
    Ok(())
}

/// One row per candidate story of `p`, in the order considered: the
/// score's parts and the verdict.
fn explain_verdicts(out: &mut impl Write, p: &Preview) -> anyhow::Result<()> {
    let mut t = super::output::table(&[
        "score",
        "period",
        "E",
        "exposure",
        "rate",
        "kind",
        "lang",
        "section",
        "author",
        "published",
        "title",
        "verdict",
    ]);
    for (i, verdict) in &p.verdicts {
        let sc = p.pool.get(*i);
        let parts = &p.parts[*i];
        t.add_row(vec![
            format!("{:.2}", sc.score),
            parts.period.to_string(),
            format!("{:.0}", parts.engagement),
            format!("{:.1} h", parts.exposure),
            format!("{:.2}/h", parts.rate),
            sc.story.kind.to_string(),
            sc.story.lang.as_ref().map(|l| l.tag()).unwrap_or_default(),
            sc.story.section.clone(),
            sc.story.author.clone(),
            sc.story.published_at.format("%Y-%m-%d %H:%M").to_string(),
            crate::domain::text::cut(&sc.story.title, 50),
            verdict.describe().to_owned(),
        ]);
    }
    super::output::print_table(out, &t)?;
    Ok(())
}
