//! Per-record signals: what the model measured ([`ModelSignals`], cached), text cues, and the derived
//! scores ([`Signals`]: IFD, instruction gain, continuation, quality).
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
    /// `s(y | template(c, z))` over the response tokens the other contexts score (the first
    /// `compare_tokens`, see [`super::EngineOptions`]): the left side of every comparison.
    #[serde(default)]
    pub nll_cz_head: f32,
    /// `s(y | z + "\n\n")` over the compared tokens; equals `nll_y` when the input is empty.
    pub nll_z: f32,
    /// `s(y | alone)` over the compared tokens: the template's alone context ([`super::Template::alone`]: empty for Alpaca, so
    /// `y` follows BOS directly and its first token is scored given BOS). A model without BOS gets a
    /// single `"\n"` as context instead, so the first response token is always scored.
    pub nll_y: f32,
    /// `s(y | c + "\n\n" + z + "\n")` over the compared tokens: plain text, no template.
    pub nll_raw: f32,
    /// Mean NLL of the first `first_tokens` response tokens under the template.
    pub first_cz: f32,
    /// Mean NLL of the first `first_tokens` response tokens under the raw layout.
    pub first_raw: f32,
    /// Number of response tokens scored.
    pub tokens: u32,
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
        let opening = words(super::devset::sentences(y).first().copied().unwrap_or(""));
        let given: std::collections::HashSet<&str> = cset.union(&zset).copied().collect();
        SurfaceCues {
            opening_grounded: share(content(&opening), &given),
            starts_lowercase,
            anaphor,
            continues_input: z_open && starts_lowercase,
            answer_opening,
            echoes_instruction: share(content(&head), &cset),
            input_vocab: share(content(&yw), &zset),
            input_trigrams,
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
pub const N_FEATURES: usize = 15;

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
];

/// How far the mean-NLL features of a response of `tokens` tokens can be trusted: `ln(1 + n) /
/// ln(21)`, capped at 1 (full from 20 tokens). A one-token answer ("Au", "55") gets 0.23: its means
/// are one token's surprisal, so an instruction gain or IFD far from typical says little.
pub fn length_reliability(tokens: u32) -> f32 {
    ((1.0 + tokens as f32).ln() / 21f32.ln()).min(1.0)
}

/// The feature vector the continuation score is a logistic function of. Model features (nats):
/// `-(nll_z - nll_cz_head)`, `nll_cz_head - nll_raw`, `first_cz - first_raw`, IFD, `nll_cz`; the
/// surface cues as 0/1 or shares; the instruction gain and IFD again, scaled by
/// [`length_reliability`], so the fit can lean on them for long responses only; and last the
/// share of the response's opening found in what it was given ([`SurfaceCues::opening_grounded`]).
pub fn continuation_features(m: &ModelSignals, cues: &SurfaceCues) -> [f32; N_FEATURES] {
    let b = |x: bool| x as u8 as f32;
    let r = length_reliability(m.tokens);
    let (neg_gain, ifd) = (-(m.nll_z - m.nll_cz_head), ifd(m).clamp(0.0, 3.0));
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
    /// Held-out figures are in the model card. Check (and refit) after changing the model; never
    /// fit on the eval split.
    fn default() -> Self {
        ContinuationWeights {
            bias: 0.291,
            weights: [
                0.504, -2.654, 1.622, -12.99, 1.0, 1.395, 1.0, -3.230, -3.342, 1.329, -6.317, 0.406, 6.312, 10.28,
                -3.552,
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

/// Weights of the quality score: a product of survival terms `1 - w * penalty`, each penalty in [0, 1].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QualityWeights {
    /// Perplexity at which the perplexity penalty starts, and the factor over it where it is full.
    pub ppl_start: f32,
    pub ppl_span: f32,
    pub ppl: f32,
    /// IFD at which the IFD penalty starts (full 0.2 above it).
    pub ifd_start: f32,
    pub ifd: f32,
    /// Repetition share at which the repetition penalty is full.
    pub repetition_full: f32,
    pub repetition: f32,
    pub continuation: f32,
    /// Per heuristic flag (capped at 1 in total).
    pub per_heuristic_flag: f32,
}

impl Default for QualityWeights {
    fn default() -> Self {
        QualityWeights {
            ppl_start: 20.0,
            ppl_span: 10.0,
            ppl: 0.5,
            ifd_start: 0.9,
            ifd: 0.5,
            repetition_full: 0.5,
            repetition: 0.8,
            continuation: 0.8,
            per_heuristic_flag: 0.6,
        }
    }
}

/// Cherry LLM's IFD: the ratio of mean losses `nll_cz_head / nll_y` over the same response tokens.
pub fn ifd(m: &ModelSignals) -> f32 {
    m.nll_cz_head / m.nll_y.max(1e-6)
}

/// All signals of one record, derived from the model's measurements and the text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signals {
    /// `exp(nll_cz)`.
    pub ppl: f32,
    /// Cherry IFD, ratio of mean losses `nll_cz / nll_y`.
    pub ifd: f32,
    /// Superfiltering's perplexity ratio `exp(nll_cz) / exp(nll_y)`.
    pub ifd_ppl: f32,
    /// `nll_z - nll_cz`: how much the instruction helps beyond the input (nats).
    pub instruction_gain: f32,
    /// `nll_cz - nll_raw`: positive when plain continuation text fits better than the template.
    pub raw_fit: f32,
    /// `first_cz - first_raw` over the first response tokens.
    pub first_tokens_raw_fit: f32,
    pub repetition: f32,
    /// 0..1, higher = more continuation-like.
    pub continuation: f32,
    /// 0..1, higher = better.
    pub quality: f32,
    pub cues: SurfaceCues,
}

impl Signals {
    /// Derives every signal; `heuristic_flags` is the number of model-free flags on the record.
    pub fn derive(
        m: &ModelSignals,
        c: &str,
        z: &str,
        y: &str,
        heuristic_flags: usize,
        cw: &ContinuationWeights,
        qw: &QualityWeights,
    ) -> Signals {
        let cues = SurfaceCues::of(c, z, y);
        let continuation = cw.score(&continuation_features(m, &cues));
        let repetition = repetition(y);
        let ifd = ifd(m);
        let ramp = |x: f32| x.clamp(0.0, 1.0);
        let penalties = [
            qw.ppl * ramp((m.nll_cz - qw.ppl_start.ln()) / qw.ppl_span.max(1.0001).ln()),
            qw.ifd * ramp((ifd - qw.ifd_start) / 0.2),
            qw.repetition * ramp(repetition / qw.repetition_full),
            qw.continuation * continuation,
            ramp(qw.per_heuristic_flag * heuristic_flags as f32),
        ];
        let quality = penalties.iter().map(|p| 1.0 - ramp(*p)).product();
        Signals {
            ppl: m.nll_cz.exp(),
            ifd,
            ifd_ppl: (m.nll_cz_head - m.nll_y).exp(),
            instruction_gain: m.nll_z - m.nll_cz_head,
            raw_fit: m.nll_cz_head - m.nll_raw,
            first_tokens_raw_fit: m.first_cz - m.first_raw,
            repetition,
            continuation,
            quality,
            cues,
        }
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
            nll_raw: raw,
            nll_cz_head: cz,
            first_cz: cz,
            first_raw: raw,
            tokens: 5,
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
        assert!(s.quality > 0.0 && s.quality <= 1.0);
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
