//! The judge: a small local language model reads every (instruction c, input z, response y) record and
//! says which responses are low quality or merely continue their input instead of answering, and why.
//!
//! [`template`] lays out the prompt, [`engine`] measures the response's token losses under four contexts
//! (cached in [`cache`]), [`signals`] derives IFD, instruction gain, continuation and quality from them,
//! [`flags`] turns those into flags with reasons, and [`devset`] builds the continuation dev set.

pub mod cache;
pub mod devset;
pub mod engine;
pub mod flags;
pub mod signals;
pub mod template;

pub use cache::{CacheKey, ScoreCache, cache_dir, content_hash};
pub use engine::{Engine, EngineOptions, OwnedText, ScoreEvent, ScoreOutcome, spawn};
pub use flags::{Assessment, JudgeConfig, JudgeFlag, ModelFlagConfig, assess};
pub use signals::{ContinuationWeights, ModelSignals, QualityWeights, Signals, SurfaceCues};
pub use template::Template;

use anyhow::{Result, bail};
use std::path::PathBuf;

/// The model used when none is given: `SIFT_MODEL` if set, else the bundled default model.
pub fn default_model_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("SIFT_MODEL").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    bail!("no default model is bundled yet; pass --model DIR")
}
