//! The detail pane's record view: every turn (role + text, part by part), tool calls with their
//! arguments pretty-printed, tool results, the record's tools schema, media references, the KTO
//! label, and a preference pair's chosen and rejected responses side by side. Each text is an
//! item that Tab / shift-Tab focus and `e` edits in place, addressed as the dataset addresses it
//! (`turn:N`, `turn:N.K`, `rejected:N`, `instruction`...), so a parts list stays a parts list.
//! Everything drawn goes through the sanitiser ([`super::text`]).

use super::app::App;
use super::conversation_state::{Column, FieldView, follow_search, record_fields};
use super::search::{Query, highlight};
use super::text::{sanitize_line, sanitize_lines};
use crate::dataset::format::Part;
use crate::dataset::{Field, Format, Record, Turn};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// Lines for the detail pane, and the line where each item's header is (for scrolling to it).
pub struct Drawn {
    pub lines: Vec<Line<'static>>,
    pub starts: Vec<usize>,
}

fn head_style(focused: bool) -> Style {
    let s = Style::default().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    if focused { s.add_modifier(Modifier::REVERSED) } else { s }
}

fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}

/// What the drawing needs beyond the record.
pub struct Look<'a> {
    pub focus: usize,
    pub query: &'a Query,
    /// The judge's surprising tokens of the response (byte spans), drawn underlined.
    pub marks: &'a [crate::judge::signals::Surprise],
}

/// The text lines of an item: highlighted search terms, or the judge's marks on the response.
fn text_lines(f: &FieldView, r: &Record, look: &Look<'_>, search_k: usize) -> Vec<Line<'static>> {
    if f.text.is_empty() {
        return vec![Line::styled("(empty)", dim())];
    }
    let hl = !look.query.terms.is_empty() && (look.query.covers(search_k) || search_k == 3);
    if !hl && !look.marks.is_empty() && f.text == r.output && f.column != Column::Rejected {
        return super::score_view::marked_lines(&f.text, look.marks);
    }
    sanitize_lines(&f.text)
        .into_iter()
        .map(|l| if hl { Line::from(highlighted(&l, look.query)) } else { Line::raw(l) })
        .collect()
}

/// `text` with the query's matches highlighted.
pub fn highlighted(text: &str, pattern: &Query) -> Vec<Span<'static>> {
    let base = Style::default();
    let idx = if text.len() < 4000 { highlight(text, pattern) } else { Vec::new() };
    if idx.is_empty() {
        return vec![Span::styled(text.to_string(), base)];
    }
    let hl = base.fg(Color::Yellow).add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut cur_hl = false;
    let mut k = 0;
    for (n, c) in text.chars().enumerate() {
        let is = k < idx.len() && idx[k] == n;
        if is {
            k += 1;
        }
        if is != cur_hl && !cur.is_empty() {
            out.push(Span::styled(std::mem::take(&mut cur), if cur_hl { hl } else { base }));
        }
        cur_hl = is;
        cur.push(c);
    }
    out.push(Span::styled(cur, if cur_hl { hl } else { base }));
    out
}

fn search_slot(field: Field) -> usize {
    match field {
        Field::Instruction => 0,
        Field::Input => 1,
        Field::Output => 2,
        _ => 3,
    }
}

/// Tool calls as `→ name` with the arguments pretty-printed below.
fn call_lines(t: &Turn, out: &mut Vec<Line<'static>>) {
    for c in &t.tool_calls {
        let id = c.id.as_deref().map(|i| format!("  (id {})", sanitize_line(i))).unwrap_or_default();
        out.push(Line::from(vec![
            Span::styled("→ call ", Style::default().fg(Color::Magenta)),
            Span::styled(sanitize_line(&c.name), Style::default().fg(Color::Magenta).add_modifier(Modifier::BOLD)),
            Span::styled(id, dim()),
        ]));
        for l in sanitize_lines(&c.pretty_arguments()) {
            out.push(Line::raw(format!("  {l}")));
        }
    }
}

/// Media and other non-text parts of a turn, one line each.
fn part_lines(t: &Turn, out: &mut Vec<Line<'static>>) {
    for p in &t.parts {
        match p {
            Part::Media(m) => out.push(Line::styled(
                format!("[{}] {}", media_name(m.kind), sanitize_line(&m.source)),
                Style::default().fg(Color::Green),
            )),
            Part::Other(ty) if ty != "tool_call" => {
                out.push(Line::styled(format!("[{} part]", sanitize_line(ty)), dim()))
            }
            _ => {}
        }
    }
}

fn media_name(k: crate::dataset::format::MediaKind) -> &'static str {
    match k {
        crate::dataset::format::MediaKind::Image => "image",
        crate::dataset::format::MediaKind::Video => "video",
        crate::dataset::format::MediaKind::Audio => "audio",
    }
}

/// Draws the items of one column (with their turns' calls and media) at `width`.
fn column_lines(
    r: &Record,
    fields: &[FieldView],
    which: Column,
    look: &Look<'_>,
    width: usize,
    starts: &mut [usize],
    base: usize,
) -> Vec<Line<'static>> {
    let mut out: Vec<Line<'static>> = Vec::new();
    let mut k = 0;
    while k < fields.len() {
        let f = &fields[k];
        if f.column != which {
            k += 1;
            continue;
        }
        let turn = match f.column {
            Column::Rejected => f.turn.and_then(|n| r.preference.as_ref()?.rejected.get(n)),
            _ => f.turn.and_then(|n| r.turns.get(n)),
        };
        // Every item of the same turn is drawn together, then the turn's calls and media.
        let mut end = k + 1;
        while end < fields.len() && fields[end].column == which && f.turn.is_some() && fields[end].turn == f.turn {
            end += 1;
        }
        for (j, g) in fields.iter().enumerate().take(end).skip(k) {
            starts[j] = base + out.len();
            let head = Line::styled(format!("─ {} ", sanitize_line(&g.label)), head_style(j == look.focus));
            out.extend(wrap(head, width));
            let call_only = turn.is_some_and(|t| t.is_call_only());
            if !(call_only && (g.text.trim().is_empty() || turn.is_some_and(|t| t.text_is_call))) {
                for l in text_lines(g, r, look, search_slot(g.field)) {
                    out.extend(wrap(l, width));
                }
            }
        }
        if let Some(t) = turn {
            let mut extra = Vec::new();
            part_lines(t, &mut extra);
            call_lines(t, &mut extra);
            for l in extra {
                out.extend(wrap(l, width));
            }
        }
        k = end;
    }
    out
}

/// The record view: label, media, the turns (a preference pair's responses side by side), and
/// the tools schema, wrapped to `width` columns.
pub fn draw(format: Format, r: &Record, look: &Look<'_>, width: usize) -> Drawn {
    let width = width.max(1);
    let fields = record_fields(format, r);
    let mut starts = vec![0; fields.len()];
    let mut lines: Vec<Line<'static>> = Vec::new();
    match r.label {
        Some(true) => lines.push(Line::styled("KTO label: desirable (true)", Style::default().fg(Color::Green))),
        Some(false) => lines.push(Line::styled(
            "KTO label: undesirable (false): never a fine-tuning target",
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
        )),
        None => {}
    }
    for m in &r.media {
        let l = Line::styled(
            format!("{}: {}", m.kind.list_key(), sanitize_line(&m.source)),
            Style::default().fg(Color::Green),
        );
        lines.extend(wrap(l, width));
    }
    let tool_names: Vec<String> = r
        .tools
        .iter()
        .flat_map(|t| t.as_array().into_iter().flatten())
        .filter_map(|t| t.get("function").unwrap_or(t).get("name")?.as_str().map(sanitize_line))
        .collect();
    if r.tools.is_some() {
        let l = Line::styled(
            format!("tools: {} (schema below)", tool_names.join(", ")),
            Style::default().fg(Color::Magenta),
        );
        lines.extend(wrap(l, width));
    }
    let base = lines.len();
    lines.extend(column_lines(r, &fields, Column::Main, look, width, &mut starts, base));
    if r.preference.is_some() {
        // Side by side: chosen left, rejected right, each half the width less the rule.
        let left_w = (width.saturating_sub(3) / 2).max(1);
        let right_w = width.saturating_sub(3 + left_w).max(1);
        let head = |s: &str, w: usize| {
            let mut t = format!("━ {s} ");
            while t.chars().count() < w {
                t.push('━');
            }
            t
        };
        let base = lines.len() + 1;
        let left = column_lines(r, &fields, Column::Chosen, look, left_w, &mut starts, base);
        let right = column_lines(r, &fields, Column::Rejected, look, right_w, &mut starts, base);
        let bold = Style::default().add_modifier(Modifier::BOLD);
        lines.push(Line::from(vec![
            Span::styled(head("chosen", left_w), bold.fg(Color::Green)),
            Span::styled(" │ ", dim()),
            Span::styled(head("rejected", right_w), bold.fg(Color::Red)),
        ]));
        for n in 0..left.len().max(right.len()) {
            let mut spans: Vec<Span<'static>> = Vec::new();
            let mut used = 0;
            if let Some(l) = left.get(n) {
                used = line_width(l);
                spans.extend(l.spans.iter().cloned());
            }
            spans.push(Span::raw(" ".repeat(left_w.saturating_sub(used))));
            spans.push(Span::styled(" │ ", dim()));
            if let Some(l) = right.get(n) {
                spans.extend(l.spans.iter().cloned());
            }
            lines.push(Line::from(spans));
        }
    }
    if let Some(tools) = &r.tools {
        lines.push(Line::styled("─ tools schema ", Style::default().fg(Color::Magenta).add_modifier(Modifier::BOLD)));
        let pretty = serde_json::to_string_pretty(tools).unwrap_or_default();
        for l in sanitize_lines(&pretty) {
            lines.extend(wrap(Line::raw(l), width));
        }
    }
    Drawn { lines, starts }
}

/// The whole detail pane body of the record at `pos`, wrapped to `width`: the judge's flags and
/// signals, the note, then the record view (or a malformed record's raw text). `starts` are
/// positions in these lines.
pub fn detail(app: &App, pos: usize, width: usize) -> Drawn {
    let ds = app.session.dataset();
    if ds.entry(pos).is_none() {
        return Drawn { lines: Vec::new(), starts: Vec::new() };
    }
    let dec = app.record_cache.get(ds, pos);
    let head = head_lines(app, pos, dec.as_ref().map(|d| &d.record));
    let mut lines: Vec<Line<'static>> = head.into_iter().flat_map(|l| wrap(l, width)).collect();
    let query = Query::parse(&app.search.query);
    match dec {
        Some(d) => {
            let id = ds.entry(pos).map_or(0, |e| e.id);
            let marks = app.judge.surprising.get(&id).map_or(&[][..], Vec::as_slice);
            let look = Look { focus: app.conversation.focus, query: &query, marks };
            let drawn = draw(ds.format(), &d.record, &look, width);
            let base = lines.len();
            lines.extend(drawn.lines);
            Drawn { lines, starts: drawn.starts.into_iter().map(|s| s + base).collect() }
        }
        None => {
            lines.push(Line::styled("not valid JSON (E edits the raw text):", Style::default().fg(Color::Red)));
            let raw = String::from_utf8_lossy(ds.raw(pos));
            lines.extend(sanitize_lines(&raw).into_iter().flat_map(|l| wrap(Line::raw(l), width)));
            Drawn { lines, starts: Vec::new() }
        }
    }
}

/// The lines above the record view: the judge's flags and signals, the note, and the suggestion
/// learnt from the annotator's decisions (`r`: the decoded record, if it is valid).
pub fn head_lines(app: &App, pos: usize, r: Option<&Record>) -> Vec<Line<'static>> {
    let ds = app.session.dataset();
    let Some(e) = ds.entry(pos) else { return Vec::new() };
    let review = app.session.review(pos);
    let mut head: Vec<Line<'static>> = super::score_view::detail_lines(app, e.id);
    if !review.note.is_empty() {
        head.push(Line::styled(
            format!("note: {}", sanitize_lines(&review.note).join(" ")),
            Style::default().fg(Color::Cyan),
        ));
    }
    if let Some(r) = r {
        head.extend(super::suggest_view::detail_lines(app, e.id, pos, r));
    }
    head
}

/// The detail pane's inner size (width, height) as last drawn.
fn detail_size(app: &App) -> (usize, usize) {
    let (detail, _) = super::histogram::split(app, app.areas.detail);
    (detail.width.saturating_sub(2) as usize, detail.height.saturating_sub(2) as usize)
}

/// Scrolls the detail pane so the focused item's header is in view.
pub fn reveal(app: &mut App) {
    let Some(pos) = app.current() else { return };
    let (w, h) = detail_size(app);
    let drawn = detail(app, pos, w);
    let Some(&start) = drawn.starts.get(app.conversation.focus) else { return };
    let top = app.detail_scroll as usize;
    if start < top || start >= top + h.max(1) {
        app.detail_scroll = start.min(u16::MAX as usize) as u16;
    }
}

/// Moves the focus to the next (or previous) item of the current record and brings it into view.
pub fn cycle_focus(app: &mut App, forward: bool) {
    let ds = app.session.dataset();
    let n = app.current().and_then(|p| app.record_cache.get(ds, p)).map_or(0, |d| d.fields.len()).max(1);
    let f = app.conversation.focus.min(n - 1);
    app.conversation.focus = if forward { (f + 1) % n } else { (f + n - 1) % n };
    reveal(app);
}

/// After an update or new search results: a search match in another item of the record under the
/// cursor moves the focus there, in view.
pub fn follow(app: &mut App) {
    let query = if app.search.matched.is_some() { app.search.query.clone() } else { String::new() };
    let id = app.current_id();
    let ds = app.session.dataset();
    let dec = app.current().and_then(|p| app.record_cache.get(ds, p));
    let format = ds.format();
    if follow_search(&mut app.conversation, id, &query, dec.as_ref().map(|d| (format, &d.record))) {
        app.detail_scroll = 0;
        reveal(app);
    }
}

fn line_width(l: &Line<'_>) -> usize {
    l.spans.iter().flat_map(|s| s.content.chars()).map(|c| c.width().unwrap_or(0)).sum()
}

/// Breaks a styled line into lines of at most `width` cells, at spaces where it can.
pub fn wrap(line: Line<'static>, width: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let cells: Vec<(char, Style)> =
        line.spans.iter().flat_map(|s| s.content.chars().map(move |c| (c, s.style))).collect();
    if cells.is_empty() {
        return vec![line];
    }
    let mut out = Vec::new();
    let mut start = 0;
    while start < cells.len() {
        let (mut w, mut end, mut brk) = (0, start, None);
        while end < cells.len() {
            let cw = cells[end].0.width().unwrap_or(0);
            if w + cw > width {
                break;
            }
            w += cw;
            if cells[end].0 == ' ' {
                brk = Some(end + 1);
            }
            end += 1;
        }
        // A line that ends just where a space falls breaks there, the space dropped.
        let mut next = None;
        if end < cells.len() && cells[end].0 == ' ' && end > start {
            next = Some(end + 1);
        } else if end < cells.len()
            && let Some(b) = brk.filter(|&b| b > start)
        {
            end = b;
        }
        let end = end.max(start + 1);
        let mut spans: Vec<Span<'static>> = Vec::new();
        for &(c, st) in &cells[start..end] {
            match spans.last_mut() {
                Some(s) if s.style == st => s.content.to_mut().push(c),
                _ => spans.push(Span::styled(c.to_string(), st)),
            }
        }
        out.push(Line::from(spans).style(line.style));
        start = next.unwrap_or(end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_at_spaces_and_keeps_styles() {
        let l = Line::from(vec![Span::raw("hello "), Span::styled("wide world", Style::default().fg(Color::Red))]);
        let w: Vec<String> =
            wrap(l, 8).iter().map(|l| l.spans.iter().map(|s| s.content.to_string()).collect()).collect();
        assert_eq!(w, ["hello ", "wide ", "world"]);
        let w: Vec<String> = wrap(Line::raw("ab cd ef"), 5)
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.to_string()).collect())
            .collect();
        assert_eq!(w, ["ab cd", "ef"], "a line that fills the width exactly keeps its last word");
        let w = wrap(Line::raw("abcdefghij"), 4);
        assert_eq!(w.len(), 3, "a word longer than the width is cut");
        assert_eq!(wrap(Line::raw("日本語"), 4).len(), 2, "wide characters take two cells");
    }
}
