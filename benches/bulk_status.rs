//! Bulk review changes at Alpaca scale through the engine (`Session`), as the TUI and `sift batch`
//! make them: accept all 52,002 records, undo it, tag them all, each one journaled (fsynced)
//! undoable step; then fold the journal into the review state (`checkpoint`).
//!
//! `cargo bench --bench bulk_status -- [--runs N]`

#[path = "support/mod.rs"]
mod support;

use sift::session::{OpenOptions, Session, Status};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    sift::model::tune_allocator();
    let runs: usize = support::arg("--runs").map_or(5, |s| s.parse().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alpaca_data.json");
    std::fs::copy(support::alpaca_path(), &file).unwrap();
    let opts = OpenOptions { format: None, state_dir: Some(dir.path().join("state")) };
    let t = Instant::now();
    let mut s = Session::open(&file, &opts).unwrap();
    println!("open {} records: {:.2} s", s.dataset().len(), t.elapsed().as_secs_f64());
    let all: Vec<usize> = (0..s.dataset().len()).collect();
    let mut times: [Vec<f64>; 5] = Default::default();
    for _ in 0..runs {
        let t = Instant::now();
        assert_eq!(s.set_status(&all, Status::Accepted).unwrap(), all.len());
        times[0].push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        s.undo().unwrap().unwrap();
        times[1].push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        s.redo().unwrap().unwrap();
        times[2].push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        assert_eq!(s.add_tag(&all, "bulk").unwrap(), all.len());
        times[3].push(t.elapsed().as_secs_f64());
        let t = Instant::now();
        s.checkpoint().unwrap();
        times[4].push(t.elapsed().as_secs_f64());
        // Back to unreviewed for the next run (not timed).
        s.set_status(&all, Status::Unreviewed).unwrap();
        s.remove_tag(&all, "bulk").unwrap();
        s.checkpoint().unwrap();
    }
    for (name, v) in ["accept all", "undo", "redo", "tag all", "checkpoint"].iter().zip(times) {
        println!("{name:<11} {} records: median {:.0} ms of {runs}", all.len(), 1e3 * median(v));
    }
}
