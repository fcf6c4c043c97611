//! The `vigil` command line: one binary, one subcommand per job.
use clap::{Parser, Subcommand};

mod cmd;
mod plot;

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
    /// Time to onset of a drug–event pair from a store: median, IQR, Weibull shape and scale.
    Onset(cmd::onset::Args),
    /// Evidence report for a drug: signals, competition bias, trials, onset, clinical knowledge (HTML/JSON).
    Report(cmd::report::Args),
    /// Score every drug–event pair: PRR, ROR, IC, BCPNN and MGPS (EBGM, EB05, EB95).
    Signals(cmd::signals::Args),
    /// Ingest FAERS/AERS quarterly files or openFDA JSON into a de-duplicated Parquet store.
    Ingest(cmd::ingest::Args),
    /// Write synthetic FAERS-format quarterly files with planted dupilumab signals.
    Synth(cmd::synth::Args),
    /// Meta-analysis of trials (metafor-exact): RR/OR/RD/Peto, EE/MH/Peto/RE, forest and funnel plots.
    Meta(cmd::meta::Args),
    /// Assess one case (JSON or E2B(R3) XML): severity scores, causality, reaction-vs-flare support; or export it as E2B(R3).
    Assess(cmd::assess::Args),
    /// Patient-monitoring web application: injections, weekly scores, reactions, clinician review, ICSR export.
    #[command(after_help = "Examples:\n  VIGIL_ADMIN_PASSWORD='a long admin password' vigil serve --create-admin\n  vigil serve\n  vigil serve --db postgres://vigil@127.0.0.1:5432/vigil --listen 0.0.0.0:8080 --secure-cookies")]
    Serve(cmd::serve::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => cmd::demo::run(args),
        Command::Signals(args) => cmd::signals::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Onset(args) => cmd::onset::run(args),
        Command::Ingest(args) => cmd::ingest::run(args),
        Command::Synth(args) => cmd::synth::run(args),
        Command::Meta(args) => cmd::meta::run(args),
        Command::Assess(args) => cmd::assess::run(args),
        Command::Serve(args) => cmd::serve::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("vigil: error: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
