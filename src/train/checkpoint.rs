//! What a run writes besides the model: the resume state (optimizer moments, step, data position),
//! an HF-compatible `trainer_state.json`, and the `metrics.jsonl` progress feed.

use anyhow::{Context, Result};
use candle_core::Tensor;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// File name of the optimizer moments inside a checkpoint directory.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// File name of the resume state inside a checkpoint directory.
pub const RESUME_FILE: &str = "sift_resume.json";
/// Name of the rolling checkpoint directory inside a run directory.
pub const CHECKPOINT_DIR: &str = "checkpoint-last";
/// Name of the final model directory inside a run directory.
pub const MODEL_DIR: &str = "model";

/// Everything besides weights and moments needed to continue a run exactly where it stopped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResumeState {
    /// Optimizer steps completed.
    pub global_step: usize,
    /// Total optimizer steps of the run (fixed once known, so the LR schedule does not move).
    pub max_steps: usize,
    /// Warmup steps of the LR schedule.
    pub warmup_steps: usize,
    /// Data-order seed.
    pub seed: u64,
    /// Hash of the training examples (resuming on other data is refused).
    pub data_hash: String,
    /// Training tokens (real, non-padding) seen so far.
    pub tokens_seen: u64,
    /// Examples seen so far.
    pub samples_seen: u64,
    /// Training wall time before this checkpoint, seconds.
    pub elapsed_s: f64,
    /// Sum of the step losses so far (for the final mean train loss).
    pub loss_sum: f64,
    /// HF-style log history so far.
    pub log_history: Vec<Value>,
}

/// Serialises named tensors as safetensors bytes with `{"format": "pt"}` metadata.
pub fn safetensors_bytes(tensors: &[(String, Tensor)]) -> Result<Vec<u8>> {
    let mut sorted: Vec<(String, Tensor)> = tensors.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    Ok(safetensors::tensor::serialize(sorted, Some(metadata))?)
}

/// Reads the resume state and optimizer moments of a checkpoint directory.
pub fn load_resume(dir: &Path) -> Result<(ResumeState, HashMap<String, Tensor>)> {
    let p = dir.join(RESUME_FILE);
    let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
    let state: ResumeState = serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))?;
    let opt = candle_core::safetensors::load(dir.join(OPTIMIZER_FILE), &candle_core::Device::Cpu)
        .with_context(|| format!("reading {}", dir.join(OPTIMIZER_FILE).display()))?;
    Ok((state, opt))
}

/// HF `trainer_state.json` contents for a run at `state`.
pub fn trainer_state_json(state: &ResumeState, num_train_epochs: f64, eval_steps: usize, batch: usize) -> Value {
    let epoch = state.log_history.iter().rev().find_map(|e| e["epoch"].as_f64()).unwrap_or(0.0);
    json!({
        "best_metric": null,
        "best_model_checkpoint": null,
        "epoch": epoch,
        "eval_steps": eval_steps,
        "global_step": state.global_step,
        "is_hyper_param_search": false,
        "is_local_process_zero": true,
        "is_world_process_zero": true,
        "log_history": state.log_history,
        "logging_steps": 1,
        "max_steps": state.max_steps,
        "num_train_epochs": num_train_epochs,
        "total_flos": 0,
        "train_batch_size": batch,
    })
}

/// Writes `bytes` to `path` atomically (temp file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("{}.sift-tmp", std::process::id()));
    let res = (|| -> Result<()> {
        let mut f = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
        Ok(())
    })();
    if res.is_err() {
        std::fs::remove_file(&tmp).ok();
    }
    res
}

/// One line of `metrics.jsonl` (keys absent when unknown).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsLine {
    /// Optimizer step (1-based, as logged by HF).
    pub step: usize,
    /// Training loss of the step.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub loss: Option<f64>,
    /// Held-out loss.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub eval_loss: Option<f64>,
    /// Learning rate of the step.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lr: Option<f64>,
    /// Gradient norm before clipping.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub grad_norm: Option<f64>,
    /// Training throughput (real tokens per second).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tokens_per_s: Option<f64>,
    /// Training wall time so far.
    pub elapsed_s: f64,
    /// Estimated time left.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub remaining_s: Option<f64>,
}

/// Appends one line to a metrics feed and flushes it.
pub fn append_metrics(path: &Path, line: &MetricsLine) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(f, "{}", serde_json::to_string(line)?)?;
    Ok(())
}

/// Reads a metrics feed, skipping lines that do not parse (a torn last line after a crash).
pub fn read_metrics(path: &Path) -> Vec<MetricsLine> {
    std::fs::read_to_string(path).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Drops the lines logged after step `step` (they belong to the part of a killed run that is
/// redone on resume), so the feed continues as one curve.
pub fn truncate_metrics(path: &Path, step: usize) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let mut out = String::new();
    for l in read_metrics(path).into_iter().filter(|l| l.step <= step) {
        out.push_str(&serde_json::to_string(&l)?);
        out.push('\n');
    }
    write_atomic(path, out.as_bytes())
}
