//! SendGrid's signed event webhook: a JSON array of events, signed with
//! ECDSA P-256 over the `X-Twilio-Email-Event-Webhook-Timestamp` header
//! followed by the raw body, the DER signature in base64 in
//! `X-Twilio-Email-Event-Webhook-Signature`. A call is genuine when the
//! signature verifies with `webhooks.sendgrid_public_key` and the timestamp
//! is within five minutes of now. The mapping of events to [`Report`]s
//! ([`reports`], [`says`]) is pure.

use axum::http::HeaderMap;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::Deserialize;

use super::{Received, Refusal, Says, finding, fresh, message_id, report};
use crate::bounce::Report;
use crate::domain::{Category, ReportType};

pub(super) const SIGNATURE: &str = "x-twilio-email-event-webhook-signature";
pub(super) const TIMESTAMP: &str = "x-twilio-email-event-webhook-timestamp";

pub(super) struct SendGrid {
    key: VerifyingKey,
}

impl SendGrid {
    pub(super) fn new(key: VerifyingKey) -> SendGrid {
        SendGrid { key }
    }

    pub(super) fn receive(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Received, Refusal> {
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(signature), Some(timestamp)) = (header(SIGNATURE), header(TIMESTAMP)) else {
            return Err(Refusal::Unauthorized("no SendGrid signature headers"));
        };
        if !verify(&self.key, timestamp, signature, body) {
            return Err(Refusal::Unauthorized("bad SendGrid signature"));
        }
        if !fresh(timestamp, now) {
            return Err(Refusal::Unauthorized("stale SendGrid timestamp"));
        }
        reports(body)
            .map(Received::Reports)
            .map_err(|_| Refusal::BadRequest("not an array of SendGrid events"))
    }
}

/// Whether `signature` (base64 DER) signs `timestamp` + `body`.
pub fn verify(key: &VerifyingKey, timestamp: &str, signature: &str, body: &[u8]) -> bool {
    let Ok(der) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    let Ok(signature) = Signature::from_der(&der) else {
        return false;
    };
    let mut signed = Vec::with_capacity(timestamp.len() + body.len());
    signed.extend_from_slice(timestamp.as_bytes());
    signed.extend_from_slice(body);
    key.verify(&signed, &signature).is_ok()
}

/// One event; SendGrid adds fields over time and custom arguments at the
/// top level, so unknown fields are ignored.
#[derive(Debug, Deserialize)]
struct Event {
    #[serde(default)]
    email: String,
    #[serde(default)]
    event: String,
    #[serde(default)]
    sg_event_id: Option<String>,
    #[serde(rename = "smtp-id", default)]
    smtp_id: Option<String>,
    /// `bounce` or `blocked`, for bounce events.
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    bounce_classification: Option<String>,
    /// The remote server's reply for bounces, SendGrid's reason for drops.
    #[serde(default)]
    reason: Option<String>,
    /// The reply of the last attempt, for deferrals.
    #[serde(default)]
    response: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

/// The reports in one call's events, one per bounce, block, drop,
/// deferral or spam report; deliveries, opens, clicks and the rest are not
/// reports.
pub fn reports(body: &[u8]) -> Result<Vec<Report>, serde_json::Error> {
    let events: Vec<Event> = serde_json::from_slice(body)?;
    Ok(events
        .into_iter()
        .filter_map(|e| {
            let says = says(
                &e.event,
                e.kind.as_deref(),
                e.bounce_classification.as_deref(),
                e.reason.as_deref(),
            )?;
            let kind = match says.category() {
                Category::Complaint => ReportType::Complaint,
                _ => ReportType::Bounce,
            };
            let diagnostic = e.reason.as_deref().or(e.response.as_deref());
            // A drop's reason is SendGrid's label, not the remote server's.
            let status = (e.event != "dropped").then_some(e.status.as_deref()).flatten();
            report(
                kind,
                e.sg_event_id.map(|id| format!("sendgrid:{id}")),
                Vec::new(),
                e.smtp_id.as_deref().and_then(message_id).into_iter().collect(),
                vec![finding(&e.email, says, None, status, diagnostic)],
            )
        })
        .collect())
}

/// SendGrid's event name, bounce `type`, `bounce_classification` and,
/// for drops, `reason`; none for events that are not reports.
pub fn says(
    event: &str,
    kind: Option<&str>,
    classification: Option<&str>,
    reason: Option<&str>,
) -> Option<Says> {
    Some(match event {
        "bounce" => match classification {
            Some("Invalid Address") => Says::Is(Category::Hard, "invalid address (SendGrid)"),
            Some("Content") => Says::Is(Category::Policy, "content rejected (SendGrid)"),
            Some("Reputation") => Says::Is(Category::Policy, "sender reputation (SendGrid)"),
            Some("Frequency or Volume Too High") => Says::Is(Category::Policy, "rate limited (SendGrid)"),
            Some("Mailbox Unavailable") => Says::Likely(Category::Soft, "mailbox unavailable (SendGrid)"),
            Some("Technical Failure") => Says::Likely(Category::Soft, "technical failure (SendGrid)"),
            _ => match kind {
                Some("blocked") => Says::Likely(Category::Policy, "blocked (SendGrid)"),
                _ => Says::Likely(Category::Hard, "bounced (SendGrid)"),
            },
        },
        "dropped" => match reason.map(str::trim) {
            Some("Bounced Address") => Says::Is(Category::Hard, "on SendGrid's bounce list"),
            Some("Invalid") => Says::Is(Category::Hard, "invalid address (SendGrid)"),
            Some("Spam Reporting Address") => Says::Is(Category::Complaint, "on SendGrid's spam report list"),
            Some("Unsubscribed Address") => Says::Is(Category::None, "on SendGrid's unsubscribe list"),
            _ => Says::Is(Category::Policy, "dropped by SendGrid"),
        },
        // A deferral is one attempt of several, not a failure: SendGrid
        // retries and reports a bounce if it gives up.
        "deferred" => Says::Is(Category::None, "deferred; SendGrid retries"),
        "spamreport" => Says::Is(Category::Complaint, "spam report (SendGrid)"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shapes of SendGrid's documented example events.
    const EVENTS: &str = r#"[
      {"email":"ana@example.com","timestamp":1700000000,"smtp-id":"<daily-1.abc@example.com>",
       "event":"bounce","category":["digest"],"sg_event_id":"ZGVmYXVsdC1ib3VuY2UtMQ",
       "sg_message_id":"14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
       "reason":"550 5.1.1 The email account that you tried to reach does not exist.",
       "status":"5.1.1","type":"bounce","bounce_classification":"Invalid Address"},
      {"email":"bo@example.com","timestamp":1700000001,"event":"bounce","type":"blocked",
       "sg_event_id":"ZGVmYXVsdC1ibG9jay0x","reason":"550 5.1.1 user unknown","status":"5.1.1"},
      {"email":"cy@example.com","timestamp":1700000002,"smtp-id":"<daily-1.def@example.com>",
       "event":"spamreport","sg_event_id":"ZGVmYXVsdC1zcGFtLTE","sg_message_id":"x.filter0001"},
      {"email":"di@example.com","timestamp":1700000003,"event":"delivered","response":"250 OK",
       "sg_event_id":"ZGVmYXVsdC1kZWxpdmVyZWQtMQ"},
      {"email":"ed@example.com","timestamp":1700000004,"event":"dropped","reason":"Bounced Address",
       "status":"5.0.0","sg_event_id":"ZHJvcC0x"},
      {"email":"fa@example.com","timestamp":1700000005,"event":"deferred",
       "response":"400 try again later","attempt":"5","sg_event_id":"ZGVmZXItMQ"},
      {"email":"go@example.com","timestamp":1700000006,"event":"open","sg_event_id":"b3Blbi0x"}
    ]"#;

    #[test]
    fn a_batch_becomes_one_report_per_failure() {
        let r = reports(EVENTS.as_bytes()).unwrap();
        let got: Vec<_> = r
            .iter()
            .map(|r| {
                let f = &r.findings[0];
                (f.recipient.as_deref().unwrap(), r.kind, f.category)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("ana@example.com", ReportType::Bounce, Category::Hard),
                ("bo@example.com", ReportType::Bounce, Category::Hard),
                ("cy@example.com", ReportType::Complaint, Category::Complaint),
                ("ed@example.com", ReportType::Bounce, Category::Hard),
                ("fa@example.com", ReportType::Bounce, Category::None),
            ]
        );
        assert_eq!(r[0].id.as_deref(), Some("sendgrid:ZGVmYXVsdC1ib3VuY2UtMQ"));
        assert_eq!(r[0].message_ids, ["<daily-1.abc@example.com>"]);
        assert_eq!(r[0].findings[0].status.as_deref(), Some("5.1.1"));
        assert!(r[0].return_paths.is_empty());
        // A drop's status is SendGrid's placeholder, not kept.
        assert_eq!(r[3].findings[0].status, None);
        assert_eq!(
            r[4].findings[0].diagnostic.as_deref(),
            Some("400 try again later")
        );
        assert!(reports(b"{}").is_err());
    }

    #[test]
    fn event_types_map_to_categories() {
        let c = |e, k, cl, r| says(e, k, cl, r).map(Says::category);
        assert_eq!(c("bounce", Some("bounce"), None, None), Some(Category::Hard));
        assert_eq!(c("bounce", Some("blocked"), None, None), Some(Category::Policy));
        assert_eq!(
            c("bounce", Some("blocked"), Some("Reputation"), None),
            Some(Category::Policy)
        );
        assert_eq!(
            c("bounce", Some("bounce"), Some("Mailbox Unavailable"), None),
            Some(Category::Soft)
        );
        assert_eq!(
            c("dropped", None, None, Some("Spam Reporting Address")),
            Some(Category::Complaint)
        );
        assert_eq!(
            c("dropped", None, None, Some("Unsubscribed Address")),
            Some(Category::None)
        );
        assert_eq!(
            c("dropped", None, None, Some("Invalid SMTPAPI header")),
            Some(Category::Policy)
        );
        assert_eq!(c("deferred", None, None, None), Some(Category::None));
        assert_eq!(c("spamreport", None, None, None), Some(Category::Complaint));
        for other in [
            "processed",
            "delivered",
            "open",
            "click",
            "unsubscribe",
            "group_unsubscribe",
        ] {
            assert_eq!(c(other, None, None, None), None, "{other}");
        }
    }

    #[test]
    fn the_signature_covers_timestamp_and_body() {
        use p256::ecdsa::signature::Signer as _;
        let signing = p256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap();
        let sign = |text: &[u8]| {
            let s: Signature = signing.sign(text);
            base64::engine::general_purpose::STANDARD.encode(s.to_der().as_bytes())
        };
        let key = *signing.verifying_key();
        let good = sign(b"1700000000[]");
        assert!(verify(&key, "1700000000", &good, b"[]"));
        assert!(!verify(&key, "1700000001", &good, b"[]"));
        assert!(!verify(&key, "1700000000", &good, b"[ ]"));
        assert!(!verify(&key, "1700000000", "bm90IGEgc2lnbmF0dXJl", b"[]"));
        assert!(!verify(&key, "1700000000", "%%%", b"[]"));
    }
}
