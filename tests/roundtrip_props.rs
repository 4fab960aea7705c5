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
