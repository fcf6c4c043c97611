//! The Naranjo adverse drug reaction probability scale: ten items, a total and a category.
//!
//! # Formula
//! ```text
//! item scores (yes / no / don't know):
//!  1 earlier conclusive reports of this reaction      +1 /  0 / 0
//!  2 event after the suspect drug was given           +2 / −1 / 0
//!  3 improved on stopping or on a specific antagonist +1 /  0 / 0
//!  4 reappeared on readministration                   +2 / −1 / 0
//!  5 alternative causes could explain it alone        −1 / +2 / 0
//!  6 reappeared with a placebo                        −1 / +1 / 0
//!  7 toxic drug concentration measured                +1 /  0 / 0
//!  8 dose-related (worse on increase / less on decrease) +1 / 0 / 0
//!  9 similar reaction on earlier exposure             +1 /  0 / 0
//! 10 confirmed by objective evidence                  +1 /  0 / 0
//! total = Σ item scores (−4 … +13)
//! category: ≥ 9 definite; 5–8 probable; 1–4 possible; ≤ 0 doubtful
//! ```
//!
//! # Defaults
//! Items 6 and 7 are never derived (a placebo rechallenge or a drug level is not part of a dermatology
//! case record); without an explicit answer they are "don't know" (0). Item 8 takes a dupilumab
//! dosing-interval extension as a dose decrease (clinical.md §1.1 implementation note).
//!
//! # References
//! Naranjo CA, Busto U, Sellers EM et al., Clin Pharmacol Ther 1981;30(2):239-245,
//! doi:10.1038/clpt.1981.154; item scores as reprinted in PMC5774610 Table 2 and PMC6136411 Table 1
//! (clinical.md §1.1).
use serde::{Deserialize, Serialize};

use super::{Answer, Basis, PairFacts, Timing};
use crate::case::{DechallengeAction, Rechallenge};

/// Explicit answers to the ten items; absent items are derived.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NaranjoAnswers {
    /// Item 1.
    #[serde(default)]
    pub previous_reports: Option<Answer>,
    /// Item 2.
    #[serde(default)]
    pub after_drug: Option<Answer>,
    /// Item 3.
    #[serde(default)]
    pub improved_on_withdrawal: Option<Answer>,
    /// Item 4.
    #[serde(default)]
    pub reappeared_on_readministration: Option<Answer>,
    /// Item 5.
    #[serde(default)]
    pub alternative_causes: Option<Answer>,
    /// Item 6.
    #[serde(default)]
    pub placebo_reaction: Option<Answer>,
    /// Item 7.
    #[serde(default)]
    pub toxic_concentration: Option<Answer>,
    /// Item 8.
    #[serde(default)]
    pub dose_related: Option<Answer>,
    /// Item 9.
    #[serde(default)]
    pub previous_similar_reaction: Option<Answer>,
    /// Item 10.
    #[serde(default)]
    pub objective_evidence: Option<Answer>,
}

impl NaranjoAnswers {
    fn get(&self, item: usize) -> Option<Answer> {
        [
            self.previous_reports,
            self.after_drug,
            self.improved_on_withdrawal,
            self.reappeared_on_readministration,
            self.alternative_causes,
            self.placebo_reaction,
            self.toxic_concentration,
            self.dose_related,
            self.previous_similar_reaction,
            self.objective_evidence,
        ][item]
    }
}

/// Short item names (paraphrased).
pub const ITEM_NAMES: [&str; 10] = [
    "earlier conclusive reports of this reaction",
    "event appeared after the drug was given",
    "improved when the drug was stopped or antagonised",
    "reappeared when the drug was given again",
    "alternative causes could explain it on their own",
    "reappeared with a placebo",
    "drug found at a toxic concentration",
    "dose-related (worse with more, better with less)",
    "similar reaction on an earlier exposure",
    "confirmed by objective evidence",
];

/// Points for (yes, no, don't know) per item, from the 1981 table.
pub const POINTS: [(i32, i32, i32); 10] = [
    (1, 0, 0),
    (2, -1, 0),
    (1, 0, 0),
    (2, -1, 0),
    (-1, 2, 0),
    (-1, 1, 0),
    (1, 0, 0),
    (1, 0, 0),
    (1, 0, 0),
    (1, 0, 0),
];

/// One scored item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NaranjoItem {
    /// 1–10.
    pub number: usize,
    /// Short name.
    pub name: &'static str,
    /// The answer.
    pub answer: Answer,
    /// Its points.
    pub points: i32,
    /// Where the answer came from.
    pub basis: Basis,
}

/// A Naranjo result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Naranjo {
    /// The ten items.
    pub items: Vec<NaranjoItem>,
    /// Sum of points.
    pub total: i32,
    /// definite / probable / possible / doubtful.
    pub category: &'static str,
}

/// The category of a total: ≥ 9 definite, 5–8 probable, 1–4 possible, ≤ 0 doubtful.
pub fn category(total: i32) -> &'static str {
    match total {
        t if t >= 9 => "definite",
        5..=8 => "probable",
        1..=4 => "possible",
        _ => "doubtful",
    }
}

/// Score ten answers (the worked-example entry point: no derivation).
pub fn score(answers: [Answer; 10]) -> (i32, &'static str) {
    let total = answers.iter().zip(POINTS).map(|(a, p)| points(*a, p)).sum();
    (total, category(total))
}

fn points(a: Answer, (yes, no, dk): (i32, i32, i32)) -> i32 {
    match a {
        Answer::Yes => yes,
        Answer::No => no,
        Answer::Unknown => dk,
    }
}

fn derive(f: &PairFacts<'_>, item: usize) -> (Answer, Basis) {
    use Answer::*;
    let none = |why: &str| (Unknown, Basis::NoInformation(why.to_string()));
    match item {
        0 => match &f.known_reaction {
            Some(src) => (
                Yes,
                Basis::Derived(format!("published with this drug: {src}")),
            ),
            None => none("not a reaction catalogued with published reports for this drug"),
        },
        1 => match f.timing {
            Timing::After(_) => (Yes, Basis::Derived(f.timing_text())),
            Timing::Before => (No, Basis::Derived(f.timing_text())),
            Timing::Unknown => none(&f.timing_text()),
        },
        2 => match f.dechallenge() {
            Some((a, true, _)) if a.is_withdrawal() => {
                (Yes, Basis::Derived(format!("improved after {}", a.label())))
            }
            Some((a, _, true)) if a.is_withdrawal() => (
                No,
                Basis::Derived(format!("no improvement after {}", a.label())),
            ),
            Some((a, _, _)) if !a.is_withdrawal() => {
                none("the drug was not stopped (dose or interval changed instead: see item 8)")
            }
            _ => none("no dechallenge recorded"),
        },
        3 => match f.rechallenge() {
            Some(Rechallenge::Recurred) => (
                Yes,
                Basis::Derived("rechallenge: the reaction recurred".into()),
            ),
            Some(Rechallenge::DidNotRecur) => (
                No,
                Basis::Derived("rechallenge: the reaction did not recur".into()),
            ),
            _ => none("no rechallenge with a known outcome"),
        },
        4 => match f.alternatives() {
            Some(v) if !v.is_empty() => (
                Yes,
                Basis::Derived(format!("alternative causes recorded: {}", v.join("; "))),
            ),
            Some(_) => (
                No,
                Basis::Derived("alternative causes were looked for and none found".into()),
            ),
            None => none("alternative causes not assessed"),
        },
        5 => none("placebo rechallenge is never derived"),
        6 => none("drug concentrations are never derived"),
        7 => match f.dechallenge() {
            Some((
                a @ (DechallengeAction::IntervalExtended | DechallengeAction::DoseReduced),
                true,
                _,
            )) => (
                Yes,
                Basis::Derived(format!(
                    "less severe after {}",
                    if a == DechallengeAction::IntervalExtended {
                        "the dosing interval was extended"
                    } else {
                        "the dose was reduced"
                    }
                )),
            ),
            Some((
                DechallengeAction::IntervalExtended | DechallengeAction::DoseReduced,
                _,
                true,
            )) => (
                No,
                Basis::Derived("no improvement after the dose or interval was reduced".into()),
            ),
            _ => none("no dose change recorded"),
        },
        8 => match f.previous_reaction_to_drug() {
            Some(p) => (
                Yes,
                Basis::Derived(format!("earlier reaction recorded: {p}")),
            ),
            None => none("no earlier reaction to this drug recorded"),
        },
        _ => {
            let tests = f.confirming_tests();
            if tests.is_empty() {
                none("no positive test confirming the event")
            } else {
                (
                    Yes,
                    Basis::Derived(format!("confirmed by: {}", tests.join(", "))),
                )
            }
        }
    }
}

/// Derive or take each item, score and categorise.
pub fn assess(f: &PairFacts<'_>) -> Naranjo {
    let items: Vec<NaranjoItem> = (0..10)
        .map(|i| {
            let (answer, basis) = match f.answers.naranjo.get(i) {
                Some(a) => (a, Basis::Explicit),
                None => derive(f, i),
            };
            NaranjoItem {
                number: i + 1,
                name: ITEM_NAMES[i],
                answer,
                points: points(answer, POINTS[i]),
                basis,
            }
        })
        .collect();
    let total = items.iter().map(|i| i.points).sum();
    Naranjo {
        items,
        total,
        category: category(total),
    }
}
