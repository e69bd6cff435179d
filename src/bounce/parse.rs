//! Reading one raw message into a [`Report`]. Pure: bytes in, report out.

use super::Report;

/// Reads one message. Never fails: what cannot be read as a report is a
/// report of type `none`.
pub fn parse(raw: &[u8]) -> Report {
    let _ = raw;
    Report::none("not a report")
}
