//! What a run writes besides the model: the resume state (optimizer moments, step, data position),
//! an HF-compatible `trainer_state.json`, and the `metrics.jsonl` progress feed.

use anyhow::{Context, Result};
use candle_core::Tensor;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// File name of the optimizer moments inside a checkpoint directory.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// File name of the resume state inside a checkpoint directory.
pub const RESUME_FILE: &str = "sift_resume.json";

/// Everything besides weights and moments needed to continue a run exactly where it stopped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResumeState {
    /// Optimizer steps completed.
    pub global_step: usize,
    /// Total optimizer steps of the run (fixed once known, so the LR schedule does not move).
    pub max_steps: usize,
    /// Warmup steps of the LR schedule.
    pub warmup_steps: usize,
    /// Data-order seed.
    pub seed: u64,
    /// Hash of the training examples (resuming on other data is refused).
    pub data_hash: String,
    /// Training tokens (real, non-padding) seen so far.
    pub tokens_seen: u64,
    /// Examples seen so far.
    pub samples_seen: u64,
    /// Training wall time before this checkpoint, seconds.
    pub elapsed_s: f64,
    /// Sum of the step losses so far (for the final mean train loss).
    pub loss_sum: f64,
    /// HF-style log history so far.
    pub log_history: Vec<Value>,
}

/// Serialises named tensors as safetensors bytes with `{"format": "pt"}` metadata.
pub fn safetensors_bytes(tensors: &[(String, Tensor)]) -> Result<Vec<u8>> {
    let mut sorted: Vec<(String, Tensor)> = tensors.to_vec();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    Ok(safetensors::tensor::serialize(sorted, Some(metadata))?)
}

/// Reads the resume state and optimizer moments of a checkpoint directory.
pub fn load_resume(dir: &Path) -> Result<(ResumeState, HashMap<String, Tensor>)> {
    let p = dir.join(RESUME_FILE);
    let text = std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
    let state: ResumeState = serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))?;
    let opt = candle_core::safetensors::load(dir.join(OPTIMIZER_FILE), &candle_core::Device::Cpu)
        .with_context(|| format!("reading {}", dir.join(OPTIMIZER_FILE).display()))?;
    Ok((state, opt))
}

/// HF `trainer_state.json` contents for a run at `state`.
pub fn trainer_state_json(state: &ResumeState, num_train_epochs: f64, eval_steps: usize, batch: usize) -> Value {
    let epoch = state.log_history.iter().rev().find_map(|e| e["epoch"].as_f64()).unwrap_or(0.0);
    json!({
        "best_metric": null,
        "best_model_checkpoint": null,
        "epoch": epoch,
        "eval_steps": eval_steps,
        "global_step": state.global_step,
        "is_hyper_param_search": false,
        "is_local_process_zero": true,
        "is_world_process_zero": true,
        "log_history": state.log_history,
        "logging_steps": 1,
        "max_steps": state.max_steps,
        "num_train_epochs": num_train_epochs,
        "total_flos": 0,
        "train_batch_size": batch,
    })
}

/// Writes `bytes` to `path` atomically (temp file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("{}.sift-tmp", std::process::id()));
    let res = (|| -> Result<()> {
        let mut f = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
        Ok(())
    })();
    if res.is_err() {
        std::fs::remove_file(&tmp).ok();
    }
    res
}

/// One line of `metrics.jsonl` (keys absent when unknown).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricsLine {
    /// Optimizer step (1-based, as logged by HF).
    pub step: usize,
    /// Training loss of the step.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub loss: Option<f64>,
    /// Held-out loss.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub eval_loss: Option<f64>,
    /// Learning rate of the step.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lr: Option<f64>,
    /// Gradient norm before clipping.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub grad_norm: Option<f64>,
    /// Training throughput (real tokens per second).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tokens_per_s: Option<f64>,
    /// Training wall time so far.
    pub elapsed_s: f64,
    /// Estimated time left.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub remaining_s: Option<f64>,
}

/// Appends one line to a metrics feed and flushes it.
pub fn append_metrics(path: &Path, line: &MetricsLine) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(f, "{}", serde_json::to_string(line)?)?;
    Ok(())
}

/// Reads a metrics feed, skipping lines that do not parse (a torn last line after a crash).
pub fn read_metrics(path: &Path) -> Vec<MetricsLine> {
    std::fs::read_to_string(path).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Drops the lines logged after step `step` (they belong to the part of a killed run that is
/// redone on resume), so the feed continues as one curve.
pub fn truncate_metrics(path: &Path, step: usize) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let mut out = String::new();
    for l in read_metrics(path).into_iter().filter(|l| l.step <= step) {
        out.push_str(&serde_json::to_string(&l)?);
        out.push('\n');
    }
    write_atomic(path, out.as_bytes())
}

/// The HF files besides the weights that make a checkpoint folder one the trainers load as it is.
pub const TOKENIZER_CONFIG: &str = "tokenizer_config.json";
/// See [`TOKENIZER_CONFIG`].
pub const SPECIAL_TOKENS_MAP: &str = "special_tokens_map.json";

/// The token string of `id` in a tokenizer.json value (its added tokens first, then the vocab).
fn token_string(tokenizer: &Value, id: u32) -> Option<String> {
    let added = tokenizer["added_tokens"].as_array().into_iter().flatten();
    if let Some(t) = added.into_iter().find(|t| t["id"].as_u64() == Some(u64::from(id))) {
        return t["content"].as_str().map(str::to_string);
    }
    let vocab = tokenizer["model"]["vocab"].as_object()?;
    vocab.iter().find(|(_, v)| v.as_u64() == Some(u64::from(id))).map(|(k, _)| k.clone())
}

/// Makes the checkpoint files a complete HF model folder for a model whose base has no
/// `tokenizer_config.json` (a sift-pretrained model, the bundled one): writes `tokenizer_config.json`
/// (bos/eos/pad/unk, [`crate::prompt::CHAT_TEMPLATE`], the context length), `special_tokens_map.json`, and gives
/// `tokenizer.json` a post-processor that puts BOS first, so transformers' default `tokenizer(text)`
/// gives the ids sift scores. A base that has its own tokenizer config keeps its files untouched.
pub fn complete_hf_files(cfg: &crate::model::ModelConfig, files: &mut crate::model::CheckpointFiles) -> Result<()> {
    if files.extra.iter().any(|(n, _)| n == TOKENIZER_CONFIG) {
        return Ok(());
    }
    let mut tok: Value = serde_json::from_slice(&files.tokenizer_json).context("parsing tokenizer.json")?;
    let name = |id: Option<u32>| id.and_then(|i| token_string(&tok, i));
    let bos = name(cfg.bos_token_id);
    let eos = name(cfg.eos_token_ids.first().copied())
        .with_context(|| "the model has no eos_token_id that names a token of tokenizer.json")?;
    let has = |s: &str| tok["added_tokens"].as_array().is_some_and(|a| a.iter().any(|t| t["content"] == s));
    let pad = if has("<pad>") { "<pad>".to_string() } else { eos.clone() };
    let unk = tok["model"]["unk_token"].as_str().map(str::to_string);
    let config = json!({
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": bos,
        "eos_token": eos,
        "pad_token": pad,
        "unk_token": unk,
        "add_bos_token": bos.is_some(),
        "add_eos_token": false,
        "model_max_length": cfg.max_position_embeddings,
        "padding_side": "right",
        "clean_up_tokenization_spaces": false,
        "chat_template": crate::prompt::CHAT_TEMPLATE,
    });
    let mut map = serde_json::Map::new();
    for (k, v) in
        [("bos_token", &bos), ("eos_token", &Some(eos.clone())), ("pad_token", &Some(pad)), ("unk_token", &unk)]
    {
        if let Some(v) = v {
            map.insert(k.into(), json!(v));
        }
    }
    if let (Some(b), Some(id)) = (&bos, cfg.bos_token_id)
        && tok["post_processor"].is_null()
    {
        tok["post_processor"] = json!({
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": b, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": b, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": b, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {b.as_str(): {"id": b, "ids": [id], "tokens": [b]}},
        });
        files.tokenizer_json = serde_json::to_vec(&tok)?;
    }
    files.extra.push((TOKENIZER_CONFIG.into(), serde_json::to_vec_pretty(&config)?));
    files.extra.push((SPECIAL_TOKENS_MAP.into(), serde_json::to_vec_pretty(&Value::Object(map))?));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Format, Record, Role, Turn};
    use crate::prompt::record_segments;

    fn render(messages: &[(&str, &str)], generation_prompt: bool) -> String {
        let mut env = minijinja::Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.add_template("t", crate::prompt::CHAT_TEMPLATE).unwrap();
        let msgs: Vec<_> = messages.iter().map(|(r, c)| minijinja::context! { role => r, content => c }).collect();
        let ctx = minijinja::context! { messages => msgs, add_generation_prompt => generation_prompt,
        bos_token => "<s>", eos_token => "</s>" };
        env.get_template("t").unwrap().render(ctx).unwrap()
    }

    /// The text `sift train` trains on for a record: BOS, its segments, EOS after each trained one.
    fn trained_text(rec: &Record) -> String {
        let mut s = String::from("<s>");
        for (text, trained) in record_segments(rec, Format::ShareGpt) {
            s.push_str(&text);
            if trained {
                s.push_str("</s>");
            }
        }
        s
    }

    fn record(system: Option<&str>, turns: &[(Role, &str)]) -> Record {
        let mut all: Vec<Turn> = system
            .map(|s| Turn { role: Role::System, text: s.into(), trained: false, ..Turn::default() })
            .into_iter()
            .collect();
        all.extend(turns.iter().map(|(r, t)| Turn {
            role: r.clone(),
            text: t.to_string(),
            trained: true,
            ..Turn::default()
        }));
        let user = turns.iter().rev().find(|t| t.0 == Role::User).map_or("", |t| t.1);
        let out = turns.iter().rev().find(|t| t.0 == Role::Assistant).map_or("", |t| t.1);
        Record {
            instruction: user.into(),
            output: out.into(),
            system: system.map(Into::into),
            turns: all,
            ..Default::default()
        }
    }

    #[test]
    fn chat_template_lays_out_conversations_as_sift_trains_them() {
        // Hostile text: template syntax and placeholders inside the fields are data.
        let (u, a) = ("Say {{ hi }} to {instruction}", "Hi {% raw %}");
        for system in [None, Some("Be terse.")] {
            let rec = record(system, &[(Role::User, u), (Role::Assistant, a)]);
            let mut msgs: Vec<(&str, &str)> = system.map(|s| ("system", s)).into_iter().collect();
            msgs.extend([("user", u), ("assistant", a)]);
            assert_eq!(render(&msgs, false), trained_text(&rec));
            // The prompt alone (what a trainer masks) is the text before the response.
            let prompt = render(&msgs[..msgs.len() - 1], true);
            assert_eq!(format!("{prompt}{a}</s>"), trained_text(&rec));
        }
        let turns = [(Role::User, "a"), (Role::Assistant, "b"), (Role::User, "c"), (Role::Assistant, "d")];
        let rec = record(Some("S"), &turns);
        let msgs = [("system", "S"), ("user", "a"), ("assistant", "b"), ("user", "c"), ("assistant", "d")];
        assert_eq!(format!("{}\n\n", render(&msgs, false)), trained_text(&rec));
        assert_eq!(
            render(&msgs[..4], true),
            "<s>S\n\n### User:\na\n\n### Assistant:\nb</s>\n\n### User:\nc\n\n### Assistant:\n"
        );
    }

    #[test]
    fn chat_template_lays_out_tool_calls_and_results_as_sift_trains_them() {
        let line = concat!(
            r#"{"messages": [{"role": "user", "content": "Weather in Paris?"}, {"role": "assistant", "content": "Let me look.", "#,
            r#""tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}, "#,
            r#"{"id": "c2", "type": "function", "function": {"name": "now", "arguments": "{}"}}]}, "#,
            r#"{"role": "tool", "tool_call_id": "c1", "content": "18C"}, {"role": "assistant", "content": null, "#,
            r#""tool_calls": [{"id": "c3", "type": "function", "function": {"name": "log", "arguments": "[1, 2]"}}]}, "#,
            r#"{"role": "assistant", "content": "It is 18C."}]}"#
        );
        let rec = crate::dataset::format::decode(Format::OpenAi, line.as_bytes()).record;
        let v: Value = serde_json::from_str(line).unwrap();
        let mut env = minijinja::Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.add_template("t", crate::prompt::CHAT_TEMPLATE).unwrap();
        let ctx = minijinja::context! { messages => minijinja::Value::from_serialize(&v["messages"]),
        add_generation_prompt => false, bos_token => "<s>", eos_token => "</s>" };
        let rendered = env.get_template("t").unwrap().render(ctx).unwrap();
        let mut trained = String::from("<s>");
        for (text, t) in record_segments(&rec, Format::OpenAi) {
            trained.push_str(&text);
            if t {
                trained.push_str("</s>");
            }
        }
        assert_eq!(format!("{rendered}\n\n"), trained);
        assert!(rendered.contains(concat!(
            "Let me look.\n<tool_call>{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}</tool_call>\n",
            "<tool_call>{\"name\": \"now\", \"arguments\": {}}</tool_call></s>"
        )));
        assert!(rendered.contains(
            "### Tool:\n18C\n\n### Assistant:\n<tool_call>{\"name\": \"log\", \"arguments\": [1, 2]}</tool_call></s>"
        ));
    }

    #[test]
    fn completing_a_folder_names_the_special_tokens_and_adds_bos_first() {
        let tok = json!({"added_tokens": [{"id": 0, "content": "<s>"}, {"id": 1, "content": "</s>"}, {"id": 2, "content": "<pad>"}],
                         "post_processor": null, "model": {"type": "BPE", "vocab": {"a": 3}}});
        let mut cfg = crate::model::ModelConfig::from_json_str(
            r#"{"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8, "intermediate_size": 16,
                "num_hidden_layers": 1, "num_attention_heads": 2, "num_key_value_heads": 2, "vocab_size": 4,
                "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "bos_token_id": 0, "eos_token_id": 1}"#,
        )
        .unwrap();
        let mut files =
            crate::model::CheckpointFiles { tokenizer_json: serde_json::to_vec(&tok).unwrap(), ..Default::default() };
        complete_hf_files(&cfg, &mut files).unwrap();
        let get =
            |n: &str| -> Value { serde_json::from_slice(&files.extra.iter().find(|f| f.0 == n).unwrap().1).unwrap() };
        let tc = get(TOKENIZER_CONFIG);
        assert_eq!(
            (tc["bos_token"].as_str(), tc["eos_token"].as_str(), tc["pad_token"].as_str()),
            (Some("<s>"), Some("</s>"), Some("<pad>"))
        );
        assert_eq!(tc["model_max_length"], 64);
        let t: Value = serde_json::from_slice(&files.tokenizer_json).unwrap();
        assert_eq!(t["post_processor"]["single"][0]["SpecialToken"]["id"], "<s>");
        // A folder that has its own tokenizer config keeps it, and its tokenizer, untouched.
        let before = files.clone();
        complete_hf_files(&cfg, &mut files).unwrap();
        assert_eq!((files.extra.len(), &files.tokenizer_json), (before.extra.len(), &before.tokenizer_json));
        // No eos that names a token: an error, not a config without one.
        cfg.eos_token_ids = vec![99];
        let mut bare =
            crate::model::CheckpointFiles { tokenizer_json: serde_json::to_vec(&tok).unwrap(), ..Default::default() };
        assert!(complete_hf_files(&cfg, &mut bare).is_err());
    }
}
