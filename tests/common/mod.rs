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

/// Runs a script the test just wrote. Another test thread that forks while the script's file was
/// still open for writing keeps a copy of that descriptor until its exec, and the kernel refuses
/// to execute a file open for writing (ETXTBSY): wait for that copy to go instead of failing.
#[allow(dead_code)]
pub fn output_of_fresh_script(cmd: &mut std::process::Command) -> std::process::Output {
    for _ in 0..100 {
        match cmd.output() {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => return other.unwrap(),
        }
    }
    cmd.output().unwrap()
}
