//! Building the default model from scratch: a byte-level BPE tokenizer trained on the corpus, a
//! document mix of the shapes the judge scores (Alpaca template + response, input then response,
//! response alone, input alone), a small Llama trained on every token, and `pretrain_log.json`
//! with the validation loss against a unigram baseline; optionally an instruction-tuning phase
//! (template + response, loss on the response) after pretraining.
//!
//! The corpus is Stanford Alpaca; every record whose 0-based index % 20 == 0 is the validation
//! slice and is never trained on.

use super::checkpoint::write_atomic;
use super::data::Example;
use super::trainer::{ModelSource, TrainConfig, TrainData, TrainEvent, TrainSummary, evaluate, run_training};
use crate::dataset::RecordTextBuf;
use crate::model::{LocalModel, ModelConfig};
use crate::prompt::{alpaca_prompt, input_layout, raw_layout};
use anyhow::{Context, Result, anyhow, bail};
use candle_core::DType;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;
use tokenizers::models::bpe::{BPE, BpeTrainerBuilder};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, NormalizerWrapper, PostProcessorWrapper, Tokenizer, TokenizerImpl};

/// Special tokens, with ids 0, 1, 2.
pub const SPECIAL_TOKENS: [&str; 3] = ["<s>", "</s>", "<pad>"];

/// Settings of `sift pretrain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PretrainConfig {
    /// Alpaca JSON file.
    pub corpus: PathBuf,
    /// Final model directory.
    pub out: PathBuf,
    /// Work directory for checkpoints and metrics.
    pub run_dir: PathBuf,
    /// Seed (tokenizer order, init, data order).
    pub seed: u64,
    /// Wall-clock budget for training.
    pub minutes: Option<f64>,
    /// Optimizer steps (when no time budget, or as an upper bound).
    pub max_steps: Option<usize>,
    /// Use only the first N corpus records (tests).
    pub limit: Option<usize>,
    /// Tokenizer vocabulary size.
    pub vocab: usize,
    /// Hidden size.
    pub hidden: usize,
    /// Decoder layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Key/value heads.
    pub kv_heads: usize,
    /// MLP size.
    pub intermediate: usize,
    /// Context length (longer documents are cut).
    pub context: usize,
    /// Documents per micro-batch.
    pub batch: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Evaluate on the validation subset every N steps.
    pub eval_every: usize,
    /// Continue from the run directory's checkpoint.
    pub resume: bool,
    /// Optimizer steps of the instruction-tuning phase after pretraining (0: none): Alpaca
    /// template documents of the training records, loss on the response tokens only.
    #[serde(default)]
    pub sft_steps: usize,
    /// Peak learning rate of that phase.
    #[serde(default)]
    pub sft_lr: f64,
}

/// `pretrain_log.json`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PretrainLog {
    /// Settings of the run.
    pub config: Option<PretrainConfig>,
    /// Parameters (tied embeddings counted once).
    pub params: usize,
    /// Size of model.safetensors in bytes.
    pub model_bytes: u64,
    /// Training documents / tokens in the corpus.
    pub train_docs: usize,
    /// Tokens in the training documents.
    pub train_corpus_tokens: usize,
    /// Validation documents (records with index % 20 == 0, all shapes).
    pub val_docs: usize,
    /// Tokens scored in validation.
    pub val_tokens: usize,
    /// Training tokens processed.
    pub tokens_seen: u64,
    /// Optimizer steps.
    pub steps: usize,
    /// Training wall time, seconds.
    pub wall_time_s: f64,
    /// Mean training throughput, tokens/s.
    pub tokens_per_s: f64,
    /// Mean loss of the last 50 steps (nats/token).
    pub final_train_loss: f64,
    /// Validation loss of the saved model on the held-out 5%, all shapes (nats/token).
    pub val_loss: f64,
    /// Validation loss on the full Alpaca template + response documents only.
    pub val_loss_template: f64,
    /// Entropy of the training-token unigram distribution evaluated on the validation tokens.
    pub unigram_baseline: f64,
    /// Validation loss on the response tokens of template + response documents (the SFT loss).
    #[serde(default)]
    pub val_loss_response: f64,
    /// The instruction-tuning phase, when it ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sft: Option<SftPhaseLog>,
}

/// The instruction-tuning phase in `pretrain_log.json`; the top-level losses are those of the
/// final model, and `base_*` those of the pretrained model before this phase.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SftPhaseLog {
    /// Optimizer steps.
    pub steps: usize,
    /// Training tokens processed (prompt and response).
    pub tokens_seen: u64,
    /// Wall time of the phase, seconds.
    pub wall_time_s: f64,
    /// Mean loss of the last 50 steps (response tokens, nats/token).
    pub final_train_loss: f64,
    /// Before the phase: validation loss, all shapes.
    pub base_val_loss: f64,
    /// Before the phase: validation loss, template + response documents.
    pub base_val_loss_template: f64,
    /// Before the phase: validation loss on response tokens only.
    pub base_val_loss_response: f64,
}

/// Reads an Alpaca JSON array.
pub fn load_alpaca(path: &Path) -> Result<Vec<RecordTextBuf>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&bytes).with_context(|| format!("{}: expected an Alpaca JSON array", path.display()))
}

/// Whether record `index` belongs to the validation slice.
pub fn is_validation(index: usize) -> bool {
    index.is_multiple_of(20)
}

/// Trains a byte-level BPE tokenizer (specials `<s>`, `</s>`, `<pad>` = ids 0, 1, 2).
pub fn train_tokenizer(texts: &[String], vocab: usize) -> Result<Tokenizer> {
    let mut trainer = BpeTrainerBuilder::new()
        .vocab_size(vocab)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(SPECIAL_TOKENS.iter().map(|s| AddedToken::from(*s, true)).collect())
        .initial_alphabet(ByteLevel::alphabet().into_iter().collect())
        .build();
    let mut tk: TokenizerImpl<BPE, NormalizerWrapper, ByteLevel, PostProcessorWrapper, ByteLevel> =
        TokenizerImpl::new(BPE::default());
    tk.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tk.with_decoder(Some(ByteLevel::default()));
    tk.train(&mut trainer, texts.iter()).map_err(|e| anyhow!("training the tokenizer: {e}"))?;
    Ok(tk.into())
}

/// Text pieces of a record's documents: (prompt, rest) pairs tokenised separately then joined, so
/// the template/response boundary matches SFT. These are the shapes the judge scores: every record
/// gives template + response, the response alone, and the plain text instruction (+ input) then
/// response ([`raw_layout`]); records with an input also give input + "\n\n" + response and the
/// input alone (a plain passage).
pub fn record_documents(r: &RecordTextBuf) -> Vec<(String, String)> {
    let y = r.output.to_string();
    let mut docs = vec![
        (alpaca_prompt(&r.instruction, &r.input), y.clone()),
        (String::new(), y.clone()),
        (raw_layout(&r.instruction, &r.input), y),
    ];
    if !r.input.is_empty() {
        docs.push((String::new(), format!("{}{}", input_layout(&r.input), r.output)));
        docs.push((String::new(), r.input.to_string()));
    }
    docs
}

/// Tokenises (prompt, rest) documents as BOS + prompt + rest + EOS, cut to `context`. Every token
/// after BOS is trained, or with `mask_prompt` only the rest and EOS (the SFT loss).
fn encode_docs(
    tok: &Tokenizer,
    docs: &[(String, String)],
    context: usize,
    source: usize,
    mask_prompt: bool,
) -> Result<Vec<Example>> {
    let mut out = Vec::with_capacity(docs.len());
    for (a, b) in docs {
        let mut tokens = vec![0u32];
        let mut first_trained = 1;
        for (k, part) in [a, b].into_iter().enumerate().filter(|(_, p)| !p.is_empty()) {
            tokens.extend(tok.encode_fast(part.as_str(), false).map_err(|e| anyhow!("tokenizing: {e}"))?.get_ids());
            if k == 0 && mask_prompt {
                first_trained = tokens.len();
            }
        }
        tokens.push(1);
        tokens.truncate(context);
        let trained: Vec<bool> = (0..tokens.len()).map(|i| i >= first_trained).collect();
        if trained.iter().any(|&t| t) {
            out.push(Example { tokens, trained, source });
        }
    }
    Ok(out)
}

/// Mean NLL (nats/token) of the validation targets under the add-one-smoothed unigram
/// distribution of the training targets.
pub fn unigram_baseline(train: &[Example], val: &[Example], vocab: usize) -> f64 {
    let mut counts = vec![0u64; vocab];
    let mut total = 0u64;
    for e in train {
        for &t in &e.tokens[1..] {
            counts[t as usize] += 1;
            total += 1;
        }
    }
    let denom = (total + vocab as u64) as f64;
    let (mut sum, mut n) = (0.0, 0usize);
    for e in val {
        for &t in &e.tokens[1..] {
            sum -= ((counts[t as usize] + 1) as f64 / denom).ln();
            n += 1;
        }
    }
    sum / n.max(1) as f64
}

/// The model architecture of a pretraining run.
pub fn model_config(c: &PretrainConfig, vocab: usize) -> ModelConfig {
    let mut m = ModelConfig::llama(vocab, c.hidden, c.intermediate, c.layers, c.heads, c.kv_heads);
    m.tie_word_embeddings = true;
    m.max_position_embeddings = c.context;
    m.bos_token_id = Some(0);
    m.eos_token_ids = vec![1];
    m
}

/// Builds the tokenizer and corpus, trains, and writes the HF-format model (f16) with
/// `pretrain_log.json` into `cfg.out`. Progress goes to `events`.
pub fn run_pretrain(cfg: &PretrainConfig, events: Sender<TrainEvent>, cancel: Arc<AtomicBool>) -> Result<PretrainLog> {
    if !cfg.hidden.is_multiple_of(cfg.heads) || !cfg.heads.is_multiple_of(cfg.kv_heads) {
        bail!("hidden ({}) must divide by heads ({}) and heads by kv-heads ({})", cfg.hidden, cfg.heads, cfg.kv_heads);
    }
    let mut records = load_alpaca(&cfg.corpus)?;
    if let Some(n) = cfg.limit {
        records.truncate(n);
    }
    let (mut train_docs, mut val_docs) = (Vec::new(), Vec::new());
    for (i, r) in records.iter().enumerate() {
        let docs = record_documents(r);
        if is_validation(i) { val_docs.push((i, docs)) } else { train_docs.push((i, docs)) }
    }
    let tok_path = cfg.run_dir.join("tokenizer.json");
    std::fs::create_dir_all(&cfg.run_dir).with_context(|| format!("creating {}", cfg.run_dir.display()))?;
    let tokenizer = if cfg.resume && tok_path.is_file() {
        Tokenizer::from_file(&tok_path).map_err(|e| anyhow!("loading {}: {e}", tok_path.display()))?
    } else {
        let texts: Vec<String> =
            train_docs.iter().flat_map(|(_, d)| d.iter().map(|(a, b)| format!("{a}{b}"))).collect();
        let t = train_tokenizer(&texts, cfg.vocab)?;
        write_atomic(&tok_path, t.to_string(false).map_err(|e| anyhow!("{e}"))?.as_bytes())?;
        t
    };
    let vocab = tokenizer.get_vocab_size(true);
    let encode_all = |docs: &[(usize, Vec<(String, String)>)], mask_prompt: bool| -> Result<Vec<Example>> {
        let parts: Vec<Vec<Example>> = {
            use rayon::prelude::*;
            docs.par_iter()
                .map(|(i, d)| encode_docs(&tokenizer, d, cfg.context, *i, mask_prompt))
                .collect::<Result<_>>()?
        };
        Ok(parts.into_iter().flatten().collect())
    };
    // The first document of every record is template + response.
    let template_only = |docs: &[(usize, Vec<(String, String)>)]| -> Vec<(usize, Vec<(String, String)>)> {
        docs.iter().map(|(i, d)| (*i, d[..1].to_vec())).collect()
    };
    let train = encode_all(&train_docs, false)?;
    let val = ValSets {
        all: encode_all(&val_docs, false)?,
        template: encode_all(&template_only(&val_docs), false)?,
        response: encode_all(&template_only(&val_docs), true)?,
    };
    let mut model_cfg = model_config(cfg, vocab);
    model_cfg.max_position_embeddings = cfg.context;
    let tokenizer_json = std::fs::read(&tok_path)?;
    let mut tc = TrainConfig::new(
        ModelSource::Scratch { config: model_cfg.clone(), seed: cfg.seed, tokenizer_json },
        cfg.run_dir.clone(),
    );
    // With an SFT phase the pretrained model is an intermediate (kept in f32).
    let sft = cfg.sft_steps > 0;
    let base_dir = cfg.run_dir.join("base");
    tc.final_dir = Some(if sft { base_dir.clone() } else { cfg.out.clone() });
    // A step count or time budget may span several epochs (each in its own seeded order).
    tc.epochs = if cfg.minutes.is_some() || cfg.max_steps.is_some() { 1000 } else { 1 };
    tc.max_steps = cfg.max_steps;
    tc.time_budget_s = cfg.minutes.map(|m| m * 60.0);
    tc.lr = cfg.lr;
    tc.min_lr_ratio = 0.1;
    tc.warmup_steps = Some(cfg.max_steps.map_or(200, |s| (s / 20).clamp(1, 200)));
    tc.batch_size = cfg.batch;
    tc.adamw.beta2 = 0.95;
    tc.adamw.weight_decay = 0.1;
    tc.eval_every = cfg.eval_every;
    tc.save_every = cfg.eval_every.max(100);
    tc.seed = cfg.seed;
    tc.resume = cfg.resume;
    tc.save_dtype = if sft { DType::F32 } else { DType::F16 };
    let data = TrainData { train: train.clone(), eval: val.all.iter().take(256).cloned().collect() };
    let cancelled = || anyhow!("pretraining was cancelled; continue it with --resume");
    let pre = run_training(tc, data, events.clone(), cancel.clone())?.ok_or_else(cancelled)?;
    let mut log = finish_log(cfg, &model_cfg, &pre, &train, &val, vocab)?;
    if !sft {
        write_atomic(&pre.model_dir.join("pretrain_log.json"), &serde_json::to_vec_pretty(&log)?)?;
        return Ok(log);
    }
    // Instruction tuning: template + response documents of the training records, loss on the
    // response; evaluated on the validation records' responses.
    let sft_train = encode_all(&template_only(&train_docs), true)?;
    let mut tc = TrainConfig::new(ModelSource::Pretrained(base_dir), cfg.run_dir.join("sft"));
    tc.final_dir = Some(cfg.out.clone());
    tc.epochs = 1000;
    tc.max_steps = Some(cfg.sft_steps);
    tc.lr = cfg.sft_lr;
    tc.batch_size = cfg.batch;
    tc.eval_every = cfg.eval_every;
    tc.save_every = cfg.eval_every.max(100);
    tc.seed = cfg.seed;
    tc.resume = cfg.resume;
    tc.save_dtype = DType::F16;
    let data = TrainData { train: sft_train, eval: val.response.iter().take(256).cloned().collect() };
    let post = run_training(tc, data, events, cancel)?.ok_or_else(cancelled)?;
    let after = ValLosses::of(&post.model_dir, &val)?;
    log.sft = Some(SftPhaseLog {
        steps: post.steps,
        tokens_seen: post.tokens_seen,
        wall_time_s: post.runtime_s,
        final_train_loss: mean_last_loss(&cfg.run_dir.join("sft")),
        base_val_loss: log.val_loss,
        base_val_loss_template: log.val_loss_template,
        base_val_loss_response: log.val_loss_response,
    });
    log.model_bytes = std::fs::metadata(post.model_dir.join("model.safetensors"))?.len();
    (log.val_loss, log.val_loss_template, log.val_loss_response) = (after.all, after.template, after.response);
    write_atomic(&post.model_dir.join("pretrain_log.json"), &serde_json::to_vec_pretty(&log)?)?;
    Ok(log)
}

/// Validation documents (records with index % 20 == 0).
struct ValSets {
    /// All shapes, every token trained.
    all: Vec<Example>,
    /// Template + response documents, every token trained.
    template: Vec<Example>,
    /// Template + response documents, response tokens only.
    response: Vec<Example>,
}

/// Validation losses of one model (nats/token) on the three [`ValSets`].
struct ValLosses {
    all: f64,
    template: f64,
    response: f64,
}

impl ValLosses {
    fn of(model_dir: &Path, val: &ValSets) -> Result<ValLosses> {
        let model = LocalModel::load(model_dir)?;
        Ok(ValLosses {
            all: evaluate(&model.decoder, &val.all, 16)?,
            template: evaluate(&model.decoder, &val.template, 16)?,
            response: evaluate(&model.decoder, &val.response, 16)?,
        })
    }
}

/// Mean training loss of the last 50 steps in a run directory's `metrics.jsonl`.
fn mean_last_loss(run_dir: &Path) -> f64 {
    let metrics = super::checkpoint::read_metrics(&run_dir.join(super::run_folder::METRICS));
    let last: Vec<f64> = metrics.iter().filter_map(|m| m.loss).rev().take(50).collect();
    last.iter().sum::<f64>() / last.len().max(1) as f64
}

/// The log of the pretraining phase: its own figures and the validation losses of its model.
fn finish_log(
    cfg: &PretrainConfig,
    model_cfg: &ModelConfig,
    s: &TrainSummary,
    train: &[Example],
    val: &ValSets,
    vocab: usize,
) -> Result<PretrainLog> {
    let losses = ValLosses::of(&s.model_dir, val)?;
    Ok(PretrainLog {
        config: Some(cfg.clone()),
        params: model_cfg.num_params(),
        model_bytes: std::fs::metadata(s.model_dir.join("model.safetensors"))?.len(),
        train_docs: train.len(),
        train_corpus_tokens: train.iter().map(|e| e.tokens.len()).sum(),
        val_docs: val.all.len(),
        val_tokens: val.all.iter().map(Example::n_trained).sum(),
        tokens_seen: s.tokens_seen,
        steps: s.steps,
        wall_time_s: s.runtime_s,
        tokens_per_s: s.tokens_seen as f64 / s.runtime_s.max(1e-9),
        final_train_loss: mean_last_loss(&cfg.run_dir),
        val_loss: losses.all,
        val_loss_template: losses.template,
        unigram_baseline: unigram_baseline(train, &val.all, vocab),
        val_loss_response: losses.response,
        sft: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sft_documents_train_only_the_response_and_eos() {
        let texts = vec!["Below is an instruction. Write a response.".to_string(), "The answer is three.".to_string()];
        let tok = train_tokenizer(&texts, 300).unwrap();
        let docs = vec![("Below is an instruction.".to_string(), "The answer".to_string())];
        let prompt_len = tok.encode_fast("Below is an instruction.", false).unwrap().get_ids().len();
        let answer_len = tok.encode_fast("The answer", false).unwrap().get_ids().len();
        let full = &encode_docs(&tok, &docs, 512, 7, false).unwrap()[0];
        let sft = &encode_docs(&tok, &docs, 512, 7, true).unwrap()[0];
        assert_eq!(full.tokens, sft.tokens);
        assert_eq!(sft.tokens.len(), 1 + prompt_len + answer_len + 1);
        assert_eq!((sft.tokens[0], *sft.tokens.last().unwrap(), sft.source), (0, 1, 7));
        assert_eq!(full.n_trained(), prompt_len + answer_len + 1);
        assert_eq!(sft.n_trained(), answer_len + 1);
        assert!(sft.trained[1 + prompt_len..].iter().all(|&t| t) && !sft.trained[..1 + prompt_len].iter().any(|&t| t));
        // A context that ends inside the prompt leaves nothing to train: no example.
        assert!(encode_docs(&tok, &docs, 1 + prompt_len, 7, true).unwrap().is_empty());
    }
}
