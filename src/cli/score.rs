//! `sift score`: judge every record with a local model and write one JSON object per record.

use crate::dataset::{Dataset, Format};
use crate::judge::{self, EngineOptions, JudgeConfig, ScoreCache, ScoreEvent};
use crate::quality::heuristics::{FlagConfig, RecordText};
use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// Arguments of `sift score`.
pub struct ScoreArgs<'a> {
    pub file: &'a Path,
    pub format: Option<Format>,
    pub model: Option<PathBuf>,
    pub template: &'a str,
    pub out: &'a Path,
    pub select: Option<&'a str>,
    pub config: Option<&'a Path>,
    pub no_cache: bool,
    pub compare_tokens: usize,
    pub quiet: bool,
}

/// Parses `0-99,120,200-` into sorted, deduplicated positions below `len`.
pub fn parse_select(spec: &str, len: usize) -> Result<Vec<usize>> {
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |s: &str| s.trim().parse::<usize>().with_context(|| format!("--select: `{part}` is not N or A-B"));
        match part.split_once('-') {
            Some((a, b)) => {
                let a = num(a)?;
                let b = if b.trim().is_empty() { len.saturating_sub(1) } else { num(b)? };
                out.extend(a..=b.min(len.saturating_sub(1)));
            }
            None => out.push(num(part)?),
        }
    }
    out.retain(|&i| i < len);
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

fn fmt_secs(s: f64) -> String {
    if !s.is_finite() {
        return "?".into();
    }
    let s = s.max(0.0).round() as u64;
    if s >= 3600 { format!("{}h{:02}m", s / 3600, s / 60 % 60) } else { format!("{}m{:02}s", s / 60, s % 60) }
}

/// The judge settings and heuristic flag thresholds of a `--config` file: either a whole
/// `config.toml` (its `[judge]` and `[flags]` tables, as the TUI reads them) or the judge's tables
/// alone (`[continuation]`, `[keep]`, `[flags]` for the model flags; heuristic thresholds
/// then stay at their defaults). A file with neither is an error rather than silently the defaults.
fn config_file(p: &Path) -> Result<(JudgeConfig, FlagConfig)> {
    let text = std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
    let table: toml::Table = toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?;
    if table.contains_key("judge") {
        let c = crate::tui::config::Config::parse(&text).map_err(|e| anyhow!("parsing {}: {e}", p.display()))?;
        return Ok((c.judge, c.flags));
    }
    if !["continuation", "keep", "flags"].iter().any(|k| table.contains_key(*k)) {
        bail!(
            "{} sets no judge settings: expected a [judge] table (as in config.toml) or [continuation], [keep] or [flags]",
            p.display()
        );
    }
    let judge = toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?;
    Ok((judge, FlagConfig::default()))
}

/// Runs `sift score`; returns the exit code.
pub fn score(a: &ScoreArgs) -> Result<i32> {
    let (cfg, flag_cfg) = match a.config {
        Some(p) => config_file(p)?,
        None => {
            let c = crate::tui::config::Config::load()?;
            (c.judge, c.flags)
        }
    };
    let ds = Dataset::open(a.file, a.format)?;
    let positions = match a.select {
        Some(s) => parse_select(s, ds.len())?,
        None => (0..ds.len()).collect(),
    };
    let records: Vec<Option<crate::dataset::Record>> = (0..ds.len()).map(|p| ds.record(p)).collect();
    let empty = crate::dataset::Record::default();
    let texts: Vec<RecordText> = records
        .iter()
        .map(|r| {
            let r = r.as_ref().unwrap_or(&empty);
            RecordText { instruction: &r.instruction, input: &r.input, output: &r.output }
        })
        .collect();
    let heuristic = crate::quality::flag_dataset(&texts, &flag_cfg);

    let opts = EngineOptions { compare_tokens: a.compare_tokens, ..EngineOptions::default() };
    let engine = judge::load_engine(a.model.as_deref(), a.template, opts)?;
    let mut cache = match (a.no_cache, judge::cache_dir()) {
        (false, Some(d)) => ScoreCache::open(&d, &engine.cache_key()),
        _ => ScoreCache::disabled("caching turned off"),
    };
    if !a.quiet {
        if let Some(r) = &cache.report.rebuilt {
            eprintln!("sift: score cache rebuilt: {r}");
        }
        if cache.report.dropped > 0 {
            eprintln!("sift: score cache: dropped {} damaged entries", cache.report.dropped);
        }
    }
    // Malformed records are not scored; they keep their heuristic flags (none) and null signals.
    let selected: Vec<usize> = positions.iter().copied().filter(|&p| records[p].is_some()).collect();
    let sel_texts: Vec<RecordText> = selected.iter().map(|&p| texts[p]).collect();
    let cancel = AtomicBool::new(false);
    let quiet = a.quiet;
    let outcome = engine.score(&sel_texts, &mut cache, &cancel, &mut |e| {
        if let (false, ScoreEvent::Progress { done, total, records_per_s, eta_s }) = (quiet, e) {
            eprint!("\rscoring {done}/{total} records  {records_per_s:.1} records/s  ETA {}   ", fmt_secs(eta_s));
        }
    })?;
    if !a.quiet {
        eprintln!(
            "\rscored {} records ({} from cache) with {} [{}]                ",
            outcome.scored,
            outcome.cached,
            engine.model.dir.display(),
            engine.template.name()
        );
    }
    let mut by_pos = vec![None; ds.len()];
    for (k, s) in selected.iter().zip(outcome.signals) {
        by_pos[*k] = s;
    }
    let tmp = a.out.with_extension("jsonl.tmp");
    let mut w =
        std::io::BufWriter::new(std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?);
    let template_name = engine.template.name();
    for &p in &positions {
        let v = record_json(
            p,
            by_pos[p].as_ref(),
            &texts[p],
            &heuristic[p],
            &cfg,
            &template_name,
            engine.model.fingerprint(),
        );
        serde_json::to_writer(&mut w, &v)?;
        w.write_all(b"\n")?;
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, a.out).with_context(|| format!("writing {}", a.out.display()))?;
    if outcome.cancelled {
        bail!("scoring was cancelled");
    }
    Ok(0)
}

/// One output line: index, headline scores, flags with reasons, every other signal.
pub fn record_json(
    index: usize,
    m: Option<&judge::ModelSignals>,
    text: &RecordText,
    heuristic: &[crate::quality::heuristics::Flag],
    cfg: &JudgeConfig,
    template: &str,
    model: &str,
) -> Value {
    let a = judge::assess(m, text, heuristic, cfg);
    let names: Vec<&str> = a.flags.iter().map(|f| f.name.as_str()).collect();
    let reasons: serde_json::Map<String, Value> =
        a.flags.iter().map(|f| (f.name.clone(), Value::String(f.reason.clone()))).collect();
    let mut v = json!({
        "index": index,
        "continuation": a.signals.as_ref().map(|s| s.continuation),
        "keep": a.signals.as_ref().map(|s| s.keep),
        "ifd": a.signals.as_ref().map(|s| s.ifd),
        "ppl": a.signals.as_ref().map(|s| s.ppl),
        "flags": names,
        "reasons": reasons,
    });
    let o = v.as_object_mut().expect("object");
    if let (Some(m), Some(s)) = (m, &a.signals) {
        for (k, x) in [
            ("ifd_ppl", s.ifd_ppl),
            ("instruction_gain", s.instruction_gain),
            ("raw_fit", s.raw_fit),
            ("first_tokens_raw_fit", s.first_tokens_raw_fit),
            ("repetition", s.repetition),
            ("nll_cz", m.nll_cz),
            ("nll_cz_ifd", m.nll_cz_ifd),
            ("nll_cz_head", m.nll_cz_head),
            ("nll_z", m.nll_z),
            ("nll_y", m.nll_y),
            ("nll_raw", m.nll_raw),
            ("first_cz", m.first_cz),
            ("first_raw", m.first_raw),
        ] {
            o.insert(k.into(), json!(x));
        }
        o.insert("response_tokens".into(), json!(m.tokens));
        o.insert("truncated".into(), json!(m.truncated));
        if let Some(why) = &s.uncovered {
            o.insert("not_covered".into(), json!(why));
        }
        o.insert("cues".into(), json!(s.cues));
        o.insert("surprising".into(), json!(m.surprising));
    }
    o.insert("template".into(), json!(template));
    o.insert("model".into(), json!(model));
    v
}
