//! Projected time to judge the 52K Alpaca file, and the time to rescore after one edit.
//!
//! Scores the first N Alpaca records (default 2000, `--records N`) with the full engine (four
//! contexts per record) on a randomly initialised Llama of the default model's likely size (hidden
//! 320, 8 layers, 8 heads, intermediate 864, vocab 8000; `--model DIR` to use another), projects
//! records/s to 52,002 records, then edits one record and rescores all N through the cache.
//!
//! `cargo bench --bench score_alpaca [-- --records N --batch-tokens T --parallel-batches P
//! --compare-tokens N --context-tokens N]` (`--compare-parallel`: interleaves P = 1 and P = 2 on the
//! same records and reports both.)
//!
//! `--cherry`: agreement of `ifd` with Cherry LLM's own selection (`../shared/data/cherry_llm`, the
//! 5% of Alpaca with the highest IFD under LLaMA-7B) on the validation slice (index % 20 == 0, which
//! the default model never trained on): AUROC of IFD for "Cherry selected it", and of Cherry's rule
//! (IFD above 1 ranked last), with IFD over whole responses (the default) and over the first 32
//! tokens.
//!
//! Measured 2026-11-21 on the shared 2-core machine (load average 4-6): 7.7 records/s (~296 tokens
//! per record over the four contexts, ~2,300 tok/s) = 112 min projected for 52,002 records; one edit
//! rescored in 0.44 s (a 1,101-character response). Two concurrent batches vs one: 1.21 vs 1.10
//! records/s (load ~12, within noise).
//!
//! 2026-11-22, the bundled model (`--model assets/model --records 1000`, load ~1.9): 123.4
//! records/s cold, projected 7.0 min for 52,002 records (the real run took 7.7 min); after one
//! edit 1 record rescored and 998 served from the cache in 0.040 s.

#[path = "support/mod.rs"]
mod support;

use sift::dataset::RecordText;
use sift::judge::{Engine, EngineOptions, ScoreCache, Template};
use sift::model::{LocalModel, init_threads};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    sift::model::tune_allocator();
    let threads = init_threads();
    let n: usize = support::arg("--records").map_or(2000, |s| s.parse().unwrap());
    let dir = support::model_dir().unwrap_or_else(|| support::random_model(320, 8, 8, 864, 8000));
    let model = LocalModel::load(&dir).unwrap();
    println!(
        "model {} ({:.1}M params), {threads} threads, {n} records",
        dir.display(),
        model.config.num_params() as f64 / 1e6
    );
    let mut opts = EngineOptions::default();
    if let Some(b) = support::arg("--batch-tokens") {
        opts.batch_tokens = b.parse().unwrap();
    }
    if let Some(p) = support::arg("--parallel-batches") {
        opts.parallel_batches = p.parse().unwrap();
    }
    if let Some(p) = support::arg("--compare-tokens") {
        opts.compare_tokens = p.parse().unwrap();
    }
    if let Some(p) = support::arg("--context-tokens") {
        opts.context_tokens = p.parse().unwrap();
    }
    let mut engine = Engine::new(model, Template::Alpaca, opts).unwrap();
    let all = support::alpaca();
    if support::flag("--cherry") {
        cherry(&mut engine, &all);
        return;
    }
    let mut recs: Vec<RecordText> = all[..n].iter().map(|r| r.as_text()).collect();
    let tokens: usize = recs.iter().map(|r| engine.model.encode(r.output).unwrap().len()).sum();
    if support::flag("--compare-parallel") {
        let (mut one, mut two) = (vec![], vec![]);
        for _ in 0..3 {
            for (p, v) in [(1, &mut one), (2, &mut two)] {
                engine.opts.parallel_batches = p;
                let t = Instant::now();
                let mut off = ScoreCache::disabled("bench");
                engine.score(&recs, &mut off, &AtomicBool::new(false), &mut |_| {}).unwrap();
                v.push(n as f64 / t.elapsed().as_secs_f64());
            }
        }
        println!(
            "records/s, median of 3 interleaved: one batch at a time {:.2}, two concurrent batches {:.2}",
            support::median(one),
            support::median(two)
        );
        return;
    }
    let cache_dir = tempfile::tempdir().unwrap();
    let key = engine.cache_key();
    let cancel = AtomicBool::new(false);
    let mut cache = ScoreCache::open(cache_dir.path(), &key);
    let t = Instant::now();
    let out = engine.score(&recs, &mut cache, &cancel, &mut |_| {}).unwrap();
    let el = t.elapsed().as_secs_f64();
    let rate = out.scored as f64 / el;
    println!(
        "cold: {} records in {el:.1} s = {rate:.1} records/s ({:.0} response tokens/s); projected 52,002 records: {:.1} min",
        out.scored,
        tokens as f64 / el,
        52002.0 / rate / 60.0
    );
    drop(cache);

    // One edit, then rescore everything: only the edited record misses the cache.
    let edited = format!("{} (edited)", recs[7].output);
    recs[7].output = &edited;
    let t = Instant::now();
    let mut cache = ScoreCache::open(cache_dir.path(), &key);
    let open_s = t.elapsed().as_secs_f64();
    let out = engine.score(&recs, &mut cache, &cancel, &mut |_| {}).unwrap();
    println!(
        "after one edit: rescored {} record(s), {} from cache, in {:.3} s (cache open {:.3} s)",
        out.scored,
        out.cached,
        t.elapsed().as_secs_f64(),
        open_s
    );
}

/// Cherry agreement on the validation slice, IFD over whole responses and over 32 tokens.
fn cherry(engine: &mut Engine, all: &[sift::dataset::RecordTextBuf]) {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cherry_llm/cherry_alpaca_5_percent.json");
    let picked: Vec<sift::dataset::RecordTextBuf> =
        serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap();
    let key = |r: &sift::dataset::RecordTextBuf| (r.instruction.clone(), r.input.clone(), r.output.clone());
    let picked: std::collections::HashSet<_> = picked.iter().map(key).collect();
    let val: Vec<&sift::dataset::RecordTextBuf> =
        all.iter().enumerate().filter(|(i, r)| i % 20 == 0 && !r.output.trim().is_empty()).map(|(_, r)| r).collect();
    let labels: Vec<bool> = val.iter().map(|r| picked.contains(&key(r))).collect();
    let recs: Vec<RecordText> =
        val.iter().map(|r| RecordText { instruction: &r.instruction, input: &r.input, output: &r.output }).collect();
    println!(
        "validation slice: {} records, {} in Cherry's 5% selection",
        recs.len(),
        labels.iter().filter(|&&l| l).count()
    );
    let len: Vec<f64> = val.iter().map(|r| r.output.chars().count() as f64).collect();
    println!("  baseline len(output): AUROC {:.3}", sift::judge::devset::auroc(&len, &labels));
    for compare in [0, 32] {
        engine.opts.compare_tokens = compare;
        let t = Instant::now();
        let out =
            engine.score(&recs, &mut ScoreCache::disabled("bench"), &AtomicBool::new(false), &mut |_| {}).unwrap();
        let el = t.elapsed().as_secs_f64();
        let ifd: Vec<f64> = out.signals.iter().map(|m| sift::judge::signals::ifd(m.as_ref().unwrap()) as f64).collect();
        let rule: Vec<f64> = ifd.iter().map(|&v| if v > 1.0 { -v } else { v }).collect();
        println!(
            "  compare_tokens {compare} ({}): IFD AUROC {:.3}, Cherry's rule (IFD > 1 last) AUROC {:.3}; {:.1} records/s",
            if compare == 0 { "whole responses, the default" } else { "first tokens" },
            sift::judge::devset::auroc(&ifd, &labels),
            sift::judge::devset::auroc(&rule, &labels),
            recs.len() as f64 / el
        );
    }
}
