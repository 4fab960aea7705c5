//! The threads behind a run: `[train]` options, preparing a built-in run on a copy of the
//! session (counts and speed for the dialog's estimate, then training once confirmed), and the
//! channels of a run of the built-in or an external trainer.

use crate::session::{Selection, Session};
use crate::train::data::Example;
use crate::train::external::{ExternalEvent, ExternalRun};
pub use crate::train::options::TrainOptions;
use crate::train::run_folder;
use crate::train::runs::{PreparedRun, RunOutcome, execute_run, prepare_run};
use crate::train::{TrainData, TrainEvent, Trainer};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;
use std::time::Instant;

/// Counts and cost of a prepared built-in run.
#[derive(Clone, Debug, PartialEq)]
pub struct PrepInfo {
    /// Base model folder.
    pub base_dir: PathBuf,
    /// Examples trained on.
    pub train_examples: usize,
    /// Examples held out for evaluation.
    pub held_out: usize,
    /// Records skipped (prompt fills the context, no response, or labelled undesirable).
    pub skipped: usize,
    /// Response tokens per epoch (what the loss is on).
    pub response_tokens: usize,
    /// Optimizer steps planned.
    pub steps: usize,
    /// Real tokens processed by the training steps.
    pub train_tokens: f64,
    /// Real tokens processed by all evaluation passes.
    pub eval_tokens: f64,
}

impl PrepInfo {
    pub(super) fn of(run: &PreparedRun) -> PrepInfo {
        let c = &run.config;
        let real = |v: &[Example]| v.iter().map(|e| e.tokens.len().saturating_sub(1) as f64).sum::<f64>();
        let (batch, accum) = (c.batch_size.max(1), c.grad_accum.max(1));
        let batches = run.data.train.len().div_ceil(batch).max(1);
        let steps = c.max_steps.unwrap_or((batches * c.epochs.max(1)).div_ceil(accum)).max(1);
        let periodic = (steps - 1).checked_div(c.eval_every).unwrap_or(0);
        let passes = if run.data.eval.is_empty() { 0 } else { 3 + periodic };
        PrepInfo {
            base_dir: run.base_dir.clone(),
            train_examples: run.data.train.len(),
            held_out: run.data.eval.len(),
            skipped: run.skipped_too_long + run.skipped_empty + run.skipped_undesirable,
            response_tokens: run.data.train.iter().map(Example::n_trained).sum(),
            steps,
            train_tokens: real(&run.data.train) * (steps * accum) as f64 / batches as f64,
            eval_tokens: real(&run.data.eval) * passes as f64,
        }
    }

    /// Seconds at `tokens_per_s` training speed (an evaluation token costs about a third of a
    /// training token: forward only).
    pub fn estimate_s(&self, tokens_per_s: f64) -> f64 {
        (self.train_tokens + self.eval_tokens / 3.0) / tokens_per_s.max(1e-9)
    }
}

/// Where the speed of the time estimate comes from.
#[derive(Clone, Debug, PartialEq)]
pub enum Speed {
    /// `[train] tokens_per_s`.
    Configured(f64),
    /// The median step of the newest run of the same base model (its folder name).
    PastRun(f64, String),
    /// Timing one training step now.
    Measuring,
    /// One step timed now.
    Measured(f64),
    /// No estimate (why).
    Unknown(String),
}

impl Speed {
    /// Real tokens per second, when known.
    pub fn tokens_per_s(&self) -> Option<f64> {
        match self {
            Speed::Configured(x) | Speed::PastRun(x, _) | Speed::Measured(x) => Some(*x),
            _ => None,
        }
    }
}

/// The built-in preparation as the dialog knows it.
#[derive(Clone, Debug, PartialEq)]
pub enum Prep {
    /// Splitting and tokenizing.
    Pending,
    /// Ready to train.
    Ready(PrepInfo),
    /// Cannot train.
    Failed(String),
}

/// A report of a run's thread: preparation done, a measured speed, failure, the end.
pub enum RunMsg {
    Ready(PrepInfo, Option<(f64, String)>),
    Speed(Option<f64>),
    Failed(String),
    Finished(Result<RunOutcome, String>),
}

/// The thread of a built-in run and its channels.
pub(super) struct BuiltInJob {
    pub out_dir: PathBuf,
    pub msgs: Receiver<RunMsg>,
    pub events: Receiver<TrainEvent>,
    pub decide: Sender<bool>,
    pub calibration: Arc<AtomicBool>,
    pub cancel: Arc<AtomicBool>,
    pub thread: JoinHandle<()>,
}

pub(super) struct ExternalJob {
    pub started: Receiver<Result<ExternalRun, String>>,
    pub run: Option<Arc<ExternalRun>>,
    pub events: Receiver<ExternalEvent>,
    pub since: Instant,
    pub cancelled: Option<Receiver<Result<(), String>>>,
}

pub(super) enum Job {
    BuiltIn(BuiltInJob),
    External(ExternalJob),
}

/// Tells a dialog's preparation thread not to train (it removes its folder); returns the thread.
pub(super) fn abandon(job: Option<BuiltInJob>) -> Option<JoinHandle<()>> {
    let j = job?;
    j.calibration.store(true, Ordering::Relaxed);
    let _ = j.decide.send(false);
    Some(j.thread)
}

/// `run-YYYYMMDD-HHMMSS[-N]` in `dir`, not existing yet.
fn new_run_dir(dir: &Path) -> PathBuf {
    let (y, mo, d, h, mi, s) = crate::utc::parts(crate::utc::unix(std::time::SystemTime::now()));
    let stamp = format!("run-{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}");
    let mut out = dir.join(&stamp);
    let mut n = 2;
    while out.exists() {
        out = dir.join(format!("{stamp}-{n}"));
        n += 1;
    }
    out
}

/// Starts preparing a built-in run of `selection` on a copy of the session.
pub(super) fn start_prep(
    options: &TrainOptions,
    session: &Session,
    selection: &Selection,
) -> Result<BuiltInJob, String> {
    let runs_dir = options.runs_dir()?;
    let out_dir = new_run_dir(&runs_dir);
    let settings = options.settings(selection.clone(), out_dir.clone());
    let measure = options.tokens_per_s.is_none();
    let copy = session.read_only_copy();
    let (msg_tx, msgs) = channel();
    let (ev_tx, events) = channel();
    let (decide, decide_rx) = channel();
    let calibration = Arc::new(AtomicBool::new(false));
    let cancel = Arc::new(AtomicBool::new(false));
    let (cal, can) = (calibration.clone(), cancel.clone());
    let thread = std::thread::Builder::new()
        .name("sift-train".into())
        .spawn(move || {
            let prepared = prepare_run(&copy, &settings);
            drop(copy);
            let run = match prepared {
                Ok(r) => r,
                Err(e) => {
                    if settings.out_dir.exists() {
                        let _ = std::fs::remove_dir_all(&settings.out_dir);
                    }
                    let _ = msg_tx.send(RunMsg::Failed(format!("{e:#}")));
                    return;
                }
            };
            let out = settings.out_dir;
            let past = measure.then(|| past_speed(&runs_dir, &out)).flatten();
            let _ = msg_tx.send(RunMsg::Ready(PrepInfo::of(&run), past.clone()));
            let mut decision = decide_rx.try_recv();
            if measure && past.is_none() && decision == Err(TryRecvError::Empty) {
                let _ = msg_tx.send(RunMsg::Speed(time_one_step(&run, &cal)));
                decision = decide_rx.try_recv();
            }
            let go = match decision {
                Ok(go) => go,
                Err(TryRecvError::Empty) => decide_rx.recv().unwrap_or(false),
                Err(TryRecvError::Disconnected) => false,
            };
            if !go {
                let _ = std::fs::remove_dir_all(&out);
                return;
            }
            let outcome = execute_run(run, ev_tx, can).map_err(|e| format!("{e:#}"));
            let _ = msg_tx.send(RunMsg::Finished(outcome));
        })
        .map_err(|e| format!("cannot start the training thread: {e}"))?;
    Ok(BuiltInJob { out_dir, msgs, events, decide, calibration, cancel, thread })
}

/// The speed of past runs of the base model the new run in `out` records.
fn past_speed(runs_dir: &Path, out: &Path) -> Option<(f64, String)> {
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join(run_folder::RUN_CONFIG)).ok()?).ok()?;
    run_folder::measured_tokens_per_s(runs_dir, cfg["base_model"]["fingerprint"].as_str()?)
}

/// Real tokens/s of one training step on the run's first examples (in a scratch folder).
fn time_one_step(run: &PreparedRun, cancel: &AtomicBool) -> Option<f64> {
    let mut cfg = run.config.clone();
    cfg.out_dir = run.config.out_dir.join(".speed-check");
    (cfg.max_steps, cfg.resume, cfg.eval_every, cfg.save_every) = (Some(1), false, 0, 0);
    let n = cfg.batch_size.max(1) * cfg.grad_accum.max(1);
    let data = TrainData { train: run.data.train.iter().take(n).cloned().collect(), eval: Vec::new() };
    let dir = cfg.out_dir.clone();
    let step = Trainer::new(cfg, data).and_then(|mut t| t.step(cancel));
    let _ = std::fs::remove_dir_all(dir);
    step.ok().flatten().map(|m| m.tokens_per_s).filter(|x| x.is_finite() && *x > 0.0)
}
