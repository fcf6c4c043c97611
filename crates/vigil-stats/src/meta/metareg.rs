//! Meta-regression helpers: design matrices from moderator columns and the pseudo-R².
//!
//! The model itself is [`super::rma::fit`] with a design matrix; predictions at given moderator
//! values are [`super::rma::RmaFit::predict`].

use super::input::{is_missing, InputError, Omitted, TrialTable};
use super::linalg::Matrix;
use super::rma::{fit, RmaFit};
use super::tau2::Method;
use super::MetaError;

/// The design matrix `[1, m1, m2, …]` from moderator columns (each of length k); with no study it
/// is 0 × (1 + number of columns).
pub fn design_with_intercept(columns: &[Vec<f64>]) -> Matrix {
    intercept_design(columns.first().map_or(0, Vec::len), columns)
}

/// [`design_with_intercept`] for `k` studies (which need not be told by a column: a categorical
/// moderator with a single level has no dummy).
fn intercept_design(k: usize, columns: &[Vec<f64>]) -> Matrix {
    if k == 0 {
        return Matrix::zeros(0, columns.len() + 1);
    }
    let rows: Vec<Vec<f64>> = (0..k)
        .map(|i| {
            std::iter::once(1.0)
                .chain(columns.iter().map(|c| c[i]))
                .collect()
        })
        .collect();
    Matrix::from_rows(&rows)
}

/// The meta-regression design of [`moderator_design`].
#[derive(Debug, Clone, PartialEq)]
pub struct ModeratorDesign {
    /// Coefficient names (`intrcpt` first; a dummy is named column then level, as metafor does).
    pub names: Vec<String>,
    /// The matrix, one row per study in the regression.
    pub x: Matrix,
    /// Positions in `used` of those studies.
    pub rows: Vec<usize>,
    /// Studies left out for a missing moderator.
    pub omitted: Vec<Omitted>,
}

/// The design `[1, moderators…]` of the studies `used` (rows of `table`) on the columns `mods`.
///
/// A study with a missing moderator is left out of the meta-regression (metafor's `na.omit`) and
/// listed. A column with a cell that is not a finite number is categorical: one dummy for every
/// level but the first, levels sorted as text (R's `factor` default), named `{column}{level}`.
///
/// # Errors
/// A moderator column that does not exist, reported at the header.
pub fn moderator_design(
    table: &TrialTable,
    mods: &[String],
    used: &[usize],
) -> Result<ModeratorDesign, InputError> {
    let raws = mods
        .iter()
        .map(|m| table.require(m, "--mods"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows = Vec::new();
    let mut omitted = Vec::new();
    for (j, &i) in used.iter().enumerate() {
        let missing: Vec<String> = mods
            .iter()
            .zip(&raws)
            .filter(|(_, raw)| is_missing(&raw[i]))
            .map(|(m, _)| m.clone())
            .collect();
        if missing.is_empty() {
            rows.push(j);
        } else {
            omitted.push(Omitted {
                row: i,
                line: table.lines[i],
                study: table.studies[i].clone(),
                fields: missing,
            });
        }
    }
    let mut names = vec!["intrcpt".to_string()];
    let mut cols: Vec<Vec<f64>> = Vec::new();
    for (m, raw) in mods.iter().zip(&raws) {
        let cells: Vec<&String> = rows.iter().map(|&j| &raw[used[j]]).collect();
        let numeric: Option<Vec<f64>> = cells
            .iter()
            .map(|s| s.parse::<f64>().ok().filter(|v| v.is_finite()))
            .collect();
        match numeric {
            Some(v) => {
                names.push(m.clone());
                cols.push(v);
            }
            None => {
                let mut levels: Vec<&String> = cells.clone();
                levels.sort();
                levels.dedup();
                for lvl in levels.iter().skip(1) {
                    names.push(format!("{m}{lvl}"));
                    cols.push(
                        cells
                            .iter()
                            .map(|c| if c == lvl { 1.0 } else { 0.0 })
                            .collect(),
                    );
                }
            }
        }
    }
    Ok(ModeratorDesign {
        x: intercept_design(rows.len(), &cols),
        names,
        rows,
        omitted,
    })
}

/// Pseudo-R²: the proportion of τ² accounted for by the moderators, in percent.
///
/// # Formula
/// `R² = 100 max(0, (τ²_RE − τ²_ME)/τ²_RE)`, `τ²_RE` from the intercept-only model with the same
/// method, `τ²_ME` from the mixed-effects model. For an equal-effects model metafor 3.8 uses the
/// residual heterogeneity per df instead: `R² = 100 max(0, (H²_RE − H²_ME)/H²_RE)`, `H² = QE/(k−p)`
/// (checked against the metafor oracle).
///
/// # Defaults
/// As metafor's `R2` field of `rma.uni` with moderators.
///
/// # Edge cases
/// `None` for models without moderators or intercept, and when `τ²_RE = 0` (or `H²_RE = 0`).
///
/// # References
/// Raudenbush SW (2009) in The Handbook of Research Synthesis and Meta-Analysis, 2nd ed., 295–315;
/// López-López JA et al. (2014) Br J Math Stat Psychol 67:30–48; metafor documentation `rma.uni`.
pub fn pseudo_r2(model: &RmaFit) -> Result<Option<f64>, MetaError> {
    if model.p < 2 || !model.intercept {
        return Ok(None);
    }
    let re = fit(&model.yi, &model.vi, None, model.options)?;
    if model.options.method == Method::EE {
        return Ok(if re.h2 > 0.0 {
            Some((100.0 * (re.h2 - model.h2) / re.h2).max(0.0))
        } else {
            None
        });
    }
    if !(re.tau2 > 0.0) {
        return Ok(None);
    }
    Ok(Some((100.0 * (re.tau2 - model.tau2) / re.tau2).max(0.0)))
}
