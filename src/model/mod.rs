//! Local Llama-family language model (Llama, Qwen2) on candle: config, weights, a decoder with
//! a fast scoring path and a differentiable training path, per-token log-probs, generation, and
//! checkpoints transformers can load.

pub mod attention;
pub mod bundled;
pub mod config;
pub mod decoder;
pub mod fused;
pub mod generate;
pub mod init;
pub mod load;
pub mod logprobs;
pub mod loss;
pub mod swiglu;

pub use config::{Arch, ModelConfig, RopeScaling};
pub use decoder::{Decoder, Kernels, KvCache};
pub use generate::{GenerateParams, Generation, StopReason, generate};
pub use init::{Init, init_varmap, init_weights, param_specs, varmap_tensors};
pub use load::{CheckpointFiles, LocalModel, save_hf_checkpoint};
pub use logprobs::{batched_logprobs, sequence_logprobs, token_logprobs};
pub use loss::masked_nll_sum;

/// Sizes the compute thread pool from the real core count when `RAYON_NUM_THREADS` is unset
/// (candle otherwise counts physical cores, which undercounts on some VMs), and runs candle's
/// element-wise ops on the calling thread (`CANDLE_NUM_THREADS=1` unless set): candle's
/// barrier-pool worker spins while it waits, and on 2 cores it took CPU from the judge's second
/// concurrent batch. Scoring 3,000 Alpaca records with the bundled model, side by side: 25.1 /
/// 26.5 s against 33.1 / 30.0 s on a quiet machine, 29.1 against 41.9 s under load. (Single-stream
/// work on big models gains less or loses: the 134M scoring bench and the training bench were
/// 5-10% faster with 2 when quiet; set `CANDLE_NUM_THREADS` to choose.) Matmuls use all cores
/// either way. Call it first thing in `main`, before any other thread starts. Returns the thread
/// count in use.
pub fn init_threads() -> usize {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        // SAFETY: documented to run at start-up before other threads exist.
        unsafe { std::env::set_var("CANDLE_NUM_THREADS", "1") };
    }
    let n = match std::env::var("RAYON_NUM_THREADS").ok().and_then(|s| s.parse::<usize>().ok()).filter(|&n| n > 0) {
        Some(n) => n,
        None => {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            // SAFETY: documented to run at start-up before other threads exist; candle reads
            // this variable to size its matmul parallelism.
            unsafe { std::env::set_var("RAYON_NUM_THREADS", n.to_string()) };
            n
        }
    };
    let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
    n
}

unsafe extern "C" {
    /// mimalloc's option setter (linked through the `mimalloc` crate).
    fn mi_option_set(option: std::os::raw::c_int, value: std::os::raw::c_long);
}

/// `mi_option_purge_delay` in mimalloc v2 and v3 (`mimalloc.h`).
const MI_OPTION_PURGE_DELAY: std::os::raw::c_int = 15;

/// Stops mimalloc from returning freed memory to the OS (purge delay -1) unless
/// `MIMALLOC_PURGE_DELAY` is set. candle allocates fresh multi-hundred-MB tensors every step;
/// with purging each reuse page-faults and zero-fills them again (45% of a training step's time,
/// 2.3x slower forward+backward on the tiny config). Cost: resident memory stays at its peak.
/// Only has an effect when mimalloc is the global allocator; call it at start-up.
pub fn tune_allocator() {
    let _linked = mimalloc::MiMalloc;
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a plain integer option; valid at any time.
        unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}
