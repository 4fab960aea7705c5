//! `sift suggest`: fit the suggestion model to the decisions saved so far and write
//! `{index, suggest, reasons}` for every unreviewed record.

use crate::config::ConfigFile;
use crate::dataset::RecordText;
use crate::dataset::{Format, Record};
use crate::judge::{self, EngineOptions, ModelSignals, ScoreCache};
use crate::session::{Session, Status};
use crate::suggest::{self, Evidence, Features, FitOptions, SuggestConfig};
use anyhow::{Context, Result};
use serde_json::json;
use std::io::Write;
use std::path::Path;

/// The judge's measurements of `texts` that the score cache of `model` already holds (the cache
/// `sift score` and the TUI fill); nothing is scored here. None where not cached, or when the
/// model cannot be loaded (then with a note on stderr).
pub fn cached_signals(texts: &[RecordText], model: Option<&Path>) -> Vec<Option<ModelSignals>> {
    let none = || vec![None; texts.len()];
    let Some(dir) = crate::paths::cache_dir() else { return none() };
    let engine = match judge::load_engine(model, crate::prompt::DEFAULT_TEMPLATE, EngineOptions::default()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("sift: no judge scores used ({e:#})");
            return none();
        }
    };
    let cache = ScoreCache::open(&dir, &engine.cache_key());
    texts.iter().map(|t| cache.get(judge::content_hash(t.instruction, t.input, t.output)).cloned()).collect()
}

/// Runs `sift suggest`; returns the exit code.
pub fn run(file: &Path, format: Option<Format>, out: Option<&Path>, model: Option<&Path>) -> Result<i32> {
    let session = Session::open_read_only(file, format)?;
    let ds = session.dataset();
    let records: Vec<Option<Record>> = (0..ds.len()).map(|p| ds.record(p)).collect();
    let empty = Record::default();
    let texts: Vec<RecordText> = records
        .iter()
        .map(|r| {
            let r = r.as_ref().unwrap_or(&empty);
            RecordText { instruction: &r.instruction, input: &r.input, output: &r.output }
        })
        .collect();
    let decisions: Vec<(usize, bool)> =
        suggest::decisions(&session).into_iter().filter(|(p, _)| records[*p].is_some()).collect();
    let rejected = decisions.iter().filter(|d| d.1).count();
    let accepted = decisions.len() - rejected;
    if rejected < suggest::MIN_EACH || accepted < suggest::MIN_EACH {
        // Said before anything is loaded.
        return Err(suggest::SuggestError::TooFew { accepted, rejected }.into());
    }
    let signals = cached_signals(&texts, model);
    let scored = signals.iter().filter(|s| s.is_some()).count();
    let config = SuggestConfig::read(&ConfigFile::load()?)?;
    let inputs = suggest::inputs(&texts, &signals, &config.judge, &config.flags);
    let features = Features::build(&inputs);
    let fitted = suggest::fit(&features, &decisions, FitOptions::default())?;
    let evidence = Evidence::new(&features, &decisions);

    let unreviewed: Vec<usize> = (0..ds.len()).filter(|&p| session.status(p) == Status::Unreviewed).collect();
    let mut w: Box<dyn Write> = match out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p.with_extension("jsonl.tmp"))
                .with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut malformed = 0;
    for &p in &unreviewed {
        let line = if records[p].is_none() {
            malformed += 1;
            json!({"index": p, "suggest": null, "reasons": ["malformed record: nothing to judge"]})
        } else {
            let s = fitted.model.predict(&features, p);
            let reasons = suggest::reasons::explain(&fitted.model, &features, &evidence, p, &inputs[p]);
            json!({"index": p, "suggest": (s as f64 * 1e4).round() / 1e4, "reasons": reasons})
        };
        serde_json::to_writer(&mut w, &line)?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    drop(w);
    if let Some(p) = out {
        std::fs::rename(p.with_extension("jsonl.tmp"), p).with_context(|| format!("writing {}", p.display()))?;
    }
    eprintln!(
        "sift: {} unreviewed records; {}; judge scores from the cache for {scored} of {} records{}",
        unreviewed.len(),
        fitted.summary(),
        ds.len(),
        if malformed > 0 {
            format!("; {malformed} malformed records listed with no suggestion")
        } else {
            String::new()
        }
    );
    Ok(0)
}
