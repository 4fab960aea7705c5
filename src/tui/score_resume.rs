//! Scores shown again when a file is reopened: `M` leaves a note in the dataset's state folder
//! (`judge.json`: which model scored it); on the next open the judge looks every record up in the
//! score cache under that model, without running it, so the scores are back without pressing `M`.

use super::app::App;
use super::score_state::RunStats;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The note's name in the state folder.
pub const FILE: &str = "judge.json";

/// What the note says.
#[derive(Serialize, Deserialize)]
struct Note {
    /// The model directory given with `--model` (None: the default model).
    model: Option<PathBuf>,
}

/// Notes that the judge scored this file (with the app's model), for the next open.
pub fn remember(app: &App) {
    let note = Note { model: app.judge.model_dir.clone() };
    let bytes = serde_json::to_vec(&note).expect("the note serialises");
    // A read-only state folder only loses the convenience: the scores are in the cache anyway.
    let _ = crate::dataset::save::write_atomic(&app.session.state_dir().join(FILE), &bytes);
}

/// Once per open: when the judge scored this file before, queues every record for a cache-only
/// run (it starts once the flags are ready), under the model named in the note unless `--model`
/// names one.
pub fn resume(app: &mut App) {
    if app.judge.cache_dir.is_none() {
        return;
    }
    let Ok(bytes) = std::fs::read(app.session.state_dir().join(FILE)) else { return };
    let Ok(note) = serde_json::from_slice::<Note>(&bytes) else { return };
    if app.judge.model_dir.is_none() {
        app.judge.model_dir = note.model.filter(|d| d.is_dir());
    }
    let ds = app.session.dataset();
    app.judge.pending = ds.entries().iter().filter(|e| !e.malformed).map(|e| e.id).collect();
    app.judge.cache_only = true;
}

/// A cache-only run finished: says how many scores came back, and refits the suggestions, which
/// use the judge's signals.
pub fn done(app: &mut App, s: RunStats) {
    let rest = s.records - s.cached;
    let mut msg = format!("judge: {} scores from the cache", s.cached);
    if rest > 0 {
        msg.push_str(&format!(" ({rest} not scored yet: M scores them)"));
    }
    app.message = Some((msg, false));
    super::suggest::refit(app);
}
