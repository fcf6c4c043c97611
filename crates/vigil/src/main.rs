//! The `vigil` command line: one binary, one subcommand per job.
use clap::{Parser, Subcommand};

mod cmd;

/// vigil: a drug-safety evidence engine.
#[derive(Parser)]
#[command(name = "vigil", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Score every drug–event pair: PRR, ROR, IC, BCPNN and MGPS (EBGM, EB05, EB95).
    Signals(cmd::signals::Args),
    /// Assess one case (JSON or E2B(R3) XML): severity scores, causality, reaction-vs-flare support; or export it as E2B(R3).
    Assess(cmd::assess::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Signals(args) => cmd::signals::run(args),
        Command::Assess(args) => cmd::assess::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("vigil: error: {err:#}");
            std::process::ExitCode::from(2)
        }
    }
}
