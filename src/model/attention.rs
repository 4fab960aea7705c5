//! Causal self-attention as one CPU op with its own backward pass.
//!
//! Built from tensor ops, attention puts a `[B, H, T, Tk]` score tensor and its probabilities in
//! the autograd graph, and every node there costs a gradient buffer that candle zeroes and adds
//! into on the calling thread while the matmul threads wait. This op works one (sequence,
//! key/value head) at a time, in parallel: scores, causal softmax and the product with the values
//! stay in a per-thread `[T, Tk]` buffer that fits in cache, and the backward pass recomputes the
//! probabilities instead of keeping them. It writes its output with the heads already merged,
//! `[B, T, H * D]`, ready for the output projection. Grouped-query attention shares each key/value
//! head among its query heads without copying it.
//!
//! `tests/fused_ops.rs` checks values and gradients against the same maths in plain tensor ops.

use super::fused::{Real, dispatch, gemm_at, slice, with_slices};
use candle_core::{CpuStorage, CustomOp3, Device, Layout, Result, Shape, Tensor, bail};
use rayon::prelude::*;

/// `softmax(scale · q kᵀ + causal mask) · v` for `q` `[B, H, T, D]` and `k`, `v` `[B, Hkv, Tk, D]`
/// (`H` a multiple of `Hkv`; query head `h` reads key/value head `h / (H / Hkv)`), returned as
/// `[B, T, H * D]`. The queries are the last `T` of `Tk` positions (as after a KV cache): query `i`
/// sees keys `j <= i + Tk - T`. f32 or f64 CPU tensors.
pub fn causal_attention(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Result<Tensor> {
    q.contiguous()?.apply_op3(&k.contiguous()?, &v.contiguous()?, CausalAttention { scale })
}

struct CausalAttention {
    scale: f64,
}

/// Sizes of one attention call.
#[derive(Clone, Copy)]
struct Dims {
    b: usize,
    nh: usize,
    nkv: usize,
    t: usize,
    tk: usize,
    hd: usize,
}

impl Dims {
    fn of(q: &Shape, k: &Shape, v: &Shape) -> Result<Dims> {
        let (b, nh, t, hd) = q.dims4()?;
        let (bk, nkv, tk, hdk) = k.dims4()?;
        if v != k || bk != b || hdk != hd || nkv == 0 || !nh.is_multiple_of(nkv) || tk < t || hd == 0 {
            bail!("causal_attention: queries {q:?} against keys {k:?} and values {v:?}");
        }
        Ok(Dims { b, nh, nkv, t, tk, hd })
    }

    /// Query heads per key/value head.
    fn rep(&self) -> usize {
        self.nh / self.nkv
    }

    /// Elements between consecutive positions of one head in the merged `[B, T, H * D]` layout.
    fn row(&self) -> usize {
        self.nh * self.hd
    }
}

/// A pointer the parallel tasks share; each writes only its own (disjoint) part.
#[derive(Clone, Copy)]
struct Shared<T>(*mut T);
// SAFETY: tasks write disjoint regions (see the callers), and the buffer outlives the loop.
unsafe impl<T> Send for Shared<T> {}
unsafe impl<T> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// The pointer `offset` elements in (a method, so closures capture the whole `Shared`).
    fn at(self, offset: usize) -> *mut T {
        // SAFETY: callers stay inside the buffer.
        unsafe { self.0.add(offset) }
    }
}

/// The product of two slices into a buffer on this thread: `dst [m, n] (+)= a · b`.
fn gemm_local<T: Real>(
    dims: (usize, usize, usize),
    dst: (*mut T, usize),
    accumulate: bool,
    a: (&[T], (usize, usize)),
    b: (&[T], (usize, usize)),
) {
    // SAFETY: every caller passes a destination it alone writes (a thread-local buffer, or its
    // task's disjoint part of a shared output), large enough for `dims`.
    unsafe { gemm_at(dims, dst, accumulate, a, b, 1) }
}

/// `p [T, Tk] = softmax(scale · q kᵀ + causal mask)` row by row; masked entries are exactly 0.
fn probabilities<T: Real>(q: &[T], k: &[T], p: &mut [T], d: Dims, scale: T) {
    gemm_local((d.t, d.tk, d.hd), (p.as_mut_ptr(), d.tk), false, (q, (d.hd, 1)), (k, (1, d.hd)));
    let offset = d.tk - d.t;
    for (i, row) in p.chunks_mut(d.tk).enumerate() {
        let (seen, masked) = row.split_at_mut(i + offset + 1);
        let m = seen.iter().fold(T::neg_infinity(), |a, &x| num_traits::Float::max(a, x * scale));
        let mut sum = T::zero();
        for x in seen.iter_mut() {
            *x = (*x * scale - m).exp_np();
            sum += *x;
        }
        let inv = T::one() / sum;
        seen.iter_mut().for_each(|x| *x *= inv);
        masked.iter_mut().for_each(|x| *x = T::zero());
    }
}

/// The slices of head `h`'s queries and of key/value head `g`'s keys and values in sequence `bi`.
fn head<T>(x: &[T], bi: usize, heads: usize, h: usize, len: usize, hd: usize) -> &[T] {
    &x[((bi * heads + h) * len) * hd..][..len * hd]
}

fn forward<T: Real>(q: &[T], k: &[T], v: &[T], d: Dims, scale: f64) -> Vec<T> {
    let scale = T::from(scale).unwrap_or(T::one());
    let mut out = vec![T::zero(); d.b * d.t * d.row()];
    let dst = Shared(out.as_mut_ptr());
    (0..d.b * d.nkv).into_par_iter().for_each_init(
        || vec![T::zero(); d.t * d.tk],
        |p, task| {
            let (bi, g) = (task / d.nkv, task % d.nkv);
            let (kg, vg) = (head(k, bi, d.nkv, g, d.tk, d.hd), head(v, bi, d.nkv, g, d.tk, d.hd));
            for h in g * d.rep()..(g + 1) * d.rep() {
                probabilities(head(q, bi, d.nh, h, d.t, d.hd), kg, p, d, scale);
                // Head h's rows of the merged output: out[bi, i, h, :], one position apart.
                let o = dst.at(bi * d.t * d.row() + h * d.hd);
                gemm_local((d.t, d.hd, d.tk), (o, d.row()), false, (p, (d.tk, 1)), (vg, (d.hd, 1)));
            }
        },
    );
    out
}

/// Gradients for q, k and v from the output's gradient `go` `[B, T, H * D]`.
fn backward<T: Real>(q: &[T], k: &[T], v: &[T], go: &[T], d: Dims, scale: f64) -> [Vec<T>; 3] {
    let scale = T::from(scale).unwrap_or(T::one());
    let (mut gq, mut gk, mut gv) = (vec![T::zero(); q.len()], vec![T::zero(); k.len()], vec![T::zero(); v.len()]);
    let (dq, dk, dv) = (Shared(gq.as_mut_ptr()), Shared(gk.as_mut_ptr()), Shared(gv.as_mut_ptr()));
    let offset = d.tk - d.t;
    (0..d.b * d.nkv).into_par_iter().for_each_init(
        || (vec![T::zero(); d.t * d.tk], vec![T::zero(); d.t * d.tk]),
        |(p, dp), task| {
            let (bi, g) = (task / d.nkv, task % d.nkv);
            let (kg, vg) = (head(k, bi, d.nkv, g, d.tk, d.hd), head(v, bi, d.nkv, g, d.tk, d.hd));
            // This task alone writes key/value head g of sequence bi, and its query heads.
            let kv_at = (bi * d.nkv + g) * d.tk * d.hd;
            for (r, h) in (g * d.rep()..(g + 1) * d.rep()).enumerate() {
                let qh = head(q, bi, d.nh, h, d.t, d.hd);
                probabilities(qh, kg, p, d, scale);
                let go_h = (&go[bi * d.t * d.row() + h * d.hd..], (d.row(), 1));
                // dv += pᵀ · go_h; dp = go_h · vᵀ.
                gemm_local((d.tk, d.hd, d.t), (dv.at(kv_at), d.hd), r > 0, (p, (1, d.tk)), go_h);
                gemm_local((d.t, d.tk, d.hd), (dp.as_mut_ptr(), d.tk), false, go_h, (vg, (1, d.hd)));
                // ds = scale · p ⊙ (dp - rowsum(dp ⊙ p)), into dp (0 where masked, as p).
                for (i, (pr, dr)) in p.chunks(d.tk).zip(dp.chunks_mut(d.tk)).enumerate() {
                    let n = i + offset + 1;
                    let dot: T = pr[..n].iter().zip(&dr[..n]).map(|(&a, &b)| a * b).sum();
                    for (x, &pj) in dr[..n].iter_mut().zip(&pr[..n]) {
                        *x = scale * pj * (*x - dot);
                    }
                    dr[n..].iter_mut().for_each(|x| *x = T::zero());
                }
                // dq_h = ds · k; dk += dsᵀ · q_h.
                let q_at = (bi * d.nh + h) * d.t * d.hd;
                gemm_local((d.t, d.hd, d.tk), (dq.at(q_at), d.hd), false, (dp, (d.tk, 1)), (kg, (d.hd, 1)));
                gemm_local((d.tk, d.hd, d.t), (dk.at(kv_at), d.hd), r > 0, (dp, (1, d.tk)), (qh, (d.hd, 1)));
            }
        },
    );
    [gq, gk, gv]
}

impl CustomOp3 for CausalAttention {
    fn name(&self) -> &'static str {
        "sift-causal-attention"
    }

    fn cpu_fwd(
        &self,
        qs: &CpuStorage,
        ql: &Layout,
        ks: &CpuStorage,
        kl: &Layout,
        vs: &CpuStorage,
        vl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let d = Dims::of(ql.shape(), kl.shape(), vl.shape())?;
        fn typed<T: Real>(
            (qs, ql): (&CpuStorage, &Layout),
            (ks, kl): (&CpuStorage, &Layout),
            (vs, vl): (&CpuStorage, &Layout),
            d: Dims,
            scale: f64,
        ) -> Result<CpuStorage> {
            let out = forward(slice::<T>(qs, ql)?, slice::<T>(ks, kl)?, slice::<T>(vs, vl)?, d, scale);
            Ok(T::to_cpu_storage_owned(out))
        }
        let out = dispatch!(qs, typed((qs, ql), (ks, kl), (vs, vl), d, self.scale))?;
        Ok((out, Shape::from((d.b, d.t, d.row()))))
    }

    fn bwd(
        &self,
        q: &Tensor,
        k: &Tensor,
        v: &Tensor,
        _out: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = Dims::of(q.shape(), k.shape(), v.shape())?;
        fn typed<T: Real>(q: &Tensor, k: &Tensor, v: &Tensor, g: &Tensor, d: Dims, scale: f64) -> Result<[Tensor; 3]> {
            let [gq, gk, gv] = with_slices::<T, _, 4>([q, k, v, g], |[q, k, v, g]| backward(q, k, v, g, d, scale))?;
            let cpu = &Device::Cpu;
            Ok([
                Tensor::from_vec(gq, q.shape(), cpu)?,
                Tensor::from_vec(gk, k.shape(), cpu)?,
                Tensor::from_vec(gv, v.shape(), cpu)?,
            ])
        }
        let [gq, gk, gv] = dispatch!(dtype q.dtype(), typed(q, k, v, &g.contiguous()?, d, self.scale))?;
        Ok((Some(gq), Some(gk), Some(gv)))
    }
}
