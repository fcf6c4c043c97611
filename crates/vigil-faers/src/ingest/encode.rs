//! The `reports` and `sources` tables of a new store version, encoded as Arrow batches.
use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Builder, Int32Builder, RecordBatch, StringBuilder, UInt32Builder,
    UInt64Builder,
};
use vigil_store::ingest_report::FileRead;
use vigil_store::layout::{
    reports_schema, sources_schema, REPORTS_FILE, REPORT_TEXT_COLUMNS, SOURCES_FILE,
};
use vigil_store::read::read_parquet;
use vigil_store::write::{ParquetSink, StoreTxn};

use super::demo::DemoRow;
use super::{FLUSH_ROWS, PACK_SEP};
use crate::parse;
use crate::FaersError;

/// Reports per record batch of the reports table.
const REPORT_BATCH_ROWS: usize = FLUSH_ROWS * 4;

/// Writes `rows` as the reports table of the version.
pub(crate) fn write_reports(
    txn: &StoreTxn,
    rows: &[&DemoRow],
    quarters: &HashMap<u32, String>,
) -> Result<(), FaersError> {
    let mut sink = txn.file_sink(REPORTS_FILE, reports_schema())?;
    for chunk in rows.chunks(REPORT_BATCH_ROWS) {
        sink.write(&encode_reports(chunk, quarters)?)?;
    }
    sink.finish()?;
    Ok(())
}

/// The reports table written one report at a time, in record batches of [`REPORT_BATCH_ROWS`]
/// (the same batches as [`write_reports`] of the same rows), so that an ingest holds one batch of
/// reports rather than all of them.
pub(crate) struct ReportsWriter<'q> {
    sink: ParquetSink,
    quarters: &'q HashMap<u32, String>,
    pending: Vec<DemoRow>,
}

impl<'q> ReportsWriter<'q> {
    pub(crate) fn new(
        txn: &StoreTxn,
        quarters: &'q HashMap<u32, String>,
    ) -> Result<Self, FaersError> {
        Ok(Self {
            sink: txn.file_sink(REPORTS_FILE, reports_schema())?,
            quarters,
            pending: Vec::with_capacity(REPORT_BATCH_ROWS),
        })
    }

    /// Appends one report.
    pub(crate) fn push(&mut self, row: DemoRow) -> Result<(), FaersError> {
        self.pending.push(row);
        if self.pending.len() >= REPORT_BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), FaersError> {
        if !self.pending.is_empty() {
            let refs: Vec<&DemoRow> = self.pending.iter().collect();
            let rb = encode_reports(&refs, self.quarters)?;
            self.sink.write(&rb)?;
            self.pending.clear();
        }
        Ok(())
    }

    /// Writes the last batch and closes the file.
    pub(crate) fn finish(mut self) -> Result<(), FaersError> {
        self.flush()?;
        self.sink.finish()?;
        Ok(())
    }
}

/// One record batch of the reports table.
fn encode_reports(
    rows: &[&DemoRow],
    quarters: &HashMap<u32, String>,
) -> Result<RecordBatch, FaersError> {
    // Builders sized for the chunk up front (growing them row by row reallocated and faulted
    // in fresh pages, perf). Text: the packed text of the chunk bounds the bytes of all columns.
    let n = rows.len();
    let text_bytes: usize = rows.iter().map(|r| r.text.len()).sum();
    let per_column = text_bytes / REPORT_TEXT_COLUMNS.len() + 1;
    let mut pid = UInt64Builder::with_capacity(n);
    let mut cid = UInt64Builder::with_capacity(n);
    let mut ver = UInt32Builder::with_capacity(n);
    let mut bat = UInt32Builder::with_capacity(n);
    let mut quarter = StringBuilder::with_capacity(n, n * 6);
    let mut source = StringBuilder::with_capacity(n, n * 9);
    let mut texts: Vec<StringBuilder> = REPORT_TEXT_COLUMNS
        .iter()
        .map(|_| StringBuilder::with_capacity(n, per_column))
        .collect();
    let mut age = Float64Builder::with_capacity(n);
    let mut wt = Float64Builder::with_capacity(n);
    let mut sex = StringBuilder::with_capacity(n, n);
    let mut age_group = StringBuilder::with_capacity(n, n * 8);
    let mut year = Int32Builder::with_capacity(n);
    let mut event_year = Int32Builder::with_capacity(n);
    let i_sex = REPORT_TEXT_COLUMNS
        .iter()
        .position(|c| *c == "sex_raw")
        .expect("sex_raw");
    let i_grp = REPORT_TEXT_COLUMNS
        .iter()
        .position(|c| *c == "age_grp")
        .expect("age_grp");
    let i_fda = REPORT_TEXT_COLUMNS
        .iter()
        .position(|c| *c == "fda_dt")
        .expect("fda_dt");
    let i_evt = REPORT_TEXT_COLUMNS
        .iter()
        .position(|c| *c == "event_dt")
        .expect("event_dt");
    let mut fields: Vec<&str> = Vec::with_capacity(REPORT_TEXT_COLUMNS.len());
    for r in rows {
        pid.append_value(r.primaryid);
        cid.append_value(r.caseid);
        ver.append_option(r.caseversion);
        bat.append_value(r.batch);
        quarter.append_value(quarters.get(&r.batch).map_or("unknown", |s| s.as_str()));
        source.append_value(r.source);
        fields.clear();
        fields.extend(r.text.split(PACK_SEP));
        fields.resize(REPORT_TEXT_COLUMNS.len(), "");
        for (b, v) in texts.iter_mut().zip(&fields) {
            if v.is_empty() {
                b.append_null();
            } else {
                b.append_value(v);
            }
        }
        age.append_option(r.age_years);
        wt.append_option(r.weight_kg);
        sex.append_value(parse::sex(fields[i_sex]));
        age_group.append_value(parse::age_group(r.age_years, fields[i_grp]));
        let y = |s: &str| s.get(..4).and_then(|y| y.parse::<i32>().ok());
        year.append_option(y(fields[i_fda]));
        event_year.append_option(y(fields[i_evt]));
    }
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(pid.finish()),
        Arc::new(cid.finish()),
        Arc::new(ver.finish()),
        Arc::new(bat.finish()),
        Arc::new(quarter.finish()),
        Arc::new(source.finish()),
    ];
    cols.extend(texts.iter_mut().map(|b| Arc::new(b.finish()) as ArrayRef));
    cols.push(Arc::new(age.finish()) as ArrayRef);
    cols.push(Arc::new(wt.finish()) as ArrayRef);
    cols.push(Arc::new(sex.finish()));
    cols.push(Arc::new(age_group.finish()));
    cols.push(Arc::new(year.finish()));
    cols.push(Arc::new(event_year.finish()));
    RecordBatch::try_new(reports_schema(), cols).map_err(|e| FaersError::Store(e.into()))
}

pub(crate) fn write_sources(txn: &StoreTxn, files: &[(u32, FileRead)]) -> Result<(), FaersError> {
    let schema = sources_schema();
    let mut sink = txn.file_sink(SOURCES_FILE, schema.clone())?;
    if let Some((prev, _)) = txn.previous() {
        let p = prev.join(SOURCES_FILE);
        if p.exists() {
            for rb in read_parquet(&p, None)? {
                sink.write(&rb)?;
            }
        }
    }
    let mut b = UInt32Builder::new();
    let mut q = StringBuilder::new();
    let mut path = StringBuilder::new();
    let mut t = StringBuilder::new();
    let mut era = StringBuilder::new();
    let mut bytes = UInt64Builder::new();
    let mut rows = UInt64Builder::new();
    for (batch, f) in files {
        b.append_value(*batch);
        q.append_value(&f.quarter);
        path.append_value(&f.path);
        t.append_value(&f.table);
        era.append_value(&f.era);
        bytes.append_value(f.bytes);
        rows.append_value(f.rows);
    }
    let cols: Vec<ArrayRef> = vec![
        Arc::new(b.finish()),
        Arc::new(q.finish()),
        Arc::new(path.finish()),
        Arc::new(t.finish()),
        Arc::new(era.finish()),
        Arc::new(bytes.finish()),
        Arc::new(rows.finish()),
    ];
    sink.write(&RecordBatch::try_new(schema, cols).map_err(|e| FaersError::Store(e.into()))?)?;
    sink.finish()?;
    Ok(())
}
