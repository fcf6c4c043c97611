//! `vigil meta --format json`: the analysis with metafor's field names (docs/meta.md, "JSON
//! output"); NaN and infinities are written as null.

use serde_json::{json, Map, Value};
use std::path::Path;
use vigil_stats::meta::analysis::{MainFit, MetaAnalysis, Model};
use vigil_stats::meta::confint::HeterogeneityCi;
use vigil_stats::meta::influence::InfluenceRow;
use vigil_stats::meta::input::{Omitted, StudyValues};
use vigil_stats::meta::mh::PooledFit;
use vigil_stats::meta::regtest::RegtestModel;
use vigil_stats::meta::rma::{Prediction, RmaFit};

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

/// The whole analysis as one JSON object; `path` is the input file as given.
pub fn to_json(a: &MetaAnalysis, path: &Path) -> Value {
    let mut top = Map::new();
    top.insert("file".into(), json!(path.display().to_string()));
    top.insert("measure".into(), json!(a.measure.name()));
    top.insert("model".into(), json!(a.model().name()));
    top.insert("level".into(), json!(a.spec.level));
    top.insert("drop00".into(), json!(a.spec.drop00()));
    top.insert("k_omitted".into(), json!(a.omitted.len()));
    top.insert("omitted".into(), omitted_json(&a.omitted));
    match &a.main {
        MainFit::Rma(f) => rma_main_json(&mut top, a, f),
        MainFit::Pooled(f) => pooled_main_json(&mut top, a, f),
    }
    let weights: Vec<Option<f64>> = a.study_weights();
    let studies: Vec<Value> = (0..a.table.lines.len())
        .map(|i| {
            let (yi, vi) = a.effects[i].map_or((Value::Null, Value::Null), |(y, v)| (num(y), num(v)));
            let mut s = json!({"study": a.table.studies[i], "line": a.table.lines[i], "yi": yi, "vi": vi, "weight_pct": opt(weights[i])});
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
    heterogeneity_and_influence_json(&mut top, a);
    further_analyses_json(&mut top, a);
    Value::Object(top)
}

/// The top-level fields of an inverse-variance model, with its prediction.
fn rma_main_json(top: &mut Map<String, Value>, a: &MetaAnalysis, f: &RmaFit) {
    top.extend(rma_json(f));
    if let Some(p) = &a.prediction {
        top.insert("pi_lb".into(), num(p.pi_lb));
        top.insert("pi_ub".into(), num(p.pi_ub));
        top.insert(
            "pi_type".into(),
            json!(format!("{:?}", a.spec.pi_type).to_lowercase()),
        );
        top.insert("predict".into(), prediction_json(p));
        if a.measure.is_ratio() {
            top.insert(
                "predict_exp".into(),
                prediction_json(&p.transformed(f64::exp)),
            );
        }
    }
}

/// The top-level fields of an MH or Peto model.
fn pooled_main_json(top: &mut Map<String, Value>, a: &MetaAnalysis, f: &PooledFit) {
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
    if a.model() == Model::Mh {
        top.insert("correct".into(), json!(a.spec.correct));
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
    if a.log_scale() {
        top.insert("predict_exp".into(), json!({"pred": num(f.beta.exp()), "ci_lb": num(f.ci_lb.exp()), "ci_ub": num(f.ci_ub.exp())}));
    }
}

/// τ² intervals, leave-one-out, cumulative analysis and the regression test.
fn heterogeneity_and_influence_json(top: &mut Map<String, Value>, a: &MetaAnalysis) {
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
        j["order_by"] = json!(a.spec.cumulative);
        top.insert("cumulative".into(), j);
    }
    if let Some(r) = &a.regtest {
        top.insert(
            "regtest".into(),
            json!({"model": if r.model == RegtestModel::Lm {"lm"} else {"rma"}, "predictor": "sei", "zval": num(r.zval), "pval": num(r.pval), "dfs": opt(r.dfs),
                   "limit_estimate": num(r.limit_estimate), "limit_ci_lb": num(r.limit_ci_lb), "limit_ci_ub": num(r.limit_ci_ub), "fit_coef": [num(r.fit_coef[0]), num(r.fit_coef[1])]}),
        );
    }
}

/// Trim-and-fill, subgroups and the meta-regression.
fn further_analyses_json(top: &mut Map<String, Value>, a: &MetaAnalysis) {
    if let Some(t) = &a.trimfill {
        let mut j = rma_json(&t.fit);
        j.insert("k0".into(), json!(t.k0));
        j.insert("se_k0".into(), num(t.se_k0));
        j.insert("side".into(), json!(t.side.name()));
        j.insert(
            "estimator".into(),
            json!(a.spec.trimfill.map(|e| format!("{e:?}"))),
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
}
