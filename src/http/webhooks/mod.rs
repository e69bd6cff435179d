//! `POST /webhooks/{provider}`: bounces and complaints reported by the
//! sending providers, one file each: `ses` (Amazon SES through SNS),
//! `sendgrid`, `mailgun` and `postmark`. Each file owns how its provider
//! proves a call is genuine and a pure mapping from the provider's
//! documented JSON to [`Report`]s; this file owns the route, the answers
//! and the one mapping rule they share ([`Says`], [`finding`]). Every
//! report goes to [`Intake::accept`], as mail-borne bounces do; no SQL
//! here.
//!
//! Answers: 404 for a provider that is not configured (or a name that is
//! none), 413 for a body over `webhooks.max_body_bytes`, 401 when the
//! signature, timestamp, token or credentials do not check out (nothing
//! is handed to the intake), 400 for a genuine call whose body cannot be
//! read, 503 when the SNS certificate cannot be fetched (SNS retries),
//! 500 for an internal error (logged, never shown). 200 carries a JSON
//! count of what was done. The clock is read here, for the freshness of
//! signed timestamps and for the time each event is recorded at.

mod mailgun;
mod postmark;
mod sendgrid;
mod ses;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::Serialize;

pub use ses::Aws;

use super::{AppState, json};
use crate::bounce::intake::{Accepted, Intake};
use crate::bounce::{Finding, Report, judge};
use crate::config::WebhooksConfig;
use crate::domain::text::{collapse, cut};
use crate::domain::{Category, Source};

/// The body limit of the route when no webhook is set up.
pub(super) const DEFAULT_MAX_BODY: usize = 1 << 20;

/// Characters of a provider's diagnostic text kept in a finding.
const MAX_DIAGNOSTIC: usize = 500;

/// The configured providers and the intake they feed; built once, shared
/// by every request.
pub struct Webhooks {
    intake: Intake,
    max_body: usize,
    ses: Option<ses::Ses>,
    sendgrid: Option<sendgrid::SendGrid>,
    mailgun: Option<mailgun::Mailgun>,
    postmark: Option<postmark::Postmark>,
}

impl Webhooks {
    /// The providers `config` turns on, feeding `intake`. SES reaches AWS
    /// through [`Aws::https`]; see [`Webhooks::with_aws`].
    pub fn new(config: &WebhooksConfig, intake: Intake) -> anyhow::Result<Webhooks> {
        let ses = match config.ses_topic_arns.is_empty() {
            true => None,
            false => Some(ses::Ses::new(config.ses_topic_arns.clone(), Aws::https()?)),
        };
        Ok(Webhooks {
            intake,
            max_body: config.max_body_bytes,
            ses,
            sendgrid: config.sendgrid_public_key.map(sendgrid::SendGrid::new),
            mailgun: config.mailgun_signing_key().map(mailgun::Mailgun::new),
            postmark: config
                .postmark
                .as_ref()
                .map(|p| postmark::Postmark::new(&p.user, &p.password)),
        })
    }

    /// Replaces the way SES's handler reaches AWS (the SNS signing
    /// certificate, the subscription confirmation). AWS is the external
    /// boundary here, not a component of Herald's: tests substitute it
    /// because `sns.<region>.amazonaws.com` cannot be served locally.
    pub fn with_aws(mut self, aws: Aws) -> Webhooks {
        if let Some(ses) = &mut self.ses {
            ses.set_aws(aws);
        }
        self
    }

    pub(super) fn max_body(&self) -> usize {
        self.max_body
    }

    /// Hands each report to the intake, adding up what it did.
    async fn hand_over(
        &self,
        reports: &[Report],
        source: Source,
        at: DateTime<Utc>,
    ) -> anyhow::Result<Answer> {
        let mut answer = Answer {
            reports: reports.len(),
            ..Answer::default()
        };
        for report in reports {
            let a: Accepted = self.intake.accept(report, source, at).await?;
            answer.recorded += a.recorded;
            answer.duplicates += a.duplicates;
            answer.unmatched += a.unmatched;
            answer.bounced += a.bounced;
            answer.unsubscribed += a.unsubscribed;
        }
        Ok(answer)
    }
}

/// The 200 answer: what the call led to.
#[derive(Debug, Default, Serialize)]
struct Answer {
    /// Reports read from the call (events that are not bounces or
    /// complaints, such as deliveries and opens, are not reports).
    reports: usize,
    recorded: usize,
    duplicates: usize,
    unmatched: usize,
    bounced: usize,
    unsubscribed: usize,
    /// SNS only: the subscription was confirmed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    confirmed: bool,
}

/// Why a call is not answered 200.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    #[error("not found")]
    NotFound,
    #[error("body too large")]
    TooLarge,
    /// The call did not prove it came from the provider; the reason is
    /// logged, not answered.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    #[error("malformed payload: {0}")]
    BadRequest(&'static str),
    /// Cannot verify now (the SNS certificate could not be fetched); the
    /// provider retries.
    #[error("unavailable: {0:#}")]
    Unavailable(anyhow::Error),
    #[error("internal: {0:#}")]
    Internal(anyhow::Error),
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Refusal::NotFound => StatusCode::NOT_FOUND,
            Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Refusal::BadRequest(_) => StatusCode::BAD_REQUEST,
            Refusal::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Refusal::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The answer's body: a fixed word per status, never the details.
    fn public(&self) -> &'static str {
        match self {
            Refusal::NotFound => "not found",
            Refusal::TooLarge => "body too large",
            Refusal::Unauthorized(_) => "unauthorized",
            Refusal::BadRequest(_) => "malformed payload",
            Refusal::Unavailable(_) => "unavailable, try again later",
            Refusal::Internal(_) => "internal error",
        }
    }
}

/// What a provider's handler makes of a genuine call.
enum Received {
    Reports(Vec<Report>),
    /// SNS: the subscription to the topic was confirmed.
    Confirmed,
}

pub(in crate::http) async fn receive(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let source = match provider.as_str() {
        "ses" => Source::Ses,
        "sendgrid" => Source::Sendgrid,
        "mailgun" => Source::Mailgun,
        "postmark" => Source::Postmark,
        _ => return refuse(&provider, Refusal::NotFound),
    };
    let Some(hooks) = state.webhooks.as_deref() else {
        return refuse(&provider, Refusal::NotFound);
    };
    match handle(hooks, source, &headers, body).await {
        Ok(answer) => json(StatusCode::OK, &answer),
        Err(refusal) => refuse(&provider, refusal),
    }
}

async fn handle(
    hooks: &Webhooks,
    source: Source,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Answer, Refusal> {
    let now = Utc::now();
    let received = match source {
        Source::Ses => on(&hooks.ses)?.receive(&read(body)?, now).await?,
        Source::Sendgrid => on(&hooks.sendgrid)?.receive(headers, &read(body)?, now)?,
        Source::Mailgun => {
            let mailgun = on(&hooks.mailgun)?;
            // The token is spent by `receive` and given back if handing
            // over fails, so that Mailgun's retry is not taken for a replay.
            let (token, reports) = mailgun.receive(&read(body)?, now)?;
            let answer = hooks.hand_over(&reports, source, now).await;
            if answer.is_err() {
                mailgun.release(&token);
            }
            return answer.map_err(Refusal::Internal);
        }
        Source::Postmark => on(&hooks.postmark)?.receive(headers, &read(body)?)?,
        _ => return Err(Refusal::NotFound),
    };
    match received {
        Received::Reports(reports) => hooks
            .hand_over(&reports, source, now)
            .await
            .map_err(Refusal::Internal),
        Received::Confirmed => Ok(Answer {
            confirmed: true,
            ..Answer::default()
        }),
    }
}

/// A provider's handler, if it is configured.
fn on<T>(provider: &Option<T>) -> Result<&T, Refusal> {
    provider.as_ref().ok_or(Refusal::NotFound)
}

/// The body, read after the provider is known to be on, so an unconfigured
/// provider is a 404 whatever the size.
fn read(body: Result<Bytes, BytesRejection>) -> Result<Bytes, Refusal> {
    body.map_err(|r| match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => Refusal::TooLarge,
        _ => Refusal::BadRequest("cannot read the body"),
    })
}

fn refuse(provider: &str, refusal: Refusal) -> Response {
    match &refusal {
        Refusal::Unavailable(_) | Refusal::Internal(_) => {
            tracing::error!(provider, error = %refusal, "webhook call failed");
        }
        Refusal::NotFound => {}
        _ => tracing::warn!(provider, reason = %refusal, "webhook call refused"),
    }
    let mut response = json(
        refusal.status(),
        &serde_json::json!({ "error": refusal.public() }),
    );
    if matches!(refusal, Refusal::Unauthorized(_)) && provider == "postmark" {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"herald webhooks\""),
        );
    }
    response
}

/// What a provider's own event type says about a failure: the provider's
/// word comes first; when it is a generic one, the SMTP status and the
/// remote server's words decide through [`judge`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Says {
    /// The type alone decides (SES NoEmail, a Postmark SpamComplaint).
    Is(Category, &'static str),
    /// A generic type (SES Permanent/General, a Mailgun bounce): this,
    /// unless the status or diagnostic, when given, is judged a hard, soft
    /// or policy failure.
    Likely(Category, &'static str),
}

impl Says {
    pub fn category(self) -> Category {
        match self {
            Says::Is(c, _) | Says::Likely(c, _) => c,
        }
    }
}

/// One finding from a provider's event: `status` is the enhanced status
/// code when the provider gives one, `diagnostic` the remote server's reply
/// (SMTP code first, as in `smtp; 550 5.1.1 …`), `code` the SMTP reply code
/// when the provider gives it apart.
pub fn finding(
    recipient: &str,
    says: Says,
    code: Option<u16>,
    status: Option<&str>,
    diagnostic: Option<&str>,
) -> Finding {
    let status = status.map(str::trim).filter(|s| is_status(s));
    let diagnostic = diagnostic
        .map(collapse)
        .filter(|d| !d.is_empty())
        .map(|d| cut(&d, MAX_DIAGNOSTIC));
    let judged = (status.is_some() || diagnostic.is_some()).then(|| {
        let text = diagnostic.as_deref().unwrap_or("");
        judge(code.or_else(|| reply_code(text)), status, text)
    });
    let (category, reason) = match (says, &judged) {
        (Says::Likely(_, _), Some(v))
            if matches!(v.category, Category::Hard | Category::Soft | Category::Policy) =>
        {
            (v.category, v.reason.clone())
        }
        (Says::Is(c, why) | Says::Likely(c, why), _) => (c, why.to_owned()),
    };
    Finding {
        recipient: address(recipient),
        category,
        status: status
            .map(str::to_owned)
            .or_else(|| judged.and_then(|v| v.status)),
        diagnostic,
        reason,
    }
}

/// An address as a finding or a return path holds it: trimmed, without
/// angle brackets, lower-cased; none when empty.
fn address(raw: &str) -> Option<String> {
    let a = raw.trim().trim_start_matches('<').trim_end_matches('>').trim();
    (!a.is_empty() && !a.contains(char::is_whitespace)).then(|| a.to_lowercase())
}

/// A Message-ID in the form Herald writes it, `<…>`; providers quote it
/// with or without the brackets. None when empty or not one token.
fn message_id(raw: &str) -> Option<String> {
    let id = raw.trim().trim_start_matches('<').trim_end_matches('>');
    (!id.is_empty() && !id.contains(|c: char| c.is_whitespace() || c == '<' || c == '>'))
        .then(|| format!("<{id}>"))
}

/// `x.y.z`, RFC 3463: class 2, 4 or 5, then up to three and three digits.
fn is_status(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    matches!(parts.as_slice(), [class, subject, detail]
        if matches!(*class, "2" | "4" | "5")
            && (1..=3).contains(&subject.len())
            && (1..=3).contains(&detail.len())
            && subject.bytes().chain(detail.bytes()).all(|b| b.is_ascii_digit()))
}

/// The SMTP reply code at the start of a diagnostic (`smtp; 550 …`,
/// `550-5.1.1 …`, `550 …`).
fn reply_code(text: &str) -> Option<u16> {
    let t = text.trim_start();
    let t = t
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("smtp;"))
        .map_or(t, |_| t[5..].trim_start());
    let digits = t.get(..3)?;
    let code: u16 = digits.parse().ok()?;
    let next = t[3..].chars().next();
    ((200..600).contains(&code) && next.is_none_or(|c| c == ' ' || c == '-')).then_some(code)
}

/// A report about one or more recipients of one provider event.
fn report(
    kind: crate::domain::ReportType,
    id: Option<String>,
    return_paths: Vec<String>,
    message_ids: Vec<String>,
    findings: Vec<Finding>,
) -> Option<Report> {
    let findings: Vec<Finding> = findings.into_iter().filter(|f| f.recipient.is_some()).collect();
    (!findings.is_empty()).then_some(Report {
        kind,
        id,
        return_paths,
        message_ids,
        findings,
    })
}

/// Unix seconds within `FRESHNESS_SECONDS` of `now`, either side (clocks drift).
fn fresh(timestamp: &str, now: DateTime<Utc>) -> bool {
    timestamp
        .trim()
        .parse::<i64>()
        .is_ok_and(|t| (now.timestamp() - t).abs() <= FRESHNESS_SECONDS)
}

/// How old a signed SendGrid or Mailgun timestamp may be.
const FRESHNESS_SECONDS: i64 = 5 * 60;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_providers_word_comes_first() {
        let f = finding(
            "<Ana@Example.COM>",
            Says::Is(Category::Soft, "mailbox full"),
            None,
            None,
            None,
        );
        assert_eq!(f.recipient.as_deref(), Some("ana@example.com"));
        assert_eq!((f.category, f.reason.as_str()), (Category::Soft, "mailbox full"));
        assert_eq!((f.status, f.diagnostic), (None, None));
        // A generic type without a status or a diagnostic keeps the
        // provider's default.
        let f = finding(
            "ana@example.com",
            Says::Likely(Category::Hard, "bounced"),
            None,
            None,
            None,
        );
        assert_eq!((f.category, f.reason.as_str()), (Category::Hard, "bounced"));
    }

    #[test]
    fn a_generic_type_is_judged_from_its_status_and_diagnostic() {
        let f = finding(
            "ana@example.com",
            Says::Likely(Category::Soft, "temporary failure"),
            None,
            Some("5.1.1"),
            Some("smtp; 550 5.1.1\r\n  user unknown"),
        );
        assert_eq!(f.category, Category::Hard);
        assert_eq!(f.status.as_deref(), Some("5.1.1"));
        assert_eq!(f.diagnostic.as_deref(), Some("smtp; 550 5.1.1 user unknown"));
        // A specific type is not overruled by the text.
        let f = finding(
            "ana@example.com",
            Says::Is(Category::Policy, "content rejected"),
            None,
            Some("5.1.1"),
            Some("550 5.1.1 user unknown"),
        );
        assert_eq!(
            (f.category, f.reason.as_str()),
            (Category::Policy, "content rejected")
        );
        assert_eq!(f.status.as_deref(), Some("5.1.1"));
    }

    #[test]
    fn small_parsers() {
        assert_eq!(reply_code("smtp; 550 5.1.1 no"), Some(550));
        assert_eq!(reply_code("SMTP;552-5.2.2 full"), Some(552));
        assert_eq!(reply_code("421"), Some(421));
        assert_eq!(reply_code("5500 x"), None);
        assert_eq!(reply_code("Bounced Address"), None);
        assert_eq!(reply_code("ü"), None);
        assert!(is_status("5.1.1") && is_status("4.7.650"));
        assert!(!is_status("5.1") && !is_status("6.1.1") && !is_status("5.a.1") && !is_status(""));
        assert_eq!(message_id(" abc@x "), Some("<abc@x>".into()));
        assert_eq!(message_id("<abc@x>"), Some("<abc@x>".into()));
        assert_eq!(message_id("<>"), None);
        assert_eq!(message_id("a b@x"), None);
        assert_eq!(address("  "), None);
        let now = DateTime::from_timestamp(1_000_000, 0).unwrap();
        assert!(fresh("1000000", now) && fresh("999700", now) && fresh("1000300", now));
        assert!(!fresh("999699", now) && !fresh("1000301", now) && !fresh("soon", now));
    }
}
