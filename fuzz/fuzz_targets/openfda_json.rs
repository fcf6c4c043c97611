//! Fuzz the openFDA drug-event reader: any bytes are either refused as a whole (an error naming
//! the file) or read with every report and row accounted for.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vigil_faers::drugname::DrugNormaliser;
use vigil_faers::openfda::parse_document;

fuzz_target!(|data: &[u8]| {
    thread_local! {
        static NORMALISER: DrugNormaliser = DrugNormaliser::builtin();
    }
    NORMALISER.with(|normaliser| {
        let doc = match parse_document(data, "fuzz.json", 1, 20_243, normaliser) {
            Ok(doc) => doc,
            Err(e) => {
                assert!(e.to_string().starts_with("fuzz.json: "), "error without the file: {e}");
                return;
            }
        };
        // Every report read is accepted or rejected; every drug and reaction row likewise.
        let demo = &doc.tables["demo"];
        assert_eq!(demo.read, doc.report_ids().len() as u64 + demo.rejected, "reports unaccounted for");
        for table in ["drug", "reac"] {
            if let Some(c) = doc.tables.get(table) {
                assert_eq!(c.read, doc.child_rows(table) as u64 + c.rejected, "{table} rows unaccounted for");
            }
        }
        // Ids are unambiguous: caseid × 1000 + version.
        for (caseid, primaryid) in doc.report_ids() {
            assert_eq!(primaryid / 1000, caseid, "primaryid {primaryid} of case {caseid}");
        }
        let warned: u64 = doc.field_warnings().values().sum();
        assert!(warned as usize >= doc.field_warning_examples().len());
    });
});
