//! Print the E2B(R3) export of a case file: `cargo run --example export_case -- CASE.json`.
use vigil_clinic::causality::assess_case;
use vigil_clinic::e2b::export::{to_xml, ExportOptions};
use vigil_clinic::{read_case_file, PartialDate};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: export_case CASE.json");
        std::process::exit(2);
    };
    let result = read_case_file(std::path::Path::new(&path)).and_then(|case| {
        let created = PartialDate::ymd(2024, 6, 3).unwrap_or(PartialDate::year_only(2024));
        to_xml(&case, &assess_case(&case), &ExportOptions::new(created))
    });
    match result {
        Ok(xml) => print!("{xml}"),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
}
