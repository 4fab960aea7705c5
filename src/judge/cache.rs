//! On-disk cache of model measurements, one append-only file per (model, template, settings).
//!
//! Layout: a JSON header line naming the model fingerprint, template and settings, then one line per
//! record: `<content hash:016x> <xxh3 of the JSON:016x> <ModelSignals JSON>`. A line whose checksum
//! or JSON does not verify (a torn write, an edit by hand) is dropped and the file is rewritten
//! without it; a header that does not match (stale version or key) empties the file. The cache is
//! never trusted blindly and never fatal: any I/O error just turns it off.

use super::signals::ModelSignals;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Bumped whenever what is measured or how changes: older files are then rebuilt.
pub const CACHE_VERSION: u32 = 2;

/// What the cached numbers depend on besides the record's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheKey {
    /// [`crate::model::LocalModel::fingerprint`].
    pub model: String,
    /// [`super::Template::name`].
    pub template: String,
    /// Scoring settings that change the numbers (token limit, first-token window, ...).
    pub settings: String,
}

impl CacheKey {
    fn header(&self) -> String {
        serde_json::json!({
            "sift_scores": CACHE_VERSION,
            "model": self.model,
            "template": self.template,
            "settings": self.settings,
        })
        .to_string()
    }

    fn file_name(&self) -> String {
        let h = xxhash_rust::xxh3::xxh3_64(format!("{}\0{}\0{}", self.model, self.template, self.settings).as_bytes());
        format!("scores-{h:016x}.jsonl")
    }
}

/// The content hash a record's measurements are filed under: xxh3-64 of `c \x1f z \x1f y`.
pub fn content_hash(instruction: &str, input: &str, output: &str) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(instruction.as_bytes());
    h.update(&[0x1f]);
    h.update(input.as_bytes());
    h.update(&[0x1f]);
    h.update(output.as_bytes());
    h.digest()
}

/// The hash a conversation turn's measurements are filed under: the [`content_hash`] of its texts
/// and the context it was scored under (its history in the conversation layout), so the same reply
/// after another history is measured again.
pub fn turn_hash(instruction: &str, input: &str, output: &str, context: &str) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&content_hash(instruction, input, output).to_le_bytes());
    h.update(&[0x1d]);
    h.update(context.as_bytes());
    h.digest()
}

/// What happened when a cache file was opened.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheReport {
    /// Entries that verified and were loaded.
    pub loaded: usize,
    /// Lines dropped because they did not verify.
    pub dropped: usize,
    /// Why the whole file was discarded, if it was.
    pub rebuilt: Option<String>,
    /// Why the cache is off, if it is.
    pub disabled: Option<String>,
}

/// Measurements by content hash, backed by an append-only file.
pub struct ScoreCache {
    path: Option<PathBuf>,
    map: HashMap<u64, ModelSignals>,
    writer: Option<File>,
    /// How the file was found.
    pub report: CacheReport,
}

fn parse_line(line: &str) -> Option<(u64, ModelSignals)> {
    let (h, rest) = line.split_once(' ')?;
    let (sum, json) = rest.split_once(' ')?;
    if h.len() != 16 || sum.len() != 16 {
        return None;
    }
    let h = u64::from_str_radix(h, 16).ok()?;
    let sum = u64::from_str_radix(sum, 16).ok()?;
    if xxhash_rust::xxh3::xxh3_64(json.as_bytes()) != sum {
        return None;
    }
    Some((h, serde_json::from_str(json).ok()?))
}

fn entry_line(h: u64, s: &ModelSignals) -> String {
    let json = serde_json::to_string(s).expect("ModelSignals serialises");
    format!("{h:016x} {:016x} {json}\n", xxhash_rust::xxh3::xxh3_64(json.as_bytes()))
}

impl ScoreCache {
    /// A cache that stores nothing (no directory, or caching turned off).
    pub fn disabled(reason: &str) -> ScoreCache {
        ScoreCache {
            path: None,
            map: HashMap::new(),
            writer: None,
            report: CacheReport { disabled: Some(reason.into()), ..Default::default() },
        }
    }

    /// Opens (or creates) the file for `key` under `dir`, verifying every entry.
    pub fn open(dir: &Path, key: &CacheKey) -> ScoreCache {
        match Self::try_open(dir, key) {
            Ok(c) => c,
            Err(e) => ScoreCache::disabled(&format!("score cache off: {e}")),
        }
    }

    fn try_open(dir: &Path, key: &CacheKey) -> std::io::Result<ScoreCache> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(key.file_name());
        let header = key.header();
        let mut report = CacheReport::default();
        let mut map = HashMap::new();
        let rewrite = match std::fs::read(&path) {
            Ok(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let mut lines = text.split_inclusive('\n');
                if lines.next().map(|l| l.trim_end_matches('\n')) != Some(header.as_str()) {
                    report.rebuilt = Some("cache header does not match this model, template or version".into());
                    true
                } else {
                    for line in lines {
                        // A line without its newline was torn by a crash mid-write.
                        match line.strip_suffix('\n').and_then(parse_line) {
                            Some((h, s)) => {
                                map.insert(h, s);
                            }
                            None => report.dropped += 1,
                        }
                    }
                    report.dropped > 0
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => return Err(e),
        };
        if rewrite {
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            let mut f = File::create(&tmp)?;
            let mut out = header.clone() + "\n";
            for (h, s) in &map {
                out.push_str(&entry_line(*h, s));
            }
            f.write_all(out.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
        }
        report.loaded = map.len();
        let writer = OpenOptions::new().append(true).open(&path)?;
        Ok(ScoreCache { path: Some(path), map, writer: Some(writer), report })
    }

    /// The file backing this cache, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The measurements filed under `hash`.
    pub fn get(&self, hash: u64) -> Option<&ModelSignals> {
        self.map.get(&hash)
    }

    /// Files measurements under `hash` and appends them to disk (one write per call). Non-finite
    /// values are not cached.
    pub fn put_many(&mut self, entries: &[(u64, ModelSignals)]) {
        let mut out = String::new();
        for (h, s) in entries {
            let finite = [s.nll_cz, s.nll_cz_head, s.nll_z, s.nll_y, s.nll_raw, s.first_cz, s.first_raw]
                .iter()
                .all(|x| x.is_finite());
            if finite && self.map.get(h) != Some(s) {
                out.push_str(&entry_line(*h, s));
                self.map.insert(*h, s.clone());
            }
        }
        if let (Some(w), false) = (self.writer.as_mut(), out.is_empty())
            && let Err(e) = w.write_all(out.as_bytes()).and_then(|()| w.flush())
        {
            self.writer = None;
            self.report.disabled = Some(format!("score cache write failed: {e}"));
        }
    }
}
