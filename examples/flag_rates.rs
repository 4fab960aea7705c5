//! Flag rates and timings of the model-free heuristics on an Alpaca-format JSON file.
//!
//! `cargo run --release --example flag_rates -- [path/to/alpaca_data.json] [kind-to-show [count]]`
//! prints, per flag kind, how many records it fires on, the time taken by the per-record flags and
//! by deduplication, and (optionally) sample reasons for one kind.

use rayon::prelude::*;
use sift::dataset::RecordText;
use sift::quality::dedup::duplicate_flags;
use sift::quality::heuristics::{FlagConfig, FlagKind, Flagger};
use std::time::Instant;

#[derive(serde::Deserialize)]
struct Alpaca {
    instruction: String,
    #[serde(default)]
    input: String,
    #[serde(default)]
    output: String,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().map_or("/work/shared/data/alpaca/alpaca_data.json", String::as_str);
    let show = args.get(1).and_then(|k| FlagKind::from_name(k));
    let show_n: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(20);
    let t0 = Instant::now();
    let records: Vec<Alpaca> = serde_json::from_slice(&std::fs::read(path)?)?;
    let load = t0.elapsed();
    // SIFT_SCALE=k repeats the file k times, copy j with " v{j}" appended to each instruction (a
    // stress test for dedup: every copy is a near duplicate of its original).
    let scale: usize = std::env::var("SIFT_SCALE").ok().and_then(|k| k.parse().ok()).unwrap_or(1);
    let instructions: Vec<String> = (0..scale)
        .flat_map(|j| {
            records.iter().map(move |r| if j == 0 { r.instruction.clone() } else { format!("{} v{j}", r.instruction) })
        })
        .collect();
    let texts: Vec<RecordText> = instructions
        .iter()
        .zip(records.iter().cycle())
        .map(|(c, r)| RecordText { instruction: c, input: &r.input, output: &r.output })
        .collect();
    let mut cfg = FlagConfig::default();
    // SIFT_ONLY=kind[,kind...] times some flag kinds alone.
    if let Ok(only) = std::env::var("SIFT_ONLY") {
        cfg.enabled = only.split(',').filter_map(FlagKind::from_name).collect();
    }
    let t1 = Instant::now();
    let flagger = Flagger::new(&cfg);
    let mut flags: Vec<_> = texts.par_iter().map(|t| flagger.flag(t)).collect();
    let per_record = t1.elapsed();
    let t2 = Instant::now();
    let dups = duplicate_flags(&texts, &cfg);
    let dedup = t2.elapsed();
    for (f, d) in flags.iter_mut().zip(dups) {
        f.extend(d);
    }
    let n = texts.len();
    println!(
        "{n} records from {path}; load {load:.2?}, per-record flags {per_record:.2?}, dedup {dedup:.2?} ({} threads)",
        rayon::current_num_threads()
    );
    for kind in FlagKind::ALL {
        let c = flags.iter().filter(|f| f.iter().any(|x| x.kind == kind)).count();
        println!("{:<20} {:>6}  {:>6.2}%", kind.name(), c, 100.0 * c as f64 / n as f64);
    }
    let any = flags.iter().filter(|f| !f.is_empty()).count();
    println!("{:<20} {:>6}  {:>6.2}%", "any", any, 100.0 * any as f64 / n as f64);
    if let Some(kind) = show {
        let hits = flags.iter().enumerate().filter_map(|(i, f)| f.iter().find(|x| x.kind == kind).map(|x| (i, x)));
        for (i, flag) in hits.take(show_n) {
            let instr: String = texts[i].instruction.chars().take(90).collect();
            println!("#{i} [{instr}] {}", flag.reason);
        }
    }
    Ok(())
}
