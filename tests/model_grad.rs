//! Gradient correctness of the training path: candle's backward through `Kernels::Train` against
//! central finite differences in f64, for every parameter kind; masked positions get exactly zero
//! gradient; and the fused `Kernels::Fast` kernels really do drop gradients (the trap this avoids).

use candle_core::{DType, Device, Tensor, Var};
use candle_nn::VarMap;
use sift::model::{Arch, Decoder, Kernels, ModelConfig, init_varmap, init_weights, masked_nll_sum};

/// Deterministic pseudo-random numbers in [-1, 1).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }
}

fn tiny(arch: Arch, tied: bool) -> ModelConfig {
    let mut c = ModelConfig::llama(37, 16, 24, 2, 4, 2);
    c.arch = arch;
    c.tie_word_embeddings = tied;
    c.rms_norm_eps = 1e-5;
    c
}

/// A model whose weights are all far from their init (so norms and biases matter).
fn model(cfg: &ModelConfig, dtype: DType) -> (VarMap, Decoder) {
    let (vm, dec) = init_varmap(cfg, 11, dtype, &Device::Cpu).unwrap();
    let mut rng = Lcg(5);
    for var in sift::model::varmap_tensors(&vm).into_iter().map(|(n, _)| n) {
        let v = vm.data().lock().unwrap()[&var].clone();
        let t = v.as_tensor();
        let vals: Vec<f64> = t.flatten_all().unwrap().to_dtype(DType::F64).unwrap().to_vec1().unwrap();
        let new: Vec<f64> = if var.ends_with("norm.weight") {
            vals.iter().map(|_| 1.0 + 0.3 * rng.next()).collect()
        } else if var.ends_with("bias") {
            vals.iter().map(|_| 0.5 * rng.next()).collect()
        } else {
            vals.iter().map(|_| 0.6 * rng.next()).collect()
        };
        let nt = Tensor::from_vec(new, t.shape(), &Device::Cpu).unwrap().to_dtype(dtype).unwrap();
        v.set(&nt).unwrap();
    }
    (vm, dec)
}

struct Batch {
    ids: Tensor,
    targets: Tensor,
    mask: Tensor,
}

/// Two sequences: a prompt (mask 0) then a response (mask 1), the second right-padded.
fn batch(vocab: u32) -> Batch {
    let seqs: [&[u32]; 2] = [&[3, 17, 5, 9, 30, 2, 11, 8], &[1, 4, 22, 36, 7, 19]];
    let prompt = [3usize, 2];
    let t = 8;
    let (mut ids, mut tg, mut mask) = (vec![], vec![], vec![]);
    for (s, p) in seqs.iter().zip(prompt) {
        for i in 0..t {
            ids.push(*s.get(i).unwrap_or(&0) % vocab);
            tg.push(*s.get(i + 1).unwrap_or(&0) % vocab);
            mask.push(if i + 1 >= p && i + 1 < s.len() { 1f64 } else { 0.0 });
        }
    }
    let dev = Device::Cpu;
    Batch {
        ids: Tensor::from_vec(ids, (2, t), &dev).unwrap(),
        targets: Tensor::from_vec(tg, (2, t), &dev).unwrap(),
        mask: Tensor::from_vec(mask, (2, t), &dev).unwrap(),
    }
}

fn loss(dec: &Decoder, b: &Batch, mode: Kernels) -> Tensor {
    let logits = dec.forward(&b.ids, mode).unwrap();
    let (sum, count) = masked_nll_sum(&logits, &b.targets, &b.mask).unwrap();
    (sum / count).unwrap()
}

fn scalar(t: &Tensor) -> f64 {
    t.to_dtype(DType::F64).unwrap().to_scalar::<f64>().unwrap()
}

fn set_coord(var: &Var, idx: usize, value: f64) {
    let t = var.as_tensor();
    let mut vals: Vec<f64> = t.flatten_all().unwrap().to_vec1().unwrap();
    vals[idx] = value;
    var.set(&Tensor::from_vec(vals, t.shape(), &Device::Cpu).unwrap()).unwrap();
}

/// Returns the worst relative error over all checked coordinates.
fn fd_check(cfg: &ModelConfig, expect_kinds: &[&str]) -> f64 {
    let (vm, dec) = model(cfg, DType::F64);
    let b = batch(cfg.vocab_size as u32);
    let grads = loss(&dec, &b, Kernels::Train).backward().unwrap();
    let vars = vm.data().lock().unwrap().clone();
    let mut names: Vec<&String> = vars.keys().collect();
    names.sort();
    let mut seen = vec![];
    let mut worst = 0f64;
    let eps = 1e-5;
    for name in names {
        let var = &vars[name];
        let g: Vec<f64> = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("no gradient for {name}"))
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let vals: Vec<f64> = var.as_tensor().flatten_all().unwrap().to_vec1().unwrap();
        // The largest-gradient coordinate plus two fixed spread-out ones.
        let argmax = (0..g.len()).max_by(|&i, &j| g[i].abs().total_cmp(&g[j].abs())).unwrap();
        for idx in [argmax, g.len() / 3, (g.len() * 7) / 9] {
            set_coord(var, idx, vals[idx] + eps);
            let up = scalar(&loss(&dec, &b, Kernels::Train));
            set_coord(var, idx, vals[idx] - eps);
            let down = scalar(&loss(&dec, &b, Kernels::Train));
            set_coord(var, idx, vals[idx]);
            let fd = (up - down) / (2.0 * eps);
            let err = (g[idx] - fd).abs() / g[idx].abs().max(fd.abs()).max(1e-6);
            assert!(err < 1e-5, "{name}[{idx}]: backward {} vs finite difference {fd}", g[idx]);
            worst = worst.max(err);
        }
        assert!(g[argmax].abs() > 1e-6, "{name}: gradient is (near) zero");
        // "model.layers.3.mlp.up_proj.weight" -> "mlp.up_proj.weight"; others stay whole.
        let kind = match name.split_once(".layers.") {
            Some((_, rest)) => rest.split_once('.').map_or(rest, |(_, r)| r),
            None => name.as_str(),
        };
        seen.push(kind.to_string());
    }
    for k in expect_kinds {
        assert!(seen.iter().any(|s| s == k), "parameter kind {k} not checked: {seen:?}");
    }
    worst
}

#[test]
fn train_mode_gradients_match_finite_differences_qwen2_untied() {
    let kinds = [
        "model.embed_tokens.weight",
        "self_attn.q_proj.weight",
        "self_attn.q_proj.bias",
        "self_attn.k_proj.weight",
        "self_attn.k_proj.bias",
        "self_attn.v_proj.weight",
        "self_attn.v_proj.bias",
        "self_attn.o_proj.weight",
        "mlp.gate_proj.weight",
        "mlp.up_proj.weight",
        "mlp.down_proj.weight",
        "input_layernorm.weight",
        "post_attention_layernorm.weight",
        "model.norm.weight",
        "lm_head.weight",
    ];
    let worst = fd_check(&tiny(Arch::Qwen2, false), &kinds);
    eprintln!("qwen2 untied: worst relative error {worst:.2e}");
}

#[test]
fn train_mode_gradients_match_finite_differences_llama_tied() {
    let worst = fd_check(&tiny(Arch::Llama, true), &["model.embed_tokens.weight", "model.norm.weight"]);
    eprintln!("llama tied: worst relative error {worst:.2e}");
}

#[test]
fn masked_positions_get_exactly_zero_gradient() {
    let cfg = tiny(Arch::Llama, false);
    let (_vm, dec) = model(&cfg, DType::F64);
    let b = batch(cfg.vocab_size as u32);
    let logits = Var::from_tensor(&dec.forward(&b.ids, Kernels::Train).unwrap().detach()).unwrap();
    let (sum, count) = masked_nll_sum(logits.as_tensor(), &b.targets, &b.mask).unwrap();
    let mask: Vec<f64> = b.mask.flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(count, mask.iter().sum::<f64>());
    let g = (sum / count).unwrap().backward().unwrap();
    let g: Vec<Vec<f64>> = g.get(logits.as_tensor()).unwrap().reshape((16, cfg.vocab_size)).unwrap().to_vec2().unwrap();
    let probs: Vec<Vec<f64>> = candle_nn::ops::softmax(logits.as_tensor(), 2)
        .unwrap()
        .reshape((16, cfg.vocab_size))
        .unwrap()
        .to_vec2()
        .unwrap();
    let tg: Vec<u32> = b.targets.flatten_all().unwrap().to_vec1().unwrap();
    for (r, row) in g.iter().enumerate() {
        if mask[r] == 0.0 {
            assert!(row.iter().all(|&x| x == 0.0), "masked row {r} has gradient {row:?}");
        } else {
            // d(mean NLL)/d logits = (softmax - onehot) / count.
            for (v, &x) in row.iter().enumerate() {
                let want = (probs[r][v] - if v == tg[r] as usize { 1.0 } else { 0.0 }) / count;
                assert!((x - want).abs() < 1e-12, "row {r} col {v}: {x} vs {want}");
            }
        }
    }
}

#[test]
fn fast_mode_drops_gradients_through_fused_kernels() {
    // The trap: fused rms-norm/softmax/rope have no backward, so nothing before the final norm
    // gets a gradient in Kernels::Fast while Kernels::Train gives all of them one.
    let cfg = tiny(Arch::Llama, false);
    let (vm, dec) = model(&cfg, DType::F32);
    let b = batch(cfg.vocab_size as u32);
    let vars = vm.data().lock().unwrap().clone();
    let fast = loss(&dec, &b, Kernels::Fast).backward().unwrap();
    let train = loss(&dec, &b, Kernels::Train).backward().unwrap();
    let emb = vars["model.embed_tokens.weight"].as_tensor();
    let norm = vars["model.norm.weight"].as_tensor();
    assert!(fast.get(emb).is_none() && fast.get(norm).is_none());
    assert!(train.get(emb).is_some() && train.get(norm).is_some());
    assert!(fast.get(vars["lm_head.weight"].as_tensor()).is_some());
}

#[test]
fn fresh_init_is_deterministic_and_follows_the_spec() {
    let cfg = tiny(Arch::Qwen2, false);
    let a = init_weights(&cfg, 42, DType::F32, &Device::Cpu).unwrap();
    let b = init_weights(&cfg, 42, DType::F32, &Device::Cpu).unwrap();
    let c = init_weights(&cfg, 43, DType::F32, &Device::Cpu).unwrap();
    assert_eq!(a.len(), b.len());
    for ((na, ta), ((nb, tb), (_, tc))) in a.iter().zip(b.iter().zip(&c)) {
        assert_eq!(na, nb);
        let va: Vec<f32> = ta.flatten_all().unwrap().to_vec1().unwrap();
        let vb: Vec<f32> = tb.flatten_all().unwrap().to_vec1().unwrap();
        let vc: Vec<f32> = tc.flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(va, vb, "{na} differs for the same seed");
        if na.ends_with("norm.weight") {
            assert!(va.iter().all(|&x| x == 1.0));
        } else if na.ends_with("bias") {
            assert!(va.iter().all(|&x| x == 0.0));
        } else {
            assert_ne!(va, vc, "{na} equal for different seeds");
            let n = va.len() as f64;
            let mean = va.iter().map(|&x| x as f64).sum::<f64>() / n;
            let std = (va.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
            assert!(mean.abs() < 0.003 && (std - 0.02).abs() < 0.003, "{na}: mean {mean} std {std}");
        }
    }
    let names: Vec<&str> = a.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 2 + 2 * 12 + 1, "{names:?}");
    let params: usize = a.iter().map(|(_, t)| t.elem_count()).sum();
    assert_eq!(params, cfg.num_params());
}

#[test]
fn detached_copy_scores_identically_without_a_graph() {
    let cfg = tiny(Arch::Qwen2, false);
    let (vm, dec) = model(&cfg, DType::F32);
    let plain = dec.detached();
    let b = batch(cfg.vocab_size as u32);
    let a: Vec<f32> = dec.forward(&b.ids, Kernels::Fast).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    let c: Vec<f32> = plain.forward(&b.ids, Kernels::Fast).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    assert_eq!(a, c);
    let grads = loss(&plain, &b, Kernels::Train).backward().unwrap();
    for (name, var) in vm.data().lock().unwrap().iter() {
        assert!(grads.get(var.as_tensor()).is_none(), "{name} is still tracked");
    }
    // Shared storage: updating a variable is seen by the detached copy.
    let norm = vm.data().lock().unwrap()["model.norm.weight"].clone();
    norm.set(&(norm.as_tensor() * 2.0).unwrap()).unwrap();
    let d: Vec<f32> = plain.forward(&b.ids, Kernels::Fast).unwrap().flatten_all().unwrap().to_vec1().unwrap();
    assert_ne!(a, d);
}
