//! The evidence report's decision views (issue 19, part 3) on `vigil synth --emerging-from` data:
//! the q-values beside each flagged pair are those of `vigil signals`, and the sequential chart
//! marks the alarm at the look `vigil sequential` prints. Every expected value comes from the
//! command the report lists beside the figure, run here.

use std::path::Path;

use serde_json::Value;
use vigil_test_support::cli::ok;
use vigil_test_support::vigil;

/// 12 synthetic quarters (2023Q1–2025Q4) with Keratitis planted for dupilumab from 2024Q2, in
/// `dir/store` (the report's commands name the store relative to `dir`).
fn emerging_store(dir: &Path) {
    ok(vigil!().current_dir(dir).args([
        "synth",
        "--reports",
        "20000",
        "--quarters",
        "12",
        "--emerging-from",
        "2024Q2",
        "--out",
        "q",
    ]));
    let mut ingest = vigil!();
    ingest.current_dir(dir).args(["ingest", "faers"]);
    for entry in std::fs::read_dir(dir.join("q")).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            ingest.arg(p);
        }
    }
    ok(ingest.args(["--store", "store", "--quiet"]));
}

/// Splits a listed command as a POSIX shell would for the quoting the report uses (single quotes).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut started) = (false, false);
    for ch in line.chars() {
        match ch {
            '\'' => {
                quoted = !quoted;
                started = true;
            }
            ' ' if !quoted => {
                if started {
                    words.push(std::mem::take(&mut word));
                }
                started = false;
            }
            _ => {
                word.push(ch);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

/// Runs a command the report lists (`vigil ...`) in `dir`, with `extra` arguments appended.
fn run_listed(dir: &Path, command: &str, extra: &[&str]) -> String {
    let words = shell_words(command);
    assert_eq!(words[0], "vigil", "{command}");
    ok(vigil!().current_dir(dir).args(&words[1..]).args(extra))
}

/// Equal to 1e-12 relative, or both undefined or infinite (NaN or inf in the CSV, null in the JSON).
fn same(listed: f64, shown: &Value) -> bool {
    match shown.as_f64() {
        Some(x) => (x - listed).abs() <= 1e-12 * x.abs().max(listed.abs()).max(1e-300),
        // The JSON writes a non-finite figure (PRR with c = 0: inf) as null.
        None => !listed.is_finite(),
    }
}

const DECISION_COLUMNS: [&str; 8] = [
    "prr_p",
    "prr_q",
    "ror_p",
    "ror_q",
    "ic_post_null",
    "ebgm_post_null",
    "fdr_bayes_ic",
    "fdr_bayes_ebgm",
];

#[test]
fn report_q_values_and_sequential_alarm_are_those_of_the_commands() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    emerging_store(dir);
    for format in ["json", "html"] {
        ok(vigil!().current_dir(dir).args([
            "report",
            "--store",
            "store",
            "--drug",
            "DUPILUMAB",
            "--events",
            "KERATITIS,CONJUNCTIVITIS",
            "--format",
            format,
            "--out",
            "r",
        ]));
    }
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r/report.json")).unwrap()).unwrap();
    let html = std::fs::read_to_string(dir.join("r/report.html")).unwrap();

    // q-values: every flagged pair and every reaction of interest, against the listed command's
    // CSV (the family is every pair of the table in both).
    let csv = run_listed(dir, report["signals"]["command"].as_str().unwrap(), &[]);
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let header = rdr.headers().unwrap().clone();
    let col = |n: &str| header.iter().position(|h| h == n).unwrap();
    let listed: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let flagged = report["signals"]["any_signal"].as_array().unwrap();
    assert!(flagged.len() >= 2, "the planted signals are flagged");
    let of_interest = report["signals"]["of_interest"].as_array().unwrap();
    let mut compared = 0;
    for row in flagged.iter().chain(of_interest) {
        let event = row["event"].as_str().unwrap();
        let line = listed
            .iter()
            .find(|r| r[col("event")].eq_ignore_ascii_case(event))
            .unwrap_or_else(|| panic!("{event} not in the listed CSV"));
        for name in DECISION_COLUMNS {
            let value: f64 = line[col(name)].parse().unwrap();
            assert!(
                same(value, &row[name]),
                "{event} {name}: report {}, command {value}",
                row[name]
            );
        }
        compared += 1;
    }
    assert_eq!(compared, flagged.len() + 2);
    // The HTML shows them beside the flags.
    assert!(
        html.contains("<th>PRR q</th><th>ROR q</th><th>FDR IC</th><th>FDR EBGM</th>"),
        "q-value columns in the HTML tables"
    );

    // Sequential: the alarm of each reaction is the one its listed command prints.
    let seq = &report["sequential"];
    // The drug's first quarter: synth writes dupilumab reports from 2023Q1.
    assert_eq!(seq["start"], "2023Q1");
    assert_eq!(seq["alpha"], 0.05);
    let events = seq["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    for e in events {
        let event = e["event"].as_str().unwrap();
        let command = e["command"].as_str().unwrap();
        let m = &e["monitoring"];
        let table = run_listed(dir, command, &[]);
        let printed = table
            .lines()
            .find_map(|l| l.strip_prefix("signal raised at "))
            .and_then(|l| l.split(':').next());
        assert_eq!(m["signal_quarter"].as_str(), printed, "{event}: {table}");
        let listed: Value =
            serde_json::from_str(&run_listed(dir, command, &["--format", "json"])).unwrap();
        assert_eq!(listed["critical_value"], m["critical_value"], "{event}");
        assert_eq!(listed["quarters"], m["quarters"], "{event}");
        // The chart marks the same look.
        let svg = e["chart_svg"].as_str().unwrap();
        let doc = roxmltree::Document::parse(svg).unwrap();
        let marks: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("alarm"))
            .filter_map(|n| n.attribute("data-quarter"))
            .collect();
        assert_eq!(marks, printed.into_iter().collect::<Vec<_>>(), "{event}");
        assert!(html.contains(svg), "{event}: the chart is in the HTML");
        assert!(html.contains(&format!("<code>{command}</code>")), "{event}");
    }
    // Keratitis was planted from 2024Q2: the chart's alarm is at or after it, never before.
    let keratitis = events.iter().find(|e| e["event"] == "KERATITIS").unwrap();
    let alarm = keratitis["monitoring"]["signal_quarter"]
        .as_str()
        .expect("Keratitis signals");
    assert!(alarm >= "2024Q2", "alarm at {alarm}");

    // Every inline SVG of the page is well-formed XML.
    let mut rest = html.as_str();
    let mut svgs = 0;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("unclosed <svg>") + start + "</svg>".len();
        roxmltree::Document::parse(&rest[start..end])
            .unwrap_or_else(|e| panic!("SVG #{svgs} is not well-formed: {e}"));
        svgs += 1;
        rest = &rest[end..];
    }
    // Interval plot, two onset histograms, two sequential charts.
    assert!(svgs >= 5, "{svgs} SVG figures");
}

/// A store of one quarter cannot be monitored sequentially: the section says so.
#[test]
fn report_says_when_the_store_spans_too_few_quarters() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    ok(vigil!().current_dir(dir).args([
        "synth",
        "--reports",
        "3000",
        "--quarters",
        "1",
        "--out",
        "q",
    ]));
    ok(vigil!()
        .current_dir(dir)
        .args(["ingest", "faers", "q", "--store", "store", "--quiet"]));
    ok(vigil!().current_dir(dir).args([
        "report",
        "--store",
        "store",
        "--drug",
        "DUPILUMAB",
        "--events",
        "CONJUNCTIVITIS",
        "--out",
        "r",
    ]));
    let html = std::fs::read_to_string(dir.join("r/report.html")).unwrap();
    assert!(
        html.contains("Not monitored: the store holds 1 quarter(s) from 2023Q1: the MaxSPRT needs at least 2 quarterly looks"),
        "{}",
        &html[html.find("Sequential monitoring").unwrap_or(0)..][..600]
    );
    assert!(!html.contains("class=\"alarm\""));
}
