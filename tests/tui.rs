//! Whole-app tests: snapshots of every screen and mode on a TestBackend, and key scripts through the
//! real event handling.

mod common;

use common::tui::{alpaca, keys, screen, settle, text};
use sift::judge::Signal;
use sift::session::{OpenOptions, Session, Status};
use sift::tui::app::{App, Mode};
use sift::tui::config::Config;
use sift::tui::update::{type_keys, update};
use std::path::{Path, PathBuf};

const RECORDS: &[(&str, &str, &str)] = &[
    ("Name three primary colors.", "", "Red, yellow and blue."),
    ("Translate to German.", "Good morning", "Guten Morgen"),
    (
        "Write a haiku about autumn.",
        "",
        "Leaves drift on cold wind\nthe maple lets go its red\nponds hold the grey sky",
    ),
    ("Summarize the text.", "The cat sat on the mat all day long.", "A cat spent the day on a mat."),
    ("Describe the image.", "", "I'm sorry, but I cannot see images."),
    ("Bell \u{7} and escape \u{1b}[31m inside", "", "control chars must show"),
    ("What is 2 + 2?", "", "4"),
    ("Give a synonym for happy.", "", "Joyful."),
];

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `records` as `data.json` in `dir`, in Alpaca JSON indented by four spaces.
fn data(dir: &Path, records: &[(&str, &str, &str)]) -> PathBuf {
    write(dir, "data.json", &alpaca(records, "    "))
}

/// Every heuristic flag on: these tests drive the flags' plumbing, not the default policy.
fn open(path: &Path) -> App {
    common::tui::open(path, Config { flags: sift::quality::heuristics::FlagConfig::all_enabled(), ..Config::default() })
}

fn indexed(path: &Path) -> App {
    let mut app = open(path);
    app.start_background();
    settle(&mut app);
    app
}

#[test]
fn snapshot_list_and_detail() {
    let d = tempfile::tempdir().unwrap();
    let mut app = indexed(&data(d.path(), RECORDS));
    keys(&mut app, "jj");
    insta::assert_snapshot!("list_stacked", screen(&mut app, 100, 30).backend());
    insta::assert_snapshot!("list_wide", screen(&mut app, 140, 24).backend());
}

#[test]
fn snapshot_control_chars_are_visible() {
    let d = tempfile::tempdir().unwrap();
    let mut app = indexed(&data(d.path(), RECORDS));
    keys(&mut app, ":5<enter>");
    let t = screen(&mut app, 100, 20);
    let text: String = t.backend().buffer().content().iter().map(|c| c.symbol()).collect();
    assert!(text.contains("␇") && text.contains("␛[31m"), "{text}");
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
    insta::assert_snapshot!("control_chars", t.backend());
}

#[test]
fn snapshot_search() {
    let d = tempfile::tempdir().unwrap();
    let mut app = indexed(&data(d.path(), RECORDS));
    keys(&mut app, "/haiku");
    assert!(matches!(app.mode, Mode::Search));
    assert_eq!(app.shown(), 1);
    insta::assert_snapshot!("search", screen(&mut app, 100, 24).backend());
    keys(&mut app, "<esc>/o:guten<enter>");
    assert_eq!(app.current(), Some(1));
    keys(&mut app, "<esc>/in:mat<enter>");
    assert_eq!(app.current(), Some(3));
}

#[test]
fn snapshot_filter() {
    let d = tempfile::tempdir().unwrap();
    let mut app = indexed(&data(d.path(), RECORDS));
    keys(&mut app, "ajx");
    keys(&mut app, "Fstatus:unrev");
    insta::assert_snapshot!("filter_prompt", screen(&mut app, 100, 24).backend());
    keys(&mut app, "iewed len>10<enter>");
    assert!(app.filter.conds.len() == 2, "{:?}", app.message);
    assert!((0..app.shown()).all(|i| app.session.status(app.pos_at(i).unwrap()) == Status::Unreviewed));
    insta::assert_snapshot!("filter_active", screen(&mut app, 100, 24).backend());
    keys(&mut app, "F<c-u>flag:refusal<enter>");
    assert_eq!(app.current(), Some(4), "refusal flag from the heuristics");
    keys(&mut app, "<esc>");
    assert_eq!(app.shown(), RECORDS.len());
    keys(&mut app, "s");
    assert_eq!(app.sort.key, Some(Signal::Len));
    assert_eq!(app.current(), Some(4), "cursor stays on its record");
    assert_eq!(app.pos_at(0), Some(2), "longest first");
}

#[test]
fn snapshot_edit_help_confirm_small() {
    let d = tempfile::tempdir().unwrap();
    let mut app = indexed(&data(d.path(), RECORDS));
    keys(&mut app, "e");
    assert!(matches!(app.mode, Mode::Edit(_)));
    keys(&mut app, "Axj");
    assert_eq!(app.session.status(0), Status::Unreviewed, "review keys are off while editing");
    insta::assert_snapshot!("edit", screen(&mut app, 100, 24).backend());
    keys(&mut app, "<c-c>?");
    insta::assert_snapshot!("help", screen(&mut app, 100, 50).backend());
    keys(&mut app, "q");
    assert!(!app.quit && matches!(app.mode, Mode::Normal));
    keys(&mut app, "vjjx");
    insta::assert_snapshot!("confirm", screen(&mut app, 100, 24).backend());
    keys(&mut app, "y");
    assert_eq!(app.session.status_counts()[Status::Rejected as usize], 3);
    keys(&mut app, "u");
    assert_eq!(app.session.status_counts()[Status::Rejected as usize], 0, "bulk undo is one step");
    insta::assert_snapshot!("small", screen(&mut app, 20, 6).backend());
    for (w, h) in [(1, 1), (5, 3), (20, 6), (0, 0), (300, 2), (12, 40)] {
        screen(&mut app, w, h);
        keys(&mut app, "?");
        screen(&mut app, w, h);
        keys(&mut app, "<esc>jD");
        screen(&mut app, w, h);
        keys(&mut app, "n");
    }
}

#[test]
fn snapshot_conversation() {
    let d = tempfile::tempdir().unwrap();
    let text = r#"{"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}
{"messages": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "5", "weight": 0}, {"role": "user", "content": "Sure?"}, {"role": "assistant", "content": "4"}]}
"#;
    let mut app = indexed(&write(d.path(), "chat.jsonl", text));
    keys(&mut app, "j");
    insta::assert_snapshot!("conversation", screen(&mut app, 90, 24).backend());
    keys(&mut app, "<tab><tab><tab>eX<esc>");
    assert!(String::from_utf8_lossy(app.session.dataset().raw(1)).contains("X4"));
}

fn formats_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats").join(name)
}

/// A copy of a fixture of tests/fixtures/formats in `dir`.
fn copy_fixture(dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::copy(formats_fixture(name), &to).unwrap();
    to
}

#[test]
fn snapshot_tool_calls_tools_and_media() {
    let d = tempfile::tempdir().unwrap();
    let mut app = indexed(&copy_fixture(d.path(), "openai_tools.jsonl"));
    let t = screen(&mut app, 100, 44);
    let shown = text(&t);
    for want in ["tools: convert (schema below)", "─ tool #3 · result of call_1", "→ call convert", "\"amount\": 100,"]
    {
        assert!(shown.contains(want), "missing `{want}`:\n{shown}");
    }
    assert!(!shown.contains("{\"amount\": 100"), "arguments are pretty-printed, not raw:\n{shown}");
    insta::assert_snapshot!("tool_calls", t.backend());
    keys(&mut app, "j");
    let shown = text(&screen(&mut app, 100, 30));
    assert!(shown.contains("[image] https://example.org/cat.png"), "{shown}");
}

#[test]
fn snapshot_preference_side_by_side_and_rejected_edit() {
    let d = tempfile::tempdir().unwrap();
    let mut app = indexed(&copy_fixture(d.path(), "trl_dpo.jsonl"));
    keys(&mut app, "j");
    let t = screen(&mut app, 100, 24);
    let shown = text(&t);
    let row = shown.lines().find(|l| l.contains("Blue.")).unwrap_or_default();
    assert!(row.contains("Blue.") && row.contains("│ Green."), "chosen and rejected share a row:\n{shown}");
    insta::assert_snapshot!("preference", t.backend());
    // user #0, chosen assistant #1, rejected #0.
    keys(&mut app, "<tab><tab>eNot <esc>");
    let r = app.session.dataset().record(1).unwrap();
    assert_eq!(r.preference.unwrap().rejected[0].text, "Not Green.");
    assert_eq!(r.output, "Blue.", "the chosen response is untouched");
}

#[test]
fn kto_label_is_shown() {
    let d = tempfile::tempdir().unwrap();
    let mut app = indexed(&copy_fixture(d.path(), "kto.jsonl"));
    keys(&mut app, "j");
    let shown = text(&screen(&mut app, 100, 24));
    assert!(shown.contains("KTO label: undesirable (false)"), "{shown}");
}

#[test]
fn a_text_part_is_edited_in_place_and_stays_a_part() {
    let d = tempfile::tempdir().unwrap();
    let mut app = indexed(&copy_fixture(d.path(), "lf_v1.jsonl"));
    keys(&mut app, "j");
    let shown = text(&screen(&mut app, 100, 24));
    assert!(shown.contains("assistant #1 · part 1"), "{shown}");
    // user #0, assistant #1 part 0, part 1.
    keys(&mut app, "<tab><tab>eX<esc>");
    let raw = String::from_utf8_lossy(app.session.dataset().raw(1)).into_owned();
    assert!(
        raw.contains(r#"[{"type": "text", "value": "It is red."}, {"type": "text", "value": "XIt has two moons."}]"#),
        "{raw}"
    );
    keys(&mut app, "<tab>");
    assert_eq!(app.conversation.focus, 0, "Tab wraps round");
    keys(&mut app, "u");
    let original = std::fs::read_to_string(formats_fixture("lf_v1.jsonl")).unwrap();
    assert_eq!(app.session.dataset().raw(1), original.lines().nth(1).unwrap().as_bytes(), "undo restores the bytes");
}

#[test]
fn saving_a_gzip_source_asks_for_a_jsonl_path() {
    let d = tempfile::tempdir().unwrap();
    let gz = copy_fixture(d.path(), "data.jsonl.gz");
    let before = std::fs::read(&gz).unwrap();
    let mut app = indexed(&gz);
    keys(&mut app, "<tab><tab>eX<esc>w");
    let want = d.path().join("data.jsonl").display().to_string();
    match &app.mode {
        Mode::Prompt { text, .. } => assert_eq!(text, &want),
        _ => panic!("save on a read-only source asks for a path; message {:?}", app.message),
    }
    keys(&mut app, "<enter>");
    assert_eq!(std::fs::read_to_string(&want).unwrap(), "{\"instruction\": \"a\", \"output\": \"Xb\"}\n");
    assert_eq!(std::fs::read(&gz).unwrap(), before, "the compressed source is never rewritten");
    assert!(!app.session.is_modified());
}

#[test]
fn a_search_match_in_a_later_turn_focuses_that_turn() {
    let d = tempfile::tempdir().unwrap();
    let mut turns = vec![];
    for k in 0..12 {
        let role = if k % 2 == 0 { "user" } else { "assistant" };
        let text = if k == 8 {
            "Add the peppers last.".to_string()
        } else {
            format!("Step {k} of the recipe, nothing special here.")
        };
        turns.push(serde_json::json!({"role": role, "content": text}));
    }
    let line = serde_json::json!({"messages": turns}).to_string();
    let other = r#"{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}"#;
    let mut app = indexed(&write(d.path(), "chat.jsonl", &format!("{other}\n{line}\n")));
    keys(&mut app, "/peppers<enter>");
    assert_eq!(app.current(), Some(1));
    assert_eq!(app.conversation.focus, 8, "the matching turn has the focus");
    let shown = text(&screen(&mut app, 100, 24));
    assert!(shown.contains("peppers"), "the focused turn is scrolled into view:\n{shown}");
    keys(&mut app, "<tab>");
    assert_eq!(app.conversation.focus, 9, "Tab moves on from the match");
}

#[test]
fn script_search_accept_edit_undo_save_reopen() {
    let d = tempfile::tempdir().unwrap();
    let path = data(d.path(), RECORDS);
    let mut app = indexed(&path);
    keys(&mut app, "/primary<enter>");
    assert_eq!(app.current(), Some(0));
    keys(&mut app, "a");
    assert_eq!(app.session.status(0), Status::Accepted);
    keys(&mut app, "<esc>:2<enter>");
    assert_eq!(app.current(), Some(2));
    keys(&mut app, "<tab><tab>eNEW <esc>");
    assert!(app.session.dataset().record(2).unwrap().output.starts_with("NEW Leaves"));
    keys(&mut app, "u");
    assert!(app.session.dataset().record(2).unwrap().output.starts_with("Leaves"));
    keys(&mut app, "<c-r>");
    assert!(app.session.dataset().record(2).unwrap().output.starts_with("NEW Leaves"));
    // The search text follows the edit.
    keys(&mut app, "/NEW Lea<enter>");
    assert_eq!(app.current(), Some(2));
    keys(&mut app, "<esc>ttodo<enter>cchecked<enter>");
    keys(&mut app, "o");
    assert_eq!(app.session.dataset().len(), RECORDS.len() + 1);
    assert!(matches!(app.mode, Mode::Edit(_)), "a new record opens for editing");
    keys(&mut app, "<esc>u");
    assert_eq!(app.session.dataset().len(), RECORDS.len());
    keys(&mut app, "q");
    assert!(matches!(app.mode, Mode::Dialog(_)), "unsaved changes: asks first");
    keys(&mut app, "<esc>w");
    assert!(!app.session.is_modified());
    keys(&mut app, "q");
    assert!(app.quit);
    app.session.checkpoint().unwrap();
    drop(app);

    let back = open(&path);
    let ds = back.session.dataset();
    assert_eq!(ds.len(), RECORDS.len());
    assert!(ds.record(2).unwrap().output.starts_with("NEW Leaves"));
    assert_eq!(back.session.status(0), Status::Accepted);
    assert_eq!(back.session.review(2).tags, vec!["todo".to_string()]);
    assert_eq!(back.session.review(2).note, "checked");
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert!(on_disk.starts_with("[\n    {\n        \""), "style kept: {on_disk}");
}

#[test]
fn delete_confirm_and_external_edit_validation() {
    let d = tempfile::tempdir().unwrap();
    let path = data(d.path(), RECORDS);
    let mut app = indexed(&path);
    keys(&mut app, "Dn");
    assert_eq!(app.session.dataset().len(), RECORDS.len());
    keys(&mut app, "Dy");
    assert_eq!(app.session.dataset().len(), RECORDS.len() - 1);
    keys(&mut app, "u");
    assert_eq!(app.session.dataset().len(), RECORDS.len());
    keys(&mut app, "E");
    let Some(sift::tui::app::Effect::ExternalEdit { id, text }) = app.effect.take() else { panic!("no effect") };
    let broken = text.replace("\"output\"", "\"output").to_string();
    update(&mut app, sift::tui::app::Action::ExternalEdited { id, text: Some(broken.clone()), error: None });
    assert!(matches!(app.mode, Mode::Dialog(sift::tui::app::Dialog::InvalidJson { .. })));
    keys(&mut app, "e");
    assert_eq!(app.effect, Some(sift::tui::app::Effect::ExternalEdit { id, text: broken }), "text kept for re-edit");
    app.effect = None;
    let fixed = text.replace("Red, yellow and blue.", "Red, green and blue.");
    update(&mut app, sift::tui::app::Action::ExternalEdited { id, text: Some(fixed), error: None });
    assert_eq!(app.session.dataset().record(0).unwrap().output, "Red, green and blue.");
    // Select all matching + bulk tag.
    keys(&mut app, "Fstatus:unreviewed<enter>Vtbulk<enter>y");
    assert_eq!(app.session.review(7).tags, vec!["bulk".to_string()]);
}

#[test]
fn remapped_keys_from_config() {
    let d = tempfile::tempdir().unwrap();
    let path = data(d.path(), RECORDS);
    let s = Session::open(&path, &OpenOptions { format: None, state_dir: Some(d.path().join("st")) }).unwrap();
    let cfg = Config::parse("[keys]\naccept = \"A\"\n[options]\nauto_advance = false\n").unwrap();
    let mut app = App::new(s, cfg).unwrap();
    type_keys(&mut app, "aA");
    assert_eq!(app.session.status(0), Status::Accepted);
    assert_eq!(app.current(), Some(0), "no auto-advance");
}

/// The reasons of the duplicate flags the detail pane shows for the record at position `pos`.
fn duplicate_reasons(app: &mut App, pos: usize) -> Vec<String> {
    keys(app, &format!(":{pos}<enter>"));
    let screen = text(&screen(app, 160, 40));
    screen
        .lines()
        .filter_map(|l| l.split_once("⚑ duplicate: ").map(|(_, r)| r.split('│').next().unwrap().trim()))
        // The measured precision follows the reason in parentheses.
        .map(|r| r.rsplit_once(" (").map_or(r, |(reason, _)| reason).to_string())
        .collect()
}

/// Positions of the records the `flag:duplicate` filter shows.
fn flagged_duplicates(app: &mut App) -> Vec<usize> {
    keys(app, "Fflag:duplicate<enter>");
    let shown = (0..app.shown()).filter_map(|i| app.pos_at(i)).collect();
    keys(app, "<esc>");
    shown
}

#[test]
fn duplicate_flags_follow_adds_and_deletes() {
    let d = tempfile::tempdir().unwrap();
    let mut records = RECORDS.to_vec();
    records.push(RECORDS[1]);
    let mut app = indexed(&data(d.path(), &records));
    assert_eq!(flagged_duplicates(&mut app), vec![8]);
    assert_eq!(duplicate_reasons(&mut app, 8), vec!["same instruction and input as #1"]);

    // Deleting the first record moves both: the reason names the original where it is now.
    keys(&mut app, ":0<enter>Dy");
    assert_eq!(app.session.dataset().record(0).unwrap().instruction, RECORDS[1].0);
    assert_eq!(flagged_duplicates(&mut app), vec![7]);
    assert_eq!(duplicate_reasons(&mut app, 7), vec!["same instruction and input as #0"]);

    // Deleting the original leaves the copy unflagged.
    keys(&mut app, ":0<enter>Dy");
    assert_eq!(flagged_duplicates(&mut app), Vec::<usize>::new());
    assert_eq!(duplicate_reasons(&mut app, 6), Vec::<String>::new());

    // Undo brings the original back, and the flag with it.
    keys(&mut app, "u");
    assert_eq!(flagged_duplicates(&mut app), vec![7]);

    // A duplicated record is flagged as a copy of the one it was made from.
    keys(&mut app, ":5<enter>y");
    assert_eq!(app.session.dataset().record(6).unwrap().instruction, "What is 2 + 2?");
    assert_eq!(flagged_duplicates(&mut app), vec![6, 8]);
    assert_eq!(duplicate_reasons(&mut app, 6), vec!["same instruction as #5"]);
    assert_eq!(duplicate_reasons(&mut app, 8), vec!["same instruction and input as #0"]);
}

#[test]
fn clear_stand_in_input_is_one_undoable_key() {
    let d = tempfile::tempdir().unwrap();
    let recs =
        [("Name a primary color.", "No input", "Red."), ("Translate to German.", "Good morning", "Guten Morgen")];
    let mut app = indexed(&data(d.path(), &recs));
    let input = |app: &App, pos: usize| app.session.dataset().record(pos).unwrap().input.to_string();
    keys(&mut app, "I");
    assert_eq!(input(&app, 0), "", "the stand-in is cleared");
    keys(&mut app, "u");
    assert_eq!(input(&app, 0), "No input", "and the clearing undoes");
    // A real input is left alone.
    keys(&mut app, "jI");
    assert_eq!(app.current(), Some(1));
    assert_eq!(input(&app, 1), "Good morning");
}

#[test]
fn a_long_records_length_is_compact_in_the_list() {
    let d = tempfile::tempdir().unwrap();
    let long = "word ".repeat(420_000);
    let mut app = indexed(&data(d.path(), &[("Say hi.", "", "Hi."), ("Write it all out.", "", &long)]));
    let t = text(&screen(&mut app, 140, 24));
    let row = t.lines().find(|l| l.contains("Write it all out.")).unwrap();
    // 2,100,017 characters: `2M` in the length column, not the whole number.
    assert!(row.contains(" 2M ") && !row.contains("2100017"), "{row}");
    let short = t.lines().find(|l| l.contains("Say hi.")).unwrap();
    assert!(short.contains(" 10 "), "{short}");
}
