//! Turning a decoded [`Record`] into the rows each target format stores. Every writer starts from the
//! record's full turn list, so what is exported is exactly what sift shows (and what `sift check` reads).

use crate::dataset::{Format, Record, Role, Turn};
use serde::Serialize;

/// A chat message as OpenAI / TRL / axolotl / LLaMA-Factory (role/content tags) read it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Message {
    pub role: String,
    pub content: String,
    /// `0` on assistant turns that must not be trained on (OpenAI `weight`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u8>,
}

/// `{"messages": [...]}`.
#[derive(Serialize)]
pub struct MessagesRow {
    pub messages: Vec<Message>,
}

/// A ShareGPT turn.
#[derive(Serialize)]
pub struct ShareGptTurn {
    pub from: String,
    pub value: String,
}

/// `{"conversations": [...]}`.
#[derive(Serialize)]
pub struct ShareGptRow {
    pub conversations: Vec<ShareGptTurn>,
}

/// TRL's conversational prompt/completion row.
#[derive(Serialize)]
pub struct PromptCompletionRow {
    pub prompt: Vec<Message>,
    pub completion: Vec<Message>,
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

fn message(t: &Turn) -> Message {
    let untrained = t.role == Role::Assistant && !t.trained;
    Message { role: role_name(&t.role), content: t.text.clone(), weight: untrained.then_some(0) }
}

/// Every turn as a message (assistant turns that are not trained keep `weight: 0`).
pub fn messages(rec: &Record) -> MessagesRow {
    MessagesRow { messages: rec.turns.iter().map(message).collect() }
}

/// Every turn in ShareGPT form.
pub fn sharegpt(rec: &Record) -> ShareGptRow {
    ShareGptRow {
        conversations: rec
            .turns
            .iter()
            .map(|t| ShareGptTurn { from: sharegpt_from(&t.role), value: t.text.clone() })
            .collect(),
    }
}

/// Prompt = every turn before the last assistant turn, completion = that turn. Returns the row and
/// how many turns after the last assistant turn were left out (they carry no training signal).
pub fn prompt_completion(rec: &Record) -> Result<(PromptCompletionRow, usize), String> {
    let last = rec.turns.iter().rposition(|t| t.role == Role::Assistant).ok_or("no assistant turn")?;
    if !rec.turns[last].trained {
        return Err("the last assistant turn is marked weight 0: nothing to train on as prompt/completion".into());
    }
    let prompt: Vec<Message> = rec.turns[..last].iter().map(|t| Message { weight: None, ..message(t) }).collect();
    if prompt.is_empty() {
        return Err("no prompt before the assistant turn".into());
    }
    let completion = vec![Message { role: "assistant".into(), content: rec.turns[last].text.clone(), weight: None }];
    Ok((PromptCompletionRow { prompt, completion }, rec.turns.len() - last - 1))
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
        if t.role != want {
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
