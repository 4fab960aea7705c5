//! Precision and recall per flag on the planted defects of `sample_datasets/` (labels.jsonl): the
//! model-free heuristic flags always, the model flags too when a model is given.
//!
//! `cargo bench --bench flag_precision -- [--model DIR]` (or `SIFT_MODEL`). Flags with no planted
//! label (high_ifd, high_ppl, repetitive) report only how many records they flag.

#[path = "support/mod.rs"]
mod support;

use sift::dataset::RecordText;
use sift::dataset::{Dataset, Record};
use sift::judge::{Engine, EngineOptions, JudgeConfig, ScoreCache, Template, assess};
use sift::model::{LocalModel, init_threads};
use sift::quality::flag_dataset;
use sift::quality::heuristics::FlagConfig;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::AtomicBool;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

fn main() {
    sift::model::tune_allocator();
    init_threads();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_datasets");
    let mut labels: HashSet<(String, usize, String)> = HashSet::new();
    let mut labelled_kinds: HashSet<String> = HashSet::new();
    for line in std::fs::read_to_string(dir.join("labels.jsonl")).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let defect = v["defect"].as_str().unwrap().to_string();
        labelled_kinds.insert(defect.clone());
        labels.insert((v["file"].as_str().unwrap().into(), v["index"].as_u64().unwrap() as usize, defect));
    }
    let engine = support::model_dir().map(|d| {
        let m = LocalModel::load(&d).unwrap();
        println!("model {}", d.display());
        Engine::new(m, Template::Alpaca, EngineOptions::default()).unwrap()
    });
    let cfg = JudgeConfig::default();
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f != "labels.jsonl" && (f.ends_with(".json") || f.ends_with(".jsonl")))
        .collect();
    files.sort();
    let mut total = 0;
    for file in &files {
        let ds = Dataset::open(&dir.join(file), None).unwrap();
        let recs: Vec<Record> = (0..ds.len()).map(|p| ds.record(p).unwrap_or_default()).collect();
        let texts: Vec<RecordText> = recs.iter().map(Record::text).collect();
        total += texts.len();
        let heur = flag_dataset(&texts, &FlagConfig::default());
        let signals = match &engine {
            Some(e) => {
                let mut cache = sift::paths::cache_dir()
                    .map_or_else(|| ScoreCache::disabled(""), |d| ScoreCache::open(&d, &e.cache_key()));
                e.score(&texts, &mut cache, &AtomicBool::new(false), &mut |_| {}).unwrap().signals
            }
            None => vec![None; texts.len()],
        };
        for (i, t) in texts.iter().enumerate() {
            let a = assess(signals[i].as_ref(), t, &heur[i], &cfg);
            let flagged: HashSet<&str> = a.flags.iter().map(|f| f.name.as_str()).collect();
            let kinds: HashSet<String> =
                labelled_kinds.iter().cloned().chain(flagged.iter().map(|s| s.to_string())).collect();
            for k in kinds {
                if k == "continuation" && engine.is_none() {
                    continue;
                }
                let c = counts.entry(k.clone()).or_default();
                match (labels.contains(&(file.clone(), i, k.clone())), flagged.contains(k.as_str())) {
                    (true, true) => c.tp += 1,
                    (false, true) => c.fp += 1,
                    (true, false) => c.fn_ += 1,
                    (false, false) => {}
                }
            }
        }
    }
    println!("{total} records in {} files, {} labels", files.len(), labels.len());
    for (k, c) in &counts {
        if labelled_kinds.contains(k) {
            let p = c.tp as f64 / (c.tp + c.fp).max(1) as f64;
            let r = c.tp as f64 / (c.tp + c.fn_).max(1) as f64;
            println!("{k:<20} tp {:>3} fp {:>3} fn {:>3}  precision {p:.2} recall {r:.2}", c.tp, c.fp, c.fn_);
        } else {
            println!("{k:<20} flagged {:>3} records (no planted label)", c.fp);
        }
    }
    if engine.is_none() {
        println!("no model (--model DIR or SIFT_MODEL): model flags (continuation, high_ifd, ...) not measured");
    }
}
