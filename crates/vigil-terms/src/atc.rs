//! WHO ATC classes of substances, from a table in DiAna's `ATC_binder` layout.
//!
//! # Levels
//! The WHO Collaborating Centre for Drug Statistics Methodology's ATC structure (*Guidelines for
//! ATC classification and DDD assignment*, "ATC code structure"): level 1 anatomical main group
//! (`D`), level 2 therapeutic subgroup (`D11`), level 3 pharmacological subgroup (`D11A`), level 4
//! chemical subgroup (`D11AH`), level 5 chemical substance (`D11AH05`, dupilumab).
//!
//! # File
//! DiAna's `ATC_binder_2023.csv` (Fusaroli et al., github.com/fusarolimichele/DiAna, MIT
//! licence; `External Sources/Dictionaries/DiAna_dictionary/`): `;`-separated, a header row, a
//! leading R row-index column, then `Substance;code;primary_code;Lvl4;Lvl3;Lvl2;Lvl1;Class1;Class2;
//! Class3;Class4` — one row per (substance, ATC code); `primary_code` is the one code DiAna picks
//! for a substance with several (betamethasone: H02AB01 among eleven); `Lvl4`…`Lvl1` are the code
//! cut to levels 4…1 and `Class1`…`Class4` the names of levels 1…4. Any file with these column
//! names is read (columns are found by name, so the row-index column may be absent).
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use crate::TermsError;

/// The ATC level drugs are grouped at (`Substance`: no grouping).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DrugLevel {
    /// The substance itself (as today).
    Substance,
    /// Level 5, chemical substance code (`D11AH05`).
    Atc5,
    /// Level 4, chemical subgroup (`D11AH`).
    Atc4,
    /// Level 3, pharmacological subgroup (`D11A`).
    Atc3,
    /// Level 2, therapeutic subgroup (`D11`).
    Atc2,
    /// Level 1, anatomical main group (`D`).
    Atc1,
}

impl std::str::FromStr for DrugLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "substance" => Ok(DrugLevel::Substance),
            "atc5" => Ok(DrugLevel::Atc5),
            "atc4" => Ok(DrugLevel::Atc4),
            "atc3" => Ok(DrugLevel::Atc3),
            "atc2" => Ok(DrugLevel::Atc2),
            "atc1" => Ok(DrugLevel::Atc1),
            other => Err(format!(
                "{other:?}: expected substance, atc5, atc4, atc3, atc2 or atc1"
            )),
        }
    }
}

/// Length of a code at each level (WHO structure: 1, 3, 4, 5, 7 characters).
fn code_len(level: DrugLevel) -> Option<usize> {
    match level {
        DrugLevel::Substance => None,
        DrugLevel::Atc1 => Some(1),
        DrugLevel::Atc2 => Some(3),
        DrugLevel::Atc3 => Some(4),
        DrugLevel::Atc4 => Some(5),
        DrugLevel::Atc5 => Some(7),
    }
}

/// Substance → ATC codes, and the names of the classes.
#[derive(Debug, Clone, Default)]
pub struct AtcIndex {
    /// Upper-case substance → (its codes, its primary code).
    codes: HashMap<String, (BTreeSet<String>, String)>,
    /// Class code (levels 1–4) → name.
    names: HashMap<String, String>,
}

impl AtcIndex {
    /// Reads a table in DiAna's `ATC_binder` layout (see the module docs).
    ///
    /// # Errors
    /// An unreadable file, a missing column, a code that is not a 7-character ATC code
    /// (letter, 2 digits, 2 letters, 2 digits), each with the file, line and field.
    pub fn read_csv(path: &Path) -> Result<Self, TermsError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| TermsError::Io {
            path: shown.clone(),
            source,
        })?;
        Self::from_text(&String::from_utf8_lossy(&bytes), &shown)
    }

    /// As [`AtcIndex::read_csv`], from text; `origin` names it in errors.
    pub fn from_text(text: &str, origin: &str) -> Result<Self, TermsError> {
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(b';')
            .flexible(true)
            .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let headers = rdr
            .headers()
            .map_err(|e| TermsError::field(origin, 1, "header", e.to_string()))?
            .clone();
        let col = |name: &str| -> Result<usize, TermsError> {
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    TermsError::field(
                        origin,
                        1,
                        name,
                        "column missing (expected DiAna's ATC_binder layout: Substance;code;primary_code;…;Class1…Class4)",
                    )
                })
        };
        let (c_sub, c_code, c_primary) = (col("Substance")?, col("code")?, col("primary_code")?);
        let class_cols = [
            col("Class1")?,
            col("Class2")?,
            col("Class3")?,
            col("Class4")?,
        ];
        let mut index = AtcIndex::default();
        for (i, rec) in rdr.records().enumerate() {
            let line = i + 2;
            let rec = rec.map_err(|e| TermsError::field(origin, line, "record", e.to_string()))?;
            let get = |c: usize| rec.get(c).unwrap_or("").trim();
            let substance = get(c_sub);
            if substance.is_empty() {
                return Err(TermsError::field(origin, line, "Substance", "empty"));
            }
            let code = get(c_code).to_ascii_uppercase();
            let primary = get(c_primary).to_ascii_uppercase();
            for (value, field) in [(&code, "code"), (&primary, "primary_code")] {
                if !is_atc5(value) {
                    return Err(TermsError::field(
                        origin,
                        line,
                        field,
                        format!("{value:?} is not a 7-character ATC code such as D11AH05"),
                    ));
                }
            }
            for (level, &c) in class_cols.iter().enumerate() {
                let name = get(c);
                let len = [1, 3, 4, 5][level];
                if !name.is_empty() {
                    index
                        .names
                        .entry(code[..len].to_owned())
                        .or_insert_with(|| name.to_owned());
                }
            }
            let entry = index
                .codes
                .entry(substance.to_uppercase())
                .or_insert_with(|| (BTreeSet::new(), primary.clone()));
            entry.0.insert(code);
        }
        if index.codes.is_empty() {
            return Err(TermsError::Invalid(format!("{origin}: no substance rows")));
        }
        Ok(index)
    }

    /// Number of substances.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// True when no substance is known.
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// True when `substance` (any case) has an ATC code.
    pub fn contains(&self, substance: &str) -> bool {
        self.codes.contains_key(&substance.trim().to_uppercase())
    }

    /// The classes of `substance` at `level`: from its primary code only, or from all its codes
    /// (`all_codes`), distinct and sorted. Empty when the substance is unknown; the substance
    /// itself at `DrugLevel::Substance`.
    pub fn classes_of(&self, substance: &str, level: DrugLevel, all_codes: bool) -> Vec<String> {
        let key = substance.trim().to_uppercase();
        let Some(len) = code_len(level) else {
            return vec![key];
        };
        let Some((codes, primary)) = self.codes.get(&key) else {
            return Vec::new();
        };
        let mut out: BTreeSet<String> = BTreeSet::new();
        if all_codes {
            out.extend(codes.iter().map(|c| c[..len].to_owned()));
        } else {
            out.insert(primary[..len].to_owned());
        }
        out.into_iter().collect()
    }

    /// The name of a class code of levels 1–4 (`D11AH` → "Agents for dermatitis, excluding
    /// corticosteroids"), if the table gives one.
    pub fn class_name(&self, code: &str) -> Option<&str> {
        self.names.get(code).map(String::as_str)
    }
}

/// `D11AH05`: letter, two digits, two letters, two digits.
fn is_atc5(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 7
        && b[0].is_ascii_uppercase()
        && b[1..3].iter().all(u8::is_ascii_digit)
        && b[3..5].iter().all(u8::is_ascii_uppercase)
        && b[5..7].iter().all(u8::is_ascii_digit)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Rows in the layout of DiAna's file; codes and names from the WHO ATC index (dupilumab
    // D11AH05, tralokinumab D11AH07, acetylsalicylic acid N02BA01 primary, also B01AC06).
    const SAMPLE: &str = ";Substance;code;primary_code;Lvl4;Lvl3;Lvl2;Lvl1;Class1;Class2;Class3;Class4
94;dupilumab;D11AH05;D11AH05;D11AH;D11A;D11;D;Dermatologicals;Other dermatological;Other dermatological;Agents for dermatitis, excluding corticosteroids
2190;tralokinumab;D11AH07;D11AH07;D11AH;D11A;D11;D;Dermatologicals;Other dermatological;Other dermatological;Agents for dermatitis, excluding corticosteroids
3;acetylsalicylic acid;B01AC06;N02BA01;B01AC;B01A;B01;B;Blood;Antithrombotic;Antithrombotic;Platelet aggregation inhibitors excl. heparin
4;acetylsalicylic acid;N02BA01;N02BA01;N02BA;N02B;N02;N;Nervous;Analgesics;Other analgesics;Salicylic acid and derivatives
";

    #[test]
    fn levels_and_primary_codes() {
        let idx = AtcIndex::from_text(SAMPLE, "sample").unwrap();
        assert_eq!(
            idx.classes_of("DUPILUMAB", DrugLevel::Atc4, false),
            ["D11AH"]
        );
        assert_eq!(
            idx.classes_of("Tralokinumab", DrugLevel::Atc2, false),
            ["D11"]
        );
        assert_eq!(
            idx.classes_of("ACETYLSALICYLIC ACID", DrugLevel::Atc1, false),
            ["N"]
        );
        assert_eq!(
            idx.classes_of("ACETYLSALICYLIC ACID", DrugLevel::Atc1, true),
            ["B", "N"]
        );
        assert_eq!(
            idx.classes_of("ACETYLSALICYLIC ACID", DrugLevel::Atc5, true),
            ["B01AC06", "N02BA01"]
        );
        assert!(idx
            .classes_of("UNKNOWNMAB", DrugLevel::Atc4, true)
            .is_empty());
        assert_eq!(
            idx.class_name("D11AH"),
            Some("Agents for dermatitis, excluding corticosteroids")
        );
    }

    #[test]
    fn a_bad_code_names_line_and_field() {
        let bad = SAMPLE.replace("D11AH07;D11AH07", "D11AH7;D11AH07");
        let err = AtcIndex::from_text(&bad, "atc.csv")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("atc.csv: line 3, field code:"), "{err}");
    }
}
