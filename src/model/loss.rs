//! Masked next-token negative log-likelihood for training.

use candle_core::{D, Result, Tensor};

/// Sum of `-log p(target)` over positions where `mask` is 1, and the number of such positions.
///
/// `logits`: `[B, T, V]`; `targets`: `[B, T]` (u32, any valid id where masked); `mask`: `[B, T]`
/// of 0/1 (any dtype). Built from differentiable ops only (log-sum-exp with a detached max, then
/// a gather), so masked positions get exactly zero gradient. Divide the sum by the total count of
/// the whole optimizer step (not per micro-batch) to get the mean NLL.
pub fn masked_nll_sum(logits: &Tensor, targets: &Tensor, mask: &Tensor) -> Result<(Tensor, f64)> {
    let dtype = logits.dtype();
    let mask = mask.to_dtype(dtype)?;
    let max = logits.max_keepdim(D::Minus1)?.detach();
    let lse = (logits
        .broadcast_sub(&max)?
        .exp()?
        .sum_keepdim(D::Minus1)?
        .log()?
        + &max)?
        .squeeze(D::Minus1)?;
    let picked = logits
        .gather(&targets.unsqueeze(D::Minus1)?.contiguous()?, D::Minus1)?
        .squeeze(D::Minus1)?;
    let sum = ((lse - picked)? * &mask)?.sum_all()?;
    let count = mask
        .to_dtype(candle_core::DType::F64)?
        .sum_all()?
        .to_scalar::<f64>()?;
    Ok((sum, count))
}
