//! Generates the synthetic, FAERS-shaped drug × event 2×2 table that `benchmarks/run.sh` times
//! `vigil signals` on. The data are random and labelled synthetic; only their shape is realistic:
//! Zipf-like drug and event frequencies (a few drugs and events carry most reports), most pairs
//! seen once, a long tail up to hundreds of thousands of reports, as in the measurements of
//! `shared/knowledge/rust-stack.md` §2 (12,742,772 pairs from 20 M reports; 61 % with a = 1).
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use arrow::array::{ArrayRef, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use clap::Parser;

/// Write a synthetic aggregated table `drug,event,a,b,c,d` as Parquet.
#[derive(Parser)]
struct Args {
    /// Number of distinct drug–event pairs.
    #[arg(long, default_value_t = 12_700_000)]
    pairs: usize,
    /// Number of reports (the table total n).
    #[arg(long, default_value_t = 20_000_000)]
    reports: u64,
    /// Random seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output Parquet file.
    #[arg(long)]
    out: PathBuf,
}

/// SplitMix64 (Steele, Lea & Flood 2014): a small, fast, well-mixed generator; good enough for
/// benchmark data and needs no dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

/// Columns drug, event, a, b, c, d of the 2×2 tables written, in the Parquet schema's order.
type PairColumns = (
    Vec<String>,
    Vec<String>,
    Vec<i64>,
    Vec<i64>,
    Vec<i64>,
    Vec<i64>,
);

fn main() -> Result<()> {
    let args = Args::parse();
    let mut rng = SplitMix64(args.seed);
    let n_drugs = (args.pairs / 300).max(10);
    let n_events = 20_000usize;
    // Zipf weights: drug d ∝ 1/(d+1)^0.9, event e ∝ 1/(e+1)^1.1.
    let dw: Vec<f64> = (0..n_drugs)
        .map(|d| 1.0 / ((d + 1) as f64).powf(0.9))
        .collect();
    let ew: Vec<f64> = (0..n_events)
        .map(|e| 1.0 / ((e + 1) as f64).powf(1.1))
        .collect();
    let (dsum, esum): (f64, f64) = (dw.iter().sum(), ew.iter().sum());
    // Reports per drug / event: each report has ~1.6 drugs and ~3.3 events on average.
    let n = args.reports as f64;
    let n_drug: Vec<u64> = dw
        .iter()
        .map(|w| ((1.6 * n * w / dsum).round() as u64).max(1))
        .collect();
    let n_event: Vec<u64> = ew
        .iter()
        .map(|w| ((3.3 * n * w / esum).round() as u64).max(1))
        .collect();
    // Pairs per drug, proportional to its weight, capped at the number of events.
    let mut k: Vec<usize> = dw
        .iter()
        .map(|w| ((args.pairs as f64 * w / dsum) as usize).clamp(1, n_events))
        .collect();
    let mut total: usize = k.iter().sum();
    let mut d = 0;
    while total < args.pairs {
        if k[d] < n_events {
            k[d] += 1;
            total += 1;
        }
        d = (d + 1) % n_drugs;
    }
    while total > args.pairs {
        if k[d] > 1 {
            k[d] -= 1;
            total -= 1;
        }
        d = (d + 1) % n_drugs;
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("drug", DataType::Utf8, false),
        Field::new("event", DataType::Utf8, false),
        Field::new("a", DataType::Int64, false),
        Field::new("b", DataType::Int64, false),
        Field::new("c", DataType::Int64, false),
        Field::new("d", DataType::Int64, false),
    ]));
    let file = std::fs::File::create(&args.out)?;
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema.clone(), None)?;
    let mut cols: PairColumns = Default::default();
    // 7919 is prime and does not divide 20,000, so start + j·7919 (mod 20,000) visits distinct events.
    for drug in 0..n_drugs {
        let start = (rng.next_u64() % n_events as u64) as usize;
        for j in 0..k[drug] {
            // Events are visited in Zipf order from a random offset, so frequent events pair often.
            let event = (start + j * 7919) % n_events;
            let expected = n_drug[drug] as f64 * n_event[event] as f64 / n;
            // Reporting ratio: log-normal around 1; counts ≥ 1 (only observed pairs are listed).
            let rr = (0.8
                * (-2.0 * rng.uniform().ln()).sqrt()
                * (std::f64::consts::TAU * rng.uniform()).cos())
            .exp();
            let mean = (expected * rr).max(1e-9);
            // 1 + geometric with the given mean above 1.
            let extra = if mean > 1.0 {
                (-(mean - 1.0) * rng.uniform().ln()).floor()
            } else {
                0.0
            };
            let cap = n_drug[drug].min(n_event[event]);
            let a = ((1.0 + extra) as u64).min(cap).max(1);
            let (nd, ne) = (n_drug[drug].max(a), n_event[event].max(a));
            cols.0.push(format!("D{drug:06}"));
            cols.1.push(format!("E{event:05}"));
            cols.2.push(a as i64);
            cols.3.push((nd - a) as i64);
            cols.4.push((ne - a) as i64);
            cols.5.push((args.reports - nd - ne + a) as i64);
            if cols.0.len() == 1 << 20 {
                flush(&mut writer, &schema, &mut cols)?;
            }
        }
    }
    flush(&mut writer, &schema, &mut cols)?;
    writer.close()?;
    eprintln!(
        "wrote {} pairs ({} drugs, {} events, n = {}) to {}",
        args.pairs,
        n_drugs,
        n_events,
        args.reports,
        args.out.display()
    );
    Ok(())
}

type Columns = (
    Vec<String>,
    Vec<String>,
    Vec<i64>,
    Vec<i64>,
    Vec<i64>,
    Vec<i64>,
);

fn flush(
    writer: &mut parquet::arrow::ArrowWriter<std::fs::File>,
    schema: &Arc<Schema>,
    c: &mut Columns,
) -> Result<()> {
    if c.0.is_empty() {
        return Ok(());
    }
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(std::mem::take(&mut c.0))),
        Arc::new(StringArray::from(std::mem::take(&mut c.1))),
        Arc::new(Int64Array::from(std::mem::take(&mut c.2))),
        Arc::new(Int64Array::from(std::mem::take(&mut c.3))),
        Arc::new(Int64Array::from(std::mem::take(&mut c.4))),
        Arc::new(Int64Array::from(std::mem::take(&mut c.5))),
    ];
    writer.write(&RecordBatch::try_new(schema.clone(), arrays)?)?;
    Ok(())
}
