//! Scoring throughput (forward + per-token log-probs of all positions), batch 8 x 256 tokens, on
//! randomly initialised Llama configs (tiny: hidden 288, 6 layers, 6 heads, vocab 32000; small:
//! hidden 768, 12 layers, 12 heads, intermediate 2048; both from ../shared/notes/perf.md, outside
//! the repo). Prints median tokens/s.
//!
//! `cargo bench --bench score_throughput [-- tiny|small|train]` (`train`, only when asked: one
//! forward + backward of the masked NLL through `Kernels::Train` on the tiny config, no optimizer).

#[path = "support/mod.rs"]
mod support;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::llama;
use sift::model::{
    Decoder, Kernels, ModelConfig, init_threads, init_varmap, init_weights, masked_nll_sum, token_logprobs,
};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 8;
const SEQ: usize = 256;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn run(name: &str, cfg: &ModelConfig, runs: usize) {
    let dev = Device::Cpu;
    let weights = init_weights(cfg, 0, DType::F32, &dev).unwrap();
    let vb = VarBuilder::from_tensors(weights.into_iter().collect(), DType::F32, &dev);
    let dec = Decoder::new(cfg, vb.clone()).unwrap();
    let seqs = support::random_ids(BATCH, SEQ, cfg.vocab_size);
    let batch: Vec<&[u32]> = seqs.iter().map(|s| s.as_slice()).collect();
    let ids = Tensor::from_vec(seqs.concat(), (BATCH, SEQ), &dev).unwrap();
    let tokens = (BATCH * SEQ) as f64;
    token_logprobs(&dec, &batch, Kernels::Fast).unwrap(); // warm-up
    let (mut full, mut trunk) = (vec![], vec![]);
    for _ in 0..runs {
        let t = Instant::now();
        let lp = token_logprobs(&dec, &batch, Kernels::Fast).unwrap();
        full.push(tokens / t.elapsed().as_secs_f64());
        assert_eq!(lp[0].len(), SEQ - 1);
        let t = Instant::now();
        dec.hidden_states(&ids, Kernels::Fast).unwrap();
        trunk.push(tokens / t.elapsed().as_secs_f64());
    }
    // Reference: candle-transformers' llama on the same weights (it computes every position
    // through the blocks but only the last position's logits).
    let ct_cfg = llama::Config {
        hidden_size: cfg.hidden_size,
        intermediate_size: cfg.intermediate_size,
        vocab_size: cfg.vocab_size,
        num_hidden_layers: cfg.num_hidden_layers,
        num_attention_heads: cfg.num_attention_heads,
        num_key_value_heads: cfg.num_key_value_heads,
        use_flash_attn: false,
        rms_norm_eps: cfg.rms_norm_eps,
        rope_theta: cfg.rope_theta as f32,
        bos_token_id: None,
        eos_token_id: None,
        rope_scaling: None,
        max_position_embeddings: cfg.max_position_embeddings,
        tie_word_embeddings: cfg.tie_word_embeddings,
    };
    let ct = llama::Llama::load(vb, &ct_cfg).unwrap();
    let mut reference = vec![];
    for _ in 0..runs {
        let mut cache = llama::Cache::new(false, DType::F32, &ct_cfg, &dev).unwrap();
        let t = Instant::now();
        ct.forward(&ids, 0, &mut cache).unwrap();
        reference.push(tokens / t.elapsed().as_secs_f64());
    }
    println!(
        "{name:>5}: {:6.1}M params | scoring {:7.0} tok/s (median of {runs}) | trunk only {:7.0} \
         tok/s | candle-transformers llama trunk {:7.0} tok/s",
        cfg.num_params() as f64 / 1e6,
        median(full),
        median(trunk),
        median(reference)
    );
}

fn train_step(cfg: &ModelConfig, runs: usize) {
    let dev = Device::Cpu;
    let (_vm, dec) = init_varmap(cfg, 0, DType::F32, &dev).unwrap();
    let n = BATCH * SEQ;
    let ids: Vec<u32> = (0..n).map(|i| ((i * 7919) % cfg.vocab_size) as u32).collect();
    let ids = Tensor::from_vec(ids, (BATCH, SEQ), &dev).unwrap();
    let targets = ids.roll(-1, 1).unwrap();
    let mask = Tensor::ones((BATCH, SEQ), DType::F32, &dev).unwrap();
    let mut rates = vec![];
    for _ in 0..runs {
        let t = Instant::now();
        let logits = dec.forward(&ids, Kernels::Train).unwrap();
        let (sum, count) = masked_nll_sum(&logits, &targets, &mask).unwrap();
        (sum / count).unwrap().backward().unwrap();
        rates.push(n as f64 / t.elapsed().as_secs_f64());
    }
    println!(
        "train: {:6.1}M params | forward+backward {:7.0} tok/s (median of {runs})",
        cfg.num_params() as f64 / 1e6,
        median(rates)
    );
}

fn main() {
    sift::model::tune_allocator();
    let threads = init_threads();
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let want = |n: &str| filter.is_empty() || filter.iter().any(|f| f == n);
    println!("scoring throughput, batch {BATCH} x {SEQ}, f32, {threads} threads");
    if want("tiny") {
        run("tiny", &ModelConfig::llama(32000, 288, 768, 6, 6, 6), 7);
    }
    if want("small") {
        run("small", &ModelConfig::llama(32000, 768, 2048, 12, 12, 12), 5);
    }
    if filter.iter().any(|f| f == "train") {
        train_step(&ModelConfig::llama(32000, 288, 768, 6, 6, 6), 3);
    }
}
