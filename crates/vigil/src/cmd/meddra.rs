//! `vigil meddra`: import a MedDRA release into a store and see how the store's reaction terms
//! match it; and the grouping options `vigil signals` takes (`--event-level`, `--drug-level`).
//!
//! The parsing is `vigil_terms`; the Parquet copy in the store is `vigil_store::terminology`; the
//! regrouping of a report set is `vigil_store::group`. This module only wires them to arguments.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args as ClapArgs, Subcommand};
use vigil_store::group::{regroup, reports_per_name, Side};
use vigil_store::input::CountsInput;
use vigil_store::read::{load_report_set, ReportQuery};
use vigil_store::reports::ReportSet;
use vigil_store::terminology::{read_meddra, write_meddra};
use vigil_terms::atc::{AtcIndex, DrugLevel};
use vigil_terms::meddra::{EventGrouper, EventLevel, GroupOptions, Match, MeddraTerms};

/// Arguments of `vigil meddra`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(Subcommand, Debug)]
enum Action {
    /// Import a MedDRA release (the MSSO ASCII files of its MedAscii folder) into a store.
    ///
    /// The release is kept as Parquet beside the report versions and replaces any earlier one
    /// atomically. MedDRA is licensed: vigil ships none of it; use your organisation's release.
    #[command(
        after_help = "Examples:\n  vigil meddra import MedDRA_27_0_English/MedAscii --store faers-store\n  vigil meddra import MedAscii --store faers-store --pt-fixes pt_fixed.csv"
    )]
    Import {
        /// The folder holding llt.asc, pt.asc, hlt.asc, hlt_pt.asc, hlgt.asc, hlgt_hlt.asc,
        /// soc.asc, soc_hlgt.asc, mdhier.asc, smq_list.asc, smq_content.asc.
        dir: PathBuf,
        /// The store.
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
        /// The release version, when the folder has no meddra_release.asc (or to override it).
        #[arg(long, value_name = "X.Y")]
        version: Option<String>,
        /// Spelling fixes for reported terms that are not PTs: a `;`-separated table with columns
        /// `pt` and `standard_pt` (DiAna's pt_fixed.csv layout).
        #[arg(long, value_name = "FILE")]
        pt_fixes: Option<PathBuf>,
    },
    /// How the store's reaction terms match its MedDRA release: as PTs, through LLTs, through
    /// the spelling fixes, or not at all (kept verbatim), with the number of reports of each.
    #[command(
        after_help = "Examples:\n  vigil meddra check --store faers-store\n  vigil meddra check --store faers-store --unmapped-only"
    )]
    Check {
        /// The store.
        #[arg(long, value_name = "DIR")]
        store: PathBuf,
        /// List only the terms that match no PT.
        #[arg(long)]
        unmapped_only: bool,
    },
}

/// Runs `vigil meddra`.
pub fn run(args: Args) -> Result<()> {
    match args.action {
        Action::Import {
            dir,
            store,
            version,
            pt_fixes,
        } => {
            let mut terms = MeddraTerms::read_release(&dir, version.as_deref())?;
            if let Some(f) = &pt_fixes {
                terms.add_pt_fixes_csv(f)?;
            }
            let written = write_meddra(
                &store,
                &terms,
                &dir.display().to_string(),
                &pt_fixes
                    .as_ref()
                    .map_or_else(String::new, |p| p.display().to_string()),
            )?;
            println!(
                "{}: MedDRA {} imported ({} PT paths, {} LLTs, {} SMQ terms, {} spelling fixes) into {}",
                store.display(),
                terms.version,
                terms.paths.len(),
                terms.llts.len(),
                terms.smq_terms.len(),
                terms.pt_fixes.len(),
                written.display()
            );
            Ok(())
        }
        Action::Check {
            store,
            unmapped_only,
        } => check(&store, unmapped_only),
    }
}

fn check(store: &Path, unmapped_only: bool) -> Result<()> {
    let terms = require_meddra(store)?;
    let set = load_report_set(
        store,
        &ReportQuery {
            role: vigil_store::read::Role::All,
            ..ReportQuery::default()
        },
    )
    .with_context(|| format!("{}: reading the store", store.display()))?;
    let grouper = EventGrouper::new(
        &terms,
        GroupOptions {
            level: EventLevel::Pt,
            smq_narrow: false,
            primary_soc: false,
        },
    );
    let counts = reports_per_name(&set, Side::Events);
    let mut rows: Vec<(Match, u64, &str, String)> = set
        .events
        .names()
        .iter()
        .zip(&counts)
        .map(|(name, &n)| {
            let (pt, how) = grouper.pt_of(name);
            (how, n, name.as_str(), pt.unwrap_or_default())
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)));
    println!("match\treports\treported_term\tpt");
    for (how, n, name, pt) in &rows {
        if !unmapped_only || *how == Match::Unmapped {
            println!("{}\t{n}\t{name}\t{pt}", how.key());
        }
    }
    eprintln!(
        "{}: MedDRA {}: {}",
        store.display(),
        terms.version,
        summary(rows.iter().map(|r| (r.0, r.1)))
    );
    Ok(())
}

/// "N terms (R reports) as PTs, …" for the terms and their report counts.
fn summary(rows: impl Iterator<Item = (Match, u64)>) -> String {
    let mut by: BTreeMap<Match, (usize, u64)> = BTreeMap::new();
    for (how, n) in rows {
        let e = by.entry(how).or_default();
        e.0 += 1;
        e.1 += n;
    }
    [Match::Pt, Match::Llt, Match::Fixed, Match::Unmapped]
        .iter()
        .map(|m| {
            let (t, r) = by.get(m).copied().unwrap_or_default();
            format!("{}: {t} terms ({r} report rows)", m.key())
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn require_meddra(store: &Path) -> Result<MeddraTerms> {
    read_meddra(store)?.with_context(|| {
        format!(
            "{}: no MedDRA release in the store: import one first (vigil meddra import MEDASCII_DIR --store {})",
            store.display(),
            store.display()
        )
    })
}

/// The grouping options of `vigil signals`.
#[derive(ClapArgs, Debug, Clone, Default)]
pub struct TermArgs {
    /// With --store and an imported MedDRA release (`vigil meddra import`): count reactions by
    /// `pt` (reported terms mapped to the release's PTs, through LLTs and spelling fixes), `hlt`,
    /// `hlgt`, `soc` or `smq`. A report counts once per group. Terms that match no PT are kept
    /// verbatim and listed on standard error.
    #[arg(long, value_name = "pt|hlt|hlgt|soc|smq")]
    pub event_level: Option<String>,
    /// With --event-level smq: `narrow` (narrow-scope terms, the default) or `broad` (narrow and
    /// broad terms).
    #[arg(long, value_name = "narrow|broad")]
    pub smq_scope: Option<String>,
    /// With --event-level hlt|hlgt|soc: only each PT's primary SOC path (default: every path of
    /// a multi-axial PT).
    #[arg(long)]
    pub primary_soc: bool,
    /// Count drugs by `substance` (as stored, the default) or by ATC class `atc5`…`atc1`
    /// (needs --atc). A report counts once per class.
    #[arg(long, value_name = "substance|atc5|atc4|atc3|atc2|atc1")]
    pub drug_level: Option<String>,
    /// Substance → ATC table in DiAna's ATC_binder layout (ATC_binder_2023.csv; see
    /// docs/terminologies.md for where to get it).
    #[arg(long, value_name = "FILE")]
    pub atc: Option<PathBuf>,
    /// With --drug-level atcN: a substance with several ATC codes counts in the class of every
    /// code (default: its primary code only, as the table marks it).
    #[arg(long)]
    pub atc_all_codes: bool,
}

impl TermArgs {
    /// True when no grouping is asked for (the input is used as today).
    pub fn is_default(&self) -> bool {
        self.event_level.is_none()
            && self.smq_scope.is_none()
            && !self.primary_soc
            && self.drug_level.is_none()
            && self.atc.is_none()
            && !self.atc_all_codes
    }
}

/// `input` with its events and drugs grouped as `args` asks (unchanged when it asks nothing).
/// MedDRA grouping needs the store's release; ATC grouping needs report-level input.
pub fn apply(args: &TermArgs, store: Option<&Path>, input: CountsInput) -> Result<CountsInput> {
    if args.is_default() {
        return Ok(input);
    }
    let event_level = args
        .event_level
        .as_deref()
        .map(str::parse::<EventLevel>)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--event-level {e}"))?;
    let drug_level = args
        .drug_level
        .as_deref()
        .map(str::parse::<DrugLevel>)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--drug-level {e}"))?;
    let smq_narrow = match args.smq_scope.as_deref() {
        None | Some("narrow") => true,
        Some("broad") => false,
        Some(other) => bail!("--smq-scope {other:?}: expected narrow or broad"),
    };
    if args.smq_scope.is_some() && event_level != Some(EventLevel::Smq) {
        bail!("--smq-scope applies to --event-level smq");
    }
    if args.primary_soc
        && !matches!(
            event_level,
            Some(EventLevel::Hlt | EventLevel::Hlgt | EventLevel::Soc)
        )
    {
        bail!("--primary-soc applies to --event-level hlt, hlgt or soc");
    }
    let atc_level = drug_level.filter(|l| *l != DrugLevel::Substance);
    if atc_level.is_some() && args.atc.is_none() {
        bail!("--drug-level {}: give the substance → ATC table with --atc FILE (DiAna's ATC_binder_2023.csv; docs/terminologies.md)", args.drug_level.as_deref().unwrap_or(""));
    }
    if (args.atc.is_some() || args.atc_all_codes) && atc_level.is_none() {
        bail!("--atc and --atc-all-codes apply to --drug-level atc5|atc4|atc3|atc2|atc1");
    }
    let CountsInput::Reports(mut set) = input else {
        bail!("--event-level and --drug-level group report-level input (--store, or --counts with id,drug,event rows), not aggregated 2×2 tables");
    };
    if let Some(level) = event_level {
        let Some(store) = store else {
            bail!("--event-level needs --store (the MedDRA release is imported into a store)");
        };
        let terms = require_meddra(store)?;
        set = group_events(&set, &terms, level, smq_narrow, args.primary_soc);
    }
    if let (Some(level), Some(path)) = (atc_level, &args.atc) {
        let index = AtcIndex::read_csv(path)?;
        set = group_drugs(&set, &index, level, args.atc_all_codes);
    }
    Ok(CountsInput::Reports(set))
}

/// Events grouped by the release, with the terms that match no PT listed on standard error.
pub fn group_events(
    set: &ReportSet,
    terms: &MeddraTerms,
    level: EventLevel,
    smq_narrow: bool,
    primary_soc: bool,
) -> ReportSet {
    let grouper = EventGrouper::new(
        terms,
        GroupOptions {
            level,
            smq_narrow,
            primary_soc,
        },
    );
    let counts = reports_per_name(set, Side::Events);
    let mut unmapped: Vec<(u64, &str)> = Vec::new();
    let mut matches = Vec::with_capacity(counts.len());
    for (name, &n) in set.events.names().iter().zip(&counts) {
        let (_, how) = grouper.pt_of(name);
        if how == Match::Unmapped {
            unmapped.push((n, name));
        }
        matches.push((how, n));
    }
    unmapped.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    eprintln!(
        "vigil: MedDRA {}: reaction terms {}",
        terms.version,
        summary(matches.into_iter())
    );
    if !unmapped.is_empty() {
        let shown: Vec<String> = unmapped
            .iter()
            .take(10)
            .map(|(n, t)| format!("{t} ({n})"))
            .collect();
        eprintln!(
            "vigil: {} reaction terms match no PT and are kept as their own events: {}{} (all: vigil meddra check --store … --unmapped-only)",
            unmapped.len(),
            shown.join(", "),
            if unmapped.len() > 10 { ", …" } else { "" }
        );
    }
    regroup(set, Side::Events, |name| grouper.groups_of(name).0)
}

/// Drugs grouped by ATC class. A `;`-joined combination counts in the classes of each of its
/// ingredients; a substance without an ATC code is kept verbatim, and counted on standard error.
pub fn group_drugs(
    set: &ReportSet,
    index: &AtcIndex,
    level: DrugLevel,
    all_codes: bool,
) -> ReportSet {
    let counts = reports_per_name(set, Side::Drugs);
    let mut unmapped: Vec<(u64, &str)> = Vec::new();
    for (name, &n) in set.drugs.names().iter().zip(&counts) {
        if atc_classes(index, name, level, all_codes).is_empty() {
            unmapped.push((n, name));
        }
    }
    unmapped.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    if !unmapped.is_empty() {
        let shown: Vec<String> = unmapped
            .iter()
            .take(10)
            .map(|(n, t)| format!("{t} ({n})"))
            .collect();
        eprintln!(
            "vigil: {} of {} drug names have no ATC code in the table and are kept as they are: {}{}",
            unmapped.len(),
            set.drugs.len(),
            shown.join(", "),
            if unmapped.len() > 10 { ", …" } else { "" }
        );
    }
    regroup(set, Side::Drugs, |name| {
        atc_classes(index, name, level, all_codes)
    })
}

/// The classes of a stored drug name (each `;`-separated ingredient looked up as written and as
/// its INN, see `vigil_faers::drugname::inn_name`).
pub fn atc_classes(index: &AtcIndex, name: &str, level: DrugLevel, all_codes: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in name.split(';') {
        let mut classes = index.classes_of(part, level, all_codes);
        if classes.is_empty() {
            if let Some(inn) = vigil_faers::drugname::inn_name(part) {
                classes = index.classes_of(&inn, level, all_codes);
            }
        }
        out.extend(classes);
    }
    out.sort();
    out.dedup();
    out
}
