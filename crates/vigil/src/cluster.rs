//! `--cluster df://HOST:PORT`: hands an `interactions` or `signals` job to the `vigil-cluster`
//! binary (crates/vigil-cluster, built separately: it embeds Apache DataFusion Ballista, which
//! this binary never links), then prints its result in the format asked for.
//!
//! The two binaries exchange files only: `vigil-cluster run-… --out F.parquet` writes the rows
//! with the columns of the local command's Parquet output, and this module reads them back.
//! Rows come sorted by names (the local run writes them in id order); the table format is drawn
//! by the local commands' own writers, which sort both alike.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::args::{value_name, DateFieldArg, MarginsArg};
use vigil_stats::omega::{Omega, OmegaCounts};
use vigil_stats::score::PairScores;
use vigil_stats::table::ContingencyTable;

use crate::cmd::interactions::{self, Row as InteractionRow, COLUMNS as INTERACTION_COLUMNS};
use crate::cmd::signals::{
    self, Decision, Format, ScoredTable, COLUMNS as SIGNAL_COLUMNS, FDR_START,
};
use crate::output::{csv_number, json_number, with_output};

/// Which job to run on the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    /// `vigil interactions`.
    Interactions,
    /// `vigil signals`.
    Signals,
}

impl Job {
    fn subcommand(self) -> &'static str {
        match self {
            Job::Interactions => "run-interactions",
            Job::Signals => "run-signals",
        }
    }
}

/// A job for the cluster, with the options both commands share.
#[derive(Debug)]
pub struct ClusterJob<'a> {
    /// Which job.
    pub job: Job,
    /// `df://HOST:PORT` of the scheduler.
    pub scheduler: &'a str,
    /// The store (the executors must be able to read it at this path).
    pub store: &'a Path,
    /// `--drug`.
    pub drug: Option<&'a str>,
    /// `--event`.
    pub event: Option<&'a str>,
    /// `--role`, as spelled on the command line (`ps,ss,i`, `suspect`, …).
    pub role: String,
    /// `--min-count`.
    pub min_count: u64,
    /// `--stratify`.
    pub stratify: &'a [String],
    /// `--format`.
    pub format: Format,
    /// `--out`.
    pub out: Option<&'a Path>,
}

/// Name of the cluster binary.
const BINARY: &str = "vigil-cluster";

/// The `vigil-cluster` binary: beside this executable, else on PATH.
fn find_binary() -> Result<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(BINARY)));
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join(BINARY));
    beside
        .into_iter()
        .chain(on_path)
        .find(|p| p.is_file())
        .with_context(|| {
            "--cluster needs the vigil-cluster binary beside vigil or on PATH, and it is not there; build it with `cargo build --release --manifest-path crates/vigil-cluster/Cargo.toml` (docs/cluster.md) and copy crates/vigil-cluster/target/release/vigil-cluster next to vigil"
        })
}

/// `vigil interactions --cluster`.
pub fn interactions(args: &crate::cmd::interactions::Args, scheduler: &str) -> Result<()> {
    run(&ClusterJob {
        job: Job::Interactions,
        scheduler,
        store: &args.store,
        drug: args.drug.as_deref(),
        event: args.event.as_deref(),
        role: value_name(&args.role),
        min_count: args.min_count,
        stratify: &args.stratify,
        format: args.format,
        out: args.out.as_deref(),
    })
}

/// `vigil signals --cluster`: the options of a store-based run with report margins and a fitted
/// prior; the others are refused by name.
pub fn signals(args: &crate::cmd::signals::Args, scheduler: &str) -> Result<()> {
    let unsupported = [
        ("--counts", args.counts.is_some()),
        ("--since", args.since.is_some()),
        ("--until", args.until.is_some()),
        ("--date-field event", args.date_field != DateFieldArg::Fda),
        ("--indication", args.indication.is_some()),
        ("--exclude-drug", !args.exclude_drug.is_empty()),
        ("--margins pairs", args.margins == MarginsArg::Pairs),
        ("--prior", args.prior.is_some()),
        ("--fit-only", args.fit_only),
        ("--squash", args.squash),
        ("--zeros", args.zeros),
        ("--decision fdr:Q", args.decision != Decision::Thresholds),
        (
            "--event-level, --drug-level and the other grouping options",
            !args.terms.is_default(),
        ),
    ];
    if let Some((flag, _)) = unsupported.iter().find(|(_, given)| *given) {
        bail!("{flag} is not available with --cluster (docs/cluster.md lists what a cluster run takes)");
    }
    let Some(store) = args.store.as_deref() else {
        bail!("--cluster needs --store DIR");
    };
    run(&ClusterJob {
        job: Job::Signals,
        scheduler,
        store,
        drug: args.drug.as_deref(),
        event: args.event.as_deref(),
        role: value_name(&args.role),
        min_count: args.min_count,
        stratify: &args.stratify,
        format: args.format,
        out: args.out.as_deref(),
    })
}

/// Runs `job` on the cluster and writes its rows like the local command.
pub fn run(job: &ClusterJob) -> Result<()> {
    if !job.scheduler.starts_with("df://") {
        bail!(
            "--cluster {:?}: expected df://HOST:PORT (the scheduler's address)",
            job.scheduler
        );
    }
    if job.format == Format::Parquet && job.out.is_none() {
        bail!("--format parquet needs --out FILE");
    }
    let binary = find_binary()?;
    let result = std::env::temp_dir().join(format!(
        "vigil-cluster-result-{}-{}.parquet",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    let mut cmd = Command::new(&binary);
    cmd.arg(job.job.subcommand())
        .arg("--scheduler")
        .arg(job.scheduler)
        .arg("--store")
        .arg(job.store)
        .arg("--role")
        .arg(&job.role)
        .arg("--min-count")
        .arg(job.min_count.to_string())
        .arg("--out")
        .arg(&result);
    if let Some(d) = job.drug {
        cmd.arg("--drug").arg(d);
    }
    if let Some(e) = job.event {
        cmd.arg("--event").arg(e);
    }
    if !job.stratify.is_empty() {
        cmd.arg("--stratify").arg(job.stratify.join(","));
    }
    // Its warnings and errors go straight to our standard error.
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("{}: cannot start", binary.display()))?;
    let written = (|| {
        if !status.success() {
            bail!(
                "the cluster job failed ({} exited with {status}; its message is above)",
                binary.display()
            );
        }
        write_result(job, &result)
    })();
    let _ = std::fs::remove_file(&result);
    written
}

/// Reads the cluster's Parquet result.
fn read_result(path: &Path) -> Result<Vec<RecordBatch>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("{}: the cluster wrote no result", path.display()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .with_context(|| format!("{}: not a Parquet file", path.display()))?
        .build()?;
    Ok(reader.collect::<Result<Vec<_>, _>>()?)
}

/// One cell of a result row.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Text(String),
    Count(i64),
    Number(f64),
    Flag(bool),
}

impl Cell {
    fn number(&self) -> f64 {
        match self {
            Cell::Count(n) => *n as f64,
            Cell::Number(x) => *x,
            _ => f64::NAN,
        }
    }
    fn text(&self) -> &str {
        match self {
            Cell::Text(s) => s,
            _ => "",
        }
    }
}

/// The result as named rows.
fn rows(batches: &[RecordBatch]) -> Result<(Vec<String>, Vec<Vec<Cell>>)> {
    let Some(first) = batches.first() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let names: Vec<String> = first
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut out = Vec::new();
    for b in batches {
        for i in 0..b.num_rows() {
            let mut row = Vec::with_capacity(b.num_columns());
            for c in b.columns() {
                row.push(match c.data_type() {
                    DataType::Utf8 => Cell::Text(c.as_string::<i32>().value(i).to_owned()),
                    DataType::Int64 => Cell::Count(c.as_primitive::<Int64Type>().value(i)),
                    DataType::Float64 => Cell::Number(c.as_primitive::<Float64Type>().value(i)),
                    DataType::Boolean => Cell::Flag(c.as_boolean().value(i)),
                    other => bail!("the cluster's result has a column of type {other}"),
                });
                if c.is_null(i) {
                    bail!("the cluster's result has a null cell");
                }
            }
            out.push(row);
        }
    }
    Ok((names, out))
}

fn write_result(job: &ClusterJob, path: &Path) -> Result<()> {
    if job.format == Format::Parquet {
        // Already the local command's columns: copied into place (atomically, as locally).
        let bytes = std::fs::read(path)?;
        return with_output(job.out, |w| Ok(w.write_all(&bytes)?));
    }
    let batches = read_result(path)?;
    // An empty result has no batch; the header still names the columns.
    let (names, rows) = rows(&batches)?;
    let names = if names.is_empty() {
        let file = std::fs::File::open(path)?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
        builder
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    } else {
        names
    };
    with_output(job.out, |w| match job.format {
        Format::Csv => {
            let mut c = csv::Writer::from_writer(w);
            c.write_record(&names)?;
            for r in &rows {
                c.write_record(r.iter().map(|cell| match cell {
                    Cell::Text(s) => s.clone(),
                    Cell::Count(n) => csv_number(*n as f64),
                    Cell::Number(x) => csv_number(*x),
                    Cell::Flag(b) => b.to_string(),
                }))?;
            }
            Ok(c.flush()?)
        }
        Format::Json => {
            w.write_all(b"[")?;
            for (k, r) in rows.iter().enumerate() {
                let mut m = serde_json::Map::new();
                for (name, cell) in names.iter().zip(r) {
                    let v = match cell {
                        Cell::Text(s) => s.clone().into(),
                        Cell::Flag(b) => (*b).into(),
                        // Counts print as the local commands print them (numbers, e.g. 3.0).
                        other => json_number(other.number()),
                    };
                    m.insert(name.clone(), v);
                }
                w.write_all(if k == 0 { b"\n  " } else { b",\n  " })?;
                serde_json::to_writer(&mut *w, &serde_json::Value::Object(m))?;
            }
            Ok(w.write_all(b"\n]\n")?)
        }
        // The local commands' own table writers, on the result read back into their row types.
        Format::Table => {
            let text = match job.job {
                Job::Interactions => interactions::render_table(interaction_rows(&names, &rows)?),
                Job::Signals => signals::render_table(&scored_table(&names, &rows)?),
            };
            Ok(w.write_all(text.as_bytes())?)
        }
        Format::Parquet => unreachable!("copied above"),
    })
}

fn index(names: &[String], wanted: &[&str]) -> Result<Vec<usize>> {
    wanted
        .iter()
        .map(|w| {
            names
                .iter()
                .position(|n| n == w)
                .with_context(|| format!("the cluster's result has no column {w}"))
        })
        .collect()
}

/// The cluster's `interactions` rows as the local command's rows (its Parquet columns,
/// `interactions::COLUMNS`), so that the local table writer draws them.
fn interaction_rows(names: &[String], rows: &[Vec<Cell>]) -> Result<Vec<InteractionRow>> {
    let c = index(names, &INTERACTION_COLUMNS)?;
    Ok(rows
        .iter()
        .map(|r| {
            let n = |k: usize| r[c[k]].number();
            InteractionRow {
                drug1: r[c[0]].text().to_owned(),
                drug2: r[c[1]].text().to_owned(),
                event: r[c[2]].text().to_owned(),
                counts: OmegaCounts {
                    n111: n(3),
                    n11x: n(4),
                    n1x1: n(5),
                    nx11: n(6),
                    n1xx: n(7),
                    nx1x: n(8),
                    nxx1: n(9),
                    nxxx: n(10),
                },
                omega: Omega {
                    expected: n(11),
                    observed_expected: n(12),
                    omega: n(13),
                    omega025: n(14),
                    omega975: n(15),
                },
            }
        })
        .collect())
}

/// The cluster's `signals` rows as the local command's scored table (its Parquet columns,
/// `signals::COLUMNS`), so that the local table writer draws them.
fn scored_table(names: &[String], rows: &[Vec<Cell>]) -> Result<ScoredTable> {
    let c = index(names, &SIGNAL_COLUMNS)?;
    let mut table = ScoredTable {
        drug: Vec::with_capacity(rows.len()),
        event: Vec::with_capacity(rows.len()),
        scores: Vec::with_capacity(rows.len()),
        fdr: Vec::with_capacity(rows.len()),
    };
    for r in rows {
        let n = |k: usize| r[c[k]].number();
        let flag = |k: usize| r[c[k]] == Cell::Flag(true);
        table.drug.push(r[c[0]].text().to_owned());
        table.event.push(r[c[1]].text().to_owned());
        // Columns 6–8 (n_drug, n_event, n_total) are sums of the four cells.
        table.scores.push(PairScores {
            table: ContingencyTable {
                a: n(2),
                b: n(3),
                c: n(4),
                d: n(5),
            },
            expected: n(9),
            prr: n(10),
            prr_lower: n(11),
            prr_upper: n(12),
            chi2_yates: n(13),
            ror: n(14),
            ror_lower: n(15),
            ror_upper: n(16),
            ic: n(17),
            ic025: n(18),
            ic975: n(19),
            bcpnn_ic: n(20),
            bcpnn_ic025: n(21),
            ebgm: n(22),
            eb05: n(23),
            eb95: n(24),
            signal_prr: flag(25),
            signal_ror: flag(26),
            signal_ic: flag(27),
            signal_ebgm: flag(28),
        });
        table.fdr.push(std::array::from_fn(|k| n(FDR_START + k)));
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_the_local_commands_print_them() {
        // The local CSV writers format every count and score with `{}` on an f64.
        assert_eq!(csv_number(3.0), "3");
        assert_eq!(csv_number(0.125), "0.125");
        assert_eq!(csv_number(f64::INFINITY), "Inf");
        assert_eq!(csv_number(f64::NEG_INFINITY), "-Inf");
        assert_eq!(csv_number(f64::NAN), "NaN");
    }

    #[test]
    fn a_scheduler_address_without_df_is_refused() {
        let err = run(&ClusterJob {
            job: Job::Interactions,
            scheduler: "127.0.0.1:50050",
            store: Path::new("store"),
            drug: None,
            event: None,
            role: "ps,ss,i".into(),
            min_count: 3,
            stratify: &[],
            format: Format::Csv,
            out: None,
        })
        .unwrap_err();
        assert!(err.to_string().contains("expected df://HOST:PORT"), "{err}");
    }
}
