//! Writing a dataset back: untouched records keep their exact bytes and separators; the write is
//! atomic (temp file in the same folder, fsync, rename) and keeps the file's permissions. A
//! symlink is written through: the link stays, its target gets the new bytes (atomically, in the
//! target's folder), as HF cache, DVC and git-annex datasets need.

use super::scan::{Container, Span};
use super::{Dataset, DiskStamp, Entry};
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a save did not happen. The file on disk is untouched in every case.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error(
        "{path} changed on disk since it was opened (by another program?); not overwriting it. \
         Save with force to overwrite, or save to another file"
    )]
    ChangedOnDisk { path: String },
    #[error("{path} is read-only; not overwriting it. Save with force to overwrite it anyway")]
    ReadOnly { path: String },
    #[error("cannot write {path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// The path as error messages name it (messages reach the terminal through the sanitiser).
fn shown(path: &Path) -> String {
    path.display().to_string()
}

impl Dataset {
    /// The file's bytes as they would be saved now, and each record's span in them.
    pub fn render(&self) -> (Vec<u8>, Vec<Span>) {
        let mut out = Vec::with_capacity(self.buf.len() + self.overrides.values().map(Vec::len).sum::<usize>());
        let mut spans = Vec::with_capacity(self.entries.len());
        let (lead, trail) = self.frame();
        out.extend_from_slice(&lead);
        let mut prev: Option<Entry> = None;
        for &e in &self.entries {
            if let Some(p) = prev {
                if p.ord != super::NEW && p.ord + 1 == e.ord {
                    let (a, b) = (self.spans[p.ord as usize].end(), self.spans[e.ord as usize].start);
                    out.extend_from_slice(&self.buf[a as usize..b as usize]);
                } else {
                    out.extend_from_slice(&self.separator);
                }
            }
            let raw = self.raw_of(e);
            spans.push(Span { start: out.len() as u64, len: raw.len() as u32 });
            out.extend_from_slice(raw);
            prev = Some(e);
        }
        out.extend_from_slice(&trail);
        (out, spans)
    }

    /// The bytes before the first record and after the last (both short).
    fn frame(&self) -> (Vec<u8>, Vec<u8>) {
        let nl = self.style.newline.as_bytes();
        let close = self.close_start.min(self.buf.len());
        match (self.spans.first(), self.spans.last(), self.container) {
            (Some(first), Some(last), _) if !self.entries.is_empty() || self.container == Container::Lines => {
                (self.buf[..first.start as usize].to_vec(), self.buf[last.end() as usize..].to_vec())
            }
            (Some(_), Some(_), _) => (self.buf[..self.open_end].to_vec(), self.buf[close..].to_vec()),
            (_, _, Container::Lines) => {
                (self.buf.clone(), if self.entries.is_empty() { Vec::new() } else { nl.to_vec() })
            }
            (_, _, Container::Array) if self.entries.is_empty() => (self.buf.clone(), Vec::new()),
            (_, _, Container::Array) => {
                let mut lead = self.buf[..self.open_end].to_vec();
                let mut trail = Vec::new();
                if let Some(unit) = &self.style.indent {
                    lead.extend_from_slice(nl);
                    lead.extend_from_slice(unit.as_bytes());
                    trail.extend_from_slice(nl);
                }
                trail.extend_from_slice(&self.buf[close..]);
                (lead, trail)
            }
        }
    }

    /// Fails with `ChangedOnDisk` when the file is no longer what was read or last saved.
    pub fn check_disk(&self, path: &Path) -> Result<(), SaveError> {
        let io = |source| SaveError::Io { path: shown(path), source };
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(e)),
        };
        // Size and mtime are not enough (a same-size rewrite can restore the mtime): the content
        // hash decides.
        if meta.len() == self.stamp.len {
            let now = fs::read(path).map_err(io)?;
            if now.len() as u64 == self.stamp.len && xxhash_rust::xxh3::xxh3_64(&now) == self.stamp.hash {
                return Ok(());
            }
        }
        Err(SaveError::ChangedOnDisk { path: shown(path) })
    }

    /// Makes freshly written bytes the new "on disk" state: every record becomes unchanged.
    pub fn commit_saved(&mut self, bytes: Vec<u8>, spans: Vec<Span>, stamp: DiskStamp) {
        self.revision = super::next_revision();
        for (n, e) in self.entries.iter_mut().enumerate() {
            e.ord = n as u32;
        }
        self.overrides.clear();
        if spans.len() >= 2 {
            let gap = &bytes[spans[0].end() as usize..spans[1].start as usize];
            if !gap.is_empty() {
                self.separator = gap.to_vec();
            }
        }
        if self.container == Container::Array
            && let Some(close) = bytes.iter().rposition(|&c| c == b']')
        {
            self.close_start = close;
        }
        self.spans = spans;
        self.buf = bytes;
        self.stamp = stamp;
        let raw: Vec<_> = self
            .problems
            .drain(..)
            .filter(|p| p.record.is_none() && p.kind != super::ProblemKind::Empty)
            .map(|p| (p.offset.min(self.buf.len() as u64), None, p.kind, p.message))
            .collect();
        self.problems = super::load::locate(&self.buf, raw);
    }
}

/// The suffix of every temp file a save writes (see [`temp_path`]).
pub const TEMP_SUFFIX: &str = ".sift-tmp";

/// A fresh temp file name for saving `path`, unique per process and call (pid + random), in the
/// same folder.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}-{:08x}{TEMP_SUFFIX}", std::process::id(), rand::random::<u32>()))
}

/// Removes temp files left beside `path` by interrupted saves of it; returns how many. Call only
/// while holding the dataset's lock (no other save of it can be running).
pub fn remove_stale_temps(path: &Path) -> usize {
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { return 0 };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let prefix = format!(".{name}.");
    let Ok(entries) = fs::read_dir(dir) else { return 0 };
    let mut n = 0;
    for e in entries.flatten() {
        let f = e.file_name().to_string_lossy().into_owned();
        let stale = f.starts_with(&prefix) && f.ends_with(TEMP_SUFFIX) && f.len() > prefix.len() + TEMP_SUFFIX.len();
        let rest = f.get(prefix.len()..f.len() - TEMP_SUFFIX.len()).unwrap_or("");
        // Only names this code makes: `<pid>` (older versions) or `<pid>-<hex>`.
        let ours = rest.split('-').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_hexdigit()));
        if stale && ours && fs::remove_file(e.path()).is_ok() {
            n += 1;
        }
    }
    n
}

/// The file a write to `path` lands in: `path` itself, or the end of its symlink chain.
pub fn resolve_target(path: &Path) -> std::io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(std::io::Error::other(format!("too many levels of symbolic links at {}", path.display())))
}

/// Refuses to overwrite a read-only file (the user's choice to protect it) unless `force`.
pub fn check_writable(path: &Path, force: bool) -> Result<(), SaveError> {
    if force {
        return Ok(());
    }
    match fs::metadata(path) {
        Ok(m) if m.permissions().readonly() => Err(SaveError::ReadOnly { path: shown(path) }),
        _ => Ok(()),
    }
}

/// Writes `bytes` to `path` atomically: temp file in the target's folder, fsync, keep
/// permissions, rename over the target, fsync the folder. A symlink is followed (the link stays);
/// a target that is not a regular file (`/dev/stdout`, a FIFO) is written in place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<DiskStamp, SaveError> {
    let io = |source| SaveError::Io { path: shown(path), source };
    // Not a regular file (`/dev/stdout`, a FIFO): write in place, through the path as given (it
    // may be a /proc magic link that only open(2) can follow).
    if fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        let mut f = OpenOptions::new().write(true).truncate(true).open(path).map_err(io)?;
        f.write_all(bytes).and_then(|()| f.flush()).map_err(io)?;
        return Ok(DiskStamp { len: bytes.len() as u64, modified: None, hash: xxhash_rust::xxh3::xxh3_64(bytes) });
    }
    let target = resolve_target(path).map_err(io)?;
    let meta = fs::metadata(&target).ok();
    let tmp = temp_path(&target);
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        if let Some(meta) = &meta {
            f.set_permissions(meta.permissions())?;
        }
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, &target)?;
        sync_dir(&target)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io(e));
    }
    let meta = fs::metadata(&target).map_err(io)?;
    Ok(DiskStamp { len: bytes.len() as u64, modified: meta.modified().ok(), hash: xxhash_rust::xxh3::xxh3_64(bytes) })
}

/// fsyncs the folder holding `path`, so a rename survives a power loss.
pub fn sync_dir(path: &Path) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_go_through_symlinks_to_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        fs::create_dir(&store).unwrap();
        let blob = store.join("blob");
        fs::write(&blob, b"old").unwrap();
        let link = dir.path().join("data.jsonl");
        std::os::unix::fs::symlink("store/blob", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays a link");
        assert_eq!(fs::read(&blob).unwrap(), b"new", "the target got the bytes");
        assert_eq!(fs::read_dir(&store).unwrap().count(), 1, "no temp file left in the target's folder");
    }

    #[test]
    fn stale_temps_of_this_file_are_removed_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.jsonl");
        fs::write(&path, b"{}").unwrap();
        for f in
            [".d.jsonl.123.sift-tmp", ".d.jsonl.77-0badf00d.sift-tmp", ".e.jsonl.1.sift-tmp", ".d.jsonl.mine.sift-tmp"]
        {
            fs::write(dir.path().join(f), b"x").unwrap();
        }
        assert_eq!(remove_stale_temps(&path), 2);
        assert!(dir.path().join(".e.jsonl.1.sift-tmp").exists());
        assert!(dir.path().join(".d.jsonl.mine.sift-tmp").exists());
        // Two temp names for the same file in one process differ.
        assert_ne!(temp_path(&path), temp_path(&path));
    }
}
