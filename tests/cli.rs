//! The scriptable CLI: stats, check, set.

mod common;
use common::*;

#[test]
fn stats_json_reports_format_counts_and_status() {
    let out = sift().arg("stats").arg(shared("alpaca/alpaca_data.json")).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "alpaca");
    assert_eq!(v["records"], 52002);
    assert_eq!(v["malformed"], 0);
    assert_eq!(v["status"]["unreviewed"], 52002);
    assert_eq!(v["status"]["accepted"], 0);
    assert!(v["fields"]["output"]["median"].as_u64().unwrap() > 50);
    assert!(v["empty_responses"].as_u64().unwrap() < 100);
    assert_eq!(v["duplicate_instructions"], 0, "the released Alpaca file was deduplicated by instruction");
}

#[test]
fn stats_counts_duplicates_and_empty_responses() {
    let text = b"{\"instruction\": \"Name a colour\", \"output\": \"Red\"}\n{\"instruction\": \" Name a colour\", \"output\": \"Blue\"}\n{\"instruction\": \"Name a colour\", \"input\": \"warm\", \"output\": \"  \"}\n{\"instruction\": \"Other\", \"output\": \"x\"}\n";
    let (_d, path) = temp_file("d.jsonl", text);
    let out = sift().arg("stats").arg(&path).arg("--json").output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["duplicate_instructions"], 3);
    assert_eq!(v["duplicate_groups"], 1);
    assert_eq!(v["duplicate_prompts"], 2);
    assert_eq!(v["empty_responses"], 1);
    assert_eq!(v["fields"]["instruction"]["max"], 14);
}

#[test]
fn check_lists_problems_by_line_and_sets_exit_code() {
    let (_d, clean) = temp_file("c.jsonl", b"{\"instruction\": \"a\", \"output\": \"b\"}\n");
    let out = sift().arg("check").arg(&clean).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let (_d, bad) = temp_file(
        "b.jsonl",
        b"{\"instruction\": \"a\", \"output\": \"b\"}\n{oops\n{\"instruction\": \"a\", \"output\": 3}\n",
    );
    let out = sift().arg("check").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("line 2: invalid JSON"), "{text}");
    assert!(lines[1].starts_with("line 3: field `output`"), "{text}");
}

#[test]
fn set_then_stats_counts_the_new_status() {
    let (_d, path) = temp_file(
        "s.json",
        b"[{\"instruction\": \"a\", \"output\": \"b\"}, {\"instruction\": \"c\", \"output\": \"d\"}]",
    );
    let before = std::fs::read(&path).unwrap();
    for (i, st) in [("0", "accepted"), ("1", "needs-edit")] {
        let out =
            sift().arg("set").arg(&path).args(["--index", i, "--status", st, "--tag", "batch1"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let out = sift().arg("stats").arg(&path).arg("--json").output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"]["accepted"], 1);
    assert_eq!(v["status"]["needs-edit"], 1);
    assert_eq!(v["status"]["unreviewed"], 0);
    assert_eq!(v["tags"]["batch1"], 2);
    assert_eq!(std::fs::read(&path).unwrap(), before, "review state never goes into the dataset");
    let out = sift().arg("set").arg(&path).args(["--index", "5", "--status", "accepted"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("record 5 does not exist"));
}
