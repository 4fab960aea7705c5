//! Code in the response that does not parse in its language: JSON (serde_json) when the instruction
//! asks for JSON or the response fences a `json` block, Rust (syn) when it fences a `rust` block or the
//! instruction asks for Rust code. Other languages are not judged.

use super::CheckResult;
use crate::quality::heuristics::FlagKind;
use crate::quality::text::re;
use regex::Regex;
use std::sync::LazyLock;

static FENCE: LazyLock<Regex> = LazyLock::new(|| re(r"(?s)```[ \t]*([A-Za-z0-9+#_-]*)[ \t]*\r?\n(.*?)```"));
static ASKS_JSON: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(in|as|into|to|a|an|valid|following)\s+json\b|\bjson\s+(object|format|array|string|document|representation|output)\b",
    )
});
static ASKS_RUST: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(in|using|with)\s+Rust\b|\bRust\s+(code|program|function|snippet|implementation)\b"));

pub(super) fn check(instruction: &str, output: &str) -> Option<CheckResult> {
    let fenced: Vec<(String, &str)> =
        FENCE.captures_iter(output).map(|c| (c[1].to_lowercase(), c.get(2).map_or("", |m| m.as_str()))).collect();
    for (lang, body) in &fenced {
        match lang.as_str() {
            "json" => return Some(json(body, "the response's ```json block")),
            "rust" | "rs" => return Some(rust(body, "the response's ```rust block")),
            _ => {}
        }
    }
    if ASKS_JSON.is_match(instruction) {
        let body = match fenced.first() {
            Some((_, b)) => b,
            None => json_span(output)?,
        };
        return Some(json(body, "the JSON the instruction asks for"));
    }
    if ASKS_RUST.is_match(instruction) {
        let body = match fenced.first() {
            Some((_, b)) => b,
            None if crate::quality::text::looks_like_code(output) => output,
            None => return None,
        };
        return Some(rust(body, "the Rust code the instruction asks for"));
    }
    None
}

/// The response from its first '{' or '[' to the matching last '}' or ']'.
fn json_span(output: &str) -> Option<&str> {
    let start = output.find(['{', '['])?;
    let close = if output[start..].starts_with('{') { '}' } else { ']' };
    let end = output.rfind(close)?;
    (end > start).then(|| &output[start..=end])
}

fn json(body: &str, what: &str) -> CheckResult {
    match serde_json::from_str::<serde_json::Value>(body.trim()) {
        Ok(_) => CheckResult::pass(FlagKind::CodeSyntax, format!("{what} parses as JSON")),
        Err(e) => CheckResult::fail(FlagKind::CodeSyntax, 1.0, format!("{what} does not parse as JSON: {e}")),
    }
}

fn rust(body: &str, what: &str) -> CheckResult {
    // A whole file, else statements (a snippet from a function body), else one expression.
    match syn::parse_file(body) {
        Ok(_) => CheckResult::pass(FlagKind::CodeSyntax, format!("{what} parses as Rust")),
        Err(_)
            if syn::parse_str::<syn::Block>(&format!("{{\n{body}\n}}")).is_ok()
                || syn::parse_str::<syn::Expr>(body).is_ok() =>
        {
            CheckResult::pass(FlagKind::CodeSyntax, format!("{what} parses as Rust statements"))
        }
        Err(e) => CheckResult::fail(FlagKind::CodeSyntax, 1.0, format!("{what} does not parse as Rust: {e}")),
    }
}
