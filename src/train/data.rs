//! Supervised fine-tuning examples: tokenisation of a record's training text (laid out by
//! [`crate::prompt::record_segments`]) with a label mask (1 on response tokens and EOS only),
//! truncation, and length-bucketed micro-batches.

use crate::prompt::record_segments;
use crate::rng::SplitMix64;
use crate::session::Session;
use anyhow::{Context, Result, anyhow, bail};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tokenizers::Tokenizer;

/// A tokenizer with the special ids training needs.
#[derive(Clone)]
pub struct SftTokenizer {
    /// The tokenizer.
    pub tokenizer: Tokenizer,
    /// Prepended to every sequence when set.
    pub bos: Option<u32>,
    /// Appended after every trained response.
    pub eos: u32,
}

impl SftTokenizer {
    /// Reads tokenizer.json and the bos/eos ids of config.json (and generation_config.json) in `dir`.
    pub fn from_model_dir(dir: &Path) -> Result<SftTokenizer> {
        let cfg = crate::model::ModelConfig::from_file(&dir.join("config.json"))?;
        let tok_path = dir.join("tokenizer.json");
        let tokenizer = Tokenizer::from_file(&tok_path).map_err(|e| anyhow!("loading {}: {e}", tok_path.display()))?;
        let mut eos = cfg.eos_token_ids.first().copied();
        if eos.is_none() {
            let gen_cfg = std::fs::read_to_string(dir.join("generation_config.json")).unwrap_or_default();
            let v: serde_json::Value = serde_json::from_str(&gen_cfg).unwrap_or_default();
            eos = v["eos_token_id"].as_u64().or_else(|| v["eos_token_id"][0].as_u64()).map(|x| x as u32);
        }
        let eos = eos
            .or_else(|| tokenizer.token_to_id("</s>"))
            .with_context(|| format!("{}: no eos_token_id in config.json or generation_config.json", dir.display()))?;
        Ok(SftTokenizer { tokenizer, bos: cfg.bos_token_id, eos })
    }

    /// Token ids of `text` without special tokens.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self.tokenizer.encode_fast(text, false).map_err(|e| anyhow!("tokenizing: {e}"))?.get_ids().to_vec())
    }

    /// Token ids of a prompt: BOS (when the model has one) then the text.
    pub fn encode_prompt(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids: Vec<u32> = self.bos.into_iter().collect();
        ids.extend(self.encode(text)?);
        Ok(ids)
    }
}

/// One training sequence. `trained[i]` says whether token `i` is a target of the loss (it is
/// predicted from tokens `..i`); the first token is never trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// Token ids.
    pub tokens: Vec<u32>,
    /// Per-token label mask.
    pub trained: Vec<bool>,
    /// Position of the source record in the dataset (or document index in pretraining).
    pub source: usize,
}

impl Example {
    /// Number of tokens that count in the loss.
    pub fn n_trained(&self) -> usize {
        self.trained.iter().skip(1).filter(|&&t| t).count()
    }
}

/// Why a record gave no example.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The prompt alone fills the context.
    PromptTooLong,
    /// No response (or no trained turn) to learn.
    NoResponse,
    /// Labelled undesirable (KTO `label: false`): never a fine-tuning target.
    Undesirable,
}

/// Tokenises segments into an example: BOS, then each segment; a trained segment is followed by a
/// trained EOS. Truncates to `max_len` tokens: the prompt (tokens before the first trained one)
/// loses tokens from its start first, keeping at least a quarter of the context, then the tail
/// of the sequence is cut.
pub fn tokenize_segments(
    tok: &SftTokenizer,
    segs: &[(String, bool)],
    max_len: usize,
    source: usize,
) -> Result<std::result::Result<Example, Skip>> {
    let (mut tokens, mut trained): (Vec<u32>, Vec<bool>) =
        (tok.bos.into_iter().collect(), tok.bos.map(|_| false).into_iter().collect());
    for (text, train) in segs {
        let ids = if text.is_empty() { vec![] } else { tok.encode(text)? };
        trained.extend(std::iter::repeat_n(*train, ids.len()));
        tokens.extend(ids);
        if *train {
            tokens.push(tok.eos);
            trained.push(true);
        }
    }
    let Some(first) = trained.iter().position(|&t| t) else { return Ok(Err(Skip::NoResponse)) };
    if first == 0 || tokens.len() < 2 {
        return Ok(Err(Skip::NoResponse));
    }
    if first >= max_len {
        return Ok(Err(Skip::PromptTooLong));
    }
    if tokens.len() > max_len {
        let keep_prompt = first.min((max_len / 4).max(1));
        let bos = usize::from(tok.bos.is_some()).min(keep_prompt.saturating_sub(1));
        let drop = (tokens.len() - max_len).min(first - keep_prompt);
        tokens.drain(bos..bos + drop);
        trained.drain(bos..bos + drop);
        tokens.truncate(max_len);
        trained.truncate(max_len);
    }
    Ok(Ok(Example { tokens, trained, source }))
}

/// Examples built from a selection, with what was skipped.
#[derive(Debug, Clone, Default)]
pub struct BuiltExamples {
    /// One example per usable record, in selection order.
    pub examples: Vec<Example>,
    /// Records whose prompt fills the context.
    pub skipped_too_long: usize,
    /// Records with no response to learn (or undecodable).
    pub skipped_empty: usize,
    /// Records labelled undesirable (KTO `label: false`).
    pub skipped_undesirable: usize,
}

/// Builds SFT examples from the records at `positions`, tokenising on all cores (52K records
/// took 2x longer on one). A record labelled undesirable (KTO `label: false`) gives no example; a
/// preference pair trains on its chosen response (the record's turns), never the rejected one.
pub fn build_examples(
    session: &Session,
    positions: &[usize],
    tok: &SftTokenizer,
    max_len: usize,
) -> Result<BuiltExamples> {
    use rayon::prelude::*;
    if max_len < 2 {
        bail!("max length must be at least 2 tokens");
    }
    let ds = session.dataset();
    let built: Vec<std::result::Result<Example, Skip>> = positions
        .par_iter()
        .map(|&pos| match ds.record(pos) {
            Some(rec) if rec.is_undesirable() => Ok(Err(Skip::Undesirable)),
            Some(rec) => tokenize_segments(tok, &record_segments(&rec, ds.format()), max_len, pos),
            None => Ok(Err(Skip::NoResponse)),
        })
        .collect::<Result<_>>()?;
    let mut out = BuiltExamples::default();
    for b in built {
        match b {
            Ok(ex) => out.examples.push(ex),
            Err(Skip::PromptTooLong) => out.skipped_too_long += 1,
            Err(Skip::NoResponse) => out.skipped_empty += 1,
            Err(Skip::Undesirable) => out.skipped_undesirable += 1,
        }
    }
    Ok(out)
}

/// A right-padded micro-batch as plain vectors: inputs `ids[b*t]`, `targets[b*t]` and the flat
/// indices of the rows that count in the loss.
#[derive(Debug, Clone, PartialEq)]
pub struct MicroBatch {
    /// Sequences in the batch.
    pub b: usize,
    /// Padded length (inputs are the sequences without their last token).
    pub t: usize,
    /// Input ids, pad id 0.
    pub ids: Vec<u32>,
    /// Next-token targets (0 where not trained).
    pub targets: Vec<u32>,
    /// Flat indices `i * t + p` of trained rows (the label mask).
    pub rows: Vec<u32>,
    /// Real (non-padding) input tokens.
    pub real_tokens: usize,
}

impl MicroBatch {
    /// Collates examples (each at least 2 tokens) into one batch.
    pub fn collate(examples: &[&Example]) -> MicroBatch {
        let b = examples.len();
        let t = examples.iter().map(|e| e.tokens.len() - 1).max().unwrap_or(0).max(1);
        let (mut ids, mut targets, mut rows) = (vec![0u32; b * t], vec![0u32; b * t], Vec::new());
        let mut real_tokens = 0;
        for (i, e) in examples.iter().enumerate() {
            let n = e.tokens.len() - 1;
            real_tokens += n;
            ids[i * t..i * t + n].copy_from_slice(&e.tokens[..n]);
            for p in 0..n {
                if e.trained[p + 1] {
                    targets[i * t + p] = e.tokens[p + 1];
                    rows.push((i * t + p) as u32);
                }
            }
        }
        MicroBatch { b, t, ids, targets, rows, real_tokens }
    }

    /// Number of tokens in the loss.
    pub fn n_trained(&self) -> usize {
        self.rows.len()
    }
}

/// The micro-batches of one epoch as lists of example indices, deterministic for (seed, epoch):
/// shuffle, sort windows of 32 batches by length (so batches hold similar lengths and little
/// padding), then shuffle the batches.
pub fn epoch_batches(lengths: &[usize], batch: usize, seed: u64, epoch: usize) -> Vec<Vec<usize>> {
    let batch = batch.max(1);
    let mut rng = SplitMix64(seed ^ (epoch as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407));
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    rng.shuffle(&mut order);
    let mut batches = Vec::new();
    for window in order.chunks(batch * 32) {
        let mut w = window.to_vec();
        w.sort_by_key(|&i| (lengths[i], i));
        batches.extend(w.chunks(batch).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut batches);
    batches
}
