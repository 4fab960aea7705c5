//! Run folders: prepare a run from a session and a selection (split, examples, the exact data and
//! settings on disk), execute it (base-model eval, training, final eval, generalisation report),
//! and list past runs.

use super::checkpoint::{self as ckpt, write_atomic};
use super::data::{BuiltExamples, Example, SftTokenizer, build_examples};
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
use serde_json::{Value, json};
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

fn merge(a: BuiltExamples, b: &mut (usize, usize)) -> Vec<Example> {
    b.0 += a.skipped_too_long;
    b.1 += a.skipped_empty;
    a.examples
}

/// Splits the selection, builds examples, and writes `train.jsonl`, `eval.jsonl` and
/// `run_config.json` into the run directory.
pub fn prepare_run(session: &Session, s: &RunSettings) -> Result<PreparedRun> {
    let base_dir = match &s.base {
        Some(d) => d.clone(),
        None => crate::paths::default_model_dir()?,
    };
    let h = &s.hyper;
    let model_cfg = crate::model::ModelConfig::from_file(&base_dir.join("config.json"))?;
    let tok = SftTokenizer::from_model_dir(&base_dir)?;
    let max_len = h.max_len.min(model_cfg.max_position_embeddings);
    let positions = s.selection.positions(session);
    if positions.is_empty() {
        bail!("the selection `{}` holds no records", s.selection);
    }
    let split = split_by_task(session, &positions, h.eval_frac, h.seed);
    let mut skips = (0, 0);
    let train = merge(build_examples(session, &split.train, &tok, max_len)?, &mut skips);
    let intra = merge(build_examples(session, &split.intra, &tok, max_len)?, &mut skips);
    let inter = merge(build_examples(session, &split.inter, &tok, max_len)?, &mut skips);
    if train.is_empty() {
        bail!(
            "no usable training examples ({} too long for {max_len} tokens, {} without a response)",
            skips.0,
            skips.1
        );
    }
    std::fs::create_dir_all(&s.out_dir).with_context(|| format!("creating {}", s.out_dir.display()))?;
    if !s.resume && s.out_dir.join(ckpt::CHECKPOINT_DIR).exists() {
        bail!("{} already holds a run; pass --resume to continue it or choose another --out", s.out_dir.display());
    }
    write_atomic(&s.out_dir.join("train.jsonl"), &jsonl(session, &split.train))?;
    let held: Vec<usize> = split.intra.iter().chain(&split.inter).copied().collect();
    write_atomic(&s.out_dir.join("eval.jsonl"), &jsonl(session, &held))?;
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
        "selected_records": positions.len(),
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
                     "skipped_prompt_too_long": skips.0, "skipped_no_response": skips.1},
    });
    if !(s.resume && s.out_dir.join("run_config.json").is_file()) {
        write_atomic(&s.out_dir.join("run_config.json"), &serde_json::to_vec_pretty(&run_config)?)?;
    }
    let eval: Vec<Example> = intra.iter().chain(&inter).cloned().collect();
    Ok(PreparedRun {
        config,
        data: TrainData { train, eval },
        intra,
        inter,
        base_dir,
        split,
        skipped_too_long: skips.0,
        skipped_empty: skips.1,
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
    let path = out.join("generalisation.json");
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

/// How a run ended, as far as its folder tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// The final model was written (an external trainer: it exited successfully).
    Finished,
    /// Stopped by the user.
    Stopped,
    /// The trainer failed.
    Failed,
    /// No final model and no recorded end: still running, or it ended while sift was not watching.
    Unfinished,
}

impl RunStatus {
    /// The word the run list shows.
    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Finished => "finished",
            RunStatus::Stopped => "stopped",
            RunStatus::Failed => "failed",
            RunStatus::Unfinished => "-",
        }
    }
}

/// The file in an external run's folder recording how the trainer ended (sift writes it when it sees
/// the end; a run that ends unwatched has none).
pub const STATUS_FILE: &str = "sift_status.json";

/// The log an external trainer's output goes to; a run folder with it was started, not just exported.
pub const EXTERNAL_LOG: &str = "train.log";

/// Writes [`STATUS_FILE`] into an external run's folder.
pub fn record_end(dir: &Path, status: RunStatus, message: Option<&str>) -> Result<()> {
    let ended = crate::utc::unix(std::time::SystemTime::now());
    let v = json!({"status": status, "ended_unix": ended, "message": message});
    write_atomic(&dir.join(STATUS_FILE), &serde_json::to_vec_pretty(&v)?)
}

/// The trainer name of runs of sift's own trainer.
pub const BUILT_IN: &str = "sift";

/// One past run, for the TUI's run list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInfo {
    /// Folder name.
    pub name: String,
    /// Folder path.
    pub path: PathBuf,
    /// Creation time, `YYYY-MM-DD HH:MM` UTC.
    pub date: String,
    /// The trainer: [`BUILT_IN`], or the external one (`trl`, `axolotl`, `llamafactory`).
    pub trainer: String,
    /// The selection trained on (`accepted`, `marked:12`...).
    pub selection: String,
    /// Training records.
    pub records: usize,
    /// Steps done.
    pub steps: usize,
    /// Steps planned (0: not known).
    pub max_steps: usize,
    /// Last logged training loss.
    pub final_loss: Option<f64>,
    /// Last logged eval loss.
    pub eval_loss: Option<f64>,
    /// How it ended.
    pub status: RunStatus,
}

impl RunInfo {
    /// The model folder sift can load ("try it"): that of a finished built-in run.
    pub fn sift_model(&self) -> Option<PathBuf> {
        (self.trainer == BUILT_IN && self.status == RunStatus::Finished).then(|| self.path.join(ckpt::MODEL_DIR))
    }
}

/// `YYYY-MM-DD HH:MM` (UTC) of a Unix time.
pub fn format_unix(secs: u64) -> String {
    let (y, m, d, hh, mm, _) = crate::utc::parts(secs);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}")
}

fn read_json(path: &Path) -> Option<Value> {
    std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok())
}

/// Past runs in `dir`, newest first: sub-folders with a `run_config.json` (sift's trainer) or with
/// an export manifest and a trainer log (an external trainer started by the TUI).
pub fn list(dir: &Path) -> Result<Vec<RunInfo>> {
    let mut out = Vec::new();
    let rd = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in rd.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(cfg) = read_json(&path.join("run_config.json")) {
            out.push(built_in_run(name, path, &cfg));
        } else if path.join(EXTERNAL_LOG).is_file()
            && let Some(manifest) = read_json(&path.join(crate::export::MANIFEST_FILE))
            && let Some(trainer) = manifest["trainer"].as_str()
        {
            out.push(external_run(name, path, trainer, &manifest));
        }
    }
    sort_newest_first(&mut out);
    Ok(out)
}

/// Past runs in every folder of `dirs` that exists (each folder once), newest first.
pub fn list_dirs(dirs: &[PathBuf]) -> Result<Vec<RunInfo>> {
    let mut out = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        if d.is_dir() && !dirs[..i].contains(d) {
            out.extend(list(d)?);
        }
    }
    sort_newest_first(&mut out);
    Ok(out)
}

fn sort_newest_first(runs: &mut [RunInfo]) {
    runs.sort_by(|a, b| b.date.cmp(&a.date).then(a.name.cmp(&b.name)));
}

fn built_in_run(name: String, path: PathBuf, cfg: &Value) -> RunInfo {
    let ts = read_json(&path.join("trainer_state.json")).unwrap_or_default();
    let hist = ts["log_history"].as_array().cloned().unwrap_or_default();
    let last = |k: &str| hist.iter().rev().find_map(|e| e[k].as_f64());
    let finished = path.join(ckpt::MODEL_DIR).join("model.safetensors").is_file();
    RunInfo {
        name,
        date: format_unix(cfg["created_unix"].as_u64().unwrap_or(0)),
        trainer: BUILT_IN.to_string(),
        selection: cfg["selection"].as_str().unwrap_or("?").to_string(),
        records: cfg["examples"]["train"].as_u64().unwrap_or(0) as usize,
        steps: ts["global_step"].as_u64().unwrap_or(0) as usize,
        max_steps: ts["max_steps"].as_u64().unwrap_or(0) as usize,
        final_loss: last("loss"),
        eval_loss: last("eval_loss"),
        status: if finished { RunStatus::Finished } else { RunStatus::Unfinished },
        path,
    }
}

/// An external trainer's run: counts from the export manifest, progress from the trainer's files
/// (as the TUI's watcher reads them), the end from [`STATUS_FILE`] or the final weights.
fn external_run(name: String, path: PathBuf, trainer: &str, manifest: &Value) -> RunInfo {
    use crate::export::external::ProgressReader;
    let output = path.join("output");
    let progress = ProgressReader::new(&output).with_log(&path.join(EXTERNAL_LOG)).poll();
    let last = |f: fn(&crate::export::external::Progress) -> Option<f64>| progress.iter().rev().find_map(f);
    let weights = ["model.safetensors", "adapter_model.safetensors", "pytorch_model.bin"];
    let status = match read_json(&path.join(STATUS_FILE)).map(|v| serde_json::from_value(v["status"].clone())) {
        Some(Ok(s)) => s,
        _ if weights.iter().any(|w| output.join(w).is_file()) => RunStatus::Finished,
        _ => RunStatus::Unfinished,
    };
    // `created` is `YYYY-MM-DDTHH:MM:SSZ`.
    let created = manifest["created"].as_str().unwrap_or("");
    RunInfo {
        name,
        date: created.get(..16).map_or_else(|| "?".into(), |d| d.replace('T', " ")),
        trainer: trainer.to_string(),
        selection: manifest["selection"].as_str().unwrap_or("?").to_string(),
        records: manifest["counts"]["written"].as_u64().unwrap_or(0) as usize,
        steps: progress.iter().filter(|p| p.loss.is_some()).map(|p| p.step).max().unwrap_or(0) as usize,
        max_steps: progress.iter().rev().find_map(|p| p.total).unwrap_or(0) as usize,
        final_loss: last(|p| p.loss),
        eval_loss: last(|p| p.eval_loss),
        status,
        path,
    }
}

/// Training throughput (median real tokens/s of the logged steps) of the newest run in `dir` whose
/// base model has `fingerprint`, with that run's folder name; for time estimates.
pub fn measured_tokens_per_s(dir: &Path, fingerprint: &str) -> Option<(f64, String)> {
    for run in list(dir).ok()? {
        let cfg = read_json(&run.path.join("run_config.json")).unwrap_or_default();
        if cfg["base_model"]["fingerprint"].as_str() != Some(fingerprint) {
            continue;
        }
        let text = std::fs::read_to_string(run.path.join("metrics.jsonl")).unwrap_or_default();
        let mut v: Vec<f64> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok()?["tokens_per_s"].as_f64())
            .filter(|x| x.is_finite() && *x > 0.0)
            .collect();
        if v.is_empty() {
            continue;
        }
        v.sort_by(f64::total_cmp);
        return Some((v[v.len() / 2], run.name));
    }
    None
}
