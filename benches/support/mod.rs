//! Helpers shared by the judge benches: argument parsing, the Alpaca file, and randomly initialised
//! model directories (byte-level BPE tokenizer trained on Alpaca + Llama weights) for throughput runs.
#![allow(dead_code)]

use candle_core::{DType, Device};
use sift::dataset::RecordTextBuf;
use sift::model::{CheckpointFiles, ModelConfig, init_weights, save_hf_checkpoint};
use std::path::{Path, PathBuf};

/// The value after `--name` on the command line.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

/// Whether `--name` is on the command line.
pub fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// `--model DIR`, else `SIFT_MODEL`.
pub fn model_dir() -> Option<PathBuf> {
    arg("--model").map(PathBuf::from).or_else(|| std::env::var_os("SIFT_MODEL").map(PathBuf::from))
}

/// `n` sequences of `len` pseudo-random token ids below `vocab` (a fixed xorshift stream, so every
/// run and every tool in a comparison gets the same batch).
pub fn random_ids(n: usize, len: usize, vocab: usize) -> Vec<Vec<u32>> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % vocab as u64) as u32
    };
    (0..n).map(|_| (0..len).map(|_| next()).collect()).collect()
}

/// The shared Alpaca file.
pub fn alpaca_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/alpaca/alpaca_data.json")
}

/// All 52,002 Alpaca records.
pub fn alpaca() -> Vec<RecordTextBuf> {
    let p = alpaca_path();
    serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))).unwrap()
}

/// Trains a byte-level BPE tokenizer of `vocab` entries on Alpaca (records with index % 20 != 0)
/// and writes its tokenizer.json to `path`. Ids 0 and 1 are `<s>` and `</s>`.
pub fn train_tokenizer(vocab: usize, path: &Path) {
    use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
    use tokenizers::pre_tokenizers::byte_level::ByteLevel;
    use tokenizers::{AddedToken, DecoderWrapper, NormalizerWrapper, PostProcessorWrapper, PreTokenizerWrapper};
    let recs = alpaca();
    let corpus = std::env::temp_dir().join(format!("sift-bench-corpus-{}.txt", std::process::id()));
    let text: String = recs
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 20 != 0)
        .map(|(_, r)| format!("{}\n{}\n{}\n", r.instruction, r.input, r.output))
        .collect();
    std::fs::write(&corpus, text).unwrap();
    let mut trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(vec![AddedToken::from("<s>", true), AddedToken::from("</s>", true)])
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build();
    let mut tok = tokenizers::TokenizerBuilder::<
        BPE,
        NormalizerWrapper,
        PreTokenizerWrapper,
        PostProcessorWrapper,
        DecoderWrapper,
    >::new()
    .with_model(BPE::default())
    .with_pre_tokenizer(Some(ByteLevel::default().add_prefix_space(false).into()))
    .with_decoder(Some(ByteLevel::default().into()))
    .build()
    .unwrap();
    tok.train_from_files(&mut trainer, vec![corpus.to_string_lossy().into_owned()]).unwrap();
    std::fs::remove_file(&corpus).ok();
    tok.save(path, false).unwrap();
}

/// A randomly initialised Llama model directory with an Alpaca-trained tokenizer, built once under
/// the temp dir and reused.
pub fn random_model(hidden: usize, layers: usize, heads: usize, inter: usize, vocab: usize) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sift-bench-llama-{hidden}-{layers}-{heads}-{inter}-{vocab}"));
    if dir.join("model.safetensors").is_file() {
        return dir;
    }
    let tok = std::env::temp_dir().join(format!("sift-bench-tokenizer-{vocab}.json"));
    if !tok.is_file() {
        train_tokenizer(vocab, &tok);
    }
    let mut cfg = ModelConfig::llama(vocab, hidden, inter, layers, heads, heads);
    cfg.bos_token_id = Some(0);
    cfg.eos_token_ids = vec![1];
    cfg.max_position_embeddings = 1024;
    let weights = init_weights(&cfg, 0, DType::F32, &Device::Cpu).unwrap();
    let files = CheckpointFiles { tokenizer_json: std::fs::read(&tok).unwrap(), ..Default::default() };
    save_hf_checkpoint(&dir, &cfg, &weights, &files).unwrap();
    dir
}

/// Median of a sample.
pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}
