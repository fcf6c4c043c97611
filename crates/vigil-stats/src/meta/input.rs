//! The trial table of a meta-analysis, read from CSV text: one row per study with a `study` label
//! and either the 2×2 cells `ai,bi,ci,di`, events and totals `ai,n1i,ci,n2i`, or a generic effect `yi`
//! with `vi` or `sei`. Pure: it takes bytes and returns values or located errors (the caller adds the
//! file name).
//!
//! A study with a missing value (an empty cell or `NA`, as R's `read.csv` writes it) in one of the
//! columns its effect size is computed from is omitted and listed, as metafor does with its default
//! `na.action = "na.omit"` (`rma.uni`, `rma.mh` and `rma.peto` drop the rows whose yi/vi, or whose
//! table cells, are NA). Every other bad cell is an error naming its line and field; all of them are
//! reported together.

use std::collections::BTreeMap;

use super::effect::Table2x2;

/// At most this many errors are listed one by one; the rest are counted.
const MAX_LISTED_ERRORS: usize = 50;

/// A problem at one place in the input: `line N, field F: message` (the field is absent for a
/// problem with the whole row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// 1-based line of the file (the header is line 1).
    pub line: u64,
    /// The column, when the problem is in one cell.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for InputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "line {}, field {field}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// All the errors found in one input, in file order (at most [`MAX_LISTED_ERRORS`] listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputErrors {
    /// The listed errors.
    pub errors: Vec<InputError>,
    /// How many more were found but not listed.
    pub not_listed: usize,
}

impl InputErrors {
    fn sorted(mut errors: Vec<InputError>) -> InputErrors {
        errors.sort_by_key(|e| e.line);
        let not_listed = errors.len().saturating_sub(MAX_LISTED_ERRORS);
        errors.truncate(MAX_LISTED_ERRORS);
        InputErrors { errors, not_listed }
    }

    fn one(line: u64, field: Option<&str>, message: String) -> InputErrors {
        InputErrors {
            errors: vec![InputError {
                line,
                field: field.map(str::to_string),
                message,
            }],
            not_listed: 0,
        }
    }

    /// Total number of errors found.
    pub fn count(&self) -> usize {
        self.errors.len() + self.not_listed
    }
}

/// Whether a cell is missing: empty, or `NA` (R's `read.csv` default `na.strings`).
pub fn is_missing(cell: &str) -> bool {
    cell.is_empty() || cell == "NA"
}

/// The CSV as columns of raw (trimmed) cells.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialTable {
    /// Column names in file order (unique).
    pub headers: Vec<String>,
    /// Raw cells by column name.
    pub columns: BTreeMap<String, Vec<String>>,
    /// File line of each data row (1-based; the header is line 1).
    pub lines: Vec<u64>,
    /// Study label of each row: the `study` column, or `study N` with N the row's position in the
    /// file (kept when rows are later omitted, so the labels stay those of the file).
    pub studies: Vec<String>,
}

impl TrialTable {
    /// Parses CSV text (header row first; fields trimmed; a UTF-8 byte-order mark is ignored).
    ///
    /// Errors: no header, an empty or duplicated column name, a row with another number of fields
    /// than the header, text that is not UTF-8.
    pub fn parse(bytes: &[u8]) -> Result<TrialTable, InputErrors> {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .flexible(true)
            .has_headers(true)
            .from_reader(bytes);
        let headers: Vec<String> = match rdr.headers() {
            Ok(h) => h.iter().map(str::to_string).collect(),
            Err(e) => {
                return Err(InputErrors::one(
                    1,
                    None,
                    format!("cannot read the header: {}", csv_error_text(&e)),
                ))
            }
        };
        if headers.is_empty() || (headers.len() == 1 && headers[0].is_empty()) {
            return Err(InputErrors::one(
                1,
                None,
                "no header (the first line must name the columns)".into(),
            ));
        }
        let mut errors = Vec::new();
        for (i, h) in headers.iter().enumerate() {
            if h.is_empty() {
                errors.push(InputError {
                    line: 1,
                    field: None,
                    message: format!("column {} has no name", i + 1),
                });
            } else if let Some(first) = headers[..i].iter().position(|g| g == h) {
                errors.push(InputError {
                    line: 1,
                    field: Some(h.clone()),
                    message: format!("column '{h}' appears twice (columns {} and {}); each column name must be unique", first + 1, i + 1),
                });
            }
        }
        if !errors.is_empty() {
            return Err(InputErrors::sorted(errors));
        }
        let mut columns: BTreeMap<String, Vec<String>> =
            headers.iter().map(|h| (h.clone(), Vec::new())).collect();
        let mut lines = Vec::new();
        // Lines are counted from byte offsets incrementally (csv's own line counter lags on CRLF
        // files); the offsets only grow, so the whole count is one pass over the text.
        let mut counted_to = 0usize;
        let mut line_at = 1u64;
        let mut line_of = |offset: u64| -> u64 {
            let mut off = (offset as usize).min(bytes.len());
            while off < bytes.len() && (bytes[off] == b'\r' || bytes[off] == b'\n') {
                off += 1;
            }
            if off > counted_to {
                line_at += bytes[counted_to..off]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count() as u64;
                counted_to = off;
            }
            line_at
        };
        let mut record = csv::StringRecord::new();
        loop {
            let before = rdr.position().byte();
            match rdr.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {
                    let line = record.position().map_or(0, |p| line_of(p.byte()));
                    if record.len() != headers.len() {
                        errors.push(InputError {
                            line,
                            field: None,
                            message: format!(
                                "{} field(s), the header has {}",
                                record.len(),
                                headers.len()
                            ),
                        });
                        continue;
                    }
                    for (h, v) in headers.iter().zip(record.iter()) {
                        columns
                            .get_mut(h)
                            .expect("every header has a column")
                            .push(v.to_string());
                    }
                    lines.push(line);
                }
                Err(e) => {
                    let offset = e.position().map_or(before, |p| p.byte());
                    let line = line_of(offset);
                    errors.push(InputError {
                        line,
                        field: None,
                        message: csv_error_text(&e),
                    });
                    // A reader that cannot advance past the error would loop forever.
                    if rdr.position().byte() <= before || errors.len() > 10 * MAX_LISTED_ERRORS {
                        break;
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(InputErrors::sorted(errors));
        }
        let studies = match columns.get("study") {
            Some(s) => s.clone(),
            None => (1..=lines.len()).map(|i| format!("study {i}")).collect(),
        };
        Ok(TrialTable {
            headers,
            columns,
            lines,
            studies,
        })
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether there is no data row.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Whether the column exists.
    pub fn has(&self, col: &str) -> bool {
        self.columns.contains_key(col)
    }

    /// A column that must exist; the error is reported at the header (line 1).
    pub fn require(&self, col: &str, why: &str) -> Result<&[String], InputError> {
        self.columns
            .get(col)
            .map(Vec::as_slice)
            .ok_or_else(|| InputError {
                line: 1,
                field: Some(col.to_string()),
                message: format!(
                    "missing column '{col}' ({why}); columns found: {}",
                    self.headers.join(", ")
                ),
            })
    }

    /// A column used to order or group the studies: it must exist and every row needs a value;
    /// each missing value is an error at its line.
    pub fn require_filled(&self, col: &str, why: &str) -> Result<&[String], InputErrors> {
        let raw = self.require(col, why).map_err(|e| InputErrors {
            errors: vec![e],
            not_listed: 0,
        })?;
        let errors: Vec<InputError> = raw
            .iter()
            .enumerate()
            .filter(|(_, c)| is_missing(c))
            .map(|(i, _)| InputError {
                line: self.lines[i],
                field: Some(col.to_string()),
                message: format!("missing value ({why}); fill it in or remove the study"),
            })
            .collect();
        if errors.is_empty() {
            Ok(raw)
        } else {
            Err(InputErrors {
                errors,
                not_listed: 0,
            })
        }
    }

    /// The table restricted to the given rows (in that order).
    pub fn subset(&self, rows: &[usize]) -> TrialTable {
        TrialTable {
            headers: self.headers.clone(),
            columns: self
                .columns
                .iter()
                .map(|(k, v)| (k.clone(), rows.iter().map(|&i| v[i].clone()).collect()))
                .collect(),
            lines: rows.iter().map(|&i| self.lines[i]).collect(),
            studies: rows.iter().map(|&i| self.studies[i].clone()).collect(),
        }
    }
}

fn csv_error_text(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("not valid UTF-8 text (field {})", err.field() + 1)
        }
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} field(s), the header has {expected_len}"),
        _ => format!("malformed CSV: {e}"),
    }
}

/// A study left out because of a missing value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Omitted {
    /// Row index in the file's data rows (0-based).
    pub row: usize,
    /// File line.
    pub line: u64,
    /// Study label.
    pub study: String,
    /// The columns with a missing value.
    pub fields: Vec<String>,
}

/// Per-study values of the studies kept.
#[derive(Debug, Clone, PartialEq)]
pub enum StudyValues {
    /// 2×2 tables.
    Tables(Vec<Table2x2>),
    /// Generic effects with their sampling variances.
    Generic {
        /// Effects.
        yi: Vec<f64>,
        /// Sampling variances (`sei²` when the file gives standard errors).
        vi: Vec<f64>,
    },
}

impl StudyValues {
    /// Number of studies.
    pub fn len(&self) -> usize {
        match self {
            StudyValues::Tables(t) => t.len(),
            StudyValues::Generic { yi, .. } => yi.len(),
        }
    }

    /// Whether there is no study.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The studies of a trial table: those kept (rows of the file, in order) and those omitted.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialData {
    /// Rows (0-based, into the table's data rows) of the studies kept.
    pub kept: Vec<usize>,
    /// Their values, in the order of `kept`.
    pub values: StudyValues,
    /// Studies with a missing value, in file order.
    pub omitted: Vec<Omitted>,
}

/// Which kind of study data a table holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    /// 2×2 tables (`ai,bi,ci,di` or `ai,n1i,ci,n2i`).
    Tables,
    /// Generic effects (`yi` with `vi` or `sei`).
    Generic,
}

/// One numeric cell: `Ok(None)` when missing, an error when not a finite number.
fn number(
    table: &TrialTable,
    col: &str,
    row: usize,
    errors: &mut Vec<InputError>,
) -> Option<Option<f64>> {
    let cell = &table.columns[col][row];
    if is_missing(cell) {
        return Some(None);
    }
    match cell.parse::<f64>() {
        Ok(v) if v.is_finite() => Some(Some(v)),
        Ok(_) => {
            errors.push(InputError {
                line: table.lines[row],
                field: Some(col.to_string()),
                message: format!("not a finite number: '{cell}'"),
            });
            None
        }
        Err(_) => {
            errors.push(InputError {
                line: table.lines[row],
                field: Some(col.to_string()),
                message: format!("not a number: '{cell}'"),
            });
            None
        }
    }
}

/// Reads the study data of the table.
///
/// # Formula
/// Tables: `bi = n1i − ai`, `di = n2i − ci` when the file gives totals. Generic: `vi = sei²`.
///
/// # Defaults
/// A study with a missing value in one of the columns its effect size needs (the four table columns,
/// or `yi` and `vi`/`sei`) is omitted and listed (metafor's `na.action = "na.omit"`).
///
/// # Edge cases
/// Errors (each with line and field): a missing column; a cell that is not a finite number; a
/// negative count; events above the arm's total; an arm with no patients; a `vi` that is not
/// positive; a `sei` that is negative or zero (metafor would square a negative `sei` into a valid
/// variance, which hides a sign error in the input).
///
/// # References
/// metafor 3.8 `rma.uni` / `rma.mh` / `rma.peto` (NA handling; `vi <- sei^2`); R `read.csv`
/// (`na.strings = "NA"`).
pub fn read_study_data(table: &TrialTable, kind: DataKind) -> Result<TrialData, InputErrors> {
    let (names, need) = study_columns(table, kind);
    let missing_columns: Vec<InputError> = names
        .iter()
        .filter_map(|n| table.require(n, need).err())
        .collect();
    if !missing_columns.is_empty() {
        return Err(InputErrors::sorted(missing_columns));
    }
    let mut errors = Vec::new();
    let mut kept = Vec::new();
    let mut omitted = Vec::new();
    let mut tables = Vec::new();
    let (mut yi, mut vi) = (Vec::new(), Vec::new());
    for row in 0..table.len() {
        let line = table.lines[row];
        let v = match row_cells(table, &names, row, &mut errors) {
            RowCells::Unreadable => continue,
            RowCells::Missing(fields) => {
                omitted.push(Omitted {
                    row,
                    line,
                    study: table.studies[row].clone(),
                    fields,
                });
                continue;
            }
            RowCells::Values(v) => v,
        };
        let mut row_errors = RowErrors {
            line,
            errors: &mut errors,
        };
        match kind {
            DataKind::Tables => tables.push(checked_table(&names, &v, &mut row_errors)),
            DataKind::Generic => {
                let variance = checked_variance(names[1], v[1], &mut row_errors);
                yi.push(v[0]);
                vi.push(variance);
            }
        }
        kept.push(row);
    }
    if !errors.is_empty() {
        return Err(InputErrors::sorted(errors));
    }
    let values = match kind {
        DataKind::Tables => StudyValues::Tables(tables),
        DataKind::Generic => StudyValues::Generic { yi, vi },
    };
    Ok(TrialData {
        kept,
        values,
        omitted,
    })
}

/// The columns the studies' effect sizes are computed from, in order, and the message naming
/// them when one is missing: tables with totals `n1i, n2i` unless the file has `bi` or `di`;
/// generic effects with `vi` when the file has it, `sei` otherwise.
fn study_columns(table: &TrialTable, kind: DataKind) -> (Vec<&'static str>, &'static str) {
    match kind {
        DataKind::Tables => {
            let totals = !(table.has("bi") || table.has("di"));
            (
                if totals {
                    vec!["ai", "n1i", "ci", "n2i"]
                } else {
                    vec!["ai", "bi", "ci", "di"]
                },
                "2x2 data need ai,bi,ci,di or ai,n1i,ci,n2i",
            )
        }
        DataKind::Generic => (
            vec!["yi", if table.has("vi") { "vi" } else { "sei" }],
            "generic effects need yi with vi or sei",
        ),
    }
}

/// One row's cells in the study columns.
enum RowCells {
    /// A cell is not a finite number (its error is recorded).
    Unreadable,
    /// These columns are missing a value: the study is omitted.
    Missing(Vec<String>),
    /// Every value, in column order.
    Values(Vec<f64>),
}

fn row_cells(
    table: &TrialTable,
    names: &[&str],
    row: usize,
    errors: &mut Vec<InputError>,
) -> RowCells {
    let cells: Vec<Option<Option<f64>>> = names
        .iter()
        .map(|n| number(table, n, row, errors))
        .collect();
    if cells.iter().any(Option::is_none) {
        return RowCells::Unreadable;
    }
    let missing: Vec<String> = names
        .iter()
        .zip(&cells)
        .filter(|(_, c)| matches!(c, Some(None)))
        .map(|(n, _)| n.to_string())
        .collect();
    if !missing.is_empty() {
        return RowCells::Missing(missing);
    }
    RowCells::Values(
        cells
            .into_iter()
            .map(|c| c.flatten().expect("checked"))
            .collect(),
    )
}

/// The errors of one row, each naming its field.
struct RowErrors<'a> {
    line: u64,
    errors: &'a mut Vec<InputError>,
}

impl RowErrors<'_> {
    fn bad(&mut self, field: &str, message: String) {
        self.errors.push(InputError {
            line: self.line,
            field: Some(field.to_string()),
            message,
        })
    }
}

/// The 2×2 table of a row's values `v` in the columns `names` (cells, or events and totals),
/// recording negative counts, events above their arm's total and arms with no patients.
fn checked_table(names: &[&str], v: &[f64], errors: &mut RowErrors<'_>) -> Table2x2 {
    for (name, x) in names.iter().zip(v) {
        if *x < 0.0 {
            errors.bad(name, format!("negative count {x}"));
        }
    }
    let t = if names[1] == "n1i" {
        if v[0] > v[1] {
            errors.bad(
                "ai",
                format!("events ({}) exceed the total n1i ({})", v[0], v[1]),
            );
        }
        if v[2] > v[3] {
            errors.bad(
                "ci",
                format!("events ({}) exceed the total n2i ({})", v[2], v[3]),
            );
        }
        Table2x2::from_totals(v[0], v[1], v[2], v[3])
    } else {
        Table2x2::new(v[0], v[1], v[2], v[3])
    };
    if v.iter().all(|x| *x >= 0.0) {
        if t.n1() <= 0.0 {
            errors.bad(names[1], "the treated arm has no patients".into());
        }
        if t.n2() <= 0.0 {
            errors.bad(names[3], "the control arm has no patients".into());
        }
    }
    t
}

/// The sampling variance given as `value` in column `col` (`vi`, or `sei` squared), recording a
/// value that is not positive or a square that is not a positive finite number.
fn checked_variance(col: &str, value: f64, errors: &mut RowErrors<'_>) -> f64 {
    let variance = if col == "sei" { value * value } else { value };
    if value <= 0.0 {
        let what = if col == "sei" {
            "a standard error"
        } else {
            "a sampling variance"
        };
        errors.bad(col, format!("{what} must be positive, got {value}"));
    } else if !(variance.is_finite() && variance > 0.0) {
        // sei² can overflow or underflow although sei itself is a fine number.
        errors.bad(
            col,
            format!("the sampling variance {variance:e} is not a positive finite number"),
        );
    }
    variance
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_cells_omit_the_study_and_keep_its_file_label() {
        let t = TrialTable::parse(b"ai,n1i,ci,n2i\n1,10,2,10\n,10,2,10\n3,NA,4,12\n2,20,3,20\n")
            .unwrap();
        let d = read_study_data(&t, DataKind::Tables).unwrap();
        assert_eq!(d.kept, [0, 3]);
        assert_eq!(d.omitted.len(), 2);
        assert_eq!(
            (
                d.omitted[0].line,
                d.omitted[0].study.as_str(),
                d.omitted[0].fields.clone()
            ),
            (3, "study 2", vec!["ai".to_string()])
        );
        assert_eq!(
            (
                d.omitted[1].line,
                d.omitted[1].study.as_str(),
                d.omitted[1].fields.clone()
            ),
            (4, "study 3", vec!["n1i".to_string()])
        );
    }

    #[test]
    fn duplicated_column_is_an_error_at_the_header() {
        let e = TrialTable::parse(b"study,ai,n1i,ci,n2i,ai\nA,1,10,2,10,3\n").unwrap_err();
        assert_eq!(e.errors[0].to_string(), "line 1, field ai: column 'ai' appears twice (columns 2 and 6); each column name must be unique");
    }

    #[test]
    fn crlf_lines_and_ragged_rows_are_located() {
        let e =
            TrialTable::parse(b"study,yi,vi\r\nA,1,0.1\r\nB,2\r\n\r\nC,3,0.2,9\r\n").unwrap_err();
        let shown: Vec<String> = e.errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "line 3: 2 field(s), the header has 3",
                "line 5: 4 field(s), the header has 3"
            ]
        );
    }

    #[test]
    fn negative_standard_error_is_rejected() {
        let t = TrialTable::parse(b"study,yi,sei\nA,0.1,-0.2\nB,0.3,0.1\n").unwrap();
        let e = read_study_data(&t, DataKind::Generic).unwrap_err();
        assert_eq!(
            e.errors[0].to_string(),
            "line 2, field sei: a standard error must be positive, got -0.2"
        );
    }
}
