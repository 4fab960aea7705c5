//! The dataset core: open any common instruction-data file, read records as (instruction, input,
//! response) triples, edit them, and write the file back so that nothing unchanged moves a byte.
//!
//! A [`Dataset`] keeps the file's bytes and one span per record; records are decoded on demand.
//! Edits replace only the edited value's bytes, in the file's own escaping style.

pub mod format;
pub mod json;
mod load;
pub mod save;
pub mod scan;
pub mod source;
mod text;

pub use format::{Decoded, Field, Format, Record, Role, Turn};
pub use load::OpenError;
pub use scan::{Container, Problem, ProblemKind, Span};
pub use source::Source;
pub use text::{RecordText, RecordTextBuf};

use json::Style;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Ordinal of records that were not in the file as opened.
const NEW: u32 = u32::MAX;

/// A record's place in the current order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Stable for the whole session, whatever is inserted or deleted.
    pub id: u32,
    /// Index into the file's original spans, or `NEW`.
    ord: u32,
    /// Not valid JSON (or not an object): kept verbatim, never decoded.
    pub malformed: bool,
}

/// Everything needed to put a removed record back exactly: used by undo and the journal.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EntryState {
    pub id: u32,
    /// The original ordinal, when the record came from the file (keeps its separators on save).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ord: Option<u32>,
    pub malformed: bool,
    /// The record's bytes.
    #[serde(with = "bytes_text")]
    pub raw: Vec<u8>,
}

/// Why an edit could not be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EditError {
    #[error("record {0} does not exist")]
    NoRecord(usize),
    #[error("record {0} is not valid JSON; fix it as raw text")]
    Malformed(usize),
    #[error("{format} records have no `{field}` field")]
    NoField { format: Format, field: String },
    #[error("the edited text is not a valid JSON object: {0}")]
    InvalidJson(String),
    #[error("turn {turn} has {parts} text parts; edit one of them (turn:{turn}.0 .. turn:{turn}.{last})", last = parts - 1)]
    SeveralParts { turn: usize, parts: usize },
}

/// Size, modification time and content hash of the file on disk, to notice changes made elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskStamp {
    pub len: u64,
    pub modified: Option<std::time::SystemTime>,
    /// xxh3-64 of the content.
    pub hash: u64,
}

/// Where [`Dataset::revision`] values come from: process-wide, so a dataset opened again never
/// reuses one.
static REVISIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A revision no dataset has had yet.
fn next_revision() -> u64 {
    REVISIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// An open dataset file.
#[derive(Clone)]
pub struct Dataset {
    path: PathBuf,
    buf: Vec<u8>,
    container: Container,
    format: Format,
    style: Style,
    spans: Vec<Span>,
    entries: Vec<Entry>,
    overrides: HashMap<u32, Vec<u8>>,
    next_id: u32,
    open_end: usize,
    close_start: usize,
    separator: Vec<u8>,
    problems: Vec<Problem>,
    stamp: DiskStamp,
    /// A read-only source (gzip, Parquet) is saved with save-as only.
    source: Source,
    /// Changes with every change to any record's bytes, the records or their order.
    revision: u64,
}

impl Dataset {
    /// Opens `path`, detecting the format from the records' keys unless `format` is given.
    pub fn open(path: &Path, format: Option<Format>) -> Result<Dataset, OpenError> {
        load::open(path, format)
    }

    /// Builds a dataset from bytes already in memory (as if read from `path`).
    pub fn from_bytes(path: &Path, buf: Vec<u8>, format: Option<Format>) -> Result<Dataset, OpenError> {
        load::from_bytes(path, buf, format, None)
    }

    /// The file this dataset was read from and is saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Points the dataset at another file (after a save-as): a file sift wrote, so saved in
    /// place from then on.
    pub fn set_path(&mut self, path: &Path) {
        self.path = path.to_path_buf();
        self.source = Source::File;
    }

    /// Number of records (malformed ones included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the dataset has no records.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The detected (or forced) format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Where the bytes came from: a file saved in place, or a read-only source.
    pub fn source(&self) -> Source {
        self.source
    }

    /// Array or JSONL.
    pub fn container(&self) -> Container {
        self.container
    }

    /// The file's JSON writing style.
    pub fn style(&self) -> &Style {
        &self.style
    }

    /// Problems found when the file was opened (or last saved).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// Every problem: those found at open plus the field issues of each readable record (what
    /// `sift check` lists and `sift stats` counts), in file order.
    pub fn all_problems(&self) -> Vec<Problem> {
        use rayon::prelude::*;
        let mut problems: Vec<Problem> = self.problems.clone();
        let known: std::collections::HashSet<usize> = problems.iter().filter_map(|p| p.record).collect();
        let issues: Vec<(usize, String)> = (0..self.len())
            .into_par_iter()
            .filter(|pos| !known.contains(pos))
            .filter_map(|pos| {
                let d = self.decoded(pos)?;
                let mut msgs: Vec<String> = d.issues.into_iter().map(|i| i.message).collect();
                let lone = json::lone_surrogates(self.raw(pos));
                if lone > 0 {
                    msgs.push(format!(
                        "{lone} \\u escapes are lone UTF-16 surrogates (like \\ud800), not Unicode text: kept byte-exact \
                         and shown marked; exports skip the record"
                    ));
                }
                (!msgs.is_empty()).then(|| (pos, msgs.join("; ")))
            })
            .collect();
        let located = self.locate_records(&issues.iter().map(|(p, _)| *p).collect::<Vec<_>>());
        for ((pos, message), (line, offset)) in issues.into_iter().zip(located) {
            problems.push(Problem { line, offset, record: Some(pos), kind: ProblemKind::Field, message });
        }
        problems.sort_by_key(|p| (p.line, p.offset));
        problems
    }

    /// Number of records that are not valid JSON objects.
    pub fn malformed_count(&self) -> usize {
        self.entries.iter().filter(|e| e.malformed).count()
    }

    /// The disk state the dataset was read from or last saved as.
    pub fn stamp(&self) -> DiskStamp {
        self.stamp
    }

    /// The entry at `pos`.
    pub fn entry(&self, pos: usize) -> Option<Entry> {
        self.entries.get(pos).copied()
    }

    /// Every entry in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Current position of the record with `id`.
    pub fn position(&self, id: u32) -> Option<usize> {
        let guess = id as usize;
        if self.entries.get(guess).is_some_and(|e| e.id == id) {
            return Some(guess);
        }
        self.entries.iter().position(|e| e.id == id)
    }

    /// A number that changes whenever a record's bytes, the set of records or their order change
    /// (and never repeats in the process): what is drawn from the records can be kept while it
    /// stays the same.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The record's current bytes.
    pub fn raw(&self, pos: usize) -> &[u8] {
        let e = self.entries[pos];
        self.raw_of(e)
    }

    fn raw_of(&self, e: Entry) -> &[u8] {
        match self.overrides.get(&e.id) {
            Some(b) => b,
            None => &self.buf[self.spans[e.ord as usize].range()],
        }
    }

    /// (1-based line, byte offset) in the file on disk of the records at `positions` (records added
    /// since the file was read report line 0).
    pub fn locate_records(&self, positions: &[usize]) -> Vec<(usize, u64)> {
        let offsets: Vec<Option<u64>> = positions
            .iter()
            .map(|&p| self.entries.get(p).filter(|e| e.ord != NEW).map(|e| self.spans[e.ord as usize].start))
            .collect();
        let known: Vec<u64> = offsets.iter().flatten().copied().collect();
        let mut lines = scan::line_numbers(&self.buf, &known).into_iter();
        offsets.into_iter().map(|o| o.map_or((0, 0), |o| (lines.next().unwrap_or(0), o))).collect()
    }

    /// The record's bytes as they are in the file on disk (None for records added since).
    pub fn original_raw(&self, pos: usize) -> Option<&[u8]> {
        let e = self.entries.get(pos)?;
        (e.ord != NEW).then(|| &self.buf[self.spans[e.ord as usize].range()])
    }

    /// Whether the record differs from the file on disk (edited or new).
    pub fn is_changed(&self, pos: usize) -> bool {
        let e = self.entries[pos];
        e.ord == NEW || self.overrides.contains_key(&e.id)
    }

    /// Whether anything differs from the file on disk.
    pub fn is_modified(&self) -> bool {
        !self.overrides.is_empty()
            || self.entries.len() != self.spans.len()
            || self.entries.iter().enumerate().any(|(n, e)| e.ord as usize != n)
    }

    /// Decodes the record at `pos` (None when it is malformed).
    pub fn decoded(&self, pos: usize) -> Option<Decoded> {
        let e = *self.entries.get(pos)?;
        (!e.malformed).then(|| format::decode(self.format, self.raw_of(e)))
    }

    /// The record at `pos` (None when it is malformed or out of range).
    pub fn record(&self, pos: usize) -> Option<Record> {
        self.decoded(pos).map(|d| d.record)
    }

    /// The record's text with `field` set to `value`, in the file's style; the dataset is unchanged.
    /// Setting a field back to its value on disk restores the original bytes exactly.
    pub fn with_field(&self, pos: usize, field: Field, value: &str) -> Result<Vec<u8>, EditError> {
        let e = *self.entries.get(pos).ok_or(EditError::NoRecord(pos))?;
        if e.malformed {
            return Err(EditError::Malformed(pos));
        }
        let raw = self.raw_of(e);
        let dec = format::decode(self.format, raw);
        let no_field = || EditError::NoField { format: self.format, field: field.name() };
        if let (Field::Turn(n), None) = (field, dec.path(field))
            && let Some(parts) = dec.record.turns.get(n).map(|t| t.text_parts()).filter(|&p| p > 1)
        {
            return Err(EditError::SeveralParts { turn: n, parts });
        }
        let path = dec.path(field).ok_or_else(no_field)?;
        let literal =
            self.original_literal(e, &dec, field, value).unwrap_or_else(|| self.style.string(value).into_bytes());
        let mut out = Vec::with_capacity(raw.len() + literal.len());
        match json::find_path(raw, 0, path) {
            Some((s, end)) => {
                out.extend_from_slice(&raw[..s]);
                out.extend_from_slice(&literal);
                out.extend_from_slice(&raw[end..]);
            }
            None => match path {
                [json::Seg::Key(key)] => insert_member(raw, key, &literal, &self.style, &mut out),
                _ => return Err(no_field()),
            },
        }
        Ok(out)
    }

    /// The on-disk literal of `field` when it decodes to `value` (so an edit undone by hand is exact).
    fn original_literal(&self, e: Entry, now: &Decoded, field: Field, value: &str) -> Option<Vec<u8>> {
        if e.ord == NEW {
            return None;
        }
        let orig = &self.buf[self.spans[e.ord as usize].range()];
        let dec = format::decode(self.format, orig);
        let path = dec.path(field)?;
        if now.path(field)? != path {
            return None;
        }
        let (s, end) = json::find_path(orig, 0, path)?;
        // A `null` content (a turn that only calls tools) reads as empty text.
        let same = match &orig[s..end] {
            b"null" => value.is_empty(),
            lit => json::decode_string(lit).as_deref() == Some(value),
        };
        same.then(|| orig[s..end].to_vec())
    }

    /// Checks raw record text typed by a user: a JSON object.
    pub fn validate_raw(raw: &[u8]) -> Result<(), EditError> {
        match serde_json::from_slice::<serde_json::Value>(raw) {
            Ok(serde_json::Value::Object(_)) => Ok(()),
            Ok(_) => Err(EditError::InvalidJson("not an object".into())),
            Err(err) => Err(EditError::InvalidJson(err.to_string())),
        }
    }

    /// Replaces the bytes of record `id`; returns the previous bytes. Bytes equal to the file's
    /// own are stored as "unchanged".
    pub fn set_raw(&mut self, id: u32, raw: Vec<u8>) -> Option<Vec<u8>> {
        self.revision = next_revision();
        let pos = self.position(id)?;
        let e = self.entries[pos];
        let before = self.raw_of(e).to_vec();
        let same_as_disk = e.ord != NEW && self.buf[self.spans[e.ord as usize].range()] == raw[..];
        if same_as_disk {
            self.overrides.remove(&id);
        } else {
            self.overrides.insert(id, raw);
        }
        if e.malformed {
            self.entries[pos].malformed = Dataset::validate_raw(self.raw_of(self.entries[pos])).is_err();
        }
        Some(before)
    }

    /// Gives records the ids a journal recorded: runs of (first position, first id, length).
    pub fn assign_ids(&mut self, runs: &[(usize, u32, usize)], next_id: u32) {
        self.revision = next_revision();
        for &(pos, id, n) in runs {
            for k in 0..n {
                if let Some(e) = self.entries.get_mut(pos + k) {
                    e.id = id + k as u32;
                }
            }
        }
        self.next_id = self.next_id.max(next_id);
    }

    /// The id the next inserted record will get.
    pub fn next_id(&self) -> u32 {
        self.next_id
    }

    /// A new id for a record about to be inserted.
    pub fn allocate_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Inserts a record at `pos` (clamped to the end).
    pub fn insert(&mut self, pos: usize, state: &EntryState) {
        self.revision = next_revision();
        let pos = pos.min(self.entries.len());
        let ord = state.ord.filter(|&o| (o as usize) < self.spans.len()).unwrap_or(NEW);
        let entry = Entry { id: state.id, ord, malformed: state.malformed };
        self.next_id = self.next_id.max(state.id + 1);
        self.entries.insert(pos, entry);
        let raw = &state.raw[..];
        if ord == NEW || self.buf[self.spans[ord as usize].range()] != *raw {
            self.overrides.insert(state.id, raw.to_vec());
        }
    }

    /// Inserts records at their final positions (ascending, as after all insertions) in one pass.
    pub fn insert_many(&mut self, items: &[(usize, &EntryState)]) {
        self.revision = next_revision();
        let mut merged = Vec::with_capacity(self.entries.len() + items.len());
        let mut old = self.entries.drain(..);
        for &(pos, state) in items {
            while merged.len() < pos {
                match old.next() {
                    Some(e) => merged.push(e),
                    None => break,
                }
            }
            let ord = state.ord.filter(|&o| (o as usize) < self.spans.len()).unwrap_or(NEW);
            merged.push(Entry { id: state.id, ord, malformed: state.malformed });
        }
        merged.extend(old);
        self.entries = merged;
        for &(_, state) in items {
            self.next_id = self.next_id.max(state.id + 1);
            let e = Entry { id: state.id, ord: state.ord.unwrap_or(NEW), malformed: state.malformed };
            let on_disk = e.ord != NEW
                && (e.ord as usize) < self.spans.len()
                && self.buf[self.spans[e.ord as usize].range()] == state.raw[..];
            if !on_disk {
                self.overrides.insert(state.id, state.raw.clone());
            }
        }
    }

    /// Removes the record at `pos`, returning what is needed to put it back.
    pub fn remove(&mut self, pos: usize) -> Option<EntryState> {
        self.revision = next_revision();
        let state = self.entry_state(pos)?;
        let e = self.entries.remove(pos);
        self.overrides.remove(&e.id);
        Some(state)
    }

    /// Removes every record whose position is in `positions` (sorted or not) in one pass.
    pub fn remove_many(&mut self, positions: &[usize]) -> Vec<(usize, EntryState)> {
        self.revision = next_revision();
        let mut sorted: Vec<usize> = positions.iter().copied().filter(|&p| p < self.entries.len()).collect();
        sorted.sort_unstable();
        sorted.dedup();
        let removed: Vec<(usize, EntryState)> =
            sorted.iter().filter_map(|&p| Some((p, self.entry_state(p)?))).collect();
        let mut k = 0;
        let mut n = 0;
        self.entries.retain(|_| {
            let drop = sorted.get(k) == Some(&n);
            if drop {
                k += 1;
            }
            n += 1;
            !drop
        });
        for (_, s) in &removed {
            self.overrides.remove(&s.id);
        }
        removed
    }

    /// The state of the record at `pos`.
    pub fn entry_state(&self, pos: usize) -> Option<EntryState> {
        let e = *self.entries.get(pos)?;
        Some(EntryState {
            id: e.id,
            ord: (e.ord != NEW).then_some(e.ord),
            malformed: e.malformed,
            raw: self.raw_of(e).to_vec(),
        })
    }

    /// A new, empty record of this dataset's format, written in the file's style.
    pub fn blank_record(&self) -> Vec<u8> {
        use serde_json::{Value, json};
        let empty = || Value::String(String::new());
        let members: Vec<(&str, Value)> = match self.format {
            Format::Alpaca => vec![("instruction", empty()), ("input", empty()), ("output", empty())],
            Format::Dolly => {
                vec![("instruction", empty()), ("context", empty()), ("response", empty()), ("category", empty())]
            }
            Format::ShareGpt => {
                vec![("conversations", json!([{"from": "human", "value": ""}, {"from": "gpt", "value": ""}]))]
            }
            Format::OpenAi => {
                vec![("messages", json!([{"content": "", "role": "user"}, {"content": "", "role": "assistant"}]))]
            }
            Format::PromptCompletion => vec![("prompt", empty()), ("completion", empty())],
            Format::Preference => vec![("prompt", empty()), ("chosen", empty()), ("rejected", empty())],
        };
        let mut out = String::new();
        let level = usize::from(self.container == Container::Array);
        self.style.write_object(&mut out, &members, level);
        out.into_bytes()
    }
}

/// Appends member `key: literal` to the object `raw`, laid out like the object's existing members.
fn insert_member(raw: &[u8], key: &str, literal: &[u8], style: &Style, out: &mut Vec<u8>) {
    let members = json::object_members(raw, 0).unwrap_or_default();
    let close = raw.iter().rposition(|&c| c == b'}').unwrap_or(raw.len());
    let member = |out: &mut Vec<u8>| {
        out.extend_from_slice(style.string(key).as_bytes());
        out.extend_from_slice(style.colon.as_bytes());
        out.extend_from_slice(literal);
    };
    match members.last() {
        Some(&(_, (_, vend))) => {
            // The whitespace before the first key is the layout of every member.
            let lead = &raw[1..members[0].0.0];
            out.extend_from_slice(&raw[..vend]);
            out.push(b',');
            if lead.is_empty() {
                out.extend_from_slice(style.comma.trim_start_matches(',').as_bytes());
            } else {
                out.extend_from_slice(lead);
            }
            member(out);
            out.extend_from_slice(&raw[vend..]);
        }
        None => {
            out.extend_from_slice(&raw[..close]);
            member(out);
            out.extend_from_slice(&raw[close..]);
        }
    }
}

/// Record bytes as JSON text: a string when UTF-8 (always, for valid records), else a byte array.
pub mod bytes_text {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Text(String),
        Bytes { bytes: Vec<u8> },
    }

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(b) {
            Ok(t) => Repr::Text(t.to_string()),
            Err(_) => Repr::Bytes { bytes: b.to_vec() },
        }
        .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(match Repr::deserialize(d)? {
            Repr::Text(t) => t.into_bytes(),
            Repr::Bytes { bytes } => bytes,
        })
    }
}

#[cfg(test)]
mod tests;
