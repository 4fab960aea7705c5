//! sift: curate instruction-tuning data. The engine (dataset, review session, quality, model, train,
//! export) knows nothing of the terminal; the TUI and the CLI both drive it.

pub mod cli;
pub mod dataset;
/// Model-based judge: likelihood signals, continuation detection, quality scores and flags.
pub mod judge;
/// Local Llama-family language model: loading, scoring, generation, checkpoints.
pub mod model;
pub mod quality;
pub mod session;
pub mod stats;
