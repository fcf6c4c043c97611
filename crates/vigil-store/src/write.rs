//! Writing a new store version atomically.
//!
//! A [`StoreTxn`] builds the next version in a temporary directory beside the live one
//! (`STORE/.tmp-v000004-<pid>`): unchanged child-table files of the live version are hard-linked
//! (copied where links are not possible), new files are written, every file and directory is
//! fsynced, the directory is renamed to `v000004`, and only then is `CURRENT` replaced through
//! `CURRENT.tmp` + fsync + rename. A process killed at any moment therefore leaves `CURRENT`
//! naming a complete version (the old one until the final rename, the new one after). Leftover
//! temporary directories are removed by the next writer. One writer at a time is enforced with a
//! `LOCK` file holding the writer's process id.
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding};
use parquet::file::properties::WriterProperties;

use crate::ingest_report::IngestReport;
use crate::layout::{
    batch_file_name, current_version_dir, version_dir_name, version_numbers, BatchInfo, ChildTable,
    Manifest, StoreError, StoreResult, CURRENT_FILE, DELETED_FILE, INGEST_REPORT_FILE,
    MANIFEST_FILE,
};

const LAYOUT_VERSION: u32 = 1;
const LOCK_FILE: &str = "LOCK";

/// Integer columns written with Parquet's DELTA_BINARY_PACKED encoding instead of a dictionary:
/// the report and case ids (sorted or in runs, nearly all distinct over a file) and the store
/// batch (one value per file). Why: a dictionary hashes every value, and for the ids it outgrows
/// its page limit and falls back to plain values anyway; interning them was about a tenth of an
/// ingest's CPU (perf, 1 M synthetic reports), and the delta-encoded store is less than half the
/// size (42 MB against 100 MB for that set), which the loader reads faster too.
pub const DELTA_COLUMNS: &[&str] = &["primaryid", "caseid", "batch"];

/// A Parquet file being written, fsynced on [`ParquetSink::finish`].
pub struct ParquetSink {
    path: PathBuf,
    writer: ArrowWriter<File>,
    rows: u64,
}

impl ParquetSink {
    /// Creates `path` with `schema` (Snappy-compressed pages; text and small-integer columns
    /// dictionary-encoded, the integer keys [`DELTA_COLUMNS`] delta-encoded). Column statistics
    /// (min/max per page and chunk) are kept for `primaryid` only: nothing in vigil reads them
    /// for the text columns, and computing them (byte-wise string comparisons of every value)
    /// cost about 7 % of an ingest (perf, two synthetic quarters).
    pub fn create(path: &Path, schema: SchemaRef) -> StoreResult<Self> {
        use parquet::file::properties::EnabledStatistics;
        use parquet::schema::types::ColumnPath;
        let file = File::create(path).map_err(|e| StoreError::io(path, e))?;
        let mut props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_statistics_enabled(EnabledStatistics::None)
            .set_column_statistics_enabled(ColumnPath::from("primaryid"), EnabledStatistics::Page);
        for c in DELTA_COLUMNS {
            if schema.column_with_name(c).is_some() {
                props = props
                    .set_column_dictionary_enabled(ColumnPath::from(*c), false)
                    .set_column_encoding(ColumnPath::from(*c), Encoding::DELTA_BINARY_PACKED);
            }
        }
        let props = props.build();
        let writer = ArrowWriter::try_new(file, schema, Some(props))
            .map_err(|e| StoreError::parquet(path, e))?;
        Ok(Self {
            path: path.to_owned(),
            writer,
            rows: 0,
        })
    }

    /// Appends one record batch.
    pub fn write(&mut self, batch: &RecordBatch) -> StoreResult<()> {
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(batch)
            .map_err(|e| StoreError::parquet(&self.path, e))
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Closes the file and fsyncs it.
    pub fn finish(self) -> StoreResult<()> {
        let path = self.path;
        let file = self
            .writer
            .into_inner()
            .map_err(|e| StoreError::parquet(&path, e))?;
        file.sync_all().map_err(|e| StoreError::io(&path, e))
    }
}

/// A new store version under construction. Dropping it without [`StoreTxn::commit`] removes
/// the temporary directory and leaves the store as it was.
pub struct StoreTxn {
    store: PathBuf,
    previous: Option<(PathBuf, Manifest)>,
    tmp: PathBuf,
    manifest: Manifest,
    committed: bool,
}

fn sync_dir(dir: &Path) -> StoreResult<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

fn process_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

impl StoreTxn {
    /// Starts the next version of `store` (created if missing).
    pub fn begin(store: &Path) -> StoreResult<Self> {
        fs::create_dir_all(store).map_err(|e| StoreError::io(store, e))?;
        Self::take_lock(store)?;
        // Remove temporary directories left by killed writers (we hold the lock).
        if let Ok(entries) = fs::read_dir(store) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().starts_with(".tmp-") {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        let previous = match current_version_dir(store).map_err(|e| StoreError::io(store, e))? {
            Some(dir) => {
                let m = read_manifest(&dir)?;
                Some((dir, m))
            }
            None => None,
        };
        let (version, mut next_batch, batches) = match &previous {
            Some((_, m)) => (m.version + 1, m.next_batch, m.batches.clone()),
            None => (1, 1, Vec::new()),
        };
        // After a rollback, later versions still exist: the new one is numbered after all of
        // them, and its batch ids follow every id used so far (ids then stay unique in the store).
        let existing = version_numbers(store).map_err(|e| StoreError::io(store, e))?;
        let version = version.max(existing.last().map_or(0, |v| v + 1));
        for v in &existing {
            if let Ok(m) = read_manifest(&store.join(version_dir_name(*v))) {
                next_batch = next_batch.max(m.next_batch);
            }
        }
        let based_on = previous.as_ref().map(|(_, m)| m.version);
        // Synthetic reports stay in every later version (they are carried forward), so does the flag.
        let synthetic_data = previous.as_ref().is_some_and(|(_, m)| m.synthetic_data);
        let tmp = store.join(format!(
            ".tmp-{}-{}",
            version_dir_name(version),
            std::process::id()
        ));
        fs::create_dir_all(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        for t in ChildTable::ALL {
            let d = tmp.join(t.dir_name());
            fs::create_dir_all(&d).map_err(|e| StoreError::io(&d, e))?;
        }
        let manifest = Manifest {
            layout: LAYOUT_VERSION,
            version,
            next_batch,
            batches,
            based_on,
            synthetic_data,
            ..Default::default()
        };
        let txn = Self {
            store: store.to_owned(),
            previous,
            tmp,
            manifest,
            committed: false,
        };
        txn.link_previous_children()?;
        Ok(txn)
    }

    fn take_lock(store: &Path) -> StoreResult<()> {
        let lock = store.join(LOCK_FILE);
        for _ in 0..2 {
            match fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
            {
                Ok(mut f) => {
                    let _ = writeln!(f, "{}", std::process::id());
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = fs::read_to_string(&lock).unwrap_or_default();
                    match holder.trim().parse::<u32>() {
                        Ok(pid) if pid != std::process::id() && process_alive(pid) => {
                            return Err(StoreError::Format(format!(
                                "{}: another vigil process (pid {pid}) is writing this store",
                                lock.display()
                            )));
                        }
                        // A stale lock from a killed writer: take it over.
                        _ => {
                            let _ = fs::remove_file(&lock);
                        }
                    }
                }
                Err(e) => return Err(StoreError::io(&lock, e)),
            }
        }
        Err(StoreError::Format(format!(
            "{}: could not take the store lock",
            lock.display()
        )))
    }

    fn link_previous_children(&self) -> StoreResult<()> {
        let Some((prev, m)) = &self.previous else {
            return Ok(());
        };
        // The deleted-case lists go into every later version (an ingest that reads new lists
        // replaces this link with a file holding the old rows and the new ones).
        let from = prev.join(DELETED_FILE);
        if from.exists() {
            let to = self.tmp.join(DELETED_FILE);
            if fs::hard_link(&from, &to).is_err() {
                fs::copy(&from, &to).map_err(|e| StoreError::io(&from, e))?;
            }
        }
        for t in ChildTable::ALL {
            for b in &m.batches {
                let name = batch_file_name(b.id);
                let from = prev.join(t.dir_name()).join(&name);
                if !from.exists() {
                    continue;
                }
                let to = self.tmp.join(t.dir_name()).join(&name);
                if fs::hard_link(&from, &to).is_err() {
                    fs::copy(&from, &to).map_err(|e| StoreError::io(&from, e))?;
                }
            }
        }
        Ok(())
    }

    /// The live version directory this transaction builds on, with its manifest.
    pub fn previous(&self) -> Option<(&Path, &Manifest)> {
        self.previous.as_ref().map(|(p, m)| (p.as_path(), m))
    }

    /// Marks the version being built as holding `vigil synth` data (never unset: see
    /// [`Manifest::synthetic_data`]).
    pub fn mark_synthetic(&mut self) {
        self.manifest.synthetic_data = true;
    }

    /// The version number being built.
    pub fn version(&self) -> u32 {
        self.manifest.version
    }

    /// The temporary directory being filled.
    pub fn dir(&self) -> &Path {
        &self.tmp
    }

    /// Allocates a new batch id for `quarter`.
    pub fn new_batch(&mut self, quarter: &str) -> u32 {
        let id = self.manifest.next_batch;
        self.manifest.next_batch += 1;
        self.manifest.batches.push(BatchInfo {
            id,
            quarter: quarter.to_owned(),
        });
        id
    }

    /// Opens the Parquet file of `table` for batch `batch`.
    pub fn child_sink(&self, table: ChildTable, batch: u32) -> StoreResult<ParquetSink> {
        let path = self.tmp.join(table.dir_name()).join(batch_file_name(batch));
        ParquetSink::create(&path, table.schema())
    }

    /// The batch file of `table` for `batch` in the version being built (linked from the previous
    /// version when the batch is older than this transaction), or `None` when there is none.
    pub fn child_file(&self, table: ChildTable, batch: u32) -> Option<PathBuf> {
        let path = self.tmp.join(table.dir_name()).join(batch_file_name(batch));
        path.exists().then_some(path)
    }

    /// Replaces the batch file of `table` for `batch` in the version being built by `batches`
    /// (rows rewritten, e.g. drug rows remapped to a name learned later). The new rows go to
    /// `<file>.rewrite` beside it, which is fsynced and renamed over the old name: the file of the
    /// previous version (the same inode, hard-linked) is never written, so it stays as it was
    /// whatever happens, and until [`StoreTxn::commit`] the live version is the previous one.
    pub fn replace_child(
        &self,
        table: ChildTable,
        batch: u32,
        batches: &[RecordBatch],
    ) -> StoreResult<()> {
        let dir = self.tmp.join(table.dir_name());
        let path = dir.join(batch_file_name(batch));
        let tmp = dir.join(format!("{}.rewrite", batch_file_name(batch)));
        let mut sink = ParquetSink::create(&tmp, table.schema())?;
        for b in batches {
            sink.write(b)?;
        }
        sink.finish()?;
        fs::rename(&tmp, &path).map_err(|e| StoreError::io(&path, e))
    }

    /// Opens a top-level Parquet file (`reports.parquet`, `sources.parquet`,
    /// `deleted_cases.parquet`). A file linked from the previous version is unlinked first:
    /// truncating it would truncate the previous version's file too (one inode).
    pub fn file_sink(&self, file_name: &str, schema: SchemaRef) -> StoreResult<ParquetSink> {
        let path = self.tmp.join(file_name);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(&path, e)),
        }
        ParquetSink::create(&path, schema)
    }

    /// Writes the manifest and `report`, fsyncs, and switches `CURRENT` to the new version.
    /// Versions older than the previous one are then removed. Returns the new version directory.
    pub fn commit(mut self, report: &IngestReport) -> StoreResult<PathBuf> {
        self.manifest.created_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs());
        self.manifest.reports = Some(report.reports_in_store);
        self.manifest.inputs = report.files.clone();
        let manifest_path = self.tmp.join(MANIFEST_FILE);
        write_json_synced(&manifest_path, &self.manifest)?;
        write_json_synced(&self.tmp.join(INGEST_REPORT_FILE), report)?;
        for t in ChildTable::ALL {
            sync_dir(&self.tmp.join(t.dir_name()))?;
        }
        sync_dir(&self.tmp)?;
        let name = version_dir_name(self.manifest.version);
        let final_dir = self.store.join(&name);
        if final_dir.exists() {
            // A directory of this number that CURRENT never pointed to (a kill between the two
            // renames): it is not live, so it can go.
            fs::remove_dir_all(&final_dir).map_err(|e| StoreError::io(&final_dir, e))?;
        }
        fs::rename(&self.tmp, &final_dir).map_err(|e| StoreError::io(&final_dir, e))?;
        sync_dir(&self.store)?;
        let pointer_tmp = self.store.join("CURRENT.tmp");
        {
            let mut f = File::create(&pointer_tmp).map_err(|e| StoreError::io(&pointer_tmp, e))?;
            writeln!(f, "{name}")
                .and_then(|_| f.sync_all())
                .map_err(|e| StoreError::io(&pointer_tmp, e))?;
        }
        let pointer = self.store.join(CURRENT_FILE);
        fs::rename(&pointer_tmp, &pointer).map_err(|e| StoreError::io(&pointer, e))?;
        sync_dir(&self.store)?;
        self.committed = true;
        // Keep the newest KEPT_VERSIONS versions (for `vigil store rollback`); older ones go.
        // Child files are hard links shared between versions, so a kept version costs little
        // more than its reports table.
        if let Ok(mut versions) = version_numbers(&self.store) {
            versions.retain(|v| *v != self.manifest.version);
            let excess = versions.len().saturating_sub(KEPT_VERSIONS - 1);
            for v in &versions[..excess] {
                let _ = fs::remove_dir_all(self.store.join(version_dir_name(*v)));
            }
        }
        let _ = fs::remove_file(self.store.join(LOCK_FILE));
        Ok(final_dir)
    }
}

/// Versions kept in a store (the live one included); older ones are removed at each commit.
pub const KEPT_VERSIONS: usize = 10;

/// Holds the store's `LOCK` while alive.
struct LockGuard(PathBuf);

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = fs::remove_file(self.0.join(LOCK_FILE));
    }
}

/// One version directory of a store, for `vigil store versions`.
#[derive(Debug, Clone)]
pub struct VersionInfo {
    /// Version number.
    pub version: u32,
    /// True for the version `CURRENT` names.
    pub live: bool,
    /// Its manifest (`None` when it cannot be read: the version is damaged).
    pub manifest: Option<Manifest>,
    /// Why the manifest could not be read.
    pub problem: Option<String>,
    /// Reports, from the manifest or, for versions written before the manifest recorded it,
    /// from the ingest report.
    pub reports: Option<u64>,
    /// Input files, likewise.
    pub inputs: Vec<crate::ingest_report::FileRead>,
    /// Commit time (seconds since 1970, UTC): the manifest's, else the directory's mtime.
    pub created_unix: Option<u64>,
}

/// Lists the versions present in `store`, oldest first.
pub fn list_versions(store: &Path) -> StoreResult<Vec<VersionInfo>> {
    let live = current_version_dir(store).map_err(|e| StoreError::io(store, e))?;
    if live.is_none() {
        return Err(StoreError::Format(format!(
            "{}: not a vigil store (no CURRENT file)",
            store.display()
        )));
    }
    let live_name = live
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned());
    let mut out = Vec::new();
    for v in version_numbers(store).map_err(|e| StoreError::io(store, e))? {
        let name = version_dir_name(v);
        let dir = store.join(&name);
        let (manifest, problem) = match read_manifest(&dir) {
            Ok(m) => (Some(m), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let report: Option<IngestReport> = fs::read(dir.join(INGEST_REPORT_FILE))
            .ok()
            .and_then(|t| serde_json::from_slice(&t).ok());
        let reports = manifest
            .as_ref()
            .and_then(|m| m.reports)
            .or(report.as_ref().map(|r| r.reports_in_store));
        let inputs = match (&manifest, &report) {
            (Some(m), _) if !m.inputs.is_empty() => m.inputs.clone(),
            (_, Some(r)) => r.files.clone(),
            _ => Vec::new(),
        };
        let mtime = fs::metadata(&dir)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs());
        let created_unix = manifest.as_ref().and_then(|m| m.created_unix).or(mtime);
        out.push(VersionInfo {
            version: v,
            live: live_name.as_deref() == Some(name.as_str()),
            manifest,
            problem,
            reports,
            inputs,
            created_unix,
        });
    }
    Ok(out)
}

/// Makes `version` the live version of `store`: checks that its directory holds a manifest of
/// that number, a reports table and an ingest report, then replaces `CURRENT` through
/// `CURRENT.tmp` + fsync + rename, so a failure at any point leaves the previous `CURRENT` in
/// place. Takes the store lock like a writer. Versions after it stay (listed, and reachable by
/// another rollback); the next ingest builds on it and is numbered after all of them.
pub fn rollback(store: &Path, version: u32) -> StoreResult<PathBuf> {
    if current_version_dir(store)
        .map_err(|e| StoreError::io(store, e))?
        .is_none()
    {
        return Err(StoreError::Format(format!(
            "{}: not a vigil store (no CURRENT file)",
            store.display()
        )));
    }
    StoreTxn::take_lock(store)?;
    let _lock = LockGuard(store.to_owned());
    let name = version_dir_name(version);
    let dir = store.join(&name);
    if !dir.is_dir() {
        let have: Vec<String> = version_numbers(store)
            .map_err(|e| StoreError::io(store, e))?
            .iter()
            .map(|v| v.to_string())
            .collect();
        return Err(StoreError::Format(format!(
            "{}: no version {version} in this store (versions present: {})",
            store.display(),
            have.join(", ")
        )));
    }
    let m = read_manifest(&dir)?;
    if m.version != version {
        return Err(StoreError::Format(format!(
            "{}: manifest says version {}, not {version}",
            dir.display(),
            m.version
        )));
    }
    for f in [crate::layout::REPORTS_FILE, INGEST_REPORT_FILE] {
        let p = dir.join(f);
        if !p.is_file() {
            return Err(StoreError::Format(format!(
                "{}: missing; version {version} is incomplete, not switched to",
                p.display()
            )));
        }
    }
    let pointer_tmp = store.join("CURRENT.tmp");
    {
        let mut f = File::create(&pointer_tmp).map_err(|e| StoreError::io(&pointer_tmp, e))?;
        writeln!(f, "{name}")
            .and_then(|_| f.sync_all())
            .map_err(|e| StoreError::io(&pointer_tmp, e))?;
    }
    let pointer = store.join(CURRENT_FILE);
    fs::rename(&pointer_tmp, &pointer).map_err(|e| StoreError::io(&pointer, e))?;
    sync_dir(store)?;
    Ok(dir)
}

impl Drop for StoreTxn {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
            let _ = fs::remove_file(self.store.join(LOCK_FILE));
        }
    }
}

fn write_json_synced<T: serde::Serialize>(path: &Path, value: &T) -> StoreResult<()> {
    let text = serde_json::to_vec_pretty(value)
        .map_err(|e| StoreError::Format(format!("{}: {e}", path.display())))?;
    let mut f = File::create(path).map_err(|e| StoreError::io(path, e))?;
    f.write_all(&text)
        .and_then(|_| f.sync_all())
        .map_err(|e| StoreError::io(path, e))
}

/// Reads `manifest.json` of a version directory.
pub fn read_manifest(version_dir: &Path) -> StoreResult<Manifest> {
    let path = version_dir.join(MANIFEST_FILE);
    let text = fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
    serde_json::from_slice(&text)
        .map_err(|e| StoreError::Format(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, StringArray, UInt32Array, UInt64Array};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::Encoding;

    use super::*;

    /// The id and batch columns are delta-encoded without a dictionary, the text columns keep
    /// theirs (the loader reads them as dictionaries), and every value reads back.
    #[test]
    fn ids_are_delta_encoded_and_text_keeps_its_dictionary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let schema = Arc::new(Schema::new(vec![
            Field::new("primaryid", DataType::UInt64, false),
            Field::new("batch", DataType::UInt32, false),
            Field::new("pt", DataType::Utf8, true),
        ]));
        // 3 rows per report, 1,000 reports from primaryid 100000001 on.
        let pids: Vec<u64> = (0..3_000u64).map(|i| 100_000_001 + i / 3 * 10).collect();
        let pts: Vec<Option<&str>> = (0..3_000)
            .map(|i| [Some("Headache"), None, Some("Nausea")][i % 3])
            .collect();
        let cols: Vec<ArrayRef> = vec![
            Arc::new(UInt64Array::from(pids.clone())),
            Arc::new(UInt32Array::from(vec![7u32; 3_000])),
            Arc::new(StringArray::from(pts.clone())),
        ];
        let mut sink = ParquetSink::create(&path, schema.clone()).unwrap();
        sink.write(&RecordBatch::try_new(schema, cols).unwrap())
            .unwrap();
        sink.finish().unwrap();

        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
        let meta = reader.metadata().row_group(0).clone();
        for i in 0..2 {
            let c = meta.column(i);
            assert!(c.dictionary_page_offset().is_none(), "{}", c.column_path());
            assert!(
                c.encodings().any(|e| e == Encoding::DELTA_BINARY_PACKED),
                "{}",
                c.column_path()
            );
        }
        assert!(meta.column(2).dictionary_page_offset().is_some());
        let batches: Vec<RecordBatch> = reader.build().unwrap().map(Result::unwrap).collect();
        let back = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        let want_pids = UInt64Array::from(pids);
        let want_pts = StringArray::from(pts);
        assert_eq!(
            back.column(0).as_ref(),
            &want_pids as &dyn arrow::array::Array
        );
        assert_eq!(
            back.column(2).as_ref(),
            &want_pts as &dyn arrow::array::Array
        );
    }
}
