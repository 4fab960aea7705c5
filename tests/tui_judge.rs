//! The judge in the TUI, through the real update loop with the tiny fixture model: scoring every
//! record, sorting and filtering by the new signals, flag explanations, the histogram and score
//! columns, surprising tokens, rescoring only an edited record, stale results being dropped,
//! scores back from the cache on reopening, and what `M` scores under a filter or selection.

mod common;

use common::tui::{alpaca, keys, screen, settle, text};
use ratatui::style::{Color, Modifier};
use sift::judge::Signal;
use sift::quality::heuristics::{Flag, FlagKind};
use sift::tui::app::App;
use sift::tui::config::Config;
use sift::tui::jobs::{JobInfo, JobOutput};
use sift::tui::score_state::RunStats;
use sift::tui::update::type_keys;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

const RECORDS: &[(&str, &str, &str)] = &[
    ("Name three primary colors.", "", "Red, yellow and blue."),
    ("Translate to German.", "Good morning", "Guten Morgen"),
    (
        "Write a haiku about autumn.",
        "",
        "Leaves drift on cold wind\nthe maple lets go its red\nponds hold the grey sky",
    ),
    (
        "Summarize the text.",
        "The sun is a star. It formed 4.6 billion years ago",
        "and it will burn for billions more years.",
    ),
    ("Describe the image.", "", "I'm sorry, but I cannot see images."),
    ("What is 2 + 2?", "", "4"),
    ("List two fruits.", "", "apple apple apple apple apple apple apple apple apple apple"),
    ("Give a synonym for happy.", "", ""),
];

/// The app over `records` in `dir`, judging with the fixture model and a cache in `dir`, indexed.
fn open(dir: &Path, records: &[(&str, &str, &str)]) -> App {
    let path = dir.join("data.json");
    std::fs::write(&path, alpaca(records, "  ")).unwrap();
    // Every flag on: these tests drive the flags' plumbing, not the default policy.
    let config = Config {
        flags: sift::quality::heuristics::FlagConfig::all_enabled(),
        judge: sift::judge::JudgeConfig { flags: sift::judge::ModelFlagConfig::all_enabled(), ..Default::default() },
        ..Config::default()
    };
    let mut app = common::tui::open(&path, config);
    app.judge.model_dir = Some(common::tiny_llama());
    app.judge.cache_dir = Some(dir.join("cache"));
    app.start_background();
    settle(&mut app);
    app
}

fn id_at(app: &App, row: usize) -> u32 {
    app.session.dataset().entry(app.pos_at(row).unwrap()).unwrap().id
}

fn values(app: &App, signal: Signal) -> HashMap<u32, f32> {
    app.signals.numeric.get(&signal).cloned().unwrap_or_default()
}

#[test]
fn scores_sort_filter_explain_and_rescore_only_an_edit() {
    let d = tempfile::tempdir().unwrap();
    let mut app = open(d.path(), RECORDS);
    assert!(!app.signals.has(Signal::Keep));
    keys(&mut app, "M");
    assert_eq!(
        app.judge.last,
        Some(RunStats { records: 8, scored: 7, cached: 0, cancelled: false }),
        "{:?}",
        app.message
    );
    // Every record with a response has every signal; the empty one has none and waits for nothing.
    for pos in 0..RECORDS.len() {
        let id = app.session.dataset().entry(pos).unwrap().id;
        for signal in Signal::judged() {
            assert_eq!(app.signals.value(signal, id).is_some(), pos != 7, "{signal} of #{pos}");
        }
        assert!(!app.judge.waiting(id));
    }
    // The model flags merge with the heuristic ones and work in filters.
    assert!(app.signals.model_flags(6).iter().any(|f| f.name == "repetitive"), "{:?}", app.signals.model_flags(6));
    keys(&mut app, "Fflag:repetitive<enter>");
    assert_eq!((app.shown(), app.current()), (1, Some(6)));
    let t = screen(&mut app, 100, 30);
    let reason = &app.signals.model_flags(6).iter().find(|f| f.name == "repetitive").unwrap().reason;
    assert!(text(&t).contains(&format!("⚑ model repetitive: {reason}")), "{}", text(&t));

    // Sorting by continuation orders the records by it (records without a value last).
    keys(&mut app, "<esc>");
    for _ in 0..10 {
        if app.sort.key == Some(Signal::Continuation) {
            break;
        }
        keys(&mut app, "s");
    }
    assert_eq!(app.sort.key, Some(Signal::Continuation));
    let cont = values(&app, Signal::Continuation);
    let order: Vec<Option<f32>> = (0..app.shown()).map(|i| cont.get(&id_at(&app, i)).copied()).collect();
    assert_eq!(order.last(), Some(&None), "the unscored record is last");
    assert!(order[..7].windows(2).all(|w| w[0].unwrap() >= w[1].unwrap()), "{order:?}");

    // The existing filter syntax reads the new names.
    let mut sorted: Vec<f32> = cont.values().copied().collect();
    sorted.sort_by(f32::total_cmp);
    let cut = sorted[3];
    keys(&mut app, &format!("Fcontinuation>{cut}<enter>"));
    assert_eq!(app.shown(), cont.values().filter(|&&v| v > cut).count());
    assert!(app.shown() > 0 && app.shown() < 7);
    keys(&mut app, "<esc>");

    // The heuristic flag and its reason, the signal values, and the surprising tokens underlined.
    app.sort = Default::default();
    app.refresh_view();
    keys(&mut app, ":4<enter>");
    let t = screen(&mut app, 100, 30);
    let screen_text = text(&t);
    let refusal = &app.signals.flags(4)[0];
    assert_eq!(refusal.kind, FlagKind::Refusal);
    assert!(screen_text.contains(&format!("⚑ refusal: {}", refusal.reason)), "{screen_text}");
    assert!(screen_text.contains("keep ") && screen_text.contains("continuation "), "{screen_text}");
    let b = t.backend().buffer();
    let marked: String = b
        .content()
        .iter()
        .filter(|c| c.fg == Color::LightRed && c.modifier.contains(Modifier::UNDERLINED))
        .map(|c| c.symbol())
        .collect();
    assert!(!marked.trim().is_empty(), "{screen_text}");
    assert!(marked.chars().all(|c| RECORDS[4].2.contains(c)), "{marked}");

    // A decision changes no text: nothing is rescored.
    let quality = values(&app, Signal::Keep);
    type_keys(&mut app, "a");
    assert_eq!(app.session.status(4), sift::session::Status::Accepted);
    assert!(app.judge.pending.is_empty() && app.signals.value(Signal::Keep, 4).is_some());
    settle(&mut app);
    assert_eq!(app.judge.last.unwrap().records, 8);

    // An edit makes the record's scores stale at once, and only that record is rescored.
    keys(&mut app, ":2<enter>");
    type_keys(&mut app, "<tab><tab>eNEW <esc>");
    assert!(app.session.dataset().record(2).unwrap().output.starts_with("NEW Leaves"));
    assert_eq!(app.signals.value(Signal::Keep, 2), None, "stale scores are cleared");
    assert!(app.judge.waiting(2));
    assert!(screen(&mut app, 100, 30).backend().buffer().content().iter().any(|c| c.symbol() == "…"));
    settle(&mut app);
    assert_eq!(app.judge.last, Some(RunStats { records: 1, scored: 1, cached: 0, cancelled: false }));
    let after = values(&app, Signal::Keep);
    assert!(after[&2] != quality[&2], "new text, new score");
    assert!(quality.iter().all(|(id, v)| *id == 2 || after[id] == *v));
    // Undo brings the old text back, and its scores come from the cache.
    keys(&mut app, "u");
    assert_eq!(app.judge.last, Some(RunStats { records: 1, scored: 0, cached: 1, cancelled: false }));
    assert_eq!(values(&app, Signal::Keep), quality);
    // A second full run is answered from the cache.
    keys(&mut app, "M");
    assert_eq!(app.judge.last, Some(RunStats { records: 8, scored: 0, cached: 7, cancelled: false }));
}

#[test]
fn snapshots_of_columns_histogram_and_progress() {
    let d = tempfile::tempdir().unwrap();
    let mut app = open(d.path(), RECORDS);
    keys(&mut app, "M:4<enter>");
    insta::assert_snapshot!("judge_list_80", screen(&mut app, 80, 24).backend());
    keys(&mut app, "H");
    assert!(app.histogram.shown);
    insta::assert_snapshot!("judge_histogram", screen(&mut app, 100, 30).backend());
    keys(&mut app, "hh");
    insta::assert_snapshot!("judge_wide", screen(&mut app, 150, 30).backend());
    keys(&mut app, "H");
    assert!(!app.histogram.shown);
    // The status bar of a running scoring job: a bar, the job's own rate and its ETA.
    app.jobs.running.push(JobInfo {
        id: 999,
        name: "judge".into(),
        done: 50,
        total: 100,
        started: Instant::now(),
        cancel: Default::default(),
        since: 0,
        reported: Some((3.5, 65.0)),
    });
    let t = screen(&mut app, 100, 24);
    assert!(text(&t).contains("⟳ judge ████░░░░ 50% 3.5/s ETA 1m05s"), "{}", text(&t));
    insta::assert_snapshot!("judge_progress", t.backend());
    app.jobs.running.clear();
    for (w, h) in [(1, 1), (20, 6), (60, 14), (300, 3), (24, 40)] {
        keys(&mut app, "H");
        screen(&mut app, w, h);
    }
}

#[test]
fn a_missing_model_is_a_message_not_a_crash() {
    let d = tempfile::tempdir().unwrap();
    let mut app = open(d.path(), RECORDS);
    app.judge.model_dir = Some(d.path().join("no-such-model"));
    keys(&mut app, "M");
    let (msg, error) = app.message.clone().unwrap();
    assert!(error && msg.contains("cannot load the judge model"), "{msg}");
    assert!(!app.judge.active && !app.signals.has(Signal::Keep));
    let t = screen(&mut app, 100, 24);
    assert!(text(&t).contains("cannot load the judge model"));
    // Edits do not try again; pressing the key again does (and fails the same way).
    keys(&mut app, "<tab><tab>eX<esc>");
    assert!(app.judge.last.is_none() && app.jobs.running.is_empty());
}

#[test]
fn stopping_the_judge_stops_rescoring_until_started_again() {
    let d = tempfile::tempdir().unwrap();
    let mut app = open(d.path(), RECORDS);
    keys(&mut app, "M<c-x>");
    assert!(!app.judge.active && app.judge.pending.is_empty() && app.judge.in_flight.is_empty());
    let before = app.judge.last;
    keys(&mut app, "<tab><tab>eX<esc>");
    assert_eq!(app.judge.last, before, "no rescoring after a stop");
    keys(&mut app, "M");
    let last = app.judge.last.unwrap();
    assert_eq!((last.records, last.scored + last.cached, last.cancelled), (8, 7, false));
    assert!(app.judge.active);
}

#[test]
fn results_from_before_an_edit_are_dropped() {
    let d = tempfile::tempdir().unwrap();
    let mut app = open(d.path(), RECORDS);
    assert_eq!(app.signals.flags(4)[0].kind, FlagKind::Refusal);
    // A flags job that read record 4 before the edit reports after it.
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    app.jobs.spawn("flags", 1, move |ctx| {
        rx.recv().map_err(|e| e.to_string())?;
        let stale = Flag { kind: FlagKind::Refusal, reason: "old text".into() };
        ctx.output(JobOutput::Flags(vec![(4, vec![stale])]));
        ctx.output(JobOutput::Numeric { signal: Signal::Len, values: vec![(4, 1.0)] });
        Ok(())
    });
    type_keys(&mut app, ":4<enter><tab><tab>e<c-k>The picture shows a red barn.<esc>");
    let refusal = |app: &App| app.signals.flags(4).iter().any(|f| f.kind == FlagKind::Refusal);
    assert!(!refusal(&app), "fresh flags at the edit");
    tx.send(()).unwrap();
    settle(&mut app);
    assert!(!refusal(&app), "the stale result is dropped: {:?}", app.signals.flags(4));
    assert_ne!(app.signals.value(Signal::Len, 4), Some(1.0));

    // Scoring while the user edits: the final scores are those of the final text.
    type_keys(&mut app, "M:2<enter><tab><tab><tab>eNEW <esc>");
    settle(&mut app);
    let r = app.session.dataset().record(2).unwrap();
    assert!(r.output.starts_with("NEW "));
    assert_eq!(app.judge.scored[&2], sift::judge::content_hash(&r.instruction, &r.input, &r.output));
    let d2 = tempfile::tempdir().unwrap();
    let mut alone = open(d2.path(), &[(&r.instruction, &r.input, &r.output)]);
    keys(&mut alone, "M");
    let (a, b) =
        (app.signals.value(Signal::Continuation, 2).unwrap(), alone.signals.value(Signal::Continuation, 0).unwrap());
    assert!((a - b).abs() < 1e-4, "{a} {b}");
}

#[test]
fn an_edit_during_a_search_is_matched_again() {
    let d = tempfile::tempdir().unwrap();
    let mut app = open(d.path(), RECORDS);
    keys(&mut app, "/haiku<enter>");
    assert_eq!((app.shown(), app.current()), (1, Some(2)));
    keys(&mut app, "e<c-k>Write a poem about autumn.<esc>");
    assert_eq!(app.session.dataset().record(2).unwrap().instruction, "Write a poem about autumn.");
    assert_eq!(app.shown(), 0, "no longer matches");
    keys(&mut app, "u");
    assert_eq!((app.shown(), app.current()), (1, Some(2)), "matches again after the undo");
}

/// The app over the file `name` (its bytes `data`) in `dir`, with only the `repetitive` model flag
/// on (a text measure: the fixture model's numbers do not decide which turn is worst).
fn open_file(dir: &Path, name: &str, data: &str) -> App {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    let config = Config {
        flags: sift::quality::heuristics::FlagConfig::all_enabled(),
        judge: sift::judge::JudgeConfig {
            flags: sift::judge::ModelFlagConfig { enabled: vec!["repetitive".into()], ..Default::default() },
            ..Default::default()
        },
        ..Config::default()
    };
    let mut app = common::tui::open(&path, config);
    app.judge.model_dir = Some(common::tiny_llama());
    app.judge.cache_dir = Some(dir.join("cache"));
    app.start_background();
    settle(&mut app);
    app
}

#[test]
fn the_detail_pane_says_what_the_model_does_not_cover_and_names_the_worst_turn() {
    let d = tempfile::tempdir().unwrap();
    let records = [
        ("描述今天的天气。", "", "今天天气很好，阳光明媚，适合出去散步，公园里有很多人。"),
        ("صف الطقس اليوم.", "", "الطقس جميل اليوم والشمس مشرقة والسماء صافية في المدينة."),
    ];
    let mut app = open(d.path(), &records);
    keys(&mut app, "M");
    for pos in 0..2 {
        let id = id_at(&app, pos);
        let model: Vec<&str> = app.signals.model_flags(id).iter().map(|f| f.name.as_str()).collect();
        assert!(!model.contains(&"high_ppl") && !model.contains(&"high_ifd"), "record {pos}: {model:?}");
        keys(&mut app, &format!(":{pos}<enter>"));
        let t = text(&screen(&mut app, 100, 30));
        assert!(t.contains("judge: not covered by this model"), "record {pos}:\n{t}");
    }

    // A conversation: the flag names its turn, and the pane says whose scores these are.
    let sg = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/conversations/sharegpt_bad_middle.jsonl"),
    )
    .unwrap();
    let d = tempfile::tempdir().unwrap();
    let mut app = open_file(d.path(), "chat.jsonl", &sg);
    keys(&mut app, "M");
    let id = id_at(&app, 0);
    let rep = app.signals.model_flags(id).iter().find(|f| f.name == "repetitive").expect("the middle turn repeats");
    assert!(rep.reason.starts_with("turn 3: "), "{}", rep.reason);
    let t = text(&screen(&mut app, 100, 30));
    assert!(t.contains("⚑ model repetitive: turn 3: "), "{t}");
    assert!(t.contains("judge: scores are turn 3's, the worst of the conversation"), "{t}");
}

/// The config the judge tests open with: every flag on.
fn all_flags() -> Config {
    Config {
        flags: sift::quality::heuristics::FlagConfig::all_enabled(),
        judge: sift::judge::JudgeConfig { flags: sift::judge::ModelFlagConfig::all_enabled(), ..Default::default() },
        ..Config::default()
    }
}

/// Opens `path` again as the next session does: the cache in its folder, no `--model` (the note
/// `M` left names the model), indexed, no key pressed.
fn reopen(path: &Path, config: Config) -> App {
    let mut app = common::tui::open(path, config);
    app.judge.cache_dir = Some(path.parent().unwrap().join("cache"));
    app.start_background();
    settle(&mut app);
    app
}

#[test]
fn reopening_shows_cached_scores_without_m_but_none_for_changed_text() {
    let d = tempfile::tempdir().unwrap();
    let records = [RECORDS[0], RECORDS[1], RECORDS[5], RECORDS[6]];
    let mut app = open(d.path(), &records);
    keys(&mut app, "M");
    assert_eq!(app.judge.last, Some(RunStats { records: 4, scored: 4, cached: 0, cancelled: false }));
    let keep = values(&app, Signal::Keep);
    let flags = |app: &App, id| app.signals.model_flags(id).iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    let repetitive = flags(&app, 3);
    assert!(repetitive.contains(&"repetitive".to_string()), "{repetitive:?}");
    drop(app);

    // Between sessions, record 1's response is changed in the file.
    let path = d.path().join("data.json");
    let mut changed = records;
    changed[1].2 = "Guten Tag";
    std::fs::write(&path, alpaca(&changed, "  ")).unwrap();
    let mut app = reopen(&path, all_flags());
    assert_eq!(app.judge.model_dir.as_deref(), Some(common::tiny_llama().as_path()), "the note names the model");
    assert_eq!(app.judge.last, Some(RunStats { records: 4, scored: 0, cached: 3, cancelled: false }));
    let (msg, error) = app.message.clone().unwrap();
    assert!(!error && msg == "judge: 3 scores from the cache (1 not scored yet: M scores them)", "{msg}");
    for id in [0, 2, 3] {
        assert_eq!(app.signals.value(Signal::Keep, id), Some(keep[&id]), "record {id}");
    }
    assert_eq!(flags(&app, 3), repetitive, "the model flags come back with the scores");
    assert_eq!(app.signals.value(Signal::Keep, 1), None, "the old score is for other text");
    assert!(flags(&app, 1).is_empty());
    // On screen: the unchanged record shows its scores, the changed one none.
    keys(&mut app, ":0<enter>");
    let t = text(&screen(&mut app, 100, 30));
    assert!(t.contains("keep ") && t.contains("continuation "), "{t}");
    keys(&mut app, ":1<enter>");
    let t = text(&screen(&mut app, 100, 30));
    assert!(!t.contains("keep ") && !t.contains("continuation "), "{t}");
    // M runs the model on the changed record only.
    keys(&mut app, "M");
    assert_eq!(app.judge.last, Some(RunStats { records: 4, scored: 1, cached: 3, cancelled: false }));
    assert!(app.signals.value(Signal::Keep, 1).is_some());
}

#[test]
fn reopening_a_conversation_restores_it_only_when_every_turn_is_cached() {
    let d = tempfile::tempdir().unwrap();
    let chat = |fruit: &str| {
        serde_json::json!({"conversations": [
            {"from": "human", "value": "Name a colour."}, {"from": "gpt", "value": "Red."},
            {"from": "human", "value": "Name a fruit."}, {"from": "gpt", "value": fruit},
        ]})
        .to_string()
    };
    let data = format!("{}\n{}\n", chat("Pear."), chat("Plum."));
    let mut app = open_file(d.path(), "chat.jsonl", &data);
    keys(&mut app, "M");
    let keep = values(&app, Signal::Keep);
    assert_eq!(keep.len(), 2);
    let config = app.config.clone();
    drop(app);

    // The second record's last turn changes; its first turn is still in the cache.
    let path = d.path().join("chat.jsonl");
    std::fs::write(&path, format!("{}\n{}\n", chat("Pear."), chat("A mango."))).unwrap();
    let app = reopen(&path, config);
    assert_eq!(app.judge.last, Some(RunStats { records: 2, scored: 0, cached: 1, cancelled: false }));
    assert_eq!(app.signals.value(Signal::Keep, 0), Some(keep[&0]));
    assert_eq!(app.signals.value(Signal::Keep, 1), None, "one turn cached is not the record scored");
}

/// The ids whose instruction is on the screen `t`.
fn on_screen(app: &App, t: &str) -> HashSet<u32> {
    let ds = app.session.dataset();
    (0..ds.len())
        .filter(|&p| t.contains(&ds.record(p).unwrap().instruction.to_string()))
        .map(|p| ds.entry(p).unwrap().id)
        .collect()
}

fn scored(app: &App) -> HashSet<u32> {
    values(app, Signal::Keep).into_keys().collect()
}

#[test]
fn m_scores_the_filter_on_screen_first_or_the_selection() {
    let d = tempfile::tempdir().unwrap();
    let long = "An answer that goes on about the subject at some length, in plain words, and then a few more";
    let records: Vec<(String, String)> = (0..12)
        .map(|i| {
            (format!("Question number {i}?"), if i % 2 == 0 { format!("{long} ({i}).") } else { format!("No ({i}).") })
        })
        .collect();
    let refs: Vec<(&str, &str, &str)> = records.iter().map(|(i, o)| (i.as_str(), "", o.as_str())).collect();
    let mut app = open(d.path(), &refs);
    let long_ids: HashSet<u32> = (0..12).filter(|i| i % 2 == 0).collect();

    // A filter shows the six long records, and the screen has room for only some of them.
    keys(&mut app, "Flen>60<enter>");
    assert_eq!((0..app.shown()).map(|i| id_at(&app, i)).collect::<HashSet<_>>(), long_ids);
    let t = text(&screen(&mut app, 100, 12));
    let visible = on_screen(&app, &t);
    assert!(!visible.is_empty() && visible.len() < 6 && visible.is_subset(&long_ids), "{visible:?}\n{t}");
    type_keys(&mut app, "M");
    assert_eq!(app.message.clone().unwrap().0, "judge: scoring 6 records of the filter");
    // The first scores to arrive are those of the records on screen.
    let t0 = Instant::now();
    while app.judge.last.is_none() {
        assert!(t0.elapsed().as_secs() < 600, "the judge did not report");
        app.poll();
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(scored(&app), visible, "the records on screen are scored first, on their own");
    settle(&mut app);
    assert_eq!(scored(&app), long_ids, "the filtered records and no others");

    // A selection (a visual range over records 1 to 3): those only, the short ones among them new.
    keys(&mut app, "<esc>:1<enter>vjj");
    assert!(app.filter.is_empty());
    type_keys(&mut app, "M");
    assert_eq!(app.message.clone().unwrap().0, "judge: scoring 3 records of the selection");
    settle(&mut app);
    let new: HashSet<u32> = scored(&app).difference(&long_ids).copied().collect();
    assert_eq!(new, HashSet::from([1, 3]));
}
