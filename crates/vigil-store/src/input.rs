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
use crate::csv_scan::{Record, SliceScanner, Step};
use crate::reports::{normalise_name, Dictionary, ReportIds, ReportSet};

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
        let io = |source| InputError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        let plan = CsvPlan::default().with_size_hint(size);
        let start = read_start(&mut file, size, &plan).map_err(io)?;
        read_csv_table(path, file, plan, start)?
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
    read_counts_csv_in_windows(reader, path, stratify, CsvPlan::default())
}

/// How a CSV file is read: in windows of `window` bytes (memory holds one window, not the whole
/// file), each window split at a line end between two threads when it holds at least
/// `parallel_from` bytes. The result does not depend on the plan; tests vary it to put window
/// ends and the split on every byte of small inputs.
#[derive(Debug, Clone, Copy)]
pub struct CsvPlan {
    /// Bytes read per window.
    pub window: usize,
    /// The smallest window scanned by two threads (a thread costs more than it saves on less).
    pub parallel_from: usize,
    /// The input's size, when known: the first window's buffer is allocated at once.
    pub size_hint: Option<u64>,
}

impl Default for CsvPlan {
    fn default() -> Self {
        // 64 MiB windows keep the memory of a multi-gigabyte file bounded while leaving each
        // thread millions of rows; below 1 MiB (about 20 k rows) one thread finishes in about a
        // millisecond.
        Self {
            window: 64 << 20,
            parallel_from: 1 << 20,
            size_hint: None,
        }
    }
}

impl CsvPlan {
    fn with_size_hint(mut self, size: u64) -> Self {
        self.size_hint = Some(size);
        self
    }
}

/// [`read_counts_csv`] with an explicit [`CsvPlan`]: the same result for every plan.
pub fn read_counts_csv_in_windows<R: std::io::Read>(
    reader: R,
    path: &Path,
    stratify: &[String],
    plan: CsvPlan,
) -> Result<CountsInput, InputError> {
    let table = read_csv_table(path, reader, plan, Vec::new())?;
    from_table(path, &table, stratify)
}

/// Reads the first window of `file` (of `size` bytes), its two halves on two threads when the
/// window is one that [`scan_window`] splits (each thread's copy from the page cache then faults
/// in its own half of the buffer), and leaves the file's position after the bytes returned. A
/// file that shrinks meanwhile gives fewer bytes; one that grows is read on by the caller.
fn read_start(file: &mut std::fs::File, size: u64, plan: &CsvPlan) -> std::io::Result<Vec<u8>> {
    use std::io::{Seek, SeekFrom};
    use std::os::unix::fs::FileExt;
    let want = usize::try_from(size)
        .unwrap_or(usize::MAX)
        .min(plan.window.max(1));
    if want < plan.parallel_from.max(2) {
        return Ok(Vec::new());
    }
    // Reads `buf` from `offset` until it is full or the file ends; the bytes read.
    let fill = |buf: &mut [u8], offset: usize| -> std::io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match file.read_at(&mut buf[done..], (offset + done) as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    };
    // Zeroed by the allocator as fresh pages (no pass over them here): each page is faulted in
    // by the thread that copies into it.
    let mut buf = vec![0; want];
    let half = want / 2;
    let (first, second) = buf.split_at_mut(half);
    let (got_first, got_second) = std::thread::scope(|scope| {
        let second = scope.spawn(|| fill(second, half));
        let first = fill(first, 0);
        let second = second
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (first, second)
    });
    let (got_first, got_second) = (got_first?, got_second?);
    let got = if got_first < half {
        got_first
    } else {
        half + got_second
    };
    buf.truncate(got);
    file.seek(SeekFrom::Start(got as u64))?;
    Ok(buf)
}

/// One column of an input file, compact enough for tables of tens of millions of rows: text is
/// dictionary-encoded as it is read (FAERS names repeat), numbers from numeric Parquet columns stay
/// numbers (NaN for null).
enum Column {
    Text {
        codes: Vec<u32>,
        dict: TextDict,
    },
    Number(Vec<f64>),
    /// An integer Parquet column, kept exact (a cast to f64 would round values above 2^53);
    /// `i64::MIN` marks a null.
    Integer(Vec<i64>),
}

/// The distinct values of one text column, ids `0, 1, 2, …` in order of first appearance. The
/// values sit end to end in one byte arena (no allocation per value), each with its hash, which
/// is computed once: it is reused when the table grows and when the dictionaries of two parts of
/// a file are merged. Every value is valid UTF-8 (checked once, when it is first seen).
#[derive(Default)]
struct TextDict {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    hashes: Vec<u64>,
    table: hashbrown::HashTable<u32>,
}

/// One hasher for every dictionary (fixed seeds), so that hashes carry over between them.
fn text_hash(value: &[u8]) -> u64 {
    static STATE: std::sync::OnceLock<ahash::RandomState> = std::sync::OnceLock::new();
    STATE
        .get_or_init(|| {
            ahash::RandomState::with_seeds(
                0x243f_6a88_85a3_08d3,
                0x1319_8a2e_0370_7344,
                0xa409_3822_299f_31d0,
                0x082e_fa98_ec4e_6c89,
            )
        })
        .hash_one(value)
}

impl TextDict {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn value(&self, id: u32) -> &[u8] {
        let id = id as usize;
        let start = if id == 0 { 0 } else { self.ends[id - 1] };
        &self.bytes[start..self.ends[id]]
    }

    /// Value `id` as text (values are checked UTF-8 when added).
    fn text(&self, id: u32) -> &str {
        std::str::from_utf8(self.value(id)).unwrap_or_default()
    }

    /// The id of `value` (whose [`text_hash`] is `hash`), adding it if it is new; `None` when it
    /// is new and not UTF-8 (then nothing is added).
    fn intern(&mut self, value: &[u8], hash: u64) -> Option<u32> {
        if let Some(id) = self.find(value, hash) {
            return Some(id);
        }
        std::str::from_utf8(value).ok()?;
        Some(self.add(value, hash))
    }

    fn find(&self, value: &[u8], hash: u64) -> Option<u32> {
        // The table's own 7-bit tags of the hash already rule out nearly every other value, so
        // the bytes are compared straight away (comparing the stored hash first would cost one
        // more load from another array on every hit).
        self.table
            .find(hash, |&id| same_bytes(self.value(id), value))
            .copied()
    }

    fn add(&mut self, value: &[u8], hash: u64) -> u32 {
        let id = self.ends.len() as u32;
        self.bytes.extend_from_slice(value);
        self.ends.push(self.bytes.len());
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.table.insert_unique(hash, id, |&k| hashes[k as usize]);
        id
    }
}

/// `a == b` for the short values of a name or id column (most are 5 to 30 bytes), compared in
/// 8-byte words inline: a call into `memcmp` for each compare was about a sixth of the reader's
/// samples (`perf`, rows496k).
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    if n > 64 {
        return a == b;
    }
    let word = |s: &[u8], i: usize| {
        let mut w = [0; 8];
        w.copy_from_slice(&s[i..i + 8]);
        u64::from_ne_bytes(w)
    };
    // Whole words from the start, then the last 8 bytes (overlapping the last whole word).
    let mut i = 0;
    while i + 8 < n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(a, n - 8) == word(b, n - 8)
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
            dict: TextDict::default(),
        }
    }

    fn push_text(&mut self, v: &str) {
        if let Column::Text { codes, dict } = self {
            // Consecutive rows of one report repeat its id (and often its drug): comparing with the
            // previous row's value is cheaper than hashing.
            if let Some(&last) = codes.last() {
                if same_bytes(dict.value(last), v.as_bytes()) {
                    codes.push(last);
                    return;
                }
            }
            let v = v.as_bytes();
            let code = dict.find(v, text_hash(v));
            codes.push(code.unwrap_or_else(|| dict.add(v, text_hash(v))));
        }
    }

    /// For a text column, its distinct values and each row's index into them.
    fn dictionary(&self) -> Option<(&TextDict, &[u32])> {
        match self {
            Column::Text { codes, dict } => Some((dict, codes)),
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
            Column::Text { codes, dict } => std::borrow::Cow::Borrowed(dict.text(codes[i])),
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

/// The rows of a CSV file read so far: each column's codes and dictionary, and the line each row
/// starts on.
struct TextRows {
    codes: Vec<Vec<u32>>,
    dicts: Vec<TextDict>,
    lines: Vec<u64>,
}

impl TextRows {
    fn new(columns: usize) -> Self {
        Self {
            codes: (0..columns).map(|_| Vec::new()).collect(),
            dicts: (0..columns).map(|_| TextDict::default()).collect(),
            lines: Vec::new(),
        }
    }

    fn reserve(&mut self, rows: usize) {
        for codes in &mut self.codes {
            codes.reserve(rows);
        }
        self.lines.reserve(rows);
    }

    /// Appends `later`, the rows that follow these in the file, whose lines are counted from
    /// `line_offset`: its values are looked up in (or added to) these dictionaries in its own
    /// order of first appearance, so that ids stay in order of first appearance in the file.
    /// The columns are independent: each is merged on a thread of its own (the first on this
    /// one, with the lines), so that the widest dictionary (the report ids) sets the time.
    fn append(&mut self, later: TextRows, line_offset: u64) {
        let mut columns = self
            .codes
            .iter_mut()
            .zip(&mut self.dicts)
            .zip(later.codes.into_iter().zip(later.dicts));
        let (lines, later_lines) = (&mut self.lines, later.lines);
        std::thread::scope(|scope| {
            let first = columns.next();
            let others: Vec<_> = columns
                .map(|((codes, dict), (later_codes, later_dict))| {
                    scope.spawn(move || append_column(codes, dict, &later_codes, &later_dict))
                })
                .collect();
            if let Some(((codes, dict), (later_codes, later_dict))) = first {
                append_column(codes, dict, &later_codes, &later_dict);
            }
            lines.extend(later_lines.iter().map(|&line| line + line_offset));
            for handle in others {
                handle
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            }
        });
    }
}

/// Appends a later part's codes of one column to `codes`, its dictionary's values looked up in
/// (or added to) `dict` in the later part's order of first appearance.
fn append_column(codes: &mut Vec<u32>, dict: &mut TextDict, later_codes: &[u32], later: &TextDict) {
    let remap: Vec<u32> = (0..later.len() as u32)
        .map(|k| {
            let (value, hash) = (later.value(k), later.hashes[k as usize]);
            dict.find(value, hash)
                .unwrap_or_else(|| dict.add(value, hash))
        })
        .collect();
    codes.extend(later_codes.iter().map(|&k| remap[k as usize]));
}

/// A row that cannot be read, by the line it starts on.
enum RowError {
    /// Field `field` (from 1) is not UTF-8.
    Utf8 { line: u64, field: usize },
    /// The row has `fields` fields.
    FieldCount { line: u64, fields: usize },
}

impl RowError {
    fn shifted(self, lines: u64) -> Self {
        match self {
            RowError::Utf8 { line, field } => RowError::Utf8 {
                line: line + lines,
                field,
            },
            RowError::FieldCount { line, fields } => RowError::FieldCount {
                line: line + lines,
                fields,
            },
        }
    }

    fn into_input_error(self, path: &Path, headers: &[String]) -> InputError {
        match self {
            RowError::Utf8 { line, field } => unreadable_field(path, line, field),
            RowError::FieldCount { line, fields } => InputError::Field {
                path: path.to_owned(),
                line,
                column: headers
                    .get(fields.min(headers.len().saturating_sub(1)))
                    .cloned()
                    .unwrap_or_default(),
                message: format!("{fields} fields, the header has {}", headers.len()),
            },
        }
    }
}

fn unreadable_field(path: &Path, line: u64, field: usize) -> InputError {
    InputError::Field {
        path: path.to_owned(),
        line,
        column: "-".into(),
        message: format!("unreadable row: field {field} is not valid UTF-8"),
    }
}

/// Where scanning a part of a window stopped: the offset and line after its last row, and why
/// ([`Step::Limit`], [`Step::Incomplete`] or [`Step::End`]).
#[derive(Clone, Copy)]
struct PartEnd {
    pos: usize,
    line: u64,
    step: Step,
}

/// Reads the rows of `bytes` from `pos` (on line `line`) into `rows` until a row would start at
/// or after `limit`, or a row runs past the end of `bytes` (more input follows unless `eof`).
/// Each value is hashed and interned straight from the bytes: a value seen before costs one probe,
/// and only a new value is copied (and checked to be UTF-8).
fn scan_rows(
    bytes: &[u8],
    pos: usize,
    line: u64,
    eof: bool,
    limit: usize,
    rows: &mut TextRows,
) -> Result<PartEnd, RowError> {
    let columns = rows.dicts.len();
    let mut scanner = SliceScanner::new(bytes, pos, line, eof).with_limit(limit);
    let mut record = Record::default();
    // Consecutive rows of one report repeat its id (and often its drug): comparing with the
    // previous row's value is cheaper than hashing.
    let mut previous = vec![u32::MAX; columns];
    loop {
        let at = match scanner.next(&mut record) {
            Step::Record(at) => at,
            step => {
                return Ok(PartEnd {
                    pos: scanner.pos(),
                    line: scanner.line(),
                    step,
                })
            }
        };
        if record.len() != columns {
            // As the one-record reader reports it: a field that is not UTF-8 first.
            return Err(match record.first_invalid_utf8(bytes) {
                Some(field) => RowError::Utf8 { line: at, field },
                None => RowError::FieldCount {
                    line: at,
                    fields: record.len(),
                },
            });
        }
        for (c, (dict, codes)) in rows.dicts.iter_mut().zip(&mut rows.codes).enumerate() {
            let value = record.field(bytes, c);
            let last = previous[c];
            let code = if last != u32::MAX && same_bytes(dict.value(last), value) {
                last
            } else {
                // Fields are taken in order, so the first one that fails is the record's first
                // field that is not UTF-8 (a value already in the dictionary was checked).
                dict.intern(value, text_hash(value)).ok_or(RowError::Utf8 {
                    line: at,
                    field: c + 1,
                })?
            };
            previous[c] = code;
            codes.push(code);
        }
        rows.lines.push(at);
    }
}

/// Reads the rows of `bytes[pos..]` (on line `line`) into `rows`: in two threads when the window
/// is large enough, the second starting at the first line end after the middle. That line end
/// might lie inside a quoted field (a value with a line break): the first thread reads on
/// until its rows reach the split, and only when its last row ends exactly there is the second
/// thread's work kept (appended, its ids remapped); otherwise it is dropped and the caller goes on
/// from where the first thread stopped. Errors come in file order: the first thread's first.
fn scan_window(
    bytes: &[u8],
    pos: usize,
    line: u64,
    eof: bool,
    plan: &CsvPlan,
    rows: &mut TextRows,
) -> Result<PartEnd, RowError> {
    let rest = bytes.len() - pos;
    let split = (rest >= plan.parallel_from && rest > 1)
        .then(|| {
            let middle = pos + rest / 2;
            memchr::memchr(b'\n', &bytes[middle..]).map(|i| middle + i + 1)
        })
        .flatten()
        .filter(|&split| split < bytes.len());
    let Some(split) = split else {
        rows.reserve(memchr::memchr_iter(b'\n', &bytes[pos..]).count() + 1);
        return scan_rows(bytes, pos, line, eof, usize::MAX, rows);
    };
    let columns = rows.dicts.len();
    let (first, second) = std::thread::scope(|scope| {
        let second = scope.spawn(move || {
            let mut later = TextRows::new(columns);
            later.reserve(memchr::memchr_iter(b'\n', &bytes[split..]).count() + 1);
            // Lines counted from 0 at the split; shifted once the split's line is known.
            scan_rows(bytes, split, 0, eof, usize::MAX, &mut later).map(|end| (end, later))
        });
        rows.reserve(memchr::memchr_iter(b'\n', &bytes[pos..split]).count() + 1);
        let first = scan_rows(bytes, pos, line, eof, split, rows);
        let second = second
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (first, second)
    });
    let first = first?;
    if first.step != Step::Limit || first.pos != split {
        // The first part's last row ran over the split: the second part began inside it.
        return Ok(first);
    }
    let (end, later) = second.map_err(|e| e.shifted(first.line))?;
    rows.append(later, first.line);
    Ok(PartEnd {
        line: end.line + first.line,
        ..end
    })
}

/// Reads up to `want` more bytes from `reader` onto the end of `buf`; true at the end of input.
fn read_more<R: std::io::Read>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    want: usize,
) -> std::io::Result<bool> {
    use std::io::Read;
    let got = reader.by_ref().take(want as u64).read_to_end(buf)?;
    Ok(got < want)
}

/// Reads a CSV table from `start` (the input's first bytes, already read) and then `reader`.
fn read_csv_table<R: std::io::Read>(
    path: &Path,
    mut reader: R,
    plan: CsvPlan,
    start: Vec<u8>,
) -> Result<Table, InputError> {
    let io = |source| InputError::Io {
        path: path.to_owned(),
        source,
    };
    let window = plan.window.max(1);
    let mut buf: Vec<u8> = start;
    if let (Some(size), true) = (plan.size_hint, buf.is_empty()) {
        // The whole first window at once (one allocation, no regrowth); one byte more to see the
        // end of the input without another allocation.
        buf.reserve(usize::try_from(size).unwrap_or(usize::MAX).min(window) + 1);
    }
    let mut eof = false;
    // The start of the unread bytes of `buf`, and their line.
    let mut pos = 0;
    let mut line = 1;
    // A UTF-8 byte-order mark at the start is skipped.
    while buf.len() < 3 && !eof {
        eof = read_more(&mut reader, &mut buf, window).map_err(io)?;
    }
    if buf.starts_with(b"\xEF\xBB\xBF") {
        pos = 3;
    }
    let mut record = Record::default();
    let headers: Vec<String> = loop {
        let mut scanner = SliceScanner::new(&buf, pos, line, eof);
        let step = scanner.next(&mut record);
        (pos, line) = (scanner.pos(), scanner.line());
        match step {
            Step::Record(at) => {
                if let Some(field) = record.first_invalid_utf8(&buf) {
                    return Err(unreadable_field(path, at, field));
                }
                break (0..record.len())
                    .map(|i| {
                        String::from_utf8_lossy(record.field(&buf, i))
                            .trim_start_matches('\u{feff}')
                            .to_owned()
                    })
                    .collect();
            }
            Step::Incomplete => {
                eof = read_more(&mut reader, &mut buf, window).map_err(io)?;
            }
            Step::End | Step::Limit => break Vec::new(),
        }
    };
    if headers.iter().all(|h| h.is_empty()) {
        return Err(InputError::Field {
            path: path.to_owned(),
            line: 1,
            column: "-".into(),
            message: "empty file: no header line".into(),
        });
    }
    let mut rows = TextRows::new(headers.len());
    loop {
        let end = scan_window(&buf, pos, line, eof, &plan, &mut rows)
            .map_err(|e| e.into_input_error(path, &headers))?;
        (pos, line) = (end.pos, end.line);
        if end.step == Step::End {
            break;
        }
        // The rest of the window (a row cut by its end) moves to the front, and more is read.
        buf.drain(..pos);
        pos = 0;
        if !eof {
            eof = read_more(&mut reader, &mut buf, window).map_err(io)?;
        }
    }
    if rows.lines.is_empty() {
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
        columns: rows
            .codes
            .into_iter()
            .zip(rows.dicts)
            .map(|(codes, dict)| Column::Text { codes, dict })
            .collect(),
        lines: rows.lines,
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

/// The columns [`from_table`] reads, found by name.
struct Layout {
    drug: usize,
    event: usize,
    /// The `a`, `b`, `c`, `d` columns of an aggregated table, those present.
    cells: [Option<usize>; 4],
    /// The report id column of report-level rows.
    id: Option<usize>,
}

fn from_table(path: &Path, t: &Table, stratify: &[String]) -> Result<CountsInput, InputError> {
    refuse_repeated_columns(path, t)?;
    let layout = find_columns(path, t)?;
    match layout.id {
        Some(id) => report_level(path, t, &layout, id, stratify),
        None => aggregated(path, t, &layout, stratify),
    }
}

/// An error about the file's header: at its line in a CSV file, for the whole file in Parquet.
fn header_error(path: &Path, t: &Table, column: &str, message: String) -> InputError {
    match t.header_line {
        Some(line) => InputError::Field {
            path: path.to_owned(),
            line,
            column: column.to_owned(),
            message,
        },
        None => InputError::File {
            path: path.to_owned(),
            message,
        },
    }
}

/// Two columns of one name (as the columns are looked up: trimmed, any case) would leave which
/// one is read to the order of the header: refused, naming the column.
fn refuse_repeated_columns(path: &Path, t: &Table) -> Result<(), InputError> {
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
            return Err(header_error(path, t, name, message));
        }
    }
    Ok(())
}

/// A missing column, reported at the header line of a CSV file (line 1), or for the file as a
/// whole for Parquet.
fn missing_column(path: &Path, t: &Table, what: &str, names: &[&str]) -> InputError {
    let detail = format!(
        "(accepted names: {}); the header is: {}",
        names.join(", "),
        t.headers.join(",")
    );
    match t.header_line {
        Some(_) => header_error(path, t, what, format!("missing {detail}")),
        None => header_error(path, t, what, format!("missing column {what} {detail}")),
    }
}

/// Finds the drug, event, id and cell columns; refuses a file that has both shapes complete.
fn find_columns(path: &Path, t: &Table) -> Result<Layout, InputError> {
    let drug = t
        .find(DRUG_NAMES)
        .ok_or_else(|| missing_column(path, t, "drug", DRUG_NAMES))?;
    let event = t
        .find(EVENT_NAMES)
        .ok_or_else(|| missing_column(path, t, "event", EVENT_NAMES))?;
    let cells = ["a", "b", "c", "d"].map(|n| t.find(&[n]));
    let id = t.find(ID_NAMES);
    let column_list = |cols: &[Option<usize>]| {
        cols.iter()
            .flatten()
            .map(|&c| t.headers[c].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let (Some(id), true) = (id, cells.iter().all(Option::is_some)) {
        // Both shapes are complete: guessing one would silently drop the other's columns.
        let ambiguous = format!(
            "ambiguous input: report-level columns ({}) and aggregated columns ({}) are both present; keep {} for report rows or a, b, c, d for 2×2 tables",
            column_list(&[Some(id), Some(drug), Some(event)]),
            column_list(&[Some(drug), Some(event), cells[0], cells[1], cells[2], cells[3]]),
            t.headers[id]
        );
        return Err(header_error(path, t, &t.headers[id], ambiguous));
    }
    Ok(Layout {
        drug,
        event,
        cells,
        id,
    })
}

/// Refuses a blank value in column `c`, row `i`.
fn refuse_empty(path: &Path, t: &Table, c: usize, i: usize) -> Result<(), InputError> {
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
}

/// A column as codes into its distinct values: a text column's own dictionary, or the text of a
/// numeric Parquet column's rows interned here.
enum TextView<'a> {
    Borrowed {
        codes: &'a [u32],
        dict: &'a TextDict,
    },
    Owned {
        codes: Vec<u32>,
        dict: TextDict,
    },
}

impl<'a> TextView<'a> {
    fn of(t: &'a Table, c: usize) -> Self {
        match t.columns[c].dictionary() {
            Some((dict, codes)) => TextView::Borrowed { codes, dict },
            None => {
                let mut col = Column::new_text();
                for i in 0..t.lines.len() {
                    col.push_text(&t.columns[c].text(i));
                }
                match col {
                    Column::Text { codes, dict } => TextView::Owned { codes, dict },
                    Column::Number(_) | Column::Integer(_) => unreachable!("a text column"),
                }
            }
        }
    }

    fn codes(&self) -> &[u32] {
        match self {
            TextView::Borrowed { codes, .. } => codes,
            TextView::Owned { codes, .. } => codes,
        }
    }

    fn dict(&self) -> &TextDict {
        match self {
            TextView::Borrowed { dict, .. } => dict,
            TextView::Owned { dict, .. } => dict,
        }
    }

    /// For each distinct value, whether it is blank.
    fn blank(&self) -> Vec<bool> {
        let dict = self.dict();
        (0..dict.len() as u32)
            .map(|k| match dict.value(k).first() {
                // Printable ASCII is not white space (every white space character of `trim`
                // is either at most b' ' or not ASCII): nearly every value stops here.
                Some(&b) if b > b' ' && b.is_ascii() => false,
                _ => dict.text(k).trim().is_empty(),
            })
            .collect()
    }
}

/// Report-level rows grouped into reports, in order of first appearance.
struct Reports {
    /// The id column's code of each report.
    id_code: Vec<u32>,
    /// Each report's stratum label and the line that set it.
    label: Vec<(String, u64)>,
    /// The report of each row.
    of_row: Vec<u32>,
}

fn report_level(
    path: &Path,
    t: &Table,
    layout: &Layout,
    id: usize,
    stratify: &[String],
) -> Result<CountsInput, InputError> {
    let strata: Vec<usize> = stratify
        .iter()
        .map(|s| {
            t.find(&[s.as_str()])
                .ok_or_else(|| missing_column(path, t, s, &[s.as_str()]))
        })
        .collect::<Result<_, _>>()?;
    // Rows are grouped by report id on the text columns' dictionary codes: a name is normalised
    // once per distinct spelling, not once per row.
    let (ids, drugs, events) = (
        TextView::of(t, id),
        TextView::of(t, layout.drug),
        TextView::of(t, layout.event),
    );
    let reports = assign_reports(
        path,
        t,
        [(id, &ids), (layout.drug, &drugs), (layout.event, &events)],
        &strata,
        stratify,
    )?;
    let (offsets, grouped) = group_rows_by_report(&reports.of_row, reports.id_code.len());
    // Names as the store writes them (trimmed, upper case), so that `Dupilumab` and
    // `DUPILUMAB ` are one drug; blank names were refused above. Ids follow first appearance
    // report by report, row by row.
    let (drug_names, drug_canon) = canonical_names(drugs.dict());
    let (event_names, event_canon) = canonical_names(events.dict());
    let rows = ReportRows {
        offsets: &offsets,
        grouped: &grouped,
        drugs: drugs.codes(),
        events: events.codes(),
        drug_canon: &drug_canon,
        event_canon: &event_canon,
        names: (drug_names.len(), event_names.len()),
    };
    let n_reports = reports.id_code.len();
    // Two ranges of reports of about half the rows each, built on their own threads; a small
    // input is one range (a thread costs more than it saves below about 16 k rows).
    let middle = offsets
        .partition_point(|&o| o < grouped.len() / 2)
        .min(n_reports);
    let (halves, whole) = ([0..middle, middle..n_reports], 0..n_reports);
    let ranges: &[std::ops::Range<usize>] =
        if grouped.len() >= PARALLEL_BUILD_ROWS && middle > 0 && middle < n_reports {
            &halves
        } else {
            std::slice::from_ref(&whole)
        };
    let mut set = ReportSet::default();
    // Pass 1: the canonical names in order of first appearance, per range; a name's id is its
    // place in the first range that has it, after every name of the ranges before.
    let seen = on_threads(ranges, |range| rows.first_seen(range.clone()));
    let mut drug_id = vec![u32::MAX; drug_names.len()];
    let mut event_id = vec![u32::MAX; event_names.len()];
    for (range_drugs, range_events) in &seen {
        for &k in range_drugs {
            if drug_id[k as usize] == u32::MAX {
                drug_id[k as usize] = set.drugs.intern(&drug_names[k as usize]);
            }
        }
        for &k in range_events {
            if event_id[k as usize] == u32::MAX {
                event_id[k as usize] = set.events.intern(&event_names[k as usize]);
            }
        }
    }
    // Unstratified, every report is in the one empty stratum: interned once, not per report.
    set.report_stratum = if strata.is_empty() {
        vec![set.strata.intern(""); n_reports]
    } else {
        reports
            .label
            .iter()
            .map(|(label, _)| set.strata.intern(label))
            .collect()
    };
    // Pass 2: each range's reports with their final ids, then the ranges end to end; the
    // report ids as integers when every one is written as one (no string per report).
    let built = on_threads(ranges, |range| {
        let numbers: Option<Vec<u64>> = range
            .clone()
            .map(|r| canonical_integer(ids.dict().value(reports.id_code[r])))
            .collect();
        let mut part = rows.build(range.clone(), &drug_id, &event_id);
        part.report_numbers = numbers;
        part
    });
    let mut parts = built.into_iter();
    let mut all = parts.next().unwrap_or_default();
    for part in parts {
        all.append(part);
    }
    set.report_ids = match all.report_numbers.take() {
        Some(numbers) => ReportIds::Numeric(numbers),
        // Some id is not an integer: every id as text (the kinds are not mixed).
        None => ReportIds::Text(
            on_threads(ranges, |range| {
                range
                    .clone()
                    .map(|r| ids.dict().text(reports.id_code[r]).to_owned())
                    .collect::<Vec<_>>()
            })
            .into_iter()
            .flatten()
            .collect(),
        ),
    };
    set.drug_offsets = all.drug_offsets;
    set.drug_ids = all.drug_ids;
    set.event_offsets = all.event_offsets;
    set.event_ids = all.event_ids;
    if all.any_explicit {
        set.explicit_pairs = Some((all.pair_offsets, all.pairs));
    }
    Ok(CountsInput::Reports(set))
}

/// The smallest number of rows whose reports are built on two threads.
const PARALLEL_BUILD_ROWS: usize = 1 << 14;

/// Runs `work` on each range, the first on this thread and each other on a thread of its own;
/// the results in the order of the ranges.
fn on_threads<T: Send>(
    ranges: &[std::ops::Range<usize>],
    work: impl Fn(&std::ops::Range<usize>) -> T + Sync,
) -> Vec<T> {
    let Some((first, rest)) = ranges.split_first() else {
        return Vec::new();
    };
    std::thread::scope(|scope| {
        let others: Vec<_> = rest
            .iter()
            .map(|range| scope.spawn(|| work(range)))
            .collect();
        let mut results = vec![work(first)];
        results.extend(others.into_iter().map(|handle| {
            handle
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        }));
        results
    })
}

/// `value` as an integer when it is one written the way the integer prints (decimal digits, no
/// leading zero, no sign, at most `u64::MAX`), so that keeping the number loses nothing: `7`
/// gives 7, but `007`, `+7`, ` 7` and `7.0` give `None` (they are other reports than `7`, and
/// print otherwise).
fn canonical_integer(value: &[u8]) -> Option<u64> {
    let canonical = match value {
        [] => false,
        [b'0'] => true,
        [first, rest @ ..] => (b'1'..=b'9').contains(first) && rest.iter().all(u8::is_ascii_digit),
    };
    if !canonical || value.len() > 20 {
        return None;
    }
    // Twenty digits may exceed u64::MAX: checked.
    value.iter().try_fold(0u64, |n, &b| {
        n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// Each distinct value of a name column normalised ([`normalise_name`]): the distinct
/// normalised names, and the index into them of each value.
fn canonical_names(dict: &TextDict) -> (Vec<String>, Vec<u32>) {
    let mut names = Dictionary::new();
    let canon = (0..dict.len() as u32)
        .map(|k| names.intern(&normalise_name(dict.text(k)).unwrap_or_default()))
        .collect();
    (names.names().to_vec(), canon)
}

/// Report-level rows grouped by report, with the canonical name of each row's drug and event
/// ([`canonical_names`]).
struct ReportRows<'a> {
    /// Report `r`'s rows are `grouped[offsets[r]..offsets[r + 1]]`.
    offsets: &'a [usize],
    grouped: &'a [u32],
    /// Each row's drug and event, as codes of their columns' dictionaries.
    drugs: &'a [u32],
    events: &'a [u32],
    /// Each dictionary code's canonical name.
    drug_canon: &'a [u32],
    event_canon: &'a [u32],
    /// The number of canonical drug and event names.
    names: (usize, usize),
}

/// The reports of one range as [`ReportSet`] holds them, offsets counted from the range's start.
#[derive(Default)]
struct BuiltReports {
    /// The reports' ids as integers, when each is one ([`canonical_integer`]).
    report_numbers: Option<Vec<u64>>,
    drug_ids: Vec<u32>,
    drug_offsets: Vec<usize>,
    event_ids: Vec<u32>,
    event_offsets: Vec<usize>,
    pairs: Vec<(u32, u32)>,
    pair_offsets: Vec<usize>,
    any_explicit: bool,
}

impl BuiltReports {
    /// Appends the reports of the next range.
    fn append(&mut self, next: BuiltReports) {
        fn shifted(offsets: &mut Vec<usize>, next: &[usize]) {
            let base = offsets.last().copied().unwrap_or(0);
            offsets.extend(next.iter().skip(1).map(|&o| o + base));
        }
        shifted(&mut self.drug_offsets, &next.drug_offsets);
        shifted(&mut self.event_offsets, &next.event_offsets);
        shifted(&mut self.pair_offsets, &next.pair_offsets);
        self.drug_ids.extend_from_slice(&next.drug_ids);
        self.event_ids.extend_from_slice(&next.event_ids);
        self.pairs.extend_from_slice(&next.pairs);
        self.report_numbers = match (self.report_numbers.take(), next.report_numbers) {
            (Some(mut numbers), Some(next)) => {
                numbers.extend_from_slice(&next);
                Some(numbers)
            }
            _ => None,
        };
        self.any_explicit |= next.any_explicit;
    }
}

impl ReportRows<'_> {
    fn rows(&self, r: usize) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.grouped[self.offsets[r]..self.offsets[r + 1]]
            .iter()
            .map(|&i| {
                (
                    self.drug_canon[self.drugs[i as usize] as usize],
                    self.event_canon[self.events[i as usize] as usize],
                )
            })
    }

    /// The canonical drugs and events of `reports` in order of first appearance (report by
    /// report, row by row).
    fn first_seen(&self, reports: std::ops::Range<usize>) -> (Vec<u32>, Vec<u32>) {
        let (mut drug_seen, mut event_seen) =
            (vec![false; self.names.0], vec![false; self.names.1]);
        let (mut drugs, mut events) = (Vec::new(), Vec::new());
        for r in reports {
            for (d, e) in self.rows(r) {
                if !drug_seen[d as usize] {
                    drug_seen[d as usize] = true;
                    drugs.push(d);
                }
                if !event_seen[e as usize] {
                    event_seen[e as usize] = true;
                    events.push(e);
                }
            }
        }
        (drugs, events)
    }

    /// `reports` as `ReportSetBuilder::push_report_id_rows` adds them (without its allocations
    /// per report): distinct pairs, distinct sorted drugs and events, and the exact pairs when
    /// they are not every drug × every event. `drug_id` and `event_id` give each canonical
    /// name's id. The report ids are left to the caller.
    fn build(
        &self,
        reports: std::ops::Range<usize>,
        drug_id: &[u32],
        event_id: &[u32],
    ) -> BuiltReports {
        let n = reports.len();
        let rows_in = self.offsets[reports.end] - self.offsets[reports.start];
        let offsets = || {
            let mut offsets = Vec::with_capacity(n + 1);
            offsets.push(0);
            offsets
        };
        let mut out = BuiltReports {
            report_numbers: None,
            drug_ids: Vec::with_capacity(rows_in),
            drug_offsets: offsets(),
            event_ids: Vec::with_capacity(rows_in),
            event_offsets: offsets(),
            pairs: Vec::new(),
            pair_offsets: offsets(),
            any_explicit: false,
        };
        let (mut rows, mut events_of_report): (Vec<(u32, u32)>, Vec<u32>) =
            (Vec::new(), Vec::new());
        for r in reports {
            rows.clear();
            rows.extend(
                self.rows(r)
                    .map(|(d, e)| (drug_id[d as usize], event_id[e as usize])),
            );
            rows.sort_unstable();
            rows.dedup();
            let first_drug = out.drug_ids.len();
            for &(d, _) in &rows {
                if out.drug_ids.len() == first_drug || out.drug_ids.last() != Some(&d) {
                    out.drug_ids.push(d);
                }
            }
            out.drug_offsets.push(out.drug_ids.len());
            events_of_report.clear();
            events_of_report.extend(rows.iter().map(|p| p.1));
            events_of_report.sort_unstable();
            events_of_report.dedup();
            out.event_ids.extend_from_slice(&events_of_report);
            out.event_offsets.push(out.event_ids.len());
            if rows.len() != (out.drug_ids.len() - first_drug) * events_of_report.len() {
                out.any_explicit = true;
                out.pairs.extend_from_slice(&rows);
            }
            out.pair_offsets.push(out.pairs.len());
        }
        out
    }
}

/// Refuses blank ids, drugs and events, numbers the reports in order of first appearance, and
/// checks that every row of a report has the report's stratum. `named` are the id, drug and
/// event columns with their views.
fn assign_reports(
    path: &Path,
    t: &Table,
    named: [(usize, &TextView<'_>); 3],
    strata: &[usize],
    stratify: &[String],
) -> Result<Reports, InputError> {
    let blank: Vec<Vec<bool>> = named.iter().map(|(_, view)| view.blank()).collect();
    let id_codes = named[0].1.codes();
    let mut report_of_code: Vec<u32> = vec![u32::MAX; named[0].1.dict().len()];
    let mut reports = Reports {
        id_code: Vec::new(),
        label: Vec::new(),
        of_row: vec![0; t.lines.len()],
    };
    if strata.is_empty() && blank.iter().all(|values| !values.contains(&true)) {
        // Nothing to refuse and no stratum to compare (nearly every input): only the numbering.
        for (i, &code) in id_codes.iter().enumerate() {
            let r = &mut report_of_code[code as usize];
            if *r == u32::MAX {
                *r = reports.id_code.len() as u32;
                reports.id_code.push(code);
                reports.label.push((String::new(), t.lines[i]));
            }
            reports.of_row[i] = *r;
        }
        return Ok(reports);
    }
    let mut label = String::new();
    for i in 0..t.lines.len() {
        for (k, (c, view)) in named.iter().enumerate() {
            if blank[k][view.codes()[i] as usize] {
                refuse_empty(path, t, *c, i)?;
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
            report_of_code[code] = reports.id_code.len() as u32;
            reports.id_code.push(code as u32);
            reports.label.push((label.clone(), t.lines[i]));
            reports.id_code.len() - 1
        } else {
            report_of_code[code] as usize
        };
        // (Unstratified, every label is empty: nothing to compare.)
        if !strata.is_empty() && reports.label[r].0 != label {
            return Err(InputError::Field {
                path: path.to_owned(),
                line: t.lines[i],
                column: stratify.join(","),
                message: format!(
                    "report {:?} is in stratum {label:?} here but {:?} on line {}",
                    named[0].1.dict().text(code as u32),
                    reports.label[r].0,
                    reports.label[r].1
                ),
            });
        }
        reports.of_row[i] = r as u32;
    }
    Ok(reports)
}

/// Rows grouped by report (a counting sort, stable: rows keep their file order): report `r`'s
/// rows are `grouped[offsets[r]..offsets[r + 1]]`.
fn group_rows_by_report(report_of_row: &[u32], reports: usize) -> (Vec<usize>, Vec<u32>) {
    let mut offsets = vec![0usize; reports + 1];
    for &r in report_of_row {
        offsets[r as usize + 1] += 1;
    }
    for r in 0..reports {
        offsets[r + 1] += offsets[r];
    }
    let mut next = offsets.clone();
    let mut grouped = vec![0u32; report_of_row.len()];
    for (i, &r) in report_of_row.iter().enumerate() {
        grouped[next[r as usize]] = i as u32;
        next[r as usize] += 1;
    }
    (offsets, grouped)
}

/// Aggregated 2×2 tables, one row per pair.
fn aggregated(
    path: &Path,
    t: &Table,
    layout: &Layout,
    stratify: &[String],
) -> Result<CountsInput, InputError> {
    let (drug, event) = (layout.drug, layout.event);
    let [Some(ca), Some(cb), Some(cc), Some(cd)] = layout.cells else {
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
        .map_or(Vec::new(), |(d, _)| vec![None; d.len()]);
    let mut event_ids: Vec<Option<u32>> = t.columns[event]
        .dictionary()
        .map_or(Vec::new(), |(d, _)| vec![None; d.len()]);
    let intern = |dict: &mut Dictionary, ids: &mut Vec<Option<u32>>, col: usize, i: usize| -> u32 {
        match t.columns[col].dictionary() {
            Some((values, codes)) => {
                let code = codes[i];
                *ids[code as usize].get_or_insert_with(|| {
                    dict.intern(&normalise_name(values.text(code)).unwrap_or_default())
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
        refuse_empty(path, t, drug, i)?;
        refuse_empty(path, t, event, i)?;
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

#[cfg(test)]
mod tests {
    use super::{canonical_integer, same_bytes};

    #[test]
    fn same_bytes_is_slice_equality() {
        // Every length from 0 to 80 (below, at and above the word compares and the 64-byte
        // cut-over), equal values and values that differ in one byte at each position, or in
        // length: the answer must be that of `==`.
        for n in 0..=80usize {
            let a: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
            assert!(same_bytes(&a, &a.clone()), "{n}");
            for k in 0..n {
                let mut b = a.clone();
                b[k] ^= 0x20;
                assert!(!same_bytes(&a, &b), "{n} {k}");
            }
            let mut longer = a.clone();
            longer.push(0);
            assert!(!same_bytes(&a, &longer), "{n}");
            assert_eq!(same_bytes(&a, &longer[1..]), a[..] == longer[1..], "{n}");
        }
    }

    #[test]
    fn integers_are_recognised_only_as_they_print() {
        // u64::MAX = 18446744073709551615 (2^64 − 1); one more is 2^64 = 18446744073709551616.
        let cases: [(&str, Option<u64>); 12] = [
            ("0", Some(0)),
            ("7", Some(7)),
            ("200000007", Some(200_000_007)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("99999999999999999999", None),
            ("007", None),
            ("00", None),
            ("+7", None),
            (" 7", None),
            ("7.0", None),
            ("", None),
        ];
        for (text, want) in cases {
            assert_eq!(canonical_integer(text.as_bytes()), want, "{text:?}");
            if let Some(n) = want {
                assert_eq!(n.to_string(), text, "prints as written");
            }
        }
    }
}
