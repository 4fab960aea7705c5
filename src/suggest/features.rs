//! What the suggestion model sees of a record: a few dense numbers (lengths, shape, overlap, the
//! judge's scores when the record was scored), each flag as a 0/1 feature, and hashed words and
//! word pairs of the instruction and the response (with the instruction's first words crossed with
//! the response's length and shape, so "short list answers to 'explain' instructions" is one
//! feature). Dense values are standardised over the whole dataset (unsupervised), so a weight reads
//! as "per standard deviation". One dense value is not: [`PRIOR`], the log-odds of a reject before any
//! decision ([`prior`]: the judge's `1 - keep` and the flags' measured precision), which the model
//! starts from with weight 1 and learns the residual around.

use crate::dataset::RecordText;
use rayon::prelude::*;

/// The judge's scores of one record, when it was scored (higher `keep` = better).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JudgeValues {
    pub keep: f32,
    pub continuation: f32,
    pub ifd: f32,
    pub ppl: f32,
    pub instruction_gain: f32,
}

/// Everything the features are computed from for one record.
#[derive(Clone, Debug, Default)]
pub struct FeatureInput<'a> {
    pub text: RecordText<'a>,
    /// Names of the flags raised on the record (model-free and model flags alike).
    pub flags: Vec<String>,
    pub judge: Option<JudgeValues>,
}

/// Number of dense features.
pub const N_DENSE: usize = 19;

/// Names of the dense features, in order.
pub const DENSE_NAMES: [&str; N_DENSE] = [
    "instruction_words",
    "input_words",
    "response_words",
    "response_lines",
    "response_list_share",
    "has_input",
    "response_to_instruction_length",
    "response_digit_share",
    "response_ends_sentence",
    "response_instruction_overlap",
    "response_input_overlap",
    "repetition",
    "flag_count",
    "judge_keep",
    "judge_continuation",
    "judge_ifd",
    "judge_log_ppl",
    "judge_instruction_gain",
    "prior",
];

/// Index of the prior's log-odds among the dense features (centred over the dataset, not scaled).
pub const PRIOR: usize = 18;

/// P(reject) of a record nobody has judged yet, for the prior of an unscored record without flags.
const BASE_REJECT: f32 = 0.25;

/// A flag's measured precision, smoothed ((right + 1) / (fires + 2)); 0.5 when it was never measured.
fn flag_precision(name: &str) -> f32 {
    crate::quality::precision::measured(name).map_or(0.5, |m| (m.right as f32 + 1.0) / (m.fires as f32 + 2.0))
}

/// P(reject) before any decision: the judge's `1 - keep` where the record was scored (else
/// [`BASE_REJECT`]), combined with each flag's measured precision as independent evidence
/// (noisy-or), kept within 0.01..0.99.
pub fn prior<'a>(keep: Option<f32>, flags: impl IntoIterator<Item = &'a str>) -> f32 {
    let start = keep.map_or(BASE_REJECT, |k| 1.0 - k);
    let clean = flags.into_iter().fold(1.0 - start, |c, f| c * (1.0 - flag_precision(f)));
    (1.0 - clean).clamp(0.01, 0.99)
}

fn logit(p: f32) -> f32 {
    (p / (1.0 - p)).ln()
}

/// First dense index that comes from the judge (missing when the record was not scored).
const JUDGE_FROM: usize = 13;

/// Bits of the hashed feature space.
pub const HASH_BITS: u32 = 18;

/// Size of the whole feature space: dense features, then the hashed ones.
pub const DIM: usize = N_DENSE + (1 << HASH_BITS);

/// Kinds of sparse feature; the kind and its text make the feature's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A flag was raised.
    Flag = 1,
    /// The record was not scored by the judge.
    Unscored,
    /// The instruction's first word.
    First,
    /// The instruction's first two words.
    FirstTwo,
    /// A word of the instruction.
    InstructionWord,
    /// A word of the response.
    ResponseWord,
    /// A pair of adjacent words in the response.
    ResponsePair,
    /// The response's length class with the instruction's first word.
    LengthByFirst,
    /// The response's shape (list, code, one line, prose) with the instruction's first word.
    ShapeByFirst,
}

/// A feature's identity: a dense index or a sparse kind with its text.
#[derive(Clone, Debug, PartialEq)]
pub enum Name {
    Dense(usize),
    Sparse(Kind, String),
}

/// Index of a sparse feature in the feature space.
pub fn sparse_index(kind: Kind, text: &str) -> u32 {
    let mut h = xxhash_rust::xxh3::Xxh3::with_seed(kind as u64);
    h.update(text.as_bytes());
    N_DENSE as u32 + (h.digest() as u32 & ((1 << HASH_BITS) - 1))
}

/// How much each group of features counts (a group's values are multiplied by its scale, which
/// is the same as weakening its L2 penalty by the square).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scales {
    pub dense: f32,
    pub flags: f32,
    /// The instruction's first words and their crosses with the response's length and shape.
    pub first: f32,
    /// Words of the instruction and words and pairs of the response.
    pub words: f32,
}

impl Default for Scales {
    fn default() -> Self {
        Scales { dense: 1.0, flags: 1.0, first: 1.0, words: 1.0 }
    }
}

impl Scales {
    fn of(&self, kind: Kind) -> f32 {
        match kind {
            Kind::Flag | Kind::Unscored => self.flags,
            Kind::First | Kind::FirstTwo | Kind::LengthByFirst | Kind::ShapeByFirst => self.first,
            Kind::InstructionWord | Kind::ResponseWord | Kind::ResponsePair => self.words,
        }
    }
}

/// The features of every record of a dataset.
#[derive(Clone, Debug, Default)]
pub struct Features {
    /// Standardised dense values, `N_DENSE` per record.
    dense: Vec<f32>,
    /// Sparse features of each record, sorted by index, duplicates summed.
    sparse: Vec<Box<[(u32, f32)]>>,
    /// Mean and standard deviation of each raw dense value over the dataset.
    mean: [f32; N_DENSE],
    sd: [f32; N_DENSE],
    scales: Scales,
    /// An extra dense block after the [`DIM`] features (the model's mean hidden state of the
    /// response, [`Features::with_embedding`]), `extra_dim` values per record.
    extra: Vec<f32>,
    extra_dim: usize,
}

/// Raw dense values (NaN for judge values of an unscored record) and named sparse features.
struct Raw {
    dense: [f32; N_DENSE],
    sparse: Vec<(Kind, String, f32)>,
}

const LIST_MARKS: [&str; 4] = ["- ", "* ", "• ", "+ "];

fn is_list_line(l: &str) -> bool {
    let l = l.trim_start();
    if LIST_MARKS.iter().any(|m| l.starts_with(m)) {
        return true;
    }
    let digits = l.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && digits < 4 && matches!(l.as_bytes().get(digits), Some(b'.' | b')'))
}

fn lower_words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Words that say little on their own (not used as single-word features).
const STOP: [&str; 32] = [
    "the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "with", "is", "are", "was", "were", "be", "by", "as",
    "at", "that", "this", "it", "from", "its", "their", "they", "he", "she", "has", "have", "had", "which",
];

fn overlap(ws: &[String], other: &std::collections::HashSet<&str>) -> f32 {
    let content: Vec<&String> = ws.iter().filter(|w| w.len() > 2 && !STOP.contains(&w.as_str())).collect();
    if content.is_empty() || other.is_empty() {
        return 0.0;
    }
    content.iter().filter(|w| other.contains(w.as_str())).count() as f32 / content.len() as f32
}

/// The response's length class, in words.
pub fn length_class(words: usize) -> &'static str {
    match words {
        0..5 => "very short",
        5..20 => "short",
        20..80 => "medium-length",
        _ => "long",
    }
}

fn shape(y: &str, lines: &[&str]) -> &'static str {
    if y.contains("```") || y.contains("def ") || y.contains("};") || y.contains("</") {
        "code"
    } else if lines.iter().filter(|l| is_list_line(l)).count() >= 2 {
        "list"
    } else if lines.len() <= 1 {
        "one-line"
    } else {
        "prose"
    }
}

fn raw(input: &FeatureInput) -> Raw {
    let t = &input.text;
    let (cw, zw, yw) = (lower_words(t.instruction), lower_words(t.input), lower_words(t.output));
    let lines: Vec<&str> = t.output.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let list = lines.iter().filter(|l| is_list_line(l)).count();
    let chars = t.output.chars().count().max(1);
    let digits = t.output.chars().filter(char::is_ascii_digit).count();
    let cset: std::collections::HashSet<&str> = cw.iter().map(String::as_str).collect();
    let zset: std::collections::HashSet<&str> = zw.iter().map(String::as_str).collect();
    let ends = t.output.trim_end().ends_with(['.', '!', '?', '"', ')', '`', ']', '\'']);
    let ln = |n: usize| (1.0 + n as f32).ln();
    let judge = input.judge.map_or([f32::NAN; 5], |j| {
        [j.keep, j.continuation, j.ifd.clamp(0.0, 3.0), j.ppl.max(1.0).ln().min(20.0), j.instruction_gain]
    });
    let mut dense = [0f32; N_DENSE];
    dense[..JUDGE_FROM].copy_from_slice(&[
        ln(cw.len()),
        ln(zw.len()),
        ln(yw.len()),
        ln(lines.len()),
        if lines.is_empty() { 0.0 } else { list as f32 / lines.len() as f32 },
        (!t.input.trim().is_empty()) as u8 as f32,
        ln(yw.len()) - ln(cw.len() + zw.len()),
        digits as f32 / chars as f32,
        ends as u8 as f32,
        overlap(&yw, &cset),
        overlap(&yw, &zset),
        crate::judge::signals::repetition(t.output),
        input.flags.len() as f32,
    ]);
    dense[JUDGE_FROM..PRIOR].copy_from_slice(&judge);
    dense[PRIOR] = logit(prior(input.judge.map(|j| j.keep), input.flags.iter().map(String::as_str)));

    let mut sparse: Vec<(Kind, String, f32)> = Vec::new();
    for f in &input.flags {
        sparse.push((Kind::Flag, f.clone(), 1.0));
    }
    if input.judge.is_none() {
        sparse.push((Kind::Unscored, String::new(), 1.0));
    }
    let first = cw.first().cloned().unwrap_or_default();
    sparse.push((Kind::First, first.clone(), 1.0));
    if cw.len() >= 2 {
        sparse.push((Kind::FirstTwo, format!("{} {}", cw[0], cw[1]), 1.0));
    }
    sparse.push((Kind::LengthByFirst, format!("{}|{first}", length_class(yw.len())), 1.0));
    sparse.push((Kind::ShapeByFirst, format!("{}|{first}", shape(t.output, &lines)), 1.0));
    // Words and pairs: each group has unit norm, so long texts do not outweigh short ones.
    let mut group = |kind: Kind, items: Vec<String>| {
        let mut items = items;
        items.sort_unstable();
        items.dedup();
        let v = 1.0 / (items.len().max(1) as f32).sqrt();
        sparse.extend(items.into_iter().map(|w| (kind, w, v)));
    };
    let content =
        |ws: &[String]| -> Vec<String> { ws.iter().filter(|w| !STOP.contains(&w.as_str())).cloned().collect() };
    group(Kind::InstructionWord, content(&cw));
    group(Kind::ResponseWord, content(&yw));
    group(Kind::ResponsePair, yw.windows(2).map(|p| format!("{} {}", p[0], p[1])).collect());
    Raw { dense, sparse }
}

fn hashed(sparse: &[(Kind, String, f32)], scales: &Scales) -> Box<[(u32, f32)]> {
    let mut out: Vec<(u32, f32)> = sparse.iter().map(|(k, s, v)| (sparse_index(*k, s), v * scales.of(*k))).collect();
    out.retain(|e| e.1 != 0.0);
    out.sort_unstable_by_key(|e| e.0);
    out.dedup_by(|b, a| {
        if a.0 == b.0 {
            a.1 += b.1;
            true
        } else {
            false
        }
    });
    out.into_boxed_slice()
}

impl Features {
    /// Computes the features of every record (in parallel).
    pub fn build(inputs: &[FeatureInput]) -> Features {
        Features::build_with(inputs, Scales::default())
    }

    /// [`Features::build`] with other group scales.
    pub fn build_with(inputs: &[FeatureInput], scales: Scales) -> Features {
        let raws: Vec<Raw> = inputs.par_iter().map(raw).collect();
        let (mut mean, mut sd) = ([0f32; N_DENSE], [1f32; N_DENSE]);
        for j in 0..N_DENSE {
            let vals: Vec<f64> = raws.iter().map(|r| r.dense[j] as f64).filter(|v| v.is_finite()).collect();
            if vals.is_empty() {
                continue;
            }
            let m = vals.iter().sum::<f64>() / vals.len() as f64;
            let var = vals.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / vals.len() as f64;
            mean[j] = m as f32;
            sd[j] = if var > 1e-12 { var.sqrt() as f32 } else { 1.0 };
        }
        let mut f = Features {
            dense: Vec::with_capacity(raws.len() * N_DENSE),
            sparse: Vec::new(),
            mean,
            sd,
            scales,
            ..Features::default()
        };
        let dense: Vec<[f32; N_DENSE]> = raws.par_iter().map(|r| f.standardise(&r.dense)).collect();
        f.sparse = raws.par_iter().map(|r| hashed(&r.sparse, &scales)).collect();
        for d in dense {
            f.dense.extend_from_slice(&d);
        }
        f
    }

    fn standardise(&self, raw: &[f32; N_DENSE]) -> [f32; N_DENSE] {
        let mut out = [0f32; N_DENSE];
        for j in 0..N_DENSE {
            // A missing judge value sits at the mean; the `Unscored` feature says it is missing.
            if j == PRIOR {
                out[j] = raw[j] - self.mean[j];
                continue;
            }
            let z = if raw[j].is_finite() { ((raw[j] - self.mean[j]) / self.sd[j]).clamp(-5.0, 5.0) } else { 0.0 };
            out[j] = z * self.scales.dense;
        }
        out
    }

    /// Recomputes one record's features after its text, flags or scores changed (the dense
    /// scaling stays that of the whole dataset).
    pub fn update(&mut self, pos: usize, input: &FeatureInput) {
        let r = raw(input);
        let d = self.standardise(&r.dense);
        self.dense[pos * N_DENSE..(pos + 1) * N_DENSE].copy_from_slice(&d);
        self.sparse[pos] = hashed(&r.sparse, &self.scales);
    }

    /// These features with an embedding of each record (e.g. the model's mean hidden state of the
    /// response) appended as a dense block at [`DIM`]`..`: each column standardised over the records
    /// that have one (a missing one is all zeros), then times `scale / sqrt(columns)`, so that the
    /// block's norm per record is about `scale`. Its weights have their own L2 strength
    /// ([`super::FitOptions::l2_hidden`]).
    pub fn with_embedding(mut self, rows: &[Option<Vec<f32>>], scale: f32) -> Features {
        let d = rows.iter().flatten().map(Vec::len).max().unwrap_or(0);
        let have: Vec<&Vec<f32>> = rows.iter().flatten().filter(|r| r.len() == d).collect();
        let (mut mean, mut sd) = (vec![0f64; d], vec![0f64; d]);
        for r in &have {
            mean.iter_mut().zip(r.iter()).for_each(|(m, &x)| *m += x as f64);
        }
        mean.iter_mut().for_each(|m| *m /= have.len().max(1) as f64);
        for r in &have {
            sd.iter_mut().zip(r.iter().zip(&mean)).for_each(|(s, (&x, m))| *s += (x as f64 - m).powi(2));
        }
        sd.iter_mut().for_each(|s| *s = (*s / have.len().max(1) as f64).sqrt().max(1e-9));
        let k = scale / (d.max(1) as f32).sqrt();
        self.extra = Vec::with_capacity(self.len() * d);
        for p in 0..self.len() {
            match rows.get(p).and_then(Option::as_ref).filter(|r| r.len() == d) {
                Some(r) => self.extra.extend(
                    r.iter()
                        .zip(mean.iter().zip(&sd))
                        .map(|(&x, (m, s))| ((x as f64 - m) / s).clamp(-5.0, 5.0) as f32 * k),
                ),
                None => self.extra.extend(std::iter::repeat_n(0.0, d)),
            }
        }
        self.extra_dim = d;
        self
    }

    /// Size of the feature space: [`DIM`] plus the embedding's columns, if any.
    pub fn dim(&self) -> usize {
        DIM + self.extra_dim
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.sparse.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.sparse.is_empty()
    }

    /// The standardised dense values of record `pos`.
    pub fn dense(&self, pos: usize) -> &[f32] {
        &self.dense[pos * N_DENSE..(pos + 1) * N_DENSE]
    }

    /// The sparse features of record `pos` (index, value), sorted by index.
    pub fn sparse(&self, pos: usize) -> &[(u32, f32)] {
        &self.sparse[pos]
    }

    /// Every feature of record `pos` as (index, value): dense, sparse, then the embedding.
    pub fn row(&self, pos: usize) -> impl Iterator<Item = (u32, f32)> + '_ {
        let extra = &self.extra[pos * self.extra_dim..(pos + 1) * self.extra_dim];
        self.dense(pos)
            .iter()
            .enumerate()
            .map(|(j, v)| (j as u32, *v))
            .chain(self.sparse(pos).iter().copied())
            .chain(extra.iter().enumerate().map(|(k, v)| ((DIM + k) as u32, *v)))
    }

    /// The sparse features of `input` with their names (for reasons); values as in [`Features::sparse`].
    pub fn named(input: &FeatureInput) -> Vec<(u32, Name)> {
        let mut out: Vec<(u32, Name)> =
            raw(input).sparse.into_iter().map(|(k, s, _)| (sparse_index(k, &s), Name::Sparse(k, s))).collect();
        out.sort_by_key(|e| e.0);
        out.dedup_by_key(|e| e.0);
        out
    }
}

/// A feature in words, for a record whose value of it is `value` (dense: standardised).
pub fn describe(name: &Name, value: f32) -> String {
    let hi = value > 0.0;
    let pick = |a: &str, b: &str| if hi { a.to_string() } else { b.to_string() };
    match name {
        Name::Dense(j) => match DENSE_NAMES[*j] {
            "instruction_words" => pick("long instructions", "short instructions"),
            "input_words" => pick("long inputs", "short or no inputs"),
            "response_words" => pick("long responses", "short responses"),
            "response_lines" => pick("responses of many lines", "responses of few lines"),
            "response_list_share" => pick("list responses", "responses that are not lists"),
            "has_input" => pick("records with an input", "records without an input"),
            "response_to_instruction_length" => {
                pick("responses long for their prompt", "responses short for their prompt")
            }
            "response_digit_share" => pick("responses full of numbers", "responses with few numbers"),
            "response_ends_sentence" => pick("responses that end a sentence", "responses that stop mid-sentence"),
            "response_instruction_overlap" => {
                pick("responses repeating the instruction's words", "responses using few of the instruction's words")
            }
            "response_input_overlap" => {
                pick("responses repeating the input's words", "responses using few of the input's words")
            }
            "repetition" => pick("repetitive responses", "responses without repetition"),
            "flag_count" => pick("records with several flags", "records with few flags"),
            "judge_keep" => pick("judged likely to be kept", "judged unlikely to be kept"),
            "judge_continuation" => pick("continuation-like responses", "responses that read as answers"),
            "judge_ifd" => pick("responses the instruction barely helps predict (high IFD)", "low IFD"),
            "judge_log_ppl" => pick("responses the model finds unlikely", "responses the model finds likely"),
            "judge_instruction_gain" => {
                pick("responses the instruction helps predict", "responses the instruction does not help predict")
            }
            "prior" => pick("judged likely rejected (judge and flags)", "judged likely kept (judge and flags)"),
            other => other.to_string(),
        },
        Name::Sparse(kind, s) => {
            let first = |s: &str| if s.is_empty() { "empty".to_string() } else { format!("'{s}'") };
            match kind {
                Kind::Flag => format!("flagged {s}"),
                Kind::Unscored => "records the judge has not scored".into(),
                Kind::First => format!("{} instructions", first(s)),
                Kind::FirstTwo => format!("instructions starting '{s}'"),
                Kind::InstructionWord => format!("instructions mentioning '{s}'"),
                Kind::ResponseWord => format!("responses with '{s}'"),
                Kind::ResponsePair => format!("responses with '{s}'"),
                Kind::LengthByFirst | Kind::ShapeByFirst => {
                    let (what, w) = s.split_once('|').unwrap_or((s, ""));
                    format!("{what} answers to {} instructions", first(w))
                }
            }
        }
    }
}
