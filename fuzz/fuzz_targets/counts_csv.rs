//! Fuzz the `vigil signals --counts` CSV reader (report-level and aggregated): any bytes are
//! either refused with a located error or read into consistent counts.
#![no_main]
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vigil_store::count::{count_pairs, Margins};
use vigil_store::input::{read_counts_csv, CountsInput, MAX_COUNT};

fuzz_target!(|data: &[u8]| {
    // The first byte chooses a stratification column, as `--stratify` would.
    let (stratify, body): (Vec<String>, &[u8]) = match data.split_first() {
        Some((b, rest)) if b % 4 == 0 => (vec!["sex".into()], rest),
        _ => (Vec::new(), data),
    };
    let input = match read_counts_csv(body, Path::new("fuzz.csv"), &stratify) {
        Ok(input) => input,
        Err(e) => {
            assert!(e.to_string().starts_with("fuzz.csv: "), "error without the file: {e}");
            return;
        }
    };
    let counts = match &input {
        CountsInput::Reports(set) => {
            for names in [set.drugs.names(), set.events.names()] {
                for n in names {
                    // Names as the store keeps them: trimmed, upper case, never blank.
                    assert!(!n.is_empty() && n.trim() == n && n.to_uppercase() == *n, "name {n:?} not normalised");
                }
            }
            count_pairs(set, Margins::Reports)
        }
        CountsInput::Aggregated { counts, .. } => counts.clone(),
    };
    for i in 0..counts.len() {
        let (a, n_drug, n_event, n) = (counts.a[i], counts.n_drug[i], counts.n_event[i], counts.n_total[i]);
        assert!(a >= 1.0 && a <= n_drug && a <= n_event && n_drug <= n && n_event <= n, "inconsistent table {a} {n_drug} {n_event} {n}");
        assert!(n <= MAX_COUNT as f64);
    }
});
