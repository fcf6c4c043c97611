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

/// The inputs of the category choice, each taken from an explicit answer or derived from the case.
struct Inputs<'a> {
    time: TimeRelation,
    other: OtherExplanation,
    withdrawal: WithdrawalResponse,
    definitive: bool,
    rechallenge: Option<Rechallenge>,
    rechallenge_needed: bool,
    contradictory: bool,
    pending: Vec<&'a str>,
}

/// Derive or take each input and pick the category.
pub fn assess(f: &PairFacts<'_>) -> WhoUmc {
    let a = f.answers.who_umc;
    let (time, time_basis) = time_relation(f, a.time_relation);
    let (other, other_basis) = other_explanation(f, a.other_explanation);
    let (withdrawal, withdrawal_basis) = withdrawal_response(f, a.withdrawal);
    let (definitive, definitive_basis) = event_definitive(f, a.definitive);
    let inputs = Inputs {
        time,
        other,
        withdrawal,
        definitive,
        rechallenge: f.rechallenge(),
        rechallenge_needed: a.rechallenge_needed.unwrap_or(true),
        contradictory: a.contradictory.unwrap_or(false),
        pending: f.pending_tests(),
    };
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
            value: inputs
                .rechallenge
                .map(|r| r.label().to_string())
                .unwrap_or_else(|| "not recorded".into()),
            basis: if inputs.rechallenge.is_some() {
                Basis::Derived("from the case".into())
            } else {
                Basis::NoInformation("no rechallenge recorded".into())
            },
        },
        Criterion {
            name: "data under examination",
            value: if inputs.pending.is_empty() {
                "none".into()
            } else {
                inputs.pending.join(", ")
            },
            basis: Basis::Derived("tests with a pending result".into()),
        },
    ];
    let mut reasoning = Vec::new();
    let category = category(&inputs, &mut reasoning);
    WhoUmc {
        category,
        criteria,
        reasoning,
    }
}

/// The time relationship: the answer, else from the onset relative to the first dose.
fn time_relation(f: &PairFacts<'_>, answer: Option<TimeRelation>) -> (TimeRelation, Basis) {
    match answer {
        Some(t) => (t, Basis::Explicit),
        None => match f.timing {
            Timing::After(_) => (TimeRelation::Reasonable, Basis::Derived(f.timing_text())),
            Timing::Before => (TimeRelation::Improbable, Basis::Derived(f.timing_text())),
            Timing::Unknown => (TimeRelation::Unknown, Basis::NoInformation(f.timing_text())),
        },
    }
}

/// Disease or other drugs as an explanation: the answer, else from the alternative causes
/// recorded (none found: excluded; some: possible; not looked for: unknown).
fn other_explanation(
    f: &PairFacts<'_>,
    answer: Option<OtherExplanation>,
) -> (OtherExplanation, Basis) {
    match answer {
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
    }
}

/// The response to withdrawal: the answer, else from a dechallenge (withdrawal or dose
/// reduction) with a known result.
fn withdrawal_response(
    f: &PairFacts<'_>,
    answer: Option<WithdrawalResponse>,
) -> (WithdrawalResponse, Basis) {
    match answer {
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
    }
}

/// Whether the event is definitive: the answer, else whether a test confirmed it objectively.
fn event_definitive(f: &PairFacts<'_>, answer: Option<bool>) -> (bool, Basis) {
    if let Some(d) = answer {
        return (d, Basis::Explicit);
    }
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

/// The first category, from *certain* down, whose criteria all hold; `reasoning` says why each
/// higher one was not given.
fn category(i: &Inputs<'_>, reasoning: &mut Vec<String>) -> &'static str {
    let reasonable = i.time == TimeRelation::Reasonable;
    if i.contradictory {
        reasoning.push("the information is contradictory".into());
        return "unassessable";
    }
    if reasonable
        && i.other == OtherExplanation::Excluded
        && i.withdrawal == WithdrawalResponse::Positive
        && i.definitive
        && (i.rechallenge == Some(Rechallenge::Recurred) || !i.rechallenge_needed)
    {
        reasoning.push("all five criteria for certain are met".into());
        return "certain";
    }
    reasoning.push(why_not_certain(i).into());
    let other_unlikely = matches!(
        i.other,
        OtherExplanation::Excluded | OtherExplanation::Unlikely
    );
    if reasonable && other_unlikely && i.withdrawal == WithdrawalResponse::Positive {
        reasoning.push(
            "probable: reasonable timing, other causes unlikely, improvement on withdrawal".into(),
        );
        "probable"
    } else if reasonable {
        if !other_unlikely {
            reasoning.push(
                "not probable: disease or other drugs could also explain it (or were not assessed)"
                    .into(),
            );
        } else {
            reasoning.push("not probable: withdrawal information lacking or negative".into());
        }
        "possible"
    } else if i.time == TimeRelation::Improbable && i.other != OtherExplanation::Excluded {
        reasoning.push("unlikely: the time relationship makes a relation improbable and other explanations remain".into());
        "unlikely"
    } else if !i.pending.is_empty() {
        reasoning.push(format!(
            "conditional: results awaited ({})",
            i.pending.join(", ")
        ));
        "conditional"
    } else {
        reasoning.push("unassessable: the time relationship cannot be judged, or it is improbable although other causes were excluded".into());
        "unassessable"
    }
}

/// The first criterion of *certain* that fails, in the order the category lists them.
fn why_not_certain(i: &Inputs<'_>) -> &'static str {
    if i.time != TimeRelation::Reasonable {
        "not certain/probable/possible: no reasonable time relationship"
    } else if i.other != OtherExplanation::Excluded {
        "not certain: disease or other drugs not excluded"
    } else if i.withdrawal != WithdrawalResponse::Positive {
        "not certain: no positive response to withdrawal"
    } else if !i.definitive {
        "not certain: event not shown to be definitive"
    } else {
        "not certain: no positive rechallenge"
    }
}
