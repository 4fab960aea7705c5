//! Laying out only the visible rows of a long record in the detail pane. A record whose fields
//! hold more than [`WINDOW_FROM`] bytes is wrapped here, by character, from its start down to the
//! last row on screen, and only those rows are made safe and handed to ratatui; wrapping a 50 MB
//! field whole took seconds and gigabytes per frame.

use super::text::{sanitize_line, visible};
use ratatui::text::Line;
use unicode_width::UnicodeWidthChar;

/// Fields larger than this in all are laid out by [`window`].
pub const WINDOW_FROM: usize = 256 << 10;

/// A piece of the pane, top to bottom.
pub enum Piece<'a> {
    /// A line drawn as it is (a heading, a flag); it counts as the rows its width needs.
    Line(Line<'static>),
    /// A field's raw text: its lines wrapped at the pane's width.
    Text(&'a str),
}

/// The cells a character takes once made safe (a tab shows as four spaces, a control character
/// as one visible symbol).
fn cells(c: char) -> usize {
    match c {
        '\t' => 4,
        _ if visible(c).is_some() => 1,
        _ => c.width().unwrap_or(0),
    }
}

/// The rows `scroll .. scroll + height` of `pieces` laid out `width` cells wide. A [`Piece::Line`]
/// that starts above the window is left out whole.
pub fn window(pieces: &[Piece], width: usize, scroll: usize, height: usize) -> Vec<Line<'static>> {
    let width = width.max(1);
    let end = scroll + height;
    let mut row = 0usize;
    let mut out = Vec::with_capacity(height);
    for piece in pieces {
        if row >= end {
            break;
        }
        match piece {
            Piece::Line(l) => {
                if row >= scroll {
                    out.push(l.clone());
                }
                row += l.width().div_ceil(width).max(1);
            }
            Piece::Text(text) => {
                for raw in text.split('\n') {
                    if row >= end {
                        break;
                    }
                    let line = raw.strip_suffix('\r').unwrap_or(raw);
                    // Cut the line into rows of at most `width` cells; only rows in the window
                    // are made safe.
                    let mut start = 0;
                    let mut used = 0;
                    for (i, c) in line.char_indices() {
                        let w = cells(c);
                        if used + w > width && i > start {
                            if row >= scroll {
                                out.push(Line::raw(sanitize_line(&line[start..i])));
                            }
                            row += 1;
                            if row >= end {
                                break;
                            }
                            start = i;
                            used = 0;
                        }
                        used += w;
                    }
                    if row < end {
                        if row >= scroll {
                            out.push(Line::raw(sanitize_line(&line[start..])));
                        }
                        row += 1;
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.spans.iter().map(|s| s.content.to_string()).collect()).collect()
    }

    #[test]
    fn rows_wrap_by_width_and_only_the_window_is_made() {
        let text = "abcdefgh\nij\tk\u{1b}\n\nxyz";
        let pieces = [Piece::Line(Line::raw("─ response ")), Piece::Text(text)];
        // Width 4: the heading counts 3 rows; a tab takes 4 cells, so it gets a row of its own; the
        // escape character shows as a symbol.
        let all = plain(&window(&pieces, 4, 0, 100));
        assert_eq!(all, vec!["─ response ", "abcd", "efgh", "ij", "    ", "k␛", "", "xyz"]);
        assert_eq!(plain(&window(&pieces, 4, 4, 2)), vec!["efgh", "ij"]);
        // A line starting above the window is left out; a window past the end is empty.
        assert_eq!(plain(&window(&pieces, 4, 2, 2)), vec!["abcd"]);
        assert!(window(&pieces, 4, 50, 5).is_empty());
    }

    #[test]
    fn a_long_line_gives_just_the_rows_asked_for() {
        let big = "word ".repeat(1_000_000);
        let rows = plain(&window(&[Piece::Text(&big)], 100, 7, 40));
        assert_eq!(rows.len(), 40);
        assert!(rows.iter().all(|r| *r == "word ".repeat(20)));
    }
}
