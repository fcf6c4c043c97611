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
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::ingest_report::IngestReport;
use crate::layout::{
    batch_file_name, current_version_dir, version_dir_name, BatchInfo, ChildTable, Manifest,
    StoreError, StoreResult, CURRENT_FILE, INGEST_REPORT_FILE, MANIFEST_FILE,
};

const LAYOUT_VERSION: u32 = 1;
const LOCK_FILE: &str = "LOCK";

/// A Parquet file being written, fsynced on [`ParquetSink::finish`].
pub struct ParquetSink {
    path: PathBuf,
    writer: ArrowWriter<File>,
    rows: u64,
}

impl ParquetSink {
    /// Creates `path` with `schema` (Snappy-compressed, dictionary-encoded pages). Column
    /// statistics (min/max per page and chunk) are kept for `primaryid` only: nothing in vigil
    /// reads them for the text columns, and computing them (byte-wise string comparisons of every
    /// value) cost about 7 % of an ingest (perf, two synthetic quarters).
    pub fn create(path: &Path, schema: SchemaRef) -> StoreResult<Self> {
        use parquet::file::properties::EnabledStatistics;
        use parquet::schema::types::ColumnPath;
        let file = File::create(path).map_err(|e| StoreError::io(path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_statistics_enabled(EnabledStatistics::None)
            .set_column_statistics_enabled(ColumnPath::from("primaryid"), EnabledStatistics::Page)
            .build();
        let writer = ArrowWriter::try_new(file, schema, Some(props))
            .map_err(|e| StoreError::parquet(path, e))?;
        Ok(Self { path: path.to_owned(), writer, rows: 0 })
    }

    /// Appends one record batch.
    pub fn write(&mut self, batch: &RecordBatch) -> StoreResult<()> {
        self.rows += batch.num_rows() as u64;
        self.writer.write(batch).map_err(|e| StoreError::parquet(&self.path, e))
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Closes the file and fsyncs it.
    pub fn finish(self) -> StoreResult<()> {
        let path = self.path;
        let file = self.writer.into_inner().map_err(|e| StoreError::parquet(&path, e))?;
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
    File::open(dir).and_then(|f| f.sync_all()).map_err(|e| StoreError::io(dir, e))
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
        let (version, next_batch, batches) = match &previous {
            Some((_, m)) => (m.version + 1, m.next_batch, m.batches.clone()),
            None => (1, 1, Vec::new()),
        };
        let tmp = store.join(format!(".tmp-{}-{}", version_dir_name(version), std::process::id()));
        fs::create_dir_all(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
        for t in ChildTable::ALL {
            let d = tmp.join(t.dir_name());
            fs::create_dir_all(&d).map_err(|e| StoreError::io(&d, e))?;
        }
        let manifest = Manifest { layout: LAYOUT_VERSION, version, next_batch, batches };
        let txn = Self { store: store.to_owned(), previous, tmp, manifest, committed: false };
        txn.link_previous_children()?;
        Ok(txn)
    }

    fn take_lock(store: &Path) -> StoreResult<()> {
        let lock = store.join(LOCK_FILE);
        for _ in 0..2 {
            match fs::OpenOptions::new().write(true).create_new(true).open(&lock) {
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
        Err(StoreError::Format(format!("{}: could not take the store lock", lock.display())))
    }

    fn link_previous_children(&self) -> StoreResult<()> {
        let Some((prev, m)) = &self.previous else { return Ok(()) };
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
        self.manifest.batches.push(BatchInfo { id, quarter: quarter.to_owned() });
        id
    }

    /// Opens the Parquet file of `table` for batch `batch`.
    pub fn child_sink(&self, table: ChildTable, batch: u32) -> StoreResult<ParquetSink> {
        let path = self.tmp.join(table.dir_name()).join(batch_file_name(batch));
        ParquetSink::create(&path, table.schema())
    }

    /// Opens a top-level Parquet file (`reports.parquet`, `sources.parquet`).
    pub fn file_sink(&self, file_name: &str, schema: SchemaRef) -> StoreResult<ParquetSink> {
        ParquetSink::create(&self.tmp.join(file_name), schema)
    }

    /// Writes the manifest and `report`, fsyncs, and switches `CURRENT` to the new version.
    /// Versions older than the previous one are then removed. Returns the new version directory.
    pub fn commit(mut self, report: &IngestReport) -> StoreResult<PathBuf> {
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
            writeln!(f, "{name}").and_then(|_| f.sync_all()).map_err(|e| StoreError::io(&pointer_tmp, e))?;
        }
        let pointer = self.store.join(CURRENT_FILE);
        fs::rename(&pointer_tmp, &pointer).map_err(|e| StoreError::io(&pointer, e))?;
        sync_dir(&self.store)?;
        self.committed = true;
        // Keep the live version and the one before it; older ones are unreachable.
        let keep_prev = self.previous.as_ref().and_then(|(p, _)| p.file_name().map(|n| n.to_owned()));
        if let Ok(entries) = fs::read_dir(&self.store) {
            for entry in entries.flatten() {
                let n = entry.file_name();
                let s = n.to_string_lossy();
                let is_version = s.len() == 7 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit());
                if is_version && s != name.as_str() && Some(&n) != keep_prev.as_ref() {
                    let _ = fs::remove_dir_all(entry.path());
                }
            }
        }
        let _ = fs::remove_file(self.store.join(LOCK_FILE));
        Ok(final_dir)
    }
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
    f.write_all(&text).and_then(|_| f.sync_all()).map_err(|e| StoreError::io(path, e))
}

/// Reads `manifest.json` of a version directory.
pub fn read_manifest(version_dir: &Path) -> StoreResult<Manifest> {
    let path = version_dir.join(MANIFEST_FILE);
    let text = fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
    serde_json::from_slice(&text).map_err(|e| StoreError::Format(format!("{}: {e}", path.display())))
}
