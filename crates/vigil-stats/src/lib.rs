//! Pure numerics for vigil: every number vigil reports is computed here.
//!
//! `vigil-stats` owns the statistics and nothing else. It reads no file and knows nothing of FAERS,
//! Parquet or HTTP: `vigil-store` turns reports into counts, and the `vigil` binary turns the
//! numbers this crate returns into tables, plots and reports.
//!
//! # Brief overview
//! - [`table::ContingencyTable`]: the 2×2 table of one drug–event pair, with its cell order drawn out.
//! - [`disproportionality`]: PRR, ROR, Yates χ², the WHO-UMC shrinkage IC and the PhViD BCPNN IC.
//! - [`mgps`]: the Multi-item Gamma Poisson Shrinker: the two-gamma-mixture prior, its
//!   maximum-likelihood fit, optional squashing, and the posterior (EBGM, EB05, EB95).
//! - [`fdr`]: Benjamini–Hochberg q-values of PRR and ROR p-values, posterior null probabilities of
//!   IC and MGPS and their Bayesian FDR (PhViD decision rules).
//! - [`maxsprt`]: the Poisson maximized sequential probability ratio test (MaxSPRT), exact critical
//!   values for continuous and group-sequential monitoring.
//! - [`omega`]: Ω, the shrinkage observed-to-expected measure of drug–drug interaction (Norén et al.
//!   2008), with stratified expected counts.
//! - [`normal`]: the standard normal distribution (Φ, Φ̄, Φ⁻¹), the one home of every normal tail
//!   and critical value in vigil.
//! - [`special`]: the few special functions statrs does not provide (trigamma, `ln(1 − eˣ)`), and the
//!   quantile of a gamma mixture that every interval reduces to.
//! - [`incomplete_gamma`]: the regularised incomplete gamma functions with per-shape constants, the
//!   innermost loop of every EB05/EB95 and IC limit (series, continued fraction, Temme's expansion).
//!
//! # Example
//! ```
//! use vigil_stats::table::ContingencyTable;
//! use vigil_stats::disproportionality::ror;
//! // 12 reports with drug and event, 88 with the drug only, 30 with the event only, 9,870 with neither.
//! let t = ContingencyTable::new(12.0, 88.0, 30.0, 9870.0);
//! let r = ror(&t, 0.95);
//! assert!((r.estimate - 12.0 * 9870.0 / (88.0 * 30.0)).abs() < 1e-12);
//! ```
//!
//! # Reference tools
//! Disproportionality and MGPS must match openEBGM 0.9.1 and PhViD 1.0.8; the tests read the oracle
//! outputs in `../shared/oracle/pv/` and skip with a message when that folder is absent.
#![deny(missing_docs)]

pub mod disproportionality;
pub mod fdr;
pub mod incomplete_gamma;
pub mod maxsprt;
pub mod meta;
pub mod mgps;
pub mod normal;
pub mod omega;
pub mod score;
pub mod special;
pub mod table;
pub mod weibull;
