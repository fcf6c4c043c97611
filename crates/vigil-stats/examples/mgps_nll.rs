//! The −log-likelihood of given MGPS priors on count data: compares fits (e.g. two versions'
//! optima) on one and the same likelihood.
//!
//! ```text
//! cargo run --release -p vigil-stats --example mgps_nll -- PAIRS.csv PRIOR.json [PRIOR.json…]
//! ```
//! PAIRS.csv as for the `mgps_fit` example; each PRIOR.json as `vigil signals --fit-only` writes
//! it. The points the fit keeps (E > 0, N ≥ 1: zero-truncated) are merged as the fit merges them,
//! and for each prior one JSON line is printed: the file, the −log-likelihood evaluated here, and
//! the one the file records (the value the fit that wrote it reported).

#[path = "common/pairs.rs"]
mod pairs;

use vigil_stats::mgps::likelihood::NegLogLikelihood;
use vigil_stats::mgps::{CountData, PriorJson, Truncation};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((pairs_path, priors)) = args.split_first() else {
        eprintln!("usage: mgps_nll PAIRS.csv PRIOR.json [PRIOR.json…]");
        std::process::exit(2);
    };
    let data = match pairs::read(pairs_path) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("mgps_nll: {e}");
            std::process::exit(1);
        }
    };
    let mut kept = CountData::default();
    for i in 0..data.len() {
        if data.e[i] > 0.0 && data.e[i].is_finite() && data.n[i] >= 1.0 {
            kept.n.push(data.n[i]);
            kept.e.push(data.e[i]);
            kept.w.push(data.w[i]);
        }
    }
    let nll = NegLogLikelihood::new(&kept.merge_identical(), Truncation::ZeroTruncated);
    let mut failed = false;
    for path in priors {
        let prior = std::fs::read_to_string(path)
            .map_err(|e| format!("{path}: {e}"))
            .and_then(|text| {
                serde_json::from_str::<PriorJson>(&text).map_err(|e| format!("{path}: {e}"))
            });
        match prior {
            Ok(p) => {
                let prior = vigil_stats::mgps::GammaMixturePrior {
                    alpha1: p.alpha1,
                    beta1: p.beta1,
                    alpha2: p.alpha2,
                    beta2: p.beta2,
                    p: p.p,
                };
                let recorded = p
                    .neg_log_lik
                    .map_or("null".to_owned(), |v| format!("{v:?}"));
                println!(
                    "{{\"prior\":\"{path}\",\"neg_log_lik\":{:?},\"recorded\":{recorded}}}",
                    nll.value(&prior)
                );
            }
            Err(e) => {
                eprintln!("mgps_nll: {e}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}
