//! Reasons in words: the features that push a record's suggestion most, and how many of the
//! records already decided share them ("like 7 records you rejected: short list answers to
//! 'explain' instructions").

use super::features::{FeatureInput, Features, Name, describe};
use super::model::Logistic;
use std::collections::HashMap;

/// A dense value counts as "high" or "low" beyond this many standard deviations.
const DENSE_SIDE: f32 = 0.5;

/// A feature as present on a record: a sparse index, or a dense index on one side of its mean.
type Key = (u32, bool);

fn dense_key(j: usize, z: f32) -> Option<Key> {
    (z.abs() > DENSE_SIDE).then_some((j as u32, z > 0.0))
}

/// Which decided records carry each feature, as bitsets over the decisions.
pub struct Evidence {
    keys: HashMap<Key, Vec<u64>>,
    rejected: Vec<u64>,
    words: usize,
}

impl Evidence {
    /// Indexes the decided records (`(position, rejected)`).
    pub fn new(f: &Features, decisions: &[(usize, bool)]) -> Evidence {
        let words = decisions.len().div_ceil(64);
        let mut keys: HashMap<Key, Vec<u64>> = HashMap::new();
        let mut rejected = vec![0u64; words];
        for (k, &(pos, rej)) in decisions.iter().enumerate() {
            let bit = |v: &mut Vec<u64>| v[k / 64] |= 1 << (k % 64);
            if rej {
                bit(&mut rejected);
            }
            let dense = f.dense(pos).iter().enumerate().filter_map(|(j, &z)| dense_key(j, z));
            for key in dense.chain(f.sparse(pos).iter().map(|&(j, _)| (j, true))) {
                bit(keys.entry(key).or_insert_with(|| vec![0; words]));
            }
        }
        Evidence { keys, rejected, words }
    }

    /// (decided records with every key, rejected among them).
    fn count(&self, keys: &[Key]) -> (usize, usize) {
        let mut all = vec![u64::MAX; self.words];
        for k in keys {
            match self.keys.get(k) {
                Some(b) => all.iter_mut().zip(b).for_each(|(a, b)| *a &= b),
                None => return (0, 0),
            }
        }
        let n = all.iter().map(|w| w.count_ones() as usize).sum();
        let r = all.iter().zip(&self.rejected).map(|(a, r)| (a & r).count_ones() as usize).sum();
        (n, r)
    }
}

/// Up to `top` features pushing record `pos` towards its side (reject when its suggestion is at
/// least 0.5, keep otherwise): (key when the decided records can share it, name, value, push).
fn drivers(
    model: &Logistic,
    f: &Features,
    pos: usize,
    input: &FeatureInput,
    top: usize,
) -> Vec<(Option<Key>, Name, f32)> {
    let side = if model.predict(f, pos) >= 0.5 { 1.0 } else { -1.0 };
    let mut all: Vec<(Option<Key>, Name, f32, f32)> = f
        .dense(pos)
        .iter()
        .enumerate()
        .map(|(j, &z)| (dense_key(j, z), Name::Dense(j), z, side * model.w[j] * z))
        .collect();
    let values: HashMap<u32, f32> = f.sparse(pos).iter().copied().collect();
    for (j, name) in Features::named(input) {
        let v = values.get(&j).copied().unwrap_or(0.0);
        all.push((Some((j, true)), name, v, side * model.w[j as usize] * v));
    }
    all.retain(|a| a.3 > 1e-3);
    all.sort_by(|a, b| b.3.total_cmp(&a.3));
    all.truncate(top);
    all.into_iter().map(|(k, n, v, _)| (k, n, v)).collect()
}

/// The reasons for record `pos`'s suggestion, most telling first: who it is like among the decided
/// records, then each main feature with how the decided records that share it went.
pub fn explain(model: &Logistic, f: &Features, ev: &Evidence, pos: usize, input: &FeatureInput) -> Vec<String> {
    let p = model.predict(f, pos);
    let reject = p >= 0.5;
    let verb = if reject { "rejected" } else { "accepted" };
    let top = drivers(model, f, pos, input, 3);
    let mut out = Vec::new();
    // The largest group of same-side decisions sharing the leading features (two, else one).
    for take in [2, 1] {
        let lead: Vec<&(Option<Key>, Name, f32)> = top.iter().take(take).collect();
        if lead.len() < take || lead.iter().any(|d| d.0.is_none()) {
            continue;
        }
        let keys: Vec<Key> = lead.iter().filter_map(|d| d.0).collect();
        let (n, r) = ev.count(&keys);
        let same = if reject { r } else { n - r };
        if same >= 2 {
            let what: Vec<String> = lead.iter().map(|d| describe(&d.1, d.2)).collect();
            let s = if same == 1 { "" } else { "s" };
            out.push(format!("like {same} record{s} you {verb}: {}", what.join(", ")));
            break;
        }
    }
    for (key, name, v) in &top {
        let what = describe(name, *v);
        match key.map(|k| ev.count(&[k])) {
            Some((n, r)) if n > 0 => out.push(format!("{what}: you rejected {r} of {n} such records")),
            _ => out.push(what),
        }
    }
    if out.is_empty() {
        out.push(format!("no single feature stands out (P(reject) {p:.2})"));
    }
    out
}
