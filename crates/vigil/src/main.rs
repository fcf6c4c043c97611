//! The `vigil` command line: one binary, one subcommand per job.
use clap::{Parser, Subcommand};

mod args;
mod cluster;
mod cmd;
mod output;
mod plot;
mod signal_table;
mod timing;

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
    /// Run the main job on bundled data: synthetic FAERS → store → signals, trials, onset, example case → evidence report.
    #[command(
        after_help = "Examples:\n  vigil demo\n  vigil demo --out /tmp/vigil-demo --reports 50000 --seed 7"
    )]
    Demo(cmd::demo::Args),
    /// Time to onset of a drug–event pair from a store: median, IQR, Weibull shape and scale.
    #[command(
        after_help = "Examples:\n  vigil onset --store faers-store --drug DUPILUMAB --event CONJUNCTIVITIS\n  vigil onset --store faers-store --drug DUPILUMAB --event 'DERMATITIS ATOPIC' --svg onset.svg"
    )]
    Onset(cmd::onset::Args),
    /// Evidence report for a drug: signals, competition bias, trials, onset, clinical knowledge (HTML/JSON).
    #[command(
        after_help = "Examples:\n  vigil report --store faers-store --drug DUPILUMAB --trials trials.csv\n  vigil report --store faers-store --drug DUPILUMAB --events CONJUNCTIVITIS,ROSACEA --format json"
    )]
    Report(cmd::report::Args),
    /// Score every drug–event pair: PRR, ROR, IC, BCPNN and MGPS (EBGM, EB05, EB95).
    #[command(
        after_help = "Examples:\n  vigil signals --store faers-store --drug DUPILUMAB --min-count 3\n  vigil signals --counts reports.csv --stratify sex,age_group --format csv --out scores.csv\n  vigil signals --counts table_2x2.parquet --fit-only --out prior.json\n  vigil signals --counts table_2x2.parquet --prior prior.json --format parquet --out s.parquet"
    )]
    Signals(cmd::signals::Args),
    /// Sequential monitoring of a drug–event pair, quarter by quarter: Poisson MaxSPRT with exact critical values.
    #[command(
        after_help = "Examples:\n  vigil sequential --store faers-store --drug DUPILUMAB --event KERATITIS --start 2023Q1\n  vigil sequential --store faers-store --drug DUPILUMAB --event KERATITIS --start 2023Q1 --max-expected 20 --min-events 4 --looks continuous"
    )]
    Sequential(cmd::sequential::Args),
    /// Drug–drug interaction signals: Ω for every (drug 1, drug 2, event) of a store, in bounded memory.
    #[command(
        after_help = "Examples:\n  vigil interactions --store faers-store --min-count 3 --format parquet --out interactions.parquet\n  vigil interactions --store faers-store --drug DUPILUMAB --min-count 3\n  vigil interactions --store faers-store --event RHABDOMYOLYSIS --stratify sex,age_group --format csv"
    )]
    Interactions(cmd::interactions::Args),
    /// Ingest FAERS/AERS quarterly files or openFDA JSON into a de-duplicated Parquet store.
    #[command(
        after_help = "Examples:\n  vigil ingest faers faers_ascii_2024q3.zip faers_ascii_2024q4.zip --store faers-store\n  vigil ingest faers downloads/ --store faers-store\n  vigil ingest openfda drug-event-0001-of-0005.json.zip --store openfda-store\n  vigil ingest e2b icsr-exports/ --store faers-store"
    )]
    Ingest(cmd::ingest::Args),
    /// A store's versions: list them (inputs, reports, time) or return to an earlier one atomically.
    #[command(
        after_help = "Examples:\n  vigil store versions faers-store\n  vigil store rollback faers-store 3"
    )]
    Store(cmd::store::Args),
    /// MedDRA (bring your own release): import it into a store; see how the store's terms match it.
    #[command(
        after_help = "Examples:\n  vigil meddra import MedDRA_27_0_English/MedAscii --store faers-store\n  vigil meddra check --store faers-store --unmapped-only\n  vigil signals --store faers-store --event-level soc --primary-soc --drug DUPILUMAB"
    )]
    Meddra(cmd::meddra::Args),
    /// Write synthetic FAERS-format quarterly files with planted dupilumab signals.
    #[command(
        after_help = "Examples:\n  vigil synth --reports 20000 --seed 1 --out synth/\n  vigil synth --reports 1000000 --quarters 4 --out big-synth/"
    )]
    Synth(cmd::synth::Args),
    /// Meta-analysis of trials (metafor-exact): RR/OR/RD/Peto, EE/MH/Peto/RE, forest and funnel plots.
    #[command(
        after_help = "Examples:\n  vigil meta examples/trials/dupilumab_infections.csv --forest forest.svg\n  vigil meta examples/trials/dupilumab_infections.csv --model mh --format json\n  vigil meta bcg.csv --measure RR --method DL --leave1out --mods ablat"
    )]
    Meta(cmd::meta::Args),
    /// Assess one case (JSON or E2B(R3) XML): severity scores, causality, reaction-vs-flare support; or export it as E2B(R3).
    #[command(
        after_help = "Examples:\n  vigil assess examples/cases/facial-redness-interval-extension.json\n  vigil assess --export-e2b case.json > case.xml\n  vigil assess case.xml --format json"
    )]
    Assess(cmd::assess::Args),
    /// Patient-monitoring web application: injections, weekly scores, reactions, clinician review, ICSR export.
    #[command(
        after_help = "Examples:\n  VIGIL_ADMIN_PASSWORD='a long admin password' vigil serve --create-admin\n  vigil serve\n  vigil serve --db postgres://vigil@127.0.0.1:5432/vigil --listen 0.0.0.0:8080 --secure-cookies"
    )]
    Serve(cmd::serve::Args),
}

fn main() -> std::process::ExitCode {
    // One rule for standard output (see `output`): a closed pipe ends vigil quietly, status 0.
    output::exit_quietly_on_broken_pipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(args) => cmd::demo::run(args),
        Command::Signals(args) => cmd::signals::run(args),
        Command::Sequential(args) => cmd::sequential::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Onset(args) => cmd::onset::run(args),
        Command::Interactions(args) => cmd::interactions::run(args),
        Command::Ingest(args) => cmd::ingest::run(args),
        Command::Synth(args) => cmd::synth::run(args),
        Command::Store(args) => cmd::store::run(args),
        Command::Meddra(args) => cmd::meddra::run(args),
        Command::Meta(args) => cmd::meta::run(args),
        Command::Assess(args) => cmd::assess::run(args),
        Command::Serve(args) => cmd::serve::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) if output::is_broken_pipe(&err) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("vigil: error: {}", error_text(&err));
            std::process::ExitCode::from(2)
        }
    }
}

/// An error with its causes, `outer: cause: …` as anyhow's `{:#}` prints it, but a cause whose text
/// the message already holds is not repeated (library errors such as `FaersError::Io` print their
/// cause in their own message and also return it as their source).
fn error_text(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_already_in_the_message_is_printed_once() {
        // `vigil ingest faers /nonexistent` printed "…(os error 2): No such file or directory (os
        // error 2)": FaersError::Io shows its source and also returns it from `source()`.
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let err = anyhow::Error::from(vigil_faers::FaersError::Io {
            path: "/nonexistent".into(),
            source: io,
        });
        assert_eq!(error_text(&err), "/nonexistent: entity not found");
        // A cause not in the message is still shown, after it, as `{:#}` does.
        let err = anyhow::anyhow!("disk full").context("writing out.csv");
        assert_eq!(error_text(&err), "writing out.csv: disk full");
        assert_eq!(error_text(&err), format!("{err:#}"));
    }
}
