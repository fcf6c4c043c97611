//! Times the scoring phases after the MGPS fit, alone: the posteriors of the distinct (N, E)
//! (`posterior_distinct`: Qn, EBGM, EB05, EB95) and the FDR decision columns (`family_fdr`), under
//! a fixed prior.
//!
//! ```text
//! cargo run --release -p vigil-stats --example posteriors -- PRIOR.json PAIRS.bin [DUMP]
//! ```
//! PRIOR.json is `vigil signals … --fit-only` output. PAIRS.bin holds the pairs as written by
//! `benchmarks/posteriors/pairs.py` from a `vigil signals` Parquet output: the number of pairs as a
//! little-endian u64, then five columns of that many little-endian f64 (a, n_drug, n_event,
//! n_total, expected). Prints one JSON line: pairs, distinct points, and for each phase the best
//! wall seconds and the least CPU seconds (user + system, all threads: what the phase costs when
//! other processes share the cores) over `VIGIL_REPEAT` runs (default 3). With DUMP, writes every output value's bits there
//! (per pair: Qn, EBGM, EB05, EB95, then the eight FDR columns, each a little-endian u64), so that
//! two builds can be compared value by value.

use std::io::Write;
use std::time::Instant;

use vigil_stats::fdr::family_fdr;
use vigil_stats::mgps::posterior::posterior_distinct;
use vigil_stats::mgps::GammaMixturePrior;

/// CPU seconds (user + system, every thread) of this process so far, from Linux's
/// `/proc/self/stat` (fields 14 and 15, in clock ticks of 1/100 s, proc(5)); 0 elsewhere.
fn process_cpu_seconds() -> f64 {
    let ticks = || -> Option<f64> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The command name (field 2) is in parentheses and may hold spaces: count after its end.
        let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace().skip(11);
        let utime: f64 = fields.next()?.parse().ok()?;
        let stime: f64 = fields.next()?.parse().ok()?;
        Some(utime + stime)
    };
    ticks().unwrap_or(0.0) / 100.0
}

/// Wall and CPU seconds of `f`, with its result.
fn timed<T>(f: impl FnOnce() -> T) -> (f64, f64, T) {
    let (wall, cpu) = (Instant::now(), process_cpu_seconds());
    let out = f();
    (
        wall.elapsed().as_secs_f64(),
        process_cpu_seconds() - cpu,
        out,
    )
}

fn read_pairs(path: &str) -> Result<[Vec<f64>; 5], String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{path}: {e}"))?;
    let word = |i: usize| -> Option<[u8; 8]> { bytes.get(8 * i..8 * i + 8)?.try_into().ok() };
    let n = u64::from_le_bytes(word(0).ok_or(format!("{path}: no pair count"))?) as usize;
    if bytes.len() != 8 * (1 + 5 * n) {
        return Err(format!(
            "{path}: {} bytes, expected {} for {n} pairs",
            bytes.len(),
            8 * (1 + 5 * n)
        ));
    }
    let column = |c: usize| -> Vec<f64> {
        (0..n)
            .map(|i| f64::from_le_bytes(word(1 + c * n + i).expect("length checked")))
            .collect()
    };
    Ok([column(0), column(1), column(2), column(3), column(4)])
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(prior_path), Some(pairs_path)) = (args.first(), args.get(1)) else {
        return Err("usage: posteriors PRIOR.json PAIRS.bin [DUMP]".into());
    };
    let text = std::fs::read_to_string(prior_path).map_err(|e| format!("{prior_path}: {e}"))?;
    let prior: GammaMixturePrior =
        serde_json::from_str(&text).map_err(|e| format!("{prior_path}: {e}"))?;
    let [a, n_drug, n_event, n_total, expected] = read_pairs(pairs_path)?;
    let repeat: usize = std::env::var("VIGIL_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    // Best wall and least CPU seconds of each phase: [posteriors, FDR columns].
    let (mut wall, mut cpu) = ([f64::INFINITY; 2], [f64::INFINITY; 2]);
    let mut last = None;
    for _ in 0..repeat {
        let (w0, c0, post) = timed(|| posterior_distinct(&prior, &a, &expected));
        let (w1, c1, fdr) =
            timed(|| family_fdr(&a, &n_drug, &n_event, &n_total, &expected, Some(&prior)));
        for (k, (w, c)) in [(w0, c0), (w1, c1)].into_iter().enumerate() {
            wall[k] = wall[k].min(w);
            cpu[k] = cpu[k].min(c);
        }
        last = Some((post, fdr));
    }
    let (post, fdr) = last.expect("repeat ≥ 1");
    println!(
        "{{\"pairs\":{},\"distinct\":{},\"posteriors_s\":{:.3},\"posteriors_cpu_s\":{:.2},\
         \"fdr_s\":{:.3},\"fdr_cpu_s\":{:.2}}}",
        a.len(),
        post.values.len(),
        wall[0],
        cpu[0],
        wall[1],
        cpu[1]
    );
    if let Some(dump) = args.get(2) {
        let file = std::fs::File::create(dump).map_err(|e| format!("{dump}: {e}"))?;
        let mut out = std::io::BufWriter::new(file);
        for i in 0..a.len() {
            let p = post.get(i);
            let row = [p.qn, p.ebgm, p.eb05, p.eb95];
            for v in row.iter().chain(&fdr.row(i)) {
                out.write_all(&v.to_bits().to_le_bytes())
                    .map_err(|e| format!("{dump}: {e}"))?;
            }
        }
        out.flush().map_err(|e| format!("{dump}: {e}"))?;
    }
    Ok(())
}
