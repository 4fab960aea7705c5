//! Training-step throughput (forward + backward + AdamW) of the "tiny" config of
//! ../shared/notes/perf.md, outside the repo (hidden 288, 6 layers, 6 heads, intermediate 768, vocab 32000; 24.4M parameters) at batch
//! 8 x 256 tokens on 2 threads, f32: median tokens/s and peak RSS. When a PyTorch venv is found
//! (`SIFT_BENCH_PYTHON`, default /work/venv-torch/bin/python), the same config and batch run in
//! PyTorch through tools/bench_torch_train.py, interleaved with ours (A B A B ...), and the ratio
//! of medians is printed.
//!
//! `cargo bench --bench train_throughput` (SIFT_BENCH_ROUNDS, SIFT_BENCH_STEPS change the counts;
//! SIFT_BENCH_PLAIN=1 times the training path with the fused kernels of `model::fused` off).
//!
//! 2026-11-22, stop 3, quiet (load ~1.8), medians: fused kernels 607-663 tok/s, peak RSS 2,384 MB;
//! plain ops 541 tok/s, 4,662 MB; PyTorch 810-929 tok/s, 2,447-2,472 MB (ratio 0.75-0.82).
//!
//! 2026-11-22, stop 4, with the output loss in row chunks and AdamW in place, load ~1.7: four
//! interleaved runs gave ratios 0.98, 1.25, 1.00 and 0.92 (the last with 5 rounds: 680 against
//! 737 tok/s). Candle was 609-706 tok/s, PyTorch 562-737. Peak RSS was
//! 1,350-1,404 MB against PyTorch's 2,459-2,519 MB, and plain ops took 4,388 MB. In steady state
//! (`perf`, after warm-up), 68% of a step is gemm (microkernel and packing). Page faults happen
//! only at start-up: fault counts and system time do not grow with the number of steps. After
//! the chunked loss took one log-sum-exp per row instead of two, two more runs gave 1.22 and 1.08
//! (692 / 667 against 567 / 618 tok/s).
//!
//! 2026-11-22, stop 5, with linear layers and the output loss writing their matrix products
//! straight into their outputs (`fused::linear`, no zeroed output, the weight gradient in the
//! weight's layout; the head's gradient rows made in place and `Gᵀ·h` accumulated in the
//! product), load ~1.7. Against the previous code, interleaved (5 steps each, 4 pairs): 726 / 735 /
//! 624 / 808 against 635 / 660 / 771 / 674 tok/s, median of the pair ratios 1.13; peak RSS
//! 1,265-1,307 MB against 1,342-1,350. Against PyTorch (5 rounds x 3 steps), two runs: 687 against
//! 564 tok/s (1.22) and 677 against 702 (0.96); PyTorch 2,481-2,485 MB.
//!
//! 2026-11-22, stop 6, the same step code, three runs of 5 rounds x 3 steps back to back on a quiet
//! machine: 643 / 623 (1.03), 639 / 639 (1.00), 732 / 781 (0.94); peak RSS 1,290-1,356 MB against
//! 2,464-2,476 MB. Single candle runs of 5 steps ranged 477-803 tok/s in the same half hour, so a
//! ratio within about 10% of 1.0 is parity. A profile (8 steps) puts 63% of samples in gemm's
//! microkernel on the two pool threads and 13.5% on the calling thread (element-wise ops while
//! the pool waits); `CANDLE_NUM_THREADS=2` did not measurably help (4 interleaved pairs, pair
//! ratios 0.81-1.19).
//!
//! 2026-11-22, stop 7: the profile showed the calling thread busy 24% of wall time with candle's
//! element-wise work while the matmul threads waited. With causal attention, the MLP's gating and
//! the RMS-norm backward as parallel fused ops (`model::attention`, `model::swiglu`): against the
//! previous build, 4 interleaved pairs of 5 steps, 757 / 804 / 927 / 884 against 707 / 651 / 682 /
//! 720 tok/s (pair ratios 1.07-1.36, median 1.23), peak RSS 1,054-1,089 MB against 1,327-1,409.
//! Against PyTorch (5 rounds x 3 steps), two runs: 760 / 584 (1.30) and 757 / 632 (1.20); PyTorch
//! 2,482-2,492 MB, ours 1,055-1,124 MB. The calling thread is now 6% of samples and gemm's
//! microkernel 71%.

use sift::model::ModelConfig;
use sift::train::{Example, ModelSource, TrainConfig, TrainData, Trainer};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 8;
const SEQ: usize = 256;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn env_usize(k: &str, d: usize) -> usize {
    std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d)
}

fn main() {
    // SAFETY: set before any other thread starts.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", "2") };
    sift::model::tune_allocator();
    sift::model::init_threads();
    let (rounds, steps) = (env_usize("SIFT_BENCH_ROUNDS", 3), env_usize("SIFT_BENCH_STEPS", 3));
    let mut cfg = ModelConfig::llama(32000, 288, 768, 6, 6, 6);
    cfg.max_position_embeddings = 512;
    let mut rng = sift::rng::SplitMix64(7);
    let train: Vec<Example> = (0..BATCH * 4)
        .map(|i| {
            let tokens: Vec<u32> = (0..=SEQ).map(|_| rng.below(32000) as u32).collect();
            Example { trained: vec![true; tokens.len()], tokens, source: i }
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let mut tc = TrainConfig::new(
        ModelSource::Scratch { config: cfg.clone(), seed: 1, tokenizer_json: b"{}".to_vec() },
        dir.path().to_path_buf(),
    );
    tc.batch_size = BATCH;
    tc.max_steps = Some(1_000_000);
    tc.eval_every = 0;
    tc.save_every = 0;
    // SIFT_BENCH_PLAIN=1: time the training path with the fused kernels off (plain tensor ops).
    let plain = std::env::var_os("SIFT_BENCH_PLAIN").is_some();
    sift::model::fused::set_enabled(!plain);
    let mut tr = Trainer::new(tc, TrainData { train, eval: vec![] }).unwrap();
    let no = AtomicBool::new(false);
    tr.step(&no).unwrap(); // warm-up
    let python = std::env::var("SIFT_BENCH_PYTHON").unwrap_or_else(|_| "/work/venv-torch/bin/python".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/bench_torch_train.py");
    let have_torch = std::path::Path::new(&python).exists();
    println!("tiny config: {} params, batch {BATCH} x {SEQ}, 2 threads, f32", cfg.num_params());
    let (mut ours, mut theirs, mut torch_peak) = (vec![], vec![], 0f64);
    for round in 0..rounds {
        for _ in 0..steps {
            let t = Instant::now();
            tr.step(&no).unwrap();
            ours.push((BATCH * SEQ) as f64 / t.elapsed().as_secs_f64());
        }
        if have_torch {
            let out = Command::new(&python)
                .args([script, "--steps", &steps.to_string(), "--batch", &BATCH.to_string(), "--seq", &SEQ.to_string()])
                .output()
                .expect("running the PyTorch benchmark");
            let text = String::from_utf8_lossy(&out.stdout);
            let v: serde_json::Value = serde_json::from_str(text.lines().last().unwrap_or("{}")).unwrap_or_default();
            for x in v["tokens_per_s"].as_array().into_iter().flatten() {
                theirs.push(x.as_f64().unwrap_or(0.0));
            }
            torch_peak = torch_peak.max(v["peak_rss_mb"].as_f64().unwrap_or(0.0));
            if !out.status.success() {
                eprintln!("torch bench failed: {}", String::from_utf8_lossy(&out.stderr));
            }
        }
        eprintln!("round {} done", round + 1);
    }
    let m = median(ours.clone());
    println!(
        "candle{}: median {m:.0} tok/s over {} steps, peak RSS {:.0} MB",
        if plain { " (plain ops)" } else { "" },
        ours.len(),
        peak_rss_mb()
    );
    if !theirs.is_empty() {
        let t = median(theirs.clone());
        println!("torch:  median {t:.0} tok/s over {} steps, peak RSS {torch_peak:.0} MB", theirs.len());
        println!("ratio candle/torch: {:.2}", m / t);
    } else {
        println!("torch: not run (no python at {python})");
    }
}
