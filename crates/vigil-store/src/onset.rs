//! Therapy-start and event dates of the reports of one drug–event pair, for time-to-onset analysis.

use std::collections::HashMap;
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::UInt64Type;

use crate::layout::ChildTable;
use crate::layout::StoreResult;
use crate::read::{Role, Store};
use crate::reports::normalise_name;

/// The dates of one report with the drug and the event, as stored (`YYYY`, `YYYYMM` or `YYYYMMDD`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnsetDates {
    /// FAERS primaryid.
    pub primaryid: u64,
    /// Earliest therapy start (THER `start_dt`) of the drug in this report, if any.
    pub start_dt: Option<String>,
    /// Event date (DEMO `event_dt`), if any.
    pub event_dt: Option<String>,
}

/// For every current report in which `drug` (normalised ingredient, case-insensitive; drug rows
/// admitted by `role`) and `event` (PT, case-insensitive) both appear, the drug's earliest therapy
/// start and the report's event date. A report whose drug has several therapy rows uses the
/// earliest start, the usual choice for time to onset (the reaction follows first exposure).
/// Only full dates are compared for "earliest"; a partial date is kept when it is the only one.
pub fn load_onset_dates(
    store_dir: &Path,
    drug: &str,
    event: &str,
    role: Role,
) -> StoreResult<Vec<OnsetDates>> {
    load_onset_dates_from(&Store::open(store_dir)?, drug, event, role)
}

/// As [`load_onset_dates`], on an opened store.
pub fn load_onset_dates_from(
    store: &Store,
    drug: &str,
    event: &str,
    role: Role,
) -> StoreResult<Vec<OnsetDates>> {
    let drug = normalise_name(drug).unwrap_or_default();
    let event = normalise_name(event).unwrap_or_default();
    // Reports with the event.
    let mut with_event: HashMap<u64, ()> = HashMap::new();
    for rb in store.read_live_children(ChildTable::Reactions, &["pt"])? {
        let pid = rb.column(0).as_primitive::<UInt64Type>();
        let pt = rb.column(rb.schema().index_of("pt")?).as_string::<i32>();
        for i in 0..rb.num_rows() {
            if !pt.is_null(i) && normalise_name(pt.value(i)).is_some_and(|p| p == event) {
                with_event.insert(pid.value(i), ());
            }
        }
    }
    // The drug's sequence numbers in those reports.
    let mut seqs: HashMap<u64, Vec<String>> = HashMap::new();
    for rb in
        store.read_live_children(ChildTable::Drugs, &["drug_seq", "role_cod", "ingredient"])?
    {
        let s = rb.schema();
        let pid = rb.column(0).as_primitive::<UInt64Type>();
        let seq = rb.column(s.index_of("drug_seq")?).as_string::<i32>();
        let role_cod = rb.column(s.index_of("role_cod")?).as_string::<i32>();
        let ingredient = rb.column(s.index_of("ingredient")?).as_string::<i32>();
        for i in 0..rb.num_rows() {
            let p = pid.value(i);
            if with_event.contains_key(&p)
                && !ingredient.is_null(i)
                && normalise_name(ingredient.value(i)).is_some_and(|d| d == drug)
                && role.admits(if role_cod.is_null(i) {
                    ""
                } else {
                    role_cod.value(i)
                })
            {
                seqs.entry(p).or_default().push(if seq.is_null(i) {
                    String::new()
                } else {
                    seq.value(i).to_owned()
                });
            }
        }
    }
    // Earliest start per report among the drug's therapy rows.
    let mut start: HashMap<u64, String> = HashMap::new();
    for rb in store.read_live_children(ChildTable::Therapies, &["dsg_drug_seq", "start_dt"])? {
        let s = rb.schema();
        let pid = rb.column(0).as_primitive::<UInt64Type>();
        let seq = rb.column(s.index_of("dsg_drug_seq")?).as_string::<i32>();
        let dt = rb.column(s.index_of("start_dt")?).as_string::<i32>();
        for i in 0..rb.num_rows() {
            let p = pid.value(i);
            let Some(wanted) = seqs.get(&p) else { continue };
            if seq.is_null(i) || dt.is_null(i) || !wanted.iter().any(|w| w == seq.value(i)) {
                continue;
            }
            let d = dt.value(i).trim();
            if d.is_empty() {
                continue;
            }
            let better = match start.get(&p) {
                None => true,
                // A full date beats a partial one; between full dates, the earlier.
                Some(cur) => {
                    (d.len() == 8 && cur.len() != 8) || (d.len() == cur.len() && d < cur.as_str())
                }
            };
            if better {
                start.insert(p, d.to_owned());
            }
        }
    }
    // Event dates.
    let mut out = Vec::new();
    for rb in store.read_reports(Some(&["primaryid", "event_dt"]))? {
        let pid = rb.column(0).as_primitive::<UInt64Type>();
        let ev = rb.column(1).as_string::<i32>();
        for i in 0..rb.num_rows() {
            let p = pid.value(i);
            if seqs.contains_key(&p) {
                let event_dt = (!ev.is_null(i) && !ev.value(i).trim().is_empty())
                    .then(|| ev.value(i).trim().to_owned());
                out.push(OnsetDates {
                    primaryid: p,
                    start_dt: start.get(&p).cloned(),
                    event_dt,
                });
            }
        }
    }
    out.sort_by_key(|o| o.primaryid);
    Ok(out)
}

/// The distinct drug names (ingredients of the live drug rows admitted by `role`) and event names
/// (PTs of the live reactions) of a store, normalised and sorted: what `drug` and `event` of
/// [`load_onset_dates`] are matched against, for "not found" messages.
pub fn store_names(store_dir: &Path, role: Role) -> StoreResult<(Vec<String>, Vec<String>)> {
    store_names_from(&Store::open(store_dir)?, role)
}

/// As [`store_names`], on an opened store.
pub fn store_names_from(store: &Store, role: Role) -> StoreResult<(Vec<String>, Vec<String>)> {
    let mut drugs = std::collections::BTreeSet::new();
    for rb in store.read_live_children(ChildTable::Drugs, &["role_cod", "ingredient"])? {
        let s = rb.schema();
        let role_cod = rb.column(s.index_of("role_cod")?).as_string::<i32>();
        let ingredient = rb.column(s.index_of("ingredient")?).as_string::<i32>();
        for i in 0..rb.num_rows() {
            if !ingredient.is_null(i)
                && role.admits(if role_cod.is_null(i) {
                    ""
                } else {
                    role_cod.value(i)
                })
            {
                drugs.extend(normalise_name(ingredient.value(i)));
            }
        }
    }
    let mut events = std::collections::BTreeSet::new();
    for rb in store.read_live_children(ChildTable::Reactions, &["pt"])? {
        let pt = rb.column(rb.schema().index_of("pt")?).as_string::<i32>();
        for i in 0..rb.num_rows() {
            if !pt.is_null(i) {
                events.extend(normalise_name(pt.value(i)));
            }
        }
    }
    Ok((drugs.into_iter().collect(), events.into_iter().collect()))
}
