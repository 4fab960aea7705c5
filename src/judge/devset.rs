//! The continuation dev set (scoring.md): from Alpaca records whose input is a passage of at least
//! three sentences, a copy whose input is a prefix of the passage and whose response is the passage's
//! next sentences, length-matched to the genuine response. [`build`] pairs each copy with a genuine
//! record of similar input and output length; [`build_paired`] with its own source record.
//!
//! Split: records with index % 20 == 0 form the evaluation set (the default model never saw them);
//! all others form the training set, the only one continuation weights may be fitted on.
//! Also here: AUROC and a small logistic-regression fitter.

use crate::dataset::RecordTextBuf;
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
        index.is_multiple_of(20) == (self == Split::Eval)
    }
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
pub fn continuation_copy(r: &RecordTextBuf) -> Option<(String, String)> {
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

/// Source record and continuation copy of every qualifying record of `split`, in index order.
fn copies(records: &[RecordTextBuf], split: Split) -> Vec<(usize, String, String)> {
    let eligible = records.iter().enumerate().filter(|(i, _)| split.contains(*i));
    eligible.filter_map(|(i, r)| continuation_copy(r).map(|(z, y)| (i, z, y))).collect()
}

fn item(source: usize, r: &RecordTextBuf, input: &str, output: &str, continuation: bool) -> DevItem {
    DevItem { source, instruction: r.instruction.to_string(), input: input.into(), output: output.into(), continuation }
}

/// Paired dev set of `split`: each qualifying record as it is (genuine), then its continuation copy.
/// The copies' inputs are prefixes of their sources', so -len(input) separates this set well.
pub fn build_paired(records: &[RecordTextBuf], split: Split) -> Vec<DevItem> {
    let mut out = Vec::new();
    for (i, z, y) in copies(records, split) {
        let r = &records[i];
        out.push(item(i, r, &r.input, &r.output, false));
        out.push(item(i, r, &z, &y, true));
    }
    out
}

/// Length-matched dev set of `split`: each continuation copy, then the genuine record of the split
/// (non-empty input, not a copy's source, each used once) nearest to it in log input length plus
/// log output length, so neither trivial baseline separates the classes by construction.
pub fn build(records: &[RecordTextBuf], split: Split) -> Vec<DevItem> {
    let cs = copies(records, split);
    let sources: std::collections::HashSet<usize> = cs.iter().map(|c| c.0).collect();
    let mut pool: Vec<usize> = (0..records.len())
        .filter(|&i| split.contains(i) && !sources.contains(&i))
        .filter(|&i| !records[i].input.trim().is_empty() && !records[i].output.trim().is_empty())
        .collect();
    let ln = |s: &str| (s.chars().count().max(1) as f64).ln();
    let mut out = Vec::new();
    for (i, z, y) in cs {
        let d = |j: usize| (ln(&records[j].input) - ln(&z)).abs() + (ln(&records[j].output) - ln(&y)).abs();
        let Some(k) = (0..pool.len()).min_by(|&a, &b| d(pool[a]).total_cmp(&d(pool[b]))) else { break };
        let j = pool.swap_remove(k);
        out.push(item(i, &records[i], &z, &y, true));
        out.push(item(j, &records[j], &records[j].input, &records[j].output, false));
    }
    out
}

/// Ordinary records for calibration: every record of `split` with `index % 20 == rem` and a
/// non-empty response, as it is, labelled genuine. They cover every shape (no input, short input,
/// one-word answers) where the dev set holds only long passages, so a score fitted or checked on
/// them does not flag short, well-predicted answers merely for being predictable. Alpaca has a few
/// real continuation-style records among them; they count as genuine (label noise).
pub fn ordinary(records: &[RecordTextBuf], split: Split, rem: usize) -> Vec<DevItem> {
    let keep = |i: usize, r: &RecordTextBuf| split.contains(i) && i % 20 == rem && !r.output.trim().is_empty();
    let picked = records.iter().enumerate().filter(|(i, r)| keep(*i, r));
    picked.map(|(i, r)| item(i, r, &r.input, &r.output, false)).collect()
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

/// How much better `a` ranks `labels` than `b` does on the same records: the AUROC difference
/// `auroc(a) - auroc(b)` and its standard error by DeLong's method (the two AUROCs are
/// correlated, since they rank the same records). NaN when a class is missing.
pub fn auroc_gain(a: &[f64], b: &[f64], labels: &[bool]) -> (f64, f64) {
    let pos: Vec<usize> = (0..labels.len()).filter(|&i| labels[i]).collect();
    let neg: Vec<usize> = (0..labels.len()).filter(|&i| !labels[i]).collect();
    if pos.is_empty() || neg.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let psi = |x: f64, y: f64| {
        if x > y {
            1.0
        } else if x == y {
            0.5
        } else {
            0.0
        }
    };
    // Each record's share of the other class ranked on the right side of it ("placements"), under
    // `a` minus under `b`: either class's mean is the difference, and their spread its variance.
    let dp: Vec<f64> = pos
        .iter()
        .map(|&i| neg.iter().map(|&j| psi(a[i], a[j]) - psi(b[i], b[j])).sum::<f64>() / neg.len() as f64)
        .collect();
    let dn: Vec<f64> = neg
        .iter()
        .map(|&j| pos.iter().map(|&i| psi(a[i], a[j]) - psi(b[i], b[j])).sum::<f64>() / pos.len() as f64)
        .collect();
    let var = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        if v.len() < 2 { 0.0 } else { v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64 }
    };
    let gain = dp.iter().sum::<f64>() / dp.len() as f64;
    let se = (var(&dp) / dp.len() as f64 + var(&dn) / dn.len() as f64).sqrt();
    (gain, se)
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
    fn ordinary_records_are_one_index_class_of_a_split_as_they_are() {
        let r = |o: &str| RecordTextBuf { instruction: "Do.".into(), input: "".into(), output: o.into() };
        let recs: Vec<RecordTextBuf> = (0..60).map(|i| r(if i == 30 { " " } else { "Done." })).collect();
        let t = ordinary(&recs, Split::Train, 10);
        assert_eq!(t.iter().map(|d| d.source).collect::<Vec<_>>(), vec![10, 50]);
        assert!(t.iter().all(|d| !d.continuation && d.output == "Done."));
        assert_eq!(ordinary(&recs, Split::Eval, 0).len(), 3);
        assert!(ordinary(&recs, Split::Eval, 10).is_empty());
    }

    #[test]
    fn auroc_basics() {
        assert_eq!(auroc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]), 1.0);
        assert_eq!(auroc(&[0.5, 0.5], &[false, true]), 0.5);
        assert_eq!(auroc(&[0.9, 0.1], &[false, true]), 0.0);
    }

    #[test]
    fn auroc_gain_is_the_difference_with_delongs_standard_error() {
        let a = [0.9, 0.8, 0.7, 0.6, 0.55, 0.4, 0.3, 0.2, 0.35, 0.1];
        let b = [0.5, 0.9, 0.2, 0.6, 0.7, 0.4, 0.3, 0.8, 0.1, 0.45];
        let y = [true, true, true, false, true, false, false, false, true, false];
        let (gain, se) = auroc_gain(&a, &b, &y);
        assert!((gain - (auroc(&a, &y) - auroc(&b, &y))).abs() < 1e-12, "{gain}");
        assert!((gain - 0.40).abs() < 1e-12, "{gain}");
        // DeLong's variance of the difference, as numpy computes it from the placements.
        assert!((se - 0.219_089_023_002_066).abs() < 1e-9, "{se}");
        // The same ranking twice: no gain, and no doubt about it.
        assert_eq!(auroc_gain(&a, &a, &y), (0.0, 0.0));
        assert!(auroc_gain(&a, &b, &[true; 10]).0.is_nan());
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
