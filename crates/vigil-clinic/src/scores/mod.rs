//! Atopic dermatitis severity scores, computed exactly as published.
//!
//! Each module takes the raw components (per-region signs and area, A/B/C, item responses), checks their
//! ranges and returns the total with its band, because clinical.md §3.6 asks to store the components and
//! not only the totals. Bands are labelled with the publication that defines them; where sources offer
//! several strata, the one used is named in the output.
use serde::{Deserialize, Serialize};

pub mod easi;
pub mod poem;
pub mod pp_nrs;
pub mod scorad;
pub mod viga;

/// A score input outside the instrument's published range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{instrument}: {field}: {message}")]
pub struct ScoreError {
    /// The instrument (EASI, SCORAD...).
    pub instrument: &'static str,
    /// The offending component.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// The raw components of the scores recorded at a visit; any of them may be absent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreInputs {
    /// EASI signs and areas per region.
    #[serde(default)]
    pub easi: Option<easi::EasiInput>,
    /// SCORAD extent, intensity and symptoms.
    #[serde(default)]
    pub scorad: Option<scorad::ScoradInput>,
    /// POEM item responses.
    #[serde(default)]
    pub poem: Option<poem::PoemInput>,
    /// vIGA-AD grade (and baseline for the success criterion).
    #[serde(default)]
    pub viga: Option<viga::VigaInput>,
    /// Peak Pruritus NRS (and baseline for the responder criterion).
    #[serde(default)]
    pub pp_nrs: Option<pp_nrs::PpNrsInput>,
}

/// All scores computed from [`ScoreInputs`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreReport {
    /// EASI.
    pub easi: Option<easi::Easi>,
    /// SCORAD and objective SCORAD.
    pub scorad: Option<scorad::Scorad>,
    /// POEM.
    pub poem: Option<poem::Poem>,
    /// vIGA-AD.
    pub viga: Option<viga::Viga>,
    /// PP-NRS.
    pub pp_nrs: Option<pp_nrs::PpNrs>,
}

impl ScoreInputs {
    /// Compute every present score. `patient_age_years` is used by EASI when its input has no age.
    pub fn compute(&self, patient_age_years: Option<f64>) -> Result<ScoreReport, ScoreError> {
        Ok(ScoreReport {
            easi: self
                .easi
                .as_ref()
                .map(|e| e.compute(patient_age_years))
                .transpose()?,
            scorad: self.scorad.as_ref().map(|s| s.compute()).transpose()?,
            poem: self.poem.as_ref().map(|p| p.compute()).transpose()?,
            viga: self.viga.as_ref().map(|v| v.compute()).transpose()?,
            pp_nrs: self.pp_nrs.as_ref().map(|p| p.compute()).transpose()?,
        })
    }
}
