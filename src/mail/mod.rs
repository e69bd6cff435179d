//! Mail: the only module that imports lettre. [`compose`] turns a rendered
//! digest into a standards-clean message (multipart/alternative,
//! List-Unsubscribe with one-click, deterministic Message-ID, 7-bit-safe
//! transfer encodings) and [`dkim`] signs its bytes (aws-lc-rs; one or two
//! keys);
//! [`smtp`] hands it to a transport (Herald's own SMTP client, pipelining
//! when the relay offers it, or `.eml` files in an outbox directory);
//! [`classify`] sorts
//! each refusal into a retry, the recipient's permanent refusal, or a fault
//! of Herald's own setup. It knows nothing about the store or the schedule.

mod classify;
mod compose;
mod dkim;
mod smtp;

pub use compose::{Composer, Confirmation, Outgoing, Unsealed, html_fits};
pub use smtp::{Mailer, Offers, Probe, Session, SmtpSettings};

/// Why a message was not accepted.
///
/// Only [`SendError::Rejected`] is about the recipient. A fault of the
/// sender's own setup (the relay's address or TLS, authentication, the
/// envelope sender, a relay that refuses to relay or takes no message of
/// this size) would be the same for every subscriber, so it is
/// [`SendError::Setup`]: the engine stops the run and charges no one.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Worth retrying later: 4xx replies, connection errors, timeouts.
    /// `throttle` is set for 421 and 450, which ask the sender to slow down.
    #[error("transient failure: {message}")]
    Transient { throttle: bool, message: String },
    /// A permanent refusal of this one recipient: a 5xx reply to its RCPT,
    /// or at the end of DATA of its single-recipient message, judged like
    /// a bounce (`refusal.category`: a dead address, a full mailbox, or a
    /// policy block that is the sender's problem, not the subscriber's).
    #[error("permanent failure: {message}")]
    Rejected {
        refusal: crate::domain::Refusal,
        message: String,
    },
    /// A permanent fault of Herald's own setup, the same for every
    /// recipient; `setting` names what to check.
    #[error("{message}; check {setting}")]
    Setup { setting: &'static str, message: String },
}

impl SendError {
    pub fn is_throttle(&self) -> bool {
        matches!(self, SendError::Transient { throttle: true, .. })
    }
}

/// A composed (and, when configured, signed) message ready to send, already
/// in the form the relay reads after DATA: CRLF line ends, dot-stuffed
/// (RFC 5321 4.5.2), with the terminating `CRLF.CRLF`. That work happens
/// once, where the message was composed (on a rendering thread), not on
/// the async runtime that writes it to the relay in one go.
#[derive(Debug, Clone)]
pub struct Email {
    envelope: lettre::address::Envelope,
    wire: Vec<u8>,
    /// Whether the message has bytes above 127 (then it needs 8BITMIME).
    eight_bit: bool,
    /// Whether the message lacked a final CRLF, which `wire` adds before
    /// the terminating dot (`to_bytes` leaves it out again).
    added_crlf: bool,
}

impl Email {
    /// An envelope and the message's final bytes (signed, when DKIM is
    /// on), kept in the DATA form (dot-stuffed) made here, on the
    /// composing thread.
    fn from_parts(envelope: lettre::address::Envelope, bytes: Vec<u8>) -> Email {
        let (wire, added_crlf) = smtp::wire::stuff(&bytes);
        Email {
            envelope,
            eight_bit: !bytes.is_ascii(),
            wire,
            added_crlf,
        }
    }

    /// The message as an .eml file holds it (CRLF line ends, no
    /// dot-stuffing): what the relay stores once it has undone the
    /// stuffing.
    pub fn to_bytes(&self) -> Vec<u8> {
        smtp::wire::unstuff(&self.wire, self.added_crlf)
    }
}
