//! The one place that decides how data (keys, roles, tags, file names, values) may reach a
//! terminal. Control characters, bidirectional overrides and isolates, and line/paragraph
//! separators are made visible instead of being sent raw, so a dataset can never move the cursor,
//! clear the screen, set the title or the clipboard (OSC 52), or reorder what follows it.
//!
//! CLI messages use [`visible`] (escapes such as `\u{1b}`); the TUI uses [`symbol`] (one visible
//! glyph per character) and [`tame_clusters`], which splits the grapheme clusters terminals
//! disagree on (ZWJ sequences, flags, skin tones, conjoining Hangul jamo) so that the width the
//! screen model assumes is the width the terminal draws: no stale cells.

use std::borrow::Cow;
use std::fmt::Write;
use unicode_segmentation::UnicodeSegmentation;

use crate::dataset::json::surrogate_of;

/// How a lone surrogate escape kept in the text (see [`crate::dataset::json::decode_string`]) is
/// shown: its escape, marked, e.g. `⚠\ud800`.
pub fn surrogate_mark(c: char) -> String {
    surrogate_of(c).map_or_else(|| c.to_string(), |u| format!("⚠\\u{u:04x}"))
}

/// Whether `c` must not reach a terminal as it is.
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        // Bidirectional embeddings, overrides, isolates and marks reorder what follows them.
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}'
        // Line and paragraph separators break lines on some terminals.
        | '\u{2028}' | '\u{2029}')
}

/// `s` with every unsafe character written as an escape (`\n`, `\t`, `\r`, `\u{1b}`, `\u{202e}`,
/// and `\\` for a backslash before one of them is not needed: escapes are unambiguous in messages).
/// Borrowed when nothing needed escaping.
pub fn visible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe(c) || surrogate_of(c).is_some()) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if surrogate_of(c).is_some() => out.push_str(&surrogate_mark(c)),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Multi-line text (a report sift wrote) with each line's data made safe; the line breaks stay.
pub fn visible_lines(s: &str) -> String {
    s.split('\n').map(visible).collect::<Vec<_>>().join("\n")
}

/// JSON text (serde_json output) with the characters serde_json leaves raw in strings (DEL, C1
/// controls, bidi controls, U+2028/9) written as `\uXXXX` escapes: the same JSON value, safe to print.
pub fn json(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            // Newlines and indentation between tokens are serde_json's own; in strings it escapes them.
            '\n' | '\t' | '\r' => out.push(c),
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A path made safe for a message.
pub fn path(p: &std::path::Path) -> String {
    visible(&p.to_string_lossy()).into_owned()
}

/// The one-glyph stand-in the TUI shows for an unsafe character (None for safe ones and tab,
/// which the caller expands).
pub fn symbol(c: char) -> Option<char> {
    match c {
        '\t' => None,
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32),
        '\u{7f}' => Some('␡'),
        '\u{2028}' | '\u{2029}' => Some('↵'),
        c if is_unsafe(c) => Some('⍰'),
        _ => None,
    }
}

fn is_regional(c: char) -> bool {
    ('\u{1f1e6}'..='\u{1f1ff}').contains(&c)
}

/// Characters that only shape their neighbours and draw nothing on their own.
fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200d}' | '\u{1f3fb}'..='\u{1f3ff}' | '\u{e0020}'..='\u{e007f}' | '\u{20e3}')
}

fn is_selector(c: char) -> bool {
    matches!(c, '\u{fe00}'..='\u{fe0f}')
}

fn is_jamo(c: char) -> bool {
    matches!(c, '\u{1100}'..='\u{11ff}' | '\u{a960}'..='\u{a97f}' | '\u{d7b0}'..='\u{d7ff}')
}

/// A cluster whose width terminals disagree on.
fn is_ambiguous_cluster(g: &str) -> bool {
    let mut chars = g.chars();
    chars.next();
    chars.next().is_some() && g.chars().any(|c| is_regional(c) || is_joiner(c) || is_selector(c) || is_jamo(c))
}

/// Composes a conjoining jamo sequence into its precomposed syllable (the same text in NFC).
fn compose_hangul(g: &str) -> Option<char> {
    let cs: Vec<char> = g.chars().collect();
    let (l, v, t) = match cs.as_slice() {
        [l, v] => (*l, *v, None),
        [l, v, t] => (*l, *v, Some(*t)),
        _ => return None,
    };
    let l = (l as u32).checked_sub(0x1100).filter(|&x| x < 19)?;
    let v = (v as u32).checked_sub(0x1161).filter(|&x| x < 21)?;
    let t = match t {
        None => 0,
        Some(t) => (t as u32).checked_sub(0x11a7).filter(|&x| (1..28).contains(&x))?,
    };
    char::from_u32(0xac00 + (l * 21 + v) * 28 + t)
}

/// `s` with lone surrogates shown as their marked escape, and the clusters terminals disagree on rewritten so each drawn unit has one agreed width:
/// Hangul jamo sequences are composed (same text, NFC), flags become `[US]`, variation selectors
/// are dropped (presentation only), and joiners, skin-tone modifiers and tag characters are shown
/// as `<200D>`-style codes between the emoji they join. Other text is borrowed unchanged.
pub fn tame_clusters(s: &str) -> Cow<'_, str> {
    if s.is_ascii() || !(s.graphemes(true).any(is_ambiguous_cluster) || s.chars().any(|c| surrogate_of(c).is_some())) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for g in s.graphemes(true) {
        if g.chars().any(|c| surrogate_of(c).is_some()) {
            g.chars().for_each(|c| out.push_str(&surrogate_mark(c)));
            continue;
        }
        if !is_ambiguous_cluster(g) {
            out.push_str(g);
            continue;
        }
        if let Some(c) = compose_hangul(g) {
            out.push(c);
            continue;
        }
        let mut flag = String::new();
        for c in g.chars() {
            if is_regional(c) {
                flag.push(char::from(b'A' + (c as u32 - 0x1f1e6) as u8));
                continue;
            }
            if !flag.is_empty() {
                let _ = write!(out, "[{}]", std::mem::take(&mut flag));
            }
            if is_selector(c) {
                continue;
            }
            if is_joiner(c) || (is_jamo(c) && !('\u{1100}'..='\u{115f}').contains(&c)) {
                let _ = write!(out, "<{:04X}>", c as u32);
            } else {
                out.push(c);
            }
        }
        if !flag.is_empty() {
            let _ = write!(out, "[{flag}]");
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use ratatui::widgets::Paragraph;
    use unicode_width::UnicodeWidthStr;

    #[test]
    fn messages_show_controls_bidi_and_separators_as_escapes() {
        let key = "x\u{1b}]52;c;aGk=\u{7}\u{202e}y\u{2028}z\u{2066}\n\u{9b}";
        let v = visible(key);
        assert_eq!(v, "x\\u{1b}]52;c;aGk=\\u{7}\\u{202e}y\\u{2028}z\\u{2066}\\n\\u{9b}");
        assert!(!v.chars().any(is_unsafe));
        assert!(matches!(visible("plain ünïcode 😀"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_output_keeps_its_value_and_loses_raw_controls() {
        let v = serde_json::json!({"role": "a\u{202e}b\u{2028}\u{85}\u{7f}\u{1b}"});
        let text = serde_json::to_string_pretty(&v).unwrap();
        let safe = json(&text);
        assert!(!safe.chars().any(|c| is_unsafe(c) && c != '\n'), "{safe:?}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&safe).unwrap(), v);
    }

    const HARD: &[&str] = &[
        "flag \u{1f1fa}\u{1f1f8}\u{1f1ef}\u{1f1f5} end",
        "family \u{1f468}\u{200d}\u{1f469}\u{200d}\u{1f467} end",
        "thumb \u{1f44d}\u{1f3fd} heart \u{2764}\u{fe0f} key 1\u{fe0f}\u{20e3}",
        "jamo \u{1100}\u{1161}\u{11a8} \u{1100}\u{1161} old \u{1100}\u{119e}",
    ];

    #[test]
    fn tamed_clusters_have_one_agreed_width() {
        for s in HARD {
            let t = tame_clusters(s);
            for g in t.graphemes(true) {
                let summed: usize = g.chars().map(|c| c.to_string().width()).sum();
                assert_eq!(g.width(), summed, "cluster {g:?} of {t:?} has a width terminals disagree on");
                assert!(!is_ambiguous_cluster(g), "{g:?} in {t:?}");
            }
        }
        assert_eq!(tame_clusters("\u{1100}\u{1161}\u{11a8}"), "각");
        assert_eq!(tame_clusters("\u{1f1fa}\u{1f1f8}"), "[US]");
        assert_eq!(tame_clusters("a\u{1f468}\u{200d}\u{1f469}b"), "a\u{1f468}<200D>\u{1f469}b");
    }

    fn screen(frames: &[&str]) -> ratatui::buffer::Buffer {
        let mut term = Terminal::new(TestBackend::new(30, 1)).unwrap();
        for text in frames {
            term.draw(|f| f.render_widget(Paragraph::new(tame_clusters(text).into_owned()), f.area())).unwrap();
        }
        term.backend().buffer().clone()
    }

    /// What a terminal shows for `buf`: each cell's symbol, skipping the cells a wide symbol covers
    /// (the screen model keeps old symbols there; they are only hidden if the terminal draws the
    /// wide symbol as wide as the model assumes, which the agreed-width test above guarantees).
    fn shown(buf: &ratatui::buffer::Buffer) -> String {
        let mut out = String::new();
        let mut covered = 0;
        for c in buf.content() {
            if covered > 0 {
                covered -= 1;
                continue;
            }
            out.push_str(c.symbol());
            covered = c.symbol().width().saturating_sub(1);
        }
        out
    }

    #[test]
    fn wide_glyphs_leave_no_stale_cells_in_the_screen_model() {
        let filler = "0123456789abcdefghijklmnopqrst";
        for s in HARD {
            assert_eq!(shown(&screen(&[s, "short"])), shown(&screen(&["short"])), "after {s:?}");
            let over = shown(&screen(&[filler, s]));
            assert_eq!(over, shown(&screen(&[s])), "over the filler: {s:?}");
            let tamed = tame_clusters(s);
            assert!(over.chars().all(|c| c == ' ' || tamed.contains(c)), "stale cell in {over:?}");
            assert!(!over.contains('\u{200d}') && !over.contains('\u{fe0f}'), "{over:?}");
        }
    }
}
