//! What the training panel shows of one run: a state machine fed by the events of the built-in
//! trainer or of an external trainer's watcher. It reads no clock, so a view built from the same
//! events always draws the same.

use crate::train::external::ExternalEvent;
use crate::train::runs::RunOutcome;
use crate::train::split::GeneralisationReport;
use crate::train::{TrainEvent, TrainSummary};
use std::path::PathBuf;

/// Where a run is.
#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// Splitting and tokenizing the selection.
    Preparing,
    /// Scoring the base model on the held-out records.
    BaseEval,
    /// Optimizer steps (or the external trainer running).
    Training,
    /// Last evaluation, saving the model, scoring it on the held-out records.
    FinalEval,
    /// Done; the model is written.
    Finished,
    /// Stopped on request.
    Cancelled {
        /// Whether `checkpoint-last` holds the last completed step.
        checkpoint: bool,
    },
    /// Stopped on an error.
    Failed(String),
}

/// Which trainer runs the job.
#[derive(Clone, Debug, PartialEq)]
pub enum Backend {
    /// sift's own trainer in this process.
    BuiltIn,
    /// An external trainer (TRL, axolotl, LLaMA-Factory) started by its command.
    External {
        /// The trainer's name.
        name: String,
        /// Submitted to a scheduler (cannot be cancelled from here).
        submitted: bool,
    },
}

/// The live state of a run, as the panel draws it.
#[derive(Clone, Debug, PartialEq)]
pub struct RunView {
    /// The trainer.
    pub backend: Backend,
    /// The run folder.
    pub dir: PathBuf,
    /// What was trained on (`marked:3`, `accepted`).
    pub selection: String,
    /// Records selected.
    pub records: usize,
    /// Where the run is.
    pub phase: Phase,
    /// Optimizer steps done.
    pub step: usize,
    /// Steps planned (0: not known yet).
    pub total: usize,
    /// (step, training loss).
    pub loss: Vec<(f64, f64)>,
    /// (step, held-out loss).
    pub eval: Vec<(f64, f64)>,
    /// Learning rate of the last step.
    pub lr: Option<f64>,
    /// Gradient norm of the last step.
    pub grad_norm: Option<f64>,
    /// Real tokens per second of the last step.
    pub tokens_per_s: Option<f64>,
    /// Fractional epoch.
    pub epoch: Option<f64>,
    /// Training time so far (seconds).
    pub elapsed_s: Option<f64>,
    /// Estimated seconds left.
    pub remaining_s: Option<f64>,
    /// Last step saved in `checkpoint-last`.
    pub checkpoint_step: Option<usize>,
    /// Training and eval examples (from the trainer's start event).
    pub examples: Option<(usize, usize)>,
    /// The run summary once finished.
    pub summary: Option<TrainSummary>,
    /// Held-out loss before/after, when the engine wrote one.
    pub report: Option<GeneralisationReport>,
    /// The external trainer's console log.
    pub log: Option<PathBuf>,
}

impl RunView {
    /// A run just confirmed.
    pub fn new(backend: Backend, dir: PathBuf, selection: String, records: usize) -> RunView {
        RunView {
            backend,
            dir,
            selection,
            records,
            phase: Phase::Preparing,
            step: 0,
            total: 0,
            loss: Vec::new(),
            eval: Vec::new(),
            lr: None,
            grad_norm: None,
            tokens_per_s: None,
            epoch: None,
            elapsed_s: None,
            remaining_s: None,
            checkpoint_step: None,
            examples: None,
            summary: None,
            report: None,
            log: None,
        }
    }

    /// Whether the run still works (or waits to start).
    pub fn active(&self) -> bool {
        matches!(self.phase, Phase::Preparing | Phase::BaseEval | Phase::Training | Phase::FinalEval)
    }

    /// Share of the steps done (0..=1).
    pub fn fraction(&self) -> f64 {
        if self.phase == Phase::Finished {
            return 1.0;
        }
        if self.total == 0 { 0.0 } else { (self.step as f64 / self.total as f64).min(1.0) }
    }

    /// Takes in an event of the built-in trainer.
    pub fn apply(&mut self, ev: &TrainEvent) {
        match ev {
            TrainEvent::Started { total_steps, start_step, train_examples, eval_examples } => {
                self.phase = Phase::Training;
                self.total = *total_steps;
                self.step = *start_step;
                self.examples = Some((*train_examples, *eval_examples));
            }
            TrainEvent::Step(m) => {
                self.phase = if m.step >= m.total_steps { Phase::FinalEval } else { Phase::Training };
                self.step = m.step;
                self.total = m.total_steps;
                self.loss.push((m.step as f64, m.loss));
                self.lr = Some(m.lr);
                self.grad_norm = Some(m.grad_norm);
                self.tokens_per_s = Some(m.tokens_per_s);
                self.epoch = Some(m.epoch);
                self.elapsed_s = Some(m.elapsed_s);
                self.remaining_s = Some(m.remaining_s);
            }
            TrainEvent::Eval { step, eval_loss } => self.eval.push((*step as f64, *eval_loss)),
            TrainEvent::Checkpoint { step } => self.checkpoint_step = Some(*step),
            TrainEvent::Done(s) => {
                self.phase = Phase::FinalEval;
                self.remaining_s = Some(0.0);
                self.summary = Some(s.clone());
            }
            TrainEvent::Cancelled { step, checkpoint_written } => {
                if *checkpoint_written {
                    self.checkpoint_step = Some(*step);
                }
                let checkpoint = self.checkpoint_step.is_some();
                self.phase = Phase::Cancelled { checkpoint };
            }
            TrainEvent::Failed(e) => self.phase = Phase::Failed(e.clone()),
        }
    }

    /// Takes in the result of `execute_run` (after its last event).
    pub fn finish(&mut self, outcome: Result<RunOutcome, String>) {
        match outcome {
            Ok(o) => {
                self.report = Some(o.report);
                self.summary = o.summary.or(self.summary.take());
                if self.active() {
                    self.phase = match self.summary {
                        Some(_) => Phase::Finished,
                        None => Phase::Cancelled { checkpoint: self.checkpoint_step.is_some() },
                    };
                }
            }
            Err(e) if self.active() => self.phase = Phase::Failed(e),
            Err(_) => {}
        }
    }

    /// Takes in an event of an external trainer's watcher. `elapsed_s`: seconds since the start,
    /// used for the time left (the trainers' files carry no clock).
    pub fn apply_external(&mut self, ev: &ExternalEvent, elapsed_s: f64) {
        match ev {
            ExternalEvent::Started { run_dir, log, .. } => {
                self.phase = Phase::Training;
                self.dir = run_dir.clone();
                self.log = Some(log.clone());
            }
            ExternalEvent::Progress(p) => {
                self.phase = Phase::Training;
                if let Some(t) = p.total {
                    self.total = t as usize;
                }
                if let Some(l) = p.eval_loss {
                    self.eval.push((p.step as f64, l));
                }
                if let Some(l) = p.loss {
                    self.loss.push((p.step as f64, l));
                    self.step = self.step.max(p.step as usize);
                    self.lr = p.lr.or(self.lr);
                    self.grad_norm = p.grad_norm.or(self.grad_norm);
                    self.epoch = p.epoch.or(self.epoch);
                    self.elapsed_s = Some(elapsed_s);
                    self.remaining_s = (self.step > 0 && self.total >= self.step)
                        .then(|| elapsed_s / self.step as f64 * (self.total - self.step) as f64);
                }
            }
            ExternalEvent::Done => {
                self.phase = Phase::Finished;
                self.remaining_s = Some(0.0);
            }
            ExternalEvent::Failed(e) => self.phase = Phase::Failed(e.clone()),
            ExternalEvent::Cancelled => self.phase = Phase::Cancelled { checkpoint: false },
        }
    }

    /// The model a "try it" should use now: the final model, else the latest checkpoint.
    pub fn model_dir(&self) -> Option<PathBuf> {
        let has_weights = |d: &PathBuf| {
            d.join("config.json").is_file()
                && (d.join("model.safetensors").is_file() || d.join("model.safetensors.index.json").is_file())
        };
        let candidates = match &self.backend {
            Backend::BuiltIn => vec![
                self.summary.as_ref().map(|s| s.model_dir.clone()).unwrap_or_else(|| self.dir.join("model")),
                self.dir.join(crate::train::run_folder::CHECKPOINT_DIR),
            ],
            Backend::External { .. } => vec![self.dir.join("output")],
        };
        candidates.into_iter().find(has_weights)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::StepMetrics;
    use crate::train::run_folder::ProgressReport;

    fn step(step: usize, loss: f64) -> TrainEvent {
        TrainEvent::Step(StepMetrics {
            step,
            total_steps: 4,
            loss,
            lr: 1e-4,
            grad_norm: 1.0,
            trained_tokens: 10,
            tokens_per_s: 100.0,
            epoch: step as f64 / 2.0,
            elapsed_s: step as f64,
            remaining_s: (4 - step) as f64,
        })
    }

    #[test]
    fn built_in_events_drive_the_phases() {
        let mut v = RunView::new(Backend::BuiltIn, "r".into(), "accepted".into(), 5);
        assert!(v.active());
        v.apply(&TrainEvent::Started { total_steps: 4, start_step: 0, train_examples: 5, eval_examples: 0 });
        v.apply(&step(1, 2.0));
        v.apply(&TrainEvent::Eval { step: 1, eval_loss: 2.5 });
        v.apply(&TrainEvent::Checkpoint { step: 1 });
        v.apply(&step(2, 1.5));
        assert_eq!((v.phase.clone(), v.step, v.fraction()), (Phase::Training, 2, 0.5));
        assert_eq!((v.loss.len(), v.eval.len(), v.remaining_s), (2, 1, Some(2.0)));
        v.apply(&TrainEvent::Cancelled { step: 2, checkpoint_written: true });
        assert_eq!(v.phase, Phase::Cancelled { checkpoint: true });
        v.finish(Ok(RunOutcome { summary: None, report: GeneralisationReport::default() }));
        assert_eq!(v.phase, Phase::Cancelled { checkpoint: true }, "the outcome keeps the cancel");
        assert!(!v.active() && v.report.is_some());
        let mut f = RunView::new(Backend::BuiltIn, "r".into(), "accepted".into(), 5);
        f.finish(Err("boom".into()));
        assert_eq!(f.phase, Phase::Failed("boom".into()));
    }

    #[test]
    fn external_progress_estimates_time_left_from_the_step_rate() {
        let mut v =
            RunView::new(Backend::External { name: "trl".into(), submitted: false }, "x".into(), "all".into(), 2);
        let p = |step, loss, eval_loss| {
            ExternalEvent::Progress(ProgressReport { step, total: Some(10), loss, eval_loss, ..Default::default() })
        };
        v.apply_external(&p(2, Some(3.0), None), 4.0);
        v.apply_external(&p(2, None, Some(2.9)), 4.0);
        assert_eq!((v.step, v.total, v.remaining_s), (2, 10, Some(16.0)));
        assert_eq!((v.loss.len(), v.eval.len()), (1, 1));
        v.apply_external(&ExternalEvent::Cancelled, 5.0);
        assert!(!v.active());
    }
}
