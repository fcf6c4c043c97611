//! A MedDRA release kept in the store, beside the report versions.
//!
//! ```text
//! STORE/
//!   MEDDRA                 one line: the live MedDRA directory, e.g. "meddra-000002"
//!   meddra-000002/
//!     release.json         version, language, where it was imported from, row counts
//!     paths.parquet        pt, hlt, hlgt, soc, primary        (every PT → SOC path)
//!     llts.parquet         llt, pt, current
//!     smq_terms.parquet    smq, pt, narrow
//!     pt_fixes.parquet     reported, standard                  (optional spelling fixes)
//! ```
//!
//! The release is independent of the report versions (a `store rollback` keeps it; a new ingest
//! does not touch it). An import is atomic as a store version is: the directory is written under a
//! temporary name, fsynced and renamed, and only then is `MEDDRA` replaced through `MEDDRA.tmp` +
//! fsync + rename; older MedDRA directories are removed afterwards. A store without `MEDDRA` has no
//! release, and every command works on PTs as reported.
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, BooleanArray, StringArray};
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::RecordBatch;
use vigil_terms::meddra::{HierarchyPath, LltLink, MeddraTerms, PtFix, SmqTerm};

use crate::layout::{current_version_dir, StoreError, StoreResult};
use crate::read::read_parquet;
use crate::write::ParquetSink;

/// Name of the pointer file naming the live MedDRA directory.
pub const MEDDRA_FILE: &str = "MEDDRA";
const RELEASE_JSON: &str = "release.json";

/// What `release.json` records.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReleaseInfo {
    /// MedDRA version, e.g. "27.0".
    pub version: String,
    /// Language (empty when the release did not say).
    pub language: String,
    /// The folder it was imported from.
    pub imported_from: String,
    /// Seconds since the Unix epoch when it was imported.
    pub imported_at_unix: u64,
    /// Rows of each table.
    pub paths: usize,
    /// LLT rows.
    pub llts: usize,
    /// SMQ–PT rows.
    pub smq_terms: usize,
    /// Spelling-fix rows.
    pub pt_fixes: usize,
    /// Where the spelling fixes came from (empty when none).
    pub pt_fixes_from: String,
}

fn sync_dir(dir: &Path) -> StoreResult<()> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

fn strings(v: impl IntoIterator<Item = String>) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(v))
}

fn bools(v: impl IntoIterator<Item = bool>) -> ArrayRef {
    Arc::new(BooleanArray::from(v.into_iter().collect::<Vec<_>>()))
}

fn write_table(path: &Path, columns: Vec<(&str, ArrayRef)>) -> StoreResult<()> {
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), false))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|c| c.1).collect())?;
    let mut sink = ParquetSink::create(path, schema)?;
    sink.write(&batch)?;
    sink.finish()
}

/// Writes `terms` as the store's MedDRA release (see the module docs). `store` must be a store
/// (have a live version). Returns the new MedDRA directory.
pub fn write_meddra(
    store: &Path,
    terms: &MeddraTerms,
    imported_from: &str,
    pt_fixes_from: &str,
) -> StoreResult<PathBuf> {
    if current_version_dir(store)
        .map_err(|e| StoreError::io(store, e))?
        .is_none()
    {
        return Err(StoreError::Format(format!(
            "{}: not a vigil store (no CURRENT file): ingest reports first (vigil ingest … --store {})",
            store.display(),
            store.display()
        )));
    }
    let existing = meddra_dirs(store)?;
    let next = existing.iter().map(|(n, _)| *n).max().unwrap_or(0) + 1;
    let final_dir = store.join(format!("meddra-{next:06}"));
    let tmp = store.join(format!(".tmp-meddra-{next:06}-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
    }
    fs::create_dir(&tmp).map_err(|e| StoreError::io(&tmp, e))?;
    let result = (|| {
        write_table(
            &tmp.join("paths.parquet"),
            vec![
                ("pt", strings(terms.paths.iter().map(|p| p.pt.clone()))),
                ("hlt", strings(terms.paths.iter().map(|p| p.hlt.clone()))),
                ("hlgt", strings(terms.paths.iter().map(|p| p.hlgt.clone()))),
                ("soc", strings(terms.paths.iter().map(|p| p.soc.clone()))),
                ("primary", bools(terms.paths.iter().map(|p| p.primary))),
            ],
        )?;
        write_table(
            &tmp.join("llts.parquet"),
            vec![
                ("llt", strings(terms.llts.iter().map(|l| l.llt.clone()))),
                ("pt", strings(terms.llts.iter().map(|l| l.pt.clone()))),
                ("current", bools(terms.llts.iter().map(|l| l.current))),
            ],
        )?;
        write_table(
            &tmp.join("smq_terms.parquet"),
            vec![
                (
                    "smq",
                    strings(terms.smq_terms.iter().map(|t| t.smq.clone())),
                ),
                ("pt", strings(terms.smq_terms.iter().map(|t| t.pt.clone()))),
                ("narrow", bools(terms.smq_terms.iter().map(|t| t.narrow))),
            ],
        )?;
        write_table(
            &tmp.join("pt_fixes.parquet"),
            vec![
                (
                    "reported",
                    strings(terms.pt_fixes.iter().map(|f| f.reported.clone())),
                ),
                (
                    "standard",
                    strings(terms.pt_fixes.iter().map(|f| f.standard.clone())),
                ),
            ],
        )?;
        let info = ReleaseInfo {
            version: terms.version.clone(),
            language: terms.language.clone(),
            imported_from: imported_from.to_owned(),
            imported_at_unix: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            paths: terms.paths.len(),
            llts: terms.llts.len(),
            smq_terms: terms.smq_terms.len(),
            pt_fixes: terms.pt_fixes.len(),
            pt_fixes_from: pt_fixes_from.to_owned(),
        };
        let json_path = tmp.join(RELEASE_JSON);
        let text = serde_json::to_vec_pretty(&info)
            .map_err(|e| StoreError::Format(format!("{}: {e}", json_path.display())))?;
        let mut f = File::create(&json_path).map_err(|e| StoreError::io(&json_path, e))?;
        f.write_all(&text)
            .and_then(|_| f.sync_all())
            .map_err(|e| StoreError::io(&json_path, e))?;
        sync_dir(&tmp)?;
        fs::rename(&tmp, &final_dir).map_err(|e| StoreError::io(&final_dir, e))?;
        sync_dir(store)?;
        let pointer_tmp = store.join(format!("{MEDDRA_FILE}.tmp"));
        let mut p = File::create(&pointer_tmp).map_err(|e| StoreError::io(&pointer_tmp, e))?;
        p.write_all(format!("meddra-{next:06}\n").as_bytes())
            .and_then(|_| p.sync_all())
            .map_err(|e| StoreError::io(&pointer_tmp, e))?;
        let pointer = store.join(MEDDRA_FILE);
        fs::rename(&pointer_tmp, &pointer).map_err(|e| StoreError::io(&pointer, e))?;
        sync_dir(store)
    })();
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    // The new release is live; older ones are no longer named by anything.
    for (_, dir) in existing {
        let _ = fs::remove_dir_all(dir);
    }
    Ok(final_dir)
}

fn meddra_dirs(store: &Path) -> StoreResult<Vec<(u32, PathBuf)>> {
    let mut out = Vec::new();
    let rd = match fs::read_dir(store) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(StoreError::io(store, e)),
    };
    for entry in rd {
        let entry = entry.map_err(|e| StoreError::io(store, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(n) = name
            .strip_prefix("meddra-")
            .and_then(|n| n.parse::<u32>().ok())
        {
            out.push((n, entry.path()));
        }
    }
    Ok(out)
}

/// The live MedDRA directory of `store`, or `None` when no release was imported.
pub fn meddra_dir(store: &Path) -> StoreResult<Option<PathBuf>> {
    let pointer = store.join(MEDDRA_FILE);
    match fs::read_to_string(&pointer) {
        Ok(name) => {
            let name = name.trim();
            if !name.starts_with("meddra-") || name.contains('/') || name.contains("..") {
                return Err(StoreError::Format(format!(
                    "{}: not a MedDRA directory name: {name:?}",
                    pointer.display()
                )));
            }
            Ok(Some(store.join(name)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::io(&pointer, e)),
    }
}

/// The release information of the store's MedDRA release, if any.
pub fn read_release_info(store: &Path) -> StoreResult<Option<ReleaseInfo>> {
    let Some(dir) = meddra_dir(store)? else {
        return Ok(None);
    };
    let path = dir.join(RELEASE_JSON);
    let text = fs::read(&path).map_err(|e| StoreError::io(&path, e))?;
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| StoreError::Format(format!("{}: {e}", path.display())))
}

fn column<'a, T: 'static>(rb: &'a RecordBatch, name: &str, path: &Path) -> StoreResult<&'a T> {
    rb.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| {
            StoreError::Format(format!(
                "{}: column {name:?} missing or of the wrong type",
                path.display()
            ))
        })
}

fn read_rows<R>(
    path: &Path,
    texts: &[&str],
    flag: Option<&str>,
    mut row: impl FnMut(&[&str], bool) -> R,
) -> StoreResult<Vec<R>> {
    let mut out = Vec::new();
    for rb in read_parquet(path, None)? {
        let cols: Vec<&StringArray> = texts
            .iter()
            .map(|n| column::<StringArray>(&rb, n, path))
            .collect::<StoreResult<_>>()?;
        let flags = flag
            .map(|f| column::<BooleanArray>(&rb, f, path))
            .transpose()?;
        let mut buf: Vec<&str> = Vec::with_capacity(texts.len());
        for i in 0..rb.num_rows() {
            buf.clear();
            buf.extend(cols.iter().map(|c| c.value(i)));
            out.push(row(&buf, flags.is_some_and(|f| f.value(i))));
        }
    }
    Ok(out)
}

/// The store's MedDRA release, or `None` when none was imported.
pub fn read_meddra(store: &Path) -> StoreResult<Option<MeddraTerms>> {
    let Some(info) = read_release_info(store)? else {
        return Ok(None);
    };
    let dir = meddra_dir(store)?.expect("read_release_info found it");
    let paths = read_rows(
        &dir.join("paths.parquet"),
        &["pt", "hlt", "hlgt", "soc"],
        Some("primary"),
        |v, primary| HierarchyPath {
            pt: v[0].to_owned(),
            hlt: v[1].to_owned(),
            hlgt: v[2].to_owned(),
            soc: v[3].to_owned(),
            primary,
        },
    )?;
    let llts = read_rows(
        &dir.join("llts.parquet"),
        &["llt", "pt"],
        Some("current"),
        |v, current| LltLink {
            llt: v[0].to_owned(),
            pt: v[1].to_owned(),
            current,
        },
    )?;
    let smq_terms = read_rows(
        &dir.join("smq_terms.parquet"),
        &["smq", "pt"],
        Some("narrow"),
        |v, narrow| SmqTerm {
            smq: v[0].to_owned(),
            pt: v[1].to_owned(),
            narrow,
        },
    )?;
    let pt_fixes = read_rows(
        &dir.join("pt_fixes.parquet"),
        &["reported", "standard"],
        None,
        |v, _| PtFix {
            reported: v[0].to_owned(),
            standard: v[1].to_owned(),
        },
    )?;
    Ok(Some(MeddraTerms {
        version: info.version,
        language: info.language,
        paths,
        llts,
        smq_terms,
        pt_fixes,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(version: &str) -> MeddraTerms {
        MeddraTerms {
            version: version.into(),
            language: "English".into(),
            paths: vec![
                HierarchyPath {
                    pt: "Vorpal rash".into(),
                    hlt: "Alpha rashes".into(),
                    hlgt: "Alpha inflammations".into(),
                    soc: "Alpha system disorders".into(),
                    primary: true,
                },
                HierarchyPath {
                    pt: "Vorpal rash".into(),
                    hlt: "Beta eye conditions".into(),
                    hlgt: "Beta conditions".into(),
                    soc: "Beta system disorders".into(),
                    primary: false,
                },
            ],
            llts: vec![LltLink {
                llt: "Vorpal rashes".into(),
                pt: "Vorpal rash".into(),
                current: false,
            }],
            smq_terms: vec![SmqTerm {
                smq: "Zorch reactions (SMQ)".into(),
                pt: "Vorpal rash".into(),
                narrow: true,
            }],
            pt_fixes: vec![],
        }
    }

    #[test]
    fn a_release_round_trips_and_replaces_the_previous_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path();
        // Not a store yet: refused, nothing written.
        let err = write_meddra(store, &terms("99.0"), "x", "").unwrap_err();
        assert!(err.to_string().contains("not a vigil store"), "{err}");
        assert!(read_meddra(store).unwrap().is_none());
        fs::write(store.join(crate::layout::CURRENT_FILE), "v000001\n").unwrap();
        let first = write_meddra(store, &terms("99.0"), "MedAscii", "").unwrap();
        assert_eq!(read_meddra(store).unwrap(), Some(terms("99.0")));
        let second = write_meddra(store, &terms("99.1"), "MedAscii", "").unwrap();
        assert_ne!(first, second);
        assert!(!first.exists(), "the replaced release is removed");
        let info = read_release_info(store).unwrap().unwrap();
        assert_eq!(
            (info.version.as_str(), info.paths, info.llts),
            ("99.1", 2, 1)
        );
        assert_eq!(read_meddra(store).unwrap(), Some(terms("99.1")));
        // A pointer to something else is refused, naming the file.
        fs::write(store.join(MEDDRA_FILE), "../elsewhere\n").unwrap();
        let err = read_meddra(store).unwrap_err().to_string();
        assert!(err.contains("MEDDRA: not a MedDRA directory name"), "{err}");
    }
}
