//! Background jobs (indexing, flags, model scoring; later training): a thread per job reporting
//! progress and results through one channel, with a cancel flag; and the per-record signal store
//! the results land in. An edit clock tells results computed from a record's older text apart.

use crate::judge::{JudgeFlag, Signal};
use crate::quality::heuristics::{Flag, FlagKind};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Instant;

use super::search::Corpus;

/// What a job hands back to the app.
pub enum JobOutput {
    /// The searchable text of every record.
    Corpus(Arc<Corpus>),
    /// A numeric signal's values for records (by id).
    Numeric { signal: Signal, values: Vec<(u32, f32)> },
    /// Quality flags of every record (by id; a record left out has none); replaces all earlier flags.
    Flags(Vec<(u32, Vec<Flag>)>),
    /// Results of the model judge.
    Judge(super::score_state::JudgeMsg),
    /// A refit of the suggestion model.
    Suggest(Box<super::suggest_state::Refit>),
}

/// The threads background jobs compute on: one fewer than the cores, so the UI and the search
/// worker always have a core (rayon's global pool would take them all).
pub fn background_pool() -> &'static rayon::ThreadPool {
    static POOL: std::sync::OnceLock<rayon::ThreadPool> = std::sync::OnceLock::new();
    POOL.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        rayon::ThreadPoolBuilder::new()
            .num_threads(cores.saturating_sub(1).max(1))
            .thread_name(|i| format!("sift-bg-{i}"))
            .start_handler(|_| yield_to_ui())
            .build()
            .expect("background thread pool")
    })
}

/// Lowers the calling thread's priority (nice +10; Linux, where a nice value is per thread), so that
/// when the cores are busy the UI thread runs before background work and frames keep their pace.
fn yield_to_ui() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id; a failure leaves the priority as it was.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS as _, tid, 10);
    }
}

/// A message from a job thread.
pub enum JobMsg {
    Progress {
        job: u64,
        done: usize,
        total: usize,
        /// Items per second and seconds left, when the job measures them itself.
        rate: Option<(f64, f64)>,
    },
    /// The job moved on to another phase (shown as its name; progress restarts).
    Phase {
        job: u64,
        name: String,
    },
    Output {
        job: u64,
        output: JobOutput,
    },
    Finished {
        job: u64,
        error: Option<String>,
    },
}

/// The handle a job's code reports through.
pub struct JobCtx {
    job: u64,
    tx: Sender<JobMsg>,
    cancel: Arc<AtomicBool>,
}

impl JobCtx {
    /// Reports progress.
    pub fn progress(&self, done: usize, total: usize) {
        let _ = self.tx.send(JobMsg::Progress { job: self.job, done, total, rate: None });
    }
    /// Reports progress with the job's own rate and ETA (NaN: not known yet).
    pub fn progress_rate(&self, done: usize, total: usize, per_s: f64, eta_s: f64) {
        let _ = self.tx.send(JobMsg::Progress { job: self.job, done, total, rate: Some((per_s, eta_s)) });
    }
    /// Names the phase the job is in now.
    pub fn phase(&self, name: &str) {
        let _ = self.tx.send(JobMsg::Phase { job: self.job, name: name.to_string() });
    }
    /// Hands a result to the app.
    pub fn output(&self, output: JobOutput) {
        let _ = self.tx.send(JobMsg::Output { job: self.job, output });
    }
    /// Whether the user asked the job to stop.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
    /// The cancel flag itself, for code that polls it (the judge's engine).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }
}

/// A running job as the status bar shows it.
#[derive(Clone, Debug)]
pub struct JobInfo {
    pub id: u64,
    pub name: String,
    pub done: usize,
    pub total: usize,
    pub started: Instant,
    pub cancel: Arc<AtomicBool>,
    /// The edit clock when the job started: its results for records changed since are stale.
    pub since: u64,
    /// Rate and ETA as the job measures them (a scorer skipping cached records knows better).
    pub reported: Option<(f64, f64)>,
}

impl JobInfo {
    /// Items per second so far.
    pub fn rate(&self) -> f64 {
        if let Some((rate, _)) = self.reported {
            return rate;
        }
        let secs = self.started.elapsed().as_secs_f64();
        if secs > 0.0 { self.done as f64 / secs } else { 0.0 }
    }
    /// Seconds left at the current rate.
    pub fn eta(&self) -> Option<f64> {
        if let Some((_, eta)) = self.reported {
            return eta.is_finite().then_some(eta);
        }
        let rate = self.rate();
        (rate > 0.0 && self.total >= self.done).then(|| (self.total - self.done) as f64 / rate)
    }
}

/// Every job of the app.
pub struct Jobs {
    tx: Sender<JobMsg>,
    pub rx: Receiver<JobMsg>,
    pub running: Vec<JobInfo>,
    next: u64,
    /// The edit clock: advanced whenever records change ([`SignalStore::changed_at`] keeps when).
    pub clock: u64,
}

impl Default for Jobs {
    fn default() -> Self {
        let (tx, rx) = channel();
        Jobs { tx, rx, running: Vec::new(), next: 1, clock: 0 }
    }
}

impl Jobs {
    /// Starts `work` on its own thread.
    pub fn spawn(
        &mut self,
        name: &str,
        total: usize,
        work: impl FnOnce(&JobCtx) -> Result<(), String> + Send + 'static,
    ) {
        let id = self.next;
        self.next += 1;
        let cancel = Arc::new(AtomicBool::new(false));
        self.running.push(JobInfo {
            id,
            name: name.to_string(),
            done: 0,
            total,
            started: Instant::now(),
            cancel: cancel.clone(),
            since: self.clock,
            reported: None,
        });
        let ctx = JobCtx { job: id, tx: self.tx.clone(), cancel };
        std::thread::Builder::new()
            .name(format!("sift-job-{name}"))
            .spawn(move || {
                yield_to_ui();
                let error = work(&ctx).err();
                let _ = ctx.tx.send(JobMsg::Finished { job: ctx.job, error });
            })
            .expect("spawn job thread");
    }

    /// The edit clock at the start of job `id` (the current clock for an unknown job).
    pub fn since(&self, id: u64) -> u64 {
        self.running.iter().find(|j| j.id == id).map_or(self.clock, |j| j.since)
    }

    /// Asks every running job to stop.
    pub fn cancel_all(&self) {
        for j in &self.running {
            j.cancel.store(true, Ordering::Relaxed);
        }
    }
}

/// Per-record signals keyed by record id: numeric values (length, model scores) and flags.
#[derive(Default)]
pub struct SignalStore {
    /// The values of each numeric signal that has any, in registry order.
    pub numeric: BTreeMap<Signal, HashMap<u32, f32>>,
    /// Heuristic (model-free) flags.
    pub flags: HashMap<u32, Vec<Flag>>,
    /// Flags the model judge raised.
    pub model_flags: HashMap<u32, Vec<JudgeFlag>>,
    /// Whether flags have been computed (so "no flags" means clean, not unknown).
    pub flags_ready: bool,
    /// The edit clock ([`Jobs::clock`]) at each record's last change.
    pub changed_at: HashMap<u32, u64>,
    /// The edit clock when records were last added or deleted: flags computed before are dropped.
    pub reshaped_at: u64,
}

impl SignalStore {
    /// The value of a numeric signal for a record.
    pub fn value(&self, signal: Signal, id: u32) -> Option<f32> {
        self.numeric.get(&signal)?.get(&id).copied()
    }
    /// The numeric signals that have values, by name (the order the sort and histogram keys cycle in).
    pub fn present(&self) -> Vec<Signal> {
        let mut v: Vec<Signal> = self.numeric.keys().copied().collect();
        v.sort_by_key(|s| s.name());
        v
    }
    /// Whether any record has a value of `signal`.
    pub fn has(&self, signal: Signal) -> bool {
        self.numeric.contains_key(&signal)
    }
    /// The heuristic flags of a record.
    pub fn flags(&self, id: u32) -> &[Flag] {
        self.flags.get(&id).map_or(&[], Vec::as_slice)
    }
    /// The model flags of a record.
    pub fn model_flags(&self, id: u32) -> &[JudgeFlag] {
        self.model_flags.get(&id).map_or(&[], Vec::as_slice)
    }
    /// The names of every flag of a record: heuristic flags first, then the model's.
    pub fn flag_names(&self, id: u32) -> impl Iterator<Item = &str> {
        self.flags(id).iter().map(|f| f.kind.name()).chain(self.model_flags(id).iter().map(|f| f.name.as_str()))
    }
    /// Drops the judge's values and flags of record `id` (its scores were for other text).
    pub fn drop_judged(&mut self, id: u32) {
        for signal in Signal::judged() {
            if let Some(m) = self.numeric.get_mut(&signal) {
                m.remove(&id);
            }
        }
        self.model_flags.remove(&id);
    }
    /// Drops the judge's values and flags of every record.
    pub fn drop_all_judged(&mut self) {
        for signal in Signal::judged() {
            self.numeric.remove(&signal);
        }
        self.model_flags.clear();
    }
    /// Whether a result computed at edit clock `since` is out of date for record `id`.
    pub fn is_stale(&self, id: u32, since: u64) -> bool {
        self.changed_at.get(&id).is_some_and(|&t| t > since)
    }
    /// Stores the output of a job that started at edit clock `since`; values for records changed
    /// since then are dropped (their own flags and length were recomputed at the edit), and so are
    /// flags computed before records were added or deleted (duplicates name records by position).
    pub fn absorb(&mut self, out: JobOutput, since: u64) -> Option<Arc<Corpus>> {
        match out {
            JobOutput::Corpus(c) => return Some(c),
            JobOutput::Judge(_) | JobOutput::Suggest(_) => {}
            JobOutput::Numeric { signal, values } => {
                let m = self.numeric.entry(signal).or_default();
                for (id, v) in values {
                    if self.changed_at.get(&id).is_none_or(|&t| t <= since) {
                        m.insert(id, v);
                    }
                }
            }
            JobOutput::Flags(_) if since < self.reshaped_at => {}
            JobOutput::Flags(f) => {
                let dup = |f: &Flag| matches!(f.kind, FlagKind::Duplicate | FlagKind::NearDuplicate);
                // Records edited since the job started keep the flags the edit computed.
                let mut edited: HashMap<u32, Vec<Flag>> = std::mem::take(&mut self.flags)
                    .into_iter()
                    .filter(|(id, _)| self.is_stale(*id, since))
                    .map(|(id, flags)| (id, flags.into_iter().filter(|f| !dup(f)).collect()))
                    .collect();
                for (id, mut flags) in f {
                    if self.is_stale(id, since) {
                        // Only the dataset-level duplicate flags, which an edit does not recompute.
                        flags.retain(dup);
                        flags.extend(edited.remove(&id).unwrap_or_default());
                    }
                    if !flags.is_empty() {
                        self.flags.insert(id, flags);
                    }
                }
                self.flags.extend(edited.into_iter().filter(|(_, flags)| !flags.is_empty()));
                self.flags_ready = true;
            }
        }
        None
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    /// The calling thread's nice value.
    fn nice() -> i32 {
        // SAFETY: reads the calling thread's priority.
        unsafe { libc::getpriority(libc::PRIO_PROCESS as _, libc::syscall(libc::SYS_gettid) as libc::id_t) }
    }

    #[test]
    fn background_threads_run_below_the_ui_thread() {
        let ui = nice();
        let pool = crate::tui::jobs::background_pool().install(nice);
        let job = std::thread::spawn(|| {
            crate::tui::jobs::yield_to_ui();
            nice()
        })
        .join()
        .unwrap();
        assert!(pool >= 10 && job >= 10, "pool {pool}, job {job}");
        assert_eq!(nice(), ui, "the calling (UI) thread keeps its priority");
    }
}
