//! The review loop through the real update loop: decisions teach the suggestion model (refitted in
//! a background job), "review next" goes to the record most likely to be rejected, a decision
//! moves on along the queue, and `suggest` filters like any signal.

mod common;

use common::tui::{alpaca, keys, screen, settle, text};
use sift::session::Status;
use sift::tui::config::Config;
use std::path::Path;

const TOPICS: [&str; 8] = ["rain", "tides", "rust", "wind", "snow", "thunder", "frost", "fog"];

/// Even positions: one-word answers to "explain" (the annotator rejects these); odd: real
/// explanations (accepted).
fn records() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for t in TOPICS {
        out.push((format!("Explain how {t} forms."), "Weather.".to_string()));
        out.push((
            format!("Explain how {t} forms."),
            format!(
                "{t} forms when the air and the ground exchange heat and water over hours. \
                 As conditions change, water moves between vapour, liquid and ice, and that \
                 change is what we see as {t}."
            ),
        ));
    }
    out
}

/// The app on [`records`] written as an Alpaca file in `dir`, background work started and settled.
fn open_records(dir: &Path) -> sift::tui::app::App {
    let recs = records();
    let triples: Vec<(&str, &str, &str)> = recs.iter().map(|(c, y)| (c.as_str(), "", y.as_str())).collect();
    let path = dir.join("data.json");
    std::fs::write(&path, alpaca(&triples, "    ")).unwrap();
    let mut app = common::tui::open(&path, Config::default());
    app.start_background();
    settle(&mut app);
    app
}

#[test]
fn decisions_teach_the_queue_which_record_comes_next() {
    let d = tempfile::tempdir().unwrap();
    let mut app = open_records(d.path());
    // Five rejects and five accepts on the first ten records.
    for p in 0..10 {
        keys(&mut app, &format!(":{p}<enter>{}", if p % 2 == 0 { "x" } else { "a" }));
    }
    assert_eq!(app.session.status(0), Status::Rejected);
    assert_eq!(app.session.status(9), Status::Accepted);
    let fitted = app.suggest.fitted.as_ref().expect("fitted after 5 decisions of each kind");
    assert_eq!((fitted.accepted, fitted.rejected), (5, 5));
    // Every unreviewed record has a suggestion; the one-word answers are the likely rejects.
    let s = |app: &sift::tui::app::App, p: usize| {
        let id = app.session.dataset().entry(p).unwrap().id;
        app.signals.value(sift::judge::Signal::Suggest, id).expect("unreviewed records have a suggestion")
    };
    for p in 10..16 {
        assert_eq!(s(&app, p) > 0.5, p % 2 == 0, "record {p}: suggest {}", s(&app, p));
    }
    // The highest suggestion, the earliest record among equals.
    let top = (10..16).map(|p| s(&app, p)).fold(f32::MIN, f32::max);
    let best = (10..16).find(|&p| s(&app, p) == top).unwrap();
    // Review next: the highest suggestion; rejecting it moves on to the next likely reject.
    keys(&mut app, "g");
    keys(&mut app, "r");
    assert_eq!(app.current(), Some(best));
    keys(&mut app, "x");
    assert_eq!(app.session.status(best), Status::Rejected);
    let now = app.current().unwrap();
    assert!(now != best && now.is_multiple_of(2) && app.session.status(now) == Status::Unreviewed, "moved to #{now}");
    // `suggest` filters like any signal: the undecided likely rejects.
    keys(&mut app, "Fsuggest>0.5<enter>");
    assert_eq!(app.shown(), 2);
    // The model is saved beside the review state.
    assert!(Path::new(app.session.state_dir()).join("suggest.json").is_file());
}

/// `r.42` as the list draws a suggestion.
fn cell(v: f32) -> String {
    if v >= 0.995 { "r1.0".into() } else { format!("r.{:02}", (v * 100.0).round() as u32) }
}

#[test]
fn suggest_is_a_list_column_once_it_has_values() {
    let d = tempfile::tempdir().unwrap();
    let mut app = open_records(d.path());
    let row = |app: &mut sift::tui::app::App, p: usize| {
        let t = text(&screen(app, 200, 30));
        let needle = format!("{p} ");
        t.lines().find(|l| l.trim_start_matches(['│', '›', ' ', '▌']).starts_with(&needle)).unwrap().to_string()
    };
    let before = row(&mut app, 12);
    assert!(!before.contains(" r.") && !before.contains(" r1.0"), "no column before the model: {before}");
    for p in 0..10 {
        keys(&mut app, &format!(":{p}<enter>{}", if p % 2 == 0 { "x" } else { "a" }));
    }
    keys(&mut app, "g");
    for p in [12, 13] {
        let id = app.session.dataset().entry(p).unwrap().id;
        let v = app.signals.value(sift::judge::Signal::Suggest, id).unwrap();
        let line = row(&mut app, p);
        assert!(line.contains(&format!(" {} ", cell(v))), "record {p} (suggest {v}): {line}");
    }
    // A narrow list has no room for it.
    let t = text(&screen(&mut app, 60, 30));
    assert!(!t.contains(&cell(app.signals.value(sift::judge::Signal::Suggest, 12).unwrap())), "{t}");
}
