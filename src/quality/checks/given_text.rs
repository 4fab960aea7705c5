//! Answers that can be worked out from the prompt's own text: the given items put in order
//! (numbers and fractions by value, words alphabetically), a binary string decoded to text, the length of a given text (characters,
//! letters, vowels, words), a given text in Morse code, an anagram of a given word, and a tweet that
//! fits in one.
//!
//! Each check speaks only when the prompt clearly asks for the operation, the text it applies to is
//! found (the input, or what follows a colon or stands in quotes in the instruction), and the
//! response visibly attempts the answer.

use super::CheckResult;
use crate::quality::heuristics::FlagKind;
use crate::quality::text::re;
use crate::quality::text::snippet;
use regex::Regex;
use std::sync::LazyLock;

pub(super) fn check(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    binary_text(instruction, input, output)
        .or_else(|| ordering(instruction, input, output))
        .or_else(|| tweet(instruction, output))
        .or_else(|| text_length(instruction, input, output))
        .or_else(|| morse(instruction, input, output))
        .or_else(|| anagram(instruction, input, output))
}

/// The text an instruction applies to: the input, else what follows its first colon, else its one
/// quoted passage. Surrounding quotes are removed.
fn given_text<'a>(instruction: &'a str, input: &'a str) -> Option<&'a str> {
    static QUOTED: LazyLock<Regex> = LazyLock::new(|| re(r#""([^"]+)"|“([^”]+)”|'([^']{2,})'"#));
    let text = if !input.trim().is_empty() {
        input
    } else if let Some((_, rest)) = instruction.split_once(':').filter(|(_, r)| !r.trim().is_empty()) {
        rest
    } else {
        let mut q = QUOTED.captures_iter(instruction);
        let c = q.next()?;
        if q.next().is_some() {
            return None;
        }
        c.get(1).or(c.get(2)).or(c.get(3))?.as_str()
    };
    let t = text.trim();
    let t = t
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| t.strip_prefix('“').and_then(|s| s.strip_suffix('”')))
        .unwrap_or(t)
        .trim();
    (!t.is_empty()).then_some(t)
}

// ---- ordering -----------------------------------------------------------------------------------

static ORDER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(order|sort|arrange|rank|put|list|rearrange|organi[sz]e)\b[^.?!]*?\b(least to greatest|smallest to (?:largest|biggest|greatest)|lowest to highest|ascending|greatest to least|largest to smallest|biggest to smallest|highest to lowest|descending|alphabetical(?:ly)?|alphabetic)\b",
    )
});

/// The instruction asks for a method (a program, an algorithm, steps), not the result.
static ASKS_FOR_METHOD: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)\b(program|code|function|script|algorithm|pseudo-?code|steps|explain|describe|method)\b")
});

/// A number as written in a list: "7", "-3.5", "2/3", "1,200".
fn value_of(item: &str) -> Option<f64> {
    let s = item.trim().trim_start_matches('$').replace(',', "");
    if let Some((a, b)) = s.split_once('/') {
        let (a, b): (f64, f64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        return (b != 0.0).then_some(a / b);
    }
    s.parse().ok()
}

/// Items of a one-line list "a, b and c" or of one item a line.
fn list_items(text: &str) -> Vec<String> {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let parts: Vec<&str> = if lines.len() == 1 { lines[0].split([',', ';']).collect() } else { lines.to_vec() };
    parts
        .iter()
        .map(|p| {
            let p = p.trim().trim_end_matches(['.', '!']).trim();
            let p = p.strip_prefix("and ").unwrap_or(p);
            let p = p.trim_start_matches(['-', '•', '*']).trim();
            p.trim_matches(['"', '\'', '“', '”']).trim().to_string()
        })
        .filter(|p| !p.is_empty())
        .collect()
}

/// Where `item` stands in `text` as a whole token (not inside a longer number or word), every time.
fn positions(text: &str, item: &str) -> Vec<usize> {
    let tl = text.to_lowercase();
    let il = item.to_lowercase();
    let part_of = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '/');
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = tl[from..].find(&il) {
        let at = from + i;
        let end = at + il.len();
        let before = tl[..at].chars().next_back();
        let after = tl[end..].chars().next();
        let digit_after =
            tl[end..].strip_prefix('.').and_then(|r| r.chars().next()).is_some_and(|c| c.is_ascii_digit());
        if !part_of(before) && !part_of(after) && !digit_after && before != Some('-') {
            out.push(at);
        }
        from = end;
    }
    out
}

/// The response's order of `items`: one item a line, else the last line holding each item once.
fn response_order(output: &str, items: &[String]) -> Option<Vec<usize>> {
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut per_line: Vec<usize> = Vec::new();
    for l in &lines {
        let hits: Vec<usize> = (0..items.len()).filter(|&k| !positions(l, &items[k]).is_empty()).collect();
        if hits.len() == 1 {
            per_line.push(hits[0]);
        }
    }
    let mut seen = per_line.clone();
    seen.sort_unstable();
    seen.dedup();
    if per_line.len() == items.len() && seen.len() == items.len() {
        return Some(per_line);
    }
    lines.iter().rev().find_map(|l| {
        let l = l.rsplit_once(':').map_or(*l, |(_, r)| r);
        let mut at: Vec<(usize, usize)> = Vec::new();
        for (k, item) in items.iter().enumerate() {
            let p = positions(l, item);
            if p.len() != 1 {
                return None;
            }
            at.push((p[0], k));
        }
        at.sort_unstable();
        Some(at.into_iter().map(|(_, k)| k).collect())
    })
}

fn ordering(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    let c = ORDER.captures(instruction)?;
    if ASKS_FOR_METHOD.is_match(instruction) {
        return None;
    }
    let how = c[2].to_lowercase();
    let alpha = how.starts_with("alphabet");
    let descending =
        ["greatest to", "largest to", "biggest to", "highest to", "descending"].iter().any(|w| how.contains(w))
            || instruction.to_lowercase().contains("reverse");
    let source = if input.trim().is_empty() { instruction.rsplit_once(':')?.1 } else { input };
    let items = list_items(source);
    if !(3..=30).contains(&items.len()) {
        return None;
    }
    let keys: Vec<Key> = if alpha {
        if items.iter().any(|i| i.split_whitespace().count() > 4 || !i.starts_with(char::is_alphabetic)) {
            return None;
        }
        items.iter().map(|i| Key::Text(i.to_lowercase())).collect()
    } else {
        items.iter().map(|i| value_of(i).map(Key::Num)).collect::<Option<_>>()?
    };
    let mut distinct: Vec<String> = items.iter().map(|i| i.to_lowercase()).collect();
    distinct.sort();
    distinct.dedup();
    if distinct.len() != items.len() {
        return None;
    }
    let order = response_order(output, &items)?;
    let sorted = |o: &[usize]| {
        o.windows(2).all(|w| {
            let cmp = keys[w[0]].cmp(&keys[w[1]]);
            if descending { cmp.is_ge() } else { cmp.is_le() }
        })
    };
    let mut want: Vec<usize> = (0..items.len()).collect();
    want.sort_by(|&a, &b| if descending { keys[b].cmp(&keys[a]) } else { keys[a].cmp(&keys[b]) });
    let show = |o: &[usize]| o.iter().map(|&k| items[k].as_str()).collect::<Vec<_>>().join(", ");
    let asked = if alpha { "alphabetically".to_string() } else { how.clone() };
    Some(if sorted(&order) {
        CheckResult::pass(
            FlagKind::Miscalculated,
            format!("asked to order {} items {asked}; the response does", items.len()),
        )
    } else {
        CheckResult::fail(
            FlagKind::Miscalculated,
            1.0,
            format!("asked to order {} {asked}: {}, but the response gives {}", items.len(), show(&want), show(&order)),
        )
    })
}

/// What items are ordered by.
#[derive(PartialEq)]
enum Key {
    Num(f64),
    Text(String),
}

impl Key {
    fn cmp(&self, other: &Key) -> std::cmp::Ordering {
        match (self, other) {
            (Key::Num(a), Key::Num(b)) => a.total_cmp(b),
            (Key::Text(a), Key::Text(b)) => {
                let f = |s: &str| s.chars().filter(|c| c.is_alphanumeric()).collect::<String>();
                f(a).cmp(&f(b))
            }
            _ => std::cmp::Ordering::Equal,
        }
    }
}

// ---- length of a given text ---------------------------------------------------------------------

static LENGTH: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:how many|count(?:\s+the)?(?:\s+(?:total\s+)?number\s+of)?|number of|total length|length of|the length)\b[^.?!:]*?\b(characters|letters|vowels|consonants|words|length)\b",
    )
});

fn text_length(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    let c = LENGTH.captures(instruction)?;
    // "words containing 'ing'", "words of three letters": a count of some of them.
    static SUBSET: LazyLock<Regex> = LazyLock::new(|| {
        re(r"(?i)^\s*(containing|that|which|with|of|starting|beginning|ending|longer|shorter|having|in each|per)\b")
    });
    let after = &instruction[c.get(0)?.end()..];
    if SUBSET.is_match(after) || ASKS_FOR_METHOD.is_match(instruction) {
        return None;
    }
    let lower = instruction.to_lowercase();
    // A program that counts, a count of one letter, or of something else than the given text.
    if [
        "times",
        "formed",
        "made",
        "make",
        "each",
        "unique",
        "distinct",
        "letter '",
        "letter \"",
        "most",
        "longest",
        "shortest",
        "average",
        "syllable",
    ]
    .iter()
    .any(|w| lower.contains(w))
        || output.contains("```")
    {
        return None;
    }
    let unit = c[1].to_lowercase();
    let text = given_text(instruction, input)?;
    let chars: Vec<char> = text.chars().collect();
    let (lo, hi) = match unit.as_str() {
        "characters" | "length" => (chars.iter().filter(|c| !c.is_whitespace()).count(), chars.len()),
        "letters" => {
            let n = chars.iter().filter(|c| c.is_alphabetic()).count();
            (n, n)
        }
        "vowels" | "consonants" => {
            let v = chars.iter().filter(|c| "aeiouAEIOU".contains(**c)).count();
            let y = chars.iter().filter(|c| "yY".contains(**c)).count();
            let letters = chars.iter().filter(|c| c.is_ascii_alphabetic()).count();
            if unit == "vowels" { (v, v + y) } else { (letters - v - y, letters - v) }
        }
        _ => {
            let a = text.split_whitespace().filter(|t| t.chars().any(char::is_alphanumeric)).count();
            let b = crate::quality::text::word_count(text);
            (a.min(b), a.max(b))
        }
    };
    if lo == 0 || text.chars().filter(|c| c.is_alphabetic()).count() < 2 {
        return None;
    }
    // The response's counts: whole numbers, not those quoted from the text itself.
    static WHOLE: LazyLock<Regex> = LazyLock::new(|| re(r"(?:^|[^\w.,])(\d{1,6})(?:$|[^\w,]|[.,](?:\s|$))"));
    let stated: Vec<usize> = WHOLE
        .captures_iter(output)
        .filter_map(|c| c[1].parse().ok())
        .filter(|n: &usize| !text.contains(&n.to_string()))
        .collect();
    let said = *stated.first()?;
    let what = if lo == hi { format!("{lo}") } else { format!("{lo}-{hi} (depending on how they are counted)") };
    let unit = if unit == "length" { "characters".to_string() } else { unit };
    let detail = format!("the given text \"{}\" has {what} {unit}", snippet(text, 40, false));
    Some(if stated.iter().any(|&n| lo <= n && n <= hi) {
        CheckResult::pass(FlagKind::Miscalculated, format!("{detail}: the response agrees"))
    } else {
        CheckResult::fail(FlagKind::Miscalculated, 1.0, format!("{detail}, but the response says {said}"))
    })
}

// ---- Morse code ---------------------------------------------------------------------------------

const MORSE: [(char, &str); 36] = [
    ('a', ".-"),
    ('b', "-..."),
    ('c', "-.-."),
    ('d', "-.."),
    ('e', "."),
    ('f', "..-."),
    ('g', "--."),
    ('h', "...."),
    ('i', ".."),
    ('j', ".---"),
    ('k', "-.-"),
    ('l', ".-.."),
    ('m', "--"),
    ('n', "-."),
    ('o', "---"),
    ('p', ".--."),
    ('q', "--.-"),
    ('r', ".-."),
    ('s', "..."),
    ('t', "-"),
    ('u', "..-"),
    ('v', "...-"),
    ('w', ".--"),
    ('x', "-..-"),
    ('y', "-.--"),
    ('z', "--.."),
    ('0', "-----"),
    ('1', ".----"),
    ('2', "..---"),
    ('3', "...--"),
    ('4', "....-"),
    ('5', "....."),
    ('6', "-...."),
    ('7', "--..."),
    ('8', "---.."),
    ('9', "----."),
];

fn morse(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    static ASKS: LazyLock<Regex> =
        LazyLock::new(|| re(r"\b(convert|translate|encode|write|turn|transform|express|put)\b"));
    let lower = instruction.to_lowercase();
    if !lower.contains("morse") || !ASKS.is_match(&lower) || lower.contains("from morse") || lower.contains("decode") {
        return None;
    }
    let text = given_text(instruction, input)?;
    if text.contains(['.', '-']) && text.chars().filter(|c| matches!(c, '.' | '-')).count() * 2 > text.len() {
        return None;
    }
    let code = |c: char| MORSE.iter().find(|(l, _)| *l == c.to_ascii_lowercase()).map(|(_, m)| *m);
    let want: Vec<&str> = text.chars().filter_map(code).collect();
    let normalized: String = output
        .chars()
        .map(|c| match c {
            '·' | '•' | '∙' => '.',
            '−' | '–' | '—' | '_' => '-',
            c => c,
        })
        .collect();
    let got: Vec<&str> = normalized
        .split(|c: char| c.is_whitespace() || c == '/' || c == '|')
        .filter(|t| !t.is_empty() && t.chars().all(|c| matches!(c, '.' | '-')))
        .collect();
    if want.len() < 2 || got.len() * 2 < want.len() {
        return None;
    }
    // Codes for punctuation are in some tables and not others: compare the letters and digits.
    let letters: Vec<&str> = got.iter().copied().filter(|g| MORSE.iter().any(|(_, m)| m == g) || g.len() < 5).collect();
    let decoded: String =
        got.iter().map(|g| MORSE.iter().find(|(_, m)| m == g).map_or('?', |(l, _)| l.to_ascii_uppercase())).collect();
    let plain = snippet(text, 40, false);
    Some(if letters == want || got == want {
        CheckResult::pass(FlagKind::Miscalculated, format!("\"{plain}\" in Morse code: the response agrees"))
    } else {
        CheckResult::fail(
            FlagKind::Miscalculated,
            1.0,
            format!("asked for \"{plain}\" in Morse code, but the response's code reads {decoded}"),
        )
    })
}

// ---- anagrams -----------------------------------------------------------------------------------

static ANAGRAM_OF: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(?i)\b(?:create|come up with|generate|find|give|make|form|provide|write|what is|produce|think of|rearrange)\b[^.?!]*\banagrams?\b(?:\s+(?:of|for|from|using)\s+(?:the\s+word\s+)?["'“‘]?([a-z]+)["'”’]?)?"#,
    )
});

fn letters_sorted(w: &str) -> Vec<char> {
    let mut v: Vec<char> = w.chars().filter(|c| c.is_alphabetic()).flat_map(char::to_lowercase).collect();
    v.sort_unstable();
    v
}

fn anagram(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    let c = ANAGRAM_OF.captures(instruction)?;
    const NOT_A_WORD: [&str; 12] =
        ["the", "this", "that", "a", "an", "given", "following", "input", "these", "each", "it", "word"];
    let named = c.get(1).map(|w| w.as_str()).filter(|w| !NOT_A_WORD.contains(&w.to_lowercase().as_str()));
    let source = match named {
        Some(w) => w.to_string(),
        None => {
            let t = given_text(instruction, input)?;
            let t = t.trim_matches(|c: char| !c.is_alphanumeric());
            if t.split_whitespace().count() != 1 {
                return None;
            }
            t.to_string()
        }
    };
    let src = letters_sorted(&source);
    if src.len() < 3 || instruction.to_lowercase().contains("anagrams") {
        return None;
    }
    let words: Vec<&str> = output.split(|c: char| !c.is_alphabetic()).filter(|w| !w.is_empty()).collect();
    let candidates: Vec<&str> =
        words.iter().copied().filter(|w| w.len() == src.len() && !w.eq_ignore_ascii_case(&source)).collect();
    if candidates.iter().any(|w| letters_sorted(w) == src) {
        return Some(CheckResult::pass(FlagKind::Miscalculated, format!("the response has an anagram of '{source}'")));
    }
    // Judge only a short answer: a word or a sentence naming it.
    let answer = match (candidates.as_slice(), words.len()) {
        ([one], 1..=12) => *one,
        (_, 1) => words[0],
        _ => return None,
    };
    Some(CheckResult::fail(
        FlagKind::Miscalculated,
        1.0,
        format!("asked for an anagram of '{source}', but '{answer}' does not use the same letters"),
    ))
}

// ---- a tweet's length ---------------------------------------------------------------------------

/// Characters a tweet holds.
const TWEET_CHARS: usize = 280;

/// A tweet (or a Twitter bio) that does not fit in one.
fn tweet(instruction: &str, output: &str) -> Option<CheckResult> {
    static TWEET: LazyLock<Regex> = LazyLock::new(|| {
        re(
            r"(?i)\b(?:write|compose|create|generate|draft|construct|make|come up with|produce)\b[^.?!]*\b(?:an?|one|new|single)\s+((?:[a-z-]+\s+){0,3})(?:tweet|twitter (?:post|bio|profile))\b",
        )
    });
    let lower = instruction.to_lowercase();
    let c = TWEET.captures(instruction)?;
    // "an introduction to this tweet" asks for something about a tweet.
    const NOT_DESCRIBING: [&str; 12] =
        ["to", "this", "that", "the", "of", "for", "about", "on", "in", "from", "with", "and"];
    let between = c[1].to_lowercase();
    if between.split_whitespace().any(|w| NOT_DESCRIBING.contains(&w))
        || lower.contains("tweets")
        || lower.contains("thread")
    {
        return None;
    }
    let n = output.trim().chars().count();
    let detail = format!("asked for a tweet, which holds {TWEET_CHARS} characters; the response has {n}");
    Some(if n <= TWEET_CHARS {
        CheckResult::pass(FlagKind::CountMismatch, detail)
    } else {
        CheckResult::fail(FlagKind::CountMismatch, (n - TWEET_CHARS) as f32 / TWEET_CHARS as f32, detail)
    })
}

// ---- a binary string as text --------------------------------------------------------------------

/// "Convert the following binary string to text" with 8-bit groups: decode and compare.
fn binary_text(instruction: &str, input: &str, output: &str) -> Option<CheckResult> {
    let lower = instruction.to_lowercase();
    if !(lower.contains("binary") && (lower.contains("text") || lower.contains("ascii") || lower.contains("string"))) {
        return None;
    }
    if lower.contains(" to binary") || lower.contains("into binary") {
        return None;
    }
    let bits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
    if bits.len() < 8 || !bits.len().is_multiple_of(8) || !bits.chars().all(|c| c == '0' || c == '1') {
        return None;
    }
    let bytes: Vec<u8> = bits
        .as_bytes()
        .chunks(8)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap_or(""), 2))
        .collect::<Result<_, _>>()
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    if !text.chars().all(|c| c == ' ' || c.is_ascii_graphic()) {
        return None;
    }
    let norm =
        |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").trim_matches(['"', '\'', '.']).to_lowercase();
    let said = norm(output);
    let want = norm(&text);
    let n = text.len();
    if said == want || said.contains(&format!("\"{want}\"")) || said.ends_with(&format!(" {want}")) {
        return Some(CheckResult::pass(
            FlagKind::Miscalculated,
            format!("the {n}-byte binary string decodes to \"{text}\": the response agrees"),
        ));
    }
    Some(CheckResult::fail(
        FlagKind::Miscalculated,
        1.0,
        format!(
            "the {n}-byte binary string decodes to \"{}\", but the response says \"{}\"",
            snippet(&text, 40, false),
            snippet(output.trim(), 40, false)
        ),
    ))
}
