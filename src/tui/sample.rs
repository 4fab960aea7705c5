//! The bundled sample dataset that `sift` opens when no file is given: copied on first use to the
//! user's data directory so it can be edited and saved.

use anyhow::{Context, Result};
use std::path::PathBuf;

/// The sample, as shipped.
pub const SAMPLE: &[u8] = include_bytes!("../../sample_datasets/alpaca_sample.json");

/// The user's copy of the sample (created when missing).
pub fn sample_path() -> Result<PathBuf> {
    let dir = crate::paths::data_dir().context("cannot find a data directory for the sample (is HOME set?)")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let path = dir.join("alpaca_sample.json");
    if !path.exists() {
        std::fs::write(&path, SAMPLE).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(path)
}
