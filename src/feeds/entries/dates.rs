//! Reading the dates feeds write. RFC 3339 and RFC 2822 first (what the
//! formats prescribe), then, after dropping a weekday name and commas and
//! turning a zone abbreviation (GMT, UTC, EST, CET, …) into its offset, a
//! list of chrono formats for what feeds write instead:
//! `Sat, Dec 16 2023 02:02:33 PM`, `2018-01-06T08:00`, `2020/1/10 14:33:00`,
//! `16 December 2023`, `2023-12-16 14:02 +0100`… A time without an offset
//! is read at the offset the caller gives (the feed's, when its other dates
//! agree on one; else UTC); a date without a time is midnight there.
//! Nothing else is guessed: no relative dates ("2 hours ago"), no
//! day/month order for `01/02/2023`, no bare times. Pure.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// A date read from a feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedDate {
    pub at: DateTime<Utc>,
    /// The offset the text carried; `None` when it had none and the
    /// caller's was used.
    pub offset: Option<FixedOffset>,
}

/// Formats with an offset, tried on the normalised text.
const WITH_OFFSET: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f%z",
    "%Y-%m-%dT%H:%M%z",
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f %z",
    "%Y-%m-%d %H:%M%z",
    "%Y-%m-%d %H:%M %z",
    "%Y-%m-%d %I:%M:%S %p %z",
    "%Y/%m/%d %H:%M:%S %z",
    "%Y/%m/%d %H:%M %z",
    "%d %B %Y %H:%M:%S%.f %z",
    "%d %B %Y %H:%M %z",
    "%d %B %Y %I:%M:%S %p %z",
    "%d %B %Y %I:%M %p %z",
    "%B %d %Y %H:%M:%S %z",
    "%B %d %Y %H:%M %z",
    "%B %d %Y %I:%M:%S %p %z",
    "%B %d %Y %I:%M %p %z",
    "%d %B %y %H:%M:%S %z",
];

/// Formats without an offset.
const NAIVE: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %I:%M:%S %p",
    "%Y-%m-%d %I:%M %p",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d %I:%M:%S %p",
    "%Y/%m/%d %I:%M %p",
    "%d %B %Y %H:%M:%S%.f",
    "%d %B %Y %H:%M",
    "%d %B %Y %I:%M:%S %p",
    "%d %B %Y %I:%M %p",
    "%B %d %Y %H:%M:%S",
    "%B %d %Y %H:%M",
    "%B %d %Y %I:%M:%S %p",
    "%B %d %Y %I:%M %p",
];

/// Dates without a time.
const DATE_ONLY: &[&str] = &["%Y-%m-%d", "%Y/%m/%d", "%d %B %Y", "%B %d %Y"];

/// Reads a feed's date; a time without an offset is taken at `naive_at`.
pub fn parse(raw: &str, naive_at: FixedOffset) -> Option<FeedDate> {
    let s = raw.trim();
    if s.is_empty() || s.len() > 80 {
        return None;
    }
    let with_offset = |d: DateTime<FixedOffset>| FeedDate {
        at: d.with_timezone(&Utc),
        offset: Some(*d.offset()),
    };
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(with_offset(d));
    }
    if let Ok(d) = DateTime::parse_from_rfc2822(s) {
        return Some(with_offset(d));
    }
    let text = normalise(s);
    // A space in a chrono format matches no space too, so "Dec 2023" could
    // read as December 20 of the year 23: the year must be written whole.
    let whole_year = |year: i32| text.contains(&format!("{year:04}"));
    if let Some(d) = WITH_OFFSET.iter().find_map(|f| {
        DateTime::parse_from_str(&text, f)
            .ok()
            .filter(|d| whole_year(d.year()))
    }) {
        return Some(with_offset(d));
    }
    let naive = NAIVE
        .iter()
        .find_map(|f| {
            NaiveDateTime::parse_from_str(&text, f)
                .ok()
                .filter(|d| whole_year(d.year()))
        })
        .or_else(|| {
            DATE_ONLY
                .iter()
                .find_map(|f| {
                    NaiveDate::parse_from_str(&text, f)
                        .ok()
                        .filter(|d| whole_year(d.year()))
                })
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })?;
    let at = naive_at.from_local_datetime(&naive).single()?;
    Some(FeedDate {
        at: at.with_timezone(&Utc),
        offset: None,
    })
}

/// One space between tokens, no commas, no weekday name, no parenthesised
/// comment (`+0100 (CET)`), a zone abbreviation as its offset and a `Z`
/// as `+00:00`.
fn normalise(s: &str) -> String {
    let mut tokens: Vec<String> = s
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    if let Some(first) = tokens.first()
        && is_weekday(first)
    {
        tokens.remove(0);
    }
    if let Some(at) = tokens.iter().position(|t| t.starts_with('(')) {
        tokens.truncate(at);
    }
    if let Some(last) = tokens.last_mut() {
        if let Some(offset) = zone_offset(last) {
            *last = offset.to_owned();
        } else if last.len() > 1
            && (last.ends_with('Z') || last.ends_with('z'))
            && last.as_bytes()[last.len() - 2].is_ascii_digit()
        {
            last.pop();
            last.push_str("+00:00");
        }
    }
    tokens.join(" ")
}

fn is_weekday(token: &str) -> bool {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let lower = token.trim_end_matches('.').to_ascii_lowercase();
    lower.len() >= 3
        && lower.chars().all(|c| c.is_ascii_alphabetic())
        && DAYS.iter().any(|d| lower.starts_with(d))
}

/// The offset of a zone abbreviation: RFC 822's, and the few others feeds
/// commonly write whose meaning is not in doubt.
fn zone_offset(token: &str) -> Option<&'static str> {
    Some(match token.to_ascii_uppercase().as_str() {
        "UT" | "UTC" | "GMT" | "Z" => "+0000",
        "EST" => "-0500",
        "EDT" => "-0400",
        "CST" => "-0600",
        "CDT" => "-0500",
        "MST" => "-0700",
        "MDT" => "-0600",
        "PST" => "-0800",
        "PDT" => "-0700",
        "WET" => "+0000",
        "WEST" | "BST" | "CET" => "+0100",
        "CEST" | "EET" => "+0200",
        "EEST" | "MSK" => "+0300",
        "JST" | "KST" => "+0900",
        "AEST" => "+1000",
        "AEDT" => "+1100",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(raw: &str) -> Option<String> {
        parse(raw, FixedOffset::east_opt(0).unwrap()).map(|d| d.at.to_rfc3339())
    }

    #[test]
    fn the_forms_feeds_write() {
        let cases = [
            ("Tue, 10 Mar 2026 08:30:00 +0000", "2026-03-10T08:30:00+00:00"),
            ("2026-03-10T08:30:00+01:00", "2026-03-10T07:30:00+00:00"),
            ("Sat, Dec 16 2023 02:02:33 PM", "2023-12-16T14:02:33+00:00"),
            ("2018-01-06T08:00", "2018-01-06T08:00:00+00:00"),
            ("2020/1/10 14:33:00", "2020-01-10T14:33:00+00:00"),
            ("Thurs, 13 Jul 2011 07:38:00 GMT", "2011-07-13T07:38:00+00:00"),
            ("Wed, 02 Jun 2021 06:31:39 UTC", "2021-06-02T06:31:39+00:00"),
            ("Mon, 4 March 2024 9:05:00 EST", "2024-03-04T14:05:00+00:00"),
            ("2023-12-16 14:02:33 +0100", "2023-12-16T13:02:33+00:00"),
            ("2023-12-16T14:02Z", "2023-12-16T14:02:00+00:00"),
            ("2023-12-16T14:02:33.250+0100", "2023-12-16T13:02:33.250+00:00"),
            ("December 16, 2023 2:02 pm", "2023-12-16T14:02:00+00:00"),
            ("16 December 2023", "2023-12-16T00:00:00+00:00"),
            ("2023-12-16", "2023-12-16T00:00:00+00:00"),
            (
                "Sat, 16 Dec 2023 14:02:33 +0100 (CET)",
                "2023-12-16T13:02:33+00:00",
            ),
        ];
        for (raw, expected) in cases {
            assert_eq!(utc(raw).as_deref(), Some(expected), "{raw}");
        }
        for raw in [
            "",
            "soon",
            "2 hours ago",
            "14:33",
            "01/02/2023",
            "Dec 2023",
            "1700000000",
        ] {
            assert_eq!(utc(raw), None, "{raw}");
        }
    }

    #[test]
    fn naive_times_take_the_given_offset() {
        let plus2 = FixedOffset::east_opt(2 * 3600).unwrap();
        let d = parse("2018-01-06T08:00", plus2).unwrap();
        assert_eq!(
            (d.at.to_rfc3339().as_str(), d.offset),
            ("2018-01-06T06:00:00+00:00", None)
        );
        let d = parse("2018-01-06T08:00:00-05:00", plus2).unwrap();
        assert_eq!(d.offset, FixedOffset::west_opt(5 * 3600));
    }
}
