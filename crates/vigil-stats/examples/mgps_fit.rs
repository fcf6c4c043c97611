//! Times the exact MGPS prior fit on count data and prints where the work went.
//!
//! ```text
//! cargo run --release -p vigil-stats --example mgps_fit -- FILE [FILE…]
//! ```
//! Each FILE is a CSV file of pairs with a header: columns `n`, `e` (and `w`), or the columns `a`
//! and `expected` of `vigil signals --format csv` output, which `benchmarks/fit/run.sh` writes.
//! For each file: points, the fit's counters (starts, summary
//! points and evaluations, full-data points, runs and evaluations), wall seconds of the best of
//! `VIGIL_FIT_REPEAT` runs (default 3), −log-likelihood and the five hyperparameters, as one JSON
//! line on stdout.

use std::time::Instant;

use vigil_stats::mgps::fit::{fit_gamma_poisson_shrinker, FitOptions};
use vigil_stats::mgps::CountData;

/// Reads the pairs: a CSV file with a header naming N and E as `n`/`e` (weights `w`, optional) or
/// as `a`/`expected` (the output of `vigil signals --format csv`).
fn read(path: &str) -> Result<CountData, String> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| format!("{path}: {e}"))?;
    let headers = reader
        .headers()
        .map_err(|e| format!("{path}: {e}"))?
        .clone();
    let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h));
    let (Some(n_col), Some(e_col)) = (column(&["n", "a"]), column(&["e", "expected"])) else {
        return Err(format!("{path}: needs columns n and e (or a and expected)"));
    };
    let w_col = column(&["w"]);
    let mut data = CountData::default();
    for (row, record) in reader.records().enumerate() {
        let line = row + 2;
        let record = record.map_err(|e| format!("{path}:{line}: {e}"))?;
        let field = |col: usize| -> Result<f64, String> {
            let text = record.get(col).unwrap_or("");
            text.parse::<f64>()
                .map_err(|e| format!("{path}:{line}: field {}: {text:?}: {e}", &headers[col]))
        };
        data.n.push(field(n_col)?);
        data.e.push(field(e_col)?);
        data.w.push(match w_col {
            Some(c) => field(c)?,
            None => 1.0,
        });
    }
    Ok(data)
}

fn main() {
    let repeat: usize = std::env::var("VIGIL_FIT_REPEAT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    let mut failed = false;
    for path in std::env::args().skip(1) {
        let data = match read(&path) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("mgps_fit: {e}");
                failed = true;
                continue;
            }
        };
        let mut best = f64::INFINITY;
        let mut last = None;
        for _ in 0..repeat {
            let t = Instant::now();
            let fit = fit_gamma_poisson_shrinker(&data, &FitOptions::default());
            best = best.min(t.elapsed().as_secs_f64());
            last = Some(fit);
        }
        match last.expect("repeat ≥ 1") {
            Ok(fit) => {
                let c = &fit.cost;
                println!(
                    "{{\"file\":\"{path}\",\"pairs\":{},\"starts\":{},\"coarse_points\":{},\
                     \"coarse_evaluations\":{},\"refine_points\":{:?},\"refine_evaluations\":{},\"full_points\":{},\"full_runs\":{},\
                     \"full_evaluations\":{},\"seconds\":{best:.4},\"neg_log_lik\":{:?},\
                     \"prior\":[{:?},{:?},{:?},{:?},{:?}]}}",
                    data.len(),
                    c.starts,
                    c.coarse_points,
                    c.coarse_evaluations,
                    c.refine_points,
                    c.refine_evaluations,
                    c.full_points,
                    c.full_runs,
                    c.full_evaluations,
                    fit.neg_log_lik,
                    fit.alpha1,
                    fit.beta1,
                    fit.alpha2,
                    fit.beta2,
                    fit.p
                );
            }
            Err(e) => {
                eprintln!("mgps_fit: {path}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
