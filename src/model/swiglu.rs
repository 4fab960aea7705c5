//! The Llama MLP's gating, `silu(gate) * up`, as one parallel CPU op with its own backward pass
//! (candle's `silu` and product run on the calling thread and put two more nodes, with their
//! gradient buffers, in the graph). `tests/fused_ops.rs` checks it against the plain ops.

use super::fused::{Real, dispatch, slice};
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
        let go = go.contiguous()?;
        let ((gs, gl), (us, ul), (os, ol)) =
            (gate.storage_and_layout(), up.storage_and_layout(), go.storage_and_layout());
        let (candle_core::Storage::Cpu(gs), candle_core::Storage::Cpu(us), candle_core::Storage::Cpu(os)) =
            (&*gs, &*us, &*os)
        else {
            bail!("fused kernel: CPU tensors only")
        };
        fn typed<T: Real>(
            (gs, gl): (&CpuStorage, &Layout),
            (us, ul): (&CpuStorage, &Layout),
            (os, ol): (&CpuStorage, &Layout),
        ) -> Result<(Tensor, Tensor)> {
            let (g, u, go) = (slice::<T>(gs, gl)?, slice::<T>(us, ul)?, slice::<T>(os, ol)?);
            let (mut dg, mut du) = (vec![T::zero(); g.len()], vec![T::zero(); g.len()]);
            dg.par_chunks_mut(ELEMWISE_CHUNK)
                .zip(du.par_chunks_mut(ELEMWISE_CHUNK))
                .zip(g.par_chunks(ELEMWISE_CHUNK).zip(u.par_chunks(ELEMWISE_CHUNK)).zip(go.par_chunks(ELEMWISE_CHUNK)))
                .for_each(|((dg, du), ((g, u), go))| {
                    for ((((dg, du), &g), &u), &go) in dg.iter_mut().zip(du.iter_mut()).zip(g).zip(u).zip(go) {
                        let s = sigmoid(g);
                        *dg = go * u * s * (T::one() + g * (T::one() - s));
                        *du = go * g * s;
                    }
                });
            let cpu = &Device::Cpu;
            Ok((Tensor::from_vec(dg, gl.shape(), cpu)?, Tensor::from_vec(du, ul.shape(), cpu)?))
        }
        let (dg, du) = dispatch!(gs, typed((gs, gl), (us, ul), (os, ol)))?;
        Ok((Some(dg), Some(du)))
    }
}
