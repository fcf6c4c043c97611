//! vigil's functions as DataFusion scalar UDFs, registered on the scheduler, every executor and
//! the client so that a plan naming them decodes and runs anywhere in the cluster.
//!
//! The numerics are `vigil-stats`' own (Ω of Norén et al. 2008, the single-pair scores and MGPS
//! posteriors); this module only moves Arrow columns in and out. The two name and role rules are
//! those of `vigil_store::read` (which this crate cannot link: it uses arrow 60, Ballista arrow 59),
//! restated here and checked end to end by the loopback cluster test against a local run.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, BooleanBuilder, Float64Array, StringBuilder,
    StructArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Fields, Float64Type};
use datafusion::common::{exec_err, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use vigil_stats::mgps::GammaMixturePrior;
use vigil_stats::omega::{omega_from_expected, OmegaCounts, OmegaError};
use vigil_stats::score::score_pair;

/// Names of the UDFs, as the SQL of [`crate::jobs`] calls them.
pub mod names {
    /// `vigil_name(text) -> text`: trimmed, upper case, NULL when blank.
    pub const NAME: &str = "vigil_name";
    /// `vigil_role_admits(role_cod, role) -> bool`.
    pub const ROLE_ADMITS: &str = "vigil_role_admits";
    /// `vigil_omega_expected(n111, n11., n1.1, n.11, n1.., n.1., n..1, n...) -> g11·n11.` of one
    /// stratum (NaN when the stratum has no baseline).
    pub const OMEGA_EXPECTED: &str = "vigil_omega_expected";
    /// `vigil_omega(n111, expected) -> {observed_expected, omega, omega025, omega975}`.
    pub const OMEGA: &str = "vigil_omega";
    /// `vigil_pair_scores(a, n_drug, n_event, n_total, expected, α1, β1, α2, β2, P) -> {…}`.
    pub const PAIR_SCORES: &str = "vigil_pair_scores";
}

/// Every vigil UDF.
pub fn all() -> Vec<ScalarUDF> {
    [
        Kind::Name,
        Kind::RoleAdmits,
        Kind::OmegaExpected,
        Kind::Omega,
        Kind::PairScores,
    ]
    .into_iter()
    .map(|k| ScalarUDF::from(VigilUdf::new(k)))
    .collect()
}

/// Fields of the `vigil_omega` struct.
pub const OMEGA_FIELDS: [&str; 4] = ["observed_expected", "omega", "omega025", "omega975"];

/// Float fields of the `vigil_pair_scores` struct (the cells b, c, d, then the scores in the
/// order of `vigil signals`' columns).
pub const PAIR_SCORE_FIELDS: [&str; 18] = [
    "b",
    "c",
    "d",
    "prr",
    "prr_lower",
    "prr_upper",
    "chi2_yates",
    "ror",
    "ror_lower",
    "ror_upper",
    "ic",
    "ic025",
    "ic975",
    "bcpnn_ic",
    "bcpnn_ic025",
    "ebgm",
    "eb05",
    "eb95",
];

/// Flag fields of the `vigil_pair_scores` struct.
pub const PAIR_SCORE_FLAGS: [&str; 4] = ["signal_prr", "signal_ror", "signal_ic", "signal_ebgm"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Name,
    RoleAdmits,
    OmegaExpected,
    Omega,
    PairScores,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct VigilUdf {
    kind: Kind,
    signature: Signature,
}

impl VigilUdf {
    fn new(kind: Kind) -> Self {
        let floats = |n: usize| {
            Signature::new(
                TypeSignature::Uniform(n, vec![DataType::Float64]),
                Volatility::Immutable,
            )
        };
        let signature = match kind {
            Kind::Name => Signature::string(1, Volatility::Immutable),
            Kind::RoleAdmits => Signature::string(2, Volatility::Immutable),
            Kind::OmegaExpected => floats(8),
            Kind::Omega => floats(2),
            Kind::PairScores => floats(10),
        };
        Self { kind, signature }
    }
}

fn struct_fields(floats: &[&str], flags: &[&str]) -> Fields {
    floats
        .iter()
        .map(|n| Field::new(*n, DataType::Float64, true))
        .chain(
            flags
                .iter()
                .map(|n| Field::new(*n, DataType::Boolean, true)),
        )
        .collect()
}

/// The arguments as Float64 columns of `rows` values (scalars repeated).
fn float_columns(args: &ScalarFunctionArgs) -> Result<Vec<Float64Array>> {
    let arrays = ColumnarValue::values_to_arrays(&args.args)?;
    arrays
        .iter()
        .map(|a| {
            Ok(cast(a, &DataType::Float64)?
                .as_primitive::<Float64Type>()
                .clone())
        })
        .collect()
}

/// The arguments as UTF-8 columns (whatever string type the plan chose).
fn string_columns(args: &ScalarFunctionArgs) -> Result<Vec<ArrayRef>> {
    let arrays = ColumnarValue::values_to_arrays(&args.args)?;
    arrays
        .iter()
        .map(|a| Ok(cast(a, &DataType::Utf8)?))
        .collect()
}

/// A value, or None when any argument is null.
fn row(columns: &[Float64Array], i: usize) -> Option<Vec<f64>> {
    columns
        .iter()
        .map(|c| (!c.is_null(i)).then(|| c.value(i)))
        .collect()
}

/// A struct column from per-field value vectors (a null row where `valid` is false).
fn struct_array(
    fields: Fields,
    floats: Vec<Vec<f64>>,
    flags: Vec<Vec<bool>>,
    valid: Vec<bool>,
) -> Result<ArrayRef> {
    let mut columns: Vec<ArrayRef> = Vec::new();
    for v in floats {
        columns.push(Arc::new(Float64Array::from(v)));
    }
    for v in flags {
        columns.push(Arc::new(BooleanArray::from(v)));
    }
    Ok(Arc::new(StructArray::try_new(
        fields,
        columns,
        Some(valid.into()),
    )?))
}

/// `vigil_store::reports::normalise_name`: trimmed (Unicode white space), upper case; blank → None.
fn normalise_name(name: &str) -> Option<String> {
    let t = name.trim();
    (!t.is_empty()).then(|| t.to_uppercase())
}

/// `vigil_store::read::Role::admits` for the role spellings `vigil` accepts (`ps`, `suspect`,
/// `ps,ss,i`, `all`).
fn role_admits(role_cod: &str, role: &str) -> Result<bool> {
    let r = role_cod.trim();
    let is = |code: &str| r.eq_ignore_ascii_case(code);
    Ok(match role.to_ascii_lowercase().as_str() {
        "ps" => is("PS"),
        "suspect" => is("PS") || is("SS"),
        "ps,ss,i" | "suspect,i" => is("PS") || is("SS") || is("I"),
        "all" => true,
        other => {
            return exec_err!(
                "unknown role {other:?}: expected ps, suspect (ps,ss), ps,ss,i or all"
            )
        }
    })
}

impl ScalarUDFImpl for VigilUdf {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Name => names::NAME,
            Kind::RoleAdmits => names::ROLE_ADMITS,
            Kind::OmegaExpected => names::OMEGA_EXPECTED,
            Kind::Omega => names::OMEGA,
            Kind::PairScores => names::PAIR_SCORES,
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Kind::Name => DataType::Utf8,
            Kind::RoleAdmits => DataType::Boolean,
            Kind::OmegaExpected => DataType::Float64,
            Kind::Omega => DataType::Struct(struct_fields(&OMEGA_FIELDS, &[])),
            Kind::PairScores => {
                DataType::Struct(struct_fields(&PAIR_SCORE_FIELDS, &PAIR_SCORE_FLAGS))
            }
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let out: ArrayRef = match self.kind {
            Kind::Name => {
                let cols = string_columns(&args)?;
                let text = cols[0].as_string::<i32>();
                let mut b = StringBuilder::with_capacity(rows, rows * 16);
                for i in 0..rows {
                    b.append_option(if text.is_null(i) {
                        None
                    } else {
                        normalise_name(text.value(i))
                    });
                }
                Arc::new(b.finish())
            }
            Kind::RoleAdmits => {
                let cols = string_columns(&args)?;
                let (code, role) = (cols[0].as_string::<i32>(), cols[1].as_string::<i32>());
                let mut b = BooleanBuilder::with_capacity(rows);
                for i in 0..rows {
                    if role.is_null(i) {
                        return exec_err!("{}: the role is null", names::ROLE_ADMITS);
                    }
                    // A missing role code is the empty code, as in the local reader.
                    let c = if code.is_null(i) { "" } else { code.value(i) };
                    b.append_value(role_admits(c, role.value(i))?);
                }
                Arc::new(b.finish())
            }
            Kind::OmegaExpected => {
                let cols = float_columns(&args)?;
                let mut out = Vec::with_capacity(rows);
                for i in 0..rows {
                    let Some(v) = row(&cols, i) else {
                        return exec_err!("{}: a count is null", names::OMEGA_EXPECTED);
                    };
                    out.push(omega_stratum_expected(&v)?);
                }
                Arc::new(Float64Array::from(out))
            }
            Kind::Omega => {
                let cols = float_columns(&args)?;
                let mut floats = vec![Vec::with_capacity(rows); OMEGA_FIELDS.len()];
                let mut valid = Vec::with_capacity(rows);
                for i in 0..rows {
                    let v = row(&cols, i).unwrap_or_else(|| vec![f64::NAN; 2]);
                    valid.push(v.iter().all(|x| !x.is_nan()));
                    let o = omega_from_expected(v[0], v[1]);
                    for (k, x) in [o.observed_expected, o.omega, o.omega025, o.omega975]
                        .into_iter()
                        .enumerate()
                    {
                        floats[k].push(x);
                    }
                }
                struct_array(struct_fields(&OMEGA_FIELDS, &[]), floats, Vec::new(), valid)?
            }
            Kind::PairScores => {
                let cols = float_columns(&args)?;
                let mut floats = vec![Vec::with_capacity(rows); PAIR_SCORE_FIELDS.len()];
                let mut flags = vec![Vec::with_capacity(rows); PAIR_SCORE_FLAGS.len()];
                let mut valid = Vec::with_capacity(rows);
                for i in 0..rows {
                    let Some(v) = row(&cols, i) else {
                        return exec_err!("{}: an argument is null", names::PAIR_SCORES);
                    };
                    let prior = GammaMixturePrior::from_array([v[5], v[6], v[7], v[8], v[9]]);
                    // The posterior as `vigil signals` solves it: the same function of (a, E).
                    let s = score_pair(v[0], v[1], v[2], v[3], v[4], Some(&prior));
                    let t = s.table;
                    let values = [
                        t.b,
                        t.c,
                        t.d,
                        s.prr,
                        s.prr_lower,
                        s.prr_upper,
                        s.chi2_yates,
                        s.ror,
                        s.ror_lower,
                        s.ror_upper,
                        s.ic,
                        s.ic025,
                        s.ic975,
                        s.bcpnn_ic,
                        s.bcpnn_ic025,
                        s.ebgm,
                        s.eb05,
                        s.eb95,
                    ];
                    for (k, x) in values.into_iter().enumerate() {
                        floats[k].push(x);
                    }
                    for (k, f) in [s.signal_prr, s.signal_ror, s.signal_ic, s.signal_ebgm]
                        .into_iter()
                        .enumerate()
                    {
                        flags[k].push(f);
                    }
                    valid.push(true);
                }
                struct_array(
                    struct_fields(&PAIR_SCORE_FIELDS, &PAIR_SCORE_FLAGS),
                    floats,
                    flags,
                    valid,
                )?
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}

/// g11·n11· of one stratum (Norén et al. 2008, eq. 16 and the stratified E111): the stratum's term
/// of `vigil_stats::omega::omega_stratified`. NaN when the stratum has no baseline (the caller
/// leaves such itemsets out, as `vigil interactions` does); inconsistent counts are an error.
fn omega_stratum_expected(v: &[f64]) -> Result<f64> {
    let c = OmegaCounts {
        n111: v[0],
        n11x: v[1],
        n1x1: v[2],
        nx11: v[3],
        n1xx: v[4],
        nx1x: v[5],
        nxx1: v[6],
        nxxx: v[7],
    };
    match c.g11() {
        Ok(g11) => Ok(g11 * c.n11x),
        Err(OmegaError::EmptyStratum { .. }) => Ok(f64::NAN),
        Err(e) => exec_err!("{}: counts {v:?}: {e}", names::OMEGA_EXPECTED),
    }
}
