//! TUI benchmarks: one frame on a 250x80 TestBackend over the 52K Alpaca file and over a generated
//! 1,000,000-record JSONL; time from opening the 52K file to its first frame; and time from a search
//! keystroke to the first results over 52K; a review decision's key at 52K and frames drawn while
//! the suggestion model refits in the background.
//!
//! `cargo bench --bench tui` (the 52K file is `../shared/data/alpaca/alpaca_data.json`).

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use sift::dataset::Dataset;
use sift::session::{OpenOptions, Session};
use sift::tui::app::{Action, App};
use sift::tui::config::Config;
use sift::tui::render::render;
use sift::tui::update::{type_keys, update};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn alpaca() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/alpaca/alpaca_data.json")
}

fn open(path: &Path, state: &Path) -> App {
    let s = Session::open(path, &OpenOptions { format: None, state_dir: Some(state.to_path_buf()) }).unwrap();
    let mut app = App::new(s, Config::default()).unwrap();
    update(&mut app, Action::Resize(250, 80));
    app
}

fn frame(app: &App, t: &mut Terminal<TestBackend>) {
    t.draw(|f| {
        render(app, f);
    })
    .unwrap();
}

/// Writes `n` Alpaca-like JSONL records, cycling through the real ones.
fn generate(path: &Path, n: usize) {
    use std::io::Write;
    let ds = Dataset::open(&alpaca(), None).unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for k in 0..n {
        let r = ds.record(k % ds.len()).unwrap();
        let v = serde_json::json!({"instruction": format!("{} ({k})", r.instruction), "input": r.input, "output": r.output});
        writeln!(out, "{v}").unwrap();
    }
}

/// Polls until the search index is ready (and, with `all`, every job is done).
fn settle(app: &mut App, all: bool) {
    let t = Instant::now();
    while !(app.indexed && (!all || app.jobs.running.is_empty())) && t.elapsed() < Duration::from_secs(600) {
        app.poll();
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn benches(c: &mut Criterion) {
    if !alpaca().exists() {
        eprintln!("skipping: {} not found", alpaca().display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let state = tmp.path().join("state");

    let mut g = c.benchmark_group("tui");
    g.sample_size(20);
    g.bench_function("first_frame_52k", |b| {
        b.iter(|| {
            let app = open(&alpaca(), &state);
            let mut t = Terminal::new(TestBackend::new(250, 80)).unwrap();
            frame(&app, &mut t);
        })
    });

    g.bench_function("session_open_52k", |b| {
        b.iter(|| Session::open(&alpaca(), &OpenOptions { format: None, state_dir: Some(state.clone()) }).unwrap())
    });
    let mut app = open(&alpaca(), &state);
    let mut t = Terminal::new(TestBackend::new(250, 80)).unwrap();
    // The floor: ratatui clearing, diffing and drawing a 250x80 buffer with nothing in it but a border.
    g.bench_function("frame_floor_empty_block", |b| {
        b.iter(|| {
            t.draw(|f| f.render_widget(ratatui::widgets::Block::bordered(), f.area())).unwrap();
        })
    });
    g.bench_function("frame_52k", |b| b.iter(|| frame(&app, &mut t)));
    app.start_background();
    settle(&mut app, true);
    type_keys(&mut app, "G");
    g.bench_function("frame_52k_indexed_last", |b| b.iter(|| frame(&app, &mut t)));

    // The review loop at 52K: a decision key's update on the UI thread (it records the decision
    // and hands a refit of the suggestion model to a job), and frames drawn while a refit runs on
    // the other thread.
    type_keys(&mut app, "g");
    for k in 0..12 {
        type_keys(&mut app, if k % 2 == 0 { "a" } else { "x" });
    }
    settle(&mut app, true);
    g.bench_function("decision_key_52k", |b| b.iter(|| type_keys(&mut app, "a")));
    settle(&mut app, true);
    let mut during = 0u32;
    g.bench_function("frame_52k_while_refitting", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                while !app.suggest.refitting() {
                    app.poll();
                    sift::tui::suggest::refit(&mut app);
                }
                let t0 = Instant::now();
                frame(&app, &mut t);
                total += t0.elapsed();
                during += app.suggest.refitting() as u32;
                app.poll();
            }
            total
        })
    });
    eprintln!("frames drawn with a refit still running: {during}");
    settle(&mut app, true);

    // Time from a search keystroke to the first results (the worker streams them in chunks).
    type_keys(&mut app, "/");
    let queries = ["explain", "poem", "capital", "o:python", "i:list", "translate", "recipe", "summar"];
    let mut k = 0;
    g.bench_function("search_first_results_52k", |b| {
        b.iter(|| {
            app.search.query = queries[k % queries.len()].to_string();
            k += 1;
            app.run_search();
            let t0 = Instant::now();
            while app.shown() == 0 && !app.search.done && t0.elapsed() < Duration::from_secs(10) {
                app.poll();
                std::hint::spin_loop();
            }
        })
    });
    g.bench_function("search_keystroke_52k", |b| {
        b.iter(|| {
            app.search.query = queries[k % queries.len()].to_string();
            k += 1;
            app.run_search();
        })
    });
    drop(app);
    if std::env::var_os("SIFT_BENCH_SKIP_1M").is_some() {
        g.finish();
        return;
    }

    let big = tmp.path().join("big.jsonl");
    generate(&big, 1_000_000);
    let t0 = Instant::now();
    let mut app = open(&big, &tmp.path().join("state-big"));
    eprintln!("open 1M: {:.0} ms", t0.elapsed().as_secs_f64() * 1e3);
    g.bench_function("frame_1m", |b| b.iter(|| frame(&app, &mut t)));
    let t0 = Instant::now();
    app.start_background();
    eprintln!("1M: start_background (on the UI thread) {:.0} ms", t0.elapsed().as_secs_f64() * 1e3);
    type_keys(&mut app, "G");
    g.bench_function("frame_1m_while_indexing", |b| b.iter(|| frame(&app, &mut t)));
    settle(&mut app, false);
    eprintln!("1M: search index ready after {:.1} s", t0.elapsed().as_secs_f64());
    // Flags at 1M take minutes on 2 cores: stop them so the numbers below are the UI's own.
    app.jobs.cancel_all();
    while !app.jobs.running.is_empty() {
        app.poll();
        std::thread::sleep(Duration::from_millis(10));
    }
    type_keys(&mut app, "/");
    g.bench_function("search_first_results_1m", |b| {
        b.iter(|| {
            app.search.query = queries[k % queries.len()].to_string();
            k += 1;
            app.run_search();
            let t0 = Instant::now();
            while app.shown() == 0 && !app.search.done && t0.elapsed() < Duration::from_secs(10) {
                app.poll();
                std::hint::spin_loop();
            }
        })
    });
    g.bench_function("frame_1m_searching", |b| b.iter(|| frame(&app, &mut t)));
    g.finish();
}

criterion_group!(tui, benches);
criterion_main!(tui);
