//! Drawing: `render(&App, &mut Frame)` reads the state, changes nothing, and hands back the
//! [`Areas`] it drew, which the event loop passes to `update` (mouse hits, page size). Only the
//! rows on screen are decoded, so a frame costs the same at 1K or 1M records.

use super::app::{App, Areas, BulkOp, Dialog, Mode, PromptKind, centered};
use super::keymap::{Command, KeyMode};
use super::search::Query;
use super::text::{ellipsize, preview};
use crate::judge::Signal;
use crate::session::Status;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

/// Splits the screen: list and detail side by side on wide screens, stacked otherwise; a status
/// bar and a hint (or prompt) line at the bottom.
fn layout(area: Rect, app: &App) -> Areas {
    let [main, status, hints] =
        Layout::vertical([Constraint::Min(0), Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let pct = app.config.front.options.list_percent.clamp(10, 90);
    let [list, detail] = if main.height < 10 && main.width < 120 {
        [main, Rect::new(main.x, main.bottom(), main.width, 0)]
    } else if main.width >= 120 {
        Layout::horizontal([Constraint::Percentage(pct), Constraint::Min(0)]).areas(main)
    } else {
        Layout::vertical([Constraint::Percentage(pct), Constraint::Min(0)]).areas(main)
    };
    Areas { list, detail, status, hints, offset: app.offset }
}

/// The status glyph of a decision.
pub fn glyph(s: Status) -> (&'static str, Color) {
    match s {
        Status::Unreviewed => ("·", Color::DarkGray),
        Status::Accepted => ("✓", Color::Green),
        Status::Rejected => ("✗", Color::Red),
        Status::NeedsEdit => ("✎", Color::Yellow),
    }
}

/// Draws the whole screen; returns where everything went.
pub fn render(app: &App, f: &mut Frame) -> Areas {
    let area = f.area();
    let mut l = layout(area, app);
    let rows = l.list.height.saturating_sub(2) as usize;
    l.offset = super::app::list_offset(app.offset, app.cursor, rows, app.shown());
    let drawn = l;
    render_list(app, f, l.list, l.offset);
    let (detail, histogram) = super::histogram::split(app, l.detail);
    l.detail = detail;
    if let Some(h) = histogram {
        super::histogram::render(app, f, h);
    }
    match &app.mode {
        Mode::Edit(ed) => {
            let mut area_w = ed.area.clone();
            area_w.set_block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(format!(
                        " editing {}  ({} apply · {} cancel) ",
                        ed.label,
                        app.keymap.label(Command::EditApply),
                        app.keymap.label(Command::EditCancel)
                    ))
                    .border_style(Style::default().fg(Color::Yellow)),
            );
            f.render_widget(&area_w, l.detail);
        }
        _ if app.training.panel.is_some() => super::training::view::render_panel(app, f, l.detail),
        _ => render_detail(app, f, l.detail),
    }
    render_status(app, f, l.status);
    render_hints(app, f, l.hints);
    match &app.mode {
        Mode::Help => render_help(app, f, area),
        Mode::Dialog(d) => render_dialog(app, f, area, d),
        Mode::Train => super::training::view::render_ask(app, f, area),
        Mode::Frequency => super::frequency::render(app, f, area),
        _ => {}
    }
    drawn
}

fn list_title(app: &App) -> String {
    let mut t = format!(" records · sort {}", app.sort.label());
    if !app.filter.is_empty() {
        t.push_str(&format!(" · filter {}", app.filter.text()));
    }
    if app.search.matched.is_some() {
        t.push_str(&format!(" · search \"{}\"", app.search.query));
    }
    if !app.selection.is_empty() || app.visual.is_some() {
        t.push_str(&format!(" · {} selected", app.targets().len()));
    }
    t.push(' ');
    t
}

fn render_list(app: &App, f: &mut Frame, area: Rect, offset: usize) {
    let block = Block::default().borders(Borders::ALL).title(ellipsize(&list_title(app), area.width as usize));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let ds = app.session.dataset();
    let width = (ds.len().max(1).ilog10() + 1) as usize;
    let score_signal = app.sort.key.unwrap_or(Signal::Len);
    let pattern = Query::parse(&app.search.query);
    let cols = super::score_view::list_columns(app, inner.width as usize);
    let mut lines = Vec::with_capacity(inner.height as usize);
    for row in 0..inner.height as usize {
        let i = offset + row;
        let Some(pos) = app.pos_at(i) else { break };
        let Some(e) = ds.entry(pos) else { break };
        let review = app.session.review(pos);
        let (g, color) = glyph(review.status);
        let flags: Vec<&str> = app.signals.flag_names(e.id).collect();
        let flag_txt = match flags.as_slice() {
            [] => String::new(),
            [one] => ellipsize(one, 9),
            [first, rest @ ..] => format!("{}+{}", ellipsize(first, 7), rest.len()),
        };
        let score = app.signals.value(score_signal, e.id).map_or(String::from("-"), fmt_num);
        let selected = app.is_selected(i, e.id);
        let mark = if selected {
            "▌"
        } else if i == app.cursor {
            "›"
        } else {
            " "
        };
        let changed = if ds.is_changed(pos) { "*" } else { " " };
        let prefix = format!("{mark}{pos:>width$}{changed}");
        let fixed = prefix.chars().count() + 2 + 10 + 7 + super::score_view::columns_width(&cols);
        let room = (inner.width as usize).saturating_sub(fixed);
        let (text, malformed) = match app.record_cache.get(ds, pos) {
            Some(d) => (preview(&d.record.instruction, room.max(1)), false),
            None => (preview(&String::from_utf8_lossy(ds.raw(pos)), room.max(1)), true),
        };
        let mut spans = vec![
            Span::styled(prefix, Style::default().fg(if selected { Color::Cyan } else { Color::DarkGray })),
            Span::raw(" "),
            Span::styled(g, Style::default().fg(color)),
            Span::raw(" "),
            Span::styled(format!("{flag_txt:<9} "), Style::default().fg(Color::Magenta)),
            Span::styled(format!("{score:>6} "), Style::default().fg(Color::Blue)),
        ];
        spans.extend(super::score_view::list_cells(app, e.id, &cols));
        if malformed {
            spans.push(Span::styled(text, Style::default().fg(Color::Red)));
        } else if pattern.covers(0) && !pattern.terms.is_empty() {
            spans.extend(super::conversation::highlighted(&text, &pattern));
        } else {
            spans.push(Span::raw(text));
        }
        let mut line = Line::from(spans);
        if i == app.cursor {
            line = line.style(Style::default().add_modifier(Modifier::REVERSED));
        }
        lines.push(line);
    }
    if lines.is_empty() {
        let msg = if app.search.matched.is_some() && !app.search.done { "searching…" } else { "no records" };
        lines.push(Line::styled(msg, Style::default().fg(Color::DarkGray)));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// A value in the list's six-character column: `41`, `0.421`, and `524k`, `52M` from 100,000 up.
fn fmt_num(v: f32) -> String {
    match v {
        _ if v.abs() >= 99_999.5 => super::score_view::compact(v),
        _ if v.fract() == 0.0 => format!("{v:.0}"),
        _ => format!("{v:.3}"),
    }
}

fn render_detail(app: &App, f: &mut Frame, area: Rect) {
    let ds = app.session.dataset();
    let Some(pos) = app.current() else {
        f.render_widget(Block::default().borders(Borders::ALL).title(" record "), area);
        return;
    };
    let review = app.session.review(pos);
    let mut title = format!(" #{pos} · {}", review.status.name());
    if !review.tags.is_empty() {
        title.push_str(&format!(" · tags {}", review.tags.join(",")));
    }
    if ds.is_changed(pos) {
        title.push_str(" · changed");
    }
    title.push(' ');
    let block = Block::default().borders(Borders::ALL).title(ellipsize(&title, area.width as usize));
    // A long record: only the rows on screen are laid out.
    if let Some(dec) = app.record_cache.get(ds, pos) {
        let size: usize = dec.fields.iter().map(|f| f.text.len()).sum();
        if size > super::detail_window::WINDOW_FROM {
            let head = super::conversation::head_lines(app, pos, Some(&dec.record));
            return render_long_detail(app, f, area, block, head, &dec.fields);
        }
    }
    let lines = super::conversation::detail(app, pos, area.width.saturating_sub(2) as usize).lines;
    let p = Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).scroll((app.detail_scroll, 0));
    f.render_widget(p, area);
}

/// The detail pane of a long record: only the rows on screen are laid out
/// ([`super::detail_window`]); no search highlight or token marks.
fn render_long_detail(
    app: &App,
    f: &mut Frame,
    area: Rect,
    block: Block,
    head: Vec<Line<'static>>,
    fields: &[super::app::FieldView],
) {
    use super::detail_window::{Piece, window};
    let focus = app.conversation.focus.min(fields.len().saturating_sub(1));
    let mut pieces: Vec<Piece> = head.into_iter().map(Piece::Line).collect();
    for (k, fv) in fields.iter().enumerate() {
        let head = Style::default().fg(Color::Cyan).add_modifier(Modifier::BOLD);
        let head = if k == focus { head.add_modifier(Modifier::REVERSED) } else { head };
        let size = format!("{:.1} MB", fv.text.len() as f64 / 1e6);
        pieces.push(Piece::Line(Line::styled(format!("─ {} ({size}) ", fv.label), head)));
        if fv.text.is_empty() {
            pieces.push(Piece::Line(Line::styled("(empty)", Style::default().fg(Color::DarkGray))));
        } else {
            pieces.push(Piece::Text(&fv.text));
        }
    }
    let inner = block.inner(area);
    let rows = window(&pieces, inner.width as usize, app.detail_scroll as usize, inner.height as usize);
    f.render_widget(Paragraph::new(rows).block(block).wrap(Wrap { trim: false }), area);
}

fn render_status(app: &App, f: &mut Frame, area: Rect) {
    let ds = app.session.dataset();
    let counts = app.counts;
    let name = ds.path().file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut spans = vec![
        Span::styled(format!(" {} ", super::text::sanitize_line(&name)), Style::default().add_modifier(Modifier::BOLD)),
        Span::raw(format!("{} · {}/{} ", ds.format(), app.shown(), ds.len())),
    ];
    for st in Status::ALL {
        let (g, c) = glyph(st);
        spans.push(Span::styled(format!("{g}{} ", counts[st as usize]), Style::default().fg(c)));
    }
    if app.modified {
        spans.push(Span::styled("[modified] ", Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD)));
    }
    for j in &app.jobs.running {
        let pct = (j.done * 100).checked_div(j.total).unwrap_or(0);
        let eta = j.eta().map_or(String::new(), |s| format!(" ETA {}", crate::duration::units(s)));
        let rate = j.rate();
        let rate = if rate < 10.0 { format!("{rate:.1}") } else { format!("{rate:.0}") };
        let bar = super::text::progress_bar(j.done, j.total, 8);
        spans.push(Span::styled(format!("⟳ {} {bar} {pct}% {rate}/s{eta} ", j.name), Style::default().fg(Color::Blue)));
    }
    spans.extend(super::training::view::status_spans(app));
    if let Some((msg, err)) = &app.message {
        let style = if *err { Style::default().fg(Color::Red) } else { Style::default().fg(Color::Green) };
        spans.push(Span::styled(format!("│ {}", super::text::sanitize_line(msg)), style));
    }
    f.render_widget(Paragraph::new(Line::from(spans)).style(Style::default().bg(Color::Black)), area);
}

fn hint(app: &App, pairs: &[(Command, &str)]) -> String {
    pairs
        .iter()
        .filter_map(|(c, d)| {
            let k = app.keymap.first(*c);
            (!k.is_empty()).then(|| format!("{k} {d}"))
        })
        .collect::<Vec<_>>()
        .join("  ")
}

fn render_hints(app: &App, f: &mut Frame, area: Rect) {
    let dim = Style::default().fg(Color::DarkGray);
    let line = match &app.mode {
        Mode::Search => {
            let q = super::text::sanitize_line(&app.search.query);
            let mut status = match &app.search.matched {
                Some(m) if !app.search.done && app.search.total > 0 => {
                    format!("  {} matches, {}%", m.len(), app.search.scanned * 100 / app.search.total.max(1))
                }
                Some(m) => format!("  {} matches", m.len()),
                None => String::new(),
            };
            let km = &app.keymap;
            status.push_str(&format!(
                "  ({} keep · {} cancel · {}{} move · i: in: o: scope)",
                km.label(Command::SearchKeep),
                km.label(Command::SearchCancel),
                km.label(Command::SearchUp),
                km.label(Command::SearchDown)
            ));
            Line::from(vec![
                Span::styled("/", Style::default().fg(Color::Yellow)),
                Span::raw(q),
                Span::raw("█"),
                Span::styled(status, dim),
            ])
        }
        Mode::Prompt { kind, text } => {
            let label = match kind {
                PromptKind::Jump => "go to record: ",
                PromptKind::Filter => "filter (status:X tag:X flag:X len>N keep<N changed !cond): ",
                PromptKind::Tag => "add tag: ",
                PromptKind::Untag => "remove tag: ",
                PromptKind::Note => "note: ",
                PromptKind::SaveAs => "save as: ",
            };
            Line::from(vec![
                Span::styled(label, Style::default().fg(Color::Yellow)),
                Span::raw(super::text::sanitize_line(text)),
                Span::raw("█"),
            ])
        }
        Mode::Edit(_) => {
            let mut hint = "editing: review keys are off".to_string();
            for (cmd, what) in [(Command::EditApply, "apply"), (Command::EditCancel, "cancel")] {
                for k in app.keymap.keys(cmd) {
                    hint.push_str(&format!(" · {} {what}", k.label()));
                }
            }
            Line::styled(hint, dim)
        }
        Mode::Help => Line::styled(
            format!(
                "{}/{} scroll · any other key closes",
                app.keymap.first(Command::HelpDown),
                app.keymap.first(Command::HelpUp)
            ),
            dim,
        ),
        Mode::Dialog(_) | Mode::Train => Line::styled("answer the question", dim),
        Mode::Frequency => Line::styled("j/k move · Enter filters to the row · any other key closes", dim),
        Mode::Normal => Line::styled(
            hint(
                app,
                &[
                    (Command::Down, "down"),
                    (Command::Search, "search"),
                    (Command::Filter, "filter"),
                    (Command::Accept, "accept"),
                    (Command::Reject, "reject"),
                    (Command::NeedsEdit, "needs-edit"),
                    (Command::Edit, "edit"),
                    (Command::Undo, "undo"),
                    (Command::Save, "save"),
                    (Command::Help, "help"),
                    (Command::Quit, "quit"),
                ],
            ),
            dim,
        ),
    };
    f.render_widget(Paragraph::new(line), area);
}

fn render_help(app: &App, f: &mut Frame, area: Rect) {
    let r = centered(area, 78, area.height.saturating_sub(2).max(3));
    let mut lines =
        vec![Line::styled("Keys (change them in config.toml [keys])", Style::default().add_modifier(Modifier::BOLD))];
    for mode in KeyMode::ALL {
        if mode != KeyMode::Normal {
            lines.push(Line::raw(""));
            let head = format!("In {}: {}", mode.describe(), mode.section());
            lines.push(Line::styled(head, Style::default().add_modifier(Modifier::BOLD)));
        }
        for (name, keys, desc) in app.keymap.describe(mode) {
            lines.push(Line::from(vec![
                Span::styled(format!("{:<14}", keys.join(" ")), Style::default().fg(Color::Yellow)),
                Span::raw(format!("{desc:<44}")),
                Span::styled(name, Style::default().fg(Color::DarkGray)),
            ]));
        }
    }
    lines.push(Line::raw(""));
    let k = |c| app.keymap.first(c);
    lines.push(Line::raw(format!(
        "Search: {} then type; i: in: o: limit it to instruction, input or response.",
        k(Command::Search)
    )));
    lines.push(Line::raw(format!("Every change can be undone with {}.", k(Command::Undo))));
    let judged: Vec<&str> = Signal::judged().map(Signal::name).collect();
    let example = Signal::HEADLINE;
    lines.push(Line::raw(format!(
        "Judge ({}) signals: {} (filter {example}<0.5,",
        k(Command::Score),
        judged.join(" ")
    )));
    lines.push(Line::raw(format!(
        "sort with {}); model flags: continuation high_ifd high_ppl repetitive.",
        k(Command::Sort)
    )));
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .block(Block::default().borders(Borders::ALL).title(" help "))
            .scroll((app.help_scroll, 0)),
        r,
    );
}

fn render_dialog(app: &App, f: &mut Frame, area: Rect, d: &Dialog) {
    let km = &app.keymap;
    let (title, body): (&str, Vec<String>) = match d {
        Dialog::Bulk { op, ids } => {
            let n = ids.len();
            let what = match op {
                BulkOp::Status(s) => format!("Mark {n} records {}?", s.name()),
                BulkOp::Tag(t) => format!("Tag {n} records `{}`?", super::text::sanitize_line(t)),
                BulkOp::Untag(t) => format!("Remove tag `{}` from {n} records?", super::text::sanitize_line(t)),
                BulkOp::Delete if n == 1 => "Delete this record?".to_string(),
                BulkOp::Delete => format!("Delete {n} records?"),
            };
            let (y, n, u) = (km.label(Command::ConfirmYes), km.label(Command::ConfirmNo), km.first(Command::Undo));
            (" confirm ", vec![what, String::new(), format!("[{y}] yes   [{n}] no   ({u} undoes it later)")])
        }
        Dialog::SaveConflict => (
            " file changed on disk ",
            vec![
                "The file changed on disk since it was opened.".into(),
                String::new(),
                format!(
                    "[{}] overwrite   [{}] save as…   [{}] cancel",
                    km.label(Command::Overwrite),
                    km.label(Command::SaveAs),
                    km.label(Command::ConflictCancel)
                ),
            ],
        ),
        Dialog::Quit => (
            " unsaved changes ",
            vec![
                match app.session.unsaved_edits() {
                    1 => "1 unsaved change to the data (text edit, insert or delete).".to_string(),
                    n => format!("{n} unsaved changes to the data (text edits, inserts, deletes)."),
                },
                "Review decisions (status, tags, notes) are kept either way.".into(),
                String::new(),
                format!(
                    "[{}] save and quit   [{}] discard the data changes and quit   [{}] cancel",
                    km.label(Command::QuitSave),
                    km.label(Command::QuitDiscard),
                    km.label(Command::QuitCancel)
                ),
            ],
        ),
        Dialog::InvalidJson { error, .. } => (
            " invalid JSON ",
            vec![
                "The edited record is not a valid JSON object:".into(),
                super::text::sanitize_line(error),
                String::new(),
                format!(
                    "[{}] edit again (your text is kept)   [{}] discard the edit",
                    km.label(Command::EditAgain),
                    km.label(Command::DiscardEdit)
                ),
            ],
        ),
    };
    let w = body.iter().map(|l| l.chars().count()).max().unwrap_or(10) as u16 + 4;
    let r = centered(area, w.max(20), body.len() as u16 + 2);
    f.render_widget(Clear, r);
    let lines: Vec<Line> = body.into_iter().map(Line::raw).collect();
    f.render_widget(
        Paragraph::new(lines)
            .block(Block::default().borders(Borders::ALL).title(title).border_style(Style::default().fg(Color::Yellow)))
            .wrap(Wrap { trim: false }),
        r,
    );
}

/// The screen shown while a file is being opened.
pub fn render_opening(f: &mut Frame, name: &str, bytes: u64, secs: f64) {
    let area = f.area();
    let text = vec![
        Line::styled(
            format!("opening {}", super::text::sanitize_line(name)),
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Line::raw(format!("{:.1} MB · {secs:.1} s", bytes as f64 / 1e6)),
        Line::styled("q: give up", Style::default().fg(Color::DarkGray)),
    ];
    let r = centered(area, 40, 5);
    f.render_widget(Paragraph::new(text).block(Block::default().borders(Borders::ALL).title(" sift ")), r);
}
