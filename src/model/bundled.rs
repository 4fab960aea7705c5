//! The default model sift ships: `assets/model` is compiled into the binary and unpacked once into
//! the cache directory ([`crate::paths::default_model_dir`] picks the folder), so scoring, flags, training and "try it" work after `cargo install` from
//! any directory with no download. A user's `--model`/`--base` or `SIFT_MODEL` always wins.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The files of `assets/model` that make a loadable HF model directory.
const FILES: [(&str, &[u8]); 6] = [
    ("config.json", include_bytes!("../../assets/model/config.json")),
    ("generation_config.json", include_bytes!("../../assets/model/generation_config.json")),
    ("model.safetensors", include_bytes!("../../assets/model/model.safetensors")),
    ("tokenizer.json", include_bytes!("../../assets/model/tokenizer.json")),
    ("tokenizer_config.json", include_bytes!("../../assets/model/tokenizer_config.json")),
    ("special_tokens_map.json", include_bytes!("../../assets/model/special_tokens_map.json")),
];

/// Content hash of the embedded files (names the unpacked folder, so a new build never reuses an
/// older model's folder).
fn bundled_hash() -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for (name, bytes) in FILES {
        h.update(name.as_bytes());
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    h.digest()
}

/// Unpacks the bundled model into `root/default-<hash>` (once; an existing complete copy is
/// reused) and returns that folder. Written to a temporary folder first and renamed, so a crash
/// or a concurrent sift never leaves a half-written model behind.
pub fn unpack_bundled(root: &Path) -> Result<PathBuf> {
    let dir = root.join(format!("default-{:016x}", bundled_hash()));
    let complete =
        |d: &Path| FILES.iter().all(|(n, b)| std::fs::metadata(d.join(n)).is_ok_and(|m| m.len() == b.len() as u64));
    if complete(&dir) {
        return Ok(dir);
    }
    std::fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    let nonce = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let tmp = root.join(format!(".unpack-{}-{nonce}", std::process::id()));
    std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let written = (|| -> Result<()> {
        for (name, bytes) in FILES {
            std::fs::write(tmp.join(name), bytes).with_context(|| format!("writing {}", tmp.join(name).display()))?;
        }
        if dir.exists() {
            // An incomplete copy (a crash before this scheme, or damage): replace it.
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        std::fs::rename(&tmp, &dir).with_context(|| format!("moving the model into {}", dir.display()))
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        // Another process may have won the race with a complete copy.
        if complete(&dir) {
            return Ok(dir);
        }
        return Err(e);
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpacks_once_into_a_loadable_folder_and_repairs_damage() {
        let root = tempfile::tempdir().unwrap();
        let d = unpack_bundled(root.path()).unwrap();
        let m = crate::model::LocalModel::load(&d).unwrap();
        assert!(m.config.vocab_size > 1000 && !m.encode("Hello").unwrap().is_empty());
        assert_eq!(unpack_bundled(root.path()).unwrap(), d, "second call reuses the folder");
        std::fs::write(d.join("model.safetensors"), b"torn").unwrap();
        assert_eq!(unpack_bundled(root.path()).unwrap(), d);
        assert_eq!(std::fs::metadata(d.join("model.safetensors")).unwrap().len() as usize, FILES[2].1.len());
        let leftovers: Vec<_> = std::fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers.len(), 1, "no temporary folders left: {leftovers:?}");
    }
}
