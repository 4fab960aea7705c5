//! The review loop, simulated: labelled records play the annotator, who decides records in the
//! review queue's order while the suggestion model refits after every decision. After 25, 50, 100
//! and 200 decisions it prints, on the records not decided yet: the AUROC of `suggest` for
//! "would be rejected", the share of rejects among the next 50 records of the queue, and the same
//! for the generic judge (`1 - keep`, the order before any decision) and random order.
//!
//! `cargo bench --bench suggest_sim -- [--run labels|alpagasus|both] [--no-judge] [--model DIR]
//! [--seeds N]`
//!
//! - `labels`: the 328 curator labels (`../shared/data/labels/alpaca_curator_dev.jsonl`): keep =
//!   accept, fix or drop = reject.
//! - `alpagasus`: AlpaGasus' random 9,229 Alpaca records (`random_9k.json`); a record in
//!   `claude_t45` or `helpfulness_t45` is the annotator's keep, every other one a reject.
//!
//! The judge's scores come from the score cache (records not cached are scored first, with the
//! bundled model unless `--model`); `--no-judge` uses the model-free flags only. Queue orders:
//! `likely-reject` (the most likely reject next), `uncertain` (the suggestion nearest 0.5 next),
//! both starting from the judge's order until 5 decisions of each kind exist, and `random` (the
//! median over `--seeds` shuffles, 5 by default).

#[path = "support/mod.rs"]
mod support;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use sift::dataset::RecordText;
use sift::judge::devset::auroc;
use sift::judge::{Engine, EngineOptions, JudgeConfig, ScoreCache, Template};
use sift::model::{LocalModel, init_threads};
use sift::quality::heuristics::FlagConfig;
use sift::suggest::{self, FeatureInput, Features, FitOptions, QueueMode};
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CHECKPOINTS: [usize; 4] = [25, 50, 100, 200];
const NEXT: usize = 50;
/// Every this many decisions, the exploring queue takes a random record instead.
const EXPLORE: usize = 4;

struct Rec {
    instruction: String,
    input: String,
    output: String,
    reject: bool,
}

fn shared(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(p)
}

fn read_json(p: &str) -> Vec<serde_json::Value> {
    let path = shared(p);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if p.ends_with(".jsonl") {
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

fn field(v: &serde_json::Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}

fn labels() -> Vec<Rec> {
    read_json("labels/alpaca_curator_dev.jsonl")
        .iter()
        .map(|v| Rec {
            instruction: field(v, "instruction"),
            input: field(v, "input"),
            output: field(v, "output"),
            reject: v["verdict"].as_str() != Some("keep"),
        })
        .collect()
}

fn alpagasus() -> Vec<Rec> {
    let key = |v: &serde_json::Value| (field(v, "instruction"), field(v, "input"), field(v, "output"));
    let keep: HashSet<(String, String, String)> = ["alpagasus/claude_t45.json", "alpagasus/helpfulness_t45.json"]
        .iter()
        .flat_map(|f| read_json(f).iter().map(key).collect::<Vec<_>>())
        .collect();
    read_json("alpagasus/random_9k.json")
        .iter()
        .map(|v| {
            let (instruction, input, output) = key(v);
            let reject = !keep.contains(&(instruction.clone(), input.clone(), output.clone()));
            Rec { instruction, input, output, reject }
        })
        .collect()
}

/// The judge's measurements of every record (cached ones free, the rest scored now).
fn judge_signals(texts: &[RecordText]) -> Vec<Option<sift::judge::ModelSignals>> {
    let dir = support::model_dir().unwrap_or_else(|| sift::paths::default_model_dir().unwrap());
    let engine = Engine::new(LocalModel::load(&dir).unwrap(), Template::Alpaca, EngineOptions::default()).unwrap();
    let mut cache = sift::paths::cache_dir()
        .map_or_else(|| ScoreCache::disabled(""), |d| ScoreCache::open(&d, &engine.cache_key()));
    let t = Instant::now();
    let out = engine.score(texts, &mut cache, &AtomicBool::new(false), &mut |_| {}).unwrap();
    println!(
        "judge: {} ({} scored now in {:.1} s, {} from the cache)",
        dir.display(),
        out.scored,
        t.elapsed().as_secs_f64(),
        out.cached
    );
    out.signals
}

/// What one order shows at one checkpoint, on the undecided records.
#[derive(Clone, Copy, Default)]
struct Point {
    base: f64,
    suggest_auroc: f64,
    judge_auroc: f64,
    queue_next: f64,
    judge_next: f64,
    cv: f64,
}

fn share_rejects(order: &[usize], recs: &[Rec]) -> f64 {
    let top = &order[..order.len().min(NEXT)];
    top.iter().filter(|&&p| recs[p].reject).count() as f64 / top.len().max(1) as f64
}

/// Decides records in the order `mode` gives (None: the fixed order `shuffled`; before the model,
/// `prior`'s order; `judge` is the generic judge to compare with), refitting after
/// each decision; with `explore` k > 0, every k-th decision is instead the next undecided record
/// of `shuffled` (exploration). Returns one point per checkpoint and the refit times (s).
fn simulate(
    recs: &[Rec],
    f: &Features,
    (prior, judge): (&[f32], &[f32]),
    mode: Option<QueueMode>,
    shuffled: &[usize],
    explore: usize,
    opts: FitOptions,
) -> (Vec<Point>, Vec<f64>) {
    let n = recs.len();
    let mut decided: Vec<(usize, bool)> = Vec::new();
    let mut is_decided = vec![false; n];
    let mut scores: Vec<f32> = prior.to_vec();
    let mut fitted: Option<suggest::Fitted> = None;
    let mut points = Vec::new();
    let mut times = Vec::new();
    let last = *CHECKPOINTS.last().unwrap();
    while decided.len() < last.min(n - NEXT) {
        let undecided = (0..n).filter(|&p| !is_decided[p]);
        let pick = match mode {
            Some(_) if explore > 0 && decided.len() % explore == explore - 1 => {
                *shuffled.iter().find(|&&p| !is_decided[p]).unwrap()
            }
            Some(m) => {
                suggest::next(&scores, undecided, if fitted.is_some() { m } else { QueueMode::LikelyReject }).unwrap()
            }
            None => shuffled[decided.len()],
        };
        is_decided[pick] = true;
        decided.push((pick, recs[pick].reject));
        let t = Instant::now();
        if let Ok(fit) = suggest::fit(f, &decided, opts) {
            scores = fit.model.predict_all(f);
            fitted = Some(fit);
            times.push(t.elapsed().as_secs_f64());
        }
        if CHECKPOINTS.contains(&decided.len()) {
            let u: Vec<usize> = (0..n).filter(|&p| !is_decided[p]).collect();
            let labels: Vec<bool> = u.iter().map(|&p| recs[p].reject).collect();
            let of = |s: &[f32]| u.iter().map(|&p| s[p] as f64).collect::<Vec<f64>>();
            let judge_order = suggest::queue(judge, u.iter().copied(), QueueMode::LikelyReject);
            let queue_order = match mode {
                Some(m) => suggest::queue(&scores, u.iter().copied(), m),
                None => shuffled[decided.len()..].to_vec(),
            };
            points.push(Point {
                base: labels.iter().filter(|&&l| l).count() as f64 / labels.len() as f64,
                suggest_auroc: if fitted.is_some() { auroc(&of(&scores), &labels) } else { f64::NAN },
                judge_auroc: auroc(&of(judge), &labels),
                queue_next: share_rejects(&queue_order, recs),
                judge_next: share_rejects(&judge_order, recs),
                cv: fitted.as_ref().and_then(|f| f.cv_auroc).unwrap_or(f64::NAN),
            });
        }
    }
    (points, times)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 }
}

fn fmt(x: f64) -> String {
    if x.is_finite() { format!("{x:.3}") } else { "  -  ".into() }
}

/// `--grid "dense,flags,first,words,l2,l2_sparse,l2_prior;..."`: for each setting, suggest AUROC
/// on the undecided records after 50, 100 and 200 decisions per order (for choosing the defaults;
/// prints only that).
fn grid(spec: &str, recs: &[Rec], inputs: &[FeatureInput], prior: &[f32], judge: &[f32], seeds: u64) {
    println!(
        "{:<36} {:>24} {:>24} {:>24}",
        "dense,flags,first,words,l2,sparse,prior", "likely-reject 50/100/200", "uncertain", "random"
    );
    for cfg in spec.split(';') {
        let v: Vec<f32> = cfg.split(',').map(|x| x.trim().parse().unwrap()).collect();
        let scales = suggest::Scales { dense: v[0], flags: v[1], first: v[2], words: v[3] };
        let opts = FitOptions { l2: v[4], l2_sparse: v[5], l2_prior: v[6], ..FitOptions::default() };
        let f = Features::build_with(inputs, scales);
        let cell = |pts: Vec<Vec<Point>>| {
            let m = |k: usize| median(pts.iter().map(|p| p[k].suggest_auroc).collect());
            format!("{} {} {}", fmt(m(1)), fmt(m(2)), fmt(m(3)))
        };
        let a = cell(vec![simulate(recs, &f, (prior, judge), Some(QueueMode::LikelyReject), &[], 0, opts).0]);
        let b = cell(vec![simulate(recs, &f, (prior, judge), Some(QueueMode::Uncertain), &[], 0, opts).0]);
        let c = cell(
            (0..seeds)
                .map(|seed| {
                    let mut order: Vec<usize> = (0..recs.len()).collect();
                    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
                    simulate(recs, &f, (prior, judge), None, &order, 0, opts).0
                })
                .collect(),
        );
        println!("{cfg:<36} {a:>24} {b:>24} {c:>24}");
    }
}

fn run(name: &str, recs: &[Rec], use_judge: bool, seeds: u64) {
    let texts: Vec<RecordText> =
        recs.iter().map(|r| RecordText { instruction: &r.instruction, input: &r.input, output: &r.output }).collect();
    let rejects = recs.iter().filter(|r| r.reject).count();
    println!(
        "\n== {name}: {} records, {rejects} rejects ({:.1}%)",
        recs.len(),
        100.0 * rejects as f64 / recs.len() as f64
    );
    let signals = if use_judge { judge_signals(&texts) } else { vec![None; texts.len()] };
    let t = Instant::now();
    let inputs: Vec<FeatureInput> = suggest::inputs(&texts, &signals, &JudgeConfig::default(), &FlagConfig::default());
    let f = Features::build(&inputs);
    println!("features: {:.2} s for {} records", t.elapsed().as_secs_f64(), recs.len());
    // The queue's order before the model (judge and flags), and the generic judge alone
    // (`1 - keep`; the flags' prior where a record was not scored) to compare with.
    let prior = suggest::prior(&inputs);
    let judge: Vec<f32> = inputs.iter().zip(&prior).map(|(i, &p)| i.judge.map_or(p, |j| 1.0 - j.keep)).collect();
    if let Some(spec) = support::arg("--grid") {
        return grid(&spec, recs, &inputs, &prior, &judge, seeds);
    }
    let generic = if use_judge { "judge 1-keep" } else { "model-free flags" };
    let l: Vec<bool> = recs.iter().map(|r| r.reject).collect();
    let all = |s: &[f32]| auroc(&s.iter().map(|&x| x as f64).collect::<Vec<_>>(), &l);
    println!(
        "generic order: {generic}; AUROC on all records {:.3} (prior = judge and flags: {:.3})",
        all(&judge),
        all(&prior)
    );
    let mut rows: Vec<(String, Vec<Point>)> = Vec::new();
    let mut all_times = Vec::new();
    for mode in [QueueMode::LikelyReject, QueueMode::Uncertain] {
        let (p, times) = simulate(recs, &f, (&prior, &judge), Some(mode), &[], 0, FitOptions::default());
        all_times.extend(times);
        rows.push((mode.name().into(), p));
    }
    // Exploration: the likely-reject queue with every EXPLORE-th decision a random record.
    let mut order: Vec<usize> = (0..recs.len()).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(0));
    let (p, _) =
        simulate(recs, &f, (&prior, &judge), Some(QueueMode::LikelyReject), &order, EXPLORE, FitOptions::default());
    rows.push((format!("likely-rej. +1/{EXPLORE} random"), p));
    let mut runs: Vec<Vec<Point>> = Vec::new();
    for seed in 0..seeds {
        let mut order: Vec<usize> = (0..recs.len()).collect();
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        runs.push(simulate(recs, &f, (&prior, &judge), None, &order, 0, FitOptions::default()).0);
    }
    let med = |k: usize, g: fn(&Point) -> f64| median(runs.iter().map(|r| g(&r[k])).collect());
    let random: Vec<Point> = (0..runs[0].len())
        .map(|k| Point {
            base: med(k, |p| p.base),
            suggest_auroc: med(k, |p| p.suggest_auroc),
            judge_auroc: med(k, |p| p.judge_auroc),
            queue_next: med(k, |p| p.queue_next),
            judge_next: med(k, |p| p.judge_next),
            cv: med(k, |p| p.cv),
        })
        .collect();
    rows.push((format!("random (median of {seeds})"), random));
    println!(
        "{:<22} {:>9} {:>10} {:>13} {:>11} {:>9} | next {NEXT}: {:>8} {:>8} {:>9}",
        "order", "decisions", "base rate", "suggest AUROC", "judge AUROC", "CV AUROC", "queue", "judge", "lift"
    );
    for (name, points) in &rows {
        for (k, p) in points.iter().enumerate() {
            println!(
                "{:<22} {:>9} {:>10} {:>13} {:>11} {:>9} | {:>13} {:>8} {:>8.2}x",
                name,
                CHECKPOINTS[k],
                fmt(p.base),
                fmt(p.suggest_auroc),
                fmt(p.judge_auroc),
                fmt(p.cv),
                fmt(p.queue_next),
                fmt(p.judge_next),
                p.queue_next / p.base
            );
        }
    }
    println!(
        "refit (fit + {}-fold CV + predict {} records): median {:.1} ms over {} refits",
        suggest::FOLDS,
        recs.len(),
        1e3 * median(all_times.clone()),
        all_times.len()
    );
}

fn main() {
    sift::model::tune_allocator();
    init_threads();
    let which = support::arg("--run").unwrap_or_else(|| "both".into());
    let use_judge = !support::flag("--no-judge");
    let seeds: u64 = support::arg("--seeds").map_or(5, |s| s.parse().unwrap());
    if which == "labels" || which == "both" {
        run("curator labels (alpaca_curator_dev.jsonl)", &labels(), use_judge, seeds);
    }
    if which == "alpagasus" || which == "both" {
        run("AlpaGasus keep (claude_t45 or helpfulness_t45) on random_9k", &alpagasus(), use_judge, seeds);
    }
}
