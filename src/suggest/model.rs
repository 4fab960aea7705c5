//! The suggestion model: L2-regularised logistic regression over [`Features`], fitted by Nesterov's
//! accelerated gradient descent on the class-balanced log loss (rejects and keeps weigh the same in
//! total, however few rejects there are), and its cross-validated AUROC. The prior's weight is
//! pulled towards 1 rather than 0 (the model starts as the judge and learns the residual), and the
//! many sparse features have an L2 strength of their own, stronger than the few dense ones'.

use super::features::{DIM, Features, N_DENSE, PRIOR};
use rayon::prelude::*;

/// P(reject) = `sigmoid(bias + w · x)`; `w` spans the whole feature space ([`DIM`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Logistic {
    pub bias: f32,
    pub w: Vec<f32>,
}

/// Fitting settings. Each L2 strength is times the number of decisions (so it weakens as decisions
/// accumulate).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FitOptions {
    /// L2 strength of the dense features' weights.
    pub l2: f32,
    /// L2 strength of the sparse (flag, word, first-word) features' weights.
    pub l2_sparse: f32,
    /// L2 strength pulling the prior's weight towards 1.
    pub l2_prior: f32,
    /// L2 strength of the embedding's weights ([`Features::with_embedding`]); infinite leaves
    /// the embedding out.
    pub l2_hidden: f32,
    /// Most gradient steps.
    pub steps: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions { l2: 1.0, l2_sparse: 4.0, l2_prior: 30.0, l2_hidden: 1.0, steps: 300 }
    }
}

impl FitOptions {
    /// These options with the dense and sparse strengths times `k` (the prior's unchanged).
    pub fn stronger(self, k: f32) -> FitOptions {
        FitOptions { l2: self.l2 * k, l2_sparse: self.l2_sparse * k, ..self }
    }
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

impl Logistic {
    /// P(reject) of record `pos`.
    pub fn predict(&self, f: &Features, pos: usize) -> f32 {
        sigmoid(self.margin(f, pos))
    }

    /// `bias + w · x` of record `pos`.
    pub fn margin(&self, f: &Features, pos: usize) -> f32 {
        self.bias + f.row(pos).map(|(j, v)| self.w.get(j as usize).map_or(0.0, |w| w * v)).sum::<f32>()
    }

    /// P(reject) of every record (in parallel).
    pub fn predict_all(&self, f: &Features) -> Vec<f32> {
        (0..f.len()).into_par_iter().map(|p| self.predict(f, p)).collect()
    }

    /// Fits the model to the records at `rows`, `reject[k]` saying whether `rows[k]` was rejected.
    /// Both classes must be present.
    pub fn fit(f: &Features, rows: &[usize], reject: &[bool], opts: FitOptions) -> Logistic {
        // Work in the columns the training rows use: a weight no row touches stays 0 under L2.
        let mut local = vec![u32::MAX; f.dim()];
        let skip = if opts.l2_hidden.is_finite() { f.dim() } else { DIM };
        let mut cols: Vec<u32> = Vec::new();
        let mut idx: Vec<u32> = Vec::new();
        let mut val: Vec<f32> = Vec::new();
        let mut ptr = vec![0usize];
        for &p in rows {
            for (j, v) in f.row(p) {
                if v == 0.0 || j as usize >= skip {
                    continue;
                }
                let slot = &mut local[j as usize];
                if *slot == u32::MAX {
                    *slot = cols.len() as u32;
                    cols.push(j);
                }
                idx.push(*slot);
                val.push(v);
            }
            ptr.push(idx.len());
        }
        let n = rows.len();
        let m = cols.len();
        let n_rej = reject.iter().filter(|&&r| r).count().max(1) as f32;
        let n_acc = (n as f32 - n_rej).max(1.0);
        let c: Vec<f32> = reject.iter().map(|&r| if r { 0.5 / n_rej } else { 0.5 / n_acc }).collect();
        // Each column's L2 strength and the value its weight is pulled towards.
        let per_n = 1.0 / n.max(1) as f32;
        let (lambda, centre): (Vec<f32>, Vec<f32>) = cols
            .iter()
            .map(|&j| match j as usize {
                PRIOR => (opts.l2_prior * per_n, 1.0),
                j if j < N_DENSE => (opts.l2 * per_n, 0.0),
                j if j >= DIM => (opts.l2_hidden * per_n, 0.0),
                _ => (opts.l2_sparse * per_n, 0.0),
            })
            .unzip();
        // Lipschitz constant of the gradient: the log loss's curvature is at most 1/4 per row.
        let max_norm =
            (0..n).map(|i| 1.0 + val[ptr[i]..ptr[i + 1]].iter().map(|v| v * v).sum::<f32>()).fold(0.0, f32::max);
        let step = 1.0 / (0.25 * max_norm + lambda.iter().copied().fold(0.0, f32::max));

        // Start at the prior: every weight at its centre.
        let (mut w, mut b) = (centre.clone(), 0f32);
        let (mut w_prev, mut b_prev) = (w.clone(), b);
        let mut y = w.clone();
        let mut g = vec![0f32; m];
        for k in 0..opts.steps {
            let mom = k as f32 / (k as f32 + 3.0);
            let yb = b + mom * (b - b_prev);
            for j in 0..m {
                y[j] = w[j] + mom * (w[j] - w_prev[j]);
                g[j] = lambda[j] * (y[j] - centre[j]);
            }
            let mut gb = 0f32;
            for i in 0..n {
                let (s, e) = (ptr[i], ptr[i + 1]);
                let z = yb + idx[s..e].iter().zip(&val[s..e]).map(|(&j, &v)| y[j as usize] * v).sum::<f32>();
                let r = c[i] * (sigmoid(z) - reject[i] as u8 as f32);
                gb += r;
                for (&j, &v) in idx[s..e].iter().zip(&val[s..e]) {
                    g[j as usize] += r * v;
                }
            }
            w_prev.copy_from_slice(&w);
            b_prev = b;
            let mut gmax = gb.abs();
            for j in 0..m {
                w[j] = y[j] - step * g[j];
                gmax = gmax.max(g[j].abs());
            }
            b = yb - step * gb;
            if gmax < 1e-5 {
                break;
            }
        }
        let mut full = vec![0f32; f.dim()];
        // A prior no training row carries (all equal) keeps its centre.
        full[PRIOR] = 1.0;
        for (l, &j) in cols.iter().enumerate() {
            full[j as usize] = w[l];
        }
        Logistic { bias: b, w: full }
    }

    /// The prior alone: weight 1 on it, 0 elsewhere, and the bias that fits the decisions best
    /// (class-balanced, by Newton's method).
    pub fn prior_only(f: &Features, rows: &[usize], reject: &[bool]) -> Logistic {
        let z: Vec<f32> = rows.iter().map(|&p| f.dense(p)[PRIOR]).collect();
        let n_rej = reject.iter().filter(|&&r| r).count().max(1) as f32;
        let n_acc = (rows.len() as f32 - n_rej).max(1.0);
        let mut b = 0f32;
        for _ in 0..20 {
            let (mut g, mut h) = (0f32, 1e-6f32);
            for (&z, &r) in z.iter().zip(reject) {
                let c = if r { 0.5 / n_rej } else { 0.5 / n_acc };
                let p = sigmoid(b + z);
                g += c * (p - r as u8 as f32);
                h += c * p * (1.0 - p);
            }
            b -= (g / h).clamp(-5.0, 5.0);
        }
        let mut w = vec![0f32; DIM];
        w[PRIOR] = 1.0;
        Logistic { bias: b, w }
    }
}

/// Cross-validated AUROC of the model on the decisions: `folds`-fold, stratified, each record
/// scored by the model fitted without its fold. None when a class has fewer than `folds` records.
pub fn cv_auroc(f: &Features, rows: &[usize], reject: &[bool], opts: FitOptions, folds: usize) -> Option<f64> {
    cv_margins(f, rows, reject, opts, folds).map(|s| crate::judge::devset::auroc(&s, reject))
}

/// The out-of-fold margins behind [`cv_auroc`], one per row: each row scored by the model fitted
/// on the other folds. None when a class has fewer than `folds` records.
pub fn cv_margins(f: &Features, rows: &[usize], reject: &[bool], opts: FitOptions, folds: usize) -> Option<Vec<f64>> {
    let n_rej = reject.iter().filter(|&&r| r).count();
    if folds < 2 || n_rej < folds || rows.len() - n_rej < folds {
        return None;
    }
    // Stratified: the k-th record of each class goes to fold k % folds.
    let mut seen = [0usize; 2];
    let fold: Vec<usize> = reject
        .iter()
        .map(|&r| {
            let k = seen[r as usize];
            seen[r as usize] += 1;
            k % folds
        })
        .collect();
    let scored: Vec<(usize, f64)> = (0..folds)
        .into_par_iter()
        .flat_map_iter(|k| {
            let (mut tr, mut tl) = (Vec::new(), Vec::new());
            for i in (0..rows.len()).filter(|&i| fold[i] != k) {
                tr.push(rows[i]);
                tl.push(reject[i]);
            }
            let model = Logistic::fit(f, &tr, &tl, opts);
            (0..rows.len()).filter(|&i| fold[i] == k).map(|i| (i, model.margin(f, rows[i]) as f64)).collect::<Vec<_>>()
        })
        .collect();
    let mut out = vec![0f64; rows.len()];
    for (i, m) in scored {
        out[i] = m;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::RecordText;
    use crate::suggest::features::FeatureInput;

    fn input<'a>(c: &'a str, y: &'a str) -> FeatureInput<'a> {
        FeatureInput { text: RecordText { instruction: c, input: "", output: y }, ..Default::default() }
    }

    #[test]
    fn learns_which_kind_of_record_is_rejected_and_cross_validates_it() {
        // Rejected: one-word answers to "explain"; kept: explanations of a few sentences.
        let long = "It works because the parts move together, and each step follows from the last one. \
                    That is why the result holds in practice.";
        let topics =
            ["rain", "tides", "rust", "wind", "snow", "fire", "ice", "clouds", "sound", "light", "heat", "salt"];
        let prompts: Vec<String> = topics.iter().map(|t| format!("Explain how {t} forms.")).collect();
        let mut inputs = Vec::new();
        for (i, p) in prompts.iter().enumerate() {
            inputs.push(input(p, if i % 2 == 0 { "Physics." } else { long }));
        }
        let f = Features::build(&inputs);
        let rows: Vec<usize> = (0..10).collect();
        let reject: Vec<bool> = rows.iter().map(|i| i % 2 == 0).collect();
        let m = Logistic::fit(&f, &rows, &reject, FitOptions::default());
        // The two records it never saw: the short one is the likely reject.
        let (short, explained) = (m.predict(&f, 10), m.predict(&f, 11));
        assert!(short > 0.5 && explained < 0.5, "{short} {explained}");
        assert_eq!(cv_auroc(&f, &rows, &reject, FitOptions::default(), 5), Some(1.0));
        // Too few of a class for 5 folds: no estimate rather than a made-up one.
        assert_eq!(cv_auroc(&f, &rows[..7], &reject[..7], FitOptions::default(), 5), None);
    }
}
