//! The fused training kernels (`sift::model::fused`, `sift::model::attention`) against the same maths built from plain
//! candle tensor ops: equal values, and equal gradients for a random weighting of the output, in
//! f64 and f32. (`tests/model_grad.rs` checks the whole model, built on these, against finite
//! differences.)

use candle_core::{D, DType, Device, Tensor, Var};
use sift::model::fused;

fn rand(shape: &[usize], seed: u64, dtype: DType) -> Tensor {
    let mut s = seed;
    let n: usize = shape.iter().product();
    let v: Vec<f64> = (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 11) as f64 / (1u64 << 53) as f64) * 4.0 - 2.0
        })
        .collect();
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap().to_dtype(dtype).unwrap()
}

fn vec(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1().unwrap()
}

fn assert_close(a: &Tensor, b: &Tensor, tol: f64, what: &str) {
    let (a, b) = (vec(a), vec(b));
    assert_eq!(a.len(), b.len(), "{what}: sizes");
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs() / x.abs().max(y.abs()).max(1.0)).fold(0.0, f64::max);
    assert!(worst < tol, "{what}: worst difference {worst:e}");
}

/// Value of `f(inputs)` and the gradients of `sum(f(inputs) * weights)` with respect to each input.
fn value_and_grads(inputs: &[Tensor], f: impl Fn(&[Tensor]) -> Tensor) -> (Tensor, Vec<Tensor>) {
    let vars: Vec<Var> = inputs.iter().map(|t| Var::from_tensor(t).unwrap()).collect();
    let ts: Vec<Tensor> = vars.iter().map(|v| v.as_tensor().clone()).collect();
    let y = f(&ts);
    let w = rand(y.dims(), 99, y.dtype());
    let g = (&y * &w).unwrap().sum_all().unwrap().backward().unwrap();
    let grads = ts.iter().map(|t| g.get(t).expect("an input got no gradient").clone()).collect();
    (y, grads)
}

fn compare(inputs: &[Tensor], fused: impl Fn(&[Tensor]) -> Tensor, plain: impl Fn(&[Tensor]) -> Tensor, what: &str) {
    let tol = if inputs[0].dtype() == DType::F64 { 1e-12 } else { 2e-5 };
    let (yf, gf) = value_and_grads(inputs, fused);
    let (yp, gp) = value_and_grads(inputs, plain);
    assert_close(&yf, &yp, tol, &format!("{what} value"));
    for (i, (a, b)) in gf.iter().zip(&gp).enumerate() {
        assert_close(a, b, tol, &format!("{what} gradient of input {i}"));
    }
}

fn plain_causal_softmax(x: &Tensor, scale: f64) -> Tensor {
    let dims = x.dims();
    let (t, tk) = (dims[dims.len() - 2], dims[dims.len() - 1]);
    let mask: Vec<f64> =
        (0..t).flat_map(|i| (0..tk).map(move |j| if j > i + tk - t { f64::NEG_INFINITY } else { 0.0 })).collect();
    let mask = Tensor::from_vec(mask, (t, tk), &Device::Cpu).unwrap().to_dtype(x.dtype()).unwrap();
    let s = (x * scale).unwrap().broadcast_add(&mask).unwrap();
    let max = s.max_keepdim(D::Minus1).unwrap().detach();
    let e = s.broadcast_sub(&max).unwrap().exp().unwrap();
    e.broadcast_div(&e.sum_keepdim(D::Minus1).unwrap()).unwrap()
}

/// Plain attention: every query head gets its key/value head (copied), scores, the plain causal
/// softmax, the product with v, and the heads merged into `[B, T, H * D]`.
fn plain_attention(q: &Tensor, k: &Tensor, v: &Tensor, scale: f64) -> Tensor {
    let (b, nh, t, hd) = q.dims4().unwrap();
    let rep = nh / k.dim(1).unwrap();
    let spread = |x: &Tensor| {
        let heads: Vec<Tensor> = (0..nh).map(|h| x.narrow(1, h / rep, 1).unwrap()).collect();
        Tensor::cat(&heads, 1).unwrap()
    };
    let (k, v) = (spread(k), spread(v));
    let p = plain_causal_softmax(&q.matmul(&k.t().unwrap()).unwrap(), scale);
    p.matmul(&v).unwrap().transpose(1, 2).unwrap().reshape((b, t, nh * hd)).unwrap()
}

#[test]
fn causal_attention_matches_plain_ops_with_shared_kv_heads_and_a_cached_prefix() {
    for dtype in [DType::F64, DType::F32] {
        // (query heads, kv heads, T, Tk): training shapes with and without grouped-query heads, and
        // queries after 3 cached keys.
        for (nh, nkv, t, tk) in [(2, 2, 6, 6), (4, 2, 7, 7), (4, 1, 5, 8)] {
            let q = rand(&[2, nh, t, 8], 1, dtype);
            let (k, v) = (rand(&[2, nkv, tk, 8], 2, dtype), rand(&[2, nkv, tk, 8], 3, dtype));
            compare(
                &[q, k, v],
                |x| sift::model::attention::causal_attention(&x[0], &x[1], &x[2], 0.35).unwrap(),
                |x| plain_attention(&x[0], &x[1], &x[2], 0.35),
                &format!("causal attention {dtype:?} heads {nh}/{nkv}, {t}x{tk}"),
            );
        }
    }
    let q = rand(&[1, 3, 4, 8], 1, DType::F32);
    let k = rand(&[1, 2, 4, 8], 2, DType::F32);
    assert!(sift::model::attention::causal_attention(&q, &k, &k, 1.0).is_err(), "3 query heads over 2 kv heads");
    let k = rand(&[1, 3, 3, 8], 2, DType::F32);
    assert!(sift::model::attention::causal_attention(&q, &k, &k, 1.0).is_err(), "more queries than keys");
}

#[test]
fn causal_attention_ignores_future_keys() {
    // Changing the last key and value moves only the last query's output.
    let q = rand(&[1, 2, 5, 4], 1, DType::F64);
    let (k, v) = (rand(&[1, 2, 5, 4], 2, DType::F64), rand(&[1, 2, 5, 4], 3, DType::F64));
    let bump = |x: &Tensor| {
        let last = (x.narrow(2, 4, 1).unwrap() + 1.5).unwrap();
        Tensor::cat(&[&x.narrow(2, 0, 4).unwrap(), &last], 2).unwrap()
    };
    let a = sift::model::attention::causal_attention(&q, &k, &v, 0.5).unwrap();
    let b = sift::model::attention::causal_attention(&q, &bump(&k), &bump(&v), 0.5).unwrap();
    assert_eq!(vec(&a.narrow(1, 0, 4).unwrap()), vec(&b.narrow(1, 0, 4).unwrap()));
    assert!(vec(&a.narrow(1, 4, 1).unwrap()) != vec(&b.narrow(1, 4, 1).unwrap()));
}

#[test]
fn rms_norm_matches_plain_ops() {
    for dtype in [DType::F64, DType::F32] {
        // Enough rows for the backward pass's per-chunk weight-gradient sums to have several chunks.
        let x = rand(&[3, 37, 16], 4, dtype);
        let w = rand(&[16], 5, dtype).affine(0.3, 1.0).unwrap();
        let plain = |v: &[Tensor]| {
            let var = v[0].sqr().unwrap().mean_keepdim(D::Minus1).unwrap();
            let d = (var + 1e-5).unwrap().sqrt().unwrap();
            v[0].broadcast_div(&d).unwrap().broadcast_mul(&v[1]).unwrap()
        };
        compare(&[x, w], |v| fused::rms_norm(&v[0], &v[1], 1e-5).unwrap(), plain, &format!("rms norm {dtype:?}"));
    }
}

#[test]
fn swiglu_matches_silu_times_up() {
    for dtype in [DType::F64, DType::F32] {
        // More elements than one parallel task takes, so that the chunking is exercised.
        let (g, u) = (rand(&[3, 50, 130], 7, dtype), rand(&[3, 50, 130], 8, dtype));
        let plain = |v: &[Tensor]| (v[0].silu().unwrap() * &v[1]).unwrap();
        compare(&[g, u], |v| fused::swiglu(&v[0], &v[1]).unwrap(), plain, &format!("swiglu {dtype:?}"));
    }
    let (g, u) = (rand(&[2, 4], 1, DType::F32), rand(&[2, 5], 2, DType::F32));
    assert!(fused::swiglu(&g, &u).is_err(), "shapes differ");
}

#[test]
fn rope_matches_rotate_half_and_candles_fused_kernel() {
    for dtype in [DType::F64, DType::F32] {
        let (t, hd) = (7, 8);
        let x = rand(&[2, 3, t, hd], 6, dtype);
        let angles: Vec<f64> =
            (0..t).flat_map(|p| (0..hd / 2).map(move |i| p as f64 * 0.3f64.powi(i as i32))).collect();
        let cos = Tensor::from_vec(angles.iter().map(|a| a.cos()).collect(), (t, hd / 2), &Device::Cpu).unwrap();
        let sin = Tensor::from_vec(angles.iter().map(|a| a.sin()).collect(), (t, hd / 2), &Device::Cpu).unwrap();
        let (cos, sin) = (cos.to_dtype(dtype).unwrap(), sin.to_dtype(dtype).unwrap());
        let plain = |v: &[Tensor]| {
            let (x1, x2) = (v[0].narrow(3, 0, hd / 2).unwrap(), v[0].narrow(3, hd / 2, hd / 2).unwrap());
            let rot = Tensor::cat(&[&x2.neg().unwrap(), &x1], 3).unwrap();
            let full = |c: &Tensor| Tensor::cat(&[c, c], 1).unwrap();
            (v[0].broadcast_mul(&full(&cos)).unwrap() + rot.broadcast_mul(&full(&sin)).unwrap()).unwrap()
        };
        compare(
            std::slice::from_ref(&x),
            |v| fused::rope(&v[0], &cos, &sin).unwrap(),
            plain,
            &format!("rope {dtype:?}"),
        );
        if dtype == DType::F32 {
            let candle = candle_nn::rotary_emb::rope(&x, &cos, &sin).unwrap();
            assert_close(&fused::rope(&x, &cos, &sin).unwrap(), &candle, 1e-6, "rope vs candle's kernel");
        }
    }
}

#[test]
fn linear_matches_candles_matmul_bit_for_bit_and_its_gradients() {
    for dtype in [DType::F64, DType::F32] {
        for shape in [vec![3, 5, 7], vec![4, 7], vec![1, 1, 7]] {
            let (x, w) = (rand(&shape, 1, dtype), rand(&[6, 7], 2, dtype));
            let plain = |t: &[Tensor]| t[0].broadcast_matmul(&t[1].t().unwrap()).unwrap();
            compare(&[x.clone(), w.clone()], |t| fused::linear(&t[0], &t[1]).unwrap(), plain, "linear");
            // The forward pass is the same matrix product as candle's Linear layer: equal bits.
            let y = fused::linear(&x, &w).unwrap();
            let mut want = shape.clone();
            *want.last_mut().unwrap() = 6;
            assert_eq!(y.dims(), want.as_slice());
            let candle = candle_nn::Module::forward(&candle_nn::Linear::new(w.clone(), None), &x).unwrap();
            assert_eq!(vec(&y), vec(&candle), "{dtype:?} {shape:?}");
        }
    }
    // A transposed (non-contiguous) input is made contiguous first.
    let x = rand(&[7, 4], 3, DType::F64).t().unwrap();
    let w = rand(&[6, 7], 2, DType::F64);
    assert_close(&fused::linear(&x, &w).unwrap(), &x.matmul(&w.t().unwrap()).unwrap(), 1e-12, "transposed input");
    assert!(fused::linear(&rand(&[2, 5], 1, DType::F64), &w).is_err(), "width mismatch must be an error");
}

#[test]
fn chunked_head_loss_matches_projection_then_masked_loss_for_any_chunk_size_with_and_without_gradients() {
    for dtype in [DType::F64, DType::F32] {
        let h = rand(&[10, 8], 11, dtype);
        let w = rand(&[40, 8], 12, dtype);
        let targets = [0u32, 39, 7, 7, 23, 11, 2, 38, 5, 19];
        let tg = Tensor::new(&targets[..], &Device::Cpu).unwrap().unsqueeze(0).unwrap();
        let plain = |v: &[Tensor]| {
            let logits = v[0].matmul(&v[1].t().unwrap()).unwrap().unsqueeze(0).unwrap();
            let ones = Tensor::ones((1, targets.len()), v[0].dtype(), &Device::Cpu).unwrap();
            sift::model::masked_nll_sum(&logits, &tg, &ones).unwrap().0
        };
        // One chunk, uneven chunks (4 + 4 + 2), one row at a time, and a chunk larger than the input.
        let whole = vec(&plain(&[h.clone(), w.clone()]))[0];
        for chunk in [10, 4, 1, 64] {
            let eval = fused::linear_nll_sum_eval(&h, &w, &targets, chunk).unwrap();
            let tol = if dtype == DType::F64 { 1e-12 } else { 2e-5 };
            assert!((eval - whole).abs() < tol * whole.abs(), "eval value {eval} against {whole} ({chunk} rows)");
            compare(
                &[h.clone(), w.clone()],
                |v| fused::linear_nll_sum(&v[0], &v[1], &targets, chunk).unwrap(),
                plain,
                &format!("chunked head loss {dtype:?}, {chunk} rows per chunk"),
            );
        }
    }
    let (h, w) = (rand(&[2, 4], 1, DType::F32), rand(&[10, 4], 2, DType::F32));
    assert!(fused::linear_nll_sum(&h, &w, &[1, 10], 1).is_err(), "a target outside the vocabulary");
    assert!(fused::linear_nll_sum(&h, &w, &[1], 1).is_err(), "fewer targets than rows");
    assert!(fused::linear_nll_sum(&h, &rand(&[10, 3], 2, DType::F32), &[1, 2], 1).is_err(), "widths differ");
    assert!(fused::linear_nll_sum_eval(&h, &w, &[1, 10], 1).is_err(), "eval: a target outside the vocabulary");
}
