//! Runs every case of the metafor oracle (`../shared/oracle/meta/cases/index.json`) through
//! `vigil_stats::meta` and compares field by field.
//!
//! Tolerances (from the oracle README):
//! - closed forms (escalc, EE, DL, HE, HS, SJ, MH, Peto, Knapp–Hartung on top of them, and
//!   leave-one-out/cumulative/trim-and-fill/subgroup fits built from them): relative 1e-10;
//! - iterative estimators (ML, REML, PM, EB) against `model_tight` / `confint_tight`: relative 1e-8;
//!   their default-convergence output (`model`, `predict`, ...) at relative 1e-4, the README's figure
//!   for metafor's default Fisher-scoring threshold (Δτ² < 1e-5);
//! - intervals found by `uniroot` at metafor's default tolerance (`confint` without a tight copy,
//!   `confint(type = "PL")`): the oracle's τ² bound is itself only accurate to uniroot's absolute
//!   tolerance 1.22e-4 (`.Machine$double.eps^0.25`), so τ² bounds are compared absolutely at 2.5e-4 and
//!   the τ, I², H² bounds at that τ² slack pushed through their (monotone) transformations;
//! - τ² near zero (below 1e-4 in an iterative fit): absolutely at 1e-6 (REML may stop at 4.5e-7 where
//!   the optimum is 0), and τ, I², H² through the same transformations.
//!
//! Each failing field is reported with the case id, expected, actual and relative error. Known
//! failures, if any, are listed in `KNOWN_FAILING` with the reason, and the test asserts that they
//! still fail (so the list cannot go stale).

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use vigil_stats::meta::confint::{confint, CiType, HeterogeneityCi};
use vigil_stats::meta::effect::{escalc, AddTo, Measure, Table2x2, ZeroCellOptions};
use vigil_stats::meta::influence::{cumulative, leave1out, stable_order, InfluenceRow};
use vigil_stats::meta::linalg::Matrix;
use vigil_stats::meta::metareg::{design_with_intercept, pseudo_r2};
use vigil_stats::meta::mh::{rma_mh, PooledFit, PooledOptions};
use vigil_stats::meta::peto::rma_peto;
use vigil_stats::meta::regtest::{regtest, Predictor, RegtestModel};
use vigil_stats::meta::rma::{
    fit, fit_at_tau2, FitStats, PiType, Prediction, RmaFit, RmaOptions, Test,
};
use vigil_stats::meta::subgroup::subgroups;
use vigil_stats::meta::tau2::Method;
use vigil_stats::meta::trimfill::{trimfill, Estimator};
use vigil_test_support::oracle::{
    p_tol, pair_tol, Checker, Tol, LOOSE, STRICT, TAU2_ZERO_ABS, TIGHT, UNIROOT_ABS,
};

/// Case ids that do not pass yet, each with the reason. The test fails if one of them passes.
const KNOWN_FAILING: &[(&str, &str)] = &[];

// ---------------------------------------------------------------- data

type Row = BTreeMap<String, String>;

fn read_csv(path: &Path) -> Vec<Row> {
    let mut rdr =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers: Vec<String> = rdr.headers().unwrap().iter().map(str::to_string).collect();
    rdr.records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

fn col(rows: &[Row], name: &str) -> Vec<f64> {
    rows.iter()
        .map(|r| {
            let s = r.get(name).unwrap_or_else(|| panic!("no column {name}"));
            s.parse::<f64>()
                .unwrap_or_else(|_| panic!("column {name}: not a number: {s}"))
        })
        .collect()
}

// ---------------------------------------------------------------- parsing the R calls

/// Value of `name=` in an R call (top level of the argument list), quotes removed.
fn arg(call: &str, name: &str) -> Option<String> {
    let bytes: Vec<char> = call.chars().collect();
    let open = call.find('(')?;
    let mut depth = 0;
    let mut start = open + 1;
    let mut parts = Vec::new();
    let mut in_str = false;
    for (i, &c) in bytes.iter().enumerate().skip(open + 1) {
        match c {
            '\'' | '"' => in_str = !in_str,
            '(' if !in_str => depth += 1,
            ')' if !in_str => {
                if depth == 0 {
                    parts.push(bytes[start..i].iter().collect::<String>());
                    break;
                }
                depth -= 1
            }
            ',' if !in_str && depth == 0 => {
                parts.push(bytes[start..i].iter().collect::<String>());
                start = i + 1;
            }
            _ => {}
        }
    }
    for p in parts {
        let p = p.trim();
        if let Some((k, v)) = p.split_once('=') {
            if k.trim() == name && !v.starts_with('=') {
                return Some(v.trim().trim_matches('\'').trim_matches('"').to_string());
            }
        }
    }
    None
}

/// Elements of an R vector literal `c('a','b')` or `c(1/2,0)`.
fn r_vector(s: &str) -> Vec<String> {
    let inner = s.trim().trim_start_matches("c(").trim_end_matches(')');
    inner
        .split(',')
        .map(|x| x.trim().trim_matches('\'').trim_matches('"').to_string())
        .collect()
}

fn r_number(s: &str) -> f64 {
    if let Some((a, b)) = s.split_once('/') {
        a.trim().parse::<f64>().unwrap() / b.trim().parse::<f64>().unwrap()
    } else {
        s.trim().parse().unwrap()
    }
}

fn r_bool(s: &str) -> bool {
    matches!(s.trim(), "TRUE" | "T")
}

fn parse_to(s: &str) -> AddTo {
    match s {
        "only0" => AddTo::Only0,
        "all" => AddTo::All,
        "if0all" => AddTo::If0All,
        "none" => AddTo::None,
        other => panic!("unknown to={other}"),
    }
}

fn measure_of(s: &str) -> Measure {
    match s {
        "RR" => Measure::RR,
        "OR" => Measure::OR,
        "RD" => Measure::RD,
        "PETO" => Measure::PETO,
        other => panic!("unknown measure {other}"),
    }
}

/// The 2×2 tables named by the call's `ai=`, `bi=`/`n1i=`, `ci=`, `di=`/`n2i=` arguments.
fn tables_of(call: &str, rows: &[Row]) -> Vec<Table2x2> {
    let a = col(rows, &arg(call, "ai").unwrap());
    let c = col(rows, &arg(call, "ci").unwrap());
    if let Some(b) = arg(call, "bi") {
        let b = col(rows, &b);
        let d = col(rows, &arg(call, "di").unwrap());
        (0..a.len())
            .map(|i| Table2x2::new(a[i], b[i], c[i], d[i]))
            .collect()
    } else {
        let n1 = col(rows, &arg(call, "n1i").unwrap());
        let n2 = col(rows, &arg(call, "n2i").unwrap());
        (0..a.len())
            .map(|i| Table2x2::from_totals(a[i], n1[i], c[i], n2[i]))
            .collect()
    }
}

fn zero_opts(call: &str) -> ZeroCellOptions {
    let mut o = ZeroCellOptions::default();
    if let Some(a) = arg(call, "add") {
        o.add = r_number(&a);
    }
    if let Some(t) = arg(call, "to") {
        o.to = parse_to(&t);
    }
    if let Some(d) = arg(call, "drop00") {
        o.drop00 = r_bool(&d);
    }
    o
}

fn pooled_opts(call: &str) -> PooledOptions {
    let mut o = PooledOptions::default();
    if let Some(a) = arg(call, "add") {
        let v = r_vector(&a);
        o.add = [r_number(&v[0]), v.get(1).map_or(0.0, |x| r_number(x))];
    }
    if let Some(t) = arg(call, "to") {
        let v = r_vector(&t);
        o.to = [
            parse_to(&v[0]),
            v.get(1).map_or(AddTo::None, |x| parse_to(x)),
        ];
    }
    if let Some(d) = arg(call, "drop00") {
        let v = r_vector(&d);
        o.drop00 = [r_bool(&v[0]), v.get(1).is_some_and(|x| r_bool(x))];
    }
    if let Some(c) = arg(call, "correct") {
        o.correct = r_bool(&c);
    }
    if let Some(l) = arg(call, "level") {
        o.level = r_number(&l);
    }
    o
}

fn rma_opts(call: &str) -> RmaOptions {
    let mut o = RmaOptions::default();
    if let Some(m) = arg(call, "method") {
        o.method = Method::parse(&m).unwrap();
    }
    if let Some(t) = arg(call, "test") {
        o.test = Test::parse(&t).unwrap();
    }
    if let Some(l) = arg(call, "level") {
        o.level = r_number(&l);
    }
    o
}

/// yi and vi of an `rma(...)` call: from `measure=` + tables (rows with NA dropped, as metafor), or
/// from the `yi`, `vi` columns.
fn effects_of(call: &str, rows: &[Row]) -> (Vec<f64>, Vec<f64>, Vec<usize>) {
    match arg(call, "measure") {
        Some(m) => {
            let t = tables_of(call, rows);
            let e = escalc(measure_of(&m), &t, &zero_opts(call));
            let mut y = Vec::new();
            let mut v = Vec::new();
            let mut kept = Vec::new();
            for (i, e) in e.iter().enumerate() {
                if let Some(e) = e {
                    y.push(e.yi);
                    v.push(e.vi);
                    kept.push(i);
                }
            }
            (y, v, kept)
        }
        None => (col(rows, "yi"), col(rows, "vi"), (0..rows.len()).collect()),
    }
}

// ---------------------------------------------------------------- comparison

/// How the fields of one fitted model are compared.
#[derive(Clone, Copy)]
struct Policy {
    /// Fields that depend on τ².
    tau_dep: Tol,
    /// τ² itself; `None` when the compared fit had τ² fixed at the expected value.
    tau2: Option<Tol>,
}

const EXACT: Policy = Policy {
    tau_dep: Tol::Rel(STRICT),
    tau2: Some(Tol::Rel(STRICT)),
};
const AT_TAU2: Policy = Policy {
    tau_dep: Tol::Rel(STRICT),
    tau2: None,
};

fn fitstats(c: &mut Checker, path: &str, e: &Value, ml: &FitStats, reml: &FitStats, tol: Tol) {
    for (name, fs) in [("ML", ml), ("REML", reml)] {
        let ev = &e[name];
        if ev.is_null() {
            continue;
        }
        let p = format!("{path}.fitstats.{name}");
        c.num(&format!("{p}.logLik"), &ev["logLik"], fs.loglik, tol);
        c.num(&format!("{p}.deviance"), &ev["deviance"], fs.deviance, tol);
        c.num(&format!("{p}.AIC"), &ev["AIC"], fs.aic, tol);
        c.num(&format!("{p}.BIC"), &ev["BIC"], fs.bic, tol);
        c.num(&format!("{p}.AICc"), &ev["AICc"], fs.aicc, tol);
    }
}

fn check_model(c: &mut Checker, path: &str, e: &Value, f: &RmaFit, pol: Policy) {
    if e.is_null() {
        return;
    }
    c.int(&format!("{path}.k"), &e["k"], f.k);
    if !e["p"].is_null() {
        c.int(&format!("{path}.p"), &e["p"], f.p);
    }
    if let Some(m) = e["method"].as_str() {
        c.text(
            &format!("{path}.method"),
            &Value::String(m.into()),
            f.options.method.name(),
        );
        c.text(&format!("{path}.test"), &e["test"], f.options.test.name());
    }
    let td = pol.tau_dep;
    c.vec(&format!("{path}.beta"), &e["beta"], &f.beta, td);
    c.vec(&format!("{path}.se"), &e["se"], &f.se, td);
    c.vec(&format!("{path}.zval"), &e["zval"], &f.zval, td);
    c.vec(&format!("{path}.pval"), &e["pval"], &f.pval, p_tol(td));
    let bt = pair_tol(td, &e["ci_lb"], &e["ci_ub"]);
    c.vec(&format!("{path}.ci_lb"), &e["ci_lb"], &f.ci_lb, bt);
    c.vec(&format!("{path}.ci_ub"), &e["ci_ub"], &f.ci_ub, bt);
    if e.get("df").is_some() {
        c.opt(&format!("{path}.df"), &e["df"], f.dfs, Tol::Rel(STRICT));
    }
    if let Some(v) = e.get("vcov") {
        let flat: Vec<f64> = f.vcov.data.clone();
        let ev: Vec<Value> = match v {
            Value::Array(a) => a
                .iter()
                .flat_map(|r| {
                    if let Value::Array(rr) = r {
                        rr.clone()
                    } else {
                        vec![r.clone()]
                    }
                })
                .collect(),
            other => vec![other.clone()],
        };
        c.vec(&format!("{path}.vcov"), &Value::Array(ev), &flat, td);
    }
    if let Some(t) = pol.tau2 {
        c.num(&format!("{path}.tau2"), &e["tau2"], f.tau2, t);
        if e.get("tau").is_some() {
            c.num(&format!("{path}.tau"), &e["tau"], f.tau2.sqrt(), t);
        }
    } else if e.get("tau").is_some() {
        c.num(&format!("{path}.tau"), &e["tau"], f.tau2.sqrt(), td);
    }
    if e.get("se_tau2").is_some() {
        let t = if f.options.method == Method::EE {
            Tol::Rel(STRICT)
        } else {
            td
        };
        c.num(&format!("{path}.se_tau2"), &e["se_tau2"], f.se_tau2, t);
    }
    c.num(&format!("{path}.QE"), &e["QE"], f.qe, Tol::Rel(STRICT));
    c.int(&format!("{path}.QE_df"), &e["QE_df"], f.qe_df);
    c.num(&format!("{path}.QEp"), &e["QEp"], f.qe_p, Tol::Rel(STRICT));
    c.num(&format!("{path}.I2"), &e["I2"], f.i2, td);
    c.num(&format!("{path}.H2"), &e["H2"], f.h2, td);
    if e.get("vt_typical_within_var").is_some() {
        c.num(
            &format!("{path}.vt"),
            &e["vt_typical_within_var"],
            f.vt,
            Tol::Rel(STRICT),
        );
    }
    if e.get("weights_pct").is_some() {
        c.vec(
            &format!("{path}.weights_pct"),
            &e["weights_pct"],
            &f.weights_pct,
            td,
        );
    }
    if let Some(fs) = e.get("fitstats") {
        fitstats(c, path, fs, &f.fit_ml, &f.fit_reml, td);
    }
    if e.get("QM").is_some() {
        c.num(&format!("{path}.QM"), &e["QM"], f.qm, td);
        c.num(&format!("{path}.QMp"), &e["QMp"], f.qm_p, td);
        if let Value::Array(d) = &e["QM_df"] {
            c.int(&format!("{path}.QM_df[0]"), &d[0], f.qm_df.0);
            c.opt(
                &format!("{path}.QM_df[1]"),
                &d[1],
                f.qm_df.1.map(|x| x as f64),
                Tol::Rel(STRICT),
            );
        }
    }
    if let Some(d) = e.get("derived") {
        let df = f.qe_df as f64;
        c.num(
            &format!("{path}.derived.I2_from_Q"),
            &d["I2_from_Q"],
            (100.0 * (f.qe - df) / f.qe).max(0.0),
            Tol::Rel(STRICT),
        );
        c.num(
            &format!("{path}.derived.H2_from_Q"),
            &d["H2_from_Q"],
            f.qe / df,
            Tol::Rel(STRICT),
        );
    }
}

/// `model_tight`: every field at relative 1e-8 (τ² near zero: absolute).
fn check_tight(c: &mut Checker, e: &Value, f: &RmaFit) {
    if e.is_null() {
        return;
    }
    let near0 = e["tau2"].as_f64().is_some_and(|t| t < 1e-4);
    let t = Tol::Rel(TIGHT);
    c.vec("model_tight.beta", &e["beta"], &f.beta, t);
    c.vec("model_tight.se", &e["se"], &f.se, t);
    c.vec("model_tight.zval", &e["zval"], &f.zval, t);
    c.vec("model_tight.pval", &e["pval"], &f.pval, p_tol(t));
    let bt = pair_tol(t, &e["ci_lb"], &e["ci_ub"]);
    c.vec("model_tight.ci_lb", &e["ci_lb"], &f.ci_lb, bt);
    c.vec("model_tight.ci_ub", &e["ci_ub"], &f.ci_ub, bt);
    if near0 {
        // τ² at a boundary optimum: absolute; I² and H² scale τ² by 100/vt and 1/vt.
        c.num(
            "model_tight.tau2",
            &e["tau2"],
            f.tau2,
            Tol::Abs(TAU2_ZERO_ABS),
        );
        c.num(
            "model_tight.I2",
            &e["I2"],
            f.i2,
            Tol::Abs(100.0 * TAU2_ZERO_ABS / f.vt),
        );
        c.num(
            "model_tight.H2",
            &e["H2"],
            f.h2,
            Tol::Abs(TAU2_ZERO_ABS / f.vt),
        );
    } else {
        c.num("model_tight.tau2", &e["tau2"], f.tau2, t);
        c.num("model_tight.I2", &e["I2"], f.i2, t);
        c.num("model_tight.H2", &e["H2"], f.h2, t);
    }
    c.num("model_tight.se_tau2", &e["se_tau2"], f.se_tau2, t);
}

fn check_prediction(c: &mut Checker, path: &str, e: &Value, p: &Prediction, tol: Tol) {
    if e.is_null() {
        return;
    }
    c.num(&format!("{path}.pred"), &e["pred"], p.pred, tol);
    if e.get("se").is_some_and(|s| !s.is_null()) {
        c.num(&format!("{path}.se"), &e["se"], p.se, tol);
    }
    let bt = pair_tol(tol, &e["ci_lb"], &e["ci_ub"]);
    c.num(&format!("{path}.ci_lb"), &e["ci_lb"], p.ci_lb, bt);
    c.num(&format!("{path}.ci_ub"), &e["ci_ub"], p.ci_ub, bt);
    if e.get("pi_lb").is_some() {
        let bt = pair_tol(tol, &e["pi_lb"], &e["pi_ub"]);
        c.num(&format!("{path}.pi_lb"), &e["pi_lb"], p.pi_lb, bt);
        c.num(&format!("{path}.pi_ub"), &e["pi_ub"], p.pi_ub, bt);
    }
    if e.get("ddf").is_some() {
        c.opt(&format!("{path}.ddf"), &e["ddf"], p.ddf, Tol::Rel(STRICT));
    }
    if e.get("pi_ddf").is_some() {
        c.opt(
            &format!("{path}.pi_ddf"),
            &e["pi_ddf"],
            p.pi_ddf,
            Tol::Rel(STRICT),
        );
    }
}

/// A heterogeneity CI. `bounds`: how the bounds are compared (`None` = through a τ² slack).
// The arguments are the case's fields and the fit they are compared with, each needed once.
#[allow(clippy::too_many_arguments)]
fn check_ci(
    c: &mut Checker,
    path: &str,
    e: &Value,
    ci: &HeterogeneityCi,
    est: &HeterogeneityCi,
    est_tol: Tol,
    bounds: Option<Tol>,
    vt: f64,
) {
    if e.is_null() {
        return;
    }
    let items = [
        ("tau2", &ci.tau2),
        ("tau", &ci.tau),
        ("I2", &ci.i2),
        ("H2", &ci.h2),
    ];
    let ests = [
        est.tau2.estimate,
        est.tau.estimate,
        est.i2.estimate,
        est.h2.estimate,
    ];
    let tf = |name: &str, t: f64| -> f64 {
        let t = t.max(0.0);
        match name {
            "tau2" => t,
            "tau" => t.sqrt(),
            "I2" => 100.0 * t / (t + vt),
            _ => t / vt + 1.0,
        }
    };
    for ((name, iv), est_value) in items.into_iter().zip(ests) {
        let ev = &e[name];
        c.num(
            &format!("{path}.{name}.estimate"),
            &ev["estimate"],
            est_value,
            est_tol,
        );
        for (bn, actual) in [("ci_lb", iv.ci_lb), ("ci_ub", iv.ci_ub)] {
            match bounds {
                Some(t) => c.num(&format!("{path}.{name}.{bn}"), &ev[bn], actual, t),
                None => {
                    let et = e["tau2"][bn].as_f64().unwrap_or(f64::NAN);
                    let (lo, hi) = (tf(name, et - UNIROOT_ABS), tf(name, et + UNIROOT_ABS));
                    c.num(
                        &format!("{path}.{name}.{bn}"),
                        &ev[bn],
                        actual,
                        Tol::Range(lo, hi),
                    );
                }
            }
        }
    }
}

fn check_pooled(c: &mut Checker, e: &Value, f: &PooledFit) {
    let s = Tol::Rel(STRICT);
    c.int("model.k", &e["k"], f.k);
    c.int("model.k_yi", &e["k_yi"], f.k_yi);
    if let Some(kp) = e["k_pos"].as_f64() {
        c.int(
            "model.k_pos",
            &Value::from(kp),
            f.k_pos.unwrap_or(usize::MAX),
        );
    }
    c.num("model.beta", &e["beta"], f.beta, s);
    c.num("model.se", &e["se"], f.se, s);
    c.num("model.zval", &e["zval"], f.zval, s);
    c.num("model.pval", &e["pval"], f.pval, p_tol(s));
    let bt = pair_tol(s, &e["ci_lb"], &e["ci_ub"]);
    c.num("model.ci_lb", &e["ci_lb"], f.ci_lb, bt);
    c.num("model.ci_ub", &e["ci_ub"], f.ci_ub, bt);
    c.num("model.QE", &e["QE"], f.qe, s);
    c.int("model.QE_df", &e["QE_df"], f.qe_df);
    c.num("model.QEp", &e["QEp"], f.qe_p, s);
    c.num("model.I2", &e["I2"], f.i2, s);
    c.num("model.H2", &e["H2"], f.h2, s);
    if e.get("CO").is_some() {
        let t = f.tests;
        let g = |x: fn(&vigil_stats::meta::mh::MhTests) -> f64| t.as_ref().map(x);
        c.opt("model.CO", &e["CO"], g(|t| t.co), s);
        c.opt("model.COp", &e["COp"], g(|t| t.co_p), s);
        c.opt("model.MH", &e["MH"], g(|t| t.mh), s);
        c.opt("model.MHp", &e["MHp"], g(|t| t.mh_p), s);
        c.opt("model.BD", &e["BD"], g(|t| t.bd), s);
        c.opt("model.BDp", &e["BDp"], g(|t| t.bd_p), s);
        c.opt("model.TA", &e["TA"], g(|t| t.ta), s);
        c.opt("model.TAp", &e["TAp"], g(|t| t.ta_p), s);
    }
    c.vec("model.weights_pct", &e["weights_pct"], &f.weights_pct, s);
    let yi: Vec<f64> = f
        .study
        .iter()
        .map(|x| x.map_or(f64::NAN, |e| e.yi))
        .collect();
    let vi: Vec<f64> = f
        .study
        .iter()
        .map(|x| x.map_or(f64::NAN, |e| e.vi))
        .collect();
    c.vec("model.study_yi", &e["study_yi"], &yi, s);
    c.vec("model.study_vi", &e["study_vi"], &vi, s);
    if let Some(fs) = e.get("fitstats") {
        fitstats(c, "model", fs, &f.fit_ml, &f.fit_reml, s);
    }
}

fn check_pooled_exp(c: &mut Checker, e: &Value, f: &PooledFit) {
    if e.is_null() {
        return;
    }
    let s = Tol::Rel(STRICT);
    c.num("predict_exp.pred", &e["pred"], f.beta.exp(), s);
    let bt = pair_tol(s, &e["ci_lb"], &e["ci_ub"]);
    c.num("predict_exp.ci_lb", &e["ci_lb"], f.ci_lb.exp(), bt);
    c.num("predict_exp.ci_ub", &e["ci_ub"], f.ci_ub.exp(), bt);
}

fn check_rows(c: &mut Checker, path: &str, e: &Value, rows: &[InfluenceRow], tol: Tol) {
    type Field = (&'static str, fn(&InfluenceRow) -> f64, Tol);
    let fields: [Field; 11] = [
        ("estimate", |r| r.estimate, tol),
        ("se", |r| r.se, tol),
        ("zval", |r| r.zval, tol),
        ("pval", |r| r.pval, p_tol(tol)),
        ("ci_lb", |r| r.ci_lb, tol),
        ("ci_ub", |r| r.ci_ub, tol),
        ("Q", |r| r.q, Tol::Rel(STRICT)),
        ("Qp", |r| r.qp, p_tol(Tol::Rel(STRICT))),
        ("tau2", |r| r.tau2.unwrap_or(f64::NAN), tol),
        ("I2", |r| r.i2, tol),
        ("H2", |r| r.h2, tol),
    ];
    for (name, f, t) in fields {
        let Some(Value::Array(ev)) = e.get(name) else {
            continue;
        };
        if ev.len() != rows.len() {
            c.fail(
                &format!("{path}.{name}"),
                format!("length {} expected, {} actual", ev.len(), rows.len()),
            );
            continue;
        }
        for (i, (x, r)) in ev.iter().zip(rows).enumerate() {
            let t = if name.starts_with("ci_") {
                pair_tol(t, &e["ci_lb"][i], &e["ci_ub"][i])
            } else {
                t
            };
            c.num(&format!("{path}.{name}[{i}]"), x, f(r), t);
        }
    }
}

/// Refits for leave-one-out/cumulative rows. For an iterative τ² estimator each row is refitted with
/// τ² fixed at metafor's reported (default-converged) value, after checking our estimated τ²
/// against it, so the remaining columns are compared at 1e-10.
fn influence_rows(
    c: &mut Checker,
    path: &str,
    call: &str,
    rows: &[Row],
    subsets: &[Vec<usize>],
    e: &Value,
) -> Vec<InfluenceRow> {
    let opts = rma_opts(call);
    let refit = refit_closure(call, rows);
    if call.starts_with("res <- rma(") && opts.method.is_iterative() {
        let (y, v, _) = effects_of(call, rows);
        subsets
            .iter()
            .enumerate()
            .map(|(i, idx)| {
                let ys: Vec<f64> = idx.iter().map(|&j| y[j]).collect();
                let vs: Vec<f64> = idx.iter().map(|&j| v[j]).collect();
                let est = refit(idx);
                let et = &e["tau2"][i];
                check_default_tau2(
                    c,
                    &format!("{path}.tau2(estimated)[{i}]"),
                    et,
                    est.tau2.unwrap(),
                );
                InfluenceRow::from(
                    &fit_at_tau2(&ys, &vs, None, opts, et.as_f64().unwrap()).expect("refit"),
                )
            })
            .collect()
    } else {
        subsets.iter().map(|idx| refit(idx)).collect()
    }
}

// ---------------------------------------------------------------- groups

struct Case {
    id: String,
    group: String,
    json: Value,
    rows: Vec<Row>,
}

impl Case {
    fn calls(&self) -> Vec<String> {
        self.json["calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    }
    fn call_starting(&self, prefix: &str) -> String {
        self.calls()
            .into_iter()
            .find(|c| c.starts_with(prefix))
            .unwrap_or_else(|| panic!("{}: no call {prefix}", self.id))
    }
    fn expected(&self) -> &Value {
        &self.json["expected"]
    }
}

fn run_escalc(case: &Case, c: &mut Checker) {
    let call = case.call_starting("escalc(");
    let t = tables_of(&call, &case.rows);
    let e = escalc(
        measure_of(&arg(&call, "measure").unwrap()),
        &t,
        &zero_opts(&call),
    );
    let yi: Vec<f64> = e.iter().map(|x| x.map_or(f64::NAN, |e| e.yi)).collect();
    let vi: Vec<f64> = e.iter().map(|x| x.map_or(f64::NAN, |e| e.vi)).collect();
    c.vec("yi", &case.expected()["yi"], &yi, Tol::Rel(STRICT));
    c.vec("vi", &case.expected()["vi"], &vi, Tol::Rel(STRICT));
}

/// The fit whose fields are compared with metafor's default-convergence output: for an iterative
/// estimator, the model with τ² fixed at metafor's reported τ² (so every formula downstream of τ²
/// is checked at 1e-10), after checking our own τ² against it with [`check_default_tau2`].
// The arguments are the case's fields and the fit they are compared with, each needed once.
#[allow(clippy::too_many_arguments)]
fn reference_fit(
    c: &mut Checker,
    path: &str,
    e: &Value,
    y: &[f64],
    v: &[f64],
    x: Option<&Matrix>,
    opts: RmaOptions,
    ours: &RmaFit,
) -> (RmaFit, Policy) {
    match e["tau2"].as_f64() {
        Some(t) if opts.method.is_iterative() => {
            check_default_tau2(c, &format!("{path}.tau2(estimated)"), &e["tau2"], ours.tau2);
            (fit_at_tau2(y, v, x, opts, t).expect("fit at tau2"), AT_TAU2)
        }
        _ => (ours.clone(), EXACT),
    }
}

/// Our tightly converged τ² against metafor's default-converged one: metafor stops Fisher scoring
/// when τ² changes by less than 1e-5 and PM's uniroot at 1.22e-4 (absolute), so the difference
/// allowed is 2.5e-4 absolute, or 1e-3 relative (whichever is larger).
fn check_default_tau2(c: &mut Checker, path: &str, e: &Value, actual: f64) {
    let et = e.as_f64().unwrap_or(f64::NAN);
    c.num(path, e, actual, Tol::Abs(UNIROOT_ABS.max(1e-3 * et.abs())));
}

fn run_rma(case: &Case, c: &mut Checker, rows: &[Row]) -> RmaFit {
    let call = case.call_starting("res <- rma(");
    let (y, v, _) = effects_of(&call, rows);
    let opts = rma_opts(&call);
    let x = arg(&call, "mods").map(|m| {
        let name = m.trim_start_matches('~').trim();
        design_with_intercept(&[col(rows, name)])
    });
    let f = fit(&y, &v, x.as_ref(), opts).expect("fit");
    let e = case.expected();
    if let Some(es) = e.get("escalc") {
        // All studies, NA included (the model uses the defined ones).
        let ec = case
            .calls()
            .into_iter()
            .find(|c| c.starts_with("escalc("))
            .unwrap_or(call.clone());
        let all = escalc(
            measure_of(&arg(&ec, "measure").unwrap()),
            &tables_of(&ec, rows),
            &zero_opts(&ec),
        );
        let ya: Vec<f64> = all.iter().map(|x| x.map_or(f64::NAN, |e| e.yi)).collect();
        let va: Vec<f64> = all.iter().map(|x| x.map_or(f64::NAN, |e| e.vi)).collect();
        c.vec("escalc.yi", &es["yi"], &ya, Tol::Rel(STRICT));
        c.vec("escalc.vi", &es["vi"], &va, Tol::Rel(STRICT));
    }
    if let Some(inp) = e.get("input") {
        c.vec("input.yi", &inp["yi"], &y, Tol::Rel(STRICT));
        c.vec("input.vi", &inp["vi"], &v, Tol::Rel(STRICT));
    }
    let (r, pol) = reference_fit(c, "model", &e["model"], &y, &v, x.as_ref(), opts, &f);
    check_model(c, "model", &e["model"], &r, pol);
    if let Some(r2) = e["model"].get("R2") {
        // R² needs the intercept-only τ² at metafor's default convergence, which the oracle does not
        // report: compared at the loose tolerance.
        let tol = if opts.method.is_iterative() {
            Tol::Rel(LOOSE)
        } else {
            Tol::Rel(STRICT)
        };
        c.opt("model.R2", r2, pseudo_r2(&f).unwrap(), tol);
    }
    let td = Tol::Rel(STRICT);
    for (key, ty) in [
        ("predict", PiType::Z),
        ("predict_pi_type_riley", PiType::Riley),
        ("predict_pi_type_t", PiType::T),
        ("predict_pi_type_simple", PiType::Simple),
    ] {
        check_prediction(c, key, &e[key], &r.predict(None, ty), td);
    }
    if let Some(h) = e.get("derived_pi_higgins2009") {
        let p = r.predict(None, PiType::Riley);
        c.num("derived_pi_higgins2009.lb", &h["lb"], p.pi_lb, td);
        c.num("derived_pi_higgins2009.ub", &h["ub"], p.pi_ub, td);
    }
    if let Some(pe) = e.get("predict_exp") {
        check_prediction(
            c,
            "predict_exp",
            pe,
            &r.predict(None, PiType::Z).transformed(f64::exp),
            td,
        );
    }
    if let Some(pn) = e.get("predict_ablat_10_30_50") {
        let preds: Vec<Prediction> = [10.0, 30.0, 50.0]
            .iter()
            .map(|a| r.predict(Some(&[1.0, *a]), PiType::Z))
            .collect();
        let g = |h: fn(&Prediction) -> f64| preds.iter().map(h).collect::<Vec<f64>>();
        c.vec("predict_new.pred", &pn["pred"], &g(|p| p.pred), td);
        c.vec("predict_new.se", &pn["se"], &g(|p| p.se), td);
        let bt = pair_tol(td, &pn["ci_lb"], &pn["ci_ub"]);
        c.vec("predict_new.ci_lb", &pn["ci_lb"], &g(|p| p.ci_lb), bt);
        c.vec("predict_new.ci_ub", &pn["ci_ub"], &g(|p| p.ci_ub), bt);
        let bt = pair_tol(td, &pn["pi_lb"], &pn["pi_ub"]);
        c.vec("predict_new.pi_lb", &pn["pi_lb"], &g(|p| p.pi_lb), bt);
        c.vec("predict_new.pi_ub", &pn["pi_ub"], &g(|p| p.pi_ub), bt);
    }
    let has_tight = e.get("confint_tight").is_some();
    if e.get("confint").is_some() {
        let ci = confint(&f, CiType::QProfile).expect("confint");
        let est = confint(&r, CiType::QProfile).expect("confint");
        if !has_tight {
            // Bounds through uniroot's slack on τ².
            check_ci(c, "confint", &e["confint"], &ci, &est, td, None, f.vt);
        } else {
            let ct = &e["confint_tight"];
            let mixed = serde_json::json!({
                "tau2": {"estimate": e["confint"]["tau2"]["estimate"], "ci_lb": ct["tau2"]["ci_lb"], "ci_ub": ct["tau2"]["ci_ub"]},
                "tau": {"estimate": e["confint"]["tau"]["estimate"], "ci_lb": ct["tau"]["ci_lb"], "ci_ub": ct["tau"]["ci_ub"]},
                "I2": {"estimate": e["confint"]["I2"]["estimate"], "ci_lb": ct["I2"]["ci_lb"], "ci_ub": ct["I2"]["ci_ub"]},
                "H2": {"estimate": e["confint"]["H2"]["estimate"], "ci_lb": ct["H2"]["ci_lb"], "ci_ub": ct["H2"]["ci_ub"]},
            });
            check_ci(
                c,
                "confint",
                &mixed,
                &ci,
                &est,
                td,
                Some(Tol::Rel(TIGHT)),
                f.vt,
            );
            // confint_tight's estimates are the tight τ² and its transforms.
            let tight_est = serde_json::json!({
                "tau2": {"estimate": ct["tau2"]["estimate"], "ci_lb": ct["tau2"]["ci_lb"], "ci_ub": ct["tau2"]["ci_ub"]},
                "tau": {"estimate": ct["tau"]["estimate"], "ci_lb": ct["tau"]["ci_lb"], "ci_ub": ct["tau"]["ci_ub"]},
                "I2": {"estimate": ct["I2"]["estimate"], "ci_lb": ct["I2"]["ci_lb"], "ci_ub": ct["I2"]["ci_ub"]},
                "H2": {"estimate": ct["H2"]["estimate"], "ci_lb": ct["H2"]["ci_lb"], "ci_ub": ct["H2"]["ci_ub"]},
            });
            let near0 = ct["tau2"]["estimate"].as_f64().is_some_and(|t| t < 1e-4);
            if !near0 {
                check_ci(
                    c,
                    "confint_tight",
                    &tight_est,
                    &ci,
                    &ci,
                    Tol::Rel(TIGHT),
                    Some(Tol::Rel(TIGHT)),
                    f.vt,
                );
            }
        }
    }
    if e.get("confint_PL").is_some() {
        let ci = confint(&f, CiType::ProfileLikelihood).expect("confint PL");
        let est = confint(&r, CiType::QProfile).expect("confint");
        check_ci(c, "confint_PL", &e["confint_PL"], &ci, &est, td, None, f.vt);
    }
    if let Some(mt) = e.get("model_tight") {
        check_tight(c, mt, &f);
    }
    f
}

fn run_pooled(case: &Case, c: &mut Checker, rows: &[Row]) -> PooledFit {
    let calls = case.calls();
    let call = calls
        .iter()
        .find(|c| c.starts_with("res <- rma."))
        .unwrap()
        .clone();
    let t = tables_of(&call, rows);
    let opts = pooled_opts(&call);
    let f = if call.starts_with("res <- rma.peto") {
        rma_peto(&t, &opts).expect("peto")
    } else {
        rma_mh(measure_of(&arg(&call, "measure").unwrap()), &t, &opts).expect("mh")
    };
    if let Some(m) = case.expected().get("model") {
        check_pooled(c, m, &f);
    }
    if let Some(pe) = case.expected().get("predict_exp") {
        check_pooled_exp(c, pe, &f);
    }
    f
}

/// A refit closure for leave1out/cumul built from the case's model call.
type Refit<'a> = Box<dyn Fn(&[usize]) -> InfluenceRow + 'a>;

fn refit_closure<'a>(call: &'a str, rows: &'a [Row]) -> Refit<'a> {
    if call.starts_with("res <- rma.peto") || call.starts_with("res <- rma.mh") {
        let t = tables_of(call, rows);
        let opts = pooled_opts(call);
        let peto = call.starts_with("res <- rma.peto");
        let m = arg(call, "measure").map(|m| measure_of(&m));
        Box::new(move |idx: &[usize]| {
            let sub: Vec<Table2x2> = idx.iter().map(|&i| t[i]).collect();
            let f = if peto {
                rma_peto(&sub, &opts)
            } else {
                rma_mh(m.unwrap(), &sub, &opts)
            };
            InfluenceRow::from(&f.expect("refit"))
        })
    } else {
        let (y, v, _) = effects_of(call, rows);
        let opts = rma_opts(call);
        Box::new(move |idx: &[usize]| {
            let ys: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
            let vs: Vec<f64> = idx.iter().map(|&i| v[i]).collect();
            InfluenceRow::from(&fit(&ys, &vs, None, opts).expect("refit"))
        })
    }
}

fn run_leave1out(case: &Case, c: &mut Checker) {
    let call = case.call_starting("res <- rma");
    let k = case.rows.len();
    let mut subsets = Vec::new();
    let _ = leave1out(k, |idx| {
        subsets.push(idx.to_vec());
        Err(vigil_stats::meta::MetaError::NoInformation)
    });
    let e = &case.expected()["leave1out"];
    let rows = influence_rows(c, "leave1out", &call, &case.rows, &subsets, e);
    check_rows(c, "leave1out", e, &rows, Tol::Rel(STRICT));
}

fn run_cumul(case: &Case, c: &mut Checker) {
    let call = case.call_starting("res <- rma");
    let cumul_call = case.call_starting("cumul(");
    let var = arg(&cumul_call, "order").unwrap();
    let order = stable_order(&col(&case.rows, &var));
    let e = &case.expected()["cumul"];
    let exp_order: Vec<usize> = e["order_rows_1based"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize - 1)
        .collect();
    c.checks += 1;
    if order != exp_order {
        c.fail(
            "cumul.order",
            format!("expected {exp_order:?}, actual {order:?}"),
        );
    }
    let mut subsets = Vec::new();
    let _ = cumulative(&order, |idx| {
        subsets.push(idx.to_vec());
        Err(vigil_stats::meta::MetaError::NoInformation)
    });
    let rows = influence_rows(c, "cumul", &call, &case.rows, &subsets, e);
    check_rows(c, "cumul", e, &rows, Tol::Rel(STRICT));
}

fn run_regtest(case: &Case, c: &mut Checker) {
    let call = case.call_starting("res <- rma");
    let (y, v, _) = effects_of(&call, &case.rows);
    let opts = rma_opts(&call);
    let rc = case.call_starting("regtest(");
    let model = match arg(&rc, "model").as_deref() {
        Some("lm") => RegtestModel::Lm,
        _ => RegtestModel::Rma,
    };
    let pred = match arg(&rc, "predictor").as_deref() {
        Some("vi") => Predictor::Vi,
        _ => Predictor::Sei,
    };
    let r = regtest(&y, &v, opts, model, pred).expect("regtest");
    let e = &case.expected()["regtest"];
    let tol = if model == RegtestModel::Rma && opts.method.is_iterative() {
        Tol::Rel(LOOSE)
    } else {
        Tol::Rel(STRICT)
    };
    c.text(
        "regtest.model",
        &e["model"],
        if model == RegtestModel::Lm {
            "lm"
        } else {
            "rma"
        },
    );
    c.num("regtest.zval", &e["zval"], r.zval, tol);
    c.num("regtest.pval", &e["pval"], r.pval, tol);
    c.opt("regtest.dfs", &e["dfs"], r.dfs, Tol::Rel(STRICT));
    c.num(
        "regtest.limit_estimate",
        &e["limit_estimate"],
        r.limit_estimate,
        tol,
    );
    c.num("regtest.limit_ci_lb", &e["limit_ci_lb"], r.limit_ci_lb, tol);
    c.num("regtest.limit_ci_ub", &e["limit_ci_ub"], r.limit_ci_ub, tol);
    c.vec("regtest.fit_coef", &e["fit_coef"], &r.fit_coef, tol);
}

fn run_trimfill(case: &Case, c: &mut Checker) {
    let call = case.call_starting("res <- rma");
    let (y, v, _) = effects_of(&call, &case.rows);
    let opts = rma_opts(&call);
    let tc = case.call_starting("trimfill(");
    let est = if arg(&tc, "estimator").as_deref() == Some("R0") {
        Estimator::R0
    } else {
        Estimator::L0
    };
    let tf = trimfill(&y, &v, opts, est, None).expect("trimfill");
    let e = &case.expected()["trimfill"];
    let tol = if opts.method.is_iterative() {
        Tol::Rel(LOOSE)
    } else {
        Tol::Rel(STRICT)
    };
    c.int("trimfill.k0", &e["k0"], tf.k0);
    c.text("trimfill.side", &e["side"], tf.side.name());
    c.num("trimfill.se_k0", &e["se_k0"], tf.se_k0, tol);
    c.int("trimfill.k_after", &e["k_after"], tf.fit.k);
    c.num("trimfill.beta", &e["beta"], tf.fit.beta[0], tol);
    c.num("trimfill.se", &e["se"], tf.fit.se[0], tol);
    c.num("trimfill.zval", &e["zval"], tf.fit.zval[0], tol);
    c.num("trimfill.pval", &e["pval"], tf.fit.pval[0], tol);
    c.num("trimfill.ci_lb", &e["ci_lb"], tf.fit.ci_lb[0], tol);
    c.num("trimfill.ci_ub", &e["ci_ub"], tf.fit.ci_ub[0], tol);
    c.num("trimfill.tau2", &e["tau2"], tf.fit.tau2, tol);
    c.num("trimfill.QE", &e["QE"], tf.fit.qe, tol);
    c.num("trimfill.QEp", &e["QEp"], tf.fit.qe_p, tol);
    c.num("trimfill.I2", &e["I2"], tf.fit.i2, tol);
    c.num("trimfill.H2", &e["H2"], tf.fit.h2, tol);
    c.vec("trimfill.yi_after", &e["yi_after"], &tf.yi, tol);
    c.vec(
        "trimfill.vi_after",
        &e["vi_after"],
        &tf.vi,
        Tol::Rel(STRICT),
    );
    c.checks += 1;
    let ef: Vec<bool> = e["filled"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_bool().unwrap())
        .collect();
    if ef != tf.filled {
        c.fail(
            "trimfill.filled",
            format!("expected {ef:?}, actual {:?}", tf.filled),
        );
    }
}

fn run_subgroup(case: &Case, c: &mut Checker) {
    let calls = case.calls();
    let ec = &calls[0];
    let m = measure_of(&arg(ec, "measure").unwrap());
    let t = tables_of(ec, &case.rows);
    let eff: Vec<_> = escalc(m, &t, &ZeroCellOptions::default())
        .into_iter()
        .map(Option::unwrap)
        .collect();
    let y: Vec<f64> = eff.iter().map(|e| e.yi).collect();
    let v: Vec<f64> = eff.iter().map(|e| e.vi).collect();
    let labels: Vec<String> = case.rows.iter().map(|r| r["alloc"].clone()).collect();
    let opts = rma_opts(&calls[1]);
    let s = subgroups(&y, &v, &labels, opts).expect("subgroups");
    let e = case.expected();
    let eg: Vec<String> = e["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect();
    c.checks += 1;
    if eg != s.groups {
        c.fail("groups", format!("expected {eg:?}, actual {:?}", s.groups));
    }
    for (g, f) in s.groups.iter().zip(&s.fits) {
        let ex = &e["per_subgroup_separate_tau2"][g];
        let path = format!("separate.{g}");
        let (r, pol) = reference_fit(c, &path, ex, &f.yi, &f.vi, None, opts, f);
        check_model(c, &path, ex, &r, pol);
    }
    let tb = &e["test_between_separate_tau2"];
    // The between-subgroup Q uses the subgroup estimates, which move with each subgroup's τ²:
    // at the loose tolerance for iterative estimators.
    let tol = if opts.method.is_iterative() {
        Tol::Rel(LOOSE)
    } else {
        Tol::Rel(STRICT)
    };
    c.num("between.QM", &tb["QM"], s.q_between, tol);
    c.num("between.QMp", &tb["QMp"], s.q_between_p, tol);
    c.int("between.QM_df", &tb["QM_df"][0], s.q_between_df);
    let me = &e["mixed_effects_common_tau2"];
    let m = &s.common_tau2;
    let (r, pol) = reference_fit(c, "common_tau2", me, &m.yi, &m.vi, Some(&m.x), opts, m);
    check_model(c, "common_tau2", me, &r, pol);
    if let Some(r2) = me.get("R2") {
        c.opt("common_tau2.R2", r2, pseudo_r2(m).unwrap(), tol);
    }
    let cm = &e["mixed_effects_common_tau2_cell_means"];
    let cmf = &s.cell_means;
    let (r, pol) = reference_fit(
        c,
        "cell_means",
        cm,
        &cmf.yi,
        &cmf.vi,
        Some(&cmf.x),
        opts,
        cmf,
    );
    c.vec("cell_means.beta", &cm["beta"], &r.beta, pol.tau_dep);
    c.vec("cell_means.se", &cm["se"], &r.se, pol.tau_dep);
    let bt = pair_tol(pol.tau_dep, &cm["ci_lb"], &cm["ci_ub"]);
    c.vec("cell_means.ci_lb", &cm["ci_lb"], &r.ci_lb, bt);
    c.vec("cell_means.ci_ub", &cm["ci_ub"], &r.ci_ub, bt);
    if let Some(t) = pol.tau2 {
        c.num("cell_means.tau2", &cm["tau2"], r.tau2, t);
    }
}

/// Rows of the dupilumab data set selected by the case's `subset(dat, trial %in% c(...) & outcome %in% c(...))`.
fn dupilumab_rows(case: &Case) -> Vec<Row> {
    let sub = case.call_starting("d <- subset(");
    let list_after = |key: &str| -> Option<Vec<String>> {
        let pos = sub.find(&format!("{key} %in% c("))?;
        let start = pos + key.len() + " %in% c(".len();
        let end = start + sub[start..].find(')')?;
        Some(r_vector(&sub[start..end]))
    };
    let trials = list_after("trial");
    let outcomes = list_after("outcome");
    case.rows
        .iter()
        .filter(|r| {
            trials.as_ref().is_none_or(|t| t.contains(&r["trial"]))
                && outcomes.as_ref().is_none_or(|o| o.contains(&r["outcome"]))
        })
        .cloned()
        .collect()
}

fn run_dupilumab(case: &Case, c: &mut Checker) {
    let rows = dupilumab_rows(case);
    let e = case.expected();
    let trials: Vec<Value> = rows
        .iter()
        .map(|r| Value::String(r["trial"].clone()))
        .collect();
    c.checks += 1;
    if Value::Array(trials.clone()) != e["rows_trials"] {
        c.fail(
            "rows_trials",
            format!("expected {}, actual {:?}", e["rows_trials"], trials),
        );
    }
    let calls = case.calls();
    if calls.iter().any(|c| c.starts_with("res <- rma(")) {
        run_rma(case, c, &rows);
    } else {
        run_pooled(case, c, &rows);
    }
}

fn run_case(case: &Case) -> Checker {
    let mut c = Checker::new(&case.id);
    match case.group.as_str() {
        "escalc" => run_escalc(case, &mut c),
        "rma_uni" | "metaregression" => {
            run_rma(case, &mut c, &case.rows);
        }
        "mantel_haenszel" | "peto" => {
            run_pooled(case, &mut c, &case.rows);
        }
        "leave1out" => run_leave1out(case, &mut c),
        "cumulative" => run_cumul(case, &mut c),
        "regtest" => run_regtest(case, &mut c),
        "trimfill" => run_trimfill(case, &mut c),
        "subgroup" => run_subgroup(case, &mut c),
        "case_study_dupilumab" => run_dupilumab(case, &mut c),
        other => c.fail("group", format!("unknown group {other}")),
    }
    c
}

#[test]
fn every_metafor_oracle_case() {
    // A missing oracle fails under VIGIL_REQUIRE_SHARED=1 (CI) instead of passing silently.
    let Some(index_path) = vigil_test_support::shared("oracle/meta/cases/index.json") else {
        return;
    };
    let dir = index_path
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .to_path_buf();
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
    let entries = index["cases"].as_array().unwrap();
    let mut per_group: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failing: Vec<String> = Vec::new();
    let mut report = Vec::new();
    let mut total_checks = 0;
    for entry in entries {
        let id = entry["id"].as_str().unwrap().to_string();
        let group = entry["group"].as_str().unwrap().to_string();
        let json: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(entry["file"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
        let rows = read_csv(&dir.join(json["dataset"].as_str().unwrap()));
        let case = Case {
            id: id.clone(),
            group: group.clone(),
            json,
            rows,
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(&case)));
        let g = per_group.entry(group).or_default();
        g.1 += 1;
        match result {
            Ok(c) if c.failures.is_empty() && c.checks > 0 => {
                g.0 += 1;
                total_checks += c.checks;
            }
            Ok(c) => {
                total_checks += c.checks;
                failing.push(id.clone());
                report.extend(c.failures.into_iter().take(12));
                if c.checks == 0 {
                    report.push(format!("{id}: no field compared"));
                }
            }
            Err(_) => {
                failing.push(id.clone());
                report.push(format!("{id}: panicked"));
            }
        }
    }
    for line in &report {
        println!("FAIL {line}");
    }
    let passed: usize = per_group.values().map(|g| g.0).sum();
    for (g, (p, n)) in &per_group {
        println!("{g}: {p}/{n}");
    }
    println!(
        "oracle meta: {passed}/{} cases pass ({total_checks} fields compared)",
        entries.len()
    );
    assert_eq!(entries.len(), index["n_cases"].as_u64().unwrap() as usize);
    let known: Vec<&str> = KNOWN_FAILING.iter().map(|k| k.0).collect();
    let unexpected: Vec<&String> = failing
        .iter()
        .filter(|f| !known.contains(&f.as_str()))
        .collect();
    let fixed: Vec<&&str> = known
        .iter()
        .filter(|k| !failing.iter().any(|f| f == *k))
        .collect();
    println!("known failing: {} (listed in KNOWN_FAILING)", known.len());
    assert!(
        fixed.is_empty(),
        "cases listed as known failing now pass, remove them from KNOWN_FAILING: {fixed:?}"
    );
    assert!(
        unexpected.is_empty(),
        "{} oracle cases fail: {unexpected:?}",
        unexpected.len()
    );
}
