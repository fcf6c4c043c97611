//! Reaction-vs-flare decision support for a new rash (or red eye) on dupilumab.
//!
//! **Decision support, not a diagnosis.** For each candidate entity — a true atopic dermatitis flare,
//! dupilumab facial redness / head-and-neck dermatitis, a psoriasiform eruption, a rosacea-like
//! eruption, ocular surface disease, an injection-site reaction (and, when the case points to them,
//! alopecia areata or arthralgia/enthesitis) — it lists the findings in the case that speak for and
//! against it, the published incidence, the typical time to onset, and the management the sources
//! report, each with its citation. The clinician decides.
//!
//! Every rule and figure comes from the verified or partly verified entries of clinical.md §4.3–§4.5.
//! Two rules are vigil's own reasoning and are labelled so in their output: a missed or late dose just
//! before onset favours a flare (clinical.md §4.5 lists it as a design idea, not a published finding),
//! and improvement on stopping or spacing the drug favours a drug reaction over disease (the dechallenge
//! principle of Naranjo item 3/8 and WHO-UMC, clinical.md §1).
//!
//! Candidates are ordered by (findings for − findings against): a display order, not a probability.
use serde::Serialize;

use crate::case::{BodySite, Case, Condition, DechallengeAction, Drug, Feature, Reaction, TestKind, TestResult};

/// The disclaimer printed with every assessment.
pub const DISCLAIMER: &str = "Decision support, not a diagnosis: it lists published evidence and the case findings \
that bear on each candidate. The diagnosis is the clinician's.";

// Citations (clinical.md §4.3–§4.5).
const DE_WIJS: &str = "de Wijs et al., Br J Dermatol 2019 (repub.eur.nl/pub/122968)";
const JO_2021: &str = "systematic review, J Am Acad Dermatol 2021 (S0190-9622(21)00079-7; first author probably Jo)";
const WALDMAN: &str = "Waldman et al., J Am Acad Dermatol 2020;82:230";
const MUZUMDAR: &str = "Muzumdar et al., Am J Clin Dermatol 2022;23:61";
const HND_SERIES: &str = "42-patient head-and-neck dermatitis series (probably Soria et al., JAMA Dermatol 2019; attribution unverified)";
const MALASSEZIA_COHORT: &str = "prospective multicentre cohort on pretreatment Malassezia-specific IgE (clinical.md §4.5)";
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
const DERIVED_MISSED: &str = "vigil's reasoning (clinical.md §4.5 design idea), not a published rule";
const DERIVED_DECHALLENGE: &str = "dechallenge principle: Naranjo items 3 and 8; WHO-UMC response to withdrawal (clinical.md §1)";

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
    Cited { text: text.into(), source }
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
        }
    }

    /// The main source of the entity's incidence figure.
    pub fn incidence_source(self) -> &'static str {
        self.incidence().first().map(|c| c.source).unwrap_or("")
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
        }
    }

    /// Typical time to onset, in words.
    pub fn onset(self) -> Vec<Cited> {
        match self {
            Entity::AdFlare => vec![cited("no characteristic onset; a flare often follows a missed or late dose or an interval extension", DERIVED_MISSED)],
            Entity::HeadNeckDermatitis => vec![
                cited("mean 65.4 days after the first dose (range 5–365)", HND_SERIES),
                cited("10–39 weeks", DE_WIJS),
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
        }
    }

    /// Onset window in days after the first dose that the sources report (inclusive), if they give one.
    ///
    /// Months are converted at 30.4375 days (365.25/12), weeks at 7 days.
    pub fn onset_window_days(self, prior_psoriasis: bool) -> Option<(f64, f64, &'static str)> {
        const MONTH: f64 = 365.25 / 12.0;
        match self {
            Entity::HeadNeckDermatitis => Some((5.0, 365.0, HND_SERIES)),
            // The 1–18-month range is for de novo psoriasis; relapse has only a typical time.
            Entity::Psoriasiform if !prior_psoriasis => Some((MONTH, 18.0 * MONTH, PSO_ONSET)),
            Entity::Rosacea => Some((14.0, 21.0 * MONTH, ROSACEA_FAERS)),
            Entity::OcularSurfaceDisease => Some((23.0, 520.0, TAUQEER)),
            Entity::Arthralgia => Some((14.0, 48.0 * MONTH, ARTHRITIS_2023)),
            _ => None,
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
        }
    }
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
    /// Published incidence.
    pub incidence: Vec<Cited>,
    /// Typical time to onset.
    pub onset: Vec<Cited>,
    /// Management options reported.
    pub management: Vec<Cited>,
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
    /// Candidates, most supported first.
    pub candidates: Vec<Candidate>,
    /// Work-up the reviews suggest.
    pub work_up: Vec<Cited>,
}

/// Whether a drug is dupilumab (product or substance name).
pub fn is_dupilumab(drug: &Drug) -> bool {
    let hit = |s: &str| {
        let s = s.to_lowercase();
        s.contains("dupilumab") || s.contains("dupixent")
    };
    hit(&drug.name) || drug.substance.as_deref().is_some_and(hit)
}

/// The catalogued entity a reaction term names, when the drug is dupilumab (used by causality for
/// "reported before with this drug"). A worsening of atopic dermatitis itself is not catalogued.
pub fn catalogued_entity(drug: &Drug, reaction: &Reaction) -> Option<Entity> {
    if !is_dupilumab(drug) {
        return None;
    }
    let t = reaction.term.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    Some(if has(&["psoria"]) {
        Entity::Psoriasiform
    } else if has(&["rosacea"]) {
        Entity::Rosacea
    } else if has(&["conjunctiv", "keratitis", "blephar", "dry eye", "ocular surface"]) {
        Entity::OcularSurfaceDisease
    } else if has(&["injection site", "injection-site"]) {
        Entity::InjectionSiteReaction
    } else if has(&["alopecia"]) {
        Entity::AlopeciaAreata
    } else if has(&["arthralg", "enthes", "arthritis"]) {
        Entity::Arthralgia
    } else if has(&["facial", "face", "head", "neck"]) && has(&["erythema", "redness", "dermatitis", "rash"]) {
        Entity::HeadNeckDermatitis
    } else {
        return None;
    })
}

/// Reaction-vs-flare support for every reaction of a case whose suspect drugs include dupilumab.
/// Empty when no suspect drug is dupilumab.
pub fn assess_case(case: &Case) -> Vec<FlareAssessment> {
    let Some(k) = case.suspect_drugs().find(|&k| is_dupilumab(&case.drugs[k])) else {
        return Vec::new();
    };
    (0..case.reactions.len()).map(|i| assess_reaction(case, k, i)).collect()
}

struct Findings {
    pro: Vec<Evidence>,
    con: Vec<Evidence>,
}

impl Findings {
    fn new() -> Self {
        Findings { pro: Vec::new(), con: Vec::new() }
    }
    fn pro(&mut self, finding: impl Into<String>, source: &'static str) {
        self.pro.push(Evidence { finding: finding.into(), source });
    }
    fn con(&mut self, finding: impl Into<String>, source: &'static str) {
        self.con.push(Evidence { finding: finding.into(), source });
    }
}

/// A missed dose on or before onset and no more than one dosing interval earlier.
fn missed_dose_before(drug: &Drug, reaction: &Reaction) -> Option<String> {
    let onset = reaction.onset?;
    for missed in &drug.missed_doses {
        let Some(gap) = missed.days_until(&onset) else { continue };
        if gap < 0 {
            continue;
        }
        let interval_days = drug
            .regimens
            .iter()
            .rev()
            .find(|r| r.start.and_then(|s| s.days_until(missed)).is_none_or(|d| d >= 0))
            .and_then(|r| {
                let per = match r.every_unit? {
                    crate::case::IntervalUnit::Day => 1.0,
                    crate::case::IntervalUnit::Week => 7.0,
                    crate::case::IntervalUnit::Month => 365.25 / 12.0,
                };
                Some(r.every? * per)
            });
        match interval_days {
            Some(iv) if (gap as f64) <= iv => {
                return Some(format!("dose due {missed} was missed or late; onset {gap} days later, within one dosing interval ({iv:.0} days)"))
            }
            Some(_) => {}
            None => return Some(format!("dose due {missed} was missed or late; onset {gap} days later (dosing interval unknown)")),
        }
    }
    None
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
    let injection = sites.contains(&BodySite::InjectionSite) || feat(Feature::InjectionSiteReaction);
    let prior_pso = case.has_history(Condition::Psoriasis);
    let positive = |kind: TestKind| case.tests.iter().find(|t| t.kind == kind && t.result == TestResult::Positive);
    let missed = missed_dose_before(drug, r);
    let dech = r.dechallenge.as_ref();
    let drug_reduced_and = |positive_result: bool| {
        dech.filter(|d| {
            let reduce = matches!(d.action, DechallengeAction::IntervalExtended | DechallengeAction::DoseReduced) || d.action.is_withdrawal();
            reduce && if positive_result { d.result.is_positive() } else { d.result == crate::case::DechallengeResult::Worsened }
        })
    };
    let improved_on_less = drug_reduced_and(true).map(|d| format!("improved after {}", d.action.label()));
    let worse_on_less = drug_reduced_and(false).map(|d| format!("worsened after {}", d.action.label()));

    let window = |e: Entity, f: &mut Findings| {
        if let (Some(d), Some((lo, hi, src))) = (days, e.onset_window_days(prior_pso)) {
            if (d as f64) >= lo && (d as f64) <= hi {
                f.pro(format!("onset {d} days after the first dose, inside the published {lo:.0}–{hi:.0}-day range"), src);
            } else {
                f.con(format!("onset {d} days after the first dose, outside the published {lo:.0}–{hi:.0}-day range"), src);
            }
        }
    };

    let mut out: Vec<(Entity, Findings)> = Vec::new();

    // AD flare.
    let mut f = Findings::new();
    if let Some(m) = &missed {
        f.pro(m.clone(), DERIVED_MISSED);
    }
    if let Some(w) = &worse_on_less {
        f.pro(w.clone(), DERIVED_MISSED);
    }
    if let Some(imp) = &improved_on_less {
        f.con(format!("{imp}: less drug, less reaction points to the drug, not the disease"), DERIVED_DECHALLENGE);
    }
    match r.rest_of_skin_improving {
        Some(false) => f.pro("the eczema elsewhere is worsening too (unlike the drug-associated head/neck pattern: 6/7 improved elsewhere)", DE_WIJS),
        Some(true) => f.con("the eczema elsewhere is improving (6/7 patients with head/neck erythema improved elsewhere)", DE_WIJS),
        None => {}
    }
    match r.different_from_usual_ad {
        Some(false) => f.pro("looks like the patient's usual eczema (45% of drug-associated cases looked different)", JO_2021),
        Some(true) => f.con("differs from the patient's usual eczema (45% of drug-associated cases did)", JO_2021),
        None => {}
    }
    out.push((Entity::AdFlare, f));

    // Head-and-neck dermatitis.
    let mut f = Findings::new();
    let beyond_head_neck = sites.iter().any(|s| !s.is_head_neck() && *s != BodySite::Eyes);
    if head_neck && !beyond_head_neck {
        f.pro("confined to the head and neck", HND_SERIES);
    } else if head_neck {
        f.con("extends beyond the head and neck (the described pattern is head/neck-predominant)", DE_WIJS);
    } else if !sites.is_empty() {
        f.con("no head/neck involvement", HND_SERIES);
    }
    if head_neck && r.rest_of_skin_improving == Some(true) {
        f.pro("rest of the skin improving while the head/neck is red (6/7)", DE_WIJS);
    }
    if feat(Feature::SharplyDemarcated) && !feat(Feature::Plaques) {
        f.pro("relatively sharply demarcated, patchy erythema", DE_WIJS);
    }
    if feat(Feature::Scaling) {
        f.con("scaling (the described erythema has no or less scaling than usual eczema)", DE_WIJS);
    } else if feat(Feature::Erythema) {
        f.pro("erythema without scaling", DE_WIJS);
    }
    if feat(Feature::Itch) {
        f.con("itch (mostly asymptomatic: only 1/7 had itch or burning)", DE_WIJS);
    }
    if r.different_from_usual_ad == Some(true) {
        f.pro("differs from the usual eczema (45% of cases)", JO_2021);
    }
    if let Some(t) = positive(TestKind::MalasseziaIge) {
        f.pro(format!("{} positive (higher pretreatment levels predicted DAHND)", t.name), MALASSEZIA_COHORT);
    }
    if case.patient.prior_facial_tcs == Some(true) {
        f.pro("facial topical corticosteroid use before", AHN_2022);
    }
    if ocular {
        f.pro("ocular signs as well (48% of the 42-patient series had ocular AEs)", HND_SERIES);
    }
    if let Some(imp) = &improved_on_less {
        f.pro(imp.clone(), DERIVED_DECHALLENGE);
    }
    window(Entity::HeadNeckDermatitis, &mut f);
    out.push((Entity::HeadNeckDermatitis, f));

    // Psoriasiform.
    let mut f = Findings::new();
    if feat(Feature::Plaques) {
        f.pro("plaques (psoriasiform morphology)", "case morphology; the entity is defined by it");
    }
    if feat(Feature::Plaques) && feat(Feature::Scaling) {
        f.pro("scaling plaques", "case morphology; the entity is defined by it");
    }
    if !feat(Feature::Plaques) && !r.features.is_empty() {
        f.con("no plaques recorded", "case morphology; the entity is defined by it");
    }
    if prior_pso {
        f.pro("history of psoriasis (pre-existing psoriasis relapsed in 43%)", TRAVE);
    }
    if let Some(imp) = &improved_on_less {
        f.pro(imp.clone(), DERIVED_DECHALLENGE);
    }
    window(Entity::Psoriasiform, &mut f);
    out.push((Entity::Psoriasiform, f));

    // Rosacea.
    let mut f = Findings::new();
    if feat(Feature::Papulopustules) && face {
        f.pro("papulopustules on facial erythema", ROSACEA_FAERS);
    }
    if feat(Feature::Burning) {
        f.pro("burning", ROSACEA_FAERS);
    }
    if let Some(t) = positive(TestKind::SkinScraping) {
        f.pro(format!("{} positive (Demodex on scraping was described)", t.name), ROSACEA_FAERS);
    }
    if case.has_history(Condition::Rosacea) {
        f.pro("history of rosacea (a plausible risk factor given the FAERS signal)", ROSACEA_FAERS);
    }
    if !face && !sites.is_empty() {
        f.con("no facial involvement", ROSACEA_FAERS);
    }
    if face && !feat(Feature::Papulopustules) && !r.features.is_empty() {
        f.con("no papulopustules recorded", ROSACEA_FAERS);
    }
    window(Entity::Rosacea, &mut f);
    out.push((Entity::Rosacea, f));

    // Ocular surface disease: only when the eyes are involved.
    if ocular {
        let mut f = Findings::new();
        f.pro("ocular signs", LABEL);
        if case.has_history(Condition::Conjunctivitis) || case.has_history(Condition::AtopicKeratoconjunctivitis) {
            f.pro("earlier conjunctivitis / atopic keratoconjunctivitis (4/9 had prior AKC)", POPIELA);
        }
        if let Some(d) = days {
            if d <= 16 * 7 {
                f.pro(format!("onset {d} days after the first dose, inside the first 16 weeks"), AKINLADE);
            }
        }
        window(Entity::OcularSurfaceDisease, &mut f);
        out.push((Entity::OcularSurfaceDisease, f));
    }

    // Injection-site reaction: only when the injection site is involved.
    if injection {
        let mut f = Findings::new();
        f.pro("reaction at the injection site", LABEL);
        if let Some(d) = days {
            if d <= 16 * 7 {
                f.pro(format!("onset {d} days after the first dose, in weeks 0–16"), REAL_WORLD_2Y);
            }
        }
        out.push((Entity::InjectionSiteReaction, f));
    }

    if feat(Feature::HairLoss) {
        let mut f = Findings::new();
        f.pro("patchy hair loss", CHUNG_AA);
        if case.has_history(Condition::AlopeciaAreata) {
            f.pro("history of alopecia areata (worsening has been reported)", CHUNG_AA);
        }
        out.push((Entity::AlopeciaAreata, f));
    }

    if feat(Feature::JointPain) || sites.contains(&BodySite::Joints) {
        let mut f = Findings::new();
        f.pro("joint or enthesis symptoms", ARTHRITIS_2023);
        window(Entity::Arthralgia, &mut f);
        out.push((Entity::Arthralgia, f));
    }

    let mut candidates: Vec<Candidate> = out
        .into_iter()
        .map(|(e, f)| Candidate {
            entity: e,
            name: e.name(),
            evidence_for: f.pro,
            evidence_against: f.con,
            incidence: e.incidence(),
            onset: e.onset(),
            management: e.management(),
        })
        .collect();
    // Stable sort: ties keep the listing order above.
    candidates.sort_by_key(|c| -(c.evidence_for.len() as i64 - c.evidence_against.len() as i64));

    let work_up = vec![
        cited("skin scraping / KOH for Malassezia and Demodex", MUZUMDAR),
        cited("serum Malassezia-specific IgE", MALASSEZIA_COHORT),
        cited("skin biopsy (the head/neck erythema showed ectatic capillaries and little spongiosis, unlike typical eczema)", DE_WIJS),
        cited("expanded patch testing for allergic contact dermatitis", MUZUMDAR),
        cited("consider topical-steroid withdrawal", AHN_2022),
    ];

    FlareAssessment {
        disclaimer: DISCLAIMER,
        reaction_ref: case.reaction_ref(i),
        reaction: r.term.clone(),
        days_since_first_dose: days,
        candidates,
        work_up,
    }
}
