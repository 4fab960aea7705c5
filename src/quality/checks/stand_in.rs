//! Stand-in inputs ("No input", "<noinput>", "N/A" where the input should be empty) and unfilled
//! template variables (`{{name}}`, `<image>`, `[Image of a logo]`, `[insert quote]`).

use super::CheckResult;
use crate::quality::heuristics::FlagKind;
use crate::quality::text::re;
use crate::quality::text::{looks_like_code, snippet};
use regex::Regex;
use std::sync::LazyLock;

/// Input values (lowercase letters and digits only) that stand in for "there is no input".
const STAND_IN_KEYS: [&str; 20] = [
    "noinput",
    "noinputs",
    "noinputrequired",
    "noinputneeded",
    "noinputnecessary",
    "noinputprovided",
    "noinputgiven",
    "noinputisrequired",
    "noinputisneeded",
    "none",
    "na",
    "nil",
    "null",
    "notapplicable",
    "empty",
    "nothing",
    "blank",
    "noinputdata",
    "nodata",
    "input",
];

/// Whether `input` is a stand-in for an empty input: the whole field is "No input", "<noinput>",
/// "None", "N/A" and the like (case, spaces and punctuation ignored), or only punctuation.
pub fn is_stand_in_input(input: &str) -> bool {
    let t = input.trim();
    if t.is_empty() || t.chars().count() > 40 {
        return false;
    }
    let key: String = t.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect();
    if key.is_empty() {
        // "-", "...", "—": punctuation only.
        return t.chars().all(|c| matches!(c, '-' | '.' | '—' | '–' | '_' | '/' | '?' | '"' | '\'' | '`'));
    }
    STAND_IN_KEYS.contains(&key.as_str())
}

pub(super) fn stand_in_input(input: &str) -> Option<CheckResult> {
    is_stand_in_input(input).then(|| {
        CheckResult::fail(
            FlagKind::StandInInput,
            1.0,
            format!("the input is a stand-in \"{}\" instead of being empty", snippet(input.trim(), 40, false)),
        )
    })
}

/// Template variables that no finished record contains.
static TEMPLATE: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)\{\{\s*[a-z_][a-z0-9_ .]{0,40}\}\}",
        r"|<\s*(image|img|photo|picture|audio|video|file|attachment|url|link)(\s*_?\d+)?\s*>",
        r"|\[\s*(image|picture|photo|photograph|video|audio|screenshot|illustration|drawing|sketch|chart|graph|diagram)(\s+(of|showing|with)\b[^\]\n]{0,80})?\s*\]",
        r"|\[\s*insert\b[^\]\n]{0,60}\]|<\s*insert\b[^>\n]{0,60}>|\(\s*insert\b[^)\n]{0,60}\)",
        // A blank where the text's own content should be: "I am sorry for [action]", "to discuss [topic]".
        r"|\[\s*(?:action|topic|reason|event|project|project description|problem|issue|industry|details|description|main point|key point|benefit|feature)s?\s*\]",
    ))
});

/// A blank left for a person's or a thing's particulars: "[Your Name]", "[Company Name]", "[date]".
static PARTICULARS: LazyLock<Regex> = LazyLock::new(|| {
    re(concat!(
        r"(?i)\[\s*(?:(?:your|my|their|his|her|the|recipient'?s?|sender'?s?|employer'?s?|manager'?s?|customer'?s?|company|product|brand|car|business|first|last|full)\s+)?",
        r"(?:name|address|date|company name|job title|position|phone number|email address|signature|city|product name|brand name)\s*\]",
    ))
});

/// Up to this many words a response is short enough that a particulars blank is its content.
const SHORT_RESPONSE_WORDS: usize = 30;

pub(super) fn template_variable(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    // A template with blanks is what was asked for.
    let lower = instruction.to_lowercase();
    let wants_blanks = lower.contains("template") || lower.contains("placeholder");
    for (field, text) in [("instruction", instruction), ("input", input), ("response", output)] {
        // `{{ name }}` and `<img>` are legitimate in templating code and HTML.
        let code = looks_like_code(text);
        if wants_blanks && field == "response" {
            continue; // asked for a template: blanks are the answer
        }
        // A letter's "[Your Name]" or "[Date]" is a slot the writer fills in, as in any letter template;
        // in a short text (a headline, a slogan) the blank is the content itself.
        // A letter given in the input keeps its own slots.
        let letter =
            ["dear ", "hi ", "hello ", "to whom"].iter().any(|w| text.trim_start().to_lowercase().starts_with(w));
        let particulars =
            if field == "response" { output.split_whitespace().count() <= SHORT_RESPONSE_WORDS } else { !letter };
        let hit = TEMPLATE
            .find_iter(text)
            .find(|m| !(code && m.as_str().starts_with(['{', '<'])))
            .or_else(|| PARTICULARS.find(text).filter(|_| particulars));
        if let Some(m) = hit {
            return Some(CheckResult::fail(
                FlagKind::TemplateVariable,
                1.0,
                format!("the {field} holds an unfilled template variable \"{}\"", snippet(m.as_str(), 60, false)),
            ));
        }
    }
    None
}
