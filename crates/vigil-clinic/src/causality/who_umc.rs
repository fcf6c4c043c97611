//! WHO-UMC standardised case causality categories.
//!
//! Categories and their criteria, paraphrased (all criteria of a category must be reasonably met):
//! ```text
//! certain        plausible time relationship; not explained by disease or other drugs; plausible response
//!                to withdrawal; event definitive (objective and specific, or a recognised
//!                pharmacological phenomenon); rechallenge satisfactory if necessary
//! probable       reasonable time relationship; unlikely to be due to disease or other drugs; clinically
//!                reasonable response to withdrawal; rechallenge not required
//! possible       reasonable time relationship; could also be explained by disease or other drugs;
//!                withdrawal information may be lacking or unclear
//! unlikely       time relationship makes a relation improbable (not impossible); disease or other drugs
//!                give plausible explanations
//! conditional    more data needed for a proper assessment, or additional data under examination
//! unassessable   cannot be judged: information insufficient or contradictory, and cannot be supplemented
//! ```
//!
//! # Algorithm
//! Categories are tried from *certain* downwards and the first whose criteria are all met is returned
//! (a design choice recorded in clinical.md §1.2, not prescribed by the UMC). "Certain" is given only with
//! a positive rechallenge: vigil cannot judge when a rechallenge is "not necessary", so a case that an
//! assessor would call certain without one needs the explicit answer `rechallenge_needed: false`.
//! A dose reduction or interval extension that was followed by improvement counts as a response to
//! withdrawal, as E2B codes dechallenge with G.k.8 = 1 or 2 plus the outcome (clinical.md §5.4).
//!
//! # References
//! Uppsala Monitoring Centre, *The use of the WHO-UMC system for standardised case causality
//! assessment* (WHO copy: cdn.who.int/.../whocausality-assessment.pdf), read in PMC6039921 Box 2 and
//! PMC11162198 Table 2 (clinical.md §1.2). © UMC; short labels only.
use serde::{Deserialize, Serialize};

use super::{Basis, PairFacts, Timing};
use crate::case::Rechallenge;

/// Time relationship between drug intake and the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeRelation {
    /// Plausible/reasonable.
    Reasonable,
    /// Makes a relationship improbable.
    Improbable,
    /// Cannot be judged.
    Unknown,
}

/// How well disease or other drugs explain the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OtherExplanation {
    /// Looked for and excluded.
    Excluded,
    /// Unlikely.
    Unlikely,
    /// Could also explain it.
    Possible,
    /// Gives a plausible explanation.
    Plausible,
    /// Not assessed.
    Unknown,
}

/// Response to withdrawal (or dose reduction).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WithdrawalResponse {
    /// Improved after withdrawal or dose reduction.
    Positive,
    /// Did not improve.
    Negative,
    /// Lacking or unclear.
    Unknown,
}

/// Explicit WHO-UMC answers; absent ones are derived.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhoUmcAnswers {
    /// Time relationship.
    #[serde(default)]
    pub time_relation: Option<TimeRelation>,
    /// Disease or other drugs as an explanation.
    #[serde(default)]
    pub other_explanation: Option<OtherExplanation>,
    /// Response to withdrawal.
    #[serde(default)]
    pub withdrawal: Option<WithdrawalResponse>,
    /// The event is definitive (objective and specific, or a recognised pharmacological phenomenon).
    #[serde(default)]
    pub definitive: Option<bool>,
    /// Whether a rechallenge is needed for "certain" (default: yes, see the module doc).
    #[serde(default)]
    pub rechallenge_needed: Option<bool>,
    /// The information is contradictory.
    #[serde(default)]
    pub contradictory: Option<bool>,
}

/// One criterion and whether it holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Criterion {
    /// What was judged.
    pub name: &'static str,
    /// The value.
    pub value: String,
    /// Where it came from.
    pub basis: Basis,
}

/// A WHO-UMC result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhoUmc {
    /// certain / probable / possible / unlikely / conditional / unassessable.
    pub category: &'static str,
    /// The inputs, each with its basis.
    pub criteria: Vec<Criterion>,
    /// Why this category and not the ones above it.
    pub reasoning: Vec<String>,
}

/// Derive or take each input and pick the category.
pub fn assess(f: &PairFacts<'_>) -> WhoUmc {
    let a = f.answers.who_umc;
    let (time, time_basis) = match a.time_relation {
        Some(t) => (t, Basis::Explicit),
        None => match f.timing {
            Timing::After(_) => (TimeRelation::Reasonable, Basis::Derived(f.timing_text())),
            Timing::Before => (TimeRelation::Improbable, Basis::Derived(f.timing_text())),
            Timing::Unknown => (TimeRelation::Unknown, Basis::NoInformation(f.timing_text())),
        },
    };
    let (other, other_basis) = match a.other_explanation {
        Some(o) => (o, Basis::Explicit),
        None => match f.alternatives() {
            Some(v) if v.is_empty() => (
                OtherExplanation::Excluded,
                Basis::Derived("alternative causes looked for, none found".into()),
            ),
            Some(v) => (
                OtherExplanation::Possible,
                Basis::Derived(format!("alternative causes recorded: {}", v.join("; "))),
            ),
            None => (
                OtherExplanation::Unknown,
                Basis::NoInformation("alternative causes not assessed".into()),
            ),
        },
    };
    let (withdrawal, withdrawal_basis) = match a.withdrawal {
        Some(w) => (w, Basis::Explicit),
        None => match f.dechallenge() {
            Some((act, true, _)) => (
                WithdrawalResponse::Positive,
                Basis::Derived(format!("improved after {}", act.label())),
            ),
            Some((act, _, true)) => (
                WithdrawalResponse::Negative,
                Basis::Derived(format!("no improvement after {}", act.label())),
            ),
            _ => (
                WithdrawalResponse::Unknown,
                Basis::NoInformation("no dechallenge with a known result".into()),
            ),
        },
    };
    let (definitive, definitive_basis) = match a.definitive {
        Some(d) => (d, Basis::Explicit),
        None => {
            let tests = f.confirming_tests();
            if tests.is_empty() {
                (
                    false,
                    Basis::NoInformation("no objective confirmation recorded".into()),
                )
            } else {
                (
                    true,
                    Basis::Derived(format!("objectively confirmed by {}", tests.join(", "))),
                )
            }
        }
    };
    let rechallenge = f.rechallenge();
    let rechallenge_needed = a.rechallenge_needed.unwrap_or(true);
    let contradictory = a.contradictory.unwrap_or(false);
    let pending = f.pending_tests();

    let criteria = vec![
        Criterion {
            name: "time relationship",
            value: format!("{time:?}").to_lowercase(),
            basis: time_basis,
        },
        Criterion {
            name: "explained by disease or other drugs",
            value: format!("{other:?}").to_lowercase(),
            basis: other_basis,
        },
        Criterion {
            name: "response to withdrawal",
            value: format!("{withdrawal:?}").to_lowercase(),
            basis: withdrawal_basis,
        },
        Criterion {
            name: "event definitive",
            value: definitive.to_string(),
            basis: definitive_basis,
        },
        Criterion {
            name: "rechallenge",
            value: rechallenge
                .map(|r| r.label().to_string())
                .unwrap_or_else(|| "not recorded".into()),
            basis: if rechallenge.is_some() {
                Basis::Derived("from the case".into())
            } else {
                Basis::NoInformation("no rechallenge recorded".into())
            },
        },
        Criterion {
            name: "data under examination",
            value: if pending.is_empty() {
                "none".into()
            } else {
                pending.join(", ")
            },
            basis: Basis::Derived("tests with a pending result".into()),
        },
    ];

    let mut reasoning = Vec::new();
    let reasonable = time == TimeRelation::Reasonable;
    let category = if contradictory {
        reasoning.push("the information is contradictory".into());
        "unassessable"
    } else if reasonable
        && other == OtherExplanation::Excluded
        && withdrawal == WithdrawalResponse::Positive
        && definitive
        && (rechallenge == Some(Rechallenge::Recurred) || !rechallenge_needed)
    {
        reasoning.push("all five criteria for certain are met".into());
        "certain"
    } else {
        if !reasonable {
            reasoning.push("not certain/probable/possible: no reasonable time relationship".into());
        } else if other != OtherExplanation::Excluded {
            reasoning.push("not certain: disease or other drugs not excluded".into());
        } else if withdrawal != WithdrawalResponse::Positive {
            reasoning.push("not certain: no positive response to withdrawal".into());
        } else if !definitive {
            reasoning.push("not certain: event not shown to be definitive".into());
        } else {
            reasoning.push("not certain: no positive rechallenge".into());
        }
        if reasonable
            && matches!(
                other,
                OtherExplanation::Excluded | OtherExplanation::Unlikely
            )
            && withdrawal == WithdrawalResponse::Positive
        {
            reasoning.push(
                "probable: reasonable timing, other causes unlikely, improvement on withdrawal"
                    .into(),
            );
            "probable"
        } else if reasonable {
            if !matches!(
                other,
                OtherExplanation::Excluded | OtherExplanation::Unlikely
            ) {
                reasoning.push("not probable: disease or other drugs could also explain it (or were not assessed)".into());
            } else {
                reasoning.push("not probable: withdrawal information lacking or negative".into());
            }
            "possible"
        } else if time == TimeRelation::Improbable && other != OtherExplanation::Excluded {
            reasoning.push("unlikely: the time relationship makes a relation improbable and other explanations remain".into());
            "unlikely"
        } else if !pending.is_empty() {
            reasoning.push(format!(
                "conditional: results awaited ({})",
                pending.join(", ")
            ));
            "conditional"
        } else {
            reasoning.push("unassessable: the time relationship cannot be judged, or it is improbable although other causes were excluded".into());
            "unassessable"
        }
    };
    WhoUmc {
        category,
        criteria,
        reasoning,
    }
}
