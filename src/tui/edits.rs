//! The changes commands of every mode share (normal mode and the dialogs alike): moving the
//! cursor, opening a prompt, recording a change for undo, bulk status/tag/delete and saving. Both
//! [`super::update`] and [`super::input`] call them; this file calls neither.

use super::app::{App, BulkOp, Dialog, Mode, PromptKind, fail, say};
use crate::dataset::save::SaveError;
use crate::session::SessionError;

/// Moves the cursor `d` rows (clamped to the list).
pub(super) fn move_by(app: &mut App, d: isize) {
    let n = app.shown();
    if n == 0 {
        return;
    }
    let c = (app.cursor as isize + d).clamp(0, n as isize - 1) as usize;
    if c != app.cursor {
        app.detail_scroll = 0;
    }
    app.cursor = c;
    app.clamp();
}

/// Opens a one-line prompt of `kind` holding `text`.
pub(super) fn prompt(app: &mut App, kind: PromptKind, text: String) {
    app.mode = Mode::Prompt { kind, text };
}

/// Records that a change was made (for undo bookkeeping and re-indexing).
pub(super) fn record_touch(app: &mut App, ids: Vec<u32>, structural: bool) {
    app.touched_undo.push(Some(ids.clone()));
    app.touched_redo.clear();
    app.changed(Some(ids), structural);
}

/// The ids of the records a command acts on (selection, visual range, or the cursor's record).
pub(super) fn target_ids(app: &App) -> Vec<u32> {
    let ds = app.session.dataset();
    app.targets().into_iter().filter_map(|p| ds.entry(p)).map(|e| e.id).collect()
}

/// Applies `op` to the target records (the selection, the visual range or the record under the
/// cursor), asking first when there are more than `confirm_over`.
pub(super) fn bulk(app: &mut App, op: BulkOp) {
    let ids = target_ids(app);
    if ids.is_empty() {
        return;
    }
    if ids.len() > app.config.front.options.confirm_over {
        app.mode = Mode::Dialog(Dialog::Bulk { op, ids });
    } else {
        apply_bulk(app, op, ids);
    }
}

/// Applies `op` to the records `ids` now, and moves on (along the review queue when reviewing).
pub(super) fn apply_bulk(app: &mut App, op: BulkOp, ids: Vec<u32>) {
    let ds = app.session.dataset();
    let positions: Vec<usize> = ids.iter().filter_map(|&id| ds.position(id)).collect();
    let single = positions.len() == 1 && app.visual.is_none() && app.selection.is_empty();
    let before = app.current_id();
    let r = match &op {
        BulkOp::Status(st) => app.session.set_status(&positions, *st),
        BulkOp::Tag(t) => app.session.add_tag(&positions, t),
        BulkOp::Untag(t) => app.session.remove_tag(&positions, t),
        BulkOp::Delete => app.session.delete(&positions),
    };
    match r {
        Ok(0) => say(app, "nothing changed"),
        Ok(n) => {
            app.visual = None;
            app.selection.clear();
            let structural = op == BulkOp::Delete;
            record_touch(app, if structural { Vec::new() } else { ids }, structural);
            let what = match &op {
                BulkOp::Status(st) => st.name().to_string(),
                BulkOp::Tag(t) => format!("tagged {t}:"),
                BulkOp::Untag(t) => format!("untagged {t}:"),
                BulkOp::Delete => "deleted".to_string(),
            };
            say(app, format!("{what} {n} record{}", if n == 1 { "" } else { "s" }));
            if matches!(op, BulkOp::Status(_)) {
                super::suggest::refit(app);
            }
            // Reviewing the queue: on to its next record. Else advance after a single decision,
            // unless the record already left the view.
            if single && matches!(op, BulkOp::Status(_)) && app.suggest.reviewing {
                super::suggest::review_next(app);
            } else if single
                && matches!(op, BulkOp::Status(_))
                && app.config.front.options.auto_advance
                && app.current_id() == before
            {
                move_by(app, 1);
            }
        }
        Err(e) => fail(app, e),
    }
}

/// Saves the file (`force` overwrites a file changed on disk); a read-only source asks where to
/// save as JSONL.
pub(super) fn save(app: &mut App, force: bool) {
    let ds = app.session.dataset();
    if ds.source().is_read_only() {
        // A compressed or Parquet source is never rewritten: the edits go to a JSONL file.
        let to = crate::dataset::source::save_as_suggestion(ds.path());
        say(app, format!("{} is read-only: save as JSONL (Enter saves to the path shown)", ds.source().describe()));
        return prompt(app, PromptKind::SaveAs, to.display().to_string());
    }
    match app.session.save(force) {
        Ok(()) => {
            let n = app.session.dataset().len();
            say(app, format!("saved {n} records to {}", app.session.dataset().path().display()))
        }
        Err(SessionError::Save(SaveError::ChangedOnDisk { .. })) => app.mode = Mode::Dialog(Dialog::SaveConflict),
        Err(e) => fail(app, e),
    }
}
