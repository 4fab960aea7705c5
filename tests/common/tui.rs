//! Helpers for the whole-app TUI tests: opening an app, driving it with keys until its background
//! work settles, and drawing it on a TestBackend.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sift::session::{OpenOptions, Session};
use sift::tui::app::{Action, App};
use sift::tui::config::Config;
use sift::tui::render::render;
use sift::tui::update::{type_keys, update};
use std::path::Path;
use std::time::{Duration, Instant};

/// `(instruction, input, output)` records as an Alpaca JSON array, pretty-printed with `indent`.
pub fn alpaca(records: &[(&str, &str, &str)], indent: &str) -> String {
    let v: Vec<serde_json::Value> =
        records.iter().map(|(i, n, o)| serde_json::json!({"instruction": i, "input": n, "output": o})).collect();
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(&v, &mut ser).unwrap();
    String::from_utf8(buf).unwrap()
}

/// The app over the dataset at `path` (review state in `state` beside it), sized 100x30 and drawn
/// once (as the event loop does), with no background work started.
pub fn open(path: &Path, config: Config) -> App {
    let state = path.parent().unwrap().join("state");
    let s = Session::open(path, &OpenOptions { format: None, state_dir: Some(state) }).unwrap();
    let mut app = App::new(s, config).unwrap();
    screen(&mut app, 100, 30);
    app
}

/// Polls until every background job (the judge's included) is done. The deadline turns a hang
/// into a failure: 20 s, or 600 s where a judge model is set (it can take minutes on a CPU).
pub fn settle(app: &mut App) {
    let limit = Duration::from_secs(if app.judge.model_dir.is_some() { 600 } else { 20 });
    let t = Instant::now();
    while t.elapsed() < limit {
        app.poll();
        let searching = app.search.matched.is_some() && !app.search.done;
        if app.jobs.running.is_empty() && app.indexed && !searching && app.judge.pending.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("background work did not finish");
}

/// Types `k` (in [`type_keys`] notation) and settles.
pub fn keys(app: &mut App, k: &str) {
    type_keys(app, k);
    settle(app);
}

/// Draws the app at `w`x`h` and hands the layout drawn to `update`, as the event loop does.
pub fn screen(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    update(app, Action::Resize(w, h));
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    let mut areas = Default::default();
    t.draw(|f| areas = render(app, f)).unwrap();
    update(app, Action::Drawn(areas));
    t
}

/// The text of the screen, row by row, trailing spaces trimmed.
pub fn text(t: &Terminal<TestBackend>) -> String {
    let b = t.backend().buffer();
    let w = b.area.width as usize;
    let cells: Vec<&str> = b.content().iter().map(|c| c.symbol()).collect();
    cells.chunks(w).map(|r| r.concat().trim_end().to_string()).collect::<Vec<_>>().join("\n")
}
