//! One module per subcommand: its clap arguments and its `run`.
pub mod assess;
pub mod demo;
pub mod ingest;
pub mod interactions;
pub mod meddra;
pub mod meta;
pub mod onset;
pub mod report;
pub mod report_interactions;
pub mod sequential;
pub mod serve;
pub mod signals;
pub mod store;
pub mod synth;
