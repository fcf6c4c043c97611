//! The `vigil` command line: one binary, one subcommand per job.
use clap::{Parser, Subcommand};

mod cmd;

/// vigil: a drug-safety evidence engine. Can this drug cause this reaction, how often, and is it
/// causing it in this patient?
///
/// Start with `vigil demo`; every subcommand has `--help` with examples.
#[derive(Parser)]
#[command(name = "vigil", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the main job on bundled synthetic data: synth → ingest → signals for dupilumab.
    Demo(cmd::demo::Args),
    /// Score every drug–event pair: PRR, ROR, IC, BCPNN and MGPS (EBGM, EB05, EB95).
    Signals(cmd::signals::Args),
    /// Assess one case (JSON or E2B(R3) XML): severity scores, causality, reaction-vs-flare support; or export it as E2B(R3).
    Assess(cmd::assess::Args),
    /// Ingest FAERS/AERS quarterly files or openFDA JSON into a de-duplicated Parquet store.
    Ingest(cmd::ingest::Args),
    /// Write synthetic FAERS-format quarterly files with planted dupilumab signals.
    Synth(cmd::synth::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => cmd::demo::run(args),
        Command::Signals(args) => cmd::signals::run(args),
        Command::Assess(args) => cmd::assess::run(args),
        Command::Ingest(args) => cmd::ingest::run(args),
        Command::Synth(args) => cmd::synth::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("vigil: error: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
