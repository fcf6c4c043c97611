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

use vigil_store::read::Store;
use vigil_store::request::SignalsRequest;

use super::report::ReportFormat;
use super::signals::{self, Source};
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

/// Runs `vigil demo`.
pub fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create", args.out.display()))?;
    let quarters = args.out.join("faers-synthetic");
    let store = args.out.join("store");
    if quarters.exists() {
        std::fs::remove_dir_all(&quarters)
            .with_context(|| format!("{}: cannot replace", quarters.display()))?;
    }
    eprintln!("vigil demo: SYNTHETIC data (seed {}), not real FAERS reports; see README for real quarters", args.seed);

    step("writing synthetic FAERS quarters", || {
        let cfg = vigil_faers::synth::SynthConfig {
            reports: args.reports,
            seed: args.seed,
            ..Default::default()
        };
        vigil_faers::synth::write_synth(&cfg, &quarters)?;
        Ok(())
    })?;
    let outcome = step("ingesting into the store", || {
        let opts = vigil_faers::ingest::IngestOptions::default();
        vigil_faers::ingest::ingest_faers(std::slice::from_ref(&quarters), &store, &opts)
            .context("ingest")
    })?;
    // The fit always uses every pair; the output keeps dupilumab's.
    let all_csv = args.out.join("signals-dupilumab.csv");
    let opened =
        Store::open(&store).with_context(|| format!("{}: opening the store", store.display()))?;
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
    with_output(Some(&all_csv), |w| {
        crate::signal_table::write_csv(&selection, w)
    })?;
    let dupi_table = selection.score_all();

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
    // The trials and the example case, then the evidence report that puts everything together.
    let trials = args.out.join("dupilumab_infections.csv");
    write_atomically(Some(&trials), TRIALS_CSV.as_bytes())?;
    let case_json = args.out.join("example-case.json");
    write_atomically(Some(&case_json), EXAMPLE_CASE.as_bytes())?;
    let case = vigil_clinic::case::Case::from_json_str(
        EXAMPLE_CASE,
        "examples/cases/facial-redness-interval-extension.json",
    )?;
    let assessment = vigil_clinic::assess(&case)?;
    let case_txt = args.out.join("example-case-assessment.txt");
    write_atomically(
        Some(&case_txt),
        super::assess::render_text(&assessment).as_bytes(),
    )?;
    let report_args = super::report::Args {
        store: store.clone(),
        drug: "DUPILUMAB".into(),
        events: vec![],
        trials: Some(trials.clone()),
        indication: None,
        exclude_drug: vec![
            "USTEKINUMAB".into(),
            "SECUKINUMAB".into(),
            "ADALIMUMAB".into(),
        ],
        case: Some(case_json.clone()),
        role: RoleArg::from(SignalsRequest::default().query.role),
        out: args.out.clone(),
        format: ReportFormat::Html,
    };
    let report = step(
        "writing the evidence report (signals, trials, onset, clinical sources, the case)",
        || super::report::write_report_from(&opened, &report_args),
    )?;
    let (pooled, _, _) = super::meta::evidence(&trials, &super::meta::evidence_spec())?;
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
    println!();
    println!(
        "Example case (facial redness three months into dupilumab): {}",
        case_txt.display()
    );
    println!(
        "Planted associations (ground truth of the synthetic data): {}",
        synth_planted(&quarters).display()
    );
    println!("All dupilumab pairs: {}", all_csv.display());
    println!(
        "Store: {} (query it: vigil signals --store {} --drug DUPILUMAB)",
        store.display(),
        store.display()
    );
    println!("Evidence report: {}", report.display());
    println!("Done in {:.1} s.", started.elapsed().as_secs_f64());
    Ok(())
}

fn synth_planted(quarters: &Path) -> PathBuf {
    quarters.join("PLANTED_SIGNALS.tsv")
}
