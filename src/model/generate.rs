//! Streaming text generation with a KV cache: greedy or temperature / top-p sampling.

use super::load::LocalModel;
use anyhow::{Result, anyhow};
use candle_core::Tensor;
use candle_transformers::generation::{LogitsProcessor, Sampling};
use std::sync::atomic::{AtomicBool, Ordering};

/// Sampling settings for [`generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateParams {
    /// Maximum number of new tokens.
    pub max_new_tokens: usize,
    /// 0 (or below 1e-7) means greedy decoding.
    pub temperature: f64,
    /// Nucleus sampling mass in (0, 1); `None` samples from the full distribution.
    pub top_p: Option<f64>,
    /// RNG seed for sampling.
    pub seed: u64,
    /// Divides (multiplies, when negative) the logits of tokens generated in the last
    /// `repeat_last_n` steps; 1.0 turns it off. Small models loop without it.
    pub repeat_penalty: f32,
    /// How many recent tokens the penalty looks at.
    pub repeat_last_n: usize,
}

/// The repetition penalty "try it" uses by default.
pub const ANSWER_REPEAT_PENALTY: f32 = 1.3;

impl Default for GenerateParams {
    fn default() -> Self {
        GenerateParams {
            max_new_tokens: 256,
            temperature: 0.0,
            top_p: None,
            seed: 0,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
        }
    }
}

/// Why generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// An end-of-sequence token was produced (it is not part of the output).
    Eos,
    /// `max_new_tokens` were produced.
    MaxTokens,
    /// The model's context window is full.
    ContextFull,
    /// The cancel flag was set.
    Cancelled,
}

/// Result of [`generate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// New token ids (without the prompt and without the EOS token).
    pub tokens: Vec<u32>,
    /// Decoded text of `tokens`.
    pub text: String,
    /// Why it stopped.
    pub stop: StopReason,
}

/// Incremental detokeniser: yields text only once it is complete (no partial UTF-8 sequences).
struct TextStream {
    tokens: Vec<u32>,
    prev: usize,
    cur: usize,
}

impl TextStream {
    fn decode(tok: &tokenizers::Tokenizer, ids: &[u32]) -> Result<String> {
        tok.decode(ids, true).map_err(|e| anyhow!("decoding: {e}"))
    }

    /// Adds a token; returns newly completed text, if any.
    fn push(&mut self, tok: &tokenizers::Tokenizer, id: u32) -> Result<Option<String>> {
        let prev_text = Self::decode(tok, &self.tokens[self.prev..self.cur])?;
        self.tokens.push(id);
        let text = Self::decode(tok, &self.tokens[self.prev..])?;
        if text.len() > prev_text.len()
            && !text.ends_with('\u{FFFD}')
            && let Some(piece) = text.get(prev_text.len()..)
        {
            self.prev = self.cur;
            self.cur = self.tokens.len();
            return Ok(Some(piece.to_string()));
        }
        Ok(None)
    }

    /// Whatever text is still pending at the end.
    fn flush(&self, tok: &tokenizers::Tokenizer) -> Result<Option<String>> {
        let prev_text = Self::decode(tok, &self.tokens[self.prev..self.cur])?;
        let text = Self::decode(tok, &self.tokens[self.prev..])?;
        Ok(text.get(prev_text.len()..).filter(|s| !s.is_empty()).map(str::to_string))
    }
}

/// Generates a continuation of `prompt` (token ids), calling `on_text` with each decoded piece
/// as soon as it is complete. Stops on an EOS id, after `max_new_tokens`, at the context limit,
/// or when `cancel` becomes true (checked before every token).
pub fn generate(
    model: &LocalModel,
    prompt: &[u32],
    params: &GenerateParams,
    cancel: &AtomicBool,
    mut on_text: impl FnMut(&str),
) -> Result<Generation> {
    let dec = &model.decoder;
    let ctx = model.config.max_position_embeddings;
    if prompt.is_empty() {
        return Err(anyhow!("generate: empty prompt"));
    }
    if prompt.len() >= ctx {
        return Err(anyhow!("generate: prompt of {} tokens fills the model context ({ctx})", prompt.len()));
    }
    let sampling = if params.temperature < 1e-7 {
        Sampling::ArgMax
    } else {
        match params.top_p {
            Some(p) if p > 0.0 && p < 1.0 => Sampling::TopP { p, temperature: params.temperature },
            _ => Sampling::All { temperature: params.temperature },
        }
    };
    let mut sampler = LogitsProcessor::from_sampling(params.seed, sampling);
    let mut cache = dec.new_cache();
    let mut stream = TextStream { tokens: vec![], prev: 0, cur: 0 };
    let mut input = prompt.to_vec();
    let mut pos = 0;
    let stop = loop {
        if cancel.load(Ordering::Relaxed) {
            break StopReason::Cancelled;
        }
        if stream.tokens.len() >= params.max_new_tokens {
            break StopReason::MaxTokens;
        }
        if pos + input.len() > ctx {
            break StopReason::ContextFull;
        }
        let ids = Tensor::new(input.as_slice(), dec.device())?.unsqueeze(0)?;
        let mut logits = dec.forward_step(&ids, &mut cache, pos)?.squeeze(0)?;
        pos += input.len();
        if params.repeat_penalty != 1.0 && !stream.tokens.is_empty() {
            let recent = &stream.tokens[stream.tokens.len().saturating_sub(params.repeat_last_n)..];
            logits = candle_transformers::utils::apply_repeat_penalty(&logits, params.repeat_penalty, recent)?;
        }
        let next = sampler.sample(&logits)?;
        if model.eos_token_ids.contains(&next) {
            break StopReason::Eos;
        }
        if let Some(piece) = stream.push(&model.tokenizer, next)? {
            on_text(&piece);
        }
        input = vec![next];
    };
    if let Some(rest) = stream.flush(&model.tokenizer)? {
        on_text(&rest);
    }
    let text = TextStream::decode(&model.tokenizer, &stream.tokens)?;
    Ok(Generation { tokens: stream.tokens, text, stop })
}
