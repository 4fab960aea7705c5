//! The last large record decoded for drawing, kept between frames: a record with a 50 MB field
//! would otherwise be decoded (and its fields copied) on every frame, once for its list row and
//! once for the detail pane. Keyed by id and the dataset's revision (which every edit, insertion,
//! deletion and save changes), so an edit is never shown stale, and a frame costs no pass over the
//! record's bytes.

use super::conversation_state::{FieldView, record_fields};
use crate::dataset::{Dataset, Record};
use std::cell::RefCell;
use std::sync::Arc;

/// Records whose bytes are shorter than this are decoded afresh (it costs microseconds).
pub const CACHE_FROM: usize = 64 << 10;

/// A decoded record and the fields the detail pane shows.
pub struct DecodedView {
    pub record: Record,
    pub fields: Vec<FieldView>,
}

/// One decoded large record, filled while drawing.
#[derive(Default)]
pub struct RecordCache {
    slot: RefCell<Option<(u32, u64, Arc<DecodedView>)>>,
}

impl RecordCache {
    /// The record at `pos` decoded, with its fields (None: not valid JSON).
    pub fn get(&self, ds: &Dataset, pos: usize) -> Option<Arc<DecodedView>> {
        let id = ds.entry(pos)?.id;
        let raw = ds.raw(pos);
        let decode = || {
            let record = ds.record(pos)?;
            let fields = record_fields(ds.format(), &record);
            Some(Arc::new(DecodedView { record, fields }))
        };
        if raw.len() < CACHE_FROM {
            return decode();
        }
        let revision = ds.revision();
        if let Some((i, r, d)) = self.slot.borrow().as_ref()
            && (*i, *r) == (id, revision)
        {
            return Some(d.clone());
        }
        let d = decode()?;
        *self.slot.borrow_mut() = Some((id, revision, d.clone()));
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_record_is_decoded_once_and_an_edit_is_never_shown_stale() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("data.jsonl");
        let long = "a".repeat(CACHE_FROM);
        std::fs::write(&path, format!("{{\"instruction\":\"x\",\"input\":\"\",\"output\":\"{long}\"}}\n")).unwrap();
        let mut ds = Dataset::open(&path, None).unwrap();
        let cache = RecordCache::default();
        let first = cache.get(&ds, 0).unwrap();
        assert!(Arc::ptr_eq(&first, &cache.get(&ds, 0).unwrap()), "kept between frames");
        // An edit of the same length: the record is decoded again.
        let id = ds.entry(0).unwrap().id;
        let edited = format!("{{\"instruction\":\"y\",\"input\":\"\",\"output\":\"{long}\"}}");
        ds.set_raw(id, edited.into_bytes());
        assert_eq!(cache.get(&ds, 0).unwrap().record.instruction, "y");
    }
}
