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

/// Where journal lines go: the journal file, or in tests a writer that fails like a full disk.
pub trait Sink: Send {
    /// Appends bytes at the end.
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()>;
    /// Makes what was appended durable.
    fn sync(&mut self) -> std::io::Result<()>;
    /// Cuts the file back to `len` bytes (drops a partial write).
    fn truncate(&mut self, len: u64) -> std::io::Result<()>;
    /// The current length.
    fn size(&mut self) -> std::io::Result<u64>;
}

impl Sink for File {
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.write_all(bytes)
    }
    fn sync(&mut self) -> std::io::Result<()> {
        self.sync_data()
    }
    fn truncate(&mut self, len: u64) -> std::io::Result<()> {
        self.set_len(len)?;
        self.sync_data()
    }
    fn size(&mut self) -> std::io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

/// An open journal file.
pub struct Journal {
    path: PathBuf,
    /// The state the journal's changes apply to.
    pub header: Header,
    file: Box<dyn Sink>,
    /// Length of the journal up to its last complete, durable line.
    end: u64,
    /// A failed append left bytes that could not be cut off: the next line starts on a new line
    /// so replay can skip the fragment.
    torn: bool,
    /// Number of changes written since the header.
    pub len: usize,
    /// How many of them change the data (not only review state).
    pub edits: usize,
}

impl Journal {
    /// Starts a journal at `path` holding `changes` (atomically replacing any old one).
    pub fn create(path: &Path, header: &Header, changes: &[Change]) -> std::io::Result<Journal> {
        Journal::create_with(path, header, changes, |f| Box::new(f))
    }

    /// [`Journal::create`] appending through `sink` (wrapping the opened file; for fault tests).
    pub fn create_with(
        path: &Path,
        header: &Header,
        changes: &[Change],
        sink: impl FnOnce(File) -> Box<dyn Sink>,
    ) -> std::io::Result<Journal> {
        let tmp = path.with_extension(format!("jsonl.{}-{:08x}.tmp", std::process::id(), rand::random::<u32>()));
        let result = (|| {
            let mut w = std::io::BufWriter::new(File::create(&tmp)?);
            serde_json::to_writer(&mut w, header)?;
            w.write_all(b"\n")?;
            for c in changes {
                serde_json::to_writer(&mut w, c)?;
                w.write_all(b"\n")?;
            }
            w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
            fs::rename(&tmp, path)?;
            crate::dataset::save::sync_dir(path)
        })();
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
        let file = OpenOptions::new().append(true).open(path)?;
        let end = file.metadata()?.len();
        Ok(Journal {
            path: path.to_path_buf(),
            header: header.clone(),
            file: sink(file),
            end,
            torn: false,
            len: changes.len(),
            edits: changes.iter().filter(|c| !c.review_only()).count(),
        })
    }

    /// Appends one change and makes it durable; only then is the change acknowledged. When the
    /// write fails (a full disk) the partial line is cut off again, so the journal stays valid.
    pub fn append(&mut self, change: &Change) -> std::io::Result<()> {
        let mut line = Vec::with_capacity(256);
        if self.torn {
            line.push(b'\n');
        }
        serde_json::to_writer(&mut line, change)?;
        line.push(b'\n');
        let written = self.file.append(&line).and_then(|()| self.file.sync());
        match written {
            Ok(()) => {
                self.end = if self.torn {
                    self.file.size().unwrap_or(self.end + line.len() as u64)
                } else {
                    self.end + line.len() as u64
                };
                self.torn = false;
                self.len += 1;
                self.edits += usize::from(!change.review_only());
                Ok(())
            }
            Err(e) => {
                self.torn = self.file.truncate(self.end).is_err();
                Err(e)
            }
        }
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
    /// Lines in the middle that are not changes (left by a failed write that could not be cut
    /// off; never acknowledged): skipped, and replay goes on.
    pub skipped: usize,
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
    let mut bad = 0;
    let mut skipped = 0;
    for line in lines {
        let line = line?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Change>(&line) {
            Ok(c) => {
                changes.push(c);
                skipped += bad;
                bad = 0;
            }
            Err(_) => bad += 1,
        }
    }
    Ok(Some(Replay { header, changes, torn_tail: bad > 0, skipped }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::Review;
    use std::sync::{Arc, Mutex};

    /// A journal file on a disk that fills up: after `room` more bytes, writes stop half-way
    /// with ENOSPC; `cut_fails` makes truncating fail too.
    struct FullDisk {
        file: File,
        room: Arc<Mutex<usize>>,
        cut_fails: bool,
    }

    impl Sink for FullDisk {
        fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
            let mut room = self.room.lock().unwrap();
            let n = bytes.len().min(*room);
            self.file.write_all(&bytes[..n])?;
            *room -= n;
            if n < bytes.len() {
                return Err(std::io::Error::from_raw_os_error(libc::ENOSPC));
            }
            Ok(())
        }
        fn sync(&mut self) -> std::io::Result<()> {
            self.file.sync_data()
        }
        fn truncate(&mut self, len: u64) -> std::io::Result<()> {
            if self.cut_fails {
                return Err(std::io::Error::from_raw_os_error(libc::EIO));
            }
            self.file.set_len(len)
        }
        fn size(&mut self) -> std::io::Result<u64> {
            Ok(self.file.metadata()?.len())
        }
    }

    fn review(id: u32) -> Change {
        Change::Review {
            id,
            before: None,
            after: Some(Review { note: format!("note {id} {}", "x".repeat(40)), ..Review::default() }),
        }
    }

    fn header() -> Header {
        Header { sift_journal: 1, dataset_hash: "0".into(), dataset_len: 0, ids: vec![], next_id: 100 }
    }

    /// Appends changes 0..20 with the disk filling after change 5 and freed after change 9;
    /// returns the acknowledged ones and what replay reads back.
    fn fill_and_free(cut_fails: bool) -> (Vec<Change>, Replay) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let room = Arc::new(Mutex::new(usize::MAX));
        let r = room.clone();
        let mut j = Journal::create_with(&path, &header(), &[], |file| Box::new(FullDisk { file, room: r, cut_fails }))
            .unwrap();
        let mut acked = Vec::new();
        for id in 0..20 {
            if id == 6 {
                *room.lock().unwrap() = 30; // less than one line
            }
            if id == 10 {
                *room.lock().unwrap() = usize::MAX;
            }
            let c = review(id);
            match j.append(&c) {
                Ok(()) => acked.push(c),
                Err(e) => assert!((6..10).contains(&id) && e.raw_os_error() == Some(libc::ENOSPC), "{id}: {e}"),
            }
        }
        (acked, read(&path).unwrap().unwrap())
    }

    #[test]
    fn a_full_disk_loses_no_acknowledged_change_and_leaves_the_journal_valid() {
        let (acked, replay) = fill_and_free(false);
        assert_eq!(acked.len(), 16);
        assert_eq!(replay.changes, acked);
        assert_eq!((replay.skipped, replay.torn_tail), (0, false), "the partial line was cut off");
    }

    #[test]
    fn when_the_cut_fails_too_replay_skips_the_fragment_and_goes_on() {
        let (acked, replay) = fill_and_free(true);
        assert_eq!(replay.changes, acked, "changes after the torn line are replayed");
        assert!(replay.skipped >= 1);
    }

    #[test]
    fn appending_to_dev_full_fails_cleanly() {
        let Ok(full) = OpenOptions::new().append(true).open("/dev/full") else { return };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let mut j = Journal::create_with(&path, &header(), &[], |_| Box::new(full)).unwrap();
        let e = j.append(&review(1)).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOSPC));
        assert_eq!(j.len, 0, "not acknowledged");
        assert!(j.torn, "/dev/full cannot be truncated: the next line starts fresh");
    }
}
