//! The write-ahead journal: every change is appended and fsynced before it is acknowledged, so a
//! killed process loses nothing; the next open replays it on top of the file it was written against.

use super::change::Change;
use crate::dataset::Dataset;
use serde::{Deserialize, Serialize};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// First line of a journal: which file state the changes apply to, and how record ids map to
/// positions in it (ids stay stable over a whole session, across saves).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub sift_journal: u32,
    pub dataset_hash: String,
    pub dataset_len: u64,
    /// Runs of (first position, first id, length) covering every record.
    pub ids: Vec<(usize, u32, usize)>,
    pub next_id: u32,
}

impl Header {
    /// The header for the dataset as it is now on disk.
    pub fn for_dataset(ds: &Dataset, next_id: u32) -> Header {
        let mut ids: Vec<(usize, u32, usize)> = Vec::new();
        for (pos, e) in ds.entries().iter().enumerate() {
            match ids.last_mut() {
                Some((p, id, n)) if *p + *n == pos && *id + *n as u32 == e.id => *n += 1,
                _ => ids.push((pos, e.id, 1)),
            }
        }
        let stamp = ds.stamp();
        Header { sift_journal: 1, dataset_hash: format!("{:016x}", stamp.hash), dataset_len: stamp.len, ids, next_id }
    }

    /// Whether this journal was written against the file the dataset holds now.
    pub fn matches(&self, ds: &Dataset) -> bool {
        let stamp = ds.stamp();
        self.dataset_hash == format!("{:016x}", stamp.hash) && self.dataset_len == stamp.len
    }
}

/// An open journal file.
pub struct Journal {
    path: PathBuf,
    /// The state the journal's changes apply to.
    pub header: Header,
    file: File,
    /// Number of changes written since the header.
    pub len: usize,
}

impl Journal {
    /// Starts a journal at `path` holding `changes` (atomically replacing any old one).
    pub fn create(path: &Path, header: &Header, changes: &[Change]) -> std::io::Result<Journal> {
        let tmp = path.with_extension("jsonl.tmp");
        {
            let mut w = std::io::BufWriter::new(File::create(&tmp)?);
            serde_json::to_writer(&mut w, header)?;
            w.write_all(b"\n")?;
            for c in changes {
                serde_json::to_writer(&mut w, c)?;
                w.write_all(b"\n")?;
            }
            w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        crate::dataset::save::sync_dir(path)?;
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Journal { path: path.to_path_buf(), header: header.clone(), file, len: changes.len() })
    }

    /// Appends one change and fsyncs; only then is the change acknowledged.
    pub fn append(&mut self, change: &Change) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(change)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.sync_data()?;
        self.len += 1;
        Ok(())
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// What an existing journal holds.
pub struct Replay {
    pub header: Header,
    pub changes: Vec<Change>,
    /// A last line cut off by a crash mid-write (never acknowledged, so nothing is lost).
    pub torn_tail: bool,
}

/// Reads a journal, if there is one.
pub fn read(path: &Path) -> std::io::Result<Option<Replay>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut lines = BufReader::new(file).split(b'\n');
    let header: Header = match lines.next() {
        Some(Ok(l)) => match serde_json::from_slice(&l) {
            Ok(h) => h,
            Err(_) => return Ok(None),
        },
        _ => return Ok(None),
    };
    let mut changes = Vec::new();
    let mut torn_tail = false;
    for line in lines {
        let line = line?;
        match serde_json::from_slice::<Change>(&line) {
            Ok(c) => changes.push(c),
            Err(_) => {
                torn_tail = true;
                break;
            }
        }
    }
    Ok(Some(Replay { header, changes, torn_tail }))
}
