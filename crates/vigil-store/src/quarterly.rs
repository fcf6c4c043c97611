//! Per-quarter counts of one drug–event pair, for sequential monitoring (`vigil sequential`).
//!
//! For each calendar quarter of FDA receipt (`fda_dt`) and each stratum, the number of reports, of
//! reports with the drug, with the event, and with both: the margins from which the expected count
//! of each quarter is computed. It counts; the MaxSPRT itself is in `vigil-stats`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::layout::{StoreError, StoreResult};
use crate::read::{load_reports, ReportQuery};
use crate::reports::normalise_name;

/// Report counts of one quarter and stratum (unique reports, as `vigil signals` margins).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StratumCounts {
    /// Reports.
    pub reports: u64,
    /// Reports with the drug.
    pub drug_reports: u64,
    /// Reports with the event.
    pub event_reports: u64,
    /// Reports with the drug and the event.
    pub pair_reports: u64,
}

/// A calendar quarter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct YearQuarter {
    /// Year.
    pub year: i32,
    /// Quarter, 1–4.
    pub quarter: u8,
}

impl YearQuarter {
    /// The quarter of a FAERS date `YYYYMM…` (at least six digits), or `None`.
    pub fn of_date(date: &str) -> Option<Self> {
        let digits = date.as_bytes();
        if digits.len() < 6 || !digits[..6].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let year: i32 = date[..4].parse().ok()?;
        let month: u8 = date[4..6].parse().ok()?;
        if !(1..=12).contains(&month) {
            return None;
        }
        Some(Self {
            year,
            quarter: (month - 1) / 3 + 1,
        })
    }

    /// Parses `YYYYQN` (e.g. `2023Q2`, case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_uppercase();
        let (y, q) = s.split_once('Q')?;
        let year: i32 = y.parse().ok()?;
        let quarter: u8 = q.parse().ok()?;
        ((1..=4).contains(&quarter) && y.len() == 4).then_some(Self { year, quarter })
    }

    /// The next quarter.
    pub fn next(self) -> Self {
        if self.quarter == 4 {
            Self {
                year: self.year + 1,
                quarter: 1,
            }
        } else {
            Self {
                year: self.year,
                quarter: self.quarter + 1,
            }
        }
    }
}

impl std::fmt::Display for YearQuarter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}Q{}", self.year, self.quarter)
    }
}

/// The counts of one drug–event pair by quarter of FDA receipt and stratum.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QuarterlyCounts {
    /// Stratum labels (the values of the stratification columns joined by `/`; one empty label
    /// when unstratified).
    pub strata: Vec<String>,
    /// Per quarter, in calendar order, the counts of each stratum (indexed as `strata`). Only
    /// quarters with at least one report appear.
    pub quarters: BTreeMap<YearQuarter, Vec<StratumCounts>>,
    /// Reports whose `fda_dt` has no month (blank or partial): not placed in any quarter.
    pub undated: u64,
    /// Whether the drug and the event occur in the loaded reports at all.
    pub drug_found: bool,
    /// See `drug_found`.
    pub event_found: bool,
}

/// Counts the reports of `drug` and `event` by quarter of FDA receipt, with the filters and
/// strata of `query` (its `since`, `until` and `date_field` are not used: every quarter is
/// counted, and quarters are of `fda_dt`).
///
/// # Errors
/// The store cannot be read, or `query.stratify` names a column the reports table lacks.
pub fn quarterly_counts(
    store_dir: &Path,
    query: &ReportQuery,
    drug: &str,
    event: &str,
) -> StoreResult<QuarterlyCounts> {
    if query.stratify.iter().any(|c| c == "fda_dt") {
        return Err(StoreError::Format(
            "stratify: fda_dt is the quarter itself; stratify by other columns".into(),
        ));
    }
    let mut q = query.clone();
    q.since = None;
    q.until = None;
    q.stratify.push("fda_dt".into());
    let loaded = load_reports(store_dir, &q)?;
    let set = &loaded.set;
    // A stratum of the load is (user strata…, fda_dt): split it into a user stratum and a quarter.
    let mut labels: Vec<String> = Vec::new();
    let mut label_ids: ahash::AHashMap<String, usize> = ahash::AHashMap::new();
    let split: Vec<(Option<YearQuarter>, usize)> = loaded
        .strata_values
        .iter()
        .map(|values| {
            let (date, user) = values.split_last().expect("fda_dt is a stratum column");
            let label = user.join("/");
            let id = *label_ids.entry(label.clone()).or_insert_with(|| {
                labels.push(label);
                labels.len() - 1
            });
            (YearQuarter::of_date(date), id)
        })
        .collect();
    let drug_id = normalise_name(drug).and_then(|d| set.drugs.get(&d));
    let event_id = normalise_name(event).and_then(|e| set.events.get(&e));
    let mut out = QuarterlyCounts {
        strata: labels.clone(),
        drug_found: drug_id.is_some(),
        event_found: event_id.is_some(),
        ..Default::default()
    };
    if labels.is_empty() {
        out.strata.push(String::new());
    }
    for r in 0..set.len() {
        let (quarter, stratum) = split[set.report_stratum[r] as usize];
        let Some(quarter) = quarter else {
            out.undated += 1;
            continue;
        };
        let has_drug = drug_id.is_some_and(|d| set.report_drugs(r).contains(&d));
        let has_event = event_id.is_some_and(|e| set.report_events(r).contains(&e));
        let has_pair = match (set.report_pairs(r), drug_id, event_id) {
            (Some(pairs), Some(d), Some(e)) if !pairs.is_empty() => pairs.contains(&(d, e)),
            _ => has_drug && has_event,
        };
        let cell = &mut out
            .quarters
            .entry(quarter)
            .or_insert_with(|| vec![StratumCounts::default(); labels.len().max(1)])[stratum];
        cell.reports += 1;
        cell.drug_reports += has_drug as u64;
        cell.event_reports += has_event as u64;
        cell.pair_reports += has_pair as u64;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_of_dates() {
        assert_eq!(
            YearQuarter::of_date("20230315"),
            Some(YearQuarter {
                year: 2023,
                quarter: 1
            })
        );
        assert_eq!(YearQuarter::of_date("202312").unwrap().quarter, 4);
        assert_eq!(YearQuarter::of_date("2023"), None);
        assert_eq!(YearQuarter::of_date("202313"), None);
        assert_eq!(YearQuarter::of_date("unknown"), None);
        assert_eq!(YearQuarter::parse("2024q2").unwrap().to_string(), "2024Q2");
        assert_eq!(YearQuarter::parse("2024Q5"), None);
        assert_eq!(YearQuarter::parse("24Q1"), None);
        assert_eq!(
            YearQuarter::parse("2024Q4").unwrap().next().to_string(),
            "2025Q1"
        );
    }
}
