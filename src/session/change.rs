//! Changes to a dataset and its review state: each is journaled before it is acknowledged and can
//! be undone by applying its inverse.

use super::review::Review;
use crate::dataset::{Dataset, EntryState};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One change, in the form that is journaled and undone.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// A record's bytes were replaced (field edit or raw edit).
    Raw {
        id: u32,
        #[serde(with = "crate::dataset::bytes_text")]
        before: Vec<u8>,
        #[serde(with = "crate::dataset::bytes_text")]
        after: Vec<u8>,
    },
    /// A record was inserted at `pos` (with its review state, for undoing a delete).
    Insert { pos: usize, entry: EntryState, review: Option<Review> },
    /// The record at `pos` was deleted.
    Delete { pos: usize, entry: EntryState, review: Option<Review> },
    /// A record's review state changed.
    Review { id: u32, before: Option<Review>, after: Option<Review> },
    /// Several changes made and undone as one (bulk actions).
    Batch { label: String, changes: Vec<Change> },
}

impl Change {
    /// The change that undoes this one.
    pub fn inverse(&self) -> Change {
        match self.clone() {
            Change::Raw { id, before, after } => Change::Raw { id, before: after, after: before },
            Change::Insert { pos, entry, review } => Change::Delete { pos, entry, review },
            Change::Delete { pos, entry, review } => Change::Insert { pos, entry, review },
            Change::Review { id, before, after } => Change::Review { id, before: after, after: before },
            Change::Batch { label, changes } => {
                Change::Batch { label, changes: changes.iter().rev().map(Change::inverse).collect() }
            }
        }
    }

    /// A short description for the status line ("edit #12", "accept 40 records", ...).
    pub fn describe(&self, ds: &Dataset) -> String {
        let at = |id: &u32| ds.position(*id).map_or("?".to_string(), |p| format!("#{p}"));
        match self {
            Change::Raw { id, .. } => format!("edit {}", at(id)),
            Change::Insert { pos, .. } => format!("insert #{pos}"),
            Change::Delete { pos, .. } => format!("delete #{pos}"),
            Change::Review { id, after, .. } => {
                format!("{} {}", after.as_ref().map_or("clear review of", |r| r.status.name()), at(id))
            }
            Change::Batch { label, .. } => label.clone(),
        }
    }

    /// Applies the change to the dataset and review map.
    pub fn apply(&self, ds: &mut Dataset, reviews: &mut HashMap<u32, Review>) {
        match self {
            Change::Raw { id, after, .. } => {
                ds.set_raw(*id, after.clone());
            }
            Change::Insert { pos, entry, review } => {
                ds.insert(*pos, entry);
                match review {
                    Some(r) if !r.is_default() => reviews.insert(entry.id, r.clone()),
                    _ => reviews.remove(&entry.id),
                };
            }
            Change::Delete { pos, entry, .. } => {
                let at =
                    if ds.entry(*pos).is_some_and(|e| e.id == entry.id) { Some(*pos) } else { ds.position(entry.id) };
                if let Some(p) = at {
                    ds.remove(p);
                }
                reviews.remove(&entry.id);
            }
            Change::Review { id, after, .. } => match after {
                Some(r) if !r.is_default() => {
                    reviews.insert(*id, r.clone());
                }
                _ => {
                    reviews.remove(id);
                }
            },
            Change::Batch { changes, .. } => {
                // A bulk delete stores each position as it is when that delete runs (ascending, so
                // the k-th record was at pos + k before any removal): remove them all in one pass.
                let originals: Vec<usize> = changes
                    .iter()
                    .enumerate()
                    .filter_map(|(k, c)| match c {
                        Change::Delete { pos, entry, .. } if ds.entry(pos + k).is_some_and(|e| e.id == entry.id) => {
                            Some(pos + k)
                        }
                        _ => None,
                    })
                    .collect();
                if changes.len() > 1 && originals.len() == changes.len() {
                    ds.remove_many(&originals);
                    for c in changes {
                        if let Change::Delete { entry, .. } = c {
                            reviews.remove(&entry.id);
                        }
                    }
                    return;
                }
                // Undoing a bulk delete: inserts at descending "moment" positions, the k-th from the
                // end landing at pos + (n - 1 - k). Put them all back in one pass.
                let n = changes.len();
                let finals: Vec<(usize, &EntryState, &Option<Review>)> = changes
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| match c {
                        Change::Insert { pos, entry, review } => Some((pos + (n - 1 - i), entry, review)),
                        _ => None,
                    })
                    .rev()
                    .collect();
                let ascending = finals.windows(2).all(|w| w[0].0 < w[1].0);
                if n > 1 && finals.len() == n && ascending && finals.last().is_some_and(|f| f.0 < ds.len() + n) {
                    ds.insert_many(&finals.iter().map(|(p, e, _)| (*p, *e)).collect::<Vec<_>>());
                    for (_, entry, review) in finals {
                        match review {
                            Some(r) if !r.is_default() => reviews.insert(entry.id, r.clone()),
                            _ => reviews.remove(&entry.id),
                        };
                    }
                    return;
                }
                for c in changes {
                    c.apply(ds, reviews);
                }
            }
        }
    }

    /// Whether the change touches only review state (status, tags, notes), not the data.
    pub fn review_only(&self) -> bool {
        match self {
            Change::Review { .. } => true,
            Change::Batch { changes, .. } => changes.iter().all(Change::review_only),
            _ => false,
        }
    }

    /// The review changes in this change (a batch flattened), in order.
    pub fn into_reviews(self) -> Vec<Change> {
        match self {
            Change::Review { .. } => vec![self],
            Change::Batch { changes, .. } => changes.into_iter().flat_map(Change::into_reviews).collect(),
            _ => Vec::new(),
        }
    }

    /// Forgets the file ordinals held by removed records (they are stale once the file is saved).
    pub fn forget_ordinals(&mut self) {
        match self {
            Change::Insert { entry, .. } | Change::Delete { entry, .. } => entry.ord = None,
            Change::Batch { changes, .. } => changes.iter_mut().for_each(Change::forget_ordinals),
            _ => {}
        }
    }
}
