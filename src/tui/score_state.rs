//! The judge's part of the TUI state ([`JudgeState`]) and what a scoring job reports
//! ([`JudgeMsg`]). Names no `App`: the scoring itself is [`super::score`].

use crate::dataset::RecordTextBuf;
use crate::judge::signals::Surprise;
use crate::judge::{self, Engine, JudgeFlag, Signal};
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What the judge says about one scored record.
#[derive(Clone, Debug)]
pub struct Scores {
    /// The value of every signal the judge computes ([`Signal::judged`]).
    pub values: Vec<(Signal, f32)>,
    /// The model flags with their reasons.
    pub flags: Vec<JudgeFlag>,
    /// The response's most surprising tokens (byte spans).
    pub surprising: Vec<Surprise>,
    /// What the judge says besides flags: that the model does not cover the record's language, which
    /// turns of a conversation it skipped or checked.
    pub notes: Vec<String>,
}

/// One record's result: the content hash of the text scored, and the scores (None: nothing to
/// score, the response is empty).
#[derive(Clone, Debug)]
pub struct Judged {
    pub id: u32,
    pub hash: u64,
    pub scores: Option<Scores>,
}

/// What a run did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunStats {
    pub records: usize,
    pub scored: usize,
    pub cached: usize,
    pub cancelled: bool,
}

/// What a scoring job reports.
pub enum JudgeMsg {
    Results(Vec<Judged>),
    Done(RunStats),
}

/// The judge's part of the app state.
pub struct JudgeState {
    /// The model directory (`--model`); None: [`crate::paths::default_model_dir`].
    pub model_dir: Option<PathBuf>,
    /// Where scores are cached (the CLI's cache); None: no cache.
    pub cache_dir: Option<PathBuf>,
    /// Whether changed records are rescored (scoring was started and neither stopped nor failed).
    pub active: bool,
    /// Records waiting for the next scoring job.
    pub pending: HashSet<u32>,
    /// Records the running job scores.
    pub in_flight: HashSet<u32>,
    /// Records to score before the other pending ones (those on screen), in a job of their own.
    pub first: Vec<u32>,
    /// The pending records only take what the score cache holds (the file was reopened); the
    /// model is not run.
    pub cache_only: bool,
    /// Whether the running job only reads the cache.
    pub job_cache_only: bool,
    /// Whether the scores of an earlier session were looked for ([`super::score_resume`]).
    pub resumed: bool,
    /// The running scoring job.
    pub job: Option<u64>,
    /// The content hash of the text each record's scores are for.
    pub scored: HashMap<u32, u64>,
    /// The most surprising response tokens of each scored record.
    pub surprising: HashMap<u32, Vec<Surprise>>,
    /// The judge's notes on each scored record ([`Scores::notes`]).
    pub notes: HashMap<u32, Vec<String>>,
    /// What the last finished run did.
    pub last: Option<RunStats>,
    /// The running job's report, once it sent one.
    pub(super) finished: Option<RunStats>,
    /// Whether the running job was seen stopping (the user cancelled it).
    pub(super) stopping: bool,
    /// The loaded engine, kept for the next run.
    pub(super) engine: Arc<Mutex<Option<Arc<Engine>>>>,
    pub(super) refreshed: Instant,
}

impl Default for JudgeState {
    fn default() -> Self {
        JudgeState {
            model_dir: None,
            cache_dir: crate::paths::cache_dir(),
            active: false,
            pending: HashSet::new(),
            in_flight: HashSet::new(),
            first: Vec::new(),
            cache_only: false,
            job_cache_only: false,
            resumed: false,
            job: None,
            scored: HashMap::new(),
            surprising: HashMap::new(),
            notes: HashMap::new(),
            last: None,
            finished: None,
            stopping: false,
            engine: Arc::default(),
            refreshed: Instant::now(),
        }
    }
}

impl JudgeState {
    /// Whether a record waits for (re)scoring.
    pub fn waiting(&self, id: u32) -> bool {
        self.pending.contains(&id) || self.in_flight.contains(&id)
    }

    /// After record `id` changed (its current text is `f`): drops its scores when they are for other
    /// text, and queues it for scoring while the judge is active. Returns whether its scores were
    /// dropped (the caller drops them from the signal store too: [`SignalStore::drop_judged`]).
    ///
    /// [`SignalStore::drop_judged`]: super::jobs::SignalStore::drop_judged
    pub fn touched(&mut self, id: u32, f: &RecordTextBuf) -> bool {
        let hash = judge::content_hash(&f.instruction, &f.input, &f.output);
        let dropped = match self.scored.get(&id) {
            Some(&h) if h == hash => return false,
            Some(_) => {
                self.scored.remove(&id);
                self.surprising.remove(&id);
                self.notes.remove(&id);
                true
            }
            None => false,
        };
        if self.active {
            self.pending.insert(id);
        }
        dropped
    }

    /// After changes to unknown records: rescores everything while active, else drops every score
    /// and returns true (the caller empties the signal store's judged values too).
    pub fn all_touched(&mut self, ids: impl Iterator<Item = u32>) -> bool {
        if self.active {
            self.pending.extend(ids);
            return false;
        }
        self.scored.clear();
        self.surprising.clear();
        self.notes.clear();
        true
    }
}
