//! The plan of a whole meta-analysis: from the trial table and a typed [`AnalysisSpec`] to every
//! result `vigil meta` and the evidence report show ([`MetaAnalysis`]).
//!
//! The steps, in order (each is metafor's function of the same name):
//! 1. the studies: the CSV read by [`super::input`], those with a missing value omitted and listed;
//! 2. the main fit: `rma.uni` (common or random effects, inverse variance) on the `escalc` effects,
//!    or `rma.mh` / `rma.peto` on the 2×2 tables;
//! 3. the prediction interval and the τ² confidence intervals (Q-profile; profile likelihood for ML
//!    and REML);
//! 4. on request: leave-one-out and cumulative refits, the regression test, trim-and-fill, the
//!    subgroup analysis, and the meta-regression with its predictions.
//!
//! Pure like the rest of the crate: it takes bytes and a specification and returns values or
//! errors; the caller reads the file and names it in the messages. The messages name the `vigil
//! meta` options of the specification's fields (`--model`, `--mods`, …).

use super::confint::{confint, CiType, HeterogeneityCi};
use super::effect::{escalc, AddTo, Measure, Table2x2, ZeroCellOptions};
use super::influence::{cumulative, leave1out, stable_order, InfluenceRow};
use super::input::{
    read_study_data, DataKind, InputError, InputErrors, Omitted, StudyValues, TrialTable,
};
use super::metareg::{moderator_design, pseudo_r2, ModeratorDesign};
use super::mh::{rma_mh, PooledFit, PooledOptions};
use super::peto::rma_peto;
use super::regtest::{regtest, Predictor, Regtest, RegtestModel};
use super::rma::{fit, PiType, Prediction, RmaFit, RmaOptions, Test};
use super::subgroup::{subgroups, Subgroups};
use super::tau2::Method;
use super::trimfill::{trimfill, Estimator, TrimFill};
use super::MetaError;

/// The effect measure of an analysis: one of `escalc`'s 2×2 measures, or generic effects given as
/// `yi` with `vi` or `sei`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::upper_case_acronyms)] // metafor's names
pub enum EffectMeasure {
    /// Log risk ratio.
    RR,
    /// Log odds ratio.
    OR,
    /// Risk difference.
    RD,
    /// Log Peto odds ratio.
    PETO,
    /// Generic effect sizes (`yi`, `vi`/`sei`) as given.
    GEN,
}

impl EffectMeasure {
    /// The `escalc` measure, or `None` for generic effects.
    pub fn table_measure(self) -> Option<Measure> {
        match self {
            EffectMeasure::RR => Some(Measure::RR),
            EffectMeasure::OR => Some(Measure::OR),
            EffectMeasure::RD => Some(Measure::RD),
            EffectMeasure::PETO => Some(Measure::PETO),
            EffectMeasure::GEN => None,
        }
    }

    /// metafor's name (`"RR"`, …; `"GEN"` for generic effects).
    pub fn name(self) -> &'static str {
        match self {
            EffectMeasure::RR => "RR",
            EffectMeasure::OR => "OR",
            EffectMeasure::RD => "RD",
            EffectMeasure::PETO => "PETO",
            EffectMeasure::GEN => "GEN",
        }
    }

    /// Whether the measure is a log ratio (shown back-transformed with `exp`).
    pub fn is_ratio(self) -> bool {
        matches!(
            self,
            EffectMeasure::RR | EffectMeasure::OR | EffectMeasure::PETO
        )
    }
}

/// The pooling model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Common (equal) effect, inverse variance (`rma(method = "EE")`).
    Ee,
    /// Mantel–Haenszel (`rma.mh`; OR, RR, RD).
    Mh,
    /// Peto (`rma.peto`; log OR).
    Peto,
    /// Random effects, inverse variance (`rma(method = …)`).
    Re,
}

impl Model {
    /// The name as `vigil meta --model` takes it (`"ee"`, `"mh"`, `"peto"`, `"re"`).
    pub fn name(self) -> &'static str {
        match self {
            Model::Ee => "ee",
            Model::Mh => "mh",
            Model::Peto => "peto",
            Model::Re => "re",
        }
    }
}

/// What to compute: the options of `vigil meta`, typed.
///
/// # Defaults
/// [`AnalysisSpec::default`] is metafor's: `method = "REML"`, `test = "z"`, `level = 95`,
/// `pi.type` normal, `add = 1/2`, `to = "only0"`, `correct = TRUE`; the measure is chosen from the
/// file (GEN when it has a `yi` column, RR otherwise), and `drop00` follows the model (see
/// [`AnalysisSpec::drop00`]).
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisSpec {
    /// Effect measure; `None`: GEN when the table has a `yi` column, RR otherwise.
    pub measure: Option<EffectMeasure>,
    /// Pooling model (default random effects).
    pub model: Model,
    /// τ² estimator of the random-effects model (default REML; `Model::Ee` uses EE).
    pub method: Method,
    /// Test of the coefficients of an inverse-variance model (default z).
    pub test: Test,
    /// Continuity correction added to the cells of corrected tables (metafor `add`, default ½).
    pub add: f64,
    /// Which tables get it (metafor `to`, default only those with a zero cell).
    pub to: AddTo,
    /// Whether double-zero tables are dropped from the per-study effects; `None`: the default of
    /// the metafor function of the model (see [`AnalysisSpec::drop00`]).
    pub drop00: Option<bool>,
    /// Mantel–Haenszel with the continuity correction also inside the MH sums (RevMan / R meta);
    /// default false: metafor's exact MH.
    pub mh_correction: bool,
    /// Continuity correction in the Cochran and CMH tests of an MH odds ratio (metafor `correct`,
    /// default true).
    pub correct: bool,
    /// Confidence level in percent (default 95).
    pub level: f64,
    /// Prediction-interval quantile (default normal).
    pub pi_type: PiType,
    /// Leave-one-out analysis.
    pub leave1out: bool,
    /// Cumulative analysis ordered by this column (numeric, else text; ties in file order).
    pub cumulative: Option<String>,
    /// Regression test for funnel-plot asymmetry.
    pub regtest: Option<RegtestModel>,
    /// Trim-and-fill with this estimator.
    pub trimfill: Option<Estimator>,
    /// Subgroup analysis by this column.
    pub subgroup: Option<String>,
    /// Meta-regression on these columns (numeric, or categorical coded as dummies).
    pub mods: Vec<String>,
    /// Predictions of the meta-regression at these moderator values (one value per moderator
    /// coefficient, intercept excluded).
    pub predict_at: Vec<Vec<f64>>,
}

impl Default for AnalysisSpec {
    fn default() -> Self {
        AnalysisSpec {
            measure: None,
            model: Model::Re,
            method: Method::REML,
            test: Test::Z,
            add: 0.5,
            to: AddTo::Only0,
            drop00: None,
            mh_correction: false,
            correct: true,
            level: 95.0,
            pi_type: PiType::Z,
            leave1out: false,
            cumulative: None,
            regtest: None,
            trimfill: None,
            subgroup: None,
            mods: Vec::new(),
            predict_at: Vec::new(),
        }
    }
}

impl AnalysisSpec {
    /// Checks what can be checked without the data (the confidence level).
    pub fn validate(&self) -> Result<(), AnalysisError> {
        if !(self.level > 0.0 && self.level < 100.0) {
            return Err(AnalysisError::Spec(format!(
                "--level must be between 0 and 100 (percent), got {}",
                self.level
            )));
        }
        Ok(())
    }

    /// `drop00` as given, or the default of the metafor function the model corresponds to:
    /// `rma.mh` and `rma.peto` drop double-zero tables from the per-study effects
    /// (`drop00 = TRUE`), `rma` and `escalc` keep them (`drop00 = FALSE`).
    pub fn drop00(&self) -> bool {
        self.drop00
            .unwrap_or(matches!(self.model, Model::Mh | Model::Peto))
    }

    /// Options of the inverse-variance fit (`Model::Ee` is `method = "EE"`).
    pub fn rma_options(&self) -> RmaOptions {
        RmaOptions {
            method: if self.model == Model::Ee {
                Method::EE
            } else {
                self.method
            },
            test: self.test,
            level: self.level,
        }
    }

    /// Zero-cell options of `escalc`.
    pub fn zero_options(&self) -> ZeroCellOptions {
        ZeroCellOptions {
            add: self.add,
            to: self.to,
            drop00: self.drop00(),
        }
    }

    /// Options of `rma.mh` / `rma.peto`.
    pub fn pooled_options(&self) -> PooledOptions {
        let z = self.zero_options();
        let mut o = PooledOptions {
            level: self.level,
            correct: self.correct,
            ..PooledOptions::default()
        };
        o.add[0] = z.add;
        o.to[0] = z.to;
        // metafor's scalar `drop00` is its first element; the second (the MH/Peto sums) stays
        // FALSE: `rma.mh(drop00 = TRUE)` means `drop00 = c(TRUE, FALSE)`.
        o.drop00 = [self.drop00(), false];
        if self.mh_correction {
            o.add[1] = z.add;
            o.to[1] = AddTo::Only0;
        }
        o
    }
}

/// Why an analysis could not be made. The caller names the file: before every line of an
/// [`AnalysisError::Input`] and before an [`AnalysisError::WholeFile`] message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalysisError {
    /// Problems at places in the table (line and field), all of them.
    #[error("{}", .0.errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Input(InputErrors),
    /// The studies of the file as a whole do not allow the model (too few, no information).
    #[error("{0}")]
    WholeFile(String),
    /// The specification does not fit the data (e.g. `--model peto` with a risk ratio).
    #[error("{0}")]
    Spec(String),
    /// A step of the analysis failed numerically (a refit, a regression test…).
    #[error("{0}")]
    Fit(String),
}

impl From<InputErrors> for AnalysisError {
    fn from(e: InputErrors) -> Self {
        AnalysisError::Input(e)
    }
}

impl From<InputError> for AnalysisError {
    fn from(e: InputError) -> Self {
        AnalysisError::Input(InputErrors {
            errors: vec![e],
            not_listed: 0,
        })
    }
}

/// The main fit: inverse variance (EE/RE) or MH/Peto.
// One per analysis, so the size difference of the variants costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum MainFit {
    /// `rma.uni`.
    Rma(RmaFit),
    /// `rma.mh` or `rma.peto`.
    Pooled(PooledFit),
}

/// The meta-regression of [`AnalysisSpec::mods`].
#[derive(Debug, Clone)]
pub struct ModsResult {
    /// Studies of the main analysis left out for a missing moderator (metafor's
    /// `rma(mods = ...)` omits them).
    pub omitted: Vec<Omitted>,
    /// Coefficient names (`intrcpt` first).
    pub coef_names: Vec<String>,
    /// The mixed-effects model.
    pub fit: RmaFit,
    /// Pseudo-R² in percent ([`pseudo_r2`]).
    pub r2: Option<f64>,
    /// Predictions at [`AnalysisSpec::predict_at`], each with its moderator values.
    pub predictions: Vec<(Vec<f64>, Prediction)>,
}

/// Every result of one analysis.
#[derive(Debug, Clone)]
pub struct MetaAnalysis {
    /// The specification, with the measure resolved.
    pub spec: AnalysisSpec,
    /// The effect measure used.
    pub measure: EffectMeasure,
    /// The studies analysed (rows with a missing value removed), with their labels and lines.
    pub table: TrialTable,
    /// Studies of the file left out for a missing value in their effect-size columns.
    pub omitted: Vec<Omitted>,
    /// Their values.
    pub data: StudyValues,
    /// Per-study effects `(yi, vi)` (None = not estimable), one per row of `table`.
    pub effects: Vec<Option<(f64, f64)>>,
    /// Rows of the studies used by the inverse-variance model (those with an effect).
    pub used: Vec<usize>,
    /// The main fit.
    pub main: MainFit,
    /// Prediction of the inverse-variance model (None for MH and Peto).
    pub prediction: Option<Prediction>,
    /// τ², τ, I², H² intervals by Q-profile (random effects with k > p).
    pub confint_qp: Option<HeterogeneityCi>,
    /// The same by profile likelihood (ML and REML).
    pub confint_pl: Option<HeterogeneityCi>,
    /// Leave-one-out rows, labelled by the study left out.
    pub leave1out: Option<Vec<(String, InfluenceRow)>>,
    /// Cumulative rows, labelled by the last study added.
    pub cumulative: Option<Vec<(String, InfluenceRow)>>,
    /// Regression test.
    pub regtest: Option<Regtest>,
    /// Trim-and-fill.
    pub trimfill: Option<TrimFill>,
    /// Subgroup analysis, with its column.
    pub subgroup: Option<(String, Subgroups)>,
    /// Meta-regression.
    pub mods: Option<ModsResult>,
}

impl MetaAnalysis {
    /// The model.
    pub fn model(&self) -> Model {
        self.spec.model
    }

    /// Whether estimates are log ratios (shown back-transformed): a ratio measure, or Peto.
    pub fn log_scale(&self) -> bool {
        self.measure.is_ratio() || self.spec.model == Model::Peto
    }

    /// The measure as shown to a reader: `Peto OR`, `RR`, `OR`, `RD` or `effect`.
    pub fn display_measure(&self) -> &'static str {
        match (self.measure, self.spec.model) {
            (_, Model::Peto) | (EffectMeasure::PETO, _) => "Peto OR",
            (EffectMeasure::RR, _) => "RR",
            (EffectMeasure::OR, _) => "OR",
            (EffectMeasure::RD, _) => "RD",
            (EffectMeasure::GEN, _) => "effect",
        }
    }

    /// Weight (%) of each study of `table` in the main model (None = not used).
    pub fn study_weights(&self) -> Vec<Option<f64>> {
        let mut w = vec![None; self.table.len()];
        match &self.main {
            MainFit::Rma(f) => {
                for (j, &i) in self.used.iter().enumerate() {
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

    /// The pooled estimate (log scale for ratios).
    pub fn pooled_estimate(&self) -> f64 {
        match &self.main {
            MainFit::Rma(f) => f.beta[0],
            MainFit::Pooled(f) => f.beta,
        }
    }
}

/// Runs the analysis `spec` describes on the trial table in `csv` (the bytes of the file).
///
/// # Errors
/// [`AnalysisError`]: located problems in the table, a model the studies do not allow, a
/// specification that does not fit the data, or a failed refit.
pub fn analyse(csv: &[u8], spec: &AnalysisSpec) -> Result<MetaAnalysis, AnalysisError> {
    spec.validate()?;
    let full = TrialTable::parse(csv)?;
    let measure = spec.measure.unwrap_or(if full.has("yi") {
        EffectMeasure::GEN
    } else {
        EffectMeasure::RR
    });
    let kind = if measure == EffectMeasure::GEN {
        DataKind::Generic
    } else {
        DataKind::Tables
    };
    let data = read_study_data(&full, kind)?;
    let table = full.subset(&data.kept);
    let (omitted, values) = (data.omitted, data.values);
    let spec = AnalysisSpec {
        measure: Some(measure),
        ..spec.clone()
    };
    let main = main_fit(&spec, measure, &table, &values, &omitted)?;
    let (prediction, confint_qp, confint_pl) = match &main.fit {
        MainFit::Rma(f) => {
            let p = f.predict(None, spec.pi_type);
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
    let refits = Refits {
        spec: &spec,
        measure,
        table: &table,
        data: &values,
        main: &main,
    };
    let (leave1, cumul) = refits.influence()?;
    let used_fit = UsedFit {
        spec: &spec,
        table: &table,
        main: &main,
    };
    let regtest_res = used_fit.regtest()?;
    let trimfill_res = used_fit.trimfill()?;
    let subgroup_res = used_fit.subgroup()?;
    let mods_res = used_fit.meta_regression()?;
    Ok(MetaAnalysis {
        spec,
        measure,
        table,
        omitted,
        data: values,
        effects: main.effects,
        used: main.used,
        main: main.fit,
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

/// The main fit with the per-study effects it rests on.
struct Main {
    fit: MainFit,
    /// Per-study effects, every row of the table.
    effects: Vec<Option<(f64, f64)>>,
    /// Rows with an effect.
    used: Vec<usize>,
    /// Effects and variances of the used rows.
    yi: Vec<f64>,
    vi: Vec<f64>,
}

/// `of 5 rows` or `of 7 rows, 2 omitted for a missing value`, for messages about the whole file.
fn rows_note(k: usize, omitted: &[Omitted]) -> String {
    if omitted.is_empty() {
        format!("of {k} rows")
    } else {
        format!(
            "of {} rows, {} omitted for a missing value",
            k + omitted.len(),
            omitted.len()
        )
    }
}

/// MH or Peto on the tables, or None for an inverse-variance model.
fn pooled_fit(
    spec: &AnalysisSpec,
    measure: EffectMeasure,
    data: &StudyValues,
    note: impl Fn() -> String,
) -> Result<Option<PooledFit>, AnalysisError> {
    if matches!(spec.model, Model::Ee | Model::Re) {
        return Ok(None);
    }
    let StudyValues::Tables(t) = data else {
        return Err(AnalysisError::Spec(format!(
            "--model {:?} needs 2x2 data (ai,bi,ci,di or ai,n1i,ci,n2i), not generic yi/vi",
            spec.model
        )));
    };
    let po = spec.pooled_options();
    let f = if spec.model == Model::Peto {
        if !matches!(measure, EffectMeasure::PETO | EffectMeasure::OR) {
            return Err(AnalysisError::Spec(
                "--model peto pools log odds ratios: use --measure PETO (or OR)".into(),
            ));
        }
        rma_peto(t, &po)
    } else {
        match measure.table_measure() {
            Some(m @ (Measure::OR | Measure::RR | Measure::RD)) => rma_mh(m, t, &po),
            _ => {
                return Err(AnalysisError::Spec(
                    "--model mh needs --measure OR, RR or RD".into(),
                ))
            }
        }
    };
    f.map(Some)
        .map_err(|e| AnalysisError::WholeFile(format!("{e} ({})", note())))
}

/// Step 2: the per-study effects and the main fit. MH and Peto: the per-study effects shown are
/// those of the fit (metafor's first add/to/drop00 elements), so the table, the JSON and QE
/// describe the same studies.
fn main_fit(
    spec: &AnalysisSpec,
    measure: EffectMeasure,
    table: &TrialTable,
    data: &StudyValues,
    omitted: &[Omitted],
) -> Result<Main, AnalysisError> {
    let k_all = table.len();
    let note = || rows_note(k_all, omitted);
    let pooled = pooled_fit(spec, measure, data, note)?;
    let effects: Vec<Option<(f64, f64)>> = match (&pooled, data, measure.table_measure()) {
        (Some(f), _, _) => f.study.iter().map(|e| e.map(|e| (e.yi, e.vi))).collect(),
        (None, StudyValues::Tables(t), Some(m)) => escalc(m, t, &spec.zero_options())
            .into_iter()
            .map(|e| e.map(|e| (e.yi, e.vi)))
            .collect(),
        (None, StudyValues::Generic { yi, vi }, _) => {
            yi.iter().zip(vi).map(|(y, v)| Some((*y, *v))).collect()
        }
        (None, StudyValues::Tables(_), None) => {
            return Err(AnalysisError::Spec(
                "--measure GEN needs the columns yi and vi (or sei), not 2x2 tables".into(),
            ))
        }
    };
    let used: Vec<usize> = (0..k_all).filter(|&i| effects[i].is_some()).collect();
    let yi: Vec<f64> = used
        .iter()
        .filter_map(|&i| effects[i])
        .map(|e| e.0)
        .collect();
    let vi: Vec<f64> = used
        .iter()
        .filter_map(|&i| effects[i])
        .map(|e| e.1)
        .collect();
    let fit = match pooled {
        Some(f) => MainFit::Pooled(f),
        None => {
            zero_variances(table, &used, &vi)?;
            let needed = if spec.model == Model::Re { 2 } else { 1 };
            if yi.len() < needed {
                return Err(AnalysisError::WholeFile(format!(
                    "the {} model needs at least {needed} studies with an estimable effect, found {} ({})",
                    if spec.model == Model::Re { "random-effects" } else { "common-effect" },
                    yi.len(),
                    note()
                )));
            }
            MainFit::Rma(
                fit(&yi, &vi, None, spec.rma_options())
                    .map_err(|e| AnalysisError::WholeFile(e.to_string()))?,
            )
        }
    };
    Ok(Main {
        fit,
        effects,
        used,
        yi,
        vi,
    })
}

/// Inverse-variance weights need a positive variance (e.g. an uncorrected double-zero RD has 0):
/// every such study is an error at its line.
fn zero_variances(table: &TrialTable, used: &[usize], vi: &[f64]) -> Result<(), AnalysisError> {
    let errors: Vec<InputError> = used
        .iter()
        .zip(vi)
        .filter(|(_, v)| !(**v > 0.0))
        .map(|(&i, _)| InputError {
            line: table.lines[i],
            field: Some("ai".into()),
            message: format!(
                "study {}: sampling variance 0 (no events, or only events, in both arms, and no continuity correction), so it cannot be weighted; use --to only0 or --drop00 true",
                table.studies[i]
            ),
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AnalysisError::Input(InputErrors {
            errors,
            not_listed: 0,
        }))
    }
}

/// Step 4a: refits on subsets of the studies (leave-one-out, cumulative).
struct Refits<'a> {
    spec: &'a AnalysisSpec,
    measure: EffectMeasure,
    table: &'a TrialTable,
    data: &'a StudyValues,
    main: &'a Main,
}

type Labelled = Vec<(String, InfluenceRow)>;

impl Refits<'_> {
    /// Refit on a subset of the units: positions into the used studies (inverse variance) or
    /// rows of the tables (MH/Peto).
    fn refit(&self, idx: &[usize]) -> Result<InfluenceRow, MetaError> {
        match (&self.main.fit, self.data) {
            (MainFit::Rma(f), _) => {
                let ys: Vec<f64> = idx.iter().map(|&i| self.main.yi[i]).collect();
                let vs: Vec<f64> = idx.iter().map(|&i| self.main.vi[i]).collect();
                fit(&ys, &vs, None, f.options).map(|f| InfluenceRow::from(&f))
            }
            (MainFit::Pooled(_), StudyValues::Tables(t)) => {
                let sub: Vec<Table2x2> = idx.iter().map(|&i| t[i]).collect();
                let po = self.spec.pooled_options();
                let f = match self.measure.table_measure() {
                    Some(m) if self.spec.model != Model::Peto => rma_mh(m, &sub, &po),
                    _ => rma_peto(&sub, &po),
                };
                f.map(|f| InfluenceRow::from(&f))
            }
            // A pooled fit is only ever made on tables (see `pooled_fit`).
            (MainFit::Pooled(_), StudyValues::Generic { .. }) => Err(MetaError::NoInformation),
        }
    }

    /// The rows of the table the refits run over.
    fn units(&self) -> Vec<usize> {
        match &self.main.fit {
            MainFit::Rma(_) => self.main.used.clone(),
            MainFit::Pooled(_) => (0..self.table.len()).collect(),
        }
    }

    fn influence(&self) -> Result<(Option<Labelled>, Option<Labelled>), AnalysisError> {
        let units = self.units();
        let label = |u: usize| self.table.studies[units[u]].clone();
        let leave1 = if self.spec.leave1out {
            let rows = leave1out(units.len(), |idx| self.refit(idx));
            Some(
                rows.into_iter()
                    .enumerate()
                    .map(|(i, r)| {
                        r.map(|r| (label(i), r)).map_err(|e| {
                            AnalysisError::Fit(format!("leave-one-out without {}: {e}", label(i)))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            )
        } else {
            None
        };
        let Some(col) = &self.spec.cumulative else {
            return Ok((leave1, None));
        };
        let raw = self
            .table
            .require_filled(col, "--cumulative orders by this column")?;
        let numeric: Option<Vec<f64>> = units.iter().map(|&i| raw[i].parse::<f64>().ok()).collect();
        let order = match numeric {
            Some(key_units) => stable_order(&key_units),
            // A text column (e.g. a date as YYYY-MM-DD) is ordered as text, ties in file order.
            None => {
                let mut idx: Vec<usize> = (0..units.len()).collect();
                idx.sort_by(|&a, &b| raw[units[a]].cmp(&raw[units[b]]));
                idx
            }
        };
        let rows = cumulative(&order, |idx| self.refit(idx));
        let cumul = rows
            .into_iter()
            .enumerate()
            .map(|(j, r)| {
                r.map(|r| (label(order[j]), r))
                    .map_err(|e| AnalysisError::Fit(format!("cumulative step {}: {e}", j + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((leave1, Some(cumul)))
    }
}

/// Step 4b: analyses of the used studies that need an inverse-variance main model.
struct UsedFit<'a> {
    spec: &'a AnalysisSpec,
    table: &'a TrialTable,
    main: &'a Main,
}

impl UsedFit<'_> {
    fn rma_only(&self, flag: &str) -> Result<&RmaFit, AnalysisError> {
        match &self.main.fit {
            MainFit::Rma(f) => Ok(f),
            MainFit::Pooled(_) => Err(AnalysisError::Spec(format!(
                "{flag} needs an inverse-variance model (--model ee or re)"
            ))),
        }
    }

    fn regtest(&self) -> Result<Option<Regtest>, AnalysisError> {
        let Some(model) = self.spec.regtest else {
            return Ok(None);
        };
        let f = self.rma_only("--regtest")?;
        regtest(
            &self.main.yi,
            &self.main.vi,
            f.options,
            model,
            Predictor::Sei,
        )
        .map(Some)
        .map_err(|e| AnalysisError::Fit(format!("regtest: {e}")))
    }

    fn trimfill(&self) -> Result<Option<TrimFill>, AnalysisError> {
        let Some(estimator) = self.spec.trimfill else {
            return Ok(None);
        };
        let f = self.rma_only("--trimfill")?;
        trimfill(&self.main.yi, &self.main.vi, f.options, estimator, None)
            .map(Some)
            .map_err(|e| AnalysisError::Fit(format!("trimfill: {e}")))
    }

    fn subgroup(&self) -> Result<Option<(String, Subgroups)>, AnalysisError> {
        let Some(col) = &self.spec.subgroup else {
            return Ok(None);
        };
        let f = self.rma_only("--subgroup")?;
        let raw = self
            .table
            .require_filled(col, "--subgroup groups by this column")?;
        let labels: Vec<String> = self.main.used.iter().map(|&i| raw[i].clone()).collect();
        let s = subgroups(&self.main.yi, &self.main.vi, &labels, f.options)
            .map_err(|e| AnalysisError::Fit(format!("subgroup analysis by '{col}': {e}")))?;
        Ok(Some((col.clone(), s)))
    }

    fn meta_regression(&self) -> Result<Option<ModsResult>, AnalysisError> {
        if self.spec.mods.is_empty() {
            return Ok(None);
        }
        let f = self.rma_only("--mods")?;
        let ModeratorDesign {
            names,
            x,
            rows,
            omitted,
        } = moderator_design(self.table, &self.spec.mods, &self.main.used)?;
        let ym: Vec<f64> = rows.iter().map(|&j| self.main.yi[j]).collect();
        let vm: Vec<f64> = rows.iter().map(|&j| self.main.vi[j]).collect();
        let mf = fit(&ym, &vm, Some(&x), f.options)
            .map_err(|e| AnalysisError::Fit(format!("meta-regression: {e}")))?;
        let r2 =
            pseudo_r2(&mf).map_err(|e| AnalysisError::Fit(format!("meta-regression R2: {e}")))?;
        let mut predictions = Vec::new();
        for vals in &self.spec.predict_at {
            if vals.len() != names.len() - 1 {
                return Err(AnalysisError::Spec(format!(
                    "--predict-at: {} value(s) given, the model has {} moderator coefficient(s)",
                    vals.len(),
                    names.len() - 1
                )));
            }
            let mut x0 = vec![1.0];
            x0.extend(vals);
            predictions.push((vals.clone(), mf.predict(Some(&x0), self.spec.pi_type)));
        }
        Ok(Some(ModsResult {
            coef_names: names,
            fit: mf,
            r2,
            predictions,
            omitted,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Worked example (hand arithmetic): two trials, 2/20 vs 4/20 and 3/30 vs 6/30, common effect
    // on the log risk ratio. Each log RR is ln(0.5) = −0.693147; the variances are
    // 1/2 − 1/20 + 1/4 − 1/20 = 0.65 and 1/3 − 1/30 + 1/6 − 1/30 = 0.433333; the inverse-variance
    // weights 1/0.65 and 1/0.433333 give weights of 40 % and 60 %, the pooled log RR is ln(0.5) and
    // its variance 1/(1/0.65 + 1/0.433333) = 0.26.
    #[test]
    fn common_effect_of_two_tables_by_hand() {
        let csv = b"study,ai,n1i,ci,n2i\nA,2,20,4,20\nB,3,30,6,30\n";
        let spec = AnalysisSpec {
            model: Model::Ee,
            ..AnalysisSpec::default()
        };
        let a = analyse(csv, &spec).unwrap();
        assert_eq!(a.measure, EffectMeasure::RR);
        let MainFit::Rma(f) = &a.main else {
            panic!("inverse-variance fit expected")
        };
        assert!((f.beta[0] - 0.5f64.ln()).abs() < 1e-12);
        assert!((f.se[0] - 0.26f64.sqrt()).abs() < 1e-12);
        let w = a.study_weights();
        assert!((w[0].unwrap() - 40.0).abs() < 1e-9 && (w[1].unwrap() - 60.0).abs() < 1e-9);
        assert_eq!(a.display_measure(), "RR");
        assert!(a.log_scale());
    }

    // The specification's own checks and the model/measure combinations metafor refuses.
    #[test]
    fn specification_errors_name_the_option() {
        let csv = b"study,ai,n1i,ci,n2i\nA,2,20,4,20\nB,3,30,6,30\n";
        let level = AnalysisSpec {
            level: 100.0,
            ..AnalysisSpec::default()
        };
        assert_eq!(
            analyse(csv, &level).unwrap_err().to_string(),
            "--level must be between 0 and 100 (percent), got 100"
        );
        let peto_rr = AnalysisSpec {
            model: Model::Peto,
            ..AnalysisSpec::default()
        };
        assert!(matches!(
            analyse(csv, &peto_rr),
            Err(AnalysisError::Spec(_))
        ));
        let mh_regtest = AnalysisSpec {
            model: Model::Mh,
            regtest: Some(RegtestModel::Rma),
            ..AnalysisSpec::default()
        };
        assert_eq!(
            analyse(csv, &mh_regtest).unwrap_err().to_string(),
            "--regtest needs an inverse-variance model (--model ee or re)"
        );
        // A random-effects model needs two studies with an effect.
        let one = b"study,ai,n1i,ci,n2i\nA,2,20,4,20\n";
        assert_eq!(
            analyse(one, &AnalysisSpec::default()).unwrap_err(),
            AnalysisError::WholeFile(
                "the random-effects model needs at least 2 studies with an estimable effect, found 1 (of 1 rows)".into()
            )
        );
    }

    // drop00 follows the metafor function of the model unless given.
    #[test]
    fn drop00_default_follows_the_model() {
        let mut spec = AnalysisSpec::default();
        assert!(!spec.drop00());
        spec.model = Model::Mh;
        assert!(spec.drop00());
        spec.model = Model::Peto;
        assert!(spec.drop00() && spec.pooled_options().drop00 == [true, false]);
        spec.drop00 = Some(false);
        assert!(!spec.drop00());
    }
}
