//! Ω, the shrinkage measure of drug–drug interaction of Norén, Sundberg, Bate & Edwards.
//!
//! Source: Norén GN, Sundberg R, Bate A, Edwards IR. A statistical methodology for drug–drug
//! interaction surveillance. Stat Med 2008;27:3057–70, eqs. 16 (additive-risk baseline g11), 19
//! (Ω) and 20 (its credibility interval), with α = 0.5 as in the paper.
//!
//! # The 2×2×2 table
//! Eight counts of one itemset (drug 1, drug 2, event) are enough: n111 (both drugs and the event),
//! n11· (both drugs), n1·1 (drug 1 and the event), n·11 (drug 2 and the event), n1··, n·1·, n··1
//! (each alone) and n··· (all reports). The cells the method needs follow by inclusion–exclusion:
//! ```text
//! n10· = n1·· − n11·                 n101 = n1·1 − n111        (drug 1 without drug 2)
//! n01· = n·1· − n11·                 n011 = n·11 − n111        (drug 2 without drug 1)
//! n00· = n··· − n1·· − n·1· + n11·   n001 = n··1 − n1·1 − n·11 + n111   (neither)
//! ```
//!
//! # Formula
//! ```text
//! f_ij = n_ij1 / n_ij·,   o_ij = f_ij / (1 − f_ij)                      (reporting odds)
//! g11  = 1 − 1 / (max(o00, o10) + max(o00, o01) − o00 + 1)              (eq. 16)
//! E111 = g11 · n11·            stratified: E111 = Σ_s g11,s · n11·,s
//! Ω    = log2((n111 + α) / (E111 + α)),  α = 0.5                        (eq. 19)
//! Ω025, Ω975 = log2 of the 2.5 % and 97.5 % quantiles of Gamma(shape n111 + α, rate E111 + α)  (eq. 20)
//! ```
//! A rate of 1 (every report of a stratum has the event) has infinite odds, and g11 is then 1.
//!
//! # Matches
//! The 12-row validation fixture of the Uppsala Monitoring Centre's pvOmega package (Ω and Ω025
//! to its 4 decimals; `tests/oracle_omega.rs`), three of whose rows are the paper's worked examples.

use crate::special::gamma_quantile;

/// The shrinkage added to observed and expected counts (Norén et al. 2008, α = 0.5).
pub const ALPHA: f64 = 0.5;

/// The eight counts of one (drug 1, drug 2, event) itemset, in one stratum or over all reports.
/// In the field names `x` stands for the paper's dot ("any"): `n1x1` is n1·1.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct OmegaCounts {
    /// Reports with drug 1, drug 2 and the event.
    pub n111: f64,
    /// Reports with drug 1 and drug 2.
    pub n11x: f64,
    /// Reports with drug 1 and the event.
    pub n1x1: f64,
    /// Reports with drug 2 and the event.
    pub nx11: f64,
    /// Reports with drug 1.
    pub n1xx: f64,
    /// Reports with drug 2.
    pub nx1x: f64,
    /// Reports with the event.
    pub nxx1: f64,
    /// All reports.
    pub nxxx: f64,
}

/// Why counts cannot give an Ω.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OmegaError {
    /// A cell of the 2×2×2 table is negative by inclusion–exclusion: the margins do not describe
    /// one set of reports.
    #[error("inconsistent counts: cell {cell} = {value} is negative by inclusion–exclusion")]
    NegativeCell {
        /// The cell's name (`n10.`, `n001`, …).
        cell: &'static str,
        /// Its value.
        value: f64,
    },
    /// n111 exceeds one of the two-way counts it is part of.
    #[error("inconsistent counts: n111 = {n111} exceeds {name} = {value}")]
    TripleAboveTwoWay {
        /// n111.
        n111: f64,
        /// The two-way count's name.
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// A count is negative, fractional or not finite.
    #[error("invalid count {name} = {value}: counts are whole numbers ≥ 0")]
    InvalidCount {
        /// The count's name.
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// A reporting rate of the baseline has no reports to be computed from (no report with drug 1
    /// but not drug 2, with drug 2 but not drug 1, or with neither): g11 is undefined.
    #[error("no baseline: no report in stratum {stratum} (drug 1 ⇒ drug 2, or drug 2 ⇒ drug 1, or every report has a drug)")]
    EmptyStratum {
        /// `n10.`, `n01.` or `n00.`.
        stratum: &'static str,
    },
}

/// Ω with its interval and the unshrunk ratio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Omega {
    /// Expected count E111 under the additive-risk baseline (summed over strata when stratified).
    pub expected: f64,
    /// Unshrunk observed/expected n111/E111 (+∞ when E111 = 0 < n111, NaN when both are 0).
    pub observed_expected: f64,
    /// Ω = log2((n111 + α)/(E111 + α)).
    pub omega: f64,
    /// Lower limit of the 95 % credibility interval, log2 units (signal: Ω025 > 0).
    pub omega025: f64,
    /// Upper limit of the 95 % credibility interval, log2 units.
    pub omega975: f64,
}

impl OmegaCounts {
    fn check(&self) -> Result<(), OmegaError> {
        let named = [
            ("n111", self.n111),
            ("n11.", self.n11x),
            ("n1.1", self.n1x1),
            ("n.11", self.nx11),
            ("n1..", self.n1xx),
            ("n.1.", self.nx1x),
            ("n..1", self.nxx1),
            ("n...", self.nxxx),
        ];
        for (name, value) in named {
            if !value.is_finite() || value < 0.0 || value.fract() != 0.0 {
                return Err(OmegaError::InvalidCount { name, value });
            }
        }
        for (name, value) in [
            ("n11.", self.n11x),
            ("n1.1", self.n1x1),
            ("n.11", self.nx11),
        ] {
            if self.n111 > value {
                return Err(OmegaError::TripleAboveTwoWay {
                    n111: self.n111,
                    name,
                    value,
                });
            }
        }
        let cells = [
            ("n10.", self.n1xx - self.n11x),
            ("n01.", self.nx1x - self.n11x),
            ("n00.", self.nxxx - self.n1xx - self.nx1x + self.n11x),
            ("n101", self.n1x1 - self.n111),
            ("n011", self.nx11 - self.n111),
            ("n001", self.nxx1 - self.n1x1 - self.nx11 + self.n111),
            // The event among the reports with drug 1 (or drug 2, or neither) cannot outnumber them.
            ("n100", (self.n1xx - self.n11x) - (self.n1x1 - self.n111)),
            ("n010", (self.nx1x - self.n11x) - (self.nx11 - self.n111)),
            (
                "n000",
                (self.nxxx - self.n1xx - self.nx1x + self.n11x)
                    - (self.nxx1 - self.n1x1 - self.nx11 + self.n111),
            ),
        ];
        for (cell, value) in cells {
            if value < 0.0 {
                return Err(OmegaError::NegativeCell { cell, value });
            }
        }
        Ok(())
    }

    /// The baseline rate g11 of eq. 16, after checking the counts.
    pub fn g11(&self) -> Result<f64, OmegaError> {
        self.check()?;
        let n10 = self.n1xx - self.n11x;
        let n01 = self.nx1x - self.n11x;
        let n00 = self.nxxx - self.n1xx - self.nx1x + self.n11x;
        let n101 = self.n1x1 - self.n111;
        let n011 = self.nx11 - self.n111;
        let n001 = self.nxx1 - self.n1x1 - self.nx11 + self.n111;
        let odds = |events: f64, reports: f64, stratum: &'static str| -> Result<f64, OmegaError> {
            if reports == 0.0 {
                return Err(OmegaError::EmptyStratum { stratum });
            }
            // events ≤ reports was checked; a rate of 1 has infinite odds.
            Ok(if events >= reports {
                f64::INFINITY
            } else {
                events / (reports - events)
            })
        };
        let o00 = odds(n001, n00, "n00.")?;
        let o10 = odds(n101, n10, "n10.")?;
        let o01 = odds(n011, n01, "n01.")?;
        let denominator = o10.max(o00) + o01.max(o00) - o00 + 1.0;
        // max(o00, ·) ≥ o00, so the denominator is ≥ 1 or +∞ (∞ − ∞ cannot occur: when o00 = ∞
        // both maxima are ∞ and so is max + max − o00, taken as ∞).
        Ok(if o00.is_infinite() || denominator.is_infinite() {
            1.0
        } else {
            1.0 - 1.0 / denominator
        })
    }
}

/// Ω of one itemset from its eight counts (one stratum).
pub fn omega(counts: &OmegaCounts) -> Result<Omega, OmegaError> {
    omega_stratified(std::slice::from_ref(counts))
}

/// Ω of one itemset whose counts are given per stratum: observed n111 = Σ_s n111,s and expected
/// E111 = Σ_s g11,s · n11·,s (Norén et al. 2008, section on stratification). Strata without a
/// report of both drugs contribute nothing to either sum and are skipped (their baseline may be
/// undefined without mattering).
pub fn omega_stratified(strata: &[OmegaCounts]) -> Result<Omega, OmegaError> {
    let mut observed = 0.0;
    let mut expected = 0.0;
    for s in strata {
        s.check()?;
        if s.n11x == 0.0 {
            continue;
        }
        observed += s.n111;
        expected += s.g11()? * s.n11x;
    }
    Ok(omega_from_expected(observed, expected))
}

/// Ω, Ω025 and Ω975 from the observed count n111 and the expected count E111.
pub fn omega_from_expected(n111: f64, expected: f64) -> Omega {
    let shape = n111 + ALPHA;
    let rate = expected + ALPHA;
    Omega {
        expected,
        observed_expected: n111 / expected,
        omega: (shape / rate).log2(),
        omega025: gamma_quantile(shape, rate, 0.025).log2(),
        omega975: gamma_quantile(shape, rate, 0.975).log2(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(c: [f64; 8]) -> OmegaCounts {
        OmegaCounts {
            n111: c[0],
            n11x: c[1],
            n1x1: c[2],
            nx11: c[3],
            n1xx: c[4],
            nx1x: c[5],
            nxx1: c[6],
            nxxx: c[7],
        }
    }

    #[test]
    fn g11_by_hand() {
        // Terfenadine + digoxin (Norén et al. 2008, fixture row 11): n111 10, n11. 23, n1.1 10,
        // n.11 19, n1.. 39, n.1. 1489, n..1 39, n... 5503.
        // n10. = 16, n101 = 0 → f10 = 0, o10 = 0; n01. = 1466, n011 = 9 → o01 = 9/1457;
        // n00. = 5503 − 39 − 1489 + 23 = 3998, n001 = 39 − 10 − 19 + 10 = 20 → o00 = 20/3978.
        // max(o00, o10) = 20/3978; max(o00, o01) = 9/1457; g11 = 1 − 1/(9/1457 + 1).
        let c = counts([10.0, 23.0, 10.0, 19.0, 39.0, 1489.0, 39.0, 5503.0]);
        let expected_g11 = 1.0 - 1.0 / (9.0 / 1457.0 + 1.0);
        assert!((c.g11().unwrap() - expected_g11).abs() < 1e-15);
        // E111 = 23 g11 = 23·9/1466 = 0.14120...; Ω = log2(10.5/(0.14120 + 0.5)).
        let o = omega(&c).unwrap();
        assert!((o.expected - 23.0 * 9.0 / 1466.0).abs() < 1e-13);
        assert!((o.omega - (10.5_f64 / (23.0 * 9.0 / 1466.0 + 0.5)).log2()).abs() < 1e-13);
    }

    #[test]
    fn inconsistent_counts_are_errors() {
        // n111 = 30 > n11. = 25.
        let c = counts([30.0, 25.0, 40.0, 40.0, 100.0, 100.0, 200.0, 1000.0]);
        assert!(matches!(
            omega(&c),
            Err(OmegaError::TripleAboveTwoWay { name: "n11.", .. })
        ));
        // n1.. = 20 < n11. = 25: n10. = −5.
        let c = counts([5.0, 25.0, 10.0, 10.0, 20.0, 100.0, 200.0, 1000.0]);
        assert!(matches!(
            omega(&c),
            Err(OmegaError::NegativeCell { cell: "n10.", .. })
        ));
        // n..1 = 10 < n1.1 + n.11 − n111 = 15: n001 = −5.
        let c = counts([5.0, 25.0, 10.0, 10.0, 100.0, 100.0, 10.0, 1000.0]);
        assert!(matches!(
            omega(&c),
            Err(OmegaError::NegativeCell { cell: "n001", .. })
        ));
        let c = counts([0.5, 25.0, 10.0, 10.0, 100.0, 100.0, 100.0, 1000.0]);
        assert!(matches!(
            omega(&c),
            Err(OmegaError::InvalidCount { name: "n111", .. })
        ));
        // Drug 1 only ever reported with drug 2: n10. = 0, no baseline rate for drug 1 alone.
        let c = counts([5.0, 25.0, 5.0, 10.0, 25.0, 100.0, 100.0, 1000.0]);
        assert_eq!(omega(&c), Err(OmegaError::EmptyStratum { stratum: "n10." }));
    }
}
