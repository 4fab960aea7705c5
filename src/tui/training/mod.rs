//! Training from the TUI: the train dialog, a run of the built-in trainer (the engine of `sift
//! train`) or of an external trainer in the background, the panel's state, past runs and "try it".
//!
//! A built-in run has one thread: it prepares the run folder from a read-only copy of the session
//! (so the UI keeps the real one), reports counts and a speed for the estimate, waits for the
//! user's decision, then trains. Cancelling the dialog removes the folder it prepared.

pub mod job;
pub mod run;
pub mod state;
pub mod try_it;
pub mod view;

use super::app::{App, Mode};
use super::keymap::Command;
use crate::model::GenerateParams;
use crate::session::{Selection, Status};
use crate::train::external;
pub use job::RunMsg;
use job::{ExternalJob, Job, abandon, start_prep};
pub use job::{Prep, PrepInfo, Speed, TrainOptions};
use run::{Backend, Phase, RunView};
use state::{Ask, PanelView, TrainDialog, TrainMsg};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::channel;
use std::time::Instant;

fn say(app: &mut App, msg: impl Into<String>) {
    app.message = Some((msg.into(), false));
}

fn fail(app: &mut App, msg: impl Into<String>) {
    app.message = Some((msg.into(), true));
}

/// Takes the normal-mode commands training owns (and a quit or stop-jobs that concerns it);
/// returns whether the command was handled.
pub fn intercept(app: &mut App, cmd: Command) -> bool {
    match cmd {
        Command::Train | Command::TrainPanel | Command::TrainStop | Command::TryIt => {
            app.message = None;
            command(app, cmd);
            true
        }
        Command::Quit => ask_quit(app),
        Command::CancelJobs => {
            app.training.try_it.stop();
            false
        }
        _ => false,
    }
}

fn command(app: &mut App, cmd: Command) {
    match cmd {
        Command::Train => open_dialog(app),
        Command::TrainPanel => {
            let t = &mut app.training;
            t.panel = match t.panel {
                None => Some(PanelView::Run),
                Some(PanelView::Run) => Some(PanelView::Runs),
                Some(PanelView::Runs) => Some(PanelView::Try),
                Some(PanelView::Try) => None,
            };
            if t.panel == Some(PanelView::Runs) {
                t.refresh_runs();
            }
            app.detail_scroll = 0;
        }
        Command::TrainStop => {
            let submitted =
                matches!(&app.training.run, Some(r) if matches!(r.backend, Backend::External { submitted: true, .. }));
            if app.training.active() && submitted {
                fail(app, "the run was submitted to a scheduler: cancel it there (e.g. scancel)");
            } else if app.training.active() {
                app.training.ask = Some(Ask::Stop);
                app.mode = Mode::Train;
            } else if app.training.try_it.busy() {
                app.training.try_it.stop();
                say(app, "try-it stopped");
            } else {
                say(app, "no training run is active");
            }
        }
        Command::TryIt => try_it(app),
        _ => {}
    }
}

fn open_dialog(app: &mut App) {
    if app.training.active() {
        let (p, x) = (app.keymap.first(Command::TrainPanel), app.keymap.first(Command::TrainStop));
        return say(app, format!("a run is already active ({p} shows it, {x} stops it)"));
    }
    let marked = app.visual.is_some() || !app.selection.is_empty();
    let selection = if marked {
        Selection::marked(app.targets())
    } else {
        Selection { status: Some(Status::Accepted), ..Selection::default() }
    };
    let records = selection.positions(&app.session).len();
    if records == 0 {
        let (a, v) = (app.keymap.first(Command::Accept), app.keymap.first(Command::Visual));
        return fail(app, format!("no accepted records to train on: accept some ({a}) or mark records ({v})"));
    }
    let s = if records == 1 { "" } else { "s" };
    let label =
        if marked { format!("{records} marked record{s}") } else { format!("the {records} accepted record{s}") };
    let speed = app.training.options.tokens_per_s.map_or(Speed::Measuring, Speed::Configured);
    let external = app.training.options.external.is_some();
    let mut d = TrainDialog { selection, label, records, external, prep: Prep::Pending, speed, job: None };
    if !external {
        match start_prep(&app.training.options, &app.session, &d.selection) {
            Ok(j) => d.job = Some(j),
            Err(e) => d.prep = Prep::Failed(e),
        }
    }
    app.training.ask = Some(Ask::Train(Box::new(d)));
    app.mode = Mode::Train;
}

/// Asks first when quitting would stop a run; returns whether it asked.
fn ask_quit(app: &mut App) -> bool {
    if !app.training.active() {
        return false;
    }
    app.training.ask = Some(Ask::Quit);
    app.mode = Mode::Train;
    true
}

/// A command while a training question is open (its mode's commands in the key map).
pub fn answer(app: &mut App, cmd: Command) {
    let Some(ask) = app.training.ask.take() else { return };
    match (ask, cmd) {
        (Ask::Train(d), Command::TrainStart) => confirm(app, *d),
        (Ask::Train(mut d), Command::TrainSwitch) if app.training.options.external.is_some() => {
            d.external = !d.external;
            if !d.external && d.job.is_none() && d.prep == Prep::Pending {
                match start_prep(&app.training.options, &app.session, &d.selection) {
                    Ok(j) => d.job = Some(j),
                    Err(e) => d.prep = Prep::Failed(e),
                }
            }
            app.training.ask = Some(Ask::Train(d));
        }
        (Ask::Train(d), Command::TrainCancel) => {
            app.training.leftovers.extend(abandon(d.job));
            say(app, "training cancelled");
        }
        (Ask::Stop, Command::TrainYes) => stop_run(app),
        // A built-in run stops (checkpoint kept) in `shutdown`; an external one keeps running.
        (Ask::Quit, Command::TrainYes) if app.modified => app.mode = Mode::Dialog(super::app::Dialog::Quit),
        (Ask::Quit, Command::TrainYes) => app.quit = true,
        (Ask::Stop | Ask::Quit, Command::TrainNo) => say(app, "the run continues"),
        (ask, _) => app.training.ask = Some(ask),
    }
    if app.training.ask.is_some() {
        app.mode = Mode::Train;
    }
}

fn confirm(app: &mut App, mut d: TrainDialog) {
    if d.external {
        return start_external(app, d);
    }
    let Some(job) = d.job.take() else {
        let why = if let Prep::Failed(e) = &d.prep { e.clone() } else { "nothing prepared".into() };
        return fail(app, format!("cannot train: {why}"));
    };
    if let Prep::Failed(e) = &d.prep {
        return fail(app, format!("cannot train: {e}"));
    }
    job.calibration.store(true, Ordering::Relaxed);
    let _ = job.decide.send(true);
    let selection = d.selection.to_string();
    let mut view = RunView::new(Backend::BuiltIn, job.out_dir.clone(), selection, d.records);
    if matches!(d.prep, Prep::Ready(_)) {
        view.phase = Phase::BaseEval;
    }
    let t = &mut app.training;
    t.run = Some(view);
    t.job = Some(Job::BuiltIn(job));
    t.panel = Some(PanelView::Run);
    let (p, x) = (app.keymap.first(Command::TrainPanel), app.keymap.first(Command::TrainStop));
    say(app, format!("training on {} in the background ({p} panel, {x} stop)", d.label));
}

fn start_external(app: &mut App, mut d: TrainDialog) {
    let Some(cfg) = app.training.options.external.clone() else { return };
    app.training.leftovers.extend(abandon(d.job.take()));
    let copy = app.session.read_only_copy();
    let (ev_tx, events) = channel();
    let (st_tx, started) = channel();
    let selection = d.selection.clone();
    let c = cfg.clone();
    let spawned = std::thread::Builder::new().name("sift-external".into()).spawn(move || {
        let r = external::start(&copy, &selection, &c, ev_tx).map_err(|e| e.to_string());
        let _ = st_tx.send(r);
    });
    if let Err(e) = spawned {
        return fail(app, format!("cannot start: {e}"));
    }
    let backend = Backend::External { name: cfg.backend.name().to_string(), submitted: cfg.submit.is_some() };
    let t = &mut app.training;
    t.run = Some(RunView::new(backend, cfg.out_dir.clone(), d.selection.to_string(), d.records));
    t.job = Some(Job::External(ExternalJob { started, run: None, events, since: Instant::now(), cancelled: None }));
    t.panel = Some(PanelView::Run);
    say(app, format!("exporting {} for {} and starting `{}`", d.label, cfg.backend.name(), cfg.command_line()));
}

fn stop_run(app: &mut App) {
    match &mut app.training.job {
        Some(Job::BuiltIn(j)) => {
            j.cancel.store(true, Ordering::Relaxed);
            j.calibration.store(true, Ordering::Relaxed);
            say(app, "stopping after the current step; the checkpoint is kept");
        }
        Some(Job::External(j)) => match j.run.clone() {
            Some(run) => {
                let (tx, rx) = channel();
                std::thread::spawn(move || {
                    let _ = tx.send(run.cancel().map_err(|e| e.to_string()));
                });
                j.cancelled = Some(rx);
                say(app, "stopping the external trainer (SIGTERM, then SIGKILL after 5 s)");
            }
            None => fail(app, "the trainer is still starting; stop it again in a moment"),
        },
        None => {}
    }
}

fn try_it(app: &mut App) {
    let Some(pos) = app.current() else { return };
    let Some(rec) = app.session.dataset().record(pos) else {
        return fail(app, "this record is not valid JSON");
    };
    let trained = app.training.trained_model();
    let params = GenerateParams {
        max_new_tokens: app.training.options.try_max_tokens.max(1),
        repeat_penalty: crate::model::generate::ANSWER_REPEAT_PENALTY,
        ..Default::default()
    };
    let base = app.training.options.base.clone();
    let t = &mut app.training;
    t.try_it.start((pos, rec.instruction, rec.input, rec.output), trained, base, params);
    t.panel = Some(PanelView::Try);
    app.detail_scroll = 0;
}

/// Takes in one report of a training thread (called by `update`).
pub fn absorb(app: &mut App, msg: TrainMsg) {
    let t = &mut app.training;
    let msg = match msg {
        TrainMsg::Try(m) => return t.try_it.absorb(m),
        TrainMsg::Prep(m) => {
            if let Some(Ask::Train(d)) = &mut t.ask {
                match m {
                    RunMsg::Ready(info, past) => {
                        d.prep = Prep::Ready(info);
                        if let Some((x, name)) = past {
                            d.speed = Speed::PastRun(x, name);
                        }
                    }
                    RunMsg::Speed(x) => {
                        d.speed = x.map_or(Speed::Unknown("could not time a training step".into()), Speed::Measured)
                    }
                    RunMsg::Failed(e) => (d.prep, d.speed) = (Prep::Failed(e), Speed::Unknown("no run".into())),
                    RunMsg::Finished(_) => {}
                }
            }
            return;
        }
        TrainMsg::StopFailed(e) => return fail(app, format!("cannot stop the trainer: {e}")),
        m => m,
    };
    let (Some(job), Some(view)) = (&mut t.job, &mut t.run) else { return };
    let ended = match (job, msg) {
        (Job::BuiltIn(_), TrainMsg::Event(ev)) => {
            view.apply(&ev);
            false
        }
        (Job::BuiltIn(_), TrainMsg::Run(m)) => match m {
            RunMsg::Ready(..) if view.phase == Phase::Preparing => {
                view.phase = Phase::BaseEval;
                false
            }
            RunMsg::Failed(e) => {
                view.phase = Phase::Failed(e);
                true
            }
            RunMsg::Finished(r) => {
                view.finish(r);
                true
            }
            _ => false,
        },
        (Job::External(j), TrainMsg::ExternalStarted(r)) => {
            match r {
                Ok(run) => j.run = Some(Arc::new(run)),
                Err(e) => view.phase = Phase::Failed(e),
            }
            !view.active()
        }
        (Job::External(j), TrainMsg::External(ev)) => {
            view.apply_external(&ev, j.since.elapsed().as_secs_f64());
            !view.active()
        }
        _ => false,
    };
    if ended {
        let done = match &view.phase {
            Phase::Finished => format!("training finished: {}", view.dir.display()),
            Phase::Cancelled { checkpoint: true } => "training stopped; its checkpoint is kept".to_string(),
            Phase::Cancelled { .. } => "training stopped".to_string(),
            Phase::Failed(e) => format!("training failed: {}", e.lines().next().unwrap_or("")),
            _ => String::new(),
        };
        let err = matches!(view.phase, Phase::Failed(_));
        if let Some(Job::BuiltIn(j)) = t.job.take() {
            let _ = j.thread.join();
        }
        t.refresh_runs();
        app.message = Some((done, err));
    }
}
