//! `vigil signals`: score every drug–event pair of a count table.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use arrow::array::{ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray};
use arrow::buffer::BooleanBuffer;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use clap::ValueEnum;
use rayon::prelude::*;
use vigil_stats::fdr::{family_fdr, FamilyFdr};
use vigil_stats::mgps::fit::{fit_gamma_poisson_shrinker, FitOptions, PriorFit};
use vigil_stats::mgps::posterior::{posterior_distinct, DistinctPosteriors};
use vigil_stats::mgps::{zero_cells, CountData, PriorJson, Truncation};
use vigil_stats::score::{score_pairs_into, score_pairs_with, MgpsScores, PairScores};
use vigil_store::count::{count_pairs, Margins, PairCounts};
use vigil_store::input::{read_counts_file, CountsInput};
use vigil_store::read::{load_report_set_from, ReportQuery, Store};
use vigil_store::reports::{nearest_names, normalise_name};
use vigil_store::request::SignalsRequest;

use crate::args::{DateFieldArg, MarginsArg, RoleArg};
use crate::cmd::meddra::TermArgs;
use crate::output::{with_output, write_atomically};

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
    /// `ps,ss,i` (suspect or interacting), `all`.
    #[arg(long, value_enum, ignore_case = true, value_name = "ps|suspect|ps,ss,i|all",
          default_value_t = RoleArg::from(SignalsRequest::default().query.role))]
    pub role: RoleArg,
    /// With --store: only reports on or after this date (YYYY, YYYYMM or YYYYMMDD).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// With --store: only reports on or before this date (YYYY, YYYYMM or YYYYMMDD).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// With --store: the date --since/--until apply to: `fda` (FDA receipt, fda_dt, always present)
    /// or `event` (event_dt, often blank or partial).
    #[arg(long, value_enum, value_name = "fda|event",
          default_value_t = DateFieldArg::from(SignalsRequest::default().query.date_field))]
    pub date_field: DateFieldArg,
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
    #[arg(long, value_enum, default_value_t = MarginsArg::from(SignalsRequest::default().margins))]
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
    #[arg(long, default_value_t = SignalsRequest::default().min_count, value_name = "N")]
    pub min_count: u64,
    /// Only output pairs of this drug (case-insensitive).
    #[arg(long, value_name = "NAME")]
    pub drug: Option<String>,
    /// Only output pairs of this event (MedDRA PT, case-insensitive).
    #[arg(long, value_name = "PT")]
    pub event: Option<String>,
    /// How the signal_* flags are decided: `thresholds` (the default: Evans PRR, ROR lower limit,
    /// IC025 > 0, EB05 ≥ 2) or `fdr:Q` (signal_prr: prr_q ≤ Q, signal_ror: ror_q ≤ Q, signal_ic:
    /// fdr_bayes_ic ≤ Q, signal_ebgm: fdr_bayes_ebgm ≤ Q, over every pair of the table; see
    /// docs/decision-rules.md).
    #[arg(long, default_value = "thresholds", value_name = "thresholds|fdr:Q", value_parser = parse_decision)]
    pub decision: Decision,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Output file (default, or `-`: standard output). Written to a temporary file and renamed, so a failed
    /// run leaves an existing file untouched.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// MedDRA and ATC grouping (`--event-level`, `--drug-level`; docs/terminologies.md).
    #[command(flatten)]
    pub terms: TermArgs,
    /// With --store: run on an Apache Ballista cluster (its scheduler's address) through the
    /// vigil-cluster binary; the store must be readable by every executor (docs/cluster.md).
    #[arg(long, value_name = "df://HOST:PORT")]
    pub cluster: Option<String>,
}

/// `--decision`: the rule behind the signal_* flags.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decision {
    /// Per-pair thresholds ([`vigil_stats::score::thresholds`]).
    Thresholds,
    /// False discovery rate at most Q over the family of every pair of the table: BH q-values for
    /// PRR and ROR, Bayesian FDR of the top-k list for IC and MGPS.
    Fdr(f64),
}

fn parse_decision(s: &str) -> std::result::Result<Decision, String> {
    if s == "thresholds" {
        return Ok(Decision::Thresholds);
    }
    let Some(level) = s.strip_prefix("fdr:") else {
        return Err(format!(
            "{s:?}: expected thresholds or fdr:Q (e.g. fdr:0.05)"
        ));
    };
    match level.parse::<f64>() {
        Ok(q) if q > 0.0 && q < 1.0 => Ok(Decision::Fdr(q)),
        _ => Err(format!(
            "{s:?}: the FDR level Q must be a number in (0, 1), e.g. fdr:0.05"
        )),
    }
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
pub const COLUMNS: [&str; 37] = [
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
    // The decision columns (docs/decision-rules.md), computed over every pair of the table.
    "prr_p",
    "prr_q",
    "ror_p",
    "ror_q",
    "ic_post_null",
    "ebgm_post_null",
    "fdr_bayes_ic",
    "fdr_bayes_ebgm",
];

/// Where the decision columns start in [`COLUMNS`].
pub(crate) const FDR_START: usize = 29;

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
    /// The decision columns of every row, computed over the whole table.
    pub fdr: FamilyFdr,
    /// The rule behind the signal_* flags.
    pub decision: Decision,
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
        let mut scores = score_pairs_with(
            &self.a[r.clone()],
            &self.n_drug[r.clone()],
            &self.n_event[r.clone()],
            &self.n_total[r.clone()],
            &self.expected[r.clone()],
            Some(mgps),
        );
        self.apply_decision(&mut scores, r);
        scores
    }

    /// [`Selection::score`] on the calling thread, into `out` (its allocation reused): for
    /// writers that spread chunks of rows over the cores themselves.
    pub fn score_into(&self, range: std::ops::Range<usize>, out: &mut Vec<PairScores>) {
        let r = range;
        score_pairs_into(
            &self.a[r.clone()],
            &self.n_drug[r.clone()],
            &self.n_event[r.clone()],
            &self.n_total[r.clone()],
            &self.expected[r.clone()],
            Some(MgpsScores::Solved(&self.posteriors, r.start)),
            out,
        );
        self.apply_decision(out, r);
    }

    /// The signal_* flags of rows `r` by the false discovery rates, when that is the rule.
    fn apply_decision(&self, scores: &mut [PairScores], r: std::ops::Range<usize>) {
        if let Decision::Fdr(q) = self.decision {
            for (s, i) in scores.iter_mut().zip(r) {
                let f = &self.fdr;
                s.signal_prr = f.prr_q[i] <= q;
                s.signal_ror = f.ror_q[i] <= q;
                s.signal_ic = f.fdr_bayes_ic[i] <= q;
                s.signal_ebgm = f.fdr_bayes_ebgm[i] <= q;
            }
        }
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
            fdr: (0..self.len()).map(|i| self.fdr.row(i)).collect(),
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
    /// Decision columns per row (the order of [`COLUMNS`] from `prr_p`).
    pub fdr: Vec<[f64; 8]>,
}

/// Rows scored and written at a time.
const CHUNK: usize = 1 << 16;

/// Where the counts come from.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// A count file (CSV or Parquet): report-level rows or aggregated 2×2 tables.
    Counts(&'a Path),
    /// An opened store.
    Store(&'a Store),
}

impl Source<'_> {
    fn display(&self) -> String {
        match self {
            Source::Counts(p) => p.display().to_string(),
            Source::Store(s) => s.root().display().to_string(),
        }
    }
}

impl Args {
    /// What these arguments ask to count and score (the output options stay here).
    pub fn request(&self) -> SignalsRequest {
        SignalsRequest {
            query: ReportQuery {
                role: self.role.into(),
                stratify: self.stratify.clone(),
                since: self.since.clone(),
                until: self.until.clone(),
                date_field: self.date_field.into(),
                indication: self.indication.clone(),
                exclude_drugs: self.exclude_drug.clone(),
            },
            margins: self.margins.into(),
            prior: self.prior.clone(),
            fit_only: self.fit_only,
            squash: self.squash,
            zeros: self.zeros,
            min_count: self.min_count,
            drug: self.drug.clone(),
            event: self.event.clone(),
        }
    }
}

/// Counts, fits and scores as `vigil signals` does, returning the fitted prior and the table.
/// Used by `vigil report` and `vigil demo` too.
pub fn compute(source: Source<'_>, req: &SignalsRequest) -> Result<(PriorFit, Selection)> {
    compute_grouped(source, req, &TermArgs::default())
}

/// [`compute`] with reactions and drugs grouped by a MedDRA level or an ATC class first
/// (`--event-level`, `--drug-level`; docs/terminologies.md).
pub fn compute_grouped(
    source: Source<'_>,
    req: &SignalsRequest,
    terms: &TermArgs,
) -> Result<(PriorFit, Selection)> {
    compute_scheduled(source, req, terms, Schedule::from_env())
}

/// How the phases after the fit run: the posteriors and the FDR columns side by side (the
/// default), or one after the other (`VIGIL_SEQUENTIAL=1`: each phase then has a timing of its
/// own, and tests compare the two).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Schedule {
    Overlapped,
    Sequential,
}

impl Schedule {
    fn from_env() -> Self {
        if std::env::var_os("VIGIL_SEQUENTIAL").is_some() {
            Schedule::Sequential
        } else {
            Schedule::Overlapped
        }
    }
}

/// [`compute_grouped`] with the phases after the fit run as `schedule` says.
pub(crate) fn compute_scheduled(
    source: Source<'_>,
    req: &SignalsRequest,
    terms: &TermArgs,
    schedule: Schedule,
) -> Result<(PriorFit, Selection)> {
    let store_dir = match &source {
        Source::Store(store) => Some(store.root().to_path_buf()),
        Source::Counts(_) => None,
    };
    let read_phase = crate::timing::phase("read input");
    let input = match source {
        Source::Counts(path) => read_counts_file(path, &req.query.stratify)?,
        Source::Store(store) => {
            let set = load_report_set_from(store, &req.query)
                .with_context(|| format!("{}: reading the store", store.root().display()))?;
            if set.is_empty() {
                bail!(
                    "{}: no report matches the filters (role, dates, indication, excluded drugs)",
                    store.root().display()
                );
            }
            CountsInput::Reports(set)
        }
    };
    let input = crate::cmd::meddra::apply(terms, store_dir.as_deref(), input)?;
    drop(read_phase);
    let count_phase = crate::timing::phase("count pairs");
    let stratified = !req.query.stratify.is_empty();
    let (counts, drug_names, event_names, zeros) = match input {
        CountsInput::Reports(set) => {
            let counts = count_pairs(&set, req.margins);
            let zeros = if req.zeros {
                Some(unobserved_cells(
                    &counts,
                    set.drugs.len(),
                    set.events.len(),
                    stratified,
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
            if req.margins == Margins::Pairs {
                bail!("--margins pairs applies to report-level input; an aggregated table's margins are its own a+b, a+c");
            }
            let zeros = if req.zeros {
                Some(unobserved_cells(&counts, drugs.len(), events.len(), false)?)
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
    let fit = match &req.prior {
        Some(path) => read_prior(path)?,
        None => {
            let mut data = CountData::new(counts.a.clone(), counts.expected.clone());
            let mut options = FitOptions {
                squashed: req.squash,
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
    let source_name = source.display();
    let drug_filter = req
        .drug
        .as_deref()
        .map(|d| normalise_name(d).unwrap_or_default());
    let event_filter = req
        .event
        .as_deref()
        .map(|e| normalise_name(e).unwrap_or_default());
    for (what, wanted, names, given) in [
        ("drug", &drug_filter, &drug_names, &req.drug),
        ("event", &event_filter, &event_names, &req.event),
    ] {
        if let (Some(w), Some(given)) = (wanted, given) {
            if !names.iter().any(|n| n == w) {
                bail!(
                    "{}",
                    not_found(
                        &source_name,
                        what,
                        given,
                        names.iter().map(String::as_str),
                        matches!(source, Source::Store(_))
                    )
                );
            }
        }
    }
    let keep: Vec<usize> = if req.fit_only {
        Vec::new()
    } else {
        (0..counts.len())
            .filter(|&i| counts.a[i] >= req.min_count as f64)
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
    let posteriors = || posterior_distinct(&fit.prior(), &a, &expected);
    // The family of the FDR is every pair of the table, whatever the output filters: a pair's
    // q-value must not depend on which other pairs are printed.
    let fdr = || {
        if req.fit_only {
            FamilyFdr::default()
        } else {
            family_fdr(
                &counts.a,
                &counts.n_drug,
                &counts.n_event,
                &counts.n_total,
                &counts.expected,
                Some(&fit.prior()),
            )
            .select(&keep)
        }
    };
    let (posteriors, fdr) = match schedule {
        // Both need the prior only, and each leaves a core idle at times (its sorts' last merges,
        // the FDR columns' scatter to pairs): side by side on rayon's pool, each fills the other's
        // gaps.
        Schedule::Overlapped => {
            let _phase = crate::timing::phase("posteriors and false discovery rates");
            rayon::join(posteriors, fdr)
        }
        Schedule::Sequential => {
            let posteriors = {
                let _phase = crate::timing::phase("posteriors");
                posteriors()
            };
            let _phase = crate::timing::phase("false discovery rates");
            (posteriors, fdr())
        }
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
        fdr,
        // The flag rule is an output choice of `vigil signals` (`run` sets it); report and demo
        // flag by the per-pair thresholds.
        decision: Decision::Thresholds,
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

/// The unobserved cells of the count table for the zeros-included fit (`--zeros`), unstratified
/// only.
fn unobserved_cells(
    counts: &PairCounts,
    n_drugs: usize,
    n_events: usize,
    stratified: bool,
) -> Result<CountData> {
    if stratified {
        bail!("--zeros is implemented for unstratified analyses only: stratified expected counts of unobserved cells cannot be grouped by margins");
    }
    Ok(zero_cells(
        &counts.drug,
        &counts.event,
        &counts.n_drug,
        &counts.n_event,
        counts.n_total.first().copied().unwrap_or(0.0),
        n_drugs,
        n_events,
    ))
}

fn read_prior(path: &Path) -> Result<PriorFit> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the prior", path.display()))?;
    let prior: PriorJson = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a prior JSON (alpha1, beta1, alpha2, beta2, p)",
            path.display()
        )
    })?;
    prior.into_fit().with_context(|| path.display().to_string())
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

/// Run `vigil signals`.
pub fn run(args: Args) -> Result<()> {
    if let Some(scheduler) = &args.cluster {
        return crate::cluster::signals(&args, scheduler);
    }
    let request = args.request();
    let (fit, mut selection) = match (&args.counts, &args.store) {
        (Some(path), _) => compute_grouped(Source::Counts(path), &request, &args.terms)?,
        (None, Some(dir)) => {
            let store = Store::open(dir)
                .with_context(|| format!("{}: reading the store", dir.display()))?;
            compute_grouped(Source::Store(&store), &request, &args.terms)?
        }
        (None, None) => bail!("give --counts FILE or --store DIR"),
    };
    selection.decision = args.decision;
    warn_if_on_bound(&fit);
    for (what, n) in [
        ("PRR", selection.fdr.prr_excluded),
        ("ROR", selection.fdr.ror_excluded),
    ] {
        if n > 0 {
            eprintln!(
                "vigil: note: {n} pairs have no {what} p-value (a zero cell) and are left out of the {what} Benjamini–Hochberg family (their {} is NaN)",
                what.to_lowercase() + "_q"
            );
        }
    }
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
        Format::Csv => crate::signal_table::write_csv(&selection, w),
        Format::Json => crate::signal_table::write_json(&selection, w),
        Format::Parquet => write_parquet(&selection, w),
    })
}

pub(crate) fn row_values(s: &PairScores) -> [f64; 23] {
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

pub(crate) fn flags(s: &PairScores) -> [bool; 4] {
    s.flags()
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

/// The Arrow schema of the Parquet signal table: names as text, counts as integers, the flags as
/// booleans, every other column a float; no column is nullable.
fn parquet_schema() -> Arc<Schema> {
    let fields: Vec<Field> = COLUMNS
        .iter()
        .enumerate()
        .map(|(c, name)| {
            let data_type = match c {
                0 | 1 => DataType::Utf8,
                2..=8 => DataType::Int64,
                25..FDR_START => DataType::Boolean,
                _ => DataType::Float64,
            };
            Field::new(*name, data_type, false)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Column `c` of [`COLUMNS`] for the rows from `start` scored as `scores`, built straight from the
/// scores (one column per task: each is read from the scores once and never copied again).
fn parquet_column(sel: &Selection, start: usize, scores: &[PairScores], c: usize) -> ArrayRef {
    let rows = start..start + scores.len();
    match c {
        0 => Arc::new(StringArray::from_iter_values(
            rows.map(|i| sel.drug_name(i)),
        )),
        1 => Arc::new(StringArray::from_iter_values(
            rows.map(|i| sel.event_name(i)),
        )),
        // The counts a, b, c, d and the margins, which are whole numbers held as f64.
        2..=8 => Arc::new(Int64Array::from_iter_values(
            scores.iter().map(|s| row_values(s)[c - 2] as i64),
        )),
        9..25 => Arc::new(Float64Array::from_iter_values(
            scores.iter().map(|s| row_values(s)[c - 2]),
        )),
        25..FDR_START => Arc::new(BooleanArray::new(
            BooleanBuffer::collect_bool(scores.len(), |k| flags(&scores[k])[c - 25]),
            None,
        )),
        _ => Arc::new(Float64Array::from(
            fdr_column(&sel.fdr, c - FDR_START)[rows].to_vec(),
        )),
    }
}

/// Decision column `k` (the order of [`COLUMNS`] from `prr_p`, as [`FamilyFdr::row`]).
fn fdr_column(fdr: &FamilyFdr, k: usize) -> &[f64] {
    match k {
        0 => &fdr.prr_p,
        1 => &fdr.prr_q,
        2 => &fdr.ror_p,
        3 => &fdr.ror_q,
        4 => &fdr.ic_post_null,
        5 => &fdr.ebgm_post_null,
        6 => &fdr.fdr_bayes_ic,
        _ => &fdr.fdr_bayes_ebgm,
    }
}

/// Writes the selection as Parquet: chunks of [`CHUNK`] rows, each column of a chunk built and
/// encoded on its own task ([`crate::output::parquet`]), in row groups of the parquet crate's
/// default size. The bytes are those the one-thread `ArrowWriter` wrote from the same chunks.
fn write_parquet(sel: &Selection, w: &mut (dyn Write + Send)) -> Result<()> {
    let schema = parquet_schema();
    // Dictionary pages only for the names, which repeat; the scores are nearly all distinct, and
    // dictionary-encoding them cost a fifth of the run (perf, FAERS 2023 table).
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::SNAPPY)
        .set_dictionary_enabled(false)
        .set_column_dictionary_enabled("drug".into(), true)
        .set_column_dictionary_enabled("event".into(), true)
        .build();
    crate::output::parquet::write_parquet(w, schema.clone(), props, |encoder| {
        for_each_scored_chunk(sel, |start, scores| {
            let columns: Vec<ArrayRef> = (0..COLUMNS.len())
                .into_par_iter()
                .map(|c| parquet_column(sel, start, scores, c))
                .collect();
            encoder.write(&RecordBatch::try_new(schema.clone(), columns)?)
        })
    })
}

/// The table format: EB05 descending, ties by names (so that a cluster run, whose rows come in
/// another order, prints the same table).
pub(crate) fn render_table(t: &ScoredTable) -> String {
    let mut order: Vec<usize> = (0..t.scores.len()).collect();
    order.sort_by(|&i, &j| {
        t.scores[j]
            .eb05
            .total_cmp(&t.scores[i].eb05)
            .then_with(|| (&t.drug[i], &t.event[i]).cmp(&(&t.drug[j], &t.event[j])))
    });
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
        "{:<dw$}  {:<ew$}  {:>7}  {:>9}  {:>8}  {:>8}  {:>7}  {:>7}  {:>7}  {:>7}  {:>8}  {:>8}  {:>8}  {:>8}  signals\n",
        "drug", "event", "a", "expected", "prr", "ror_lo", "ic025", "ebgm", "eb05", "eb95",
        "prr_q", "ror_q", "fdr_ic", "fdr_ebgm"
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
        let sig = s.signals();
        out += &format!(
            "{:<dw$}  {:<ew$}  {:>7}  {:>9.3}  {:>8.2}  {:>8.2}  {:>7.2}  {:>7.2}  {:>7.2}  {:>7.2}  {:>8.1e}  {:>8.1e}  {:>8.1e}  {:>8.1e}  {}\n",
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
            t.fdr[i][1],
            t.fdr[i][3],
            t.fdr[i][6],
            t.fdr[i][7],
            sig.join(",")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use vigil_store::read::{DateField, Role};

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn command_line_defaults_are_the_request_defaults() {
        let cli = Cli::try_parse_from(["signals", "--store", "s"]).unwrap();
        assert_eq!(cli.args.request(), SignalsRequest::default());
    }

    #[test]
    fn typed_options_reach_the_request() {
        let cli = Cli::try_parse_from([
            "signals",
            "--store",
            "s",
            "--role",
            "PS",
            "--date-field",
            "event",
            "--since",
            "2023",
            "--margins",
            "pairs",
            "--exclude-drug",
            "USTEKINUMAB,ADALIMUMAB",
            "--min-count",
            "3",
        ])
        .unwrap();
        let r = cli.args.request();
        assert_eq!(r.query.role, Role::Ps);
        assert_eq!(r.query.date_field, DateField::Event);
        assert_eq!(r.query.since.as_deref(), Some("2023"));
        assert_eq!(r.margins, Margins::Pairs);
        assert_eq!(r.query.exclude_drugs, ["USTEKINUMAB", "ADALIMUMAB"]);
        assert_eq!(r.min_count, 3);
        // A role or date field outside the enums is refused while parsing.
        assert!(Cli::try_parse_from(["signals", "--store", "s", "--role", "x"]).is_err());
        assert!(Cli::try_parse_from(["signals", "--store", "s", "--date-field", "x"]).is_err());
    }
}
