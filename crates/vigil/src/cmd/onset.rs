//! `vigil onset`: time to onset of one drug–event pair from a store.

use std::path::PathBuf;

use anyhow::{Context, Result};
use vigil_clinic::date::PartialDate;
use vigil_clinic::onset::{analyse, histogram_svg, OnsetAnalysis, OnsetOptions, OnsetPair};
use vigil_store::onset::{load_onset_dates_from, store_names_from};
use vigil_store::read::{Role, Store};
use vigil_store::reports::normalise_name;
use vigil_store::request::SignalsRequest;

use crate::args::RoleArg;
use crate::output::{print, write_atomically};

/// Time to onset of one drug–event pair: onset days (therapy start to event date, exact dates
/// only), median and IQR, the Weibull shape and scale with 95 % CIs, and the early-failure /
/// random / wear-out reading of the shape.
///
/// Examples:
///   vigil onset --store faers-store --drug DUPILUMAB --event CONJUNCTIVITIS
///   vigil onset --store faers-store --drug DUPILUMAB --event PSORIASIS --svg psoriasis-onset.svg --format json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A store written by `vigil ingest`.
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// Drug (normalised active ingredient, case-insensitive).
    #[arg(long, value_name = "NAME")]
    pub drug: String,
    /// Event (MedDRA PT, case-insensitive).
    #[arg(long, value_name = "PT")]
    pub event: String,
    /// Drug roles counted: ps, suspect (PS + SS) or all.
    #[arg(long, value_enum, ignore_case = true, value_name = "ps|suspect|ps,ss,i|all",
          default_value_t = RoleArg::from(SignalsRequest::default().query.role))]
    pub role: RoleArg,
    /// Longest plausible onset in days; longer intervals are rejected and counted. The default
    /// rejects only intervals longer than a century (impossible dates); set it to the days since
    /// the drug's first approval for a tighter check.
    #[arg(long, default_value_t = 36_500, value_name = "DAYS")]
    pub max_days: i64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OnsetFormat::Text, value_name = "text|json")]
    pub format: OnsetFormat,
    /// Also write a histogram of onset days (SVG).
    #[arg(long, value_name = "FILE.svg")]
    pub svg: Option<PathBuf>,
}

/// `--format` of `vigil onset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OnsetFormat {
    /// A short text summary.
    Text,
    /// The whole analysis as JSON.
    Json,
}

/// The analysis of one pair from a store.
pub fn onset_from_store(
    store: &Store,
    drug: &str,
    event: &str,
    role: RoleArg,
    max_days: i64,
) -> Result<OnsetAnalysis> {
    let dates = load_onset_dates_from(store, drug, event, role.into())
        .with_context(|| format!("{}: reading the store", store.root().display()))?;
    let parse = |d: &Option<String>| d.as_deref().and_then(|t| PartialDate::parse_hl7(t).ok());
    let pairs = dates.iter().map(|d| OnsetPair {
        start: parse(&d.start_dt),
        event: parse(&d.event_dt),
    });
    // 95 % intervals; a same-day onset enters the Weibull fit as 0.5 day (clinical.md §2.2, see
    // `OnsetOptions::zero_day`).
    Ok(analyse(
        pairs,
        &OnsetOptions {
            max_days,
            level: 0.95,
            zero_day: 0.5,
        },
    ))
}

/// Runs `vigil onset`.
pub fn run(args: Args) -> Result<()> {
    let store = Store::open(&args.store)
        .with_context(|| format!("{}: reading the store", args.store.display()))?;
    let a = onset_from_store(&store, &args.drug, &args.event, args.role, args.max_days)?;
    if a.counts.input == 0 {
        // No report has both: say which name is absent from the store, with the nearest ones.
        let (drugs, events) = store_names_from(&store, Role::from(args.role))
            .with_context(|| format!("{}: reading the store", args.store.display()))?;
        let source = args.store.display().to_string();
        for (what, given, names) in [
            ("drug", &args.drug, &drugs),
            ("event", &args.event, &events),
        ] {
            let wanted = normalise_name(given).unwrap_or_default();
            if names.binary_search(&wanted).is_err() {
                anyhow::bail!(
                    "{}",
                    super::signals::not_found(
                        &source,
                        what,
                        given,
                        names.iter().map(String::as_str),
                        what == "drug"
                    )
                );
            }
        }
    }
    if let Some(path) = &args.svg {
        let svg = histogram_svg(
            &a.days,
            7,
            &format!(
                "{} → {}: days from therapy start to event",
                args.drug.to_uppercase(),
                args.event.to_uppercase()
            ),
        );
        write_atomically(Some(path), svg.as_bytes())?;
    }
    match args.format {
        OnsetFormat::Json => print(&(serde_json::to_string_pretty(&a)? + "\n")),
        OnsetFormat::Text => print(&render_text(&args.drug, &args.event, &a)),
    }
}

/// The plain-text summary.
pub fn render_text(drug: &str, event: &str, a: &OnsetAnalysis) -> String {
    let c = &a.counts;
    let mut s = format!(
        "Time to onset: {} → {}\n",
        drug.to_uppercase(),
        event.to_uppercase()
    );
    s += &format!(
        "reports {}: used {}, rejected: {} missing a date, {} partial date, {} event before start, {} longer than {} days\n",
        c.input, c.used, c.missing_date, c.partial_date, c.negative, c.implausible, a.max_days
    );
    if let (Some(m), Some(q1), Some(q3)) = (a.median, a.q1, a.q3) {
        s += &format!(
            "median {m:.0} days (IQR {q1:.0}–{q3:.0}); same-day onsets {}\n",
            c.same_day
        );
    }
    match (&a.weibull, &a.weibull_error) {
        (Some(w), _) => {
            s += &format!(
                "Weibull shape {:.3} ({:.3}–{:.3}), scale {:.1} days ({:.1}–{:.1}); {}: {}\n",
                w.shape,
                w.shape_ci.0,
                w.shape_ci.1,
                w.scale,
                w.scale_ci.0,
                w.scale_ci.1,
                w.interval_method,
                w.reading.label()
            );
        }
        (None, Some(e)) => s += &format!("no Weibull fit: {e}\n"),
        _ => {}
    }
    s += &format!("{}\n", a.caveat);
    s
}
