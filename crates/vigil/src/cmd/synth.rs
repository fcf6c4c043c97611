//! `vigil synth`: synthetic FAERS-format quarterly files with planted dupilumab associations.
use std::path::PathBuf;

use clap::Args as ClapArgs;
use vigil_faers::discover::Quarter;
use vigil_faers::synth::{write_synth, SynthConfig};

/// Arguments of `vigil synth`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    /// Number of cases (follow-up versions come on top).
    #[arg(long, default_value_t = 20_000)]
    reports: usize,
    /// Random seed (the same seed writes the same files).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder (one sub-folder per quarter, all marked _SYNTHETIC).
    #[arg(long)]
    out: PathBuf,
    /// Number of quarters, starting at 2023Q1.
    #[arg(long, default_value_t = 8)]
    quarters: usize,
    /// Also plant drug–drug interactions (two drugs whose combination raises an event neither
    /// raises alone) and a single-drug confounder, listed in PLANTED_SIGNALS.tsv.
    #[arg(long)]
    interactions: bool,
    /// Also plant an emerging dupilumab association (Keratitis, relative rate 20) that begins in
    /// this quarter (YYYYQN, within the quarters written): the truth for `vigil sequential`.
    #[arg(long, value_name = "YYYYQN")]
    emerging_from: Option<String>,
}

/// Runs `vigil synth`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let first_quarter = Quarter { year: 2023, q: 1 };
    let emerging_from = match &args.emerging_from {
        None => None,
        Some(text) => {
            let q = vigil_store::quarterly::YearQuarter::parse(text).ok_or_else(|| {
                anyhow::anyhow!(
                    "--emerging-from {text:?}: expected a quarter as YYYYQN, e.g. 2023Q3"
                )
            })?;
            let k = (q.year - i32::from(first_quarter.year)) * 4
                + (q.quarter as i32 - first_quarter.q as i32);
            if k < 0 || k as usize >= args.quarters {
                anyhow::bail!(
                    "--emerging-from {text}: outside the {} quarters written from 2023Q1",
                    args.quarters
                );
            }
            Some(k as usize)
        }
    };
    let cfg = SynthConfig {
        reports: args.reports,
        seed: args.seed,
        quarters: args.quarters,
        first_quarter,
        interactions: args.interactions,
        emerging_from,
        ..SynthConfig::default()
    };
    let started = std::time::Instant::now();
    let s = write_synth(&cfg, &args.out)?;
    println!(
        "wrote SYNTHETIC FAERS-format data to {}: {} quarters, {} cases ({} DEMO rows incl. {} follow-ups, {} deleted, {} with dupilumab), {:.1} MB in {:.2} s",
        args.out.display(),
        s.quarter_dirs.len(),
        args.reports,
        s.demo_rows,
        s.follow_ups,
        s.deleted,
        s.dupilumab_cases,
        s.bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    println!(
        "planted associations: {}",
        args.out.join("PLANTED_SIGNALS.tsv").display()
    );
    Ok(())
}
