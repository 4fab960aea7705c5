//! The review loop, simulated: labelled records play the annotator, who decides records in the
//! review queue's order while the suggestion model refits after every decision. After 25, 50, 100
//! and 200 decisions it prints, on the records not decided yet: the AUROC of `suggest` for
//! "would be rejected", the share of rejects among the next 50 records of the queue, and the same
//! for the generic judge (`1 - keep`, the order before any decision) and random order.
//!
//! `cargo bench --bench suggest_sim -- [--run labels|alpagasus|both] [--labels FILE]
//! [--also-reject short|list] [--dump FILE] [--no-judge] [--model DIR] [--seeds N] [--hidden
//! [--only-hidden | --hidden-bounds] [--hidden-dims K] [--hidden-scale S] [--hidden-l2 L]]`
//!
//! - `labels`: the 328 curator labels (`../shared/data/labels/alpaca_curator_dev.jsonl`), or
//!   `--labels FILE` in the same format (e.g. held-back labels, or
//!   `benches/data/sift_dev_labels.jsonl`, whose records give an Alpaca `index` instead of the
//!   texts): keep = accept, fix or drop = reject. `--also-reject short|list`: an annotator with a
//!   rule of their own that the judge cannot know, who also rejects every response of fewer than 8
//!   words, or every list response.
//! - `alpagasus`: AlpaGasus' random 9,229 Alpaca records (`random_9k.json`); a record in
//!   `claude_t45` or `helpfulness_t45` is the annotator's keep, every other one a reject.
//!
//! The judge's scores come from the score cache (records not cached are scored first, with the
//! bundled model unless `--model`); `--no-judge` uses the model-free flags only. Queue orders:
//! `likely-reject` (the most likely reject next), `uncertain` (the suggestion nearest 0.5 next),
//! both starting from the judge's order until 5 decisions of each kind exist, and `random` (the
//! median over `--seeds` shuffles, 5 by default).
//!
//! `--dump FILE` also writes each record's label, prior, judge values, flags and standardised dense
//! features as JSON lines (for analysis outside the bench).
//!
//! `--hidden` prints the table a second time with the bundled model's mean final hidden state of
//! each response (under the judge's Alpaca template, one forward pass per record; kept in
//! `bench-hidden-*.bin` in the cache folder) added to the suggestion model as a dense block
//! ([`Features::with_embedding`]: standardised, norm about `--hidden-scale`, 1 by default;
//! `--hidden-dims K` first projects it to K columns at random), its L2 strength chosen by the
//! model's own cross-validation on the decisions (off, or `--hidden-l2` times 1, 8 or 64). Before
//! it, what the hidden state knows with every label given (upper bounds the loop cannot reach):
//! 5-fold CV AUROC of it alone and of all features with it, and a kNN alternative's AUROC.
//! `--only-hidden` skips the first table, `--hidden-bounds` prints only those bounds.

#[path = "support/mod.rs"]
mod support;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use sift::dataset::RecordText;
use sift::judge::devset::auroc;
use sift::judge::{Engine, EngineOptions, JudgeConfig, ScoreCache, Template, content_hash};
use sift::model::{LocalModel, init_threads};
use sift::quality::heuristics::FlagConfig;
use sift::suggest::features::DIM;
use sift::suggest::{self, FeatureInput, Features, FitOptions, QueueMode};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CHECKPOINTS: [usize; 4] = [25, 50, 100, 200];
const NEXT: usize = 50;
/// Every this many decisions, the exploring queue takes a random record instead.
const EXPLORE: usize = 4;

struct Rec {
    instruction: String,
    input: String,
    output: String,
    reject: bool,
}

fn shared(p: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data").join(p)
}

/// A JSON array, or JSON lines when the name ends in `.jsonl` (a bad line names the file and line).
fn read_values(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if path.extension().is_some_and(|e| e == "jsonl") {
        text.lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}:{}: {e}", path.display(), i + 1)))
            .collect()
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }
}

/// [`read_values`] of a file under `../shared/data/`.
fn read_json(p: &str) -> Vec<serde_json::Value> {
    read_values(&shared(p))
}

fn field(v: &serde_json::Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}

/// Labelled records in the curator's format (`verdict` keep / fix / drop; the texts in the record,
/// or an `index` into the Alpaca file when it has none, as `benches/data/sift_dev_labels.jsonl`
/// does). Records sampled from the default model's training data (`sample: flagged_train`) are left
/// out: the judge's likelihoods of them are not those of unseen data. A record without a verdict
/// is an error.
fn labels(path: &Path) -> Vec<Rec> {
    let rows = read_values(path);
    let alpaca = rows.iter().any(|v| v.get("output").is_none()).then(support::alpaca);
    let trained = rows.iter().filter(|v| v["sample"] == "flagged_train").count();
    if trained > 0 {
        println!("{}: {trained} records of the model's training data (flagged_train) left out", path.display());
    }
    rows.iter()
        .enumerate()
        .filter(|(_, v)| v["sample"] != "flagged_train")
        .map(|(i, v)| {
            let verdict =
                v["verdict"].as_str().unwrap_or_else(|| panic!("{} record {}: no verdict", path.display(), i + 1));
            let (instruction, input, output) = match (&alpaca, v.get("output")) {
                (Some(a), None) => {
                    let r = &a[v["index"].as_u64().expect("a record without texts needs an index") as usize];
                    (r.instruction.to_string(), r.input.to_string(), r.output.to_string())
                }
                _ => (field(v, "instruction"), field(v, "input"), field(v, "output")),
            };
            Rec { instruction, input, output, reject: verdict != "keep" }
        })
        .collect()
}

fn alpagasus() -> Vec<Rec> {
    let key = |v: &serde_json::Value| (field(v, "instruction"), field(v, "input"), field(v, "output"));
    let keep: HashSet<(String, String, String)> = ["alpagasus/claude_t45.json", "alpagasus/helpfulness_t45.json"]
        .iter()
        .flat_map(|f| read_json(f).iter().map(key).collect::<Vec<_>>())
        .collect();
    read_json("alpagasus/random_9k.json")
        .iter()
        .map(|v| {
            let (instruction, input, output) = key(v);
            let reject = !keep.contains(&(instruction.clone(), input.clone(), output.clone()));
            Rec { instruction, input, output, reject }
        })
        .collect()
}

/// A rule of the annotator's own that the judge knows nothing of (`--also-reject`): the
/// simulated annotator rejects what the curator rejected and every record the rule matches.
/// The rules are written here on purpose rather than taken from `suggest::features` (whose list
/// test also counts "•", "+" and "1)" items): the annotator is not the feature code, so the bench
/// does not measure the features against themselves.
#[derive(Clone, Copy)]
enum Rule {
    /// A response of fewer than 8 words.
    Short,
    /// A response that is a list (two or more lines starting "- ", "* " or "1.").
    List,
}

impl Rule {
    fn from_name(s: &str) -> Option<Rule> {
        match s {
            "short" => Some(Rule::Short),
            "list" => Some(Rule::List),
            _ => None,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Rule::Short => "response of fewer than 8 words",
            Rule::List => "list response",
        }
    }

    fn rejects(self, output: &str) -> bool {
        match self {
            Rule::Short => output.split_whitespace().count() < 8,
            Rule::List => {
                let item = |l: &str| {
                    let l = l.trim_start();
                    let digits = l.bytes().take_while(u8::is_ascii_digit).count();
                    l.starts_with("- ") || l.starts_with("* ") || (digits > 0 && l[digits..].starts_with(". "))
                };
                output.lines().filter(|l| item(l)).count() >= 2
            }
        }
    }
}

fn engine() -> Engine {
    let dir = support::model_dir().unwrap_or_else(|| sift::paths::default_model_dir().unwrap());
    println!("model: {}", dir.display());
    Engine::new(LocalModel::load(&dir).unwrap(), Template::Alpaca, EngineOptions::default()).unwrap()
}

/// The judge's measurements of every record (cached ones free, the rest scored now).
fn judge_signals(engine: &Engine, texts: &[RecordText]) -> Vec<Option<sift::judge::ModelSignals>> {
    let mut cache = sift::paths::cache_dir()
        .map_or_else(|| ScoreCache::disabled(""), |d| ScoreCache::open(&d, &engine.cache_key()));
    let t = Instant::now();
    let out = engine.score(texts, &mut cache, &AtomicBool::new(false), &mut |_| {}).unwrap();
    println!("judge: {} scored now in {:.1} s, {} from the cache", out.scored, t.elapsed().as_secs_f64(), out.cached);
    out.signals
}

/// The model's mean final hidden state over each response (under the judge's template), kept in a
/// file of their own in the cache folder (content hash, then the values), so a rerun is free.
fn hidden_means(engine: &Engine, texts: &[RecordText]) -> Vec<Option<Vec<f32>>> {
    let d = engine.model.config.hidden_size;
    let key = xxhash_rust::xxh3::xxh3_64(format!("{:?}", engine.cache_key()).as_bytes());
    let path = sift::paths::cache_dir().map(|c| c.join(format!("bench-hidden-{key:016x}.bin")));
    let mut known: HashMap<u64, Vec<f32>> = HashMap::new();
    if let Some(bytes) = path.as_ref().and_then(|p| std::fs::read(p).ok()) {
        for rec in bytes.chunks_exact(8 + 4 * d) {
            let h = u64::from_le_bytes(rec[..8].try_into().unwrap());
            let v = rec[8..].chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap())).collect();
            known.insert(h, v);
        }
    }
    let hash = |t: &RecordText| content_hash(t.instruction, t.input, t.output);
    let missing: Vec<usize> = (0..texts.len()).filter(|&i| !known.contains_key(&hash(&texts[i]))).collect();
    let t = Instant::now();
    let sub: Vec<RecordText> = missing.iter().map(|&i| texts[i]).collect();
    let fresh = engine.response_means(&sub, &AtomicBool::new(false)).unwrap().unwrap();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "hidden: {} mean hidden states ({d} values) computed in {secs:.1} s ({:.0} records/s), {} from the file",
        missing.len(),
        missing.len() as f64 / secs.max(1e-9),
        texts.len() - missing.len()
    );
    let mut out_bytes = Vec::new();
    for (&i, v) in missing.iter().zip(fresh) {
        if let Some(v) = v {
            out_bytes.extend(hash(&texts[i]).to_le_bytes());
            v.iter().for_each(|x| out_bytes.extend(x.to_le_bytes()));
            known.insert(hash(&texts[i]), v);
        }
    }
    if let Some(p) = &path {
        use std::io::Write;
        let _ = std::fs::OpenOptions::new().create(true).append(true).open(p).and_then(|mut f| f.write_all(&out_bytes));
    }
    texts.iter().map(|t| known.get(&hash(t)).cloned()).collect()
}

/// `rows` through a fixed random projection to `dims` columns (Gaussian, seeded; 0 keeps them).
fn project(rows: Vec<Option<Vec<f32>>>, dims: usize) -> Vec<Option<Vec<f32>>> {
    let Some(d) = rows.iter().flatten().map(Vec::len).next() else { return rows };
    if dims == 0 || dims >= d {
        return rows;
    }
    let mut rng = sift::rng::SplitMix64(7);
    // Box-Muller.
    let mut gauss = || {
        let (u, v) = (rng.next_unit().max(1e-12), rng.next_unit());
        ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
    };
    let m: Vec<f32> = (0..dims * d).map(|_| gauss()).collect();
    rows.into_iter()
        .map(|r| r.map(|r| (0..dims).map(|k| m[k * d..(k + 1) * d].iter().zip(&r).map(|(a, b)| a * b).sum()).collect()))
        .collect()
}

/// What one order shows at one checkpoint, on the undecided records.
#[derive(Clone, Copy, Default)]
struct Point {
    base: f64,
    suggest_auroc: f64,
    judge_auroc: f64,
    queue_next: f64,
    judge_next: f64,
    cv: f64,
    /// 1 when the fitted model gives the hidden state any weight, else 0.
    hidden: f64,
}

fn share_rejects(order: &[usize], recs: &[Rec]) -> f64 {
    let top = &order[..order.len().min(NEXT)];
    top.iter().filter(|&&p| recs[p].reject).count() as f64 / top.len().max(1) as f64
}

/// Decides records in the order `mode` gives (None: the fixed order `shuffled`; before the model,
/// `prior`'s order; `judge` is the generic judge to compare with), refitting after
/// each decision; with `explore` k > 0, every k-th decision is instead the next undecided record
/// of `shuffled` (exploration). Returns one point per checkpoint and the refit times (s).
fn simulate(
    recs: &[Rec],
    f: &Features,
    (prior, judge): (&[f32], &[f32]),
    mode: Option<QueueMode>,
    shuffled: &[usize],
    explore: usize,
    opts: FitOptions,
) -> (Vec<Point>, Vec<f64>) {
    let n = recs.len();
    let mut decided: Vec<(usize, bool)> = Vec::new();
    let mut is_decided = vec![false; n];
    let mut scores: Vec<f32> = prior.to_vec();
    let mut fitted: Option<suggest::Fitted> = None;
    let mut points = Vec::new();
    let mut times = Vec::new();
    let last = *CHECKPOINTS.last().unwrap();
    while decided.len() < last.min(n - NEXT) {
        let undecided = (0..n).filter(|&p| !is_decided[p]);
        let pick = match mode {
            Some(_) if explore > 0 && decided.len() % explore == explore - 1 => {
                *shuffled.iter().find(|&&p| !is_decided[p]).unwrap()
            }
            Some(m) => {
                suggest::next(&scores, undecided, if fitted.is_some() { m } else { QueueMode::LikelyReject }).unwrap()
            }
            None => shuffled[decided.len()],
        };
        is_decided[pick] = true;
        decided.push((pick, recs[pick].reject));
        // In a fixed order the model is only looked at on the checkpoints.
        let t = Instant::now();
        let look = mode.is_some() || CHECKPOINTS.contains(&decided.len());
        if let Some(fit) = look.then(|| suggest::fit(f, &decided, opts).ok()).flatten() {
            scores = fit.model.predict_all(f);
            fitted = Some(fit);
            times.push(t.elapsed().as_secs_f64());
        }
        if CHECKPOINTS.contains(&decided.len()) {
            let u: Vec<usize> = (0..n).filter(|&p| !is_decided[p]).collect();
            let labels: Vec<bool> = u.iter().map(|&p| recs[p].reject).collect();
            let of = |s: &[f32]| u.iter().map(|&p| s[p] as f64).collect::<Vec<f64>>();
            let judge_order = suggest::queue(judge, u.iter().copied(), QueueMode::LikelyReject);
            let queue_order = match mode {
                Some(m) => suggest::queue(&scores, u.iter().copied(), m),
                None => shuffled[decided.len()..].to_vec(),
            };
            points.push(Point {
                base: labels.iter().filter(|&&l| l).count() as f64 / labels.len() as f64,
                suggest_auroc: if fitted.is_some() { auroc(&of(&scores), &labels) } else { f64::NAN },
                judge_auroc: auroc(&of(judge), &labels),
                queue_next: share_rejects(&queue_order, recs),
                judge_next: share_rejects(&judge_order, recs),
                cv: fitted.as_ref().and_then(|f| f.cv_auroc).unwrap_or(f64::NAN),
                hidden: fitted.as_ref().is_some_and(|f| f.model.w.iter().skip(DIM).any(|&w| w != 0.0)) as u8 as f64,
            });
        }
    }
    (points, times)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 { v[m] } else { (v[m - 1] + v[m]) / 2.0 }
}

fn fmt(x: f64) -> String {
    if x.is_finite() { format!("{x:.3}") } else { "  -  ".into() }
}

/// `--grid "dense,flags,first,words,l2,l2_sparse,l2_prior;..."`: for each setting, suggest AUROC
/// on the undecided records after 50, 100 and 200 decisions per order (for choosing the defaults;
/// prints only that).
fn grid(spec: &str, recs: &[Rec], inputs: &[FeatureInput], prior: &[f32], judge: &[f32], seeds: u64) {
    println!(
        "{:<36} {:>24} {:>24} {:>24}",
        "dense,flags,first,words,l2,sparse,prior", "likely-reject 50/100/200", "uncertain", "random"
    );
    for cfg in spec.split(';') {
        let v: Vec<f32> = cfg.split(',').map(|x| x.trim().parse().unwrap()).collect();
        let scales = suggest::Scales { dense: v[0], flags: v[1], first: v[2], words: v[3] };
        let opts = FitOptions { l2: v[4], l2_sparse: v[5], l2_prior: v[6], ..FitOptions::default() };
        let f = Features::build_with(inputs, scales);
        let cell = |pts: Vec<Vec<Point>>| {
            let m = |k: usize| median(pts.iter().map(|p| p[k].suggest_auroc).collect());
            format!("{} {} {}", fmt(m(1)), fmt(m(2)), fmt(m(3)))
        };
        let a = cell(vec![simulate(recs, &f, (prior, judge), Some(QueueMode::LikelyReject), &[], 0, opts).0]);
        let b = cell(vec![simulate(recs, &f, (prior, judge), Some(QueueMode::Uncertain), &[], 0, opts).0]);
        let c = cell(
            (0..seeds)
                .map(|seed| {
                    let mut order: Vec<usize> = (0..recs.len()).collect();
                    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
                    simulate(recs, &f, (prior, judge), None, &order, 0, opts).0
                })
                .collect(),
        );
        println!("{cfg:<36} {a:>24} {b:>24} {c:>24}");
    }
}

fn run(name: &str, recs: &[Rec], use_judge: bool, seeds: u64) {
    let texts: Vec<RecordText> =
        recs.iter().map(|r| RecordText { instruction: &r.instruction, input: &r.input, output: &r.output }).collect();
    let rejects = recs.iter().filter(|r| r.reject).count();
    println!(
        "\n== {name}: {} records, {rejects} rejects ({:.1}%)",
        recs.len(),
        100.0 * rejects as f64 / recs.len() as f64
    );
    let hidden = support::flag("--hidden");
    let engine = (use_judge || hidden).then(engine);
    let signals = match (&engine, use_judge) {
        (Some(e), true) => judge_signals(e, &texts),
        _ => vec![None; texts.len()],
    };
    let t = Instant::now();
    let inputs: Vec<FeatureInput> = suggest::inputs(&texts, &signals, &JudgeConfig::default(), &FlagConfig::default());
    let f = Features::build(&inputs);
    println!("features: {:.2} s for {} records", t.elapsed().as_secs_f64(), recs.len());
    // The queue's order before the model (judge and flags), and the generic judge alone
    // (`1 - keep`; the flags' prior where a record was not scored) to compare with.
    let prior = suggest::prior(&inputs);
    let judge: Vec<f32> = inputs.iter().zip(&prior).map(|(i, &p)| i.judge.map_or(p, |j| 1.0 - j.keep)).collect();
    if let Some(path) = support::arg("--dump") {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        for (i, (inp, r)) in inputs.iter().zip(recs).enumerate() {
            let j = inp.judge.map(|j| [j.keep, j.continuation, j.ifd, j.ppl, j.instruction_gain]);
            let v = serde_json::json!({"pos": i, "reject": r.reject, "prior": prior[i], "judge": judge[i],
                "j": j, "flags": inp.flags, "dense": f.dense(i), "instruction": r.instruction, "input": r.input, "output": r.output});
            writeln!(out, "{v}").unwrap();
        }
    }
    if let Some(spec) = support::arg("--grid") {
        return grid(&spec, recs, &inputs, &prior, &judge, seeds);
    }
    let generic = if use_judge { "judge 1-keep" } else { "model-free flags" };
    let l: Vec<bool> = recs.iter().map(|r| r.reject).collect();
    let all = |s: &[f32]| auroc(&s.iter().map(|&x| x as f64).collect::<Vec<_>>(), &l);
    println!(
        "generic order: {generic}; AUROC on all records {:.3} (prior = judge and flags: {:.3})",
        all(&judge),
        all(&prior)
    );
    if !support::flag("--only-hidden") && !support::flag("--hidden-bounds") {
        table("without the hidden state", recs, &f, (&prior, &judge), seeds, FitOptions::default());
    }
    if let Some(e) = engine.filter(|_| hidden) {
        let dims: usize = support::arg("--hidden-dims").map_or(0, |s| s.parse().unwrap());
        let scale: f32 = support::arg("--hidden-scale").map_or(1.0, |s| s.parse().unwrap());
        let l2_hidden: f32 = support::arg("--hidden-l2").map_or(1.0, |s| s.parse().unwrap());
        let rows = project(hidden_means(&e, &texts), dims);
        // How much the hidden state alone knows: the best of its columns, and 5-fold CV of a
        // logistic regression on it alone over every record (an upper bound the loop cannot see).
        let fh = Features::build(&vec![FeatureInput::default(); recs.len()]).with_embedding(&rows, scale);
        let every: Vec<usize> = (0..recs.len()).collect();
        let o = FitOptions { l2: 1e3, l2_sparse: 1e3, l2_hidden, ..FitOptions::default() };
        println!(
            "hidden state alone ({} columns, scale {scale}): 5-fold CV AUROC on all records {:.3}",
            fh.dim() - sift::suggest::features::DIM,
            sift::suggest::model::cv_auroc(&fh, &every, &l, o, 5).unwrap_or(f64::NAN)
        );
        println!(
            "hidden state, kNN alternative: share of rejects among the {KNN} most similar other records \
             (cosine), AUROC on all records {:.3}",
            knn_auroc(&rows, &l)
        );
        let f = f.with_embedding(&rows, scale);
        // The same with everything else (judge, flags, words): the prior's AUROC against the
        // model fitted to all records but one fold, at each hidden strength (an upper bound too).
        for h in [f32::INFINITY, l2_hidden, 8.0 * l2_hidden, 64.0 * l2_hidden] {
            let o = FitOptions { l2_hidden: h, ..FitOptions::default().stronger(8.0) };
            println!(
                "all features, hidden L2 {h}: 5-fold CV AUROC on all records {:.3}",
                sift::suggest::model::cv_auroc(&f, &every, &l, o, 5).unwrap_or(f64::NAN)
            );
        }
        if support::flag("--hidden-bounds") {
            return;
        }
        let opts = FitOptions { l2_hidden, ..FitOptions::default() };
        table("with the mean hidden state", recs, &f, (&prior, &judge), seeds, opts);
    }
}

/// Neighbours of the kNN alternative.
const KNN: usize = 10;

/// AUROC of the kNN alternative with every other record decided (leave-one-out): each record's
/// score is the similarity-weighted share of rejects among its [`KNN`] nearest records by cosine
/// of the standardised hidden states (an upper bound on what the feature gives a loop that has
/// decided only some records).
fn knn_auroc(rows: &[Option<Vec<f32>>], reject: &[bool]) -> f64 {
    use rayon::prelude::*;
    let d = rows.iter().flatten().map(Vec::len).next().unwrap_or(0);
    let have: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].as_ref().is_some_and(|r| r.len() == d)).collect();
    let mut mean = vec![0f32; d];
    let mut sd = vec![0f32; d];
    for &i in &have {
        mean.iter_mut().zip(rows[i].as_ref().unwrap()).for_each(|(m, x)| *m += x / have.len() as f32);
    }
    for &i in &have {
        let r = rows[i].as_ref().unwrap();
        sd.iter_mut().zip(r.iter().zip(&mean)).for_each(|(s, (x, m))| *s += (x - m).powi(2) / have.len() as f32);
    }
    let unit: Vec<Vec<f32>> = have
        .iter()
        .map(|&i| {
            let z: Vec<f32> = rows[i]
                .as_ref()
                .unwrap()
                .iter()
                .zip(mean.iter().zip(&sd))
                .map(|(x, (m, s))| (x - m) / s.sqrt().max(1e-9))
                .collect();
            let n = z.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-9);
            z.into_iter().map(|v| v / n).collect()
        })
        .collect();
    let scores: Vec<f64> = (0..have.len())
        .into_par_iter()
        .map(|a| {
            let mut sims: Vec<(f32, usize)> = (0..have.len())
                .filter(|&b| b != a)
                .map(|b| (unit[a].iter().zip(&unit[b]).map(|(x, y)| x * y).sum::<f32>(), b))
                .collect();
            let nth = KNN.min(sims.len() - 1);
            sims.select_nth_unstable_by(nth, |x, y| y.0.total_cmp(&x.0));
            let top = &sims[..KNN.min(sims.len())];
            let w: f32 = top.iter().map(|t| t.0.max(0.0) + 1e-6).sum();
            top.iter().map(|t| (t.0.max(0.0) + 1e-6) * reject[have[t.1]] as u8 as f32).sum::<f32>() as f64 / w as f64
        })
        .collect();
    auroc(&scores, &have.iter().map(|&i| reject[i]).collect::<Vec<_>>())
}

/// Simulates every order and prints the table.
fn table(title: &str, recs: &[Rec], f: &Features, (prior, judge): (&[f32], &[f32]), seeds: u64, opts: FitOptions) {
    println!("-- {title}");
    let mut rows: Vec<(String, Vec<Point>)> = Vec::new();
    let mut all_times = Vec::new();
    for mode in [QueueMode::LikelyReject, QueueMode::Uncertain] {
        let (p, times) = simulate(recs, f, (prior, judge), Some(mode), &[], 0, opts);
        all_times.extend(times);
        rows.push((mode.name().into(), p));
    }
    // Exploration: the likely-reject queue with every EXPLORE-th decision a random record.
    let mut order: Vec<usize> = (0..recs.len()).collect();
    order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(0));
    let (p, _) = simulate(recs, f, (prior, judge), Some(QueueMode::LikelyReject), &order, EXPLORE, opts);
    rows.push((format!("likely-rej. +1/{EXPLORE} random"), p));
    let mut runs: Vec<Vec<Point>> = Vec::new();
    for seed in 0..seeds {
        let mut order: Vec<usize> = (0..recs.len()).collect();
        order.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        runs.push(simulate(recs, f, (prior, judge), None, &order, 0, opts).0);
    }
    let med = |k: usize, g: fn(&Point) -> f64| median(runs.iter().map(|r| g(&r[k])).collect());
    let random: Vec<Point> = (0..runs[0].len())
        .map(|k| Point {
            base: med(k, |p| p.base),
            suggest_auroc: med(k, |p| p.suggest_auroc),
            judge_auroc: med(k, |p| p.judge_auroc),
            queue_next: med(k, |p| p.queue_next),
            judge_next: med(k, |p| p.judge_next),
            cv: med(k, |p| p.cv),
            hidden: med(k, |p| p.hidden),
        })
        .collect();
    rows.push((format!("random (median of {seeds})"), random));
    println!(
        "{:<22} {:>9} {:>10} {:>13} {:>11} {:>9} {:>6} | next {NEXT}: {:>8} {:>8} {:>9}",
        "order",
        "decisions",
        "base rate",
        "suggest AUROC",
        "judge AUROC",
        "CV AUROC",
        "hidden",
        "queue",
        "judge",
        "lift"
    );
    for (name, points) in &rows {
        for (k, p) in points.iter().enumerate() {
            println!(
                "{:<22} {:>9} {:>10} {:>13} {:>11} {:>9} {:>6.1} | {:>13} {:>8} {:>8.2}x",
                name,
                CHECKPOINTS[k],
                fmt(p.base),
                fmt(p.suggest_auroc),
                fmt(p.judge_auroc),
                fmt(p.cv),
                p.hidden,
                fmt(p.queue_next),
                fmt(p.judge_next),
                p.queue_next / p.base
            );
        }
    }
    println!(
        "refit (fit + {}-fold CV + predict {} records): median {:.1} ms over {} refits",
        suggest::FOLDS,
        recs.len(),
        1e3 * median(all_times.clone()),
        all_times.len()
    );
}

fn main() {
    sift::model::tune_allocator();
    init_threads();
    let which = support::arg("--run").unwrap_or_else(|| "both".into());
    let use_judge = !support::flag("--no-judge");
    let seeds: u64 = support::arg("--seeds").map_or(5, |s| s.parse().unwrap());
    if which == "labels" || which == "both" {
        let path = support::arg("--labels").map_or_else(|| shared("labels/alpaca_curator_dev.jsonl"), Into::into);
        let mut recs = labels(&path);
        let file = path.file_name().map_or_else(String::new, |f| f.to_string_lossy().into_owned());
        let mut name = format!("labels ({file})");
        if let Some(rule) = support::arg("--also-reject") {
            let rule = Rule::from_name(&rule).expect("--also-reject short|list");
            recs.iter_mut().for_each(|r| r.reject |= rule.rejects(&r.output));
            name += &format!(", and every {} rejected too", rule.describe());
        }
        run(&name, &recs, use_judge, seeds);
    }
    if which == "alpagasus" || which == "both" {
        run("AlpaGasus keep (claude_t45 or helpfulness_t45) on random_9k", &alpagasus(), use_judge, seeds);
    }
}
