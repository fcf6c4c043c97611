//! The `$`-delimited record reader, with every byte-level quirk of the FDA files handled.
//!
//! * No quoting or escaping: `$` is the only delimiter; quotes and commas are literal.
//! * A UTF-8 BOM before the header is dropped; CRLF and LF endings are both accepted, and so is
//!   a last line without a newline. Blank lines are skipped.
//! * Header names are trimmed and lower-cased (2012Q4 DEMO has ` rept_dt`); a trailing `$`
//!   on the header gives an empty last name, which is dropped.
//! * A row may end with an extra `$` (legacy AERS), giving one empty field more than the header:
//!   accepted in a file whose rows carry it (the majority of its first rows), rejected elsewhere
//!   (there the extra field comes from a `$` inside a value). FAERS rows (2012Q4, 2020Q3 heads)
//!   have exactly the header's width; those whose last value is empty end in `$`.
//! * A record split over several physical lines (an embedded newline) has fewer fields than the
//!   header: the following lines are joined to it until the count is reached. If joining
//!   overshoots, the first part is reported as a short row and the later line starts afresh.
//!   In files whose rows end in `$` (learnt from the first complete row), a row of exactly the
//!   header's width lacks its final `$`: it is joined with the next line when that line is not a
//!   record by itself (the newline broke its last value), else taken as complete.
//! * Two records run together on one line (a missing newline) are split back when the line
//!   ends in `$` and its field count is a whole multiple of the header's.
//! * Any other line with too many fields (a `$` inside a value shifts the columns) is reported
//!   as a row error, never read with shifted columns.
//!
//! Fields are handed out as byte slices: no allocation per field. [`Record::text`] decodes a
//! field as UTF-8, falling back to Latin-1 for that field alone.
use std::borrow::Cow;
use std::io::BufRead;

/// Physical lines joined at most into one record before giving up.
const MAX_JOINED_LINES: usize = 64;
/// Rows looked at to learn whether a file's rows end in an extra `$`.
const STYLE_SAMPLE_LINES: usize = 1_000;

/// A row the reader could not turn into a record.
#[derive(Debug, Clone, PartialEq)]
pub struct BadRow {
    /// 1-based line number of the first physical line of the row.
    pub line: u64,
    /// What is wrong.
    pub reason: String,
    /// Short reason key for counting.
    pub kind: &'static str,
    /// Start of the raw row.
    pub raw: String,
}

/// One record: a line buffer and the ranges of its fields.
#[derive(Debug, Default)]
pub struct Record {
    buf: Vec<u8>,
    /// The same bytes when they are valid UTF-8 (checked once per record, so fields are sliced
    /// without re-validation); `buf` is then empty.
    sbuf: String,
    utf8: bool,
    ends: Vec<usize>,
    /// 1-based line number of the first physical line.
    pub line: u64,
}

impl Record {
    /// The raw bytes of field `i` (empty when the row is short of it).
    pub fn bytes(&self, i: usize) -> &[u8] {
        if i >= self.ends.len() {
            return &[];
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] + 1 };
        if self.utf8 {
            &self.sbuf.as_bytes()[start..self.ends[i]]
        } else {
            &self.buf[start..self.ends[i]]
        }
    }

    /// Field `i` decoded: UTF-8 when valid, else Latin-1 (every byte one character).
    pub fn text(&self, i: usize) -> Cow<'_, str> {
        if self.utf8 {
            return Cow::Borrowed(self.utf8_field(i));
        }
        decode_field(self.bytes(i))
    }

    /// Field `i` of a record known to be UTF-8.
    fn utf8_field(&self, i: usize) -> &str {
        if i >= self.ends.len() {
            return "";
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] + 1 };
        // `$` is ASCII, so field boundaries are character boundaries.
        &self.sbuf[start..self.ends[i]]
    }

    /// Field `i` trimmed, or `None` when empty.
    pub fn opt_text(&self, i: usize) -> Option<Cow<'_, str>> {
        if self.utf8 {
            let f = self.utf8_field(i);
            // Trimmed bytes are ASCII, so the trimmed range starts and ends on characters.
            let (start, end) = trimmed_range(f.as_bytes());
            let t = &f[start..end];
            return if t.is_empty() {
                None
            } else {
                Some(Cow::Borrowed(t))
            };
        }
        let b = trim_bytes(self.bytes(i));
        if b.is_empty() {
            None
        } else {
            Some(decode_field(b))
        }
    }

    /// The record's byte buffer (emptied of meaning: the caller refills it), to reuse its capacity.
    fn take_buffer(&mut self) -> Vec<u8> {
        if self.utf8 {
            std::mem::take(&mut self.sbuf).into_bytes()
        } else {
            std::mem::take(&mut self.buf)
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when the record has no fields.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// Decodes bytes as UTF-8, or as Latin-1 when they are not valid UTF-8.
pub fn decode_field(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(b.iter().map(|&c| c as char).collect()),
    }
}

/// Trims ASCII whitespace (and control characters such as the 0x08 seen in legacy DRUG files).
pub fn trim_bytes(b: &[u8]) -> &[u8] {
    let (start, end) = trimmed_range(b);
    &b[start..end]
}

/// The range of `b` left by [`trim_bytes`].
#[inline]
fn trimmed_range(b: &[u8]) -> (usize, usize) {
    let trimmed = |c: &u8| c.is_ascii_whitespace() || c.is_ascii_control();
    match (b.first(), b.last()) {
        // Most values have nothing to trim.
        (Some(f), Some(l)) if !trimmed(f) && !trimmed(l) => (0, b.len()),
        _ => {
            let start = b.iter().position(|c| !trimmed(c)).unwrap_or(b.len());
            let end = b.iter().rposition(|c| !trimmed(c)).map_or(start, |p| p + 1);
            (start, end.max(start))
        }
    }
}

fn strip_eol(line: &mut Vec<u8>) {
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
}

fn count_fields(b: &[u8]) -> usize {
    memchr::memchr_iter(b'$', b).count() + 1
}

/// Bytes whose every byte is `b`.
const fn splat(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// 0x80 in each byte of `word` equal to `b`, 0 elsewhere (exact: no false positives).
#[inline]
fn byte_mask(word: u64, b: u8) -> u64 {
    const LOW7: u64 = splat(0x7f);
    let x = word ^ splat(b);
    // High bit set in a byte of `x` that is zero: add 0x7f to the low 7 bits (sets bit 7 unless
    // they were all zero), or in the byte itself, then invert.
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// Finds the first `\n` in `bytes` and appends `base +` the offset of every `$` before it to
/// `dollars`; returns the offset of the `\n`, or `None` (every `$` of `bytes` then appended).
///
/// Why not `memchr`: FAERS rows have a `$` every few bytes, and one `memchr` call per field (twice
/// a row: to count, then to split) plus one per line was a sixth of an ingest's CPU (perf, one
/// synthetic quarter). This reads eight bytes at a time once and walks the bits of the matches.
pub(crate) fn scan_line(bytes: &[u8], base: usize, dollars: &mut Vec<usize>) -> Option<usize> {
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let newline = byte_mask(word, b'\n');
        let mut dollar = byte_mask(word, b'$');
        if newline != 0 {
            // Only the `$` before the first newline (bytes are little-endian: lower bits first).
            let first = newline.trailing_zeros();
            dollar &= (1u64 << first) - 1;
            push_bits(dollar, base + at, dollars);
            return Some(at + (first / 8) as usize);
        }
        push_bits(dollar, base + at, dollars);
        at += 8;
    }
    for (i, &b) in chunks.remainder().iter().enumerate() {
        match b {
            b'\n' => return Some(at + i),
            b'$' => dollars.push(base + at + i),
            _ => {}
        }
    }
    None
}

#[inline]
fn push_bits(mut mask: u64, base: usize, out: &mut Vec<usize>) {
    while mask != 0 {
        out.push(base + (mask.trailing_zeros() / 8) as usize);
        mask &= mask - 1;
    }
}

/// Appends the next physical line of `src` (through its `\n`, if any) to `line`, and the offsets
/// of its `$` within `line` to `dollars`; returns the bytes consumed (0 at the end). What
/// `read_until(b'\n')` does, with the `$` found in the same pass.
fn read_line_scanning<R: BufRead>(
    src: &mut R,
    line: &mut Vec<u8>,
    dollars: &mut Vec<usize>,
) -> std::io::Result<usize> {
    let mut total = 0;
    loop {
        let (done, used) = {
            let available = match src.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            match scan_line(available, line.len(), dollars) {
                Some(i) => {
                    line.extend_from_slice(&available[..=i]);
                    (true, i + 1)
                }
                None => {
                    line.extend_from_slice(available);
                    (available.is_empty(), available.len())
                }
            }
        };
        src.consume(used);
        total += used;
        if done {
            return Ok(total);
        }
    }
}

fn raw_preview(b: &[u8]) -> String {
    let cut = &b[..b.len().min(300)];
    decode_field(cut).into_owned()
}

/// Reads `$`-delimited records from a byte stream.
pub struct DollarReader<R> {
    src: R,
    header: Vec<String>,
    width: usize,
    /// Whether rows end in an extra `$`, learnt from the first complete row. In that style a row of exactly `width` fields lacks its final `$`
    /// and is joined with the next line (the newline broke its last value).
    trailing: Option<bool>,
    physical_line: u64,
    line: Vec<u8>,
    /// Offsets of the `$` in `line`, as read by [`Self::read_line`].
    dollars: Vec<usize>,
    carry: Option<(Vec<u8>, u64)>,
    runon: Option<(Vec<u8>, u64, usize)>,
    bytes_read: u64,
}

impl<R: BufRead> DollarReader<R> {
    /// Reads the header line. The names are trimmed and lower-cased; renames are the caller's.
    /// Returns `Ok(None)` for an empty file.
    pub fn new(mut src: R) -> std::io::Result<Option<Self>> {
        let mut line = Vec::new();
        let mut physical_line = 0;
        let mut bytes_read = 0;
        loop {
            line.clear();
            let n = src.read_until(b'\n', &mut line)?;
            if n == 0 {
                return Ok(None);
            }
            bytes_read += n as u64;
            physical_line += 1;
            strip_eol(&mut line);
            if physical_line == 1 && line.starts_with(&[0xEF, 0xBB, 0xBF]) {
                line.drain(..3);
            }
            if !trim_bytes(&line).is_empty() {
                break;
            }
        }
        // Learnt from the data rows, not the header: raw FAERS headers end in `$` too.
        let trailing = None;
        let mut header: Vec<String> = line
            .split(|&b| b == b'$')
            .map(|f| decode_field(trim_bytes(f)).to_lowercase())
            .collect();
        while header.last().is_some_and(|h| h.is_empty()) {
            header.pop();
        }
        let width = header.len();
        if width == 0 {
            // A header of only `$` (found by fuzzing: it made the run-on split divide by zero).
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "line 1: the header has no column names",
            ));
        }
        let mut reader = Self {
            src,
            header,
            width,
            trailing,
            physical_line,
            line,
            dollars: Vec::new(),
            carry: None,
            runon: None,
            bytes_read,
        };
        reader.learn_trailing()?;
        Ok(Some(reader))
    }

    /// The header names (trimmed, lower-cased, trailing empty name dropped).
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads the next non-blank physical line into `line`, its `$` offsets into `dollars`.
    fn read_line(&mut self) -> std::io::Result<Option<u64>> {
        loop {
            self.line.clear();
            self.dollars.clear();
            let n = read_line_scanning(&mut self.src, &mut self.line, &mut self.dollars)?;
            if n == 0 {
                return Ok(None);
            }
            self.bytes_read += n as u64;
            self.physical_line += 1;
            strip_eol(&mut self.line);
            if !self.line.iter().all(|b| b.is_ascii_whitespace()) {
                return Ok(Some(self.physical_line));
            }
        }
    }

    /// Learns whether the rows of this file end in an extra `$` from the whole lines already
    /// buffered after the header (up to [`STYLE_SAMPLE_LINES`]): the majority of rows of `w + 1`
    /// fields ending in `$` against rows of exactly `w` fields. Why a majority and not the first
    /// row: a first row with a `$` inside a value and an empty last field looks exactly like a
    /// trailing-`$` row, and would set the wrong style for the whole file. When no whole line is
    /// buffered the first complete row decides, as before.
    fn learn_trailing(&mut self) -> std::io::Result<()> {
        let w = self.width;
        let buf = self.src.fill_buf()?;
        let (mut with_dollar, mut without) = (0usize, 0usize);
        let mut rest = buf;
        let mut seen = 0;
        while let Some(p) = memchr::memchr(b'\n', rest) {
            let mut line = &rest[..p];
            rest = &rest[p + 1..];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            if trim_bytes(line).is_empty() {
                continue;
            }
            let k = count_fields(line);
            if k == w + 1 && line.last() == Some(&b'$') {
                with_dollar += 1;
            } else if k == w {
                without += 1;
            }
            seen += 1;
            if seen >= STYLE_SAMPLE_LINES {
                break;
            }
        }
        if with_dollar + without > 0 {
            self.trailing = Some(with_dollar > without);
        }
        Ok(())
    }

    /// Classifies a candidate record of `k` fields: complete, short, or too long. A row of
    /// `w + 1` fields ending in `$` is complete only in a file whose rows carry that trailing `$`
    /// (or whose style is not known yet); elsewhere its extra field comes from a `$` inside a
    /// value, and it is too long (a rejected row, never read shifted).
    fn fits(&self, b: &[u8], k: usize) -> Fit {
        let w = self.width;
        if k == w + 1 && b.last() == Some(&b'$') && self.trailing != Some(false) {
            Fit::Exact
        } else if k == w && self.trailing == Some(true) {
            Fit::Short
        } else if k == w {
            Fit::Exact
        } else if k < w {
            Fit::Short
        } else {
            Fit::Long
        }
    }

    /// Fills `rec` with a copy of `bytes`, finding its `$` (rows joined or split: the rare paths).
    fn fill(rec: &mut Record, bytes: &[u8], line: u64, width: usize) {
        // Reuse whichever buffer holds capacity.
        let mut buf = rec.take_buffer();
        buf.clear();
        buf.extend_from_slice(bytes);
        rec.ends.clear();
        rec.ends.extend(memchr::memchr_iter(b'$', &buf));
        Self::finish_fill(rec, buf, line, width);
    }

    /// Fills `rec` with the line `buf` whose `$` are at `dollars` (no copy: the record takes the
    /// buffer); returns the record's previous buffer, for the next line.
    fn fill_owned(
        rec: &mut Record,
        buf: Vec<u8>,
        dollars: &[usize],
        line: u64,
        width: usize,
    ) -> Vec<u8> {
        let old = rec.take_buffer();
        rec.ends.clear();
        rec.ends.extend_from_slice(dollars);
        Self::finish_fill(rec, buf, line, width);
        old
    }

    /// Sets the last field's end (dropping the empty field of a trailing `$`) and decodes.
    fn finish_fill(rec: &mut Record, buf: Vec<u8>, line: u64, width: usize) {
        rec.ends.push(buf.len());
        // Drop the empty field a trailing `$` makes.
        if rec.ends.len() > width && buf.last() == Some(&b'$') {
            rec.ends.pop();
            let l = rec.ends.len();
            if l > 0 {
                // The last kept field ends at the trailing `$`.
                rec.ends[l - 1] = buf.len() - 1;
            }
        }
        match String::from_utf8(buf) {
            Ok(s) => {
                rec.sbuf = s;
                rec.utf8 = true;
            }
            Err(e) => {
                rec.buf = e.into_bytes();
                rec.utf8 = false;
            }
        }
        rec.line = line;
    }

    /// Reads the next record into `rec`. Returns `Ok(None)` at the end, `Ok(Some(Err(bad)))`
    /// for a row that cannot be read (the reader then continues with the next one).
    pub fn next_record(&mut self, rec: &mut Record) -> std::io::Result<Option<Result<(), BadRow>>> {
        let w = self.width;
        // Serve the remaining parts of a run-on line.
        if let Some((buf, line, pos)) = self.runon.take() {
            let part_fields = w; // each part is `w` fields followed by its `$`
            let mut end = pos;
            let mut seen = 0;
            while end < buf.len() {
                if buf[end] == b'$' {
                    seen += 1;
                    if seen == part_fields {
                        break;
                    }
                }
                end += 1;
            }
            let part = &buf[pos..(end + 1).min(buf.len())];
            Self::fill(rec, part, line, w);
            if end + 1 < buf.len() {
                self.runon = Some((buf, line, end + 1));
            }
            return Ok(Some(Ok(())));
        }
        // `fresh`: `acc` is the line just read, whose `$` are in `self.dollars`.
        let (mut acc, start_line, fresh) = match self.carry.take() {
            Some((acc, line)) => (acc, line, false),
            None => match self.read_line()? {
                Some(l) => (std::mem::take(&mut self.line), l, true),
                None => return Ok(None),
            },
        };
        let mut k = if fresh {
            self.dollars.len() + 1
        } else {
            count_fields(&acc)
        };
        let mut joined = 1;
        loop {
            match self.fits(&acc, k) {
                Fit::Exact => {
                    if self.trailing.is_none() {
                        self.trailing = Some(k == w + 1);
                    }
                    if fresh && joined == 1 {
                        self.line = Self::fill_owned(rec, acc, &self.dollars, start_line, w);
                    } else {
                        Self::fill(rec, &acc, start_line, w);
                        self.line = acc;
                    }
                    return Ok(Some(Ok(())));
                }
                Fit::Long => {
                    // At least two whole records: `w + 1` fields ending in `$` is one record
                    // with an extra field, not a run-on line.
                    if joined == 1
                        && acc.last() == Some(&b'$')
                        && k > 2 * w
                        && (k - 1).is_multiple_of(w)
                    {
                        // Records run together: split after every `w`-th `$`.
                        let mut end = 0;
                        let mut seen = 0;
                        while end < acc.len() {
                            if acc[end] == b'$' {
                                seen += 1;
                                if seen == w {
                                    break;
                                }
                            }
                            end += 1;
                        }
                        Self::fill(rec, &acc[..=end], start_line, w);
                        self.runon = Some((acc, start_line, end + 1));
                        return Ok(Some(Ok(())));
                    }
                    let bad = BadRow {
                        line: start_line,
                        reason: format!(
                            "{k} fields where the header has {w}: a `$` inside a value shifts the columns"
                        ),
                        kind: "too many fields",
                        raw: raw_preview(&acc),
                    };
                    self.line = acc;
                    return Ok(Some(Err(bad)));
                }
                Fit::Short => {
                    if joined >= MAX_JOINED_LINES {
                        let bad = BadRow {
                            line: start_line,
                            reason: format!(
                                "{k} fields where the header has {w}, after joining {joined} lines"
                            ),
                            kind: "too few fields",
                            raw: raw_preview(&acc),
                        };
                        return Ok(Some(Err(bad)));
                    }
                    match self.read_line()? {
                        None if k == w => {
                            // All fields present, only the final `$` is missing: complete.
                            Self::fill(rec, &acc, start_line, w);
                            self.line = acc;
                            return Ok(Some(Ok(())));
                        }
                        None => {
                            let bad = BadRow {
                                line: start_line,
                                reason: format!(
                                    "{k} fields where the header has {w} (at end of file)"
                                ),
                                kind: "too few fields",
                                raw: raw_preview(&acc),
                            };
                            return Ok(Some(Err(bad)));
                        }
                        Some(next_line) => {
                            let next_k = self.dollars.len() + 1;
                            let joined_k = k + next_k - 1;
                            let next_fits_alone =
                                matches!(self.fits(&self.line, next_k), Fit::Exact);
                            if k == w && (next_fits_alone || joined_k > w + 1) {
                                // All fields present, only the final `$` is missing: complete.
                                Self::fill(rec, &acc, start_line, w);
                                self.carry = Some((std::mem::take(&mut self.line), next_line));
                                return Ok(Some(Ok(())));
                            }
                            if next_fits_alone || joined_k > w + 1 {
                                // The next line is a record of its own: the short one is bad.
                                let bad = BadRow {
                                    line: start_line,
                                    reason: format!("{k} fields where the header has {w}"),
                                    kind: "too few fields",
                                    raw: raw_preview(&acc),
                                };
                                self.carry = Some((std::mem::take(&mut self.line), next_line));
                                return Ok(Some(Err(bad)));
                            }
                            acc.extend_from_slice(&self.line);
                            k = joined_k;
                            joined += 1;
                        }
                    }
                }
            }
        }
    }
}

enum Fit {
    Exact,
    Short,
    Long,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(text: &[u8]) -> (Vec<String>, Vec<Vec<String>>, Vec<BadRow>) {
        let mut r = DollarReader::new(text).unwrap().unwrap();
        let header = r.header().to_vec();
        let mut rows = Vec::new();
        let mut bad = Vec::new();
        let mut rec = Record::default();
        while let Some(res) = r.next_record(&mut rec).unwrap() {
            match res {
                Ok(()) => rows.push((0..rec.len()).map(|i| rec.text(i).into_owned()).collect()),
                Err(b) => bad.push(b),
            }
        }
        (header, rows, bad)
    }

    #[test]
    fn bom_crlf_trailing_dollar_and_header_trim() {
        let (h, rows, bad) = read_all(b"\xEF\xBB\xBFA$ B $c$\r\n1$2$3$\r\n4$5$6");
        assert_eq!(h, ["a", "b", "c"]);
        assert_eq!(rows, [["1", "2", "3"], ["4", "5", "6"]]);
        assert!(bad.is_empty());
    }

    #[test]
    fn split_record_is_rejoined() {
        // "x\ny" was one value broken by an embedded newline: 2 + 2 - 1 = 3 fields.
        let (_, rows, bad) = read_all(b"a$b$c\n1$x\ny$3\n4$5$6\n");
        assert_eq!(rows, [["1", "xy", "3"], ["4", "5", "6"]]);
        assert!(bad.is_empty());
    }

    #[test]
    fn run_on_records_are_split() {
        // Legacy rows end in `$`; two run together give 2*3+1 = 7 fields, the last empty.
        let (_, rows, bad) = read_all(b"a$b$c$\n1$2$3$4$5$6$\n7$8$9$\n");
        assert_eq!(rows, [["1", "2", "3"], ["4", "5", "6"], ["7", "8", "9"]]);
        assert!(bad.is_empty());
    }

    #[test]
    fn dollar_in_value_is_reported_not_shifted() {
        let (_, rows, bad) = read_all(b"a$b$c\n1$M$N$3\n4$5$6\n");
        assert_eq!(rows, [["4", "5", "6"]]);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, 2);
        assert_eq!(bad[0].kind, "too many fields");
    }

    #[test]
    fn dollar_in_value_with_empty_last_field_is_reported_not_shifted() {
        // Rows without a trailing `$` (as the pandas-written 2025Q4 files): `LIP$ITOR` with an
        // empty last field gives 3 + 1 fields ending in `$`, the shape of a trailing-`$` row. It
        // was read as 3 fields with drugname `LIP` and prod_ai `ITOR`.
        let text = b"seq$drugname$prod_ai$dose_freq\n1$LIPITOR$ATORVASTATIN$\n2$LIP$ITOR$ATORVASTATIN$\n3$ZOCOR$SIMVASTATIN$QD\n";
        let (_, rows, bad) = read_all(text);
        assert_eq!(
            rows,
            [
                ["1", "LIPITOR", "ATORVASTATIN", ""],
                ["3", "ZOCOR", "SIMVASTATIN", "QD"]
            ]
        );
        assert_eq!(bad.len(), 1);
        assert_eq!((bad[0].line, bad[0].kind), (3, "too many fields"));
        // The same when the shifted row comes first: the file's style is the rows' majority.
        let text = b"seq$drugname$prod_ai$dose_freq\n2$LIP$ITOR$ATORVASTATIN$\n1$LIPITOR$ATORVASTATIN$\n3$ZOCOR$SIMVASTATIN$QD\n";
        let (_, rows, bad) = read_all(text);
        assert_eq!(
            rows,
            [
                ["1", "LIPITOR", "ATORVASTATIN", ""],
                ["3", "ZOCOR", "SIMVASTATIN", "QD"]
            ]
        );
        assert_eq!((bad.len(), bad[0].line), (1, 2));
        // In a file whose rows do end in `$`, the one trailing empty field is accepted.
        let (_, rows, bad) = read_all(b"a$b$c$\n1$$$\n4$5$6$\n");
        assert_eq!(rows, [["1", "", ""], ["4", "5", "6"]]);
        assert!(bad.is_empty());
    }

    #[test]
    fn short_row_followed_by_full_row() {
        let (_, rows, bad) = read_all(b"a$b$c\n1$2\n4$5$6\n");
        assert_eq!(rows, [["4", "5", "6"]]);
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].line, 2);
    }

    #[test]
    fn split_last_value_in_trailing_style() {
        // Rows end in `$`; the second row's last value was broken by a newline.
        let (_, rows, bad) = read_all(b"a$b$c$\n1$2$3$\n4$5$TW\nO$\n7$8$9$\n");
        assert_eq!(rows, [["1", "2", "3"], ["4", "5", "TWO"], ["7", "8", "9"]]);
        assert!(bad.is_empty());
    }

    #[test]
    fn line_scan_agrees_with_a_byte_by_byte_search() {
        // Every byte of interest at every offset of an 8-byte word, and the remainder: strings
        // over {'$', '\n', 'a', 0x80, 0xA4 (Latin-1 currency), 0x24 ^ 0x80} from a fixed
        // scramble (0xA4 and 0xA4 ^ 0x80 differ from '$' by one bit only).
        let alphabet = [b'$', b'\n', b'a', 0x80, 0xA4, 0x24 ^ 0x80, b'\r'];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for len in 0..80 {
            for _ in 0..50 {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        alphabet[(state % alphabet.len() as u64) as usize]
                    })
                    .collect();
                let want_end = bytes.iter().position(|&b| b == b'\n');
                let want: Vec<usize> = bytes[..want_end.unwrap_or(bytes.len())]
                    .iter()
                    .enumerate()
                    .filter(|(_, &b)| b == b'$')
                    .map(|(i, _)| 5 + i)
                    .collect();
                let mut got = Vec::new();
                assert_eq!(scan_line(&bytes, 5, &mut got), want_end, "{bytes:?}");
                assert_eq!(got, want, "{bytes:?}");
            }
        }
    }

    #[test]
    fn lines_across_buffer_refills_read_as_from_one_buffer() {
        // Lines longer than the reader's buffer, a split record and a run-on line: every buffer
        // size gives the rows of a single read.
        let text: &[u8] = b"\xEF\xBB\xBFa$b$c$\r\n1$22$333$\r\n16$17$18$\n4$5$T\nWO$\n7$8$9$10$11$12$\n\n  \n13$14$15$";
        let want = read_all(text);
        assert!(want.2.is_empty());
        assert_eq!(
            want.1,
            [
                ["1", "22", "333"],
                ["16", "17", "18"],
                ["4", "5", "TWO"],
                ["7", "8", "9"],
                ["10", "11", "12"],
                ["13", "14", "15"]
            ]
        );
        for cap in 1..=20 {
            let mut r = DollarReader::new(std::io::BufReader::with_capacity(cap, text))
                .unwrap()
                .unwrap();
            let mut rows: Vec<Vec<String>> = Vec::new();
            let mut rec = Record::default();
            while let Some(res) = r.next_record(&mut rec).unwrap() {
                res.unwrap();
                rows.push((0..rec.len()).map(|i| rec.text(i).into_owned()).collect());
                assert_eq!(
                    rec.line,
                    [2, 3, 4, 6, 6, 9][rows.len() - 1],
                    "capacity {cap}"
                );
            }
            assert_eq!(rows, want.1, "capacity {cap}");
            assert_eq!(r.bytes_read(), text.len() as u64);
        }
    }

    #[test]
    fn trimming_drops_ascii_space_and_control_only() {
        assert_eq!(trim_bytes(b" \x08ab c\t"), b"ab c");
        assert_eq!(trim_bytes(b"   "), b"");
        assert_eq!(trim_bytes(b""), b"");
        let text = "a$b$c\n \u{e9}t\u{e9}\x08$\u{a0}x$ \t\n".as_bytes();
        let mut r = DollarReader::new(text).unwrap().unwrap();
        let mut rec = Record::default();
        r.next_record(&mut rec).unwrap().unwrap().unwrap();
        assert_eq!(rec.opt_text(0).as_deref(), Some("\u{e9}t\u{e9}"));
        // U+00A0 (no-break space) is not ASCII: kept.
        assert_eq!(rec.opt_text(1).as_deref(), Some("\u{a0}x"));
        assert_eq!(rec.opt_text(2), None);
    }

    #[test]
    fn latin1_fallback_per_field() {
        let (_, rows, _) = read_all(b"a$b\nCaf\xE9$ok\n");
        assert_eq!(rows, [["Caf\u{e9}", "ok"]]);
    }
}
