//! The weekly-scores plot of the clinician timeline: inline SVG, POEM (0–28) and PP-NRS (0–10) on one
//! time axis, each on its own full-height scale. Only numbers and ISO dates produced by the server are
//! written into it, so it needs no escaping of user text.
use crate::records::WeeklyScore;

/// Width and height of the plot in SVG user units.
pub const WIDTH: f64 = 640.0;
/// Height.
pub const HEIGHT: f64 = 240.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 40.0;

/// `x` position of week `i` of `n` (evenly spaced, in time order).
fn x_of(i: usize, n: usize) -> f64 {
    if n <= 1 {
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0
    } else {
        LEFT + (WIDTH - LEFT - RIGHT) * i as f64 / (n - 1) as f64
    }
}

/// `y` position of `value` on a 0–`max` scale.
fn y_of(value: f64, max: f64) -> f64 {
    TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - value / max)
}

/// The SVG, or a short sentence when there are no scores.
pub fn scores_svg(scores: &[WeeklyScore]) -> String {
    if scores.is_empty() {
        return "<p>No weekly scores recorded yet.</p>".into();
    }
    let n = scores.len();
    let line = |values: Vec<f64>, max: f64| -> String {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x_of(i, n), y_of(*v, max)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let poem = line(scores.iter().map(|s| s.poem_total as f64).collect(), 28.0);
    let nrs = line(scores.iter().map(|s| s.pp_nrs).collect(), 10.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"POEM and PP-NRS by week\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" width=\"{WIDTH}\" height=\"{HEIGHT}\" id=\"scores-plot\">"
    );
    let base = HEIGHT - BOTTOM;
    svg += &format!(
        "<line x1=\"{LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\" stroke=\"#999\"/>",
        WIDTH - RIGHT
    );
    svg += &format!("<text x=\"4\" y=\"{TOP}\" font-size=\"11\" fill=\"#1f5fa8\">POEM 28</text>");
    svg += &format!("<text x=\"{}\" y=\"{TOP}\" font-size=\"11\" fill=\"#b2401a\" text-anchor=\"end\">NRS 10</text>", WIDTH - 2.0);
    svg += &format!("<polyline class=\"poem\" fill=\"none\" stroke=\"#1f5fa8\" stroke-width=\"2\" points=\"{poem}\"/>");
    svg += &format!("<polyline class=\"pp-nrs\" fill=\"none\" stroke=\"#b2401a\" stroke-width=\"2\" stroke-dasharray=\"5,3\" points=\"{nrs}\"/>");
    for (i, s) in scores.iter().enumerate() {
        let x = x_of(i, n);
        svg += &format!(
            "<circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#1f5fa8\"><title>{} POEM {}</title></circle>",
            y_of(s.poem_total as f64, 28.0),
            s.week_start,
            s.poem_total
        );
        svg += &format!(
            "<circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#b2401a\"><title>{} PP-NRS {}</title></circle>",
            y_of(s.pp_nrs, 10.0),
            s.week_start,
            s.pp_nrs
        );
    }
    let first = &scores[0].week_start;
    let last = &scores[n - 1].week_start;
    svg += &format!(
        "<text x=\"{LEFT}\" y=\"{}\" font-size=\"11\">{first}</text>",
        HEIGHT - 20.0
    );
    svg += &format!(
        "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{last}</text>",
        WIDTH - RIGHT,
        HEIGHT - 20.0
    );
    svg += "<text x=\"320\" y=\"236\" font-size=\"11\" text-anchor=\"middle\">solid: POEM (0–28) · dashed: PP-NRS (0–10)</text>";
    svg += "</svg>";
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn week(date: &str, poem: i64, nrs: f64) -> WeeklyScore {
        WeeklyScore {
            id: 0,
            week_start: date.into(),
            poem_days: vec![],
            poem_total: poem,
            poem_band: String::new(),
            pp_nrs: nrs,
            pp_nrs_stratum: None,
        }
    }

    #[test]
    fn points_sit_on_their_scales() {
        // Plot area: x 40–600, y 20 (top, max) to 200 (bottom, 0).
        // Week 1 of 2: x = 40; POEM 14 of 28 → y = 20 + 180 × 0.5 = 110; NRS 10 of 10 → y = 20.
        // Week 2 of 2: x = 600; POEM 0 → y = 200; NRS 2.5 → y = 20 + 180 × 0.75 = 155.
        let svg = scores_svg(&[week("2026-03-02", 14, 10.0), week("2026-03-09", 0, 2.5)]);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let points = |class: &str| {
            doc.descendants()
                .find(|n| n.attribute("class") == Some(class))
                .unwrap()
                .attribute("points")
                .unwrap()
                .to_string()
        };
        assert_eq!(points("poem"), "40.0,110.0 600.0,200.0");
        assert_eq!(points("pp-nrs"), "40.0,20.0 600.0,155.0");
    }
}
