//! Gives an existing sift model folder (one written before checkpoints were complete HF folders,
//! such as `assets/model`) the files trainers need: `tokenizer_config.json` (with sift's chat
//! template), `special_tokens_map.json` and a BOS post-processor in `tokenizer.json`. The weights
//! and config.json are not touched; a folder that already has a tokenizer config is left alone.
//!
//!     cargo run --release --example complete_hf_folder -- assets/model

use anyhow::{Context, Result};
use sift::model::{CheckpointFiles, ModelConfig};
use std::path::PathBuf;

fn main() -> Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).context("usage: complete_hf_folder MODEL_DIR")?);
    let cfg = ModelConfig::from_file(&dir.join("config.json"))?;
    let tokenizer_json = std::fs::read(dir.join("tokenizer.json"))?;
    let extra = std::fs::read(dir.join("tokenizer_config.json")).map(|b| vec![("tokenizer_config.json".into(), b)]);
    let mut files = CheckpointFiles {
        tokenizer_json: tokenizer_json.clone(),
        extra: extra.unwrap_or_default(),
        ..Default::default()
    };
    sift::train::checkpoint::complete_hf_files(&cfg, &mut files)?;
    if files.tokenizer_json != tokenizer_json {
        std::fs::write(dir.join("tokenizer.json"), &files.tokenizer_json)?;
        println!("tokenizer.json: BOS post-processor added");
    }
    for (name, bytes) in &files.extra {
        if !dir.join(name).exists() {
            std::fs::write(dir.join(name), bytes)?;
            println!("{name} written");
        }
    }
    Ok(())
}
