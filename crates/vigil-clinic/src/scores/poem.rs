//! POEM, the Patient-Oriented Eczema Measure (0–28).
//!
//! # Formula
//! ```text
//! item score = 0 (no days), 1 (1–2 days), 2 (3–4 days), 3 (5–6 days), 4 (every day)
//! POEM       = Σ of the seven item scores
//! ```
//! The seven items ask, about the last week, on how many days (nights, for sleep) the skin was itchy,
//! sleep was disturbed, the skin bled, wept/oozed, was cracked, flaked, or was dry/rough, because of
//! the eczema (short item names only; the questionnaire wording is © The University of Nottingham).
//!
//! # Edge cases
//! All seven items are required. The Nottingham rule for unanswered items is unverified in the knowledge
//! base (clinical.md §3.3, open item 6), so vigil refuses an incomplete POEM instead of guessing.
//!
//! # References
//! Charman CR, Venn AJ, Williams HC, Arch Dermatol 2004;140:1513-1519 (items and scoring); bands from
//! Charman CR et al., Br J Dermatol 2013;169(6):1326-1332, doi:10.1111/bjd.12590 (clinical.md §3.3).
use serde::{Deserialize, Serialize};

use super::ScoreError;

const INSTRUMENT: &str = "POEM";

/// Short names of the seven items, in questionnaire order.
pub const ITEMS: [&str; 7] = [
    "itch",
    "sleep disturbed",
    "bleeding",
    "weeping/oozing",
    "cracked",
    "flaking",
    "dry/rough",
];

/// POEM input: either the item scores (0–4) or the number of days (0–7) per item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoemInput {
    /// Seven item scores, each 0–4.
    #[serde(default)]
    pub item_scores: Option<Vec<u8>>,
    /// Seven day counts over the last week, each 0–7.
    #[serde(default)]
    pub days: Option<Vec<u8>>,
}

/// A POEM result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Poem {
    /// Item scores 0–4 in questionnaire order.
    pub item_scores: Vec<u8>,
    /// Total 0–28.
    pub total: u8,
    /// Band (Charman 2013).
    pub band: &'static str,
    /// Source of the band.
    pub band_source: &'static str,
}

/// The item score for a number of days in the last week.
pub fn item_score_from_days(days: u8) -> Option<u8> {
    Some(match days {
        0 => 0,
        1..=2 => 1,
        3..=4 => 2,
        5..=6 => 3,
        7 => 4,
        _ => return None,
    })
}

/// Charman 2013 band: 0–2 clear/almost clear, 3–7 mild, 8–16 moderate, 17–24 severe, 25–28 very severe.
pub fn band(total: u8) -> &'static str {
    match total {
        0..=2 => "clear or almost clear",
        3..=7 => "mild",
        8..=16 => "moderate",
        17..=24 => "severe",
        _ => "very severe",
    }
}

impl PoemInput {
    /// Compute POEM.
    pub fn compute(&self) -> Result<Poem, ScoreError> {
        let err = |field: String, message: String| ScoreError {
            instrument: INSTRUMENT,
            field,
            message,
        };
        let scores: Vec<u8> = match (&self.item_scores, &self.days) {
            (Some(s), None) => s.clone(),
            (None, Some(d)) => d
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    item_score_from_days(n).ok_or_else(|| {
                        err(
                            format!("days[{i}]"),
                            format!("{n} is not a number of days 0–7"),
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
            _ => {
                return Err(err(
                    "items".into(),
                    "give exactly one of item_scores and days".into(),
                ))
            }
        };
        if scores.len() != 7 {
            return Err(err(
                "items".into(),
                format!("{} items given; POEM has 7 and the rule for missing items is not verified, so none may be missing", scores.len()),
            ));
        }
        for (i, &s) in scores.iter().enumerate() {
            if s > 4 {
                return Err(err(
                    format!("item_scores[{i}] ({})", ITEMS[i]),
                    format!("{s} is not an item score 0–4"),
                ));
            }
        }
        let total = scores.iter().sum();
        Ok(Poem {
            item_scores: scores,
            total,
            band: band(total),
            band_source: "Charman CR et al., Br J Dermatol 2013;169:1326 (doi:10.1111/bjd.12590)",
        })
    }
}
