//! The last large record decoded for drawing, kept between frames: a record with a 50 MB field
//! would otherwise be decoded (and its fields copied) on every frame, once for its list row and
//! once for the detail pane. Keyed by id and a hash of its bytes, so an edit is never shown stale.

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
        let hash = xxhash_rust::xxh3::xxh3_64(raw);
        if let Some((i, h, d)) = self.slot.borrow().as_ref()
            && (*i, *h) == (id, hash)
        {
            return Some(d.clone());
        }
        let d = decode()?;
        *self.slot.borrow_mut() = Some((id, hash, d.clone()));
        Some(d)
    }
}
