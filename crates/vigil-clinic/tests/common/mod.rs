//! Shared helpers for the integration tests.
#![allow(dead_code)]
use std::path::PathBuf;

use vigil_clinic::Case;

/// The repository root (crates/vigil-clinic/../..).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Load one of the example cases in `examples/cases/`.
pub fn example(name: &str) -> Case {
    let path = repo_root().join("examples/cases").join(name);
    Case::from_json_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// The three example case file names.
pub const EXAMPLES: [&str; 3] = [
    "facial-redness-interval-extension.json",
    "psoriasiform-prior-psoriasis.json",
    "ad-flare-missed-dose.json",
];

/// Relative closeness.
pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-300)
}
