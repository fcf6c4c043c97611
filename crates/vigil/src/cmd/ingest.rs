//! `vigil ingest`: FAERS/AERS quarterly files or openFDA drug-event JSON into a store.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use vigil_faers::discover::{find_faers_inputs, find_openfda_inputs};
use vigil_faers::ingest::{IngestOptions, IngestOutcome};
use vigil_faers::FaersError;

/// Arguments of `vigil ingest`.
#[derive(ClapArgs, Debug)]
pub struct Args {
    #[command(subcommand)]
    source: Source,
}

#[derive(Subcommand, Debug)]
enum Source {
    /// FAERS (2012Q4+) and legacy AERS (2004–2012Q3) quarterly ASCII files: zips
    /// (faers_ascii_2024Q3.zip, aers_ascii_2010q1.zip), extracted folders, or folders of them.
    Faers(SourceArgs),
    /// openFDA drug-event bulk JSON files (drug-event-0001-of-0005.json, plain or zipped).
    Openfda(SourceArgs),
    /// ICH E2B(R3) ICSR XML files (as `vigil assess --export-e2b` and `vigil serve` write them), or
    /// folders of *.xml: the monitored cases join the post-marketing store.
    E2b(SourceArgs),
}

#[derive(ClapArgs, Debug)]
struct SourceArgs {
    /// Input zips, folders (searched at any depth) or files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The store directory (created if missing; an existing store is updated).
    #[arg(long)]
    store: PathBuf,
    /// Extra brand → ingredient dictionary, CSV with columns brand,ingredient[,source].
    #[arg(long = "drug-dictionary")]
    drug_dictionary: Vec<PathBuf>,
    /// Do not draw progress bars.
    #[arg(long)]
    quiet: bool,
}

fn progress_bar(total: u64, quiet: bool) -> Option<ProgressBar> {
    if quiet {
        return None;
    }
    let pb = ProgressBar::new(total);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} ingest [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    // Drawn only when the ingest lasts more than a second (short runs stay quiet).
    pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    let shown = pb.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        if !shown.is_finished() {
            shown.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        }
    });
    Some(pb)
}

/// Runs `vigil ingest`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (kind, a) = match args.source {
        Source::Faers(a) => ("faers", a),
        Source::Openfda(a) => ("openfda", a),
        Source::E2b(a) => return ingest_e2b(a),
    };
    let inputs = if kind == "faers" {
        find_faers_inputs(&a.paths)?
    } else {
        find_openfda_inputs(&a.paths)?
    };
    let total: u64 = inputs.iter().map(|f| f.bytes).sum();
    let pb = progress_bar(total, a.quiet);
    let progress: Option<Arc<dyn Fn(u64) + Send + Sync>> = pb
        .clone()
        .map(|pb| Arc::new(move |n: u64| pb.inc(n)) as Arc<dyn Fn(u64) + Send + Sync>);
    let opts = IngestOptions {
        dictionary_files: a.drug_dictionary.clone(),
        progress,
    };
    let outcome: IngestOutcome = if kind == "faers" {
        vigil_faers::ingest::ingest_faers(&a.paths, &a.store, &opts)
    } else {
        vigil_faers::openfda::ingest_openfda(&a.paths, &a.store, &opts)
    }
    .map_err(|e| located_first(e, &a.store))?;
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    print_summary(&outcome);
    Ok(())
}

/// An error about a place in an input file keeps that place first (`FILE: line N, field F: …`,
/// the error shape of every command); other errors say which store the ingest was for.
fn located_first(e: FaersError, store: &std::path::Path) -> anyhow::Error {
    match e {
        e @ FaersError::Located { .. } => anyhow::Error::new(e),
        e => anyhow::Error::new(e).context(format!("ingesting into {}", store.display())),
    }
}

fn print_summary(o: &IngestOutcome) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) must not turn a finished ingest into a crash.
    macro_rules! say { ($($t:tt)*) => { let _ = writeln!(out, $($t)*); } }
    let r = &o.report;
    let mb = o.bytes as f64 / 1e6;
    say!(
        "ingested {} files ({:.1} MB) in {:.2} s ({:.0} MB/s) into {}",
        r.files.len(),
        mb,
        r.seconds,
        if r.seconds > 0.0 { mb / r.seconds } else { 0.0 },
        o.version_dir.display()
    );
    say!(
        "{:<8} {:>12} {:>12} {:>10} {:>12}",
        "table",
        "read",
        "kept",
        "rejected",
        "deduplicated"
    );
    for (t, c) in &r.tables {
        say!(
            "{:<8} {:>12} {:>12} {:>10} {:>12}",
            t,
            c.read,
            c.kept,
            c.rejected,
            c.deduplicated_total()
        );
    }
    for (t, c) in &r.tables {
        for (rule, n) in &c.deduplicated {
            say!("  {t}: {n} removed by rule: {rule}");
        }
        for (reason, n) in &c.rejected_by_reason {
            say!("  {t}: {n} rejected: {reason}");
        }
    }
    for (rule, n) in &r.stored_reports_removed {
        say!("  stored reports removed: {n} ({rule})");
    }
    say!("reports in store: {}", r.reports_in_store);
    if r.deleted_caseids_in_store > 0 {
        say!(
            "deleted-case lists in store: {} caseids (applied to every ingest, in any order)",
            r.deleted_caseids_in_store
        );
    }
    if !r.less_complete_resends.is_empty() {
        say!(
            "WARNING: {} stored case versions were re-sent with fewer drug or reaction rows; the stored copies were kept (first: {}); see ingest_report.json",
            r.tables.get("demo").and_then(|c| c.deduplicated.get(vigil_faers::ingest::rules::LESS_COMPLETE)).copied().unwrap_or(r.less_complete_resends.len() as u64),
            r.less_complete_resends[0]
        );
    }
    let unmapped: u64 = r.unmapped_drug_names.iter().map(|(_, n)| n).sum();
    if !r.unmapped_drug_names.is_empty() {
        say!(
            "drug names not mapped to an ingredient: {} distinct (top: {}); see ingest_report.json",
            r.unmapped_drug_names.len(),
            r.unmapped_drug_names
                .iter()
                .take(5)
                .map(|(n, c)| format!("{n} ×{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = unmapped;
    }
    let unbalanced = r.unbalanced_tables();
    if !unbalanced.is_empty() {
        say!("WARNING: row accounting does not balance for {unbalanced:?}");
    }
}

/// `vigil ingest e2b`: each ICSR is read by vigil-clinic's E2B(R3) reader, written as one
/// openFDA-shaped JSON report (openFDA's drug-event schema is E2B's, field for field) in a temporary
/// folder, and ingested by the openFDA path, so de-duplication, drug-name normalisation, the ingest
/// report and the atomic store update are the same code.
///
/// Identity: openFDA ids are digits, E2B's C.1.1 is free text, so caseid = 9×10¹⁵ + (64-bit FNV-1a
/// hash of C.1.1 mod 10¹⁵) — far above FAERS' 8-digit caseids, and the same C.1.1 always gives the
/// same caseid, so a re-sent report replaces the earlier one. C.1.1 itself is kept as `mfr_num`.
fn ingest_e2b(a: SourceArgs) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for p in &a.paths {
        if p.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("{}: cannot list", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.extension().is_some_and(|x| x.eq_ignore_ascii_case("xml")))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(p.clone());
        }
    }
    anyhow::ensure!(
        !files.is_empty(),
        "no E2B(R3) XML files (*.xml) found under {}",
        a.paths
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let staging = std::env::temp_dir().join(format!("vigil-e2b-{}", std::process::id()));
    std::fs::create_dir_all(&staging)
        .with_context(|| format!("{}: cannot create", staging.display()))?;
    let result = (|| -> anyhow::Result<IngestOutcome> {
        for (k, f) in files.iter().enumerate() {
            let case = vigil_clinic::read_case_file(f)?;
            let json = e2b_case_as_openfda(&case);
            // The quarter of the receipt date goes into the name, as in FDA file names.
            let quarter = case
                .received
                .map(|d| {
                    format!(
                        "-{}Q{}",
                        d.year(),
                        d.exact()
                            .map_or(1, |x| (chrono::Datelike::month(&x) - 1) / 3 + 1)
                    )
                })
                .unwrap_or_default();
            let stem = f
                .file_stem()
                .map_or_else(|| format!("case{k}"), |s| s.to_string_lossy().into_owned());
            let out = staging.join(format!("{k:05}-{stem}{quarter}.json"));
            std::fs::write(&out, serde_json::to_vec(&json)?)
                .with_context(|| format!("{}: cannot write", out.display()))?;
        }
        let opts = IngestOptions {
            dictionary_files: a.drug_dictionary.clone(),
            progress: None,
        };
        Ok(vigil_faers::openfda::ingest_openfda(
            &[staging.clone()],
            &a.store,
            &opts,
        )?)
    })();
    let _ = std::fs::remove_dir_all(&staging);
    let outcome = result.with_context(|| format!("ingesting into {}", a.store.display()))?;
    print_summary(&outcome);
    Ok(())
}

/// One E2B(R3) case as an openFDA drug-event report (the fields `vigil_faers::openfda` reads).
fn e2b_case_as_openfda(case: &vigil_clinic::Case) -> serde_json::Value {
    use serde_json::json;
    use vigil_clinic::case::{DrugRole, Sex};
    // 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
    let hash = case.id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    });
    let caseid = 9_000_000_000_000_000_u64 + hash % 1_000_000_000_000_000;
    let received = case.received.map(|d| d.to_hl7());
    let drugs: Vec<serde_json::Value> = case
        .drugs
        .iter()
        .filter(|d| d.role != DrugRole::NotAdministered)
        .map(|d| {
            let role = match d.role {
                DrugRole::Suspect => "1",
                DrugRole::Concomitant => "2",
                _ => "3",
            };
            let mut v = json!({ "medicinalproduct": d.name, "drugcharacterization": role });
            if let Some(s) = &d.substance {
                v["activesubstance"] = json!({ "activesubstancename": s });
            }
            if let Some(i) = &d.indication {
                v["drugindication"] = json!(i);
            }
            if let Some(start) = &d.start {
                v["drugstartdate"] = json!(start.to_hl7());
            }
            if let Some(stop) = &d.stop {
                v["drugenddate"] = json!(stop.to_hl7());
            }
            v
        })
        .collect();
    let reactions: Vec<serde_json::Value> = case
        .reactions
        .iter()
        .map(|r| {
            let mut v = json!({ "reactionmeddrapt": r.term });
            if let Some(onset) = &r.onset {
                v["reactionstartdate"] = json!(onset.to_hl7());
            }
            v
        })
        .collect();
    let flag = |f: fn(&vigil_clinic::case::Seriousness) -> bool| {
        if case.reactions.iter().any(|r| f(&r.seriousness)) {
            Some("1")
        } else {
            None
        }
    };
    let mut report = json!({
        "safetyreportid": caseid.to_string(),
        "safetyreportversion": "1",
        "companynumb": case.id,
        "patient": { "drug": drugs, "reaction": reactions },
    });
    if let Some(d) = &received {
        report["receivedate"] = json!(d);
        report["receiptdate"] = json!(d);
    }
    for (key, f) in [
        (
            "seriousnessdeath",
            (|s: &vigil_clinic::case::Seriousness| s.death)
                as fn(&vigil_clinic::case::Seriousness) -> bool,
        ),
        ("seriousnesslifethreatening", |s| s.life_threatening),
        ("seriousnesshospitalization", |s| s.hospitalisation),
        ("seriousnessdisabling", |s| s.disability),
        ("seriousnesscongenitalanomali", |s| s.congenital_anomaly),
        ("seriousnessother", |s| s.other_medically_important),
    ] {
        if let Some(v) = flag(f) {
            report[key] = json!(v);
        }
    }
    let p = &case.patient;
    if let Some(sex) = p.sex {
        report["patient"]["patientsex"] = json!(match sex {
            Sex::Male => "1",
            Sex::Female => "2",
        });
    }
    if let Some(age) = p.age_years {
        report["patient"]["patientonsetage"] = json!(format!("{age}"));
        report["patient"]["patientonsetageunit"] = json!("801");
    }
    if let Some(w) = p.weight_kg {
        report["patient"]["patientweight"] = json!(format!("{w}"));
    }
    report
}
