//! DEMO files into report candidates, read twice: first only what de-duplication needs
//! ([`ReportKey`], [`read_demo_keys`]), then every field of the kept reports ([`DemoRow`],
//! [`stream_demo`]) on their way to the reports table; and the reports already stored back into
//! [`DemoRow`]s, so that both go through one de-duplication.
use std::borrow::Cow;
use std::collections::HashMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, UInt32Type, UInt64Type};
use vigil_store::ingest_report::{FileRead, TableCounts};
use vigil_store::layout::{REPORTS_FILE, REPORT_TEXT_COLUMNS};
use vigil_store::read::read_parquet;
use vigil_store::write::StoreTxn;

use super::dedup::ReportKey;
use super::warnings::{issue, Warnings};
use super::{file_read, progress_tick, IngestOptions, DATE_COLUMNS, PACK_SEP};
use crate::discover::{InputFile, Quarter};
use crate::parse::{self, PartialDate};
use crate::record::{DollarReader, Record};
use crate::table::{column_indexes, Era, Table};
use crate::FaersError;

/// A report in memory during an ingest.
#[derive(Debug, Clone)]
pub(crate) struct DemoRow {
    pub primaryid: u64,
    pub caseid: u64,
    pub caseversion: Option<u32>,
    pub fda_key: u32,
    pub quarter_key: u32,
    pub batch: u32,
    pub source: &'static str,
    /// The [`REPORT_TEXT_COLUMNS`] values joined by [`PACK_SEP`] (empty = null).
    pub text: Box<str>,
    pub age_years: Option<f64>,
    pub weight_kg: Option<f64>,
}

impl DemoRow {
    /// Packs text values (one per [`REPORT_TEXT_COLUMNS`]).
    pub(crate) fn pack<'a>(values: impl Iterator<Item = Option<&'a str>>) -> Box<str> {
        let mut s = String::new();
        for (i, v) in values.enumerate() {
            if i > 0 {
                s.push(PACK_SEP);
            }
            if let Some(v) = v {
                if v.contains(PACK_SEP) {
                    s.push_str(&v.replace(PACK_SEP, " "));
                } else {
                    s.push_str(v);
                }
            }
        }
        s.into_boxed_str()
    }
}

/// What the second read of one DEMO file counted (its reports went to the writer).
pub(super) struct DemoParse {
    pub(super) counts: TableCounts,
    pub(super) warnings: Warnings,
    pub(super) file: FileRead,
}

/// The source label of the reports of a DEMO file.
fn source_of(file: &InputFile, era: Era) -> &'static str {
    if file.synthetic {
        "synthetic"
    } else if era == Era::Aers {
        "aers"
    } else {
        "faers"
    }
}

/// First read of one DEMO file: the de-duplication key of every report candidate, in file order
/// (the rows [`stream_demo`] turns into [`DemoRow`]s). Rows that cannot be read are skipped
/// here; the second read counts and lists them.
pub(super) fn read_demo_keys(
    file: &InputFile,
    quarter: Option<Quarter>,
) -> Result<Vec<ReportKey>, FaersError> {
    file.with_reader(|r| -> Result<Vec<ReportKey>, FaersError> {
        let mut keys = Vec::new();
        let Some(mut rd) = DollarReader::new(r).map_err(|e| FaersError::io(&file.display, e))?
        else {
            return Ok(keys);
        };
        let era = Era::detect(Table::Demo, rd.header(), quarter.map(Quarter::key));
        let columns = DemoColumns::locate(file, rd.header())?;
        let aers = source_of(file, era) == "aers";
        let quarter_key = quarter.map_or(0, Quarter::key);
        let fda_dt = columns.text_index("fda_dt");
        let mut rec = Record::default();
        while let Some(res) = rd
            .next_record(&mut rec)
            .map_err(|e| FaersError::io(&file.display, e))?
        {
            if res.is_err() {
                continue;
            }
            // The same rules as `DemoFile::row`: a row is a candidate when both ids are numbers.
            let (Some(primaryid), Some(caseid)) = (
                parse::parse_id(&rec.text(columns.primaryid)),
                parse::parse_id(&rec.text(columns.caseid)),
            ) else {
                continue;
            };
            let version = columns
                .caseversion
                .and_then(|i| caseversion_value(&rec.text(i)).ok().flatten())
                .unwrap_or(0);
            let fda_key = fda_dt
                .and_then(|i| rec.opt_text(i))
                .and_then(|t| PartialDate::parse(&t).ok().flatten())
                .map_or(0, |d| d.sort_key());
            keys.push(ReportKey {
                primaryid,
                caseid,
                version,
                fda_key,
                quarter_key,
                aers,
            });
        }
        Ok(keys)
    })?
}

/// Second read of one DEMO file of store batch `batch`: every row parsed, counted and warned
/// about as a report candidate, and the candidates marked in `kept` (one flag per key that
/// [`read_demo_keys`] gave, in the same order) handed to `emit`. An error when the file no longer
/// has as many candidates as in the first read (it changed in between).
pub(super) fn stream_demo(
    file: &InputFile,
    batch: u32,
    quarter: Option<Quarter>,
    opts: &IngestOptions,
    kept: &[bool],
    emit: &mut dyn FnMut(DemoRow) -> Result<(), FaersError>,
) -> Result<DemoParse, FaersError> {
    file.with_reader(|r| -> Result<DemoParse, FaersError> {
        let mut out = DemoParse {
            counts: TableCounts::default(),
            warnings: Warnings::default(),
            file: file_read(file, "demo", quarter, "empty", 0, 0),
        };
        let Some(mut rd) = DollarReader::new(r).map_err(|e| FaersError::io(&file.display, e))?
        else {
            return Ok(out);
        };
        let era = Era::detect(Table::Demo, rd.header(), quarter.map(Quarter::key));
        let ctx = DemoFile {
            file,
            batch,
            quarter_key: quarter.map_or(0, Quarter::key),
            source: source_of(file, era),
            columns: DemoColumns::locate(file, rd.header())?,
        };
        let mut rec = Record::default();
        let mut last_bytes = 0;
        let mut packed = String::new();
        let mut candidate = 0usize;
        while let Some(res) = rd
            .next_record(&mut rec)
            .map_err(|e| FaersError::io(&file.display, e))?
        {
            out.counts.read += 1;
            if out.counts.read.is_multiple_of(65_536) {
                progress_tick(opts, rd.bytes_read(), &mut last_bytes);
            }
            if let Err(bad) = res {
                out.counts
                    .reject(issue(file, bad.line, None, bad.reason, &bad.raw), bad.kind);
                continue;
            }
            if let Some(row) = ctx.row(&rec, &mut out, &mut packed) {
                let Some(&keep) = kept.get(candidate) else {
                    return Err(changed_between_reads(file));
                };
                candidate += 1;
                if keep {
                    emit(row)?;
                }
            }
        }
        if candidate != kept.len() {
            return Err(changed_between_reads(file));
        }
        progress_tick(opts, rd.bytes_read(), &mut last_bytes);
        out.file = file_read(
            file,
            "demo",
            quarter,
            era.name(),
            rd.bytes_read(),
            out.counts.read,
        );
        Ok(out)
    })?
}

fn changed_between_reads(file: &InputFile) -> FaersError {
    FaersError::Input(format!(
        "{}: DEMO file changed while it was being ingested (its reports differ between the two reads): nothing written",
        file.display
    ))
}

/// A caseversion (`3` or `3.0`): `Ok(None)` when blank, `Err(())` when not a number.
fn caseversion_value(raw: &str) -> Result<Option<u32>, ()> {
    let t = raw.trim().trim_end_matches(".0");
    if t.is_empty() {
        return Ok(None);
    }
    t.parse::<u32>().map(Some).map_err(|_| ())
}

/// Where the columns a report needs are in one DEMO header.
struct DemoColumns {
    primaryid: usize,
    caseid: usize,
    caseversion: Option<usize>,
    /// One per [`REPORT_TEXT_COLUMNS`].
    text: Vec<Option<usize>>,
    /// Whether each of [`REPORT_TEXT_COLUMNS`] is a date (normalised when packed).
    is_date: Vec<bool>,
}

impl DemoColumns {
    /// The column of report text column `name` (one of [`REPORT_TEXT_COLUMNS`]), if present.
    fn text_index(&self, name: &str) -> Option<usize> {
        let i = REPORT_TEXT_COLUMNS
            .iter()
            .position(|c| *c == name)
            .expect("known");
        self.text[i]
    }

    /// The columns of `header`; an error when it has no primaryid (isr) or caseid (case).
    fn locate(file: &InputFile, header: &[String]) -> Result<Self, FaersError> {
        let keys = column_indexes(Table::Demo, header, &["primaryid", "caseid", "caseversion"]);
        let (Some(primaryid), Some(caseid)) = (keys[0], keys[1]) else {
            return Err(FaersError::Input(format!(
                "{}: DEMO header has no primaryid/isr or caseid/case column: {:?}",
                file.display, header
            )));
        };
        Ok(Self {
            primaryid,
            caseid,
            caseversion: keys[2],
            text: column_indexes(Table::Demo, header, REPORT_TEXT_COLUMNS),
            is_date: REPORT_TEXT_COLUMNS
                .iter()
                .map(|c| DATE_COLUMNS.contains(c))
                .collect(),
        })
    }
}

/// What every report of one DEMO file shares.
struct DemoFile<'a> {
    file: &'a InputFile,
    batch: u32,
    quarter_key: u32,
    source: &'static str,
    columns: DemoColumns,
}

impl DemoFile<'_> {
    /// The report candidate of one well-formed record; `None` when its primaryid or caseid is
    /// not a number (the row is counted as rejected). Unusable field values become nulls and
    /// are counted as warnings.
    fn row(&self, rec: &Record, out: &mut DemoParse, packed: &mut String) -> Option<DemoRow> {
        let cols = &self.columns;
        let primaryid = self.id(rec, cols.primaryid, "primaryid", &mut out.counts)?;
        let caseid = self.id(rec, cols.caseid, "caseid", &mut out.counts)?;
        let caseversion = cols
            .caseversion
            .and_then(|i| self.caseversion(rec, i, &mut out.warnings));
        self.pack_text(rec, packed, &mut out.warnings);
        let age = self.text(rec, "age");
        let age_years = if age.is_empty() {
            None
        } else {
            parse::age_years(&age, &self.text(rec, "age_cod"))
        };
        if !age.is_empty() && age_years.is_none() {
            out.warnings.add(
                &self.file.display,
                rec.line,
                "demo",
                "age",
                format!(
                    "age {age:?} {:?} not usable (unit unknown or outside 0–122 years)",
                    self.text(rec, "age_cod")
                ),
                &age,
            );
        }
        let wt = self.text(rec, "wt");
        let weight_kg = if wt.is_empty() {
            None
        } else {
            parse::weight_kg(&wt, &self.text(rec, "wt_cod"))
        };
        let fda_key = PartialDate::parse(&self.text(rec, "fda_dt"))
            .ok()
            .flatten()
            .map_or(0, |d| d.sort_key());
        Some(DemoRow {
            primaryid,
            caseid,
            caseversion,
            fda_key,
            quarter_key: self.quarter_key,
            batch: self.batch,
            source: self.source,
            text: packed.as_str().into(),
            age_years,
            weight_kg,
        })
    }

    /// The numeric id in column `i`; `None`, counted as rejected under "bad `field`", when it
    /// is not one.
    fn id(&self, rec: &Record, i: usize, field: &str, counts: &mut TableCounts) -> Option<u64> {
        let raw = rec.text(i);
        let id = parse::parse_id(&raw);
        if id.is_none() {
            counts.reject(
                issue(
                    self.file,
                    rec.line,
                    Some(field),
                    "not a numeric id".into(),
                    &raw,
                ),
                &format!("bad {field}"),
            );
        }
        id
    }

    /// The caseversion in column `i` (`3` or `3.0`); `None` when blank, or (with a warning) when
    /// not a number.
    fn caseversion(&self, rec: &Record, i: usize, warnings: &mut Warnings) -> Option<u32> {
        let raw = rec.text(i);
        match caseversion_value(&raw) {
            Ok(v) => v,
            Err(()) => {
                warnings.add(
                    &self.file.display,
                    rec.line,
                    "demo",
                    "caseversion",
                    "not a number".into(),
                    &raw,
                );
                None
            }
        }
    }

    /// Packs the record's [`REPORT_TEXT_COLUMNS`] into `packed` (see [`DemoRow::text`]), dates
    /// normalised; a date that cannot be read is left empty (null) and warned.
    fn pack_text(&self, rec: &Record, packed: &mut String, warnings: &mut Warnings) {
        let cols = &self.columns;
        packed.clear();
        for (j, (col, idx)) in REPORT_TEXT_COLUMNS.iter().zip(&cols.text).enumerate() {
            if j > 0 {
                packed.push(PACK_SEP);
            }
            let Some(v) = idx.and_then(|i| rec.opt_text(i)) else {
                continue;
            };
            if cols.is_date[j] {
                match PartialDate::normalised(&v) {
                    Ok(Some(d)) => packed.push_str(d),
                    Ok(None) => {}
                    Err(e) => warnings.add(&self.file.display, rec.line, "demo", col, e, &v),
                }
            } else if v.contains(PACK_SEP) {
                packed.push_str(&v.replace(PACK_SEP, " "));
            } else {
                packed.push_str(&v);
            }
        }
    }

    /// The raw text of report column `name` (one of [`REPORT_TEXT_COLUMNS`]), empty when absent.
    fn text<'r>(&self, rec: &'r Record, name: &str) -> Cow<'r, str> {
        let i = REPORT_TEXT_COLUMNS
            .iter()
            .position(|c| *c == name)
            .expect("known");
        self.columns.text[i]
            .and_then(|i| rec.opt_text(i))
            .unwrap_or_default()
    }
}

pub(crate) fn demo_rows_from_batches(
    batches: &[RecordBatch],
    quarters: &HashMap<u32, String>,
) -> Vec<DemoRow> {
    let mut out = Vec::new();
    for rb in batches {
        let s = rb.schema();
        let col = |n: &str| rb.column(s.index_of(n).expect("reports column"));
        let pid = col("primaryid").as_primitive::<UInt64Type>().clone();
        let cid = col("caseid").as_primitive::<UInt64Type>().clone();
        let ver = col("caseversion").as_primitive::<UInt32Type>().clone();
        let bat = col("batch").as_primitive::<UInt32Type>().clone();
        let src = col("source").as_string::<i32>().clone();
        let age = col("age_years").as_primitive::<Float64Type>().clone();
        let wt = col("weight_kg").as_primitive::<Float64Type>().clone();
        let texts: Vec<_> = REPORT_TEXT_COLUMNS
            .iter()
            .map(|c| col(c).as_string::<i32>().clone())
            .collect();
        let fda_i = REPORT_TEXT_COLUMNS
            .iter()
            .position(|c| *c == "fda_dt")
            .expect("fda_dt");
        for i in 0..rb.num_rows() {
            let b = bat.value(i);
            let qk = quarters
                .get(&b)
                .and_then(|q| crate::discover::quarter_in_name(q))
                .map_or(0, Quarter::key);
            let fda_key = if texts[fda_i].is_null(i) {
                0
            } else {
                PartialDate::parse(texts[fda_i].value(i))
                    .ok()
                    .flatten()
                    .map_or(0, |d| d.sort_key())
            };
            let source: &'static str = match src.value(i) {
                "aers" => "aers",
                "synthetic" => "synthetic",
                "openfda" => "openfda",
                _ => "faers",
            };
            out.push(DemoRow {
                primaryid: pid.value(i),
                caseid: cid.value(i),
                caseversion: (!ver.is_null(i)).then(|| ver.value(i)),
                fda_key,
                quarter_key: qk,
                batch: b,
                source,
                text: DemoRow::pack(texts.iter().map(|t| (!t.is_null(i)).then(|| t.value(i)))),
                age_years: (!age.is_null(i)).then(|| age.value(i)),
                weight_kg: (!wt.is_null(i)).then(|| wt.value(i)),
            });
        }
    }
    out
}

/// Reads the reports of the live version a transaction builds on.
pub(crate) fn stored_reports(
    txn: &StoreTxn,
) -> Result<(Vec<DemoRow>, HashMap<u32, String>), FaersError> {
    let mut quarters = HashMap::new();
    let Some((dir, manifest)) = txn.previous() else {
        return Ok((Vec::new(), quarters));
    };
    for b in &manifest.batches {
        quarters.insert(b.id, b.quarter.clone());
    }
    let batches = read_parquet(&dir.join(REPORTS_FILE), None)?;
    Ok((demo_rows_from_batches(&batches, &quarters), quarters))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discover::find_faers_inputs;

    /// A 2020Q1 DEMO file with 3 report candidates (primaryids 101–103) and one row whose
    /// primaryid is not a number (rejected, not a candidate).
    fn demo_file(dir: &std::path::Path) -> InputFile {
        let q = dir.join("faers_ascii_2020q1");
        std::fs::create_dir_all(&q).unwrap();
        std::fs::write(
            q.join("DEMO20Q1.txt"),
            "primaryid$caseid$caseversion$fda_dt\n101$1$1$20200101\nX$2$1$20200101\n102$2$3.0$20200102\n103$3$$2020\n",
        )
        .unwrap();
        find_faers_inputs(&[q])
            .unwrap()
            .into_iter()
            .find(|f| f.display.ends_with("DEMO20Q1.txt"))
            .unwrap()
    }

    #[test]
    fn the_second_read_streams_the_kept_candidates_of_the_first() {
        let tmp = tempfile::tempdir().unwrap();
        let f = demo_file(tmp.path());
        let q = f.quarter;
        let keys = read_demo_keys(&f, q).unwrap();
        // (primaryid, caseid, version, quarter key): "3.0" reads as 3, a blank version as 0.
        let got: Vec<(u64, u64, u32, u32)> = keys
            .iter()
            .map(|k| (k.primaryid, k.caseid, k.version, k.quarter_key))
            .collect();
        assert_eq!(
            got,
            [(101, 1, 1, 20201), (102, 2, 3, 20201), (103, 3, 0, 20201)]
        );
        let mut emitted = Vec::new();
        let p = stream_demo(
            &f,
            7,
            q,
            &IngestOptions::default(),
            &[true, false, true],
            &mut |r| {
                emitted.push((r.primaryid, r.batch));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(emitted, [(101, 7), (103, 7)]);
        // All 4 rows read; the bad id counted as rejected by the second read only.
        assert_eq!((p.counts.read, p.counts.rejected), (4, 1));
    }

    #[test]
    fn a_file_that_changed_between_the_two_reads_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let f = demo_file(tmp.path());
        let q = f.quarter;
        // As if the first read had seen 2 or 4 candidates: the file no longer matches.
        for flags in [&[true, true][..], &[true, true, true, true][..]] {
            let err = stream_demo(&f, 1, q, &IngestOptions::default(), flags, &mut |_| Ok(()))
                .err()
                .expect("an error");
            let msg = err.to_string();
            assert!(
                msg.contains("DEMO20Q1.txt") && msg.contains("changed"),
                "{msg}"
            );
        }
    }
}
