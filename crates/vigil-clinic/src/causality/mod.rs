//! Causality assessment of one suspect drug for one reaction: Naranjo, WHO-UMC and Liverpool.
//!
//! Each method is derived from the case facts where the facts answer its questions (timing from the
//! drug start and reaction onset dates, dechallenge and rechallenge, alternative causes, tests, past drug
//! reactions), and from explicit answers otherwise; an explicit answer always wins. Every item says which
//! of the two it used and why, so a reviewer can check the result line by line.
//!
//! The item names here are short paraphrases; the methods' own wording is copyrighted (ASCPT for
//! Naranjo, the Uppsala Monitoring Centre for WHO-UMC) and is not reproduced (clinical.md §1).
use serde::{Deserialize, Serialize};

use crate::case::{Case, DechallengeAction, Rechallenge, TestResult};
use crate::date::PartialDate;

pub mod liverpool;
pub mod naranjo;
pub mod who_umc;

/// Yes / no / don't know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// Yes.
    Yes,
    /// No.
    No,
    /// Don't know / not done / not applicable.
    Unknown,
}

/// Where an item's answer came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "why")]
pub enum Basis {
    /// Given explicitly in the case's `causality_answers`.
    Explicit,
    /// Derived from the case facts; the text says from which.
    Derived(String),
    /// Nothing in the case answers it.
    NoInformation(String),
}

/// Explicit causality answers for a reaction; each present field overrides the derived answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CausalityAnswers {
    /// Naranjo items.
    #[serde(default)]
    pub naranjo: naranjo::NaranjoAnswers,
    /// WHO-UMC criteria.
    #[serde(default)]
    pub who_umc: who_umc::WhoUmcAnswers,
    /// Liverpool tool questions.
    #[serde(default)]
    pub liverpool: liverpool::LiverpoolAnswers,
    /// Conclusions stated by the clinician (or another assessor) themselves. They are exported in
    /// E2B G.k.9.i.2.r as that assessor's; vigil's derived results are exported apart, labelled as
    /// vigil's algorithm, and never stand in for them.
    #[serde(default)]
    pub stated: Vec<StatedAssessment>,
}

/// A causality conclusion stated by an assessor, not derived by vigil (E2B G.k.9.i.2.r: free text,
/// at most 60 characters each, clinical.md §5.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatedAssessment {
    /// The suspect drug it concerns (its `id`, or `drug-<k>`); absent = every suspect drug.
    #[serde(default)]
    pub drug: Option<String>,
    /// G.k.9.i.2.r.1 who assessed, e.g. "reporting dermatologist".
    pub source: String,
    /// G.k.9.i.2.r.2 method, e.g. "global introspection" or "WHO-UMC".
    pub method: String,
    /// G.k.9.i.2.r.3 result, e.g. "possible".
    pub result: String,
}

/// The result of all three methods for one drug–reaction pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PairAssessment {
    /// Drug reference (G.k id).
    pub drug_ref: String,
    /// Drug name.
    pub drug: String,
    /// Reaction reference (E.i id).
    pub reaction_ref: String,
    /// Reaction term.
    pub reaction: String,
    /// Naranjo.
    pub naranjo: naranjo::Naranjo,
    /// WHO-UMC.
    pub who_umc: who_umc::WhoUmc,
    /// Liverpool.
    pub liverpool: liverpool::Liverpool,
}

/// Assess every suspect or interacting drug against every reaction.
pub fn assess_case(case: &Case) -> Vec<PairAssessment> {
    let mut out = Vec::new();
    for k in case.suspect_drugs() {
        for i in 0..case.reactions.len() {
            let facts = PairFacts::gather(case, k, i);
            out.push(PairAssessment {
                drug_ref: case.drug_ref(k),
                drug: case.drugs[k].name.clone(),
                reaction_ref: case.reaction_ref(i),
                reaction: case.reactions[i].term.clone(),
                naranjo: naranjo::assess(&facts),
                who_umc: who_umc::assess(&facts),
                liverpool: liverpool::assess(&facts),
            });
        }
    }
    out
}

/// Timing of the reaction relative to the first dose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Onset on or after the first dose; days when both dates are exact.
    After(Option<i64>),
    /// Onset before the first dose.
    Before,
    /// Dates missing or too imprecise to order.
    Unknown,
}

/// Orders two partial dates when their precision allows it.
fn order(start: &PartialDate, onset: &PartialDate) -> Timing {
    if let Some(d) = start.days_until(onset) {
        return if d >= 0 {
            Timing::After(Some(d))
        } else {
            Timing::Before
        };
    }
    // Compare at the coarser common precision: year, then month when both have one.
    let s = start.to_string();
    let o = onset.to_string();
    let n = s.len().min(o.len()); // "YYYY" (4) or "YYYY-MM" (7)
    match o[..n].cmp(&s[..n]) {
        std::cmp::Ordering::Greater => Timing::After(None),
        std::cmp::Ordering::Less => Timing::Before,
        std::cmp::Ordering::Equal => Timing::Unknown,
    }
}

/// The facts of one drug–reaction pair that the three methods ask about.
#[derive(Debug, Clone)]
pub struct PairFacts<'a> {
    /// The case.
    pub case: &'a Case,
    /// Drug index.
    pub drug: usize,
    /// Reaction index.
    pub reaction: usize,
    /// Explicit answers (defaults when none were given).
    pub answers: CausalityAnswers,
    /// Onset relative to the first dose.
    pub timing: Timing,
    /// The reaction is a catalogued, published reaction to this drug (with the citation).
    pub known_reaction: Option<String>,
}

impl<'a> PairFacts<'a> {
    /// Collect the facts for drug `k` and reaction `i`.
    pub fn gather(case: &'a Case, k: usize, i: usize) -> Self {
        let drug = &case.drugs[k];
        let reaction = &case.reactions[i];
        let timing = match (&drug.start, &reaction.onset) {
            (Some(s), Some(o)) => order(s, o),
            _ => Timing::Unknown,
        };
        let known_reaction = crate::flare::catalogued_entity(drug, reaction)
            .and_then(|e| Some(format!("{} — {}", e.name(), e.published_reaction_source()?)));
        PairFacts {
            case,
            drug: k,
            reaction: i,
            answers: reaction.causality_answers.clone().unwrap_or_default(),
            timing,
            known_reaction,
        }
    }

    /// Describe the timing for an explanation.
    pub fn timing_text(&self) -> String {
        let d = &self.case.drugs[self.drug];
        let r = &self.case.reactions[self.reaction];
        let fmt =
            |x: &Option<PartialDate>| x.map(|d| d.to_string()).unwrap_or_else(|| "unknown".into());
        match self.timing {
            Timing::After(Some(days)) => format!(
                "onset {} is {days} days after the first dose {}",
                fmt(&r.onset),
                fmt(&d.start)
            ),
            Timing::After(None) => format!(
                "onset {} is after the first dose {} (partial dates)",
                fmt(&r.onset),
                fmt(&d.start)
            ),
            Timing::Before => format!(
                "onset {} is before the first dose {}",
                fmt(&r.onset),
                fmt(&d.start)
            ),
            Timing::Unknown => format!(
                "onset {} and first dose {} cannot be ordered",
                fmt(&r.onset),
                fmt(&d.start)
            ),
        }
    }

    /// The dechallenge recorded for the reaction, as (action, positive?, negative?).
    pub fn dechallenge(&self) -> Option<(DechallengeAction, bool, bool)> {
        self.case.reactions[self.reaction]
            .dechallenge
            .as_ref()
            .map(|d| (d.action, d.result.is_positive(), d.result.is_negative()))
    }

    /// The rechallenge recorded for the reaction.
    pub fn rechallenge(&self) -> Option<Rechallenge> {
        self.case.reactions[self.reaction].rechallenge
    }

    /// Alternative causes: `None` not assessed, `Some(empty)` looked for and none found.
    pub fn alternatives(&self) -> Option<&Vec<String>> {
        self.case.reactions[self.reaction]
            .alternative_causes
            .as_ref()
    }

    /// Names of positive tests that objectively confirm the event.
    pub fn confirming_tests(&self) -> Vec<&str> {
        self.case
            .tests
            .iter()
            .filter(|t| t.confirms_event && t.result == TestResult::Positive)
            .map(|t| t.name.as_str())
            .collect()
    }

    /// Names of positive tests that show the causal mechanism.
    pub fn mechanism_tests(&self) -> Vec<&str> {
        self.case
            .tests
            .iter()
            .filter(|t| t.shows_mechanism && t.result == TestResult::Positive)
            .map(|t| t.name.as_str())
            .collect()
    }

    /// Names of tests whose result is awaited.
    pub fn pending_tests(&self) -> Vec<&str> {
        self.case
            .tests
            .iter()
            .filter(|t| t.result == TestResult::Pending)
            .map(|t| t.name.as_str())
            .collect()
    }

    /// An earlier reaction to the same drug (matched on product or substance name, case-insensitive).
    pub fn previous_reaction_to_drug(&self) -> Option<String> {
        let d = &self.case.drugs[self.drug];
        let names: Vec<String> = std::iter::once(d.name.to_lowercase())
            .chain(d.substance.iter().map(|s| s.to_lowercase()))
            .collect();
        self.case
            .patient
            .past_drug_reactions
            .iter()
            .find(|p| names.contains(&p.drug.to_lowercase()))
            .map(|p| format!("{} with {}", p.reaction, p.drug))
    }
}
