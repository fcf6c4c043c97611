//! The clinician's side of a reaction: the assessment inputs they confirm (EASI/SCORAD, causality
//! answers, alternative causes, outcome), the case built from the record for vigil-clinic, and the
//! E2B(R3) ICSR export. All clinical logic is vigil-clinic's; this module only maps the record onto its
//! case model.
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use vigil_clinic::case::{
    ActionTaken, BodySite, Condition, Dechallenge, DechallengeAction, Drug, DrugRole, Feature,
    HistoryItem, IntervalUnit, Outcome, Patient, Qualification, Reaction, Rechallenge,
    Regimen as ClinicRegimen, ReportType, Reporter, Seriousness, Sex,
};
use vigil_clinic::causality::{CausalityAnswers, StatedAssessment};
use vigil_clinic::e2b::export::{to_xml, ExportOptions};
use vigil_clinic::scores::{
    easi::EasiInput, poem::PoemInput, pp_nrs::PpNrsInput, scorad::ScoradInput, ScoreInputs,
};
use vigil_clinic::{Case, CaseAssessment, PartialDate};

use crate::error::{AppError, FieldError};
use crate::records::{self, ReactionReport};
use crate::AppState;

/// What the clinician confirms for a reaction.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentInput {
    /// EASI components (vigil-clinic's input).
    #[serde(default)]
    pub easi: Option<EasiInput>,
    /// SCORAD components (vigil-clinic's input).
    #[serde(default)]
    pub scorad: Option<ScoradInput>,
    /// Causality answers the clinician confirms; absent items are derived from the record.
    #[serde(default)]
    pub causality: CausalityAnswers,
    /// Other causes that could explain the reaction: absent = not assessed, empty = none found.
    #[serde(default)]
    pub alternative_causes: Option<Vec<String>>,
    /// Outcome (vigil-clinic names: recovered, recovering, not_recovered, ...); default unknown.
    #[serde(default)]
    pub outcome: Option<String>,
    /// What was done with the drug because of the reaction and what followed (e.g. the interval
    /// extended and the reaction improved); vigil-clinic derives Naranjo items 3 and 8 from it.
    #[serde(default)]
    pub dechallenge: Option<Dechallenge>,
    /// Re-administration after a dechallenge.
    #[serde(default)]
    pub rechallenge: Option<Rechallenge>,
    /// E2B E.i.3.2 seriousness criteria as the clinician answered them; absent = not asked yet (the
    /// export then asks for confirmation).
    #[serde(default)]
    pub seriousness: Option<Seriousness>,
    /// The clinician's own causality judgement, a WHO-UMC category (certain, probable, possible, unlikely,
    /// conditional, unassessable); exported as the clinician's, beside vigil's derived results.
    #[serde(default)]
    pub clinician_causality: Option<String>,
}

/// WHO-UMC causality categories (clinical.md §1.2 [VERIFIED]), as the clinician may state one.
pub const WHO_UMC_CATEGORIES: [&str; 6] = [
    "certain",
    "probable",
    "possible",
    "unlikely",
    "conditional",
    "unassessable",
];

/// A stored assessment: one version (every save is a new version; the latest is current).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredAssessment {
    /// Row id.
    pub id: i64,
    /// Version number of this reaction's assessment, 1 = first save.
    pub version: i64,
    /// Who confirmed it.
    pub clinician_id: i64,
    /// Their display name.
    pub clinician_name: String,
    /// The inputs.
    pub input: AssessmentInput,
    /// EASI total, when given.
    pub easi: Option<f64>,
    /// SCORAD total, when given with both symptom scales.
    pub scorad: Option<f64>,
    /// When.
    pub created_at: String,
}

/// Validate an assessment with vigil-clinic's score rules; returns the EASI and SCORAD totals.
pub fn validate_assessment(
    input: &AssessmentInput,
    age_years: Option<f64>,
    today: NaiveDate,
) -> Result<(Option<f64>, Option<f64>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let scores = ScoreInputs {
        easi: input.easi.clone(),
        scorad: input.scorad.clone(),
        ..Default::default()
    };
    let mut totals = (None, None);
    match scores.compute(age_years) {
        Ok(r) => totals = (r.easi.map(|e| e.total), r.scorad.and_then(|s| s.scorad)),
        Err(e) => errors.push(FieldError::new(
            format!("{}.{}", e.instrument.to_lowercase(), e.field),
            e.message,
        )),
    }
    if let Some(o) = &input.outcome {
        if serde_json::from_value::<Outcome>(json!(o)).is_err() {
            errors.push(FieldError::new("outcome", format!("{o:?} is not an outcome (recovered, recovering, not_recovered, recovered_with_sequelae, fatal, unknown)")));
        }
    }
    if let Some(date) = input.dechallenge.as_ref().and_then(|d| d.date.as_ref()) {
        if date.exact().is_some_and(|d| d > today) {
            errors.push(FieldError::new(
                "dechallenge.date",
                format!("{} is in the future", date.to_hl7()),
            ));
        }
    }
    if let Some(c) = &input.clinician_causality {
        if !WHO_UMC_CATEGORIES.contains(&c.as_str()) {
            errors.push(FieldError::new(
                "clinician_causality",
                format!(
                    "{c:?} is not a WHO-UMC category ({})",
                    WHO_UMC_CATEGORIES.join(", ")
                ),
            ));
        }
    }
    if let Some(causes) = &input.alternative_causes {
        for (i, c) in causes.iter().enumerate() {
            if c.trim().is_empty() || c.chars().count() > 500 {
                errors.push(FieldError::new(
                    format!("alternative_causes[{i}]"),
                    "must be 1–500 characters",
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(totals)
    } else {
        Err(errors)
    }
}

/// Age in whole years on `on` for a birth date.
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> f64 {
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    f64::from(years.max(0))
}

/// Every version of a reaction's assessment, newest first.
pub async fn assessment_history(
    state: &AppState,
    reaction_id: i64,
) -> Result<Vec<StoredAssessment>, AppError> {
    let rows = sqlx::query(
        "SELECT a.*, u.display_name AS clinician_name FROM assessments a JOIN users u ON u.id = a.clinician_id \
         WHERE a.reaction_id = $1 ORDER BY a.id",
    )
    .bind(reaction_id)
    .fetch_all(&state.db.pool)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (k, r) in rows.iter().enumerate() {
        out.push(assessment_from_row(r, k as i64 + 1)?);
    }
    out.reverse();
    Ok(out)
}

/// The latest assessment of a reaction.
pub async fn latest_assessment(
    state: &AppState,
    reaction_id: i64,
) -> Result<Option<StoredAssessment>, AppError> {
    Ok(assessment_history(state, reaction_id)
        .await?
        .into_iter()
        .next())
}

fn assessment_from_row(r: &sqlx::any::AnyRow, version: i64) -> Result<StoredAssessment, AppError> {
    let scores: ScoreInputs = serde_json::from_str(&r.try_get::<String, _>("scores_json")?)
        .map_err(anyhow::Error::from)?;
    let causality: CausalityAnswers =
        serde_json::from_str(&r.try_get::<String, _>("causality_json")?)
            .map_err(anyhow::Error::from)?;
    let alternative_causes: Option<Vec<String>> =
        serde_json::from_str(&r.try_get::<String, _>("alternative_causes")?)
            .map_err(anyhow::Error::from)?;
    Ok(StoredAssessment {
        id: r.try_get("id")?,
        version,
        clinician_id: r.try_get("clinician_id")?,
        clinician_name: r.try_get("clinician_name")?,
        input: AssessmentInput {
            easi: scores.easi,
            scorad: scores.scorad,
            causality,
            alternative_causes,
            outcome: Some(r.try_get("outcome")?),
            dechallenge: serde_json::from_str(&r.try_get::<String, _>("dechallenge_json")?)
                .map_err(anyhow::Error::from)?,
            rechallenge: serde_json::from_str(&r.try_get::<String, _>("rechallenge_json")?)
                .map_err(anyhow::Error::from)?,
            seriousness: serde_json::from_str(&r.try_get::<String, _>("seriousness_json")?)
                .map_err(anyhow::Error::from)?,
            clinician_causality: r.try_get("clinician_causality")?,
        },
        easi: r.try_get("easi")?,
        scorad: r.try_get("scorad")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Store a validated assessment with its audit row.
pub async fn insert_assessment(
    state: &AppState,
    clinician_id: i64,
    reaction: &ReactionReport,
    input: &AssessmentInput,
    totals: (Option<f64>, Option<f64>),
) -> Result<i64, AppError> {
    let reaction_id = reaction.id;
    let before = latest_assessment(state, reaction_id).await?;
    let scores = ScoreInputs {
        easi: input.easi.clone(),
        scorad: input.scorad.clone(),
        ..Default::default()
    };
    let mut tx = state.db.pool.begin().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO assessments (reaction_id, clinician_id, scores_json, easi, scorad, causality_json, alternative_causes, outcome, \
         dechallenge_json, rechallenge_json, created_at, seriousness_json, clinician_causality) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(reaction_id)
    .bind(clinician_id)
    .bind(serde_json::to_string(&scores).map_err(anyhow::Error::from)?)
    .bind(totals.0)
    .bind(totals.1)
    .bind(serde_json::to_string(&input.causality).map_err(anyhow::Error::from)?)
    .bind(serde_json::to_string(&input.alternative_causes).map_err(anyhow::Error::from)?)
    .bind(input.outcome.as_deref().unwrap_or("unknown"))
    .bind(serde_json::to_string(&input.dechallenge).map_err(anyhow::Error::from)?)
    .bind(serde_json::to_string(&input.rechallenge).map_err(anyhow::Error::from)?)
    .bind(crate::now_rfc3339())
    .bind(serde_json::to_string(&input.seriousness).map_err(anyhow::Error::from)?)
    .bind(input.clinician_causality.as_deref())
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    records::audit(
        &mut tx,
        Some(clinician_id),
        "assess_reaction",
        "assessment",
        Some(id),
        Some(reaction.patient_id),
        before.map(|b| json!(b)),
        Some(json!({"id": id, "reaction_id": reaction_id, "input": input, "easi": totals.0, "scorad": totals.1})),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// G.k.9.i.2.r.1 source of the clinician's own causality judgement in the ICSR.
pub const CLINICIAN_SOURCE: &str = "reporting clinician (vigil serve)";

/// The dosing history of the suspect drug as it applies to a reaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Dosing {
    /// G.k.4.r in time order: the loading dose (a single dose), the regimen in force at onset and any
    /// later changes, each with its start and (when replaced) end date.
    pub regimens: Vec<ClinicRegimen>,
    /// G.k.8 action taken: from the clinician's dechallenge, else from a regimen change after the onset
    /// (a longer interval or lower dose = dose reduced, clinical.md §5.3 [derived]); none when nothing
    /// changed after the onset.
    pub action_taken: Option<ActionTaken>,
}

/// Build [`Dosing`] from the regimen rows (oldest first) and the doses given (date, mg; in date order).
///
/// A regimen row holds from its start date until the next row's start; a later row starting on or before
/// an earlier row's start restates it (the earlier one is dropped), and a row replaced before the first
/// dose is dropped too. The first dose is a loading dose when
/// it is larger than the regimen dose (dupilumab: 600 mg then 300 mg, clinical.md §4.2); the maintenance
/// regimen then starts one interval later.
pub fn dosing_history(
    rows: &[records::Regimen],
    doses: &[(NaiveDate, f64)],
    onset: NaiveDate,
    dechallenge: Option<&Dechallenge>,
) -> Result<Dosing, AppError> {
    let mut effective: Vec<(NaiveDate, &records::Regimen)> = Vec::new();
    for r in rows {
        let start = parse_date("start_date", &r.start_date)?;
        effective.retain(|(s, _)| *s < start);
        effective.push((start, r));
    }
    // A regimen replaced before the first dose was never given (a planned start moved): left out.
    if let Some(&(first_day, _)) = doses.first() {
        while effective.len() > 1 && effective[1].0 <= first_day {
            effective.remove(0);
        }
    }
    let mut regimens = Vec::new();
    let mut starts: Vec<NaiveDate> = effective.iter().map(|(s, _)| *s).collect();
    // A regimen planned to start before the first logged dose starts, as given, with that dose:
    // no regimen precedes the drug's first administration (G.k.4.r.4; the case model refuses it).
    if let (Some(&(first_day, _)), Some(first)) = (doses.first(), starts.first_mut()) {
        *first = (*first).max(first_day);
    }
    if let (Some(&(first_day, first_mg)), Some(&(start0, reg0))) =
        (doses.first(), effective.first())
    {
        if first_mg > reg0.dose_mg
            && first_day <= start0 + chrono::Duration::days(reg0.interval_days)
        {
            regimens.push(ClinicRegimen {
                dose: first_mg,
                unit: "mg".into(),
                every: None,
                every_unit: None,
                start: Some(PartialDate::from_naive(first_day)),
                end: Some(PartialDate::from_naive(first_day)),
                route: Some("subcutaneous".into()),
            });
            starts[0] = starts[0].max(first_day + chrono::Duration::days(reg0.interval_days));
        }
    }
    for (k, (_, r)) in effective.iter().enumerate() {
        let end = effective
            .get(k + 1)
            .map(|(next, _)| *next - chrono::Duration::days(1));
        regimens.push(ClinicRegimen {
            dose: r.dose_mg,
            unit: "mg".into(),
            every: Some(r.interval_days as f64),
            every_unit: Some(IntervalUnit::Day),
            start: Some(PartialDate::from_naive(starts[k])),
            end: end.map(PartialDate::from_naive),
            route: Some("subcutaneous".into()),
        });
    }
    let at_onset = effective
        .iter()
        .rev()
        .find(|(s, _)| *s <= onset)
        .map(|(_, r)| *r);
    let later = effective.iter().find(|(s, _)| *s > onset).map(|(_, r)| *r);
    let action_taken = match dechallenge.map(|d| d.action) {
        Some(DechallengeAction::Withdrawn | DechallengeAction::Interrupted) => {
            Some(ActionTaken::Withdrawn)
        }
        Some(DechallengeAction::IntervalExtended | DechallengeAction::DoseReduced) => {
            Some(ActionTaken::DoseReduced)
        }
        None => match (at_onset, later) {
            (Some(a), Some(b)) => {
                // Compare mg per day: a longer interval at the same dose is a reduction.
                let (before, after) = (
                    a.dose_mg / a.interval_days as f64,
                    b.dose_mg / b.interval_days as f64,
                );
                Some(if after < before {
                    ActionTaken::DoseReduced
                } else if after > before {
                    ActionTaken::DoseIncreased
                } else {
                    ActionTaken::DoseNotChanged
                })
            }
            _ => None,
        },
    };
    Ok(Dosing {
        regimens,
        action_taken,
    })
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .flat_map(char::to_uppercase)
        .take(4)
        .collect()
}

fn parse_date(field: &str, s: &str) -> Result<NaiveDate, AppError> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| anyhow::anyhow!("stored {field} {s:?}: {e}").into())
}

/// The ICSR case identifier of a reaction (C.1.1).
pub fn case_id(reaction_id: i64) -> String {
    format!("VIGIL-SERVE-R{reaction_id}")
}

/// Build vigil-clinic's case for a reaction from the record and the latest assessment.
pub async fn build_case(state: &AppState, reaction: &ReactionReport) -> Result<Case, AppError> {
    let record = records::load_record(state, reaction.patient_id).await?;
    let assessment = latest_assessment(state, reaction.id).await?;
    let regimen = record.regimen.as_ref().ok_or_else(|| {
        crate::error::invalid(
            "regimen",
            "the patient has no regimen: an ICSR needs the suspect drug",
        )
    })?;
    let onset = parse_date("onset_date", &reaction.onset_date)?;
    let input = assessment.map(|a| a.input).unwrap_or_default();
    let history = records::regimen_history(state, reaction.patient_id).await?;
    let doses: Vec<(NaiveDate, f64)> = record
        .injections
        .iter()
        .filter(|i| i.superseded_by.is_none())
        .map(|i| Ok((parse_date("given_on", &i.given_on)?, i.dose_mg)))
        .collect::<Result<_, AppError>>()?;
    let dosing = dosing_history(&history, &doses, onset, input.dechallenge.as_ref())?;
    let first_dose = match doses.first() {
        Some((d, _)) => *d,
        None => parse_date("start_date", &regimen.start_date)?,
    };
    let scores = score_inputs(&record, &input);
    let has_scores = scores.easi.is_some()
        || scores.scorad.is_some()
        || scores.poem.is_some()
        || scores.pp_nrs.is_some();
    let case = Case {
        id: case_id(reaction.id),
        report_type: ReportType::Spontaneous,
        received: Some(PartialDate::from_naive(parse_date(
            "created_at",
            &reaction.created_at[..10],
        )?)),
        reporter: Reporter {
            qualification: Some(Qualification::Physician),
            country: None,
        },
        patient: patient(&record, regimen, onset)?,
        drugs: vec![suspect_drug(&record, regimen, first_dose, dosing, onset)],
        reactions: vec![reaction_of(reaction, &input, onset)],
        tests: Vec::new(),
        scores: has_scores.then_some(scores),
        narrative: Some(format!(
            "Reported by the patient through vigil serve on {}: {}",
            &reaction.created_at[..10],
            reaction.description
        )),
    };
    case.validate(&case.id).map_err(|e| match e {
        vigil_clinic::ClinicError::Invalid { field, message, .. } => {
            crate::error::invalid(field, message)
        }
        other => AppError::Internal(other.into()),
    })?;
    Ok(case)
}

/// The patient (D): initials, sex, age at onset, weight, and atopic dermatitis as ongoing history
/// when it is the regimen's indication.
fn patient(
    record: &records::PatientRecord,
    regimen: &records::Regimen,
    onset: NaiveDate,
) -> Result<Patient, AppError> {
    let age_years = record
        .patient
        .birth_date
        .as_deref()
        .map(|b| parse_date("birth_date", b))
        .transpose()?
        .map(|b| age_on(b, onset));
    let mut history = Vec::new();
    if regimen.indication.to_lowercase().contains("atopic") {
        history.push(HistoryItem {
            condition: Condition::AtopicDermatitis,
            text: Some(regimen.indication.clone()),
            ongoing: Some(true),
        });
    }
    Ok(Patient {
        initials: Some(initials(&record.patient.display_name)).filter(|s| !s.is_empty()),
        sex: record.patient.sex.as_deref().and_then(|s| match s {
            "male" => Some(Sex::Male),
            "female" => Some(Sex::Female),
            _ => None,
        }),
        age_years,
        weight_kg: record.patient.weight_kg,
        history,
        past_drug_reactions: Vec::new(),
        prior_facial_tcs: None,
        head_neck_at_baseline: None,
    })
}

/// The suspect drug (G.k): the regimen's drug from the first dose given, its dosing history, the
/// action taken, and the doses missed before the onset.
fn suspect_drug(
    record: &records::PatientRecord,
    regimen: &records::Regimen,
    first_dose: NaiveDate,
    dosing: Dosing,
    onset: NaiveDate,
) -> Drug {
    Drug {
        id: Some("drug-1".into()),
        name: regimen.drug.clone(),
        substance: vigil_clinic::knowledge::dupilumab::is_dupilumab(&regimen.drug)
            .then(|| "dupilumab".to_string()),
        role: DrugRole::Suspect,
        indication: Some(regimen.indication.clone()),
        start: Some(PartialDate::from_naive(first_dose)),
        stop: None,
        regimens: dosing.regimens,
        action_taken: dosing.action_taken,
        // Scheduled doses whose window passed without a dose (the label rule, records::schedule), up to
        // the onset: the reaction-vs-flare rules weigh them (a flare often follows a missed dose).
        missed_doses: record
            .missed_doses
            .iter()
            .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .filter(|d| *d <= onset)
            .map(PartialDate::from_naive)
            .collect(),
    }
}

/// The reaction (E.i) as the patient reported it, with the clinician's assessment: outcome,
/// seriousness, dechallenge, rechallenge, alternative causes and causality answers.
fn reaction_of(reaction: &ReactionReport, input: &AssessmentInput, onset: NaiveDate) -> Reaction {
    let tri = |s: &str| match s {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let sites: Vec<BodySite> = reaction
        .sites
        .iter()
        .filter_map(|s| serde_json::from_value(json!(s)).ok())
        .collect();
    let features: Vec<Feature> = reaction
        .features
        .iter()
        .filter_map(|s| serde_json::from_value(json!(s)).ok())
        .collect();
    let outcome: Outcome = input
        .outcome
        .as_deref()
        .and_then(|o| serde_json::from_value(json!(o)).ok())
        .unwrap_or_default();
    Reaction {
        id: Some("reaction-1".into()),
        term: reaction.description.chars().take(250).collect(),
        meddra_llt: None,
        meddra_version: None,
        onset: Some(PartialDate::from_naive(onset)),
        end: None,
        outcome,
        seriousness: input.seriousness.unwrap_or_default(),
        sites,
        features,
        different_from_usual_ad: tri(&reaction.different_from_usual),
        rest_of_skin_improving: tri(&reaction.rest_of_skin_improving),
        dechallenge: input.dechallenge.clone(),
        rechallenge: input.rechallenge,
        alternative_causes: input.alternative_causes.clone(),
        causality_answers: Some(CausalityAnswers {
            // The clinician's own WHO-UMC category is exported as theirs (G.k.9.i.2.r), beside
            // vigil's derived results, which the export labels as its algorithm.
            stated: input
                .clinician_causality
                .iter()
                .map(|c| StatedAssessment {
                    drug: None,
                    source: CLINICIAN_SOURCE.into(),
                    method: "WHO-UMC".into(),
                    result: c.clone(),
                })
                .collect(),
            ..input.causality.clone()
        }),
    }
}

/// The severity scores: the clinician's EASI and SCORAD, and the patient's latest POEM and peak
/// pruritus (with the first entry as baseline when there are several).
fn score_inputs(record: &records::PatientRecord, input: &AssessmentInput) -> ScoreInputs {
    let latest = record.scores.last();
    ScoreInputs {
        easi: input.easi.clone(),
        scorad: input.scorad.clone(),
        poem: latest
            .and_then(|s| records::poem_score(&s.poem_days).ok())
            .map(|(items, _)| PoemInput {
                item_scores: Some(items),
                days: None,
            }),
        viga: None,
        pp_nrs: latest.map(|s| PpNrsInput {
            score: s.pp_nrs,
            baseline: record
                .scores
                .first()
                .map(|f| f.pp_nrs)
                .filter(|_| record.scores.len() > 1),
        }),
    }
}

/// The clinic module's assessment of a reaction.
pub async fn assess_reaction(
    state: &AppState,
    reaction: &ReactionReport,
) -> Result<(Case, CaseAssessment), AppError> {
    let case = build_case(state, reaction).await?;
    let assessment = vigil_clinic::assess(&case).map_err(|e| match e {
        vigil_clinic::ClinicError::Invalid { field, message, .. } => {
            crate::error::invalid(field, message)
        }
        other => AppError::Internal(other.into()),
    })?;
    Ok((case, assessment))
}

/// A stored ICSR export (without the XML).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IcsrSummary {
    /// Row id.
    pub id: i64,
    /// The reaction.
    pub reaction_id: i64,
    /// C.1.1 (the same for every version of the reaction's ICSR).
    pub case_id: String,
    /// Version of the ICSR: 1 initial, 2… follow-ups.
    pub version: i64,
    /// N.2.r.1 message id of this version (`case id-vN`).
    pub message_id: Option<String>,
    /// When.
    pub created_at: String,
}

/// What is missing before a reaction's ICSR says what a clinician judged: no assessment saved, or no
/// seriousness answer. Exporting anyway needs an explicit confirmation.
pub fn unconfirmed_gaps(assessment: Option<&StoredAssessment>) -> Vec<&'static str> {
    match assessment {
        None => vec!["no clinician has assessed this reaction: causality is vigil's derivation only and seriousness is not stated"],
        Some(a) if a.input.seriousness.is_none() => vec!["the seriousness criteria (E2B E.i.3.2) were not answered"],
        Some(_) => Vec::new(),
    }
}

/// Export the reaction as E2B(R3) XML, store it, and return its id.
///
/// Each export is a new version of the reaction's ICSR: C.1.1 stays the case id, the message id (N.2.r.1)
/// is `case id-vN`. Without an assessment or a seriousness answer ([`unconfirmed_gaps`]) it is refused
/// with 422 on `confirm_unassessed` unless `confirm_unassessed` is set.
pub async fn export_icsr(
    state: &AppState,
    clinician_id: i64,
    reaction: &ReactionReport,
    confirm_unassessed: bool,
) -> Result<i64, AppError> {
    let confirmed = latest_assessment(state, reaction.id).await?;
    let gaps = unconfirmed_gaps(confirmed.as_ref());
    if !gaps.is_empty() && !confirm_unassessed {
        return Err(crate::error::invalid(
            "confirm_unassessed",
            format!("{}; confirm to export anyway", gaps.join("; ")),
        ));
    }
    let (case, assessment) = assess_reaction(state, reaction).await?;
    let mut tx = state.db.pool.begin().await?;
    let previous: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM icsr_exports WHERE reaction_id = $1")
            .bind(reaction.id)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
    let version = previous + 1;
    let mut options = ExportOptions::new(PartialDate::from_naive(records::today()));
    options.message_id = Some(format!("{}-v{version}", case.id));
    let xml =
        to_xml(&case, &assessment.causality, &options).map_err(|e| AppError::Internal(e.into()))?;
    let id: i64 = sqlx::query(
        "INSERT INTO icsr_exports (reaction_id, clinician_id, case_id, xml, created_at, version, message_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(reaction.id)
    .bind(clinician_id)
    .bind(&case.id)
    .bind(&xml)
    .bind(crate::now_rfc3339())
    .bind(version)
    .bind(options.message_id.as_deref())
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    records::audit(
        &mut tx,
        Some(clinician_id),
        "export_icsr",
        "icsr_export",
        Some(id),
        Some(reaction.patient_id),
        None,
        Some(json!({"id": id, "reaction_id": reaction.id, "case_id": case.id, "version": version, "message_id": options.message_id,
                    "confirmed_unassessed": !gaps.is_empty(), "xml_bytes": xml.len()})),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// The exports of a reaction, newest first.
pub async fn exports_of(state: &AppState, reaction_id: i64) -> Result<Vec<IcsrSummary>, AppError> {
    let rows = sqlx::query("SELECT id, reaction_id, case_id, version, message_id, created_at FROM icsr_exports WHERE reaction_id = $1 ORDER BY id DESC")
        .bind(reaction_id)
        .fetch_all(&state.db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(IcsrSummary {
                id: r.try_get("id")?,
                reaction_id: r.try_get("reaction_id")?,
                case_id: r.try_get("case_id")?,
                version: r.try_get("version")?,
                message_id: r.try_get("message_id")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(AppError::from)
}

/// One stored export: its reaction id and XML, or 404.
pub async fn icsr_xml(state: &AppState, export_id: i64) -> Result<(i64, String, String), AppError> {
    let row = sqlx::query("SELECT reaction_id, case_id, xml FROM icsr_exports WHERE id = $1")
        .bind(export_id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok((
        row.try_get("reaction_id")?,
        row.try_get("case_id")?,
        row.try_get("xml")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_counts_completed_years() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(age_on(d("1990-06-15"), d("2026-06-14")), 35.0);
        assert_eq!(age_on(d("1990-06-15"), d("2026-06-15")), 36.0);
    }

    /// A regimen entered as starting 2024-01-01 whose first injection was logged on 2024-01-05
    /// (300 mg, no loading dose) starts on 2024-01-05 in the ICSR: a regimen before the first
    /// administration made the case invalid and the ICSR export a 422 (found when the case model
    /// began refusing regimens outside the drug's dates).
    #[test]
    fn a_regimen_starts_no_earlier_than_the_first_dose() {
        let d = |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let row = records::Regimen {
            id: 1,
            drug: "dupilumab".into(),
            dose_mg: 300.0,
            interval_days: 14,
            indication: "atopic dermatitis".into(),
            start_date: "2024-01-01".into(),
            label_match: None,
            label_note: None,
        };
        let doses = [(d("2024-01-05"), 300.0), (d("2024-01-19"), 300.0)];
        let dosing = dosing_history(&[row], &doses, d("2024-02-01"), None).unwrap();
        assert_eq!(dosing.regimens.len(), 1);
        assert_eq!(
            dosing.regimens[0].start,
            Some(PartialDate::from_naive(d("2024-01-05")))
        );
    }

    #[test]
    fn initials_take_the_first_letter_of_each_word() {
        assert_eq!(initials("ann marie O'Neil"), "AMO");
        assert_eq!(initials(""), "");
    }

    #[test]
    fn out_of_range_scores_name_the_component() {
        let input: AssessmentInput = serde_json::from_value(json!({
            "scorad": {"extent_percent": 120.0, "intensity": {"erythema": 1, "oedema_papulation": 1, "oozing_crusting": 0,
                        "excoriation": 1, "lichenification": 0, "dryness": 1}, "pruritus": 5.0, "sleeplessness": 2.0}
        }))
        .unwrap();
        let e = validate_assessment(&input, Some(30.0), records::today()).unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(e[0].field.starts_with("scorad."), "{:?}", e);
    }
}
