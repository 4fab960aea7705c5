//! Review state beside the dataset, re-attachment by content, the save guard, and crash safety:
//! a real child process is killed with SIGKILL and every acknowledged change survives.

mod common;
use common::*;
use sift::dataset::Field;
use sift::session::{OpenOptions, Session, Status};
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

const JSONL: &str = "{\"instruction\": \"one\", \"output\": \"1\"}\n{\"instruction\": \"two\", \"output\": \"2\"}\n{\"instruction\": \"three\", \"output\": \"3\"}\n";

#[test]
fn review_state_lives_beside_the_file_and_survives_reopen() {
    let (dir, path) = temp_file("d.jsonl", JSONL.as_bytes());
    let opts = OpenOptions::default();
    let mut s = Session::open(&path, &opts).unwrap();
    s.set_status(&[1], Status::Accepted).unwrap();
    s.add_tag(&[1, 2], "math").unwrap();
    s.set_note(2, "check the number").unwrap();
    s.checkpoint().unwrap();
    drop(s);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), JSONL, "review state is not written into the dataset");
    assert!(dir.path().join(".d.jsonl.sift/review.json").exists());
    let s = Session::open(&path, &opts).unwrap();
    assert_eq!(s.status(1), Status::Accepted);
    assert_eq!(s.review(2).tags, vec!["math".to_string()]);
    assert_eq!(s.review(2).note, "check the number");
    assert_eq!(s.status_counts(), [2, 1, 0, 0]);
}

#[test]
fn review_state_follows_records_edited_elsewhere() {
    let (_dir, path) = temp_file("d.jsonl", JSONL.as_bytes());
    let opts = OpenOptions::default();
    let mut s = Session::open(&path, &opts).unwrap();
    s.set_status(&[2], Status::Rejected).unwrap();
    s.set_status(&[0], Status::Accepted).unwrap();
    s.checkpoint().unwrap();
    drop(s);
    // Another program inserts a record at the top and rewrites record 0 ("one").
    let changed = format!("{{\"instruction\": \"zero\", \"output\": \"0\"}}\n{}", JSONL.replace("\"1\"", "\"uno\""));
    std::fs::write(&path, changed).unwrap();
    let s = Session::open(&path, &opts).unwrap();
    assert_eq!(s.status(3), Status::Rejected, "\"three\" moved from 2 to 3 and keeps its status");
    assert_eq!(s.status(0), Status::Unreviewed);
    assert_eq!(s.status(1), Status::Unreviewed, "its content changed: the old decision is not trusted");
    assert!(s.notices().iter().any(|n| n.contains("match no record")), "{:?}", s.notices());
}

#[test]
fn save_refuses_when_the_file_changed_on_disk_unless_forced() {
    let (_dir, path) = temp_file("d.jsonl", JSONL.as_bytes());
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    s.set_field(0, Field::Output, "one!").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&path, JSONL.replace("two", "TWO")).unwrap();
    let err = s.save(false).unwrap_err().to_string();
    assert!(err.contains("changed on disk"), "{err}");
    assert!(std::fs::read_to_string(&path).unwrap().contains("TWO"), "the other program's write is untouched");
    s.save(true).unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().contains("one!"));
}

#[cfg(unix)]
#[test]
fn save_is_atomic_and_keeps_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, path) = temp_file("d.jsonl", JSONL.as_bytes());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    s.set_field(1, Field::Output, "two").unwrap();
    s.save(false).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("sift-tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn save_as_writes_a_new_file_and_leaves_the_original() {
    let (dir, path) = temp_file("d.jsonl", JSONL.as_bytes());
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    s.set_field(0, Field::Output, "I").unwrap();
    s.set_status(&[0], Status::Accepted).unwrap();
    let other = dir.path().join("copy.jsonl");
    s.save_as(&other).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), JSONL);
    drop(s); // the session now writes `other` and holds its lock
    let s2 = Session::open(&other, &OpenOptions::default()).unwrap();
    assert_eq!(s2.dataset().record(0).unwrap().output, "I");
    assert_eq!(s2.status(0), Status::Accepted);
}

#[test]
fn killed_process_loses_no_acknowledged_change() {
    let (_dir, path) = copy_to_temp(&shared("alpaca/alpaca_data.json"));
    let original = std::fs::read(&path).unwrap();
    let mut child = sift().arg("batch").arg(&path).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let commands = [
        "status 5 accepted",
        "status 6 rejected",
        "tag 6 off-topic",
        "edit 7 output \"Rewritten\\nanswer\"",
        "delete 9",
        "insert 0",
        "edit 0 instruction A brand new record",
        "note 1 looks fine",
    ];
    for cmd in commands {
        writeln!(stdin, "{cmd}").unwrap();
        stdin.flush().unwrap();
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(line.starts_with("ok"), "{cmd}: {line}");
    }
    // Every change above is acknowledged; kill -9 before any save.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(std::fs::read(&path).unwrap() == original, "nothing was saved into the file");
    let s = Session::open(&path, &OpenOptions::default()).unwrap();
    assert!(s.notices().iter().any(|n| n.contains("restored 8 unsaved changes")), "{:?}", s.notices());
    let ds = s.dataset();
    assert_eq!(ds.len(), 52_002);
    assert_eq!(ds.record(0).unwrap().instruction, "A brand new record");
    assert_eq!(s.status(6), Status::Accepted, "record 5 is now at 6");
    assert_eq!(s.status(7), Status::Rejected);
    assert_eq!(s.review(7).tags, vec!["off-topic".to_string()]);
    assert_eq!(ds.record(8).unwrap().output, "Rewritten\nanswer");
    assert_eq!(s.review(1).note, "looks fine", "record 0 is now at 1");
    // The restored session saves normally; a second open has nothing left to restore.
    let mut s = s;
    s.save(false).unwrap();
    drop(s); // one writer at a time
    let s = Session::open(&path, &OpenOptions::default()).unwrap();
    assert!(s.notices().is_empty(), "{:?}", s.notices());
    assert_eq!(s.status(7), Status::Rejected);
}

#[test]
fn torn_journal_tail_is_ignored() {
    let (dir, path) = temp_file("d.jsonl", JSONL.as_bytes());
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    s.set_status(&[0], Status::Accepted).unwrap();
    drop(s);
    let journal = dir.path().join(".d.jsonl.sift/journal.jsonl");
    let mut f = std::fs::OpenOptions::new().append(true).open(&journal).unwrap();
    f.write_all(b"{\"op\":\"review\",\"id\":1,\"bef").unwrap();
    drop(f);
    let s = Session::open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(s.status(0), Status::Accepted);
    assert_eq!(s.status(1), Status::Unreviewed);
}

#[test]
fn read_only_commands_write_nothing_and_see_unsaved_review_state() {
    let (dir, path) = temp_file("d.jsonl", JSONL.as_bytes());
    let out = sift().arg("stats").arg(&path).output().unwrap();
    assert!(out.status.success());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["d.jsonl".to_string()], "stats created nothing");
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    s.set_status(&[0], Status::Accepted).unwrap();
    drop(s); // not checkpointed: only the journal has it
    let ro = Session::open_read_only(&path, None).unwrap();
    assert_eq!(ro.status(0), Status::Accepted);
    let mut ro = ro;
    assert!(ro.set_status(&[1], Status::Rejected).is_err());
}

#[test]
fn undo_of_a_bulk_delete_puts_every_record_back_in_place() {
    let (_dir, path) = copy_to_temp(&shared("alpaca/alpaca_data.json"));
    let original = std::fs::read(&path).unwrap();
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    let victims: Vec<usize> = (0..52_002).step_by(3).collect();
    s.set_status(&victims[..10], Status::Rejected).unwrap();
    assert_eq!(s.delete(&victims).unwrap(), victims.len());
    assert_eq!(s.dataset().len(), 52_002 - victims.len());
    s.undo().unwrap();
    assert!(!s.is_modified());
    assert_eq!(s.status(9 * 3), Status::Rejected, "review state comes back with the records");
    assert!(s.dataset().render().0 == original);
    s.redo().unwrap();
    assert_eq!(s.dataset().len(), 52_002 - victims.len());
}
