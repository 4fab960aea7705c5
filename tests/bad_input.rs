//! Bad input never panics and never loses data: every readable record loads, each problem is listed
//! with line and byte offset, and unreadable bytes are written back verbatim.

mod common;
use common::*;
use sift::dataset::{Dataset, Format, ProblemKind};
use sift::session::{OpenOptions, Session, Status};

fn open(bytes: &[u8], name: &str) -> (tempfile::TempDir, std::path::PathBuf, Dataset) {
    let (dir, path) = temp_file(name, bytes);
    let ds = Dataset::open(&path, None).unwrap();
    (dir, path, ds)
}

#[test]
fn malformed_jsonl_lines_are_listed_and_kept_on_save() {
    let text = b"{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"c\", \"output\": \n\n{\"instruction\": \"d\", \"output\": \"e\"}\nnot json at all\n";
    let (_d, path, ds) = open(text, "x.jsonl");
    assert_eq!(ds.len(), 4);
    assert_eq!(ds.malformed_count(), 2);
    let p: Vec<(usize, u64)> = ds.problems().iter().map(|p| (p.line, p.offset)).collect();
    let at = |needle: &[u8]| text.windows(needle.len()).position(|w| w == needle).unwrap() as u64;
    assert_eq!(p, vec![(2, at(b"{\"instruction\": \"c\"")), (5, at(b"not json"))]);
    assert_eq!(ds.record(2).unwrap().output, "e");
    drop(ds);
    // A change elsewhere, saved: the bad lines come back verbatim.
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    s.set_field(0, sift::dataset::Field::Output, "B").unwrap();
    s.save(false).unwrap();
    let saved = std::fs::read(&path).unwrap();
    assert_eq!(saved, String::from_utf8_lossy(text).replace("\"b\"", "\"B\"").as_bytes());
}

#[test]
fn invalid_utf8_is_reported_and_preserved() {
    let mut text = b"{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"caf".to_vec();
    text.extend_from_slice(&[0xC3, 0x28]);
    text.extend_from_slice(b"\", \"output\": \"x\"}\n");
    let (_d, path, ds) = open(&text, "u.jsonl");
    assert_eq!(ds.len(), 2);
    assert_eq!(ds.problems()[0].kind, ProblemKind::InvalidUtf8);
    assert_eq!(ds.problems()[0].line, 2);
    drop(ds);
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    s.set_status(&[1], Status::Rejected).unwrap();
    s.insert_blank(0).unwrap();
    s.save(false).unwrap();
    let saved = std::fs::read(&path).unwrap();
    assert!(saved.ends_with(&text), "the original bytes, invalid UTF-8 included, are kept");
}

#[test]
fn wrong_typed_and_missing_fields_load_with_problems() {
    let text = b"[{\"instruction\": 42, \"output\": \"x\"}, {\"instruction\": \"no output\"}, {\"instruction\": \"ok\", \"input\": null, \"output\": \"y\"}]";
    let (_d, _p, ds) = open(text, "w.json");
    assert_eq!(ds.len(), 3);
    assert_eq!(ds.malformed_count(), 0);
    let kinds: Vec<_> = ds.problems().iter().map(|p| (p.record, p.kind)).collect();
    assert_eq!(kinds, vec![(Some(0), ProblemKind::Field), (Some(1), ProblemKind::Field)]);
    assert!(ds.problems()[1].message.contains("missing field `output`"));
    assert_eq!(ds.record(2).unwrap().output, "y");
    assert_eq!(ds.render().0, text);
}

#[test]
fn truncated_array_loads_what_is_complete() {
    let full = std::fs::read(shared("alpaca/alpaca_data.json")).unwrap();
    let cut = &full[..100_000];
    let (_d, _p, ds) = open(cut, "t.json");
    assert!(ds.len() > 100);
    assert_eq!(ds.malformed_count(), 1, "only the cut-off last record");
    assert!(ds.problems().iter().any(|p| p.kind == ProblemKind::Truncated));
    assert_eq!(ds.record(0).unwrap().instruction, "Give three tips for staying healthy.");
    assert_eq!(ds.render().0, cut);
}

#[test]
fn empty_file_opens_and_reports_it() {
    let (_d, path, ds) = open(b"", "e.jsonl");
    assert_eq!(ds.len(), 0);
    assert_eq!(ds.problems()[0].kind, ProblemKind::Empty);
    drop(ds);
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    s.insert_blank(0).unwrap();
    s.save(false).unwrap();
    let saved = std::fs::read_to_string(&path).unwrap();
    assert_eq!(saved, "{\"instruction\": \"\", \"input\": \"\", \"output\": \"\"}\n");
    let (_d, _p, ds) = open(b"[]", "e.json");
    assert_eq!((ds.len(), ds.render().0), (0, b"[]".to_vec()));
}

#[test]
fn multi_megabyte_field_is_fine() {
    let big = "lorem ipsum ".repeat(400_000);
    let text = format!("{{\"instruction\": \"summarise\", \"output\": \"{big}\"}}\n");
    let (_d, _p, ds) = open(text.as_bytes(), "big.jsonl");
    assert_eq!(ds.record(0).unwrap().output.len(), big.len());
    assert_eq!(ds.render().0, text.as_bytes());
}

#[test]
fn unknown_format_is_one_clear_error() {
    let (_d, path) = temp_file("odd.jsonl", b"{\"question\": \"q\", \"answer\": \"a\"}\n");
    let err = Dataset::open(&path, None).err().unwrap().to_string();
    assert!(err.contains("odd.jsonl"), "{err}");
    assert!(err.contains("expected") && err.contains("alpaca") && err.contains("sharegpt"), "{err}");
    // The CLI says the same and exits non-zero.
    let out = sift().arg("stats").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot tell the format"));
    // Forcing a format opens it.
    assert!(Dataset::open(&path, Some(Format::Alpaca)).is_ok());
}

#[test]
fn junk_between_array_records_is_kept() {
    let text = b"[{\"instruction\": \"a\", \"output\": \"b\"} oops {\"instruction\": \"c\", \"output\": \"d\"}]";
    let (_d, _p, ds) = open(text, "j.json");
    assert!(!ds.problems().is_empty());
    assert_eq!(ds.render().0, text);
}
