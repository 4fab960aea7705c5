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
}

impl Format {
    /// Every format, in detection priority order.
    pub const ALL: [Format; 5] =
        [Format::ShareGpt, Format::OpenAi, Format::PromptCompletion, Format::Dolly, Format::Alpaca];

    /// The name used on the command line and in `stats`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Alpaca => "alpaca",
            Format::Dolly => "dolly",
            Format::ShareGpt => "sharegpt",
            Format::OpenAi => "openai",
            Format::PromptCompletion => "prompt-completion",
        }
    }

    /// Parses a format name (as printed by [`Format::name`], plus a few aliases).
    pub fn from_name(s: &str) -> Option<Format> {
        Some(match s.to_ascii_lowercase().as_str() {
            "alpaca" => Format::Alpaca,
            "dolly" => Format::Dolly,
            "sharegpt" => Format::ShareGpt,
            "openai" | "messages" | "chatml" => Format::OpenAi,
            "prompt-completion" | "prompt_completion" | "completion" | "trl" => Format::PromptCompletion,
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    /// Any other role (tool, function_call, observation, ...), kept by name.
    Other(String),
}

impl Role {
    fn parse(s: &str) -> Role {
        match s {
            "system" => Role::System,
            "human" | "user" => Role::User,
            "gpt" | "assistant" | "model" | "bot" => Role::Assistant,
            other => Role::Other(other.to_string()),
        }
    }

    /// Short label for display.
    pub fn label(&self) -> &str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Other(s) => s,
        }
    }
}

/// One turn of a conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    pub role: Role,
    pub text: String,
    /// Whether a trainer should learn this turn (OpenAI `weight: 0` turns are not trained on).
    pub trained: bool,
}

/// A record decoded from its raw bytes: the triple plus the full turn list.
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
    /// Alpaca `history` pairs before them.
    pub turns: Vec<Turn>,
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
        h.digest()
    }

    /// The user message for single-turn formats: instruction, then input on a new paragraph.
    pub fn prompt_text(&self) -> String {
        join_prompt(&self.instruction, &self.input)
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
}

impl Field {
    /// Parses `instruction|input|output|system|turn:N`.
    pub fn from_name(s: &str) -> Option<Field> {
        Some(match s {
            "instruction" => Field::Instruction,
            "input" | "context" => Field::Input,
            "output" | "response" => Field::Output,
            "system" => Field::System,
            _ => Field::Turn(s.strip_prefix("turn:")?.parse().ok()?),
        })
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

/// A message's text: a string, or the concatenated `text` parts of a content list.
fn message_text(b: &[u8], span: (usize, usize)) -> Option<String> {
    match b[span.0] {
        b'"' => json::decode_string(&b[span.0..span.1]),
        b'[' => {
            let parts = json::array_elements(b, span.0)?;
            let mut out = String::new();
            for (s, _) in parts {
                if let Some((ts, te)) = json::member(b, s, "text") {
                    out.push_str(&json::decode_string(&b[ts..te])?);
                }
            }
            Some(out)
        }
        _ => None,
    }
}

struct Msg {
    role: Role,
    text: String,
    trained: bool,
    /// Path of the editable text within the record.
    path: Vec<Seg>,
}

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
        if b[es] != b'{' {
            issues
                .push(FieldIssue { message: format!("`{list}[{n}]` is {}, expected an object", kind_name(&b[es..])) });
            continue;
        }
        let role = json::member(b, es, role_key).and_then(|(rs, re)| json::decode_string(&b[rs..re]));
        let text = json::member(b, es, text_key).and_then(|sp| message_text(b, sp));
        let trained = match json::member(b, es, "weight") {
            Some((ws, we)) => !matches!(&b[ws..we], b"0" | b"0.0" | b"false"),
            None => true,
        };
        match (role, text) {
            (Some(role), Some(text)) => out.push(Msg {
                role: Role::parse(&role),
                text,
                trained,
                path: vec![Seg::Key(list), Seg::Index(n), Seg::Key(text_key)],
            }),
            (None, _) => issues.push(FieldIssue { message: format!("`{list}[{n}]` has no string `{role_key}`") }),
            (_, None) => issues.push(FieldIssue { message: format!("`{list}[{n}]` has no text `{text_key}`") }),
        }
    }
    out
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
    let single = |rec: &mut Record, paths: &mut Vec<(Field, Vec<Seg>)>, keys: [&'static str; 3]| {
        paths.push((Field::Instruction, vec![Seg::Key(keys[0])]));
        paths.push((Field::Input, vec![Seg::Key(keys[1])]));
        paths.push((Field::Output, vec![Seg::Key(keys[2])]));
        // The system prompt comes first, before any Alpaca `history` pairs.
        if let Some(sys) = &rec.system {
            rec.turns.insert(0, Turn { role: Role::System, text: sys.clone(), trained: false });
        }
        let n = rec.turns.len();
        rec.turns.push(Turn { role: Role::User, text: join_prompt(&rec.instruction, &rec.input), trained: false });
        rec.turns.push(Turn { role: Role::Assistant, text: rec.output.clone(), trained: true });
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
            if let Some((hs, _)) = json::member(b, 0, "history") {
                for pair in json::array_elements(b, hs).unwrap_or_default() {
                    let items = json::array_elements(b, pair.0).unwrap_or_default();
                    for (k, (s, e)) in items.into_iter().take(2).enumerate() {
                        let role = if k == 0 { Role::User } else { Role::Assistant };
                        let text = json::decode_string(&b[s..e]).unwrap_or_default();
                        rec.turns.push(Turn { role, text, trained: false });
                    }
                }
            }
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
            let msgs = messages(b, list, rk, tk, &mut issues);
            let top_system =
                if format == Format::ShareGpt { str_member(b, 0, "system", &mut issues, false) } else { None };
            if let Some(sys) = top_system {
                rec.turns.push(Turn { role: Role::System, text: sys.clone(), trained: false });
                rec.system = Some(sys);
                paths.push((Field::System, vec![Seg::Key("system")]));
            }
            finish_conversation(&mut rec, &mut paths, msgs, &mut issues);
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
    }
    Decoded { record: rec, issues, paths }
}

fn finish_conversation(
    rec: &mut Record,
    paths: &mut Vec<(Field, Vec<Seg>)>,
    msgs: Vec<Msg>,
    issues: &mut Vec<FieldIssue>,
) {
    let base = rec.turns.len();
    let last_assistant = msgs.iter().rposition(|m| m.role == Role::Assistant);
    match last_assistant {
        Some(a) => {
            rec.output = msgs[a].text.clone();
            paths.push((Field::Output, msgs[a].path.clone()));
            if let Some(u) = msgs[..a].iter().rposition(|m| m.role == Role::User) {
                rec.instruction = msgs[u].text.clone();
                paths.push((Field::Instruction, msgs[u].path.clone()));
            }
        }
        None => issues.push(FieldIssue { message: "conversation has no assistant turn".into() }),
    }
    for (n, m) in msgs.into_iter().enumerate() {
        if m.role == Role::System && rec.system.is_none() {
            rec.system = Some(m.text.clone());
            paths.push((Field::System, m.path.clone()));
        }
        paths.push((Field::Turn(base + n), m.path));
        rec.turns.push(Turn { role: m.role, text: m.text, trained: m.trained });
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
