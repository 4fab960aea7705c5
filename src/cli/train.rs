//! `sift train`: fine-tune a model on a selection of records, with a progress line on stderr.

use crate::dataset::Format;
use crate::duration::clock;
use crate::session::Session;
use crate::train::runs::{RunSettings, TrainHyper, execute_run, prepare_run};
use crate::train::{TrainEvent, TrainSummary};
use anyhow::Result;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

/// Shows training events on stderr (a bar on a terminal, plain lines in a log, only the end and
/// errors with `quiet`); returns the summary on `Done`.
pub fn progress(rx: std::sync::mpsc::Receiver<TrainEvent>, quiet: bool) -> Option<TrainSummary> {
    let mut eval = None;
    let mut bar = super::progress::Progress::new(quiet);
    let mut done = None;
    for ev in rx {
        match ev {
            TrainEvent::Started { total_steps, start_step, train_examples, eval_examples } => {
                let from = if start_step > 0 { format!(", resuming at step {start_step}") } else { String::new() };
                bar.line(&format!(
                    "training on {train_examples} examples ({eval_examples} held out): {total_steps} steps{from}"
                ));
            }
            TrainEvent::Step(m) => {
                let e = eval.map_or(String::new(), |l: f64| format!("  eval {l:.4}"));
                let msg = format!(
                    "steps  loss {:.4}{e}  lr {:.2e}  |g| {:.2}  {:.0} tok/s  {}  ETA {}",
                    m.loss,
                    m.lr,
                    m.grad_norm,
                    m.tokens_per_s,
                    clock(m.elapsed_s),
                    clock(m.remaining_s)
                );
                bar.update(m.step as u64, m.total_steps as u64, &msg);
            }
            TrainEvent::Eval { eval_loss, .. } => eval = Some(eval_loss),
            TrainEvent::Checkpoint { .. } => {}
            TrainEvent::Done(s) => {
                bar.finish();
                done = Some(s);
            }
            TrainEvent::Cancelled { step, checkpoint_written } => {
                bar.finish();
                let c = if checkpoint_written { "; checkpoint written, continue with --resume" } else { "" };
                eprintln!("cancelled after step {step}{c}");
            }
            TrainEvent::Failed(e) => {
                bar.finish();
                eprintln!("training failed: {e}");
            }
        }
    }
    done
}

/// Runs `sift train`.
pub fn train(file: &Path, format: Option<Format>, settings: &RunSettings, quiet: bool) -> Result<i32> {
    let session = Session::open_read_only(file, format)?;
    let run = prepare_run(&session, settings)?;
    drop(session);
    if run.skipped_too_long + run.skipped_empty + run.skipped_undesirable > 0 && !quiet {
        eprintln!(
            "skipped {} records whose prompt fills the context, {} without a response and {} labelled undesirable (KTO label false)",
            run.skipped_too_long, run.skipped_empty, run.skipped_undesirable
        );
    }
    let cancel = Arc::new(AtomicBool::new(false));
    // A second Ctrl-C (flag already set) exits at once.
    signal_hook::flag::register_conditional_shutdown(signal_hook::consts::SIGINT, 130, cancel.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, cancel.clone())?;
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || execute_run(run, tx, cancel));
    let summary = progress(rx, quiet);
    let outcome = worker.join().map_err(|_| anyhow::anyhow!("training thread panicked"))??;
    let Some(s) = summary.or(outcome.summary) else { return Ok(130) };
    println!(
        "done: {} steps in {}, train loss {:.4}, final loss {:.4}{}",
        s.steps,
        clock(s.runtime_s),
        s.train_loss,
        s.final_loss,
        s.eval_loss.map_or(String::new(), |l| format!(", eval loss {l:.4}"))
    );
    print!("{}", crate::terminal_text::visible_lines(&outcome.report.to_text()));
    println!("model: {}", crate::terminal_text::path(&s.model_dir));
    Ok(0)
}

/// Runs `sift pretrain` and prints `pretrain_log.json`.
pub fn pretrain(cfg: &crate::train::pretrain::PretrainConfig, quiet: bool) -> Result<i32> {
    let cancel = Arc::new(AtomicBool::new(false));
    // A second Ctrl-C (flag already set) exits at once.
    signal_hook::flag::register_conditional_shutdown(signal_hook::consts::SIGINT, 130, cancel.clone())?;
    signal_hook::flag::register(signal_hook::consts::SIGINT, cancel.clone())?;
    let (tx, rx) = std::sync::mpsc::channel();
    let c = cfg.clone();
    let worker = std::thread::spawn(move || crate::train::pretrain::run_pretrain(&c, tx, cancel));
    progress(rx, quiet);
    let log = worker.join().map_err(|_| anyhow::anyhow!("pretraining thread panicked"))??;
    println!("{}", serde_json::to_string_pretty(&log)?);
    Ok(0)
}

/// Arguments of `sift pretrain`.
#[derive(clap::Args, Debug)]
pub struct PretrainArgs {
    /// Alpaca JSON array (records with index % 20 == 0 are held out for validation).
    #[arg(long)]
    pub corpus: PathBuf,
    /// Output model directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Work directory for checkpoints and metrics (default: OUT-run).
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Training time budget in minutes (the step count is fixed after the first steps to fit it).
    #[arg(long)]
    pub minutes: Option<f64>,
    /// Optimizer steps (deterministic for a seed; one epoch when neither this nor --minutes is given).
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Use only the first N corpus records.
    #[arg(long)]
    pub limit: Option<usize>,
    #[arg(long, default_value_t = 8000)]
    pub vocab: usize,
    #[arg(long, default_value_t = 320)]
    pub hidden: usize,
    #[arg(long, default_value_t = 6)]
    pub layers: usize,
    #[arg(long, default_value_t = 5)]
    pub heads: usize,
    #[arg(long, default_value_t = 5)]
    pub kv_heads: usize,
    #[arg(long, default_value_t = 864)]
    pub intermediate: usize,
    /// Context length in tokens.
    #[arg(long, default_value_t = 512)]
    pub context: usize,
    /// Documents per step.
    #[arg(long, default_value_t = 16)]
    pub batch: usize,
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    #[arg(long, default_value_t = 500)]
    pub eval_every: usize,
    /// Continue from the work directory's checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Instruction-tuning steps after pretraining (Alpaca template, loss on the response; 0: none).
    #[arg(long, default_value_t = 0)]
    pub sft_steps: usize,
    /// Peak learning rate of the instruction-tuning steps.
    #[arg(long, default_value_t = 1e-3)]
    pub sft_lr: f64,
    /// No progress on stderr (the log is still printed).
    #[arg(long, short)]
    pub quiet: bool,
}

/// Arguments of `sift train`.
#[derive(clap::Args, Debug)]
pub struct TrainArgs {
    /// The dataset.
    pub file: PathBuf,
    /// accepted | all | rejected | unreviewed | needs-edit
    #[arg(long, default_value = "accepted", value_parser = super::parse_selection)]
    pub select: crate::session::Selection,
    /// Base model directory (HF format); the bundled default model when omitted.
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// Run directory (data, settings, metrics, checkpoints, final model in model/).
    #[arg(long)]
    pub out: PathBuf,
    /// Passes over the training records.
    #[arg(long, default_value_t = TrainHyper::default().epochs)]
    pub epochs: usize,
    /// Optimizer steps (overrides --epochs).
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Peak learning rate (warmup then cosine decay).
    #[arg(long, default_value_t = TrainHyper::default().lr)]
    pub lr: f64,
    /// Records per micro-batch.
    #[arg(long, default_value_t = TrainHyper::default().batch)]
    pub batch: usize,
    /// Micro-batches per optimizer step.
    #[arg(long, default_value_t = TrainHyper::default().accum)]
    pub accum: usize,
    /// Token limit per example (prompt truncated first).
    #[arg(long, default_value_t = TrainHyper::default().max_len)]
    pub max_len: usize,
    /// Evaluate on held-out records every N steps.
    #[arg(long, default_value_t = TrainHyper::default().eval_every)]
    pub eval_every: usize,
    /// Fraction of records held out per evaluation set (seen tasks, unseen tasks), at most 256 each.
    #[arg(long, default_value_t = TrainHyper::default().eval_frac)]
    pub eval_frac: f64,
    /// Seed for the split, data order and initialisation.
    #[arg(long, default_value_t = TrainHyper::default().seed)]
    pub seed: u64,
    /// Continue the run in --out from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// No progress on stderr (the summary is still printed).
    #[arg(long, short)]
    pub quiet: bool,
}

impl TrainArgs {
    /// The engine's run settings for these flags.
    pub fn settings(&self) -> RunSettings {
        let hyper = TrainHyper {
            epochs: self.epochs,
            max_steps: self.max_steps,
            lr: self.lr,
            batch: self.batch,
            accum: self.accum,
            max_len: self.max_len,
            eval_every: self.eval_every,
            eval_frac: self.eval_frac,
            seed: self.seed,
        };
        RunSettings {
            selection: self.select.clone(),
            base: self.base.clone(),
            out_dir: self.out.clone(),
            hyper,
            resume: self.resume,
        }
    }
}

impl PretrainArgs {
    /// The pretraining settings for these flags (work directory `OUT-run` unless given).
    pub fn config(&self) -> crate::train::pretrain::PretrainConfig {
        let run_dir = self.run_dir.clone().unwrap_or_else(|| {
            let mut p = self.out.clone().into_os_string();
            p.push("-run");
            PathBuf::from(p)
        });
        crate::train::pretrain::PretrainConfig {
            corpus: self.corpus.clone(),
            out: self.out.clone(),
            run_dir,
            seed: self.seed,
            minutes: self.minutes,
            max_steps: self.max_steps,
            limit: self.limit,
            vocab: self.vocab,
            hidden: self.hidden,
            layers: self.layers,
            heads: self.heads,
            kv_heads: self.kv_heads,
            intermediate: self.intermediate,
            context: self.context,
            batch: self.batch,
            lr: self.lr,
            eval_every: self.eval_every,
            resume: self.resume,
            sft_steps: self.sft_steps,
            sft_lr: self.sft_lr,
        }
    }
}

/// Arguments of `sift try`.
#[derive(clap::Args, Debug)]
pub struct TryArgs {
    /// The instruction.
    pub instruction: String,
    /// The input (context) for the instruction.
    #[arg(long, default_value = "")]
    pub input: String,
    /// Model directory; default: $SIFT_MODEL, then the bundled model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Most new tokens.
    #[arg(long, default_value_t = 200)]
    pub max_tokens: usize,
    /// Sampling temperature (0: greedy).
    #[arg(long, default_value_t = 0.0)]
    pub temperature: f64,
    /// Nucleus sampling mass.
    #[arg(long)]
    pub top_p: Option<f64>,
    /// Sampling seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Penalty on tokens repeated from the last 64 generated (1: off).
    #[arg(long, default_value_t = crate::model::generate::ANSWER_REPEAT_PENALTY)]
    pub repeat_penalty: f32,
}

/// Runs `sift try`: streams the answer to stdout, then a newline.
pub fn try_it(a: &TryArgs) -> Result<i32> {
    let dir = match &a.model {
        Some(d) => d.clone(),
        None => crate::paths::default_model_dir()?,
    };
    let model = crate::model::LocalModel::load(&dir)?;
    let params = crate::model::GenerateParams {
        max_new_tokens: a.max_tokens,
        temperature: a.temperature,
        top_p: a.top_p,
        seed: a.seed,
        repeat_penalty: a.repeat_penalty,
        ..Default::default()
    };
    let mut out = std::io::stdout().lock();
    let cancel = AtomicBool::new(false);
    crate::train::try_it::answer_with(
        &model,
        &a.instruction,
        &a.input,
        &params,
        |piece| {
            let _ = out.write_all(piece.as_bytes());
            let _ = out.flush();
        },
        &cancel,
    )?;
    println!();
    Ok(0)
}
