//! Deterministic from-scratch initialisation and VarMap helpers for training.

use super::config::ModelConfig;
use super::decoder::Decoder;
use crate::rng::SplitMix64;
use candle_core::{DType, Device, Result, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use rayon::prelude::*;

/// How a parameter is initialised from scratch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// Normal(0, std).
    Normal(f64),
    /// All ones (norm weights).
    Ones,
    /// All zeros (biases).
    Zeros,
}

/// Every parameter of `cfg` as (HF name, shape, init), in a fixed order. Tied models have no
/// `lm_head.weight`.
pub fn param_specs(cfg: &ModelConfig) -> Vec<(String, Vec<usize>, Init)> {
    let (h, hd, i) = (cfg.hidden_size, cfg.head_dim, cfg.intermediate_size);
    let (q, kv) = (cfg.num_attention_heads * hd, cfg.num_key_value_heads * hd);
    let n = Init::Normal(0.02);
    let mut out = vec![("model.embed_tokens.weight".to_string(), vec![cfg.vocab_size, h], n)];
    for l in 0..cfg.num_hidden_layers {
        let p = format!("model.layers.{l}");
        let mut lin = |name: &str, o: usize, inp: usize, bias: bool| {
            out.push((format!("{p}.{name}.weight"), vec![o, inp], n));
            if bias {
                out.push((format!("{p}.{name}.bias"), vec![o], Init::Zeros));
            }
        };
        lin("self_attn.q_proj", q, h, cfg.qkv_bias());
        lin("self_attn.k_proj", kv, h, cfg.qkv_bias());
        lin("self_attn.v_proj", kv, h, cfg.qkv_bias());
        lin("self_attn.o_proj", h, q, cfg.o_bias());
        lin("mlp.gate_proj", i, h, cfg.mlp_bias);
        lin("mlp.up_proj", i, h, cfg.mlp_bias);
        lin("mlp.down_proj", h, i, cfg.mlp_bias);
        out.push((format!("{p}.input_layernorm.weight"), vec![h], Init::Ones));
        out.push((format!("{p}.post_attention_layernorm.weight"), vec![h], Init::Ones));
    }
    out.push(("model.norm.weight".to_string(), vec![h], Init::Ones));
    if !cfg.tie_word_embeddings {
        out.push(("lm_head.weight".to_string(), vec![cfg.vocab_size, h], n));
    }
    out
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// Normal(0, std) values via Box-Muller from a stream keyed by (seed, name).
fn normal_values(seed: u64, name: &str, n: usize, std: f64) -> Vec<f64> {
    let mut rng = SplitMix64(seed ^ fnv1a(name));
    let mut out = Vec::with_capacity(n + 1);
    while out.len() < n {
        let (u1, u2) = (rng.next_unit(), rng.next_unit());
        let r = (-2.0 * u1.ln()).sqrt() * std;
        let th = 2.0 * std::f64::consts::PI * u2;
        out.push(r * th.cos());
        out.push(r * th.sin());
    }
    out.truncate(n);
    out
}

/// Deterministic fresh weights for `cfg` (normal(0, 0.02) matrices, ones for norms, zeros for
/// biases). The same seed always gives the same weights, whatever the thread count.
pub fn init_weights(cfg: &ModelConfig, seed: u64, dtype: DType, device: &Device) -> Result<Vec<(String, Tensor)>> {
    param_specs(cfg)
        .into_par_iter()
        .map(|(name, shape, init)| {
            let t = match init {
                Init::Ones => Tensor::ones(shape, dtype, device)?,
                Init::Zeros => Tensor::zeros(shape, dtype, device)?,
                Init::Normal(std) => {
                    let n = shape.iter().product();
                    Tensor::from_vec(normal_values(seed, &name, n, std), shape, device)?.to_dtype(dtype)?
                }
            };
            Ok((name, t))
        })
        .collect()
}

/// Fresh trainable weights in a `VarMap` plus the decoder reading them (for training from
/// scratch). The decoder's tensors are the VarMap's variables.
pub fn init_varmap(cfg: &ModelConfig, seed: u64, dtype: DType, device: &Device) -> Result<(VarMap, Decoder)> {
    let varmap = VarMap::new();
    {
        let mut data = varmap.data().lock().expect("VarMap lock poisoned");
        for (name, t) in init_weights(cfg, seed, dtype, device)? {
            data.insert(name, Var::from_tensor(&t)?);
        }
    }
    let dec = Decoder::new(cfg, VarBuilder::from_varmap(&varmap, dtype, device))?;
    Ok((varmap, dec))
}

/// The VarMap's variables as (name, tensor) pairs sorted by name, e.g. for saving.
pub fn varmap_tensors(varmap: &VarMap) -> Vec<(String, Tensor)> {
    let data = varmap.data().lock().expect("VarMap lock poisoned");
    let mut out: Vec<(String, Tensor)> = data.iter().map(|(k, v)| (k.clone(), v.as_tensor().clone())).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
