//! Drawing the training feature from `&App`: the train / stop / quit questions, the panel (run
//! with a live loss chart, past runs, "try it") and the status-bar note.

use super::job::{Prep, PrepInfo, Speed};
use super::run::{Backend, Phase, RunView};
use super::state::{Ask, PanelView, TrainDialog};
use super::try_it::{BASE, Side, SideState, TRAINED, short_path};
use crate::duration::clock;
use crate::model::StopReason;
use crate::train::run_folder::RunStatus;
use crate::tui::app::App;
use crate::tui::app::centered;
use crate::tui::keymap::Command;
use crate::tui::text::{ellipsize, sanitize_line, sanitize_lines};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Clear, Dataset, Gauge, GraphType, Paragraph, Wrap};

fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}

fn key(app: &App, cmd: Command) -> String {
    app.keymap.first(cmd)
}

/// `[y] stop   [n] keep training`: the question's answers with their keys.
fn answers(app: &App, yes: &str, no: &str) -> Line<'static> {
    let (y, n) = (app.keymap.label(Command::TrainYes), app.keymap.label(Command::TrainNo));
    Line::raw(format!("[{y}] {yes}   [{n}] {no}"))
}

fn num(x: Option<f64>) -> String {
    x.map_or("-".into(), |v| format!("{v:.4}"))
}

/// The status-bar note while a run or a "try it" works.
pub fn status_spans(app: &App) -> Vec<Span<'static>> {
    let t = &app.training;
    let mut out = Vec::new();
    if let Some(r) = t.run.as_ref().filter(|r| r.active()) {
        let what = match r.phase {
            Phase::Training if r.total > 0 => {
                let eta = r.remaining_s.map_or(String::new(), |s| format!(" ETA {}", clock(s)));
                format!("{:.0}%{eta}", r.fraction() * 100.0)
            }
            _ => phase_name(&r.phase).to_string(),
        };
        out.push(Span::styled(format!("⟳ train {what} "), Style::default().fg(Color::Blue)));
    }
    if t.try_it.busy() {
        out.push(Span::styled("⟳ try-it ", Style::default().fg(Color::Blue)));
    }
    out
}

fn phase_name(p: &Phase) -> &'static str {
    match p {
        Phase::Preparing => "preparing",
        Phase::BaseEval => "scoring the base model",
        Phase::Training => "training",
        Phase::FinalEval => "final evaluation",
        Phase::Finished => "finished",
        Phase::Cancelled { .. } => "stopped",
        Phase::Failed(_) => "failed",
    }
}

/// The open training question, centred over `area`.
pub fn render_ask(app: &App, f: &mut Frame, area: Rect) {
    let Some(ask) = &app.training.ask else { return };
    let running_external = matches!(&app.training.run, Some(r) if matches!(r.backend, Backend::External { .. }));
    let (title, lines): (&str, Vec<Line>) = match ask {
        Ask::Train(d) => (" train ", train_lines(app, d)),
        Ask::Stop if running_external => (
            " stop training ",
            vec![
                Line::raw("Stop the external trainer?"),
                Line::raw("Its process group gets SIGTERM (SIGKILL after 5 s)."),
                Line::raw(""),
                answers(app, "stop", "keep training"),
            ],
        ),
        Ask::Stop => (
            " stop training ",
            vec![
                Line::raw("Stop the run after the current step?"),
                Line::raw("The last completed step is kept in checkpoint-last;"),
                Line::raw("`sift train --resume --out FOLDER` continues it."),
                Line::raw(""),
                answers(app, "stop", "keep training"),
            ],
        ),
        Ask::Quit if running_external => (
            " training is running ",
            vec![
                Line::raw("The external trainer keeps running after sift quits."),
                Line::raw(""),
                answers(app, "quit", "stay"),
            ],
        ),
        Ask::Quit => (
            " training is running ",
            vec![
                Line::raw("Quitting stops the run after the current step"),
                Line::raw("(its checkpoint is kept)."),
                Line::raw(""),
                answers(app, "stop it and quit", "stay"),
            ],
        ),
    };
    let w = lines.iter().map(Line::width).max().unwrap_or(20) as u16 + 4;
    let r = centered(area, w.clamp(30, 90), lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    let block = Block::default().borders(Borders::ALL).title(title).border_style(Style::default().fg(Color::Yellow));
    f.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), r);
}

fn row(label: &str, value: String) -> Line<'static> {
    Line::from(vec![Span::styled(format!("{label:<12} "), Style::default().fg(Color::Cyan)), Span::raw(value)])
}

fn train_lines(app: &App, d: &TrainDialog) -> Vec<Line<'static>> {
    let o = &app.training.options;
    let km = &app.keymap;
    let (start, switch, cancel) =
        (km.label(Command::TrainStart), km.label(Command::TrainSwitch), km.label(Command::TrainCancel));
    let mut lines = vec![Line::styled(format!("Train on {}", d.label), Style::default().add_modifier(Modifier::BOLD))];
    let other = o.external.as_ref().map(|e| e.backend.name());
    if let (true, Some(ext)) = (d.external, &o.external) {
        let how = match ext.submit {
            Some(_) => "submitted: cancel it in the scheduler".to_string(),
            None => format!("local: {} stops it", key(app, Command::TrainStop)),
        };
        lines.push(row("trainer", format!("{} (external)", ext.backend.name())));
        lines.push(row("records", format!("{} (the trainer tokenizes them)", d.records)));
        lines.push(row("base model", sanitize_line(&ext.base_model)));
        lines.push(row("command", format!("{} ({how})", sanitize_line(&ext.command_line()))));
        lines.push(row("estimate", "the trainer reports steps and time once it runs".into()));
        lines.push(Line::raw(""));
        lines.push(Line::raw(format!("[{start}] start   [{switch}] built-in trainer instead   [{cancel}] cancel")));
        return lines;
    }
    lines.push(row("trainer", "built-in (sift)".into()));
    let base = |info: Option<&PrepInfo>| match (info, &o.base) {
        (Some(i), _) => short_path(&i.base_dir),
        (None, Some(b)) => short_path(b),
        (None, None) => "the default model".into(),
    };
    match &d.prep {
        Prep::Pending => {
            lines.push(row("records", d.records.to_string()));
            lines.push(row("base model", base(None)));
            lines.push(row("tokens", "counting (splitting and tokenizing)…".into()));
        }
        Prep::Failed(e) => {
            lines.push(row("records", d.records.to_string()));
            lines.push(row("base model", base(None)));
            lines.push(Line::styled(format!("cannot train: {}", sanitize_line(e)), Style::default().fg(Color::Red)));
            lines.push(Line::raw(""));
            lines.push(Line::raw(format!("[{cancel}] close")));
            return lines;
        }
        Prep::Ready(i) => {
            let skipped = if i.skipped > 0 { format!(" · {} skipped", i.skipped) } else { String::new() };
            lines.push(row("records", format!("{} train · {} held out{skipped}", i.train_examples, i.held_out)));
            lines.push(row("base model", base(Some(i))));
            lines.push(row("tokens", format!("{} response tokens per epoch", i.response_tokens)));
            let h = &o.hyper;
            let len = h.max_steps.map_or(format!("{} epochs", h.epochs), |m| format!("max_steps {m}"));
            lines.push(row("schedule", format!("{} steps ({len}) · lr {:e} · batch {}", i.steps, h.lr, h.batch)));
        }
    }
    let est = match (&d.prep, d.speed.tokens_per_s()) {
        (Prep::Ready(i), Some(tps)) => format!("≈ {} at {tps:.0} tok/s", clock(i.estimate_s(tps))),
        (Prep::Ready(_), None) => "no estimate".into(),
        _ => "after counting".into(),
    };
    let source = match &d.speed {
        Speed::Configured(_) => "[train] tokens_per_s".to_string(),
        Speed::PastRun(_, name) => format!("median step of {name}, same base model"),
        Speed::Measuring => "timing one training step…".into(),
        Speed::Measured(_) => "one step timed just now".into(),
        Speed::Unknown(why) => why.clone(),
    };
    lines.push(row("estimate", est));
    lines.push(row("", format!("speed: {source}")));
    lines.push(Line::raw(""));
    let switch = other.map_or(String::new(), |n| format!("   [{switch}] use {n} instead"));
    lines.push(Line::raw(format!("[{start}] start{switch}   [{cancel}] cancel")));
    lines
}

/// The training panel (in place of the detail pane).
pub fn render_panel(app: &App, f: &mut Frame, area: Rect) {
    let Some(view) = app.training.panel else { return };
    let name = match view {
        PanelView::Run => "run",
        PanelView::Runs => "past runs",
        PanelView::Try => "try it",
    };
    let title = format!(" training · {name} · {} next view ", key(app, Command::TrainPanel));
    let block = Block::default()
        .borders(Borders::ALL)
        .title(ellipsize(&title, area.width as usize))
        .border_style(Style::default().fg(Color::Blue));
    let inner = block.inner(area);
    f.render_widget(block, area);
    match view {
        PanelView::Run => match &app.training.run {
            Some(r) => render_run(app, r, f, inner),
            None => {
                let t = format!(
                    "No run yet. {} trains on the marked records (v, V), else on the accepted ones.",
                    key(app, Command::Train)
                );
                f.render_widget(Paragraph::new(t).style(dim()).wrap(Wrap { trim: false }), inner);
            }
        },
        PanelView::Runs => render_runs(app, f, inner),
        PanelView::Try => render_try(app, f, inner),
    }
}

fn render_run(app: &App, r: &RunView, f: &mut Frame, area: Rect) {
    let backend = match &r.backend {
        Backend::BuiltIn => "built-in".to_string(),
        Backend::External { name, submitted: false } => format!("{name}, local"),
        Backend::External { name, submitted: true } => format!("{name}, submitted"),
    };
    let color = match r.phase {
        Phase::Failed(_) => Color::Red,
        Phase::Cancelled { .. } => Color::Yellow,
        Phase::Finished => Color::Green,
        _ => Color::Blue,
    };
    let head = Line::from(vec![
        Span::styled(phase_name(&r.phase), Style::default().fg(color).add_modifier(Modifier::BOLD)),
        Span::raw(format!("  {} · {} records · {backend}", sanitize_line(&r.selection), r.records)),
    ]);
    let mut metrics = vec![format!("loss {}", num(r.loss.last().map(|p| p.1)))];
    if !r.eval.is_empty() {
        metrics.push(format!("eval {}", num(r.eval.last().map(|p| p.1))));
    }
    metrics.extend(r.lr.map(|x| format!("lr {x:.2e}")));
    metrics.extend(r.grad_norm.map(|x| format!("|g| {x:.2}")));
    metrics.extend(r.tokens_per_s.map(|x| format!("{x:.0} tok/s")));
    metrics.extend(r.epoch.map(|x| format!("epoch {x:.2}")));
    let mut tail: Vec<Line> = Vec::new();
    if let Phase::Failed(e) = &r.phase {
        tail.extend(sanitize_lines(e).into_iter().take(6).map(|l| Line::styled(l, Style::default().fg(Color::Red))));
    }
    if let Phase::Cancelled { checkpoint: true } = r.phase {
        tail.push(Line::raw("checkpoint-last holds the last step: `sift train --resume --out FOLDER`"));
    }
    if let Some(rep) = &r.report {
        tail.push(Line::styled(
            format!("held-out loss (nats/token) · {} tasks, {} unseen", rep.tasks, rep.unseen_tasks.len()),
            Style::default().fg(Color::Cyan),
        ));
        for (name, h) in [("seen tasks (intra)", &rep.intra_task), ("unseen tasks (inter)", &rep.inter_task)] {
            let delta = match (h.before, h.after) {
                (Some(b), Some(a)) => format!("  ({:+.4})", a - b),
                _ => String::new(),
            };
            tail.push(Line::raw(format!(
                "  {name:<21} {:>4} ex  {} → {}{delta}",
                h.examples,
                num(h.before),
                num(h.after)
            )));
        }
    }
    tail.push(Line::from(vec![Span::styled("folder ", dim()), Span::raw(sanitize_line(&r.dir.display().to_string()))]));
    if let Some(log) = &r.log {
        tail.push(Line::from(vec![
            Span::styled("log    ", dim()),
            Span::raw(sanitize_line(&log.display().to_string())),
        ]));
    }
    let keys = if r.active() {
        format!(
            "{} stop · {} try it · {} next view",
            key(app, Command::TrainStop),
            key(app, Command::TryIt),
            key(app, Command::TrainPanel)
        )
    } else {
        format!(
            "{} try it · {} new run · {} next view",
            key(app, Command::TryIt),
            key(app, Command::Train),
            key(app, Command::TrainPanel)
        )
    };
    tail.push(Line::styled(keys, dim()));
    let tail_h = (tail.len() as u16).min(area.height.saturating_sub(3));
    let [h, g, m, chart, t] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(tail_h),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(head), h);
    let steps = if r.total > 0 { format!("step {}/{}", r.step, r.total) } else { format!("step {}", r.step) };
    let times = match (r.elapsed_s, r.remaining_s) {
        (Some(e), Some(left)) if r.active() => format!(" · {} elapsed · ETA {}", clock(e), clock(left)),
        (Some(e), _) => format!(" · {}", clock(e)),
        _ => String::new(),
    };
    let gauge = Gauge::default()
        .ratio(r.fraction())
        .label(format!("{steps}{times}"))
        .gauge_style(Style::default().fg(Color::Blue).bg(Color::Black));
    f.render_widget(gauge, g);
    f.render_widget(Paragraph::new(metrics.join("  ")), m);
    if chart.height >= 4 {
        render_chart(r, f, chart);
    }
    f.render_widget(Paragraph::new(tail).wrap(Wrap { trim: false }), t);
}

/// At most `n` points of `pts`, evenly spaced, the last kept.
fn thin(pts: &[(f64, f64)], n: usize) -> Vec<(f64, f64)> {
    if pts.len() <= n.max(2) {
        return pts.to_vec();
    }
    let stride = pts.len().div_ceil(n.max(2));
    let mut out: Vec<(f64, f64)> = pts.iter().step_by(stride).copied().collect();
    if out.last() != pts.last() {
        out.extend(pts.last());
    }
    out
}

fn render_chart(r: &RunView, f: &mut Frame, area: Rect) {
    let n = area.width as usize * 2;
    let (loss, eval) = (thin(&r.loss, n), thin(&r.eval, n));
    let all = || loss.iter().chain(&eval);
    let (lo, hi) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = ((hi - lo) * 0.05).max(0.05);
    let (lo, hi) = ((lo - pad).max(0.0), hi + pad);
    let x_max = (r.total.max(r.step).max(1)) as f64;
    let sets = vec![
        Dataset::default()
            .name("train")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::default().fg(Color::Cyan))
            .data(&loss),
        Dataset::default()
            .name("eval")
            .marker(Marker::Dot)
            .graph_type(GraphType::Scatter)
            .style(Style::default().fg(Color::Yellow))
            .data(&eval),
    ];
    let chart = Chart::new(sets)
        .x_axis(
            Axis::default()
                .title("step")
                .bounds([0.0, x_max])
                .labels(["0".to_string(), format!("{x_max:.0}")])
                .style(dim()),
        )
        .y_axis(
            Axis::default()
                .title("loss")
                .bounds([lo, hi])
                .labels([format!("{lo:.2}"), format!("{hi:.2}")])
                .style(dim()),
        )
        .legend_position(Some(ratatui::widgets::LegendPosition::TopRight));
    f.render_widget(chart, area);
}

fn render_runs(app: &App, f: &mut Frame, area: Rect) {
    let runs = match &app.training.runs {
        Ok(r) => r,
        Err(e) => {
            let p = Paragraph::new(format!("cannot list runs: {}", sanitize_line(e)))
                .style(Style::default().fg(Color::Red));
            return f.render_widget(p.wrap(Wrap { trim: false }), area);
        }
    };
    let dirs = app.training.options.run_folders().unwrap_or_default();
    let dirs: Vec<String> = dirs.iter().map(|d| sanitize_line(&d.display().to_string())).collect();
    let head = format!("{} runs in {} (grey: not finished)", runs.len(), dirs.join(" and "));
    let columns = format!(
        "{:<16} {:<8} {:<8} {:<10} {:>5} {:>9} {:>6} {:>6} folder",
        "date (UTC)", "trainer", "status", "selection", "recs", "steps", "loss", "eval"
    );
    let mut lines = vec![Line::styled(head, dim()), Line::styled(columns, Style::default().fg(Color::Cyan))];
    for r in runs {
        let loss = |x: Option<f64>| x.map_or("-".into(), |x| format!("{x:.3}"));
        let steps = if r.max_steps > 0 { format!("{}/{}", r.steps, r.max_steps) } else { r.steps.to_string() };
        let text = format!(
            "{:<16} {:<8} {:<8} {:<10} {:>5} {:>9} {:>6} {:>6} {}",
            r.date,
            ellipsize(&sanitize_line(&r.trainer), 8),
            r.status.name(),
            ellipsize(&sanitize_line(&r.selection), 10),
            r.records,
            steps,
            loss(r.final_loss),
            loss(r.eval_loss),
            sanitize_line(&r.name)
        );
        lines.push(match r.status {
            RunStatus::Finished => Line::raw(text),
            RunStatus::Failed => Line::styled(text, Style::default().fg(Color::Red)),
            _ => Line::styled(text, dim()),
        });
    }
    if runs.is_empty() {
        lines.push(Line::styled(format!("none yet: {} trains one", key(app, Command::Train)), dim()));
    }
    f.render_widget(Paragraph::new(lines).scroll((app.detail_scroll, 0)), area);
}

fn side_title(s: &Side) -> String {
    let state = match &s.state {
        SideState::Waiting => "waiting".to_string(),
        SideState::Loading => "loading".into(),
        SideState::Generating => "generating…".into(),
        SideState::Done(StopReason::Eos) => "done".into(),
        SideState::Done(StopReason::MaxTokens) => "token limit".into(),
        SideState::Done(StopReason::ContextFull) => "context full".into(),
        SideState::Done(StopReason::Cancelled) => "stopped".into(),
        SideState::Failed(_) => "failed".into(),
        SideState::Missing(_) => "none".into(),
    };
    format!(" {} · {state} ", sanitize_line(&s.label))
}

fn side_text(s: &Side) -> (String, Style) {
    match &s.state {
        SideState::Failed(e) => (e.clone(), Style::default().fg(Color::Red)),
        SideState::Missing(why) => (why.clone(), dim()),
        _ => (s.text.clone(), Style::default()),
    }
}

fn render_try(app: &App, f: &mut Frame, area: Rect) {
    let t = &app.training.try_it;
    let Some(pos) = t.record else {
        let msg = format!(
            "{} asks the trained model (latest run or checkpoint) and the base model to answer the record under the cursor.",
            key(app, Command::TryIt)
        );
        return f.render_widget(Paragraph::new(msg).style(dim()).wrap(Wrap { trim: false }), area);
    };
    let mut prompt = format!("#{pos} {}", t.instruction);
    if !t.input.is_empty() {
        prompt.push_str(&format!(" · input: {}", t.input));
    }
    let [head, body] = Layout::vertical([Constraint::Length(2.min(area.height)), Constraint::Min(0)]).areas(area);
    f.render_widget(
        Paragraph::new(sanitize_lines(&prompt).join(" "))
            .style(Style::default().fg(Color::Cyan))
            .wrap(Wrap { trim: true }),
        head,
    );
    let cols: Vec<(String, (String, Style))> = vec![
        (" dataset response ".into(), (t.reference.clone(), Style::default())),
        (side_title(&t.sides[TRAINED]), side_text(&t.sides[TRAINED])),
        (side_title(&t.sides[BASE]), side_text(&t.sides[BASE])),
    ];
    let areas: Vec<Rect> = if body.width >= 60 {
        Layout::horizontal([Constraint::Ratio(1, 3); 3]).split(body).to_vec()
    } else {
        Layout::vertical([Constraint::Ratio(1, 3); 3]).split(body).to_vec()
    };
    for ((title, (text, style)), a) in cols.into_iter().zip(areas) {
        let block =
            Block::default().borders(Borders::TOP).title(ellipsize(&title, a.width as usize)).border_style(dim());
        let lines: Vec<Line> = sanitize_lines(&text).into_iter().map(|l| Line::styled(l, style)).collect();
        f.render_widget(
            Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).scroll((app.detail_scroll, 0)),
            a,
        );
    }
}
