//! Per-record signals: what the model measured ([`ModelSignals`], cached), text cues, and the derived
//! scores ([`Signals`]: IFD, instruction gain, continuation, keep).
//!
//! All losses are mean per-token negative log-likelihoods in nats over the response tokens only;
//! see [`ModelSignals`] for the exact contexts.

use serde::{Deserialize, Serialize};

pub use super::cues::{COPY_MIN_INPUT_WORDS, COPY_RUN, RESTATED, SurfaceCues, repetition, words};

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

/// Number of continuation features.
pub const N_FEATURES: usize = 20;

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
    "continues_numbering",
    "about_input",
    "asks_for_text",
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
/// then the two hand-set cues ([`HAND_SET`]): [`copy_then_extend`] and a prompt line (0/1); last
/// three 0/1 cues of what the response does with the task ([`SurfaceCues::continues_numbering`],
/// [`SurfaceCues::about_input`], [`SurfaceCues::asks_for_text`]).
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
        b(cues.continues_numbering),
        b(cues.about_input),
        b(cues.asks_for_text),
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
    /// whole-response IFD (the IFD features use the opening's IFD, `nll_cz_head / nll_y_head`), and
    /// again with the three task cues (`continues_numbering`, `about_input`, `asks_for_text`):
    /// held-out dev AUROC 0.893 -> 0.951, 4-fold CV on the training items 0.854 -> 0.893.
    /// Check (and refit) after changing the model; never fit on the eval split.
    fn default() -> Self {
        ContinuationWeights {
            bias: -3.232,
            weights: [
                1.002, -3.305, 2.579, -7.8, 1.0, 1.441, 1.0, -3.255, -3.324, 0.8422, -5.929, 0.2234, 5.332, 10.27,
                -3.443, 12.0, 4.0, 11.26, -1.759, -1.144,
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
pub const N_KEEP: usize = 7;

/// Names of the keep-score features, in [`keep_features`] order; the first four are the model's.
pub const KEEP_FEATURES: [&str; N_KEEP] =
    ["log_ppl", "ifd", "instruction_gain", "continuation", "log_response_words", "has_input", "heuristic_flags"];

/// Keep-score features that come from the model's likelihoods (held at their neutral value where
/// the model does not cover the text).
const MODEL_KEEP_FEATURES: usize = 4;

/// The keep-score feature vector: `nll_cz`, IFD (clamped to [0, 3]), instruction gain,
/// continuation, `ln(1 + response words)`, whether there is an input (0/1), and the
/// number of model-free flags on the record with every kind on (capped at 2;
/// [`super::flags::keep_flag_count`]). Repetition is left out: degenerate
/// repetition is rare in the labels, and fitted there it came out as a sign of a keep, which the
/// repetitive records of other data would contradict.
pub fn keep_features(m: &ModelSignals, s: &Signals, y: &str, has_input: bool, heuristic_flags: usize) -> [f32; N_KEEP] {
    [
        m.nll_cz,
        s.ifd.clamp(0.0, 3.0),
        s.instruction_gain,
        s.continuation,
        (1.0 + words(y).len() as f32).ln(),
        has_input as u8 as f32,
        heuristic_flags.min(2) as f32,
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
// `heuristic_flags` = `keep_flag_count` as at runtime (the checks of issue 18, the continuation
// score's task cues, and since this refit `result_only`, the `§§` separator of `noise`, the
// live-market rule of `needs_modality` and the stated-equation check of `miscalculated`).
// Cross-validated AUROC keep vs fix/drop (median of 4 shuffles of 5 folds): 0.766 on all records
// (the pool's flagged records are easier), 0.715 on the 640 random ones (curator 0.750, sift-dev
// 0.698; 0.753 / 0.695 before the four rules), against 0.524 / 0.546 for response length, the best
// length baseline, and 0.744 / 0.709 for the flag count alone: on random records the model's
// features add little.
const KEEP_BIAS: f32 = 3.2032;
const KEEP_WEIGHTS: [f32; N_KEEP] = [-0.0709, -1.6114, -0.3117, -0.1904, 0.0989, -0.3934, -3.766];
const KEEP_NEUTRAL: [f32; N_KEEP] = [3.4035, 0.8512, 0.5542, 0.0409, 3.0667, 0.4253, 0.1606];

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
        s.keep = kw.score(&keep_features(m, &s, y, !z.trim().is_empty(), heuristic_flags), s.uncovered.is_none());
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
