//! A histogram of one numeric signal over the records shown, under the detail pane, with the
//! focused record's bin marked. Wide-ranging positive signals (perplexity) get log-spaced bins.

use super::app::App;
use super::score_view::value_text;
use super::text::ellipsize;
use crate::judge::Signal;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

/// Records looked at per frame at most: larger lists are sampled evenly, so a frame costs the same
/// at any size.
const SAMPLE: usize = 65536;

/// The signal the histogram shows.
pub fn signal(app: &App) -> Option<Signal> {
    let has = |s: &Signal| app.signals.has(*s);
    app.histogram
        .signal
        .filter(has)
        .or_else(|| app.sort.key.filter(has))
        .or_else(|| [Signal::HEADLINE, Signal::Len].into_iter().find(has))
}

/// Counts of values in equal-width (or log-spaced) bins.
#[derive(Clone, Debug, PartialEq)]
pub struct Histogram {
    pub counts: Vec<usize>,
    pub lo: f32,
    pub hi: f32,
    pub log: bool,
}

impl Histogram {
    /// The histogram of the finite `values` in `bins` bins (None when there are none).
    pub fn new(values: &[f32], bins: usize) -> Option<Histogram> {
        let finite = || values.iter().copied().filter(|v| v.is_finite());
        let lo = finite().reduce(f32::min)?;
        let hi = finite().reduce(f32::max)?;
        let log = lo > 0.0 && hi / lo >= 100.0;
        let mut h = Histogram { counts: vec![0; bins.max(1)], lo, hi, log };
        for v in finite() {
            let b = h.bin(v).expect("finite");
            h.counts[b] += 1;
        }
        Some(h)
    }

    /// The bin of a value (values outside the range go to the end bins).
    pub fn bin(&self, v: f32) -> Option<usize> {
        if !v.is_finite() {
            return None;
        }
        let n = self.counts.len();
        let t = if self.hi <= self.lo {
            0.5
        } else if self.log {
            (v.max(self.lo).ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        Some(((t.clamp(0.0, 1.0) * n as f32) as usize).min(n - 1))
    }
}

/// Splits the detail area: the histogram takes the bottom when it is on and there is room.
pub fn split(app: &App, area: Rect) -> (Rect, Option<Rect>) {
    if !app.histogram.shown || area.height < 12 || area.width < 24 || signal(app).is_none() {
        return (area, None);
    }
    let h = (area.height / 2).min(9);
    let top = Rect { height: area.height - h, ..area };
    (top, Some(Rect { y: area.y + top.height, height: h, ..area }))
}

/// Draws the histogram panel.
pub fn render(app: &App, f: &mut Frame, area: Rect) {
    let Some(name) = signal(app) else { return };
    let ds = app.session.dataset();
    let values: Vec<f32> = match app.signals.numeric.get(&name) {
        Some(m) => {
            let n = app.shown();
            (0..n)
                .step_by(n.div_ceil(SAMPLE).max(1))
                .filter_map(|i| app.pos_at(i).and_then(|p| ds.entry(p)))
                .filter_map(|e| m.get(&e.id).copied())
                .collect()
        }
        None => Vec::new(),
    };
    let focus = app.current_id().and_then(|id| app.signals.value(name, id));
    let inner = Block::default().borders(Borders::ALL).inner(area);
    // About two bins per sqrt(n), each a few columns wide.
    let bins = ((values.len() as f64).sqrt() * 2.0).ceil() as usize;
    let bins = bins.clamp(4, 40).min(inner.width as usize).max(1);
    let cw = (inner.width as usize / bins).max(1);
    let hist = Histogram::new(&values, bins);
    let mut title = format!(" {name} · {} records", values.len());
    if app.shown() > SAMPLE {
        title.push_str(" (sampled)");
    }
    if hist.as_ref().is_some_and(|h| h.log) {
        title.push_str(" · log scale");
    }
    match (focus, app.current()) {
        (Some(v), Some(p)) => title.push_str(&format!(" · ▲ #{p} {} ", value_text(v))),
        (None, Some(p)) => title.push_str(&format!(" · #{p} has no value ")),
        _ => title.push(' '),
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(Color::DarkGray))
        .title(Span::styled(ellipsize(&title, area.width as usize), Style::default().fg(Color::Blue)));
    let Some(hist) = hist else {
        let p = Paragraph::new(Line::styled("no values", Style::default().fg(Color::DarkGray)));
        f.render_widget(p.block(block), area);
        return;
    };
    let marked = focus.and_then(|v| hist.bin(v));
    let rows = inner.height.saturating_sub(1) as usize;
    let max = hist.counts.iter().copied().max().unwrap_or(1).max(1);
    // Bar heights in eighths of a row; any non-empty bin shows at least one eighth.
    let eighths: Vec<usize> = hist.counts.iter().map(|&c| (c * rows * 8).div_ceil(max)).collect();
    const BLOCKS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let mut lines: Vec<Line> = (0..rows)
        .rev()
        .map(|r| {
            let spans = eighths.iter().enumerate().map(|(b, &h)| {
                let c = BLOCKS[h.saturating_sub(r * 8).min(8)];
                let color = if Some(b) == marked { Color::Yellow } else { Color::Blue };
                // Wide bins keep a column of space between them.
                let gap = usize::from(cw >= 3);
                Span::styled(c.to_string().repeat(cw - gap) + &" ".repeat(gap), Style::default().fg(color))
            });
            Line::from(spans.collect::<Vec<_>>())
        })
        .collect();
    lines.push(axis(&hist, marked.map(|b| b * cw + cw / 2), cw * bins));
    f.render_widget(Paragraph::new(lines).block(block), area);
}

/// The bottom row: the range's ends and a marker at column `marked` (the focused record's bin).
fn axis(h: &Histogram, marked: Option<usize>, width: usize) -> Line<'static> {
    let mut cells: Vec<char> = vec![' '; width];
    let lo = value_text(h.lo);
    let hi = value_text(h.hi);
    for (i, c) in lo.chars().enumerate().take(width) {
        cells[i] = c;
    }
    let start = width.saturating_sub(hi.chars().count());
    for (i, c) in hi.chars().enumerate() {
        if let Some(cell) = cells.get_mut(start + i) {
            *cell = c;
        }
    }
    let mut spans = vec![Span::styled(String::new(), Style::default().fg(Color::DarkGray))];
    for (i, c) in cells.into_iter().enumerate() {
        if Some(i) == marked {
            spans.push(Span::styled("▲", Style::default().fg(Color::Yellow)));
            spans.push(Span::styled(String::new(), Style::default().fg(Color::DarkGray)));
        } else {
            spans.last_mut().expect("one span").content.to_mut().push(c);
        }
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_the_range() {
        let h = Histogram::new(&[0.0, 0.5, 1.0, f32::NAN, 0.26], 4).unwrap();
        assert_eq!(h.counts, vec![1, 1, 1, 1]);
        assert_eq!(h.bin(1.0), Some(3));
        assert_eq!(h.bin(-5.0), Some(0));
        assert!(!h.log);
        let p = Histogram::new(&[1.0, 5.0, 200.0, 1000.0], 3).unwrap();
        assert!(p.log);
        assert_eq!(p.counts, vec![2, 0, 2]);
        let one = Histogram::new(&[2.0, 2.0], 5).unwrap();
        assert_eq!(one.counts, vec![0, 0, 2, 0, 0]);
        assert!(Histogram::new(&[f32::NAN], 3).is_none());
        let line = axis(&h, Some(1), 10);
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "0▲       1");
    }
}
