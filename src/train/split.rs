//! Held-out splits by task for the generalisation report: records are grouped into tasks (Dolly
//! `category`, else a review tag, else the instruction's first two words); some whole tasks are
//! held out (inter-task: unseen tasks) and some records of the remaining tasks are held out
//! (intra-task: seen tasks). Deterministic for a seed.

use crate::session::Session;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The task a record belongs to, as `category:..`, `tag:..` or `words:..`.
pub fn task_of(session: &Session, pos: usize) -> String {
    let rec = session.dataset().record(pos).unwrap_or_default();
    if let Some(c) = rec.category.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        return format!("category:{c}");
    }
    if let Some(t) = session.review(pos).tags.first() {
        return format!("tag:{t}");
    }
    let words: Vec<String> = rec
        .instruction
        .split_whitespace()
        .map(|w| w.chars().filter(|c| c.is_alphanumeric()).collect::<String>().to_lowercase())
        .filter(|w| !w.is_empty())
        .take(2)
        .collect();
    format!("words:{}", words.join(" "))
}

/// How the selection was split.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskSplit {
    /// Positions trained on.
    pub train: Vec<usize>,
    /// Held-out records of tasks that are also trained on.
    pub intra: Vec<usize>,
    /// Records of tasks held out entirely.
    pub inter: Vec<usize>,
    /// Names of the held-out tasks.
    pub unseen_tasks: Vec<String>,
    /// Number of distinct tasks in the selection.
    pub tasks: usize,
}

fn mix(seed: u64, x: u64) -> u64 {
    let mut r = crate::rng::SplitMix64(seed ^ x.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    r.next_u64()
}

fn hash_str(s: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes())
}

/// The most records in each held-out set: enough for a stable loss, few enough that evaluating
/// the base model before training (and every `eval_every` steps) stays a matter of seconds.
pub const MAX_HELD_OUT: usize = 256;

/// Splits `positions` into train / intra-task / inter-task sets. About `frac` of the records (at
/// most [`MAX_HELD_OUT`]) go
/// to each held-out set; whole tasks are held out only when there are at least 4 tasks (and at
/// least 3 stay seen), and a seen task always keeps a training record. Tiny selections (under 10
/// records) are not split.
pub fn split_by_task(session: &Session, positions: &[usize], frac: f64, seed: u64) -> TaskSplit {
    let mut tasks: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for &p in positions {
        tasks.entry(task_of(session, p)).or_default().push(p);
    }
    let mut out = TaskSplit { tasks: tasks.len(), ..Default::default() };
    let n = positions.len();
    if n < 10 || frac <= 0.0 {
        out.train = positions.to_vec();
        return out;
    }
    let target = ((n as f64 * frac).round() as usize).clamp(1, MAX_HELD_OUT);
    let mut names: Vec<&String> = tasks.keys().collect();
    names.sort_by_key(|t| (mix(seed, hash_str(t)), t.to_string()));
    let mut seen = Vec::new();
    let mut held = 0;
    for name in names {
        let members = &tasks[name];
        let stays = tasks.len() - out.unseen_tasks.len();
        if tasks.len() >= 4 && stays > 3 && held < target && held + members.len() <= 2 * target {
            held += members.len();
            out.inter.extend(members);
            out.unseen_tasks.push(name.clone());
        } else {
            seen.push(name);
        }
    }
    let mut candidates: Vec<(u64, usize, &String)> = Vec::new();
    for name in &seen {
        for &p in &tasks[*name] {
            candidates.push((mix(seed ^ 0x5EED, p as u64), p, name));
        }
    }
    candidates.sort();
    let mut left: BTreeMap<&String, usize> = seen.iter().map(|t| (*t, tasks[*t].len())).collect();
    for (_, p, name) in candidates {
        let l = left.get_mut(name).expect("seen task");
        if out.intra.len() < target && *l > 1 {
            *l -= 1;
            out.intra.push(p);
        } else {
            out.train.push(p);
        }
    }
    out.train.sort_unstable();
    out.intra.sort_unstable();
    out.inter.sort_unstable();
    out
}

/// Held-out losses before and after training on one evaluation set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeldOut {
    /// Records in the set (after skipping unusable ones).
    pub examples: usize,
    /// Response tokens scored.
    pub tokens: usize,
    /// Mean NLL per response token of the base model (nats).
    pub before: Option<f64>,
    /// Mean NLL per response token of the trained model (nats).
    pub after: Option<f64>,
}

/// `generalisation.json`: held-out loss on seen tasks (intra) and unseen tasks (inter).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneralisationReport {
    /// Distinct tasks in the selection.
    pub tasks: usize,
    /// Tasks held out entirely.
    pub unseen_tasks: Vec<String>,
    /// Training examples.
    pub train_examples: usize,
    /// Held-out records of seen tasks.
    pub intra_task: HeldOut,
    /// Records of unseen tasks.
    pub inter_task: HeldOut,
}

impl GeneralisationReport {
    /// A short human-readable summary.
    pub fn to_text(&self) -> String {
        let f = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.4}"));
        let line = |name: &str, h: &HeldOut| {
            format!(
                "  {name:<22} {:>5} examples  {:>7} tokens  before {:>8}  after {:>8}\n",
                h.examples,
                h.tokens,
                f(h.before),
                f(h.after)
            )
        };
        format!(
            "generalisation ({} tasks, {} unseen, {} training examples; eval loss in nats/token):\n{}{}",
            self.tasks,
            self.unseen_tasks.len(),
            self.train_examples,
            line("seen tasks (intra)", &self.intra_task),
            line("unseen tasks (inter)", &self.inter_task)
        )
    }
}
