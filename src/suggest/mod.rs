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
/// best cross-validated AUROC on the decisions, or the prior alone unless it passes [`fit`]'s test.
pub const STRENGTHS: [f32; 3] = [1.0, 8.0, 64.0];

/// How much stronger than [`FitOptions::l2_hidden`] the embedding's L2 strength may be, when the
/// features have one ([`Features::with_embedding`]); [`fit`] also tries the model without it.
pub const HIDDEN_STRENGTHS: [f32; 3] = [1.0, 8.0, 64.0];

/// Least gain in AUROC a fitted model must show over the prior ([`fit`]'s test) to be used.
pub const MARGIN: f64 = 0.02;

/// Bins of the prior [`fit`]'s test compares records within ([`within_bins`]).
pub const BINS: usize = 5;

/// One-sided z of [`fit`]'s test: the gain must exceed this many standard errors (95%).
pub const Z: f64 = 1.645;

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
    /// Cross-validated AUROC on the decisions ([`FOLDS`] folds) of the model in use (the prior's
    /// own AUROC when the prior alone is used); None while too few for that.
    pub cv_auroc: Option<f64>,
    /// The prior's (the judge's and the flags') AUROC on the same decisions.
    pub judge_auroc: Option<f64>,
}

impl Fitted {
    /// Whether the decisions taught the model anything beyond the prior: a weight on some other
    /// feature. Otherwise suggestions rank records exactly as the judge and the flags do.
    pub fn learnt(&self) -> bool {
        self.model.w.iter().enumerate().any(|(j, &w)| j != features::PRIOR && w != 0.0)
    }

    /// A one-line summary that says whether the decisions taught anything the judge does not know:
    /// "learnt from 12 accepted, 7 rejected: ranks them better than the judge (cross-validated
    /// AUROC 0.86, the judge's 0.74)", or "12 accepted, 7 rejected: nothing learnt beyond the judge
    /// yet, whose AUROC on them is 0.79; suggest follows the judge".
    pub fn summary(&self) -> String {
        let two = |a: Option<f64>| a.filter(|a| a.is_finite()).map(|a| format!("{a:.2}"));
        let (a, r) = (self.accepted, self.rejected);
        if self.learnt() {
            let sure = match (two(self.cv_auroc), two(self.judge_auroc)) {
                (Some(cv), Some(j)) => {
                    format!(": ranks them better than the judge (cross-validated AUROC {cv}, the judge's {j})")
                }
                (Some(cv), None) => format!("; cross-validated AUROC {cv}"),
                _ => "; too few decisions to cross-validate".into(),
            };
            format!("learnt from {a} accepted, {r} rejected{sure}")
        } else {
            let on = two(self.judge_auroc).map(|j| format!(", whose AUROC on them is {j}")).unwrap_or_default();
            format!("{a} accepted, {r} rejected: nothing learnt beyond the judge yet{on}; suggest follows the judge")
        }
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
/// [`STRENGTHS`] times `opts` by cross-validated AUROC on the decisions (ties go to the weaker), or
/// the prior alone ([`Logistic::prior_only`]) unless that model passes a test: its cross-validated
/// scores must rank the decisions better than the prior does, by at least [`MARGIN`] and by [`Z`]
/// standard errors (DeLong's, at least Hanley and McNeil's bound with few decisions), over
/// all decisions or among the records the prior rates alike (within [`BINS`] bins of the prior:
/// [`within_bins`]). The second asks whether the model knows something the prior does not, which
/// carries over to the records the prior ranks elsewhere; over all decisions the prior's own
/// ranking dominates, most of all when a review queue decided only the records it ranks first.
/// An error when there are fewer than [`MIN_EACH`] decisions of either kind.
pub fn fit(f: &Features, decisions: &[(usize, bool)], opts: FitOptions) -> Result<Fitted, SuggestError> {
    let rejected = decisions.iter().filter(|d| d.1).count();
    let accepted = decisions.len() - rejected;
    if rejected < MIN_EACH || accepted < MIN_EACH {
        return Err(SuggestError::TooFew { accepted, rejected });
    }
    let split = |d: &[(usize, bool)]| -> (Vec<usize>, Vec<bool>) { d.iter().copied().unzip() };
    let (rows, reject) = split(&thin(decisions, MAX_CV));
    let mut best: Option<(f64, FitOptions, Vec<f64>)> = None;
    let hidden: Vec<f32> = if f.dim() > features::DIM {
        std::iter::once(f32::INFINITY).chain(HIDDEN_STRENGTHS.iter().map(|h| h * opts.l2_hidden)).collect()
    } else {
        vec![opts.l2_hidden]
    };
    for k in STRENGTHS {
        for &h in &hidden {
            let o = FitOptions { l2_hidden: h, ..opts.stronger(k) };
            let Some(m) = model::cv_margins(f, &rows, &reject, o, FOLDS) else { continue };
            let a = crate::judge::devset::auroc(&m, &reject);
            if a.is_finite() && best.as_ref().is_none_or(|b| a > b.0 + 1e-9) {
                best = Some((a, o, m));
            }
        }
    }
    // The prior needs no fitting to rank: its AUROC on the same decisions.
    let prior: Vec<f64> = rows.iter().map(|&p| f.dense(p)[features::PRIOR] as f64).collect();
    let prior_auroc = crate::judge::devset::auroc(&prior, &reject);
    // DeLong's standard error is itself unsure with few decisions of a kind: it is taken to be at
    // least Hanley and McNeil's bound on an AUROC's, sqrt(A (1 - A) / rarer), which vanishes only
    // for a model that separates the decisions outright.
    let rarer = reject.iter().filter(|&&r| r).count().min(reject.iter().filter(|&&r| !r).count());
    let passes = |a: f64, m: &[f64]| {
        let floor = (a * (1.0 - a) / rarer.max(1) as f64).sqrt();
        let beats = |(gain, se): (f64, f64)| gain >= MARGIN.max(Z * se.max(floor));
        beats(crate::judge::devset::auroc_gain(m, &prior, &reject)) || beats(within_bins(m, &prior, &reject, BINS))
    };
    let (rows, reject) = split(&thin(decisions, MAX_FIT));
    let (model, cv_auroc) = match best {
        Some((a, o, m)) if passes(a, &m) => (Logistic::fit(f, &rows, &reject, o), a),
        _ => (Logistic::prior_only(f, &rows, &reject), prior_auroc),
    };
    let finite = |a: f64| Some(a).filter(|a| a.is_finite());
    Ok(Fitted { model, accepted, rejected, cv_auroc: finite(cv_auroc), judge_auroc: finite(prior_auroc) })
}

/// How much better `a` ranks `reject` than `b` does among records that `b` rates alike: the
/// records cut into `bins` bins of equal size by `b`, [`crate::judge::devset::auroc_gain`] within
/// each bin that holds at least 3 of each kind, averaged by its number of (reject, keep) pairs.
/// Returns the gain and its standard error; NaN when no bin qualifies.
pub fn within_bins(a: &[f64], b: &[f64], reject: &[bool], bins: usize) -> (f64, f64) {
    let mut idx: Vec<usize> = (0..b.len()).collect();
    idx.sort_by(|&i, &j| b[i].total_cmp(&b[j]));
    let (mut num, mut var, mut den) = (0.0, 0.0, 0.0);
    for k in 0..bins {
        let part = &idx[k * idx.len() / bins..(k + 1) * idx.len() / bins];
        let pa: Vec<f64> = part.iter().map(|&i| a[i]).collect();
        let pb: Vec<f64> = part.iter().map(|&i| b[i]).collect();
        let pr: Vec<bool> = part.iter().map(|&i| reject[i]).collect();
        let pos = pr.iter().filter(|&&r| r).count() as f64;
        let neg = pr.len() as f64 - pos;
        if pos.min(neg) < 3.0 {
            continue;
        }
        let w = pos * neg;
        let (g, se) = crate::judge::devset::auroc_gain(&pa, &pb, &pr);
        num += w * g;
        var += w * w * se * se;
        den += w;
    }
    if den == 0.0 { (f64::NAN, f64::NAN) } else { (num / den, var.sqrt() / den) }
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
        assert!(fitted.learnt(), "{fitted:?}");
        let said = fitted.summary();
        assert!(said.starts_with("learnt from 24 accepted, 12 rejected: ranks them better than the judge"), "{said}");

        // An annotator who agrees with the judge: the model keeps the judge's order, and says so.
        let agree: Vec<(usize, bool)> = (0..36).map(|p| (p, p % 3 == 1)).collect();
        let fitted = fit(&f, &agree, FitOptions::default()).unwrap();
        assert!(!fitted.learnt(), "{fitted:?}");
        let said = fitted.summary();
        assert_eq!(
            said,
            "24 accepted, 12 rejected: nothing learnt beyond the judge yet, whose AUROC on them is 1.00; suggest follows the judge"
        );
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
    fn a_rule_learnt_from_the_queues_corner_ranks_the_rest_and_noise_there_is_not_learnt() {
        // The judge ranks records by keep = pos / 400; every 4th response is a list. The annotator
        // rejects what the judge calls bad (keep < 0.25) and every list.
        let judge =
            |keep: f32| Some(JudgeValues { keep, continuation: 0.1, ifd: 0.8, ppl: 20.0, instruction_gain: 0.5 });
        let prompts: Vec<String> = (0..400).map(|i| format!("Tell me about subject number {i}.")).collect();
        let list = |p: usize| p.is_multiple_of(4);
        let inputs: Vec<FeatureInput> = (0..400)
            .map(|p| FeatureInput {
                text: RecordText {
                    instruction: &prompts[p],
                    input: "",
                    output: if list(p) { "- one thing\n- another thing\n- a third" } else { "It is a fine subject." },
                },
                flags: Vec::new(),
                judge: judge(p as f32 / 400.0),
            })
            .collect();
        let f = Features::build(&inputs);
        // A likely-reject queue decided the 160 the judge ranks worst: 100 bad, then 15 lists among 60.
        let decided: Vec<(usize, bool)> = (0..160).map(|p| (p, p < 100 || list(p))).collect();
        let fitted = fit(&f, &decided, FitOptions::default()).unwrap();
        let s = fitted.model.predict_all(&f);
        // Each list in the rest now comes before the records the judge rates the same or worse.
        for p in (160..400).filter(|&p| list(p)) {
            assert!(s[p] > s[p + 1] && s[p] > s[p - 1], "{p}: {} {} {}", s[p - 1], s[p], s[p + 1]);
        }

        // The same corner decided at random (seeded): nothing to learn, the prior is kept.
        let mut rng = crate::rng::SplitMix64(3);
        let noise: Vec<(usize, bool)> = (0..160).map(|p| (p, rng.next_unit() < 0.6)).collect();
        let fitted = fit(&f, &noise, FitOptions::default()).unwrap();
        assert!(fitted.model.w.iter().enumerate().all(|(j, &w)| w == if j == features::PRIOR { 1.0 } else { 0.0 }));
    }

    #[test]
    fn within_bins_counts_only_pairs_the_prior_rates_alike() {
        // b orders the two halves right and each half at random; a also orders inside the halves.
        let b = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let a = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5];
        let y = [false, false, false, true, true, true, false, false, false, true, true, true];
        let (gain, se) = within_bins(&a, &b, &y, 2);
        // Within each half a ranks every pair right (1.0) and b none (0.5).
        assert!((gain - 0.5).abs() < 1e-12 && se < 1e-12, "{gain} {se}");
        // Bins with fewer than 3 of a kind are left out: none here.
        assert!(within_bins(&a, &b, &y, 4).0.is_nan());
    }

    #[test]
    fn too_few_decisions_is_a_clear_error() {
        let f = Features::build(&vec![FeatureInput::default(); 3]);
        let e = fit(&f, &[(0, true), (1, false), (2, false)], FitOptions::default()).unwrap_err();
        assert_eq!(e, SuggestError::TooFew { accepted: 2, rejected: 1 });
        assert!(e.to_string().contains("so far 2 accepted and 1 rejected"), "{e}");
    }
}
