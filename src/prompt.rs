//! Every prompt layout sift writes, in one place: the judge scores a response under them, the
//! trainer and pretraining learn from them, "try it" asks the trained model through them.
//!
//! Every layout is a *context* string; the response `y` is tokenized on its own and appended to the
//! tokenized context, so the response tokens are identical under every layout and the per-layout
//! mean losses compare like with like. The text joiner between context and response is empty, as in
//! Stanford Alpaca's `train.py` (`source + target`): the Alpaca context ends with `### Response:` and
//! `y` follows with no newline. A BOS token is put before every context when the model has one.
//!
//! Placeholders are filled in one pass over the layout ([`fill`]): text put in is never read again,
//! so a field holding the literal `{input}` or `{instruction}` stays as written. Exports hand the
//! record's user message (the data model's [`join_prompt`]: instruction, blank line, input) to the
//! trainer, whose own template applies; the chat layout renders the same message.

use crate::dataset::format::join_prompt;
use crate::dataset::{Format, Record, Role, Turn};
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::Path;

/// Stanford Alpaca prompt with input (tatsu-lab/stanford_alpaca, train.py `PROMPT_DICT`).
pub const ALPACA_WITH_INPUT: &str = "Below is an instruction that describes a task, paired with an input that provides \
further context. Write a response that appropriately completes the request.\n\n### Instruction:\n{instruction}\n\n\
### Input:\n{input}\n\n### Response:";

/// Stanford Alpaca prompt without input (used when the input is empty).
pub const ALPACA_NO_INPUT: &str = "Below is an instruction that describes a task. Write a response that appropriately \
completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:";

/// The bare response header Cherry LLM conditions on when it scores a response "alone" (sift too,
/// under the Alpaca template: see [`Template::alone`]).
pub const ALPACA_RESPONSE_HEADER: &str = "### Response:";

/// What the trainer's run record says about its layouts ([`record_segments`]).
pub const SFT_LAYOUT: &str = "stanford-alpaca (single turn); ### User/### Assistant plain layout (conversations)";

/// The Jinja chat template of sift's training format, written into every checkpoint's
/// `tokenizer_config.json` so trainers that apply the tokenizer's template (TRL, axolotl) lay out a
/// conversation as `sift train` does:
///
/// * one user message, optionally after a system message, optionally followed by the assistant's
///   answer: the system text and a blank line, then the Stanford Alpaca prompt (no-input variant: a
///   chat message has no separate input, so an exported `instruction` + `input` arrives as one user
///   message `instruction\n\ninput`), then the answer and EOS, with no joiner after `### Response:`;
/// * any other conversation: `### User:\n…\n\n`, `### Assistant:\n…</s>\n\n` (every assistant turn
///   ends with EOS; the blank line after the last one is left out, so a trainer's completion is
///   exactly the answer and EOS), a system message as its text and a blank line, another role `R` as
///   `### R:\n…\n\n`; the generation prompt is `### Assistant:\n`.
///
/// It starts with `bos_token`, as sift's sequences do.
pub const CHAT_TEMPLATE: &str = concat!(
    // An assistant message: its text, then each tool call on a line of its own, as assistant_text.
    "{%- macro answer(m) -%}{{ m['content'] or '' }}",
    "{%- for tc in (m['tool_calls'] or []) -%}",
    "{%- set f = tc['function'] if tc['function'] is defined else tc -%}",
    "{%- if m['content'] or not loop.first %}{{ '\\n' }}{% endif -%}",
    "<tool_call>{\"name\": {{ f['name'] | tojson }}, \"arguments\": ",
    "{% if f['arguments'] is string %}{{ f['arguments'] }}{% else %}{{ f['arguments'] | tojson }}{% endif -%}",
    "}</tool_call>",
    "{%- endfor -%}",
    "{%- endmacro -%}",
    "{%- set ns = namespace(start=0) -%}",
    "{%- if messages and messages[0]['role'] == 'system' %}{% set ns.start = 1 %}{% endif -%}",
    "{%- set rest = messages[ns.start:] -%}",
    "{{- bos_token -}}",
    "{%- if rest and rest[0]['role'] == 'user' and (rest | length == 1 or (rest | length == 2 and rest[1]['role'] == 'assistant')) -%}",
    "{%- if ns.start == 1 %}{{ messages[0]['content'] }}\n\n{% endif -%}",
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n",
    "### Instruction:\n{{ rest[0]['content'] }}\n\n### Response:",
    "{%- if rest | length == 2 %}{{ answer(rest[1]) }}{{ eos_token }}{% endif -%}",
    "{%- else -%}",
    "{%- for m in messages %}",
    "{% if m['role'] == 'system' %}{{ m['content'] }}\n\n",
    "{% elif m['role'] == 'user' %}### User:\n{{ m['content'] }}\n\n",
    "{% elif m['role'] == 'assistant' %}### Assistant:\n{{ answer(m) }}{{ eos_token }}{% if not loop.last %}{{ '\\n\\n' }}{% endif %}",
    "{% elif m['role'] == 'tool' %}### Tool:\n{{ m['content'] }}\n\n",
    "{% else %}### {{ m['role'] }}:\n{{ m['content'] }}\n\n",
    "{% endif %}",
    "{% endfor -%}",
    "{%- if add_generation_prompt %}### Assistant:\n{% endif -%}",
    "{%- endif -%}",
);

/// Fills the `{name}` placeholders of `layout` with `values` in one pass over the layout: a value
/// is put in as it is and never searched again. Unknown placeholders and lone braces stay.
pub fn fill(layout: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(layout.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>());
    let mut rest = layout;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let hit = values
            .iter()
            .find_map(|(name, value)| after.strip_prefix(name).and_then(|r| r.strip_prefix('}')).map(|r| (value, r)));
        match hit {
            Some((value, r)) => {
                out.push_str(value);
                rest = r;
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// How the instruction `c` and input `z` are laid out before the response.
#[derive(Clone, Debug)]
pub enum Template {
    /// Stanford Alpaca, exact text (default).
    Alpaca,
    /// No template: `c + "\n\n" + z + "\n"` (or `c + "\n"` without input), as continuous text.
    Raw,
    /// The input alone: `z + "\n\n"` (the instruction is ignored).
    InputOnly,
    /// The model's Jinja chat template (tokenizer_config.json `chat_template`), one user message
    /// holding `c + "\n\n" + z`, rendered with `add_generation_prompt = true`.
    Chat(Box<ChatTemplate>),
}

/// A compiled-on-demand chat template with the special-token strings it refers to.
#[derive(Clone, Debug)]
pub struct ChatTemplate {
    source: String,
    bos_token: String,
    eos_token: String,
    hash: u64,
}

/// The template the judge scores under unless told otherwise: `sift score`'s default, the TUI's
/// judge, and the cached scores `sift suggest` reads.
pub const DEFAULT_TEMPLATE: &str = "alpaca";

/// The template names [`Template::from_name`] accepts.
pub const TEMPLATE_NAMES: [&str; 4] = ["alpaca", "raw", "input-only", "chat"];

impl Template {
    /// Parses a template name; `chat` reads `tokenizer_config.json` from `model_dir`.
    pub fn from_name(name: &str, model_dir: Option<&Path>) -> Result<Template> {
        Ok(match name {
            "alpaca" => Template::Alpaca,
            "raw" => Template::Raw,
            "input-only" | "z-only" => Template::InputOnly,
            "chat" => {
                let dir = model_dir.context("the chat template needs a model directory")?;
                Template::Chat(Box::new(ChatTemplate::from_model_dir(dir)?))
            }
            other => bail!("unknown template `{other}` (expected one of {})", TEMPLATE_NAMES.join(", ")),
        })
    }

    /// Stable name recorded with every score; a chat template adds a hash of its source.
    pub fn name(&self) -> String {
        match self {
            Template::Alpaca => "alpaca".into(),
            Template::Raw => "raw".into(),
            Template::InputOnly => "input-only".into(),
            Template::Chat(t) => format!("chat-{:016x}", t.hash),
        }
    }

    /// The context for `y | template(c, z)`.
    pub fn prompt(&self, instruction: &str, input: &str) -> Result<String> {
        Ok(match self {
            Template::Alpaca => alpaca_prompt(instruction, input),
            Template::Raw => raw_layout(instruction, input),
            Template::InputOnly => input_layout(input),
            Template::Chat(t) => t.render(&join_prompt(instruction, input))?,
        })
    }

    /// The context for `y` scored alone. Alpaca: the bare `### Response:` header, as Cherry LLM
    /// scores it (with BOS before it; on the validation slice this agreed with Cherry's own 7B
    /// selection at AUROC 0.856 against 0.831 for BOS alone, benches/score_alpaca.rs `--cherry`).
    /// The plain layouts: nothing, so the response follows BOS directly. Superfiltering (GPT-2, no
    /// BOS) leaves the first token unscored. Chat: the assistant header after an empty user turn.
    pub fn alone(&self) -> Result<String> {
        Ok(match self {
            Template::Alpaca => ALPACA_RESPONSE_HEADER.into(),
            Template::Raw | Template::InputOnly => String::new(),
            Template::Chat(t) => t.render("")?,
        })
    }
}

/// Exact Stanford Alpaca prompt (with-input or no-input variant), filled in one pass.
pub fn alpaca_prompt(instruction: &str, input: &str) -> String {
    let layout = if input.is_empty() { ALPACA_NO_INPUT } else { ALPACA_WITH_INPUT };
    fill(layout, &[("instruction", instruction), ("input", input)])
}

/// Plain continuous text: `c + "\n\n" + z + "\n"`, or `c + "\n"` when there is no input.
pub fn raw_layout(instruction: &str, input: &str) -> String {
    if input.is_empty() { format!("{instruction}\n") } else { format!("{instruction}\n\n{input}\n") }
}

/// The input alone: `z + "\n\n"` (empty when there is no input), the shape of the default model's
/// "input then response" pretraining documents.
pub fn input_layout(input: &str) -> String {
    if input.is_empty() { String::new() } else { format!("{input}\n\n") }
}

/// Whether a record is a single instruction-response pair (trained under the Alpaca template).
pub fn is_single_turn(rec: &Record) -> bool {
    let roles: Vec<&Role> = rec.turns.iter().map(|t| &t.role).filter(|r| **r != Role::System).collect();
    roles.len() == 2 && *roles[0] == Role::User && *roles[1] == Role::Assistant
}

/// The trained text of an assistant turn: its prose, then each tool call it makes on a line of its
/// own as `<tool_call>{"name": NAME, "arguments": ARGS}</tool_call>` (the Hermes/Qwen form; ARGS
/// is the arguments' JSON as written, or a JSON string when they are not JSON). A ShareGPT
/// `function_call` turn (its text is the calls) is written the same way; one whose calls cannot be
/// read keeps its text as written.
pub fn assistant_text(t: &Turn) -> String {
    if t.tool_calls.is_empty() {
        return t.text.clone();
    }
    let mut out = if t.text_is_call { String::new() } else { t.text.clone() };
    for c in &t.tool_calls {
        if !out.is_empty() {
            out.push('\n');
        }
        // JSON arguments as written (as the chat template puts them); others as a JSON string.
        let args = match serde_json::from_str::<Value>(&c.arguments) {
            Ok(_) => c.arguments.clone(),
            Err(_) => Value::String(c.arguments.clone()).to_string(),
        };
        let name = Value::String(c.name.clone());
        out.push_str(&format!("<tool_call>{{\"name\": {name}, \"arguments\": {args}}}</tool_call>"));
    }
    out
}

/// The training text of a record as segments with their label flag. Single-turn records use the
/// Alpaca template (a system prompt, when present, goes before it on its own paragraph);
/// conversations use a plain layout (`### User:` / `### Assistant:` headers, a tool result as
/// `### Tool:`) where every assistant turn is trained (for the OpenAI format only turns without
/// `weight: 0`). An assistant turn's tool calls are trained with it ([`assistant_text`]).
pub fn record_segments(rec: &Record, format: Format) -> Vec<(String, bool)> {
    if is_single_turn(rec) {
        let mut prompt = String::new();
        if let Some(sys) = rec.system.as_deref().filter(|s| !s.is_empty()) {
            prompt.push_str(sys);
            prompt.push_str("\n\n");
        }
        prompt.push_str(&alpaca_prompt(&rec.instruction, &rec.input));
        let answer = rec.turns.iter().find(|t| t.role == Role::Assistant && !t.tool_calls.is_empty());
        return vec![(prompt, false), (answer.map_or_else(|| rec.output.clone(), assistant_text), true)];
    }
    rec.turns.iter().flat_map(|t| turn_segments(t, format)).collect()
}

/// The header that opens an assistant turn in the conversation layout.
pub const ASSISTANT_HEADER: &str = "### Assistant:\n";

/// One turn of a conversation in the conversation layout, as segments with their label flag.
fn turn_segments(t: &Turn, format: Format) -> Vec<(String, bool)> {
    match &t.role {
        Role::System => vec![(format!("{}\n\n", t.text), false)],
        Role::User => vec![(format!("### User:\n{}\n\n", t.text), false)],
        Role::Assistant => {
            let trained = format != Format::OpenAi || t.trained;
            vec![(ASSISTANT_HEADER.to_string(), false), (assistant_text(t), trained), ("\n\n".to_string(), false)]
        }
        Role::Other(name) => vec![(format!("### {name}:\n{}\n\n", t.text), false)],
        Role::Tool => vec![(format!("### Tool:\n{}\n\n", t.text), false)],
    }
}

/// `turns` in the conversation layout, as the trainer reads them.
pub fn conversation_layout(turns: &[Turn]) -> String {
    turns.iter().flat_map(|t| turn_segments(t, Format::ShareGpt)).map(|(s, _)| s).collect()
}

/// The context the trainer puts before assistant turn `turn` of a conversation: every earlier turn
/// in the conversation layout, then the assistant header. The judge scores each assistant turn of a
/// conversation under it, so the turn is judged with its history as the trainer shows it.
pub fn conversation_context(turns: &[Turn], turn: usize) -> String {
    let mut s = conversation_layout(&turns[..turn.min(turns.len())]);
    s.push_str(ASSISTANT_HEADER);
    s
}

/// The prompt "try it" asks a trained model with: the training prompt of a single-turn record
/// without a system prompt.
pub fn try_it_prompt(instruction: &str, input: &str) -> String {
    alpaca_prompt(instruction, input)
}

fn special_token(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("content").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

impl ChatTemplate {
    /// Reads `chat_template`, `bos_token` and `eos_token` from `dir/tokenizer_config.json`.
    pub fn from_model_dir(dir: &Path) -> Result<ChatTemplate> {
        let path = dir.join("tokenizer_config.json");
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let v: Value = serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let source = match &v["chat_template"] {
            Value::String(s) => s.clone(),
            // A list of named templates: use "default".
            Value::Array(a) => a
                .iter()
                .find(|t| t["name"] == "default")
                .and_then(|t| t["template"].as_str())
                .map(str::to_string)
                .context("tokenizer_config.json: no `default` chat template")?,
            _ => bail!("{} has no `chat_template`; use --template alpaca or raw", path.display()),
        };
        let tok = |k: &str| special_token(&v[k]).unwrap_or_default();
        Ok(ChatTemplate::new(source, tok("bos_token"), tok("eos_token")))
    }

    /// A template from its Jinja source and special-token strings.
    pub fn new(source: String, bos_token: String, eos_token: String) -> ChatTemplate {
        let hash = xxhash_rust::xxh3::xxh3_64(source.as_bytes());
        ChatTemplate { source, bos_token, eos_token, hash }
    }

    /// One user message followed by the generation prompt. A leading BOS string is stripped: the
    /// scorer adds the BOS id itself.
    pub fn render(&self, user: &str) -> Result<String> {
        let mut env = minijinja::Environment::new();
        minijinja_contrib::add_to_environment(&mut env);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", |msg: String| -> Result<String, minijinja::Error> {
            Err(minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, msg))
        });
        env.add_template("chat", &self.source).context("compiling the chat template")?;
        let ctx = minijinja::context! {
            messages => vec![minijinja::context! { role => "user", content => user }],
            add_generation_prompt => true,
            bos_token => &self.bos_token,
            eos_token => &self.eos_token,
        };
        let out = env.get_template("chat")?.render(ctx).context("rendering the chat template")?;
        Ok(match out.strip_prefix(self.bos_token.as_str()) {
            Some(rest) if !self.bos_token.is_empty() => rest.to_string(),
            _ => out,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpaca_text_is_exact() {
        let p = alpaca_prompt("Add.", "1 2");
        assert!(p.starts_with("Below is an instruction that describes a task, paired with an input"));
        assert!(p.ends_with("### Instruction:\nAdd.\n\n### Input:\n1 2\n\n### Response:"));
        let q = alpaca_prompt("Say hi.", "");
        assert_eq!(
            q,
            "Below is an instruction that describes a task. Write a response that appropriately completes the \
             request.\n\n### Instruction:\nSay hi.\n\n### Response:"
        );
        assert_eq!(alpaca_prompt("{input}", "x").matches("{input}").count(), 1);
        assert_eq!(alpaca_prompt("a {instruction}", "").matches("{instruction}").count(), 1);
        assert_eq!(raw_layout("c", "z"), "c\n\nz\n");
        assert_eq!(raw_layout("c", ""), "c\n");
    }

    #[test]
    fn fill_is_one_pass() {
        let v = [("instruction", "say {input}"), ("input", "{instruction}")];
        assert_eq!(fill("<{instruction}|{input}>", &v), "<say {input}|{instruction}>");
        assert_eq!(fill("{x} {instruction", &v), "{x} {instruction");
        assert_eq!(fill("{{input}}", &v), "{{instruction}}");
        assert_eq!(fill("é{input}ü", &[("input", "ß")]), "éßü");
    }

    #[test]
    fn chatml_renders() {
        let src = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content | trim }}<|im_end|>\n{% endfor %}\
                   {% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";
        let t = Template::Chat(Box::new(ChatTemplate::new(src.into(), String::new(), "<|im_end|>".into())));
        assert_eq!(t.prompt("Hi", "").unwrap(), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
        assert!(t.name().starts_with("chat-"));
        let py = ChatTemplate::new("{{ bos_token }}{{ messages[0].content.strip() }}".into(), "<s>".into(), "".into());
        assert_eq!(py.render("  x ").unwrap(), "x");
    }
}
