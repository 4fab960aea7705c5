//! `sift score`: judge every record with a local model and write one JSON object per record.

use crate::config::ConfigFile;
use crate::dataset::RecordText;
use crate::dataset::{Dataset, Format};
use crate::judge::{self, EngineOptions, JudgeConfig, Judgeable, ScoreCache, ScoreEvent, Signal};
use crate::quality::heuristics::FlagConfig;
use crate::quality::precision;
use anyhow::{Context, Result, bail};
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
    /// Score only slice `k` of `n` (0-based) and write a shard file.
    pub shard: Option<Shard>,
}

/// One slice of a sharded scoring job: the `k`-th of `n` contiguous runs of the selection's scoring
/// chunks (see [`Shard::slice`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl Shard {
    /// Parses `K/N` (0 <= K < N).
    pub fn parse(s: &str) -> Result<Shard, String> {
        let (k, n) = s.split_once('/').ok_or_else(|| format!("--shard `{s}`: expected K/N, e.g. 0/4"))?;
        let num = |x: &str| x.trim().parse::<usize>().map_err(|_| format!("--shard `{s}`: `{x}` is not a number"));
        let (k, n) = (num(k)?, num(n)?);
        if n == 0 || k >= n {
            return Err(format!("--shard `{s}`: K must be below N (shards are numbered 0..N-1)"));
        }
        Ok(Shard { k, n })
    }

    /// This shard's contiguous part of `positions` (the parts of all shards tile it in order). The
    /// cuts fall where the engine starts a chunk of `chunk` records to score (`scored` says which
    /// positions it scores), so every record is batched with the same neighbours as in one process
    /// and its numbers come out bit for bit the same (batch shapes change the float rounding).
    pub fn slice<'a>(&self, positions: &'a [usize], scored: impl Fn(usize) -> bool, chunk: usize) -> &'a [usize] {
        let starts: Vec<usize> =
            positions.iter().enumerate().filter(|(_, p)| scored(**p)).map(|(i, _)| i).step_by(chunk.max(1)).collect();
        let chunks = starts.len();
        let cut = |j: usize| if j == 0 { 0 } else { starts.get(j).copied().unwrap_or(positions.len()) };
        &positions[cut(self.k * chunks / self.n)..cut((self.k + 1) * chunks / self.n)]
    }
}

/// The key of the first line of a shard file, which describes the job the shard belongs to.
pub const SHARD_HEADER: &str = "sift_shard";

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

/// The judge settings and heuristic flag thresholds of a `--config` file: either a whole
/// `config.toml` (its `[judge]` and `[flags]` tables, as the TUI reads them) or the judge's tables
/// alone (`[continuation]`, `[keep]`, `[flags]` for the model flags; heuristic thresholds
/// then stay at their defaults). A file with neither is an error rather than silently the defaults.
fn config_file(p: &Path) -> Result<(JudgeConfig, FlagConfig)> {
    let file = ConfigFile::open(p)?;
    let table = file.table()?;
    if table.contains_key("judge") {
        return judge_sections(&file);
    }
    if !["continuation", "keep", "flags"].iter().any(|k| table.contains_key(*k)) {
        bail!(
            "{} sets no judge settings: expected a [judge] table (as in config.toml) or [continuation], [keep] or [flags]",
            p.display()
        );
    }
    let judge = toml::from_str(&file.text).with_context(|| format!("parsing {}", p.display()))?;
    Ok((judge, FlagConfig::default()))
}

/// The `[judge]` and `[flags]` sections of a config.toml; the others (the TUI's `[keys]` among
/// them) are not read, so they cannot fail scoring.
fn judge_sections(file: &ConfigFile) -> Result<(JudgeConfig, FlagConfig)> {
    Ok((file.section("judge")?, file.section("flags")?))
}

/// Runs `sift score`; returns the exit code.
pub fn score(a: &ScoreArgs) -> Result<i32> {
    let (cfg, flag_cfg) = match a.config {
        Some(p) => config_file(p)?,
        None => judge_sections(&ConfigFile::load()?)?,
    };
    let ds = Dataset::open(a.file, a.format)?;
    let all_positions = match a.select {
        Some(s) => parse_select(s, ds.len())?,
        None => (0..ds.len()).collect(),
    };
    let records: Vec<Option<crate::dataset::Record>> = (0..ds.len()).map(|p| ds.record(p)).collect();
    let scored = |p: usize| records[p].as_ref().is_some_and(|r| !r.output.trim().is_empty());
    let chunk = EngineOptions::default().chunk_records;
    let positions: Vec<usize> = match a.shard {
        Some(sh) => sh.slice(&all_positions, scored, chunk).to_vec(),
        None => all_positions,
    };
    let empty = crate::dataset::Record::default();
    let inputs: Vec<String> =
        records.iter().map(|r| r.as_ref().map(|r| r.input_and_context()).unwrap_or_default()).collect();
    let texts: Vec<RecordText> = records
        .iter()
        .zip(&inputs)
        .map(|(r, input)| {
            let r = r.as_ref().unwrap_or(&empty);
            RecordText { instruction: &r.instruction, input, output: &r.output }
        })
        .collect();
    let heuristic = crate::quality::flag_dataset(&texts, &flag_cfg);

    let opts = EngineOptions { compare_tokens: a.compare_tokens, ..EngineOptions::default() };
    let engine = judge::load_engine(a.model.as_deref(), a.template, opts)?;
    let mut cache = match (a.no_cache, crate::paths::cache_dir()) {
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
    // A conversation is scored turn by turn (`judge::turns`).
    let selected: Vec<usize> = positions.iter().copied().filter(|&p| records[p].is_some()).collect();
    let judgeables: Vec<Judgeable> =
        records.iter().map(|r| r.as_ref().map(judge::judgeable).unwrap_or_default()).collect();
    let (items, ranges) = judge::turns::items(selected.iter().map(|&p| &judgeables[p]));
    let cancel = AtomicBool::new(false);
    let mut progress = super::progress::Progress::new(a.quiet);
    let unit = if items.len() == selected.len() { "records" } else { "responses" };
    let outcome = engine.score_items(&items, &mut cache, &cancel, &mut |e| {
        if let ScoreEvent::Progress { done, total, records_per_s, eta_s } = e {
            let msg = format!("{unit} scored  {records_per_s:.1} {unit}/s  ETA {}", crate::duration::units(eta_s));
            progress.update(done as u64, total as u64, &msg);
        }
    })?;
    progress.finish();
    let turns = if items.len() == selected.len() {
        String::new()
    } else {
        format!(" (the assistant turns of {} records)", selected.len())
    };
    progress.line(&format!(
        "scored {} {unit} ({} from cache){turns} with {} [{}]",
        outcome.scored,
        outcome.cached,
        engine.model.dir.display(),
        engine.template.name()
    ));
    let mut by_pos: Vec<Vec<Option<judge::ModelSignals>>> = vec![Vec::new(); ds.len()];
    for (k, r) in selected.iter().zip(ranges) {
        by_pos[*k] = outcome.signals[r].to_vec();
    }
    let template_name = engine.template.name();
    let write_lines = |w: &mut dyn Write| -> Result<()> {
        if let Some(sh) = a.shard {
            let key = engine.cache_key();
            let header = json!({SHARD_HEADER: {
                "shard": sh.k,
                "shards": sh.n,
                "dataset": {"records": ds.len(), "hash": format!("{:016x}", dataset_hash(a.file)?)},
                "select": a.select,
                "model": key.model,
                "template": key.template,
                "settings": key.settings,
                "judge": format!("{:016x}", xxhash_rust::xxh3::xxh3_64(format!("{cfg:?}{flag_cfg:?}").as_bytes())),
                "records": positions.len(),
            }});
            serde_json::to_writer(&mut *w, &header)?;
            w.write_all(b"\n")?;
        }
        for &p in &positions {
            let v = record_json(
                p,
                &judgeables[p],
                &by_pos[p],
                &heuristic[p],
                &cfg,
                &template_name,
                engine.model.fingerprint(),
            );
            serde_json::to_writer(&mut *w, &v)?;
            w.write_all(b"\n")?;
        }
        Ok(())
    };
    if a.out.as_os_str() == "-" {
        let mut w = std::io::BufWriter::new(std::io::stdout().lock());
        write_lines(&mut w)?;
        w.flush().context("writing to standard output")?;
    } else {
        // A temp name of this output's own (shards of one job are written side by side, at once).
        let tmp = crate::dataset::save::temp_path(a.out);
        let file = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut w = std::io::BufWriter::new(file);
        write_lines(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, a.out).with_context(|| format!("writing {}", a.out.display()))?;
    }
    if outcome.cancelled {
        bail!("scoring was cancelled");
    }
    Ok(0)
}

/// One output line: index, every judge signal of the registry (null when not scored), flags with
/// reasons, and the model's raw measurements. For a conversation (`j` has turns), the signals are
/// its worst turn's, `turn` names that turn, `turn_notes` says which turns were skipped or checked,
/// and `turns` holds every scored turn's measurements.
pub fn record_json(
    index: usize,
    j: &Judgeable,
    measured: &[Option<judge::ModelSignals>],
    heuristic: &[crate::quality::heuristics::Flag],
    cfg: &JudgeConfig,
    template: &str,
    model: &str,
) -> Value {
    let refs: Vec<Option<&judge::ModelSignals>> = measured.iter().map(Option::as_ref).collect();
    let a = judge::assess_record(j, &refs, heuristic, cfg);
    let names: Vec<&str> = a.flags.iter().map(|f| f.name.as_str()).collect();
    let reasons: serde_json::Map<String, Value> = a
        .flags
        .iter()
        .map(|f| (f.name.clone(), Value::String(precision::with_precision(&f.name, &f.reason))))
        .collect();
    let mut v = json!({
        "index": index,
        "flags": names,
        "reasons": reasons,
    });
    let o = v.as_object_mut().expect("object");
    for signal in Signal::judged() {
        o.insert(signal.name().into(), json!(a.signals.as_ref().and_then(|s| signal.read(s))));
    }
    let conversation = j.responses.iter().any(|r| r.turn.is_some());
    let m = match a.turn {
        Some(t) => j.responses.iter().zip(measured).find(|(r, _)| r.turn == Some(t)).and_then(|(_, m)| m.as_ref()),
        None if !conversation => measured.first().and_then(Option::as_ref),
        None => None,
    };
    if let (Some(m), Some(s)) = (m, &a.signals) {
        for (k, x) in [
            ("ifd_ppl", s.ifd_ppl),
            ("instruction_gain", s.instruction_gain),
            ("raw_fit", s.raw_fit),
            ("first_tokens_raw_fit", s.first_tokens_raw_fit),
            ("repetition", s.repetition),
        ] {
            o.insert(k.into(), json!(x));
        }
        // Every measurement, so that `--merge` can file the scores in the cache exactly as measured.
        if let Ok(Value::Object(measured)) = serde_json::to_value(m) {
            for (k, x) in measured {
                o.insert(if k == "tokens" { "response_tokens".into() } else { k }, x);
            }
        }
        if let Some(why) = &s.uncovered {
            o.insert("not_covered".into(), json!(why));
        }
        o.insert("cues".into(), json!(s.cues));
        o.insert("surprising".into(), json!(m.surprising));
    }
    if conversation {
        o.insert("turn".into(), json!(a.turn));
        o.insert("turn_notes".into(), json!(a.notes));
        let turns: Vec<Value> = j
            .responses
            .iter()
            .zip(measured)
            .filter_map(|(r, m)| Some(json!({"turn": r.turn, "measured": m.as_ref()?})))
            .collect();
        o.insert("turns".into(), json!(turns));
    } else if !a.notes.is_empty() {
        o.insert("turn_notes".into(), json!(a.notes));
    }
    o.insert("template".into(), json!(template));
    o.insert("model".into(), json!(model));
    v
}

/// xxh3-64 of a file's bytes (shards of one job must read the same dataset).
fn dataset_hash(path: &Path) -> Result<u64> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(xxhash_rust::xxh3::xxh3_64(&bytes))
}

/// What `sift score --merge` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeReport {
    pub shards: usize,
    pub records: usize,
    /// Measurements filed in the score cache (when the dataset was given).
    pub cached: usize,
}

/// Joins the shard files of one job into the scores file `out`, in shard order, byte for byte what a
/// single `sift score` writes. Refuses shards of different jobs (dataset, selection, model, template,
/// scoring or judge settings), a missing or repeated shard, and a shard cut short. With the dataset
/// `file`, the measurements are also filed in the score cache, where the TUI finds them.
pub fn merge(shards: &[PathBuf], out: &Path, file: Option<&Path>, format: Option<Format>) -> Result<MergeReport> {
    let mut parts: Vec<(usize, Value, Vec<u8>)> = Vec::new();
    for p in shards {
        let bytes = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
        let nl =
            bytes.iter().position(|&b| b == b'\n').with_context(|| format!("{}: not a shard file", p.display()))?;
        let head: Value =
            serde_json::from_slice(&bytes[..nl]).with_context(|| format!("{}: not a shard file", p.display()))?;
        let h = head.get(SHARD_HEADER).cloned().with_context(|| {
            format!(
                "{}: not a shard file (its first line has no `{SHARD_HEADER}`; write shards with --shard K/N)",
                p.display()
            )
        })?;
        let body = bytes[nl + 1..].to_vec();
        let lines = body.iter().filter(|&&b| b == b'\n').count();
        if Some(lines as u64) != h["records"].as_u64() || body.last().is_some_and(|&b| b != b'\n') {
            bail!(
                "{}: holds {lines} complete records of {}; the shard was cut short, score it again",
                p.display(),
                h["records"]
            );
        }
        let k = h["shard"].as_u64().context("shard header without `shard`")? as usize;
        parts.push((k, h, body));
    }
    let Some((_, first, _)) = parts.first() else { bail!("--merge needs shard files") };
    let job = |h: &Value| {
        let mut h = h.clone();
        let o = h.as_object_mut().expect("header object");
        o.remove("shard");
        o.remove("records");
        h
    };
    let want = job(first);
    for ((_, h, _), p) in parts.iter().zip(shards) {
        let got = job(h);
        if got != want {
            let differs: Vec<&str> = ["dataset", "select", "model", "template", "settings", "judge", "shards"]
                .into_iter()
                .filter(|k| got[*k] != want[*k])
                .collect();
            bail!(
                "{} belongs to another scoring job than {} (different {}); merge shards of one job only",
                p.display(),
                shards[0].display(),
                differs.join(", ")
            );
        }
    }
    let n = want["shards"].as_u64().unwrap_or(0) as usize;
    parts.sort_by_key(|p| p.0);
    let ks: Vec<usize> = parts.iter().map(|p| p.0).collect();
    if ks != (0..n).collect::<Vec<_>>() {
        let missing: Vec<String> = (0..n).filter(|k| !ks.contains(k)).map(|k| format!("{k}/{n}")).collect();
        let repeated = ks.windows(2).any(|w| w[0] == w[1]);
        bail!(
            "the shards do not make the whole job: {}{}",
            if missing.is_empty() { String::new() } else { format!("missing {}", missing.join(", ")) },
            if repeated { " (a shard was given twice)" } else { "" }
        );
    }
    let mut merged = Vec::with_capacity(parts.iter().map(|p| p.2.len()).sum());
    for (_, _, body) in &parts {
        merged.extend_from_slice(body);
    }
    crate::train::checkpoint::write_atomic(out, &merged)?;
    let records = merged.iter().filter(|&&b| b == b'\n').count();
    let cached = match file {
        Some(f) => file_in_cache(f, format, &want, &merged)?,
        None => 0,
    };
    Ok(MergeReport { shards: n, records, cached })
}

/// Files the merged measurements in the score cache for `file` under the job's model, template and
/// settings, so the TUI (and any later `sift score`) reads them instead of scoring again.
fn file_in_cache(file: &Path, format: Option<Format>, job: &Value, merged: &[u8]) -> Result<usize> {
    let hash = format!("{:016x}", dataset_hash(file)?);
    if job["dataset"]["hash"].as_str() != Some(hash.as_str()) {
        bail!("{} is not the dataset these shards scored (its content differs)", file.display());
    }
    let Some(dir) = crate::paths::cache_dir() else { return Ok(0) };
    let key = judge::CacheKey {
        model: job["model"].as_str().unwrap_or_default().to_string(),
        template: job["template"].as_str().unwrap_or_default().to_string(),
        settings: job["settings"].as_str().unwrap_or_default().to_string(),
    };
    let ds = Dataset::open(file, format)?;
    let mut entries = Vec::new();
    for line in merged.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        let v: Value = serde_json::from_slice(line)?;
        let Some(index) = v["index"].as_u64() else { continue };
        let Some(r) = ds.record(index as usize) else { continue };
        // Filed under the hash the engine looks each response up by: its texts and, for a
        // conversation turn, its history.
        let j = judge::judgeable(&r);
        if let Some(turns) = v["turns"].as_array() {
            for t in turns {
                let Some(resp) = j.responses.iter().find(|x| x.turn.is_some() && json!(x.turn) == t["turn"]) else {
                    continue;
                };
                if let Ok(signals) = serde_json::from_value::<judge::ModelSignals>(t["measured"].clone()) {
                    entries.push((resp.item().hash(), signals));
                }
            }
            continue;
        }
        let (Some(resp), false) = (j.responses.first(), v["nll_cz"].is_null()) else { continue };
        let mut m = v.clone();
        m["tokens"] = v["response_tokens"].clone();
        let Ok(signals) = serde_json::from_value::<judge::ModelSignals>(m) else { continue };
        entries.push((resp.item().hash(), signals));
    }
    let mut cache = ScoreCache::open(&dir, &key);
    cache.put_many(&entries);
    Ok(entries.len())
}

/// What `sift score --cluster-jobs N` writes the jobs for.
pub struct ClusterArgs<'a> {
    pub file: &'a Path,
    pub out: &'a Path,
    pub shards: usize,
    pub model: Option<&'a Path>,
    pub template: &'a str,
    pub select: Option<&'a str>,
    pub config: Option<&'a Path>,
    pub compare_tokens: usize,
}

/// Writes `sift-score.slurm` and `sift-score-job.yaml` beside `--out` and says how to start them.
pub fn write_cluster_jobs(a: &ClusterArgs) -> Result<i32> {
    use crate::export::cluster::{ScoreJob, k8s_job, slurm_script};
    if a.shards == 0 {
        bail!("--cluster-jobs needs at least 1 shard");
    }
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()).to_string_lossy().into_owned();
    let mut args = vec!["--template".to_string(), a.template.to_string()];
    args.extend(["--compare-tokens".to_string(), a.compare_tokens.to_string()]);
    if let Some(m) = a.model {
        args.extend(["--model".to_string(), abs(m)]);
    }
    if let Some(s) = a.select {
        args.extend(["--select".to_string(), s.to_string()]);
    }
    if let Some(c) = a.config {
        args.extend(["--config".to_string(), abs(c)]);
    }
    let (dataset, out) = (abs(a.file), abs(a.out));
    let job = ScoreJob {
        dataset: &dataset,
        out: &out,
        shards: a.shards,
        args: &args,
        sift_version: crate::export::SIFT_VERSION,
    };
    let dir = Path::new(&out).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let slurm = dir.join("sift-score.slurm");
    crate::train::checkpoint::write_atomic(&slurm, slurm_script(&job).as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&slurm, std::fs::Permissions::from_mode(0o755))?;
    }
    let k8s = dir.join("sift-score-job.yaml");
    crate::train::checkpoint::write_atomic(&k8s, k8s_job(&job).as_bytes())?;
    println!("wrote {} (start: {} submit)", slurm.display(), slurm.display());
    println!("wrote {} (set image and claimName, then kubectl apply -f it)", k8s.display());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_tile_the_selection_at_chunk_starts() {
        let positions: Vec<usize> = (0..23).collect();
        // Records 3 and 10 are not scored (no response); chunks of 4 scored records.
        let scored = |p: usize| p != 3 && p != 10;
        let parts: Vec<&[usize]> = (0..3).map(|k| Shard { k, n: 3 }.slice(&positions, scored, 4)).collect();
        assert_eq!(parts.concat(), positions);
        // 21 scored records make 6 chunks, starting at 0, 5, 9, 14, 18, 22: two per shard.
        assert_eq!((parts[0].len(), parts[1].len(), parts[2].len()), (9, 9, 5));
        // More shards than chunks: the extra shards are empty, nothing is lost.
        let many: Vec<&[usize]> = (0..8).map(|k| Shard { k, n: 8 }.slice(&positions, scored, 4)).collect();
        assert_eq!(many.concat(), positions);
        assert_eq!(Shard::parse("2/3"), Ok(Shard { k: 2, n: 3 }));
        assert!(Shard::parse("3/3").is_err() && Shard::parse("1").is_err() && Shard::parse("0/0").is_err());
    }
}
