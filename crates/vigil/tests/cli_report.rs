//! `vigil onset` and `vigil report` on a synthetic store: the planted onset law is recovered, every
//! number in the report is reproduced by the command the report lists beside it, the HTML has its
//! sections and well-formed SVG, and it opens in headless Chromium without a console message.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use vigil_test_support::cli::ok;
use vigil_test_support::{repo_root, vigil};

use common::{synth_store, Synth};

/// Splits a command line as a POSIX shell would for the quoting the report uses (single quotes).
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

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1.0)
}

/// Equal JSON numbers to 1e-12 relative, or both null (an undefined statistic, e.g. PRR with c = 0).
fn same_figure(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => close(x, y),
        _ => a.is_null() && b.is_null(),
    }
}

/// `vigil synth` plants dupilumab's time to onset as Weibull(shape 0.8, scale 60 days) and the
/// other primary suspects' as exponential (shape 1, scale 200 days) (`synth::DUPILUMAB_ONSET_WEIBULL`,
/// `synth::BACKGROUND_ONSET_DAYS`). The 95% intervals of the fit must cover those truths, and every
/// report must be either used or counted under a reason for rejection.
#[test]
fn onset_recovers_the_planted_weibull() {
    let dir = tempfile::tempdir().unwrap();
    synth_store(
        dir.path(),
        &Synth {
            reports: 60_000,
            seed: 11,
            quarters: None,
            interactions: false,
        },
    );
    let fit = |drug: &str, event: &str| -> Value {
        let text = ok(vigil!().current_dir(dir.path()).args([
            "onset", "--store", "store", "--drug", drug, "--event", event, "--format", "json",
        ]));
        serde_json::from_str(&text).unwrap()
    };
    for (drug, event, shape, scale) in [
        ("DUPILUMAB", "Dermatitis atopic", 0.8, 60.0),
        ("DUPILUMAB", "Conjunctivitis", 0.8, 60.0),
        ("ATORVASTATIN", "Fatigue", 1.0, 200.0),
    ] {
        let o = fit(drug, event);
        let c = &o["counts"];
        let n = |k: &str| c[k].as_u64().unwrap();
        assert_eq!(
            n("used") + n("missing_date") + n("partial_date") + n("negative") + n("implausible"),
            n("input"),
            "{drug}/{event}: {c}"
        );
        // synth never puts the therapy start after the event.
        assert_eq!(n("negative"), 0, "{drug}/{event}");
        assert!(
            n("used") >= 60,
            "{drug}/{event}: only {} onsets used",
            n("used")
        );
        // A third of synth's event dates are missing and a fifth partial (synth::make_case).
        assert!(
            n("missing_date") > 0 && n("partial_date") > 0,
            "{drug}/{event}: {c}"
        );
        let w = &o["weibull"];
        let ci = |k: &str| (w[k][0].as_f64().unwrap(), w[k][1].as_f64().unwrap());
        let (lo, hi) = ci("shape_ci");
        assert!(
            lo < shape && shape < hi,
            "{drug}/{event}: shape {shape} outside ({lo}, {hi})"
        );
        let (lo, hi) = ci("scale_ci");
        assert!(
            lo < scale && scale < hi,
            "{drug}/{event}: scale {scale} outside ({lo}, {hi})"
        );
    }
    // The dupilumab law has falling hazard: with enough reports the interval excludes 1.
    let o = fit("DUPILUMAB", "Dermatitis atopic");
    assert!(
        o["weibull"]["shape_ci"][1].as_f64().unwrap() < 1.0,
        "{}",
        o["weibull"]
    );
    assert_eq!(o["weibull"]["reading"], "early_failure");
}

/// Every figure in `vigil report --format json` comes back, to the last digit, from the command the
/// report lists beside it: the signal table from `vigil signals`, each restricted comparator view
/// from its own `vigil signals` call, the trials from `vigil meta`, the onset from `vigil onset`.
#[test]
fn report_numbers_are_reproduced_by_the_commands_it_lists() {
    let dir = tempfile::tempdir().unwrap();
    synth_store(
        dir.path(),
        &Synth {
            reports: 20_000,
            seed: 11,
            quarters: None,
            interactions: false,
        },
    );
    let trials = repo_root().join("examples/trials/dupilumab_infections.csv");
    std::fs::copy(&trials, dir.path().join("trials.csv")).unwrap();
    std::fs::copy(
        repo_root().join("examples/cases/facial-redness-interval-extension.json"),
        dir.path().join("case.json"),
    )
    .unwrap();
    ok(vigil!().current_dir(dir.path()).args([
        "report",
        "--store",
        "store",
        "--drug",
        "DUPILUMAB",
        "--events",
        "CONJUNCTIVITIS,ERYTHEMA,PSORIASIS",
        "--trials",
        "trials.csv",
        "--exclude-drug",
        "USTEKINUMAB,SECUKINUMAB,ADALIMUMAB",
        "--case",
        "case.json",
        "--format",
        "json",
        "--out",
        "r",
    ]));
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["synthetic_data"], true);

    // Signals: the listed command's CSV, row by row for the reactions of interest.
    let csv = run_listed(
        dir.path(),
        report["signals"]["command"].as_str().unwrap(),
        &[],
    );
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name} in {header:?}"))
    };
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let of_interest = report["signals"]["of_interest"].as_array().unwrap();
    assert_eq!(of_interest.len(), 3);
    for r in of_interest {
        let event = r["event"].as_str().unwrap();
        let row = rows
            .iter()
            .find(|row| row[col("event")].eq_ignore_ascii_case(event))
            .unwrap_or_else(|| panic!("{event} not in the CSV"));
        for field in [
            "a", "expected", "prr", "ror", "ic025", "ebgm", "eb05", "eb95",
        ] {
            let listed: f64 = row[col(field)].parse().unwrap();
            let shown = r[field].as_f64().unwrap();
            assert!(
                close(listed, shown),
                "{event} {field}: report {shown}, command {listed}"
            );
        }
    }

    // Competition-bias views: each restricted view's rows from its own command (JSON output).
    let views = report["competition_bias"].as_array().unwrap();
    assert!(
        views.len() >= 2,
        "the unrestricted view and at least one restriction"
    );
    let mut restricted_psoriasis_prr = None;
    for v in views {
        let out = run_listed(
            dir.path(),
            v["command"].as_str().unwrap(),
            &["--format", "json"],
        );
        let listed: Value = serde_json::from_str(&out).unwrap();
        let listed = listed
            .as_array()
            .or_else(|| listed["pairs"].as_array())
            .expect("signals JSON is an array of pairs");
        for r in v["rows"].as_array().unwrap() {
            let event = r["event"].as_str().unwrap();
            let Some(l) = listed
                .iter()
                .find(|l| l["event"].as_str().unwrap().eq_ignore_ascii_case(event))
            else {
                assert!(
                    r["a"].as_f64().unwrap_or(0.0) == 0.0,
                    "{event} missing from {}",
                    v["command"]
                );
                continue;
            };
            for field in ["a", "prr", "ebgm", "eb05"] {
                assert!(
                    same_figure(&l[field], &r[field]),
                    "{}: {event} {field}: report {}, command {}",
                    v["label"],
                    r[field],
                    l[field]
                );
            }
            if event.eq_ignore_ascii_case("PSORIASIS")
                && v["command"].as_str().unwrap().contains("--exclude-drug")
            {
                restricted_psoriasis_prr = r["prr"].as_f64();
            }
        }
    }
    // The masking drugs were planted at 15× for psoriasis (synth::PSORIASIS_BIOLOGIC_RR): leaving them
    // out must raise dupilumab's psoriasis PRR.
    let all_psoriasis = of_interest
        .iter()
        .find(|r| r["event"] == "PSORIASIS")
        .unwrap()["prr"]
        .as_f64()
        .unwrap();
    let restricted =
        restricted_psoriasis_prr.expect("a view with --exclude-drug listing psoriasis");
    assert!(
        restricted > all_psoriasis,
        "PRR without the masking drugs {restricted} vs all {all_psoriasis}"
    );

    // Trials: the pooled estimate from `vigil meta`'s JSON.
    let t = &report["trials"];
    let out = run_listed(
        dir.path(),
        t["command"].as_str().unwrap(),
        &["--format", "json"],
    );
    let listed: Value = serde_json::from_str(&out).unwrap();
    for field in ["beta", "ci_lb", "ci_ub", "tau2"] {
        assert!(listed[field].is_number(), "meta JSON has {field}");
        assert_eq!(listed[field], t["analysis"][field], "trials {field}");
    }

    // The case: the assessment `vigil assess --format json` gives.
    let c = &report["case"];
    let out = run_listed(
        dir.path(),
        c["command"].as_str().unwrap(),
        &["--format", "json"],
    );
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed, c["assessment"], "case assessment");
    // The example case scores Naranjo 4 ("possible"): items 1 (+1), 2 (+2) and 8 (+1), with item 5
    // "don't know" because an AD flare and steroid withdrawal stay possible, as tabulated in
    // docs/clinic.md and checked item by item in vigil-clinic's causality tests.
    assert_eq!(c["assessment"]["causality"][0]["naranjo"]["total"], 4);
    assert_eq!(
        c["assessment"]["causality"][0]["naranjo"]["category"],
        "possible"
    );
    let text = c["text"].as_str().unwrap();
    assert!(
        text.contains("Naranjo"),
        "the text rendering names the scale"
    );
    assert!(
        text.contains("not a probability"),
        "the candidates' order is explained"
    );

    // §5: ERYTHEMA is not site-specific: shown as erythema, without the head-and-neck figures
    // (before: "dupilumab facial redness" with its 10% incidence).
    let knowledge = report["knowledge"].as_array().unwrap();
    let erythema = knowledge
        .iter()
        .find(|k| k["event"] == "ERYTHEMA")
        .expect("ERYTHEMA in §5");
    assert_eq!(
        erythema["entity"],
        "erythema / rash, no head-and-neck site named"
    );
    assert_eq!(erythema["incidence"], serde_json::json!([]));
    assert!(erythema["note"]["text"]
        .as_str()
        .unwrap()
        .contains("not site-specific"));
    assert!(!erythema.to_string().contains("about 10%"), "{erythema}");
    let conj = knowledge
        .iter()
        .find(|k| k["event"] == "CONJUNCTIVITIS")
        .unwrap();
    assert_eq!(conj["entity"], "conjunctivitis / ocular surface disease");

    // Onset: each reaction's analysis from `vigil onset`.
    for o in report["onset"].as_array().unwrap() {
        let out = run_listed(
            dir.path(),
            o["command"].as_str().unwrap(),
            &["--format", "json"],
        );
        let listed: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(listed["counts"], o["analysis"]["counts"], "{}", o["event"]);
        assert_eq!(
            listed["weibull"], o["analysis"]["weibull"],
            "{}",
            o["event"]
        );
    }
}

/// The HTML report is one self-contained file: the seven sections, the synthetic-data banner, every
/// inline SVG well-formed XML, and no reference to anything outside the file.
fn check_html(html: &str) {
    for section in [
        "1. Post-marketing signals",
        "2. Competition bias",
        "3. Randomised trials",
        "4. Time to onset",
        "5. What the clinical sources say",
        "6. The individual case",
        "7. Provenance",
    ] {
        assert!(
            html.contains(&format!("<h2>{section}")),
            "missing section {section}"
        );
    }
    assert!(html.contains("Synthetic data."), "synthetic banner");
    // §5 for the demo's reactions: the herpes and infection terms have their trial figures
    // (Fleming & Drucker 2018; label table) and erythema is shown as not site-specific.
    for needle in [
        "ECZEMA HERPETICUM — eczema herpeticum",
        "Peto OR 0.34 (95% CI 0.14–0.84)",
        "HERPES SIMPLEX — herpes simplex",
        "RR 1.16 (95% CI 0.78–1.74)",
        "SKIN INFECTION — bacterial skin infection",
        "RR 0.54 (95% CI 0.42–0.70)",
        "ERYTHEMA — erythema / rash, no head-and-neck site named",
        "What to rule out, urgent signs",
    ] {
        assert!(html.contains(needle), "§5 lacks {needle:?}");
    }
    // Provenance: synth writes 8 quarters by default (synth::SynthConfig), with follow-up versions
    // that de-duplication must remove, and lists the input files.
    assert!(
        html.contains("from 8 quarter(s)"),
        "provenance lists the quarters"
    );
    assert!(
        html.contains("older case version") && html.contains("Input files"),
        "provenance lists de-duplication and files"
    );
    let mut rest = html;
    let mut svgs = 0;
    while let Some(start) = rest.find("<svg") {
        let end = rest[start..].find("</svg>").expect("unclosed <svg>") + start + "</svg>".len();
        roxmltree::Document::parse(&rest[start..end])
            .unwrap_or_else(|e| panic!("SVG #{svgs} is not well-formed: {e}"));
        svgs += 1;
        rest = &rest[end..];
    }
    // The signal interval plot, the forest plot and at least one onset histogram.
    assert!(svgs >= 3, "{svgs} SVG figures");
    for external in ["src=\"http", "href=\"http", "<link ", "src=\"//", "@import"] {
        assert!(!html.contains(external), "external reference {external:?}");
    }
}

/// `vigil demo` writes the report; it has its sections and opens in headless Chromium with no
/// console message at all (errors and warnings included) and its script run to the end.
/// Chromium is optional locally; CI sets `VIGIL_REQUIRE_CHROMIUM=1` so a missing browser fails there.
#[test]
fn demo_report_is_complete_and_opens_cleanly_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let stdout = ok(vigil!().arg("demo").arg("--out").arg(&out));
    let html_path = out.join("report.html");
    assert!(
        stdout.contains(&html_path.display().to_string()),
        "demo prints the report path:\n{stdout}"
    );
    let html = std::fs::read_to_string(&html_path).unwrap();
    check_html(&html);

    let browser = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    let Some(browser) = browser else {
        assert!(
            std::env::var_os("VIGIL_REQUIRE_CHROMIUM").is_none(),
            "VIGIL_REQUIRE_CHROMIUM is set but no Chromium was found"
        );
        eprintln!("skipping: no chromium on PATH (the HTML checks above ran)");
        return;
    };
    // Positive control of the console detection: a page that logs an error must be caught by the
    // same command line and the same filter, or an empty result below would prove nothing (e.g. a
    // Chromium that stopped writing console lines to stderr, or a changed log format).
    let probe = dir.path().join("probe.html");
    std::fs::write(
        &probe,
        "<!doctype html><title>probe</title><script>console.error(\"vigil-probe\")</script>",
    )
    .unwrap();
    let (_, probe_console) =
        headless_dom_and_console(browser, &dir.path().join("probe-profile"), &probe);
    assert!(
        probe_console.iter().any(|l| l.contains("vigil-probe")),
        "the console detection missed the probe page's console.error; console lines: {probe_console:?}"
    );
    let (dom, console) =
        headless_dom_and_console(browser, &dir.path().join("chromium-profile"), &html_path);
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );
    assert!(
        dom.contains("data-ready=\"1\""),
        "the report's script did not run to its end"
    );
    // The browser's view of the document has the same sections.
    check_html(&dom);
}

/// Opens `page` in headless `browser` with console logging to stderr; returns the DOM it dumps and
/// the stderr lines that are console messages (Chromium tags them `:CONSOLE`).
fn headless_dom_and_console(browser: &str, profile: &Path, page: &Path) -> (String, Vec<String>) {
    let run = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{browser} failed on {}: {}",
        page.display(),
        String::from_utf8_lossy(&run.stderr)
    );
    let log = String::from_utf8_lossy(&run.stderr);
    let console = log
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    (String::from_utf8_lossy(&run.stdout).into_owned(), console)
}

/// A drug the store does not hold is an error that says why (names are normalised ingredients),
/// not an empty report.
#[test]
fn report_on_an_unknown_drug_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    synth_store(
        dir.path(),
        &Synth {
            reports: 2_000,
            seed: 11,
            quarters: None,
            interactions: false,
        },
    );
    let out = vigil!()
        .current_dir(dir.path())
        .args([
            "report", "--store", "store", "--drug", "Dupixent", "--out", "r",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("drug \"Dupixent\" not found")
            && err.contains("nearest names: ")
            && err.contains("DUPILUMAB, not DUPIXENT"),
        "{err}"
    );
    assert!(!dir.path().join("r/report.html").exists());
}
