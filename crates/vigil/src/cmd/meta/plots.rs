//! The forest and funnel plots of `vigil meta --forest/--funnel` (drawn by `crate::plot`).

use std::path::Path;
use vigil_stats::meta::analysis::{MainFit, MetaAnalysis, Model};
use vigil_stats::meta::input::StudyValues;
use vigil_stats::meta::tau2::Method;

use super::table::{fmt_p, omitted_text};
use crate::plot::{ForestPlot, ForestRow, FunnelPlot, PooledSummary};

/// The forest plot of the analysis; its title is the input file's name without extension.
pub fn forest_of(a: &MetaAnalysis, path: &Path) -> ForestPlot {
    let z = vigil_stats::normal::quantile(1.0 - (1.0 - a.spec.level / 100.0) / 2.0);
    let weights = a.study_weights();
    let rows: Vec<ForestRow> = (0..a.table.lines.len())
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
                label: a.table.studies[i].clone(),
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
            let label = if a.model() == Model::Peto {
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
        title: path
            .file_stem()
            .map_or("meta-analysis".into(), |s| s.to_string_lossy().to_string()),
        measure_label: a.display_measure().to_string(),
        log_scale: a.log_scale(),
        level: a.spec.level,
        rows,
        pooled,
        heterogeneity,
        omitted_note: (!a.omitted.is_empty())
            .then(|| format!("Omitted for a missing value: {}", omitted_text(&a.omitted))),
    }
}

/// The funnel plot of the studies used, with the studies trim-and-fill adds.
pub fn funnel_of(a: &MetaAnalysis) -> FunnelPlot {
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
        measure_label: a.display_measure().to_string(),
        log_scale: a.log_scale(),
        points: pts,
        filled,
        center,
    }
}
