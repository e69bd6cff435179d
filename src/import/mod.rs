//! Import: the validated records of subscriber CSV and story JSON, JSON
//! Lines and CSV, and the one batching core that writes them. The parsers
//! (`subscribers`, `stories`) turn input into domain values one record at a
//! time, handing each to a callback as it is read, so a file of any size
//! streams through in constant memory. Every rejected record becomes a
//! [`Rejection`] naming its line, field and reason; the records around it are
//! unaffected. Fatal problems (unreadable input, no header, broken JSON) end
//! the stream with an error saying where. Every input may start with a
//! UTF-8 byte order mark (spreadsheets and Windows editors write one); it is
//! skipped. No record may be larger than [`MAX_RECORD`]: a JSON Lines line
//! over it is one rejected row, the rest is read; a CSV line or JSON array
//! element over it ends the input there, since what follows cannot be
//! found without reading it whole. `batch` groups the valid records
//! into transactions of distinct keys and counts what they did, for the CLI
//! and the HTTP API alike. This module does no database work itself (the
//! caller's [`Writer`] does) and prints nothing.

mod batch;
mod stories;
mod subscribers;

use std::fmt;
use std::io::{self, BufRead, Read};

use crate::domain::Invalid;

pub use batch::{BATCH, Batching, Outcome, Repeats, Summary, Writer, run};
pub use stories::{STORY_FIELDS, StoryFormat, read_stories};
pub use subscribers::{SUBSCRIBER_COLUMNS, read_subscribers_csv};

/// The largest record accepted, in bytes: a story's longest fields (a
/// 10,000-character summary, all escaped as `\uXXXX`) take about 70 KB.
pub const MAX_RECORD: usize = 1024 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Skips a UTF-8 byte order mark at the start of `input`, if there is one.
pub fn skip_bom(input: &mut impl BufRead) -> io::Result<()> {
    let buf = input.fill_buf()?;
    if buf.starts_with(BOM) {
        input.consume(BOM.len());
    }
    Ok(())
}

/// A reader that fails once more than [`MAX_RECORD`] bytes pass without a
/// newline (or, with `reset`, without the caller marking a record's end),
/// so one huge record cannot fill memory.
struct Bounded<R> {
    inner: R,
    since_break: usize,
    newline_resets: bool,
}

impl<R> Bounded<R> {
    fn lines(inner: R) -> Self {
        Bounded {
            inner,
            since_break: 0,
            newline_resets: true,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let chunk = &buf[..n];
        match chunk
            .iter()
            .rposition(|&b| b == b'\n')
            .filter(|_| self.newline_resets)
        {
            Some(i) => self.since_break = n - i - 1,
            None => self.since_break += n,
        }
        if self.since_break > MAX_RECORD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a record is larger than {MAX_RECORD} bytes, the most accepted"),
            ));
        }
        Ok(n)
    }
}

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

/// The first characters that make a spreadsheet read a cell as a formula
/// (OWASP's list for CSV injection).
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A CSV cell as exported: one that a spreadsheet would run as a formula
/// (a formula character, maybe after some `'`) gets a leading `'`, which
/// spreadsheets show as nothing; [`unescape_cell`] takes it off on import.
pub fn escape_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.trim_start_matches('\'').starts_with(FORMULA_STARTS) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The inverse of [`escape_cell`]: one `'` is dropped from a cell that is
/// `'`s and then a formula character.
fn unescape_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.trim_start_matches('\'').starts_with(FORMULA_STARTS) => rest,
        _ => cell,
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
    if let csv::ErrorKind::Io(io) = e.kind()
        && io.kind() == io::ErrorKind::InvalidData
    {
        return anyhow::anyhow!("{io}; the input stops there");
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_round_trip() {
        for cell in [
            "=HYPERLINK(\"x\")",
            "+1",
            "-2",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "'=already",
            "''=x",
        ] {
            let escaped = escape_cell(cell);
            assert!(escaped.starts_with('\''), "{cell:?} -> {escaped:?}");
            assert_eq!(unescape_cell(&escaped), cell);
        }
        for cell in ["Ana", "O'Brien", "'quoted'", "a=b"] {
            assert_eq!(escape_cell(cell), cell);
            assert_eq!(unescape_cell(cell), cell);
        }
    }

    #[test]
    fn a_bom_is_skipped_once() {
        let mut r = io::BufReader::new(&b"\xEF\xBB\xBFemail\n"[..]);
        skip_bom(&mut r).unwrap();
        skip_bom(&mut r).unwrap();
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "email\n");
    }

    #[test]
    fn a_long_line_fails_the_bounded_reader() {
        let ok = format!("{}\n{}", "a".repeat(MAX_RECORD), "b".repeat(MAX_RECORD));
        let mut out = Vec::new();
        Bounded::lines(ok.as_bytes()).read_to_end(&mut out).unwrap();
        let long = "a".repeat(MAX_RECORD + 1);
        let err = Bounded::lines(long.as_bytes()).read_to_end(&mut out).unwrap_err();
        assert!(err.to_string().contains("larger than"), "{err}");
    }
}
