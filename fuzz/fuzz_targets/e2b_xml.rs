//! Fuzz the E2B(R3) XML reader; whatever imports must assess and export again without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;
use vigil_clinic::e2b::export::{to_xml, ExportOptions};
use vigil_clinic::{assess, PartialDate};

fuzz_target!(|data: &[u8]| {
    let Ok(imported) = vigil_clinic::e2b::import::import(data, "fuzz.xml") else { return };
    let case = imported.case;
    let _ = assess(&case);
    let created = PartialDate::year_only(2024);
    if let Ok(xml) = to_xml(&case, &vigil_clinic::causality::assess_case(&case), &ExportOptions::new(created)) {
        if let Err(e) = vigil_clinic::e2b::import::import(xml.as_bytes(), "roundtrip.xml") {
            panic!("re-export of an imported case does not re-import: {e}");
        }
    }
});
