//! Set-up shared by the integration tests: a store of `vigil synth` data, built the way a user
//! builds one (`vigil synth`, then `vigil ingest faers`).

use std::path::{Path, PathBuf};

use vigil_test_support::cli::ok;
use vigil_test_support::vigil;

/// The `vigil synth` data of a test store.
pub struct Synth {
    /// `--reports`: synthetic cases.
    pub reports: usize,
    /// `--seed`.
    pub seed: u64,
    /// `--quarters` (synth's default when `None`).
    pub quarters: Option<usize>,
    /// `--interactions`: plant the drug–drug interactions.
    pub interactions: bool,
}

/// Writes `synth`'s quarters to `dir/q` and ingests them into `dir/store`; returns the store.
/// Both commands run in `dir` and name the folders relative to it, so a report's listed commands
/// name the store as `store` when they too run in `dir`.
pub fn synth_store(dir: &Path, synth: &Synth) -> PathBuf {
    let mut cmd = vigil!();
    cmd.current_dir(dir).arg("synth");
    if synth.interactions {
        cmd.arg("--interactions");
    }
    cmd.args(["--reports", &synth.reports.to_string()])
        .args(["--seed", &synth.seed.to_string()]);
    if let Some(q) = synth.quarters {
        cmd.args(["--quarters", &q.to_string()]);
    }
    ok(cmd.args(["--out", "q"]));
    ok(vigil!()
        .current_dir(dir)
        .args(["ingest", "faers", "q", "--store", "store", "--quiet"]));
    dir.join("store")
}
