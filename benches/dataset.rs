//! Dataset core benchmarks (prints medians and peak memory; not a timed test):
//! open the 52K Alpaca JSON; open a generated 1,000,000-record JSONL; save after one edit.
//!
//! `cargo bench --bench dataset` (set SIFT_BENCH_RUNS to change the repetitions).

use sift::dataset::{Dataset, Field};
use sift::session::{OpenOptions, Session};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Peak resident set size of this process so far, in bytes (Linux VmHWM).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn alpaca() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/alpaca/alpaca_data.json")
}

fn runs() -> usize {
    std::env::var("SIFT_BENCH_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(7)
}

/// Writes a JSONL file of `n` Alpaca-like records, cycling through the real Alpaca records.
fn generate(path: &Path, n: usize) {
    use std::io::Write;
    let ds = Dataset::open(&alpaca(), None).unwrap();
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for k in 0..n {
        let r = ds.record(k % ds.len()).unwrap();
        let v = serde_json::json!({"instruction": r.instruction, "input": r.input, "output": r.output, "id": k});
        serde_json::to_writer(&mut w, &v).unwrap();
        w.write_all(b"\n").unwrap();
    }
}

fn child_open_1m(path: &Path) {
    let t = Instant::now();
    let ds = Dataset::open(path, None).unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(ds.len(), 1_000_000);
    println!("{secs} {}", peak_rss());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() >= 3 && args[1] == "--child-open" {
        child_open_1m(Path::new(&args[2]));
        return;
    }
    if args.iter().any(|a| a == "--list") {
        println!("dataset: bench");
        return;
    }
    let n = runs();
    // 1. Open the 52K Alpaca file (dataset only, and a full session with review state + journal).
    let path = alpaca();
    let size = std::fs::metadata(&path).unwrap().len();
    let t: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            let ds = Dataset::open(&path, None).unwrap();
            assert_eq!(ds.len(), 52_002);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    println!("open 52K alpaca ({:.1} MB): median {:.1} ms over {n} runs", size as f64 / 1e6, median(t));
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("alpaca_data.json");
    std::fs::copy(&path, &copy).unwrap();
    let t: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            let s = Session::open(&copy, &OpenOptions::default()).unwrap();
            assert_eq!(s.dataset().len(), 52_002);
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    println!("open 52K alpaca as a session (review state + journal): median {:.1} ms", median(t));
    // 2. Save after one edit.
    let mut s = Session::open(&copy, &OpenOptions::default()).unwrap();
    let t: Vec<f64> = (0..n)
        .map(|k| {
            s.set_field(k * 97, Field::Output, &format!("edited answer {k}")).unwrap();
            let t = Instant::now();
            s.save(false).unwrap();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    println!("save 52K alpaca after one edit: median {:.1} ms", median(t));
    // 3. Open a generated 1M-record JSONL, in a child process so its peak memory is its own.
    let big = tmp.path().join("1m.jsonl");
    generate(&big, 1_000_000);
    let big_size = std::fs::metadata(&big).unwrap().len();
    let exe = std::env::current_exe().unwrap();
    let mut secs = Vec::new();
    let mut peaks = Vec::new();
    for _ in 0..n.min(5) {
        let out = std::process::Command::new(&exe).arg("--child-open").arg(&big).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut it = text.split_whitespace();
        secs.push(it.next().unwrap().parse::<f64>().unwrap());
        peaks.push(it.next().unwrap().parse::<f64>().unwrap());
    }
    let peak = median(peaks);
    println!(
        "open 1M-record JSONL ({:.0} MB): median {:.2} s, peak RSS {:.0} MB = {:.2}x the file size",
        big_size as f64 / 1e6,
        median(secs),
        peak / 1e6,
        peak / big_size as f64
    );
}
