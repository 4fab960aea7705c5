//! The review loop's part of the TUI state ([`SuggestState`]) and what a refit job hands back
//! ([`Refit`]). Names no `App`: the review loop itself is [`super::suggest`].

use crate::suggest::{self, Features, Fitted, QueueMode, SuggestError};
use std::time::Duration;

/// The review loop's part of the app state.
#[derive(Default)]
pub struct SuggestState {
    /// "Review next" is on: a decision moves to the next record of the queue.
    pub reviewing: bool,
    pub mode: QueueMode,
    /// The model the shown suggestions come from.
    pub fitted: Option<Fitted>,
    /// The decided records' features, for the reasons the detail pane gives
    /// ([`super::suggest_view`]).
    pub evidence: Option<std::sync::Arc<suggest::Evidence>>,
    /// A refit job runs; `again`: decisions were made meanwhile, refit once it is done.
    pub(super) running: bool,
    pub(super) again: bool,
    /// The features the last job built (at 52K they take seconds; a decision changes none), with
    /// the ids and input fingerprint of each record they were built from.
    pub built: Option<Built>,
}

impl SuggestState {
    /// Whether a refit job is running.
    pub fn refitting(&self) -> bool {
        self.running
    }
}

/// Features with what they were built from.
#[derive(Clone)]
pub struct Built {
    pub features: std::sync::Arc<Features>,
    /// The id of the record at each position of `features`.
    pub ids: Vec<u32>,
    pub(super) prints: Vec<u64>,
}

/// What a refit job hands back.
pub struct Refit {
    pub fitted: Result<Fitted, SuggestError>,
    pub built: Built,
    /// P(reject) of each unreviewed record, by id.
    pub values: Vec<(u32, f32)>,
    /// The decided records' features (for reasons).
    pub evidence: Option<std::sync::Arc<suggest::Evidence>>,
    pub took: Duration,
}
