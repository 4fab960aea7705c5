//! The keep score, fitted and checked on curator labels: P(a careful curator keeps the record as it
//! is) as a logistic function of the judge's signals, the checks and the flags
//! ([`sift::judge::signals::keep_features`]), on the labelled records of the Alpaca validation slice
//! (which the default model never trained on): the curator's 328
//! (`../shared/data/labels/alpaca_curator_dev.jsonl`) and sift-dev's 400 random ones
//! (`benches/data/sift_dev_labels.jsonl`).
//!
//! `cargo bench --bench keep_score -- [--model DIR]` (else `SIFT_MODEL`, else the bundled model).
//! Prints, all cross-validated (5 folds, 4 shuffles; each record scored by a fit that did not see
//! it): the AUROC of keep against fix/drop on all records and on the random samples (each source too),
//! next to response-length baselines and each feature alone; then the weights fitted on all 328
//! records, the constants `KeepWeights::default` ships. The labels measure as well as fit: only the
//! cross-validated figures say how the score ranks records it has not seen.

#[path = "support/mod.rs"]
mod support;

use sift::dataset::RecordText;
use sift::judge::devset::{auroc, fit_logistic};
use sift::judge::flags::keep_flag_count;
use sift::judge::signals::{KEEP_FEATURES, N_KEEP, keep_features};
use sift::judge::{Engine, EngineOptions, JudgeConfig, ScoreCache, Template, assess};
use sift::model::{LocalModel, init_threads};
use std::sync::atomic::AtomicBool;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// L2 penalty on the standardised weights: some 700 records and seven features call for some shrinkage.
const L2: f64 = 1e-2;

fn main() {
    sift::model::tune_allocator();
    init_threads();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: std::path::PathBuf| -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let curator = read(root.join("../shared/data/labels/alpaca_curator_dev.jsonl"));
    // Records outside the validation slice were seen by the default model in training: left out.
    let dev: Vec<serde_json::Value> = read(root.join("benches/data/sift_dev_labels.jsonl"))
        .into_iter()
        .filter(|v| v["index"].as_u64().is_some_and(|i| i % 20 == 0))
        .collect();
    let alpaca = support::alpaca();
    let f = |v: &serde_json::Value, k: &str| v[k].as_str().unwrap_or("").to_string();
    let mut recs: Vec<(String, String, String)> =
        curator.iter().map(|v| (f(v, "instruction"), f(v, "input"), f(v, "output"))).collect();
    recs.extend(dev.iter().map(|v| {
        let r = &alpaca[v["index"].as_u64().unwrap() as usize];
        (r.instruction.to_string(), r.input.to_string(), r.output.to_string())
    }));
    let rows: Vec<&serde_json::Value> = curator.iter().chain(&dev).collect();
    let from_curator: Vec<bool> = (0..rows.len()).map(|i| i < curator.len()).collect();
    let keep: Vec<bool> = rows.iter().map(|v| v["verdict"] == "keep").collect();
    let random: Vec<bool> = rows.iter().map(|v| v["sample"] == "random").collect();
    let texts: Vec<RecordText> =
        recs.iter().map(|(c, z, y)| RecordText { instruction: c, input: z, output: y }).collect();
    let dir = support::model_dir().unwrap_or_else(|| sift::paths::default_model_dir().unwrap());
    let engine = Engine::new(LocalModel::load(&dir).unwrap(), Template::Alpaca, EngineOptions::default()).unwrap();
    let mut cache = sift::paths::cache_dir()
        .map_or_else(|| ScoreCache::disabled("no cache dir"), |d| ScoreCache::open(&d, &engine.cache_key()));
    let sig = engine.score(&texts, &mut cache, &AtomicBool::new(false), &mut |_| {}).unwrap().signals;
    let cfg = JudgeConfig::default();
    // The features exactly as the runtime computes them (`assess`): the user's [flags] config does
    // not enter (`keep_flag_count`).
    let x: Vec<Vec<f32>> = texts
        .iter()
        .zip(&sig)
        .map(|(t, m)| {
            let m = m.as_ref().expect("labelled records have responses");
            let s = assess(Some(m), t, &[], &cfg).signals.unwrap();
            keep_features(m, &s, t.output, !t.input.trim().is_empty(), keep_flag_count(t)).to_vec()
        })
        .collect();
    let n_keep = keep.iter().filter(|&&k| k).count();
    println!(
        "model {}; {} labelled records ({} keep, {} fix/drop), {} of them the random sample",
        dir.display(),
        keep.len(),
        n_keep,
        keep.len() - n_keep,
        random.iter().filter(|&&r| r).count()
    );
    let sub = |s: &[f64], pick: &dyn Fn(usize) -> bool| -> f64 {
        let (v, y): (Vec<f64>, Vec<bool>) = (0..s.len()).filter(|&i| pick(i)).map(|i| (s[i], keep[i])).unzip();
        auroc(&v, &y)
    };
    let report = |name: &str, s: &[f64]| {
        println!(
            "  {name:<34} AUROC keep vs fix/drop: all {:.3}, random samples {:.3} (curator {:.3}, sift-dev {:.3})",
            auroc(s, &keep),
            sub(s, &|i| random[i]),
            sub(s, &|i| random[i] && from_curator[i]),
            sub(s, &|i| random[i] && !from_curator[i])
        );
    };
    println!("baselines and single features (higher = keep; sign as given):");
    let chars: Vec<f64> = recs.iter().map(|r| r.2.chars().count() as f64).collect();
    report("len(output)", &chars);
    report("-len(output)", &chars.iter().map(|v| -v).collect::<Vec<_>>());
    for (j, name) in KEEP_FEATURES.iter().enumerate() {
        let v: Vec<f64> = x.iter().map(|r| r[j] as f64).collect();
        let a = auroc(&v, &keep);
        let v = if a < 0.5 { v.iter().map(|x| -x).collect() } else { v };
        report(&format!("{}{name}", if a < 0.5 { "-" } else { "" }), &v);
    }
    // Cross-validation: 5 folds over 4 shuffles; each record's score comes from a fit without it.
    let mut cv_all = Vec::new();
    for seed in 0..4u64 {
        let mut order: Vec<usize> = (0..x.len()).collect();
        let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ seed;
        for i in (1..order.len()).rev() {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            order.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let mut cv = vec![0f64; x.len()];
        for fold in 0..5 {
            let test: Vec<usize> =
                order.iter().copied().enumerate().filter(|(k, _)| k % 5 == fold).map(|(_, i)| i).collect();
            let train: Vec<usize> =
                order.iter().copied().enumerate().filter(|(k, _)| k % 5 != fold).map(|(_, i)| i).collect();
            let fx: Vec<Vec<f32>> = train.iter().map(|&i| x[i].clone()).collect();
            let fy: Vec<bool> = train.iter().map(|&i| keep[i]).collect();
            let (b, w) = fit_logistic(&fx, &fy, L2, 3000);
            for &i in &test {
                cv[i] = (b + w.iter().zip(&x[i]).map(|(a, c)| a * c).sum::<f32>()) as f64;
            }
        }
        cv_all.push(cv);
    }
    println!("keep score, cross-validated (5 folds; each shuffle's AUROC, then the median):");
    let mut all_a: Vec<f64> = Vec::new();
    let mut rnd_a: Vec<f64> = Vec::new();
    let (mut cur_a, mut dev_a): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
    for cv in &cv_all {
        all_a.push(auroc(cv, &keep));
        rnd_a.push(sub(cv, &|i| random[i]));
        cur_a.push(sub(cv, &|i| random[i] && from_curator[i]));
        dev_a.push(sub(cv, &|i| random[i] && !from_curator[i]));
    }
    println!(
        "  all records {:?} median {:.3}; random sample {:?} median {:.3}",
        all_a.iter().map(|a| format!("{a:.3}")).collect::<Vec<_>>(),
        support::median(all_a.clone()),
        rnd_a.iter().map(|a| format!("{a:.3}")).collect::<Vec<_>>(),
        support::median(rnd_a.clone())
    );
    println!(
        "  random samples by source: curator median {:.3}, sift-dev median {:.3}",
        support::median(cur_a),
        support::median(dev_a)
    );
    let (b, w) = fit_logistic(&x, &keep, L2, 3000);
    let mean: Vec<f32> = (0..N_KEEP).map(|j| x.iter().map(|r| r[j]).sum::<f32>() / x.len() as f32).collect();
    println!("fitted on all {} records (the shipped constants):", x.len());
    println!("const KEEP_BIAS: f32 = {b:.4};");
    println!(
        "const KEEP_WEIGHTS: [f32; N_KEEP] = {:?};",
        w.iter().map(|v| (v * 1e4).round() / 1e4).collect::<Vec<_>>()
    );
    println!(
        "const KEEP_NEUTRAL: [f32; N_KEEP] = {:?};",
        mean.iter().map(|v| (v * 1e4).round() / 1e4).collect::<Vec<_>>()
    );
}
