//! Model-free quality signals: per-record heuristic flags and dataset-wide duplicate detection.

pub mod checks;
mod config;
pub mod dedup;
pub mod heuristics;
mod live_data;
mod noise;
pub(crate) mod phrases;
pub mod precision;
mod text;

pub use text::{main_script, non_latin};

use crate::dataset::RecordText;
use heuristics::{Flag, FlagConfig, Flagger};
use rayon::prelude::*;

/// Every flag for every record: [`heuristics::flag_record`] on each record (in parallel) plus
/// [`dedup::duplicate_flags`] across the dataset. One `Vec` per record, in input order.
pub fn flag_dataset(texts: &[RecordText], cfg: &FlagConfig) -> Vec<Vec<Flag>> {
    let flagger = Flagger::new(cfg);
    let mut flags: Vec<Vec<Flag>> = texts.par_iter().map(|rec| flagger.flag(rec)).collect();
    for (mine, dups) in flags.iter_mut().zip(dedup::duplicate_flags(texts, cfg)) {
        mine.extend(dups);
    }
    flags
}
