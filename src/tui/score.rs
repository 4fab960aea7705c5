//! The model judge in the TUI: scores records in the background with the same engine and the same
//! assessment as `sift score`, streams the results into the signal store, and rescores a record
//! whose text changed (the score cache makes every unchanged record free).

use super::app::App;
use super::app::Batch;
use super::jobs::{JobCtx, JobOutput, background_pool};
use super::score_state::{JudgeMsg, Judged, RunStats, Scores};
use crate::dataset::Format;
use crate::dataset::Record;
use crate::judge::{self, Engine, JudgeConfig, Judgeable, ModelSignals, ScoreCache, ScoreEvent, Signal};
use crate::quality::heuristics::Flag;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a scoring job hands its results over, and the list re-sorts at most.
const FLUSH: Duration = Duration::from_millis(100);
const REFRESH: Duration = Duration::from_secs(1);

/// Everything a scoring job needs, taken on the UI thread.
struct Request {
    format: Format,
    batch: Batch,
    heuristics: HashMap<u32, Vec<Flag>>,
    cfg: JudgeConfig,
    model_dir: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    engine: Arc<Mutex<Option<Arc<Engine>>>>,
    /// Only take what the cache holds; run no model.
    cache_only: bool,
}

impl App {
    /// Starts scoring with the judge (the `score` command): the selection or the filtered records
    /// when there are any, else every record; those on screen first ([`super::score_scope`]).
    pub fn start_scoring(&mut self) {
        let scope = super::score_scope::scope(self);
        // Records the running job only looks up in the cache still need the model.
        let running_cache_only = self.judge.job_cache_only;
        self.judge.cache_only = false;
        let in_flight = &self.judge.in_flight;
        self.judge.pending =
            scope.ids.iter().copied().filter(|id| running_cache_only || !in_flight.contains(id)).collect();
        self.judge.first = scope.on_screen;
        let say = |app: &mut App, m: &str| app.message = Some((m.to_string(), false));
        if self.judge.pending.is_empty() {
            let busy = !self.judge.in_flight.is_empty();
            return say(self, if busy { "the judge is already scoring (ctrl-x stops it)" } else { "nothing to score" });
        }
        super::score_resume::remember(self);
        self.judge.active = true;
        let n = self.judge.pending.len();
        let what = format!("judge: scoring {n} record{} {}", if n == 1 { "" } else { "s" }, scope.what);
        if self.judge.job.is_some() {
            say(self, &format!("{what} after the running job"));
        } else if !self.judge_tick() {
            say(self, &format!("{what} once the flags are ready"));
        } else {
            say(self, &what);
        }
    }

    /// Follows the scoring job and starts the next one when records wait; returns whether anything
    /// changed. Called after every [`App::poll`].
    pub fn judge_tick(&mut self) -> bool {
        let mut changed = false;
        if let Some(job) = self.judge.job {
            if let Some(j) = self.jobs.running.iter().find(|j| j.id == job) {
                if j.cancel.load(Ordering::Relaxed) && !self.judge.stopping {
                    // Stopped: no automatic rescoring until the user starts the judge again.
                    self.judge.stopping = true;
                    self.judge.active = false;
                    self.judge.pending.clear();
                }
                return false;
            }
            self.judge.job = None;
            self.judge.in_flight.clear();
            let ok = self.judge.finished.take().is_some_and(|s| !s.cancelled);
            let seen = std::mem::take(&mut self.judge.stopping);
            if !ok && !seen {
                // Failed (or stopped unseen): the same.
                self.judge.active = false;
                self.judge.pending.clear();
            }
            if self.wants_refresh() {
                self.refresh_view();
            }
            changed = true;
        }
        let waiting_flags = self.config.front.options.flags && !self.signals.flags_ready;
        if self.judge.pending.is_empty() || waiting_flags {
            return changed;
        }
        self.spawn_judge();
        true
    }

    fn spawn_judge(&mut self) {
        // The records on screen go first, in a job of their own; the rest wait for the next one.
        let first: HashSet<u32> =
            std::mem::take(&mut self.judge.first).into_iter().filter(|id| self.judge.pending.remove(id)).collect();
        let pending = if first.is_empty() { std::mem::take(&mut self.judge.pending) } else { first };
        let cache_only = self.judge.cache_only;
        if self.judge.pending.is_empty() {
            self.judge.cache_only = false;
        }
        let ds = self.session.dataset();
        let mut batch = Batch::default();
        let mut add = |p: usize| {
            let start = batch.raws.len();
            batch.raws.extend_from_slice(ds.raw(p));
            batch.spans.push((start, batch.raws.len()));
            batch.ids.push(ds.entry(p).expect("in range").id);
        };
        if pending.len() <= 16 {
            let mut positions: Vec<usize> = pending.iter().filter_map(|&id| ds.position(id)).collect();
            positions.sort_unstable();
            positions.into_iter().filter(|&p| !ds.entry(p).expect("in range").malformed).for_each(&mut add);
        } else {
            let entries = ds.entries();
            (0..entries.len()).filter(|&p| !entries[p].malformed && pending.contains(&entries[p].id)).for_each(add);
        }
        if batch.ids.is_empty() {
            return;
        }
        let heuristics =
            batch.ids.iter().filter_map(|id| self.signals.flags.get(id).map(|f| (*id, f.clone()))).collect();
        self.judge.in_flight = batch.ids.iter().copied().collect();
        let n = batch.ids.len();
        let req = Request {
            format: ds.format(),
            batch,
            heuristics,
            cfg: self.config.judge.clone(),
            model_dir: self.judge.model_dir.clone(),
            cache_dir: self.judge.cache_dir.clone(),
            engine: self.judge.engine.clone(),
            cache_only,
        };
        self.jobs.spawn("judge", n, move |ctx| run(ctx, req));
        self.judge.job = self.jobs.running.last().map(|j| j.id);
        self.judge.job_cache_only = cache_only;
        self.judge.finished = None;
    }

    /// Takes in a scoring job's report; `since`: the edit clock when the job started.
    pub fn absorb_judge(&mut self, since: u64, msg: JudgeMsg) {
        match msg {
            JudgeMsg::Done(s) => {
                self.judge.finished = Some(s);
                self.judge.last = Some(s);
                if self.judge.job_cache_only {
                    super::score_resume::done(self, s);
                } else if s.records > 1 || s.cancelled {
                    let what = if s.cancelled { "judge stopped after" } else { "judge scored" };
                    let msg = format!("{what} {} records ({} from cache)", s.scored + s.cached, s.cached);
                    self.message = Some((msg, false));
                }
            }
            JudgeMsg::Results(v) => {
                for j in v {
                    self.store_judged(since, j);
                }
                if self.wants_refresh() && self.judge.refreshed.elapsed() >= REFRESH {
                    self.refresh_view();
                    self.judge.refreshed = Instant::now();
                }
            }
        }
    }

    fn store_judged(&mut self, since: u64, j: Judged) {
        // Changed since the job read it: keep the result only if the text is the same again.
        if self.signals.is_stale(j.id, since) && self.text_hash(j.id) != Some(j.hash) {
            return;
        }
        self.judge.in_flight.remove(&j.id);
        self.judge.scored.insert(j.id, j.hash);
        let Some(s) = j.scores else {
            self.signals.drop_judged(j.id);
            self.judge.surprising.remove(&j.id);
            self.judge.notes.remove(&j.id);
            return;
        };
        for (signal, v) in s.values {
            self.signals.numeric.entry(signal).or_default().insert(j.id, v);
        }
        if s.flags.is_empty() {
            self.signals.model_flags.remove(&j.id);
        } else {
            self.signals.model_flags.insert(j.id, s.flags);
        }
        self.judge.surprising.insert(j.id, s.surprising);
        if s.notes.is_empty() {
            self.judge.notes.remove(&j.id);
        } else {
            self.judge.notes.insert(j.id, s.notes);
        }
    }

    /// The content hash of a record's current text, as the judge files it.
    fn text_hash(&self, id: u32) -> Option<u64> {
        let ds = self.session.dataset();
        Some(record_hash(&ds.record(ds.position(id)?)?))
    }

    /// Whether streamed scores can change what the list shows or its order.
    fn wants_refresh(&self) -> bool {
        self.search.matched.is_none() && (!self.filter.is_empty() || self.sort.key.is_some_and(|k| k != Signal::Len))
    }
}

/// The scoring job: loads the engine once (kept for later runs), decodes the records, scores them
/// with the cache and streams the assessments.
fn run(ctx: &JobCtx, req: Request) -> Result<(), String> {
    let engine = {
        let mut slot = req.engine.lock().map_err(|_| "the judge failed earlier".to_string())?;
        match slot.as_ref() {
            Some(e) => e.clone(),
            None => {
                ctx.phase("loading model");
                let e = judge::load_engine(
                    req.model_dir.as_deref(),
                    crate::prompt::DEFAULT_TEMPLATE,
                    judge::EngineOptions::default(),
                )
                .map_err(|e| format!("cannot load the judge model: {e:#}"))?;
                slot.insert(Arc::new(e)).clone()
            }
        }
    };
    ctx.phase("judge");
    background_pool().install(|| score(ctx, &engine, &req))
}

fn score(ctx: &JobCtx, engine: &Engine, req: &Request) -> Result<(), String> {
    use rayon::prelude::*;
    let b = &req.batch;
    let records: Vec<Record> =
        b.spans.par_iter().map(|&(s, e)| crate::dataset::format::decode(req.format, &b.raws[s..e]).record).collect();
    // A conversation is scored turn by turn; its record is assessed once every turn is in.
    let judgeables: Vec<Judgeable> = records.par_iter().map(judge::judgeable).collect();
    if ctx.cancelled() {
        return Ok(());
    }
    let (items, ranges) = judge::turns::items(&judgeables);
    let owner: Vec<usize> = ranges.iter().enumerate().flat_map(|(k, r)| r.clone().map(move |_| k)).collect();
    let mut got: Vec<Vec<Option<ModelSignals>>> = ranges.iter().map(|r| vec![None; r.len()]).collect();
    let mut left: Vec<usize> = ranges.iter().map(|r| r.len()).collect();
    let mut cache = match &req.cache_dir {
        Some(d) => ScoreCache::open(d, &engine.cache_key()),
        None => ScoreCache::disabled("no cache directory"),
    };
    let mut buf = Vec::new();
    let mut flushed = Instant::now();
    let flush = |buf: &mut Vec<Judged>| {
        if !buf.is_empty() {
            ctx.output(JobOutput::Judge(JudgeMsg::Results(std::mem::take(buf))));
        }
    };
    let heuristic = |id: u32| req.heuristics.get(&id).map_or(&[][..], Vec::as_slice);
    // Records with nothing to score (a conversation of tool calls only) are assessed now.
    for k in (0..records.len()).filter(|&k| ranges[k].is_empty()) {
        buf.push(judged(b.ids[k], &records[k], &judgeables[k], &[], heuristic(b.ids[k]), &req.cfg));
    }
    if req.cache_only {
        // Reopening: only records whose every turn is in the cache come back; nothing is scored.
        let mut cached = 0;
        for k in (0..records.len()).filter(|&k| !ranges[k].is_empty()) {
            let got: Option<Vec<Option<ModelSignals>>> = items[ranges[k].clone()]
                .iter()
                .map(|it| {
                    if it.text.output.trim().is_empty() {
                        Some(None)
                    } else {
                        cache.get(it.hash()).map(|s| Some(s.clone()))
                    }
                })
                .collect();
            if let Some(m) = got {
                buf.push(judged(b.ids[k], &records[k], &judgeables[k], &m, heuristic(b.ids[k]), &req.cfg));
                cached += 1;
            }
        }
        flush(&mut buf);
        let stats = RunStats { records: b.ids.len(), scored: 0, cached, cancelled: false };
        ctx.output(JobOutput::Judge(JudgeMsg::Done(stats)));
        return Ok(());
    }
    let outcome = engine
        .score_items(&items, &mut cache, &ctx.cancel_flag(), &mut |ev| match ev {
            ScoreEvent::Scored { position, signals, .. } => {
                let k = owner[position];
                got[k][position - ranges[k].start] = signals;
                left[k] -= 1;
                if left[k] == 0 {
                    buf.push(judged(b.ids[k], &records[k], &judgeables[k], &got[k], heuristic(b.ids[k]), &req.cfg));
                }
                if flushed.elapsed() >= FLUSH {
                    flush(&mut buf);
                    flushed = Instant::now();
                }
            }
            ScoreEvent::Progress { done, total, records_per_s, eta_s } => {
                flush(&mut buf);
                ctx.progress_rate(done, total, records_per_s, eta_s);
            }
            ScoreEvent::Done { .. } | ScoreEvent::Failed(_) => {}
        })
        .map_err(|e| format!("judge: {e:#}"))?;
    flush(&mut buf);
    let stats =
        RunStats { records: b.ids.len(), scored: outcome.scored, cached: outcome.cached, cancelled: outcome.cancelled };
    ctx.output(JobOutput::Judge(JudgeMsg::Done(stats)));
    Ok(())
}

/// The hash of the record text the judge's scores are for: its instruction, every other turn and
/// its response, as [`super::app::search_fields`] reads them (an edit to an earlier turn counts).
fn record_hash(r: &Record) -> u64 {
    judge::content_hash(&r.instruction, &r.input_and_context(), &r.output)
}

/// The assessment of one record, as `sift score` makes it: heuristic flags in, model flags out.
fn judged(
    id: u32,
    r: &Record,
    j: &Judgeable,
    m: &[Option<ModelSignals>],
    heuristic: &[Flag],
    cfg: &JudgeConfig,
) -> Judged {
    let hash = record_hash(r);
    let refs: Vec<Option<&ModelSignals>> = m.iter().map(Option::as_ref).collect();
    let mut a = judge::assess_record(j, &refs, heuristic, cfg);
    // The surprising tokens mark the response the detail pane shows: a single exchange's.
    let surprising = match a.turn {
        None => m.first().cloned().flatten().map(|m| m.surprising).unwrap_or_default(),
        Some(_) => Vec::new(),
    };
    let mut notes: Vec<String> = a.signals.as_ref().and_then(|s| s.uncovered.clone()).into_iter().collect();
    if let (Some(t), Some(_)) = (a.turn, &a.signals) {
        notes.push(format!("scores are turn {t}'s, the worst of the conversation"));
    }
    notes.append(&mut a.notes);
    let scores = a.signals.take().map(|s| Scores {
        values: Signal::judged().filter_map(|k| Some((k, k.read(&s)?))).collect(),
        // Heuristic flags come first; the app has those already.
        flags: a.flags.split_off(heuristic.len().min(a.flags.len())),
        surprising,
        notes: notes.clone(),
    });
    // A record with no scored turn still shows its tool-call flags and notes.
    let scores = scores.or_else(|| {
        let flags = a.flags.split_off(heuristic.len().min(a.flags.len()));
        (!flags.is_empty() || !notes.is_empty()).then(|| Scores {
            values: Vec::new(),
            flags,
            surprising: Vec::new(),
            notes,
        })
    });
    Judged { id, hash, scores }
}

/// Handles the judge's key commands.
pub fn command(app: &mut App, cmd: super::keymap::Command) {
    use super::keymap::Command;
    match cmd {
        Command::Score => app.start_scoring(),
        Command::Histogram => app.histogram.shown = !app.histogram.shown,
        Command::HistogramNext => {
            let present = app.signals.present();
            let cur = super::histogram::signal(app);
            let i = present.iter().position(|n| Some(*n) == cur).map_or(0, |i| i + 1);
            app.histogram.signal = present.get(i % present.len().max(1)).copied();
            app.histogram.shown = true;
        }
        _ => {}
    }
}
