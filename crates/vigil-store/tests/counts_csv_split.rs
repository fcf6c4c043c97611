//! The `--counts` CSV reader reads a file in windows, each split between two threads at a line
//! end: the result must not depend on where the windows end or where the split falls. Every input
//! here is read with every window size from one byte up and with the split forced on, and each
//! result (reports, names and their ids, or the error message) is compared with the one-thread,
//! one-window read, which in turn is compared with the rows as the `csv` crate reads them.

use std::path::Path;

use vigil_store::input::{read_counts_csv_in_windows, CountsInput, CsvPlan};
use vigil_store::reports::{normalise_name, ReportSet, ReportSetBuilder};

/// Everything a read produces, in a form that compares: a report set's names (in id order),
/// report ids, per-report drug, event and stratum ids and explicit pairs; or the error message.
fn summary(result: Result<CountsInput, vigil_store::input::InputError>) -> String {
    match result {
        Ok(CountsInput::Reports(set)) => report_summary(&set),
        Ok(CountsInput::Aggregated {
            counts,
            drugs,
            events,
        }) => format!(
            "aggregated {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            drugs.names(),
            events.names(),
            counts.drug,
            counts.event,
            counts.a,
            counts.n_drug,
            counts.n_event
        ),
        Err(e) => format!("error: {e}"),
    }
}

/// One report's drug ids, event ids and (drug, event) pairs.
type ReportLists = (Vec<u32>, Vec<u32>, Vec<(u32, u32)>);

fn report_summary(set: &ReportSet) -> String {
    let ids: Vec<String> = (0..set.len())
        .map(|r| set.report_ids.get(r).into_owned())
        .collect();
    let per_report: Vec<ReportLists> = (0..set.len())
        .map(|r| {
            let mut pairs = Vec::new();
            set.for_each_pair(r, |d, e| pairs.push((d, e)));
            (
                set.report_drugs(r).to_vec(),
                set.report_events(r).to_vec(),
                pairs,
            )
        })
        .collect();
    format!(
        "reports {ids:?} drugs {:?} events {:?} strata {:?} {:?} {per_report:?}",
        set.drugs.names(),
        set.events.names(),
        set.strata.names(),
        set.report_stratum
    )
}

fn read(text: &[u8], plan: CsvPlan) -> String {
    summary(read_counts_csv_in_windows(
        text,
        Path::new("rows.csv"),
        &[],
        plan,
    ))
}

/// One thread, one window holding the whole input.
fn one_thread() -> CsvPlan {
    CsvPlan {
        window: usize::MAX / 2,
        parallel_from: usize::MAX,
        size_hint: None,
    }
}

/// Reads `text` with windows of every size from 1 to its length + 1 byte, each split between two
/// threads whenever it has two bytes or more, and with the split alone (one window); every read
/// must give the one-thread result, which is returned.
fn same_for_every_plan(text: &[u8]) -> String {
    let want = read(text, one_thread());
    let mut plans = vec![CsvPlan {
        window: usize::MAX / 2,
        parallel_from: 0,
        size_hint: Some(text.len() as u64),
    }];
    for window in 1..=text.len() + 1 {
        for parallel_from in [0, usize::MAX] {
            plans.push(CsvPlan {
                window,
                parallel_from,
                size_hint: None,
            });
        }
    }
    for plan in plans {
        assert_eq!(
            read(text, plan),
            want,
            "{plan:?} on {:?}",
            String::from_utf8_lossy(text)
        );
    }
    want
}

/// The reports as the `csv` crate reads the rows, grouped by id in order of first appearance
/// and built with the names normalised (an independent path to the same report set).
fn by_csv_crate(text: &[u8]) -> String {
    let mut reader = csv::ReaderBuilder::new().from_reader(text);
    let mut order: Vec<String> = Vec::new();
    let mut rows: std::collections::HashMap<String, Vec<(String, String)>> = Default::default();
    for record in reader.records() {
        let record = record.unwrap();
        let id = record[0].to_owned();
        if !rows.contains_key(&id) {
            order.push(id.clone());
        }
        rows.entry(id).or_default().push((
            normalise_name(&record[1]).unwrap(),
            normalise_name(&record[2]).unwrap(),
        ));
    }
    let mut b = ReportSetBuilder::new();
    for id in &order {
        b.push_report_rows(id, &rows[id], "");
    }
    report_summary(&b.finish())
}

#[test]
fn a_quoted_line_break_across_the_split_reads_as_one_thread() {
    // 6 rows; the first line end after the middle of the body (byte 14 + 40 / 2 = 34) is the one
    // inside report 4's quoted drug name, which runs over two lines: the second thread starts
    // mid-field and its rows must be dropped. By hand: reports 1…5, drugs A, D, "B\nC" (one name
    // with a line break); report 4 has rows "B\nC"·X (lines 5–6) and A·Y (line 7).
    let text = b"id,drug,event\n1,A,X\n2,A,Y\n3,D,X\n4,\"B\nC\",X\n4,A,Y\n5,D,Y\n";
    let middle = 14 + (text.len() - 14) / 2;
    let line_end = middle + text[middle..].iter().position(|&b| b == b'\n').unwrap();
    let quote = text.iter().position(|&b| b == b'"').unwrap();
    assert_eq!(line_end, quote + 2, "the split falls inside the quotes");
    let got = same_for_every_plan(text);
    assert_eq!(got, by_csv_crate(text));
    assert!(got.contains(r#"drugs ["A", "D", "B\nC"]"#), "{got}");
}

#[test]
fn crlf_bom_blank_lines_and_quotes_at_every_split() {
    for text in [
        // CRLF throughout: a split between \r and \n is never chosen (splits follow \n), but a
        // window can end there.
        &b"\xEF\xBB\xBFid,drug,event\r\n1,A,X\r\n1,B,X\r\n2,A,Y\r\n\r\n3,\"C, D\",\"X\"\r\n"[..],
        // Blank lines around the middle, a doubled quote, no final line end.
        b"id,drug,event\n1,A,X\n\n\n2,\"SAY \"\"HI\"\"\",Y\n\n3,a,x\n3,b,y",
        // Rows not every drug x every event (explicit pairs), interleaved reports.
        b"id,drug,event\n1,A,X\n2,B,Y\n1,B,Y\n2,A,Z\n3,C,X\n1,C,Z\n",
    ] {
        let got = same_for_every_plan(text);
        assert_eq!(
            got,
            by_csv_crate(text),
            "{:?}",
            String::from_utf8_lossy(text)
        );
    }
}

#[test]
fn small_and_header_only_files_read_as_one_thread() {
    // Smaller than any split: one row. A header only, a header without a line end, nothing.
    let one_row = same_for_every_plan(b"id,drug,event\n1,A,X\n");
    assert_eq!(one_row, by_csv_crate(b"id,drug,event\n1,A,X\n"));
    assert_eq!(
        same_for_every_plan(b"id,drug,event\n"),
        "error: rows.csv: line 2: empty file: a header but no rows"
    );
    assert_eq!(
        same_for_every_plan(b"id,drug,event"),
        "error: rows.csv: line 2: empty file: a header but no rows"
    );
    assert_eq!(
        same_for_every_plan(b""),
        "error: rows.csv: line 1: empty file: no header line"
    );
}

#[test]
fn errors_name_the_same_line_and_field_wherever_the_split_falls() {
    // Each file has its first bad row in the second half and, in some, a later one: the first
    // in file order is reported, with its line counted across the split.
    let cases: [(&[u8], &str); 4] = [
        (
            b"id,drug,event\n1,A,X\n2,A,Y\n3,A,X\n4,A,Y\n5,\xff,X\n6,A,X\n",
            "error: rows.csv: line 6: unreadable row: field 2 is not valid UTF-8",
        ),
        (
            b"id,drug,event\n1,A,X\n2,A,Y\n3,A,X\n4,A,Y\n5,A\n6,A,X,Z\n",
            "error: rows.csv: line 6, field event: 2 fields, the header has 3",
        ),
        (
            // A quoted line break before the bad row shifts its line.
            b"id,drug,event\n1,\"A\nB\",X\n2,A,Y\n3,A,X\n4,A,Y\n5,A,X,W\n",
            "error: rows.csv: line 7, field event: 4 fields, the header has 3",
        ),
        (
            // A blank event, refused after reading, on its line.
            b"id,drug,event\n1,A,X\n2,A,Y\n3,A,X\n\n4,A, \n",
            "error: rows.csv: line 6, field event: empty value",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(same_for_every_plan(text), want);
    }
}

#[test]
fn random_report_rows_read_the_same_with_every_plan() {
    // SplitMix64 (Steele, Lea & Flood 2014) draws rows of a few reports with names from a small
    // alphabet, quoted or not, some with line breaks or doubled quotes inside quotes, CRLF or LF
    // line ends and blank lines.
    let mut next = vigil_test_support::splitmix64(17);
    let names = ["A", "b", "A\nB", "C,D", "SAY \"HI\"", "é"];
    for case in 0..60 {
        let end = if next().is_multiple_of(2) {
            "\n"
        } else {
            "\r\n"
        };
        let mut text = format!("id,drug,event{end}");
        for _ in 0..(next() % 12 + 1) {
            let id = next() % 4;
            let field = |k: u64| {
                let name = names[(k % names.len() as u64) as usize];
                if name.contains(['\n', ',', '"']) || k.is_multiple_of(3) {
                    format!("\"{}\"", name.replace('"', "\"\""))
                } else {
                    name.to_owned()
                }
            };
            let (d, e) = (field(next()), field(next()));
            text.push_str(&format!("{id},{d},{e}{end}"));
            if next().is_multiple_of(5) {
                text.push_str(end);
            }
        }
        let got = same_for_every_plan(text.as_bytes());
        assert_eq!(got, by_csv_crate(text.as_bytes()), "case {case}: {text:?}");
    }
}

/// The reports as the `csv` crate reads the rows, each with the stratum label its `strata`
/// columns give (joined by `|`, from its first row), built by `ReportSetBuilder`.
fn by_csv_crate_stratified(text: &[u8], strata: &[usize]) -> String {
    let mut reader = csv::ReaderBuilder::new().from_reader(text);
    let mut order: Vec<(String, String)> = Vec::new();
    let mut rows: std::collections::HashMap<String, Vec<(String, String)>> = Default::default();
    for record in reader.records() {
        let record = record.unwrap();
        let id = record[0].to_owned();
        if !rows.contains_key(&id) {
            let label: Vec<&str> = strata.iter().map(|&c| &record[c]).collect();
            order.push((id.clone(), label.join("|")));
        }
        rows.entry(id).or_default().push((
            normalise_name(&record[1]).unwrap(),
            normalise_name(&record[2]).unwrap(),
        ));
    }
    let mut b = ReportSetBuilder::new();
    for (id, label) in &order {
        b.push_report_rows(id, &rows[id], label);
    }
    report_summary(&b.finish())
}

/// About 1.3 MB of report rows (above the 1 MiB from which a window is scanned by two threads
/// and the 16,384 rows from which reports are built by two): ids drawn from a pool, so that
/// reports have rows in both halves of the file and in both ranges of reports; names in several
/// spellings of one normalised name (case, spaces, quotes), so that a name's first spelling in
/// one half differs from its first in the other; a sex column constant within each report.
fn large_report_rows(seed: u64, rows: usize) -> Vec<u8> {
    let mut next = vigil_test_support::splitmix64(seed);
    let spell = |name: &str, k: u64| match k % 4 {
        0 => name.to_owned(),
        1 => name.to_lowercase(),
        2 => format!(" {name} "),
        _ => format!("\"{name}\""),
    };
    let mut text = String::from("id,drug,event,sex\n");
    for _ in 0..rows {
        let id = next() % 30_000;
        let drug = format!("DRUG{}", next() % 700);
        let event = format!("EVENT {}", next() % 900);
        let sex = ["F", "M"][(id % 2) as usize];
        text.push_str(&format!(
            "{id},{},{},{sex}\n",
            spell(&drug, next()),
            spell(&event, next())
        ));
    }
    text.into_bytes()
}

#[test]
fn large_inputs_split_in_reading_and_in_building_read_as_the_csv_crate_reads_them() {
    let text = large_report_rows(5, 60_000);
    assert!(text.len() > 1 << 20, "{} bytes", text.len());
    let want = by_csv_crate(&text);
    // One thread, one window; the default plan (the window split between two threads); small
    // windows, each split.
    for plan in [
        one_thread(),
        CsvPlan::default(),
        CsvPlan {
            window: 100_003,
            parallel_from: 0,
            size_hint: None,
        },
    ] {
        assert_eq!(read(&text, plan), want, "{plan:?}");
    }
    // From a file: its first window read by two threads, each half into its own part of the
    // buffer, then scanned as above.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rows.csv");
    std::fs::write(&path, &text).unwrap();
    let from_file = summary(vigil_store::input::read_counts_file(&path, &[]));
    assert_eq!(from_file, want);
    // Without a final line end, the last row still counts.
    let cut = &text[..text.len() - 1];
    std::fs::write(&path, cut).unwrap();
    assert_eq!(
        summary(vigil_store::input::read_counts_file(&path, &[])),
        by_csv_crate(cut)
    );
    // Stratified by sex: each report's stratum, strata numbered in order of first appearance.
    let stratified = summary(vigil_store::input::read_counts_file(&path, &["sex".into()]));
    assert_eq!(stratified, by_csv_crate_stratified(cut, &[3]));
}

#[test]
fn a_blank_value_late_in_a_large_input_is_refused_on_its_line() {
    // The blank-value check runs only when some value is blank: the row is found again and named.
    let mut text = large_report_rows(9, 20_000);
    let lines_before = text.iter().filter(|&&b| b == b'\n').count();
    text.extend_from_slice(b"77,ASPIRIN,  ,F\n");
    // The header is line 1: the appended row is line lines_before + 1.
    let want = format!(
        "error: rows.csv: line {}, field event: empty value",
        lines_before + 1
    );
    assert_eq!(read(&text, CsvPlan::default()), want);
    assert_eq!(read(&text, one_thread()), want);
}

/// Report rows whose ids are drawn from `ids`, with drugs and events from small pools, reports
/// interleaved (a report's rows are not all together), in SplitMix64 order.
fn rows_with_ids(seed: u64, rows: usize, ids: &[&str]) -> Vec<u8> {
    let mut next = vigil_test_support::splitmix64(seed);
    let mut text = String::from("id,drug,event\n");
    for _ in 0..rows {
        let id = ids[(next() % ids.len() as u64) as usize];
        text.push_str(&format!("{id},DRUG{},EVENT {}\n", next() % 40, next() % 60));
    }
    text.into_bytes()
}

#[test]
fn integer_report_ids_are_kept_as_integers_and_others_as_written() {
    // Ids that print back as written (no leading zero, no sign, at most u64::MAX =
    // 18446744073709551615) are kept as integers; one id written otherwise (a leading zero, a
    // sign, a space, 2^64, letters) keeps every id as text. Either way the reports and their
    // ids are those the `csv` crate's rows give, grouped by the id as written: `7` and `007`
    // are two reports.
    let integers = ["7", "0", "10", "200000007", "18446744073709551615"];
    let text = rows_with_ids(3, 3_000, &integers);
    let got = vigil_store::input::read_counts_csv(&text[..], Path::new("rows.csv"), &[]).unwrap();
    let CountsInput::Reports(set) = got else {
        panic!("report rows")
    };
    assert!(
        matches!(set.report_ids, vigil_store::reports::ReportIds::Numeric(_)),
        "{:?}",
        set.report_ids
    );
    assert_eq!(report_summary(&set), by_csv_crate(&text));
    for other in ["007", "+7", " 7", "7 ", "18446744073709551616", "7a", "00"] {
        let mut ids = integers.to_vec();
        ids.push(other);
        let text = rows_with_ids(4, 3_000, &ids);
        let got =
            vigil_store::input::read_counts_csv(&text[..], Path::new("rows.csv"), &[]).unwrap();
        let CountsInput::Reports(set) = got else {
            panic!("report rows")
        };
        assert!(
            matches!(set.report_ids, vigil_store::reports::ReportIds::Text(_)),
            "{other:?}: {:?}",
            set.report_ids
        );
        let want = by_csv_crate(&text);
        assert_eq!(report_summary(&set), want, "{other:?}");
        // Split between two threads and read in small windows: the same.
        for plan in [
            CsvPlan {
                window: 4_099,
                parallel_from: 0,
                size_hint: None,
            },
            one_thread(),
        ] {
            assert_eq!(read(&text, plan), want, "{other:?} {plan:?}");
        }
    }
}

#[test]
fn integer_ids_in_large_inputs_read_as_the_csv_crate_reads_them() {
    // Above the sizes from which the file is scanned and the reports built by two threads:
    // integer ids (the fast path) and the same rows with one id given a leading zero (text
    // ids), each against the `csv` crate.
    let pool: Vec<String> = (0..20_000u64)
        .map(|k| (100_000 + 7 * k).to_string())
        .collect();
    let mut ids: Vec<&str> = pool.iter().map(String::as_str).collect();
    let text = rows_with_ids(11, 70_000, &ids);
    assert!(text.len() > 1 << 20, "{} bytes", text.len());
    let want = by_csv_crate(&text);
    assert_eq!(read(&text, CsvPlan::default()), want);
    assert_eq!(read(&text, one_thread()), want);
    ids.push("0100007");
    let text = rows_with_ids(12, 70_000, &ids);
    let want = by_csv_crate(&text);
    assert_eq!(read(&text, CsvPlan::default()), want);
    assert_eq!(read(&text, one_thread()), want);
}

#[test]
fn plain_runs_between_rare_quotes_and_carriage_returns_read_as_the_csv_crate_reads_them() {
    // The scanner looks ahead once for the next quote or carriage return and splits the plain
    // lines before it without looking again: here one line in about 40 has a quoted field (with
    // a comma, a doubled quote or a line break) or ends in CRLF, the rest are plain, so that
    // plain runs of every length end at a special byte, at a window end or at the split.
    let mut next = vigil_test_support::splitmix64(23);
    fn make(next: &mut impl FnMut() -> u64, rows: u64) -> Vec<u8> {
        let special = ["\"A, B\"", "\"SAY \"\"HI\"\"\"", "\"X\nY\"", "\"Z\""];
        let mut text = String::from("id,drug,event\n");
        for _ in 0..rows {
            let id = next() % (rows / 3 + 1);
            let drug = match next() % 40 {
                0 => special[(next() % 4) as usize].to_owned(),
                _ => format!("DRUG{}", next() % 30),
            };
            let end = if next().is_multiple_of(40) {
                "\r\n"
            } else {
                "\n"
            };
            text.push_str(&format!("{id},{drug},EVENT {}{end}", next() % 50));
        }
        text.into_bytes()
    }
    for _ in 0..20 {
        let rows = next() % 12 + 1;
        let text = make(&mut next, rows);
        assert_eq!(same_for_every_plan(&text), by_csv_crate(&text));
    }
    let text = make(&mut next, 60_000);
    assert!(text.len() > 1 << 20, "{} bytes", text.len());
    let want = by_csv_crate(&text);
    for plan in [
        one_thread(),
        CsvPlan::default(),
        CsvPlan {
            window: 77_777,
            parallel_from: 0,
            size_hint: None,
        },
    ] {
        assert_eq!(read(&text, plan), want, "{plan:?}");
    }
}
