//! `vigil ingest`: FAERS/AERS quarterly files or openFDA drug-event JSON into a store.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use vigil_faers::discover::{find_faers_inputs, find_openfda_inputs};
use vigil_faers::ingest::{IngestOptions, IngestOutcome};

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
        ProgressStyle::with_template("{spinner} ingest [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
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
    };
    let inputs = if kind == "faers" { find_faers_inputs(&a.paths)? } else { find_openfda_inputs(&a.paths)? };
    let total: u64 = inputs.iter().map(|f| f.bytes).sum();
    let pb = progress_bar(total, a.quiet);
    let progress: Option<Arc<dyn Fn(u64) + Send + Sync>> = pb.clone().map(|pb| Arc::new(move |n: u64| pb.inc(n)) as Arc<dyn Fn(u64) + Send + Sync>);
    let opts = IngestOptions { dictionary_files: a.drug_dictionary.clone(), progress };
    let outcome: IngestOutcome = if kind == "faers" {
        vigil_faers::ingest::ingest_faers(&a.paths, &a.store, &opts)
    } else {
        vigil_faers::openfda::ingest_openfda(&a.paths, &a.store, &opts)
    }
    .with_context(|| format!("ingesting into {}", a.store.display()))?;
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    print_summary(&outcome);
    Ok(())
}

fn print_summary(o: &IngestOutcome) {
    let r = &o.report;
    let mb = o.bytes as f64 / 1e6;
    println!(
        "ingested {} files ({:.1} MB) in {:.2} s ({:.0} MB/s) into {}",
        r.files.len(),
        mb,
        r.seconds,
        if r.seconds > 0.0 { mb / r.seconds } else { 0.0 },
        o.version_dir.display()
    );
    println!("{:<8} {:>12} {:>12} {:>10} {:>12}", "table", "read", "kept", "rejected", "deduplicated");
    for (t, c) in &r.tables {
        println!("{:<8} {:>12} {:>12} {:>10} {:>12}", t, c.read, c.kept, c.rejected, c.deduplicated_total());
    }
    for (t, c) in &r.tables {
        for (rule, n) in &c.deduplicated {
            println!("  {t}: {n} removed by rule: {rule}");
        }
        for (reason, n) in &c.rejected_by_reason {
            println!("  {t}: {n} rejected: {reason}");
        }
    }
    for (rule, n) in &r.stored_reports_removed {
        println!("  stored reports removed: {n} ({rule})");
    }
    println!("reports in store: {}", r.reports_in_store);
    let unmapped: u64 = r.unmapped_drug_names.iter().map(|(_, n)| n).sum();
    if !r.unmapped_drug_names.is_empty() {
        println!(
            "drug names not mapped to an ingredient: {} distinct (top: {}); see ingest_report.json",
            r.unmapped_drug_names.len(),
            r.unmapped_drug_names.iter().take(5).map(|(n, c)| format!("{n} ×{c}")).collect::<Vec<_>>().join(", ")
        );
        let _ = unmapped;
    }
    let unbalanced = r.unbalanced_tables();
    if !unbalanced.is_empty() {
        println!("WARNING: row accounting does not balance for {unbalanced:?}");
    }
}
