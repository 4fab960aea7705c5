//! Suggestions learnt from the annotator: every accept and reject on a dataset teaches a small
//! per-dataset model ([`model::Logistic`] over [`features::Features`]) that gives each unreviewed
//! record `suggest` = P(the annotator would reject it), with reasons in words ([`reasons`]), says
//! how sure it is (cross-validated AUROC on the decisions), orders the review queue, and is saved
//! beside the review state ([`store`]). The TUI refits it in the background after each decision;
//! `sift suggest` fits it from the decisions saved so far.

pub mod features;
pub mod model;
pub mod reasons;
pub mod store;

pub use features::{FeatureInput, Features, JudgeValues, Scales};
pub use model::{FitOptions, Logistic};
pub use reasons::Evidence;

use crate::config::ConfigFile;
use crate::dataset::RecordText;
use crate::judge::{JudgeConfig, ModelSignals};
use crate::quality::heuristics::FlagConfig;
use crate::session::{Session, Status};

/// Decisions of each kind needed before the model is fitted.
pub const MIN_EACH: usize = 5;

/// Folds of the cross-validated AUROC.
pub const FOLDS: usize = 5;

/// Most decisions one fit learns from, and the cross-validation uses (evenly spaced when there are
/// more, e.g. after a bulk accept), so that a refit stays well under a second.
pub const MAX_FIT: usize = 2000;
pub const MAX_CV: usize = 500;

/// The settings suggestions are made under: the sections of `config.toml` that decide the flags
/// and judge signals the model learns from, `[judge]` ([`JudgeConfig`]) and `[flags]`
/// ([`FlagConfig`]). Nothing else in the file is read, so a front end's section (the TUI's
/// `[keys]`) cannot fail `sift suggest`.
#[derive(Clone, Debug, Default)]
pub struct SuggestConfig {
    pub judge: JudgeConfig,
    pub flags: FlagConfig,
}

impl SuggestConfig {
    /// The `[judge]` and `[flags]` sections of `file` (their defaults where it lacks them).
    pub fn read(file: &ConfigFile) -> anyhow::Result<SuggestConfig> {
        Ok(SuggestConfig { judge: file.section("judge")?, flags: file.section("flags")? })
    }
}

/// Why no suggestions could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuggestError {
    #[error(
        "suggestions need at least {MIN_EACH} accepted and {MIN_EACH} rejected (or needs-edit) records; \
         so far {accepted} accepted and {rejected} rejected"
    )]
    TooFew { accepted: usize, rejected: usize },
}

/// The decisions on a dataset as `(position, rejected)`: accepted = keep; rejected and needs-edit
/// = not. Unreviewed records are not decisions.
pub fn decisions(session: &Session) -> Vec<(usize, bool)> {
    (0..session.dataset().len())
        .filter_map(|p| match session.status(p) {
            Status::Unreviewed => None,
            Status::Accepted => Some((p, false)),
            Status::Rejected | Status::NeedsEdit => Some((p, true)),
        })
        .collect()
}

/// A model fitted to the decisions, with how sure it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Fitted {
    pub model: Logistic,
    pub accepted: usize,
    pub rejected: usize,
    /// Cross-validated AUROC on the decisions ([`FOLDS`] folds); None while too few for that.
    pub cv_auroc: Option<f64>,
}

impl Fitted {
    /// A one-line summary: "learnt from 12 accepted, 7 rejected; cross-validated AUROC 0.81".
    pub fn summary(&self) -> String {
        let sure = match self.cv_auroc {
            Some(a) if a.is_finite() => format!("cross-validated AUROC {a:.2}"),
            _ => "too few decisions to cross-validate".into(),
        };
        format!("learnt from {} accepted, {} rejected; {sure}", self.accepted, self.rejected)
    }
}

/// At most `max` decisions, evenly spaced.
fn thin(d: &[(usize, bool)], max: usize) -> Vec<(usize, bool)> {
    if d.len() <= max {
        return d.to_vec();
    }
    (0..max).map(|k| d[k * d.len() / max]).collect()
}

/// Fits the model to `decisions` (`(position, rejected)`); an error when there are fewer than
/// [`MIN_EACH`] of either kind.
pub fn fit(f: &Features, decisions: &[(usize, bool)], opts: FitOptions) -> Result<Fitted, SuggestError> {
    let rejected = decisions.iter().filter(|d| d.1).count();
    let accepted = decisions.len() - rejected;
    if rejected < MIN_EACH || accepted < MIN_EACH {
        return Err(SuggestError::TooFew { accepted, rejected });
    }
    let split = |d: &[(usize, bool)]| -> (Vec<usize>, Vec<bool>) { d.iter().copied().unzip() };
    let (rows, reject) = split(&thin(decisions, MAX_FIT));
    let model = Logistic::fit(f, &rows, &reject, opts);
    let (rows, reject) = split(&thin(decisions, MAX_CV));
    let cv_auroc = model::cv_auroc(f, &rows, &reject, opts, FOLDS);
    Ok(Fitted { model, accepted, rejected, cv_auroc })
}

/// Which record the review queue offers next.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueueMode {
    /// The unreviewed record most likely to be rejected.
    #[default]
    LikelyReject,
    /// The unreviewed record the model is least sure about (active learning).
    Uncertain,
}

impl QueueMode {
    /// The name shown and typed.
    pub fn name(self) -> &'static str {
        match self {
            QueueMode::LikelyReject => "likely-reject",
            QueueMode::Uncertain => "uncertain",
        }
    }

    /// Parses a mode name.
    pub fn from_name(s: &str) -> Option<QueueMode> {
        [QueueMode::LikelyReject, QueueMode::Uncertain].into_iter().find(|m| m.name() == s)
    }

    /// The other mode.
    pub fn toggled(self) -> QueueMode {
        match self {
            QueueMode::LikelyReject => QueueMode::Uncertain,
            QueueMode::Uncertain => QueueMode::LikelyReject,
        }
    }

    /// How early a record with suggestion `p` comes in the queue (higher first).
    fn priority(self, p: f32) -> f32 {
        match self {
            QueueMode::LikelyReject => p,
            QueueMode::Uncertain => -(p - 0.5).abs(),
        }
    }
}

/// The queue: `candidates` (the unreviewed records) ordered by `scores` under `mode`, ties in
/// position order; a NaN score comes last.
pub fn queue(scores: &[f32], candidates: impl Iterator<Item = usize>, mode: QueueMode) -> Vec<usize> {
    let key = |p: usize| {
        let s = scores.get(p).copied().unwrap_or(f32::NAN);
        if s.is_nan() { f32::NEG_INFINITY } else { mode.priority(s) }
    };
    let mut q: Vec<(f32, usize)> = candidates.map(|p| (key(p), p)).collect();
    q.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    q.into_iter().map(|(_, p)| p).collect()
}

/// The first record of the queue (see [`queue`]).
pub fn next(scores: &[f32], candidates: impl Iterator<Item = usize>, mode: QueueMode) -> Option<usize> {
    let key = |p: usize| {
        let s = scores.get(p).copied().unwrap_or(f32::NAN);
        if s.is_nan() { f32::NEG_INFINITY } else { mode.priority(s) }
    };
    candidates.map(|p| (key(p), p)).max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1))).map(|(_, p)| p)
}

/// What each flag adds to the prior of an unscored record.
const PRIOR_PER_FLAG: f32 = 0.6;

/// The order before the model exists (too few decisions): the generic judge's `1 - keep` where
/// the record was scored, else 0.6 per flag (capped at 1).
pub fn prior(inputs: &[FeatureInput]) -> Vec<f32> {
    inputs
        .iter()
        .map(|i| match i.judge {
            Some(j) => 1.0 - j.keep,
            None => (PRIOR_PER_FLAG * i.flags.len() as f32).min(1.0),
        })
        .collect()
}

/// Feature inputs for `texts`: their model-free flags (duplicates across `texts` included) and,
/// where `signals` has the model's measurements, the judge's scores and model flags.
pub fn inputs<'a>(
    texts: &[RecordText<'a>],
    signals: &[Option<ModelSignals>],
    judge: &JudgeConfig,
    flags: &FlagConfig,
) -> Vec<FeatureInput<'a>> {
    let heuristic = crate::quality::flag_dataset(texts, flags);
    texts
        .iter()
        .zip(heuristic)
        .enumerate()
        .map(|(i, (t, h))| {
            let a = crate::judge::assess(signals.get(i).and_then(Option::as_ref), t, &h, judge);
            FeatureInput {
                text: *t,
                flags: a.flags.into_iter().map(|f| f.name).collect(),
                judge: a.signals.map(|s| JudgeValues {
                    keep: s.keep,
                    continuation: s.continuation,
                    ifd: s.ifd,
                    ppl: s.ppl,
                    instruction_gain: s.instruction_gain,
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_orders_by_mode_and_skips_nothing() {
        let s = [0.9, 0.1, 0.55, f32::NAN, 0.3];
        assert_eq!(queue(&s, 0..5, QueueMode::LikelyReject), vec![0, 2, 4, 1, 3]);
        assert_eq!(queue(&s, 0..5, QueueMode::Uncertain), vec![2, 4, 0, 1, 3]);
        assert_eq!(next(&s, [1, 2, 4].into_iter(), QueueMode::LikelyReject), Some(2));
        assert_eq!(next(&s, [1, 4].into_iter(), QueueMode::Uncertain), Some(4));
        assert_eq!(next(&s, std::iter::empty(), QueueMode::Uncertain), None);
        // Ties go in position order.
        assert_eq!(next(&[0.5, 0.5], 0..2, QueueMode::LikelyReject), Some(0));
    }

    #[test]
    fn too_few_decisions_is_a_clear_error() {
        let f = Features::build(&vec![FeatureInput::default(); 3]);
        let e = fit(&f, &[(0, true), (1, false), (2, false)], FitOptions::default()).unwrap_err();
        assert_eq!(e, SuggestError::TooFew { accepted: 2, rejected: 1 });
        assert!(e.to_string().contains("so far 2 accepted and 1 rejected"), "{e}");
    }
}
