//! Incremental fuzzy search on a worker thread. The worker scans the searchable text of every record
//! in chunks and streams matching record ids back; each request carries a generation number and the
//! worker drops a scan as soon as a newer request exists, so typing never waits for a stale search.

use crate::dataset::RecordTextBuf;
use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;
use rayon::prelude::*;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, RwLock};

/// Lower-cases a record's texts for the corpus (the search is case-insensitive).
pub fn lower(f: &RecordTextBuf) -> RecordTextBuf {
    let [c, z, y] = f.as_text().fields().map(str::to_lowercase);
    RecordTextBuf::new(&c, &z, &y)
}

/// The searchable text of every record, by id, as it was when indexed.
#[derive(Default)]
pub struct Corpus {
    pub ids: Vec<u32>,
    pub fields: Vec<RecordTextBuf>,
}

/// Which fields a query looks at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    All,
    Instruction,
    Input,
    Output,
}

/// A parsed search query: `i:`, `in:` or `o:` in front scope it to one field. Every
/// whitespace-separated term must match: as a substring anywhere in the field, or, in fields of at
/// most [`FUZZY_MAX`] bytes (instructions, short answers), as a close fuzzy match (typos, gaps).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub scope: Scope,
    pub pattern: String,
    pub terms: Vec<String>,
}

/// Fields up to this size are also matched fuzzily.
pub const FUZZY_MAX: usize = 320;

/// Skim score per pattern character a fuzzy match needs: a dropped letter ("primry") scores ~19, letters
/// scattered over several words ("poem" in "professional email") 14-16.
const FUZZY_MIN_PER_CHAR: i64 = 18;

impl Query {
    pub fn parse(s: &str) -> Query {
        let t = s.trim_start();
        let (scope, rest) = [("in:", Scope::Input), ("i:", Scope::Instruction), ("o:", Scope::Output)]
            .into_iter()
            .find_map(|(p, sc)| t.strip_prefix(p).map(|r| (sc, r)))
            .unwrap_or((Scope::All, t));
        let pattern = rest.trim().to_string();
        let terms = pattern.split_whitespace().map(str::to_lowercase).collect();
        Query { scope, pattern, terms }
    }

    /// Whether the field with index `k` (0 instruction, 1 input, 2 output) is searched.
    pub fn covers(&self, k: usize) -> bool {
        matches!((self.scope, k), (Scope::All, _) | (Scope::Instruction, 0) | (Scope::Input, 1) | (Scope::Output, 2))
    }

    /// Whether a record's (lower-cased) fields match.
    pub fn matches(&self, m: &SkimMatcherV2, f: &RecordTextBuf) -> bool {
        let f = f.as_text().fields();
        !self.terms.is_empty()
            && self.terms.iter().all(|t| {
                (0..3).any(|k| {
                    self.covers(k)
                        && (memchr::memmem::find(f[k].as_bytes(), t.as_bytes()).is_some()
                            || (f[k].len() <= FUZZY_MAX && fuzzy_ok(m, f[k], t)))
                })
            })
    }
}

fn fuzzy_ok(m: &SkimMatcherV2, text: &str, term: &str) -> bool {
    term.chars().count() >= 3
        && m.fuzzy_match(text, term).is_some_and(|s| s >= FUZZY_MIN_PER_CHAR * term.chars().count() as i64)
}

/// The matcher used everywhere.
pub fn matcher() -> SkimMatcherV2 {
    SkimMatcherV2::default().ignore_case()
}

/// Char indices of `text` to highlight for `q`: substring hits of each term, else its fuzzy match.
pub fn highlight(text: &str, q: &Query) -> Vec<usize> {
    let mut out = Vec::new();
    let low = text.to_lowercase();
    let same = low.len() == text.len();
    for t in &q.terms {
        let mut hit = false;
        if same {
            for (b, _) in low.match_indices(t.as_str()) {
                hit = true;
                let start = text[..b].chars().count();
                out.extend(start..start + t.chars().count());
            }
        }
        if !hit && text.len() <= FUZZY_MAX && fuzzy_ok(&matcher(), text, t) {
            out.extend(matcher().fuzzy_indices(text, t).map(|(_, v)| v).unwrap_or_default());
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// What the worker searches: the indexed corpus plus records changed since (by id).
#[derive(Default)]
pub struct SearchData {
    pub base: Arc<Corpus>,
    pub overlay: HashMap<u32, RecordTextBuf>,
}

struct Request {
    generation: u64,
    query: Query,
}

/// A chunk of results.
pub struct SearchMsg {
    pub generation: u64,
    pub ids: Vec<u32>,
    pub scanned: usize,
    pub total: usize,
    pub done: bool,
}

/// The app's side of the search worker.
pub struct Searcher {
    tx: Sender<Request>,
    pub rx: Receiver<SearchMsg>,
    latest: Arc<AtomicU64>,
    pub data: Arc<RwLock<SearchData>>,
}

/// Records scanned in the first chunk (small, so the first results show at once) and later ones.
const FIRST_CHUNK: usize = 1024;
const CHUNK: usize = 8192;

impl Default for Searcher {
    fn default() -> Self {
        Searcher::new()
    }
}

impl Searcher {
    /// Starts the worker thread.
    pub fn new() -> Searcher {
        let (tx, req_rx) = channel::<Request>();
        let (res_tx, rx) = channel();
        let latest = Arc::new(AtomicU64::new(0));
        let data = Arc::new(RwLock::new(SearchData::default()));
        let (l, d) = (latest.clone(), data.clone());
        std::thread::Builder::new()
            .name("sift-search".into())
            .spawn(move || worker(req_rx, res_tx, l, d))
            .expect("spawn search thread");
        Searcher { tx, rx, latest, data }
    }

    /// Asks for a search; results for older generations stop coming.
    pub fn request(&self, generation: u64, query: Query) {
        self.latest.store(generation, Ordering::SeqCst);
        let _ = self.tx.send(Request { generation, query });
    }

    /// Cancels any running search.
    pub fn cancel(&self, generation: u64) {
        self.latest.store(generation, Ordering::SeqCst);
    }

    /// Installs a freshly indexed corpus. The overlay of edited records stays: it holds the newest
    /// text of each, which a corpus indexed in the background may predate.
    pub fn set_corpus(&self, corpus: Arc<Corpus>) {
        let mut d = self.data.write().expect("search data lock");
        d.base = corpus;
    }

    /// Records the current text of one record (as decoded; lower-cased here).
    pub fn update(&self, id: u32, fields: &RecordTextBuf) {
        self.data.write().expect("search data lock").overlay.insert(id, lower(fields));
    }
}

fn worker(rx: Receiver<Request>, tx: Sender<SearchMsg>, latest: Arc<AtomicU64>, data: Arc<RwLock<SearchData>>) {
    let m = matcher();
    // Its own threads: searches must not queue behind background jobs on rayon's global pool.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let pool = match rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("sift-search-{i}"))
        .build()
    {
        Ok(p) => p,
        Err(_) => return,
    };
    while let Ok(mut req) = rx.recv() {
        while let Ok(newer) = rx.try_recv() {
            req = newer;
        }
        let stale = || latest.load(Ordering::SeqCst) != req.generation;
        let (base, overlay) = {
            let d = data.read().expect("search data lock");
            (d.base.clone(), d.overlay.clone())
        };
        let total = base.ids.len() + overlay.len();
        let mut start = 0;
        let mut chunk = FIRST_CHUNK;
        let q = &req.query;
        let mut aborted = false;
        while start < base.ids.len() {
            if stale() {
                aborted = true;
                break;
            }
            let end = (start + chunk).min(base.ids.len());
            let ids: Vec<u32> = pool.install(|| {
                (start..end)
                    .into_par_iter()
                    .filter_map(|k| {
                        if stale() {
                            return None;
                        }
                        let id = base.ids[k];
                        (!overlay.contains_key(&id) && q.matches(&m, &base.fields[k])).then_some(id)
                    })
                    .collect()
            });
            if stale() {
                aborted = true;
                break;
            }
            start = end;
            chunk = CHUNK;
            let _ = tx.send(SearchMsg { generation: req.generation, ids, scanned: start, total, done: false });
        }
        if aborted {
            continue;
        }
        let mut ids: Vec<u32> = overlay.iter().filter(|(_, f)| q.matches(&m, f)).map(|(id, _)| *id).collect();
        ids.sort_unstable();
        let _ = tx.send(SearchMsg { generation: req.generation, ids, scanned: total, total, done: true });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse() {
        assert_eq!(Query::parse("in:foo").scope, Scope::Input);
        assert_eq!(Query::parse("i:Foo").terms, vec!["foo".to_string()]);
        assert_eq!(Query::parse("i:foo").scope, Scope::Instruction);
        let m = matcher();
        let f = RecordTextBuf::new("name three primary colors.", "", "red, yellow and blue.");
        assert!(Query::parse("primary blue").matches(&m, &f));
        assert!(Query::parse("primry").matches(&m, &f), "fuzzy in short fields");
        assert!(!Query::parse("i:blue").matches(&m, &f));
        assert!(!Query::parse("green").matches(&m, &f));
        assert_eq!(highlight("Red, Yellow", &Query::parse("yel")), vec![5, 6, 7]);
        assert_eq!(Query::parse("o: bar").pattern, "bar");
        assert_eq!(Query::parse("x:bar").scope, Scope::All);
    }
}
