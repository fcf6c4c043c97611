//! One module per subcommand: its clap arguments and its `run`.
pub mod assess;
pub mod signals;
pub mod ingest;
pub mod interactions;
pub mod synth;
pub mod demo;
pub mod meta;
pub mod onset;
pub mod report;
pub mod serve;
pub mod store;
