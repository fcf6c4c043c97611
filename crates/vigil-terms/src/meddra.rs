//! A MedDRA release in MSSO's ASCII distribution format, and the grouping of reaction terms by
//! its hierarchy and SMQs.
//!
//! # File layout
//! The field order of every file is the one of MSSO's *MedDRA Distribution File Format Document*
//! (`dist_file_format_XX_X_English.pdf`, shipped in every release; public copies of version 18.0,
//! MSSO-DI-6281-18.0.0, March 2015, and 22.1, September 2019, were consulted, and the same column
//! lists appear in OHDSI's Vocabulary-v5.0 loader, `MedDRA/create_source_tables.sql` and
//! `MedDRA/SMQ_Content.ctl`). Fields are separated by `$` and every record ends with a `$`:
//!
//! ```text
//! soc.asc          soc_code $ soc_name $ soc_abbrev $ whoart $ harts $ costart $ icd9 $ icd9cm $ icd10 $ jart $
//! hlgt.asc         hlgt_code $ hlgt_name $ whoart $ harts $ costart $ icd9 $ icd9cm $ icd10 $ jart $
//! hlt.asc          hlt_code $ hlt_name $ whoart $ harts $ costart $ icd9 $ icd9cm $ icd10 $ jart $
//! pt.asc           pt_code $ pt_name $ null_field $ pt_soc_code $ whoart $ harts $ costart $ icd9 $ icd9cm $ icd10 $ jart $
//! llt.asc          llt_code $ llt_name $ pt_code $ whoart $ harts $ costart $ icd9 $ icd9cm $ icd10 $ llt_currency $ jart $
//! soc_hlgt.asc     soc_code $ hlgt_code $
//! hlgt_hlt.asc     hlgt_code $ hlt_code $
//! hlt_pt.asc       hlt_code $ pt_code $
//! mdhier.asc       pt_code $ hlt_code $ hlgt_code $ soc_code $ pt_name $ hlt_name $ hlgt_name $ soc_name $
//!                  soc_abbrev $ null_field $ pt_soc_code $ primary_soc_fg $
//! smq_list.asc     smq_code $ smq_name $ smq_level $ smq_description $ smq_source $ smq_note $
//!                  MedDRA_version $ status $ smq_algorithm $
//! smq_content.asc  smq_code $ term_code $ term_level $ term_scope $ term_category $ term_weight $
//!                  term_status $ term_addition_version $ term_last_modified_version $
//! meddra_release.asc  version $ language $ …   (optional here; `--version` replaces it)
//! ```
//!
//! Codes used here: `llt_currency` `Y`/`N`; `primary_soc_fg` `Y`/`N`; SMQ `status` and
//! `term_status` `A` (active) / `I` (inactive); `term_level` 0 = a child SMQ (its code is the
//! `term_code`), 4 = PT, 5 = LLT; `term_scope` 2 = narrow, 1 = broad, 0 = not applicable
//! (child-SMQ rows). A narrow search is the narrow terms; a broad search is the narrow and the broad
//! terms together (MSSO, *Introductory Guide for Standardised MedDRA Queries*, "narrow and broad
//! searches"; the same codes are used by the CRAN package vigicaen, `get_llt_smq`: narrow = "2",
//! broad = "1" or "2"). Algorithmic SMQs are read as their plain narrow/broad term lists (their
//! category algorithm is not applied: docs/terminologies.md).
//!
//! # What is kept
//! [`MeddraTerms`]: every PT → HLT → HLGT → SOC path of `mdhier.asc` with its primary-SOC flag
//! (each checked against the three relation files and the term files), every LLT → PT link, and
//! for each active SMQ the PTs of its narrow and broad searches, child SMQs expanded. An SMQ row
//! naming an LLT is not used: FAERS codes reactions as PTs, and the LLT's PT is what a report
//! carries (an SMQ lists an LLT only together with its PT).
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use crate::TermsError;

/// The files a release must have (`meddra_release.asc` is optional).
pub const RELEASE_FILES: [&str; 11] = [
    "llt.asc",
    "pt.asc",
    "hlt.asc",
    "hlt_pt.asc",
    "hlgt.asc",
    "hlgt_hlt.asc",
    "soc.asc",
    "soc_hlgt.asc",
    "mdhier.asc",
    "smq_list.asc",
    "smq_content.asc",
];

/// The level reactions are grouped at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventLevel {
    /// Preferred term (the reported term, mapped to a PT of the release).
    Pt,
    /// High level term.
    Hlt,
    /// High level group term.
    Hlgt,
    /// System organ class.
    Soc,
    /// Standardised MedDRA query.
    Smq,
}

impl std::str::FromStr for EventLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "pt" => Ok(EventLevel::Pt),
            "hlt" => Ok(EventLevel::Hlt),
            "hlgt" => Ok(EventLevel::Hlgt),
            "soc" => Ok(EventLevel::Soc),
            "smq" => Ok(EventLevel::Smq),
            other => Err(format!("{other:?}: expected pt, hlt, hlgt, soc or smq")),
        }
    }
}

/// One PT → HLT → HLGT → SOC path (names as the release writes them).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HierarchyPath {
    /// Preferred term.
    pub pt: String,
    /// High level term.
    pub hlt: String,
    /// High level group term.
    pub hlgt: String,
    /// System organ class.
    pub soc: String,
    /// True on the PT's primary SOC path.
    pub primary: bool,
}

/// One lowest level term and its PT.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct LltLink {
    /// Lowest level term.
    pub llt: String,
    /// Its preferred term.
    pub pt: String,
    /// `llt_currency = Y`.
    pub current: bool,
}

/// One PT of an SMQ search.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SmqTerm {
    /// SMQ name (e.g. "Anaphylactic reaction (SMQ)").
    pub smq: String,
    /// A preferred term of the SMQ.
    pub pt: String,
    /// True for a narrow-scope term (it then belongs to the broad search too).
    pub narrow: bool,
}

/// A reported term → the standard PT spelling (DiAna's `pt_fixed` table, or the user's own).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PtFix {
    /// The term as reported.
    pub reported: String,
    /// The PT it stands for.
    pub standard: String,
}

/// What vigil keeps of a MedDRA release: enough to group reaction terms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeddraTerms {
    /// Release version, e.g. "27.0".
    pub version: String,
    /// Release language, e.g. "English" (empty when unknown).
    pub language: String,
    /// Every PT → SOC path.
    pub paths: Vec<HierarchyPath>,
    /// Every LLT → PT link.
    pub llts: Vec<LltLink>,
    /// Every PT of every active SMQ, child SMQs expanded.
    pub smq_terms: Vec<SmqTerm>,
    /// Spelling fixes for reported terms that are not PTs (optional).
    pub pt_fixes: Vec<PtFix>,
}

/// Fields of one `$`-separated record, the trailing empty field after the final `$` removed.
fn fields(line: &str) -> Vec<&str> {
    let line = line.trim_end_matches(['\r', '\n']);
    let line = line.strip_suffix('$').unwrap_or(line);
    line.split('$').collect()
}

/// A parsed `.asc` file: (line number, fields) of each non-blank line.
struct AscFile {
    path: String,
    rows: Vec<(usize, Vec<String>)>,
}

impl AscFile {
    fn read(dir: &Path, name: &str, min_fields: usize) -> Result<Self, TermsError> {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|source| TermsError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        let shown = path.display().to_string();
        let mut rows = Vec::new();
        for (i, line) in text.trim_start_matches('\u{feff}').lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let f = fields(line);
            if f.len() < min_fields {
                return Err(TermsError::field(
                    &shown,
                    i + 1,
                    "record",
                    format!(
                        "{} fields, expected at least {min_fields} ($-separated, MedDRA distribution file format)",
                        f.len()
                    ),
                ));
            }
            rows.push((i + 1, f.into_iter().map(|s| s.trim().to_owned()).collect()));
        }
        Ok(Self { path: shown, rows })
    }

    fn code(&self, line: usize, row: &[String], i: usize, field: &str) -> Result<u64, TermsError> {
        row[i].parse::<u64>().map_err(|_| {
            TermsError::field(
                &self.path,
                line,
                field,
                format!("{:?} is not a MedDRA code", row[i]),
            )
        })
    }

    fn name(
        &self,
        line: usize,
        row: &[String],
        i: usize,
        field: &str,
    ) -> Result<String, TermsError> {
        if row[i].is_empty() {
            return Err(TermsError::field(&self.path, line, field, "empty name"));
        }
        Ok(row[i].clone())
    }

    /// A status field: `A` (active) or `I` (inactive).
    fn active(
        &self,
        line: usize,
        row: &[String],
        i: usize,
        field: &str,
    ) -> Result<bool, TermsError> {
        match row[i].as_str() {
            "A" => Ok(true),
            "I" => Ok(false),
            other => Err(TermsError::field(
                &self.path,
                line,
                field,
                format!("{other:?}: expected A or I"),
            )),
        }
    }
}

/// Reads a code → name term file (`soc.asc`, `hlgt.asc`, `hlt.asc`, `pt.asc`).
fn term_names(
    dir: &Path,
    file: &str,
    min_fields: usize,
    code_field: &str,
    name_field: &str,
) -> Result<HashMap<u64, String>, TermsError> {
    let f = AscFile::read(dir, file, min_fields)?;
    let mut out = HashMap::new();
    for (line, row) in &f.rows {
        let code = f.code(*line, row, 0, code_field)?;
        let name = f.name(*line, row, 1, name_field)?;
        if out.insert(code, name).is_some() {
            return Err(TermsError::field(
                &f.path,
                *line,
                code_field,
                format!("code {code} appears twice"),
            ));
        }
    }
    Ok(out)
}

/// Reads a two-code relation file (`soc_hlgt.asc`, `hlgt_hlt.asc`, `hlt_pt.asc`).
fn relation(dir: &Path, file: &str, fields: [&str; 2]) -> Result<BTreeSet<(u64, u64)>, TermsError> {
    let f = AscFile::read(dir, file, 2)?;
    let mut out = BTreeSet::new();
    for (line, row) in &f.rows {
        out.insert((
            f.code(*line, row, 0, fields[0])?,
            f.code(*line, row, 1, fields[1])?,
        ));
    }
    Ok(out)
}

fn yes_no(f: &AscFile, line: usize, value: &str, field: &str) -> Result<bool, TermsError> {
    match value {
        "Y" | "y" => Ok(true),
        "N" | "n" | "" => Ok(false),
        other => Err(TermsError::field(
            &f.path,
            line,
            field,
            format!("{other:?}: expected Y or N"),
        )),
    }
}

impl MeddraTerms {
    /// Reads the release in `dir` (the `MedAscii` folder of an MSSO distribution). `version`
    /// overrides (or, without `meddra_release.asc`, supplies) the release version.
    ///
    /// # Errors
    /// A missing file, a record with too few fields, a code that is not a number, a Y/N flag
    /// that is neither, an `mdhier.asc` path that the relation files or the term files do not
    /// have, a PT without exactly one primary SOC path, an LLT naming an unknown PT, an SMQ row
    /// naming an unknown SMQ or PT, and a cycle of child SMQs. Each names the file, line and field.
    pub fn read_release(dir: &Path, version: Option<&str>) -> Result<Self, TermsError> {
        for f in RELEASE_FILES {
            if !dir.join(f).is_file() {
                return Err(TermsError::Invalid(format!(
                    "{}: {f} not found: a MedDRA ASCII release (the MedAscii folder) has {}",
                    dir.display(),
                    RELEASE_FILES.join(", ")
                )));
            }
        }
        let (file_version, language) = if dir.join("meddra_release.asc").is_file() {
            let f = AscFile::read(dir, "meddra_release.asc", 1)?;
            let row = f.rows.first().map(|(_, r)| r.clone()).unwrap_or_default();
            (
                row.first().cloned().unwrap_or_default(),
                row.get(1).cloned().unwrap_or_default(),
            )
        } else {
            (String::new(), String::new())
        };
        let version = match version {
            Some(v) => v.to_owned(),
            None if !file_version.is_empty() => file_version,
            None => {
                return Err(TermsError::Invalid(format!(
                    "{}: no meddra_release.asc: give the release version (--version, e.g. 27.0)",
                    dir.display()
                )))
            }
        };
        let socs = term_names(dir, "soc.asc", 2, "soc_code", "soc_name")?;
        let hlgts = term_names(dir, "hlgt.asc", 2, "hlgt_code", "hlgt_name")?;
        let hlts = term_names(dir, "hlt.asc", 2, "hlt_code", "hlt_name")?;
        let pts = term_names(dir, "pt.asc", 4, "pt_code", "pt_name")?;
        let soc_hlgt = relation(dir, "soc_hlgt.asc", ["soc_code", "hlgt_code"])?;
        let hlgt_hlt = relation(dir, "hlgt_hlt.asc", ["hlgt_code", "hlt_code"])?;
        let hlt_pt = relation(dir, "hlt_pt.asc", ["hlt_code", "pt_code"])?;

        let hier = AscFile::read(dir, "mdhier.asc", 12)?;
        let mut paths = Vec::with_capacity(hier.rows.len());
        let mut primaries: HashMap<u64, usize> = HashMap::new();
        for (line, row) in &hier.rows {
            let line = *line;
            let pt = hier.code(line, row, 0, "pt_code")?;
            let hlt = hier.code(line, row, 1, "hlt_code")?;
            let hlgt = hier.code(line, row, 2, "hlgt_code")?;
            let soc = hier.code(line, row, 3, "soc_code")?;
            let primary = yes_no(&hier, line, &row[11], "primary_soc_fg")?;
            for (ok, field, what) in [
                (hlt_pt.contains(&(hlt, pt)), "hlt_code", "hlt_pt.asc"),
                (hlgt_hlt.contains(&(hlgt, hlt)), "hlgt_code", "hlgt_hlt.asc"),
                (soc_hlgt.contains(&(soc, hlgt)), "soc_code", "soc_hlgt.asc"),
            ] {
                if !ok {
                    return Err(TermsError::field(
                        &hier.path,
                        line,
                        field,
                        format!("path {pt} → {hlt} → {hlgt} → {soc} is not in {what}"),
                    ));
                }
            }
            let name_of = |map: &HashMap<u64, String>, code: u64, field: &str, file: &str| {
                map.get(&code).cloned().ok_or_else(|| {
                    TermsError::field(&hier.path, line, field, format!("{code} is not in {file}"))
                })
            };
            let path = HierarchyPath {
                pt: name_of(&pts, pt, "pt_code", "pt.asc")?,
                hlt: name_of(&hlts, hlt, "hlt_code", "hlt.asc")?,
                hlgt: name_of(&hlgts, hlgt, "hlgt_code", "hlgt.asc")?,
                soc: name_of(&socs, soc, "soc_code", "soc.asc")?,
                primary,
            };
            if primary {
                *primaries.entry(pt).or_default() += 1;
            } else {
                primaries.entry(pt).or_default();
            }
            paths.push(path);
        }
        let mut codes: Vec<_> = primaries.iter().filter(|(_, &n)| n != 1).collect();
        codes.sort();
        if let Some((pt, n)) = codes.first() {
            return Err(TermsError::Invalid(format!(
                "{}: PT {pt} has {n} primary SOC paths (primary_soc_fg = Y), expected exactly 1",
                hier.path
            )));
        }

        let llt_file = AscFile::read(dir, "llt.asc", 10)?;
        let mut llts = Vec::with_capacity(llt_file.rows.len());
        for (line, row) in &llt_file.rows {
            let pt = llt_file.code(*line, row, 2, "pt_code")?;
            let Some(pt_name) = pts.get(&pt) else {
                return Err(TermsError::field(
                    &llt_file.path,
                    *line,
                    "pt_code",
                    format!("{pt} is not in pt.asc"),
                ));
            };
            llts.push(LltLink {
                llt: llt_file.name(*line, row, 1, "llt_name")?,
                pt: pt_name.clone(),
                current: yes_no(&llt_file, *line, &row[9], "llt_currency")?,
            });
        }

        let smq_terms = read_smqs(dir, &pts)?;
        paths.sort();
        llts.sort();
        Ok(Self {
            version,
            language,
            paths,
            llts,
            smq_terms,
            pt_fixes: Vec::new(),
        })
    }

    /// Adds reported-term fixes from a `;`-separated table in DiAna's `pt_fixed.csv` layout (a
    /// row-index column, then `pt`, then `standard_pt`). Returns the number added.
    pub fn add_pt_fixes_csv(&mut self, path: &Path) -> Result<usize, TermsError> {
        let shown = path.display().to_string();
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(b';')
            .flexible(true)
            .from_path(path)
            .map_err(|e| TermsError::Invalid(format!("{shown}: {e}")))?;
        let headers = rdr
            .headers()
            .map_err(|e| TermsError::Invalid(format!("{shown}: {e}")))?
            .clone();
        let col = |name: &str| headers.iter().position(|h| h.trim() == name);
        let (Some(pt), Some(std)) = (col("pt"), col("standard_pt")) else {
            return Err(TermsError::field(
                &shown,
                1,
                "header",
                "expected columns pt and standard_pt (DiAna pt_fixed.csv)",
            ));
        };
        let mut added = 0;
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| TermsError::field(&shown, i + 2, "record", e.to_string()))?;
            let (Some(r), Some(s)) = (rec.get(pt), rec.get(std)) else {
                return Err(TermsError::field(
                    &shown,
                    i + 2,
                    "standard_pt",
                    "missing field",
                ));
            };
            if r.trim().is_empty() || s.trim().is_empty() {
                continue;
            }
            self.pt_fixes.push(PtFix {
                reported: r.trim().to_owned(),
                standard: s.trim().to_owned(),
            });
            added += 1;
        }
        self.pt_fixes.sort();
        self.pt_fixes.dedup();
        Ok(added)
    }
}

/// The PT lists of every active SMQ (narrow flag per PT), child SMQs expanded.
fn read_smqs(dir: &Path, pts: &HashMap<u64, String>) -> Result<Vec<SmqTerm>, TermsError> {
    let smqs = read_smq_list(dir)?;
    let content = read_smq_content(dir, &smqs, pts)?;
    let mut out = BTreeSet::new();
    let mut codes: Vec<_> = smqs.keys().copied().collect();
    codes.sort_unstable();
    for code in codes {
        let (name, active) = &smqs[&code];
        if !*active {
            continue;
        }
        for (pt, narrow) in content.expand(code, smqs.len())? {
            out.insert(SmqTerm {
                smq: name.clone(),
                pt: pts[&pt].clone(),
                narrow,
            });
        }
    }
    Ok(out.into_iter().collect())
}

/// `smq_list.asc`: SMQ code → (name, active).
fn read_smq_list(dir: &Path) -> Result<HashMap<u64, (String, bool)>, TermsError> {
    let list = AscFile::read(dir, "smq_list.asc", 9)?;
    let mut smqs: HashMap<u64, (String, bool)> = HashMap::new();
    for (line, row) in &list.rows {
        let code = list.code(*line, row, 0, "smq_code")?;
        let name = list.name(*line, row, 1, "smq_name")?;
        let active = list.active(*line, row, 7, "status")?;
        smqs.insert(code, (name, active));
    }
    Ok(smqs)
}

/// The active rows of `smq_content.asc`, by SMQ.
struct SmqContent {
    path: String,
    /// SMQ → its own PT rows (PT code, narrow).
    own: HashMap<u64, Vec<(u64, bool)>>,
    /// SMQ → its child SMQs.
    children: HashMap<u64, Vec<u64>>,
}

/// `smq_content.asc`, checked against the SMQ list and the PTs: every SMQ and child SMQ listed,
/// every PT in `pt.asc`, a PT row's scope broad or narrow; LLT rows are skipped (see the module
/// docs).
fn read_smq_content(
    dir: &Path,
    smqs: &HashMap<u64, (String, bool)>,
    pts: &HashMap<u64, String>,
) -> Result<SmqContent, TermsError> {
    let content = AscFile::read(dir, "smq_content.asc", 7)?;
    let mut own: HashMap<u64, Vec<(u64, bool)>> = HashMap::new();
    let mut children: HashMap<u64, Vec<u64>> = HashMap::new();
    let error = |line: usize, field: &str, message: String| {
        Err(TermsError::field(&content.path, line, field, message))
    };
    for (line, row) in &content.rows {
        let line = *line;
        let smq = content.code(line, row, 0, "smq_code")?;
        if !smqs.contains_key(&smq) {
            return error(line, "smq_code", format!("{smq} is not in smq_list.asc"));
        }
        let term = content.code(line, row, 1, "term_code")?;
        let level = content.code(line, row, 2, "term_level")?;
        let scope = content.code(line, row, 3, "term_scope")?;
        if !content.active(line, row, 6, "term_status")? {
            continue;
        }
        match level {
            0 => {
                if !smqs.contains_key(&term) {
                    let message = format!("child SMQ {term} is not in smq_list.asc");
                    return error(line, "term_code", message);
                }
                children.entry(smq).or_default().push(term);
            }
            4 => {
                if !pts.contains_key(&term) {
                    return error(line, "term_code", format!("PT {term} is not in pt.asc"));
                }
                let narrow = match scope {
                    2 => true,
                    1 => false,
                    other => {
                        let message = format!("{other}: a PT row is 1 (broad) or 2 (narrow)");
                        return error(line, "term_scope", message);
                    }
                };
                own.entry(smq).or_default().push((term, narrow));
            }
            5 => {} // LLT rows: see the module docs
            other => {
                let message = format!("{other}: expected 0 (SMQ), 4 (PT) or 5 (LLT)");
                return error(line, "term_level", message);
            }
        }
    }
    Ok(SmqContent {
        path: content.path,
        own,
        children,
    })
}

impl SmqContent {
    /// The PTs of SMQ `code` and of its child SMQs, depth-first; a PT narrow anywhere is narrow.
    /// A chain deeper than the `smq_count` SMQs there are is a cycle, an error.
    fn expand(&self, code: u64, smq_count: usize) -> Result<BTreeMap<u64, bool>, TermsError> {
        let mut terms: BTreeMap<u64, bool> = BTreeMap::new();
        let mut stack = vec![(code, 0usize)];
        while let Some((s, depth)) = stack.pop() {
            if depth > smq_count {
                return Err(TermsError::Invalid(format!(
                    "{}: the child SMQs of SMQ {code} form a cycle",
                    self.path
                )));
            }
            for &(pt, narrow) in self.own.get(&s).map(Vec::as_slice).unwrap_or(&[]) {
                *terms.entry(pt).or_insert(false) |= narrow;
            }
            for &c in self.children.get(&s).map(Vec::as_slice).unwrap_or(&[]) {
                stack.push((c, depth + 1));
            }
        }
        Ok(terms)
    }
}

/// How a reported reaction term was matched to the release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Match {
    /// It is a PT of the release.
    Pt,
    /// It is an LLT (current or not) of the release, mapped to its PT.
    Llt,
    /// It is in the spelling-fix table; the fixed term is a PT or LLT.
    Fixed,
    /// No PT found: kept verbatim as its own group.
    Unmapped,
}

impl Match {
    /// Name used in listings.
    pub fn key(self) -> &'static str {
        match self {
            Match::Pt => "pt",
            Match::Llt => "llt_to_pt",
            Match::Fixed => "pt_fixed",
            Match::Unmapped => "unmapped",
        }
    }
}

/// Options of the grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupOptions {
    /// The level.
    pub level: EventLevel,
    /// SMQ level only: narrow-scope terms only (`false`: narrow and broad).
    pub smq_narrow: bool,
    /// HLT/HLGT/SOC levels: only the PT's primary SOC path (`false`: every path).
    pub primary_soc: bool,
}

/// Maps reported reaction terms to their groups at one level. Names compare as the store keeps
/// them: trimmed, upper case.
#[derive(Debug, Clone)]
pub struct EventGrouper {
    /// PT (upper case) → groups at the chosen level, upper case, sorted, distinct.
    groups_of_pt: HashMap<String, Vec<String>>,
    /// Upper-case PT names of the release.
    pts: HashMap<String, ()>,
    /// LLT (upper case) → PT (upper case).
    llt_pt: HashMap<String, String>,
    /// Reported (upper case) → standard (upper case).
    fixes: HashMap<String, String>,
}

fn up(s: &str) -> String {
    s.trim().to_uppercase()
}

impl EventGrouper {
    /// The grouper of `terms` with `options`.
    pub fn new(terms: &MeddraTerms, options: GroupOptions) -> Self {
        let mut groups: HashMap<String, BTreeSet<String>> = HashMap::new();
        let mut pts = HashMap::new();
        for p in &terms.paths {
            pts.insert(up(&p.pt), ());
            let g = match options.level {
                EventLevel::Pt => Some(&p.pt),
                EventLevel::Hlt => Some(&p.hlt),
                EventLevel::Hlgt => Some(&p.hlgt),
                EventLevel::Soc => Some(&p.soc),
                EventLevel::Smq => None,
            };
            let entry = groups.entry(up(&p.pt)).or_default();
            if let Some(g) = g {
                if p.primary || !options.primary_soc || options.level == EventLevel::Pt {
                    entry.insert(up(g));
                }
            }
        }
        if options.level == EventLevel::Smq {
            for t in &terms.smq_terms {
                if t.narrow || !options.smq_narrow {
                    groups.entry(up(&t.pt)).or_default().insert(up(&t.smq));
                }
            }
        }
        Self {
            groups_of_pt: groups
                .into_iter()
                .map(|(k, v)| (k, v.into_iter().collect()))
                .collect(),
            pts,
            llt_pt: terms.llts.iter().map(|l| (up(&l.llt), up(&l.pt))).collect(),
            fixes: terms
                .pt_fixes
                .iter()
                .map(|f| (up(&f.reported), up(&f.standard)))
                .collect(),
        }
    }

    /// The PT of a reported term, and how it was found: the term itself when it is a PT, else
    /// through the LLTs, else through the spelling fixes (then as PT or LLT).
    pub fn pt_of(&self, reported: &str) -> (Option<String>, Match) {
        let r = up(reported);
        let direct = |t: &str| -> Option<(String, bool)> {
            if self.pts.contains_key(t) {
                Some((t.to_owned(), false))
            } else {
                self.llt_pt.get(t).map(|p| (p.clone(), true))
            }
        };
        if let Some((pt, via_llt)) = direct(&r) {
            return (Some(pt), if via_llt { Match::Llt } else { Match::Pt });
        }
        if let Some((pt, _)) = self.fixes.get(&r).and_then(|f| direct(f)) {
            return (Some(pt), Match::Fixed);
        }
        (None, Match::Unmapped)
    }

    /// The groups of a reported term and how it was matched. A PT in no group at this level
    /// (in no SMQ of the scope) is its own group, as its PT (an LLT or a misspelling becomes its
    /// PT); an unmapped term is its own group, verbatim (upper case). So no report loses its
    /// events and the table's total stays that of the PT level.
    pub fn groups_of(&self, reported: &str) -> (Vec<String>, Match) {
        match self.pt_of(reported) {
            (Some(pt), how) => match self.groups_of_pt.get(&pt) {
                Some(g) if !g.is_empty() => (g.clone(), how),
                _ => (vec![pt], how),
            },
            (None, how) => (vec![up(reported)], how),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_end_with_a_dollar() {
        assert_eq!(
            fields("10000001$Alpha$10000002$$\r\n"),
            ["10000001", "Alpha", "10000002", ""]
        );
        assert_eq!(fields("1$2$"), ["1", "2"]);
    }

    #[test]
    fn levels_parse() {
        assert_eq!("HLGT".parse::<EventLevel>(), Ok(EventLevel::Hlgt));
        assert!("llt".parse::<EventLevel>().is_err());
    }
}
