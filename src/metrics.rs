//! Metrics in the Prometheus text format (the `prometheus-client` crate),
//! named after Prometheus' guide: one counter family per event with its
//! kinds as labels (`herald_deliveries_total{outcome}`,
//! `herald_bounces_total{source,category}`, `herald_feed_fetches_total`,
//! `herald_signups_total`, `herald_unsubscribes_total{via}`), gauges for
//! state (queue depth, the guard's pauses, the last tick's time and
//! duration), `herald_build_info`, and the SMTP send latency histogram.
//! Also the daemon's self-report behind `/healthz` and `/readyz`: when the
//! scheduler started, on which schedule, and whether it is shutting down.
//! Created once per process (with the configuration) and passed
//! explicitly; nothing global. `textfile` is the node_exporter form that
//! `--metrics-file` writes for cron and timer runs.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::domain::{Category, DeliveryStatus, Outcome, Source};

mod textfile;

pub use textfile::write_textfile;

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ViaLabels {
    via: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
    commit: &'static str,
    tzdata: &'static str,
}

/// How a signup request ended (`herald_signups_total{outcome}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signup {
    /// A pending subscriber and a confirmation mail.
    Requested,
    /// The confirmation link was used.
    Confirmed,
    /// Too many from this address or client.
    RateLimited,
    /// The honeypot field was filled: a bot.
    Honeypot,
    /// Not an email address.
    Invalid,
    /// The address bounced hard or complained before.
    Suppressed,
}

impl Signup {
    fn as_str(self) -> &'static str {
        match self {
            Signup::Requested => "requested",
            Signup::Confirmed => "confirmed",
            Signup::RateLimited => "rate_limited",
            Signup::Honeypot => "honeypot",
            Signup::Invalid => "invalid",
            Signup::Suppressed => "suppressed",
        }
    }
}

/// How a subscriber left (`herald_unsubscribes_total{via}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsubscribe {
    /// RFC 8058 one-click POST from the mail client.
    OneClick,
    /// The unsubscribe page's button.
    Page,
    /// A mail to the List-Unsubscribe mailto: address.
    Mailto,
    /// A complaint (feedback loop, provider webhook).
    Complaint,
}

impl Unsubscribe {
    fn as_str(self) -> &'static str {
        match self {
            Unsubscribe::OneClick => "one_click",
            Unsubscribe::Page => "page",
            Unsubscribe::Mailto => "mailto",
            Unsubscribe::Complaint => "complaint",
        }
    }
}

/// Whether the scheduler keeps time, for `/healthz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickHealth {
    /// No scheduler in this process (only the store is checked).
    NoScheduler,
    /// The last tick (or the start, before the first) is recent enough.
    OnTime { last: Option<DateTime<Utc>> },
    /// A tick was due at `due` and has not started.
    Overdue {
        last: Option<DateTime<Utc>>,
        due: DateTime<Utc>,
    },
}

/// Slack after a tick's due time before it counts as missed: the
/// scheduler's own latency and a busy machine.
const TICK_SLACK_SECONDS: i64 = 60;

/// The scheduler's schedule and start, set by the daemon.
#[derive(Debug)]
struct Scheduler {
    schedule: croner::Cron,
    started: DateTime<Utc>,
}

pub struct Metrics {
    registry: Registry,
    deliveries: Family<OutcomeLabels, Counter>,
    queue_depth: Gauge,
    last_tick: Gauge<f64, AtomicU64>,
    last_tick_duration: Gauge<f64, AtomicU64>,
    send_seconds: Histogram,
    bounces: Family<BounceLabels, Counter>,
    guard_pauses: Family<ScopeLabels, Counter>,
    guard_paused: Family<ScopeLabels, Gauge>,
    feed_fetches: Family<OutcomeLabels, Counter>,
    signups: Family<OutcomeLabels, Counter>,
    unsubscribes: Family<ViaLabels, Counter>,
    last_tick_at: Mutex<Option<DateTime<Utc>>>,
    scheduler: Mutex<Option<Scheduler>>,
    ready: AtomicBool,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("herald");
        let deliveries = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Delivery attempts finished, by outcome: sent (accepted by the relay or written to the outbox), skipped (nothing new, no longer active), deferred (transient failure, retried later), failed (refused or retries exhausted)",
            deliveries.clone(),
        );
        // Every outcome from the start, so rate() has a series before the
        // first failure.
        for status in [
            DeliveryStatus::Sent,
            DeliveryStatus::Skipped,
            DeliveryStatus::Deferred,
            DeliveryStatus::Failed,
        ] {
            drop(deliveries.get_or_create(&OutcomeLabels {
                outcome: status.as_str(),
            }));
        }
        let queue_depth = Gauge::default();
        registry.register(
            "queue_depth",
            "Deliveries queued, deferred or in flight after the last tick",
            queue_depth.clone(),
        );
        let last_tick = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "last_tick_timestamp_seconds",
            "Unix time at which the last scheduler tick (or send --due) started",
            last_tick.clone(),
        );
        let last_tick_duration = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "last_tick_duration_seconds",
            "How long the last finished tick took, sends included",
            last_tick_duration.clone(),
        );
        // 0.5 ms to about 16 s.
        let send_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register(
            "smtp_send_duration_seconds",
            "Time to hand one message to the SMTP relay (MAIL FROM to the reply to DATA)",
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
        let feed_fetches = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "feed_fetches",
            "Feed fetches, by outcome: updated, not_modified, failed",
            feed_fetches.clone(),
        );
        let signups = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "signups",
            "Signup form requests and confirmations, by outcome: requested, confirmed, rate_limited, honeypot, invalid, suppressed",
            signups.clone(),
        );
        let unsubscribes = Family::<ViaLabels, Counter>::default();
        registry.register(
            "unsubscribes",
            "Subscribers who left, by way: one_click (RFC 8058), page, mailto, complaint",
            unsubscribes.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        registry.register("build_info", "Always 1; the labels name the build", build.clone());
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
                commit: env!("HERALD_GIT_COMMIT"),
                tzdata: chrono_tz::IANA_TZDB_VERSION,
            })
            .set(1);
        Metrics {
            registry,
            deliveries,
            queue_depth,
            last_tick,
            last_tick_duration,
            send_seconds,
            bounces,
            guard_pauses,
            guard_paused,
            feed_fetches,
            signups,
            unsubscribes,
            last_tick_at: Mutex::new(None),
            scheduler: Mutex::new(None),
            ready: AtomicBool::new(false),
        }
    }

    /// One delivery's outcome.
    pub fn record(&self, outcome: &Outcome) {
        let status = outcome.status();
        if matches!(status, DeliveryStatus::Queued | DeliveryStatus::Sending) {
            return;
        }
        self.deliveries
            .get_or_create(&OutcomeLabels {
                outcome: status.as_str(),
            })
            .inc();
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

    /// The outcomes of one round of feed fetches.
    pub fn feed_fetches(&self, reports: &[crate::feeds::FeedReport]) {
        use crate::feeds::FeedOutcome;
        for r in reports {
            let outcome = match r.outcome {
                FeedOutcome::Updated { .. } => "updated",
                FeedOutcome::NotModified => "not_modified",
                FeedOutcome::Failed { .. } => "failed",
            };
            self.feed_fetches.get_or_create(&OutcomeLabels { outcome }).inc();
        }
    }

    pub fn signup(&self, outcome: Signup) {
        self.signups
            .get_or_create(&OutcomeLabels {
                outcome: outcome.as_str(),
            })
            .inc();
    }

    pub fn unsubscribe(&self, via: Unsubscribe) {
        self.unsubscribes
            .get_or_create(&ViaLabels { via: via.as_str() })
            .inc();
    }

    pub fn observe_send(&self, took: Duration) {
        self.send_seconds.observe(took.as_secs_f64());
    }

    pub fn set_queue_depth(&self, n: i64) {
        self.queue_depth.set(n);
    }

    /// A tick started at `at`.
    pub fn tick(&self, at: DateTime<Utc>) {
        self.last_tick.set(at.timestamp_millis() as f64 / 1000.0);
        *self.last_tick_at.lock().expect("not poisoned") = Some(at);
    }

    /// The tick that started last finished after `took`.
    pub fn tick_finished(&self, took: Duration) {
        self.last_tick_duration.set(took.as_secs_f64());
    }

    /// The daemon's scheduler runs ticks on `schedule` (a cron expression
    /// with seconds, already checked by the configuration) from `now`.
    pub fn scheduler_started(&self, schedule: &str, now: DateTime<Utc>) -> anyhow::Result<()> {
        let schedule = croner::parser::CronParser::builder()
            .seconds(croner::parser::Seconds::Required)
            .dom_and_dow(true)
            .build()
            .parse(schedule)
            .map_err(|e| anyhow::anyhow!("schedule.tick {schedule:?}: {e}"))?;
        *self.scheduler.lock().expect("not poisoned") = Some(Scheduler {
            schedule,
            started: now,
        });
        Ok(())
    }

    /// Whether a tick due by `now` (less the slack) has started.
    pub fn tick_health(&self, now: DateTime<Utc>) -> TickHealth {
        let scheduler = self.scheduler.lock().expect("not poisoned");
        let Some(s) = scheduler.as_ref() else {
            return TickHealth::NoScheduler;
        };
        let last = *self.last_tick_at.lock().expect("not poisoned");
        let since = last.map_or(s.started, |t| t.max(s.started));
        match s.schedule.find_next_occurrence(&since, false) {
            Ok(due) if now > due + chrono::Duration::seconds(TICK_SLACK_SECONDS) => {
                TickHealth::Overdue { last, due }
            }
            _ => TickHealth::OnTime { last },
        }
    }

    /// The daemon takes traffic (true once the scheduler and the listeners
    /// are up; false again when shutdown begins).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    /// The OpenMetrics text exposition format.
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

    #[test]
    fn one_family_per_event_with_its_kinds_as_labels() {
        let m = Metrics::new();
        m.signup(Signup::Requested);
        m.signup(Signup::RateLimited);
        m.signup(Signup::RateLimited);
        m.unsubscribe(Unsubscribe::OneClick);
        m.unsubscribe(Unsubscribe::Complaint);
        m.tick_finished(Duration::from_millis(1500));
        let text = m.encode();
        for line in [
            "# TYPE herald_deliveries counter",
            "herald_deliveries_total{outcome=\"sent\"} 0",
            "herald_deliveries_total{outcome=\"failed\"} 0",
            "herald_signups_total{outcome=\"requested\"} 1",
            "herald_signups_total{outcome=\"rate_limited\"} 2",
            "herald_unsubscribes_total{via=\"one_click\"} 1",
            "herald_unsubscribes_total{via=\"complaint\"} 1",
            "herald_last_tick_duration_seconds 1.5",
            "# TYPE herald_smtp_send_duration_seconds histogram",
            &format!(
                "herald_build_info{{version=\"{}\",commit=\"{}\",tzdata=\"{}\"}} 1",
                env!("CARGO_PKG_VERSION"),
                env!("HERALD_GIT_COMMIT"),
                chrono_tz::IANA_TZDB_VERSION
            ),
        ] {
            assert!(text.contains(line), "{line} missing from:\n{text}");
        }
        assert!(!text.contains("digests_sent"), "{text}");
    }

    #[test]
    fn a_tick_is_overdue_a_minute_after_it_was_due() {
        let at = |s: &str| crate::domain::timestamp(s).unwrap();
        let m = Metrics::new();
        assert_eq!(m.tick_health(at("2026-03-10T07:00:00Z")), TickHealth::NoScheduler);
        m.scheduler_started("0 */5 * * * *", at("2026-03-10T07:01:00Z"))
            .unwrap();
        // Before the first tick: due at 07:05, overdue after 07:06.
        assert_eq!(
            m.tick_health(at("2026-03-10T07:06:00Z")),
            TickHealth::OnTime { last: None }
        );
        assert_eq!(
            m.tick_health(at("2026-03-10T07:06:01Z")),
            TickHealth::Overdue {
                last: None,
                due: at("2026-03-10T07:05:00Z")
            }
        );
        m.tick(at("2026-03-10T07:05:00Z"));
        let last = Some(at("2026-03-10T07:05:00Z"));
        assert_eq!(
            m.tick_health(at("2026-03-10T07:11:00Z")),
            TickHealth::OnTime { last }
        );
        assert_eq!(
            m.tick_health(at("2026-03-10T07:11:30Z")),
            TickHealth::Overdue {
                last,
                due: at("2026-03-10T07:10:00Z")
            }
        );
    }
}
