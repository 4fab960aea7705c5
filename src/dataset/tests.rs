use super::*;
use std::path::Path;

fn open(bytes: &str) -> Dataset {
    Dataset::from_bytes(Path::new("t.json"), bytes.as_bytes().to_vec(), None).unwrap()
}

const ARRAY: &str = "[\n    {\n        \"instruction\": \"Say hi\",\n        \"input\": \"\",\n        \"output\": \"Hi \\u2019 there\"\n    },\n    {\n        \"instruction\": \"Add\",\n        \"input\": \"1 2\",\n        \"output\": \"3\",\n        \"extra\": [1, 2]\n    }\n]";

#[test]
fn unchanged_render_is_byte_identical() {
    let ds = open(ARRAY);
    assert_eq!(ds.format(), Format::Alpaca);
    assert_eq!(ds.len(), 2);
    assert_eq!(ds.render().0, ARRAY.as_bytes());
    assert!(!ds.is_modified());
    assert_eq!(ds.record(0).unwrap().output, "Hi \u{2019} there");
}

#[test]
fn edit_touches_only_the_value_and_edit_back_restores_bytes() {
    let mut ds = open(ARRAY);
    let id = ds.entry(0).unwrap().id;
    let raw = ds.with_field(0, Field::Output, "Hello \u{2019}!").unwrap();
    ds.set_raw(id, raw);
    let out = String::from_utf8(ds.render().0).unwrap();
    assert!(out.contains("\"output\": \"Hello \\u2019!\"\n    },"), "{out}");
    assert_eq!(out.replace("Hello \\u2019!", "Hi \\u2019 there"), ARRAY);
    let raw = ds.with_field(0, Field::Output, "Hi \u{2019} there").unwrap();
    ds.set_raw(id, raw);
    assert!(!ds.is_modified());
    assert_eq!(ds.render().0, ARRAY.as_bytes());
}

#[test]
fn missing_field_is_added_in_the_record_layout() {
    let mut ds = open("{\"instruction\": \"a\", \"output\": \"b\"}\n");
    let raw = ds.with_field(0, Field::Input, "z").unwrap();
    assert_eq!(
        String::from_utf8(raw.clone()).unwrap(),
        "{\"instruction\": \"a\", \"output\": \"b\", \"input\": \"z\"}"
    );
    ds.set_raw(0, raw);
    assert_eq!(ds.record(0).unwrap().input, "z");
}

#[test]
fn insert_and_delete_keep_neighbours_exact() {
    let mut ds = open(ARRAY);
    let gone = ds.remove(0).unwrap();
    let out = String::from_utf8(ds.render().0).unwrap();
    assert!(out.starts_with("[\n    {\n        \"instruction\": \"Add\""), "{out}");
    assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
    ds.insert(0, &gone);
    assert_eq!(ds.render().0, ARRAY.as_bytes());
    let id = ds.allocate_id();
    let blank = ds.blank_record();
    ds.insert(2, &EntryState { id, ord: None, malformed: false, raw: blank });
    let out = String::from_utf8(ds.render().0).unwrap();
    assert!(out.ends_with("    },\n    {\n        \"instruction\": \"\",\n        \"input\": \"\",\n        \"output\": \"\"\n    }\n]"), "{out}");
    assert_eq!(ds.len(), 3);
}

#[test]
fn malformed_lines_are_kept_and_reported_with_position() {
    let text: &[u8] =
        b"{\"instruction\": \"a\", \"output\": \"b\"}\n{broken\n\xff\n{\"instruction\": 3, \"output\": \"c\"}\n";
    let ds = Dataset::from_bytes(Path::new("t.jsonl"), text.to_vec(), None);
    let ds = ds.unwrap();
    assert_eq!(ds.len(), 4);
    assert_eq!(ds.malformed_count(), 2);
    let lines: Vec<usize> = ds.problems().iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![2, 3, 4]);
    assert_eq!(ds.problems()[1].kind, ProblemKind::InvalidUtf8);
    assert_eq!(ds.problems()[0].offset, 36);
    assert_eq!(ds.render().0, text);
}

#[test]
fn unknown_format_names_file_and_expectations() {
    let err = Dataset::from_bytes(Path::new("x.jsonl"), b"{\"foo\": 1}\n".to_vec(), None).err().unwrap();
    let msg = err.to_string();
    assert!(msg.contains("x.jsonl") && msg.contains("alpaca (instruction, output)") && msg.contains("[foo]"), "{msg}");
}

#[test]
fn conversation_output_edits_the_last_assistant_turn() {
    let text =
        "{\"messages\": [{\"role\": \"user\", \"content\": \"q\"}, {\"role\": \"assistant\", \"content\": \"a\"}]}\n";
    let mut ds = Dataset::from_bytes(Path::new("t.jsonl"), text.as_bytes().to_vec(), None).unwrap();
    assert_eq!(ds.format(), Format::OpenAi);
    let raw = ds.with_field(0, Field::Output, "b").unwrap();
    ds.set_raw(0, raw);
    assert_eq!(ds.render().0, text.replace("\"a\"", "\"b\"").as_bytes());
    assert!(ds.with_field(0, Field::Input, "x").is_err());
}
