//! The frequency view (VisiData's Shift-F): how many of the records shown have each status, tag,
//! flag, category and `suggest` bucket. Enter on a row narrows the list to it (the condition joins
//! the filter shown in the list's title); Esc then goes back to the filter before and to the view.
//! The counts are taken when the view opens; drawing reads them only.

use super::app::{App, Mode, Row};
use super::keymap::Command;
use super::text::{ellipsize, sanitize_line};
use super::view::{Cond, Op};
use crate::judge::Signal;
use crate::session::Status;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use std::collections::HashMap;

/// The `suggest` buckets: [lo, hi) with the last one closed.
pub const SUGGEST_BUCKETS: [(f32, f32); 5] = [(0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.0)];

/// Counts the records shown by status, tag, flag, category and `suggest` bucket; groups in that
/// order, the largest count first within a group, empty rows left out.
pub fn count(app: &App) -> (Vec<Row>, usize) {
    let ds = app.session.dataset();
    let shown: Vec<usize> = (0..app.shown()).filter_map(|i| app.pos_at(i)).collect();
    let mut status = [0usize; 4];
    let mut tags: HashMap<String, usize> = HashMap::new();
    let mut flags: HashMap<String, usize> = HashMap::new();
    let mut cats: HashMap<String, usize> = HashMap::new();
    let mut buckets = [0usize; SUGGEST_BUCKETS.len()];
    let finder = memchr::memmem::Finder::new(b"\"category\"");
    for &p in &shown {
        let Some(e) = ds.entry(p) else { continue };
        let review = app.session.review(p);
        status[review.status as usize] += 1;
        for t in review.tags {
            *tags.entry(t).or_default() += 1;
        }
        let mut names: Vec<&str> = app.signals.flag_names(e.id).collect();
        names.sort_unstable();
        names.dedup();
        for f in names {
            *flags.entry(f.to_string()).or_default() += 1;
        }
        // Only records that name a category are decoded.
        if finder.find(ds.raw(p)).is_some()
            && let Some(c) = ds.record(p).and_then(|r| r.category)
        {
            *cats.entry(c).or_default() += 1;
        }
        if let Some(v) = app.signals.value(Signal::Suggest, e.id) {
            buckets[bucket(v)] += 1;
        }
    }
    let mut rows = Vec::new();
    for st in Status::ALL {
        let n = status[st as usize];
        if n > 0 {
            rows.push(Row { group: "status", value: st.name().into(), count: n, conds: vec![Cond::Status(st)] });
        }
    }
    let mut named = |group: &'static str, m: HashMap<String, usize>, cond: fn(String) -> Cond| {
        let mut v: Vec<(String, usize)> = m.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        rows.extend(v.into_iter().map(|(value, count)| Row { group, conds: vec![cond(value.clone())], value, count }));
    };
    named("tag", tags, Cond::Tag);
    named("flag", flags, |f| Cond::Flag(Some(f)));
    named("category", cats, Cond::Category);
    for (k, &(lo, hi)) in SUGGEST_BUCKETS.iter().enumerate() {
        if buckets[k] == 0 {
            continue;
        }
        let num = |op, value| Cond::Num { signal: Signal::Suggest, op, value };
        let conds = match k {
            0 => vec![num(Op::Lt, hi)],
            _ if k + 1 == SUGGEST_BUCKETS.len() => vec![num(Op::Ge, lo)],
            _ => vec![num(Op::Ge, lo), num(Op::Lt, hi)],
        };
        rows.push(Row { group: "suggest", value: format!("{lo:.1}-{hi:.1}"), count: buckets[k], conds });
    }
    (rows, shown.len())
}

/// The bucket of a `suggest` value.
pub fn bucket(v: f32) -> usize {
    ((v.clamp(0.0, 1.0) * SUGGEST_BUCKETS.len() as f32) as usize).min(SUGGEST_BUCKETS.len() - 1)
}

/// Opens the view over the records shown now.
pub fn open(app: &mut App) {
    let (rows, total) = count(app);
    app.frequency.rows = rows;
    app.frequency.total = total;
    app.frequency.cursor = 0;
    app.mode = Mode::Frequency;
}

/// A command of the frequency view: move along the rows, or Enter: filter to the row (a key no
/// command has closes the view, [`super::input`]).
pub fn command(app: &mut App, cmd: Command) {
    let n = app.frequency.rows.len();
    let c = &mut app.frequency.cursor;
    match cmd {
        Command::FrequencyDown => *c = (*c + 1).min(n.saturating_sub(1)),
        Command::FrequencyUp => *c = c.saturating_sub(1),
        Command::FrequencyTop => *c = 0,
        Command::FrequencyBottom => *c = n.saturating_sub(1),
        Command::FrequencyPick => return pick(app),
        _ => {}
    }
    app.mode = Mode::Frequency;
}

/// Narrows the list to the row under the cursor.
fn pick(app: &mut App) {
    let Some(row) = app.frequency.rows.get(app.frequency.cursor).cloned() else { return };
    let before = app.filter.clone();
    let mut filter = before.clone();
    for c in row.conds {
        if !filter.conds.contains(&c) {
            filter.conds.push(c);
        }
    }
    app.filter = filter.clone();
    app.frequency.back = Some((before, filter));
    app.cursor = 0;
    app.refresh_view();
    let esc = app.keymap.first(Command::Clear);
    app.message = Some((format!("{} {}: {} records ({esc}: back)", row.group, row.value, app.shown()), false));
}

/// Esc after Enter picked a row: restores the filter from before and reopens the view; false when
/// there is nothing to go back to (the filter changed since).
pub fn back(app: &mut App) -> bool {
    match app.frequency.back.take() {
        Some((before, set)) if app.filter == set => {
            app.filter = before;
            app.refresh_view();
            let cursor = app.frequency.cursor;
            open(app);
            app.frequency.cursor = cursor.min(app.frequency.rows.len().saturating_sub(1));
            true
        }
        _ => false,
    }
}

/// Draws the table centred over `area`.
pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let st = &app.frequency;
    let h = (st.rows.len() as u16 + 4).min(area.height.saturating_sub(2)).max(5);
    let r = super::app::centered(area, 64, h);
    let title = format!(" frequency · {} records shown · Enter filters · Esc closes ", st.total);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(ellipsize(&title, r.width as usize))
        .border_style(Style::default().fg(Color::Yellow));
    let inner = block.inner(r);
    let rows = inner.height.saturating_sub(1) as usize;
    // Scrolled so that the cursor is on screen.
    let top = st.cursor.saturating_sub(rows.saturating_sub(1));
    let dim = Style::default().fg(Color::DarkGray);
    let mut lines = vec![Line::styled(format!("{:<9} {:<32} {:>8} {:>6}", "group", "value", "records", "share"), dim)];
    for (i, row) in st.rows.iter().enumerate().skip(top).take(rows) {
        let share = 100.0 * row.count as f64 / st.total.max(1) as f64;
        let value = ellipsize(&sanitize_line(&row.value), 32);
        let text = format!("{:<9} {value:<32} {:>8} {share:>5.1}%", row.group, row.count);
        let style = if i == st.cursor { Style::default().add_modifier(Modifier::REVERSED) } else { Style::default() };
        lines.push(Line::from(Span::styled(text, style)));
    }
    if st.rows.is_empty() {
        lines.push(Line::styled("no records shown", dim));
    }
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(block), r);
}
