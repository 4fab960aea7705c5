//! sift: curate instruction-tuning data. The engine (dataset, review session, quality, model, judge,
//! train, export) knows nothing of the terminal; the TUI and the CLI both drive it.

pub mod cli;
/// `config.toml`: where it is, reading it, composing its sections.
pub mod config;
pub mod dataset;
/// Durations for people to read.
pub mod duration;
/// Exports and hand-off to distributed trainers (TRL, axolotl, LLaMA-Factory).
pub mod export;
/// Model-based judge: likelihood signals, continuation detection, the keep score and flags.
pub mod judge;
/// Local Llama-family language model: loading, scoring, generation, checkpoints.
pub mod model;
/// Every folder sift uses.
pub mod paths;
/// Every prompt layout: judge, trainer, pretraining and "try it" build their prompts here.
pub mod prompt;
/// Model-free quality flags and duplicate detection.
pub mod quality;
/// The one seeded random generator (stable across versions: weights, data order, splits).
pub mod rng;
pub mod session;
pub mod stats;
/// Suggestions learnt from the annotator's decisions, and the review queue they order.
pub mod suggest;
pub mod terminal_text;
/// Training on the selection: SFT data, trainer, checkpoints, runs.
pub mod train;
/// The terminal UI (ratatui): browse, fix and judge records with the keyboard.
pub mod tui;
pub mod utc;
