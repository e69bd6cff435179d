//! Bounces whose failure is only in the human text: qmail ("Hi. This is
//! the qmail-send program…"), Exim without a DSN ("…the following
//! address(es) failed:"), Sendmail ("----- The following addresses had
//! permanent fatal errors -----"), Postfix's human part, Exchange, Office
//! 365 and Outlook.com ("Diagnostic information for administrators",
//! "Remote Server returned '…'"), Gmail ("Your message wasn't delivered
//! to…", "The response was:"), Yahoo, and the rest through common phrases.
//!
//! Each reader takes the text before the copy of the original message and
//! returns the failed recipients with the words about each; the first
//! reader that finds any wins. Judging the words is `bounce::classify`'s.

use super::signals::Signals;
use super::{address, finding, notice};
use crate::bounce::Finding;

/// One failed recipient as the text names it, with the words about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Block {
    pub recipient: String,
    pub text: String,
}

/// The findings of a bounce that has no machine-readable part.
pub(super) fn read(text: &str, signals: &Signals) -> Vec<Finding> {
    let head = head(text);
    let delay = is_delay(&signals.subject, head);
    let mut found = extract(head);
    if found.is_empty() {
        let reply = reply(head).unwrap_or_default();
        found = signals
            .failed_recipients
            .iter()
            .map(|r| Block {
                recipient: r.clone(),
                text: reply.clone(),
            })
            .collect();
    }
    if found.is_empty() {
        // A bounce that names no recipient: the intake still maps it by its
        // VERP address or the Message-ID it quotes.
        let words = reply(head);
        let mut f = match (&words, delay) {
            (_, true) => notice(None, None, words.as_deref().unwrap_or(""), DELAYED),
            (Some(w), false) => finding(None, None, None, w),
            (None, false) => finding(None, None, None, head),
        };
        if words.is_none() {
            f.diagnostic = None;
        }
        return vec![f];
    }
    found
        .into_iter()
        .map(|b| {
            if delay {
                notice(Some(b.recipient), None, &b.text, DELAYED)
            } else {
                finding(Some(b.recipient), None, None, &b.text)
            }
        })
        .collect()
}

pub(super) const DELAYED: &str = "delivery delayed; the sending server is still trying";

/// The recipients and their words in a bounce's human text (used by the
/// DSN reader for recipients whose group has no Diagnostic-Code).
pub(super) fn blocks(text: &str) -> Vec<Block> {
    extract(head(text))
}

/// Whether a text says that a message was not delivered.
pub(super) fn says_failure(text: &str) -> bool {
    let lower = head(text).to_ascii_lowercase();
    FAILURE_PHRASES.iter().any(|p| lower.contains(p))
}

const FAILURE_PHRASES: &[&str] = &[
    "could not be delivered",
    "couldn't be delivered",
    "wasn't delivered",
    "was not delivered",
    "undeliverable",
    "undelivered",
    "delivery failed",
    "delivery has failed",
    "failed permanently",
    "permanent error",
    "permanent failure",
    "unable to deliver",
    "not be delivered",
    "returned mail",
    "delivery to the following",
    "has not yet been delivered",
];

/// The text before the copy of the original message.
fn head(text: &str) -> &str {
    let lower = text.to_ascii_lowercase();
    let end = COPY_MARKERS
        .iter()
        .filter_map(|m| lower.find(m))
        .min()
        .unwrap_or(text.len());
    &text[..end]
}

/// Where bounces start their copy of the original message.
const COPY_MARKERS: &[&str] = &[
    "--- below this line is a copy of the message",
    "------ this is a copy of the message",
    "original message follows -----",
    "unsent message follows -----",
    "----- original message -----",
    "-----original message-----",
    "original message headers:",
    "------ this is a copy of the body of the message",
];

fn is_delay(subject: &str, head: &str) -> bool {
    let lower = head.to_ascii_lowercase();
    if FINAL_PHRASES.iter().any(|p| lower.contains(p)) {
        return false;
    }
    DELAY_SUBJECTS.iter().any(|s| subject.contains(s)) || DELAY_PHRASES.iter().any(|p| lower.contains(p))
}

const DELAY_SUBJECTS: &[&str] = &[
    "delayed mail",
    "(delay)",
    "delivery delayed",
    "delivery delay",
    "warning: message",
    "warning: could not send message",
    "still being retried",
];

const DELAY_PHRASES: &[&str] = &[
    "this is a warning only",
    "you do not need to resend",
    "has not yet been delivered",
    "will retry for",
    "will keep trying",
    "will continue to try",
    "delivery attempts will continue",
    "transient non-fatal errors",
    "delivery incomplete",
    "still being retried",
];

/// A bounce that has given up, whatever else it says.
const FINAL_PHRASES: &[&str] = &[
    "failed permanently",
    "permanent error",
    "permanent fatal errors",
    "permanent failure",
    "i've given up",
    "giving up",
];

type Reader = fn(&[&str], &[String]) -> Vec<Block>;

fn extract(head: &str) -> Vec<Block> {
    let lines: Vec<&str> = head.lines().collect();
    let lower: Vec<String> = lines.iter().map(|l| l.to_ascii_lowercase()).collect();
    const READERS: [Reader; 6] = [sendmail, exchange, gmail, exim, angle, phrases];
    for reader in READERS {
        let found = reader(&lines, &lower);
        if !found.is_empty() {
            return dedup(found);
        }
    }
    Vec::new()
}

/// One block per recipient; a later block with a status code replaces the
/// words of an earlier one without (Exchange's summary, then its details).
fn dedup(blocks: Vec<Block>) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for b in blocks {
        if address::is_mail_system(&b.recipient) {
            continue;
        }
        match out.iter_mut().find(|o| o.recipient == b.recipient) {
            Some(o) if o.text.is_empty() || !has_code(&o.text) && has_code(&b.text) => o.text = b.text,
            Some(_) => {}
            None => out.push(b),
        }
    }
    out
}

fn has_code(text: &str) -> bool {
    crate::bounce::judge(None, None, text).status.is_some()
}

fn append(to: &mut String, line: &str) {
    let line = line.trim();
    if line.is_empty() {
        return;
    }
    if !to.is_empty() {
        to.push(' ');
    }
    to.push_str(line);
}

/// The line is one address and nothing else.
fn sole_address(line: &str) -> Option<String> {
    let t = line.trim();
    if t.contains(char::is_whitespace) {
        return None;
    }
    address::normalize(t)
}

fn position(lower: &[String], markers: &[&str]) -> Option<usize> {
    lower.iter().position(|l| markers.iter().any(|m| l.contains(m)))
}

/// Sendmail: the list after "----- The following addresses had permanent
/// fatal errors -----", each address followed by "(reason: …)"; a reason
/// missing there is taken from the transcript of the session.
fn sendmail(lines: &[&str], lower: &[String]) -> Vec<Block> {
    let Some(start) = position(
        lower,
        &[
            "following addresses had permanent fatal errors",
            "following addresses had transient non-fatal errors",
        ],
    ) else {
        return Vec::new();
    };
    let mut found: Vec<Block> = Vec::new();
    for line in &lines[start + 1..] {
        let t = line.trim();
        if t.starts_with("-----") {
            break;
        }
        if t.is_empty() || t.starts_with("(expanded from") {
            continue;
        }
        if let Some(reason) = t.strip_prefix("(reason:") {
            if let Some(b) = found.last_mut() {
                append(&mut b.text, reason.trim_end_matches(')'));
            }
        } else if let Some(a) = sole_address(t) {
            found.push(Block {
                recipient: a,
                text: String::new(),
            });
        } else if let Some(b) = found.last_mut() {
            append(&mut b.text, t.trim_end_matches(')'));
        }
    }
    if let Some(transcript) = position(lower, &["transcript of session follows"]) {
        for b in found.iter_mut().filter(|b| b.text.is_empty()) {
            let replies = lines[transcript + 1..]
                .iter()
                .zip(&lower[transcript + 1..])
                .filter(|(_, l)| starts_with_code(l.trim_start_matches(['<', ' '])));
            let mut mine = replies.clone().filter(|(_, l)| l.contains(&b.recipient));
            if let Some((line, _)) = mine.next().or_else(|| replies.clone().next()) {
                b.text = line.trim_start_matches(['<', ' ']).trim().to_owned();
            }
        }
    }
    found
}

/// Exchange, Office 365 and Outlook.com: the recipients listed under
/// "Diagnostic information for administrators" with "Remote Server
/// returned '…'" or "#550 5.1.1 …"; older Exchange lists them under "The
/// following recipient(s) cannot be reached:".
fn exchange(lines: &[&str], lower: &[String]) -> Vec<Block> {
    let mut found = Vec::new();
    if let Some(start) = position(lower, &["diagnostic information for administrators"]) {
        let mut current: Option<Block> = None;
        for (line, l) in lines[start + 1..].iter().zip(&lower[start + 1..]) {
            let t = line.trim();
            let l = l.trim();
            if t.is_empty() {
                found.extend(current.take());
                continue;
            }
            if l.starts_with("generating server:") || l.starts_with("receiving server:") {
                continue;
            }
            if let Some(a) = sole_address(t) {
                found.extend(current.take());
                current = Some(Block {
                    recipient: a,
                    text: String::new(),
                });
            } else if let Some(b) = current.as_mut() {
                append(&mut b.text, t);
            }
        }
        found.extend(current);
        if !found.is_empty() {
            return found;
        }
    }
    if let Some(start) = position(
        lower,
        &[
            "following recipient(s) cannot be reached",
            "following recipients cannot be reached",
        ],
    ) {
        let mut current: Option<Block> = None;
        for line in &lines[start + 1..] {
            let t = line.trim();
            if t.is_empty() {
                found.extend(current.take());
                continue;
            }
            match (&mut current, address::in_text(t).next()) {
                (None, Some(a)) => {
                    current = Some(Block {
                        recipient: a,
                        text: String::new(),
                    })
                }
                (Some(b), _) => append(&mut b.text, t),
                (None, None) => {}
            }
        }
        found.extend(current);
    }
    found
}

/// Gmail and Google Workspace: "Your message wasn't delivered to X
/// because…", "Your message to X has been blocked", and the older
/// "Delivery to the following recipient failed permanently:"; the remote
/// server's words follow "The response was:" or "The error that the other
/// server returned was:".
fn gmail(lines: &[&str], lower: &[String]) -> Vec<Block> {
    let response = position(
        lower,
        &[
            "the response was:",
            "the error that the other server returned was:",
            "the response from the remote server was:",
        ],
    )
    .map(|i| paragraph(lines, i + 1))
    .filter(|p| !p.is_empty());
    for (i, l) in lower.iter().enumerate() {
        let sentence = l.contains("wasn't delivered to")
            || l.contains("your message to ") && l.contains("has been blocked")
            || l.contains("problem delivering your message to");
        let list = l.contains("delivery to the following recipient");
        if !sentence && !list {
            continue;
        }
        let mut recipients: Vec<String> = address::in_text(lines[i]).collect();
        if recipients.is_empty() {
            recipients = lines[i + 1..]
                .iter()
                .skip_while(|l| l.trim().is_empty())
                .map_while(|l| sole_address(l))
                .collect();
        }
        if recipients.is_empty() {
            continue;
        }
        let text = response.clone().unwrap_or_else(|| paragraph(lines, i));
        return recipients
            .into_iter()
            .map(|recipient| Block {
                recipient,
                text: text.clone(),
            })
            .collect();
    }
    Vec::new()
}

/// Exim: the paragraphs after "The following address(es) failed:" (or,
/// in a delay warning, "…has not yet been delivered is:"), each an
/// indented address followed by the more indented words about it.
fn exim(lines: &[&str], lower: &[String]) -> Vec<Block> {
    let Some(start) = position(
        lower,
        &[
            "address(es) failed",
            "message has not yet been delivered is:",
            "message has not yet been delivered are:",
        ],
    ) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut i = start + 1;
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        let end = lines[i..]
            .iter()
            .position(|l| l.trim().is_empty())
            .map_or(lines.len(), |n| i + n);
        let first = lines[i].trim();
        let (word, rest) = first.split_once(char::is_whitespace).unwrap_or((first, ""));
        if let Some(a) = address::normalize(word) {
            let mut text = rest.trim().to_owned();
            for line in &lines[i + 1..end] {
                append(&mut text, line);
            }
            found.push(Block { recipient: a, text });
        } else if !found.is_empty() {
            break;
        }
        i = end;
    }
    found
}

/// qmail, Yahoo and Postfix: a line starting `<address>:` (Postfix also
/// `<address> (expanded from <alias>):`), the words on the rest of it and
/// on the lines after it, up to a blank line.
fn angle(lines: &[&str], _lower: &[String]) -> Vec<Block> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some((recipient, rest)) = angle_line(lines[i]) else {
            i += 1;
            continue;
        };
        let mut text = rest.trim().to_owned();
        i += 1;
        // Postfix indents its continuation lines, and one of them may
        // itself start with "<address>:"; only an unindented one starts a
        // new block.
        let continues = |line: &str| line.starts_with([' ', '\t']) || angle_line(line).is_none();
        while i < lines.len() && !lines[i].trim().is_empty() && continues(lines[i]) {
            append(&mut text, lines[i]);
            i += 1;
        }
        found.push(Block { recipient, text });
    }
    found
}

fn angle_line(line: &str) -> Option<(String, &str)> {
    let t = line.trim_start().strip_prefix('<')?;
    let close = t.find('>')?;
    let recipient = address::normalize(&t[..close])?;
    let rest = t[close + 1..].trim_start();
    let rest = if let Some(r) = rest.strip_prefix(':') {
        r
    } else {
        rest.strip_prefix("(expanded from")?.split_once("):")?.1
    };
    Some((recipient, rest))
}

/// Any other bounce: a line with one of the common phrases and the
/// addresses on it or on the lines right after it; the words are the first
/// line that carries an SMTP reply, else the phrase's paragraph.
fn phrases(lines: &[&str], lower: &[String]) -> Vec<Block> {
    for (i, l) in lower.iter().enumerate() {
        if !RECIPIENT_PHRASES.iter().any(|p| l.contains(p)) {
            continue;
        }
        let mut recipients: Vec<String> = address::in_text(lines[i])
            .filter(|a| !address::is_mail_system(a))
            .collect();
        if recipients.is_empty() {
            recipients = lines[i + 1..]
                .iter()
                .skip_while(|l| l.trim().is_empty())
                .take(20)
                .map_while(|l| address::in_text(l).next())
                .filter(|a| !address::is_mail_system(a))
                .collect();
        }
        if recipients.is_empty() {
            continue;
        }
        let text = reply_in(lines).unwrap_or_else(|| paragraph(lines, i));
        return recipients
            .into_iter()
            .map(|recipient| Block {
                recipient,
                text: text.clone(),
            })
            .collect();
    }
    Vec::new()
}

const RECIPIENT_PHRASES: &[&str] = &[
    "could not be delivered to",
    "couldn't be delivered to",
    "was not delivered to",
    "undeliverable to",
    "following recipient",
    "following address",
    "failed recipient",
    "unable to deliver your message to",
    "not be delivered to",
    "delivery has failed to",
    "your message to ",
    "failed to deliver to",
    "delivery failed for",
    "final-recipient:",
    "original-recipient:",
    "recipient address:",
];

/// The first line of `head` that carries the remote server's reply.
fn reply(head: &str) -> Option<String> {
    let lines: Vec<&str> = head.lines().collect();
    reply_in(&lines)
}

fn reply_in(lines: &[&str]) -> Option<String> {
    let i = lines.iter().position(|l| {
        let l = l.trim().to_ascii_lowercase();
        starts_with_code(&l)
            || REPLY_MARKERS.iter().any(|m| l.contains(m))
            || l.starts_with("reason:")
            || l.starts_with("error:")
    })?;
    let line = lines[i].trim();
    // "Remote host said:" and the like, with the reply on the next line.
    if line.ends_with(':') {
        let next = lines.get(i + 1).map_or("", |l| l.trim());
        return Some(format!("{line} {next}"));
    }
    Some(line.to_owned())
}

/// Words that introduce the remote server's reply.
const REPLY_MARKERS: &[&str] = &[
    " said: ",
    " said:",
    "diagnostic-code:",
    "returned '",
    "smtp error",
];

/// "550 5.1.1 …", "550-5.1.1 …", "554 delivery error…".
fn starts_with_code(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() >= 4
        && matches!(b[0], b'4' | b'5')
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && matches!(b[3], b' ' | b'-')
}

/// The lines from `start` up to the next blank line, joined, after
/// skipping blank lines at `start`.
fn paragraph(lines: &[&str], start: usize) -> String {
    let mut text = String::new();
    for line in lines.iter().skip(start).skip_while(|l| l.trim().is_empty()) {
        if line.trim().is_empty() {
            break;
        }
        append(&mut text, line);
    }
    text
}
