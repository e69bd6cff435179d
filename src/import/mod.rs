//! Import: the validated records of subscriber CSV and story JSON, JSON
//! Lines and CSV, and the one batching core that writes them. The parsers
//! (`subscribers`, `stories`) turn input into domain values one record at a
//! time, handing each to a callback as it is read, so a file of any size
//! streams through in constant memory. Every rejected record becomes a
//! [`Rejection`] naming its line, field and reason; the records around it are
//! unaffected. Fatal problems (unreadable input, no header, broken JSON) end
//! the stream with an error saying where. `batch` groups the valid records
//! into transactions of distinct keys and counts what they did, for the CLI
//! and the HTTP API alike. This module does no database work itself (the
//! caller's [`Writer`] does) and prints nothing.

mod batch;
mod stories;
mod subscribers;

use std::fmt;

use crate::domain::Invalid;

pub use batch::{BATCH, Batching, Outcome, Repeats, Summary, Writer, run};
pub use stories::{STORY_FIELDS, StoryFormat, read_stories};
pub use subscribers::{SUBSCRIBER_COLUMNS, read_subscribers_csv};

/// Where a record sits in its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// A CSV or JSON Lines record starting on this line.
    Line(u64),
    /// The n-th element (1-based) of a JSON array, ending on this line.
    Item { index: u64, end_line: u64 },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Item { index, end_line } => write!(f, "item {index} (ending on line {end_line})"),
        }
    }
}

/// One problem with one field of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub reason: String,
}

/// A record that was not imported, with everything that is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub location: Location,
    pub errors: Vec<FieldError>,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location)?;
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            if e.field.is_empty() {
                write!(f, "{}", e.reason)?;
            } else {
                write!(f, "field {}: {}", e.field, e.reason)?;
            }
        }
        Ok(())
    }
}

/// A record as read: valid, or rejected.
pub type Record<T> = Result<(Location, T), Rejection>;

/// The callback returns `false` to stop reading (the consumer has failed).
pub trait Sink<T>: FnMut(Record<T>) -> bool {}
impl<T, F: FnMut(Record<T>) -> bool> Sink<T> for F {}

/// Collects the field errors of one record.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn check<T>(&mut self, field: &'static str, r: Result<T, Invalid>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(FieldError { field, reason: e.0 });
                None
            }
        }
    }
}

fn rejection(location: Location, field: &'static str, reason: String) -> Rejection {
    Rejection {
        location,
        errors: vec![FieldError { field, reason }],
    }
}

/// Maps column names to positions; unknown or duplicate columns and a
/// missing required column are fatal (most likely the header is missing).
fn map_header(
    header: &csv::StringRecord,
    allowed: &[&'static str],
    required: &[&str],
) -> anyhow::Result<std::collections::HashMap<&'static str, usize>> {
    let mut columns = std::collections::HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = name.trim().trim_start_matches('\u{feff}');
        let Some(&known) = allowed.iter().find(|a| a.eq_ignore_ascii_case(name)) else {
            anyhow::bail!(
                "line 1: unknown column {name:?} in the header row; expected a header row with columns from: {}",
                allowed.join(",")
            );
        };
        if columns.insert(known, i).is_some() {
            anyhow::bail!("line 1: column {known:?} appears twice in the header row");
        }
    }
    for r in required {
        if !columns.contains_key(r) {
            anyhow::bail!(
                "line 1: the header row has no {r:?} column; expected a header row such as {}",
                allowed.join(",")
            );
        }
    }
    Ok(columns)
}

/// A CSV row the reader could not read (bad UTF-8, a wrong field count):
/// that line's rejection, so the rows around it still count.
fn row_rejection(e: &csv::Error) -> Rejection {
    let line = e.position().map_or(0, |p| p.line());
    rejection(Location::Line(line), "", csv_error(e).to_string())
}

fn csv_error(e: &csv::Error) -> anyhow::Error {
    let at = e
        .position()
        .map(|p| format!("line {}: ", p.line()))
        .unwrap_or_default();
    match e.kind() {
        csv::ErrorKind::Io(io) => anyhow::anyhow!("{at}cannot read: {io}"),
        csv::ErrorKind::Utf8 { err, .. } => anyhow::anyhow!("{at}not valid UTF-8 ({err})"),
        _ => anyhow::anyhow!("{at}{e}"),
    }
}
