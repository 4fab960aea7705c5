//! Dataset statistics: what `sift stats` prints and the TUI summarises.

use crate::session::Session;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// Length statistics of one field, in characters.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct LengthStats {
    pub min: usize,
    pub median: usize,
    pub mean: f64,
    pub max: usize,
    /// Records where the field is empty or whitespace.
    pub empty: usize,
}

impl LengthStats {
    fn from_lengths(mut v: Vec<usize>, empty: usize) -> LengthStats {
        if v.is_empty() {
            return LengthStats { empty, ..Default::default() };
        }
        v.sort_unstable();
        let mean = v.iter().sum::<usize>() as f64 / v.len() as f64;
        LengthStats {
            min: v[0],
            median: v[v.len() / 2],
            mean: (mean * 10.0).round() / 10.0,
            max: v[v.len() - 1],
            empty,
        }
    }
}

/// Everything `sift stats` reports.
#[derive(Clone, Debug, Serialize)]
pub struct Stats {
    pub file: String,
    pub format: String,
    pub container: crate::dataset::Container,
    pub records: usize,
    pub malformed: usize,
    /// Problems found reading the file (malformed records, wrong-typed fields, truncation...): the
    /// same count `sift check` lists.
    pub problems: usize,
    pub fields: BTreeMap<&'static str, LengthStats>,
    pub empty_responses: usize,
    /// Records whose instruction (with a conversation's earlier turns) appears more than once
    /// (exactly, after trimming), counting every copy.
    pub duplicate_instructions: usize,
    /// Records whose instruction and input together appear more than once.
    pub duplicate_prompts: usize,
    /// Number of distinct instructions that appear more than once.
    pub duplicate_groups: usize,
    /// Multi-turn records (more than one user turn, or tool use).
    pub multi_turn: usize,
    /// Records with tool calls or tool results.
    pub tool_use: usize,
    /// Records that refer to images, video or audio.
    pub with_media: usize,
    /// Preference pairs (chosen/rejected).
    pub preference_pairs: usize,
    /// KTO labels: (desirable, undesirable).
    pub kto_labels: (usize, usize),
    /// Count of records by review status.
    pub status: BTreeMap<&'static str, usize>,
    /// Count of records by tag.
    pub tags: BTreeMap<String, usize>,
}

/// Per record: field lengths (instruction, input, output, every turn), field emptiness, instruction
/// hash, multi-turn, prompt hash.
type RecordFacts = ([usize; 4], [bool; 4], u64, bool, u64, Shape);

/// What a record holds beyond text: tool use, media, a preference pair, a KTO label.
type Shape = (bool, bool, bool, Option<bool>);

/// Computes the statistics of a session's dataset.
pub fn compute(session: &Session) -> Stats {
    let ds = session.dataset();
    let per: Vec<Option<RecordFacts>> = (0..ds.len())
        .into_par_iter()
        .map(|pos| {
            let r = ds.record(pos)?;
            let all = r.conversation_text();
            let fields = [&r.instruction, &r.input, &r.output, &all];
            let lens = fields.map(|f| f.chars().count());
            let empty = fields.map(|f| f.trim().is_empty());
            // A conversation's earlier turns are part of its prompt: two conversations ending in the
            // same exchange are not duplicates.
            let context = r.context_text();
            let key = xxhash_rust::xxh3::xxh3_64(format!("{}\u{1f}{}", r.instruction.trim(), context).as_bytes());
            let prompt = xxhash_rust::xxh3::xxh3_64(
                format!("{}\u{1f}{}\u{1f}{context}", r.instruction.trim(), r.input.trim()).as_bytes(),
            );
            let tools = r.turns.iter().any(|t| t.role == crate::dataset::Role::Tool || !t.tool_calls.is_empty());
            let shape = (tools, !r.all_media().is_empty(), r.preference.is_some(), r.label);
            Some((lens, empty, key, r.is_multi_turn(), prompt, shape))
        })
        .collect();
    let names = ["instruction", "input", "output", "all_turns"];
    let mut fields = BTreeMap::new();
    for (k, name) in names.iter().enumerate() {
        let lens: Vec<usize> = per.iter().flatten().map(|p| p.0[k]).collect();
        let empty = per.iter().flatten().filter(|p| p.1[k]).count();
        fields.insert(*name, LengthStats::from_lengths(lens, empty));
    }
    let mut groups: HashMap<u64, usize> = HashMap::new();
    for p in per.iter().flatten() {
        *groups.entry(p.2).or_default() += 1;
    }
    let dup_groups = groups.values().filter(|&&n| n > 1).count();
    let dup_records = groups.values().filter(|&&n| n > 1).sum();
    let mut prompts: HashMap<u64, usize> = HashMap::new();
    for p in per.iter().flatten() {
        *prompts.entry(p.4).or_default() += 1;
    }
    let dup_prompts = prompts.values().filter(|&&n| n > 1).sum();
    let counts = session.status_counts();
    let status = crate::session::Status::ALL.iter().map(|s| (s.name(), counts[*s as usize])).collect();
    let mut tags: BTreeMap<String, usize> = BTreeMap::new();
    for pos in 0..ds.len() {
        for t in session.review(pos).tags {
            *tags.entry(t).or_default() += 1;
        }
    }
    Stats {
        file: ds.path().display().to_string(),
        format: ds.format().name().to_string(),
        container: ds.container(),
        records: ds.len(),
        malformed: ds.malformed_count(),
        problems: ds.all_problems().len(),
        empty_responses: fields["output"].empty,
        fields,
        duplicate_instructions: dup_records,
        duplicate_groups: dup_groups,
        duplicate_prompts: dup_prompts,
        multi_turn: per.iter().flatten().filter(|p| p.3).count(),
        tool_use: per.iter().flatten().filter(|p| p.5.0).count(),
        with_media: per.iter().flatten().filter(|p| p.5.1).count(),
        preference_pairs: per.iter().flatten().filter(|p| p.5.2).count(),
        kto_labels: (
            per.iter().flatten().filter(|p| p.5.3 == Some(true)).count(),
            per.iter().flatten().filter(|p| p.5.3 == Some(false)).count(),
        ),
        status,
        tags,
    }
}

impl Stats {
    /// Human-readable report.
    pub fn to_text(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let _ = writeln!(s, "file        {}", self.file);
        let _ = writeln!(s, "format      {} ({:?})", self.format, self.container);
        let _ = writeln!(s, "records     {} ({} malformed, {} problems)", self.records, self.malformed, self.problems);
        let _ = writeln!(
            s,
            "fields      {:<12} {:>6} {:>7} {:>8} {:>7} {:>7}",
            "", "min", "median", "mean", "max", "empty"
        );
        for (name, f) in &self.fields {
            let _ = writeln!(
                s,
                "            {:<12} {:>6} {:>7} {:>8.1} {:>7} {:>7}",
                name, f.min, f.median, f.mean, f.max, f.empty
            );
        }
        let _ = writeln!(s, "empty responses         {}", self.empty_responses);
        let _ = writeln!(
            s,
            "duplicate instructions  {} records in {} groups ({} with the same input too)",
            self.duplicate_instructions, self.duplicate_groups, self.duplicate_prompts
        );
        let _ = writeln!(s, "multi-turn              {}", self.multi_turn);
        let _ = writeln!(s, "tool use                {}", self.tool_use);
        let _ = writeln!(s, "images/media            {}", self.with_media);
        if self.preference_pairs > 0 {
            let _ = writeln!(s, "preference pairs        {}", self.preference_pairs);
        }
        if self.kto_labels != (0, 0) {
            let _ = writeln!(
                s,
                "KTO labels              {} desirable, {} undesirable",
                self.kto_labels.0, self.kto_labels.1
            );
        }
        let status: Vec<String> = self.status.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(s, "status                  {}", status.join(", "));
        if !self.tags.is_empty() {
            let tags: Vec<String> = self.tags.iter().map(|(k, v)| format!("{k} {v}")).collect();
            let _ = writeln!(s, "tags                    {}", tags.join(", "));
        }
        s
    }
}
