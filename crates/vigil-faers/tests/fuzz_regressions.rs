//! Inputs found by the fuzz targets (fuzz/, docs/fuzzing.md), kept as regression tests.
use vigil_faers::record::DollarReader;

/// faers_rows: a header line of only `$` has no column names; the reader divided by the header
/// width (0) when it met a long row. It is now refused with the reason (the ingest names the file).
#[test]
fn header_without_column_names_is_refused() {
    let input: &[u8] = b"$\n10088013\n119134210$$\n";
    let err = DollarReader::new(input).err().expect("refused");
    assert_eq!(err.to_string(), "line 1: the header has no column names");
    // A normal header still reads.
    assert!(DollarReader::new(&b"primaryid$caseid$\n1$2$\n"[..])
        .unwrap()
        .is_some());
}
