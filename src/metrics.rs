//! Metrics for `/metrics`, in the Prometheus text format (the
//! `prometheus-client` crate): delivery outcome counters, the queue depth,
//! the time of the last scheduler tick and an SMTP send latency histogram.
//! Created once and passed explicitly; nothing global.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::domain::{Category, DeliveryStatus, Outcome, Source};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BounceLabels {
    source: &'static str,
    category: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScopeLabels {
    /// "edition" or "domain".
    scope: &'static str,
}

pub struct Metrics {
    registry: Registry,
    sent: Counter,
    skipped: Counter,
    deferred: Counter,
    failed: Counter,
    queue_depth: Gauge,
    last_tick: Gauge<f64, AtomicU64>,
    send_seconds: Histogram,
    bounces: Family<BounceLabels, Counter>,
    guard_pauses: Family<ScopeLabels, Counter>,
    guard_paused: Family<ScopeLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("herald");
        let sent = Counter::default();
        let skipped = Counter::default();
        let deferred = Counter::default();
        let failed = Counter::default();
        let queue_depth = Gauge::default();
        let last_tick = Gauge::<f64, AtomicU64>::default();
        // 0.5 ms to about 16 s.
        let send_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "digests_sent",
            "Digests accepted by the SMTP relay (or written to the outbox)",
            sent.clone(),
        );
        registry.register(
            "digests_skipped",
            "Subscribers skipped: nothing new, or no longer active",
            skipped.clone(),
        );
        registry.register(
            "digests_deferred",
            "Transient failures; the delivery is retried later",
            deferred.clone(),
        );
        registry.register(
            "digests_failed",
            "Deliveries given up: permanent refusals or retries exhausted",
            failed.clone(),
        );
        registry.register(
            "queue_depth",
            "Deliveries queued, deferred or in flight after the last tick",
            queue_depth.clone(),
        );
        registry.register(
            "last_tick_timestamp_seconds",
            "Unix time at which the scheduler last ran a tick",
            last_tick.clone(),
        );
        registry.register(
            "smtp_send_seconds",
            "Time to hand one message to the SMTP relay",
            send_seconds.clone(),
        );
        let bounces = Family::<BounceLabels, Counter>::default();
        registry.register(
            "bounces",
            "Bounces and complaints recorded, by source (smtp, mail, imap, ses, sendgrid, mailgun, postmark) and category (hard, soft, policy, complaint, none)",
            bounces.clone(),
        );
        let guard_pauses = Family::<ScopeLabels, Counter>::default();
        registry.register(
            "guard_pauses",
            "Times the guard paused an edition or one of its recipient domains",
            guard_pauses.clone(),
        );
        let guard_paused = Family::<ScopeLabels, Gauge>::default();
        registry.register(
            "guard_paused",
            "Editions (scope edition) and recipient domains (scope domain) paused by the guard and not resumed, as of the last tick",
            guard_paused.clone(),
        );
        Metrics {
            bounces,
            guard_pauses,
            guard_paused,
            registry,
            sent,
            skipped,
            deferred,
            failed,
            queue_depth,
            last_tick,
            send_seconds,
        }
    }

    pub fn record(&self, outcome: &Outcome) {
        let counter = match outcome.status() {
            DeliveryStatus::Sent => &self.sent,
            DeliveryStatus::Skipped => &self.skipped,
            DeliveryStatus::Deferred => &self.deferred,
            DeliveryStatus::Failed => &self.failed,
            DeliveryStatus::Queued | DeliveryStatus::Sending => return,
        };
        counter.inc();
    }

    /// One recorded bounce or complaint.
    pub fn bounce(&self, source: Source, category: Category) {
        self.bounces
            .get_or_create(&BounceLabels {
                source: source.as_str(),
                category: category.as_str(),
            })
            .inc();
    }

    /// The guard paused an edition (`whole`) or one domain of one.
    pub fn guard_paused(&self, whole: bool) {
        self.guard_pauses.get_or_create(&scope(whole)).inc();
    }

    /// Pauses in force: editions and domains.
    pub fn set_guard_paused(&self, editions: i64, domains: i64) {
        self.guard_paused.get_or_create(&scope(true)).set(editions);
        self.guard_paused.get_or_create(&scope(false)).set(domains);
    }

    pub fn observe_send(&self, took: Duration) {
        self.send_seconds.observe(took.as_secs_f64());
    }

    pub fn set_queue_depth(&self, n: i64) {
        self.queue_depth.set(n);
    }

    pub fn tick(&self, at: chrono::DateTime<chrono::Utc>) {
        self.last_tick.set(at.timestamp_millis() as f64 / 1000.0);
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

fn scope(whole: bool) -> ScopeLabels {
    ScopeLabels {
        scope: if whole { "edition" } else { "domain" },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounces_and_the_guard_are_exported() {
        let m = Metrics::new();
        m.bounce(Source::Ses, Category::Complaint);
        m.bounce(Source::Ses, Category::Complaint);
        m.bounce(Source::Smtp, Category::Policy);
        m.guard_paused(true);
        m.set_guard_paused(1, 2);
        let text = m.encode();
        for line in [
            "herald_bounces_total{source=\"ses\",category=\"complaint\"} 2",
            "herald_bounces_total{source=\"smtp\",category=\"policy\"} 1",
            "herald_guard_pauses_total{scope=\"edition\"} 1",
            "herald_guard_paused{scope=\"edition\"} 1",
            "herald_guard_paused{scope=\"domain\"} 2",
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
    }
}
