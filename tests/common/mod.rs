//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub mod tui;

/// The shared data folder beside the repository.
pub fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(rel)
}

/// The tiny random Llama fixture (with reference log-probs from transformers).
pub fn tiny_llama() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-llama")
}

/// Copies `src` into a fresh temp dir as a writable working copy (the shared data is read-only,
/// and sift refuses to save over read-only files); returns (dir guard, path of the copy).
pub fn copy_to_temp(src: &Path) -> (tempfile::TempDir, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let dst = dir.path().join(src.file_name().unwrap());
    std::fs::copy(src, &dst).unwrap();
    std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o644)).unwrap();
    (dir, dst)
}

/// Writes `bytes` to `name` in a fresh temp dir.
pub fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

/// The sift binary built for these tests.
pub fn sift() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_sift"))
}
