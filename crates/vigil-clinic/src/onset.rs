//! Time to onset over many cases: days from therapy start to event, median/IQR, Weibull shape reading.
//!
//! Input is an iterator of (therapy start date, event date) pairs carrying their precision, e.g. FAERS
//! THER `start_dt` and DEMO `event_dt`. Only pairs where both dates are exact to the day are used; every
//! other pair is counted under the reason it was rejected (missing date, partial date, negative interval,
//! implausibly long interval), never silently dropped.
//!
//! Caveat shown with every result: onset times from spontaneous reports are right-truncated, and the
//! naive Weibull fit can be badly biased by it (Leroy F et al., BMC Med Res Methodol 2014;14:17,
//! clinical.md §2.2).
use serde::Serialize;
use vigil_stats::weibull::{self, WeibullFit};

use crate::date::{PartialDate, Precision};

/// The caveat printed with every time-to-onset result.
pub const TRUNCATION_CAVEAT: &str = "Onset times from spontaneous reports are right-truncated; the Weibull fit ignores this and \
can be badly biased (Leroy F et al., BMC Med Res Methodol 2014;14:17). Read the shape with the histogram.";

/// One (therapy start, event) pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnsetPair {
    /// Therapy start date, if reported.
    pub start: Option<PartialDate>,
    /// Event date, if reported.
    pub event: Option<PartialDate>,
}

/// Settings of the analysis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OnsetOptions {
    /// Longest onset (days) accepted as plausible; longer intervals are rejected and counted. No source
    /// in the knowledge base gives a cut-off, so the caller chooses it (e.g. the days since the drug's
    /// first approval) and reports it.
    pub max_days: i64,
    /// Confidence level of the Weibull intervals.
    pub level: f64,
    /// Value used in the Weibull fit for a same-day onset (0 days), which the Weibull support (t > 0)
    /// excludes: 0.5 day, the implementation choice suggested in clinical.md §2.2. Median and IQR use
    /// the raw 0.
    pub zero_day: f64,
}

impl OnsetOptions {
    /// 95% intervals and 0.5 day for same-day onsets, with the caller's plausibility limit.
    pub fn new(max_days: i64) -> Self {
        OnsetOptions {
            max_days,
            level: 0.95,
            zero_day: 0.5,
        }
    }
}

/// How many pairs were used and why the others were rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct OnsetCounts {
    /// Pairs read.
    pub input: usize,
    /// Pairs used.
    pub used: usize,
    /// Start or event date missing.
    pub missing_date: usize,
    /// Start or event date known only to the month or year.
    pub partial_date: usize,
    /// Event before therapy start.
    pub negative: usize,
    /// Interval longer than `max_days`.
    pub implausible: usize,
    /// Used pairs with a same-day onset (0 days).
    pub same_day: usize,
}

/// What the Weibull shape interval says about the hazard over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HazardReading {
    /// Upper limit of the shape CI below 1: hazard falls with time.
    EarlyFailure,
    /// Shape CI contains 1: constant hazard.
    Random,
    /// Lower limit of the shape CI above 1: hazard rises with time.
    WearOut,
}

impl HazardReading {
    /// Label.
    pub fn label(self) -> &'static str {
        match self {
            HazardReading::EarlyFailure => "early failure (hazard decreases with time)",
            HazardReading::Random => "random failure (constant hazard)",
            HazardReading::WearOut => "wear-out failure (hazard increases with time)",
        }
    }
}

/// The reading of a shape confidence interval.
///
/// # References
/// Yamada M, Handa J, Jpn J Pharmacoepidemiol 2014;19(1):23-30, doi:10.3820/jjpe.19.23: early failure if
/// the upper limit is < 1, wear-out if the lower limit is > 1, random otherwise (clinical.md §2.2).
pub fn reading(shape_ci: (f64, f64)) -> HazardReading {
    if shape_ci.1 < 1.0 {
        HazardReading::EarlyFailure
    } else if shape_ci.0 > 1.0 {
        HazardReading::WearOut
    } else {
        HazardReading::Random
    }
}

/// The Weibull part of an analysis.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WeibullSummary {
    /// Shape (β).
    pub shape: f64,
    /// Shape CI.
    pub shape_ci: (f64, f64),
    /// Scale (days).
    pub scale: f64,
    /// Scale CI.
    pub scale_ci: (f64, f64),
    /// Confidence level.
    pub level: f64,
    /// The reading of the shape CI.
    pub reading: HazardReading,
    /// How the intervals were computed.
    pub interval_method: &'static str,
}

impl From<WeibullFit> for WeibullSummary {
    fn from(f: WeibullFit) -> Self {
        WeibullSummary {
            shape: f.shape,
            shape_ci: f.shape_ci,
            scale: f.scale,
            scale_ci: f.scale_ci,
            level: f.level,
            reading: reading(f.shape_ci),
            interval_method: "Wald on the log scale from the observed information",
        }
    }
}

/// A time-to-onset analysis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OnsetAnalysis {
    /// Counts.
    pub counts: OnsetCounts,
    /// Plausibility limit used.
    pub max_days: i64,
    /// Onset days of the used pairs, ascending.
    pub days: Vec<i64>,
    /// Median (R type 7 quantile).
    pub median: Option<f64>,
    /// First quartile (R type 7).
    pub q1: Option<f64>,
    /// Third quartile (R type 7).
    pub q3: Option<f64>,
    /// Weibull fit, when one could be made.
    pub weibull: Option<WeibullSummary>,
    /// Why there is no Weibull fit.
    pub weibull_error: Option<String>,
    /// The right-truncation caveat.
    pub caveat: &'static str,
}

/// Quantile of sorted data, R's default (type 7): h = (n − 1)p, linear interpolation between the
/// order statistics ⌊h⌋ and ⌈h⌉ (0-based).
pub fn quantile_type7(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&p) {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

/// Analyse (start, event) pairs.
pub fn analyse<I: IntoIterator<Item = OnsetPair>>(
    pairs: I,
    options: &OnsetOptions,
) -> OnsetAnalysis {
    let mut counts = OnsetCounts::default();
    let mut days = Vec::new();
    for p in pairs {
        counts.input += 1;
        let (Some(s), Some(e)) = (p.start, p.event) else {
            counts.missing_date += 1;
            continue;
        };
        if s.precision() != Precision::Day || e.precision() != Precision::Day {
            counts.partial_date += 1;
            continue;
        }
        let Some(d) = s.days_until(&e) else {
            counts.partial_date += 1;
            continue;
        };
        if d < 0 {
            counts.negative += 1;
        } else if d > options.max_days {
            counts.implausible += 1;
        } else {
            if d == 0 {
                counts.same_day += 1;
            }
            days.push(d);
        }
    }
    counts.used = days.len();
    days.sort_unstable();
    let sorted: Vec<f64> = days.iter().map(|&d| d as f64).collect();
    let fit_data: Vec<f64> = sorted
        .iter()
        .map(|&d| if d == 0.0 { options.zero_day } else { d })
        .collect();
    let (weibull, weibull_error) = match weibull::fit(&fit_data, options.level) {
        Ok(f) => (Some(WeibullSummary::from(f)), None),
        Err(e) => (None, Some(e.to_string())),
    };
    OnsetAnalysis {
        counts,
        max_days: options.max_days,
        median: quantile_type7(&sorted, 0.5),
        q1: quantile_type7(&sorted, 0.25),
        q3: quantile_type7(&sorted, 0.75),
        days,
        weibull,
        weibull_error,
        caveat: TRUNCATION_CAVEAT,
    }
}

/// Counts per bin of `width` days, starting at 0: (bin start, bin end exclusive, count).
pub fn histogram(days: &[i64], width: i64) -> Vec<(i64, i64, usize)> {
    if days.is_empty() || width <= 0 {
        return Vec::new();
    }
    let max = days.iter().copied().max().unwrap_or(0).max(0);
    let bins = (max / width + 1) as usize;
    let mut counts = vec![0usize; bins];
    for &d in days.iter().filter(|&&d| d >= 0) {
        counts[(d / width) as usize] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, c)| (i as i64 * width, (i as i64 + 1) * width, c))
        .collect()
}

/// A plain SVG bar chart of [`histogram`], with the title given.
pub fn histogram_svg(days: &[i64], width: i64, title: &str) -> String {
    let bins = histogram(days, width);
    let (w, h, pad) = (640.0, 320.0, 40.0);
    let max_count = bins.iter().map(|b| b.2).max().unwrap_or(1).max(1) as f64;
    let bar_w = if bins.is_empty() {
        0.0
    } else {
        (w - 2.0 * pad) / bins.len() as f64
    };
    // Element content only: `&`, `<` and `>`.
    let esc = html_escape::encode_text::<str>;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">\n<title>{}</title>\n<text x=\"{pad}\" y=\"20\" font-family=\"sans-serif\" font-size=\"14\">{}</text>\n",
        esc(title),
        esc(title)
    );
    for (i, (lo, hi, c)) in bins.iter().enumerate() {
        let bh = (h - 2.0 * pad) * (*c as f64) / max_count;
        let x = pad + i as f64 * bar_w;
        let y = h - pad - bh;
        svg.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"#4a7ab5\"><title>{lo}–{} days: {c}</title></rect>\n",
            (bar_w - 1.0).max(0.5),
            hi - 1
        ));
    }
    svg.push_str(&format!(
        "<line x1=\"{pad}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"black\"/>\n<text x=\"{pad}\" y=\"{2}\" font-family=\"sans-serif\" font-size=\"12\">days from therapy start to event (bins of {width})</text>\n</svg>\n",
        h - pad,
        w - pad,
        h - 10.0
    ));
    svg
}
