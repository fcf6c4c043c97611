//! Times the exact MGPS prior fit on count data and prints where the work went.
//!
//! ```text
//! cargo run --release -p vigil-stats --example mgps_fit -- FILE [FILE…]
//! ```
//! Each FILE holds one pair per line, `N E` or `N E W` (whitespace or comma separated; a line that
//! does not start with a number, such as a header, is skipped). `benchmarks/fit/run.sh` writes such
//! files from `vigil signals` output. For each file: points, the fit's counters (starts, summary
//! points and evaluations, full-data points, runs and evaluations), wall seconds of the best of
//! `VIGIL_FIT_REPEAT` runs (default 3), −log-likelihood and the five hyperparameters, as one JSON
//! line on stdout.

use std::time::Instant;

use vigil_stats::mgps::fit::{fit_gamma_poisson_shrinker, FitOptions};
use vigil_stats::mgps::CountData;

fn read(path: &str) -> Result<CountData, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut data = CountData::default();
    for (line_no, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|f| !f.is_empty())
            .collect();
        let Some(first) = fields.first() else {
            continue;
        };
        if first.parse::<f64>().is_err() {
            continue;
        }
        let field = |k: usize, name: &str| -> Result<f64, String> {
            fields
                .get(k)
                .ok_or_else(|| format!("{path}:{}: field {name} missing", line_no + 1))?
                .parse::<f64>()
                .map_err(|e| format!("{path}:{}: field {name}: {e}", line_no + 1))
        };
        data.n.push(field(0, "N")?);
        data.e.push(field(1, "E")?);
        data.w.push(if fields.len() > 2 {
            field(2, "W")?
        } else {
            1.0
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
                let c = fit.cost;
                println!(
                    "{{\"file\":\"{path}\",\"pairs\":{},\"starts\":{},\"coarse_points\":{},\
                     \"coarse_evaluations\":{},\"full_points\":{},\"full_runs\":{},\
                     \"full_evaluations\":{},\"seconds\":{best:.4},\"neg_log_lik\":{:?},\
                     \"prior\":[{:?},{:?},{:?},{:?},{:?}]}}",
                    data.len(),
                    c.starts,
                    c.coarse_points,
                    c.coarse_evaluations,
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
