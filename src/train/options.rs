//! `[train]` in config.toml: the settings of runs started from the TUI (base model, where runs
//! go, the `sift train` hyper-parameters as keys, an external trainer).

use super::external::ExternalConfig;
use super::runs::{RunSettings, TrainHyper};
use crate::session::Selection;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `[train]` in config.toml: runs started from the TUI.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainOptions {
    /// Folder receiving one folder per run (default: `runs/` in sift's data folder).
    pub runs_dir: Option<PathBuf>,
    /// Base model folder (HF format); the default model when unset.
    pub base: Option<PathBuf>,
    /// Epochs, learning rate, batch and the rest: the `sift train` flags, as keys of `[train]`.
    #[serde(flatten)]
    pub hyper: TrainHyper,
    /// Training speed (real tokens/s) for the time estimate; unset: measured.
    pub tokens_per_s: Option<f64>,
    /// Longest "try it" answer, in tokens.
    pub try_max_tokens: usize,
    /// `[train.external]`: an external trainer used instead of the built-in one.
    pub external: Option<ExternalConfig>,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            runs_dir: None,
            base: None,
            hyper: TrainHyper::default(),
            tokens_per_s: None,
            try_max_tokens: 200,
            external: None,
        }
    }
}

impl TrainOptions {
    /// The engine's settings for a run of `selection` into `out_dir`.
    pub fn settings(&self, selection: Selection, out_dir: PathBuf) -> RunSettings {
        let mut s = RunSettings::new(selection, out_dir);
        s.base = self.base.clone();
        s.hyper = self.hyper;
        s
    }

    /// Where runs go: `runs_dir`, else `runs/` in sift's data folder.
    pub fn runs_dir(&self) -> Result<PathBuf, String> {
        match &self.runs_dir {
            Some(d) => Ok(d.clone()),
            None => crate::paths::runs_dir()
                .ok_or_else(|| "no data folder for runs (is HOME set?); set [train] runs_dir".into()),
        }
    }

    /// The folders past runs are listed from: [`TrainOptions::runs_dir`], then the external
    /// trainer's `out_dir` when it is another.
    pub fn run_folders(&self) -> Result<Vec<PathBuf>, String> {
        let mut dirs = vec![self.runs_dir()?];
        dirs.extend(self.external.as_ref().map(|e| e.out_dir.clone()).filter(|d| *d != dirs[0]));
        Ok(dirs)
    }
}
