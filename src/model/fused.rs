//! Fused CPU kernels that also have a backward pass, for training.
//!
//! candle's own fused `softmax_last_dim`, `rms_norm` and `rope` cannot be differentiated, and the
//! same maths built from plain tensor ops keeps every intermediate (shifted scores, exponentials,
//! squares, ...) alive until the backward pass. These custom ops compute each function in one pass
//! and keep only their input (and output), with hand-written gradients:
//!
//! - [`rms_norm`]: `x / sqrt(mean(x^2) + eps) * w`;
//! - [`rope`]: HF "rotate half" rotary embedding (its gradient is the inverse rotation);
//! - [`linear`]: a linear layer's product, written once, with its gradients in the operands' layouts;
//! - [`linear_nll_sum`]: output projection and summed NLL (`logsumexp(logits_i) - logits_i[t_i]`)
//!   in row chunks, without whole logits or a log-softmax copy.
//!
//! Causal attention ([`super::attention`]) and the MLP's gating ([`swiglu`], from
//! [`super::swiglu`]) have their own files. Kernels run on contiguous f32 or f64 CPU tensors;
//! [`supported`] says when they apply.
//! `tests/fused_ops.rs` checks each against the same maths in plain tensor ops (values and
//! gradients, f64 and f32); `tests/model_grad.rs` checks the model built on them against finite
//! differences in f64.

use super::logprobs::{exp_nonpos, log_sum_exp};
pub use super::swiglu::swiglu;
use candle_core::{CpuStorage, CustomOp2, CustomOp3, DType, Device, Layout, Result, Shape, Tensor};
use candle_core::{WithDType, bail};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

static DISABLED: AtomicBool = AtomicBool::new(false);

/// Turns the fused training kernels off (`false`) or back on, process-wide: the training path
/// then uses the plain tensor-op versions. For side-by-side benchmarks.
pub fn set_enabled(on: bool) {
    DISABLED.store(!on, Ordering::Relaxed);
}

/// Whether the fused training kernels handle tensors of this dtype on this device (and are on).
pub fn supported(device: &Device, dtype: DType) -> bool {
    device.is_cpu() && matches!(dtype, DType::F32 | DType::F64) && !DISABLED.load(Ordering::Relaxed)
}

/// Float types the kernels run on.
pub(super) trait Real:
    WithDType + num_traits::Float + num_traits::NumAssign + Send + Sync + std::iter::Sum
{
    /// `exp(x)` for `x <= 0`.
    fn exp_np(self) -> Self;
    /// Log-sum-exp of a row.
    fn lse(row: &[Self]) -> Self;
}

impl Real for f32 {
    #[inline(always)]
    fn exp_np(self) -> f32 {
        exp_nonpos(self)
    }
    fn lse(row: &[f32]) -> f32 {
        log_sum_exp(row)
    }
}

impl Real for f64 {
    #[inline(always)]
    fn exp_np(self) -> f64 {
        self.exp()
    }
    fn lse(row: &[f64]) -> f64 {
        let m = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        if !m.is_finite() {
            return m;
        }
        m + row.iter().map(|&x| (x - m).exp()).sum::<f64>().ln()
    }
}

/// The contiguous slice of a storage.
pub(super) fn slice<'a, T: WithDType>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((lo, hi)) => Ok(&s.as_slice::<T>()?[lo..hi]),
        None => bail!("fused kernel: input is not contiguous"),
    }
}

/// Runs `f` on the data of contiguous CPU tensors of element type `T` (a backward pass's
/// inputs), holding their storages for the call.
pub(super) fn with_slices<T: Real, R, const N: usize>(ts: [&Tensor; N], f: impl FnOnce([&[T]; N]) -> R) -> Result<R> {
    let guards = ts.map(|t| t.storage_and_layout());
    let mut data = Vec::with_capacity(N);
    for (storage, layout) in &guards {
        let candle_core::Storage::Cpu(s) = &**storage else { bail!("fused kernel: CPU tensors only") };
        data.push(slice::<T>(s, layout)?);
    }
    Ok(f(data.try_into().unwrap_or_else(|_| unreachable!("one slice per tensor"))))
}

/// A tensor of `x`'s shape whose rows of `width` are computed by `f(row index, input row,
/// output row)` in parallel: the loop every kernel here shares.
fn map_rows<T: Real>(
    x: &[T],
    shape: &Shape,
    width: usize,
    f: impl Fn(usize, &[T], &mut [T]) + Sync,
) -> (CpuStorage, Shape) {
    let mut out = vec![T::zero(); x.len()];
    out.par_chunks_mut(width).zip(x.par_chunks(width)).enumerate().for_each(|(r, (o, row))| f(r, row, o));
    (T::to_cpu_storage_owned(out), shape.clone())
}

/// Runs `$f::<T>` for the storage's float type.
macro_rules! dispatch {
    (dtype $d:expr, $f:ident ( $($a:expr),* )) => {
        match $d {
            candle_core::DType::F32 => $f::<f32>($($a),*),
            candle_core::DType::F64 => $f::<f64>($($a),*),
            d => candle_core::bail!("fused kernel: only f32 and f64 are supported, not {d:?}"),
        }
    };
    ($s:expr, $f:ident ( $($a:expr),* )) => {
        match $s {
            CpuStorage::F32(_) => $f::<f32>($($a),*),
            CpuStorage::F64(_) => $f::<f64>($($a),*),
            _ => candle_core::bail!("fused kernel: only f32 and f64 are supported"),
        }
    };
}
pub(super) use dispatch;

// ---------------------------------------------------------------- RMS norm

/// `x / sqrt(mean(x^2, -1) + eps) * w` with `w` of the last dim's size.
pub fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
    x.contiguous()?.apply_op2(&w.contiguous()?, RmsNorm { eps })
}

struct RmsNorm {
    eps: f64,
}

fn rms_fwd<T: Real>(
    xs: &CpuStorage,
    xl: &Layout,
    ws: &CpuStorage,
    wl: &Layout,
    eps: f64,
) -> Result<(CpuStorage, Shape)> {
    let (x, w) = (slice::<T>(xs, xl)?, slice::<T>(ws, wl)?);
    let d = w.len();
    if *xl.dims().last().unwrap_or(&0) != d {
        bail!("rms_norm: weight of {d} for rows of {:?}", xl.dims());
    }
    let (eps, n) = (T::from(eps).unwrap_or(T::zero()), T::from(d).unwrap_or(T::one()));
    Ok(map_rows(x, xl.shape(), d, |_, row, o| {
        let ms: T = row.iter().map(|&v| v * v).sum::<T>() / n;
        let r = T::one() / (ms + eps).sqrt();
        for ((oj, &xj), &wj) in o.iter_mut().zip(row).zip(w) {
            *oj = xj * r * wj;
        }
    }))
}

impl CustomOp2 for RmsNorm {
    fn name(&self) -> &'static str {
        "sift-rms-norm"
    }

    fn cpu_fwd(&self, xs: &CpuStorage, xl: &Layout, ws: &CpuStorage, wl: &Layout) -> Result<(CpuStorage, Shape)> {
        dispatch!(xs, rms_fwd(xs, xl, ws, wl, self.eps))
    }

    /// With `r = 1/sqrt(mean(x^2) + eps)`, `xh = x r` and `u = g w`:
    /// `dx = r (u - xh mean(u xh))` and `dw = sum over rows of g xh`, in one parallel pass over
    /// the rows (per-chunk sums for `dw`).
    fn bwd(&self, x: &Tensor, w: &Tensor, _y: &Tensor, g: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        fn typed<T: Real>(x: &Tensor, w: &Tensor, g: &Tensor, eps: f64) -> Result<(Tensor, Tensor)> {
            let (dx, dw) = with_slices::<T, _, 3>([x, w, g], |[x, w, g]| rms_bwd(x, w, g, eps))?;
            Ok((Tensor::from_vec(dx, x.shape(), &Device::Cpu)?, Tensor::from_vec(dw, w.shape(), &Device::Cpu)?))
        }
        let (dx, dw) = dispatch!(dtype x.dtype(), typed(x, w, &g.contiguous()?, self.eps))?;
        Ok((Some(dx), Some(dw)))
    }
}

/// The gradients of [`rms_norm`] for `x` and `w` from the output's gradient `g`.
fn rms_bwd<T: Real>(x: &[T], w: &[T], g: &[T], eps: f64) -> (Vec<T>, Vec<T>) {
    let d = w.len();
    let (eps, n) = (T::from(eps).unwrap_or(T::zero()), T::from(d).unwrap_or(T::one()));
    let rows = x.len() / d.max(1);
    let chunk = rows.div_ceil(4 * rayon::current_num_threads()).max(1) * d;
    let mut dx = vec![T::zero(); x.len()];
    let partial: Vec<Vec<T>> = dx
        .par_chunks_mut(chunk)
        .zip(x.par_chunks(chunk).zip(g.par_chunks(chunk)))
        .map(|(dxc, (xc, gc))| {
            let mut dw = vec![T::zero(); d];
            for (dxr, (xr, gr)) in dxc.chunks_mut(d).zip(xc.chunks(d).zip(gc.chunks(d))) {
                let r = T::one() / (xr.iter().map(|&v| v * v).sum::<T>() / n + eps).sqrt();
                // mean(u xh) = r mean(g w x).
                let m = r * xr.iter().zip(gr).zip(w).map(|((&xj, &gj), &wj)| gj * wj * xj).sum::<T>() / n;
                for ((((o, &xj), &gj), &wj), dwj) in dxr.iter_mut().zip(xr).zip(gr).zip(w).zip(dw.iter_mut()) {
                    let xh = xj * r;
                    *o = r * (gj * wj - xh * m);
                    *dwj += gj * xh;
                }
            }
            dw
        })
        .collect();
    let mut dw = vec![T::zero(); d];
    for p in &partial {
        dw.iter_mut().zip(p).for_each(|(a, &b)| *a += b);
    }
    (dx, dw)
}

// ---------------------------------------------------------------- rotary embedding

/// HF "rotate half" RoPE of `x` `[B, H, T, hd]` with `cos`/`sin` tables `[T, hd/2]`:
/// `x1' = x1 cos - x2 sin`, `x2' = x2 cos + x1 sin` for the two halves of each head.
pub fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op3(&cos.contiguous()?, &sin.contiguous()?, Rope { inverse: false })
}

/// A rotation by the tables' angles, or by their negatives (`inverse`, the transpose).
struct Rope {
    inverse: bool,
}

fn rope_fwd<T: Real>(
    (xs, xl): (&CpuStorage, &Layout),
    (cs, cl): (&CpuStorage, &Layout),
    (ss, sl): (&CpuStorage, &Layout),
    inverse: bool,
) -> Result<(CpuStorage, Shape)> {
    let (x, cos, sin) = (slice::<T>(xs, xl)?, slice::<T>(cs, cl)?, slice::<T>(ss, sl)?);
    let dims = xl.dims();
    if dims.len() != 4 {
        bail!("rope: expected [B, H, T, hd], got {dims:?}");
    }
    let (t, hd) = (dims[2], dims[3]);
    let half = hd / 2;
    if cos.len() != t * half || sin.len() != t * half || hd % 2 != 0 {
        bail!("rope: tables of {} for T {t} and head dim {hd}", cos.len());
    }
    Ok(map_rows(x, xl.shape(), hd, |r, v, o| {
        let p = r % t;
        let (c, s) = (&cos[p * half..(p + 1) * half], &sin[p * half..(p + 1) * half]);
        for i in 0..half {
            let sn = if inverse { -s[i] } else { s[i] };
            let (a, b) = (v[i], v[i + half]);
            o[i] = a * c[i] - b * sn;
            o[i + half] = b * c[i] + a * sn;
        }
    }))
}

impl CustomOp3 for Rope {
    fn name(&self) -> &'static str {
        "sift-rope"
    }

    fn cpu_fwd(
        &self,
        xs: &CpuStorage,
        xl: &Layout,
        cs: &CpuStorage,
        cl: &Layout,
        ss: &CpuStorage,
        sl: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        dispatch!(xs, rope_fwd((xs, xl), (cs, cl), (ss, sl), self.inverse))
    }

    fn bwd(
        &self,
        _x: &Tensor,
        cos: &Tensor,
        sin: &Tensor,
        _y: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let inv = Rope { inverse: !self.inverse };
        Ok((Some(g.contiguous()?.apply_op3_no_bwd(&cos.detach(), &sin.detach(), &inv)?), None, None))
    }
}

// ---------------------------------------------------------------- output projection + NLL in row chunks

/// Summed NLL of logits rows `x` `[len, V]` against `targets` (one log-sum-exp per row, rows
/// summed in order); with `grad`, each row becomes its gradient `softmax(row) - onehot(target)`
/// in place.
fn nll_rows<T: Real>(x: &mut [T], v: usize, targets: &[u32], grad: bool) -> f64 {
    let per_row: Vec<f64> = x
        .par_chunks_mut(v)
        .zip(targets.par_iter())
        .map(|(row, &t)| {
            let lse = T::lse(row);
            let nll = num_traits::ToPrimitive::to_f64(&(lse - row[t as usize])).unwrap_or(f64::NAN);
            if grad {
                for xj in row.iter_mut() {
                    *xj = num_traits::Float::min(*xj - lse, T::zero()).exp_np();
                }
                row[t as usize] -= T::one();
            }
            nll
        })
        .collect();
    per_row.iter().sum()
}

/// `dst [m, n] = a [m, k] · b [k, n]` (or `dst += a · b` with `accumulate`) for a row-major
/// `dst`, with `a` and `b` given as slices and (row stride, column stride) pairs, so that
/// transposed operands need no copy. The output is written, not zeroed first.
fn gemm_into<T: Real>(
    (m, n, k): (usize, usize, usize),
    dst: &mut [T],
    accumulate: bool,
    a: (&[T], (usize, usize)),
    b: (&[T], (usize, usize)),
) {
    assert!(dst.len() >= m * n, "gemm_into: destination too small");
    // SAFETY: `dst` holds m * n elements and, borrowed mutably, aliases neither operand.
    unsafe { gemm_raw((m, n, k), dst.as_mut_ptr(), accumulate, a, b) }
}

/// `a [m, k] · b [k, n]` as a new row-major vector, written once by the product (candle's
/// matmul zeroes its output first).
fn gemm_new<T: Real>((m, n, k): (usize, usize, usize), a: (&[T], (usize, usize)), b: (&[T], (usize, usize))) -> Vec<T> {
    if k == 0 {
        return vec![T::zero(); m * n];
    }
    let mut out = Vec::with_capacity(m * n);
    // SAFETY: the product writes all m * n elements (k > 0, no read of the destination)
    // through the raw pointer before the length is set; no reference to the uninitialised
    // memory is made.
    unsafe {
        gemm_raw((m, n, k), out.as_mut_ptr(), false, a, b);
        out.set_len(m * n);
    }
    out
}

/// The matrix product behind [`gemm_into`] and [`gemm_new`].
///
/// # Safety
/// `dst` must be valid for writes (and reads, with `accumulate`) of `m * n` elements and not
/// overlap `a` or `b`.
unsafe fn gemm_raw<T: Real>(
    (m, n, k): (usize, usize, usize),
    dst: *mut T,
    accumulate: bool,
    (a, (a_rs, a_cs)): (&[T], (usize, usize)),
    (b, (b_rs, b_cs)): (&[T], (usize, usize)),
) {
    let threads = candle_core::utils::get_num_threads();
    // SAFETY: the caller's promise, with `dst`'s rows `n` apart.
    unsafe { gemm_at((m, n, k), (dst, n), accumulate, (a, (a_rs, a_cs)), (b, (b_rs, b_cs)), threads) }
}

/// `dst [m, n] = a · b` (or `+=`) for a `dst` whose rows lie `dst_rs` elements apart, on
/// `threads` threads (1 runs it on the calling thread, for callers already inside a parallel
/// loop).
///
/// # Safety
/// `dst` must be valid for writes (and reads, with `accumulate`) of the `m` rows of `n` elements
/// `dst_rs` apart, not overlap `a` or `b`, and not be written by anyone else meanwhile.
pub(super) unsafe fn gemm_at<T: Real>(
    (m, n, k): (usize, usize, usize),
    (dst, dst_rs): (*mut T, usize),
    accumulate: bool,
    (a, (a_rs, a_cs)): (&[T], (usize, usize)),
    (b, (b_rs, b_cs)): (&[T], (usize, usize)),
    threads: usize,
) {
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    // The product reads only inside these bounds.
    assert!(a.len() > (m - 1) * a_rs + (k - 1) * a_cs, "gemm: left operand too small");
    assert!(b.len() > (k - 1) * b_rs + (n - 1) * b_cs, "gemm: right operand too small");
    let par = if threads > 1 { gemm::Parallelism::Rayon(threads) } else { gemm::Parallelism::None };
    // SAFETY: operand bounds are checked above; `dst` is the caller's promise.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rs as isize,
            accumulate,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            b_cs as isize,
            b_rs as isize,
            T::one(),
            T::one(),
            false,
            false,
            false,
            par,
        )
    }
}

/// The chunked head on typed slices: `h` `[N, H]`, `w` `[V, H]`. Returns the summed NLL and,
/// with `grad`, the gradients for `h` `[N, H]` and `w` `[V, H]`. One logits buffer of
/// `chunk` rows serves every chunk; its rows turn into the gradient rows in place.
fn head_chunks<T: Real>(
    h: &[T],
    w: &[T],
    hd: usize,
    targets: &[u32],
    chunk: usize,
    grad: bool,
) -> (f64, Vec<T>, Vec<T>) {
    let (n, v) = (targets.len(), w.len() / hd);
    let chunk = chunk.clamp(1, n.max(1));
    let mut buf = vec![T::zero(); chunk * v];
    let (mut gh, mut gw) = if grad { (vec![T::zero(); n * hd], vec![T::zero(); v * hd]) } else { (vec![], vec![]) };
    let mut loss = 0f64;
    for start in (0..n).step_by(chunk) {
        let len = chunk.min(n - start);
        let rows = &h[start * hd..(start + len) * hd];
        let g = &mut buf[..len * v];
        gemm_into((len, v, hd), g, false, (rows, (hd, 1)), (w, (1, hd)));
        loss += nll_rows(g, v, &targets[start..start + len], grad);
        if grad {
            gemm_into((len, hd, v), &mut gh[start * hd..(start + len) * hd], false, (g, (v, 1)), (w, (hd, 1)));
            gemm_into((v, hd, len), &mut gw, start > 0, (g, (1, v)), (rows, (hd, 1)));
        }
    }
    (loss, gh, gw)
}

/// [`head_chunks`] on CPU tensors (made contiguous); the gradients as tensors when asked for.
fn head_loss(
    h: &Tensor,
    w: &Tensor,
    targets: &[u32],
    chunk: usize,
    grad: bool,
) -> Result<(f64, Option<(Tensor, Tensor)>)> {
    let (hc, wc) = (h.detach().contiguous()?, w.detach().contiguous()?);
    let ((n, hd), (v, _)) = (hc.dims2()?, wc.dims2()?);
    if hc.dtype() != wc.dtype() {
        bail!("linear_nll_sum: hidden rows in {:?} against a projection in {:?}", hc.dtype(), wc.dtype());
    }
    fn typed<T: Real>(
        (hs, hl): (&CpuStorage, &Layout),
        (ws, wl): (&CpuStorage, &Layout),
        (n, hd, v): (usize, usize, usize),
        targets: &[u32],
        chunk: usize,
        grad: bool,
    ) -> Result<(f64, Option<(Tensor, Tensor)>)> {
        let (loss, gh, gw) = head_chunks(slice::<T>(hs, hl)?, slice::<T>(ws, wl)?, hd, targets, chunk, grad);
        if !grad {
            return Ok((loss, None));
        }
        Ok((loss, Some((Tensor::from_vec(gh, (n, hd), &Device::Cpu)?, Tensor::from_vec(gw, (v, hd), &Device::Cpu)?))))
    }
    let ((hs, hl), (ws, wl)) = (hc.storage_and_layout(), wc.storage_and_layout());
    let (candle_core::Storage::Cpu(hs), candle_core::Storage::Cpu(ws)) = (&*hs, &*ws) else {
        bail!("fused kernel: CPU tensors only")
    };
    dispatch!(hs, typed((hs, hl), (ws, wl), (n, hd, v), targets, chunk, grad))
}

/// `sum_i nll(softmax(h[i] · wᵀ), targets[i])` for hidden rows `h` `[N, H]` and the output
/// projection `w` `[V, H]`, computed `chunk_rows` rows at a time so that the `[N, V]` logits and
/// their gradient never exist whole (262 MB each for 2048 rows of a 32K vocabulary).
///
/// The forward pass also computes both gradients (`G·w` for `h`, `Gᵀ·h` for `w`, with
/// `G = softmax - onehot` per chunk, written over the chunk's logits; `Gᵀ·h` accumulates in the
/// matrix product itself): the loss is a scalar, so the backward pass only scales them. Call it
/// only where a backward pass follows (training); it is three matrix products, as the unfused
/// path, and no more.
pub fn linear_nll_sum(h: &Tensor, w: &Tensor, targets: &[u32], chunk_rows: usize) -> Result<Tensor> {
    check_head(h, w, targets)?;
    let (loss, grads) = head_loss(h, w, targets, chunk_rows, true)?;
    let (gh, gw) = grads.expect("gradients were asked for");
    h.apply_op2(w, HeadLoss { loss, gh, gw })
}

/// The value of [`linear_nll_sum`] with no gradients and no graph (for evaluation), in the same
/// row chunks.
pub fn linear_nll_sum_eval(h: &Tensor, w: &Tensor, targets: &[u32], chunk_rows: usize) -> Result<f64> {
    check_head(h, w, targets)?;
    Ok(head_loss(h, w, targets, chunk_rows, false)?.0)
}

/// Checks the shapes and targets of a chunked head loss; returns the number of rows.
fn check_head(h: &Tensor, w: &Tensor, targets: &[u32]) -> Result<usize> {
    let ((n, hd), (v, wd)) = (h.dims2()?, w.dims2()?);
    if hd != wd {
        bail!("linear_nll_sum: hidden rows of {hd} against a projection of {wd}");
    }
    if n != targets.len() {
        bail!("linear_nll_sum: {n} rows but {} targets", targets.len());
    }
    if let Some(&bad) = targets.iter().find(|&&t| t as usize >= v) {
        bail!("linear_nll_sum: target {bad} outside the vocabulary ({v})");
    }
    Ok(n)
}

/// The loss of [`linear_nll_sum`] with its gradients, computed before the op joins the graph.
struct HeadLoss {
    loss: f64,
    gh: Tensor,
    gw: Tensor,
}

impl CustomOp2 for HeadLoss {
    fn name(&self) -> &'static str {
        "sift-linear-nll-sum"
    }

    fn cpu_fwd(&self, s: &CpuStorage, _: &Layout, _: &CpuStorage, _: &Layout) -> Result<(CpuStorage, Shape)> {
        let out = match s {
            CpuStorage::F32(_) => CpuStorage::F32(vec![self.loss as f32]),
            CpuStorage::F64(_) => CpuStorage::F64(vec![self.loss]),
            _ => bail!("fused kernel: only f32 and f64 are supported"),
        };
        Ok((out, Shape::from(())))
    }

    fn bwd(&self, _h: &Tensor, _w: &Tensor, _y: &Tensor, g: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = g.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        Ok((Some(self.gh.affine(g, 0.0)?), Some(self.gw.affine(g, 0.0)?)))
    }
}

// ---------------------------------------------------------------- linear layer

/// `x · wᵀ` for `x` `[.., K]` and `w` `[N, K]` (a linear layer without its bias): the same
/// matrix product as candle's matmul, whose output is written once instead of zeroed first; the
/// backward pass computes `g · w` and `gᵀ · x` the same way, `w`'s gradient directly in `w`'s
/// layout (candle's goes through a transpose). Results equal candle's matmul bit for bit.
pub fn linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    x.contiguous()?.apply_op2(&w.contiguous()?, LinearOp)
}

struct LinearOp;

/// Rows and width of `x` `[.., K]` against `w` `[N, K]`: (M, K, N).
fn linear_dims(x: &Layout, w: &Layout) -> Result<(usize, usize, usize)> {
    let (k, (n, wk)) = (x.dims().last().copied().unwrap_or(0), w.shape().dims2()?);
    if k != wk || k == 0 {
        bail!("linear: input width {k} against a weight of {n}x{wk}");
    }
    Ok((x.shape().elem_count() / k, k, n))
}

impl CustomOp2 for LinearOp {
    fn name(&self) -> &'static str {
        "sift-linear"
    }

    fn cpu_fwd(&self, xs: &CpuStorage, xl: &Layout, ws: &CpuStorage, wl: &Layout) -> Result<(CpuStorage, Shape)> {
        let (m, k, n) = linear_dims(xl, wl)?;
        fn typed<T: Real>(
            xs: &CpuStorage,
            xl: &Layout,
            ws: &CpuStorage,
            wl: &Layout,
            (m, k, n): (usize, usize, usize),
        ) -> Result<CpuStorage> {
            let y = gemm_new((m, n, k), (slice::<T>(xs, xl)?, (k, 1)), (slice::<T>(ws, wl)?, (1, k)));
            Ok(T::to_cpu_storage_owned(y))
        }
        let mut dims = xl.dims().to_vec();
        *dims.last_mut().expect("checked above") = n;
        Ok((dispatch!(xs, typed(xs, xl, ws, wl, (m, k, n)))?, Shape::from(dims)))
    }

    fn bwd(&self, x: &Tensor, w: &Tensor, _y: &Tensor, g: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (m, k, n) = linear_dims(x.layout(), w.layout())?;
        // g · w for x, gᵀ · x for w, each written once in its input's shape.
        fn typed<T: Real>(
            x: &Tensor,
            w: &Tensor,
            g: &Tensor,
            (m, k, n): (usize, usize, usize),
        ) -> Result<(Tensor, Tensor)> {
            let (gx, gw) = with_slices::<T, _, 3>([x, w, g], |[x, w, g]| {
                (gemm_new((m, k, n), (g, (n, 1)), (w, (k, 1))), gemm_new((n, k, m), (g, (1, n)), (x, (k, 1))))
            })?;
            Ok((Tensor::from_vec(gx, x.shape(), &Device::Cpu)?, Tensor::from_vec(gw, w.shape(), &Device::Cpu)?))
        }
        let (gx, gw) = dispatch!(dtype x.dtype(), typed(x, w, &g.contiguous()?, (m, k, n)))?;
        Ok((Some(gx), Some(gw)))
    }
}
