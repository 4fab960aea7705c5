//! Training with an external trainer (TRL, axolotl, LLaMA-Factory): export the selection as a run
//! folder (`export`), start its command (a local child in its own process group, or a `submit`ted
//! job), and watch the trainer's progress files ([`super::run_folder::ProgressReader`]), sending
//! [`ExternalEvent`]s through a channel. How the run ended is recorded in its folder
//! ([`super::run_folder::record_end`]).
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

use super::run_folder::{self, ProgressReader, ProgressReport, RunStatus, record_end};
use crate::export::shell::shquote;
use crate::export::{ExportRequest, ExportSummary, ExternalHyper, ExternalTrainer, export};
use crate::session::{Selection, Session};
use serde::{Deserialize, Serialize};
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
    pub backend: ExternalTrainer,
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
    /// Epochs, learning rate and the rest, written into the trainer's config (`[train.external.params]`).
    #[serde(default, rename = "params")]
    pub hyper: ExternalHyper,
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
pub enum ExternalEvent {
    /// The run folder is written and the command started (or submitted).
    Started { run_dir: PathBuf, log: PathBuf, pid: Option<u32>, submitted: bool },
    /// A logged step (train or eval).
    Progress(ProgressReport),
    /// The local trainer exited successfully.
    Done,
    /// The local trainer (or the submit command) failed.
    Failed(String),
    /// Stopped by [`ExternalRun::cancel`].
    Cancelled,
}

/// Why a run could not start or be cancelled.
#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    #[error("invalid [train.external] config: {0}")]
    Config(String),
    #[error(transparent)]
    Export(#[from] crate::export::ExportError),
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
    let stamp = crate::export::utc_timestamp(std::time::SystemTime::now()).replace(['-', ':'], "").replace('T', "-");
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
/// watcher thread that sends [`ExternalEvent`]s to `events` until the run ends (local) or forever
/// until [`ExternalRun::stop_watching`] / drop (submitted runs).
pub fn start(
    session: &Session,
    selection: &Selection,
    cfg: &ExternalConfig,
    events: Sender<ExternalEvent>,
) -> Result<ExternalRun, ExternalError> {
    let run_dir = new_run_dir(&cfg.out_dir);
    let req = ExportRequest {
        selection: selection.clone(),
        target: cfg.backend.target(),
        out: run_dir.clone(),
        base_model: Some(cfg.base_model.clone()),
        template: cfg.template.clone(),
        hyper: cfg.hyper.clone(),
    };
    let summary = export(session, &req)?;
    let run_dir = summary.run_dir.clone().unwrap_or(run_dir);
    let log = run_dir.join(run_folder::EXTERNAL_LOG);
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
    let _ =
        events.send(ExternalEvent::Started { run_dir: run_dir.clone(), log: log.clone(), pid: Some(pid), submitted });
    let child = Arc::new(Mutex::new(Some(child)));
    let cancelled = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (child, cancelled, stop) = (child.clone(), cancelled.clone(), stop.clone());
        let (dir, log) = (run_dir.clone(), log.clone());
        let poll = Duration::from_millis(cfg.poll_ms.max(10));
        std::thread::spawn(move || {
            let Some(end) =
                watch(&dir.join(crate::export::OUTPUT_DIR), &log, poll, submitted, &child, &cancelled, &stop, &events)
            else {
                return;
            };
            // Recorded before it is reported, so the run list read on the report shows it.
            let _ = match &end {
                ExternalEvent::Done => record_end(&dir, RunStatus::Finished, None),
                ExternalEvent::Cancelled => record_end(&dir, RunStatus::Stopped, None),
                ExternalEvent::Failed(e) => record_end(&dir, RunStatus::Failed, Some(e)),
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
    events: &Sender<ExternalEvent>,
) -> Option<ExternalEvent> {
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
            if events.send(ExternalEvent::Progress(p)).is_err() {
                return None; // nobody listens any more
            }
            if submitted && finished {
                return Some(ExternalEvent::Done);
            }
        }
        match exit {
            Some(Ok(status)) if submitted && !submit_done => {
                submit_done = true;
                if !status.success() {
                    let why = format!("the submit command failed ({status}); see {}", log.display());
                    return Some(ExternalEvent::Failed(why));
                }
            }
            Some(Ok(_)) if cancelled.load(Ordering::SeqCst) => return Some(ExternalEvent::Cancelled),
            Some(Ok(status)) if status.success() => return Some(ExternalEvent::Done),
            Some(Ok(status)) => {
                let (log, tail) = (log.display(), tail(log, 10));
                return Some(ExternalEvent::Failed(format!(
                    "the trainer exited with {status}; last lines of {log}:\n{tail}"
                )));
            }
            Some(Err(e)) => return Some(ExternalEvent::Failed(format!("cannot wait for the trainer: {e}"))),
            None => {}
        }
        if stop.load(Ordering::SeqCst) {
            return None;
        }
        std::thread::sleep(poll);
    }
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
        assert_eq!(cfg.backend, ExternalTrainer::LlamaFactory);
        assert_eq!(cfg.hyper.epochs, 1.0);
        assert_eq!(cfg.hyper.max_len, ExternalHyper::default().max_len);
        assert_eq!(cfg.poll_ms, 1000);
        assert_eq!(cfg.command_line(), "sbatch --wrap 'srun ./launch.sh multi-node'");
        assert_eq!(ExternalConfig::from_toml("[ui]\nx = 1\n").unwrap(), None);
        assert!(ExternalConfig::from_toml("[train.external]\nbackend = \"nope\"\n").is_err());
        let local = ExternalConfig { submit: None, command: None, ..cfg };
        assert_eq!(local.command_line(), "./launch.sh single");
    }
}
