//! Review state (status, tags, note per record), kept beside the dataset rather than in it, and
//! re-attached to the right records by content when the file was edited elsewhere.

use crate::dataset::Dataset;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;

/// A reviewer's decision on a record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    #[default]
    Unreviewed,
    Accepted,
    Rejected,
    NeedsEdit,
}

impl Status {
    /// All statuses, in display order.
    pub const ALL: [Status; 4] = [Status::Unreviewed, Status::Accepted, Status::Rejected, Status::NeedsEdit];

    /// The name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            Status::Unreviewed => "unreviewed",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
            Status::NeedsEdit => "needs-edit",
        }
    }

    /// Parses a status name.
    pub fn from_name(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.name() == s || st.name().replace('-', "_") == s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The review state of one record. The default (unreviewed, no tags, no note) is not stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Review {
    #[serde(default)]
    pub status: Status,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl Review {
    /// Whether this is the default state.
    pub fn is_default(&self) -> bool {
        *self == Review::default()
    }
}

/// One stored review entry in the sidecar file.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StoredReview {
    /// Position in the file it was saved against.
    pub index: usize,
    /// Content hash of the record it belongs to (hex), see [`crate::dataset::Record::content_hash`].
    pub hash: String,
    #[serde(flatten)]
    pub review: Review,
}

/// The sidecar `review.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ReviewFile {
    pub version: u32,
    /// xxh3 of the dataset file this state was written against (hex).
    pub dataset_hash: String,
    pub dataset_len: u64,
    pub records: Vec<StoredReview>,
    /// Entries whose record could not be found any more; kept so nothing is thrown away.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub orphans: Vec<StoredReview>,
}

/// Content hash of the record at `pos` as hex (empty for malformed records: hashed by bytes).
pub fn record_hash(ds: &Dataset, pos: usize) -> String {
    match ds.record(pos) {
        Some(r) => format!("{:016x}", r.content_hash()),
        None => format!("raw{:016x}", xxhash_rust::xxh3::xxh3_64(ds.raw(pos))),
    }
}

/// Builds the sidecar contents for the dataset's current order.
pub fn to_file(ds: &Dataset, reviews: &HashMap<u32, Review>, orphans: &[StoredReview]) -> ReviewFile {
    let stamp = ds.stamp();
    let mut records: Vec<StoredReview> = ds
        .entries()
        .iter()
        .enumerate()
        .filter_map(|(pos, e)| {
            let review = reviews.get(&e.id)?;
            Some(StoredReview { index: pos, hash: record_hash(ds, pos), review: review.clone() })
        })
        .collect();
    records.sort_by_key(|r| r.index);
    ReviewFile {
        version: 1,
        dataset_hash: format!("{:016x}", stamp.hash),
        dataset_len: stamp.len,
        records,
        orphans: orphans.to_vec(),
    }
}

/// Attaches stored reviews to the dataset's records: by position when the file is the one they were
/// written against, else by content (nearest position wins among equal records). Returns the
/// attached map (by record id) and the entries that match nothing.
pub fn attach(ds: &Dataset, file: ReviewFile) -> (HashMap<u32, Review>, Vec<StoredReview>) {
    let stamp = ds.stamp();
    let same_file = file.dataset_hash == format!("{:016x}", stamp.hash) && file.dataset_len == stamp.len;
    let mut out = HashMap::new();
    let mut pending = Vec::new();
    for sr in file.records.into_iter().chain(file.orphans) {
        let fits = sr.index < ds.len() && (same_file || record_hash(ds, sr.index) == sr.hash);
        if fits && !out.contains_key(&ds.entries()[sr.index].id) {
            out.insert(ds.entries()[sr.index].id, sr.review);
        } else {
            pending.push(sr);
        }
    }
    if pending.is_empty() {
        return (out, Vec::new());
    }
    // Content match: hash every record once (only when the file changed elsewhere).
    let mut by_hash: HashMap<String, Vec<usize>> = HashMap::new();
    for pos in 0..ds.len() {
        by_hash.entry(record_hash(ds, pos)).or_default().push(pos);
    }
    let mut orphans = Vec::new();
    for sr in pending {
        let best = by_hash.get(&sr.hash).and_then(|cands| {
            cands
                .iter()
                .filter(|&&p| !out.contains_key(&ds.entries()[p].id))
                .min_by_key(|&&p| p.abs_diff(sr.index))
                .copied()
        });
        match best {
            Some(p) => {
                out.insert(ds.entries()[p].id, sr.review);
            }
            None => orphans.push(sr),
        }
    }
    (out, orphans)
}
