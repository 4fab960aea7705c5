//! The instruction-data formats sift reads, how each is recognised from its keys, and how a record of
//! each maps onto the triple (instruction c, input z, response y) and a turn list.

use super::json::{self, Seg};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A dataset format. Detected from the keys of the records; `--format` overrides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// `{"instruction", "input", "output"}` (+ optional `system`, `history`).
    Alpaca,
    /// `{"instruction", "context", "response", "category"}`.
    Dolly,
    /// `{"conversations": [{"from", "value"}, ...]}`.
    ShareGpt,
    /// `{"messages": [{"role", "content"(, "weight")}, ...]}`.
    OpenAi,
    /// `{"prompt", "completion"}`, as strings or message lists.
    PromptCompletion,
    /// `{"chosen", "rejected"}` with a `prompt` (strings or messages), an `instruction`/`input`
    /// (LLaMA-Factory ranking), or the prompt implicit in both conversations (TRL DPO).
    Preference,
}

impl Format {
    /// Every format, in detection priority order.
    pub const ALL: [Format; 6] =
        [Format::ShareGpt, Format::OpenAi, Format::Preference, Format::PromptCompletion, Format::Dolly, Format::Alpaca];

    /// The name used on the command line and in `stats`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Alpaca => "alpaca",
            Format::Dolly => "dolly",
            Format::ShareGpt => "sharegpt",
            Format::OpenAi => "openai",
            Format::PromptCompletion => "prompt-completion",
            Format::Preference => "preference",
        }
    }

    /// Parses a format name (as printed by [`Format::name`], plus a few aliases).
    pub fn from_name(s: &str) -> Option<Format> {
        Some(match s.to_ascii_lowercase().as_str() {
            "alpaca" => Format::Alpaca,
            "dolly" => Format::Dolly,
            "sharegpt" => Format::ShareGpt,
            "openai" | "messages" | "chatml" => Format::OpenAi,
            "prompt-completion" | "prompt_completion" | "completion" | "trl" | "kto" => Format::PromptCompletion,
            "preference" | "dpo" | "ranking" => Format::Preference,
            _ => return None,
        })
    }

    /// The keys whose presence identifies the format.
    pub fn signature(self) -> &'static [&'static str] {
        match self {
            Format::Alpaca => &["instruction", "output"],
            Format::Dolly => &["instruction", "response"],
            Format::ShareGpt => &["conversations"],
            Format::OpenAi => &["messages"],
            Format::PromptCompletion => &["prompt", "completion"],
            Format::Preference => &["chosen", "rejected"],
        }
    }

    /// Whether a record whose top-level keys are `keys` looks like this format.
    pub fn matches(self, keys: &[String]) -> bool {
        self.signature().iter().all(|k| keys.iter().any(|x| x == k))
    }

    /// What a record of each format must look like, for the "unknown format" error.
    pub fn expectations() -> String {
        Format::ALL
            .iter()
            .map(|f| format!("{} ({})", f.name(), f.signature().join(", ")))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who speaks a turn.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    #[default]
    User,
    Assistant,
    /// A tool's result (OpenAI `tool`, ShareGPT `observation`, legacy `function`).
    Tool,
    /// Any other role, kept by name.
    Other(String),
}

impl Role {
    fn parse(s: &str) -> Role {
        match s {
            "system" => Role::System,
            "human" | "user" => Role::User,
            "gpt" | "assistant" | "model" | "bot" | "chatgpt" | "function_call" => Role::Assistant,
            "tool" | "observation" | "function" | "ipython" => Role::Tool,
            other => Role::Other(other.to_string()),
        }
    }

    /// Short label for display.
    pub fn label(&self) -> &str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
            Role::Other(s) => s,
        }
    }
}

/// What kind of media a reference points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Image,
    Video,
    Audio,
}

impl MediaKind {
    /// The record-level list that holds this kind (`images`, `videos`, `audios`).
    pub fn list_key(self) -> &'static str {
        match self {
            MediaKind::Image => "images",
            MediaKind::Video => "videos",
            MediaKind::Audio => "audios",
        }
    }
}

/// A reference to an image, video or audio file (a path or URL; never loaded by sift).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    pub kind: MediaKind,
    pub source: String,
}

/// One part of a content list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Part {
    Text(String),
    Media(Media),
    /// A part sift does not interpret (kept in the file as it is), by its `type`.
    Other(String),
}

/// A tool (function) call made by an assistant turn.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The call's id (OpenAI `tool_calls[].id`), when the file gives one.
    pub id: Option<String>,
    pub name: String,
    /// The arguments as JSON text.
    pub arguments: String,
}

impl ToolCall {
    /// Reads `{"name", "arguments"}`, `{"function": {...}, "id"}` or `{"name", "parameters"}`.
    pub fn from_value(v: &serde_json::Value) -> Option<ToolCall> {
        let id = v.get("id").and_then(|i| i.as_str()).map(String::from);
        let f = v.get("function").filter(|f| f.is_object()).unwrap_or(v);
        let name = f.get("name")?.as_str()?.to_string();
        let arguments = match f.get("arguments").or_else(|| f.get("parameters")) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => "{}".to_string(),
        };
        Some(ToolCall { id, name, arguments })
    }

    /// Calls written as JSON text (ShareGPT `function_call` values, LLaMA-Factory v1 `tool_call` parts):
    /// one object or a list of them.
    pub fn parse_text(text: &str) -> Option<Vec<ToolCall>> {
        match serde_json::from_str::<serde_json::Value>(text).ok()? {
            serde_json::Value::Array(items) => items.iter().map(ToolCall::from_value).collect(),
            v => Some(vec![ToolCall::from_value(&v)?]),
        }
    }

    /// The arguments pretty-printed (as they are when they are not valid JSON).
    pub fn pretty_arguments(&self) -> String {
        serde_json::from_str::<serde_json::Value>(&self.arguments)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| self.arguments.clone())
    }
}

/// One turn of a conversation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub role: Role,
    /// The turn's text: the content string, or its text parts joined (empty for a turn that only calls
    /// tools or only shows media).
    pub text: String,
    /// The content's parts when the file holds a list (text and media, in order); empty for a string.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
    /// Tool calls made by this (assistant) turn.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// Whether `text` is the tool calls themselves written as JSON (ShareGPT `function_call` turns):
    /// writers with a tool-call slot write `tool_calls` instead of the text.
    #[serde(default)]
    pub text_is_call: bool,
    /// For tool results: the call answered (OpenAI `tool_call_id`), when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Whether a trainer should learn this turn (OpenAI `weight: 0` / `loss_weight: 0` turns are not).
    pub trained: bool,
    /// The per-turn weight as written (OpenAI `weight`, LLaMA-Factory v1 `loss_weight`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
}

impl Turn {
    /// A plain text turn.
    pub fn new(role: Role, text: impl Into<String>, trained: bool) -> Turn {
        Turn { role, text: text.into(), trained, ..Turn::default() }
    }

    /// Number of text parts (1 for string content).
    pub fn text_parts(&self) -> usize {
        if self.parts.is_empty() { 1 } else { self.parts.iter().filter(|p| matches!(p, Part::Text(_))).count() }
    }

    /// The media this turn's content refers to.
    pub fn media(&self) -> impl Iterator<Item = &Media> {
        self.parts.iter().filter_map(|p| match p {
            Part::Media(m) => Some(m),
            _ => None,
        })
    }

    /// Whether this is an assistant turn that only calls tools (no prose to judge).
    pub fn is_call_only(&self) -> bool {
        self.role == Role::Assistant
            && (self.text_is_call || (!self.tool_calls.is_empty() && self.text.trim().is_empty()))
    }
}

/// A preference pair: the record's turns from `prompt_turns` on are the chosen response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Preference {
    /// How many of the record's turns are the shared prompt.
    pub prompt_turns: usize,
    /// The rejected response's turns.
    pub rejected: Vec<Turn>,
}

/// A record decoded from its raw bytes: the triple plus the full conversation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// c: the instruction (for conversations: the last user turn before the response).
    pub instruction: String,
    /// z: the input/context (empty when unused).
    pub input: String,
    /// y: the response (for conversations: the last assistant turn).
    pub output: String,
    /// A system prompt, when the record has one.
    pub system: Option<String>,
    /// Task category (Dolly `category`), when present.
    pub category: Option<String>,
    /// Every turn in order; for single-turn formats: [system], user (c + z), assistant (y), with any
    /// Alpaca `history` pairs before them. For preference data: the prompt, then the chosen response.
    pub turns: Vec<Turn>,
    /// The tools (function schemas) the conversation may call, as a JSON array (read from a string
    /// when the file stores them as text, as LLaMA-Factory does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<serde_json::Value>,
    /// Record-level media lists (`images`, `videos`, `audios`), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<Media>,
    /// Chosen/rejected responses (DPO, LLaMA-Factory ranking).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preference: Option<Preference>,
    /// KTO label: `Some(false)` marks an undesirable response (never a fine-tuning target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<bool>,
}

impl Record {
    /// A stable hash of the record's content (not its bytes): re-attaches review state after the
    /// file was reformatted or edited elsewhere.
    pub fn content_hash(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for t in &self.turns {
            h.update(t.role.label().as_bytes());
            h.update(&[0x1f]);
            h.update(t.text.as_bytes());
            h.update(&[0x1e]);
        }
        h.update(self.instruction.as_bytes());
        h.update(&[0x1f]);
        h.update(self.input.as_bytes());
        h.update(&[0x1f]);
        h.update(self.output.as_bytes());
        // Only records that have them hash these, so older records keep their hash.
        for t in self.preference.iter().flat_map(|p| &p.rejected) {
            h.update(&[0x1d]);
            h.update(t.text.as_bytes());
        }
        if let Some(l) = self.label {
            h.update(if l { b"\x1dkto+" } else { b"\x1dkto-" });
        }
        h.digest()
    }

    /// The user message for single-turn formats: instruction, then input on a new paragraph.
    pub fn prompt_text(&self) -> String {
        join_prompt(&self.instruction, &self.input)
    }

    /// Every text of the record that a curator reads: each turn (tool calls as name and arguments),
    /// the rejected response, joined by blank lines. Search, `len` and duplicate detection use it.
    pub fn conversation_text(&self) -> String {
        let mut out = String::new();
        let rejected = self.preference.iter().flat_map(|p| &p.rejected);
        for t in self.turns.iter().chain(rejected) {
            let mut push = |s: &str| {
                if !s.is_empty() {
                    if !out.is_empty() {
                        out.push_str("\n\n");
                    }
                    out.push_str(s);
                }
            };
            if !t.text_is_call {
                push(&t.text);
            }
            for c in &t.tool_calls {
                push(&format!("{}({})", c.name, c.arguments));
            }
        }
        out
    }

    /// The turns of the conversation before the last user turn (earlier exchanges, tool calls and
    /// results), as text: what makes two records with the same last exchange different.
    pub fn earlier_text(&self) -> String {
        let last_user = self.turns.iter().rposition(|t| t.role == Role::User).unwrap_or(0);
        let mut out = String::new();
        for t in &self.turns[..last_user] {
            if t.role == Role::System {
                continue;
            }
            out.push_str(t.role.label());
            out.push('\u{1f}');
            out.push_str(&t.text);
            out.push('\u{1e}');
        }
        out
    }

    /// Everything a curator reads besides the instruction, input and response: a conversation's
    /// earlier turns, tool calls and results, and a rejected response (system prompts left out, so
    /// a prompt shared by every record does not make them alike). Empty for a single exchange.
    pub fn context_text(&self) -> String {
        let last = self.turns.iter().rposition(|t| t.role == Role::Assistant && !t.text_is_call);
        let last = last.or_else(|| self.turns.iter().rposition(|t| t.role == Role::Assistant));
        let user = last.and_then(|a| self.turns[..a].iter().rposition(|t| t.role == Role::User));
        let mut out = String::new();
        let mut push = |s: &str| {
            if !s.is_empty() {
                if !out.is_empty() {
                    out.push_str("\n\n");
                }
                out.push_str(s);
            }
        };
        for (n, t) in self.turns.iter().enumerate() {
            if t.role == Role::System || Some(n) == user {
                continue;
            }
            if Some(n) != last && !t.text_is_call {
                push(&t.text);
            }
            for c in &t.tool_calls {
                push(&format!("{}({})", c.name, c.arguments));
            }
        }
        for t in self.preference.iter().flat_map(|p| &p.rejected) {
            push(&t.text);
        }
        out
    }

    /// The input as search, `len` and duplicate detection read it: the input, then the context
    /// ([`Record::context_text`]).
    pub fn input_and_context(&self) -> String {
        let context = self.context_text();
        match (self.input.is_empty(), context.is_empty()) {
            (_, true) => self.input.clone(),
            (true, false) => context,
            (false, false) => format!("{}\n\n{context}", self.input),
        }
    }

    /// Whether this is a conversation with more than one user turn, or tool use.
    pub fn is_multi_turn(&self) -> bool {
        self.turns.iter().filter(|t| t.role == Role::User).count() > 1
            || self.turns.iter().any(|t| t.role == Role::Tool || !t.tool_calls.is_empty())
    }

    /// Whether the record is labelled undesirable (KTO `label: false`): an example of what not to
    /// answer, never a fine-tuning target.
    pub fn is_undesirable(&self) -> bool {
        self.label == Some(false)
    }

    /// The chosen response's turns, for preference data.
    pub fn chosen(&self) -> Option<&[Turn]> {
        self.preference.as_ref().map(|p| &self.turns[p.prompt_turns.min(self.turns.len())..])
    }

    /// Every media reference: the record's lists, then those inside turns.
    pub fn all_media(&self) -> Vec<&Media> {
        self.media.iter().chain(self.turns.iter().flat_map(|t| t.media())).collect()
    }

    /// The turn index of the first turn whose text contains `needle` (lower-cased), for jumping to a
    /// search match.
    pub fn turn_matching(&self, needle: &str) -> Option<usize> {
        let needle = needle.to_lowercase();
        self.turns.iter().position(|t| {
            t.text.to_lowercase().contains(&needle)
                || t.tool_calls.iter().any(|c| format!("{}({})", c.name, c.arguments).to_lowercase().contains(&needle))
        })
    }
}

/// Instruction and input joined as one user message.
pub fn join_prompt(instruction: &str, input: &str) -> String {
    if input.is_empty() { instruction.to_string() } else { format!("{instruction}\n\n{input}") }
}

/// A field of a record that can be read and edited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Field {
    Instruction,
    Input,
    Output,
    System,
    /// The n-th turn of the turn list.
    Turn(usize),
    /// Text part k of turn n (content lists with several text parts).
    Part(usize, usize),
    /// The n-th turn of a preference pair's rejected response.
    Rejected(usize),
}

impl Field {
    /// Parses `instruction|input|output|system|turn:N|turn:N.K|rejected:N`.
    pub fn from_name(s: &str) -> Option<Field> {
        Some(match s {
            "instruction" => Field::Instruction,
            "input" | "context" => Field::Input,
            "output" | "response" | "chosen" => Field::Output,
            "system" => Field::System,
            _ => {
                if let Some(n) = s.strip_prefix("rejected:") {
                    return Some(Field::Rejected(n.parse().ok()?));
                }
                let t = s.strip_prefix("turn:")?;
                match t.split_once('.') {
                    Some((n, k)) => Field::Part(n.parse().ok()?, k.parse().ok()?),
                    None => Field::Turn(t.parse().ok()?),
                }
            }
        })
    }

    /// The name [`Field::from_name`] reads.
    pub fn name(self) -> String {
        match self {
            Field::Instruction => "instruction".into(),
            Field::Input => "input".into(),
            Field::Output => "output".into(),
            Field::System => "system".into(),
            Field::Turn(n) => format!("turn:{n}"),
            Field::Part(n, k) => format!("turn:{n}.{k}"),
            Field::Rejected(n) => format!("rejected:{n}"),
        }
    }
}

/// A problem with one field of an otherwise readable record.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldIssue {
    pub message: String,
}

fn kind_name(b: &[u8]) -> &'static str {
    match b.first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'n') => "null",
        Some(b't') | Some(b'f') => "a boolean",
        _ => "a number",
    }
}

/// Reads the string member `key` of the object at `b[0..]`. Missing: `Ok(None)`; wrong type: an issue.
fn str_member(b: &[u8], obj: usize, key: &'static str, issues: &mut Vec<FieldIssue>, required: bool) -> Option<String> {
    match json::member(b, obj, key) {
        Some((s, e)) if b[s] == b'"' => json::decode_string(&b[s..e]),
        Some((s, _)) if b[s] == b'n' && !required => None,
        Some((s, _)) => {
            let message = format!("field `{key}` is {}, expected a string", kind_name(&b[s..]));
            issues.push(FieldIssue { message });
            None
        }
        None => {
            if required {
                issues.push(FieldIssue { message: format!("missing field `{key}`") });
            }
            None
        }
    }
}

/// A message's content: its text, its parts (when a list), where each text part's string is relative
/// to the content, and any tool calls written as parts.
#[derive(Default)]
struct Content {
    text: String,
    parts: Vec<Part>,
    /// Paths (relative to the content) of the text parts' strings; `None` for string content.
    text_paths: Option<Vec<Vec<Seg>>>,
    calls: Vec<ToolCall>,
}

/// Where a media part keeps its source: a string, or an object with `url` / `path`.
fn media_source(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => {
            ["url", "path", "data"].iter().find_map(|k| o.get(*k)?.as_str().map(String::from))
        }
        _ => None,
    }
}

/// Reads a message's content: a string, null, or a list of typed parts (OpenAI
/// `{"type": "text", "text"}` / `{"type": "image_url", ...}`, LLaMA-Factory v1 `{"type", "value"}`).
fn read_content(b: &[u8], span: (usize, usize)) -> Option<Content> {
    match b[span.0] {
        b'"' => Some(Content { text: json::decode_string(&b[span.0..span.1])?, ..Content::default() }),
        b'n' => Some(Content { text_paths: Some(Vec::new()), ..Content::default() }),
        b'[' => {
            let mut c = Content { text_paths: Some(Vec::new()), ..Content::default() };
            let mut texts: Vec<String> = Vec::new();
            for (k, (s, e)) in json::array_elements(b, span.0)?.into_iter().enumerate() {
                if b[s] == b'"' {
                    let t = json::decode_string(&b[s..e])?;
                    c.parts.push(Part::Text(t.clone()));
                    texts.push(t);
                    c.text_paths.as_mut()?.push(vec![Seg::Index(k)]);
                    continue;
                }
                let ty = json::member(b, s, "type").and_then(|(ts, te)| json::decode_string(&b[ts..te]));
                let ty =
                    ty.unwrap_or_else(
                        || if json::member(b, s, "text").is_some() { "text".into() } else { String::new() },
                    );
                let text_key = |b: &[u8]| -> Option<(&'static str, (usize, usize))> {
                    ["text", "value", "content"].into_iter().find_map(|key| json::member(b, s, key).map(|sp| (key, sp)))
                };
                match ty.as_str() {
                    "text" | "input_text" | "output_text" | "reasoning" | "thinking" => {
                        let (key, (ts, te)) = text_key(b)?;
                        let t = json::decode_string(&b[ts..te])?;
                        c.parts.push(Part::Text(t.clone()));
                        texts.push(t);
                        c.text_paths.as_mut()?.push(vec![Seg::Index(k), Seg::Key(key)]);
                    }
                    _ => {
                        let v: serde_json::Value = serde_json::from_slice(&b[s..e]).ok()?;
                        let kind = match ty.as_str() {
                            "image_url" | "image" | "input_image" => Some(MediaKind::Image),
                            "video" | "video_url" | "input_video" => Some(MediaKind::Video),
                            "audio" | "audio_url" | "input_audio" => Some(MediaKind::Audio),
                            _ => None,
                        };
                        if let Some(kind) = kind {
                            let source = media_source(v.get(ty.as_str()))
                                .or_else(|| media_source(v.get("value")))
                                .or_else(|| media_source(v.get("url")))
                                .or_else(|| media_source(v.get("path")))
                                .unwrap_or_default();
                            c.parts.push(Part::Media(Media { kind, source }));
                        } else if ty == "tool_call" {
                            let calls = match v.get("value") {
                                Some(serde_json::Value::String(t)) => ToolCall::parse_text(t),
                                Some(other) => ToolCall::from_value(other).map(|c| vec![c]),
                                None => None,
                            };
                            c.calls.extend(calls.unwrap_or_default());
                            c.parts.push(Part::Other(ty));
                        } else {
                            c.parts.push(Part::Other(ty));
                        }
                    }
                }
            }
            c.text = texts.join("\n");
            Some(c)
        }
        _ => None,
    }
}

/// One decoded message with the paths of its editable text.
struct Msg {
    turn: Turn,
    /// Path of the turn's text as one field (None when its content has several text parts, or none).
    path: Option<Vec<Seg>>,
    /// Paths of each text part, for content lists.
    part_paths: Vec<Vec<Seg>>,
}

/// Reads the message object at `es`, whose path in the record is `base`.
fn read_message(
    b: &[u8],
    es: usize,
    base: &[Seg],
    what: &str,
    keys: (&'static str, &'static str),
    issues: &mut Vec<FieldIssue>,
) -> Option<Msg> {
    if b[es] != b'{' {
        issues.push(FieldIssue { message: format!("`{what}` is {}, expected an object", kind_name(&b[es..])) });
        return None;
    }
    // Files mix the ShareGPT and OpenAI key names; read whichever is there.
    let (role_key, text_key) = keys;
    let alt = |k: &'static str| match k {
        "from" => "role",
        "role" => "from",
        "value" => "content",
        _ => "value",
    };
    let role_key = if json::member(b, es, role_key).is_some() { role_key } else { alt(role_key) };
    let text_key = if json::member(b, es, text_key).is_some() { text_key } else { alt(text_key) };
    let Some(role) = json::member(b, es, role_key).and_then(|(rs, re)| json::decode_string(&b[rs..re])) else {
        issues.push(FieldIssue { message: format!("`{what}` has no string `{}`", keys.0) });
        return None;
    };
    let content = match json::member(b, es, text_key) {
        Some(sp) => read_content(b, sp),
        None => Some(Content { text_paths: Some(Vec::new()), ..Content::default() }),
    };
    let Some(content) = content else {
        issues.push(FieldIssue { message: format!("`{what}` has no text `{}`", keys.1) });
        return None;
    };
    let mut turn =
        Turn { role: Role::parse(&role), text: content.text, parts: content.parts, trained: true, ..Turn::default() };
    turn.tool_calls = content.calls;
    let weight = ["weight", "loss_weight"].into_iter().find_map(|k| json::member(b, es, k)).map(|(ws, we)| &b[ws..we]);
    if let Some(w) = weight {
        turn.weight = match w {
            b"true" => Some(1.0),
            b"false" => Some(0.0),
            _ => std::str::from_utf8(w).ok().and_then(|s| s.parse::<f64>().ok()),
        };
        turn.trained = turn.weight.is_none_or(|w| w != 0.0);
    }
    if role == "function_call" {
        turn.text_is_call = true;
        match ToolCall::parse_text(&turn.text) {
            Some(calls) => turn.tool_calls = calls,
            None => issues
                .push(FieldIssue { message: format!("`{what}` is a function_call whose value is not a JSON call") }),
        }
    }
    if let Some((s, e)) = json::member(b, es, "tool_calls").filter(|(s, _)| b[*s] == b'[') {
        let v: serde_json::Value = serde_json::from_slice(&b[s..e]).unwrap_or_default();
        let calls: Vec<ToolCall> = v.as_array().into_iter().flatten().filter_map(ToolCall::from_value).collect();
        turn.tool_calls.extend(calls);
    }
    if let Some((s, e)) = json::member(b, es, "function_call").filter(|(s, _)| b[*s] == b'{') {
        let v: serde_json::Value = serde_json::from_slice(&b[s..e]).unwrap_or_default();
        turn.tool_calls.extend(ToolCall::from_value(&v));
    }
    turn.tool_call_id = ["tool_call_id", "name"]
        .into_iter()
        .filter(|_| turn.role == Role::Tool)
        .find_map(|k| json::member(b, es, k).and_then(|(s, e)| json::decode_string(&b[s..e])));
    let mut at = base.to_vec();
    at.push(Seg::Key(text_key));
    let (path, part_paths) = match content.text_paths {
        None => (Some(at), Vec::new()),
        Some(parts) => {
            let full: Vec<Vec<Seg>> = parts.into_iter().map(|p| at.iter().cloned().chain(p).collect()).collect();
            let one = match full.len() {
                1 => Some(full[0].clone()),
                // A null content (tool calls only) is replaced by a string when edited.
                0 if b.get(json::find_path(b, 0, &at).map_or(usize::MAX, |s| s.0)) == Some(&b'n') => Some(at),
                _ => None,
            };
            (one, full)
        }
    };
    Some(Msg { turn, path, part_paths })
}

/// Reads the message list `list` (a top-level member) with the given role and text keys.
fn messages(
    b: &[u8],
    list: &'static str,
    role_key: &'static str,
    text_key: &'static str,
    issues: &mut Vec<FieldIssue>,
) -> Vec<Msg> {
    let Some((s, _)) = json::member(b, 0, list) else {
        issues.push(FieldIssue { message: format!("missing field `{list}`") });
        return Vec::new();
    };
    if b[s] != b'[' {
        issues.push(FieldIssue { message: format!("field `{list}` is {}, expected an array", kind_name(&b[s..])) });
        return Vec::new();
    }
    let mut out = Vec::new();
    for (n, (es, _)) in json::array_elements(b, s).unwrap_or_default().into_iter().enumerate() {
        let base = [Seg::Key(list), Seg::Index(n)];
        if let Some(m) = read_message(b, es, &base, &format!("{list}[{n}]"), (role_key, text_key), issues) {
            out.push(m);
        }
    }
    out
}

/// A response given as a string (`"chosen": "..."`) or as messages (`"chosen": [...]`).
fn response(b: &[u8], key: &'static str, issues: &mut Vec<FieldIssue>) -> Vec<Msg> {
    match json::member(b, 0, key) {
        Some((s, e)) if b[s] == b'"' => vec![Msg {
            turn: Turn::new(Role::Assistant, json::decode_string(&b[s..e]).unwrap_or_default(), true),
            path: Some(vec![Seg::Key(key)]),
            part_paths: Vec::new(),
        }],
        Some((s, _)) if b[s] == b'{' => {
            read_message(b, s, &[Seg::Key(key)], key, ("from", "value"), issues).into_iter().collect()
        }
        Some(_) => messages(b, key, "role", "content", issues),
        None => {
            issues.push(FieldIssue { message: format!("missing field `{key}`") });
            Vec::new()
        }
    }
}

/// Record-level fields every shape may carry: `tools`, media lists, a KTO label.
fn read_extras(b: &[u8], rec: &mut Record, issues: &mut Vec<FieldIssue>) {
    match json::member(b, 0, "tools") {
        Some((s, e)) if b[s] == b'"' => {
            let text = json::decode_string(&b[s..e]).unwrap_or_default();
            if !text.trim().is_empty() {
                match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(v) => rec.tools = Some(v),
                    Err(_) => issues.push(FieldIssue { message: "field `tools` is a string that is not JSON".into() }),
                }
            }
        }
        Some((s, e)) if b[s] == b'[' || b[s] == b'{' => rec.tools = serde_json::from_slice(&b[s..e]).ok(),
        _ => {}
    }
    for kind in [MediaKind::Image, MediaKind::Video, MediaKind::Audio] {
        if let Some((s, e)) = json::member(b, 0, kind.list_key()).filter(|(s, _)| b[*s] == b'[') {
            let v: serde_json::Value = serde_json::from_slice(&b[s..e]).unwrap_or_default();
            for item in v.as_array().into_iter().flatten() {
                let source = media_source(Some(item)).unwrap_or_default();
                rec.media.push(Media { kind, source });
            }
        }
    }
    rec.label = ["label", "kto_tag"].into_iter().find_map(|k| match json::member(b, 0, k) {
        Some((s, e)) => match &b[s..e] {
            b"true" => Some(true),
            b"false" => Some(false),
            _ => None,
        },
        None => None,
    });
}

/// A decoded record together with where each editable field lives in its bytes.
pub struct Decoded {
    pub record: Record,
    /// Problems with individual fields (the record is still usable).
    pub issues: Vec<FieldIssue>,
    paths: Vec<(Field, Vec<Seg>)>,
}

impl Decoded {
    /// Where `field` lives in the record's bytes, if this record has it (or can have it added).
    pub fn path(&self, field: Field) -> Option<&[Seg]> {
        self.paths.iter().find(|(f, _)| *f == field).map(|(_, p)| p.as_slice())
    }
}

/// Decodes a record's raw bytes (a JSON object, already validated) in `format`.
pub fn decode(format: Format, b: &[u8]) -> Decoded {
    let mut issues = Vec::new();
    let mut paths: Vec<(Field, Vec<Seg>)> = Vec::new();
    let mut rec = Record::default();
    if b.first() != Some(&b'{') {
        issues.push(FieldIssue { message: format!("record is {}, expected an object", kind_name(b)) });
        return Decoded { record: rec, issues, paths };
    }
    read_extras(b, &mut rec, &mut issues);
    let single = |rec: &mut Record, paths: &mut Vec<(Field, Vec<Seg>)>, keys: [&'static str; 3]| {
        paths.push((Field::Instruction, vec![Seg::Key(keys[0])]));
        paths.push((Field::Input, vec![Seg::Key(keys[1])]));
        paths.push((Field::Output, vec![Seg::Key(keys[2])]));
        // The system prompt comes first, before any Alpaca `history` pairs.
        if let Some(sys) = &rec.system {
            rec.turns.insert(0, Turn::new(Role::System, sys.clone(), false));
        }
        let n = rec.turns.len();
        rec.turns.push(Turn::new(Role::User, join_prompt(&rec.instruction, &rec.input), false));
        rec.turns.push(Turn::new(Role::Assistant, rec.output.clone(), true));
        paths.push((Field::Turn(n + 1), vec![Seg::Key(keys[2])]));
        if rec.input.is_empty() {
            paths.push((Field::Turn(n), vec![Seg::Key(keys[0])]));
        }
    };
    match format {
        Format::Alpaca => {
            rec.instruction = str_member(b, 0, "instruction", &mut issues, true).unwrap_or_default();
            rec.input = str_member(b, 0, "input", &mut issues, false).unwrap_or_default();
            rec.output = str_member(b, 0, "output", &mut issues, true).unwrap_or_default();
            rec.system = str_member(b, 0, "system", &mut issues, false);
            rec.category = str_member(b, 0, "category", &mut Vec::new(), false);
            paths.push((Field::System, vec![Seg::Key("system")]));
            read_history(b, &mut rec);
            single(&mut rec, &mut paths, ["instruction", "input", "output"]);
        }
        Format::Dolly => {
            rec.instruction = str_member(b, 0, "instruction", &mut issues, true).unwrap_or_default();
            rec.input = str_member(b, 0, "context", &mut issues, false).unwrap_or_default();
            rec.output = str_member(b, 0, "response", &mut issues, true).unwrap_or_default();
            rec.category = str_member(b, 0, "category", &mut issues, false);
            single(&mut rec, &mut paths, ["instruction", "context", "response"]);
        }
        Format::ShareGpt | Format::OpenAi => {
            let (list, rk, tk) = if format == Format::ShareGpt {
                ("conversations", "from", "value")
            } else {
                ("messages", "role", "content")
            };
            let mut msgs = messages(b, list, rk, tk, &mut issues);
            if let Some(sys) = str_member(b, 0, "system", &mut issues, false) {
                rec.turns.push(Turn::new(Role::System, sys.clone(), false));
                rec.system = Some(sys);
                paths.push((Field::System, vec![Seg::Key("system")]));
            }
            // LLaMA-Factory ranking data: `chosen` / `rejected` messages after the shared prompt.
            let ranked = json::member(b, 0, "chosen").is_some() && json::member(b, 0, "rejected").is_some();
            if ranked {
                let prompt_turns = rec.turns.len() + msgs.len();
                msgs.extend(response(b, "chosen", &mut issues));
                let rejected = response(b, "rejected", &mut issues);
                finish_conversation(&mut rec, &mut paths, msgs, &mut issues);
                set_rejected(&mut rec, &mut paths, prompt_turns, rejected);
            } else {
                finish_conversation(&mut rec, &mut paths, msgs, &mut issues);
            }
        }
        Format::PromptCompletion => {
            let prompt = json::member(b, 0, "prompt");
            let completion = json::member(b, 0, "completion");
            match (prompt, completion) {
                (Some((ps, pe)), Some((cs, ce))) if b[ps] == b'"' && b[cs] == b'"' => {
                    rec.instruction = json::decode_string(&b[ps..pe]).unwrap_or_default();
                    rec.output = json::decode_string(&b[cs..ce]).unwrap_or_default();
                    single(&mut rec, &mut paths, ["prompt", "", "completion"]);
                    paths.retain(|(f, _)| *f != Field::Input);
                }
                (Some((ps, _)), Some((cs, _))) if b[ps] == b'[' && b[cs] == b'[' => {
                    let mut msgs = messages(b, "prompt", "role", "content", &mut issues);
                    msgs.extend(messages(b, "completion", "role", "content", &mut issues));
                    finish_conversation(&mut rec, &mut paths, msgs, &mut issues);
                }
                (None, _) => issues.push(FieldIssue { message: "missing field `prompt`".into() }),
                (_, None) => issues.push(FieldIssue { message: "missing field `completion`".into() }),
                _ => issues.push(FieldIssue {
                    message: "`prompt` and `completion` must both be strings or both be message lists".into(),
                }),
            }
        }
        Format::Preference => decode_preference(b, &mut rec, &mut paths, &mut issues),
    }
    Decoded { record: rec, issues, paths }
}

/// Alpaca `history`: `[[prompt, response], ...]` before the instruction.
fn read_history(b: &[u8], rec: &mut Record) {
    if let Some((hs, _)) = json::member(b, 0, "history") {
        for pair in json::array_elements(b, hs).unwrap_or_default() {
            let items = json::array_elements(b, pair.0).unwrap_or_default();
            for (k, (s, e)) in items.into_iter().take(2).enumerate() {
                let role = if k == 0 { Role::User } else { Role::Assistant };
                rec.turns.push(Turn::new(role, json::decode_string(&b[s..e]).unwrap_or_default(), false));
            }
        }
    }
}

/// TRL preference rows (`prompt` + `chosen` + `rejected`, as strings or messages, or with the prompt
/// implicit in both conversations) and LLaMA-Factory's Alpaca ranking rows (`instruction`, `input`).
fn decode_preference(b: &[u8], rec: &mut Record, paths: &mut Vec<(Field, Vec<Seg>)>, issues: &mut Vec<FieldIssue>) {
    let mut chosen = response(b, "chosen", issues);
    let mut rejected = response(b, "rejected", issues);
    let mut prompt: Vec<Msg> = Vec::new();
    match json::member(b, 0, "prompt") {
        Some((s, e)) if b[s] == b'"' => prompt.push(Msg {
            turn: Turn::new(Role::User, json::decode_string(&b[s..e]).unwrap_or_default(), false),
            path: Some(vec![Seg::Key("prompt")]),
            part_paths: Vec::new(),
        }),
        Some(_) => prompt = messages(b, "prompt", "role", "content", issues),
        None if json::member(b, 0, "instruction").is_some() => {
            rec.system = str_member(b, 0, "system", issues, false);
            if let Some(sys) = &rec.system {
                prompt.push(Msg {
                    turn: Turn::new(Role::System, sys.clone(), false),
                    path: Some(vec![Seg::Key("system")]),
                    part_paths: Vec::new(),
                });
            }
            let instruction = str_member(b, 0, "instruction", issues, true).unwrap_or_default();
            let input = str_member(b, 0, "input", issues, false).unwrap_or_default();
            let text = join_prompt(&instruction, &input);
            let path = input.is_empty().then(|| vec![Seg::Key("instruction")]);
            prompt.push(Msg { turn: Turn::new(Role::User, text, false), path, part_paths: Vec::new() });
            paths.push((Field::Input, vec![Seg::Key("input")]));
            paths.push((Field::Instruction, vec![Seg::Key("instruction")]));
            rec.input = input;
            rec.instruction = instruction;
        }
        // Implicit prompt: both conversations start with the same turns.
        None => {
            let same = |a: &Msg, b: &Msg| a.turn.role == b.turn.role && a.turn.text == b.turn.text;
            let shared = chosen.iter().zip(&rejected).take_while(|(a, b)| same(a, b)).count();
            let shared = shared.min(chosen.len().saturating_sub(1)).min(rejected.len().saturating_sub(1));
            prompt = chosen.drain(..shared).collect();
            rejected.drain(..shared);
        }
    }
    let alpaca = json::member(b, 0, "prompt").is_none() && json::member(b, 0, "instruction").is_some();
    let prompt_turns = prompt.len();
    prompt.extend(chosen);
    let (instruction, input) = (std::mem::take(&mut rec.instruction), std::mem::take(&mut rec.input));
    finish_conversation(rec, paths, prompt, issues);
    if alpaca {
        rec.instruction = instruction;
        rec.input = input;
    }
    set_rejected(rec, paths, prompt_turns, rejected);
}

/// Records the rejected response of a preference pair.
fn set_rejected(rec: &mut Record, paths: &mut Vec<(Field, Vec<Seg>)>, prompt_turns: usize, rejected: Vec<Msg>) {
    let mut turns = Vec::with_capacity(rejected.len());
    for (k, m) in rejected.into_iter().enumerate() {
        if let Some(p) = m.path {
            paths.push((Field::Rejected(k), p));
        }
        turns.push(m.turn);
    }
    rec.preference = Some(Preference { prompt_turns, rejected: turns });
}

fn finish_conversation(
    rec: &mut Record,
    paths: &mut Vec<(Field, Vec<Seg>)>,
    msgs: Vec<Msg>,
    issues: &mut Vec<FieldIssue>,
) {
    let base = rec.turns.len();
    let last_assistant = msgs.iter().rposition(|m| m.turn.role == Role::Assistant);
    match last_assistant {
        Some(a) => {
            rec.output = msgs[a].turn.text.clone();
            if let Some(p) = &msgs[a].path {
                paths.push((Field::Output, p.clone()));
            }
            if let Some(u) = msgs[..a].iter().rposition(|m| m.turn.role == Role::User) {
                rec.instruction = msgs[u].turn.text.clone();
                if let Some(p) = &msgs[u].path {
                    paths.push((Field::Instruction, p.clone()));
                }
            }
        }
        None => issues.push(FieldIssue { message: "conversation has no assistant turn".into() }),
    }
    for (n, m) in msgs.into_iter().enumerate() {
        if m.turn.role == Role::System && rec.system.is_none() {
            rec.system = Some(m.turn.text.clone());
            if let Some(p) = &m.path {
                paths.push((Field::System, p.clone()));
            }
        }
        if let Some(p) = m.path {
            paths.push((Field::Turn(base + n), p));
        }
        for (k, p) in m.part_paths.into_iter().enumerate() {
            paths.push((Field::Part(base + n, k), p));
        }
        rec.turns.push(m.turn);
    }
}

/// The top-level keys of a record (for format detection).
pub fn top_level_keys(b: &[u8]) -> Vec<String> {
    json::object_members(b, 0)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|((ks, ke), _)| json::decode_string(&b[ks..ke]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_each_format() {
        let d = decode(Format::Alpaca, br#"{"instruction": "Add", "input": "1 2", "output": "3", "extra": 1}"#);
        assert_eq!(
            (d.record.instruction.as_str(), d.record.input.as_str(), d.record.output.as_str()),
            ("Add", "1 2", "3")
        );
        assert!(d.issues.is_empty());
        let d = decode(
            Format::ShareGpt,
            br#"{"id": "x", "conversations": [{"from": "system", "value": "S"}, {"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}, {"from": "human", "value": "c"}, {"from": "gpt", "value": "d"}]}"#,
        );
        assert_eq!(d.record.instruction, "c");
        assert_eq!(d.record.output, "d");
        assert_eq!(d.record.system.as_deref(), Some("S"));
        assert_eq!(d.record.turns.len(), 5);
        let d = decode(
            Format::OpenAi,
            br#"{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a", "weight": 0}]}"#,
        );
        assert!(!d.record.turns[1].trained);
        assert_eq!(d.path(Field::Output).unwrap(), &[Seg::Key("messages"), Seg::Index(1), Seg::Key("content")]);
        let d = decode(
            Format::PromptCompletion,
            br#"{"prompt": [{"role": "user", "content": "q"}], "completion": [{"role": "assistant", "content": "a"}]}"#,
        );
        assert_eq!((d.record.instruction.as_str(), d.record.output.as_str()), ("q", "a"));
        assert_eq!(d.path(Field::Output).unwrap()[0], Seg::Key("completion"));
    }

    #[test]
    fn alpaca_system_comes_before_history() {
        let d = decode(
            Format::Alpaca,
            br#"{"instruction": "c", "input": "", "output": "y", "system": "S", "history": [["h1", "a1"]]}"#,
        );
        let roles: Vec<&str> = d.record.turns.iter().map(|t| t.role.label()).collect();
        assert_eq!(roles, ["system", "user", "assistant", "user", "assistant"]);
        assert_eq!(d.record.turns[0].text, "S");
        assert_eq!(d.record.turns[3].text, "c");
        assert_eq!(d.path(Field::Turn(4)).unwrap(), &[Seg::Key("output")]);
    }

    #[test]
    fn wrong_types_are_issues_not_failures() {
        let d = decode(Format::Alpaca, br#"{"instruction": 5, "output": null}"#);
        assert_eq!(d.issues.len(), 2, "{:?}", d.issues);
        assert!(d.issues[0].message.contains("is a number"));
    }
}
