//! Synthetic FAERS-format quarterly files (`vigil synth`), always labelled synthetic.
//!
//! Shape: reports spread evenly over consecutive quarters; 1–6 drugs and 1–8 events per report;
//! background drugs and events drawn from Zipf laws (weight of rank r ∝ 1/r^s, s = 1.0 for drugs
//! and 1.1 for events — a common model of FAERS' long-tailed frequencies, chosen here, not fitted);
//! ages, sexes, weights, dates; 10% of cases get a follow-up version in the next quarter; 0.5% of
//! cases are listed as deleted in the last quarter's deleted-case list; a few byte-level quirks
//! (CRLF endings and a trailing `$` on every line as in raw FAERS files, a BOM on DRUG, mixed-case
//! brand names with strengths, missing `prod_ai`, and duplicate reaction rows differing in case).
//!
//! Planted associations (the truth a signal detector should recover; not real-world figures):
//! 3% of reports have DUPILUMAB (brand DUPIXENT) as primary suspect. Each planted event `e` has
//! a background probability `b_e` per report, and probability `RR_e × b_e` in a dupilumab report,
//! so its expected PRR is about `RR_e` (see [`PLANTED`]). Psoriasis is also planted with RR 15 for
//! the psoriasis biologics USTEKINUMAB, SECUKINUMAB and ADALIMUMAB (competition bias: excluding
//! them raises dupilumab's psoriasis PRR). Another 1% of reports have an atopic-dermatitis drug
//! (TRALOKINUMAB, UPADACITINIB or ABROCITINIB) as primary suspect for the indication "Dermatitis
//! atopic", with the disease itself reported as an event at 20× background (confounding by
//! indication: restricting dupilumab's comparator to that indication shrinks its dermatitis-atopic
//! PRR, while the eye signals stay).
//!
//! Planted drug–drug interactions (only with [`SynthConfig::interactions`], so that the default
//! output for a seed is unchanged): see [`PLANTED_INTERACTIONS`] and [`PLANTED_CONFOUNDER`]. They
//! are drawn from a random stream of their own, after the rest of each case.
//!
//! Planted time to onset: when a report's event date is a full date, the primary suspect's therapy
//! start (THER `start_dt`, full date) lies `t` days before it, with `t` drawn from a Weibull law —
//! shape [`DUPILUMAB_ONSET_WEIBULL`]`.0`, scale `.1` days for dupilumab (an early-failure pattern:
//! hazard falling with time), exponential with scale [`BACKGROUND_ONSET_DAYS`] for other drugs.
//! These are chosen parameters, the truth an onset analysis should recover, not published figures.
//! Reports with a partial or missing event date get a month-precision start, as many real ones do.
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::discover::Quarter;
use crate::FaersError;

/// A planted dupilumab association: (MedDRA PT, background probability per report, relative
/// reporting rate in dupilumab reports).
pub const PLANTED: &[(&str, f64, f64)] = &[
    ("Dermatitis atopic", 0.004, 40.0),
    ("Conjunctivitis", 0.004, 20.0),
    ("Eye pruritus", 0.003, 12.0),
    ("Dry eye", 0.004, 10.0),
    ("Blepharitis", 0.002, 10.0),
    ("Erythema", 0.006, 4.0),
    ("Rosacea", 0.002, 4.0),
    ("Alopecia areata", 0.002, 3.0),
    ("Arthralgia", 0.010, 2.0),
    ("Psoriasis", 0.004, 3.0),
    ("Eczema", 0.004, 6.0),
    ("Herpes simplex", 0.002, 3.0),
    ("Eczema herpeticum", 0.0003, 8.0),
    // Below 1: fewer skin infections with dupilumab, as in its trials (the detector should find no signal).
    ("Skin infection", 0.003, 0.5),
    // Null controls: same rate with and without dupilumab.
    ("Headache", 0.020, 1.0),
    ("Nausea", 0.020, 1.0),
];

/// A planted emerging dupilumab association for sequential monitoring (only with
/// [`SynthConfig::emerging_from`]): (MedDRA PT, background probability per report, relative
/// reporting rate in dupilumab reports from the emerging quarter on). Before that quarter dupilumab
/// reports it at the background rate. Chosen values, not real-world figures: strong enough that
/// a MaxSPRT alarm follows within a few quarters of 20,000 reports.
pub const PLANTED_EMERGING: (&str, f64, f64) = ("Keratitis", 0.003, 20.0);

/// A planted interaction: (drug 1, drug 2, MedDRA PT, share of reports listing each drug,
/// probability of the event per report without the combination, probability with both drugs).
/// Each drug alone leaves the event at its background rate; only the combination raises it. Drug 1
/// is listed as secondary suspect (SS), drug 2 as interacting (I). Chosen values (synthetic truth,
/// not real-world figures).
pub const PLANTED_INTERACTIONS: &[(&str, &str, &str, f64, f64, f64)] = &[
    (
        "SYNTHETIC INTERACTOR A",
        "SYNTHETIC INTERACTOR B",
        "Rhabdomyolysis",
        0.03,
        0.002,
        0.40,
    ),
    (
        "SYNTHETIC INTERACTOR C",
        "SYNTHETIC INTERACTOR D",
        "Electrocardiogram QT prolonged",
        0.03,
        0.002,
        0.25,
    ),
];

/// A planted single-drug confounder: (drug, companion, MedDRA PT, share of reports with the drug,
/// share of those also listing the companion, background probability of the event, probability
/// with the drug). The drug alone raises the event; the companion, often co-reported, does not, so
/// (drug, companion, event) must not show as an interaction. Chosen values.
pub const PLANTED_CONFOUNDER: (&str, &str, &str, f64, f64, f64, f64) = (
    "SYNTHETIC CONFOUNDER E",
    "SYNTHETIC COMPANION F",
    "Hepatotoxicity",
    0.03,
    0.5,
    0.002,
    0.15,
);

/// Adds the planted interactions and the confounder to one case (see [`PLANTED_INTERACTIONS`]).
fn plant_interactions(rng: &mut fastrand::Rng, case: &mut Case) {
    let add = |case: &mut Case, name: &str, role: &'static str| {
        case.drugs.push((
            name.to_owned(),
            name.to_owned(),
            role,
            "Product used for unknown indication".to_owned(),
        ));
    };
    for (d1, d2, pt, share, background, combined) in PLANTED_INTERACTIONS {
        let has1 = rng.f64() < *share;
        let has2 = rng.f64() < *share;
        if has1 {
            add(case, d1, "SS");
        }
        if has2 {
            add(case, d2, "I");
        }
        let p = if has1 && has2 { *combined } else { *background };
        if rng.f64() < p {
            case.events.push((*pt).to_owned());
        }
    }
    let (drug, companion, pt, share, with_companion, background, with_drug) = PLANTED_CONFOUNDER;
    let has = rng.f64() < share;
    if has {
        add(case, drug, "SS");
    }
    // The companion: with half the drug's reports, and as often again on its own.
    if (has && rng.f64() < with_companion) || rng.f64() < share * with_companion {
        add(case, companion, "SS");
    }
    if rng.f64() < if has { with_drug } else { background } {
        case.events.push(pt.to_owned());
    }
}

/// Share of reports with dupilumab as primary suspect.
pub const DUPILUMAB_SHARE: f64 = 0.03;
/// Share of (non-dupilumab) reports with an atopic-dermatitis comparator drug as primary suspect.
pub const AD_COMPARATOR_SHARE: f64 = 0.01;
/// Relative rate of the event "Dermatitis atopic" in reports of the atopic-dermatitis comparators.
pub const AD_COMPARATOR_DISEASE_RR: f64 = 20.0;
const AD_COMPARATORS: &[(&str, &str)] = &[
    ("ADBRY", "TRALOKINUMAB"),
    ("RINVOQ", "UPADACITINIB"),
    ("CIBINQO", "ABROCITINIB"),
];

/// Planted time to onset of dupilumab reports: Weibull (shape, scale in days). Chosen, not fitted.
pub const DUPILUMAB_ONSET_WEIBULL: (f64, f64) = (0.8, 60.0);
/// Planted time to onset of other primary suspects: exponential scale in days (Weibull shape 1). Chosen.
pub const BACKGROUND_ONSET_DAYS: f64 = 200.0;

/// Relative psoriasis reporting rate for the psoriasis biologics.
pub const PSORIASIS_BIOLOGIC_RR: f64 = 15.0;
const PSORIASIS_BIOLOGICS: &[(&str, &str)] = &[
    ("STELARA", "USTEKINUMAB"),
    ("COSENTYX", "SECUKINUMAB"),
    ("HUMIRA", "ADALIMUMAB"),
];

/// Named background drugs (brand, ingredient) at the top Zipf ranks; further ranks are
/// `SYNTHETIC DRUG nnnn`.
const NAMED_DRUGS: &[(&str, &str)] = &[
    ("LIPITOR", "ATORVASTATIN CALCIUM"),
    ("HUMIRA", "ADALIMUMAB"),
    ("ELIQUIS", "APIXABAN"),
    ("OZEMPIC", "SEMAGLUTIDE"),
    ("XARELTO", "RIVAROXABAN"),
    ("ENBREL", "ETANERCEPT"),
    ("METFORMIN", "METFORMIN HYDROCHLORIDE"),
    ("STELARA", "USTEKINUMAB"),
    ("LYRICA", "PREGABALIN"),
    ("KEYTRUDA", "PEMBROLIZUMAB"),
    ("COSENTYX", "SECUKINUMAB"),
    ("PREDNISONE", "PREDNISONE"),
    ("ASPIRIN", "ASPIRIN"),
    ("XOLAIR", "OMALIZUMAB"),
    ("OTEZLA", "APREMILAST"),
    ("REVLIMID", "LENALIDOMIDE"),
    ("JARDIANCE", "EMPAGLIFLOZIN"),
    ("NEXIUM", "ESOMEPRAZOLE MAGNESIUM"),
    ("ZOLOFT", "SERTRALINE HYDROCHLORIDE"),
    ("SYNTHROID", "LEVOTHYROXINE SODIUM"),
];

/// Named background events at the top Zipf ranks; further ranks are `Synthetic event nnnn`.
const NAMED_EVENTS: &[&str] = &[
    "Drug ineffective",
    "Fatigue",
    "Off label use",
    "Diarrhoea",
    "Dyspnoea",
    "Pain",
    "Rash",
    "Dizziness",
    "Pruritus",
    "Pyrexia",
    "Vomiting",
    "Death",
    "Malaise",
    "Injection site pain",
    "Pneumonia",
    "Asthenia",
    "Cough",
    "Insomnia",
    "Weight decreased",
    "Anxiety",
    "Condition aggravated",
    "Fall",
    "Hypertension",
    "Pain in extremity",
    "Back pain",
    "Abdominal pain",
    "Urticaria",
    "Oedema peripheral",
    "Depression",
];

/// Configuration of [`write_synth`].
#[derive(Debug, Clone)]
pub struct SynthConfig {
    /// Number of cases (initial versions; follow-ups come on top).
    pub reports: usize,
    /// Random seed: the same seed gives the same bytes.
    pub seed: u64,
    /// First quarter.
    pub first_quarter: Quarter,
    /// Number of quarters.
    pub quarters: usize,
    /// Distinct background drugs (Zipf support).
    pub drugs: usize,
    /// Distinct background events (Zipf support).
    pub events: usize,
    /// Also plant the drug–drug interactions of [`PLANTED_INTERACTIONS`] and the confounder of
    /// [`PLANTED_CONFOUNDER`] (off by default: the files for a seed are otherwise unchanged).
    pub interactions: bool,
    /// Plant [`PLANTED_EMERGING`] from this quarter index on (0 = the first quarter); `None`
    /// (the default) leaves the files for a seed unchanged.
    pub emerging_from: Option<usize>,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            reports: 20_000,
            seed: 1,
            first_quarter: Quarter { year: 2023, q: 1 },
            quarters: 8,
            drugs: 2_000,
            events: 1_500,
            interactions: false,
            emerging_from: None,
        }
    }
}

/// What [`write_synth`] wrote.
#[derive(Debug, Clone, Default)]
pub struct SynthSummary {
    /// Quarter folders written.
    pub quarter_dirs: Vec<PathBuf>,
    /// DEMO rows (case versions) written.
    pub demo_rows: u64,
    /// Cases with a follow-up version.
    pub follow_ups: u64,
    /// Cases on the deleted list.
    pub deleted: u64,
    /// Dupilumab cases.
    pub dupilumab_cases: u64,
    /// Bytes written.
    pub bytes: u64,
}

struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut cdf = Vec::with_capacity(n);
        let mut acc = 0.0;
        for r in 1..=n {
            acc += 1.0 / (r as f64).powf(s);
            cdf.push(acc);
        }
        for c in &mut cdf {
            *c /= acc;
        }
        Self { cdf }
    }
    fn sample(&self, rng: &mut fastrand::Rng) -> usize {
        let u = rng.f64();
        self.cdf.partition_point(|&c| c < u).min(self.cdf.len() - 1)
    }
}

fn pick_weighted(rng: &mut fastrand::Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut u = rng.f64() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i;
        }
        u -= w;
    }
    weights.len() - 1
}

struct Case {
    caseid: u64,
    age: Option<(f64, &'static str)>,
    sex: &'static str,
    wt: Option<(u32, &'static str)>,
    event_dt: String,
    /// Primary suspect's therapy start: a full date `t` days before a full `event_dt`, else empty
    /// (then the month of the initial FDA receipt is written, as before).
    therapy_start: String,
    drugs: Vec<(String, String, &'static str, String)>, // drugname, prod_ai, role, indication
    events: Vec<String>,
    serious: Option<&'static str>,
    rpsr: Option<&'static str>,
    mfr: &'static str,
    country: &'static str,
}

struct QuarterFiles {
    demo: BufWriter<File>,
    drug: BufWriter<File>,
    reac: BufWriter<File>,
    outc: BufWriter<File>,
    rpsr: BufWriter<File>,
    ther: BufWriter<File>,
    indi: BufWriter<File>,
}

const EOL: &str = "\r\n";

fn create(dir: &Path, name: &str, header: &str, bom: bool) -> Result<BufWriter<File>, FaersError> {
    let p = dir.join(name);
    let f = File::create(&p).map_err(|e| FaersError::io(&p, e))?;
    let mut w = BufWriter::with_capacity(1 << 20, f);
    let io = |e| FaersError::io(&p, e);
    if bom {
        w.write_all(&[0xEF, 0xBB, 0xBF]).map_err(io)?;
    }
    write!(w, "{header}${EOL}").map_err(|e| FaersError::io(&p, e))?;
    Ok(w)
}

impl QuarterFiles {
    fn open(dir: &Path, q: Quarter) -> Result<Self, FaersError> {
        let yq = format!("{:02}Q{}", q.year % 100, q.q);
        let n = |t: &str| format!("{t}{yq}_SYNTHETIC.txt");
        Ok(Self {
            demo: create(dir, &n("DEMO"), "primaryid$caseid$caseversion$i_f_code$event_dt$mfr_dt$init_fda_dt$fda_dt$rept_cod$auth_num$mfr_num$mfr_sndr$lit_ref$age$age_cod$age_grp$sex$e_sub$wt$wt_cod$rept_dt$to_mfr$occp_cod$reporter_country$occr_country", false)?,
            drug: create(dir, &n("DRUG"), "primaryid$caseid$drug_seq$role_cod$drugname$prod_ai$val_vbm$route$dose_vbm$cum_dose_chr$cum_dose_unit$dechal$rechal$lot_num$exp_dt$nda_num$dose_amt$dose_unit$dose_form$dose_freq", true)?,
            reac: create(dir, &n("REAC"), "primaryid$caseid$pt$drug_rec_act", false)?,
            outc: create(dir, &n("OUTC"), "primaryid$caseid$outc_cod", false)?,
            rpsr: create(dir, &n("RPSR"), "primaryid$caseid$rpsr_cod", false)?,
            ther: create(dir, &n("THER"), "primaryid$caseid$dsg_drug_seq$start_dt$end_dt$dur$dur_cod", false)?,
            indi: create(dir, &n("INDI"), "primaryid$caseid$indi_drug_seq$indi_pt", false)?,
        })
    }
    fn flush(self) -> std::io::Result<()> {
        for mut w in [
            self.demo, self.drug, self.reac, self.outc, self.rpsr, self.ther, self.indi,
        ] {
            w.flush()?;
        }
        Ok(())
    }
}

fn quarter_at(first: Quarter, k: usize) -> Quarter {
    let idx = (first.year as usize) * 4 + (first.q as usize - 1) + k;
    Quarter {
        year: (idx / 4) as u16,
        q: (idx % 4 + 1) as u8,
    }
}

fn fda_date(rng: &mut fastrand::Rng, q: Quarter) -> String {
    let month = (q.q as u32 - 1) * 3 + 1 + rng.u32(0..3);
    format!("{:04}{:02}{:02}", q.year, month, 1 + rng.u32(0..28))
}

fn make_case(
    rng: &mut fastrand::Rng,
    caseid: u64,
    q: Quarter,
    drug_z: &Zipf,
    event_z: &Zipf,
    cfg: &SynthConfig,
) -> (Case, bool) {
    let dupi = rng.f64() < DUPILUMAB_SHARE;
    let n_drugs = 1 + pick_weighted(rng, &[0.35, 0.25, 0.15, 0.12, 0.08, 0.05]);
    let n_events = 1 + pick_weighted(rng, &[0.30, 0.22, 0.15, 0.11, 0.08, 0.06, 0.04, 0.04]);
    let mut drugs: Vec<(String, String, &'static str, String)> = Vec::new();
    let mut names_seen = Vec::new();
    let mut psoriasis_biologic = false;
    if dupi {
        let name = match rng.u32(0..10) {
            0 => "Dupixent".to_owned(),
            1 => "DUPIXENT 300 MG PREFILLED PEN".to_owned(),
            2 => "DUPILUMAB".to_owned(),
            _ => "DUPIXENT".to_owned(),
        };
        let prod_ai = if rng.u32(0..10) == 0 {
            String::new()
        } else {
            "DUPILUMAB".to_owned()
        };
        let indi = if rng.f64() < 0.8 {
            "Dermatitis atopic"
        } else {
            "Asthma"
        };
        drugs.push((name, prod_ai, "PS", indi.to_owned()));
        names_seen.push(usize::MAX);
    }
    let ad_comparator = !dupi && rng.f64() < AD_COMPARATOR_SHARE;
    if ad_comparator {
        let (brand, ing) = AD_COMPARATORS[rng.usize(0..AD_COMPARATORS.len())];
        drugs.push((
            brand.to_owned(),
            ing.to_owned(),
            "PS",
            "Dermatitis atopic".to_owned(),
        ));
        names_seen.push(usize::MAX - 1);
    }
    while drugs.len() < n_drugs {
        let r = drug_z.sample(rng);
        if names_seen.contains(&r) {
            continue;
        }
        names_seen.push(r);
        let (brand, ing) = if r < NAMED_DRUGS.len() {
            (NAMED_DRUGS[r].0.to_owned(), NAMED_DRUGS[r].1.to_owned())
        } else {
            let n = format!("SYNTHETIC DRUG {r:04}");
            (n.clone(), n)
        };
        if PSORIASIS_BIOLOGICS.iter().any(|(_, i)| *i == ing) {
            psoriasis_biologic = true;
        }
        // Missing prod_ai in 10% of rows (older-style records), mixed case in 10%.
        let prod_ai = if rng.u32(0..10) == 0 && r < NAMED_DRUGS.len() {
            String::new()
        } else {
            ing.clone()
        };
        let name = if rng.u32(0..10) == 0 {
            brand.to_lowercase()
        } else {
            brand
        };
        let role = if drugs.is_empty() {
            "PS"
        } else if rng.f64() < 0.3 {
            "SS"
        } else {
            "C"
        };
        let indi = if PSORIASIS_BIOLOGICS.iter().any(|(_, i)| *i == ing) {
            "Psoriasis"
        } else {
            "Product used for unknown indication"
        };
        drugs.push((name, prod_ai, role, indi.to_owned()));
    }
    let mut events: Vec<String> = Vec::new();
    for (pt, b, rr) in PLANTED {
        let mut p = if dupi { b * rr } else { *b };
        if *pt == "Psoriasis" && psoriasis_biologic {
            p = b * PSORIASIS_BIOLOGIC_RR;
        }
        if *pt == "Dermatitis atopic" && ad_comparator {
            p = b * AD_COMPARATOR_DISEASE_RR;
        }
        if rng.f64() < p {
            events.push((*pt).to_owned());
        }
    }
    while events.len() < n_events {
        let r = event_z.sample(rng);
        let pt = if r < NAMED_EVENTS.len() {
            NAMED_EVENTS[r].to_owned()
        } else {
            format!("Synthetic event {r:04}")
        };
        if !events.contains(&pt) {
            events.push(pt);
        }
    }
    let _ = cfg;
    let age = match rng.u32(0..20) {
        0..=2 => None,
        3 => Some(((rng.u32(1..24)) as f64, "MON")),
        4 => Some((rng.u32(2..9) as f64, "DEC")),
        _ => {
            let a = if dupi {
                8 + rng.u32(0..60)
            } else {
                18 + rng.u32(0..70)
            };
            Some((a as f64, "YR"))
        }
    };
    let sex = match rng.u32(0..20) {
        0 => "",
        1 => "UNK",
        2..=12 => "F",
        _ => "M",
    };
    let wt = match rng.u32(0..10) {
        0..=4 => None,
        5 => Some((100 + rng.u32(0..150), "LBS")),
        _ => Some((45 + rng.u32(0..70), "KG")),
    };
    let event_dt = match rng.u32(0..10) {
        0..=2 => String::new(),
        3 => format!("{}", q.year - rng.u16(0..2)),
        4 => format!("{}{:02}", q.year, (q.q as u32 - 1) * 3 + 1),
        _ => fda_date(rng, q),
    };
    let therapy_start = match chrono::NaiveDate::parse_from_str(&event_dt, "%Y%m%d") {
        Ok(event) if event_dt.len() == 8 => {
            let (shape, scale) = if dupi {
                DUPILUMAB_ONSET_WEIBULL
            } else {
                (1.0, BACKGROUND_ONSET_DAYS)
            };
            // Inverse-CDF draw: t = scale · (−ln U)^(1/shape), U uniform on (0, 1].
            let u = 1.0 - rng.f64();
            let days = (scale * (-u.ln()).powf(1.0 / shape)).round() as i64;
            (event - chrono::Duration::days(days))
                .format("%Y%m%d")
                .to_string()
        }
        _ => String::new(),
    };
    let serious = match rng.u32(0..10) {
        0..=1 => Some("HO"),
        2..=3 => Some("OT"),
        _ => None,
    };
    let rpsr = if rng.u32(0..30) == 0 {
        Some("CSM")
    } else {
        None
    };
    let mfr = ["SANOFI", "PFIZER", "NOVARTIS", "ABBVIE", "AMGEN", ""][rng.usize(0..6)];
    let country = ["US", "US", "US", "CA", "GB", "DE", "FR", "JP"][rng.usize(0..8)];
    (
        Case {
            caseid,
            age,
            sex,
            wt,
            event_dt,
            therapy_start,
            drugs,
            events,
            serious,
            rpsr,
            mfr,
            country,
        },
        dupi,
    )
}

fn write_case(
    f: &mut QuarterFiles,
    c: &Case,
    version: u32,
    q: Quarter,
    rng: &mut fastrand::Rng,
    init_fda: &str,
) -> std::io::Result<u64> {
    let pid = format!("{}{}", c.caseid, version);
    let cid = c.caseid;
    let fda = fda_date(rng, q);
    let (age, age_cod) = c
        .age
        .map_or((String::new(), ""), |(a, u)| (format!("{a}"), u));
    let (wt, wt_cod) =
        c.wt.map_or((String::new(), ""), |(w, u)| (w.to_string(), u));
    let i_f = if version == 1 { "I" } else { "F" };
    let mfr_num = if c.mfr.is_empty() {
        String::new()
    } else {
        format!("{}-{}-SYN{}", c.country, c.mfr, c.caseid)
    };
    let mut bytes = 0u64;
    let mut line = format!(
        "{pid}${cid}${version}${i_f}${}${fda}${init_fda}${fda}$EXP$${mfr_num}${}$${age}${age_cod}$${}$Y${wt}${wt_cod}${fda}$$MD${}${}${EOL}",
        c.event_dt, c.mfr, c.sex, c.country, c.country
    );
    f.demo.write_all(line.as_bytes())?;
    bytes += line.len() as u64;
    for (seq, (name, prod_ai, role, indi)) in c.drugs.iter().enumerate() {
        let seq = seq + 1;
        let (nda, form, dose) = if prod_ai == "DUPILUMAB" || name.to_uppercase().contains("DUPI") {
            (
                "761055",
                "SOLUTION FOR INJECTION IN PRE-FILLED PEN",
                "300 MG, Q2W",
            )
        } else {
            ("020702", "TABLET", "UNK")
        };
        line = format!("{pid}${cid}${seq}${role}${name}${prod_ai}$1$Subcutaneous${dose}$$$U$$$${nda}$$${form}$${EOL}");
        f.drug.write_all(line.as_bytes())?;
        bytes += line.len() as u64;
        line = format!("{pid}${cid}${seq}${indi}${EOL}");
        f.indi.write_all(line.as_bytes())?;
        bytes += line.len() as u64;
        if seq == 1 {
            let start = if c.therapy_start.is_empty() {
                &init_fda[..6]
            } else {
                c.therapy_start.as_str()
            };
            line = format!("{pid}${cid}${seq}${start}$$$${EOL}");
            f.ther.write_all(line.as_bytes())?;
            bytes += line.len() as u64;
        }
    }
    for (i, pt) in c.events.iter().enumerate() {
        line = format!("{pid}${cid}${pt}$${EOL}");
        f.reac.write_all(line.as_bytes())?;
        bytes += line.len() as u64;
        // Quirk: about 1 report in 100 repeats its first reaction in upper case.
        if i == 0 && c.caseid % 100 == 7 {
            line = format!("{pid}${cid}${}$${EOL}", pt.to_uppercase());
            f.reac.write_all(line.as_bytes())?;
            bytes += line.len() as u64;
        }
    }
    if let Some(o) = c.serious {
        line = format!("{pid}${cid}${o}${EOL}");
        f.outc.write_all(line.as_bytes())?;
        bytes += line.len() as u64;
    }
    if let Some(r) = c.rpsr {
        line = format!("{pid}${cid}${r}${EOL}");
        f.rpsr.write_all(line.as_bytes())?;
        bytes += line.len() as u64;
    }
    Ok(bytes)
}

/// The file `vigil synth` writes at the top of its output folder. With [`MARKER_FIRST_LINE`] as
/// its first line, it is what marks the data files below it as synthetic ([`is_synth_output`]);
/// nothing else does (neither a drug name nor a path containing "synthetic").
pub const MARKER_FILE: &str = "SYNTHETIC_README.txt";
/// The first line of [`MARKER_FILE`].
pub const MARKER_FIRST_LINE: &str = "SYNTHETIC DATA - NOT REAL ADVERSE EVENT REPORTS.";

/// True when `data_file` (a path, or a member name inside a zip) sits where [`write_synth`]
/// writes its data files, `OUT/faers_ascii_YYYYQN_SYNTHETIC/{ASCII,Deleted}/FILE`, and `open`
/// finds the marker `OUT/`[`MARKER_FILE`] with [`MARKER_FIRST_LINE`] as its first line. `open`
/// returns the marker's reader, or `None` when there is no such file.
pub fn is_synth_output<R: std::io::BufRead>(
    data_file: &Path,
    open: impl FnOnce(&Path) -> Option<R>,
) -> bool {
    let Some(out) = data_file
        .parent()
        .and_then(Path::parent)
        .and_then(Path::parent)
    else {
        return false;
    };
    let Some(mut marker) = open(&out.join(MARKER_FILE)) else {
        return false;
    };
    let mut first = String::new();
    marker.read_line(&mut first).is_ok() && first.trim_end() == MARKER_FIRST_LINE
}

const README: &str = "SYNTHETIC DATA - NOT REAL ADVERSE EVENT REPORTS.\r
\r
These files were generated by `vigil synth`. They imitate the layout of the FDA FAERS quarterly\r
ASCII extract (2014Q3+ columns, `$`-delimited) so that vigil's ingest and signal detection can be\r
tested and demonstrated. Every report, drug-event association and count in them is invented.\r
Planted associations (relative reporting rates with dupilumab) are listed in PLANTED_SIGNALS.tsv.\r
Every data file name carries the marker _SYNTHETIC.\r
";

/// Writes synthetic quarters under `out` (see the module docs).
pub fn write_synth(cfg: &SynthConfig, out: &Path) -> Result<SynthSummary, FaersError> {
    if cfg.quarters == 0 {
        return Err(FaersError::Input(
            "synth: at least one quarter is needed".into(),
        ));
    }
    fs::create_dir_all(out).map_err(|e| FaersError::io(out, e))?;
    let readme = out.join(MARKER_FILE);
    fs::write(&readme, README).map_err(|e| FaersError::io(&readme, e))?;
    let planted = out.join("PLANTED_SIGNALS.tsv");
    let mut tsv = String::from("drug\tpt\tbackground_probability_per_report\trelative_rate\n");
    for (pt, b, rr) in PLANTED {
        tsv.push_str(&format!("DUPILUMAB\t{pt}\t{b}\t{rr}\n"));
    }
    for (_, ing) in PSORIASIS_BIOLOGICS {
        tsv.push_str(&format!(
            "{ing}\tPsoriasis\t0.004\t{PSORIASIS_BIOLOGIC_RR}\n"
        ));
    }
    for (_, ing) in AD_COMPARATORS {
        tsv.push_str(&format!(
            "{ing}\tDermatitis atopic\t0.004\t{AD_COMPARATOR_DISEASE_RR}\n"
        ));
    }
    if cfg.interactions {
        // Interaction rows: drug = "D1 + D2", relative_rate = rate with both / background rate.
        for (d1, d2, pt, _, b, combined) in PLANTED_INTERACTIONS {
            tsv.push_str(&format!("{d1} + {d2}\t{pt}\t{b}\t{}\n", combined / b));
        }
        let (drug, companion, pt, _, _, b, with_drug) = PLANTED_CONFOUNDER;
        tsv.push_str(&format!("{drug}\t{pt}\t{b}\t{}\n", with_drug / b));
        tsv.push_str(&format!(
            "{drug} + {companion}\t{pt}\t{b}\t{}\n",
            with_drug / b
        ));
    }
    if let Some(k0) = cfg.emerging_from {
        // Emerging row: the relative rate holds from the quarter named in the last column on.
        let (pt, b, rr) = PLANTED_EMERGING;
        tsv.push_str(&format!(
            "DUPILUMAB\t{pt}\t{b}\t{rr}\tfrom {}\n",
            quarter_at(cfg.first_quarter, k0).label()
        ));
    }
    fs::write(&planted, tsv).map_err(|e| FaersError::io(&planted, e))?;

    let mut rng = fastrand::Rng::with_seed(cfg.seed);
    // A stream of its own, so that planting interactions leaves every other draw as it was.
    let mut interaction_rng = fastrand::Rng::with_seed(cfg.seed ^ 0x9E37_79B9_7F4A_7C15);
    // Likewise for the emerging association.
    let mut emerging_rng = fastrand::Rng::with_seed(cfg.seed ^ 0x2545_F491_4F6C_DD1D);
    let drug_z = Zipf::new(cfg.drugs.max(NAMED_DRUGS.len()), 1.0);
    let event_z = Zipf::new(cfg.events.max(NAMED_EVENTS.len()), 1.1);
    let mut summary = SynthSummary::default();
    let per_q = cfg.reports.div_ceil(cfg.quarters);
    let mut pending_followups: Vec<(Case, String)> = Vec::new();
    let mut deleted: Vec<u64> = Vec::new();
    let mut next_case: u64 = 10_000_000;
    let mut made = 0usize;
    for k in 0..cfg.quarters {
        let q = quarter_at(cfg.first_quarter, k);
        let dir = out
            .join(format!("faers_ascii_{}_SYNTHETIC", q.label()))
            .join("ASCII");
        fs::create_dir_all(&dir).map_err(|e| FaersError::io(&dir, e))?;
        let mut files = QuarterFiles::open(&dir, q)?;
        let io = |e| FaersError::io(&dir, e);
        for (c, init) in std::mem::take(&mut pending_followups) {
            let mut c = c;
            // A follow-up adds a reaction.
            c.events.push("Condition aggravated".to_owned());
            c.events.dedup();
            summary.bytes += write_case(&mut files, &c, 2, q, &mut rng, &init).map_err(io)?;
            summary.demo_rows += 1;
        }
        let n_here = per_q.min(cfg.reports - made);
        for _ in 0..n_here {
            let caseid = next_case;
            next_case += 1;
            let (mut case, dupi) = make_case(&mut rng, caseid, q, &drug_z, &event_z, cfg);
            if cfg.interactions {
                plant_interactions(&mut interaction_rng, &mut case);
            }
            if let Some(k0) = cfg.emerging_from {
                let (pt, b, rr) = PLANTED_EMERGING;
                let p = if dupi && k >= k0 { b * rr } else { b };
                if emerging_rng.f64() < p && !case.events.iter().any(|e| e == pt) {
                    case.events.push(pt.to_owned());
                }
            }
            summary.dupilumab_cases += dupi as u64;
            let init = fda_date(&mut rng, q);
            summary.bytes += write_case(&mut files, &case, 1, q, &mut rng, &init).map_err(io)?;
            summary.demo_rows += 1;
            if rng.f64() < 0.005 {
                deleted.push(caseid);
            } else if k + 1 < cfg.quarters && rng.f64() < 0.10 {
                summary.follow_ups += 1;
                pending_followups.push((case, init));
            }
        }
        made += n_here;
        files.flush().map_err(io)?;
        summary.quarter_dirs.push(dir);
    }
    let last = quarter_at(cfg.first_quarter, cfg.quarters - 1);
    let ddir = out
        .join(format!("faers_ascii_{}_SYNTHETIC", last.label()))
        .join("Deleted");
    fs::create_dir_all(&ddir).map_err(|e| FaersError::io(&ddir, e))?;
    let dpath = ddir.join(format!(
        "DELETE{:02}Q{}_SYNTHETIC.txt",
        last.year % 100,
        last.q
    ));
    // As in DELETE25Q4.txt, the first line is a single space.
    let mut text = String::from(" \r\n");
    for d in &deleted {
        text.push_str(&format!("{d}\r\n"));
    }
    fs::write(&dpath, text).map_err(|e| FaersError::io(&dpath, e))?;
    summary.deleted = deleted.len() as u64;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_file(p: &Path) -> Option<std::io::BufReader<fs::File>> {
        fs::File::open(p).ok().map(std::io::BufReader::new)
    }

    /// Only files laid out as `vigil synth` writes them, under its marker, are synthetic: not a
    /// folder or file name containing "synthetic", nor a marker file with other contents.
    #[test]
    fn synth_output_is_recognised_by_its_marker_only() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("q");
        let cfg = SynthConfig {
            reports: 50,
            ..SynthConfig::default()
        };
        write_synth(&cfg, &out).unwrap();
        let quarter = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.is_dir())
            .unwrap();
        let demo = fs::read_dir(quarter.join("ASCII"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("DEMO"))
            .unwrap();
        assert!(is_synth_output(&demo, open_file));

        // The same files without the marker, or under a marker with other contents, are not.
        fs::write(out.join(MARKER_FILE), "Some other readme\r\n").unwrap();
        assert!(!is_synth_output(&demo, open_file));
        fs::remove_file(out.join(MARKER_FILE)).unwrap();
        assert!(!is_synth_output(&demo, open_file));

        // Real-looking data in a folder whose name says synthetic.
        let real = tmp
            .path()
            .join("synthetic-looking/faers_ascii_2024Q1_SYNTHETIC/ASCII");
        fs::create_dir_all(&real).unwrap();
        fs::write(real.join("DEMO24Q1.txt"), "primaryid$caseid\n").unwrap();
        assert!(!is_synth_output(&real.join("DEMO24Q1.txt"), open_file));
        // A data file too close to the root to have a marker two folders up.
        assert!(!is_synth_output(Path::new("DEMO24Q1.txt"), open_file));
    }
}
