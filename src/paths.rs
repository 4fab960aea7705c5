//! Every folder sift uses, from one platform lookup (`directories::ProjectDirs`): the config file,
//! the data folder (sample copy, review state fallback, runs), the cache (scores, the unpacked
//! bundled model) and the default model. Environment overrides: `SIFT_CACHE_DIR` (cache) and
//! `SIFT_MODEL` (default model); `SIFT_CONFIG` is read by [`crate::config`].

use anyhow::{Context, Result};
use directories::ProjectDirs;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The platform folders for sift (None when the platform has none, e.g. HOME unset).
fn project() -> Option<&'static ProjectDirs> {
    static DIRS: OnceLock<Option<ProjectDirs>> = OnceLock::new();
    DIRS.get_or_init(|| ProjectDirs::from("", "", "sift")).as_ref()
}

/// Where `config.toml` is looked for when `SIFT_CONFIG` is not set.
pub fn config_file() -> Option<PathBuf> {
    project().map(|d| d.config_dir().join("config.toml"))
}

/// The user's data folder: the sample's copy, review state that cannot live beside its file, runs.
pub fn data_dir() -> Option<PathBuf> {
    project().map(|d| d.data_dir().to_path_buf())
}

/// Where runs started from the TUI go when `[train] runs_dir` is not set: `runs/` in the data folder.
pub fn runs_dir() -> Option<PathBuf> {
    data_dir().map(|d| d.join("runs"))
}

/// The cache folder (score caches, the unpacked bundled model): `SIFT_CACHE_DIR` if set, else the
/// platform cache folder.
pub fn cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("SIFT_CACHE_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d));
    }
    project().map(|p| p.cache_dir().to_path_buf())
}

/// The folders the bundled model may be unpacked into, in order: `models/` in the cache folder,
/// then in the temp folder (when the cache is not writable).
pub fn model_unpack_dirs() -> Vec<PathBuf> {
    cache_dir().into_iter().chain([std::env::temp_dir().join("sift")]).map(|d| d.join("models")).collect()
}

/// The model to use when the user names none: `$SIFT_MODEL` when set, else the bundled model,
/// unpacked into the first of [`model_unpack_dirs`] that takes it.
pub fn default_model_dir() -> Result<PathBuf> {
    if let Some(d) = std::env::var_os("SIFT_MODEL").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    let mut last = None;
    for root in model_unpack_dirs() {
        match crate::model::bundled::unpack_bundled(&root) {
            Ok(d) => return Ok(d),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("at least one root")).context("unpacking the bundled default model")
}
