//! The Llama MLP's gating, `silu(gate) * up`, as one parallel CPU op with its own backward pass
//! (candle's `silu` and product run on the calling thread and put two more nodes, with their
//! gradient buffers, in the graph). `tests/fused_ops.rs` checks it against the plain ops.

use super::fused::{Real, dispatch, slice, with_slices};
use candle_core::{CpuStorage, CustomOp2, Device, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

/// `silu(gate) * up` element-wise (the Llama MLP's gating), in one parallel pass; the backward
/// pass computes both gradients in one more.
pub fn swiglu(gate: &Tensor, up: &Tensor) -> Result<Tensor> {
    gate.contiguous()?.apply_op2(&up.contiguous()?, SwiGlu)
}

struct SwiGlu;

/// Elements per parallel task of the element-wise kernels.
const ELEMWISE_CHUNK: usize = 16 * 1024;

/// `sigmoid(x)`.
#[inline(always)]
fn sigmoid<T: Real>(x: T) -> T {
    T::one() / (T::one() + num_traits::Float::exp(-x))
}

impl CustomOp2 for SwiGlu {
    fn name(&self) -> &'static str {
        "sift-swiglu"
    }

    fn cpu_fwd(&self, gs: &CpuStorage, gl: &Layout, us: &CpuStorage, ul: &Layout) -> Result<(CpuStorage, Shape)> {
        if gl.shape() != ul.shape() {
            bail!("swiglu: gate {:?} against up {:?}", gl.shape(), ul.shape());
        }
        fn typed<T: Real>(gs: &CpuStorage, gl: &Layout, us: &CpuStorage, ul: &Layout) -> Result<(CpuStorage, Shape)> {
            let (g, u) = (slice::<T>(gs, gl)?, slice::<T>(us, ul)?);
            let mut out = vec![T::zero(); g.len()];
            out.par_chunks_mut(ELEMWISE_CHUNK)
                .zip(g.par_chunks(ELEMWISE_CHUNK).zip(u.par_chunks(ELEMWISE_CHUNK)))
                .for_each(|(o, (g, u))| {
                    for ((o, &g), &u) in o.iter_mut().zip(g).zip(u) {
                        *o = g * sigmoid(g) * u;
                    }
                });
            Ok((T::to_cpu_storage_owned(out), gl.shape().clone()))
        }
        dispatch!(gs, typed(gs, gl, us, ul))
    }

    /// `d gate = go · up · sigmoid(gate) (1 + gate (1 - sigmoid(gate)))`, `d up = go · silu(gate)`.
    fn bwd(&self, gate: &Tensor, up: &Tensor, _y: &Tensor, go: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        fn typed<T: Real>(gate: &Tensor, up: &Tensor, go: &Tensor) -> Result<(Tensor, Tensor)> {
            let (dg, du) = with_slices::<T, _, 3>([gate, up, go], |[g, u, go]| {
                let (mut dg, mut du) = (vec![T::zero(); g.len()], vec![T::zero(); g.len()]);
                dg.par_chunks_mut(ELEMWISE_CHUNK)
                    .zip(du.par_chunks_mut(ELEMWISE_CHUNK))
                    .zip(
                        g.par_chunks(ELEMWISE_CHUNK)
                            .zip(u.par_chunks(ELEMWISE_CHUNK))
                            .zip(go.par_chunks(ELEMWISE_CHUNK)),
                    )
                    .for_each(|((dg, du), ((g, u), go))| {
                        for ((((dg, du), &g), &u), &go) in dg.iter_mut().zip(du.iter_mut()).zip(g).zip(u).zip(go) {
                            let s = sigmoid(g);
                            *dg = go * u * s * (T::one() + g * (T::one() - s));
                            *du = go * g * s;
                        }
                    });
                (dg, du)
            })?;
            Ok((Tensor::from_vec(dg, gate.shape(), &Device::Cpu)?, Tensor::from_vec(du, up.shape(), &Device::Cpu)?))
        }
        let (dg, du) = dispatch!(dtype gate.dtype(), typed(gate, up, &go.contiguous()?))?;
        Ok((Some(dg), Some(du)))
    }
}
