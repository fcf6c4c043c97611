//! Times the exact MGPS prior fit on count data and prints where the work went.
//!
//! ```text
//! cargo run --release -p vigil-stats --example mgps_fit -- FILE [FILE…]
//! ```
//! Each FILE is a CSV file of pairs with a header: columns `n`, `e` (and `w`), or the columns `a`
//! and `expected` of `vigil signals --format csv` output, which `benchmarks/fit/run.sh` writes.
//! For each file: points, the fit's counters (starts, summary
//! points and evaluations, full-data points, runs and evaluations, whether the fallback fit ran),
//! wall seconds of the best of
//! `VIGIL_FIT_REPEAT` runs (default 3), −log-likelihood and the five hyperparameters, as one JSON
//! line on stdout.

use std::time::Instant;

use vigil_stats::mgps::fit::{fit_gamma_poisson_shrinker, FitOptions};

#[path = "common/pairs.rs"]
mod pairs;
use pairs::read;

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
                     \"full_evaluations\":{},\"fallback\":{},\"seconds\":{best:.4},\"neg_log_lik\":{:?},\
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
                    c.fallback,
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
