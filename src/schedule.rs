//! Scheduling: when each subscriber is due. Pure code with an explicit
//! clock: given a subscriber's IANA zone, local send hour and frequency, and
//! an instant `now`, [`due_for`] says which edition (frequency + local date) they
//! should get, or that it is too late. Daylight-saving changes are handled
//! here: a send hour that does not exist on a spring-forward day moves to the
//! first instant after the gap; one that happens twice on a fall-back day
//! counts once, at its first occurrence. The jobs that act on it live in
//! `daemon`; this module does no IO.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone as _, Utc, Weekday};

use crate::domain::Edition;
use crate::domain::{Frequency, Subscriber};

/// The schedule settings, from the `schedule` configuration.
#[derive(Debug, Clone, Copy)]
pub struct ScheduleRules {
    /// How late a digest may still go out: one exactly this late is sent,
    /// later ones are skipped (their stories roll into the next digest).
    pub grace: Duration,
    /// The local day weekly subscribers get theirs.
    pub weekly_day: Weekday,
}

/// What the scheduler decides for one subscriber at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Send this edition now; `late_by` is how far past the scheduled
    /// instant we are (a catch-up when large).
    Send {
        edition: Edition,
        scheduled_at: DateTime<Utc>,
        late_by: Duration,
    },
    /// The edition's time passed more than `grace` ago: skip it (exactly
    /// `grace` ago is still [`Due::Send`]).
    TooLate {
        edition: Edition,
        scheduled_at: DateTime<Utc>,
    },
    /// Nothing due at this instant.
    NotYet,
}

/// The instant a subscriber's digest for `date` is scheduled: `hour`:00
/// local time on that date. In a DST gap it is the first valid instant
/// after; when the hour occurs twice, the first occurrence.
pub fn scheduled_at(tz: chrono_tz::Tz, date: NaiveDate, hour: u8) -> DateTime<Utc> {
    let mut local = date.and_time(NaiveTime::from_hms_opt(hour.into(), 0, 0).expect("hour 0-23"));
    // Gaps are at most a few hours wide (and some zones skip whole days);
    // walk forward minute by minute at most two days.
    for _ in 0..2 * 24 * 60 {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => local += Duration::minutes(1),
        }
    }
    // Unreachable for real zones; fall back to reading the hour as UTC.
    date.and_time(NaiveTime::from_hms_opt(hour.into(), 0, 0).expect("hour 0-23"))
        .and_utc()
}

/// Which edition, if any, is due for a subscriber at `now`. Today's and
/// yesterday's local dates are both considered, so a 23:00 digest is still
/// sent by a tick just after midnight (within the grace period).
pub fn due(
    tz: chrono_tz::Tz,
    hour: u8,
    frequency: Frequency,
    now: DateTime<Utc>,
    rules: &ScheduleRules,
) -> Due {
    let today = now.with_timezone(&tz).date_naive();
    let mut result = Due::NotYet;
    for date in [today - Duration::days(1), today] {
        if frequency == Frequency::Weekly && date.weekday() != rules.weekly_day {
            continue;
        }
        let at = scheduled_at(tz, date, hour);
        if at > now {
            continue;
        }
        let edition = Edition { frequency, date };
        let late_by = now - at;
        // The latest date that has come wins: yesterday's is then moot.
        result = if late_by <= rules.grace {
            Due::Send {
                edition,
                scheduled_at: at,
                late_by,
            }
        } else {
            Due::TooLate {
                edition,
                scheduled_at: at,
            }
        };
    }
    result
}

/// [`due`] for a stored subscriber.
pub fn due_for(s: &Subscriber, now: DateTime<Utc>, rules: &ScheduleRules) -> Due {
    due(s.timezone.tz(), s.send_hour.get(), s.frequency, now, rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn tz(name: &str) -> chrono_tz::Tz {
        name.parse().unwrap()
    }

    const RULES: ScheduleRules = ScheduleRules {
        grace: Duration::hours(6),
        weekly_day: Weekday::Mon,
    };

    /// Walks `from..to` in 5-minute ticks, as the daemon does, and lists the
    /// instants a daily 07:00 (or `hour`) subscriber in `zone` would be sent
    /// each edition (first tick at which it is due and not yet sent).
    fn simulate(zone: &str, hour: u8, from: &str, to: &str) -> Vec<(NaiveDate, DateTime<Utc>)> {
        let zone = tz(zone);
        let mut sent: Vec<(NaiveDate, DateTime<Utc>)> = Vec::new();
        let mut t = at(from);
        while t < at(to) {
            if let Due::Send { edition, .. } = due(zone, hour, Frequency::Daily, t, &RULES)
                && !sent.iter().any(|(d, _)| *d == edition.date)
            {
                sent.push((edition.date, t));
            }
            t += Duration::minutes(5);
        }
        sent
    }

    fn local(zone: &str, t: DateTime<Utc>) -> String {
        t.with_timezone(&tz(zone)).format("%Y-%m-%d %H:%M %Z").to_string()
    }

    #[test]
    fn new_york_gets_0700_local_all_year_across_both_dst_changes() {
        // 2026: DST starts 8 March, ends 1 November.
        for (from, to) in [
            ("2026-03-06T00:00:00Z", "2026-03-11T00:00:00Z"),
            ("2026-10-30T00:00:00Z", "2026-11-04T00:00:00Z"),
        ] {
            let sends = simulate("America/New_York", 7, from, to);
            assert_eq!(sends.len(), 5, "one digest per day: {sends:?}");
            for (date, t) in sends {
                assert_eq!(
                    local("America/New_York", t),
                    format!(
                        "{} 07:00 {}",
                        date,
                        if t.with_timezone(&tz("America/New_York")).format("%Z").to_string() == "EDT" {
                            "EDT"
                        } else {
                            "EST"
                        }
                    )
                );
            }
        }
    }

    #[test]
    fn the_skipped_hour_is_sent_right_after_the_gap_and_the_repeated_hour_once() {
        // New York skips 02:00-03:00 on 8 March 2026 and repeats 01:00-02:00
        // on 1 November 2026.
        let spring = simulate(
            "America/New_York",
            2,
            "2026-03-07T00:00:00Z",
            "2026-03-10T00:00:00Z",
        );
        assert_eq!(spring.len(), 3);
        assert_eq!(local("America/New_York", spring[1].1), "2026-03-08 03:00 EDT");
        let fall = simulate(
            "America/New_York",
            1,
            "2026-10-31T00:00:00Z",
            "2026-11-03T00:00:00Z",
        );
        assert_eq!(
            fall.len(),
            3,
            "the repeated hour does not double the digest: {fall:?}"
        );
        assert_eq!(local("America/New_York", fall[1].1), "2026-11-01 01:00 EDT");
    }

    #[test]
    fn amman_lord_howe_and_kathmandu() {
        // Amman moved to permanent +03 in 2022: no change, 08:00 every day.
        let amman = simulate("Asia/Amman", 8, "2026-03-25T00:00:00Z", "2026-03-30T00:00:00Z");
        assert_eq!(amman.len(), 5);
        assert!(
            amman
                .iter()
                .all(|(_, t)| local("Asia/Amman", *t).contains(" 08:00 "))
        );
        // Lord Howe shifts by half an hour (DST ends 5 April 2026 02:00
        // local, back to 01:30): 01:30-02:00 happens twice.
        let lh = simulate(
            "Australia/Lord_Howe",
            1,
            "2026-04-03T00:00:00Z",
            "2026-04-07T00:00:00Z",
        );
        assert_eq!(lh.len(), 4, "{lh:?}");
        assert!(lh.iter().all(|(_, t)| {
            t.with_timezone(&tz("Australia/Lord_Howe"))
                .format("%H:%M")
                .to_string()
                == "01:00"
        }));
        // Kathmandu is UTC+05:45: 06:00 local is 00:15 UTC.
        let ktm = simulate(
            "Asia/Kathmandu",
            6,
            "2026-03-09T12:00:00Z",
            "2026-03-11T12:00:00Z",
        );
        assert_eq!(
            ktm.iter()
                .map(|(_, t)| t.format("%H:%M").to_string())
                .collect::<Vec<_>>(),
            ["00:15", "00:15"]
        );
    }

    #[test]
    fn catch_up_within_grace_and_skip_beyond() {
        let ny = tz("America/New_York");
        // 07:00 EST is 12:00 UTC; four hours late is caught up.
        match due(ny, 7, Frequency::Daily, at("2026-01-15T16:00:00Z"), &RULES) {
            Due::Send { edition, late_by, .. } => {
                assert_eq!(edition.date.to_string(), "2026-01-15");
                assert_eq!(late_by, Duration::hours(4));
            }
            other => panic!("{other:?}"),
        }
        // Seven hours late is skipped.
        assert!(matches!(
            due(ny, 7, Frequency::Daily, at("2026-01-15T19:00:00Z"), &RULES),
            Due::TooLate { .. }
        ));
        // Before 07:00 local, yesterday's is long past: nothing to do.
        assert!(matches!(
            due(ny, 7, Frequency::Daily, at("2026-01-15T11:00:00Z"), &RULES),
            Due::TooLate { .. }
        ));
        // A 23:00 digest is still sent at 00:30 the next day.
        match due(ny, 23, Frequency::Daily, at("2026-01-16T05:30:00Z"), &RULES) {
            Due::Send { edition, .. } => assert_eq!(edition.date.to_string(), "2026-01-15"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn exactly_grace_late_still_goes_out_a_second_more_does_not() {
        let ny = tz("America/New_York");
        // 07:00 EST is 12:00 UTC; grace is six hours.
        match due(ny, 7, Frequency::Daily, at("2026-01-15T18:00:00Z"), &RULES) {
            Due::Send { late_by, .. } => assert_eq!(late_by, RULES.grace),
            other => panic!("exactly grace late must still be sent: {other:?}"),
        }
        assert!(matches!(
            due(ny, 7, Frequency::Daily, at("2026-01-15T18:00:01Z"), &RULES),
            Due::TooLate { .. }
        ));
    }

    #[test]
    fn weekly_subscribers_get_theirs_on_the_weekly_day() {
        let utc = tz("UTC");
        // 2026-03-09 is a Monday.
        assert!(matches!(
            due(utc, 7, Frequency::Weekly, at("2026-03-09T07:05:00Z"), &RULES),
            Due::Send { .. }
        ));
        assert!(!matches!(
            due(utc, 7, Frequency::Weekly, at("2026-03-10T07:05:00Z"), &RULES),
            Due::Send { .. }
        ));
        assert!(matches!(
            due(utc, 7, Frequency::Weekly, at("2026-03-11T07:05:00Z"), &RULES),
            Due::NotYet
        ));
    }
}
