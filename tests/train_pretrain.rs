//! `sift pretrain` end to end on a corpus slice with a tiny config: tokenizer, f16 HF model,
//! pretrain_log.json (with the instruction-tuning phase), determinism for a seed, and the
//! validation slice kept out of training.

mod common;

use sift::dataset::RecordTextBuf;
use sift::train::pretrain::{is_validation, record_documents, unigram_baseline};
use std::path::Path;

fn pretrain(out: &Path) -> std::process::Output {
    pretrain_with(out, &[])
}

fn pretrain_with(out: &Path, extra: &[&str]) -> std::process::Output {
    common::sift()
        .args(["pretrain", "--corpus", common::shared("alpaca/alpaca_data.json").to_str().unwrap()])
        .args(["--out", out.to_str().unwrap(), "--limit", "120", "--vocab", "400", "--hidden", "32", "--layers", "1"])
        .args(["--heads", "2", "--kv-heads", "1", "--intermediate", "64", "--context", "128", "--max-steps", "4"])
        .args(["--batch", "8", "--eval-every", "2", "--seed", "5", "--sft-steps", "3"])
        .args(extra)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .unwrap()
}

#[test]
fn pretrain_builds_a_loadable_f16_model_deterministically() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    let o = pretrain(&a);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for f in ["config.json", "model.safetensors", "tokenizer.json", "generation_config.json", "pretrain_log.json"] {
        assert!(a.join(f).is_file(), "{f}");
    }
    let log: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("pretrain_log.json")).unwrap()).unwrap();
    assert_eq!(log["steps"], 4);
    for k in ["val_loss", "val_loss_response", "unigram_baseline", "final_train_loss", "wall_time_s"] {
        assert!(log[k].as_f64().unwrap().is_finite(), "{k}");
    }
    // The instruction-tuning phase ran after pretraining and moved the response loss.
    assert_eq!(log["sft"]["steps"], 3);
    let before = log["sft"]["base_val_loss_response"].as_f64().unwrap();
    assert!(before.is_finite() && before != log["val_loss_response"].as_f64().unwrap());
    assert!(log["tokens_seen"].as_u64().unwrap() > 0);
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(a.join("config.json")).unwrap()).unwrap();
    assert_eq!(cfg["dtype"], "float16");
    let tok = tokenizers::Tokenizer::from_file(a.join("tokenizer.json")).unwrap();
    assert_eq!(
        [tok.token_to_id("<s>"), tok.token_to_id("</s>"), tok.token_to_id("<pad>")],
        [Some(0), Some(1), Some(2)]
    );
    let model = sift::model::LocalModel::load(&a).unwrap();
    assert_eq!(model.eos_token_ids, vec![1]);
    assert!(pretrain(&b).status.success());
    assert_eq!(
        std::fs::read(a.join("model.safetensors")).unwrap(),
        std::fs::read(b.join("model.safetensors")).unwrap()
    );

    // A run killed inside the instruction-tuning phase, before that phase's first checkpoint: its
    // work directory holds the finished first phase and a partial feed of the second, and no
    // final model. --resume completes it to the same weights as the uninterrupted run.
    let c = d.path().join("c");
    let (a_run, c_run) = (d.path().join("a-run"), d.path().join("c-run"));
    copy_dir(&a_run, &c_run);
    std::fs::remove_dir_all(c_run.join("sft/checkpoint-last")).unwrap();
    let feed = std::fs::read_to_string(c_run.join("sft/metrics.jsonl")).unwrap();
    std::fs::write(c_run.join("sft/metrics.jsonl"), feed.lines().next().unwrap()).unwrap();
    let o = pretrain_with(&c, &["--resume"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(a.join("model.safetensors")).unwrap(),
        std::fs::read(c.join("model.safetensors")).unwrap()
    );
    let log: serde_json::Value = serde_json::from_slice(&std::fs::read(c.join("pretrain_log.json")).unwrap()).unwrap();
    assert_eq!((log["steps"].as_u64(), log["sft"]["steps"].as_u64()), (Some(4), Some(3)));
    let feed = std::fs::read_to_string(c_run.join("sft/metrics.jsonl")).unwrap();
    let losses = feed.lines().filter(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["loss"].is_number());
    assert_eq!(losses.count(), 3, "the restarted phase logs each of its steps once: {feed}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn validation_slice_and_document_shapes() {
    assert!(is_validation(0) && is_validation(40) && !is_validation(21));
    let r = RecordTextBuf { instruction: "Add.".into(), input: "1 2".into(), output: "3".into() };
    let docs = record_documents(&r);
    assert_eq!(docs[0], (sift::prompt::alpaca_prompt("Add.", "1 2"), "3".to_string()));
    assert!(
        docs.iter().any(|d| d.1 == "1 2\n\n3")
            && docs.iter().any(|d| d.1 == "3")
            && docs.iter().any(|d| d.1 == "1 2")
            && docs.contains(&("Add.\n\n1 2\n".to_string(), "3".to_string()))
    );
    let plain = RecordTextBuf { instruction: "Hi.".into(), input: "".into(), output: "Hello".into() };
    assert_eq!(record_documents(&plain).len(), 3);
    let ex = |t: Vec<u32>| sift::train::Example { trained: t.iter().map(|_| true).collect(), tokens: t, source: 0 };
    // Uniform training counts over 4 tokens of a 4-token vocabulary: ln 4 per token.
    let u = unigram_baseline(&[ex(vec![0, 0, 1, 2, 3])], &[ex(vec![0, 1, 2])], 4);
    assert!((u - (8f64 / 2.0).ln()).abs() < 1e-12, "{u}");
}
