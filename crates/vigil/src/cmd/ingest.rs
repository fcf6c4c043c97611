//! `vigil ingest`: FAERS/AERS quarterly files or openFDA drug-event JSON into a store.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use vigil_faers::discover::{find_faers_inputs, find_openfda_inputs};
use vigil_faers::ingest::{IngestOptions, IngestOutcome};
use vigil_faers::FaersError;

/// Arguments of `vigil ingest`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    #[command(subcommand)]
    source: Source,
}

#[derive(Subcommand, Debug)]
enum Source {
    /// FAERS (2012Q4+) and legacy AERS (2004–2012Q3) quarterly ASCII files: zips
    /// (faers_ascii_2024Q3.zip, aers_ascii_2010q1.zip), extracted folders, or folders of them.
    Faers(SourceArgs),
    /// openFDA drug-event bulk JSON files (drug-event-0001-of-0005.json, plain or zipped).
    Openfda(SourceArgs),
    /// ICH E2B(R3) ICSR XML files (as `vigil assess --export-e2b` and `vigil serve` write them), or
    /// folders of *.xml: the monitored cases join the post-marketing store.
    E2b(SourceArgs),
}

#[derive(ClapArgs, Debug)]
struct SourceArgs {
    /// Input zips, folders (searched at any depth) or files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The store directory (created if missing; an existing store is updated).
    #[arg(long)]
    store: PathBuf,
    /// Extra brand → ingredient dictionary, CSV with columns brand,ingredient[,source].
    #[arg(long = "drug-dictionary")]
    drug_dictionary: Vec<PathBuf>,
    /// Do not draw progress bars.
    #[arg(long)]
    quiet: bool,
}

fn progress_bar(total: u64, quiet: bool) -> Option<ProgressBar> {
    if quiet {
        return None;
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} ingest [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    // Drawn only when the ingest lasts more than a second (short runs stay quiet).
    pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    let shown = pb.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        if !shown.is_finished() {
            shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    });
    Some(pb)
}

/// Runs `vigil ingest`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (kind, a) = match args.source {
        Source::Faers(a) => ("faers", a),
        Source::Openfda(a) => ("openfda", a),
        Source::E2b(a) => return ingest_e2b(a),
    };
    let inputs = if kind == "faers" {
        find_faers_inputs(&a.paths)?
    } else {
        find_openfda_inputs(&a.paths)?
    };
    let total: u64 = inputs.iter().map(|f| f.bytes).sum();
    let pb = progress_bar(total, a.quiet);
    let progress: Option<Arc<dyn Fn(u64) + Send + Sync>> = pb
        .clone()
        .map(|pb| Arc::new(move |n: u64| pb.inc(n)) as Arc<dyn Fn(u64) + Send + Sync>);
    let opts = IngestOptions {
        dictionary_files: a.drug_dictionary.clone(),
        progress,
        learning_rule: None,
    };
    let outcome: IngestOutcome = if kind == "faers" {
        vigil_faers::ingest::ingest_faers(&a.paths, &a.store, &opts)
    } else {
        vigil_faers::openfda::ingest_openfda(&a.paths, &a.store, &opts)
    }
    .map_err(|e| located_first(e, &a.store))?;
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    print_summary(&outcome);
    Ok(())
}

/// An error about a place in an input file keeps that place first (`FILE: line N, field F: …`,
/// the error shape of every command); other errors say which store the ingest was for.
fn located_first(e: FaersError, store: &std::path::Path) -> anyhow::Error {
    match e {
        e @ FaersError::Located { .. } => anyhow::Error::new(e),
        e => anyhow::Error::new(e).context(format!("ingesting into {}", store.display())),
    }
}

fn print_summary(o: &IngestOutcome) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) must not turn a finished ingest into a crash.
    macro_rules! say { ($($t:tt)*) => { let _ = writeln!(out, $($t)*); } }
    let r = &o.report;
    let mb = o.bytes as f64 / 1e6;
    say!(
        "ingested {} files ({:.1} MB) in {:.2} s ({:.0} MB/s) into {}",
        r.files.len(),
        mb,
        r.seconds,
        if r.seconds > 0.0 { mb / r.seconds } else { 0.0 },
        o.version_dir.display()
    );
    say!(
        "{:<8} {:>12} {:>12} {:>10} {:>12}",
        "table",
        "read",
        "kept",
        "rejected",
        "deduplicated"
    );
    for (t, c) in &r.tables {
        say!(
            "{:<8} {:>12} {:>12} {:>10} {:>12}",
            t,
            c.read,
            c.kept,
            c.rejected,
            c.deduplicated_total()
        );
    }
    for (t, c) in &r.tables {
        for (rule, n) in &c.deduplicated {
            say!("  {t}: {n} removed by rule: {rule}");
        }
        for (reason, n) in &c.rejected_by_reason {
            say!("  {t}: {n} rejected: {reason}");
        }
    }
    for (rule, n) in &r.stored_reports_removed {
        say!("  stored reports removed: {n} ({rule})");
    }
    say!("reports in store: {}", r.reports_in_store);
    if r.deleted_caseids_in_store > 0 {
        say!(
            "deleted-case lists in store: {} caseids (applied to every ingest, in any order)",
            r.deleted_caseids_in_store
        );
    }
    if !r.less_complete_resends.is_empty() {
        say!(
            "WARNING: {} stored case versions were re-sent with fewer drug or reaction rows; the stored copies were kept (first: {}); see ingest_report.json",
            r.tables.get("demo").and_then(|c| c.deduplicated.get(vigil_faers::ingest::rules::LESS_COMPLETE)).copied().unwrap_or(r.less_complete_resends.len() as u64),
            r.less_complete_resends[0]
        );
    }
    if r.learned_drug_names > 0 {
        say!(
            "drug names learned from rows with prod_ai: {} ({} rows mapped through them; {} ambiguous names left unmapped); see learned_drug_names.parquet",
            r.learned_drug_names,
            r.drug_name_sources.get("learned_from_prod_ai").copied().unwrap_or(0),
            r.ambiguous_drug_names.len()
        );
    }
    if r.stored_drug_rows_remapped > 0 {
        say!(
            "stored drug rows of earlier ingests remapped to the names learned now: {} rows under {} names",
            r.stored_drug_rows_remapped,
            r.stored_drug_names_remapped
        );
    }
    if !r.unmapped_drug_names.is_empty() {
        say!(
            "drug names not mapped to an ingredient (kept verbatim): {} rows, {} distinct names listed (top: {}); see ingest_report.json",
            r.drug_name_sources.get("cleaned_name_unmapped").copied().unwrap_or(0),
            r.unmapped_drug_names.len(),
            r.unmapped_drug_names
                .iter()
                .take(5)
                .map(|(n, c)| format!("{n} ×{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let unbalanced = r.unbalanced_tables();
    if !unbalanced.is_empty() {
        say!("WARNING: row accounting does not balance for {unbalanced:?}");
    }
}

/// `vigil ingest e2b`: each ICSR is read by vigil-clinic's E2B(R3) reader, written as one
/// openFDA-shaped JSON report (openFDA's drug-event schema is E2B's, field for field) in a temporary
/// folder, and ingested by the openFDA path, so de-duplication, drug-name normalisation, the ingest
/// report and the atomic store update are the same code.
///
/// The mapping, and the caseid made from C.1.1, are `vigil_clinic::e2b::openfda`'s.
fn ingest_e2b(a: SourceArgs) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for p in &a.paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("{}: cannot list", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml")))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    anyhow::ensure!(
        !files.is_empty(),
        "no E2B(R3) XML files (*.xml) found under {}",
        a.paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let staging = std::env::temp_dir().join(format!("vigil-e2b-{}", std::process::id()));
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("{}: cannot create", staging.display()))?;
    let result = (|| -> anyhow::Result<IngestOutcome> {
        for (k, f) in files.iter().enumerate() {
            let case = vigil_clinic::read_case_file(f)?;
            let json = vigil_clinic::e2b::openfda::case_as_openfda(&case);
            // The quarter of the receipt date goes into the name, as in FDA file names.
            let quarter = case
                .received
                .map(|d| {
                    format!(
                        "-{}Q{}",
                        d.year(),
                        d.exact()
                            .map_or(1, |x| (chrono::Datelike::month(&x) - 1) / 3 + 1)
                    )
                })
                .unwrap_or_default();
            let stem = f
                .file_stem()
                .map_or_else(|| format!("case{k}"), |s| s.to_string_lossy().into_owned());
            let out = staging.join(format!("{k:05}-{stem}{quarter}.json"));
            std::fs::write(&out, serde_json::to_vec(&json)?)
                .with_context(|| format!("{}: cannot write", out.display()))?;
        }
        let opts = IngestOptions {
            dictionary_files: a.drug_dictionary.clone(),
            progress: None,
            learning_rule: None,
        };
        Ok(vigil_faers::openfda::ingest_openfda(
            std::slice::from_ref(&staging),
            &a.store,
            &opts,
        )?)
    })();
    let _ = std::fs::remove_dir_all(&staging);
    let outcome = result.with_context(|| format!("ingesting into {}", a.store.display()))?;
    print_summary(&outcome);
    Ok(())
}
