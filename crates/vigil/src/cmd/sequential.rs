//! `vigil sequential`: Poisson MaxSPRT monitoring of one drug–event pair, quarter by quarter.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use vigil_stats::maxsprt::{
    continuous_critical_value, evaluate_looks, group_critical_value, LookResult,
};
use vigil_store::quarterly::{quarterly_counts_from, QuarterlyCounts, StratumCounts, YearQuarter};
use vigil_store::read::{ReportQuery, Role, Store};
use vigil_store::reports::normalise_name;

/// Monitor a drug–event pair quarter by quarter with the Poisson MaxSPRT (Kulldorff et al. 2011):
/// the log-likelihood ratio of the cumulative count against the cumulative expected count at each
/// quarterly look, the exact critical value, and the quarter at which the signal is raised.
///
/// Examples:
///   vigil sequential --store faers-store --drug DUPILUMAB --event KERATITIS --start 2023Q1
///   vigil sequential --store faers-store --drug DUPILUMAB --event KERATITIS --start 2023Q1 --max-expected 20 --min-events 4
///   vigil sequential --store faers-store --drug DUPILUMAB --event KERATITIS --start 2023Q1 --looks continuous --stratify sex
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A store written by `vigil ingest`.
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// The monitored drug (active ingredient, case-insensitive).
    #[arg(long, value_name = "NAME")]
    pub drug: String,
    /// The monitored event (MedDRA PT, case-insensitive).
    #[arg(long, value_name = "PT")]
    pub event: String,
    /// First quarter of surveillance (of FDA receipt, fda_dt), e.g. 2023Q1.
    #[arg(long, value_name = "YYYYQN")]
    pub start: String,
    /// Probability of a false alarm over the whole surveillance (type I error).
    #[arg(long, default_value_t = 0.05)]
    pub alpha: f64,
    /// Upper limit on the surveillance, as the cumulative expected count T at which it ends
    /// without a signal. Default: the cumulative expected count of the quarters in the store.
    #[arg(long, value_name = "T")]
    pub max_expected: Option<f64>,
    /// Events needed before a signal may be raised (Kulldorff & Silva 2015 suggest 4 when looks
    /// are frequent).
    #[arg(long, default_value_t = 1, value_name = "K")]
    pub min_events: u64,
    /// The critical value's design: `quarterly` (group-sequential, one look per quarter, exact for
    /// those looks) or `continuous` (the continuous-monitoring value, applied at quarter ends: valid
    /// but conservative when the data are only looked at quarterly).
    #[arg(long, value_enum, default_value_t = Looks::Quarterly)]
    pub looks: Looks,
    /// Drug roles counted as exposure: `ps`, `suspect` (PS + SS), `ps,ss,i` (suspect or interacting), `all`.
    #[arg(long, default_value = "suspect", value_name = "ps|suspect|ps,ss,i|all")]
    pub role: String,
    /// Columns of the reports table whose combined values define strata for the expected count.
    #[arg(long, value_delimiter = ',', value_name = "COL,...")]
    pub stratify: Vec<String>,
    /// Only reports with this indication (MedDRA PT, case-insensitive).
    #[arg(long, value_name = "PT")]
    pub indication: Option<String>,
    /// Leave out every report with one of these drugs (competition-bias control).
    #[arg(long, value_delimiter = ',', num_args = 1.., value_name = "NAME,...")]
    pub exclude_drug: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Output file (default, or `-`: standard output).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `--looks`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Looks {
    /// Continuous-monitoring critical value.
    Continuous,
    /// Group-sequential critical value for one look per quarter.
    Quarterly,
}

/// `--format`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Aligned text with a summary line.
    Table,
    /// CSV, one row per quarter.
    Csv,
    /// JSON: the design and one object per quarter.
    Json,
}

/// One quarter of the monitoring.
#[derive(Debug, Clone, serde::Serialize)]
pub struct QuarterRow {
    /// The quarter (YYYYQN).
    pub quarter: String,
    /// Reports of the pair received this quarter.
    pub observed: u64,
    /// Expected reports this quarter.
    pub expected: f64,
    /// Cumulative observed count from --start.
    pub cum_observed: u64,
    /// Cumulative expected count from --start.
    pub cum_expected: f64,
    /// LLR of the cumulative counts.
    pub llr: f64,
    /// LLR ≥ cv with at least --min-events events.
    pub signal: bool,
}

/// The result of `vigil sequential`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Monitoring {
    /// Drug, as normalised.
    pub drug: String,
    /// Event, as normalised.
    pub event: String,
    /// `quarterly` or `continuous`.
    pub looks: String,
    /// Type I error.
    pub alpha: f64,
    /// Upper limit T on the cumulative expected count.
    pub max_expected: f64,
    /// Minimum events before a signal.
    pub min_events: u64,
    /// The critical value on the LLR scale.
    pub critical_value: f64,
    /// The exact size of the test with that critical value (≤ alpha; quarterly looks are discrete).
    pub attained_alpha: Option<f64>,
    /// The planned cumulative expected counts of the looks (quarterly design), including planned
    /// future looks when T lies beyond the data.
    pub planned_looks: Vec<f64>,
    /// The quarters evaluated, from --start to the end of surveillance or of the data.
    pub quarters: Vec<QuarterRow>,
    /// The first quarter with a signal.
    pub signal_quarter: Option<String>,
    /// Reports without a month in fda_dt (not placed in a quarter).
    pub undated_reports: u64,
}

/// Expected reports of the pair in one quarter: per stratum, the drug's reports times the event's
/// share among the other reports of that stratum and quarter, summed over strata.
///
/// # Formula
/// E_q = Σ_s n_drug,q,s · c_q,s / (n_q,s − n_drug,q,s), with c the reports of the event without the
/// drug: the comparator rate of the PRR (Evans et al. 2001), so that a real signal does not raise
/// its own expected count. Strata with no report outside the drug contribute nothing.
pub fn quarter_expected(strata: &[StratumCounts]) -> f64 {
    strata
        .iter()
        .filter(|s| s.reports > s.drug_reports)
        .map(|s| {
            s.drug_reports as f64 * (s.event_reports - s.pair_reports) as f64
                / (s.reports - s.drug_reports) as f64
        })
        .sum()
}

/// Runs the monitoring and returns its result.
pub fn compute(args: &Args) -> Result<Monitoring> {
    let store = Store::open(&args.store)
        .with_context(|| format!("{}: reading the store", args.store.display()))?;
    compute_from(&store, args)
}

/// As [`compute`], on the store already opened at `args.store` (the evidence report's handle).
pub fn compute_from(store: &Store, args: &Args) -> Result<Monitoring> {
    let start = YearQuarter::parse(&args.start).with_context(|| {
        format!(
            "--start {:?}: expected a quarter as YYYYQN, e.g. 2023Q1",
            args.start
        )
    })?;
    if !(args.alpha > 0.0 && args.alpha <= 0.5) {
        bail!("--alpha {}: must be in (0, 0.5]", args.alpha);
    }
    let counts = pair_counts(store, args)?;
    let quarters = quarters_from(&counts, start, args)?;
    let data_expected: f64 = quarters.iter().map(|q| q.expected).sum();
    if data_expected <= 0.0 {
        bail!(
            "{}: {} has no expected count for {} from {start} on (no report of the drug, or the event never reported without it)",
            args.store.display(),
            normalise_name(&args.drug).unwrap_or_default(),
            normalise_name(&args.event).unwrap_or_default()
        );
    }
    let max_expected = args.max_expected.unwrap_or(data_expected);
    if !(max_expected.is_finite() && max_expected > 0.0) {
        bail!("--max-expected {max_expected}: must be a number > 0");
    }
    let plan = plan_looks(&quarters, data_expected, max_expected);
    let (critical_value, attained_alpha) = critical_value(args, &plan.planned, max_expected)?;
    let rows = evaluate_quarters(&quarters[..plan.evaluated], args.min_events, critical_value);
    Ok(Monitoring {
        drug: normalise_name(&args.drug).unwrap_or_default(),
        event: normalise_name(&args.event).unwrap_or_default(),
        looks: match args.looks {
            Looks::Quarterly => "quarterly".into(),
            Looks::Continuous => "continuous".into(),
        },
        alpha: args.alpha,
        max_expected,
        min_events: args.min_events,
        critical_value,
        attained_alpha,
        planned_looks: plan.planned,
        signal_quarter: rows.iter().find(|r| r.signal).map(|r| r.quarter.clone()),
        quarters: rows,
        undated_reports: counts.undated,
    })
}

/// The pair's counts per quarter and stratum under the options' roles and restrictions; an
/// unknown drug or event is an error listing the store's nearest names.
fn pair_counts(store: &Store, args: &Args) -> Result<QuarterlyCounts> {
    let role = args.role.parse::<Role>().map_err(anyhow::Error::msg)?;
    let query = ReportQuery {
        role,
        stratify: args.stratify.clone(),
        indication: args.indication.clone(),
        exclude_drugs: args.exclude_drug.clone(),
        ..Default::default()
    };
    let counts = quarterly_counts_from(store, &query, &args.drug, &args.event)
        .with_context(|| format!("{}: reading the store", args.store.display()))?;
    if !counts.drug_found || !counts.event_found {
        let (drugs, events) = vigil_store::onset::store_names(&args.store, role)
            .with_context(|| format!("{}: reading the store", args.store.display()))?;
        let (what, given, names) = if counts.drug_found {
            ("event", &args.event, events)
        } else {
            ("drug", &args.drug, drugs)
        };
        bail!(
            "{}",
            super::signals::not_found(
                &args.store.display().to_string(),
                what,
                given,
                names.iter().map(String::as_str),
                true
            )
        );
    }
    Ok(counts)
}

/// One quarter's observed and expected reports of the pair.
struct QuarterCount {
    quarter: YearQuarter,
    observed: u64,
    expected: f64,
}

/// Every quarter from `start` to the last in the store (a quarter without reports counts 0).
fn quarters_from(
    counts: &QuarterlyCounts,
    start: YearQuarter,
    args: &Args,
) -> Result<Vec<QuarterCount>> {
    let Some((&last, _)) = counts.quarters.last_key_value() else {
        bail!(
            "{}: no report has a receipt date (fda_dt)",
            args.store.display()
        );
    };
    if start > last {
        bail!("--start {start}: after the last quarter in the store ({last})");
    }
    let mut quarters = Vec::new();
    let mut q = start;
    while q <= last {
        let strata = counts.quarters.get(&q);
        quarters.push(QuarterCount {
            quarter: q,
            observed: strata.map_or(0, |s| s.iter().map(|c| c.pair_reports).sum()),
            expected: strata.map_or(0.0, |s| quarter_expected(s)),
        });
        q = q.next();
    }
    Ok(quarters)
}

/// The looks of the design and how many quarters of the data they cover.
struct LookPlan {
    /// Planned cumulative expected counts, ending at T.
    planned: Vec<f64>,
    /// Quarters of the data evaluated (up to the first whose cumulative expected count reaches T).
    evaluated: usize,
}

/// Looks of the design: the quarters' cumulative expected counts up to the first that reaches
/// T (`max_expected`); when the data end before T, further looks at the data's mean quarterly
/// expected count, the last capped at T. Quarters adding no expected count add no look.
fn plan_looks(quarters: &[QuarterCount], data_expected: f64, max_expected: f64) -> LookPlan {
    let mut planned = Vec::new();
    let mut evaluated = 0;
    let mut cum = 0.0;
    for (i, q) in quarters.iter().enumerate() {
        evaluated = i + 1;
        if q.expected > 0.0 {
            cum += q.expected;
            planned.push(cum);
        }
        if cum >= max_expected {
            break;
        }
    }
    if cum < max_expected {
        let step = data_expected / quarters.iter().filter(|q| q.expected > 0.0).count() as f64;
        while cum < max_expected {
            cum = (cum + step).min(max_expected);
            planned.push(cum);
        }
    }
    LookPlan { planned, evaluated }
}

/// The critical value of `--looks` on the LLR scale, with the exact size of the quarterly design.
fn critical_value(args: &Args, planned: &[f64], max_expected: f64) -> Result<(f64, Option<f64>)> {
    Ok(match args.looks {
        Looks::Quarterly => {
            let g = group_critical_value(planned, args.min_events, args.alpha)
                .context("computing the critical value")?;
            (g.cv, Some(g.attained_alpha))
        }
        Looks::Continuous => (
            continuous_critical_value(max_expected, args.min_events, args.alpha)
                .context("computing the critical value")?,
            None,
        ),
    })
}

/// The LLR of the cumulative counts at each quarter, and whether it signals.
fn evaluate_quarters(
    shown: &[QuarterCount],
    min_events: u64,
    critical_value: f64,
) -> Vec<QuarterRow> {
    let cum_expected: Vec<f64> = shown
        .iter()
        .scan(0.0, |s, q| {
            *s += q.expected;
            Some(*s)
        })
        .collect();
    let cum_observed: Vec<u64> = shown
        .iter()
        .scan(0u64, |s, q| {
            *s += q.observed;
            Some(*s)
        })
        .collect();
    let looks: Vec<LookResult> =
        evaluate_looks(&cum_expected, &cum_observed, min_events, critical_value);
    shown
        .iter()
        .zip(&looks)
        .map(|(q, l)| QuarterRow {
            quarter: q.quarter.to_string(),
            observed: q.observed,
            expected: q.expected,
            cum_observed: l.observed,
            cum_expected: l.expected,
            llr: l.llr,
            signal: l.signal,
        })
        .collect()
}

/// Runs `vigil sequential`.
pub fn run(args: Args) -> Result<()> {
    let m = compute(&args)?;
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&m)? + "\n",
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record([
                "quarter",
                "observed",
                "expected",
                "cum_observed",
                "cum_expected",
                "llr",
                "critical_value",
                "signal",
            ])?;
            for r in &m.quarters {
                w.write_record([
                    r.quarter.clone(),
                    r.observed.to_string(),
                    format!("{}", r.expected),
                    r.cum_observed.to_string(),
                    format!("{}", r.cum_expected),
                    format!("{}", r.llr),
                    format!("{}", m.critical_value),
                    r.signal.to_string(),
                ])?;
            }
            String::from_utf8(w.into_inner().map_err(|e| e.into_error())?)?
        }
        Format::Table => render(&m),
    };
    crate::output::write_atomically(args.out.as_deref(), text.as_bytes())
}

fn render(m: &Monitoring) -> String {
    let mut s = format!(
        "Poisson MaxSPRT: {} → {}, {} looks, alpha {}, surveillance to a cumulative expected count of {:.3}, at least {} event(s)\n",
        m.drug, m.event, m.looks, m.alpha, m.max_expected, m.min_events
    );
    s += &format!("critical value (LLR): {:.6}", m.critical_value);
    if let Some(a) = m.attained_alpha {
        s += &format!(
            " (exact size {a:.5} over {} planned looks)",
            m.planned_looks.len()
        );
    }
    s += "\n\n";
    s += &format!(
        "{:<8}  {:>8}  {:>9}  {:>8}  {:>9}  {:>8}  signal\n",
        "quarter", "observed", "expected", "cum_obs", "cum_exp", "llr"
    );
    for r in &m.quarters {
        s += &format!(
            "{:<8}  {:>8}  {:>9.3}  {:>8}  {:>9.3}  {:>8.3}  {}\n",
            r.quarter,
            r.observed,
            r.expected,
            r.cum_observed,
            r.cum_expected,
            r.llr,
            if r.signal { "SIGNAL" } else { "" }
        );
    }
    s += "\n";
    match &m.signal_quarter {
        Some(q) => s += &format!("signal raised at {q}: the LLR reached the critical value\n"),
        None => {
            let last = m.quarters.last().map_or(0.0, |r| r.cum_expected);
            s += &format!(
                "no signal: cumulative expected count {last:.3} of {:.3}{}\n",
                m.max_expected,
                if last >= m.max_expected {
                    " (surveillance ended)"
                } else {
                    " (surveillance goes on)"
                }
            );
        }
    }
    if m.undated_reports > 0 {
        s += &format!(
            "{} reports without a month in fda_dt are not placed in any quarter\n",
            m.undated_reports
        );
    }
    s
}
