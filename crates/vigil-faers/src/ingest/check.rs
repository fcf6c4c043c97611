//! Checks made before anything is written: every quarter has DEMO, DRUG and REAC, no table file
//! is empty, and every table has the columns it needs.
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use crate::discover::{InputFile, InputKind, Quarter};
use crate::record::DollarReader;
use crate::table::{column_indexes, Era, Table};
use crate::FaersError;

/// Columns (unified names) a table must have to be ingested, by era. Sources: faers-format.md
/// §2 (the column lists of each era) and §4.12 (the joins): every table is keyed by primaryid
/// (legacy ISR); FAERS DEMO needs caseid, caseversion and fda_dt for the one-version-per-case
/// rule (§5 rule 1; legacy has no caseversion, CASE becomes caseid); DRUG needs drug_seq (the
/// duplicate rule and the THER/INDI joins), role_cod (suspect or not) and the name columns
/// (drugname in every era, prod_ai from 2014Q3, FAERS version B); REAC needs pt (without it every
/// row of a report looks like a duplicate of the first).
pub fn required_columns(table: Table, legacy: bool, quarter: Option<Quarter>) -> Vec<&'static str> {
    let version_b = quarter.is_some_and(|q| q.key() >= 20143);
    let mut cols = vec!["primaryid"];
    match table {
        Table::Demo => {
            cols.push("caseid");
            if !legacy {
                cols.extend(["caseversion", "fda_dt"]);
            }
        }
        Table::Drug => {
            cols.extend(["drug_seq", "role_cod", "drugname"]);
            if !legacy && version_b {
                cols.push("prod_ai");
            }
        }
        Table::Reac => cols.push("pt"),
        Table::Outc => cols.push("outc_cod"),
        Table::Rpsr => cols.push("rpsr_cod"),
        Table::Ther => cols.push("dsg_drug_seq"),
        Table::Indi => cols.extend(["indi_drug_seq", "indi_pt"]),
    }
    cols
}

/// The input a quarter came from, for errors about a table it lacks: the zip of a zip member,
/// else the folder of the file.
fn quarter_input(f: &InputFile) -> String {
    match f.display.split_once('!') {
        Some((archive, _)) => archive.to_owned(),
        None => Path::new(&f.display)
            .parent()
            .map_or_else(|| f.display.clone(), |p| p.display().to_string()),
    }
}

/// Refuses, before anything is written, a quarter that would replace good reports with broken
/// ones: one without DEMO, DRUG or REAC (a report without drugs or reactions cannot enter any
/// signal), a table file that is empty (0 bytes or no header line), a DEMO file with no report
/// row, or a table without a column it needs ([`required_columns`]).
pub fn check_quarters(
    groups: &BTreeMap<Option<Quarter>, Vec<&InputFile>>,
) -> Result<(), FaersError> {
    for (q, files) in groups {
        let label = q.map_or_else(|| "of unknown date".to_owned(), Quarter::label);
        for t in [Table::Demo, Table::Drug, Table::Reac] {
            if !files.iter().any(|f| f.kind == InputKind::Table(t)) {
                let input = files.first().map(|f| quarter_input(f)).unwrap_or_default();
                return Err(FaersError::Located {
                    file: input,
                    line: 1,
                    field: None,
                    reason: format!(
                        "quarter {label} has no {} file ({}*.txt): refused, nothing written (a quarter needs DEMO, DRUG and REAC; without {} its reports would replace stored ones without their {})",
                        t.prefix(),
                        t.prefix(),
                        t.prefix(),
                        if t == Table::Reac { "reactions" } else if t == Table::Drug { "drugs" } else { "case data" }
                    ),
                });
            }
        }
        for f in files {
            let InputKind::Table(t) = f.kind else {
                continue;
            };
            if f.bytes == 0 {
                return Err(FaersError::Located {
                    file: f.display.clone(),
                    line: 1,
                    field: None,
                    reason: format!(
                        "empty {} file (0 bytes): refused, nothing written",
                        t.prefix()
                    ),
                });
            }
            let header = f.with_reader(|r| {
                DollarReader::new(r).map(|rd| rd.map(|rd| rd.header().to_vec()))
            })?;
            let header = header.map_err(|e| FaersError::io(&f.display, e))?;
            let Some(header) = header else {
                return Err(FaersError::Located {
                    file: f.display.clone(),
                    line: 1,
                    field: None,
                    reason: format!(
                        "{} file has no header line (only blank lines): refused, nothing written",
                        t.prefix()
                    ),
                });
            };
            if t == Table::Demo && !has_a_row_after_the_header(f)? {
                return Err(FaersError::Located {
                    file: f.display.clone(),
                    line: 2,
                    field: None,
                    reason: "DEMO file has a header and no report row: refused, nothing written (every drug and reaction row of the quarter would be rejected as an orphan)".to_owned(),
                });
            }
            let legacy = Era::detect(t, &header, q.map(Quarter::key)) == Era::Aers;
            let wanted = required_columns(t, legacy, *q);
            let found = column_indexes(t, &header, &wanted);
            if let Some((missing, _)) = wanted.iter().zip(&found).find(|(_, i)| i.is_none()) {
                return Err(FaersError::Located {
                    file: f.display.clone(),
                    line: 1,
                    field: Some((*missing).to_owned()),
                    reason: format!(
                        "missing column in the {} header ({}): refused, nothing written",
                        t.prefix(),
                        header.join("$")
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Whether a non-blank line follows the header line (a read error counts as a row: the ingest
/// itself then reports it with its place).
fn has_a_row_after_the_header(f: &InputFile) -> Result<bool, FaersError> {
    f.with_reader(|r| {
        let mut lines = r.lines();
        lines.next();
        lines.any(|l| l.map_or(true, |l| !l.trim().is_empty()))
    })
}
