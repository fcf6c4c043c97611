//! The two jobs a `vigil` client hands to the cluster: `interactions` (Ω of every drug pair ×
//! event itemset) and `signals` (the single drug–event scores). Each reads the store's Parquet files
//! on the executors, counts with SQL joins and aggregates, scores with [`crate::udf`], and writes a
//! Parquet file with the columns of the local command's `--format parquet` output, which `vigil`
//! reads back and prints in the format asked for.
//!
//! # What is counted (as `vigil_store::read::load_reports` and the counting kernels)
//! Live reports only: a child row counts when its (primaryid, batch) is a row of `reports.parquet`
//! (the de-duplicated, latest version of each case). Drug names are the `ingredient` column,
//! trimmed and upper-cased, of drug rows whose role passes `--role`; events are the trimmed,
//! upper-cased PT. A report counts (in every margin, n··· included) when it has at least one such
//! drug and one event. A stratum is the `|`-joined values of the `--stratify` columns (blank or
//! null: `unknown`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::arrow::array::{
    ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::execution::SessionStateBuilder;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};
use futures::StreamExt;
use vigil_stats::fdr::family_fdr;
use vigil_stats::mgps::fit::{fit_gamma_poisson_shrinker, FitOptions};
use vigil_stats::mgps::CountData;

use crate::udf::{self, names, OMEGA_FIELDS, PAIR_SCORE_FIELDS, PAIR_SCORE_FLAGS};

/// Options shared by both jobs.
#[derive(clap::Args, Debug, Clone)]
pub struct JobArgs {
    /// The scheduler, `df://HOST:PORT`.
    #[arg(long, value_name = "df://HOST:PORT")]
    pub scheduler: String,
    /// A store written by `vigil ingest`, at a path every executor can read (shared file system).
    #[arg(long, value_name = "DIR")]
    pub store: PathBuf,
    /// Only rows of this drug (case-insensitive ingredient).
    #[arg(long, value_name = "NAME")]
    pub drug: Option<String>,
    /// Only rows of this event (MedDRA PT, case-insensitive).
    #[arg(long, value_name = "PT")]
    pub event: Option<String>,
    /// Drug roles counted as exposure: `ps`, `suspect` (ps,ss), `ps,ss,i` or `all`.
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// Only rows with at least this many reports (n111 for interactions, a for signals).
    #[arg(long, value_name = "N")]
    pub min_count: u64,
    /// Reports-table columns whose combined values define strata for the expected counts.
    #[arg(long, value_delimiter = ',', value_name = "COL,...")]
    pub stratify: Vec<String>,
    /// The result, a Parquet file with the local command's columns.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Partitions of each shuffle (DataFusion's target_partitions on the cluster).
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub shuffle_partitions: usize,
    /// Give up (with an error) when a job has not finished after this many seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS")]
    pub timeout: u64,
}

/// The live version directory of `store` and its three tables.
struct StoreFiles {
    reports: PathBuf,
    drugs: PathBuf,
    reactions: PathBuf,
}

fn store_files(store: &Path) -> Result<StoreFiles> {
    let root = std::fs::canonicalize(store)
        .with_context(|| format!("{}: cannot open the store", store.display()))?;
    let current = root.join("CURRENT");
    let name = std::fs::read_to_string(&current).with_context(|| {
        format!(
            "{}: not a vigil store (no CURRENT file); create one with `vigil ingest`",
            store.display()
        )
    })?;
    let dir = root.join(name.trim());
    let files = StoreFiles {
        reports: dir.join("reports.parquet"),
        drugs: dir.join("drugs"),
        reactions: dir.join("reactions"),
    };
    for p in [&files.reports, &files.drugs, &files.reactions] {
        if !p.exists() {
            bail!("{}: missing: the store is damaged", p.display());
        }
    }
    Ok(files)
}

/// SQL string literal.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A connected client session with the store's tables and vigil's functions registered.
async fn connect(args: &JobArgs, job: &str) -> Result<SessionContext> {
    let config = SessionConfig::new_with_ballista()
        .with_target_partitions(args.shuffle_partitions.max(1))
        .with_ballista_job_name(job);
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .build();
    let ctx = SessionContext::remote_with_state(&args.scheduler, state)
        .await
        .with_context(|| format!("{}: cannot use this scheduler address", args.scheduler))?;
    for f in udf::all() {
        ctx.register_udf(f);
    }
    let files = store_files(&args.store)?;
    let dir = |p: &Path| format!("{}/", p.display());
    ctx.register_parquet(
        "reports",
        files.reports.display().to_string(),
        ParquetReadOptions::default(),
    )
    .await
    .with_context(|| format!("{}: reading", files.reports.display()))?;
    ctx.register_parquet("drugs", dir(&files.drugs), ParquetReadOptions::default())
        .await
        .with_context(|| format!("{}: reading", files.drugs.display()))?;
    ctx.register_parquet(
        "reactions",
        dir(&files.reactions),
        ParquetReadOptions::default(),
    )
    .await
    .with_context(|| format!("{}: reading", files.reactions.display()))?;
    Ok(ctx)
}

/// The shared part of both jobs' SQL: reports with their stratum, drugs and events of active
/// reports, and the margins per stratum.
async fn common_ctes(ctx: &SessionContext, args: &JobArgs) -> Result<String> {
    // The role is checked here so that a bad one is named before any job runs.
    let role = args.role.to_ascii_lowercase();
    if !["ps", "suspect", "ps,ss,i", "suspect,i", "all"].contains(&role.as_str()) {
        bail!(
            "unknown role {:?}: expected ps, suspect (ps,ss), ps,ss,i or all",
            args.role
        );
    }
    let schema = ctx.table("reports").await?.schema().clone();
    let mut parts = Vec::new();
    for c in &args.stratify {
        if !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            || schema.field_with_unqualified_name(c).is_err()
        {
            bail!(
                "{}: no column {c:?} in the reports table; stratify by columns of the reports table, e.g. age_group, sex, year",
                args.store.display()
            );
        }
        parts.push(format!(
            "coalesce(nullif(CAST(\"{c}\" AS VARCHAR), ''), 'unknown')"
        ));
    }
    let stratum = if parts.is_empty() {
        "''".to_owned()
    } else {
        format!("concat_ws('|', {})", parts.join(", "))
    };
    let (name, admits) = (names::NAME, names::ROLE_ADMITS);
    let role = quote(&role);
    Ok(format!(
        "r AS (SELECT primaryid AS p, batch AS b, {stratum} AS s FROM reports),
dr AS (SELECT DISTINCT r.p, r.b, r.s, {name}(x.ingredient) AS drug
       FROM drugs x JOIN r ON x.primaryid = r.p AND x.batch = r.b
       WHERE {admits}(x.role_cod, {role}) AND {name}(x.ingredient) IS NOT NULL),
ev AS (SELECT DISTINCT r.p, r.b, r.s, {name}(x.pt) AS event
       FROM reactions x JOIN r ON x.primaryid = r.p AND x.batch = r.b
       WHERE {name}(x.pt) IS NOT NULL),
da AS (SELECT dr.p, dr.b, dr.s, dr.drug FROM dr
       LEFT SEMI JOIN (SELECT DISTINCT p, b FROM ev) k ON dr.p = k.p AND dr.b = k.b),
ea AS (SELECT ev.p, ev.b, ev.s, ev.event FROM ev
       LEFT SEMI JOIN (SELECT DISTINCT p, b FROM dr) k ON ev.p = k.p AND ev.b = k.b),
nt AS (SELECT s, count(*) AS n FROM (SELECT DISTINCT p, b, s FROM da) a GROUP BY s),
dm AS (SELECT drug, s, count(*) AS n FROM da GROUP BY drug, s),
em AS (SELECT event, s, count(*) AS n FROM ea GROUP BY event, s),
dm_t AS (SELECT drug, sum(n) AS n FROM dm GROUP BY drug),
em_t AS (SELECT event, sum(n) AS n FROM em GROUP BY event),
n_t AS (SELECT sum(n) AS n FROM nt)"
    ))
}

/// The drug and event filters, normalised as the store's names are.
fn filters(args: &JobArgs) -> (Option<String>, Option<String>) {
    let norm = |s: &Option<String>| s.as_deref().map(|x| quote(&x.trim().to_uppercase()));
    (norm(&args.drug), norm(&args.event))
}

/// Runs `sql` on the cluster and hands each result batch to `sink`, within the job timeout.
async fn stream(
    ctx: &SessionContext,
    args: &JobArgs,
    sql: &str,
    mut sink: impl FnMut(&RecordBatch) -> Result<()>,
) -> Result<()> {
    let work = async {
        let df = ctx.sql(sql).await?;
        let mut batches = df.execute_stream().await?;
        while let Some(batch) = batches.next().await {
            sink(&batch?)?;
        }
        Ok::<_, anyhow::Error>(())
    };
    match tokio::time::timeout(Duration::from_secs(args.timeout), work).await {
        Ok(r) => r.with_context(|| format!("the job on {} failed", args.scheduler)),
        Err(_) => Err(anyhow!(
            "the job on {} did not finish within {} s (--timeout); check that executors are registered (GET /api/executors on the scheduler's port)",
            args.scheduler,
            args.timeout
        )),
    }
}

fn column<'a>(batch: &'a RecordBatch, name: &str) -> Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| anyhow!("the cluster's result has no column {name}"))
}

fn strings(batch: &RecordBatch, name: &str) -> Result<StringArray> {
    Ok(cast(column(batch, name)?, &DataType::Utf8)?
        .as_string::<i32>()
        .clone())
}

fn floats(a: &ArrayRef) -> Result<Float64Array> {
    Ok(cast(a, &DataType::Float64)?.as_primitive().clone())
}

fn ints(batch: &RecordBatch, name: &str) -> Result<Int64Array> {
    Ok(cast(column(batch, name)?, &DataType::Int64)?
        .as_primitive()
        .clone())
}

/// A Parquet writer to a temporary file beside `out`, renamed over it on success.
struct Output {
    /// None once finished.
    writer: Option<ArrowWriter<std::fs::File>>,
    schema: SchemaRef,
    tmp: PathBuf,
    out: PathBuf,
    rows: u64,
}

impl Output {
    fn create(out: &Path, fields: Vec<Field>) -> Result<Self> {
        let schema = Arc::new(Schema::new(fields));
        let dir = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = dir.join(format!(
            ".{}.tmp-{}",
            out.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
            std::process::id()
        ));
        let file = std::fs::File::create(&tmp)
            .with_context(|| format!("{}: cannot write", tmp.display()))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        Ok(Self {
            writer: Some(ArrowWriter::try_new(file, schema.clone(), Some(props))?),
            schema,
            tmp,
            out: out.to_owned(),
            rows: 0,
        })
    }

    fn write(&mut self, columns: Vec<ArrayRef>) -> Result<()> {
        let batch = RecordBatch::try_new(self.schema.clone(), columns)?;
        self.rows += batch.num_rows() as u64;
        self.writer
            .as_mut()
            .expect("written before finish")
            .write(&batch)?;
        Ok(())
    }

    fn finish(mut self) -> Result<u64> {
        let writer = self.writer.take().expect("finished once");
        let file = writer.into_inner()?;
        file.sync_all()?;
        std::fs::rename(&self.tmp, &self.out)
            .with_context(|| format!("{}: cannot write", self.out.display()))?;
        Ok(self.rows)
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // After `finish` the temporary file is gone; otherwise the run failed.
        let _ = std::fs::remove_file(&self.tmp);
    }
}

fn fields(text: &[&str], counts: &[&str], scores: &[&str], flags: &[&str]) -> Vec<Field> {
    let f = |names: &[&str], t: DataType| -> Vec<Field> {
        names
            .iter()
            .map(|n| Field::new(*n, t.clone(), false))
            .collect()
    };
    [
        f(text, DataType::Utf8),
        f(counts, DataType::Int64),
        f(scores, DataType::Float64),
        f(flags, DataType::Boolean),
    ]
    .concat()
}

/// Says that a `--drug`/`--event` filter names nothing in the store when the result is empty.
async fn check_names(ctx: &SessionContext, args: &JobArgs, ctes: &str) -> Result<()> {
    let (drug, event) = filters(args);
    for (what, lit, table, col, given) in [
        ("drug", drug, "da", "drug", &args.drug),
        ("event", event, "ea", "event", &args.event),
    ] {
        let (Some(lit), Some(given)) = (lit, given) else {
            continue;
        };
        let sql = format!("WITH {ctes} SELECT count(*) AS n FROM {table} WHERE {col} = {lit}");
        let mut n = 0;
        stream(ctx, args, &sql, |b| {
            n += ints(b, "n")?.iter().flatten().sum::<i64>();
            Ok(())
        })
        .await?;
        if n == 0 {
            bail!(
                "{}: {what} {given:?} is not in the store's reports (roles {})",
                args.store.display(),
                args.role
            );
        }
    }
    Ok(())
}

/// `vigil interactions` on the cluster.
pub async fn interactions(args: &JobArgs) -> Result<()> {
    let ctx = connect(args, "vigil interactions").await?;
    let ctes = common_ctes(&ctx, args).await?;
    let (drug, event) = filters(args);
    let drug_filter = drug
        .map(|d| format!(" AND (x.drug = {d} OR y.drug = {d})"))
        .unwrap_or_default();
    let event_filter = event
        .map(|e| format!(" AND e.event = {e}"))
        .unwrap_or_default();
    let (expected, omega) = (names::OMEGA_EXPECTED, names::OMEGA);
    let min = args.min_count;
    // Itemsets with drug 1 < drug 2 by name (byte order, as `vigil interactions` orders them);
    // per stratum where both drugs occur, the eight counts of the 2×2×2 table give that stratum's
    // g11·n11· (Norén et al. 2008: E111 = Σ_s g11,s·n11·,s); the margins of the output row are
    // over all strata.
    let sql = format!(
        "WITH {ctes},
de AS (SELECT da.drug, ea.event, da.s, count(*) AS n FROM da
       JOIN ea ON da.p = ea.p AND da.b = ea.b GROUP BY da.drug, ea.event, da.s),
de_t AS (SELECT drug, event, sum(n) AS n FROM de GROUP BY drug, event),
tr AS (SELECT x.drug AS d1, y.drug AS d2, e.event, x.s, count(*) AS n FROM da x
       JOIN da y ON x.p = y.p AND x.b = y.b AND x.drug < y.drug
       JOIN ea e ON e.p = x.p AND e.b = x.b
       WHERE true{drug_filter}{event_filter}
       GROUP BY x.drug, y.drug, e.event, x.s),
kept AS (SELECT d1, d2, event FROM tr GROUP BY d1, d2, event HAVING sum(n) >= {min}),
pr AS (SELECT x.drug AS d1, y.drug AS d2, x.s, count(*) AS n FROM da x
       JOIN da y ON x.p = y.p AND x.b = y.b AND x.drug < y.drug
       LEFT SEMI JOIN (SELECT DISTINCT d1, d2 FROM kept) k ON x.drug = k.d1 AND y.drug = k.d2
       GROUP BY x.drug, y.drug, x.s),
st AS (SELECT k.d1, k.d2, k.event, coalesce(t.n, 0) AS n111, p.n AS n11x,
              {expected}(coalesce(t.n, 0), p.n, coalesce(a1.n, 0), coalesce(a2.n, 0),
                         m1.n, m2.n, coalesce(me.n, 0), nt.n) AS expected_s
       FROM kept k
       JOIN pr p ON p.d1 = k.d1 AND p.d2 = k.d2
       LEFT JOIN tr t ON t.d1 = k.d1 AND t.d2 = k.d2 AND t.event = k.event AND t.s = p.s
       LEFT JOIN de a1 ON a1.drug = k.d1 AND a1.event = k.event AND a1.s = p.s
       LEFT JOIN de a2 ON a2.drug = k.d2 AND a2.event = k.event AND a2.s = p.s
       JOIN dm m1 ON m1.drug = k.d1 AND m1.s = p.s
       JOIN dm m2 ON m2.drug = k.d2 AND m2.s = p.s
       LEFT JOIN em me ON me.event = k.event AND me.s = p.s
       JOIN nt ON nt.s = p.s),
agg AS (SELECT d1, d2, event, sum(n111) AS n111, sum(n11x) AS n11x, sum(expected_s) AS expected
        FROM st GROUP BY d1, d2, event)
SELECT a.d1 AS drug1, a.d2 AS drug2, a.event, a.n111, a.n11x, a1.n AS n1x1, a2.n AS nx11,
       m1.n AS n1xx, m2.n AS nx1x, me.n AS nxx1, t.n AS nxxx, a.expected,
       {omega}(a.n111, a.expected) AS o
FROM agg a
JOIN de_t a1 ON a1.drug = a.d1 AND a1.event = a.event
JOIN de_t a2 ON a2.drug = a.d2 AND a2.event = a.event
JOIN dm_t m1 ON m1.drug = a.d1
JOIN dm_t m2 ON m2.drug = a.d2
JOIN em_t me ON me.event = a.event
CROSS JOIN n_t t
ORDER BY drug1, drug2, a.event"
    );
    const COUNTS: [&str; 8] = [
        "n111", "n11x", "n1x1", "nx11", "n1xx", "nx1x", "nxx1", "nxxx",
    ];
    let mut out = Output::create(
        &args.out,
        fields(
            &["drug1", "drug2", "event"],
            &[
                "n111", "n11.", "n1.1", "n.11", "n1..", "n.1.", "n..1", "n...",
            ],
            &[
                "expected",
                "observed_expected",
                "omega",
                "omega025",
                "omega975",
            ],
            &["signal_omega"],
        ),
    )?;
    let mut no_baseline = 0u64;
    stream(&ctx, args, &sql, |b| {
        let expected = floats(column(b, "expected")?)?;
        // Itemsets with a stratum without baseline are left out and counted, as locally.
        let keep: BooleanArray = expected
            .iter()
            .map(|e| Some(!e.unwrap_or(f64::NAN).is_nan()))
            .collect();
        no_baseline += (b.num_rows() - keep.true_count()) as u64;
        let b = datafusion::arrow::compute::filter_record_batch(b, &keep)?;
        if b.num_rows() == 0 {
            return Ok(());
        }
        let mut cols: Vec<ArrayRef> = Vec::new();
        for n in ["drug1", "drug2", "event"] {
            cols.push(Arc::new(strings(&b, n)?));
        }
        for n in COUNTS {
            cols.push(Arc::new(ints(&b, n)?));
        }
        cols.push(Arc::new(floats(column(&b, "expected")?)?));
        let o = column(&b, "o")?.as_struct();
        for n in OMEGA_FIELDS {
            let f = o
                .column_by_name(n)
                .ok_or_else(|| anyhow!("{omega}: no field {n}"))?;
            cols.push(Arc::new(floats(f)?));
        }
        let lower = floats(o.column_by_name("omega025").expect("listed field"))?;
        cols.push(Arc::new(
            lower
                .iter()
                .map(|x| Some(x.is_some_and(|v| v > 0.0)))
                .collect::<BooleanArray>(),
        ));
        out.write(cols)
    })
    .await?;
    if out.rows == 0 {
        check_names(&ctx, args, &ctes).await?;
    }
    out.finish()?;
    if no_baseline > 0 {
        eprintln!(
            "vigil: warning: {no_baseline} itemsets left out: no baseline rate (a stratum where every report of one drug also lists the other, or every report lists one of them; docs/interactions.md)"
        );
    }
    Ok(())
}

/// The decision columns of `vigil signals`, after the scores and flags (its column order).
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

/// Every observed pair of the table with its counts, gathered in this process: the data of the
/// prior fit and the family of the decision columns.
#[derive(Default)]
struct Family {
    /// Row of each (drug, event).
    index: HashMap<(String, String), usize>,
    a: Vec<f64>,
    n_drug: Vec<f64>,
    n_event: Vec<f64>,
    n_total: Vec<f64>,
    expected: Vec<f64>,
}

impl Family {
    fn push(&mut self, b: &RecordBatch) -> Result<()> {
        let (drug, event) = (strings(b, "drug")?, strings(b, "event")?);
        let a = floats(column(b, "a")?)?;
        let n_drug = floats(column(b, "n_drug")?)?;
        let n_event = floats(column(b, "n_event")?)?;
        let n_total = floats(column(b, "n_total")?)?;
        let expected = floats(column(b, "expected")?)?;
        for i in 0..b.num_rows() {
            let key = (drug.value(i).to_owned(), event.value(i).to_owned());
            if self.index.insert(key, self.a.len()).is_some() {
                bail!(
                    "the cluster returned the pair ({}, {}) twice",
                    drug.value(i),
                    event.value(i)
                );
            }
            self.a.push(a.value(i));
            self.n_drug.push(n_drug.value(i));
            self.n_event.push(n_event.value(i));
            self.n_total.push(n_total.value(i));
            self.expected.push(expected.value(i));
        }
        Ok(())
    }
}

/// `vigil signals` on the cluster: counts and expected counts of every pair, the MGPS prior
/// fitted and the decision columns computed here on all of them (as `vigil signals` does), then
/// the selected pairs scored by the executors with that prior.
pub async fn signals(args: &JobArgs) -> Result<()> {
    let ctx = connect(args, "vigil signals").await?;
    let ctes = common_ctes(&ctx, args).await?;
    // E = Σ_s n_drug,s·n_event,s/n_s over the strata holding both (vigil_store::count::count_pairs);
    // with one stratum, n_drug·n_event/n, the same operations in the same order.
    let pairs = format!(
        "WITH {ctes},
pc AS (SELECT da.drug, ea.event, count(*) AS a FROM da
       JOIN ea ON da.p = ea.p AND da.b = ea.b GROUP BY da.drug, ea.event),
ex AS (SELECT pc.drug, pc.event,
              sum(CAST(dm.n AS DOUBLE) * CAST(em.n AS DOUBLE) / CAST(nt.n AS DOUBLE)) AS expected
       FROM pc JOIN dm ON dm.drug = pc.drug
       JOIN em ON em.event = pc.event AND em.s = dm.s
       JOIN nt ON nt.s = dm.s
       GROUP BY pc.drug, pc.event),
pairs AS (SELECT pc.drug, pc.event, pc.a, dt.n AS n_drug, et.n AS n_event, t.n AS n_total,
                 ex.expected
          FROM pc JOIN ex ON ex.drug = pc.drug AND ex.event = pc.event
          JOIN dm_t dt ON dt.drug = pc.drug
          JOIN em_t et ON et.event = pc.event
          CROSS JOIN n_t t)"
    );
    // 1. Every pair's counts come back to this process: the MGPS prior is fitted on all of them
    // and the decision columns (docs/decision-rules.md) are computed over all of them, the family
    // `vigil signals` uses (every observed pair of the table, whatever --drug, --event and
    // --min-count select), so a q-value does not depend on which pairs are printed.
    let mut family = Family::default();
    stream(
        &ctx,
        args,
        &format!("{pairs} SELECT drug, event, a, n_drug, n_event, n_total, expected FROM pairs"),
        |b| family.push(b),
    )
    .await?;
    if family.a.is_empty() {
        bail!(
            "{}: no report matches the filters (role, dates, indication, excluded drugs)",
            args.store.display()
        );
    }
    let data = CountData::new(family.a.clone(), family.expected.clone());
    let fit = fit_gamma_poisson_shrinker(&data, &FitOptions::default())
        .context("fitting the MGPS prior")?;
    drop(data);
    if !fit.at_bound.is_empty() {
        eprintln!(
            "vigil: warning: the MGPS prior's maximum-likelihood estimate lies on the bound of {}: the likelihood keeps rising towards the boundary (see docs/signals.md, \"Boundary policy\")",
            fit.at_bound.join(", ")
        );
    }
    let fdr = family_fdr(
        &family.a,
        &family.n_drug,
        &family.n_event,
        &family.n_total,
        &family.expected,
        Some(&fit.prior()),
    );
    // The notes `vigil signals` prints.
    for (what, n) in [("PRR", fdr.prr_excluded), ("ROR", fdr.ror_excluded)] {
        if n > 0 {
            eprintln!(
                "vigil: note: {n} pairs have no {what} p-value (a zero cell) and are left out of the {what} Benjamini–Hochberg family (their {} is NaN)",
                what.to_lowercase() + "_q"
            );
        }
    }
    let decision: [&[f64]; 8] = [
        &fdr.prr_p,
        &fdr.prr_q,
        &fdr.ror_p,
        &fdr.ror_q,
        &fdr.ic_post_null,
        &fdr.ebgm_post_null,
        &fdr.fdr_bayes_ic,
        &fdr.fdr_bayes_ebgm,
    ];
    // 2. The selected pairs, scored on the executors.
    let prior = fit.prior().to_array().map(|x| format!("{x:?}")).join(", ");
    let (drug, event) = filters(args);
    let mut filter = format!("a >= {}", args.min_count);
    if let Some(d) = drug {
        filter += &format!(" AND drug = {d}");
    }
    if let Some(e) = event {
        filter += &format!(" AND event = {e}");
    }
    let scores = names::PAIR_SCORES;
    let sql = format!(
        "{pairs} SELECT drug, event, a, n_drug, n_event, n_total, expected,
                 {scores}(a, n_drug, n_event, n_total, expected, {prior}) AS sc
          FROM pairs WHERE {filter} ORDER BY drug, event"
    );
    let float_names: Vec<&str> = std::iter::once("expected")
        .chain(PAIR_SCORE_FIELDS[3..].iter().copied())
        .collect();
    let mut out = Output::create(
        &args.out,
        [
            fields(
                &["drug", "event"],
                &["a", "b", "c", "d", "n_drug", "n_event", "n_total"],
                &float_names,
                &PAIR_SCORE_FLAGS,
            ),
            fields(&[], &[], &DECISION_COLUMNS, &[]),
        ]
        .concat(),
    )?;
    stream(&ctx, args, &sql, |b| {
        let sc = column(b, "sc")?.as_struct();
        let field = |n: &str| {
            sc.column_by_name(n)
                .ok_or_else(|| anyhow!("{scores}: no field {n}"))
        };
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(strings(b, "drug")?),
            Arc::new(strings(b, "event")?),
        ];
        cols.push(Arc::new(ints(b, "a")?));
        for n in ["b", "c", "d"] {
            cols.push(cast(field(n)?, &DataType::Int64)?);
        }
        for n in ["n_drug", "n_event", "n_total"] {
            cols.push(Arc::new(ints(b, n)?));
        }
        cols.push(Arc::new(floats(column(b, "expected")?)?));
        for n in &PAIR_SCORE_FIELDS[3..] {
            cols.push(Arc::new(floats(field(n)?)?));
        }
        for n in PAIR_SCORE_FLAGS {
            cols.push(cast(field(n)?, &DataType::Boolean)?);
        }
        let (drugs, events) = (strings(b, "drug")?, strings(b, "event")?);
        let rows = (0..b.num_rows())
            .map(|i| {
                let key = (drugs.value(i).to_owned(), events.value(i).to_owned());
                family.index.get(&key).copied().ok_or_else(|| {
                    anyhow!("the cluster scored {key:?}, a pair its count did not return")
                })
            })
            .collect::<Result<Vec<usize>>>()?;
        for values in decision {
            cols.push(Arc::new(
                rows.iter().map(|&i| values[i]).collect::<Float64Array>(),
            ));
        }
        out.write(cols)
    })
    .await?;
    if out.rows == 0 {
        check_names(&ctx, args, &ctes).await?;
    }
    out.finish()?;
    Ok(())
}
