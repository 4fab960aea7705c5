//! AUROC of the continuation score on the held-out continuation dev set (Alpaca index % 20 == 0,
//! see `sift::judge::devset`), next to two trivial baselines: -len(output) and -len(input).
//!
//! `cargo bench --bench continuation_auroc -- [--model DIR] [--template NAME] [--fit [--train N]]`
//! (model: `--model`, else `SIFT_MODEL`; without one only the baselines and text cues are reported).
//! `--fit` fits the logistic continuation weights on up to N (default 600) items of the training
//! part (index % 20 != 0), prints them as JSON for `JudgeConfig.continuation`, and reports the
//! held-out AUROC with both the default and the fitted weights. It then repeats the fit the way
//! the defaults are made (the two sentence-start cues held at their prior 1.0) and reports that
//! fit's held-out AUROC and a 4-fold cross-validated AUROC on the training items (a larger sample,
//! but of records the default model saw in pre-training). Nothing is fitted on the eval part.

#[path = "support/mod.rs"]
mod support;

use sift::judge::devset::{self, DevItem, Split, auroc};
use sift::judge::signals::{FEATURE_NAMES, SurfaceCues, continuation_features};
use sift::judge::{ContinuationWeights, Engine, EngineOptions, JudgeConfig, ModelSignals, ScoreCache, Template};
use sift::model::{LocalModel, init_threads};
use sift::quality::heuristics::RecordText;
use std::sync::atomic::AtomicBool;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn labels(items: &[DevItem]) -> Vec<bool> {
    items.iter().map(|d| d.continuation).collect()
}

fn measure(engine: &Engine, items: &[DevItem]) -> Vec<ModelSignals> {
    let texts: Vec<RecordText> =
        items.iter().map(|d| RecordText { instruction: &d.instruction, input: &d.input, output: &d.output }).collect();
    let mut cache = match sift::judge::cache_dir() {
        Some(d) => ScoreCache::open(&d, &engine.cache_key()),
        None => ScoreCache::disabled("no cache dir"),
    };
    let out = engine
        .score(&texts, &mut cache, &AtomicBool::new(false), &mut |e| {
            if let sift::judge::ScoreEvent::Progress { done, total, records_per_s, .. } = e {
                eprint!("\r  scored {done}/{total} ({records_per_s:.1}/s)   ");
            }
        })
        .unwrap();
    eprintln!();
    out.signals.into_iter().map(|s| s.expect("dev items have responses")).collect()
}

fn features(items: &[DevItem], sig: &[ModelSignals]) -> Vec<Vec<f32>> {
    items
        .iter()
        .zip(sig)
        .map(|(d, m)| continuation_features(m, &SurfaceCues::of(&d.instruction, &d.input, &d.output)).to_vec())
        .collect()
}

fn main() {
    sift::model::tune_allocator();
    let threads = init_threads();
    let all = support::alpaca();
    let dev = devset::build(&all, Split::Eval);
    let y = labels(&dev);
    let n_pos = y.iter().filter(|&&l| l).count();
    println!(
        "continuation dev set: {} items ({n_pos} continuation, {} genuine) from Alpaca index % 20 == 0",
        dev.len(),
        dev.len() - n_pos
    );
    let neg_len = |f: fn(&DevItem) -> &str| dev.iter().map(|d| -(f(d).chars().count() as f64)).collect::<Vec<_>>();
    println!("AUROC baseline -len(output): {:.3}", auroc(&neg_len(|d| &d.output), &y));
    println!("AUROC baseline -len(input):  {:.3}", auroc(&neg_len(|d| &d.input), &y));
    let paired = devset::build_paired(&all, Split::Eval);
    let py = labels(&paired);
    let pneg = |f: fn(&DevItem) -> &str| paired.iter().map(|d| -(f(d).chars().count() as f64)).collect::<Vec<_>>();
    println!(
        "paired variant (copy vs its own source record): {} items; baselines -len(output) {:.3}, -len(input) {:.3}",
        paired.len(),
        auroc(&pneg(|d| &d.output), &py),
        auroc(&pneg(|d| &d.input), &py)
    );
    // Text cues alone (model features held at zero): fitted on the training split, scored held out.
    let zero = ModelSignals {
        nll_cz: 0.0,
        nll_cz_head: 0.0,
        nll_z: 0.0,
        nll_y: 1.0,
        nll_raw: 0.0,
        first_cz: 0.0,
        first_raw: 0.0,
        tokens: 0,
        truncated: false,
        surprising: vec![],
    };
    let train_all = devset::build(&all, Split::Train);
    let surf = |items: &[DevItem]| features(items, &vec![zero.clone(); items.len()]);
    let (sb, sw) = devset::fit_logistic(&surf(&train_all), &labels(&train_all), 1e-3, 3000);
    let sw = ContinuationWeights { bias: sb, weights: sw.try_into().unwrap() };
    let dev_surf: Vec<f64> = surf(&dev).iter().map(|f| sw.score(f.as_slice().try_into().unwrap()) as f64).collect();
    println!(
        "text cues only, fitted on {} training items: AUROC {:.3}; weights {}",
        train_all.len(),
        auroc(&dev_surf, &y),
        serde_json::to_string(&sw).unwrap()
    );
    let Some(dir) = support::model_dir() else {
        println!("no model (--model DIR or SIFT_MODEL): continuation AUROC not measured");
        return;
    };
    let template = support::arg("--template").unwrap_or_else(|| "alpaca".into());
    let model = LocalModel::load(&dir).unwrap();
    let engine =
        Engine::new(model, Template::from_name(&template, Some(&dir)).unwrap(), EngineOptions::default()).unwrap();
    println!("model {} [{}], {threads} threads", dir.display(), engine.template.name());
    let sig = measure(&engine, &dev);
    let x = features(&dev, &sig);
    let cfg = JudgeConfig::default();
    let score = |w: &ContinuationWeights| {
        x.iter().map(|f| w.score(f.as_slice().try_into().unwrap()) as f64).collect::<Vec<_>>()
    };
    println!("AUROC continuation (default weights): {:.3}", auroc(&score(&cfg.continuation), &y));
    let psig = measure(&engine, &paired);
    let px = features(&paired, &psig);
    let pscore = |w: &ContinuationWeights| {
        px.iter().map(|f| w.score(f.as_slice().try_into().unwrap()) as f64).collect::<Vec<_>>()
    };
    println!(
        "AUROC continuation on the paired variant (default weights): {:.3}",
        auroc(&pscore(&cfg.continuation), &py)
    );
    for (j, name) in FEATURE_NAMES.iter().enumerate() {
        println!(
            "  single feature {name:<22} AUROC {:.3}",
            auroc(&x.iter().map(|f| f[j] as f64).collect::<Vec<_>>(), &y)
        );
    }
    let ifd: Vec<f64> = sig.iter().map(|m| (m.nll_cz_head / m.nll_y) as f64).collect();
    println!("  IFD alone                     AUROC {:.3}", auroc(&ifd, &y));
    if support::flag("--fit") {
        let n: usize = support::arg("--train").map_or(600, |s| s.parse().unwrap());
        let mut train = devset::build(&all, Split::Train);
        train.truncate(n & !1);
        println!("fitting on {} training items (index % 20 != 0)", train.len());
        let tsig = measure(&engine, &train);
        let tx = features(&train, &tsig);
        // The shipped weights on the training items: a check of them on a larger sample than the
        // held-out set, with no fitting on this model's features involved.
        let dflt: Vec<f64> =
            tx.iter().map(|r| cfg.continuation.score(r.as_slice().try_into().unwrap()) as f64).collect();
        println!(
            "AUROC continuation (default weights, the {} training items): {:.3}",
            train.len(),
            auroc(&dflt, &labels(&train))
        );
        let (bias, w) = devset::fit_logistic(&tx, &labels(&train), 1e-3, 3000);
        let fitted = ContinuationWeights { bias, weights: w.try_into().unwrap() };
        println!("fitted weights: {}", serde_json::to_string(&fitted).unwrap());
        println!("AUROC continuation (fitted on train, held-out dev): {:.3}", auroc(&score(&fitted), &y));
        println!("AUROC continuation (fitted, paired variant): {:.3}", auroc(&pscore(&fitted), &py));
        // The copies start at a sentence boundary by construction, so a free fit learns that
        // lowercase starts mean "genuine". Fit without those two cues, then give them the prior
        // weight 1.0 the defaults use (see `ContinuationWeights::default`).
        let prior =
            ["starts_lowercase", "continues_input"].map(|n| FEATURE_NAMES.iter().position(|f| *f == n).unwrap());
        let masked: Vec<Vec<f32>> = tx
            .iter()
            .map(|r| r.iter().enumerate().map(|(j, &v)| if prior.contains(&j) { 0.0 } else { v }).collect())
            .collect();
        let (bias, mut w) = devset::fit_logistic(&masked, &labels(&train), 1e-3, 3000);
        prior.iter().for_each(|&j| w[j] = 1.0);
        let held = ContinuationWeights { bias, weights: w.try_into().unwrap() };
        println!("fitted with the two sentence-start cues held at 1.0: {}", serde_json::to_string(&held).unwrap());
        println!("AUROC continuation (that fit, held-out dev): {:.3}", auroc(&score(&held), &y));
        println!("AUROC continuation (that fit, paired variant): {:.3}", auroc(&pscore(&held), &py));
        // A larger-sample check than the 58 held-out items: 4-fold cross-validation of the same
        // procedure on the training items (each fold scored by a fit on the other three).
        let ty = labels(&train);
        let mut cv = vec![0f64; train.len()];
        for fold in 0..4 {
            let pick = |keep: bool| (0..train.len()).filter(move |i| (i % 4 == fold) != keep);
            let fx: Vec<Vec<f32>> = pick(true).map(|i| masked[i].clone()).collect();
            let fy: Vec<bool> = pick(true).map(|i| ty[i]).collect();
            let (b, mut w) = devset::fit_logistic(&fx, &fy, 1e-3, 3000);
            prior.iter().for_each(|&j| w[j] = 1.0);
            let fw = ContinuationWeights { bias: b, weights: w.try_into().unwrap() };
            pick(false).for_each(|i| cv[i] = fw.score(tx[i].as_slice().try_into().unwrap()) as f64);
        }
        println!(
            "AUROC continuation (that procedure, 4-fold CV on the {} training items, seen in pre-training): {:.3}",
            train.len(),
            auroc(&cv, &ty)
        );
    }
}
