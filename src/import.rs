//! Import parsing: turns CSV, JSON and JSON Lines input into validated domain
//! values one record at a time, handing each to a callback as it is read, so
//! a file of any size streams through in constant memory. Every rejected
//! record becomes a [`Rejection`] naming its line, field and reason; the
//! records around it are unaffected. Fatal problems (unreadable input, no
//! header, broken JSON) end the stream with an error saying where. This
//! module does no database work and prints nothing.

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

use chrono::{DateTime, SubsecRound, Utc};
use serde::de::{self, SeqAccess, Visitor};
use serde_json::Value;

use crate::domain::{
    HeaderSafe, HttpUrl, Invalid, NewStory, SendHour, StoryKind, SubscriberEmail, SubscriberUpdate, TimeZone,
    Topics,
};

/// The columns of a subscriber CSV, in export order.
pub const SUBSCRIBER_COLUMNS: [&str; 7] = [
    "email",
    "name",
    "timezone",
    "frequency",
    "send_hour",
    "topics",
    "status",
];

/// The fields of a story record, in export order.
pub const STORY_FIELDS: [&str; 10] = [
    "kind",
    "title",
    "url",
    "summary",
    "author",
    "section",
    "image_url",
    "published_at",
    "votes",
    "comments",
];

/// Longest accepted values, in characters.
const MAX_NAME: usize = 200;
pub(crate) const MAX_TITLE: usize = 500;
pub(crate) const MAX_AUTHOR: usize = 200;
pub(crate) const MAX_SECTION: usize = 64;
const MAX_SUMMARY: usize = 10_000;

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

/// Input formats for stories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoryFormat {
    /// A JSON array of objects.
    Json,
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header row.
    Csv,
}

impl StoryFormat {
    /// The format a file name implies, if any.
    pub fn from_extension(path: &std::path::Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(StoryFormat::Json),
            "jsonl" | "ndjson" => Some(StoryFormat::Jsonl),
            "csv" => Some(StoryFormat::Csv),
            _ => None,
        }
    }

    /// Guesses from the first non-blank byte: `[` is a JSON array, `{` JSON
    /// Lines, anything else CSV.
    pub fn sniff(reader: &mut impl BufRead) -> io::Result<Self> {
        loop {
            let buf = reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(StoryFormat::Csv);
            }
            match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                Some(i) => {
                    return Ok(match buf[i] {
                        b'[' => StoryFormat::Json,
                        b'{' => StoryFormat::Jsonl,
                        _ => StoryFormat::Csv,
                    });
                }
                None => {
                    // A block of whitespace: JSON allows it before the value,
                    // so it can be consumed.
                    let n = buf.len();
                    reader.consume(n);
                }
            }
        }
    }
}

/// Reads a subscriber CSV (header row required; only `email` must be
/// present; `topics` separated by `;`).
pub fn read_subscribers_csv(input: impl Read, mut sink: impl Sink<SubscriberUpdate>) -> anyhow::Result<()> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header = reader.headers().map_err(|e| csv_error(&e))?.clone();
    let columns = map_header(&header, &SUBSCRIBER_COLUMNS, &["email"])?;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }
                ) =>
            {
                let line = e.position().map_or(0, |p| p.line());
                if !sink(Err(rejection(
                    Location::Line(line),
                    "",
                    csv_error(&e).to_string(),
                ))) {
                    return Ok(());
                }
                continue;
            }
            Err(e) => return Err(csv_error(&e)),
        }
        let line = record.position().map_or(0, |p| p.line());
        let get = |name: &str| {
            columns
                .get(name)
                .and_then(|&i| record.get(i))
                .filter(|v| !v.trim().is_empty())
        };
        let item = if record.len() != header.len() {
            Err(rejection(
                Location::Line(line),
                "",
                format!("has {} fields; the header has {}", record.len(), header.len()),
            ))
        } else {
            subscriber_from_fields(get)
                .map(|u| (Location::Line(line), u))
                .map_err(|errors| Rejection {
                    location: Location::Line(line),
                    errors,
                })
        };
        if !sink(item) {
            return Ok(());
        }
    }
}

fn subscriber_from_fields<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
) -> Result<SubscriberUpdate, Vec<FieldError>> {
    let mut errors = Errors::default();
    let email = errors.check(
        "email",
        get("email").map_or_else(
            || Err(Invalid::new("is missing; it is required")),
            SubscriberEmail::parse,
        ),
    );
    let name = get("name").map(|v| errors.check("name", HeaderSafe::parse(v, MAX_NAME)));
    let timezone = get("timezone").map(|v| errors.check("timezone", TimeZone::parse(v)));
    let frequency = get("frequency").map(|v| errors.check("frequency", v.parse()));
    let send_hour = get("send_hour").map(|v| errors.check("send_hour", SendHour::parse(v)));
    let topics = get("topics").map(|v| errors.check("topics", Topics::parse(v, ';')));
    let status = get("status").map(|v| errors.check("status", v.parse()));
    if !errors.0.is_empty() {
        return Err(errors.0);
    }
    Ok(SubscriberUpdate {
        email: email.expect("no errors, so present"),
        name: name.flatten(),
        status: status.flatten(),
        timezone: timezone.flatten(),
        frequency: frequency.flatten(),
        send_hour: send_hour.flatten(),
        topics: topics.flatten(),
    })
}

/// Reads stories in the given format.
pub fn read_stories(
    input: impl BufRead,
    format: StoryFormat,
    sink: impl Sink<NewStory>,
) -> anyhow::Result<()> {
    match format {
        StoryFormat::Csv => read_stories_csv(input, sink),
        StoryFormat::Jsonl => read_stories_jsonl(input, sink),
        StoryFormat::Json => read_stories_json(input, sink),
    }
}

fn read_stories_csv(input: impl Read, mut sink: impl Sink<NewStory>) -> anyhow::Result<()> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header = reader.headers().map_err(|e| csv_error(&e))?.clone();
    let columns = map_header(&header, &STORY_FIELDS, &["title", "url"])?;
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) if matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) => {
                let line = e.position().map_or(0, |p| p.line());
                if !sink(Err(rejection(
                    Location::Line(line),
                    "",
                    csv_error(&e).to_string(),
                ))) {
                    return Ok(());
                }
                continue;
            }
            Err(e) => return Err(csv_error(&e)),
        }
        let location = Location::Line(record.position().map_or(0, |p| p.line()));
        let item = if record.len() != header.len() {
            Err(rejection(
                location,
                "",
                format!("has {} fields; the header has {}", record.len(), header.len()),
            ))
        } else {
            let get = |name: &str| {
                columns
                    .get(name)
                    .and_then(|&i| record.get(i))
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| Value::String(v.to_owned()))
            };
            story_from_fields(get)
                .map(|s| (location, s))
                .map_err(|errors| Rejection { location, errors })
        };
        if !sink(item) {
            return Ok(());
        }
    }
}

fn read_stories_jsonl(input: impl BufRead, mut sink: impl Sink<NewStory>) -> anyhow::Result<()> {
    for (i, line) in input.lines().enumerate() {
        let location = Location::Line(i as u64 + 1);
        let line = line.map_err(|e| anyhow::anyhow!("{location}: cannot read: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let item = match serde_json::from_str::<Value>(&line) {
            Ok(value) => story_from_json(value)
                .map(|s| (location, s))
                .map_err(|errors| Rejection { location, errors }),
            Err(e) => Err(rejection(location, "", format!("invalid JSON: {e}"))),
        };
        if !sink(item) {
            break;
        }
    }
    Ok(())
}

fn read_stories_json(input: impl Read, mut sink: impl Sink<NewStory>) -> anyhow::Result<()> {
    let lines = Rc::new(Cell::new(1u64));
    let counting = LineCounter {
        inner: input,
        lines: lines.clone(),
    };
    let mut de = serde_json::Deserializer::from_reader(counting);
    let visitor = ArrayVisitor {
        lines: lines.clone(),
        sink: &mut sink,
    };
    use serde::Deserializer as _;
    match de.deserialize_seq(visitor) {
        Ok(()) => de
            .end()
            .map_err(|e| anyhow::anyhow!("invalid JSON after the array: {e}")),
        Err(e) if e.to_string() == STOPPED => Ok(()),
        Err(e) => Err(anyhow::anyhow!(
            "invalid JSON: {e}; expected an array of story objects"
        )),
    }
}

const STOPPED: &str = "import stopped";

struct ArrayVisitor<'s, S> {
    lines: Rc<Cell<u64>>,
    sink: &'s mut S,
}

impl<'de, S: Sink<NewStory>> Visitor<'de> for ArrayVisitor<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of story objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some(value) = seq.next_element::<Value>()? {
            index += 1;
            let location = Location::Item {
                index,
                end_line: self.lines.get(),
            };
            let item = story_from_json(value)
                .map(|s| (location, s))
                .map_err(|errors| Rejection { location, errors });
            if !(self.sink)(item) {
                return Err(de::Error::custom(STOPPED));
            }
        }
        Ok(())
    }
}

/// Counts the newlines that pass through, so that a JSON array element can be
/// placed on a line. serde_json reads one byte at a time from a reader, so
/// the count is exact at every element boundary.
struct LineCounter<R> {
    inner: R,
    lines: Rc<Cell<u64>>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let newlines = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        self.lines.set(self.lines.get() + newlines);
        Ok(n)
    }
}

fn story_from_json(value: Value) -> Result<NewStory, Vec<FieldError>> {
    let Value::Object(mut map) = value else {
        return Err(vec![FieldError {
            field: "",
            reason: format!("is {}; expected an object with story fields", json_kind(&value)),
        }]);
    };
    if let Some(unknown) = map.keys().find(|k| !STORY_FIELDS.contains(&k.as_str())) {
        return Err(vec![FieldError {
            field: "",
            reason: format!(
                "unknown field {unknown:?}; expected some of: {}",
                STORY_FIELDS.join(", ")
            ),
        }]);
    }
    story_from_fields(|name| map.remove(name).filter(|v| !v.is_null()))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Validates one story from its fields; CSV cells arrive as JSON strings.
fn story_from_fields(mut get: impl FnMut(&str) -> Option<Value>) -> Result<NewStory, Vec<FieldError>> {
    let mut errors = Errors::default();
    let text = |v: Option<Value>| -> Result<Option<String>, Invalid> {
        match v {
            None => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(Invalid::new(format!(
                "is {}; expected a string",
                json_kind(&other)
            ))),
        }
    };
    let required = |v: Result<Option<String>, Invalid>| {
        v.and_then(|o| o.ok_or_else(|| Invalid::new("is missing; it is required")))
    };

    let kind = errors.check(
        "kind",
        text(get("kind")).and_then(|o| o.map_or(Ok(StoryKind::Story), |s| s.parse())),
    );
    let title = errors.check(
        "title",
        required(text(get("title"))).and_then(|s| HeaderSafe::parse(&s, MAX_TITLE)),
    );
    let url = errors.check("url", required(text(get("url"))).and_then(|s| HttpUrl::parse(&s)));
    let summary = errors.check(
        "summary",
        text(get("summary")).and_then(|o| summary(o.unwrap_or_default())),
    );
    let author = errors.check(
        "author",
        text(get("author")).and_then(|o| HeaderSafe::parse(&o.unwrap_or_default(), MAX_AUTHOR)),
    );
    let section = errors.check(
        "section",
        text(get("section")).and_then(|o| HeaderSafe::parse(&o.unwrap_or_default(), MAX_SECTION)),
    );
    let image_url = errors.check(
        "image_url",
        text(get("image_url")).and_then(|o| o.map(|s| HttpUrl::parse(&s)).transpose()),
    );
    let published_at = errors.check(
        "published_at",
        required(text(get("published_at"))).and_then(|s| timestamp(&s)),
    );
    let votes = errors.check("votes", count(get("votes")));
    let comments = errors.check("comments", count(get("comments")));
    if !errors.0.is_empty() {
        return Err(errors.0);
    }
    // `check` returned Some for every field, since no error was recorded.
    Ok(NewStory {
        kind: kind.expect("checked"),
        title: title.expect("checked"),
        url: url.expect("checked"),
        summary: summary.expect("checked"),
        author: author.expect("checked"),
        section: section.expect("checked"),
        image_url: image_url.expect("checked"),
        published_at: published_at.expect("checked"),
        votes: votes.expect("checked"),
        comments: comments.expect("checked"),
    })
}

/// Summaries are plain text: whitespace runs (line breaks included) become
/// one space.
fn summary(raw: String) -> Result<String, Invalid> {
    let s = crate::domain::text::collapse(&raw);
    if s.chars().any(char::is_control) {
        return Err(Invalid::new("contains control characters"));
    }
    let n = s.chars().count();
    if n > MAX_SUMMARY {
        return Err(Invalid::new(format!(
            "is {n} characters long; at most {MAX_SUMMARY} allowed"
        )));
    }
    Ok(s)
}

/// An RFC 3339 timestamp, stored in UTC to the second.
pub fn timestamp(raw: &str) -> Result<DateTime<Utc>, Invalid> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(0))
        .map_err(|e| {
            Invalid::new(format!(
                "{raw:?} is not an RFC 3339 timestamp ({e}); expected e.g. 2026-03-10T07:30:00Z"
            ))
        })
}

fn count(v: Option<Value>) -> Result<i64, Invalid> {
    let n = match v {
        None => return Ok(0),
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| {
            Invalid::new(format!(
                "{n} is not a whole number; expected a non-negative integer"
            ))
        })?,
        Some(Value::String(s)) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| Invalid::new(format!("{s:?} is not a number; expected a non-negative integer")))?,
        Some(other) => {
            return Err(Invalid::new(format!(
                "is {}; expected a non-negative integer",
                json_kind(&other)
            )));
        }
    };
    if n < 0 {
        return Err(Invalid::new(format!(
            "{n} is negative; expected a non-negative integer"
        )));
    }
    Ok(n)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn collect_stories(input: &str, format: StoryFormat) -> (Vec<NewStory>, Vec<String>) {
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        read_stories(input.as_bytes(), format, |r: Record<NewStory>| {
            match r {
                Ok((_, s)) => ok.push(s),
                Err(e) => bad.push(e.to_string()),
            }
            true
        })
        .unwrap();
        (ok, bad)
    }

    #[test]
    fn json_array_reports_items_and_lines() {
        let input = r#"[
  {"title": "Good", "url": "https://a.example/1", "published_at": "2026-03-10T07:00:00Z", "votes": 3},
  {"title": "Bad", "url": "ftp://a.example/2", "published_at": "2026-03-10T07:00:00Z", "votes": -1}
]"#;
        let (ok, bad) = collect_stories(input, StoryFormat::Json);
        assert_eq!(ok.len(), 1);
        assert_eq!(bad.len(), 1);
        assert!(bad[0].starts_with("item 2 (ending on line 3)"), "{}", bad[0]);
        assert!(
            bad[0].contains("field url") && bad[0].contains("field votes"),
            "{}",
            bad[0]
        );
    }

    #[test]
    fn header_line_breaks_are_rejected() {
        let input = "title,url,published_at\n\"A\r\nBcc: x@y.z\",https://a.example/,2026-03-10T07:00:00Z\n";
        let (ok, bad) = collect_stories(input, StoryFormat::Csv);
        assert!(ok.is_empty());
        assert!(
            bad[0].contains("line 2") && bad[0].contains("field title"),
            "{bad:?}"
        );
    }

    #[test]
    fn subscriber_csv_without_header_is_fatal() {
        let err = read_subscribers_csv(
            "ana@example.com,Ana\n".as_bytes(),
            |_: Record<SubscriberUpdate>| true,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("header"), "{err}");
    }

    #[test]
    fn sniffs_formats() {
        let mut r = io::BufReader::new("  \n [".as_bytes());
        assert_eq!(StoryFormat::sniff(&mut r).unwrap(), StoryFormat::Json);
        let mut r = io::BufReader::new("{\"a\":1}".as_bytes());
        assert_eq!(StoryFormat::sniff(&mut r).unwrap(), StoryFormat::Jsonl);
        let mut r = io::BufReader::new("title,url".as_bytes());
        assert_eq!(StoryFormat::sniff(&mut r).unwrap(), StoryFormat::Csv);
    }
}
