//! `POST /webhooks/{provider}` through `app(state).oneshot(…)`, with each
//! provider's documented payload shapes signed by keys made in the test:
//! an RSA key and a self-signed certificate for SNS (served at the
//! certificate URL by the test's stand-in for AWS, the one external
//! boundary the handler reaches), a P-256 key for SendGrid, an HMAC key for
//! Mailgun, basic-auth credentials for Postmark. Good calls answer 200 and
//! count the reports handed to the intake; forged, stale, replayed,
//! oversize and unconfigured calls are refused and leave the subscriber
//! alone.

use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use herald::bounce::intake::Intake;
use herald::domain::{SubscriberEmail, SubscriberStatus};
use herald::http::{AppState, Aws, Webhooks, app};
use herald::metrics::Metrics;
use herald::store::{AddOutcome, Store};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::{Settings, TestEnv};

const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:herald-bounces";
const CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem";
const EXPIRED_CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-expired.pem";
const SUBSCRIBE_URL: &str = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=arn:aws:sns:us-east-1:123456789012:herald-bounces&Token=2336412f37";
const MAILGUN_KEY: &str = "key-0123456789abcdef0123456789abcdef";
const POSTMARK_PASSWORD: &str = "correct horse battery staple";

/// The router over a store holding ana@example.com, with the webhooks of
/// `settings` and the test's AWS.
struct Hooks {
    _env: TestEnv,
    store: Store,
    state: AppState,
    /// Every URL the handler asked AWS for.
    aws_calls: Arc<Mutex<Vec<String>>>,
}

impl Hooks {
    /// Through the intake to the store: `source`'s events were recorded in
    /// this order of categories, and the complaint unsubscribed ana.
    async fn recorded(&self, source: &str, categories: &[&str]) {
        let mut events = self
            .store
            .list_bounce_events(None, None, None, 100)
            .await
            .unwrap();
        events.reverse();
        let got: Vec<&str> = events
            .iter()
            .filter(|e| e.source == source)
            .map(|e| e.category.as_str())
            .collect();
        assert_eq!(got, categories, "{events:?}");
        assert!(
            events
                .iter()
                .all(|e| e.email.as_deref() == Some("ana@example.com")),
            "{events:?}"
        );
        assert_eq!(self.ana().await, SubscriberStatus::Unsubscribed);
    }

    async fn new(settings: Settings) -> Hooks {
        let env = TestEnv::sqlite();
        let config = env.config(&settings);
        let store = Store::open(&config.database).await.unwrap();
        let ana = herald::testing::subscriber("ana@example.com").new_subscriber();
        assert!(matches!(
            store.insert_subscriber(&ana).await.unwrap(),
            AddOutcome::Added(_)
        ));
        let metrics = Arc::new(Metrics::new());
        let aws_calls = Arc::new(Mutex::new(Vec::new()));
        let calls = aws_calls.clone();
        // AWS as the handler sees it: the test certificate at CERT_URL, an
        // XML answer at any confirmation URL, 404 elsewhere.
        let aws = Aws::from_fn(move |url: url::Url| {
            calls.lock().unwrap().push(url.to_string());
            let answer = if url.as_str() == CERT_URL {
                Ok(sns_key().cert_pem.clone().into_bytes())
            } else if url.as_str() == EXPIRED_CERT_URL {
                Ok(sns_key().expired_cert_pem.clone().into_bytes())
            } else if url
                .query()
                .is_some_and(|q| q.contains("Action=ConfirmSubscription"))
            {
                Ok(b"<ConfirmSubscriptionResponse/>".to_vec())
            } else {
                Err(anyhow::anyhow!("HTTP 404"))
            };
            async move { answer }
        });
        let intake = Intake::open(&config, store.clone(), metrics.clone())
            .await
            .unwrap();
        let webhooks = Webhooks::new(&config.webhooks, intake).unwrap().with_aws(aws);
        let state = AppState::new(store.clone(), metrics, &config)
            .unwrap()
            .with_webhooks(webhooks);
        Hooks {
            _env: env,
            store,
            state,
            aws_calls,
        }
    }

    async fn post(
        &self,
        provider: &str,
        headers: &[(&str, String)],
        body: impl Into<Vec<u8>>,
    ) -> (StatusCode, HeaderMap, Value) {
        let mut request = Request::post(format!("/webhooks/{provider}"));
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request.body(Body::from(body.into())).unwrap();
        let response = app(self.state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let body = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        (status, headers, body)
    }

    async fn ana(&self) -> SubscriberStatus {
        let email = SubscriberEmail::parse("ana@example.com").unwrap();
        self.store.find_subscriber(&email).await.unwrap().unwrap().status
    }

    fn aws_calls(&self) -> Vec<String> {
        self.aws_calls.lock().unwrap().clone()
    }
}

/// The reports a 200 answer says were handed to the intake.
fn reports(answer: &Value) -> u64 {
    answer["reports"]
        .as_u64()
        .unwrap_or_else(|| panic!("no report count in {answer}"))
}

fn all_on() -> Settings {
    Settings::default()
        .set("HERALD_WEBHOOKS__SES_TOPIC_ARNS", format!("[\"{TOPIC}\"]"))
        .set("HERALD_WEBHOOKS__SENDGRID_PUBLIC_KEY", sendgrid_public_key())
        .set("HERALD_WEBHOOKS__MAILGUN_SIGNING_KEY", MAILGUN_KEY)
        .set("HERALD_WEBHOOKS__POSTMARK_USER", "postmark")
        .set("HERALD_WEBHOOKS__POSTMARK_PASSWORD", POSTMARK_PASSWORD)
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

// ---- Amazon SES through SNS ----

/// The test's SNS signing key and its self-signed certificate.
struct SnsKey {
    key: rsa::RsaPrivateKey,
    cert_pem: String,
    /// The same key in a certificate that expired in 2020.
    expired_cert_pem: String,
}

/// rcgen's view of the RSA key: it signs the certificate with it.
struct RcgenRsa {
    key: rsa::RsaPrivateKey,
    public_der: Vec<u8>,
}

impl rcgen::PublicKeyData for RcgenRsa {
    fn der_bytes(&self) -> &[u8] {
        &self.public_der
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

impl rcgen::SigningKey for RcgenRsa {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        use rsa::signature::{SignatureEncoding as _, Signer as _};
        let signer = rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(self.key.clone());
        Ok(signer.sign(msg).to_vec())
    }
}

/// One key per test run: RSA key generation is slow in a debug build.
fn sns_key() -> &'static SnsKey {
    static KEY: OnceLock<SnsKey> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPublicKey as _;
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let signer = RcgenRsa {
            public_der: key.to_public_key().to_pkcs1_der().unwrap().as_bytes().to_vec(),
            key: key.clone(),
        };
        let cert = |not_after: Option<(i32, u8, u8)>| {
            let mut params = rcgen::CertificateParams::new(vec!["sns.amazonaws.com".to_owned()]).unwrap();
            params.serial_number = Some(rcgen::SerialNumber::from(rand::random::<u64>()));
            if let Some((y, m, d)) = not_after {
                params.not_before = rcgen::date_time_ymd(2019, 1, 1);
                params.not_after = rcgen::date_time_ymd(y, m, d);
            }
            params.self_signed(&signer).unwrap().pem()
        };
        SnsKey {
            cert_pem: cert(None),
            expired_cert_pem: cert(Some((2020, 1, 1))),
            key,
        }
    })
}

/// An SNS message of `kind` carrying `message`, signed as SNS signs
/// (SignatureVersion `version`: 1 is SHA1withRSA, 2 SHA256withRSA) over
/// the canonical string AWS documents.
fn sns(kind: &str, message: &str, version: u8) -> Value {
    let mut m = json!({
        "Type": kind,
        "MessageId": format!("{kind}-{}", rand::random::<u64>()),
        "TopicArn": TOPIC,
        "Message": message,
        "Timestamp": "2026-01-27T15:00:02.000Z",
        "SignatureVersion": version.to_string(),
        "SigningCertURL": CERT_URL,
    });
    if kind == "Notification" {
        m["UnsubscribeURL"] =
            json!("https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x");
    } else {
        m["Token"] = json!("2336412f37");
        m["SubscribeURL"] = json!(SUBSCRIBE_URL);
    }
    sign_sns(&mut m);
    m
}

fn sign_sns(m: &mut Value) {
    use rsa::signature::{SignatureEncoding as _, Signer as _};
    let fields: &[&str] = if m["Type"] == "Notification" {
        &["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    let canonical: String = fields
        .iter()
        .filter_map(|f| m[*f].as_str().map(|v| format!("{f}\n{v}\n")))
        .collect();
    let key = sns_key().key.clone();
    let signature = match m["SignatureVersion"].as_str().unwrap() {
        "1" => rsa::pkcs1v15::SigningKey::<sha1::Sha1>::new(key)
            .sign(canonical.as_bytes())
            .to_vec(),
        _ => rsa::pkcs1v15::SigningKey::<rsa::sha2::Sha256>::new(key)
            .sign(canonical.as_bytes())
            .to_vec(),
    };
    m["Signature"] = json!(B64.encode(signature));
}

/// SES's bounce notification, as the SES developer guide shows it.
fn ses_bounce() -> String {
    json!({
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{
                "emailAddress": "ana@example.com",
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown"
            }],
            "timestamp": "2026-01-27T14:59:38.237Z",
            "feedbackId": "00000137860315fd-869464a4-8680-4114-98d3-716fe35851f9-000000",
            "remoteMtaIp": "127.0.2.0",
            "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com"
        },
        "mail": {
            "timestamp": "2026-01-27T14:59:37.000Z",
            "source": "bounces+42-0123456789abcdef@bounces.example.com",
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/example.com",
            "sendingAccountId": "123456789012",
            "messageId": "00000137860315fd-34208509-5b74-41f3-95c5-22c1edc3c924-000000",
            "destination": ["ana@example.com"],
            "commonHeaders": {"messageId": "<daily-2026-01-27.0a1b2c@example.com>", "subject": "Your digest"}
        }
    })
    .to_string()
}

fn ses_complaint() -> String {
    json!({
        "notificationType": "Complaint",
        "complaint": {
            "userAgent": "AnyCompany Feedback Loop (V0.01)",
            "complainedRecipients": [{"emailAddress": "ana@example.com"}],
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2026-01-27T15:00:00.000Z",
            "timestamp": "2026-01-27T15:00:01.000Z",
            "feedbackId": "000001378603177f-18c07c78-fa81-4a58-9dd1-fedc3cb8f49a-000000"
        },
        "mail": {
            "source": "bounces+42-0123456789abcdef@bounces.example.com",
            "messageId": "000001378603177f-7a5433e7-8edb-42ae-af10-f0181f34d6ee-000000",
            "destination": ["ana@example.com"]
        }
    })
    .to_string()
}

#[tokio::test]
async fn ses_confirms_the_subscription_then_takes_bounces_and_complaints() {
    let h = Hooks::new(all_on()).await;
    let confirmation = sns(
        "SubscriptionConfirmation",
        "You have chosen to subscribe to the topic…",
        1,
    );
    let (status, _, answer) = h.post("ses", &[], confirmation.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["confirmed"], true);
    assert_eq!(h.aws_calls(), [CERT_URL, SUBSCRIBE_URL]);

    for (message, version) in [(ses_bounce(), 2), (ses_complaint(), 1)] {
        let mut m = sns("Notification", &message, version);
        m["Subject"] = json!("Amazon SES Email Event Notification");
        sign_sns(&mut m);
        let (status, _, answer) = h.post("ses", &[], m.to_string()).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(reports(&answer), 1, "{answer}");
    }
    h.recorded("ses", &["hard", "complaint"]).await;
    // A delivery notification is genuine but not a report.
    let delivery =
        json!({"notificationType": "Delivery", "mail": {}, "delivery": {"recipients": ["ana@example.com"]}});
    let (status, _, answer) = h
        .post(
            "ses",
            &[],
            sns("Notification", &delivery.to_string(), 2).to_string(),
        )
        .await;
    assert_eq!((status, reports(&answer)), (StatusCode::OK, 0));
    assert_eq!(
        h.aws_calls().len(),
        2,
        "the certificate is fetched once and cached"
    );
}

#[tokio::test]
async fn ses_refuses_what_sns_did_not_sign() {
    let h = Hooks::new(all_on()).await;
    let good = sns("Notification", &ses_complaint(), 2);

    let mut tampered = good.clone();
    tampered["Message"] = json!(ses_complaint().replace("ana@", "bo@"));
    let mut wrong_version = good.clone();
    wrong_version["SignatureVersion"] = json!("3");
    let mut not_base64 = good.clone();
    not_base64["Signature"] = json!("%%%");
    let mut tampered_confirmation = sns("SubscriptionConfirmation", "x", 1);
    tampered_confirmation["SubscribeURL"] = json!(SUBSCRIBE_URL.replace("2336412f37", "other"));
    for forged in [&tampered, &wrong_version, &not_base64, &tampered_confirmation] {
        let (status, _, answer) = h.post("ses", &[], forged.to_string()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{forged}");
        assert_eq!(answer, json!({"error": "unauthorized"}));
    }
    assert_eq!(h.aws_calls(), [CERT_URL], "no subscription was confirmed");

    // A certificate anywhere but on SNS's host is never fetched.
    for url in [
        "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
        "https://evil.example/SimpleNotificationService-0123456789abcdef.pem",
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem",
        "https://sns.us-east-1.amazonaws.com/not-a-certificate.txt",
    ] {
        let mut m = good.clone();
        m["SigningCertURL"] = json!(url);
        let (status, _, _) = h.post("ses", &[], m.to_string()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{url}");
    }
    // Another topic, or a body that is not an SNS envelope (raw message
    // delivery), is refused before anything is fetched.
    let mut other_topic = good.clone();
    other_topic["TopicArn"] = json!("arn:aws:sns:us-east-1:999999999999:someone-else");
    sign_sns(&mut other_topic);
    let (status, _, _) = h.post("ses", &[], other_topic.to_string()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = h.post("ses", &[], ses_complaint()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.aws_calls(), [CERT_URL]);

    // The right key in an expired certificate.
    let mut m = good.clone();
    m["SigningCertURL"] = json!(EXPIRED_CERT_URL);
    let (status, _, _) = h.post("ses", &[], m.to_string()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A certificate AWS does not serve: 503, so that SNS retries later.
    let mut m = good.clone();
    m["SigningCertURL"] = json!("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-gone.pem");
    let (status, _, answer) = h.post("ses", &[], m.to_string()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        !answer.to_string().contains("404"),
        "no internal details: {answer}"
    );

    assert_eq!(h.ana().await, SubscriberStatus::Active);
}

// ---- SendGrid ----

fn sendgrid_key() -> p256::ecdsa::SigningKey {
    static KEY: OnceLock<[u8; 32]> = OnceLock::new();
    let bytes = KEY.get_or_init(|| {
        loop {
            let candidate: [u8; 32] = rand::random();
            if p256::ecdsa::SigningKey::from_slice(&candidate).is_ok() {
                break candidate;
            }
        }
    });
    p256::ecdsa::SigningKey::from_slice(bytes).unwrap()
}

/// The verification key as SendGrid's settings page shows it.
fn sendgrid_public_key() -> String {
    use p256::pkcs8::EncodePublicKey as _;
    B64.encode(
        sendgrid_key()
            .verifying_key()
            .to_public_key_der()
            .unwrap()
            .as_bytes(),
    )
}

fn sendgrid_headers(
    key: &p256::ecdsa::SigningKey,
    timestamp: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    use p256::ecdsa::signature::Signer as _;
    let mut signed = timestamp.to_string().into_bytes();
    signed.extend_from_slice(body);
    let signature: p256::ecdsa::Signature = key.sign(&signed);
    vec![
        ("content-type", "application/json".to_owned()),
        (
            "X-Twilio-Email-Event-Webhook-Signature",
            B64.encode(signature.to_der().as_bytes()),
        ),
        ("X-Twilio-Email-Event-Webhook-Timestamp", timestamp.to_string()),
    ]
}

/// A batch in the shape of SendGrid's event webhook reference.
fn sendgrid_batch() -> Vec<u8> {
    json!([
        {"email": "ana@example.com", "timestamp": now(), "smtp-id": "<daily-2026-01-27.0a1b2c@example.com>",
         "event": "bounce", "category": ["digest"], "sg_event_id": "6g4ZI7SA-xmRDv57GoPIPw==",
         "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
         "reason": "500 unknown recipient", "status": "5.0.0", "type": "bounce",
         "bounce_classification": "Invalid Address"},
        {"email": "ana@example.com", "timestamp": now(), "smtp-id": "<daily-2026-01-27.0a1b2c@example.com>",
         "event": "spamreport", "sg_event_id": "37nvH5QBz858KGVYCM4uOA==",
         "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"},
        {"email": "bo@example.com", "timestamp": now(), "smtp-id": "<daily-2026-01-27.3d4e5f@example.com>",
         "event": "delivered", "response": "250 OK", "sg_event_id": "rWVYmVk90MjZJ9iohOBa3w==",
         "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"}
    ])
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn sendgrid_takes_a_signed_batch() {
    let h = Hooks::new(all_on()).await;
    let body = sendgrid_batch();
    let (status, _, answer) = h
        .post(
            "sendgrid",
            &sendgrid_headers(&sendgrid_key(), now(), &body),
            body.clone(),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(
        reports(&answer),
        2,
        "the bounce and the spam report, not the delivery: {answer}"
    );
    h.recorded("sendgrid", &["hard", "complaint"]).await;
}

#[tokio::test]
async fn sendgrid_refuses_bad_signatures_and_stale_timestamps() {
    let h = Hooks::new(all_on()).await;
    let body = sendgrid_batch();
    let another_key = p256::ecdsa::SigningKey::from_slice(&[3; 32]).unwrap();
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    let cases = [
        (
            "another key",
            sendgrid_headers(&another_key, now(), &body),
            body.clone(),
        ),
        (
            "tampered body",
            sendgrid_headers(&sendgrid_key(), now(), &body),
            tampered,
        ),
        (
            "ten minutes old",
            sendgrid_headers(&sendgrid_key(), now() - 600, &body),
            body.clone(),
        ),
        (
            "ten minutes ahead",
            sendgrid_headers(&sendgrid_key(), now() + 600, &body),
            body.clone(),
        ),
        (
            "no signature",
            vec![("content-type", "application/json".to_owned())],
            body.clone(),
        ),
    ];
    for (what, headers, body) in cases {
        let (status, _, answer) = h.post("sendgrid", &headers, body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(answer, json!({"error": "unauthorized"}), "{what}");
    }
    // A genuine body that is not a batch is a 400.
    let (status, _, _) = h
        .post(
            "sendgrid",
            &sendgrid_headers(&sendgrid_key(), now(), b"{}"),
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(h.ana().await, SubscriberStatus::Active);
}

// ---- Mailgun ----

fn mailgun_call(key: &str, timestamp: i64, token: &str, event: Value) -> Vec<u8> {
    use hmac::{KeyInit as _, Mac as _};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(format!("{timestamp}{token}").as_bytes());
    json!({
        "signature": {
            "timestamp": timestamp.to_string(),
            "token": token,
            "signature": hex::encode(mac.finalize().into_bytes()),
        },
        "event-data": event,
    })
    .to_string()
    .into_bytes()
}

/// A permanent failure in the shape of Mailgun's webhook reference.
fn mailgun_failed() -> Value {
    json!({
        "id": "G9Bn5sl1TC6nu79C8C0bwg", "timestamp": 1_521_233_195.375_624, "log-level": "error",
        "event": "failed", "severity": "permanent", "reason": "bounce",
        "recipient": "ana@example.com", "recipient-domain": "example.com",
        "envelope": {"sender": "bounces+42-0123456789abcdef@bounces.example.com", "transport": "smtp", "targets": "ana@example.com"},
        "delivery-status": {"attempt-no": 1, "code": 550, "message": "5.1.1 The email account that you tried to reach does not exist.",
                            "description": "", "session-seconds": 0.4},
        "message": {"headers": {"to": "ana@example.com", "message-id": "daily-2026-01-27.0a1b2c@example.com",
                                "from": "digest@example.com", "subject": "Your digest"}, "attachments": [], "size": 111},
        "flags": {"is-routed": false, "is-authenticated": true, "is-system-test": false, "is-test-mode": false},
        "tags": [], "user-variables": {}
    })
}

fn mailgun_complained() -> Value {
    json!({
        "id": "-Agny091SquKnsrW2NEKUA", "timestamp": 1_521_233_123.501_324, "log-level": "warn",
        "event": "complained", "recipient": "ana@example.com",
        "envelope": {"sending-ip": "173.193.210.33"},
        "message": {"headers": {"to": "ana@example.com", "message-id": "daily-2026-01-27.0a1b2c@example.com",
                                "from": "digest@example.com", "subject": "Your digest"}, "size": 111},
        "flags": {"is-test-mode": false}, "tags": [], "user-variables": {}
    })
}

#[tokio::test]
async fn mailgun_takes_signed_events_once() {
    let h = Hooks::new(all_on()).await;
    let failed = mailgun_call(
        MAILGUN_KEY,
        now(),
        "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
        mailgun_failed(),
    );
    let (status, _, answer) = h.post("mailgun", &[], failed.clone()).await;
    assert_eq!((status, reports(&answer)), (StatusCode::OK, 1), "{answer}");
    let complained = mailgun_call(
        MAILGUN_KEY,
        now(),
        "b9df1fec3ee9412eff7d3516346695f56bb02e2f0a08a4ef61",
        mailgun_complained(),
    );
    let (status, _, answer) = h.post("mailgun", &[], complained).await;
    assert_eq!((status, reports(&answer)), (StatusCode::OK, 1), "{answer}");
    // A delivery is genuine but not a report.
    let delivered = json!({"id": "d-1", "event": "delivered", "recipient": "ana@example.com"});
    let (status, _, answer) = h
        .post("mailgun", &[], mailgun_call(MAILGUN_KEY, now(), "c0", delivered))
        .await;
    assert_eq!((status, reports(&answer)), (StatusCode::OK, 0), "{answer}");

    // The same signed call again is a replay.
    let (status, _, answer) = h.post("mailgun", &[], failed).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    h.recorded("mailgun", &["hard", "complaint"]).await;
}

#[tokio::test]
async fn mailgun_refuses_bad_signatures_and_stale_timestamps() {
    let h = Hooks::new(all_on()).await;
    let cases = [
        (
            "another key",
            mailgun_call("key-another-key-0123456789", now(), "t1", mailgun_failed()),
        ),
        (
            "ten minutes old",
            mailgun_call(MAILGUN_KEY, now() - 600, "t2", mailgun_failed()),
        ),
        (
            "ten minutes ahead",
            mailgun_call(MAILGUN_KEY, now() + 600, "t3", mailgun_failed()),
        ),
        (
            "no signature",
            json!({"event-data": mailgun_failed()}).to_string().into_bytes(),
        ),
    ];
    for (what, body) in cases {
        let (status, _, answer) = h.post("mailgun", &[], body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(answer, json!({"error": "unauthorized"}), "{what}");
    }
    // A signed timestamp and token with someone else's event: the
    // signature covers only timestamp and token, so this is Mailgun's own
    // design; the token still cannot be used twice.
    let t = now();
    let first = mailgun_call(MAILGUN_KEY, t, "t4", mailgun_failed());
    let second = mailgun_call(MAILGUN_KEY, t, "t4", mailgun_complained());
    assert_eq!(h.post("mailgun", &[], first).await.0, StatusCode::OK);
    assert_eq!(h.post("mailgun", &[], second).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        h.ana().await,
        SubscriberStatus::Bounced,
        "the signed failure counts; the replayed complaint does not"
    );
}

// ---- Postmark ----

fn basic(user: &str, password: &str) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/json".to_owned()),
        (
            "authorization",
            format!("Basic {}", B64.encode(format!("{user}:{password}"))),
        ),
    ]
}

/// A bounce in the shape of Postmark's bounce webhook reference.
fn postmark_bounce() -> Vec<u8> {
    json!({
        "RecordType": "Bounce", "MessageStream": "outbound", "ID": 4_323_372_036_854_775_807_i64,
        "Type": "HardBounce", "TypeCode": 1, "Name": "Hard bounce", "Tag": "digest",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483", "Metadata": {"edition": "daily-2026-01-27"},
        "ServerID": 23, "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": "ana@example.com", "From": "digest@example.com", "BouncedAt": "2026-01-27T16:33:54.9070259Z",
        "DumpAvailable": true, "Inactive": true, "CanActivate": true, "Subject": "Your digest"
    })
    .to_string()
    .into_bytes()
}

fn postmark_complaint() -> Vec<u8> {
    json!({
        "RecordType": "SpamComplaint", "MessageStream": "outbound", "ID": 42, "Type": "SpamComplaint",
        "TypeCode": 512, "Name": "Spam complaint", "Tag": "digest", "MessageID": "00000000-0000-0000-0000-000000000000",
        "Metadata": {}, "ServerID": 1234, "Description": "", "Details": "Test spam complaint details",
        "Email": "ana@example.com", "From": "digest@example.com", "BouncedAt": "2026-01-27T16:33:54Z",
        "DumpAvailable": true, "Inactive": true, "CanActivate": false, "Subject": "Your digest", "Content": ""
    })
    .to_string()
    .into_bytes()
}

#[tokio::test]
async fn postmark_takes_bounces_and_complaints_with_basic_auth() {
    let h = Hooks::new(all_on()).await;
    for body in [postmark_bounce(), postmark_complaint()] {
        let (status, _, answer) = h
            .post("postmark", &basic("postmark", POSTMARK_PASSWORD), body)
            .await;
        assert_eq!((status, reports(&answer)), (StatusCode::OK, 1), "{answer}");
    }
    let delivery = json!({"RecordType": "Delivery", "Email": "ana@example.com"}).to_string();
    let (status, _, answer) = h
        .post("postmark", &basic("postmark", POSTMARK_PASSWORD), delivery)
        .await;
    assert_eq!((status, reports(&answer)), (StatusCode::OK, 0));
    h.recorded("postmark", &["hard", "complaint"]).await;
}

#[tokio::test]
async fn postmark_refuses_wrong_credentials() {
    let h = Hooks::new(all_on()).await;
    for (what, headers) in [
        (
            "wrong password",
            basic("postmark", "correct horse battery stapler"),
        ),
        ("wrong user", basic("someone", POSTMARK_PASSWORD)),
        ("none", Vec::new()),
    ] {
        let (status, headers, answer) = h.post("postmark", &headers, postmark_complaint()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert_eq!(headers["www-authenticate"], "Basic realm=\"herald webhooks\"");
        assert_eq!(answer, json!({"error": "unauthorized"}));
    }
    assert_eq!(h.ana().await, SubscriberStatus::Active);
}

// ---- Shared rules ----

#[tokio::test]
async fn unconfigured_providers_are_not_found() {
    let h = Hooks::new(Settings::default()).await;
    for provider in ["ses", "sendgrid", "mailgun", "postmark", "sparkpost", ""] {
        let (status, _, _) = h.post(provider, &[], "{}").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{provider:?}");
    }
    // Only Mailgun on: the others stay off.
    let h = Hooks::new(Settings::default().set("HERALD_WEBHOOKS__MAILGUN_SIGNING_KEY", MAILGUN_KEY)).await;
    for provider in ["ses", "sendgrid", "postmark"] {
        let (status, _, _) = h.post(provider, &[], "{}").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{provider}");
    }
    // Without the webhooks in the state at all, as before this feature.
    let env = TestEnv::sqlite();
    let config = env.config(&all_on());
    let store = Store::open(&config.database).await.unwrap();
    let state = AppState::new(store, Arc::new(Metrics::new()), &config).unwrap();
    let request = Request::post("/webhooks/mailgun").body(Body::from("{}")).unwrap();
    let response = app(state).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn oversize_bodies_are_refused_before_anything_else() {
    let h = Hooks::new(all_on().set("HERALD_WEBHOOKS__MAX_BODY_BYTES", "2048")).await;
    let padding = "x".repeat(4096);
    let mut event = mailgun_failed();
    event["user-variables"] = json!({ "padding": padding });
    let big = mailgun_call(MAILGUN_KEY, now(), "big", event);
    let (status, _, answer) = h.post("mailgun", &[], big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer, json!({"error": "body too large"}));
    let big_batch = format!("[{}]", vec![r#"{"event":"open"}"#; 200].join(","));
    let headers = sendgrid_headers(&sendgrid_key(), now(), big_batch.as_bytes());
    let (status, _, _) = h.post("sendgrid", &headers, big_batch).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    // Under the limit, the same provider answers.
    let small = mailgun_call(MAILGUN_KEY, now(), "small", mailgun_failed());
    assert!(small.len() < 2048);
    assert_eq!(h.post("mailgun", &[], small).await.0, StatusCode::OK);
    // A GET is not a webhook call.
    let request = Request::get("/webhooks/mailgun").body(Body::empty()).unwrap();
    let response = app(h.state.clone()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}
