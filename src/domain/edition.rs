//! An edition: one round of digests, named by its frequency and date (e.g.
//! `daily-2026-03-10`), and the length of a frequency's period. Pure values;
//! when an edition is due is `schedule`'s business, what goes into it is
//! `select`'s.

use std::fmt;
use std::str::FromStr;

use chrono::{Duration, NaiveDate};

use super::{Frequency, Invalid};

/// One digest round: a frequency and a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Edition {
    pub frequency: Frequency,
    pub date: NaiveDate,
}

impl Edition {
    /// A stable name, e.g. `daily-2026-03-10`.
    pub fn key(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Edition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.frequency, self.date.format("%Y-%m-%d"))
    }
}

impl FromStr for Edition {
    type Err = Invalid;

    /// Parses `daily-2026-03-10`.
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let (freq, date) = s.split_once('-').ok_or_else(|| {
            Invalid::new(format!("{s:?} is not an edition; expected e.g. daily-2026-03-10"))
        })?;
        let frequency = freq
            .parse()
            .map_err(|e| Invalid::new(format!("edition {s:?}: {e}")))?;
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .map_err(|_| Invalid::new(format!("edition {s:?}: expected a date like 2026-03-10")))?;
        Ok(Edition { frequency, date })
    }
}

impl Frequency {
    /// The length of one period.
    pub fn period(self) -> Duration {
        match self {
            Frequency::Daily => Duration::days(1),
            Frequency::Weekly => Duration::days(7),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_its_key() {
        let e: Edition = "weekly-2026-03-09".parse().unwrap();
        assert_eq!(e.frequency, Frequency::Weekly);
        assert_eq!(e.key(), "weekly-2026-03-09");
        assert!("daily".parse::<Edition>().is_err());
        assert!("monthly-2026-03-09".parse::<Edition>().is_err());
        assert!("daily-2026-13-01".parse::<Edition>().is_err());
    }
}
