//! AdamW with decoupled weight decay on matrices only, warmup + cosine learning rate, and
//! global-norm gradient clipping.

use anyhow::{Context, Result, bail};
use candle_core::{CpuStorage, DType, Device, InplaceOp2, InplaceOp3, Layout, Tensor, Var};
use rayon::prelude::*;
use std::collections::HashMap;

/// AdamW hyper-parameters (PyTorch semantics).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AdamWParams {
    /// First-moment decay.
    pub beta1: f64,
    /// Second-moment decay.
    pub beta2: f64,
    /// Added to the root of the second moment.
    pub eps: f64,
    /// Decoupled weight decay, applied to matrices only (not to norm weights and biases).
    pub weight_decay: f64,
}

impl Default for AdamWParams {
    fn default() -> Self {
        AdamWParams { beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.01 }
    }
}

/// AdamW over named variables; moments are kept in f32 whatever the parameter dtype. f32 CPU
/// parameters are updated in place in three parallel passes (first moment, second moment,
/// parameter); other dtypes and devices go through tensor ops.
pub struct AdamW {
    /// (name, variable) in a fixed order.
    vars: Vec<(String, Var)>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    /// Optimizer steps taken.
    pub step: usize,
    /// Hyper-parameters.
    pub params: AdamWParams,
}

impl AdamW {
    /// A fresh optimizer (zero moments) over `vars`.
    pub fn new(vars: Vec<(String, Var)>, params: AdamWParams) -> Result<AdamW> {
        let zeros = |v: &Var| Tensor::zeros(v.shape(), DType::F32, v.device());
        let m = vars.iter().map(|(_, v)| zeros(v)).collect::<candle_core::Result<Vec<_>>>()?;
        let v = vars.iter().map(|(_, v)| zeros(v)).collect::<candle_core::Result<Vec<_>>>()?;
        Ok(AdamW { vars, m, v, step: 0, params })
    }

    /// The variables, in update order.
    pub fn vars(&self) -> &[(String, Var)] {
        &self.vars
    }

    /// Whether the variable gets weight decay: matrices (embeddings and projections) do, vectors
    /// (norm weights, biases) do not.
    pub fn decays(var: &Var) -> bool {
        var.rank() >= 2
    }

    /// One update with gradients `grads` (aligned with [`AdamW::vars`]) at learning rate `lr`.
    pub fn update(&mut self, grads: &[Tensor], lr: f64) -> Result<()> {
        if grads.len() != self.vars.len() {
            bail!("AdamW: {} gradients for {} variables", grads.len(), self.vars.len());
        }
        self.step += 1;
        let AdamWParams { beta1: b1, beta2: b2, eps, weight_decay: wd } = self.params;
        let bc1 = 1.0 - b1.powi(self.step as i32);
        let bc2 = 1.0 - b2.powi(self.step as i32);
        for (i, ((_, var), g)) in self.vars.iter().zip(grads).enumerate() {
            let decay = if wd > 0.0 && Self::decays(var) { lr * wd } else { 0.0 };
            if in_place_applies(var, g) {
                // Three parallel passes over the moments and the parameter, no temporaries.
                let g = g.contiguous()?;
                self.m[i].inplace_op2(&g, &Moment { beta: b1 as f32, squared: false })?;
                self.v[i].inplace_op2(&g, &Moment { beta: b2 as f32, squared: true })?;
                let step = Step {
                    lr_bc1: (lr / bc1) as f32,
                    inv_bc2: (1.0 / bc2) as f32,
                    eps: eps as f32,
                    keep: (1.0 - decay) as f32,
                };
                var.as_tensor().inplace_op3(&self.m[i], &self.v[i], &step)?;
                continue;
            }
            let g = g.to_dtype(DType::F32)?;
            let m = ((&self.m[i] * b1)? + (&g * (1.0 - b1))?)?;
            let v = ((&self.v[i] * b2)? + (g.sqr()? * (1.0 - b2))?)?;
            let step = ((&m * (lr / bc1))? / ((&v * (1.0 / bc2))?.sqrt()? + eps)?)?;
            let p = var.as_tensor().detach().to_dtype(DType::F32)?;
            let p = if decay > 0.0 { (p * (1.0 - decay))? } else { p };
            var.set(&(p - step)?.to_dtype(var.dtype())?)?;
            self.m[i] = m;
            self.v[i] = v;
        }
        Ok(())
    }

    /// Moments as named tensors (`m.NAME`, `v.NAME`) for saving. They share storage with the
    /// moments, which the next update changes in place: serialise them before it.
    pub fn state_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * self.vars.len());
        for (i, (name, _)) in self.vars.iter().enumerate() {
            out.push((format!("m.{name}"), self.m[i].clone()));
            out.push((format!("v.{name}"), self.v[i].clone()));
        }
        out
    }

    /// Restores moments saved by [`AdamW::state_tensors`] and the step count.
    pub fn load_state(&mut self, mut tensors: HashMap<String, Tensor>, step: usize, device: &Device) -> Result<()> {
        for (i, (name, var)) in self.vars.iter().enumerate() {
            for (key, slot) in [(format!("m.{name}"), &mut self.m[i]), (format!("v.{name}"), &mut self.v[i])] {
                let t = tensors.remove(&key).with_context(|| format!("optimizer state has no `{key}`"))?;
                if t.dims() != var.dims() {
                    bail!("optimizer state `{key}` has shape {:?}, expected {:?}", t.dims(), var.dims());
                }
                *slot = t.to_dtype(DType::F32)?.to_device(device)?;
            }
        }
        self.step = step;
        Ok(())
    }
}

/// Whether [`AdamW::update`] can update `var` in place: f32 on the CPU, contiguous, with an f32
/// gradient of the same shape (the moments always are). Other cases take the tensor-op path.
fn in_place_applies(var: &Var, g: &Tensor) -> bool {
    var.device().is_cpu()
        && var.dtype() == DType::F32
        && g.dtype() == DType::F32
        && var.is_contiguous()
        && g.dims() == var.dims()
}

/// The contiguous f32 data of a storage.
fn f32s<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(d), Some((lo, hi))) => Ok(&d[lo..hi]),
        _ => candle_core::bail!("AdamW: expected contiguous f32 storage"),
    }
}

/// Mutable counterpart of [`f32s`].
fn f32s_mut<'a>(s: &'a mut CpuStorage, l: &Layout) -> candle_core::Result<&'a mut [f32]> {
    match (s, l.contiguous_offsets()) {
        (CpuStorage::F32(d), Some((lo, hi))) => Ok(&mut d[lo..hi]),
        _ => candle_core::bail!("AdamW: expected contiguous f32 storage"),
    }
}

/// Elements per parallel chunk of the in-place passes.
const CHUNK: usize = 1 << 14;

/// `m = beta * m + (1 - beta) * g` (or `g^2`), in place on the moment.
struct Moment {
    beta: f32,
    squared: bool,
}

impl InplaceOp2 for Moment {
    fn name(&self) -> &'static str {
        "sift-adamw-moment"
    }

    fn cpu_fwd(&self, m: &mut CpuStorage, ml: &Layout, g: &CpuStorage, gl: &Layout) -> candle_core::Result<()> {
        let (m, g) = (f32s_mut(m, ml)?, f32s(g, gl)?);
        let (b, c) = (self.beta, 1.0 - self.beta);
        m.par_chunks_mut(CHUNK).zip(g.par_chunks(CHUNK)).for_each(|(m, g)| {
            if self.squared {
                m.iter_mut().zip(g).for_each(|(m, &g)| *m = *m * b + g * g * c);
            } else {
                m.iter_mut().zip(g).for_each(|(m, &g)| *m = *m * b + g * c);
            }
        });
        Ok(())
    }
}

/// `p = keep * p - lr_bc1 * m / (sqrt(v * inv_bc2) + eps)`, in place on the parameter.
struct Step {
    lr_bc1: f32,
    inv_bc2: f32,
    eps: f32,
    keep: f32,
}

impl InplaceOp3 for Step {
    fn name(&self) -> &'static str {
        "sift-adamw-step"
    }

    fn cpu_fwd(
        &self,
        p: &mut CpuStorage,
        pl: &Layout,
        m: &CpuStorage,
        ml: &Layout,
        v: &CpuStorage,
        vl: &Layout,
    ) -> candle_core::Result<()> {
        let (p, m, v) = (f32s_mut(p, pl)?, f32s(m, ml)?, f32s(v, vl)?);
        p.par_chunks_mut(CHUNK).zip(m.par_chunks(CHUNK).zip(v.par_chunks(CHUNK))).for_each(|(p, (m, v))| {
            for ((p, &m), &v) in p.iter_mut().zip(m).zip(v) {
                *p = *p * self.keep - (m * self.lr_bc1) / ((v * self.inv_bc2).sqrt() + self.eps);
            }
        });
        Ok(())
    }
}

/// Learning rate for optimizer step `step` (0-based): linear warmup to `peak` over `warmup`
/// steps (the first step already gets `peak / warmup`), then cosine decay to `min_ratio * peak`
/// at `total` steps.
pub fn lr_at(step: usize, peak: f64, warmup: usize, total: usize, min_ratio: f64) -> f64 {
    if step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup).max(1);
    let progress = ((step - warmup) as f64 / span as f64).min(1.0);
    let cos = 0.5 * (1.0 + (std::f64::consts::PI * progress).cos());
    peak * (min_ratio + (1.0 - min_ratio) * cos)
}

/// Global L2 norm of all gradients.
pub fn global_norm(grads: &[Tensor]) -> Result<f64> {
    let mut sq = 0f64;
    for g in grads {
        sq += g.to_dtype(DType::F32)?.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
    }
    Ok(sq.sqrt())
}

/// Scales gradients so their global norm is at most `max_norm` (0 disables); returns the norm
/// before clipping (what HF logs as `grad_norm`).
pub fn clip_grad_norm(grads: &mut [Tensor], max_norm: f64) -> Result<f64> {
    let norm = global_norm(grads)?;
    if max_norm > 0.0 && norm > max_norm {
        let scale = max_norm / (norm + 1e-6);
        for g in grads.iter_mut() {
            *g = (&*g * scale)?;
        }
    }
    Ok(norm)
}
