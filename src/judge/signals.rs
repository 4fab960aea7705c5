//! Per-record signals: what the model measured ([`ModelSignals`], cached), text cues, and the derived
//! scores ([`Signals`]: IFD, instruction gain, continuation, keep).
//!
//! All losses are mean per-token negative log-likelihoods in nats over the response tokens only;
//! see [`ModelSignals`] for the exact contexts.

use serde::{Deserialize, Serialize};

/// A stretch of the response the model found surprising: byte range in `y` and its NLL (nats).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Surprise {
    pub start: u32,
    pub end: u32,
    pub nll: f32,
}

/// What one model measured on one record. `s(y|x)` is the mean NLL of the response tokens
/// `tok(y)` appended to `[BOS] + tok(x)`; the response tokens are the same in every context.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelSignals {
    /// `s(y | template(c, z))` over the whole response.
    pub nll_cz: f32,
    /// `s(y | template(c, z))` over the response tokens IFD compares (`compare_tokens`, see
    /// [`super::EngineOptions`]; the whole response by default): IFD's numerator.
    #[serde(default)]
    pub nll_cz_ifd: f32,
    /// `s(y | template(c, z))` over the first `context_tokens` response tokens, which the input-only
    /// and raw contexts score: the left side of the instruction gain and the raw fit.
    #[serde(default)]
    pub nll_cz_head: f32,
    /// `s(y | z + "\n\n")` over the first `context_tokens`; without an input, the alone context's
    /// loss over the same tokens.
    pub nll_z: f32,
    /// `s(y | alone)` over the tokens IFD compares: the template's alone context ([`super::Template::alone`]: the bare `### Response:` header for Alpaca, as Cherry scores it; empty for the plain layouts, so
    /// `y` follows BOS directly and its first token is scored given BOS). A model without BOS gets a
    /// single `"\n"` as context instead, so the first response token is always scored.
    pub nll_y: f32,
    /// `s(y | alone)` over the first `context_tokens`, beside `nll_cz_head`: the continuation score's
    /// IFD compares the opening of the response, where a continuation shows.
    #[serde(default)]
    pub nll_y_head: f32,
    /// `s(y | c + "\n\n" + z + "\n")` over the first `context_tokens`: plain text, no template.
    pub nll_raw: f32,
    /// Mean NLL of the first `first_tokens` response tokens under the template.
    pub first_cz: f32,
    /// Mean NLL of the first `first_tokens` response tokens under the raw layout.
    pub first_raw: f32,
    /// Number of response tokens scored.
    pub tokens: u32,
    /// Bytes of the response those tokens cover (0: not recorded, the whole response).
    #[serde(default)]
    pub scored_bytes: u32,
    /// Whether the response or a context was cut to fit the token limit.
    pub truncated: bool,
    /// The most surprising response tokens under the template, in text order.
    pub surprising: Vec<Surprise>,
}

/// Text-only cues that a response carries on its input or instruction instead of answering.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SurfaceCues {
    /// The response begins with a lowercase letter or mid-sentence punctuation.
    pub starts_lowercase: bool,
    /// The first word is an anaphor pointing back ("This", "It", "These", "He", "She", "They", ...).
    pub anaphor: Option<String>,
    /// The input ends without closing its sentence and the response starts lowercase.
    pub continues_input: bool,
    /// The response opens like an answer (yes/no, "Here", "The answer", a list or a heading).
    pub answer_opening: bool,
    /// Share of the content words among the response's first 12 words that occur in the instruction.
    pub echoes_instruction: f32,
    /// Share of the response's content words that occur in the input.
    pub input_vocab: f32,
    /// Share of the response's word trigrams that occur in the input (copying).
    pub input_trigrams: f32,
    /// Share of the content words of the response's first sentence that occur in the instruction
    /// or the input: an answer opens with what it was given, a continuation moves on to what comes
    /// next. The whole input, not its last sentence, so that an answer drawn from the middle of a
    /// long passage counts as grounded.
    #[serde(default)]
    pub opening_grounded: f32,
    /// Share of the input's words that the response repeats verbatim in runs of [`COPY_RUN`]
    /// words or more (0 for an input under [`COPY_MIN_INPUT_WORDS`] words).
    #[serde(default)]
    pub input_copied: f32,
    /// Response words outside those copied runs: what the response adds to the copy.
    #[serde(default)]
    pub added_words: u32,
    /// The instruction asks to change the given text (rewrite, correct, add to, rearrange...), so a
    /// response that repeats most of it is doing the task.
    #[serde(default)]
    pub edit_task: bool,
    /// A line of the response that goes on with the prompt's own form (`### Instruction:`,
    /// `### Input:`, `### Response:`, `Instruction:`), as a model continuing the prompt text writes.
    #[serde(default)]
    pub prompt_line: Option<String>,
}

/// Shortest run of words counted as copied from the input.
pub const COPY_RUN: usize = 6;
/// Inputs shorter than this (in words) are never counted as copied: a short input repeated is a
/// quote, not a restated passage.
pub const COPY_MIN_INPUT_WORDS: usize = 20;
/// Share of the input a response must repeat to count as restating it.
pub const RESTATED: f32 = 0.8;

/// The share of `zw` that `yw` repeats in runs of at least [`COPY_RUN`] words, and which words of
/// `yw` lie in such runs.
fn copied_runs(zw: &[String], yw: &[String]) -> (f32, Vec<bool>) {
    use std::collections::HashSet;
    let mut ymask = vec![false; yw.len()];
    if zw.len() < COPY_MIN_INPUT_WORDS || yw.len() < COPY_RUN {
        return (0.0, ymask);
    }
    let zg: HashSet<&[String]> = zw.windows(COPY_RUN).collect();
    let yg: HashSet<&[String]> = yw.windows(COPY_RUN).collect();
    let mut zmask = vec![false; zw.len()];
    for (i, g) in zw.windows(COPY_RUN).enumerate() {
        if yg.contains(g) {
            zmask[i..i + COPY_RUN].fill(true);
        }
    }
    for (i, g) in yw.windows(COPY_RUN).enumerate() {
        if zg.contains(g) {
            ymask[i..i + COPY_RUN].fill(true);
        }
    }
    (zmask.iter().filter(|&&b| b).count() as f32 / zw.len() as f32, ymask)
}

/// The first response line that carries on the prompt's own form, if any. `Instruction:` counts
/// only when the instruction does not itself ask for instructions or prompts.
fn prompt_line(c: &str, y: &str) -> Option<String> {
    let lc = c.to_lowercase();
    let asks_for_prompts = ["instruction", "prompt", "task"].iter().any(|w| lc.contains(w));
    y.lines().map(str::trim).find_map(|l| {
        let marker = ["### Instruction", "### Input", "### Response"].iter().any(|m| l.starts_with(m))
            || (!asks_for_prompts && l.starts_with("Instruction:"));
        marker.then(|| l.chars().take(40).collect())
    })
}

const ANAPHORS: [&str; 14] =
    ["this", "it", "these", "those", "that", "he", "she", "they", "which", "its", "their", "his", "her", "such"];
const ANSWER_OPENINGS: [&str; 14] = [
    "yes",
    "no",
    "here",
    "the answer",
    "answer",
    "sure",
    "certainly",
    "1.",
    "1)",
    "-",
    "*",
    "#",
    "the following",
    "in summary",
];
const STOPWORDS: [&str; 40] = [
    "the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "with", "is", "are", "was", "were", "be", "by", "as",
    "at", "that", "this", "it", "from", "its", "their", "they", "he", "she", "has", "have", "had", "not", "but", "can",
    "will", "which", "these", "those", "into", "also",
];

/// Lowercase alphanumeric words.
pub fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

fn content(ws: &[String]) -> impl Iterator<Item = &String> {
    ws.iter().filter(|w| w.len() > 2 && !STOPWORDS.contains(&w.as_str()))
}

fn share<'a>(items: impl Iterator<Item = &'a String>, set: &std::collections::HashSet<&str>) -> f32 {
    let (mut n, mut hit) = (0usize, 0usize);
    for w in items {
        n += 1;
        hit += set.contains(w.as_str()) as usize;
    }
    if n == 0 { 0.0 } else { hit as f32 / n as f32 }
}

impl SurfaceCues {
    /// Cues of response `y` against instruction `c` and input `z`.
    pub fn of(c: &str, z: &str, y: &str) -> SurfaceCues {
        let y = y.trim_start();
        let first = y.chars().next();
        let starts_lowercase = first.is_some_and(|ch| ch.is_lowercase() || ",;:)".contains(ch));
        let yw = words(y);
        let anaphor = yw.first().filter(|w| ANAPHORS.contains(&w.as_str())).map(|_| {
            y.split_whitespace().next().unwrap_or("").trim_matches(|c: char| !c.is_alphanumeric()).to_string()
        });
        let zt = z.trim_end();
        let z_open = !zt.is_empty() && !zt.ends_with(['.', '!', '?', '"', '\'', ')', ':', '”']);
        let ly = y.to_lowercase();
        let answer_opening = ANSWER_OPENINGS.iter().any(|o| {
            ly.starts_with(o)
                && ly[o.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric() || !o.ends_with(char::is_alphanumeric))
        });
        let cw = words(c);
        let cset: std::collections::HashSet<&str> = content(&cw).map(String::as_str).collect();
        let zw = words(z);
        let zset: std::collections::HashSet<&str> = content(&zw).map(String::as_str).collect();
        let head: Vec<String> = yw.iter().take(12).cloned().collect();
        let ztri: std::collections::HashSet<(&str, &str, &str)> =
            zw.windows(3).map(|t| (t[0].as_str(), t[1].as_str(), t[2].as_str())).collect();
        let ytri: Vec<_> = yw.windows(3).map(|t| (t[0].as_str(), t[1].as_str(), t[2].as_str())).collect();
        let input_trigrams = if ytri.is_empty() {
            0.0
        } else {
            ytri.iter().filter(|t| ztri.contains(t)).count() as f32 / ytri.len() as f32
        };
        let (input_copied, copied) = copied_runs(&zw, &yw);
        let added: Vec<String> = yw.iter().zip(&copied).filter(|(_, c)| !**c).map(|(w, _)| w.clone()).collect();
        // A response that restates the input is grounded by what it adds, not by the copy: the
        // grounding cues then look at the added words only (copied text is no evidence of an
        // answer drawn from the passage).
        let restated = input_copied >= RESTATED;
        let opening = if restated {
            added.iter().take(20).cloned().collect()
        } else {
            words(super::devset::sentences(y).first().copied().unwrap_or(""))
        };
        let (input_vocab, input_trigrams) = if restated {
            let tri: Vec<_> = added.windows(3).map(|t| (t[0].as_str(), t[1].as_str(), t[2].as_str())).collect();
            let hit = tri.iter().filter(|t| ztri.contains(t)).count();
            (share(content(&added), &zset), if tri.is_empty() { 0.0 } else { hit as f32 / tri.len() as f32 })
        } else {
            (share(content(&yw), &zset), input_trigrams)
        };
        let given: std::collections::HashSet<&str> = cset.union(&zset).copied().collect();
        let lc = c.to_lowercase();
        SurfaceCues {
            opening_grounded: share(content(&opening), &given),
            starts_lowercase,
            anaphor,
            continues_input: z_open && starts_lowercase,
            answer_opening,
            echoes_instruction: share(content(&head), &cset),
            input_vocab,
            input_trigrams,
            input_copied,
            added_words: added.len() as u32,
            edit_task: crate::quality::phrases::EDIT_CUES.iter().any(|cue| lc.contains(cue))
                || ["continue", "complete", "extend", "expand", "finish"].iter().any(|cue| lc.contains(cue)),
            prompt_line: prompt_line(c, y),
        }
    }
}

/// Share of the response's word 4-grams that repeat an earlier 4-gram, or of its non-empty lines
/// that repeat an earlier line, whichever is larger (0 = no repetition).
pub fn repetition(y: &str) -> f32 {
    let w = words(y);
    let grams = if w.len() < 8 {
        0.0
    } else {
        let mut seen = std::collections::HashSet::new();
        let total = w.len() - 3;
        let rep = w.windows(4).filter(|g| !seen.insert(*g)).count();
        rep as f32 / total as f32
    };
    let lines: Vec<&str> = y.lines().map(str::trim).filter(|l| l.len() > 3).collect();
    let line_rep = if lines.len() < 3 {
        0.0
    } else {
        let mut seen = std::collections::HashSet::new();
        lines.iter().filter(|l| !seen.insert(**l)).count() as f32 / lines.len() as f32
    };
    grams.max(line_rep)
}

/// Number of continuation features.
pub const N_FEATURES: usize = 17;

/// Names of the continuation features, in [`continuation_features`] order.
pub const FEATURE_NAMES: [&str; N_FEATURES] = [
    "neg_instruction_gain",
    "raw_fit",
    "first_tokens_raw_fit",
    "ifd",
    "starts_lowercase",
    "anaphor",
    "continues_input",
    "answer_opening",
    "echoes_instruction",
    "input_vocab",
    "input_trigrams",
    "log_ppl",
    "neg_instruction_gain_x_length",
    "ifd_x_length",
    "opening_grounded",
    "copy_then_extend",
    "prompt_line",
];

/// Features whose weights are set by hand, not fitted: the synthetic dev set's copies start at a
/// sentence boundary and never restate the input or the prompt, so a fit learns nothing (or an
/// artefact) about them. Their values are in [`ContinuationWeights::default`].
pub const HAND_SET: [&str; 4] = ["starts_lowercase", "continues_input", "copy_then_extend", "prompt_line"];

/// How far a response restates its input and goes on with more: [`SurfaceCues::input_copied`] when
/// it reaches [`RESTATED`], scaled by the words added (full from 40), 0 for a task that asks to
/// change the given text.
pub fn copy_then_extend(cues: &SurfaceCues) -> f32 {
    if cues.input_copied < RESTATED || cues.edit_task {
        return 0.0;
    }
    cues.input_copied * (cues.added_words as f32 / 40.0).min(1.0)
}

/// How far the mean-NLL features of a response of `tokens` tokens can be trusted: `ln(1 + n) /
/// ln(21)`, capped at 1 (full from 20 tokens). A one-token answer ("Au", "55") gets 0.23: its means
/// are one token's surprisal, so an instruction gain or IFD far from typical says little.
pub fn length_reliability(tokens: u32) -> f32 {
    ((1.0 + tokens as f32).ln() / 21f32.ln()).min(1.0)
}

/// The feature vector the continuation score is a logistic function of. Model features (nats):
/// `-(nll_z - nll_cz_head)`, `nll_cz_head - nll_raw`, `first_cz - first_raw`, IFD over the opening (`nll_cz_head / nll_y_head`), `nll_cz`; the
/// surface cues as 0/1 or shares; the instruction gain and IFD again, scaled by
/// [`length_reliability`], so the fit can lean on them for long responses only; and last the
/// share of the response's opening found in what it was given ([`SurfaceCues::opening_grounded`]),
/// then the two hand-set cues ([`HAND_SET`]): [`copy_then_extend`] and a prompt line (0/1).
pub fn continuation_features(m: &ModelSignals, cues: &SurfaceCues) -> [f32; N_FEATURES] {
    let b = |x: bool| x as u8 as f32;
    let r = length_reliability(m.tokens);
    let head_ifd = m.nll_cz_head / m.nll_y_head.max(1e-6);
    let (neg_gain, ifd) = (-(m.nll_z - m.nll_cz_head), head_ifd.clamp(0.0, 3.0));
    [
        neg_gain,
        m.nll_cz_head - m.nll_raw,
        m.first_cz - m.first_raw,
        ifd,
        b(cues.starts_lowercase),
        b(cues.anaphor.is_some()),
        b(cues.continues_input),
        b(cues.answer_opening),
        cues.echoes_instruction,
        cues.input_vocab,
        cues.input_trigrams,
        m.nll_cz,
        neg_gain * r,
        ifd * r,
        cues.opening_grounded,
        copy_then_extend(cues),
        b(cues.prompt_line.is_some()),
    ]
}

/// Weights of the logistic continuation score: `sigmoid(bias + w · features)`. In TOML the
/// weights are a table keyed by [`FEATURE_NAMES`]; a feature it leaves out keeps its default, so a
/// config written for an older feature set still loads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContinuationWeights {
    pub bias: f32,
    #[serde(with = "weights_by_name")]
    pub weights: [f32; N_FEATURES],
}

/// (De)serializes the weight vector as `{feature name: weight}`; a full-length array is read too.
mod weights_by_name {
    use super::{ContinuationWeights, FEATURE_NAMES, N_FEATURES};
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    /// In feature order.
    pub fn serialize<S: Serializer>(w: &[f32; N_FEATURES], s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(FEATURE_NAMES.iter().zip(w))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[f32; N_FEATURES], D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Given {
            ByName(BTreeMap<String, f32>),
            List(Vec<f32>),
        }
        let names = || FEATURE_NAMES.join(", ");
        match Given::deserialize(d)? {
            Given::List(v) => v.try_into().map_err(|v: Vec<f32>| {
                D::Error::custom(format!(
                    "continuation weights: {} values given, but this sift has {N_FEATURES} features; \
                     give them by name ({}) or leave them out for the defaults",
                    v.len(),
                    names()
                ))
            }),
            Given::ByName(m) => {
                let mut w = ContinuationWeights::default().weights;
                for (name, value) in m {
                    let Some(i) = FEATURE_NAMES.iter().position(|n| *n == name) else {
                        return Err(D::Error::custom(format!(
                            "unknown continuation feature `{name}`; expected one of {}",
                            names()
                        )));
                    };
                    w[i] = value;
                }
                Ok(w)
            }
        }
    }
}

impl Default for ContinuationWeights {
    /// Fitted with the bundled model (`cargo bench --bench continuation_auroc -- --fit --train
    /// 916`) on the 916 training items of the dev set (Alpaca index % 20 != 0) plus 2,599 ordinary
    /// training records of every shape as genuine (`devset::ordinary`, index % 20 == 10): without
    /// them the fit saw only long passages and flagged short, predictable answers ("55" for
    /// "5 + 50") on real data. `starts_lowercase` and `continues_input` are hand-set priors
    /// instead of their fitted (negative) values: the synthetic copies start at a sentence
    /// boundary by construction, so the fit learns that artefact. The bias is shifted from the
    /// fit's 13% continuations to a 5% prior, so the score reads as a probability on real data.
    /// `copy_then_extend` (12) and `prompt_line` (4) are hand-set too: no synthetic item restates
    /// its input or the prompt; 12 makes a restated passage with 40 or more added words a
    /// continuation whatever the other cues say (on the Dolly dev copies and continued: 12 of 12,
    /// on ordinary held-out Alpaca records with an input: 1.6% flagged in all). Refitted for
    /// whole-response IFD (the IFD features use the opening's IFD, `nll_cz_head / nll_y_head`).
    /// Check (and refit) after changing the model; never fit on the eval split.
    fn default() -> Self {
        ContinuationWeights {
            bias: -2.253,
            weights: [
                1.0, -2.873, 1.905, -8.497, 1.0, 1.255, 1.0, -3.198, -2.939, 0.9699, -5.382, 0.2605, 5.657, 9.349,
                -3.521, 12.0, 4.0,
            ],
        }
    }
}

impl ContinuationWeights {
    /// The continuation probability for a feature vector.
    pub fn score(&self, f: &[f32; N_FEATURES]) -> f32 {
        let z: f32 = self.bias + self.weights.iter().zip(f).map(|(w, x)| w * x).sum::<f32>();
        1.0 / (1.0 + (-z).exp())
    }
}

/// Number of keep-score features.
pub const N_KEEP: usize = 8;

/// Names of the keep-score features, in [`keep_features`] order; the first four are the model's.
pub const KEEP_FEATURES: [&str; N_KEEP] = [
    "log_ppl",
    "ifd",
    "instruction_gain",
    "continuation",
    "log_response_words",
    "has_input",
    "heuristic_flags",
    "prompt_numbers",
];

/// Keep-score features that come from the model's likelihoods (held at their neutral value where
/// the model does not cover the text).
const MODEL_KEEP_FEATURES: usize = 4;

/// The keep-score feature vector: `nll_cz`, IFD (clamped to [0, 3]), instruction gain,
/// continuation, `ln(1 + response words)`, whether there is an input (0/1), and the
/// number of model-free flags on the record with every kind on (capped at 2;
/// [`super::flags::keep_flag_count`]), and whether the instruction or the input names a number
/// (0/1, [`crate::quality::checks::names_a_number`]): such a prompt sets a count or asks for a
/// result, and a curator finds most wrong answers and ignored constraints there. Repetition is left out: degenerate
/// repetition is rare in the labels, and fitted there it came out as a sign of a keep, which the
/// repetitive records of other data would contradict.
pub fn keep_features(
    m: &ModelSignals,
    s: &Signals,
    c: &str,
    z: &str,
    y: &str,
    heuristic_flags: usize,
) -> [f32; N_KEEP] {
    use crate::quality::checks::names_a_number;
    [
        m.nll_cz,
        s.ifd.clamp(0.0, 3.0),
        s.instruction_gain,
        s.continuation,
        (1.0 + words(y).len() as f32).ln(),
        !z.trim().is_empty() as u8 as f32,
        heuristic_flags.min(2) as f32,
        (names_a_number(c) || names_a_number(z)) as u8 as f32,
    ]
}

/// The keep score: `sigmoid(bias + w · features)`, the probability that a careful curator keeps
/// the record as it is (rather than fixing or dropping it). `neutral` holds each feature's mean on
/// the labels; the model's features take it where the model does not cover the text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeepWeights {
    pub bias: f32,
    pub weights: [f32; N_KEEP],
    pub neutral: [f32; N_KEEP],
}

impl Default for KeepWeights {
    /// Fitted on the curator and sift-dev labels of the Alpaca validation slice with the bundled model
    /// (`cargo bench --bench keep_score`): an L2-regularised logistic regression of "keep" on
    /// [`keep_features`]. Cross-validated figures are in the bench and the model card; refit after
    /// changing the model or the flags.
    fn default() -> Self {
        KeepWeights { bias: KEEP_BIAS, weights: KEEP_WEIGHTS, neutral: KEEP_NEUTRAL }
    }
}

// Fitted with the bundled model (`cargo bench --bench keep_score`, 2026-12-06) on 884 labels of the
// validation slice (the curator's 328, sift-dev's 400 random and 156 flagged_pool), with
// `heuristic_flags` = `keep_flag_count` as at runtime. Cross-validated AUROC keep vs fix/drop
// (median of 4 shuffles of 5 folds): 0.777 on all records (the pool's flagged records are easier),
// 0.714 on the 640 random ones (0.752 / 0.694 before `prompt_numbers`), against 0.524 / 0.546 for
// response length, the best length baseline.
const KEEP_BIAS: f32 = 3.4782;
const KEEP_WEIGHTS: [f32; N_KEEP] = [-0.0899, -1.5562, -0.2749, -0.2954, 0.0749, -0.3631, -3.6763, -0.7005];
const KEEP_NEUTRAL: [f32; N_KEEP] = [3.4035, 0.8512, 0.5542, 0.043, 3.0667, 0.4253, 0.155, 0.3326];

impl KeepWeights {
    /// The keep probability for a feature vector; `covered: false` holds the model's features at
    /// their neutral values.
    pub fn score(&self, f: &[f32; N_KEEP], covered: bool) -> f32 {
        let z: f32 = self.bias
            + (0..N_KEEP)
                .map(|j| self.weights[j] * if covered || j >= MODEL_KEEP_FEATURES { f[j] } else { self.neutral[j] })
                .sum::<f32>();
        1.0 / (1.0 + (-z).exp())
    }
}

/// Cherry LLM's IFD: the ratio of mean losses `nll_cz_ifd / nll_y` over the same response tokens
/// (the whole response by default).
pub fn ifd(m: &ModelSignals) -> f32 {
    m.nll_cz_ifd / m.nll_y.max(1e-6)
}

/// Response bytes per token below which the model's tokenizer is taken not to know the text: a
/// byte-level tokenizer falls back to single bytes (one per token) on a script it never saw,
/// where English runs at about four bytes per token.
pub const UNCOVERED_BYTES_PER_TOKEN: f32 = 1.5;

/// Why the model's likelihoods say nothing about this response, if they do not: the response is
/// mostly (30% of its letters or more) in a script other than Latin and the model's tokenizer splits
/// it into near-single bytes, the sign of a language or script the model was not trained on.
pub fn uncovered(m: &ModelSignals, y: &str) -> Option<String> {
    let bytes = if m.scored_bytes > 0 { m.scored_bytes as f32 } else { y.len() as f32 };
    let per_token = bytes / m.tokens.max(1) as f32;
    // A small-vocabulary tokenizer splits English finely too: only a response mostly in a script
    // other than Latin counts.
    if m.tokens < 4 || per_token >= UNCOVERED_BYTES_PER_TOKEN {
        return None;
    }
    let script = crate::quality::non_latin(y)?;
    Some(format!(
        "not covered by this model: the response is {script} that its tokenizer splits into {per_token:.1} bytes per \
         token (English: about 4), so perplexity, IFD and continuation say nothing here"
    ))
}

/// All signals of one record, derived from the model's measurements and the text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// `exp(nll_cz)`.
    pub ppl: f32,
    /// Cherry IFD, ratio of mean losses `nll_cz_ifd / nll_y` (the whole response by default).
    pub ifd: f32,
    /// Superfiltering's perplexity ratio `exp(nll_cz_ifd) / exp(nll_y)`.
    pub ifd_ppl: f32,
    /// `nll_z - nll_cz_head`: how much the instruction helps beyond the input (nats).
    pub instruction_gain: f32,
    /// `nll_cz_head - nll_raw`: positive when plain continuation text fits better than the template.
    pub raw_fit: f32,
    /// `first_cz - first_raw` over the first response tokens.
    pub first_tokens_raw_fit: f32,
    pub repetition: f32,
    /// 0..1, higher = more continuation-like.
    pub continuation: f32,
    /// 0..1: the probability that a careful curator keeps the record as it is ([`KeepWeights`]).
    pub keep: f32,
    /// Set when the model does not cover the response's language or script (see [`uncovered`]):
    /// the reason; the model flags are then not raised.
    #[serde(default)]
    pub uncovered: Option<String>,
    pub cues: SurfaceCues,
}

impl Signals {
    /// Derives every signal; `heuristic_flags` is [`super::flags::keep_flag_count`] of the record.
    pub fn derive(
        m: &ModelSignals,
        c: &str,
        z: &str,
        y: &str,
        heuristic_flags: usize,
        cw: &ContinuationWeights,
        kw: &KeepWeights,
    ) -> Signals {
        let cues = SurfaceCues::of(c, z, y);
        let uncovered = uncovered(m, y);
        let mut s = Signals {
            ppl: m.nll_cz.exp(),
            ifd: ifd(m),
            ifd_ppl: (m.nll_cz_ifd - m.nll_y).exp(),
            instruction_gain: m.nll_z - m.nll_cz_head,
            raw_fit: m.nll_cz_head - m.nll_raw,
            first_tokens_raw_fit: m.first_cz - m.first_raw,
            repetition: repetition(y),
            continuation: cw.score(&continuation_features(m, &cues)),
            keep: 0.0,
            uncovered,
            cues,
        };
        s.keep = kw.score(&keep_features(m, &s, c, z, y, heuristic_flags), s.uncovered.is_none());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(cz: f32, z: f32, y: f32, raw: f32) -> ModelSignals {
        ModelSignals {
            nll_cz: cz,
            nll_z: z,
            nll_y: y,
            nll_y_head: y,
            nll_raw: raw,
            nll_cz_ifd: cz,
            nll_cz_head: cz,
            first_cz: cz,
            first_raw: raw,
            tokens: 5,
            scored_bytes: 0,
            truncated: false,
            surprising: vec![],
        }
    }

    #[test]
    fn continuation_weights_read_by_feature_name() {
        let parse = |t: &str| toml::from_str::<ContinuationWeights>(t);
        let w = parse("bias = 2.0\n[weights]\nifd = -1.5\nopening_grounded = 0.25\n").unwrap();
        let d = ContinuationWeights::default();
        assert_eq!(w.bias, 2.0);
        for (i, name) in FEATURE_NAMES.iter().enumerate() {
            let want = match *name {
                "ifd" => -1.5,
                "opening_grounded" => 0.25,
                _ => d.weights[i],
            };
            assert_eq!(w.weights[i], want, "{name}");
        }
        // What is written names every feature, in feature order, and reads back the same.
        let text = toml::to_string(&w).unwrap();
        let at: Vec<Option<usize>> = FEATURE_NAMES.iter().map(|n| text.find(&format!("\n{n} = "))).collect();
        assert!(at.iter().all(Option::is_some) && at.is_sorted(), "{text}");
        assert_eq!(parse(&text).unwrap(), w);
        // A full array still reads; a short one (an older feature set) or a misspelt name is a
        // clear error.
        let full = format!("weights = {:?}\n", d.weights);
        assert_eq!(parse(&full).unwrap().weights, d.weights);
        let e = parse("weights = [1.0, 2.0]\n").unwrap_err().to_string();
        assert!(e.contains("2 values given") && e.contains("opening_grounded"), "{e}");
        let e = parse("[weights]\nifdd = 1.0\n").unwrap_err().to_string();
        assert!(e.contains("unknown continuation feature `ifdd`"), "{e}");
    }

    #[test]
    fn ifd_and_gain_arithmetic() {
        let s = Signals::derive(&m(1.5, 2.0, 3.0, 1.0), "c", "", "Yes.", 0, &Default::default(), &Default::default());
        assert!((s.ifd - 0.5).abs() < 1e-6);
        assert!((s.ifd_ppl - (-1.5f32).exp()).abs() < 1e-6);
        assert!((s.instruction_gain - 0.5).abs() < 1e-6);
        assert!((s.raw_fit - 0.5).abs() < 1e-6);
        assert!((s.ppl - 1.5f32.exp()).abs() < 1e-4);
        assert!(s.keep > 0.0 && s.keep < 1.0);
    }

    #[test]
    fn short_answers_lean_less_on_their_means() {
        assert_eq!(length_reliability(0), 0.0);
        assert!((length_reliability(20) - 1.0).abs() < 1e-6 && length_reliability(500) == 1.0);
        assert!(length_reliability(1) < length_reliability(5) && length_reliability(5) < length_reliability(19));
        // The same per-token likelihoods (the instruction does not help, IFD 0.7): a one-token
        // answer like "55" is less continuation-like than a 30-token response.
        let cues = SurfaceCues::of("Add the numbers.", "5 + 50", "55");
        let (mut short, mut long) = (m(2.1, 2.1, 3.0, 2.1), m(2.1, 2.1, 3.0, 2.1));
        (short.tokens, long.tokens) = (1, 30);
        let w = ContinuationWeights::default();
        let (a, b) = (w.score(&continuation_features(&short, &cues)), w.score(&continuation_features(&long, &cues)));
        assert!(a < b, "{a} vs {b}");
    }

    #[test]
    fn a_restated_input_that_goes_on_is_a_continuation_not_grounding() {
        let z = "Canada is a country in North America. Its ten provinces and three territories extend from the \
                 Atlantic Ocean to the Pacific Ocean and northward into the Arctic Ocean, making it the second-largest \
                 country by total area.";
        let more = " It is sparsely inhabited, with most people living near the southern border in cities. Its \
                    capital is Ottawa and its largest cities are Toronto, Montreal and Vancouver. It has a long \
                    history of settlement by many peoples, and a parliamentary democracy under a monarch.";
        let c = SurfaceCues::of("Please provide a brief summary describing Canada", z, &format!("{z}{more}"));
        assert!(c.input_copied >= 0.99 && c.added_words >= 40, "{c:?}");
        assert!(copy_then_extend(&c) > 0.9 && c.input_trigrams < 0.2, "the copy is no evidence of grounding: {c:?}");
        // A copy alone adds nothing; an editing task repeats its input by design; a short input is a quote.
        assert_eq!(copy_then_extend(&SurfaceCues::of("Summarize Canada.", z, z)), 0.0);
        let edit = SurfaceCues::of("Add a concluding paragraph to the text.", z, &format!("{z}{more}"));
        assert!(edit.edit_task && copy_then_extend(&edit) == 0.0);
        let short =
            SurfaceCues::of("Summarize.", "Canada is a big country.", &format!("Canada is a big country.{more}"));
        assert_eq!(short.input_copied, 0.0);
        // The shipped weights call a restated-and-continued passage a continuation.
        let w = ContinuationWeights::default();
        let mut ms = m(2.0, 2.5, 3.0, 2.2);
        ms.tokens = 120;
        assert!(w.score(&continuation_features(&ms, &c)) > 0.9);
    }

    #[test]
    fn prompt_lines_and_uncovered_scripts() {
        let c = SurfaceCues::of("Name a fruit.", "", "Apple.\n\n### Instruction:\nName a vegetable.");
        assert_eq!(c.prompt_line.as_deref(), Some("### Instruction:"));
        assert!(
            SurfaceCues::of("Write an instruction for a robot.", "", "Instruction: lift the box.")
                .prompt_line
                .is_none()
        );
        assert!(SurfaceCues::of("Name a fruit.", "", "Apple.").prompt_line.is_none());
        // One byte per token (a byte-level tokenizer's fallback) is not covered; English is.
        let y = "这是一个关于天气的回答，今天很好。";
        let mut ms = m(6.0, 6.0, 6.0, 6.0);
        ms.tokens = y.len() as u32;
        let why = uncovered(&ms, y).unwrap();
        assert!(why.contains("Han (Chinese)") && why.contains("1.0 bytes per token"), "{why}");
        let s = Signals::derive(&ms, "Describe the weather.", "", y, 0, &Default::default(), &Default::default());
        let flags = super::super::flags::model_flags(&ms, &s, false, &Default::default());
        assert!(s.uncovered.is_some() && flags.is_empty(), "{flags:?}");
        let y = "The weather is fine today, sunny and warm.";
        ms.tokens = 10;
        assert!(uncovered(&ms, y).is_none());
    }

    #[test]
    fn cues_and_repetition() {
        let z = "The sun is a star. It formed 4.6 billion years ago";
        let c = SurfaceCues::of("Summarize the text.", z, "and it will burn for billions more years.");
        assert!(c.starts_lowercase && c.continues_input && c.anaphor.is_none());
        let c = SurfaceCues::of("Summarize.", z, "This process keeps the star hot.");
        assert_eq!(c.anaphor.as_deref(), Some("This"));
        assert!(SurfaceCues::of("Is it?", "", "Yes, it is.").answer_opening);
        assert!(!SurfaceCues::of("Is it?", "", "Yesterday it was.").answer_opening);
        // The opening takes up what it was given (instruction and input), or moves on.
        let z = "Bees collect nectar. The hive stores honey for winter.";
        assert_eq!(
            SurfaceCues::of("Summarize.", z, "Bees collect nectar for honey. Winter comes.").opening_grounded,
            1.0
        );
        assert_eq!(
            SurfaceCues::of("Summarize.", z, "In spring, new queens leave to found colonies.").opening_grounded,
            0.0
        );
        let c = SurfaceCues::of("Give the reason in one sentence.", z, "The reason is winter.");
        assert_eq!(c.opening_grounded, 1.0, "'reason' from the instruction, 'winter' from the input");
        let c = SurfaceCues::of("Name three primary colours.", "", "The primary colours are red, yellow and blue.");
        assert!((c.opening_grounded - 0.4).abs() < 1e-6, "primary, colours of five: {}", c.opening_grounded);
        assert!(repetition("a b c d a b c d a b c d a b c d") > 0.5);
        assert_eq!(repetition("one two three four five six seven eight nine"), 0.0);
    }
}
