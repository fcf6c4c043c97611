//! `vigil report --drug D`: the section on drug–drug interactions lists the drug's strongest Ω
//! signals, with figures equal to those of the command it shows (`vigil interactions --drug D`),
//! and says that Ω screens reporting patterns, not pharmacology.

mod common;

use vigil_test_support::cli::ok;
use vigil_test_support::vigil;

use common::{synth_store, Synth};

#[test]
fn report_lists_the_planted_interaction_with_the_figures_of_its_command() {
    let dir = tempfile::tempdir().unwrap();
    let store = synth_store(
        dir.path(),
        &Synth {
            reports: 40_000,
            seed: 5,
            quarters: Some(4),
            interactions: true,
        },
    );
    let drug = "SYNTHETIC INTERACTOR A";
    ok(vigil!()
        .args(["report", "--store"])
        .arg(&store)
        .args(["--drug", drug, "--format", "json", "--out"])
        .arg(dir.path().join("r")));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("r/report.json")).unwrap())
            .unwrap();
    let section = &report["interactions"];
    let rows = section["rows"].as_array().unwrap();
    assert!(!rows.is_empty() && rows.len() <= 10, "{section}");
    // The planted interaction (PLANTED_SIGNALS.tsv: A + B → rhabdomyolysis) comes first.
    assert_eq!(rows[0]["with"], "SYNTHETIC INTERACTOR B", "{section}");
    assert_eq!(rows[0]["event"], "RHABDOMYOLYSIS", "{section}");
    assert_eq!(rows[0]["signal_omega"], true);
    // Sorted by Ω025, strongest first.
    let lower: Vec<f64> = rows
        .iter()
        .map(|r| r["omega025"].as_f64().unwrap())
        .collect();
    assert!(lower.windows(2).all(|w| w[0] >= w[1]), "{lower:?}");
    assert!(section["note"]
        .as_str()
        .unwrap()
        .contains("reporting patterns, not pharmacology"));

    // The command shown reproduces the row: same counts and Ω.
    let command = section["command"].as_str().unwrap();
    assert!(
        command.contains("vigil interactions --store")
            && command.contains("--drug SYNTHETIC INTERACTOR A"),
        "{command}"
    );
    let csv = ok(vigil!()
        .args(["interactions", "--store"])
        .arg(&store)
        .args(["--drug", drug, "--min-count", "3", "--format", "csv"]));
    let mut rdr = csv::Reader::from_reader(csv.as_bytes());
    let h: Vec<String> = rdr.headers().unwrap().iter().map(str::to_owned).collect();
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    let row = rdr
        .records()
        .map(Result::unwrap)
        .find(|r| {
            r[col("drug1")] == *drug
                && r[col("drug2")] == *"SYNTHETIC INTERACTOR B"
                && r[col("event")] == *"RHABDOMYOLYSIS"
        })
        .expect("the planted itemset in the command's output");
    let f = |name: &str| row[col(name)].parse::<f64>().unwrap();
    assert_eq!(rows[0]["n111"].as_f64().unwrap(), f("n111"));
    assert_eq!(rows[0]["n11."].as_f64().unwrap(), f("n11."));
    assert_eq!(rows[0]["omega"].as_f64().unwrap(), f("omega"));
    assert_eq!(rows[0]["omega025"].as_f64().unwrap(), f("omega025"));
    // The number of itemsets the section ranks is the command's number of rows.
    let all = csv.lines().count() - 1;
    assert_eq!(section["itemsets"].as_u64().unwrap() as usize, all);

    // The HTML report carries the section and its note.
    ok(vigil!()
        .args(["report", "--store"])
        .arg(&store)
        .args(["--drug", drug, "--out"])
        .arg(dir.path().join("h")));
    let html = std::fs::read_to_string(dir.path().join("h/report.html")).unwrap();
    assert!(html.contains("<h2>Drug–drug interaction signals</h2>"));
    assert!(html.contains("not pharmacology"));
    assert!(html.contains("RHABDOMYOLYSIS"));
}
