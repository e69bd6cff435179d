//! Subscriber records: a CSV with a header row (only `email` required),
//! each row validated into a `SubscriberUpdate` or a `Rejection`. Reads
//! nothing but its input and writes nothing.

use std::io::{BufReader, Read};

use super::{
    Bounded, Errors, FieldError, Location, Rejection, Sink, csv_error, map_header, rejection, row_rejection,
    skip_bom, unescape_cell,
};
use crate::domain::text::MAX_NAME;
use crate::domain::{
    HeaderSafe, Invalid, Locale, SendHour, SubscriberEmail, SubscriberUpdate, TimeZone, Topics,
};

/// The columns of a subscriber CSV, in export order.
pub const SUBSCRIBER_COLUMNS: [&str; 8] = [
    "email",
    "name",
    "timezone",
    "frequency",
    "send_hour",
    "topics",
    "status",
    "locale",
];

/// Reads a subscriber CSV (header row required; only `email` must be
/// present; `topics` separated by `;`). A cell that `subscribers export`
/// guarded against spreadsheet formulas (a leading `'`) is read back as it
/// was.
pub fn read_subscribers_csv(input: impl Read, mut sink: impl Sink<SubscriberUpdate>) -> anyhow::Result<()> {
    let mut input = BufReader::new(Bounded::lines(input));
    skip_bom(&mut input).map_err(|e| anyhow::anyhow!("cannot read: {e}"))?;
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
                if !sink(Err(row_rejection(&e))) {
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
                .map(unescape_cell)
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
    let locale = get("locale").map(|v| errors.check("locale", Locale::parse(v)));
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
        locale: locale.flatten(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::Record;

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

    fn read(input: &[u8]) -> (Vec<SubscriberUpdate>, Vec<String>) {
        let (mut ok, mut bad) = (Vec::new(), Vec::new());
        read_subscribers_csv(input, |r: Record<SubscriberUpdate>| {
            match r {
                Ok((_, u)) => ok.push(u),
                Err(e) => bad.push(e.to_string()),
            }
            true
        })
        .unwrap();
        (ok, bad)
    }

    #[test]
    fn a_bom_and_guarded_cells_are_read() {
        let (ok, bad) = read(b"\xEF\xBB\xBFemail,name\n'=x@example.com,'+Ana\n");
        assert!(bad.is_empty(), "{bad:?}");
        assert_eq!(ok[0].email.as_str(), "=x@example.com");
        assert_eq!(ok[0].name.as_ref().unwrap().as_str(), "+Ana");
    }
}
