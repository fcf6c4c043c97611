//! Per-study effect sizes from 2×2 tables (metafor's `escalc` for RR, OR, RD and PETO), with
//! metafor's zero-cell handling.

/// One study's 2×2 table: `ai`/`bi` events/non-events in the treated arm, `ci`/`di` in the control arm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Table2x2 {
    /// Treated arm, with the event.
    pub ai: f64,
    /// Treated arm, without the event.
    pub bi: f64,
    /// Control arm, with the event.
    pub ci: f64,
    /// Control arm, without the event.
    pub di: f64,
}

impl Table2x2 {
    /// A table from its four cells.
    pub fn new(ai: f64, bi: f64, ci: f64, di: f64) -> Self {
        Table2x2 { ai, bi, ci, di }
    }

    /// A table from events and totals per arm (`bi = n1i - ai`, `di = n2i - ci`).
    pub fn from_totals(ai: f64, n1i: f64, ci: f64, n2i: f64) -> Self {
        Table2x2 {
            ai,
            bi: n1i - ai,
            ci,
            di: n2i - ci,
        }
    }

    /// Treated-arm size `ai + bi`.
    pub fn n1(&self) -> f64 {
        self.ai + self.bi
    }

    /// Control-arm size `ci + di`.
    pub fn n2(&self) -> f64 {
        self.ci + self.di
    }

    /// Whether any cell is zero.
    pub fn has_zero(&self) -> bool {
        self.ai == 0.0 || self.bi == 0.0 || self.ci == 0.0 || self.di == 0.0
    }

    /// Whether the table is "double zero": no events in either arm, or only events in both arms
    /// (metafor's `drop00` test: `ai == 0 & ci == 0 | bi == 0 & di == 0`).
    pub fn is_double_zero(&self) -> bool {
        (self.ai == 0.0 && self.ci == 0.0) || (self.bi == 0.0 && self.di == 0.0)
    }

    /// The table with `add` added to all four cells.
    pub fn plus(&self, add: f64) -> Self {
        Table2x2 {
            ai: self.ai + add,
            bi: self.bi + add,
            ci: self.ci + add,
            di: self.di + add,
        }
    }
}

/// Effect measure for two-arm binary outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Log risk ratio.
    RR,
    /// Log odds ratio.
    OR,
    /// Risk difference.
    RD,
    /// Log Peto odds ratio.
    PETO,
}

impl Measure {
    /// Whether the measure is on the log scale (back-transformed with `exp` for display).
    pub fn is_log(&self) -> bool {
        !matches!(self, Measure::RD)
    }
}

/// To which tables the continuity correction `add` is applied (metafor's `to`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddTo {
    /// Only tables with at least one zero cell (`to = "only0"`, metafor's default).
    Only0,
    /// All tables (`to = "all"`).
    All,
    /// All tables, when at least one table has a zero cell (`to = "if0all"`).
    If0All,
    /// None (`to = "none"`).
    None,
}

/// Zero-cell options of `escalc`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ZeroCellOptions {
    /// The correction added to every cell of a corrected table (metafor `add`, default 1/2).
    pub add: f64,
    /// Which tables are corrected (metafor `to`, default `only0`).
    pub to: AddTo,
    /// Whether double-zero tables are dropped (their yi/vi become missing; metafor `drop00`, default false).
    pub drop00: bool,
}

impl Default for ZeroCellOptions {
    /// metafor's `escalc` defaults: `add = 1/2, to = "only0", drop00 = FALSE`.
    fn default() -> Self {
        ZeroCellOptions {
            add: 0.5,
            to: AddTo::Only0,
            drop00: false,
        }
    }
}

/// One study's effect size and sampling variance; `None` in [`escalc`]'s output stands for metafor's NA.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Effect {
    /// Observed effect (log RR, log OR, RD or log Peto OR).
    pub yi: f64,
    /// Its sampling variance.
    pub vi: f64,
}

/// The tables after metafor's zero-cell rule: `None` for a dropped double-zero table.
///
/// # Formula
/// With `to = only0` a table gets `add` in all four cells when any cell is zero; `all` corrects every
/// table; `if0all` corrects every table when any table has a zero cell; `none` corrects nothing.
/// With `drop00`, tables with `ai = ci = 0` or `bi = di = 0` are set missing first (and do not count
/// for `if0all`).
///
/// # Defaults
/// `add = 1/2, to = only0, drop00 = false` (metafor `escalc`).
///
/// # Edge cases
/// `add = 0` leaves every table as it is.
///
/// # References
/// metafor documentation, `escalc` ("add", "to", "drop00"); Viechtbauer W (2010) J Stat Softw 36(3).
pub fn corrected_tables(tables: &[Table2x2], opts: &ZeroCellOptions) -> Vec<Option<Table2x2>> {
    let kept: Vec<Option<Table2x2>> = tables
        .iter()
        .map(|t| {
            if opts.drop00 && t.is_double_zero() {
                None
            } else {
                Some(*t)
            }
        })
        .collect();
    let any_zero = kept.iter().flatten().any(Table2x2::has_zero);
    kept.into_iter()
        .map(|t| {
            t.map(|t| {
                let correct = match opts.to {
                    AddTo::Only0 => t.has_zero(),
                    AddTo::All => true,
                    AddTo::If0All => any_zero,
                    AddTo::None => false,
                };
                if correct {
                    t.plus(opts.add)
                } else {
                    t
                }
            })
        })
        .collect()
}

/// Effect size and variance of one (already corrected) table; `None` when not finite.
///
/// # Formula
/// With `n1 = a + b`, `n2 = c + d`, `N = n1 + n2`:
/// - RR: `yi = ln(a/n1) − ln(c/n2)`, `vi = 1/a − 1/n1 + 1/c − 1/n2`
/// - OR: `yi = ln(a d / (b c))`, `vi = 1/a + 1/b + 1/c + 1/d`
/// - RD: `p1 = a/n1`, `p2 = c/n2`, `yi = p1 − p2`, `vi = p1(1−p1)/n1 + p2(1−p2)/n2`
/// - PETO: `O = a`, `E = (a+c) n1/N`, `V = (a+c)(b+d) n1 n2 / (N² (N−1))`, `yi = (O−E)/V`, `vi = 1/V`
///
/// # Edge cases
/// Infinite or undefined values (a zero cell without correction) give `None`, as metafor sets them NA.
/// RD of an uncorrected double-zero table is `yi = 0, vi = 0` (finite, so kept, as in metafor).
///
/// # References
/// metafor documentation, `escalc` (measures "RR", "OR", "RD", "PETO"); Yusuf S, Peto R et al. (1985)
/// Prog Cardiovasc Dis 27:335–371 (Peto odds ratio).
pub fn effect_of_table(measure: Measure, t: &Table2x2) -> Option<Effect> {
    let (a, b, c, d) = (t.ai, t.bi, t.ci, t.di);
    let n1 = a + b;
    let n2 = c + d;
    let (yi, vi) = match measure {
        Measure::RR => (
            (a / n1).ln() - (c / n2).ln(),
            1.0 / a - 1.0 / n1 + 1.0 / c - 1.0 / n2,
        ),
        Measure::OR => (
            (a * d / (b * c)).ln(),
            1.0 / a + 1.0 / b + 1.0 / c + 1.0 / d,
        ),
        Measure::RD => {
            let p1 = a / n1;
            let p2 = c / n2;
            (p1 - p2, p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2)
        }
        Measure::PETO => {
            let n = n1 + n2;
            let xt = a + c;
            let yt = b + d;
            let e = xt * n1 / n;
            let v = xt * yt * (n1 / n) * (n2 / n) / (n - 1.0);
            ((a - e) / v, 1.0 / v)
        }
    };
    if yi.is_finite() && vi.is_finite() {
        Some(Effect { yi, vi })
    } else {
        None
    }
}

/// metafor's `escalc` for two-arm binary data: one optional effect per table.
///
/// # Formula
/// [`corrected_tables`] then [`effect_of_table`].
///
/// # Defaults
/// See [`ZeroCellOptions::default`] (metafor's `add = 1/2, to = "only0", drop00 = FALSE`): the
/// correction also applies to RD (it changes the RD point estimate) and PETO.
///
/// # Edge cases
/// A `None` is metafor's NA (dropped double-zero table, or an infinite value without correction).
///
/// # References
/// metafor documentation, `escalc`; Viechtbauer W (2010) J Stat Softw 36(3).
pub fn escalc(
    measure: Measure,
    tables: &[Table2x2],
    opts: &ZeroCellOptions,
) -> Vec<Option<Effect>> {
    corrected_tables(tables, opts)
        .iter()
        .map(|t| t.as_ref().and_then(|t| effect_of_table(measure, t)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Synthetic study 0/20 vs 3/20 (from the knowledge notes): with 0.5 added to all cells,
    // p1 = 0.5/21, p2 = 3.5/21, RD = -3/21 = -0.142857..., not -0.15.
    #[test]
    fn rd_point_estimate_is_corrected() {
        let t = Table2x2::from_totals(0.0, 20.0, 3.0, 20.0);
        let e = escalc(Measure::RD, &[t], &ZeroCellOptions::default())[0].unwrap();
        assert!((e.yi - (-3.0 / 21.0)).abs() < 1e-15);
    }

    // Uncorrected double zero: RD yi = 0 and vi = 0; OR is undefined.
    #[test]
    fn double_zero_without_correction() {
        let t = Table2x2::from_totals(0.0, 30.0, 0.0, 30.0);
        let none = ZeroCellOptions {
            add: 0.5,
            to: AddTo::None,
            drop00: false,
        };
        let rd = escalc(Measure::RD, &[t], &none)[0].unwrap();
        assert_eq!((rd.yi, rd.vi), (0.0, 0.0));
        assert!(escalc(Measure::OR, &[t], &none)[0].is_none());
    }
}
