//! Generates the report-level benchmark input of `benchmarks/rows/run.sh`: `id,drug,event` rows
//! shaped like real FAERS primary-suspect data. The drug and event names, and the distribution of
//! reports per pair, are those of a real aggregated table (FAERS 2023, US, primary suspect:
//! `anydrug_2023.parquet` beside the repository, read at run time and never copied); which pairs
//! are kept and how rows are grouped into reports is random and synthetic. Defaults: 496,312 rows
//! over 111,118 pairs, the size of the report-level example of issue 17.
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use arrow::array::{Array, Int64Array, StringArray};
use arrow::datatypes::DataType;
use clap::Parser;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// Write report-level rows `id,drug,event` as CSV.
#[derive(Parser)]
struct Args {
    /// The aggregated table whose names and pair counts are sampled (columns ingredient_std,
    /// reaction_pt, a).
    #[arg(long)]
    table: PathBuf,
    /// Distinct drug–event pairs to keep.
    #[arg(long, default_value_t = 111_118)]
    pairs: usize,
    /// Rows to write.
    #[arg(long, default_value_t = 496_312)]
    rows: usize,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output CSV file.
    #[arg(long)]
    out: PathBuf,
}

/// SplitMix64 (Steele, Lea & Flood 2014), as in the table generator.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    let file = std::fs::File::open(&args.table)
        .with_context(|| format!("{}: cannot open", args.table.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
    let (mut drugs, mut events, mut counts) = (Vec::new(), Vec::new(), Vec::new());
    for batch in reader {
        let batch = batch?;
        let column = |name: &str| {
            batch
                .column_by_name(name)
                .with_context(|| format!("no column {name}"))
        };
        let d = arrow::compute::cast(column("ingredient_std")?, &DataType::Utf8)?;
        let e = arrow::compute::cast(column("reaction_pt")?, &DataType::Utf8)?;
        let a = arrow::compute::cast(column("a")?, &DataType::Int64)?;
        let d = d.as_any().downcast_ref::<StringArray>().expect("utf8");
        let e = e.as_any().downcast_ref::<StringArray>().expect("utf8");
        let a = a.as_any().downcast_ref::<Int64Array>().expect("int64");
        for i in 0..batch.num_rows() {
            drugs.push(d.value(i).to_owned());
            events.push(e.value(i).to_owned());
            counts.push(a.value(i).max(1) as usize);
        }
    }
    if args.pairs > counts.len() || args.rows < args.pairs {
        bail!("need pairs ≤ {} and rows ≥ pairs", counts.len());
    }
    let mut rng = SplitMix64(args.seed);
    // A random subset of the pairs (partial Fisher–Yates), in table order.
    let mut order: Vec<usize> = (0..counts.len()).collect();
    for i in 0..args.pairs {
        let j = i + rng.below(order.len() - i);
        order.swap(i, j);
    }
    let mut kept: Vec<usize> = order[..args.pairs].to_vec();
    kept.sort_unstable();
    // Rows per pair: 1 + (a − 1)·s, s found by bisection so that the total is the row count; the
    // shape of the real count distribution (most pairs seen once, a long tail) is kept.
    let rows_at = |s: f64| -> Vec<usize> {
        kept.iter()
            .map(|&i| 1 + ((counts[i] - 1) as f64 * s) as usize)
            .collect()
    };
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while rows_at(hi).iter().sum::<usize>() < args.rows {
        hi *= 2.0;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if rows_at(mid).iter().sum::<usize>() < args.rows {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let mut per_pair = rows_at(lo);
    let mut short = args.rows - per_pair.iter().sum::<usize>();
    let mut k = 0;
    while short > 0 {
        let len = per_pair.len();
        per_pair[k % len] += 1;
        short -= 1;
        k += 1;
    }
    // Reports: each drug's pairs are spread round-robin over its reports, about three events per
    // report (FAERS averages about three PTs per report), and never one pair twice in a report.
    let mut by_drug: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
    let mut drug_order: Vec<&str> = Vec::new();
    for (p, &i) in kept.iter().enumerate() {
        let v = by_drug.entry(drugs[i].as_str()).or_insert_with(|| {
            drug_order.push(drugs[i].as_str());
            Vec::new()
        });
        v.push((i, per_pair[p]));
    }
    let mut reports: Vec<Vec<(usize, usize)>> = Vec::new();
    for d in &drug_order {
        let pairs = &by_drug[d];
        let total: usize = pairs.iter().map(|p| p.1).sum();
        let largest = pairs.iter().map(|p| p.1).max().unwrap_or(1);
        let m = largest.max(total.div_ceil(3));
        let first = reports.len();
        reports.resize(first + m, Vec::new());
        let mut cursor = 0;
        for &(i, r) in pairs {
            for _ in 0..r {
                reports[first + cursor % m].push((i, 0));
                cursor += 1;
            }
        }
    }
    reports.retain(|r| !r.is_empty());
    // Shuffle the reports, then number them as FAERS primaryids (nine digits).
    for i in (1..reports.len()).rev() {
        let j = rng.below(i + 1);
        reports.swap(i, j);
    }
    let out = std::fs::File::create(&args.out)?;
    let mut w = std::io::BufWriter::new(out);
    writeln!(w, "id,drug,event")?;
    let mut written = 0;
    for (r, rows) in reports.iter().enumerate() {
        let id = 200_000_000 + 7 * r as u64;
        for &(i, _) in rows {
            writeln!(w, "{id},{},{}", field(&drugs[i]), field(&events[i]))?;
            written += 1;
        }
    }
    w.flush()?;
    eprintln!(
        "{}: {written} rows, {} pairs, {} reports",
        args.out.display(),
        args.pairs,
        reports.len()
    );
    Ok(())
}
