//! Fuzz the FAERS/AERS `$`-delimited reader and the field parsers the ingest applies to every row:
//! any bytes must read as records or counted bad rows, never panic or loop.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vigil_faers::parse::{self, PartialDate};
use vigil_faers::record::{DollarReader, Record};
use vigil_faers::table::{column_indexes, Era, Table};

fuzz_target!(|data: &[u8]| {
    let Ok(Some(mut reader)) = DollarReader::new(data) else { return };
    let header = reader.header().to_vec();
    for table in [Table::Demo, Table::Drug, Table::Reac] {
        let _ = Era::detect(table, &header, None);
        let _ = column_indexes(table, &header, &["primaryid", "caseid", "drug_seq", "pt"]);
    }
    let mut rec = Record::default();
    let mut last_line = 0;
    while let Ok(Some(result)) = reader.next_record(&mut rec) {
        let line = match &result {
            Ok(()) => rec.line,
            Err(bad) => bad.line,
        };
        // Records come out in file order and every one names a line of the file.
        assert!(line >= 1 && line >= last_line, "line numbers go backwards: {last_line} then {line}");
        last_line = line;
        if result.is_err() {
            continue;
        }
        // A record never has more fields than the header plus the one trailing empty field.
        assert!(rec.len() <= header.len() + 1, "{} fields for a header of {}", rec.len(), header.len());
        for i in 0..rec.len() {
            let text = rec.text(i);
            let _ = parse::parse_id(&text);
            if let Ok(Some(d)) = PartialDate::parse(&text) {
                let _ = (d.digits(), d.sort_key(), d.precision());
            }
            let _ = PartialDate::normalised(&text);
            let next = rec.text(i + 1);
            if let Some(age) = parse::age_years(&text, &next) {
                assert!((0.0..=122.0).contains(&age), "age {age} outside the accepted range");
            }
            let _ = parse::weight_kg(&text, &next);
            let _ = parse::sex(&text);
            let _ = parse::age_group(parse::age_years(&text, &next), &next);
        }
    }
});
