//! Noise in a field: control characters, lost bytes, mojibake, long runs of one character or word,
//! text that is mostly symbols, a dangling list number, and the "§§" separator that generation left
//! between an answer and the next prompt. Each finding says what it saw.

use super::config::FlagConfig;
use super::text::{looks_like_code, snippet, word_spans};

/// The last line of `text` when it is a bare list marker ("14.", "-") after other content: the
/// start of another item left behind by generation.
fn dangling_list_marker(text: &str) -> Option<&str> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty()).rev();
    let last = lines.next()?;
    let bare = last
        .strip_suffix(['.', ')'])
        .is_some_and(|n| !n.is_empty() && n.len() <= 3 && n.chars().all(|c| c.is_ascii_digit()))
        || matches!(last, "-" | "*" | "•");
    (bare && lines.next().is_some_and(|l| l.chars().any(char::is_alphabetic))).then_some(last)
}

/// Where `text` holds "§§" that is not a legal reference: self-instruct style generation leaves it
/// between an answer and the next prompt. "§§ 101-105" in text that speaks of sections, codes or
/// statutes is a reference; "§§" before words, or in text that never speaks of law, is junk.
fn junk_separator(text: &str) -> Option<usize> {
    let at = text.find("§§")?;
    let after = text[at + "§§".len()..].trim_start();
    const LEGAL: [&str; 10] =
        ["section", "sections", "statute", "statutes", "code", "act", "regulation", "regulations", "law", "laws"];
    let lower = text.to_lowercase();
    let legal = lower.contains("u.s.c") || lower.contains("c.f.r") || word_spans(&lower).any(|w| LEGAL.contains(&w));
    let reference = after.starts_with(|c: char| c.is_ascii_digit()) && legal;
    (!reference).then_some(at)
}

/// Characters that may repeat in long runs without being noise (rules, tables, numbers, spacing).
fn run_exempt(c: char) -> bool {
    c.is_whitespace() || c.is_ascii_digit() || "-=_*#.~`/\\|+<>:".contains(c)
}

pub(super) fn noise(field: &str, text: &str, cfg: &FlagConfig) -> Option<String> {
    if let Some(c) = text.chars().find(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r')) {
        return Some(format!("{field} contains control character U+{:04X}", c as u32));
    }
    if text.contains('\u{FFFD}') {
        return Some(format!("{field} contains the replacement character '\u{FFFD}' (lost bytes)"));
    }
    if let Some(at) = junk_separator(text) {
        return Some(format!(
            "{field} contains the junk separator \"{}\" (a generation artifact, not a section reference)",
            snippet(&text[at..], 12, false)
        ));
    }
    let (mut prev, mut run, mut best, mut best_c) = ('\0', 0usize, 0usize, ' ');
    let (mut visible, mut symbols) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        let moji = (matches!(prev, 'Ã' | 'Â') && ('\u{80}'..='\u{BF}').contains(&c))
            || (prev == 'â' && matches!(c, '€' | '„'))
            || (prev == 'ï' && c == '»');
        if moji {
            let start = i - prev.len_utf8();
            let s: String = text[start..].chars().take(3).collect();
            return Some(format!("{field} has mojibake \"{s}\" (UTF-8 read as Latin-1)"));
        }
        run = if c == prev { run + 1 } else { 1 };
        if !run_exempt(c) && run > best {
            (best, best_c) = (run, c);
        }
        if !c.is_whitespace() {
            visible += 1;
            if !c.is_alphanumeric()
                && !".,;:!?'\"()[]{}<>=+*^/\\-–—’“”%$_|".contains(c)
                && !('\u{2500}'..='\u{257F}').contains(&c)
            {
                symbols += 1;
            }
        }
        prev = c;
    }
    if field == "response"
        && let Some(marker) = dangling_list_marker(text)
    {
        return Some(format!("response ends with an empty list item \"{marker}\""));
    }
    if best > cfg.noise_max_char_run {
        return Some(format!("{field} repeats '{best_c}' {best} times in a row"));
    }
    // The longest run of one word (of two letters or more, not a number, not a song's refrain
    // syllable such as the "fa la la la la" of a carol), counted to its end.
    const REFRAIN: [&str; 12] = ["la", "na", "da", "doo", "dum", "ha", "ho", "tra", "fa", "oh", "yeah", "hey"];
    let (mut wrun, mut prev, mut best_run, mut best_word) = (0, "", 0, "");
    for w in word_spans(text) {
        wrun = if w.eq_ignore_ascii_case(prev) { wrun + 1 } else { 1 };
        prev = w;
        let refrain = REFRAIN.iter().any(|r| w.eq_ignore_ascii_case(r));
        if wrun > best_run && w.chars().count() > 1 && !w.chars().all(|c| c.is_ascii_digit()) && !refrain {
            (best_run, best_word) = (wrun, w);
        }
    }
    if best_run > cfg.noise_max_word_repeat {
        return Some(format!("{field} repeats the word \"{}\" {best_run} times in a row", best_word.to_lowercase()));
    }
    if visible >= 20 && symbols as f64 > cfg.noise_max_symbol_fraction * visible as f64 && !looks_like_code(text) {
        let pct = 100.0 * symbols as f64 / visible as f64;
        return Some(format!("{field} is {pct:.0}% symbols: \"{}\"", snippet(text, 40, false)));
    }
    None
}
