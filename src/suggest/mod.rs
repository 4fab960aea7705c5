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

/// How much stronger than [`FitOptions`]' the L2 strengths may be: [`fit`] takes the one with the
/// best cross-validated AUROC on the decisions, or the prior alone unless one beats it by
/// [`MARGIN`].
pub const STRENGTHS: [f32; 3] = [1.0, 8.0, 64.0];

/// How much stronger than [`FitOptions::l2_hidden`] the embedding's L2 strength may be, when the
/// features have one ([`Features::with_embedding`]); [`fit`] also tries the model without it.
pub const HIDDEN_STRENGTHS: [f32; 3] = [1.0, 8.0, 64.0];

/// How much better (cross-validated AUROC on the decisions) a fitted model must be than the prior
/// alone for [`fit`] to use it: at least this, and `0.5 / sqrt(decisions of the rarer kind)`, about
/// the noise of an AUROC measured on so few (0.16 with 10 keeps, 0.05 with 100).
pub const MARGIN: f64 = 0.02;

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

/// Fits the model to `decisions` (`(position, rejected)`), its L2 strength chosen among
/// [`STRENGTHS`] times `opts` by cross-validated AUROC on the decisions (ties go to the weaker,
/// which fits the decisions closer: the fallback below guards against overfitting),
/// or the prior alone ([`Logistic::prior_only`]) unless that model beats the prior's AUROC on the
/// same decisions by [`MARGIN`] (more with few decisions); an error when there are fewer than [`MIN_EACH`] of either kind.
pub fn fit(f: &Features, decisions: &[(usize, bool)], opts: FitOptions) -> Result<Fitted, SuggestError> {
    let rejected = decisions.iter().filter(|d| d.1).count();
    let accepted = decisions.len() - rejected;
    if rejected < MIN_EACH || accepted < MIN_EACH {
        return Err(SuggestError::TooFew { accepted, rejected });
    }
    let split = |d: &[(usize, bool)]| -> (Vec<usize>, Vec<bool>) { d.iter().copied().unzip() };
    let (rows, reject) = split(&thin(decisions, MAX_CV));
    let mut best: Option<(f64, FitOptions)> = None;
    let hidden: Vec<f32> = if f.dim() > features::DIM {
        std::iter::once(f32::INFINITY).chain(HIDDEN_STRENGTHS.iter().map(|h| h * opts.l2_hidden)).collect()
    } else {
        vec![opts.l2_hidden]
    };
    for k in STRENGTHS {
        for &h in &hidden {
            let o = FitOptions { l2_hidden: h, ..opts.stronger(k) };
            let Some(a) = model::cv_auroc(f, &rows, &reject, o, FOLDS).filter(|a| a.is_finite()) else { continue };
            if best.is_none_or(|b| a > b.0 + 1e-9) {
                best = Some((a, o));
            }
        }
    }
    // The prior needs no fitting to rank: its AUROC on the same decisions.
    let prior: Vec<f64> = rows.iter().map(|&p| f.dense(p)[features::PRIOR] as f64).collect();
    let prior_auroc = crate::judge::devset::auroc(&prior, &reject);
    let rarer = reject.iter().filter(|&&r| r).count().min(reject.iter().filter(|&&r| !r).count());
    let margin = MARGIN.max(0.5 / (rarer.max(1) as f64).sqrt()) / prior_coverage(f, decisions).max(0.1);
    let (rows, reject) = split(&thin(decisions, MAX_FIT));
    let (model, cv_auroc) = match best {
        Some((a, o)) if a >= prior_auroc + margin => (Logistic::fit(f, &rows, &reject, o), a),
        _ => (Logistic::prior_only(f, &rows, &reject), prior_auroc),
    };
    Ok(Fitted { model, accepted, rejected, cv_auroc: Some(cv_auroc).filter(|a| a.is_finite()) })
}

/// How much of the prior's range the decisions cover: the share of the prior's deciles over all
/// records (fewer where values tie) that hold at least one decision. A review queue decides the
/// records the prior ranks first, and a model that beats the prior there has been tried on that
/// corner only; [`fit`] divides its margin by this (at least 0.1), so a model learnt from one corner
/// must beat the prior by far more before it ranks the rest.
pub fn prior_coverage(f: &Features, decisions: &[(usize, bool)]) -> f64 {
    let mut all: Vec<f32> = (0..f.len()).map(|p| f.dense(p)[features::PRIOR]).collect();
    if all.is_empty() {
        return 1.0;
    }
    all.sort_by(f32::total_cmp);
    let mut cuts: Vec<f32> = (1..10).map(|k| all[k * all.len() / 10]).collect();
    cuts.dedup();
    let bin = |v: f32| cuts.partition_point(|&c| c <= v);
    let mut used = vec![false; cuts.len() + 1];
    for &(p, _) in decisions {
        used[bin(f.dense(p)[features::PRIOR])] = true;
    }
    let occupied: std::collections::BTreeSet<usize> = all.iter().map(|&v| bin(v)).collect();
    occupied.iter().filter(|&&b| used[b]).count() as f64 / occupied.len() as f64
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

/// The order before the model exists (too few decisions), and what the model starts from:
/// [`features::prior`] of each record (the judge's `1 - keep` and the flags' measured precision).
pub fn prior(inputs: &[FeatureInput]) -> Vec<f32> {
    inputs.iter().map(|i| features::prior(i.judge.map(|j| j.keep), i.flags.iter().map(String::as_str))).collect()
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
    fn learns_what_the_judge_does_not_see_and_otherwise_ranks_like_the_judge() {
        // The judge likes the terse answers (keep 0.9) and dislikes some full ones (keep 0.2);
        // this annotator rejects every answer of fewer than five words and keeps the rest.
        let long = "It works because the parts move together, and each step follows from the last one.";
        let topics: Vec<String> = (0..120).map(|i| format!("Explain topic number {i} in a sentence.")).collect();
        let judge =
            |keep: f32| Some(JudgeValues { keep, continuation: 0.1, ifd: 0.8, ppl: 20.0, instruction_gain: 0.5 });
        let inputs: Vec<FeatureInput> = topics
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let terse = i % 3 == 0;
                let keep = if terse {
                    0.9
                } else if i % 3 == 1 {
                    0.2
                } else {
                    0.6
                };
                FeatureInput {
                    text: RecordText { instruction: c, input: "", output: if terse { "Yes." } else { long } },
                    flags: Vec::new(),
                    judge: judge(keep),
                }
            })
            .collect();
        let f = Features::build(&inputs);
        let terse = |p: usize| p.is_multiple_of(3);
        // Before any decision the order is the judge's: the terse answers come last.
        let before = queue(&prior(&inputs), 0..120, QueueMode::LikelyReject);
        assert!(before[..40].iter().all(|&p| !terse(p)), "{before:?}");
        // After 36 decisions the terse answers lead the queue of the rest.
        let decided: Vec<(usize, bool)> = (0..36).map(|p| (p, terse(p))).collect();
        let fitted = fit(&f, &decided, FitOptions::default()).unwrap();
        let scores = fitted.model.predict_all(&f);
        let after = queue(&scores, 36..120, QueueMode::LikelyReject);
        assert!(after[..28].iter().all(|&p| terse(p)), "{after:?}");
        assert!(fitted.cv_auroc.unwrap() > 0.9, "{:?}", fitted.cv_auroc);

        // An annotator who agrees with the judge: the model keeps the judge's order.
        let agree: Vec<(usize, bool)> = (0..36).map(|p| (p, p % 3 == 1)).collect();
        let fitted = fit(&f, &agree, FitOptions::default()).unwrap();
        let scores = fitted.model.predict_all(&f);
        let after = queue(&scores, 36..120, QueueMode::LikelyReject);
        assert!(after[..28].iter().all(|&p| p % 3 == 1), "{after:?}");
    }

    #[test]
    fn an_embedding_that_tells_the_classes_apart_is_learnt_and_otherwise_left_out() {
        // Every record reads the same; only the embedding (e.g. the model's hidden state) differs:
        // the annotator rejects the records whose first column is high.
        let inputs = vec![
            FeatureInput {
                text: RecordText { instruction: "Name a colour.", input: "", output: "Blue." },
                ..Default::default()
            };
            60
        ];
        let reject = |p: usize| p.is_multiple_of(3);
        let wobble = |p: usize, k: usize| ((p * 7 + k * 13) % 11) as f32 / 11.0 - 0.5;
        let rows: Vec<Option<Vec<f32>>> = (0..60)
            .map(|p| {
                (p != 59).then(|| (0..4).map(|k| wobble(p, k) + if k == 0 && reject(p) { 2.0 } else { 0.0 }).collect())
            })
            .collect();
        let f = Features::build(&inputs).with_embedding(&rows, 1.0);
        assert_eq!(f.dim(), features::DIM + 4);
        let decided: Vec<(usize, bool)> = (0..40).map(|p| (p, reject(p))).collect();
        let fitted = fit(&f, &decided, FitOptions::default()).unwrap();
        assert!(fitted.cv_auroc.unwrap() > 0.9, "{:?}", fitted.cv_auroc);
        let s = fitted.model.predict_all(&f);
        for (p, &v) in s.iter().enumerate().take(59).skip(40) {
            assert_eq!(v > 0.5, reject(p), "record {p}: {v}");
        }
        // A record without an embedding sits at the mean: between the two kinds.
        assert!(s[59] > s[40] && s[59] < s[42], "{} {} {}", s[40], s[59], s[42]);
        // Without the embedding nothing tells them apart: the prior alone, the same for all.
        let plain = fit(&Features::build(&inputs), &decided, FitOptions::default()).unwrap();
        assert!(plain.model.w.iter().skip(features::PRIOR + 1).all(|&w| w == 0.0));
    }

    #[test]
    fn decisions_from_one_corner_of_the_prior_cover_little_of_it() {
        let judge =
            |keep: f32| Some(JudgeValues { keep, continuation: 0.1, ifd: 0.8, ppl: 20.0, instruction_gain: 0.5 });
        let inputs: Vec<FeatureInput> = (0..100)
            .map(|i| FeatureInput {
                text: RecordText { instruction: "Name a colour.", input: "", output: "Blue." },
                flags: Vec::new(),
                judge: judge(i as f32 / 100.0),
            })
            .collect();
        let f = Features::build(&inputs);
        // The ten records the prior ranks first (lowest keep) against one record in each tenth.
        let corner: Vec<(usize, bool)> = (0..10).map(|p| (p, p % 2 == 0)).collect();
        let spread: Vec<(usize, bool)> = (0..10).map(|k| (k * 10 + 5, k % 2 == 0)).collect();
        assert!((prior_coverage(&f, &corner) - 0.1).abs() < 1e-9, "{}", prior_coverage(&f, &corner));
        assert!((prior_coverage(&f, &spread) - 1.0).abs() < 1e-9, "{}", prior_coverage(&f, &spread));
    }

    #[test]
    fn too_few_decisions_is_a_clear_error() {
        let f = Features::build(&vec![FeatureInput::default(); 3]);
        let e = fit(&f, &[(0, true), (1, false), (2, false)], FitOptions::default()).unwrap_err();
        assert_eq!(e, SuggestError::TooFew { accepted: 2, rejected: 1 });
        assert!(e.to_string().contains("so far 2 accepted and 1 rejected"), "{e}");
    }
}
