//! Fuzz the discovery of quarterly files: arbitrary bytes read as a zip archive, and arbitrary
//! member and file names classified and dated. Nothing may panic; whatever is found must carry a
//! real quarter.
#![no_main]
use std::io::Cursor;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use vigil_faers::discover::{classify, inputs_in_zip, quarter_in_name};

fuzz_target!(|data: &[u8]| {
    // The first bytes, up to a NUL, are also a name (a member or folder name to classify).
    let (name, zip_bytes) = match data.iter().position(|&b| b == 0) {
        Some(i) => (String::from_utf8_lossy(&data[..i]).into_owned(), &data[i + 1..]),
        None => (String::from_utf8_lossy(data).into_owned(), data),
    };
    for json in [false, true] {
        let _ = classify(&name, json);
    }
    if let Some(q) = quarter_in_name(&name) {
        assert!((1..=4).contains(&q.q) && (1990..=2100).contains(&q.year), "quarter {q:?} from {name:?}");
    }
    for json in [false, true] {
        if let Ok(found) = inputs_in_zip(Cursor::new(zip_bytes), Path::new("fuzz_2024q3.zip"), json, &[name.clone()]) {
            for f in found {
                assert!(f.display.starts_with("fuzz_2024q3.zip!"), "{}", f.display);
                if let Some(q) = f.quarter {
                    assert!((1..=4).contains(&q.q) && (1990..=2100).contains(&q.year), "quarter {q:?} of {}", f.display);
                }
            }
        }
    }
});
