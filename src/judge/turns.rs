//! A record's responses as the judge reads them. A single exchange is one response, scored under
//! the template. A conversation has one per assistant turn, each scored with its history as the
//! trainer lays it out ([`crate::prompt::conversation_context`]); the record carries its worst
//! turn's scores and flags, named by turn. Tool calls are checked for what they are (their
//! arguments must be JSON), tool results are skipped, and neither is scored as prose.

use super::engine::ScoreItem;
use super::flags::{Assessment, JudgeConfig, JudgeFlag, assess};
use super::signals::ModelSignals;
use crate::dataset::{Record, RecordText, Role, Turn};
use crate::prompt::{conversation_context, conversation_layout, is_single_turn};
use crate::quality::heuristics::Flag;

/// The flag a tool call whose arguments are not a JSON object raises.
pub const BAD_TOOL_CALL: &str = "bad_tool_call";

/// One response the model scores.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Response {
    /// Its index in the record's turn list (as `turn:N` and the detail pane's `#N` count), for a
    /// conversation turn; `None` for a record's single exchange.
    pub turn: Option<usize>,
    /// The instruction; for a conversation turn, the last user message before it.
    pub instruction: String,
    /// The input; for a conversation turn, its other earlier turns in the conversation layout.
    pub input: String,
    pub output: String,
    /// For a conversation turn, the context it is scored under: every earlier turn, then the
    /// assistant header.
    pub context: Option<String>,
}

impl Response {
    /// The triple the signals and cues read.
    pub fn text(&self) -> RecordText<'_> {
        RecordText { instruction: &self.instruction, input: &self.input, output: &self.output }
    }

    /// What the engine scores.
    pub fn item(&self) -> ScoreItem<'_> {
        ScoreItem { text: self.text(), context: self.context.as_deref() }
    }
}

/// What the judge reads of one record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Judgeable {
    /// The responses the model scores, in turn order.
    pub responses: Vec<Response>,
    /// The turns looked at but not scored as prose, and why ("turn 2: skipped: tool result").
    pub notes: Vec<String>,
    /// Flags from checking those turns (a tool call whose arguments are not JSON), each naming its turn.
    pub flags: Vec<JudgeFlag>,
}

/// Whether the judge reads `rec` turn by turn: a conversation the trainer lays out turn by turn (more
/// than one exchange, tool use, or roles other than one user and one assistant message) that has an
/// assistant turn. Preference pairs are judged on their chosen response as one exchange.
pub fn is_conversation(rec: &Record) -> bool {
    rec.preference.is_none() && !is_single_turn(rec) && rec.turns.iter().any(|t| t.role == Role::Assistant)
}

/// The responses and turn findings of `rec`.
pub fn judgeable(rec: &Record) -> Judgeable {
    let mut j = Judgeable::default();
    if !is_conversation(rec) {
        j.responses.push(Response {
            turn: None,
            instruction: rec.instruction.clone(),
            input: rec.input_and_context(),
            output: rec.output.clone(),
            context: None,
        });
        return j;
    }
    for (i, t) in rec.turns.iter().enumerate() {
        match t.role {
            Role::Tool => j.notes.push(format!("turn {i}: skipped: tool result (not scored as prose)")),
            Role::Assistant => {
                check_calls(i, t, &mut j);
                if t.is_call_only() {
                    continue;
                }
                if t.text.trim().is_empty() {
                    j.notes.push(format!("turn {i}: skipped: empty reply"));
                    continue;
                }
                let user = rec.turns[..i].iter().rposition(|u| u.role == Role::User);
                let others: Vec<Turn> = rec.turns[..i]
                    .iter()
                    .enumerate()
                    .filter(|(k, _)| Some(*k) != user)
                    .map(|(_, u)| u.clone())
                    .collect();
                j.responses.push(Response {
                    turn: Some(i),
                    instruction: user.map(|u| rec.turns[u].text.clone()).unwrap_or_default(),
                    input: conversation_layout(&others).trim_end().to_string(),
                    output: t.text.clone(),
                    context: Some(conversation_context(&rec.turns, i)),
                });
            }
            _ => {}
        }
    }
    j
}

/// Checks the tool calls of assistant turn `i`: arguments must be a JSON object (what a trainer's
/// tool-call template and the tool itself read); a call written as text must be JSON at all.
fn check_calls(i: usize, t: &Turn, j: &mut Judgeable) {
    let mut bad = |reason: String| j.flags.push(JudgeFlag { name: BAD_TOOL_CALL.into(), reason });
    if t.text_is_call && t.tool_calls.is_empty() {
        let why =
            serde_json::from_str::<serde_json::Value>(&t.text).err().map(|e| format!(" ({e})")).unwrap_or_default();
        bad(format!("turn {i}: the function call is not a JSON call with a name{why}"));
    }
    let mut fine = Vec::new();
    for c in &t.tool_calls {
        match serde_json::from_str::<serde_json::Value>(&c.arguments) {
            Ok(serde_json::Value::Object(_)) => fine.push(format!("`{}`", c.name)),
            Ok(v) => bad(format!(
                "turn {i}: the arguments of the call to `{}` are JSON but not an object ({})",
                c.name,
                json_kind(&v)
            )),
            Err(e) => bad(format!("turn {i}: the arguments of the call to `{}` are not valid JSON ({e})", c.name)),
        }
    }
    if !fine.is_empty() {
        let what = if t.is_call_only() { "skipped: tool call" } else { "tool call" };
        j.notes.push(format!("turn {i}: {what} to {}, arguments valid JSON (not scored as prose)", fine.join(", ")));
    }
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The record's assessment from its responses' measurements (`measured[k]` for `j.responses[k]`):
/// a single exchange as [`assess`] makes it; a conversation carries its worst turn's signals and
/// model flags (most model flags, then the lowest keep score), each reason prefixed with the turn,
/// beside the heuristic flags, the tool-call flags and the turn notes.
pub fn assess_record(
    j: &Judgeable,
    measured: &[Option<&ModelSignals>],
    heuristic: &[Flag],
    cfg: &JudgeConfig,
) -> Assessment {
    let single = j.responses.len() == 1 && j.responses[0].turn.is_none();
    if single || j.responses.is_empty() {
        let text = j.responses.first().map(Response::text).unwrap_or_default();
        let mut a = assess(measured.first().copied().flatten(), &text, heuristic, cfg);
        a.flags.extend(j.flags.iter().cloned());
        a.notes = j.notes.clone();
        return a;
    }
    let mut worst: Option<(usize, Assessment)> = None;
    for (r, m) in j.responses.iter().zip(measured) {
        let Some(m) = m else { continue };
        let mut a = assess(Some(m), &r.text(), heuristic, cfg);
        a.flags.drain(..heuristic.len().min(a.flags.len()));
        let badness = |a: &Assessment| (a.flags.len(), -a.signals.as_ref().map_or(1.0, |s| s.keep));
        if worst.as_ref().is_none_or(|(_, w)| badness(&a) > badness(w)) {
            worst = Some((r.turn.unwrap_or(0), a));
        }
    }
    let mut flags: Vec<JudgeFlag> =
        heuristic.iter().map(|f| JudgeFlag { name: f.kind.name().into(), reason: f.reason.clone() }).collect();
    flags.extend(j.flags.iter().cloned());
    let (turn, signals) = match worst {
        Some((turn, a)) => {
            flags.extend(
                a.flags.into_iter().map(|f| JudgeFlag { reason: format!("turn {turn}: {}", f.reason), name: f.name }),
            );
            (Some(turn), a.signals)
        }
        None => (None, None),
    };
    Assessment { signals, flags, turn, notes: j.notes.clone() }
}

/// The engine items of every response of `records`, and the range of each record's items.
pub fn items<'a>(
    records: impl IntoIterator<Item = &'a Judgeable>,
) -> (Vec<ScoreItem<'a>>, Vec<std::ops::Range<usize>>) {
    let mut items = Vec::new();
    let mut ranges = Vec::new();
    for j in records {
        let start = items.len();
        items.extend(j.responses.iter().map(Response::item));
        ranges.push(start..items.len());
    }
    (items, ranges)
}
