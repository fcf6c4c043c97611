//! Drug names learned at ingest from the DRUG rows that give a name FDA's `prod_ai`
//! ([`crate::learned_names`]), and their record in the store version.
//!
//! Every DRUG file of the ingest is read once for its `drugname` and `prod_ai` columns before the
//! child tables are streamed, so that a row without `prod_ai` can use what other rows of the same
//! input say about its name. Rows of reports that de-duplication drops count too: they are FDA's
//! coding of a name all the same. The evidence of earlier ingests (the previous version's file)
//! is added to this input's, so a name learned from an earlier quarter serves a later one and a
//! re-sent report maps as before (rows already stored keep the ingredient they were stored with).
//!
//! The learned names, with their evidence, go to `learned_drug_names.parquet` in the version:
//! `name`, `ingredients`, `rows_with_prod_ai`, `rows_agreeing`, and `ambiguous` (true for a name
//! whose rows disagree, which stays unmapped). Every (name, ingredient set, rows) counted goes to
//! `drug_name_evidence.parquet`, so that the next ingest adds its rows to all of them and learns
//! what one ingest of all the rows would learn, whatever the order of the ingests. The stored rows
//! of earlier ingests that a change of the learned names concerns are then remapped
//! ([`super::remap`]).
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, BooleanBuilder, RecordBatch, StringBuilder, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt64Type};
use rayon::prelude::*;
use vigil_store::ingest_report::{AmbiguousDrugName, IngestReport, MAX_LISTED_UNMAPPED};
use vigil_store::read::read_parquet;
use vigil_store::write::StoreTxn;

use super::PACK_SEP;
use crate::discover::{InputFile, InputKind};
use crate::drugname::DrugNormaliser;
use crate::learned_names::{LearnedName, LearnedNames, LearningRule, NameLearner};
use crate::record::{DollarReader, Record};
use crate::table::{column_indexes, Table};
use crate::FaersError;

/// The file of the learned names inside a version directory.
pub const LEARNED_NAMES_FILE: &str = "learned_drug_names.parquet";
/// The file of every (cleaned name, ingredient set, rows) counted, inside a version directory.
pub const NAME_EVIDENCE_FILE: &str = "drug_name_evidence.parquet";

/// One (cleaned name, ingredient set, rows) of the evidence.
pub(crate) type Evidence = Vec<(String, String, u64)>;

/// Learns drug names from every DRUG file among `inputs` (read in parallel), together with the
/// evidence `stored` from earlier ingests, under `rule`.
pub(super) fn learn_drug_names(
    inputs: &[&InputFile],
    stored: NameLearner,
    rule: LearningRule,
) -> Result<(LearnedNames, Evidence), FaersError> {
    let drug_files: Vec<&InputFile> = inputs
        .iter()
        .copied()
        .filter(|f| f.kind == InputKind::Table(Table::Drug))
        .collect();
    let learners: Vec<Result<NameLearner, FaersError>> =
        drug_files.par_iter().map(|f| learn_from_file(f)).collect();
    let mut all = stored;
    for l in learners {
        all.merge(l?);
    }
    let evidence = all.evidence();
    Ok((all.finish(rule), evidence))
}

/// The (drugname, prod_ai) pairs of one DRUG file. A row that cannot be read is skipped here:
/// the child-table pass reads it again, and rejects and counts it there.
fn learn_from_file(file: &InputFile) -> Result<NameLearner, FaersError> {
    file.with_reader(|r| -> Result<NameLearner, FaersError> {
        let mut learner = NameLearner::default();
        let Some(mut rd) = DollarReader::new(r).map_err(|e| FaersError::io(&file.display, e))?
        else {
            return Ok(learner);
        };
        let cols = column_indexes(Table::Drug, rd.header(), &["drugname", "prod_ai"]);
        let (Some(name_col), Some(ai_col)) = (cols[0], cols[1]) else {
            // Legacy AERS and FAERS before 2014Q3 have no prod_ai: nothing to learn.
            return Ok(learner);
        };
        // Distinct (drugname, prod_ai) first: cleaning a name costs more than counting it.
        let mut pairs: ahash::AHashMap<String, u64> = ahash::AHashMap::new();
        let mut key = String::new();
        let mut rec = Record::default();
        while let Some(res) = rd
            .next_record(&mut rec)
            .map_err(|e| FaersError::io(&file.display, e))?
        {
            if res.is_err() {
                continue;
            }
            let ai = rec.text(ai_col);
            if ai.trim().is_empty() {
                continue;
            }
            key.clear();
            key.push_str(&rec.text(name_col));
            key.push(PACK_SEP);
            key.push_str(&ai);
            match pairs.get_mut(key.as_str()) {
                Some(n) => *n += 1,
                None => {
                    pairs.insert(key.clone(), 1);
                }
            }
        }
        for (k, n) in pairs {
            if let Some((name, ai)) = k.split_once(PACK_SEP) {
                learner.observe(name, ai, n);
            }
        }
        Ok(learner)
    })?
}

/// The evidence of earlier ingests (the previous version's [`NAME_EVIDENCE_FILE`], or, in a store
/// written before that file existed, its [`LEARNED_NAMES_FILE`]), so that a re-sent report's rows
/// map as they did and names learned from an earlier quarter serve a later one.
pub(crate) fn stored_learned_names(txn: &StoreTxn) -> Result<NameLearner, FaersError> {
    let mut learner = NameLearner::default();
    let Some((dir, _)) = txn.previous() else {
        return Ok(learner);
    };
    let evidence = dir.join(NAME_EVIDENCE_FILE);
    if evidence.exists() {
        for rb in read_parquet(&evidence, None)? {
            let bad = || {
                FaersError::Input(format!(
                    "{}: unexpected columns (want name, ingredients, rows)",
                    evidence.display()
                ))
            };
            let name = rb.column(0).as_string_opt::<i32>().ok_or_else(bad)?;
            let ingredients = rb.column(1).as_string_opt::<i32>().ok_or_else(bad)?;
            let rows = rb
                .column(2)
                .as_primitive_opt::<UInt64Type>()
                .ok_or_else(bad)?;
            for i in 0..rb.num_rows() {
                learner.observe_evidence(name.value(i), ingredients.value(i), rows.value(i));
            }
        }
        return Ok(learner);
    }
    let path = dir.join(LEARNED_NAMES_FILE);
    if !path.exists() {
        return Ok(learner);
    }
    for rb in read_parquet(&path, None)? {
        let bad = || {
            FaersError::Input(format!(
                "{}: unexpected columns (want name, ingredients, rows_with_prod_ai, rows_agreeing)",
                path.display()
            ))
        };
        let name = rb.column(0).as_string_opt::<i32>().ok_or_else(bad)?;
        let ingredients = rb.column(1).as_string_opt::<i32>().ok_or_else(bad)?;
        let total = rb
            .column(2)
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(bad)?;
        let agreeing = rb
            .column(3)
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(bad)?;
        for i in 0..rb.num_rows() {
            learner.observe_learned(&LearnedName {
                name: name.value(i).to_owned(),
                ingredients: ingredients.value(i).to_owned(),
                rows_with_prod_ai: total.value(i),
                rows_agreeing: agreeing.value(i),
            });
        }
    }
    Ok(learner)
}

/// The names the previous version had learned (not the ambiguous ones): those its stored rows
/// were mapped with.
pub(super) fn stored_learned_map(txn: &StoreTxn) -> Result<LearnedNames, FaersError> {
    let mut out = LearnedNames::default();
    let Some((dir, _)) = txn.previous() else {
        return Ok(out);
    };
    let path = dir.join(LEARNED_NAMES_FILE);
    if !path.exists() {
        return Ok(out);
    }
    for rb in read_parquet(&path, None)? {
        let bad = || {
            FaersError::Input(format!(
                "{}: unexpected columns (want name, ingredients, rows_with_prod_ai, rows_agreeing, ambiguous)",
                path.display()
            ))
        };
        let name = rb.column(0).as_string_opt::<i32>().ok_or_else(bad)?;
        let ingredients = rb.column(1).as_string_opt::<i32>().ok_or_else(bad)?;
        let ambiguous = rb
            .columns()
            .get(4)
            .and_then(|c| c.as_boolean_opt())
            .ok_or_else(bad)?;
        for i in 0..rb.num_rows() {
            if !ambiguous.value(i) {
                out.mapped.push(LearnedName {
                    name: name.value(i).to_owned(),
                    ingredients: ingredients.value(i).to_owned(),
                    rows_with_prod_ai: 0,
                    rows_agreeing: 0,
                });
            }
        }
    }
    Ok(out)
}

/// Writes every (name, ingredient set, rows) counted into the version ([`NAME_EVIDENCE_FILE`]).
pub(super) fn write_name_evidence(txn: &StoreTxn, evidence: &Evidence) -> Result<(), FaersError> {
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("ingredients", DataType::Utf8, false),
        Field::new("rows", DataType::UInt64, false),
    ]));
    let mut sink = txn.file_sink(NAME_EVIDENCE_FILE, schema.clone())?;
    let (mut name, mut ingredients) = (StringBuilder::new(), StringBuilder::new());
    let mut rows = UInt64Builder::new();
    for (n, i, r) in evidence {
        name.append_value(n);
        ingredients.append_value(i);
        rows.append_value(*r);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(name.finish()),
        Arc::new(ingredients.finish()),
        Arc::new(rows.finish()),
    ];
    sink.write(&RecordBatch::try_new(schema, cols).map_err(|e| FaersError::Store(e.into()))?)?;
    sink.finish()?;
    Ok(())
}

fn learned_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("ingredients", DataType::Utf8, false),
        Field::new("rows_with_prod_ai", DataType::UInt64, false),
        Field::new("rows_agreeing", DataType::UInt64, false),
        Field::new("ambiguous", DataType::Boolean, false),
    ]))
}

/// Writes the learned and the ambiguous names, with their evidence, into the version.
pub(super) fn write_learned_names(
    txn: &StoreTxn,
    learned: &LearnedNames,
) -> Result<(), FaersError> {
    let schema = learned_schema();
    let mut sink = txn.file_sink(LEARNED_NAMES_FILE, schema.clone())?;
    let rows = learned
        .mapped
        .iter()
        .map(|l| (l, false))
        .chain(learned.ambiguous.iter().map(|l| (l, true)));
    let (mut name, mut ingredients) = (StringBuilder::new(), StringBuilder::new());
    let (mut total, mut agreeing) = (UInt64Builder::new(), UInt64Builder::new());
    let mut ambiguous = BooleanBuilder::new();
    for (l, amb) in rows {
        name.append_value(&l.name);
        ingredients.append_value(&l.ingredients);
        total.append_value(l.rows_with_prod_ai);
        agreeing.append_value(l.rows_agreeing);
        ambiguous.append_value(amb);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(name.finish()),
        Arc::new(ingredients.finish()),
        Arc::new(total.finish()),
        Arc::new(agreeing.finish()),
        Arc::new(ambiguous.finish()),
    ];
    sink.write(&RecordBatch::try_new(schema, cols).map_err(|e| FaersError::Store(e.into()))?)?;
    sink.finish()?;
    Ok(())
}

/// The normalisers a stored drug row is judged by when the learned names change
/// ([`super::remap`]).
pub(crate) struct NamesBefore {
    /// The dictionary and rules only.
    pub(crate) bare: DrugNormaliser,
    /// With the names the previous version had learned.
    pub(crate) before: DrugNormaliser,
}

/// Adds `learned` to `normaliser`, records the names and the `evidence` in the version and in
/// `report`, and returns the normalisers of before (for the remap of the stored rows).
pub(crate) fn record_learned(
    txn: &StoreTxn,
    learned: &LearnedNames,
    evidence: &Evidence,
    normaliser: &mut DrugNormaliser,
    report: &mut IngestReport,
) -> Result<NamesBefore, FaersError> {
    let bare = normaliser.without_learned();
    let mut before = bare.clone();
    before.add_learned(&stored_learned_map(txn)?);
    normaliser.add_learned(learned);
    report_learned_names(report, learned);
    write_learned_names(txn, learned)?;
    write_name_evidence(txn, evidence)?;
    Ok(NamesBefore { bare, before })
}

/// Adds the learning figures to the ingest report: how many names were learned, and the
/// ambiguous ones (most rows first, up to [`MAX_LISTED_UNMAPPED`]).
pub(super) fn report_learned_names(report: &mut IngestReport, learned: &LearnedNames) {
    report.learned_drug_names = learned.mapped.len() as u64;
    let mut amb: Vec<&LearnedName> = learned.ambiguous.iter().collect();
    amb.sort_by(|a, b| {
        b.rows_with_prod_ai
            .cmp(&a.rows_with_prod_ai)
            .then(a.name.cmp(&b.name))
    });
    report.ambiguous_drug_names = amb
        .into_iter()
        .take(MAX_LISTED_UNMAPPED)
        .map(|l| AmbiguousDrugName {
            name: l.name.clone(),
            most_rows: l.ingredients.clone(),
            rows_with_prod_ai: l.rows_with_prod_ai,
            rows_agreeing: l.rows_agreeing,
        })
        .collect();
}
