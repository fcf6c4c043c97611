//! Field parsers: identifiers, partial dates, age, weight, sex and age group.
//!
//! Values re-written by pandas carry a `.0` suffix (`20141226.0`, `21008.0`; the 2025Q4 sample);
//! identifiers and dates accept and drop it.

/// Trims ASCII whitespace and a pandas `.0` suffix.
fn clean_numeric(s: &str) -> &str {
    let s = s.trim();
    s.strip_suffix(".0").unwrap_or(s)
}

/// Parses an identifier (primaryid, caseid, ISR, CASE): decimal digits, as u64.
pub fn parse_id(s: &str) -> Option<u64> {
    // Nearly every id is 1–19 bare digits (19 digits always fit in a u64): read them in one pass.
    let b = s.as_bytes();
    if (1..=19).contains(&b.len()) && b.iter().all(u8::is_ascii_digit) {
        return Some(b.iter().fold(0u64, |v, &c| v * 10 + u64::from(c - b'0')));
    }
    let s = clean_numeric(s);
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Precision of a partial date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DatePrecision {
    /// `YYYY`.
    Year,
    /// `YYYYMM`.
    Month,
    /// `YYYYMMDD`.
    Day,
}

/// A FAERS date: `YYYYMMDD`, `YYYYMM` or `YYYY` (faers-format.md §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialDate {
    /// Year.
    pub year: u16,
    /// Month 1–12, when given.
    pub month: Option<u8>,
    /// Day 1–31, when given.
    pub day: Option<u8>,
}

impl PartialDate {
    /// Parses the digits; `Ok(None)` for an empty value, `Err` for anything else malformed.
    pub fn parse(s: &str) -> Result<Option<PartialDate>, String> {
        let s = clean_numeric(s);
        if s.is_empty() {
            return Ok(None);
        }
        if !s.bytes().all(|b| b.is_ascii_digit()) || !matches!(s.len(), 4 | 6 | 8) {
            return Err(format!("not a date (YYYY, YYYYMM or YYYYMMDD): {s:?}"));
        }
        let year: u16 = s[..4].parse().map_err(|_| format!("bad year in {s:?}"))?;
        if !(1900..=2100).contains(&year) {
            return Err(format!("year out of range 1900–2100 in {s:?}"));
        }
        let month = if s.len() >= 6 {
            Some(
                s[4..6]
                    .parse::<u8>()
                    .map_err(|_| format!("bad month in {s:?}"))?,
            )
        } else {
            None
        };
        if month.is_some_and(|m| !(1..=12).contains(&m)) {
            return Err(format!("month out of range in {s:?}"));
        }
        let day = if s.len() == 8 {
            Some(
                s[6..8]
                    .parse::<u8>()
                    .map_err(|_| format!("bad day in {s:?}"))?,
            )
        } else {
            None
        };
        if day.is_some_and(|d| !(1..=31).contains(&d)) {
            return Err(format!("day out of range in {s:?}"));
        }
        Ok(Some(PartialDate { year, month, day }))
    }

    /// Validates a date and returns it as its digits, borrowing the input when it already is
    /// exactly that (no allocation on the hot path).
    pub fn normalised(s: &str) -> Result<Option<&str>, String> {
        let c = clean_numeric(s);
        match PartialDate::parse(c)? {
            Some(_) => Ok(Some(c)),
            None => Ok(None),
        }
    }

    /// How much of the date is known.
    pub fn precision(&self) -> DatePrecision {
        match (self.month, self.day) {
            (Some(_), Some(_)) => DatePrecision::Day,
            (Some(_), None) => DatePrecision::Month,
            _ => DatePrecision::Year,
        }
    }

    /// The date as the digits it has (`2020`, `202001`, `20200110`).
    pub fn digits(&self) -> String {
        match (self.month, self.day) {
            (Some(m), Some(d)) => format!("{:04}{:02}{:02}", self.year, m, d),
            (Some(m), None) => format!("{:04}{:02}", self.year, m),
            _ => format!("{:04}", self.year),
        }
    }

    /// A sort key `YYYYMMDD` with unknown parts as 0 (a partial date sorts before full dates of
    /// the same period).
    pub fn sort_key(&self) -> u32 {
        self.year as u32 * 10_000
            + self.month.unwrap_or(0) as u32 * 100
            + self.day.unwrap_or(0) as u32
    }
}

/// Age in years from FAERS `age` and `age_cod`.
///
/// # Formula
/// DEC ×10, YR ×1, MON ÷12, WK ×7/365.25, DY ÷365.25, HR ÷8766 (= 24×365.25), MIN and SEC
/// likewise; no unit is read as years (faers-format.md §3, after open-altio [S4]).
///
/// # Edge cases
/// Values below 0 (−1 marks in-utero exposure) or above 122 years are rejected (`None`), as are
/// unknown units.
pub fn age_years(age: &str, age_cod: &str) -> Option<f64> {
    let a: f64 = age.trim().parse().ok()?;
    if !a.is_finite() {
        return None;
    }
    let years = match age_cod.trim().to_ascii_uppercase().as_str() {
        "" | "YR" | "YEAR" | "YRS" => a,
        "DEC" => a * 10.0,
        "MON" => a / 12.0,
        "WK" => a * 7.0 / 365.25,
        "DY" => a / 365.25,
        "HR" => a / 8766.0,
        "MIN" => a / (8766.0 * 60.0),
        "SEC" => a / (8766.0 * 3600.0),
        _ => return None,
    };
    (0.0..=122.0).contains(&years).then_some(years)
}

/// Weight in kg from FAERS `wt` and `wt_cod`: KG/KGS ×1, LBS ×0.45359237 (the international
/// pound), GMS ÷1000. A weight without a unit is ambiguous and dropped (faers-format.md §3).
pub fn weight_kg(wt: &str, wt_cod: &str) -> Option<f64> {
    let w: f64 = wt.trim().parse().ok()?;
    if !w.is_finite() || w <= 0.0 {
        return None;
    }
    match wt_cod.trim().to_ascii_uppercase().as_str() {
        "KG" | "KGS" => Some(w),
        "LBS" | "LB" => Some(w * 0.45359237),
        "GMS" | "G" => Some(w / 1000.0),
        _ => None,
    }
}

/// Sex normalised to `M`, `F` or `unknown` (UNK, NS, P, I, T, YR and blanks are unknown;
/// faers-format.md §3).
pub fn sex(code: &str) -> &'static str {
    match code.trim() {
        "M" | "m" => "M",
        "F" | "f" => "F",
        _ => "unknown",
    }
}

/// Age group label from age in years, else from the FAERS `age_grp` code.
///
/// Bands are those of ICH E2B(R3) D.2.3 (patient age group), which FAERS `age_grp` codes
/// N/I/C/T/A/E follow: neonate < 28 days, infant 28 days – 23 months, child 2–11 years,
/// adolescent 12–17, adult 18–64, elderly ≥ 65.
pub fn age_group(age_years: Option<f64>, age_grp: &str) -> &'static str {
    if let Some(a) = age_years {
        return if a < 28.0 / 365.25 {
            "neonate"
        } else if a < 2.0 {
            "infant"
        } else if a < 12.0 {
            "child"
        } else if a < 18.0 {
            "adolescent"
        } else if a < 65.0 {
            "adult"
        } else {
            "elderly"
        };
    }
    match age_grp.trim().to_ascii_uppercase().as_str() {
        "N" => "neonate",
        "I" => "infant",
        "C" => "child",
        "T" => "adolescent",
        "A" => "adult",
        "E" => "elderly",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_dates_keep_precision() {
        let d = PartialDate::parse("2020").unwrap().unwrap();
        assert_eq!(
            (d.precision(), d.digits()),
            (DatePrecision::Year, "2020".to_owned())
        );
        let d = PartialDate::parse("202001").unwrap().unwrap();
        assert_eq!(
            (d.precision(), d.sort_key()),
            (DatePrecision::Month, 20200100)
        );
        let d = PartialDate::parse("20141226.0").unwrap().unwrap();
        assert_eq!(
            (d.precision(), d.sort_key()),
            (DatePrecision::Day, 20141226)
        );
        assert_eq!(PartialDate::parse("").unwrap(), None);
        assert!(PartialDate::parse("20201301").is_err());
        assert!(PartialDate::parse("NA").is_err());
    }

    #[test]
    fn ages_convert_to_years() {
        assert_eq!(age_years("5", "DEC"), Some(50.0));
        assert_eq!(age_years("18", "MON"), Some(1.5));
        assert_eq!(age_years("730.5", "DY"), Some(2.0)); // 730.5 / 365.25
        assert_eq!(age_years("8766", "HR"), Some(1.0));
        assert_eq!(age_years("61.0", "YR"), Some(61.0));
        assert_eq!(age_years(".8", ""), Some(0.8));
        assert_eq!(age_years("60.", "YR"), Some(60.0));
        assert_eq!(age_years("-1", "YR"), None);
        assert_eq!(age_years("999", "YR"), None);
    }

    #[test]
    fn weights_convert_to_kg() {
        assert_eq!(weight_kg("100", "LBS"), Some(45.359237));
        assert_eq!(weight_kg("3500", "GMS"), Some(3.5));
        assert_eq!(weight_kg("57", "KG"), Some(57.0));
        assert_eq!(weight_kg("57", ""), None);
    }

    #[test]
    fn sex_and_age_group() {
        assert_eq!(sex("NS"), "unknown");
        assert_eq!(sex("F"), "F");
        assert_eq!(age_group(Some(70.0), ""), "elderly");
        assert_eq!(age_group(None, "T"), "adolescent");
        assert_eq!(age_group(Some(1.0), "A"), "infant");
    }

    #[test]
    fn ids_are_u64() {
        assert_eq!(parse_id("13825291115"), Some(13_825_291_115));
        assert_eq!(parse_id(" 1100310642 "), Some(1_100_310_642));
        assert_eq!(parse_id("12a"), None);
        assert_eq!(parse_id("21008.0"), Some(21_008));
        assert_eq!(parse_id(""), None);
        // u64::MAX is 18446744073709551615 (20 digits): longer than the 19 accepted.
        assert_eq!(
            parse_id("9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        assert_eq!(parse_id("18446744073709551615"), None);
    }
}
