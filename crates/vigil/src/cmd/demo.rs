//! `vigil demo`: the main job end to end on bundled, seeded synthetic data.
//!
//! Synthetic FAERS-format quarters (planted dupilumab associations, labelled synthetic) →
//! `ingest` into a store → `signals` for dupilumab and the reactions the dupilumab articles
//! discuss, the bundled (sourced) trial meta-analysis, one example case assessed → the evidence
//! report (`vigil report`), a short summary on the terminal and the files in the output folder.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use vigil_clinic::knowledge::dupilumab;
use vigil_faers::ingest::IngestOutcome;
use vigil_stats::mgps::fit::PriorFit;

use vigil_store::read::Store;
use vigil_store::request::SignalsRequest;

use super::report::ReportFormat;
use super::signals::{self, ScoredTable, Source};
use crate::args::RoleArg;
use crate::output::{with_output, write_atomically};

/// Run the main job on bundled synthetic data: synth → ingest → signals for dupilumab.
///
/// Example:
///   cargo run --release -- demo
///   vigil demo --out /tmp/vigil-demo --reports 50000
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Output folder (created; an earlier demo's files in it are replaced).
    #[arg(long, default_value = "vigil-demo")]
    pub out: PathBuf,
    /// Number of synthetic cases.
    #[arg(long, default_value_t = 20_000)]
    pub reports: usize,
    /// Seed of the synthetic data (the same seed gives the same data and the same numbers).
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}

/// The sourced dupilumab-vs-placebo trial rows (every row cites its source), bundled so the demo
/// runs from any folder.
const TRIALS_CSV: &str = include_str!("../../../../examples/trials/dupilumab_infections.csv");
/// The example case of facial redness three months into dupilumab.
const EXAMPLE_CASE: &str =
    include_str!("../../../../examples/cases/facial-redness-interval-extension.json");

/// A step of the demo, with a spinner that appears only if the step lasts more than a second.
fn step<T>(label: &str, work: impl FnOnce() -> Result<T>) -> Result<T> {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(label.to_owned());
    pb.set_draw_target(ProgressDrawTarget::hidden());
    let shown = pb.clone();
    let started = Instant::now();
    let ticker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        if !shown.is_finished() {
            shown.set_draw_target(ProgressDrawTarget::stderr());
            shown.enable_steady_tick(Duration::from_millis(120));
        }
    });
    let result = work();
    pb.finish_and_clear();
    drop(ticker);
    eprintln!("  {label}: {:.1} s", started.elapsed().as_secs_f64());
    result
}

/// Where the demo writes, all inside `--out`.
struct DemoPaths {
    /// The synthetic FAERS quarters (replaced on each run).
    quarters: PathBuf,
    /// The store ingested from them.
    store: PathBuf,
    /// Every dupilumab pair scored, as CSV.
    all_csv: PathBuf,
    /// The bundled trial rows.
    trials: PathBuf,
    /// The bundled example case.
    case_json: PathBuf,
    /// Its assessment as `vigil assess` prints it.
    case_txt: PathBuf,
}

impl DemoPaths {
    fn new(out: &Path) -> Self {
        Self {
            quarters: out.join("faers-synthetic"),
            store: out.join("store"),
            all_csv: out.join("signals-dupilumab.csv"),
            trials: out.join("dupilumab_infections.csv"),
            case_json: out.join("example-case.json"),
            case_txt: out.join("example-case-assessment.txt"),
        }
    }
}

/// Runs `vigil demo`.
pub fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let paths = DemoPaths::new(&args.out);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    if paths.quarters.exists() {
        std::fs::remove_dir_all(&paths.quarters)
            .with_context(|| format!("{}: cannot replace", paths.quarters.display()))?;
    }
    eprintln!("vigil demo: SYNTHETIC data (seed {}), not real FAERS reports; see README for real quarters", args.seed);

    let outcome = synth_and_ingest(&args, &paths)?;
    let opened = Store::open(&paths.store)
        .with_context(|| format!("{}: opening the store", paths.store.display()))?;
    // The fit always uses every pair; the output keeps dupilumab's.
    let (fit, selection) = step(
        "counting, fitting the MGPS prior and scoring every pair",
        || {
            let request = SignalsRequest {
                drug: Some("DUPILUMAB".into()),
                ..SignalsRequest::default()
            };
            signals::compute(Source::Store(&opened), &request)
        },
    )?;
    with_output(Some(&paths.all_csv), |w| {
        crate::signal_table::write_csv(&selection, w)
    })?;
    print_signals(&outcome, &fit, &selection.score_all());

    // The trials and the example case, then the evidence report that puts everything together.
    write_trials_and_case(&paths)?;
    let report = step(
        "writing the evidence report (signals, trials, onset, clinical sources, the case)",
        || super::report::write_report_from(&opened, &report_args(&args, &paths)),
    )?;
    print_trials(&paths.trials)?;
    print_files(&paths, &report);
    println!("Done in {:.1} s.", started.elapsed().as_secs_f64());
    Ok(())
}

/// Writes the seeded synthetic quarters and ingests them into the demo's store.
fn synth_and_ingest(args: &Args, paths: &DemoPaths) -> Result<IngestOutcome> {
    step("writing synthetic FAERS quarters", || {
        let cfg = vigil_faers::synth::SynthConfig {
            reports: args.reports,
            seed: args.seed,
            ..Default::default()
        };
        vigil_faers::synth::write_synth(&cfg, &paths.quarters)?;
        Ok(())
    })?;
    step("ingesting into the store", || {
        let opts = vigil_faers::ingest::IngestOptions::default();
        vigil_faers::ingest::ingest_faers(
            std::slice::from_ref(&paths.quarters),
            &paths.store,
            &opts,
        )
        .context("ingest")
    })
}

/// The terminal summary of the signals: store size, the prior, one line per reaction of interest.
fn print_signals(outcome: &IngestOutcome, fit: &PriorFit, dupi_table: &ScoredTable) {
    println!();
    println!("Can dupilumab cause these reactions? Post-marketing signals (SYNTHETIC demo data)");
    println!(
        "{} reports in the store, {} drug–event pairs; MGPS prior fitted exactly on all of them (−log-likelihood {:.3}{})",
        outcome.report.reports_in_store,
        fit.n_points,
        fit.neg_log_lik,
        if fit.at_bound.is_empty() { String::new() } else { format!("; on the bound of {}", fit.at_bound.join(", ")) }
    );
    println!();
    println!(
        "{:<20} {:>6} {:>9} {:>7} {:>7} {:>7} {:>7}  signal by",
        "reaction", "a", "expected", "PRR", "IC025", "EBGM", "EB05"
    );
    for reaction in dupilumab::REACTIONS_OF_INTEREST {
        let row = (0..dupi_table.scores.len())
            .find(|&i| dupi_table.event[i].eq_ignore_ascii_case(reaction));
        match row {
            Some(i) => {
                let s = &dupi_table.scores[i];
                let by = s.signals();
                println!(
                    "{:<20} {:>6} {:>9.2} {:>7.2} {:>7.2} {:>7.2} {:>7.2}  {}",
                    reaction,
                    s.table.a,
                    s.expected,
                    s.prr,
                    s.ic025,
                    s.ebgm,
                    s.eb05,
                    if by.is_empty() {
                        "none".to_owned()
                    } else {
                        by.join(", ")
                    }
                );
            }
            None => println!("{reaction:<20} {:>6}  (no report with dupilumab)", 0),
        }
    }
}

/// Writes the bundled trial rows and example case into the output folder, and the case's
/// assessment as `vigil assess` prints it.
fn write_trials_and_case(paths: &DemoPaths) -> Result<()> {
    write_atomically(Some(&paths.trials), TRIALS_CSV.as_bytes())?;
    write_atomically(Some(&paths.case_json), EXAMPLE_CASE.as_bytes())?;
    let case = vigil_clinic::case::Case::from_json_str(
        EXAMPLE_CASE,
        "examples/cases/facial-redness-interval-extension.json",
    )?;
    let assessment = vigil_clinic::assess(&case)?;
    write_atomically(
        Some(&paths.case_txt),
        super::assess::render_text(&assessment).as_bytes(),
    )
}

/// The demo's `vigil report` request: dupilumab with the trials, the psoriasis biologics left out
/// (competition bias) and the example case.
fn report_args(args: &Args, paths: &DemoPaths) -> super::report::Args {
    super::report::Args {
        store: paths.store.clone(),
        drug: "DUPILUMAB".into(),
        events: vec![],
        trials: Some(paths.trials.clone()),
        indication: None,
        exclude_drug: vec![
            "USTEKINUMAB".into(),
            "SECUKINUMAB".into(),
            "ADALIMUMAB".into(),
        ],
        case: Some(paths.case_json.clone()),
        role: RoleArg::from(SignalsRequest::default().query.role),
        out: args.out.clone(),
        format: ReportFormat::Html,
        sequential: Default::default(),
        terms: Default::default(),
    }
}

/// The pooled trial estimate beside the published one.
fn print_trials(trials: &Path) -> Result<()> {
    let (pooled, _, _) = super::meta::evidence(trials, &super::meta::evidence_spec())?;
    let rr = |k: &str| pooled[k].as_f64().map_or(f64::NAN, f64::exp);
    println!();
    println!(
        "Trials: dupilumab vs placebo, skin infections (sourced example rows, illustrative): pooled RR {:.2} [{:.2}, {:.2}], random effects (REML), k = {}",
        rr("beta"),
        rr("ci_lb"),
        rr("ci_ub"),
        pooled["k"]
    );
    println!("  Fleming & Drucker 2018 (8 RCTs, 2,706 patients): RR 0.54 [0.42, 0.70]");
    Ok(())
}

/// Where the demo's files are.
fn print_files(paths: &DemoPaths, report: &Path) {
    println!();
    println!(
        "Example case (facial redness three months into dupilumab): {}",
        paths.case_txt.display()
    );
    println!(
        "Planted associations (ground truth of the synthetic data): {}",
        synth_planted(&paths.quarters).display()
    );
    println!("All dupilumab pairs: {}", paths.all_csv.display());
    println!(
        "Store: {} (query it: vigil signals --store {} --drug DUPILUMAB)",
        paths.store.display(),
        paths.store.display()
    );
    println!("Evidence report: {}", report.display());
}

fn synth_planted(quarters: &Path) -> PathBuf {
    quarters.join("PLANTED_SIGNALS.tsv")
}
