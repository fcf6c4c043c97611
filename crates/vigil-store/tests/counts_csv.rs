//! The `--counts` CSV reader: the hand-written scanner against the `csv` crate's reader (the
//! reader it replaced), on edge cases worked out by hand and on random inputs, fed whole and one
//! byte per read; and report-level files read into reports.

use std::io::Read;
use std::path::Path;

use vigil_store::count::{count_pairs, Margins};
use vigil_store::csv_scan::{CsvScanner, Fields};
use vigil_store::input::{read_counts_csv, CountsInput};

/// A reader that hands out one byte per call, so that every record crosses a read boundary.
struct OneByte<'a>(&'a [u8]);

impl Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match (self.0.split_first(), buf.is_empty()) {
            (Some((&b, rest)), false) => {
                buf[0] = b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

fn scan(reader: impl Read) -> Vec<(u64, Vec<String>)> {
    let mut s = CsvScanner::new(reader);
    let mut f = Fields::default();
    let mut out = Vec::new();
    while let Some(line) = s.next_record(&mut f).unwrap() {
        out.push((line, f.iter().map(str::to_owned).collect()));
    }
    out
}

/// The records as the `csv` crate reads them (no header row, any number of fields).
fn csv_crate(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn quotes_crlf_bom_blank_lines_and_empty_fields() {
    // Line 1: BOM and header, CRLF. Line 2: a quoted comma. Line 3: blank (skipped). Line 4: a
    // doubled quote, then a quoted field running over into line 5. Line 6: an empty field, no
    // final terminator. A quote inside an unquoted field is literal (line 7's `5"`), and text after
    // a closing quote is kept (`"ab"c` → `abc`).
    let text = "\u{feff}id,drug,event\r\n1,\"A, B\",X\r\n\r\n2,\"SAY \"\"HI\"\"\",\"MULTI\nLINE\"\n3,,Y\n4,5\",\"ab\"c";
    let want: Vec<(u64, Vec<&str>)> = vec![
        (1, vec!["id", "drug", "event"]),
        (2, vec!["1", "A, B", "X"]),
        (4, vec!["2", "SAY \"HI\"", "MULTI\nLINE"]),
        (6, vec!["3", "", "Y"]),
        (7, vec!["4", "5\"", "abc"]),
    ];
    for records in [scan(text.as_bytes()), scan(OneByte(text.as_bytes()))] {
        let got: Vec<(u64, Vec<&str>)> = records
            .iter()
            .map(|(l, f)| (*l, f.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(got, want);
    }
    // The csv crate reads the same fields (it keeps the BOM out of the first field too).
    let fields: Vec<Vec<String>> = scan(text.as_bytes()).into_iter().map(|r| r.1).collect();
    assert_eq!(fields, csv_crate(text.as_bytes()));
}

#[test]
fn random_inputs_read_as_the_csv_crate_reads_them() {
    // SplitMix64 (Steele, Lea & Flood 2014) draws bytes from an alphabet heavy in the characters
    // that matter: separators, quotes, both line ends, spaces and a two-byte UTF-8 letter.
    let alphabet: &[&str] = &[
        "a", "B", "7", ",", ",", "\"", "\"", "\n", "\r", "\r\n", " ", "é",
    ];
    let mut next = vigil_test_support::splitmix64(2024);
    for case in 0..3000 {
        let len = (next() % 60) as usize;
        let text: String = (0..len)
            .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
            .collect();
        let want = csv_crate(text.as_bytes());
        let whole: Vec<Vec<String>> = scan(text.as_bytes()).into_iter().map(|r| r.1).collect();
        let bytewise: Vec<Vec<String>> = scan(OneByte(text.as_bytes()))
            .into_iter()
            .map(|r| r.1)
            .collect();
        assert_eq!(whole, want, "case {case}: {text:?}");
        assert_eq!(bytewise, want, "case {case} one byte per read: {text:?}");
    }
}

#[test]
fn invalid_utf8_is_an_error_with_the_line_and_field() {
    let bytes = b"id,drug,event\n1,X,Y\n2,\xff\xfe,Y\n";
    let err = read_counts_csv(&bytes[..], Path::new("rows.csv"), &[]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("rows.csv: line 3:"), "{msg}");
    assert!(msg.contains("field 2 is not valid UTF-8"), "{msg}");
}

#[test]
fn report_rows_with_quoted_names_and_crlf_count_as_their_plain_spelling() {
    // The same three reports written plainly and written with a BOM, CRLF, quoted names, other
    // letter case and padding: the reports, names and counts are the same. By hand: report 1 has
    // A·X and A·Y, report 2 has A·X, report 3 has "B, C"·X, so a(A,X) = 2, a(A,Y) = 1,
    // a(B, C,X) = 1 over n = 3 reports.
    let plain = "id,drug,event\n1,A,X\n1,A,Y\n2,A,X\n3,\"B, C\",X\n";
    let dressed =
        "\u{feff}id,drug,event\r\n1,\"a\",X\r\n1, A ,\"y\"\r\n\r\n2,A,\"X\"\r\n3,\"b, c\",x";
    let read = |text: &str| match read_counts_csv(text.as_bytes(), Path::new("r.csv"), &[]).unwrap()
    {
        CountsInput::Reports(set) => set,
        CountsInput::Aggregated { .. } => panic!("report-level input read as aggregated"),
    };
    for set in [read(plain), read(dressed)] {
        assert_eq!(set.report_ids, ["1", "2", "3"]);
        assert_eq!(set.drugs.names(), ["A", "B, C"]);
        assert_eq!(set.events.names(), ["X", "Y"]);
        let counts = count_pairs(&set, Margins::Reports);
        let mut cells: Vec<(String, String, f64, f64)> = (0..counts.len())
            .map(|i| {
                (
                    set.drugs.name(counts.drug[i]).to_owned(),
                    set.events.name(counts.event[i]).to_owned(),
                    counts.a[i],
                    counts.n_total[i],
                )
            })
            .collect();
        cells.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        assert_eq!(
            cells,
            [
                ("A".into(), "X".into(), 2.0, 3.0),
                ("A".into(), "Y".into(), 1.0, 3.0),
                ("B, C".into(), "X".into(), 1.0, 3.0)
            ]
        );
    }
}

#[test]
fn names_are_numbered_in_report_order_not_file_order() {
    // Report 1's second row (line 4) comes after report 2's row, but report 1 is read first: Z
    // (line 4) gets its id before W (line 3), as the store's report-by-report reading numbers them.
    let text = "id,drug,event\n1,A,X\n2,W,X\n1,Z,X\n";
    let CountsInput::Reports(set) =
        read_counts_csv(text.as_bytes(), Path::new("r.csv"), &[]).unwrap()
    else {
        panic!("report-level input read as aggregated");
    };
    assert_eq!(set.drugs.names(), ["A", "Z", "W"]);
    assert_eq!(set.report_drugs(0), [0, 1]);
    assert_eq!(set.report_drugs(1), [2]);
}

/// A careless user's header with a column written twice (`id,drug,event,drug`) was read with the
/// first `drug` and the second one ignored, exit 0: now refused at line 1 naming the column, in
/// any letter case.
#[test]
fn a_duplicated_column_is_refused_with_its_name() {
    for text in [
        "id,drug,event,drug\n1,A,X,B\n",
        "id,Drug,event, DRUG \n1,A,X,B\n",
    ] {
        let err = read_counts_csv(text.as_bytes(), Path::new("rows.csv"), &[]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("rows.csv: line 1, field "), "{msg}");
        assert!(msg.contains("appears more than once"), "{msg}");
    }
    // Distinct names are read as before.
    assert!(read_counts_csv(&b"id,drug,event\n1,A,X\n"[..], Path::new("r.csv"), &[]).is_ok());
}
