//! Never lose a change (issue 20): one writer per dataset, saves through symlinks and onto
//! read-only files, temp files, change detection, review decisions apart from saving, truthful
//! notices, lone surrogates, terminal-safe messages and closed pipes; with the real binary where a
//! user would see the difference.

mod common;
#[path = "common/two_writers.rs"]
mod two_writers;

use common::*;
use sift::dataset::Field;
use sift::session::{OpenOptions, Session, SessionError, Status};
use sift::terminal_text::is_unsafe;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const JSONL: &str = "{\"instruction\": \"one\", \"output\": \"1\"}\n{\"instruction\": \"two\", \"output\": \"2\"}\n{\"instruction\": \"three\", \"output\": \"3\"}\n{\"instruction\": \"four\", \"output\": \"4\"}\n";

/// The binary with its data folder inside `dir`.
fn sift_in(dir: &Path) -> Command {
    let mut c = sift();
    c.env("HOME", dir).env("XDG_DATA_HOME", dir.join("xdg")).env("SIFT_CONFIG", dir.join("none.toml"));
    c
}

fn batch(
    dir: &Path,
    file: &Path,
    wait: bool,
) -> (Child, std::process::ChildStdin, BufReader<std::process::ChildStdout>) {
    let mut c = sift_in(dir);
    c.arg("batch").arg(file);
    if wait {
        c.arg("--wait");
    }
    let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (i, o) = (child.stdin.take().unwrap(), BufReader::new(child.stdout.take().unwrap()));
    (child, i, o)
}

/// Sends one batch command and returns its answer line (skipping notes).
fn ask(stdin: &mut impl Write, out: &mut impl BufRead, cmd: &str) -> String {
    writeln!(stdin, "{cmd}").unwrap();
    stdin.flush().unwrap();
    loop {
        let mut line = String::new();
        assert_ne!(out.read_line(&mut line).unwrap(), 0, "batch ended before answering {cmd}");
        if !line.starts_with("note ") {
            return line;
        }
    }
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn a_second_writer_is_refused_naming_the_holder_or_waits_and_nothing_is_lost() {
    let (dir, path) = temp_file("d.jsonl", JSONL.as_bytes());
    let d = dir.path();
    // The repro: A accepts #1, B rejects #2, A accepts #3, both exit: all three stay.
    let (mut a, mut a_in, mut a_out) = batch(d, &path, false);
    assert!(ask(&mut a_in, &mut a_out, "status 1 accepted").starts_with("ok"));

    let refused =
        sift_in(d).args(["set", path.to_str().unwrap(), "--index", "2", "--status", "rejected"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let msg = text(&refused);
    assert!(msg.contains(&format!("pid {}", a.id())) && msg.contains("batch"), "names the holder: {msg}");
    assert!(msg.contains("--wait"), "{msg}");

    // Readers work while A holds the file.
    let stats = sift_in(d).args(["stats", path.to_str().unwrap()]).output().unwrap();
    assert!(stats.status.success(), "{}", text(&stats));
    let export = sift_in(d).args(["export", path.to_str().unwrap(), "--to", "alpaca", "--out", "-"]).output().unwrap();
    assert!(export.status.success(), "{}", text(&export));
    assert!(String::from_utf8_lossy(&export.stdout).contains("\"two\""), "A's accept is visible to readers");

    let mut b = sift_in(d)
        .args(["set", path.to_str().unwrap(), "--index", "2", "--status", "rejected", "--wait"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(b.try_wait().unwrap().is_none(), "B waits while A holds the file");
    assert!(ask(&mut a_in, &mut a_out, "status 3 accepted").starts_with("ok"));
    drop(a_in);
    assert!(a.wait().unwrap().success());
    let b_out = b.wait_with_output().unwrap();
    assert!(b_out.status.success(), "{}", text(&b_out));

    let s = Session::open_read_only(&path, None).unwrap();
    assert_eq!((s.status(1), s.status(2), s.status(3)), (Status::Accepted, Status::Rejected, Status::Accepted));
}

#[test]
fn two_writers_in_random_interleavings_lose_no_acknowledged_change() {
    // The full 100-trial run is `cargo bench --bench two_writers`.
    let (mut acked, mut refused, mut killed) = (0, 0, 0);
    for seed in 0..8 {
        let dir = tempfile::tempdir().unwrap();
        let t = two_writers::trial(Path::new(env!("CARGO_BIN_EXE_sift")), dir.path(), seed);
        assert!(t.lost.is_empty(), "seed {seed}: lost {:?}", t.lost);
        acked += t.acked;
        refused += t.refused;
        killed += usize::from(t.killed);
    }
    assert!(acked > 50, "the trials made changes ({acked} acknowledged, {refused} refused, {killed} killed)");
    let mut kills = 0;
    for seed in 0..4 {
        let dir = tempfile::tempdir().unwrap();
        let t = two_writers::kill_trial(Path::new(env!("CARGO_BIN_EXE_sift")), dir.path(), seed);
        assert!(t.lost.is_empty(), "kill -9 seed {seed}: lost {:?}", t.lost);
        kills += usize::from(t.killed);
    }
    assert!(kills > 0, "some writer was killed mid-stream");
}

#[test]
fn a_writer_session_is_exclusive_in_the_library_too() {
    let (_dir, path) = temp_file("d.jsonl", JSONL.as_bytes());
    let first = Session::open(&path, &OpenOptions::default()).unwrap();
    match Session::open(&path, &OpenOptions::default()) {
        Err(SessionError::Locked { holder, .. }) => assert_eq!(holder.pid, Some(std::process::id())),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a second writer must be refused"),
    }
    // A reader is fine, and sees what the writer journaled.
    assert!(Session::open_read_only(&path, None).is_ok());
    drop(first);
    Session::open(&path, &OpenOptions::default()).expect("free again");
}

#[test]
fn saves_write_through_symlinks_and_out_dash_is_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("store")).unwrap();
    let blob = d.join("store/blob");
    std::fs::write(&blob, JSONL).unwrap();
    let link = d.join("d.jsonl");
    std::os::unix::fs::symlink("store/blob", &link).unwrap();
    let o = sift_in(d)
        .args(["edit", link.to_str().unwrap(), "--index", "0", "--field", "output", "--value", "uno"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is still a link");
    assert!(std::fs::read_to_string(&blob).unwrap().contains("\"uno\""), "the target has the edit");

    let o = sift_in(d)
        .args(["export", link.to_str().unwrap(), "--select", "all", "--to", "alpaca", "--out", "-"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).expect("stdout holds exactly the data");
    assert_eq!(rows.as_array().unwrap().len(), 4);
    assert!(String::from_utf8_lossy(&o.stderr).contains("written 4"), "the report goes to stderr");

    // An --out link to another file is followed too.
    std::fs::write(d.join("store/out"), "").unwrap();
    std::os::unix::fs::symlink("store/out", d.join("out.json")).unwrap();
    let out = d.join("out.json");
    let o = sift_in(d)
        .args(["export", link.to_str().unwrap(), "--select", "all", "--to", "alpaca", "--out", out.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::symlink_metadata(&out).unwrap().file_type().is_symlink());
    assert!(std::fs::read_to_string(d.join("store/out")).unwrap().contains("\"uno\""));
}

#[test]
fn read_only_files_are_refused_without_force() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, path) = temp_file("d.jsonl", JSONL.as_bytes());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let edit = |force: bool| {
        let mut c = sift_in(dir.path());
        c.args(["edit", path.to_str().unwrap(), "--index", "1", "--field", "output", "--value", "dos"]);
        if force {
            c.arg("--force");
        }
        c.output().unwrap()
    };
    let o = edit(false);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("read-only"), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), JSONL, "untouched");
    let o = edit(true);
    assert!(o.status.success(), "{}", text(&o));
    assert!(std::fs::read_to_string(&path).unwrap().contains("\"dos\""));
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o444, "still read-only");
}

#[test]
fn temp_files_left_by_a_crash_are_cleaned_up_and_never_block_a_save() {
    let (dir, path) = temp_file("d.jsonl", JSONL.as_bytes());
    // What the old code named its temp file: a leftover with our own pid blocked every save.
    let old = dir.path().join(format!(".d.jsonl.{}.sift-tmp", std::process::id()));
    std::fs::write(&old, "partial").unwrap();
    let newer = dir.path().join(".d.jsonl.4242-deadbeef.sift-tmp");
    std::fs::write(&newer, "partial").unwrap();
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    assert!(!old.exists() && !newer.exists(), "cleaned up on open");
    assert!(s.notices().iter().any(|n| n.contains("removed 2 temp files")), "{:?}", s.notices());
    std::fs::write(&old, "partial").unwrap();
    s.set_field(0, Field::Output, "uno").unwrap();
    s.save(false).expect("a leftover with our pid does not block the save");
    assert!(std::fs::read_to_string(&path).unwrap().contains("uno"));
}

#[test]
fn a_same_size_change_with_its_mtime_restored_is_detected() {
    let (_dir, path) = temp_file("d.jsonl", JSONL.as_bytes());
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    s.set_field(0, Field::Output, "uno").unwrap();
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    std::fs::write(&path, JSONL.replace("two", "TWO")).unwrap();
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(mtime).unwrap();
    let err = s.save(false).unwrap_err().to_string();
    assert!(err.contains("changed on disk"), "{err}");
    assert!(std::fs::read_to_string(&path).unwrap().contains("TWO"), "the other program's write is kept");
}

#[test]
fn discarding_unsaved_edits_keeps_every_review_decision() {
    let (_dir, path) = temp_file("d.jsonl", JSONL.as_bytes());
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    s.set_status(&[0, 1, 2], Status::Accepted).unwrap();
    s.add_tag(&[1], "math").unwrap();
    s.set_field(3, Field::Output, "cuatro").unwrap();
    s.set_note(3, "fix later").unwrap();
    assert_eq!(s.unsaved_edits(), 1, "the quit dialog lists one text edit");
    s.discard_unsaved().unwrap();
    drop(s);
    let s = Session::open(&path, &OpenOptions::default()).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), JSONL, "the text edit is gone");
    assert_eq!(s.dataset().decoded(3).unwrap().record.output, "4");
    assert_eq!(s.status_counts(), [1, 3, 0, 0], "three accepts kept");
    assert_eq!(s.review(1).tags, vec!["math".to_string()]);
    assert_eq!(s.review(3).note, "fix later");
}

#[test]
fn after_a_kill_during_a_save_the_notice_says_the_changes_were_saved() {
    let (dir, path) = temp_file("d.jsonl", JSONL.as_bytes());
    let state = dir.path().join(".d.jsonl.sift");
    let mut s = Session::open(&path, &OpenOptions::default()).unwrap();
    s.set_field(0, Field::Output, "uno").unwrap();
    s.set_status(&[1], Status::Rejected).unwrap();
    let journal = std::fs::read(state.join("journal.jsonl")).unwrap();
    s.save(false).unwrap();
    drop(s);
    // Killed after the file and its review state were written, before the new journal.
    std::fs::write(state.join("journal.jsonl"), journal).unwrap();
    let s = Session::open(&path, &OpenOptions::default()).unwrap();
    let notices = s.notices().join("\n");
    assert!(notices.contains("interrupted after writing the file") && notices.contains("are in the file"), "{notices}");
    assert!(!notices.contains("another version"), "{notices}");
    assert_eq!(s.dataset().decoded(0).unwrap().record.output, "uno");
    assert_eq!(s.status(1), Status::Rejected);
}

#[test]
fn lone_surrogates_are_kept_shown_reported_and_not_exported() {
    let body =
        "{\"instruction\": \"abc\\ud800def\", \"output\": \"x\"}\n{\"instruction\": \"fine\", \"output\": \"y\"}\n";
    let (dir, path) = temp_file("d.jsonl", body.as_bytes());
    let s = Session::open(&path, &OpenOptions::default()).unwrap();
    let shown = sift::terminal_text::visible(&s.dataset().decoded(0).unwrap().record.instruction).into_owned();
    assert_eq!(shown, "abc⚠\\ud800def", "never emptied, the escape is shown marked");
    drop(s);
    let o = sift_in(dir.path()).args(["check", path.to_str().unwrap()]).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("lone UTF-16 surrogates"), "{}", text(&o));
    let o = sift_in(dir.path())
        .args(["export", path.to_str().unwrap(), "--select", "all", "--to", "alpaca", "--out", "-"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1, "the record is not exported with a changed text");
    assert!(text(&o).contains("not representable 1"), "{}", text(&o));
    // Editing another field keeps the escape byte-exact.
    let o = sift_in(dir.path())
        .args(["edit", path.to_str().unwrap(), "--index", "0", "--field", "output", "--value", "z"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        std::fs::read_to_string(&path).unwrap().starts_with("{\"instruction\": \"abc\\ud800def\", \"output\": \"z\"}")
    );
}

/// Fails when `out` holds a character from data that could steer the terminal.
fn assert_terminal_safe(out: &[u8], what: &str) {
    let s = String::from_utf8_lossy(out);
    let bad: Vec<char> = s.chars().filter(|&c| is_unsafe(c) && c != '\n').collect();
    assert!(bad.is_empty(), "{what} printed {bad:?}:\n{s}");
}

#[test]
fn no_cli_message_passes_control_characters_from_data() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hostile = "\\u001b]52;c;aGk=\\u0007\\u001b[2J\\u202e\\u2028\\u009b";
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut c = sift_in(d);
        c.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        let o = child.wait_with_output().unwrap();
        assert_terminal_safe(&o.stdout, &format!("{args:?} stdout"));
        assert_terminal_safe(&o.stderr, &format!("{args:?} stderr"));
        o
    };
    // "cannot tell the format" lists the keys it found.
    let odd = d.join("odd.jsonl");
    std::fs::write(&odd, format!("{{\"{hostile}\": 1}}\n")).unwrap();
    for cmd in ["check", "stats"] {
        run(&[cmd, odd.to_str().unwrap()], None);
    }
    // Roles, tags, notes, values and the file name itself.
    let name = d.join("x\u{1b}[2Jy\u{202e}.jsonl");
    let chat = format!(
        "{{\"messages\": [{{\"role\": \"{hostile}\", \"content\": \"hi\"}}, {{\"role\": \"assistant\", \"content\": \"{hostile}\"}}]}}\n"
    );
    std::fs::write(&name, &chat).unwrap();
    let n = name.to_str().unwrap();
    run(
        &[
            "set",
            n,
            "--index",
            "0",
            "--status",
            "accepted",
            "--tag",
            "t\u{1b}]0;title\u{7}\u{2066}",
            "--note",
            "n\u{1b}[2J",
        ],
        None,
    );
    run(&["batch", n], Some("tag 0 \u{1b}[31mred\nstatus 0 \u{1b}[2J\nnote 0 \"\\u001b[2J\"\nbogus \u{202e}\n"));
    run(&["stats", n], None);
    run(&["stats", n, "--json"], None);
    run(&["check", n], None);
    run(&["check", n, "--json"], None);
    for to in ["alpaca", "openai", "sharegpt", "trl"] {
        run(
            &["export", n, "--select", "all", "--to", to, "--out", d.join(format!("o-{to}.json")).to_str().unwrap()],
            None,
        );
        run(
            &[
                "export",
                n,
                "--select",
                "all",
                "--to",
                to,
                "--json",
                "--out",
                d.join(format!("j-{to}.json")).to_str().unwrap(),
            ],
            None,
        );
    }
    run(&["edit", n, "--index", "0", "--field", "turn:0", "--value", "\u{1b}[2J"], None);
    run(&["set", d.join("missing\u{1b}[2J.jsonl").to_str().unwrap(), "--index", "0", "--status", "accepted"], None);
}

#[test]
fn a_closed_pipe_ends_output_quietly() {
    let body: String =
        (0..20_000).map(|i| format!("{{\"instruction\": \"q{i}\", \"output\": \"\"}}\nnot json {i}\n")).collect();
    let (dir, path) = temp_file("d.jsonl", body.as_bytes());
    for args in [
        vec!["check", path.to_str().unwrap()],
        vec!["export", path.to_str().unwrap(), "--select", "all", "--to", "alpaca", "--out", "-"],
    ] {
        let mut child = sift_in(dir.path()).args(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let mut first = [0u8; 16];
        child.stdout.as_mut().unwrap().read_exact(&mut first).unwrap();
        drop(child.stdout.take()); // `| head -c 16`
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        let quiet = status.signal() == Some(libc::SIGPIPE) || matches!(status.code(), Some(0 | 1));
        assert!(quiet, "{args:?}: {status}\n{err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

/// Issue 22: every command that writes to stdout, its reader gone before the first byte
/// (`sift man | head -0`), ends quietly: killed by SIGPIPE (shell status 141) or exit 0, and no
/// "Broken pipe" message or panic. Each command is first run with a live pipe to show it does
/// write to stdout, so the closed-pipe run exercises a real write.
#[test]
fn every_command_writing_to_stdout_ends_quietly_on_a_closed_pipe() {
    use std::os::unix::process::ExitStatusExt;
    let d = tempfile::tempdir().unwrap();
    // Even records: one-word answers (rejected); odd: real ones (accepted): enough for `suggest`.
    let body: String = (0..24)
        .map(|i| {
            let y = if i % 2 == 0 { "Weather.".to_string() } else { format!("Water {i} changes state as air cools.") };
            format!("{{\"instruction\": \"Explain topic {i}.\", \"input\": \"\", \"output\": \"{y}\"}}\n")
        })
        .collect();
    let file = d.path().join("d.jsonl");
    std::fs::write(&file, format!("{body}not json\n")).unwrap();
    {
        let mut s = Session::open(&file, &OpenOptions::default()).unwrap();
        for p in 0..12 {
            s.set_status(&[p], if p % 2 == 0 { Status::Rejected } else { Status::Accepted }).unwrap();
        }
    }
    let f = file.to_str().unwrap();
    let jobs = d.path().join("jobs.jsonl");
    let commands: Vec<Vec<&str>> = vec![
        vec!["completions", "bash"],
        vec!["man"],
        vec!["--print-config"],
        vec!["stats", f],
        vec!["check", f],
        vec!["check", f, "--json"],
        vec!["export", f, "--select", "all", "--to", "alpaca", "--out", "-"],
        vec!["score", f, "--out", "-", "--no-cache"],
        vec!["score", f, "--out", jobs.to_str().unwrap(), "--cluster-jobs", "2"],
        vec!["suggest", f],
    ];
    let cmd = |args: &[&str]| {
        let mut c = common::sift();
        c.args(args).env("SIFT_CACHE_DIR", d.path().join("cache")).env("SIFT_CONFIG", d.path().join("none.toml"));
        c.stdin(Stdio::null()).stderr(Stdio::piped());
        c
    };
    std::fs::write(d.path().join("none.toml"), "").unwrap();
    for args in &commands {
        let o = cmd(args).stdout(Stdio::piped()).output().unwrap();
        assert!(!o.stdout.is_empty(), "{args:?} writes nothing to stdout: {}", String::from_utf8_lossy(&o.stderr));
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = cmd(args).stdout(writer).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        let quiet = o.status.signal() == Some(libc::SIGPIPE) || o.status.code() == Some(0);
        assert!(quiet, "{args:?}: {}\n{err}", o.status);
        for bad in ["Broken pipe", "os error 32", "panicked", "failed printing"] {
            assert!(!err.contains(bad), "{args:?}: {err}");
        }
    }
}

#[test]
fn the_lock_is_released_when_its_holder_is_killed() {
    let (dir, path) = temp_file("d.jsonl", JSONL.as_bytes());
    let (mut a, mut a_in, mut a_out) = batch(dir.path(), &path, false);
    assert!(ask(&mut a_in, &mut a_out, "status 0 rejected").starts_with("ok"));
    a.kill().unwrap();
    a.wait().unwrap();
    let t = Instant::now();
    let o = sift_in(dir.path())
        .args(["set", path.to_str().unwrap(), "--index", "1", "--status", "accepted"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(t.elapsed() < Duration::from_secs(10));
    let s = Session::open_read_only(&path, None).unwrap();
    assert_eq!((s.status(0), s.status(1)), (Status::Rejected, Status::Accepted), "the killed writer's ack survived");
}
