//! RFC 5965 ARF feedback reports (the feedback loops of Yahoo, Microsoft
//! JMRP, AOL and others): the `message/feedback-report` part's
//! Feedback-Type decides the category, Original-Rcpt-To and
//! Removal-Recipient name the complainant (else the quoted original's JMRP
//! recipient header or its To, when the provider has not redacted them),
//! Original-Mail-From is the original envelope sender.
//!
//! mail-auth has an ARF parser, but only behind its `report` feature,
//! which needs a DNS resolver backend (hickory) and zip in every build;
//! the part is a block of header fields, which [`fields`] reads.

use super::fields;
use super::view::Original;
use super::{address, diagnostic};
use crate::bounce::Finding;
use crate::domain::Category;

pub(super) fn read(report: &str, originals: &[Original]) -> (Vec<Finding>, Vec<String>) {
    let all: Vec<fields::Field> = fields::groups(report).into_iter().flatten().collect();
    let kind = fields::get(&all, "Feedback-Type")
        .and_then(|v| v.split(|c: char| c.is_whitespace() || c == ';').next())
        .unwrap_or("")
        .to_ascii_lowercase();
    let (category, reason) = match kind.as_str() {
        "abuse" => (Category::Complaint, "spam complaint (abuse report)"),
        "fraud" => (Category::Complaint, "fraud or phishing report"),
        "virus" => (Category::Complaint, "virus report"),
        "other" => (Category::Complaint, "complaint (feedback type other)"),
        "not-spam" => (Category::None, "marked as not spam; no action"),
        // RFC 6591: a message failed authentication; the sender's problem.
        "auth-failure" => (Category::Policy, "authentication failure report"),
        _ => (Category::Complaint, "complaint"),
    };
    let mut recipients: Vec<String> = fields::all(&all, "Original-Rcpt-To")
        .chain(fields::all(&all, "Removal-Recipient"))
        .filter_map(address::normalize)
        .collect();
    if recipients.is_empty() {
        recipients = originals
            .iter()
            .flat_map(|o| o.recipients.iter().cloned())
            .take(1)
            .collect();
    }
    recipients.retain(|r| !address::is_mail_system(r) && !is_redacted(r));
    recipients.dedup();
    let agent = fields::get(&all, "User-Agent").unwrap_or("");
    let words = format!("Feedback-Type: {kind}; User-Agent: {agent}");
    let finding = |recipient| Finding {
        recipient,
        category,
        status: None,
        diagnostic: diagnostic(&words),
        reason: reason.to_owned(),
    };
    let findings = if recipients.is_empty() {
        vec![finding(None)]
    } else {
        recipients.into_iter().map(|r| finding(Some(r))).collect()
    };
    let paths = fields::all(&all, "Original-Mail-From")
        .filter_map(address::normalize)
        .collect();
    (findings, paths)
}

/// Providers that redact the complainant write placeholders such as
/// `redacted@aol.com` or `xxxxxxx@example.com`.
fn is_redacted(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or("");
    local.contains("redacted") || !local.is_empty() && local.chars().all(|c| matches!(c, 'x' | '*' | '.'))
}
