//! Amazon SES through SNS: the HTTPS subscription of an SNS topic that SES
//! publishes bounce and complaint notifications (or event-publishing
//! events) to. A call is genuine when its topic is in
//! `webhooks.ses_topic_arns` and its SNS signature (SignatureVersion 1,
//! SHA1withRSA, or 2, SHA256withRSA, over the canonical string AWS
//! documents for each message type) verifies with the certificate at
//! `SigningCertURL`, which is fetched only from
//! `https://sns.<region>.amazonaws.com(.cn)/…pem` and cached by URL. A
//! SubscriptionConfirmation is confirmed by GETting its `SubscribeURL`
//! (same host rule). The topic's "raw message delivery" must be off: a
//! raw message carries no signature, so it is refused.
//!
//! [`Aws`] is the only way out to AWS, and the seam tests use: AWS is an
//! external service, not a component of Herald's. The mapping from SES's
//! JSON to [`Report`]s ([`reports`], [`bounce_says`], [`complaint_says`])
//! is pure.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use aws_lc_rs::signature::{
    ParsedPublicKey, RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY, RSA_PKCS1_2048_8192_SHA256,
    UnparsedPublicKey,
};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use serde::Deserialize;
use url::Url;
use x509_cert::Certificate;
use x509_cert::der::{DecodePem as _, Encode as _};

use super::{Received, Refusal, Says, finding, message_id, report};
use crate::bounce::Report;
use crate::domain::{Category, ReportType};

/// Certificates kept; SNS uses one per region at a time, so a full cache
/// means something odd and is simply emptied.
const MAX_CERTIFICATES: usize = 32;

/// Largest certificate or confirmation answer read from AWS.
const MAX_AWS_BODY: usize = 64 * 1024;

/// How Herald reaches AWS: one GET of a URL that has passed the SNS host
/// check, answering the body of a 2xx response. [`Aws::https`] in
/// production; tests give [`Aws::from_fn`] a function that serves a test
/// certificate and records the confirmation.
#[derive(Clone)]
pub struct Aws(Arc<dyn Fn(Url) -> BoxFuture<'static, anyhow::Result<Vec<u8>>> + Send + Sync>);

impl Aws {
    /// GETs over HTTPS with reqwest: 10-second timeout, no redirects (a
    /// redirect could leave the checked host), 64 KiB at most.
    pub fn https() -> anyhow::Result<Aws> {
        // reqwest is built without a bundled crypto provider; use ring, as
        // `feeds::fetch` does (an error means one is installed already).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .https_only(true)
            .build()
            .context("building the HTTP client for AWS")?;
        Ok(Aws::from_fn(move |url: Url| {
            let client = client.clone();
            async move {
                let mut response = client
                    .get(url.as_str())
                    .send()
                    .await
                    .with_context(|| format!("GET {}", url.host_str().unwrap_or("")))?
                    .error_for_status()
                    .with_context(|| format!("GET {}", url.host_str().unwrap_or("")))?;
                let mut body = Vec::new();
                while let Some(chunk) = response.chunk().await.context("reading AWS's answer")? {
                    anyhow::ensure!(
                        body.len() + chunk.len() <= MAX_AWS_BODY,
                        "AWS's answer is over {MAX_AWS_BODY} bytes"
                    );
                    body.extend_from_slice(&chunk);
                }
                Ok(body)
            }
        }))
    }

    pub fn from_fn<F, Fut>(get: F) -> Aws
    where
        F: Fn(Url) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<Vec<u8>>> + Send + 'static,
    {
        Aws(Arc::new(move |url| Box::pin(get(url))))
    }

    async fn get(&self, url: Url) -> anyhow::Result<Vec<u8>> {
        (self.0)(url).await
    }
}

/// The SES webhook's state: the topics, the way to AWS, the certificates.
pub(super) struct Ses {
    topics: Vec<String>,
    aws: Aws,
    certificates: Mutex<HashMap<String, Arc<SigningCert>>>,
}

/// What Herald keeps of an SNS signing certificate.
struct SigningCert {
    /// The SubjectPublicKeyInfo DER of its RSA key (of 2048 bits or more:
    /// checked when the certificate is read).
    key: Vec<u8>,
    not_before: i64,
    not_after: i64,
}

/// The SNS message as posted: the fields of all three types.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope {
    #[serde(rename = "Type")]
    kind: String,
    message_id: String,
    topic_arn: String,
    #[serde(default)]
    subject: Option<String>,
    message: String,
    timestamp: String,
    #[serde(default)]
    token: Option<String>,
    signature_version: String,
    signature: String,
    #[serde(rename = "SigningCertURL")]
    signing_cert_url: String,
    #[serde(rename = "SubscribeURL", default)]
    subscribe_url: Option<String>,
}

impl Ses {
    pub(super) fn new(topics: Vec<String>, aws: Aws) -> Ses {
        Ses {
            topics,
            aws,
            certificates: Mutex::new(HashMap::new()),
        }
    }

    pub(super) fn set_aws(&mut self, aws: Aws) {
        self.aws = aws;
    }

    pub(super) async fn receive(&self, body: &[u8], now: DateTime<Utc>) -> Result<Received, Refusal> {
        let envelope: Envelope = serde_json::from_slice(body)
            .map_err(|_| Refusal::Unauthorized("not a signed SNS message (is raw message delivery on?)"))?;
        if !self.topics.contains(&envelope.topic_arn) {
            return Err(Refusal::Unauthorized("SNS topic not in webhooks.ses_topic_arns"));
        }
        let cert_url = sns_url(&envelope.signing_cert_url)
            .filter(|u| u.path().ends_with(".pem"))
            .ok_or(Refusal::Unauthorized(
                "SigningCertURL is not an SNS certificate URL",
            ))?;
        let cert = self.certificate(cert_url).await?;
        let at = now.timestamp();
        if at < cert.not_before || at > cert.not_after {
            return Err(Refusal::Unauthorized("SNS signing certificate not valid now"));
        }
        verify(&envelope, &cert.key)?;
        match envelope.kind.as_str() {
            "Notification" => match reports(&envelope.message, &envelope.message_id) {
                Ok(reports) => Ok(Received::Reports(reports)),
                Err(_) => Err(Refusal::BadRequest("the SNS message is not an SES notification")),
            },
            "SubscriptionConfirmation" => {
                let url = envelope
                    .subscribe_url
                    .as_deref()
                    .and_then(sns_url)
                    .filter(|u| {
                        u.query_pairs()
                            .any(|(k, v)| k == "Action" && v == "ConfirmSubscription")
                    })
                    .ok_or(Refusal::BadRequest("SubscribeURL is not an SNS confirmation URL"))?;
                self.aws
                    .get(url)
                    .await
                    .context("confirming the SNS subscription")
                    .map_err(Refusal::Unavailable)?;
                tracing::info!(topic = %envelope.topic_arn, "SNS subscription confirmed");
                Ok(Received::Confirmed)
            }
            _ => {
                // UnsubscribeConfirmation: someone unsubscribed this endpoint;
                // nothing to do but say so.
                tracing::warn!(topic = %envelope.topic_arn, "SNS says this endpoint was unsubscribed");
                Ok(Received::Reports(Vec::new()))
            }
        }
    }

    /// The certificate at `url`, from the cache or from AWS.
    async fn certificate(&self, url: Url) -> Result<Arc<SigningCert>, Refusal> {
        let cached = self.lock().get(url.as_str()).cloned();
        if let Some(cert) = cached {
            return Ok(cert);
        }
        let pem = self
            .aws
            .get(url.clone())
            .await
            .context("fetching the SNS signing certificate")
            .map_err(Refusal::Unavailable)?;
        let cert = Arc::new(
            signing_cert(&pem).ok_or(Refusal::Unauthorized("SigningCertURL holds no RSA certificate"))?,
        );
        let mut certificates = self.lock();
        if certificates.len() >= MAX_CERTIFICATES {
            certificates.clear();
        }
        certificates.insert(url.to_string(), cert.clone());
        Ok(cert)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<SigningCert>>> {
        // A panic while holding the lock leaves a usable map.
        self.certificates.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `url` if it is `https://sns.<region>.amazonaws.com[.cn]/…` with no user,
/// password or port: the only host SNS signs from and confirms at.
fn sns_url(raw: &str) -> Option<Url> {
    let url = Url::parse(raw).ok()?;
    let host = url.host_str()?;
    let region = host
        .strip_prefix("sns.")?
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_prefix("sns.")?.strip_suffix(".amazonaws.com.cn"))?;
    let region_ok = region.contains('-')
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (url.scheme() == "https"
        && region_ok
        && url.username().is_empty()
        && url.password().is_none()
        && url.port().is_none())
    .then_some(url)
}

/// The RSA key and validity of a PEM (or DER) certificate; `None` for
/// anything else, or an RSA key under 2048 bits.
fn signing_cert(bytes: &[u8]) -> Option<SigningCert> {
    use x509_cert::der::Decode as _;
    let cert = Certificate::from_pem(bytes)
        .or_else(|_| Certificate::from_der(bytes))
        .ok()?;
    let tbs = &cert.tbs_certificate;
    let spki = tbs.subject_public_key_info.to_der().ok()?;
    let validity = &tbs.validity;
    ParsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &spki).ok()?;
    Some(SigningCert {
        key: spki,
        not_before: validity.not_before.to_unix_duration().as_secs() as i64,
        not_after: validity.not_after.to_unix_duration().as_secs() as i64,
    })
}

/// The string SNS signs: `Key\nvalue\n` for the type's fields, in this
/// order, Subject only when the notification has one.
fn canonical(e: &Envelope) -> Option<String> {
    let mut fields: Vec<(&str, &str)> = vec![("Message", &e.message), ("MessageId", &e.message_id)];
    match e.kind.as_str() {
        "Notification" => {
            if let Some(subject) = &e.subject {
                fields.push(("Subject", subject));
            }
            fields.extend([("Timestamp", e.timestamp.as_str()), ("TopicArn", &e.topic_arn)]);
        }
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            fields.extend([
                ("SubscribeURL", e.subscribe_url.as_deref()?),
                ("Timestamp", &e.timestamp),
                ("Token", e.token.as_deref()?),
                ("TopicArn", &e.topic_arn),
            ]);
        }
        _ => return None,
    }
    fields.push(("Type", &e.kind));
    Some(fields.iter().map(|(k, v)| format!("{k}\n{v}\n")).collect())
}

/// SignatureVersion 1 is SHA1withRSA, 2 SHA256withRSA (PKCS#1 v1.5), both
/// verified by aws-lc-rs with the certificate's public key.
fn verify(e: &Envelope, key: &[u8]) -> Result<(), Refusal> {
    let bad = Refusal::Unauthorized("bad SNS signature");
    let text = canonical(e).ok_or(Refusal::Unauthorized("unknown SNS message type"))?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(e.signature.trim())
        .map_err(|_| Refusal::Unauthorized("bad SNS signature"))?;
    let algorithm = match e.signature_version.as_str() {
        "1" => &RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        "2" => &RSA_PKCS1_2048_8192_SHA256,
        _ => return Err(Refusal::Unauthorized("unknown SNS SignatureVersion")),
    };
    UnparsedPublicKey::new(algorithm, key)
        .verify(text.as_bytes(), &signature)
        .map_err(|_| bad)
}

/// An SES notification (`notificationType`) or event (`eventType`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    #[serde(default)]
    notification_type: Option<String>,
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    bounce: Option<Bounce>,
    #[serde(default)]
    complaint: Option<Complaint>,
    #[serde(default)]
    mail: Option<Mail>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Bounce {
    bounce_type: String,
    #[serde(default)]
    bounce_sub_type: Option<String>,
    #[serde(default)]
    bounced_recipients: Vec<BouncedRecipient>,
    #[serde(default)]
    feedback_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BouncedRecipient {
    email_address: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    diagnostic_code: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Complaint {
    #[serde(default)]
    complained_recipients: Vec<ComplainedRecipient>,
    #[serde(default)]
    complaint_feedback_type: Option<String>,
    #[serde(default)]
    feedback_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ComplainedRecipient {
    email_address: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    /// The envelope sender (MAIL FROM) of the original.
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    headers: Vec<Header>,
    #[serde(default)]
    common_headers: Option<CommonHeaders>,
}

#[derive(Debug, Deserialize)]
struct Header {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommonHeaders {
    #[serde(default)]
    message_id: Option<String>,
}

/// The reports in an SES notification (the SNS `Message`): one per bounce
/// or complaint, naming each recipient; none for deliveries and other
/// events. `sns_message_id` is the id when SES gives no feedback id.
pub fn reports(message: &str, sns_message_id: &str) -> Result<Vec<Report>, serde_json::Error> {
    let n: Notification = serde_json::from_str(message)?;
    let kind = n.notification_type.or(n.event_type).unwrap_or_default();
    let mail = n.mail.unwrap_or_default();
    let mut return_paths: Vec<String> = mail.source.iter().cloned().collect();
    let mut message_ids: Vec<String> = mail
        .common_headers
        .and_then(|h| h.message_id)
        .as_deref()
        .and_then(message_id)
        .into_iter()
        .collect();
    for h in &mail.headers {
        let target = match h.name.to_ascii_lowercase().as_str() {
            "message-id" => message_id(&h.value).map(|id| (&mut message_ids, id)),
            "return-path" => super::address(&h.value).map(|a| (&mut return_paths, a)),
            _ => None,
        };
        if let Some((list, value)) = target
            && !list.contains(&value)
        {
            list.push(value);
        }
    }
    let id =
        |feedback: Option<String>| Some(format!("ses:{}", feedback.as_deref().unwrap_or(sns_message_id)));
    let report = match (kind.as_str(), n.bounce, n.complaint) {
        ("Bounce", Some(b), _) => {
            let says = bounce_says(&b.bounce_type, b.bounce_sub_type.as_deref().unwrap_or(""));
            let findings = b
                .bounced_recipients
                .iter()
                .map(|r| {
                    finding(
                        &r.email_address,
                        says,
                        None,
                        r.status.as_deref(),
                        r.diagnostic_code.as_deref(),
                    )
                })
                .collect();
            report(
                ReportType::Bounce,
                id(b.feedback_id),
                return_paths,
                message_ids,
                findings,
            )
        }
        ("Complaint", _, Some(c)) => {
            let says = complaint_says(c.complaint_feedback_type.as_deref());
            let findings = c
                .complained_recipients
                .iter()
                .map(|r| finding(&r.email_address, says, None, None, None))
                .collect();
            report(
                ReportType::Complaint,
                id(c.feedback_id),
                return_paths,
                message_ids,
                findings,
            )
        }
        _ => None,
    };
    Ok(report.into_iter().collect())
}

/// SES's `bounceType` and `bounceSubType`.
pub fn bounce_says(bounce_type: &str, sub_type: &str) -> Says {
    match (bounce_type, sub_type) {
        (_, "NoEmail") => Says::Is(Category::Hard, "mailbox does not exist (SES NoEmail)"),
        (_, "Suppressed") => Says::Is(Category::Hard, "on the SES suppression list"),
        (_, "OnAccountSuppressionList") => Says::Is(Category::Hard, "on the account's SES suppression list"),
        (_, "MailboxFull") => Says::Is(Category::Soft, "mailbox full (SES MailboxFull)"),
        (_, "MessageTooLarge") => Says::Is(Category::Policy, "message too large (SES MessageTooLarge)"),
        (_, "ContentRejected") => Says::Is(Category::Policy, "content rejected (SES ContentRejected)"),
        (_, "AttachmentRejected") => {
            Says::Is(Category::Policy, "attachment rejected (SES AttachmentRejected)")
        }
        ("Permanent", _) => Says::Likely(Category::Hard, "permanent bounce (SES)"),
        ("Transient", _) => Says::Likely(Category::Soft, "transient bounce (SES)"),
        _ => Says::Likely(Category::Soft, "undetermined bounce (SES)"),
    }
}

/// SES's `complaintFeedbackType` (the ARF Feedback-Type, when the mailbox
/// provider sent one).
pub fn complaint_says(feedback_type: Option<&str>) -> Says {
    match feedback_type {
        Some("not-spam") => Says::Is(Category::None, "marked as not spam"),
        Some("virus") => Says::Is(Category::Complaint, "complaint: virus"),
        Some("fraud") => Says::Is(Category::Complaint, "complaint: fraud"),
        Some("auth-failure") => Says::Is(Category::Complaint, "complaint: authentication failure"),
        _ => Says::Is(Category::Complaint, "spam complaint"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOUNCE: &str = r#"{
      "notificationType": "Bounce",
      "bounce": {
        "bounceType": "Permanent", "bounceSubType": "NoEmail",
        "bouncedRecipients": [
          {"emailAddress": "Ana@Example.com", "action": "failed", "status": "5.1.1",
           "diagnosticCode": "smtp; 550 5.1.1 <ana@example.com>: Recipient address rejected: User unknown"},
          {"emailAddress": "bo@example.com", "action": "failed", "status": "5.1.1",
           "diagnosticCode": "smtp; 550 5.1.1 user unknown"}
        ],
        "timestamp": "2026-01-27T14:59:38.237Z",
        "feedbackId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000",
        "remoteMtaIp": "127.0.2.0",
        "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com"
      },
      "mail": {
        "timestamp": "2026-01-27T14:59:38.000Z",
        "source": "bounces+42-0123456789abcdef@bounces.example.com",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
        "sourceIp": "203.0.113.1",
        "sendingAccountId": "123456789012",
        "messageId": "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
        "destination": ["ana@example.com", "bo@example.com"],
        "headersTruncated": false,
        "headers": [
          {"name": "From", "value": "Example News <digest@example.com>"},
          {"name": "Message-ID", "value": "<daily-2026-01-27.abc@example.com>"}
        ],
        "commonHeaders": {
          "from": ["Example News <digest@example.com>"], "to": ["ana@example.com"],
          "messageId": "<daily-2026-01-27.abc@example.com>", "subject": "Your digest"
        }
      }
    }"#;

    #[test]
    fn a_bounce_names_each_recipient_and_the_original() {
        let r = reports(BOUNCE, "sns-id").unwrap();
        assert_eq!(r.len(), 1);
        let r = &r[0];
        assert_eq!(r.kind, ReportType::Bounce);
        assert_eq!(
            r.id.as_deref(),
            Some("ses:00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa068a-000000")
        );
        assert_eq!(
            r.return_paths,
            ["bounces+42-0123456789abcdef@bounces.example.com"]
        );
        assert_eq!(r.message_ids, ["<daily-2026-01-27.abc@example.com>"]);
        let who: Vec<_> = r
            .findings
            .iter()
            .map(|f| f.recipient.as_deref().unwrap())
            .collect();
        assert_eq!(who, ["ana@example.com", "bo@example.com"]);
        let f = &r.findings[0];
        assert_eq!((f.category, f.status.as_deref()), (Category::Hard, Some("5.1.1")));
        assert!(f.diagnostic.as_deref().unwrap().starts_with("smtp; 550 5.1.1"));
    }

    #[test]
    fn a_complaint_and_an_event_publishing_complaint() {
        let notification = r#"{"notificationType":"Complaint",
          "complaint":{"userAgent":"Yahoo!-Mail-Feedback/2.0","complainedRecipients":[{"emailAddress":"ana@example.com"}],
            "complaintFeedbackType":"abuse","arrivalDate":"2026-01-27T15:00:00.000Z",
            "timestamp":"2026-01-27T15:00:01.000Z","feedbackId":"fb-1"},
          "mail":{"source":"digest@example.com","messageId":"ses-1","destination":["ana@example.com"]}}"#;
        let r = reports(notification, "sns-id").unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(
            (r[0].kind, r[0].id.as_deref()),
            (ReportType::Complaint, Some("ses:fb-1"))
        );
        assert_eq!(r[0].findings[0].category, Category::Complaint);
        assert!(r[0].message_ids.is_empty());
        // Event publishing says eventType, and may have no feedback id.
        let event = r#"{"eventType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"bo@example.com"}]},"mail":{}}"#;
        let r = reports(event, "sns-2").unwrap();
        assert_eq!(r[0].id.as_deref(), Some("ses:sns-2"));
        assert_eq!(r[0].findings[0].recipient.as_deref(), Some("bo@example.com"));
    }

    #[test]
    fn deliveries_are_not_reports() {
        let delivery = r#"{"notificationType":"Delivery","mail":{"source":"a@b.c"},"delivery":{"recipients":["ana@example.com"]}}"#;
        assert!(reports(delivery, "x").unwrap().is_empty());
        assert!(reports("Hello from the SNS console", "x").is_err());
    }

    #[test]
    fn bounce_types_map_to_categories() {
        let table = [
            ("Permanent", "General", Category::Hard),
            ("Permanent", "NoEmail", Category::Hard),
            ("Permanent", "Suppressed", Category::Hard),
            ("Permanent", "OnAccountSuppressionList", Category::Hard),
            ("Transient", "General", Category::Soft),
            ("Transient", "MailboxFull", Category::Soft),
            ("Transient", "MessageTooLarge", Category::Policy),
            ("Transient", "ContentRejected", Category::Policy),
            ("Transient", "AttachmentRejected", Category::Policy),
            ("Undetermined", "Undetermined", Category::Soft),
        ];
        for (t, s, want) in table {
            assert_eq!(bounce_says(t, s).category(), want, "{t}/{s}");
        }
        assert!(matches!(bounce_says("Permanent", "General"), Says::Likely(..)));
        assert!(matches!(bounce_says("Permanent", "NoEmail"), Says::Is(..)));
        assert_eq!(complaint_says(Some("abuse")).category(), Category::Complaint);
        assert_eq!(complaint_says(None).category(), Category::Complaint);
        assert_eq!(complaint_says(Some("not-spam")).category(), Category::None);
    }

    #[test]
    fn only_sns_hosts_over_https() {
        for good in [
            "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123.pem",
            "https://sns.cn-north-1.amazonaws.com.cn/SimpleNotificationService-0123.pem",
        ] {
            assert!(sns_url(good).is_some(), "{good}");
        }
        for bad in [
            "http://sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com.evil.example/x.pem",
            "https://evil.example/sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.evil.amazonaws.com/x.pem",
            "https://s3.us-east-1.amazonaws.com/x.pem",
            "https://sns.us-east-1.amazonaws.com:8443/x.pem",
            "https://user@sns.us-east-1.amazonaws.com/x.pem",
            "https://sns.us_east-1.amazonaws.com/x.pem",
            "not a url",
        ] {
            assert!(sns_url(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_canonical_strings() {
        let mut e = Envelope {
            kind: "Notification".into(),
            message_id: "m".into(),
            topic_arn: "t".into(),
            subject: None,
            message: "hello".into(),
            timestamp: "ts".into(),
            token: None,
            signature_version: "1".into(),
            signature: String::new(),
            signing_cert_url: String::new(),
            subscribe_url: None,
        };
        assert_eq!(
            canonical(&e).unwrap(),
            "Message\nhello\nMessageId\nm\nTimestamp\nts\nTopicArn\nt\nType\nNotification\n"
        );
        e.subject = Some("s".into());
        assert!(
            canonical(&e)
                .unwrap()
                .contains("MessageId\nm\nSubject\ns\nTimestamp")
        );
        e.kind = "SubscriptionConfirmation".into();
        assert_eq!(canonical(&e), None, "a confirmation without its URL and token");
        e.subscribe_url = Some("u".into());
        e.token = Some("k".into());
        assert_eq!(
            canonical(&e).unwrap(),
            "Message\nhello\nMessageId\nm\nSubscribeURL\nu\nTimestamp\nts\nToken\nk\nTopicArn\nt\nType\nSubscriptionConfirmation\n"
        );
        e.kind = "Other".into();
        assert_eq!(canonical(&e), None);
    }
}
