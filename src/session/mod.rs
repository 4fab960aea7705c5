//! A review session over one dataset file: the dataset, its review state, the crash-safe journal
//! and undo/redo. Every change made by the TUI or the CLI goes through here.

pub mod change;
pub mod journal;
pub mod lock;
pub mod review;
pub mod selection;

pub use change::Change;
pub use review::{Review, Status};
pub use selection::Selection;

use crate::dataset::save::{SaveError, check_writable, remove_stale_temps, sync_dir, write_atomic};
use crate::dataset::{Dataset, EditError, EntryState, Field, Format, OpenError};
use crate::terminal_text::path as shown;
use journal::{Header, Journal};
use lock::{Holder, LockError, StateLock};
use review::{ReviewFile, StoredReview};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Anything that can go wrong in a session. Nothing is changed when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Save(#[from] SaveError),
    #[error(transparent)]
    Edit(#[from] EditError),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("the dataset was opened read-only")]
    ReadOnly,
    #[error(
        "{file} is a {what}, which sift reads but never rewrites: save the changes as JSONL with save-as \
         (the TUI's save asks for the path; `sift edit --save-as FILE.jsonl`; `save-as FILE.jsonl` in a batch)"
    )]
    ReadOnlySource { file: String, what: &'static str },
    #[error("{file}: sift saves as JSON or JSONL text; name the file .jsonl")]
    SaveAsText { file: String },
    #[error(
        "{file} is being changed by {holder}; try again when it is done, pass --wait to wait for it, \
         or open it in the TUI to look at it read-only"
    )]
    Locked { file: String, holder: Holder },
    #[error("record {0} does not exist (the dataset has {1})")]
    OutOfRange(usize, usize),
}

fn io_err(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> SessionError {
    let context = context.into();
    move |source| SessionError::Io { context, source }
}

/// Options for [`Session::open`].
#[derive(Clone, Debug, Default)]
pub struct OpenOptions {
    /// Force a format instead of detecting it.
    pub format: Option<Format>,
    /// Where to keep review state and the journal (default: beside the file, see [`state_dir_for`]).
    pub state_dir: Option<PathBuf>,
}

/// The folder holding a dataset's review state and journal: `.<name>.sift/` beside the file when
/// that folder is writable, else a per-file folder in the user's data directory.
pub fn state_dir_for(path: &Path) -> PathBuf {
    let (beside, fallback) = state_dir_candidates(path);
    if std::fs::create_dir_all(&beside).is_ok() && dir_writable(&beside) {
        return beside;
    }
    fallback
}

/// The folder beside the file and the fallback in the user's data directory.
fn state_dir_candidates(path: &Path) -> (PathBuf, PathBuf) {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "dataset".into());
    let beside = path.with_file_name(format!(".{name}.sift"));
    let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let key = format!("{:016x}", xxhash_rust::xxh3::xxh3_64(canon.to_string_lossy().as_bytes()));
    let base = crate::paths::data_dir().unwrap_or_else(std::env::temp_dir);
    (beside, base.join("state").join(format!("{name}-{key}")))
}

/// The state folder of `path` if one exists already (never creates anything).
fn existing_state_dir(path: &Path) -> Option<PathBuf> {
    let (beside, fallback) = state_dir_candidates(path);
    [beside, fallback].into_iter().find(|d| d.is_dir())
}

fn dir_writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".probe-{}", std::process::id()));
    let ok = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    ok
}

/// An open dataset with its review state, journal and history.
pub struct Session {
    dataset: Dataset,
    reviews: HashMap<u32, Review>,
    orphans: Vec<StoredReview>,
    /// None when opened read-only: then nothing is ever written.
    journal: Option<Journal>,
    /// The dataset's writer lock, held while a writable session lives.
    lock: Option<StateLock>,
    state_dir: PathBuf,
    undo: Vec<Change>,
    redo: Vec<Change>,
    notices: Vec<String>,
}

impl Session {
    /// Opens a dataset for writing, attaches its review state and replays any unsaved changes
    /// from its journal. Fails with [`SessionError::Locked`] while another process has it open
    /// for writing.
    pub fn open(path: &Path, opts: &OpenOptions) -> Result<Session, SessionError> {
        Session::open_waiting(path, opts, false)
    }

    /// [`Session::open`]; with `wait`, waits for another writer to finish instead of failing.
    pub fn open_waiting(path: &Path, opts: &OpenOptions, wait: bool) -> Result<Session, SessionError> {
        let state_dir = opts.state_dir.clone().unwrap_or_else(|| state_dir_for(path));
        std::fs::create_dir_all(&state_dir).map_err(io_err(format!("cannot create {}", shown(&state_dir))))?;
        let lock = take_lock(path, &state_dir, wait)?;
        // Holding the lock, no other save of this file can be running: temps are leftovers.
        let stale = remove_stale_temps(path) + remove_stale_temps(&state_dir.join("review.next.json"));
        remove_journal_temps(&state_dir);
        let mut session = Session::open_in(path, opts.format, state_dir, true)?;
        session.lock = Some(lock);
        if stale > 0 {
            session.notices.push(format!("removed {stale} temp files left by an interrupted save"));
        }
        Ok(session)
    }

    /// Adds a message for the user to the open notices.
    pub fn push_notice(&mut self, notice: String) {
        self.notices.push(notice);
    }

    /// Whether changes can be made (false for read-only sessions).
    pub fn is_writable(&self) -> bool {
        self.journal.is_some()
    }

    /// Opens a dataset with its review state and unsaved changes, writing nothing anywhere
    /// (for `stats`, `check`, `export`). Changes fail with an error.
    pub fn open_read_only(path: &Path, format: Option<Format>) -> Result<Session, SessionError> {
        let state_dir = existing_state_dir(path).unwrap_or_else(|| state_dir_candidates(path).0);
        Session::open_in(path, format, state_dir, false)
    }

    fn open_in(
        path: &Path,
        format: Option<Format>,
        state_dir: PathBuf,
        writable: bool,
    ) -> Result<Session, SessionError> {
        let mut dataset = Dataset::open(path, format)?;
        let mut notices = Vec::new();
        let stamp_hex = format!("{:016x}", dataset.stamp().hash);
        // A save that crashed after writing the file but before promoting its review state.
        let next = state_dir.join("review.next.json");
        let mut review_path = state_dir.join("review.json");
        if let Some(rf) = read_review(&next, &mut notices, writable) {
            if rf.dataset_hash != stamp_hex {
                if writable {
                    let _ = std::fs::remove_file(&next);
                }
            } else if writable {
                std::fs::rename(&next, &review_path).map_err(io_err("cannot finish an interrupted save"))?;
            } else {
                review_path = next;
            }
        }
        let review_file = read_review(&review_path, &mut notices, writable);
        // The review state is written against the file a save produced, just before the save
        // replaces the journal: when it matches the file, a journal for another version holds
        // changes that save already wrote (it was interrupted before starting a new journal).
        let saved_by_sift = review_file.as_ref().is_some_and(|rf| rf.dataset_hash == stamp_hex);
        let journal_path = state_dir.join("journal.jsonl");
        let replay = journal::read(&journal_path).map_err(io_err(format!("cannot read {}", shown(&journal_path))))?;
        let (header, changes) = match replay {
            Some(r) if r.header.matches(&dataset) => {
                dataset.assign_ids(&r.header.ids, r.header.next_id);
                if r.skipped > 0 {
                    notices.push(format!(
                        "the journal held {} damaged lines from failed writes (never acknowledged); skipped",
                        r.skipped
                    ));
                }
                (r.header, r.changes)
            }
            Some(r) => {
                if !r.changes.is_empty() && writable {
                    let stale = state_dir.join(format!("journal.stale-{}.jsonl", unix_now()));
                    let _ = std::fs::rename(&journal_path, &stale);
                    notices.push(if saved_by_sift {
                        format!(
                            "the last save was interrupted after writing the file; its {} changes are in the file \
                             (the old journal is kept in {})",
                            r.changes.len(),
                            shown(&stale)
                        )
                    } else {
                        format!(
                            "{} unsaved changes were made to another version of this file (it was changed by \
                             another program); they are kept in {}",
                            r.changes.len(),
                            shown(&stale)
                        )
                    });
                }
                (Header::for_dataset(&dataset, dataset.next_id()), Vec::new())
            }
            None => (Header::for_dataset(&dataset, dataset.next_id()), Vec::new()),
        };
        let (mut reviews, orphans) = match review_file {
            Some(rf) => review::attach(&dataset, rf),
            None => (HashMap::new(), Vec::new()),
        };
        if !orphans.is_empty() {
            notices.push(format!("{} review entries match no record any more; they are kept", orphans.len()));
        }
        for c in &changes {
            c.apply(&mut dataset, &mut reviews);
        }
        if !changes.is_empty() {
            notices.push(format!("restored {} unsaved changes from the journal", changes.len()));
        }
        let journal = if writable {
            let j = Journal::create(&journal_path, &header, &changes)
                .map_err(io_err(format!("cannot write {}", shown(&journal_path))))?;
            Some(j)
        } else {
            None
        };
        Ok(Session {
            dataset,
            reviews,
            orphans,
            journal,
            lock: None,
            state_dir,
            undo: changes,
            redo: Vec::new(),
            notices,
        })
    }

    /// A read-only copy of the records and their review state as they are now (unsaved changes
    /// included), for work on another thread; it writes nothing and refuses changes.
    pub fn read_only_copy(&self) -> Session {
        Session {
            dataset: self.dataset.clone(),
            reviews: self.reviews.clone(),
            orphans: Vec::new(),
            journal: None,
            lock: None,
            state_dir: self.state_dir.clone(),
            undo: Vec::new(),
            redo: Vec::new(),
            notices: Vec::new(),
        }
    }

    /// The dataset (read-only: change it through the session).
    pub fn dataset(&self) -> &Dataset {
        &self.dataset
    }

    /// Messages about what happened at open (restored changes, re-attached review state...).
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// Where the review state and journal live.
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The review state of the record at `pos` (default when never reviewed).
    pub fn review(&self, pos: usize) -> Review {
        self.dataset.entry(pos).and_then(|e| self.reviews.get(&e.id)).cloned().unwrap_or_default()
    }

    /// The status of the record at `pos`.
    pub fn status(&self, pos: usize) -> Status {
        self.dataset.entry(pos).and_then(|e| self.reviews.get(&e.id)).map_or(Status::Unreviewed, |r| r.status)
    }

    /// How many records have each status, in [`Status::ALL`] order.
    pub fn status_counts(&self) -> [usize; 4] {
        let mut counts = [0; 4];
        for r in self.reviews.values() {
            counts[r.status as usize] += 1;
        }
        counts[0] = self.dataset.len() - counts[1..].iter().sum::<usize>();
        counts
    }

    /// Positions of the records with `status`.
    pub fn positions_with(&self, status: Status) -> Vec<usize> {
        (0..self.dataset.len()).filter(|&p| self.status(p) == status).collect()
    }

    /// Whether the dataset differs from the file on disk.
    pub fn is_modified(&self) -> bool {
        self.dataset.is_modified()
    }

    /// Whether undo/redo have something to do.
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    /// See [`Session::can_undo`].
    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    fn check(&self, pos: usize) -> Result<u32, SessionError> {
        self.dataset.entry(pos).map(|e| e.id).ok_or(SessionError::OutOfRange(pos, self.dataset.len()))
    }

    fn journal_mut(&mut self) -> Result<&mut Journal, SessionError> {
        self.journal.as_mut().ok_or(SessionError::ReadOnly)
    }

    /// Journals (fsynced) and applies a change; it is acknowledged only when this returns Ok.
    pub fn commit(&mut self, change: Change) -> Result<(), SessionError> {
        self.journal_mut()?.append(&change).map_err(io_err("cannot write the journal; the change was not made"))?;
        change.apply(&mut self.dataset, &mut self.reviews);
        self.undo.push(change);
        self.redo.clear();
        Ok(())
    }

    /// Sets a field of the record at `pos`.
    pub fn set_field(&mut self, pos: usize, field: Field, value: &str) -> Result<(), SessionError> {
        let id = self.check(pos)?;
        let after = self.dataset.with_field(pos, field, value)?;
        let before = self.dataset.raw(pos).to_vec();
        if before == after {
            return Ok(());
        }
        self.commit(Change::Raw { id, before, after })
    }

    /// Replaces the whole record text (must be a JSON object).
    pub fn set_raw(&mut self, pos: usize, raw: Vec<u8>) -> Result<(), SessionError> {
        let id = self.check(pos)?;
        Dataset::validate_raw(&raw)?;
        let before = self.dataset.raw(pos).to_vec();
        if before == raw {
            return Ok(());
        }
        self.commit(Change::Raw { id, before, after: raw })
    }

    /// Changes the review state of records with `f`, as one undoable step.
    pub fn update_reviews(
        &mut self,
        positions: &[usize],
        label: &str,
        f: impl Fn(&mut Review),
    ) -> Result<usize, SessionError> {
        let mut changes = Vec::new();
        for &pos in positions {
            let id = self.check(pos)?;
            let before = self.reviews.get(&id).cloned();
            let mut after = before.clone().unwrap_or_default();
            f(&mut after);
            if after != before.clone().unwrap_or_default() {
                changes.push(Change::Review { id, before, after: Some(after) });
            }
        }
        let n = changes.len();
        match n {
            0 => {}
            1 => self.commit(changes.pop().expect("one change"))?,
            _ => self.commit(Change::Batch { label: format!("{label} {n} records"), changes })?,
        }
        Ok(n)
    }

    /// Sets the status of records.
    pub fn set_status(&mut self, positions: &[usize], status: Status) -> Result<usize, SessionError> {
        self.update_reviews(positions, status.name(), |r| r.status = status)
    }

    /// Adds a tag to records.
    pub fn add_tag(&mut self, positions: &[usize], tag: &str) -> Result<usize, SessionError> {
        self.update_reviews(positions, &format!("tag {tag}"), |r| {
            if !r.tags.iter().any(|t| t == tag) {
                r.tags.push(tag.to_string());
            }
        })
    }

    /// Removes a tag from records.
    pub fn remove_tag(&mut self, positions: &[usize], tag: &str) -> Result<usize, SessionError> {
        self.update_reviews(positions, &format!("untag {tag}"), |r| r.tags.retain(|t| t != tag))
    }

    /// Sets the note of a record.
    pub fn set_note(&mut self, pos: usize, note: &str) -> Result<usize, SessionError> {
        self.update_reviews(&[pos], "note", |r| r.note = note.to_string())
    }

    /// Inserts a new empty record at `pos`; returns its position.
    pub fn insert_blank(&mut self, pos: usize) -> Result<usize, SessionError> {
        let raw = self.dataset.blank_record();
        self.insert_raw(pos, raw, None)
    }

    /// Inserts a copy of the record at `pos` (with its review state) right after it.
    pub fn duplicate(&mut self, pos: usize) -> Result<usize, SessionError> {
        let id = self.check(pos)?;
        let raw = self.dataset.raw(pos).to_vec();
        let review = self.reviews.get(&id).cloned();
        self.insert_raw(pos + 1, raw, review)
    }

    fn insert_raw(&mut self, pos: usize, raw: Vec<u8>, review: Option<Review>) -> Result<usize, SessionError> {
        let pos = pos.min(self.dataset.len());
        let id = self.dataset.next_id();
        let malformed = Dataset::validate_raw(&raw).is_err();
        self.commit(Change::Insert { pos, entry: EntryState { id, ord: None, malformed, raw }, review })?;
        Ok(pos)
    }

    /// Deletes records (one undoable step).
    pub fn delete(&mut self, positions: &[usize]) -> Result<usize, SessionError> {
        let mut sorted: Vec<usize> = positions.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let mut changes = Vec::new();
        // Positions shift as earlier records go: record each delete at its position at that moment.
        for (k, &pos) in sorted.iter().enumerate() {
            let id = self.check(pos)?;
            let entry = self.dataset.entry_state(pos).expect("checked");
            changes.push(Change::Delete { pos: pos - k, entry, review: self.reviews.get(&id).cloned() });
        }
        let n = changes.len();
        match n {
            0 => {}
            1 => self.commit(changes.pop().expect("one change"))?,
            _ => self.commit(Change::Batch { label: format!("delete {n} records"), changes })?,
        }
        Ok(n)
    }

    /// Undoes the last change; returns its description.
    pub fn undo(&mut self) -> Result<Option<String>, SessionError> {
        let Some(change) = self.undo.pop() else { return Ok(None) };
        let inverse = change.inverse();
        if let Err(e) = self.journal_mut()?.append(&inverse) {
            self.undo.push(change);
            return Err(io_err("cannot write the journal; nothing was undone")(e));
        }
        let label = change.describe(&self.dataset);
        inverse.apply(&mut self.dataset, &mut self.reviews);
        self.redo.push(change);
        Ok(Some(label))
    }

    /// Redoes the last undone change; returns its description.
    pub fn redo(&mut self) -> Result<Option<String>, SessionError> {
        let Some(change) = self.redo.pop() else { return Ok(None) };
        if let Err(e) = self.journal_mut()?.append(&change) {
            self.redo.push(change);
            return Err(io_err("cannot write the journal; nothing was redone")(e));
        }
        change.apply(&mut self.dataset, &mut self.reviews);
        let label = change.describe(&self.dataset);
        self.undo.push(change);
        Ok(Some(label))
    }

    /// Saves the dataset to its file. Refuses when the file changed on disk since it was read,
    /// unless `force`.
    pub fn save(&mut self, force: bool) -> Result<(), SessionError> {
        self.journal_mut()?;
        let path = self.dataset.path().to_path_buf();
        if self.dataset.source().is_read_only() {
            return Err(SessionError::ReadOnlySource { file: shown(&path), what: self.dataset.source().describe() });
        }
        check_writable(&path, force)?;
        if !force {
            self.dataset.check_disk(&path)?;
        }
        let dir = self.state_dir.clone();
        self.write_to(&path, &dir)
    }

    /// Saves to another file, which the session then follows (with its own review state folder).
    pub fn save_as(&mut self, path: &Path) -> Result<(), SessionError> {
        self.journal_mut()?;
        let ext = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        if ["gz", "parquet", "zst", "bz2", "xz", "zip"].contains(&ext.as_str()) {
            return Err(SessionError::SaveAsText { file: shown(path) });
        }
        check_writable(path, false)?;
        let dir = state_dir_for(path);
        std::fs::create_dir_all(&dir).map_err(io_err(format!("cannot create {}", shown(&dir))))?;
        let same = std::fs::canonicalize(&dir).ok() == std::fs::canonicalize(&self.state_dir).ok();
        let lock = if same { self.lock.take() } else { Some(take_lock(path, &dir, false)?) };
        let result = self.write_to(path, &dir);
        if result.is_ok() {
            self.state_dir = dir;
            self.lock = lock;
        } else if same {
            self.lock = lock;
        }
        result
    }

    fn write_to(&mut self, path: &Path, dir: &Path) -> Result<(), SessionError> {
        let (bytes, spans) = self.dataset.render();
        let hash = xxhash_rust::xxh3::xxh3_64(&bytes);
        // 1. The review state for the new file, under a name that only wins once the file is written.
        let mut rf = review::to_file(&self.dataset, &self.reviews, &self.orphans);
        rf.dataset_hash = format!("{hash:016x}");
        rf.dataset_len = bytes.len() as u64;
        let next = dir.join("review.next.json");
        write_json_atomic(&next, &rf)?;
        // 2. The file itself.
        let stamp = write_atomic(path, &bytes)?;
        self.dataset.commit_saved(bytes, spans, stamp);
        self.dataset.set_path(path);
        // 3. Promote the review state, then start a fresh journal.
        std::fs::rename(&next, dir.join("review.json")).map_err(io_err("cannot store review state"))?;
        sync_dir(&next).map_err(io_err("cannot store review state"))?;
        self.start_journal(dir)?;
        self.undo.iter_mut().chain(self.redo.iter_mut()).for_each(Change::forget_ordinals);
        Ok(())
    }

    fn start_journal(&mut self, dir: &Path) -> Result<(), SessionError> {
        let path = dir.join("journal.jsonl");
        let header = Header::for_dataset(&self.dataset, self.dataset.next_id());
        let journal = Journal::create(&path, &header, &[]).map_err(io_err(format!("cannot write {}", shown(&path))))?;
        self.journal = Some(journal);
        Ok(())
    }

    /// When the dataset has no unsaved edits, folds the journaled review changes into the review
    /// state file and empties the journal (cheap to call often, e.g. on quit).
    pub fn checkpoint(&mut self) -> Result<(), SessionError> {
        if self.dataset.is_modified() || self.journal.as_ref().is_none_or(|j| j.len == 0) {
            return Ok(());
        }
        let rf = review::to_file(&self.dataset, &self.reviews, &self.orphans);
        write_json_atomic(&self.state_dir.join("review.json"), &rf)?;
        let dir = self.state_dir.clone();
        self.start_journal(&dir)
    }

    /// How many journaled changes since the last save touch the data (text edits, inserts,
    /// deletes) rather than only review decisions: what "quit without saving" throws away.
    pub fn unsaved_edits(&self) -> usize {
        if !self.dataset.is_modified() {
            return 0;
        }
        self.journal.as_ref().map_or(0, |j| j.edits)
    }

    /// Forgets the unsaved edits to the data (text edits, inserts, deletes) for "quit without
    /// saving", and keeps every review decision (status, tags, notes) on records of the saved file:
    /// they stay in the journal and come back on the next open. The session should be dropped
    /// afterwards.
    pub fn discard_unsaved(&mut self) -> Result<(), SessionError> {
        let journal = self.journal_mut()?;
        let path = journal.path().to_path_buf();
        let header = journal.header.clone();
        let on_disk: std::collections::HashSet<u32> =
            header.ids.iter().flat_map(|&(_, first, n)| first..first + n as u32).collect();
        let kept: Vec<Change> = journal::read(&path)
            .map_err(io_err("cannot read the journal"))?
            .map(|r| r.changes)
            .unwrap_or_default()
            .into_iter()
            .flat_map(Change::into_reviews)
            .filter(|c| matches!(c, Change::Review { id, .. } if on_disk.contains(id)))
            .collect();
        self.journal = Some(Journal::create(&path, &header, &kept).map_err(io_err("cannot reset the journal"))?);
        Ok(())
    }
}

fn read_review(path: &Path, notices: &mut Vec<String>, writable: bool) -> Option<ReviewFile> {
    let bytes = std::fs::read(path).ok()?;
    match serde_json::from_slice(&bytes) {
        Ok(rf) => Some(rf),
        Err(e) if !writable => {
            notices.push(format!("review state {} is unreadable ({e}); ignored", path.display()));
            None
        }
        Err(e) => {
            let aside = path.with_extension(format!("corrupt-{}", unix_now()));
            let _ = std::fs::rename(path, &aside);
            notices.push(format!("review state {} was unreadable ({e}); moved to {}", path.display(), aside.display()));
            None
        }
    }
}

fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), SessionError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|e| io_err("cannot encode review state")(e.into()))?;
    write_atomic(path, &bytes)?;
    Ok(())
}

/// Takes the writer lock of `state_dir` for the dataset at `path`.
fn take_lock(path: &Path, state_dir: &Path, wait: bool) -> Result<StateLock, SessionError> {
    StateLock::acquire(state_dir, wait).map_err(|e| match e {
        LockError::Held(holder) => SessionError::Locked { file: shown(path), holder },
        LockError::Io(source) => SessionError::Io { context: format!("cannot lock {}", shown(state_dir)), source },
    })
}

/// Removes journal temp files left by an interrupted journal start (call holding the lock).
fn remove_journal_temps(state_dir: &Path) {
    let Ok(entries) = std::fs::read_dir(state_dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("journal.jsonl.") && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
