//! RFC 3464 delivery status notifications (and RFC 6533's
//! `message/global-delivery-status`): the per-message group (Reporting-MTA,
//! Postfix's X-Postfix-Sender) and one per-recipient group for each
//! recipient (Final-Recipient, Original-Recipient, Action, Status,
//! Diagnostic-Code). `failed` is judged; `delayed`, `delivered`, `relayed`
//! and `expanded` are notices, not bounces. A group without a
//! Diagnostic-Code borrows the words the human part has for its recipient.

use super::fields::{self, Field};
use super::{address, finding, human, notice};
use crate::bounce::Finding;

/// The findings, and the return paths the DSN names (X-Postfix-Sender: the
/// original envelope sender).
pub(super) fn read(status: &str, human_text: &str) -> (Vec<Finding>, Vec<String>) {
    let mut paths = Vec::new();
    let mut findings = Vec::new();
    let mut words: Option<Vec<human::Block>> = None;
    for group in split(fields::groups(status)) {
        paths.extend(fields::all(&group, "X-Postfix-Sender").filter_map(address::normalize));
        if !is_recipient_group(&group) {
            continue;
        }
        let recipient = fields::get(&group, "Final-Recipient")
            .and_then(address::normalize)
            .or_else(|| fields::get(&group, "Original-Recipient").and_then(address::normalize));
        let action = fields::get(&group, "Action")
            .and_then(|a| a.split_whitespace().next())
            .unwrap_or("")
            .to_ascii_lowercase();
        let status = fields::get(&group, "Status").filter(|s| !s.is_empty());
        let mut text = fields::get(&group, "Diagnostic-Code")
            .map(strip_type)
            .unwrap_or("")
            .to_owned();
        if text.is_empty()
            && let Some(r) = &recipient
        {
            let blocks = words.get_or_insert_with(|| human::blocks(human_text));
            if let Some(b) = blocks.iter().find(|b| &b.recipient == r) {
                text = b.text.clone();
            }
        }
        findings.push(match action.as_str() {
            "delayed" => notice(recipient, status, &text, human::DELAYED),
            "delivered" => notice(recipient, status, &text, "delivered"),
            "relayed" => notice(
                recipient,
                status,
                &text,
                "relayed to a system that sends no notices",
            ),
            "expanded" => notice(recipient, status, &text, "delivered to a mailing list or alias"),
            _ => finding(recipient, None, status, &text),
        });
    }
    (findings, paths)
}

/// The groups as the DSN means them: a group that holds several
/// Final-Recipient fields (a missing blank line) is split before each.
fn split(groups: Vec<Vec<Field>>) -> Vec<Vec<Field>> {
    let mut out = Vec::with_capacity(groups.len());
    for group in groups {
        let mut current: Vec<Field> = Vec::new();
        for field in group {
            let starts = field.name.eq_ignore_ascii_case("Final-Recipient");
            if starts && fields::get(&current, "Final-Recipient").is_some() {
                out.push(std::mem::take(&mut current));
            }
            current.push(field);
        }
        out.push(current);
    }
    out
}

fn is_recipient_group(group: &[Field]) -> bool {
    ["Final-Recipient", "Original-Recipient", "Action", "Status"]
        .iter()
        .any(|name| fields::get(group, name).is_some())
}

/// "smtp; 550 5.1.1 …" → "550 5.1.1 …" (also "X-Postfix;", "X-Unix;").
fn strip_type(value: &str) -> &str {
    match value.split_once(';') {
        Some((kind, rest)) if !kind.is_empty() && kind.len() <= 16 && !kind.contains(char::is_whitespace) => {
            rest.trim()
        }
        _ => value.trim(),
    }
}
