//! A record with a 50 MB field in the TUI: one frame with the record in the detail pane, one key
//! press and its frame (scrolling the pane, moving off the record and back), and the frame with the
//! pane scrolled as far as it goes. Peak memory of the whole run is printed at the end.
//!
//! `cargo bench --bench long_record` (the file is generated: three Alpaca JSONL records, the middle
//! one's response 50 MB of prose in lines of about 1 KB).

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sift::session::{OpenOptions, Session};
use sift::tui::app::{Action, App};
use sift::tui::config::Config;
use sift::tui::render::render;
use sift::tui::update::{type_keys, update};
use std::path::Path;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FIELD_BYTES: usize = 50 << 20;

/// Writes the three records: a short one, the long one, a short one.
fn generate(path: &Path) {
    let sentence = "The committee reviewed every clause of the agreement and noted where it differed. ";
    let line: String = sentence.repeat(1024 / sentence.len()) + "\n";
    let long = line.repeat(FIELD_BYTES / line.len());
    let rows = [
        serde_json::json!({"instruction": "Say hi.", "input": "", "output": "Hi."}),
        serde_json::json!({"instruction": "Write out the minutes of every meeting.", "input": "", "output": long}),
        serde_json::json!({"instruction": "Say bye.", "input": "", "output": "Bye."}),
    ];
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(path, text).unwrap();
}

/// Draws a frame and hands its layout to `update`, as the event loop does.
fn frame(app: &mut App, t: &mut Terminal<TestBackend>) {
    let mut areas = Default::default();
    t.draw(|f| areas = render(app, f)).unwrap();
    update(app, Action::Drawn(areas));
}

/// Peak resident memory of this process (VmHWM), in MB.
fn peak_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = s.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn benches(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("long.jsonl");
    generate(&path);
    let s = Session::open(&path, &OpenOptions { format: None, state_dir: Some(tmp.path().join("state")) }).unwrap();
    let mut app = App::new(s, Config::default()).unwrap();
    update(&mut app, Action::Resize(250, 80));
    let mut t = Terminal::new(TestBackend::new(250, 80)).unwrap();
    // Indexed and flagged, as a user sees it once the background work is done.
    app.start_background();
    let t0 = Instant::now();
    while !(app.indexed && app.jobs.running.is_empty()) && t0.elapsed() < Duration::from_secs(600) {
        app.poll();
        std::thread::sleep(Duration::from_millis(5));
    }
    eprintln!("indexed and flagged in {:.1} s", t0.elapsed().as_secs_f64());
    type_keys(&mut app, ":1<enter>");
    let t0 = Instant::now();
    frame(&mut app, &mut t);
    eprintln!("first frame on the long record: {:.1} ms", t0.elapsed().as_secs_f64() * 1e3);
    assert_eq!(app.current(), Some(1));
    assert!(t.backend().buffer().content().iter().any(|c| c.symbol() == "T"), "the long record is drawn");

    let mut g = c.benchmark_group("long_record");
    g.sample_size(20);
    g.bench_function("frame_50mb_field", |b| b.iter(|| frame(&mut app, &mut t)));
    // J / K: scroll the detail pane down and back up, a frame after each key.
    let mut k = 0usize;
    g.bench_function("scroll_key_and_frame_50mb_field", |b| {
        b.iter(|| {
            type_keys(&mut app, if k.is_multiple_of(2) { "J" } else { "K" });
            k += 1;
            frame(&mut app, &mut t);
        })
    });
    // j / k: off the long record to the next one and back, a frame after each key.
    let mut k = 0usize;
    g.bench_function("move_key_and_frame_50mb_record", |b| {
        b.iter(|| {
            type_keys(&mut app, if k.is_multiple_of(2) { "j" } else { "k" });
            k += 1;
            frame(&mut app, &mut t);
        })
    });
    type_keys(&mut app, ":1<enter>");
    assert_eq!(app.current(), Some(1));
    // The deepest the pane scrolls (row 65,535): every row above the window is wrapped to find it.
    app.detail_scroll = u16::MAX;
    g.bench_function("frame_50mb_field_scrolled_to_the_deepest_row", |b| b.iter(|| frame(&mut app, &mut t)));
    g.finish();
    if let Some(mb) = peak_mb() {
        eprintln!("peak resident memory (whole run, 50 MB file included): {mb:.0} MB");
    }
}

criterion_group!(long_record, benches);
criterion_main!(long_record);
