//! `herald editions …`: one edition's deliveries, bounces and complaints
//! with their rates, overall and by recipient domain, the guard's pauses
//! and the runs that hold rows in `sending` (live ones until when, dead
//! ones free for the next run) (`show`); lifting a pause (`resume`); the
//! ledger's retention pass (`prune`). The counts, pauses, runs and the pass
//! are the store's; the rates are plain division.

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use anyhow::Context;

use super::output::{print_table, table};
use crate::cli::{EditionsCommand, ShowFormat};
use crate::config::{Config, GuardConfig};
use crate::domain::{DeliveryStatus, Edition, StatusCounts};
use crate::store::{GuardCounts, HeldBy, Pause, Store};

pub async fn run(config: &Config, store: &Store, cmd: EditionsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        EditionsCommand::Show { edition, format } => show(config, store, &edition, format).await,
        EditionsCommand::Resume { edition, domain } => resume(store, &edition, domain.as_deref()).await,
        EditionsCommand::Prune { dry_run, format, now } => prune(config, store, dry_run, format, now).await,
    }
}

async fn edition_id(store: &Store, edition: &Edition) -> anyhow::Result<i64> {
    store
        .edition_id(&edition.key())
        .await?
        .with_context(|| format!("there is no edition {edition} (it starts with its first send)"))
}

/// `n` per message sent, as a percentage.
fn rate(n: u64, sent: u64) -> f64 {
    if sent == 0 {
        0.0
    } else {
        n as f64 * 100.0 / sent as f64
    }
}

/// What `editions show` reads about one edition.
struct Shown {
    edition: Edition,
    statuses: StatusCounts,
    all: GuardCounts,
    domains: Vec<(String, GuardCounts)>,
    pauses: Vec<Pause>,
    /// Runs holding rows in `sending`, judged with
    /// `delivery.heartbeat_timeout`.
    runs: Vec<HeldBy>,
    /// When the retention pass folded the rows into counts.
    pruned_at: Option<chrono::DateTime<chrono::Utc>>,
    retention_days: i64,
}

async fn show(
    config: &Config,
    store: &Store,
    edition: &Edition,
    format: ShowFormat,
) -> anyhow::Result<ExitCode> {
    let id = edition_id(store, edition).await?;
    let shown = Shown {
        edition: *edition,
        statuses: store.edition_counts(id).await?,
        all: store.guard_counts(id, None, None).await?,
        domains: store.guard_counts_by_domain(id).await?,
        pauses: store.pauses(id).await?,
        runs: store.held_by(id, config.delivery.heartbeat_timeout).await?,
        pruned_at: store.edition_pruned_at(id).await?,
        retention_days: config.delivery.retention.num_days(),
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    match format {
        ShowFormat::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&as_json(&shown, &config.guard))?
        )?,
        ShowFormat::Text => as_text(&mut out, &shown, &config.guard)?,
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Counts with their rates per message sent or refused.
fn with_rates(c: &GuardCounts) -> serde_json::Value {
    serde_json::json!({
        "sent": c.sent, "hard": c.hard, "soft": c.soft, "policy": c.policy, "complaint": c.complaint,
        "hard_rate": rate(c.hard, c.sent) / 100.0, "soft_rate": rate(c.soft, c.sent) / 100.0,
        "policy_rate": rate(c.policy, c.sent) / 100.0, "complaint_rate": rate(c.complaint, c.sent) / 100.0,
    })
}

fn as_json(s: &Shown, g: &GuardConfig) -> serde_json::Value {
    let deliveries: serde_json::Map<String, serde_json::Value> = DeliveryStatus::ALL
        .iter()
        .map(|st| (st.as_str().to_owned(), s.statuses.get(*st).into()))
        .collect();
    serde_json::json!({
        "edition": s.edition.key(),
        "deliveries": deliveries,
        "bounces": with_rates(&s.all),
        "domains": s.domains.iter().map(|(d, c)| {
            let mut v = with_rates(c);
            v["domain"] = d.clone().into();
            v
        }).collect::<Vec<_>>(),
        "pauses": s.pauses,
        "runs": s.runs,
        "pruned_at": s.pruned_at,
        "retention_days": s.retention_days,
        "guard": {"complaint_rate": g.complaint_rate, "bounce_rate": g.bounce_rate, "min_sample": g.min_sample,
                  "domain_policy_blocks": g.domain_policy_blocks},
    })
}

fn as_text(out: &mut impl Write, s: &Shown, g: &GuardConfig) -> anyhow::Result<()> {
    let (edition, all) = (&s.edition, &s.all);
    writeln!(out, "edition {edition}")?;
    let parts: Vec<String> = DeliveryStatus::ALL
        .iter()
        .map(|st| format!("{} {}", st.as_str(), s.statuses.get(*st)))
        .collect();
    writeln!(out, "deliveries: {}", parts.join(", "))?;
    if let Some(at) = s.pruned_at {
        writeln!(
            out,
            "delivery details pruned after {} days (on {}; delivery.retention): these are the counts, and the messages sent per domain are no longer known",
            s.retention_days,
            at.date_naive()
        )?;
    }
    writeln!(
        out,
        "per message sent: hard {} ({:.2}%), soft {} ({:.2}%), policy {} ({:.2}%), complaint {} ({:.2}%)",
        all.hard,
        rate(all.hard, all.sent),
        all.soft,
        rate(all.soft, all.sent),
        all.policy,
        rate(all.policy, all.sent),
        all.complaint,
        rate(all.complaint, all.sent)
    )?;
    writeln!(
        out,
        "guard: pauses over {:.2}% complaints or {:.2}% hard bounces after {} messages, or {} policy blocks in a row from one domain",
        g.complaint_rate * 100.0,
        g.bounce_rate * 100.0,
        g.min_sample,
        g.domain_policy_blocks
    )?;
    pauses_text(out, edition, &s.pauses)?;
    for r in &s.runs {
        if r.live {
            writeln!(
                out,
                "sending: {} row(s) held by live run {} (host {}, pid {}) until at least {}",
                r.rows,
                r.run_id,
                r.host,
                r.pid,
                r.until.to_rfc3339()
            )?;
        } else {
            writeln!(
                out,
                "sending: {} row(s) of run {} (host {}, pid {}), which is gone: free for the next run",
                r.rows, r.run_id, r.host, r.pid
            )?;
        }
    }
    writeln!(out)?;
    let mut t = table(&[
        "domain",
        "sent",
        "hard",
        "soft",
        "policy",
        "complaint",
        "hard %",
        "complaint %",
    ]);
    for (d, c) in &s.domains {
        t.add_row(vec![
            if d.is_empty() { "-".into() } else { d.clone() },
            c.sent.to_string(),
            c.hard.to_string(),
            c.soft.to_string(),
            c.policy.to_string(),
            c.complaint.to_string(),
            format!("{:.2}", rate(c.hard, c.sent)),
            format!("{:.2}", rate(c.complaint, c.sent)),
        ]);
    }
    print_table(out, &t)?;
    Ok(())
}

fn pauses_text(out: &mut impl Write, edition: &Edition, pauses: &[Pause]) -> anyhow::Result<()> {
    let live = pauses.iter().filter(|p| p.resumed_at.is_none()).count();
    if live == 0 {
        writeln!(out, "paused: no")?;
    }
    for p in pauses {
        let scope = if p.domain.is_empty() {
            "the edition".to_owned()
        } else {
            format!("domain {}", p.domain)
        };
        match p.resumed_at {
            None => writeln!(
                out,
                "PAUSED {scope} since {}: {}",
                p.paused_at.to_rfc3339(),
                p.reason
            )?,
            Some(r) => writeln!(
                out,
                "resumed {scope} at {} (paused {}: {})",
                r.to_rfc3339(),
                p.paused_at.to_rfc3339(),
                p.reason
            )?,
        }
    }
    if live > 0 {
        writeln!(
            out,
            "resume with: herald editions resume {edition} [--domain DOMAIN]"
        )?;
    }
    Ok(())
}

async fn resume(store: &Store, edition: &Edition, domain: Option<&str>) -> anyhow::Result<ExitCode> {
    let id = edition_id(store, edition).await?;
    let domain = domain.map(|d| d.trim().to_ascii_lowercase());
    let n = store.resume_edition(id, domain.as_deref()).await?;
    if n == 0 {
        eprintln!(
            "herald: {edition} has no pause in force{}",
            domain.map(|d| format!(" for {d}")).unwrap_or_default()
        );
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "{edition}: {n} pause(s) lifted; the next send goes on (only what happens from now on is judged)"
    );
    tracing::info!(edition = %edition, lifted = n, "guard pause lifted by an operator");
    Ok(ExitCode::SUCCESS)
}

/// `editions prune`: the retention pass the daemon runs daily, by hand.
async fn prune(
    config: &Config,
    store: &Store,
    dry_run: bool,
    format: ShowFormat,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> anyhow::Result<ExitCode> {
    let now = now.unwrap_or_else(chrono::Utc::now);
    let retention = config.delivery.retention;
    let report = store.prune_ledger(retention, now, dry_run).await?;
    let mut out = BufWriter::new(std::io::stdout().lock());
    match format {
        ShowFormat::Json => writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "dry_run": dry_run,
                "retention_days": retention.num_days(),
                "cutoff": report.cutoff,
                "rows": report.rows(),
                "editions": report.editions,
                "runs": report.runs,
            }))?
        )?,
        ShowFormat::Text => {
            let verb = if dry_run { "would fold" } else { "folded" };
            for e in &report.editions {
                writeln!(out, "{}: {verb} {} delivery rows into counts", e.edition, e.rows)?;
            }
            writeln!(
                out,
                "{} {} rows of {} editions dated before {} (delivery.retention: {} days)",
                if dry_run { "would remove" } else { "removed" },
                report.rows(),
                report.editions.len(),
                report.cutoff.map(|d| d.to_string()).unwrap_or_default(),
                retention.num_days()
            )?;
            if report.runs > 0 {
                writeln!(
                    out,
                    "{} {} runs that ended before the cutoff and sent none of the rows kept",
                    if dry_run { "would remove" } else { "removed" },
                    report.runs
                )?;
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
