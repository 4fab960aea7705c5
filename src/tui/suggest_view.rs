//! The suggestion in the detail pane: an unreviewed record's `suggest` value, how sure the model
//! is, and the reasons in words ([`crate::suggest::reasons`]), computed for the record shown only.

use super::app::App;
use super::text::sanitize_line;
use crate::dataset::{Record, RecordText};
use crate::judge::Signal;
use crate::suggest::{FeatureInput, reasons};
use ratatui::style::{Color, Style};
use ratatui::text::Line;

/// Records with more text than this get their value without reasons (the reasons hash the
/// record's words on every frame).
pub const REASONS_UP_TO: usize = 64 << 10;

/// The lines for record `id` at position `pos` (none when it has no suggestion).
pub fn detail_lines(app: &App, id: u32, pos: usize, r: &Record) -> Vec<Line<'static>> {
    let (Some(v), Some(fitted)) = (app.signals.value(Signal::Suggest, id), app.suggest.fitted.as_ref()) else {
        return Vec::new();
    };
    let side = if v >= 0.5 { "likely rejected" } else { "likely kept" };
    let style = Style::default().fg(if v >= 0.5 { Color::Red } else { Color::Green });
    let mut lines = vec![Line::styled(format!("suggest {v:.2}: {side} ({})", fitted.summary()), style)];
    let size = r.instruction.len() + r.input.len() + r.output.len();
    let (Some(built), Some(ev)) = (app.suggest.built.as_ref(), app.suggest.evidence.as_ref()) else {
        return lines;
    };
    // The record's row in the features (its position, unless records moved since they were built).
    let Some(p) = (built.ids.get(pos) == Some(&id)).then_some(pos).or_else(|| built.ids.iter().position(|&x| x == id))
    else {
        return lines;
    };
    if size > REASONS_UP_TO {
        lines.push(Line::styled("  (reasons are given for records under 64 KB)", Style::default().fg(Color::DarkGray)));
        return lines;
    }
    let input = FeatureInput {
        text: RecordText { instruction: &r.instruction, input: &r.input, output: &r.output },
        flags: app.signals.flag_names(id).map(String::from).collect(),
        judge: super::suggest::judge_values(app, id),
    };
    for reason in reasons::explain(&fitted.model, &built.features, ev, p, &input).into_iter().take(4) {
        lines.push(Line::styled(format!("  · {}", sanitize_line(&reason)), style));
    }
    lines
}
