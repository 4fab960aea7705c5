//! `sift train`: fine-tune a model on a selection of records, with a progress line on stderr.

use crate::dataset::Format;
use crate::session::{OpenOptions, Session};
use crate::train::runs::{RunSettings, execute_run, prepare_run};
use crate::train::{TrainEvent, TrainSummary};
use anyhow::Result;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// `H:MM:SS` or `M:SS`.
pub fn hms(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}

/// Prints training events as a `\r` progress line on stderr; returns the summary on `Done`.
pub fn progress(rx: std::sync::mpsc::Receiver<TrainEvent>) -> Option<TrainSummary> {
    let mut eval = None;
    let mut err = std::io::stderr();
    let mut done = None;
    for ev in rx {
        match ev {
            TrainEvent::Started { total_steps, start_step, train_examples, eval_examples } => {
                let from = if start_step > 0 { format!(", resuming at step {start_step}") } else { String::new() };
                eprintln!(
                    "training on {train_examples} examples ({eval_examples} held out): {total_steps} steps{from}"
                );
            }
            TrainEvent::Step(m) => {
                let e = eval.map_or(String::new(), |l: f64| format!("  eval {l:.4}"));
                let _ = write!(
                    err,
                    "\rstep {}/{}  loss {:.4}{e}  lr {:.2e}  |g| {:.2}  {:.0} tok/s  {}  ETA {}   ",
                    m.step,
                    m.total_steps,
                    m.loss,
                    m.lr,
                    m.grad_norm,
                    m.tokens_per_s,
                    hms(m.elapsed_s),
                    hms(m.remaining_s)
                );
                let _ = err.flush();
            }
            TrainEvent::Eval { eval_loss, .. } => eval = Some(eval_loss),
            TrainEvent::Checkpoint { .. } => {}
            TrainEvent::Done(s) => {
                eprintln!();
                done = Some(s);
            }
            TrainEvent::Cancelled { step, checkpoint_written } => {
                let c = if checkpoint_written { "; checkpoint written, continue with --resume" } else { "" };
                eprintln!("\ncancelled after step {step}{c}");
            }
            TrainEvent::Failed(e) => eprintln!("\ntraining failed: {e}"),
        }
    }
    done
}

/// Runs `sift train`.
pub fn train(file: &Path, format: Option<Format>, settings: &RunSettings) -> Result<i32> {
    let session = Session::open(file, &OpenOptions { format, state_dir: None })?;
    let run = prepare_run(&session, settings)?;
    drop(session);
    if run.skipped_too_long + run.skipped_empty > 0 {
        eprintln!(
            "skipped {} records whose prompt fills the context and {} without a response",
            run.skipped_too_long, run.skipped_empty
        );
    }
    let cancel = Arc::new(AtomicBool::new(false));
    // A second Ctrl-C (flag already set) exits at once.
    signal_hook::flag::register_conditional_shutdown(signal_hook::consts::SIGINT, 130, cancel.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, cancel.clone())?;
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || execute_run(run, tx, cancel));
    let summary = progress(rx);
    let outcome = worker.join().map_err(|_| anyhow::anyhow!("training thread panicked"))??;
    let Some(s) = summary.or(outcome.summary) else { return Ok(130) };
    println!(
        "done: {} steps in {}, train loss {:.4}, final loss {:.4}{}",
        s.steps,
        hms(s.runtime_s),
        s.train_loss,
        s.final_loss,
        s.eval_loss.map_or(String::new(), |l| format!(", eval loss {l:.4}"))
    );
    print!("{}", outcome.report.to_text());
    println!("model: {}", s.model_dir.display());
    Ok(0)
}

/// Runs `sift pretrain` and prints `pretrain_log.json`.
pub fn pretrain(cfg: &crate::train::pretrain::PretrainConfig) -> Result<i32> {
    let cancel = Arc::new(AtomicBool::new(false));
    // A second Ctrl-C (flag already set) exits at once.
    signal_hook::flag::register_conditional_shutdown(signal_hook::consts::SIGINT, 130, cancel.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, cancel.clone())?;
    let (tx, rx) = std::sync::mpsc::channel();
    let c = cfg.clone();
    let worker = std::thread::spawn(move || crate::train::pretrain::run_pretrain(&c, tx, cancel));
    progress(rx);
    let log = worker.join().map_err(|_| anyhow::anyhow!("pretraining thread panicked"))??;
    println!("{}", serde_json::to_string_pretty(&log)?);
    Ok(0)
}
