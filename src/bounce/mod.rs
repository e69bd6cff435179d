//! The return path: what comes back after the relay said 250. [`parse`]
//! reads one raw message (a delivery status notification, an ARF complaint,
//! an auto-reply, a non-standard bounce) into a [`Report`]; [`classify`]
//! judges a failure from its enhanced status code and its text, for reports
//! and for the relay's own replies during a send; [`verp`] builds and checks
//! the authenticated envelope sender that names each delivery. These three
//! are pure: no IO, no store, no clock. [`imap`] reads the bounce mailbox
//! over IMAP and hands each raw message to its caller. [`intake`] is where
//! every source (`bounces ingest`, the IMAP mailbox, the provider webhooks)
//! meets: it maps a report to its delivery, records the event, acts on the
//! subscriber and feeds the guard, through the store.

pub mod classify;
pub mod guard;
pub mod imap;
pub mod intake;
pub mod parse;
pub mod verp;

use crate::domain::{Category, ReportType};

pub use classify::{Verdict, judge};
pub use parse::parse;
pub use verp::Verp;

/// What one message (or one provider event) says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub kind: ReportType,
    /// The report's own Message-ID or the provider's event id: the same
    /// report ingested twice is recognised by it.
    pub id: Option<String>,
    /// Addresses that may carry a VERP return path: where the report was
    /// delivered (To, Delivered-To, X-Original-To, Envelope-To) and the
    /// Return-Path of the original when the report quotes it.
    pub return_paths: Vec<String>,
    /// Message-IDs of the original message that the report quotes.
    pub message_ids: Vec<String>,
    /// One per recipient the report is about; a message that is not a
    /// report has exactly one, with category `none` and no recipient.
    pub findings: Vec<Finding>,
}

/// What a report says about one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The failed recipient (Final-Recipient, else Original-Recipient),
    /// lower-cased, without the `rfc822;` prefix.
    pub recipient: Option<String>,
    pub category: Category,
    /// The RFC 3463 status, `x.y.z`, when the report gives or implies one.
    pub status: Option<String>,
    /// The remote server's words (Diagnostic-Code, or the human text),
    /// collapsed to one line and cut to a few hundred characters.
    pub diagnostic: Option<String>,
    /// A short explanation of the verdict, e.g. "mailbox does not exist".
    pub reason: String,
}

impl Report {
    /// A message that is not a report.
    pub fn none(reason: impl Into<String>) -> Report {
        Report {
            kind: ReportType::None,
            id: None,
            return_paths: Vec::new(),
            message_ids: Vec::new(),
            findings: vec![Finding {
                recipient: None,
                category: Category::None,
                status: None,
                diagnostic: None,
                reason: reason.into(),
            }],
        }
    }
}
