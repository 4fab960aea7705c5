//! Parity with transformers: tiny random Llama (llama3 rope, `rope_parameters` config) and Qwen2
//! (q/k/v bias, tied embeddings, legacy top-level `rope_theta`) fixtures made by
//! tools/make_fixtures.py; reference log-probs are from transformers in float32 eval mode.

use candle_core::{DType, Device, Tensor};
use serde_json::Value;
use sift::model::{
    CheckpointFiles, Kernels, LocalModel, generate, save_hf_checkpoint, sequence_logprobs, token_logprobs,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

struct Reference {
    ids: Vec<Vec<u32>>,
    texts: Vec<String>,
    logprobs: Vec<Vec<f32>>,
    greedy_prompt: Vec<u32>,
    greedy: Vec<u32>,
}

fn ids_of(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

fn reference(dir: &Path) -> Reference {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap()).unwrap();
    let seqs = v["sequences"].as_array().unwrap();
    Reference {
        ids: seqs.iter().map(|s| ids_of(&s["ids"])).collect(),
        texts: seqs.iter().map(|s| s["text"].as_str().unwrap().to_string()).collect(),
        logprobs: seqs
            .iter()
            .map(|s| s["logprobs"].as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect())
            .collect(),
        greedy_prompt: ids_of(&v["greedy"]["prompt"]),
        greedy: ids_of(&v["greedy"]["continuation"]),
    }
}

fn max_abs_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> f32 {
    assert_eq!(a.len(), b.len());
    let mut worst = 0f32;
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x.len(), y.len(), "length mismatch");
        for (p, q) in x.iter().zip(y) {
            worst = worst.max((p - q).abs());
        }
    }
    worst
}

fn check_logprobs(name: &str) {
    let dir = fixture(name);
    let model = LocalModel::load(&dir).unwrap();
    let r = reference(&dir);
    for (text, ids) in r.texts.iter().zip(&r.ids) {
        assert_eq!(&model.encode(text).unwrap(), ids, "tokenizer mismatch on {text:?}");
    }
    let batch: Vec<&[u32]> = r.ids.iter().map(|v| v.as_slice()).collect();
    for mode in [Kernels::Fast, Kernels::Train] {
        // One right-padded batch of different lengths, and each sequence alone.
        let got = token_logprobs(&model.decoder, &batch, mode).unwrap();
        let d = max_abs_diff(&got, &r.logprobs);
        eprintln!("{name} {mode:?} batched: max |diff| = {d:.3e}");
        assert!(d < 1e-4, "{name} {mode:?}: max abs diff {d}");
        for (ids, want) in batch.iter().zip(&r.logprobs) {
            let got = token_logprobs(&model.decoder, &[ids], mode).unwrap();
            let d = max_abs_diff(&got, std::slice::from_ref(want));
            assert!(d < 1e-4, "{name} {mode:?} single: max abs diff {d}");
        }
    }
    // The bucketing wrapper returns results in input order.
    let got = sequence_logprobs(&model, &r.ids).unwrap();
    assert!(max_abs_diff(&got, &r.logprobs) < 1e-4);
    // Full-position logits agree with the log-prob path.
    let ids = Tensor::new(r.ids[1].as_slice(), &Device::Cpu).unwrap().unsqueeze(0).unwrap();
    let logits = model.decoder.forward(&ids, Kernels::Fast).unwrap();
    assert_eq!(logits.dims(), &[1, r.ids[1].len(), model.config.vocab_size]);
}

fn check_greedy(name: &str) {
    let dir = fixture(name);
    let model = LocalModel::load(&dir).unwrap();
    let r = reference(&dir);
    // KV-cache decoding, token by token, must reproduce transformers' full-forward argmax.
    let dec = &model.decoder;
    let mut cache = dec.new_cache();
    let mut input = r.greedy_prompt.clone();
    let mut pos = 0;
    let mut out = vec![];
    for _ in 0..r.greedy.len() {
        let ids = Tensor::new(input.as_slice(), &Device::Cpu).unwrap().unsqueeze(0).unwrap();
        let logits = dec.forward_step(&ids, &mut cache, pos).unwrap();
        pos += input.len();
        let next = logits.squeeze(0).unwrap().argmax(0).unwrap().to_scalar::<u32>().unwrap();
        out.push(next);
        input = vec![next];
    }
    assert_eq!(out, r.greedy, "{name}: greedy continuation differs");
    // generate() stops at the first EOS and streams text that adds up to the final text.
    let want: Vec<u32> = r.greedy.iter().copied().take_while(|t| !model.eos_token_ids.contains(t)).collect();
    let params = sift::model::GenerateParams { max_new_tokens: r.greedy.len(), ..Default::default() };
    let mut streamed = String::new();
    let g = generate(&model, &r.greedy_prompt, &params, &AtomicBool::new(false), |s| streamed.push_str(s)).unwrap();
    assert_eq!(g.tokens, want);
    assert_eq!(streamed, g.text);
    let cancelled = generate(&model, &r.greedy_prompt, &params, &AtomicBool::new(true), |_| {}).unwrap();
    assert!(cancelled.tokens.is_empty());
    assert_eq!(cancelled.stop, sift::model::StopReason::Cancelled);
    // Sampling with a fixed seed is reproducible.
    let sampled = sift::model::GenerateParams { temperature: 0.8, top_p: Some(0.9), seed: 7, ..params };
    let a = generate(&model, &r.greedy_prompt, &sampled, &AtomicBool::new(false), |_| {}).unwrap();
    let b = generate(&model, &r.greedy_prompt, &sampled, &AtomicBool::new(false), |_| {}).unwrap();
    assert_eq!(a.tokens, b.tokens);
}

#[test]
fn llama_logprobs_match_transformers() {
    check_logprobs("tiny-llama");
}

#[test]
fn qwen2_logprobs_match_transformers() {
    check_logprobs("tiny-qwen2");
}

#[test]
fn llama_greedy_matches_transformers() {
    check_greedy("tiny-llama");
}

#[test]
fn qwen2_greedy_matches_transformers() {
    check_greedy("tiny-qwen2");
}

fn roundtrip(name: &str) {
    let src = fixture(name);
    let model = LocalModel::load(&src).unwrap();
    let tensors: Vec<(String, Tensor)> =
        candle_core::safetensors::load(src.join("model.safetensors"), &Device::Cpu).unwrap().into_iter().collect();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ckpt");
    let files = CheckpointFiles { tokenizer_json: model.tokenizer_json_bytes().unwrap(), ..Default::default() };
    // Writing twice replaces the first checkpoint in place.
    save_hf_checkpoint(&out, &model.config, &tensors, &files).unwrap();
    save_hf_checkpoint(&out, &model.config, &tensors, &files).unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("ckpt")]);
    let bytes = std::fs::read(out.join("model.safetensors")).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(meta.metadata().as_ref().unwrap().get("format").map(String::as_str), Some("pt"));
    let names: Vec<String> = meta.tensors().keys().cloned().collect();
    assert_eq!(names.contains(&"lm_head.weight".to_string()), !model.config.tie_word_embeddings);
    let back = LocalModel::load(&out).unwrap();
    let r = reference(&src);
    let a = sequence_logprobs(&model, &r.ids).unwrap();
    let b = sequence_logprobs(&back, &r.ids).unwrap();
    assert_eq!(a, b);
    assert_eq!(back.config.rope_theta, model.config.rope_theta);
    assert_eq!(back.config.rope_scaling, model.config.rope_scaling);
    assert!(out.join("generation_config.json").is_file());
    // Fingerprint: stable for the same content, different when a weight changes.
    assert_eq!(LocalModel::load(&out).unwrap().fingerprint(), back.fingerprint());
    let mut changed = tensors.clone();
    let i = changed.iter().position(|(n, _)| n == "model.norm.weight").unwrap();
    changed[i].1 = (&changed[i].1 * 1.5).unwrap();
    save_hf_checkpoint(&out, &model.config, &changed, &files).unwrap();
    assert_ne!(LocalModel::load(&out).unwrap().fingerprint(), back.fingerprint());
}

#[test]
fn checkpoint_round_trip_llama() {
    roundtrip("tiny-llama");
}

#[test]
fn checkpoint_round_trip_qwen2_tied() {
    roundtrip("tiny-qwen2");
}

#[test]
fn half_precision_weights_load_as_f32() {
    let src = fixture("tiny-llama");
    let model = LocalModel::load(&src).unwrap();
    let tensors: Vec<(String, Tensor)> = candle_core::safetensors::load(src.join("model.safetensors"), &Device::Cpu)
        .unwrap()
        .into_iter()
        .map(|(n, t)| (n, t.to_dtype(DType::BF16).unwrap()))
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bf16");
    let files = CheckpointFiles { tokenizer_json: model.tokenizer_json_bytes().unwrap(), ..Default::default() };
    save_hf_checkpoint(&out, &model.config, &tensors, &files).unwrap();
    let cfg: Value = serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["dtype"], "bfloat16");
    let half = LocalModel::load(&out).unwrap();
    assert_eq!(half.decoder.dtype(), DType::F32);
    let r = reference(&src);
    let d = max_abs_diff(&sequence_logprobs(&half, &r.ids).unwrap(), &r.logprobs);
    assert!(d > 0.0 && d < 0.5, "bf16 weights: diff {d}");
}

#[test]
fn sharded_checkpoint_loads() {
    let src = fixture("tiny-qwen2");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let all = candle_core::safetensors::load(src.join("model.safetensors"), &Device::Cpu).unwrap();
    let (mut a, mut b) = (std::collections::HashMap::new(), std::collections::HashMap::new());
    let mut map = serde_json::Map::new();
    for (n, t) in all {
        let (file, part) =
            if n.contains("layers.0") { ("s-1.safetensors", &mut a) } else { ("s-2.safetensors", &mut b) };
        map.insert(n.clone(), Value::from(file));
        part.insert(n, t);
    }
    candle_core::safetensors::save(&a, dir.join("s-1.safetensors")).unwrap();
    candle_core::safetensors::save(&b, dir.join("s-2.safetensors")).unwrap();
    let index = serde_json::json!({"metadata": {}, "weight_map": map});
    std::fs::write(dir.join("model.safetensors.index.json"), index.to_string()).unwrap();
    let model = LocalModel::load(dir).unwrap();
    let r = reference(&src);
    assert!(max_abs_diff(&sequence_logprobs(&model, &r.ids).unwrap(), &r.logprobs) < 1e-4);
}

#[test]
fn non_model_directory_error_names_path_and_expectation() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("config.json"), "{}").unwrap();
    let err = format!("{:#}", LocalModel::load(tmp.path()).err().unwrap());
    assert!(err.contains(&tmp.path().display().to_string()), "{err}");
    assert!(err.contains("tokenizer.json") && err.contains("model.safetensors"), "{err}");
    let missing = tmp.path().join("nope");
    let err = format!("{:#}", LocalModel::load(&missing).err().unwrap());
    assert!(err.contains("nope") && err.contains("config.json"), "{err}");
}

/// Writes checkpoints for tools/check_checkpoint.py (transformers loads them and compares
/// log-probs): a fresh seeded Llama (config built from scratch) and the tied Qwen2 fixture.
/// `SIFT_EXPORT_DIR=/tmp/x cargo test --release --test model_parity -- --ignored export`
#[test]
#[ignore]
fn export_checkpoints_for_transformers() {
    let out = PathBuf::from(std::env::var("SIFT_EXPORT_DIR").expect("set SIFT_EXPORT_DIR"));
    let qwen = LocalModel::load(&fixture("tiny-qwen2")).unwrap();
    let files = CheckpointFiles { tokenizer_json: qwen.tokenizer_json_bytes().unwrap(), ..Default::default() };
    let ids: Vec<Vec<u32>> = vec![vec![5, 77, 12, 250, 31, 9, 140, 3], vec![200, 1, 45, 66, 7]];
    // Fresh Llama with weights scaled up so the log-probs are far from uniform.
    let mut cfg = sift::model::ModelConfig::llama(320, 64, 96, 2, 4, 2);
    cfg.rope_theta = 50000.0;
    cfg.eos_token_ids = vec![1];
    cfg.bos_token_id = Some(0);
    let (vm, dec) = sift::model::init_varmap(&cfg, 3, DType::F32, &Device::Cpu).unwrap();
    for (name, var) in vm.data().lock().unwrap().iter() {
        if !name.ends_with("norm.weight") {
            var.set(&(var.as_tensor() * 8.0).unwrap()).unwrap();
        }
    }
    let tensors = sift::model::varmap_tensors(&vm);
    save_hf_checkpoint(&out.join("fresh-llama"), &cfg, &tensors, &files).unwrap();
    let lp = sift::model::batched_logprobs(&dec.detached(), &ids, 2048, Kernels::Fast).unwrap();
    let qwen_tensors: Vec<(String, Tensor)> =
        candle_core::safetensors::load(fixture("tiny-qwen2").join("model.safetensors"), &Device::Cpu)
            .unwrap()
            .into_iter()
            .collect();
    save_hf_checkpoint(&out.join("qwen2-copy"), &qwen.config, &qwen_tensors, &files).unwrap();
    let lq = sequence_logprobs(&qwen, &ids).unwrap();
    let refs = serde_json::json!({"ids": ids, "fresh-llama": lp, "qwen2-copy": lq});
    std::fs::write(out.join("rust_logprobs.json"), refs.to_string()).unwrap();
}

#[test]
fn model_types_can_move_to_worker_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<LocalModel>();
    send_sync::<sift::model::Decoder>();
    send_sync::<sift::model::KvCache>();
}
