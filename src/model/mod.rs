//! Local Llama-family language model (Llama, Qwen2) on candle: config, weights, a decoder with
//! a fast scoring path and a differentiable training path, per-token log-probs, generation, and
//! checkpoints transformers can load.

pub mod config;
pub mod decoder;
pub mod generate;
pub mod init;
pub mod load;
pub mod logprobs;
pub mod loss;

pub use config::{Arch, ModelConfig, RopeScaling};
pub use decoder::{Decoder, KvCache, Mode};
pub use generate::{GenerateParams, Generation, StopReason, generate};
pub use init::{Init, init_varmap, init_weights, param_specs, varmap_tensors};
pub use load::{CheckpointFiles, LocalModel, save_hf_checkpoint};
pub use logprobs::{batched_logprobs, sequence_logprobs, token_logprobs};
pub use loss::masked_nll_sum;

/// Sizes the compute thread pool from the real core count when `RAYON_NUM_THREADS` is unset
/// (candle otherwise counts physical cores, which undercounts on some VMs). Call it first thing
/// in `main`, before any other thread starts. Returns the thread count in use.
pub fn init_threads() -> usize {
    let n = match std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        Some(n) => n,
        None => {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            // SAFETY: documented to run at start-up before other threads exist; candle reads
            // this variable to size its matmul parallelism.
            unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
            n
        }
    };
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
    n
}
