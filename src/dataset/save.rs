//! Writing a dataset back: untouched records keep their exact bytes and separators; the write is
//! atomic (temp file in the same folder, fsync, rename) and keeps the file's permissions.

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
    #[error("cannot write {path}: {source}")]
    Io { path: String, source: std::io::Error },
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
        let io = |source| SaveError::Io { path: path.display().to_string(), source };
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(e)),
        };
        if meta.len() == self.stamp.len && meta.modified().ok() == self.stamp.modified {
            return Ok(());
        }
        let now = fs::read(path).map_err(io)?;
        if now.len() as u64 == self.stamp.len && xxhash_rust::xxh3::xxh3_64(&now) == self.stamp.hash {
            return Ok(());
        }
        Err(SaveError::ChangedOnDisk { path: path.display().to_string() })
    }

    /// Makes freshly written bytes the new "on disk" state: every record becomes unchanged.
    pub fn commit_saved(&mut self, bytes: Vec<u8>, spans: Vec<Span>, stamp: DiskStamp) {
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

/// The temp file name used while saving `path`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.sift-tmp", std::process::id()))
}

/// Writes `bytes` to `path` atomically: temp file in the same folder, fsync, keep permissions,
/// rename over the target, fsync the folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<DiskStamp, SaveError> {
    let io = |source| SaveError::Io { path: path.display().to_string(), source };
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        if let Ok(meta) = fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        sync_dir(path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(io(e));
    }
    let meta = fs::metadata(path).map_err(io)?;
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
