//! Calendar dates that may be partial (year only, or year and month), as case reports carry them.
//!
//! E2B(R3) dates are HL7 `TS` values whose precision may stop at the year or the month (ICH E2B(R3)
//! IG §3.3.5, summarised in `../shared/knowledge/clinical.md` §5), and FAERS dates are the same. A
//! time-to-onset computation needs day precision at both ends, so the precision travels with the date.
use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How much of a [`PartialDate`] is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// Only the year is known.
    Year,
    /// Year and month are known.
    Month,
    /// The full calendar date is known.
    Day,
}

/// A calendar date known to year, month or day precision.
///
/// JSON form: `"2024"`, `"2024-03"` or `"2024-03-15"`. HL7 form: `"2024"`, `"202403"`, `"20240315"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialDate {
    year: i32,
    month: Option<u32>,
    day: Option<u32>,
}

/// Why a date string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid date {text:?}: {reason} (expected YYYY, YYYY-MM or YYYY-MM-DD)")]
pub struct DateError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl PartialDate {
    /// A full date; `None` when the day does not exist in that month.
    pub fn ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        NaiveDate::from_ymd_opt(year, month, day)?;
        Some(PartialDate {
            year,
            month: Some(month),
            day: Some(day),
        })
    }

    /// A date known only to the month; `None` for a month outside 1–12.
    pub fn ym(year: i32, month: u32) -> Option<Self> {
        (1..=12).contains(&month).then_some(PartialDate {
            year,
            month: Some(month),
            day: None,
        })
    }

    /// A date known only to the year.
    pub fn year_only(year: i32) -> Self {
        PartialDate {
            year,
            month: None,
            day: None,
        }
    }

    /// The precision of this date.
    pub fn precision(&self) -> Precision {
        match (self.month, self.day) {
            (Some(_), Some(_)) => Precision::Day,
            (Some(_), None) => Precision::Month,
            _ => Precision::Year,
        }
    }

    /// The calendar date when the day is known.
    pub fn exact(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month?, self.day?)
    }

    /// The year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// Whole days from `self` to `later` when both are exact (negative when `later` is earlier).
    pub fn days_until(&self, later: &PartialDate) -> Option<i64> {
        Some((later.exact()? - self.exact()?).num_days())
    }

    /// Whether `self` is certainly earlier than `other`, compared at the precision both share (a
    /// month-only date is not before a full date inside that month, nor after it).
    pub fn surely_before(&self, other: &PartialDate) -> bool {
        let key = |d: &PartialDate, depth: usize| {
            [
                Some(d.year as i64),
                d.month.map(i64::from),
                d.day.map(i64::from),
            ]
            .into_iter()
            .take(depth)
            .map(|x| x.unwrap_or(0))
            .collect::<Vec<_>>()
        };
        let depth = self.precision().min(other.precision()) as usize + 1;
        key(self, depth) < key(other, depth)
    }

    /// Parse the ISO-like JSON form `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub fn parse_iso(text: &str) -> Result<Self, DateError> {
        let err = |reason| DateError {
            text: text.to_string(),
            reason,
        };
        let parts: Vec<&str> = text.trim().split('-').collect();
        let num = |s: &str, len: usize| -> Result<u32, DateError> {
            if s.len() != len || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("each part must be digits of the right length"));
            }
            s.parse::<u32>().map_err(|_| err("not a number"))
        };
        match parts.as_slice() {
            [y] => Ok(Self::year_only(num(y, 4)? as i32)),
            [y, m] => {
                Self::ym(num(y, 4)? as i32, num(m, 2)?).ok_or_else(|| err("month out of range"))
            }
            [y, m, d] => Self::ymd(num(y, 4)? as i32, num(m, 2)?, num(d, 2)?)
                .ok_or_else(|| err("no such calendar day")),
            _ => Err(err("too many parts")),
        }
    }

    /// Parse an HL7 `TS` value (`CCYY[MM[DD[hhmm[ss]]]][+/-ZZZZ]`), keeping at most day precision.
    pub fn parse_hl7(text: &str) -> Result<Self, DateError> {
        let err = |reason| DateError {
            text: text.to_string(),
            reason,
        };
        let t = text.trim();
        let digits: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
        if digits.len() < 4 {
            return Err(err("an HL7 TS starts with a four-digit year"));
        }
        let year = digits[0..4].parse::<i32>().map_err(|_| err("bad year"))?;
        if digits.len() < 6 {
            return Ok(Self::year_only(year));
        }
        let month = digits[4..6].parse::<u32>().map_err(|_| err("bad month"))?;
        if digits.len() < 8 {
            return Self::ym(year, month).ok_or_else(|| err("month out of range"));
        }
        let day = digits[6..8].parse::<u32>().map_err(|_| err("bad day"))?;
        Self::ymd(year, month, day).ok_or_else(|| err("no such calendar day"))
    }

    /// The HL7 `TS` form at this date's precision (`YYYY`, `YYYYMM` or `YYYYMMDD`).
    pub fn to_hl7(&self) -> String {
        match (self.month, self.day) {
            (Some(m), Some(d)) => format!("{:04}{:02}{:02}", self.year, m, d),
            (Some(m), None) => format!("{:04}{:02}", self.year, m),
            _ => format!("{:04}", self.year),
        }
    }

    /// From a chrono date (always exact).
    pub fn from_naive(d: NaiveDate) -> Self {
        PartialDate {
            year: d.year(),
            month: Some(d.month()),
            day: Some(d.day()),
        }
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.month, self.day) {
            (Some(m), Some(d)) => write!(f, "{:04}-{:02}-{:02}", self.year, m, d),
            (Some(m), None) => write!(f, "{:04}-{:02}", self.year, m),
            _ => write!(f, "{:04}", self.year),
        }
    }
}

impl Serialize for PartialDate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PartialDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        PartialDate::parse_iso(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_precision_and_rejects_bad_dates() {
        assert_eq!(
            PartialDate::parse_iso("2024").unwrap().precision(),
            Precision::Year
        );
        assert_eq!(
            PartialDate::parse_iso("2024-03").unwrap().precision(),
            Precision::Month
        );
        assert_eq!(
            PartialDate::parse_iso("2024-02-29").unwrap().precision(),
            Precision::Day
        );
        assert!(PartialDate::parse_iso("2023-02-29").is_err()); // 2023 is not a leap year
        assert!(PartialDate::parse_iso("2024-13").is_err());
        assert!(PartialDate::parse_iso("24-01-01").is_err());
        assert_eq!(
            PartialDate::parse_hl7("20240315120000+0100")
                .unwrap()
                .to_string(),
            "2024-03-15"
        );
        assert_eq!(PartialDate::parse_hl7("202403").unwrap().to_hl7(), "202403");
        assert!(PartialDate::parse_hl7("20x4").is_err());
    }

    #[test]
    fn day_difference_across_a_leap_day() {
        // 2024-02-28 → 2024-03-01 crosses 29 February: 2 days.
        let a = PartialDate::parse_iso("2024-02-28").unwrap();
        let b = PartialDate::parse_iso("2024-03-01").unwrap();
        assert_eq!(a.days_until(&b), Some(2));
        assert_eq!(b.days_until(&a), Some(-2));
        assert_eq!(PartialDate::year_only(2024).days_until(&b), None);
    }
}
