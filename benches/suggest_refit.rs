//! One refit of the suggestion model at Alpaca scale (52,002 records, 2 cores here): fit to the
//! decisions, 5-fold cross-validated AUROC, and P(reject) for every record. The features are timed
//! separately: the TUI's refit job builds them too (see `tui/suggest.rs`), so its refit takes
//! features + refit.
//!
//! `cargo bench --bench suggest_refit -- [--runs N]`

#[path = "support/mod.rs"]
mod support;

use sift::dataset::RecordText;
use sift::dataset::{Dataset, Record};
use sift::judge::JudgeConfig;
use sift::quality::heuristics::FlagConfig;
use sift::suggest::{self, Features, FitOptions};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    sift::model::tune_allocator();
    sift::model::init_threads();
    let runs: usize = support::arg("--runs").map_or(5, |s| s.parse().unwrap());
    let ds = Dataset::open(&support::alpaca_path(), None).unwrap();
    let recs: Vec<Record> = (0..ds.len()).map(|p| ds.record(p).unwrap_or_default()).collect();
    let texts: Vec<RecordText> =
        recs.iter().map(|r| RecordText { instruction: &r.instruction, input: &r.input, output: &r.output }).collect();
    let t = Instant::now();
    let inputs = suggest::inputs(&texts, &vec![None; texts.len()], &JudgeConfig::default(), &FlagConfig::default());
    let flags_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let f = Features::build(&inputs);
    println!(
        "{} records: model-free flags {:.2} s, features {:.2} s (once per dataset)",
        f.len(),
        flags_s,
        t.elapsed().as_secs_f64()
    );
    // The annotator: rejects flagged records and every 4th other one (the labels only steer the
    // fit's path; the cost is the same for any labels).
    let reject = |p: usize, k: usize| !inputs[p].flags.is_empty() || k.is_multiple_of(4);
    for n in [25, 200, 1000, 5000, 52002] {
        let step = (ds.len() / n).max(1);
        let decisions: Vec<(usize, bool)> = (0..n).map(|k| (k * step, reject(k * step, k))).collect();
        let (mut fit_s, mut pred_s) = (Vec::new(), Vec::new());
        let mut cv = None;
        for _ in 0..runs {
            let t = Instant::now();
            let fitted = suggest::fit(&f, &decisions, FitOptions::default()).unwrap();
            fit_s.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let s = fitted.model.predict_all(&f);
            pred_s.push(t.elapsed().as_secs_f64());
            assert_eq!(s.len(), f.len());
            cv = fitted.cv_auroc;
        }
        let (a, b) = (median(fit_s), median(pred_s));
        println!(
            "{n:>6} decisions: refit {:.0} ms = fit + CV {:.0} ms + predict {:.0} ms (median of {runs}; CV AUROC {:.3})",
            1e3 * (a + b),
            1e3 * a,
            1e3 * b,
            cv.unwrap_or(f64::NAN)
        );
    }
}
