//! The individual case: patient, drugs, reactions, tests and scores, read from JSON.
//!
//! The model follows the sections of an ICH E2B(R3) ICSR (C report, D patient, E.i reactions, F.r tests,
//! G.k drugs, H narrative; `../shared/knowledge/clinical.md` §5) so that export and import are a
//! mapping, not a translation. It adds what the reaction-vs-flare support needs and E2B has no
//! structured slot for (body sites, morphology, missed doses): those travel in the narrative on export.
//!
//! Every enum is written in `snake_case` in JSON. Unknown fields are refused, so a typo in a case file is
//! an error naming the field rather than a silently ignored fact.
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::date::PartialDate;
use crate::scores::ScoreInputs;
use crate::ClinicError;

/// One individual case safety report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// C.1.1 sender's safety report unique identifier, e.g. `"NL-VIGIL-0001"`.
    pub id: String,
    /// C.1.3 type of report.
    #[serde(default)]
    pub report_type: ReportType,
    /// C.1.4 date the report was first received from the source.
    #[serde(default)]
    pub received: Option<PartialDate>,
    /// C.2.r the primary source (reporter).
    #[serde(default)]
    pub reporter: Reporter,
    /// D the patient.
    pub patient: Patient,
    /// G.k the drugs: suspect, concomitant, interacting.
    pub drugs: Vec<Drug>,
    /// E.i the reactions/events.
    pub reactions: Vec<Reaction>,
    /// F.r tests and procedures relevant to the case.
    #[serde(default)]
    pub tests: Vec<LabTest>,
    /// Severity scores recorded at the visit (EASI, SCORAD, POEM, vIGA-AD, PP-NRS).
    #[serde(default)]
    pub scores: Option<ScoreInputs>,
    /// H.1 case narrative.
    #[serde(default)]
    pub narrative: Option<String>,
}

/// C.1.3 type of report (ICH code list values 1–4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportType {
    /// 1 spontaneous report.
    #[default]
    Spontaneous,
    /// 2 report from study.
    Study,
    /// 3 other.
    Other,
    /// 4 not available to sender (unknown).
    NotAvailable,
}

impl ReportType {
    /// The E2B(R3) C.1.3 code.
    pub fn code(self) -> u8 {
        match self {
            ReportType::Spontaneous => 1,
            ReportType::Study => 2,
            ReportType::Other => 3,
            ReportType::NotAvailable => 4,
        }
    }
    /// From the E2B(R3) C.1.3 code.
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "1" => ReportType::Spontaneous,
            "2" => ReportType::Study,
            "3" => ReportType::Other,
            "4" => ReportType::NotAvailable,
            _ => return None,
        })
    }
}

/// C.2.r primary source.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reporter {
    /// C.2.r.4 qualification.
    #[serde(default)]
    pub qualification: Option<Qualification>,
    /// C.2.r.3 reporter's country (ISO 3166-1 alpha-2).
    #[serde(default)]
    pub country: Option<String>,
}

/// C.2.r.4 reporter qualification (values 1–5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Qualification {
    /// 1 physician.
    Physician,
    /// 2 pharmacist.
    Pharmacist,
    /// 3 other health professional.
    OtherHealthProfessional,
    /// 4 lawyer.
    Lawyer,
    /// 5 consumer or other non-health professional.
    Consumer,
}

impl Qualification {
    /// The E2B(R3) C.2.r.4 code.
    pub fn code(self) -> u8 {
        match self {
            Qualification::Physician => 1,
            Qualification::Pharmacist => 2,
            Qualification::OtherHealthProfessional => 3,
            Qualification::Lawyer => 4,
            Qualification::Consumer => 5,
        }
    }
    /// From the E2B(R3) C.2.r.4 code.
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "1" => Qualification::Physician,
            "2" => Qualification::Pharmacist,
            "3" => Qualification::OtherHealthProfessional,
            "4" => Qualification::Lawyer,
            "5" => Qualification::Consumer,
            _ => return None,
        })
    }
}

/// D the patient.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patient {
    /// D.1 initials (or name).
    #[serde(default)]
    pub initials: Option<String>,
    /// D.5 sex.
    #[serde(default)]
    pub sex: Option<Sex>,
    /// D.2.2 age at onset of the first reaction, in years.
    #[serde(default)]
    pub age_years: Option<f64>,
    /// D.3 body weight in kg.
    #[serde(default)]
    pub weight_kg: Option<f64>,
    /// D.7 medical history: past and concurrent conditions.
    #[serde(default)]
    pub history: Vec<HistoryItem>,
    /// D.8.r past drug history: earlier reactions to drugs.
    #[serde(default)]
    pub past_drug_reactions: Vec<PastDrugReaction>,
    /// Facial topical corticosteroid use before the reaction (a risk factor for dupilumab facial
    /// dermatitis reported by Ahn 2022; clinical.md §4.5).
    #[serde(default)]
    pub prior_facial_tcs: Option<bool>,
    /// Eczema on the head or neck at baseline, before the suspect drug was started (optional). It
    /// tells an exacerbation from a de novo head/neck pattern; it is shown as context, not counted
    /// (clinical.md, additions 2026-12: 52/101 cases in Jo 2021 had facial/neck AD at baseline).
    #[serde(default)]
    pub head_neck_at_baseline: Option<bool>,
}

/// D.5 sex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// Male (HL7 administrative gender code 1 in the ICH list).
    Male,
    /// Female (code 2).
    Female,
}

/// D.7.1.r one condition in the medical history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryItem {
    /// The condition, as the reaction-vs-flare rules know it.
    pub condition: Condition,
    /// Free text as reported.
    #[serde(default)]
    pub text: Option<String>,
    /// Whether the condition is ongoing.
    #[serde(default)]
    pub ongoing: Option<bool>,
}

/// Conditions the reaction-vs-flare rules look for in the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Atopic dermatitis.
    AtopicDermatitis,
    /// Psoriasis.
    Psoriasis,
    /// Rosacea.
    Rosacea,
    /// Seborrhoeic dermatitis.
    SeborrheicDermatitis,
    /// Conjunctivitis (any, before dupilumab).
    Conjunctivitis,
    /// Atopic keratoconjunctivitis.
    AtopicKeratoconjunctivitis,
    /// Alopecia areata.
    AlopeciaAreata,
    /// Asthma.
    Asthma,
    /// Allergic rhinitis.
    AllergicRhinitis,
    /// Anything else (use `text`).
    Other,
}

/// D.8.r one earlier reaction to a drug.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PastDrugReaction {
    /// D.8.r.1 drug name.
    pub drug: String,
    /// D.8.r.7 reaction as reported.
    pub reaction: String,
}

/// G.k one drug.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drug {
    /// Local reference used to link reactions and assessments (default `drug-<k>`).
    #[serde(default)]
    pub id: Option<String>,
    /// G.k.2.2 medicinal product name as reported.
    pub name: String,
    /// G.k.2.3.r.1 active substance name.
    #[serde(default)]
    pub substance: Option<String>,
    /// G.k.1 characterisation of the drug's role.
    pub role: DrugRole,
    /// G.k.7.r.1 indication as reported.
    #[serde(default)]
    pub indication: Option<String>,
    /// Date of the first administration (G.k.4.r.4 of the first regimen).
    #[serde(default)]
    pub start: Option<PartialDate>,
    /// Date of the last administration (G.k.4.r.5 of the last regimen), if stopped.
    #[serde(default)]
    pub stop: Option<PartialDate>,
    /// G.k.4.r dosage regimens in time order (the loading dose is its own regimen).
    #[serde(default)]
    pub regimens: Vec<Regimen>,
    /// G.k.8 action taken with the drug.
    #[serde(default)]
    pub action_taken: Option<ActionTaken>,
    /// Scheduled doses that were missed or given late (dates they were due).
    #[serde(default)]
    pub missed_doses: Vec<PartialDate>,
}

/// G.k.1 drug role (values 1–4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrugRole {
    /// 1 suspect.
    Suspect,
    /// 2 concomitant.
    Concomitant,
    /// 3 interacting.
    Interacting,
    /// 4 drug not administered.
    NotAdministered,
}

impl DrugRole {
    /// The E2B(R3) G.k.1 code.
    pub fn code(self) -> u8 {
        match self {
            DrugRole::Suspect => 1,
            DrugRole::Concomitant => 2,
            DrugRole::Interacting => 3,
            DrugRole::NotAdministered => 4,
        }
    }
    /// From the E2B(R3) G.k.1 code.
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "1" => DrugRole::Suspect,
            "2" => DrugRole::Concomitant,
            "3" => DrugRole::Interacting,
            "4" => DrugRole::NotAdministered,
            _ => return None,
        })
    }
}

/// G.k.4.r one dosage regimen, e.g. 300 mg every 2 weeks = dose 300, unit mg, every 2, every_unit wk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regimen {
    /// G.k.4.r.1a dose.
    pub dose: f64,
    /// G.k.4.r.1b dose unit (UCUM, e.g. `mg`).
    pub unit: String,
    /// G.k.4.r.2 number of units in the interval (absent for a single dose).
    #[serde(default)]
    pub every: Option<f64>,
    /// G.k.4.r.3 interval unit.
    #[serde(default)]
    pub every_unit: Option<IntervalUnit>,
    /// G.k.4.r.4 start of this regimen.
    #[serde(default)]
    pub start: Option<PartialDate>,
    /// G.k.4.r.5 end of this regimen.
    #[serde(default)]
    pub end: Option<PartialDate>,
    /// G.k.4.r.10.1 route as reported (e.g. `subcutaneous`).
    #[serde(default)]
    pub route: Option<String>,
}

/// G.k.4.r.3 interval unit (UCUM).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntervalUnit {
    /// `d`.
    Day,
    /// `wk`.
    Week,
    /// `mo`.
    Month,
}

impl IntervalUnit {
    /// The UCUM code.
    pub fn ucum(self) -> &'static str {
        match self {
            IntervalUnit::Day => "d",
            IntervalUnit::Week => "wk",
            IntervalUnit::Month => "mo",
        }
    }
    /// From the UCUM code.
    pub fn from_ucum(code: &str) -> Option<Self> {
        Some(match code {
            "d" => IntervalUnit::Day,
            "wk" => IntervalUnit::Week,
            "mo" => IntervalUnit::Month,
            _ => return None,
        })
    }
}

/// G.k.8 action taken with the drug (values from the IG: 1, 2, 3, 4, 0, 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionTaken {
    /// 1 drug withdrawn.
    Withdrawn,
    /// 2 dose reduced (a dupilumab interval extension is coded here; clinical.md §5.3 [derived]).
    DoseReduced,
    /// 3 dose increased.
    DoseIncreased,
    /// 4 dose not changed.
    DoseNotChanged,
    /// 0 unknown.
    Unknown,
    /// 9 not applicable.
    NotApplicable,
}

impl ActionTaken {
    /// The E2B(R3) G.k.8 code.
    pub fn code(self) -> u8 {
        match self {
            ActionTaken::Withdrawn => 1,
            ActionTaken::DoseReduced => 2,
            ActionTaken::DoseIncreased => 3,
            ActionTaken::DoseNotChanged => 4,
            ActionTaken::Unknown => 0,
            ActionTaken::NotApplicable => 9,
        }
    }
    /// From the E2B(R3) G.k.8 code.
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "1" => ActionTaken::Withdrawn,
            "2" => ActionTaken::DoseReduced,
            "3" => ActionTaken::DoseIncreased,
            "4" => ActionTaken::DoseNotChanged,
            "0" => ActionTaken::Unknown,
            "9" => ActionTaken::NotApplicable,
            _ => return None,
        })
    }
}

/// E.i one reaction or event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reaction {
    /// Local reference (default `reaction-<i>`).
    #[serde(default)]
    pub id: Option<String>,
    /// E.i.1.1a reaction as reported by the primary source.
    pub term: String,
    /// E.i.2.1b MedDRA LLT code, if the user has a MedDRA licence and coded it (never guessed by vigil).
    #[serde(default)]
    pub meddra_llt: Option<String>,
    /// E.i.2.1a MedDRA version of that code.
    #[serde(default)]
    pub meddra_version: Option<String>,
    /// E.i.4 start date.
    #[serde(default)]
    pub onset: Option<PartialDate>,
    /// E.i.5 end date.
    #[serde(default)]
    pub end: Option<PartialDate>,
    /// E.i.7 outcome at the time of the last observation.
    #[serde(default)]
    pub outcome: Outcome,
    /// E.i.3.2 seriousness criteria.
    #[serde(default)]
    pub seriousness: Seriousness,
    /// Where on the body (not an E2B field; exported in the narrative).
    #[serde(default)]
    pub sites: Vec<BodySite>,
    /// Morphology and symptoms (not an E2B field; exported in the narrative).
    #[serde(default)]
    pub features: Vec<Feature>,
    /// The patient or clinician says it differs from the patient's usual eczema.
    #[serde(default)]
    pub different_from_usual_ad: Option<bool>,
    /// The eczema elsewhere on the body is improving (or clear) while this reaction is present.
    #[serde(default)]
    pub rest_of_skin_improving: Option<bool>,
    /// What was done with the suspect drug because of this reaction, and what followed.
    #[serde(default)]
    pub dechallenge: Option<Dechallenge>,
    /// Re-administration after a dechallenge (G.k.9.i.4).
    #[serde(default)]
    pub rechallenge: Option<Rechallenge>,
    /// Causes other than the drug that could explain the reaction on their own: `None` = not
    /// assessed, empty = looked for and none found.
    #[serde(default)]
    pub alternative_causes: Option<Vec<String>>,
    /// Explicit causality answers; each one given here wins over what vigil would derive.
    #[serde(default)]
    pub causality_answers: Option<crate::causality::CausalityAnswers>,
}

/// E.i.7 outcome (values 0–5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// 1 recovered/resolved.
    Recovered,
    /// 2 recovering/resolving.
    Recovering,
    /// 3 not recovered/not resolved/ongoing.
    NotRecovered,
    /// 4 recovered/resolved with sequelae.
    RecoveredWithSequelae,
    /// 5 fatal.
    Fatal,
    /// 0 unknown.
    #[default]
    Unknown,
}

impl Outcome {
    /// The E2B(R3) E.i.7 code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Recovered => 1,
            Outcome::Recovering => 2,
            Outcome::NotRecovered => 3,
            Outcome::RecoveredWithSequelae => 4,
            Outcome::Fatal => 5,
            Outcome::Unknown => 0,
        }
    }
    /// From the E2B(R3) E.i.7 code.
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "1" => Outcome::Recovered,
            "2" => Outcome::Recovering,
            "3" => Outcome::NotRecovered,
            "4" => Outcome::RecoveredWithSequelae,
            "5" => Outcome::Fatal,
            "0" => Outcome::Unknown,
            _ => return None,
        })
    }
}

/// E.i.3.2 seriousness criteria (ICH E2A's six criteria).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Seriousness {
    /// Results in death.
    pub death: bool,
    /// Life threatening.
    pub life_threatening: bool,
    /// Caused or prolonged hospitalisation.
    pub hospitalisation: bool,
    /// Disabling or incapacitating.
    pub disability: bool,
    /// Congenital anomaly or birth defect.
    pub congenital_anomaly: bool,
    /// Other medically important condition.
    pub other_medically_important: bool,
}

impl Seriousness {
    /// Any criterion met.
    pub fn is_serious(&self) -> bool {
        self.death
            || self.life_threatening
            || self.hospitalisation
            || self.disability
            || self.congenital_anomaly
            || self.other_medically_important
    }
}

/// Body sites the reaction-vs-flare rules distinguish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodySite {
    /// Face.
    Face,
    /// Neck.
    Neck,
    /// Scalp.
    Scalp,
    /// Eyelids.
    Eyelids,
    /// Eyes (conjunctiva, cornea).
    Eyes,
    /// Flexures (elbow and knee folds).
    Flexures,
    /// Trunk.
    Trunk,
    /// Arms.
    Arms,
    /// Legs.
    Legs,
    /// Hands.
    Hands,
    /// The injection site.
    InjectionSite,
    /// Joints or entheses.
    Joints,
}

impl BodySite {
    /// Head-and-neck sites (face, neck, scalp, eyelids).
    pub fn is_head_neck(self) -> bool {
        matches!(
            self,
            BodySite::Face | BodySite::Neck | BodySite::Scalp | BodySite::Eyelids
        )
    }
}

/// Morphology and symptom features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Erythema.
    Erythema,
    /// Relatively sharply demarcated, patchy erythema.
    SharplyDemarcated,
    /// Scaling.
    Scaling,
    /// Plaques.
    Plaques,
    /// Papules and pustules.
    Papulopustules,
    /// Burning or stinging.
    Burning,
    /// Itch.
    Itch,
    /// Oozing or crusting.
    Oozing,
    /// Lichenification.
    Lichenification,
    /// Red eye / conjunctival injection.
    ConjunctivalRedness,
    /// Eye itch.
    EyeItch,
    /// Dry eye.
    DryEye,
    /// Swelling, pain or redness at the injection site.
    InjectionSiteReaction,
    /// Patchy hair loss.
    HairLoss,
    /// Joint pain.
    JointPain,
}

/// What was done with the suspect drug because of the reaction, and what followed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dechallenge {
    /// The action.
    pub action: DechallengeAction,
    /// When.
    #[serde(default)]
    pub date: Option<PartialDate>,
    /// What happened to the reaction.
    pub result: DechallengeResult,
}

/// Dechallenge actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DechallengeAction {
    /// Drug stopped.
    Withdrawn,
    /// Drug paused, to be restarted.
    Interrupted,
    /// Dosing interval lengthened (e.g. every 2 weeks → every 3 or 4 weeks).
    IntervalExtended,
    /// Dose lowered.
    DoseReduced,
}

impl DechallengeAction {
    /// What was done, as a phrase ("the drug was stopped").
    pub fn label(self) -> &'static str {
        match self {
            DechallengeAction::Withdrawn => "the drug was stopped",
            DechallengeAction::Interrupted => "the drug was paused",
            DechallengeAction::IntervalExtended => "the dosing interval was extended",
            DechallengeAction::DoseReduced => "the dose was reduced",
        }
    }

    /// Stopping or pausing the drug (as opposed to lowering the exposure).
    pub fn is_withdrawal(self) -> bool {
        matches!(
            self,
            DechallengeAction::Withdrawn | DechallengeAction::Interrupted
        )
    }
}

/// Dechallenge results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DechallengeResult {
    /// Improved.
    Improved,
    /// Resolved.
    Resolved,
    /// No change.
    NoChange,
    /// Worsened.
    Worsened,
    /// Not known.
    Unknown,
}

impl DechallengeResult {
    /// Improved or resolved.
    pub fn is_positive(self) -> bool {
        matches!(
            self,
            DechallengeResult::Improved | DechallengeResult::Resolved
        )
    }
    /// No change or worse.
    pub fn is_negative(self) -> bool {
        matches!(
            self,
            DechallengeResult::NoChange | DechallengeResult::Worsened
        )
    }
}

/// G.k.9.i.4 did the reaction recur on re-administration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rechallenge {
    /// 1 rechallenge done, reaction recurred.
    Recurred,
    /// 2 rechallenge done, no recurrence.
    DidNotRecur,
    /// 3 rechallenge done, outcome unknown.
    OutcomeUnknown,
    /// 4 no rechallenge.
    NotDone,
}

impl Rechallenge {
    /// A phrase for reports.
    pub fn label(self) -> &'static str {
        match self {
            Rechallenge::Recurred => "done, the reaction recurred",
            Rechallenge::DidNotRecur => "done, no recurrence",
            Rechallenge::OutcomeUnknown => "done, outcome unknown",
            Rechallenge::NotDone => "not done",
        }
    }

    /// The E2B(R3) G.k.9.i.4 code.
    pub fn code(self) -> u8 {
        match self {
            Rechallenge::Recurred => 1,
            Rechallenge::DidNotRecur => 2,
            Rechallenge::OutcomeUnknown => 3,
            Rechallenge::NotDone => 4,
        }
    }
    /// From the E2B(R3) G.k.9.i.4 code.
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "1" => Rechallenge::Recurred,
            "2" => Rechallenge::DidNotRecur,
            "3" => Rechallenge::OutcomeUnknown,
            "4" => Rechallenge::NotDone,
            _ => return None,
        })
    }
}

/// F.r one test or procedure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabTest {
    /// F.r.2.1 test name as reported.
    pub name: String,
    /// What the reaction-vs-flare rules know this test as.
    #[serde(default)]
    pub kind: TestKind,
    /// F.r.1 date.
    #[serde(default)]
    pub date: Option<PartialDate>,
    /// F.r.3 result.
    pub result: TestResult,
    /// The test shows the causal mechanism (Liverpool tool's "objective evidence"; Naranjo item 10 is
    /// broader: any objective confirmation of the event).
    #[serde(default)]
    pub shows_mechanism: bool,
    /// The test objectively confirms the adverse event (Naranjo item 10).
    #[serde(default)]
    pub confirms_event: bool,
}

/// Tests the reaction-vs-flare rules know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestKind {
    /// Serum Malassezia-specific IgE.
    MalasseziaIge,
    /// Skin scraping / KOH for Malassezia or Demodex.
    SkinScraping,
    /// Skin biopsy.
    Biopsy,
    /// Patch testing.
    PatchTest,
    /// Herpes simplex virus test (swab PCR, culture or antigen).
    HerpesSimplexTest,
    /// Bacterial swab culture.
    BacterialCulture,
    /// Anything else.
    #[default]
    Other,
}

/// F.r.3 result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestResult {
    /// Positive / abnormal.
    Positive,
    /// Negative / normal.
    Negative,
    /// Result awaited.
    Pending,
}

impl Case {
    /// Read a case from JSON text; `origin` names the source in errors (a path or `<stdin>`).
    pub fn from_json_str(text: &str, origin: &str) -> Result<Case, ClinicError> {
        // A UTF-8 byte-order mark (Windows editors write one) is not JSON: skip it.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let case: Case = serde_json::from_str(text).map_err(|e| ClinicError::Json {
            origin: origin.to_string(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        case.validate(origin)?;
        Ok(case)
    }

    /// Read a case from a JSON file.
    pub fn from_json_file(path: &Path) -> Result<Case, ClinicError> {
        let text = std::fs::read_to_string(path).map_err(|e| ClinicError::Io {
            origin: path.display().to_string(),
            message: e.to_string(),
        })?;
        Case::from_json_str(&text, &path.display().to_string())
    }

    /// Check what serde cannot: the ICSR minimum criteria and value ranges.
    ///
    /// # References
    /// ICH E2B(R3) IG §3.3.1 / ICH E2D §5.1 minimum criteria: an identifiable patient, reporter,
    /// reaction and suspect drug (clinical.md §5.1).
    pub fn validate(&self, origin: &str) -> Result<(), ClinicError> {
        let bad = |field: &str, message: String| ClinicError::Invalid {
            origin: origin.to_string(),
            field: field.to_string(),
            message,
        };
        if self.id.trim().is_empty() {
            return Err(bad(
                "id",
                "the C.1.1 report identifier must not be empty".into(),
            ));
        }
        if self.reactions.is_empty() {
            return Err(bad(
                "reactions",
                "an ICSR needs at least one reaction (E2B IG §3.3.1)".into(),
            ));
        }
        if !self.drugs.iter().any(|d| d.role != DrugRole::Concomitant) {
            return Err(bad(
                "drugs",
                "an ICSR needs at least one suspect, interacting or not-administered drug (G.k.1 = 1, 3 or 4)".into(),
            ));
        }
        for (i, r) in self.reactions.iter().enumerate() {
            if r.term.trim().is_empty() {
                return Err(bad(
                    &format!("reactions[{i}].term"),
                    "the reaction term must not be empty".into(),
                ));
            }
            let stated = r
                .causality_answers
                .as_ref()
                .map(|a| a.stated.as_slice())
                .unwrap_or_default();
            for (j, st) in stated.iter().enumerate() {
                let field =
                    |name: &str| format!("reactions[{i}].causality_answers.stated[{j}].{name}");
                for (name, text) in [
                    ("source", &st.source),
                    ("method", &st.method),
                    ("result", &st.result),
                ] {
                    // E2B G.k.9.i.2.r.1–3 are 60AN each (clinical.md §5.3).
                    let chars = text.trim().chars().count();
                    if chars == 0 || chars > 60 {
                        return Err(bad(
                            &field(name),
                            format!("{text:?} must be 1–60 characters (E2B G.k.9.i.2.r, 60AN)"),
                        ));
                    }
                }
                if let Some(d) = &st.drug {
                    if !(0..self.drugs.len()).any(|k| self.drug_ref(k) == *d) {
                        return Err(bad(
                            &field("drug"),
                            format!("{d:?} is not the id of a drug in the case"),
                        ));
                    }
                }
            }
        }
        for (k, d) in self.drugs.iter().enumerate() {
            if d.name.trim().is_empty() {
                return Err(bad(
                    &format!("drugs[{k}].name"),
                    "the product name must not be empty".into(),
                ));
            }
            for (r, reg) in d.regimens.iter().enumerate() {
                if !(reg.dose.is_finite() && reg.dose > 0.0) {
                    return Err(bad(
                        &format!("drugs[{k}].regimens[{r}].dose"),
                        format!("{} is not a positive dose", reg.dose),
                    ));
                }
                if let Some(e) = reg.every {
                    if !(e.is_finite() && e > 0.0) {
                        return Err(bad(
                            &format!("drugs[{k}].regimens[{r}].every"),
                            format!("{e} is not a positive interval"),
                        ));
                    }
                }
            }
        }
        self.validate_date_order(&bad)?;
        if let Some(a) = self.patient.age_years {
            if !(a.is_finite() && (0.0..=130.0).contains(&a)) {
                return Err(bad(
                    "patient.age_years",
                    format!("{a} is not an age in years"),
                ));
            }
        }
        if let Some(w) = self.patient.weight_kg {
            if !(w.is_finite() && w > 0.0 && w < 700.0) {
                return Err(bad(
                    "patient.weight_kg",
                    format!("{w} is not a body weight in kg"),
                ));
            }
        }
        if let Some(s) = &self.scores {
            s.compute(self.patient.age_years)
                .map_err(|e| bad("scores", e.to_string()))?;
        }
        Ok(())
    }

    /// Refuse dates in an impossible order: an onset after the report was received, a reaction that
    /// ends before it starts, a dechallenge before the onset it answers, a drug or regimen that stops
    /// before it starts. Partial dates are compared at the precision both share, so only a certain
    /// inversion is refused.
    fn validate_date_order(
        &self,
        bad: &dyn Fn(&str, String) -> ClinicError,
    ) -> Result<(), ClinicError> {
        for (i, r) in self.reactions.iter().enumerate() {
            if let (Some(onset), Some(received)) = (r.onset, self.received) {
                if received.surely_before(&onset) {
                    return Err(bad(
                        &format!("reactions[{i}].onset"),
                        format!("onset {onset} is after the date the report was received ({received}, field received)"),
                    ));
                }
            }
            if let (Some(onset), Some(end)) = (r.onset, r.end) {
                if end.surely_before(&onset) {
                    return Err(bad(
                        &format!("reactions[{i}].end"),
                        format!("end {end} is before the onset {onset}"),
                    ));
                }
            }
            if let (Some(onset), Some(date)) =
                (r.onset, r.dechallenge.as_ref().and_then(|d| d.date))
            {
                if date.surely_before(&onset) {
                    return Err(bad(
                        &format!("reactions[{i}].dechallenge.date"),
                        format!("dechallenge {date} is before the onset {onset} (reactions[{i}].onset): it cannot answer whether the reaction improved"),
                    ));
                }
            }
        }
        for (k, d) in self.drugs.iter().enumerate() {
            if let (Some(start), Some(stop)) = (d.start, d.stop) {
                if stop.surely_before(&start) {
                    return Err(bad(
                        &format!("drugs[{k}].stop"),
                        format!("last administration {stop} is before the first {start}"),
                    ));
                }
            }
            for (n, reg) in d.regimens.iter().enumerate() {
                if let (Some(start), Some(end)) = (reg.start, reg.end) {
                    if end.surely_before(&start) {
                        return Err(bad(
                            &format!("drugs[{k}].regimens[{n}].end"),
                            format!("regimen end {end} is before its start {start}"),
                        ));
                    }
                }
                // A regimen lies within the drug's administration: the drug's start is the first
                // regimen's start and its stop the last regimen's end (G.k.4.r.4/5), so a regimen
                // outside [start, stop] contradicts the drug's own dates.
                if let (Some(reg_start), Some(first)) = (reg.start, d.start) {
                    if reg_start.surely_before(&first) {
                        return Err(bad(
                            &format!("drugs[{k}].regimens[{n}].start"),
                            format!("regimen start {reg_start} is before the drug's first administration {first} (drugs[{k}].start)"),
                        ));
                    }
                }
                if let Some(last) = d.stop {
                    for (field, date) in [("start", reg.start), ("end", reg.end)] {
                        if let Some(date) = date {
                            if last.surely_before(&date) {
                                return Err(bad(
                                    &format!("drugs[{k}].regimens[{n}].{field}"),
                                    format!("regimen {field} {date} is after the drug's last administration {last} (drugs[{k}].stop)"),
                                ));
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The local id of drug `k` (its `id`, else `drug-<k+1>`).
    pub fn drug_ref(&self, k: usize) -> String {
        self.drugs[k]
            .id
            .clone()
            .unwrap_or_else(|| format!("drug-{}", k + 1))
    }

    /// The local id of reaction `i` (its `id`, else `reaction-<i+1>`).
    pub fn reaction_ref(&self, i: usize) -> String {
        self.reactions[i]
            .id
            .clone()
            .unwrap_or_else(|| format!("reaction-{}", i + 1))
    }

    /// Whether the history lists `condition`.
    pub fn has_history(&self, condition: Condition) -> bool {
        self.patient
            .history
            .iter()
            .any(|h| h.condition == condition)
    }

    /// Indices of the suspect and interacting drugs.
    pub fn suspect_drugs(&self) -> impl Iterator<Item = usize> + '_ {
        self.drugs
            .iter()
            .enumerate()
            .filter(|(_, d)| matches!(d.role, DrugRole::Suspect | DrugRole::Interacting))
            .map(|(k, _)| k)
    }
}
