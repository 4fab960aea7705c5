//! Writes sift's per-token log-probs of a few fixed texts for a model directory, for
//! tools/check_hf_load.py to compare with transformers.
//!
//! `cargo run --release --example hf_logprobs -- MODEL_DIR OUT.json`

use sift::model::{Kernels, LocalModel, token_logprobs};

const TEXTS: [&str; 4] = [
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n### Instruction:\nGive three tips for staying healthy.\n\n### Response:1. Eat well. 2. Sleep. 3. Move.",
    "The quick brown fox jumps over the lazy dog.",
    "Photosynthesis converts light energy into chemical energy.",
    "Q: What is 12 + 30?\nA: 42",
];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(args.len() == 3, "usage: hf_logprobs MODEL_DIR OUT.json");
    let model = LocalModel::load(std::path::Path::new(&args[1]))?;
    let ctx = model.config.max_position_embeddings;
    let seqs: Vec<Vec<u32>> = TEXTS
        .iter()
        .map(|t| {
            let mut ids: Vec<u32> = model.config.bos_token_id.into_iter().collect();
            ids.extend(model.encode(t)?);
            ids.truncate(ctx);
            Ok(ids)
        })
        .collect::<anyhow::Result<_>>()?;
    let refs: Vec<&[u32]> = seqs.iter().map(Vec::as_slice).collect();
    let lps = token_logprobs(&model.decoder, &refs, Kernels::Fast)?;
    let out = serde_json::json!({"ids": seqs, "logprobs": lps});
    std::fs::write(&args[2], serde_json::to_vec(&out)?)?;
    Ok(())
}
