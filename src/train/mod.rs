//! Training on the curated selection: SFT examples (Alpaca template, prompt-masked labels), the
//! trainer (AdamW, warmup + cosine, clipping, accumulation with per-step token normalisation),
//! HF-format checkpoints with exact resume, the run folder (one owner for sift's trainer and the
//! external ones), external trainers started on an export, and a "try it" generator.

pub mod checkpoint;
pub mod config;
pub mod data;
pub mod external;
pub mod optim;
pub mod options;
pub mod pretrain;
pub mod run_folder;
pub mod runs;
pub mod split;
pub mod trainer;
pub mod try_it;

pub use crate::session::Selection;
pub use data::{Example, MicroBatch, SftTokenizer, build_examples};
pub use optim::{AdamW, AdamWParams, clip_grad_norm, lr_at};
pub use trainer::{
    InitialEval, ModelSource, StepMetrics, TrainConfig, TrainData, TrainEvent, TrainSummary, Trainer, evaluate,
    run_training, run_training_with, step_gradients,
};
