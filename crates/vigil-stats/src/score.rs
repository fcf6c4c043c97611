//! Every score of every pair: the row `vigil signals` prints.

use crate::disproportionality::{bcpnn_ic, chi2_yates, information_component, prr, ror};
use crate::mgps::posterior::{posterior, DistinctPosteriors, Posterior, PosteriorCache};
use crate::mgps::GammaMixturePrior;
use crate::table::ContingencyTable;

/// Thresholds that turn scores into signal flags.
///
/// # Defaults and sources
/// - PRR (Evans, Waller & Davis 2001, Pharmacoepidemiol Drug Saf 10:483–486): PRR ≥ 2, Yates
///   χ² ≥ 4 and a ≥ 3.
/// - ROR (van Puijenbroek et al. 2002): lower 95 % limit > 1, with a ≥ 3.
/// - IC (WHO-UMC; Norén et al. 2013): IC025 > 0.
/// - MGPS (Szarfman, Machado & O'Neill 2002, Drug Saf 25:381–392; FDA/Empirica practice): EB05 ≥ 2.
pub mod thresholds {
    /// Evans: minimum PRR.
    pub const PRR_MIN: f64 = 2.0;
    /// Evans: minimum Yates χ².
    pub const CHI2_MIN: f64 = 4.0;
    /// Evans and ROR: minimum number of reports.
    pub const A_MIN: f64 = 3.0;
    /// MGPS: minimum EB05.
    pub const EB05_MIN: f64 = 2.0;
}

/// All scores of one drug–event pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairScores {
    /// The pair's 2×2 table.
    pub table: ContingencyTable,
    /// Expected count E.
    pub expected: f64,
    /// PRR and its 95 % limits.
    pub prr: f64,
    /// Lower 95 % limit of PRR.
    pub prr_lower: f64,
    /// Upper 95 % limit of PRR.
    pub prr_upper: f64,
    /// Yates-corrected χ².
    pub chi2_yates: f64,
    /// ROR.
    pub ror: f64,
    /// Lower 95 % limit of ROR (Woolf).
    pub ror_lower: f64,
    /// Upper 95 % limit of ROR (Woolf).
    pub ror_upper: f64,
    /// WHO-UMC shrinkage IC.
    pub ic: f64,
    /// IC 2.5 % credibility limit.
    pub ic025: f64,
    /// IC 97.5 % credibility limit.
    pub ic975: f64,
    /// PhViD BCPNN E(IC).
    pub bcpnn_ic: f64,
    /// PhViD BCPNN lower limit.
    pub bcpnn_ic025: f64,
    /// MGPS EBGM (NaN without a prior).
    pub ebgm: f64,
    /// MGPS EB05.
    pub eb05: f64,
    /// MGPS EB95.
    pub eb95: f64,
    /// Evans criteria met.
    pub signal_prr: bool,
    /// ROR lower limit > 1 and a ≥ 3.
    pub signal_ror: bool,
    /// IC025 > 0.
    pub signal_ic: bool,
    /// EB05 ≥ 2.
    pub signal_ebgm: bool,
}

/// The four signal methods in the order every output lists them, with the name shown to readers
/// and the column of the flag in the signal table.
pub const SIGNAL_METHODS: [(&str, &str); 4] = [
    ("PRR", "signal_prr"),
    ("ROR", "signal_ror"),
    ("IC", "signal_ic"),
    ("EBGM", "signal_ebgm"),
];

impl PairScores {
    /// The four flags in [`SIGNAL_METHODS`] order.
    pub fn flags(&self) -> [bool; 4] {
        [
            self.signal_prr,
            self.signal_ror,
            self.signal_ic,
            self.signal_ebgm,
        ]
    }

    /// The names of the methods that flag this pair (`PRR`, `ROR`, `IC`, `EBGM`, in that order);
    /// empty when none does.
    pub fn signals(&self) -> Vec<&'static str> {
        SIGNAL_METHODS
            .iter()
            .zip(self.flags())
            .filter(|(_, on)| *on)
            .map(|((name, _), _)| *name)
            .collect()
    }
}

/// Scores one pair from its count, margins and expected count; MGPS is left NaN when `prior` is
/// `None`.
pub fn score_pair(
    a: f64,
    n_drug: f64,
    n_event: f64,
    n_total: f64,
    expected: f64,
    prior: Option<&GammaMixturePrior>,
) -> PairScores {
    let post = prior.map(|pr| posterior(pr, a, expected));
    score_with_posterior(a, n_drug, n_event, n_total, expected, post)
}

fn score_with_posterior(
    a: f64,
    n_drug: f64,
    n_event: f64,
    n_total: f64,
    expected: f64,
    post: Option<Posterior>,
) -> PairScores {
    use thresholds::*;
    let table = ContingencyTable::from_margins(a, n_drug, n_event, n_total);
    let p = prr(&table, 0.95);
    let r = ror(&table, 0.95);
    let chi2 = chi2_yates(&table);
    let ic = information_component(a, expected, 0.95);
    let (bcpnn, bcpnn_lo) = bcpnn_ic(&table, 0.95);
    let (ebgm, eb05, eb95) =
        post.map_or((f64::NAN, f64::NAN, f64::NAN), |p| (p.ebgm, p.eb05, p.eb95));
    PairScores {
        table,
        expected,
        prr: p.estimate,
        prr_lower: p.lower,
        prr_upper: p.upper,
        chi2_yates: chi2,
        ror: r.estimate,
        ror_lower: r.lower,
        ror_upper: r.upper,
        ic: ic.estimate,
        ic025: ic.lower,
        ic975: ic.upper,
        bcpnn_ic: bcpnn,
        bcpnn_ic025: bcpnn_lo,
        ebgm,
        eb05,
        eb95,
        signal_prr: p.estimate >= PRR_MIN && chi2 >= CHI2_MIN && a >= A_MIN,
        signal_ror: r.lower > 1.0 && a >= A_MIN,
        signal_ic: ic.lower > 0.0,
        signal_ebgm: eb05 >= EB05_MIN,
    }
}

/// [`score_pair`] over columns, spread over the available cores; output order follows input order.
pub fn score_pairs(
    a: &[f64],
    n_drug: &[f64],
    n_event: &[f64],
    n_total: &[f64],
    expected: &[f64],
    prior: Option<&GammaMixturePrior>,
) -> Vec<PairScores> {
    score_pairs_with(
        a,
        n_drug,
        n_event,
        n_total,
        expected,
        prior.map(MgpsScores::Prior),
    )
}

/// Where [`score_pairs_with`] takes the MGPS posteriors from.
#[derive(Debug, Clone, Copy)]
pub enum MgpsScores<'a> {
    /// Solve each pair's posterior under this prior.
    Prior(&'a GammaMixturePrior),
    /// Posteriors already solved for these pairs ([`crate::mgps::posterior::posterior_distinct`]),
    /// with the offset of the first pair scored here in their index.
    Solved(&'a DistinctPosteriors, usize),
}

/// [`score_pairs`] with the MGPS posteriors solved on the fly or taken from a table.
pub fn score_pairs_with(
    a: &[f64],
    n_drug: &[f64],
    n_event: &[f64],
    n_total: &[f64],
    expected: &[f64],
    mgps: Option<MgpsScores<'_>>,
) -> Vec<PairScores> {
    let len = a.len();
    assert!(
        n_drug.len() == len
            && n_event.len() == len
            && n_total.len() == len
            && expected.len() == len
    );
    let threads = std::thread::available_parallelism()
        .map(|t| t.get())
        .unwrap_or(1);
    let chunk = len.div_ceil(threads).max(4096);
    let mut out: Vec<Vec<PairScores>> = Vec::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..len.div_ceil(chunk))
            .map(|c| {
                s.spawn(move || {
                    let lo = c * chunk;
                    let hi = (lo + chunk).min(len);
                    let mgps = mgps.map(|m| match m {
                        MgpsScores::Solved(table, offset) => MgpsScores::Solved(table, offset + lo),
                        prior => prior,
                    });
                    let mut scores = Vec::new();
                    score_pairs_into(
                        &a[lo..hi],
                        &n_drug[lo..hi],
                        &n_event[lo..hi],
                        &n_total[lo..hi],
                        &expected[lo..hi],
                        mgps,
                        &mut scores,
                    );
                    scores
                })
            })
            .collect();
        for h in handles {
            out.push(h.join().expect("scoring worker panicked"));
        }
    });
    out.into_iter().flatten().collect()
}

/// [`score_pairs_with`] on the calling thread, into `out` (cleared first, its allocation kept):
/// for callers that spread their own chunks of rows over the cores and reuse their buffers.
pub fn score_pairs_into(
    a: &[f64],
    n_drug: &[f64],
    n_event: &[f64],
    n_total: &[f64],
    expected: &[f64],
    mgps: Option<MgpsScores<'_>>,
    out: &mut Vec<PairScores>,
) {
    let len = a.len();
    assert!(
        n_drug.len() == len
            && n_event.len() == len
            && n_total.len() == len
            && expected.len() == len
    );
    out.clear();
    out.reserve(len);
    // One posterior cache per call: the count terms are shared by every pair with the same count.
    let mut cache = match mgps {
        Some(MgpsScores::Prior(prior)) => Some(PosteriorCache::new(prior)),
        _ => None,
    };
    out.extend((0..len).map(|i| {
        let post = match mgps {
            Some(MgpsScores::Prior(_)) => cache.as_mut().map(|c| c.posterior(a[i], expected[i])),
            Some(MgpsScores::Solved(table, offset)) => Some(*table.get(offset + i)),
            None => None,
        };
        score_with_posterior(a[i], n_drug[i], n_event[i], n_total[i], expected[i], post)
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mgps::posterior::posterior_distinct;

    #[test]
    fn signals_lists_the_flagging_methods_in_order() {
        // a = 10 of n_drug = 20, n_event = 30, n = 1000: PRR = (10/20) / (20/980) = 24.5 ≥ 2 with
        // a ≥ 3 and a large χ², so PRR and ROR flag; E = 20·30/1000 = 0.6 ≪ 10, so IC025 > 0.
        // No prior: EBGM is NaN and cannot flag.
        let s = score_pair(10.0, 20.0, 30.0, 1000.0, 0.6, None);
        assert!((s.prr - 24.5).abs() < 1e-12);
        assert_eq!(s.signals(), vec!["PRR", "ROR", "IC"]);
        assert_eq!(s.flags(), [true, true, true, false]);
        // a = 1: below the a ≥ 3 rule of PRR and ROR, and one report leaves IC025 below 0.
        let s = score_pair(1.0, 20.0, 30.0, 1000.0, 0.6, None);
        assert!(s.ic025 < 0.0);
        assert!(s.signals().is_empty());
    }

    #[test]
    fn solved_posteriors_give_the_same_scores() {
        let prior = GammaMixturePrior {
            alpha1: 0.2,
            beta1: 0.06,
            alpha2: 1.4,
            beta2: 1.8,
            p: 0.1,
        };
        // Repeated (N, E) among 5,000 pairs.
        let len = 5_000;
        let a: Vec<f64> = (0..len).map(|i| (1 + i % 7) as f64).collect();
        let n_drug: Vec<f64> = (0..len).map(|i| (20 + i % 13) as f64).collect();
        let n_event: Vec<f64> = (0..len).map(|i| (30 + i % 11) as f64).collect();
        let n_total = vec![10_000.0; len];
        let expected: Vec<f64> = (0..len)
            .map(|i| n_drug[i] * n_event[i] / n_total[i])
            .collect();
        let direct = score_pairs(&a, &n_drug, &n_event, &n_total, &expected, Some(&prior));
        let table = posterior_distinct(&prior, &a, &expected);
        assert!(table.values.len() < len / 5);
        let solved = score_pairs_with(
            &a[100..],
            &n_drug[100..],
            &n_event[100..],
            &n_total[100..],
            &expected[100..],
            Some(MgpsScores::Solved(&table, 100)),
        );
        assert_eq!(&direct[100..], &solved[..]);
    }
}
