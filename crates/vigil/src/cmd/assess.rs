//! `vigil assess`: scores, causality and reaction-vs-flare support for one case; or its E2B(R3) export.
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use vigil_clinic::causality::{Basis, PairAssessment};
use vigil_clinic::e2b::export::{to_xml, ExportOptions};
use vigil_clinic::flare::{Candidate, FlareAssessment};
use vigil_clinic::scores::easi::Easi;
use vigil_clinic::scores::pp_nrs::PpNrs;
use vigil_clinic::scores::scorad::Scorad;
use vigil_clinic::scores::ScoreReport;
use vigil_clinic::{assess, read_case_file, CaseAssessment, PartialDate};

/// Output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Readable report.
    Text,
    /// The full assessment as JSON.
    Json,
}

/// Arguments of `vigil assess`.
#[derive(clap::Args)]
pub struct Args {
    /// The case: a JSON case file, or an ICH E2B(R3) ICSR XML file.
    pub case: PathBuf,
    /// Output format of the assessment.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the case as an ICH E2B(R3) ICSR (XML) to standard output instead of assessing it.
    #[arg(long)]
    pub export_e2b: bool,
    /// Creation date of the exported message (C.1.2), YYYY-MM-DD; default: today (UTC).
    #[arg(long, value_parser = parse_date)]
    pub created: Option<PartialDate>,
}

fn parse_date(s: &str) -> Result<PartialDate, String> {
    let d = PartialDate::parse_iso(s).map_err(|e| e.to_string())?;
    if d.exact().is_none() {
        return Err(format!("{s:?}: the creation date needs a day"));
    }
    Ok(d)
}

fn today_utc() -> anyhow::Result<PartialDate> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs();
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).context("epoch")?;
    let day = epoch
        .checked_add_days(chrono::Days::new(secs / 86_400))
        .context("date out of range")?;
    Ok(PartialDate::from_naive(day))
}

/// Run `vigil assess`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let case = read_case_file(&args.case)?;
    if args.export_e2b {
        let created = match args.created {
            Some(d) => d,
            None => today_utc()?,
        };
        let assessments = vigil_clinic::causality::assess_case(&case);
        let xml = to_xml(&case, &assessments, &ExportOptions::new(created))?;
        return crate::output::print(&xml);
    }
    let report = assess(&case)?;
    let out = match args.format {
        Format::Json => {
            serde_json::to_string_pretty(&report).context("serialising the assessment")? + "\n"
        }
        Format::Text => render_text(&report),
    };
    crate::output::print(&out)
}

fn basis(b: &Basis) -> String {
    match b {
        Basis::Explicit => "explicit answer".into(),
        Basis::Derived(why) => format!("derived: {why}"),
        Basis::NoInformation(why) => format!("no information: {why}"),
    }
}

/// The readable report.
pub fn render_text(r: &CaseAssessment) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Case {}", r.case_id);
    if let Some(sc) = &r.scores {
        severity_text(&mut s, sc);
    }
    for a in &r.causality {
        causality_text(&mut s, a);
    }
    for f in &r.flare {
        flare_text(&mut s, f);
    }
    s
}

/// The severity scores recorded for the case, each with its band and the band's source.
fn severity_text(s: &mut String, sc: &ScoreReport) {
    let _ = writeln!(s, "\nSeverity scores");
    if let Some(e) = &sc.easi {
        easi_text(s, e);
    }
    if let Some(c) = &sc.scorad {
        scorad_text(s, c);
    }
    if let Some(p) = &sc.poem {
        let _ = writeln!(
            s,
            "  POEM {} ({}) items {:?} — {}",
            p.total, p.band, p.item_scores, p.band_source
        );
    }
    if let Some(v) = &sc.viga {
        let success = match v.success {
            Some(true) => ", success (0/1 and ≥ 2 grades down)",
            Some(false) => ", not a success",
            None => "",
        };
        let _ = writeln!(s, "  vIGA-AD {} ({}){success}", v.grade, v.label);
    }
    if let Some(p) = &sc.pp_nrs {
        pp_nrs_text(s, p);
    }
}

/// EASI: the total, its band, and the score of each region.
fn easi_text(s: &mut String, e: &Easi) {
    let _ = writeln!(
        s,
        "  EASI {:.2} ({}; {} multipliers from the {}) — {}",
        e.total,
        e.band,
        if e.child_multipliers {
            "age 0–7"
        } else {
            "age ≥ 8"
        },
        e.age_basis,
        e.band_source
    );
    for reg in &e.regions {
        let _ = writeln!(
            s,
            "    {:<12} signs {:>4} × area {} × {} = {:.2}",
            reg.region, reg.sign_sum, reg.area_score, reg.multiplier, reg.score
        );
    }
}

/// SCORAD (when the symptoms were recorded) and objective SCORAD.
fn scorad_text(s: &mut String, c: &Scorad) {
    match c.scorad {
        Some(total) => {
            let _ = writeln!(
                s,
                "  SCORAD {total:.1} ({}): A {:.1}/5 + 7×B {}/2 + C {:.1}",
                c.scorad_band.unwrap_or(""),
                c.extent_a,
                c.intensity_b,
                c.symptoms_c.unwrap_or(0.0)
            );
        }
        None => {
            let _ = writeln!(s, "  SCORAD: symptoms not recorded, objective SCORAD only");
        }
    }
    let _ = writeln!(
        s,
        "  objective SCORAD {:.1} ({}) — {}",
        c.objective, c.objective_band, c.band_source
    );
}

/// PP-NRS: the score, its stratum, and the responder reading when a baseline is known.
fn pp_nrs_text(s: &mut String, p: &PpNrs) {
    let responder = match p.responder {
        Some(true) => format!(
            ", improved {:.1} points: responder (≥ 4)",
            p.improvement.unwrap_or(0.0)
        ),
        Some(false) => format!(
            ", improved {:.1} points: not a responder (≥ 4)",
            p.improvement.unwrap_or(0.0)
        ),
        None => String::new(),
    };
    let _ = writeln!(
        s,
        "  PP-NRS {} ({}){responder} — strata: {}",
        p.score,
        p.stratum.unwrap_or("no stratum"),
        p.stratum_source
    );
}

/// One drug–reaction pair: Naranjo, WHO-UMC and Liverpool, item by item with the basis of each answer.
fn causality_text(s: &mut String, a: &PairAssessment) {
    let _ = writeln!(s, "\nCausality: {} → {}", a.drug, a.reaction);
    let _ = writeln!(s, "  Naranjo {} ({})", a.naranjo.total, a.naranjo.category);
    for i in &a.naranjo.items {
        let _ = writeln!(
            s,
            "    {:>2}. {:<52} {:<8} {:>+3}  [{}]",
            i.number,
            i.name,
            format!("{:?}", i.answer).to_lowercase(),
            i.points,
            basis(&i.basis)
        );
    }
    let _ = writeln!(s, "  WHO-UMC: {}", a.who_umc.category);
    for c in &a.who_umc.criteria {
        let _ = writeln!(
            s,
            "    {:<36} {:<12} [{}]",
            c.name,
            c.value,
            basis(&c.basis)
        );
    }
    for why in &a.who_umc.reasoning {
        let _ = writeln!(s, "    → {why}");
    }
    let _ = writeln!(
        s,
        "  Liverpool: {} ({})",
        a.liverpool.category, a.liverpool.note
    );
    for step in &a.liverpool.path {
        let _ = writeln!(
            s,
            "    {:<58} {:<14} [{}]",
            step.question,
            step.answer,
            basis(&step.basis)
        );
    }
}

/// Reaction or flare: the candidate explanations with the evidence for and against each, and
/// the work-up the reviews suggest.
fn flare_text(s: &mut String, f: &FlareAssessment) {
    let _ = writeln!(s, "\nReaction or flare? {} — {}", f.reaction, f.disclaimer);
    if let Some(d) = f.days_since_first_dose {
        let _ = writeln!(s, "  onset {d} days after the first dupilumab dose");
    }
    let _ = writeln!(s, "  {}", f.order_note);
    for c in &f.candidates {
        candidate_text(s, c);
    }
    let _ = writeln!(s, "  work-up suggested in reviews:");
    for w in &f.work_up {
        let _ = writeln!(s, "      {} [{}]", w.text, w.source);
    }
}

/// One candidate explanation: its evidence for, against and in context, then what the sources
/// say of its incidence, onset, management and red flags, each cited.
fn candidate_text(s: &mut String, c: &Candidate) {
    let _ = writeln!(
        s,
        "  ● {} ({} for, {} against)",
        c.name,
        c.evidence_for.len(),
        c.evidence_against.len()
    );
    for e in &c.evidence_for {
        let _ = writeln!(s, "      + {} [{}]", e.finding, e.source);
    }
    for e in &c.evidence_against {
        let _ = writeln!(s, "      − {} [{}]", e.finding, e.source);
    }
    for e in &c.context {
        let _ = writeln!(s, "      context: {} [{}]", e.finding, e.source);
    }
    for x in &c.incidence {
        let _ = writeln!(s, "      incidence: {} [{}]", x.text, x.source);
    }
    for x in &c.onset {
        let _ = writeln!(s, "      onset: {} [{}]", x.text, x.source);
    }
    for x in &c.management {
        let _ = writeln!(s, "      management: {} [{}]", x.text, x.source);
    }
    for x in &c.red_flags {
        let _ = writeln!(s, "      rule out / urgent: {} [{}]", x.text, x.source);
    }
}
