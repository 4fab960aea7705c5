//! The record view's state: the items a record shows in the detail pane ([`record_fields`]: each
//! turn, part, tool call, rejected response, or the triple), which one has the focus, and moving it
//! to a search match ([`follow_search`]). Names no `App`: drawing and the keys are
//! [`super::conversation`].

use super::search::{Query, highlight};
use super::text::sanitize_line;
use crate::dataset::format::Part;
use crate::dataset::{Field, Format, Record, Role, Turn};

/// What the record view remembers: the focused item, and the search match it last followed.
#[derive(Debug, Default)]
pub struct ConversationState {
    /// Index of the focused item in [`record_fields`].
    pub focus: usize,
    /// (record id, query) the focus was last moved to a search match for.
    followed: Option<(u32, String)>,
}

/// Where an item is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// Full width: single-turn fields, a conversation's turns, a preference pair's prompt.
    Main,
    /// The chosen response (left of the rejected one).
    Chosen,
    /// The rejected response.
    Rejected,
}

/// One editable, showable text of a record.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldView {
    pub label: String,
    pub field: Field,
    pub text: String,
    pub column: Column,
    /// The turn it belongs to (in the turn list, or the rejected list for [`Column::Rejected`]).
    pub turn: Option<usize>,
}

/// Whether a record is shown turn by turn (else as instruction / input / response).
pub fn is_conversation(format: Format, r: &Record) -> bool {
    matches!(format, Format::ShareGpt | Format::OpenAi)
        || r.turns.len() > 3
        || r.preference.is_some()
        || r.turns.iter().any(|t| !t.parts.is_empty() || !t.tool_calls.is_empty() || t.role == Role::Tool)
}

fn turn_label(t: &Turn, n: usize, prefix: &str) -> String {
    let mut label = format!("{prefix}{} #{n}", t.role.label());
    if t.text_is_call {
        label.push_str(" · function_call");
    }
    if let Some(id) = t.tool_call_id.as_deref().filter(|_| t.role == Role::Tool) {
        label.push_str(&format!(" · result of {}", sanitize_line(id)));
    }
    match t.weight {
        Some(w) if w != 0.0 && w != 1.0 => label.push_str(&format!(" · weight {w}")),
        _ => {}
    }
    if !t.trained {
        label.push_str(" (not trained)");
    }
    label
}

/// The items of one turn: the turn's text, or each text part of a content list.
fn turn_items(t: &Turn, n: usize, column: Column, out: &mut Vec<FieldView>) {
    let prefix = if column == Column::Rejected { "rejected " } else { "" };
    let label = turn_label(t, n, prefix);
    if t.text_parts() > 1 {
        let texts = t.parts.iter().filter_map(|p| match p {
            Part::Text(s) => Some(s),
            _ => None,
        });
        for (k, text) in texts.enumerate() {
            out.push(FieldView {
                label: format!("{label} · part {k}"),
                field: Field::Part(n, k),
                text: text.clone(),
                column,
                turn: Some(n),
            });
        }
        return;
    }
    let field = if column == Column::Rejected { Field::Rejected(n) } else { Field::Turn(n) };
    out.push(FieldView { label, field, text: t.text.clone(), column, turn: Some(n) });
}

/// The items the detail pane shows for a record, in focus order: conversations turn by turn (the
/// prompt, then the chosen response, then the rejected one), others as the triple.
pub fn record_fields(format: Format, r: &Record) -> Vec<FieldView> {
    let fv = |label: &str, field, text: &str| FieldView {
        label: label.to_string(),
        field,
        text: text.to_string(),
        column: Column::Main,
        turn: None,
    };
    if !is_conversation(format, r) {
        let mut out = Vec::new();
        if let Some(s) = &r.system {
            out.push(fv("system", Field::System, s));
        }
        out.push(fv("instruction", Field::Instruction, &r.instruction));
        out.push(fv("input", Field::Input, &r.input));
        out.push(fv("response", Field::Output, &r.output));
        return out;
    }
    let prompt_end = r.preference.as_ref().map_or(r.turns.len(), |p| p.prompt_turns.min(r.turns.len()));
    let mut out = Vec::new();
    // The user turn that joins an instruction and a non-empty input is edited as the two fields.
    let joined = (!r.input.is_empty()).then(|| r.prompt_text());
    for (n, t) in r.turns.iter().enumerate() {
        if t.role == Role::User && joined.as_deref() == Some(t.text.as_str()) {
            out.push(FieldView {
                turn: Some(n),
                ..fv(&format!("user #{n} · instruction"), Field::Instruction, &r.instruction)
            });
            out.push(FieldView { turn: Some(n), ..fv(&format!("user #{n} · input"), Field::Input, &r.input) });
            continue;
        }
        turn_items(t, n, if n < prompt_end { Column::Main } else { Column::Chosen }, &mut out);
    }
    for (k, t) in r.preference.iter().flat_map(|p| &p.rejected).enumerate() {
        turn_items(t, k, Column::Rejected, &mut out);
    }
    out
}

/// The item to focus for a search: the first whose text (or tool calls) matches every term, else
/// the first matching any term.
pub fn matching_item(r: &Record, fields: &[FieldView], query: &Query) -> Option<usize> {
    if query.terms.is_empty() {
        return None;
    }
    let text_of = |f: &FieldView| -> String {
        let mut s = f.text.to_lowercase();
        let turn = match f.column {
            Column::Rejected => f.turn.and_then(|n| r.preference.as_ref()?.rejected.get(n)),
            _ => f.turn.and_then(|n| r.turns.get(n)),
        };
        for c in turn.map_or(&[][..], |t| &t.tool_calls) {
            s.push('\n');
            s.push_str(&format!("{}({})", c.name, c.arguments).to_lowercase());
        }
        s
    };
    let texts: Vec<String> = fields.iter().map(text_of).collect();
    let hits = |t: &str| query.terms.iter().filter(|term| t.contains(term.as_str())).count();
    let all = texts.iter().position(|t| hits(t) == query.terms.len());
    all.or_else(|| texts.iter().position(|t| hits(t) > 0))
        .or_else(|| fields.iter().position(|f| !highlight(&f.text, query).is_empty()))
}

/// After the cursor or the search changed: a search match in another turn moves the focus there
/// (once per record and query, so Tab still moves freely afterwards). Returns whether it moved.
pub fn follow_search(
    state: &mut ConversationState,
    id: Option<u32>,
    query: &str,
    r: Option<(Format, &Record)>,
) -> bool {
    let (Some(id), Some((format, r))) = (id, r) else { return false };
    let q = Query::parse(query);
    if q.terms.is_empty() {
        state.followed = None;
        return false;
    }
    let key = (id, query.to_string());
    if state.followed.as_ref() == Some(&key) {
        return false;
    }
    state.followed = Some(key);
    let fields = record_fields(format, r);
    match matching_item(r, &fields, &q) {
        Some(k) if k != state.focus => {
            state.focus = k;
            true
        }
        _ => false,
    }
}
