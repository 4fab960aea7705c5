//! How the judge's results are drawn: compact score columns in the list, the flags with their
//! reasons and the signal values in the detail pane, and the response's most surprising tokens
//! underlined.

use super::app::App;
use super::text::{sanitize_lines, visible};
use crate::judge::Signal;
use crate::judge::signal_registry::{Origin, ValueFormat};
use crate::judge::signals::Surprise;
use crate::quality::precision::with_precision;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

/// The signal columns that fit a list `width` characters wide, leaving out the sort key, which has
/// its own column: the judge's once the judge ran (or runs), the others (`suggest`) once they have
/// values.
pub fn list_columns(app: &App, width: usize) -> Vec<Signal> {
    let judged = Signal::judged().any(|s| app.signals.has(s)) || app.judge.active || !app.judge.in_flight.is_empty();
    Signal::all()
        .filter(|s| match s.def().origin {
            Origin::Judge(_) => judged,
            Origin::Text(_) | Origin::Review => app.signals.has(*s),
        })
        .filter(|s| s.def().column_from.is_some_and(|from| width >= from as usize))
        .filter(|s| app.sort.key != Some(*s))
        .collect()
}

/// Characters the columns take, separators included.
pub fn columns_width(cols: &[Signal]) -> usize {
    cols.iter().map(|c| cell_width(*c) + 1).sum()
}

/// A cell's width: the label and the value in its format.
fn cell_width(col: Signal) -> usize {
    let value = match col.def().format {
        ValueFormat::Unit => 3,
        ValueFormat::Ratio | ValueFormat::Count => 4,
    };
    col.def().label.chars().count() + value
}

/// The judge cells of one list row: `q.42 c.07 i0.93 p41` (blank when not scored, `…` while waiting).
pub fn list_cells(app: &App, id: u32, cols: &[Signal]) -> Vec<Span<'static>> {
    let th = &app.config.judge.flags;
    let waiting = app.judge.waiting(id);
    cols.iter()
        .map(|&col| {
            let w = cell_width(col);
            let Some(v) = app.signals.value(col, id) else {
                let t = if waiting { "…" } else { "" };
                return Span::styled(format!("{t:<w$} "), Style::default().fg(Color::DarkGray));
            };
            let value = match col.def().format {
                ValueFormat::Unit => unit(v),
                ValueFormat::Ratio => format!("{:.2}", v.clamp(0.0, 9.99)),
                ValueFormat::Count => compact(v),
            };
            let text = format!("{}{value}", col.def().label);
            let color = match () {
                _ if col.is_bad(v, th) => Color::Red,
                _ if col.is_good(v) => Color::Green,
                _ => Color::Gray,
            };
            Span::styled(format!("{text:<w$} "), Style::default().fg(color))
        })
        .collect()
}

/// A 0..1 value in three characters: `.42`, `1.0`.
fn unit(v: f32) -> String {
    let v = v.clamp(0.0, 1.0);
    if v >= 0.995 { "1.0".into() } else { format!(".{:02}", (v * 100.0).round() as u32) }
}

/// A positive value in at most four characters: `41`, `9999`, `12k`, `3M`.
pub(super) fn compact(v: f32) -> String {
    match v {
        _ if !v.is_finite() => "inf".into(),
        _ if v < 9999.5 => format!("{v:.0}"),
        _ if v < 999_500.0 => format!("{:.0}k", v / 1e3),
        _ => format!("{:.0}M", (v / 1e6).min(999.0)),
    }
}

/// A signal value for reading: `0.421`, `41.2`, `1234`.
pub fn value_text(v: f32) -> String {
    match v.abs() {
        a if a >= 1000.0 || v.fract() == 0.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.3}"),
    }
}

/// The head of the detail pane for record `id`: every flag with its reason and measured precision
/// (heuristic ones, then the model's), the judge's notes (a language the model does not cover, the
/// turns of a conversation it skipped), the signal values, and whether the judge is still working on it.
pub fn detail_lines(app: &App, id: u32) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let flag = |name: &str, reason: &str, color| {
        Line::from(vec![
            Span::styled(format!("⚑ {name}: "), Style::default().fg(color)),
            Span::raw(sanitize_lines(reason).join(" ")),
        ])
    };
    for f in app.signals.flags(id) {
        lines.push(flag(f.kind.name(), &with_precision(f.kind.name(), &f.reason), Color::Magenta));
    }
    for f in app.signals.model_flags(id) {
        lines.push(flag(&format!("model {}", f.name), &with_precision(&f.name, &f.reason), Color::Red));
    }
    // What the judge says besides flags: "not covered by this model", skipped or checked turns.
    for note in app.judge.notes.get(&id).into_iter().flatten() {
        lines.push(Line::styled(
            format!("judge: {}", sanitize_lines(note).join(" ")),
            Style::default().fg(Color::Yellow),
        ));
    }
    let mut values: Vec<String> =
        Signal::all().filter_map(|s| app.signals.value(s, id).map(|v| format!("{s} {}", value_text(v)))).collect();
    if app.judge.waiting(id) {
        values.push("judge: scoring…".into());
    }
    if app.judge.surprising.get(&id).is_some_and(|s| !s.is_empty()) {
        values.push("surprising tokens underlined".into());
    }
    if !values.is_empty() {
        lines.push(Line::styled(values.join(" · "), Style::default().fg(Color::Blue)));
    }
    lines
}

/// The style of a surprising token.
pub fn surprise_style() -> Style {
    Style::default().fg(Color::LightRed).add_modifier(Modifier::UNDERLINED)
}

/// `text` as safe lines (like [`sanitize_lines`]) with the byte spans in `marks` underlined.
pub fn marked_lines(text: &str, marks: &[Surprise]) -> Vec<Line<'static>> {
    let mut ranges: Vec<(usize, usize)> = marks
        .iter()
        .map(|s| (s.start as usize, (s.end as usize).min(text.len())))
        .filter(|&(a, b)| a < b && text.is_char_boundary(a) && text.is_char_boundary(b))
        .collect();
    ranges.sort_unstable();
    let hl = surprise_style();
    let mut lines = Vec::new();
    let mut offset = 0;
    for raw in text.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let mut spans: Vec<Span<'static>> = Vec::new();
        let mut cur = String::new();
        let mut cur_hl = false;
        for (i, c) in line.char_indices() {
            let at = offset + i;
            let is = ranges.iter().any(|&(a, b)| a <= at && at < b);
            if is != cur_hl && !cur.is_empty() {
                spans.push(Span::styled(std::mem::take(&mut cur), if cur_hl { hl } else { Style::default() }));
            }
            cur_hl = is;
            match c {
                '\t' => cur.push_str("    "),
                '\r' => cur.push('␍'),
                _ => cur.push(visible(c).unwrap_or(c)),
            }
        }
        if !cur.is_empty() {
            spans.push(Span::styled(cur, if cur_hl { hl } else { Style::default() }));
        }
        lines.push(Line::from(spans));
        offset += raw.len() + 1;
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_follow_bytes_across_lines_and_escapes() {
        let text = "ab\tc\r\nd\u{1b}é f";
        let s = |start, end| Surprise { start, end, nll: 1.0 };
        // `c` (byte 3), `é` (bytes 8..10) and a span cut inside a character (ignored).
        let lines = marked_lines(text, &[s(3, 4), s(8, 10), s(9, 11)]);
        let plain: Vec<String> =
            lines.iter().map(|l| l.spans.iter().map(|s| s.content.to_string()).collect()).collect();
        assert_eq!(plain, sanitize_lines(text));
        let marked: Vec<String> = lines
            .iter()
            .flat_map(|l| l.spans.iter())
            .filter(|s| s.style == surprise_style())
            .map(|s| s.content.to_string())
            .collect();
        assert_eq!(marked, vec!["c", "é"]);
        assert_eq!(unit(0.4213), ".42");
        assert_eq!(unit(1.0), "1.0");
        assert_eq!(compact(41.4), "41");
        assert_eq!(compact(12_345.0), "12k");
        assert_eq!(value_text(0.5), "0.500");
        assert_eq!(value_text(412.34), "412.3");
    }
}
