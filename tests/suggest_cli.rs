//! `sift suggest` from the user's side: a clear error with too few decisions, then one line per
//! unreviewed record with its suggestion and reasons; it reads only the config sections it needs.

mod common;

use common::tui::alpaca;
use sift::session::{OpenOptions, Session, Status};

/// A dataset of 16 weather explanations: even positions one-word answers, odd ones real
/// explanations, written as `data.json` in `d`.
fn weather(d: &std::path::Path) -> std::path::PathBuf {
    let topics = ["rain", "tides", "rust", "wind", "snow", "thunder", "frost", "fog"];
    let recs: Vec<(String, String)> = topics
        .iter()
        .flat_map(|t| {
            [
                (format!("Explain how {t} forms."), "Weather.".to_string()),
                (
                    format!("Explain how {t} forms."),
                    format!(
                        "{t} forms when air and ground exchange heat and water over hours, and water changes state."
                    ),
                ),
            ]
        })
        .collect();
    let triples: Vec<(&str, &str, &str)> = recs.iter().map(|(c, y)| (c.as_str(), "", y.as_str())).collect();
    let file = d.join("data.json");
    std::fs::write(&file, alpaca(&triples, "  ")).unwrap();
    file
}

/// Rejects the even and accepts the odd records of `range`.
fn decide(file: &std::path::Path, range: std::ops::Range<usize>) {
    let mut s = Session::open(file, &OpenOptions::default()).unwrap();
    for p in range {
        s.set_status(&[p], if p.is_multiple_of(2) { Status::Rejected } else { Status::Accepted }).unwrap();
    }
}

#[test]
fn suggest_writes_every_unreviewed_record_once_there_are_enough_decisions() {
    let d = tempfile::tempdir().unwrap();
    // Even: one-word answers to "explain" (rejected); odd: real explanations (accepted).
    let file = weather(d.path());
    let out = d.path().join("s.jsonl");
    let run = || {
        common::sift()
            .arg("suggest")
            .arg(&file)
            .arg("--out")
            .arg(&out)
            .env("SIFT_CACHE_DIR", d.path().join("cache"))
            .output()
            .unwrap()
    };
    decide(&file, 0..4);
    let o = run();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("so far 2 accepted and 2 rejected"), "{err}");
    assert!(!out.exists());

    decide(&file, 4..10);
    let o = run();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    // No judge scores are cached here, and no flag tells one-word answers from explanations: the
    // decisions taught something the judge does not know, and the summary says so.
    assert!(err.contains("learnt from 5 accepted, 5 rejected: ranks them better than the judge"), "{err}");
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(&out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let indices: Vec<u64> = lines.iter().map(|v| v["index"].as_u64().unwrap()).collect();
    assert_eq!(indices, (10..16).collect::<Vec<u64>>());
    for v in &lines {
        let (i, s) = (v["index"].as_u64().unwrap(), v["suggest"].as_f64().unwrap());
        assert_eq!(s > 0.5, i.is_multiple_of(2), "{v}");
        let reasons: Vec<&str> = v["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
        assert!(!reasons.is_empty(), "{v}");
    }
    let first = lines[0]["reasons"][0].as_str().unwrap();
    assert!(first.starts_with("like ") && first.contains("records you rejected"), "{first}");
}

#[test]
fn suggest_reads_only_the_judge_and_flag_sections_of_the_config() {
    let d = tempfile::tempdir().unwrap();
    let file = weather(d.path());
    decide(&file, 0..10);
    let config = d.path().join("config.toml");
    let out = d.path().join("s.jsonl");
    let sift = |args: &[&std::ffi::OsStr]| {
        let o = common::sift()
            .args(args)
            .env("SIFT_CONFIG", &config)
            .env("SIFT_CACHE_DIR", d.path().join("cache"))
            .output()
            .unwrap();
        (o.status.success(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let suggest = [std::ffi::OsStr::new("suggest"), file.as_os_str(), "--out".as_ref(), out.as_os_str()];
    // A [keys] entry naming no command: the TUI's own section, which `sift suggest` never reads.
    std::fs::write(&config, "[keys]\nfly = \"z\"\n[flags]\ncopy_min_words = 7\n").unwrap();
    let (ok, err) = sift(&suggest);
    assert!(ok, "{err}");
    assert!(err.contains("learnt from 5 accepted, 5 rejected"), "{err}");
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 6);
    // The TUI reads [keys] before it touches the terminal, and names the bad entry.
    let (ok, err) = sift(&[file.as_os_str()]);
    assert!(!ok && err.contains("fly"), "{err}");
    // The sections suggest does read are still checked: a bad [flags] value fails it, by name.
    std::fs::remove_file(&out).unwrap();
    std::fs::write(&config, "[keys]\naccept = \"A\"\n[flags]\ncopy_min_words = \"seven\"\n").unwrap();
    let (ok, err) = sift(&suggest);
    assert!(!ok && err.contains("[flags]") && err.contains("config.toml"), "{err}");
    assert!(!out.exists());
}
