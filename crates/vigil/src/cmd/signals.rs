//! `vigil signals`: score every drug–event pair of a count table.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use clap::ValueEnum;
use vigil_stats::mgps::fit::{fit_gamma_poisson_shrinker, FitOptions, PriorFit};
use vigil_stats::mgps::posterior::{posterior_distinct, DistinctPosteriors};
use vigil_stats::mgps::{CountData, GammaMixturePrior, Truncation};
use vigil_stats::score::{score_pairs_with, MgpsScores, PairScores};
use vigil_store::count::{count_pairs, Margins, PairCounts};
use vigil_store::input::{read_counts_file, CountsInput};
use vigil_store::read::{load_report_set, DateField, ReportQuery, Role};
use vigil_store::reports::{nearest_names, normalise_name};

/// Score every drug–event pair: PRR, ROR, IC, BCPNN and MGPS (EBGM, EB05, EB95).
///
/// Examples:
///   vigil signals --store faers-store --drug DUPILUMAB --min-count 3
///   vigil signals --store faers-store --drug DUPILUMAB --event PSORIASIS --exclude-drug ADALIMUMAB,USTEKINUMAB
///   vigil signals --counts reports.csv --drug DUPILUMAB --format table
///   vigil signals --counts reports.csv --stratify sex,age_group --format csv --out signals.csv
///   vigil signals --counts table_2x2.parquet --margins pairs --fit-only > prior.json
///   vigil signals --counts table_2x2.parquet --prior prior.json --format parquet --out scores.parquet
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct Args {
    /// Count file (CSV, or Parquet by extension): report-level rows `id,drug,event[,strata…]` or
    /// aggregated tables `drug,event,a,b,c,d`.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "store",
        conflicts_with = "store"
    )]
    pub counts: Option<PathBuf>,
    /// A store written by `vigil ingest` (instead of --counts).
    #[arg(long, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// With --store: drug roles counted as exposure: `ps` (primary suspect), `suspect` (PS + SS),
    /// `all`.
    #[arg(long, default_value = "suspect", value_name = "ps|suspect|all")]
    pub role: String,
    /// With --store: only reports on or after this date (YYYY, YYYYMM or YYYYMMDD).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// With --store: only reports on or before this date (YYYY, YYYYMM or YYYYMMDD).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// With --store: the date --since/--until apply to: `fda` (FDA receipt, fda_dt, always present)
    /// or `event` (event_dt, often blank or partial).
    #[arg(long, default_value = "fda", value_name = "fda|event")]
    pub date_field: String,
    /// With --store: only reports with this indication (MedDRA PT, case-insensitive).
    #[arg(long, value_name = "PT")]
    pub indication: Option<String>,
    /// With --store: leave out every report with one of these drugs (competition-bias control,
    /// e.g. psoriasis biologics when studying dupilumab → psoriasis). Names separated by commas or
    /// given as separate values (`--exclude-drug USTEKINUMAB SECUKINUMAB`).
    #[arg(long, value_delimiter = ',', num_args = 1.., value_name = "NAME,...")]
    pub exclude_drug: Vec<String>,
    /// Margins of the 2×2 tables: `reports` (unique reports, as openEBGM/Empirica MGPS) or `pairs`
    /// (sums of pair counts, as PhViD/AEOLUS). Report-level input only.
    #[arg(long, value_enum, default_value_t = MarginsArg::Reports)]
    pub margins: MarginsArg,
    /// Columns whose combined values define strata for the expected count
    /// E = Σ_s n_drug,s·n_event,s / n_s (report-level input only).
    #[arg(long, value_delimiter = ',', value_name = "COL,...")]
    pub stratify: Vec<String>,
    /// Prior JSON (as printed by `--fit-only`): skip the fit.
    #[arg(long, value_name = "PRIOR.json")]
    pub prior: Option<PathBuf>,
    /// Print the fitted MGPS prior as JSON and stop.
    #[arg(long)]
    pub fit_only: bool,
    /// Fit the prior on openEBGM's autoSquash-ed data (an approximation, for comparison) instead of
    /// the exact full-data fit.
    #[arg(long)]
    pub squash: bool,
    /// Fit with all cells of the drug × event table, zeros included (openEBGM `negLLzero`), instead
    /// of the zero-truncated likelihood. Unstratified only.
    #[arg(long)]
    pub zeros: bool,
    /// Only output pairs with at least this many reports (the fit always uses every pair).
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub min_count: u64,
    /// Only output pairs of this drug (case-insensitive).
    #[arg(long, value_name = "NAME")]
    pub drug: Option<String>,
    /// Only output pairs of this event (MedDRA PT, case-insensitive).
    #[arg(long, value_name = "PT")]
    pub event: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Output file (default: standard output). Written to a temporary file and renamed, so a failed
    /// run leaves an existing file untouched.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// With --store: run on an Apache Ballista cluster (its scheduler's address) through the
    /// vigil-cluster binary; the store must be readable by every executor (docs/cluster.md).
    #[arg(long, value_name = "df://HOST:PORT")]
    pub cluster: Option<String>,
}

/// `--margins`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum MarginsArg {
    /// Unique-report margins.
    Reports,
    /// Sums of pair counts.
    Pairs,
}

/// `--format`.
#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// Aligned text, the most disproportionate pairs (by EB05) first.
    Table,
    /// CSV with every column.
    Csv,
    /// JSON array of objects with every column (non-finite numbers as null).
    Json,
    /// Parquet with every column.
    Parquet,
}

/// The output columns, a contract other tools read.
pub const COLUMNS: [&str; 29] = [
    "drug",
    "event",
    "a",
    "b",
    "c",
    "d",
    "n_drug",
    "n_event",
    "n_total",
    "expected",
    "prr",
    "prr_lower",
    "prr_upper",
    "chi2_yates",
    "ror",
    "ror_lower",
    "ror_upper",
    "ic",
    "ic025",
    "ic975",
    "bcpnn_ic",
    "bcpnn_ic025",
    "ebgm",
    "eb05",
    "eb95",
    "signal_prr",
    "signal_ror",
    "signal_ic",
    "signal_ebgm",
];

/// The pairs selected for output, with their counts: scored on demand, in chunks, so that a
/// 12.7 M-pair table is never held as scored rows all at once.
pub struct Selection {
    /// Drug names by id.
    pub drug_names: Vec<String>,
    /// Event names by id.
    pub event_names: Vec<String>,
    /// Drug id per row.
    pub drug: Vec<u32>,
    /// Event id per row.
    pub event: Vec<u32>,
    a: Vec<f64>,
    n_drug: Vec<f64>,
    n_event: Vec<f64>,
    n_total: Vec<f64>,
    expected: Vec<f64>,
    /// The MGPS posterior of every row, solved once per distinct (N, E).
    posteriors: DistinctPosteriors,
}

impl Selection {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.a.len()
    }

    /// The scores of rows `range`.
    pub fn score(&self, range: std::ops::Range<usize>) -> Vec<PairScores> {
        let r = range;
        let mgps = MgpsScores::Solved(&self.posteriors, r.start);
        score_pairs_with(
            &self.a[r.clone()],
            &self.n_drug[r.clone()],
            &self.n_event[r.clone()],
            &self.n_total[r.clone()],
            &self.expected[r],
            Some(mgps),
        )
    }

    /// Drug name of row `i`.
    pub fn drug_name(&self, i: usize) -> &str {
        &self.drug_names[self.drug[i] as usize]
    }

    /// Event name of row `i`.
    pub fn event_name(&self, i: usize) -> &str {
        &self.event_names[self.event[i] as usize]
    }

    /// Every row scored (for small selections: the demo, the table format).
    pub fn score_all(&self) -> ScoredTable {
        ScoredTable {
            drug: (0..self.len())
                .map(|i| self.drug_name(i).to_owned())
                .collect(),
            event: (0..self.len())
                .map(|i| self.event_name(i).to_owned())
                .collect(),
            scores: self.score(0..self.len()),
        }
    }
}

/// Scored pairs with their names.
pub struct ScoredTable {
    /// Drug name per row.
    pub drug: Vec<String>,
    /// Event name per row.
    pub event: Vec<String>,
    /// Scores per row.
    pub scores: Vec<PairScores>,
}

/// Rows scored and written at a time.
const CHUNK: usize = 1 << 16;

/// Counts, fits and scores as `vigil signals` does, returning the fitted prior and the table.
/// Used by `vigil demo` too.
pub fn compute(args: &Args) -> Result<(PriorFit, Selection)> {
    let read_phase = crate::timing::phase("read input");
    let input = match (&args.counts, &args.store) {
        (Some(path), _) => read_counts_file(path, &args.stratify)?,
        (None, Some(store)) => {
            let query = ReportQuery {
                role: args.role.parse::<Role>().map_err(anyhow::Error::msg)?,
                stratify: args.stratify.clone(),
                since: args.since.clone(),
                until: args.until.clone(),
                date_field: match args.date_field.as_str() {
                    "fda" => DateField::FdaReceipt,
                    "event" => DateField::Event,
                    other => bail!("--date-field {other:?}: expected fda or event"),
                },
                indication: args.indication.clone(),
                exclude_drugs: args.exclude_drug.clone(),
            };
            let set = load_report_set(store, &query)
                .with_context(|| format!("{}: reading the store", store.display()))?;
            if set.is_empty() {
                bail!(
                    "{}: no report matches the filters (role, dates, indication, excluded drugs)",
                    store.display()
                );
            }
            CountsInput::Reports(set)
        }
        (None, None) => bail!("give --counts FILE or --store DIR"),
    };
    drop(read_phase);
    let count_phase = crate::timing::phase("count pairs");
    let (counts, drug_names, event_names, zeros) = match input {
        CountsInput::Reports(set) => {
            let margins = match args.margins {
                MarginsArg::Reports => Margins::Reports,
                MarginsArg::Pairs => Margins::Pairs,
            };
            let counts = count_pairs(&set, margins);
            let zeros = if args.zeros {
                Some(zero_cells(
                    &counts,
                    set.drugs.len(),
                    set.events.len(),
                    !args.stratify.is_empty(),
                )?)
            } else {
                None
            };
            (
                counts,
                set.drugs.names().to_vec(),
                set.events.names().to_vec(),
                zeros,
            )
        }
        CountsInput::Aggregated {
            counts,
            drugs,
            events,
        } => {
            if args.margins == MarginsArg::Pairs {
                bail!("--margins pairs applies to report-level input; an aggregated table's margins are its own a+b, a+c");
            }
            let zeros = if args.zeros {
                Some(zero_cells(&counts, drugs.len(), events.len(), false)?)
            } else {
                None
            };
            (
                counts,
                drugs.names().to_vec(),
                events.names().to_vec(),
                zeros,
            )
        }
    };
    drop(count_phase);
    let fit_phase = crate::timing::phase("fit prior");
    let fit = match &args.prior {
        Some(path) => read_prior(path)?,
        None => {
            let mut data = CountData::new(counts.a.clone(), counts.expected.clone());
            let mut options = FitOptions {
                squashed: args.squash,
                ..FitOptions::default()
            };
            if let Some(z) = zeros {
                data.n.extend(z.n);
                data.e.extend(z.e);
                data.w.extend(z.w);
                options.truncation = Truncation::None;
            }
            fit_gamma_poisson_shrinker(&data, &options).context("fitting the MGPS prior")?
        }
    };
    drop(fit_phase);
    // Names compare as the store keeps them (trimmed, upper case). A name absent from the input is
    // an error with the nearest names, not an empty table.
    let source = args
        .counts
        .as_deref()
        .or(args.store.as_deref())
        .map_or_else(String::new, |p| p.display().to_string());
    let drug_filter = args
        .drug
        .as_deref()
        .map(|d| normalise_name(d).unwrap_or_default());
    let event_filter = args
        .event
        .as_deref()
        .map(|e| normalise_name(e).unwrap_or_default());
    for (what, wanted, names, given) in [
        ("drug", &drug_filter, &drug_names, &args.drug),
        ("event", &event_filter, &event_names, &args.event),
    ] {
        if let (Some(w), Some(given)) = (wanted, given) {
            if !names.iter().any(|n| n == w) {
                bail!(
                    "{}",
                    not_found(
                        &source,
                        what,
                        given,
                        names.iter().map(String::as_str),
                        args.store.is_some()
                    )
                );
            }
        }
    }
    let keep: Vec<usize> = if args.fit_only {
        Vec::new()
    } else {
        (0..counts.len())
            .filter(|&i| counts.a[i] >= args.min_count as f64)
            .filter(|&i| {
                drug_filter
                    .as_ref()
                    .is_none_or(|d| drug_names[counts.drug[i] as usize] == *d)
            })
            .filter(|&i| {
                event_filter
                    .as_ref()
                    .is_none_or(|e| event_names[counts.event[i] as usize] == *e)
            })
            .collect()
    };
    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
    let (a, expected) = (pick(&counts.a), pick(&counts.expected));
    let posteriors = {
        let _phase = crate::timing::phase("posteriors");
        posterior_distinct(&fit.prior(), &a, &expected)
    };
    let selection = Selection {
        drug: keep.iter().map(|&i| counts.drug[i]).collect(),
        event: keep.iter().map(|&i| counts.event[i]).collect(),
        a,
        n_drug: pick(&counts.n_drug),
        n_event: pick(&counts.n_event),
        n_total: pick(&counts.n_total),
        expected,
        posteriors,
        drug_names,
        event_names,
    };
    Ok((fit, selection))
}

/// The message for a drug or event name that is not in the input: what was asked, where it was
/// looked for, and the nearest names there.
pub fn not_found<'a>(
    source: &str,
    what: &str,
    given: &str,
    names: impl IntoIterator<Item = &'a str>,
    filtered: bool,
) -> String {
    let nearest = nearest_names(given, names, 5);
    let scope = if filtered {
        format!("{what}s of the reports selected (role and other filters apply)")
    } else {
        format!("{what}s")
    };
    let hint = if nearest.is_empty() {
        String::new()
    } else {
        format!("; nearest names: {}", nearest.join(", "))
    };
    // A brand name is the usual miss: the store keeps active ingredients.
    let kind = if what == "drug" {
        "; drug names are normalised active ingredients (e.g. DUPILUMAB, not DUPIXENT)"
    } else {
        ""
    };
    format!("{source}: {what} {given:?} not found among the {scope}{hint}{kind}")
}

/// The unobserved cells (a = 0) of the drug × event table, with their expected counts, grouped
/// exactly by their (n_drug, n_event) margins so that they need not be listed one by one.
fn zero_cells(
    counts: &PairCounts,
    n_drugs: usize,
    n_events: usize,
    stratified: bool,
) -> Result<CountData> {
    use std::collections::HashMap;
    if stratified {
        bail!("--zeros is implemented for unstratified analyses only: stratified expected counts of unobserved cells cannot be grouped by margins");
    }
    let n_total = counts.n_total.first().copied().unwrap_or(0.0);
    let mut drug_margin = vec![f64::NAN; n_drugs];
    let mut event_margin = vec![f64::NAN; n_events];
    for i in 0..counts.len() {
        drug_margin[counts.drug[i] as usize] = counts.n_drug[i];
        event_margin[counts.event[i] as usize] = counts.n_event[i];
    }
    let tally = |m: &[f64]| {
        let mut t: HashMap<u64, f64> = HashMap::new();
        for v in m.iter().filter(|v| v.is_finite()) {
            *t.entry(v.to_bits()).or_default() += 1.0;
        }
        t
    };
    let (dt, et) = (tally(&drug_margin), tally(&event_margin));
    // All cells per (drug margin, event margin) value pair, less the observed ones.
    let mut cells: HashMap<(u64, u64), f64> = HashMap::new();
    for (&dv, &dc) in &dt {
        for (&ev, &ec) in &et {
            cells.insert((dv, ev), dc * ec);
        }
    }
    for i in 0..counts.len() {
        *cells
            .get_mut(&(counts.n_drug[i].to_bits(), counts.n_event[i].to_bits()))
            .expect("margin pair present") -= 1.0;
    }
    let mut out = CountData::default();
    let mut keys: Vec<_> = cells.into_iter().filter(|(_, w)| *w > 0.0).collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    for ((dv, ev), w) in keys {
        out.n.push(0.0);
        out.e
            .push(f64::from_bits(dv) * f64::from_bits(ev) / n_total);
        out.w.push(w);
    }
    Ok(out)
}

fn read_prior(path: &Path) -> Result<PriorFit> {
    #[derive(serde::Deserialize)]
    struct PriorJson {
        alpha1: f64,
        beta1: f64,
        alpha2: f64,
        beta2: f64,
        p: f64,
        #[serde(default)]
        neg_log_lik: Option<f64>,
        #[serde(default)]
        n_points: Option<f64>,
        #[serde(default)]
        truncation: Option<Truncation>,
        #[serde(default)]
        at_bound: Vec<String>,
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the prior", path.display()))?;
    let j: PriorJson = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a prior JSON (alpha1, beta1, alpha2, beta2, p)",
            path.display()
        )
    })?;
    let prior = GammaMixturePrior {
        alpha1: j.alpha1,
        beta1: j.beta1,
        alpha2: j.alpha2,
        beta2: j.beta2,
        p: j.p,
    };
    if !prior.is_valid() {
        bail!(
            "{}: invalid prior: alpha and beta must be > 0 and 0 < p < 1",
            path.display()
        );
    }
    Ok(PriorFit {
        alpha1: j.alpha1,
        beta1: j.beta1,
        alpha2: j.alpha2,
        beta2: j.beta2,
        p: j.p,
        neg_log_lik: j.neg_log_lik.unwrap_or(f64::NAN),
        n_points: j.n_points.unwrap_or(f64::NAN),
        // What the fit that wrote the file said: the truncation it used and the parameters it
        // left on a bound (so the boundary warning is repeated when the prior is reused).
        truncation: j.truncation.unwrap_or(Truncation::ZeroTruncated),
        at_bound: j.at_bound,
        squashed: false,
        evaluations: 0,
        converged: true,
    })
}

/// Run `vigil signals`.
impl Args {
    /// The command-line defaults for `vigil signals --store STORE` (unstratified, unique-report
    /// margins, suspect roles, CSV), for the subcommands that run signals themselves.
    pub fn for_store(store: &std::path::Path) -> Self {
        Self {
            counts: None,
            store: Some(store.to_owned()),
            role: "suspect".into(),
            since: None,
            until: None,
            date_field: "fda".into(),
            indication: None,
            exclude_drug: vec![],
            margins: MarginsArg::Reports,
            stratify: vec![],
            prior: None,
            fit_only: false,
            squash: false,
            zeros: false,
            min_count: 1,
            drug: None,
            event: None,
            format: Format::Csv,
            out: None,
            cluster: None,
        }
    }
}

/// The boundary warning of the policy in docs/signals.md, printed by `vigil signals` (the report
/// and the demo show the bound in their own output instead of repeating it for every view).
fn warn_if_on_bound(fit: &PriorFit) {
    if !fit.at_bound.is_empty() {
        eprintln!(
            "vigil: warning: the MGPS prior's maximum-likelihood estimate lies on the bound of {}: the likelihood keeps rising towards the boundary (see docs/signals.md, \"Boundary policy\")",
            fit.at_bound.join(", ")
        );
    }
}

pub fn run(args: Args) -> Result<()> {
    if let Some(scheduler) = &args.cluster {
        return crate::cluster::signals(&args, scheduler);
    }
    let (fit, selection) = compute(&args)?;
    warn_if_on_bound(&fit);
    if args.fit_only {
        let json = serde_json::to_string_pretty(&fit)? + "\n";
        return write_atomically(args.out.as_deref(), json.as_bytes());
    }
    if args.format == Format::Parquet && args.out.is_none() {
        bail!("--format parquet needs --out FILE");
    }
    let _write_phase = crate::timing::phase("score and write");
    with_output(args.out.as_deref(), |w| match args.format {
        Format::Table => Ok(w.write_all(render_table(&selection.score_all()).as_bytes())?),
        Format::Csv => write_csv(&selection, w),
        Format::Json => write_json(&selection, w),
        Format::Parquet => write_parquet(&selection, w),
    })
}

/// Writes `bytes` to `path` (through a temporary file and a rename) or to stdout.
pub fn write_atomically(path: Option<&Path>, bytes: &[u8]) -> Result<()> {
    with_output(path, |w| Ok(w.write_all(bytes)?))
}

/// Runs `write` on a buffered temporary file beside `path`, then syncs it and renames it over
/// `path`, so a failed run leaves any existing file untouched; or on stdout when `path` is `None`
/// (a closed pipe ends vigil quietly: see `main`).
pub fn with_output(
    path: Option<&Path>,
    write: impl FnOnce(&mut (dyn Write + Send)) -> Result<()>,
) -> Result<()> {
    match path {
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout());
            write(&mut out)
                .and_then(|_| Ok(out.flush()?))
                .context("writing to standard output")
        }
        Some(path) => {
            let dir = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            let tmp = dir.join(format!(
                ".{}.tmp-{}",
                path.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
                std::process::id()
            ));
            let result = (|| -> Result<()> {
                let file = std::fs::File::create(&tmp)?;
                let mut buffered = std::io::BufWriter::with_capacity(1 << 20, file);
                write(&mut buffered)?;
                let file = buffered.into_inner().map_err(|e| e.into_error())?;
                file.sync_all()?;
                std::fs::rename(&tmp, path)?;
                Ok(())
            })();
            if result.is_err() {
                let _ = std::fs::remove_file(&tmp);
            }
            result.with_context(|| format!("{}: cannot write", path.display()))
        }
    }
}

fn row_values(s: &PairScores) -> [f64; 23] {
    let t = s.table;
    [
        t.a,
        t.b,
        t.c,
        t.d,
        t.n_drug(),
        t.n_event(),
        t.n(),
        s.expected,
        s.prr,
        s.prr_lower,
        s.prr_upper,
        s.chi2_yates,
        s.ror,
        s.ror_lower,
        s.ror_upper,
        s.ic,
        s.ic025,
        s.ic975,
        s.bcpnn_ic,
        s.bcpnn_ic025,
        s.ebgm,
        s.eb05,
        s.eb95,
    ]
}

fn flags(s: &PairScores) -> [bool; 4] {
    [s.signal_prr, s.signal_ror, s.signal_ic, s.signal_ebgm]
}

/// A number as R and openEBGM print it in CSV: shortest round-trip form, `Inf`, `-Inf`, `NaN`.
fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{x}")
    }
}

/// Calls `write` on every chunk of rows with its scores, in order. The scores of the next chunk
/// are computed (on all cores) while `write` formats the current one, so encoding the output, which
/// is serial, overlaps with scoring.
fn for_each_scored_chunk(
    sel: &Selection,
    mut write: impl FnMut(usize, &[PairScores]) -> Result<()>,
) -> Result<()> {
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, Vec<PairScores>)>(1);
        s.spawn(move || {
            for start in (0..sel.len()).step_by(CHUNK) {
                let end = (start + CHUNK).min(sel.len());
                if tx.send((start, sel.score(start..end))).is_err() {
                    break; // the writer failed and stopped listening
                }
            }
        });
        for (start, scores) in rx {
            write(start, &scores)?;
        }
        Ok(())
    })
}

/// Writes the selection as CSV with every column of [`COLUMNS`].
pub fn write_csv(sel: &Selection, w: &mut (dyn Write + Send)) -> Result<()> {
    let mut out = csv::Writer::from_writer(w);
    out.write_record(COLUMNS)?;
    let mut rec: Vec<String> = Vec::with_capacity(COLUMNS.len());
    for_each_scored_chunk(sel, |start, scores| {
        for (k, s) in scores.iter().enumerate() {
            rec.clear();
            rec.push(sel.drug_name(start + k).to_owned());
            rec.push(sel.event_name(start + k).to_owned());
            rec.extend(row_values(s).iter().map(|&x| fmt_num(x)));
            rec.extend(flags(s).iter().map(|b| b.to_string()));
            out.write_record(&rec)?;
        }
        Ok(())
    })?;
    out.flush()?;
    Ok(())
}

fn write_json(sel: &Selection, w: &mut (dyn Write + Send)) -> Result<()> {
    w.write_all(b"[")?;
    let mut first = true;
    for_each_scored_chunk(sel, |start, scores| {
        for (k, s) in scores.iter().enumerate() {
            let mut m = serde_json::Map::new();
            m.insert("drug".into(), sel.drug_name(start + k).into());
            m.insert("event".into(), sel.event_name(start + k).into());
            for (key, v) in COLUMNS[2..25].iter().zip(row_values(s)) {
                m.insert(
                    (*key).into(),
                    serde_json::Number::from_f64(v)
                        .map_or(serde_json::Value::Null, serde_json::Value::Number),
                );
            }
            for (key, v) in COLUMNS[25..].iter().zip(flags(s)) {
                m.insert((*key).into(), v.into());
            }
            w.write_all(if first { b"\n  " } else { b",\n  " })?;
            first = false;
            serde_json::to_writer(&mut *w, &serde_json::Value::Object(m))?;
        }
        Ok(())
    })?;
    w.write_all(b"\n]\n")?;
    Ok(())
}

fn write_parquet(sel: &Selection, w: &mut (dyn Write + Send)) -> Result<()> {
    let mut fields = vec![
        Field::new("drug", DataType::Utf8, false),
        Field::new("event", DataType::Utf8, false),
    ];
    for (k, name) in COLUMNS[2..25].iter().enumerate() {
        fields.push(Field::new(
            *name,
            if k < 7 {
                DataType::Int64
            } else {
                DataType::Float64
            },
            false,
        ));
    }
    for name in &COLUMNS[25..] {
        fields.push(Field::new(*name, DataType::Boolean, false));
    }
    let schema = Arc::new(Schema::new(fields));
    // Dictionary pages only for the names, which repeat; the scores are nearly all distinct, and
    // dictionary-encoding them cost a fifth of the run (perf, FAERS 2023 table).
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_dictionary_enabled(false)
        .set_column_dictionary_enabled("drug".into(), true)
        .set_column_dictionary_enabled("event".into(), true)
        .build();
    let mut writer = parquet::arrow::ArrowWriter::try_new(w, schema.clone(), Some(props))?;
    for_each_scored_chunk(sel, |start, scores| {
        let end = start + scores.len();
        let values: Vec<[f64; 23]> = scores.iter().map(row_values).collect();
        let fl: Vec<[bool; 4]> = scores.iter().map(flags).collect();
        let mut arrays: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                (start..end).map(|i| sel.drug_name(i)),
            )),
            Arc::new(StringArray::from_iter_values(
                (start..end).map(|i| sel.event_name(i)),
            )),
        ];
        for k in 0..23 {
            if k < 7 {
                arrays.push(Arc::new(Int64Array::from_iter_values(
                    values.iter().map(|v| v[k] as i64),
                )));
            } else {
                arrays.push(Arc::new(Float64Array::from_iter_values(
                    values.iter().map(|v| v[k]),
                )));
            }
        }
        for k in 0..4 {
            arrays.push(Arc::new(BooleanArray::from(
                fl.iter().map(|f| f[k]).collect::<Vec<_>>(),
            )));
        }
        writer.write(&RecordBatch::try_new(schema.clone(), arrays)?)?;
        Ok(())
    })?;
    writer.close()?;
    Ok(())
}

fn render_table(t: &ScoredTable) -> String {
    let mut order: Vec<usize> = (0..t.scores.len()).collect();
    order.sort_by(|&i, &j| t.scores[j].eb05.total_cmp(&t.scores[i].eb05));
    let dw = t
        .drug
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 28);
    let ew = t
        .event
        .iter()
        .map(|s| s.chars().count())
        .max()
        .unwrap_or(5)
        .clamp(5, 36);
    let mut out = format!(
        "{:<dw$}  {:<ew$}  {:>7}  {:>9}  {:>8}  {:>8}  {:>7}  {:>7}  {:>7}  {:>7}  signals\n",
        "drug", "event", "a", "expected", "prr", "ror_lo", "ic025", "ebgm", "eb05", "eb95"
    );
    let cut = |s: &str, w: usize| {
        if s.chars().count() > w {
            s.chars().take(w - 1).collect::<String>() + "…"
        } else {
            s.to_owned()
        }
    };
    for &i in &order {
        let s = &t.scores[i];
        let sig: Vec<&str> = [
            ("PRR", s.signal_prr),
            ("ROR", s.signal_ror),
            ("IC", s.signal_ic),
            ("EBGM", s.signal_ebgm),
        ]
        .iter()
        .filter(|(_, on)| *on)
        .map(|(n, _)| *n)
        .collect();
        out += &format!(
            "{:<dw$}  {:<ew$}  {:>7}  {:>9.3}  {:>8.2}  {:>8.2}  {:>7.2}  {:>7.2}  {:>7.2}  {:>7.2}  {}\n",
            cut(&t.drug[i], dw),
            cut(&t.event[i], ew),
            s.table.a,
            s.expected,
            s.prr,
            s.ror_lower,
            s.ic025,
            s.ebgm,
            s.eb05,
            s.eb95,
            sig.join(",")
        );
    }
    out
}
