//! Reaction-vs-flare decision support for a new rash (or red eye) on dupilumab.
//!
//! **Decision support, not a diagnosis.** For each candidate entity — a true atopic dermatitis flare,
//! dupilumab facial redness / head-and-neck dermatitis, a psoriasiform eruption, a rosacea-like
//! eruption, eczema herpeticum, herpes simplex, a bacterial skin infection, allergic contact dermatitis,
//! topical-steroid withdrawal, a seborrhoeic-dermatitis-like eruption, ocular surface disease, an
//! injection-site reaction (and, when the case points to them, alopecia areata or
//! arthralgia/enthesitis) — it lists the findings in the case that speak for and against it, the
//! findings recorded as context but not counted (with the reason), the published incidence, the typical
//! time to onset, the management the sources report and what they say about urgent signs, each with its
//! citation. The clinician decides.
//!
//! Every rule and figure comes from the verified or partly verified entries of clinical.md §4.3–§4.6.
//! What is deliberately *not* counted, and why:
//! - the time to onset: the published ranges come from small case series (e.g. 5–365 days in 42
//!   patients) and cohorts that still see new cases after two years, so an onset is shown beside the
//!   typical onset as context and never counts for or against an entity;
//! - "looks like / differs from the usual eczema": 45/101 drug-associated cases looked different and
//!   52/101 had facial/neck AD at baseline (Jo 2021), which does not discriminate;
//! - a missed dose before onset: no source gives a window in which a missed dose brings on a flare,
//!   and after dupilumab was replaced by placebo response was lost over weeks (SOLO-CONTINUE, median
//!   57 days to the first IGA ≥ 2);
//! - Malassezia-specific IgE measured on treatment: the cohort evidence concerns pretreatment levels.
//!
//! One rule is vigil's own reasoning and is labelled so: improvement on stopping or spacing the drug
//! favours a drug reaction over disease, and worsening on less drug favours the disease (the dechallenge
//! principle of Naranjo items 3 and 8 and WHO-UMC, clinical.md §1).
//!
//! Candidates are ordered by (findings for − findings against): a display order, not a probability,
//! and the output says so ([`ORDER_NOTE`]).
use serde::Serialize;

use crate::case::{
    BodySite, Case, Condition, DechallengeAction, Drug, Feature, LabTest, Reaction, TestKind,
    TestResult,
};
/// Which entity a term names is dupilumab knowledge: it lives in [`crate::knowledge::dupilumab`].
pub use crate::knowledge::dupilumab::entity_for_term;
use crate::knowledge::dupilumab::{self, words};

/// The disclaimer printed with every assessment.
pub const DISCLAIMER: &str =
    "Decision support, not a diagnosis: it lists published evidence and the case findings \
that bear on each candidate. The diagnosis is the clinician's.";

/// How the candidates are ordered, printed with every assessment.
pub const ORDER_NOTE: &str =
    "Candidates are listed by the number of findings for minus findings against: a display order, \
not a probability. Context lines are recorded but not counted.";

// Citations (clinical.md §4.3–§4.6).
const DE_WIJS: &str = "de Wijs et al., Br J Dermatol 2019 (repub.eur.nl/pub/122968)";
const JO_2021: &str =
    "systematic review, J Am Acad Dermatol 2021 (S0190-9622(21)00079-7; first author probably Jo)";
const WALDMAN: &str = "Waldman et al., J Am Acad Dermatol 2020;82:230";
const MUZUMDAR: &str = "Muzumdar et al., Am J Clin Dermatol 2022;23:61";
const HND_SERIES: &str = "42-patient head-and-neck dermatitis series (probably Soria et al., JAMA Dermatol 2019; attribution unverified)";
const MALASSEZIA_COHORT: &str =
    "prospective multicentre cohort on pretreatment Malassezia-specific IgE (clinical.md §4.5)";
const AHN_2022: &str = "Ahn 2022 (facial TCS history in 86% of exacerbation and 67% of new-onset cases; clinical.md §4.5)";
const REAL_WORLD_2Y: &str = "real-world 2-year cohort, PMC8362263 Table 1";
const TRAVE: &str = "Trave et al., J Clin Med 2023;12:6291";
const SU_ZENG: &str = "Su & Zeng scoping review (Karger)";
const JAMA_2025: &str = "JAMA Dermatol 2025, doi:10.1001/jamadermatol.2025.1578";
const PSO_ONSET: &str = "PMC10407831 Table 2 (de novo psoriasis, n=34)";
const VIGIBASE: &str = "VigiBase physician-report analysis (abstract; probably Bettuzzi et al.)";
const ROSACEA_FAERS: &str = "FAERS 2017–2024 rosacea signal with case review (clinical.md §4.4)";
const LABEL: &str = "Dupixent US prescribing information, AD trial safety table (dupixenthcp.com)";
const CHRONOS: &str = "CHRONOS (LIBERTY AD CHRONOS) abstract, acd2017asm";
const POPIELA: &str = "Popiela et al., medRxiv 2020.06.16.20124909";
const TAUQEER: &str = "Tauqeer et al., Clin Ophthalmol 2022;16:947";
const AKINLADE: &str = "Akinlade et al., Br J Dermatol 2019;181:459 (via a secondary summary)";
const SMPC_MISSED: &str = "EU SmPC missed-dose text (rxreasoner.com/indications/I-496847)";
const CHUNG_AA: &str = "Chung, Slaught, Simpson, JAAD Case Rep 2019; VigiBase abstract";
const ARTHRITIS_2023: &str = "Arthritis Rheumatol 2023;75(10):1793; ARD 2021;80(Suppl 1):1323";
const DERIVED_DECHALLENGE: &str = "vigil's reasoning from the dechallenge principle: Naranjo items 3 and 8; WHO-UMC response to withdrawal (clinical.md §1)";
const JO_2021_DISCRIMINATION: &str =
    "Jo et al., J Am Acad Dermatol 2021;84(5):1339: 45/101 described symptoms different from their usual AD, 52/101 had facial/neck AD at baseline (clinical.md, additions 2026-12)";
const SOLO_CONTINUE: &str = "Worm et al., SOLO-CONTINUE, JAMA Dermatol 2020;156(2):131, PMC6990756 Table 2: median 57 days (95% CI 56–58) to the first IGA ≥ 2 on placebo";
const SORIA_2019: &str = "Soria et al., JAMA Dermatol 2019;155(11):1312 (PMC6727675): 42 patients, 10 de novo and 32 exacerbations";
const FLEMING_DRUCKER: &str = "Fleming & Drucker, J Am Acad Dermatol 2018;78(1):62 (8 RCTs, 2,706 patients; clinical.md §4.6)";
const LABEL_WARNINGS: &str =
    "Dupixent US prescribing information, warnings (dupixenthcp.com; clinical.md §4.3)";
const ARTICLE_CHECK: &str = "clinical.md §4.6: reaction types and management steps described in the literature (seborrhoeic-dermatitis-like, ACD, TCS withdrawal; treat infection)";
const NOT_IN_SOURCES: &str = "clinical.md has no verified entry: unverified, so vigil lists none";
const CASE_HISTORY: &str =
    "case history (the entity includes a recurrence of the recorded condition)";
const CASE_TEST: &str =
    "case test result (the entity is defined by the finding the test looks for)";
const CASE_TERM: &str = "the reported term names it";
const DEFINITION_TSW: &str = "definition: a withdrawal reaction needs earlier corticosteroid use (Ahn 2022, clinical.md §4.5)";

/// The candidate entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Entity {
    /// A true atopic dermatitis flare.
    AdFlare,
    /// Dupilumab facial redness / dupilumab-associated head-and-neck dermatitis (DFR/DAHND).
    HeadNeckDermatitis,
    /// Psoriasis or a psoriasiform eruption.
    Psoriasiform,
    /// Rosacea or a rosacea-like eruption.
    Rosacea,
    /// Conjunctivitis / dupilumab-associated ocular surface disease.
    OcularSurfaceDisease,
    /// Injection-site reaction.
    InjectionSiteReaction,
    /// Alopecia areata.
    AlopeciaAreata,
    /// Arthralgia, enthesitis or arthritis.
    Arthralgia,
    /// Eczema herpeticum (disseminated herpes simplex on eczematous skin).
    EczemaHerpeticum,
    /// Herpes simplex (oral herpes and other HSV infections).
    HerpesSimplex,
    /// Bacterial skin infection.
    SkinInfection,
    /// Seborrhoeic-dermatitis-like eruption (or a recurrence of seborrhoeic dermatitis).
    SeborrhoeicDermatitisLike,
    /// Allergic contact dermatitis.
    ContactDermatitis,
    /// Topical-steroid withdrawal.
    TopicalSteroidWithdrawal,
}

/// A statement with its source.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cited {
    /// The statement.
    pub text: String,
    /// Where it comes from.
    pub source: &'static str,
}

fn cited(text: impl Into<String>, source: &'static str) -> Cited {
    Cited {
        text: text.into(),
        source,
    }
}

impl Entity {
    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Entity::AdFlare => "atopic dermatitis flare",
            Entity::HeadNeckDermatitis => "dupilumab facial redness / head-and-neck dermatitis",
            Entity::Psoriasiform => "psoriasis / psoriasiform eruption",
            Entity::Rosacea => "rosacea / rosacea-like eruption",
            Entity::OcularSurfaceDisease => "conjunctivitis / ocular surface disease",
            Entity::InjectionSiteReaction => "injection-site reaction",
            Entity::AlopeciaAreata => "alopecia areata",
            Entity::Arthralgia => "arthralgia / enthesitis / arthritis",
            Entity::EczemaHerpeticum => "eczema herpeticum",
            Entity::HerpesSimplex => "herpes simplex",
            Entity::SkinInfection => "bacterial skin infection",
            Entity::SeborrhoeicDermatitisLike => "seborrhoeic-dermatitis-like eruption",
            Entity::ContactDermatitis => "allergic contact dermatitis",
            Entity::TopicalSteroidWithdrawal => "topical-steroid withdrawal",
        }
    }

    /// The main source of the entity's incidence figure.
    pub fn incidence_source(self) -> &'static str {
        self.incidence().first().map(|c| c.source).unwrap_or("")
    }

    /// The source showing that the entity has been reported as a reaction to dupilumab (Naranjo item 1,
    /// Liverpool "reported before"), or `None` when the sources do not show that: an AD flare (CHRONOS:
    /// less worsening on dupilumab), eczema herpeticum and skin infection (both *less* frequent on
    /// dupilumab than placebo, Fleming & Drucker 2018), and the differentials without a dupilumab source.
    pub fn published_reaction_source(self) -> Option<&'static str> {
        match self {
            Entity::HeadNeckDermatitis
            | Entity::Psoriasiform
            | Entity::Rosacea
            | Entity::OcularSurfaceDisease => Some(self.incidence_source()),
            Entity::InjectionSiteReaction | Entity::AlopeciaAreata | Entity::Arthralgia => {
                Some(self.incidence_source())
            }
            // Oral herpes and other HSV infections are labelled adverse reactions (clinical.md §4.3).
            Entity::HerpesSimplex => Some(LABEL),
            Entity::AdFlare
            | Entity::EczemaHerpeticum
            | Entity::SkinInfection
            | Entity::SeborrhoeicDermatitisLike
            | Entity::ContactDermatitis
            | Entity::TopicalSteroidWithdrawal => None,
        }
    }

    /// Published incidence (or, where only that exists, a reporting statistic, labelled as such).
    pub fn incidence(self) -> Vec<Cited> {
        match self {
            Entity::AdFlare => vec![cited(
                "less worsening on dupilumab: 'dermatitis atopic' events 16.5% (weekly + TCS) and 18.2% (every 2 weeks + TCS) vs 45.7% with placebo + TCS over 52 weeks",
                CHRONOS,
            )],
            Entity::HeadNeckDermatitis => vec![
                cited("about 10% in real-world practice; not reported in the phase 3 trials", WALDMAN),
                cited("published range 4–43.8%", MUZUMDAR),
                cited("head/neck flare or redness in 1% (weeks 0–16), 3% (16–52), 5% (52–104)", REAL_WORLD_2Y),
            ],
            Entity::Psoriasiform => vec![
                cited("about 1.8–3.3% of AD patients on dupilumab", SU_ZENG),
                cited("3-year cumulative incidence 2.86% vs 1.79% on other systemics; HR 1.58 (95% CI 1.25–1.99)", JAMA_2025),
                cited("psoriasis-like eruptions IC025 2.2 (a reporting statistic, not an incidence)", VIGIBASE),
            ],
            Entity::Rosacea => vec![cited(
                "incidence unknown; FAERS signal ROR 3.873, IC025 1.653 (a reporting statistic, not an incidence)",
                ROSACEA_FAERS,
            )],
            Entity::OcularSurfaceDisease => vec![
                cited("conjunctivitis 10% vs 2% placebo (16-week monotherapy pool)", LABEL),
                cited("9% vs 5% with TCS over 52 weeks (CHRONOS, label cluster)", LABEL),
            ],
            Entity::InjectionSiteReaction => vec![cited("10% vs 5% placebo (16-week monotherapy pool)", LABEL)],
            Entity::AlopeciaAreata => vec![cited("incidence unknown; case reports of new onset and worsening; VigiBase IC025 4.1", CHUNG_AA)],
            Entity::Arthralgia => vec![cited("26/470 (5.5%) had inflammatory enthesitis/arthritis/tenosynovitis", ARTHRITIS_2023)],
            Entity::EczemaHerpeticum => vec![cited(
                "less frequent on dupilumab than on placebo: Peto OR 0.34 (95% CI 0.14–0.84)",
                FLEMING_DRUCKER,
            )],
            Entity::HerpesSimplex => vec![
                cited("oral herpes 4% vs 2% placebo (16-week monotherapy pool); 3% vs 2% with TCS over 52 weeks (CHRONOS)", LABEL),
                cited("other herpes simplex infection 2% vs 1% (16 weeks); 1% vs <1% (CHRONOS)", LABEL),
                cited("herpesvirus infections overall: RR 1.16 (95% CI 0.78–1.74), not significant", FLEMING_DRUCKER),
            ],
            Entity::SkinInfection => vec![
                cited("fewer skin infections on dupilumab than on placebo: RR 0.54 (95% CI 0.42–0.70)", FLEMING_DRUCKER),
                cited("infections overall: RR 0.98 (95% CI 0.83–1.16)", FLEMING_DRUCKER),
            ],
            Entity::SeborrhoeicDermatitisLike | Entity::ContactDermatitis | Entity::TopicalSteroidWithdrawal => {
                vec![cited("described on dupilumab; no incidence figure in vigil's sources", ARTICLE_CHECK)]
            }
        }
    }

    /// Typical time to onset, in words.
    pub fn onset(self) -> Vec<Cited> {
        match self {
            Entity::AdFlare => vec![cited(
                "no characteristic onset; when dupilumab was replaced by placebo, response was lost over weeks, not days (median 57 days to the first IGA ≥ 2; 80 days on every-4-weeks dosing)",
                SOLO_CONTINUE,
            )],
            Entity::HeadNeckDermatitis => vec![
                cited("mean 65.4 days after the first dose (range 5–365)", HND_SERIES),
                cited("10–39 weeks", DE_WIJS),
                cited("new head/neck flare or redness still in 5% in weeks 52–104", REAL_WORLD_2Y),
            ],
            Entity::Psoriasiform => vec![
                cited("de novo: mean 4.3 months (range 1–18)", PSO_ONSET),
                cited("relapse of pre-existing psoriasis after about 4 months", TRAVE),
            ],
            Entity::Rosacea => vec![cited("about 2 weeks to 21 months (10 cases)", ROSACEA_FAERS)],
            Entity::OcularSurfaceDisease => vec![
                cited("mean 6.75 ± 6.1 weeks", POPIELA),
                cited("mean 99 days, range 23–520 (n=19)", TAUQEER),
                cited("most often in the first 16 weeks", AKINLADE),
            ],
            Entity::InjectionSiteReaction => vec![cited("typically early: 4% in weeks 0–16 vs 1% later", REAL_WORLD_2Y)],
            Entity::AlopeciaAreata => vec![cited("case reports: 6–8 weeks (worsening) and 26 months (new onset)", CHUNG_AA)],
            Entity::Arthralgia => vec![cited("median 4 months, range 2 weeks–48 months", ARTHRITIS_2023)],
            Entity::EczemaHerpeticum
            | Entity::HerpesSimplex
            | Entity::SkinInfection
            | Entity::SeborrhoeicDermatitisLike
            | Entity::ContactDermatitis
            | Entity::TopicalSteroidWithdrawal => vec![cited("no onset data in vigil's sources", NOT_IN_SOURCES)],
        }
    }

    /// Management options the sources report.
    pub fn management(self) -> Vec<Cited> {
        match self {
            Entity::AdFlare => vec![cited(
                "restore the schedule: a missed every-2-weeks dose is given within 7 days, then the original schedule resumes; after 7 days, wait for the next scheduled dose",
                SMPC_MISSED,
            )],
            Entity::HeadNeckDermatitis => vec![
                cited("topical corticosteroids, calcineurin inhibitors and antifungals were the most used treatments; 11% stopped dupilumab", JO_2021),
                cited("responded temporarily to itraconazole and rapidly to a switch to upadacitinib, Malassezia IgE tracking the course", MALASSEZIA_COHORT),
                cited("of 57 patients with outcome data: 29 improved, 4 cleared, 16 did not respond, 8 worsened", JO_2021),
            ],
            Entity::Psoriasiform => vec![cited(
                "dupilumab interrupted in 38% (de novo) and 50% (relapse), mostly with improvement; 93% improved with management",
                TRAVE,
            )],
            Entity::Rosacea => vec![cited("dose-interval extension and interruption have been used", JO_2021)],
            Entity::OcularSurfaceDisease => vec![cited("refer to ophthalmology if conjunctivitis or keratitis does not resolve", LABEL)],
            Entity::InjectionSiteReaction => vec![cited("no management source in vigil's knowledge base", "clinical.md §4.4")],
            Entity::AlopeciaAreata => vec![cited("no management source in vigil's knowledge base (dupilumab has also been reported to improve AA)", CHUNG_AA)],
            Entity::Arthralgia => vec![cited(
                "improved with NSAIDs, dose/frequency reduction or cessation; moderate-to-severe symptoms persisted for months",
                ARTHRITIS_2023,
            )],
            Entity::EczemaHerpeticum | Entity::HerpesSimplex => vec![cited("no management source in vigil's knowledge base", NOT_IN_SOURCES)],
            Entity::SkinInfection => vec![cited("treat the infection (a management step the reviewed articles describe)", ARTICLE_CHECK)],
            Entity::SeborrhoeicDermatitisLike => vec![cited(
                "topical corticosteroids, calcineurin inhibitors and antifungals were the treatments most used for facial/neck erythema",
                JO_2021,
            )],
            Entity::ContactDermatitis => vec![cited("expanded patch testing to find the allergen", MUZUMDAR)],
            Entity::TopicalSteroidWithdrawal => vec![cited("consider topical-steroid withdrawal when there is a history of facial TCS", AHN_2022)],
        }
    }

    /// What to rule out and the urgent signs, as far as the sources say; an explicit "none in the
    /// sources" otherwise, so a reader never takes silence for reassurance.
    pub fn red_flags(self) -> Vec<Cited> {
        match self {
            Entity::OcularSurfaceDisease => vec![cited("label warning: conjunctivitis and keratitis; ophthalmology if not resolving", LABEL_WARNINGS)],
            Entity::EczemaHerpeticum | Entity::HerpesSimplex | Entity::SkinInfection => vec![cited(
                "what to rule out and the urgent signs of a skin infection are not in vigil's verified sources (clinical.md has the trial figures only); vigil lists none",
                NOT_IN_SOURCES,
            )],
            Entity::AlopeciaAreata | Entity::Arthralgia => {
                vec![cited("no urgent signs listed in vigil's sources", NOT_IN_SOURCES)]
            }
            _ => vec![cited(
                "label warning: if a hypersensitivity reaction occurs (anaphylaxis, serum sickness, angioedema, urticaria, rash, erythema nodosum, erythema multiforme), stop dupilumab",
                LABEL_WARNINGS,
            )],
        }
    }
}

/// What the clinical sources say about a reported term (a FAERS preferred term or a case's reaction
/// term): the report's §5.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TermKnowledge {
    /// The term as given.
    pub term: String,
    /// What vigil shows it as.
    pub topic: &'static str,
    /// The entity, when the term names one.
    pub entity: Option<Entity>,
    /// Why the term is shown this way, when that needs saying.
    pub note: Option<Cited>,
    /// Published incidence.
    pub incidence: Vec<Cited>,
    /// Typical time to onset.
    pub onset: Vec<Cited>,
    /// Management the sources report.
    pub management: Vec<Cited>,
    /// What to rule out, urgent signs.
    pub red_flags: Vec<Cited>,
}

/// What vigil shows for a reported term about dupilumab: the entity's figures, or for erythema and
/// rash without a face/head/neck site, the statement that they are not site-specific (the head-and-neck figures
/// belong to head/neck terms) with the label's hypersensitivity warning. `None` for other terms.
pub fn knowledge_for_term(term: &str) -> Option<TermKnowledge> {
    if let Some(e) = entity_for_term(term) {
        return Some(TermKnowledge {
            term: term.to_string(),
            topic: e.name(),
            entity: Some(e),
            note: None,
            incidence: e.incidence(),
            onset: e.onset(),
            management: e.management(),
            red_flags: e.red_flags(),
        });
    }
    let w = words(term);
    if !w
        .iter()
        .any(|x| matches!(x.as_str(), "erythema" | "rash" | "redness"))
    {
        return None;
    }
    Some(TermKnowledge {
        term: term.to_string(),
        topic: "erythema / rash, no head-and-neck site named",
        entity: None,
        note: Some(cited(
            "not site-specific: the figures for dupilumab facial redness / head-and-neck dermatitis apply only to head/neck terms, so none are shown here; vigil's sources give no incidence for erythema in general",
            HND_SERIES,
        )),
        incidence: Vec::new(),
        onset: Vec::new(),
        management: Vec::new(),
        red_flags: Entity::AdFlare.red_flags(),
    })
}

/// One finding in the case, for or against a candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// The finding.
    pub finding: String,
    /// Why it bears on the candidate, with its source.
    pub source: &'static str,
}

/// One candidate entity for a reaction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The entity.
    pub entity: Entity,
    /// Its name.
    pub name: &'static str,
    /// Findings that support it.
    pub evidence_for: Vec<Evidence>,
    /// Findings that speak against it.
    pub evidence_against: Vec<Evidence>,
    /// Findings recorded as context and not counted, each saying why.
    pub context: Vec<Evidence>,
    /// Published incidence.
    pub incidence: Vec<Cited>,
    /// Typical time to onset.
    pub onset: Vec<Cited>,
    /// Management options reported.
    pub management: Vec<Cited>,
    /// What to rule out, urgent signs.
    pub red_flags: Vec<Cited>,
}

/// Decision support for one reaction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlareAssessment {
    /// The disclaimer.
    pub disclaimer: &'static str,
    /// Reaction reference.
    pub reaction_ref: String,
    /// Reaction term.
    pub reaction: String,
    /// Days from the first dupilumab dose to onset (exact dates only).
    pub days_since_first_dose: Option<i64>,
    /// How the candidates are ordered ([`ORDER_NOTE`]).
    pub order_note: &'static str,
    /// Candidates, by findings for minus findings against (not a probability).
    pub candidates: Vec<Candidate>,
    /// Work-up the reviews suggest.
    pub work_up: Vec<Cited>,
}

/// Whether a drug is dupilumab (product or substance name; [`dupilumab::is_dupilumab`]).
pub fn is_dupilumab(drug: &Drug) -> bool {
    dupilumab::is_dupilumab(&drug.name)
        || drug
            .substance
            .as_deref()
            .is_some_and(dupilumab::is_dupilumab)
}

/// The entity a reaction names when the drug is dupilumab and the sources show that entity as a
/// reaction to it (used by causality for "reported before with this drug"). A worsening of atopic
/// dermatitis, eczema herpeticum and skin infection are recognised but not catalogued: the trials
/// found them *less* often on dupilumab ([`Entity::published_reaction_source`]).
pub fn catalogued_entity(drug: &Drug, reaction: &Reaction) -> Option<Entity> {
    if !is_dupilumab(drug) {
        return None;
    }
    entity_for_term(&reaction.term).filter(|e| e.published_reaction_source().is_some())
}

/// Reaction-vs-flare support for every reaction of a case whose suspect drugs include dupilumab.
/// Empty when no suspect drug is dupilumab.
pub fn assess_case(case: &Case) -> Vec<FlareAssessment> {
    let Some(k) = case.suspect_drugs().find(|&k| is_dupilumab(&case.drugs[k])) else {
        return Vec::new();
    };
    (0..case.reactions.len())
        .map(|i| assess_reaction(case, k, i))
        .collect()
}

struct Findings {
    pro: Vec<Evidence>,
    con: Vec<Evidence>,
    context: Vec<Evidence>,
}

impl Findings {
    fn new() -> Self {
        Findings {
            pro: Vec::new(),
            con: Vec::new(),
            context: Vec::new(),
        }
    }
    fn pro(&mut self, finding: impl Into<String>, source: &'static str) {
        self.pro.push(Evidence {
            finding: finding.into(),
            source,
        });
    }
    fn con(&mut self, finding: impl Into<String>, source: &'static str) {
        self.con.push(Evidence {
            finding: finding.into(),
            source,
        });
    }
    /// Recorded, not counted; the finding says why.
    fn context(&mut self, finding: impl Into<String>, source: &'static str) {
        self.context.push(Evidence {
            finding: finding.into(),
            source,
        });
    }
}

/// A missed dose on or before onset, as context: (due date, days from it to onset).
fn missed_dose_before(drug: &Drug, reaction: &Reaction) -> Option<String> {
    let onset = reaction.onset?;
    drug.missed_doses.iter().filter_map(|missed| Some((missed, missed.days_until(&onset)?))).filter(|&(_, gap)| gap >= 0).min_by_key(|&(_, gap)| gap).map(|(missed, gap)| {
        format!(
            "dose due {missed} was missed or late, onset {gap} days later: not counted — no source gives a window in which a missed dose brings on a flare, and on placebo response was lost over weeks"
        )
    })
}

/// A test done before the first dose of the drug (a pretreatment value), when its date shows it.
fn before_first_dose(test: &LabTest, drug: &Drug) -> Option<bool> {
    Some(test.date?.surely_before(&drug.start?))
}

fn assess_reaction(case: &Case, k: usize, i: usize) -> FlareAssessment {
    let drug = &case.drugs[k];
    let r = &case.reactions[i];
    let days = match (&drug.start, &r.onset) {
        (Some(s), Some(o)) => s.days_until(o),
        _ => None,
    };
    let sites = &r.sites;
    let feat = |f: Feature| r.features.contains(&f);
    let head_neck = sites.iter().any(|s| s.is_head_neck());
    let face = sites.contains(&BodySite::Face);
    let ocular = sites.contains(&BodySite::Eyes)
        || feat(Feature::ConjunctivalRedness)
        || feat(Feature::EyeItch)
        || feat(Feature::DryEye);
    let injection =
        sites.contains(&BodySite::InjectionSite) || feat(Feature::InjectionSiteReaction);
    let named = entity_for_term(&r.term);
    // Skin involved, or nothing recorded about where (an imported E2B case carries no sites).
    let skin = sites
        .iter()
        .any(|s| !matches!(s, BodySite::Eyes | BodySite::Joints))
        || (sites.is_empty() && !ocular)
        || named.is_some_and(|e| {
            !matches!(
                e,
                Entity::OcularSurfaceDisease | Entity::Arthralgia | Entity::AlopeciaAreata
            )
        });
    let prior_pso = case.has_history(Condition::Psoriasis);
    let tests_of = |kind: TestKind| case.tests.iter().filter(move |t| t.kind == kind);
    let test_result =
        |kind: TestKind, result: TestResult| tests_of(kind).find(|t| t.result == result);
    let missed = missed_dose_before(drug, r);
    let dech = r.dechallenge.as_ref();
    let drug_reduced_and = |positive_result: bool| {
        dech.filter(|d| {
            let reduce = matches!(
                d.action,
                DechallengeAction::IntervalExtended | DechallengeAction::DoseReduced
            ) || d.action.is_withdrawal();
            reduce
                && if positive_result {
                    d.result.is_positive()
                } else {
                    d.result == crate::case::DechallengeResult::Worsened
                }
        })
    };
    let improved_on_less =
        drug_reduced_and(true).map(|d| format!("improved after {}", d.action.label()));
    let worse_on_less =
        drug_reduced_and(false).map(|d| format!("worsened after {}", d.action.label()));

    // The onset beside the typical onset, as context only: the published ranges come from small
    // series and cohorts that keep seeing new cases, so they are not limits (module doc).
    let onset_context = |e: Entity, f: &mut Findings| {
        if let (Some(d), Some(typical)) = (
            days,
            e.onset().first().filter(|c| c.source != NOT_IN_SOURCES),
        ) {
            f.context(
                format!("onset {d} days after the first dose; typical onset: {} (a published range is context, not a limit)", typical.text),
                typical.source,
            );
        }
    };
    let different_context = |f: &mut Findings| {
        match r.different_from_usual_ad {
        Some(true) => f.context("differs from the patient's usual eczema: not counted, 45% of drug-associated cases did, so it does not discriminate", JO_2021_DISCRIMINATION),
        Some(false) => f.context("looks like the patient's usual eczema: not counted, only 45% of drug-associated cases were described as different, so it does not exclude a reaction", JO_2021_DISCRIMINATION),
        None => {}
    }
    };

    let mut out: Vec<(Entity, Findings)> = Vec::new();

    // AD flare.
    let mut f = Findings::new();
    if let Some(m) = &missed {
        f.context(m.clone(), SOLO_CONTINUE);
    }
    if let Some(w) = &worse_on_less {
        f.pro(
            format!("{w}: less drug, more disease points to the disease"),
            DERIVED_DECHALLENGE,
        );
    }
    if let Some(imp) = &improved_on_less {
        f.con(
            format!("{imp}: less drug, less reaction points to the drug, not the disease"),
            DERIVED_DECHALLENGE,
        );
    }
    match r.rest_of_skin_improving {
        Some(false) => f.pro("the eczema elsewhere is worsening too (unlike the drug-associated head/neck pattern: 6/7 improved elsewhere)", DE_WIJS),
        Some(true) => f.con("the eczema elsewhere is improving (6/7 patients with head/neck erythema improved elsewhere)", DE_WIJS),
        None => {}
    }
    different_context(&mut f);
    if named == Some(Entity::AdFlare) {
        f.context("the reported term names atopic dermatitis; in CHRONOS it was less frequent on dupilumab than on placebo", CHRONOS);
    }
    out.push((Entity::AdFlare, f));

    // Head-and-neck dermatitis.
    let mut f = Findings::new();
    let beyond_head_neck = sites
        .iter()
        .any(|s| !s.is_head_neck() && *s != BodySite::Eyes);
    if head_neck && !beyond_head_neck {
        f.pro("confined to the head and neck", HND_SERIES);
    } else if head_neck {
        f.con(
            "extends beyond the head and neck (the described pattern is head/neck-predominant)",
            DE_WIJS,
        );
    } else if !sites.is_empty() {
        f.con("no head/neck involvement", HND_SERIES);
    }
    if head_neck && r.rest_of_skin_improving == Some(true) {
        f.pro(
            "rest of the skin improving while the head/neck is red (6/7)",
            DE_WIJS,
        );
    }
    if feat(Feature::SharplyDemarcated) && !feat(Feature::Plaques) {
        f.pro("relatively sharply demarcated, patchy erythema", DE_WIJS);
    }
    if feat(Feature::Scaling) {
        f.con(
            "scaling (the described erythema has no or less scaling than usual eczema)",
            DE_WIJS,
        );
    } else if feat(Feature::Erythema) {
        f.pro("erythema without scaling", DE_WIJS);
    }
    if feat(Feature::Itch) {
        f.con(
            "itch (mostly asymptomatic: only 1/7 had itch or burning)",
            DE_WIJS,
        );
    }
    different_context(&mut f);
    for t in tests_of(TestKind::MalasseziaIge).filter(|t| t.result == TestResult::Positive) {
        match before_first_dose(t, drug) {
            Some(true) => f.pro(format!("{} positive before the first dose (higher pretreatment levels predicted DAHND)", t.name), MALASSEZIA_COHORT),
            Some(false) => f.context(
                format!("{} positive on treatment ({}): not counted, the cohort evidence concerns pretreatment levels", t.name, t.date.map(|d| d.to_string()).unwrap_or_default()),
                MALASSEZIA_COHORT,
            ),
            None => f.context(format!("{} positive, date unknown: not counted, the cohort evidence concerns pretreatment levels", t.name), MALASSEZIA_COHORT),
        }
    }
    if case.patient.prior_facial_tcs == Some(true) {
        f.pro("facial topical corticosteroid use before", AHN_2022);
    }
    match case.patient.head_neck_at_baseline {
        Some(true) => f.context("head/neck eczema at baseline: an exacerbation pattern (32/42 in the series were exacerbations)", SORIA_2019),
        Some(false) => f.context("no head/neck eczema at baseline: a de novo pattern (10/42 in the series)", SORIA_2019),
        None => {}
    }
    if ocular {
        f.pro(
            "ocular signs as well (48% of the 42-patient series had ocular AEs)",
            HND_SERIES,
        );
    }
    if let Some(imp) = &improved_on_less {
        f.pro(imp.clone(), DERIVED_DECHALLENGE);
    }
    onset_context(Entity::HeadNeckDermatitis, &mut f);
    out.push((Entity::HeadNeckDermatitis, f));

    // Psoriasiform: the morphology counts once (scaling plaques are plaques).
    let mut f = Findings::new();
    const MORPHOLOGY: &str = "case morphology; the entity is defined by it";
    if feat(Feature::Plaques) && feat(Feature::Scaling) {
        f.pro("scaling plaques (psoriasiform morphology)", MORPHOLOGY);
    } else if feat(Feature::Plaques) {
        f.pro("plaques (psoriasiform morphology)", MORPHOLOGY);
    } else if !r.features.is_empty() {
        f.con("no plaques recorded", MORPHOLOGY);
    }
    if prior_pso {
        f.pro(
            "history of psoriasis (pre-existing psoriasis relapsed in 43%)",
            TRAVE,
        );
    }
    if let Some(imp) = &improved_on_less {
        f.pro(imp.clone(), DERIVED_DECHALLENGE);
    }
    onset_context(Entity::Psoriasiform, &mut f);
    out.push((Entity::Psoriasiform, f));

    // Rosacea.
    let mut f = Findings::new();
    if feat(Feature::Papulopustules) && face {
        f.pro("papulopustules on facial erythema", ROSACEA_FAERS);
    }
    if feat(Feature::Burning) {
        f.pro("burning", ROSACEA_FAERS);
    }
    if let Some(t) = test_result(TestKind::SkinScraping, TestResult::Positive) {
        f.pro(
            format!("{} positive (Demodex on scraping was described)", t.name),
            ROSACEA_FAERS,
        );
    }
    if case.has_history(Condition::Rosacea) {
        f.pro(
            "history of rosacea (a plausible risk factor given the FAERS signal)",
            ROSACEA_FAERS,
        );
    }
    if !face && !sites.is_empty() {
        f.con("no facial involvement", ROSACEA_FAERS);
    }
    if face && !feat(Feature::Papulopustules) && !r.features.is_empty() {
        f.con("no papulopustules recorded", ROSACEA_FAERS);
    }
    onset_context(Entity::Rosacea, &mut f);
    out.push((Entity::Rosacea, f));

    // Infections: the reported term or a test result, never a guess from morphology (vigil's sources
    // give no morphology rules for them).
    if skin {
        for (e, kind) in [
            (Entity::EczemaHerpeticum, TestKind::HerpesSimplexTest),
            (Entity::HerpesSimplex, TestKind::HerpesSimplexTest),
            (Entity::SkinInfection, TestKind::BacterialCulture),
        ] {
            let mut f = Findings::new();
            if named == Some(e) {
                f.pro("the reported term names it", CASE_TERM);
            }
            if let Some(t) = test_result(kind, TestResult::Positive) {
                f.pro(format!("{} positive", t.name), CASE_TEST);
            } else if let Some(t) = test_result(kind, TestResult::Negative) {
                f.con(format!("{} negative", t.name), CASE_TEST);
            }
            out.push((e, f));
        }
    }

    // Allergic contact dermatitis: the patch test decides.
    if skin {
        let mut f = Findings::new();
        if let Some(t) = test_result(TestKind::PatchTest, TestResult::Positive) {
            f.pro(format!("{} positive", t.name), MUZUMDAR);
        } else if let Some(t) = test_result(TestKind::PatchTest, TestResult::Negative) {
            f.con(
                format!(
                    "{} negative (expanded patch testing is the suggested work-up for ACD)",
                    t.name
                ),
                MUZUMDAR,
            );
        }
        if named == Some(Entity::ContactDermatitis) {
            f.pro("the reported term names it", CASE_TERM);
        }
        out.push((Entity::ContactDermatitis, f));
    }

    // Topical-steroid withdrawal: only with steroid history, which is what informs it.
    if skin && (case.patient.prior_facial_tcs.is_some() || head_neck) {
        let mut f = Findings::new();
        match case.patient.prior_facial_tcs {
            Some(true) => f.pro("facial topical corticosteroid use before (86% of exacerbation and 67% of new-onset head/neck cases had it)", AHN_2022),
            Some(false) => f.con("no facial topical corticosteroid use recorded before", DEFINITION_TSW),
            None => {}
        }
        out.push((Entity::TopicalSteroidWithdrawal, f));
    }

    // Seborrhoeic-dermatitis-like: listed with a seborrhoeic dermatitis history or head/neck
    // involvement; the history is what informs it.
    let seb_history = case.has_history(Condition::SeborrheicDermatitis);
    if skin && (seb_history || head_neck || named == Some(Entity::SeborrhoeicDermatitisLike)) {
        let mut f = Findings::new();
        if seb_history {
            f.pro(
                "history of seborrhoeic dermatitis (vigil's sources give no recurrence rate)",
                CASE_HISTORY,
            );
        }
        if named == Some(Entity::SeborrhoeicDermatitisLike) {
            f.pro("the reported term names it", CASE_TERM);
        }
        out.push((Entity::SeborrhoeicDermatitisLike, f));
    }

    // Ocular surface disease: only when the eyes are involved.
    if ocular {
        let mut f = Findings::new();
        f.pro("ocular signs", LABEL);
        if case.has_history(Condition::Conjunctivitis)
            || case.has_history(Condition::AtopicKeratoconjunctivitis)
        {
            f.pro(
                "earlier conjunctivitis / atopic keratoconjunctivitis (4/9 had prior AKC)",
                POPIELA,
            );
        }
        onset_context(Entity::OcularSurfaceDisease, &mut f);
        out.push((Entity::OcularSurfaceDisease, f));
    }

    // Injection-site reaction: only when the injection site is involved.
    if injection {
        let mut f = Findings::new();
        f.pro("reaction at the injection site", LABEL);
        onset_context(Entity::InjectionSiteReaction, &mut f);
        out.push((Entity::InjectionSiteReaction, f));
    }

    if feat(Feature::HairLoss) {
        let mut f = Findings::new();
        f.pro("patchy hair loss", CHUNG_AA);
        if case.has_history(Condition::AlopeciaAreata) {
            f.pro(
                "history of alopecia areata (worsening has been reported)",
                CHUNG_AA,
            );
        }
        onset_context(Entity::AlopeciaAreata, &mut f);
        out.push((Entity::AlopeciaAreata, f));
    }

    if feat(Feature::JointPain) || sites.contains(&BodySite::Joints) {
        let mut f = Findings::new();
        f.pro("joint or enthesis symptoms", ARTHRITIS_2023);
        onset_context(Entity::Arthralgia, &mut f);
        out.push((Entity::Arthralgia, f));
    }

    let mut candidates: Vec<Candidate> = out
        .into_iter()
        .map(|(e, f)| Candidate {
            entity: e,
            name: e.name(),
            evidence_for: f.pro,
            evidence_against: f.con,
            context: f.context,
            incidence: e.incidence(),
            onset: e.onset(),
            management: e.management(),
            red_flags: e.red_flags(),
        })
        .collect();
    // Stable sort: ties keep the listing order above. A display order, not a probability.
    candidates.sort_by_key(|c| -(c.evidence_for.len() as i64 - c.evidence_against.len() as i64));

    let work_up = vec![
        cited("skin scraping / KOH for Malassezia and Demodex", MUZUMDAR),
        cited("serum Malassezia-specific IgE (the predictive evidence concerns pretreatment levels)", MALASSEZIA_COHORT),
        cited("skin biopsy (the head/neck erythema showed ectatic capillaries and little spongiosis, unlike typical eczema)", DE_WIJS),
        cited("expanded patch testing for allergic contact dermatitis", MUZUMDAR),
        cited("consider topical-steroid withdrawal", AHN_2022),
    ];

    FlareAssessment {
        disclaimer: DISCLAIMER,
        reaction_ref: case.reaction_ref(i),
        reaction: r.term.clone(),
        days_since_first_dose: days,
        order_note: ORDER_NOTE,
        candidates,
        work_up,
    }
}
