//! Property tests: for every format and file style, open + render is byte-identical, an edit
//! changes exactly the edited value, and editing it back restores the file byte for byte.

use proptest::prelude::*;
use serde_json::{Value, json};
use sift::dataset::{Dataset, Field, Format};
use std::path::Path;

fn text() -> impl Strategy<Value = String> {
    prop::string::string_regex("[a-zA-Z0-9 \"\\\\/\n\t\u{1}\u{1f}\u{7f}é€😀中]{0,24}").unwrap()
}

/// A record of `format` built from three texts.
fn record(format: Format, c: &str, z: &str, y: &str, variant: bool) -> Value {
    match format {
        Format::Alpaca if variant => {
            json!({"instruction": c, "input": z, "output": y, "system": "sys", "history": [["h", "i"]]})
        }
        Format::Alpaca => json!({"instruction": c, "input": z, "output": y}),
        Format::Dolly => json!({"instruction": c, "context": z, "response": y, "category": "open_qa"}),
        Format::ShareGpt => json!({"id": "x1", "conversations": [
            {"from": "human", "value": z}, {"from": "gpt", "value": "mid"}, {"from": "human", "value": c}, {"from": "gpt", "value": y}]}),
        Format::OpenAi => json!({"messages": [{"role": "system", "content": z}, {"role": "user", "content": c},
            {"role": "assistant", "content": y, "weight": 1}]}),
        Format::PromptCompletion if variant => {
            json!({"prompt": [{"role": "user", "content": c}], "completion": [{"role": "assistant", "content": y}]})
        }
        Format::PromptCompletion => json!({"prompt": c, "completion": y}),
        Format::Preference if variant => json!({"prompt": [{"role": "user", "content": c}],
            "chosen": [{"role": "assistant", "content": y}], "rejected": [{"role": "assistant", "content": z}]}),
        Format::Preference => json!({"prompt": c, "chosen": y, "rejected": z}),
    }
}

/// The shapes found in the wild beyond the plain formats: (format, record, fields to edit).
fn wild(shape: usize, c: &str, z: &str, y: &str) -> (Format, Value, Vec<Field>) {
    match shape {
        // ShareGPT with a function call, an observation and tools as a JSON string.
        0 => (
            Format::ShareGpt,
            json!({"conversations": [
            {"from": "human", "value": c},
            {"from": "function_call", "value": json!({"name": "f", "arguments": {"q": z}}).to_string()},
            {"from": "observation", "value": z},
            {"from": "gpt", "value": y}], "system": "s", "tools": "[{\"name\": \"f\"}]"}),
            vec![Field::Turn(1), Field::Turn(3), Field::Turn(4), Field::System],
        ),
        // OpenAI with tool_calls, a tool turn and tools.
        1 => (
            Format::OpenAi,
            json!({"messages": [
            {"role": "user", "content": c},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": z},
            {"role": "assistant", "content": y}], "tools": [{"type": "function", "function": {"name": "f"}}]}),
            vec![Field::Turn(0), Field::Turn(1), Field::Turn(2), Field::Output],
        ),
        // LLaMA-Factory v1: typed parts with `value` and loss_weight; two text parts in the answer.
        2 => (
            Format::OpenAi,
            json!({"messages": [
            {"role": "user", "content": [{"type": "text", "value": c}], "loss_weight": 0.0},
            {"role": "assistant", "content": [{"type": "text", "value": y}, {"type": "text", "value": z}],
                "loss_weight": 1.0}]}),
            vec![Field::Turn(0), Field::Part(1, 0), Field::Part(1, 1)],
        ),
        // OpenAI content parts with an image.
        3 => (
            Format::OpenAi,
            json!({"messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "a.png"}}, {"type": "text", "text": c}]},
            {"role": "assistant", "content": y}]}),
            vec![Field::Turn(0), Field::Output],
        ),
        // An images list with <image> markers.
        4 => (
            Format::OpenAi,
            json!({"messages": [{"role": "user", "content": format!("<image>{c}")},
            {"role": "assistant", "content": y}], "images": ["1.jpg"]}),
            vec![Field::Turn(0), Field::Turn(1)],
        ),
        // LLaMA-Factory ranking (ShareGPT) and TRL implicit-prompt DPO.
        5 => (
            Format::ShareGpt,
            json!({"conversations": [{"from": "human", "value": c}],
            "chosen": {"from": "gpt", "value": y}, "rejected": {"from": "gpt", "value": z}}),
            vec![Field::Turn(0), Field::Output, Field::Rejected(0)],
        ),
        6 => (
            Format::Preference,
            json!({"chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": y}],
            "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": format!("{z}!")}]}),
            vec![Field::Output, Field::Rejected(0)],
        ),
        // KTO: prompt/completion with a label; LLaMA-Factory Alpaca ranking.
        7 => (
            Format::PromptCompletion,
            json!({"prompt": [{"role": "user", "content": c}],
            "completion": [{"role": "assistant", "content": y}], "label": false}),
            vec![Field::Instruction, Field::Output],
        ),
        _ => (
            Format::Preference,
            json!({"instruction": c, "input": "", "chosen": y, "rejected": z}),
            vec![Field::Instruction, Field::Output, Field::Rejected(0)],
        ),
    }
}

/// The current text of `field`.
fn field_text(ds: &Dataset, pos: usize, field: Field) -> String {
    let r = ds.record(pos).unwrap();
    match field {
        Field::Instruction => r.instruction,
        Field::Output => r.output,
        Field::System => r.system.unwrap_or_default(),
        Field::Turn(n) => r.turns[n].text.clone(),
        Field::Part(n, k) => r.turns[n].text.split('\n').nth(k).unwrap_or_default().to_string(),
        Field::Rejected(n) => r.preference.unwrap().rejected[n].text.clone(),
        Field::Input => r.input,
    }
}

#[derive(Debug, Clone, Copy)]
enum Layout {
    Jsonl,
    JsonlCrlf,
    Pretty(usize),
    Compact,
}

fn ascii_escape(s: &str) -> String {
    let mut out = String::new();
    for ch in s.chars() {
        if (ch as u32) < 0x7f {
            out.push(ch);
        } else {
            let mut buf = [0u16; 2];
            for u in ch.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

fn serialize(records: &[Value], layout: Layout, ensure_ascii: bool) -> String {
    let text = match layout {
        Layout::Jsonl | Layout::JsonlCrlf => {
            let nl = if matches!(layout, Layout::JsonlCrlf) { "\r\n" } else { "\n" };
            records.iter().map(|r| python_compact(r) + nl).collect::<String>()
        }
        Layout::Compact => serde_json::to_string(records).unwrap(),
        Layout::Pretty(n) => {
            let mut buf = Vec::new();
            let indent = " ".repeat(n);
            let fmt = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
            let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
            serde::Serialize::serialize(records, &mut ser).unwrap();
            String::from_utf8(buf).unwrap()
        }
    };
    if ensure_ascii { ascii_escape(&text) } else { text }
}

/// `json.dumps` default separators: ", " and ": ".
fn python_compact(v: &Value) -> String {
    match v {
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", serde_json::to_string(k).unwrap(), python_compact(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(a) => format!("[{}]", a.iter().map(python_compact).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

fn formats() -> impl Strategy<Value = Format> {
    prop::sample::select(Format::ALL.to_vec())
}

fn layouts() -> impl Strategy<Value = Layout> {
    prop_oneof![
        Just(Layout::Jsonl),
        Just(Layout::JsonlCrlf),
        Just(Layout::Pretty(2)),
        Just(Layout::Pretty(4)),
        Just(Layout::Compact)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    #[test]
    fn open_render_edit_and_edit_back(
        format in formats(),
        layout in layouts(),
        ensure_ascii in any::<bool>(),
        texts in prop::collection::vec((text(), text(), text(), any::<bool>()), 1..6),
        target in any::<prop::sample::Index>(),
        new_value in text(),
    ) {
        let records: Vec<Value> = texts.iter().map(|(c, z, y, v)| record(format, c, z, y, *v)).collect();
        let file = serialize(&records, layout, ensure_ascii);
        let ds = Dataset::from_bytes(Path::new("p.json"), file.clone().into_bytes(), Some(format)).unwrap();
        prop_assert_eq!(ds.len(), records.len());
        prop_assert!(ds.problems().is_empty(), "{:?}", ds.problems());
        prop_assert_eq!(ds.render().0, file.as_bytes());
        for (n, (c, _z, y, _)) in texts.iter().enumerate() {
            let r = ds.record(n).unwrap();
            prop_assert_eq!(&r.instruction, c);
            prop_assert_eq!(&r.output, y);
        }
        // Edit the response of one record.
        let pos = target.index(records.len());
        let mut ds = ds;
        let id = ds.entry(pos).unwrap().id;
        let old = ds.record(pos).unwrap().output;
        let raw = ds.with_field(pos, Field::Output, &new_value).unwrap();
        ds.set_raw(id, raw);
        prop_assert_eq!(&ds.record(pos).unwrap().output, &new_value);
        let (bytes, spans) = ds.render();
        let reparsed = Dataset::from_bytes(Path::new("p.json"), bytes.clone(), Some(format)).unwrap();
        prop_assert!(reparsed.problems().is_empty());
        for n in 0..records.len() {
            if n != pos {
                prop_assert_eq!(&bytes[spans[n].range()], ds.original_raw(n).unwrap());
            }
        }
        prop_assert_eq!(&reparsed.record(pos).unwrap().output, &new_value);
        // Edit back: the file is byte-identical again.
        let raw = ds.with_field(pos, Field::Output, &old).unwrap();
        ds.set_raw(id, raw);
        prop_assert!(!ds.is_modified());
        prop_assert_eq!(ds.render().0, file.as_bytes());
    }
}

fn line_text() -> impl Strategy<Value = String> {
    prop::string::string_regex("[a-zA-Z0-9 \"\\\\/\t\u{1}é€😀中]{0,24}").unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(160))]

    /// Every shape from the wild: open + render is byte-identical, editing one text (a part, a tool
    /// result, a rejected response) keeps the structure and touches only that value, editing it back
    /// restores the file.
    #[test]
    fn wild_shapes_round_trip_edit_one_part_and_back(
        shape in 0usize..9,
        layout in layouts(),
        ensure_ascii in any::<bool>(),
        texts in prop::collection::vec((line_text(), line_text(), line_text()), 1..5),
        target in any::<prop::sample::Index>(),
        which in any::<prop::sample::Index>(),
        new_value in line_text(),
    ) {
        let built: Vec<(Format, Value, Vec<Field>)> = texts.iter().map(|(c, z, y)| wild(shape, c, z, y)).collect();
        let format = built[0].0;
        let records: Vec<Value> = built.iter().map(|b| b.1.clone()).collect();
        let file = serialize(&records, layout, ensure_ascii);
        let mut ds = Dataset::from_bytes(Path::new("p.json"), file.clone().into_bytes(), None).unwrap();
        prop_assert_eq!(ds.format(), format);
        prop_assert_eq!(ds.len(), records.len());
        prop_assert!(ds.problems().is_empty(), "{:?}", ds.problems());
        prop_assert_eq!(ds.render().0, file.as_bytes());
        let pos = target.index(records.len());
        prop_assert!(ds.decoded(pos).unwrap().issues.is_empty());
        let fields = &built[pos].2;
        let field = fields[which.index(fields.len())];
        let id = ds.entry(pos).unwrap().id;
        let old = field_text(&ds, pos, field);
        let before = ds.record(pos).unwrap();
        let raw = ds.with_field(pos, field, &new_value).unwrap();
        ds.set_raw(id, raw);
        prop_assert_eq!(field_text(&ds, pos, field), new_value.clone());
        // The structure stays: same turns, roles, parts, tool calls, media, tools, preference.
        let after = ds.record(pos).unwrap();
        prop_assert_eq!(after.turns.len(), before.turns.len());
        for (a, b) in after.turns.iter().zip(&before.turns) {
            prop_assert_eq!(&a.role, &b.role);
            prop_assert_eq!(a.parts.len(), b.parts.len());
            prop_assert_eq!(a.tool_calls.len(), b.tool_calls.len());
        }
        prop_assert_eq!(&after.tools, &before.tools);
        prop_assert_eq!(&after.media, &before.media);
        prop_assert_eq!(after.label, before.label);
        prop_assert_eq!(after.preference.is_some(), before.preference.is_some());
        let (bytes, spans) = ds.render();
        for n in 0..records.len() {
            if n != pos {
                prop_assert_eq!(&bytes[spans[n].range()], ds.original_raw(n).unwrap());
            }
        }
        let raw = ds.with_field(pos, field, &old).unwrap();
        ds.set_raw(id, raw);
        prop_assert!(!ds.is_modified());
        prop_assert_eq!(ds.render().0, file.as_bytes());
    }
}
