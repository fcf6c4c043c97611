//! Times the two store-side steps of `vigil signals --store`: loading the reports and counting
//! the pairs, each with its wall and CPU seconds, and nothing else (no fit, no output), so that a
//! profiler sees only them.
//!
//!   cargo run --release -p vigil-store --example load_store -- STORE [COL,COL,...]
use std::time::Instant;

use vigil_store::count::{count_pairs, Margins};
use vigil_store::read::{load_reports_from, ReportQuery, Store};

/// CPU seconds (user + system, all threads) of this process: fields 14 and 15 of
/// `/proc/self/stat`, in clock ticks of USER_HZ = 100 per second (proc(5)).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rfind(')').map_or("", |i| &stat[i + 1..]);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|x| x.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let store = args.next().ok_or("usage: load_store STORE [COL,COL,...]")?;
    let stratify: Vec<String> = args
        .next()
        .map(|s| s.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let query = ReportQuery {
        stratify,
        ..ReportQuery::default()
    };
    let (t, c) = (Instant::now(), cpu_seconds());
    let store = Store::open(std::path::Path::new(&store))?;
    let loaded = load_reports_from(&store, &query)?;
    let set = &loaded.set;
    eprintln!(
        "load: {:.3} s (CPU {:.2} s): {} reports, {} drugs, {} events, {} strata, {} drug and {} event rows",
        t.elapsed().as_secs_f64(),
        cpu_seconds() - c,
        set.len(),
        set.drugs.len(),
        set.events.len(),
        set.strata.len(),
        set.drug_ids.len(),
        set.event_ids.len()
    );
    let (t, c) = (Instant::now(), cpu_seconds());
    let counts = count_pairs(set, Margins::Reports);
    let checksum: f64 = counts.expected.iter().sum();
    eprintln!(
        "count: {:.3} s (CPU {:.2} s): {} pairs, sum of a {}, sum of expected {checksum}",
        t.elapsed().as_secs_f64(),
        cpu_seconds() - c,
        counts.len(),
        counts.a.iter().sum::<f64>()
    );
    Ok(())
}
