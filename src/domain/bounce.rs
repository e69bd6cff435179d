//! What Herald hears back after the relay said 250: the kind of a report,
//! the category a failure falls into, and where the news came from. Pure
//! names; the parsing and the acting live in `crate::bounce`.

use std::fmt;
use std::str::FromStr;

use super::Invalid;

/// What a failure says about the address, and so what Herald does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// The address is dead: no such user, no such domain or a null MX, a
    /// mailbox moved or disabled. Counts towards the bounce threshold.
    Hard,
    /// Mailbox full, over quota, greylisting, timeouts, temporary errors.
    /// Only a long run of them bounces the address.
    Soft,
    /// The sender is the problem: blocked, spam or content rejection, rate
    /// limits, authentication or DMARC failure, relaying denied. Never
    /// changes the subscriber; surfaced to the operator.
    Policy,
    /// An ARF report or a provider's complaint event: unsubscribe at once.
    Complaint,
    /// Not a failure report: auto-replies, delivery notices, anything else.
    None,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Hard,
        Category::Soft,
        Category::Policy,
        Category::Complaint,
        Category::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Hard => "hard",
            Category::Soft => "soft",
            Category::Policy => "policy",
            Category::Complaint => "complaint",
            Category::None => "none",
        }
    }
}

/// What kind of message a report is (`bounces inspect`'s `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportType {
    /// A delivery status notification or a non-standard bounce.
    Bounce,
    /// An ARF feedback report or a provider's complaint event.
    Complaint,
    /// An RFC 3834 automatic reply (vacation, out of office).
    AutoReply,
    /// Anything else.
    None,
}

impl ReportType {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportType::Bounce => "bounce",
            ReportType::Complaint => "complaint",
            ReportType::AutoReply => "auto_reply",
            ReportType::None => "none",
        }
    }
}

/// Where a bounce or complaint reached Herald.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The relay's reply during Herald's own SMTP session.
    Smtp,
    /// A message given to `herald bounces ingest` (a file, a Maildir, a pipe).
    Mail,
    /// The bounce mailbox the daemon reads over IMAP.
    Imap,
    Ses,
    Sendgrid,
    Mailgun,
    Postmark,
}

impl Source {
    pub const ALL: [Source; 7] = [
        Source::Smtp,
        Source::Mail,
        Source::Imap,
        Source::Ses,
        Source::Sendgrid,
        Source::Mailgun,
        Source::Postmark,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Smtp => "smtp",
            Source::Mail => "mail",
            Source::Imap => "imap",
            Source::Ses => "ses",
            Source::Sendgrid => "sendgrid",
            Source::Mailgun => "mailgun",
            Source::Postmark => "postmark",
        }
    }
}

macro_rules! name_enum {
    ($t:ty, $all:expr, $what:literal) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $t {
            type Err = Invalid;

            fn from_str(s: &str) -> Result<Self, Invalid> {
                $all.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
                    let names: Vec<&str> = $all.iter().map(|c| c.as_str()).collect();
                    Invalid::new(format!(
                        concat!("{:?} is not a ", $what, "; expected one of {}"),
                        s,
                        names.join(", ")
                    ))
                })
            }
        }
    };
}

name_enum!(Category, Category::ALL, "bounce category");
name_enum!(Source, Source::ALL, "bounce source");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>().unwrap(), c);
        }
        for s in Source::ALL {
            assert_eq!(s.as_str().parse::<Source>().unwrap(), s);
        }
        assert!("bad".parse::<Category>().unwrap_err().0.contains("hard, soft"));
    }
}
