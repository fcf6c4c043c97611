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
// Label regimens, the missed-dose rule and its window are clinical knowledge, kept with their
// sources in vigil-clinic.
use vigil_clinic::knowledge::dupilumab::{self, is_dupilumab, LabelRegimen};
use vigil_clinic::scores::{poem, pp_nrs};

use crate::error::{AppError, FieldError};
use crate::AppState;

/// Longest accepted free-text field, in characters.
pub const MAX_TEXT: usize = 2000;

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
    /// The entry this one corrects (it then replaces that entry in the schedule).
    pub supersedes_id: Option<i64>,
    /// Why the earlier entry was corrected.
    pub correction_reason: Option<String>,
    /// A later entry that corrects this one (this one is then left out of the schedule).
    pub superseded_by: Option<i64>,
    /// Schedule flags: `late` (given 1–7 days after the date it was due), `duplicate` (a second dose for
    /// the same scheduled date), `restarted` (outside every window: the schedule starts again from it).
    pub flags: Vec<String>,
    /// Days after its scheduled date (late doses).
    pub days_late: i64,
}

/// One week's POEM and PP-NRS.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WeeklyScore {
    /// Row id.
    pub id: i64,
    /// First day of the week scored.
    pub week_start: String,
    /// POEM: days (0–7) per item, in questionnaire order; `None` = left unanswered.
    pub poem_days: Vec<Option<u8>>,
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
    /// The clinician of the latest assessment, if any.
    pub reviewed_by: Option<String>,
    /// When that assessment was saved (RFC 3339, UTC).
    pub reviewed_at: Option<String>,
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
    /// Age in completed years today, when the date of birth is known.
    pub age_years: Option<i64>,
    /// IANA time zone of the account (its "today").
    pub time_zone: String,
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
    /// The missed-dose rule the schedule follows (dupilumab every 2 weeks), with its source.
    pub missed_dose_rule: Option<&'static str>,
    /// The same rule in plain words for the patient.
    pub missed_dose_rule_plain: Option<&'static str>,
    /// Scheduled dates whose 7-day window passed without a dose, oldest first.
    pub missed_doses: Vec<String>,
    /// The patient's today (in the account's time zone).
    pub today: String,
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

/// Whether `name` is an IANA time zone name vigil knows (chrono-tz's database).
pub fn valid_time_zone(name: &str) -> bool {
    name.parse::<chrono_tz::Tz>().is_ok()
}

/// The calendar date at Unix time `unix` in time zone `tz` (UTC when the name is unknown).
pub fn date_in(tz: &str, unix: i64) -> NaiveDate {
    let utc = chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default();
    match tz.parse::<chrono_tz::Tz>() {
        Ok(zone) => utc.with_timezone(&zone).date_naive(),
        Err(_) => utc.date_naive(),
    }
}

/// Today in time zone `tz`.
pub fn today_in(tz: &str) -> NaiveDate {
    date_in(tz, crate::now_unix())
}

/// The time zone of an account (`UTC` when unknown).
pub async fn time_zone_of(state: &AppState, user_id: i64) -> Result<String, AppError> {
    let row = sqlx::query("SELECT time_zone FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(&state.db.pool)
        .await?;
    Ok(row
        .map(|r| r.try_get::<String, _>("time_zone"))
        .transpose()?
        .unwrap_or_else(|| "UTC".into()))
}

/// Today on a patient's record: the patient's own date, whoever writes to the record.
pub async fn patient_today(state: &AppState, patient_id: i64) -> Result<NaiveDate, AppError> {
    Ok(today_in(&time_zone_of(state, patient_id).await?))
}

/// The injection schedule as the label's missed-dose rule reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    /// The next scheduled date (the one whose window is open now, or the next one).
    pub next_due: NaiveDate,
    /// Days past `next_due` (0–7 while its window is open).
    pub days_overdue: i64,
    /// Scheduled dates whose window passed without a dose.
    pub missed: Vec<NaiveDate>,
    /// Per dose (same order as the input): flags and days late.
    pub doses: Vec<(Vec<&'static str>, i64)>,
}

/// Follow the schedule through the doses given (sorted by date).
///
/// The schedule is anchored at the first dose: scheduled dates are `anchor + k × interval`. A dose counts
/// for the scheduled date `s` when it falls in `(s − interval/2, s + 7]`: up to 7 days late it is given and
/// the **original schedule resumes** (EU SmPC Q2W rule, clinical.md §4.2 [VERIFIED]; for every 2 weeks the
/// windows tile the calendar). A window that passes without a dose is a missed dose and the next scheduled
/// date is awaited. A second dose for the same date is a duplicate. A dose outside every window (possible
/// for longer intervals) restarts the schedule from itself. Nothing given yet: due at the regimen start.
pub fn schedule(
    start: NaiveDate,
    interval_days: i64,
    doses: &[NaiveDate],
    today: NaiveDate,
) -> Schedule {
    let interval = interval_days.max(1);
    let late = dupilumab::LATE_WINDOW_DAYS.min(interval / 2).max(0);
    let mut out = Schedule {
        next_due: start,
        days_overdue: 0,
        missed: Vec::new(),
        doses: Vec::new(),
    };
    let Some(&first) = doses.first() else {
        out.days_overdue = (today - start).num_days().max(0);
        return out;
    };
    let mut anchor = first;
    let mut next_slot: i64 = 0; // the first slot not filled yet
    let slot_date = |anchor: NaiveDate, k: i64| anchor + Duration::days(k * interval);
    for &d in doses {
        let offset = (d - anchor).num_days();
        // The slot whose window (s − interval/2, s + late] holds the dose, if any.
        let k = (offset + interval / 2 - 1).div_euclid(interval).max(0);
        let in_window = offset - k * interval <= late && 2 * (offset - k * interval) > -interval;
        if !in_window {
            for j in next_slot..=k {
                let s = slot_date(anchor, j);
                if s + Duration::days(late) < d {
                    out.missed.push(s);
                }
            }
            anchor = d;
            next_slot = 1;
            out.doses.push((vec!["restarted"], 0));
            continue;
        }
        if k < next_slot {
            out.doses.push((vec!["duplicate"], 0));
            continue;
        }
        for j in next_slot..k {
            out.missed.push(slot_date(anchor, j));
        }
        let days_late = (d - slot_date(anchor, k)).num_days().max(0);
        out.doses.push((
            if days_late > 0 {
                vec!["late"]
            } else {
                Vec::new()
            },
            days_late,
        ));
        next_slot = k + 1;
    }
    // Windows that closed since the last dose are missed doses; the next date is the first still open.
    while slot_date(anchor, next_slot) + Duration::days(late) < today {
        out.missed.push(slot_date(anchor, next_slot));
        next_slot += 1;
    }
    out.next_due = slot_date(anchor, next_slot);
    out.days_overdue = (today - out.next_due).num_days().max(0);
    out
}

fn label_note(
    drug: &str,
    dose_mg: f64,
    interval_days: i64,
) -> (Option<LabelRegimen>, Option<String>) {
    if !is_dupilumab(drug) {
        return (None, None);
    }
    let hit = dupilumab::LABEL_REGIMENS
        .iter()
        .find(|r| r.dose_mg == dose_mg && r.interval_days == interval_days)
        .copied();
    let note = match &hit {
        Some(r) => format!(
            "{} mg every {} days is a labelled maintenance regimen for atopic dermatitis ({}); source: {}.",
            r.dose_mg, r.interval_days, r.population, dupilumab::LABEL_SOURCE
        ),
        None => format!(
            "{dose_mg} mg every {interval_days} days is not a labelled maintenance regimen for atopic dermatitis \
             (labelled: 300 or 200 mg every 14 or 28 days by age and weight; source: {}). \
             An extended interval may be intended, e.g. as a dechallenge.",
            dupilumab::LABEL_SOURCE
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
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn reaction_from_row(r: &AnyRow) -> Result<ReactionReport, sqlx::Error> {
    let reviewed_by: Option<String> = r.try_get("reviewed_by").ok().flatten();
    let reviewed_at: Option<String> = r.try_get("reviewed_at").ok().flatten();
    Ok(ReactionReport {
        reviewed_by,
        reviewed_at,
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

/// Reactions with the author and time of their latest assessment ("reviewed by Dr … on …"); a macro so
/// that each query stays one string literal.
macro_rules! reaction_select {
    () => {
        "SELECT r.*, (SELECT u.display_name FROM assessments a JOIN users u ON u.id = a.clinician_id \
         WHERE a.reaction_id = r.id ORDER BY a.id DESC LIMIT 1) AS reviewed_by, \
         (SELECT a.created_at FROM assessments a WHERE a.reaction_id = r.id ORDER BY a.id DESC LIMIT 1) AS reviewed_at FROM reactions r"
    };
}

/// Every regimen of a patient, oldest first (each row is the regimen from its start date on).
pub async fn regimen_history(state: &AppState, patient_id: i64) -> Result<Vec<Regimen>, AppError> {
    let rows = sqlx::query("SELECT * FROM regimens WHERE patient_id = $1 ORDER BY id")
        .bind(patient_id)
        .fetch_all(&state.db.pool)
        .await?;
    Ok(rows
        .iter()
        .map(regimen_from_row)
        .collect::<Result<Vec<_>, _>>()?)
}

/// The current (latest) regimen of a patient.
pub async fn current_regimen(
    state: &AppState,
    patient_id: i64,
) -> Result<Option<Regimen>, AppError> {
    let row = sqlx::query("SELECT * FROM regimens WHERE patient_id = $1 ORDER BY id DESC LIMIT 1")
        .bind(patient_id)
        .fetch_optional(&state.db.pool)
        .await?;
    Ok(row.as_ref().map(regimen_from_row).transpose()?)
}

/// The patient's details, or 404 when the id is not a patient.
pub async fn patient_info(state: &AppState, patient_id: i64) -> Result<PatientInfo, AppError> {
    let row = sqlx::query("SELECT id, display_name, birth_date, sex, weight_kg, time_zone FROM users WHERE id = $1 AND role = 'patient'")
        .bind(patient_id)
        .fetch_optional(&state.db.pool)
        .await?
        .ok_or(AppError::NotFound)?;
    let birth_date: Option<String> = row.try_get("birth_date")?;
    let time_zone: String = row.try_get("time_zone")?;
    let age_years = birth_date
        .as_deref()
        .and_then(|b| NaiveDate::parse_from_str(b, "%Y-%m-%d").ok())
        .map(|b| crate::clinic::age_on(b, today_in(&time_zone)) as i64);
    Ok(PatientInfo {
        id: row.try_get("id")?,
        display_name: row.try_get("display_name")?,
        birth_date,
        sex: row.try_get("sex")?,
        weight_kg: row.try_get("weight_kg")?,
        age_years,
        time_zone,
    })
}

/// Load a whole record (access must have been checked by the caller).
pub async fn load_record(state: &AppState, patient_id: i64) -> Result<PatientRecord, AppError> {
    let patient = patient_info(state, patient_id).await?;
    let regimen = current_regimen(state, patient_id).await?;
    let mut injections =
        sqlx::query("SELECT * FROM injections WHERE patient_id = $1 ORDER BY given_on, id")
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
                    supersedes_id: r.try_get("supersedes_id")?,
                    correction_reason: r.try_get("correction_reason")?,
                    superseded_by: None,
                    flags: Vec::new(),
                    days_late: 0,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let corrections: Vec<(i64, i64)> = injections
        .iter()
        .filter_map(|i| i.supersedes_id.map(|old| (old, i.id)))
        .collect();
    for (old, new) in corrections {
        if let Some(i) = injections.iter_mut().find(|i| i.id == old) {
            i.superseded_by = Some(new);
        }
    }
    let scores =
        sqlx::query("SELECT * FROM weekly_scores WHERE patient_id = $1 ORDER BY week_start, id")
            .bind(patient_id)
            .fetch_all(&state.db.pool)
            .await?
            .iter()
            .map(|r| {
                let poem_days = parse_poem_days(&r.try_get::<String, _>("poem_days")?);
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
    let reactions = sqlx::query(concat!(
        reaction_select!(),
        " WHERE r.patient_id = $1 ORDER BY r.onset_date DESC, r.id DESC"
    ))
    .bind(patient_id)
    .fetch_all(&state.db.pool)
    .await?
    .iter()
    .map(reaction_from_row)
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let today = today_in(&patient.time_zone);
    let (mut next, mut overdue, mut days_overdue, mut rule, mut plain, mut missed) =
        (None, false, 0, None, None, Vec::new());
    if let Some(reg) = &regimen {
        let start = NaiveDate::parse_from_str(&reg.start_date, "%Y-%m-%d")
            .map_err(|e| anyhow::anyhow!("stored start_date: {e}"))?;
        // Doses of the current regimen: on or after its start (earlier ones belong to earlier regimens),
        // corrected entries left out (their correction stands in for them).
        let counted: Vec<usize> = (0..injections.len())
            .filter(|&k| injections[k].superseded_by.is_none())
            .filter(|&k| {
                NaiveDate::parse_from_str(&injections[k].given_on, "%Y-%m-%d")
                    .is_ok_and(|d| d >= start)
            })
            .collect();
        let dates: Vec<NaiveDate> = counted
            .iter()
            .filter_map(|&k| NaiveDate::parse_from_str(&injections[k].given_on, "%Y-%m-%d").ok())
            .collect();
        // No dose yet under this regimen but earlier ones: the first is due one interval after the last
        // earlier dose, and not before the regimen starts.
        let earlier_last = injections
            .iter()
            .filter(|i| i.superseded_by.is_none())
            .filter_map(|i| NaiveDate::parse_from_str(&i.given_on, "%Y-%m-%d").ok())
            .filter(|d| *d < start)
            .max();
        let first_due = match (dates.is_empty(), earlier_last) {
            (true, Some(last)) => start.max(last + Duration::days(reg.interval_days)),
            _ => start,
        };
        let plan = schedule(first_due, reg.interval_days, &dates, today);
        for (&k, (flags, late)) in counted.iter().zip(plan.doses) {
            injections[k].flags = flags.iter().map(|f| f.to_string()).collect();
            injections[k].days_late = late;
        }
        next = Some(plan.next_due.to_string());
        overdue = plan.days_overdue > 0;
        days_overdue = plan.days_overdue;
        missed = plan.missed.iter().map(NaiveDate::to_string).collect();
        if is_dupilumab(&reg.drug) && reg.interval_days == 14 {
            rule = Some(dupilumab::MISSED_DOSE_RULE);
            plain = Some(dupilumab::MISSED_DOSE_RULE_PLAIN);
        } else {
            rule = Some(dupilumab::NO_VERIFIED_RULE);
        }
    }
    Ok(PatientRecord {
        patient,
        regimen,
        injections,
        next_due: next,
        overdue,
        days_overdue,
        missed_dose_rule: rule,
        missed_dose_rule_plain: plain,
        missed_doses: missed,
        today: today.to_string(),
        scores,
        reactions,
    })
}

/// A reaction and its patient id, or 404.
pub async fn reaction(state: &AppState, reaction_id: i64) -> Result<ReactionReport, AppError> {
    let row = sqlx::query(concat!(reaction_select!(), " WHERE r.id = $1"))
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
    /// Correct an earlier entry (its id): this entry replaces it in the schedule; both stay on record.
    #[serde(default)]
    pub supersedes_id: Option<i64>,
    /// Why the earlier entry is corrected (required with `supersedes_id`).
    #[serde(default)]
    pub correction_reason: Option<String>,
}

/// A week's POEM and PP-NRS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoresInput {
    /// First day of the week, `YYYY-MM-DD`, not in the future.
    pub week_start: String,
    /// POEM: days (0–7) on which each of the seven items applied; `null` = left unanswered (one may be).
    pub poem_days: Vec<Option<i64>>,
    /// Peak Pruritus NRS, a whole number 0–10.
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
pub fn past_date(
    field: &str,
    text: &str,
    today: NaiveDate,
    errors: &mut Vec<FieldError>,
) -> Option<NaiveDate> {
    match NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        Err(_) => {
            errors.push(FieldError::new(
                field,
                format!("{text:?} is not a date YYYY-MM-DD"),
            ));
            None
        }
        Ok(d) if d > today => {
            errors.push(FieldError::new(
                field,
                format!("{d} is in the future (today is {today})"),
            ));
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

fn text(
    field: &str,
    value: &str,
    required: bool,
    max: usize,
    errors: &mut Vec<FieldError>,
) -> String {
    let v = value.trim();
    if required && v.is_empty() {
        errors.push(FieldError::new(field, "required"));
    } else if v.chars().count() > max {
        errors.push(FieldError::new(
            field,
            format!("longer than {max} characters"),
        ));
    } else if v
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        errors.push(FieldError::new(field, "contains control characters"));
    }
    v.to_string()
}

fn tri_state(field: &str, value: Option<&str>, errors: &mut Vec<FieldError>) -> String {
    match value.unwrap_or("unknown").trim() {
        "" | "unknown" => "unknown".into(),
        v @ ("yes" | "no") => v.into(),
        other => {
            errors.push(FieldError::new(
                field,
                format!("{other:?} is not yes, no or unknown"),
            ));
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
pub fn validate_regimen(
    input: &RegimenInput,
    today: NaiveDate,
) -> Result<RegimenInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let drug = text("drug", &input.drug, true, 200, &mut errors);
    if !(input.dose_mg.is_finite() && input.dose_mg > 0.0 && input.dose_mg <= MAX_REGIMEN_DOSE_MG) {
        errors.push(FieldError::new(
            "dose_mg",
            format!(
                "{} mg is out of range (0, {MAX_REGIMEN_DOSE_MG}]",
                input.dose_mg
            ),
        ));
    }
    if !(1..=MAX_INTERVAL_DAYS).contains(&input.interval_days) {
        errors.push(FieldError::new(
            "interval_days",
            format!(
                "{} days is out of range 1–{MAX_INTERVAL_DAYS}",
                input.interval_days
            ),
        ));
    }
    let indication = text(
        "indication",
        input.indication.as_deref().unwrap_or("atopic dermatitis"),
        true,
        200,
        &mut errors,
    );
    past_date("start_date", &input.start_date, today, &mut errors);
    if errors.is_empty() {
        Ok(RegimenInput {
            drug,
            dose_mg: input.dose_mg,
            interval_days: input.interval_days,
            indication: Some(indication),
            start_date: input.start_date.trim().into(),
        })
    } else {
        Err(errors)
    }
}

/// Validate an injection against the current regimen.
///
/// The dose must be positive and at most twice the regimen dose: on the dupilumab label the largest
/// single-day amount, the loading dose, is twice the maintenance dose (600 mg for 300 mg, 400 mg for
/// 200 mg; clinical.md §4.2 [VERIFIED]). The date may not be in the future nor before the regimen start.
pub fn validate_injection(
    input: &InjectionInput,
    regimen: Option<&Regimen>,
    today: NaiveDate,
) -> Result<InjectionInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    let date = past_date("given_on", &input.given_on, today, &mut errors);
    let site = text(
        "site",
        input.site.as_deref().unwrap_or(""),
        false,
        200,
        &mut errors,
    );
    let note = text(
        "note",
        input.note.as_deref().unwrap_or(""),
        false,
        MAX_TEXT,
        &mut errors,
    );
    if input.supersedes_id.is_some() {
        text(
            "correction_reason",
            input.correction_reason.as_deref().unwrap_or(""),
            true,
            500,
            &mut errors,
        );
    } else if input
        .correction_reason
        .as_deref()
        .is_some_and(|r| !r.trim().is_empty())
    {
        errors.push(FieldError::new(
            "correction_reason",
            "only with the entry it corrects (supersedes_id)",
        ));
    }
    match regimen {
        None => errors.push(FieldError::new(
            "regimen",
            "no regimen is set for this patient; a clinician sets it first",
        )),
        Some(reg) => {
            let max = 2.0 * reg.dose_mg;
            if !(input.dose_mg.is_finite() && input.dose_mg > 0.0 && input.dose_mg <= max) {
                // Plain words: the bound's source stays in this function's documentation.
                errors.push(FieldError::new(
                    "dose_mg",
                    format!(
                        "{} mg is not possible here: enter more than 0 and at most {max} mg (twice your usual {} mg dose, the size of a first, loading dose)",
                        input.dose_mg, reg.dose_mg
                    ),
                ));
            }
            if let (Some(d), Ok(start)) =
                (date, NaiveDate::parse_from_str(&reg.start_date, "%Y-%m-%d"))
            {
                if d < start {
                    errors.push(FieldError::new(
                        "given_on",
                        format!("{d} is before the regimen start {start}"),
                    ));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(InjectionInput {
            given_on: input.given_on.trim().into(),
            dose_mg: input.dose_mg,
            site: Some(site),
            note: Some(note),
            supersedes_id: input.supersedes_id,
            correction_reason: input.supersedes_id.map(|_| {
                input
                    .correction_reason
                    .as_deref()
                    .unwrap_or("")
                    .trim()
                    .to_string()
            }),
        })
    } else {
        Err(errors)
    }
}

/// POEM's rule for unanswered items: one is scored 0 and the total is banded as usual; with two or more
/// unanswered the questionnaire is not scored. Source: the University of Nottingham's POEM scoring notes
/// (Charman et al.), as read at https://dermakalk.cz/poem.html ; the Nottingham form itself says "leave
/// blank any questions you feel unable to answer" (https://paperzz.com/doc/7058362/word---university-of-nottingham).
/// clinical.md §3.3 had the rule from memory, marked [UNVERIFIED] (open item 6); this page states it.
pub const POEM_MISSING_RULE: &str =
    "POEM: one unanswered question counts as 0; with two or more unanswered the questionnaire \
     is not scored (University of Nottingham scoring notes, Charman et al.).";

/// The POEM item scores (0–4, an unanswered item as 0) and total, or why it cannot be scored.
pub fn poem_score(days: &[Option<u8>]) -> Result<(Vec<u8>, u8), String> {
    let unanswered = days.iter().filter(|d| d.is_none()).count();
    if unanswered >= 2 {
        return Err(format!("{unanswered} of the 7 questions are unanswered; please answer at least 6 ({POEM_MISSING_RULE})"));
    }
    let mut items = Vec::with_capacity(days.len());
    for d in days {
        items.push(match d {
            Some(d) => poem::item_score_from_days(*d)
                .ok_or_else(|| format!("{d} is not a number of days 0–7"))?,
            None => 0,
        });
    }
    let p = (poem::PoemInput {
        item_scores: Some(items.clone()),
        days: None,
    })
    .compute()
    .map_err(|e| e.to_string())?;
    Ok((items, p.total))
}

fn parse_poem_days(stored: &str) -> Vec<Option<u8>> {
    stored.split(',').map(|d| d.trim().parse().ok()).collect()
}

/// Validate weekly scores with vigil-clinic's POEM and PP-NRS rules; returns the days and the POEM total.
pub fn validate_scores(
    input: &ScoresInput,
    today: NaiveDate,
) -> Result<(Vec<Option<u8>>, u8), Vec<FieldError>> {
    let mut errors = Vec::new();
    past_date("week_start", &input.week_start, today, &mut errors);
    let mut days = Vec::new();
    if input.poem_days.len() != poem::ITEMS.len() {
        errors.push(FieldError::new(
            "poem_days",
            format!(
                "{} answers given; POEM has 7 questions",
                input.poem_days.len()
            ),
        ));
    }
    for (i, d) in input.poem_days.iter().enumerate() {
        match d {
            None => days.push(None),
            Some(d) => match u8::try_from(*d).ok().filter(|d| *d <= 7) {
                Some(d) => days.push(Some(d)),
                None => errors.push(FieldError::new(
                    format!("poem_days[{i}]"),
                    format!("{d} is not a number of days from 0 to 7"),
                )),
            },
        }
    }
    let mut total = 0;
    if errors.iter().all(|e| !e.field.starts_with("poem_days")) {
        match poem_score(&days) {
            Ok((_, t)) => total = t,
            Err(e) => errors.push(FieldError::new("poem_days", e)),
        }
    }
    // PP-NRS is answered as a whole number 0–10 (Yosipovitch 2019; clinical.md §3.5): 5.5 is not an answer.
    if !(input.pp_nrs.is_finite()
        && input.pp_nrs.fract() == 0.0
        && (0.0..=10.0).contains(&input.pp_nrs))
    {
        errors.push(FieldError::new(
            "pp_nrs",
            format!("{} is not a whole number from 0 to 10", input.pp_nrs),
        ));
    } else if let Err(e) = (pp_nrs::PpNrsInput {
        score: input.pp_nrs,
        baseline: None,
    })
    .compute()
    {
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
pub fn validate_reaction(
    input: &ReactionInput,
    today: NaiveDate,
) -> Result<ReactionInput, Vec<FieldError>> {
    let mut errors = Vec::new();
    past_date("onset_date", &input.onset_date, today, &mut errors);
    let description = text(
        "description",
        &input.description,
        true,
        MAX_TEXT,
        &mut errors,
    );
    for (i, s) in input.sites.iter().enumerate() {
        if clinic_name::<BodySite>(s).is_none() {
            errors.push(FieldError::new(
                format!("sites[{i}]"),
                format!("{s:?} is not a known body site"),
            ));
        }
    }
    for (i, f) in input.features.iter().enumerate() {
        if clinic_name::<Feature>(f).is_none() {
            errors.push(FieldError::new(
                format!("features[{i}]"),
                format!("{f:?} is not a known feature"),
            ));
        }
    }
    let different = tri_state(
        "different_from_usual",
        input.different_from_usual.as_deref(),
        &mut errors,
    );
    let improving = tri_state(
        "rest_of_skin_improving",
        input.rest_of_skin_improving.as_deref(),
        &mut errors,
    );
    if errors.is_empty() {
        Ok(ReactionInput {
            onset_date: input.onset_date.trim().into(),
            description,
            sites: input.sites.iter().map(|s| s.trim().to_string()).collect(),
            features: input
                .features
                .iter()
                .map(|s| s.trim().to_string())
                .collect(),
            different_from_usual: Some(different),
            rest_of_skin_improving: Some(improving),
        })
    } else {
        Err(errors)
    }
}

/// Body sites offered on the reaction form (vigil-clinic names).
pub const BODY_SITES: &[&str] = &[
    "face",
    "neck",
    "scalp",
    "eyelids",
    "eyes",
    "flexures",
    "trunk",
    "arms",
    "legs",
    "hands",
    "injection_site",
    "joints",
];
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

/// Plain words for the body sites, as the patient's form shows them (the stored value is the clinic name).
pub const SITE_WORDS: &[(&str, &str)] = &[
    ("face", "face"),
    ("neck", "neck"),
    ("scalp", "scalp"),
    ("eyelids", "eyelids"),
    ("eyes", "eyes"),
    (
        "flexures",
        "skin folds (inside the elbows, behind the knees)",
    ),
    ("trunk", "chest, belly or back"),
    ("arms", "arms"),
    ("legs", "legs"),
    ("hands", "hands"),
    ("injection_site", "where I inject"),
    ("joints", "joints"),
];
/// Plain words for the features (clinical term in the second column of [`FEATURES`]).
pub const FEATURE_WORDS: &[(&str, &str)] = &[
    ("erythema", "redness"),
    ("sharply_demarcated", "patches with a sharp edge"),
    ("scaling", "flaky or scaly skin"),
    ("plaques", "raised, thick patches"),
    ("papulopustules", "small bumps or spots with pus"),
    ("burning", "burning"),
    ("itch", "itching"),
    ("oozing", "weeping or oozing"),
    ("lichenification", "thick, leathery skin"),
    ("conjunctival_redness", "red eyes"),
    ("eye_itch", "itchy eyes"),
    ("dry_eye", "dry or gritty eyes"),
    (
        "injection_site_reaction",
        "redness or swelling where I inject",
    ),
    ("hair_loss", "hair loss"),
    ("joint_pain", "joint pain"),
];

/// When to seek care now, in plain words, with the sources read for each statement (shown on the page).
/// How often dupilumab inflames the eye: clinical.md §4.4 (label 10 % vs 2 % conjunctivitis).
pub const URGENT_CARE: &[(&str, &str)] = &[
    (
        "Painful blisters or sores that spread quickly, especially with a fever or feeling unwell, can be eczema herpeticum, \
         a herpes virus infection of eczema skin: get medical help the same day (urgent care or emergency).",
        "KidsHealth (Nemours), A to Z: Eczema Herpeticum, https://kidshealth.org/ws/RadyChildrens/en/parents/ez-eczema-herpeticum.html/ ; \
         Healthgrades, Eczema herpeticum, https://www.healthgrades.com/right-care/eczema/eczema-herpeticum",
    ),
    (
        "Eye pain, a change in your vision, or red, irritated eyes: tell your clinic straight away and have your eyes checked \
         by an eye doctor. Dupilumab can inflame the surface of the eye (conjunctivitis, keratitis).",
        "American Optometric Association, Patients with adverse ocular events due to Dupixent treatment, \
         https://www.aoa.org/news/alerts-recalls-and-updates/patients-with-adverse-ocular-events-due-to-dupixent-treatment ; \
         A. Shalwala MD (ophthalmologist), Dupilumab, http://ajayshalwalamd.com/2021/10/31/dupilumab/",
    ),
];

// ---------------------------------------------------------------- writes

/// Append an audit row inside the caller's transaction.
///
/// `patient_id` names the record touched: its before/after JSON is then readable only by the patient's
/// clinicians (`GET /api/patients/{id}/audit`); the admin's view shows who, what, which record and when.
#[allow(clippy::too_many_arguments)]
pub async fn audit(
    tx: &mut Transaction<'static, Any>,
    user_id: Option<i64>,
    action: &str,
    entity: &str,
    entity_id: Option<i64>,
    patient_id: Option<i64>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO audit_log (user_id, at, action, entity, entity_id, patient_id, before_json, after_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(user_id)
    .bind(crate::now_rfc3339())
    .bind(action)
    .bind(entity)
    .bind(entity_id)
    .bind(patient_id)
    .bind(before.map(|v| v.to_string()))
    .bind(after.map(|v| v.to_string()))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Log that `user_id` opened a record (`entity` `entity_id` of patient `patient_id`): who read what, when.
pub async fn log_read(
    state: &AppState,
    user_id: i64,
    entity: &str,
    entity_id: i64,
    patient_id: i64,
) -> Result<(), AppError> {
    let mut tx = state.db.pool.begin().await?;
    audit(
        &mut tx,
        Some(user_id),
        "read",
        entity,
        Some(entity_id),
        Some(patient_id),
        None,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Store a validated regimen (the previous one is kept; the newest is current).
pub async fn insert_regimen(
    state: &AppState,
    user_id: i64,
    patient_id: i64,
    r: &RegimenInput,
) -> Result<i64, AppError> {
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
    audit(
        &mut tx,
        Some(user_id),
        "set_regimen",
        "regimen",
        Some(id),
        Some(patient_id),
        before.map(|b| json!(b)),
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Store a validated injection.
pub async fn insert_injection(
    state: &AppState,
    user_id: i64,
    patient_id: i64,
    i: &InjectionInput,
) -> Result<i64, AppError> {
    let mut tx = state.db.pool.begin().await?;
    let id: i64 = sqlx::query(
        "INSERT INTO injections (patient_id, given_on, dose_mg, site, note, created_at, supersedes_id, correction_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(patient_id)
    .bind(&i.given_on)
    .bind(i.dose_mg)
    .bind(i.site.as_deref().unwrap_or(""))
    .bind(i.note.as_deref().unwrap_or(""))
    .bind(crate::now_rfc3339())
    .bind(i.supersedes_id)
    .bind(i.correction_reason.as_deref())
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    let mut before = None;
    if let Some(old) = i.supersedes_id {
        // The corrected entry must be this patient's and not corrected already (checked in the transaction).
        let row = sqlx::query("SELECT given_on, dose_mg, site, note FROM injections WHERE id = $1 AND patient_id = $2")
            .bind(old)
            .bind(patient_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| crate::error::invalid("supersedes_id", format!("{old} is not an injection on this record")))?;
        let already =
            sqlx::query("SELECT id FROM injections WHERE supersedes_id = $1 AND id <> $2")
                .bind(old)
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        if already.is_some() {
            return Err(crate::error::invalid(
                "supersedes_id",
                format!("injection {old} was already corrected; correct the correction instead"),
            ));
        }
        before = Some(
            json!({"id": old, "given_on": row.try_get::<String, _>("given_on")?, "dose_mg": row.try_get::<f64, _>("dose_mg")?,
                             "site": row.try_get::<String, _>("site")?, "note": row.try_get::<String, _>("note")?}),
        );
    }
    let action = if i.supersedes_id.is_some() {
        "correct_injection"
    } else {
        "log_injection"
    };
    audit(
        &mut tx,
        Some(user_id),
        action,
        "injection",
        Some(id),
        Some(patient_id),
        before,
        Some(json!({"id": id, "patient_id": patient_id, "injection": i})),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Store validated weekly scores.
pub async fn insert_scores(
    state: &AppState,
    user_id: i64,
    patient_id: i64,
    s: &ScoresInput,
    days: &[Option<u8>],
    total: u8,
) -> Result<i64, AppError> {
    // An unanswered item is stored as an empty entry ("3,,0,..."), never as 0 days.
    let days_text = days
        .iter()
        .map(|d| d.map(|d| d.to_string()).unwrap_or_default())
        .collect::<Vec<_>>()
        .join(",");
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
    audit(
        &mut tx,
        Some(user_id),
        "record_scores",
        "weekly_scores",
        Some(id),
        Some(patient_id),
        None,
        Some(after),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Store a validated reaction report.
pub async fn insert_reaction(
    state: &AppState,
    user_id: i64,
    patient_id: i64,
    r: &ReactionInput,
) -> Result<i64, AppError> {
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
    audit(
        &mut tx,
        Some(user_id),
        "report_reaction",
        "reaction",
        Some(id),
        Some(patient_id),
        None,
        Some(json!({"id": id, "patient_id": patient_id, "reaction": r})),
    )
    .await?;
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
    fn a_late_dose_keeps_the_original_schedule() {
        // Every 14 days from 2026-01-01: due 01-15; given 01-19 (4 days late, within 7) → the original
        // schedule resumes: next due 01-29 (01-01 + 2 × 14), not 02-02 (01-19 + 14).
        let plan = schedule(
            d("2026-01-01"),
            14,
            &[d("2026-01-01"), d("2026-01-19")],
            d("2026-01-25"),
        );
        assert_eq!((plan.next_due, plan.days_overdue), (d("2026-01-29"), 0));
        assert_eq!(plan.doses, vec![(vec![], 0), (vec!["late"], 4)]);
        assert!(plan.missed.is_empty());
        // Still inside the window of 01-15 on 01-20: 5 days overdue; on 01-23 the window (to 01-22) has
        // closed: 01-15 is missed and the next is 01-29 (wait for the next scheduled dose).
        let plan = schedule(d("2026-01-01"), 14, &[d("2026-01-01")], d("2026-01-20"));
        assert_eq!((plan.next_due, plan.days_overdue), (d("2026-01-15"), 5));
        let plan = schedule(d("2026-01-01"), 14, &[d("2026-01-01")], d("2026-01-23"));
        assert_eq!(
            (plan.next_due, plan.days_overdue, plan.missed.clone()),
            (d("2026-01-29"), 0, vec![d("2026-01-15")])
        );
        // A second dose for the same scheduled date is a duplicate and changes nothing.
        let plan = schedule(
            d("2026-01-01"),
            14,
            &[d("2026-01-01"), d("2026-01-15"), d("2026-01-16")],
            d("2026-01-20"),
        );
        assert_eq!(plan.doses[2], (vec!["duplicate"], 0));
        assert_eq!(plan.next_due, d("2026-01-29"));
        // Nothing given yet: due at the regimen start, overdue since.
        let plan = schedule(d("2026-03-18"), 14, &[], d("2026-03-20"));
        assert_eq!((plan.next_due, plan.days_overdue), (d("2026-03-18"), 2));
        // Every 28 days: a dose 10 days after 01-29 is outside every window → the schedule restarts from it.
        let plan = schedule(
            d("2026-01-01"),
            28,
            &[d("2026-01-01"), d("2026-02-08")],
            d("2026-02-10"),
        );
        assert_eq!(plan.doses[1], (vec!["restarted"], 0));
        assert_eq!(
            (plan.next_due, plan.missed.clone()),
            (d("2026-03-08"), vec![d("2026-01-29")])
        );
    }

    #[test]
    fn today_is_the_accounts_own_date() {
        // 2026-03-01T14:00:00Z = 1_772_373_600 s. Sydney is on daylight time (UTC+11) until the first Sunday
        // of April, so it is already 01:00 on 2026-03-02 there; in UTC and in New York (UTC−5) it is 03-01.
        let t = 1_772_373_600;
        assert_eq!(
            chrono::DateTime::from_timestamp(t, 0).unwrap().to_rfc3339(),
            "2026-03-01T14:00:00+00:00"
        );
        assert_eq!(date_in("Australia/Sydney", t), d("2026-03-02"));
        assert_eq!(date_in("UTC", t), d("2026-03-01"));
        assert_eq!(date_in("America/New_York", t), d("2026-03-01"));
        assert_eq!(date_in("Not/AZone", t), d("2026-03-01"));
        assert!(valid_time_zone("Pacific/Auckland") && !valid_time_zone("UTC+11"));
    }

    #[test]
    fn one_unanswered_poem_item_counts_as_zero_two_are_not_scored() {
        // Days −,1,2,3,4,5,7 → items 0 (unanswered),1,1,2,2,3,4 → 13 (the banding of Charman 2004).
        assert_eq!(
            poem_score(&[None, Some(1), Some(2), Some(3), Some(4), Some(5), Some(7)]).unwrap(),
            (vec![0, 1, 1, 2, 2, 3, 4], 13)
        );
        assert!(
            poem_score(&[None, None, Some(2), Some(3), Some(4), Some(5), Some(7)])
                .unwrap_err()
                .contains("2 of the 7")
        );
        let s = ScoresInput {
            week_start: "2026-03-09".into(),
            poem_days: vec![Some(0), None, Some(0), Some(0), Some(0), Some(0), Some(0)],
            pp_nrs: 5.5,
        };
        assert_eq!(
            validate_scores(&s, d("2026-03-20")).unwrap_err()[0].field,
            "pp_nrs"
        );
        assert_eq!(
            validate_scores(&ScoresInput { pp_nrs: 5.0, ..s }, d("2026-03-20"))
                .unwrap()
                .1,
            0
        );
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
        let ok = InjectionInput {
            given_on: "2026-01-01".into(),
            dose_mg: 600.0,
            site: None,
            note: None,
            supersedes_id: None,
            correction_reason: None,
        };
        assert!(validate_injection(&ok, Some(&reg), today).is_ok());
        let too_much = InjectionInput {
            dose_mg: 600.5,
            ..ok.clone()
        };
        assert_eq!(
            validate_injection(&too_much, Some(&reg), today).unwrap_err()[0].field,
            "dose_mg"
        );
        let future = InjectionInput {
            given_on: "2026-03-21".into(),
            ..ok.clone()
        };
        let e = validate_injection(&future, Some(&reg), today).unwrap_err();
        assert_eq!(e[0].field, "given_on");
        assert!(e[0].message.contains("future"));
        let before_start = InjectionInput {
            given_on: "2025-12-31".into(),
            ..ok.clone()
        };
        assert!(
            validate_injection(&before_start, Some(&reg), today).unwrap_err()[0]
                .message
                .contains("before the regimen start")
        );
        assert_eq!(
            validate_injection(&ok, None, today).unwrap_err()[0].field,
            "regimen"
        );
    }

    #[test]
    fn poem_days_map_to_item_scores_and_totals() {
        // Days 0,1,2,3,4,5,7 → item scores 0,1,1,2,2,3,4 (Charman 2004 banding) → total 13.
        let some = |v: [i64; 7]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
        let s = ScoresInput {
            week_start: "2026-03-09".into(),
            poem_days: some([0, 1, 2, 3, 4, 5, 7]),
            pp_nrs: 6.0,
        };
        assert_eq!(
            validate_scores(&s, d("2026-03-20")).unwrap(),
            ([0, 1, 2, 3, 4, 5, 7].map(Some).to_vec(), 13)
        );
        let bad = ScoresInput {
            poem_days: some([0, 1, 2, 8, 4, 5, 7]),
            pp_nrs: 10.5,
            ..s
        };
        let e = validate_scores(&bad, d("2026-03-20")).unwrap_err();
        assert_eq!(
            e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["poem_days[3]", "pp_nrs"]
        );
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
        assert_eq!(
            e.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            ["sites[1]", "different_from_usual"]
        );
    }
}
