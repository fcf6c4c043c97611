//! `vigil interactions`: drug–drug interaction signals (Ω) over every (drug 1, drug 2, event)
//! itemset of a store. Counting is `vigil_store::interactions`, the measure `vigil_stats::omega`;
//! this module parses the arguments and writes the rows.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use vigil_stats::omega::{omega_stratified, Omega, OmegaCounts, OmegaError};
use vigil_store::interactions::{count_itemsets, InteractionOptions, ItemsetBatch};
use vigil_store::read::{load_report_set_from, ReportQuery, Store};

use super::signals::Format;
use crate::args::{value_name, RoleArg};
use crate::output::parquet::{write_parquet, ColumnEncoder};
use crate::output::{csv_number as fmt_num, json_number, with_output};

/// Drug–drug interaction signals: Ω (Norén et al. 2008) for every (drug 1, drug 2, event).
///
/// Examples:
///   vigil interactions --store faers-store --min-count 3 --format parquet --out interactions.parquet
///   vigil interactions --store faers-store --drug DUPILUMAB --min-count 3
///   vigil interactions --store faers-store --event 'RHABDOMYOLYSIS' --stratify sex,age_group --format csv
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// A store written by `vigil ingest`.
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// Only itemsets of this drug (as drug 1 or drug 2; case-insensitive ingredient).
    #[arg(long, value_name = "NAME")]
    pub drug: Option<String>,
    /// Only itemsets of this event (MedDRA PT, case-insensitive).
    #[arg(long, value_name = "PT")]
    pub event: Option<String>,
    /// Only itemsets with at least this many reports of both drugs and the event (n111). Applied
    /// while counting, partition by partition.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub min_count: u64,
    /// Drug roles counted as exposure: `ps,ss,i` (suspect or interacting, as the Uppsala Monitoring
    /// Centre screens interactions), `suspect` (ps,ss), `ps` or `all`.
    #[arg(long, value_enum, ignore_case = true, default_value_t = RoleArg::SuspectOrInteracting,
          value_name = "ps,ss,i|suspect|ps|all")]
    pub role: RoleArg,
    /// Reports-table columns whose combined values define strata for the expected count
    /// E111 = Σ_s g11,s·n11.,s (e.g. `sex,age_group`).
    #[arg(long, value_delimiter = ',', value_name = "COL,...")]
    pub stratify: Vec<String>,
    /// Output format (`table` sorts by Ω025 and holds every row in memory; the others stream).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Output file (default, or `-`: standard output), written to a temporary file and renamed.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Itemset occurrences counted per partition (8 bytes each): the memory bound of the count.
    #[arg(long, default_value_t = 1 << 25, value_name = "N", hide = true)]
    pub partition_keys: usize,
    /// Run on an Apache Ballista cluster (its scheduler's address) through the vigil-cluster
    /// binary; the store must be readable by every executor at the same path (docs/cluster.md).
    #[arg(long, value_name = "df://HOST:PORT")]
    pub cluster: Option<String>,
}

/// The output columns (count names as in Norén et al. 2008 and UMC's pvOmega).
pub const COLUMNS: [&str; 17] = [
    "drug1",
    "drug2",
    "event",
    "n111",
    "n11.",
    "n1.1",
    "n.11",
    "n1..",
    "n.1.",
    "n..1",
    "n...",
    "expected",
    "observed_expected",
    "omega",
    "omega025",
    "omega975",
    "signal_omega",
];

/// One output row.
pub(crate) struct Row {
    pub(crate) drug1: String,
    pub(crate) drug2: String,
    pub(crate) event: String,
    pub(crate) counts: OmegaCounts,
    pub(crate) omega: Omega,
}

impl Row {
    fn numbers(&self) -> [f64; 13] {
        let c = &self.counts;
        let o = &self.omega;
        [
            c.n111,
            c.n11x,
            c.n1x1,
            c.nx11,
            c.n1xx,
            c.nx1x,
            c.nxx1,
            c.nxxx,
            o.expected,
            o.observed_expected,
            o.omega,
            o.omega025,
            o.omega975,
        ]
    }
    fn signal(&self) -> bool {
        self.omega.omega025 > 0.0
    }
}

/// Rows of one partition: names ordered so that drug1 < drug2, Ω from the per-stratum counts.
/// Itemsets without a baseline (a stratum with no report of drug 1 without drug 2, …) are counted
/// in `no_baseline` and left out; inconsistent counts are an error naming the itemset.
fn score_batch(
    batch: &ItemsetBatch,
    drugs: &[String],
    events: &[String],
    no_baseline: &mut u64,
) -> Result<Vec<Row>> {
    let mut rows = Vec::with_capacity(batch.len());
    for i in 0..batch.len() {
        let (mut d1, mut d2) = (
            &drugs[batch.drug1[i] as usize],
            &drugs[batch.drug2[i] as usize],
        );
        let mut counts = batch.total[i];
        if d1 > d2 {
            // Ω is symmetric in the two drugs; only the margins swap.
            std::mem::swap(&mut d1, &mut d2);
            std::mem::swap(&mut counts.n1x1, &mut counts.nx11);
            std::mem::swap(&mut counts.n1xx, &mut counts.nx1x);
        }
        let event = &events[batch.event[i] as usize];
        let omega = match omega_stratified(batch.strata_of(i)) {
            Ok(o) => o,
            Err(OmegaError::EmptyStratum { .. }) => {
                *no_baseline += 1;
                continue;
            }
            Err(e) => bail!("itemset ({d1}, {d2}, {event}): {e}"),
        };
        rows.push(Row {
            drug1: d1.clone(),
            drug2: d2.clone(),
            event: event.clone(),
            counts,
            omega,
        });
    }
    Ok(rows)
}

/// Run `vigil interactions`.
pub fn run(args: Args) -> Result<()> {
    if let Some(scheduler) = &args.cluster {
        return crate::cluster::interactions(&args, scheduler);
    }
    if args.format == Format::Parquet && args.out.is_none() {
        bail!("--format parquet needs --out FILE");
    }
    let read_phase = crate::timing::phase("read store");
    let query = ReportQuery {
        role: args.role.into(),
        stratify: args.stratify.clone(),
        ..ReportQuery::default()
    };
    let role = value_name(&args.role);
    let set = Store::open(&args.store)
        .and_then(|store| load_report_set_from(&store, &query))
        .with_context(|| format!("{}: reading the store", args.store.display()))?;
    if set.is_empty() {
        bail!(
            "{}: no report with a drug of the roles {} and an event",
            args.store.display(),
            role
        );
    }
    drop(read_phase);
    let find = |names: &[String], wanted: &Option<String>, what: &str| -> Result<Option<u32>> {
        let Some(w) = wanted else { return Ok(None) };
        let upper = w.to_uppercase();
        names
            .iter()
            .position(|n| n.to_uppercase() == upper)
            .map(|i| Some(i as u32))
            .ok_or_else(|| {
                anyhow!(
                    "{}: {what} {w:?} is not in the store's reports (roles {})",
                    args.store.display(),
                    role
                )
            })
    };
    let drugs = set.drugs.names().to_vec();
    let events = set.events.names().to_vec();
    let options = InteractionOptions {
        min_count: args.min_count,
        drug: find(&drugs, &args.drug, "drug")?,
        event: find(&events, &args.event, "event")?,
        partition_keys: args.partition_keys.max(1),
    };
    let _count_phase = crate::timing::phase("count and score itemsets");
    let mut no_baseline = 0u64;
    let mut summary = None;
    let mut count_into = |out: &mut Output<'_>| -> Result<()> {
        summary = Some(count_itemsets::<anyhow::Error>(&set, &options, |batch| {
            let rows = score_batch(&batch, &drugs, &events, &mut no_baseline)?;
            out.write(rows)
        })?);
        Ok(())
    };
    with_output(args.out.as_deref(), |w| match args.format {
        // Parquet: every column of a batch encoded on its own task (crate::output::parquet).
        Format::Parquet => {
            let props = parquet::file::properties::WriterProperties::builder()
                .set_compression(parquet::basic::Compression::SNAPPY)
                .build();
            write_parquet(w, parquet_schema(), props, |encoder| {
                count_into(&mut Output::Parquet(encoder))
            })
        }
        format => {
            let mut out = Output::new(format, w)?;
            count_into(&mut out)?;
            out.finish()
        }
    })?;
    let summary = summary.expect("set by the writer");
    if std::env::var_os("VIGIL_TIMINGS").is_some() {
        eprintln!(
            "vigil: interactions: {} reports, {} itemset occurrences, {} distinct itemsets, {} with n111 ≥ {}, {} partitions (largest {} keys)",
            set.len(),
            summary.occurrences,
            summary.distinct_itemsets,
            summary.kept_itemsets,
            args.min_count,
            summary.partitions,
            summary.largest_partition_keys
        );
    }
    if no_baseline > 0 {
        eprintln!(
            "vigil: warning: {no_baseline} itemsets left out: no baseline rate (a stratum where every report of one drug also lists the other, or every report lists one of them; docs/interactions.md)"
        );
    }
    Ok(())
}

/// The Arrow schema of the Parquet output: the names as text, the counts as integers, the
/// measures as floats, the signal flag as a boolean; no column is nullable.
fn parquet_schema() -> Arc<Schema> {
    let mut fields: Vec<Field> = COLUMNS[..3]
        .iter()
        .map(|n| Field::new(*n, DataType::Utf8, false))
        .collect();
    fields.extend(
        COLUMNS[3..11]
            .iter()
            .map(|n| Field::new(*n, DataType::Int64, false)),
    );
    fields.extend(
        COLUMNS[11..16]
            .iter()
            .map(|n| Field::new(*n, DataType::Float64, false)),
    );
    fields.push(Field::new(COLUMNS[16], DataType::Boolean, false));
    Arc::new(Schema::new(fields))
}

/// Streams rows in the chosen format (the table collects them to sort).
enum Output<'a> {
    Table(Vec<Row>, &'a mut (dyn Write + Send)),
    /// Boxed: the csv writer is some hundreds of bytes (its quoting table is inline), the other
    /// variants a few words.
    Csv(Box<csv::Writer<&'a mut (dyn Write + Send)>>),
    Json(bool, &'a mut (dyn Write + Send)),
    /// Batches for the encoder of [`write_parquet`], whose schema is [`parquet_schema`].
    Parquet(&'a mut ColumnEncoder),
}

impl<'a> Output<'a> {
    fn new(format: Format, w: &'a mut (dyn Write + Send)) -> Result<Self> {
        Ok(match format {
            Format::Table => Output::Table(Vec::new(), w),
            Format::Csv => {
                let mut c = csv::Writer::from_writer(w);
                c.write_record(COLUMNS)?;
                Output::Csv(Box::new(c))
            }
            Format::Json => {
                w.write_all(b"[")?;
                Output::Json(true, w)
            }
            Format::Parquet => bail!("the Parquet output is opened by write_parquet"),
        })
    }

    fn write(&mut self, rows: Vec<Row>) -> Result<()> {
        match self {
            Output::Table(all, _) => all.extend(rows),
            Output::Csv(c) => {
                for r in &rows {
                    let mut rec = vec![r.drug1.clone(), r.drug2.clone(), r.event.clone()];
                    rec.extend(r.numbers().iter().map(|&x| fmt_num(x)));
                    rec.push(r.signal().to_string());
                    c.write_record(&rec)?;
                }
            }
            Output::Json(first, w) => {
                for r in &rows {
                    let mut m = serde_json::Map::new();
                    m.insert("drug1".into(), r.drug1.clone().into());
                    m.insert("drug2".into(), r.drug2.clone().into());
                    m.insert("event".into(), r.event.clone().into());
                    for (key, v) in COLUMNS[3..16].iter().zip(r.numbers()) {
                        m.insert((*key).into(), json_number(v));
                    }
                    m.insert(COLUMNS[16].into(), r.signal().into());
                    w.write_all(if *first { b"\n  " } else { b",\n  " })?;
                    *first = false;
                    serde_json::to_writer(&mut **w, &serde_json::Value::Object(m))?;
                }
            }
            Output::Parquet(encoder) => {
                let mut arrays: Vec<ArrayRef> = vec![
                    Arc::new(StringArray::from_iter_values(
                        rows.iter().map(|r| r.drug1.as_str()),
                    )),
                    Arc::new(StringArray::from_iter_values(
                        rows.iter().map(|r| r.drug2.as_str()),
                    )),
                    Arc::new(StringArray::from_iter_values(
                        rows.iter().map(|r| r.event.as_str()),
                    )),
                ];
                let numbers: Vec<[f64; 13]> = rows.iter().map(Row::numbers).collect();
                for k in 0..13 {
                    if k < 8 {
                        arrays.push(Arc::new(Int64Array::from_iter_values(
                            numbers.iter().map(|v| v[k] as i64),
                        )));
                    } else {
                        arrays.push(Arc::new(Float64Array::from_iter_values(
                            numbers.iter().map(|v| v[k]),
                        )));
                    }
                }
                arrays.push(Arc::new(BooleanArray::from(
                    rows.iter().map(Row::signal).collect::<Vec<_>>(),
                )));
                encoder.write(&RecordBatch::try_new(parquet_schema(), arrays)?)?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<()> {
        match self {
            Output::Table(rows, w) => w.write_all(render_table(rows).as_bytes())?,
            Output::Csv(mut c) => c.flush()?,
            Output::Json(_, w) => w.write_all(b"\n]\n")?,
            // write_parquet writes the footer when the rows are all encoded.
            Output::Parquet(_) => {}
        }
        Ok(())
    }
}

/// The table format: Ω025 descending, ties by names (so that a cluster run, whose rows come in
/// another order, prints the same table).
pub(crate) fn render_table(mut rows: Vec<Row>) -> String {
    rows.sort_by(|a, b| {
        b.omega
            .omega025
            .total_cmp(&a.omega.omega025)
            .then_with(|| (&a.drug1, &a.drug2, &a.event).cmp(&(&b.drug1, &b.drug2, &b.event)))
    });
    let width = |f: fn(&Row) -> &str, min: usize, max: usize| {
        rows.iter()
            .map(|r| f(r).chars().count())
            .max()
            .unwrap_or(min)
            .clamp(min, max)
    };
    let (w1, w2, we) = (
        width(|r| &r.drug1, 5, 24),
        width(|r| &r.drug2, 5, 24),
        width(|r| &r.event, 5, 32),
    );
    let cut = |s: &str, w: usize| {
        if s.chars().count() > w {
            s.chars().take(w - 1).collect::<String>() + "…"
        } else {
            s.to_owned()
        }
    };
    let mut out = format!(
        "{:<w1$}  {:<w2$}  {:<we$}  {:>6}  {:>6}  {:>9}  {:>7}  {:>8}  {:>8}  signal\n",
        "drug1", "drug2", "event", "n111", "n11.", "expected", "omega", "omega025", "omega975"
    );
    for r in &rows {
        out += &format!(
            "{:<w1$}  {:<w2$}  {:<we$}  {:>6}  {:>6}  {:>9.3}  {:>7.2}  {:>8.2}  {:>8.2}  {}\n",
            cut(&r.drug1, w1),
            cut(&r.drug2, w2),
            cut(&r.event, we),
            r.counts.n111,
            r.counts.n11x,
            r.omega.expected,
            r.omega.omega,
            r.omega.omega025,
            r.omega.omega975,
            if r.signal() { "Ω025 > 0" } else { "" }
        );
    }
    out
}
