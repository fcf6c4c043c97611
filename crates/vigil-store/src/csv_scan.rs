//! A CSV record scanner for the `--counts` reader: the same records as the `csv` crate's reader
//! with its default settings (comma, `"` quotes doubled inside quoted fields, `\r`, `\n` or
//! `\r\n` ending a record, blank lines skipped, a quote inside an unquoted field taken literally),
//! several times faster on the common case.
//!
//! Why hand-written: report-level files have hundreds of thousands to millions of short rows, and
//! reading them was the slowest step of `vigil signals --counts rows.csv` (issue 17). A line
//! without a quote or a carriage return (nearly every line) is found with `memchr` and split at
//! its commas; any other line goes through the full state machine. The input is read in blocks,
//! so memory does not grow with the file. Each record carries the line it starts on (lines count
//! `\n` bytes from 1); every field is checked to be UTF-8.

use std::io::Read;

/// Bytes read from the input at a time.
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

    fn clear(&mut self) {
        self.data.clear();
        self.ends.clear();
    }

    fn end_field(&mut self) {
        self.ends.push(self.data.len());
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

/// Reads CSV records from a byte stream.
pub struct CsvScanner<R> {
    reader: R,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    eof: bool,
    /// The line of `buf[pos]`.
    line: u64,
    started: bool,
}

/// The states of the quoted-field machine (those of the csv crate's reader).
#[derive(Clone, Copy, PartialEq)]
enum State {
    StartField,
    InField,
    InQuoted,
    QuoteInQuoted,
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
        }
    }

    /// Reads more input after `end`, first moving the unread bytes to the front (and growing the
    /// buffer when they fill it). Returns false when nothing changed (the end of the input): after
    /// `true`, positions into the buffer must be taken again from `pos`.
    fn refill(&mut self) -> std::io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        let moved = self.pos > 0;
        if moved {
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
                    return Ok(moved);
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(true);
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
            while self.end - self.pos < 3 && self.refill()? {}
            if self.buf[self.pos..self.end].starts_with(b"\xEF\xBB\xBF") {
                self.pos += 3;
            }
        }
        loop {
            fields.clear();
            let window = &self.buf[self.pos..self.end];
            let Some(nl) = memchr::memchr(b'\n', window) else {
                if self.refill()? {
                    continue;
                }
                if self.pos == self.end {
                    return Ok(None);
                }
                // The last line, without a terminator.
                return self.slow_record(fields);
            };
            let mut line = &window[..nl];
            let special = memchr::memchr2(b'"', b'\r', line);
            if special.is_some_and(|i| !(i + 1 == line.len() && line[i] == b'\r')) {
                return self.slow_record(fields);
            }
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            let at = self.line;
            self.pos += nl + 1;
            self.line += 1;
            if line.is_empty() {
                continue; // a blank line
            }
            let mut from = 0;
            for i in memchr::memchr_iter(b',', line) {
                fields.data.extend_from_slice(&line[from..i]);
                fields.end_field();
                from = i + 1;
            }
            fields.data.extend_from_slice(&line[from..]);
            fields.end_field();
            return check_utf8(fields, at).map(|()| Some(at));
        }
    }

    /// Reads one record (not blank, possibly spanning lines inside quotes) from `pos` with the full
    /// state machine, reading more input as needed.
    fn slow_record(&mut self, fields: &mut Fields) -> Result<Option<u64>, ScanError> {
        'restart: loop {
            fields.clear();
            let mut state = State::StartField;
            let mut i = self.pos;
            let mut newlines = 0;
            let mut seen = false;
            loop {
                if i == self.end {
                    if self.refill()? {
                        continue 'restart;
                    }
                    if !seen {
                        return Ok(None);
                    }
                    // End of input: the record ends here (an open quote is closed, as the csv crate
                    // does).
                    fields.end_field();
                    let at = self.line;
                    self.pos = i;
                    self.line += newlines;
                    return check_utf8(fields, at).map(|()| Some(at));
                }
                let b = self.buf[i];
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
                            continue;
                        }
                        fields.end_field();
                        let at = self.line;
                        self.pos = i;
                        self.line += newlines;
                        return check_utf8(fields, at).map(|()| Some(at));
                    }
                    State::StartField | State::InField | State::QuoteInQuoted if b == b',' => {
                        seen = true;
                        fields.end_field();
                        state = State::StartField;
                    }
                    State::StartField if b == b'"' => {
                        seen = true;
                        state = State::InQuoted;
                    }
                    State::QuoteInQuoted if b == b'"' => {
                        fields.data.push(b'"');
                        state = State::InQuoted;
                    }
                    State::InQuoted if b == b'"' => state = State::QuoteInQuoted,
                    State::InQuoted => {
                        if b == b'\n' {
                            newlines += 1;
                        }
                        fields.data.push(b);
                    }
                    State::StartField | State::InField | State::QuoteInQuoted => {
                        seen = true;
                        fields.data.push(b);
                        state = State::InField;
                    }
                }
            }
        }
    }
}

fn check_utf8(fields: &Fields, line: u64) -> Result<(), ScanError> {
    if std::str::from_utf8(&fields.data).is_ok() {
        return Ok(());
    }
    let field = (0..fields.len())
        .find(|&i| {
            let start = if i == 0 { 0 } else { fields.ends[i - 1] };
            std::str::from_utf8(&fields.data[start..fields.ends[i]]).is_err()
        })
        .map_or(1, |i| i + 1);
    Err(ScanError::Utf8 { line, field })
}
