//! Fuzz the JSON case reader; whatever parses must also assess, export and re-import without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vigil_clinic::e2b::export::{to_xml, ExportOptions};
use vigil_clinic::{assess, Case, PartialDate};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(case) = Case::from_json_str(text, "fuzz.json") else { return };
    let _ = assess(&case);
    let created = PartialDate::year_only(2024);
    if let Ok(xml) = to_xml(&case, &vigil_clinic::causality::assess_case(&case), &ExportOptions::new(created)) {
        // Our own export of a valid case must always import.
        if let Err(e) = vigil_clinic::e2b::import::import(xml.as_bytes(), "roundtrip.xml") {
            panic!("export of a valid case does not re-import: {e}");
        }
    }
});
