//! `vigil meta`: meta-analysis of trials from a CSV file, numbers as R's metafor gives them.
//!
//! Input: one row per study with a `study` column and either the 2×2 cells `ai,bi,ci,di`, or events
//! and totals `ai,n1i,ci,n2i`, or a generic effect `yi` with `vi` or `sei`; any other column can be
//! used as moderator (`--mods`), subgroup (`--subgroup`) or order (`--cumulative`). A study with a
//! missing value (empty cell or `NA`) in the columns of its effect size is omitted and listed, as
//! metafor's `na.action = "na.omit"` does.
//! Output: a readable table (ratio measures back-transformed) or JSON with metafor's field names.
//!
//! The command only parses and prints: [`input`] turns the arguments into a typed
//! [`AnalysisSpec`] and hands the file to `vigil_stats::meta::analysis`, which decides every step;
//! [`json`], [`table`] and [`plots`] write the result.

mod input;
mod json;
mod plots;
mod table;

use anyhow::{Context, Result};
use serde_json::Value;
use std::path::Path;
use vigil_stats::meta::analysis::{AnalysisSpec, EffectMeasure, Model};

use crate::plot::{forest_svg, funnel_svg};
pub use input::Args;

/// Run `vigil meta`.
pub fn run(args: Args) -> Result<()> {
    let spec = args.spec()?;
    let analysis = input::analyse_file(&args.file, &spec)?;
    let text = match args.format {
        input::FormatArg::Json => {
            serde_json::to_string_pretty(&json::to_json(&analysis, &args.file))? + "\n"
        }
        input::FormatArg::Table => table::to_table(&analysis, &args.file),
    };
    crate::output::print(&text)?;
    if let Some(path) = &args.forest {
        std::fs::write(path, forest_svg(&plots::forest_of(&analysis, &args.file)))
            .with_context(|| format!("{}: cannot write the forest plot", path.display()))?;
    }
    if let Some(path) = &args.funnel {
        std::fs::write(path, funnel_svg(&plots::funnel_of(&analysis)))
            .with_context(|| format!("{}: cannot write the funnel plot", path.display()))?;
    }
    Ok(())
}

/// The trial analysis of the evidence report and the demo: log risk ratios pooled by random
/// effects (REML), metafor's defaults otherwise — `vigil meta FILE --measure RR --model re`, the
/// command the report prints beside it.
pub fn evidence_spec() -> AnalysisSpec {
    AnalysisSpec {
        measure: Some(EffectMeasure::RR),
        model: Model::Re,
        ..AnalysisSpec::default()
    }
}

/// A meta-analysis for the evidence report: metafor-named JSON, the text table and the forest plot
/// (SVG) of the trials in `file`, analysed as `spec` says.
pub fn evidence(file: &Path, spec: &AnalysisSpec) -> Result<(Value, String, String)> {
    let analysis = input::analyse_file(file, spec)?;
    Ok((
        json::to_json(&analysis, file),
        table::to_table(&analysis, file),
        forest_svg(&plots::forest_of(&analysis, file)),
    ))
}
