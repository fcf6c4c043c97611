//! Deleted-case lists: read from the inputs, kept in the store so a list deletes its cases in
//! quarters ingested before or after it.
use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch, StringBuilder, UInt64Builder};
use arrow::datatypes::UInt64Type;
use vigil_store::ingest_report::{FileRead, TableCounts};
use vigil_store::layout::{deleted_schema, DELETED_FILE};
use vigil_store::read::read_parquet;
use vigil_store::write::StoreTxn;

use super::warnings::issue;
use super::{file_read, FLUSH_ROWS};
use crate::discover::InputFile;
use crate::parse;
use crate::FaersError;

/// Reads the caseids of a deleted-case list: one per line; blank lines (the first line of
/// `DELETE25Q4.txt` is a single space) are skipped; anything else that is not a number is a
/// rejected row.
pub fn read_deleted_list(
    file: &InputFile,
    counts: &mut TableCounts,
    into: &mut HashSet<u64>,
) -> Result<FileRead, FaersError> {
    file.with_reader(|r| -> Result<FileRead, FaersError> {
        let mut line = Vec::new();
        let mut n = 0u64;
        let mut bytes = 0u64;
        let mut rows = 0u64;
        loop {
            line.clear();
            let k = r
                .read_until(b'\n', &mut line)
                .map_err(|e| FaersError::io(&file.display, e))?;
            if k == 0 {
                break;
            }
            bytes += k as u64;
            n += 1;
            let t = crate::record::trim_bytes(&line);
            let t = if n == 1 {
                t.strip_prefix(&[0xEF, 0xBB, 0xBF][..]).unwrap_or(t)
            } else {
                t
            };
            let t = crate::record::trim_bytes(t);
            if t.is_empty() {
                continue;
            }
            rows += 1;
            counts.read += 1;
            let s = crate::record::decode_field(t);
            match parse::parse_id(s.trim_end_matches('$')) {
                Some(id) => {
                    into.insert(id);
                    counts.kept += 1;
                }
                None => counts.reject(
                    issue(file, n, Some("caseid"), "not a numeric caseid".into(), &s),
                    "bad caseid",
                ),
            }
        }
        Ok(file_read(
            file,
            "deleted",
            file.quarter,
            "deleted-list",
            bytes,
            rows,
        ))
    })?
}

/// The deleted-case rows (caseid, quarter, list) of the live version a transaction builds on.
pub(crate) fn stored_deleted(txn: &StoreTxn) -> Result<Vec<(u64, String, Arc<str>)>, FaersError> {
    let Some((dir, _)) = txn.previous() else {
        return Ok(Vec::new());
    };
    let path = dir.join(DELETED_FILE);
    if !path.exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for rb in read_parquet(&path, None)? {
        let caseid = rb.column(0).as_primitive::<UInt64Type>();
        let quarter = rb.column(1).as_string::<i32>();
        let list = rb.column(2).as_string::<i32>();
        for i in 0..rb.num_rows() {
            out.push((
                caseid.value(i),
                quarter.value(i).to_owned(),
                Arc::from(list.value(i)),
            ));
        }
    }
    Ok(out)
}

/// Writes the deleted-case rows, one per (caseid, quarter) (the same list read twice adds nothing).
pub(super) fn write_deleted(
    txn: &StoreTxn,
    mut rows: Vec<(u64, String, Arc<str>)>,
) -> Result<(), FaersError> {
    rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    rows.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    let schema = deleted_schema();
    let mut sink = txn.file_sink(DELETED_FILE, schema.clone())?;
    for chunk in rows.chunks(FLUSH_ROWS * 4) {
        let mut caseid = UInt64Builder::new();
        let mut quarter = StringBuilder::new();
        let mut list = StringBuilder::new();
        for (c, q, l) in chunk {
            caseid.append_value(*c);
            quarter.append_value(q);
            list.append_value(l);
        }
        let cols: Vec<ArrayRef> = vec![
            Arc::new(caseid.finish()),
            Arc::new(quarter.finish()),
            Arc::new(list.finish()),
        ];
        sink.write(
            &RecordBatch::try_new(schema.clone(), cols).map_err(|e| FaersError::Store(e.into()))?,
        )?;
    }
    sink.finish()?;
    Ok(())
}
