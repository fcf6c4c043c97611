//! Running the `vigil` binary from the integration tests of the `vigil` crate.
//!
//! Cargo tells only the `vigil` crate's own tests where its binary is (`CARGO_BIN_EXE_vigil`), so
//! the runner is a macro, expanded in the test: [`vigil!`](crate::vigil).

use std::process::{Command, Output};

/// A [`Command`] running the `vigil` binary under test, to add arguments to. Only usable in the
/// `vigil` crate's integration tests (it reads `CARGO_BIN_EXE_vigil` there).
#[macro_export]
macro_rules! vigil {
    () => {
        ::std::process::Command::new(env!("CARGO_BIN_EXE_vigil"))
    };
}

/// Runs `cmd`, asserts that it succeeded (the message shows the command and its standard error)
/// and returns its standard output.
pub fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run vigil");
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("standard output is UTF-8")
}

/// Runs `vigil` with `args` (a [`Command`] from [`vigil!`](crate::vigil)) and returns its output,
/// whatever the exit status.
pub fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("run vigil")
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
