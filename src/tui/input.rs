//! Keys for the mode that has the keyboard: the search line, the one-line prompts, the field
//! editor, help and the dialogs.

use super::app::{App, BulkOp, Dialog, Editor, Effect, Mode, PromptKind};
use super::update::{apply_bulk, bulk, fail, move_by, prompt, record_touch, save, say};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Handles a key in any mode but normal (whose keys go through the key map).
pub(super) fn input(app: &mut App, k: KeyEvent) {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    match std::mem::replace(&mut app.mode, Mode::Normal) {
        Mode::Normal => {}
        Mode::Help => match k.code {
            KeyCode::Char('j') | KeyCode::Down => {
                app.help_scroll += 1;
                app.mode = Mode::Help;
            }
            KeyCode::Char('k') | KeyCode::Up => {
                app.help_scroll = app.help_scroll.saturating_sub(1);
                app.mode = Mode::Help;
            }
            _ => {}
        },
        Mode::Search => match k.code {
            KeyCode::Esc => {
                app.search.query.clear();
                app.run_search();
            }
            KeyCode::Enter => {}
            KeyCode::Down => {
                move_by(app, 1);
                app.mode = Mode::Search;
            }
            KeyCode::Up => {
                move_by(app, -1);
                app.mode = Mode::Search;
            }
            KeyCode::Backspace => {
                app.search.query.pop();
                app.run_search();
                app.mode = Mode::Search;
            }
            KeyCode::Char('u') if ctrl => {
                app.search.query.clear();
                app.run_search();
                app.mode = Mode::Search;
            }
            KeyCode::Char(c) if !ctrl => {
                app.search.query.push(c);
                app.run_search();
                app.mode = Mode::Search;
            }
            _ => app.mode = Mode::Search,
        },
        Mode::Prompt { kind, mut text } => match k.code {
            KeyCode::Esc => {}
            KeyCode::Enter => submit_prompt(app, kind, text),
            KeyCode::Backspace => {
                text.pop();
                app.mode = Mode::Prompt { kind, text };
            }
            KeyCode::Char('u') if ctrl => app.mode = Mode::Prompt { kind, text: String::new() },
            KeyCode::Char(c) if !ctrl => {
                text.push(c);
                app.mode = Mode::Prompt { kind, text };
            }
            _ => app.mode = Mode::Prompt { kind, text },
        },
        Mode::Edit(mut ed) => match k.code {
            KeyCode::Esc => finish_edit(app, *ed),
            KeyCode::Char('s') if ctrl => finish_edit(app, *ed),
            KeyCode::Char('c') if ctrl => say(app, "edit cancelled"),
            _ => {
                ed.area.input(k);
                app.mode = Mode::Edit(ed);
            }
        },
        Mode::Dialog(d) => dialog_key(app, d, k),
        Mode::Train => super::training::dialog_key(app, k),
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

fn dialog_key(app: &mut App, d: Dialog, k: KeyEvent) {
    let c = match k.code {
        KeyCode::Char(c) => c.to_ascii_lowercase(),
        KeyCode::Enter => '\n',
        KeyCode::Esc => '\x1b',
        _ => '\0',
    };
    match (d, c) {
        (Dialog::Bulk { op, ids }, 'y' | '\n') => apply_bulk(app, op, ids),
        (Dialog::SaveConflict, 'o') => save(app, true),
        (Dialog::SaveConflict, 's') => prompt(app, PromptKind::SaveAs, String::new()),
        (Dialog::Quit, 's') => {
            save(app, false);
            app.quit = !app.session.is_modified() && matches!(app.mode, Mode::Normal);
        }
        (Dialog::Quit, 'd') => match app.session.discard_unsaved() {
            Ok(()) => app.quit = true,
            Err(e) => fail(app, e),
        },
        (Dialog::InvalidJson { id, text, .. }, 'e' | '\n') => app.effect = Some(Effect::ExternalEdit { id, text }),
        (Dialog::InvalidJson { .. }, 'd') => say(app, "raw edit discarded"),
        (d @ Dialog::InvalidJson { .. }, _) => app.mode = Mode::Dialog(d),
        (_, 'n' | 'c' | '\x1b') => say(app, "cancelled"),
        (d, _) => app.mode = Mode::Dialog(d),
    }
}
