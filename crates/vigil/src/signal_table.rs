//! The signal table of `vigil signals` as text: the CSV and JSON writers.
//!
//! Rows are scored and formatted in chunks by one worker per core (each chunk into a byte buffer
//! of its own, reused), then written in order by the calling thread through the one buffered
//! writer the caller gives, so the output is the same whatever the number of threads. The bytes are those of the
//! earlier writers, which went through the `csv` crate, `format!("{x}")` and `serde_json`: names
//! are quoted as the `csv` crate quotes them (each distinct name encoded once, by that crate), CSV numbers print as Rust's
//! `Display` prints an `f64` (shortest round-trip digits, never an exponent, `Inf`/`-Inf`/`NaN` as
//! R writes them), JSON numbers as `serde_json` prints them (the same `zmij` formatter), with the
//! object keys in `serde_json::Map`'s sorted order. Tests compare each with the old way.

use std::io::Write;

use anyhow::Result;
use vigil_stats::score::PairScores;

use crate::cmd::signals::{flags, row_values, Selection, COLUMNS, FDR_START};

/// Rows scored and formatted as one piece of work (about 2.5 MB of CSV from the FAERS 2023
/// table): enough to make each write worth its call, few enough for the two cores to share the
/// last chunks evenly.
const CHUNK: usize = 1 << 12;

/// Writes the selection as CSV with every column of [`COLUMNS`].
pub fn write_csv(sel: &Selection, w: &mut (dyn Write + Send)) -> Result<()> {
    let drugs = encode_names(&sel.drug_names, csv_field)?;
    let events = encode_names(&sel.event_names, csv_field)?;
    w.write_all(COLUMNS.join(",").as_bytes())?;
    w.write_all(b"\n")?;
    // Rows of the FAERS 2023 table average 570 bytes: the chunk's buffer is sized once.
    for_each_formatted_chunk(sel, w, 640, |start, scores, out| {
        let mut zmij_buffers: [zmij::Buffer; ROW_NUMBERS] =
            std::array::from_fn(|_| zmij::Buffer::new());
        for (k, s) in scores.iter().enumerate() {
            let mut numbers = [0.0; ROW_NUMBERS];
            numbers[..SCORES].copy_from_slice(&row_values(s));
            numbers[SCORES..].copy_from_slice(&sel.fdr.row(start + k));
            // Every number of the row is printed by zmij, each into a buffer of its own, before
            // any is copied into the row: a copy right after zmij's stores into its buffer had
            // to wait for them (the load spans several stores, which cannot be forwarded to it),
            // a third of the time of the layout; now the stores are long done by then.
            let mut printed: [&[u8]; ROW_NUMBERS] = [&[]; ROW_NUMBERS];
            for ((p, buffer), &x) in printed.iter_mut().zip(&mut zmij_buffers).zip(&numbers) {
                if needs_zmij(x) {
                    *p = buffer.format_finite(x).as_bytes();
                }
            }
            let push_number = |out: &mut Vec<u8>, j: usize| {
                out.push(b',');
                // (zmij never prints nothing: an empty piece is a number it did not print.)
                if printed[j].is_empty() {
                    push_display_without_zmij(out, numbers[j]);
                } else {
                    push_zmij_as_display(out, numbers[j], printed[j]);
                }
            };
            append(out, &drugs[sel.drug[start + k] as usize]);
            out.push(b',');
            append(out, &events[sel.event[start + k] as usize]);
            for j in 0..SCORES {
                push_number(out, j);
            }
            for b in flags(s) {
                append(out, if b { b",true" } else { b",false" });
            }
            for j in SCORES..ROW_NUMBERS {
                push_number(out, j);
            }
            out.push(b'\n');
        }
    })
}

/// The numbers of a row: the scores of [`row_values`] (the columns before the flags), then the
/// FDR columns (from [`FDR_START`]).
const SCORES: usize = 23;
const ROW_NUMBERS: usize = SCORES + COLUMNS.len() - FDR_START;

/// Writes the selection as a JSON array of objects, one per line, non-finite numbers as null.
pub fn write_json(sel: &Selection, w: &mut (dyn Write + Send)) -> Result<()> {
    let drugs = encode_names(&sel.drug_names, json_string)?;
    let events = encode_names(&sel.event_names, json_string)?;
    // The keys in the order serde_json's `Map` (a BTreeMap) writes them: sorted.
    let mut keys: Vec<(usize, &str)> = COLUMNS.iter().copied().enumerate().collect();
    keys.sort_by_key(|k| k.1);
    // Each key with the separator before it and the colon after it, `{"a":` or `,"b":`.
    let keys: Vec<(usize, Vec<u8>)> = keys
        .into_iter()
        .enumerate()
        .map(|(j, (i, k))| {
            let mut key = vec![if j == 0 { b'{' } else { b',' }];
            key.extend(json_string(k)?);
            key.push(b':');
            Ok((i, key))
        })
        .collect::<Result<_>>()?;
    w.write_all(b"[")?;
    // Rows of the FAERS 2023 table average 935 bytes: the chunk's buffer is sized once.
    for_each_formatted_chunk(sel, w, 1024, |start, scores, out| {
        let mut zmij_buffer = zmij::Buffer::new();
        for (k, s) in scores.iter().enumerate() {
            out.extend_from_slice(if start + k == 0 { b"\n  " } else { b",\n  " });
            let values = row_values(s);
            let fl = flags(s);
            let decision = sel.fdr.row(start + k);
            for (column, key) in &keys {
                append(out, key);
                match *column {
                    0 => append(out, &drugs[sel.drug[start + k] as usize]),
                    1 => append(out, &events[sel.event[start + k] as usize]),
                    c if c < 25 => {
                        let v = values[c - 2];
                        if v.is_finite() {
                            append(out, zmij_buffer.format_finite(v).as_bytes());
                        } else {
                            append(out, b"null");
                        }
                    }
                    c if c < FDR_START => append(out, if fl[c - 25] { b"true" } else { b"false" }),
                    c => {
                        let v = decision[c - FDR_START];
                        if v.is_finite() {
                            append(out, zmij_buffer.format_finite(v).as_bytes());
                        } else {
                            append(out, b"null");
                        }
                    }
                }
            }
            out.push(b'}');
        }
    })?;
    w.write_all(b"\n]\n")?;
    Ok(())
}

/// Scores and formats the selection in chunks of [`CHUNK`] rows on one worker thread per core,
/// and writes the pieces to `w` in order from the calling thread, so that writing one piece (a
/// copy into the kernel's page cache: a fifth of the time of the FAERS 2023 CSV) overlaps
/// formatting the next ones instead of following them.
///
/// The workers take the chunks in turn, but run at most [`AHEAD`] chunks ahead of the writer; the
/// writer hands every written buffer back for reuse, and each worker keeps its buffer of scores.
/// Why: a fresh buffer per chunk is fresh memory from the kernel, and its first touch (a page
/// fault and the zeroing of every page) cost as much as the copy into the page cache itself.
fn for_each_formatted_chunk(
    sel: &Selection,
    w: &mut (dyn Write + Send),
    row_bytes: usize,
    format: impl Fn(usize, &[PairScores], &mut Vec<u8>) + Sync,
) -> Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let chunks = sel.len().div_ceil(CHUNK);
    let workers = std::thread::available_parallelism()
        .map(|t| t.get())
        .unwrap_or(1)
        .min(chunks.max(1));
    let pipeline = Pipeline {
        state: std::sync::Mutex::new(PipelineState {
            written: 0,
            ready: (0..AHEAD).map(|_| None).collect(),
            free: Vec::new(),
            stopped: false,
        }),
        changed: std::sync::Condvar::new(),
    };
    let next_chunk = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                let _stop_on_panic = StopOnPanic(&pipeline);
                let mut scores = Vec::new();
                loop {
                    let i = next_chunk.fetch_add(1, Ordering::Relaxed);
                    if i >= chunks {
                        return;
                    }
                    let mut out = {
                        let mut state = pipeline.lock();
                        while i >= state.written + AHEAD && !state.stopped {
                            state = pipeline.wait(state);
                        }
                        if state.stopped {
                            return;
                        }
                        state.free.pop().unwrap_or_default()
                    };
                    let start = i * CHUNK;
                    let end = (start + CHUNK).min(sel.len());
                    out.clear();
                    out.reserve((end - start) * row_bytes);
                    sel.score_into(start..end, &mut scores);
                    format(start, &scores, &mut out);
                    pipeline.lock().ready[i % AHEAD] = Some(out);
                    pipeline.changed.notify_all();
                }
            });
        }
        let result = (|| -> Result<()> {
            for i in 0..chunks {
                let piece = {
                    let mut state = pipeline.lock();
                    loop {
                        if let Some(piece) = state.ready[i % AHEAD].take() {
                            break piece;
                        }
                        if state.stopped {
                            // A worker panicked: the scope re-raises its panic on leaving.
                            anyhow::bail!("formatting the rows stopped");
                        }
                        state = pipeline.wait(state);
                    }
                };
                let written = w.write_all(&piece);
                let mut state = pipeline.lock();
                state.written = i + 1;
                state.free.push(piece);
                state.stopped |= written.is_err();
                drop(state);
                pipeline.changed.notify_all();
                written?;
            }
            Ok(())
        })();
        if result.is_err() {
            pipeline.lock().stopped = true;
            pipeline.changed.notify_all();
        }
        result
    })
}

/// Chunks formatted ahead of the one being written, at most (each holding one buffer).
const AHEAD: usize = 8;

/// The hand-over between the formatting workers and the writer.
struct Pipeline {
    state: std::sync::Mutex<PipelineState>,
    changed: std::sync::Condvar,
}

struct PipelineState {
    /// Chunks written so far (the next to write is this one).
    written: usize,
    /// Formatted chunks waiting for the writer: chunk i in slot i % [`AHEAD`].
    ready: Vec<Option<Vec<u8>>>,
    /// Written buffers, for reuse.
    free: Vec<Vec<u8>>,
    /// The writer failed or a worker panicked: everyone stops.
    stopped: bool,
}

impl Pipeline {
    fn lock(&self) -> std::sync::MutexGuard<'_, PipelineState> {
        // A panicking worker never holds the lock while formatting; its state stays consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'a>(
        &self,
        guard: std::sync::MutexGuard<'a, PipelineState>,
    ) -> std::sync::MutexGuard<'a, PipelineState> {
        self.changed.wait(guard).unwrap_or_else(|e| e.into_inner())
    }
}

/// Stops the pipeline when a worker unwinds, so that the writer does not wait for its chunk.
struct StopOnPanic<'a>(&'a Pipeline);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().stopped = true;
            self.0.changed.notify_all();
        }
    }
}

/// Appends `bytes` to `out`. The pieces of a row are short (a number, a key, most names: at most
/// 32 bytes): those are copied as two overlapping copies of a size fixed at compile time (the
/// second one after stepping back over the overlap), which compile to a few loads and stores,
/// instead of a call to `memcpy`, whose dispatch cost more than the copy itself at these sizes
/// (ten million calls for the FAERS 2023 table).
#[inline(always)]
fn append(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = bytes.len();
    let start = out.len();
    if len > 32 {
        out.extend_from_slice(bytes);
    } else if len >= 16 {
        append_overlapping::<16>(out, bytes, start);
    } else if len >= 8 {
        append_overlapping::<8>(out, bytes, start);
    } else if len >= 4 {
        append_overlapping::<4>(out, bytes, start);
    } else {
        for &b in bytes {
            out.push(b);
        }
    }
}

/// Appends `bytes` (W ≤ len ≤ 2W) as its first W bytes, then its last W bytes over the overlap.
#[inline(always)]
fn append_overlapping<const W: usize>(out: &mut Vec<u8>, bytes: &[u8], start: usize) {
    let len = bytes.len();
    if let (Some(head), Some(tail)) = (bytes.first_chunk::<W>(), bytes.last_chunk::<W>()) {
        out.extend_from_slice(head);
        out.truncate(start + len - W);
        out.extend_from_slice(tail);
    }
}

/// Each name encoded once: names repeat over the rows.
fn encode_names(names: &[String], encode: fn(&str) -> Result<Vec<u8>>) -> Result<Vec<Vec<u8>>> {
    names.iter().map(|n| encode(n)).collect()
}

/// A name as the `csv` crate writes it as one field among others (quoted only when it must be).
fn csv_field(name: &str) -> Result<Vec<u8>> {
    // Written beside an empty second field, as a lone empty field would be quoted as `""`; the
    // separator and the terminator are then taken off.
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record([name, ""])?;
    let mut bytes = w.into_inner().map_err(|e| e.into_error())?;
    bytes.truncate(bytes.len() - 2);
    Ok(bytes)
}

/// A name as serde_json writes a string.
fn json_string(name: &str) -> Result<Vec<u8>> {
    Ok(serde_json::to_vec(name)?)
}

/// Appends `x` as `format!("{x}")` prints it, with R's `Inf`, `-Inf` and `NaN` for the
/// non-finite values. Rust's `Display` for `f64` prints the shortest digits that read back to the
/// same number, laid out without an exponent; `zmij` finds the same shortest digits (the test
/// `display_f64_is_the_standard_display` compares the two on three million values), several times
/// faster, and only the layout is done here; the rare exact ties, where the two round differently,
/// go to the standard library.
#[cfg(test)] // the writers print a row's numbers in two steps, with the pieces below
fn push_display_f64(out: &mut Vec<u8>, x: f64) {
    if needs_zmij(x) {
        let mut buffer = zmij::Buffer::new();
        push_zmij_as_display(out, x, buffer.format_finite(x).as_bytes());
    } else {
        push_display_without_zmij(out, x);
    }
}

/// True when `x` is printed from zmij's digits ([`push_zmij_as_display`]); false for the values
/// [`push_display_without_zmij`] prints: non-finite, whole below 2^53, possible ties.
#[inline(always)]
fn needs_zmij(x: f64) -> bool {
    // (`as i64` is exact below 2^53 and saturates above; the comparison avoids `fract`'s call.)
    let whole = x as i64 as f64 == x && x.abs() < 9_007_199_254_740_992.0;
    x.is_finite() && !whole && !may_be_a_tie(x)
}

/// [`push_display_f64`] for a value that [`needs_zmij`] refuses.
fn push_display_without_zmij(out: &mut Vec<u8>, x: f64) {
    if !x.is_finite() {
        out.extend_from_slice(if x.is_nan() {
            b"NaN"
        } else if x > 0.0 {
            b"Inf"
        } else {
            b"-Inf"
        });
        return;
    }
    // Whole numbers below 2^53 (the counts: half the columns) are their integer's digits; -0.0
    // prints as "-0".
    let whole = x as i64;
    if whole as f64 == x && x.abs() < 9_007_199_254_740_992.0 {
        if x == 0.0 && x.is_sign_negative() {
            out.extend_from_slice(b"-0");
        } else {
            append(out, itoa::Buffer::new().format(whole).as_bytes());
        }
        return;
    }
    // Rare: the standard library itself (see `may_be_a_tie`).
    use std::io::Write as _;
    let _ = write!(out, "{x}");
}

/// Appends `x` as `Display` prints it, from `printed`, zmij's output for `x` (which [`needs_zmij`]).
#[inline(always)]
fn push_zmij_as_display(out: &mut Vec<u8>, x: f64, printed: &[u8]) {
    // Without an exponent (|x| from 1e-5 to 1e16) zmij lays the digits out as `Display` does,
    // `ddd.ddd` or `0.000ddd`, except that it ends a whole number with `.0`: taken as printed, the
    // common case, without the digit gathering below.
    // From 1e-4 to 1e15 the shortest digits' decimal exponent is within zmij's fixed-notation
    // range (−5 to 15) even after rounding, so no `e` can be printed: no need to look for one.
    // Nor can the digits end in `0` there: x is not whole (whole numbers below 2^53 are printed
    // without zmij, see `needs_zmij`), and shortest digits have no trailing zero after the point
    // (a whole neighbour below 2^53 is its own double), so no need to look at the last one.
    let magnitude = x.abs();
    if (1e-4..1e15).contains(&magnitude) {
        append(out, printed);
        return;
    }
    if magnitude < 1e-4 {
        // The p- and q-values (one number in 25 of the FAERS 2023 table): zmij prints `0.0000ddd`
        // (from 1e-5), which is `Display`'s layout, or `d.ddde-N` / `de-N`, which `Display` lays
        // out as `0.`, N − 1 zeros and the digits. Shortest digits, so no trailing zero to drop.
        let (negative, body) = match printed.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, printed),
        };
        match body.iter().position(|&b| b == b'e') {
            None => {
                append(out, printed);
                return;
            }
            Some(e) if e >= 1 && body.get(e + 1) == Some(&b'-') => {
                let zeros = (parse_exponent(&body[e + 2..]) - 1).max(0) as usize;
                if negative {
                    out.push(b'-');
                }
                out.extend_from_slice(b"0.");
                out.resize(out.len() + zeros, b'0');
                out.push(body[0]);
                // `d.ddd`: the digits after the point follow the first one.
                if e > 2 {
                    append(out, &body[2..e]);
                }
                return;
            }
            Some(_) => {}
        }
    }
    let (negative, printed) = match printed.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, printed),
    };
    // zmij prints `d.ddd`, `0.000ddd`, `ddd.d` or `d.ddde±N`: gather the significant digits and
    // the position of the decimal point relative to their start.
    let (mantissa, exponent) = match printed.iter().position(|&b| b == b'e') {
        Some(e) => (&printed[..e], parse_exponent(&printed[e + 1..])),
        None => (printed, 0),
    };
    let mut digits = [0u8; 40];
    let mut n = 0;
    let mut point: i32 = mantissa.len() as i32;
    for (i, &b) in mantissa.iter().enumerate() {
        if b == b'.' {
            point = i as i32;
        } else {
            digits[n] = b;
            n += 1;
        }
    }
    let mut first = 0;
    while first + 1 < n && digits[first] == b'0' {
        first += 1;
        point -= 1;
    }
    while n > first + 1 && digits[n - 1] == b'0' {
        n -= 1;
    }
    let digits = &digits[first..n];
    let point = point + exponent;
    if negative {
        out.push(b'-');
    }
    if point <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-point) as usize));
        out.extend_from_slice(digits);
    } else if (point as usize) < digits.len() {
        out.extend_from_slice(&digits[..point as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[point as usize..]);
    } else {
        out.extend_from_slice(digits);
        out.extend(std::iter::repeat_n(b'0', point as usize - digits.len()));
    }
}

/// True when `x`'s exact decimal value could lie halfway between two shortest candidates, the one
/// case where zmij (rounding half to even) and the standard library (rounding half up) choose
/// different last digits: `592174564917451.25` prints `…451.2` from zmij, `…451.3` from `Display`.
/// A tie at n ≤ 17 digits needs an exact value of at most 18 significant digits. With x = m·2^e (m
/// odd), for e < 0 the exact value's significant digits are those of m·5^(−e) (odd, so no trailing
/// zero), more than 18 once 5^(−e) ≥ 10^18 or the product is; for e ≥ 0 (whole numbers of 2^53 and
/// more) every e up to 134 is counted as possible, above which m·2^e has more than 18 significant
/// digits (at most 22 trailing zeros, from the factors 5 of m < 2^53).
fn may_be_a_tie(x: f64) -> bool {
    let bits = x.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);
    let (mut m, mut e) = if biased == 0 {
        (fraction, -1074)
    } else {
        (fraction | (1 << 52), biased - 1075)
    };
    if m == 0 {
        return true;
    }
    let zeros = m.trailing_zeros();
    m >>= zeros;
    e += zeros as i32;
    if e >= 0 {
        return e <= 134;
    }
    if -e > 26 {
        return false; // 5^27 > 10^18
    }
    u128::from(m) * 5u128.pow((-e) as u32) < 1_000_000_000_000_000_000
}

/// The exponent after `e` in zmij's output: an optional sign and decimal digits.
fn parse_exponent(s: &[u8]) -> i32 {
    let (sign, digits) = match s.split_first() {
        Some((b'-', rest)) => (-1, rest),
        Some((b'+', rest)) => (1, rest),
        _ => (1, s),
    };
    sign * digits
        .iter()
        .fold(0i32, |acc, &d| acc * 10 + i32::from(d - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn display(x: f64) -> String {
        let mut out = Vec::new();
        push_display_f64(&mut out, x);
        String::from_utf8(out).unwrap()
    }

    /// The reference is the standard library's own `Display`, which the CSV output used before.
    #[test]
    #[allow(clippy::excessive_precision)] // values chosen beyond an f64's digits (2^53 + 1, decimal ties)
    fn display_f64_is_the_standard_display() {
        let mut special = vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            0.5,
            1e-7,
            1.5e-300,
            5e-324,
            f64::MIN_POSITIVE,
            f64::MAX,
            -f64::MAX,
            1e21,
            1e22,
            123456789012345680000.0,
            9_007_199_254_740_992.0,
            9_007_199_254_740_993.0,
            2.0_f64.powi(60),
            0.30000000000000004,
            1.0 / 3.0,
            2.5e-5,
            12.5,
            4162.4557103796,
            81.5,
            592174564917451.25,
            f64::from_bits(0xc318_b967_5208_c3ad),
            1433085771909370.25,
            1.0755158759094625e-6,
            -1.0755158759094625e-6,
            -1e-7,
            9.99999999999999e-5,
            1e-4,
            -2.5e-5,
            1.2345e-100,
        ];
        // A deterministic spread of bit patterns (SplitMix64) and of values of the table's scales.
        let mut next = vigil_test_support::splitmix64(17);
        for _ in 0..1_000_000 {
            special.push(f64::from_bits(next()));
            let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
            special.push((u * 80.0 - 40.0).exp());
            // Halves and quarters of large numbers: exact ties at 16 and 17 digits.
            special.push((next() >> 12) as f64 / 4.0);
        }
        for x in special {
            let want = if x.is_nan() {
                "NaN".to_owned()
            } else if x.is_infinite() {
                if x > 0.0 { "Inf" } else { "-Inf" }.to_owned()
            } else {
                format!("{x}")
            };
            assert_eq!(display(x), want, "bits {:#x}", x.to_bits());
        }
        assert_eq!(display(f64::NAN), "NaN");
        assert_eq!(display(f64::INFINITY), "Inf");
        assert_eq!(display(f64::NEG_INFINITY), "-Inf");
    }

    /// A selection of `rows` aggregated 2×2 tables (a fixed total, so one family; each drug and
    /// event on one row, so their margins agree), with names the CSV writer must quote: enough rows to wrap round the pipeline's slots and reuse buffers.
    fn selection(rows: usize) -> Selection {
        use crate::cmd::signals::{compute, Source};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tables.csv");
        let total = 10_000_000u64;
        let mut text = String::from("drug,event,a,b,c,d\n");
        for i in 0..rows as u64 {
            let drug = match i % 3 {
                0 => format!("DRUG {i}"),
                1 => format!("\"DRUG, {i}\""),
                _ => format!("\"SAY \"\"{i}\"\"\""),
            };
            let (a, b, c) = (
                1 + (i * 7919) % 50,
                10 + (i * 31) % 1000,
                100 + (i * 17) % 5000,
            );
            let d = total - a - b - c;
            text.push_str(&format!("{drug},EVENT {i},{a},{b},{c},{d}\n"));
        }
        std::fs::write(&path, text).unwrap();
        let request = vigil_store::request::SignalsRequest::default();
        compute(Source::Counts(&path), &request).unwrap().1
    }

    /// The reference is the old way of writing the table: the `csv` crate with `Display` numbers
    /// ([`crate::output::csv_number`]), and one `serde_json` object per row
    /// ([`crate::output::json_number`]), over [`Selection::score_all`]; on more rows than the
    /// pipeline holds at once (its buffers are reused) and under both decision rules.
    #[test]
    fn chunked_writers_write_what_the_csv_crate_and_serde_json_write() {
        use crate::cmd::signals::Decision;
        use crate::output::{csv_number, json_number};
        let mut sel = selection(AHEAD * CHUNK + 1234);
        for decision in [Decision::Thresholds, Decision::Fdr(0.05)] {
            sel.decision = decision;
            let table = sel.score_all();
            let mut want_csv = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(Vec::new());
            want_csv.write_record(COLUMNS).unwrap();
            let mut want_json = String::from("[");
            for (k, s) in table.scores.iter().enumerate() {
                let mut record = vec![table.drug[k].clone(), table.event[k].clone()];
                let mut object = serde_json::Map::new();
                object.insert("drug".into(), table.drug[k].clone().into());
                object.insert("event".into(), table.event[k].clone().into());
                let values = row_values(s);
                for (c, x) in values.iter().enumerate() {
                    record.push(csv_number(*x));
                    object.insert(COLUMNS[2 + c].into(), json_number(*x));
                }
                for (c, b) in flags(s).iter().enumerate() {
                    record.push(b.to_string());
                    object.insert(COLUMNS[25 + c].into(), (*b).into());
                }
                for (c, x) in table.fdr[k].iter().enumerate() {
                    record.push(csv_number(*x));
                    object.insert(COLUMNS[FDR_START + c].into(), json_number(*x));
                }
                want_csv.write_record(&record).unwrap();
                want_json.push_str(if k == 0 { "\n  " } else { ",\n  " });
                want_json.push_str(&serde_json::to_string(&object).unwrap());
            }
            want_json.push_str("\n]\n");
            let want_csv = String::from_utf8(want_csv.into_inner().unwrap()).unwrap();
            let mut ours = Vec::new();
            write_csv(&sel, &mut ours).unwrap();
            assert!(String::from_utf8(ours).unwrap() == want_csv, "CSV differs");
            let mut ours = Vec::new();
            write_json(&sel, &mut ours).unwrap();
            assert!(
                String::from_utf8(ours).unwrap() == want_json,
                "JSON differs"
            );
        }
    }

    /// A writer that takes `left` bytes, then fails.
    struct FailingWriter {
        left: usize,
    }

    impl Write for FailingWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.left == 0 {
                return Err(std::io::Error::other("disk full"));
            }
            let n = buf.len().min(self.left);
            self.left -= n;
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A failed write stops the formatting workers and comes back as the error (no hang, no
    /// panic), wherever it happens.
    #[test]
    fn a_failed_write_stops_the_pipeline_with_its_error() {
        let sel = selection(AHEAD * CHUNK * 2);
        for left in [0, 100, 3_000_000, 20_000_000] {
            let err = write_csv(&sel, &mut FailingWriter { left }).unwrap_err();
            assert!(format!("{err:#}").contains("disk full"), "{left}: {err:#}");
            let err = write_json(&sel, &mut FailingWriter { left }).unwrap_err();
            assert!(format!("{err:#}").contains("disk full"), "{left}: {err:#}");
        }
    }

    /// The reference is `extend_from_slice`, on every length around the copy's size classes.
    #[test]
    fn append_copies_every_length_exactly() {
        let source: Vec<u8> = (0..80u8)
            .map(|b| b.wrapping_mul(37).wrapping_add(11))
            .collect();
        for prefix in [0usize, 1, 7, 31] {
            for len in 0..=source.len() {
                let mut ours = vec![0xAAu8; prefix];
                append(&mut ours, &source[..len]);
                append(&mut ours, &source[len..]);
                let mut want = vec![0xAAu8; prefix];
                want.extend_from_slice(&source);
                assert_eq!(ours, want, "prefix {prefix}, split at {len}");
            }
        }
    }

    /// The reference is the `csv` crate's writer on a whole record.
    #[test]
    fn names_are_quoted_as_the_csv_crate_quotes_them() {
        for name in ["PLAIN", "A, B", "SAY \"HI\"", "LINE\nBREAK", "", " SPACE "] {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record([name, "x"]).unwrap();
            let whole = String::from_utf8(w.into_inner().unwrap()).unwrap();
            let ours = String::from_utf8(csv_field(name).unwrap()).unwrap();
            assert_eq!(whole, format!("{ours},x\n"), "{name:?}");
        }
    }
}
