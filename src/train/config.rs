//! Run configuration, data and progress types shared by the trainer, the CLI and the TUI.

use super::data::Example;
use super::optim::AdamWParams;
use crate::model::ModelConfig;
use candle_core::DType;
use std::path::PathBuf;

/// Where the initial weights come from.
#[derive(Debug, Clone)]
pub enum ModelSource {
    /// An HF-format model directory (config.json, safetensors, tokenizer.json).
    Pretrained(PathBuf),
    /// Fresh deterministic weights for `config` (pretraining), with the tokenizer to save.
    Scratch {
        /// Architecture.
        config: ModelConfig,
        /// Init seed.
        seed: u64,
        /// tokenizer.json bytes for checkpoints.
        tokenizer_json: Vec<u8>,
    },
}

/// Hyper-parameters and output location of a run.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Initial weights.
    pub source: ModelSource,
    /// Run directory (metrics, trainer_state.json, checkpoint-last/, model/).
    pub out_dir: PathBuf,
    /// Passes over the training examples (ignored when `max_steps` is set).
    pub epochs: usize,
    /// Stop after this many optimizer steps.
    pub max_steps: Option<usize>,
    /// Wall-clock budget in seconds: after a few steps the step count is fixed to fit it.
    pub time_budget_s: Option<f64>,
    /// Peak learning rate.
    pub lr: f64,
    /// Final LR as a fraction of the peak.
    pub min_lr_ratio: f64,
    /// Warmup as a fraction of the total steps (when `warmup_steps` is unset).
    pub warmup_ratio: f64,
    /// Explicit warmup steps.
    pub warmup_steps: Option<usize>,
    /// Examples per micro-batch.
    pub batch_size: usize,
    /// Micro-batches per optimizer step.
    pub grad_accum: usize,
    /// Global gradient-norm clip (0 disables).
    pub max_grad_norm: f64,
    /// AdamW settings.
    pub adamw: AdamWParams,
    /// Evaluate every N steps (0: only at the end).
    pub eval_every: usize,
    /// Write `checkpoint-last` every N steps (0: only at the end).
    pub save_every: usize,
    /// Seed for data order (and init when training from scratch).
    pub seed: u64,
    /// Continue from `out_dir/checkpoint-last`.
    pub resume: bool,
    /// dtype of the final `model/` weights (checkpoints stay f32 for exact resume).
    pub save_dtype: DType,
    /// Write a checkpoint of the last completed step when cancelled.
    pub checkpoint_on_cancel: bool,
    /// Where the final model goes (default `out_dir/model`).
    pub final_dir: Option<PathBuf>,
}

impl TrainConfig {
    /// Defaults for fine-tuning `source` into `out_dir`.
    pub fn new(source: ModelSource, out_dir: PathBuf) -> TrainConfig {
        TrainConfig {
            source,
            out_dir,
            epochs: 3,
            max_steps: None,
            time_budget_s: None,
            lr: 1e-4,
            min_lr_ratio: 0.0,
            warmup_ratio: 0.03,
            warmup_steps: None,
            batch_size: 8,
            grad_accum: 1,
            max_grad_norm: 1.0,
            adamw: AdamWParams::default(),
            eval_every: 50,
            save_every: 100,
            seed: 42,
            resume: false,
            save_dtype: DType::F32,
            checkpoint_on_cancel: true,
            final_dir: None,
        }
    }
}

/// Training and held-out examples.
#[derive(Debug, Clone, Default)]
pub struct TrainData {
    /// Trained on.
    pub train: Vec<Example>,
    /// Evaluated every `eval_every` steps.
    pub eval: Vec<Example>,
}

/// Metrics of one optimizer step.
#[derive(Debug, Clone, PartialEq)]
pub struct StepMetrics {
    /// 1-based step number.
    pub step: usize,
    /// Total steps of the run.
    pub total_steps: usize,
    /// Mean response-token NLL of the step (nats/token).
    pub loss: f64,
    /// Learning rate used.
    pub lr: f64,
    /// Gradient norm before clipping.
    pub grad_norm: f64,
    /// Response tokens in the loss.
    pub trained_tokens: usize,
    /// Real (non-padding) tokens processed per second in this step.
    pub tokens_per_s: f64,
    /// Fractional epoch at the end of the step.
    pub epoch: f64,
    /// Training wall time so far (seconds, including earlier sessions of a resumed run).
    pub elapsed_s: f64,
    /// Estimated seconds left.
    pub remaining_s: f64,
}

/// Progress reported by [`run_training`].
#[derive(Debug, Clone, PartialEq)]
pub enum TrainEvent {
    /// The run started (or resumed at `start_step`).
    Started { total_steps: usize, start_step: usize, train_examples: usize, eval_examples: usize },
    /// An optimizer step finished.
    Step(StepMetrics),
    /// Held-out loss after `step` steps.
    Eval { step: usize, eval_loss: f64 },
    /// `checkpoint-last` was written at `step`.
    Checkpoint { step: usize },
    /// Finished; the final model is in `model_dir`.
    Done(TrainSummary),
    /// Stopped on request after `step` completed steps.
    Cancelled { step: usize, checkpoint_written: bool },
    /// Stopped on an error.
    Failed(String),
}

/// Outcome of a completed run.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSummary {
    /// Steps done.
    pub steps: usize,
    /// Mean of the step losses.
    pub train_loss: f64,
    /// Last step's loss.
    pub final_loss: f64,
    /// Final held-out loss (when there are eval examples).
    pub eval_loss: Option<f64>,
    /// Wall time in seconds.
    pub runtime_s: f64,
    /// Real tokens trained on.
    pub tokens_seen: u64,
    /// The final HF-format model directory.
    pub model_dir: PathBuf,
}
