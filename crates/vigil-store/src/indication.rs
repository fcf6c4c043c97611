//! A drug's indications in a store: the most frequent one, which `vigil report` uses as the
//! comparator restriction of its competition-bias view.

use std::collections::HashMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::UInt64Type;

use crate::layout::{ChildTable, StoreResult};
use crate::read::Store;

/// The drug's most frequent indication PT among the live reports (INDI rows whose drug sequence
/// number is one of the drug's DRUG rows in the same report; every role counts), upper-cased. Ties
/// go to the alphabetically first PT; `None` when the drug has no indication row.
pub fn most_frequent_indication(store: &Store, drug: &str) -> StoreResult<Option<String>> {
    let drug = drug.to_uppercase();
    let mut seqs: HashMap<u64, Vec<String>> = HashMap::new();
    for rb in store.read_live_children(ChildTable::Drugs, &["drug_seq", "ingredient"])? {
        let pid = rb.column(0).as_primitive::<UInt64Type>();
        let seq = rb
            .column(rb.schema().index_of("drug_seq")?)
            .as_string::<i32>();
        let ing = rb
            .column(rb.schema().index_of("ingredient")?)
            .as_string::<i32>();
        for i in 0..rb.num_rows() {
            if !ing.is_null(i) && ing.value(i).to_uppercase() == drug && !seq.is_null(i) {
                seqs.entry(pid.value(i))
                    .or_default()
                    .push(seq.value(i).to_owned());
            }
        }
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    for rb in store.read_live_children(ChildTable::Indications, &["indi_drug_seq", "indi_pt"])? {
        let pid = rb.column(0).as_primitive::<UInt64Type>();
        let seq = rb
            .column(rb.schema().index_of("indi_drug_seq")?)
            .as_string::<i32>();
        let pt = rb
            .column(rb.schema().index_of("indi_pt")?)
            .as_string::<i32>();
        for i in 0..rb.num_rows() {
            if let Some(w) = seqs.get(&pid.value(i)) {
                if !seq.is_null(i) && !pt.is_null(i) && w.iter().any(|x| x == seq.value(i)) {
                    *counts.entry(pt.value(i).trim().to_uppercase()).or_default() += 1;
                }
            }
        }
    }
    Ok(counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(pt, _)| pt))
}
