//! The flow of a review session through the real update loop: keys typed behind a slow update are
//! dropped, `o` opens the new record for editing, the frequency view counts and filters, and the
//! detail pane explains a record's suggestion.

mod common;

use common::tui::{alpaca, keys, screen, settle, text};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use sift::session::Status;
use sift::tui::app::{App, Mode};
use sift::tui::config::Config;
use sift::tui::typeahead::dispatch;
use sift::tui::update::handle_event;
use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

fn key(c: char) -> Event {
    Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

/// `n` short records in `dir`, opened and indexed.
fn open(dir: &Path, records: &[(&str, &str, &str)]) -> App {
    let path = dir.join("data.json");
    std::fs::write(&path, alpaca(records, "  ")).unwrap();
    let mut app = common::tui::open(&path, Config::default());
    app.start_background();
    settle(&mut app);
    app
}

const RECORDS: &[(&str, &str, &str)] = &[
    ("Name three primary colors.", "", "Red, yellow and blue."),
    ("Translate to German.", "Good morning", "Guten Morgen"),
    ("What is 2 + 2?", "", "4"),
    ("Give a synonym for happy.", "", "Joyful."),
    ("Name a planet.", "", "Mars."),
    ("Spell cat backwards.", "", "tac"),
];

#[test]
fn keys_queued_behind_a_slow_update_never_run() {
    let d = tempfile::tempdir().unwrap();
    let mut app = open(d.path(), RECORDS);
    // A quick update: the keys queued behind it run, in order.
    let mut queue: VecDeque<Event> = [key('x')].into();
    dispatch(&mut app, key('j'), || Ok::<_, ()>(queue.pop_front()), handle_event).unwrap();
    assert_eq!(app.session.status(1), Status::Rejected, "j then x: #1 rejected");
    assert_eq!(app.current(), Some(2), "auto-advance after the decision");

    // A slow update (the accept takes 300 ms here): `x` and `j`, typed while the screen was stale,
    // are dropped; a resize queued with them still goes through.
    let mut queue: VecDeque<Event> = [key('x'), Event::Resize(90, 28), key('j')].into();
    let slow = |app: &mut App, ev: &Event| {
        if *ev == key('a') {
            std::thread::sleep(Duration::from_millis(300));
        }
        handle_event(app, ev);
    };
    dispatch(&mut app, key('a'), || Ok::<_, ()>(queue.pop_front()), slow).unwrap();
    assert!(queue.is_empty());
    assert_eq!(app.session.status(2), Status::Accepted, "the slow command itself ran");
    assert_eq!(app.session.status(3), Status::Unreviewed, "the x typed meanwhile did not");
    assert_eq!(app.current(), Some(3), "nor the j");
    assert_eq!(app.size, (90, 28));
    let (msg, _) = app.message.clone().unwrap();
    assert!(msg.contains("accepted 1 record") && msg.contains("ignored 2 keys typed during a 0.3 s wait"), "{msg}");
    let t = screen(&mut app, 120, 30);
    assert!(text(&t).contains("ignored 2 keys"), "{}", text(&t));
}

#[test]
fn add_opens_the_new_record_for_editing() {
    let d = tempfile::tempdir().unwrap();
    let mut app = open(d.path(), RECORDS);
    keys(&mut app, "o");
    assert_eq!(app.session.dataset().len(), RECORDS.len() + 1);
    assert_eq!(app.current(), Some(1));
    assert!(matches!(&app.mode, Mode::Edit(ed) if ed.label == "instruction"), "typing goes to the instruction");
    keys(&mut app, "Name a prime.<esc>");
    assert_eq!(app.session.dataset().record(1).unwrap().instruction, "Name a prime.");
    assert!(matches!(app.mode, Mode::Normal));
    keys(&mut app, "<tab><tab>e7<esc>");
    assert_eq!(app.session.dataset().record(1).unwrap().output, "7");
}

#[test]
fn frequency_view_counts_and_filters_to_a_row() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("data.jsonl");
    // Dolly records with categories.
    let lines: Vec<String> = [("qa", "What is rain?"), ("qa", "What is snow?"), ("brainstorm", "Ideas for a party?")]
        .iter()
        .map(|(c, i)| {
            serde_json::json!({"instruction": i, "context": "", "response": "An answer.", "category": c}).to_string()
        })
        .collect();
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let mut app = common::tui::open(&path, Config::default());
    app.start_background();
    settle(&mut app);
    keys(&mut app, "a");
    keys(&mut app, "ttodo<enter>");
    keys(&mut app, "C");
    assert!(matches!(app.mode, Mode::Frequency));
    let rows: Vec<(&str, String, usize)> =
        app.frequency.rows.iter().map(|r| (r.group, r.value.clone(), r.count)).collect();
    assert_eq!(
        rows,
        vec![
            ("status", "unreviewed".into(), 2),
            ("status", "accepted".into(), 1),
            ("tag", "todo".into(), 1),
            ("category", "qa".into(), 2),
            ("category", "brainstorm".into(), 1),
        ]
    );
    let t = text(&screen(&mut app, 100, 30));
    assert!(t.contains("category  qa") && t.contains("66.7%"), "{t}");
    // Enter on `category qa`: the list shows those two, the filter bar says so.
    keys(&mut app, "jjj<enter>");
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(app.shown(), 2);
    assert_eq!(app.filter.text(), "category:qa");
    assert!(text(&screen(&mut app, 100, 30)).contains("filter category:qa"));
    // Esc: back to the whole list and the view, on the same row.
    keys(&mut app, "<esc>");
    assert_eq!(app.shown(), 3);
    assert!(matches!(app.mode, Mode::Frequency));
    assert_eq!(app.frequency.cursor, 3);
    // Any other key closes it; the filter syntax reads categories too.
    keys(&mut app, "q");
    assert!(matches!(app.mode, Mode::Normal) && !app.quit);
    keys(&mut app, "Fcategory:brainstorm<enter>");
    assert_eq!((app.shown(), app.current()), (1, Some(2)));
}

#[test]
fn frequency_view_buckets_suggest_and_detail_explains_it() {
    let d = tempfile::tempdir().unwrap();
    let topics = ["rain", "tides", "rust", "wind", "snow", "thunder", "frost", "fog"];
    let recs: Vec<(String, String)> = topics
        .iter()
        .flat_map(|t| {
            [
                (format!("Explain how {t} forms."), "Weather.".to_string()),
                (
                    format!("Explain how {t} forms."),
                    format!(
                        "{t} forms when the air and the ground exchange heat and water over hours. \
                         As conditions change, water moves between vapour, liquid and ice."
                    ),
                ),
            ]
        })
        .collect();
    let triples: Vec<(&str, &str, &str)> = recs.iter().map(|(c, y)| (c.as_str(), "", y.as_str())).collect();
    let mut app = open(d.path(), &triples);
    for p in 0..10 {
        keys(&mut app, &format!(":{p}<enter>{}", if p % 2 == 0 { "x" } else { "a" }));
    }
    assert!(app.suggest.fitted.is_some());
    keys(&mut app, "C");
    let buckets: Vec<(String, usize)> =
        app.frequency.rows.iter().filter(|r| r.group == "suggest").map(|r| (r.value.clone(), r.count)).collect();
    let id = |app: &App, p: usize| app.session.dataset().entry(p).unwrap().id;
    let values: Vec<f32> =
        (10..16).map(|p| app.signals.value(sift::judge::Signal::Suggest, id(&app, p)).unwrap()).collect();
    let in_top = values.iter().filter(|&&v| v >= 0.8).count();
    assert_eq!(buckets.iter().map(|b| b.1).sum::<usize>(), 6, "{buckets:?}");
    assert!(in_top >= 1, "{values:?}");
    assert_eq!(buckets.last(), Some(&("0.8-1.0".to_string(), in_top)));
    // Enter on the top bucket: exactly its records.
    let row = app.frequency.rows.iter().position(|r| r.value == "0.8-1.0").unwrap();
    for _ in 0..row {
        keys(&mut app, "j");
    }
    keys(&mut app, "<enter>");
    assert_eq!(app.filter.text(), "suggest>=0.8");
    assert_eq!(app.shown(), in_top);
    // The detail pane gives the record's suggestion and why.
    let t = text(&screen(&mut app, 140, 40));
    assert!(t.contains("likely rejected (learnt from 5 accepted, 5 rejected"), "{t}");
    assert!(t.contains("· like ") || t.contains("you rejected"), "{t}");
}
