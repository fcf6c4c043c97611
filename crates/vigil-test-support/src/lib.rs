//! Test helpers shared by vigil's crates; a dev-dependency only, never published.
//!
//! It owns what every test suite used to copy: where the reference folder `../shared` is and what a
//! test does when it is missing ([`shared`]), the metafor oracle's tolerances and the checker both
//! metafor harnesses compare with ([`oracle`]), and the runner of the `vigil` binary ([`cli`]).
//! It knows nothing of vigil's own types, so every crate can use it without a dependency cycle.
#![deny(missing_docs)]

pub mod cli;
pub mod oracle;

use std::path::{Path, PathBuf};

/// The reference folder `../shared` beside the repository root (its data are read, never copied
/// into the repository).
pub fn shared_root() -> PathBuf {
    // This crate sits at crates/vigil-test-support, two levels below the repository root.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// `rel` under `../shared` when it exists; otherwise prints `skipping: PATH not found` and returns
/// `None`, so the test can return early and pass, unless `VIGIL_REQUIRE_SHARED=1` is set (as CI's
/// `.ci/run` does): then a missing reference panics, so it can never pass without checking.
///
/// ```no_run
/// let Some(dir) = vigil_test_support::shared("oracle/pv") else {
///     return; // skipped: ../shared is absent
/// };
/// # let _ = dir;
/// ```
pub fn shared(rel: &str) -> Option<PathBuf> {
    let path = shared_root().join(rel);
    if path.exists() {
        return Some(path);
    }
    assert!(
        !require_shared(),
        "{} not found and VIGIL_REQUIRE_SHARED=1",
        path.display()
    );
    eprintln!("skipping: {} not found", path.display());
    None
}

/// Whether `VIGIL_REQUIRE_SHARED=1` is set (a missing `../shared` is then a failure).
pub fn require_shared() -> bool {
    std::env::var_os("VIGIL_REQUIRE_SHARED").is_some_and(|v| v == "1")
}

/// A SplitMix64 stream (Steele, Lea & Flood 2014, "Fast splittable pseudorandom number
/// generators", OOPSLA; the constants of Vigna's public-domain `splitmix64.c`) from `seed`: the
/// deterministic draws tests use to build varied inputs, the same on every machine.
pub fn splitmix64(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The repository root (for bundled files such as `examples/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference: the first five outputs of Vigna's `splitmix64.c` from the state
    // 1477776061723855037, as the reference test of the `rand_xoshiro` crate lists them
    // (rust-random/rngs, rand_xoshiro/src/splitmix64.rs).
    #[test]
    fn splitmix64_gives_the_reference_stream() {
        let mut next = splitmix64(1_477_776_061_723_855_037);
        let want = [
            1_985_237_415_132_408_290u64,
            2_979_275_885_539_914_483,
            13_511_426_838_097_143_398,
            8_488_337_342_461_049_707,
            15_141_737_807_933_549_159,
        ];
        for w in want {
            assert_eq!(next(), w);
        }
    }

    // The folder layout the helpers rely on: the repository root holds Cargo.toml and examples/.
    #[test]
    fn repo_root_is_the_workspace_root() {
        assert!(repo_root().join("Cargo.toml").is_file());
        assert!(repo_root()
            .join("examples/trials/dupilumab_infections.csv")
            .is_file());
    }

    // A path that cannot exist is a skip (None) without VIGIL_REQUIRE_SHARED=1, a panic with it.
    #[test]
    fn missing_reference_is_a_skip_or_a_failure() {
        let result = std::panic::catch_unwind(|| shared("no/such/file-for-this-test"));
        if require_shared() {
            assert!(
                result.is_err(),
                "a missing reference must fail under VIGIL_REQUIRE_SHARED=1"
            );
        } else {
            assert_eq!(result.ok(), Some(None));
        }
    }
}
