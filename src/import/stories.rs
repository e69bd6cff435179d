//! Story records: JSON arrays, JSON Lines and CSV with a header row, each
//! item validated into a `NewStory` or a `Rejection`. Reads nothing but its
//! input and writes nothing.

use std::cell::Cell;
use std::fmt;
use std::io::{self, BufRead, Read};
use std::rc::Rc;

use serde::de::{self, SeqAccess, Visitor};
use serde_json::Value;

use super::{
    Bounded, Errors, FieldError, Location, MAX_RECORD, Rejection, Sink, csv_error, map_header, rejection,
    row_rejection, skip_bom,
};
use crate::domain::text::{MAX_AUTHOR, MAX_SECTION, MAX_SUMMARY, MAX_TITLE};
use crate::domain::{HeaderSafe, HttpUrl, Invalid, Locale, NewStory, StoryKind, timestamp};

/// The fields of a story record, in export order.
pub const STORY_FIELDS: [&str; 11] = [
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
    "lang",
];

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

    /// Guesses from the first non-blank byte after a byte order mark, if
    /// any (which it consumes): `[` is a JSON array, `{` JSON Lines,
    /// anything else CSV.
    pub fn sniff(reader: &mut impl BufRead) -> io::Result<Self> {
        skip_bom(reader)?;
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

/// Reads stories in the given format (after a byte order mark, if any).
pub fn read_stories(
    mut input: impl BufRead,
    format: StoryFormat,
    sink: impl Sink<NewStory>,
) -> anyhow::Result<()> {
    skip_bom(&mut input).map_err(|e| anyhow::anyhow!("cannot read: {e}"))?;
    match format {
        StoryFormat::Csv => read_stories_csv(Bounded::lines(input), sink),
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
                if !sink(Err(row_rejection(&e))) {
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

/// JSON Lines: each line is its own record, so a line that is too long,
/// not UTF-8 or not JSON is one rejected row and the next line is read.
fn read_stories_jsonl(mut input: impl BufRead, mut sink: impl Sink<NewStory>) -> anyhow::Result<()> {
    let mut line = Vec::new();
    for n in 1.. {
        let location = Location::Line(n);
        line.clear();
        let read =
            read_line(&mut input, &mut line).map_err(|e| anyhow::anyhow!("{location}: cannot read: {e}"))?;
        let item = match read {
            Line::End => break,
            Line::TooLong => Err(rejection(
                location,
                "",
                format!("is larger than {MAX_RECORD} bytes, the most a record may be; skipped"),
            )),
            Line::Read => {
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                match serde_json::from_slice::<Value>(&line) {
                    Ok(value) => story_from_json(value)
                        .map(|s| (location, s))
                        .map_err(|errors| Rejection { location, errors }),
                    Err(e) if std::str::from_utf8(&line).is_err() => {
                        Err(rejection(location, "", format!("is not valid UTF-8 ({e})")))
                    }
                    Err(e) => Err(rejection(location, "", format!("invalid JSON: {e}"))),
                }
            }
        };
        if !sink(item) {
            break;
        }
    }
    Ok(())
}

/// What [`read_line`] found.
enum Line {
    Read,
    TooLong,
    End,
}

/// Reads one line (without its newline) into `buf`, keeping at most
/// [`MAX_RECORD`] bytes: the rest of a longer line is read and dropped.
fn read_line(input: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Line> {
    let mut too_long = false;
    let mut any = false;
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        any = true;
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        if !too_long {
            if buf.len() + take > MAX_RECORD {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&chunk[..take]);
            }
        }
        input.consume(take + usize::from(done));
        if done {
            break;
        }
    }
    Ok(match (any, too_long) {
        (false, _) => Line::End,
        (true, true) => Line::TooLong,
        (true, false) => Line::Read,
    })
}

fn read_stories_json(input: impl Read, mut sink: impl Sink<NewStory>) -> anyhow::Result<()> {
    let lines = Rc::new(Cell::new(1u64));
    let since = Rc::new(Cell::new(0usize));
    let items = Rc::new(Cell::new(0u64));
    let counting = LineCounter {
        inner: input,
        lines: lines.clone(),
        since: since.clone(),
    };
    let mut de = serde_json::Deserializer::from_reader(counting);
    let visitor = ArrayVisitor {
        lines: lines.clone(),
        since,
        items: items.clone(),
        sink: &mut sink,
    };
    use serde::Deserializer as _;
    match de.deserialize_seq(visitor) {
        Ok(()) => de
            .end()
            .map_err(|e| anyhow::anyhow!("invalid JSON after the array: {e}")),
        Err(e) if e.to_string() == STOPPED => Ok(()),
        Err(e) if e.is_io() => Err(anyhow::anyhow!(
            "item {}: {e}; the input stops there",
            items.get() + 1
        )),
        Err(e) => Err(anyhow::anyhow!(
            "invalid JSON: {e}; expected an array of story objects"
        )),
    }
}

const STOPPED: &str = "import stopped";

struct ArrayVisitor<'s, S> {
    lines: Rc<Cell<u64>>,
    /// Bytes read since the last element ended (reset here).
    since: Rc<Cell<usize>>,
    /// Elements read so far.
    items: Rc<Cell<u64>>,
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
            self.since.set(0);
            self.items.set(index);
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
/// placed on a line, and the bytes since the last element, so that one
/// element cannot grow past [`MAX_RECORD`]. serde_json reads one byte at a
/// time from a reader, so both counts are exact at every element boundary.
struct LineCounter<R> {
    inner: R,
    lines: Rc<Cell<u64>>,
    since: Rc<Cell<usize>>,
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let newlines = buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        self.lines.set(self.lines.get() + newlines);
        self.since.set(self.since.get() + n);
        if self.since.get() > MAX_RECORD {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("larger than {MAX_RECORD} bytes, the most a record may be"),
            ));
        }
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
    let lang = errors.check(
        "lang",
        text(get("lang")).and_then(|o| o.map(|s| Locale::parse(&s)).transpose()),
    );
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
        lang: lang.expect("checked"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::Record;

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
    fn a_bom_is_skipped_in_every_format() {
        let story = r#"{"title": "T", "url": "https://a.example/1", "published_at": "2026-03-10T07:00:00Z"}"#;
        for (input, format) in [
            (format!("\u{feff}[{story}]"), StoryFormat::Json),
            (format!("\u{feff}{story}\n"), StoryFormat::Jsonl),
            (
                "\u{feff}title,url,published_at\nT,https://a.example/1,2026-03-10T07:00:00Z\n".to_owned(),
                StoryFormat::Csv,
            ),
        ] {
            let (ok, bad) = collect_stories(&input, format);
            assert_eq!((ok.len(), bad.len()), (1, 0), "{format:?}: {bad:?}");
            let mut r = io::BufReader::new(input.as_bytes());
            assert_eq!(
                StoryFormat::sniff(&mut r).unwrap(),
                format,
                "sniffed past the BOM"
            );
        }
    }

    #[test]
    fn a_bad_json_line_is_one_rejected_row() {
        let good = r#"{"title": "T", "url": "https://a.example/1", "published_at": "2026-03-10T07:00:00Z"}"#;
        let good2 = good.replace("/1", "/2");
        let huge = format!(r#"{{"title": "{}"}}"#, "x".repeat(MAX_RECORD));
        let mut input = format!("{good}\n").into_bytes();
        input.extend_from_slice(b"{\"title\": \"\xff\xfe\"}\n{not json\n");
        input.extend_from_slice(huge.as_bytes());
        input.extend_from_slice(format!("\n{good2}\n").as_bytes());
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        read_stories(&input[..], StoryFormat::Jsonl, |r: Record<NewStory>| {
            match r {
                Ok((_, s)) => ok.push(s),
                Err(e) => bad.push(e.to_string()),
            }
            true
        })
        .unwrap();
        assert_eq!(ok.len(), 2, "{bad:?}");
        assert_eq!(bad.len(), 3, "{bad:?}");
        assert!(bad[0].starts_with("line 2: is not valid UTF-8"), "{}", bad[0]);
        assert!(bad[1].starts_with("line 3: invalid JSON"), "{}", bad[1]);
        assert!(
            bad[2].starts_with("line 4: is larger than 1048576 bytes"),
            "{}",
            bad[2]
        );
    }

    #[test]
    fn a_huge_array_element_ends_the_input_with_its_number() {
        let good = r#"{"title": "T", "url": "https://a.example/1", "published_at": "2026-03-10T07:00:00Z"}"#;
        let input = format!(r#"[{good}, {{"title": "{}"}}]"#, "x".repeat(MAX_RECORD));
        let mut ok = 0;
        let err = read_stories(input.as_bytes(), StoryFormat::Json, |r: Record<NewStory>| {
            ok += usize::from(r.is_ok());
            true
        })
        .unwrap_err()
        .to_string();
        assert_eq!(ok, 1);
        assert!(
            err.starts_with("item 2: ") && err.contains("larger than"),
            "{err}"
        );
    }

    #[test]
    fn lang_is_a_language_tag_in_every_format() {
        let json = r#"[
  {"title": "A", "url": "https://a.example/1", "published_at": "2026-03-10T07:00:00Z", "lang": "AR_jo"},
  {"title": "B", "url": "https://a.example/2", "published_at": "2026-03-10T07:00:00Z", "lang": "arabic!"},
  {"title": "C", "url": "https://a.example/3", "published_at": "2026-03-10T07:00:00Z", "lang": 7},
  {"title": "D", "url": "https://a.example/4", "published_at": "2026-03-10T07:00:00Z", "lang": null}
]"#;
        let (ok, bad) = collect_stories(json, StoryFormat::Json);
        let langs: Vec<_> = ok.iter().map(|s| s.lang.as_ref().map(|l| l.tag())).collect();
        assert_eq!(langs, vec![Some("ar-JO".to_owned()), None]);
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(
            bad[0].starts_with("item 2 (ending on line 3)")
                && bad[0].contains("field lang")
                && bad[0].contains("BCP 47"),
            "{}",
            bad[0]
        );
        assert!(
            bad[1].contains("field lang") && bad[1].contains("expected a string"),
            "{}",
            bad[1]
        );

        let csv = "title,url,published_at,lang\nA,https://a.example/1,2026-03-10T07:00:00Z,fr\n\
                   B,https://a.example/2,2026-03-10T07:00:00Z,\nC,https://a.example/3,2026-03-10T07:00:00Z,x-y-z!\n";
        let (ok, bad) = collect_stories(csv, StoryFormat::Csv);
        let langs: Vec<_> = ok.iter().map(|s| s.lang.as_ref().map(|l| l.tag())).collect();
        assert_eq!(
            langs,
            vec![Some("fr".to_owned()), None],
            "an empty cell is no language"
        );
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(
            bad[0].starts_with("line 4") && bad[0].contains("field lang"),
            "{}",
            bad[0]
        );

        let jsonl = "{\"title\": \"A\", \"url\": \"https://a.example/1\", \"published_at\": \"2026-03-10T07:00:00Z\", \"lang\": \"\"}\n";
        let (ok, bad) = collect_stories(jsonl, StoryFormat::Jsonl);
        assert_eq!(
            (ok.len(), bad.len()),
            (1, 0),
            "an empty string is no language: {bad:?}"
        );
        assert_eq!(ok[0].lang, None);
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
