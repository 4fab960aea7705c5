//! The fitted suggestion model on disk: `suggest.json` in the dataset's state folder, beside the
//! review state (which [`crate::session`] owns), so suggestions show at once when the file is
//! reopened and the next refit replaces them.

use super::features::{DIM, HASH_BITS, N_DENSE};
use super::{Fitted, Logistic, QueueMode};
use crate::dataset::save::{SaveError, write_atomic};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The file's name in the state folder.
pub const FILE: &str = "suggest.json";

/// Bumped whenever the features change meaning: an older file is then ignored (and refitted).
pub const VERSION: u32 = 2;

/// What is stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Stored {
    version: u32,
    dense: usize,
    hash_bits: u32,
    accepted: usize,
    rejected: usize,
    cv_auroc: Option<f64>,
    /// Absent in files written before it was kept.
    #[serde(default)]
    judge_auroc: Option<f64>,
    #[serde(default)]
    mode: QueueMode,
    bias: f32,
    /// Nonzero weights as `[index, weight]`.
    weights: Vec<(u32, f32)>,
}

/// Writes the model and the queue mode to `dir` (atomically).
pub fn save(dir: &Path, fitted: &Fitted, mode: QueueMode) -> Result<(), SaveError> {
    let stored = Stored {
        version: VERSION,
        dense: N_DENSE,
        hash_bits: HASH_BITS,
        accepted: fitted.accepted,
        rejected: fitted.rejected,
        cv_auroc: fitted.cv_auroc.filter(|a| a.is_finite()),
        judge_auroc: fitted.judge_auroc.filter(|a| a.is_finite()),
        mode,
        bias: fitted.model.bias,
        weights: fitted.model.w.iter().enumerate().filter(|(_, w)| **w != 0.0).map(|(j, w)| (j as u32, *w)).collect(),
    };
    let bytes = serde_json::to_vec(&stored).expect("the model serialises");
    write_atomic(&dir.join(FILE), &bytes)?;
    Ok(())
}

/// Reads the model saved in `dir`: Ok(None) when there is none or it was written for other
/// features; Err with a message when the file is unreadable (it is then left alone).
pub fn load(dir: &Path) -> Result<Option<(Fitted, QueueMode)>, String> {
    let path = dir.join(FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let s: Stored = serde_json::from_slice(&bytes)
        .map_err(|e| format!("{} is unreadable ({e}); it will be refitted", path.display()))?;
    if s.version != VERSION || s.dense != N_DENSE || s.hash_bits != HASH_BITS {
        return Ok(None);
    }
    let mut w = vec![0f32; DIM];
    for (j, x) in s.weights {
        if let Some(slot) = w.get_mut(j as usize) {
            *slot = x;
        }
    }
    let fitted = Fitted {
        model: Logistic { bias: s.bias, w },
        accepted: s.accepted,
        rejected: s.rejected,
        cv_auroc: s.cv_auroc,
        judge_auroc: s.judge_auroc,
    };
    Ok(Some((fitted, s.mode)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_model_reads_back_and_other_versions_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), None);
        let mut w = vec![0f32; DIM];
        (w[3], w[N_DENSE + 17]) = (0.5, -1.25);
        let fitted = Fitted {
            model: Logistic { bias: 0.1, w },
            accepted: 6,
            rejected: 5,
            cv_auroc: Some(0.8),
            judge_auroc: Some(0.7),
        };
        save(dir.path(), &fitted, QueueMode::Uncertain).unwrap();
        assert_eq!(load(dir.path()).unwrap(), Some((fitted.clone(), QueueMode::Uncertain)));
        let text = std::fs::read_to_string(dir.path().join(FILE)).unwrap();
        // A file from before the judge's AUROC was kept still reads, without it.
        std::fs::write(dir.path().join(FILE), text.replace("\"judge_auroc\":0.7,", "")).unwrap();
        let (old, _) = load(dir.path()).unwrap().unwrap();
        assert_eq!(old, Fitted { judge_auroc: None, ..fitted });
        std::fs::write(dir.path().join(FILE), text.replace("\"version\":2", "\"version\":999")).unwrap();
        assert_eq!(load(dir.path()).unwrap(), None);
        std::fs::write(dir.path().join(FILE), "{ not json").unwrap();
        assert!(load(dir.path()).unwrap_err().contains("unreadable"));
    }
}
