//! Where every source of bounces and complaints meets: `bounces ingest`,
//! the IMAP mailbox and the provider webhooks hand a [`Report`] to
//! [`Intake::accept`], which maps it to its delivery, records one event per
//! finding (a report seen twice is recorded once), acts on the subscriber
//! (through the store, by [`BounceRules`]) and lets the guard judge the
//! edition. No SQL here.
//!
//! Mapping, most trusted first: the VERP return path the report was sent
//! to (its HMAC tag proves Herald made it); the Message-ID of the original
//! it quotes (unguessable, and compared with the one on the ledger); the
//! failed recipient's address. A match by address alone is recorded, tied
//! to no one, when it came by mail and is a complaint or VERP is on: anyone
//! can mail a report naming anyone, a real bounce comes back to the VERP
//! address and a real feedback report quotes the Message-ID. Provider
//! webhooks are authenticated by their signatures, so their addresses are
//! trusted.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::guard::Guard;
use super::{Finding, Report, Verp};
use crate::config::Config;
use crate::domain::{BounceRules, Category, EventAction, NewEvent, Source};
use crate::metrics::Metrics;
use crate::store::{Store, Target};

/// What accepting one report did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Accepted {
    /// Events newly recorded.
    pub recorded: usize,
    /// Findings already recorded from an earlier copy of the same report.
    pub duplicates: usize,
    /// Findings that are not failures (auto-replies, delay notices, not a
    /// report at all): nothing recorded.
    pub ignored: usize,
    /// Events recorded that name no subscriber Herald knows, or that were
    /// not trusted to change one.
    pub unmatched: usize,
    /// Subscribers this report marked bounced.
    pub bounced: usize,
    /// Subscribers this report unsubscribed (complaints).
    pub unsubscribed: usize,
}

impl Accepted {
    pub fn add(&mut self, o: &Accepted) {
        self.recorded += o.recorded;
        self.duplicates += o.duplicates;
        self.ignored += o.ignored;
        self.unmatched += o.unmatched;
        self.bounced += o.bounced;
        self.unsubscribed += o.unsubscribed;
    }
}

/// The shared intake; cheap to clone.
#[derive(Clone)]
pub struct Intake {
    store: Store,
    verp: Option<Verp>,
    rules: BounceRules,
    guard: Guard,
    metrics: Arc<Metrics>,
}

/// A report's delivery, and how far it is trusted.
struct Match {
    target: Option<Target>,
    subscriber_id: Option<i64>,
    trusted: bool,
}

impl Intake {
    pub fn new(
        store: Store,
        verp: Option<Verp>,
        rules: BounceRules,
        guard: Guard,
        metrics: Arc<Metrics>,
    ) -> Intake {
        Intake {
            store,
            verp,
            rules,
            guard,
            metrics,
        }
    }

    /// The intake for this configuration: the VERP key is the store's.
    pub async fn open(config: &Config, store: Store, metrics: Arc<Metrics>) -> anyhow::Result<Intake> {
        let verp = match &config.mail.return_path {
            None => None,
            Some(template) => {
                let key = store.secret(crate::deliver::VERP_SECRET).await?;
                Some(Verp::new(template, &key))
            }
        };
        let guard = Guard::new(store.clone(), config.guard, metrics.clone());
        Ok(Intake::new(
            store,
            verp,
            crate::deliver::bounce_rules(config),
            guard,
            metrics,
        ))
    }

    /// Maps, records and acts on one report.
    pub async fn accept(
        &self,
        report: &Report,
        source: Source,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Accepted> {
        let mut accepted = Accepted::default();
        let failures: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.category != Category::None)
            .collect();
        accepted.ignored = report.findings.len() - failures.len();
        if failures.is_empty() {
            return Ok(accepted);
        }
        let events = self.events(report, source, at, &failures, &mut accepted).await?;
        let actions = self.store.record_events(&events, &self.rules).await?;
        let (editions, domains) = self.tally(&events, &actions, &mut accepted);
        for edition_id in editions {
            self.guard.check_edition(edition_id).await?;
        }
        for (edition_id, domain) in domains {
            self.guard.check_domain(edition_id, &domain).await?;
        }
        Ok(accepted)
    }

    /// One event per failure the report names, each tied to the delivery
    /// and subscriber it is about (the whole report's match when there is
    /// one, else the failure's own recipient). Counts the unmatched.
    async fn events(
        &self,
        report: &Report,
        source: Source,
        at: DateTime<Utc>,
        failures: &[&Finding],
        accepted: &mut Accepted,
    ) -> anyhow::Result<Vec<NewEvent>> {
        let whole = self.match_report(report).await?;
        let mut events = Vec::with_capacity(failures.len());
        for f in failures {
            let m = match &whole {
                Some(m) => Match {
                    target: m.target.clone(),
                    subscriber_id: m.subscriber_id,
                    trusted: m.trusted,
                },
                None => self.match_recipient(f, source, report).await?,
            };
            let recipient = f
                .recipient
                .clone()
                .or_else(|| m.target.as_ref().map(|t| t.email.clone()));
            events.push(NewEvent {
                at,
                source,
                category: f.category,
                status: f.status.clone(),
                reason: f.reason.clone(),
                diagnostic: f.diagnostic.clone().unwrap_or_default(),
                // An untrusted report is kept for the operator but tied to
                // no one: it counts towards no subscriber's soft run and no
                // edition's rates (a forger must not pause an edition
                // either).
                subscriber_id: m.subscriber_id.filter(|_| m.trusted),
                delivery_id: m.target.as_ref().filter(|_| m.trusted).map(|t| t.delivery_id),
                edition_id: m.target.as_ref().filter(|_| m.trusted).map(|t| t.edition_id),
                report_key: Some(report_key(report, source, f)),
                recipient,
                firm: true,
                act: m.trusted,
            });
            if m.subscriber_id.is_none() || !m.trusted {
                accepted.unmatched += 1;
                if m.subscriber_id.is_some() {
                    tracing::info!(source = %source, category = %f.category, "a report names a subscriber only by address, by mail: recorded, not acted on");
                }
            }
        }
        Ok(events)
    }

    /// Counts what recording did to each event, into `accepted` and the
    /// metrics, and returns the editions (and edition, domain pairs) whose
    /// rates the guard must look at again.
    fn tally(
        &self,
        events: &[NewEvent],
        actions: &[EventAction],
        accepted: &mut Accepted,
    ) -> (BTreeSet<i64>, BTreeSet<(i64, String)>) {
        let mut editions = BTreeSet::new();
        let mut domains = BTreeSet::new();
        for (ev, action) in events.iter().zip(actions) {
            match action {
                EventAction::Duplicate => {
                    accepted.duplicates += 1;
                    if ev.subscriber_id.is_none() || !ev.act {
                        accepted.unmatched -= 1;
                    }
                    continue;
                }
                EventAction::Bounced => accepted.bounced += 1,
                EventAction::Unsubscribed => {
                    accepted.unsubscribed += 1;
                    self.metrics.unsubscribe(crate::metrics::Unsubscribe::Complaint);
                }
                EventAction::None | EventAction::Counted => {}
            }
            accepted.recorded += 1;
            self.metrics.bounce(ev.source, ev.category);
            if ev.category == Category::Policy {
                tracing::warn!(source = %ev.source, status = ev.status.as_deref().unwrap_or("-"), reason = %ev.reason, "a bounce for policy reasons: the sender's problem (blocklist, content, rate or authentication), not the subscriber's");
            }
            match (ev.edition_id, ev.category) {
                (Some(e), Category::Hard | Category::Complaint) => {
                    editions.insert(e);
                }
                (Some(e), Category::Policy) => {
                    if let Some(d) = ev.recipient.as_deref().and_then(|r| r.rsplit_once('@')) {
                        domains.insert((e, d.1.to_ascii_lowercase()));
                    }
                }
                _ => {}
            }
        }
        (editions, domains)
    }

    /// The delivery the whole report is about, by VERP or Message-ID.
    async fn match_report(&self, report: &Report) -> anyhow::Result<Option<Match>> {
        if let Some(verp) = &self.verp {
            for address in &report.return_paths {
                if let Some(delivery) = verp.delivery(address)
                    && let Some(t) = self.store.target_by_delivery(delivery).await?
                {
                    return Ok(Some(trusted(t)));
                }
            }
        }
        for id in &report.message_ids {
            let Some((edition, subscriber)) = parse_message_id(id) else {
                continue;
            };
            if let Some(t) = self.store.target_by_edition(edition, subscriber).await?
                && t.message_id.as_deref().is_some_and(|m| same_message_id(m, id))
            {
                return Ok(Some(trusted(t)));
            }
        }
        Ok(None)
    }

    /// The subscriber a finding names by address.
    async fn match_recipient(&self, f: &Finding, source: Source, report: &Report) -> anyhow::Result<Match> {
        // An address alone is evidence enough from an authenticated webhook.
        // By mail, anyone can send a report naming anyone: it is trusted
        // only for a bounce while VERP is off (a genuine bounce would
        // otherwise have come back to its VERP address), never for a
        // complaint (a genuine feedback report quotes the Message-ID).
        let by_mail = matches!(source, Source::Mail | Source::Imap);
        let trusted =
            !by_mail || (self.verp.is_none() && report.kind != crate::domain::ReportType::Complaint);
        let Some(r) = &f.recipient else {
            return Ok(Match {
                target: None,
                subscriber_id: None,
                trusted,
            });
        };
        if let Some(t) = self.store.target_by_address(r).await? {
            return Ok(Match {
                subscriber_id: Some(t.subscriber_id),
                target: Some(t),
                trusted,
            });
        }
        Ok(Match {
            target: None,
            subscriber_id: self.store.subscriber_by_address(r).await?,
            trusted,
        })
    }
}

fn trusted(t: Target) -> Match {
    Match {
        subscriber_id: Some(t.subscriber_id),
        target: Some(t),
        trusted: true,
    }
}

/// The edition key and subscriber id in one of Herald's Message-IDs,
/// `<daily-2026-03-10.42.<hash>@example.com>`.
fn parse_message_id(id: &str) -> Option<(&str, i64)> {
    let id = id.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, _) = id.rsplit_once('@')?;
    let mut parts = local.rsplitn(3, '.');
    let _hash = parts.next()?;
    let subscriber = parts.next()?.parse().ok()?;
    let edition = parts.next()?;
    (edition.starts_with("daily-") || edition.starts_with("weekly-")).then_some((edition, subscriber))
}

fn same_message_id(a: &str, b: &str) -> bool {
    let bare = |s: &str| s.trim().trim_start_matches('<').trim_end_matches('>').to_owned();
    bare(a) == bare(b)
}

/// The key that makes a report's finding recorded once: the source, the
/// report's own id (or, when it has none, a digest of what it says), and
/// the recipient.
fn report_key(report: &Report, source: Source, f: &Finding) -> String {
    let mut h = Sha256::new();
    match &report.id {
        Some(id) => h.update(id.as_bytes()),
        None => {
            h.update(b"content\0");
            for m in &report.message_ids {
                h.update(m.as_bytes());
            }
            h.update(f.status.as_deref().unwrap_or("").as_bytes());
            h.update(f.diagnostic.as_deref().unwrap_or("").as_bytes());
        }
    }
    h.update([0]);
    h.update(f.recipient.as_deref().unwrap_or("").as_bytes());
    format!("{source}:{}", hex::encode(&h.finalize()[..16]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_name_edition_and_subscriber() {
        assert_eq!(
            parse_message_id("<daily-2026-03-10.42.0a1b2c3d4e5f60718293a4b5@example.com>"),
            Some(("daily-2026-03-10", 42))
        );
        assert_eq!(
            parse_message_id("weekly-2026-03-09.7.ff@news.example.com"),
            Some(("weekly-2026-03-09", 7))
        );
        assert_eq!(parse_message_id("<CAF=abc@mail.gmail.com>"), None);
        assert_eq!(parse_message_id("<daily-2026-03-10.0a1b@example.com>"), None);
        assert!(same_message_id("<a.b@c>", " a.b@c "));
    }
}
