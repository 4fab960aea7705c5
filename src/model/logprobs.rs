//! Per-token log-probabilities: the scoring primitive.
//!
//! Only the rows that predict a real token go through the output projection, in chunks, and each
//! chunk's log-sum-exp is fused with the target gather, so no `[B, T, V]` log-softmax is built.

use super::decoder::{Decoder, Kernels};
use super::load::LocalModel;
use anyhow::{Context, Result, bail};
use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;

/// Upper bound on logits materialised at once (elements): 16 Mi floats = 64 MiB.
const LOGIT_CHUNK_ELEMS: usize = 16 << 20;

/// Padded tokens per batch in [`sequence_logprobs`].
pub const BATCH_TOKENS: usize = 2048;

/// Log-probabilities of every token given its prefix, for one batch.
///
/// Sequences are right-padded internally into one `[B, T]` batch, so group sequences of similar
/// length. For a sequence of `n` tokens the result has `n - 1` entries: entry `i` is
/// `log p(seq[i + 1] | seq[..=i])` (the first token has no prediction). Sequences shorter than 2
/// tokens give an empty vector.
pub fn token_logprobs(model: &Decoder, seqs: &[&[u32]], mode: Kernels) -> Result<Vec<Vec<f32>>> {
    let cfg = model.config();
    let t = seqs.iter().map(|s| s.len()).max().unwrap_or(0);
    if t < 2 {
        return Ok(seqs.iter().map(|_| Vec::new()).collect());
    }
    if t > cfg.max_position_embeddings {
        bail!("sequence of {t} tokens exceeds the model context ({} positions)", cfg.max_position_embeddings);
    }
    let b = seqs.len();
    let mut ids = vec![0u32; b * t];
    let mut rows = Vec::new();
    let mut targets = Vec::new();
    for (i, s) in seqs.iter().enumerate() {
        if let Some(&bad) = s.iter().find(|&&x| x as usize >= cfg.vocab_size) {
            bail!("token id {bad} is outside the vocabulary ({})", cfg.vocab_size);
        }
        ids[i * t..i * t + s.len()].copy_from_slice(s);
        for p in 0..s.len().saturating_sub(1) {
            rows.push((i * t + p) as u32);
            targets.push(s[p + 1]);
        }
    }
    let dev = model.device();
    let ids = Tensor::from_vec(ids, (b, t), dev)?;
    let hidden = model.hidden_states(&ids, mode)?;
    let h = cfg.hidden_size;
    let hidden = hidden.reshape((b * t, h))?;
    let hidden =
        if rows.len() == b * t { hidden } else { hidden.index_select(&Tensor::new(rows.as_slice(), dev)?, 0)? };
    let chunk = (LOGIT_CHUNK_ELEMS / cfg.vocab_size).max(1);
    let mut flat = Vec::with_capacity(targets.len());
    let mut start = 0;
    while start < targets.len() {
        let n = chunk.min(targets.len() - start);
        let logits = model.project(&hidden.narrow(0, start, n)?)?;
        flat.extend(gather_logprobs(&logits, &targets[start..start + n])?);
        start += n;
    }
    let mut out = Vec::with_capacity(b);
    let mut it = flat.into_iter();
    for s in seqs {
        out.push(it.by_ref().take(s.len().saturating_sub(1)).collect());
    }
    Ok(out)
}

/// For logits `[N, V]` and N targets: `logits[i, t_i] - logsumexp(logits[i, :])`.
pub fn gather_logprobs(logits: &Tensor, targets: &[u32]) -> Result<Vec<f32>> {
    let (n, v) = logits.dims2()?;
    if n != targets.len() {
        bail!("gather_logprobs: {n} rows but {} targets", targets.len());
    }
    let logits = logits.to_device(&Device::Cpu)?.to_dtype(DType::F32)?.contiguous()?;
    let (storage, layout) = logits.storage_and_layout();
    let (lo, hi) = layout.contiguous_offsets().context("logits are not contiguous")?;
    let data = match &*storage {
        candle_core::Storage::Cpu(cpu) => &cpu.as_slice::<f32>()?[lo..hi],
        _ => bail!("logits are not on the CPU"),
    };
    Ok(data.par_chunks(v).zip(targets.par_iter()).map(|(row, &tgt)| row[tgt as usize] - log_sum_exp(row)).collect())
}

/// Numerically stable log-sum-exp of one row.
pub fn log_sum_exp(row: &[f32]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            // SAFETY: the CPU supports the features the function is compiled for.
            return unsafe { lse_avx2(row) };
        }
    }
    lse_generic(row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn lse_avx2(row: &[f32]) -> f32 {
    lse_generic(row)
}

const LANES: usize = 16;

#[inline(always)]
fn lse_generic(row: &[f32]) -> f32 {
    let mut mx = [f32::NEG_INFINITY; LANES];
    let chunks = row.chunks_exact(LANES);
    let tail = chunks.remainder();
    for c in chunks.clone() {
        for i in 0..LANES {
            mx[i] = mx[i].max(c[i]);
        }
    }
    let m = tail.iter().chain(mx.iter()).fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    if !m.is_finite() {
        return m;
    }
    let mut acc = [0f32; LANES];
    for c in chunks {
        for i in 0..LANES {
            acc[i] += exp_nonpos(c[i] - m);
        }
    }
    let s: f32 = tail.iter().map(|&x| exp_nonpos(x - m)).sum::<f32>() + acc.iter().sum::<f32>();
    m + s.ln()
}

/// `exp(x)` for `x <= 0` (Cephes polynomial, ~1 ulp), branch-free so it vectorises.
#[inline(always)]
pub(crate) fn exp_nonpos(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    const ROUND: f32 = 12_582_912.0; // 1.5 * 2^23: adding it rounds to an integer.
    let x = x.max(-87.0);
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_2e-4_f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 1.666_666_5e-1;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    let e = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    f32::from_bits(((e + 127) << 23) as u32) * y
}

/// Per-token log-probs for many sequences: sorts by length, batches up to [`BATCH_TOKENS`]
/// padded tokens, and returns results in input order (same convention as [`token_logprobs`]).
pub fn sequence_logprobs(model: &LocalModel, seqs: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
    batched_logprobs(&model.decoder, seqs, BATCH_TOKENS, Kernels::Fast)
}

/// [`sequence_logprobs`] on a bare decoder with an explicit padded-token budget per batch.
pub fn batched_logprobs(
    model: &Decoder,
    seqs: &[Vec<u32>],
    batch_tokens: usize,
    mode: Kernels,
) -> Result<Vec<Vec<f32>>> {
    let mut order: Vec<usize> = (0..seqs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(seqs[i].len()));
    let lens: Vec<usize> = order.iter().map(|&i| seqs[i].len()).collect();
    let mut out = vec![Vec::new(); seqs.len()];
    for r in padded_batches(&lens, batch_tokens, 1) {
        let batch: Vec<&[u32]> = order[r.clone()].iter().map(|&j| seqs[j].as_slice()).collect();
        for (&j, lp) in order[r].iter().zip(token_logprobs(model, &batch, mode)?) {
            out[j] = lp;
        }
    }
    Ok(out)
}

/// Splits sequences of lengths `lens` (sorted longest first) into consecutive batches of at most
/// `budget` padded tokens, and at least `min_rows` sequences each: the first sequence of a batch
/// fixes its padded length.
pub fn padded_batches(lens: &[usize], budget: usize, min_rows: usize) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lens.len() {
        let n = (budget / lens[i].max(1)).max(min_rows.max(1)).min(lens.len() - i);
        out.push(i..i + n);
        i += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_is_accurate() {
        let mut worst = 0f32;
        for i in 0..20000 {
            let x = -(i as f32) * 0.004;
            let rel = (exp_nonpos(x) - x.exp()).abs() / x.exp();
            worst = worst.max(rel);
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert!(exp_nonpos(f32::NEG_INFINITY) < 1e-37);
    }

    #[test]
    fn lse_matches_naive() {
        let row: Vec<f32> = (0..1003).map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.3).collect();
        let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let naive = m + row.iter().map(|x| ((x - m) as f64).exp()).sum::<f64>().ln() as f32;
        assert!((log_sum_exp(&row) - naive).abs() < 1e-5);
    }
}
