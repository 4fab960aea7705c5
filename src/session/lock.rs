//! One writer per dataset: an advisory lock on the dataset's state folder (`lock` inside it),
//! held for as long as a writable session lives. The lock file names its holder (pid and command
//! line) so a second writer can say who has the file. The kernel releases the lock when the holder
//! dies, so a killed process never leaves the dataset locked.

use fs4::{FileExt, TryLockError};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A held lock on a state folder; released on drop.
#[derive(Debug)]
pub struct StateLock {
    file: File,
    path: PathBuf,
}

impl Drop for StateLock {
    /// Releases the lock explicitly: closing our descriptor alone would leave it held while a child
    /// forked meanwhile (by any thread, before its exec) still has a copy of the descriptor.
    fn drop(&mut self) {
        let _ = FileExt::unlock(&self.file);
    }
}

/// Who holds a state folder's lock, as its lock file says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    pub pid: Option<u32>,
    pub command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.pid {
            Some(pid) => write!(f, "pid {pid} ({})", crate::terminal_text::visible(&self.command)),
            None => f.write_str("another sift process"),
        }
    }
}

/// Why a lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it.
    Held(Holder),
    Io(std::io::Error),
}

impl StateLock {
    /// Takes the lock of `dir` (which must exist); with `wait`, blocks until the holder lets go.
    pub fn acquire(dir: &Path, wait: bool) -> Result<StateLock, LockError> {
        let path = dir.join("lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(LockError::Io)?;
        if wait {
            FileExt::lock(&file).map_err(LockError::Io)?;
        } else {
            match FileExt::try_lock(&file) {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Err(LockError::Held(read_holder(&path))),
                Err(TryLockError::Error(e)) => return Err(LockError::Io(e)),
            }
        }
        let mut lock = StateLock { file, path };
        lock.write_holder().map_err(LockError::Io)?;
        Ok(lock)
    }

    fn write_holder(&mut self) -> std::io::Result<()> {
        let command: Vec<String> = std::env::args().collect();
        self.file.set_len(0)?;
        self.file.seek(SeekFrom::Start(0))?;
        writeln!(self.file, "{}\n{}", std::process::id(), command.join(" "))?;
        self.file.flush()
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Reads who holds the lock of `path` (best effort: the holder may be writing it right now).
fn read_holder(path: &Path) -> Holder {
    let mut text = String::new();
    let _ = File::open(path).and_then(|mut f| f.read_to_string(&mut text));
    let mut lines = text.lines();
    let pid = lines.next().and_then(|l| l.trim().parse().ok());
    let command = lines.next().unwrap_or("").chars().take(200).collect();
    Holder { pid, command }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_folder_names_the_holder_and_the_first_release_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = StateLock::acquire(dir.path(), false).unwrap();
        match StateLock::acquire(dir.path(), false) {
            Err(LockError::Held(h)) => assert_eq!(h.pid, Some(std::process::id())),
            other => panic!("expected the lock to be held, got {other:?}"),
        }
        drop(first);
        StateLock::acquire(dir.path(), false).expect("free once the holder let go");
    }
}
