//! Making dataset text safe and readable on a terminal: control characters and escape sequences are
//! shown as visible symbols, never sent to the terminal.

/// The visible stand-in for a character that must not reach the terminal, if it is one (the
/// rule lives in [`crate::terminal_text`]).
pub fn visible(c: char) -> Option<char> {
    crate::terminal_text::symbol(c)
}

/// One line of text made safe: tabs become spaces, control characters visible symbols.
pub fn sanitize_line(s: &str) -> String {
    let s = crate::terminal_text::tame_clusters(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push_str("    "),
            '\n' => out.push('↵'),
            '\r' => out.push('␍'),
            _ => out.push(visible(c).unwrap_or(c)),
        }
    }
    out
}

/// Text made safe, keeping its line breaks (`\r\n` counts as one break).
pub fn sanitize_lines(s: &str) -> Vec<String> {
    s.split('\n').map(|l| sanitize_line(l.strip_suffix('\r').unwrap_or(l))).collect()
}

/// The first `max` characters of the first non-empty line, sanitized (for list previews).
pub fn preview(s: &str, max: usize) -> String {
    let first = s.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim_start();
    let first = crate::terminal_text::tame_clusters(first);
    let mut out = String::new();
    for (n, c) in first.chars().enumerate() {
        if n >= max {
            break;
        }
        match c {
            '\t' => out.push(' '),
            _ => out.push(visible(c).unwrap_or(c)),
        }
    }
    out
}

/// Shortens `s` to at most `max` characters with an ellipsis.
pub fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A progress bar `width` cells wide, in eighths: `███▌░░░░`.
pub fn progress_bar(done: usize, total: usize, width: usize) -> String {
    const PARTS: [char; 8] = [' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
    let eighths = (done.min(total) * width * 8).checked_div(total).unwrap_or(0);
    let mut out = "█".repeat(eighths / 8);
    if eighths / 8 < width && !eighths.is_multiple_of(8) {
        out.push(PARTS[eighths % 8]);
    }
    while out.chars().count() < width {
        out.push('░');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_become_visible() {
        assert_eq!(sanitize_line("a\u{1b}[31mred\u{7}"), "a␛[31mred␇");
        assert_eq!(sanitize_line("x\ty\u{9b}z\u{202e}"), "x    y⍰z⍰");
        assert_eq!(sanitize_lines("a\r\nb"), vec!["a", "b"]);
        assert_eq!(preview("\n\n  hello\u{1b}world\nnext", 7), "hello␛w");
        assert!(sanitize_line("\u{0}\u{1f}\u{7f}").chars().all(|c| !c.is_control()));
    }

    #[test]
    fn bars() {
        assert_eq!(progress_bar(0, 10, 4), "░░░░");
        assert_eq!(progress_bar(5, 10, 4), "██░░");
        assert_eq!(progress_bar(9, 16, 2), "█▏");
        assert_eq!(progress_bar(3, 0, 3), "░░░");
        assert_eq!(progress_bar(12, 10, 2), "██");
    }
}
