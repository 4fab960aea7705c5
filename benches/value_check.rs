//! The value check: does curating with sift pay off? From Stanford Alpaca, a pool of training-slice
//! records (index % 20 != 0) is judged with the model (heuristic + model flags, quality and IFD,
//! through the same code as `sift score`). Three curated subsets of N records are drawn from the
//! unflagged records: the highest quality; the highest IFD below 1 (Cherry LLM's rule); and a
//! random sample. "Random" draws N records from the whole pool (two seeds). The model is then
//! fine-tuned on each subset with identical settings (the same code as `sift train`) and every result
//! is evaluated on a clean held-out set: validation-slice records (index % 20 == 0, never trained
//! on by the default model) that carry no heuristic flag. Lower loss (nats per response token) is
//! better.
//!
//! `cargo bench --bench value_check -- [--model DIR] [--pool 6000] [--n 1500] [--steps 300]
//! [--val 800]`; the model defaults to `SIFT_MODEL`, then the bundled default model.
//!
//! Measured 2026-11-22 with the bundled model (defaults; eval loss on 800 clean held-out records,
//! base model 4.264): unflagged top IFD < 1 4.270, unflagged random 4.292, random 4.311 / 4.306
//! (seeds 1 / 2), unflagged top quality 4.418. Dropping flagged records and Cherry's IFD rule beat
//! random; ranking by quality (which rewards low perplexity) picks what the model already finds
//! easy and is worst. The base was pretrained on the whole training slice, so every fine-tune
//! lands slightly above it.
//!
//! 2026-11-22, stop 5, the instruction-tuned bundled model (base 3.393; 12.1 min in all): unflagged
//! top IFD < 1 3.477, unflagged random 3.502, random 3.509 / 3.511, unflagged top quality 3.583.
//! The same order; the base was instruction-tuned on the training slice, so the fine-tunes land
//! further above it.
//!
//! 2026-11-22, stop 6, the same model with the refitted continuation weights (457 of 6,000 flagged,
//! 791 before): unflagged top IFD < 1 3.4774, unflagged random 3.5006, random 3.5092 / 3.5105,
//! unflagged top quality 3.6223. The same order again.
//!
//! 2026-11-22, stop 7, continuation weights with the opening_grounded feature and the faster
//! training step (458 of 6,000 flagged; judging 53 s, each fine-tune 37-69 s): unflagged top
//! IFD < 1 3.4777, unflagged random 3.5057, random 3.5092 / 3.5105, unflagged top quality 3.6246.
//! The same order.
//!
//! 2026-11-22, stop 8, the bundled model regenerated with 800 instruction-tuning steps and its
//! refitted weights (base 3.3964; 449 of 6,000 flagged; judging 44 s, each fine-tune 44-70 s):
//! unflagged top IFD < 1 3.4833, unflagged random 3.5114, random 3.5173 / 3.5140, unflagged top
//! quality 3.6183. The same order. Then the shipped model, 1,600 tuning steps (base 3.2863; 411
//! flagged; judging 52 s): unflagged top IFD < 1 3.3970, unflagged random 3.4169, random 3.4217 /
//! 3.4164, unflagged top quality 3.5106. Cherry's rule first and quality last again; dropping the
//! flagged records no longer beats random (3.4169 against 3.4164 / 3.4217).

mod support;

use sift::dataset::RecordText;
use sift::dataset::RecordTextBuf;
use sift::quality::heuristics::FlagConfig;
use sift::rng::SplitMix64;
use sift::session::{OpenOptions, Selection, Session};
use sift::train::data::{SftTokenizer, build_examples};
use sift::train::runs::{RunSettings, execute_run, prepare_run};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn num(name: &str, default: usize) -> usize {
    support::arg(name).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn write_records(path: &Path, recs: &[&RecordTextBuf]) {
    let v: Vec<serde_json::Value> = recs
        .iter()
        .map(|r| serde_json::json!({"instruction": r.instruction, "input": r.input, "output": r.output}))
        .collect();
    std::fs::write(path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
}

/// Fine-tunes `base` on every record of `file` and returns the trained model directory.
fn finetune(file: &Path, base: &Path, out: PathBuf, steps: usize, seed: u64) -> PathBuf {
    let session = Session::open(file, &OpenOptions::default()).unwrap();
    let mut s = RunSettings::new(Selection::parse("all").unwrap(), out);
    s.base = Some(base.to_path_buf());
    s.hyper.max_steps = Some(steps);
    s.hyper.lr = 5e-4;
    s.hyper.eval_every = 0;
    s.hyper.seed = seed;
    let run = prepare_run(&session, &s).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let drain = std::thread::spawn(move || rx.into_iter().count());
    let outcome = execute_run(run, tx, Arc::new(AtomicBool::new(false))).unwrap();
    drain.join().unwrap();
    outcome.summary.expect("not cancelled").model_dir
}

fn main() {
    sift::model::tune_allocator();
    sift::model::init_threads();
    let model = support::model_dir().unwrap_or_else(|| sift::paths::default_model_dir().unwrap());
    let (pool_n, n, steps, val_n) = (num("--pool", 6000), num("--n", 1500), num("--steps", 300), num("--val", 800));
    let all = support::alpaca();
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();

    let pool: Vec<&RecordTextBuf> =
        all.iter().enumerate().filter(|(i, _)| i % 20 != 0).map(|(_, r)| r).take(pool_n).collect();
    let pool_file = dir.path().join("pool.json");
    write_records(&pool_file, &pool);
    let scores = dir.path().join("scores.jsonl");
    let args = sift::cli::score::ScoreArgs {
        file: &pool_file,
        format: None,
        model: Some(model.clone()),
        template: "alpaca",
        out: &scores,
        select: None,
        config: None,
        no_cache: true,
        compare_tokens: 0,
        quiet: true,
        shard: None,
    };
    sift::cli::score::score(&args).unwrap();
    // (quality, ifd, flagged) per pool record.
    let judged: Vec<(f64, f64, bool)> = std::fs::read_to_string(&scores)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let flagged = v["flags"].as_array().is_some_and(|f| !f.is_empty());
            (v["quality"].as_f64().unwrap_or(0.0), v["ifd"].as_f64().unwrap_or(f64::NAN), flagged)
        })
        .collect();
    let flagged = judged.iter().filter(|j| j.2).count();
    let clean: Vec<usize> = (0..pool.len()).filter(|&i| !judged[i].2).collect();
    let mut by_quality = clean.clone();
    by_quality.sort_by(|&a, &b| judged[b].0.total_cmp(&judged[a].0));
    let mut by_ifd: Vec<usize> = clean.iter().copied().filter(|&i| judged[i].1 < 1.0).collect();
    by_ifd.sort_by(|&a, &b| judged[b].1.total_cmp(&judged[a].1));
    let pick = |idx: &[usize]| idx.iter().take(n).map(|&i| pool[i]).collect::<Vec<_>>();
    let shuffled = |idx: &[usize], seed: u64| {
        let mut idx = idx.to_vec();
        let mut rng = SplitMix64(seed);
        for i in (1..idx.len()).rev() {
            idx.swap(i, rng.below(i + 1));
        }
        idx
    };
    println!(
        "pool {} records, judged in {:.0} s: {flagged} flagged, {} unflagged",
        pool.len(),
        t0.elapsed().as_secs_f64(),
        clean.len()
    );

    // Clean held-out set: validation slice, no heuristic flag.
    let val_all: Vec<&RecordTextBuf> = all.iter().enumerate().filter(|(i, _)| i % 20 == 0).map(|(_, r)| r).collect();
    let texts: Vec<RecordText> = val_all.iter().map(|r| r.as_text()).collect();
    let flags = sift::quality::flag_dataset(&texts, &FlagConfig::default());
    let val: Vec<&RecordTextBuf> =
        val_all.iter().zip(&flags).filter(|(_, f)| f.is_empty()).map(|(r, _)| *r).take(val_n).collect();
    let val_file = dir.path().join("val.json");
    write_records(&val_file, &val);
    let val_session = Session::open(&val_file, &OpenOptions::default()).unwrap();
    let positions: Vec<usize> = (0..val.len()).collect();
    let tok = SftTokenizer::from_model_dir(&model).unwrap();
    let val_ex = build_examples(&val_session, &positions, &tok, 512).unwrap().examples;
    let eval = |d: &Path| {
        let m = sift::model::LocalModel::load(d).unwrap();
        sift::train::evaluate(&m.decoder, &val_ex, 16).unwrap()
    };
    println!("clean held-out set: {} records ({} examples)", val.len(), val_ex.len());
    println!("base model: eval loss {:.4}", eval(&model));

    let all_idx: Vec<usize> = (0..pool.len()).collect();
    let subsets: Vec<(String, Vec<&RecordTextBuf>, u64)> = vec![
        ("unflagged, top quality".into(), pick(&by_quality), 1),
        ("unflagged, top IFD < 1".into(), pick(&by_ifd), 1),
        ("unflagged, random".into(), pick(&shuffled(&clean, 1)), 1),
        ("random (seed 1)".into(), pick(&shuffled(&all_idx, 1)), 1),
        ("random (seed 2)".into(), pick(&shuffled(&all_idx, 2)), 1),
    ];
    for (name, recs, seed) in subsets {
        let file = dir.path().join(format!("{}.json", name.replace([' ', '(', ')', ',', '<'], "_")));
        write_records(&file, &recs);
        let t = Instant::now();
        let trained = finetune(&file, &model, file.with_extension("run"), steps, seed);
        println!(
            "{name:>24}: {} records, {steps} steps ({:.0} s): eval loss {:.4}",
            recs.len(),
            t.elapsed().as_secs_f64(),
            eval(&trained)
        );
    }
}
