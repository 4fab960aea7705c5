//! Splits a file's bytes into record spans without decoding them: a JSON array's elements or a JSONL
//! file's non-blank lines. Tolerant by design: a truncated array, junk between elements and invalid
//! UTF-8 still yield spans, so every readable record loads and every byte is kept.

use super::json::{skip_ws, value_end};
use serde::Serialize;

/// The byte range of one record in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: u64,
    pub len: u32,
}

impl Span {
    /// Exclusive end offset.
    pub fn end(self) -> u64 {
        self.start + self.len as u64
    }

    /// The span as a usize range.
    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end() as usize
    }
}

/// How records are laid out in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Container {
    /// One JSON array of records.
    Array,
    /// One record per line (JSONL).
    Lines,
}

/// What kind of problem a file or record has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Not valid JSON.
    Malformed,
    /// Bytes that are not UTF-8.
    InvalidUtf8,
    /// The file ends inside a record or before the array closes.
    Truncated,
    /// Valid JSON, but a field is missing or has the wrong type.
    Field,
    /// Bytes that belong to no record.
    Junk,
    /// The file holds no records at all.
    Empty,
}

/// One problem found while reading, with where it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// 1-based line number in the file.
    pub line: usize,
    /// Byte offset in the file.
    pub offset: u64,
    /// The record's position (0-based) when the problem belongs to one.
    pub record: Option<usize>,
    pub kind: ProblemKind,
    pub message: String,
}

/// The result of splitting a file.
#[derive(Debug)]
pub struct Scan {
    pub container: Container,
    pub spans: Vec<Span>,
    /// Structural problems: (offset, record position, kind, message); lines are filled in later.
    pub problems: Vec<(u64, Option<usize>, ProblemKind, String)>,
    /// For arrays: offset just after `[` and of the closing `]` (file length when missing).
    pub open_end: usize,
    pub close_start: usize,
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Splits `buf` into record spans.
pub fn scan(buf: &[u8]) -> Scan {
    let body = if buf.starts_with(BOM) { BOM.len() } else { 0 };
    let first = skip_ws(buf, body);
    if buf.get(first) == Some(&b'[') { scan_array(buf, first) } else { scan_lines(buf, body) }
}

fn scan_lines(buf: &[u8], body: usize) -> Scan {
    let mut spans = Vec::with_capacity(buf.len() / 256 + 1);
    let mut start = body;
    while start < buf.len() {
        let end = memchr::memchr(b'\n', &buf[start..]).map_or(buf.len(), |k| start + k);
        let mut s = start;
        let mut e = end;
        while s < e && matches!(buf[s], b' ' | b'\t' | b'\r') {
            s += 1;
        }
        while e > s && matches!(buf[e - 1], b' ' | b'\t' | b'\r') {
            e -= 1;
        }
        if e > s {
            spans.push(Span { start: s as u64, len: (e - s) as u32 });
        }
        start = end + 1;
    }
    Scan { container: Container::Lines, spans, problems: Vec::new(), open_end: body, close_start: buf.len() }
}

fn scan_array(buf: &[u8], open: usize) -> Scan {
    let mut spans = Vec::with_capacity(buf.len() / 256 + 1);
    let mut problems = Vec::new();
    let open_end = open + 1;
    let mut close_start = buf.len();
    let mut i = skip_ws(buf, open_end);
    loop {
        if i >= buf.len() {
            problems.push((
                buf.len() as u64,
                None,
                ProblemKind::Truncated,
                "file ends before the array is closed with `]`".into(),
            ));
            break;
        }
        if buf[i] == b']' && spans.is_empty() {
            close_start = i;
            break;
        }
        // An element: ends where its brackets balance (or at the file's end if it never does).
        let end = match value_end(buf, i) {
            Some(e) if e > i => e,
            _ => {
                let at = spans.len();
                problems.push((
                    i as u64,
                    Some(at),
                    ProblemKind::Truncated,
                    "record is cut off: the file ends inside it".into(),
                ));
                spans.push(Span { start: i as u64, len: (buf.len() - i) as u32 });
                break;
            }
        };
        spans.push(Span { start: i as u64, len: (end - i) as u32 });
        let j = skip_ws(buf, end);
        match buf.get(j) {
            Some(b',') => {
                i = skip_ws(buf, j + 1);
                if buf.get(i) == Some(&b']') {
                    problems.push((j as u64, None, ProblemKind::Junk, "trailing comma before `]`".into()));
                    close_start = i;
                    break;
                }
            }
            Some(b']') => {
                close_start = j;
                break;
            }
            None => {
                problems.push((
                    buf.len() as u64,
                    None,
                    ProblemKind::Truncated,
                    "file ends before the array is closed with `]`".into(),
                ));
                break;
            }
            Some(_) => {
                problems.push((j as u64, None, ProblemKind::Junk, "expected `,` or `]` after a record".into()));
                i = j;
            }
        }
    }
    if close_start < buf.len() {
        let after = skip_ws(buf, close_start + 1);
        if after < buf.len() {
            problems.push((after as u64, None, ProblemKind::Junk, "unexpected bytes after the closing `]`".into()));
        }
    }
    Scan { container: Container::Array, spans, problems, open_end, close_start }
}

/// 1-based line numbers of `offsets` (any order) in `buf`, in one pass.
pub fn line_numbers(buf: &[u8], offsets: &[u64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&k| offsets[k]);
    let mut out = vec![0; offsets.len()];
    let mut line = 1;
    let mut pos = 0usize;
    for k in order {
        let target = (offsets[k] as usize).min(buf.len());
        if target > pos {
            line += memchr::memchr_iter(b'\n', &buf[pos..target]).count();
            pos = target;
        }
        out[k] = line;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(buf: &'a [u8], s: &Scan) -> Vec<&'a str> {
        s.spans.iter().map(|sp| std::str::from_utf8(&buf[sp.range()]).unwrap()).collect()
    }

    #[test]
    fn splits_arrays_and_lines() {
        let buf = b"[\n  {\"a\": \"]\"},\n  {\"b\": [1, {}]}\n]";
        let s = scan(buf);
        assert_eq!(s.container, Container::Array);
        assert_eq!(texts(buf, &s), vec!["{\"a\": \"]\"}", "{\"b\": [1, {}]}"]);
        assert!(s.problems.is_empty());
        let buf = b"{\"a\": 1}\r\n\n  {\"b\": 2}  \n";
        let s = scan(buf);
        assert_eq!(s.container, Container::Lines);
        assert_eq!(texts(buf, &s), vec!["{\"a\": 1}", "{\"b\": 2}"]);
    }

    #[test]
    fn truncated_array_keeps_complete_records() {
        let buf = b"[{\"a\": 1}, {\"b\": \"unterminated";
        let s = scan(buf);
        assert_eq!(s.spans.len(), 2);
        assert_eq!(s.problems[0].2, ProblemKind::Truncated);
        assert_eq!(s.spans[1].end() as usize, buf.len());
    }

    #[test]
    fn line_numbers_in_one_pass() {
        let buf = b"a\nb\nc\n";
        assert_eq!(line_numbers(buf, &[4, 0, 2]), vec![3, 1, 2]);
    }
}
