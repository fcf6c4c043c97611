//! Count-table input files for `vigil signals --counts`: CSV or Parquet, report-level or aggregated.
//!
//! - **Report-level**: columns `id, drug, event[, strata…]`, one row per report, drug and event;
//!   duplicates within a report count once.
//! - **Aggregated**: columns `drug, event, a, b, c, d`, one 2×2 table per row.
//!
//! Column names are matched case-insensitively; besides the names above, the aliases of common
//! tools are accepted (`var1`/`var2` of openEBGM, `ingredient_std`/`reaction_pt`, `primaryid`…),
//! see [`DRUG_NAMES`], [`EVENT_NAMES`], [`ID_NAMES`]. Every error names the file, the line (CSV
//! lines count from 1 with the header as line 1; Parquet rows from 1) and the column.

use std::path::{Path, PathBuf};

use arrow::array::{Array, Float64Array, StringArray};
use arrow::datatypes::DataType;

use crate::count::PairCounts;
use crate::csv_scan::{CsvScanner, Fields, ScanError};
use crate::reports::{normalise_name, Dictionary, ReportSet, ReportSetBuilder};

/// Accepted names of the drug column.
pub const DRUG_NAMES: &[&str] = &[
    "drug",
    "var1",
    "ingredient_std",
    "ingredient",
    "prod_ai",
    "drugname",
];
/// Accepted names of the event column.
pub const EVENT_NAMES: &[&str] = &["event", "var2", "reaction_pt", "pt"];
/// Accepted names of the report id column.
pub const ID_NAMES: &[&str] = &["id", "primaryid", "report_id", "caseid"];

/// A problem with an input file. Displays as `FILE: line N, field COL: message`, the one error
/// shape of vigil (the field is left out when the whole row is at fault).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened or read.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file's structure is wrong (no header, missing column, unreadable Parquet).
    #[error("{}: {message}", .path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// One field is wrong.
    #[error("{}: line {line}{}: {message}", .path.display(), field_part(.column))]
    Field {
        /// The file.
        path: PathBuf,
        /// Line (CSV, header = 1) or row (Parquet, first row = 1).
        line: u64,
        /// Column name as written in the file.
        column: String,
        /// What is wrong, with the raw value.
        message: String,
    },
}

/// `, field COL` for an error about one column; nothing for a whole row (`-`).
fn field_part(column: &str) -> String {
    if column.is_empty() || column == "-" {
        String::new()
    } else {
        format!(", field {column}")
    }
}

/// What an input file holds.
#[derive(Debug)]
pub enum CountsInput {
    /// Report-level rows, grouped into reports.
    Reports(ReportSet),
    /// Aggregated 2×2 tables, one per pair, with the drug and event dictionaries.
    Aggregated {
        /// Pair counts; `expected` is the unstratified n_drug·n_event/n.
        counts: PairCounts,
        /// Drug names.
        drugs: Dictionary,
        /// Event names.
        events: Dictionary,
    },
}

/// Reads `path` (CSV unless the extension is `.parquet`/`.pq`). `stratify` names report-level
/// columns whose values, joined by `|`, make each report's stratum.
pub fn read_counts_file(path: &Path, stratify: &[String]) -> Result<CountsInput, InputError> {
    let table = if matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("parquet" | "pq")
    ) {
        read_parquet_table(path)?
    } else {
        let file = std::fs::File::open(path).map_err(|source| InputError::Io {
            path: path.to_owned(),
            source,
        })?;
        read_csv_table(path, std::io::BufReader::new(file))?
    };
    from_table(path, &table, stratify)
}

/// Reads CSV count-table input from `reader` as [`read_counts_file`] reads a CSV file; `path`
/// names the input in errors.
pub fn read_counts_csv<R: std::io::Read>(
    reader: R,
    path: &Path,
    stratify: &[String],
) -> Result<CountsInput, InputError> {
    let table = read_csv_table(path, reader)?;
    from_table(path, &table, stratify)
}

/// One column of an input file, compact enough for tables of tens of millions of rows: text is
/// dictionary-encoded as it is read (FAERS names repeat), numbers from numeric Parquet columns stay
/// numbers (NaN for null).
enum Column {
    Text {
        codes: Vec<u32>,
        values: Vec<String>,
        index: ahash::AHashMap<String, u32>,
    },
    Number(Vec<f64>),
    /// An integer Parquet column, kept exact (a cast to f64 would round values above 2^53);
    /// `i64::MIN` marks a null.
    Integer(Vec<i64>),
}

/// The largest count accepted: 2^53, above which not every whole number is an f64, so a larger
/// count would be silently rounded.
pub const MAX_COUNT: u64 = 1 << 53;

/// Reads a count given as text: a whole number written with digits (or as a whole float such as
/// `12.0` or `1e3`), from 0 to [`MAX_COUNT`]. `Err` is the message.
fn parse_count(raw: &str) -> Result<f64, String> {
    let t = raw.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        // Digits only: compared exactly, never through a rounded f64.
        let too_big = || {
            format!("{raw:?} is above 2^53 = {MAX_COUNT}, the largest count vigil reads exactly")
        };
        let n: u128 = t.parse().map_err(|_| too_big())?;
        if n > u128::from(MAX_COUNT) {
            return Err(too_big());
        }
        return Ok(n as f64);
    }
    let x: f64 = t.parse().map_err(|_| format!("{raw:?} is not a number"))?;
    if x.is_nan() || x < 0.0 || !x.is_finite() || x.fract() != 0.0 {
        return Err(format!("{raw:?} is not a non-negative whole count"));
    }
    if x > MAX_COUNT as f64 {
        return Err(format!(
            "{raw:?} is above 2^53 = {MAX_COUNT}, the largest count vigil reads exactly"
        ));
    }
    Ok(x)
}

impl Column {
    fn new_text() -> Self {
        Column::Text {
            codes: Vec::new(),
            values: Vec::new(),
            index: ahash::AHashMap::new(),
        }
    }

    fn push_text(&mut self, v: &str) {
        if let Column::Text {
            codes,
            values,
            index,
        } = self
        {
            // Consecutive rows of one report repeat its id (and often its drug): comparing with the
            // previous row's value is cheaper than hashing.
            if let Some(&last) = codes.last() {
                if values[last as usize] == v {
                    codes.push(last);
                    return;
                }
            }
            let code = match index.get(v) {
                Some(&c) => c,
                None => {
                    let c = values.len() as u32;
                    values.push(v.to_owned());
                    index.insert(v.to_owned(), c);
                    c
                }
            };
            codes.push(code);
        }
    }

    /// For a text column, its distinct values and each row's index into them.
    fn dictionary(&self) -> Option<(&[String], &[u32])> {
        match self {
            Column::Text { codes, values, .. } => Some((values, codes)),
            Column::Number(_) | Column::Integer(_) => None,
        }
    }

    fn len(&self) -> usize {
        match self {
            Column::Text { codes, .. } => codes.len(),
            Column::Number(v) => v.len(),
            Column::Integer(v) => v.len(),
        }
    }

    fn text(&self, i: usize) -> std::borrow::Cow<'_, str> {
        match self {
            Column::Text { codes, values, .. } => {
                std::borrow::Cow::Borrowed(values[codes[i] as usize].as_str())
            }
            Column::Number(v) => std::borrow::Cow::Owned(if v[i].is_nan() {
                String::new()
            } else {
                v[i].to_string()
            }),
            Column::Integer(v) => std::borrow::Cow::Owned(if v[i] == i64::MIN {
                String::new()
            } else {
                v[i].to_string()
            }),
        }
    }

    /// The value as a count (a whole number from 0 to 2^53), or what is wrong with it.
    fn count(&self, i: usize) -> Result<f64, String> {
        match self {
            Column::Number(v) if v[i].is_nan() => Err("empty value".into()),
            Column::Integer(v) if v[i] == i64::MIN => Err("empty value".into()),
            // Numeric columns are checked without formatting each value as text.
            Column::Integer(v) if (0..=MAX_COUNT as i64).contains(&v[i]) => Ok(v[i] as f64),
            Column::Number(v) if v[i] >= 0.0 && v[i] <= MAX_COUNT as f64 && v[i].fract() == 0.0 => {
                Ok(v[i])
            }
            _ => parse_count(&self.text(i)),
        }
    }

    fn is_empty_at(&self, i: usize) -> bool {
        match self {
            Column::Text { .. } => self.text(i).trim().is_empty(),
            Column::Number(v) => v[i].is_nan(),
            Column::Integer(v) => v[i] == i64::MIN,
        }
    }
}

/// A file read into columns, with the line number of every row.
struct Table {
    /// The line of the header in a CSV file (1); `None` for Parquet, whose columns are its schema.
    header_line: Option<u64>,
    headers: Vec<String>,
    columns: Vec<Column>,
    lines: Vec<u64>,
}

impl Table {
    fn find(&self, names: &[&str]) -> Option<usize> {
        names.iter().find_map(|n| {
            self.headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(n))
        })
    }
}

fn read_csv_table<R: std::io::Read>(path: &Path, reader: R) -> Result<Table, InputError> {
    let mut scanner = CsvScanner::new(reader);
    let mut fields = Fields::default();
    let unreadable = |e: ScanError| match e {
        ScanError::Io(source) => InputError::Io {
            path: path.to_owned(),
            source,
        },
        ScanError::Utf8 { line, field } => InputError::Field {
            path: path.to_owned(),
            line,
            column: "-".into(),
            message: format!("unreadable row: field {field} is not valid UTF-8"),
        },
    };
    let headers: Vec<String> = match scanner.next_record(&mut fields).map_err(unreadable)? {
        Some(_) => fields
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_owned())
            .collect(),
        None => Vec::new(),
    };
    if headers.iter().all(|h| h.is_empty()) {
        return Err(InputError::Field {
            path: path.to_owned(),
            line: 1,
            column: "-".into(),
            message: "empty file: no header line".into(),
        });
    }
    let mut columns: Vec<Column> = (0..headers.len()).map(|_| Column::new_text()).collect();
    let mut lines = Vec::new();
    while let Some(line) = scanner.next_record(&mut fields).map_err(unreadable)? {
        if fields.len() != headers.len() {
            return Err(InputError::Field {
                path: path.to_owned(),
                line,
                column: headers
                    .get(fields.len().min(headers.len().saturating_sub(1)))
                    .cloned()
                    .unwrap_or_default(),
                message: format!("{} fields, the header has {}", fields.len(), headers.len()),
            });
        }
        for (c, v) in fields.iter().enumerate() {
            columns[c].push_text(v);
        }
        lines.push(line);
    }
    if lines.is_empty() {
        return Err(InputError::Field {
            path: path.to_owned(),
            line: 2,
            column: "-".into(),
            message: "empty file: a header but no rows".into(),
        });
    }
    Ok(Table {
        header_line: Some(1),
        headers,
        columns,
        lines,
    })
}

fn read_parquet_table(path: &Path) -> Result<Table, InputError> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).map_err(|source| InputError::Io {
        path: path.to_owned(),
        source,
    })?;
    let bad = |e: &dyn std::fmt::Display| InputError::File {
        path: path.to_owned(),
        message: format!("not a readable Parquet file: {e}"),
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| bad(&e))?
        .build()
        .map_err(|e| bad(&e))?;
    let mut headers: Vec<String> = Vec::new();
    let mut columns: Vec<Column> = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| bad(&e))?;
        if headers.is_empty() {
            headers = batch
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
            columns = batch
                .schema()
                .fields()
                .iter()
                .map(|f| match f.data_type() {
                    // Integers that fit i64 exactly; UInt64 as text (it may exceed i64).
                    DataType::Int8
                    | DataType::Int16
                    | DataType::Int32
                    | DataType::Int64
                    | DataType::UInt8
                    | DataType::UInt16
                    | DataType::UInt32 => Column::Integer(Vec::new()),
                    t if t.is_numeric() && *t != DataType::UInt64 => Column::Number(Vec::new()),
                    _ => Column::new_text(),
                })
                .collect();
        }
        for (col, target) in batch.columns().iter().zip(columns.iter_mut()) {
            match target {
                Column::Number(v) => {
                    let cast =
                        arrow::compute::cast(col, &DataType::Float64).map_err(|e| bad(&e))?;
                    let f = cast
                        .as_any()
                        .downcast_ref::<Float64Array>()
                        .expect("cast to Float64 gives a Float64Array");
                    v.extend(
                        (0..f.len()).map(|i| if f.is_null(i) { f64::NAN } else { f.value(i) }),
                    );
                }
                Column::Integer(v) => {
                    let cast = arrow::compute::cast(col, &DataType::Int64).map_err(|e| bad(&e))?;
                    let n = cast
                        .as_any()
                        .downcast_ref::<arrow::array::Int64Array>()
                        .expect("cast to Int64 gives an Int64Array");
                    v.extend(
                        (0..n.len()).map(|i| if n.is_null(i) { i64::MIN } else { n.value(i) }),
                    );
                }
                text @ Column::Text { .. } => {
                    let cast = arrow::compute::cast(col, &DataType::Utf8).map_err(|e| bad(&e))?;
                    let t = cast
                        .as_any()
                        .downcast_ref::<StringArray>()
                        .expect("cast to Utf8 gives a StringArray");
                    for i in 0..t.len() {
                        text.push_text(if t.is_null(i) { "" } else { t.value(i) });
                    }
                }
            }
        }
    }
    let rows = columns.first().map_or(0, Column::len);
    if rows == 0 {
        return Err(InputError::File {
            path: path.to_owned(),
            message: "empty file: no rows".into(),
        });
    }
    Ok(Table {
        header_line: None,
        headers,
        columns,
        lines: (1..=rows as u64).collect(),
    })
}

fn from_table(path: &Path, t: &Table, stratify: &[String]) -> Result<CountsInput, InputError> {
    // Two columns of one name (as the columns are looked up: trimmed, any case) would leave which
    // one is read to the order of the header: refused, naming the column.
    for (i, h) in t.headers.iter().enumerate() {
        let name = h.trim();
        if t.headers[..i]
            .iter()
            .any(|earlier| earlier.trim().eq_ignore_ascii_case(name))
        {
            let message = format!(
                "column {name:?} appears more than once; the header is: {}",
                t.headers.join(",")
            );
            return Err(match t.header_line {
                Some(line) => InputError::Field {
                    path: path.to_owned(),
                    line,
                    column: name.to_owned(),
                    message,
                },
                None => InputError::File {
                    path: path.to_owned(),
                    message,
                },
            });
        }
    }
    // A missing column is reported at the header line of a CSV file (line 1), or for the file as a
    // whole for Parquet.
    let missing = |what: &str, names: &[&str]| {
        let detail = format!(
            "(accepted names: {}); the header is: {}",
            names.join(", "),
            t.headers.join(",")
        );
        match t.header_line {
            Some(line) => InputError::Field {
                path: path.to_owned(),
                line,
                column: what.to_owned(),
                message: format!("missing {detail}"),
            },
            None => InputError::File {
                path: path.to_owned(),
                message: format!("missing column {what} {detail}"),
            },
        }
    };
    let drug = t
        .find(DRUG_NAMES)
        .ok_or_else(|| missing("drug", DRUG_NAMES))?;
    let event = t
        .find(EVENT_NAMES)
        .ok_or_else(|| missing("event", EVENT_NAMES))?;
    let cells: Vec<Option<usize>> = ["a", "b", "c", "d"].iter().map(|n| t.find(&[n])).collect();
    let empty = |c: usize, i: usize| -> Result<(), InputError> {
        if t.columns[c].is_empty_at(i) {
            Err(InputError::Field {
                path: path.to_owned(),
                line: t.lines[i],
                column: t.headers[c].clone(),
                message: "empty value".into(),
            })
        } else {
            Ok(())
        }
    };
    let id_column = t.find(ID_NAMES);
    let all_cells = cells.iter().all(Option::is_some);
    let column_list = |cols: &[Option<usize>]| {
        cols.iter()
            .flatten()
            .map(|&c| t.headers[c].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let (Some(id), true) = (id_column, all_cells) {
        // Both shapes are complete: guessing one would silently drop the other's columns.
        let ambiguous = format!(
            "ambiguous input: report-level columns ({}) and aggregated columns ({}) are both present; keep {} for report rows or a, b, c, d for 2×2 tables",
            column_list(&[Some(id), Some(drug), Some(event)]),
            column_list(&[Some(drug), Some(event), cells[0], cells[1], cells[2], cells[3]]),
            t.headers[id]
        );
        return Err(match t.header_line {
            Some(line) => InputError::Field {
                path: path.to_owned(),
                line,
                column: t.headers[id].clone(),
                message: ambiguous,
            },
            None => InputError::File {
                path: path.to_owned(),
                message: ambiguous,
            },
        });
    }
    if let Some(id) = id_column {
        let strata: Vec<usize> = stratify
            .iter()
            .map(|s| {
                t.find(&[s.as_str()])
                    .ok_or_else(|| missing(s, &[s.as_str()]))
            })
            .collect::<Result<_, _>>()?;
        // Group rows by report id, keeping first-appearance order, on the text columns'
        // dictionary codes: a name is normalised once per distinct spelling, not once per row.
        let text_codes = |c: usize| -> Vec<u32> {
            match t.columns[c].dictionary() {
                Some((_, codes)) => codes.to_vec(),
                // A numeric Parquet column: its rows' text interned here.
                None => {
                    let mut col = Column::new_text();
                    for i in 0..t.lines.len() {
                        col.push_text(&t.columns[c].text(i));
                    }
                    col.dictionary()
                        .map(|(_, k)| k.to_vec())
                        .unwrap_or_default()
                }
            }
        };
        let text_values = |c: usize, codes: &[u32]| -> Vec<String> {
            match t.columns[c].dictionary() {
                Some((values, _)) => values.to_vec(),
                None => {
                    let mut values =
                        vec![String::new(); codes.iter().max().map_or(0, |&m| m as usize + 1)];
                    for (i, &k) in codes.iter().enumerate() {
                        if values[k as usize].is_empty() {
                            values[k as usize] = t.columns[c].text(i).into_owned();
                        }
                    }
                    values
                }
            }
        };
        let (id_codes, drug_codes, event_codes) =
            (text_codes(id), text_codes(drug), text_codes(event));
        let id_values = text_values(id, &id_codes);
        let drug_values = text_values(drug, &drug_codes);
        let event_values = text_values(event, &event_codes);
        let blank = |values: &[String]| -> Vec<bool> {
            values.iter().map(|v| v.trim().is_empty()).collect()
        };
        let (id_blank, drug_blank, event_blank) =
            (blank(&id_values), blank(&drug_values), blank(&event_values));
        // Report index of every row, in order of first appearance; each report's stratum label and
        // the line that set it.
        let mut report_of_code: Vec<u32> = vec![u32::MAX; id_values.len()];
        let mut report_code: Vec<u32> = Vec::new();
        let mut report_label: Vec<(String, u64)> = Vec::new();
        let mut report_rows: Vec<u32> = vec![0; t.lines.len()];
        let mut label = String::new();
        for i in 0..t.lines.len() {
            for (c, is_blank) in [
                (id, id_blank[id_codes[i] as usize]),
                (drug, drug_blank[drug_codes[i] as usize]),
                (event, event_blank[event_codes[i] as usize]),
            ] {
                if is_blank {
                    empty(c, i)?;
                }
            }
            label.clear();
            for (k, &c) in strata.iter().enumerate() {
                if k > 0 {
                    label.push('|');
                }
                label.push_str(&t.columns[c].text(i));
            }
            let code = id_codes[i] as usize;
            let r = if report_of_code[code] == u32::MAX {
                report_of_code[code] = report_code.len() as u32;
                report_code.push(code as u32);
                report_label.push((label.clone(), t.lines[i]));
                report_code.len() - 1
            } else {
                report_of_code[code] as usize
            };
            if report_label[r].0 != label {
                return Err(InputError::Field {
                    path: path.to_owned(),
                    line: t.lines[i],
                    column: stratify.join(","),
                    message: format!(
                        "report {:?} is in stratum {label:?} here but {:?} on line {}",
                        id_values[code], report_label[r].0, report_label[r].1
                    ),
                });
            }
            report_rows[i] = r as u32;
        }
        // Rows grouped by report (a counting sort, stable: rows keep their file order).
        let mut offsets = vec![0usize; report_code.len() + 1];
        for &r in &report_rows {
            offsets[r as usize + 1] += 1;
        }
        for r in 0..report_code.len() {
            offsets[r + 1] += offsets[r];
        }
        let mut next = offsets.clone();
        let mut grouped = vec![0u32; t.lines.len()];
        for (i, &r) in report_rows.iter().enumerate() {
            grouped[next[r as usize]] = i as u32;
            next[r as usize] += 1;
        }
        // Names as the store writes them (trimmed, upper case), so that `Dupilumab` and
        // `DUPILUMAB ` are one drug; blank names were refused above. Interned report by report,
        // row by row, so that ids follow first appearance in that order.
        let mut b = ReportSetBuilder::new();
        let mut drug_id: Vec<u32> = vec![u32::MAX; drug_values.len()];
        let mut event_id: Vec<u32> = vec![u32::MAX; event_values.len()];
        let mut rows: Vec<(u32, u32)> = Vec::new();
        for r in 0..report_code.len() {
            rows.clear();
            let (drugs, events, strata_dict) = b.dictionaries_mut();
            for &i in &grouped[offsets[r]..offsets[r + 1]] {
                let (dc, ec) = (
                    drug_codes[i as usize] as usize,
                    event_codes[i as usize] as usize,
                );
                if drug_id[dc] == u32::MAX {
                    drug_id[dc] =
                        drugs.intern(&normalise_name(&drug_values[dc]).unwrap_or_default());
                }
                if event_id[ec] == u32::MAX {
                    event_id[ec] =
                        events.intern(&normalise_name(&event_values[ec]).unwrap_or_default());
                }
                rows.push((drug_id[dc], event_id[ec]));
            }
            let s = strata_dict.intern(&report_label[r].0);
            b.push_report_id_rows(&id_values[report_code[r] as usize], &mut rows, s);
        }
        return Ok(CountsInput::Reports(b.finish()));
    }
    let [Some(ca), Some(cb), Some(cc), Some(cd)] = cells[..] else {
        return Err(InputError::File {
            path: path.to_owned(),
            message: format!(
                "neither report-level (columns id, drug, event) nor aggregated (columns drug, event, a, b, c, d); the header is: {}",
                t.headers.join(",")
            ),
        });
    };
    if !stratify.is_empty() {
        return Err(InputError::File {
            path: path.to_owned(),
            message: "--stratify needs report-level rows (id, drug, event, strata…): an aggregated table has no strata".into(),
        });
    }
    let mut drugs = Dictionary::new();
    let mut events = Dictionary::new();
    // Names are interned once per distinct value of a text column (not once per row): the
    // column's own dictionary codes map to dictionary ids through these tables.
    let mut drug_ids: Vec<Option<u32>> = t.columns[drug]
        .dictionary()
        .map_or(Vec::new(), |(v, _)| vec![None; v.len()]);
    let mut event_ids: Vec<Option<u32>> = t.columns[event]
        .dictionary()
        .map_or(Vec::new(), |(v, _)| vec![None; v.len()]);
    let intern = |dict: &mut Dictionary, ids: &mut Vec<Option<u32>>, col: usize, i: usize| -> u32 {
        match t.columns[col].dictionary() {
            Some((values, codes)) => {
                let code = codes[i] as usize;
                *ids[code].get_or_insert_with(|| {
                    dict.intern(&normalise_name(&values[code]).unwrap_or_default())
                })
            }
            None => dict.intern(&normalise_name(&t.columns[col].text(i)).unwrap_or_default()),
        }
    };
    let mut counts = PairCounts::default();
    let mut first_total: Option<(f64, u64)> = None;
    let mut drug_margin: Vec<Option<(f64, u64)>> = Vec::new();
    let mut event_margin: Vec<Option<(f64, u64)>> = Vec::new();
    for i in 0..t.lines.len() {
        let line = t.lines[i];
        let field_err = |c: usize, message: String| InputError::Field {
            path: path.to_owned(),
            line,
            column: t.headers[c].clone(),
            message,
        };
        empty(drug, i)?;
        empty(event, i)?;
        let mut v = [0.0; 4];
        for (k, &c) in [ca, cb, cc, cd].iter().enumerate() {
            v[k] = t.columns[c]
                .count(i)
                .map_err(|message| field_err(c, message))?;
        }
        let [a, b, c, d] = v;
        if a < 1.0 {
            return Err(field_err(
                ca,
                format!("a = {a}: only observed pairs (a ≥ 1) are scored"),
            ));
        }
        // Summed as integers: each count is exact, but a float sum above 2^53 would round (2^53 + 1
        // + 1 + 1 adds up to 2^53 in f64). Below the limit every partial sum is exact.
        let exact_total: u64 = v.iter().map(|&x| x as u64).sum();
        if exact_total > MAX_COUNT {
            return Err(field_err(cd, format!("a+b+c+d = {exact_total} is above 2^53 = {MAX_COUNT}, the largest count vigil reads exactly")));
        }
        let total = a + b + c + d;
        match first_total {
            None => first_total = Some((total, line)),
            Some((t0, l0)) if t0 != total => {
                return Err(field_err(cd, format!("a+b+c+d = {total}, but {t0} on line {l0}: every table of one database has the same total")))
            }
            _ => {}
        }
        let di = intern(&mut drugs, &mut drug_ids, drug, i);
        let ei = intern(&mut events, &mut event_ids, event, i);
        for (margins, id, margin, col, what) in [
            (&mut drug_margin, di, a + b, cb, "a+b (the drug's reports)"),
            (
                &mut event_margin,
                ei,
                a + c,
                cc,
                "a+c (the event's reports)",
            ),
        ] {
            if margins.len() <= id as usize {
                margins.resize(id as usize + 1, None);
            }
            match margins[id as usize] {
                Some((m0, l0)) if m0 != margin => {
                    return Err(field_err(col, format!("{what} = {margin}, but {m0} for the same name on line {l0} (names compare trimmed and in upper case)")))
                }
                None => margins[id as usize] = Some((margin, line)),
                _ => {}
            }
        }
        counts.drug.push(di);
        counts.event.push(ei);
        counts.a.push(a);
        counts.n_drug.push(a + b);
        counts.n_event.push(a + c);
        counts.n_total.push(total);
        counts.expected.push((a + b) * (a + c) / total);
    }
    // A pair given twice: sort packed (drug, event) keys with their row and look at neighbours.
    let mut keys: Vec<(u64, usize)> = (0..counts.len())
        .map(|i| ((counts.drug[i] as u64) << 32 | counts.event[i] as u64, i))
        .collect();
    keys.sort_unstable();
    if let Some(w) = keys.windows(2).find(|w| w[0].0 == w[1].0) {
        let (first, second) = (w[0].1.min(w[1].1), w[0].1.max(w[1].1));
        return Err(InputError::Field {
            path: path.to_owned(),
            line: t.lines[second],
            column: t.headers[event].clone(),
            // One 2×2 table per pair: two rows cannot be summed (b, c and d are counted against the
            // whole database in each), so a pair given twice, also in another letter case, is refused.
            message: format!(
                "pair {:?} / {:?} already given on line {} (names compare trimmed and in upper case)",
                drugs.name(counts.drug[second]),
                events.name(counts.event[second]),
                t.lines[first]
            ),
        });
    }
    Ok(CountsInput::Aggregated {
        counts,
        drugs,
        events,
    })
}
