//! Fused CPU kernels that also have a backward pass, for training.
//!
//! candle's own fused `softmax_last_dim`, `rms_norm` and `rope` cannot be differentiated, and the
//! same maths built from plain tensor ops keeps every intermediate (shifted scores, exponentials,
//! squares, ...) alive until the backward pass. These custom ops compute each function in one pass
//! and keep only their input (and output), with hand-written gradients:
//!
//! - [`causal_softmax`]: `softmax(scale * x + causal mask)` over the last dim;
//! - [`rms_norm`]: `x / sqrt(mean(x^2) + eps) * w`;
//! - [`rope`]: HF "rotate half" rotary embedding (its gradient is the inverse rotation);
//! - [`linear_nll_sum`]: output projection and summed NLL (`logsumexp(logits_i) - logits_i[t_i]`)
//!   in row chunks, without whole logits or a log-softmax copy.
//!
//! Kernels run on contiguous f32 or f64 CPU tensors; [`supported`] says when they apply.
//! `tests/fused_ops.rs` checks each against the same maths in plain tensor ops (values and
//! gradients, f64 and f32); `tests/model_grad.rs` checks the model built on them against finite
//! differences in f64.

use super::logprobs::{exp_nonpos, log_sum_exp};
use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, D, DType, Device, Layout, Result, Shape, Tensor};
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
trait Real: WithDType + num_traits::Float + num_traits::NumAssign + Send + Sync + std::iter::Sum {
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
fn slice<'a, T: WithDType>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((lo, hi)) => Ok(&s.as_slice::<T>()?[lo..hi]),
        None => bail!("fused kernel: input is not contiguous"),
    }
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
    ($s:expr, $f:ident ( $($a:expr),* )) => {
        match $s {
            CpuStorage::F32(_) => $f::<f32>($($a),*),
            CpuStorage::F64(_) => $f::<f64>($($a),*),
            _ => bail!("fused kernel: only f32 and f64 are supported"),
        }
    };
}

// ---------------------------------------------------------------- causal softmax

/// `softmax(scale * x + mask)` over the last dim of `x` `[.., T, Tk]`, where query row `i` sees
/// keys `j <= i + (Tk - T)` (the queries are the last `T` of `Tk` positions, as with a KV cache).
pub fn causal_softmax(x: &Tensor, scale: f64) -> Result<Tensor> {
    x.contiguous()?.apply_op1(CausalSoftmax { scale })
}

struct CausalSoftmax {
    scale: f64,
}

fn softmax_fwd<T: Real>(s: &CpuStorage, l: &Layout, scale: f64) -> Result<(CpuStorage, Shape)> {
    let x = slice::<T>(s, l)?;
    let dims = l.dims();
    let (t, tk) = (dims[dims.len() - 2], dims[dims.len() - 1]);
    let offset = tk.checked_sub(t).ok_or_else(|| candle_core::Error::Msg("causal_softmax: T > Tk".into()))?;
    let scale = T::from(scale).unwrap_or(T::one());
    Ok(map_rows(x, l.shape(), tk, |r, row, o| {
        let n = (r % t) + offset + 1;
        let m = row[..n].iter().fold(T::neg_infinity(), |a, &b| num_traits::Float::max(a, b * scale));
        let mut sum = T::zero();
        for (oj, &xj) in o[..n].iter_mut().zip(&row[..n]) {
            *oj = (xj * scale - m).exp_np();
            sum += *oj;
        }
        let inv = T::one() / sum;
        o[..n].iter_mut().for_each(|v| *v *= inv);
    }))
}

impl CustomOp1 for CausalSoftmax {
    fn name(&self) -> &'static str {
        "sift-causal-softmax"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        dispatch!(s, softmax_fwd(s, l, self.scale))
    }

    fn bwd(&self, _x: &Tensor, y: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(y.detach().apply_op2_no_bwd(&g.contiguous()?, &SoftmaxGrad { scale: self.scale })?))
    }
}

/// `scale * y * (g - sum(g * y))` row by row: the gradient of [`causal_softmax`].
struct SoftmaxGrad {
    scale: f64,
}

fn softmax_bwd<T: Real>(
    ys: &CpuStorage,
    yl: &Layout,
    gs: &CpuStorage,
    gl: &Layout,
    scale: f64,
) -> Result<(CpuStorage, Shape)> {
    let (y, g) = (slice::<T>(ys, yl)?, slice::<T>(gs, gl)?);
    let tk = *yl.dims().last().unwrap_or(&1);
    let scale = T::from(scale).unwrap_or(T::one());
    Ok(map_rows(y, yl.shape(), tk, |r, y, o| {
        let g = &g[r * tk..(r + 1) * tk];
        let dot: T = y.iter().zip(g).map(|(&a, &b)| a * b).sum();
        for ((oj, &yj), &gj) in o.iter_mut().zip(y).zip(g) {
            *oj = scale * yj * (gj - dot);
        }
    }))
}

impl CustomOp2 for SoftmaxGrad {
    fn name(&self) -> &'static str {
        "sift-causal-softmax-grad"
    }

    fn cpu_fwd(&self, ys: &CpuStorage, yl: &Layout, gs: &CpuStorage, gl: &Layout) -> Result<(CpuStorage, Shape)> {
        dispatch!(ys, softmax_bwd(ys, yl, gs, gl, self.scale))
    }
}

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
    /// `dx = r (u - xh mean(u xh))` and `dw = sum over rows of g xh`.
    fn bwd(&self, x: &Tensor, w: &Tensor, _y: &Tensor, g: &Tensor) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (x, w, g) = (x.detach(), w.detach(), g.detach());
        let r = (x.sqr()?.mean_keepdim(D::Minus1)? + self.eps)?.sqrt()?.recip()?;
        let xh = x.broadcast_mul(&r)?;
        let u = g.broadcast_mul(&w)?;
        let m = (&u * &xh)?.mean_keepdim(D::Minus1)?;
        let dx = (u - xh.broadcast_mul(&m)?)?.broadcast_mul(&r)?;
        let d = w.dim(0)?;
        let dw = (g * xh)?.reshape(((), d))?.sum(0)?;
        Ok((Some(dx), Some(dw)))
    }
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

// ---------------------------------------------------------------- row NLL

/// Summed NLL of `targets` under the rows of `x` `[N, v]` and, with `grad`, the rows of
/// `softmax - onehot` (the NLL's gradient): one log-sum-exp per row serves both. Rows run in
/// parallel; their NLLs are summed in row order, so the result is deterministic.
fn nll_rows<T: Real>(x: &[T], v: usize, targets: &[u32], grad: bool) -> (f64, Vec<T>) {
    let nll = |row: &[T], lse: T, t: u32| num_traits::ToPrimitive::to_f64(&(lse - row[t as usize])).unwrap_or(f64::NAN);
    let mut g = if grad { vec![T::zero(); x.len()] } else { Vec::new() };
    let per_row: Vec<f64> = if grad {
        g.par_chunks_mut(v)
            .zip(x.par_chunks(v))
            .zip(targets.par_iter())
            .map(|((o, row), &t)| {
                let lse = T::lse(row);
                for (oj, &xj) in o.iter_mut().zip(row) {
                    *oj = num_traits::Float::min(xj - lse, T::zero()).exp_np();
                }
                o[t as usize] -= T::one();
                nll(row, lse, t)
            })
            .collect()
    } else {
        x.par_chunks(v).zip(targets.par_iter()).map(|(row, &t)| nll(row, T::lse(row), t)).collect()
    };
    (per_row.iter().sum(), g)
}

/// [`nll_rows`] on a contiguous CPU logits tensor `[N, V]`, the gradient rows as a tensor.
fn logits_nll(logits: &Tensor, targets: &[u32], grad: bool) -> Result<(f64, Option<Tensor>)> {
    fn typed<T: Real>(s: &CpuStorage, l: &Layout, targets: &[u32], grad: bool) -> Result<(f64, Option<Tensor>)> {
        let (n, v) = l.shape().dims2()?;
        let (loss, g) = nll_rows(slice::<T>(s, l)?, v, targets, grad);
        Ok((loss, if grad { Some(Tensor::from_vec(g, (n, v), &Device::Cpu)?) } else { None }))
    }
    let (storage, layout) = logits.storage_and_layout();
    let candle_core::Storage::Cpu(s) = &*storage else { bail!("fused kernel: CPU tensors only") };
    dispatch!(s, typed(s, layout, targets, grad))
}

// ---------------------------------------------------------------- chunked output projection + NLL

/// `sum_i nll(softmax(h[i] · wᵀ), targets[i])` for hidden rows `h` `[N, H]` and the output
/// projection `w` `[V, H]`, computed `chunk_rows` rows at a time so that the `[N, V]` logits and
/// their gradient never exist whole (262 MB each for 2048 rows of a 32K vocabulary).
///
/// The forward pass also computes both gradients (`G·w` for `h`, `Gᵀ·h` for `w`, with
/// `G = softmax - onehot` per chunk): the loss is a scalar, so the backward pass only scales
/// them. Call it only where a backward pass follows (training); it is three matmuls, as the
/// unfused path, and no more.
pub fn linear_nll_sum(h: &Tensor, w: &Tensor, targets: &[u32], chunk_rows: usize) -> Result<Tensor> {
    let n = check_head(h, w, targets)?;
    let (hc, wc) = (h.detach().contiguous()?, w.detach().contiguous()?);
    let wt = wc.t()?;
    let mut loss = 0f64;
    let mut gh = Vec::new();
    let mut gw: Option<Tensor> = None;
    for start in (0..n).step_by(chunk_rows.max(1)) {
        let len = chunk_rows.max(1).min(n - start);
        let rows = hc.narrow(0, start, len)?;
        let (nll, g) = logits_nll(&rows.matmul(&wt)?, &targets[start..start + len], true)?;
        let g = g.expect("gradient rows were asked for");
        loss += nll;
        gh.push(g.matmul(&wc)?);
        let part = g.t()?.matmul(&rows)?;
        gw = Some(match gw {
            Some(acc) => (acc + part)?,
            None => part,
        });
    }
    let gw = match gw {
        Some(g) => g,
        None => wc.zeros_like()?,
    };
    let gh = if gh.is_empty() { hc.zeros_like()? } else { Tensor::cat(&gh, 0)? };
    h.apply_op2(w, HeadLoss { loss, gh, gw })
}

/// The value of [`linear_nll_sum`] with no gradients and no graph (for evaluation), in the same
/// row chunks.
pub fn linear_nll_sum_eval(h: &Tensor, w: &Tensor, targets: &[u32], chunk_rows: usize) -> Result<f64> {
    let n = check_head(h, w, targets)?;
    let (hc, wt) = (h.detach().contiguous()?, w.detach().t()?);
    let mut loss = 0f64;
    for start in (0..n).step_by(chunk_rows.max(1)) {
        let len = chunk_rows.max(1).min(n - start);
        loss += logits_nll(&hc.narrow(0, start, len)?.matmul(&wt)?, &targets[start..start + len], false)?.0;
    }
    Ok(loss)
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
