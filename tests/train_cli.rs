//! SFT data building (exact Alpaca template, label mask, truncation, conversations), the task
//! split, `sift train` end to end on a tiny model, run listing, and "try it".

mod common;

use candle_core::{DType, Device};
use sift::model::load::{CheckpointFiles, save_hf_checkpoint};
use sift::model::{GenerateParams, ModelConfig, init_weights};
use sift::prompt::{alpaca_prompt, record_segments};
use sift::session::{OpenOptions, Session};
use sift::train::build_examples;
use sift::train::data::{SftTokenizer, Skip, tokenize_segments};
use sift::train::run_folder::RunStatus;
use std::path::{Path, PathBuf};

/// The tiny fixture architecture with a 1024-token context and fresh weights, as a model dir.
fn base_model(dir: &Path) -> PathBuf {
    let mut cfg = ModelConfig::from_file(&common::tiny_llama().join("config.json")).unwrap();
    cfg.max_position_embeddings = 1024;
    let tensors = init_weights(&cfg, 3, DType::F32, &Device::Cpu).unwrap();
    let files = CheckpointFiles {
        tokenizer_json: std::fs::read(common::tiny_llama().join("tokenizer.json")).unwrap(),
        ..Default::default()
    };
    let out = dir.join("base");
    save_hf_checkpoint(&out, &cfg, &tensors, &files).unwrap();
    out
}

fn alpaca_file(n: usize) -> (tempfile::TempDir, PathBuf) {
    let verbs = ["Write", "Name", "Explain", "List", "Give", "Describe"];
    let recs: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let input = if i % 3 == 0 { format!("item {i}") } else { String::new() };
            serde_json::json!({"instruction": format!("{} thing {}.", verbs[i % verbs.len()], i % 4),
                "input": input, "output": format!("Answer {i}.")})
        })
        .collect();
    common::temp_file("data.json", serde_json::to_string_pretty(&recs).unwrap().as_bytes())
}

#[test]
fn alpaca_template_is_exact_stanford_text() {
    assert_eq!(
        alpaca_prompt("Add.", ""),
        "Below is an instruction that describes a task. Write a response that appropriately completes the \
         request.\n\n### Instruction:\nAdd.\n\n### Response:"
    );
    assert_eq!(
        alpaca_prompt("Add.", "1 2"),
        "Below is an instruction that describes a task, paired with an input that provides further context. \
         Write a response that appropriately completes the request.\n\n### Instruction:\nAdd.\n\n### Input:\n1 \
         2\n\n### Response:"
    );
}

#[test]
fn labels_cover_response_and_eos_only_and_truncation_keeps_the_response() {
    let tok = SftTokenizer::from_model_dir(&common::tiny_llama()).unwrap();
    let (_d, path) = alpaca_file(4);
    let session = Session::open(&path, &OpenOptions::default()).unwrap();
    let rec = session.dataset().record(1).unwrap();
    let segs = record_segments(&rec, session.dataset().format());
    assert_eq!(segs, vec![(alpaca_prompt(&rec.instruction, ""), false), ("Answer 1.".to_string(), true)]);
    let ex = tokenize_segments(&tok, &segs, 1000, 1).unwrap().unwrap();
    let prompt_len = 1 + tok.encode(&segs[0].0).unwrap().len();
    let resp = tok.encode("Answer 1.").unwrap();
    assert_eq!(ex.tokens.len(), prompt_len + resp.len() + 1);
    assert_eq!(*ex.tokens.last().unwrap(), tok.eos);
    assert_eq!(ex.tokens[0], tok.bos.unwrap());
    assert!(ex.trained[..prompt_len].iter().all(|t| !t) && ex.trained[prompt_len..].iter().all(|&t| t));
    // Truncation drops prompt tokens first and keeps the whole response.
    let cut = tokenize_segments(&tok, &segs, prompt_len - 3 + resp.len() + 1, 1).unwrap().unwrap();
    assert_eq!(cut.tokens.len(), prompt_len - 3 + resp.len() + 1);
    assert_eq!(cut.tokens[cut.tokens.len() - resp.len() - 1..], ex.tokens[prompt_len..]);
    assert_eq!(cut.n_trained(), resp.len() + 1);
    assert_eq!(tokenize_segments(&tok, &segs, prompt_len, 1).unwrap(), Err(Skip::PromptTooLong));
    let built = build_examples(&session, &[0, 1, 2, 3], &tok, 20).unwrap();
    assert_eq!((built.examples.len(), built.skipped_too_long), (0, 4));
}

#[test]
fn conversations_train_every_assistant_turn() {
    let conv = r#"[{"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"},
        {"from": "human", "value": "Bye"}, {"from": "gpt", "value": "Goodbye!"}]}]"#;
    let (_d, path) = common::temp_file("chat.json", conv.as_bytes());
    let session = Session::open(&path, &OpenOptions::default()).unwrap();
    let rec = session.dataset().record(0).unwrap();
    let segs = record_segments(&rec, session.dataset().format());
    let trained: Vec<&str> = segs.iter().filter(|s| s.1).map(|s| s.0.as_str()).collect();
    assert_eq!(trained, ["Hello!", "Goodbye!"]);
    assert!(segs.iter().any(|s| !s.1 && s.0.contains("Bye")));
    let tok = SftTokenizer::from_model_dir(&common::tiny_llama()).unwrap();
    let ex = tokenize_segments(&tok, &segs, 1000, 0).unwrap().unwrap();
    assert_eq!(ex.tokens.iter().filter(|&&t| t == tok.eos).count(), 2);
}

#[test]
fn task_split_holds_out_whole_tasks_and_records_deterministically() {
    let (_d, path) = alpaca_file(60);
    let session = Session::open(&path, &OpenOptions::default()).unwrap();
    let all: Vec<usize> = (0..60).collect();
    let s = sift::train::split::split_by_task(&session, &all, 0.1, 7);
    assert_eq!(s, sift::train::split::split_by_task(&session, &all, 0.1, 7));
    assert!(!s.inter.is_empty() && !s.intra.is_empty());
    assert_eq!(s.train.len() + s.intra.len() + s.inter.len(), 60);
    let task = |p: &usize| sift::train::split::task_of(&session, *p);
    assert!(s.inter.iter().all(|p| s.unseen_tasks.contains(&task(p))));
    assert!(s.train.iter().chain(&s.intra).all(|p| !s.unseen_tasks.contains(&task(p))));
    assert!(s.intra.iter().all(|p| s.train.iter().any(|q| task(q) == task(p))));
}

#[test]
fn with_evaluation_off_the_report_still_measures_the_base_model() {
    let (d, path) = alpaca_file(40);
    let base = base_model(d.path());
    let out = d.path().join("runs/quiet");
    let o = common::sift()
        .args(["train", path.to_str().unwrap(), "--select", "all", "--base", base.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap(), "--max-steps", "2", "--batch", "4", "--eval-every", "0"])
        .args(["--eval-frac", "0.1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let g: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("generalisation.json")).unwrap()).unwrap();
    for k in ["intra_task", "inter_task"] {
        assert!(g[k]["before"].as_f64().is_some_and(f64::is_finite) && g[k]["after"].is_number(), "{g}");
    }
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert!(!metrics.contains("\"step\":0"), "no step-0 point with evaluation off: {metrics}");
}

#[test]
fn sift_train_end_to_end_lists_resumes_and_answers() {
    let (d, path) = alpaca_file(40);
    let base = base_model(d.path());
    let out = d.path().join("runs/first");
    let run = |extra: &[&str]| {
        common::sift()
            .args(["train", path.to_str().unwrap(), "--select", "all", "--base", base.to_str().unwrap()])
            .args(["--out", out.to_str().unwrap(), "--max-steps", "4", "--batch", "4", "--eval-every", "2"])
            .args(["--lr", "1e-3", "--eval-frac", "0.1"])
            .args(extra)
            .output()
            .unwrap()
    };
    let o = run(&[]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}\n{}", stdout, String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("unseen tasks (inter)"), "{stdout}");
    // Not a terminal: plain progress lines, no carriage returns in a log.
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("4/4 steps") && !stderr.contains('\r'), "{stderr}");
    assert_complete_hf_folder(&out.join("model"));
    for f in
        ["train.jsonl", "eval.jsonl", "run_config.json", "metrics.jsonl", "trainer_state.json", "generalisation.json"]
    {
        assert!(out.join(f).is_file(), "{f}");
    }
    let lines = std::fs::read_to_string(out.join("train.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert!(first["instruction"].is_string());
    let g: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("generalisation.json")).unwrap()).unwrap();
    assert!(g["intra_task"]["before"].as_f64().unwrap() > g["intra_task"]["after"].as_f64().unwrap());
    // The chart's step-0 point is the base model on both held-out sets: the report's "before"
    // figures weighted by their tokens (measured once, not twice).
    let metrics = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    let step0: Vec<f64> = metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|m| m["step"] == 0)
        .map(|m| m["eval_loss"].as_f64().unwrap())
        .collect();
    let part = |k: &str| (g[k]["before"].as_f64().unwrap(), g[k]["tokens"].as_f64().unwrap());
    let ((a, na), (b, nb)) = (part("intra_task"), part("inter_task"));
    assert_eq!(step0.len(), 1, "{metrics}");
    assert!((step0[0] - (a * na + b * nb) / (na + nb)).abs() < 1e-9, "{step0:?} vs {a} {b}");
    // That evaluation runs after the first step, so the first line of the feed is a loss; the
    // trainer_state.json history still lists it first, in step order.
    let line1: serde_json::Value = serde_json::from_str(metrics.lines().next().unwrap()).unwrap();
    assert!(line1["step"] == 1 && line1["loss"].is_number(), "{line1}");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("trainer_state.json")).unwrap()).unwrap();
    let history = state["log_history"].as_array().unwrap();
    assert!(history[0]["step"] == 0 && history[0]["eval_loss"].as_f64() == Some(step0[0]), "{:?}", history[0]);
    assert!(history.windows(2).all(|w| w[0]["step"].as_u64() <= w[1]["step"].as_u64()));
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("run_config.json")).unwrap()).unwrap();
    assert_eq!(cfg["selection"], "all");
    assert!(cfg["base_model"]["fingerprint"].as_str().unwrap().starts_with("xxh3-"));

    // The same folder is refused without --resume; with it the finished run stays finished.
    assert!(!run(&[]).status.success());
    assert!(run(&["--resume"]).status.success());

    let runs = sift::train::run_folder::list(&d.path().join("runs")).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].steps, runs[0].status, runs[0].trainer.as_str()), (4, RunStatus::Finished, "sift"));
    assert!(runs[0].final_loss.is_some() && runs[0].eval_loss.is_some());

    let mut pieces = String::new();
    let params = GenerateParams { max_new_tokens: 8, ..Default::default() };
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let g =
        sift::train::try_it::answer(&out.join("model"), "Name thing 1.", "", &params, |p| pieces.push_str(p), &cancel)
            .unwrap();
    assert_eq!(pieces, g.text);
    assert!(!g.tokens.is_empty());
}

/// A folder the trainers load as it is: tokenizer config with sift's chat template and special
/// tokens, the special-tokens map, generation config, readable files, `{"format": "pt"}` metadata, and
/// a tokenizer that puts BOS first when asked for special tokens (transformers' default).
fn assert_complete_hf_folder(dir: &Path) {
    let cfg = ModelConfig::from_file(&dir.join("config.json")).unwrap();
    let tc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("tokenizer_config.json")).unwrap()).unwrap();
    assert_eq!(tc["chat_template"].as_str(), Some(sift::prompt::CHAT_TEMPLATE));
    for k in ["bos_token", "eos_token", "pad_token"] {
        assert!(tc[k].is_string(), "{k}: {tc}");
    }
    assert_eq!(tc["model_max_length"].as_u64(), Some(cfg.max_position_embeddings as u64));
    let map: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("special_tokens_map.json")).unwrap()).unwrap();
    assert_eq!(map["eos_token"], tc["eos_token"]);
    assert!(dir.join("generation_config.json").is_file());
    #[cfg(unix)]
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(e.metadata().unwrap().permissions().mode() & 0o777, 0o644, "{}", e.path().display());
    }
    let st = std::fs::read(dir.join("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(st[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&st[8..8 + n]).unwrap();
    assert_eq!(header["__metadata__"]["format"], "pt");
    let tok = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    let with = tok.encode("Hello there", true).unwrap().get_ids().to_vec();
    let without = tok.encode("Hello there", false).unwrap().get_ids().to_vec();
    assert_eq!(with[0], cfg.bos_token_id.unwrap());
    assert_eq!(&with[1..], &without[..]);
}

#[test]
fn the_bundled_model_is_a_complete_hf_folder() {
    assert_complete_hf_folder(&Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/model"));
}

#[test]
fn train_without_base_uses_the_bundled_model_and_a_bad_sift_model_is_named() {
    let (d, path) = alpaca_file(12);
    let cache = d.path().join("cache");
    let out = d.path().join("run");
    let o = common::sift()
        .env_remove("SIFT_MODEL")
        .env("SIFT_CACHE_DIR", &cache)
        .args(["train", path.to_str().unwrap(), "--select", "all", "--max-steps", "2", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let base = sift::model::bundled::unpack_bundled(&cache.join("models")).unwrap();
    let trained = sift::model::LocalModel::load(&out.join("model")).unwrap();
    let bundled = sift::model::LocalModel::load(&base).unwrap().config;
    let shape = |c: &ModelConfig| (c.vocab_size, c.hidden_size, c.num_hidden_layers, c.intermediate_size);
    assert_eq!(shape(&trained.config), shape(&bundled), "the run fine-tuned the bundled model");
    let o = common::sift()
        .env("SIFT_MODEL", "/nonexistent/model")
        .args(["train", path.to_str().unwrap(), "--select", "all", "--out", "/tmp/unused-sift-run"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/model"));
}

#[test]
fn run_dates_are_utc_calendar_dates() {
    use sift::train::run_folder::format_unix;
    assert_eq!(format_unix(0), "1970-01-01 00:00");
    assert_eq!(format_unix(951_782_400), "2000-02-29 00:00");
    assert_eq!(format_unix(1_795_300_000), "2026-11-21 22:26");
}

#[test]
fn try_streams_an_answer_and_matches_the_library() {
    let o = common::sift()
        .args(["try", "Name a colour.", "--max-tokens", "6", "--repeat-penalty", "1", "--model"])
        .arg(common::tiny_llama())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let model = sift::model::LocalModel::load(&common::tiny_llama()).unwrap();
    let params = GenerateParams { max_new_tokens: 6, ..Default::default() };
    let g = sift::train::try_it::answer_with(
        &model,
        "Name a colour.",
        "",
        &params,
        |_| {},
        &std::sync::atomic::AtomicBool::new(false),
    )
    .unwrap();
    assert_eq!(String::from_utf8_lossy(&o.stdout), format!("{}\n", g.text));
    let bad = common::sift().args(["try", "Hi", "--model", "/nonexistent/model"]).output().unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("/nonexistent/model"));
}

#[test]
fn the_repeat_penalty_breaks_the_bundled_models_greedy_loops() {
    let root = tempfile::tempdir().unwrap();
    let model = sift::model::LocalModel::load(&sift::model::bundled::unpack_bundled(root.path()).unwrap()).unwrap();
    let distinct = |penalty: f32| {
        let params = GenerateParams { max_new_tokens: 48, repeat_penalty: penalty, ..Default::default() };
        let never = std::sync::atomic::AtomicBool::new(false);
        let g = sift::train::try_it::answer_with(&model, "Generate a list of ten fruits.", "", &params, |_| {}, &never)
            .unwrap();
        let set: std::collections::HashSet<u32> = g.tokens.iter().copied().collect();
        (set.len(), g.tokens.len())
    };
    let (plain, n) = distinct(1.0);
    let (penalised, m) = distinct(sift::model::generate::ANSWER_REPEAT_PENALTY);
    assert!(n == 48 && plain * 2 < n, "greedy decoding of the tiny model loops: {plain} distinct of {n}");
    assert!(penalised * 4 >= m * 3 && m >= 8, "with the penalty: {penalised} distinct of {m}");
}

#[test]
fn kto_undesirable_records_never_become_training_targets_and_are_counted() {
    let recs: Vec<String> = (0..12)
        .map(|i| {
            let label = i % 3 != 0;
            serde_json::json!({"prompt": format!("Name thing {}.", i % 4), "completion": format!("Answer {i}."), "label": label})
                .to_string()
        })
        .collect();
    let (d, path) = common::temp_file("kto.jsonl", (recs.join("\n") + "\n").as_bytes());
    let session = Session::open_read_only(&path, None).unwrap();
    let tok = SftTokenizer::from_model_dir(&common::tiny_llama()).unwrap();
    let all: Vec<usize> = (0..12).collect();
    let built = build_examples(&session, &all, &tok, 1000).unwrap();
    assert_eq!((built.examples.len(), built.skipped_undesirable), (8, 4));
    assert!(built.examples.iter().all(|e| e.source % 3 != 0), "an undesirable record became an example");
    drop(session);
    // `sift train` (the engine the TUI's train-on-selection uses) leaves them out of every set and says so.
    let base = base_model(d.path());
    let out = d.path().join("runs/kto");
    let o = common::sift()
        .args(["train", path.to_str().unwrap(), "--select", "all", "--base", base.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap(), "--max-steps", "1", "--batch", "4", "--eval-frac", "0.1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("4 labelled undesirable"), "{err}");
    let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("run_config.json")).unwrap()).unwrap();
    assert_eq!(cfg["examples"]["skipped_undesirable"], 4, "{cfg}");
    assert_eq!(cfg["selected_records"], 12, "{cfg}");
    let written = std::fs::read_to_string(out.join("train.jsonl")).unwrap()
        + &std::fs::read_to_string(out.join("eval.jsonl")).unwrap();
    assert_eq!(written.lines().count(), 8, "{written}");
    assert!(!written.contains("\"label\":false"), "{written}");
}

#[test]
fn preference_records_train_on_the_chosen_response_only() {
    let rows = r#"{"prompt": "Capital of France?", "chosen": "Paris.", "rejected": "Lyon."}
{"prompt": [{"role": "user", "content": "2+2?"}], "chosen": [{"role": "assistant", "content": "4"}], "rejected": [{"role": "assistant", "content": "5"}]}
"#;
    let (_d, path) = common::temp_file("pref.jsonl", rows.as_bytes());
    let session = Session::open_read_only(&path, None).unwrap();
    for (i, (chosen, rejected)) in [("Paris.", "Lyon."), ("4", "5")].into_iter().enumerate() {
        let rec = session.dataset().record(i).unwrap();
        let segs = record_segments(&rec, session.dataset().format());
        let trained: Vec<&str> = segs.iter().filter(|s| s.1).map(|s| s.0.as_str()).collect();
        assert_eq!(trained, [chosen], "{segs:?}");
        assert!(segs.iter().all(|s| !s.0.contains(rejected)), "{segs:?}");
    }
}

#[test]
fn tool_calls_are_trained_as_tool_call_lines() {
    let rows = concat!(
        r#"{"messages": [{"role": "user", "content": "Weather in Paris?"}, {"role": "assistant", "content": "Let me look.", "#,
        r#""tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]}, "#,
        r#"{"role": "tool", "tool_call_id": "c1", "content": "18C"}, {"role": "assistant", "content": "It is 18C."}]}"#,
        "\n",
        r#"{"messages": [{"role": "user", "content": "Time?"}, {"role": "assistant", "content": "", "#,
        r#""tool_calls": [{"type": "function", "function": {"name": "now", "arguments": "not json"}}]}]}"#,
        "\n",
    );
    let (_d, path) = common::temp_file("tools.jsonl", rows.as_bytes());
    let session = Session::open_read_only(&path, None).unwrap();
    let segs = record_segments(&session.dataset().record(0).unwrap(), session.dataset().format());
    let trained: Vec<&str> = segs.iter().filter(|s| s.1).map(|s| s.0.as_str()).collect();
    assert_eq!(
        trained,
        [
            "Let me look.\n<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}</tool_call>",
            "It is 18C."
        ]
    );
    assert!(segs.iter().any(|s| !s.1 && s.0 == "### Tool:\n18C\n\n"), "{segs:?}");
    // A call-only answer of a single exchange is trained too, its unreadable arguments as a string.
    let segs = record_segments(&session.dataset().record(1).unwrap(), session.dataset().format());
    assert_eq!(
        segs.last().unwrap(),
        &("<tool_call>{\"name\": \"now\", \"arguments\": \"not json\"}</tool_call>".into(), true)
    );
}
