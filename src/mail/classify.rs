//! Classification of the relay's refusals, pure: a 4xx or a broken
//! connection is transient; a 5xx is the recipient's only when it is about
//! one recipient (at RCPT, or at the end of DATA of a single-recipient
//! transaction) and does not say what every recipient would hear; anything
//! else permanent is a fault of Herald's own setup, named by the setting to
//! check.

use super::SendError;
use super::smtp::Reply;
use crate::domain::{Category, Refusal};

/// Where in the SMTP conversation a reply came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// The greeting and EHLO (and, for smtps, the TLS handshake).
    Greeting,
    Tls,
    Auth,
    MailFrom,
    Rcpt,
    /// The DATA command itself.
    Data,
    /// The reply after the message's final dot.
    EndOfData,
}

/// Sorts the relay's refusal into retry, the recipient's refusal, or a
/// fault of the setup. 421 and 450 also ask the engine to slow down.
pub(super) fn classify(stage: Stage, reply: &Reply) -> SendError {
    if reply.is_permanent() {
        return permanent(stage, reply.code, &reply.to_string());
    }
    SendError::Transient {
        throttle: matches!(reply.code, 421 | 450),
        message: reply.to_string(),
    }
}

/// The decision for a 5xx reply. Before the recipient is named (greeting,
/// TLS, AUTH, MAIL FROM) and at the DATA command, a refusal cannot be
/// about one recipient. At RCPT and at the end of DATA (Herald sends one
/// recipient per transaction) it is the recipient's, unless the reply says
/// what every recipient would hear: authentication required, relaying
/// denied, the client or sender refused, the message too big.
fn permanent(stage: Stage, code: u16, text: &str) -> SendError {
    let setup = |setting: &'static str| SendError::Setup {
        setting,
        message: format!("the relay refused {}: {text}", stage.describe()),
    };
    let lower = text.to_ascii_lowercase();
    let enhanced = enhanced_status(&lower);
    let wants_auth = code == 530 || enhanced == Some("5.7.0") || AUTH_WORDS.iter().any(|w| lower.contains(w));
    match stage {
        Stage::Greeting => return setup("mail.smtp_url (the relay refuses Herald's connection)"),
        Stage::Tls => return setup("mail.smtp_url (tls=)"),
        Stage::Auth => return setup(AUTH_SETTING),
        Stage::MailFrom if wants_auth => return setup(AUTH_SETTING),
        Stage::MailFrom => return setup("mail.from (the envelope sender) and the relay's sender rules"),
        Stage::Data => return setup("mail.smtp_url (the relay refuses DATA)"),
        Stage::Rcpt | Stage::EndOfData => {}
    }
    // 5.1.x (addressing) and 5.2.x (mailbox) are about this recipient.
    if enhanced.is_some_and(|c| c.starts_with("5.1.") || c.starts_with("5.2.")) {
        return rejected(code, text);
    }
    if wants_auth {
        return setup(AUTH_SETTING);
    }
    if RELAY_WORDS.iter().any(|w| lower.contains(w)) {
        return setup(
            "mail.smtp_url: the relay does not relay for Herald (set a user and password, or allow this host on the relay)",
        );
    }
    if lower.contains("client host rejected") || lower.contains("sender address rejected") {
        return setup("mail.from and the relay's client and sender rules");
    }
    if enhanced == Some("5.3.4") || SIZE_WORDS.iter().any(|w| lower.contains(w)) {
        return setup("digest.max_html_bytes and the relay's message size limit");
    }
    rejected(code, text)
}

/// The recipient's refusal, judged by the same classifier as bounce
/// reports. A refusal the classifier cannot place is taken as hard, but
/// without an enhanced code it is not firm: it counts towards
/// `delivery.bounce_threshold`, not `bounces.hard_threshold`.
fn rejected(code: u16, text: &str) -> SendError {
    let verdict = crate::bounce::judge(Some(code), None, text);
    let category = match verdict.category {
        Category::None | Category::Complaint => Category::Hard,
        c => c,
    };
    SendError::Rejected {
        refusal: Refusal {
            category,
            status: verdict.status,
            reason: verdict.reason,
        },
        message: text.to_owned(),
    }
}

const AUTH_SETTING: &str =
    "the user in mail.smtp_url and the SMTP password (HERALD_MAIL__SMTP_PASSWORD or mail.smtp_password_file)";

/// How relays say that authentication is needed (Postfix, Exim, Exchange,
/// Gmail, SES).
const AUTH_WORDS: &[&str] = &[
    "authentication required",
    "authentication is required",
    "must authenticate",
    "not authenticated",
    "authenticate first",
    "auth required",
    "client was not authenticated",
];

/// How relays say that they do not relay for this client: Postfix
/// ("Relay access denied"), Exim ("relay not permitted"), Sendmail
/// ("Relaying denied"), Exchange ("Unable to relay"), qmail ("not in my
/// list of allowed rcpthosts").
const RELAY_WORDS: &[&str] = &[
    "relay access denied",
    "relaying denied",
    "relay denied",
    "relay not permitted",
    "relaying not permitted",
    "relay not allowed",
    "relaying not allowed",
    "unable to relay",
    "we do not relay",
    "allowed rcpthosts",
];

/// How relays say the message is too big (RFC 1870 and common wording).
const SIZE_WORDS: &[&str] = &[
    "message size exceeds",
    "message too big",
    "message too large",
    "message is too large",
    "exceeds size limit",
    "size limit exceeded",
    "exceeded maximum message size",
];

impl Stage {
    pub(super) fn describe(self) -> &'static str {
        match self {
            Stage::Greeting => "the connection",
            Stage::Tls => "STARTTLS",
            Stage::Auth => "authentication",
            Stage::MailFrom => "MAIL FROM",
            Stage::Rcpt => "the recipient",
            Stage::Data => "DATA",
            Stage::EndOfData => "the message",
        }
    }
}

/// The RFC 3463 enhanced status code in a reply, e.g. "5.7.1".
fn enhanced_status(text: &str) -> Option<&str> {
    text.split(|c: char| c.is_whitespace() || c == ':' || c == '(' || c == ')')
        .find(|word| {
            let mut parts = word.split('.');
            let class = parts.next();
            let rest: Vec<&str> = parts.collect();
            matches!(class, Some("2" | "4" | "5"))
                && rest.len() == 2
                && rest
                    .iter()
                    .all(|p| (1..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(e: SendError) -> &'static str {
        match e {
            SendError::Transient { .. } => "transient",
            SendError::Rejected { .. } => "rejected",
            SendError::Setup { .. } => "setup",
        }
    }

    #[test]
    fn only_replies_about_one_recipient_are_the_recipients() {
        let cases = [
            (
                Stage::Rcpt,
                550,
                "5.1.1 <a@b>: Recipient address rejected: User unknown in relay recipient table",
                "rejected",
            ),
            (Stage::Rcpt, 552, "5.2.2 <a@b>: Mailbox full", "rejected"),
            (
                Stage::EndOfData,
                554,
                "5.7.1 Message rejected as spam by the recipient",
                "rejected",
            ),
            (Stage::Rcpt, 554, "5.7.1 <a@b>: Relay access denied", "setup"),
            (Stage::Rcpt, 550, "relay not permitted", "setup"),
            (
                Stage::Rcpt,
                550,
                "5.7.54 SMTP; Unable to relay recipient in non-accepted domain",
                "setup",
            ),
            (
                Stage::Rcpt,
                553,
                "sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
                "setup",
            ),
            (Stage::Rcpt, 530, "5.7.0 Authentication required", "setup"),
            (
                Stage::Rcpt,
                554,
                "5.7.1 <unknown[10.0.0.1]>: Client host rejected: Access denied",
                "setup",
            ),
            (
                Stage::EndOfData,
                552,
                "5.3.4 Message size exceeds fixed limit",
                "setup",
            ),
            (
                Stage::EndOfData,
                552,
                "Message size exceeds maximum permitted",
                "setup",
            ),
            (
                Stage::MailFrom,
                553,
                "5.7.1 Sender address rejected: not owned by user",
                "setup",
            ),
            (Stage::MailFrom, 530, "5.7.0 Authentication required", "setup"),
            (Stage::Greeting, 554, "No SMTP service here", "setup"),
            (
                Stage::Auth,
                535,
                "5.7.8 Authentication credentials invalid",
                "setup",
            ),
            (Stage::Data, 554, "5.5.1 Error: no valid recipients", "setup"),
        ];
        for (stage, code, text, expected) in cases {
            assert_eq!(
                kind(permanent(stage, code, text)),
                expected,
                "{stage:?} {code} {text}"
            );
        }
        match permanent(Stage::MailFrom, 530, "5.7.0 Authentication required") {
            SendError::Setup { setting, .. } => assert_eq!(setting, AUTH_SETTING),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn finds_enhanced_status_codes() {
        assert_eq!(
            enhanced_status("permanent error (554): 5.7.1 <a@b>: relay"),
            Some("5.7.1")
        );
        assert_eq!(enhanced_status("550 user unknown"), None);
        assert_eq!(enhanced_status("at 10.0.0.1"), None);
    }
}
