//! Export: every selection × every target × every source format, read back and compared with the
//! source records; run folders (configs, manifest, launch.sh) checked, including hostile folder names.

mod common;
use common::*;

use serde_json::Value;
use sift::dataset::{Dataset, Format, Record, Role};
use sift::export::{ExportRequest, Selection, Target, export};
use sift::session::{OpenOptions, Session, Status};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const ALPACA: &str = r#"[
    {"instruction": "A0", "input": "in0", "output": "out0", "system": "sys0"},
    {"instruction": "A1", "input": "", "output": "out1", "history": [["h1q", "h1a"]]},
    {"instruction": "A2", "input": "in2", "output": "out2", "system": "sys2", "history": [["h2q", "h2a"], ["h2q2", "h2a2"]]},
    {oops},
    {"instruction": "A4", "input": "", "output": "out4"},
    {"instruction": "A5", "input": "in5 \"quoted\" ünï", "output": "out5\nline2"},
    {"instruction": 6, "output": "x6"},
    {"instruction": "A7", "input": "", "output": "out7", "system": "sys7"},
    {"instruction": "A8 $(touch x) `y`", "input": "", "output": "out8"},
    {"instruction": "A9", "input": "in9", "output": ""}
]
"#;

const SHAREGPT: &str = r#"[
    {"id": "s0", "conversations": [{"from": "system", "value": "S0"}, {"from": "human", "value": "q0a"}, {"from": "gpt", "value": "r0a"}, {"from": "human", "value": "q0b"}, {"from": "gpt", "value": "r0b"}]},
    {"conversations": [{"from": "human", "value": "q1"}, {"from": "gpt", "value": "r1"}]},
    {"system": "TopSys2", "conversations": [{"from": "human", "value": "q2"}, {"from": "gpt", "value": "r2"}]},
    {"conversations": [oops]},
    {"conversations": [{"from": "human", "value": "q4"}, {"from": "function_call", "value": "{\"name\": \"fc4\", \"arguments\": {}}"}, {"from": "observation", "value": "ob4"}, {"from": "gpt", "value": "r4"}]},
    {"conversations": [{"from": "human", "value": "q5 never answered"}]},
    {"conversations": [{"from": "human", "value": "q6 $(x) `y`"}, {"from": "gpt", "value": "r6"}, {"from": "human", "value": "q6b trailing"}]},
    {"conversations": [{"from": "gpt", "value": "g7"}, {"from": "human", "value": "q7"}, {"from": "gpt", "value": "r7"}]},
    {"conversations": [{"from": "human", "value": "q8"}, {"from": "gpt", "value": "r8"}]}
]
"#;

const OPENAI: &str = r#"{"messages": [{"role": "system", "content": "os0"}, {"role": "user", "content": "u0"}, {"role": "assistant", "content": "a0"}]}
{"messages": [{"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1x", "weight": 0}, {"role": "user", "content": "u1b"}, {"role": "assistant", "content": "a1y", "weight": 1}]}
{"messages": [{"role": "user", "content": "u2"}, {"role": "assistant", "content": "a2"}]}
{"messages": [
{"messages": [{"role": "user", "content": "u4"}, {"role": "tool", "content": "t4"}, {"role": "assistant", "content": "a4"}]}
{"messages": [{"role": "user", "content": [{"type": "text", "text": "u5 parts"}]}, {"role": "assistant", "content": "a5"}]}
{"messages": [{"role": "system", "content": "os6"}, {"role": "user", "content": "u6"}, {"role": "assistant", "content": "a6 \u00e9\ttab"}]}
"#;

const PROMPT_COMPLETION: &str = r#"{"prompt": [{"role": "system", "content": "ps0"}, {"role": "user", "content": "pu0"}], "completion": [{"role": "assistant", "content": "pc0"}]}
{"prompt": [{"role": "user", "content": "pu1"}], "completion": [{"role": "assistant", "content": "pc1"}]}
{"prompt": [{"role": "user", "content": "pu2"}, {"role": "assistant", "content": "pa2"}, {"role": "user", "content": "pu2b"}], "completion": [{"role": "assistant", "content": "pc2"}]}
{"prompt": [{"role": "user", "content": "pu3"}], "completion": [{"role": "assistant", "content": "pc3"}]}
{"prompt": [{"role": "user", "content": "pu4"}], "completion": [{"role": "assistant", "content": "pc4"}]}
"#;

const PROMPT_COMPLETION_STR: &str = r#"{"prompt": "Translate: hi", "completion": "salut"}
{"prompt": "Capital of France?", "completion": "Paris"}
{"prompt": "2+2", "completion": "4"}
"#;

struct Fixture {
    name: &'static str,
    text: &'static str,
    malformed: &'static [usize],
    invalid: &'static [usize],
    /// Not representable as Alpaca rows or for LLaMA-Factory (no strict user/assistant alternation).
    not_alternating: &'static [usize],
}

const FIXTURES: [Fixture; 5] = [
    Fixture { name: "alpaca.json", text: ALPACA, malformed: &[3], invalid: &[6], not_alternating: &[] },
    Fixture { name: "sharegpt.json", text: SHAREGPT, malformed: &[3], invalid: &[5], not_alternating: &[4, 6, 7] },
    Fixture { name: "openai.jsonl", text: OPENAI, malformed: &[3], invalid: &[], not_alternating: &[4] },
    Fixture { name: "pc.jsonl", text: PROMPT_COMPLETION, malformed: &[], invalid: &[], not_alternating: &[] },
    Fixture { name: "pcs.jsonl", text: PROMPT_COMPLETION_STR, malformed: &[], invalid: &[], not_alternating: &[] },
];

const STATUSES: [Status; 5] =
    [Status::Accepted, Status::Rejected, Status::NeedsEdit, Status::Accepted, Status::Unreviewed];

fn status_of(pos: usize) -> Status {
    STATUSES[pos % STATUSES.len()]
}

fn tagged(pos: usize) -> bool {
    pos.is_multiple_of(2)
}

/// Writes the fixture and marks statuses and tags through the Session API (saved review state).
fn prepare(dir: &Path, f: &Fixture) -> PathBuf {
    let path = dir.join(f.name);
    std::fs::write(&path, f.text).unwrap();
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    let n = s.dataset().len();
    for st in Status::ALL {
        let ps: Vec<usize> = (0..n).filter(|&p| status_of(p) == st).collect();
        s.set_status(&ps, st).unwrap();
    }
    let ps: Vec<usize> = (0..n).filter(|&p| tagged(p)).collect();
    s.add_tag(&ps, "keep").unwrap();
    s.checkpoint().unwrap();
    path
}

fn selections() -> Vec<Selection> {
    let mut v = vec![Selection::parse("all").unwrap()];
    v.extend(Status::ALL.map(|s| Selection { status: Some(s), ..Selection::default() }));
    v.push(Selection::parse("accepted,tag:keep").unwrap());
    v.push(Selection::parse("tag:keep").unwrap());
    v
}

fn selected(sel: &Selection, pos: usize) -> bool {
    sel.status.is_none_or(|s| s == status_of(pos)) && (sel.tag.is_none() || tagged(pos))
}

/// (role, text) of each turn, with the system turn first (trainers' order).
fn turns(rec: &Record) -> Vec<(String, String)> {
    // A turn that only calls tools reads as its calls (the JSON text of a ShareGPT function_call
    // becomes an OpenAI `tool_calls` list).
    let text = |t: &sift::dataset::Turn| {
        if t.is_call_only() {
            t.tool_calls.iter().map(|c| format!("{}({})", c.name, c.arguments.replace(' ', ""))).collect()
        } else {
            t.text.clone()
        }
    };
    let mut t: Vec<(String, String)> = rec.turns.iter().map(|t| (t.role.label().to_string(), text(t))).collect();
    if let Some(i) = t.iter().position(|(r, _)| r == "system")
        && i > 0
    {
        let s = t.remove(i);
        t.insert(0, s);
    }
    t
}

/// Which assistant turns are not trained on (weight 0); other roles' flag carries no meaning.
fn trained(rec: &Record) -> Vec<bool> {
    let mut t: Vec<(bool, bool)> =
        rec.turns.iter().map(|t| (t.role == Role::System, t.role == Role::Assistant && !t.trained)).collect();
    if let Some(i) = t.iter().position(|(s, _)| *s)
        && i > 0
    {
        let s = t.remove(i);
        t.insert(0, s);
    }
    t.into_iter().map(|(_, tr)| tr).collect()
}

fn read_rows(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    if text.trim_start().starts_with('[') {
        serde_json::from_str::<Vec<Value>>(&text).unwrap()
    } else {
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

#[test]
fn every_selection_and_target_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for f in &FIXTURES {
        let src = prepare(dir.path(), f);
        // A fresh session: statuses come back from the saved review state.
        let session = Session::open(&src, &OpenOptions::default()).unwrap();
        let source_format = session.dataset().format();
        let n = session.dataset().len();
        for sel in selections() {
            // KTO and DPO rows are checked in tests/formats.rs.
            for target in Target::ALL.into_iter().filter(|t| t.is_sft()) {
                let label = format!("{} {sel} {target}", f.name);
                let folder = target.always_dir();
                let out = dir.path().join(format!("out-{}-{}-{}", f.name, sel, target).replace([',', ':'], "_"));
                let out = if folder {
                    out
                } else {
                    out.with_extension(if target == Target::Alpaca { "json" } else { "jsonl" })
                };
                let req = ExportRequest::new(sel.clone(), target, &out);
                let sum = export(&session, &req).unwrap_or_else(|e| panic!("{label}: {e}"));

                // Which records should be where.
                let picked: Vec<usize> = (0..n).filter(|&p| selected(&sel, p)).collect();
                assert_eq!(sum.selected, picked.len(), "{label}");
                let strict = matches!(target, Target::Alpaca | Target::LlamaFactory);
                let mut want = Vec::new();
                let (mut mal, mut inv, mut unrep) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
                for &p in &picked {
                    if f.malformed.contains(&p) {
                        mal.insert(p);
                    } else if f.invalid.contains(&p) {
                        inv.insert(p);
                    } else if strict
                        && f.not_alternating.contains(&p)
                        // LLaMA-Factory holds tool calls (function_call / observation turns).
                        && !(target == Target::LlamaFactory && f.name == "sharegpt.json" && p == 4)
                    {
                        unrep.insert(p);
                    } else {
                        want.push(p);
                    }
                }
                let idx = |v: &[sift::export::Skipped]| v.iter().map(|s| s.index).collect::<BTreeSet<_>>();
                assert_eq!(idx(&sum.skipped_malformed), mal, "{label}");
                assert_eq!(idx(&sum.skipped_invalid), inv, "{label}");
                assert_eq!(idx(&sum.skipped_unrepresentable), unrep, "{label}");
                assert_eq!(sum.written, want.len(), "{label}");

                // Read the data back with sift's own decoder and compare with the source records.
                let data = sum.data_file.clone();
                assert!(data.starts_with(&out), "{label}");
                let rows = read_rows(&data);
                assert_eq!(rows.len(), want.len(), "{label}: rows");
                if want.is_empty() {
                    continue;
                }
                let back = Dataset::open(&data, None).unwrap_or_else(|e| panic!("{label}: {e}"));
                assert_eq!(back.len(), want.len(), "{label}");
                assert_eq!(back.malformed_count(), 0, "{label}");
                for (k, &p) in want.iter().enumerate() {
                    let orig = session.dataset().record(p).unwrap();
                    let got = back.record(k).unwrap();
                    let row = &rows[k];
                    match target {
                        Target::Alpaca => {
                            assert_eq!(back.format(), Format::Alpaca);
                            assert_eq!(turns(&got), turns(&orig), "{label} record {p}");
                            assert_eq!(got.output, orig.output, "{label} record {p}");
                            assert_eq!(got.system, orig.system, "{label} record {p}");
                            if source_format == Format::Alpaca {
                                assert_eq!((&got.instruction, &got.input), (&orig.instruction, &orig.input));
                            }
                            let keys: Vec<&str> = row.as_object().unwrap().keys().map(String::as_str).collect();
                            assert!(
                                keys.iter()
                                    .all(|k| ["instruction", "input", "output", "system", "history"].contains(k))
                            );
                        }
                        Target::ShareGpt => {
                            assert_eq!(back.format(), Format::ShareGpt);
                            assert_eq!(turns(&got), turns(&orig), "{label} record {p}");
                            for t in row["conversations"].as_array().unwrap() {
                                let from = t["from"].as_str().unwrap();
                                assert!(
                                    ["human", "gpt", "system", "function_call", "observation", "tool"].contains(&from),
                                    "{label}: from {from}"
                                );
                            }
                        }
                        Target::OpenAi | Target::Axolotl | Target::LlamaFactory => {
                            assert_eq!(back.format(), Format::OpenAi);
                            assert_eq!(turns(&got), turns(&orig), "{label} record {p}");
                            assert_eq!(trained(&got), trained(&orig), "{label} record {p}: weights");
                            for m in row["messages"].as_array().unwrap() {
                                let role = m["role"].as_str().unwrap();
                                assert!(!["human", "gpt"].contains(&role), "{label}: role {role}");
                            }
                        }
                        Target::Trl => {
                            assert_eq!(back.format(), Format::PromptCompletion);
                            let mut want_turns = turns(&orig);
                            let last = want_turns.iter().rposition(|(r, _)| r == "assistant").unwrap();
                            want_turns.truncate(last + 1);
                            assert_eq!(turns(&got), want_turns, "{label} record {p}");
                            let completion = row["completion"].as_array().unwrap();
                            assert_eq!(completion.len(), 1);
                            assert_eq!(completion[0]["role"], "assistant");
                            assert_eq!(completion[0]["content"], orig.output.as_str());
                        }
                        Target::TrlKto | Target::TrlDpo => unreachable!("filtered out above"),
                    }
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 150, "only {checked} non-empty exports checked");
}

fn session_for(dir: &Path, f: &Fixture) -> Session {
    let path = prepare(dir, f);
    Session::open(&path, &OpenOptions::default()).unwrap()
}

#[test]
fn raw_rows_keep_fields_weights_and_roles() {
    let dir = tempfile::tempdir().unwrap();
    let s = session_for(dir.path(), &FIXTURES[0]);
    let out = dir.path().join("a.json");
    export(&s, &ExportRequest::new(Selection::parse("all").unwrap(), Target::Alpaca, &out)).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("[\n    {\n        \"instruction\": \"A0\",\n        \"input\": \"in0\",\n"), "{text}");
    let rows = read_rows(&out);
    assert_eq!(rows[0]["system"], "sys0");
    assert_eq!(rows[1]["history"], serde_json::json!([["h1q", "h1a"]]));
    assert_eq!(rows[2]["history"], serde_json::json!([["h2q", "h2a"], ["h2q2", "h2a2"]]));
    assert_eq!(rows[2]["system"], "sys2");
    assert_eq!(rows[4]["input"], "in5 \"quoted\" ünï");
    assert!(rows[3].get("system").is_none() && rows[3].get("history").is_none());

    // Alpaca with system + history → messages: system first, history assistant turns not trained.
    let out = dir.path().join("m.jsonl");
    export(&s, &ExportRequest::new(Selection::parse("all").unwrap(), Target::OpenAi, &out)).unwrap();
    let rows = read_rows(&out);
    assert_eq!(
        rows[2]["messages"],
        serde_json::json!([
            {"role": "system", "content": "sys2"},
            {"role": "user", "content": "h2q"}, {"role": "assistant", "content": "h2a", "weight": 0},
            {"role": "user", "content": "h2q2"}, {"role": "assistant", "content": "h2a2", "weight": 0},
            {"role": "user", "content": "A2\n\nin2"}, {"role": "assistant", "content": "out2"}
        ])
    );

    let s = session_for(dir.path(), &FIXTURES[2]);
    let out = dir.path().join("o.jsonl");
    export(&s, &ExportRequest::new(Selection::parse("all").unwrap(), Target::OpenAi, &out)).unwrap();
    let rows = read_rows(&out);
    assert_eq!(
        rows[1]["messages"],
        serde_json::json!([
            {"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1x", "weight": 0},
            {"role": "user", "content": "u1b"}, {"role": "assistant", "content": "a1y"}
        ])
    );
    let out = dir.path().join("t.jsonl");
    export(&s, &ExportRequest::new(Selection::parse("all").unwrap(), Target::Trl, &out)).unwrap();
    let rows = read_rows(&out);
    assert_eq!(
        rows[1],
        serde_json::json!({
            "prompt": [{"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1x"},
                       {"role": "user", "content": "u1b"}],
            "completion": [{"role": "assistant", "content": "a1y"}]
        })
    );

    let s = session_for(dir.path(), &FIXTURES[1]);
    let out = dir.path().join("s.json");
    export(&s, &ExportRequest::new(Selection::parse("all").unwrap(), Target::ShareGpt, &out)).unwrap();
    let rows = read_rows(&out);
    assert_eq!(
        rows[0]["conversations"],
        serde_json::json!([
            {"from": "system", "value": "S0"}, {"from": "human", "value": "q0a"}, {"from": "gpt", "value": "r0a"},
            {"from": "human", "value": "q0b"}, {"from": "gpt", "value": "r0b"}
        ])
    );
    assert_eq!(rows[2]["conversations"][0], serde_json::json!({"from": "system", "value": "TopSys2"}));
    // JSONL when the file name says so.
    let out = dir.path().join("s.jsonl");
    export(&s, &ExportRequest::new(Selection::parse("all").unwrap(), Target::ShareGpt, &out)).unwrap();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("{\"conversations\":"), "{text}");
    let trl = dir.path().join("s-trl.jsonl");
    let sum = export(&s, &ExportRequest::new(Selection::parse("all").unwrap(), Target::Trl, &trl)).unwrap();
    assert_eq!(sum.trimmed_trailing_turns, 1, "record 6 ends with a user turn");
}

fn folder_export(s: &Session, target: Target, out: &Path, base: Option<&str>) -> sift::export::ExportSummary {
    let mut req = ExportRequest::new(Selection::parse("accepted").unwrap(), target, out);
    req.base_model = base.map(str::to_string);
    export(s, &req).unwrap()
}

fn yaml_line<'a>(yaml: &'a str, key: &str) -> &'a str {
    yaml.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no `{key}:` line in\n{yaml}"))
}

#[test]
fn run_folders_have_configs_manifest_and_launcher() {
    let dir = tempfile::tempdir().unwrap();
    let s = session_for(dir.path(), &FIXTURES[2]);
    let base = "org/model \"quoted\" $HOME";

    // TRL (prompt/completion) with --base.
    let out = dir.path().join("trl-run");
    let sum = folder_export(&s, Target::Trl, &out, Some(base));
    for f in
        ["data.jsonl", "sft.yaml", "accelerate_zero3.yaml", "accelerate_fsdp2.yaml", "launch.sh", "sift_export.json"]
    {
        assert!(out.join(f).is_file(), "{f}");
    }
    let y = std::fs::read_to_string(out.join("sft.yaml")).unwrap();
    assert_eq!(yaml_line(&y, "model_name_or_path"), serde_json::to_string(base).unwrap());
    assert_eq!(yaml_line(&y, "output_dir"), "\"output\"");
    assert_eq!(yaml_line(&y, "completion_only_loss"), "true");
    assert_eq!(yaml_line(&y, "report_to"), "none");
    assert_eq!(yaml_line(&y, "learning_rate"), "0.00002");
    assert!(y.contains("datasets:\n  - path: json\n    data_files: \"data.jsonl\"\n"), "{y}");
    let m: Value = serde_json::from_str(&std::fs::read_to_string(out.join("sift_export.json")).unwrap()).unwrap();
    assert_eq!(m["format"], "trl");
    assert_eq!(m["trainer"], "trl");
    assert_eq!(m["base_model"], base);
    assert_eq!(m["selection"], "accepted");
    assert_eq!(m["source_format"], "openai");
    assert_eq!(m["counts"]["written"], sum.written);
    assert_eq!(m["counts"]["skipped_malformed"], 1, "record 3 is accepted and malformed");
    assert_eq!(m["skipped"][0]["index"], 3);
    assert_eq!(m["sift_version"], env!("CARGO_PKG_VERSION"));
    assert!(m["created"].as_str().unwrap().ends_with('Z'));
    assert!(m["template"].as_str().unwrap().contains("chat template"));

    // axolotl: messages + config.yml, masking by its own keys.
    let out = dir.path().join("axo-run");
    folder_export(&s, Target::Axolotl, &out, Some(base));
    let y = std::fs::read_to_string(out.join("config.yml")).unwrap();
    assert_eq!(yaml_line(&y, "base_model"), serde_json::to_string(base).unwrap());
    assert_eq!(yaml_line(&y, "train_on_inputs"), "false");
    assert_eq!(yaml_line(&y, "sequence_len"), "2048");
    for l in [
        "  - path: \"data.jsonl\"",
        "    ds_type: json",
        "    type: chat_template",
        "    field_messages: messages",
        "    roles_to_train: [\"assistant\"]",
        "    message_field_training: weight",
    ] {
        assert!(y.lines().any(|x| x == l), "missing `{l}` in\n{y}");
    }
    // ACCEL=fsdp2 trains from config_fsdp2.yml: the same config plus the FSDP2 keys.
    let fsdp = std::fs::read_to_string(out.join("config_fsdp2.yml")).unwrap();
    assert!(fsdp.starts_with(&y) && fsdp.contains("\nfsdp_version: 2\n"), "{fsdp}");
    for k in [
        "micro_batch_size",
        "gradient_accumulation_steps",
        "num_epochs",
        "learning_rate",
        "output_dir",
        "chat_template",
    ] {
        yaml_line(&y, k);
    }
    assert!(out.join("deepspeed_zero3.json").is_file());

    // LLaMA-Factory: data + dataset_info.json + train.yaml.
    let out = dir.path().join("lf-run");
    let sum = folder_export(&s, Target::LlamaFactory, &out, Some("Qwen/Qwen2.5-7B"));
    assert_eq!(sum.skipped_unrepresentable.iter().map(|k| k.index).collect::<Vec<_>>(), Vec::<usize>::new());
    let info: Value = serde_json::from_str(&std::fs::read_to_string(out.join("dataset_info.json")).unwrap()).unwrap();
    assert_eq!(
        info,
        serde_json::json!({"sift_export": {
            "file_name": "data.jsonl", "formatting": "sharegpt", "columns": {"messages": "messages"},
            "tags": {"role_tag": "role", "content_tag": "content", "user_tag": "user",
                     "function_tag": "function_call", "observation_tag": "observation",
                     "assistant_tag": "assistant", "system_tag": "system"}}})
    );
    let y = std::fs::read_to_string(out.join("train.yaml")).unwrap();
    for (k, v) in [
        ("stage", "sft"),
        ("do_train", "true"),
        ("finetuning_type", "full"),
        ("dataset", "\"sift_export\""),
        ("dataset_dir", "\".\""),
        ("template", "\"qwen\""),
        ("train_on_prompt", "false"),
        ("cutoff_len", "2048"),
        ("output_dir", "\"output\""),
        ("model_name_or_path", "\"Qwen/Qwen2.5-7B\""),
    ] {
        assert_eq!(yaml_line(&y, k), v, "{k}");
    }
    let m: Value = serde_json::from_str(&std::fs::read_to_string(out.join("sift_export.json")).unwrap()).unwrap();
    assert_eq!(m["template"], "qwen");

    // Alpaca / ShareGPT with --base go to LLaMA-Factory with the matching dataset_info layout.
    let a = session_for(dir.path(), &FIXTURES[0]);
    let out = dir.path().join("alpaca-run");
    folder_export(&a, Target::Alpaca, &out, Some("meta-llama/Meta-Llama-3-8B"));
    let info: Value = serde_json::from_str(&std::fs::read_to_string(out.join("dataset_info.json")).unwrap()).unwrap();
    assert_eq!(info["sift_export"]["formatting"], "alpaca");
    assert_eq!(info["sift_export"]["file_name"], "data.json");
    assert_eq!(info["sift_export"]["columns"]["history"], "history");
    assert!(std::fs::read_to_string(out.join("train.yaml")).unwrap().contains("template: \"llama3\""));

    // axolotl without --base: folder anyway, placeholder model, launch.sh refuses to start.
    let out = dir.path().join("axo-nobase");
    let sum = folder_export(&s, Target::Axolotl, &out, None);
    assert!(!sum.warnings.is_empty());
    let o = common::output_of_fresh_script(std::process::Command::new(out.join("launch.sh")).arg("single"));
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no base model"));
}

#[test]
fn untrained_last_turns_and_llamafactory_weights_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.jsonl");
    std::fs::write(
        &path,
        "{\"messages\": [{\"role\": \"user\", \"content\": \"u\"}, {\"role\": \"assistant\", \"content\": \"a\", \"weight\": 0}]}\n\
         {\"messages\": [{\"role\": \"user\", \"content\": \"u\"}, {\"role\": \"assistant\", \"content\": \"b\"}]}\n",
    )
    .unwrap();
    let s = Session::open(&path, &OpenOptions::default()).unwrap();
    let sum = export(&s, &ExportRequest::new(Selection::default(), Target::Trl, dir.path().join("t.jsonl"))).unwrap();
    assert_eq!(sum.written, 1);
    assert_eq!(sum.skipped_unrepresentable.len(), 1);
    assert!(sum.skipped_unrepresentable[0].reason.contains("weight 0"));
    let sum =
        export(&s, &ExportRequest::new(Selection::default(), Target::LlamaFactory, dir.path().join("lf"))).unwrap();
    assert_eq!(sum.written, 2);
    assert!(sum.warnings.iter().any(|w| w.contains("mask_history")), "{:?}", sum.warnings);
}

#[test]
fn never_overwrites_the_source_and_creates_parent_folders() {
    let dir = tempfile::tempdir().unwrap();
    let s = session_for(dir.path(), &FIXTURES[0]);
    let src = dir.path().join("alpaca.json");
    let before = std::fs::read(&src).unwrap();
    let err = export(&s, &ExportRequest::new(Selection::default(), Target::Alpaca, &src)).unwrap_err();
    assert!(err.to_string().contains("is the dataset being exported"), "{err}");
    assert_eq!(std::fs::read(&src).unwrap(), before);
    let out = dir.path().join("new/sub/x.jsonl");
    let sum = export(&s, &ExportRequest::new(Selection::default(), Target::Trl, &out)).unwrap();
    assert_eq!(read_rows(&out).len(), sum.written);
    let err = export(&s, &ExportRequest::new(Selection::default(), Target::Trl, dir.path())).unwrap_err();
    assert!(err.to_string().contains("is a folder"), "{err}");
}

#[test]
fn llamafactory_refuses_folders_with_spaces() {
    let dir = tempfile::tempdir().unwrap();
    let s = session_for(dir.path(), &FIXTURES[0]);
    let req = ExportRequest::new(Selection::default(), Target::LlamaFactory, dir.path().join("my run"));
    let err = export(&s, &req).unwrap_err().to_string();
    assert!(err.contains("splits its launcher arguments on spaces") && err.contains("my_run"), "{err}");
    assert!(!dir.path().join("my run").exists(), "nothing is written when refused");
}

/// A folder name that tries every way out of a shell word.
const HOSTILE: &str = "run $(touch PWNED1) `touch PWNED2`; touch PWNED3 & 'q' \"dq\" \\ $HOME\nnl";

fn fake_bin(dir: &Path, log: &Path) -> PathBuf {
    let bin = dir.join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    for name in ["trl", "accelerate", "axolotl", "llamafactory-cli"] {
        let script = format!(
            "#!/usr/bin/env bash\n{{ printf '%s' {name}; for a in \"$@\"; do printf ' <%s>' \"$a\"; done; \
             printf ' cwd=<%s> FORCE_TORCHRUN=<%s> NNODES=<%s> NODE_RANK=<%s> NPROC=<%s><END>\\n' \"$PWD\" \
             \"${{FORCE_TORCHRUN:-}}\" \"${{NNODES:-}}\" \"${{NODE_RANK:-}}\" \"${{NPROC_PER_NODE:-}}\"; }} >> {}\n",
            sift::export::shell::shquote(&log.to_string_lossy())
        );
        let p = bin.join(name);
        std::fs::write(&p, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    // The trainers' Python, which launch.sh asks whether DeepSpeed / torch import: they do.
    let py = bin.join("python");
    std::fs::write(&py, "#!/bin/sh\nexit 0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&py, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

fn run_launch(script: &Path, mode: &str, cwd: &Path, path: &str, env: &[(&str, &str)]) -> std::process::Output {
    let mut c = std::process::Command::new("bash");
    c.arg(script);
    if !mode.is_empty() {
        c.arg(mode);
    }
    c.current_dir(cwd).env("PATH", path).env("GPUS", "2");
    for v in ["NNODES", "NODE_RANK", "MASTER_ADDR", "MASTER_PORT", "SLURM_NNODES", "SLURM_NODEID", "SLURM_PROCID"] {
        c.env_remove(v);
    }
    c.env_remove("SLURM_JOB_NODELIST").env_remove("LAUNCH_MODE").env_remove("CUDA_VISIBLE_DEVICES");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn launch_scripts_survive_hostile_names_and_start_each_trainer() {
    let dir = tempfile::tempdir().unwrap();
    let s = session_for(dir.path(), &FIXTURES[2]);
    let cwd = dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    let log = dir.path().join("calls.log");
    let bin = fake_bin(dir.path(), &log);
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let hostile_base = "evil/model'; touch PWNED4; echo '$(touch PWNED5)";
    let pwned = |d: &Path| {
        (1..=5).any(|k| d.join(format!("PWNED{k}")).exists())
            || std::fs::read_dir(d).unwrap().flatten().any(|e| e.file_name().to_string_lossy().starts_with("PWNED"))
    };

    for target in [Target::Trl, Target::Axolotl, Target::LlamaFactory] {
        // LLaMA-Factory refuses spaces; give it a hostile name without whitespace.
        let name = if target == Target::LlamaFactory {
            "lf$(touch${IFS}PWNED1)`touch${IFS}PWNED2`;touch${IFS}PWNED3&'q'\"dq\"".to_string()
        } else {
            format!("{HOSTILE} {target}")
        };
        let out = dir.path().join(&name);
        folder_export(&s, target, &out, Some(hostile_base));
        let script = out.join("launch.sh");
        let text = std::fs::read_to_string(&script).unwrap();
        assert!(text.starts_with("#!/usr/bin/env bash\n"));
        assert!(text.contains("set -euo pipefail"));
        for comment in text.lines().filter(|l| l.trim_start().starts_with('#')) {
            assert!(!comment.contains("PWNED"), "a user value leaked into a comment: {comment}");
        }
        let syntax = std::process::Command::new("bash").arg("-n").arg(&script).output().unwrap();
        assert!(syntax.status.success(), "{target}: bash -n: {}", String::from_utf8_lossy(&syntax.stderr));

        // print-paths: every value comes back literally and nothing runs.
        let o = run_launch(&script, "print-paths", &cwd, &path, &[]);
        assert!(o.status.success(), "{target}: {}", String::from_utf8_lossy(&o.stderr));
        let stdout = String::from_utf8(o.stdout).unwrap();
        let real = out.canonicalize().unwrap();
        assert!(
            stdout.starts_with(&format!("run_dir={}\nexported_to={}\n", real.display(), out.display())),
            "{stdout}"
        );
        assert!(stdout.contains(&format!("\nbase_model={hostile_base}\n")), "{stdout}");
        assert!(stdout.contains(&format!("\ndata={}/data.jsonl\n", real.display())), "{stdout}");

        // Each mode runs the trainer's command with the right arguments, from the run folder.
        std::fs::write(&log, "").unwrap();
        for (mode, env) in [
            ("single", vec![]),
            ("multi-gpu", vec![("ACCEL", "fsdp2")]),
            ("multi-node", vec![("NNODES", "2"), ("NODE_RANK", "1"), ("MASTER_ADDR", "10.0.0.1")]),
            ("multi-node", vec![("SLURM_NNODES", "4"), ("SLURM_NODEID", "3"), ("MASTER_ADDR", "node-a")]),
        ] {
            let o = run_launch(&script, mode, &cwd, &path, &env);
            assert!(o.status.success(), "{target} {mode}: {}", String::from_utf8_lossy(&o.stderr));
        }
        let calls = std::fs::read_to_string(&log).unwrap();
        let calls: Vec<&str> = calls.split_terminator("<END>\n").collect();
        assert_eq!(calls.len(), 4, "{calls:?}");
        let cwd_tag = format!("cwd=<{}>", real.display());
        assert!(calls.iter().all(|c| c.contains(&cwd_tag)), "{calls:?}");
        match target {
            Target::Trl => {
                assert!(calls[0].starts_with("trl <sft> <--config> <sft.yaml>"), "{}", calls[0]);
                assert!(
                    calls[1].starts_with(
                        "accelerate <launch> <--config_file> <accelerate_fsdp2.yaml> <--num_processes> <2> <-m> <trl.scripts.sft> <--config> <sft.yaml>"
                    ),
                    "{}",
                    calls[1]
                );
                assert!(calls[2].contains("<--num_machines> <2> <--machine_rank> <1> <--main_process_ip> <10.0.0.1> <--main_process_port> <29500> <--num_processes> <4>"), "{}", calls[2]);
                assert!(calls[2].contains("<accelerate_zero3.yaml>"), "{}", calls[2]);
                assert!(
                    calls[3].contains("<--num_machines> <4> <--machine_rank> <3> <--main_process_ip> <node-a>"),
                    "{}",
                    calls[3]
                );
            }
            Target::Axolotl => {
                assert!(calls[0].starts_with("axolotl <train> <config.yml> <--launcher> <python> cwd"), "{}", calls[0]);
                // ACCEL=fsdp2: the FSDP2 variant of the config; the default zero3: --deepspeed.
                assert!(
                    calls[1].starts_with(
                        "axolotl <train> <config_fsdp2.yml> <--launcher> <torchrun> <--> <--nproc_per_node> <2>"
                    ),
                    "{}",
                    calls[1]
                );
                assert!(calls[2].contains("<--nnodes> <2> <--node_rank> <1> <--nproc_per_node> <2>"), "{}", calls[2]);
                assert!(calls[2].contains("<--rdzv_endpoint> <10.0.0.1:29500>"), "{}", calls[2]);
                assert!(calls[2].contains("<--deepspeed> <deepspeed_zero3.json>"), "{}", calls[2]);
                assert!(calls[3].contains("<--nnodes> <4> <--node_rank> <3>"), "{}", calls[3]);
            }
            _ => {
                assert!(calls[0].starts_with("llamafactory-cli <train> <train.yaml> cwd"), "{}", calls[0]);
                assert!(calls[0].contains("FORCE_TORCHRUN=<>"), "{}", calls[0]);
                assert!(calls[1].contains("FORCE_TORCHRUN=<1>") && calls[1].contains("NPROC=<2>"), "{}", calls[1]);
                assert!(calls[1].starts_with("llamafactory-cli <train> <train_fsdp2.yaml>"), "{}", calls[1]);
                assert!(calls[2].contains("<train.yaml> <deepspeed=ds_z3_config.json>"), "{}", calls[2]);
                assert!(calls[2].contains("FORCE_TORCHRUN=<1> NNODES=<2> NODE_RANK=<1>"), "{}", calls[2]);
                assert!(calls[3].contains("NNODES=<4> NODE_RANK=<3>"), "{}", calls[3]);
            }
        }
        // Multi-node without a master address fails clearly.
        let o = run_launch(&script, "multi-node", &cwd, &path, &[("NNODES", "2")]);
        assert!(!o.status.success());
        assert!(String::from_utf8_lossy(&o.stderr).contains("MASTER_ADDR"));
        // A missing trainer is reported, not a bash error.
        let o = run_launch(&script, "single", &cwd, "/usr/bin:/bin", &[]);
        assert_eq!(o.status.code(), Some(127), "{target}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("is not installed"));
        let o = run_launch(&script, "bogus", &cwd, &path, &[]);
        assert_eq!(o.status.code(), Some(2));
        // The variant can also come from LAUNCH_MODE.
        let o = run_launch(&script, "", &cwd, &path, &[("LAUNCH_MODE", "print-paths")]);
        assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).starts_with("run_dir="));
    }
    for d in [dir.path(), cwd.as_path(), Path::new(".")] {
        assert!(!pwned(d), "a command was injected (PWNED file in {})", d.display());
    }
}

#[test]
fn cli_export_prints_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = prepare(dir.path(), &FIXTURES[0]);
    let out = dir.path().join("x.jsonl");
    let o = sift()
        .arg("export")
        .arg(&path)
        .args(["--select", "accepted", "--to", "openai", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "a skipped record fails the run: {}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    // Accepted: 0, 3 (malformed), 5, 8.
    assert!(text.contains("selected 4, written 3, skipped 1 (malformed 1"), "{text}");
    assert!(text.contains("malformed: records 3"), "{text}");
    assert_eq!(read_rows(&out).len(), 3);
    let o = sift()
        .arg("export")
        .arg(&path)
        .args(["--select", "accepted", "--to", "openai", "--allow-skip", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "--allow-skip: {}", String::from_utf8_lossy(&o.stderr));
    let o = sift()
        .arg("export")
        .arg(&path)
        .args(["--select", "all", "--tag", "keep", "--to", "trl", "--base", "m", "--strict", "--json", "--out"])
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "--strict fails when records were skipped");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["selected"], 5);
    assert_eq!(v["trainer"], "trl");
    assert!(dir.path().join("run/launch.sh").is_file());
    let o = sift().arg("export").arg(&path).args(["--to", "nope", "--out", "x"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}
