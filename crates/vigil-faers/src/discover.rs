//! Finding input files: quarterly zips, extracted folders, folders of either, at any depth.
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use crate::table::Table;
use crate::FaersError;

/// A quarter, e.g. 2025Q4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Quarter {
    /// Four-digit year.
    pub year: u16,
    /// 1–4.
    pub q: u8,
}

impl Quarter {
    /// `year * 10 + q` (2025Q4 → 20254).
    pub fn key(self) -> u32 {
        self.year as u32 * 10 + self.q as u32
    }
    /// `2025Q4`.
    pub fn label(self) -> String {
        format!("{}Q{}", self.year, self.q)
    }
}

/// Finds a quarter in a file or folder name: `..04Q1..` (two-digit year after a table prefix
/// or at the start) or `..2024q3..` (four-digit year), any letter case.
pub fn quarter_in_name(name: &str) -> Option<Quarter> {
    let b = name.to_ascii_lowercase().into_bytes();
    for i in 2..b.len().saturating_sub(1) {
        if b[i] != b'q' || !(b'1'..=b'4').contains(&b[i + 1]) {
            continue;
        }
        // The quarter digit must not be followed by another digit.
        if b.get(i + 2).is_some_and(|c| c.is_ascii_digit()) {
            continue;
        }
        let q = b[i + 1] - b'0';
        let digits_before = b[..i]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if digits_before >= 4 {
            let y: u16 = std::str::from_utf8(&b[i - 4..i]).ok()?.parse().ok()?;
            if (1990..=2100).contains(&y) {
                return Some(Quarter { year: y, q });
            }
        }
        if digits_before == 2 {
            let y: u16 = std::str::from_utf8(&b[i - 2..i]).ok()?.parse().ok()?;
            return Some(Quarter { year: 2000 + y, q });
        }
    }
    None
}

/// What an input file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A FAERS/AERS table.
    Table(Table),
    /// A deleted-case list (`ADR19Q1DeletedCases.txt`, `21Q1DeletedCases.txt`,
    /// `DELETE25Q4.txt`, `AllDeletedCases.txt`).
    Deleted,
    /// An openFDA drug-event JSON file.
    OpenFdaJson,
}

/// Where the bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A plain file.
    File(PathBuf),
    /// A member of a zip archive.
    Zip {
        /// The archive.
        archive: PathBuf,
        /// Member index.
        index: usize,
    },
}

/// One input file.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// `path` or `archive.zip!member`.
    pub display: String,
    /// Where to read it.
    pub location: Location,
    /// What it holds.
    pub kind: InputKind,
    /// Its quarter, from its own name or an enclosing folder or archive name.
    pub quarter: Option<Quarter>,
    /// Uncompressed size in bytes.
    pub bytes: u64,
    /// True when the file is `vigil synth` output (its marker file is in place:
    /// [`crate::synth::is_synth_output`]).
    pub synthetic: bool,
}

impl InputFile {
    /// Runs `f` on a buffered reader of the file's bytes (streamed, never loaded whole).
    pub fn with_reader<T>(&self, f: impl FnOnce(&mut dyn BufRead) -> T) -> Result<T, FaersError> {
        match &self.location {
            Location::File(p) => {
                let file = File::open(p).map_err(|e| FaersError::io(p, e))?;
                let mut r = BufReader::with_capacity(1 << 20, file);
                Ok(f(&mut r))
            }
            Location::Zip { archive, index } => {
                let file = File::open(archive).map_err(|e| FaersError::io(archive, e))?;
                let mut zip = zip::ZipArchive::new(BufReader::new(file))
                    .map_err(|e| FaersError::Input(format!("{}: {e}", archive.display())))?;
                let member = zip
                    .by_index(*index)
                    .map_err(|e| FaersError::Input(format!("{}: {e}", self.display)))?;
                let mut r = BufReader::with_capacity(1 << 20, member);
                Ok(f(&mut r))
            }
        }
    }
}

/// What a file called `name` (a path; the base name decides) holds: a FAERS/AERS table, a
/// deleted-case list, or (with `want_json`) an openFDA JSON file; `None` for anything else.
pub fn classify(name: &str, want_json: bool) -> Option<InputKind> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let lower = base.to_ascii_lowercase();
    if want_json {
        return lower.ends_with(".json").then_some(InputKind::OpenFdaJson);
    }
    if lower.ends_with(".txt") && lower.contains("delete") {
        return Some(InputKind::Deleted);
    }
    Table::from_file_name(base).map(InputKind::Table)
}

fn quarter_for(parts: &[&str]) -> Option<Quarter> {
    // The innermost name that carries a quarter wins.
    parts.iter().rev().find_map(|p| quarter_in_name(p))
}

fn add_zip(
    path: &Path,
    want_json: bool,
    outer: &[String],
    out: &mut Vec<InputFile>,
) -> Result<(), FaersError> {
    let file = File::open(path).map_err(|e| FaersError::io(path, e))?;
    out.extend(inputs_in_zip(BufReader::new(file), path, want_json, outer)?);
    Ok(())
}

/// The input files among the members of the zip archive read from `reader`, whose path is
/// `archive` (used for the display names, the quarter and later reads). `outer` are the names of
/// enclosing folders, innermost last. Every member name is accepted, whatever its bytes: names
/// that are not UTF-8 are decoded lossily.
pub fn inputs_in_zip<R: std::io::Read + std::io::Seek>(
    reader: R,
    archive: &Path,
    want_json: bool,
    outer: &[String],
) -> Result<Vec<InputFile>, FaersError> {
    let mut out = Vec::new();
    let mut zip = zip::ZipArchive::new(reader).map_err(|e| {
        FaersError::Input(format!("{}: not a readable zip: {e}", archive.display()))
    })?;
    for i in 0..zip.len() {
        let member = zip
            .by_index(i)
            .map_err(|e| FaersError::Input(format!("{}: {e}", archive.display())))?;
        if member.is_dir() {
            continue;
        }
        let name = match member.name() {
            Ok(n) => n.into_owned(),
            Err(_) => String::from_utf8_lossy(member.name_raw()).into_owned(),
        };
        let Some(kind) = classify(&name, want_json) else {
            continue;
        };
        let mut parts: Vec<&str> = outer.iter().map(|s| s.as_str()).collect();
        let zip_name = archive
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        parts.push(&zip_name);
        parts.extend(name.split('/'));
        let display = format!("{}!{}", archive.display(), name);
        out.push(InputFile {
            quarter: quarter_for(&parts),
            display,
            location: Location::Zip {
                archive: archive.to_owned(),
                index: i,
            },
            kind,
            bytes: member.size(),
            synthetic: false,
        });
    }
    // `vigil synth` output zipped whole: its marker is a member of the same archive.
    for f in &mut out {
        let Location::Zip { index, .. } = f.location else {
            continue;
        };
        let member = zip
            .by_index(index)
            .map(|m| m.name().map(|n| n.into_owned()));
        if let Ok(Ok(name)) = member {
            f.synthetic = crate::synth::is_synth_output(Path::new(&name), |marker| {
                let marker = marker.to_str()?.replace('\\', "/");
                let mut text = Vec::new();
                std::io::Read::read_to_end(&mut zip.by_name(&marker).ok()?, &mut text).ok()?;
                Some(std::io::Cursor::new(text))
            });
        }
    }
    Ok(out)
}

fn walk(path: &Path, want_json: bool, out: &mut Vec<InputFile>) -> Result<(), FaersError> {
    let meta = std::fs::metadata(path).map_err(|e| FaersError::io(path, e))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| FaersError::io(path, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            walk(&e, want_json, out)?;
        }
        return Ok(());
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.to_ascii_lowercase().ends_with(".zip") {
        return add_zip(path, want_json, &[], out);
    }
    if let Some(kind) = classify(&name, want_json) {
        let parts: Vec<String> = path
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let parts: Vec<&str> = parts.iter().map(|s| s.as_str()).collect();
        let display = path.display().to_string();
        out.push(InputFile {
            quarter: quarter_for(&parts),
            synthetic: crate::synth::is_synth_output(path, |marker| {
                File::open(marker).ok().map(BufReader::new)
            }),
            display,
            location: Location::File(path.to_owned()),
            kind,
            bytes: meta.len(),
        });
    }
    Ok(())
}

/// Finds FAERS/AERS table files and deleted-case lists under `paths` (files, folders at any
/// depth, zips). Table files are recognised by their prefix (DEMO, DRUG, REAC, OUTC, RPSR, THER,
/// INDI) in any letter case.
pub fn find_faers_inputs(paths: &[PathBuf]) -> Result<Vec<InputFile>, FaersError> {
    let mut out = Vec::new();
    for p in paths {
        walk(p, false, &mut out)?;
    }
    Ok(out)
}

/// Finds openFDA drug-event JSON files (`*.json`, plain or inside zips) under `paths`.
pub fn find_openfda_inputs(paths: &[PathBuf]) -> Result<Vec<InputFile>, FaersError> {
    let mut out = Vec::new();
    for p in paths {
        walk(p, true, &mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarters_from_names() {
        assert_eq!(
            quarter_in_name("DEMO04Q1.TXT").map(Quarter::label),
            Some("2004Q1".into())
        );
        assert_eq!(
            quarter_in_name("demo12q4.txt").map(Quarter::label),
            Some("2012Q4".into())
        );
        assert_eq!(
            quarter_in_name("DEMO20Q3-10000.txt").map(Quarter::label),
            Some("2020Q3".into())
        );
        assert_eq!(
            quarter_in_name("faers_ascii_2024Q3.zip").map(Quarter::label),
            Some("2024Q3".into())
        );
        assert_eq!(
            quarter_in_name("ADR19Q1DeletedCases.txt").map(Quarter::label),
            Some("2019Q1".into())
        );
        assert_eq!(
            quarter_in_name("DEMO18Q1_new.txt").map(Quarter::label),
            Some("2018Q1".into())
        );
        assert_eq!(quarter_in_name("readme.txt"), None);
        assert_eq!(Table::from_file_name("drug12q4.txt"), Some(Table::Drug));
        assert_eq!(Table::from_file_name("DEMO25Q4.pdf"), None);
        assert_eq!(Table::from_file_name("STAT25Q4.TXT"), None);
        // Deleted-case lists in every naming variant (faers-format.md §1).
        for n in [
            "deleted/ADR19Q1DeletedCases.txt",
            "Deleted/21Q1DeletedCases.txt",
            "Deleted/DELETE25Q4.txt",
            "deleted/AllDeletedCases.txt",
        ] {
            assert_eq!(classify(n, false), Some(InputKind::Deleted), "{n}");
        }
        assert_eq!(
            classify("ascii/DEMO25Q4.txt", false),
            Some(InputKind::Table(Table::Demo))
        );
        assert_eq!(
            classify("drug-event-0001-of-0005.json", true),
            Some(InputKind::OpenFdaJson)
        );
    }
}
