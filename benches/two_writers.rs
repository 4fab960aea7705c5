//! Never lose a change, under stress (issue 20): 100 random interleavings of two real `sift batch`
//! processes on one dataset (start order and delay, pace, `--wait` or not, saves, a kill -9 in a
//! quarter of them), then 100 kill -9 trials of one writer. Prints acknowledged and lost changes;
//! fails when any acknowledged change is lost. `cargo bench --bench two_writers` (release).

#[path = "../tests/common/two_writers.rs"]
mod two_writers;

use std::path::Path;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("two_writers: benchmark");
        return;
    }
    let bin = Path::new(env!("CARGO_BIN_EXE_sift"));
    let trials: u64 = std::env::var("SIFT_STRESS_TRIALS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let mut lost_any = false;
    for (name, run) in [
        ("two writers", two_writers::trial as fn(&Path, &Path, u64) -> two_writers::Trial),
        ("kill -9", two_writers::kill_trial),
    ] {
        let started = std::time::Instant::now();
        let (mut acked, mut lost, mut refused, mut killed) = (0, 0, 0, 0);
        for seed in 0..trials {
            let dir = tempfile::tempdir().unwrap();
            let t = run(bin, dir.path(), 1000 + seed);
            if !t.lost.is_empty() {
                eprintln!("{name} seed {}: lost {:?}", 1000 + seed, t.lost);
            }
            acked += t.acked;
            lost += t.lost.len();
            refused += t.refused;
            killed += usize::from(t.killed);
        }
        println!(
            "{name}: {trials} trials, {acked} acknowledged changes, {lost} lost; {refused} writers refused (exit 2), \
             {killed} trials with a kill -9; {:.1} s",
            started.elapsed().as_secs_f64()
        );
        lost_any |= lost > 0;
    }
    if lost_any {
        std::process::exit(1);
    }
}
