//! Scoring throughput of candle (sift's decoder) against PyTorch + transformers, interleaved in one
//! run (A B A B ...): same random Llama config (hidden 768, 12 layers, 12 heads, intermediate 2048,
//! vocab 32000; `tiny` = 288/6/6/768), same 8 x 256 token batch, forward of all positions plus
//! per-token log-probs, 2 threads each. Prints medians and their ratio.
//!
//! `RAYON_NUM_THREADS=2 cargo bench --bench score_vs_torch -- [small|tiny] [--runs N]`; the Python
//! is `$SIFT_TORCH_PYTHON`, else /work/venv-torch/bin/python, running tools/bench_torch_score.py.
//!
//! 2026-11-22, stop 5 (small, 5 runs, quiet): 392 / 393 against 339 / 354 tok/s (1.16x, 1.11x)
//! with linear layers through `fused::linear`; a build of the previous code run straight after
//! gave 393 against 363 tok/s (1.08x). The previous stop measured 0.86-0.93x; PyTorch ran
//! slower on this machine today.
//!
//! 2026-11-22, stop 7 (small, quiet), after attention and the MLP's gating became fused parallel
//! ops: 5 runs, 446 against 453 tok/s (0.99x); then the previous build and this one interleaved,
//! 3 runs each: 389 / 393 against 433 / 378 tok/s for us, ratios 0.89 / 0.88 against 0.90 / 0.93.
//! PyTorch ran 398-517 tok/s today (339-363 at stop 5), and the change did not move scoring
//! measurably: the forward pass at this size is gemm-bound.
//!
//! 2026-11-22, stop 8 (small, quiet), three runs of 5: ratios 1.33x, 1.21x, 1.27x (candle 438 /
//! 461 / 502 tok/s, torch 330 / 381 / 394). The last line sets both against a bare matmul of the
//! MLP's shape: candle's whole forward pass ran at 98-112 GFLOP/s, 74-84% of the bare matmul's
//! 119-138 GFLOP/s; 1.6x torch would have needed 118-141 GFLOP/s, the bare matmul's own speed.

#[path = "support/mod.rs"]
mod support;

use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use sift::model::{Decoder, Kernels, ModelConfig, init_threads, init_weights, token_logprobs};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 8;
const SEQ: usize = 256;

fn main() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: start-up, before any other thread exists.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "2") };
    }
    sift::model::tune_allocator();
    let threads = init_threads();
    // SIFT_BENCH_PLAIN=1: candle's own softmax instead of sift's fused causal softmax.
    sift::model::fused::set_enabled(std::env::var_os("SIFT_BENCH_PLAIN").is_none());
    let name = if std::env::args().any(|a| a == "tiny") { "tiny" } else { "small" };
    let runs: usize = support::arg("--runs").map_or(5, |s| s.parse().unwrap());
    let cfg = match name {
        "tiny" => ModelConfig::llama(32000, 288, 768, 6, 6, 6),
        _ => ModelConfig::llama(32000, 768, 2048, 12, 12, 12),
    };
    let dev = Device::Cpu;
    let dec = Decoder::new(
        &cfg,
        VarBuilder::from_tensors(
            init_weights(&cfg, 0, DType::F32, &dev).unwrap().into_iter().collect(),
            DType::F32,
            &dev,
        ),
    )
    .unwrap();
    let seqs = support::random_ids(BATCH, SEQ, cfg.vocab_size);
    let ids_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ids_file.path(), serde_json::to_vec(&seqs).unwrap()).unwrap();
    let python = std::env::var("SIFT_TORCH_PYTHON").unwrap_or_else(|_| "/work/venv-torch/bin/python".into());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tools/bench_torch_score.py");
    let mut child = Command::new(&python)
        .args([script, "--serve", name])
        .arg(ids_file.path())
        .env("RAYON_NUM_THREADS", threads.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {python}: {e}"));
    let mut to_py = child.stdin.take().unwrap();
    let mut from_py = BufReader::new(child.stdout.take().unwrap()).lines();
    let ready = from_py.next().unwrap().unwrap();
    let batch: Vec<&[u32]> = seqs.iter().map(|s| s.as_slice()).collect();
    token_logprobs(&dec, &batch, Kernels::Fast).unwrap(); // warm-up
    println!(
        "{name}: {:.1}M params, batch {BATCH} x {SEQ}, f32, {threads} threads; {ready}",
        cfg.num_params() as f64 / 1e6
    );
    let tokens = (BATCH * SEQ) as f64;
    let (mut candle, mut torch) = (vec![], vec![]);
    for i in 0..runs {
        let t = Instant::now();
        let lp = token_logprobs(&dec, &batch, Kernels::Fast).unwrap();
        assert_eq!(lp[0].len(), SEQ - 1);
        candle.push(tokens / t.elapsed().as_secs_f64());
        writeln!(to_py, "run").unwrap();
        let secs: f64 = from_py.next().unwrap().unwrap().trim().parse().unwrap();
        torch.push(tokens / secs);
        println!("  run {i}: candle {:7.0} tok/s   torch {:7.0} tok/s", candle[i], torch[i]);
    }
    drop(to_py);
    child.wait().ok();
    let (c, t) = (support::median(candle), support::median(torch));
    println!("median: candle {c:.0} tok/s, torch {t:.0} tok/s, ratio {:.2}x", c / t);
    // Both speeds as useful work, beside the best a bare matmul of the MLP's shape reaches here.
    let per_token = forward_flops(&cfg);
    let (m, n, k) = (BATCH * SEQ, cfg.intermediate_size, cfg.hidden_size);
    println!(
        "useful work ({:.0} MFLOP/token): candle {:.0} GFLOP/s, torch {:.0} GFLOP/s, 1.6x torch {:.0} GFLOP/s; \
         a bare {m} x {k} x {n} f32 matmul: {:.0} GFLOP/s (best of 5)",
        per_token / 1e6,
        c * per_token / 1e9,
        t * per_token / 1e9,
        1.6 * t * per_token / 1e9,
        matmul_gflops(&dev, m, n, k)
    );
}

/// Floating-point operations of one token's forward pass: two per weight of every matrix product
/// (an untied input embedding is only a lookup; tied, it is the output layer too), plus causal
/// attention's scores and weighted sum over on average (SEQ + 1) / 2 keys.
fn forward_flops(cfg: &ModelConfig) -> f64 {
    let (h, l) = (cfg.hidden_size as f64, cfg.num_hidden_layers as f64);
    let lookup = if cfg.tie_word_embeddings { 0.0 } else { cfg.vocab_size as f64 * h };
    let matrices = cfg.num_params() as f64 - lookup - (2.0 * l + 1.0) * h;
    let attention = l * 2.0 * 2.0 * (cfg.num_attention_heads * cfg.head_dim) as f64 * (SEQ as f64 + 1.0) / 2.0;
    2.0 * matrices + attention
}

/// The best of five timings of an `[m, k] x [k, n]` f32 matmul (the layout of a linear layer).
fn matmul_gflops(dev: &Device, m: usize, n: usize, k: usize) -> f64 {
    let a = candle_core::Tensor::randn(0f32, 1.0, (m, k), dev).unwrap();
    let w = candle_core::Tensor::randn(0f32, 1.0, (n, k), dev).unwrap();
    let best = (0..5)
        .map(|_| {
            let t = Instant::now();
            a.matmul(&w.t().unwrap()).unwrap();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    2.0 * (m * n * k) as f64 / best / 1e9
}
