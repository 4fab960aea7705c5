//! A response that restates the input passage instead of answering from it: asked a question about
//! a reference text ("What is Hispania?", "Give me a summary about Michael Jackson"), the response
//! is the passage itself, word for word, and often goes on with more of the source article. The
//! check measures how much of the passage reappears verbatim and how far the response goes past it.
//!
//! It applies only where restating is no answer: the input is a passage (at least
//! [`MIN_PASSAGE_WORDS`] words, or a shorter one that the response continues), and the instruction
//! asks about it (a question, or "summarise / describe / explain / tell me / give me") without
//! asking to transform, extend or reorder the text (rewriting, adding a sentence, continuing a story
//! restate the input on purpose).

use super::CheckResult;
use crate::quality::heuristics::FlagKind;
use crate::quality::phrases::ORDER_CUES;
use crate::quality::text::{fold, word_count};

/// A passage shorter than this is restated only when the response also goes on past it.
pub const MIN_PASSAGE_WORDS: usize = 30;
/// Shortest passage considered at all.
const MIN_CONTINUED_WORDS: usize = 15;
/// Share of the passage's sentences (by characters) that must reappear word for word.
const MIN_RESTATED_SHARE: f64 = 0.8;
/// Characters past the passage that make the response a continuation of it.
const CONTINUED_CHARS: usize = 100;

/// Instruction openings that ask something of the passage rather than for its transformation.
#[rustfmt::skip]
const ASK_OPENINGS: [&str; 16] = [
    "what", "who", "whom", "whose", "when", "where", "why", "how", "which", "is", "are", "was", "were", "does", "did",
    "can",
];

/// Instruction words that ask for an account of the passage's subject.
#[rustfmt::skip]
const ASK_WORDS: [&str; 11] = [
    "tell me", "summar", "describe", "explain", "overview", "background", "history of", "give me", "brief", "extract",
    "identify",
];

/// Word stems by which an instruction asks for the text itself: changed, extended, reordered or
/// quoted (a restated passage is then the point, not a failure).
#[rustfmt::skip]
const KEEP_TEXT_CUES: [&str; 41] = [
    "rewrite", "re-write", "edit", "correct", "fix", "proofread", "paraphras", "rephras", "chang", "convert",
    "replac", "punctuat", "capitali", "revis", "improv", "format", "transform", "insert", "add", "split",
    "separat", "divid", "combin", "delet", "remov", "shorten", "trim", "translat", "updat", "adjust",
    "continu", "extend", "expand", "complet", "append", "quot", "repeat", "rearrang", "reorder", "reorgani",
    "highlight",
];

/// Sentences of at least three words, whitespace-normalised.
fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut flush = |cur: &mut String| {
        let s = cur.split_whitespace().collect::<Vec<_>>().join(" ");
        if s.split(' ').count() >= 3 {
            out.push(s);
        }
        cur.clear();
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\n' {
            flush(&mut cur);
            continue;
        }
        cur.push(c);
        if matches!(c, '.' | '!' | '?') && chars.peek().is_none_or(|n| n.is_whitespace()) {
            flush(&mut cur);
        }
    }
    flush(&mut cur);
    out
}

fn plural(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

fn asks_about_the_passage(instruction: &str) -> bool {
    let instr = fold(instruction);
    let first = instr.split(|c: char| !c.is_alphanumeric()).find(|w| !w.is_empty()).unwrap_or("");
    let asks = instr.contains('?') || ASK_OPENINGS.contains(&first) || ASK_WORDS.iter().any(|w| instr.contains(w));
    let keeps_text = instr
        .split(|ch: char| !ch.is_alphanumeric() && ch != '-')
        .any(|w| KEEP_TEXT_CUES.iter().chain(&ORDER_CUES).any(|c| w.starts_with(c)));
    asks && !keeps_text
}

/// Fails when the response restates the passage in the input (and says whether it goes on past it).
pub(super) fn check(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    let passage_words = word_count(input);
    if passage_words < MIN_CONTINUED_WORDS || output.len() < input.trim().len() * 4 / 5 {
        return None;
    }
    if !asks_about_the_passage(instruction) {
        return None;
    }
    let passage = sentences(input);
    let total: usize = passage.iter().map(String::len).sum();
    if total == 0 {
        return None;
    }
    let response = output.split_whitespace().collect::<Vec<_>>().join(" ");
    let restated: Vec<&String> = passage.iter().filter(|s| response.contains(s.as_str())).collect();
    let share = restated.iter().map(|s| s.len()).sum::<usize>() as f64 / total as f64;
    let flat_input = input.split_whitespace().collect::<Vec<_>>().join(" ");
    let beyond = response.len().saturating_sub(flat_input.len());
    let continued = beyond >= CONTINUED_CHARS;
    if share < MIN_RESTATED_SHARE || (passage_words < MIN_PASSAGE_WORDS && !continued) {
        return Some(CheckResult::pass(
            FlagKind::RestatesInput,
            format!("{} of the input's {} reappear word for word", restated.len(), plural(passage.len(), "sentence")),
        ));
    }
    let more = if continued {
        format!(", then goes on for {} more words past it", word_count(&response).saturating_sub(passage_words))
    } else {
        String::new()
    };
    Some(CheckResult::fail(
        FlagKind::RestatesInput,
        share as f32,
        format!(
            "the response restates the input passage instead of answering: {} of its {} word for word{more}",
            restated.len(),
            plural(passage.len(), "sentence")
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSAGE: &str = "The Danube is the second-longest river in Europe. It rises in the Black Forest of Germany \
        and flows south-east for about 2,850 km. It passes through ten countries, more than any other river in the \
        world. Four capital cities stand on its banks: Vienna, Bratislava, Budapest and Belgrade.";

    fn run(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
        check(instruction, input, output)
    }

    #[test]
    fn a_question_answered_with_the_passage_fails_and_says_so() {
        let r = run("What is the Danube?", PASSAGE, PASSAGE).expect("applies");
        assert!(r.failed);
        assert!(r.detail.contains("4 of its 4 sentences word for word"), "{}", r.detail);
        assert!(!r.detail.contains("goes on"), "{}", r.detail);
    }

    #[test]
    fn a_passage_restated_and_continued_says_how_far_it_goes_on() {
        let more = "The river has been an international waterway for centuries. Its delta, in Romania and Ukraine, \
            is the best preserved of Europe's river deltas and a haven for birds.";
        let out = format!("{PASSAGE}\n\n{more}");
        let r = run("Give me a brief summary of the Danube.", PASSAGE, &out).expect("applies");
        assert!(r.failed);
        assert!(r.detail.contains(", then goes on for 29 more words past it"), "{}", r.detail);
        // A shorter passage counts only when the response goes on past it.
        let short =
            "The Danube is the second-longest river in Europe and flows through ten countries to the Black Sea.";
        assert!(run("Who runs the Danube Commission?", short, &format!("{short} {more}")).is_some_and(|r| r.failed));
        assert!(run("Who runs the Danube Commission?", short, short).is_none_or(|r| !r.failed));
    }

    #[test]
    fn answers_that_use_the_passage_pass() {
        let answer = "It is Europe's second-longest river, from Germany to the Black Sea. It passes through ten \
            countries, more than any other river in the world.";
        assert!(run("What is the Danube?", PASSAGE, answer).is_none(), "a shorter answer is never a restatement");
        let r = run("Tell me about the Danube.", PASSAGE, &format!("{answer} {answer} {answer}")).expect("applies");
        assert!(!r.failed && r.detail.contains("1 of the input's 4 sentences"), "{}", r.detail);
    }

    #[test]
    fn tasks_that_keep_the_text_never_fail() {
        let out = format!("{PASSAGE} Today it is also a busy route for river cruises and freight barges alike.");
        for instruction in [
            "Add a sentence to the end of this paragraph.",
            "Continue the following text.",
            "Rewrite the paragraph in the past tense.",
            "Rearrange the sentences so the paragraph flows.",
            "Divide the text into two paragraphs.",
        ] {
            assert!(run(instruction, PASSAGE, &out).is_none(), "{instruction}");
        }
        // Without an input there is no passage to restate.
        assert!(run("What is the Danube?", "", PASSAGE).is_none());
    }
}
