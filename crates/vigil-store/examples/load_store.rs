//! Times the two store-side steps of `vigil signals --store`: loading the reports and counting
//! the pairs, each with its wall and CPU seconds, and nothing else (no fit, no output), so that a
//! profiler sees only them. With `--limits` it measures instead what bounds the load from below
//! on this machine: reading the bytes of the column chunks the loader needs, and decoding those
//! columns into Arrow arrays (text as dictionaries), both on all cores and with no other work.
//!
//!   cargo run --release -p vigil-store --example load_store -- STORE [COL,COL,...] [--limits]
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::{DataType, Schema};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder,
};
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;

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

/// The files and columns the loader reads: (file, columns, of which text).
fn needed(store: &Store, stratify: &[String]) -> Vec<(PathBuf, Vec<String>)> {
    let mut reports = vec!["primaryid".to_owned(), "batch".to_owned()];
    reports.extend(stratify.iter().cloned());
    let mut out = vec![(store.dir.join("reports.parquet"), reports)];
    for (dir, cols) in [
        ("drugs", &["primaryid", "role_cod", "ingredient"][..]),
        ("reactions", &["primaryid", "pt"][..]),
    ] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(store.dir.join(dir))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        for f in files {
            out.push((f, cols.iter().map(|c| (*c).to_owned()).collect()));
        }
    }
    out
}

/// (file, row group, byte ranges of the needed column chunks) of every row group.
type GroupTask = (PathBuf, usize, Vec<(u64, u64)>);

fn group_tasks(
    files: &[(PathBuf, Vec<String>)],
) -> Result<Vec<GroupTask>, Box<dyn std::error::Error>> {
    let mut tasks = Vec::new();
    for (path, cols) in files {
        let meta = ArrowReaderMetadata::load(&File::open(path)?, Default::default())?;
        for (g, rg) in meta.metadata().row_groups().iter().enumerate() {
            let ranges = rg
                .columns()
                .iter()
                .filter(|c| cols.iter().any(|n| *n == c.column_path().string()))
                .map(|c| {
                    let (start, len) = c.byte_range();
                    (start, len)
                })
                .collect();
            tasks.push((path.clone(), g, ranges));
        }
    }
    Ok(tasks)
}

/// Reads the byte ranges of every task on all cores; returns the bytes read.
fn read_bytes(tasks: &[GroupTask]) -> u64 {
    tasks
        .par_iter()
        .map(|(path, _, ranges)| {
            let mut f = File::open(path).expect("store file");
            let mut buf = Vec::new();
            let mut n = 0;
            for &(start, len) in ranges {
                buf.resize(len as usize, 0);
                f.seek(SeekFrom::Start(start)).expect("seek");
                f.read_exact(&mut buf).expect("read");
                n += len;
            }
            n
        })
        .sum()
}

/// Decodes the needed columns of every row group (text as dictionaries, as the loader reads
/// them) on all cores; returns the rows decoded.
fn decode(files: &[(PathBuf, Vec<String>)], tasks: &[GroupTask]) -> usize {
    tasks
        .par_iter()
        .map(|(path, g, _)| {
            let cols = &files.iter().find(|(p, _)| p == path).expect("listed").1;
            let plain =
                ArrowReaderMetadata::load(&File::open(path).expect("file"), Default::default())
                    .expect("metadata");
            let fields: Vec<_> = plain
                .schema()
                .fields()
                .iter()
                .map(|f| {
                    let dict = f.data_type() == &DataType::Utf8 && cols.contains(f.name());
                    let t = if dict {
                        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
                    } else {
                        f.data_type().clone()
                    };
                    f.as_ref().clone().with_data_type(t)
                })
                .collect();
            let options = ArrowReaderOptions::new().with_schema(Arc::new(Schema::new(fields)));
            let meta =
                ArrowReaderMetadata::try_new(plain.metadata().clone(), options).expect("schema");
            let builder = ParquetRecordBatchReaderBuilder::new_with_metadata(
                File::open(path).expect("file"),
                meta,
            );
            let idx: Vec<usize> = cols
                .iter()
                .filter_map(|c| builder.schema().index_of(c).ok())
                .collect();
            let mask = ProjectionMask::roots(builder.parquet_schema(), idx);
            let reader = builder
                .with_projection(mask)
                .with_row_groups(vec![*g])
                .with_batch_size(16 * 1024)
                .build()
                .expect("reader");
            reader
                .map(|rb| rb.expect("batch").num_rows())
                .sum::<usize>()
        })
        .sum()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let limits = args.iter().any(|a| a == "--limits");
    let mut args = args.into_iter().filter(|a| a != "--limits");
    let store = args
        .next()
        .ok_or("usage: load_store STORE [COL,COL,...] [--limits]")?;
    let stratify: Vec<String> = args
        .next()
        .map(|s| s.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    if limits {
        let opened = Store::open(Path::new(&store))?;
        let files = needed(&opened, &stratify);
        let tasks = group_tasks(&files)?;
        let (t, c) = (Instant::now(), cpu_seconds());
        let bytes = read_bytes(&tasks);
        eprintln!(
            "limit, reading the needed column chunks: {:.3} s (CPU {:.2} s): {:.0} MB in {} row groups",
            t.elapsed().as_secs_f64(),
            cpu_seconds() - c,
            bytes as f64 / 1e6,
            tasks.len()
        );
        let (t, c) = (Instant::now(), cpu_seconds());
        let rows = decode(&files, &tasks);
        eprintln!(
            "limit, decoding the needed columns: {:.3} s (CPU {:.2} s): {rows} rows",
            t.elapsed().as_secs_f64(),
            cpu_seconds() - c
        );
        return Ok(());
    }
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
