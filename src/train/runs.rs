//! Runs of sift's own trainer: prepare a run from a session and a selection (split, examples, the
//! exact data and settings written into its [`super::run_folder`]), then execute it (base-model eval,
//! training, final eval, generalisation report).

use super::checkpoint::write_atomic;
use super::data::{BuiltExamples, Example, SftTokenizer, build_examples};
use super::run_folder::{CHECKPOINT_DIR, EVAL_DATA, GENERALISATION, RUN_CONFIG, TRAIN_DATA};
use super::split::{GeneralisationReport, HeldOut, TaskSplit, split_by_task};
use super::trainer::{
    InitialEval, ModelSource, TrainConfig, TrainData, TrainEvent, TrainSummary, evaluate, run_training_with,
};
use crate::model::LocalModel;
use crate::model::load::fingerprint_dir;
use crate::session::Selection;
use crate::session::Session;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;

/// The hyper-parameters of a fine-tuning run: the `sift train` flags, the TUI's `[train]` keys,
/// and part of [`RunSettings`]. The defaults are the flags' defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrainHyper {
    /// Passes over the data.
    pub epochs: usize,
    /// Optimizer steps (overrides epochs).
    pub max_steps: Option<usize>,
    /// Peak learning rate.
    pub lr: f64,
    /// Examples per micro-batch.
    pub batch: usize,
    /// Micro-batches per optimizer step.
    pub accum: usize,
    /// Token limit per example (capped by the model context).
    pub max_len: usize,
    /// Evaluate every N steps (0: at the end only).
    pub eval_every: usize,
    /// Fraction of records in each held-out set (intra- and inter-task).
    pub eval_frac: f64,
    /// Seed of the split and data order.
    pub seed: u64,
}

impl Default for TrainHyper {
    fn default() -> Self {
        TrainHyper {
            epochs: 3,
            max_steps: None,
            lr: 1e-4,
            batch: 8,
            accum: 1,
            max_len: 512,
            eval_every: 50,
            eval_frac: 0.05,
            seed: 42,
        }
    }
}

/// Settings of a fine-tuning run (the CLI flags; the TUI fills the same).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// Records to train on.
    pub selection: Selection,
    /// Base model directory (None: the default model).
    pub base: Option<PathBuf>,
    /// Run directory.
    pub out_dir: PathBuf,
    /// Epochs, learning rate, batch and the rest.
    #[serde(flatten)]
    pub hyper: TrainHyper,
    /// Continue the run in `out_dir`.
    pub resume: bool,
}

impl RunSettings {
    /// Defaults for a run of `selection` into `out_dir`.
    pub fn new(selection: Selection, out_dir: PathBuf) -> RunSettings {
        RunSettings { selection, base: None, out_dir, hyper: TrainHyper::default(), resume: false }
    }
}

/// A run ready to execute: no reference to the session, so it can move to a worker thread.
#[derive(Debug, Clone)]
pub struct PreparedRun {
    /// Trainer configuration.
    pub config: TrainConfig,
    /// Training and periodic-eval examples.
    pub data: TrainData,
    /// Held-out examples of seen tasks.
    pub intra: Vec<Example>,
    /// Examples of unseen tasks.
    pub inter: Vec<Example>,
    /// Base model directory.
    pub base_dir: PathBuf,
    /// Split and skip counts (also in run_config.json).
    pub split: TaskSplit,
    /// Records skipped because their prompt fills the context.
    pub skipped_too_long: usize,
    /// Records skipped for having no response.
    pub skipped_empty: usize,
    /// Records skipped for being labelled undesirable (KTO `label: false`).
    pub skipped_undesirable: usize,
}

/// Outcome of [`execute_run`].
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// None when cancelled.
    pub summary: Option<TrainSummary>,
    /// Held-out losses before and after.
    pub report: GeneralisationReport,
}

/// A record's bytes as one JSON line (whitespace outside strings removed; content and key order kept).
pub fn compact_json(raw: &[u8]) -> Vec<u8> {
    let (mut out, mut in_str, mut esc) = (Vec::with_capacity(raw.len()), false, false);
    for &b in raw {
        if in_str {
            out.push(b);
            if esc {
                esc = false;
            } else if b == b'\\' {
                esc = true;
            } else if b == b'"' {
                in_str = false;
            }
        } else if !b.is_ascii_whitespace() {
            in_str = b == b'"';
            out.push(b);
        }
    }
    out
}

fn jsonl(session: &Session, positions: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    for &p in positions {
        out.extend(compact_json(session.dataset().raw(p)));
        out.push(b'\n');
    }
    out
}

fn merge(a: BuiltExamples, b: &mut BuiltExamples) -> Vec<Example> {
    b.skipped_too_long += a.skipped_too_long;
    b.skipped_empty += a.skipped_empty;
    b.skipped_undesirable += a.skipped_undesirable;
    a.examples
}

/// Splits the selection, builds examples, and writes [`TRAIN_DATA`], [`EVAL_DATA`] and
/// [`RUN_CONFIG`] into the run directory. Records labelled undesirable (KTO `label: false`) are
/// left out before the split (neither trained on nor held out) and counted.
pub fn prepare_run(session: &Session, s: &RunSettings) -> Result<PreparedRun> {
    let base_dir = match &s.base {
        Some(d) => d.clone(),
        None => crate::paths::default_model_dir()?,
    };
    let h = &s.hyper;
    let model_cfg = crate::model::ModelConfig::from_file(&base_dir.join("config.json"))?;
    let tok = SftTokenizer::from_model_dir(&base_dir)?;
    let max_len = h.max_len.min(model_cfg.max_position_embeddings);
    let selected = s.selection.positions(session);
    if selected.is_empty() {
        bail!("the selection `{}` holds no records", s.selection);
    }
    let ds = session.dataset();
    let (undesirable, positions): (Vec<usize>, Vec<usize>) =
        selected.iter().partition(|&&p| ds.record(p).is_some_and(|r| r.is_undesirable()));
    let split = split_by_task(session, &positions, h.eval_frac, h.seed);
    let mut skips = BuiltExamples { skipped_undesirable: undesirable.len(), ..BuiltExamples::default() };
    let train = merge(build_examples(session, &split.train, &tok, max_len)?, &mut skips);
    let intra = merge(build_examples(session, &split.intra, &tok, max_len)?, &mut skips);
    let inter = merge(build_examples(session, &split.inter, &tok, max_len)?, &mut skips);
    if train.is_empty() {
        bail!(
            "no usable training examples ({} too long for {max_len} tokens, {} without a response, {} labelled undesirable)",
            skips.skipped_too_long,
            skips.skipped_empty,
            skips.skipped_undesirable,
        );
    }
    std::fs::create_dir_all(&s.out_dir).with_context(|| format!("creating {}", s.out_dir.display()))?;
    if !s.resume && s.out_dir.join(CHECKPOINT_DIR).exists() {
        bail!("{} already holds a run; pass --resume to continue it or choose another --out", s.out_dir.display());
    }
    write_atomic(&s.out_dir.join(TRAIN_DATA), &jsonl(session, &split.train))?;
    let held: Vec<usize> = split.intra.iter().chain(&split.inter).copied().collect();
    write_atomic(&s.out_dir.join(EVAL_DATA), &jsonl(session, &held))?;
    let mut config = TrainConfig::new(ModelSource::Pretrained(base_dir.clone()), s.out_dir.clone());
    config.epochs = h.epochs;
    config.max_steps = h.max_steps;
    config.lr = h.lr;
    config.batch_size = h.batch.max(1);
    config.grad_accum = h.accum.max(1);
    config.eval_every = h.eval_every;
    config.save_every = h.eval_every.max(50);
    config.seed = h.seed;
    config.resume = s.resume;
    let created = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let run_config = json!({
        "sift_version": env!("CARGO_PKG_VERSION"),
        "created_unix": created,
        "dataset": {"path": session.dataset().path(), "format": session.dataset().format().name(), "records": session.dataset().len()},
        "selection": s.selection.to_string(),
        "selected_records": selected.len(),
        "base_model": {"dir": base_dir, "fingerprint": fingerprint_dir(&base_dir)?},
        "template": crate::prompt::SFT_LAYOUT,
        "hyper_parameters": {
            "epochs": h.epochs, "max_steps": h.max_steps, "learning_rate": h.lr, "lr_schedule": "linear warmup + cosine",
            "warmup_ratio": config.warmup_ratio, "min_lr_ratio": config.min_lr_ratio, "batch_size": config.batch_size,
            "gradient_accumulation_steps": config.grad_accum, "max_length": max_len, "max_grad_norm": config.max_grad_norm,
            "adam_beta1": config.adamw.beta1, "adam_beta2": config.adamw.beta2, "adam_epsilon": config.adamw.eps,
            "weight_decay": config.adamw.weight_decay, "weight_decay_on": "matrices only", "eval_every": h.eval_every,
            "save_every": config.save_every, "eval_frac": h.eval_frac, "loss": "response-token NLL summed over the step / response tokens in the step",
        },
        "seed": h.seed,
        "split": {"train": split.train.len(), "intra_task": split.intra.len(), "inter_task": split.inter.len(),
                  "tasks": split.tasks, "unseen_tasks": split.unseen_tasks},
        "examples": {"train": train.len(), "intra_task": intra.len(), "inter_task": inter.len(),
                     "skipped_prompt_too_long": skips.skipped_too_long, "skipped_no_response": skips.skipped_empty,
                     "skipped_undesirable": skips.skipped_undesirable},
    });
    if !(s.resume && s.out_dir.join(RUN_CONFIG).is_file()) {
        write_atomic(&s.out_dir.join(RUN_CONFIG), &serde_json::to_vec_pretty(&run_config)?)?;
    }
    let eval: Vec<Example> = intra.iter().chain(&inter).cloned().collect();
    Ok(PreparedRun {
        config,
        data: TrainData { train, eval },
        intra,
        inter,
        base_dir,
        split,
        skipped_too_long: skips.skipped_too_long,
        skipped_empty: skips.skipped_empty,
        skipped_undesirable: skips.skipped_undesirable,
    })
}

fn held_out(examples: &[Example], before: Option<f64>) -> HeldOut {
    HeldOut { examples: examples.len(), tokens: examples.iter().map(Example::n_trained).sum(), before, after: None }
}

/// Mean held-out loss of the model in `dir` on each set (`None` for an empty set).
fn eval_dir(dir: &Path, sets: [&[Example]; 2], batch: usize) -> Result<[Option<f64>; 2]> {
    if sets.iter().all(|s| s.is_empty()) {
        return Ok([None, None]);
    }
    let m = LocalModel::load(dir)?;
    let eval = |s: &[Example]| -> Result<Option<f64>> {
        Ok(if s.is_empty() { None } else { Some(evaluate(&m.decoder, s, batch)?) })
    };
    Ok([eval(sets[0])?, eval(sets[1])?])
}

/// Evaluates the base model on the held-out sets, trains, evaluates the result and writes
/// `generalisation.json`. Progress goes to `events`.
pub fn execute_run(run: PreparedRun, events: Sender<TrainEvent>, cancel: Arc<AtomicBool>) -> Result<RunOutcome> {
    let out = run.config.out_dir.clone();
    let path = out.join(GENERALISATION);
    let batch = run.config.batch_size;
    let previous: Option<GeneralisationReport> =
        std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok()).filter(|_| run.config.resume);
    let fresh = previous.is_none();
    let mut report = previous.unwrap_or_else(|| GeneralisationReport {
        tasks: run.split.tasks,
        unseen_tasks: run.split.unseen_tasks.clone(),
        train_examples: run.data.train.len(),
        intra_task: held_out(&run.intra, None),
        inter_task: held_out(&run.inter, None),
    });
    write_atomic(&path, &serde_json::to_vec_pretty(&report)?)?;
    // The base model's held-out losses ('before'), from its own copy on disk. They are also the
    // trainer's step-0 evaluation (weighted by tokens), taken after the first step so that the
    // first loss point does not wait for them.
    let mut base_eval = || -> Result<Option<f64>> {
        [report.intra_task.before, report.inter_task.before] =
            eval_dir(&run.base_dir, [&run.intra, &run.inter], batch)?;
        write_atomic(&path, &serde_json::to_vec_pretty(&report)?)?;
        let count = |g: &HeldOut| g.before.map(|l| (l * g.tokens as f64, g.tokens));
        let parts: Vec<(f64, usize)> = [&report.intra_task, &report.inter_task].into_iter().filter_map(count).collect();
        let tokens: usize = parts.iter().map(|p| p.1).sum();
        Ok((tokens > 0).then(|| parts.iter().map(|p| p.0).sum::<f64>() / tokens as f64))
    };
    // Measured once per report: a resumed run that has them already passes nothing.
    let deferred: Option<InitialEval> = if fresh { Some(&mut base_eval) } else { None };
    let summary = run_training_with(run.config, run.data, events, cancel, deferred)?;
    if let Some(s) = &summary {
        [report.intra_task.after, report.inter_task.after] = eval_dir(&s.model_dir, [&run.intra, &run.inter], batch)?;
        write_atomic(&path, &serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(RunOutcome { summary, report })
}
