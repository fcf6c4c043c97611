//! A CSV record scanner for the `--counts` reader: the same records as the `csv` crate's reader
//! with its default settings (comma, `"` quotes doubled inside quoted fields, `\r`, `\n` or
//! `\r\n` ending a record, blank lines skipped, a quote inside an unquoted field taken literally),
//! several times faster on the common case.
//!
//! Why hand-written: report-level files have hundreds of thousands to millions of short rows, and
//! reading them was the slowest step of `vigil signals --counts rows.csv` (issue 17). A line
//! without a quote or a carriage return (nearly every line) is found with `memchr` and split at
//! its commas, its fields left in place in the input; any other line goes through the full state
//! machine. Each record carries the line it starts on (lines count `\n` bytes from 1).
//!
//! Two layers: [`SliceScanner`] reads records from bytes already in memory (it says when a record
//! runs past the end of the bytes it was given, so that a caller can read more, or split a buffer
//! between threads and check the seam), and [`CsvScanner`] reads from a byte stream in blocks on
//! top of it, checking every field to be UTF-8.

use std::io::Read;

/// Bytes read from the input at a time by [`CsvScanner`].
const BLOCK: usize = 1 << 20;

/// One record's fields, reused from record to record.
#[derive(Debug, Default, Clone)]
pub struct Fields {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Fields {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when the record has no field.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Field `i` (checked UTF-8 by [`CsvScanner::next_record`]).
    pub fn get(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        // The whole record was validated as UTF-8 and fields end on ASCII commas, so every field
        // is valid UTF-8 on its own.
        std::str::from_utf8(&self.data[start..self.ends[i]]).unwrap_or_default()
    }

    /// The fields in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// One record read by a [`SliceScanner`]: its fields are ranges of the scanned bytes when the
/// record has no quote (nothing to unescape), else ranges of its own unescaped copy. Reused from
/// record to record.
#[derive(Debug, Default, Clone)]
pub struct Record {
    /// Field `i` is `source[bounds[i].0..bounds[i].1]`.
    bounds: Vec<(usize, usize)>,
    /// The unescaped fields of a record read by the state machine.
    unescaped: Vec<u8>,
    /// True when `bounds` index `unescaped`, false when they index the scanned bytes.
    owned: bool,
}

impl Record {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.bounds.len()
    }

    /// True when the record has no field.
    pub fn is_empty(&self) -> bool {
        self.bounds.is_empty()
    }

    /// Field `i` as bytes (not checked to be UTF-8); `bytes` is the slice the record was scanned
    /// from ([`SliceScanner::bytes`]).
    pub fn field<'a>(&'a self, bytes: &'a [u8], i: usize) -> &'a [u8] {
        let (a, b) = self.bounds[i];
        if self.owned {
            &self.unescaped[a..b]
        } else {
            &bytes[a..b]
        }
    }

    /// The 1-based number of the first field that is not UTF-8, if any.
    pub fn first_invalid_utf8(&self, bytes: &[u8]) -> Option<usize> {
        (0..self.len())
            .find(|&i| std::str::from_utf8(self.field(bytes, i)).is_err())
            .map(|i| i + 1)
    }

    fn clear(&mut self, owned: bool) {
        self.bounds.clear();
        self.unescaped.clear();
        self.owned = owned;
    }

    /// Ends the field being unescaped.
    fn end_owned_field(&mut self) {
        let start = self.bounds.last().map_or(0, |b| b.1);
        self.bounds.push((start, self.unescaped.len()));
    }
}

/// What [`SliceScanner::next`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A record, starting on this line.
    Record(u64),
    /// The next record starts at or after the scanner's limit (blank lines before it skipped).
    Limit,
    /// The next record runs past the end of the bytes and more input may follow: nothing was
    /// consumed since the last record (blank lines may have been).
    Incomplete,
    /// No more record.
    End,
}

/// Reads records from bytes in memory. Positions are offsets into [`SliceScanner::bytes`].
pub struct SliceScanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u64,
    /// True when no input follows `bytes` (the last record may then lack its terminator).
    eof: bool,
    /// No record starting at or after this offset is read.
    limit: usize,
    /// No quote and no carriage return lies in `bytes[checked_from..clean_to]` (`checked_from` is
    /// some offset at or before `pos`): a line ending before `clean_to` is split at its commas
    /// without looking for them again. Found with one `memchr2` over the plain bytes rather than
    /// one per line.
    clean_to: usize,
    /// True when `bytes[clean_to]` is a quote or a carriage return (the search found one), false
    /// when the search stopped at its bound.
    clean_ends_special: bool,
}

/// The states of the quoted-field machine (those of the csv crate's reader).
#[derive(Clone, Copy, PartialEq)]
enum State {
    StartField,
    InField,
    InQuoted,
    QuoteInQuoted,
}

impl<'a> SliceScanner<'a> {
    /// A scanner at offset `pos` of `bytes`, which is on line `line`; `eof` is true when no input
    /// follows `bytes`. A byte-order mark is not skipped here.
    pub fn new(bytes: &'a [u8], pos: usize, line: u64, eof: bool) -> Self {
        Self {
            bytes,
            pos,
            line,
            eof,
            limit: usize::MAX,
            clean_to: 0,
            clean_ends_special: false,
        }
    }

    /// Stops before any record that starts at or after `limit` ([`Step::Limit`]).
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The bytes scanned.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The offset after the last record read (and any blank lines skipped after it).
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// The line of [`SliceScanner::pos`].
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Reads the next non-blank record into `record`.
    pub fn next(&mut self, record: &mut Record) -> Step {
        loop {
            if self.pos >= self.limit {
                return Step::Limit;
            }
            let window = &self.bytes[self.pos..];
            let Some(nl) = memchr::memchr(b'\n', window) else {
                if !self.eof {
                    return Step::Incomplete;
                }
                if window.is_empty() {
                    return Step::End;
                }
                // The last line, without a terminator.
                return self.slow_record(record);
            };
            let mut line = &window[..nl];
            if self.pos >= self.clean_to {
                // Looks ahead to the next quote or carriage return, at most to the limit (the
                // rows past it belong to another scanner).
                let bound = self.bytes.len().min(self.limit.max(self.pos + nl + 1));
                let found = memchr::memchr2(b'"', b'\r', &self.bytes[self.pos..bound]);
                self.clean_ends_special = found.is_some();
                self.clean_to = found.map_or(bound, |i| self.pos + i);
            }
            let special = if self.pos + nl < self.clean_to {
                None
            } else if self.clean_ends_special {
                // The first special byte at or after `pos`, before the line end.
                Some(self.clean_to - self.pos)
            } else {
                memchr::memchr2(b'"', b'\r', line)
            };
            if special.is_some_and(|i| !(i + 1 == line.len() && line[i] == b'\r')) {
                return self.slow_record(record);
            }
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            let start = self.pos;
            let at = self.line;
            self.pos += nl + 1;
            self.line += 1;
            if line.is_empty() {
                continue; // a blank line
            }
            record.clear(false);
            let mut from = start;
            for i in memchr::memchr_iter(b',', line) {
                record.bounds.push((from, start + i));
                from = start + i + 1;
            }
            record.bounds.push((from, start + line.len()));
            return Step::Record(at);
        }
    }

    /// Reads one record (possibly spanning lines inside quotes) from `pos` with the full state
    /// machine; blank lines before it are skipped.
    fn slow_record(&mut self, record: &mut Record) -> Step {
        record.clear(true);
        let mut state = State::StartField;
        let mut i = self.pos;
        let mut newlines = 0;
        let mut seen = false;
        loop {
            if i == self.bytes.len() {
                if !self.eof {
                    return Step::Incomplete;
                }
                if !seen {
                    self.pos = i;
                    self.line += newlines;
                    return Step::End;
                }
                // End of input: the record ends here (an open quote is closed, as the csv crate
                // does).
                record.end_owned_field();
                let at = self.line;
                self.pos = i;
                self.line += newlines;
                return Step::Record(at);
            }
            let b = self.bytes[i];
            i += 1;
            let terminator = b == b'\n' || b == b'\r';
            match state {
                State::StartField | State::InField | State::QuoteInQuoted if terminator => {
                    if b == b'\n' {
                        newlines += 1;
                    }
                    if !seen {
                        // A blank line: skipped.
                        self.pos = i;
                        self.line += newlines;
                        newlines = 0;
                        if self.pos >= self.limit {
                            return Step::Limit;
                        }
                        continue;
                    }
                    record.end_owned_field();
                    let at = self.line;
                    self.pos = i;
                    self.line += newlines;
                    return Step::Record(at);
                }
                State::StartField | State::InField | State::QuoteInQuoted if b == b',' => {
                    seen = true;
                    record.end_owned_field();
                    state = State::StartField;
                }
                State::StartField if b == b'"' => {
                    seen = true;
                    state = State::InQuoted;
                }
                State::QuoteInQuoted if b == b'"' => {
                    record.unescaped.push(b'"');
                    state = State::InQuoted;
                }
                State::InQuoted if b == b'"' => state = State::QuoteInQuoted,
                State::InQuoted => {
                    if b == b'\n' {
                        newlines += 1;
                    }
                    record.unescaped.push(b);
                }
                State::StartField | State::InField | State::QuoteInQuoted => {
                    seen = true;
                    record.unescaped.push(b);
                    state = State::InField;
                }
            }
        }
    }
}

/// Why a record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The input could not be read.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// A field is not UTF-8.
    #[error("line {line}: field {field} is not valid UTF-8")]
    Utf8 {
        /// The line the record starts on.
        line: u64,
        /// The field, counted from 1.
        field: usize,
    },
}

/// Reads CSV records from a byte stream, in blocks (memory does not grow with the input).
pub struct CsvScanner<R> {
    reader: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    /// The line of `buf[pos]`.
    line: u64,
    started: bool,
    record: Record,
}

impl<R: Read> CsvScanner<R> {
    /// A scanner at the start of `reader`; a UTF-8 byte-order mark at the start is skipped.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            buf: vec![0; BLOCK],
            pos: 0,
            end: 0,
            eof: false,
            line: 1,
            started: false,
            record: Record::default(),
        }
    }

    /// Reads more input after `end`, first moving the unread bytes to the front (and growing the
    /// buffer when they fill it); sets `eof` at the end of the input.
    fn refill(&mut self) -> std::io::Result<()> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads the next non-blank record into `fields`; returns the line it starts on, or `None`
    /// at the end of the input.
    pub fn next_record(&mut self, fields: &mut Fields) -> Result<Option<u64>, ScanError> {
        if !self.started {
            self.started = true;
            while self.end - self.pos < 3 && !self.eof {
                self.refill()?;
            }
            if self.buf[self.pos..self.end].starts_with(b"\xEF\xBB\xBF") {
                self.pos += 3;
            }
        }
        loop {
            let bytes = &self.buf[self.pos..self.end];
            let mut scanner = SliceScanner::new(bytes, 0, self.line, self.eof);
            let step = scanner.next(&mut self.record);
            // Blank lines skipped before an incomplete record are consumed too.
            self.pos += scanner.pos();
            self.line = scanner.line();
            match step {
                Step::Record(at) => {
                    fields.data.clear();
                    fields.ends.clear();
                    for i in 0..self.record.len() {
                        fields.data.extend_from_slice(self.record.field(bytes, i));
                        fields.ends.push(fields.data.len());
                    }
                    if let Some(field) = self.record.first_invalid_utf8(bytes) {
                        return Err(ScanError::Utf8 { line: at, field });
                    }
                    return Ok(Some(at));
                }
                Step::Incomplete => self.refill()?,
                Step::End | Step::Limit => return Ok(None),
            }
        }
    }
}
