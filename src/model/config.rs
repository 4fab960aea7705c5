//! Model hyper-parameters read from (and written back to) a Hugging Face `config.json`.

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};
use std::path::Path;

/// Supported decoder architectures (both use the same Llama block layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// `LlamaForCausalLM` (also SmolLM, TinyLlama, Llama 2/3).
    Llama,
    /// `Qwen2ForCausalLM`: q/k/v projections carry a bias, o_proj does not.
    Qwen2,
}

impl Arch {
    /// The HF `model_type` string.
    pub fn model_type(self) -> &'static str {
        match self {
            Arch::Llama => "llama",
            Arch::Qwen2 => "qwen2",
        }
    }

    /// The HF `architectures` entry.
    pub fn hf_class(self) -> &'static str {
        match self {
            Arch::Llama => "LlamaForCausalLM",
            Arch::Qwen2 => "Qwen2ForCausalLM",
        }
    }
}

/// RoPE frequency scaling variants understood by the decoder.
#[derive(Debug, Clone, PartialEq)]
pub enum RopeScaling {
    /// Plain RoPE.
    Default,
    /// Position interpolation: all frequencies divided by `factor`.
    Linear { factor: f64 },
    /// Llama 3.x frequency-dependent scaling.
    Llama3 {
        factor: f64,
        low_freq_factor: f64,
        high_freq_factor: f64,
        original_max_position_embeddings: f64,
    },
}

/// Decoder hyper-parameters. `raw` keeps the original JSON so unknown keys survive a rewrite.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub arch: Arch,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: usize,
    /// Per-head dimension (`head_dim` if given, else hidden / heads).
    pub head_dim: usize,
    pub max_position_embeddings: usize,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    pub rope_scaling: RopeScaling,
    pub tie_word_embeddings: bool,
    /// Llama `attention_bias` (applies to q, k, v and o). Qwen2 always has q/k/v bias and no o bias.
    pub attention_bias: bool,
    /// Llama `mlp_bias`.
    pub mlp_bias: bool,
    pub bos_token_id: Option<u32>,
    /// End-of-sequence ids (`eos_token_id` may be an int or a list in config.json).
    pub eos_token_ids: Vec<u32>,
    /// Original config.json, if this config was read from one.
    pub raw: Option<Value>,
}

fn get_usize(obj: &Map<String, Value>, key: &str) -> Result<Option<usize>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(|x| Some(x as usize)).with_context(|| {
            format!("config.json: `{key}` must be a non-negative integer, got {v}")
        }),
    }
}

fn req_usize(obj: &Map<String, Value>, key: &str) -> Result<usize> {
    get_usize(obj, key)?.with_context(|| format!("config.json: missing `{key}`"))
}

fn get_f64(obj: &Map<String, Value>, key: &str) -> Result<Option<f64>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .with_context(|| format!("config.json: `{key}` must be a number, got {v}")),
    }
}

fn get_bool(obj: &Map<String, Value>, key: &str) -> Result<Option<bool>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .with_context(|| format!("config.json: `{key}` must be a boolean, got {v}")),
    }
}

fn token_ids(v: Option<&Value>) -> Result<Vec<u32>> {
    match v {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Number(n)) => Ok(vec![
            n.as_u64()
                .context("config.json: token id must be a non-negative integer")?
                as u32,
        ]),
        Some(Value::Array(xs)) => xs
            .iter()
            .map(|x| {
                x.as_u64()
                    .map(|x| x as u32)
                    .context("config.json: token id list must hold integers")
            })
            .collect(),
        Some(other) => bail!("config.json: unexpected token id value {other}"),
    }
}

fn parse_rope_scaling(obj: Option<&Value>) -> Result<RopeScaling> {
    let Some(Value::Object(o)) = obj else {
        return Ok(RopeScaling::Default);
    };
    let kind = o
        .get("rope_type")
        .or_else(|| o.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("default");
    let f = |k: &str| -> Result<f64> {
        get_f64(o, k)?.with_context(|| format!("config.json: rope scaling `{kind}` needs `{k}`"))
    };
    Ok(match kind {
        "default" => RopeScaling::Default,
        "linear" => RopeScaling::Linear {
            factor: f("factor")?,
        },
        "llama3" => RopeScaling::Llama3 {
            factor: f("factor")?,
            low_freq_factor: f("low_freq_factor")?,
            high_freq_factor: f("high_freq_factor")?,
            original_max_position_embeddings: f("original_max_position_embeddings")?,
        },
        other => bail!("config.json: unsupported rope scaling type `{other}`"),
    })
}

impl ModelConfig {
    /// Reads and parses a `config.json` file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading model config {}", path.display()))?;
        Self::from_json_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// Parses the text of a `config.json`.
    pub fn from_json_str(text: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(text).context("config.json is not valid JSON")?;
        Self::from_value(value)
    }

    /// Parses an already-decoded `config.json` value.
    pub fn from_value(value: Value) -> Result<Self> {
        let obj = value
            .as_object()
            .context("config.json: top level must be an object")?;
        let model_type = obj.get("model_type").and_then(Value::as_str).unwrap_or("");
        let archs: Vec<&str> = obj
            .get("architectures")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let arch = match model_type {
            "llama" => Arch::Llama,
            "qwen2" => Arch::Qwen2,
            _ if archs.contains(&"LlamaForCausalLM") => Arch::Llama,
            _ if archs.contains(&"Qwen2ForCausalLM") => Arch::Qwen2,
            _ => bail!(
                "unsupported model: model_type `{model_type}`, architectures {archs:?} \
                 (supported: llama, qwen2)"
            ),
        };
        let hidden_size = req_usize(obj, "hidden_size")?;
        let num_attention_heads = req_usize(obj, "num_attention_heads")?;
        let num_key_value_heads =
            get_usize(obj, "num_key_value_heads")?.unwrap_or(num_attention_heads);
        let head_dim =
            get_usize(obj, "head_dim")?.unwrap_or(hidden_size / num_attention_heads.max(1));
        if num_attention_heads == 0
            || num_key_value_heads == 0
            || num_attention_heads % num_key_value_heads != 0
        {
            bail!(
                "config.json: num_attention_heads ({num_attention_heads}) must be a positive \
                 multiple of num_key_value_heads ({num_key_value_heads})"
            );
        }
        if head_dim == 0 || head_dim % 2 != 0 {
            bail!("config.json: head_dim ({head_dim}) must be even and positive");
        }
        // transformers 5.x nests rope settings in `rope_parameters`; 4.x uses top-level keys.
        let rope_params = obj.get("rope_parameters").and_then(Value::as_object);
        let rope_theta = match rope_params {
            Some(p) => get_f64(p, "rope_theta")?,
            None => None,
        }
        .or(get_f64(obj, "rope_theta")?)
        .unwrap_or(10000.0);
        let rope_scaling = match obj.get("rope_scaling") {
            Some(v @ Value::Object(_)) => parse_rope_scaling(Some(v))?,
            _ => parse_rope_scaling(obj.get("rope_parameters"))?,
        };
        let cfg = ModelConfig {
            arch,
            vocab_size: req_usize(obj, "vocab_size")?,
            hidden_size,
            intermediate_size: req_usize(obj, "intermediate_size")?,
            num_hidden_layers: req_usize(obj, "num_hidden_layers")?,
            num_attention_heads,
            num_key_value_heads,
            head_dim,
            max_position_embeddings: get_usize(obj, "max_position_embeddings")?.unwrap_or(2048),
            rms_norm_eps: get_f64(obj, "rms_norm_eps")?.unwrap_or(1e-6),
            rope_theta,
            rope_scaling,
            tie_word_embeddings: get_bool(obj, "tie_word_embeddings")?.unwrap_or(false),
            attention_bias: get_bool(obj, "attention_bias")?.unwrap_or(false),
            mlp_bias: get_bool(obj, "mlp_bias")?.unwrap_or(false),
            bos_token_id: token_ids(obj.get("bos_token_id"))?.first().copied(),
            eos_token_ids: token_ids(obj.get("eos_token_id"))?,
            raw: Some(value.clone()),
        };
        Ok(cfg)
    }

    /// A Llama config with common defaults, for models built from scratch.
    pub fn llama(
        vocab_size: usize,
        hidden_size: usize,
        intermediate_size: usize,
        num_hidden_layers: usize,
        num_attention_heads: usize,
        num_key_value_heads: usize,
    ) -> Self {
        ModelConfig {
            arch: Arch::Llama,
            vocab_size,
            hidden_size,
            intermediate_size,
            num_hidden_layers,
            num_attention_heads,
            num_key_value_heads,
            head_dim: hidden_size / num_attention_heads,
            max_position_embeddings: 2048,
            rms_norm_eps: 1e-5,
            rope_theta: 10000.0,
            rope_scaling: RopeScaling::Default,
            tie_word_embeddings: false,
            attention_bias: false,
            mlp_bias: false,
            bos_token_id: None,
            eos_token_ids: vec![],
            raw: None,
        }
    }

    /// Whether q/k/v projections carry a bias.
    pub fn qkv_bias(&self) -> bool {
        match self.arch {
            Arch::Llama => self.attention_bias,
            Arch::Qwen2 => true,
        }
    }

    /// Whether o_proj carries a bias.
    pub fn o_bias(&self) -> bool {
        match self.arch {
            Arch::Llama => self.attention_bias,
            Arch::Qwen2 => false,
        }
    }

    /// Number of parameters (tied embeddings counted once).
    pub fn num_params(&self) -> usize {
        let (h, i, hd) = (self.hidden_size, self.intermediate_size, self.head_dim);
        let (q, kv) = (self.num_attention_heads * hd, self.num_key_value_heads * hd);
        let qkv_b = if self.qkv_bias() { q + 2 * kv } else { 0 };
        let o_b = if self.o_bias() { h } else { 0 };
        let mlp_b = if self.mlp_bias { 2 * i + h } else { 0 };
        let layer = h * (q + 2 * kv) + q * h + 3 * h * i + 2 * h + qkv_b + o_b + mlp_b;
        let head = if self.tie_word_embeddings {
            0
        } else {
            self.vocab_size * h
        };
        self.vocab_size * h + self.num_hidden_layers * layer + h + head
    }

    /// A `config.json` value transformers can load. Starts from the original JSON (unknown keys
    /// are kept) and overwrites the fields this struct knows; `dtype` is e.g. `"float32"`.
    pub fn to_hf_json(&self, dtype: &str) -> Value {
        let mut obj = match &self.raw {
            Some(Value::Object(o)) => o.clone(),
            _ => Map::new(),
        };
        let fresh = self.raw.is_none();
        obj.insert("architectures".into(), json!([self.arch.hf_class()]));
        obj.insert("model_type".into(), json!(self.arch.model_type()));
        obj.insert("vocab_size".into(), json!(self.vocab_size));
        obj.insert("hidden_size".into(), json!(self.hidden_size));
        obj.insert("intermediate_size".into(), json!(self.intermediate_size));
        obj.insert("num_hidden_layers".into(), json!(self.num_hidden_layers));
        obj.insert(
            "num_attention_heads".into(),
            json!(self.num_attention_heads),
        );
        obj.insert(
            "num_key_value_heads".into(),
            json!(self.num_key_value_heads),
        );
        obj.insert("head_dim".into(), json!(self.head_dim));
        obj.insert(
            "max_position_embeddings".into(),
            json!(self.max_position_embeddings),
        );
        obj.insert("rms_norm_eps".into(), json!(self.rms_norm_eps));
        obj.insert(
            "tie_word_embeddings".into(),
            json!(self.tie_word_embeddings),
        );
        if self.arch == Arch::Llama {
            obj.insert("attention_bias".into(), json!(self.attention_bias));
            obj.insert("mlp_bias".into(), json!(self.mlp_bias));
        }
        if fresh {
            obj.insert("hidden_act".into(), json!("silu"));
            obj.insert("use_cache".into(), json!(true));
        }
        obj.insert(
            "bos_token_id".into(),
            self.bos_token_id.map_or(Value::Null, |b| json!(b)),
        );
        obj.insert(
            "eos_token_id".into(),
            match self.eos_token_ids.as_slice() {
                [] => Value::Null,
                [one] => json!(one),
                many => json!(many),
            },
        );
        // Rope: keep whichever style the original used (5.x `rope_parameters` or 4.x keys).
        if let Some(Value::Object(p)) = obj.get_mut("rope_parameters") {
            p.insert("rope_theta".into(), json!(self.rope_theta));
        } else {
            obj.insert("rope_theta".into(), json!(self.rope_theta));
            if fresh {
                obj.insert("rope_scaling".into(), Value::Null);
            }
        }
        // transformers 4.x reads `torch_dtype`, 5.x writes `dtype`: set whichever exist (both if fresh).
        let has_dtype = obj.contains_key("dtype");
        let has_torch_dtype = obj.contains_key("torch_dtype");
        if has_dtype || fresh {
            obj.insert("dtype".into(), json!(dtype));
        }
        if has_torch_dtype || fresh || !has_dtype {
            obj.insert("torch_dtype".into(), json!(dtype));
        }
        Value::Object(obj)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QWEN_4X: &str = r#"{
        "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2",
        "vocab_size": 100, "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 512, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
        "tie_word_embeddings": true, "bos_token_id": 1, "eos_token_id": [2, 3],
        "sliding_window": 4096, "custom_key": {"keep": "me"}
    }"#;

    #[test]
    fn reads_top_level_rope_theta_and_eos_list() {
        let c = ModelConfig::from_json_str(QWEN_4X).unwrap();
        assert_eq!(c.arch, Arch::Qwen2);
        assert_eq!(c.rope_theta, 1_000_000.0);
        assert_eq!(c.head_dim, 16);
        assert_eq!(c.eos_token_ids, vec![2, 3]);
        assert_eq!(c.bos_token_id, Some(1));
        assert!(c.qkv_bias() && !c.o_bias());
        assert!(c.tie_word_embeddings);
    }

    #[test]
    fn reads_rope_parameters_and_defaults() {
        let c = ModelConfig::from_json_str(
            r#"{"model_type": "llama", "vocab_size": 10, "hidden_size": 8,
                "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
                "rope_parameters": {"rope_theta": 500000.0, "rope_type": "default"},
                "eos_token_id": 7}"#,
        )
        .unwrap();
        assert_eq!(c.arch, Arch::Llama);
        assert_eq!(c.rope_theta, 500000.0);
        assert_eq!(c.num_key_value_heads, 2);
        assert_eq!(c.eos_token_ids, vec![7]);
        assert_eq!(c.rope_scaling, RopeScaling::Default);
        assert!(!c.qkv_bias());
        let no_rope = ModelConfig::from_json_str(
            r#"{"architectures": ["LlamaForCausalLM"], "vocab_size": 10, "hidden_size": 8,
                "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2}"#,
        )
        .unwrap();
        assert_eq!(no_rope.rope_theta, 10000.0);
    }

    #[test]
    fn rewrite_keeps_unknown_keys_and_round_trips() {
        let mut c = ModelConfig::from_json_str(QWEN_4X).unwrap();
        c.rope_theta = 5000.0;
        let v = c.to_hf_json("float32");
        assert_eq!(v["custom_key"]["keep"], "me");
        assert_eq!(v["sliding_window"], 4096);
        assert_eq!(v["torch_dtype"], "float32");
        let back = ModelConfig::from_value(v).unwrap();
        assert_eq!(back.rope_theta, 5000.0);
        assert_eq!(back.eos_token_ids, vec![2, 3]);
        assert_eq!(back.num_params(), c.num_params());
    }

    #[test]
    fn rejects_unknown_arch_and_bad_heads() {
        let e = ModelConfig::from_json_str(r#"{"model_type": "gpt2"}"#).unwrap_err();
        assert!(format!("{e:#}").contains("gpt2"));
        let e = ModelConfig::from_json_str(
            r#"{"model_type": "llama", "vocab_size": 10, "hidden_size": 8,
                "intermediate_size": 16, "num_hidden_layers": 1, "num_attention_heads": 3,
                "num_key_value_heads": 2}"#,
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("multiple"));
    }

    #[test]
    fn fresh_config_round_trips() {
        let c = ModelConfig::llama(32, 16, 32, 2, 4, 2);
        let back = ModelConfig::from_value(c.to_hf_json("float32")).unwrap();
        assert_eq!(back.hidden_size, 16);
        assert_eq!(back.num_key_value_heads, 2);
        assert_eq!(back.head_dim, 4);
    }
}
