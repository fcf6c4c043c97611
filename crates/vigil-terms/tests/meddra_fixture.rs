//! The MedDRA reader on a hand-made release in the MSSO ASCII layout (invented terms and codes,
//! not MedDRA content: tests/fixtures/meddra/README.md draws its hierarchy).
use std::path::{Path, PathBuf};

use vigil_terms::meddra::{EventGrouper, EventLevel, GroupOptions, Match, MeddraTerms, SmqTerm};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/meddra")
}

fn grouper(level: EventLevel, smq_narrow: bool, primary_soc: bool) -> EventGrouper {
    let terms = MeddraTerms::read_release(&fixture(), None).unwrap();
    EventGrouper::new(
        &terms,
        GroupOptions {
            level,
            smq_narrow,
            primary_soc,
        },
    )
}

#[test]
fn reads_the_release() {
    let t = MeddraTerms::read_release(&fixture(), None).unwrap();
    assert_eq!(
        (t.version.as_str(), t.language.as_str()),
        ("99.0", "English")
    );
    // mdhier.asc has 8 paths (6 PTs, two of them on two paths); llt.asc 8 LLTs.
    assert_eq!((t.paths.len(), t.llts.len()), (8, 8));
    assert_eq!(t.paths.iter().filter(|p| p.primary).count(), 6);
    let smq = |smq: &str, pt: &str, narrow: bool| SmqTerm {
        smq: smq.into(),
        pt: pt.into(),
        narrow,
    };
    // Active SMQs only, active rows only, PT rows only, child SMQ expanded into its parent.
    assert_eq!(
        t.smq_terms,
        vec![
            smq("Blorp events (SMQ)", "Mimsy level increased", false),
            smq("Blorp events (SMQ)", "Slithy eye", true),
            smq("Blorp events (SMQ)", "Vorpal rash", false),
            smq("Blorp eye events (SMQ)", "Slithy eye", true),
            smq("Blorp eye events (SMQ)", "Vorpal rash", false),
            smq("Zorch reactions (SMQ)", "Tulgey redness", false),
            smq("Zorch reactions (SMQ)", "Vorpal itch", true),
            smq("Zorch reactions (SMQ)", "Vorpal rash", true),
        ]
    );
    // --version replaces the file's version.
    let v = MeddraTerms::read_release(&fixture(), Some("99.1")).unwrap();
    assert_eq!(v.version, "99.1");
}

#[test]
fn multi_axial_pts_have_every_path_or_the_primary_one() {
    let all = grouper(EventLevel::Soc, false, false);
    let primary = grouper(EventLevel::Soc, false, true);
    // Vorpal rash: primary SOC Alpha, secondary Beta.
    assert_eq!(
        all.groups_of("VORPAL RASH"),
        (
            vec![
                "ALPHA SYSTEM DISORDERS".into(),
                "BETA SYSTEM DISORDERS".into()
            ],
            Match::Pt
        )
    );
    assert_eq!(
        primary.groups_of("vorpal rash").0,
        ["ALPHA SYSTEM DISORDERS"]
    );
    // Slithy eyes: a non-current LLT of Slithy eye, whose primary SOC is Beta.
    assert_eq!(
        primary.groups_of("Slithy eyes"),
        (vec!["BETA SYSTEM DISORDERS".into()], Match::Llt)
    );
    let hlt = grouper(EventLevel::Hlt, false, false);
    assert_eq!(
        hlt.groups_of("Slithy eye").0,
        ["ALPHA RASHES", "BETA EYE CONDITIONS"]
    );
    let hlgt = grouper(EventLevel::Hlgt, false, true);
    assert_eq!(hlgt.groups_of("Frumious lump").0, ["ALPHA GROWTHS"]);
}

#[test]
fn smq_scopes() {
    let narrow = grouper(EventLevel::Smq, true, false);
    let broad = grouper(EventLevel::Smq, false, false);
    assert_eq!(narrow.groups_of("Vorpal rash").0, ["ZORCH REACTIONS (SMQ)"]);
    assert_eq!(
        broad.groups_of("Vorpal rash").0,
        [
            "BLORP EVENTS (SMQ)",
            "BLORP EYE EVENTS (SMQ)",
            "ZORCH REACTIONS (SMQ)"
        ]
    );
    // A PT in no SMQ of the scope stays itself (Tulgey redness is broad-only in Zorch); an
    // inactive row (Frumious lump in Zorch) and an inactive SMQ give nothing.
    assert_eq!(narrow.groups_of("Tulgey redness").0, ["TULGEY REDNESS"]);
    assert_eq!(broad.groups_of("Frumious lump").0, ["FRUMIOUS LUMP"]);
}

#[test]
fn unmatched_terms_are_kept_and_fixes_apply() {
    let dir = tempfile::tempdir().unwrap();
    let fixes = dir.path().join("pt_fixed.csv");
    // DiAna's layout: an R row index, then pt and standard_pt.
    std::fs::write(&fixes, ";pt;standard_pt\n1;tulgey rednes;tulgey redness\n").unwrap();
    let mut t = MeddraTerms::read_release(&fixture(), None).unwrap();
    assert_eq!(t.add_pt_fixes_csv(&fixes).unwrap(), 1);
    let g = EventGrouper::new(
        &t,
        GroupOptions {
            level: EventLevel::Hlt,
            smq_narrow: false,
            primary_soc: false,
        },
    );
    assert_eq!(
        g.groups_of("TULGEY REDNES"),
        (vec!["ALPHA RASHES".into()], Match::Fixed)
    );
    assert_eq!(
        g.groups_of("Snark bite"),
        (vec!["SNARK BITE".into()], Match::Unmapped)
    );
}

/// Copies the fixture and replaces one line of one file.
fn damaged(file: &str, from: &str, to: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(fixture()).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.path().join(p.file_name().unwrap())).unwrap();
    }
    let path = dir.path().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from));
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    let err = MeddraTerms::read_release(dir.path(), None)
        .unwrap_err()
        .to_string();
    (dir, err)
}

#[test]
fn bad_files_name_file_line_and_field() {
    let (_d, err) = damaged("mdhier.asc", "90001003$90000203", "9000100X$90000203");
    assert!(err.contains("mdhier.asc: line 4, field pt_code:"), "{err}");
    // A path whose HLT is not linked to its PT in hlt_pt.asc.
    let (_d, err) = damaged("mdhier.asc", "90001003$90000203", "90001003$90000205");
    assert!(
        err.contains("mdhier.asc: line 4, field hlt_code:") && err.contains("hlt_pt.asc"),
        "{err}"
    );
    // Two primary paths for Vorpal rash.
    let (_d, err) = damaged("mdhier.asc", "$90000001$N$", "$90000001$Y$");
    assert!(err.contains("PT 90001002 has 2 primary SOC paths"), "{err}");
    let (_d, err) = damaged(
        "smq_content.asc",
        "90003001$90001006$4$1$",
        "90003001$90001006$4$7$",
    );
    assert!(
        err.contains("smq_content.asc: line 3, field term_scope:"),
        "{err}"
    );
    let (_d, err) = damaged("llt.asc", "$Y$$\r\n90002002", "$Q$$\r\n90002002");
    assert!(
        err.contains("llt.asc: line 7, field llt_currency:"),
        "{err}"
    );
    let (_d, err) = damaged(
        "pt.asc",
        "90001006$Tulgey redness$$90000001$$$$$$$$",
        "90001006",
    );
    assert!(err.contains("pt.asc: line 6, field record:"), "{err}");
}

#[test]
fn a_missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = MeddraTerms::read_release(dir.path(), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("llt.asc not found"), "{err}");
}
