//! The run folder, for sift's own trainer and the external ones alike: its layout (the file names
//! below), how a run ended ([`RunStatus`], [`record_end`]), what the trainer logged (the external
//! trainers' progress files, read by [`ProgressReader`]), and the list of past runs ([`list`]).
//!
//! A built-in run folder holds [`RUN_CONFIG`], [`TRAIN_DATA`], [`EVAL_DATA`], [`METRICS`],
//! [`TRAINER_STATE`], [`GENERALISATION`], [`CHECKPOINT_DIR`] and, when finished, [`MODEL_DIR`]. An
//! external run folder is an export folder (data, trainer config, `launch.sh`,
//! [`crate::export::MANIFEST_FILE`], the trainer's [`crate::export::OUTPUT_DIR`]) plus
//! [`EXTERNAL_LOG`] and, once sift saw it end, [`STATUS_FILE`].
//!
//! Progress comes from the files the trainers write: HF `trainer_state.json` (in the output folder and
//! its `checkpoint-*` folders: `log_history` entries `{loss, grad_norm, learning_rate, epoch, step}`,
//! eval entries `{eval_loss, ...}`, `max_steps`), LLaMA-Factory's `trainer_log.jsonl` (`current_steps,
//! total_steps, loss, eval_loss, lr, epoch, ...`) and the HF Trainer's console lines in the log.
//! Missing keys are tolerated.

use super::checkpoint::write_atomic;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// The run's record: sift version, dataset, selection, base model, hyper-parameters, split.
pub const RUN_CONFIG: &str = "run_config.json";
/// The records trained on, one compact JSON line each, as they were in the dataset.
pub const TRAIN_DATA: &str = "train.jsonl";
/// The held-out records (intra- then inter-task).
pub const EVAL_DATA: &str = "eval.jsonl";
/// One JSON line per logged step and evaluation.
pub const METRICS: &str = "metrics.jsonl";
/// The HF Trainer's state file (`log_history`, `global_step`, `max_steps`), in the run folder and
/// in each checkpoint.
pub const TRAINER_STATE: &str = "trainer_state.json";
/// Held-out losses before and after training.
pub const GENERALISATION: &str = "generalisation.json";
/// The rolling checkpoint folder (exact resume).
pub const CHECKPOINT_DIR: &str = "checkpoint-last";
/// The final model folder (HF format).
pub const MODEL_DIR: &str = "model";

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
        (self.trainer == BUILT_IN && self.status == RunStatus::Finished).then(|| self.path.join(MODEL_DIR))
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

/// Past runs in `dir`, newest first: sub-folders with a [`RUN_CONFIG`] (sift's trainer) or with
/// an export manifest and a trainer log (an external trainer started by the TUI).
pub fn list(dir: &Path) -> Result<Vec<RunInfo>> {
    let mut out = Vec::new();
    let rd = std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
    for entry in rd.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(cfg) = read_json(&path.join(RUN_CONFIG)) {
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
    let ts = read_json(&path.join(TRAINER_STATE)).unwrap_or_default();
    let hist = ts["log_history"].as_array().cloned().unwrap_or_default();
    let last = |k: &str| hist.iter().rev().find_map(|e| e[k].as_f64());
    let finished = path.join(MODEL_DIR).join("model.safetensors").is_file();
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
    let output = path.join(crate::export::OUTPUT_DIR);
    let progress = ProgressReader::new(&output).with_log(&path.join(EXTERNAL_LOG)).poll();
    let last = |f: fn(&ProgressReport) -> Option<f64>| progress.iter().rev().find_map(f);
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
        let cfg = read_json(&run.path.join(RUN_CONFIG)).unwrap_or_default();
        if cfg["base_model"]["fingerprint"].as_str() != Some(fingerprint) {
            continue;
        }
        let text = std::fs::read_to_string(run.path.join(METRICS)).unwrap_or_default();
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

/// One progress report. Train entries carry `loss`/`lr`; eval entries carry `eval_loss`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProgressReport {
    pub step: u64,
    pub total: Option<u64>,
    pub loss: Option<f64>,
    pub eval_loss: Option<f64>,
    pub lr: Option<f64>,
    pub epoch: Option<f64>,
    pub grad_norm: Option<f64>,
}

impl ProgressReport {
    /// The entry for `step` of a Hugging Face Trainer log record, whose numbers `f` reads by key.
    fn from_log(step: u64, total: Option<u64>, f: impl Fn(&str) -> Option<f64>) -> ProgressReport {
        ProgressReport {
            step,
            total,
            loss: f("loss"),
            eval_loss: f("eval_loss"),
            lr: f("learning_rate"),
            epoch: f("epoch"),
            grad_norm: f("grad_norm"),
        }
    }
}

/// Reads the progress files in `output` and reports entries not seen before.
pub struct ProgressReader {
    output: PathBuf,
    seen: HashSet<(u64, bool)>,
    jsonl_offset: u64,
    total: Option<u64>,
    /// The trainer's console log, for HF's per-step `{'loss': ...}` lines (trainer_state.json is only
    /// written at checkpoints).
    log: Option<PathBuf>,
    log_offset: u64,
    log_steps: u64,
}

impl ProgressReader {
    pub fn new(output: &Path) -> ProgressReader {
        ProgressReader {
            output: output.to_path_buf(),
            seen: HashSet::new(),
            jsonl_offset: 0,
            total: None,
            log: None,
            log_offset: 0,
            log_steps: 0,
        }
    }

    /// Also reads the HF Trainer's console lines (`{'loss': '2.31', ..., 'epoch': '0.5'}`) from `log`.
    /// They carry no step: each train line counts as one logging step (sift's configs log every step),
    /// and the total comes from the progress bar (`12/300 [`).
    pub fn with_log(mut self, log: &Path) -> ProgressReader {
        self.log = Some(log.to_path_buf());
        self
    }

    /// New progress entries, in step order.
    pub fn poll(&mut self) -> Vec<ProgressReport> {
        let mut new = Vec::new();
        self.read_console_log(&mut new);
        self.read_lf_log(&mut new);
        for path in self.state_files() {
            self.read_trainer_state(&path, &mut new);
        }
        new.sort_by_key(|p| (p.step, p.eval_loss.is_some()));
        new
    }

    fn state_files(&self) -> Vec<PathBuf> {
        let mut v = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&self.output) {
            for e in rd.flatten() {
                let name = e.file_name();
                if name.to_string_lossy().starts_with("checkpoint-") {
                    v.push(e.path().join(TRAINER_STATE));
                }
            }
        }
        v.push(self.output.join(TRAINER_STATE));
        v.retain(|p| p.is_file());
        v
    }

    fn push(&mut self, p: ProgressReport, out: &mut Vec<ProgressReport>) {
        if self.seen.insert((p.step, p.eval_loss.is_some())) {
            out.push(p);
        }
    }

    fn read_trainer_state(&mut self, path: &Path, out: &mut Vec<ProgressReport>) {
        // A file being rewritten may be partial: skip it this time.
        let Ok(text) = std::fs::read_to_string(path) else { return };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else { return };
        if let Some(m) = v.get("max_steps").and_then(|x| x.as_u64()).filter(|&m| m > 0) {
            self.total = Some(m);
        }
        let Some(hist) = v.get("log_history").and_then(|h| h.as_array()) else { return };
        for e in hist {
            let f = |k: &str| e.get(k).and_then(|x| x.as_f64());
            let Some(step) = e.get("step").and_then(|x| x.as_u64()) else { continue };
            let (loss, eval_loss) = (f("loss"), f("eval_loss"));
            if loss.is_none() && eval_loss.is_none() {
                continue; // the final summary entry (train_runtime, train_loss, ...)
            }
            self.push(ProgressReport::from_log(step, self.total, f), out);
        }
    }

    fn read_console_log(&mut self, out: &mut Vec<ProgressReport>) {
        let Some(path) = self.log.clone() else { return };
        let Some(buf) = read_new_lines(&path, &mut self.log_offset) else { return };
        let text = String::from_utf8_lossy(&buf);
        for chunk in text.split(['\n', '\r']) {
            if let Some(t) = progress_bar_total(chunk) {
                self.total = Some(t);
            }
            let mut rest = chunk;
            while let Some(start) = rest.find("{'") {
                let Some(len) = rest[start..].find('}') else { break };
                let dict = &rest[start..start + len + 1];
                rest = &rest[start + len + 1..];
                if dict.contains("'train_runtime'") {
                    continue;
                }
                let Ok(serde_json::Value::Object(m)) = serde_json::from_str(&dict.replace('\'', "\"")) else {
                    continue;
                };
                let f = |k: &str| match m.get(k) {
                    Some(serde_json::Value::Number(n)) => n.as_f64(),
                    Some(serde_json::Value::String(s)) => s.parse().ok(),
                    _ => None,
                };
                let (loss, eval_loss) = (f("loss"), f("eval_loss"));
                if loss.is_none() && eval_loss.is_none() {
                    continue;
                }
                let step = match f("step") {
                    Some(s) => s as u64,
                    None if loss.is_some() => {
                        self.log_steps += 1;
                        self.log_steps
                    }
                    None => self.log_steps,
                };
                self.push(ProgressReport::from_log(step, self.total, f), out);
            }
        }
    }

    fn read_lf_log(&mut self, out: &mut Vec<ProgressReport>) {
        let path = self.output.join("trainer_log.jsonl");
        let Ok(mut f) = std::fs::File::open(&path) else { return };
        let len = f.metadata().map_or(0, |m| m.len());
        if len < self.jsonl_offset {
            self.jsonl_offset = 0; // rewritten
        }
        if f.seek(SeekFrom::Start(self.jsonl_offset)).is_err() {
            return;
        }
        let mut buf = Vec::new();
        if f.read_to_end(&mut buf).is_err() {
            return;
        }
        // Only complete lines; a partial last line is read next time.
        let Some(end) = buf.iter().rposition(|&c| c == b'\n') else { return };
        self.jsonl_offset += end as u64 + 1;
        for line in buf[..=end].lines().map_while(Result::ok) {
            let Ok(e) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
            let f = |k: &str| e.get(k).and_then(|x| x.as_f64());
            let Some(step) = e.get("current_steps").and_then(|x| x.as_u64()) else { continue };
            let total = e.get("total_steps").and_then(|x| x.as_u64()).filter(|&t| t > 0);
            if total.is_some() {
                self.total = total;
            }
            // LLaMA-Factory names the learning rate `lr`.
            let p = ProgressReport {
                lr: f("lr").or_else(|| f("learning_rate")),
                ..ProgressReport::from_log(step, self.total, f)
            };
            self.push(p, out);
        }
    }
}

/// The bytes added to `path` since `offset`, up to the last line break (`\n` or `\r`); advances `offset`.
fn read_new_lines(path: &Path, offset: &mut u64) -> Option<Vec<u8>> {
    let mut f = std::fs::File::open(path).ok()?;
    let len = f.metadata().map_or(0, |m| m.len());
    if len < *offset {
        *offset = 0;
    }
    f.seek(SeekFrom::Start(*offset)).ok()?;
    let mut buf = Vec::new();
    f.read_to_end(&mut buf).ok()?;
    let end = buf.iter().rposition(|&c| c == b'\n' || c == b'\r')?;
    buf.truncate(end + 1);
    *offset += buf.len() as u64;
    Some(buf)
}

/// `M` from the last tqdm-style `N/M [` in a line.
fn progress_bar_total(line: &str) -> Option<u64> {
    let at = line.rfind(" [")?;
    let head = &line[..at];
    let slash = head.rfind('/')?;
    let total: String = head[slash + 1..].chars().take_while(char::is_ascii_digit).collect();
    let done = head[..slash].chars().next_back().is_some_and(|c| c.is_ascii_digit());
    if !done || total.len() != head.len() - slash - 1 {
        return None;
    }
    total.parse().ok().filter(|&t| t > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_tolerates_partial_files_and_reports_each_entry_once() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let mut r = ProgressReader::new(out);
        assert!(r.poll().is_empty());
        std::fs::write(out.join("trainer_state.json"), "{\"log_history\": [{\"loss\": 1").unwrap();
        assert!(r.poll().is_empty());
        std::fs::write(
            out.join("trainer_state.json"),
            r#"{"max_steps": 4, "log_history": [{"loss": 2.0, "grad_norm": 1.5, "learning_rate": 1e-5, "epoch": 0.5, "step": 2}, {"eval_loss": 1.9, "step": 2}]}"#,
        )
        .unwrap();
        let p = r.poll();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].step, p[0].total, p[0].loss, p[0].lr), (2, Some(4), Some(2.0), Some(1e-5)));
        assert_eq!(p[1].eval_loss, Some(1.9));
        assert!(r.poll().is_empty());
        std::fs::write(
            out.join("trainer_log.jsonl"),
            "{\"current_steps\": 1, \"total_steps\": 10, \"loss\": 3.0, \"lr\": 2e-5, \"epoch\": 0.1, \"percentage\": 10.0}\n{\"current_steps\": 2, \"tot",
        )
        .unwrap();
        let p = r.poll();
        assert_eq!(p.len(), 1);
        assert_eq!((p[0].step, p[0].total, p[0].lr), (1, Some(10), Some(2e-5)));
    }
}
