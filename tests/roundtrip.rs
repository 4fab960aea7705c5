//! Lossless open/save: the 52K Alpaca file byte for byte, edits touching only what changed.

mod common;
use common::*;
use sift::dataset::{Dataset, Field, Format};
use sift::session::{OpenOptions, Session};

#[test]
fn alpaca_52k_round_trips_byte_for_byte() {
    let path = shared("alpaca/alpaca_data.json");
    let original = std::fs::read(&path).unwrap();
    let ds = Dataset::open(&path, None).unwrap();
    assert_eq!(ds.format(), Format::Alpaca);
    assert_eq!(ds.len(), 52_002);
    assert_eq!(ds.malformed_count(), 0);
    assert!(ds.problems().is_empty(), "{:?}", &ds.problems()[..ds.problems().len().min(3)]);
    let (bytes, _) = ds.render();
    assert!(bytes == original, "render of an unchanged dataset must be byte-identical");
}

#[test]
fn alpaca_edit_changes_only_that_value_and_save_is_identical_elsewhere() {
    let (_dir, path) = copy_to_temp(&shared("alpaca/alpaca_data.json"));
    let original = std::fs::read(&path).unwrap();
    let opts = OpenOptions::default();
    let mut s = Session::open(&path, &opts).unwrap();
    let old = s.dataset().record(7).unwrap().output;
    s.set_field(7, Field::Output, "A new answer \u{2014} with \"quotes\"\nand a newline.").unwrap();
    s.save(false).unwrap();
    let saved = std::fs::read(&path).unwrap();
    let old_lit = serde_json::to_string(&old).unwrap();
    let new_lit = r#""A new answer \u2014 with \"quotes\"\nand a newline.""#;
    assert_eq!(saved.len() as isize - original.len() as isize, new_lit.len() as isize - old_lit.len() as isize);
    let at = saved
        .windows(new_lit.len())
        .position(|w| w == new_lit.as_bytes())
        .expect("edited value written in ensure_ascii style");
    assert_eq!(&saved[..at], &original[..at]);
    assert_eq!(&saved[at + new_lit.len()..], &original[at + old_lit.len()..]);
    // Editing it back restores the original file exactly.
    drop(s); // one writer at a time
    let mut s = Session::open(&path, &opts).unwrap();
    s.set_field(7, Field::Output, &old).unwrap();
    s.save(false).unwrap();
    assert!(std::fs::read(&path).unwrap() == original);
}

#[test]
fn cli_edit_then_edit_back_is_byte_identical() {
    let (_dir, path) = copy_to_temp(&shared("alpaca/alpaca_data.json"));
    let original = std::fs::read(&path).unwrap();
    let ds = Dataset::open(&path, None).unwrap();
    let old = ds.record(100).unwrap().instruction;
    drop(ds);
    let run = |value: &str| {
        let out = sift()
            .args(["edit"])
            .arg(&path)
            .args(["--index", "100", "--field", "instruction", "--value", value])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    };
    run("Rewrite this sentence, caf\u{e9} style.");
    let edited = std::fs::read(&path).unwrap();
    assert_ne!(edited, original);
    assert!(String::from_utf8_lossy(&edited).contains(r#""instruction": "Rewrite this sentence, caf\u00e9 style.""#));
    run(&old);
    assert!(std::fs::read(&path).unwrap() == original);
}

#[test]
fn insert_duplicate_delete_and_undo_round_trip() {
    let (_dir, path) = copy_to_temp(&shared("alpaca/alpaca_data.json"));
    let original = std::fs::read(&path).unwrap();
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    s.duplicate(3).unwrap();
    s.insert_blank(0).unwrap();
    s.delete(&[10, 11, 500]).unwrap();
    assert_eq!(s.dataset().len(), 52_002 + 2 - 3);
    let (bytes, _) = s.dataset().render();
    let parsed: Vec<serde_json::Value> = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(parsed.len(), 52_001);
    assert_eq!(parsed[0]["instruction"], "");
    for _ in 0..3 {
        s.undo().unwrap().unwrap();
    }
    assert!(!s.is_modified());
    assert!(s.dataset().render().0 == original);
    s.redo().unwrap().unwrap();
    assert_eq!(s.dataset().len(), 52_003);
}
