//! Trainer correctness on the tiny Llama fixture: every parameter kind moves, prompt targets get
//! no gradient, step normalisation is independent of the micro-batch split, a tiny run overfits,
//! resume continues the same curve, and the saved model reloads with identical log-probs.

mod common;

use sift::model::{Kernels, LocalModel, token_logprobs, varmap_tensors};
use sift::train::data::{MicroBatch, SftTokenizer, tokenize_segments};
use sift::train::{Example, ModelSource, TrainConfig, TrainData, TrainEvent, Trainer, step_gradients};
use std::path::Path;
use std::sync::atomic::AtomicBool;

const PAIRS: [(&str, &str, &str); 8] = [
    ("Add the numbers.", "2 and 3", "5"),
    ("Name a color.", "", "Blue."),
    ("Say hello.", "", "Hello there!"),
    ("Reverse the word.", "abc", "cba"),
    ("Give an animal.", "", "A cat."),
    ("Capitalize.", "dog", "DOG"),
    ("Count to three.", "", "1, 2, 3"),
    ("Translate to French.", "yes", "oui"),
];

fn examples(max_len: usize) -> Vec<Example> {
    let tok = SftTokenizer::from_model_dir(&common::tiny_llama()).unwrap();
    PAIRS
        .iter()
        .enumerate()
        .map(|(i, (c, z, y))| {
            // The fixture has a 128-token context: a short prompt layout instead of the Alpaca template.
            let segs = vec![(format!("Q: {c} {z}\nA:"), false), (y.to_string(), true)];
            tokenize_segments(&tok, &segs, max_len, i).unwrap().unwrap()
        })
        .collect()
}

fn config(out: &Path) -> TrainConfig {
    let mut c = TrainConfig::new(ModelSource::Pretrained(common::tiny_llama()), out.to_path_buf());
    c.batch_size = 4;
    c.lr = 3e-3;
    c.warmup_steps = Some(1);
    c.eval_every = 0;
    c.save_every = 0;
    c
}

fn snapshot(tr: &Trainer) -> Vec<(String, Vec<f32>)> {
    varmap_tensors(tr.varmap())
        .into_iter()
        .map(|(n, t)| (n, t.flatten_all().unwrap().to_vec1::<f32>().unwrap()))
        .collect()
}

fn grads_of(tr: &Trainer, batches: &[MicroBatch]) -> Vec<Vec<f32>> {
    let (_, g, _) = step_gradients(tr.decoder(), tr.vars(), batches).unwrap();
    g.iter().map(|t| t.flatten_all().unwrap().to_vec1::<f32>().unwrap()).collect()
}

fn max_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    a.iter().zip(b).flat_map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs())).fold(0.0, f32::max)
}

#[test]
fn one_step_updates_every_parameter_kind() {
    let dir = tempfile::tempdir().unwrap();
    let mut tr = Trainer::new(config(dir.path()), TrainData { train: examples(128), eval: vec![] }).unwrap();
    let before = snapshot(&tr);
    tr.step(&AtomicBool::new(false)).unwrap().unwrap();
    let after = snapshot(&tr);
    assert_eq!(before.len(), after.len());
    for ((name, b), (_, a)) in before.iter().zip(&after) {
        assert!(b.iter().zip(a).any(|(x, y)| x != y), "{name} did not change");
    }
    let kinds: std::collections::BTreeSet<String> =
        before.iter().map(|(n, _)| n.rsplit('.').nth(1).unwrap().to_string()).collect();
    assert!(kinds.len() >= 9, "kinds covered: {kinds:?}");
}

#[test]
fn prompt_targets_get_exactly_zero_gradient() {
    let dir = tempfile::tempdir().unwrap();
    let exs = examples(128);
    let tr = Trainer::new(config(dir.path()), TrainData { train: exs.clone(), eval: vec![] }).unwrap();
    let refs: Vec<&Example> = exs[..3].iter().collect();
    let mb = MicroBatch::collate(&refs);
    let base = grads_of(&tr, std::slice::from_ref(&mb));
    let mut perturbed = mb.clone();
    let prompt_row = (0..perturbed.targets.len()).find(|r| !mb.rows.contains(&(*r as u32))).unwrap();
    perturbed.targets[prompt_row] = 77;
    assert_eq!(max_diff(&base, &grads_of(&tr, &[perturbed])), 0.0);
    // A response target does change the gradient.
    let mut moved = mb.clone();
    let r = mb.rows[0] as usize;
    moved.targets[r] = (moved.targets[r] + 1) % 300;
    assert!(max_diff(&base, &grads_of(&tr, &[moved])) > 0.0);
}

#[test]
fn step_normalisation_ignores_the_micro_batch_split() {
    let dir = tempfile::tempdir().unwrap();
    let exs = examples(128);
    let tr = Trainer::new(config(dir.path()), TrainData { train: exs.clone(), eval: vec![] }).unwrap();
    let all: Vec<&Example> = exs[..3].iter().collect();
    let one = MicroBatch::collate(&all);
    let split = [MicroBatch::collate(&all[..1]), MicroBatch::collate(&all[1..])];
    assert_ne!(split[0].n_trained(), split[1].n_trained());
    let (a, b) = (grads_of(&tr, &[one]), grads_of(&tr, &split));
    let scale = a.iter().flatten().fold(0f32, |m, x| m.max(x.abs()));
    assert!(max_diff(&a, &b) <= 1e-5 * scale.max(1.0), "diff {}", max_diff(&a, &b));
}

#[test]
fn tiny_run_overfits_resumes_exactly_and_reloads() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let exs = examples(128);
    let data = TrainData { train: exs.clone(), eval: exs[..2].to_vec() };
    let mut cfg = config(a.path());
    cfg.max_steps = Some(12);
    cfg.grad_accum = 2;
    let no = AtomicBool::new(false);
    let mut straight = Trainer::new(cfg.clone(), data.clone()).unwrap();
    let losses: Vec<f64> = (0..12).map(|_| straight.step(&no).unwrap().unwrap().loss).collect();
    eprintln!("loss {:.4} -> {:.4}", losses[0], losses[11]);
    assert!(losses[11] < 0.5 * losses[0], "{losses:?}");

    cfg.out_dir = b.path().to_path_buf();
    let mut first = Trainer::new(cfg.clone(), data.clone()).unwrap();
    let mut resumed: Vec<f64> = (0..6).map(|_| first.step(&no).unwrap().unwrap().loss).collect();
    first.save_checkpoint().unwrap();
    first.step(&no).unwrap(); // work lost in a crash: redone after resume
    drop(first);
    cfg.resume = true;
    let mut second = Trainer::new(cfg, data).unwrap();
    assert_eq!(second.state.global_step, 6);
    resumed.extend((0..6).map(|_| second.step(&no).unwrap().unwrap().loss));
    let diff = losses.iter().zip(&resumed).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    eprintln!("resume max diff {diff:e}");
    assert!(diff <= 1e-5, "{losses:?} vs {resumed:?}");
    let feed = sift::train::checkpoint::read_metrics(&b.path().join("metrics.jsonl"));
    let steps: Vec<usize> = feed.iter().map(|l| l.step).collect();
    assert_eq!(steps, (1..=12).collect::<Vec<_>>());

    let model_dir = second.save_model().unwrap();
    let reloaded = LocalModel::load(&model_dir).unwrap();
    let seqs: Vec<&[u32]> = exs.iter().map(|e| e.tokens.as_slice()).collect();
    let ours = token_logprobs(second.eval_decoder(), &seqs, Kernels::Fast).unwrap();
    let theirs = token_logprobs(&reloaded.decoder, &seqs, Kernels::Fast).unwrap();
    let d = ours.iter().flatten().zip(theirs.iter().flatten()).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert_eq!(d, 0.0);
}

#[test]
fn run_training_reports_and_writes_hf_files() {
    let dir = tempfile::tempdir().unwrap();
    let exs = examples(128);
    let mut cfg = config(dir.path());
    cfg.max_steps = Some(4);
    cfg.eval_every = 2;
    cfg.save_every = 2;
    let (tx, rx) = std::sync::mpsc::channel();
    let data = TrainData { train: exs.clone(), eval: exs[..2].to_vec() };
    let summary = sift::train::run_training(cfg, data, tx, Default::default()).unwrap().unwrap();
    let events: Vec<TrainEvent> = rx.try_iter().collect();
    assert!(matches!(events[0], TrainEvent::Started { total_steps: 4, .. }));
    assert_eq!(events.iter().filter(|e| matches!(e, TrainEvent::Step(_))).count(), 4);
    assert!(events.iter().filter(|e| matches!(e, TrainEvent::Eval { .. })).count() >= 2);
    assert!(matches!(events.last(), Some(TrainEvent::Done(_))));
    assert!(summary.eval_loss.unwrap().is_finite());

    let model = dir.path().join("model");
    let bytes = std::fs::read(model.join("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    assert_eq!(header["__metadata__"]["format"], "pt");
    for name in
        ["model.embed_tokens.weight", "model.layers.1.self_attn.q_proj.weight", "model.norm.weight", "lm_head.weight"]
    {
        assert!(header.get(name).is_some(), "{name} missing");
    }
    for f in ["config.json", "tokenizer.json", "generation_config.json"] {
        assert!(model.join(f).is_file(), "{f}");
    }
    let ckpt = dir.path().join("checkpoint-last");
    for f in ["optimizer.safetensors", "sift_resume.json", "trainer_state.json", "model.safetensors"] {
        assert!(ckpt.join(f).is_file(), "{f}");
    }
    let ts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("trainer_state.json")).unwrap()).unwrap();
    assert_eq!(ts["global_step"], 4);
    assert_eq!(ts["max_steps"], 4);
    let hist = ts["log_history"].as_array().unwrap();
    assert!(
        hist.iter()
            .any(|e| e.get("loss").is_some() && e.get("grad_norm").is_some() && e.get("learning_rate").is_some())
    );
    assert!(hist.iter().any(|e| e.get("eval_loss").is_some()));
    assert!(hist.last().unwrap().get("train_runtime").is_some());
}

#[test]
fn cancel_abandons_the_step_and_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.max_steps = Some(50);
    let (tx, rx) = std::sync::mpsc::channel();
    let cancel = std::sync::Arc::new(AtomicBool::new(false));
    let c2 = cancel.clone();
    let data = TrainData { train: examples(128), eval: vec![] };
    let h = std::thread::spawn(move || sift::train::run_training(cfg, data, tx, c2).unwrap());
    for ev in rx.iter() {
        if let TrainEvent::Step(m) = &ev
            && m.step == 2
        {
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if let TrainEvent::Cancelled { step, checkpoint_written } = ev {
            assert!(step >= 2 && checkpoint_written);
        }
    }
    assert!(h.join().unwrap().is_none());
    assert!(dir.path().join("checkpoint-last/sift_resume.json").is_file());
    assert!(!dir.path().join("model").exists());
}

#[test]
fn adamw_decays_matrices_only_and_schedule_warms_up_then_decays() {
    use candle_core::{Device, Tensor, Var};
    use sift::train::{AdamW, AdamWParams, clip_grad_norm, lr_at};
    let dev = Device::Cpu;
    let w = Var::from_tensor(&Tensor::ones((2, 2), candle_core::DType::F32, &dev).unwrap()).unwrap();
    let n = Var::from_tensor(&Tensor::ones(2, candle_core::DType::F32, &dev).unwrap()).unwrap();
    let params = AdamWParams { weight_decay: 0.1, ..Default::default() };
    let mut opt = AdamW::new(vec![("w".into(), w.clone()), ("norm.weight".into(), n.clone())], params).unwrap();
    let zeros = [w.zeros_like().unwrap(), n.zeros_like().unwrap()];
    opt.update(&zeros, 0.5).unwrap();
    assert_eq!(w.as_tensor().flatten_all().unwrap().to_vec1::<f32>().unwrap(), vec![0.95; 4]);
    assert_eq!(n.as_tensor().to_vec1::<f32>().unwrap(), vec![1.0; 2]);
    // Clipping scales to the max norm and reports the norm before clipping.
    let mut g = vec![Tensor::new(&[3f32, 4.0], &dev).unwrap()];
    assert_eq!(clip_grad_norm(&mut g, 1.0).unwrap(), 5.0);
    let v = g[0].to_vec1::<f32>().unwrap();
    assert!((v[0] - 0.6).abs() < 1e-5 && (v[1] - 0.8).abs() < 1e-5);
    assert!((lr_at(0, 1.0, 4, 100, 0.1) - 0.25).abs() < 1e-12);
    assert!((lr_at(3, 1.0, 4, 100, 0.1) - 1.0).abs() < 1e-12);
    assert!((lr_at(4, 1.0, 4, 100, 0.1) - 1.0).abs() < 1e-12);
    assert!((lr_at(100, 1.0, 4, 100, 0.1) - 0.1).abs() < 1e-12);
    assert!(lr_at(50, 1.0, 4, 100, 0.1) < 0.6 && lr_at(50, 1.0, 4, 100, 0.1) > 0.5);
}

/// PyTorch's AdamW, one scalar at a time, in f64.
fn adamw_reference(p: &mut [f64], m: &mut [f64], v: &mut [f64], g: &[f64], step: i32, lr: f64, wd: f64) {
    let (b1, b2, eps) = (0.9, 0.999, 1e-8);
    for i in 0..p.len() {
        p[i] *= 1.0 - lr * wd;
        m[i] = b1 * m[i] + (1.0 - b1) * g[i];
        v[i] = b2 * v[i] + (1.0 - b2) * g[i] * g[i];
        let (mh, vh) = (m[i] / (1.0 - b1.powi(step)), v[i] / (1.0 - b2.powi(step)));
        p[i] -= lr * mh / (vh.sqrt() + eps);
    }
}

#[test]
fn adamw_matches_pytorch_in_place_for_f32_and_through_tensor_ops_for_f64() {
    use candle_core::{DType, Device, Tensor, Var};
    use sift::train::{AdamW, AdamWParams};
    let n = 40_000; // several parallel chunks
    let start: Vec<f64> = (0..n).map(|i| ((i * 37 % 101) as f64 - 50.0) / 25.0).collect();
    let grads: Vec<Vec<f64>> =
        (0..3).map(|s| (0..n).map(|i| (((i * 13 + s * 7) % 89) as f64 - 44.0) / 10.0).collect()).collect();
    let params = AdamWParams { weight_decay: 0.1, ..Default::default() };
    let (mut p, mut m, mut v) = (start.clone(), vec![0.0; n], vec![0.0; n]);
    for (s, g) in grads.iter().enumerate() {
        adamw_reference(&mut p, &mut m, &mut v, g, s as i32 + 1, 0.01, 0.1);
    }
    for dtype in [DType::F32, DType::F64] {
        let var = Var::from_tensor(
            &Tensor::from_vec(start.clone(), (n / 100, 100), &Device::Cpu).unwrap().to_dtype(dtype).unwrap(),
        )
        .unwrap();
        let mut opt = AdamW::new(vec![("w".into(), var.clone())], params).unwrap();
        for g in &grads {
            let g = Tensor::from_vec(g.clone(), (n / 100, 100), &Device::Cpu).unwrap().to_dtype(dtype).unwrap();
            opt.update(&[g], 0.01).unwrap();
        }
        let got: Vec<f64> = var.as_tensor().to_dtype(DType::F64).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        let worst = got.iter().zip(&p).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        assert!(worst < 1e-5, "{dtype:?}: worst difference from PyTorch's AdamW {worst:e}");
        let moved = got.iter().zip(&start).filter(|(a, b)| (*a - *b).abs() > 1e-3).count();
        assert!(moved > n / 2, "{dtype:?}: the update moved only {moved} of {n} parameters");
    }
}
