//! Phase timings for benchmarks: with `VIGIL_TIMINGS` set in the environment, each timed phase
//! prints `vigil: timing: PHASE: SECONDS s (CPU SECONDS s)` on stderr when it ends, so a benchmark
//! can say where the time of a run goes without a profiler. The CPU time (user + system, all
//! threads) is what a phase costs when other processes share the cores and its wall time mostly
//! measures waiting; it is read from Linux's `/proc/self/stat` (clock ticks, usually 10 ms) and
//! left out where that file is missing. Without the variable nothing is printed.

use std::time::Instant;

/// A running phase; reports its wall time when dropped.
pub struct Phase {
    name: &'static str,
    start: Instant,
    cpu_start: Option<f64>,
    enabled: bool,
}

/// CPU seconds (user + system, every thread) this process has used, from `/proc/self/stat`
/// (fields 14 and 15, in clock ticks of `USER_HZ` = 100 per second: the unit the Linux kernel
/// exports to user space whatever its internal tick rate, see proc(5) and times(2)). `None` where
/// there is no such file.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after its end.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Starts timing `name`.
pub fn phase(name: &'static str) -> Phase {
    let enabled = std::env::var_os("VIGIL_TIMINGS").is_some();
    Phase {
        name,
        start: Instant::now(),
        cpu_start: if enabled { process_cpu_seconds() } else { None },
        enabled,
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if self.enabled {
            let cpu = match (self.cpu_start, process_cpu_seconds()) {
                (Some(a), Some(b)) => format!(" (CPU {:.2} s)", b - a),
                _ => String::new(),
            };
            eprintln!(
                "vigil: timing: {}: {:.3} s{cpu}",
                self.name,
                self.start.elapsed().as_secs_f64()
            );
        }
    }
}
