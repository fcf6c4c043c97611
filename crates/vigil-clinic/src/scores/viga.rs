//! vIGA-AD, the validated Investigator Global Assessment for atopic dermatitis (0–4).
//!
//! Grades: 0 clear, 1 almost clear, 2 mild, 3 moderate, 4 severe, judged on erythema,
//! induration/papulation, lichenification and oozing/crusting (excoriations are not considered). The
//! descriptors are paraphrased; their wording's terms of use are unclear (clinical.md §3.4).
//!
//! Treatment success as used in the dupilumab SOLO/CHRONOS trials: grade 0 or 1 **and** a reduction of
//! at least 2 grades from baseline.
//!
//! # References
//! Simpson E et al., J Am Acad Dermatol 2020 (vIGA-AD); success criterion from NEJM 2016;375:2335
//! (SOLO 1/2) and the CHRONOS results (clinical.md §3.4).
use serde::{Deserialize, Serialize};

use super::ScoreError;

/// vIGA-AD input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VigaInput {
    /// Current grade 0–4.
    pub grade: u8,
    /// Baseline grade 0–4, for the success criterion.
    #[serde(default)]
    pub baseline: Option<u8>,
}

/// A vIGA-AD result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Viga {
    /// Grade 0–4.
    pub grade: u8,
    /// Its label.
    pub label: &'static str,
    /// Success (grade ≤ 1 and ≥ 2-grade reduction), when a baseline was given.
    pub success: Option<bool>,
}

/// Label of a vIGA-AD grade.
pub fn label(grade: u8) -> Option<&'static str> {
    Some(match grade {
        0 => "clear",
        1 => "almost clear",
        2 => "mild",
        3 => "moderate",
        4 => "severe",
        _ => return None,
    })
}

impl VigaInput {
    /// Label the grade and apply the success criterion.
    pub fn compute(&self) -> Result<Viga, ScoreError> {
        let bad = |field: &str, v: u8| ScoreError {
            instrument: "vIGA-AD",
            field: field.into(),
            message: format!("{v} is not a grade 0–4"),
        };
        let lab = label(self.grade).ok_or_else(|| bad("grade", self.grade))?;
        if let Some(b) = self.baseline {
            label(b).ok_or_else(|| bad("baseline", b))?;
        }
        let success = self
            .baseline
            .map(|b| self.grade <= 1 && b >= self.grade + 2);
        Ok(Viga {
            grade: self.grade,
            label: lab,
            success,
        })
    }
}
