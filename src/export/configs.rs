//! The trainers' config files, written by hand (no YAML crate): every string value is written as a
//! YAML double-quoted scalar via JSON string escaping (valid YAML 1.1 and 1.2, so PyYAML, ruamel and
//! OmegaConf read back exactly the text given, whatever it contains), numbers are plain decimals
//! (PyYAML reads `2e-5` as a string, `0.00002` as a float), and no user value ever goes into a comment.

use super::ExternalTrainer;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The hyper-parameters written into an external trainer's config (`sift export`'s flags and
/// `[train.external.params]`). The settings sift's own trainer shares carry the names of its
/// `TrainHyper` (`train::runs`); the trainers' own key names appear only in the files written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExternalHyper {
    /// Token limit per example; `None`: the base model's `max_position_embeddings` when the base is a
    /// local folder, else [`FALLBACK_MAX_LEN`].
    pub max_len: Option<usize>,
    /// Passes over the data.
    pub epochs: f64,
    /// Examples per device and micro-batch.
    #[serde(alias = "batch_size")]
    pub batch: usize,
    /// Micro-batches per optimizer step.
    #[serde(alias = "grad_accum")]
    pub accum: usize,
    /// Peak learning rate.
    #[serde(alias = "learning_rate")]
    pub lr: f64,
    /// Train in bfloat16 (GPU).
    pub bf16: bool,
    /// Let the trainer run code shipped with the base model (off unless asked).
    pub trust_remote_code: bool,
}

/// The token limit when the base's context length cannot be read (a hub id).
pub const FALLBACK_MAX_LEN: usize = 2048;

impl Default for ExternalHyper {
    fn default() -> Self {
        ExternalHyper { max_len: None, epochs: 3.0, batch: 1, accum: 8, lr: 2e-5, bf16: true, trust_remote_code: false }
    }
}

/// `max_position_embeddings` of a base model given as a local folder (None for a hub id).
pub fn base_context(base: &str) -> Option<usize> {
    let text = std::fs::read_to_string(Path::new(base).join("config.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let n = v["max_position_embeddings"].as_u64().or_else(|| v["text_config"]["max_position_embeddings"].as_u64())?;
    usize::try_from(n).ok()
}

/// Whether `base` is a local folder whose tokenizer carries sift's chat template (a checkpoint sift
/// wrote): it was trained on the Alpaca layout, so the trainers are given that layout.
pub fn is_sift_checkpoint(base: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(Path::new(base).join("tokenizer_config.json")) else { return false };
    serde_json::from_str::<serde_json::Value>(&text)
        .is_ok_and(|v| v["chat_template"].as_str() == Some(crate::prompt::CHAT_TEMPLATE))
}

/// A YAML scalar for `s`: a double-quoted string with JSON escapes.
pub fn yq(s: &str) -> String {
    serde_json::to_string(s).expect("strings always serialise")
}

/// A float as a plain YAML decimal (never exponent notation).
pub fn yf(x: f64) -> String {
    let s = format!("{x}");
    if s.contains('.') || s.contains("inf") || s.contains("NaN") { s } else { format!("{s}.0") }
}

/// What the config files refer to (all paths relative to the run folder).
pub struct ConfigVars<'a> {
    pub base_model: &'a str,
    pub data: &'a str,
    pub output_dir: &'a str,
    pub hyper: &'a ExternalHyper,
    /// The token limit (resolved from the base when not given).
    pub max_len: usize,
    /// Template name recorded in the config (LLaMA-Factory's `template`, axolotl's `chat_template`).
    pub template: &'a str,
    pub sift_version: &'a str,
}

/// TRL `sft.yaml` for `trl sft --config sft.yaml` (conversational prompt/completion data). Gradient
/// checkpointing is named `activation_checkpointing`: TRL's default `gradient_checkpointing` warns of
/// its deprecation under transformers 5 unless the new name is set.
pub fn trl_sft_yaml(v: &ConfigVars) -> String {
    let p = v.hyper;
    let remote = if p.trust_remote_code { "trust_remote_code: true\n" } else { "" };
    format!(
        "# TRL SFT config written by sift {ver} (trl sft --config sft.yaml).\n\
         # Data: conversational prompt/completion JSONL; the loss is on the completion only.\n\
         # Template: the base model tokenizer's chat template.\n\
         model_name_or_path: {model}\n\
         {remote}\
         datasets:\n  - path: json\n    data_files: {data}\n    split: train\n\
         output_dir: {out}\n\
         max_length: {maxlen}\n\
         num_train_epochs: {epochs}\n\
         per_device_train_batch_size: {bs}\n\
         gradient_accumulation_steps: {ga}\n\
         learning_rate: {lr}\n\
         lr_scheduler_type: cosine\n\
         logging_steps: 1\n\
         save_strategy: epoch\n\
         report_to: none\n\
         bf16: {bf16}\n\
         # Gradient checkpointing, by the name transformers 5 uses (it deprecated gradient_checkpointing);\n\
         # with an older transformers write gradient_checkpointing: true instead (launch.sh check says so).\n\
         activation_checkpointing: true\n\
         completion_only_loss: true\n",
        ver = v.sift_version,
        model = yq(v.base_model),
        data = yq(v.data),
        out = yq(v.output_dir),
        maxlen = v.max_len,
        epochs = yf(p.epochs),
        bs = p.batch,
        ga = p.accum,
        lr = yf(p.lr),
        bf16 = p.bf16,
    )
}

/// axolotl `config.yml` for messages JSONL. `launch.sh` adds `--deepspeed deepspeed_zero3.json` for
/// ACCEL=zero3; [`AXOLOTL_FSDP2`] appended gives the FSDP2 variant.
pub fn axolotl_config(v: &ConfigVars) -> String {
    let p = v.hyper;
    format!(
        "# axolotl config written by sift {ver} (axolotl train config.yml).\n\
         base_model: {model}\n\
         trust_remote_code: {remote}\n\
         # Chat template: the tokenizer's own, ChatML when the tokenizer has none.\n\
         chat_template: {tmpl}\n\
         datasets:\n\
         \x20 - path: {data}\n\
         \x20   ds_type: json\n\
         \x20   type: chat_template\n\
         \x20   field_messages: messages\n\
         \x20   message_property_mappings:\n\
         \x20     role: role\n\
         \x20     content: content\n\
         \x20   roles_to_train: [\"assistant\"]\n\
         \x20   message_field_training: weight\n\
         \x20   train_on_eos: turn\n\
         dataset_prepared_path: last_run_prepared\n\
         val_set_size: 0.0\n\
         train_on_inputs: false\n\
         sequence_len: {maxlen}\n\
         sample_packing: false\n\
         micro_batch_size: {bs}\n\
         gradient_accumulation_steps: {ga}\n\
         num_epochs: {epochs}\n\
         learning_rate: {lr}\n\
         lr_scheduler: cosine\n\
         warmup_ratio: 0.03\n\
         optimizer: adamw_torch\n\
         bf16: {bf16}\n\
         gradient_checkpointing: true\n\
         logging_steps: 1\n\
         saves_per_epoch: 1\n\
         output_dir: {out}\n",
        ver = v.sift_version,
        model = yq(v.base_model),
        remote = p.trust_remote_code,
        tmpl = yq(v.template),
        data = yq(v.data),
        maxlen = v.max_len,
        bs = p.batch,
        ga = p.accum,
        epochs = yf(p.epochs),
        lr = yf(p.lr),
        bf16 = if p.bf16 { "auto" } else { "false" },
        out = yq(v.output_dir),
    )
}

/// The FSDP2 keys of axolotl's `config_fsdp2.yml` (`config.yml` plus these).
pub const AXOLOTL_FSDP2: &str = "\n# FSDP2 (ACCEL=fsdp2)\n\
fsdp_version: 2\n\
fsdp_config:\n\
\x20 offload_params: false\n\
\x20 state_dict_type: FULL_STATE_DICT\n\
\x20 auto_wrap_policy: TRANSFORMER_BASED_WRAP\n\
\x20 reshard_after_forward: true\n";

/// LLaMA-Factory `train.yaml`. `launch.sh` adds `deepspeed=ds_z3_config.json` for ACCEL=zero3;
/// [`LLAMAFACTORY_FSDP2`] appended gives the FSDP2 variant `train_fsdp2.yaml`.
pub fn llamafactory_train_yaml(v: &ConfigVars, dataset_name: &str) -> String {
    let p = v.hyper;
    let remote = if p.trust_remote_code { "trust_remote_code: true\n" } else { "" };
    format!(
        "# LLaMA-Factory config written by sift {ver} (llamafactory-cli train train.yaml).\n\
         ### model\n\
         model_name_or_path: {model}\n\
         {remote}\
         ### method\n\
         stage: sft\n\
         do_train: true\n\
         finetuning_type: full\n\
         ### dataset (dataset_info.json in this folder)\n\
         dataset: {ds}\n\
         dataset_dir: \".\"\n\
         template: {tmpl}\n\
         cutoff_len: {maxlen}\n\
         train_on_prompt: false\n\
         overwrite_cache: true\n\
         preprocessing_num_workers: 4\n\
         ### output\n\
         output_dir: {out}\n\
         logging_steps: 1\n\
         save_strategy: epoch\n\
         plot_loss: true\n\
         overwrite_output_dir: true\n\
         report_to: none\n\
         ### train\n\
         per_device_train_batch_size: {bs}\n\
         gradient_accumulation_steps: {ga}\n\
         learning_rate: {lr}\n\
         num_train_epochs: {epochs}\n\
         lr_scheduler_type: cosine\n\
         bf16: {bf16}\n",
        ver = v.sift_version,
        model = yq(v.base_model),
        ds = yq(dataset_name),
        tmpl = yq(v.template),
        maxlen = v.max_len,
        out = yq(v.output_dir),
        bs = p.batch,
        ga = p.accum,
        lr = yf(p.lr),
        epochs = yf(p.epochs),
        bf16 = p.bf16,
    )
}

/// The FSDP2 keys of LLaMA-Factory's `train_fsdp2.yaml` (the HF Trainer's own FSDP settings).
pub const LLAMAFACTORY_FSDP2: &str = "### FSDP2 (ACCEL=fsdp2)\n\
fsdp: \"full_shard auto_wrap\"\n\
fsdp_config:\n\
\x20 fsdp_version: 2\n\
\x20 reshard_after_forward: true\n\
\x20 state_dict_type: FULL_STATE_DICT\n";

/// LLaMA-Factory `dataset_info.json` for a data file in one of the layouts sift writes.
pub fn llamafactory_dataset_info(dataset_name: &str, file_name: &str, layout: LfLayout) -> serde_json::Value {
    use serde_json::json;
    let entry = match layout {
        LfLayout::Messages => json!({
            "file_name": file_name,
            "formatting": "sharegpt",
            "columns": {"messages": "messages"},
            "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                     "assistant_tag": "assistant", "system_tag": "system"}
        }),
        LfLayout::ShareGpt => json!({
            "file_name": file_name,
            "formatting": "sharegpt",
            "columns": {"messages": "conversations"},
            "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human",
                     "assistant_tag": "gpt", "system_tag": "system"}
        }),
        LfLayout::Alpaca => json!({
            "file_name": file_name,
            "formatting": "alpaca",
            "columns": {"prompt": "instruction", "query": "input", "response": "output",
                        "system": "system", "history": "history"}
        }),
    };
    let mut m = serde_json::Map::new();
    m.insert(dataset_name.to_string(), entry);
    serde_json::Value::Object(m)
}

/// The data layouts LLaMA-Factory is told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LfLayout {
    Messages,
    ShareGpt,
    Alpaca,
}

/// accelerate config for DeepSpeed ZeRO-3 (the command line overrides the process and machine counts).
pub const ACCELERATE_ZERO3: &str = "# accelerate config: DeepSpeed ZeRO-3 (written by sift; launch.sh overrides the counts)\n\
compute_environment: LOCAL_MACHINE\n\
debug: false\n\
deepspeed_config:\n\
\x20 deepspeed_multinode_launcher: standard\n\
\x20 offload_optimizer_device: none\n\
\x20 offload_param_device: none\n\
\x20 zero3_init_flag: true\n\
\x20 zero3_save_16bit_model: true\n\
\x20 zero_stage: 3\n\
distributed_type: DEEPSPEED\n\
downcast_bf16: 'no'\n\
machine_rank: 0\n\
main_training_function: main\n\
mixed_precision: bf16\n\
num_machines: 1\n\
num_processes: 8\n\
rdzv_backend: static\n\
same_network: true\n\
tpu_env: []\n\
tpu_use_cluster: false\n\
tpu_use_sudo: false\n\
use_cpu: false\n";

/// accelerate config for FSDP2.
pub const ACCELERATE_FSDP2: &str = "# accelerate config: FSDP2 (written by sift; launch.sh overrides the counts)\n\
compute_environment: LOCAL_MACHINE\n\
debug: false\n\
distributed_type: FSDP\n\
downcast_bf16: 'no'\n\
enable_cpu_affinity: false\n\
fsdp_config:\n\
\x20 fsdp_activation_checkpointing: false\n\
\x20 fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP\n\
\x20 fsdp_cpu_ram_efficient_loading: true\n\
\x20 fsdp_offload_params: false\n\
\x20 fsdp_reshard_after_forward: true\n\
\x20 fsdp_state_dict_type: FULL_STATE_DICT\n\
\x20 fsdp_version: 2\n\
machine_rank: 0\n\
main_training_function: main\n\
mixed_precision: bf16\n\
num_machines: 1\n\
num_processes: 8\n\
rdzv_backend: static\n\
same_network: true\n\
tpu_env: []\n\
tpu_use_cluster: false\n\
tpu_use_sudo: false\n\
use_cpu: false\n";

/// DeepSpeed ZeRO-3 JSON for the HF integration (axolotl's `deepspeed:`, LLaMA-Factory's `deepspeed:`).
pub fn deepspeed_zero3() -> serde_json::Value {
    serde_json::json!({
        "train_batch_size": "auto",
        "train_micro_batch_size_per_gpu": "auto",
        "gradient_accumulation_steps": "auto",
        "gradient_clipping": "auto",
        "zero_allow_untested_optimizer": true,
        "bf16": {"enabled": "auto"},
        "fp16": {"enabled": "auto"},
        "zero_optimization": {
            "stage": 3,
            "overlap_comm": true,
            "contiguous_gradients": true,
            "sub_group_size": 1_000_000_000u64,
            "reduce_bucket_size": "auto",
            "stage3_prefetch_bucket_size": "auto",
            "stage3_param_persistence_threshold": "auto",
            "stage3_max_live_parameters": 1_000_000_000u64,
            "stage3_max_reuse_distance": 1_000_000_000u64,
            "stage3_gather_16bit_weights_on_model_save": true
        }
    })
}

/// The file names each trainer's folder uses.
pub fn config_name(t: ExternalTrainer) -> &'static str {
    match t {
        ExternalTrainer::Trl => "sft.yaml",
        ExternalTrainer::Axolotl => "config.yml",
        ExternalTrainer::LlamaFactory => "train.yaml",
    }
}

/// LLaMA-Factory's template for a base model, from its name as LLaMA-Factory's own model list
/// (`extras/constants.py`) assigns them ("default" when unknown; pass `--template` to choose). A sift
/// checkpoint gets "alpaca", the layout it was trained on.
pub fn guess_llamafactory_template(base: &str) -> &'static str {
    if is_sift_checkpoint(base) {
        return "alpaca";
    }
    let b = base.to_ascii_lowercase();
    let name = b.rsplit('/').next().unwrap_or(&b);
    let has = |s: &str| name.contains(s);
    const RULES: [(&[&str], &str); 22] = [
        (&["deepseek-r1"], "deepseekr1"),
        (&["deepseek-v3", "deepseek-v2", "deepseek-chat"], "deepseek3"),
        (&["deepseek-coder"], "deepseekcoder"),
        (&["qwen3.5", "qwen3_5"], "qwen3_5"),
        (&["qwen3-vl"], "qwen3_vl"),
        (&["qwen3"], "qwen3"),
        (&["qwen"], "qwen"),
        (&["llama-4", "llama4"], "llama4"),
        (&["llama-3", "llama3"], "llama3"),
        (&["llama-2", "llama2"], "llama2"),
        (&["mistral-small"], "mistral_small"),
        (&["mistral", "mixtral"], "mistral"),
        (&["gemma-3n", "gemma3n"], "gemma3n"),
        (&["gemma-3", "gemma3"], "gemma3"),
        (&["gemma-2", "gemma2"], "gemma2"),
        (&["gemma"], "gemma"),
        (&["phi-4-mini", "phi4-mini"], "phi4_mini"),
        (&["phi-4", "phi4"], "phi4"),
        (&["phi"], "phi"),
        (&["smollm2"], "smollm2"),
        (&["smollm"], "smollm"),
        (&["glm-4", "glm4"], "glm4"),
    ];
    for (needles, template) in RULES {
        if needles.iter().any(|n| has(n)) {
            // Qwen3's 2507 instruct models have no thinking mode.
            if template == "qwen3" && has("2507") && has("instruct") {
                return "qwen3_nothink";
            }
            return template;
        }
    }
    "default"
}
