//! The trainers' config files, written by hand (no YAML crate): every string value is written as a
//! YAML double-quoted scalar via JSON string escaping (valid YAML 1.1 and 1.2, so PyYAML, ruamel and
//! OmegaConf read back exactly the text given, whatever it contains), numbers are plain decimals
//! (PyYAML reads `2e-5` as a string, `0.00002` as a float), and no user value ever goes into a comment.

use super::{TrainParams, Trainer};

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
    pub params: &'a TrainParams,
    /// Template name recorded in the config (LLaMA-Factory's `template`, axolotl's `chat_template`).
    pub template: &'a str,
    pub sift_version: &'a str,
}

/// TRL `sft.yaml` for `trl sft --config sft.yaml` (conversational prompt/completion data).
pub fn trl_sft_yaml(v: &ConfigVars) -> String {
    let p = v.params;
    format!(
        "# TRL SFT config written by sift {ver} (trl sft --config sft.yaml).\n\
         # Data: conversational prompt/completion JSONL; the loss is on the completion only.\n\
         # Template: the base model tokenizer's chat template.\n\
         model_name_or_path: {model}\n\
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
         gradient_checkpointing: true\n\
         completion_only_loss: true\n",
        ver = v.sift_version,
        model = yq(v.base_model),
        data = yq(v.data),
        out = yq(v.output_dir),
        maxlen = p.max_len,
        epochs = yf(p.epochs),
        bs = p.batch_size,
        ga = p.grad_accum,
        lr = yf(p.learning_rate),
        bf16 = p.bf16,
    )
}

/// axolotl `config.yml` for messages JSONL.
pub fn axolotl_config(v: &ConfigVars) -> String {
    let p = v.params;
    format!(
        "# axolotl config written by sift {ver} (axolotl train config.yml).\n\
         base_model: {model}\n\
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
         output_dir: {out}\n\
         \n\
         # Multi-GPU / multi-node (./launch.sh multi-gpu|multi-node): uncomment ONE of these.\n\
         # DeepSpeed ZeRO-3:\n\
         # deepspeed: deepspeed_zero3.json\n\
         # FSDP2:\n\
         # fsdp_version: 2\n\
         # fsdp_config:\n\
         #   offload_params: false\n\
         #   state_dict_type: FULL_STATE_DICT\n\
         #   auto_wrap_policy: TRANSFORMER_BASED_WRAP\n\
         #   reshard_after_forward: true\n",
        ver = v.sift_version,
        model = yq(v.base_model),
        tmpl = yq(v.template),
        data = yq(v.data),
        maxlen = p.max_len,
        bs = p.batch_size,
        ga = p.grad_accum,
        epochs = yf(p.epochs),
        lr = yf(p.learning_rate),
        bf16 = if p.bf16 { "auto" } else { "false" },
        out = yq(v.output_dir),
    )
}

/// LLaMA-Factory `train.yaml`.
pub fn llamafactory_train_yaml(v: &ConfigVars, dataset_name: &str) -> String {
    let p = v.params;
    format!(
        "# LLaMA-Factory config written by sift {ver} (llamafactory-cli train train.yaml).\n\
         ### model\n\
         model_name_or_path: {model}\n\
         trust_remote_code: true\n\
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
         warmup_ratio: 0.03\n\
         bf16: {bf16}\n\
         # DeepSpeed ZeRO-3 for multi-GPU / multi-node (launch.sh sets FORCE_TORCHRUN=1):\n\
         # deepspeed: ds_z3_config.json\n",
        ver = v.sift_version,
        model = yq(v.base_model),
        ds = yq(dataset_name),
        tmpl = yq(v.template),
        maxlen = p.max_len,
        out = yq(v.output_dir),
        bs = p.batch_size,
        ga = p.grad_accum,
        lr = yf(p.learning_rate),
        epochs = yf(p.epochs),
        bf16 = p.bf16,
    )
}

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
pub fn config_name(t: Trainer) -> &'static str {
    match t {
        Trainer::Trl => "sft.yaml",
        Trainer::Axolotl => "config.yml",
        Trainer::LlamaFactory => "train.yaml",
    }
}

/// LLaMA-Factory's template for a base model, guessed from its name ("default" when unknown; pass
/// `--template` to choose).
pub fn guess_llamafactory_template(base: &str) -> &'static str {
    let b = base.to_ascii_lowercase();
    let has = |s: &str| b.contains(s);
    if has("qwen3") {
        "qwen3"
    } else if has("qwen") {
        "qwen"
    } else if has("llama-3") || has("llama3") {
        "llama3"
    } else if has("llama-2") || has("llama2") {
        "llama2"
    } else if has("mistral") || has("mixtral") {
        "mistral"
    } else if has("gemma-3") || has("gemma3") {
        "gemma3"
    } else if has("gemma") {
        "gemma"
    } else if has("phi-4") || has("phi4") {
        "phi4"
    } else if has("phi") {
        "phi"
    } else if has("deepseek") {
        "deepseek3"
    } else if has("glm") {
        "glm4"
    } else {
        "default"
    }
}
