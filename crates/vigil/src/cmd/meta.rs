//! `vigil meta`: meta-analysis of trials from a CSV file, numbers as R's metafor gives them.
//!
//! Input: one row per study with a `study` column and either the 2×2 cells `ai,bi,ci,di`, or events
//! and totals `ai,n1i,ci,n2i`, or a generic effect `yi` with `vi` or `sei`; any other column can be
//! used as moderator (`--mods`), subgroup (`--subgroup`) or order (`--cumulative`). A study with a
//! missing value (empty cell or `NA`) in the columns of its effect size is omitted and listed, as
//! metafor's `na.action = "na.omit"` does. The CSV is read by `vigil_stats::meta::input`.
//! Output: a readable table (ratio measures back-transformed) or JSON with metafor's field names.

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vigil_stats::meta::confint::{confint, CiType, HeterogeneityCi};
use vigil_stats::meta::effect::{escalc, AddTo, Measure, Table2x2, ZeroCellOptions};
use vigil_stats::meta::influence::{cumulative, leave1out, stable_order, InfluenceRow};
use vigil_stats::meta::input::{
    is_missing, read_study_data, DataKind, InputError, InputErrors, Omitted, StudyValues,
    TrialTable,
};
use vigil_stats::meta::linalg::Matrix;
use vigil_stats::meta::metareg::pseudo_r2;
use vigil_stats::meta::mh::{rma_mh, PooledFit, PooledOptions};
use vigil_stats::meta::peto::rma_peto;
use vigil_stats::meta::regtest::{regtest, Predictor, Regtest, RegtestModel};
use vigil_stats::meta::rma::{fit, PiType, Prediction, RmaFit, RmaOptions, Test};
use vigil_stats::meta::subgroup::{subgroups, Subgroups};
use vigil_stats::meta::tau2::Method;
use vigil_stats::meta::trimfill::{trimfill, Estimator, TrimFill};

use crate::plot::{forest_svg, funnel_svg, ForestPlot, ForestRow, FunnelPlot, PooledSummary};

/// Effect measure (`GEN` = the `yi`/`vi` or `yi`/`sei` columns as given).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
#[value(rename_all = "UPPER")]
pub enum MeasureArg {
    /// Log risk ratio.
    RR,
    /// Log odds ratio.
    OR,
    /// Risk difference.
    RD,
    /// Log Peto odds ratio.
    PETO,
    /// Generic effect sizes.
    GEN,
}

/// Model.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelArg {
    /// Common (equal) effect, inverse variance.
    Ee,
    /// Mantel–Haenszel (OR, RR, RD).
    Mh,
    /// Peto (log OR).
    Peto,
    /// Random effects, inverse variance.
    Re,
}

/// τ² estimator.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
#[value(rename_all = "verbatim")]
#[allow(clippy::upper_case_acronyms)]
pub enum MethodArg {
    /// DerSimonian–Laird.
    DL,
    /// Hedges.
    HE,
    /// Hunter–Schmidt.
    HS,
    /// Hunter–Schmidt with Q scaled by k/(k−p) (metafor's HSk).
    HSk,
    /// Sidik–Jonkman.
    SJ,
    /// Maximum likelihood.
    ML,
    /// Restricted maximum likelihood.
    REML,
    /// Empirical Bayes.
    EB,
    /// Paule–Mandel.
    PM,
    /// Median-unbiased Paule–Mandel.
    PMM,
}

/// Coefficient test.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestArg {
    /// Wald z.
    Z,
    /// Knapp–Hartung (Hartung–Knapp–Sidik–Jonkman).
    Knha,
    /// Knapp–Hartung, never narrower than z.
    Adhoc,
}

/// Continuity-correction target.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ToArg {
    /// Tables with a zero cell (default).
    Only0,
    /// All tables.
    All,
    /// All tables if any has a zero cell.
    If0all,
    /// No correction.
    None,
}

/// Prediction-interval quantile.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum PiArg {
    /// Normal quantile (metafor's default).
    Z,
    /// t(k−2) (Higgins et al. 2009, Riley et al. 2011).
    Riley,
    /// t(k−1).
    T,
}

/// Regression test flavour.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegtestArg {
    /// Meta-regression on the standard error (metafor default).
    Rma,
    /// Classic Egger test (weighted least squares).
    Lm,
}

/// Trim-and-fill estimator.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
#[value(rename_all = "UPPER")]
pub enum TrimfillArg {
    /// L0.
    L0,
    /// R0.
    R0,
}

/// Output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatArg {
    /// Readable table.
    Table,
    /// JSON with metafor's field names.
    Json,
}

/// Arguments of `vigil meta`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// CSV file, one row per study.
    pub file: PathBuf,
    /// Effect measure (default: GEN when the file has a `yi` column, else RR).
    #[arg(long, value_enum)]
    pub measure: Option<MeasureArg>,
    /// Model.
    #[arg(long, value_enum, default_value = "re")]
    pub model: ModelArg,
    /// τ² estimator of the random-effects model.
    #[arg(long, value_enum, default_value = "REML")]
    pub method: MethodArg,
    /// Test of the pooled effect.
    #[arg(long, value_enum, default_value = "z")]
    pub test: TestArg,
    /// Continuity correction added to the cells of corrected tables.
    #[arg(long, default_value_t = 0.5)]
    pub add: f64,
    /// Which tables get the continuity correction.
    #[arg(long, value_enum, default_value = "only0")]
    pub to: ToArg,
    /// Drop double-zero tables (no events, or only events, in both arms) from the per-study effects.
    /// Default as the metafor function the model corresponds to: true for mh and peto (`rma.mh`,
    /// `rma.peto`: `drop00 = TRUE`), false for ee and re (`rma`, `escalc`: `drop00 = FALSE`). For mh and
    /// peto the pooled estimate always keeps them (metafor's second `drop00` element, FALSE).
    #[arg(long, value_name = "true|false", action = clap::ArgAction::Set)]
    pub drop00: Option<bool>,
    /// Mantel–Haenszel with the continuity correction inside the MH sums (RevMan / R meta style);
    /// the default is metafor's exact MH on the raw counts.
    #[arg(long)]
    pub mh_correction: bool,
    /// Continuity correction in the Cochran and Cochran–Mantel–Haenszel tests of an MH odds ratio
    /// (metafor `rma.mh(correct = TRUE)`, the default).
    #[arg(long, value_name = "true|false", default_value_t = true, action = clap::ArgAction::Set)]
    pub correct: bool,
    /// Confidence level in percent.
    #[arg(long, default_value_t = 95.0)]
    pub level: f64,
    /// Prediction-interval quantile.
    #[arg(long = "pi", value_enum, default_value = "z")]
    pub pi_type: PiArg,
    /// Leave-one-out analysis.
    #[arg(long)]
    pub leave1out: bool,
    /// Cumulative meta-analysis ordered by this column (stable for ties).
    #[arg(long, value_name = "COL")]
    pub cumulative: Option<String>,
    /// Regression test for funnel-plot asymmetry.
    #[arg(long, value_enum)]
    pub regtest: Option<RegtestArg>,
    /// Trim-and-fill with this estimator.
    #[arg(long, value_enum)]
    pub trimfill: Option<TrimfillArg>,
    /// Subgroup analysis by this column.
    #[arg(long, value_name = "COL")]
    pub subgroup: Option<String>,
    /// Meta-regression on these columns (numeric, or categorical coded as dummies).
    #[arg(long, value_name = "COL,...", value_delimiter = ',')]
    pub mods: Vec<String>,
    /// Predictions of the meta-regression at these moderator values: rows separated by ';', values
    /// in a row by ',' (numeric moderators only), e.g. "10;30;50".
    #[arg(long, value_name = "VALUES")]
    pub predict_at: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: FormatArg,
    /// Write a forest plot (SVG) to this file.
    #[arg(long, value_name = "FILE.svg")]
    pub forest: Option<PathBuf>,
    /// Write a funnel plot (SVG) to this file.
    #[arg(long, value_name = "FILE.svg")]
    pub funnel: Option<PathBuf>,
}

// ---------------------------------------------------------------- input

/// The studies of the input file that enter the analysis (rows with a missing value removed).
struct Input {
    path: PathBuf,
    headers: Vec<String>,
    /// Raw cells by column, kept rows only.
    columns: BTreeMap<String, Vec<String>>,
    /// File line of each kept row (1-based, header is line 1).
    lines: Vec<u64>,
    /// Study label of each kept row (labels generated for a file without `study` count every row).
    studies: Vec<String>,
}

/// `FILE: line N, field F: message` (the error shape of every vigil command).
fn located(path: &Path, e: &InputError) -> String {
    format!("{}: {e}", path.display())
}

/// All the errors of one input, each on its own line in the shape of [`located`], the first line
/// carrying the first location.
fn input_errors(path: &Path, e: &InputErrors) -> anyhow::Error {
    let mut lines: Vec<String> = e.errors.iter().map(|x| located(path, x)).collect();
    if e.not_listed > 0 {
        lines.push(format!(
            "{}: {} more error(s) not listed",
            path.display(),
            e.not_listed
        ));
    }
    if e.count() > 1 {
        lines.push(format!("{} errors in {}", e.count(), path.display()));
    }
    anyhow!("{}", lines.join("\n"))
}

impl Input {
    fn from_table(path: &Path, t: TrialTable) -> Input {
        Input {
            path: path.to_path_buf(),
            headers: t.headers,
            columns: t.columns,
            lines: t.lines,
            studies: t.studies,
        }
    }

    fn require(&self, col: &str, why: &str) -> Result<&Vec<String>> {
        self.columns.get(col).ok_or_else(|| {
            // Reported at the header, line 1, in the same form as the cell errors.
            let e = InputError {
                line: 1,
                field: Some(col.to_string()),
                message: format!(
                    "missing column '{col}' ({why}); columns found: {}",
                    self.headers.join(", ")
                ),
            };
            anyhow!("{}", located(&self.path, &e))
        })
    }

    /// A column used to order or group the studies: every kept row needs a value.
    fn require_filled(&self, col: &str, why: &str) -> Result<&Vec<String>> {
        let raw = self.require(col, why)?;
        let errors: Vec<InputError> = raw
            .iter()
            .enumerate()
            .filter(|(_, c)| is_missing(c))
            .map(|(i, _)| InputError {
                line: self.lines[i],
                field: Some(col.to_string()),
                message: format!("missing value ({why}); fill it in or remove the study"),
            })
            .collect();
        if errors.is_empty() {
            Ok(raw)
        } else {
            Err(input_errors(
                &self.path,
                &InputErrors {
                    errors,
                    not_listed: 0,
                },
            ))
        }
    }
}

/// Reads the file: the studies kept, their data, the studies omitted for a missing value, and the
/// measure (`--measure`, or GEN when the file has a `yi` column and RR otherwise).
fn read_input(
    path: &Path,
    measure: Option<MeasureArg>,
) -> Result<(Input, StudyValues, Vec<Omitted>, MeasureArg)> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let table = TrialTable::parse(&bytes).map_err(|e| input_errors(path, &e))?;
    let measure = measure.unwrap_or(if table.has("yi") {
        MeasureArg::GEN
    } else {
        MeasureArg::RR
    });
    let kind = if measure == MeasureArg::GEN {
        DataKind::Generic
    } else {
        DataKind::Tables
    };
    let data = read_study_data(&table, kind).map_err(|e| input_errors(path, &e))?;
    let input = Input::from_table(path, table.subset(&data.kept));
    Ok((input, data.values, data.omitted, measure))
}

// ---------------------------------------------------------------- analysis

/// The main fit: inverse variance (EE/RE) or MH/Peto.
enum MainFit {
    Rma(RmaFit),
    Pooled(PooledFit),
}

struct Analysis {
    measure: MeasureArg,
    model: ModelArg,
    input: Input,
    /// Studies of the file left out for a missing value in their effect-size columns.
    omitted: Vec<Omitted>,
    data: StudyValues,
    /// Per-study effects (None = not estimable), all studies.
    effects: Vec<Option<(f64, f64)>>,
    /// Indices of the studies used by the inverse-variance model.
    used: Vec<usize>,
    main: MainFit,
    prediction: Option<Prediction>,
    confint_qp: Option<HeterogeneityCi>,
    confint_pl: Option<HeterogeneityCi>,
    leave1out: Option<Vec<(String, InfluenceRow)>>,
    cumulative: Option<Vec<(String, InfluenceRow)>>,
    regtest: Option<Regtest>,
    trimfill: Option<TrimFill>,
    subgroup: Option<(String, Subgroups)>,
    mods: Option<ModsResult>,
}

struct ModsResult {
    /// Studies of the main analysis left out of the meta-regression for a missing moderator
    /// (metafor's `rma(mods = ...)` omits them).
    omitted: Vec<Omitted>,
    coef_names: Vec<String>,
    fit: RmaFit,
    r2: Option<f64>,
    predictions: Vec<(Vec<f64>, Prediction)>,
}

fn to_measure(m: MeasureArg) -> Option<Measure> {
    match m {
        MeasureArg::RR => Some(Measure::RR),
        MeasureArg::OR => Some(Measure::OR),
        MeasureArg::RD => Some(Measure::RD),
        MeasureArg::PETO => Some(Measure::PETO),
        MeasureArg::GEN => None,
    }
}

fn to_method(m: MethodArg) -> Method {
    match m {
        MethodArg::DL => Method::DL,
        MethodArg::HE => Method::HE,
        MethodArg::HS => Method::HS,
        MethodArg::HSk => Method::HSk,
        MethodArg::SJ => Method::SJ,
        MethodArg::ML => Method::ML,
        MethodArg::REML => Method::REML,
        MethodArg::EB => Method::EB,
        MethodArg::PM => Method::PM,
        MethodArg::PMM => Method::PMM,
    }
}

fn rma_options(args: &Args) -> RmaOptions {
    RmaOptions {
        method: if args.model == ModelArg::Ee {
            Method::EE
        } else {
            to_method(args.method)
        },
        test: match args.test {
            TestArg::Z => Test::Z,
            TestArg::Knha => Test::Knha,
            TestArg::Adhoc => Test::Adhoc,
        },
        level: args.level,
    }
}

fn zero_options(args: &Args) -> ZeroCellOptions {
    ZeroCellOptions {
        add: args.add,
        to: match args.to {
            ToArg::Only0 => AddTo::Only0,
            ToArg::All => AddTo::All,
            ToArg::If0all => AddTo::If0All,
            ToArg::None => AddTo::None,
        },
        drop00: drop00(args),
    }
}

/// `--drop00` as given, or the default of the metafor function the model corresponds to: `rma.mh` and
/// `rma.peto` drop double-zero tables from the per-study effects (`drop00 = TRUE`), `rma` and
/// `escalc` keep them (`drop00 = FALSE`).
fn drop00(args: &Args) -> bool {
    args.drop00
        .unwrap_or(matches!(args.model, ModelArg::Mh | ModelArg::Peto))
}

fn pooled_options(args: &Args) -> PooledOptions {
    let z = zero_options(args);
    let mut o = PooledOptions {
        level: args.level,
        correct: args.correct,
        ..PooledOptions::default()
    };
    o.add[0] = z.add;
    o.to[0] = z.to;
    // metafor's scalar `drop00` is its first element; the second (the MH/Peto sums) stays FALSE:
    // `rma.mh(drop00 = TRUE)` means `drop00 = c(TRUE, FALSE)`.
    o.drop00 = [drop00(args), false];
    if args.mh_correction {
        o.add[1] = z.add;
        o.to[1] = AddTo::Only0;
    }
    o
}

fn analyse(args: &Args) -> Result<Analysis> {
    if !(args.level > 0.0 && args.level < 100.0) {
        bail!(
            "--level must be between 0 and 100 (percent), got {}",
            args.level
        );
    }
    let (input, data, omitted, measure) = read_input(&args.file, args.measure)?;
    let k_all = input.lines.len();
    let rows_note = if omitted.is_empty() {
        format!("of {k_all} rows")
    } else {
        format!(
            "of {} rows, {} omitted for a missing value",
            k_all + omitted.len(),
            omitted.len()
        )
    };
    let opts = rma_options(args);
    // MH and Peto: the per-study effects shown are those of the fit (metafor's first add/to/drop00
    // elements), so the table, the JSON and QE describe the same studies.
    let pooled = match args.model {
        ModelArg::Ee | ModelArg::Re => None,
        ModelArg::Mh | ModelArg::Peto => {
            let StudyValues::Tables(t) = &data else {
                bail!(
                    "--model {:?} needs 2x2 data (ai,bi,ci,di or ai,n1i,ci,n2i), not generic yi/vi",
                    args.model
                );
            };
            let po = pooled_options(args);
            let f = if args.model == ModelArg::Peto {
                if !matches!(measure, MeasureArg::PETO | MeasureArg::OR) {
                    bail!("--model peto pools log odds ratios: use --measure PETO (or OR)");
                }
                rma_peto(t, &po)
            } else {
                match to_measure(measure) {
                    Some(m @ (Measure::OR | Measure::RR | Measure::RD)) => rma_mh(m, t, &po),
                    _ => bail!("--model mh needs --measure OR, RR or RD"),
                }
            };
            Some(f.map_err(|e| anyhow!("{}: {e} ({rows_note})", input.path.display()))?)
        }
    };
    let effects: Vec<Option<(f64, f64)>> = match (&pooled, &data, to_measure(measure)) {
        (Some(f), _, _) => f.study.iter().map(|e| e.map(|e| (e.yi, e.vi))).collect(),
        (None, StudyValues::Tables(t), Some(m)) => escalc(m, t, &zero_options(args))
            .into_iter()
            .map(|e| e.map(|e| (e.yi, e.vi)))
            .collect(),
        (None, StudyValues::Generic { yi, vi }, _) => {
            yi.iter().zip(vi).map(|(y, v)| Some((*y, *v))).collect()
        }
        (None, StudyValues::Tables(_), None) => {
            bail!("--measure GEN needs the columns yi and vi (or sei), not 2x2 tables")
        }
    };
    let used: Vec<usize> = (0..k_all).filter(|&i| effects[i].is_some()).collect();
    if pooled.is_none() {
        // Inverse-variance weights need a positive variance (e.g. an uncorrected double-zero RD has 0).
        let errors: Vec<InputError> = used
            .iter()
            .filter(|&&i| !(effects[i].expect("used").1 > 0.0))
            .map(|&i| InputError {
                line: input.lines[i],
                field: Some("ai".into()),
                message: format!(
                    "study {}: sampling variance 0 (no events, or only events, in both arms, and no continuity correction), so it cannot be weighted; use --to only0 or --drop00 true",
                    input.studies[i]
                ),
            })
            .collect();
        if !errors.is_empty() {
            return Err(input_errors(
                &input.path,
                &InputErrors {
                    errors,
                    not_listed: 0,
                },
            ));
        }
    }
    let yi: Vec<f64> = used.iter().map(|&i| effects[i].expect("used").0).collect();
    let vi: Vec<f64> = used.iter().map(|&i| effects[i].expect("used").1).collect();

    let main = match pooled {
        Some(f) => MainFit::Pooled(f),
        None => {
            let needed = if args.model == ModelArg::Re { 2 } else { 1 };
            if yi.len() < needed {
                bail!(
                    "{}: the {} model needs at least {needed} studies with an estimable effect, found {} ({rows_note})",
                    input.path.display(),
                    if args.model == ModelArg::Re { "random-effects" } else { "common-effect" },
                    yi.len()
                );
            }
            MainFit::Rma(
                fit(&yi, &vi, None, opts).map_err(|e| anyhow!("{}: {e}", input.path.display()))?,
            )
        }
    };

    let pi = match args.pi_type {
        PiArg::Z => PiType::Z,
        PiArg::Riley => PiType::Riley,
        PiArg::T => PiType::T,
    };
    let (prediction, confint_qp, confint_pl) = match &main {
        MainFit::Rma(f) => {
            let p = f.predict(None, pi);
            let re = f.options.method != Method::EE && f.k > f.p;
            let qp = if re {
                confint(f, CiType::QProfile).ok()
            } else {
                None
            };
            let pl = if matches!(f.options.method, Method::ML | Method::REML) && f.k > f.p {
                confint(f, CiType::ProfileLikelihood).ok()
            } else {
                None
            };
            (Some(p), qp, pl)
        }
        MainFit::Pooled(_) => (None, None, None),
    };

    // Refit on a subset of the used studies (inverse variance) or of all tables (MH/Peto).
    let refit = |idx: &[usize]| -> std::result::Result<InfluenceRow, vigil_stats::meta::MetaError> {
        match (&main, &data) {
            (MainFit::Rma(f), _) => {
                let ys: Vec<f64> = idx.iter().map(|&i| yi[i]).collect();
                let vs: Vec<f64> = idx.iter().map(|&i| vi[i]).collect();
                fit(&ys, &vs, None, f.options).map(|f| InfluenceRow::from(&f))
            }
            (MainFit::Pooled(_), StudyValues::Tables(t)) => {
                let sub: Vec<Table2x2> = idx.iter().map(|&i| t[i]).collect();
                let po = pooled_options(args);
                let f = if args.model == ModelArg::Peto {
                    rma_peto(&sub, &po)
                } else {
                    rma_mh(to_measure(measure).expect("mh measure"), &sub, &po)
                };
                f.map(|f| InfluenceRow::from(&f))
            }
            _ => unreachable!("pooled fits have tables"),
        }
    };
    // Labels of the units the refits run over.
    let units: Vec<usize> = match &main {
        MainFit::Rma(_) => used.clone(),
        MainFit::Pooled(_) => (0..k_all).collect(),
    };
    let leave1 = if args.leave1out {
        let rows = leave1out(units.len(), refit);
        Some(
            rows.into_iter()
                .enumerate()
                .map(|(i, r)| {
                    r.map(|r| (input.studies[units[i]].clone(), r))
                        .map_err(|e| {
                            anyhow!("leave-one-out without {}: {e}", input.studies[units[i]])
                        })
                })
                .collect::<Result<Vec<_>>>()?,
        )
    } else {
        None
    };
    let cumul = match &args.cumulative {
        Some(col) => {
            let raw = input.require_filled(col, "--cumulative orders by this column")?;
            let numeric: Option<Vec<f64>> =
                units.iter().map(|&i| raw[i].parse::<f64>().ok()).collect();
            let order = match numeric {
                Some(key_units) => stable_order(&key_units),
                // A text column (e.g. a date as YYYY-MM-DD) is ordered as text, ties in file order.
                None => {
                    let mut idx: Vec<usize> = (0..units.len()).collect();
                    idx.sort_by(|&a, &b| raw[units[a]].cmp(&raw[units[b]]));
                    idx
                }
            };
            let rows = cumulative(&order, refit);
            Some(
                rows.into_iter()
                    .enumerate()
                    .map(|(j, r)| {
                        r.map(|r| (input.studies[units[order[j]]].clone(), r))
                            .map_err(|e| anyhow!("cumulative step {}: {e}", j + 1))
                    })
                    .collect::<Result<Vec<_>>>()?,
            )
        }
        None => None,
    };
    let rma_only = |flag: &str| -> Result<&RmaFit> {
        match &main {
            MainFit::Rma(f) => Ok(f),
            MainFit::Pooled(_) => {
                bail!("{flag} needs an inverse-variance model (--model ee or re)")
            }
        }
    };
    let regtest_res = match args.regtest {
        Some(r) => {
            let f = rma_only("--regtest")?;
            let model = if r == RegtestArg::Lm {
                RegtestModel::Lm
            } else {
                RegtestModel::Rma
            };
            Some(
                regtest(&yi, &vi, f.options, model, Predictor::Sei)
                    .map_err(|e| anyhow!("regtest: {e}"))?,
            )
        }
        None => None,
    };
    let trimfill_res = match args.trimfill {
        Some(e) => {
            let f = rma_only("--trimfill")?;
            let est = if e == TrimfillArg::R0 {
                Estimator::R0
            } else {
                Estimator::L0
            };
            Some(trimfill(&yi, &vi, f.options, est, None).map_err(|e| anyhow!("trimfill: {e}"))?)
        }
        None => None,
    };
    let subgroup_res = match &args.subgroup {
        Some(col) => {
            let f = rma_only("--subgroup")?;
            let raw = input.require_filled(col, "--subgroup groups by this column")?;
            let labels: Vec<String> = used.iter().map(|&i| raw[i].clone()).collect();
            Some((
                col.clone(),
                subgroups(&yi, &vi, &labels, f.options)
                    .map_err(|e| anyhow!("subgroup analysis by '{col}': {e}"))?,
            ))
        }
        None => None,
    };
    let mods_res = if args.mods.is_empty() {
        None
    } else {
        let f = rma_only("--mods")?;
        let Design {
            names,
            x,
            rows,
            omitted: mods_omitted,
        } = design(&input, &args.mods, &used)?;
        let ym: Vec<f64> = rows.iter().map(|&j| yi[j]).collect();
        let vm: Vec<f64> = rows.iter().map(|&j| vi[j]).collect();
        let mf = fit(&ym, &vm, Some(&x), f.options).map_err(|e| anyhow!("meta-regression: {e}"))?;
        let r2 = pseudo_r2(&mf).map_err(|e| anyhow!("meta-regression R2: {e}"))?;
        let mut predictions = Vec::new();
        if let Some(spec) = &args.predict_at {
            for row in spec.split(';').filter(|r| !r.trim().is_empty()) {
                let vals: Vec<f64> = row
                    .split(',')
                    .map(|v| {
                        v.trim()
                            .parse::<f64>()
                            .map_err(|_| anyhow!("--predict-at: not a number: '{v}'"))
                    })
                    .collect::<Result<_>>()?;
                if vals.len() != names.len() - 1 {
                    bail!("--predict-at: {} value(s) given, the model has {} moderator coefficient(s)", vals.len(), names.len() - 1);
                }
                let mut x0 = vec![1.0];
                x0.extend(&vals);
                predictions.push((vals, mf.predict(Some(&x0), pi)));
            }
        }
        Some(ModsResult {
            coef_names: names,
            fit: mf,
            r2,
            predictions,
            omitted: mods_omitted,
        })
    };
    Ok(Analysis {
        measure,
        model: args.model,
        input,
        omitted,
        data,
        effects,
        used,
        main,
        prediction,
        confint_qp,
        confint_pl,
        leave1out: leave1,
        cumulative: cumul,
        regtest: regtest_res,
        trimfill: trimfill_res,
        subgroup: subgroup_res,
        mods: mods_res,
    })
}

/// Design matrix `[1, moderators...]` over the used studies that have every moderator (a study with
/// a missing moderator is left out of the meta-regression, as metafor's `na.omit`); a column with a
/// non-numeric cell is categorical (dummies for every level but the first, levels sorted).
fn design(input: &Input, mods: &[String], used: &[usize]) -> Result<Design> {
    let mut raws = Vec::new();
    for m in mods {
        raws.push(input.require(m, "--mods")?);
    }
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
                line: input.lines[i],
                study: input.studies[i].clone(),
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
    let matrix_rows: Vec<Vec<f64>> = (0..rows.len())
        .map(|r| {
            std::iter::once(1.0)
                .chain(cols.iter().map(|c| c[r]))
                .collect()
        })
        .collect();
    let x = if matrix_rows.is_empty() {
        Matrix::zeros(0, names.len())
    } else {
        Matrix::from_rows(&matrix_rows)
    };
    Ok(Design {
        names,
        x,
        rows,
        omitted,
    })
}

/// The meta-regression design of [`design`].
struct Design {
    /// Coefficient names (`intrcpt` first).
    names: Vec<String>,
    /// The matrix, one row per study in the regression.
    x: Matrix,
    /// Positions in `used` of those studies.
    rows: Vec<usize>,
    /// Studies left out for a missing moderator.
    omitted: Vec<Omitted>,
}

// ---------------------------------------------------------------- output

fn measure_name(m: MeasureArg) -> &'static str {
    match m {
        MeasureArg::RR => "RR",
        MeasureArg::OR => "OR",
        MeasureArg::RD => "RD",
        MeasureArg::PETO => "PETO",
        MeasureArg::GEN => "GEN",
    }
}

fn is_ratio(m: MeasureArg) -> bool {
    matches!(m, MeasureArg::RR | MeasureArg::OR | MeasureArg::PETO)
}

fn influence_json(rows: &[(String, InfluenceRow)]) -> Value {
    let col = |f: &dyn Fn(&InfluenceRow) -> f64| {
        Value::from(rows.iter().map(|(_, r)| num(f(r))).collect::<Vec<_>>())
    };
    json!({
        "slab": rows.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>(),
        "estimate": col(&|r| r.estimate), "se": col(&|r| r.se), "zval": col(&|r| r.zval), "pval": col(&|r| r.pval),
        "ci_lb": col(&|r| r.ci_lb), "ci_ub": col(&|r| r.ci_ub), "Q": col(&|r| r.q), "Qp": col(&|r| r.qp),
        "tau2": col(&|r| r.tau2.unwrap_or(f64::NAN)), "I2": col(&|r| r.i2), "H2": col(&|r| r.h2),
    })
}

/// A JSON number, or null for NaN/infinite.
fn num(x: f64) -> Value {
    if x.is_finite() {
        Value::from(x)
    } else {
        Value::Null
    }
}

fn opt(x: Option<f64>) -> Value {
    x.map_or(Value::Null, num)
}

fn het_ci_json(ci: &HeterogeneityCi) -> Value {
    let iv = |i: &vigil_stats::meta::confint::Interval| json!({"estimate": num(i.estimate), "ci_lb": num(i.ci_lb), "ci_ub": num(i.ci_ub)});
    json!({"tau2": iv(&ci.tau2), "tau": iv(&ci.tau), "I2": iv(&ci.i2), "H2": iv(&ci.h2)})
}

fn rma_json(f: &RmaFit) -> Map<String, Value> {
    let v = |x: &[f64]| Value::from(x.iter().map(|a| num(*a)).collect::<Vec<_>>());
    let scalar_or_vec = |x: &[f64]| if x.len() == 1 { num(x[0]) } else { v(x) };
    let mut m = Map::new();
    m.insert("k".into(), json!(f.k));
    m.insert("p".into(), json!(f.p));
    m.insert("method".into(), json!(f.options.method.name()));
    m.insert("test".into(), json!(f.options.test.name()));
    m.insert("beta".into(), scalar_or_vec(&f.beta));
    m.insert("se".into(), scalar_or_vec(&f.se));
    m.insert("zval".into(), scalar_or_vec(&f.zval));
    m.insert("pval".into(), scalar_or_vec(&f.pval));
    m.insert("ci_lb".into(), scalar_or_vec(&f.ci_lb));
    m.insert("ci_ub".into(), scalar_or_vec(&f.ci_ub));
    m.insert("dfs".into(), opt(f.dfs));
    m.insert("tau2".into(), num(f.tau2));
    m.insert("se_tau2".into(), num(f.se_tau2));
    m.insert("tau".into(), num(f.tau2.sqrt()));
    m.insert("QE".into(), num(f.qe));
    m.insert("QE_df".into(), json!(f.qe_df));
    m.insert("QEp".into(), num(f.qe_p));
    m.insert("I2".into(), num(f.i2));
    m.insert("H2".into(), num(f.h2));
    m.insert("vt".into(), num(f.vt));
    m.insert("weights_pct".into(), v(&f.weights_pct));
    m.insert("QM".into(), num(f.qm));
    m.insert("QM_df".into(), json!([f.qm_df.0, f.qm_df.1]));
    m.insert("QMp".into(), num(f.qm_p));
    let fs = |s: &vigil_stats::meta::rma::FitStats| json!({"logLik": num(s.loglik), "deviance": num(s.deviance), "AIC": num(s.aic), "BIC": num(s.bic), "AICc": num(s.aicc)});
    m.insert(
        "fitstats".into(),
        json!({"ML": fs(&f.fit_ml), "REML": fs(&f.fit_reml)}),
    );
    m
}

fn prediction_json(p: &Prediction) -> Value {
    json!({"pred": num(p.pred), "se": num(p.se), "ci_lb": num(p.ci_lb), "ci_ub": num(p.ci_ub), "pi_lb": num(p.pi_lb), "pi_ub": num(p.pi_ub), "ddf": opt(p.ddf), "pi_ddf": opt(p.pi_ddf)})
}

/// Studies left out for a missing value: label, file line and the columns with the missing value.
fn omitted_json(omitted: &[Omitted]) -> Value {
    Value::from(
        omitted
            .iter()
            .map(|o| json!({"study": o.study, "line": o.line, "fields": o.fields}))
            .collect::<Vec<_>>(),
    )
}

/// One line per omitted study for the text outputs: `B (line 3: ai missing)`.
fn omitted_text(omitted: &[Omitted]) -> String {
    omitted
        .iter()
        .map(|o| {
            format!(
                "{} (line {}: {} missing)",
                o.study,
                o.line,
                o.fields.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn to_json(a: &Analysis, args: &Args) -> Value {
    let mut top = Map::new();
    top.insert("file".into(), json!(a.input.path.display().to_string()));
    top.insert("measure".into(), json!(measure_name(a.measure)));
    top.insert(
        "model".into(),
        json!(format!("{:?}", a.model).to_lowercase()),
    );
    top.insert("level".into(), json!(args.level));
    top.insert("drop00".into(), json!(drop00(args)));
    top.insert("k_omitted".into(), json!(a.omitted.len()));
    top.insert("omitted".into(), omitted_json(&a.omitted));
    match &a.main {
        MainFit::Rma(f) => {
            top.extend(rma_json(f));
            if let Some(p) = &a.prediction {
                top.insert("pi_lb".into(), num(p.pi_lb));
                top.insert("pi_ub".into(), num(p.pi_ub));
                top.insert(
                    "pi_type".into(),
                    json!(format!("{:?}", args.pi_type).to_lowercase()),
                );
                top.insert("predict".into(), prediction_json(p));
                if is_ratio(a.measure) {
                    top.insert(
                        "predict_exp".into(),
                        prediction_json(&p.transformed(f64::exp)),
                    );
                }
            }
        }
        MainFit::Pooled(f) => {
            top.insert("k".into(), json!(f.k));
            top.insert("k_yi".into(), json!(f.k_yi));
            top.insert("k_pos".into(), json!(f.k_pos));
            for (k, v) in [
                ("beta", f.beta),
                ("se", f.se),
                ("zval", f.zval),
                ("pval", f.pval),
                ("ci_lb", f.ci_lb),
                ("ci_ub", f.ci_ub),
            ] {
                top.insert(k.into(), num(v));
            }
            // MH and Peto are common-effect models with no τ² and no prediction interval. The
            // contract's top-level keys are still written, as explicit nulls, so a reader can index
            // them for every model (docs/meta.md, "JSON output").
            for k in ["tau2", "se_tau2", "tau", "pi_lb", "pi_ub"] {
                top.insert(k.into(), Value::Null);
            }
            top.insert("QE".into(), num(f.qe));
            top.insert("QE_df".into(), json!(f.qe_df));
            top.insert("QEp".into(), num(f.qe_p));
            top.insert("I2".into(), num(f.i2));
            top.insert("H2".into(), num(f.h2));
            top.insert(
                "weights_pct".into(),
                Value::from(f.weights_pct.iter().map(|w| num(*w)).collect::<Vec<_>>()),
            );
            let fs = |s: &vigil_stats::meta::rma::FitStats| json!({"logLik": num(s.loglik), "deviance": num(s.deviance), "AIC": num(s.aic), "BIC": num(s.bic), "AICc": num(s.aicc)});
            top.insert(
                "fitstats".into(),
                json!({"ML": fs(&f.fit_ml), "REML": fs(&f.fit_reml)}),
            );
            if a.model == ModelArg::Mh {
                top.insert("correct".into(), json!(args.correct));
            }
            if let Some(t) = &f.tests {
                for (k, v) in [
                    ("CO", t.co),
                    ("COp", t.co_p),
                    ("MH", t.mh),
                    ("MHp", t.mh_p),
                    ("BD", t.bd),
                    ("BDp", t.bd_p),
                    ("TA", t.ta),
                    ("TAp", t.ta_p),
                ] {
                    top.insert(k.into(), num(v));
                }
            }
            if is_ratio(a.measure) || a.model == ModelArg::Peto {
                top.insert("predict_exp".into(), json!({"pred": num(f.beta.exp()), "ci_lb": num(f.ci_lb.exp()), "ci_ub": num(f.ci_ub.exp())}));
            }
        }
    }
    let weights: Vec<Option<f64>> = study_weights(a);
    let studies: Vec<Value> = (0..a.input.lines.len())
        .map(|i| {
            let (yi, vi) = a.effects[i].map_or((Value::Null, Value::Null), |(y, v)| (num(y), num(v)));
            let mut s = json!({"study": a.input.studies[i], "line": a.input.lines[i], "yi": yi, "vi": vi, "weight_pct": opt(weights[i])});
            if let StudyValues::Tables(t) = &a.data {
                let t = t[i];
                s["ai"] = num(t.ai);
                s["bi"] = num(t.bi);
                s["ci"] = num(t.ci);
                s["di"] = num(t.di);
            }
            s
        })
        .collect();
    top.insert("studies".into(), Value::from(studies));
    if a.confint_qp.is_some() || a.confint_pl.is_some() {
        let mut c = Map::new();
        if let Some(q) = &a.confint_qp {
            c.insert("QP".into(), het_ci_json(q));
        }
        if let Some(p) = &a.confint_pl {
            c.insert("PL".into(), het_ci_json(p));
        }
        top.insert("confint".into(), Value::Object(c));
    }
    if let Some(r) = &a.leave1out {
        top.insert("leave1out".into(), influence_json(r));
    }
    if let Some(r) = &a.cumulative {
        let mut j = influence_json(r);
        j["order_by"] = json!(args.cumulative);
        top.insert("cumulative".into(), j);
    }
    if let Some(r) = &a.regtest {
        top.insert(
            "regtest".into(),
            json!({"model": if r.model == RegtestModel::Lm {"lm"} else {"rma"}, "predictor": "sei", "zval": num(r.zval), "pval": num(r.pval), "dfs": opt(r.dfs),
                   "limit_estimate": num(r.limit_estimate), "limit_ci_lb": num(r.limit_ci_lb), "limit_ci_ub": num(r.limit_ci_ub), "fit_coef": [num(r.fit_coef[0]), num(r.fit_coef[1])]}),
        );
    }
    if let Some(t) = &a.trimfill {
        let mut j = rma_json(&t.fit);
        j.insert("k0".into(), json!(t.k0));
        j.insert("se_k0".into(), num(t.se_k0));
        j.insert("side".into(), json!(t.side.name()));
        j.insert(
            "estimator".into(),
            json!(format!("{:?}", args.trimfill.expect("trimfill set"))),
        );
        j.insert(
            "yi_after".into(),
            Value::from(t.yi.iter().map(|x| num(*x)).collect::<Vec<_>>()),
        );
        j.insert(
            "vi_after".into(),
            Value::from(t.vi.iter().map(|x| num(*x)).collect::<Vec<_>>()),
        );
        j.insert("filled".into(), json!(t.filled));
        top.insert("trimfill".into(), Value::Object(j));
    }
    if let Some((col, s)) = &a.subgroup {
        let groups: Map<String, Value> = s
            .groups
            .iter()
            .zip(&s.fits)
            .map(|(g, f)| (g.clone(), Value::Object(rma_json(f))))
            .collect();
        let mut common = rma_json(&s.common_tau2);
        common.insert(
            "coef_names".into(),
            json!(std::iter::once("intrcpt".to_string())
                .chain(s.groups.iter().skip(1).map(|g| format!("{col}{g}")))
                .collect::<Vec<_>>()),
        );
        top.insert(
            "subgroup".into(),
            json!({"column": col, "groups": s.groups, "separate_tau2": groups,
                   "test_between": {"QM": num(s.q_between), "QM_df": s.q_between_df, "QMp": num(s.q_between_p)},
                   "common_tau2": common}),
        );
    }
    if let Some(m) = &a.mods {
        let mut j = rma_json(&m.fit);
        j.insert("coef_names".into(), json!(m.coef_names));
        j.insert("R2".into(), opt(m.r2));
        j.insert("k_omitted".into(), json!(m.omitted.len()));
        j.insert("omitted".into(), omitted_json(&m.omitted));
        j.insert(
            "predictions".into(),
            Value::from(
                m.predictions
                    .iter()
                    .map(|(x, p)| {
                        let mut v = prediction_json(p);
                        v["at"] = json!(x);
                        v
                    })
                    .collect::<Vec<_>>(),
            ),
        );
        top.insert("mods".into(), Value::Object(j));
    }
    Value::Object(top)
}

/// Weight (%) of each input row in the main model (None = not used).
fn study_weights(a: &Analysis) -> Vec<Option<f64>> {
    let k = a.input.lines.len();
    let mut w = vec![None; k];
    match &a.main {
        MainFit::Rma(f) => {
            for (j, &i) in a.used.iter().enumerate() {
                w[i] = Some(f.weights_pct[j]);
            }
        }
        MainFit::Pooled(f) => {
            // NaN: a table left out of the pooled sums (none with metafor's drop00 defaults).
            for (i, wi) in w.iter_mut().enumerate() {
                *wi = f.weights_pct.get(i).copied().filter(|x| x.is_finite());
            }
        }
    }
    w
}

fn fmt_effect(a: &Analysis, x: f64) -> String {
    if !x.is_finite() {
        return "NA".into();
    }
    let v = if is_ratio(a.measure) { x.exp() } else { x };
    if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

fn fmt_p(p: f64) -> String {
    if !p.is_finite() {
        "NA".into()
    } else if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

fn display_measure(a: &Analysis) -> &'static str {
    match (a.measure, a.model) {
        (_, ModelArg::Peto) | (MeasureArg::PETO, _) => "Peto OR",
        (MeasureArg::RR, _) => "RR",
        (MeasureArg::OR, _) => "OR",
        (MeasureArg::RD, _) => "RD",
        (MeasureArg::GEN, _) => "effect",
    }
}

fn to_table(a: &Analysis, args: &Args) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let lvl = args.level;
    let z = vigil_stats::normal::quantile(1.0 - (1.0 - lvl / 100.0) / 2.0);
    let name = display_measure(a);
    let model_line = match &a.main {
        MainFit::Rma(f) if f.options.method == Method::EE => {
            format!("Common-effect model, inverse variance (k = {})", f.k)
        }
        MainFit::Rma(f) => format!(
            "Random-effects model (k = {}; tau^2 estimator: {}; test: {})",
            f.k,
            f.options.method.name(),
            f.options.test.name()
        ),
        MainFit::Pooled(f) if a.model == ModelArg::Peto => format!("Peto method (k = {})", f.k),
        MainFit::Pooled(f) => format!(
            "Mantel-Haenszel method (k = {}){}",
            f.k,
            if args.mh_correction {
                ", continuity correction in the MH sums"
            } else {
                ", exact (no continuity correction)"
            }
        ),
    };
    let _ = writeln!(
        o,
        "{model_line}\nFile: {}\nMeasure: {name}{}\n",
        a.input.path.display(),
        if is_ratio(a.measure) {
            " (estimates back-transformed from the log scale)"
        } else {
            ""
        }
    );
    let weights = study_weights(a);
    let wname = a
        .input
        .studies
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        o,
        "{:<wname$}  {:>24}  {:>8}",
        "study",
        format!("{name} [{lvl}% CI]"),
        "weight"
    );
    for i in 0..a.input.lines.len() {
        let cell = match a.effects[i] {
            Some((y, v)) => format!(
                "{} [{}, {}]",
                fmt_effect(a, y),
                fmt_effect(a, y - z * v.sqrt()),
                fmt_effect(a, y + z * v.sqrt())
            ),
            None => "not estimable".into(),
        };
        let w = weights[i].map_or("-".to_string(), |w| format!("{w:.1}%"));
        let _ = writeln!(o, "{:<wname$}  {:>24}  {:>8}", a.input.studies[i], cell, w);
    }
    if !a.omitted.is_empty() {
        let _ = writeln!(
            o,
            "Omitted for a missing value ({} of {} studies): {}",
            a.omitted.len(),
            a.omitted.len() + a.input.lines.len(),
            omitted_text(&a.omitted)
        );
    }
    let _ = writeln!(o);
    match &a.main {
        MainFit::Rma(f) => {
            let stat = if f.options.test.uses_t() {
                format!("t({}) = {:.3}", f.dfs.unwrap_or(f64::NAN), f.zval[0])
            } else {
                format!("z = {:.3}", f.zval[0])
            };
            let _ = writeln!(
                o,
                "Pooled {name}: {} [{}, {}], {stat}, p = {}",
                fmt_effect(a, f.beta[0]),
                fmt_effect(a, f.ci_lb[0]),
                fmt_effect(a, f.ci_ub[0]),
                fmt_p(f.pval[0])
            );
            if let Some(p) = &a.prediction {
                if p.pi_lb.is_finite() {
                    let _ = writeln!(
                        o,
                        "Prediction interval ({:?}): [{}, {}]",
                        args.pi_type,
                        fmt_effect(a, p.pi_lb),
                        fmt_effect(a, p.pi_ub)
                    );
                }
            }
            let _ = writeln!(
                o,
                "Heterogeneity: tau^2 = {:.4} (SE {}), tau = {:.4}, I^2 = {:.1}%, H^2 = {:.2}; Q({}) = {:.2}, p = {}",
                f.tau2,
                if f.se_tau2.is_finite() { format!("{:.4}", f.se_tau2) } else { "NA".into() },
                f.tau2.sqrt(),
                f.i2,
                f.h2,
                f.qe_df,
                f.qe,
                fmt_p(f.qe_p)
            );
            if let Some(c) = &a.confint_qp {
                let _ = writeln!(
                    o,
                    "tau^2 {lvl}% CI (Q-profile): [{:.4}, {:.4}]; I^2: [{:.1}%, {:.1}%]",
                    c.tau2.ci_lb, c.tau2.ci_ub, c.i2.ci_lb, c.i2.ci_ub
                );
            }
            if let Some(c) = &a.confint_pl {
                let _ = writeln!(
                    o,
                    "tau^2 {lvl}% CI (profile likelihood): [{:.4}, {:.4}]",
                    c.tau2.ci_lb, c.tau2.ci_ub
                );
            }
        }
        MainFit::Pooled(f) => {
            let _ = writeln!(
                o,
                "Pooled {name}: {} [{}, {}], z = {:.3}, p = {}",
                fmt_effect(a, f.beta),
                fmt_effect(a, f.ci_lb),
                fmt_effect(a, f.ci_ub),
                f.zval,
                fmt_p(f.pval)
            );
            let _ = writeln!(o, "Heterogeneity: Q({}) = {:.2}, p = {}, I^2 = {:.1}%, H^2 = {:.2} (over {} studies with an estimable effect)", f.qe_df, f.qe, fmt_p(f.qe_p), f.i2, f.h2, f.k_yi);
            if let Some(t) = &f.tests {
                let _ = writeln!(o, "Cochran-Mantel-Haenszel test: {:.2}, p = {}; Breslow-Day: {:.2}, p = {}; Tarone: {:.2}, p = {}", t.mh, fmt_p(t.mh_p), t.bd, fmt_p(t.bd_p), t.ta, fmt_p(t.ta_p));
            }
        }
    }
    let influence = |o: &mut String, title: &str, rows: &[(String, InfluenceRow)]| {
        let _ = writeln!(o, "\n{title}");
        for (s, r) in rows {
            let tau = r
                .tau2
                .map_or(String::new(), |t| format!(", tau^2 = {t:.4}"));
            let _ = writeln!(
                o,
                "  {:<wname$}  {} [{}, {}], p = {}, I^2 = {:.1}%{tau}",
                s,
                fmt_effect(a, r.estimate),
                fmt_effect(a, r.ci_lb),
                fmt_effect(a, r.ci_ub),
                fmt_p(r.pval),
                r.i2
            );
        }
    };
    if let Some(r) = &a.leave1out {
        influence(&mut o, "Leave-one-out (row = without that study):", r);
    }
    if let Some(r) = &a.cumulative {
        influence(
            &mut o,
            &format!(
                "Cumulative (ordered by {}; row = up to and including that study):",
                args.cumulative.as_deref().unwrap_or("")
            ),
            r,
        );
    }
    if let Some(r) = &a.regtest {
        let kind = if r.model == RegtestModel::Lm {
            "classic Egger test (weighted regression, t)"
        } else {
            "meta-regression on the standard error"
        };
        let stat = match r.dfs {
            Some(df) => format!("t({df}) = {:.3}", r.zval),
            None => format!("z = {:.3}", r.zval),
        };
        let _ = writeln!(
            o,
            "\nFunnel asymmetry, {kind}: {stat}, p = {}; limit estimate {} [{}, {}]",
            fmt_p(r.pval),
            fmt_effect(a, r.limit_estimate),
            fmt_effect(a, r.limit_ci_lb),
            fmt_effect(a, r.limit_ci_ub)
        );
    }
    if let Some(t) = &a.trimfill {
        let _ = writeln!(
            o,
            "\nTrim-and-fill ({:?}): {} study(ies) filled on the {} (SE {:.2}); adjusted {name} {} [{}, {}], p = {}",
            args.trimfill.expect("set"),
            t.k0,
            t.side.name(),
            t.se_k0,
            fmt_effect(a, t.fit.beta[0]),
            fmt_effect(a, t.fit.ci_lb[0]),
            fmt_effect(a, t.fit.ci_ub[0]),
            fmt_p(t.fit.pval[0])
        );
    }
    if let Some((col, s)) = &a.subgroup {
        let _ = writeln!(o, "\nSubgroups by {col} (separate tau^2):");
        for (g, f) in s.groups.iter().zip(&s.fits) {
            let _ = writeln!(
                o,
                "  {g:<12} k = {:>2}  {name} {} [{}, {}], tau^2 = {:.4}, I^2 = {:.1}%",
                f.k,
                fmt_effect(a, f.beta[0]),
                fmt_effect(a, f.ci_lb[0]),
                fmt_effect(a, f.ci_ub[0]),
                f.tau2,
                f.i2
            );
        }
        let _ = writeln!(
            o,
            "  Test for subgroup differences: Q = {:.3}, df = {}, p = {}",
            s.q_between,
            s.q_between_df,
            fmt_p(s.q_between_p)
        );
        let c = &s.common_tau2;
        let _ = writeln!(
            o,
            "  Mixed-effects model (common tau^2 = {:.4}): QM({}) = {:.3}, p = {}",
            c.tau2,
            c.qm_df.0,
            c.qm,
            fmt_p(c.qm_p)
        );
    }
    if let Some(m) = &a.mods {
        let f = &m.fit;
        let _ = writeln!(
            o,
            "\nMeta-regression (k = {}, tau^2 = {:.4}, R^2 = {}):",
            f.k,
            f.tau2,
            m.r2.map_or("NA".into(), |r| format!("{r:.1}%"))
        );
        if !m.omitted.is_empty() {
            let _ = writeln!(
                o,
                "  Omitted for a missing moderator: {}",
                omitted_text(&m.omitted)
            );
        }
        for (j, n) in m.coef_names.iter().enumerate() {
            let _ = writeln!(
                o,
                "  {n:<16} {:>10.4}  SE {:.4}  [{:.4}, {:.4}]  p = {}",
                f.beta[j],
                f.se[j],
                f.ci_lb[j],
                f.ci_ub[j],
                fmt_p(f.pval[j])
            );
        }
        let _ = writeln!(
            o,
            "  Test of moderators: QM = {:.3}, df = {}{}, p = {}",
            f.qm,
            f.qm_df.0,
            f.qm_df.1.map_or(String::new(), |d| format!(", {d}")),
            fmt_p(f.qm_p)
        );
        for (x, p) in &m.predictions {
            let _ = writeln!(
                o,
                "  at {:?}: {name} {} [{}, {}], PI [{}, {}]",
                x,
                fmt_effect(a, p.pred),
                fmt_effect(a, p.ci_lb),
                fmt_effect(a, p.ci_ub),
                fmt_effect(a, p.pi_lb),
                fmt_effect(a, p.pi_ub)
            );
        }
    }
    o
}

// ---------------------------------------------------------------- plots

fn forest_of(a: &Analysis, args: &Args) -> ForestPlot {
    let z = vigil_stats::normal::quantile(1.0 - (1.0 - args.level / 100.0) / 2.0);
    let weights = study_weights(a);
    let rows: Vec<ForestRow> = (0..a.input.lines.len())
        .map(|i| {
            let (est, lb, ub) = match a.effects[i] {
                Some((y, v)) => (Some(y), Some(y - z * v.sqrt()), Some(y + z * v.sqrt())),
                None => (None, None, None),
            };
            let detail = match &a.data {
                StudyValues::Tables(t) => Some(format!(
                    "{}/{} vs {}/{}",
                    t[i].ai,
                    t[i].n1(),
                    t[i].ci,
                    t[i].n2()
                )),
                StudyValues::Generic { .. } => None,
            };
            ForestRow {
                label: a.input.studies[i].clone(),
                detail,
                estimate: est,
                ci_lb: lb,
                ci_ub: ub,
                weight_pct: weights[i],
            }
        })
        .collect();
    let (pooled, heterogeneity) = match &a.main {
        MainFit::Rma(f) => {
            let label = if f.options.method == Method::EE {
                "Common effect (IV)".to_string()
            } else {
                format!("Random effects ({})", f.options.method.name())
            };
            let pi = a
                .prediction
                .filter(|p| p.pi_lb.is_finite())
                .map(|p| (p.pi_lb, p.pi_ub));
            let het = format!(
                "Heterogeneity: tau² = {:.3}, I² = {:.0}%, Q = {:.2} (df = {}), p = {}",
                f.tau2,
                f.i2,
                f.qe,
                f.qe_df,
                fmt_p(f.qe_p)
            );
            (
                PooledSummary {
                    label,
                    estimate: f.beta[0],
                    ci_lb: f.ci_lb[0],
                    ci_ub: f.ci_ub[0],
                    prediction: pi,
                },
                het,
            )
        }
        MainFit::Pooled(f) => {
            let label = if a.model == ModelArg::Peto {
                "Peto".to_string()
            } else {
                "Mantel-Haenszel".to_string()
            };
            let het = format!(
                "Heterogeneity: I² = {:.0}%, Q = {:.2} (df = {}), p = {}",
                f.i2,
                f.qe,
                f.qe_df,
                fmt_p(f.qe_p)
            );
            (
                PooledSummary {
                    label,
                    estimate: f.beta,
                    ci_lb: f.ci_lb,
                    ci_ub: f.ci_ub,
                    prediction: None,
                },
                het,
            )
        }
    };
    ForestPlot {
        title: a
            .input
            .path
            .file_stem()
            .map_or("meta-analysis".into(), |s| s.to_string_lossy().to_string()),
        measure_label: display_measure(a).to_string(),
        log_scale: is_ratio(a.measure) || a.model == ModelArg::Peto,
        level: args.level,
        rows,
        pooled,
        heterogeneity,
        omitted_note: (!a.omitted.is_empty())
            .then(|| format!("Omitted for a missing value: {}", omitted_text(&a.omitted))),
    }
}

fn funnel_of(a: &Analysis) -> FunnelPlot {
    let pts: Vec<(f64, f64)> = a
        .used
        .iter()
        .map(|&i| a.effects[i].expect("used"))
        .map(|(y, v)| (y, v.sqrt()))
        .collect();
    let center = match &a.main {
        MainFit::Rma(f) => f.beta[0],
        MainFit::Pooled(f) => f.beta,
    };
    let filled: Vec<(f64, f64)> = a.trimfill.as_ref().map_or(Vec::new(), |t| {
        t.yi.iter()
            .zip(&t.vi)
            .zip(&t.filled)
            .filter(|(_, f)| **f)
            .map(|((y, v), _)| (*y, v.sqrt()))
            .collect()
    });
    FunnelPlot {
        measure_label: display_measure(a).to_string(),
        log_scale: is_ratio(a.measure) || a.model == ModelArg::Peto,
        points: pts,
        filled,
        center,
    }
}

/// Run `vigil meta`.
pub fn run(args: Args) -> Result<()> {
    let analysis = analyse(&args)?;
    let text = match args.format {
        FormatArg::Json => serde_json::to_string_pretty(&to_json(&analysis, &args))? + "\n",
        FormatArg::Table => to_table(&analysis, &args),
    };
    let mut out = std::io::stdout().lock();
    match std::io::Write::write_all(&mut out, text.as_bytes()) {
        // A closed pipe (`vigil meta ... | head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.context("cannot write to standard output")?,
    }
    if let Some(path) = &args.forest {
        std::fs::write(path, forest_svg(&forest_of(&analysis, &args)))
            .with_context(|| format!("{}: cannot write the forest plot", path.display()))?;
    }
    if let Some(path) = &args.funnel {
        std::fs::write(path, funnel_svg(&funnel_of(&analysis)))
            .with_context(|| format!("{}: cannot write the funnel plot", path.display()))?;
    }
    Ok(())
}

/// A meta-analysis for the evidence report: metafor-named JSON, the text table and the forest plot
/// (SVG), from the same command-line arguments `vigil meta` takes (after the subcommand name).
pub fn evidence(argv: &[&str]) -> Result<(Value, String, String)> {
    use clap::{Args as _, FromArgMatches};
    let command = Args::augment_args(clap::Command::new("meta").no_binary_name(true));
    let matches = command
        .try_get_matches_from(argv)
        .context("meta-analysis arguments")?;
    let args = Args::from_arg_matches(&matches)?;
    let analysis = analyse(&args)?;
    Ok((
        to_json(&analysis, &args),
        to_table(&analysis, &args),
        forest_svg(&forest_of(&analysis, &args)),
    ))
}
