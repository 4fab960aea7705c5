//! Llama-family decoder (Llama, Qwen2) on candle with Hugging Face tensor names.
//!
//! Two numerically equivalent forward paths: [`Kernels::Fast`] uses candle's fused kernels (no
//! backward through rms-norm, softmax or rope) and [`Kernels::Train`] uses only differentiable tensor
//! ops, so gradients are correct.

use super::config::{ModelConfig, RopeScaling};
use super::{attention, fused};
use candle_core::{D, DType, Device, Result, Tensor};
use candle_nn::{Linear, Module, VarBuilder};

/// Which kernels the forward pass uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernels {
    /// Fused candle ops: fastest, for scoring and generation. Not differentiable.
    Fast,
    /// Plain differentiable tensor ops, for training.
    Train,
}

/// Per-layer key/value cache for incremental decoding.
#[derive(Debug, Clone, Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
}

impl KvCache {
    /// An empty cache for `num_layers` layers.
    pub fn new(num_layers: usize) -> Self {
        KvCache { layers: vec![None; num_layers] }
    }

    /// Number of cached positions (0 when empty).
    pub fn len(&self) -> usize {
        self.layers.first().and_then(|l| l.as_ref()).map_or(0, |(k, _)| k.dim(2).unwrap_or(0))
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone)]
struct Attention {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
}

#[derive(Debug, Clone)]
struct Mlp {
    gate: Linear,
    up: Linear,
    down: Linear,
}

#[derive(Debug, Clone)]
struct Block {
    attn: Attention,
    mlp: Mlp,
    input_norm: Tensor,
    post_norm: Tensor,
}

/// A Llama-family causal language model.
#[derive(Debug, Clone)]
pub struct Decoder {
    cfg: ModelConfig,
    embed: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    lm_head: Tensor,
    inv_freq: Vec<f32>,
    device: Device,
    dtype: DType,
}

fn linear(vb: &VarBuilder, name: &str, out: usize, inp: usize, bias: bool) -> Result<Linear> {
    let vb = vb.pp(name);
    let w = vb.get((out, inp), "weight")?;
    let b = if bias { Some(vb.get(out, "bias")?) } else { None };
    Ok(Linear::new(w, b))
}

/// Inverse RoPE frequencies (f32, as transformers computes them), with optional scaling.
fn inv_freq(cfg: &ModelConfig) -> Vec<f32> {
    let hd = cfg.head_dim;
    let base: Vec<f32> = (0..hd / 2).map(|i| 1.0 / (cfg.rope_theta as f32).powf((2 * i) as f32 / hd as f32)).collect();
    match cfg.rope_scaling {
        RopeScaling::Default => base,
        RopeScaling::Linear { factor } => base.iter().map(|f| f / factor as f32).collect(),
        RopeScaling::Llama3 { factor, low_freq_factor, high_freq_factor, original_max_position_embeddings: old } => {
            let low_wavelen = old / low_freq_factor;
            let high_wavelen = old / high_freq_factor;
            base.iter()
                .map(|&f| {
                    let f = f as f64;
                    let wavelen = 2.0 * std::f64::consts::PI / f;
                    let out = if wavelen > low_wavelen {
                        f / factor
                    } else if wavelen < high_wavelen {
                        f
                    } else {
                        let smooth = (old / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
                        (1.0 - smooth) * f / factor + smooth * f
                    };
                    out as f32
                })
                .collect()
        }
    }
}

/// Row-wise RMS norm from differentiable ops.
fn rms_norm_train(x: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
    let var = x.sqr()?.mean_keepdim(D::Minus1)?;
    let denom = (var + eps)?.sqrt()?;
    x.broadcast_div(&denom)?.broadcast_mul(w)
}

/// Softmax over the last dim from differentiable ops; the max shift is detached (it cancels).
pub(crate) fn softmax_train(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&max)?.exp()?;
    e.broadcast_div(&e.sum_keepdim(D::Minus1)?)
}

/// HF "rotate_half" RoPE from narrow/cat/mul. `x`: [B, H, T, hd]; `cos`/`sin`: [T, hd]
/// (the half tables repeated twice, see [`full_width`]).
fn rope_train(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    let hd = x.dim(D::Minus1)?;
    let x1 = x.narrow(D::Minus1, 0, hd / 2)?;
    let x2 = x.narrow(D::Minus1, hd / 2, hd / 2)?;
    let rot = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
    x.broadcast_mul(cos)? + rot.broadcast_mul(sin)?
}

/// `[T, hd/2]` -> `[T, hd]` by repeating the table, as HF's `cat((freqs, freqs))`.
fn full_width(t: &Tensor) -> Result<Tensor> {
    Tensor::cat(&[t, t], D::Minus1)
}

impl Decoder {
    /// Builds the model from a `VarBuilder` with HF tensor names (mmaped safetensors for
    /// scoring, a `VarMap` for training).
    pub fn new(cfg: &ModelConfig, vb: VarBuilder) -> Result<Self> {
        let (h, hd) = (cfg.hidden_size, cfg.head_dim);
        let (q_out, kv_out) = (cfg.num_attention_heads * hd, cfg.num_key_value_heads * hd);
        let m = vb.pp("model");
        let embed = m.get((cfg.vocab_size, h), "embed_tokens.weight")?;
        let blocks = (0..cfg.num_hidden_layers)
            .map(|i| {
                let l = m.pp(format!("layers.{i}"));
                let a = l.pp("self_attn");
                let mlp = l.pp("mlp");
                let (qb, ob, mb) = (cfg.qkv_bias(), cfg.o_bias(), cfg.mlp_bias);
                Ok(Block {
                    attn: Attention {
                        q: linear(&a, "q_proj", q_out, h, qb)?,
                        k: linear(&a, "k_proj", kv_out, h, qb)?,
                        v: linear(&a, "v_proj", kv_out, h, qb)?,
                        o: linear(&a, "o_proj", h, q_out, ob)?,
                    },
                    mlp: Mlp {
                        gate: linear(&mlp, "gate_proj", cfg.intermediate_size, h, mb)?,
                        up: linear(&mlp, "up_proj", cfg.intermediate_size, h, mb)?,
                        down: linear(&mlp, "down_proj", h, cfg.intermediate_size, mb)?,
                    },
                    input_norm: l.get(h, "input_layernorm.weight")?,
                    post_norm: l.get(h, "post_attention_layernorm.weight")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let norm = m.get(h, "norm.weight")?;
        let lm_head =
            if cfg.tie_word_embeddings { embed.clone() } else { vb.get((cfg.vocab_size, h), "lm_head.weight")? };
        Ok(Decoder {
            inv_freq: inv_freq(cfg),
            cfg: cfg.clone(),
            embed,
            blocks,
            norm,
            lm_head,
            device: vb.device().clone(),
            dtype: vb.dtype(),
        })
    }

    /// A copy whose weights are plain tensors sharing the same storage but not tracked for
    /// gradients: score or generate with a model being trained without building a graph.
    pub fn detached(&self) -> Decoder {
        let lin = |l: &Linear| Linear::new(l.weight().detach(), l.bias().map(Tensor::detach));
        Decoder {
            cfg: self.cfg.clone(),
            embed: self.embed.detach(),
            blocks: self
                .blocks
                .iter()
                .map(|b| Block {
                    attn: Attention { q: lin(&b.attn.q), k: lin(&b.attn.k), v: lin(&b.attn.v), o: lin(&b.attn.o) },
                    mlp: Mlp { gate: lin(&b.mlp.gate), up: lin(&b.mlp.up), down: lin(&b.mlp.down) },
                    input_norm: b.input_norm.detach(),
                    post_norm: b.post_norm.detach(),
                })
                .collect(),
            norm: self.norm.detach(),
            lm_head: self.lm_head.detach(),
            inv_freq: self.inv_freq.clone(),
            device: self.device.clone(),
            dtype: self.dtype,
        }
    }

    /// The configuration this model was built from.
    pub fn config(&self) -> &ModelConfig {
        &self.cfg
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The compute dtype.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The output projection `[vocab, hidden]` (the embedding matrix when tied).
    pub fn lm_head(&self) -> &Tensor {
        &self.lm_head
    }

    /// cos/sin tables `[T, hd/2]` for positions `start..start+t`.
    fn rope_tables(&self, start: usize, t: usize) -> Result<(Tensor, Tensor)> {
        let half = self.inv_freq.len();
        let mut cos = Vec::with_capacity(t * half);
        let mut sin = Vec::with_capacity(t * half);
        for p in start..start + t {
            for &f in &self.inv_freq {
                let angle = (p as f32 * f) as f64;
                cos.push(angle.cos());
                sin.push(angle.sin());
            }
        }
        let mk = |v: Vec<f64>| Tensor::from_vec(v, (t, half), &self.device)?.to_dtype(self.dtype);
        Ok((mk(cos)?, mk(sin)?))
    }

    /// Additive causal mask `[t, start + t]`: `-inf` where key position > query position.
    fn causal_mask(&self, start: usize, t: usize) -> Result<Tensor> {
        let tk = start + t;
        let mask: Vec<f32> =
            (0..t).flat_map(|i| (0..tk).map(move |j| if j > i + start { f32::NEG_INFINITY } else { 0.0 })).collect();
        Tensor::from_vec(mask, (t, tk), &self.device)?.to_dtype(self.dtype)
    }

    /// Whether the kernels of [`fused`] apply: in training instead of plain tensor ops, and for
    /// the masked softmax in both modes.
    fn use_fused(&self) -> bool {
        fused::supported(&self.device, self.dtype)
    }

    fn rms_norm(&self, x: &Tensor, w: &Tensor, mode: Kernels) -> Result<Tensor> {
        match mode {
            Kernels::Fast => candle_nn::ops::rms_norm(x, w, self.cfg.rms_norm_eps as f32),
            Kernels::Train if self.use_fused() => fused::rms_norm(x, w, self.cfg.rms_norm_eps),
            Kernels::Train => rms_norm_train(x, w, self.cfg.rms_norm_eps),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn attention(
        &self,
        a: &Attention,
        x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        mask: Option<&Tensor>,
        cache: Option<&mut Option<(Tensor, Tensor)>>,
        mode: Kernels,
    ) -> Result<Tensor> {
        let (b, t, _) = x.dims3()?;
        let (nh, nkv, hd) = (self.cfg.num_attention_heads, self.cfg.num_key_value_heads, self.cfg.head_dim);
        let heads = |lin: &Linear, n: usize| -> Result<Tensor> {
            self.linear(lin, x)?.reshape((b, t, n, hd))?.transpose(1, 2)?.contiguous()
        };
        let (q, k, v) = (heads(&a.q, nh)?, heads(&a.k, nkv)?, heads(&a.v, nkv)?);
        let (q, k) = match mode {
            Kernels::Fast => (candle_nn::rotary_emb::rope(&q, cos, sin)?, candle_nn::rotary_emb::rope(&k, cos, sin)?),
            Kernels::Train if self.use_fused() => (fused::rope(&q, cos, sin)?, fused::rope(&k, cos, sin)?),
            Kernels::Train => (rope_train(&q, cos, sin)?, rope_train(&k, cos, sin)?),
        };
        let (k, v) = match cache {
            Some(slot) => {
                let kv = match slot.take() {
                    Some((pk, pv)) => (Tensor::cat(&[&pk, &k], 2)?, Tensor::cat(&[&pv, &v], 2)?),
                    None => (k, v),
                };
                *slot = Some(kv.clone());
                kv
            }
            None => (k, v),
        };
        let tk = k.dim(2)?;
        let scale = 1.0 / (hd as f64).sqrt();
        if self.use_fused() {
            // Scores, causal softmax and the product with v per head in one op, which writes the
            // heads merged; its backward pass recomputes the probabilities.
            let o = match mode {
                Kernels::Fast => attention::causal_attention(&q.detach(), &k.detach(), &v.detach(), scale)?,
                Kernels::Train => attention::causal_attention(&q, &k, &v, scale)?,
            };
            return self.linear(&a.o, &o);
        }
        // GQA without copying k/v: fold the query heads sharing a kv head into the row dim.
        let rep = nh / nkv;
        let q = q.reshape((b, nkv, rep * t, hd))?;
        let scores = (q.matmul(&k.t()?)? * scale)?.reshape((b, nh, t, tk))?;
        let scores = match mask {
            Some(m) => scores.broadcast_add(m)?,
            None => scores,
        };
        let p = match mode {
            Kernels::Fast => candle_nn::ops::softmax_last_dim(&scores)?,
            Kernels::Train => softmax_train(&scores)?,
        };
        let o = p.reshape((b, nkv, rep * t, tk))?.matmul(&v)?;
        let o = o.reshape((b, nh, t, hd))?.transpose(1, 2)?.reshape((b, t, nh * hd))?;
        self.linear(&a.o, &o)
    }

    fn mlp(&self, m: &Mlp, x: &Tensor) -> Result<Tensor> {
        if self.use_fused() {
            let h = fused::swiglu(&self.linear(&m.gate, x)?, &self.linear(&m.up, x)?)?;
            return self.linear(&m.down, &h);
        }
        let g = self.linear(&m.gate, x)?.silu()?;
        self.linear(&m.down, &(g * self.linear(&m.up, x)?)?)
    }

    /// A linear layer: [`fused::linear`] (the same product, without zeroing its output first)
    /// where the fused kernels apply, else candle's.
    fn linear(&self, l: &Linear, x: &Tensor) -> Result<Tensor> {
        if !self.use_fused() {
            return l.forward(x);
        }
        let y = fused::linear(x, l.weight())?;
        match l.bias() {
            Some(b) => y.broadcast_add(b),
            None => Ok(y),
        }
    }

    /// Runs the blocks and the final norm: `[B, T]` ids -> `[B, T, hidden]`.
    fn trunk(&self, ids: &Tensor, mode: Kernels, start: usize, mut cache: Option<&mut KvCache>) -> Result<Tensor> {
        let (b, t) = ids.dims2()?;
        let mut x = self.embed.index_select(&ids.flatten_all()?, 0)?.reshape((b, t, self.cfg.hidden_size))?;
        let (cos, sin) = self.rope_tables(start, t)?;
        let (cos, sin) = match mode {
            Kernels::Train if !self.use_fused() => (full_width(&cos)?, full_width(&sin)?),
            _ => (cos, sin),
        };
        // The fused softmax masks in its kernel; the plain ops add this mask.
        let mask = if t > 1 && !self.use_fused() { Some(self.causal_mask(start, t)?) } else { None };
        for (i, blk) in self.blocks.iter().enumerate() {
            let slot = cache.as_deref_mut().map(|c| &mut c.layers[i]);
            let hn = self.rms_norm(&x, &blk.input_norm, mode)?;
            let attn = self.attention(&blk.attn, &hn, &cos, &sin, mask.as_ref(), slot, mode)?;
            x = (x + attn)?;
            let hn = self.rms_norm(&x, &blk.post_norm, mode)?;
            x = (&x + self.mlp(&blk.mlp, &hn)?)?;
        }
        self.rms_norm(&x, &self.norm, mode)
    }

    /// Final hidden states (after the last norm) `[B, T, hidden]` for all positions.
    pub fn hidden_states(&self, ids: &Tensor, mode: Kernels) -> Result<Tensor> {
        self.trunk(ids, mode, 0, None)
    }

    /// Final hidden states `[B, T, hidden]` of `ids` `[B, T]` continuing a shared prefix whose
    /// keys and values are in `prefix` (computed once at batch size 1 with [`Decoder::forward_step`]):
    /// every row sees the prefix, positions start after it. Fast kernels.
    pub fn hidden_states_after(&self, ids: &Tensor, prefix: &KvCache) -> Result<Tensor> {
        let b = ids.dim(0)?;
        let mut cache = KvCache::new(self.blocks.len());
        for (slot, layer) in cache.layers.iter_mut().zip(&prefix.layers) {
            if let Some((k, v)) = layer {
                let grow = |t: &Tensor| -> Result<Tensor> {
                    let (_, h, p, d) = t.dims4()?;
                    t.broadcast_as((b, h, p, d))?.contiguous()
                };
                *slot = Some((grow(k)?, grow(v)?));
            }
        }
        self.trunk(ids, Kernels::Fast, prefix.len(), Some(&mut cache))
    }

    /// Projects hidden states `[.., hidden]` to logits `[.., vocab]`.
    pub fn project(&self, hidden: &Tensor) -> Result<Tensor> {
        let dims = hidden.dims().to_vec();
        let h = *dims.last().unwrap_or(&0);
        let rows = hidden.elem_count() / h.max(1);
        let logits = hidden.reshape((rows, h))?.matmul(&self.lm_head.t()?)?;
        let mut out = dims;
        *out.last_mut().unwrap() = self.cfg.vocab_size;
        logits.reshape(out)
    }

    /// Causal forward: ids `[B, T]` (u32) -> logits `[B, T, vocab]` for every position.
    pub fn forward(&self, ids: &Tensor, mode: Kernels) -> Result<Tensor> {
        self.project(&self.hidden_states(ids, mode)?)
    }

    /// Incremental forward with a KV cache (fast kernels): `ids` `[B, T]` are the tokens at
    /// positions `start_pos..start_pos+T`; returns the last position's logits `[B, vocab]`.
    pub fn forward_step(&self, ids: &Tensor, cache: &mut KvCache, start_pos: usize) -> Result<Tensor> {
        if cache.layers.len() != self.blocks.len() {
            *cache = KvCache::new(self.blocks.len());
        }
        if cache.len() != start_pos {
            candle_core::bail!("forward_step: start_pos {start_pos} does not match {} cached positions", cache.len());
        }
        let h = self.trunk(ids, Kernels::Fast, start_pos, Some(cache))?;
        let t = h.dim(1)?;
        self.project(&h.narrow(1, t - 1, 1)?.squeeze(1)?)
    }

    /// Fresh cache sized for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache::new(self.blocks.len())
    }
}
