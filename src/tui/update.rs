//! Events to actions (through the key map) and `update`, the one function that changes the app.

use super::app::{Action, App, BulkOp, Dialog, Editor, Effect, Mode, PromptKind, fail, record_fields, say, validate};
use super::edits::{bulk, move_by, prompt, record_touch, save, target_ids};
use super::jobs::{JobMsg, JobOutput};
use super::keymap::{Command, KeyMode};
use crate::judge::Signal;
use crate::session::Status;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseEventKind};
use ratatui_textarea::{TextArea, WrapMode};
use std::time::Instant;

/// The key map's mode for the mode that has the keyboard.
pub fn key_mode(app: &App) -> KeyMode {
    match &app.mode {
        Mode::Normal => KeyMode::Normal,
        Mode::Search => KeyMode::Search,
        Mode::Prompt { .. } => KeyMode::Prompt,
        Mode::Edit(_) => KeyMode::Editor,
        Mode::Help => KeyMode::Help,
        Mode::Dialog(Dialog::Bulk { .. }) => KeyMode::Confirm,
        Mode::Dialog(Dialog::SaveConflict) => KeyMode::SaveConflict,
        Mode::Dialog(Dialog::Quit) => KeyMode::QuitDialog,
        Mode::Dialog(Dialog::InvalidJson { .. }) => KeyMode::InvalidJson,
        Mode::Train if matches!(app.training.ask, Some(super::training::state::Ask::Train(_))) => KeyMode::TrainDialog,
        Mode::Train => KeyMode::TrainQuestion,
        Mode::Frequency => KeyMode::Frequency,
    }
}

/// Maps a terminal event to an action: a key through the key map of the mode that has the
/// keyboard; a key no command of that mode has goes to the mode as input (typing), except in
/// normal mode.
pub fn map_event(app: &App, ev: &Event) -> Option<Action> {
    match ev {
        Event::Key(k) if k.kind == KeyEventKind::Press || k.kind == KeyEventKind::Repeat => {
            let mode = key_mode(app);
            match app.keymap.lookup(mode, k) {
                Some(c) => Some(Action::Command(c)),
                None if mode == KeyMode::Normal => None,
                None => Some(Action::Input(*k)),
            }
        }
        Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
        Event::Mouse(m) if matches!(app.mode, Mode::Normal) => {
            let in_list = app.areas.list.contains(ratatui::layout::Position::new(m.column, m.row));
            match m.kind {
                MouseEventKind::ScrollDown => Some(Action::Wheel { list: in_list, lines: 3 }),
                MouseEventKind::ScrollUp => Some(Action::Wheel { list: in_list, lines: -3 }),
                MouseEventKind::Down(_) if in_list => Some(Action::Click { row: m.row }),
                _ => None,
            }
        }
        _ => None,
    }
}

/// What background work reported since the last call, as actions, in the order it arrived: job
/// reports, search results, training reports, then a [`Action::Tick`] while work waits to be
/// handed out. Reading the channels changes no state; `update` takes the actions in.
pub fn background(app: &App) -> Vec<Action> {
    let mut out: Vec<Action> = app.jobs.rx.try_iter().map(Action::Job).collect();
    out.extend(app.searcher.rx.try_iter().map(Action::Search));
    out.extend(super::training::state::drain(&app.training).into_iter().map(|m| Action::Train(Box::new(m))));
    if app.feed.is_some() || app.judge.job.is_some() || !app.judge.pending.is_empty() {
        out.push(Action::Tick);
    }
    out
}

impl App {
    /// Feeds what background work reported through `update` (the event loop and the tests);
    /// returns whether anything arrived.
    pub fn poll(&mut self) -> bool {
        let actions = background(self);
        let any = !actions.is_empty();
        for a in actions {
            update(self, a);
        }
        any
    }
}

/// Feeds one event through `map_event` and `update` (what the event loop and the tests do).
pub fn handle_event(app: &mut App, ev: &Event) {
    if let Event::Paste(s) = ev
        && let Mode::Edit(ed) = &mut app.mode
    {
        ed.area.insert_str(s);
        return;
    }
    if let Some(a) = map_event(app, ev) {
        update(app, a);
    }
}

fn key(app: &mut App, c: KeyEvent) {
    handle_event(app, &Event::Key(c));
}

/// Types a string of keys (tests and scripts): `<esc>`, `<enter>`, `<tab>`, `<c-r>` name special keys.
pub fn type_keys(app: &mut App, keys: &str) {
    let mut rest = keys;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
            && end > 1
        {
            let name = &rest[1..end];
            let k = match name {
                "esc" => KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE),
                "enter" => KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE),
                "tab" => KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE),
                "bs" => KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE),
                "down" => KeyEvent::new(KeyCode::Down, KeyModifiers::NONE),
                "up" => KeyEvent::new(KeyCode::Up, KeyModifiers::NONE),
                n if n.starts_with("c-") => {
                    KeyEvent::new(KeyCode::Char(n.chars().nth(2).unwrap_or(' ')), KeyModifiers::CONTROL)
                }
                _ => KeyEvent::new(KeyCode::Char('<'), KeyModifiers::NONE),
            };
            key(app, k);
            rest = if k.code == KeyCode::Char('<') { &rest[1..] } else { &rest[end + 1..] };
            continue;
        }
        let mods = if c.is_ascii_uppercase() { KeyModifiers::SHIFT } else { KeyModifiers::NONE };
        key(app, KeyEvent::new(KeyCode::Char(c), mods));
        rest = &rest[c.len_utf8()..];
    }
}

/// The one function that changes the app.
pub fn update(app: &mut App, action: Action) {
    if let Action::Command(c) = &action
        && super::training::intercept(app, *c)
    {
        return;
    }
    // Background results change signals and views, never the session's records or decisions.
    let changes_data = match &action {
        Action::Command(c) => c.def().changes_data,
        Action::Wheel { .. } | Action::Click { .. } | Action::Resize(..) | Action::Drawn(_) => false,
        Action::Job(_) | Action::Search(_) | Action::Train(_) | Action::Tick => false,
        // Typed text: the search line, a prompt or the editor, which commits only on a command.
        Action::Input(_) => false,
        Action::ExternalEdited { .. } | Action::Terminate => true,
    };
    match action {
        Action::Resize(w, h) => {
            app.size = (w, h);
            app.clamp();
        }
        Action::Terminate => {
            app.jobs.cancel_all();
            app.quit = true;
        }
        Action::Wheel { list: true, lines } => move_by(app, lines as isize),
        Action::Wheel { list: false, lines } => {
            app.detail_scroll = (app.detail_scroll as i32 + lines).clamp(0, u16::MAX as i32) as u16
        }
        Action::Drawn(areas) => {
            app.areas = areas;
            app.offset = areas.offset;
        }
        Action::Click { row } => {
            let l = app.areas;
            if row > l.list.y && row < l.list.bottom().saturating_sub(1) {
                let i = app.offset + (row - l.list.y - 1) as usize;
                if i < app.shown() {
                    app.cursor = i;
                    app.detail_scroll = 0;
                    app.clamp();
                }
            }
        }
        Action::ExternalEdited { id, text, error } => external_done(app, id, text, error),
        Action::Command(cmd) if cmd.def().mode == KeyMode::Normal => {
            app.message = None;
            command(app, cmd);
        }
        Action::Command(cmd) => super::input::command(app, cmd),
        Action::Input(k) => super::input::input(app, k),
        Action::Job(msg) => absorb_job(app, msg),
        Action::Search(msg) => {
            if msg.generation == app.search.generation && app.search.matched.is_some() {
                app.absorb_search(msg.ids, msg.done);
                app.search.scanned = msg.scanned;
                app.search.total = msg.total;
            }
        }
        Action::Train(msg) => super::training::absorb(app, *msg),
        Action::Tick => {
            app.feed_step();
            app.judge_tick();
        }
    }
    if changes_data {
        app.refresh_cached();
    }
    super::conversation::follow(app);
}

fn command(app: &mut App, cmd: Command) {
    let page = app.list_rows().max(1) as isize;
    match cmd {
        Command::Down | Command::NextMatch => move_by(app, 1),
        Command::Up | Command::PrevMatch => move_by(app, -1),
        Command::PageDown => move_by(app, page),
        Command::PageUp => move_by(app, -page),
        Command::Top => move_by(app, -(app.shown() as isize)),
        Command::Bottom => move_by(app, app.shown() as isize),
        Command::Jump => prompt(app, PromptKind::Jump, String::new()),
        Command::Search => {
            if !app.indexed {
                say(app, "indexing: results appear when it is done");
            }
            app.mode = Mode::Search;
        }
        Command::Filter => prompt(app, PromptKind::Filter, app.filter.text()),
        Command::Sort => {
            let mut keys = vec![None];
            keys.extend(app.signals.present().into_iter().map(Some));
            let i = keys.iter().position(|k| *k == app.sort.key).unwrap_or(0);
            app.sort.key = keys[(i + 1) % keys.len()];
            app.sort.descending = app.sort.key.is_some();
            app.refresh_view();
            say(app, format!("sorted by {}", app.sort.label()));
        }
        Command::SortReverse => {
            app.sort.descending = !app.sort.descending;
            app.refresh_view();
        }
        Command::Clear => {
            if app.visual.take().is_some() {
            } else if !app.selection.is_empty() {
                app.selection.clear();
            } else if super::frequency::back(app) {
            } else {
                app.filter = Default::default();
                app.search.query.clear();
                app.run_search();
                app.refresh_view();
            }
        }
        Command::Accept => bulk(app, BulkOp::Status(Status::Accepted)),
        Command::Reject => bulk(app, BulkOp::Status(Status::Rejected)),
        Command::NeedsEdit => bulk(app, BulkOp::Status(Status::NeedsEdit)),
        Command::Unreview => bulk(app, BulkOp::Status(Status::Unreviewed)),
        Command::Tag => prompt(app, PromptKind::Tag, String::new()),
        Command::Untag => prompt(app, PromptKind::Untag, String::new()),
        Command::Note => {
            let note = app.current().map(|p| app.session.review(p).note).unwrap_or_default();
            prompt(app, PromptKind::Note, note)
        }
        Command::Visual => match app.visual.take() {
            Some(anchor) => {
                let (a, b) = (anchor.min(app.cursor), anchor.max(app.cursor));
                let ds = app.session.dataset();
                let ids: Vec<u32> =
                    (a..=b).filter_map(|i| app.pos_at(i)).filter_map(|p| ds.entry(p)).map(|e| e.id).collect();
                app.selection.extend(ids);
            }
            None => app.visual = Some(app.cursor),
        },
        Command::SelectAll => {
            let ds = app.session.dataset();
            let ids: Vec<u32> =
                (0..app.shown()).filter_map(|i| app.pos_at(i)).filter_map(|p| ds.entry(p)).map(|e| e.id).collect();
            app.selection.extend(ids);
            say(app, format!("{} selected", app.selection.len()));
        }
        Command::Edit => start_edit(app),
        Command::EditExternal => {
            if let Some(p) = app.current() {
                let ds = app.session.dataset();
                let text = String::from_utf8_lossy(ds.raw(p)).into_owned();
                app.effect = Some(Effect::ExternalEdit { id: ds.entry(p).expect("current").id, text });
            }
        }
        Command::NextField | Command::PrevField => super::conversation::cycle_focus(app, cmd == Command::NextField),
        Command::DetailDown => app.detail_scroll = app.detail_scroll.saturating_add(3),
        Command::DetailUp => app.detail_scroll = app.detail_scroll.saturating_sub(3),
        Command::Add | Command::Duplicate => {
            let at = app.current().unwrap_or(0);
            let r = if cmd == Command::Add {
                app.session.insert_blank(if app.session.dataset().is_empty() { 0 } else { at + 1 })
            } else {
                app.session.duplicate(at)
            };
            match r {
                Ok(pos) => {
                    let id = app.session.dataset().entry(pos).expect("inserted").id;
                    record_touch(app, vec![id], true);
                    if let Some(i) = (0..app.shown()).find(|&i| app.pos_at(i) == Some(pos)) {
                        app.cursor = i;
                        app.clamp();
                    }
                    if cmd == Command::Add {
                        // A blank record is there to be filled in: straight into its first field.
                        app.conversation.focus = 0;
                        app.detail_scroll = 0;
                        start_edit(app);
                        let field = match &app.mode {
                            Mode::Edit(ed) => ed.label.clone(),
                            _ => "it".into(),
                        };
                        say(app, format!("added #{pos}: editing {field} (Esc applies; Tab, e: the next field)"));
                    } else {
                        say(app, format!("duplicated as #{pos}"));
                    }
                }
                Err(e) => fail(app, e),
            }
        }
        Command::Delete => {
            let ids = target_ids(app);
            if !ids.is_empty() {
                app.mode = Mode::Dialog(Dialog::Bulk { op: BulkOp::Delete, ids });
            }
        }
        Command::ClearStandIn => clear_stand_in(app),
        Command::Undo | Command::Redo => {
            let undo = cmd == Command::Undo;
            let r = if undo { app.session.undo() } else { app.session.redo() };
            match r {
                Ok(Some(label)) => {
                    let (from, to) = if undo {
                        (&mut app.touched_undo, &mut app.touched_redo)
                    } else {
                        (&mut app.touched_redo, &mut app.touched_undo)
                    };
                    let t = from.pop().flatten();
                    to.push(t.clone());
                    app.changed(t, true);
                    say(app, format!("{} {label}", if undo { "undid" } else { "redid" }));
                }
                Ok(None) => say(app, if undo { "nothing to undo" } else { "nothing to redo" }),
                Err(e) => fail(app, e),
            }
        }
        Command::Save => save(app, false),
        Command::Quit => {
            if app.modified {
                app.mode = Mode::Dialog(Dialog::Quit);
            } else {
                app.quit = true;
            }
        }
        Command::CancelJobs => {
            let n = app.jobs.running.len();
            app.jobs.cancel_all();
            say(app, format!("stopping {n} background job{}", if n == 1 { "" } else { "s" }));
        }
        Command::Train | Command::TrainPanel | Command::TrainStop | Command::TryIt => {} // training::intercept
        Command::Score | Command::Histogram | Command::HistogramNext => super::score::command(app, cmd),
        Command::ReviewNext => super::suggest::review_next(app),
        Command::ReviewMode => super::suggest::toggle_mode(app),
        Command::Frequency => super::frequency::open(app),
        Command::Help => {
            app.help_scroll = 0;
            app.mode = Mode::Help;
        }
        // The other modes' commands (`update` sends them to `input::command`).
        _ => {}
    }
}

/// Empties the current record's input when it is a stand-in ("No input", "<noinput>", "N/A"): the
/// one-key fix for the `stand_in_input` flag, undoable like any edit.
fn clear_stand_in(app: &mut App) {
    let Some(pos) = app.current() else { return };
    let ds = app.session.dataset();
    let Some(id) = ds.entry(pos).map(|e| e.id) else { return };
    let input = ds.record(pos).map(|r| r.input).unwrap_or_default();
    if !crate::quality::checks::is_stand_in_input(&input) {
        return say(app, "the input is not a stand-in: nothing to clear");
    }
    match app.session.set_field(pos, crate::dataset::Field::Input, "") {
        Ok(()) => {
            record_touch(app, vec![id], false);
            say(app, format!("cleared the stand-in input of #{pos}"));
        }
        Err(e) => fail(app, e),
    }
}

/// The fields of the record under the cursor.
pub fn current_fields(app: &App) -> Vec<super::app::FieldView> {
    let ds = app.session.dataset();
    app.current().and_then(|p| ds.record(p)).map(|r| record_fields(ds.format(), &r)).unwrap_or_default()
}

fn start_edit(app: &mut App) {
    let Some(id) = app.current_id() else { return };
    let fields = current_fields(app);
    if fields.is_empty() {
        return fail(app, "this record is not valid JSON: fix it as raw text with E");
    }
    let f = &fields[app.conversation.focus.min(fields.len() - 1)];
    let mut area = TextArea::new(f.text.split('\n').map(String::from).collect());
    area.set_wrap_mode(WrapMode::WordOrGlyph);
    app.mode =
        Mode::Edit(Box::new(Editor { id, field: f.field, label: f.label.clone(), original: f.text.clone(), area }));
}

fn external_done(app: &mut App, id: u32, text: Option<String>, error: Option<String>) {
    let Some(text) = text else {
        return fail(app, format!("the editor failed: {}", error.unwrap_or_default()));
    };
    let Some(pos) = app.session.dataset().position(id) else { return fail(app, "the record is gone") };
    let trimmed = text.trim_end_matches(['\n', '\r']).to_string();
    if let Err(error) = validate(&trimmed) {
        app.mode = Mode::Dialog(Dialog::InvalidJson { id, text, error });
        return;
    }
    if trimmed.as_bytes() == app.session.dataset().raw(pos) {
        return say(app, "no change");
    }
    match app.session.set_raw(pos, trimmed.into_bytes()) {
        Ok(()) => {
            record_touch(app, vec![id], false);
            say(app, format!("replaced #{pos}"));
        }
        Err(e) => fail(app, e),
    }
}

/// Takes in one background job report ([`Action::Job`]).
fn absorb_job(app: &mut App, msg: JobMsg) {
    match msg {
        JobMsg::Phase { job, name } => {
            if let Some(j) = app.jobs.running.iter_mut().find(|j| j.id == job) {
                j.name = name;
                j.done = 0;
                j.started = Instant::now();
                j.reported = None;
            }
        }
        JobMsg::Progress { job, done, total, rate } => {
            if let Some(j) = app.jobs.running.iter_mut().find(|j| j.id == job) {
                j.done = done;
                j.total = total;
                j.reported = rate.or(j.reported);
            }
        }
        JobMsg::Output { job, output } => {
            let since = app.jobs.since(job);
            let output = match output {
                JobOutput::Judge(msg) => return app.absorb_judge(since, msg),
                JobOutput::Suggest(r) => return super::suggest::absorb(app, since, *r),
                o => o,
            };
            let flags = matches!(output, JobOutput::Flags(_));
            let lens = matches!(&output, JobOutput::Numeric { signal: Signal::Len, .. });
            if let Some(corpus) = app.signals.absorb(output, since) {
                app.searcher.set_corpus(corpus);
                app.indexed = true;
                if app.message.as_ref().is_some_and(|m| m.0.starts_with("indexing")) {
                    app.message = None;
                }
                if app.search.matched.is_some() {
                    app.run_search();
                }
            }
            if flags && app.suggest.fitted.is_none() {
                // Opened with enough decisions saved: fit once the flags are known.
                super::suggest::refit(app);
            }
            if (flags || lens) && !app.filter.is_empty() && app.search.matched.is_none() {
                app.refresh_view();
            }
        }
        JobMsg::Finished { job, error } => {
            if let Some(e) = error {
                app.message = Some((format!("background job failed: {e}"), true));
            }
            app.jobs.running.retain(|j| j.id != job);
        }
    }
}
