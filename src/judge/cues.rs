//! Text-only cues of a response against its instruction and input ([`SurfaceCues`]): whether it
//! answers what it was given or carries on the input, the prompt or a numbered sequence; and
//! [`repetition`]. The continuation score ([`super::signals::continuation_features`]) reads them.

use serde::{Deserialize, Serialize};
/// Text-only cues that a response carries on its input or instruction instead of answering.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SurfaceCues {
    /// The response begins with a lowercase letter or mid-sentence punctuation.
    pub starts_lowercase: bool,
    /// The first word is an anaphor pointing back ("This", "It", "These", "He", "She", "They", ...).
    pub anaphor: Option<String>,
    /// The input ends without closing its sentence and the response starts lowercase.
    pub continues_input: bool,
    /// The response opens like an answer (yes/no, "Here", "The answer", a list or a heading).
    pub answer_opening: bool,
    /// Share of the content words among the response's first 12 words that occur in the instruction.
    pub echoes_instruction: f32,
    /// Share of the response's content words that occur in the input.
    pub input_vocab: f32,
    /// Share of the response's word trigrams that occur in the input (copying).
    pub input_trigrams: f32,
    /// Share of the content words of the response's first sentence that occur in the instruction
    /// or the input: an answer opens with what it was given, a continuation moves on to what comes
    /// next. The whole input, not its last sentence, so that an answer drawn from the middle of a
    /// long passage counts as grounded.
    #[serde(default)]
    pub opening_grounded: f32,
    /// Share of the input's words that the response repeats verbatim in runs of [`COPY_RUN`]
    /// words or more (0 for an input under [`COPY_MIN_INPUT_WORDS`] words).
    #[serde(default)]
    pub input_copied: f32,
    /// Response words outside those copied runs: what the response adds to the copy.
    #[serde(default)]
    pub added_words: u32,
    /// The instruction asks to change the given text (rewrite, correct, add to, rearrange...), so a
    /// response that repeats most of it is doing the task.
    #[serde(default)]
    pub edit_task: bool,
    /// A line of the response that goes on with the prompt's own form (`### Instruction:`,
    /// `### Input:`, `### Response:`, `Instruction:`), as a model continuing the prompt text writes.
    #[serde(default)]
    pub prompt_line: Option<String>,
    /// The response goes on with the input's numbered or lettered sequence: the input's last label
    /// (`4.`, `Sentence 1:`, `Text A:`) is followed in the response by the next one (`5.`,
    /// `Sentence 2:`, `Text B:`). Never set when the task is to change or add to the given text,
    /// or to reply to it (a dialogue's next speaker is the answer then).
    #[serde(default)]
    pub continues_numbering: bool,
    /// The response names the given text as a thing ("the passage", "this article", "the
    /// author"): it talks about its input, as an answer does; a continuation speaks in the
    /// passage's own voice.
    #[serde(default)]
    pub about_input: bool,
    /// The instruction asks for new text (write, generate, create, compose, continue, complete,
    /// extend, expand, finish), so a response that goes on from the input may be what was asked.
    #[serde(default)]
    pub asks_for_text: bool,
}

/// Shortest run of words counted as copied from the input.
pub const COPY_RUN: usize = 6;
/// Inputs shorter than this (in words) are never counted as copied: a short input repeated is a
/// quote, not a restated passage.
pub const COPY_MIN_INPUT_WORDS: usize = 20;
/// Share of the input a response must repeat to count as restating it.
pub const RESTATED: f32 = 0.8;

/// The share of `zw` that `yw` repeats in runs of at least [`COPY_RUN`] words, and which words of
/// `yw` lie in such runs.
fn copied_runs(zw: &[String], yw: &[String]) -> (f32, Vec<bool>) {
    use std::collections::HashSet;
    let mut ymask = vec![false; yw.len()];
    if zw.len() < COPY_MIN_INPUT_WORDS || yw.len() < COPY_RUN {
        return (0.0, ymask);
    }
    let zg: HashSet<&[String]> = zw.windows(COPY_RUN).collect();
    let yg: HashSet<&[String]> = yw.windows(COPY_RUN).collect();
    let mut zmask = vec![false; zw.len()];
    for (i, g) in zw.windows(COPY_RUN).enumerate() {
        if yg.contains(g) {
            zmask[i..i + COPY_RUN].fill(true);
        }
    }
    for (i, g) in yw.windows(COPY_RUN).enumerate() {
        if zg.contains(g) {
            ymask[i..i + COPY_RUN].fill(true);
        }
    }
    (zmask.iter().filter(|&&b| b).count() as f32 / zw.len() as f32, ymask)
}

/// The first response line that carries on the prompt's own form, if any. `Instruction:` counts
/// only when the instruction does not itself ask for instructions or prompts.
fn prompt_line(c: &str, y: &str) -> Option<String> {
    let lc = c.to_lowercase();
    let asks_for_prompts = ["instruction", "prompt", "task"].iter().any(|w| lc.contains(w));
    y.lines().map(str::trim).find_map(|l| {
        let marker = ["### Instruction", "### Input", "### Response"].iter().any(|m| l.starts_with(m))
            || (!asks_for_prompts && l.starts_with("Instruction:"));
        marker.then(|| l.chars().take(40).collect())
    })
}

/// Instruction words that ask for a reply to the given text (a dialogue's next line).
const REPLY_CUES: [&str; 6] = ["respon", "reply", "retort", "dialog", "conversation", "next"];
/// Instruction words that ask for new text.
const TEXT_CUES: [&str; 9] =
    ["write", "generate", "create", "compose", "continue", "complete", "extend", "expand", "finish"];
/// Words that point at a text (after [`TEXT_DETERMINERS`]): a response that uses them talks about
/// its input.
const TEXT_NOUNS: [&str; 25] = [
    "text",
    "passage",
    "article",
    "paragraph",
    "author",
    "writer",
    "story",
    "poem",
    "review",
    "quote",
    "statement",
    "sentence",
    "speaker",
    "narrator",
    "essay",
    "excerpt",
    "input",
    "given",
    "book",
    "tweet",
    "email",
    "letter",
    "song",
    "speech",
    "piece",
];
const TEXT_DETERMINERS: [&str; 4] = ["the", "this", "these", "that"];

/// Whether words `yw` name a text as a thing: a determiner followed by one of [`TEXT_NOUNS`]
/// (singular or plural).
fn names_the_input(yw: &[String]) -> bool {
    yw.windows(2).any(|p| {
        TEXT_DETERMINERS.contains(&p[0].as_str())
            && TEXT_NOUNS.iter().any(|n| p[1] == *n || p[1].strip_suffix('s') == Some(n))
    })
}

/// The label a line opens with: an optional word and a number or a capital letter, closed by `.`,
/// `)` or `:` and then a space or the end of the line (`3.`, `Step 2:`, `Text B:`; not `5:00`).
/// The word lowercased and the number or letter.
fn line_label(line: &str) -> Option<(String, &str)> {
    let l = line.trim_start();
    let (word, rest) = match l.split_once(' ') {
        Some((w, r)) if !w.is_empty() && w.chars().all(|c| c.is_alphabetic()) => (w.to_lowercase(), r.trim_start()),
        _ => (String::new(), l),
    };
    let n = rest.find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(rest.len());
    let (mark, after) = rest.split_at(n);
    let is_mark =
        mark.chars().all(|c| c.is_ascii_digit()) || (mark.len() == 1 && mark.as_bytes()[0].is_ascii_uppercase());
    let closed = after.starts_with(['.', ')', ':']) && after[1..].chars().next().is_none_or(char::is_whitespace);
    (!mark.is_empty() && mark.len() <= 3 && is_mark && closed).then_some((word, mark))
}

/// Whether the first labelled line of `y` takes up the sequence where `z`'s last labelled line
/// left it (same word, the next number or letter).
fn numbering_goes_on(z: &str, y: &str) -> bool {
    let Some((zw, last)) = z.lines().rev().find_map(line_label) else { return false };
    let Some((yw, first)) = y.lines().find_map(line_label) else { return false };
    let next = match last.parse::<u32>() {
        Ok(n) => (n + 1).to_string(),
        Err(_) => ((last.as_bytes()[0] + 1) as char).to_string(),
    };
    zw == yw && first == next
}

const ANAPHORS: [&str; 14] =
    ["this", "it", "these", "those", "that", "he", "she", "they", "which", "its", "their", "his", "her", "such"];
const ANSWER_OPENINGS: [&str; 14] = [
    "yes",
    "no",
    "here",
    "the answer",
    "answer",
    "sure",
    "certainly",
    "1.",
    "1)",
    "-",
    "*",
    "#",
    "the following",
    "in summary",
];
const STOPWORDS: [&str; 40] = [
    "the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "with", "is", "are", "was", "were", "be", "by", "as",
    "at", "that", "this", "it", "from", "its", "their", "they", "he", "she", "has", "have", "had", "not", "but", "can",
    "will", "which", "these", "those", "into", "also",
];

/// Lowercase alphanumeric words.
pub fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

fn content(ws: &[String]) -> impl Iterator<Item = &String> {
    ws.iter().filter(|w| w.len() > 2 && !STOPWORDS.contains(&w.as_str()))
}

fn share<'a>(items: impl Iterator<Item = &'a String>, set: &std::collections::HashSet<&str>) -> f32 {
    let (mut n, mut hit) = (0usize, 0usize);
    for w in items {
        n += 1;
        hit += set.contains(w.as_str()) as usize;
    }
    if n == 0 { 0.0 } else { hit as f32 / n as f32 }
}

impl SurfaceCues {
    /// Cues of response `y` against instruction `c` and input `z`.
    pub fn of(c: &str, z: &str, y: &str) -> SurfaceCues {
        let y = y.trim_start();
        let first = y.chars().next();
        let starts_lowercase = first.is_some_and(|ch| ch.is_lowercase() || ",;:)".contains(ch));
        let yw = words(y);
        let anaphor = yw.first().filter(|w| ANAPHORS.contains(&w.as_str())).map(|_| {
            y.split_whitespace().next().unwrap_or("").trim_matches(|c: char| !c.is_alphanumeric()).to_string()
        });
        let zt = z.trim_end();
        let z_open = !zt.is_empty() && !zt.ends_with(['.', '!', '?', '"', '\'', ')', ':', '”']);
        let ly = y.to_lowercase();
        let answer_opening = ANSWER_OPENINGS.iter().any(|o| {
            ly.starts_with(o)
                && ly[o.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric() || !o.ends_with(char::is_alphanumeric))
        });
        let cw = words(c);
        let cset: std::collections::HashSet<&str> = content(&cw).map(String::as_str).collect();
        let zw = words(z);
        let zset: std::collections::HashSet<&str> = content(&zw).map(String::as_str).collect();
        let head: Vec<String> = yw.iter().take(12).cloned().collect();
        let ztri: std::collections::HashSet<(&str, &str, &str)> =
            zw.windows(3).map(|t| (t[0].as_str(), t[1].as_str(), t[2].as_str())).collect();
        let ytri: Vec<_> = yw.windows(3).map(|t| (t[0].as_str(), t[1].as_str(), t[2].as_str())).collect();
        let input_trigrams = if ytri.is_empty() {
            0.0
        } else {
            ytri.iter().filter(|t| ztri.contains(t)).count() as f32 / ytri.len() as f32
        };
        let (input_copied, copied) = copied_runs(&zw, &yw);
        let added: Vec<String> = yw.iter().zip(&copied).filter(|(_, c)| !**c).map(|(w, _)| w.clone()).collect();
        // A response that restates the input is grounded by what it adds, not by the copy: the
        // grounding cues then look at the added words only (copied text is no evidence of an
        // answer drawn from the passage).
        let restated = input_copied >= RESTATED;
        let opening = if restated {
            added.iter().take(20).cloned().collect()
        } else {
            words(super::devset::sentences(y).first().copied().unwrap_or(""))
        };
        let (input_vocab, input_trigrams) = if restated {
            let tri: Vec<_> = added.windows(3).map(|t| (t[0].as_str(), t[1].as_str(), t[2].as_str())).collect();
            let hit = tri.iter().filter(|t| ztri.contains(t)).count();
            (share(content(&added), &zset), if tri.is_empty() { 0.0 } else { hit as f32 / tri.len() as f32 })
        } else {
            (share(content(&yw), &zset), input_trigrams)
        };
        let given: std::collections::HashSet<&str> = cset.union(&zset).copied().collect();
        let lc = c.to_lowercase();
        let edit_task = crate::quality::phrases::EDIT_CUES.iter().any(|cue| lc.contains(cue))
            || ["continue", "complete", "extend", "expand", "finish"].iter().any(|cue| lc.contains(cue));
        let asks_reply = REPLY_CUES.iter().any(|cue| lc.contains(cue));
        SurfaceCues {
            opening_grounded: share(content(&opening), &given),
            starts_lowercase,
            anaphor,
            continues_input: z_open && starts_lowercase,
            answer_opening,
            echoes_instruction: share(content(&head), &cset),
            input_vocab,
            input_trigrams,
            input_copied,
            added_words: added.len() as u32,
            edit_task,
            prompt_line: prompt_line(c, y),
            continues_numbering: !edit_task && !asks_reply && numbering_goes_on(z, y),
            about_input: names_the_input(&yw),
            asks_for_text: TEXT_CUES.iter().any(|cue| lc.contains(cue)),
        }
    }
}

/// Share of the response's word 4-grams that repeat an earlier 4-gram, or of its non-empty lines
/// that repeat an earlier line, whichever is larger (0 = no repetition).
pub fn repetition(y: &str) -> f32 {
    let w = words(y);
    let grams = if w.len() < 8 {
        0.0
    } else {
        let mut seen = std::collections::HashSet::new();
        let total = w.len() - 3;
        let rep = w.windows(4).filter(|g| !seen.insert(*g)).count();
        rep as f32 / total as f32
    };
    let lines: Vec<&str> = y.lines().map(str::trim).filter(|l| l.len() > 3).collect();
    let line_rep = if lines.len() < 3 {
        0.0
    } else {
        let mut seen = std::collections::HashSet::new();
        lines.iter().filter(|l| !seen.insert(**l)).count() as f32 / lines.len() as f32
    };
    grams.max(line_rep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_that_takes_up_the_inputs_numbering_goes_on_with_it() {
        let steps = "1. Preheat the oven.\n2. Grease a pan.\n3.";
        let c = SurfaceCues::of("Estimate the total time of the recipe.", steps, "Mix the flour and sugar.\n4. Bake.");
        assert!(c.continues_numbering, "{c:?}");
        let c = SurfaceCues::of("Put the sentences in order.", "Sentence 1: They started.", "Sentence 2: It grew.");
        assert!(c.continues_numbering);
        let c = SurfaceCues::of("Compare the texts.", "Text A: I like tea.", "I drink it daily.\n\nText B: Coffee.");
        assert!(c.continues_numbering);
        // An answer that numbers its own list, another label word, a time, a reply in a dialogue
        // and a task that asks to add to the list are not carrying on the input.
        assert!(!SurfaceCues::of("Rank these.", "1. tea\n2. coffee", "1. coffee\n2. tea").continues_numbering);
        assert!(!SurfaceCues::of("Answer it.", "Question 1: Why?", "Answer 2: Because.").continues_numbering);
        assert!(!SurfaceCues::of("Output the time one hour later.", "5:00 PM", "6:00 PM").continues_numbering);
        let talk = "Person 1: What do you want to do this weekend?";
        assert!(!SurfaceCues::of("Write the best response.", talk, "Person 2: A hike.").continues_numbering);
        assert!(!SurfaceCues::of("Add two items.", "1. tea\n2. coffee", "3. milk\n4. juice").continues_numbering);
        assert!(!SurfaceCues::of("Summarize.", "", "2. More.").continues_numbering);
    }

    #[test]
    fn task_cues_say_what_the_response_does_with_the_task() {
        assert!(SurfaceCues::of("Summarize.", "Bees...", "The passage says bees make honey.").about_input);
        assert!(SurfaceCues::of("Analyse it.", "x", "These statements contradict each other.").about_input);
        assert!(!SurfaceCues::of("Summarize.", "Bees...", "Bees make honey in summer.").about_input);
        assert!(SurfaceCues::of("Write a story about a dragon.", "", "Once upon a time.").asks_for_text);
        assert!(SurfaceCues::of("Complete the sentence.", "The sky is", "blue.").asks_for_text);
        assert!(!SurfaceCues::of("Summarize the text.", "Bees...", "Bees make honey.").asks_for_text);
    }
}
