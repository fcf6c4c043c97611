//! The ingest pipeline: FDA files → a new, de-duplicated store version.
//!
//! 1. Find the inputs; read every deleted-case list.
//! 2. Read every DEMO file (all quarters) for the de-duplication key of each report candidate
//!    only (caseid, caseversion, primaryid, fda_dt, quarter and era, as integers: 32 bytes a
//!    report), together with the reports already in the store; meanwhile, learn drug names from
//!    the DRUG rows that give them a `prod_ai` ([`learn`]).
//! 3. De-duplicate reports (faers-format.md §5, rules 1–3):
//!    * `deleted case`: caseid on a deleted-case list (any naming variant);
//!    * `same primaryid republished later`: one primaryid in several quarters keeps the latest;
//!    * `older case version`: one report per caseid, the greatest by (caseversion, fda_dt,
//!      quarter, primaryid); legacy AERS reports have no caseversion and count as version 0, so
//!      a case carried from AERS into FAERS keeps its FAERS version;
//!    * `older than the stored version`: a candidate that loses to the report already stored.
//! 4. Per quarter, stream the child tables in parallel, keeping rows whose primaryid is a kept
//!    report of that quarter, and removing duplicate rows on (primaryid, drug_seq) for DRUG and
//!    (primaryid, upper(pt)) for REAC. Meanwhile read every DEMO file again, in quarter order,
//!    streaming the kept reports into the reports table (rows, counts and warnings are taken
//!    from this second read). Why two reads: holding every quarter's DEMO rows until
//!    de-duplication took 7.6 GB for 20 M reports; a second read of DEMO (a sixth of the input)
//!    costs far less than that memory.
//! 5. Write `sources` and the child batch files into a new store version and switch to it
//!    atomically (see `vigil_store::write`).
//!
//! Every row read is counted once as kept, rejected or de-duplicated in the ingest report.
//!
//! Submodules, one concern each: [`check`] refuses unusable quarters before anything is written;
//! [`deleted`] reads and keeps the deleted-case lists; [`demo`] parses DEMO into report keys and
//! report candidates; [`dedup`] applies the report-level rules; [`children`] streams the child
//! tables; [`encode`] writes the reports and sources tables; [`learn`] learns drug names from
//! the input; [`remap`] rewrites the stored drug rows that a change of the learned names
//! concerns; [`warnings`] counts field-level problems.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use vigil_store::ingest_report::{FileRead, IngestReport, TableCounts, MAX_LISTED_UNMAPPED};
use vigil_store::write::StoreTxn;

use crate::discover::{find_faers_inputs, InputFile, InputKind, Quarter};
use crate::drugname::DrugNormaliser;
use crate::learned_names::LearningRule;
use crate::table::Table;
use crate::FaersError;

mod check;
mod children;
mod dedup;
mod deleted;
mod demo;
mod encode;
pub(crate) mod learn;
pub mod remap;
mod warnings;

pub use check::{check_quarters, required_columns};
pub use deleted::read_deleted_list;
pub use learn::{LEARNED_NAMES_FILE, NAME_EVIDENCE_FILE};

pub(crate) use children::ChildBuilder;
pub(crate) use dedup::dedup_reports;
pub(crate) use deleted::stored_deleted;
pub(crate) use demo::{stored_reports, DemoRow};
pub(crate) use encode::{write_reports, write_sources, ReportsWriter};
pub(crate) use warnings::Warnings;

use children::{read_child_table, ChildContext, ChildParse, SortedIds};
use dedup::{dedup_keys, less_complete_resends, ReportKey};
use deleted::write_deleted;
use demo::{read_demo_keys, stream_demo};

/// Rows per Arrow batch written.
const FLUSH_ROWS: usize = 64 * 1024;
/// Field warnings listed (all are counted).
const MAX_WARNING_EXAMPLES: usize = 1_000;
/// Separator of the text fields packed into one string per report in memory.
const PACK_SEP: char = '\u{1f}';

/// Rule names used in the ingest report.
pub mod rules {
    /// Caseid on a deleted-case list.
    pub const DELETED: &str = "deleted case";
    /// The same primaryid in several quarters: the latest quarter is kept.
    pub const REPUBLISHED: &str = "same primaryid republished later";
    /// A newer version of the same caseid was kept.
    pub const OLDER_VERSION: &str = "older case version";
    /// The store already holds a newer (or equal) version of the case.
    pub const OLDER_THAN_STORED: &str = "older than the stored version";
    /// Child row of a report that was not kept (deleted or superseded).
    pub const REPORT_NOT_KEPT: &str = "report not kept (deleted or superseded)";
    /// A case version already stored, re-sent with fewer drug or reaction rows: the stored copy is kept.
    pub const LESS_COMPLETE: &str =
        "same case version re-sent with fewer drug or reaction rows (stored copy kept)";
    /// The same caseid in legacy AERS and in FAERS: one report is kept, the latest version
    /// (legacy AERS counts as version 0; faers-format.md §5 rule 3).
    pub const CROSS_ERA: &str = "same case in legacy AERS and FAERS (cross-era)";
    /// Duplicate DRUG row on (primaryid, drug_seq).
    pub const DUP_DRUG: &str = "duplicate (primaryid, drug_seq)";
    /// Duplicate REAC row on (primaryid, upper(pt)).
    pub const DUP_REAC: &str = "duplicate (primaryid, upper(pt))";
}

/// Options of an ingest.
#[derive(Clone, Default)]
pub struct IngestOptions {
    /// Extra brand → ingredient CSV files (`brand,ingredient[,source]`).
    pub dictionary_files: Vec<PathBuf>,
    /// When drug names are learned from the rows that give them a `prod_ai`
    /// ([`crate::learned_names`]); `None` uses [`LearningRule::default`].
    pub learning_rule: Option<LearningRule>,
    /// Called with the number of input bytes just processed (for a progress bar).
    pub progress: Option<Arc<dyn Fn(u64) + Send + Sync>>,
}

/// What an ingest did.
#[derive(Debug, Clone)]
pub struct IngestOutcome {
    /// The ingest report (also written into the store version).
    pub report: IngestReport,
    /// The new live version directory.
    pub version_dir: PathBuf,
    /// Input bytes read (uncompressed).
    pub bytes: u64,
}

const DATE_COLUMNS: &[&str] = &[
    "event_dt",
    "mfr_dt",
    "init_fda_dt",
    "fda_dt",
    "rept_dt",
    "death_dt",
    "exp_dt",
    "start_dt",
    "end_dt",
];

fn progress_tick(opts: &IngestOptions, reader_bytes: u64, last: &mut u64) {
    if let Some(p) = &opts.progress {
        if reader_bytes > *last {
            p(reader_bytes - *last);
            *last = reader_bytes;
        }
    }
}

fn file_read(
    file: &InputFile,
    table: &str,
    quarter: Option<Quarter>,
    era: &str,
    bytes: u64,
    rows: u64,
) -> FileRead {
    FileRead {
        path: file.display.clone(),
        table: table.to_owned(),
        quarter: quarter.map_or_else(|| "unknown".to_owned(), Quarter::label),
        era: era.to_owned(),
        bytes,
        rows,
    }
}

/// Merges per-table drug-name statistics into the report.
pub(crate) fn finish_name_stats(
    report: &mut IngestReport,
    sources: HashMap<&'static str, u64>,
    unmapped: HashMap<String, u64>,
) {
    for (k, v) in sources {
        *report.drug_name_sources.entry(k.to_owned()).or_default() += v;
    }
    let mut u: Vec<(String, u64)> = unmapped.into_iter().collect();
    u.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    u.truncate(MAX_LISTED_UNMAPPED);
    report.unmapped_drug_names = u;
}

/// Ingests FAERS/AERS quarterly files (zips, folders, files) into the store at `store`.
pub fn ingest_faers(
    paths: &[PathBuf],
    store: &Path,
    opts: &IngestOptions,
) -> Result<IngestOutcome, FaersError> {
    let started = Instant::now();
    let inputs = find_faers_inputs(paths)?;
    let groups = tables_by_quarter(paths, &inputs)?;
    check_quarters(&groups)?;
    let mut normaliser = DrugNormaliser::builtin();
    for d in &opts.dictionary_files {
        normaliser.add_csv_file(d)?;
    }
    let mut report = IngestReport::default();
    let mut txn = StoreTxn::begin(store)?;
    if inputs.iter().any(|f| f.synthetic) {
        txn.mark_synthetic();
    }
    report.version = txn.version();
    let mut files_read: Vec<(u32, FileRead)> = Vec::new();
    let mut warnings = Warnings::default();

    // 1. Deleted-case lists.
    let deleted = read_deleted_lists(&txn, &inputs, &mut report, &mut files_read)?;

    // 2. Quarters in order; one batch each. DEMO is read twice: now only the de-duplication key
    //    of every report (integers), and again in step 4 to write the kept reports, so that no
    //    quarter's DEMO rows are held in memory.
    let (stored, mut quarters) = stored_reports(&txn)?;
    let mut group_batches: Vec<(Option<Quarter>, u32)> = Vec::new();
    for q in groups.keys() {
        let label = q.map_or_else(|| "unknown".to_owned(), Quarter::label);
        let batch = txn.new_batch(&label);
        quarters.insert(batch, label);
        group_batches.push((*q, batch));
    }
    let demo_tasks = demo_tasks(&groups, &group_batches);
    // DEMO and the drug-name learning pass read different files: both at once.
    let all_tables: Vec<&InputFile> = groups.values().flatten().copied().collect();
    let stored_names = learn::stored_learned_names(&txn)?;
    let (demo_keys, learned) = rayon::join(
        || -> Result<Vec<Vec<ReportKey>>, FaersError> {
            demo_tasks
                .par_iter()
                .map(|t| read_demo_keys(t.file, t.quarter))
                .collect()
        },
        || {
            learn::learn_drug_names(
                &all_tables,
                stored_names,
                opts.learning_rule.unwrap_or_default(),
            )
        },
    );
    let (demo_keys, (learned, evidence)) = (demo_keys?, learned?);
    let names_before =
        learn::record_learned(&txn, &learned, &evidence, &mut normaliser, &mut report)?;
    let group_pids = group_pids(&demo_tasks, &demo_keys);

    // 3. Report-level de-duplication; a stored case version re-sent with fewer drug or reaction
    //    rows keeps its stored copy.
    let (keep_stored, less_complete) =
        less_complete_resends(&txn, &stored, &group_pids, &groups, &group_batches)?;
    report.less_complete_resends = less_complete;
    let mut dedup_counts = TableCounts::default();
    let kept = KeptReports::decide(
        stored,
        demo_keys,
        &demo_tasks,
        &deleted,
        &keep_stored,
        &mut dedup_counts,
        &mut report.stored_reports_removed,
    );

    // 4. Child tables, per quarter, tables in parallel, while DEMO is read again and the reports
    //    table written.
    let children = ChildTables {
        txn: &txn,
        groups: &groups,
        group_batches: &group_batches,
        group_pids: &group_pids,
        deleted: &deleted,
        normaliser: &normaliser,
        opts,
    };
    let (demo, results) = children.read(&kept.winners, || {
        write_kept_reports(&txn, &quarters, &demo_tasks, &kept, opts)
    });
    let demo = demo?;
    let results = results?;
    let reports_in_store = kept.count;
    drop(kept);
    let demo_table = report.table_mut("demo");
    demo_table.merge(demo.counts);
    demo_table.merge(dedup_counts);
    warnings.merge(demo.warnings);
    files_read.extend(demo.files);
    let mut all_sources: HashMap<&'static str, u64> = HashMap::new();
    let mut all_unmapped: HashMap<String, u64> = HashMap::new();
    for (batch, r) in results {
        report.table_mut(r.table.key()).merge(r.counts);
        warnings.merge(r.warnings);
        files_read.extend(r.files.into_iter().map(|f| (batch, f)));
        for (k, v) in r.name_sources {
            *all_sources.entry(k).or_default() += v;
        }
        for (k, v) in r.unmapped {
            *all_unmapped.entry(k).or_default() += v;
        }
    }
    finish_name_stats(&mut report, all_sources, all_unmapped);
    remap::remap_and_report(&txn, &names_before, &normaliser, &mut report)?;

    // 5. Sources, commit (the reports table was written in step 4).
    commit_ingest(txn, report, files_read, reports_in_store, warnings, started)
}

/// The last step of every ingest (FAERS and openFDA): the sources table, the report's totals and
/// warnings, then the commit that makes the new version live.
pub(crate) fn commit_ingest(
    txn: StoreTxn,
    mut report: IngestReport,
    files_read: Vec<(u32, FileRead)>,
    reports_in_store: u64,
    warnings: Warnings,
    started: Instant,
) -> Result<IngestOutcome, FaersError> {
    write_sources(&txn, &files_read)?;
    report.reports_in_store = reports_in_store;
    report.field_warnings = warnings.counts;
    report.field_warning_examples = warnings.examples;
    let bytes: u64 = files_read.iter().map(|(_, f)| f.bytes).sum();
    report.files = files_read.into_iter().map(|(_, f)| f).collect();
    report.seconds = started.elapsed().as_secs_f64();
    let version_dir = txn.commit(&report)?;
    Ok(IngestOutcome {
        report,
        version_dir,
        bytes,
    })
}

/// The table files among `inputs`, by quarter; an error when there are none or no DEMO file.
fn tables_by_quarter<'i>(
    paths: &[PathBuf],
    inputs: &'i [InputFile],
) -> Result<BTreeMap<Option<Quarter>, Vec<&'i InputFile>>, FaersError> {
    let tables: Vec<&InputFile> = inputs
        .iter()
        .filter(|f| matches!(f.kind, InputKind::Table(_)))
        .collect();
    if tables.is_empty() {
        return Err(FaersError::Input(format!(
            "no FAERS table files (DEMO*, DRUG*, REAC*, OUTC*, RPSR*, THER*, INDI*) found under {}",
            paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if !tables
        .iter()
        .any(|f| f.kind == InputKind::Table(Table::Demo))
    {
        return Err(FaersError::Input(
            "no DEMO file found: reports cannot be identified without it".into(),
        ));
    }
    let mut groups: BTreeMap<Option<Quarter>, Vec<&InputFile>> = BTreeMap::new();
    for f in tables {
        groups.entry(f.quarter).or_default().push(f);
    }
    Ok(groups)
}

/// The deleted caseids: those of the lists read now and of every list ingested before (kept in
/// the store), so that a list deletes its cases whether their quarters come before or after it.
/// Writes the store's list when this ingest adds to it.
fn read_deleted_lists(
    txn: &StoreTxn,
    inputs: &[InputFile],
    report: &mut IngestReport,
    files_read: &mut Vec<(u32, FileRead)>,
) -> Result<HashSet<u64>, FaersError> {
    let mut deleted_rows = stored_deleted(txn)?;
    let stored_lists = deleted_rows.len();
    let mut listed_now = HashSet::new();
    for f in inputs.iter().filter(|f| f.kind == InputKind::Deleted) {
        let mut ids = HashSet::new();
        let fr = read_deleted_list(f, report.table_mut("deleted"), &mut ids)?;
        let quarter = f
            .quarter
            .map_or_else(|| "unknown".to_owned(), Quarter::label);
        let list: Arc<str> = Arc::from(f.display.as_str());
        deleted_rows.extend(ids.iter().map(|&id| (id, quarter.clone(), list.clone())));
        listed_now.extend(ids);
        files_read.push((0, fr));
    }
    report.deleted_caseids_listed = listed_now.len() as u64;
    let deleted: HashSet<u64> = deleted_rows.iter().map(|r| r.0).collect();
    report.deleted_caseids_in_store = deleted.len() as u64;
    if deleted_rows.len() > stored_lists {
        write_deleted(txn, deleted_rows)?;
    }
    Ok(deleted)
}

/// One DEMO file to read, with its quarter and store batch.
struct DemoTask<'i> {
    file: &'i InputFile,
    batch: u32,
    quarter: Option<Quarter>,
}

/// The DEMO files of every quarter, in quarter order (the order of the reports table).
fn demo_tasks<'i>(
    groups: &BTreeMap<Option<Quarter>, Vec<&'i InputFile>>,
    group_batches: &[(Option<Quarter>, u32)],
) -> Vec<DemoTask<'i>> {
    let mut tasks = Vec::new();
    for (q, batch) in group_batches {
        for f in groups[q]
            .iter()
            .filter(|f| f.kind == InputKind::Table(Table::Demo))
        {
            tasks.push(DemoTask {
                file: f,
                batch: *batch,
                quarter: *q,
            });
        }
    }
    tasks
}

/// The primaryids read in each batch's DEMO (kept or not).
fn group_pids(tasks: &[DemoTask], keys: &[Vec<ReportKey>]) -> HashMap<u32, SortedIds> {
    let mut ids: HashMap<u32, Vec<u64>> = HashMap::new();
    for (t, ks) in tasks.iter().zip(keys) {
        ids.entry(t.batch)
            .or_default()
            .extend(ks.iter().map(|k| k.primaryid));
    }
    ids.into_iter()
        .map(|(b, v)| (b, SortedIds::from_unsorted(v)))
        .collect()
}

/// Which reports de-duplication keeps: the stored reports that stay, and for the DEMO files read
/// now, one flag per report candidate of each file.
struct KeptReports {
    stored: Vec<DemoRow>,
    /// Per DEMO task, per candidate in file order.
    new: Vec<Vec<bool>>,
    /// Primaryids of the kept reports, per batch (for the child tables).
    winners: HashMap<u32, SortedIds>,
    /// Reports in the new version.
    count: u64,
}

impl KeptReports {
    /// Runs the report-level rules on the stored reports followed by the keys read now (in task
    /// order), counting as [`dedup_keys`] does.
    fn decide(
        stored: Vec<DemoRow>,
        demo_keys: Vec<Vec<ReportKey>>,
        tasks: &[DemoTask],
        deleted: &HashSet<u64>,
        keep_stored: &HashSet<u64>,
        demo_counts: &mut TableCounts,
        stored_removed: &mut BTreeMap<String, u64>,
    ) -> Self {
        let n_stored = stored.len();
        let lens: Vec<usize> = demo_keys.iter().map(Vec::len).collect();
        let mut keys: Vec<ReportKey> = Vec::with_capacity(n_stored + lens.iter().sum::<usize>());
        keys.extend(stored.iter().map(ReportKey::of));
        for ks in demo_keys {
            keys.extend(ks);
        }
        let alive = dedup_keys(
            &keys,
            n_stored,
            deleted,
            keep_stored,
            demo_counts,
            stored_removed,
        );
        let count = alive.iter().filter(|&&a| a).count() as u64;
        let stored: Vec<DemoRow> = stored
            .into_iter()
            .zip(&alive)
            .filter_map(|(r, &a)| a.then_some(r))
            .collect();
        let mut winner_ids: HashMap<u32, Vec<u64>> = HashMap::new();
        let mut new = Vec::with_capacity(tasks.len());
        let mut at = n_stored;
        for (t, len) in tasks.iter().zip(lens) {
            let flags = &alive[at..at + len];
            let ids = winner_ids.entry(t.batch).or_default();
            ids.extend(
                keys[at..at + len]
                    .iter()
                    .zip(flags)
                    .filter(|(_, &a)| a)
                    .map(|(k, _)| k.primaryid),
            );
            new.push(flags.to_vec());
            at += len;
        }
        // Stored survivors keep their batch: their primaryids count as winners there too, as
        // when the kept rows were one list.
        for r in &stored {
            winner_ids.entry(r.batch).or_default().push(r.primaryid);
        }
        let winners = winner_ids
            .into_iter()
            .map(|(b, ids)| (b, SortedIds::from_unsorted(ids)))
            .collect();
        Self {
            stored,
            new,
            winners,
            count,
        }
    }
}

/// What the second read of the DEMO files counted.
struct DemoCounts {
    counts: vigil_store::ingest_report::TableCounts,
    warnings: Warnings,
    files: Vec<(u32, FileRead)>,
}

/// Writes the reports table: the stored reports kept, then the kept reports of each DEMO file
/// read again in quarter order (the order of one de-duplicated list).
fn write_kept_reports(
    txn: &StoreTxn,
    quarters: &HashMap<u32, String>,
    tasks: &[DemoTask],
    kept: &KeptReports,
    opts: &IngestOptions,
) -> Result<DemoCounts, FaersError> {
    let mut writer = ReportsWriter::new(txn, quarters)?;
    for r in &kept.stored {
        writer.push(r.clone())?;
    }
    let mut out = DemoCounts {
        counts: Default::default(),
        warnings: Warnings::default(),
        files: Vec::new(),
    };
    for (t, flags) in tasks.iter().zip(&kept.new) {
        let p = stream_demo(t.file, t.batch, t.quarter, opts, flags, &mut |row| {
            writer.push(row)
        })?;
        out.counts.merge(p.counts);
        out.warnings.merge(p.warnings);
        out.files.push((t.batch, p.file));
    }
    writer.finish()?;
    Ok(out)
}

/// What [`ChildTables::read`] read: per (quarter, table) task, the batch and the counts.
type ChildResults = Result<Vec<(u32, ChildParse)>, FaersError>;

/// One (quarter, table) task of [`ChildTables::read`]: the batch and what was read.
type ChildResult = Result<(u32, ChildParse), FaersError>;

/// What reading the child tables of every quarter needs.
struct ChildTables<'a> {
    txn: &'a StoreTxn,
    groups: &'a BTreeMap<Option<Quarter>, Vec<&'a InputFile>>,
    group_batches: &'a [(Option<Quarter>, u32)],
    group_pids: &'a HashMap<u32, SortedIds>,
    deleted: &'a HashSet<u64>,
    normaliser: &'a DrugNormaliser,
    opts: &'a IngestOptions,
}

impl ChildTables<'_> {
    /// Streams every child table of every quarter into the transaction, one task per (quarter,
    /// table), keeping the rows of the reports in `winners` (primaryids per batch); runs
    /// `reports` (which writes the reports table) meanwhile, and returns what it returned.
    fn read<T: Send>(
        &self,
        winners: &HashMap<u32, SortedIds>,
        reports: impl FnOnce() -> Result<T, FaersError> + Send,
    ) -> (Result<T, FaersError>, ChildResults) {
        let no_winners = SortedIds::default();
        // One task per (quarter, table): both cores stay busy even when one table dominates a
        // quarter.
        let mut tasks: Vec<(Option<Quarter>, u32, Table, Vec<&InputFile>)> = Vec::new();
        for (q, batch) in self.group_batches {
            for t in &Table::ALL[1..] {
                let fs: Vec<&InputFile> = self.groups[q]
                    .iter()
                    .copied()
                    .filter(|f| f.kind == InputKind::Table(*t))
                    .collect();
                if !fs.is_empty() {
                    tasks.push((*q, *batch, *t, fs));
                }
            }
        }
        // Largest first, for a better balance.
        tasks.sort_by_key(|t| std::cmp::Reverse(t.3.iter().map(|f| f.bytes).sum::<u64>()));
        // The reports table depends only on the de-duplication: it is written while the child
        // tables are parsed (it ran alone on one core after them before, a sixth of the ingest).
        let (reports_written, results): (Result<T, FaersError>, Vec<ChildResult>) =
            rayon::join(reports, || {
                tasks
                    .par_iter()
                    .map(|(q, batch, t, fs)| {
                        let ctx = ChildContext {
                            batch: *batch,
                            quarter: *q,
                            winners: winners.get(batch).unwrap_or(&no_winners),
                            group_pids: self.group_pids.get(batch).unwrap_or(&no_winners),
                            deleted: self.deleted,
                            normaliser: self.normaliser,
                            opts: self.opts,
                        };
                        let mut sink = self.txn.child_sink(t.child().expect("child"), *batch)?;
                        let r = read_child_table(*t, fs, &ctx, &mut sink)?;
                        sink.finish()?;
                        Ok((*batch, r))
                    })
                    .collect()
            });
        (reports_written, results.into_iter().collect())
    }
}
