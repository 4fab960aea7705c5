//! Loading a Hugging Face model directory, and writing checkpoints transformers can load.

use super::config::ModelConfig;
use super::decoder::Decoder;
use anyhow::{Context, Result, anyhow, bail};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

/// A model directory loaded for scoring and generation (f32 on CPU, plain tensors).
pub struct LocalModel {
    /// The directory it was loaded from.
    pub dir: PathBuf,
    /// Parsed config.json.
    pub config: ModelConfig,
    /// The network.
    pub decoder: Decoder,
    /// The tokenizer from tokenizer.json.
    pub tokenizer: Tokenizer,
    /// End-of-sequence ids from config.json and generation_config.json.
    pub eos_token_ids: Vec<u32>,
    fingerprint: String,
}

/// The safetensors files of a model directory (single file or the shards of an index).
pub fn safetensors_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let single = dir.join("model.safetensors");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let index = dir.join("model.safetensors.index.json");
    let text = std::fs::read_to_string(&index).with_context(|| format!("reading {}", index.display()))?;
    let v: Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", index.display()))?;
    let map = v["weight_map"].as_object().with_context(|| format!("{}: no `weight_map` object", index.display()))?;
    let mut files: Vec<String> = map
        .values()
        .map(|f| f.as_str().map(str::to_string))
        .collect::<Option<_>>()
        .with_context(|| format!("{}: weight_map values must be file names", index.display()))?;
    files.sort();
    files.dedup();
    Ok(files.into_iter().map(|f| dir.join(f)).collect())
}

/// Checks that `dir` looks like a model directory; the error names what is missing.
fn check_model_dir(dir: &Path) -> Result<()> {
    const EXPECTED: &str = "config.json, model.safetensors (or model.safetensors.index.json \
                            with its shards) and tokenizer.json";
    if !dir.is_dir() {
        bail!("{} is not a model directory: expected a directory with {EXPECTED}", dir.display());
    }
    let mut missing = vec![];
    for f in ["config.json", "tokenizer.json"] {
        if !dir.join(f).is_file() {
            missing.push(f);
        }
    }
    if !dir.join("model.safetensors").is_file() && !dir.join("model.safetensors.index.json").is_file() {
        missing.push("model.safetensors");
    }
    if !missing.is_empty() {
        bail!("{} is not a model directory: expected {EXPECTED}; missing {}", dir.display(), missing.join(", "));
    }
    Ok(())
}

/// Hashes a file's full contents into `h`.
fn hash_file(h: &mut xxhash_rust::xxh3::Xxh3, path: &Path) -> Result<()> {
    let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut buf = vec![0u8; 1 << 20];
    h.update(path.file_name().map_or(&[][..], |n| n.as_encoded_bytes()));
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        h.update(&buf[..n]);
    }
}

/// Stable content hash of a model directory: config.json, every safetensors file (headers and
/// weights, so fine-tuned checkpoints with the same shapes differ) and tokenizer.json.
pub fn fingerprint_dir(dir: &Path) -> Result<String> {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    hash_file(&mut h, &dir.join("config.json"))?;
    for f in safetensors_files(dir)? {
        hash_file(&mut h, &f)?;
    }
    hash_file(&mut h, &dir.join("tokenizer.json"))?;
    Ok(format!("xxh3-{:032x}", h.digest128()))
}

/// Reads eos ids from generation_config.json if present.
fn generation_eos(dir: &Path) -> Vec<u32> {
    let Ok(text) = std::fs::read_to_string(dir.join("generation_config.json")) else {
        return vec![];
    };
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return vec![];
    };
    match &v["eos_token_id"] {
        Value::Number(n) => n.as_u64().map(|x| vec![x as u32]).unwrap_or_default(),
        Value::Array(a) => a.iter().filter_map(|x| x.as_u64().map(|x| x as u32)).collect(),
        _ => vec![],
    }
}

impl LocalModel {
    /// Loads config.json, the safetensors weights (single or sharded; f16/bf16 converted to
    /// f32) and tokenizer.json from `dir`.
    pub fn load(dir: &Path) -> Result<LocalModel> {
        check_model_dir(dir)?;
        let config = ModelConfig::from_file(&dir.join("config.json"))?;
        let files = safetensors_files(dir)?;
        for f in &files {
            if !f.is_file() {
                bail!("{}: shard {} is missing", dir.display(), f.display());
            }
        }
        // SAFETY: the files are only read; candle copies tensors out of the map while loading.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&files, DType::F32, &Device::Cpu) }
            .with_context(|| format!("reading safetensors in {}", dir.display()))?;
        let decoder = Decoder::new(&config, vb).with_context(|| format!("loading weights from {}", dir.display()))?;
        let tok_path = dir.join("tokenizer.json");
        let tokenizer = Tokenizer::from_file(&tok_path).map_err(|e| anyhow!("loading {}: {e}", tok_path.display()))?;
        let mut eos_token_ids = config.eos_token_ids.clone();
        for id in generation_eos(dir) {
            if !eos_token_ids.contains(&id) {
                eos_token_ids.push(id);
            }
        }
        let fingerprint = fingerprint_dir(dir)?;
        Ok(LocalModel { dir: dir.to_path_buf(), config, decoder, tokenizer, eos_token_ids, fingerprint })
    }

    /// Content hash of the model directory, usable as a cache key for scores.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Tokenizes `text` (without adding special tokens).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self.tokenizer.encode_fast(text, false).map_err(|e| anyhow!("tokenizing: {e}"))?.get_ids().to_vec())
    }

    /// Raw bytes of tokenizer.json (to copy into a checkpoint).
    pub fn tokenizer_json_bytes(&self) -> Result<Vec<u8>> {
        let p = self.dir.join("tokenizer.json");
        std::fs::read(&p).with_context(|| format!("reading {}", p.display()))
    }
}

/// Non-weight files of a checkpoint.
#[derive(Debug, Clone, Default)]
pub struct CheckpointFiles {
    /// Contents of tokenizer.json.
    pub tokenizer_json: Vec<u8>,
    /// generation_config.json to copy; one is generated from the config when `None`.
    pub generation_config_json: Option<Vec<u8>>,
    /// Other files to include verbatim, e.g. tokenizer_config.json or trainer_state.json.
    pub extra: Vec<(String, Vec<u8>)>,
}

fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::F16 => "float16",
        DType::BF16 => "bfloat16",
        DType::F64 => "float64",
        _ => "float32",
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

/// Writes a checkpoint transformers can load into `dir`, atomically: everything goes to a temp
/// directory next to `dir`, is fsynced, and is renamed into place; an existing checkpoint at
/// `dir` is replaced only after the new one is complete. Tensors use HF names; with tied
/// embeddings `lm_head.weight` is omitted.
pub fn save_hf_checkpoint(
    dir: &Path,
    cfg: &ModelConfig,
    tensors: &[(String, Tensor)],
    files: &CheckpointFiles,
) -> Result<()> {
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let name = dir
        .file_name()
        .with_context(|| format!("{}: checkpoint path needs a final name", dir.display()))?
        .to_string_lossy()
        .into_owned();
    let nonce = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
    );
    let tmp = parent.join(format!(".{name}.{nonce}.new.sift-tmp"));
    let result = write_checkpoint_files(&tmp, cfg, tensors, files).and_then(|()| {
        if dir.exists() {
            let old = parent.join(format!(".{name}.{nonce}.old.sift-tmp"));
            std::fs::rename(dir, &old).with_context(|| format!("moving old checkpoint {} aside", dir.display()))?;
            std::fs::rename(&tmp, dir).with_context(|| format!("renaming checkpoint into {}", dir.display()))?;
            std::fs::remove_dir_all(&old).ok();
        } else {
            std::fs::rename(&tmp, dir).with_context(|| format!("renaming checkpoint into {}", dir.display()))?;
        }
        File::open(parent)?.sync_all()?;
        Ok(())
    });
    if result.is_err() {
        std::fs::remove_dir_all(&tmp).ok();
    }
    result
}

fn write_checkpoint_files(
    tmp: &Path,
    cfg: &ModelConfig,
    tensors: &[(String, Tensor)],
    files: &CheckpointFiles,
) -> Result<()> {
    std::fs::create_dir(tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut kept: Vec<(String, Tensor)> = tensors
        .iter()
        .filter(|(n, _)| !(cfg.tie_word_embeddings && n == "lm_head.weight"))
        .map(|(n, t)| (n.clone(), t.detach()))
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    let dtype = kept.first().map_or(DType::F32, |(_, t)| t.dtype());
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    let st_path = tmp.join("model.safetensors");
    safetensors::tensor::serialize_to_file(kept, Some(metadata), &st_path)
        .with_context(|| format!("writing {}", st_path.display()))?;
    File::open(&st_path)?.sync_all()?;
    let config = serde_json::to_vec_pretty(&cfg.to_hf_json(dtype_name(dtype)))?;
    write_synced(&tmp.join("config.json"), &config)?;
    write_synced(&tmp.join("tokenizer.json"), &files.tokenizer_json)?;
    let gen_cfg = match &files.generation_config_json {
        Some(b) => b.clone(),
        None => {
            let eos = match cfg.eos_token_ids.as_slice() {
                [] => Value::Null,
                [one] => json!(one),
                many => json!(many),
            };
            serde_json::to_vec_pretty(&json!({
                "bos_token_id": cfg.bos_token_id,
                "eos_token_id": eos,
            }))?
        }
    };
    write_synced(&tmp.join("generation_config.json"), &gen_cfg)?;
    for (name, bytes) in &files.extra {
        if name.contains('/') || name.contains('\\') || name.starts_with('.') {
            bail!("checkpoint extra file name `{name}` must be a plain file name");
        }
        write_synced(&tmp.join(name), bytes)?;
    }
    // Readable by the trainers and tools of other users (safetensors writes its file 0600).
    #[cfg(unix)]
    for e in std::fs::read_dir(tmp)?.flatten() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(e.path(), std::fs::Permissions::from_mode(0o644))?;
    }
    File::open(tmp)?.sync_all()?;
    Ok(())
}
