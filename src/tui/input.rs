//! The commands of every mode but normal (the search line, the one-line prompts, the field
//! editor, help and the dialogs; their keys are in the key map's table), and keys no command has:
//! typed text.

use super::app::{App, BulkOp, Dialog, Editor, Effect, Mode, PromptKind};
use super::app::{fail, say};
use super::edits::{apply_bulk, bulk, move_by, prompt, record_touch, save};
use super::keymap::Command;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Runs a command of the mode that has the keyboard (a command of another mode does nothing).
pub(super) fn command(app: &mut App, cmd: Command) {
    use Command as C;
    match (std::mem::replace(&mut app.mode, Mode::Normal), cmd) {
        (Mode::Help, C::HelpDown) => {
            app.help_scroll += 1;
            app.mode = Mode::Help;
        }
        (Mode::Help, C::HelpUp) => {
            app.help_scroll = app.help_scroll.saturating_sub(1);
            app.mode = Mode::Help;
        }
        (Mode::Search, C::SearchCancel) => {
            app.search.query.clear();
            app.run_search();
        }
        (Mode::Search, C::SearchKeep) => {}
        (Mode::Search, C::SearchDown | C::SearchUp) => {
            move_by(app, if cmd == C::SearchDown { 1 } else { -1 });
            app.mode = Mode::Search;
        }
        (Mode::Search, C::SearchBackspace | C::SearchClearLine) => {
            if cmd == C::SearchBackspace {
                app.search.query.pop();
            } else {
                app.search.query.clear();
            }
            app.run_search();
            app.mode = Mode::Search;
        }
        (Mode::Prompt { .. }, C::PromptCancel) => {}
        (Mode::Prompt { kind, text }, C::PromptSubmit) => submit_prompt(app, kind, text),
        (Mode::Prompt { kind, mut text }, C::PromptBackspace) => {
            text.pop();
            app.mode = Mode::Prompt { kind, text };
        }
        (Mode::Prompt { kind, .. }, C::PromptClearLine) => app.mode = Mode::Prompt { kind, text: String::new() },
        (Mode::Edit(ed), C::EditApply) => finish_edit(app, *ed),
        (Mode::Edit(_), C::EditCancel) => say(app, "edit cancelled"),
        (Mode::Dialog(Dialog::Bulk { op, ids }), C::ConfirmYes) => apply_bulk(app, op, ids),
        (Mode::Dialog(Dialog::SaveConflict), C::Overwrite) => save(app, true),
        (Mode::Dialog(Dialog::SaveConflict), C::SaveAs) => prompt(app, PromptKind::SaveAs, String::new()),
        (Mode::Dialog(Dialog::Quit), C::QuitSave) => {
            save(app, false);
            app.quit = !app.session.is_modified() && matches!(app.mode, Mode::Normal);
        }
        (Mode::Dialog(Dialog::Quit), C::QuitDiscard) => match app.session.discard_unsaved() {
            Ok(()) => app.quit = true,
            Err(e) => fail(app, e),
        },
        (Mode::Dialog(Dialog::InvalidJson { id, text, .. }), C::EditAgain) => {
            app.effect = Some(Effect::ExternalEdit { id, text })
        }
        (Mode::Dialog(Dialog::InvalidJson { .. }), C::DiscardEdit) => say(app, "raw edit discarded"),
        (Mode::Dialog(_), C::ConfirmNo | C::ConflictCancel | C::QuitCancel) => say(app, "cancelled"),
        (Mode::Train, c) => super::training::answer(app, c),
        (Mode::Frequency, c) => super::frequency::command(app, c),
        (mode, _) => app.mode = mode,
    }
}

/// A key no command of the mode has: typed into the search line, a prompt or the editor; it
/// closes help; questions ignore it.
pub(super) fn input(app: &mut App, k: KeyEvent) {
    let typed = match k.code {
        KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => Some(c),
        _ => None,
    };
    match &mut app.mode {
        Mode::Help => app.mode = Mode::Normal,
        Mode::Search => {
            if let Some(c) = typed {
                app.search.query.push(c);
                app.run_search();
            }
        }
        Mode::Prompt { text, .. } => text.extend(typed),
        Mode::Edit(ed) => {
            ed.area.input(k);
        }
        Mode::Frequency => app.mode = Mode::Normal,
        Mode::Normal | Mode::Dialog(_) | Mode::Train => {}
    }
}

fn finish_edit(app: &mut App, ed: Editor) {
    let text = ed.area.lines().join("\n");
    if text == ed.original {
        return;
    }
    let Some(pos) = app.session.dataset().position(ed.id) else { return fail(app, "the record is gone") };
    match app.session.set_field(pos, ed.field, &text) {
        Ok(()) => {
            record_touch(app, vec![ed.id], false);
            say(app, format!("edited {} of #{pos}", ed.label));
        }
        Err(e) => {
            fail(app, e);
            app.mode = Mode::Edit(Box::new(ed));
        }
    }
}

fn submit_prompt(app: &mut App, kind: PromptKind, text: String) {
    let text = text.trim().to_string();
    match kind {
        PromptKind::Jump => match text.parse::<usize>() {
            Ok(n) => match (0..app.shown()).find(|&i| app.pos_at(i) == Some(n)) {
                Some(i) => {
                    app.cursor = i;
                    app.detail_scroll = 0;
                    app.clamp();
                }
                None => fail(app, format!("record {n} is not in the list")),
            },
            Err(_) => fail(app, format!("`{text}` is not a record number")),
        },
        PromptKind::Filter => match super::view::Filter::parse(&text) {
            Ok(f) => {
                let missing: Vec<&str> =
                    f.signals().into_iter().filter(|s| !app.signals.has(*s)).map(|s| s.name()).collect();
                app.filter = f;
                app.refresh_view();
                if !missing.is_empty() {
                    say(app, format!("no values yet for {}", missing.join(", ")));
                }
            }
            Err(e) => {
                fail(app, e);
                app.mode = Mode::Prompt { kind: PromptKind::Filter, text };
            }
        },
        PromptKind::Tag | PromptKind::Untag if !text.is_empty() => {
            bulk(app, if kind == PromptKind::Tag { BulkOp::Tag(text) } else { BulkOp::Untag(text) })
        }
        PromptKind::Tag | PromptKind::Untag => {}
        PromptKind::Note => {
            if let Some(p) = app.current() {
                let id = app.current_id().expect("current");
                match app.session.set_note(p, &text) {
                    Ok(_) => record_touch(app, vec![id], false),
                    Err(e) => fail(app, e),
                }
            }
        }
        PromptKind::SaveAs if !text.is_empty() => match app.session.save_as(std::path::Path::new(&text)) {
            Ok(()) => say(app, format!("saved as {text}")),
            Err(e) => fail(app, e),
        },
        PromptKind::SaveAs => {}
    }
}
