//! SCORAD (0–103) and objective SCORAD (0–83).
//!
//! # Formula
//! ```text
//! SCORAD  = A/5 + 7B/2 + C
//! oSCORAD = A/5 + 7B/2
//! ```
//! where A is the extent in % of body surface (rule of nines: head and neck 9, each upper limb 9, each
//! lower limb 18, anterior trunk 18, back 18, genitals 1; maximum 100), B the intensity (six signs
//! 0–3 on a representative area: erythema, oedema/papulation, oozing/crusting, excoriation,
//! lichenification, dryness of uninvolved skin; maximum 18) and C the two symptom scales (pruritus and
//! sleeplessness, each 0–10 averaged over the last three days/nights; maximum 20).
//!
//! # Edge cases
//! The paediatric (< 2 years) extent percentages differ and are unverified in the knowledge base
//! (clinical.md §3.2), so extent by region uses the adult rule of nines only; give `extent_percent`
//! directly for an infant. The "A/5 + B/2 + C" variant printed by one foundation page is not used
//! (clinical.md §3.2 explains why).
//!
//! # References
//! European Task Force on Atopic Dermatitis, Dermatology 1993;186:23-31; formula as taught in the Nantes
//! SCORAD course; rule-of-nines weights from the Sanofi SCORAD form; strata from Chopra R et al., Br J
//! Dermatol 2017;177:1316 (PMID 28485036) — all via clinical.md §3.2.
use serde::{Deserialize, Serialize};

use super::ScoreError;

const INSTRUMENT: &str = "SCORAD";

/// Percentage of each rule-of-nines region that is affected (each 0–100).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScoradExtentByRegion {
    /// Head and neck (9% of the body).
    pub head_neck: f64,
    /// Left upper limb (9%).
    pub left_upper_limb: f64,
    /// Right upper limb (9%).
    pub right_upper_limb: f64,
    /// Left lower limb (18%).
    pub left_lower_limb: f64,
    /// Right lower limb (18%).
    pub right_lower_limb: f64,
    /// Anterior trunk (18%).
    pub anterior_trunk: f64,
    /// Back (18%).
    pub back: f64,
    /// Genitals (1%).
    pub genitals: f64,
}

impl ScoradExtentByRegion {
    /// A = Σ weight × affected% / 100, with the adult rule-of-nines weights.
    pub fn extent(&self) -> Result<f64, ScoreError> {
        let parts = [
            ("head_neck", self.head_neck, 9.0),
            ("left_upper_limb", self.left_upper_limb, 9.0),
            ("right_upper_limb", self.right_upper_limb, 9.0),
            ("left_lower_limb", self.left_lower_limb, 18.0),
            ("right_lower_limb", self.right_lower_limb, 18.0),
            ("anterior_trunk", self.anterior_trunk, 18.0),
            ("back", self.back, 18.0),
            ("genitals", self.genitals, 1.0),
        ];
        let mut a = 0.0;
        for (name, pct, weight) in parts {
            if !(pct.is_finite() && (0.0..=100.0).contains(&pct)) {
                return Err(ScoreError {
                    instrument: INSTRUMENT,
                    field: format!("extent_by_region.{name}"),
                    message: format!("{pct} is not a percentage 0–100"),
                });
            }
            a += weight * pct / 100.0;
        }
        Ok(a)
    }
}

/// The six SCORAD intensity signs, each 0–3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoradIntensity {
    /// Erythema.
    pub erythema: u8,
    /// Oedema/papulation.
    pub oedema_papulation: u8,
    /// Oozing/crusting.
    pub oozing_crusting: u8,
    /// Excoriation.
    pub excoriation: u8,
    /// Lichenification.
    pub lichenification: u8,
    /// Dryness (of uninvolved skin).
    pub dryness: u8,
}

/// SCORAD input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoradInput {
    /// A directly, in % of the body surface (give this or `extent_by_region`).
    #[serde(default)]
    pub extent_percent: Option<f64>,
    /// A from the affected share of each rule-of-nines region.
    #[serde(default)]
    pub extent_by_region: Option<ScoradExtentByRegion>,
    /// B's six signs.
    pub intensity: ScoradIntensity,
    /// Pruritus scale 0–10 (omit both symptom scales for objective SCORAD only).
    #[serde(default)]
    pub pruritus: Option<f64>,
    /// Sleeplessness scale 0–10.
    #[serde(default)]
    pub sleeplessness: Option<f64>,
}

/// A SCORAD result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scorad {
    /// A, extent (% of body surface).
    pub extent_a: f64,
    /// B, intensity (0–18).
    pub intensity_b: u8,
    /// C, symptoms (0–20), when both scales were given.
    pub symptoms_c: Option<f64>,
    /// SCORAD = A/5 + 7B/2 + C (when C is known).
    pub scorad: Option<f64>,
    /// Band of SCORAD (Chopra 2017).
    pub scorad_band: Option<&'static str>,
    /// oSCORAD = A/5 + 7B/2.
    pub objective: f64,
    /// Band of oSCORAD (Chopra 2017).
    pub objective_band: &'static str,
    /// Source of the bands.
    pub band_source: &'static str,
}

/// Chopra 2017 band of a SCORAD total: clear 0–9.9, mild 10.0–28.9, moderate 29.0–48.9, severe 49.0–103.
pub fn scorad_band(total: f64) -> &'static str {
    match total {
        t if t < 10.0 => "clear",
        t if t < 29.0 => "mild",
        t if t < 49.0 => "moderate",
        _ => "severe",
    }
}

/// Chopra 2017 band of an oSCORAD total: clear 0–7.9, mild 8.0–23.9, moderate 24.0–37.9, severe 38.0–83.
pub fn objective_band(total: f64) -> &'static str {
    match total {
        t if t < 8.0 => "clear",
        t if t < 24.0 => "mild",
        t if t < 38.0 => "moderate",
        _ => "severe",
    }
}

fn vas(value: Option<f64>, field: &str) -> Result<Option<f64>, ScoreError> {
    match value {
        Some(v) if !(v.is_finite() && (0.0..=10.0).contains(&v)) => Err(ScoreError {
            instrument: INSTRUMENT,
            field: field.into(),
            message: format!("{v} is not a 0–10 scale value"),
        }),
        other => Ok(other),
    }
}

impl ScoradInput {
    /// Compute SCORAD and oSCORAD.
    pub fn compute(&self) -> Result<Scorad, ScoreError> {
        let a = match (&self.extent_percent, &self.extent_by_region) {
            (Some(a), None) => {
                if !(a.is_finite() && (0.0..=100.0).contains(a)) {
                    return Err(ScoreError {
                        instrument: INSTRUMENT,
                        field: "extent_percent".into(),
                        message: format!("{a} is not a percentage 0–100"),
                    });
                }
                *a
            }
            (None, Some(regions)) => regions.extent()?,
            _ => {
                return Err(ScoreError {
                    instrument: INSTRUMENT,
                    field: "extent".into(),
                    message: "give exactly one of extent_percent and extent_by_region".into(),
                })
            }
        };
        let i = &self.intensity;
        let signs = [
            ("erythema", i.erythema),
            ("oedema_papulation", i.oedema_papulation),
            ("oozing_crusting", i.oozing_crusting),
            ("excoriation", i.excoriation),
            ("lichenification", i.lichenification),
            ("dryness", i.dryness),
        ];
        let mut b = 0u8;
        for (name, v) in signs {
            if v > 3 {
                return Err(ScoreError {
                    instrument: INSTRUMENT,
                    field: format!("intensity.{name}"),
                    message: format!("{v} is not a sign score 0–3"),
                });
            }
            b += v;
        }
        let c = match (
            vas(self.pruritus, "pruritus")?,
            vas(self.sleeplessness, "sleeplessness")?,
        ) {
            (Some(p), Some(s)) => Some(p + s),
            (None, None) => None,
            _ => {
                return Err(ScoreError {
                    instrument: INSTRUMENT,
                    field: "symptoms".into(),
                    message: "give both pruritus and sleeplessness, or neither".into(),
                })
            }
        };
        let objective = a / 5.0 + 7.0 * f64::from(b) / 2.0;
        let scorad = c.map(|c| objective + c);
        Ok(Scorad {
            extent_a: a,
            intensity_b: b,
            symptoms_c: c,
            scorad,
            scorad_band: scorad.map(scorad_band),
            objective,
            objective_band: objective_band(objective),
            band_source: "Chopra R et al., Br J Dermatol 2017;177:1316 (PMID 28485036)",
        })
    }
}
