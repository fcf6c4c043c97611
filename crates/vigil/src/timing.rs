//! Phase timings for benchmarks: with `VIGIL_TIMINGS` set in the environment, each timed phase
//! prints `vigil: timing: PHASE: SECONDS s` on stderr when it ends, so a benchmark can say where the
//! time of a run goes without a profiler. Without the variable nothing is printed.

use std::time::Instant;

/// A running phase; reports its wall time when dropped.
pub struct Phase {
    name: &'static str,
    start: Instant,
    enabled: bool,
}

/// Starts timing `name`.
pub fn phase(name: &'static str) -> Phase {
    Phase {
        name,
        start: Instant::now(),
        enabled: std::env::var_os("VIGIL_TIMINGS").is_some(),
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if self.enabled {
            eprintln!(
                "vigil: timing: {}: {:.3} s",
                self.name,
                self.start.elapsed().as_secs_f64()
            );
        }
    }
}
