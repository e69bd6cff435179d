//! Mailgun's webhooks: one JSON event per call, `{"signature": {timestamp,
//! token, signature}, "event-data": {…}}`. A call is genuine when
//! `signature` is the hex HMAC-SHA256 of timestamp + token under the
//! signing key (compared in constant time), the timestamp is within five
//! minutes of now, and the token has not been seen before: a replayed call
//! is refused with 401, like a forged one, since it proves nothing about
//! who sends it now.
//!
//! Seen tokens are kept in memory for the freshness window only (an older
//! token fails the timestamp check anyway). Several Herald instances behind
//! one URL each keep their own, so a replay sent to another instance
//! within five minutes would pass there; that is accepted because the
//! replayed event is one Mailgun really sent, and the intake records an
//! event id once. The mapping of events to [`Report`]s ([`report_of`],
//! [`says`]) is pure.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde::Deserialize;
use sha2::Sha256;

use super::{FRESHNESS_SECONDS, Refusal, Says, finding, fresh, message_id, report};
use crate::bounce::Report;
use crate::domain::{Category, ReportType};

pub(super) struct Mailgun {
    key: Vec<u8>,
    /// Tokens of accepted calls, with their timestamps.
    seen: Mutex<HashMap<String, i64>>,
}

/// The call as posted.
#[derive(Debug, Deserialize)]
struct Call {
    signature: Signature,
    #[serde(rename = "event-data")]
    event_data: serde_json::Value,
}

#[derive(Debug, Deserialize)]
pub struct Signature {
    pub timestamp: String,
    pub token: String,
    pub signature: String,
}

impl Mailgun {
    pub(super) fn new(key: &str) -> Mailgun {
        Mailgun {
            key: key.as_bytes().to_vec(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Checks the call and spends its token; answers the token (to give
    /// back with [`Mailgun::release`] if handing over fails) and the report.
    pub(super) fn receive(&self, body: &[u8], now: DateTime<Utc>) -> Result<(String, Vec<Report>), Refusal> {
        let call: Call = serde_json::from_slice(body)
            .map_err(|_| Refusal::Unauthorized("no Mailgun signature in the body"))?;
        let s = &call.signature;
        if !verify(&self.key, s) {
            return Err(Refusal::Unauthorized("bad Mailgun signature"));
        }
        if !fresh(&s.timestamp, now) {
            return Err(Refusal::Unauthorized("stale Mailgun timestamp"));
        }
        let signed_at = s.timestamp.trim().parse().unwrap_or_default();
        if !self.spend(&s.token, signed_at, now.timestamp()) {
            return Err(Refusal::Unauthorized("replayed Mailgun token"));
        }
        let report = match serde_json::from_value::<Event>(call.event_data) {
            Ok(event) => report_of(event),
            Err(_) => {
                self.release(&s.token);
                return Err(Refusal::BadRequest("event-data is not a Mailgun event"));
            }
        };
        Ok((s.token.clone(), report.into_iter().collect()))
    }

    /// Records `token`, signed at `signed_at`; false if it was seen
    /// before. A token is kept as long as its call would pass the
    /// freshness check, and forgotten after.
    fn spend(&self, token: &str, signed_at: i64, now: i64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.retain(|_, at| now - *at <= FRESHNESS_SECONDS);
        seen.insert(token.to_owned(), signed_at).is_none()
    }

    /// Forgets `token`, so the provider's retry of a call that failed here
    /// is accepted.
    pub(super) fn release(&self, token: &str) {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).remove(token);
    }
}

/// Whether `s.signature` is the HMAC-SHA256 of timestamp + token under
/// `key`; the MAC comparison is constant-time (`Mac::verify_slice`).
pub fn verify(key: &[u8], s: &Signature) -> bool {
    let Ok(given) = hex::decode(s.signature.trim()) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(s.timestamp.as_bytes());
    mac.update(s.token.as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// The parts of an event Herald reads.
#[derive(Debug, Deserialize)]
pub struct Event {
    #[serde(default)]
    event: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    recipient: String,
    #[serde(rename = "delivery-status", default)]
    delivery_status: Option<DeliveryStatus>,
    #[serde(default)]
    envelope: Option<Envelope>,
    #[serde(default)]
    message: Option<Message>,
}

#[derive(Debug, Deserialize)]
struct DeliveryStatus {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(rename = "enhanced-code", default)]
    enhanced_code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Envelope {
    #[serde(default)]
    sender: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default)]
    headers: HashMap<String, serde_json::Value>,
}

/// The report in one event: failed (permanent) and complained events, and
/// temporary failures as `none`; none for other events.
pub fn report_of(e: Event) -> Option<Report> {
    let says = says(&e.event, e.severity.as_deref(), e.reason.as_deref())?;
    let kind = match says.category() {
        Category::Complaint => ReportType::Complaint,
        _ => ReportType::Bounce,
    };
    let status = e.delivery_status.as_ref();
    let code = status
        .and_then(|s| s.code.as_ref())
        .and_then(|c| c.as_u64().or_else(|| c.as_str()?.parse().ok()))
        .and_then(|c| u16::try_from(c).ok())
        .filter(|c| (200..600).contains(c));
    let diagnostic = status.and_then(|s| {
        [&s.message, &s.description]
            .into_iter()
            .flatten()
            .map(|t| t.trim())
            .find(|t| !t.is_empty())
    });
    let message_ids = e
        .message
        .as_ref()
        .and_then(|m| m.headers.get("message-id"))
        .and_then(|v| v.as_str())
        .and_then(message_id)
        .into_iter()
        .collect();
    report(
        kind,
        e.id.map(|id| format!("mailgun:{id}")),
        e.envelope.and_then(|en| en.sender).into_iter().collect(),
        message_ids,
        vec![finding(
            &e.recipient,
            says,
            code,
            status.and_then(|s| s.enhanced_code.as_deref()),
            diagnostic,
        )],
    )
}

/// Mailgun's event name, `severity` and `reason`; none for events that
/// are not reports.
pub fn says(event: &str, severity: Option<&str>, reason: Option<&str>) -> Option<Says> {
    Some(match (event, severity) {
        // One failed attempt: Mailgun retries, and reports a permanent
        // failure if it gives up.
        ("failed", Some("temporary")) => Says::Is(Category::None, "temporary failure; Mailgun retries"),
        ("failed", _) => match reason {
            Some("suppress-bounce") => Says::Is(Category::Hard, "on Mailgun's bounce list"),
            Some("suppress-complaint") => Says::Is(Category::Complaint, "on Mailgun's complaint list"),
            Some("suppress-unsubscribe") => Says::Is(Category::None, "on Mailgun's unsubscribe list"),
            Some("old") => Says::Is(Category::Soft, "undeliverable for too long (Mailgun)"),
            Some("espblock") => {
                Says::Likely(Category::Policy, "blocked by the recipient's provider (Mailgun)")
            }
            _ => Says::Likely(Category::Hard, "permanent failure (Mailgun)"),
        },
        ("complained", _) => Says::Is(Category::Complaint, "spam complaint (Mailgun)"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(json: &str) -> Event {
        serde_json::from_str(json).unwrap()
    }

    /// The shape of Mailgun's documented permanent-failure example.
    const FAILED: &str = r#"{
      "id": "G9Bn5sl1TC6nu79C8C0bwg", "timestamp": 1521233195.375624, "log-level": "error",
      "event": "failed", "severity": "permanent", "reason": "bounce",
      "recipient": "Ana@Example.com", "recipient-domain": "example.com",
      "envelope": {"sender": "bounces+42-0123456789abcdef@bounces.example.com", "transport": "smtp", "targets": "ana@example.com"},
      "delivery-status": {"attempt-no": 1, "code": 550, "enhanced-code": "5.1.1",
        "message": "5.1.1 The email account that you tried to reach does not exist.",
        "description": "", "session-seconds": 0.1},
      "message": {"headers": {"to": "ana@example.com", "message-id": "daily-1.abc@example.com",
        "from": "digest@example.com", "subject": "Your digest"}, "attachments": [], "size": 111},
      "flags": {"is-routed": false, "is-authenticated": true, "is-system-test": false, "is-test-mode": false},
      "user-variables": {}
    }"#;

    #[test]
    fn a_permanent_failure() {
        let r = report_of(event(FAILED)).unwrap();
        assert_eq!(
            (r.kind, r.id.as_deref()),
            (ReportType::Bounce, Some("mailgun:G9Bn5sl1TC6nu79C8C0bwg"))
        );
        assert_eq!(
            r.return_paths,
            ["bounces+42-0123456789abcdef@bounces.example.com"]
        );
        assert_eq!(r.message_ids, ["<daily-1.abc@example.com>"]);
        let f = &r.findings[0];
        assert_eq!(f.recipient.as_deref(), Some("ana@example.com"));
        assert_eq!((f.category, f.status.as_deref()), (Category::Hard, Some("5.1.1")));
        assert!(f.diagnostic.as_deref().unwrap().contains("does not exist"));
    }

    #[test]
    fn a_complaint_and_events_that_are_not_reports() {
        let r = report_of(event(
            r#"{"id":"c-1","event":"complained","recipient":"bo@example.com","message":{"headers":{"message-id":"m@x"}}}"#,
        ))
        .unwrap();
        assert_eq!(
            (r.kind, r.findings[0].category),
            (ReportType::Complaint, Category::Complaint)
        );
        for other in ["delivered", "opened", "clicked", "unsubscribed", "accepted"] {
            let json = format!(r#"{{"event":"{other}","recipient":"bo@example.com"}}"#);
            assert!(report_of(event(&json)).is_none(), "{other}");
        }
    }

    #[test]
    fn event_types_map_to_categories() {
        let c = |e, s, r| says(e, s, r).map(Says::category);
        assert_eq!(
            c("failed", Some("permanent"), Some("bounce")),
            Some(Category::Hard)
        );
        assert_eq!(
            c("failed", Some("permanent"), Some("suppress-bounce")),
            Some(Category::Hard)
        );
        assert_eq!(
            c("failed", Some("permanent"), Some("suppress-complaint")),
            Some(Category::Complaint)
        );
        assert_eq!(
            c("failed", Some("permanent"), Some("suppress-unsubscribe")),
            Some(Category::None)
        );
        assert_eq!(
            c("failed", Some("permanent"), Some("espblock")),
            Some(Category::Policy)
        );
        assert_eq!(c("failed", Some("permanent"), Some("old")), Some(Category::Soft));
        assert_eq!(
            c("failed", Some("temporary"), Some("generic")),
            Some(Category::None)
        );
        assert_eq!(c("complained", None, None), Some(Category::Complaint));
        assert_eq!(c("delivered", None, None), None);
    }

    #[test]
    fn signatures_and_tokens() {
        let key = b"key-0123456789abcdef0123456789abcdef";
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(b"1700000000tok");
        let good = hex::encode(mac.finalize().into_bytes());
        let sig = |timestamp: &str, token: &str, signature: &str| Signature {
            timestamp: timestamp.into(),
            token: token.into(),
            signature: signature.into(),
        };
        assert!(verify(key, &sig("1700000000", "tok", &good)));
        assert!(verify(key, &sig("1700000000", "tok", &good.to_uppercase())));
        assert!(!verify(key, &sig("1700000001", "tok", &good)));
        assert!(!verify(key, &sig("1700000000", "tok2", &good)));
        assert!(!verify(b"another key", &sig("1700000000", "tok", &good)));
        assert!(!verify(key, &sig("1700000000", "tok", "zz")));
        let m = Mailgun::new("key-0123456789abcdef");
        assert!(m.spend("a", 1000, 1000));
        assert!(!m.spend("a", 1000, 1100), "a replay within the window");
        m.release("a");
        assert!(m.spend("a", 1000, 1100), "released after a failure");
        // Signed a little in the future: kept until it is stale too.
        assert!(m.spend("b", 1200, 1100));
        assert!(!m.spend("b", 1200, 1000 + FRESHNESS_SECONDS + 1));
        assert!(m.spend("c", 1300, 1200 + FRESHNESS_SECONDS + 1));
        assert_eq!(m.seen.lock().unwrap().len(), 1, "old tokens are forgotten");
    }
}
