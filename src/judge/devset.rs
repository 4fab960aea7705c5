//! The continuation dev set (scoring.md): Alpaca records whose input is a passage of at least three
//! sentences, each paired with a copy whose input is a prefix of the passage and whose response is
//! the passage's next sentences, length-matched to the genuine response.
//!
//! Split: records with index % 20 == 0 form the evaluation set (the default model never saw them);
//! all others form the training set, the only one continuation weights may be fitted on.
//! Also here: AUROC and a small logistic-regression fitter.

use serde::{Deserialize, Serialize};

/// Which records a set is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
    /// index % 20 == 0: held out, for evaluation only.
    Eval,
    /// index % 20 != 0: for fitting.
    Train,
}

impl Split {
    /// Whether record `index` belongs to this split.
    pub fn contains(self, index: usize) -> bool {
        (index % 20 == 0) == (self == Split::Eval)
    }
}

/// An Alpaca record.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AlpacaRecord {
    pub instruction: String,
    #[serde(default)]
    pub input: String,
    pub output: String,
}

/// One dev-set item.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DevItem {
    /// Index of the Alpaca record it was built from.
    pub source: usize,
    pub instruction: String,
    pub input: String,
    pub output: String,
    /// true for the continuation copy, false for the genuine record.
    pub continuation: bool,
}

/// Minimum sentences in a passage, minimum passage length (chars), allowed length ratio
/// continuation / genuine response.
pub const MIN_SENTENCES: usize = 3;
pub const MIN_CHARS: usize = 120;
pub const LENGTH_RATIO: (f64, f64) = (0.5, 2.0);

const ABBREVIATIONS: [&str; 12] =
    ["mr.", "mrs.", "ms.", "dr.", "st.", "vs.", "e.g.", "i.e.", "etc.", "u.s.", "no.", "jr."];

/// Splits text into sentences: a sentence ends at `.`, `!` or `?` (optionally followed by a closing
/// quote or bracket) when whitespace and an uppercase letter, digit or opening quote follow, unless
/// the word is a common abbreviation. The pieces concatenate back to the trimmed text up to the
/// whitespace between sentences.
pub fn sentences(text: &str) -> Vec<&str> {
    let t = text.trim();
    let b = t.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if matches!(b[i], b'.' | b'!' | b'?') {
            let mut end = i + 1;
            while end < b.len() && matches!(b[end], b'"' | b'\'' | b')') {
                end += 1;
            }
            let ws = t[end..].len() - t[end..].trim_start().len();
            let next = t[end + ws..].chars().next();
            let word = t[start..end].rsplit(char::is_whitespace).next().unwrap_or("").to_lowercase();
            if ws > 0
                && next.is_some_and(|c| c.is_uppercase() || c.is_ascii_digit() || c == '"')
                && !ABBREVIATIONS.contains(&word.as_str())
            {
                out.push(&t[start..end]);
                start = end + ws;
                i = start;
                continue;
            }
        }
        i += 1;
    }
    if start < t.len() {
        out.push(&t[start..]);
    }
    out
}

/// The continuation copy of `r`, if its input qualifies: input = sentences `[..k]`, response =
/// sentences `[k..k+m]` (k, m >= 1) whose length is closest to the genuine response's (the longest
/// prefix wins ties), within [`LENGTH_RATIO`].
pub fn continuation_copy(r: &AlpacaRecord) -> Option<(String, String)> {
    let s = sentences(&r.input);
    if s.len() < MIN_SENTENCES || r.input.trim().len() < MIN_CHARS || r.output.trim().is_empty() {
        return None;
    }
    let target = r.output.trim().len() as i64;
    let mut best: Option<(i64, usize, usize, usize)> = None;
    for k in 1..s.len() {
        let mut len = -1i64;
        for m in 1..=s.len() - k {
            len += s[k + m - 1].len() as i64 + 1;
            let d = (len - target).abs();
            if best.is_none_or(|(bd, bk, _, _)| d < bd || (d == bd && k > bk)) {
                best = Some((d, k, m, len as usize));
            }
        }
    }
    let (_, k, m, len) = best?;
    let ratio = len as f64 / target as f64;
    if ratio < LENGTH_RATIO.0 || ratio > LENGTH_RATIO.1 {
        return None;
    }
    // Slices of the original text, so whitespace inside the passage is kept exactly.
    let t = r.input.trim();
    let at = |x: &str| x.as_ptr() as usize - t.as_ptr() as usize;
    let prefix = &t[..at(s[k - 1]) + s[k - 1].len()];
    let next = &t[at(s[k])..at(s[k + m - 1]) + s[k + m - 1].len()];
    Some((prefix.to_string(), next.to_string()))
}

/// The dev set of `split`: for each qualifying record, the genuine record then its continuation copy.
pub fn build(records: &[AlpacaRecord], split: Split) -> Vec<DevItem> {
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate().filter(|(i, _)| split.contains(*i)) {
        if let Some((input, output)) = continuation_copy(r) {
            out.push(DevItem {
                source: i,
                instruction: r.instruction.clone(),
                input: r.input.clone(),
                output: r.output.clone(),
                continuation: false,
            });
            out.push(DevItem { source: i, instruction: r.instruction.clone(), input, output, continuation: true });
        }
    }
    out
}

/// Area under the ROC curve of `scores` for `labels` (true = positive), ties counted half.
pub fn auroc(scores: &[f64], labels: &[bool]) -> f64 {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    // Mann-Whitney U with average ranks for ties.
    let mut ranks = vec![0f64; scores.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        for &k in &idx[i..=j] {
            ranks[k] = (i + j) as f64 / 2.0 + 1.0;
        }
        i = j + 1;
    }
    let np = labels.iter().filter(|&&l| l).count() as f64;
    let nn = labels.len() as f64 - np;
    if np == 0.0 || nn == 0.0 {
        return f64::NAN;
    }
    let rp: f64 = ranks.iter().zip(labels).filter(|(_, l)| **l).map(|(r, _)| r).sum();
    (rp - np * (np + 1.0) / 2.0) / (np * nn)
}

/// Fits `sigmoid(b + w · x)` to `labels` by full-batch gradient descent on the L2-regularised log
/// loss, with features standardised internally; returns `(bias, weights)` on the original scale.
pub fn fit_logistic(x: &[Vec<f32>], labels: &[bool], l2: f64, steps: usize) -> (f32, Vec<f32>) {
    let d = x.first().map_or(0, Vec::len);
    let n = x.len().max(1) as f64;
    let mean: Vec<f64> = (0..d).map(|j| x.iter().map(|r| r[j] as f64).sum::<f64>() / n).collect();
    let sd: Vec<f64> =
        (0..d).map(|j| (x.iter().map(|r| (r[j] as f64 - mean[j]).powi(2)).sum::<f64>() / n).sqrt().max(1e-6)).collect();
    let z: Vec<Vec<f64>> = x.iter().map(|r| (0..d).map(|j| (r[j] as f64 - mean[j]) / sd[j]).collect()).collect();
    let (mut b, mut w) = (0f64, vec![0f64; d]);
    for _ in 0..steps {
        let (mut gb, mut gw) = (0f64, vec![0f64; d]);
        for (r, &y) in z.iter().zip(labels) {
            let p = 1.0 / (1.0 + (-(b + r.iter().zip(&w).map(|(a, c)| a * c).sum::<f64>())).exp());
            let e = p - y as u8 as f64;
            gb += e;
            for j in 0..d {
                gw[j] += e * r[j];
            }
        }
        b -= 0.5 * gb / n;
        for j in 0..d {
            w[j] -= 0.5 * (gw[j] / n + l2 * w[j]);
        }
    }
    let wo: Vec<f32> = (0..d).map(|j| (w[j] / sd[j]) as f32).collect();
    let bo = b - (0..d).map(|j| w[j] * mean[j] / sd[j]).sum::<f64>();
    (bo as f32, wo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sentences() {
        let s = sentences("Dr. Smith arrived. He said \"Hi.\" Then 3 cats left! Why? e.g. this one.");
        assert_eq!(s, vec!["Dr. Smith arrived.", "He said \"Hi.\"", "Then 3 cats left!", "Why? e.g. this one."]);
    }

    #[test]
    fn auroc_basics() {
        assert_eq!(auroc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]), 1.0);
        assert_eq!(auroc(&[0.5, 0.5], &[false, true]), 0.5);
        assert_eq!(auroc(&[0.9, 0.1], &[false, true]), 0.0);
    }

    #[test]
    fn logistic_separates() {
        let x: Vec<Vec<f32>> = (0..40).map(|i| vec![i as f32, 1.0]).collect();
        let y: Vec<bool> = (0..40).map(|i| i >= 20).collect();
        let (b, w) = fit_logistic(&x, &y, 0.0, 500);
        assert!(w[0] > 0.0);
        assert!(b + w[0] * 30.0 + w[1] > 0.0 && b + w[0] * 5.0 + w[1] < 0.0);
    }
}
