//! Training from the TUI: snapshots of the train dialog and the panel, a real run driven through
//! the update loop (select, T, confirm, poll until done, try it), and an external trainer whose
//! progress lands in the panel and which the stop key kills.

mod common;

use candle_core::{DType, Device};
use common::tui::{alpaca, screen, text};
use sift::model::load::{CheckpointFiles, save_hf_checkpoint};
use sift::model::{ModelConfig, StopReason, init_weights};
use sift::train::runs::{RunOutcome, TrainHyper};
use sift::train::split::{GeneralisationReport, HeldOut};
use sift::train::{StepMetrics, TrainEvent, TrainSummary};
use sift::tui::app::{App, Mode};
use sift::tui::config::Config;
use sift::tui::training::run::{Backend, Phase, RunView};
use sift::tui::training::state::{Ask, PanelView};
use sift::tui::training::try_it::{BASE, SideState, TRAINED};
use sift::tui::training::{Prep, Speed};
use sift::tui::update::type_keys;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const RECORDS: &[(&str, &str, &str)] = &[
    ("Name three primary colors.", "", "Red, yellow and blue."),
    ("Translate to German.", "Good morning", "Guten Morgen"),
    ("Write a haiku about autumn.", "", "Leaves drift on cold wind."),
    ("Summarize the text.", "The cat sat on the mat all day long.", "A cat spent the day on a mat."),
    ("What is 2 + 2?", "", "4"),
    ("Give a synonym for happy.", "", "Joyful."),
    ("List two fruits.", "", "Apple, pear."),
    ("Explain rain briefly.", "", "Water falls from clouds."),
    ("Spell cat backwards.", "", "tac"),
    ("Count to three.", "", "1, 2, 3"),
    ("Define a noun.", "", "A word for a thing."),
    ("Describe the sea.", "", "Vast and blue."),
];

/// The tiny fixture architecture with a 1024-token context (the Alpaca prompt fills its 128) and
/// fresh weights, at `dir/models/tiny-1024`.
fn base_model(dir: &Path) -> PathBuf {
    let fixture = common::tiny_llama();
    let mut cfg = ModelConfig::from_file(&fixture.join("config.json")).unwrap();
    cfg.max_position_embeddings = 1024;
    let tensors = init_weights(&cfg, 3, DType::F32, &Device::Cpu).unwrap();
    let files = CheckpointFiles {
        tokenizer_json: std::fs::read(fixture.join("tokenizer.json")).unwrap(),
        ..Default::default()
    };
    let out = dir.join("models/tiny-1024");
    save_hf_checkpoint(&out, &cfg, &tensors, &files).unwrap();
    out
}

/// The app over [`RECORDS`] in `dir` with the config file text `config`.
fn app(dir: &Path, config: &str) -> App {
    let path = dir.join("data.json");
    std::fs::write(&path, alpaca(RECORDS, "  ")).unwrap();
    common::tui::open(&path, Config::parse(config).unwrap())
}

fn config(dir: &Path, base: &Path, extra: &str) -> String {
    format!(
        "[train]\nruns_dir = {:?}\nbase = {:?}\nmax_steps = 3\nbatch = 4\neval_every = 1\neval_frac = 0.2\ntry_max_tokens = 8\n{extra}",
        dir.join("runs"),
        base
    )
}

/// Polls the app until `done` holds (a deadline turns a hang into a failure, not a timing check).
fn until(app: &mut App, what: &str, mut done: impl FnMut(&App) -> bool) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(300) {
        app.poll();
        if done(app) {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("gave up waiting for {what}");
}

fn dialog(app: &App) -> &sift::tui::training::state::TrainDialog {
    match &app.training.ask {
        Some(Ask::Train(d)) => d,
        _ => panic!("no train dialog"),
    }
}

/// The dialog is closed, or has its counts (or error) and its speed.
fn prepared(app: &App) -> bool {
    match &app.training.ask {
        Some(Ask::Train(d)) => d.prep != Prep::Pending && d.speed != Speed::Measuring,
        _ => true,
    }
}

fn run_dirs(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir).map(|rd| rd.flatten().map(|e| e.path()).collect()).unwrap_or_default()
}

#[test]
fn snapshot_train_dialog_then_cancel_removes_the_prepared_folder() {
    let d = tempfile::tempdir().unwrap();
    let base = base_model(d.path());
    let mut app = app(d.path(), &config(d.path(), &base, "tokens_per_s = 500.0\n"));
    type_keys(&mut app, "jvjj");
    type_keys(&mut app, "T");
    assert!(matches!(app.mode, Mode::Train));
    assert_eq!(dialog(&app).label, "3 marked records");
    until(&mut app, "the preparation", prepared);
    let Prep::Ready(info) = &dialog(&app).prep else { panic!("{:?}", dialog(&app).prep) };
    assert_eq!((info.train_examples, info.steps), (3, 3));
    assert!(info.response_tokens > 0);
    assert_eq!(dialog(&app).speed, Speed::Configured(500.0));
    insta::assert_snapshot!("train_dialog", screen(&mut app, 100, 30).backend());
    assert_eq!(run_dirs(&d.path().join("runs")).len(), 1, "the run folder is prepared");
    type_keys(&mut app, "<esc>");
    assert!(matches!(app.mode, Mode::Normal) && app.training.ask.is_none());
    until(&mut app, "the prepared folder to go", |_| run_dirs(&d.path().join("runs")).is_empty());
}

#[test]
fn nothing_marked_and_nothing_accepted_says_so() {
    let d = tempfile::tempdir().unwrap();
    let mut app = app(d.path(), "[train]\ntokens_per_s = 1.0\n");
    type_keys(&mut app, "T");
    assert!(matches!(app.mode, Mode::Normal));
    assert!(app.message.as_ref().is_some_and(|m| m.1 && m.0.contains("no accepted records")), "{:?}", app.message);
}

fn step(step: usize, loss: f64) -> TrainEvent {
    TrainEvent::Step(StepMetrics {
        step,
        total_steps: 40,
        loss,
        lr: 1e-4 * step as f64 / 40.0,
        grad_norm: 1.5 - step as f64 * 0.01,
        trained_tokens: 120,
        tokens_per_s: 850.0,
        epoch: step as f64 / 20.0,
        elapsed_s: step as f64 * 2.0,
        remaining_s: (40 - step) as f64 * 2.0,
    })
}

/// A built-in run fed with fixed events: `steps` steps of a falling loss, an eval every 5.
fn fed_run(steps: usize) -> RunView {
    let mut v = RunView::new(Backend::BuiltIn, "runs/run-20250101-120000".into(), "marked:3".into(), 3);
    v.apply(&TrainEvent::Started { total_steps: 40, start_step: 0, train_examples: 30, eval_examples: 4 });
    v.apply(&TrainEvent::Eval { step: 0, eval_loss: 3.1 });
    for s in 1..=steps {
        v.apply(&step(s, 3.0 - (s as f64).ln() * 0.5));
        if s % 5 == 0 {
            v.apply(&TrainEvent::Eval { step: s, eval_loss: 3.05 - (s as f64).ln() * 0.4 });
        }
    }
    v
}

#[test]
fn snapshot_training_panel_running_and_finished() {
    let d = tempfile::tempdir().unwrap();
    let mut app = app(d.path(), "[train]\ntokens_per_s = 1.0\n");
    app.training.run = Some(fed_run(14));
    app.training.panel = Some(PanelView::Run);
    let running = screen(&mut app, 140, 32);
    assert!(text(&running).contains("step 14/40"), "{}", text(&running));
    insta::assert_snapshot!("train_panel_running", running.backend());

    let mut v = fed_run(40);
    v.apply(&TrainEvent::Done(TrainSummary {
        steps: 40,
        train_loss: 1.9,
        final_loss: 1.16,
        eval_loss: Some(1.57),
        runtime_s: 80.0,
        tokens_seen: 4800,
        model_dir: "runs/run-20250101-120000/model".into(),
    }));
    let held = |examples, before, after| HeldOut { examples, tokens: 40, before: Some(before), after: Some(after) };
    let report = GeneralisationReport {
        tasks: 7,
        unseen_tasks: vec!["words:define a".into()],
        train_examples: 30,
        intra_task: held(2, 3.1, 1.6),
        inter_task: held(2, 3.2, 2.7),
    };
    v.finish(Ok(RunOutcome { summary: None, report }));
    assert_eq!(v.phase, Phase::Finished, "Done then an outcome without summary stays finished");
    app.training.run = Some(v);
    let done = screen(&mut app, 140, 32);
    assert!(text(&done).contains("seen tasks (intra)"), "{}", text(&done));
    insta::assert_snapshot!("train_panel_finished", done.backend());
    for view in ["P", "P", "P"] {
        for (w, h) in [(1, 1), (20, 6), (0, 0), (300, 3), (12, 40), (60, 12)] {
            screen(&mut app, w, h);
        }
        type_keys(&mut app, view);
    }
}

/// A fake past run folder as `sift train` leaves it.
fn fake_run(runs: &Path, name: &str, created: u64, steps: usize, finished: bool) {
    let dir = runs.join(name);
    std::fs::create_dir_all(dir.join("model")).unwrap();
    let cfg = serde_json::json!({"created_unix": created, "selection": "accepted", "examples": {"train": 120}});
    std::fs::write(dir.join("run_config.json"), cfg.to_string()).unwrap();
    let ts = serde_json::json!({"global_step": steps, "max_steps": 50, "log_history": [
        {"loss": 1.2345, "step": steps}, {"eval_loss": 1.5, "step": steps}]});
    std::fs::write(dir.join("trainer_state.json"), ts.to_string()).unwrap();
    if finished {
        std::fs::write(dir.join("model/model.safetensors"), b"").unwrap();
    }
}

#[test]
fn snapshot_past_runs() {
    let d = tempfile::tempdir().unwrap();
    let runs = d.path().join("runs");
    fake_run(&runs, "run-a", 1_700_000_000, 50, true);
    fake_run(&runs, "run-b", 1_700_100_000, 20, false);
    let mut app = app(d.path(), &format!("[train]\nruns_dir = {runs:?}\n"));
    type_keys(&mut app, "PP");
    assert_eq!(app.training.panel, Some(PanelView::Runs));
    let t = screen(&mut app, 170, 16);
    let shown = text(&t).replace(&runs.display().to_string(), "[runs]");
    assert!(shown.contains("2023-11-16 02:00") && shown.contains("run-b"), "{shown}");
    insta::assert_snapshot!("train_runs", shown);
    type_keys(&mut app, "PP");
    assert_eq!(app.training.panel, None, "P cycles run, runs, try it, off");
}

#[test]
fn train_marked_records_through_the_update_loop_then_try_it() {
    let d = tempfile::tempdir().unwrap();
    let base = base_model(d.path());
    let mut app = app(d.path(), &config(d.path(), &base, ""));
    type_keys(&mut app, "V");
    assert_eq!(app.selection.len(), RECORDS.len());
    type_keys(&mut app, "T");
    assert_eq!(dialog(&app).label, "12 marked records");
    until(&mut app, "counts and a measured speed", prepared);
    assert!(matches!(dialog(&app).prep, Prep::Ready(_)), "{:?}", dialog(&app).prep);
    assert!(matches!(dialog(&app).speed, Speed::Measured(x) if x > 0.0), "{:?}", dialog(&app).speed);
    let shown = text(&screen(&mut app, 100, 30));
    assert!(shown.contains("one step timed just now") && shown.contains("tok/s"), "{shown}");
    type_keys(&mut app, "<enter>");
    assert!(matches!(app.mode, Mode::Normal) && app.training.active());
    assert_eq!(app.training.panel, Some(PanelView::Run));
    // The UI stays live: keys work while the run trains.
    type_keys(&mut app, "j");
    until(&mut app, "the run to end", |a| !a.training.active());
    let run = app.training.run.clone().unwrap();
    assert_eq!(run.phase, Phase::Finished, "{:?}", run.phase);
    assert_eq!(run.loss.len(), 3, "every step reached the panel");
    assert!(!run.eval.is_empty() && run.report.is_some());
    assert_eq!(run.selection, "marked:12");
    for f in ["model/config.json", "model/model.safetensors", "model/tokenizer.json", "metrics.jsonl"] {
        assert!(run.dir.join(f).is_file(), "{f} in {}", run.dir.display());
    }
    assert!(!run.dir.join(".speed-check").exists());
    let metrics = std::fs::read_to_string(run.dir.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().filter(|l| l.contains("\"loss\"")).count(), 3);
    let shown = text(&screen(&mut app, 140, 32));
    assert!(shown.contains("finished") && shown.contains("held-out loss"), "{shown}");

    type_keys(&mut app, "<esc>R");
    assert_eq!(app.training.panel, Some(PanelView::Try));
    until(&mut app, "both answers", |a| !a.training.try_it.busy());
    let sides = &app.training.try_it.sides;
    for s in [TRAINED, BASE] {
        assert!(matches!(sides[s].state, SideState::Done(StopReason::MaxTokens | StopReason::Eos)), "{:?}", sides[s]);
    }
    assert!(!sides[TRAINED].text.is_empty() && !sides[BASE].text.is_empty(), "{sides:?}");
    assert_eq!(sides[TRAINED].label, format!("{}/model", run.dir.file_name().unwrap().to_string_lossy()));
    let shown = text(&screen(&mut app, 140, 32));
    assert!(shown.contains("dataset response") && shown.contains("base: models/tiny-1024"), "{shown}");

    // The next dialog estimates from the finished run's speed.
    type_keys(&mut app, "VT");
    until(&mut app, "the second preparation", prepared);
    let name = run.dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(matches!(&dialog(&app).speed, Speed::PastRun(x, n) if *x > 0.0 && *n == name), "{:?}", dialog(&app).speed);
    type_keys(&mut app, "<esc>");
    app.training.shutdown(|_| {});
    assert_eq!(run_dirs(&d.path().join("runs")), vec![run.dir.clone()], "the cancelled dialog left no folder");
}

/// Writes trainer_state.json for two steps and an eval, then trains "forever".
const FAKE_TRAINER: &str = r#"set -eu
test -f sft.yaml
mkdir -p output
echo $$ > trainer.pid
printf '{"max_steps": 100, "log_history": [{"loss": 2.5, "learning_rate": 0.0001, "epoch": 0.01, "step": 1}, {"loss": 2.25, "grad_norm": 0.8, "learning_rate": 0.0001, "epoch": 0.02, "step": 2}, {"eval_loss": 2.4, "step": 2}]}' > output/ts.tmp
mv output/ts.tmp output/trainer_state.json
exec sleep 60
"#;

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'),
        Err(_) => false,
    }
}

#[test]
fn external_trainer_progress_lands_in_the_panel_and_stop_kills_it() {
    let d = tempfile::tempdir().unwrap();
    let script = d.path().join("fake.sh");
    std::fs::write(&script, FAKE_TRAINER).unwrap();
    let cfg = format!(
        "[train.external]\nbackend = \"trl\"\nbase_model = \"org/base\"\nout_dir = {:?}\ncommand = \"bash {}\"\npoll_ms = 20\n",
        d.path().join("ext"),
        script.display()
    );
    let mut app = app(d.path(), &cfg);
    type_keys(&mut app, "a");
    type_keys(&mut app, "T");
    assert!(dialog(&app).external && dialog(&app).prep == Prep::Pending, "no built-in preparation");
    let shown = text(&screen(&mut app, 100, 30));
    assert!(
        shown.contains("trl (external)") && shown.contains("org/base") && shown.contains("[b] built-in"),
        "{shown}"
    );
    type_keys(&mut app, "<enter>");
    assert!(app.training.active());
    until(&mut app, "progress from trainer_state.json", |a| {
        a.training.run.as_ref().is_some_and(|r| r.loss.len() == 2 && r.eval.len() == 1)
    });
    let run = app.training.run.clone().unwrap();
    assert_eq!((run.step, run.total, run.lr), (2, 100, Some(0.0001)));
    assert!(run.dir.starts_with(d.path().join("ext")) && run.dir.join("sft.yaml").is_file());
    let shown = text(&screen(&mut app, 140, 32));
    assert!(shown.contains("step 2/100") && shown.contains("trl, local"), "{shown}");
    let pid: u32 = std::fs::read_to_string(run.dir.join("trainer.pid")).unwrap().trim().parse().unwrap();
    assert!(alive(pid));
    type_keys(&mut app, "X");
    assert!(matches!(app.training.ask, Some(Ask::Stop)));
    type_keys(&mut app, "y");
    until(&mut app, "the trainer to stop", |a| !a.training.active());
    assert_eq!(app.training.run.as_ref().unwrap().phase, Phase::Cancelled { checkpoint: false });
    assert!(!alive(pid), "the trainer process is gone");

    // The stopped run is in the past-runs list with what sift knows of it.
    type_keys(&mut app, "P");
    assert_eq!(app.training.panel, Some(PanelView::Runs));
    let shown = text(&screen(&mut app, 200, 32));
    let folder = run.dir.file_name().unwrap().to_string_lossy().into_owned();
    let row = shown.lines().find(|l| l.contains(&folder)).unwrap_or_else(|| panic!("{folder} not listed: {shown}"));
    let cells: Vec<&str> = row.split('│').nth(3).unwrap().split_whitespace().collect();
    // date, time, trainer, status, selection, records, steps, loss, eval, folder
    assert_eq!(cells[2..], ["trl", "stopped", "accepted", "1", "2/100", "2.250", "2.400", folder.as_str()], "{row}");
}

/// Logs two steps in trainer_state.json, writes final weights and exits.
const FINISHING_TRAINER: &str = r#"set -eu
mkdir -p output
printf '{"max_steps": 2, "log_history": [{"loss": 2.5, "step": 1}, {"loss": 2.0, "step": 2}]}' > output/trainer_state.json
touch output/model.safetensors
"#;

#[test]
fn external_runs_are_listed_beside_built_in_ones() {
    let d = tempfile::tempdir().unwrap();
    let runs = d.path().join("runs");
    fake_run(&runs, "run-a", 1_700_000_000, 50, true);
    let script = d.path().join("fake.sh");
    std::fs::write(&script, FINISHING_TRAINER).unwrap();
    let cfg = format!(
        "[train]\nruns_dir = {runs:?}\n[train.external]\nbackend = \"llamafactory\"\nbase_model = \"org/base\"\n\
         out_dir = {:?}\ncommand = \"bash {}\"\npoll_ms = 20\n",
        d.path().join("ext"),
        script.display()
    );
    let mut app = app(d.path(), &cfg);
    type_keys(&mut app, "vjvT<enter>");
    until(&mut app, "the trainer to finish", |a| !a.training.active());
    assert_eq!(app.training.run.as_ref().unwrap().phase, Phase::Finished);
    type_keys(&mut app, "P");
    assert_eq!(app.training.panel, Some(PanelView::Runs));
    let shown = text(&screen(&mut app, 200, 16));
    assert!(shown.contains(&format!("2 runs in {} and {}", runs.display(), d.path().join("ext").display())), "{shown}");
    let rows: Vec<&str> = shown.lines().filter(|l| l.contains(" run-")).collect();
    assert_eq!(rows.len(), 2, "{shown}");
    let cells: Vec<&str> = rows[0].split('│').nth(3).unwrap().split_whitespace().collect();
    assert_eq!(cells[2..9], ["llamafa…", "finished", "marked:2", "2", "2/2", "2.000", "-"], "newest first: {shown}");
    assert!(rows[1].contains("sift     finished") && rows[1].contains("run-a"), "{shown}");
    // "Try it" asks the newest run of sift's own trainer, not the external one.
    assert_eq!(app.training.trained_model(), Ok(runs.join("run-a").join("model")));
}

#[test]
fn train_config_reads_and_prints() {
    let cfg = Config::parse(
        "[train]\nmax_steps = 7\nlr = 0.001\n[train.external]\nbackend = \"axolotl\"\nbase_model = \"m\"\nout_dir = \"r\"\n",
    )
    .unwrap();
    let h = &cfg.train.hyper;
    assert_eq!((h.max_steps, h.lr, h.epochs), (Some(7), 0.001, 3));
    assert_eq!(cfg.train.external.as_ref().unwrap().base_model, "m");
    let out = cfg.effective_toml().unwrap();
    assert!(out.contains("[train]") && out.contains("max_steps = 7") && out.contains("train = [\"T\"]"), "{out}");
    let typo = Config::parse("[keys]\naccept = \"A\"\n\n[train]\nlr = 0.1\nmax_step = 7\n").unwrap_err();
    assert!(typo.starts_with("line 6: unknown key `max_step` in [train]"), "{typo}");
    assert!(typo.contains("max_steps") && typo.contains("runs_dir") && typo.contains("try_max_tokens"), "{typo}");
    let back = Config::parse(&out).unwrap();
    assert_eq!(back.train.hyper.max_steps, Some(7));
    // Every hyper-parameter is a key of [train], as flat as the CLI flags.
    let all = "[train]\nepochs = 1\nmax_steps = 2\nlr = 3e-4\nbatch = 4\naccum = 5\nmax_len = 6\neval_every = 7\neval_frac = 0.5\nseed = 9\n";
    let h = Config::parse(all).unwrap().train.hyper;
    let want = TrainHyper {
        epochs: 1,
        max_steps: Some(2),
        lr: 3e-4,
        batch: 4,
        accum: 5,
        max_len: 6,
        eval_every: 7,
        eval_frac: 0.5,
        seed: 9,
    };
    assert_eq!(h, want);
}
