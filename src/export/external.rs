//! Training with an external trainer (TRL, axolotl, LLaMA-Factory): export the selection as a run
//! folder, start its command (a local child in its own process group, or a `submit`ted job), and watch
//! the trainer's progress files, sending [`TrainEvent`]s through a channel.
//!
//! Progress comes from the files the trainers write: HF `trainer_state.json` (in the output folder and
//! its `checkpoint-*` folders: `log_history` entries `{loss, grad_norm, learning_rate, epoch, step}`,
//! eval entries `{eval_loss, ...}`, `max_steps`) and LLaMA-Factory's `trainer_log.jsonl` (`current_steps,
//! total_steps, loss, eval_loss, lr, epoch, ...`). Missing keys are tolerated.
//!
//! Config (`[train.external]` in sift's TOML config):
//! ```toml
//! [train.external]
//! backend = "trl"                      # trl | axolotl | llamafactory
//! base_model = "Qwen/Qwen2.5-0.5B-Instruct"
//! out_dir = "runs"                     # each run gets a folder in here
//! command = "./launch.sh multi-gpu"    # default: ./launch.sh single (run in the run folder)
//! # submit = "sbatch --nodes=2 --ntasks-per-node=1 --gpus-per-node=8 --wrap"   # remote: no cancel
//! ```

use super::shell::shquote;
use super::{ExportRequest, ExportSummary, ExternalHyper, Selection, Trainer, export};
use crate::session::Session;
use crate::train::runs::{RunStatus, record_end};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `[train.external]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalConfig {
    pub backend: Trainer,
    /// Shell command run in the run folder (default `./launch.sh single`).
    #[serde(default)]
    pub command: Option<String>,
    /// A submit prefix (e.g. `sbatch --wrap`): runs `SUBMIT 'COMMAND'` and watches the files; the job
    /// is remote, so sift cannot cancel it.
    #[serde(default)]
    pub submit: Option<String>,
    pub base_model: String,
    /// Folder receiving one run folder per run.
    pub out_dir: PathBuf,
    /// Template override (see `sift export --template`).
    #[serde(default)]
    pub template: Option<String>,
    #[serde(default)]
    pub params: ExternalHyper,
    /// How often the progress files are read.
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
}

fn default_poll_ms() -> u64 {
    1000
}

impl ExternalConfig {
    /// Reads `[train.external]` from a whole sift TOML config (None when the table is absent).
    pub fn from_toml(text: &str) -> Result<Option<ExternalConfig>, ExternalError> {
        #[derive(Deserialize)]
        struct File {
            train: Option<Train>,
        }
        #[derive(Deserialize)]
        struct Train {
            external: Option<ExternalConfig>,
        }
        let f: File = toml::from_str(text).map_err(|e| ExternalError::Config(e.to_string()))?;
        Ok(f.train.and_then(|t| t.external))
    }

    /// The command line run in the run folder.
    pub fn command_line(&self) -> String {
        let cmd = self.command.clone().unwrap_or_else(|| "./launch.sh single".into());
        match &self.submit {
            Some(s) => format!("{s} {}", shquote(&cmd)),
            None => cmd,
        }
    }
}

/// What the watcher reports.
#[derive(Clone, Debug, PartialEq)]
pub enum TrainEvent {
    /// The run folder is written and the command started (or submitted).
    Started { run_dir: PathBuf, log: PathBuf, pid: Option<u32>, submitted: bool },
    /// A logged step (train or eval).
    Progress(Progress),
    /// The local trainer exited successfully.
    Done,
    /// The local trainer (or the submit command) failed.
    Failed(String),
    /// Stopped by [`ExternalRun::cancel`].
    Cancelled,
}

/// One progress report. Train entries carry `loss`/`lr`; eval entries carry `eval_loss`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Progress {
    pub step: u64,
    pub total: Option<u64>,
    pub loss: Option<f64>,
    pub eval_loss: Option<f64>,
    pub lr: Option<f64>,
    pub epoch: Option<f64>,
    pub grad_norm: Option<f64>,
}

impl Progress {
    /// The entry for `step` of a Hugging Face Trainer log record, whose numbers `f` reads by key.
    fn from_log(step: u64, total: Option<u64>, f: impl Fn(&str) -> Option<f64>) -> Progress {
        Progress {
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

/// Why a run could not start or be cancelled.
#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    #[error("invalid [train.external] config: {0}")]
    Config(String),
    #[error(transparent)]
    Export(#[from] super::ExportError),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("the run was submitted to a remote scheduler; cancel it there (e.g. scancel)")]
    Remote,
    #[error("the run has already finished")]
    Finished,
}

/// A started run.
pub struct ExternalRun {
    pub run_dir: PathBuf,
    pub log: PathBuf,
    pub export: ExportSummary,
    pub submitted: bool,
    pid: Option<u32>,
    child: Arc<Mutex<Option<Child>>>,
    cancelled: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    watcher: Option<std::thread::JoinHandle<()>>,
}

impl ExternalRun {
    /// The local process id (= its process group id), when local.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Whether the local process is still running.
    pub fn is_running(&self) -> bool {
        let mut guard = self.child.lock().expect("child lock");
        match guard.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Stops a local run: SIGTERM to its whole process group, SIGKILL after `grace`.
    pub fn cancel_with(&self, grace: Duration) -> Result<(), ExternalError> {
        if self.submitted {
            return Err(ExternalError::Remote);
        }
        let pid = self.pid.ok_or(ExternalError::Finished)?;
        if !self.is_running() {
            return Err(ExternalError::Finished);
        }
        self.cancelled.store(true, Ordering::SeqCst);
        signal_group(pid, libc::SIGTERM);
        let deadline = std::time::Instant::now() + grace;
        while std::time::Instant::now() < deadline {
            if !self.is_running() {
                // The leader is gone; make sure nothing it started lingers.
                signal_group(pid, libc::SIGKILL);
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        signal_group(pid, libc::SIGKILL);
        Ok(())
    }

    /// [`ExternalRun::cancel_with`] a 5 s grace period.
    pub fn cancel(&self) -> Result<(), ExternalError> {
        self.cancel_with(Duration::from_secs(5))
    }

    /// Stops the watcher thread (the trainer keeps running).
    pub fn stop_watching(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.watcher.take() {
            let _ = h.join();
        }
    }

    /// Waits until the watcher has sent its final event.
    pub fn join(mut self) {
        if let Some(h) = self.watcher.take() {
            let _ = h.join();
        }
    }
}

impl Drop for ExternalRun {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn signal_group(pid: u32, sig: libc::c_int) {
    // SAFETY: killpg only sends a signal; the group id is our own child's (it leads its own group).
    unsafe {
        libc::killpg(pid as libc::pid_t, sig);
    }
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ExternalError {
    let context = context.into();
    move |source| ExternalError::Io { context, source }
}

/// A fresh run folder name in `out_dir`: `run-YYYYMMDD-HHMMSS[-N]`.
fn new_run_dir(out_dir: &Path) -> PathBuf {
    let stamp = super::utc_timestamp(std::time::SystemTime::now()).replace(['-', ':'], "").replace('T', "-");
    let stamp = stamp.trim_end_matches('Z');
    let mut dir = out_dir.join(format!("run-{stamp}"));
    let mut n = 2;
    while dir.exists() {
        dir = out_dir.join(format!("run-{stamp}-{n}"));
        n += 1;
    }
    dir
}

/// Exports `selection` into a new run folder under `cfg.out_dir`, starts the command there and a
/// watcher thread that sends [`TrainEvent`]s to `events` until the run ends (local) or forever
/// until [`ExternalRun::stop_watching`] / drop (submitted runs).
pub fn start(
    session: &Session,
    selection: &Selection,
    cfg: &ExternalConfig,
    events: Sender<TrainEvent>,
) -> Result<ExternalRun, ExternalError> {
    let run_dir = new_run_dir(&cfg.out_dir);
    let req = ExportRequest {
        selection: selection.clone(),
        target: cfg.backend.target(),
        out: run_dir.clone(),
        base_model: Some(cfg.base_model.clone()),
        template: cfg.template.clone(),
        params: cfg.params.clone(),
    };
    let summary = export(session, &req)?;
    let run_dir = summary.run_dir.clone().unwrap_or(run_dir);
    let log = run_dir.join(crate::train::runs::EXTERNAL_LOG);
    let out = std::fs::File::create(&log).map_err(io_err(format!("cannot create {}", log.display())))?;
    let err = out.try_clone().map_err(io_err("cannot open the log twice"))?;
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg(cfg.command_line()).current_dir(&run_dir).stdin(Stdio::null()).stdout(out).stderr(err);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let child = cmd.spawn().map_err(io_err("cannot start the trainer command"))?;
    let pid = child.id();
    let submitted = cfg.submit.is_some();
    let _ = events.send(TrainEvent::Started { run_dir: run_dir.clone(), log: log.clone(), pid: Some(pid), submitted });
    let child = Arc::new(Mutex::new(Some(child)));
    let cancelled = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (child, cancelled, stop) = (child.clone(), cancelled.clone(), stop.clone());
        let (dir, log) = (run_dir.clone(), log.clone());
        let poll = Duration::from_millis(cfg.poll_ms.max(10));
        std::thread::spawn(move || {
            let Some(end) = watch(&dir.join("output"), &log, poll, submitted, &child, &cancelled, &stop, &events)
            else {
                return;
            };
            // Recorded before it is reported, so the run list read on the report shows it.
            let _ = match &end {
                TrainEvent::Done => record_end(&dir, RunStatus::Finished, None),
                TrainEvent::Cancelled => record_end(&dir, RunStatus::Stopped, None),
                TrainEvent::Failed(e) => record_end(&dir, RunStatus::Failed, Some(e)),
                _ => Ok(()),
            };
            let _ = events.send(end);
        })
    };
    Ok(ExternalRun {
        run_dir,
        log,
        export: summary,
        submitted,
        pid: (!submitted).then_some(pid),
        child,
        cancelled,
        stop,
        watcher: Some(watcher),
    })
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
    pub fn poll(&mut self) -> Vec<Progress> {
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
                    v.push(e.path().join("trainer_state.json"));
                }
            }
        }
        v.push(self.output.join("trainer_state.json"));
        v.retain(|p| p.is_file());
        v
    }

    fn push(&mut self, p: Progress, out: &mut Vec<Progress>) {
        if self.seen.insert((p.step, p.eval_loss.is_some())) {
            out.push(p);
        }
    }

    fn read_trainer_state(&mut self, path: &Path, out: &mut Vec<Progress>) {
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
            self.push(Progress::from_log(step, self.total, f), out);
        }
    }

    fn read_console_log(&mut self, out: &mut Vec<Progress>) {
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
                self.push(Progress::from_log(step, self.total, f), out);
            }
        }
    }

    fn read_lf_log(&mut self, out: &mut Vec<Progress>) {
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
            let p = Progress { lr: f("lr").or_else(|| f("learning_rate")), ..Progress::from_log(step, self.total, f) };
            self.push(p, out);
        }
    }
}

/// Reports progress until the run ends; returns the final event (None: nobody listens, or stopped).
#[allow(clippy::too_many_arguments)]
fn watch(
    output: &Path,
    log: &Path,
    poll: Duration,
    submitted: bool,
    child: &Mutex<Option<Child>>,
    cancelled: &AtomicBool,
    stop: &AtomicBool,
    events: &Sender<TrainEvent>,
) -> Option<TrainEvent> {
    let mut reader = ProgressReader::new(output).with_log(log);
    let mut submit_done = false;
    loop {
        let exit = {
            let mut guard = child.lock().expect("child lock");
            match guard.as_mut().map(|c| c.try_wait()) {
                Some(Ok(Some(status))) => {
                    *guard = None;
                    Some(Ok(status))
                }
                Some(Err(e)) => {
                    *guard = None;
                    Some(Err(e))
                }
                _ => None,
            }
        };
        for p in reader.poll() {
            let finished = p.total.is_some_and(|t| p.step >= t && p.eval_loss.is_none());
            if events.send(TrainEvent::Progress(p)).is_err() {
                return None; // nobody listens any more
            }
            if submitted && finished {
                return Some(TrainEvent::Done);
            }
        }
        match exit {
            Some(Ok(status)) if submitted && !submit_done => {
                submit_done = true;
                if !status.success() {
                    let why = format!("the submit command failed ({status}); see {}", log.display());
                    return Some(TrainEvent::Failed(why));
                }
            }
            Some(Ok(_)) if cancelled.load(Ordering::SeqCst) => return Some(TrainEvent::Cancelled),
            Some(Ok(status)) if status.success() => return Some(TrainEvent::Done),
            Some(Ok(status)) => {
                let (log, tail) = (log.display(), tail(log, 10));
                return Some(TrainEvent::Failed(format!(
                    "the trainer exited with {status}; last lines of {log}:\n{tail}"
                )));
            }
            Some(Err(e)) => return Some(TrainEvent::Failed(format!("cannot wait for the trainer: {e}"))),
            None => {}
        }
        if stop.load(Ordering::SeqCst) {
            return None;
        }
        std::thread::sleep(poll);
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

/// The last `n` lines of a file.
fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read(path).map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_reads_from_the_train_external_table() {
        let cfg = ExternalConfig::from_toml(
            "[train]\nother = 1\n[train.external]\nbackend = \"llamafactory\"\nbase_model = \"m\"\nout_dir = \"runs\"\n\
             submit = \"sbatch --wrap\"\ncommand = \"srun ./launch.sh multi-node\"\n[train.external.params]\nepochs = 1.0\n",
        );
        // `other` is a sibling key of `external`, which the File/Train structs ignore.
        let cfg = cfg.unwrap().unwrap();
        assert_eq!(cfg.backend, Trainer::LlamaFactory);
        assert_eq!(cfg.params.epochs, 1.0);
        assert_eq!(cfg.params.max_len, ExternalHyper::default().max_len);
        assert_eq!(cfg.poll_ms, 1000);
        assert_eq!(cfg.command_line(), "sbatch --wrap 'srun ./launch.sh multi-node'");
        assert_eq!(ExternalConfig::from_toml("[ui]\nx = 1\n").unwrap(), None);
        assert!(ExternalConfig::from_toml("[train.external]\nbackend = \"nope\"\n").is_err());
        let local = ExternalConfig { submit: None, command: None, ..cfg };
        assert_eq!(local.command_line(), "./launch.sh single");
    }

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
