//! Shared by the MGPS examples: reading a CSV file of pairs.

use vigil_stats::mgps::CountData;

/// Reads the pairs: a CSV file with a header naming N and E as `n`/`e` (weights `w`, optional) or
/// as `a`/`expected` (the output of `vigil signals --format csv`).
pub fn read(path: &str) -> Result<CountData, String> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| format!("{path}: {e}"))?;
    let headers = reader
        .headers()
        .map_err(|e| format!("{path}: {e}"))?
        .clone();
    let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h));
    let (Some(n_col), Some(e_col)) = (column(&["n", "a"]), column(&["e", "expected"])) else {
        return Err(format!("{path}: needs columns n and e (or a and expected)"));
    };
    let w_col = column(&["w"]);
    let mut data = CountData::default();
    for (row, record) in reader.records().enumerate() {
        let line = row + 2;
        let record = record.map_err(|e| format!("{path}:{line}: {e}"))?;
        let field = |col: usize| -> Result<f64, String> {
            let text = record.get(col).unwrap_or("");
            text.parse::<f64>()
                .map_err(|e| format!("{path}:{line}: field {}: {text:?}: {e}", &headers[col]))
        };
        data.n.push(field(n_col)?);
        data.e.push(field(e_col)?);
        data.w.push(match w_col {
            Some(c) => field(c)?,
            None => 1.0,
        });
    }
    Ok(data)
}
