//! `vigil meta --format table`: the analysis as readable text, ratio measures back-transformed.

use std::fmt::Write;
use std::path::Path;
use vigil_stats::meta::analysis::{MainFit, MetaAnalysis, Model};
use vigil_stats::meta::influence::InfluenceRow;
use vigil_stats::meta::input::Omitted;
use vigil_stats::meta::regtest::RegtestModel;
use vigil_stats::meta::tau2::Method;

/// The whole analysis as text; `path` is the input file as given.
pub fn to_table(a: &MetaAnalysis, path: &Path) -> String {
    let mut o = String::new();
    studies_text(&mut o, a, path);
    main_fit_text(&mut o, a);
    influence_text(&mut o, a);
    further_analyses_text(&mut o, a);
    o
}

/// Width of the study column.
fn label_width(a: &MetaAnalysis) -> usize {
    a.table
        .studies
        .iter()
        .map(String::len)
        .max()
        .unwrap_or(5)
        .max(5)
}

/// The model line, the file, the measure, and one row per study with its effect and weight.
// One index runs over the parallel columns of the table (effects, weights, labels).
#[allow(clippy::needless_range_loop)]
fn studies_text(o: &mut String, a: &MetaAnalysis, path: &Path) {
    let lvl = a.spec.level;
    let z = vigil_stats::normal::quantile(1.0 - (1.0 - lvl / 100.0) / 2.0);
    let name = a.display_measure();
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
        MainFit::Pooled(f) if a.model() == Model::Peto => format!("Peto method (k = {})", f.k),
        MainFit::Pooled(f) => format!(
            "Mantel-Haenszel method (k = {}){}",
            f.k,
            if a.spec.mh_correction {
                ", continuity correction in the MH sums"
            } else {
                ", exact (no continuity correction)"
            }
        ),
    };
    let _ = writeln!(
        o,
        "{model_line}\nFile: {}\nMeasure: {name}{}\n",
        path.display(),
        if a.measure.is_ratio() {
            " (estimates back-transformed from the log scale)"
        } else {
            ""
        }
    );
    let weights = a.study_weights();
    let wname = label_width(a);
    let _ = writeln!(
        o,
        "{:<wname$}  {:>24}  {:>8}",
        "study",
        format!("{name} [{lvl}% CI]"),
        "weight"
    );
    for i in 0..a.table.lines.len() {
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
        let _ = writeln!(o, "{:<wname$}  {:>24}  {:>8}", a.table.studies[i], cell, w);
    }
    if !a.omitted.is_empty() {
        let _ = writeln!(
            o,
            "Omitted for a missing value ({} of {} studies): {}",
            a.omitted.len(),
            a.omitted.len() + a.table.lines.len(),
            omitted_text(&a.omitted)
        );
    }
    let _ = writeln!(o);
}

/// The pooled estimate and its heterogeneity.
fn main_fit_text(o: &mut String, a: &MetaAnalysis) {
    let lvl = a.spec.level;
    let name = a.display_measure();
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
                        a.spec.pi_type,
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
}

/// Leave-one-out, cumulative analysis and the regression test.
fn influence_text(o: &mut String, a: &MetaAnalysis) {
    let wname = label_width(a);
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
        influence(o, "Leave-one-out (row = without that study):", r);
    }
    if let Some(r) = &a.cumulative {
        influence(
            o,
            &format!(
                "Cumulative (ordered by {}; row = up to and including that study):",
                a.spec.cumulative.as_deref().unwrap_or("")
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
}

fn estimator_name(a: &MetaAnalysis) -> String {
    a.spec.trimfill.map_or(String::new(), |e| format!("{e:?}"))
}

/// Trim-and-fill, subgroups and the meta-regression.
fn further_analyses_text(o: &mut String, a: &MetaAnalysis) {
    let name = a.display_measure();
    if let Some(t) = &a.trimfill {
        let _ = writeln!(
            o,
            "\nTrim-and-fill ({}): {} study(ies) filled on the {} (SE {:.2}); adjusted {name} {} [{}, {}], p = {}",
            estimator_name(a),
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
}

pub(super) fn fmt_effect(a: &MetaAnalysis, x: f64) -> String {
    if !x.is_finite() {
        return "NA".into();
    }
    let v = if a.measure.is_ratio() { x.exp() } else { x };
    if v.abs() >= 100.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

pub(super) fn fmt_p(p: f64) -> String {
    if !p.is_finite() {
        "NA".into()
    } else if p < 1e-4 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

/// One line per omitted study for the text outputs: `B (line 3: ai missing)`.
pub(super) fn omitted_text(omitted: &[Omitted]) -> String {
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
