//! Formats as they are in the wild: tool calls, content parts, images, preference and KTO data, a
//! single-object file, and files that are not instruction data. Small files written in each shape
//! (tests/fixtures/formats) are read, edited part by part and written back byte for byte.

mod common;
use common::*;
use sift::dataset::format::{MediaKind, Part};
use sift::dataset::{Dataset, EditError, Field, Format, OpenError, Role};
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats").join(name)
}

fn open(name: &str) -> Dataset {
    let ds = Dataset::open(&fixture(name), None).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(ds.render().0, std::fs::read(fixture(name)).unwrap(), "{name}: unchanged render is byte-identical");
    for pos in 0..ds.len() {
        let d = ds.decoded(pos).unwrap();
        assert!(d.issues.is_empty(), "{name} #{pos}: {:?}", d.issues);
    }
    ds
}

/// Sets `field` of record `pos` to `value`, checks the record still parses, then sets it back and
/// checks the bytes are the original ones.
fn edit_and_back(ds: &mut Dataset, pos: usize, field: Field, value: &str) -> serde_json::Value {
    let id = ds.entry(pos).unwrap().id;
    let before = ds.raw(pos).to_vec();
    let old = text_of(ds, pos, field);
    let raw = ds.with_field(pos, field, value).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&raw).expect("edited record is JSON");
    ds.set_raw(id, raw);
    assert_eq!(text_of(ds, pos, field), value);
    let raw = ds.with_field(pos, field, &old).unwrap();
    ds.set_raw(id, raw);
    assert_eq!(ds.raw(pos), &before[..], "editing back restores the bytes");
    assert!(!ds.is_modified());
    v
}

fn text_of(ds: &Dataset, pos: usize, field: Field) -> String {
    let r = ds.record(pos).unwrap();
    match field {
        Field::Output => r.output,
        Field::Instruction => r.instruction,
        Field::Turn(n) => r.turns[n].text.clone(),
        Field::Part(n, k) => match r.turns[n].parts.iter().filter(|p| matches!(p, Part::Text(_))).nth(k) {
            Some(Part::Text(t)) => t.clone(),
            _ => panic!("no part"),
        },
        Field::Rejected(n) => r.preference.unwrap().rejected[n].text.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sharegpt_function_call_and_observation_with_tools() {
    let mut ds = open("sharegpt_tools.json");
    assert_eq!(ds.format(), Format::ShareGpt);
    let r = ds.record(0).unwrap();
    let roles: Vec<&str> = r.turns.iter().map(|t| t.role.label()).collect();
    assert_eq!(roles, ["system", "user", "assistant", "tool", "assistant"]);
    let call = &r.turns[2];
    assert!(call.text_is_call && call.is_call_only());
    assert_eq!(call.tool_calls[0].name, "get_weather");
    assert!(call.tool_calls[0].pretty_arguments().contains("\"city\": \"Lisbon\""));
    assert_eq!(r.tools.as_ref().unwrap()[0]["name"], "get_weather", "the tools string is read as JSON");
    assert_eq!(r.output, "It is 21 °C and clear in Lisbon: good for your peppers.");
    assert!(r.conversation_text().contains("get_weather("));
    assert_eq!(r.turn_matching("PEPPERS"), Some(1), "a search match names the first turn that has it");
    // An empty tools string is no tools.
    assert_eq!(ds.record(1).unwrap().tools, None);
    let v = edit_and_back(&mut ds, 0, Field::Turn(3), "{\"temp_c\": 22}");
    assert_eq!(v["conversations"][2]["value"], "{\"temp_c\": 22}");
}

#[test]
fn openai_tool_calls_tool_role_tools_and_image_parts() {
    let mut ds = open("openai_tools.jsonl");
    assert_eq!(ds.format(), Format::OpenAi);
    let r = ds.record(0).unwrap();
    assert_eq!(r.turns[2].tool_calls[0].id.as_deref(), Some("call_1"));
    assert_eq!(r.turns[2].tool_calls[0].name, "convert");
    assert!(r.turns[2].is_call_only());
    assert_eq!(r.turns[3].role, Role::Tool);
    assert_eq!(r.turns[3].tool_call_id.as_deref(), Some("call_1"));
    assert_eq!(r.tools.as_ref().unwrap()[0]["function"]["name"], "convert");
    // The null content of a call-only turn can be given text.
    let raw = ds.with_field(0, Field::Turn(2), "Let me convert that.").unwrap();
    let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(v["messages"][2]["content"], "Let me convert that.");
    assert_eq!(v["messages"][2]["tool_calls"][0]["id"], "call_1");

    let r = ds.record(1).unwrap();
    assert_eq!(r.turns[0].text, "What is in this picture?");
    let media = r.all_media();
    assert_eq!((media[0].kind, media[0].source.as_str()), (MediaKind::Image, "https://example.org/cat.png"));
    // Editing a one-text-part list keeps it a list.
    let v = edit_and_back(&mut ds, 1, Field::Output, "A cat.");
    assert_eq!(v["messages"][1]["content"][0], serde_json::json!({"type": "text", "text": "A cat."}));
    let v = edit_and_back(&mut ds, 1, Field::Turn(0), "What is this?");
    assert_eq!(v["messages"][0]["content"][1]["type"], "image_url", "the image part stays");
}

#[test]
fn llamafactory_v1_parts_and_loss_weight() {
    let mut ds = open("lf_v1.jsonl");
    assert_eq!(ds.format(), Format::OpenAi);
    let r = ds.record(0).unwrap();
    assert_eq!((r.instruction.as_str(), r.output.as_str()), ("Name a prime.", "Seven."));
    assert_eq!(r.system.as_deref(), Some("You are terse."));
    assert_eq!(r.turns[1].weight, Some(0.0));
    assert!(!r.turns[1].trained && r.turns[2].trained);
    let v = edit_and_back(&mut ds, 0, Field::Output, "Eleven.");
    assert_eq!(v["messages"][2]["content"], serde_json::json!([{"type": "text", "value": "Eleven."}]));
    assert_eq!(v["messages"][2]["loss_weight"], 1.0);

    // Two text parts: each is edited on its own; the turn as a whole is refused, not flattened.
    let r = ds.record(1).unwrap();
    assert_eq!(r.turns[1].text, "It is red.\nIt has two moons.");
    assert_eq!(ds.with_field(1, Field::Turn(1), "x"), Err(EditError::SeveralParts { turn: 1, parts: 2 }));
    let v = edit_and_back(&mut ds, 1, Field::Part(1, 1), "It has two small moons.");
    assert_eq!(v["messages"][1]["content"][1]["value"], "It has two small moons.");
    assert_eq!(v["messages"][1]["content"][0]["value"], "It is red.");
    assert_eq!(Field::from_name("turn:1.1"), Some(Field::Part(1, 1)));
}

#[test]
fn images_list_with_image_markers() {
    let mut ds = open("mllm.json");
    let r = ds.record(0).unwrap();
    assert_eq!(r.media.len(), 1);
    assert_eq!((r.media[0].kind, r.media[0].source.as_str()), (MediaKind::Image, "mllm_demo_data/1.jpg"));
    assert!(r.turns[0].text.starts_with("<image>"));
    assert!(r.is_multi_turn());
    edit_and_back(&mut ds, 0, Field::Turn(3), "A red football shirt.");
}

#[test]
fn preference_pairs_in_each_shape() {
    let mut ds = open("dpo.json");
    assert_eq!(ds.format(), Format::ShareGpt);
    let r = ds.record(0).unwrap();
    let p = r.preference.as_ref().unwrap();
    assert_eq!((r.output.as_str(), p.rejected[0].text.as_str()), ("Joyful.", "Sad."));
    assert_eq!(r.chosen().unwrap()[0].text, "Joyful.");
    edit_and_back(&mut ds, 0, Field::Rejected(0), "Miserable.");
    edit_and_back(&mut ds, 0, Field::Output, "Glad.");

    let mut ds = open("trl_dpo.jsonl");
    assert_eq!(ds.format(), Format::Preference);
    for pos in 0..3 {
        let r = ds.record(pos).unwrap();
        let p = r.preference.as_ref().unwrap();
        assert_eq!(p.prompt_turns, 1, "#{pos}");
        assert_eq!(r.turns.len(), 2, "#{pos}");
        assert_eq!(p.rejected.len(), 1, "#{pos}");
    }
    let r = ds.record(2).unwrap();
    assert_eq!((r.instruction.as_str(), r.output.as_str()), ("2+2?", "4"), "implicit prompt");
    assert_eq!(r.preference.unwrap().rejected[0].text, "5");
    edit_and_back(&mut ds, 0, Field::Rejected(0), " red.");
    edit_and_back(&mut ds, 1, Field::Rejected(0), "Red.");
    edit_and_back(&mut ds, 2, Field::Rejected(0), "22");
    edit_and_back(&mut ds, 0, Field::Instruction, "The grass is");
}

#[test]
fn kto_labels() {
    let ds = open("kto.jsonl");
    assert_eq!(ds.format(), Format::PromptCompletion);
    assert_eq!(ds.record(0).unwrap().label, Some(true));
    assert_eq!(ds.record(1).unwrap().label, Some(false));
    let ds = open("kto_sharegpt.json");
    assert_eq!(ds.record(1).unwrap().label, Some(false));
}

#[test]
fn a_single_object_file_is_one_record() {
    let mut ds = open("axolotl_conversation.json");
    assert_eq!(ds.len(), 1);
    assert_eq!(ds.format(), Format::ShareGpt);
    assert!(ds.problems().is_empty(), "{:?}", ds.problems());
    let r = ds.record(0).unwrap();
    assert_eq!(r.turns.len(), 4);
    assert_eq!(r.output, "Pass reverse=True to either.");
    edit_and_back(&mut ds, 0, Field::Turn(2), "and descending?");
}

#[test]
fn files_that_are_not_instruction_data_get_one_clear_error() {
    for (name, says) in [
        ("dataset_info.json", "2 named entries"),
        ("pretrain.jsonl", "pretraining text records"),
        ("data.csv", "CSV text with the header `instruction,input,output`"),
    ] {
        match Dataset::open(&fixture(name), None) {
            Err(e @ OpenError::NotInstructionData { .. }) => assert!(e.to_string().contains(says), "{name}: {e}"),
            Err(e) => panic!("{name}: wrong error {e}"),
            Ok(ds) => panic!("{name}: opened as {} with {} records", ds.format(), ds.len()),
        }
        for cmd in ["stats", "check"] {
            let out = sift().arg(cmd).arg(fixture(name)).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{cmd} {name}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("is not instruction data") && err.lines().count() == 1, "{cmd} {name}: {err}");
        }
    }
}

/// FastChat-shaped conversations: each different, all ending with the same closing exchange.
fn fastchat(n: usize) -> String {
    let mut out = String::from("[\n");
    for k in 0..n {
        let rec = serde_json::json!({"id": format!("c{k}"), "conversations": [
            {"from": "human", "value": format!("Question {k}: how do peppers grow in zone {k}?")},
            {"from": "gpt", "value": format!("In zone {k} they need {k} weeks of warmth.")},
            {"from": "human", "value": "Thanks!"},
            {"from": "gpt", "value": "You are welcome. Have a nice day!"}]});
        out.push_str(&format!("  {rec}{}\n", if k + 1 < n { "," } else { "" }));
    }
    out.push_str("]\n");
    out
}

#[test]
fn duplicates_len_and_search_cover_every_turn() {
    let (_dir, path) = temp_file("fastchat.json", fastchat(40).as_bytes());
    let out = sift().arg("stats").arg(&path).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["duplicate_instructions"], 0, "same last exchange, different conversations");
    assert_eq!(v["multi_turn"], 40);
    assert!(v["fields"]["all_turns"]["min"].as_u64().unwrap() > v["fields"]["output"]["max"].as_u64().unwrap());

    // The TUI's search, len and duplicate detection read the same fields.
    let ds = Dataset::open(&path, None).unwrap();
    let records: Vec<_> = (0..ds.len()).map(|p| ds.record(p).unwrap()).collect();
    let fields: Vec<_> = records.iter().map(sift::tui::app::search_fields).collect();
    let m = sift::tui::search::matcher();
    let q = sift::tui::search::Query::parse("zone 17");
    let hits: Vec<usize> =
        (0..fields.len()).filter(|&p| q.matches(&m, &sift::tui::search::lower(&fields[p]))).collect();
    assert_eq!(hits, [17], "a match in the first exchange is found");
    assert_eq!(records[17].turn_matching("zone 17"), Some(0));
    assert!(sift::tui::app::record_len(&fields[3]) as usize > records[3].output.chars().count() + 20);
    use sift::dataset::RecordText;
    use sift::quality::heuristics::{FlagConfig, FlagKind};
    let texts: Vec<RecordText> =
        fields.iter().map(|f| RecordText { instruction: &f.instruction, input: &f.input, output: "" }).collect();
    let flags = sift::quality::dedup::duplicate_flags(&texts, &FlagConfig::default());
    let dups = flags.iter().flatten().filter(|f| f.kind == FlagKind::Duplicate).count();
    assert_eq!(dups, 0, "{:?}", flags.iter().flatten().next());

    // A true copy of a whole conversation is still a duplicate.
    let mut copy = fastchat(3);
    copy = copy
        .replace("\"c1\"", "\"c0\"")
        .replace("Question 1: how do peppers grow in zone 1?", "Question 0: how do peppers grow in zone 0?")
        .replace("In zone 1 they need 1 weeks", "In zone 0 they need 0 weeks");
    let (_dir2, path2) = temp_file("copy.json", copy.as_bytes());
    let out = sift().arg("stats").arg(&path2).arg("--json").output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["duplicate_instructions"], 2);
}

#[test]
fn stats_and_check_count_the_same_problems() {
    let text = concat!(
        "{\"prompt\": \"a\", \"chosen\": \"b\", \"rejected\": \"c\"}\n",
        "{\"prompt\": \"a\", \"chosen\": \"b\"}\n",
        "{\"prompt\": 5, \"chosen\": [{\"role\": \"assistant\", \"content\": \"x\"}], \"rejected\": [{\"role\": \"assistant\"}]}\n",
        "not json\n",
    );
    let (_dir, path) = temp_file("dpo.jsonl", text.as_bytes());
    let check = sift().arg("check").arg(&path).arg("--json").output().unwrap();
    let listed: serde_json::Value = serde_json::from_slice(&check.stdout).unwrap();
    let stats = sift().arg("stats").arg(&path).arg("--json").output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(v["format"], "preference");
    assert_eq!(v["preference_pairs"], 3);
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
    assert_eq!(v["problems"], 3, "stats counts what check lists");
}

/// Runs `sift export --select all` and returns (exit code, stdout+stderr, data rows).
fn export(name: &str, to: &str, extra: &[&str]) -> (i32, String, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    let (_src_dir, src) = copy_to_temp(&fixture(name));
    let out = dir.path().join(if to == "llamafactory" { "run" } else { "out.jsonl" });
    let o = sift()
        .arg("export")
        .arg(&src)
        .args(["--select", "all", "--to", to])
        .args(extra)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let data = if to == "llamafactory" { out.join("data.jsonl") } else { out.clone() };
    let rows =
        std::fs::read_to_string(&data).unwrap_or_default().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    if to == "llamafactory" {
        let info: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("dataset_info.json")).unwrap()).unwrap();
        let e = &info["sift_export"];
        assert_eq!(e["tags"]["function_tag"], "function_call");
        assert_eq!(e["tags"]["observation_tag"], "observation");
        let mut rows_v: Vec<serde_json::Value> = rows;
        rows_v.push(e.clone());
        return (o.status.code().unwrap(), text, rows_v);
    }
    (o.status.code().unwrap(), text, rows)
}

#[test]
fn tool_calls_and_tools_are_exported_in_each_targets_form() {
    // ShareGPT function_call/observation -> OpenAI tool_calls + tool role + tools.
    let (code, text, rows) = export("sharegpt_tools.json", "openai", &[]);
    assert_eq!(code, 0, "{text}");
    let m = &rows[0]["messages"];
    assert_eq!(m[2]["role"], "assistant");
    assert_eq!(m[2]["content"], serde_json::Value::Null);
    assert_eq!(m[2]["tool_calls"][0]["function"]["name"], "get_weather");
    let args: serde_json::Value =
        serde_json::from_str(m[2]["tool_calls"][0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args["city"], "Lisbon");
    assert_eq!(m[3]["role"], "tool");
    assert_eq!(m[3]["tool_call_id"], m[2]["tool_calls"][0]["id"]);
    assert_eq!(rows[0]["tools"][0]["name"], "get_weather");
    assert!(rows[1].get("tools").is_none(), "no tools, no column");

    // ... and to LLaMA-Factory: nothing skipped, function_call/observation roles, tools as a string.
    let (code, text, rows) = export("sharegpt_tools.json", "llamafactory", &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("written 2, skipped 0"), "{text}");
    let roles: Vec<&str> =
        rows[0]["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "function_call", "observation", "assistant"]);
    assert_eq!(rows[0]["system"], "You can call tools.");
    let tools: serde_json::Value = serde_json::from_str(rows[0]["tools"].as_str().unwrap()).unwrap();
    assert_eq!(tools[0]["name"], "get_weather");
    assert_eq!(rows[1]["tools"], "", "every row has the column");
    assert_eq!(rows[2]["columns"]["tools"], "tools");

    // OpenAI tool_calls -> ShareGPT function_call with the call as JSON.
    let (code, text, rows) = export("openai_tools.jsonl", "sharegpt", &[]);
    assert_eq!(code, 0, "{text}");
    let c = &rows[0]["conversations"];
    assert_eq!(rows[0]["system"], "Use tools when needed.", "with tools, the system prompt has its own column");
    assert_eq!(c[1]["from"], "function_call");
    let call: serde_json::Value = serde_json::from_str(c[1]["value"].as_str().unwrap()).unwrap();
    assert_eq!((call["name"].as_str(), call["arguments"]["amount"].as_i64()), (Some("convert"), Some(100)));
    assert_eq!(c[2]["from"], "observation");
    let tools: serde_json::Value = serde_json::from_str(rows[0]["tools"].as_str().unwrap()).unwrap();
    assert_eq!(tools[0]["function"]["name"], "convert");
    assert_eq!(rows[1]["conversations"][0]["value"], "What is in this picture?");

    // TRL keeps tools and the tool turns in the prompt.
    let (code, _, rows) = export("openai_tools.jsonl", "trl", &[]);
    assert_eq!(code, 0);
    assert_eq!(rows[0]["prompt"][2]["tool_calls"][0]["id"], "call_1");
    assert_eq!(rows[0]["tools"][0]["function"]["name"], "convert");
    assert_eq!(rows[1]["prompt"][0]["content"][1]["image_url"]["url"], "https://example.org/cat.png");

    // Alpaca cannot hold tool calls: counted, listed, exit 1 (0 with --allow-skip).
    let (code, text, rows) = export("sharegpt_tools.json", "alpaca", &[]);
    assert_eq!((code, rows.len()), (1, 1), "{text}");
    assert!(text.contains("not representable: records 0") && text.contains("tool calls"), "{text}");
}

#[test]
fn images_kto_and_preference_exports() {
    let (code, _, rows) = export("mllm.json", "openai", &[]);
    assert_eq!(code, 0);
    assert_eq!(rows[0]["images"], serde_json::json!(["mllm_demo_data/1.jpg"]));
    let (_, _, rows) = export("mllm.json", "sharegpt", &[]);
    assert_eq!(rows[0]["images"], serde_json::json!(["mllm_demo_data/1.jpg"]));

    // An undesirable KTO record never becomes an SFT target; the skip is counted and fails the run.
    let (code, text, rows) = export("kto.jsonl", "trl", &[]);
    assert_eq!((code, rows.len()), (1, 1), "{text}");
    assert!(text.contains("skipped 1") && text.contains("KTO label false"), "{text}");
    let (code, _, rows) = export("kto.jsonl", "trl", &["--allow-skip"]);
    assert_eq!((code, rows.len()), (0, 1));
    assert_eq!(rows[0]["completion"][0]["content"], "Paris.");
    let (code, _, rows) = export("kto_sharegpt.json", "openai", &[]);
    assert_eq!((code, rows.len()), (1, 1));
    let (code, text, rows) = export("kto.jsonl", "trl-kto", &[]);
    assert_eq!(code, 0, "{text}");
    assert_eq!(rows.iter().map(|r| r["label"].as_bool().unwrap()).collect::<Vec<_>>(), [true, false]);

    // Preference pairs: TRL DPO rows from every shape; LLaMA-Factory ranking rows as ShareGPT.
    let (code, text, rows) = export("trl_dpo.jsonl", "trl-dpo", &[]);
    assert_eq!((code, rows.len()), (0, 3), "{text}");
    assert_eq!(rows[2]["prompt"][0]["content"], "2+2?");
    assert_eq!(
        (rows[2]["chosen"][0]["content"].as_str(), rows[2]["rejected"][0]["content"].as_str()),
        (Some("4"), Some("5"))
    );
    let (code, _, rows) = export("dpo.json", "sharegpt", &[]);
    assert_eq!(code, 0);
    assert_eq!(
        (rows[0]["chosen"]["value"].as_str(), rows[0]["rejected"]["value"].as_str()),
        (Some("Joyful."), Some("Sad."))
    );
    let (code, text, _) = export("sharegpt_tools.json", "trl-dpo", &[]);
    assert_eq!(code, 1, "records without a pair are listed, not dropped: {text}");
}

/// A small Parquet file written with the parquet crate's own writer (snappy-compressed, as pandas
/// and the datasets library write them): Alpaca columns, `rows` of (instruction, input, output).
fn write_parquet(path: &std::path::Path, rows: &[(&str, &str, &str)]) {
    use parquet::basic::Compression;
    use parquet::data_type::{ByteArray, ByteArrayType};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use std::sync::Arc;
    let schema = "message rows { REQUIRED BYTE_ARRAY instruction (UTF8); REQUIRED BYTE_ARRAY input (UTF8); \
                  REQUIRED BYTE_ARRAY output (UTF8); }";
    let schema = Arc::new(parquet::schema::parser::parse_message_type(schema).unwrap());
    let props = Arc::new(WriterProperties::builder().set_compression(Compression::SNAPPY).build());
    let mut w = SerializedFileWriter::new(std::fs::File::create(path).unwrap(), schema, props).unwrap();
    let mut group = w.next_row_group().unwrap();
    let mut column = 0;
    while let Some(mut col) = group.next_column().unwrap() {
        let values: Vec<ByteArray> = rows.iter().map(|r| [r.0, r.1, r.2][column].into()).collect();
        col.typed::<ByteArrayType>().write_batch(&values, None, None).unwrap();
        col.close().unwrap();
        column += 1;
    }
    group.close().unwrap();
    w.close().unwrap();
}

#[test]
fn gzip_and_parquet_are_read_only_sources() {
    use sift::dataset::Source;
    use sift::session::{OpenOptions, Session, SessionError, Status};
    // gzip: one of the fixtures, compressed.
    let ds = Dataset::open(&fixture("data.jsonl.gz"), None).unwrap();
    assert_eq!((ds.source(), ds.format(), ds.len()), (Source::Gzip, Format::Alpaca, 1));
    assert_eq!(ds.record(0).unwrap().output, "b");
    // A file that only looks like Parquet: one clear error, exit 2.
    let Err(e) = Dataset::open(&fixture("data.parquet"), None) else { panic!("a damaged Parquet file opened") };
    assert!(matches!(e, OpenError::Source { .. }) && e.to_string().contains("cannot read the Parquet file"), "{e}");
    let out = sift().arg("stats").arg(fixture("data.parquet")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));

    let dir = tempfile::tempdir().unwrap();
    let pq = dir.path().join("train.parquet");
    write_parquet(&pq, &[("Name a colour.", "", "Red."), ("Translate.", "Bonjour", "Hello")]);
    let on_disk = std::fs::read(&pq).unwrap();
    let ds = Dataset::open(&pq, None).unwrap();
    assert_eq!((ds.source(), ds.format(), ds.len()), (Source::Parquet, Format::Alpaca, 2));
    assert_eq!(ds.record(1).unwrap().input, "Bonjour");

    // Read commands: check, stats, export.
    let out = sift().arg("check").arg(&pq).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 records, 0 problems"));
    let out = sift().args(["stats", "--json"]).arg(&pq).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["records"], 2);
    let exported = dir.path().join("out.jsonl");
    let out = sift()
        .arg("export")
        .arg(&pq)
        .args(["--select", "all", "--to", "openai", "--out"])
        .arg(&exported)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<serde_json::Value> =
        std::fs::read_to_string(&exported).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows[1]["messages"][1]["content"], "Hello");

    // Review state works on it.
    let out = sift().arg("set").arg(&pq).args(["--index", "1", "--status", "accepted"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(Session::open_read_only(&pq, None).unwrap().status(1), Status::Accepted);

    // Edits: refused in place, naming save-as; saved with --save-as to JSONL.
    let out =
        sift().arg("edit").arg(&pq).args(["--index", "0", "--field", "output", "--value", "Blue."]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Parquet file") && err.contains("save-as"), "{err}");
    assert_eq!(std::fs::read(&pq).unwrap(), on_disk, "the source is never rewritten");
    let saved = dir.path().join("train.jsonl");
    let out = sift()
        .arg("edit")
        .arg(&pq)
        .args(["--index", "0", "--field", "output", "--value", "Blue.", "--save-as"])
        .arg(&saved)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        std::fs::read_to_string(&saved).unwrap(),
        "{\"instruction\": \"Name a colour.\", \"input\": \"\", \"output\": \"Blue.\"}\n\
         {\"instruction\": \"Translate.\", \"input\": \"Bonjour\", \"output\": \"Hello\"}\n"
    );
    assert_eq!(std::fs::read(&pq).unwrap(), on_disk);

    // A session on the gzip source: save refuses, save-as writes JSONL and then saves in place.
    let (_d, gz) = copy_to_temp(&fixture("data.jsonl.gz"));
    let mut s = Session::open(&gz, &OpenOptions::default()).unwrap();
    s.set_field(0, Field::Output, "c").unwrap();
    assert!(matches!(s.save(false), Err(SessionError::ReadOnlySource { .. })));
    assert!(matches!(s.save_as(&gz.with_extension("gz2.gz")), Err(SessionError::SaveAsText { .. })));
    let to = gz.with_file_name("data.jsonl");
    s.save_as(&to).unwrap();
    assert_eq!(std::fs::read_to_string(&to).unwrap(), "{\"instruction\": \"a\", \"output\": \"c\"}\n");
    s.set_field(0, Field::Output, "d").unwrap();
    s.save(false).unwrap();
}

#[test]
fn preference_pairs_export_to_llamafactory_ranking() {
    let (code, text, rows) = export("dpo.json", "llamafactory", &[]);
    assert_eq!(code, 0, "{text}");
    let (row, entry) = (&rows[0], &rows[1]);
    assert_eq!(row["messages"], serde_json::json!([{"role": "user", "content": "Give me a synonym for happy."}]));
    assert_eq!(row["chosen"], serde_json::json!({"role": "assistant", "content": "Joyful."}));
    assert_eq!(row["rejected"], serde_json::json!({"role": "assistant", "content": "Sad."}));
    assert_eq!(entry["ranking"], true);
    assert_eq!(
        (entry["columns"]["chosen"].as_str(), entry["columns"]["rejected"].as_str()),
        (Some("chosen"), Some("rejected"))
    );
    // Every shape of pair; one whose responses are conversations is listed, not dropped.
    let (code, text, rows) = export("trl_dpo.jsonl", "llamafactory", &[]);
    assert_eq!(rows.len() - 1, 3, "{text}");
    assert_eq!(code, 0, "{text}");
    assert_eq!(rows[0]["chosen"]["content"], " blue.");
}
