//! The patient record: regimen, injections (with the next due date), weekly scores and reaction reports;
//! their validation and their transactional, audited writes.
//!
//! Every write runs in one transaction with its audit-log row, so a change is either stored together with
//! who made it and what it was before and after, or not at all.
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use vigil_clinic::case::{BodySite, Feature};
use vigil_clinic::scores::{poem, pp_nrs};

use crate::error::{AppError, FieldError};
use crate::AppState;

/// Longest accepted free-text field, in characters.
pub const MAX_TEXT: usize = 2000;

/// Dupilumab maintenance regimens for atopic dermatitis on the US label, with their population.
///
/// Source: FDA label, revision 04/2024, section 2.3, as tabulated in the project's clinical knowledge base
/// (`clinical.md` §4.2, tagged **[VERIFIED]**). The interval is per patient because children 6 months–5
/// years and 6–17 years of 15 to <30 kg receive every 4 weeks (28 days), adults every 2 weeks (14 days).
pub const DUPILUMAB_LABEL_REGIMENS: &[LabelRegimen] = &[
    LabelRegimen { dose_mg: 300.0, interval_days: 14, population: "adults; 6–17 years ≥60 kg" },
    LabelRegimen { dose_mg: 200.0, interval_days: 14, population: "6–17 years, 30 to <60 kg" },
    LabelRegimen { dose_mg: 300.0, interval_days: 28, population: "6 months–5 years, 15 to <30 kg; 6–17 years, 15 to <30 kg" },
    LabelRegimen { dose_mg: 200.0, interval_days: 28, population: "6 months–5 years, 5 to <15 kg" },
];

/// Where [`DUPILUMAB_LABEL_REGIMENS`] come from, and whether it was verified.
pub const DUPILUMAB_LABEL_SOURCE: &str =
    "US label (FDA, rev. 04/2024) §2.3, via clinical.md §4.2 [VERIFIED]";

/// The dupilumab missed-dose rule shown beside an overdue every-2-weeks dose.
pub const DUPILUMAB_MISSED_DOSE_RULE: &str = "Every-2-weeks dupilumab: give within 7 days of the missed dose, then resume the \
     original schedule; later than 7 days, wait for the next scheduled dose (EU SmPC, clinical.md §4.2 [VERIFIED]).";

/// One labelled maintenance regimen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LabelRegimen {
    /// Dose per injection, mg.
    pub dose_mg: f64,
    /// Days between injections.
    pub interval_days: i64,
    /// Who gets it.
    pub population: &'static str,
}

/// Whether a drug name is dupilumab (delegates to the clinic module's rule).
pub fn is_dupilumab(drug: &str) -> bool {
    let d = vigil_clinic::case::Drug {
        id: None,
        name: drug.to_string(),
        substance: None,
        role: vigil_clinic::case::DrugRole::Suspect,
        indication: None,
        start: None,
        stop: None,
        regimens: Vec::new(),
        action_taken: None,
        missed_doses: Vec::new(),
    };
    vigil_clinic::flare::is_dupilumab(&d)
}

/// The current regimen of a patient.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Regimen {
    /// Row id.
    pub id: i64,
    /// Drug as entered.
    pub drug: String,
    /// Dose per injection, mg.
    pub dose_mg: f64,
    /// Days between injections.
    pub interval_days: i64,
    /// Indication.
    pub indication: String,
    /// First dose date.
    pub start_date: String,
    /// For dupilumab: the label regimen it matches, if any.
    pub label_match: Option<LabelRegimen>,
    /// For dupilumab: a sentence about the label, with its source.
    pub label_note: Option<String>,
}

/// One injection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Injection {
    /// Row id.
    pub id: i64,
    /// Date given.
    pub given_on: String,
    /// Dose, mg.
    pub dose_mg: f64,
    /// Injection site.
    pub site: String,
    /// Free-text note.
    pub note: String,
}

/// One week's POEM and PP-NRS.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeeklyScore {
    /// Row id.
    pub id: i64,
    /// First day of the week scored.
    pub week_start: String,
    /// POEM: days (0–7) per item, in questionnaire order.
    pub poem_days: Vec<u8>,
    /// POEM total 0–28.
    pub poem_total: i64,
    /// POEM band (Charman 2013, via vigil-clinic).
    pub poem_band: String,
    /// Peak Pruritus NRS 0–10.
    pub pp_nrs: f64,
    /// PP-NRS stratum (vigil-clinic; whole numbers only).
    pub pp_nrs_stratum: Option<String>,
}

/// One reaction report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReactionReport {
    /// Row id.
    pub id: i64,
    /// Patient id.
    pub patient_id: i64,
    /// Onset date.
    pub onset_date: String,
    /// What the patient describes.
    pub description: String,
    /// Body sites (vigil-clinic names).
    pub sites: Vec<String>,
    /// Features (vigil-clinic names).
    pub features: Vec<String>,
    /// Differs from the usual eczema: yes / no / unknown.
    pub different_from_usual: String,
    /// Rest of the skin improving: yes / no / unknown.
    pub rest_of_skin_improving: String,
    /// When reported.
    pub created_at: String,
}

/// The patient's details.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatientInfo {
    /// User id.
    pub id: i64,
    /// Display name.
    pub display_name: String,
    /// Date of birth, if recorded.
    pub birth_date: Option<String>,
    /// `male` / `female`, if recorded.
    pub sex: Option<String>,
    /// Weight, kg.
    pub weight_kg: Option<f64>,
}

/// Everything on a patient's record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatientRecord {
    /// The patient.
    pub patient: PatientInfo,
    /// Current regimen.
    pub regimen: Option<Regimen>,
    /// Injections, oldest first.
    pub injections: Vec<Injection>,
    /// Next due date: last injection + interval (or the regimen start when none was given yet).
    pub next_due: Option<String>,
    /// Today is after the next due date.
    pub overdue: bool,
    /// Days past the due date (0 when not overdue).
    pub days_overdue: i64,
    /// The missed-dose rule, shown when overdue on dupilumab every 2 weeks.
    pub missed_dose_rule: Option<&'static str>,
    /// Weekly scores, oldest first.
    pub scores: Vec<WeeklyScore>,
    /// Reaction reports, newest first.
    pub reactions: Vec<ReactionReport>,
}

/// Today's date (UTC).
pub fn today() -> NaiveDate {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
    epoch + Duration::days(crate::now_unix().div_euclid(86_400))
}

/// Next due date and days overdue: `last + interval`, or `start` when nothing was given yet.
pub fn next_due(start: NaiveDate, last_given: Option<NaiveDate>, interval_days: i64, today: NaiveDate) -> (NaiveDate, i64) {
    let due = match last_given {
        Some(last) => last + Duration::days(interval_days),
        None => start,
    };
    (due, (today - due).num_days().max(0))
}

fn label_note(drug: &str, dose_mg: f64, interval_days: i64) -> (Option<LabelRegimen>, Option<String>) {
    if !is_dupilumab(drug) {
        return (None, None);
    }
    let hit = DUPILUMAB_LABEL_REGIMENS.iter().find(|r| r.dose_mg == dose_mg && r.interval_days == interval_days).copied();
    let note = match &hit {
        Some(r) => format!(
            "{} mg every {} days is a labelled maintenance regimen for atopic dermatitis ({}); source: {}.",
            r.dose_mg, r.interval_days, r.population, DUPILUMAB_LABEL_SOURCE
        ),
        None => format!(
            "{dose_mg} mg every {interval_days} days is not a labelled maintenance regimen for atopic dermatitis \
             (labelled: 300 or 200 mg every 14 or 28 days by age and weight; source: {DUPILUMAB_LABEL_SOURCE}). \
             An extended interval may be intended, e.g. as a dechallenge."
        ),
    };
    (hit, Some(note))
}

fn regimen_from_row(r: &AnyRow) -> Result<Regimen, sqlx::Error> {
    let drug: String = r.try_get("drug")?;
    let dose_mg: f64 = r.try_get("dose_mg")?;
    let interval_days: i64 = r.try_get("interval_days")?;
    let (label_match, label_note) = label_note(&drug, dose_mg, interval_days);
    Ok(Regimen {
        id: r.try_get("id")?,
        drug,
        dose_mg,
        interval_days,
        indication: r.try_get("indication")?,
        start_date: r.try_get("start_date")?,
        label_match,
        label_note,
    })
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',').filter(|x| !x.is_empty()).map(str::to_string).collect()
}

fn reaction_from_row(r: &AnyRow) -> Result<ReactionReport, sqlx::Error> {
    Ok(ReactionReport {
        id: r.try_get("id")?,
        patient_id: r.try_get("patient_id")?,
        onset_date: r.try_get("onset_date")?,
        description: r.try_get("description")?,
        sites: split_list(&r.try_get::<String, _>("sites")?),
        features: split_list(&r.try_get::<String, _>("features")?),
        different_from_usual: r.try_get("different_from_usual")?,
        rest_of_skin_improving: r.try_get("rest_of_skin_improving")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The current (latest) regimen of a patient.
pub async fn current_regimen(state: &AppState, patient_id: i64) -> Result<Option<Regimen>, AppError> {
    let row = sqlx::query("SELECT * FROM regimens WHERE patient_id = $1 ORDER BY id DESC LIMIT 1")
        .bind(patient_id)
        .fetch_optional(&state.db.pool)
        .await?;
    Ok(row.as_ref().map(regimen_from_row).transpose()?)
}

/// The patient's details, or 404 when the id is not a patient.
pub async fn patient_info(state: &AppState, patient_id: i64) -> Result<PatientInfo, AppError> {
    let row = sqlx::query("SELECT id, display_name, birth_date, sex, weight_kg FROM users WHERE id = $1 AND role = 'patient'")
        .bind(patient_id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(PatientInfo {
        id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
        birth_date: row.try_get("birth_date")?,
        sex: row.try_get("sex")?,
        weight_kg: row.try_get("weight_kg")?,
    })
}

/// Load a whole record (access must have been checked by the caller).
pub async fn load_record(state: &AppState, patient_id: i64) -> Result<PatientRecord, AppError> {
    let patient = patient_info(state, patient_id).await?;
    let regimen = current_regimen(state, patient_id).await?;
    let injections = sqlx::query("SELECT * FROM injections WHERE patient_id = $1 ORDER BY given_on, id")
        .bind(patient_id)
        .fetch_all(&state.db.pool)
        .await?
        .iter()
        .map(|r| {
            Ok(Injection {
                id: r.try_get("id")?,
                given_on: r.try_get("given_on")?,
                dose_mg: r.try_get("dose_mg")?,
                site: r.try_get("site")?,
                note: r.try_get("note")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let scores = sqlx::query("SELECT * FROM weekly_scores WHERE patient_id = $1 ORDER BY week_start, id")
        .bind(patient_id)
        .fetch_all(&state.db.pool)
        .await?
        .iter()
        .map(|r| {
            let poem_days: Vec<u8> = split_list(&r.try_get::<String, _>("poem_days")?).iter().filter_map(|d| d.parse().ok()).collect();
            let total: i64 = r.try_get("poem_total")?;
            let pp: f64 = r.try_get("pp_nrs")?;
            Ok(WeeklyScore {
                id: r.try_get("id")?,
                week_start: r.try_get("week_start")?,
                poem_days,
                poem_total: total,
                poem_band: poem::band(u8::try_from(total).unwrap_or(u8::MAX)).to_string(),
                pp_nrs: pp,
                pp_nrs_stratum: pp_nrs::stratum(pp).map(str::to_string),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let reactions = sqlx::query("SELECT * FROM reactions WHERE patient_id = $1 ORDER BY onset_date DESC, id DESC")
        .bind(patient_id)
        .fetch_all(&state.db.pool)
        .await?
        .iter()
        .map(reaction_from_row)
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let today = today();
    let (mut next, mut overdue, mut days_overdue, mut rule) = (None, false, 0, None);
    if let Some(reg) = &regimen {
        let start = NaiveDate::parse_from_str(&reg.start_date, "%Y-%m-%d").map_err(|e| anyhow::anyhow!("stored start_date: {e}"))?;
        let last = injections.iter().filter_map(|i| NaiveDate::parse_from_str(&i.given_on, "%Y-%m-%d").ok()).max();
        let (due, late) = next_due(start, last, reg.interval_days, today);
        next = Some(due.to_string());
        overdue = late > 0;
        days_overdue = late;
        if overdue && is_dupilumab(&reg.drug) && reg.interval_days == 14 {
            rule = Some(DUPILUMAB_MISSED_DOSE_RULE);
        }
    }
    Ok(PatientRecord { patient, regimen, injections, next_due: next, overdue, days_overdue, missed_dose_rule: rule, scores, reactions })
}

/// A reaction and its patient id, or 404.
pub async fn reaction(state: &AppState, reaction_id: i64) -> Result<ReactionReport, AppError> {
    let row = sqlx::query("SELECT * FROM reactions WHERE id = $1")
        .bind(reaction_id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(reaction_from_row(&row)?)
}

// ---------------------------------------------------------------- inputs and validation

/// A new regimen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegimenInput {
    /// Drug name, e.g. `dupilumab`.
    pub drug: String,
    /// Dose per injection, mg.
    pub dose_mg: f64,
    /// Days between injections.
    pub interval_days: i64,
    /// Indication (default `atopic dermatitis`).
    #[serde(default)]
    pub indication: Option<String>,
    /// First dose date, `YYYY-MM-DD`.
    pub start_date: String,
}

/// A new injection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InjectionInput {
    /// Date given, `YYYY-MM-DD`, not in the future.
    pub given_on: String,
    /// Dose, mg.
    pub dose_mg: f64,
    /// Injection site (free text).
    #[serde(default)]
    pub site: Option<String>,
    /// Note.
    #[serde(default)]
    pub note: Option<String>,
}

/// A week's POEM and PP-NRS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoresInput {
    /// First day of the week, `YYYY-MM-DD`, not in the future.
    pub week_start: String,
    /// POEM: days (0–7) on which each of the seven items applied.
    pub poem_days: Vec<i64>,
    /// Peak Pruritus NRS, 0–10.
    pub pp_nrs: f64,
}

/// A new reaction report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReactionInput {
    /// Onset date, `YYYY-MM-DD`, not in the future.
    pub onset_date: String,
    /// What it looks and feels like.
    pub description: String,
    /// Body sites (vigil-clinic names: face, neck, scalp, eyelids, eyes, ...).
    #[serde(default)]
    pub sites: Vec<String>,
    /// Features (erythema, scaling, itch, burning, ...).
    #[serde(default)]
    pub features: Vec<String>,
    /// Differs from the usual eczema: yes / no / unknown.
    #[serde(default)]
    pub different_from_usual: Option<String>,
    /// Rest of the skin improving: yes / no / unknown.
    #[serde(default)]
    pub rest_of_skin_improving: Option<String>,
}

/// Parse a date field and refuse future dates.
pub fn past_date(field: &str, text: &str, today: NaiveDate, errors: &mut Vec<FieldError>) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        Err(_) => {
            errors.push(FieldError::new(field, format!("{text:?} is not a date YYYY-MM-DD")));
            None
        }
        Ok(d) if d > today => {
            errors.push(FieldError::new(field, format!("{d} is in the future (today is {today})")));
            None
        }
        Ok(d) if d.year_ce().1 < 1900 => {
            errors.push(FieldError::new(field, format!("{d} is before 1900")));
            None
        }
        Ok(d) => Some(d),
    }
}

use chrono::Datelike;

fn text(field: &str, value: &str, required: bool, max: usize, errors: &mut Vec<FieldError>) -> String {
    let v = value.trim();
    if required && v.is_empty() {
        errors.push(FieldError::new(field, "required"));
    } else if v.chars().count() > max {
        errors.push(FieldError::new(field, format!("longer than {max} characters")));
    } else if v.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        errors.push(FieldError::new(field, "contains control characters"));
    }
    v.to_string()
}

fn tri_state(field: &str, value: Option<&str>, errors: &mut Vec<FieldError>) -> String {
    match value.unwrap_or("unknown").trim() {
        "" | "unknown" => "unknown".into(),
        v @ ("yes" | "no") => v.into(),
        other => {
            errors.push(FieldError::new(field, format!("{other:?} is not yes, no or unknown")));
            "unknown".into()
        }
    }
}

/// Largest dose per injection the regimen form accepts, in mg.
///
/// An input sanity bound, not a clinical limit: it is 10 × the largest single-day dupilumab amount on the
/// label (the 600 mg loading dose, clinical.md §4.2), so any subcutaneous biologic regimen fits.
pub const MAX_REGIMEN_DOSE_MG: f64 = 6000.0;
/// Longest interval between injections accepted, in days (one year; an input sanity bound).
pub const MAX_INTERVAL_DAYS: i64 = 365;

/// Validate a regimen.
pub fn validate_regimen(input: &RegimenInput, today: NaiveDate) -> Result<RegimenInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let drug = text("drug", &input.drug, true, 200, &mut errors);
    if !(input.dose_mg.is_finite() && input.dose_mg > 0.0 && input.dose_mg <= MAX_REGIMEN_DOSE_MG) {
        errors.push(FieldError::new("dose_mg", format!("{} mg is out of range (0, {MAX_REGIMEN_DOSE_MG}]", input.dose_mg)));
    }
    if !(1..=MAX_INTERVAL_DAYS).contains(&input.interval_days) {
        errors.push(FieldError::new("interval_days", format!("{} days is out of range 1–{MAX_INTERVAL_DAYS}", input.interval_days)));
    }
    let indication = text("indication", input.indication.as_deref().unwrap_or("atopic dermatitis"), true, 200, &mut errors);
    past_date("start_date", &input.start_date, today, &mut errors);
    if errors.is_empty() {
        Ok(RegimenInput { drug, dose_mg: input.dose_mg, interval_days: input.interval_days, indication: Some(indication), start_date: input.start_date.trim().into() })
    } else {
        Err(errors)
    }
}

/// Validate an injection against the current regimen.
///
/// The dose must be positive and at most twice the regimen dose: on the dupilumab label the largest
/// single-day amount, the loading dose, is twice the maintenance dose (600 mg for 300 mg, 400 mg for
/// 200 mg; clinical.md §4.2 [VERIFIED]). The date may not be in the future nor before the regimen start.
pub fn validate_injection(input: &InjectionInput, regimen: Option<&Regimen>, today: NaiveDate) -> Result<InjectionInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let date = past_date("given_on", &input.given_on, today, &mut errors);
    let site = text("site", input.site.as_deref().unwrap_or(""), false, 200, &mut errors);
    let note = text("note", input.note.as_deref().unwrap_or(""), false, MAX_TEXT, &mut errors);
    match regimen {
        None => errors.push(FieldError::new("regimen", "no regimen is set for this patient; a clinician sets it first")),
        Some(reg) => {
            let max = 2.0 * reg.dose_mg;
            if !(input.dose_mg.is_finite() && input.dose_mg > 0.0 && input.dose_mg <= max) {
                errors.push(FieldError::new(
                    "dose_mg",
                    format!(
                        "{} mg is out of range (0, {max}]: at most twice the regimen dose of {} mg (a loading dose is twice the maintenance dose, clinical.md §4.2)",
                        input.dose_mg, reg.dose_mg
                    ),
                ));
            }
            if let (Some(d), Ok(start)) = (date, NaiveDate::parse_from_str(&reg.start_date, "%Y-%m-%d")) {
                if d < start {
                    errors.push(FieldError::new("given_on", format!("{d} is before the regimen start {start}")));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(InjectionInput { given_on: input.given_on.trim().into(), dose_mg: input.dose_mg, site: Some(site), note: Some(note) })
    } else {
        Err(errors)
    }
}

/// Validate weekly scores with vigil-clinic's POEM and PP-NRS rules; returns the POEM total.
pub fn validate_scores(input: &ScoresInput, today: NaiveDate) -> Result<(Vec<u8>, u8), Vec<FieldError>> {
    let mut errors = Vec::new();
    past_date("week_start", &input.week_start, today, &mut errors);
    let mut days = Vec::new();
    if input.poem_days.len() != poem::ITEMS.len() {
        errors.push(FieldError::new("poem_days", format!("{} items given; POEM has 7", input.poem_days.len())));
    }
    for (i, &d) in input.poem_days.iter().enumerate() {
        match u8::try_from(d).ok().filter(|d| *d <= 7) {
            Some(d) => days.push(d),
            None => errors.push(FieldError::new(format!("poem_days[{i}]"), format!("{d} is not a number of days 0–7"))),
        }
    }
    let mut total = 0;
    if errors.iter().all(|e| !e.field.starts_with("poem_days")) {
        match (poem::PoemInput { item_scores: None, days: Some(days.clone()) }).compute() {
            Ok(p) => total = p.total,
            Err(e) => errors.push(FieldError::new("poem_days", e.to_string())),
        }
    }
    if let Err(e) = (pp_nrs::PpNrsInput { score: input.pp_nrs, baseline: None }).compute() {
        errors.push(FieldError::new("pp_nrs", e.message));
    }
    if errors.is_empty() {
        Ok((days, total))
    } else {
        Err(errors)
    }
}

/// Parse a vigil-clinic enum name (snake_case) through serde.
fn clinic_name<T: for<'de> Deserialize<'de>>(name: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(name.trim().to_string())).ok()
}

/// Validate a reaction report.
pub fn validate_reaction(input: &ReactionInput, today: NaiveDate) -> Result<ReactionInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    past_date("onset_date", &input.onset_date, today, &mut errors);
    let description = text("description", &input.description, true, MAX_TEXT, &mut errors);
    for (i, s) in input.sites.iter().enumerate() {
        if clinic_name::<BodySite>(s).is_none() {
            errors.push(FieldError::new(format!("sites[{i}]"), format!("{s:?} is not a known body site")));
        }
    }
    for (i, f) in input.features.iter().enumerate() {
        if clinic_name::<Feature>(f).is_none() {
            errors.push(FieldError::new(format!("features[{i}]"), format!("{f:?} is not a known feature")));
        }
    }
    let different = tri_state("different_from_usual", input.different_from_usual.as_deref(), &mut errors);
    let improving = tri_state("rest_of_skin_improving", input.rest_of_skin_improving.as_deref(), &mut errors);
    if errors.is_empty() {
        Ok(ReactionInput {
            onset_date: input.onset_date.trim().into(),
            description,
            sites: input.sites.iter().map(|s| s.trim().to_string()).collect(),
            features: input.features.iter().map(|s| s.trim().to_string()).collect(),
            different_from_usual: Some(different),
            rest_of_skin_improving: Some(improving),
        })
    } else {
        Err(errors)
    }
}

/// Body sites offered on the reaction form (vigil-clinic names).
pub const BODY_SITES: &[&str] =
    &["face", "neck", "scalp", "eyelids", "eyes", "flexures", "trunk", "arms", "legs", "hands", "injection_site", "joints"];
/// Features offered on the reaction form (vigil-clinic names).
pub const FEATURES: &[&str] = &[
    "erythema",
    "sharply_demarcated",
    "scaling",
    "plaques",
    "papulopustules",
    "burning",
    "itch",
    "oozing",
    "lichenification",
    "conjunctival_redness",
    "eye_itch",
    "dry_eye",
    "injection_site_reaction",
    "hair_loss",
    "joint_pain",
];

// ---------------------------------------------------------------- writes

/// Append an audit row inside the caller's transaction.
pub async fn audit(
    tx: &mut Transaction<'static, Any>,
    user_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), AppError> {
    sqlx::query("INSERT INTO audit_log (user_id, at, action, entity, entity_id, before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(user_id)
        .bind(crate::now_rfc3339())
        .bind(action)
        .bind(entity)
        .bind(entity_id)
        .bind(before.map(|v| v.to_string()))
        .bind(after.map(|v| v.to_string()))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Store a validated regimen (the previous one is kept; the newest is current).
pub async fn insert_regimen(state: &AppState, user_id: i64, patient_id: i64, r: &RegimenInput) -> Result<i64, AppError> {
    let before = current_regimen(state, patient_id).await?;
    let mut tx = state.db.pool.begin().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO regimens (patient_id, drug, dose_mg, interval_days, indication, start_date, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(patient_id)
    .bind(&r.drug)
    .bind(r.dose_mg)
    .bind(r.interval_days)
    .bind(r.indication.as_deref().unwrap_or("atopic dermatitis"))
    .bind(&r.start_date)
    .bind(user_id)
    .bind(crate::now_rfc3339())
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    let after = json!({"id": id, "patient_id": patient_id, "regimen": r});
    audit(&mut tx, Some(user_id), "set_regimen", "regimen", Some(id), before.map(|b| json!(b)), Some(after)).await?;
    tx.commit().await?;
    Ok(id)
}

/// Store a validated injection.
pub async fn insert_injection(state: &AppState, user_id: i64, patient_id: i64, i: &InjectionInput) -> Result<i64, AppError> {
    let mut tx = state.db.pool.begin().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO injections (patient_id, given_on, dose_mg, site, note, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(patient_id)
    .bind(&i.given_on)
    .bind(i.dose_mg)
    .bind(i.site.as_deref().unwrap_or(""))
    .bind(i.note.as_deref().unwrap_or(""))
    .bind(crate::now_rfc3339())
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    audit(&mut tx, Some(user_id), "log_injection", "injection", Some(id), None, Some(json!({"id": id, "patient_id": patient_id, "injection": i}))).await?;
    tx.commit().await?;
    Ok(id)
}

/// Store validated weekly scores.
pub async fn insert_scores(state: &AppState, user_id: i64, patient_id: i64, s: &ScoresInput, days: &[u8], total: u8) -> Result<i64, AppError> {
    let days_text = days.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",");
    let mut tx = state.db.pool.begin().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO weekly_scores (patient_id, week_start, poem_days, poem_total, pp_nrs, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(patient_id)
    .bind(s.week_start.trim())
    .bind(&days_text)
    .bind(i64::from(total))
    .bind(s.pp_nrs)
    .bind(crate::now_rfc3339())
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    let after = json!({"id": id, "patient_id": patient_id, "week_start": s.week_start.trim(), "poem_days": days, "poem_total": total, "pp_nrs": s.pp_nrs});
    audit(&mut tx, Some(user_id), "record_scores", "weekly_scores", Some(id), None, Some(after)).await?;
    tx.commit().await?;
    Ok(id)
}

/// Store a validated reaction report.
pub async fn insert_reaction(state: &AppState, user_id: i64, patient_id: i64, r: &ReactionInput) -> Result<i64, AppError> {
    let mut tx = state.db.pool.begin().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO reactions (patient_id, onset_date, description, sites, features, different_from_usual, rest_of_skin_improving, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(patient_id)
    .bind(&r.onset_date)
    .bind(&r.description)
    .bind(r.sites.join(","))
    .bind(r.features.join(","))
    .bind(r.different_from_usual.as_deref().unwrap_or("unknown"))
    .bind(r.rest_of_skin_improving.as_deref().unwrap_or("unknown"))
    .bind(crate::now_rfc3339())
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    audit(&mut tx, Some(user_id), "report_reaction", "reaction", Some(id), None, Some(json!({"id": id, "patient_id": patient_id, "reaction": r}))).await?;
    tx.commit().await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn next_due_is_last_injection_plus_interval() {
        // 2026-03-01 + 14 days = 2026-03-15; on 2026-03-20 that is 5 days overdue.
        assert_eq!(next_due(d("2026-01-01"), Some(d("2026-03-01")), 14, d("2026-03-20")), (d("2026-03-15"), 5));
        // Every 4 weeks: 2026-02-20 + 28 = 2026-03-20, due today, not overdue.
        assert_eq!(next_due(d("2026-01-01"), Some(d("2026-02-20")), 28, d("2026-03-20")), (d("2026-03-20"), 0));
        // Nothing given yet: due at the regimen start.
        assert_eq!(next_due(d("2026-03-18"), None, 14, d("2026-03-20")), (d("2026-03-18"), 2));
    }

    #[test]
    fn dupilumab_label_regimens_are_recognised_with_their_source() {
        let (hit, note) = label_note("Dupixent", 300.0, 14);
        assert_eq!(hit.unwrap().population, "adults; 6–17 years ≥60 kg");
        assert!(note.unwrap().contains("[VERIFIED]"));
        let (miss, note) = label_note("dupilumab", 300.0, 21);
        assert!(miss.is_none());
        assert!(note.unwrap().contains("not a labelled"));
        assert_eq!(label_note("methotrexate", 15.0, 7), (None, None));
    }

    #[test]
    fn injection_dose_is_bounded_by_twice_the_regimen_dose() {
        let reg = Regimen {
            id: 1,
            drug: "dupilumab".into(),
            dose_mg: 300.0,
            interval_days: 14,
            indication: "atopic dermatitis".into(),
            start_date: "2026-01-01".into(),
            label_match: None,
            label_note: None,
        };
        let today = d("2026-03-20");
        let ok = InjectionInput { given_on: "2026-01-01".into(), dose_mg: 600.0, site: None, note: None };
        assert!(validate_injection(&ok, Some(&reg), today).is_ok());
        let too_much = InjectionInput { dose_mg: 600.5, ..ok.clone() };
        assert_eq!(validate_injection(&too_much, Some(&reg), today).unwrap_err()[0].field, "dose_mg");
        let future = InjectionInput { given_on: "2026-03-21".into(), ..ok.clone() };
        let e = validate_injection(&future, Some(&reg), today).unwrap_err();
        assert_eq!(e[0].field, "given_on");
        assert!(e[0].message.contains("future"));
        let before_start = InjectionInput { given_on: "2025-12-31".into(), ..ok.clone() };
        assert!(validate_injection(&before_start, Some(&reg), today).unwrap_err()[0].message.contains("before the regimen start"));
        assert_eq!(validate_injection(&ok, None, today).unwrap_err()[0].field, "regimen");
    }

    #[test]
    fn poem_days_map_to_item_scores_and_totals() {
        // Days 0,1,2,3,4,5,7 → item scores 0,1,1,2,2,3,4 (Charman 2004 banding) → total 13.
        let s = ScoresInput { week_start: "2026-03-09".into(), poem_days: vec![0, 1, 2, 3, 4, 5, 7], pp_nrs: 6.0 };
        assert_eq!(validate_scores(&s, d("2026-03-20")).unwrap(), (vec![0, 1, 2, 3, 4, 5, 7], 13));
        let bad = ScoresInput { poem_days: vec![0, 1, 2, 8, 4, 5, 7], pp_nrs: 10.5, ..s };
        let e = validate_scores(&bad, d("2026-03-20")).unwrap_err();
        assert_eq!(e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["poem_days[3]", "pp_nrs"]);
    }

    #[test]
    fn reaction_sites_and_features_use_the_clinic_names() {
        let r = ReactionInput {
            onset_date: "2026-03-01".into(),
            description: "red face".into(),
            sites: vec!["face".into(), "elbow".into()],
            features: vec!["erythema".into()],
            different_from_usual: Some("maybe".into()),
            rest_of_skin_improving: None,
        };
        let e = validate_reaction(&r, d("2026-03-20")).unwrap_err();
        assert_eq!(e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(), ["sites[1]", "different_from_usual"]);
    }
}
