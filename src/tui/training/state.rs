//! The training feature's part of the TUI state: the panel, the open question (the train dialog
//! among them), the current run, past runs and "try it" ([`Training`]), and the reports its
//! threads send ([`TrainMsg`], collected by [`drain`]). Names no `App`: the keys and reports are
//! handled in [`super`].

use super::job::{BuiltInJob, Job, Prep, RunMsg, Speed, TrainOptions, abandon};
use super::run::RunView;
use super::try_it::{self, TryState};
use crate::session::Selection;
use crate::train::run_folder::{self, RunInfo};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;

/// What the panel shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanelView {
    /// The current (or last) run.
    Run,
    /// Past runs.
    Runs,
    /// "Try it" answers.
    Try,
}

/// The train dialog.
pub struct TrainDialog {
    /// The records to train on.
    pub selection: Selection,
    /// How the dialog names them.
    pub label: String,
    /// How many they are.
    pub records: usize,
    /// Whether the external trainer is the target (only when one is configured).
    pub external: bool,
    /// The built-in preparation.
    pub prep: Prep,
    /// The speed of the estimate.
    pub speed: Speed,
    pub(super) job: Option<BuiltInJob>,
}

/// A question of the training feature (keys go to it while `Mode::Train`).
pub enum Ask {
    /// Start a run?
    Train(Box<TrainDialog>),
    /// Stop the run?
    Stop,
    /// Quit while a run is active?
    Quit,
}

/// Everything about training in the app.
pub struct Training {
    /// `[train]` settings.
    pub options: TrainOptions,
    /// The panel in place of the detail pane (None: hidden).
    pub panel: Option<PanelView>,
    /// The open question.
    pub ask: Option<Ask>,
    /// The current or last run.
    pub run: Option<RunView>,
    /// Past runs (newest first), read when the list is shown.
    pub runs: Result<Vec<RunInfo>, String>,
    /// The last "try it".
    pub try_it: TryState,
    pub(super) job: Option<Job>,
    /// Threads of cancelled dialogs still removing their folder.
    pub(super) leftovers: Vec<JoinHandle<()>>,
}

impl Training {
    /// Nothing running yet.
    pub fn new(options: TrainOptions) -> Training {
        Training {
            options,
            panel: None,
            ask: None,
            run: None,
            runs: Ok(Vec::new()),
            try_it: TryState::default(),
            job: None,
            leftovers: Vec::new(),
        }
    }

    /// Whether a run works or waits to start.
    pub fn active(&self) -> bool {
        self.run.as_ref().is_some_and(RunView::active)
    }

    /// Whether background work may report soon (the event loop then polls more often).
    pub fn busy(&self) -> bool {
        self.active() || self.try_it.busy() || matches!(&self.ask, Some(Ask::Train(d)) if d.job.is_some())
    }

    /// Re-reads the past runs.
    pub fn refresh_runs(&mut self) {
        self.runs = self.options.run_folders().and_then(|d| run_folder::list_dirs(&d).map_err(|e| format!("{e:#}")));
    }

    /// The model "try it" asks: the current run's model or checkpoint, else the newest finished run.
    pub fn trained_model(&mut self) -> Result<PathBuf, String> {
        if let Some(d) = self.run.as_ref().and_then(RunView::model_dir) {
            return Ok(d);
        }
        self.refresh_runs();
        let runs = self.runs.as_ref().map_err(Clone::clone)?;
        runs.iter().find_map(RunInfo::sift_model).ok_or_else(|| {
            let why = if self.active() { "the run has written no checkpoint so far" } else { "train one first" };
            format!("no trained model yet ({why})")
        })
    }

    /// Before the app exits: a built-in run stops after its current step and writes its
    /// checkpoint (this waits for it); an external local trainer keeps running. `say` reports.
    pub fn shutdown(&mut self, mut say: impl FnMut(&str)) {
        self.try_it.stop();
        if let Some(Ask::Train(d)) = self.ask.take() {
            self.leftovers.extend(abandon(d.job));
        }
        match self.job.take() {
            Some(Job::BuiltIn(j)) => {
                say(&format!("stopping the training run in {} (its checkpoint is kept)…", j.out_dir.display()));
                j.cancel.store(true, Ordering::Relaxed);
                j.calibration.store(true, Ordering::Relaxed);
                let _ = j.decide.send(false);
                let _ = j.thread.join();
            }
            Some(Job::External(j)) => {
                if let Some(r) = j.run.filter(|r| r.is_running()) {
                    say(&format!("the external trainer keeps running in {}", r.run_dir.display()));
                }
            }
            None => {}
        }
        for t in self.leftovers.drain(..) {
            let _ = t.join();
        }
    }
}

/// A report of a training thread, as an action for `update` ([`drain`] collects them).
pub enum TrainMsg {
    /// A piece of a "try it" answer.
    Try(try_it::Msg),
    /// The open train dialog's preparation.
    Prep(RunMsg),
    /// The built-in run's progress.
    Run(RunMsg),
    /// A built-in training event.
    Event(crate::train::TrainEvent),
    /// The external trainer started (or could not).
    ExternalStarted(Result<crate::train::external::ExternalRun, String>),
    /// An external trainer's event.
    External(crate::train::external::ExternalEvent),
    /// Stopping the external trainer failed.
    StopFailed(String),
}

/// Everything the training threads reported since the last call, in the order it happened.
pub fn drain(t: &Training) -> Vec<TrainMsg> {
    let mut out: Vec<TrainMsg> = t.try_it.drain().into_iter().map(TrainMsg::Try).collect();
    if let Some(Ask::Train(d)) = &t.ask
        && let Some(j) = &d.job
    {
        out.extend(j.msgs.try_iter().map(TrainMsg::Prep));
    }
    match &t.job {
        Some(Job::BuiltIn(j)) => {
            // The messages first: a run's events all precede its end.
            let msgs: Vec<RunMsg> = j.msgs.try_iter().collect();
            out.extend(j.events.try_iter().map(TrainMsg::Event));
            out.extend(msgs.into_iter().map(TrainMsg::Run));
        }
        Some(Job::External(j)) => {
            out.extend(j.started.try_recv().ok().map(TrainMsg::ExternalStarted));
            out.extend(j.events.try_iter().map(TrainMsg::External));
            if let Some(Ok(Err(e))) = j.cancelled.as_ref().map(Receiver::try_recv) {
                out.push(TrainMsg::StopFailed(e));
            }
        }
        None => {}
    }
    out
}
