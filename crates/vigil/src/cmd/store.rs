//! `vigil store`: the versions of a store, and returning to an earlier one.
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use vigil_store::write::{list_versions, rollback};

/// Arguments of `vigil store`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// List the versions a store keeps (the newest 10): number, commit time, reports, and the
    /// input files that made each; the live one is marked `*`.
    Versions {
        /// The store directory.
        store: PathBuf,
    },
    /// Make an earlier (or later) version the live one. The switch is atomic: the previous
    /// version stays live if anything fails. No version is deleted.
    Rollback {
        /// The store directory.
        store: PathBuf,
        /// The version to return to: `3` or `v000003`, as `vigil store versions` lists it.
        version: String,
    },
}

/// Runs `vigil store`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.action {
        Action::Versions { store } => versions(&store),
        Action::Rollback { store, version } => {
            let v = parse_version(&version)?;
            // The store's errors name the store path first (`S: no version 9 …`).
            let dir = rollback(&store, v)?;
            println!(
                "{}: version {v} is live ({})",
                store.display(),
                dir.display()
            );
            Ok(())
        }
    }
}

fn parse_version(text: &str) -> anyhow::Result<u32> {
    let t = text.trim();
    let digits = t.strip_prefix('v').unwrap_or(t);
    digits
        .parse::<u32>()
        .ok()
        .filter(|v| *v > 0)
        .with_context(|| format!("{text:?}: not a version number (give 3 or v000003)"))
}

fn versions(store: &std::path::Path) -> anyhow::Result<()> {
    use std::fmt::Write;
    let list = list_versions(store)?;
    // The listing is written in one go (a closed pipe ends vigil quietly: see `output`).
    let mut out = String::new();
    macro_rules! say { ($($t:tt)*) => { let _ = writeln!(out, $($t)*); } }
    say!(
        "{:<2} {:<8} {:<20} {:>10}  {}",
        "",
        "version",
        "committed (UTC)",
        "reports",
        "inputs"
    );
    for v in &list {
        let when = v
            .created_unix
            .and_then(|s| chrono::DateTime::from_timestamp(s as i64, 0))
            .map_or_else(
                || "unknown".to_owned(),
                |t| t.format("%Y-%m-%d %H:%M:%S").to_string(),
            );
        let reports = v.reports.map_or_else(|| "?".to_owned(), |n| n.to_string());
        let based = v
            .manifest
            .as_ref()
            .and_then(|m| m.based_on)
            .map(|b| format!(" (built on {b})"))
            .unwrap_or_default();
        let mark = if v.live { "*" } else { "" };
        let bytes: u64 = v.inputs.iter().map(|f| f.bytes).sum();
        say!(
            "{mark:<2} {:<8} {when:<20} {reports:>10}  {} files, {:.1} MB{based}",
            v.version,
            v.inputs.len(),
            bytes as f64 / 1e6
        );
        if let Some(p) = &v.problem {
            say!("     damaged: {p}");
        }
        for f in &v.inputs {
            say!(
                "     {} ({}, {}, {} bytes, {} rows)",
                f.path,
                f.table,
                f.quarter,
                f.bytes,
                f.rows
            );
        }
    }
    crate::output::print(&out)
}
