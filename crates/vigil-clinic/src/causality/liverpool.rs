//! The Liverpool ADR causality assessment tool (LCAT): definite / probable / possible / unlikely.
//!
//! # Algorithm
//! The flowchart as transcribed in clinical.md §1.3 (**partly verified**: a third party's reading of
//! Gallagher 2011 Figure 2, not checked against the figure itself):
//! ```text
//! 1 event after the drug (or a dose increase)?  no, and no pre-existing symptom made worse → UNLIKELY
//! 2 improved when stopped or dose reduced?      yes or unassessable → 3
//!                                               no → permanent disability/impairment? no → POSSIBLE; yes → 3
//! 3 probability that the underlying disease caused it:
//!      low            → positive rechallenge? yes → DEFINITE; no → 4
//!      high or unsure → objective evidence for the causal mechanism? no → POSSIBLE; yes → 4
//! 4 same event with this drug before in this patient? yes → DEFINITE
//!      no → reported before with this drug? yes → PROBABLE; no → POSSIBLE
//! ```
//! "Unassessable" dechallenge covers a single-dose medicine, intermittent therapy or one that cannot be
//! stopped; "objective evidence" means a positive test of the causal mechanism, supratherapeutic levels,
//! or good evidence of dose dependence in the patient (flowchart footnotes, verified in the PLOS ONE 2017
//! figure legend). vigil counts an improvement after a dose reduction or interval extension as that
//! dose-dependence evidence.
//!
//! # When the flowchart stops without a category
//! The flowchart has no branch for an unknown answer. When the case cannot answer step 1 (the onset
//! and the first dose cannot be ordered) or step 2 (no dechallenge with a known result, and the drug
//! was not given once), vigil does not guess: the result is [`NOT_REACHED`], the path shows the step
//! where it stopped and what would answer it (an explicit answer in `causality_answers.liverpool`).
//! "Unassessable" is derived only for a drug given once (one regimen without a dosing interval);
//! intermittent therapy or a drug that cannot be stopped is the assessor's explicit answer, because a
//! drug that could be stopped but was continued has no dechallenge answer (clinical.md §1.3 footnote
//! and additions 2026-12).
//!
//! # References
//! Gallagher RM et al., PLoS One 2011;6(12):e28096, doi:10.1371/journal.pone.0028096 (CC BY); footnotes
//! from the PLOS ONE 2017 figure legend (journal.pone.0172830) — clinical.md §1.3.
use serde::{Deserialize, Serialize};

use super::{Basis, PairFacts, Timing};
use crate::case::{DechallengeAction, Outcome, Rechallenge};

/// Answer to the dechallenge question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DechallengeAnswer {
    /// Improved.
    Yes,
    /// Did not improve.
    No,
    /// Cannot be assessed.
    Unassessable,
}

/// Probability that the underlying disease caused the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiseaseProbability {
    /// Low.
    Low,
    /// High or unsure.
    HighOrUnsure,
}

/// Explicit Liverpool answers; absent ones are derived.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiverpoolAnswers {
    /// Step 1.
    #[serde(default)]
    pub after_drug: Option<bool>,
    /// Step 1, second half.
    #[serde(default)]
    pub pre_existing_made_worse: Option<bool>,
    /// Step 2.
    #[serde(default)]
    pub improved_on_stop: Option<DechallengeAnswer>,
    /// Step 2, "no" branch.
    #[serde(default)]
    pub permanent_impairment: Option<bool>,
    /// Step 3.
    #[serde(default)]
    pub disease_probability: Option<DiseaseProbability>,
    /// Step 3, low branch.
    #[serde(default)]
    pub positive_rechallenge: Option<bool>,
    /// Step 3, high/unsure branch.
    #[serde(default)]
    pub objective_mechanism_evidence: Option<bool>,
    /// Step 4.
    #[serde(default)]
    pub same_event_before_with_drug: Option<bool>,
    /// Step 4, "no" branch.
    #[serde(default)]
    pub reported_before_with_drug: Option<bool>,
}

/// The category when the flowchart cannot be followed to an end with the case's facts.
pub const NOT_REACHED: &str = "not reached";

/// One step taken through the flowchart.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// The question.
    pub question: &'static str,
    /// The answer.
    pub answer: String,
    /// Where it came from.
    pub basis: Basis,
}

/// A Liverpool result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Liverpool {
    /// definite / probable / possible / unlikely, or [`NOT_REACHED`].
    pub category: &'static str,
    /// The path through the flowchart.
    pub path: Vec<Step>,
    /// Verification status of the flowchart transcription.
    pub note: &'static str,
}

fn pick<T>(explicit: Option<T>, derived: impl FnOnce() -> (T, Basis)) -> (T, Basis) {
    match explicit {
        Some(v) => (v, Basis::Explicit),
        None => derived(),
    }
}

/// Walk the flowchart. Each question takes the explicit answer when one is given, else the one
/// derived from the case by the function named beside it; the path records which.
pub fn assess(f: &PairFacts<'_>) -> Liverpool {
    let a = f.answers.liverpool;
    let mut path = Vec::new();
    let note =
        "flowchart from a third-party transcription of Gallagher 2011 Fig. 2 (partly verified)";
    let done = |category, path| Liverpool {
        category,
        path,
        note,
    };
    let mut ask = |question: &'static str, answer: String, basis: Basis| {
        path.push(Step {
            question,
            answer,
            basis,
        })
    };

    // Step 1.
    const Q1: &str = "event after the drug was given or the dose increased?";
    let after = match (a.after_drug, f.timing) {
        (Some(v), _) => Some((v, Basis::Explicit)),
        (None, Timing::After(_)) => Some((true, Basis::Derived(f.timing_text()))),
        (None, Timing::Before) => Some((false, Basis::Derived(f.timing_text()))),
        (None, Timing::Unknown) => None,
    };
    let Some((after, b)) = after else {
        // No time relationship: the flowchart cannot start.
        let why = format!("{}; the flowchart has no branch for an unknown time relationship (answer causality_answers.liverpool.after_drug)", f.timing_text());
        ask(Q1, "unknown".into(), Basis::NoInformation(why));
        return done(NOT_REACHED, path);
    };
    ask(Q1, yes_no(after), b);
    if !after {
        let (worse, b) = pick(a.pre_existing_made_worse, || {
            (
                false,
                Basis::NoInformation("no pre-existing symptom recorded as made worse".into()),
            )
        });
        ask(
            "pre-existing symptom made worse by the drug?",
            yes_no(worse),
            b,
        );
        if !worse {
            return done("unlikely", path);
        }
    }

    // Step 2.
    const Q2: &str = "improved when the drug was stopped or the dose reduced?";
    let dechallenge = match a.improved_on_stop {
        Some(v) => Some((v, Basis::Explicit)),
        None => derived_dechallenge(f),
    };
    let Some((dech, b)) = dechallenge else {
        let why = "no dechallenge with a known result, and the drug was not given once: 'unassessable' is for a single dose, intermittent therapy or a drug that cannot be stopped (answer causality_answers.liverpool.improved_on_stop)";
        ask(Q2, "unknown".into(), Basis::NoInformation(why.into()));
        return done(NOT_REACHED, path);
    };
    ask(Q2, format!("{dech:?}").to_lowercase(), b);
    if dech == DechallengeAnswer::No {
        let (perm, b) = pick(a.permanent_impairment, || permanent_impairment(f));
        ask("permanent disability or impairment?", yes_no(perm), b);
        if !perm {
            return done("possible", path);
        }
    }

    // Step 3.
    let (disease, b) = pick(a.disease_probability, || disease_probability(f));
    ask(
        "probability that the underlying disease caused it?",
        match disease {
            DiseaseProbability::Low => "low".into(),
            DiseaseProbability::HighOrUnsure => "high or unsure".into(),
        },
        b,
    );
    match disease {
        DiseaseProbability::Low => {
            let (rech, b) = pick(a.positive_rechallenge, || positive_rechallenge(f));
            ask("positive rechallenge?", yes_no(rech), b);
            if rech {
                return done("definite", path);
            }
        }
        DiseaseProbability::HighOrUnsure => {
            let (obj, b) = pick(a.objective_mechanism_evidence, || objective_mechanism(f));
            ask(
                "objective evidence for the causal mechanism?",
                yes_no(obj),
                b,
            );
            if !obj {
                return done("possible", path);
            }
        }
    }

    // Step 4.
    let (before, b) = pick(a.same_event_before_with_drug, || same_event_before(f));
    ask(
        "same event with this drug before in this patient?",
        yes_no(before),
        b,
    );
    if before {
        return done("definite", path);
    }
    let (reported, b) = pick(a.reported_before_with_drug, || reported_before(f));
    ask("event reported before with this drug?", yes_no(reported), b);
    done(if reported { "probable" } else { "possible" }, path)
}

/// Step 2 from the case: the recorded dechallenge, or "unassessable" for a drug given once;
/// `None` when neither tells (the flowchart is then not reached).
fn derived_dechallenge(f: &PairFacts<'_>) -> Option<(DechallengeAnswer, Basis)> {
    match f.dechallenge() {
        Some((act, true, _)) => Some((
            DechallengeAnswer::Yes,
            Basis::Derived(format!("improved after {}", act.label())),
        )),
        Some((act, _, true)) => Some((
            DechallengeAnswer::No,
            Basis::Derived(format!("no improvement after {}", act.label())),
        )),
        _ if given_once(f) => Some((
            DechallengeAnswer::Unassessable,
            Basis::Derived("the drug was given once (one dose, no dosing interval)".into()),
        )),
        _ => None,
    }
}

/// Permanent impairment: the disability criterion, or recovery with sequelae.
fn permanent_impairment(f: &PairFacts<'_>) -> (bool, Basis) {
    let r = &f.case.reactions[f.reaction];
    let p = r.seriousness.disability || r.outcome == Outcome::RecoveredWithSequelae;
    (
        p,
        Basis::Derived(format!(
            "disability criterion {}, outcome {:?}",
            r.seriousness.disability, r.outcome
        )),
    )
}

/// Low only when alternative causes were looked for and none was found.
fn disease_probability(f: &PairFacts<'_>) -> (DiseaseProbability, Basis) {
    match f.alternatives() {
        Some(v) if v.is_empty() => (
            DiseaseProbability::Low,
            Basis::Derived("alternative causes looked for, none found".into()),
        ),
        Some(v) => (
            DiseaseProbability::HighOrUnsure,
            Basis::Derived(format!("alternative causes recorded: {}", v.join("; "))),
        ),
        None => (
            DiseaseProbability::HighOrUnsure,
            Basis::NoInformation("alternative causes not assessed: unsure".into()),
        ),
    }
}

fn positive_rechallenge(f: &PairFacts<'_>) -> (bool, Basis) {
    match f.rechallenge() {
        Some(Rechallenge::Recurred) => (true, Basis::Derived("rechallenge: recurred".into())),
        Some(r) => (false, Basis::Derived(format!("rechallenge: {}", r.label()))),
        None => (
            false,
            Basis::NoInformation("no rechallenge recorded".into()),
        ),
    }
}

/// A mechanism test, or dose dependence in this patient (improved after a dose reduction or a
/// longer interval).
fn objective_mechanism(f: &PairFacts<'_>) -> (bool, Basis) {
    let tests = f.mechanism_tests();
    if !tests.is_empty() {
        return (
            true,
            Basis::Derived(format!("mechanism shown by {}", tests.join(", "))),
        );
    }
    match f.dechallenge() {
        Some((
            act @ (DechallengeAction::DoseReduced | DechallengeAction::IntervalExtended),
            true,
            _,
        )) => (
            true,
            Basis::Derived(format!(
                "dose dependence in this patient: improved after {}",
                act.label()
            )),
        ),
        _ => (
            false,
            Basis::NoInformation(
                "no mechanism test, drug level or dose-dependence recorded".into(),
            ),
        ),
    }
}

fn same_event_before(f: &PairFacts<'_>) -> (bool, Basis) {
    match f.previous_reaction_to_drug() {
        Some(p) => (
            true,
            Basis::Derived(format!("earlier reaction recorded: {p}")),
        ),
        None => (
            false,
            Basis::NoInformation("no earlier reaction to this drug recorded".into()),
        ),
    }
}

fn reported_before(f: &PairFacts<'_>) -> (bool, Basis) {
    match &f.known_reaction {
        Some(src) => (
            true,
            Basis::Derived(format!("published with this drug: {src}")),
        ),
        None => (
            false,
            Basis::NoInformation("not a catalogued published reaction to this drug".into()),
        ),
    }
}

/// One regimen without a dosing interval: a single administration (the tool's "medicine given once").
fn given_once(f: &PairFacts<'_>) -> bool {
    let regimens = &f.case.drugs[f.drug].regimens;
    regimens.len() == 1 && regimens[0].every.is_none()
}

fn yes_no(b: bool) -> String {
    if b {
        "yes".into()
    } else {
        "no".into()
    }
}
