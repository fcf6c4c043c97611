//! Remapping the drug rows of earlier ingests when this ingest changes the learned drug names.
//!
//! A drug row without `prod_ai` is stored with what the names learned so far say about its name
//! ([`crate::learned_names`]). When a later ingest learns the name, learns it otherwise, or finds
//! it ambiguous, the rows stored before would keep the old answer and the store would depend on
//! the order of the ingests (a brand split across its verbatim name and its ingredient). So every
//! stored drug row whose ingredient is what the normaliser gives its name *without* learned names
//! (kept verbatim) or *with the previous version's* learned names, and which the new learned names
//! map otherwise, is rewritten with the new answer. A row mapped from `prod_ai` never changes (both
//! answers are its `prod_ai`); a row that a user dictionary of an earlier ingest mapped matches
//! neither answer and is left as it was.
//!
//! Only the batch files that change are rewritten, each into the version being built
//! ([`StoreTxn::replace_child`]): the previous version's files are never written, so a failure
//! leaves the store as it was. Nothing is read when the learned names did not change.
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use rayon::prelude::*;
use vigil_store::layout::ChildTable;
use vigil_store::read::read_parquet;
use vigil_store::write::StoreTxn;

use vigil_store::ingest_report::IngestReport;

use super::learn::NamesBefore;
use crate::drugname::DrugNormaliser;
use crate::FaersError;

/// What a remap changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemapCounts {
    /// Drug rows rewritten with another ingredient (rows of superseded case versions included).
    pub rows: u64,
    /// Distinct drug names (as written) of those rows.
    pub names: u64,
    /// Batch files rewritten.
    pub files: u64,
}

/// The three normalisations a stored row is judged by.
pub struct RemapNormalisers<'a> {
    /// The dictionary and rules only, no learned names: a row stored verbatim matches it.
    pub bare: &'a DrugNormaliser,
    /// With the previous version's learned names: a row stored by an earlier ingest matches it.
    pub before: &'a DrugNormaliser,
    /// With this ingest's learned names.
    pub after: &'a DrugNormaliser,
}

/// Rewrites the stored drug rows of every batch of the previous version that the change from
/// `n.before` to `n.after` concerns (see the module docs). Returns what changed.
pub fn remap_stored_drugs(txn: &StoreTxn, n: &RemapNormalisers) -> Result<RemapCounts, FaersError> {
    let Some((_, manifest)) = txn.previous() else {
        return Ok(RemapCounts::default());
    };
    if n.before.same_learned(n.after) {
        return Ok(RemapCounts::default());
    }
    let batches: Vec<u32> = manifest.batches.iter().map(|b| b.id).collect();
    let results: Vec<Result<(u64, BTreeSet<String>), FaersError>> = batches
        .par_iter()
        .map(|&b| remap_batch(txn, b, n))
        .collect();
    let mut out = RemapCounts::default();
    let mut names = BTreeSet::new();
    for r in results {
        let (rows, batch_names) = r?;
        if rows > 0 {
            out.rows += rows;
            out.files += 1;
            names.extend(batch_names);
        }
    }
    out.names = names.len() as u64;
    Ok(out)
}

/// Remaps the stored drug rows that the change from `names` to `after` concerns and counts them
/// in `report` (the step every ingest that learns names ends with).
pub(crate) fn remap_and_report(
    txn: &StoreTxn,
    names: &NamesBefore,
    after: &DrugNormaliser,
    report: &mut IngestReport,
) -> Result<(), FaersError> {
    let counts = remap_stored_drugs(
        txn,
        &RemapNormalisers {
            bare: &names.bare,
            before: &names.before,
            after,
        },
    )?;
    report.stored_drug_rows_remapped = counts.rows;
    report.stored_drug_names_remapped = counts.names;
    Ok(())
}

/// The new ingredient of a stored row, or `None` when it stays.
fn new_ingredient(
    n: &RemapNormalisers,
    drugname: &str,
    prod_ai: &str,
    stored: &str,
) -> Option<String> {
    let (after, _) = n.after.normalise(drugname, prod_ai);
    if after == stored {
        return None;
    }
    let (before, _) = n.before.normalise(drugname, prod_ai);
    let (bare, _) = n.bare.normalise(drugname, prod_ai);
    (stored == before || stored == bare).then_some(after)
}

/// Remaps one batch file; returns the rows changed and their drug names.
fn remap_batch(
    txn: &StoreTxn,
    batch: u32,
    n: &RemapNormalisers,
) -> Result<(u64, BTreeSet<String>), FaersError> {
    let Some(path) = txn.child_file(ChildTable::Drugs, batch) else {
        return Ok((0, BTreeSet::new()));
    };
    let read = |columns: Option<&[&str]>| read_parquet(&path, columns);
    // First the three columns that decide, one normalisation per distinct (drugname, prod_ai,
    // stored ingredient); the whole file is read and rewritten only when a row changes.
    let mut decided: HashMap<(String, String, String), Option<String>> = HashMap::new();
    let mut changed_rows = 0u64;
    let mut names = BTreeSet::new();
    for rb in read(Some(&["drugname", "prod_ai", "ingredient"]))? {
        let [dn, pa, ing] = text_columns(&rb, &path, ["drugname", "prod_ai", "ingredient"])?;
        for i in 0..rb.num_rows() {
            let key = (text(dn, i), text(pa, i), text(ing, i));
            let new = decided
                .entry(key.clone())
                .or_insert_with(|| new_ingredient(n, &key.0, &key.1, &key.2));
            if new.is_some() {
                changed_rows += 1;
                names.insert(key.0);
            }
        }
    }
    if changed_rows == 0 {
        return Ok((0, names));
    }
    let mut rewritten = Vec::new();
    for rb in read(None)? {
        let [dn, pa, ing] = text_columns(&rb, &path, ["drugname", "prod_ai", "ingredient"])?;
        let column: StringArray = (0..rb.num_rows())
            .map(|i| {
                let key = (text(dn, i), text(pa, i), text(ing, i));
                match decided.get(&key) {
                    Some(Some(new)) => Some(new.clone()),
                    _ => ing.is_valid(i).then(|| ing.value(i).to_owned()),
                }
                // An empty answer is stored as null, as ingest stores it.
                .filter(|s| !s.is_empty())
            })
            .collect();
        let at = rb
            .schema()
            .index_of("ingredient")
            .map_err(|e| FaersError::Input(format!("{}: {e}", path.display())))?;
        let mut cols: Vec<ArrayRef> = rb.columns().to_vec();
        cols[at] = Arc::new(column);
        rewritten.push(
            RecordBatch::try_new(rb.schema(), cols).map_err(|e| FaersError::Store(e.into()))?,
        );
    }
    txn.replace_child(ChildTable::Drugs, batch, &rewritten)?;
    Ok((changed_rows, names))
}

/// A text value, null read as empty.
fn text(a: &StringArray, i: usize) -> String {
    if a.is_valid(i) {
        a.value(i).to_owned()
    } else {
        String::new()
    }
}

/// The named UTF-8 columns of a drugs batch.
fn text_columns<'a, const N: usize>(
    rb: &'a RecordBatch,
    path: &std::path::Path,
    names: [&str; N],
) -> Result<[&'a StringArray; N], FaersError> {
    let mut out = Vec::with_capacity(N);
    for name in names {
        let col = rb
            .schema()
            .index_of(name)
            .ok()
            .and_then(|j| rb.column(j).as_string_opt::<i32>())
            .ok_or_else(|| {
                FaersError::Input(format!(
                    "{}: drugs table without a text column {name}",
                    path.display()
                ))
            })?;
        out.push(col);
    }
    Ok(out
        .try_into()
        .unwrap_or_else(|_| unreachable!("one column per name")))
}
