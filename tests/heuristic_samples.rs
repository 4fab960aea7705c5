//! Precision and recall of the model-free flags on the planted defects of `sample_datasets/`.
//!
//! Every record in the five sample files is flagged with the default [`FlagConfig`]; a flag of kind K
//! counts as a true positive when `labels.jsonl` lists that record with defect K, and as a false
//! positive otherwise. `continuation` labels have no heuristic (the model-based scorer handles them),
//! so they only count against flags that fire on those records.

use serde_json::Value;
use sift::dataset::RecordText;
use sift::quality::flag_dataset;
use sift::quality::heuristics::{FlagConfig, FlagKind};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

/// (instruction, input, output) of a record in any of the sample formats; conversations give
/// their last user turn and last assistant turn.
fn triple(v: &Value) -> (String, String, String) {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let last = |turns: &[Value], role_key: &str, text_key: &str, roles: &[&str]| {
        turns
            .iter()
            .rev()
            .find(|t| roles.contains(&t.get(role_key).and_then(Value::as_str).unwrap_or("")))
            .map(|t| s(t, text_key))
            .unwrap_or_default()
    };
    if let Some(turns) = v.get("conversations").and_then(Value::as_array) {
        return (last(turns, "from", "value", &["human"]), String::new(), last(turns, "from", "value", &["gpt"]));
    }
    if let Some(msgs) = v.get("messages").and_then(Value::as_array) {
        return (
            last(msgs, "role", "content", &["user"]),
            String::new(),
            last(msgs, "role", "content", &["assistant"]),
        );
    }
    if let Some(prompt) = v.get("prompt") {
        let text = |x: &Value, role: &str| match x {
            Value::Array(msgs) => last(msgs, "role", "content", &[role]),
            other => other.as_str().unwrap_or("").to_string(),
        };
        return (text(prompt, "user"), String::new(), text(&v["completion"], "assistant"));
    }
    if v.get("context").is_some() {
        return (s(v, "instruction"), s(v, "context"), s(v, "response"));
    }
    (s(v, "instruction"), s(v, "input"), s(v, "output"))
}

fn load(path: &Path) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(path).unwrap();
    let values: Vec<Value> = if path.extension().is_some_and(|e| e == "jsonl") {
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
    } else {
        serde_json::from_str(&text).unwrap()
    };
    values.iter().map(triple).collect()
}

#[derive(Default, Debug)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

impl Counts {
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.fp) as f64 }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.fn_) as f64 }
    }
}

#[test]
fn planted_defects_are_found_with_high_precision_and_recall() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_datasets");
    let labels_text = std::fs::read_to_string(dir.join("labels.jsonl")).unwrap();
    let mut labels: HashSet<(String, usize, String)> = HashSet::new();
    for line in labels_text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let defect = v["defect"].as_str().unwrap().to_string();
        assert!(defect == "continuation" || FlagKind::from_name(&defect).is_some(), "unknown defect {defect}");
        labels.insert((v["file"].as_str().unwrap().to_string(), v["index"].as_u64().unwrap() as usize, defect));
    }
    let files = [
        "alpaca_sample.json",
        "dolly_sample.jsonl",
        "sharegpt_sample.json",
        "openai_sample.jsonl",
        "prompt_completion_sample.jsonl",
    ];
    // Every kind on: the planted defects test each flag's rule, not the default policy.
    let cfg = FlagConfig::all_enabled();
    let mut counts: BTreeMap<&'static str, Counts> = BTreeMap::new();
    let mut mistakes = Vec::new();
    let mut total = 0;
    for file in files {
        let triples = load(&dir.join(file));
        total += triples.len();
        let texts: Vec<RecordText> =
            triples.iter().map(|(c, z, y)| RecordText { instruction: c, input: z, output: y }).collect();
        let flags = flag_dataset(&texts, &cfg);
        for (i, record_flags) in flags.iter().enumerate() {
            // The kinds with planted defects; the verifying checks (count_mismatch, ...) have none here
            // and are tested in src/quality/checks and measured on curator labels by the flag_precision bench.
            for kind in FlagKind::ALL.into_iter().filter(|k| labels.iter().any(|l| l.2 == k.name())) {
                let labelled = labels.contains(&(file.to_string(), i, kind.name().to_string()));
                // A planted stand-in input ("<noinput>") is caught by its own flag.
                let same = |k: FlagKind| k == kind || (kind == FlagKind::Placeholder && k == FlagKind::StandInInput);
                let flagged = record_flags.iter().find(|f| same(f.kind));
                let c = counts.entry(kind.name()).or_default();
                match (labelled, flagged) {
                    (true, Some(_)) => c.tp += 1,
                    (false, Some(f)) => {
                        c.fp += 1;
                        mistakes.push(format!("FP {file}#{i} {}: {}", kind.name(), f.reason));
                    }
                    (true, None) => {
                        c.fn_ += 1;
                        mistakes.push(format!("FN {file}#{i} {}: {:?}", kind.name(), triples[i].0));
                    }
                    (false, None) => {}
                }
            }
        }
    }
    let mut all = Counts::default();
    println!("{total} records, {} labels", labels.len());
    for (kind, c) in &counts {
        println!(
            "{kind:<20} tp {:>3} fp {:>2} fn {:>2}  precision {:.2} recall {:.2}",
            c.tp,
            c.fp,
            c.fn_,
            c.precision(),
            c.recall()
        );
        all.tp += c.tp;
        all.fp += c.fp;
        all.fn_ += c.fn_;
    }
    println!("overall precision {:.3} recall {:.3}", all.precision(), all.recall());
    for m in &mistakes {
        println!("{m}");
    }
    assert!(total > 300, "samples shrank to {total} records");
    for (kind, c) in &counts {
        assert!(c.tp + c.fn_ >= 3, "{kind}: fewer than 3 planted defects");
        assert!(c.precision() >= 0.8, "{kind}: precision {:.2} < 0.8\n{}", c.precision(), mistakes.join("\n"));
        assert!(c.recall() >= 0.8, "{kind}: recall {:.2} < 0.8\n{}", c.recall(), mistakes.join("\n"));
    }
    assert!(all.precision() >= 0.95, "overall precision {:.3} < 0.95\n{}", all.precision(), mistakes.join("\n"));
    assert!(all.recall() >= 0.9, "overall recall {:.3} < 0.9\n{}", all.recall(), mistakes.join("\n"));
}
