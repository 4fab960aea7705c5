//! Small text helpers shared by the heuristics and the deduplicator.

use std::borrow::Cow;
use std::collections::HashMap;

/// A regex from a pattern written in this crate (a literal, so known to be valid): the checks
/// keep theirs in `LazyLock` statics built with this.
pub(crate) fn re(pattern: &str) -> regex::Regex {
    regex::Regex::new(pattern).expect("valid regex")
}

/// Lowercase words: maximal runs of alphanumeric characters (apostrophes inside a word are dropped,
/// so "don't" and "dont" agree).
pub(crate) fn words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in s.chars() {
        if c.is_alphanumeric() {
            cur.extend(c.to_lowercase());
        } else if (c == '\'' || c == '’') && !cur.is_empty() {
            continue;
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Maximal runs of alphanumeric characters, as slices of `s` (no allocation, case kept).
pub(crate) fn word_spans(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty())
}

/// Number of [`word_spans`] in `s`.
pub(crate) fn word_count(s: &str) -> usize {
    word_spans(s).count()
}

/// Lowercased text with typographic apostrophes and quotes folded to ASCII, for phrase matching.
pub(crate) fn fold(s: &str) -> String {
    s.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            '’' | '‘' => '\'',
            '“' | '”' => '"',
            c => c,
        })
        .collect()
}

/// Whether `phrase` occurs in `hay` (both already folded) starting and ending at word boundaries.
pub(crate) fn has_phrase(hay: &str, phrase: &str) -> bool {
    if phrase.is_empty() {
        return false;
    }
    let first_alnum = phrase.chars().next().is_some_and(char::is_alphanumeric);
    let last_alnum = phrase.chars().next_back().is_some_and(char::is_alphanumeric);
    memchr::memmem::find_iter(hay.as_bytes(), phrase.as_bytes()).any(|i| {
        let before_ok = !first_alnum || !hay[..i].chars().next_back().is_some_and(char::is_alphanumeric);
        let after_ok = !last_alnum || !hay[i + phrase.len()..].chars().next().is_some_and(char::is_alphanumeric);
        before_ok && after_ok
    })
}

/// `s` folded like [`fold`], borrowing when it already is (the default phrase lists are).
pub(crate) fn folded(s: &str) -> Cow<'_, str> {
    if s.chars().any(|c| c.is_uppercase() || matches!(c, '’' | '‘' | '“' | '”')) {
        Cow::Owned(fold(s))
    } else {
        Cow::Borrowed(s)
    }
}

/// The first phrase of `phrases` found in `hay` (folded) at word boundaries, if any.
pub(crate) fn find_any<'p>(hay: &str, phrases: &'p [String]) -> Option<&'p str> {
    phrases.iter().map(String::as_str).find(|p| has_phrase(hay, &folded(p)))
}

/// The first phrase of `phrases` contained anywhere in `hay` (folded), if any.
pub(crate) fn contains_any<'p>(hay: &str, phrases: &'p [String]) -> Option<&'p str> {
    phrases.iter().map(String::as_str).find(|p| memchr::memmem::find(hay.as_bytes(), folded(p).as_bytes()).is_some())
}

/// Quote for a reason line: whitespace collapsed, at most `max` characters, with "..." marking a cut
/// at the front (`tail == true`) or at the back.
pub(crate) fn snippet(s: &str, max: usize, tail: bool) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let n = flat.chars().count();
    if n <= max {
        return flat;
    }
    if tail {
        let t: String = flat.chars().skip(n - max).collect();
        format!("...{}", t.trim_start())
    } else {
        let h: String = flat.chars().take(max).collect();
        format!("{}...", h.trim_end())
    }
}

/// Cheap test for source code (a response or input that is a program rather than prose).
pub(crate) fn looks_like_code(s: &str) -> bool {
    if s.contains("```") || s.contains("</") || s.contains("\\d") || s.contains("[0-9]") {
        return true;
    }
    const STARTS: [&str; 20] = [
        "def ",
        "import ",
        "from ",
        "class ",
        "function ",
        "#include",
        "public ",
        "private ",
        "const ",
        "let ",
        "var ",
        "select ",
        "<html",
        "<?",
        "<!doctype",
        "for (",
        "int ",
        "if (",
        "print(",
        "console.",
    ];
    let mut code_lines = 0;
    for line in s.lines() {
        let t = line.trim();
        let lower = t.to_ascii_lowercase();
        if STARTS.iter().any(|p| lower.starts_with(p))
            || t.ends_with(';')
            || t.ends_with('{')
            || t == "}"
            || t.ends_with("):")
        {
            code_lines += 1;
        }
    }
    code_lines >= 2 || (code_lines == 1 && s.lines().count() == 1 && s.contains('('))
}

/// Whether a line starts like a list item: "- ", "* ", "• ", "1. ", "2) ", "a) ".
pub(crate) fn is_list_item(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with("- ") || t.starts_with("* ") || t.starts_with('•') || t.starts_with('–') {
        return true;
    }
    let lead: String = t.chars().take_while(char::is_ascii_alphanumeric).collect();
    let rest = &t[lead.len()..];
    !lead.is_empty()
        && lead.len() <= 3
        && (lead.chars().all(|c| c.is_ascii_digit()) || lead.len() == 1)
        && (rest.starts_with('.') || rest.starts_with(')'))
}

/// A phrase list compiled for matching at word boundaries in one pass over the text: phrases are
/// indexed by their first word, so the cost grows with the text, not with the list.
#[derive(Clone, Debug, Default)]
pub(crate) struct PhraseMatcher {
    phrases: Vec<String>,
    by_first_word: HashMap<String, Vec<usize>>,
    /// Phrases that do not start with a letter or digit ("<noinput>"), searched one by one.
    other: Vec<usize>,
}

impl PhraseMatcher {
    /// Compile `lists` (folded) in order; [`find`](Self::find) reports the earliest listed match.
    pub(crate) fn new<'a>(lists: impl IntoIterator<Item = &'a [String]>) -> Self {
        let mut m = PhraseMatcher::default();
        for p in lists.into_iter().flatten() {
            let p = fold(p);
            if p.is_empty() {
                continue;
            }
            let idx = m.phrases.len();
            let first: String = p.chars().take_while(|c| c.is_alphanumeric()).collect();
            if first.is_empty() {
                m.other.push(idx);
            } else {
                m.by_first_word.entry(first).or_default().push(idx);
            }
            m.phrases.push(p);
        }
        m
    }

    /// The earliest-listed phrase occurring in `hay` (already folded) at word boundaries.
    pub(crate) fn find(&self, hay: &str) -> Option<&str> {
        let mut best: Option<usize> = self.other.iter().copied().find(|&i| {
            let p = &self.phrases[i];
            memchr::memchr(p.as_bytes()[0], hay.as_bytes()).is_some() && has_phrase(hay, p)
        });
        let mut start = None;
        for (pos, c) in hay.char_indices().chain(std::iter::once((hay.len(), ' '))) {
            match (c.is_alphanumeric(), start) {
                (true, None) => start = Some(pos),
                (false, Some(s)) => {
                    start = None;
                    let Some(cands) = self.by_first_word.get(&hay[s..pos]) else { continue };
                    for &i in cands {
                        let p = &self.phrases[i];
                        let end = s + p.len();
                        let fits = hay[s..].starts_with(p.as_str())
                            && (!p.chars().next_back().is_some_and(char::is_alphanumeric)
                                || !hay[end..].chars().next().is_some_and(char::is_alphanumeric));
                        if fits && best.is_none_or(|b| i < b) {
                            best = Some(i);
                        }
                    }
                }
                _ => {}
            }
        }
        best.map(|i| self.phrases[i].as_str())
    }
}

/// Number of elements two sorted, deduplicated slices share.
pub(crate) fn sorted_shared<T: Ord>(a: &[T], b: &[T]) -> usize {
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    shared
}

/// The main script of `text` other than Latin, by letter count, if any.
pub fn main_script(text: &str) -> Option<&'static str> {
    let mut counts: HashMap<&'static str, usize> = HashMap::new();
    for ch in text.chars().filter(|c| c.is_alphabetic() && !c.is_ascii()) {
        let script = match ch as u32 {
            0x00C0..=0x024F | 0x1E00..=0x1EFF => continue,
            0x0370..=0x03FF => "Greek",
            0x0400..=0x052F => "Cyrillic",
            0x0590..=0x05FF => "Hebrew",
            0x0600..=0x06FF | 0x0750..=0x077F => "Arabic",
            0x0900..=0x097F => "Devanagari",
            0x0E00..=0x0E7F => "Thai",
            0x3040..=0x30FF => "Japanese kana",
            0x1100..=0x11FF | 0xAC00..=0xD7AF => "Hangul",
            0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF => "Han (Chinese)",
            _ => "a non-Latin script",
        };
        *counts.entry(script).or_default() += 1;
    }
    counts.into_iter().max_by_key(|&(name, n)| (n, name)).map(|(name, _)| name)
}

/// The main script of `text` when 30% of its letters or more are in scripts other than Latin: text
/// that English-bound rules (word and sentence counts, syllables, phrase lists) and a model trained
/// on English do not read.
pub fn non_latin(text: &str) -> Option<&'static str> {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let other = text
        .chars()
        .filter(|c| c.is_alphabetic() && !c.is_ascii() && !matches!(*c as u32, 0x00C0..=0x024F | 0x1E00..=0x1EFF))
        .count();
    if letters == 0 || other * 10 < letters * 3 {
        return None;
    }
    main_script(text)
}
