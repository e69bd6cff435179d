//! Postmark's bounce and spam-complaint webhooks: one JSON record per call
//! (`RecordType` `Bounce` or `SpamComplaint`), authenticated by the HTTP
//! basic-auth user and password the operator puts in the webhook's URL
//! (Postmark signs nothing). Both sides are hashed with SHA-256 and
//! compared in constant time, as `api` does for its token. When the record
//! carries the bounce message itself (`Content`, with "include bounce
//! content" on), the return path and Message-ID it quotes are read with
//! [`crate::bounce::parse`]. The mapping to a [`Report`] ([`report_of`],
//! [`says`]) is pure.

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use secrecy::{ExposeSecret as _, SecretString};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::{Received, Refusal, Says, finding, report};
use crate::bounce::Report;
use crate::domain::{Category, ReportType};

pub(super) struct Postmark {
    /// SHA-256 of `user:password`.
    expected: [u8; 32],
}

impl Postmark {
    pub(super) fn new(user: &str, password: &SecretString) -> Postmark {
        Postmark {
            expected: Sha256::digest(format!("{user}:{}", password.expose_secret())).into(),
        }
    }

    pub(super) fn receive(&self, headers: &HeaderMap, body: &[u8]) -> Result<Received, Refusal> {
        if !self.authorized(headers) {
            return Err(Refusal::Unauthorized("missing or wrong Postmark credentials"));
        }
        let record: Record =
            serde_json::from_slice(body).map_err(|_| Refusal::BadRequest("not a Postmark webhook record"))?;
        Ok(Received::Reports(report_of(record).into_iter().collect()))
    }

    /// Whether the request carries `Authorization: Basic` with the
    /// configured user and password.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(credentials) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .and_then(|(_, b64)| base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok())
        else {
            return false;
        };
        Sha256::digest(&credentials)
            .as_slice()
            .ct_eq(&self.expected)
            .into()
    }
}

/// The parts of a record Herald reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Record {
    #[serde(default)]
    record_type: String,
    /// Postmark's id of the bounce record (a number).
    #[serde(rename = "ID", default)]
    id: Option<serde_json::Value>,
    /// The bounce type's name, e.g. `HardBounce`.
    #[serde(rename = "Type", default)]
    kind: Option<String>,
    #[serde(default)]
    email: String,
    /// The remote server's words, e.g. `smtp;550 5.1.1 …`.
    #[serde(default)]
    details: Option<String>,
    /// The bounce message, when Postmark was asked to include it.
    #[serde(default)]
    content: Option<String>,
}

/// The report in one record; none for deliveries, opens, clicks and
/// subscription changes.
pub fn report_of(r: Record) -> Option<Report> {
    let says = says(&r.record_type, r.kind.as_deref().unwrap_or(""))?;
    let kind = match says.category() {
        Category::Complaint => ReportType::Complaint,
        _ => ReportType::Bounce,
    };
    let id = r.id.map(|id| match id {
        serde_json::Value::String(s) => format!("postmark:{s}"),
        other => format!("postmark:{other}"),
    });
    // Postmark's MessageID is its own id, not the Message-ID header; the
    // original's headers are only in the bounce message, when included.
    let quoted = r
        .content
        .as_deref()
        .filter(|c| !c.trim().is_empty())
        .map(|c| crate::bounce::parse(c.as_bytes()));
    let (return_paths, message_ids) =
        quoted.map_or_else(Default::default, |q| (q.return_paths, q.message_ids));
    report(
        kind,
        id,
        return_paths,
        message_ids,
        vec![finding(&r.email, says, None, None, r.details.as_deref())],
    )
}

/// Postmark's `RecordType` and bounce `Type` (its bounce type names); none
/// for records that are not reports.
pub fn says(record_type: &str, kind: &str) -> Option<Says> {
    Some(match (record_type, kind) {
        ("SpamComplaint", _) | ("Bounce", "SpamComplaint") => {
            Says::Is(Category::Complaint, "spam complaint (Postmark)")
        }
        // A reply asking to be removed: honoured as a complaint is (the
        // only category that unsubscribes).
        ("Bounce", "Unsubscribe") => Says::Is(Category::Complaint, "unsubscribe request (Postmark)"),
        ("Bounce", kind) => match kind {
            "HardBounce" => Says::Likely(Category::Hard, "hard bounce (Postmark)"),
            "BadEmailAddress" => Says::Is(Category::Hard, "invalid address (Postmark)"),
            "SoftBounce" => Says::Likely(Category::Soft, "soft bounce (Postmark)"),
            "DnsError" => Says::Likely(Category::Soft, "DNS error (Postmark)"),
            // A delay notice: Postmark retries and reports a bounce if it
            // gives up.
            "Transient" => Says::Is(Category::None, "delayed; Postmark retries"),
            "Blocked" => Says::Likely(Category::Policy, "blocked (Postmark)"),
            "SpamNotification" => Says::Is(Category::Policy, "rejected as spam (Postmark)"),
            "VirusNotification" => Says::Is(Category::Policy, "rejected as a virus (Postmark)"),
            "DMARCPolicy" => Says::Is(Category::Policy, "DMARC policy (Postmark)"),
            "SMTPApiError" => Says::Is(Category::Policy, "SMTP API error (Postmark)"),
            "TemplateRenderingFailed" => Says::Is(Category::Policy, "template rendering failed (Postmark)"),
            "AutoResponder" => Says::Is(Category::None, "auto-reply (Postmark)"),
            "AddressChange" => Says::Is(Category::None, "address change notice (Postmark)"),
            "Subscribe" => Says::Is(Category::None, "subscribe request (Postmark)"),
            "ChallengeVerification" => Says::Is(Category::None, "challenge verification (Postmark)"),
            "OpenRelayTest" => Says::Is(Category::None, "open relay test (Postmark)"),
            "ManuallyDeactivated" => Says::Is(Category::None, "deactivated by hand in Postmark"),
            "Unconfirmed" => Says::Is(Category::None, "unconfirmed (Postmark)"),
            "InboundError" => Says::Is(Category::None, "inbound error (Postmark)"),
            _ => Says::Likely(Category::Soft, "bounce of unknown type (Postmark)"),
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of Postmark's documented bounce webhook example.
    const BOUNCE: &str = r#"{
      "RecordType": "Bounce", "MessageStream": "outbound", "ID": 4323372036854775807,
      "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce", "Tag": "digest",
      "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Metadata": {}, "ServerID": 23,
      "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
      "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
      "Email": "Ana@Example.com", "From": "digest@example.com",
      "BouncedAt": "2026-01-27T16:33:54.9070259Z", "DumpAvailable": true, "Inactive": true,
      "CanActivate": true, "Subject": "Your digest"
    }"#;

    #[test]
    fn a_hard_bounce() {
        let r = report_of(serde_json::from_str(BOUNCE).unwrap()).unwrap();
        assert_eq!(
            (r.kind, r.id.as_deref()),
            (ReportType::Bounce, Some("postmark:4323372036854775807"))
        );
        assert!(r.message_ids.is_empty(), "Postmark's MessageID is not the header");
        let f = &r.findings[0];
        assert_eq!(f.recipient.as_deref(), Some("ana@example.com"));
        assert_eq!(f.category, Category::Hard);
        assert!(f.diagnostic.as_deref().unwrap().starts_with("smtp;550 5.1.1"));
    }

    #[test]
    fn a_spam_complaint_and_records_that_are_not_reports() {
        let complaint = r#"{"RecordType":"SpamComplaint","MessageStream":"outbound","ID":42,"Type":"SpamComplaint",
          "TypeCode":512,"Name":"Spam complaint","Tag":"","MessageID":"00000000-0000-0000-0000-000000000000",
          "ServerID":1234,"Description":"","Details":"Test spam complaint details","Email":"bo@example.com",
          "From":"digest@example.com","BouncedAt":"2026-01-27T16:33:54Z","DumpAvailable":true,"Inactive":true,
          "CanActivate":false,"Subject":"Your digest","Content":""}"#;
        let r = report_of(serde_json::from_str(complaint).unwrap()).unwrap();
        assert_eq!(
            (r.kind, r.findings[0].category),
            (ReportType::Complaint, Category::Complaint)
        );
        for other in ["Delivery", "Open", "Click", "SubscriptionChange"] {
            let json = format!(r#"{{"RecordType":"{other}","Email":"bo@example.com"}}"#);
            assert!(
                report_of(serde_json::from_str(&json).unwrap()).is_none(),
                "{other}"
            );
        }
    }

    #[test]
    fn bounce_types_map_to_categories() {
        let table = [
            ("HardBounce", Category::Hard),
            ("BadEmailAddress", Category::Hard),
            ("SoftBounce", Category::Soft),
            ("DnsError", Category::Soft),
            ("Transient", Category::None),
            ("Blocked", Category::Policy),
            ("SpamNotification", Category::Policy),
            ("DMARCPolicy", Category::Policy),
            ("AutoResponder", Category::None),
            ("SpamComplaint", Category::Complaint),
            ("Unsubscribe", Category::Complaint),
            ("SomethingNew", Category::Soft),
        ];
        for (kind, want) in table {
            assert_eq!(says("Bounce", kind).map(Says::category), Some(want), "{kind}");
        }
        assert_eq!(
            says("SpamComplaint", "SpamComplaint").map(Says::category),
            Some(Category::Complaint)
        );
        assert_eq!(says("Delivery", ""), None);
    }

    #[test]
    fn basic_auth() {
        let p = Postmark::new("postmark", &SecretString::from("0123456789abcdef"));
        let with = |value: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, value.parse().unwrap());
            h
        };
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        assert!(p.authorized(&with(&format!("Basic {}", b64("postmark:0123456789abcdef")))));
        assert!(p.authorized(&with(&format!("basic {}", b64("postmark:0123456789abcdef")))));
        assert!(!p.authorized(&with(&format!("Basic {}", b64("postmark:0123456789abcdeF")))));
        assert!(!p.authorized(&with(&format!("Basic {}", b64("other:0123456789abcdef")))));
        assert!(!p.authorized(&with(&format!("Bearer {}", b64("postmark:0123456789abcdef")))));
        assert!(!p.authorized(&HeaderMap::new()));
    }
}
