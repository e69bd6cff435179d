//! Judging a failure: from the RFC 3463 enhanced status code when there is
//! one, from the reply text when there is not. Pure: no IO, no clock.
//!
//! The order of evidence:
//!
//! 1. The enhanced status code (`x.y.z`), from the report's own field or
//!    else found in the text. Its class says permanent (5) or transient
//!    (4) or success (2); its subject and detail say what failed, read
//!    from the table in `by_status` (RFC 3463 and the IANA registry of
//!    enhanced status codes, up to x.7.30 and x.1.10).
//! 2. A vague code (x.0.0, x.1.0, x.2.0, x.3.0, x.4.0, x.5.0, or a detail
//!    the registry does not define) leaves the decision to the text, read
//!    through the ordered cues of `CUES`. The generic policy codes 5.7.0
//!    and 5.7.1 give way to the text only when it says the address is dead
//!    (see `Refine::Generic`).
//! 3. Without an enhanced code, the text's cues decide, and failing those the
//!    basic SMTP reply code (550, 552, 421…).
//! 4. A transient failure (class 4) is never `hard`: a temporary "user
//!    unknown" is `soft`. It stays `policy` when the sender is the problem
//!    (4.7.x: rate limits, reputation), except greylisting, which is `soft`.
//!
//! This module knows nothing about the SMTP stage of a refusal (a fault of
//! Herald's own setup versus a recipient's refusal): `mail::classify` decides
//! that first and asks [`judge`] only about a recipient's refusal.

use crate::domain::Category;

/// The judgement on one failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub category: Category,
    /// The enhanced status code given or found in the text, `x.y.z`: the
    /// one the decision rests on (a vague `Status: 5.0.0` whose diagnostic
    /// says `550 5.1.1` shows `5.1.1`).
    pub status: Option<String>,
    /// A short explanation, e.g. "mailbox does not exist".
    pub reason: String,
}

/// Judges one failure: `code` is the SMTP basic reply code when known
/// (550), `status` the enhanced status code when the report gives one in
/// its own field (a DSN's Status:), `text` the reply or diagnostic text.
pub fn judge(code: Option<u16>, status: Option<&str>, text: &str) -> Verdict {
    let lower = lower_prefix(text, MAX_TEXT);
    let field = status.and_then(Status::parse);
    let found = Status::find(&lower);
    let code = code.or_else(|| basic_code(&lower));
    // The report's own field decides, unless it is vague and the remote
    // server's words carry a specific code of the same class (Exim and
    // Sendmail write `Status: 5.0.0` around a `550 5.1.1` reply).
    let status = match (field, found) {
        (Some(f), Some(t)) if f.is_vague() && !t.is_vague() && t.class == f.class => Some(t),
        (Some(f), _) => Some(f),
        (None, t) => t,
    };
    let (category, reason) = decide(code, status, &lower);
    Verdict {
        category,
        status: status.map(|s| s.to_string()),
        reason,
    }
}

/// Only the start of a long text is read: replies and diagnostics that
/// matter are short, and a huge one must not slow the parser down.
const MAX_TEXT: usize = 4096;

/// An RFC 3463 enhanced status code: class.subject.detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Status {
    class: u8,
    subject: u16,
    detail: u16,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

impl Status {
    /// `5.1.1`, or a field value that starts with one (`5.1.1 (bad
    /// destination mailbox)`).
    fn parse(s: &str) -> Option<Status> {
        let token = s
            .trim()
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .next()?;
        Status::token(token.trim_end_matches('.'))
    }

    /// The first enhanced status code among the words of `text`: `550-5.1.1`,
    /// `#5.1.1`, `(#5.1.1)` and `5.1.1.` all count; IP addresses and
    /// versions with four parts do not.
    fn find(text: &str) -> Option<Status> {
        text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|t| t.len() >= 5)
            .find_map(|t| Status::token(t.trim_matches('.')))
    }

    fn token(t: &str) -> Option<Status> {
        let mut parts = t.split('.');
        let (class, subject, detail) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || class.len() != 1 || !(1..=3).contains(&subject.len()) {
            return None;
        }
        if !(1..=3).contains(&detail.len()) {
            return None;
        }
        let class: u8 = class.parse().ok()?;
        if !matches!(class, 2 | 4 | 5) {
            return None;
        }
        Some(Status {
            class,
            subject: subject.parse().ok()?,
            detail: detail.parse().ok()?,
        })
    }

    /// Says little by itself, so the text may decide.
    fn is_vague(self) -> bool {
        matches!(by_status(self).2, Refine::Vague)
    }
}

/// How far the text may override what a status code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refine {
    /// The code is specific: its category and reason stand.
    No,
    /// The code says little (x.0.0, x.N.0, an unregistered detail): any cue
    /// in the text decides.
    Vague,
    /// The category stands, but servers use the code loosely, so a cue of
    /// the same category gives a better reason (Exchange's 5.1.10 for an
    /// unknown recipient, Yahoo's 5.7.9 for any policy refusal).
    Reason,
    /// A generic policy code (5.7.0, 5.7.1, unregistered 5.7.x): many
    /// servers send it for every refusal their access rules make,
    /// including "user unknown". A text saying the address is dead wins,
    /// because it is more specific than the code and nothing the sender
    /// could change would help; any other text leaves it `policy`, with
    /// the reason of a policy cue when there is one. A text that names a
    /// block list or spam as well is `policy`, since the policy cues are
    /// read before the dead-address ones.
    Generic,
}

/// What a code means when the failure is permanent (class 5); class 4
/// is adjusted by [`transient`]. Sources: RFC 3463, RFC 3886, RFC 4468,
/// RFC 4954, RFC 5248, RFC 6531, RFC 7293, RFC 7372, RFC 7505, RFC 8617,
/// RFC 8689 and the IANA "SMTP Enhanced Status Codes" registry.
fn by_status(s: Status) -> (Category, &'static str, Refine) {
    use Category::*;
    use Refine::*;
    let permanent = s.class == 5;
    match (s.subject, s.detail) {
        (0, 0) => (Hard, "permanent failure", Vague),
        (1, 1) => (Hard, "mailbox does not exist", No),
        (1, 2) => (Hard, "domain does not exist", No),
        (1, 3) => (Hard, "bad address syntax", No),
        (1, 4) => (Hard, "ambiguous address", No),
        (1, 6) => (Hard, "mailbox moved, no forwarding address", No),
        (1, 7) => (Policy, "sender address refused (bad syntax)", No),
        (1, 8) => (Policy, "sender address refused (bad domain)", No),
        (1, 10) => (Hard, "domain accepts no mail (null MX)", Reason),
        (1, _) => (Hard, "bad address", Vague),
        (2, 1) if permanent => (Hard, "mailbox disabled", No),
        (2, 1) => (Soft, "mailbox temporarily unavailable", No),
        (2, 2) => (Soft, "mailbox full", No),
        (2, 3) => (Policy, "message too big for the mailbox", No),
        (2, 4) => (Soft, "mailing list expansion problem", No),
        (2, _) => (Hard, "mailbox unavailable", Vague),
        (3, 1) => (Soft, "mail system full", No),
        (3, 2) => (Soft, "system not accepting messages", No),
        (3, 3) => (Policy, "message features not supported", No),
        (3, 4) => (Policy, "message too big", No),
        (3, 5) => (Soft, "receiving system misconfigured", No),
        (3, _) => (Soft, "receiving mail system problem", Vague),
        // A permanent 5.4.1 is what Exchange Online answers for an address
        // its directory does not know ("Recipient address rejected: Access
        // denied. AS(201806281)"); a transient 4.4.1 is a connect timeout.
        (4, 1) if permanent => (Hard, "recipient unknown or unreachable", No),
        (4, 1) => (Soft, "no answer from host", No),
        (4, 2) => (Soft, "bad connection", No),
        (4, 3) => (Soft, "directory server failure", No),
        (4, 4) if permanent => (Hard, "unable to route: no mail server for the domain", No),
        (4, 4) => (Soft, "unable to route", No),
        (4, 5) => (Soft, "mail system congestion", No),
        (4, 6) => (Soft, "routing loop detected", No),
        (4, 7) => (Soft, "delivery time expired", No),
        (4, _) => (Soft, "network or routing problem", Vague),
        (5, 3) => (Policy, "too many recipients", No),
        (5, 1..=6) => (Policy, "protocol error by the sending server", No),
        (5, _) => (Hard, "permanent failure", Vague),
        (6, _) => (Policy, "message content or format refused", No),
        (7, 2) => (Policy, "mailing list expansion prohibited", No),
        (7, 3..=7) => (Policy, "security or cryptographic failure", No),
        (7, 8) => (Policy, "authentication credentials invalid", No),
        (7, 9..=12) => (Policy, "authentication or encryption required", Reason),
        (7, 13) => (Policy, "sending account disabled", No),
        (7, 14) => (Policy, "trust relationship required", No),
        (7, 15 | 16) => (Policy, "priority too low", No),
        (7, 17) => (Hard, "mailbox owner has changed", No),
        (7, 18) => (Hard, "domain owner has changed", No),
        (7, 19) => (Soft, "recipient validity check could not be completed", No),
        (7, 20..=22) => (Policy, "DKIM signature missing or invalid", No),
        (7, 23 | 24) => (Policy, "SPF check failed", No),
        (7, 25) => (Policy, "reverse DNS check failed", No),
        (7, 26) => (Policy, "sender authentication failed (DMARC)", No),
        (7, 27) => (Policy, "sender domain has a null MX", No),
        (7, 28) => (Policy, "mail flood detected (rate limited)", No),
        (7, 29) => (Policy, "ARC validation failed", No),
        (7, 30) => (Policy, "REQUIRETLS support required", No),
        (7, 1) => (Policy, "delivery not authorized, message refused", Generic),
        (7, _) => (Policy, "refused by the receiver's policy", Generic),
        _ => (Hard, "permanent failure", Vague),
    }
}

fn decide(code: Option<u16>, status: Option<Status>, lower: &str) -> (Category, String) {
    if let Some(s) = status {
        if s.class == 2 {
            return (Category::None, "delivered".into());
        }
        let (category, reason, refine) = by_status(s);
        let cue = cue(lower);
        let (category, reason) = match (refine, cue) {
            (Refine::Vague, Some((c, r))) => (c, r),
            (Refine::Vague, None) => code.and_then(by_code).unwrap_or((category, reason)),
            (Refine::Generic, Some((Category::Hard, r))) => (Category::Hard, r),
            (Refine::Generic | Refine::Reason, Some((c, r))) if c == category => (c, r),
            _ => (category, reason),
        };
        return transient(s.class == 4, category, reason, lower);
    }
    if let Some(c) = code {
        if c < 400 {
            return (Category::None, "not a failure".into());
        }
        let (category, reason) = cue(lower)
            .or_else(|| by_code(c))
            .unwrap_or((Category::Hard, "permanent failure"));
        return transient(c < 500, category, reason, lower);
    }
    if let Some((category, reason)) = cue(lower) {
        return (category, reason.into());
    }
    // Nothing to go on but the words for permanence: a bounce that says
    // so is hard, anything else is soft, so an unreadable bounce never
    // removes an address by itself.
    if PERMANENT_WORDS.iter().any(|w| lower.contains(w)) {
        (Category::Hard, "permanent failure".into())
    } else {
        (Category::Soft, "failure of unknown kind".into())
    }
}

/// A transient failure is never `hard`; `policy` stays `policy` (the
/// sender is still the problem, for now), except greylisting.
fn transient(class4: bool, category: Category, reason: &'static str, lower: &str) -> (Category, String) {
    if !class4 {
        return (category, reason.into());
    }
    match category {
        Category::Hard => (Category::Soft, format!("{reason} (temporary)")),
        Category::Policy if is_greylisting(lower) => (Category::Soft, GREYLISTED.into()),
        c => (c, reason.into()),
    }
}

const GREYLISTED: &str = "greylisted; the sending server retries";

fn is_greylisting(lower: &str) -> bool {
    CUES[..GREYLIST_CUES].iter().any(|(w, _, _)| lower.contains(w))
}

/// The basic reply code's meaning (RFC 5321 section 4.2.2 and common use),
/// when neither an enhanced code nor the text says more.
fn by_code(code: u16) -> Option<(Category, &'static str)> {
    use Category::*;
    Some(match code {
        421 => (Soft, "service not available"),
        450 => (Soft, "mailbox unavailable (temporary)"),
        451 => (Soft, "local error in processing (temporary)"),
        452 => (Soft, "insufficient storage (temporary)"),
        400..=499 => (Soft, "temporary failure"),
        550 => (Hard, "mailbox unavailable"),
        551 => (Hard, "user not local"),
        552 => (Soft, "exceeded storage allocation"),
        553 => (Hard, "mailbox name not allowed"),
        521 | 556 => (Hard, "domain does not accept mail"),
        530 | 535 | 538 => (Policy, "authentication required"),
        541 | 571 => (Policy, "refused by the receiver's policy"),
        500..=599 => (Hard, "permanent failure"),
        _ => return Option::None,
    })
}

/// The basic reply code in a text: the first three-digit word that looks
/// like one (2xx, 4xx or 5xx with a second digit of 0 to 5), so ports,
/// years and IP octets are not taken for one.
fn basic_code(lower: &str) -> Option<u16> {
    lower
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|w| {
            let b = w.as_bytes();
            b.len() == 3 && matches!(b[0], b'2' | b'4' | b'5') && (b'0'..=b'5').contains(&b[1])
        })
        .and_then(|w| w.parse().ok())
}

fn cue(lower: &str) -> Option<(Category, &'static str)> {
    CUES.iter()
        .find(|(w, _, _)| lower.contains(w))
        .map(|&(_, category, reason)| (category, reason))
}

/// How many entries at the head of [`CUES`] are greylisting.
const GREYLIST_CUES: usize = 6;

/// What reply texts say, in the order they are tried (the first that
/// appears wins): greylisting; the strong signs that the sender is the
/// problem (block lists, spam, authentication, relaying, rates, the
/// sender's address or host); the signs of a dead address; the weak signs
/// of policy ("policy", "blocked", "denied"); the signs of a temporary
/// problem. Lower-case, matched as substrings of the lower-cased text.
const CUES: &[(&str, Category, &str)] = {
    use Category::*;
    const BLOCK_LIST: &str = "sender blocked by a block list";
    const SPAM: &str = "rejected as spam";
    const CONTENT: &str = "message content refused";
    const AUTH: &str = "sender authentication failed (SPF/DKIM/DMARC)";
    const RELAY: &str = "relaying denied";
    const RATE: &str = "rate limited";
    const REPUTATION: &str = "sender reputation";
    const SENDER: &str = "sending server or sender address refused";
    const SIZE: &str = "message too big";
    const NO_USER: &str = "mailbox does not exist";
    const DISABLED: &str = "mailbox disabled";
    const NO_DOMAIN: &str = "domain does not exist";
    const NULL_MX: &str = "domain accepts no mail (null MX)";
    const POLICY: &str = "refused by the receiver's policy";
    const FULL: &str = "mailbox full";
    const TIMEOUT: &str = "connection failed or timed out";
    const EXPIRED: &str = "delivery time expired";
    const TEMPORARY: &str = "temporary failure";
    &[
        // Greylisting (GREYLIST_CUES entries).
        ("greylist", Soft, GREYLISTED),
        ("graylist", Soft, GREYLISTED),
        ("grey-list", Soft, GREYLISTED),
        ("gray-list", Soft, GREYLISTED),
        ("grey list", Soft, GREYLISTED),
        ("gray list", Soft, GREYLISTED),
        // Strong signs of policy.
        ("spamhaus", Policy, BLOCK_LIST),
        ("spamcop", Policy, BLOCK_LIST),
        ("barracuda", Policy, BLOCK_LIST),
        ("sorbs", Policy, BLOCK_LIST),
        ("blocklist", Policy, BLOCK_LIST),
        ("block list", Policy, BLOCK_LIST),
        ("blacklist", Policy, BLOCK_LIST),
        ("black list", Policy, BLOCK_LIST),
        ("denylist", Policy, BLOCK_LIST),
        ("dnsbl", Policy, BLOCK_LIST),
        ("blocked using", Policy, BLOCK_LIST),
        ("listed at", Policy, BLOCK_LIST),
        ("listed on", Policy, BLOCK_LIST),
        ("spam", Policy, SPAM),
        ("unsolicited", Policy, SPAM),
        ("bulk mail", Policy, SPAM),
        ("virus", Policy, CONTENT),
        ("malware", Policy, CONTENT),
        ("phishing", Policy, CONTENT),
        ("content rejected", Policy, CONTENT),
        ("message content", Policy, CONTENT),
        ("content filter", Policy, CONTENT),
        ("dmarc", Policy, AUTH),
        ("spf", Policy, AUTH),
        ("dkim", Policy, AUTH),
        ("unauthenticated", Policy, AUTH),
        ("authentication check", Policy, AUTH),
        ("authentication required", Policy, "authentication required"),
        ("relay access denied", Policy, RELAY),
        ("relaying denied", Policy, RELAY),
        ("relay denied", Policy, RELAY),
        ("unable to relay", Policy, RELAY),
        ("relay not permitted", Policy, RELAY),
        ("relaying not permitted", Policy, RELAY),
        ("not permitted to relay", Policy, RELAY),
        ("relay not allowed", Policy, RELAY),
        ("we do not relay", Policy, RELAY),
        ("allowed rcpthosts", Policy, RELAY),
        ("rate limit", Policy, RATE),
        ("ratelimit", Policy, RATE),
        ("rate-limit", Policy, RATE),
        ("unusual rate", Policy, RATE),
        ("sending rate", Policy, RATE),
        ("too many connections", Policy, RATE),
        ("too many messages", Policy, RATE),
        ("throttl", Policy, RATE),
        ("unexpected volume", Policy, RATE),
        ("max message per", Policy, RATE),
        ("reputation", Policy, REPUTATION),
        ("complaints", Policy, REPUTATION),
        ("sender address rejected", Policy, SENDER),
        ("sender rejected", Policy, SENDER),
        ("sender domain", Policy, SENDER),
        ("sender verify failed", Policy, SENDER),
        ("client host rejected", Policy, SENDER),
        ("reverse dns", Policy, SENDER),
        ("ptr record", Policy, SENDER),
        ("your ip", Policy, SENDER),
        ("message size exceeds", Policy, SIZE),
        ("message too big", Policy, SIZE),
        ("message too large", Policy, SIZE),
        ("message is too large", Policy, SIZE),
        ("exceeds size limit", Policy, SIZE),
        ("size limit exceeded", Policy, SIZE),
        // A dead address, the more specific first.
        ("null mx", Hard, NULL_MX),
        ("does not accept mail", Hard, NULL_MX),
        ("host or domain name not found", Hard, NO_DOMAIN),
        ("domain not found", Hard, NO_DOMAIN),
        ("domain does not exist", Hard, NO_DOMAIN),
        ("no such domain", Hard, NO_DOMAIN),
        ("nxdomain", Hard, NO_DOMAIN),
        ("unrouteable address", Hard, NO_DOMAIN),
        ("unroutable address", Hard, NO_DOMAIN),
        ("account disabled", Hard, DISABLED),
        ("account is disabled", Hard, DISABLED),
        ("account has been disabled", Hard, DISABLED),
        ("mailbox disabled", Hard, DISABLED),
        ("mailbox is disabled", Hard, DISABLED),
        ("mailbox has been disabled", Hard, DISABLED),
        ("account is inactive", Hard, DISABLED),
        ("inactive account", Hard, DISABLED),
        ("account expired", Hard, DISABLED),
        ("deactivated", Hard, DISABLED),
        ("user unknown", Hard, NO_USER),
        ("unknown user", Hard, NO_USER),
        ("no such user", Hard, NO_USER),
        ("no such mailbox", Hard, NO_USER),
        ("no such recipient", Hard, NO_USER),
        ("no such address", Hard, NO_USER),
        ("no such person", Hard, NO_USER),
        ("user not found", Hard, NO_USER),
        ("recipient not found", Hard, NO_USER),
        ("recipnotfound", Hard, NO_USER),
        ("recipientnotfound", Hard, NO_USER),
        ("mailbox not found", Hard, NO_USER),
        ("address not found", Hard, NO_USER),
        ("mailbox unavailable", Hard, NO_USER),
        ("does not exist", Hard, NO_USER),
        ("doesn't exist", Hard, NO_USER),
        ("unknown recipient", Hard, NO_USER),
        ("recipient unknown", Hard, NO_USER),
        ("unknown address", Hard, NO_USER),
        ("unknown local part", Hard, NO_USER),
        ("unknown or illegal alias", Hard, NO_USER),
        ("invalid recipient", Hard, NO_USER),
        ("invalid mailbox", Hard, NO_USER),
        ("not a valid mailbox", Hard, NO_USER),
        ("no mailbox here", Hard, NO_USER),
        ("doesn't have a", Hard, NO_USER),
        ("wasn't found at", Hard, NO_USER),
        ("couldn't be found", Hard, NO_USER),
        ("could not be found", Hard, NO_USER),
        ("mailbox name not allowed", Hard, NO_USER),
        ("no longer available", Hard, NO_USER),
        ("no longer active", Hard, NO_USER),
        ("user is terminated", Hard, NO_USER),
        // Weak signs of policy.
        ("policy", Policy, POLICY),
        ("blocked", Policy, POLICY),
        ("not authorized", Policy, POLICY),
        ("not allowed", Policy, POLICY),
        ("access denied", Policy, POLICY),
        ("refused", Policy, POLICY),
        // A temporary problem.
        ("mailbox full", Soft, FULL),
        ("mailbox is full", Soft, FULL),
        ("quota", Soft, FULL),
        ("insufficient storage", Soft, FULL),
        ("out of storage", Soft, FULL),
        ("storage space", Soft, FULL),
        ("exceeded storage", Soft, FULL),
        ("storage allocation", Soft, FULL),
        ("receiving mail at a rate", Soft, FULL),
        ("retry timeout exceeded", Soft, EXPIRED),
        ("in the queue too long", Soft, EXPIRED),
        ("too long in queue", Soft, EXPIRED),
        ("delivery time expired", Soft, EXPIRED),
        ("message expired", Soft, EXPIRED),
        ("timed out", Soft, TIMEOUT),
        ("timeout", Soft, TIMEOUT),
        ("connection refused", Soft, TIMEOUT),
        ("no route to host", Soft, TIMEOUT),
        ("network is unreachable", Soft, TIMEOUT),
        ("connection reset", Soft, TIMEOUT),
        ("lost connection", Soft, TIMEOUT),
        ("could not connect", Soft, TIMEOUT),
        ("unable to connect", Soft, TIMEOUT),
        ("temporar", Soft, TEMPORARY),
        ("try again", Soft, TEMPORARY),
        ("try later", Soft, TEMPORARY),
        ("transient", Soft, TEMPORARY),
        ("deferred", Soft, TEMPORARY),
        ("server busy", Soft, TEMPORARY),
        ("lookup failure", Soft, TEMPORARY),
    ]
};

/// How bounces say that the sender's server has given up.
const PERMANENT_WORDS: &[&str] = &["permanent", "failed permanently", "fatal error"];

/// The lower-cased first `max` bytes of `text` (at a character boundary).
fn lower_prefix(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Category::{Hard, Policy, Soft};

    /// SMTP replies and diagnostics as servers send them, with the expected
    /// category and status. The SMTP-time classifier hands `judge` the
    /// reply text alone, so most rows have neither `code` nor `status`.
    const REPLIES: &[(&str, Category, Option<&str>)] = &[
        // Dead addresses.
        (
            "550 5.1.1 <x@y.example>: Recipient address rejected: User unknown in virtual mailbox table",
            Hard,
            Some("5.1.1"),
        ),
        (
            "550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. Learn more at https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp",
            Hard,
            Some("5.1.1"),
        ),
        (
            "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302)",
            Hard,
            Some("5.5.0"),
        ),
        (
            "550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [DM6NAM11FT012.eop-nam11.prod.protection.outlook.com]",
            Hard,
            Some("5.4.1"),
        ),
        (
            "554 delivery error: dd This user doesn't have a yahoo.com account (x@yahoo.com) [0] - mta1234.mail.ne1.yahoo.com",
            Hard,
            None,
        ),
        (
            "553 5.3.0 <x@y.example>... No such user here",
            Hard,
            Some("5.3.0"),
        ),
        ("556 5.1.10 Recipient address has null MX", Hard, Some("5.1.10")),
        (
            "550 5.1.2 <x@nowhere.example>: Recipient address rejected: domain not found",
            Hard,
            Some("5.1.2"),
        ),
        (
            "550 5.2.1 The email account that you tried to reach is disabled.",
            Hard,
            Some("5.2.1"),
        ),
        (
            "551 5.1.6 Recipient address has moved, no forwarding address",
            Hard,
            Some("5.1.6"),
        ),
        (
            "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
            Hard,
            Some("5.1.10"),
        ),
        (
            "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##",
            Hard,
            Some("5.1.1"),
        ),
        (
            "Sorry, no mailbox here by that name. (#5.1.1)",
            Hard,
            Some("5.1.1"),
        ),
        ("550 5.0.0 <x@y.example>... User unknown", Hard, Some("5.0.0")),
        ("550 5.1.0 Address rejected: user unknown", Hard, Some("5.1.0")),
        ("550 User unknown", Hard, None),
        ("Unrouteable address", Hard, None),
        (
            "Host or domain name not found. Name service error for name=nowhere.example type=A: Host not found",
            Hard,
            None,
        ),
        ("550 5.7.17 Mailbox owner has changed", Hard, Some("5.7.17")),
        // 5.7.1 with a dead-address text: the text wins (see Refine::Generic).
        (
            "554 5.7.1 <x@y.example>: Recipient address rejected: User unknown",
            Hard,
            Some("5.7.1"),
        ),
        // Soft.
        ("552 5.2.2 mailbox full", Soft, Some("5.2.2")),
        (
            "452 4.2.2 The email account that you tried to reach is over quota.",
            Soft,
            Some("4.2.2"),
        ),
        (
            "450 4.2.0 <x@y.example>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/y.example.html",
            Soft,
            Some("4.2.0"),
        ),
        (
            "451 4.7.1 Greylisting in action, please come back later",
            Soft,
            Some("4.7.1"),
        ),
        (
            "451 4.4.1 connect to mx.y.example[192.0.2.1]:25: Connection timed out",
            Soft,
            Some("4.4.1"),
        ),
        ("4.4.7 Delivery time expired", Soft, Some("4.4.7")),
        (
            "450 4.1.1 <x@y.example>: Recipient address rejected: User unknown in local recipient table",
            Soft,
            Some("4.1.1"),
        ),
        (
            "452-4.2.1 The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.",
            Soft,
            Some("4.2.1"),
        ),
        ("Mailbox quota exceeded", Soft, None),
        ("retry timeout exceeded", Soft, None),
        (
            "421 Service not available, closing transmission channel",
            Soft,
            None,
        ),
        ("452 Insufficient system storage", Soft, None),
        // Policy.
        ("550 5.7.1 Message rejected as spam", Policy, Some("5.7.1")),
        (
            "421 4.7.0 Try again later, closing connection",
            Policy,
            Some("4.7.0"),
        ),
        (
            "554 5.7.1 Service unavailable; Client host [1.2.3.4] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/1.2.3.4",
            Policy,
            Some("5.7.1"),
        ),
        (
            "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy. Please contact the administrator of example.com domain.",
            Policy,
            Some("5.7.26"),
        ),
        (
            "421-4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address.",
            Policy,
            Some("4.7.28"),
        ),
        (
            "554 5.7.1 <x@y.example>: Relay access denied",
            Policy,
            Some("5.7.1"),
        ),
        ("550 5.7.1 Unable to relay", Policy, Some("5.7.1")),
        (
            "550 5.7.23 The message was rejected because of Sender Policy Framework violation",
            Policy,
            Some("5.7.23"),
        ),
        (
            "550 5.7.25 The IP address sending this message does not have a PTR record setup",
            Policy,
            Some("5.7.25"),
        ),
        ("550 5.7.27 Sender address has null MX", Policy, Some("5.7.27")),
        ("550 5.7.29 ARC validation failure", Policy, Some("5.7.29")),
        (
            "554 5.7.9 Message not accepted for policy reasons.",
            Policy,
            Some("5.7.9"),
        ),
        (
            "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints",
            Policy,
            Some("4.7.0"),
        ),
        (
            "550 5.7.606 Access denied, banned sending IP [192.0.2.1]",
            Policy,
            Some("5.7.606"),
        ),
        (
            "451 4.7.500 Server busy. Please try again later from [192.0.2.1]",
            Policy,
            Some("4.7.500"),
        ),
        (
            "552 5.3.4 Message size exceeds fixed limit",
            Policy,
            Some("5.3.4"),
        ),
        ("554 5.6.0 Message contains invalid header", Policy, Some("5.6.0")),
        (
            "550 5.1.8 Sender address rejected: Domain not found",
            Policy,
            Some("5.1.8"),
        ),
        (
            "553 5.7.1 <x@y.example>: Sender address rejected: not owned by user",
            Policy,
            Some("5.7.1"),
        ),
        (
            "550 5.7.1 user unknown, and you are listed at bl.example",
            Policy,
            Some("5.7.1"),
        ),
        (
            "554 Your access to this mail system has been rejected due to the sending MTA's poor reputation",
            Policy,
            None,
        ),
        ("535 Authentication credentials invalid", Policy, None),
        // Not a failure.
        ("250 2.0.0 Ok: queued as 4Bc", Category::None, Some("2.0.0")),
    ];

    #[test]
    fn smtp_replies() {
        let mut wrong = Vec::new();
        for &(text, category, status) in REPLIES {
            let v = judge(None, None, text);
            if v.category != category || v.status.as_deref() != status {
                wrong.push(format!(
                    "{text:?}\n  expected {category} {status:?}, got {} {:?} ({})",
                    v.category, v.status, v.reason
                ));
            }
        }
        assert!(
            wrong.is_empty(),
            "{} of {} wrong:\n{}",
            wrong.len(),
            REPLIES.len(),
            wrong.join("\n")
        );
    }

    #[test]
    fn the_status_field_decides_and_a_vague_one_gives_way() {
        let v = judge(
            Some(550),
            Some("5.0.0"),
            "550 5.1.1 <x@y.example>... User unknown",
        );
        assert_eq!((v.category, v.status.as_deref()), (Hard, Some("5.1.1")));
        // A specific field wins over the text.
        let v = judge(None, Some("5.2.2"), "550 5.1.1 user unknown");
        assert_eq!((v.category, v.status.as_deref()), (Soft, Some("5.2.2")));
        // Postfix gives up after the queue lifetime on a 4.x.x.
        let v = judge(
            None,
            Some("4.4.1"),
            "connect to mx.y.example[192.0.2.1]:25: Connection timed out",
        );
        assert_eq!((v.category, v.reason.as_str()), (Soft, "no answer from host"));
        // A vague field with no cue falls back on the basic code.
        let v = judge(Some(552), Some("5.0.0"), "");
        assert_eq!(v.category, Soft);
        let v = judge(None, Some("5.0.0 (permanent failure)"), "");
        assert_eq!((v.category, v.status.as_deref()), (Hard, Some("5.0.0")));
    }

    #[test]
    fn loosely_used_codes_take_their_reason_from_the_text() {
        let reason = |text: &str| judge(None, None, text).reason;
        assert_eq!(
            reason("550 5.1.10 RESOLVER.ADR.RecipientNotFound; not found"),
            "mailbox does not exist"
        );
        assert_eq!(
            reason("556 5.1.10 Recipient address has null MX"),
            "domain accepts no mail (null MX)"
        );
        assert_eq!(
            reason("554 5.7.1 Client host [192.0.2.1] blocked using zen.spamhaus.org"),
            "sender blocked by a block list"
        );
        assert_eq!(
            reason("554 5.7.9 Message not accepted for policy reasons"),
            "refused by the receiver's policy"
        );
        assert_eq!(
            reason("421 4.7.0 [TSS04] deferred due to unexpected volume"),
            "rate limited"
        );
        // A specific code keeps its own reason.
        assert_eq!(
            reason("550 5.7.26 DMARC policy, see spamhaus"),
            "sender authentication failed (DMARC)"
        );
        assert_eq!(reason("550 5.1.1 mailbox full"), "mailbox does not exist");
    }

    #[test]
    fn without_codes_only_the_words_count() {
        assert_eq!(judge(None, None, "").category, Soft);
        assert_eq!(judge(None, None, "This is a permanent error").category, Hard);
        assert_eq!(judge(None, None, "Your message was blocked").category, Policy);
        // IP addresses, ports and versions are not status codes.
        let v = judge(None, None, "connect to 192.0.2.1:587 version 5.1.1.4");
        assert_eq!(v.status, None);
        assert_eq!(basic_code("port 587, then 550 no"), Some(550));
    }

    #[test]
    fn every_reason_is_short() {
        for (_, _, reason) in CUES {
            assert!(reason.len() <= 60, "{reason}");
        }
        assert!(CUES[..GREYLIST_CUES].iter().all(|(w, _, _)| w.contains("list")));
        assert!(!CUES[GREYLIST_CUES].0.contains("list"));
    }

    #[test]
    fn huge_and_odd_texts_do_not_panic() {
        let huge = "é".repeat(100_000);
        let _ = judge(None, None, &huge);
        let _ = judge(Some(999), Some("9.9.9"), "5.999.999 4.0 5. .5.1");
        let _ = judge(None, Some(""), "\u{0}\u{fffd}");
    }
}
