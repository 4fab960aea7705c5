//! The precision contract of every flag, on curator labels, and a regression check on planted defects.
//!
//! `cargo bench --bench flag_precision -- [--model DIR] [--no-model] [--write-table] [--list FLAG] [--missed]
//!  [--unlabelled FLAG]`
//!
//! 1. Labels of Alpaca records: the curator's (`../shared/data/labels/alpaca_curator_dev.jsonl`,
//!    328 records of the validation slice) and sift-dev's (`benches/data/sift_dev_labels.jsonl`: 400
//!    random records of the slice, records of the slice where a flag fired, and records outside the
//!    slice where a model-free check fired, which count for the model-free flags only; see the README
//!    beside it), each alone and combined: per flag, with every flag turned on, how often it fires, its precision (the
//!    curator would fix or drop the record), the precision for its matching defect, the Wilson 95%
//!    lower bound, and its recall on the random samples' fix/drop records; then the flags on by
//!    default (decided on the combined labels) together: recall on the random samples' fix/drop records and the share of its keeps
//!    flagged, against the targets. Model flags are measured with `--model DIR`, `SIFT_MODEL` or the
//!    bundled default model (`--no-model` skips them). The measured counts are compared with
//!    `sift::quality::precision::MEASURED`: the bench fails when the table is stale, and
//!    `--write-table` rewrites `src/quality/precision_table.rs`. `--list FLAG` prints the records a
//!    flag fires on, with the curator's verdict and note; `--missed` the random samples' fix/drop records
//!    no default flag catches; `--unlabelled FLAG` every failed check of FLAG on the
//!    Alpaca records outside both label files (to read its false positives).
//!    The curator's Dolly copies (`dolly_context_copies_dev.jsonl`: 21 responses that restate the
//!    context passage, 12 of them going on with more of the source) are a third set, every record a
//!    drop: they give the rare continuation-style flags firings to measure, and the Alpaca sets say
//!    how often the same flags fire on records that are fine.
//! 2. Planted defects of `sample_datasets/` (labels.jsonl): precision and recall per planted kind.

#[path = "support/mod.rs"]
mod support;

use sift::dataset::RecordText;
use sift::dataset::{Dataset, Record};
use sift::judge::{Engine, EngineOptions, JudgeConfig, ModelFlagConfig, ScoreCache, assess};
use sift::model::init_threads;
use sift::quality::flag_dataset;
use sift::quality::heuristics::{FlagConfig, FlagKind};
use sift::quality::precision::{self, MEASURED, Measured, wilson_lower};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::AtomicBool;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(serde::Deserialize)]
struct Labelled {
    index: usize,
    sample: String,
    verdict: String,
    defects: Vec<String>,
    note: String,
    instruction: String,
    input: String,
    output: String,
}

impl Labelled {
    fn bad(&self) -> bool {
        self.verdict != "keep"
    }
}

/// The curator defects a flag claims to find.
fn matching_defects(flag: &str) -> &'static [&'static str] {
    match flag {
        "empty_response" | "truncated" => &["incomplete"],
        "copies_prompt" => &["copies_prompt"],
        "refusal" => &["refusal"],
        "placeholder" | "stand_in_input" | "template_variable" => &["placeholder"],
        "needs_modality" => &["needs_modality"],
        "merged_instructions" => &["merged"],
        "length_ratio" => &["off_task", "low_effort", "incomplete"],
        "duplicate" | "near_duplicate" => &[],
        "noise" => &["noise"],
        "miscalculated" | "code_syntax" => &["wrong"],
        "count_mismatch" | "form_mismatch" | "result_only" => &["off_task"],
        "continuation" | "restates_input" => &["continuation"],
        "repetitive" => &["repetitive"],
        "high_ifd" | "high_ppl" => &["off_task", "wrong", "noise", "continuation"],
        _ => &[],
    }
}

fn main() {
    sift::model::tune_allocator();
    init_threads();
    let engine = if support::flag("--no-model") {
        None
    } else {
        let dir = support::model_dir().unwrap_or_else(|| sift::paths::default_model_dir().unwrap());
        println!("model {}", dir.display());
        Some(sift::judge::load_engine(Some(&dir), "alpaca", EngineOptions::default()).unwrap())
    };
    labels(engine.as_ref());
    println!();
    planted(engine.as_ref());
}

/// Scores `texts` with `engine` (through the score cache), or nothing without one.
fn score(engine: Option<&Engine>, texts: &[RecordText]) -> Vec<Option<sift::judge::ModelSignals>> {
    match engine {
        Some(e) => {
            let mut cache = sift::paths::cache_dir()
                .map_or_else(|| ScoreCache::disabled(""), |d| ScoreCache::open(&d, &e.cache_key()));
            e.score(texts, &mut cache, &AtomicBool::new(false), &mut |_| {}).unwrap().signals
        }
        None => vec![None; texts.len()],
    }
}

/// Where a labelled record comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Curator,
    SiftDev,
    /// The curator's Dolly records whose response restates the context passage (dropped or rewritten).
    Dolly,
}

#[derive(serde::Deserialize)]
struct DevLabel {
    index: usize,
    sample: String,
    verdict: String,
    defects: Vec<String>,
    note: String,
}

/// The curator labels and the sift-dev labels (`benches/data/sift_dev_labels.jsonl`, texts joined
/// from the Alpaca file by index), each with its source.
fn load_labels() -> Vec<(Source, Labelled)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("../shared/data/labels/alpaca_curator_dev.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out: Vec<(Source, Labelled)> =
        text.lines().map(|l| (Source::Curator, serde_json::from_str(l).unwrap())).collect();
    let alpaca = support::alpaca();
    let path = root.join("benches/data/sift_dev_labels.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for line in text.lines() {
        let d: DevLabel = serde_json::from_str(line).unwrap();
        let r = &alpaca[d.index];
        out.push((
            Source::SiftDev,
            Labelled {
                index: d.index,
                sample: d.sample,
                verdict: d.verdict,
                defects: d.defects,
                note: d.note,
                instruction: r.instruction.to_string(),
                input: r.input.to_string(),
                output: r.output.to_string(),
            },
        ));
    }
    // The Dolly copies: every one a record a curator drops or rewrites (see the labels' README).
    let path = root.join("../shared/data/labels/dolly_context_copies_dev.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for line in text.lines() {
        let d: serde_json::Value = serde_json::from_str(line).unwrap();
        let field = |k: &str| d[k].as_str().unwrap_or_default().to_string();
        out.push((
            Source::Dolly,
            Labelled {
                index: usize::MAX,
                sample: "dolly_context_copies".into(),
                verdict: "drop".into(),
                defects: vec!["continuation".into()],
                note: format!(
                    "dolly {}: context copied{}",
                    field("pair_id"),
                    if d["extends"] == true { " and continued" } else { "" }
                ),
                instruction: field("instruction"),
                input: field("input"),
                output: field("output"),
            },
        ));
    }
    out
}

fn labels(engine: Option<&Engine>) {
    let labelled = load_labels();
    let sources: Vec<Source> = labelled.iter().map(|(s, _)| *s).collect();
    let recs: Vec<Labelled> = labelled.into_iter().map(|(_, r)| r).collect();
    let texts: Vec<RecordText> =
        recs.iter().map(|r| RecordText { instruction: &r.instruction, input: &r.input, output: &r.output }).collect();
    let started = std::time::Instant::now();
    let heur = flag_dataset(&texts, &FlagConfig::all_enabled());
    let signals = score(engine, &texts);
    let cfg = JudgeConfig { flags: ModelFlagConfig::all_enabled(), ..JudgeConfig::default() };
    let assessed: Vec<BTreeMap<String, String>> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            assess(signals[i].as_ref(), t, &heur[i], &cfg).flags.into_iter().map(|f| (f.name, f.reason)).collect()
        })
        .collect();
    let fired = |i: usize, name: &str| assessed[i].contains_key(name);
    println!("labelled records judged in {:.1} s", started.elapsed().as_secs_f64());
    let mut names: Vec<&str> = FlagKind::ALL.iter().map(|k| k.name()).collect();
    if engine.is_some() {
        names.extend(sift::judge::flags::MODEL_FLAGS);
    }
    let sets: [(&str, &dyn Fn(usize) -> bool); 4] = [
        ("curator labels (../shared/data/labels/alpaca_curator_dev.jsonl)", &|i| sources[i] == Source::Curator),
        ("sift-dev labels (benches/data/sift_dev_labels.jsonl)", &|i| sources[i] == Source::SiftDev),
        ("curator's Dolly copies (../shared/data/labels/dolly_context_copies_dev.jsonl)", &|i| {
            sources[i] == Source::Dolly
        }),
        ("combined", &|_| true),
    ];
    let mut rows = Vec::new();
    for (title, in_set) in &sets {
        let idx: Vec<usize> = (0..recs.len()).filter(|&i| in_set(i)).collect();
        let n_random = idx.iter().filter(|&&i| recs[i].sample == "random").count();
        let random_bad = idx.iter().filter(|&&i| recs[i].sample == "random" && recs[i].bad()).count();
        println!(
            "\n{title}: {} records ({n_random} random: {random_bad} fix/drop, {} keep)",
            idx.len(),
            n_random - random_bad
        );
        println!(
            "{:<20} {:>5} {:>6} {:>9} {:>7} {:>7} {:>10}",
            "flag", "fires", "right", "precision", "wilson", "defect", "recall(rnd)"
        );
        rows.clear();
        for name in &names {
            // Alpaca records outside the validation slice (`flagged_train`) were seen by the default
            // model in training: they measure the model-free flags only.
            let model_flag = sift::judge::flags::MODEL_FLAGS.contains(name);
            let seen_in_training = |i: usize| sources[i] != Source::Dolly && !recs[i].index.is_multiple_of(20);
            let hits: Vec<usize> =
                idx.iter().copied().filter(|&i| fired(i, name) && !(model_flag && seen_in_training(i))).collect();
            let right = hits.iter().filter(|&&i| recs[i].bad()).count();
            let defect = hits
                .iter()
                .filter(|&&i| recs[i].defects.iter().any(|d| matching_defects(name).contains(&d.as_str())))
                .count();
            let caught = hits.iter().filter(|&&i| recs[i].sample == "random" && recs[i].bad()).count();
            let m = Measured { name, fires: hits.len() as u32, right: right as u32 };
            let pct = |x: usize| {
                if hits.is_empty() { "-".to_string() } else { format!("{:.2}", x as f64 / hits.len() as f64) }
            };
            println!(
                "{name:<20} {:>5} {:>6} {:>9} {:>7.2} {:>7} {:>10.3}",
                hits.len(),
                right,
                pct(right),
                wilson_lower(m.right, m.fires),
                pct(defect),
                caught as f64 / random_bad.max(1) as f64,
            );
            rows.push(m);
        }
    }
    // `rows` now holds the combined measurement, which decides the defaults.
    let default_on: HashSet<&str> = rows.iter().filter(|m| m.meets_contract()).map(|m| m.name).collect();
    let mut on: Vec<&str> = default_on.iter().copied().collect();
    on.sort();
    println!(
        "\non by default (combined labels: precision >= {} over >= {} firings): {}",
        precision::MIN_PRECISION,
        precision::MIN_FIRES,
        on.join(", ")
    );
    let flagged = |i: usize| assessed[i].keys().any(|f| default_on.contains(f.as_str()));
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!("default flags together, on random samples only:");
    for (title, in_set) in &sets {
        let random: Vec<usize> = (0..recs.len()).filter(|&i| in_set(i) && recs[i].sample == "random").collect();
        if random.is_empty() {
            continue;
        }
        let bad = random.iter().filter(|&&i| recs[i].bad()).count();
        let keep = random.len() - bad;
        let caught = random.iter().filter(|&&i| recs[i].bad() && flagged(i)).count();
        let keeps = random.iter().filter(|&&i| !recs[i].bad() && flagged(i)).count();
        let (recall, share) = (caught as f64 / bad.max(1) as f64, keeps as f64 / keep.max(1) as f64);
        let title = title.split(" (").next().unwrap_or(title);
        println!(
            "  {title}: catch {caught} of {bad} fix/drop = {recall:.3} (target >= 0.35: {}); flag {keeps} of {keep} keeps = {share:.3} (target <= 0.05: {})",
            verdict(recall >= 0.35),
            verdict(share <= 0.05)
        );
    }
    if support::flag("--missed") {
        println!("random-sample fix/drop records no default flag catches:");
        for (i, r) in recs.iter().enumerate().filter(|(i, r)| r.sample == "random" && r.bad() && !flagged(*i)) {
            let src = if sources[i] == Source::Curator { "curator" } else { "sift-dev" };
            let flags: Vec<&str> = assessed[i].keys().map(String::as_str).collect();
            println!("  {} {src} {} {:?} off-flags {:?} | {}", r.index, r.verdict, r.defects, flags, r.note);
        }
    }
    if let Some(flag) = support::arg("--list") {
        for (i, r) in recs.iter().enumerate().filter(|(i, _)| fired(*i, &flag)) {
            let src = match sources[i] {
                Source::Curator => "curator",
                Source::SiftDev => "sift-dev",
                Source::Dolly => "dolly",
            };
            println!(
                "  {} {src} {} {:?} | {} | {}",
                if r.index == usize::MAX { "-".to_string() } else { r.index.to_string() },
                r.verdict,
                r.defects,
                assessed[i].get(&flag).map_or("", String::as_str),
                r.note
            );
        }
    }
    if let Some(flag) = support::arg("--unlabelled") {
        unlabelled(&flag, &recs.iter().map(|r| r.index).collect());
    }
    check_table(&rows, engine.is_some());
}

/// Every failed check of `flag` on the Alpaca records outside both label files, to read a check's
/// false positives on records nobody tuned it to.
fn unlabelled(flag: &str, labelled: &HashSet<usize>) {
    let alpaca = support::alpaca();
    let mut n = 0;
    for (i, r) in alpaca.iter().enumerate().filter(|(i, _)| !labelled.contains(i)) {
        for c in sift::quality::checks::run_checks(&r.instruction, &r.input, &r.output) {
            if c.failed && c.kind.name() == flag {
                n += 1;
                let cut = |s: &str| s.chars().take(160).collect::<String>();
                println!(
                    "  {i} | {} | I: {:?} IN: {:?} O: {:?}",
                    c.detail,
                    cut(&r.instruction),
                    cut(&r.input),
                    cut(&r.output)
                );
            }
        }
    }
    println!("{flag}: {n} failed checks on unlabelled Alpaca records");
}

/// Compares the measured rows with the table in `src/quality/precision_table.rs`; rewrites it with
/// `--write-table`, else fails when it is stale. Model rows are kept from the table when no model ran.
fn check_table(rows: &[Measured], with_model: bool) {
    let mut table: Vec<Measured> = rows.to_vec();
    if !with_model {
        table.extend(MEASURED.iter().filter(|m| sift::judge::flags::MODEL_FLAGS.contains(&m.name)).copied());
    }
    let stale: Vec<String> = table
        .iter()
        .filter(|m| precision::measured(m.name) != Some(m))
        .map(|m| {
            format!(
                "{} {}/{} (table: {:?})",
                m.name,
                m.right,
                m.fires,
                precision::measured(m.name).map(|t| (t.right, t.fires))
            )
        })
        .collect();
    if stale.is_empty() {
        println!("precision table is current ({} flags)", table.len());
        return;
    }
    let mut src = String::from(
        "// Generated by `cargo bench --bench flag_precision -- --write-table` from\n// ../shared/data/labels/alpaca_curator_dev.jsonl, dolly_context_copies_dev.jsonl beside it and\n// benches/data/sift_dev_labels.jsonl. Do not edit by hand.\n\n/// Every flag's firings on the combined labels and how many were right.\npub const MEASURED: &[Measured] = &[\n",
    );
    for m in &table {
        src.push_str(&format!("    Measured {{ name: \"{}\", fires: {}, right: {} }},\n", m.name, m.fires, m.right));
    }
    src.push_str("];\n");
    if support::flag("--write-table") {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/quality/precision_table.rs");
        std::fs::write(&path, src).unwrap();
        println!("wrote {} ({} stale rows: {})", path.display(), stale.len(), stale.join("; "));
    } else {
        println!("{src}");
        panic!(
            "the precision table is stale ({}); rerun with --write-table and commit src/quality/precision_table.rs",
            stale.join("; ")
        );
    }
}

/// Precision and recall per planted kind on `sample_datasets/`, every flag on.
fn planted(engine: Option<&Engine>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_datasets");
    let mut labels: HashSet<(String, usize, String)> = HashSet::new();
    let mut labelled_kinds: HashSet<String> = HashSet::new();
    for line in std::fs::read_to_string(dir.join("labels.jsonl")).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let defect = v["defect"].as_str().unwrap().to_string();
        labelled_kinds.insert(defect.clone());
        labels.insert((v["file"].as_str().unwrap().into(), v["index"].as_u64().unwrap() as usize, defect));
    }
    let cfg = JudgeConfig { flags: ModelFlagConfig::all_enabled(), ..JudgeConfig::default() };
    #[derive(Default)]
    struct Counts {
        tp: usize,
        fp: usize,
        fn_: usize,
    }
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f != "labels.jsonl" && (f.ends_with(".json") || f.ends_with(".jsonl")))
        .collect();
    files.sort();
    let mut total = 0;
    for file in &files {
        let ds = Dataset::open(&dir.join(file), None).unwrap();
        let recs: Vec<Record> = (0..ds.len()).map(|p| ds.record(p).unwrap_or_default()).collect();
        let texts: Vec<RecordText> = recs.iter().map(Record::text).collect();
        total += texts.len();
        let heur = flag_dataset(&texts, &FlagConfig::all_enabled());
        let signals = score(engine, &texts);
        for (i, t) in texts.iter().enumerate() {
            let a = assess(signals[i].as_ref(), t, &heur[i], &cfg);
            let flagged: HashSet<&str> = a.flags.iter().map(|f| f.name.as_str()).collect();
            let kinds: HashSet<String> =
                labelled_kinds.iter().cloned().chain(flagged.iter().map(|s| s.to_string())).collect();
            for k in kinds {
                if k == "continuation" && engine.is_none() {
                    continue;
                }
                let c = counts.entry(k.clone()).or_default();
                match (labels.contains(&(file.clone(), i, k.clone())), flagged.contains(k.as_str())) {
                    (true, true) => c.tp += 1,
                    (false, true) => c.fp += 1,
                    (true, false) => c.fn_ += 1,
                    (false, false) => {}
                }
            }
        }
    }
    println!("planted defects (regression check): {total} records in {} files, {} labels", files.len(), labels.len());
    for (k, c) in &counts {
        if labelled_kinds.contains(k) {
            let p = c.tp as f64 / (c.tp + c.fp).max(1) as f64;
            let r = c.tp as f64 / (c.tp + c.fn_).max(1) as f64;
            println!("{k:<20} tp {:>3} fp {:>3} fn {:>3}  precision {p:.2} recall {r:.2}", c.tp, c.fp, c.fn_);
        } else {
            println!("{k:<20} flagged {:>3} records (no planted label)", c.fp);
        }
    }
    if engine.is_none() {
        println!("no model (--no-model): model flags (continuation, high_ifd, ...) not measured");
    }
}
