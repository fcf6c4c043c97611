//! Peak Pruritus NRS: worst itch over the past 24 hours, 0 (no itch) to 10 (worst imaginable).
//!
//! Responder: an improvement of at least 4 points from baseline (Yosipovitch 2019; the responder
//! endpoint of the dupilumab trials). Trials use weekly averages of the daily scores, so a non-integer
//! value is accepted.
//!
//! Severity strata are not from the PP-NRS developers. vigil shows the one verified in the knowledge
//! base, the Worst Pruritus NRS strata of the upadacitinib anchor study: 0 absent, 1–2 minimal, 3 mild,
//! 4–7 moderate, 8–10 severe. Those strata are defined on whole numbers, so a non-integer weekly average
//! gets no stratum.
//!
//! # References
//! Yosipovitch G et al., Br J Dermatol 2019;181(4):761-769, doi:10.1111/bjd.17744 (PMC6850643); strata:
//! the Worst Pruritus NRS content-validity study (scite report "development-and-content-validity",
//! clinical.md §3.5).
use serde::{Deserialize, Serialize};

use super::ScoreError;

/// PP-NRS input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PpNrsInput {
    /// Current score 0–10 (a day's score, or a weekly average).
    pub score: f64,
    /// Baseline score 0–10.
    #[serde(default)]
    pub baseline: Option<f64>,
}

/// A PP-NRS result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PpNrs {
    /// Current score.
    pub score: f64,
    /// Stratum (whole-number scores only).
    pub stratum: Option<&'static str>,
    /// Source of the strata.
    pub stratum_source: &'static str,
    /// Improvement from baseline (baseline − score).
    pub improvement: Option<f64>,
    /// Responder: improvement ≥ 4 points.
    pub responder: Option<bool>,
}

/// Stratum of a whole-number score.
pub fn stratum(score: f64) -> Option<&'static str> {
    if score.fract() != 0.0 {
        return None;
    }
    Some(match score as u8 {
        0 => "absent",
        1..=2 => "minimal",
        3 => "mild",
        4..=7 => "moderate",
        8..=10 => "severe",
        _ => return None,
    })
}

impl PpNrsInput {
    /// Stratify and apply the responder rule.
    pub fn compute(&self) -> Result<PpNrs, ScoreError> {
        let check = |field: &str, v: f64| {
            if v.is_finite() && (0.0..=10.0).contains(&v) {
                Ok(v)
            } else {
                Err(ScoreError {
                    instrument: "PP-NRS",
                    field: field.into(),
                    message: format!("{v} is not a 0–10 score"),
                })
            }
        };
        let score = check("score", self.score)?;
        let baseline = self.baseline.map(|b| check("baseline", b)).transpose()?;
        let improvement = baseline.map(|b| b - score);
        Ok(PpNrs {
            score,
            stratum: stratum(score),
            stratum_source: "Worst Pruritus NRS strata, upadacitinib anchor study (not from the PP-NRS developers)",
            improvement,
            responder: improvement.map(|d| d >= 4.0),
        })
    }
}
