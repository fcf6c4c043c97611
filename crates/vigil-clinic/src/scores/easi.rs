//! EASI, the Eczema Area and Severity Index (0–72).
//!
//! # Formula
//! ```text
//! region score = (E + I + Ex + L) × area score × multiplier
//! EASI         = Σ over the four regions of the region score
//! ```
//! where E, I, Ex, L are erythema, induration/papulation (oedema), excoriation and lichenification, each
//! 0–3 in half points; the area score is 0–6 (0: none, 1: 1–9%, 2: 10–29%, 3: 30–49%, 4: 50–69%,
//! 5: 70–89%, 6: 90–100%); the multipliers are, for age ≥ 8 years, head/neck 0.1, upper limbs 0.2,
//! trunk 0.3, lower limbs 0.4, and for age 0–7 years 0.2, 0.2, 0.3, 0.3.
//!
//! # Edge cases
//! Percentages between the published integer bands (e.g. 9.5%) fall in the band whose lower bound they
//! reach (9.5% → 1). The sum is carried in exact integer units of 0.05 (half points × tenths), so band
//! boundaries such as 7.0 vs 7.1 are never blurred by floating point.
//!
//! # References
//! Hanifin JM et al., Exp Dermatol 2001;10:11-18; the EASI practical guide, Dermatitis 2022
//! (PMC9154300); the multipliers as in the NCBI Books table NBK10464 and the HK calculator
//! (clinical.md §3.1, which also notes the DermNet and PhenX typos not followed here). Severity bands:
//! Leshem YA et al., Br J Dermatol 2015 (PMID 25580670).
use serde::{Deserialize, Serialize};

use super::ScoreError;

const INSTRUMENT: &str = "EASI";

/// The four EASI signs and the area of one region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EasiRegionInput {
    /// Erythema, 0–3 in half points.
    pub erythema: f64,
    /// Oedema/papulation (induration), 0–3 in half points.
    pub induration: f64,
    /// Excoriation, 0–3 in half points.
    pub excoriation: f64,
    /// Lichenification, 0–3 in half points.
    pub lichenification: f64,
    /// Percentage of the region affected, 0–100 (give this or `area_score`).
    #[serde(default)]
    pub area_percent: Option<f64>,
    /// Area score 0–6 (give this or `area_percent`).
    #[serde(default)]
    pub area_score: Option<u8>,
}

/// EASI input: the four regions and the age at assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EasiInput {
    /// Age at assessment in years (selects the multipliers); defaults to the patient's age.
    #[serde(default)]
    pub age_years: Option<f64>,
    /// Head and neck.
    pub head_neck: EasiRegionInput,
    /// Upper limbs.
    pub upper_limbs: EasiRegionInput,
    /// Trunk, including genitals.
    pub trunk: EasiRegionInput,
    /// Lower limbs, including buttocks.
    pub lower_limbs: EasiRegionInput,
}

/// One region's contribution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EasiRegion {
    /// Region name.
    pub region: &'static str,
    /// Sum of the four signs (0–12).
    pub sign_sum: f64,
    /// Area score (0–6).
    pub area_score: u8,
    /// Multiplier for this age group.
    pub multiplier: f64,
    /// sign_sum × area_score × multiplier.
    pub score: f64,
}

/// An EASI result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Easi {
    /// Total, 0–72.
    pub total: f64,
    /// Whether the 0–7-year multipliers were used.
    pub child_multipliers: bool,
    /// Which age chose the multipliers, and why it is the right one.
    pub age_basis: String,
    /// Per region, in the order head/neck, upper limbs, trunk, lower limbs.
    pub regions: Vec<EasiRegion>,
    /// Severity band (Leshem 2015).
    pub band: &'static str,
    /// Source of the band.
    pub band_source: &'static str,
}

/// The area score (0–6) for a percentage of a region (0–100).
pub fn area_score_from_percent(percent: f64) -> Option<u8> {
    if !(percent.is_finite() && (0.0..=100.0).contains(&percent)) {
        return None;
    }
    Some(match percent {
        0.0 => 0,
        p if p < 10.0 => 1,
        p if p < 30.0 => 2,
        p if p < 50.0 => 3,
        p if p < 70.0 => 4,
        p if p < 90.0 => 5,
        _ => 6,
    })
}

/// The Leshem 2015 band of an EASI total.
pub fn band(total: f64) -> &'static str {
    // Bands: 0 clear; 0.1–1.0 almost clear; 1.1–7.0 mild; 7.1–21.0 moderate; 21.1–50.0 severe;
    // 50.1–72 very severe. Totals come in steps of 0.05, so each band runs up to its upper bound.
    match total {
        t if t <= 0.0 => "clear",
        t if t <= 1.0 + 1e-9 => "almost clear",
        t if t <= 7.0 + 1e-9 => "mild",
        t if t <= 21.0 + 1e-9 => "moderate",
        t if t <= 50.0 + 1e-9 => "severe",
        _ => "very severe",
    }
}

fn half_points(value: f64, field: String) -> Result<u32, ScoreError> {
    let twice = value * 2.0;
    if !(value.is_finite() && (0.0..=3.0).contains(&value) && twice.fract() == 0.0) {
        return Err(ScoreError {
            instrument: INSTRUMENT,
            field,
            message: format!("{value} is not a sign score 0–3 in half points"),
        });
    }
    Ok(twice as u32)
}

impl EasiInput {
    /// Compute EASI. The multipliers depend on the age at assessment (`age_years`). Without it,
    /// `age_at_onset_years` (the patient's age at the reaction's onset, D.2.2) is used only when it
    /// settles the question: the scores are taken at or after the onset, so an age of 8 or more at onset
    /// means the ≥ 8 multipliers; under 8 the age at assessment may already be 8, and it is asked for.
    pub fn compute(&self, age_at_onset_years: Option<f64>) -> Result<Easi, ScoreError> {
        let need_age = |message: String| ScoreError {
            instrument: INSTRUMENT,
            field: "age_years".into(),
            message,
        };
        let (age, age_basis) = match (self.age_years, age_at_onset_years) {
            (Some(a), _) => (a, format!("age at assessment {a}")),
            (None, Some(a)) if a >= 8.0 => (a, format!("age at onset {a}: assessed at or after onset, so ≥ 8 either way")),
            (None, Some(a)) => {
                return Err(need_age(format!(
                    "EASI needs the age at assessment (scores.easi.age_years): the patient was {a} at onset and the multipliers change at 8 years"
                )))
            }
            (None, None) => return Err(need_age("EASI needs the age at assessment (multipliers differ below 8 years)".into())),
        };
        if !(age.is_finite() && age >= 0.0) {
            return Err(ScoreError {
                instrument: INSTRUMENT,
                field: "age_years".into(),
                message: format!("{age} is not an age"),
            });
        }
        let child = age < 8.0;
        // Multipliers in tenths: ≥ 8 years 1, 2, 3, 4; 0–7 years 2, 2, 3, 3.
        let tenths: [u32; 4] = if child { [2, 2, 3, 3] } else { [1, 2, 3, 4] };
        let named = [
            ("head_neck", &self.head_neck),
            ("upper_limbs", &self.upper_limbs),
            ("trunk", &self.trunk),
            ("lower_limbs", &self.lower_limbs),
        ];
        let mut regions = Vec::with_capacity(4);
        let mut total_units: u32 = 0; // units of 0.05 = half point × tenth
        for ((name, r), mult) in named.iter().zip(tenths) {
            let sum_half = half_points(r.erythema, format!("{name}.erythema"))?
                + half_points(r.induration, format!("{name}.induration"))?
                + half_points(r.excoriation, format!("{name}.excoriation"))?
                + half_points(r.lichenification, format!("{name}.lichenification"))?;
            let area = match (r.area_score, r.area_percent) {
                (Some(s), None) if s <= 6 => s,
                (Some(s), None) => {
                    return Err(ScoreError {
                        instrument: INSTRUMENT,
                        field: format!("{name}.area_score"),
                        message: format!("{s} is not an area score 0–6"),
                    })
                }
                (None, Some(p)) => area_score_from_percent(p).ok_or_else(|| ScoreError {
                    instrument: INSTRUMENT,
                    field: format!("{name}.area_percent"),
                    message: format!("{p} is not a percentage 0–100"),
                })?,
                _ => {
                    return Err(ScoreError {
                        instrument: INSTRUMENT,
                        field: format!("{name}.area"),
                        message: "give exactly one of area_percent and area_score".into(),
                    })
                }
            };
            let units = sum_half * u32::from(area) * mult;
            total_units += units;
            regions.push(EasiRegion {
                region: name,
                sign_sum: f64::from(sum_half) / 2.0,
                area_score: area,
                multiplier: f64::from(mult) / 10.0,
                score: f64::from(units) / 20.0,
            });
        }
        let total = f64::from(total_units) / 20.0;
        Ok(Easi {
            total,
            child_multipliers: child,
            age_basis,
            regions,
            band: band(total),
            band_source: "Leshem YA et al., Br J Dermatol 2015 (PMID 25580670)",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_bands_follow_the_published_cut_points() {
        let cases = [
            (0.0, 0),
            (1.0, 1),
            (9.0, 1),
            (9.5, 1),
            (10.0, 2),
            (29.0, 2),
            (30.0, 3),
            (49.0, 3),
            (50.0, 4),
            (69.0, 4),
            (70.0, 5),
            (89.0, 5),
            (90.0, 6),
            (100.0, 6),
        ];
        for (p, s) in cases {
            assert_eq!(area_score_from_percent(p), Some(s), "{p}%");
        }
        assert_eq!(area_score_from_percent(100.5), None);
        assert_eq!(area_score_from_percent(-1.0), None);
    }

    #[test]
    fn leshem_band_edges() {
        assert_eq!(band(0.0), "clear");
        assert_eq!(band(1.0), "almost clear");
        assert_eq!(band(1.05), "mild");
        assert_eq!(band(7.0), "mild");
        assert_eq!(band(7.1), "moderate");
        assert_eq!(band(21.0), "moderate");
        assert_eq!(band(50.0), "severe");
        assert_eq!(band(50.1), "very severe");
    }
}
