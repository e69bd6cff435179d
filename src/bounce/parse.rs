//! Reading one raw message into a [`Report`]. Pure: bytes in, report out;
//! no IO, no clock, and no panic on any input.
//!
//! mail-parser reads the MIME structure (`view`); the report's kind is
//! then decided in this order, the machine-readable forms first because
//! they are definitive:
//!
//! 1. a `message/feedback-report` part: an RFC 5965 ARF complaint (`arf`);
//! 2. a `message/delivery-status` or `message/global-delivery-status`
//!    part: an RFC 3464 / RFC 6533 DSN, one finding per recipient group
//!    (`dsn`);
//! 3. a `message/disposition-notification` part or report type: a read
//!    receipt, which is not a report;
//! 4. a message from a mail system (MAILER-DAEMON, postmaster, "Mail
//!    Delivery System"), or one with a bounce's subject or Exim's
//!    X-Failed-Recipients and no vacation marks: a non-standard bounce,
//!    read from its human text (`human`), if that names a recipient or a
//!    status (or, from a mail system, says that delivery failed);
//! 5. RFC 3834 automatic replies (vacation, out of office) by their
//!    headers and subject (`signals`): never a bounce;
//! 6. anything else: not a report.
//!
//! Whatever the kind, the report carries the addresses that may hold a
//! VERP return path and the Message-IDs of the original it quotes.
//! Judging a failure is `bounce::classify`'s; this module only finds the
//! code and the words to judge.

mod address;
mod arf;
mod dsn;
mod fields;
mod human;
mod signals;
mod view;

use mail_parser::{Message, MessageParser};

use super::{Finding, Report};
use crate::domain::text::{collapse, cut};
use crate::domain::{Category, ReportType};

/// Reads one message. Never fails: what cannot be read as a report is a
/// report of type `none`.
pub fn parse(raw: &[u8]) -> Report {
    // mail-parser is written not to panic, but a bounce mailbox is fed by
    // strangers: should it (or this module) ever panic on a crafted
    // message, that message is "not a report" rather than the end of the
    // daemon's intake.
    std::panic::catch_unwind(|| read(raw)).unwrap_or_else(|_| Report::none("unreadable message"))
}

/// Longest diagnostic kept, in characters.
const MAX_DIAGNOSTIC: usize = 300;

fn read(raw: &[u8]) -> Report {
    let Some(message) = MessageParser::new().parse(raw) else {
        return Report::none("not a message");
    };
    let view = view::View::of(&message);
    let signals = signals::Signals::of(&message);
    let (kind, findings, extra_paths) = judge_kind(&view, &signals);

    Report {
        kind,
        id: message.message_id().and_then(address::message_id),
        return_paths: return_paths(&message, &view, extra_paths),
        message_ids: message_ids(&message, &view),
        findings,
    }
}

/// The kind, the findings and any return paths found in a report's
/// machine-readable part (X-Postfix-Sender, Original-Mail-From).
fn judge_kind(view: &view::View, signals: &signals::Signals) -> (ReportType, Vec<Finding>, Vec<String>) {
    if let Some(arf) = &view.feedback {
        let (findings, paths) = arf::read(arf, &view.originals);
        return (ReportType::Complaint, findings, paths);
    }
    if let Some(status) = &view.delivery_status {
        let (findings, paths) = dsn::read(status, &view.text);
        if !findings.is_empty() {
            return (ReportType::Bounce, findings, paths);
        }
        // A delivery-status part with no recipient in it: read the text.
        return (ReportType::Bounce, human::read(&view.text, signals), paths);
    }
    if view.disposition {
        return (
            ReportType::None,
            none("read receipt (message disposition notification)"),
            Vec::new(),
        );
    }
    let bounce = signals.from_mail_system
        || !signals.vacation && (signals.bounce_subject || !signals.failed_recipients.is_empty());
    if bounce {
        let findings = human::read(&view.text, signals);
        // What names no recipient and no status is a bounce only if a mail
        // system sent it and it says it is one: a postmaster's automatic
        // reply, a list server's notice or a courier's "could not be
        // delivered" is not.
        let readable = findings
            .iter()
            .any(|f| f.recipient.is_some() || f.status.is_some());
        let says = signals.bounce_subject || !signals.auto_reply() && human::says_failure(&view.text);
        if readable || signals.from_mail_system && says {
            return (ReportType::Bounce, findings, Vec::new());
        }
    }
    if signals.auto_reply() {
        return (ReportType::AutoReply, none("automatic reply"), Vec::new());
    }
    (ReportType::None, none("not a report"), Vec::new())
}

fn none(reason: &str) -> Vec<Finding> {
    Report::none(reason).findings
}

/// Where the report was delivered (each of To, Delivered-To, X-Original-To,
/// Envelope-To, X-Envelope-To), what its machine-readable part names as the
/// original envelope sender, and the Return-Path of each quoted original.
fn return_paths(message: &Message, view: &view::View, extra: Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(to) = message.to() {
        out.extend(
            to.iter()
                .filter_map(|a| a.address())
                .filter_map(address::normalize),
        );
    }
    for (name, value) in message.headers_raw() {
        if DELIVERY_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            out.extend(address::normalize(value));
        }
    }
    out.extend(extra);
    out.extend(view.originals.iter().filter_map(|o| o.return_path.clone()));
    dedup(out)
}

const DELIVERY_HEADERS: &[&str] = &["Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To"];

/// The quoted originals' Message-IDs, or else the report's In-Reply-To and
/// References.
fn message_ids(message: &Message, view: &view::View) -> Vec<String> {
    let quoted: Vec<String> = view
        .originals
        .iter()
        .filter_map(|o| o.message_id.clone())
        .collect();
    if !quoted.is_empty() {
        return dedup(quoted);
    }
    let mut out = Vec::new();
    for value in [message.in_reply_to(), message.references()] {
        if let Some(id) = value.as_text() {
            out.extend(address::message_id(id));
        }
        if let Some(ids) = value.as_text_list() {
            out.extend(ids.iter().filter_map(|id| address::message_id(id)));
        }
    }
    dedup(out)
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|s| seen.insert(s.clone()));
    v
}

/// The remote server's words as a finding keeps them: one line, cut.
fn diagnostic(text: &str) -> Option<String> {
    let line = collapse(text);
    (!line.is_empty()).then(|| cut(&line, MAX_DIAGNOSTIC))
}

/// A finding for one failed recipient, judged from its words (and its
/// status field and reply code, when the report gives them).
fn finding(recipient: Option<String>, code: Option<u16>, status: Option<&str>, text: &str) -> Finding {
    let verdict = super::judge(code, status, text);
    Finding {
        recipient,
        category: verdict.category,
        status: verdict.status,
        diagnostic: diagnostic(text),
        reason: verdict.reason,
    }
}

/// A notice about one recipient that is not a failure (delayed, delivered).
fn notice(recipient: Option<String>, status: Option<&str>, text: &str, reason: &str) -> Finding {
    Finding {
        recipient,
        category: Category::None,
        status: super::judge(None, status, text).status,
        diagnostic: diagnostic(text),
        reason: reason.to_owned(),
    }
}

#[cfg(test)]
mod tests;
