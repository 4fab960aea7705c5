//! English syllable counts as a range: vowel groups, less silent endings ("-e", "-es", "-ed"), with
//! the groups that are one syllable in some words and two in others ("ea" in beach / create, "ire" in
//! fire, "ower" in flower) widening the range. A check compares against the range, so an uncertain
//! word never makes a line look wrong. [`haiku`] measures an asked-for haiku with them.

use super::CheckResult;
use crate::quality::heuristics::FlagKind;
use crate::quality::text::{re, snippet};
use regex::Regex;
use std::sync::LazyLock;

/// The fewest and most syllables `word` can have by these rules (letters other than a-z ignored).
pub(super) fn word_range(word: &str) -> (usize, usize) {
    let w: Vec<u8> = word.bytes().filter(u8::is_ascii_alphabetic).map(|b| b.to_ascii_lowercase()).collect();
    if w.is_empty() {
        return (0, 0);
    }
    let is_vowel = |i: usize| {
        let c = w[i];
        matches!(c, b'a' | b'e' | b'i' | b'o' | b'u') || (c == b'y' && i > 0 && !is_plain_vowel(w[i - 1]))
    };
    // Vowel groups as (start, end) byte ranges.
    let mut groups: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < w.len() {
        if is_vowel(i) {
            let start = i;
            while i + 1 < w.len() && is_vowel(i + 1) {
                i += 1;
            }
            groups.push((start, i + 1));
        }
        i += 1;
    }
    let mut n = groups.len();
    let mut extra = 0;
    if let Some(&(s, e)) = groups.last() {
        let tail = &w[e..];
        let single_e = e - s == 1 && w[s] == b'e';
        let before = if s > 0 { w[s - 1] } else { b'a' };
        let silent = single_e
            && n > 1
            && match tail {
                b"" => !(before == b'l' && s >= 2 && !is_plain_vowel(w[s - 2])),
                b"s" => {
                    !matches!(before, b's' | b'x' | b'z' | b'c' | b'g')
                        && !w.ends_with(b"ches")
                        && !w.ends_with(b"shes")
                }
                b"d" => !matches!(before, b't' | b'd'),
                _ => false,
            };
        if silent {
            n -= 1;
        }
    }
    for &(s, e) in &groups {
        let g = &w[s..e];
        // Groups read as one or two syllables depending on the word.
        if e - s >= 2
            && [&b"ia"[..], b"io", b"iu", b"eo", b"ua", b"uo", b"ea", b"ue", b"ie", b"oe", b"ya", b"yo", b"ao"]
                .iter()
                .any(|p| g.windows(2).any(|x| x == *p))
        {
            extra += 1;
        }
        // "fire", "hour", "flower", "player": r or w after a long vowel.
        if w.get(e) == Some(&b'r') && (g == b"ou" || (g == b"i" && w.get(e + 1) == Some(&b'e'))) {
            extra += 1;
        }
        if g == b"o" && w.get(e) == Some(&b'w') && w.get(e + 1) == Some(&b'e') {
            extra += 1;
        }
    }
    // "every", "different", "family": an unstressed middle vowel often dropped.
    let lo_drop = usize::from(n >= 3 && (w.windows(3).any(|x| x == b"ery" || x == b"ere" || x == b"ily")));
    // Endings whose count rules above get wrong in common words ("-le" after a vowel-consonant e.g.
    // "whale" is one; "-ed"/"-es" of irregular words): allow one either way for them.
    let unsure = usize::from(w.ends_with(b"le") || w.ends_with(b"es") || w.ends_with(b"ed"));
    let n = n.max(1);
    ((n - lo_drop - unsure).max(1), n + extra + unsure)
}

fn is_plain_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u')
}

/// The range of a line: the sum of its words' ranges. `None` when the line holds digits (their
/// spoken length varies).
pub(super) fn line_range(line: &str) -> Option<(usize, usize)> {
    if line.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let mut lo = 0;
    let mut hi = 0;
    for word in line.split(|c: char| !(c.is_alphabetic() || c == '\'' || c == '’')) {
        let (l, h) = word_range(word);
        lo += l;
        hi += h;
    }
    Some((lo, hi))
}

/// A haiku the instruction asks for, measured: three lines of 5, 7 and 5 syllables.
pub(super) fn haiku(instruction: &str, output: &str) -> Option<CheckResult> {
    static ASKS: LazyLock<Regex> = LazyLock::new(|| {
        re(r"\b(write|compose|create|generate|produce|make|come up with|construct|craft|pen)\b.*\bhaiku\b")
    });
    let lower = instruction.to_lowercase();
    let asks = ASKS.is_match(&lower);
    if !asks || lower.contains("haikus") || lower.contains("explain") || lower.contains("analy") {
        return None;
    }
    let mut lines: Vec<&str> = output.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    // A haiku on one line marks its line breaks with '/', else with commas or semicolons.
    let slashed = lines.len() == 1 && lines[0].contains('/');
    if lines.len() == 1 {
        let marks: &[char] = if slashed { &['/'] } else { &[',', ';'] };
        lines = lines[0].split(marks).map(str::trim).filter(|l| !l.is_empty()).collect();
    }
    // One line long enough to be the whole poem, not in three parts, is not a haiku's three lines.
    let one_line_asked = ["one-line", "one line", "single line", "single-line"].iter().any(|w| lower.contains(w));
    if output.trim().lines().count() == 1 && lines.len() != 3 && !slashed && !one_line_asked {
        let line = output.trim();
        let (lo, hi) = line_range(line)?;
        return (lo >= 12 && line.split_whitespace().count() >= 6).then(|| {
            let got = if lo == hi { format!("{lo}") } else { format!("{lo}-{hi}") };
            CheckResult::fail(
                FlagKind::CountMismatch,
                1.0,
                format!("asked for a haiku (three lines of 5, 7 and 5 syllables); the response is one line of {got}"),
            )
        });
    }
    if lines.len() != 3 {
        return None;
    }
    for (i, (line, want)) in lines.iter().zip([5, 7, 5]).enumerate() {
        let (lo, hi) = line_range(line)?;
        if !(lo <= want && want <= hi) {
            let got = if lo == hi { format!("{lo}") } else { format!("{lo}-{hi}") };
            return Some(CheckResult::fail(
                FlagKind::CountMismatch,
                (want as f32 - lo.max(want.min(hi)) as f32).abs() / want as f32,
                format!(
                    "asked for a haiku (5-7-5 syllables); line {} has {got}: \"{}\"",
                    i + 1,
                    snippet(line, 40, false)
                ),
            ));
        }
    }
    Some(CheckResult::pass(FlagKind::CountMismatch, "asked for a haiku; its lines have 5, 7 and 5 syllables"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_words_fall_inside_their_range() {
        for (word, n) in [
            ("cat", 1),
            ("breeze", 1),
            ("leaves", 1),
            ("rustle", 2),
            ("autumn", 2),
            ("trees", 1),
            ("mystery", 3),
            ("beckons", 2),
            ("blue", 1),
            ("little", 2),
            ("waited", 3),
            ("jumped", 1),
            ("wishes", 2),
            ("fire", 1),
            ("flower", 2),
            ("create", 2),
            ("beach", 1),
            ("every", 3),
            ("the", 1),
            ("silence", 2),
            ("moonlight", 2),
            ("whispering", 3),
        ] {
            let (lo, hi) = word_range(word);
            assert!(lo <= n && n <= hi, "{word}: {n} not in {lo}..={hi}");
        }
        assert_eq!(word_range("cool"), (1, 1));
        assert_eq!(word_range("air"), (1, 1));
    }

    #[test]
    fn lines_sum_their_words() {
        assert_eq!(line_range("A cool breeze in the air"), Some((6, 6)));
        assert_eq!(line_range("Autumn leaves rustle").map(|r| r.0 <= 5 && 5 <= r.1), Some(true));
        assert_eq!(line_range("7 swans"), None);
    }
}
