//! Opening a dataset: read, split, detect format and style, validate every record in parallel.

use super::format::{self, Format};
use super::json::{self, Style};
use super::scan::{self, Container, Problem, ProblemKind, Span};
use super::source::{self, Source, SourceError};
use super::{Dataset, DiskStamp, Entry};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// Why a file could not be opened at all. Problems inside a readable file are not errors: they are
/// listed in [`Dataset::problems`] and the affected records are kept verbatim.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(
        "cannot tell the format of {path}: expected JSON or JSONL records with the keys of one of: {expected}; \
         the first records have keys [{found}] (use --format to choose one)"
    )]
    UnknownFormat { path: String, expected: String, found: String },
    #[error("{path} is not instruction data: {found}")]
    NotInstructionData { path: String, found: String },
    #[error("cannot read {path}: {source}")]
    Source { path: String, source: SourceError },
}

/// Reads and opens `path`.
pub fn open(path: &Path, forced: Option<Format>) -> Result<Dataset, OpenError> {
    let io = |source| OpenError::Io { path: path.display().to_string(), source };
    let meta = std::fs::metadata(path).map_err(io)?;
    let buf = std::fs::read(path).map_err(io)?;
    from_bytes(path, buf, forced, meta.modified().ok())
}

/// Opens a dataset from bytes already read: JSON or JSONL, or a read-only source (gzip, Parquet)
/// decoded first.
pub fn from_bytes(
    path: &Path,
    buf: Vec<u8>,
    forced: Option<Format>,
    modified: Option<std::time::SystemTime>,
) -> Result<Dataset, OpenError> {
    let kind = Source::sniff(&buf);
    let bad = |source| OpenError::Source { path: path.display().to_string(), source };
    let plain = match kind {
        Source::File => buf,
        Source::Gzip => source::gunzip(&buf).map_err(bad)?,
        Source::Parquet => source::parquet_to_jsonl(buf).map_err(bad)?,
    };
    let mut ds = from_plain(path, plain, forced, modified)?;
    ds.source = kind;
    Ok(ds)
}

/// Opens a dataset from JSON or JSONL bytes.
fn from_plain(
    path: &Path,
    buf: Vec<u8>,
    forced: Option<Format>,
    modified: Option<std::time::SystemTime>,
) -> Result<Dataset, OpenError> {
    let not_data = |found: String| OpenError::NotInstructionData { path: path.display().to_string(), found };
    if let Some(found) = sniff_binary(&buf) {
        return Err(not_data(found));
    }
    let hash = xxhash_rust::xxh3::xxh3_64(&buf);
    let mut scan = scan::scan(&buf);
    if let Some(single) = single_object(&buf, &scan) {
        match single {
            Single::Record(span) => {
                scan.spans = vec![span];
                scan.problems.clear();
            }
            Single::Registry(n) if forced.is_none() => {
                return Err(not_data(format!(
                    "one JSON object of {n} named entries, each an object (a dataset registry or config, like \
                     LLaMA-Factory's dataset_info.json), not a list of records"
                )));
            }
            Single::Registry(_) => {}
        }
    }
    let style = detect_style(&buf, &scan);
    // Validate every record (syntax + UTF-8) in parallel; remember a few keys for detection.
    let checks: Vec<Option<(ProblemKind, String)>> =
        scan.spans.par_iter().map(|s| check_syntax(&buf[s.range()])).collect();
    if !scan.spans.is_empty() && checks.iter().all(Option::is_some) {
        let first = buf.iter().position(|c| !c.is_ascii_whitespace() && !b"\xEF\xBB\xBF".contains(c));
        if first.is_some_and(|i| !matches!(buf[i], b'{' | b'[')) {
            return Err(not_data(describe_text(&buf)));
        }
    }
    let format = match forced {
        Some(f) => f,
        None => detect_format(&buf, &scan.spans, &checks, path)?,
    };
    let mut raw_problems = std::mem::take(&mut scan.problems);
    let field_issues: Vec<(usize, String)> = scan
        .spans
        .par_iter()
        .enumerate()
        .filter(|(n, _)| checks[*n].is_none())
        .filter_map(|(n, s)| quick_field_check(format, &buf[s.range()]).map(|m| (n, m)))
        .collect();
    let mut entries = Vec::with_capacity(scan.spans.len());
    for (n, check) in checks.iter().enumerate() {
        let malformed = check.is_some();
        if let Some((kind, msg)) = check
            && !raw_problems.iter().any(|p| p.1 == Some(n))
        {
            raw_problems.push((scan.spans[n].start, Some(n), *kind, msg.clone()));
        }
        entries.push(Entry { id: n as u32, ord: n as u32, malformed });
    }
    for (n, msg) in field_issues {
        raw_problems.push((scan.spans[n].start, Some(n), ProblemKind::Field, msg));
    }
    if scan.spans.is_empty() && !raw_problems.iter().any(|p| p.2 == ProblemKind::Truncated) {
        raw_problems.push((0, None, ProblemKind::Empty, "the file holds no records".into()));
    }
    let problems = locate(&buf, raw_problems);
    let separator = separator(&buf, &scan, &style);
    Ok(Dataset {
        path: path.to_path_buf(),
        container: scan.container,
        format,
        style,
        next_id: scan.spans.len() as u32,
        open_end: scan.open_end,
        close_start: scan.close_start,
        spans: scan.spans,
        entries,
        overrides: HashMap::new(),
        separator,
        problems,
        stamp: DiskStamp { len: buf.len() as u64, modified, hash },
        buf,
        source: Source::File,
        revision: super::next_revision(),
    })
}

/// Names binary and compressed files by their magic bytes (or a NUL byte early on).
fn sniff_binary(buf: &[u8]) -> Option<String> {
    const MAGIC: [(&[u8], &str); 7] = [
        (b"\x1f\x8b", "gzip-compressed data (decompress it first, e.g. `gunzip -k`)"),
        (b"PAR1", "a Parquet file (convert it to JSONL first, e.g. with pandas or duckdb)"),
        (b"PK\x03\x04", "a zip archive (extract it first)"),
        (b"\x28\xb5\x2f\xfd", "zstd-compressed data (decompress it first, e.g. `zstd -d`)"),
        (b"BZh", "bzip2-compressed data (decompress it first, e.g. `bunzip2 -k`)"),
        (b"\xfd7zXZ\x00", "xz-compressed data (decompress it first, e.g. `unxz -k`)"),
        (b"ARROW1", "an Arrow IPC file (convert it to JSONL first)"),
    ];
    if let Some((_, what)) = MAGIC.iter().find(|(m, _)| buf.starts_with(m)) {
        return Some(what.to_string());
    }
    let head = &buf[..buf.len().min(8192)];
    head.contains(&0).then(|| "binary data (it has NUL bytes)".to_string())
}

/// What a file of text that is not JSON looks like: CSV/TSV (by its first line) or plain text.
fn describe_text(buf: &[u8]) -> String {
    let text = String::from_utf8_lossy(&buf[..buf.len().min(4096)]);
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let shown: String = first.chars().take(80).flat_map(char::escape_default).collect();
    for (sep, what) in [(',', "CSV"), ('\t', "TSV")] {
        let cols = first.split(sep).count();
        let second = text.lines().filter(|l| !l.trim().is_empty()).nth(1);
        if cols >= 2 && second.is_none_or(|l| l.split(sep).count() >= cols) {
            return format!("{what} text with the header `{shown}` (convert it to JSON or JSONL records first)");
        }
    }
    format!("text that is not JSON (it starts `{shown}`)")
}

/// A file that is one JSON object rather than a list of records.
enum Single {
    /// The object is a record (its keys are those of a format): one record.
    Record(Span),
    /// A dict of named objects: not records.
    Registry(usize),
}

/// Recognises a file holding a single JSON object spread over several lines (axolotl's
/// `conversation.json`, LLaMA-Factory's `dataset_info.json`).
fn single_object(buf: &[u8], scan: &scan::Scan) -> Option<Single> {
    if scan.container != Container::Lines || scan.spans.len() < 2 {
        return None;
    }
    let start = scan.spans[0].start as usize;
    if buf[start] != b'{' {
        return None;
    }
    let end = json::value_end(buf, start)?;
    if json::skip_ws(buf, end) != buf.len() || check_syntax(&buf[start..end]).is_some() {
        return None;
    }
    let rec = &buf[start..end];
    let keys = format::top_level_keys(rec);
    if Format::ALL.iter().any(|f| f.matches(&keys)) {
        return Some(Single::Record(Span { start: start as u64, len: (end - start) as u32 }));
    }
    let members = json::object_members(rec, 0)?;
    let all_objects = !members.is_empty() && members.iter().all(|(_, (vs, _))| rec[*vs] == b'{');
    all_objects.then_some(Single::Registry(members.len()))
}

/// Fills in line numbers and sorts problems by position in the file.
pub(super) fn locate(buf: &[u8], mut raw: Vec<(u64, Option<usize>, ProblemKind, String)>) -> Vec<Problem> {
    raw.sort_by_key(|p| p.0);
    let lines = scan::line_numbers(buf, &raw.iter().map(|p| p.0).collect::<Vec<_>>());
    raw.into_iter()
        .zip(lines)
        .map(|((offset, record, kind, message), line)| Problem { line, offset, record, kind, message })
        .collect()
}

/// Syntax check of one record: valid UTF-8, valid JSON, an object.
fn check_syntax(b: &[u8]) -> Option<(ProblemKind, String)> {
    if let Err(e) = std::str::from_utf8(b) {
        return Some((ProblemKind::InvalidUtf8, format!("invalid UTF-8 at byte {} of the record", e.valid_up_to())));
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(b) {
        let kind = if e.is_eof() { ProblemKind::Truncated } else { ProblemKind::Malformed };
        return Some((kind, format!("invalid JSON: {e}")));
    }
    if b.first() != Some(&b'{') {
        return Some((ProblemKind::Malformed, "record is not a JSON object".into()));
    }
    None
}

/// A cheap check that the fields the format needs are present and of the right type.
fn quick_field_check(format: Format, b: &[u8]) -> Option<String> {
    let want_string = |key: &str, required: bool| -> Option<String> {
        match json::member(b, 0, key) {
            Some((s, _)) if b[s] == b'"' => None,
            Some((s, _)) if b[s] == b'n' && !required => None,
            Some(_) => Some(format!("field `{key}` is not a string")),
            None if required => Some(format!("missing field `{key}`")),
            None => None,
        }
    };
    let want_list = |key: &str| -> Option<String> {
        match json::member(b, 0, key) {
            Some((s, _)) if b[s] == b'[' => None,
            Some(_) => Some(format!("field `{key}` is not an array")),
            None => Some(format!("missing field `{key}`")),
        }
    };
    match format {
        Format::Alpaca => want_string("instruction", true)
            .or_else(|| want_string("input", false))
            .or_else(|| want_string("output", true)),
        Format::Dolly => want_string("instruction", true)
            .or_else(|| want_string("context", false))
            .or_else(|| want_string("response", true)),
        Format::ShareGpt => want_list("conversations"),
        Format::OpenAi => want_list("messages"),
        Format::Preference => match (json::member(b, 0, "chosen"), json::member(b, 0, "rejected")) {
            (Some((c, _)), Some((r, _))) if b[c] == b[r] && matches!(b[c], b'"' | b'[' | b'{') => None,
            (None, _) => Some("missing field `chosen`".into()),
            (_, None) => Some("missing field `rejected`".into()),
            _ => Some("`chosen` and `rejected` must both be strings or both be message lists".into()),
        },
        Format::PromptCompletion => {
            let kind = |k| json::member(b, 0, k).map(|(s, _)| b[s]);
            match (kind("prompt"), kind("completion")) {
                (Some(b'"'), Some(b'"')) | (Some(b'['), Some(b'[')) => None,
                (None, _) => Some("missing field `prompt`".into()),
                (_, None) => Some("missing field `completion`".into()),
                _ => Some("`prompt` and `completion` must both be strings or both be message lists".into()),
            }
        }
    }
}

/// Picks the format matching most of the first valid records.
fn detect_format(
    buf: &[u8],
    spans: &[Span],
    checks: &[Option<(ProblemKind, String)>],
    path: &Path,
) -> Result<Format, OpenError> {
    let mut votes: HashMap<Format, usize> = HashMap::new();
    let mut first_keys: Option<Vec<String>> = None;
    for (n, s) in spans.iter().enumerate().filter(|(n, _)| checks[*n].is_none()).take(200) {
        let keys = format::top_level_keys(&buf[s.range()]);
        if let Some(f) = Format::ALL.iter().find(|f| f.matches(&keys)) {
            *votes.entry(*f).or_default() += 1;
        }
        if n < 200 && first_keys.is_none() {
            first_keys = Some(keys);
        }
    }
    let best = Format::ALL.iter().filter_map(|f| votes.get(f).map(|v| (*f, *v))).max_by_key(|(_, v)| *v);
    match best {
        Some((f, _)) => Ok(f),
        // An empty (or wholly unreadable) file: nothing to contradict the most common format.
        None if first_keys.is_none() => Ok(Format::Alpaca),
        None if first_keys.as_ref().is_some_and(|k| k.iter().any(|k| k == "text") && k.len() <= 3) => {
            Err(OpenError::NotInstructionData {
                path: path.display().to_string(),
                found: format!(
                    "pretraining text records (keys [{}]): no instruction or response to curate",
                    first_keys.unwrap_or_default().join(", ")
                ),
            })
        }
        None => Err(OpenError::UnknownFormat {
            path: path.display().to_string(),
            expected: Format::expectations(),
            found: first_keys.unwrap_or_default().join(", "),
        }),
    }
}

/// Detects indentation, separators, line endings and escaping from the file.
fn detect_style(buf: &[u8], scan: &scan::Scan) -> Style {
    let mut style = Style::default();
    let sample_end = buf.len().min(1 << 20);
    style.detect_escaping(&buf[..sample_end]);
    if memchr::memmem::find(&buf[..sample_end], b"\r\n").is_some() {
        style.newline = "\r\n".into();
    }
    if let Some(first) = scan.spans.first() {
        let rec = &buf[first.range()];
        if let Some(members) = json::object_members(rec, 0) {
            if let Some(&((_, kend), (vstart, _))) = members.first() {
                style.colon = String::from_utf8_lossy(&rec[kend..vstart]).into_owned();
            }
            if members.len() >= 2 {
                let gap = &rec[members[0].1.1..members[1].0.0];
                if !gap.contains(&b'\n') {
                    style.comma = String::from_utf8_lossy(gap).into_owned();
                }
            }
        }
        if scan.container == Container::Array {
            let lead = &buf[scan.open_end..first.start as usize];
            if let Some(nl) = lead.iter().rposition(|&c| c == b'\n') {
                let unit = String::from_utf8_lossy(&lead[nl + 1..]).into_owned();
                style.indent = Some(if unit.is_empty() { "    ".into() } else { unit });
            }
        } else if rec.contains(&b'\n') {
            style.indent = Some("  ".into());
        }
    }
    style
}

/// The bytes written between two records that were not neighbours in the file.
fn separator(buf: &[u8], scan: &scan::Scan, style: &Style) -> Vec<u8> {
    if scan.spans.len() >= 2 {
        let gap = &buf[scan.spans[0].end() as usize..scan.spans[1].start as usize];
        let ok = match scan.container {
            Container::Array => gap.iter().filter(|&&c| c == b',').count() == 1,
            Container::Lines => gap.iter().all(|c| c.is_ascii_whitespace()),
        };
        if ok {
            return gap.to_vec();
        }
    }
    match (scan.container, &style.indent) {
        (Container::Array, Some(unit)) => format!(",{}{}", style.newline, unit).into_bytes(),
        (Container::Array, None) => b", ".to_vec(),
        (Container::Lines, _) => style.newline.clone().into_bytes(),
    }
}
