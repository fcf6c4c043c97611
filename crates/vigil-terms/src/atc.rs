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
//!
//! A code may stop at a coarser level: DiAna's 2023 file classes 164 of its 6,884 rows only to
//! level 4, 3, 2 or 1 (`V10XX` for "lutetium (lu 177)", `V09` for "technetium tc 99m"), with the
//! class names it lacks written `NA` (R's missing value). Such a substance has classes down to its
//! code's level and none below it; `NA` is no name.
//!
//! Rows that give no human ATC code are counted, not used: `code` written `NA` (3,073 rows of the
//! 2023 file: substances DiAna could not classify, e.g. zotarolimus) and ATCvet codes (the WHO
//! veterinary ATC, a `Q` before a human-style code: `QA12AA08` for calcium glycerophosphate, one
//! row). Their substances have no class, as a substance absent from the table.
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
    /// Rows whose code is `NA`.
    rows_without_code: usize,
    /// Rows with an ATCvet code.
    veterinary_rows: usize,
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
            // Not flexible: a row with a field too many or too few (e.g. an unquoted ';' in a
            // class name) would shift or drop names; it is refused with its line instead.
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
            if code == "NA" {
                index.rows_without_code += 1;
                continue;
            }
            if code.strip_prefix('Q').is_some_and(is_atc_code) {
                index.veterinary_rows += 1;
                continue;
            }
            for (value, field) in [(&code, "code"), (&primary, "primary_code")] {
                if !is_atc_code(value) {
                    return Err(TermsError::field(
                        origin,
                        line,
                        field,
                        format!("{value:?} is not an ATC code of level 1 to 5 (D, D11, D11A, D11AH or D11AH05)"),
                    ));
                }
            }
            for (level, &c) in class_cols.iter().enumerate() {
                let name = get(c);
                let len = [1, 3, 4, 5][level];
                if len <= code.len() && !name.is_empty() && name != "NA" {
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

    /// Rows of the table that gave no human ATC code and were not used: (`code` written `NA`,
    /// ATCvet code). See the module docs.
    pub fn rows_not_used(&self) -> (usize, usize) {
        (self.rows_without_code, self.veterinary_rows)
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
        // A code that stops above `level` has no class there (see the module docs).
        let cut = |c: &String| c.get(..len).map(str::to_owned);
        let out: BTreeSet<String> = if all_codes {
            codes.iter().filter_map(cut).collect()
        } else {
            cut(primary).into_iter().collect()
        };
        out.into_iter().collect()
    }

    /// The name of a class code of levels 1–4 (`D11AH` → "Agents for dermatitis, excluding
    /// corticosteroids"), if the table gives one.
    pub fn class_name(&self, code: &str) -> Option<&str> {
        self.names.get(code).map(String::as_str)
    }
}

/// An ATC code of level 1 to 5 (WHO structure: `D`, `D11`, `D11A`, `D11AH`, `D11AH05`): a letter,
/// two digits, a letter, a letter, two digits, cut after 1, 3, 4, 5 or 7 characters.
fn is_atc_code(code: &str) -> bool {
    let b = code.as_bytes();
    matches!(b.len(), 1 | 3 | 4 | 5 | 7)
        && b.iter().enumerate().all(|(i, c)| match i {
            0 | 3 | 4 => c.is_ascii_uppercase(),
            _ => c.is_ascii_digit(),
        })
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
    fn a_row_with_a_field_missing_is_refused_with_its_line() {
        // SAMPLE's dupilumab row without its last field (Class4): 11 fields against the header's 12.
        let short = SAMPLE.replace(
            ";Agents for dermatitis, excluding corticosteroids\n2190",
            "\n2190",
        );
        let err = AtcIndex::from_text(&short, "atc.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("atc.csv") && err.contains("line 2"), "{err}");
        // An unquoted ';' inside a class name (a field too many) is refused too: line 3.
        let long = SAMPLE.replace(
            "Other dermatological;Agents for dermatitis, excluding corticosteroids\n3;",
            "Other; dermatological;Agents for dermatitis, excluding corticosteroids\n3;",
        );
        let err = AtcIndex::from_text(&long, "atc.csv")
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 3"), "{err}");
    }

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
    fn codes_of_coarser_levels_class_down_to_their_level() {
        // Rows 2497, 2140 and 2672 of DiAna's ATC_binder_2023.csv, as written there: codes of
        // level 4, 2 and 3, missing class names as NA.
        let rows = ";Substance;code;primary_code;Lvl4;Lvl3;Lvl2;Lvl1;Class1;Class2;Class3;Class4
2497;lutetium (lu 177);V10XX;V10XX;V10XX;V10X;V10;V;Various;Therapeutic radiopharmaceuticals;Other diagnostic radiopharmaceutical;Various therapeutic radiopharmaceuticals
2140;technetium tc 99m;V09;V09;V09;V09;V09;V;Various;Diagnostic radiopharmaceuticals;NA;NA
2672;other non-therapeutic products;V07A;V07A;V07A;V07A;V07;V;Various;All other non-therapeutic products;All other non-therapeutic products;NA
";
        let idx = AtcIndex::from_text(rows, "diana-rows").unwrap();
        let lu = "LUTETIUM (LU 177)";
        assert_eq!(idx.classes_of(lu, DrugLevel::Atc4, false), ["V10XX"]);
        assert_eq!(idx.classes_of(lu, DrugLevel::Atc3, true), ["V10X"]);
        assert!(idx.classes_of(lu, DrugLevel::Atc5, false).is_empty());
        let tc = "technetium tc 99m";
        assert_eq!(idx.classes_of(tc, DrugLevel::Atc2, false), ["V09"]);
        assert!(idx.classes_of(tc, DrugLevel::Atc3, true).is_empty());
        assert_eq!(
            idx.class_name("V09"),
            Some("Diagnostic radiopharmaceuticals")
        );
        assert_eq!(
            idx.class_name("V07A"),
            Some("All other non-therapeutic products")
        );
        // NA is R's missing value, not a class name.
        assert_eq!(idx.class_name("V07AA"), None);
        assert!(!idx.names.values().any(|n| n == "NA"));
        assert_eq!(idx.rows_not_used(), (0, 0));
    }

    #[test]
    fn rows_without_a_human_code_are_counted_not_used() {
        // Rows 3953, 2906 and 713 of DiAna's ATC_binder_2023.csv, as written there.
        let rows = format!(
            "{}3953;zotarolimus;NA;NA;NA;NA;NA;NA;NA;NA;NA;NA
2906;ziziphus spp;NA;Z;NA;NA;NA;NA;NA;NA;NA;NA
713;calcium glycerophosphate;QA12AA08;QA12AA08;QA12AA;QA12A;QA12;QA;NA;NA;NA;NA
",
            SAMPLE
        );
        let idx = AtcIndex::from_text(&rows, "diana-rows").unwrap();
        assert_eq!(idx.rows_not_used(), (2, 1));
        assert!(!idx.contains("zotarolimus") && !idx.contains("calcium glycerophosphate"));
        assert!(idx
            .classes_of("ZOTAROLIMUS", DrugLevel::Atc1, true)
            .is_empty());
        assert_eq!(idx.len(), 3);
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
