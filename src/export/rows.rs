//! Turning a decoded [`Record`] into the rows each target format stores. Every writer starts from the
//! record's full turn list, so what is exported is exactly what sift shows (and what `sift check` reads).

use crate::dataset::format::{MediaKind, Part, ToolCall};
use crate::dataset::{Format, Record, Role, Turn};
use serde::Serialize;

use serde_json::{Value, json};

/// A chat message as OpenAI / TRL / axolotl / LLaMA-Factory (role/content tags) read it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Message {
    pub role: String,
    /// A string; `null` for a turn that only calls tools; a parts list when the turn shows media.
    pub content: Value,
    /// `0` on assistant turns that must not be trained on (OpenAI `weight`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

/// `{"messages": [...]}` with the record's tools and images.
#[derive(Serialize)]
pub struct MessagesRow {
    pub messages: Vec<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
}

/// A ShareGPT turn.
#[derive(Serialize)]
pub struct ShareGptTurn {
    pub from: String,
    pub value: String,
}

/// `{"conversations": [...]}`, LLaMA-Factory's ShareGPT: tools as a JSON string, media lists,
/// ranking pairs as `chosen` / `rejected`, KTO labels as `kto_tag`.
#[derive(Serialize)]
pub struct ShareGptRow {
    pub conversations: Vec<ShareGptTurn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub videos: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub audios: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen: Option<ShareGptTurn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected: Option<ShareGptTurn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kto_tag: Option<bool>,
}

/// TRL's conversational prompt/completion row (with `label` for KTO).
#[derive(Serialize)]
pub struct PromptCompletionRow {
    pub prompt: Vec<Message>,
    pub completion: Vec<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<bool>,
}

/// TRL's conversational preference row (DPOTrainer).
#[derive(Serialize)]
pub struct PreferenceRow {
    pub prompt: Vec<Message>,
    pub chosen: Vec<Message>,
    pub rejected: Vec<Message>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
}

/// An Alpaca row (`system` and `history` only when present).
#[derive(Serialize)]
pub struct AlpacaRow {
    pub instruction: String,
    pub input: String,
    pub output: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<[String; 2]>,
}

/// The OpenAI role name of a turn.
pub fn role_name(role: &Role) -> String {
    role.label().to_string()
}

/// The ShareGPT `from` value of a turn.
pub fn sharegpt_from(role: &Role) -> String {
    match role {
        Role::System => "system".into(),
        Role::User => "human".into(),
        Role::Assistant => "gpt".into(),
        Role::Tool => "observation".into(),
        Role::Other(s) => s.clone(),
    }
}

/// The record-level media of one kind, as a list of sources.
fn media_list(rec: &Record, kind: MediaKind) -> Vec<String> {
    rec.media.iter().filter(|m| m.kind == kind).map(|m| m.source.clone()).collect()
}

/// The tools as a JSON array (a single schema object becomes a one-element list).
fn tools_array(rec: &Record) -> Option<Value> {
    match rec.tools.clone()? {
        Value::Array(a) if a.is_empty() => None,
        Value::Array(a) => Some(Value::Array(a)),
        other => Some(Value::Array(vec![other])),
    }
}

/// A call's arguments as JSON (an object when they parse, else the text).
fn arguments_value(c: &ToolCall) -> Value {
    serde_json::from_str(&c.arguments).unwrap_or_else(|_| Value::String(c.arguments.clone()))
}

/// Writes every turn as OpenAI messages: tool calls as `tool_calls` (ids made up when the source
/// had none, and the following tool results linked to them), tool results as `tool` turns, turns
/// with media as content parts.
fn openai_messages(turns: &[Turn], n0: usize) -> Vec<Message> {
    let mut pending: std::collections::VecDeque<String> = Default::default();
    let mut out = Vec::with_capacity(turns.len());
    for (n, t) in turns.iter().enumerate() {
        let untrained = t.role == Role::Assistant && !t.trained;
        let text = if t.text_is_call { String::new() } else { t.text.clone() };
        let media: Vec<_> = t.media().collect();
        let content = if !media.is_empty() {
            let mut parts = Vec::new();
            for p in &t.parts {
                match p {
                    Part::Text(x) => parts.push(json!({"type": "text", "text": x})),
                    Part::Media(m) if m.kind == MediaKind::Image => {
                        parts.push(json!({"type": "image_url", "image_url": {"url": m.source}}))
                    }
                    Part::Media(m) => {
                        parts.push(json!({"type": m.kind.list_key().trim_end_matches('s'), "url": m.source}))
                    }
                    Part::Other(_) => {}
                }
            }
            Value::Array(parts)
        } else if text.is_empty() && !t.tool_calls.is_empty() {
            Value::Null
        } else {
            Value::String(text)
        };
        let tool_calls = (!t.tool_calls.is_empty()).then(|| {
            t.tool_calls
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    let id = c.id.clone().unwrap_or_else(|| format!("call_{}_{k}", n0 + n));
                    pending.push_back(id.clone());
                    json!({"id": id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}})
                })
                .collect()
        });
        let tool_call_id = match t.role {
            Role::Tool => {
                let next = pending.pop_front();
                t.tool_call_id.clone().filter(|id| next.as_deref() == Some(id.as_str()) || next.is_none()).or(next)
            }
            _ => None,
        };
        out.push(Message {
            role: role_name(&t.role),
            content,
            weight: untrained.then_some(0),
            tool_calls,
            tool_call_id,
        });
    }
    out
}

/// Every turn as a message (assistant turns that are not trained keep `weight: 0`), with the
/// record's tools and images.
pub fn messages(rec: &Record) -> MessagesRow {
    MessagesRow {
        messages: openai_messages(&rec.turns, 0),
        tools: tools_array(rec),
        images: media_list(rec, MediaKind::Image),
    }
}

/// One turn in ShareGPT / LLaMA-Factory form: tool calls as `function_call` (the call as JSON),
/// tool results as `observation`.
fn sharegpt_turn(t: &Turn, n: usize) -> Result<ShareGptTurn, String> {
    if t.role == Role::Assistant && !t.tool_calls.is_empty() {
        if !t.text_is_call && !t.text.trim().is_empty() {
            return Err(format!("turn {n} has both text and tool calls; a ShareGPT turn holds one or the other"));
        }
        let value = if t.text_is_call {
            t.text.clone()
        } else {
            let calls: Vec<Value> =
                t.tool_calls.iter().map(|c| json!({"name": c.name, "arguments": arguments_value(c)})).collect();
            if calls.len() == 1 { calls[0].to_string() } else { Value::Array(calls).to_string() }
        };
        return Ok(ShareGptTurn { from: "function_call".into(), value });
    }
    Ok(ShareGptTurn { from: sharegpt_from(&t.role), value: t.text.clone() })
}

/// Every turn in ShareGPT form (LLaMA-Factory's, with tools, media, ranking pairs and KTO tags).
pub fn sharegpt(rec: &Record) -> Result<ShareGptRow, String> {
    let (turns, chosen, rejected) = match &rec.preference {
        Some(p) if rec.turns.len() == p.prompt_turns + 1 && p.rejected.len() == 1 => (
            &rec.turns[..p.prompt_turns],
            Some(sharegpt_turn(&rec.turns[p.prompt_turns], p.prompt_turns)?),
            Some(sharegpt_turn(&p.rejected[0], p.prompt_turns)?),
        ),
        Some(_) => return Err("a preference pair whose responses are not single turns".into()),
        None => (&rec.turns[..], None, None),
    };
    let mut conversations = Vec::with_capacity(turns.len());
    let mut system = None;
    for (n, t) in turns.iter().enumerate() {
        // LLaMA-Factory reads the system prompt from its own column when tools are given.
        if n == 0 && t.role == Role::System && rec.tools.is_some() {
            system = Some(t.text.clone());
            continue;
        }
        conversations.push(sharegpt_turn(t, n)?);
    }
    Ok(ShareGptRow {
        conversations,
        system,
        tools: tools_array(rec).map(|t| t.to_string()),
        images: media_list(rec, MediaKind::Image),
        videos: media_list(rec, MediaKind::Video),
        audios: media_list(rec, MediaKind::Audio),
        chosen,
        rejected,
        kto_tag: rec.label,
    })
}

/// LLaMA-Factory's messages layout: role/content turns with `function_call` and `observation`
/// roles, `system`, `tools` (a JSON string) and `images` columns.
pub fn llamafactory(rec: &Record) -> Result<Value, String> {
    let row = sharegpt(&Record { preference: None, ..rec.clone() })?;
    // The turns the conversation holds (a system prompt with tools moves to its own column).
    let turns = &rec.turns[usize::from(row.system.is_some())..];
    let messages: Vec<Value> = row
        .conversations
        .into_iter()
        .zip(turns)
        .map(|(t, turn)| {
            let mut m = json!({"role": lf_role(&t.from), "content": t.value});
            if turn.role == Role::Assistant && !turn.trained {
                m["weight"] = 0.into();
            }
            m
        })
        .collect();
    let mut out = serde_json::Map::new();
    out.insert("messages".into(), Value::Array(messages));
    if let Some(s) = row.system {
        out.insert("system".into(), Value::String(s));
    }
    if let Some(t) = row.tools {
        out.insert("tools".into(), Value::String(t));
    }
    for (key, list) in [("images", row.images), ("videos", row.videos), ("audios", row.audios)] {
        if !list.is_empty() {
            out.insert(key.into(), json!(list));
        }
    }
    Ok(Value::Object(out))
}

/// LLaMA-Factory's role names for ShareGPT `from` values.
fn lf_role(from: &str) -> &str {
    match from {
        "human" => "user",
        "gpt" => "assistant",
        other => other,
    }
}

/// LLaMA-Factory's ranking row: the shared prompt as `messages` (with `system`, `tools` and media
/// columns as in [`llamafactory`]) and one `chosen` and one `rejected` message.
pub fn llamafactory_ranking(rec: &Record) -> Result<Value, String> {
    let p = rec.preference.as_ref().ok_or("no chosen/rejected pair (a ranking export holds preference pairs only)")?;
    if rec.turns.len() != p.prompt_turns + 1 || p.rejected.len() != 1 {
        return Err("a preference pair whose responses are not single turns (LLaMA-Factory ranking rows hold one \
                    chosen and one rejected message)"
            .into());
    }
    if p.prompt_turns == 0 {
        return Err("a preference pair with no prompt".into());
    }
    let prompt = Record { turns: rec.turns[..p.prompt_turns].to_vec(), preference: None, ..rec.clone() };
    let mut row = llamafactory(&prompt)?;
    let message = |t: &Turn| -> Result<Value, String> {
        let s = sharegpt_turn(t, p.prompt_turns)?;
        Ok(json!({"role": lf_role(&s.from), "content": s.value}))
    };
    row["chosen"] = message(&rec.turns[p.prompt_turns])?;
    row["rejected"] = message(&p.rejected[0])?;
    Ok(row)
}

/// Prompt = every turn before the last assistant turn, completion = that turn. Returns the row and
/// how many turns after the last assistant turn were left out (they carry no training signal).
pub fn prompt_completion(rec: &Record) -> Result<(PromptCompletionRow, usize), String> {
    let last = rec.turns.iter().rposition(|t| t.role == Role::Assistant).ok_or("no assistant turn")?;
    if !rec.turns[last].trained {
        return Err("the last assistant turn is marked weight 0: nothing to train on as prompt/completion".into());
    }
    let all = openai_messages(&rec.turns[..=last], 0);
    let mut prompt: Vec<Message> = all[..last].iter().cloned().map(|m| Message { weight: None, ..m }).collect();
    if prompt.is_empty() {
        return Err("no prompt before the assistant turn".into());
    }
    prompt.iter_mut().for_each(|m| m.weight = None);
    let completion = vec![Message { weight: None, ..all[last].clone() }];
    let row = PromptCompletionRow {
        prompt,
        completion,
        tools: tools_array(rec),
        images: media_list(rec, MediaKind::Image),
        label: None,
    };
    Ok((row, rec.turns.len() - last - 1))
}

/// TRL's KTO row: prompt/completion with the record's `label`.
pub fn kto(rec: &Record) -> Result<PromptCompletionRow, String> {
    let label = rec.label.ok_or("no KTO label (`label` / `kto_tag`)")?;
    let (mut row, cut) = prompt_completion(rec)?;
    if cut > 0 {
        return Err("turns after the last assistant turn: a KTO completion must end the conversation".into());
    }
    row.label = Some(label);
    Ok(row)
}

/// TRL's preference row: the shared prompt, the chosen and the rejected response.
pub fn preference(rec: &Record) -> Result<PreferenceRow, String> {
    let p = rec.preference.as_ref().ok_or("not a preference pair (no chosen/rejected)")?;
    let k = p.prompt_turns.min(rec.turns.len());
    if k == 0 {
        return Err("a preference pair with no prompt".into());
    }
    let strip = |v: Vec<Message>| v.into_iter().map(|m| Message { weight: None, ..m }).collect::<Vec<_>>();
    Ok(PreferenceRow {
        prompt: strip(openai_messages(&rec.turns[..k], 0)),
        chosen: strip(openai_messages(&rec.turns[k..], k)),
        rejected: strip(openai_messages(&p.rejected, k)),
        images: media_list(rec, MediaKind::Image),
    })
}

/// Checks the shape Alpaca rows and LLaMA-Factory need: an optional leading system turn, then strictly
/// alternating user/assistant pairs, ending with an assistant turn.
pub fn check_alternating(rec: &Record) -> Result<(), String> {
    let mut turns = rec.turns.as_slice();
    if turns.first().is_some_and(|t| t.role == Role::System) {
        turns = &turns[1..];
    }
    if turns.is_empty() {
        return Err("no user/assistant turns".into());
    }
    for (n, t) in turns.iter().enumerate() {
        let want = if n % 2 == 0 { Role::User } else { Role::Assistant };
        // LLaMA-Factory puts tool results (observation) where user turns go.
        let role = if t.role == Role::Tool { Role::User } else { t.role.clone() };
        if role != want {
            return Err(format!(
                "turn {} is {}, expected {} (strict user/assistant alternation)",
                n,
                t.role.label(),
                want.label()
            ));
        }
    }
    if !turns.len().is_multiple_of(2) {
        return Err("does not end with an assistant turn".into());
    }
    Ok(())
}

/// An Alpaca row. Alpaca/Dolly/string prompt-completion sources keep instruction and input apart;
/// conversations become instruction = last user turn, history = the earlier pairs.
pub fn alpaca(rec: &Record, source: Format) -> Result<AlpacaRow, String> {
    if rec.turns.iter().any(|t| t.role == Role::Tool || !t.tool_calls.is_empty()) {
        return Err("tool calls cannot be written as Alpaca rows (export as sharegpt, openai or llamafactory)".into());
    }
    if !rec.all_media().is_empty() {
        return Err("images/media cannot be written as Alpaca rows (export as sharegpt or openai)".into());
    }
    check_alternating(rec)?;
    let mut turns = rec.turns.as_slice();
    let system = match turns.first() {
        Some(t) if t.role == Role::System => {
            turns = &turns[1..];
            Some(t.text.clone())
        }
        _ => None,
    };
    let n = turns.len();
    let history: Vec<[String; 2]> = turns[..n - 2].chunks(2).map(|p| [p[0].text.clone(), p[1].text.clone()]).collect();
    let single = matches!(source, Format::Alpaca | Format::Dolly)
        || (source == Format::PromptCompletion && rec.turns.len() <= 3 && rec.input.is_empty());
    let (instruction, input) = if single && turns[n - 2].text == rec.prompt_text() {
        (rec.instruction.clone(), rec.input.clone())
    } else {
        (turns[n - 2].text.clone(), String::new())
    };
    Ok(AlpacaRow { instruction, input, output: turns[n - 1].text.clone(), system, history })
}
