//! Explicit count and form constraints of the instruction, measured on the response: N words,
//! sentences, paragraphs or items; the syllables of a haiku; one word; upper or lower case; a metaphor
//! rather than a simile; a language written in its own script.
//!
//! Counting is done as a range (two ways of counting words, sentence ends with and without
//! abbreviations), and a constraint fails only when the asked number lies outside it.

use super::CheckResult;
use super::syllables;
use crate::quality::heuristics::FlagKind;
use crate::quality::text::re;
use crate::quality::text::{is_list_item, snippet};
use regex::Regex;
use std::sync::LazyLock;

/// English number words from zero to twenty, each at its value.
pub(super) const NUMBER_WORDS: [&str; 21] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

/// A count written in digits or words (up to twenty).
fn count_of(s: &str) -> Option<usize> {
    let s = s.trim().to_lowercase();
    s.parse().ok().or_else(|| NUMBER_WORDS.iter().position(|w| *w == s))
}

/// A regex alternative for a count.
const N: &str = r"(\d{1,4}|zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty)";

/// What the instruction allows: exactly n, a range, at most, at least.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Bound {
    Exactly(usize),
    Between(usize, usize),
    AtMost(usize),
    Below(usize),
    AtLeast(usize),
}

impl Bound {
    /// Whether a count somewhere in `lo..=hi` satisfies the bound.
    fn admits(self, lo: usize, hi: usize) -> bool {
        match self {
            Bound::Exactly(n) => lo <= n && n <= hi,
            Bound::Between(a, b) => lo <= b && hi >= a,
            Bound::AtMost(n) => lo <= n,
            Bound::Below(n) => lo < n,
            Bound::AtLeast(n) => hi >= n,
        }
    }

    fn asked(self) -> String {
        match self {
            Bound::Exactly(n) => format!("{n}"),
            Bound::Between(a, b) => format!("{a}-{b}"),
            Bound::AtMost(n) => format!("at most {n}"),
            Bound::Below(n) => format!("fewer than {n}"),
            Bound::AtLeast(n) => format!("at least {n}"),
        }
    }

    fn target(self) -> usize {
        match self {
            Bound::Exactly(n) | Bound::AtMost(n) | Bound::Below(n) | Bound::AtLeast(n) => n,
            Bound::Between(a, b) => (a + b) / 2,
        }
    }
}

fn has(lo: usize, hi: usize) -> String {
    if lo == hi { format!("{lo}") } else { format!("{lo}-{hi} (depending on how they are counted)") }
}

/// The result of measuring `unit` against `bound`.
fn measured(bound: Bound, unit: &str, lo: usize, hi: usize) -> CheckResult {
    let what = format!("asked for {} {unit}, has {}", bound.asked(), has(lo, hi));
    if bound.admits(lo, hi) {
        CheckResult::pass(FlagKind::CountMismatch, what)
    } else {
        let t = bound.target().max(1) as f32;
        let off = if hi < bound.target() { bound.target() - hi } else { lo.saturating_sub(bound.target()) };
        CheckResult::fail(FlagKind::CountMismatch, off as f32 / t, what)
    }
}

/// The bound of a match whose groups are `n` and optionally a range end `m`, with a qualifier before.
fn bound_of(qualifier: &str, n: usize, m: Option<usize>) -> Bound {
    let q = qualifier.to_lowercase();
    if let Some(m) = m.filter(|&m| m > n) {
        return Bound::Between(n, m);
    }
    if q.contains("less than") || q.contains("fewer than") || q.contains("under") {
        Bound::Below(n)
    } else if q.contains("at most")
        || q.contains("no more than")
        || q.contains("maximum")
        || q.contains("up to")
        || q.contains("within")
        || q.contains("not exceed")
        || q.contains("or less")
        || q.contains("or fewer")
    {
        Bound::AtMost(n)
    } else if q.contains("at least") || q.contains("more than") || q.contains("minimum") || q.contains("or more") {
        Bound::AtLeast(n)
    } else {
        Bound::Exactly(n)
    }
}

/// Words of the response counted two ways: whitespace-separated tokens holding a letter or digit,
/// and runs of letters and digits (which split "well-known" and "don't").
fn word_range(text: &str) -> (usize, usize) {
    let a = text.split_whitespace().filter(|t| t.chars().any(char::is_alphanumeric)).count();
    let b = crate::quality::text::word_count(text);
    (a.min(b), a.max(b))
}

/// Sentences counted two ways: every '.', '!' or '?' run followed by a space or the end, and only
/// those followed by a capital (or the end) and not ending a common abbreviation or an initial.
fn sentence_range(text: &str) -> (usize, usize) {
    const ABBREV: [&str; 16] =
        ["mr", "mrs", "ms", "dr", "st", "vs", "etc", "e.g", "i.e", "jr", "sr", "inc", "ltd", "no", "u.s", "approx"];
    let chars: Vec<char> = text.trim().chars().collect();
    let (mut hi, mut lo) = (0, 0);
    let mut i = 0;
    while i < chars.len() {
        if matches!(chars[i], '.' | '!' | '?' | '…') {
            let end = i;
            while i + 1 < chars.len() && matches!(chars[i + 1], '.' | '!' | '?' | '"' | '”' | '\'' | ')' | '…') {
                i += 1;
            }
            let next = chars.get(i + 1);
            if next.is_none_or(|c| c.is_whitespace()) {
                hi += 1;
                let word: String = chars[..end]
                    .iter()
                    .rev()
                    .take_while(|c| !c.is_whitespace())
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<String>()
                    .to_lowercase();
                let word = word.trim_start_matches(['(', '"', '“']);
                let abbrev = ABBREV.contains(&word) || (word.chars().count() == 1 && chars[end] == '.');
                let decimal = chars[end] == '.' && word.chars().all(|c| c.is_ascii_digit()) && !word.is_empty();
                let capital_next = chars[i + 1..]
                    .iter()
                    .find(|c| !c.is_whitespace() && !matches!(c, '"' | '“' | '\'' | '('))
                    .is_none_or(|c| c.is_uppercase() || c.is_ascii_digit());
                if !abbrev && !decimal && capital_next {
                    lo += 1;
                }
            }
        }
        i += 1;
    }
    // Text after the last end mark is a sentence without its period.
    let tail_open = chars
        .iter()
        .rev()
        .find(|c| !c.is_whitespace())
        .is_some_and(|c| !matches!(c, '.' | '!' | '?' | '…' | '"' | '”' | '\'' | ')'));
    if tail_open && chars.iter().any(|c| c.is_alphanumeric()) {
        hi += 1;
        lo += 1;
    }
    (lo.max(usize::from(!chars.is_empty())).min(hi), hi)
}

/// Paragraphs: blocks separated by blank lines, up to non-empty lines.
fn paragraph_range(text: &str) -> (usize, usize) {
    let blocks = text.split("\n\n").filter(|b| !b.trim().is_empty()).count();
    let lines = text.lines().filter(|l| !l.trim().is_empty()).count();
    (blocks.min(lines), lines.max(blocks))
}

/// Items of a response that is visibly a list: marked lines ("1.", "-", "•") at the first item's
/// indentation, else one line of short comma-separated items ("red, green and blue"), else several
/// short unpunctuated lines. `None` for prose, where items cannot be counted reliably.
fn item_count(text: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let marked: Vec<&str> = lines.iter().copied().filter(|l| is_list_item(l)).collect();
    if marked.len() >= 2 {
        let indent = |l: &str| l.len() - l.trim_start().len();
        let top = indent(marked[0]);
        let items: Vec<&str> = marked.iter().copied().filter(|l| indent(l) == top).collect();
        // Numbered lists that restart ("1. 2. 3." then "1. 2.") are several lists.
        let numbers: Vec<usize> =
            items.iter().filter_map(|l| l.trim_start().split(['.', ')']).next().and_then(|n| n.parse().ok())).collect();
        if numbers.windows(2).any(|w| w[1] != w[0] + 1) {
            return None;
        }
        return Some(items.len());
    }
    if lines.len() == 1 {
        let line = lines[0].trim().trim_end_matches(['.', '!']);
        let line = line
            .split_once(':')
            .map_or(line, |(head, rest)| if head.split_whitespace().count() <= 8 { rest } else { line });
        let parts: Vec<&str> = line
            .split([',', ';'])
            .flat_map(|p| {
                let p = p.trim();
                match p.strip_prefix("and ").or_else(|| p.strip_prefix("or ")) {
                    Some(rest) => vec![rest],
                    None => match p.rsplit_once(" and ") {
                        Some((a, b)) if a.split_whitespace().count() <= 4 && b.split_whitespace().count() <= 4 => {
                            vec![a, b]
                        }
                        _ => vec![p],
                    },
                }
            })
            .filter(|p| !p.trim().is_empty())
            .collect();
        if parts.len() >= 2 && parts.iter().all(|p| p.split_whitespace().count() <= 6) {
            return Some(parts.len());
        }
        return None;
    }
    if lines.len() >= 2
        && lines.iter().all(|l| l.split_whitespace().count() <= 6 && !l.trim_end().ends_with(['.', ':']))
    {
        return Some(lines.len());
    }
    None
}

static WORDS: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)(less than|fewer than|under|at most|no more than|maximum of|maximum|up to|within|not exceeding|at least|more than|minimum of|exactly|in|using|with|of)?\s*\b{N}(?:\s*(?:-|to)\s*{N})?[- ]words?\b(\s+or\s+(?:less|fewer|more))?(\s+\w+)?"
    ))
});
static SENTENCES: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)(less than|fewer than|under|at most|no more than|maximum of|up to|within|at least|more than|exactly|in|of|with|using|write|generate|compose|create)?\s*\b(?:a\s+single|{N}(?:\s*(?:-|to|or)\s*{N})?)[- ]sentences?\b(\s+or\s+(?:less|fewer|more))?"
    ))
});
static PARAGRAPHS: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)(less than|at most|no more than|up to|at least|exactly|in|of|with|write|a)?\s*\b{N}(?:\s*(?:-|to)\s*{N})?[- ]paragraphs?\b"
    ))
});
static ITEMS: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)^\s*(?:please\s+)?(list|name|give|provide|generate|suggest|identify|come up with|brainstorm|make a list of|create a list of|write down|enumerate|mention|recommend|offer|add|select|choose|pick)\s+(?:me\s+)?(?:a\s+list\s+of\s+|the\s+)?(at\s+least\s+)?{N}(?:\s*(?:-|to)\s*{N})?\s+([a-z][a-z-]*(?:\s+[a-z][a-z-]*)?)"
    ))
});

pub(super) fn counts(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    // Words, sentences and syllables are counted the English way (spaces, '.', vowel groups): on a
    // response mostly in another script these checks stay silent; paragraphs and items are lines.
    if crate::quality::non_latin(output).is_some() {
        return paragraphs(instruction, output).or_else(|| items(instruction, input, output));
    }
    syllables::haiku(instruction, output)
        .or_else(|| duration(instruction, output))
        .or_else(|| words(instruction, output))
        .or_else(|| sentences(instruction, output))
        .or_else(|| paragraphs(instruction, output))
        .or_else(|| lines(instruction, output))
        .or_else(|| items(instruction, input, output))
}

/// The single match of `re` in the instruction: several counts ("3 nouns and 2 verbs") are skipped.
fn only_match<'t>(re: &Regex, text: &'t str) -> Option<regex::Captures<'t>> {
    let mut it = re.captures_iter(text);
    let c = it.next()?;
    it.next().is_none().then_some(c)
}

fn words(instruction: &str, output: &str) -> Option<CheckResult> {
    let c = only_match(&WORDS, instruction)?;
    let qualifier = c.get(1).map_or("", |m| m.as_str());
    let n = count_of(&c[2])?;
    let m = c.get(3).and_then(|m| count_of(m.as_str()));
    let tail = c.get(4).map_or("", |m| m.as_str());
    let next = c.get(5).map_or("", |m| m.as_str().trim()).to_lowercase();
    let hyphenated = c[0].contains(&format!("{}-word", &c[2])) || c[0].contains("-word");
    // "10 words that start with M" are items; "in 10 words", "a 10-word sentence", "50 words or less"
    // bound the response.
    let bounding = !qualifier.is_empty() || !tail.is_empty() || hyphenated;
    let item_like = [
        "that",
        "which",
        "from",
        "starting",
        "beginning",
        "related",
        "ending",
        "containing",
        "to",
        "for",
        "associated",
        "describing",
        "you",
    ];
    if !bounding || (qualifier.eq_ignore_ascii_case("of") && !hyphenated) || item_like.contains(&next.as_str()) {
        return None;
    }
    // "Generate three 5-word sentences": several responses in one.
    if hyphenated && next.ends_with('s') && !next.ends_with("ss") {
        return None;
    }
    if n == 0 || n > 1000 {
        return None;
    }
    let bound = bound_of(&format!("{qualifier}{tail}"), n, m);
    let (lo, hi) = word_range(output);
    // Long texts are written to about the asked length: allow a fifth either way for 20 words and up.
    let (lo, hi) = match bound {
        Bound::Exactly(n) if n >= 20 => {
            let slack = n / 5;
            if lo <= n + slack && hi + slack >= n { (n, n) } else { (lo, hi) }
        }
        _ => (lo, hi),
    };
    Some(measured(bound, "words", lo, hi))
}

fn sentences(instruction: &str, output: &str) -> Option<CheckResult> {
    let c = only_match(&SENTENCES, instruction)?;
    let qualifier = c.get(1).map_or("", |m| m.as_str()).to_lowercase();
    let whole = c[0].to_lowercase();
    let n = if whole.contains("single") { 1 } else { count_of(c.get(2)?.as_str())? };
    let m = c.get(3).and_then(|m| count_of(m.as_str()));
    let tail = c.get(4).map_or("", |m| m.as_str());
    // "Rewrite the following two sentences", "Combine these 3 sentences": the count is of the input.
    let before = instruction[..c.get(0)?.start()].to_lowercase();
    let refers_to_input = ["following", "these", "those", "the", "given", "each", "both"]
        .iter()
        .any(|w| before.trim_end().ends_with(w) || whole.trim_start().starts_with(w));
    if refers_to_input || n == 0 || qualifier.is_empty() && n == 1 {
        return None;
    }
    if output.lines().filter(|l| is_list_item(l)).count() >= 2 {
        return None;
    }
    let bound = bound_of(&format!("{qualifier}{tail}"), n, m);
    let (lo, hi) = sentence_range(output);
    let unit = if n == 1 && m.is_none() && matches!(bound, Bound::Exactly(_)) { "sentence" } else { "sentences" };
    Some(measured(bound, unit, lo, hi))
}

fn paragraphs(instruction: &str, output: &str) -> Option<CheckResult> {
    let c = only_match(&PARAGRAPHS, instruction)?;
    let qualifier = c.get(1).map_or("", |m| m.as_str()).to_lowercase();
    let n = count_of(&c[2])?;
    let m = c.get(3).and_then(|m| count_of(m.as_str()));
    let before = instruction[..c.get(0)?.start()].to_lowercase();
    if ["following", "these", "the", "given", "each"].iter().any(|w| before.trim_end().ends_with(w)) || n == 0 {
        return None;
    }
    let bound = bound_of(&qualifier, n, m);
    let (lo, hi) = paragraph_range(output);
    Some(measured(bound, "paragraphs", lo, hi))
}

static LINES: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)\b(?:an?|with|has|of|in)\s+{N}[- ]lines?\b\s*(poem|verse|stanza|limerick|song|rhyme|poetry)?|\b(poem|verse|stanza|song|rhyme)\b[^.?!]{{0,30}}\b(?:with|has|of|in)\s+{N}\s+lines\b"
    ))
});

/// Lines of a poem the instruction counts ("an 8-line poem", "a poem with four lines"): the
/// response's non-empty lines, or its sentence-like chunks split at '/' when it is one line.
fn lines(instruction: &str, output: &str) -> Option<CheckResult> {
    let c = only_match(&LINES, instruction)?;
    let n = count_of(c.get(1).or(c.get(4))?.as_str())?;
    let poem = c.get(2).is_some() || c.get(3).is_some() || instruction.to_lowercase().contains("poem");
    if !poem || !(2..=40).contains(&n) || instruction.to_lowercase().contains("haiku") {
        return None;
    }
    let found: Vec<&str> = output.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    // A poem given as one line cannot be counted.
    if found.len() < 2 {
        return None;
    }
    // A title line above the poem may or may not count.
    let lo = found.len() - usize::from(found.len() > 2 && !found[0].ends_with(['.', ',', ';', '!', '?']));
    Some(measured(Bound::Exactly(n), "lines", lo, found.len()))
}

fn items(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    let c = ITEMS.captures(instruction)?;
    let verb = c[1].to_lowercase();
    let at_least = c.get(2).is_some();
    let n = count_of(&c[3])?;
    let m = c.get(4).and_then(|m| count_of(m.as_str()));
    let noun = c[5].to_lowercase();
    let first_noun = noun.split_whitespace().next().unwrap_or("");
    // Counts of other things, or of the input's parts.
    const NOT_ITEMS: [&str; 16] = [
        "sentence",
        "sentences",
        "paragraph",
        "paragraphs",
        "word",
        "minute",
        "minutes",
        "times",
        "more",
        "other",
        "of",
        "to",
        "or",
        "and",
        "different",
        "additional",
    ];
    if !(2..=30).contains(&n) || NOT_ITEMS.contains(&first_noun) || ITEMS.captures_iter(instruction).count() > 1 {
        return None;
    }
    // Several counted groups ("3 fruits and 3 vegetables").
    let rest = &instruction[c.get(0)?.end()..];
    if Regex::new(&format!(r"(?i)\b{N}\s+[a-z]")).ok()?.is_match(rest) {
        return None;
    }
    let bound = if at_least { Bound::AtLeast(n) } else { bound_of("", n, m) };
    // Similes are counted by their markers wherever they stand ("like a storm", "as fast as").
    if first_noun == "similes" {
        let (lo, hi) = simile_range(output);
        return Some(measured(bound, "similes", lo, hi));
    }
    let mut found = item_count(output)?;
    // "Add 10 words to the given list": the new items are those after the input's.
    if verb == "add" {
        let given = item_count(input)?;
        let out_flat = output.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
        let in_flat = input.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
        if out_flat.starts_with(in_flat.trim_end_matches(['.', ','])) {
            found = found.checked_sub(given)?;
        }
    }
    const STOP: [&str; 16] = [
        "that", "which", "to", "for", "of", "in", "with", "from", "on", "about", "and", "or", "you", "related", "the",
        "starting",
    ];
    let what: Vec<&str> = noun.split_whitespace().take_while(|w| !STOP.contains(w)).collect();
    let what = if what.is_empty() { "items".to_string() } else { what.join(" ") };
    Some(measured(bound, &what, found, found))
}

static AS_AS: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)\bas\s+[a-z]+\s+as\b"));

/// Similes of a response counted by their markers: "as fast as" and "like" (counted two ways: every
/// "like", and only those that are not the verb after a pronoun or "would", as in "I like").
fn simile_range(output: &str) -> (usize, usize) {
    const VERB_BEFORE: [&str; 11] =
        ["i", "you", "we", "they", "would", "don't", "do", "does", "didn't", "people", "to"];
    let words: Vec<String> = output
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase().replace('’', "'"))
        .collect();
    let (mut strict, mut all) = (0, 0);
    for (i, w) in words.iter().enumerate() {
        if w == "like" {
            all += 1;
            if i == 0 || !VERB_BEFORE.contains(&words[i - 1].as_str()) {
                strict += 1;
            }
        }
    }
    let as_as = AS_AS.find_iter(output).count();
    (strict + as_as, all + as_as)
}

static DURATION: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"(?i)\b(?:a|an|the)\s+{N}[- ]minutes?\s+(?:long\s+)?(speech|talk|presentation|story|storytelling|monologue|toast|lecture|sermon|eulogy|pitch|podcast script|script|narrative|address)\b(\s+[a-z]+)?"
    ))
});

/// Words a minute of speech: slow reading to brisk talk.
const SPOKEN_WPM: (usize, usize) = (100, 160);

/// A text to be spoken for N minutes ("a 5-minute speech"), measured in words: it fails only when
/// even read slowly it lasts under half the time, or even read briskly over twice the time.
fn duration(instruction: &str, output: &str) -> Option<CheckResult> {
    let c = only_match(&DURATION, instruction)?;
    let minutes = count_of(&c[1]).filter(|&m| (1..=60).contains(&m))?;
    let what = c[2].to_lowercase();
    // "a 5-minute speech outline" asks for something shorter than the speech.
    const SHORTER: [&str; 14] = [
        "outline",
        "topic",
        "topics",
        "title",
        "idea",
        "ideas",
        "summary",
        "plan",
        "structure",
        "opening",
        "introduction",
        "intro",
        "conclusion",
        "ending",
    ];
    if c.get(3).is_some_and(|m| SHORTER.contains(&m.as_str().trim().to_lowercase().as_str())) {
        return None;
    }
    let (words, _) = word_range(output);
    let (slow, brisk) = (words as f64 / SPOKEN_WPM.0 as f64, words as f64 / SPOKEN_WPM.1 as f64);
    let detail = format!(
        "asked for a {minutes}-minute {what}; its {words} words take {brisk:.1}-{slow:.1} minutes to say at {}-{} words a minute",
        SPOKEN_WPM.0, SPOKEN_WPM.1
    );
    let m = minutes as f64;
    Some(if slow < m / 2.0 {
        CheckResult::fail(FlagKind::CountMismatch, (1.0 - slow / m) as f32, detail)
    } else if brisk > m * 2.0 {
        CheckResult::fail(FlagKind::CountMismatch, (brisk / m - 1.0) as f32, detail)
    } else {
        CheckResult::pass(FlagKind::CountMismatch, detail)
    })
}

// ---- form ---------------------------------------------------------------------------------------

static ONE_WORD: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(in (one|a single) word|(one|single)[- ]word (answer|response|reply)|answer with (one|a single) word|respond with (one|a single) word)\b",
    )
});
static CASE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(in (all )?(capital letters|caps|uppercase|upper case|capitals)|all caps|in (all )?(lowercase|lower case)|to (all )?(uppercase|upper case|lowercase|lower case|capital letters))\b",
    )
});
static METAPHOR: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(write|create|generate|compose|come up with|make|give|provide|construct|develop|invent|form|think of)\b[^.?!]*\bmetaph(?:or|er)s?\b",
    )
});
static SIMILE_IN_RESPONSE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(is|are|was|were|feels?|looks?|seems?|acts?|moves?|works?|sounds?|just)\s+(just\s+)?like\s+(a|an|the)\b[^.,;]{0,40}|\bas\s+\w+\s+as\s+(a|an|the)\b[^.,;]{0,30}",
    )
});
static TRANSLATE_TO: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:translate|translation|write|say|rewrite|express)\b[^.?!]*\b(?:in|into|to)\s+(chinese|mandarin|japanese|korean|russian|arabic|hindi|greek|hebrew|thai|ukrainian|bulgarian|persian|farsi)\b",
    )
});

pub(super) fn form(instruction: &str, output: &str) -> Option<CheckResult> {
    // One word and a metaphor are read the English way: on a response mostly in another script only
    // the script itself is checked.
    if crate::quality::non_latin(output).is_some() {
        return script(instruction, output);
    }
    one_word(instruction, output)
        .or_else(|| case(instruction, output))
        .or_else(|| metaphor(instruction, output))
        .or_else(|| script(instruction, output))
}

fn one_word(instruction: &str, output: &str) -> Option<CheckResult> {
    ONE_WORD.find(instruction)?;
    let (lo, _) = word_range(output);
    let what = format!("asked for one word, has {}", has(lo, word_range(output).1));
    Some(if lo <= 1 {
        CheckResult::pass(FlagKind::FormMismatch, what)
    } else {
        CheckResult::fail(FlagKind::FormMismatch, 1.0, what)
    })
}

fn case(instruction: &str, output: &str) -> Option<CheckResult> {
    let m = CASE.find(instruction)?.as_str().to_lowercase();
    let upper = !m.contains("lower");
    let letters: Vec<char> = output.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() < 3 {
        return None;
    }
    let wrong = letters.iter().filter(|c| if upper { c.is_lowercase() } else { c.is_uppercase() }).count();
    let case_name = if upper { "upper case" } else { "lower case" };
    Some(if wrong == 0 {
        CheckResult::pass(FlagKind::FormMismatch, format!("asked for {case_name}; every letter is"))
    } else {
        CheckResult::fail(
            FlagKind::FormMismatch,
            wrong as f32 / letters.len() as f32,
            format!("asked for {case_name}, but {wrong} of {} letters are not", letters.len()),
        )
    })
}

fn metaphor(instruction: &str, output: &str) -> Option<CheckResult> {
    let lower = instruction.to_lowercase();
    if !METAPHOR.is_match(&lower)
        || lower.contains("simile")
        || lower.contains("metaphorical")
        || lower.contains("mixed metaph")
    {
        return None;
    }
    Some(match SIMILE_IN_RESPONSE.find(output) {
        Some(m) => CheckResult::fail(
            FlagKind::FormMismatch,
            1.0,
            format!(
                "asked for a metaphor, but the response is a simile: \"{}\"",
                snippet(m.as_str().trim(), 50, false)
            ),
        ),
        None => CheckResult::pass(FlagKind::FormMismatch, "asked for a metaphor; the response has no simile"),
    })
}

/// Whether `c` belongs to the script `language` is written in.
fn in_script(language: &str, c: char) -> bool {
    let u = c as u32;
    match language {
        "chinese" | "mandarin" => (0x4E00..=0x9FFF).contains(&u) || (0x3400..=0x4DBF).contains(&u),
        "japanese" => (0x3040..=0x30FF).contains(&u) || (0x4E00..=0x9FFF).contains(&u),
        "korean" => (0xAC00..=0xD7AF).contains(&u) || (0x1100..=0x11FF).contains(&u),
        "russian" | "ukrainian" | "bulgarian" => (0x0400..=0x04FF).contains(&u),
        "arabic" | "persian" | "farsi" => (0x0600..=0x06FF).contains(&u),
        "hindi" => (0x0900..=0x097F).contains(&u),
        "greek" => (0x0370..=0x03FF).contains(&u),
        "hebrew" => (0x0590..=0x05FF).contains(&u),
        "thai" => (0x0E00..=0x0E7F).contains(&u),
        _ => true,
    }
}

fn script(instruction: &str, output: &str) -> Option<CheckResult> {
    let c = TRANSLATE_TO.captures(instruction)?;
    let language = c[1].to_lowercase();
    // "Explain in English how to say X in Japanese" asks for more than the translation.
    if instruction.to_lowercase().contains("pronounc") || instruction.to_lowercase().contains("romaniz") {
        return None;
    }
    let letters = output.chars().filter(|c| c.is_alphabetic()).count();
    let native = output.chars().filter(|&c| c.is_alphabetic() && in_script(&language, c)).count();
    let mut name = language.clone();
    name[..1].make_ascii_uppercase();
    Some(if native > 0 {
        CheckResult::pass(FlagKind::FormMismatch, format!("asked for {name}; the response is written in its script"))
    } else {
        CheckResult::fail(
            FlagKind::FormMismatch,
            1.0,
            format!("asked for {name}, but none of the response's {letters} letters is in {name} script"),
        )
    })
}
