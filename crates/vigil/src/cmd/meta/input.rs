//! The command line and the input file of `vigil meta`: the arguments (clap `ValueEnum`s, no
//! strings) become a typed [`AnalysisSpec`], and the file's bytes and that specification go to
//! `vigil_stats::meta::analysis`; its errors get the file name here.

use anyhow::{anyhow, Context, Result};
use std::path::{Path, PathBuf};
use vigil_stats::meta::analysis::{
    analyse, AnalysisError, AnalysisSpec, EffectMeasure, MetaAnalysis, Model,
};
use vigil_stats::meta::effect::AddTo;
use vigil_stats::meta::input::{InputError, InputErrors};
use vigil_stats::meta::regtest::RegtestModel;
use vigil_stats::meta::rma::{PiType, Test};
use vigil_stats::meta::tau2::Method;
use vigil_stats::meta::trimfill::Estimator;

/// Effect measure (`GEN` = the `yi`/`vi` or `yi`/`sei` columns as given).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
#[value(rename_all = "UPPER")]
#[allow(clippy::upper_case_acronyms)] // metafor's measure names, as the option takes them
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

impl From<MeasureArg> for EffectMeasure {
    fn from(m: MeasureArg) -> Self {
        match m {
            MeasureArg::RR => EffectMeasure::RR,
            MeasureArg::OR => EffectMeasure::OR,
            MeasureArg::RD => EffectMeasure::RD,
            MeasureArg::PETO => EffectMeasure::PETO,
            MeasureArg::GEN => EffectMeasure::GEN,
        }
    }
}

impl From<ModelArg> for Model {
    fn from(m: ModelArg) -> Self {
        match m {
            ModelArg::Ee => Model::Ee,
            ModelArg::Mh => Model::Mh,
            ModelArg::Peto => Model::Peto,
            ModelArg::Re => Model::Re,
        }
    }
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Self {
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
}

impl From<TestArg> for Test {
    fn from(t: TestArg) -> Self {
        match t {
            TestArg::Z => Test::Z,
            TestArg::Knha => Test::Knha,
            TestArg::Adhoc => Test::Adhoc,
        }
    }
}

impl From<ToArg> for AddTo {
    fn from(t: ToArg) -> Self {
        match t {
            ToArg::Only0 => AddTo::Only0,
            ToArg::All => AddTo::All,
            ToArg::If0all => AddTo::If0All,
            ToArg::None => AddTo::None,
        }
    }
}

impl From<PiArg> for PiType {
    fn from(p: PiArg) -> Self {
        match p {
            PiArg::Z => PiType::Z,
            PiArg::Riley => PiType::Riley,
            PiArg::T => PiType::T,
        }
    }
}

impl From<RegtestArg> for RegtestModel {
    fn from(r: RegtestArg) -> Self {
        match r {
            RegtestArg::Rma => RegtestModel::Rma,
            RegtestArg::Lm => RegtestModel::Lm,
        }
    }
}

impl From<TrimfillArg> for Estimator {
    fn from(e: TrimfillArg) -> Self {
        match e {
            TrimfillArg::L0 => Estimator::L0,
            TrimfillArg::R0 => Estimator::R0,
        }
    }
}

impl Args {
    /// The analysis these arguments ask for.
    pub fn spec(&self) -> Result<AnalysisSpec> {
        Ok(AnalysisSpec {
            measure: self.measure.map(EffectMeasure::from),
            model: self.model.into(),
            method: self.method.into(),
            test: self.test.into(),
            add: self.add,
            to: self.to.into(),
            drop00: self.drop00,
            mh_correction: self.mh_correction,
            correct: self.correct,
            level: self.level,
            pi_type: self.pi_type.into(),
            leave1out: self.leave1out,
            cumulative: self.cumulative.clone(),
            regtest: self.regtest.map(RegtestModel::from),
            trimfill: self.trimfill.map(Estimator::from),
            subgroup: self.subgroup.clone(),
            mods: self.mods.clone(),
            predict_at: match &self.predict_at {
                Some(values) => parse_predict_at(values)?,
                None => Vec::new(),
            },
        })
    }
}

/// `--predict-at "10;30;50"` or `"1,2;3,4"`: rows separated by `;`, values in a row by `,`.
fn parse_predict_at(text: &str) -> Result<Vec<Vec<f64>>> {
    text.split(';')
        .filter(|r| !r.trim().is_empty())
        .map(|row| {
            row.split(',')
                .map(|v| {
                    v.trim()
                        .parse::<f64>()
                        .map_err(|_| anyhow!("--predict-at: not a number: '{v}'"))
                })
                .collect()
        })
        .collect()
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

/// Reads `path` and runs the analysis `spec` describes on it; errors name the file.
pub fn analyse_file(path: &Path, spec: &AnalysisSpec) -> Result<MetaAnalysis> {
    // The options are checked before the file is read, so a bad `--level` is reported first.
    spec.validate().map_err(|e| anyhow!("{e}"))?;
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot open", path.display()))?;
    analyse(&bytes, spec).map_err(|e| match e {
        AnalysisError::Input(errors) => input_errors(path, &errors),
        AnalysisError::WholeFile(message) => anyhow!("{}: {message}", path.display()),
        AnalysisError::Spec(message) | AnalysisError::Fit(message) => anyhow!("{message}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args as _, FromArgMatches};

    fn parse(argv: &[&str]) -> Args {
        let command = Args::augment_args(clap::Command::new("meta").no_binary_name(true));
        Args::from_arg_matches(&command.try_get_matches_from(argv).unwrap()).unwrap()
    }

    // The clap defaults are the library's (metafor's) defaults: a file alone asks for exactly
    // `AnalysisSpec::default()`.
    #[test]
    fn command_line_defaults_are_the_library_defaults() {
        assert_eq!(parse(&["t.csv"]).spec().unwrap(), AnalysisSpec::default());
    }

    #[test]
    fn options_become_the_typed_spec() {
        let args = parse(&[
            "t.csv",
            "--measure",
            "OR",
            "--model",
            "mh",
            "--method",
            "HSk",
            "--to",
            "if0all",
            "--drop00",
            "false",
            "--pi",
            "riley",
            "--trimfill",
            "R0",
            "--regtest",
            "lm",
            "--mods",
            "a,b",
            "--predict-at",
            "1,2; 3,4;",
        ]);
        let spec = args.spec().unwrap();
        assert_eq!(spec.measure, Some(EffectMeasure::OR));
        assert_eq!(spec.model, Model::Mh);
        assert_eq!(spec.method, Method::HSk);
        assert_eq!(spec.to, AddTo::If0All);
        assert_eq!(spec.drop00, Some(false));
        assert_eq!(spec.pi_type, PiType::Riley);
        assert_eq!(spec.trimfill, Some(Estimator::R0));
        assert_eq!(spec.regtest, Some(RegtestModel::Lm));
        assert_eq!(spec.mods, ["a", "b"]);
        assert_eq!(spec.predict_at, [vec![1.0, 2.0], vec![3.0, 4.0]]);
        let bad = parse(&["t.csv", "--mods", "a", "--predict-at", "1;x"]);
        assert_eq!(
            bad.spec().unwrap_err().to_string(),
            "--predict-at: not a number: 'x'"
        );
    }
}
