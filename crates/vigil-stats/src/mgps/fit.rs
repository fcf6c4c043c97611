//! Maximum-likelihood fit of the two-gamma-mixture prior: bounded, multi-start, deterministic.

use super::likelihood::NegLogLikelihood;
use super::squash::{auto_squash, coarse_summary, AutoSquashOptions};
use super::{CountData, GammaMixturePrior, Truncation};
use serde::Serialize;

/// Names of the five parameters, in order, as they appear in [`PriorFit::at_bound`].
pub const PARAMETER_NAMES: [&str; 5] = ["alpha1", "beta1", "alpha2", "beta2", "p"];

/// Settings of [`fit_gamma_poisson_shrinker`].
#[derive(Debug, Clone, PartialEq)]
pub struct FitOptions {
    /// Which counts the likelihood conditions on. Default: zero-truncated (N* = 1), as openEBGM.
    pub truncation: Truncation,
    /// Starting points. Default: the five rows of openEBGM's vignettes (and of the caers oracle
    /// `caers_theta_init.csv`) followed by PhViD's `PRIOR.INIT` (0.2, 0.06, 1.4, 1.8, 0.1).
    pub starts: Vec<GammaMixturePrior>,
    /// Bounds on α and β. Default [1e-5, 1e5]: the lower bound is openEBGM `hyperEM`'s
    /// `param_lower`; the upper bound is far above any estimate seen on real data (FAERS, CAERS).
    pub shape_rate_bounds: (f64, f64),
    /// Bounds on P. Default [1e-5, 1 − 1e-5].
    pub p_bounds: (f64, f64),
    /// Fit on openEBGM's `autoSquash`ed data instead of the full data (an approximation, for
    /// comparison with openEBGM). Default false: the reported optimum is always on the full data.
    pub squashed: bool,
    /// Above this many distinct (N, E) points, the starts run on a summary of about
    /// [`FitOptions::coarse_points`] points ([`coarse_summary`]) and only the best basins found
    /// there are polished on the full data. Default 16,384: four times the summary, so that the
    /// screening costs a fraction of what it saves (smaller data are fitted from every start
    /// directly).
    pub squash_starts_above: usize,
    /// Points of that summary beyond one per distinct N. Default 4,096.
    pub coarse_points: usize,
    /// Iteration cap per start. Default 500.
    pub max_iterations: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        let p = |a1, b1, a2, b2, p| GammaMixturePrior {
            alpha1: a1,
            beta1: b1,
            alpha2: a2,
            beta2: b2,
            p,
        };
        Self {
            truncation: Truncation::ZeroTruncated,
            starts: vec![
                p(0.2, 0.1, 2.0, 4.0, 1.0 / 3.0),
                p(0.1, 0.1, 10.0, 10.0, 0.2),
                p(0.3, 0.5, 6.0, 6.0, 0.5),
                p(0.5, 0.3, 12.0, 12.0, 0.8),
                p(0.2, 0.2, 5.0, 5.0, 0.4),
                p(0.2, 0.06, 1.4, 1.8, 0.1),
            ],
            shape_rate_bounds: (1e-5, 1e5),
            p_bounds: (1e-5, 1.0 - 1e-5),
            squashed: false,
            squash_starts_above: 16_384,
            coarse_points: 4_096,
            max_iterations: 500,
        }
    }
}

/// The fitted prior and how it was reached. Serialises to the JSON that `vigil signals --fit-only`
/// prints and `--prior` reads.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PriorFit {
    /// Shape of the first component.
    pub alpha1: f64,
    /// Rate of the first component.
    pub beta1: f64,
    /// Shape of the second component.
    pub alpha2: f64,
    /// Rate of the second component.
    pub beta2: f64,
    /// Weight of the first component.
    pub p: f64,
    /// The attained −log-likelihood on the data fitted (openEBGM's `negLL`/`negLLsquash` value).
    pub neg_log_lik: f64,
    /// Number of pairs the likelihood covers (sum of weights).
    pub n_points: f64,
    /// `zero_truncated` (N* = 1) or `none` (zeros included).
    pub truncation: Truncation,
    /// Parameters that ended on a bound (see the boundary policy in docs/signals.md).
    pub at_bound: Vec<String>,
    /// True when the fit was made on squashed data.
    pub squashed: bool,
    /// Likelihood evaluations, all starts included.
    pub evaluations: usize,
    /// True when the best start met the convergence criterion (not the iteration cap).
    pub converged: bool,
    /// What the fit cost (not serialised).
    #[serde(skip)]
    pub cost: FitCost,
}

/// Where a fit's work went: the counters `VIGIL_DEBUG_FIT=1` prints and the fit benchmark reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FitCost {
    /// Starting points run.
    pub starts: usize,
    /// Points of the summary the starts ran on (0 when they ran on the full data).
    pub coarse_points: usize,
    /// Likelihood evaluations on that summary.
    pub coarse_evaluations: usize,
    /// Distinct (N, E) points of the full data.
    pub full_points: usize,
    /// Likelihood evaluations on the full data.
    pub full_evaluations: usize,
    /// Runs on the full data (starts, or coarse optima polished).
    pub full_runs: usize,
    /// Points of the finer summaries polished on between the first one and the full data.
    pub refine_points: Vec<usize>,
    /// Likelihood evaluations on those.
    pub refine_evaluations: usize,
    /// True when the polish did not converge and the earlier versions' fit ran as well.
    pub fallback: bool,
}

/// Growth factor between the rungs of summaries ([`finer_summaries`]).
const LADDER_STEP: usize = 8;

impl PriorFit {
    /// The prior alone.
    pub fn prior(&self) -> GammaMixturePrior {
        GammaMixturePrior {
            alpha1: self.alpha1,
            beta1: self.beta1,
            alpha2: self.alpha2,
            beta2: self.beta2,
            p: self.p,
        }
    }
}

/// Why no prior could be fitted.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// No points, or no point with N ≥ 1 and E > 0.
    #[error("no drug–event pair with N ≥ 1 and E > 0 to fit the prior to")]
    NoData,
    /// Every start ended at a non-finite likelihood.
    #[error("the likelihood was not finite from any starting point")]
    NotFinite,
}

/// Fits the MGPS prior by maximum likelihood.
///
/// # Algorithm
/// The parameters are optimised on the scale x = (ln α1, ln β1, ln α2, ln β2, logit P), with box
/// bounds, by a projected Newton method: the step solves the analytic Hessian of
/// [`NegLogLikelihood::value_gradient_hessian`] on the free variables, damped until it is positive
/// definite (a BFGS approximation stands in when it cannot be); a variable at a bound whose
/// gradient pushes outward is held there; a Newton step that would leave the box is replaced by the
/// model's minimiser inside it (`box_newton_step`); Armijo backtracking along the path. Each
/// iteration costs one likelihood evaluation (value, gradient and Hessian together) plus any
/// backtracking. Convergence (`Tolerance`): the projected gradient's largest component below
/// 1e-9·(1 + |f|), or the Newton decrement within 1e-12·|f| (then one last full Newton step), or no
/// decrease larger than 1e-12·|f| over three iterations (a ridge towards a bound would otherwise be
/// crawled for thousands of evaluations), or [`FitOptions::max_iterations`]. The log-likelihood is
/// summed over chunks of 4,096 points on all cores ([`NegLogLikelihood`]).
///
/// Every start in [`FitOptions::starts`] is run for 40 iterations; the two lowest distinct ones are
/// then run to convergence, and the lowest −log-likelihood of all wins (ties to the earlier start),
/// so the result is deterministic. Above [`FitOptions::squash_starts_above`] distinct points the
/// starts run on a small summary ([`coarse_summary`]) instead; the best basin found there (and any
/// other within the margin explained at `polish`) is polished, with a tighter stop, on summaries
/// eight times larger each and then on the full data: the summary only chooses where to start, the
/// optimum reported is the full-data one. If that polish cannot meet its stop (a failed line search
/// on a flat ridge), the earlier versions' fit runs as well (starts on openEBGM's `autoSquash`ed data
/// and the best two polished above 100,000 points, every start on the full data below) and the
/// lowest −log-likelihood of all wins. Identical (N, E) points are merged first, which changes
/// nothing but speed. The winner's components are put in canonical order (larger prior mean first).
///
/// # Boundary policy
/// The likelihood of real spontaneous-report data often rises towards a boundary (on FAERS,
/// α1 → 0: the first component degenerates). vigil does not fail there, as openEBGM's `autoHyper`
/// does, nor report an arbitrary interior point: it returns the bounded maximum, lists the
/// parameters that sit on a bound in [`PriorFit::at_bound`], and the caller warns. The posterior
/// quantities remain well defined for any prior inside the bounds.
///
/// # Matches
/// openEBGM 0.9.1 `autoHyper(data, theta_init, squashed = FALSE, zeroes = FALSE, N_star = 1)`:
/// the same objective, from the same starts; vigil's optimum is at least as low (the caers test).
pub fn fit_gamma_poisson_shrinker(
    data: &CountData,
    options: &FitOptions,
) -> Result<PriorFit, FitError> {
    let fittable = fittable_points(data, options.truncation);
    if fittable.is_empty() {
        return Err(FitError::NoData);
    }
    let log = FitLog::from_env();
    let full = if options.squashed {
        auto_squash(&fittable, &AutoSquashOptions::default())
    } else {
        fittable.merge_identical()
    };
    log.line(format_args!(
        "fit: merged {} → {} points in {:.3} s",
        fittable.len(),
        full.len(),
        log.seconds()
    ));
    let full_nll = NegLogLikelihood::new(&full, options.truncation);
    log.line(format_args!(
        "fit: likelihood prepared at {:.3} s",
        log.seconds()
    ));
    let bounds = Bounds::new(options);
    let starts: Vec<Vec<f64>> = options.starts.iter().map(|s| bounds.to_x(s)).collect();
    let fit = MultiStartFit {
        full_nll: &full_nll,
        bounds: &bounds,
        starts: &starts,
        options,
        log: &log,
    };
    let mut found = Candidates {
        runs: Vec::new(),
        cost: FitCost {
            starts: starts.len(),
            full_points: full.len(),
            ..FitCost::default()
        },
    };
    if !options.squashed && full.len() > options.squash_starts_above {
        let polish_converged = fit.screen_on_summaries(&full, &mut found);
        if !polish_converged {
            // The polish ended without meeting its convergence test (a failed line search or a
            // stall: seen on a ridge where one component is a point mass with its rate on the
            // bound, where the likelihood is too flat for the line search). Then the fit of the
            // earlier versions runs as well, and the lowest −LL of all wins.
            found.cost.fallback = true;
            fit.earlier_versions_fit(&fittable, &mut found);
        }
    }
    if found.runs.iter().all(|r| !r.f.is_finite()) {
        // Small data, or no finite optimum on the summary: every start on the full data.
        fit.every_start_on_full_data(&mut found);
    }
    log_cost(&log, &found.cost);
    let best = found
        .runs
        .into_iter()
        .filter(|r| r.f.is_finite())
        .min_by(|a, b| a.f.total_cmp(&b.f))
        .ok_or(FitError::NotFinite)?;
    Ok(prior_fit(best, &bounds, &full_nll, options, found.cost))
}

/// The points the likelihood is defined on: E finite and positive, and N ≥ 1 when zero-truncated.
fn fittable_points(data: &CountData, truncation: Truncation) -> CountData {
    let mut fittable = CountData::default();
    for i in 0..data.len() {
        let keep = data.e[i] > 0.0
            && data.e[i].is_finite()
            && (truncation == Truncation::None || data.n[i] >= 1.0);
        if keep {
            fittable.n.push(data.n[i]);
            fittable.e.push(data.e[i]);
            fittable.w.push(data.w[i]);
        }
    }
    fittable
}

/// The progress lines `VIGIL_DEBUG_FIT` asks for, timed from the start of the fit.
struct FitLog {
    enabled: bool,
    start: std::time::Instant,
}

impl FitLog {
    fn from_env() -> Self {
        Self {
            enabled: std::env::var_os("VIGIL_DEBUG_FIT").is_some(),
            start: std::time::Instant::now(),
        }
    }

    fn seconds(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn line(&self, message: std::fmt::Arguments) {
        if self.enabled {
            eprintln!("{message}");
        }
    }
}

/// The counters of a whole fit, in the line `benchmarks/fit/compare.sh` reads.
fn log_cost(log: &FitLog, cost: &FitCost) {
    log.line(format_args!(
        "fit: {} starts; summary {} points, {} evaluations; finer summaries {:?} points, {} \
         evaluations; full data {} points, {} runs, {} evaluations; {:.3} s",
        cost.starts,
        cost.coarse_points,
        cost.coarse_evaluations,
        cost.refine_points,
        cost.refine_evaluations,
        cost.full_points,
        cost.full_runs,
        cost.full_evaluations,
        log.seconds()
    ));
}

/// What every way of running the starts shares: the full data's likelihood, where the starts are
/// and what bounds them.
struct MultiStartFit<'a> {
    full_nll: &'a NegLogLikelihood,
    bounds: &'a Bounds,
    /// [`FitOptions::starts`] in x-space.
    starts: &'a [Vec<f64>],
    options: &'a FitOptions,
    log: &'a FitLog,
}

/// The runs that are candidates for the optimum, in the order they were made (ties go to the
/// earlier), and what they cost.
struct Candidates {
    runs: Vec<Minimum>,
    cost: FitCost,
}

impl MultiStartFit<'_> {
    /// The starts on a summary of about [`FitOptions::coarse_points`] points, their best basins
    /// polished through finer summaries onto the full data ([`polish`]); true when the best
    /// polished run met its convergence test.
    fn screen_on_summaries(&self, full: &CountData, found: &mut Candidates) -> bool {
        let options = self.options;
        let coarse = coarse_summary(full, options.coarse_points);
        let coarse_nll = NegLogLikelihood::new(&coarse, options.truncation);
        found.cost.coarse_points = coarse.len();
        let (runs, coarse_evaluations) = multi_start(
            &coarse_nll,
            self.starts,
            self.bounds,
            options.max_iterations,
        );
        found.cost.coarse_evaluations = coarse_evaluations;
        self.log.line(format_args!(
            "fit: {} starts on a summary of {} points, {} evaluations, at {:.3} s",
            self.starts.len(),
            coarse.len(),
            coarse_evaluations,
            self.log.seconds()
        ));
        let finer = finer_summaries(full, coarse.len(), options);
        found.cost.refine_points = finer.iter().map(NegLogLikelihood::len).collect();
        let mut ladder: Vec<&NegLogLikelihood> = finer.iter().collect();
        ladder.push(self.full_nll);
        let (polished, evaluations) = polish(
            &ladder,
            &coarse_nll,
            runs,
            self.bounds,
            options.max_iterations,
        );
        found.cost.refine_evaluations = evaluations[..evaluations.len() - 1].iter().sum();
        found.cost.full_evaluations += evaluations[evaluations.len() - 1];
        let polish_converged = polished
            .iter()
            .filter(|r| r.f.is_finite())
            .min_by(|a, b| a.f.total_cmp(&b.f))
            .is_some_and(|r| r.clean);
        found.cost.full_runs += polished.len();
        found.runs.extend(polished);
        polish_converged
    }

    /// The fit of the earlier versions, run when the polish did not converge: the starts screened
    /// on openEBGM's autoSquash data and the best two basins polished on the full data (above
    /// 100,000 points), or every start on the full data.
    fn earlier_versions_fit(&self, fittable: &CountData, found: &mut Candidates) {
        let options = self.options;
        if self.full_nll.len() <= 100_000 {
            self.every_start_on_full_data(found);
            return;
        }
        let squashed = auto_squash(fittable, &AutoSquashOptions::default());
        let squashed_nll = NegLogLikelihood::new(&squashed, options.truncation);
        let (runs, squashed_evaluations) = multi_start(
            &squashed_nll,
            self.starts,
            self.bounds,
            options.max_iterations,
        );
        found.cost.coarse_evaluations += squashed_evaluations;
        let mut ends: Vec<Minimum> = runs.into_iter().filter(|r| r.f.is_finite()).collect();
        ends.sort_by(|a, b| a.f.total_cmp(&b.f));
        let mut basins: Vec<Minimum> = Vec::new();
        for r in ends {
            if basins.len() < STARTS_CONTINUED && !basins.iter().any(|b| same_basin(&r.x, &b.x)) {
                basins.push(r);
            }
        }
        for basin in basins {
            let r = minimise(
                self.full_nll,
                basin.x,
                self.bounds,
                options.max_iterations,
                STARTS,
            );
            found.cost.full_evaluations += r.evaluations;
            found.cost.full_runs += 1;
            found.runs.push(r);
        }
    }

    /// Every start on the full data ([`multi_start`]).
    fn every_start_on_full_data(&self, found: &mut Candidates) {
        let (runs, full_evaluations) = multi_start(
            self.full_nll,
            self.starts,
            self.bounds,
            self.options.max_iterations,
        );
        found.cost.full_evaluations += full_evaluations;
        found.cost.full_runs += runs.len();
        found.runs.extend(runs);
    }
}

/// Finer summaries between the first one (`coarse_len` points) and the full data, each eight
/// times the last, while a quarter of the full data is still larger: each polishes the previous
/// optimum, so the full data see a start already close to their optimum (on 2.3 M points: 11 full
/// evaluations from the first summary directly).
fn finer_summaries(
    full: &CountData,
    coarse_len: usize,
    options: &FitOptions,
) -> Vec<NegLogLikelihood> {
    let mut finer = Vec::new();
    let mut budget = options.coarse_points.saturating_mul(LADDER_STEP);
    while budget.saturating_add(coarse_len).saturating_mul(4) < full.len() {
        let level = coarse_summary(full, budget);
        finer.push(NegLogLikelihood::new(&level, options.truncation));
        budget = budget.saturating_mul(LADDER_STEP);
    }
    finer
}

/// The winning run as the reported fit: the prior in canonical order, the parameters on a bound
/// named after that order.
fn prior_fit(
    best: Minimum,
    bounds: &Bounds,
    full_nll: &NegLogLikelihood,
    options: &FitOptions,
    cost: FitCost,
) -> PriorFit {
    let evaluations = cost.coarse_evaluations + cost.refine_evaluations + cost.full_evaluations;
    let raw = bounds.to_prior(&best.x);
    let at_bound: Vec<String> = (0..5)
        .filter(|&k| best.x[k] - bounds.lo[k] < 1e-6 || bounds.hi[k] - best.x[k] < 1e-6)
        .map(|k| canonical_name(k, &raw))
        .collect();
    let prior = raw.canonical();
    PriorFit {
        alpha1: prior.alpha1,
        beta1: prior.beta1,
        alpha2: prior.alpha2,
        beta2: prior.beta2,
        p: prior.p,
        neg_log_lik: best.f,
        n_points: full_nll.total_weight(),
        truncation: options.truncation,
        at_bound,
        squashed: options.squashed,
        evaluations,
        converged: best.converged,
        cost,
    }
}

/// Polishes optima found on a summary of the data (`coarse`) on the full data, the last of
/// `ladder`, through the finer summaries before it, by the same Newton method ([`minimise`]);
/// returns the runs polished on the full data and the evaluations spent on each rung.
///
/// # Which basins are polished
/// The coarse end points are grouped into basins ([`same_basin`]); the basin with the lowest
/// coarse −log-likelihood is polished first. The summary misstates the θ-dependent part of the
/// −log-likelihood by δ(θ) = [f_fine(θ) + C_fine] − [f_coarse(θ) + C_coarse] (C: the θ-free
/// constants, which differ between summaries), and δ is known exactly at the best coarse point
/// from the first evaluation on the next rung (the full data, or the next finer summary, whose own
/// error is far smaller). Another basin can only be better if δ differs between the two basins by
/// more than their coarse gap; every basin whose coarse gap is at most 2|δ| + 1e-6·|f| is therefore
/// polished too: the coarse ranking is trusted only where the summary would have to err more than
/// twice as much at the other basin as at the best one to reverse it (the 1e-6·|f| keeps a margin
/// where the summary happens to be exact at the best point). On every input measured
/// (docs/signals.md) all starts end in one basin, so one polish is run.
fn polish(
    ladder: &[&NegLogLikelihood],
    coarse: &NegLogLikelihood,
    runs: Vec<Minimum>,
    bounds: &Bounds,
    max_iterations: usize,
) -> (Vec<Minimum>, Vec<usize>) {
    let mut evaluations = vec![0; ladder.len()];
    let mut ends: Vec<Minimum> = runs.into_iter().filter(|r| r.f.is_finite()).collect();
    ends.sort_by(|a, b| a.f.total_cmp(&b.f));
    let mut basins: Vec<Minimum> = Vec::new();
    for r in ends {
        if !basins.iter().any(|b| same_basin(&r.x, &b.x)) {
            basins.push(r);
        }
    }
    let mut out = Vec::new();
    let mut margin = f64::INFINITY;
    let best_coarse_f = basins.first().map_or(f64::NAN, |b| b.f);
    for (i, basin) in basins.into_iter().enumerate() {
        if i > 0 && basin.f - best_coarse_f > margin {
            break;
        }
        let mut x = basin.x;
        let mut last = None;
        for (rung, nll) in ladder.iter().enumerate() {
            let r = minimise(nll, x.clone(), bounds, max_iterations, POLISH);
            evaluations[rung] += r.evaluations;
            if i == 0 && rung == 0 {
                let delta = (r.f_start + nll.theta_free_constant())
                    - (best_coarse_f + coarse.theta_free_constant());
                margin = 2.0 * delta.abs() + 1e-6 * best_coarse_f.abs();
            }
            x = r.x.clone();
            last = Some(r);
        }
        out.extend(last);
    }
    (out, evaluations)
}

/// The name of parameter `k` of `raw` after [`GammaMixturePrior::canonical`] reorders components.
fn canonical_name(k: usize, raw: &GammaMixturePrior) -> String {
    let swapped = raw.canonical() != *raw;
    let k = if swapped {
        match k {
            0 => 2,
            1 => 3,
            2 => 0,
            3 => 1,
            other => other,
        }
    } else {
        k
    };
    PARAMETER_NAMES[k].to_owned()
}

/// Box bounds on the transformed parameters.
struct Bounds {
    lo: [f64; 5],
    hi: [f64; 5],
}

impl Bounds {
    fn new(o: &FitOptions) -> Self {
        let (l, h) = o.shape_rate_bounds;
        let (pl, ph) = o.p_bounds;
        let logit = |p: f64| (p / (1.0 - p)).ln();
        Self {
            lo: [l.ln(), l.ln(), l.ln(), l.ln(), logit(pl)],
            hi: [h.ln(), h.ln(), h.ln(), h.ln(), logit(ph)],
        }
    }

    fn to_x(&self, p: &GammaMixturePrior) -> Vec<f64> {
        let x = [
            p.alpha1.ln(),
            p.beta1.ln(),
            p.alpha2.ln(),
            p.beta2.ln(),
            (p.p / (1.0 - p.p)).ln(),
        ];
        (0..5).map(|k| x[k].clamp(self.lo[k], self.hi[k])).collect()
    }

    fn to_prior(&self, x: &[f64]) -> GammaMixturePrior {
        GammaMixturePrior {
            alpha1: x[0].exp(),
            beta1: x[1].exp(),
            alpha2: x[2].exp(),
            beta2: x[3].exp(),
            p: 1.0 / (1.0 + (-x[4]).exp()),
        }
    }

    fn project(&self, x: &mut [f64]) {
        for (k, xk) in x.iter_mut().enumerate().take(5) {
            *xk = xk.clamp(self.lo[k], self.hi[k]);
        }
    }
}

/// True when two points of the transformed space (ln α1, ln β1, ln α2, ln β2, logit P) are the same
/// prior to within 1e-3 in every coordinate, with the components in canonical order (larger prior
/// mean α/β first; swapping them maps logit P to −logit P): the likelihood is invariant to the
/// swap, and starts do end on both labellings of one optimum.
fn same_basin(a: &[f64], b: &[f64]) -> bool {
    let canonical = |x: &[f64]| -> [f64; 5] {
        if x[0] - x[1] >= x[2] - x[3] {
            [x[0], x[1], x[2], x[3], x[4]]
        } else {
            [x[2], x[3], x[0], x[1], -x[4]]
        }
    };
    let (a, b) = (canonical(a), canonical(b));
    (0..5).all(|k| (a[k] - b[k]).abs() <= 1e-3)
}

/// When [`minimise`] stops: the projected gradient's largest component below
/// `gradient`·(1 + |f|), or the Newton decrement λ² = gᵀH⁻¹g (on the free variables, Hessian
/// positive definite without damping) putting f within λ²/2 ≤ `decrement`·|f| of the minimum of its
/// quadratic model (for a quadratic f − f* = λ²/2 exactly, and near a minimum the estimate is
/// accurate to higher order: Boyd & Vandenberghe 2004, Convex Optimization, §9.5.1), after one last
/// full Newton step. Why the decrement: near the optimum the decrease a step can make is at the
/// rounding noise of f, so Armijo's test rejects good steps by chance and the search backtracked
/// through twenty or more full-data evaluations before (on 54 k points: 33 evaluations for what
/// took 5).
#[derive(Debug, Clone, Copy)]
struct Tolerance {
    gradient: f64,
    decrement: f64,
    /// Step halvings before a line search gives up.
    halvings: usize,
}

/// Runs from the starts: the gradient test of the first versions (1e-9), and a decrement of
/// 1e-12·|f|, a thousand times below the 1e-9 (relative −log-likelihood) to which fits must agree.
const STARTS: Tolerance = Tolerance {
    gradient: 1e-9,
    decrement: 1e-12,
    halvings: 60,
};

/// Polishing a summary's optimum: tighter, because on a ridge (one component a point mass, its
/// rate on the bound) the looser test stopped a rung early enough that the next one started where
/// the likelihood is too flat for its line search (a 20 k-case synthetic store: 247 evaluations and
/// −LL 3.8e-8 above the every-start optimum; with this test 22 evaluations and 1.6e-10).
const POLISH: Tolerance = Tolerance {
    gradient: 1e-12,
    decrement: 1e-13,
    // A polish starts near an optimum: a step cut below 2^-20 is lost in rounding noise, and a
    // polish that cannot converge is followed by the fallback fit (fit_gamma_poisson_shrinker).
    halvings: 20,
};

/// Relative rounding noise of f accepted on the last Newton step: f is a sum of up to millions of
/// terms in chunks, accurate to about 1e-15 relative; a last step that raises f by more than ten
/// times that is not taken.
const ROUNDING_NOISE: f64 = 1e-14;

/// Iterations every start gets before the starts are compared ([`multi_start`]).
const SCREENING_ITERATIONS: usize = 40;
/// Starts carried on to convergence after screening.
const STARTS_CONTINUED: usize = 2;

/// Runs every start for [`SCREENING_ITERATIONS`], then continues only the [`STARTS_CONTINUED`]
/// lowest distinct ones that have not yet converged, up to `max_iterations`. Why: on real data
/// some starts crawl along a ridge towards a bound (a component turning into a point mass, α and β
/// rising together) for thousands of evaluations while staying worse than the best start; screening
/// stops paying for them. Every run's end point stays a candidate, so the result is still the lowest
/// −log-likelihood found, and it is deterministic. Returns the runs and the evaluations used.
fn multi_start(
    nll: &NegLogLikelihood,
    starts: &[Vec<f64>],
    bounds: &Bounds,
    max_iterations: usize,
) -> (Vec<Minimum>, usize) {
    let screened = map_runs(starts, |x0| {
        minimise(
            nll,
            x0.clone(),
            bounds,
            SCREENING_ITERATIONS.min(max_iterations),
            STARTS,
        )
    });
    let mut evaluations: usize = screened.iter().map(|r| r.evaluations).sum();
    let mut runs = screened;
    let mut order: Vec<usize> = (0..runs.len()).filter(|&i| runs[i].f.is_finite()).collect();
    order.sort_by(|&a, &b| runs[a].f.total_cmp(&runs[b].f).then(a.cmp(&b)));
    let mut continued: Vec<usize> = Vec::new();
    for i in order {
        if continued.len() == STARTS_CONTINUED {
            break;
        }
        let same_point = continued
            .iter()
            .any(|&j| same_basin(&runs[i].x, &runs[j].x));
        if !same_point {
            continued.push(i);
        }
    }
    continued.retain(|&i| !runs[i].converged && max_iterations > SCREENING_ITERATIONS);
    let resumed_from: Vec<Vec<f64>> = continued.iter().map(|&i| runs[i].x.clone()).collect();
    let resumed = map_runs(&resumed_from, |x0| {
        minimise(nll, x0.clone(), bounds, max_iterations, STARTS)
    });
    for (i, r) in continued.into_iter().zip(resumed) {
        evaluations += r.evaluations;
        runs[i] = r;
    }
    (runs, evaluations)
}

/// `run` on every start, in order, the starts side by side on rayon's pool (each run's
/// evaluations split their points over the same pool, so small data keep both cores busy through
/// the starts, large data through the chunks). Each run is the same computation on any number of
/// threads, so the result does not depend on it.
fn map_runs(starts: &[Vec<f64>], run: impl Fn(&Vec<f64>) -> Minimum + Sync + Send) -> Vec<Minimum> {
    use rayon::iter::{IntoParallelRefIterator, ParallelIterator};
    starts.par_iter().map(run).collect()
}

struct Minimum {
    x: Vec<f64>,
    f: f64,
    /// f at the starting point.
    f_start: f64,
    evaluations: usize,
    converged: bool,
    /// True when the run stopped by the gradient or the Newton-decrement test (not by a failed
    /// line search, a stall or the iteration cap).
    clean: bool,
}

/// f, its gradient and its Hessian in x-space (x = ln α1, ln β1, ln α2, ln β2, logit P).
///
/// With θ = θ(x) coordinate-wise, ∂f/∂x = θ′ ∂f/∂θ and ∂²f/∂xᵢ∂xⱼ = θ′ᵢ θ′ⱼ ∂²f/∂θᵢ∂θⱼ + δᵢⱼ θ″ᵢ ∂f/∂θᵢ,
/// where θ′ = θ″ = θ for the logarithms and θ′ = P(1 − P), θ″ = P(1 − P)(1 − 2P) for the logit.
fn objective(nll: &NegLogLikelihood, bounds: &Bounds, x: &[f64]) -> (f64, [f64; 5], [[f64; 5]; 5]) {
    let prior = bounds.to_prior(x);
    let d = nll.value_gradient_hessian(&prior);
    let pq = prior.p * (1.0 - prior.p);
    let d1 = [prior.alpha1, prior.beta1, prior.alpha2, prior.beta2, pq];
    let d2 = [
        prior.alpha1,
        prior.beta1,
        prior.alpha2,
        prior.beta2,
        pq * (1.0 - 2.0 * prior.p),
    ];
    let g: [f64; 5] = std::array::from_fn(|k| d.gradient[k] * d1[k]);
    let h: [[f64; 5]; 5] = std::array::from_fn(|i| {
        std::array::from_fn(|j| {
            d1[i] * d1[j] * d.hessian[i][j] + if i == j { d2[i] * d.gradient[i] } else { 0.0 }
        })
    });
    (d.value, g, h)
}

/// [`minimise_inner`], and with `VIGIL_DEBUG_FIT` a line on where it ended.
fn minimise(
    nll: &NegLogLikelihood,
    x0: Vec<f64>,
    bounds: &Bounds,
    max_iterations: usize,
    tolerance: Tolerance,
) -> Minimum {
    let m = minimise_inner(nll, x0, bounds, max_iterations, tolerance);
    if std::env::var_os("VIGIL_DEBUG_FIT").is_some() {
        eprintln!(
            "minimise: {} points, {} evaluations, f = {}, x = {:?}, converged {}",
            nll.len(),
            m.evaluations,
            m.f,
            m.x,
            m.converged
        );
    }
    m
}

/// The projected Newton method of [`fit_gamma_poisson_shrinker`] from `x0`, stopped by
/// `tolerance` or after `max_iterations`.
fn minimise_inner(
    nll: &NegLogLikelihood,
    x0: Vec<f64>,
    bounds: &Bounds,
    max_iterations: usize,
    tolerance: Tolerance,
) -> Minimum {
    let mut run = NewtonRun::start(nll, bounds, tolerance, x0);
    if !run.f.is_finite() {
        return run.end(false, false);
    }
    for iteration in 0..max_iterations {
        let free = run.free_variables();
        let pg_max = (0..N)
            .filter(|&k| free[k])
            .map(|k| run.g[k].abs())
            .fold(0.0, f64::max);
        if pg_max < tolerance.gradient * (1.0 + run.f.abs()) {
            return run.end(true, true);
        }
        let direction = run.search_direction(&free);
        if direction.undamped && direction.decrement <= tolerance.decrement * run.f.abs().max(1.0) {
            // The Newton decrement says the minimum is within 1e-12·|f|: one last full Newton step
            // (Armijo cannot judge it, the decrease is at the rounding noise of f) and stop.
            run.last_newton_step(&direction.step);
            return run.end(true, true);
        }
        let (accepted, t) = run.line_search(iteration, &free, &direction.step);
        if run.trace {
            eprintln!(
                "  iteration {iteration}: f {:.10}, step {t:e}, |pg| {pg_max:e}, d {:?}, {} evaluations",
                run.f, direction.step, run.evaluations
            );
        }
        let Some(accepted) = accepted else {
            // No decrease possible along the projected path: a (bounded) stationary point to
            // working precision.
            return run.end(true, false);
        };
        let decrease = run.f - accepted.f;
        run.take_step(accepted, t);
        if decrease <= 1e-12 * run.f.abs() {
            run.stalls += 1;
            if run.stalls >= 3 {
                return run.end(true, false);
            }
        } else {
            run.stalls = 0;
        }
    }
    run.end(false, false)
}

/// The number of parameters, the dimension of x.
const N: usize = PARAMETER_NAMES.len();

/// One run of [`minimise`]: what it minimises, and the iterate with what the method carries from
/// one iteration to the next.
struct NewtonRun<'a> {
    nll: &'a NegLogLikelihood,
    bounds: &'a Bounds,
    tolerance: Tolerance,
    /// `VIGIL_DEBUG_FIT=2`: a line per iteration.
    trace: bool,
    x: Vec<f64>,
    f: f64,
    f_start: f64,
    g: [f64; N],
    hess: [[f64; N]; N],
    /// The inverse Hessian of the last direction: Newton's when the Hessian could be made positive
    /// definite, otherwise the BFGS approximation updated along the steps since.
    inverse: [[f64; N]; N],
    evaluations: usize,
    /// Consecutive iterations that lowered f by at most 1e-12·|f|.
    stalls: usize,
    /// Consecutive full unit steps in one direction per coordinate, signed (see
    /// [`NewtonRun::jump_to_bounds`]).
    unit_steps: [f64; N],
}

/// A search direction of [`minimise`] and what its stopping test needs.
struct Direction {
    step: [f64; N],
    /// True when the step is Newton's without damping (the decrement test applies).
    undamped: bool,
    /// The decrease the quadratic model predicts along the step.
    decrement: f64,
}

/// A point of the line search, evaluated.
struct Trial {
    x: Vec<f64>,
    f: f64,
    g: [f64; N],
    hess: [[f64; N]; N],
}

impl<'a> NewtonRun<'a> {
    fn start(
        nll: &'a NegLogLikelihood,
        bounds: &'a Bounds,
        tolerance: Tolerance,
        x0: Vec<f64>,
    ) -> Self {
        let (f, g, hess) = objective(nll, bounds, &x0);
        let mut identity = [[0.0; N]; N];
        for (k, row) in identity.iter_mut().enumerate() {
            row[k] = 1.0;
        }
        Self {
            nll,
            bounds,
            tolerance,
            trace: std::env::var_os("VIGIL_DEBUG_FIT").is_some_and(|v| v == "2"),
            x: x0,
            f,
            f_start: f,
            g,
            hess,
            inverse: identity,
            evaluations: 1,
            stalls: 0,
            unit_steps: [0.0; N],
        }
    }

    fn end(self, converged: bool, clean: bool) -> Minimum {
        Minimum {
            x: self.x,
            f: self.f,
            f_start: self.f_start,
            evaluations: self.evaluations,
            converged,
            clean,
        }
    }

    /// The coordinates not held on a bound: a variable at a bound whose gradient pushes outward
    /// stays there.
    fn free_variables(&self) -> Vec<bool> {
        let (x, g, bounds) = (&self.x, &self.g, self.bounds);
        (0..N)
            .map(|k| {
                !((x[k] <= bounds.lo[k] + 1e-12 && g[k] > 0.0)
                    || (x[k] >= bounds.hi[k] - 1e-12 && g[k] < 0.0))
            })
            .collect()
    }

    /// Newton direction from the analytic Hessian when it can be made positive definite; otherwise
    /// the BFGS approximation carried from earlier iterations. A Newton step that leaves the box
    /// is replaced by the minimiser of the same model inside the box (`box_newton_step`) when that
    /// is a descent direction; a direction that is not one restarts from steepest descent.
    fn search_direction(&mut self, free: &[bool]) -> Direction {
        let newton = newton_inverse(&self.hess, free);
        let mut undamped = matches!(newton, Some((_, lambda)) if lambda == 0.0);
        if let Some((inverse, _)) = newton {
            self.inverse = inverse;
        }
        let mut d = [0.0; N];
        for i in 0..N {
            if free[i] {
                d[i] = -(0..N)
                    .filter(|&j| free[j])
                    .map(|j| self.inverse[i][j] * self.g[j])
                    .sum::<f64>();
            }
        }
        let mut box_decrease = None;
        if let Some((_, lambda)) = newton {
            let boxed =
                box_newton_step(&self.hess, lambda, &self.g, &self.x, self.bounds, free, &d);
            if let Some(boxed) = boxed {
                let box_slope: f64 = (0..N).map(|k| boxed.step[k] * self.g[k]).sum();
                if self.trace {
                    eprintln!(
                        "  box step {:?}, slope {box_slope:e}, model decrease {:e}",
                        boxed.step, boxed.model_decrease
                    );
                }
                if box_slope < 0.0 {
                    d = boxed.step;
                    undamped &= boxed.undamped;
                    box_decrease = Some(boxed.model_decrease);
                }
            }
        }
        let mut slope: f64 = (0..N).map(|k| d[k] * self.g[k]).sum();
        if slope >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            for (i, row) in self.inverse.iter_mut().enumerate() {
                *row = [0.0; N];
                row[i] = 1.0;
            }
            for k in 0..N {
                d[k] = if free[k] { -self.g[k] } else { 0.0 };
            }
            slope = (0..N).map(|k| d[k] * self.g[k]).sum();
        }
        Direction {
            step: d,
            undamped,
            decrement: box_decrease.unwrap_or(-0.5 * slope),
        }
    }

    /// The full step `d`, projected, taken when f does not rise by more than its rounding noise.
    fn last_newton_step(&mut self, d: &[f64; N]) {
        let mut xn: Vec<f64> = (0..N).map(|k| self.x[k] + d[k]).collect();
        self.bounds.project(&mut xn);
        let (fnew, _, _) = objective(self.nll, self.bounds, &xn);
        self.evaluations += 1;
        if fnew.is_finite() && fnew <= self.f + ROUNDING_NOISE * self.f.abs() {
            self.x = xn;
            self.f = fnew;
        }
    }

    /// Armijo backtracking along the projected path x + t·d from t = 1 (on the first iteration at
    /// most a unit move in x), after trying any coordinate at its bound first
    /// ([`NewtonRun::jump_to_bounds`]): the point accepted, if any, and the last t tried.
    fn line_search(
        &mut self,
        iteration: usize,
        free: &[bool],
        d: &[f64; N],
    ) -> (Option<Trial>, f64) {
        let dmax = d.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
        let mut t = if iteration == 0 && dmax > 1.0 {
            1.0 / dmax
        } else {
            1.0
        };
        if let Some(accepted) = self.jump_to_bounds(free, d) {
            return (Some(accepted), t);
        }
        for _ in 0..self.tolerance.halvings {
            let (trial, step_dot) =
                self.evaluate_projected((0..N).map(|k| self.x[k] + t * d[k]).collect());
            if trial.f.is_finite() && trial.f <= self.f + 1e-4 * step_dot {
                return (Some(trial), t);
            }
            t *= 0.5;
        }
        (None, t)
    }

    /// A coordinate whose full Newton steps keep moving it by about one unit towards a bound
    /// (twice before, and again now) is in the regime f ≈ a + b·e^(±x_k), where Newton's step
    /// is exactly one unit and walking to the bound takes one evaluation per unit (ln α from
    /// −1 to the bound at ln 1e-5 = −11.5: ten evaluations). Try it at the bound first; the
    /// usual search follows if that point fails Armijo's test.
    fn jump_to_bounds(&mut self, free: &[bool], d: &[f64; N]) -> Option<Trial> {
        let (x, bounds) = (&self.x, self.bounds);
        let jump: Vec<usize> = (0..N)
            .filter(|&k| {
                free[k]
                    && (0.5..=1.5).contains(&d[k].abs())
                    && self.unit_steps[k] * d[k].signum() >= 2.0
                    && (if d[k] < 0.0 {
                        x[k] - bounds.lo[k]
                    } else {
                        bounds.hi[k] - x[k]
                    }) > 2.0
            })
            .collect();
        if jump.is_empty() {
            return None;
        }
        let mut xn: Vec<f64> = (0..N).map(|k| x[k] + d[k]).collect();
        for &k in &jump {
            xn[k] = if d[k] < 0.0 {
                bounds.lo[k]
            } else {
                bounds.hi[k]
            };
        }
        let (trial, step_dot) = self.evaluate_projected(xn);
        (trial.f.is_finite() && step_dot < 0.0 && trial.f <= self.f + 1e-4 * step_dot)
            .then_some(trial)
    }

    /// `xn` projected onto the box and evaluated, with the slope of the step to it, (xn − x)ᵀg.
    fn evaluate_projected(&mut self, mut xn: Vec<f64>) -> (Trial, f64) {
        self.bounds.project(&mut xn);
        let step_dot: f64 = (0..N).map(|k| (xn[k] - self.x[k]) * self.g[k]).sum();
        let (f, g, hess) = objective(self.nll, self.bounds, &xn);
        self.evaluations += 1;
        (Trial { x: xn, f, g, hess }, step_dot)
    }

    /// Moves to the accepted point (reached with step length `t`), counting unit steps and
    /// updating the BFGS approximation of the inverse Hessian.
    fn take_step(&mut self, accepted: Trial, t: f64) {
        let s: Vec<f64> = (0..N).map(|k| accepted.x[k] - self.x[k]).collect();
        for (count, &sk) in self.unit_steps.iter_mut().zip(&s) {
            // Consecutive full unit steps in one direction, signed (see `jump_to_bounds`).
            let unit = t == 1.0 && (0.5..=1.5).contains(&sk.abs());
            *count = if !unit {
                0.0
            } else if *count * sk >= 0.0 {
                *count + sk.signum()
            } else {
                sk.signum()
            };
        }
        let y: Vec<f64> = (0..N).map(|k| accepted.g[k] - self.g[k]).collect();
        let sy: f64 = (0..N).map(|k| s[k] * y[k]).sum();
        self.x = accepted.x;
        self.f = accepted.f;
        self.g = accepted.g;
        self.hess = accepted.hess;
        if sy
            > 1e-12
                * (s.iter().map(|v| v * v).sum::<f64>().sqrt()
                    * y.iter().map(|v| v * v).sum::<f64>().sqrt())
        {
            // BFGS update of the inverse Hessian: H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ.
            let h = &mut self.inverse;
            let rho = 1.0 / sy;
            let hy: Vec<f64> = (0..N)
                .map(|i| (0..N).map(|j| h[i][j] * y[j]).sum())
                .collect();
            let yhy: f64 = (0..N).map(|i| y[i] * hy[i]).sum();
            for i in 0..N {
                for j in 0..N {
                    h[i][j] += -rho * (hy[i] * s[j] + s[i] * hy[j])
                        + (rho * rho * yhy + rho) * s[i] * s[j];
                }
            }
        }
    }
}

/// The step of [`minimise`] when the Newton step leaves the box: the minimiser of the same
/// quadratic model inside it.
struct BoxStep {
    step: [f64; 5],
    /// True when no Hessian on the way had to be damped.
    undamped: bool,
    /// The model's decrease from x to x + step, −(gᵀs + ½ sᵀHs) ≥ 0: the constrained counterpart
    /// of the Newton decrement λ²/2, which it equals when the step stays inside the box.
    model_decrease: f64,
}

/// Iterations of the active-set method in [`box_newton_step`]: each adds a bound or, at a
/// minimiser of its face, drops one; on five coordinates it ends within a few (cap reached only
/// by cycling, when the step found so far is kept).
const BOX_ITERATIONS: usize = 32;

/// The minimiser s of the quadratic model m(s) = gᵀs + ½ sᵀ(H + λI)s over the box
/// lo − x ≤ s ≤ hi − x, on the coordinates `free` (the others held at 0), when the Newton step `d`
/// (the model's unconstrained minimiser, from [`newton_inverse`] with damping λ) leaves the box;
/// `None` when `d` stays inside (then it is the answer) or a reduced Hessian cannot be inverted.
///
/// # Algorithm
/// The primal active-set method for convex quadratic programs (Nocedal & Wright 2006, Numerical
/// Optimization, 2nd ed., Algorithm 16.3), with bounds as the only constraints: from s = 0, each
/// iteration solves the model on the coordinates not in the working set (those held on a bound),
/// moves towards that solution until a bound blocks (which joins the working set), and, once the
/// solution is reached, drops the held coordinate whose model gradient points most strongly into
/// the box, or stops when none does (the KKT conditions of the box problem). The model is convex
/// on the free coordinates (H + λI is positive definite there, so is every principal submatrix),
/// hence m(s) ≤ m(0) = 0 and gᵀs ≤ −½ sᵀ(H + λI)s < 0 for s ≠ 0: a descent direction.
///
/// # Why
/// Projecting the Newton step onto the box keeps the part inside and drops the rest, which is no
/// Newton step when the coordinates are coupled. On a ridge where a component is nearly a point
/// mass (α and β large, α/β pinned by the data) with β on its upper bound and α just below, the
/// Newton step moves ln α and ln β together along the ridge; projected, ln β stays and ln α moves
/// alone, changing the component's mean, and every trial point of the line search was worse than
/// the start down to steps of 2⁻²⁰ (a 300,000-case synthetic store stratified by sex, age group and
/// year: the polish on the full data stopped where it started and the fallback fit ran). The
/// model's minimiser in the box is what the Newton step is on the face of the box the optimum
/// lies on, and its model decrease is a stopping test that does not depend on the ridge.
fn box_newton_step(
    hess: &[[f64; 5]; 5],
    lambda: f64,
    g: &[f64; 5],
    x: &[f64],
    bounds: &Bounds,
    free: &[bool],
    d: &[f64; 5],
) -> Option<BoxStep> {
    let upper: [f64; 5] = std::array::from_fn(|k| bounds.hi[k] - x[k]);
    let lower: [f64; 5] = std::array::from_fn(|k| bounds.lo[k] - x[k]);
    if (0..5).all(|k| !free[k] || (lower[k] <= d[k] && d[k] <= upper[k])) {
        return None;
    }
    let hess: [[f64; 5]; 5] = std::array::from_fn(|i| {
        std::array::from_fn(|j| hess[i][j] + if i == j { lambda } else { 0.0 })
    });
    let model_gradient = |s: &[f64; 5]| -> [f64; 5] {
        std::array::from_fn(|i| g[i] + (0..5).map(|j| hess[i][j] * s[j]).sum::<f64>())
    };
    let mut s = [0.0; 5];
    let mut held = [false; 5];
    let mut undamped = lambda == 0.0;
    for _ in 0..BOX_ITERATIONS {
        let moving: [bool; 5] = std::array::from_fn(|k| free[k] && !held[k]);
        // The model's minimiser with the held coordinates fixed: s_M + Δ with
        // Δ = −H_MM⁻¹ (∇m(s))_M on the moving coordinates M.
        let mut delta = [0.0; 5];
        if moving.iter().any(|&m| m) {
            let (inverse, more_damping) = newton_inverse(&hess, &moving)?;
            undamped &= more_damping == 0.0;
            let r = model_gradient(&s);
            for i in 0..5 {
                if moving[i] {
                    delta[i] = -(0..5)
                        .filter(|&j| moving[j])
                        .map(|j| inverse[i][j] * r[j])
                        .sum::<f64>();
                }
            }
        }
        // Ratio test: the first bound met on the way.
        let mut fraction = 1.0;
        let mut blocking = None;
        for k in 0..5 {
            if !moving[k] || delta[k] == 0.0 {
                continue;
            }
            let limit = if delta[k] > 0.0 { upper[k] } else { lower[k] };
            let reach = (limit - s[k]) / delta[k];
            if reach < fraction {
                fraction = reach.max(0.0);
                blocking = Some((k, limit));
            }
        }
        for k in 0..5 {
            s[k] += fraction * delta[k];
        }
        if let Some((k, limit)) = blocking {
            s[k] = limit;
            held[k] = true;
            continue;
        }
        // At the minimiser of this face: release the held coordinate whose model gradient points
        // most strongly into the box, if any.
        let r = model_gradient(&s);
        let inward = |k: usize| if s[k] >= upper[k] { r[k] } else { -r[k] };
        let release = (0..5)
            .filter(|&k| held[k] && inward(k) > 0.0)
            .max_by(|&a, &b| inward(a).total_cmp(&inward(b)));
        match release {
            Some(k) => held[k] = false,
            None => break,
        }
    }
    let linear: f64 = (0..5).map(|k| g[k] * s[k]).sum();
    let quadratic: f64 = (0..5)
        .map(|i| (0..5).map(|j| s[i] * hess[i][j] * s[j]).sum::<f64>())
        .sum();
    Some(BoxStep {
        step: s,
        undamped,
        model_decrease: -(linear + 0.5 * quadratic),
    })
}

/// The inverse of the Hessian `full` of f on the free coordinates (zero elsewhere), damped
/// (H + λI, λ from 1e-10·max|Hₖₖ| up by tens) until its Cholesky factorisation succeeds, and the
/// λ used (0 when undamped); `None` when it cannot be made positive definite or is not finite.
///
/// Why Newton and not BFGS alone: near the boundary optimum of real data one component becomes
/// nearly a point mass (α and β large, their ratio pinned), which makes the problem so
/// ill-conditioned that BFGS crawled for thousands of evaluations; with the exact Hessian
/// ([`NegLogLikelihood::value_gradient_hessian`], arithmetic on top of the gradient) the iterations
/// fall to tens, at one evaluation each.
fn newton_inverse(full: &[[f64; 5]; 5], free: &[bool]) -> Option<([[f64; 5]; 5], f64)> {
    let idx: Vec<usize> = (0..5).filter(|&k| free[k]).collect();
    let m = idx.len();
    if m == 0 {
        return None;
    }
    let hess: Vec<Vec<f64>> = idx
        .iter()
        .map(|&i| idx.iter().map(|&j| full[i][j]).collect())
        .collect();
    if hess.iter().flatten().any(|v| !v.is_finite()) {
        return None;
    }
    let scale = (0..m).map(|a| hess[a][a].abs()).fold(0.0, f64::max);
    if !scale.is_finite() || scale == 0.0 {
        return None;
    }
    let mut lambda = 0.0;
    for _ in 0..40 {
        if let Some(l) = cholesky_damped(&hess, lambda) {
            // Columns of the inverse: solve L Lᵀ v = eₐ.
            let mut inverse = [[0.0; 5]; 5];
            for a in 0..m {
                let mut y = vec![0.0; m];
                for i in 0..m {
                    let rhs = if i == a { 1.0 } else { 0.0 };
                    y[i] = (rhs - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
                }
                let mut v = vec![0.0; m];
                for i in (0..m).rev() {
                    v[i] = (y[i] - (i + 1..m).map(|k| l[k][i] * v[k]).sum::<f64>()) / l[i][i];
                }
                for (b, &j) in idx.iter().enumerate() {
                    inverse[j][idx[a]] = v[b];
                }
            }
            return Some((inverse, lambda));
        }
        lambda = if lambda == 0.0 {
            1e-10 * scale
        } else {
            lambda * 10.0
        };
    }
    None
}

/// Cholesky factor of `a + λI`, or `None` when it is not positive definite.
fn cholesky_damped(a: &[Vec<f64>], lambda: f64) -> Option<Vec<Vec<f64>>> {
    let m = a.len();
    let mut l = vec![vec![0.0; m]; m];
    for i in 0..m {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] + lambda - sum;
                if !(d.is_finite() && d > 0.0) {
                    return None;
                }
                l[i][i] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - sum) / l[j][j];
            }
        }
    }
    Some(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_options_are_pinned() {
        let o = FitOptions::default();
        assert_eq!(o.truncation, Truncation::ZeroTruncated);
        assert_eq!(o.starts.len(), 6);
        assert_eq!(
            o.starts[0],
            GammaMixturePrior {
                alpha1: 0.2,
                beta1: 0.1,
                alpha2: 2.0,
                beta2: 4.0,
                p: 1.0 / 3.0
            }
        );
        assert_eq!(o.shape_rate_bounds, (1e-5, 1e5));
        assert!(!o.squashed);
    }

    #[test]
    fn recovers_a_planted_prior_better_than_the_truth() {
        // Points drawn deterministically from known quantiles are not a sample from the model, so
        // the check is the defining property of a maximum: the fitted −log-likelihood is no higher
        // than at the prior used to make the data, nor at any start.
        let truth = GammaMixturePrior {
            alpha1: 2.0,
            beta1: 0.5,
            alpha2: 3.0,
            beta2: 3.0,
            p: 0.1,
        };
        let mut data = CountData::default();
        for i in 0..400 {
            let e = 0.05 + (i % 20) as f64 * 0.1;
            let n = 1.0 + ((i * 7919) % 13) as f64 * if i % 10 == 0 { 2.0 } else { 0.3 };
            data.n.push(n.round().max(1.0));
            data.e.push(e);
            data.w.push(1.0);
        }
        let fit = fit_gamma_poisson_shrinker(&data, &FitOptions::default()).unwrap();
        let nll = NegLogLikelihood::new(&data, Truncation::ZeroTruncated);
        assert!(fit.neg_log_lik <= nll.value(&truth) + 1e-9);
        for s in FitOptions::default().starts {
            assert!(fit.neg_log_lik <= nll.value(&s) + 1e-9);
        }
        assert!((nll.value(&fit.prior()) - fit.neg_log_lik).abs() < 1e-9 * fit.neg_log_lik.abs());
    }
}
