//! sift: curate instruction-tuning data.

/// Local Llama-family language model: loading, scoring, generation, checkpoints.
pub mod model;
